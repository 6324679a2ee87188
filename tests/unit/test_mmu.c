/* Unit tests for Sv39/Sv48 translation (src/engine/rv64/cpu_mmu.c) on
 * page tables built in a guest_mem: permission checks (R/W/X, U, SUM,
 * MXR, MPRV), A/D updates written back to the PTE, superpages and their
 * alignment, reserved encodings (W without R, reserved bits, Svpbmt),
 * non-canonical addresses, walks that leave RAM, and instruction fetch
 * across a page boundary (priv 1.12 §4.3-4.4, §3.1.16). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "board/virt/memmap.h"
#include "engine/rv64/cpu_internal.h"

#define RAM_SIZE (16ULL << 20)
#define ROOT   (RV_RAM_BASE + 0x100000)   /* page-table pages live here */
#define DATA   (RV_RAM_BASE + 0x400000)   /* a 4 KiB target page */
#define GIGA   (1ULL << 30)
#define MEGA2  (2ULL << 20)

struct fixture {
	struct rv_machine m;
	struct rv_hart *h;
	uint64_t next_table;   /* bump allocator for table pages */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct err e = { 0 };
	assert_non_null(f);
	assert_int_equal(guest_mem_add(&f->m.mem, RV_RAM_BASE, RAM_SIZE, &e), 0);
	f->h = rv_hart_new(&f->m, 0, &e);
	assert_non_null(f->h);
	f->m.harts[0] = f->h;
	f->m.nharts = 1;
	rv_hart_reset(f->h, RV_RAM_BASE, RV_PRIV_S, 0);
	f->next_table = ROOT + RV_PAGE_SIZE;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	rv_hart_free(f->h);
	guest_mem_free(&f->m.mem);
	free(f);
	return 0;
}

static uint64_t *pte_at(struct fixture *f, uint64_t pa)
{
	uint64_t *p = gpa_ptr(&f->m.mem, pa, 8);
	assert_non_null(p);
	return p;
}

static uint64_t leaf(uint64_t pa, uint64_t flags)
{
	return (pa >> 12) << PTE_PPN_SHIFT | PTE_V | flags;
}

/* Map va with a leaf at `level` (0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB,
 * 3 = 512 GiB) in a `levels`-level table rooted at ROOT; returns the
 * address of the leaf PTE. */
static uint64_t map(struct fixture *f, int levels, uint64_t va, int level,
		    uint64_t pte)
{
	uint64_t table = ROOT;
	for (int i = levels - 1; i > level; i--) {
		uint64_t *p = pte_at(f, table + ((va >> (12 + 9 * i)) & 511) * 8);
		if (!(*p & PTE_V)) {
			uint64_t t = f->next_table;
			f->next_table += RV_PAGE_SIZE;
			memset(gpa_ptr(&f->m.mem, t, RV_PAGE_SIZE), 0, RV_PAGE_SIZE);
			*p = (t >> 12) << PTE_PPN_SHIFT | PTE_V;
		}
		table = ((*p >> PTE_PPN_SHIFT) & PTE_PPN_MASK) << 12;
	}
	uint64_t at = table + ((va >> (12 + 9 * level)) & 511) * 8;
	*pte_at(f, at) = pte;
	return at;
}

static void use_satp(struct fixture *f, unsigned mode)
{
	f->h->satp = (uint64_t)mode << SATP_MODE_SHIFT | (ROOT >> 12);
	rv_mmu_set_mode(f->h);
}

/* Translate; returns 0 and *pa, or the exception cause (tval checked). */
static int xlate(struct fixture *f, uint64_t va, enum rv_access acc,
		 uint64_t *pa)
{
	uint64_t p = 0;
	if (rv_mmu_translate(f->h, va, acc, &p, NULL) == 0) {
		if (pa)
			*pa = p;
		return 0;
	}
	assert_int_equal(rv_cpu(f->h)->exc_tval, va);
	return (int)rv_cpu(f->h)->exc_cause;
}

