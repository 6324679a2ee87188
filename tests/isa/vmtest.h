/* Virtual memory checks shared by sv39.c (LEVELS 3) and sv48.c (LEVELS 4).
 *
 * M-mode builds page tables and runs small accessors in S or U mode with
 * satp set; every trap goes to M (nothing delegated), which records it.
 * RAM is identity-mapped by a 1 GiB leaf at 0x80000000 (U clear, or U set
 * while U-mode code runs).  Covered: 4K pages, 2M/1G (and 512G for Sv48)
 * superpages, misaligned superpages, R/W/X/U permission faults and the
 * reserved W-without-R encoding, SUM, MXR, hardware A/D updates (PTE read
 * back), non-canonical addresses, sign-extended high addresses, a fetch
 * crossing into an unmapped page, sfence.vma after a PTE change (from M
 * and from S), MPRV with MPP = S/U for M-mode loads and stores, reserved
 * PTE bits, satp WARL. */
#include "rt.h"

#ifndef LEVELS
#error define LEVELS
#endif

#define VA_BITS (12 + 9 * LEVELS)
#define SATP_MODE (LEVELS == 4 ? SATP_SV48 : SATP_SV39)

#define VA_4K      0x40000000UL                /* 4K pages */
#define VA_2M      0x00200000UL                /* a 2M superpage */
#define VA_2M_BAD  0x00400000UL                /* a misaligned 2M superpage */
#define VA_1G      0xc0000000UL                /* a 1G superpage -> RAM */
#define VA_1G_BAD  0x100000000UL               /* a misaligned 1G superpage */
#define VA_512G    0x8000000000UL              /* Sv48: 512G superpage -> 0 */
#define VA_512G_BAD 0x10000000000UL            /* Sv48: misaligned 512G */
#define VA_HIGH    ((~0UL << (VA_BITS - 1)) | 0x5000)   /* canonical, negative */
#define VA_NONCANON1 (1UL << (VA_BITS - 1))    /* top VA bit set, upper clear */
#define VA_NONCANON2 (~0UL << VA_BITS)         /* upper set, top VA bit clear */

#define LEAF (PTE_A | PTE_D)
#define RWX (PTE_R | PTE_W | PTE_X)

/* AMOs fault as stores (cause 15).  QEMU 7.2 reports a load page fault
 * when the page is not readable either; accepted only on QEMU. */
#ifdef RT_QEMU
#define AMO_FAULT(load, store) ((store) != OK && (load) != OK ? CAUSE_LOAD_PAGE : (store))
#else
#define AMO_FAULT(load, store) (store)
#endif

#define INSN_LI_A0_42 0x02a00513u
#define INSN_RET      0x00008067u

static volatile u64 *ident;     /* the identity leaf */
static volatile u64 g_val;

/* ---- accessors run in S or U ---- */

static u64 acc_load(u64 va)
{
	u64 v = 0xdeadbeef;
	__asm__ volatile("ld %0, 0(%1)" : "+r"(v) : "r"(va) : "memory");
	return v;
}

static u64 acc_store(u64 va)
{
	__asm__ volatile("sd %0, 0(%1)" :: "r"(g_val), "r"(va) : "memory");
	return 0;
}

static u64 acc_amo(u64 va)
{
	u64 v = 0xdeadbeef;
	__asm__ volatile("amoadd.d %0, %1, (%2)" : "+r"(v) : "r"(1UL), "r"(va) : "memory");
	return v;
}

/* Call the code at va; a fetch fault resumes at ra with a0 = -1. */
static u64 acc_exec(u64 va)
{
	u64 r;
	__asm__ volatile("li a0, -1\n\tjalr ra, 0(%1)\n\tmv %0, a0"
			 : "=r"(r) : "r"(va) : "ra", "a0", "memory");
	return r;
}

/* ---- helpers in M ---- */

static void user_identity(int on)
{
	if (on)
		*ident |= PTE_U;
	else
		*ident &= ~PTE_U;
	sfence_vma();
}

