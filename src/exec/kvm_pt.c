/* The KVM sandbox's page tables (kvm_int.h: struct kx_pt).
 *
 * Before the vCPUs start, the VMM writes the tables directly.  After,
 * kvm_pvm runs the guest on KVM's shadow of them, which follows only
 * writes the guest makes itself (write-protected tables, emulated
 * stores, remote TLB flushes): an entry the VMM stores through its own
 * mapping into a table the guest has walked is never seen.  So a change
 * is made in two halves:
 *   - here, under k->lock, the new entries are computed against the
 *     VMM's copy of the tables; a table page that was never linked
 *     (never walked, never shadowed) is filled directly, and the writes
 *     to live entries (the PDE linking a new table, PTEs of tables
 *     already in use) are queued in the calling vCPU's edit page as
 *     runs {address, value, count, step};
 *   - the system call then returns through an int3 in the entry page,
 *     whose ring-0 stub (below) stores the runs, reloads CR3 and irets
 *     to the real return address.  Its stores are the guest's
 *     own, so KVM updates the shadow and flushes the other vCPUs' TLBs.
 * Two vCPUs' queues must not race on one entry (the later store would
 * not be the later change): kx_pt_lock waits until no other vCPU has
 * edits queued before a change is computed.
 *
 * A chunk needing 4 KiB pages takes a pool table, kept by that chunk for
 * good (a table KVM may still shadow must not be filled directly, nor
 * serve another chunk).  When the pool is out, the chunk stays one
 * 2 MiB page, mapped read/write/execute: permissions are not applied
 * there (said once with --verbose). */
#include "kvm_int.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PTE_P   1ULL
#define PTE_W   2ULL
#define PTE_U   4ULL
#define PTE_PS  0x80ULL
#define PTE_MAP (1ULL << 9)    /* software: mapped (PROT_NONE: this, no P) */
#define PTE_NX  (1ULL << 63)
#define FLAGS   (PTE_P | PTE_W | PTE_U | PTE_MAP | PTE_NX)
#define LINK    (PTE_P | PTE_W | PTE_U)   /* a PDE pointing at a table */
#define RWX     (PTE_MAP | PTE_P | PTE_U | PTE_W)

_Static_assert(KX_CPU_AREA + KX_MAX_CPUS * KX_CPU_SIZE == KX_PTPOOL2,
	       "the second pool half follows the vCPU areas");
_Static_assert(KX_NPT < 32768, "slots fit int16_t");

uint64_t kx_pt_flags(int prot)
{
	if (!(prot & (PROT_READ | PROT_WRITE | PROT_EXEC)))
		return PTE_MAP;
	/* x86 pages are always readable when present: PROT_WRITE and
	 * PROT_EXEC imply read. */
	uint64_t f = PTE_MAP | PTE_P | PTE_U;
	if (prot & PROT_WRITE)
		f |= PTE_W;
	if (!(prot & PROT_EXEC))
		f |= PTE_NX;
	return f;
}

/* Offset in the system area of pool slot s. */
static uint64_t slot_off(unsigned s)
{
	unsigned first = (KX_CPU_AREA - KX_PTPOOL) / KX_PAGE;
	return s < first ? KX_PTPOOL + s * KX_PAGE :
	       KX_PTPOOL2 + (s - first) * KX_PAGE;
}

static uint64_t *sys_page(struct kx_pt *pt, uint64_t off)
{
	return (uint64_t *)(pt->mem + pt->sys + off);
}

/* What the MMU makes of an entry: nothing of an absent one. */
static uint64_t visible(uint64_t v)
{
	return v & PTE_P ? v : 0;
}

/* Records queued in edit page q: up to the first count of 0. */
static unsigned queued(const uint64_t *q)
{
	unsigned n = 0;
	while (n < KX_EDIT_MAX && q[KX_EDIT_REC + 4 * n + 2])
		n++;
	return n;
}

/* Store `count` entries from guest-physical `gpa` on (value + i * step):
 * directly before start, else as a record in edit page q (merged into
 * the previous one when it continues it).  -ENOMEM: q is full. */
