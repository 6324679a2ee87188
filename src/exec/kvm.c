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
#include <linux/futex.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


static bool has_errcode(unsigned v)
{
	return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 ||
	       v == 29 || v == 30;
}

/* vCPU idx's GDT {0x08 k-code, 0x10 k-data, 0x18 u32-code, 0x20 u-data,
 * 0x28 u64-code, 0x30 TSS} and its TSS with its own ring-0 stack: two
 * threads faulting at once must not share one. */
static void build_cpu_sys(struct kx *k, unsigned idx)
{
	uint64_t area = k->sys + KX_CPU_AREA + idx * KX_CPU_SIZE;
	uint64_t *gdt = (uint64_t *)(k->mem + area + KX_CPU_GDT);
	gdt[1] = 0x00af9b000000ffffULL;
	gdt[2] = 0x00cf93000000ffffULL;
	gdt[3] = 0x00cffb000000ffffULL;
	gdt[4] = 0x00cff3000000ffffULL;
	gdt[5] = 0x00affb000000ffffULL;
	uint64_t tss = area + KX_CPU_TSS;
	gdt[6] = 0x67 | ((tss & 0xffffff) << 16) | (0x89ULL << 40) |
		 (((tss >> 24) & 0xff) << 56);
	gdt[7] = tss >> 32;
	uint8_t *t = k->mem + tss;
	uint64_t rsp0 = area + KX_CPU_STK0;
	memcpy(t + 4, &rsp0, 8);
	uint16_t iomap = 0x68;
	memcpy(t + 0x66, &iomap, 2);
	/* A program jumping to the entry page's int3 before any system
	 * call returns to RIP 0 (a fault) with sane flags. */
	uint64_t *q = (uint64_t *)(k->mem + area + KX_CPU_EDIT);
	q[KX_EDIT_RIP] = 0;
	q[KX_EDIT_FLAGS] = 0x202;
	q[KX_EDIT_SIG_RIP] = 0;
	q[KX_EDIT_REC + 2] = 0;
}

/* An IDT whose 32 exception gates lead to 16-byte stubs pushing (error
 * code, vector) then `out` to the fault port (#BP through the edit
 * stub's check), and the syscall entry page. */
static void build_sys(struct kx *k)
{
	uint64_t S = k->sys;
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

	/* #BP also takes the entry page's int3 to the page-table edit
	 * stub (kvm_pt.c). */
	uint64_t h = S + KX_STUBS + KX_EDIT_STUB;
	kx_pt_write_stub(k->mem + h, h, S + KX_STUBS + 3 * 16,
			 S + KX_ENTRY + KX_EDIT_INT + 1);
	uint8_t *g = idt + 3 * 16;
	g[0] = h & 0xff; g[1] = (h >> 8) & 0xff;
	g[6] = (h >> 16) & 0xff; g[7] = (h >> 24) & 0xff;
	uint32_t hi = (uint32_t)(h >> 32);
	memcpy(g + 8, &hi, 4);

	kx_build_entry(k);
	k->vdso = kx_vdso_build(k);
}

/* The syscall entry page (LSTAR), run in ring 3.  Calls whose answer
 * never changes while the program runs (getpid and the ids) are answered
 * here without an exit, the clocks by kvm_shim.c's code from the time
 * page, returning as sysret would (flags from R11: popfq cannot set IF or
 * IOPL in ring 3, which is why SFMASK leaves IF alone; the push for it
 * goes below the 128-byte red zone, which a syscall must not touch);
 * every other call stores to the doorbell page, an MMIO exit to the VMM:
 *
 *   KX_ENTRY+0:    lea -128(%rsp),%rsp; push %r11; popfq;
 *                  lea 128(%rsp),%rsp; jmp *%rcx
 *   KX_ENTRY+24:   int3; ud2   (kx_pt_route returns here: kvm_pt.c)
 *   KX_ENTRY+32:   cmp $nr, %rax; jne 1f; mov $val, %eax; jmp KX_ENTRY
 *               1: ... once per answered call; jmp KX_ENTRY+0x100
 *   KX_ENTRY+0x80: movb $0, door(%rip); ud2
 *   KX_ENTRY+0x100: kvm_shim.c (clock_gettime, gettimeofday, time)
 *   KX_ENTRY+KX_SIGEXIT:  movb $0, door+KX_DOOR_SIG(%rip); ud2 */
