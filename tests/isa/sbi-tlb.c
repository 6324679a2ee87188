/* TLB shootdown, four harts in S-mode under the SBI, one Sv39 page table
 * shared by all.  Each round the boot hart maps page P (VA 0x40000000),
 * every other hart reads it a few times (its TLB now holds P), then the
 * boot hart changes P's PTE, runs sfence.vma for P itself and asks the SBI
 * (RFENCE) to flush the others, and only then publishes the round number.
 * The others, meanwhile, spin on a loop that reads the round number and
 * then P (fence r,r between, in the same basic block): the read of P in
 * the iteration that sees the new round must use the new PTE:
 *   unmap   PTE cleared: the load must page-fault (cause 13; the trap
 *           handler skips it and the loop reports -1)
 *   remap   PTE pointed at another page: the load must return that
 *           page's value (a stale TLB entry returns the old page's)
 * with the flush requested as remote_sfence_vma for P's page,
 * remote_sfence_vma of everything (size -1, hart_mask_base -1) and
 * remote_sfence_vma_asid (ASID 0).  So the SBI call must not return
 * before every target has dropped its entry.
 * RINGVM-ARGS: --cpus 4 */
#include "smputil.h"

#define NHARTS 4
#define ROUNDS 24              /* 6 of each kind; a remote fence costs ~70 ms on QEMU here */
#define VA_P 0x40000000UL
#define FAULTED (~0UL)

/* u64 tlb_probe(volatile u32 *go, u32 round, u64 va): spin until *go ==
 * round, reading va in every iteration; returns the last value read, or
 * FAULTED if that read page-faulted (the hook skips tlb_probe_load).
 * After a fault the hart has no entry for va left: it spins on *go alone
 * (a fault per iteration is slow on QEMU) and then reads va once more. */
u64 tlb_probe(volatile u32 *go, u32 round, u64 va);
extern char tlb_probe_load[];
__asm__(".pushsection .text\n"
	".option push\n.option norvc\n"
	".align 2\n"
	".globl tlb_probe\n"
	"tlb_probe:\n"
	"1:\tlw t0, 0(a0)\n"
	"\tfence r, r\n"
	"\tli t1, -1\n"
	".globl tlb_probe_load\n"
	"tlb_probe_load:\n"
	"\tld t1, 0(a2)\n"
	"\tbeq t0, a1, 3f\n"
	"\tli t2, -1\n"
	"\tbne t1, t2, 1b\n"
	"2:\tlw t0, 0(a0)\n"
	"\tbne t0, a1, 2b\n"
	"\tj 1b\n"
	"3:\tmv a0, t1\n"
	"\tret\n"
	".option pop\n"
	".popsection");

enum { UNMAP_RANGE, REMAP_RANGE, UNMAP_ALL, REMAP_ASID, KINDS };
static const char *const kind_name[KINDS] = {
	"unmap, remote_sfence_vma(P, 4K)", "remap, remote_sfence_vma(P, 4K)",
	"unmap, remote_sfence_vma(all harts, everything)",
	"remap, remote_sfence_vma_asid(P, 4K, ASID 0)" };

static volatile u64 *pte;
static u64 *page[2];
static volatile u32 go, warm_go;
static struct smp_barrier bar;
static u64 satp_all;

static u64 seen[SMP_MAX][ROUNDS + 1];      /* what each hart read after go */
static u64 warm_bad[SMP_MAX];              /* P unreadable or wrong before the change */
static volatile u64 faults[SMP_MAX];
static volatile u64 other_traps;
static u64 broken;

static int hook(struct rt_frame *f, int mode)
{
	(void)mode;
	if (f->cause == CAUSE_LOAD_PAGE && f->epc == (u64)tlb_probe_load) {
		u64 me = f->x[4];
		if (me < SMP_MAX)
			faults[me]++;
		f->epc += 4;
		return 1;
	}
	other_traps++;
	return 0;
}

static u64 value(u32 round, int which)
{
	return 0x5a5a000000000000UL | ((u64)round << 8) | (u64)which;
}

static void map_p(int which)
{
	*pte = (((u64)page[which] >> 12) << 10) | PTE_V | PTE_R | PTE_W | PTE_A | PTE_D;
}