static int emit(struct kx_pt *pt, uint64_t *q, uint64_t gpa, uint64_t value,
		uint64_t count, uint64_t step)
{
	if (!pt->started) {
		uint64_t *e = (uint64_t *)(pt->mem + gpa);
		for (uint64_t i = 0; i < count; i++)
			e[i] = value + i * step;
		return 0;
	}
	unsigned n = queued(q);
	uint64_t *r = q + KX_EDIT_REC + 4 * n;
	if (n && r[-4] + r[-2] * 8 == gpa && r[-1] == step &&
	    r[-3] + r[-2] * step == value) {
		r[-2] += count;
		return 0;
	}
	if (n == KX_EDIT_MAX)
		return -ENOMEM;
	r[0] = gpa;
	r[1] = value;
	r[3] = step;
	r[6] = 0;            /* the end, before the record counts */
	r[2] = count;
	return 0;
}

static int set_pde(struct kx_pt *pt, unsigned ch, uint64_t v, uint64_t *q)
{
	uint64_t old = pt->pd[ch];
	pt->pd[ch] = v;
	if (visible(old) == visible(v))
		return 0;
	return emit(pt, q, pt->sys + KX_PD + ch * 8ULL, v, 1, KX_2M);
}

/* Entries [a, b) of slot s (chunk ch) get flags f: one run. */
static int set_ptes(struct kx_pt *pt, unsigned s, unsigned ch, unsigned a,
		    unsigned b, uint64_t f, uint64_t *q)
{
	uint64_t base = (uint64_t)ch * KX_2M;
	bool change = false;
	for (unsigned i = a; i < b; i++) {
		uint64_t v = (base + i * KX_PAGE) | f;
		change |= visible(pt->tab[s][i]) != visible(v);
		pt->tab[s][i] = v;
	}
	if (!change)
		return 0;
	return emit(pt, q, pt->sys + slot_off(s) + a * 8ULL,
		    (base + a * KX_PAGE) | f, b - a, KX_PAGE);
}

/* Chunk ch needs 4 KiB pages: its table (new or its old one) holding
 * the 2 MiB page's flags lf but for [a, b), which get f; then linked. */
static int split(struct kx_pt *pt, unsigned ch, int s, unsigned a, unsigned b,
		 uint64_t lf, uint64_t f, uint64_t *q)
{
	uint64_t base = (uint64_t)ch * KX_2M;
	for (unsigned i = 0; i < 512; i++)
		pt->tab[s][i] = (base + i * KX_PAGE) | (i >= a && i < b ? f : lf);
	int r = 0;
	if (!pt->walked[s] || !pt->started) {
		/* Never linked: KVM has no shadow of it to keep in step. */
		memcpy(sys_page(pt, slot_off(s)), pt->tab[s], KX_PAGE);
	} else {
		/* Its old contents may still be shadowed: every entry is
		 * stored by the guest again (three runs at most). */
		uint64_t t = pt->sys + slot_off(s);
		if (a > 0)
			r = emit(pt, q, t, base | lf, a, KX_PAGE);
		if (!r)
			r = emit(pt, q, t + a * 8ULL, (base + a * KX_PAGE) | f,
				 b - a, KX_PAGE);
		if (!r && b < 512)
			r = emit(pt, q, t + b * 8ULL, (base + b * KX_PAGE) | lf,
				 512 - b, KX_PAGE);
	}
	pt->walked[s] = true;
	return r ? r : set_pde(pt, ch, (pt->sys + slot_off(s)) | LINK, q);
}

/* No table for chunk ch, whose 2 MiB entry is old, when part of it
 * should get f.  Absent before and after: it stays so (mapped if any
 * part is).  Else it becomes one page anybody may read, write and run,
 * as before permissions were applied. */
static int fallback(struct kx_pt *pt, unsigned ch, uint64_t old, uint64_t f,
		    uint64_t *q)
{
	if (!(old & PTE_P) && !(f & PTE_P))
		return set_pde(pt, ch, old | f, q);
	if (pt->verbose && !pt->said) {
		pt->said = true;
		fprintf(stderr, "ringvm exec: page-table pool exhausted (%u "
			"tables): permissions not applied in some 2 MiB "
			"chunks\n", (unsigned)KX_NPT);
	}
	return set_pde(pt, ch, ((uint64_t)ch * KX_2M) | PTE_PS | RWX, q);
}

