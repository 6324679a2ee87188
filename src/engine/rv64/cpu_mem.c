/* Load/store slow paths: TLB refill, MMIO, misaligned and page-crossing
 * accesses, and stores that hit cached code (priv 1.12 §3.6 PMAs as the
 * "virt" board has them: RAM is cacheable and idempotent, everything else
 * is I/O reached through the bus; unprivileged 20191213 §2.6 misaligned
 * accesses, emulated here instead of trapping).
 *
 * The host is little-endian like RISC-V, so guest values are copied
 * byte-for-byte.
 *
 * Code tracking is per hart: a store drops this hart's decoded blocks of
 * the page it writes (so self-modifying code is seen at once, before the
 * fence.i the ISA asks for).  Other harts' caches are theirs to change
 * (thread-private); they see the new code after their own fence.i, which
 * is all RISC-V requires (unpriv 20191213 §3.2: a fence.i on the hart
 * that executes the code, e.g. Linux's remote fence.i through SBI), and
 * their fence.i revalidates every block against guest memory. */
#include "cpu_internal.h"

#include <string.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "the interpreter copies guest memory as little-endian");

static uint8_t *ram_page(const struct rv_hart *h, uint64_t pa)
{
	return gpa_ptr(&h->m->mem, pa & ~RV_PAGE_MASK, RV_PAGE_SIZE);
}

/* Is host page hpage code in this hart?  Drops it there if so. */
static int code_written(struct rv_hart *h, uintptr_t hpage)
{
	if (!rv_block_is_code_page(h, hpage))
		return 0;
	rv_block_invalidate_page(h, hpage);
	rv_cpu(h)->inval_page = hpage;
	return 1;
}

/* After writing len bytes of RAM at host: drop code there. */
static int ram_written(struct rv_hart *h, uint8_t *host, unsigned len)
{
	uintptr_t first = (uintptr_t)host >> RV_PAGE_SHIFT;
	uintptr_t last = ((uintptr_t)host + len - 1) >> RV_PAGE_SHIFT;
	int r = code_written(h, first);
	if (last != first)
		r |= code_written(h, last);
	return r;
}

/* Read/write len bytes at physical pa that stay within one page. */
RV_GUEST_MEM static int phys_read(struct rv_hart *h, uint64_t pa,
				  unsigned len, uint64_t *val)
{
	uint8_t *p = gpa_ptr(&h->m->mem, pa, len);
	uint64_t v = 0;
	if (p) {
		rv_gmem_copy(&v, p, len);
		*val = v;
		return 0;
	}
	return bus_read(&h->m->bus, pa, len, val);
}

RV_GUEST_MEM static int phys_write(struct rv_hart *h, uint64_t pa,
				   unsigned len, uint64_t val, int *code)
{
	uint8_t *p = gpa_ptr(&h->m->mem, pa, len);
	if (p) {
		rv_gmem_copy(p, &val, len);
		*code |= ram_written(h, p, len);
		if (guest_mem_logging(&h->m->mem))
			guest_mem_mark_dirty_hva(&h->m->mem, p, len);
		return 0;
	}
	return bus_write(&h->m->bus, pa, len, val);
}

/* Byte-wise device access for the rare misaligned access split across a
 * page boundary where one side is not RAM. */
static int phys_read_split(struct rv_hart *h, uint64_t pa, unsigned len,
			   uint64_t *val)
{
	if (gpa_ptr(&h->m->mem, pa, len))
		return phys_read(h, pa, len, val);
	uint64_t v = 0;
	for (unsigned i = 0; i < len; i++) {
		uint64_t b;
		int r = bus_read(&h->m->bus, pa + i, 1, &b);
		if (r)
			return r;
		v |= (b & 0xff) << (8 * i);
	}
	*val = v;
	return 0;
}

static int phys_write_split(struct rv_hart *h, uint64_t pa, unsigned len,
			    uint64_t val, int *code)
{
	if (gpa_ptr(&h->m->mem, pa, len))
		return phys_write(h, pa, len, val, code);
	for (unsigned i = 0; i < len; i++) {
		int r = bus_write(&h->m->bus, pa + i, 1, (val >> (8 * i)) & 0xff);
		if (r)
			return r;
	}
	return 0;
}

/* Translate both halves of an access that crosses a page.  A fault
 * reports the address of the portion that faulted (priv 1.12 §3.1.16):
 * the guest's fault handler must see the page that actually needs
 * mapping, or it would return to the same fault forever. */
