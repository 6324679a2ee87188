/* The KVM sandbox for x86-64 programs: builds long-mode state directly
 * (no guest kernel), starts the vCPU in ring 3 at the program's entry and
 * serves its exits.  On kvm_pvm hosts (../shared/KVM-PVM-NOTES.md) ring 0
 * is emulated and slow while ring 3 runs natively, and a ring-3 `syscall`
 * jumps to LSTAR without a privilege change: so LSTAR is a user page
 * whose one store to an unbacked guest-physical address exits
 * (KVM_EXIT_MMIO); the VMM serves the call and resumes at RCX with
 * R11's flags, as sysret would.  Exceptions go through the IDT to ring-0
 * stubs that report the vector by `out` (KVM_EXIT_IO); every fault ends
 * the program with the signal Linux would send (Intel SDM vol. 3 §6.15;
 * arch/x86/kernel/traps.c for the mapping). */
#include "kvm_int.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PTE_P  1ULL
#define PTE_W  2ULL
#define PTE_U  4ULL
#define PTE_PS 0x80ULL
#define PTE_NX (1ULL << 63)

static uint64_t *pt_at(struct kx *k, uint64_t off)
{
	return (uint64_t *)(k->mem + k->sys + off);
}

/* Page-table flags of a 4 KiB page of the ELF chunk: its segment's
 * permissions; pages outside every segment are ordinary RW memory. */
static uint64_t seg_flags(const struct exec_elf *e, uint64_t base, uint64_t va)
{
	uint64_t f = PTE_P | PTE_U | PTE_W;
	bool in = false;
	int prot = 0;
	for (unsigned i = 0; i < e->nseg; i++) {
		uint64_t lo = (base + e->seg[i].vaddr) & ~(KX_PAGE - 1);
		uint64_t hi = (base + e->seg[i].vaddr + e->seg[i].memsz +
			       KX_PAGE - 1) & ~(KX_PAGE - 1);
		if (va >= lo && va < hi) {
			in = true;
			prot |= e->seg[i].prot;   /* shared boundary page */
		}
	}
	if (!in)
		return f;
	f = PTE_P | PTE_U;
	if (prot & EXEC_PROT_W)
		f |= PTE_W;
	if (!(prot & EXEC_PROT_X))
		f |= PTE_NX;
	return f;
}

static int build_tables(struct kx *k, const struct exec_elf *e, uint64_t base,
			struct err *errp)
{
	uint64_t *pml4 = pt_at(k, KX_PML4), *pdpt = pt_at(k, KX_PDPT);
	uint64_t S = k->sys;
	uint64_t elo = (base + e->lo) & ~(KX_2M - 1);
	uint64_t ehi = (base + e->hi + KX_2M - 1) & ~(KX_2M - 1);
	unsigned npt = 0;

	pml4[0] = (S + KX_PDPT) | PTE_P | PTE_W | PTE_U;
	for (unsigned g = 0; g < 4; g++)
		pdpt[g] = (S + KX_PD + g * KX_PAGE) | PTE_P | PTE_W | PTE_U;
	uint64_t *pd = pt_at(k, KX_PD);
	for (uint64_t c = KX_2M; c < S; c += KX_2M) {
		if (c == k->stack_lo - KX_2M)
			continue;              /* the stack guard gap */
		if (c >= elo && c < ehi) {
			if (npt == KX_NPT)
				return err_set(errp, ENOEXEC, "program too "
					       "large (over %u MiB)", KX_NPT * 2);
			uint64_t off = KX_PTPOOL + npt++ * KX_PAGE;
			uint64_t *pt = pt_at(k, off);
			for (unsigned i = 0; i < 512; i++) {
				uint64_t va = c + i * KX_PAGE;
				pt[i] = va | seg_flags(e, base, va);
			}
			pd[c / KX_2M] = (S + off) | PTE_P | PTE_W | PTE_U;
		} else {
			pd[c / KX_2M] = c | PTE_P | PTE_W | PTE_U | PTE_PS;
		}
	}
	/* The system chunk: supervisor pages but for the entry page. */
	uint64_t *pt = pt_at(k, KX_PTSYS);
	for (unsigned i = 0; i < 512; i++)
		pt[i] = (S + i * KX_PAGE) | PTE_P | PTE_W | PTE_NX;
	pt[KX_ENTRY / KX_PAGE] = (S + KX_ENTRY) | PTE_P | PTE_U;
	pt[KX_DOOR / KX_PAGE] = KX_DOOR_GPA | PTE_P | PTE_W | PTE_U | PTE_NX;
	pt[KX_STUBS / KX_PAGE] = (S + KX_STUBS) | PTE_P;
	pd[S / KX_2M] = (S + KX_PTSYS) | PTE_P | PTE_W | PTE_U;
	return 0;
}

