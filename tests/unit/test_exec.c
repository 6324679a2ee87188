/* src/exec: the ELF checks, the guest address space (mm.c), the KVM
 * sandbox's page tables (kvm_pt.c) and the riscv64 ABI structures
 * (abi.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "exec/abi.h"
#include "exec/exec_int.h"
#include "exec/kvm_int.h"

/* A minimal riscv64 executable: PT_PHDR, optional PT_INTERP, one PT_LOAD
 * of the first 0x1100 bytes at vaddr (+ 0x2000 bss). */
static size_t make_elf(uint8_t *b, uint16_t type, uint64_t vaddr,
		       const char *interp)
{
	memset(b, 0, 0x1100);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)b;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = type;
	eh->e_machine = 243;
	eh->e_entry = vaddr + 0x1000;
	eh->e_phoff = 64;
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = interp ? 3 : 2;
	Elf64_Phdr *ph = (Elf64_Phdr *)(b + 64);
	ph[0] = (Elf64_Phdr){ .p_type = PT_PHDR, .p_offset = 64,
			      .p_vaddr = vaddr + 64,
			      .p_filesz = 56u * eh->e_phnum };
	int k = 1;
	if (interp) {
		size_t l = strlen(interp) + 1;
		memcpy(b + 0x200, interp, l);
		ph[k++] = (Elf64_Phdr){ .p_type = PT_INTERP, .p_offset = 0x200,
					.p_filesz = l };
	}
	ph[k] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X,
			      .p_offset = 0, .p_vaddr = vaddr,
			      .p_filesz = 0x1100, .p_memsz = 0x3100,
			      .p_align = 0x1000 };
	return 0x1100;
}

static void elf_ok(void **state)
{
	(void)state;
	static uint8_t b[0x1100];
	struct exec_elf e;
	struct err er = { 0 };
	size_t n = make_elf(b, ET_EXEC, 0x10000, NULL);
	assert_int_equal(exec_elf_parse(b, n, &e, &er), 0);
	assert_false(e.dyn);
	assert_int_equal(e.nseg, 1);
	assert_int_equal(e.lo, 0x10000);
	assert_int_equal(e.hi, 0x14000);
	assert_int_equal(e.entry, 0x11000);
	assert_int_equal(e.phdr_vaddr, 0x10040);
	assert_int_equal(e.phnum, 2);
	assert_string_equal(e.interp, "");
	assert_int_equal(e.seg[0].prot, EXEC_PROT_R | EXEC_PROT_X);

	n = make_elf(b, ET_DYN, 0, "/lib/ld.so.1");
	assert_int_equal(exec_elf_parse(b, n, &e, &er), 0);
	assert_true(e.dyn);
	assert_string_equal(e.interp, "/lib/ld.so.1");
}

static void elf_refused(void **state)
{
	(void)state;
	static uint8_t b[0x1100];
	struct exec_elf e;
	struct err er = { 0 };
	size_t n = make_elf(b, ET_EXEC, 0x10000, NULL);

	assert_int_equal(exec_elf_parse(b, 10, &e, &er), -ENOEXEC);
	assert_int_equal(exec_elf_parse(b, 0x200, &e, &er), -ENOEXEC);  /* PT_LOAD past EOF */
	((Elf64_Ehdr *)b)->e_machine = EM_X86_64;
	memset(&er, 0, sizeof(er));
	assert_int_equal(exec_elf_parse(b, n, &e, &er), -ENOEXEC);
	assert_non_null(strstr(er.msg, "riscv64"));

	make_elf(b, ET_EXEC, 0x10000, NULL);
	((Elf64_Ehdr *)b)->e_phnum = 0xffff;
	assert_int_equal(exec_elf_parse(b, n, &e, &er), -ENOEXEC);

	make_elf(b, ET_EXEC, 0, NULL);                    /* page 0 */
	assert_int_equal(exec_elf_parse(b, n, &e, &er), -ENOEXEC);

	make_elf(b, ET_EXEC, EXEC_USER_TOP - 0x1000, NULL); /* beyond Sv39 */
	assert_int_equal(exec_elf_parse(b, n, &e, &er), -ENOEXEC);

	make_elf(b, ET_EXEC, 0x10800, NULL);              /* incongruent */
	assert_int_equal(exec_elf_parse(b, n, &e, &er), -ENOEXEC);

	make_elf(b, ET_DYN, 0, "/lib/ld.so.1");
	Elf64_Phdr *ph = (Elf64_Phdr *)(b + 64);
	b[0x200 + ph[1].p_filesz - 1] = 'x';              /* no NUL */
	assert_int_equal(exec_elf_parse(b, n, &e, &er), -ENOEXEC);
}