void kx_build_entry(struct kx *k)
{
	uint8_t *en = k->mem + k->sys + KX_ENTRY;
	const uint32_t fixed[][2] = {
		{ 39, (uint32_t)getpid() },
		{ 102, getuid() }, { 107, geteuid() }, { 104, getgid() },
		{ 108, getegid() },
	};
	static const uint8_t ret[] = {
		0x48, 0x8d, 0x64, 0x24, 0x80,                    /* lea -128(%rsp),%rsp */
		0x41, 0x53, 0x9d,                                /* push %r11; popfq */
		0x48, 0x8d, 0xa4, 0x24, 0x80, 0x00, 0x00, 0x00,  /* lea 128(%rsp),%rsp */
		0xff, 0xe1,                                      /* jmp *%rcx */
	};
	_Static_assert(sizeof(ret) <= KX_SHIM, "entry return sequence");
	memcpy(en, ret, sizeof(ret));
	static const uint8_t edit[] = { 0xcc, 0x0f, 0x0b };
	memcpy(en + KX_EDIT_INT, edit, sizeof(edit));
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
	int32_t rel = (int32_t)(KX_SHIM_BLOB - (n + 5));
	en[n++] = 0xe9;                                  /* jmp blob */
	memcpy(en + n, &rel, 4);
	n = KX_SHIM_DOOR;
	int32_t d = (int32_t)(KX_DOOR - (KX_ENTRY + n + 7));
	en[n++] = 0xc6; en[n++] = 0x05;
	memcpy(en + n, &d, 4);
	n += 4;
	en[n++] = 0;
	en[n++] = 0x0f; en[n++] = 0x0b;
	memcpy(en + KX_SHIM_BLOB, kx_shim_start,
	       (size_t)(kx_shim_end - kx_shim_start));
	static const uint8_t probe[] = { 0x0f, 0x05, 0x0f, 0x0b };
	memcpy(en + KX_PROBE, probe, sizeof(probe));
	/* kx_pt_defer's way out: movb $0, door+KX_DOOR_SIG(%rip); ud2 */
	d = (int32_t)(KX_DOOR + KX_DOOR_SIG - (KX_ENTRY + KX_SIGEXIT + 7));
	n = KX_SIGEXIT;
	en[n++] = 0xc6; en[n++] = 0x05;
	memcpy(en + n, &d, 4);
	n += 4;
	en[n++] = 0;
	en[n++] = 0x0f; en[n++] = 0x0b;
}


/* KX_KICK makes a vCPU thread leave KVM_RUN or a blocking host call
 * (no SA_RESTART: the call returns EINTR).  Reserved: the program's own
 * handler for it is recorded but never reached from outside. */
static void kick_handler(int sig)
{
	(void)sig;
}

void kx_kick(struct kx_cpu *c)
{
	c->run->immediate_exit = 1;
	atomic_thread_fence(memory_order_seq_cst);
	if (c->tid > 0)
		syscall(SYS_tgkill, getpid(), c->tid, KX_KICK);
}

/* Ring-3 segments, this vCPU's GDT and TSS, paging. */
static void user_sregs(struct kx *k, unsigned idx, struct kvm_sregs *sr)
{
	struct kvm_segment code = { .base = 0, .limit = 0xffffffff,
		.selector = 0x2b, .type = 0xb, .present = 1, .dpl = 3, .s = 1,
		.l = 1, .g = 1 };
	struct kvm_segment data = { .base = 0, .limit = 0xffffffff,
		.selector = 0x23, .type = 0x3, .present = 1, .dpl = 3, .s = 1,
		.db = 1, .g = 1 };
	uint64_t area = k->sys + KX_CPU_AREA + idx * KX_CPU_SIZE;
	sr->cs = k->ucs = code;
	sr->ss = sr->ds = sr->es = sr->fs = sr->gs = k->uss = data;
	sr->tr = (struct kvm_segment){ .base = area + KX_CPU_TSS, .limit = 0x67,
		.selector = 0x30, .type = 0xb, .present = 1 };
	sr->ldt = (struct kvm_segment){ .selector = 0, .type = 2, .present = 1,
		.unusable = 1 };
	sr->gdt.base = area + KX_CPU_GDT;
	sr->gdt.limit = 8 * 8 - 1;
	sr->idt.base = k->sys + KX_IDT;
	sr->idt.limit = 32 * 16 - 1;
	sr->cr0 = 0x80050033;
	sr->cr3 = k->sys + KX_PML4;
	sr->cr4 = 0x620 | 0x40000;     /* PAE, OSFXSR, OSXMMEXCPT, OSXSAVE */
	sr->efer = 0xd01;              /* SCE, LME, LMA, NXE */
}