static void build_entry(struct kx *k);

static bool has_errcode(unsigned v)
{
	return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 ||
	       v == 29 || v == 30;
}

/* GDT {0x08 k-code, 0x10 k-data, 0x18 u32-code, 0x20 u-data, 0x28
 * u64-code, 0x30 TSS}, the TSS with the ring-0 stack, an IDT whose 32
 * exception gates lead to 16-byte stubs pushing (error code, vector)
 * then `out` to the fault port, and the syscall entry page. */
static void build_sys(struct kx *k)
{
	uint64_t S = k->sys;
	uint64_t *gdt = pt_at(k, KX_GDT);
	gdt[1] = 0x00af9b000000ffffULL;
	gdt[2] = 0x00cf93000000ffffULL;
	gdt[3] = 0x00cffb000000ffffULL;
	gdt[4] = 0x00cff3000000ffffULL;
	gdt[5] = 0x00affb000000ffffULL;
	uint64_t tss = S + KX_TSS;
	gdt[6] = 0x67 | ((tss & 0xffffff) << 16) | (0x89ULL << 40) |
		 (((tss >> 24) & 0xff) << 56);
	gdt[7] = tss >> 32;
	uint8_t *t = k->mem + tss;
	uint64_t rsp0 = S + KX_STK0;
	memcpy(t + 4, &rsp0, 8);
	uint16_t iomap = 0x68;
	memcpy(t + 0x66, &iomap, 2);

	uint8_t *stubs = k->mem + S + KX_STUBS;
	uint64_t common = S + KX_STUBS + 32 * 16;
	uint8_t *idt = k->mem + S + KX_IDT;
	for (unsigned v = 0; v < 32; v++) {
		uint8_t *c = stubs + v * 16;
		unsigned n = 0;
		if (!has_errcode(v)) {
			c[n++] = 0x6a; c[n++] = 0;          /* push $0 */
		}
		c[n++] = 0x6a; c[n++] = (uint8_t)v;         /* push $v */
		c[n++] = 0xe9;                              /* jmp common */
		int32_t rel = (int32_t)(common - (S + KX_STUBS + v * 16 + n + 4));
		memcpy(c + n, &rel, 4);
		uint64_t h = S + KX_STUBS + v * 16;
		uint8_t *g = idt + v * 16;
		memset(g, 0, 16);
		g[0] = h & 0xff; g[1] = (h >> 8) & 0xff;
		g[2] = 0x08; g[3] = 0;
		/* int3 and into may be raised from ring 3 (DPL 3). */
		g[5] = (v == 3 || v == 4) ? 0xee : 0x8e;
		g[6] = (h >> 16) & 0xff; g[7] = (h >> 24) & 0xff;
		uint32_t hi = (uint32_t)(h >> 32);
		memcpy(g + 8, &hi, 4);
	}
	uint8_t *cm = k->mem + common;
	cm[0] = 0xe6; cm[1] = KX_FAULT_PORT;   /* out %al, $port */
	cm[2] = 0xf4;                          /* hlt */
	cm[3] = 0xeb; cm[4] = 0xfb;            /* jmp . - 3 */

	build_entry(k);
}

/* The syscall entry page (LSTAR), run in ring 3.  Calls whose answer
 * never changes while the program runs (getpid and the ids) are answered
 * here without an exit, returning as sysret would (flags from R11: popfq
 * cannot set IF or IOPL in ring 3, which is why SFMASK leaves IF alone);
 * every other call stores to the doorbell page, an MMIO exit to the VMM:
 *
 *   KX_ENTRY+0:   push %r11; popfq; jmp *%rcx
 *   KX_ENTRY+16:  cmp $nr, %rax; jne 1f; mov $val, %eax; jmp KX_ENTRY
 *              1: ... once per answered call
 *                 movb $0, door(%rip); ud2 */