static long rfence(int kind, u64 me)
{
	long mask = 0;
	for (u64 h = 0; h < NHARTS; h++)
		if (h != me)
			mask |= 1L << h;
	struct sbiret r;
	switch (kind) {
	case UNMAP_ALL:
		r = sbi_call(EXT_RFENCE, 1, 0, -1L, 0, -1L, 0, 0);
		break;
	case REMAP_ASID:
		r = sbi_call(EXT_RFENCE, 2, mask, 0, (long)VA_P, 4096, 0, 0);
		break;
	default:
		r = sbi_call(EXT_RFENCE, 1, mask, 0, (long)VA_P, 4096, 0, 0);
		break;
	}
	return r.error;
}

static long rfence_err;

static void run(u64 me, void *arg)
{
	int lead = me == rt_boot_hartid;
	(void)arg;
	csr_write(satp, satp_all);
	sfence_vma();

	for (u32 r = 1; r <= ROUNDS; r++) {
		int kind = (int)(r % KINDS), old = (int)(r & 1), nw = !old;
		if (lead) {
			page[old][0] = value(r, old);
			page[nw][0] = value(r, nw);
			map_p(old);
			sfence_vma();
			rfence_err |= rfence(UNMAP_RANGE, me);
			warm_go = r;
		}
		if (!smp_barrier_wait(&bar))
			goto out;
		if (!lead)
			for (int i = 0; i < 3; i++)
				if (tlb_probe(&warm_go, r, VA_P) != value(r, old))
					warm_bad[me]++;
		if (!smp_barrier_wait(&bar))
			goto out;
		if (lead) {
			if (kind == UNMAP_RANGE || kind == UNMAP_ALL)
				*pte = 0;
			else
				map_p(nw);
			__asm__ volatile("sfence.vma %0, zero" :: "r"(VA_P) : "memory");
			rfence_err |= rfence(kind, me);
			fence_rw();
			go = r;
		}
		/* the boot hart checks its own sfence.vma the same way */
		seen[me][r] = tlb_probe(&go, r, VA_P);
		if (!smp_barrier_wait(&bar))
			goto out;
	}
	return;
out:
	broken = 1;
}

int main(void)
{
	u64 t0 = rt_time();

	rt_printf("sbi-tlb: boot hart %lu, %d harts, %d rounds\n", rt_boot_hartid, NHARTS, ROUNDS);
	vm_init(3);
	vm_map(0, 0, PTE_R | PTE_W | PTE_A | PTE_D, 2);                  /* devices */
	vm_map(RAM_BASE, RAM_BASE, PTE_R | PTE_W | PTE_X | PTE_A | PTE_D, 2);
	page[0] = rt_alloc_page();
	page[1] = rt_alloc_page();
	pte = vm_slot(VA_P, 0);
	satp_all = vm_satp();
	smp_barrier_init(&bar, NHARTS);
	rt_exc_hook = hook;

	rt_section("all harts run and finish");
	u64 late = smp_run(NHARTS, run, 0, MS(30000));
	if (!CHECK_EQ(late, 0))
		rt_printf("  harts that did not finish: mask 0x%lx\n", late);
	vm_off();
	rt_exc_hook = 0;
	CHECK_EQ(broken, 0);
	CHECK_EQ(other_traps, 0);
	CHECK_EQ(rfence_err, 0);

	int shown = 0;
	u64 stale[KINDS] = { 0 };
	for (u64 h = 0; h < NHARTS; h++) {
		rt_section("P readable before the change");
		CHECK_EQ(warm_bad[h], 0);
		for (u32 r = 1; r <= ROUNDS; r++) {
			int kind = (int)(r % KINDS), nw = !(r & 1);
			u64 want = (kind == UNMAP_RANGE || kind == UNMAP_ALL) ? FAULTED : value(r, nw);
			if (seen[h][r] == want)
				continue;
			stale[kind]++;
			if (shown++ < 8)
				rt_printf("  hart %lu round %u (%s): read 0x%lx, want 0x%lx\n", h, r,
					  kind_name[kind], seen[h][r], want);
		}
	}
	for (int k = 0; k < KINDS; k++) {
		rt_section(kind_name[k]);
		CHECK_EQ(stale[k], 0);
	}
	u64 nf = 0;
	for (int h = 0; h < NHARTS; h++)
		nf += faults[h];
	rt_printf("sbi-tlb: %lu page faults taken, %lu ms\n", nf, (rt_time() - t0) / MS(1));
	return rt_result();
}
