/* Signals in the KVM sandbox.  A fault the program has a handler for,
 * and a signal that reached one of its threads through the host, is
 * delivered on its stack (or its sigaltstack) the way Linux's x86-64
 * does it (arch/x86/kernel/signal_64.c: the rt_sigframe of the
 * sa_restorer return address, struct ucontext with the sigcontext,
 * siginfo), and rt_sigreturn takes the registers back from that
 * ucontext.  The FPU/vector state is saved below it in xsave format
 * (uc_mcontext.fpregs points there) and restored from there.
 *
 * Asynchronous signals are the host's: the program's dispositions and
 * masks are mirrored onto this process and its vCPU threads, so whatever
 * sends or queues a signal (kill, tgkill, timers, a broken pipe, a
 * terminal) works as for a native process, and blocked ones wait where
 * sigpending, sigtimedwait and signalfd find them.  The host handler
 * only records the signal on the interrupted thread's vCPU and makes its
 * KVM_RUN (or blocking call) return; the thread then builds the frame. */
#include "kvm_int.h"

#include <linux/kvm.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000   /* uapi asm/signal.h */
#endif

/* The kernel's struct ucontext on x86-64 (uapi asm/ucontext.h and
 * asm/sigcontext.h); gregs in sigcontext order: r8..r15, rdi, rsi, rbp,
 * rbx, rdx, rax, rcx, rsp, rip, eflags, cs/gs/fs/ss, err, trapno,
 * oldmask, cr2. */
struct kx_uc {
	uint64_t flags, link;
	uint64_t ss_sp;
	int32_t ss_flags, ss_pad;
	uint64_t ss_size;
	uint64_t gregs[23];
	uint64_t fpregs;
	uint64_t reserved[8];
	uint64_t sigmask;
};
_Static_assert(offsetof(struct kx_uc, gregs) == 40, "uc_mcontext");
_Static_assert(sizeof(struct kx_uc) == 304, "struct ucontext");

enum { G_R8, G_R9, G_R10, G_R11, G_R12, G_R13, G_R14, G_R15, G_RDI,
       G_RSI, G_RBP, G_RBX, G_RDX, G_RAX, G_RCX, G_RSP, G_RIP, G_EFL,
       G_CSGSFS, G_ERR, G_TRAPNO, G_OLDMASK, G_CR2 };

/* What user code may set in RFLAGS (as sysret / sigreturn). */
static uint64_t user_flags(uint64_t f)
{
	return (f & 0x3c7fd7ULL & ~0x7000ULL) | 0x202;
}

/* pf: a page fault, mapped: on a page some mapping covers.  Linux's
 * codes go by its mappings: ACCERR for a PROT_NONE page (not present
 * here), MAPERR for the system area (present, supervisor), as for its
 * own kernel's addresses. */
static int si_code(int sig, uint64_t err, bool pf, bool mapped)
{
	switch (sig) {
	case SIGSEGV:
		if (pf)
			return mapped ? SEGV_ACCERR : SEGV_MAPERR;
		return (err & 1) ? SEGV_ACCERR : SEGV_MAPERR;
	case SIGILL: return ILL_ILLOPN;
	case SIGFPE: return FPE_INTDIV;
	case SIGTRAP: return 0x80;   /* SI_KERNEL, as for int3 */
	default: return BUS_ADRERR;
	}
}

/* The vCPU whose thread this is (the host handler's only way to it). */
static __thread struct kx_cpu *kx_self;

void kx_bind_thread(struct kx_cpu *c)
{
	kx_self = c;
}

static void host_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	struct kx_cpu *c = kx_self;
	if (!c || sig < 1 || sig > 64)
		return;
	uint64_t bit = 1ULL << (sig - 1);
	memcpy(c->info[sig], si, sizeof(c->info[sig]));
	atomic_fetch_or(&c->info_ok, bit);
	atomic_fetch_or(&c->pending, bit);
	c->run->immediate_exit = 1;
}

/* Signals the host keeps at its own default: faults (the program's
 * arrive through the IDT; the VMM's own must kill it), the unstoppable
 * ones, and the kick. */
static bool host_only(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
	       sig == SIGFPE || sig == SIGTRAP || sig == SIGKILL ||
	       sig == SIGSTOP || sig == KX_KICK;
}