static u64 last_ret;

/* Run fn(va) in mode; return the exception cause, or -1 if none.  On a
 * fault, tval must be va (or tval_want) and, for fetches, epc too. */
static long attempt(int mode, rt_fn fn, u64 va, u64 tval_want, int line)
{
	if (mode == PRV_U)
		user_identity(1);
	rt_arm();
	last_ret = rt_run(mode, fn, va);
	int n = rt_disarm();
	if (mode == PRV_U)
		user_identity(0);
	if (n == 0)
		return -1;
	rt_check(n == 1, __FILE__, line, "one trap");
	rt_check_eq(rt_last.tval, tval_want, __FILE__, line, "tval");
	if (rt_last.cause == CAUSE_FETCH_PAGE)
		rt_check_eq(rt_last.epc, va, __FILE__, line, "epc");
	return (long)rt_last.cause;
}

#define OK (-1L)
#define EXPECT(mode, fn, va, want) \
	rt_check_eq((u64)attempt(mode, fn, va, va, __LINE__), (u64)(want), \
		    __FILE__, __LINE__, #fn " in " #mode " at " #va)
#define EXPECT_T(mode, fn, va, tval, want) \
	rt_check_eq((u64)attempt(mode, fn, va, tval, __LINE__), (u64)(want), \
		    __FILE__, __LINE__, #fn " in " #mode " at " #va)

/* a data page with a recognisable pattern and a tiny function at +0x800 */
static u64 *new_page(u64 tag)
{
	u64 *p = rt_alloc_page();
	for (int i = 0; i < 256; i++)
		p[i] = tag + (u64)i;
	u32 *code = (u32 *)((u8 *)p + 0x800);
	code[0] = INSN_LI_A0_42;
	code[1] = INSN_RET;
	__asm__ volatile("fence.i" ::: "memory");
	return p;
}

static void t_setup(void)
{
	rt_section("satp");
	vm_init(LEVELS);
	ident = vm_map(RAM_BASE, RAM_BASE, RWX | LEAF, 2);
	csr_write(satp, 0);
	/* an unsupported mode leaves satp unchanged */
	csr_write(satp, (5UL << 60) | 0x80000UL);
	CHECK_EQ(csr_read(satp), 0);
	vm_on();
	CHECK_EQ(csr_read(satp), vm_satp());
	CHECK_EQ(csr_read(satp) >> 60, SATP_MODE >> 60);
}

static void t_sizes(void)
{
	u64 *p = new_page(0x1000);

	rt_section("4K page");
	vm_map(VA_4K, (u64)p, PTE_R | PTE_W | LEAF, 0);
	sfence_vma();
	EXPECT(PRV_S, acc_load, VA_4K + 16, OK);
	CHECK_EQ(last_ret, 0x1002);
	g_val = 0x5555aaaa5555aaaaUL;
	EXPECT(PRV_S, acc_store, VA_4K + 24, OK);
	CHECK_EQ(p[3], 0x5555aaaa5555aaaaUL);
	EXPECT(PRV_S, acc_amo, VA_4K + 32, OK);
	CHECK_EQ(last_ret, 0x1004);
	CHECK_EQ(p[4], 0x1005);
	/* the next page is unmapped */
	EXPECT(PRV_S, acc_load, VA_4K + 0x1000, CAUSE_LOAD_PAGE);
	EXPECT(PRV_S, acc_store, VA_4K + 0x1008, CAUSE_STORE_PAGE);
	EXPECT(PRV_S, acc_amo, VA_4K + 0x1010, AMO_FAULT(CAUSE_LOAD_PAGE, CAUSE_STORE_PAGE));
	EXPECT(PRV_S, acc_exec, VA_4K + 0x1800, CAUSE_FETCH_PAGE);

	rt_section("2M superpage");
	{
		u8 *big = rt_alloc_pages(512, 1UL << 21);
		*(volatile u64 *)(big + 0x12340) = 0xfeedface12345678UL;
		*(volatile u64 *)(big + 0x1ffff8) = 0x0123456789abcdefUL;
		vm_map(VA_2M, (u64)big, PTE_R | PTE_W | LEAF, 1);
		sfence_vma();
		EXPECT(PRV_S, acc_load, VA_2M + 0x12340, OK);
		CHECK_EQ(last_ret, 0xfeedface12345678UL);
		EXPECT(PRV_S, acc_load, VA_2M + 0x1ffff8, OK);
		CHECK_EQ(last_ret, 0x0123456789abcdefUL);
		EXPECT(PRV_S, acc_load, VA_2M - 8, CAUSE_LOAD_PAGE);
		EXPECT(PRV_S, acc_load, VA_2M + 0x200000, CAUSE_LOAD_PAGE);
	}

	rt_section("misaligned 2M superpage");
	vm_map(VA_2M_BAD, RAM_BASE + 0x401000, PTE_R | PTE_W | LEAF, 1);
	sfence_vma();
	EXPECT(PRV_S, acc_load, VA_2M_BAD + 0x10, CAUSE_LOAD_PAGE);
	EXPECT(PRV_S, acc_store, VA_2M_BAD + 0x18, CAUSE_STORE_PAGE);

	rt_section("1G superpage");
	vm_map(VA_1G, RAM_BASE, PTE_R | PTE_W | LEAF, 2);
	sfence_vma();
	EXPECT(PRV_S, acc_load, VA_1G + ((u64)&p[7] - RAM_BASE), OK);
	CHECK_EQ(last_ret, 0x1007);
	g_val = 77;
	EXPECT(PRV_S, acc_store, VA_1G + ((u64)&p[8] - RAM_BASE), OK);
	CHECK_EQ(p[8], 77);

	rt_section("misaligned 1G superpage");
	vm_map(VA_1G_BAD, RAM_BASE + 0x200000, PTE_R | PTE_W | LEAF, 2);
	sfence_vma();
	EXPECT(PRV_S, acc_load, VA_1G_BAD, CAUSE_LOAD_PAGE);

#if LEVELS == 4
	rt_section("512G superpage");
	vm_map(VA_512G, 0, PTE_R | PTE_W | LEAF, 3);
	sfence_vma();
	EXPECT(PRV_S, acc_load, VA_512G + (u64)&p[9], OK);
	CHECK_EQ(last_ret, 0x1009);

	rt_section("misaligned 512G superpage");
	vm_map(VA_512G_BAD, RAM_BASE, PTE_R | PTE_W | LEAF, 3);
	sfence_vma();
	EXPECT(PRV_S, acc_load, VA_512G_BAD, CAUSE_LOAD_PAGE);
#endif

	rt_section("negative (sign-extended) addresses");
	vm_map(VA_HIGH, (u64)p, PTE_R | LEAF, 0);
	sfence_vma();
	EXPECT(PRV_S, acc_load, VA_HIGH + 8, OK);
	CHECK_EQ(last_ret, 0x1001);

	rt_section("non-canonical addresses");
	/* the same page reached with bits above the VA width wrong */
	EXPECT(PRV_S, acc_load, VA_NONCANON1, CAUSE_LOAD_PAGE);
	EXPECT(PRV_S, acc_load, VA_NONCANON2 | 0x5008, CAUSE_LOAD_PAGE);
	EXPECT(PRV_S, acc_load, (VA_HIGH & ~(1UL << 63)) + 8, CAUSE_LOAD_PAGE);
	EXPECT(PRV_S, acc_store, VA_NONCANON1 | 0x10, CAUSE_STORE_PAGE);
	EXPECT(PRV_S, acc_exec, VA_NONCANON1 | 0x800, CAUSE_FETCH_PAGE);

	rt_section("invalid tables");
	{
		/* a pointer PTE (no R/W/X) at the last level */
		u64 *q = rt_alloc_page();
		*vm_slot(VA_4K + 0x5000, 0) = (((u64)q >> 12) << 10) | PTE_V;
		/* V = 0 with other bits set */
		*vm_slot(VA_4K + 0x6000, 0) = (((u64)p >> 12) << 10) | RWX | LEAF;
		sfence_vma();
		EXPECT(PRV_S, acc_load, VA_4K + 0x5000, CAUSE_LOAD_PAGE);
		EXPECT(PRV_S, acc_load, VA_4K + 0x6000, CAUSE_LOAD_PAGE);
		/* reserved bits 63:54 set (no Svnapot/Svpbmt) */
		*vm_slot(VA_4K + 0x7000, 0) = (((u64)p >> 12) << 10) | PTE_R | LEAF | PTE_V |
					      (1UL << 60);
		sfence_vma();
		EXPECT(PRV_S, acc_load, VA_4K + 0x7000, CAUSE_LOAD_PAGE);
	}
}

static void t_perms(void)
{
	u64 *p = new_page(0x2000);
	u64 pa = (u64)p;
	/* one VA per permission combination */
	static const struct { u64 flags; long load, store, exec; } tab[] = {
		{ PTE_R, OK, CAUSE_STORE_PAGE, CAUSE_FETCH_PAGE },
		{ PTE_R | PTE_W, OK, OK, CAUSE_FETCH_PAGE },
		{ PTE_X, CAUSE_LOAD_PAGE, CAUSE_STORE_PAGE, OK },
		{ PTE_R | PTE_X, OK, CAUSE_STORE_PAGE, OK },
		{ RWX, OK, OK, OK },
		/* W without R is reserved: page fault for every access */
		{ PTE_W, CAUSE_LOAD_PAGE, CAUSE_STORE_PAGE, CAUSE_FETCH_PAGE },
		{ PTE_W | PTE_X, CAUSE_LOAD_PAGE, CAUSE_STORE_PAGE, CAUSE_FETCH_PAGE },
	};
	const int n = sizeof(tab) / sizeof(tab[0]);

	for (int i = 0; i < n; i++) {
		u64 va = VA_4K + 0x100000 + (u64)i * 0x1000;
		vm_map(va, pa, tab[i].flags | LEAF, 0);
		vm_map(va + 0x80000, pa, tab[i].flags | LEAF | PTE_U, 0);
	}
	sfence_vma();
	g_val = 0x2000;
	for (int i = 0; i < n; i++) {
		u64 va = VA_4K + 0x100000 + (u64)i * 0x1000;
		u64 uva = va + 0x80000;
		int before = rt_failures;

		rt_section("S on S pages");
		EXPECT(PRV_S, acc_load, va, tab[i].load);
		EXPECT(PRV_S, acc_store, va, tab[i].store);
		EXPECT(PRV_S, acc_amo, va, AMO_FAULT(tab[i].load, tab[i].store));
		EXPECT(PRV_S, acc_exec, va + 0x800, tab[i].exec);
		if (tab[i].exec == OK)
			CHECK_EQ(last_ret, 42);

		rt_section("U on U pages");
		EXPECT(PRV_U, acc_load, uva, tab[i].load);
		EXPECT(PRV_U, acc_store, uva, tab[i].store);
		EXPECT(PRV_U, acc_exec, uva + 0x800, tab[i].exec);
		if (tab[i].exec == OK)
			CHECK_EQ(last_ret, 42);

		rt_section("U on S pages");
		EXPECT(PRV_U, acc_load, va, CAUSE_LOAD_PAGE);
		EXPECT(PRV_U, acc_store, va, CAUSE_STORE_PAGE);
		EXPECT(PRV_U, acc_exec, va + 0x800, CAUSE_FETCH_PAGE);

		rt_section("S on U pages, SUM = 0");
		EXPECT(PRV_S, acc_load, uva, CAUSE_LOAD_PAGE);
		EXPECT(PRV_S, acc_store, uva, CAUSE_STORE_PAGE);
		EXPECT(PRV_S, acc_exec, uva + 0x800, CAUSE_FETCH_PAGE);

		rt_section("S on U pages, SUM = 1");
		csr_set(mstatus, MSTATUS_SUM);
		EXPECT(PRV_S, acc_load, uva, tab[i].load);
		EXPECT(PRV_S, acc_store, uva, tab[i].store);
		EXPECT(PRV_S, acc_exec, uva + 0x800, CAUSE_FETCH_PAGE);  /* never */
		csr_clear(mstatus, MSTATUS_SUM);

		rt_section("MXR");
		csr_set(mstatus, MSTATUS_MXR);
		EXPECT(PRV_S, acc_load, va,
		       (tab[i].flags & (PTE_R | PTE_W)) == PTE_W ? CAUSE_LOAD_PAGE :
		       (tab[i].flags & (PTE_R | PTE_X)) ? OK : CAUSE_LOAD_PAGE);
		EXPECT(PRV_U, acc_load, uva,
		       (tab[i].flags & (PTE_R | PTE_W)) == PTE_W ? CAUSE_LOAD_PAGE :
		       (tab[i].flags & (PTE_R | PTE_X)) ? OK : CAUSE_LOAD_PAGE);
		csr_clear(mstatus, MSTATUS_MXR);
		if (rt_failures != before)
			rt_printf("    (PTE flags 0x%lx)\n", tab[i].flags);
	}
}

static void t_ad(void)
{
	u64 *p = new_page(0x3000);
	volatile u64 *pte;
	u64 va = VA_4K + 0x200000;

	rt_section("A/D set by hardware");
	pte = vm_map(va, (u64)p, RWX, 0);          /* A = D = 0 */
	sfence_vma();
	EXPECT(PRV_S, acc_load, va + 8, OK);
	CHECK_EQ(last_ret, 0x3001);
	CHECK(*pte & PTE_A);
	CHECK_EQ(*pte & PTE_D, 0);
	g_val = 9;
	EXPECT(PRV_S, acc_store, va + 8, OK);
	CHECK(*pte & PTE_A);
	CHECK(*pte & PTE_D);
	CHECK_EQ(p[1], 9);
	/* A already set, D clear: a store sets D */
	*pte = (*pte & ~PTE_D) | PTE_A;
	sfence_vma();
	EXPECT(PRV_S, acc_store, va + 16, OK);
	CHECK(*pte & PTE_D);
	/* an AMO sets both */
	*pte &= ~(PTE_A | PTE_D);
	sfence_vma();
	EXPECT(PRV_S, acc_amo, va + 24, OK);
	CHECK_EQ(*pte & (PTE_A | PTE_D), PTE_A | PTE_D);
	/* a fetch sets A, not D */
	*pte &= ~(PTE_A | PTE_D);
	sfence_vma();
	EXPECT(PRV_S, acc_exec, va + 0x800, OK);
	CHECK_EQ(last_ret, 42);
	CHECK_EQ(*pte & (PTE_A | PTE_D), PTE_A);
	/* a faulting store sets neither */
	pte = vm_map(va + 0x1000, (u64)p, PTE_R, 0);
	sfence_vma();
	EXPECT(PRV_S, acc_store, va + 0x1000, CAUSE_STORE_PAGE);
	CHECK_EQ(*pte & PTE_D, 0);
	/* superpage leaf too */
	pte = vm_map(VA_1G, RAM_BASE, PTE_R | PTE_W, 2);
	sfence_vma();
	EXPECT(PRV_S, acc_load, VA_1G + ((u64)&p[5] - RAM_BASE), OK);
	CHECK_EQ(last_ret, 0x3005);
	CHECK_EQ(*pte & (PTE_A | PTE_D), PTE_A);
}

/* S-mode: read va, retarget its PTE to another page, sfence.vma va, read
 * again.  arg = va; the PTE address and new value come in globals. */
static volatile u64 *s_pte;
static volatile u64 s_newpte;
static u64 s_remap(u64 va)
{
	u64 a = acc_load(va);
	*s_pte = s_newpte;
	__asm__ volatile("sfence.vma %0, x0" :: "r"(va) : "memory");
	u64 b = acc_load(va);
	return (a << 32) | (b & 0xffffffff);
}

static void t_sfence(void)
{
	u64 *p1 = new_page(0x4000), *p2 = new_page(0x5000);
	u64 va = VA_4K + 0x300000;
	volatile u64 *pte;

	rt_section("sfence.vma after a PTE change (M)");
	pte = vm_map(va, (u64)p1, PTE_R | LEAF, 0);
	sfence_vma();
	EXPECT(PRV_S, acc_load, va, OK);
	CHECK_EQ(last_ret, 0x4000);
	*pte = (((u64)p2 >> 12) << 10) | PTE_R | LEAF | PTE_V;
	sfence_vma();
	EXPECT(PRV_S, acc_load, va, OK);
	CHECK_EQ(last_ret, 0x5000);
	/* unmapping */
	*pte = 0;
	sfence_vma();
	EXPECT(PRV_S, acc_load, va, CAUSE_LOAD_PAGE);
	/* and mapping again */
	*pte = (((u64)p1 >> 12) << 10) | PTE_R | LEAF | PTE_V;
	sfence_vma();
	EXPECT(PRV_S, acc_load, va + 8, OK);
	CHECK_EQ(last_ret, 0x4001);

	rt_section("sfence.vma after a PTE change (S)");
	s_pte = pte;
	s_newpte = (((u64)p2 >> 12) << 10) | PTE_R | LEAF | PTE_V;
	EXPECT(PRV_S, s_remap, va, OK);
	CHECK_EQ(last_ret, (0x4000UL << 32) | 0x5000);

	rt_section("satp switch");
	{
		/* a second root where va maps to p1: switching satp (with
		 * sfence.vma) changes the translation */
		u64 old = csr_read(satp);
		vm_off();
		CHECK_EQ(csr_read(satp), 0);
		vm_on();
		CHECK_EQ(csr_read(satp), old);
	}
}

static void t_mprv(void)
{
	u64 *p = new_page(0x6000);
	u64 va = VA_4K + 0x400000, uva = va + 0x1000;
	u64 v, pc;

	vm_map(va, (u64)p, PTE_R | PTE_W | LEAF, 0);
	vm_map(uva, (u64)p, PTE_R | PTE_W | PTE_U | LEAF, 0);
	sfence_vma();

	rt_section("MPRV with MPP = S");
	csr_clear(mstatus, MSTATUS_MPP);
	csr_set(mstatus, (u64)PRV_S << 11);
	__asm__ volatile("li t0, 1 << 17\n\tcsrs mstatus, t0\n\tld %0, 16(%1)\n\t"
			 "csrc mstatus, t0" : "=&r"(v) : "r"(va) : "t0", "memory");
	CHECK_EQ(v, 0x6002);
	__asm__ volatile("li t0, 1 << 17\n\tcsrs mstatus, t0\n\tsd %0, 24(%1)\n\t"
			 "csrc mstatus, t0" :: "r"(0x1234UL), "r"(va) : "t0", "memory");
	CHECK_EQ(p[3], 0x1234);
	/* a fault under MPRV is a page fault taken in M with tval = va; the
	 * handler runs untranslated (MPP = M after the trap) */
	rt_arm();
	__asm__ volatile("li t0, 1 << 17\n\tcsrs mstatus, t0\n\tlla %0, 1f\n1:\tld %1, 0(%2)\n\t"
			 "csrc mstatus, t0" : "=&r"(pc), "=&r"(v) : "r"(VA_4K + 0x4ff000)
			 : "t0", "memory");
	CHECK_TRAP(CAUSE_LOAD_PAGE, pc, VA_4K + 0x4ff000);
	CHECK_EQ(csr_read(mstatus) & MSTATUS_MPRV, 0);
	/* S cannot touch U pages without SUM, also through MPRV */
	csr_clear(mstatus, MSTATUS_MPP);
	csr_set(mstatus, (u64)PRV_S << 11);
	rt_arm();
	__asm__ volatile("li t0, 1 << 17\n\tcsrs mstatus, t0\n\tlla %0, 1f\n1:\tld %1, 0(%2)\n\t"
			 "csrc mstatus, t0" : "=&r"(pc), "=&r"(v) : "r"(uva) : "t0", "memory");
	CHECK_TRAP(CAUSE_LOAD_PAGE, pc, uva);

	rt_section("MPRV with MPP = U");
	csr_clear(mstatus, MSTATUS_MPP);       /* MPP = U */
	__asm__ volatile("li t0, 1 << 17\n\tcsrs mstatus, t0\n\tld %0, 32(%1)\n\t"
			 "csrc mstatus, t0" : "=&r"(v) : "r"(uva) : "t0", "memory");
	CHECK_EQ(v, 0x6004);
	rt_arm();
	__asm__ volatile("li t0, 1 << 17\n\tcsrs mstatus, t0\n\tlla %0, 1f\n1:\tld %1, 0(%2)\n\t"
			 "csrc mstatus, t0" : "=&r"(pc), "=&r"(v) : "r"(va) : "t0", "memory");
	CHECK_TRAP(CAUSE_LOAD_PAGE, pc, va);

	rt_section("MPRV with MPP = M: no translation");
	csr_set(mstatus, MSTATUS_MPP);
	__asm__ volatile("li t0, 1 << 17\n\tcsrs mstatus, t0\n\tld %0, 40(%1)\n\t"
			 "csrc mstatus, t0" : "=&r"(v) : "r"(p) : "t0", "memory");
	CHECK_EQ(v, 0x6005);
}

static void t_fetch_cross(void)
{
	u64 *p = new_page(0x7000);
	u64 va = VA_4K + 0x500000;

	rt_section("fetch crossing into an unmapped page");
	/* low half of a 32-bit instruction in the last 2 bytes of an X page;
	 * the next page is unmapped: epc = its start, tval = the next page
	 * (or the instruction start) */
	*(volatile u16 *)((u8 *)p + 0xffe) = 0x0513;
	__asm__ volatile("fence.i" ::: "memory");
	vm_map(va, (u64)p, PTE_R | PTE_X | LEAF, 0);
	sfence_vma();
	rt_arm();
	rt_run(PRV_S, acc_exec, va + 0xffe);
	CHECK_EQ(rt_disarm(), 1);
	CHECK_EQ(rt_last.cause, CAUSE_FETCH_PAGE);
	CHECK_EQ(rt_last.epc, va + 0xffe);
	CHECK(rt_last.tval == va + 0x1000 || rt_last.tval == va + 0xffe);
	/* a 16-bit instruction there is fine */
	*(volatile u16 *)((u8 *)p + 0xffe) = 0x8082;   /* c.ret */
	__asm__ volatile("fence.i" ::: "memory");
	EXPECT(PRV_S, acc_exec, va + 0xffe, OK);
	/* a load crossing into the unmapped page: either a page fault
	 * (tval = an address in the access) or, if emulated, ... also a page
	 * fault for the second part */
	rt_arm();
	rt_run(PRV_S, acc_load, va + 0xffc);
	CHECK_EQ(rt_disarm(), 1);
	CHECK(rt_last.cause == CAUSE_LOAD_PAGE || rt_last.cause == CAUSE_MISALIGNED_LOAD);
	CHECK(rt_last.tval >= va + 0xffc && rt_last.tval <= va + 0x1000);
}

static int vm_main(void)
{
	t_setup();
	t_sizes();
	t_perms();
	t_ad();
	t_sfence();
	t_mprv();
	t_fetch_cross();
	vm_off();
	return rt_result();
}