struct mmfix {
	struct guest_mem mem;
	struct exec_mm mm;
};

static int mm_setup(void **state)
{
	struct mmfix *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(guest_mem_add(&f->mem, EXEC_POOL_GPA, 1 << 20, NULL), 0);
	assert_int_equal(mm_init(&f->mm, &f->mem, NULL), 0);
	*state = f;
	return 0;
}

static int mm_teardown(void **state)
{
	struct mmfix *f = *state;
	mm_free(&f->mm);
	guest_mem_free(&f->mem);
	free(f);
	return 0;
}

/* The leaf PTE the interpreter would walk for va (Sv39). */
static uint64_t pte_of(struct mmfix *f, uint64_t va)
{
	uint64_t a = f->mm.root_pa;
	for (int lvl = 2; lvl >= 0; lvl--) {
		uint64_t *t = gpa_ptr(&f->mem, a, 4096);
		uint64_t pte = t[(va >> (12 + 9 * lvl)) & 511];
		if (!lvl)
			return pte;
		if (!(pte & 1))
			return 0;
		a = ((pte >> 10) & ((1ULL << 44) - 1)) << 12;
	}
	return 0;
}

static void mm_lazy_and_faults(void **state)
{
	struct mmfix *f = *state;
	struct exec_mm *mm = &f->mm;
	const uint64_t va = 0x100000;
	assert_int_equal(mm_map(mm, va, 4 * EXEC_PAGE, EXEC_PROT_R | EXEC_PROT_W), 0);
	assert_int_equal(pte_of(f, va), 0);                 /* not populated yet */
	assert_int_equal(mm_fault(mm, va + 8, 2), 0);       /* store: populates */
	uint64_t pte = pte_of(f, va);
	assert_int_equal(pte & 0xd7, 0xd7);                 /* V R W U A D */
	assert_int_equal(pte & 8, 0);                       /* not X */
	assert_int_equal(mm_fault(mm, va, 0), -EACCES);     /* fetch */
	assert_int_equal(mm_fault(mm, va + 4 * EXEC_PAGE, 1), -EFAULT);
	assert_int_equal(mm_fault(mm, EXEC_USER_TOP + 5, 1), -EFAULT);

	/* mprotect splits the mapping and rewrites populated PTEs */
	assert_int_equal(mm_protect(mm, va, EXEC_PAGE, EXEC_PROT_R), 0);
	assert_int_equal(pte_of(f, va) & 4, 0);
	assert_int_equal(mm_fault(mm, va, 2), -EACCES);
	assert_int_equal(mm_fault(mm, va + EXEC_PAGE, 2), 0);
	assert_int_equal(mm->nvma, 2);
	assert_int_equal(mm_protect(mm, va, EXEC_PAGE, 0), 0);
	assert_int_equal(pte_of(f, va) & 1, 0);             /* PROT_NONE: no V */
	assert_int_equal(mm_protect(mm, va + 3 * EXEC_PAGE, 2 * EXEC_PAGE,
				    EXEC_PROT_R), -ENOMEM);    /* hole */

	/* unmap gives the frame back; a remap reads zeros */
	uint8_t v = 0x5a, r = 1;
	assert_int_equal(mm_protect(mm, va, EXEC_PAGE, EXEC_PROT_R | EXEC_PROT_W), 0);
	assert_int_equal(mm_write(mm, va + 100, &v, 1), 0);
	uint64_t nfree = mm->nfree;
	mm_unmap(mm, va, EXEC_PAGE);
	assert_int_equal(mm->nfree, nfree + 1);
	assert_int_equal(pte_of(f, va), 0);
	assert_int_equal(mm_read(mm, va + 100, &r, 1), -EFAULT);
	assert_int_equal(mm_map(mm, va, EXEC_PAGE, EXEC_PROT_R), 0);
	assert_int_equal(mm_read(mm, va + 100, &r, 1), 0);
	assert_int_equal(r, 0);
	assert_int_equal(mm_write(mm, va, &v, 1), -EFAULT);  /* read-only */
	assert_int_equal(mm_write_force(mm, va, &v, 1), 0);  /* the loader */
}