int kx_host_action(struct kx *k, int sig)
{
	if (host_only(sig))
		return 0;
	struct sigaction sa = { 0 };
	uint64_t h = k->sa[sig].handler;
	if (h == 0)
		sa.sa_handler = SIG_DFL;
	else if (h == 1)
		sa.sa_handler = SIG_IGN;
	else {
		sa.sa_sigaction = host_handler;
		sa.sa_flags = SA_SIGINFO;
	}
	sigfillset(&sa.sa_mask);
	/* libc refuses its internal signals (32, 33): they stay unmirrored. */
	if (sigaction(sig, &sa, NULL) && errno != EINVAL)
		return -errno;
	return 0;
}

void kx_host_mask(struct kx_cpu *c)
{
	sigset_t s;
	sigemptyset(&s);
	for (int sig = 1; sig <= 64; sig++)
		if ((c->sigmask & (1ULL << (sig - 1))) && !host_only(sig))
			sigaddset(&s, sig);
	pthread_sigmask(SIG_SETMASK, &s, NULL);
}

int kx_wait_mask(struct kx_cpu *c, uint64_t va, uint64_t size, sigset_t *host)
{
	if (size != 8)
		return -EINVAL;
	const void *g = kx_ptr(c->k, va, 8);
	if (!g)
		return -EFAULT;
	uint64_t m;
	memcpy(&m, g, 8);
	c->frame_mask = c->sigmask;
	c->use_frame_mask = true;
	c->sigmask = m & ~((1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)));
	sigemptyset(host);
	for (int sig = 1; sig <= 64; sig++)
		if ((c->sigmask & (1ULL << (sig - 1))) && !host_only(sig))
			sigaddset(host, sig);
	return 0;
}

bool kx_deliver(struct kx_cpu *c, int sig, struct kvm_regs *rg, uint64_t trapno,
		uint64_t err, uint64_t cr2, bool ring0)
{
	struct kx *k = c->k;
	pthread_mutex_lock(&k->lock);
	struct { uint64_t handler, flags, restorer, mask; } sa;
	memcpy(&sa, &k->sa[sig], sizeof(sa));
	bool mapped = ring0 && trapno == 14 && kx_pt_mapped(&k->pt, cr2, 1);
	if ((sa.flags & SA_RESETHAND) && sa.handler > 1 &&
	    !(c->sigmask & (1ULL << (sig - 1))))
		k->sa[sig].handler = 0;
	pthread_mutex_unlock(&k->lock);
	uint64_t h = sa.handler;
	uint64_t bit = 1ULL << (sig - 1);
	/* SIG_DFL, SIG_IGN (a fault cannot be ignored), blocked, or no
	 * restorer to return through: the default action, as Linux forces. */
	if (h == 0 || h == 1 || (c->sigmask & bit) ||
	    !(sa.flags & SA_RESTORER))
		return false;
	uint64_t rsp = rg->rsp;
	bool on_alt = c->ss_size && rsp > c->ss_sp &&
		      rsp <= c->ss_sp + c->ss_size;
	uint64_t top = rsp - 128;      /* the red zone */
	if ((sa.flags & SA_ONSTACK) && c->ss_size && !on_alt)
		top = c->ss_sp + c->ss_size;
	/* The FPU/vector state first (xsave format, 64-byte aligned), as
	 * Linux's frame has it: a handler that uses xmm/ymm registers (any
	 * libc string function does) must not change the interrupted
	 * code's. */
	uint64_t fp = (top - sizeof(struct kvm_xsave)) & ~63ULL;
	uint64_t base = ((fp - 128 - sizeof(struct kx_uc)) & ~15ULL) - 8;
	size_t len = top - base;
	if (rsp < 512 || top < 2 * sizeof(struct kvm_xsave) ||
	    !kx_ok(k, base, len))
		return false;
	struct kvm_xsave xs;
	if (ioctl(c->fd, KVM_GET_XSAVE, &xs))
		return false;
	if (ring0) {
		/* Back to ring 3 from the fault stub. */
		struct kvm_sregs sr;
		if (ioctl(c->fd, KVM_GET_SREGS, &sr))
			return false;
		sr.cs = k->ucs;
		sr.ss = k->uss;
		if (ioctl(c->fd, KVM_SET_SREGS, &sr))
			return false;
	}
	memcpy(k->mem + fp, &xs, sizeof(xs));
	uint8_t *f = k->mem + base;
	memcpy(f, &sa.restorer, 8);
	struct kx_uc *uc = (struct kx_uc *)(f + 8);
	memset(uc, 0, sizeof(*uc));
	uc->ss_sp = c->ss_sp;
	uc->ss_size = c->ss_size;
	uc->ss_flags = !c->ss_size ? SS_DISABLE : on_alt ? SS_ONSTACK : 0;
	uint64_t g[23] = {
		[G_R8] = rg->r8, [G_R9] = rg->r9, [G_R10] = rg->r10,
		[G_R11] = rg->r11, [G_R12] = rg->r12, [G_R13] = rg->r13,
		[G_R14] = rg->r14, [G_R15] = rg->r15, [G_RDI] = rg->rdi,
		[G_RSI] = rg->rsi, [G_RBP] = rg->rbp, [G_RBX] = rg->rbx,
		[G_RDX] = rg->rdx, [G_RAX] = rg->rax, [G_RCX] = rg->rcx,
		[G_RSP] = rsp, [G_RIP] = rg->rip, [G_EFL] = rg->rflags,
		[G_CSGSFS] = 0x2b | (0x23ULL << 48), [G_ERR] = err,
		[G_TRAPNO] = trapno, [G_OLDMASK] = c->sigmask, [G_CR2] = cr2,
	};
	memcpy(uc->gregs, g, sizeof(g));
	uc->fpregs = fp;
	uc->sigmask = c->use_frame_mask ? c->frame_mask : c->sigmask;
	if (c->use_frame_mask)
		uc->gregs[G_OLDMASK] = c->frame_mask;
	c->use_frame_mask = false;
	uint8_t *info = f + 8 + sizeof(*uc);
	memset(info, 0, 128);
	if (ring0) {
		int32_t si[3] = { sig, 0, si_code(sig, err, trapno == 14,
						   mapped) };
		memcpy(info, si, sizeof(si));
		uint64_t addr = sig == SIGSEGV || sig == SIGBUS ? cr2 : rg->rip;
		memcpy(info + 16, &addr, 8);
	} else if (atomic_fetch_and(&c->info_ok, ~bit) & bit) {
		memcpy(info, c->info[sig], 128);
	} else {
		/* Sent by itself (tgkill): SI_TKILL, its pid and uid. */
		int32_t si[5] = { sig, 0, -6, (int32_t)getpid(),
				  (int32_t)getuid() };
		memcpy(info, si, sizeof(si));
	}

	if (!(sa.flags & SA_NODEFER))
		c->sigmask |= bit;
	c->sigmask |= sa.mask;
	kx_host_mask(c);

	rg->rip = h;
	rg->rsp = base;
	rg->rdi = (uint64_t)sig;
	rg->rsi = base + 8 + sizeof(*uc);
	rg->rdx = base + 8;
	rg->rax = 0;
	rg->rflags = user_flags(rg->rflags) & ~0x500ULL;   /* TF, DF clear */
	return true;
}