static void test_sv39_4k_and_ad(void **state)
{
	struct fixture *f = *state;
	uint64_t va = 0x12345000, pa;
	uint64_t at = map(f, 3, va, 0, leaf(DATA, PTE_R | PTE_W));
	use_satp(f, SATP_MODE_SV39);

	assert_int_equal(xlate(f, va + 0x123, RV_ACC_LOAD, &pa), 0);
	assert_int_equal(pa, DATA + 0x123);
	/* A set in memory by the walk, D only by a store */
	assert_true(*pte_at(f, at) & PTE_A);
	assert_false(*pte_at(f, at) & PTE_D);
	assert_int_equal(xlate(f, va, RV_ACC_STORE, &pa), 0);
	assert_true(*pte_at(f, at) & PTE_D);
	/* not executable */
	assert_int_equal(xlate(f, va, RV_ACC_FETCH, NULL), RV_EXC_INSN_PAGE);
	/* unmapped neighbour */
	assert_int_equal(xlate(f, va + RV_PAGE_SIZE, RV_ACC_LOAD, NULL),
			 RV_EXC_LOAD_PAGE);
}

static void test_permissions(void **state)
{
	struct fixture *f = *state;
	struct rv_hart *h = f->h;
	map(f, 3, 0x1000, 0, leaf(DATA, PTE_R));              /* read-only */
	map(f, 3, 0x2000, 0, leaf(DATA, PTE_X));              /* exec-only */
	map(f, 3, 0x3000, 0, leaf(DATA, PTE_R | PTE_W | PTE_U));
	map(f, 3, 0x4000, 0, leaf(DATA, PTE_W));              /* reserved */
	map(f, 3, 0x5000, 0, leaf(DATA, PTE_R | PTE_W | PTE_X | PTE_U));
	use_satp(f, SATP_MODE_SV39);

	assert_int_equal(xlate(f, 0x1000, RV_ACC_STORE, NULL), RV_EXC_STORE_PAGE);
	assert_int_equal(xlate(f, 0x2000, RV_ACC_LOAD, NULL), RV_EXC_LOAD_PAGE);
	assert_int_equal(xlate(f, 0x2000, RV_ACC_FETCH, NULL), 0);
	/* MXR makes executable pages readable */
	h->mstatus |= MSTATUS_MXR;
	assert_int_equal(xlate(f, 0x2000, RV_ACC_LOAD, NULL), 0);
	h->mstatus &= ~MSTATUS_MXR;

	/* S-mode and user pages: only with SUM, never for fetch */
	assert_int_equal(xlate(f, 0x3000, RV_ACC_LOAD, NULL), RV_EXC_LOAD_PAGE);
	h->mstatus |= MSTATUS_SUM;
	assert_int_equal(xlate(f, 0x3000, RV_ACC_STORE, NULL), 0);
	assert_int_equal(xlate(f, 0x5000, RV_ACC_FETCH, NULL), RV_EXC_INSN_PAGE);
	h->mstatus &= ~MSTATUS_SUM;

	/* U-mode: user pages yes, supervisor pages no */
	h->priv = RV_PRIV_U;
	assert_int_equal(xlate(f, 0x5000, RV_ACC_FETCH, NULL), 0);
	assert_int_equal(xlate(f, 0x3000, RV_ACC_STORE, NULL), 0);
	assert_int_equal(xlate(f, 0x1000, RV_ACC_LOAD, NULL), RV_EXC_LOAD_PAGE);
	h->priv = RV_PRIV_S;

	/* W without R is reserved: a fault for every access type */
	assert_int_equal(xlate(f, 0x4000, RV_ACC_LOAD, NULL), RV_EXC_LOAD_PAGE);
	assert_int_equal(xlate(f, 0x4000, RV_ACC_STORE, NULL), RV_EXC_STORE_PAGE);
}