static int translate_split(struct rv_hart *h, uint64_t va, unsigned n1,
			   enum rv_access acc, uint64_t *pa1, uint64_t *pa2)
{
	if (rv_mmu_translate(h, va, acc, pa1, NULL) ||
	    rv_mmu_translate(h, va + n1, acc, pa2, NULL))
		return -1;
	return 0;
}

RV_GUEST_MEM int rv_load_slow(struct rv_hart *h, uint64_t va, unsigned size,
			      uint64_t *val)
{
	unsigned off = va & RV_PAGE_MASK;
	uint64_t pa;
	if (off + size > RV_PAGE_SIZE) {
		unsigned n1 = (unsigned)(RV_PAGE_SIZE - off);
		uint64_t pa2, lo, hi;
		if (translate_split(h, va, n1, RV_ACC_LOAD, &pa, &pa2))
			return -1;
		if (phys_read_split(h, pa, n1, &lo))
			return rv_exc(h, RV_EXC_LOAD_ACCESS, va);
		if (phys_read_split(h, pa2, size - n1, &hi))
			return rv_exc(h, RV_EXC_LOAD_ACCESS, va + n1);
		*val = lo | hi << (8 * n1);
		return 0;
	}
	bool super;
	if (rv_mmu_translate(h, va, RV_ACC_LOAD, &pa, &super))
		return -1;
	uint8_t *page = ram_page(h, pa);
	if (page) {
		uint64_t v = 0;
		rv_tlb_fill(h, RV_ACC_LOAD, va, page, super);
		rv_gmem_copy(&v, page + off, size);
		*val = v;
		return 0;
	}
	if (phys_read(h, pa, size, val))
		return rv_exc(h, RV_EXC_LOAD_ACCESS, va);
	return 0;
}

RV_GUEST_MEM int rv_store_slow(struct rv_hart *h, uint64_t va, unsigned size,
			       uint64_t val)
{
	unsigned off = va & RV_PAGE_MASK;
	uint64_t pa;
	int code = 0;
	if (off + size > RV_PAGE_SIZE) {
		unsigned n1 = (unsigned)(RV_PAGE_SIZE - off);
		uint64_t pa2;
		/* Both halves are translated before either is written so a
		 * fault leaves memory untouched (precise exception). */
		if (translate_split(h, va, n1, RV_ACC_STORE, &pa, &pa2))
			return -1;
		/* A device refusing the second half leaves the first one
		 * written, which §2.6 allows for misaligned stores. */
		if (phys_write_split(h, pa, n1, val, &code))
			return rv_exc(h, RV_EXC_STORE_ACCESS, va);
		if (phys_write_split(h, pa2, size - n1, val >> (8 * n1), &code))
			return rv_exc(h, RV_EXC_STORE_ACCESS, va + n1);
		return code;
	}
	bool super;
	if (rv_mmu_translate(h, va, RV_ACC_STORE, &pa, &super))
		return -1;
	uint8_t *page = ram_page(h, pa);
	if (page) {
		code = code_written(h, (uintptr_t)page >> RV_PAGE_SHIFT);
		rv_gmem_copy(page + off, &val, size);
		/* After code_written() this hart holds no code in this page,
		 * so the fast path may take it until a block is built there. */
		rv_tlb_fill(h, RV_ACC_STORE, va, page, super);
		return code;
	}
	if (phys_write(h, pa, size, val, &code))
		return rv_exc(h, RV_EXC_STORE_ACCESS, va);
	return code;
}

int rv_tlb_refill(struct rv_hart *h, uint64_t va, unsigned size,
		  enum rv_access acc, uint8_t **host)
{
	uint64_t pa;
	bool super;
	int code = 0;
	if (rv_mmu_translate(h, va, acc, &pa, &super))
		return -1;
	uint8_t *page = ram_page(h, pa);
	uint8_t *p = gpa_ptr(&h->m->mem, pa, size);
	if (!p)
		return rv_exc(h, acc == RV_ACC_LOAD ? RV_EXC_LOAD_ACCESS :
				 RV_EXC_STORE_ACCESS, va);
	if (acc == RV_ACC_STORE)
		code = code_written(h, (uintptr_t)p >> RV_PAGE_SHIFT);
	if (page)
		rv_tlb_fill(h, acc, va, page, super);
	*host = p;
	return code;
}
