/* libFuzzer target: the riscv64 (and x86-64) ELF checks of `ringvm exec`
 * (src/exec/elf.c) on arbitrary bytes, and, for a file they accept, the
 * mapping of its segments into a guest address space (src/exec/mm.c) as
 * the loader does it, with a PIE bias.
 *
 * Invariants: an accepted file describes segments whose file bytes lie in
 * the input and whose addresses lie in the user address space; a refused
 * one says why; mapping and filling the segments never touches memory
 * outside the pool (ASan) and what was written reads back. */
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/exec_int.h"

#define CHECK(cond) do {                                                 \
	if (!(cond)) {                                                   \
		fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond,  \
			__FILE__, __LINE__);                             \
		abort();                                                 \
	}                                                                \
} while (0)

/* The same checks for x86-64 programs (the KVM sandbox's loader copies
 * the segments it accepts into guest memory at their addresses). */
static void x86(const uint8_t *data, size_t size)
{
	static struct exec_elf e;
	struct err er = { 0 };
	if (exec_elf_parse_machine(data, size, EM_X86_64, &e, &er)) {
		CHECK(er.msg[0] != '\0');
		return;
	}
	CHECK(e.nseg > 0 && e.nseg <= EXEC_MAX_PHDRS);
	CHECK(e.lo < e.hi && e.hi <= EXEC_USER_TOP);
	for (unsigned i = 0; i < e.nseg; i++) {
		CHECK(e.seg[i].off <= size && e.seg[i].filesz <= size - e.seg[i].off);
		CHECK(e.seg[i].filesz <= e.seg[i].memsz);
		CHECK(e.seg[i].vaddr >= e.lo && e.seg[i].vaddr + e.seg[i].memsz <= e.hi);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct exec_elf e;
	struct err er = { 0 };
	x86(data, size);
	if (exec_elf_parse(data, size, &e, &er)) {
		CHECK(er.msg[0] != '\0');
		return 0;
	}
	CHECK(e.nseg > 0 && e.nseg <= EXEC_MAX_PHDRS);
	CHECK(e.lo < e.hi && e.hi <= EXEC_USER_TOP);
	CHECK(memchr(e.interp, 0, sizeof(e.interp)));
	for (unsigned i = 0; i < e.nseg; i++) {
		const struct exec_seg *s = &e.seg[i];
		CHECK(s->off <= size && s->filesz <= size - s->off);
		CHECK(s->filesz <= s->memsz);
		CHECK(s->vaddr + s->memsz <= EXEC_USER_TOP);
	}

	/* Map as load.c does, in a small pool; big spans just fail. */
	struct guest_mem mem = { 0 };
	struct exec_mm mm;
	if (guest_mem_add(&mem, EXEC_POOL_GPA, 8ULL << 20, NULL))
		return 0;
	CHECK(!mm_init(&mm, &mem, NULL));
	uint64_t bias = e.dyn ? EXEC_PIE_BASE - e.lo : 0;
	for (unsigned i = 0; i < e.nseg; i++) {
		const struct exec_seg *s = &e.seg[i];
		uint64_t va = s->vaddr + bias;
		uint64_t lo = va & ~EXEC_PAGE_MASK;
		uint64_t hi = (va + s->memsz + EXEC_PAGE_MASK) & ~EXEC_PAGE_MASK;
		if (hi > EXEC_USER_TOP || hi <= lo || mm_map(&mm, lo, hi - lo, s->prot))
			continue;
		uint64_t head = va - lo;
		if (mm_write_force(&mm, lo, data + s->off - head, s->filesz + head))
			continue;   /* pool exhausted */
		uint8_t b;
		if (s->filesz && (s->prot & EXEC_PROT_R) &&
		    !mm_read(&mm, va, &b, 1) && i + 1 == e.nseg)
			CHECK(b == data[s->off]);
	}
	mm_free(&mm);
	guest_mem_free(&mem);
	return 0;
}