static void test_mprv_and_bare(void **state)
{
	struct fixture *f = *state;
	struct rv_hart *h = f->h;
	uint64_t pa;
	map(f, 3, 0x7000, 0, leaf(DATA, PTE_R));
	use_satp(f, SATP_MODE_SV39);

	/* M-mode is untranslated, except data accesses under MPRV */
	h->priv = RV_PRIV_M;
	assert_int_equal(xlate(f, 0x7008, RV_ACC_LOAD, &pa), 0);
	assert_int_equal(pa, 0x7008);
	h->mstatus |= MSTATUS_MPRV | (1ULL << MSTATUS_MPP_SHIFT);
	assert_int_equal(xlate(f, 0x7008, RV_ACC_LOAD, &pa), 0);
	assert_int_equal(pa, DATA + 8);
	assert_int_equal(xlate(f, 0x7008, RV_ACC_FETCH, &pa), 0);
	assert_int_equal(pa, 0x7008);
	h->mstatus &= ~(MSTATUS_MPRV | MSTATUS_MPP);
	h->priv = RV_PRIV_S;

	/* Bare: identity, no canonical check */
	use_satp(f, SATP_MODE_BARE);
	assert_int_equal(xlate(f, 0xdead0000beefULL, RV_ACC_STORE, &pa), 0);
	assert_int_equal(pa, 0xdead0000beefULL);
}

static void test_superpages(void **state)
{
	struct fixture *f = *state;
	uint64_t pa;
	bool super;
	/* 2 MiB at 0x40200000 -> RAM base + 2 MiB, 1 GiB at 0xc0000000 ->
	 * RAM base (1 GiB aligned) */
	map(f, 3, 0x40200000, 1, leaf(RV_RAM_BASE + MEGA2, PTE_R | PTE_W));
	map(f, 3, 3 * GIGA, 2, leaf(RV_RAM_BASE, PTE_R | PTE_X));
	use_satp(f, SATP_MODE_SV39);

	assert_int_equal(rv_mmu_translate(f->h, 0x40200000 + 0x12345,
					  RV_ACC_LOAD, &pa, &super), 0);
	assert_int_equal(pa, RV_RAM_BASE + MEGA2 + 0x12345);
	assert_true(super);
	assert_int_equal(xlate(f, 3 * GIGA + 0x3456789, RV_ACC_FETCH, &pa), 0);
	assert_int_equal(pa, RV_RAM_BASE + 0x3456789);

	/* misaligned superpages: low PPN bits must be zero */
	map(f, 3, 0x40400000, 1, leaf(RV_RAM_BASE + RV_PAGE_SIZE, PTE_R));
	assert_int_equal(xlate(f, 0x40400000, RV_ACC_LOAD, NULL),
			 RV_EXC_LOAD_PAGE);
	map(f, 3, 4 * GIGA, 2, leaf(RV_RAM_BASE + MEGA2, PTE_R));
	assert_int_equal(xlate(f, 4 * GIGA, RV_ACC_LOAD, NULL),
			 RV_EXC_LOAD_PAGE);
}

static void test_reserved_encodings(void **state)
{
	struct fixture *f = *state;
	struct rv_hart *h = f->h;
	uint64_t rw = PTE_R | PTE_W;
	map(f, 3, 0x10000, 0, leaf(DATA, rw) | (1ULL << 54));
	map(f, 3, 0x11000, 0, leaf(DATA, rw) | PTE_N);
	map(f, 3, 0x12000, 0, leaf(DATA, rw) | (1ULL << PTE_PBMT_SHIFT));
	map(f, 3, 0x13000, 0, leaf(DATA, rw) | (3ULL << PTE_PBMT_SHIFT));
	use_satp(f, SATP_MODE_SV39);

	assert_int_equal(xlate(f, 0x10000, RV_ACC_LOAD, NULL), RV_EXC_LOAD_PAGE);
	assert_int_equal(xlate(f, 0x11000, RV_ACC_LOAD, NULL), RV_EXC_LOAD_PAGE);
	/* Svpbmt: PBMT only with menvcfg.PBMTE, and 3 is reserved */
	h->menvcfg &= ~ENVCFG_PBMTE;
	assert_int_equal(xlate(f, 0x12000, RV_ACC_LOAD, NULL), RV_EXC_LOAD_PAGE);
	h->menvcfg |= ENVCFG_PBMTE;
	assert_int_equal(xlate(f, 0x12000, RV_ACC_LOAD, NULL), 0);
	assert_int_equal(xlate(f, 0x13000, RV_ACC_LOAD, NULL), RV_EXC_LOAD_PAGE);

	/* a pointer (non-leaf) PTE at the last level */
	map(f, 3, 0x14000, 0, (DATA >> 12) << PTE_PPN_SHIFT | PTE_V);
	assert_int_equal(xlate(f, 0x14000, RV_ACC_LOAD, NULL), RV_EXC_LOAD_PAGE);
	/* invalid */
	map(f, 3, 0x15000, 0, leaf(DATA, rw) & ~PTE_V);
	assert_int_equal(xlate(f, 0x15000, RV_ACC_STORE, NULL), RV_EXC_STORE_PAGE);
}