/* Pages [a, b) of chunk ch get flags f. */
static int set_chunk(struct kx_pt *pt, unsigned ch, unsigned a, unsigned b,
		     uint64_t f, uint64_t *q)
{
	uint64_t old = pt->pd[ch];
	if (a == 0 && b == 512) {
		/* A table of a chunk that turns into one page stays its own:
		 * a later split takes it back. */
		return set_pde(pt, ch, ((uint64_t)ch * KX_2M) | PTE_PS | f, q);
	}
	if (!(old & PTE_PS))
		return set_ptes(pt, (unsigned)pt->slot[ch], ch, a, b, f, q);
	if ((old & FLAGS) == f)
		return 0;
	int s = pt->slot[ch];
	if (s < 0 && pt->next < KX_NPT)
		s = pt->slot[ch] = (int16_t)pt->next++;
	if (s < 0)
		return fallback(pt, ch, old, f, q);
	return split(pt, ch, s, a, b, old & FLAGS, f, q);
}

/* Records a chunk's change may queue: a split of a walked table (three
 * runs and the PDE). */
#define CHUNK_RECS 4

int kx_pt_set(struct kx_pt *pt, uint64_t va, uint64_t len, uint64_t f,
	      uint64_t *q)
{
	if ((va | len) & (KX_PAGE - 1) || va < KX_2M || va > pt->sys ||
	    len > pt->sys - va || (f & ~FLAGS) || (pt->started && !q))
		return -EINVAL;
	for (uint64_t end = va + len; va < end;) {
		unsigned ch = (unsigned)(va / KX_2M);
		uint64_t cend = ((uint64_t)ch + 1) * KX_2M;
		uint64_t to = end < cend ? end : cend;
		if (pt->started && queued(q) + CHUNK_RECS > KX_EDIT_MAX)
			return -ENOMEM;
		int r = set_chunk(pt, ch, (unsigned)(va % KX_2M / KX_PAGE),
				  (unsigned)((to - 1) % KX_2M / KX_PAGE) + 1, f, q);
		if (r)
			return r;
		va = to;
	}
	return 0;
}

/* The entry mapping page va as the VMM means it. */
static uint64_t entry(const struct kx_pt *pt, uint64_t va)
{
	unsigned ch = (unsigned)(va / KX_2M);
	uint64_t d = pt->pd[ch];
	if (d & PTE_PS)
		return d;
	return pt->tab[pt->slot[ch]][va % KX_2M / KX_PAGE];
}

bool kx_pt_mapped(const struct kx_pt *pt, uint64_t va, uint64_t len)
{
	if (va < KX_2M || va > pt->sys || len > pt->sys - va)
		return false;
	for (uint64_t a = va & ~(KX_PAGE - 1); a < va + len; a += KX_PAGE)
		if (!(entry(pt, a) & PTE_MAP))
			return false;
	return true;
}

uint64_t kx_pt_get(const struct kx_pt *pt, uint64_t va)
{
	if (va < KX_2M || va >= pt->sys)
		return 0;
	uint64_t e = entry(pt, va);
	return e & PTE_MAP ? e & FLAGS : 0;
}

int kx_pt_init(struct kx_pt *pt, uint8_t *mem, uint64_t sys, bool verbose)
{
	if (sys % KX_2M || sys / KX_2M >= 2048)
		return -EINVAL;
	memset(pt, 0, sizeof(*pt));
	pt->tab = calloc(KX_NPT, sizeof(*pt->tab));
	if (!pt->tab)
		return -ENOMEM;
	pt->mem = mem;
	pt->sys = sys;
	pt->verbose = verbose;
	for (unsigned i = 0; i < 2048; i++) {
		pt->slot[i] = -1;
		pt->pd[i] = ((uint64_t)i * KX_2M) | PTE_PS;
	}
	uint64_t *pml4 = sys_page(pt, KX_PML4), *pdpt = sys_page(pt, KX_PDPT);
	pml4[0] = (sys + KX_PDPT) | LINK;
	for (unsigned g = 0; g < 4; g++)
		pdpt[g] = (sys + KX_PD + g * KX_PAGE) | LINK;
	/* The system chunk: supervisor pages but for the entry page (user,
	 * read and execute) and the doorbell (user, write: the MMIO exit);
	 * outside every range kx_pt_set accepts. */
	uint64_t *t = sys_page(pt, KX_PTSYS);
	for (unsigned i = 0; i < 512; i++)
		t[i] = (sys + i * KX_PAGE) | PTE_P | PTE_W | PTE_NX;
	t[KX_ENTRY / KX_PAGE] = (sys + KX_ENTRY) | PTE_P | PTE_U;
	t[KX_TIME / KX_PAGE] = (sys + KX_TIME) | PTE_P | PTE_U | PTE_NX;
	t[KX_VDSO / KX_PAGE] = (sys + KX_VDSO) | PTE_P | PTE_U;
	for (unsigned i = 0; i < 2; i++)       /* the I/O queue's slots */
		t[KX_IOQ / KX_PAGE + i] = (sys + KX_IOQ + i * KX_PAGE) |
					 PTE_P | PTE_W | PTE_U | PTE_NX;
	t[KX_DOOR / KX_PAGE] = KX_DOOR_GPA | PTE_P | PTE_W | PTE_U | PTE_NX;
	t[KX_STUBS / KX_PAGE] = (sys + KX_STUBS) | PTE_P;
	pt->pd[sys / KX_2M] = (sys + KX_PTSYS) | LINK;
	memcpy(sys_page(pt, KX_PD), pt->pd, sizeof(pt->pd));
	return 0;
}