static void build_entry(struct kx *k)
{
	uint8_t *en = k->mem + k->sys + KX_ENTRY;
	const uint32_t fixed[][2] = {
		{ 39, (uint32_t)getpid() }, { 186, (uint32_t)getpid() },
		{ 102, getuid() }, { 107, geteuid() }, { 104, getgid() },
		{ 108, getegid() },
	};
	static const uint8_t ret[] = { 0x41, 0x53, 0x9d, 0xff, 0xe1 };
	memcpy(en, ret, sizeof(ret));
	unsigned n = KX_SHIM;
	for (unsigned i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		en[n++] = 0x48; en[n++] = 0x3d;
		memcpy(en + n, &fixed[i][0], 4);
		n += 4;
		en[n++] = 0x75; en[n++] = 7;
		en[n++] = 0xb8;
		memcpy(en + n, &fixed[i][1], 4);
		n += 4;
		en[n++] = 0xeb;
		en[n] = (uint8_t)(int8_t)(0 - (int)(n + 1));
		n++;
	}
	int32_t d = (int32_t)(KX_DOOR - (KX_ENTRY + n + 7));
	en[n++] = 0xc6; en[n++] = 0x05;
	memcpy(en + n, &d, 4);
	n += 4;
	en[n++] = 0;
	en[n++] = 0x0f; en[n++] = 0x0b;
}

static int setup_cpu(struct kx *k, uint64_t rsp, struct err *errp)
{
	struct kvm_sregs sr;
	if (ioctl(k->vcpu, KVM_GET_SREGS, &sr))
		return err_sys(errp, errno, "KVM_GET_SREGS");
	struct kvm_segment code = { .base = 0, .limit = 0xffffffff,
		.selector = 0x2b, .type = 0xb, .present = 1, .dpl = 3, .s = 1,
		.l = 1, .g = 1 };
	struct kvm_segment data = { .base = 0, .limit = 0xffffffff,
		.selector = 0x23, .type = 0x3, .present = 1, .dpl = 3, .s = 1,
		.db = 1, .g = 1 };
	sr.cs = k->ucs = code;
	sr.ss = sr.ds = sr.es = sr.fs = sr.gs = k->uss = data;
	sr.tr = (struct kvm_segment){ .base = k->sys + KX_TSS, .limit = 0x67,
		.selector = 0x30, .type = 0xb, .present = 1 };
	sr.ldt = (struct kvm_segment){ .selector = 0, .type = 2, .present = 1,
		.unusable = 1 };
	sr.gdt.base = k->sys + KX_GDT;
	sr.gdt.limit = 8 * 8 - 1;
	sr.idt.base = k->sys + KX_IDT;
	sr.idt.limit = 32 * 16 - 1;
	sr.cr0 = 0x80050033;
	sr.cr3 = k->sys + KX_PML4;
	sr.cr4 = 0x620 | 0x40000;     /* PAE, OSFXSR, OSXMMEXCPT, OSXSAVE */
	sr.efer = 0xd01;              /* SCE, LME, LMA, NXE */
	if (ioctl(k->vcpu, KVM_SET_SREGS, &sr)) {
		/* Without XSAVE the program still runs (no AVX). */
		sr.cr4 = 0x620;
		if (ioctl(k->vcpu, KVM_SET_SREGS, &sr))
			return err_sys(errp, errno, "KVM_SET_SREGS");
	} else {
		struct kvm_xcrs x = { .nr_xcrs = 1 };
		x.xcrs[0].xcr = 0;
		x.xcrs[0].value = 7;   /* x87, SSE, AVX */
		if (ioctl(k->vcpu, KVM_SET_XCRS, &x)) {
			x.xcrs[0].value = 3;
			(void)ioctl(k->vcpu, KVM_SET_XCRS, &x);
		}
	}
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[3];
	} m = { .h.nmsrs = 3 };
	m.e[0] = (struct kvm_msr_entry){ .index = 0xc0000081,
		.data = 0x0018000800000000ULL };                 /* STAR */
	m.e[1] = (struct kvm_msr_entry){ .index = 0xc0000082,
		.data = k->sys + KX_ENTRY + KX_SHIM };           /* LSTAR */
	/* SFMASK: TF, DF, IOPL, NT, AC; not IF (see build_entry). */
	m.e[2] = (struct kvm_msr_entry){ .index = 0xc0000084,
		.data = 0x47500 };
	if (ioctl(k->vcpu, KVM_SET_MSRS, &m) != 3)
		return err_set(errp, EIO, "KVM_SET_MSRS refused the syscall MSRs");
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	if (ioctl(k->vcpu, KVM_SET_FPU, &fpu))
		return err_sys(errp, errno, "KVM_SET_FPU");
	struct kvm_regs rg = { .rip = k->start, .rsp = rsp, .rflags = 0x202 };
	if (ioctl(k->vcpu, KVM_SET_REGS, &rg))
		return err_sys(errp, errno, "KVM_SET_REGS");
	return 0;
}