static void mm_placement_and_iov(void **state)
{
	struct mmfix *f = *state;
	struct exec_mm *mm = &f->mm;
	uint64_t top = 0x40000000;
	uint64_t a = mm_find_free(mm, 3 * EXEC_PAGE, 0x10000, top);
	assert_int_equal(a, top - 3 * EXEC_PAGE);
	assert_int_equal(mm_map(mm, a, 3 * EXEC_PAGE, EXEC_PROT_R | EXEC_PROT_W), 0);
	uint64_t b = mm_find_free(mm, EXEC_PAGE, 0x10000, top);
	assert_int_equal(b, a - EXEC_PAGE);
	assert_true(mm_is_mapped(mm, a + EXEC_PAGE, 1));
	assert_false(mm_is_mapped(mm, b, EXEC_PAGE));
	assert_int_equal(mm_find_free(mm, top, 0x10000, top), 0);

	/* a buffer over 3 pages: iovecs cover it exactly */
	struct iovec iov[8];
	int n = mm_iov(mm, a + 100, 2 * EXEC_PAGE + 10, 2, iov, 8);
	assert_true(n >= 1 && n <= 3);
	size_t total = 0;
	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	assert_int_equal(total, 2 * EXEC_PAGE + 10);
	assert_int_equal(mm_iov(mm, a + 2 * EXEC_PAGE, 2 * EXEC_PAGE, 1, iov, 8), 1);
	assert_int_equal(iov[0].iov_len, EXEC_PAGE);      /* stops at the end */
	assert_int_equal(mm_iov(mm, b, 10, 1, iov, 8), -EFAULT);

	char s[16];
	assert_int_equal(mm_write(mm, a + EXEC_PAGE - 3, "hello", 6), 0);
	assert_int_equal(mm_strdup(mm, a + EXEC_PAGE - 3, s, sizeof(s)), 0);
	assert_string_equal(s, "hello");
	assert_int_equal(mm_strdup(mm, a + EXEC_PAGE - 3, s, 3), -ENAMETOOLONG);
	assert_int_equal(mm_strdup(mm, b, s, sizeof(s)), -EFAULT);

	/* MAP_FIXED over the middle replaces, leaving three mappings */
	assert_int_equal(mm_map(mm, a + EXEC_PAGE, EXEC_PAGE, EXEC_PROT_R), 0);
	assert_int_equal(mm->nvma, 3);
	assert_int_equal(mm_read(mm, a + EXEC_PAGE, s, 1), 0);
	assert_int_equal(s[0], 0);
}

static void mm_pool_exhausted(void **state)
{
	struct mmfix *f = *state;
	struct exec_mm *mm = &f->mm;
	/* 1 MiB pool = 256 frames: a bigger touch runs out, cleanly */
	assert_int_equal(mm_map(mm, 0x1000000, 512 * EXEC_PAGE, EXEC_PROT_R | EXEC_PROT_W), 0);
	int r = 0;
	for (uint64_t i = 0; i < 512 && !r; i++)
		r = mm_fault(mm, 0x1000000 + i * EXEC_PAGE, 2);
	assert_int_equal(r, -ENOMEM);
	mm_unmap(mm, 0x1000000, 512 * EXEC_PAGE);
	assert_int_equal(mm_fault(mm, 0x1000000, 1), -EFAULT);
	assert_int_equal(mm_map(mm, 0x1000000, EXEC_PAGE, EXEC_PROT_R), 0);
	assert_int_equal(mm_fault(mm, 0x1000000, 1), 0);   /* frames came back */
}