int kx_cpu_setup(struct kx_cpu *c, uint64_t fs, struct err *errp)
{
	struct kx *k = c->k;
	struct kvm_sregs sr;
	build_cpu_sys(k, c->idx);
	if (ioctl(c->fd, KVM_GET_SREGS, &sr))
		return err_sys(errp, errno, "KVM_GET_SREGS");
	user_sregs(k, c->idx, &sr);
	sr.fs.base = fs;
	/* GS (which x86-64 Linux programs leave alone) points at this
	 * vCPU's slot of the I/O queue, for the shim. */
	sr.gs.base = k->sys + KX_IOQ + c->idx * KX_IOQ_SLOT;
	if (ioctl(c->fd, KVM_SET_SREGS, &sr)) {
		/* Without XSAVE the program still runs (no AVX). */
		sr.cr4 = 0x620;
		if (ioctl(c->fd, KVM_SET_SREGS, &sr))
			return err_sys(errp, errno, "KVM_SET_SREGS");
	} else {
		struct kvm_xcrs x = { .nr_xcrs = 1 };
		x.xcrs[0].xcr = 0;
		x.xcrs[0].value = 7;   /* x87, SSE, AVX */
		if (ioctl(c->fd, KVM_SET_XCRS, &x)) {
			x.xcrs[0].value = 3;
			(void)ioctl(c->fd, KVM_SET_XCRS, &x);
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
	if (ioctl(c->fd, KVM_SET_MSRS, &m) != 3)
		return err_set(errp, EIO, "KVM_SET_MSRS refused the syscall MSRs");
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	if (ioctl(c->fd, KVM_SET_FPU, &fpu))
		return err_sys(errp, errno, "KVM_SET_FPU");
	return 0;
}

static int get_cpuid(struct kx *k, struct err *errp)
{
	size_t n = 256;
	k->cpuid = calloc(1, sizeof(*k->cpuid) + n * sizeof(k->cpuid->entries[0]));
	if (!k->cpuid)
		return err_set(errp, ENOMEM, "out of memory");
	k->cpuid->nent = (uint32_t)n;
	if (ioctl(k->kvm, KVM_GET_SUPPORTED_CPUID, k->cpuid))
		return err_sys(errp, errno, "KVM_GET_SUPPORTED_CPUID");
	return 0;
}

int kx_cpu_open(struct kx_cpu *c, struct err *errp)
{
	struct kx *k = c->k;
	c->run = NULL;
	c->fd = ioctl(k->vm, KVM_CREATE_VCPU, (unsigned long)c->idx);
	int r = 0;
	if (c->fd < 0)
		r = err_sys(errp, errno, "KVM_CREATE_VCPU");
	if (!r) {
		c->run = mmap(NULL, k->run_size, PROT_READ | PROT_WRITE,
			      MAP_SHARED, c->fd, 0);
		if (c->run == MAP_FAILED) {
			c->run = NULL;
			r = err_sys(errp, errno, "vcpu mmap");
		}
	}
	if (!r && ioctl(c->fd, KVM_SET_CPUID2, k->cpuid))
		r = err_sys(errp, errno, "KVM_SET_CPUID2");
	if (r)
		kx_cpu_close(c);
	return r;
}

void kx_cpu_close(struct kx_cpu *c)
{
	if (c->run)
		munmap(c->run, c->k->run_size);
	if (c->fd >= 0)
		close(c->fd);
	c->run = NULL;
	c->fd = -1;
}

/* vCPU idx: created, its run structure mapped, CPUID set. */
static int cpu_create(struct kx *k, unsigned idx, struct kx_cpu **out,
		      struct err *errp)
{
	struct kx_cpu *c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(errp, ENOMEM, "out of memory");
	c->k = k;
	c->idx = idx;
	int r = kx_cpu_open(c, errp);
	if (r) {
		free(c);
		return r;
	}
	sem_init(&c->started, 0, 0);
	*out = k->cpu[idx] = c;
	return 0;
}

int kx_vm_memory(struct kx *k)
{
	struct kvm_userspace_memory_region reg = { .slot = 0,
		.guest_phys_addr = 0, .memory_size = k->size,
		.userspace_addr = (uint64_t)(uintptr_t)k->mem };
	return ioctl(k->vm, KVM_SET_USER_MEMORY_REGION, &reg) ? -errno : 0;
}

static int vm_create(struct kx *k, struct err *errp)
{
	if (k->kvm < 0)            /* else inherited (kx_proc_init) */
		k->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (k->kvm < 0)
		return err_sys(errp, ENODEV, "/dev/kvm: %s", strerror(errno));
	int r = kx_vm_new(k);
	if (r)
		return err_set(errp, ENODEV, "KVM_CREATE_VM: %s", strerror(-r));
	k->mem = mmap(NULL, k->size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (k->mem == MAP_FAILED) {
		k->mem = NULL;
		return err_sys(errp, errno, "guest memory");
	}
	r = kx_vm_memory(k);
	if (r)
		return err_sys(errp, -r, "KVM_SET_USER_MEMORY_REGION");
	int sz = ioctl(k->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz <= 0)
		return err_sys(errp, errno, "KVM_GET_VCPU_MMAP_SIZE");
	k->run_size = (size_t)sz;
	return get_cpuid(k, errp);
}

/* A pending sync-regs write must reach the vCPU before another register
 * ioctl (KVM_SET_SREGS leaves the general registers alone, but the
 * run structure's copy would overwrite them later). */
static int flush_regs(struct kx_cpu *c)
{
	if (c->k->sync && c->run->kvm_dirty_regs) {
		if (ioctl(c->fd, KVM_SET_REGS, &c->run->s.regs.regs))
			return -errno;
		c->run->kvm_dirty_regs = 0;
	}
	return 0;
}

int kx_set_fs(struct kx_cpu *c, uint64_t base)
{
	struct kvm_sregs sr;
	int r = flush_regs(c);
	if (r)
		return r;
	if (ioctl(c->fd, KVM_GET_SREGS, &sr))
		return -errno;
	sr.fs.base = base;
	return ioctl(c->fd, KVM_SET_SREGS, &sr) ? -errno : 0;
}

int kx_get_fs(struct kx_cpu *c, uint64_t *base)
{
	struct kvm_sregs sr;
	if (ioctl(c->fd, KVM_GET_SREGS, &sr))
		return -errno;
	*base = sr.fs.base;
	return 0;
}

void kx_exit_group(struct kx *k, int st)
{
	pthread_mutex_lock(&k->lock);
	if (!atomic_load(&k->exited)) {
		k->status = st;
		atomic_store(&k->exited, true);
	}
	pid_t self = (pid_t)syscall(SYS_gettid);
	for (unsigned i = 0; i < KX_MAX_CPUS; i++) {
		struct kx_cpu *o = k->cpu[i];
		if (o && atomic_load(&o->busy) && o->tid != self)
			kx_kick(o);
	}
	pthread_mutex_unlock(&k->lock);
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
static int fault(struct kx_cpu *c)
{
	struct kx *k = c->k;
	struct kvm_regs rg;
	struct kvm_sregs sr = { 0 };
	uint64_t fr[7] = { 0 };
	uint64_t top = k->sys + KX_CPU_AREA + c->idx * KX_CPU_SIZE + KX_CPU_STK0;
	if (!flush_regs(c) && !ioctl(c->fd, KVM_GET_REGS, &rg) &&
	    !ioctl(c->fd, KVM_GET_SREGS, &sr) &&
	    rg.rsp >= top - 0x2000 && rg.rsp + sizeof(fr) <= top) {
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
	if (kx_deliver(c, sig, &rg, fr[0], fr[1], sr.cr2, true) &&
	    !ioctl(c->fd, KVM_SET_REGS, &rg))
		return 0;
	return sig;
}

/* Signals sent to this thread and not blocked: the first one's handler
 * is entered with rg (user state) as the state to return to.  false: the
 * program ended by it (default action, or no way to run the handler). */
static bool deliver_pending(struct kx_cpu *c, struct kvm_regs *rg)
{
	struct kx *k = c->k;
	uint64_t ready = atomic_load(&c->pending) & ~c->sigmask;
	if (!ready)
		return true;
	int sig = __builtin_ctzll(ready) + 1;
	atomic_fetch_and(&c->pending, ~(1ULL << (sig - 1)));
	pthread_mutex_lock(&k->lock);
	uint64_t h = k->sa[sig].handler;
	pthread_mutex_unlock(&k->lock);
	/* Ignored meanwhile, or a default action of ignoring it. */
	if (h == 1 || (h == 0 && (sig == SIGCHLD || sig == SIGURG ||
				  sig == SIGWINCH || sig == SIGCONT)))
		return true;
	if (kx_deliver(c, sig, rg, 0, 0, 0, false))
		return true;
	kx_exit_group(k, sig);
	return false;
}

static void put_regs(struct kx_cpu *c, const struct kvm_regs *rg)
{
	if (c->k->sync) {
		c->run->s.regs.regs = *rg;
		c->run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	} else if (ioctl(c->fd, KVM_SET_REGS, rg)) {
		kx_exit_group(c->k, SIGKILL);
	}
}

/* A call the host interrupted (EINTR) starts again when no handler
 * runs, or the handler has SA_RESTART, as Linux's -ERESTARTSYS; the
 * waits Linux never restarts after a handler (ERESTARTNOHAND and the
 * sleeps) return EINTR then. */
static bool restarts(struct kx_cpu *c, uint64_t nr)
{
	uint64_t ready = atomic_load(&c->pending) & ~c->sigmask;
	switch (nr) {
	case SYS_pause: case SYS_rt_sigsuspend: case SYS_rt_sigtimedwait:
		return false;
	case SYS_nanosleep: case SYS_clock_nanosleep: case SYS_poll:
	case SYS_ppoll: case SYS_select: case SYS_pselect6:
	case SYS_epoll_wait: case SYS_epoll_pwait: case SYS_futex:
		return !ready;
	}
	if (!ready)
		return true;
	int sig = __builtin_ctzll(ready) + 1;
	pthread_mutex_lock(&c->k->lock);
	bool r = c->k->sa[sig].handler > 1 &&
		 (c->k->sa[sig].flags & SA_RESTART);
	pthread_mutex_unlock(&c->k->lock);
	return r;
}

static void do_syscall(struct kx_cpu *c)
{
	struct kx *k = c->k;
	struct kvm_regs rg;
	/* Each vCPU ioctl costs a vcpu load/put (tens of µs on kvm_pvm):
	 * with KVM_CAP_SYNC_REGS the registers ride in the run struct. */
	if (k->sync)
		rg = c->run->s.regs.regs;
	else if (ioctl(c->fd, KVM_GET_REGS, &rg)) {
		kx_exit_group(k, SIGKILL);
		return;
	}
	uint64_t a[6] = { rg.rdi, rg.rsi, rg.rdx, rg.r10, rg.r8, rg.r9 };
	kx_time_refresh(k);
	if (rg.rax == 15) {            /* rt_sigreturn */
		if (kx_sigreturn(c, &rg))
			kx_exit_group(k, SIGSEGV);
		else if (deliver_pending(c, &rg))
			put_regs(c, &rg);
		return;
	}
	c->regs = &rg;
	long r;
	if (rg.rax == KX_NR_IORET) {
		/* The I/O queue answered; a signal waits (kicked). */
		r = kx_ioq_slot(c)->ret;
	} else {
		r = kx_syscall(c, rg.rax, a);
		kx_ioq_kick(k, rg.rax, a);
	}
	c->regs = NULL;
	if (k->cfg->trace)
		fprintf(stderr, "[kvm %d] syscall %llu(%#llx, %#llx, %#llx) = %ld\n",
			c->tid, (unsigned long long)rg.rax,
			(unsigned long long)a[0], (unsigned long long)a[1],
			(unsigned long long)a[2], r);
	if (atomic_load(&k->exited) || c->done)
		return;
	if (r == -EINTR && restarts(c, rg.rax)) {
		/* As -ERESTARTSYS: back to the syscall instruction, after
		 * the handler if one runs. */
		rg.rip = rg.rcx - 2;
	} else {
		rg.rax = (uint64_t)r;
		rg.rip = rg.rcx;
	}
	/* As sysret: the guest's R11 without IOPL, NT, VM; IF on. */
	rg.rflags = (rg.r11 & 0x3c7fd7ULL & ~0x7000ULL) | 0x202;
	bool ok = deliver_pending(c, &rg);
	if (c->use_frame_mask) {
		/* rt_sigsuspend woke for nothing it delivers (the end). */
		c->sigmask = c->frame_mask;
		c->use_frame_mask = false;
		kx_host_mask(c);
	}
	/* A handler entered here runs after the call's page-table edits:
	 * the stub returns into it. */
	if (ok) {
		kx_pt_route(c, &rg);
		put_regs(c, &rg);
	}
}

/* KVM_RUN came back early (a kick): run a handler for a signal sent to
 * this thread if the vCPU is in ring 3 (in a fault stub, the fault comes
 * first). */
static void kicked(struct kx_cpu *c)
{
	c->run->immediate_exit = 0;
	if (!(atomic_load(&c->pending) & ~c->sigmask))
		return;
	struct kvm_regs rg;
	struct kvm_sregs sr;
	if (flush_regs(c) || ioctl(c->fd, KVM_GET_REGS, &rg) ||
	    ioctl(c->fd, KVM_GET_SREGS, &sr) || (sr.cs.selector & 3) != 3)
		return;
	if (kx_pt_defer(c, &rg))
		return;
	/* Inside the entry page (the shim answering a call, its way back,
	 * the doorbell): the shim keeps registers below the red zone, where
	 * a frame would go, and the state to return to is not the vCPU's
	 * yet.  The signal stays pending for the thread's next exit. */
	uint64_t entry = c->k->sys + KX_ENTRY;
	if (rg.rip >= entry && rg.rip < entry + KX_PAGE) {
		/* A call waiting in the I/O queue answers by an exit. */
		atomic_store(&kx_ioq_slot(c)->sigpend, 1);
		return;
	}
	if (deliver_pending(c, &rg) && ioctl(c->fd, KVM_SET_REGS, &rg))
		kx_exit_group(c->k, SIGKILL);
}

/* The edit stub went on to KX_SIGEXIT (kx_pt_defer): the signal a kick
 * brought, with the system call's return as the state to go back to. */
static void sig_exit(struct kx_cpu *c)
{
	struct kvm_regs rg;
	if (c->k->sync)
		rg = c->run->s.regs.regs;
	else if (ioctl(c->fd, KVM_GET_REGS, &rg)) {
		kx_exit_group(c->k, SIGKILL);
		return;
	}
	if (!kx_pt_resume(c, &rg)) {
		kx_exit_group(c->k, SIGSEGV);
		return;
	}
	if (deliver_pending(c, &rg))
		put_regs(c, &rg);
}

static void cpu_loop(struct kx_cpu *c)
{
	struct kx *k = c->k;
	while (!atomic_load(&k->exited) && !c->done) {
		if (k->sync)
			c->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
		if (ioctl(c->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				kicked(c);
				continue;
			}
			/* EFAULT: guest memory the host cannot provide — a
			 * shared file mapping past the file's end, SIGBUS
			 * natively (a handler for it is not run). */
			kx_exit_group(k, errno == EFAULT ? SIGBUS : SIGKILL);
			break;
		}
		switch (c->run->exit_reason) {
		case KVM_EXIT_MMIO:
			if (c->run->mmio.phys_addr == KX_DOOR_GPA + KX_DOOR_SIG &&
			    c->run->mmio.is_write) {
				sig_exit(c);
				break;
			}
			if (c->run->mmio.phys_addr >= KX_DOOR_GPA &&
			    c->run->mmio.phys_addr < KX_DOOR_GPA + KX_PAGE &&
			    c->run->mmio.is_write) {
				do_syscall(c);
				break;
			}
			kx_exit_group(k, SIGSEGV);
			break;
		case KVM_EXIT_IO: {
			int sig = fault(c);
			if (sig)
				kx_exit_group(k, sig);
			break;
		}
		default:
			/* A triple fault (shutdown) or an internal error. */
			if (k->cfg->verbose)
				fprintf(stderr, "ringvm exec: KVM exit %u\n",
					c->run->exit_reason);
			kx_exit_group(k, SIGSEGV);
			break;
		}
	}
}

/* A thread's end: CLONE_CHILD_CLEARTID (the tid word zeroed and its
 * waiters woken, as the kernel's mm_release does: pthread_join waits
 * there), the slot free for reuse; the last thread out ends the program
 * with the main thread's exit code. */
static void cpu_leave(struct kx_cpu *c)
{
	struct kx *k = c->k;
	if (c->clear_tid && kx_ok(k, c->clear_tid, 4) && !(c->clear_tid & 3)) {
		_Atomic uint32_t *w = (_Atomic uint32_t *)(k->mem + c->clear_tid);
		atomic_store(w, 0);
		syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
	}
	pthread_mutex_lock(&k->lock);
	if (--k->live == 0 && !atomic_load(&k->exited)) {
		k->status = k->main_status;
		atomic_store(&k->exited, true);
	}
	atomic_store(&c->busy, false);
	pthread_cond_broadcast(&k->gone);
	pthread_mutex_unlock(&k->lock);
}

static bool leader_end(struct kx_cpu *c);

static void *cpu_thread(void *arg)
{
	struct kx_cpu *c = arg;
	struct kx *k = c->k;
	c->tid = (pid_t)syscall(SYS_gettid);
	kx_bind_thread(c);
	/* Both before the thread's first instruction, as clone does. */
	uint32_t tid = (uint32_t)c->tid;
	if (c->set_ptid && kx_ok(k, c->set_ptid, 4))
		memcpy(k->mem + c->set_ptid, &tid, 4);
	if (c->set_ctid && kx_ok(k, c->set_ctid, 4))
		memcpy(k->mem + c->set_ctid, &tid, 4);
	sem_post(&c->started);
	cpu_loop(c);
	if (c->idx == 0) {
		/* A child forked by this thread, which leads it now: no
		 * exec_kvm_run here to report the end, so end it here. */
		leader_end(c);
		exec_exit_as(c->k->status);
	}
	cpu_leave(c);
	return NULL;
}

long kx_thread(struct kx_cpu *p, const struct kvm_regs *rg, bool settls,
	       uint64_t tls, uint64_t ptid, uint64_t ctid, uint64_t cleartid)
{
	struct kx *k = p->k;
	uint64_t fs = tls;
	if (!settls && kx_get_fs(p, &fs))
		return -EAGAIN;
	pthread_mutex_lock(&k->lock);
	struct kx_cpu *c = NULL;
	unsigned idx = 0;
	for (unsigned i = 1; i < KX_MAX_CPUS && !c; i++)
		if (k->cpu[i] && !atomic_load(&k->cpu[i]->busy)) {
			c = k->cpu[i];
			if (!c->no_join)                 /* it has left */
				pthread_join(c->thread, NULL);
		} else if (!k->cpu[i] && !idx) {
			idx = i;
		}
	struct err e = { 0 };
	if (!c && idx && cpu_create(k, idx, &c, &e)) {
		err_clear(&e);
		c = NULL;
	}
	if (!c) {
		pthread_mutex_unlock(&k->lock);
		return -EAGAIN;
	}
	atomic_store(&c->busy, true);
	k->live++;
	c->done = false;
	c->tid = 0;
	atomic_store(&c->pending, 0);
	c->sigmask = p->sigmask;
	c->clear_tid = cleartid;
	c->set_ptid = ptid;
	c->set_ctid = ctid;
	pthread_mutex_unlock(&k->lock);
	c->run->immediate_exit = 0;
	c->run->kvm_dirty_regs = 0;
	int r = kx_cpu_setup(c, fs, &e);
	/* The creating thread's FPU/vector state, as clone copies it. */
	struct kvm_xsave xs;
	if (!r && !ioctl(p->fd, KVM_GET_XSAVE, &xs))
		(void)ioctl(c->fd, KVM_SET_XSAVE, &xs);
	if (!r && ioctl(c->fd, KVM_SET_REGS, rg))
		r = -errno;
	if (!r)
		r = -pthread_create(&c->thread, NULL, cpu_thread, c);
	if (r) {
		err_clear(&e);
		pthread_mutex_lock(&k->lock);
		k->live--;
		atomic_store(&c->busy, false);
		/* No thread to join: a placeholder that joins at once. */
		c->thread = pthread_self();
		c->no_join = true;
		pthread_mutex_unlock(&k->lock);
		return -EAGAIN;
	}
	c->no_join = false;
	while (sem_wait(&c->started) && errno == EINTR)
		;
	return c->tid;
}

/* The main thread after its own vCPU's end: wait for the others (the
 * program lives while one does), and once it ended, make sure every
 * thread has left its loop before the memory goes.  false: one would
 * not stop (the caller must not unmap). */
static bool wait_threads(struct kx *k)
{
	pthread_mutex_lock(&k->lock);
	while (k->live > 0 && !atomic_load(&k->exited))
		pthread_cond_wait(&k->gone, &k->lock);
	for (int tries = 0; k->live > 0 && tries < 500; tries++) {
		pthread_mutex_unlock(&k->lock);
		for (unsigned i = 1; i < KX_MAX_CPUS; i++)
			if (k->cpu[i] && atomic_load(&k->cpu[i]->busy))
				kx_kick(k->cpu[i]);
		pthread_mutex_lock(&k->lock);
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += 10 * 1000 * 1000;
		if (t.tv_nsec >= 1000000000) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000;
		}
		if (k->live > 0)
			pthread_cond_timedwait(&k->gone, &k->lock, &t);
	}
	bool all = k->live == 0;
	pthread_mutex_unlock(&k->lock);
	for (unsigned i = 1; all && i < KX_MAX_CPUS; i++)
		if (k->cpu[i] && !k->cpu[i]->no_join)
			pthread_join(k->cpu[i]->thread, NULL);
	return all;
}

/* The end of slot 0's thread (exec_kvm_run's, or in a forked child the
 * thread that forked): its exit code is the program's if others run on
 * and leave by exit; then as wait_threads. */
static bool leader_end(struct kx_cpu *c)
{
	struct kx *k = c->k;
	if (!atomic_load(&k->exited))
		k->main_status = c->exit_status;
	cpu_leave(c);
	bool all = wait_threads(k);
	if (all)
		kx_ioq_stop(k);
	return all;
}

/* The sandbox is built for kvm_pvm, where a ring-3 `syscall` reaches
 * LSTAR still in ring 3 (../shared/KVM-PVM-NOTES.md).  Under hardware
 * virtualization it enters ring 0, and the entry page would hand the
 * program back in ring 0: one probe call before the program says which
 * (it exits through the doorbell; the code segment tells the ring), and
 * the other kind is refused until its ring-0 path exists. */
static int probe_syscall(struct kx_cpu *c, uint64_t rsp, struct err *errp)
{
	struct kx *k = c->k;
	struct kvm_regs rg = { .rip = k->sys + KX_ENTRY + KX_PROBE,
			       .rax = KX_NR_PROBE, .rsp = rsp, .rflags = 0x202 };
	if (ioctl(c->fd, KVM_SET_REGS, &rg))
		return err_sys(errp, errno, "KVM_SET_REGS");
	int r;
	while ((r = ioctl(c->fd, KVM_RUN, 0)) < 0 && errno == EINTR)
		;
	struct kvm_sregs sr;
	if (r < 0 || c->run->exit_reason != KVM_EXIT_MMIO ||
	    c->run->mmio.phys_addr != KX_DOOR_GPA ||
	    ioctl(c->fd, KVM_GET_SREGS, &sr))
		return 0;   /* not what either kind does: let the run tell */
	if ((sr.cs.selector & 3) != 3)
		return err_set(errp, ENODEV, "this host's KVM enters ring 0 on "
			       "a system call (hardware virtualization); the "
			       "x86-64 sandbox is built for kvm_pvm, where it "
			       "stays in ring 3 (--arch riscv64 works here)");
	return 0;
}

static void kx_free(struct kx *k)
{
	if (k->argv != k->cfg->argv)
		free((void *)k->argv);
	for (unsigned i = 0; i < KX_MAX_CPUS; i++) {
		struct kx_cpu *c = k->cpu[i];
		if (!c)
			continue;
		kx_cpu_close(c);
		sem_destroy(&c->started);
		free(c);
	}
	if (k->mem)
		munmap(k->mem, k->size);
	if (k->vm >= 0)
		close(k->vm);
	if (k->self_fd >= 0)
		close(k->self_fd);
	if (k->kvm >= 0)
		close(k->kvm);
	free(k->cpuid);
	free(k->bitmap);
	kx_pt_free(&k->pt);
	fs_free(&k->fs);
	pthread_mutex_destroy(&k->lock);
	pthread_mutex_destroy(&k->time_lock);
	pthread_cond_destroy(&k->gone);
}

int exec_kvm_run(const struct exec_config *cfg, int *status,
		 struct err *errp)
{
	struct kx *k = calloc(1, sizeof(*k));
	if (!k)
		return err_set(errp, ENOMEM, "out of memory");
	k->cfg = cfg;
	k->kvm = k->vm = k->self_fd = -1;
	k->fs.root_fd = -1;
	pthread_mutex_init(&k->lock, NULL);
	pthread_mutex_init(&k->time_lock, NULL);
	pthread_cond_init(&k->gone, NULL);
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
	struct kx_cpu *c = NULL;
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
		r = kx_proc_init(k, errp);
	if (!r)
		r = vm_create(k, errp);
	if (!r && (r = kx_pt_init(&k->pt, k->mem, k->sys, cfg->verbose)))
		r = err_set(errp, -r, "page tables: %s", strerror(-r));
	if (!r)
		r = kx_load(k, e, &base, errp);
	if (!r) {
		build_sys(k);
		r = kx_build_stack(k, &rsp, errp);
	}
	if (!r)
		r = cpu_create(k, 0, &c, errp);
	if (!r) {
		c->sigmask = kx_proc_mask();
		r = kx_cpu_setup(c, 0, errp);
	}
	if (!r)
		r = probe_syscall(c, rsp, errp);
	if (!r) {
		struct kvm_regs rg = { .rip = k->start, .rsp = rsp,
				       .rflags = 0x202 };
		if (ioctl(c->fd, KVM_SET_REGS, &rg))
			r = err_sys(errp, errno, "KVM_SET_REGS");
	}
	free(e);
	e = NULL;
	/* KVM_CHECK_EXTENSION is not in the filter: ask before. */
	if (!r)
		k->sync = ioctl(k->kvm, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) &
			  KVM_SYNC_X86_REGS;
	if (!r) {
		struct sigaction sa = { .sa_handler = kick_handler };
		sigemptyset(&sa.sa_mask);
		if (sigaction(KX_KICK, &sa, NULL))
			r = err_sys(errp, errno, "sigaction");
	}
	if (!r)
		r = kx_time_init(c, errp);
	if (!r)
		r = kx_seccomp(k, errp);
	bool all = true;
	if (!r) {
		kx_pt_start(&k->pt);
		c->tid = (pid_t)syscall(SYS_gettid);
		kx_bind_thread(c);
		c->no_join = true;
		atomic_store(&c->busy, true);
		k->live = 1;
		cpu_loop(c);
		all = leader_end(c);
		*status = k->status;
	}
	if (all) {
		kx_free(k);
		free(k);
	}
	return r;
}