static int setup_cpuid(struct kx *k, struct err *errp)
{
	size_t n = 256;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
	if (!c)
		return err_set(errp, ENOMEM, "out of memory");
	c->nent = (uint32_t)n;
	int r = 0;
	if (ioctl(k->kvm, KVM_GET_SUPPORTED_CPUID, c) ||
	    ioctl(k->vcpu, KVM_SET_CPUID2, c))
		r = err_sys(errp, errno, "KVM CPUID set-up");
	free(c);
	return r;
}

static int vm_create(struct kx *k, struct err *errp)
{
	k->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (k->kvm < 0)
		return err_sys(errp, ENODEV, "/dev/kvm: %s", strerror(errno));
	k->vm = ioctl(k->kvm, KVM_CREATE_VM, 0);
	if (k->vm < 0)
		return err_set(errp, ENODEV, "KVM_CREATE_VM: %s", strerror(errno));
	k->mem = mmap(NULL, k->size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (k->mem == MAP_FAILED) {
		k->mem = NULL;
		return err_sys(errp, errno, "guest memory");
	}
	struct kvm_userspace_memory_region reg = { .slot = 0,
		.guest_phys_addr = 0, .memory_size = k->size,
		.userspace_addr = (uint64_t)(uintptr_t)k->mem };
	if (ioctl(k->vm, KVM_SET_USER_MEMORY_REGION, &reg))
		return err_sys(errp, errno, "KVM_SET_USER_MEMORY_REGION");
	k->vcpu = ioctl(k->vm, KVM_CREATE_VCPU, 0);
	if (k->vcpu < 0)
		return err_sys(errp, errno, "KVM_CREATE_VCPU");
	int sz = ioctl(k->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz <= 0)
		return err_sys(errp, errno, "KVM_GET_VCPU_MMAP_SIZE");
	k->run_size = (size_t)sz;
	k->run = mmap(NULL, k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      k->vcpu, 0);
	if (k->run == MAP_FAILED) {
		k->run = NULL;
		return err_sys(errp, errno, "vcpu mmap");
	}
	return 0;
}

int kx_set_fs(struct kx *k, uint64_t base)
{
	struct kvm_sregs sr;
	/* KVM_SET_SREGS does not touch the general registers, but a
	 * pending sync-regs write must not be lost: KVM_SET_REGS first. */
	if (k->sync && k->run->kvm_dirty_regs) {
		if (ioctl(k->vcpu, KVM_SET_REGS, &k->run->s.regs.regs))
			return -errno;
		k->run->kvm_dirty_regs = 0;
	}
	if (ioctl(k->vcpu, KVM_GET_SREGS, &sr))
		return -errno;
	sr.fs.base = base;
	return ioctl(k->vcpu, KVM_SET_SREGS, &sr) ? -errno : 0;
}

int kx_get_fs(struct kx *k, uint64_t *base)
{
	struct kvm_sregs sr;
	if (ioctl(k->vcpu, KVM_GET_SREGS, &sr))
		return -errno;
	*base = sr.fs.base;
	return 0;
}

/* The signal Linux sends for exception vector v. */
static int fault_signal(unsigned v)
{
	switch (v) {
	case 0: case 7: case 16: case 19: return SIGFPE;
	case 1: case 3: return SIGTRAP;
	case 6: return SIGILL;
	case 11: case 12: case 17: return SIGBUS;
	default: return SIGSEGV;
	}
}

/* A fault: run the program's handler, or end it (returns the signal;
 * 0 when a handler runs). */
static int fault(struct kx *k)
{
	struct kvm_regs rg;
	struct kvm_sregs sr = { 0 };
	uint64_t fr[7] = { 0 };
	if (!ioctl(k->vcpu, KVM_GET_REGS, &rg) &&
	    !ioctl(k->vcpu, KVM_GET_SREGS, &sr) &&
	    rg.rsp >= k->sys && rg.rsp + sizeof(fr) <= k->sys + KX_STK0) {
		memcpy(fr, k->mem + rg.rsp, sizeof(fr));
		if (k->cfg->verbose)
			fprintf(stderr, "ringvm exec: vector %llu error %#llx "
				"at rip %#llx (cr2 %#llx)\n",
				(unsigned long long)fr[0],
				(unsigned long long)fr[1],
				(unsigned long long)fr[2],
				(unsigned long long)sr.cr2);
	}
	int sig = fault_signal((unsigned)fr[0]);
	/* A fault inside the stubs themselves (CS not ring 3) is ours. */
	if ((fr[3] & 3) != 3)
		return sig;
	rg.rip = fr[2];
	rg.rflags = fr[4];
	rg.rsp = fr[5];
	if (kx_deliver(k, sig, &rg, fr[0], fr[1], sr.cr2, true) &&
	    !ioctl(k->vcpu, KVM_SET_REGS, &rg))
		return 0;
	return sig;
}

static void do_syscall(struct kx *k)
{
	struct kvm_regs rg;
	/* Each vCPU ioctl costs a vcpu load/put (tens of µs on kvm_pvm):
	 * with KVM_CAP_SYNC_REGS the registers ride in the run struct. */
	if (k->sync)
		rg = k->run->s.regs.regs;
	else if (ioctl(k->vcpu, KVM_GET_REGS, &rg)) {
		k->exited = true;
		k->status = SIGKILL;
		return;
	}
	uint64_t a[6] = { rg.rdi, rg.rsi, rg.rdx, rg.r10, rg.r8, rg.r9 };
	if (rg.rax == 15) {            /* rt_sigreturn */
		if (kx_sigreturn(k, &rg)) {
			k->exited = true;
			k->status = SIGSEGV;
			return;
		}
		if (k->sync) {
			k->run->s.regs.regs = rg;
			k->run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
		} else if (ioctl(k->vcpu, KVM_SET_REGS, &rg)) {
			k->exited = true;
			k->status = SIGKILL;
		}
		return;
	}
	long r = kx_syscall(k, rg.rax, a);
	if (k->cfg->trace)
		fprintf(stderr, "[kvm] syscall %llu(%#llx, %#llx, %#llx) = %ld\n",
			(unsigned long long)rg.rax, (unsigned long long)a[0],
			(unsigned long long)a[1], (unsigned long long)a[2], r);
	if (k->exited)
		return;
	rg.rax = (uint64_t)r;
	rg.rip = rg.rcx;
	/* As sysret: the guest's R11 without IOPL, NT, VM; IF on. */
	rg.rflags = (rg.r11 & 0x3c7fd7ULL & ~0x7000ULL) | 0x202;
	uint64_t ready = k->pending & ~k->sigmask;
	if (ready) {
		int sig = __builtin_ctzll(ready) + 1;
		k->pending &= ~(1ULL << (sig - 1));
		if (k->sa[sig].handler == 1) {
			/* ignored meanwhile */
		} else if (!kx_deliver(k, sig, &rg, 0, 0, 0, false)) {
			k->exited = true;
			k->status = sig;
			return;
		}
	}
	if (k->sync) {
		k->run->s.regs.regs = rg;
		k->run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	} else if (ioctl(k->vcpu, KVM_SET_REGS, &rg)) {
		k->exited = true;
		k->status = SIGKILL;
	}
}

static void loop(struct kx *k)
{
	while (!k->exited) {
		if (k->sync)
			k->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
		if (ioctl(k->vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			k->exited = true;
			k->status = SIGKILL;
			break;
		}
		switch (k->run->exit_reason) {
		case KVM_EXIT_MMIO:
			if (k->run->mmio.phys_addr >= KX_DOOR_GPA &&
			    k->run->mmio.phys_addr < KX_DOOR_GPA + KX_PAGE &&
			    k->run->mmio.is_write) {
				do_syscall(k);
				break;
			}
			k->exited = true;
			k->status = SIGSEGV;
			break;
		case KVM_EXIT_IO: {
			int sig = fault(k);
			if (sig) {
				k->exited = true;
				k->status = sig;
			}
			break;
		}
		default:
			/* A triple fault (shutdown) or an internal error. */
			if (k->cfg->verbose)
				fprintf(stderr, "ringvm exec: KVM exit %u\n",
					k->run->exit_reason);
			k->exited = true;
			k->status = SIGSEGV;
			break;
		}
	}
}

static void kx_free(struct kx *k)
{
	if (k->argv != k->cfg->argv)
		free((void *)k->argv);
	if (k->run)
		munmap(k->run, k->run_size);
	if (k->mem)
		munmap(k->mem, k->size);
	if (k->vcpu >= 0)
		close(k->vcpu);
	if (k->vm >= 0)
		close(k->vm);
	if (k->kvm >= 0)
		close(k->kvm);
	free(k->bitmap);
	fs_free(&k->fs);
}

int exec_kvm_run(const struct exec_config *cfg, int *status,
		 struct err *errp)
{
	struct kx *k = calloc(1, sizeof(*k));
	if (!k)
		return err_set(errp, ENOMEM, "out of memory");
	k->cfg = cfg;
	k->kvm = k->vm = k->vcpu = -1;
	k->fs.root_fd = -1;
	uint64_t size = cfg->mem;
	if (size < (64ULL << 20))
		size = 64ULL << 20;
	if (size > KX_MEM_MAX)
		size = KX_MEM_MAX;
	k->size = size & ~(KX_2M - 1);
	k->sys = k->size - KX_2M;
	k->path = cfg->path;
	k->argv = cfg->argv;
	struct exec_elf *e = calloc(1, sizeof(*e));
	uint64_t base = 0, rsp = 0;
	int r = e ? 0 : err_set(errp, ENOMEM, "out of memory");
	if (!r)
		r = fs_init(&k->fs, cfg, errp);
	if (!r)
		r = kx_shebang(k, errp);
	snprintf(k->exe, sizeof(k->exe), "%s", k->path);
	/* /proc/self/exe is absolute (glibc's static startup insists). */
	char cwd[2048];
	if (!r && k->path[0] != '/' && !fs_getcwd(&k->fs, cwd, sizeof(cwd)))
		snprintf(k->exe_abs, sizeof(k->exe_abs), "%s/%s",
			 strcmp(cwd, "/") ? cwd : "", k->path);
	else
		snprintf(k->exe_abs, sizeof(k->exe_abs), "%s", k->path);
	if (!r)
		r = vm_create(k, errp);
	if (!r)
		r = kx_load(k, e, &base, errp);
	if (!r)
		r = build_tables(k, e, base, errp);
	if (!r) {
		build_sys(k);
		r = kx_build_stack(k, &rsp, errp);
	}
	if (!r)
		r = setup_cpuid(k, errp);
	if (!r)
		r = setup_cpu(k, rsp, errp);
	free(e);
	e = NULL;
	/* KVM_CHECK_EXTENSION is not in the filter: ask before. */
	if (!r)
		k->sync = ioctl(k->kvm, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) &
			  KVM_SYNC_X86_REGS;
	if (!r)
		r = kx_seccomp(k, errp);
	if (!r) {
		loop(k);
		*status = k->status;
	}
	kx_free(k);
	free(k);
	return r;
}