void kx_pt_start(struct kx_pt *pt)
{
	pt->started = true;
}

void kx_pt_free(struct kx_pt *pt)
{
	free(pt->tab);
	pt->tab = NULL;
}

/* ---- the vCPU side ---- */

uint64_t *kx_edits(struct kx_cpu *c)
{
	struct kx *k = c->k;
	return (uint64_t *)(k->mem + k->sys + KX_CPU_AREA +
			    c->idx * KX_CPU_SIZE + KX_CPU_EDIT);
}

static bool others_queued(struct kx_cpu *c)
{
	struct kx *k = c->k;
	for (unsigned i = 0; i < KX_MAX_CPUS; i++) {
		struct kx_cpu *o = k->cpu[i];
		if (o && o != c &&
		    __atomic_load_n(&kx_edits(o)[KX_EDIT_REC + 2],
				    __ATOMIC_ACQUIRE))
			return true;
	}
	return false;
}

void kx_pt_lock(struct kx_cpu *c)
{
	struct kx *k = c->k;
	for (;;) {
		pthread_mutex_lock(&k->lock);
		/* Queues only grow under the lock, and the vCPU owning one
		 * runs its stub next (tens of µs). */
		if (!others_queued(c) || atomic_load(&k->exited))
			return;
		pthread_mutex_unlock(&k->lock);
		sched_yield();
	}
}

void kx_pt_route(struct kx_cpu *c, struct kvm_regs *rg)
{
	uint64_t *q = kx_edits(c);
	if (!q[KX_EDIT_REC + 2])
		return;
	q[KX_EDIT_RIP] = rg->rip;
	q[KX_EDIT_FLAGS] = rg->rflags;
	rg->rip = c->k->sys + KX_ENTRY + KX_EDIT_INT;
	rg->rflags = 0x202;
}

bool kx_pt_defer(struct kx_cpu *c, const struct kvm_regs *rg)
{
	uint64_t *q = kx_edits(c);
	uint64_t at = c->k->sys + KX_ENTRY + KX_EDIT_INT;
	if ((rg->rip != at && rg->rip != at + 1) || !q[KX_EDIT_REC + 2])
		return false;
	if (!q[KX_EDIT_SIG_RIP]) {
		q[KX_EDIT_SIG_RIP] = q[KX_EDIT_RIP];
		q[KX_EDIT_SIG_FLAGS] = q[KX_EDIT_FLAGS];
		q[KX_EDIT_RIP] = c->k->sys + KX_ENTRY + KX_SIGEXIT;
		q[KX_EDIT_FLAGS] = 0x202;
	}
	return true;
}

bool kx_pt_resume(struct kx_cpu *c, struct kvm_regs *rg)
{
	uint64_t *q = kx_edits(c);
	if (!q[KX_EDIT_SIG_RIP])
		return false;
	/* rcx and r11 as the system call's return left them. */
	rg->rip = rg->rcx = q[KX_EDIT_SIG_RIP];
	rg->rflags = rg->r11 = q[KX_EDIT_SIG_FLAGS];
	q[KX_EDIT_SIG_RIP] = 0;
	return true;
}