static void test_non_canonical(void **state)
{
	struct fixture *f = *state;
	map(f, 3, 0x1000, 0, leaf(DATA, PTE_R | PTE_X));
	use_satp(f, SATP_MODE_SV39);
	/* bit 38 clear but bit 39 set: not sign-extended */
	assert_int_equal(xlate(f, 0x8000001000ULL, RV_ACC_LOAD, NULL),
			 RV_EXC_LOAD_PAGE);
	assert_int_equal(xlate(f, 0x8000001000ULL, RV_ACC_FETCH, NULL),
			 RV_EXC_INSN_PAGE);
	assert_int_equal(xlate(f, 1ULL << 63 | 0x1000, RV_ACC_STORE, NULL),
			 RV_EXC_STORE_PAGE);
	/* the sign-extended top half is canonical (and unmapped here) */
	assert_int_equal(xlate(f, ~0ULL << 38, RV_ACC_LOAD, NULL),
			 RV_EXC_LOAD_PAGE);
}

static void test_walk_leaves_ram(void **state)
{
	struct fixture *f = *state;
	/* root outside RAM */
	f->h->satp = (uint64_t)SATP_MODE_SV39 << SATP_MODE_SHIFT | (0x1000 >> 12);
	assert_int_equal(xlate(f, 0x1000, RV_ACC_LOAD, NULL), RV_EXC_LOAD_ACCESS);
	assert_int_equal(xlate(f, 0x1000, RV_ACC_STORE, NULL), RV_EXC_STORE_ACCESS);
	assert_int_equal(xlate(f, 0x1000, RV_ACC_FETCH, NULL), RV_EXC_INSN_ACCESS);
	/* a pointer PTE to a table outside RAM */
	use_satp(f, SATP_MODE_SV39);
	*pte_at(f, ROOT) = (0x10000000ULL >> 12) << PTE_PPN_SHIFT | PTE_V;
	assert_int_equal(xlate(f, 0x1000, RV_ACC_LOAD, NULL), RV_EXC_LOAD_ACCESS);
}

static void test_sv48(void **state)
{
	struct fixture *f = *state;
	uint64_t pa;
	uint64_t va = 0x7f1234567000ULL;  /* needs all four levels */
	map(f, 4, va, 0, leaf(DATA, PTE_R | PTE_W));
	/* 512 GiB leaf at level 3 mapping to PA 0 */
	map(f, 4, 1ULL << 39, 3, leaf(0, PTE_R));
	use_satp(f, SATP_MODE_SV48);

	assert_int_equal(xlate(f, va + 8, RV_ACC_STORE, &pa), 0);
	assert_int_equal(pa, DATA + 8);
	assert_int_equal(xlate(f, (1ULL << 39) + RV_RAM_BASE, RV_ACC_LOAD, &pa), 0);
	assert_int_equal(pa, RV_RAM_BASE);
	/* canonical for Sv39 would be wrong here: bit 47 is the top */
	assert_int_equal(xlate(f, 1ULL << 47, RV_ACC_LOAD, NULL), RV_EXC_LOAD_PAGE);
	/* misaligned 512 GiB page */
	map(f, 4, 2ULL << 39, 3, leaf(RV_RAM_BASE, PTE_R));
	assert_int_equal(xlate(f, 2ULL << 39, RV_ACC_LOAD, NULL), RV_EXC_LOAD_PAGE);
}