/* ---- kvm_pt.c: the tables as the guest sees them in memory, and the
 * edits the ring-0 stub would make ---- */

struct ptfix {
	uint8_t *mem;
	uint64_t sys, size;
	struct kx_pt pt;
	uint64_t q[512];             /* the edit page */
	bool seen[512];              /* system-area pages ever walked */
};

static int pt_setup_size(void **state, uint64_t sys)
{
	struct ptfix *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->sys = sys;
	f->size = sys + KX_2M;
	f->mem = mmap(NULL, f->size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(f->mem != MAP_FAILED);
	assert_int_equal(kx_pt_init(&f->pt, f->mem, sys, false), 0);
	*state = f;
	return 0;
}

static int pt_setup(void **state)
{
	return pt_setup_size(state, 64ULL << 20);
}

/* Enough chunks to run the pool out. */
static int pt_setup_big(void **state)
{
	return pt_setup_size(state, (uint64_t)(KX_NPT + 8) * KX_2M);
}

static int pt_teardown(void **state)
{
	struct ptfix *f = *state;
	kx_pt_free(&f->pt);
	munmap(f->mem, f->size);
	free(f);
	return 0;
}

static uint64_t *gq(struct ptfix *f, uint64_t gpa)
{
	return (uint64_t *)(f->mem + gpa);
}

#define ADDR(e) ((e) & 0x000ffffffffff000ULL)

/* The MMU's walk from CR3 (the system area's PML4): the leaf entry for
 * va (a 2 MiB PDE or a PTE), 0 when some level is absent; marks the
 * tables it passes as seen. */
static uint64_t walk(struct ptfix *f, uint64_t va)
{
	uint64_t t = f->sys + KX_PML4;
	for (int level = 3; level >= 0; level--) {
		if (t >= f->sys)
			f->seen[(t - f->sys) / KX_PAGE] = true;
		uint64_t e = gq(f, t)[(va >> (12 + 9 * level)) & 511];
		if (!(e & 1))
			return 0;
		if (level == 0 || (level == 1 && (e & 0x80)))
			return e;
		assert_true((e & 6) == 6);       /* upper levels: user, RW */
		t = ADDR(e);
	}
	return 0;
}

/* Walk every page once (so every linked table counts as seen). */
static void walk_all(struct ptfix *f)
{
	for (uint64_t va = KX_2M; va < f->sys; va += KX_PAGE)
		(void)walk(f, va);
}

/* What the stub does: every record, then the list is done. */
static void run_edits(struct ptfix *f)
{
	for (uint64_t *r = f->q + KX_EDIT_REC; r[2]; r += 4)
		for (uint64_t i = 0; i < r[2]; i++)
			gq(f, r[0])[i] = r[1] + i * r[3];
	f->q[KX_EDIT_REC + 2] = 0;
	walk_all(f);
}

/* kx_pt_set after start, checking that no page the guest may have
 * walked changed in memory (only records may change those). */
static int set_live(struct ptfix *f, uint64_t va, uint64_t len, uint64_t fl)
{
	static uint8_t before[512][4096];
	for (unsigned i = 0; i < 512; i++)
		if (f->seen[i])
			memcpy(before[i], f->mem + f->sys + i * KX_PAGE, KX_PAGE);
	int r = kx_pt_set(&f->pt, va, len, fl, f->q);
	for (unsigned i = 0; i < 512; i++)
		if (f->seen[i])
			assert_memory_equal(before[i], f->mem + f->sys + i * KX_PAGE,
					    KX_PAGE);
	return r;
}

#define RW  kx_pt_flags(PROT_READ | PROT_WRITE)
#define RO  kx_pt_flags(PROT_READ)
#define RX  kx_pt_flags(PROT_READ | PROT_EXEC)
#define NONE kx_pt_flags(PROT_NONE)
#define NX (1ULL << 63)

static void pt_flags(void **state)
{
	(void)state;
	assert_int_equal(RW & 7, 7);                  /* P W U */
	assert_true(RW & NX);
	assert_int_equal(RO & 7, 5);                  /* P U */
	assert_false(RX & NX);
	assert_int_equal(kx_pt_flags(PROT_EXEC) & 7, 5);   /* x86: readable */
	assert_int_equal(kx_pt_flags(PROT_WRITE) & 7, 7);
	assert_int_equal(NONE & 1, 0);                /* not present */
	assert_true(NONE != 0);                       /* but mapped */
}

static void pt_before_and_after_start(void **state)
{
	struct ptfix *f = *state;
	const uint64_t c = 8 * KX_2M;                 /* a chunk */
	/* Before start: written directly, 2 MiB pages where whole. */
	assert_int_equal(kx_pt_set(&f->pt, c, 2 * KX_2M, RW, NULL), 0);
	assert_int_equal(kx_pt_set(&f->pt, c + 3 * KX_2M, KX_PAGE, RX, NULL), 0);
	assert_true(walk(f, c + 5) & 0x80);
	assert_int_equal(ADDR(walk(f, c + KX_2M + 5)), c + KX_2M);
	assert_int_equal(walk(f, c + 3 * KX_2M) & ~ADDR(~0ULL), RX);
	assert_int_equal(walk(f, c + 3 * KX_2M + KX_PAGE), 0);
	assert_int_equal(walk(f, c - KX_PAGE), 0);
	assert_true(kx_pt_mapped(&f->pt, c, 2 * KX_2M));
	assert_false(kx_pt_mapped(&f->pt, c, 2 * KX_2M + KX_PAGE));
	walk_all(f);
	kx_pt_start(&f->pt);
	assert_int_equal(kx_pt_set(&f->pt, c, KX_PAGE, RO, NULL), -EINVAL);

	/* A guard page in a 2 MiB page: a new table, filled directly, and
	 * one queued PDE; the guest sees nothing before the stub runs. */
	assert_int_equal(set_live(f, c + KX_PAGE, KX_PAGE, NONE), 0);
	assert_int_equal(f->q[KX_EDIT_REC + 2], 1);
	assert_int_equal(f->q[KX_EDIT_REC + 4 + 2], 0);    /* the end */
	assert_true(walk(f, c + KX_PAGE) & 0x80);
	run_edits(f);
	assert_int_equal(walk(f, c + KX_PAGE), 0);
	assert_int_equal(walk(f, c) & ~ADDR(~0ULL), RW);
	assert_int_equal(ADDR(walk(f, c + 2 * KX_PAGE)), c + 2 * KX_PAGE);
	assert_true(kx_pt_mapped(&f->pt, c + KX_PAGE, KX_PAGE));   /* NONE */

	/* Read-only over the guard and its neighbours: PTEs of a live
	 * table, one run. */
	assert_int_equal(set_live(f, c, 3 * KX_PAGE, RO), 0);
	assert_int_equal(f->q[KX_EDIT_REC + 2], 3);
	run_edits(f);
	for (int i = 0; i < 3; i++)
		assert_int_equal(walk(f, c + i * KX_PAGE) & ~ADDR(~0ULL), RO);
	assert_int_equal(walk(f, c + 3 * KX_PAGE) & ~ADDR(~0ULL), RW);

	/* Nothing to change: nothing queued. */
	assert_int_equal(set_live(f, c, 3 * KX_PAGE, RO), 0);
	assert_int_equal(f->q[KX_EDIT_REC + 2], 0);

	/* The whole chunk and the next at once: one run of two PDEs. */
	assert_int_equal(set_live(f, c, 2 * KX_2M, 0), 0);
	assert_int_equal(f->q[KX_EDIT_REC + 2], 2);
	run_edits(f);
	assert_int_equal(walk(f, c + KX_PAGE * 3), 0);
	assert_int_equal(walk(f, c + KX_2M), 0);
	assert_false(kx_pt_mapped(&f->pt, c, KX_PAGE));

	/* Split again: the chunk's own table comes back, every entry
	 * stored by the stub (KVM may still shadow it). */
	assert_int_equal(set_live(f, c + 10 * KX_PAGE, KX_PAGE, RW), 0);
	run_edits(f);
	for (unsigned i = 0; i < 512; i++)
		assert_int_equal(walk(f, c + i * KX_PAGE) != 0, i == 10);
}

static void pt_refused(void **state)
{
	struct ptfix *f = *state;
	kx_pt_start(&f->pt);
	uint64_t sys = f->sys;
	uint64_t entry = walk(f, sys + KX_ENTRY);
	assert_int_equal(kx_pt_set(&f->pt, sys, KX_PAGE, RW, f->q), -EINVAL);
	assert_int_equal(kx_pt_set(&f->pt, sys - KX_PAGE, 2 * KX_PAGE, RW, f->q),
			 -EINVAL);
	assert_int_equal(kx_pt_set(&f->pt, 0, KX_PAGE, RW, f->q), -EINVAL);
	assert_int_equal(kx_pt_set(&f->pt, KX_2M, -KX_PAGE, RW, f->q), -EINVAL);
	assert_int_equal(kx_pt_set(&f->pt, KX_2M + 1, KX_PAGE, RW, f->q), -EINVAL);
	assert_int_equal(kx_pt_set(&f->pt, KX_2M, KX_PAGE, 1ULL << 40, f->q),
			 -EINVAL);
	assert_int_equal(f->q[KX_EDIT_REC + 2], 0);
	assert_int_equal(walk(f, sys + KX_ENTRY), entry);
	assert_int_equal(entry & 7, 5);               /* user, read-only */
	assert_int_equal(walk(f, sys + KX_IDT) & 4, 0);     /* supervisor */
	assert_false(kx_pt_mapped(&f->pt, sys + KX_ENTRY, 1));
	assert_false(kx_pt_mapped(&f->pt, KX_PAGE, 1));
}

static void pt_edit_page_full(void **state)
{
	struct ptfix *f = *state;
	kx_pt_start(&f->pt);
	/* Guard pages two pages apart: one record each, until the page
	 * cannot take a chunk's worth more. */
	int r = 0;
	uint64_t va = 4 * KX_2M, n = 0;
	for (; !r && va < f->sys; va += 2 * KX_PAGE, n++)
		r = set_live(f, va, KX_PAGE, RW);
	assert_int_equal(r, -ENOMEM);
	assert_true(n > KX_EDIT_MAX - 8 && n <= KX_EDIT_MAX);
	run_edits(f);
	for (uint64_t a = 4 * KX_2M; a < va - 2 * KX_PAGE; a += 2 * KX_PAGE) {
		assert_true(walk(f, a) & 1);
		assert_int_equal(walk(f, a + KX_PAGE), 0);
	}
}

static void pt_pool_exhausted(void **state)
{
	struct ptfix *f = *state;
	kx_pt_start(&f->pt);
	/* One page in each chunk: a table each while the pool lasts, then
	 * whole 2 MiB pages with every permission (before: absent). */
	unsigned chunks = (unsigned)(f->sys / KX_2M) - 1;
	for (unsigned c = 1; c <= chunks; c++) {
		assert_int_equal(set_live(f, c * KX_2M, KX_PAGE, RO), 0);
		run_edits(f);
	}
	unsigned split = 0, whole = 0;
	for (unsigned c = 1; c <= chunks; c++) {
		uint64_t e = walk(f, c * KX_2M + KX_PAGE);
		if (!e)
			split++;
		else if ((e & 0x80) && (e & 7) == 7 && !(e & NX))
			whole++;
	}
	assert_int_equal(split, KX_NPT);
	assert_int_equal(whole, chunks - KX_NPT);
	/* Absent and staying so needs no table: a PROT_NONE reservation
	 * in an absent chunk leaves it absent (and mapped). */
	uint64_t top = (uint64_t)chunks * KX_2M;
	assert_int_equal(set_live(f, top, KX_2M, 0), 0);
	run_edits(f);
	assert_int_equal(set_live(f, top + KX_PAGE, KX_PAGE, NONE), 0);
	assert_int_equal(f->q[KX_EDIT_REC + 2], 0);
	assert_int_equal(walk(f, top + KX_PAGE), 0);
	assert_true(kx_pt_mapped(&f->pt, top + KX_PAGE, KX_PAGE));
}

static void abi_layouts(void **state)
{
	(void)state;
	/* asm-generic/stat.h offsets */
	assert_int_equal(offsetof(struct rv_stat, mode), 16);
	assert_int_equal(offsetof(struct rv_stat, rdev), 32);
	assert_int_equal(offsetof(struct rv_stat, size), 48);
	assert_int_equal(offsetof(struct rv_stat, blksize), 56);
	assert_int_equal(offsetof(struct rv_stat, blocks), 64);
	assert_int_equal(offsetof(struct rv_stat, atime), 72);
	assert_int_equal(offsetof(struct rv_stat, mtime), 88);
	assert_int_equal(offsetof(struct rv_stat, ctime), 104);
	struct stat st;
	memset(&st, 0, sizeof(st));
	st.st_dev = 0x801;
	st.st_ino = 1234567890123ULL;
	st.st_mode = 0100644;
	st.st_nlink = 3;
	st.st_uid = 1000;
	st.st_gid = 100;
	st.st_size = 5000000000LL;
	st.st_blksize = 4096;
	st.st_blocks = 9765632;
	st.st_mtim.tv_sec = 1700000000;
	st.st_mtim.tv_nsec = 123456789;
	struct rv_stat r;
	memset(&r, 0xff, sizeof(r));
	abi_stat_from_host(&r, &st);
	assert_int_equal(r.dev, 0x801);
	assert_int_equal(r.ino, 1234567890123ULL);
	assert_int_equal(r.mode, 0100644);
	assert_int_equal(r.nlink, 3);
	assert_int_equal(r.uid, 1000);
	assert_int_equal(r.size, 5000000000LL);
	assert_int_equal(r.blksize, 4096);
	assert_int_equal(r.blocks, 9765632);
	assert_int_equal(r.mtime, 1700000000);
	assert_int_equal(r.mtime_ns, 123456789);
	assert_int_equal(r.pad1, 0);
	assert_int_equal(r.pad2, 0);
	assert_int_equal(r.unused4, 0);

	/* riscv64 epoll_event is not packed */
	assert_int_equal(sizeof(struct rv_epoll_event), 16);
	assert_int_equal(offsetof(struct rv_epoll_event, data), 8);
	/* rt_sigframe: siginfo, then ucontext with uc_mcontext at 176 */
	assert_int_equal(offsetof(struct rv_sigframe, uc), 128);
	assert_int_equal(offsetof(struct rv_ucontext, sigmask), 40);
	assert_int_equal(offsetof(struct rv_ucontext, regs), 176);
	assert_int_equal(offsetof(struct rv_ucontext, f), 176 + 256);
	assert_int_equal(offsetof(struct rv_ucontext, fcsr), 176 + 512);
	assert_int_equal(sizeof(struct rv_sigframe), 1088);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(elf_ok),
		cmocka_unit_test(elf_refused),
		cmocka_unit_test_setup_teardown(mm_lazy_and_faults, mm_setup, mm_teardown),
		cmocka_unit_test_setup_teardown(mm_placement_and_iov, mm_setup, mm_teardown),
		cmocka_unit_test_setup_teardown(mm_pool_exhausted, mm_setup, mm_teardown),
		cmocka_unit_test(pt_flags),
		cmocka_unit_test_setup_teardown(pt_before_and_after_start, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(pt_refused, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(pt_edit_page_full, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(pt_pool_exhausted, pt_setup_big, pt_teardown),
		cmocka_unit_test(abi_layouts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