/* The breakpoint gate's ring-0 code.  kvm_pvm lets ring 3 raise only
 * #BP, #OF and vector 0x80 by an instruction, and its emulator cannot
 * run `int n` in long mode: so the entry page's way into ring 0 is an
 * int3, told apart from the program's own by its return address (user
 * code lies below 4 GiB, so its low half is enough); any other goes on
 * to the #BP fault stub.  Ring 0 is emulated at ~1.8 µs an instruction
 * here, so the stub is short: no registers but rsi and rdi saved (rcx
 * and r11 are the system call's: they end as sysret leaves them, the
 * return RIP and RFLAGS), the edit page found from the ring-0 stack
 * pointer (an int from ring 3 starts at the TSS's, KX_CPU_STK0 in the
 * vCPU's area, with a 5-word frame):
 *
 *	cmpl $<return address>, (%rsp); jne <the #BP fault stub>
 *	push %rsi; push %rdi
 *	lea E + 32(%rsp), %rsi          E = KX_CPU_EDIT - KX_CPU_STK0 + 56
 *   1: mov 16(%rsi), %rcx; jrcxz 3f    a count of 0 ends the list
 *	mov (%rsi), %rdi; mov 8(%rsi), %r11
 *   2: mov %r11, (%rdi); add 24(%rsi), %r11; add $8, %rdi; loop 2b
 *	add $32, %rsi; jmp 1b
 *   3: movq $0, E + 48(%rsp)           done (the first record's count)
 *	mov %cr3, %rcx; mov %rcx, %cr3  this vCPU's TLB
 *	mov E + 8(%rsp), %rcx; mov %rcx, 16(%rsp)     iret frame: RIP
 *	mov E + 16(%rsp), %r11; mov %r11, 32(%rsp)    RFLAGS
 *	pop %rdi; pop %rsi; iretq
 *
 * A program jumping to the entry page's int3 finds no records and
 * returns to the last RIP and (sanitised) RFLAGS the VMM wrote, in
 * ring 3. */
static const uint8_t stub[] = {
	0x81, 0x3c, 0x24, 0, 0, 0, 0,             /* STUB_FROM */
	0x0f, 0x85, 0, 0, 0, 0,                   /* STUB_JMP */
	0x56, 0x57,
	0x48, 0x8d, 0xb4, 0x24, 0x58, 0xd0, 0xff, 0xff,
	0x48, 0x8b, 0x4e, 0x10,
	0xe3, 0x1a,
	0x48, 0x8b, 0x3e,
	0x4c, 0x8b, 0x5e, 0x08,
	0x4c, 0x89, 0x1f,
	0x4c, 0x03, 0x5e, 0x18,
	0x48, 0x83, 0xc7, 0x08,
	0xe2, 0xf3,
	0x48, 0x83, 0xc6, 0x20,
	0xeb, 0xe0,
	0x48, 0xc7, 0x84, 0x24, 0x68, 0xd0, 0xff, 0xff, 0, 0, 0, 0,
	0x0f, 0x20, 0xd9,
	0x0f, 0x22, 0xd9,
	0x48, 0x8b, 0x8c, 0x24, 0x40, 0xd0, 0xff, 0xff,
	0x48, 0x89, 0x4c, 0x24, 0x10,
	0x4c, 0x8b, 0x9c, 0x24, 0x48, 0xd0, 0xff, 0xff,
	0x4c, 0x89, 0x5c, 0x24, 0x20,
	0x5f, 0x5e,
	0x48, 0xcf,
};
#define STUB_FROM 3   /* imm32: the int3's return address */
#define STUB_JMP 9    /* rel32 to the #BP stub, from the next byte */
_Static_assert(KX_CPU_STK0 - KX_CPU_EDIT - 56 == 0x2fc8 &&
	       KX_EDIT_RIP == 1 && KX_EDIT_FLAGS == 2 && KX_EDIT_REC == 4,
	       "the stub's constants");
_Static_assert(sizeof(stub) <= KX_PAGE - KX_EDIT_STUB, "fits its page");

void kx_pt_write_stub(uint8_t *at, uint64_t gpa, uint64_t bp, uint64_t from)
{
	memcpy(at, stub, sizeof(stub));
	uint32_t f = (uint32_t)from;
	memcpy(at + STUB_FROM, &f, 4);
	int32_t rel = (int32_t)(bp - (gpa + STUB_JMP + 4));
	memcpy(at + STUB_JMP, &rel, 4);
}