static void test_slow_paths(void **state)
{
	struct fixture *f = *state;
	uint64_t v = 0;
	/* two adjacent pages, second one read-only: a misaligned store that
	 * crosses into it faults with the address of the faulting part */
	map(f, 3, 0x20000, 0, leaf(DATA, PTE_R | PTE_W));
	map(f, 3, 0x21000, 0, leaf(DATA + RV_PAGE_SIZE, PTE_R));
	use_satp(f, SATP_MODE_SV39);
	assert_int_equal(rv_store_slow(f->h, 0x20ffc, 8, 0x1122334455667788ULL), -1);
	assert_int_equal(rv_cpu(f->h)->exc_cause, RV_EXC_STORE_PAGE);
	assert_int_equal(rv_cpu(f->h)->exc_tval, 0x21000);
	/* nothing was written */
	assert_int_equal(*(uint32_t *)gpa_ptr(&f->m.mem, DATA + 0xffc, 4), 0);
	/* a crossing load reads both halves */
	*(uint32_t *)gpa_ptr(&f->m.mem, DATA + 0xffc, 4) = 0x55667788;
	*(uint32_t *)gpa_ptr(&f->m.mem, DATA + 0x1000, 4) = 0x11223344;
	assert_int_equal(rv_load_slow(f->h, 0x20ffc, 8, &v), 0);
	assert_int_equal(v, 0x1122334455667788ULL);
	/* a physical address that is neither RAM nor a device */
	map(f, 3, 0x22000, 0, leaf(0x3000000, PTE_R | PTE_W));
	assert_int_equal(rv_load_slow(f->h, 0x22000, 4, &v), -1);
	assert_int_equal(rv_cpu(f->h)->exc_cause, RV_EXC_LOAD_ACCESS);
	assert_int_equal(rv_store_slow(f->h, 0x22000, 4, 1), -1);
	assert_int_equal(rv_cpu(f->h)->exc_cause, RV_EXC_STORE_ACCESS);
}

static void test_fetch_straddle(void **state)
{
	struct fixture *f = *state;
	struct rv_hart *h = f->h;
	/* a 32-bit instruction in the last two bytes of an executable page
	 * whose next page is not mapped: the fetch faults on the second
	 * page (tval), at the instruction (epc) */
	map(f, 3, 0x30000, 0, leaf(DATA, PTE_R | PTE_X));
	use_satp(f, SATP_MODE_SV39);
	*(uint16_t *)gpa_ptr(&f->m.mem, DATA + 0xffe, 2) = 0x0513; /* addi */
	h->pc = 0x30ffe;
	assert_null(rv_block_lookup(h, h->pc));
	assert_int_equal(h->priv, RV_PRIV_M);
	assert_int_equal(h->mcause, RV_EXC_INSN_PAGE);
	assert_int_equal(h->mepc, 0x30ffe);
	assert_int_equal(h->mtval, 0x31000);
	/* a fetch from a page that is not RAM is an access fault */
	h->priv = RV_PRIV_S;
	rv_mmu_set_mode(h);
	map(f, 3, 0x32000, 0, leaf(0x10000000, PTE_R | PTE_X));
	h->pc = 0x32000;
	assert_null(rv_block_lookup(h, h->pc));
	assert_int_equal(h->mcause, RV_EXC_INSN_ACCESS);
	assert_int_equal(h->mtval, 0x32000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sv39_4k_and_ad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mprv_and_bare, setup, teardown),
		cmocka_unit_test_setup_teardown(test_superpages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserved_encodings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_canonical, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_leaves_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sv48, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_straddle, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