int kx_sigreturn(struct kx_cpu *c, struct kvm_regs *rg)
{
	struct kx *k = c->k;
	/* The restorer's `syscall` runs with RSP at the ucontext. */
	const void *at = kx_ptr(k, rg->rsp, sizeof(struct kx_uc));
	if (!at)
		return -EFAULT;
	/* A copy: rsp need not be aligned, and other threads may write. */
	struct kx_uc ucv;
	memcpy(&ucv, at, sizeof(ucv));
	const struct kx_uc *uc = &ucv;
	const uint64_t *g = uc->gregs;
	rg->r8 = g[G_R8]; rg->r9 = g[G_R9]; rg->r10 = g[G_R10];
	rg->r11 = g[G_R11]; rg->r12 = g[G_R12]; rg->r13 = g[G_R13];
	rg->r14 = g[G_R14]; rg->r15 = g[G_R15]; rg->rdi = g[G_RDI];
	rg->rsi = g[G_RSI]; rg->rbp = g[G_RBP]; rg->rbx = g[G_RBX];
	rg->rdx = g[G_RDX]; rg->rax = g[G_RAX]; rg->rcx = g[G_RCX];
	rg->rsp = g[G_RSP]; rg->rip = g[G_RIP];
	rg->rflags = user_flags(g[G_EFL]);
	/* The FPU/vector state the handler left in the frame (it may have
	 * changed it, as on Linux); none: it stays as the handler left it. */
	if (uc->fpregs) {
		const void *fs = kx_ptr(k, uc->fpregs, sizeof(struct kvm_xsave));
		struct kvm_xsave xs;
		if (!fs)
			return -EFAULT;
		memcpy(&xs, fs, sizeof(xs));
		if (ioctl(c->fd, KVM_SET_XSAVE, &xs))
			return -EFAULT;
	}
	c->sigmask = uc->sigmask &
		     ~((1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)));
	kx_host_mask(c);
	return 0;
}
