/* Guest signals on top of the host's.
 *
 * Dispositions and masks are the host's: a guest SIG_DFL or SIG_IGN is
 * set on the host as is, so a default action (terminate, stop, ignore)
 * happens natively, and the guest's signal mask is its host thread's
 * mask.  A guest handler is a host handler that only records the signal
 * for its thread and kicks the hart; the run loop then builds a riscv64
 * rt_sigframe on the guest stack (arch/riscv/kernel/signal.c layout:
 * siginfo, then ucontext with the GP registers and the D-extension FP
 * state) and enters the handler with ra at our trampoline page, whose
 * rt_sigreturn restores the frame.  Faults of the guest (page faults,
 * illegal instructions) come as synchronous signals from the run loop;
 * without a handler they end the process as that signal.
 *
 * The host handler finds the thread through a thread-local pointer: a
 * signal handler has no other context. */
#include "exec_int.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "abi.h"
#include "sys_nr.h"

#define RV_SA_SIGINFO   0x00000004ULL
#define RV_SA_ONSTACK   0x08000000ULL
#define RV_SA_RESTART   0x10000000ULL
#define RV_SA_NODEFER   0x40000000ULL
#define RV_SA_RESETHAND 0x80000000ULL


static __thread struct exec_thread *cur;

void sig_thread_attach(struct exec_thread *t)
{
	cur = t;
}

static void host_handler(int sig, siginfo_t *info, void *uc)
{
	struct exec_thread *t = cur;
	bool fault = (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
		      sig == SIGFPE) && info->si_code > 0;
	if (!t || fault || sig >= EXEC_NSIG) {
		/* ringvm itself faulted (never the guest: its faults are
		 * traps), or no guest thread runs here: die natively. */
		signal(sig, SIG_DFL);
		if (!fault)
			raise(sig);
		return;
	}
	t->info[sig] = *info;
	__atomic_fetch_or(&t->pending, 1ULL << (sig - 1), __ATOMIC_SEQ_CST);
	/* Atomic stores only: a hart in U-mode never sleeps (WFI is
	 * illegal there), so the kick takes no lock. */
	rv_vcpu_kick(t->h);
}

int sig_init(struct exec_proc *p, struct err *errp)
{
	/* What the guest inherits: ignored signals stay ignored. */
	for (int s = 1; s < EXEC_NSIG; s++) {
		struct sigaction old;
		if (!sigaction(s, NULL, &old) && old.sa_handler == SIG_IGN)
			p->sa[s].handler = 1;
	}
	return 0;
}

static bool blocked(int sig)
{
	sigset_t m;
	pthread_sigmask(SIG_BLOCK, NULL, &m);
	return sigismember(&m, sig);
}

static uint64_t host_mask(void)
{
	sigset_t m;
	uint64_t v = 0;
	pthread_sigmask(SIG_BLOCK, NULL, &m);
	memcpy(&v, &m, sizeof(v));
	return v;
}

static void set_mask(uint64_t v)
{
	sigset_t m;
	sigemptyset(&m);
	memcpy(&m, &v, sizeof(v));
	pthread_sigmask(SIG_SETMASK, &m, NULL);
}

static void die(struct exec_thread *t, int sig)
{
	rt_exit_group(t, sig & 0x7f);
}

/* Build the frame and enter the handler; false when the frame cannot be
 * written (the process then dies of SIGSEGV, as on Linux). */
static bool setup_frame(struct exec_thread *t, int sig, const void *info)
{
	struct exec_proc *p = t->p;
	struct rv_hart *h = t->h;
	pthread_mutex_lock(&p->lock);
	struct exec_sigaction sa = p->sa[sig];
	if (sa.flags & RV_SA_RESETHAND) {
		p->sa[sig].handler = 0;
		signal(sig, SIG_DFL);
	}
	pthread_mutex_unlock(&p->lock);

	uint64_t sp = h->x[2];
	bool on_alt = t->ss_size && sp - t->ss_sp <= t->ss_size;
	if ((sa.flags & RV_SA_ONSTACK) && t->ss_size && !on_alt)
		sp = t->ss_sp + t->ss_size;
	uint64_t frame = (sp - sizeof(struct rv_sigframe)) & ~15ULL;

	struct rv_sigframe f;
	memset(&f, 0, sizeof(f));
	memcpy(f.info, info, sizeof(f.info));
	f.uc.ss_sp = t->ss_sp;
	f.uc.ss_size = t->ss_size;
	f.uc.ss_flags = t->ss_size ? (on_alt ? SS_ONSTACK : 0) : SS_DISABLE;
	uint64_t old = host_mask();
	f.uc.sigmask = old;
	f.uc.regs[0] = h->pc;
	for (int i = 1; i < 32; i++)
		f.uc.regs[i] = h->x[i];
	memcpy(f.uc.f, h->f, sizeof(f.uc.f));
	f.uc.fcsr = h->frm << 5 | h->fflags;
	if (mm_write(&p->mm, frame, &f, sizeof(f)))
		return false;

	uint64_t nm = old | sa.mask;
	if (!(sa.flags & RV_SA_NODEFER))
		nm |= 1ULL << (sig - 1);
	set_mask(nm);
	h->x[1] = EXEC_SIGTRAMP;
	h->x[2] = frame;
	h->x[10] = (uint64_t)sig;
	h->x[11] = frame;
	h->x[12] = frame + offsetof(struct rv_sigframe, uc);
	h->pc = sa.handler;
	return true;
}

static void deliver(struct exec_thread *t, int sig, const void *info)
{
	uint64_t handler = t->p->sa[sig].handler;
	if (handler == 1)
		return;
	if (handler == 0) {
		/* The guest reset it to SIG_DFL after this arrived: let the
		 * host act on it natively. */
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	if (!setup_frame(t, sig, info))
		die(t, SIGSEGV);
}

void sig_deliver_pending(struct exec_thread *t)
{
	uint64_t bits = __atomic_exchange_n(&t->pending, 0, __ATOMIC_ACQ_REL);
	for (int s = 1; s < EXEC_NSIG && bits; s++) {
		if (!(bits & (1ULL << (s - 1))))
			continue;
		bits &= ~(1ULL << (s - 1));
		siginfo_t info = t->info[s];
		deliver(t, s, &info);
	}
}

void sig_fault(struct exec_thread *t, int sig, int code, uint64_t addr)
{
	uint64_t handler = t->p->sa[sig].handler;
	if (handler <= 1 || blocked(sig)) {
		/* Linux forces the default action on an ignored or blocked
		 * synchronous fault. */
		die(t, sig);
		return;
	}
	uint8_t info[128];
	memset(info, 0, sizeof(info));
	int32_t hdr[3] = { sig, 0, code };
	memcpy(info, hdr, sizeof(hdr));
	memcpy(info + 16, &addr, 8);
	if (!setup_frame(t, sig, info))
		die(t, SIGSEGV);
}

bool sig_restart_wanted(struct exec_thread *t)
{
	uint64_t bits = __atomic_load_n(&t->pending, __ATOMIC_ACQUIRE);
	for (int s = 1; s < EXEC_NSIG; s++)
		if ((bits & (1ULL << (s - 1))) &&
		    (t->p->sa[s].flags & RV_SA_RESTART))
			return true;
	return false;
}

static long s_rt_sigaction(struct exec_thread *t, const uint64_t *a)
{
	struct exec_proc *p = t->p;
	int sig = (int)a[0];
	struct exec_sigaction n, o;
	if (a[3] != 8)
		return -EINVAL;
	if (sig < 1 || sig >= EXEC_NSIG)
		return -EINVAL;
	if (a[1]) {
		if (sig == SIGKILL || sig == SIGSTOP)
			return -EINVAL;
		if (mm_read(&p->mm, a[1], &n, sizeof(n)))
			return -EFAULT;
	}
	pthread_mutex_lock(&p->lock);
	o = p->sa[sig];
	if (a[1]) {
		struct sigaction hs;
		memset(&hs, 0, sizeof(hs));
		if (n.handler == 0) {
			hs.sa_handler = SIG_DFL;
		} else if (n.handler == 1) {
			hs.sa_handler = SIG_IGN;
		} else {
			hs.sa_sigaction = host_handler;
			hs.sa_flags = SA_SIGINFO;
			sigfillset(&hs.sa_mask);
		}
		if (sigaction(sig, &hs, NULL)) {
			pthread_mutex_unlock(&p->lock);
			return -errno;
		}
		n.mask &= ~((1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)));
		p->sa[sig] = n;
	}
	pthread_mutex_unlock(&p->lock);
	if (a[2] && mm_write(&p->mm, a[2], &o, sizeof(o)))
		return -EFAULT;
	return 0;
}

static long s_rt_sigprocmask(struct exec_thread *t, const uint64_t *a)
{
	uint64_t v = 0;
	if (a[3] != 8)
		return -EINVAL;
	if (a[1] && mm_read(&t->p->mm, a[1], &v, 8))
		return -EFAULT;
	uint64_t old = host_mask();
	if (a[1]) {
		sigset_t m;
		sigemptyset(&m);
		memcpy(&m, &v, 8);
		if (pthread_sigmask((int)a[0], &m, NULL))
			return -EINVAL;
	}
	if (a[2] && mm_write(&t->p->mm, a[2], &old, 8))
		return -EFAULT;
	return 0;
}

static long s_rt_sigpending(struct exec_thread *t, const uint64_t *a)
{
	sigset_t m;
	uint64_t v = 0;
	if (sigpending(&m))
		return -errno;
	memcpy(&v, &m, 8);
	return mm_write(&t->p->mm, a[0], &v, 8) ? -EFAULT : 0;
}

static long s_rt_sigsuspend(struct exec_thread *t, const uint64_t *a)
{
	uint64_t v;
	if (a[1] != 8)
		return -EINVAL;
	if (mm_read(&t->p->mm, a[0], &v, 8))
		return -EFAULT;
	uint64_t old = host_mask();
	sigset_t m;
	sigemptyset(&m);
	memcpy(&m, &v, 8);
	sigsuspend(&m);
	/* The handler frame must save the mask from before the call. */
	set_mask(old);
	return -EINTR;
}

static long s_rt_sigtimedwait(struct exec_thread *t, const uint64_t *a)
{
	uint64_t v;
	struct timespec ts;
	siginfo_t info;
	if (a[3] != 8)
		return -EINVAL;
	if (mm_read(&t->p->mm, a[0], &v, 8) ||
	    (a[2] && mm_read(&t->p->mm, a[2], &ts, sizeof(ts))))
		return -EFAULT;
	sigset_t m;
	sigemptyset(&m);
	memcpy(&m, &v, 8);
	int r = sigtimedwait(&m, &info, a[2] ? &ts : NULL);
	if (r < 0)
		return -errno;
	if (a[1] && mm_write(&t->p->mm, a[1], &info, 128))
		return -EFAULT;
	return r;
}

static long s_sigaltstack(struct exec_thread *t, const uint64_t *a)
{
	struct { uint64_t sp; int32_t flags, pad; uint64_t size; } n, o;
	o.sp = t->ss_sp;
	o.size = t->ss_size;
	o.pad = 0;
	bool on = t->ss_size && t->h->x[2] - t->ss_sp <= t->ss_size;
	o.flags = !t->ss_size ? SS_DISABLE : on ? SS_ONSTACK : 0;
	if (a[0]) {
		if (mm_read(&t->p->mm, a[0], &n, sizeof(n)))
			return -EFAULT;
		if (on)
			return -EPERM;
		if (n.flags & SS_DISABLE) {
			t->ss_sp = t->ss_size = 0;
		} else if (n.flags) {
			return -EINVAL;
		} else {
			if (n.size < 2048)   /* riscv64 MINSIGSTKSZ */
				return -ENOMEM;
			t->ss_sp = n.sp;
			t->ss_size = n.size;
		}
	}
	if (a[1] && mm_write(&t->p->mm, a[1], &o, sizeof(o)))
		return -EFAULT;
	return 0;
}

static long s_rt_sigreturn(struct exec_thread *t, const uint64_t *a)
{
	struct rv_hart *h = t->h;
	struct rv_ucontext uc;
	if (mm_read(&t->p->mm, h->x[2] + offsetof(struct rv_sigframe, uc),
		    &uc, sizeof(uc))) {
		die(t, SIGSEGV);
		return SYS_NORETURN;
	}
	h->pc = uc.regs[0];
	for (int i = 1; i < 32; i++)
		h->x[i] = uc.regs[i];
	memcpy(h->f, uc.f, sizeof(h->f));
	h->fflags = uc.fcsr & 0x1f;
	h->frm = (uc.fcsr >> 5) & 7;
	set_mask(uc.sigmask);
	return SYS_NORETURN;
}

static long s_kill(struct exec_thread *t, const uint64_t *a)
{
	return kill((pid_t)a[0], (int)a[1]) ? -errno : 0;
}

static long s_tgkill(struct exec_thread *t, const uint64_t *a)
{
	return syscall(SYS_tgkill, (pid_t)a[0], (pid_t)a[1], (int)a[2]) ?
	       -errno : 0;
}

static long s_tkill(struct exec_thread *t, const uint64_t *a)
{
	return syscall(SYS_tgkill, getpid(), (pid_t)a[0], (int)a[1]) ?
	       -errno : 0;
}

sys_fn sys_sig_lookup(long nr)
{
	switch (nr) {
	case RV_NR_rt_sigaction: return s_rt_sigaction;
	case RV_NR_rt_sigprocmask: return s_rt_sigprocmask;
	case RV_NR_rt_sigpending: return s_rt_sigpending;
	case RV_NR_rt_sigsuspend: return s_rt_sigsuspend;
	case RV_NR_rt_sigtimedwait: return s_rt_sigtimedwait;
	case RV_NR_sigaltstack: return s_sigaltstack;
	case RV_NR_rt_sigreturn: return s_rt_sigreturn;
	case RV_NR_kill: return s_kill;
	case RV_NR_tgkill: return s_tgkill;
	case RV_NR_tkill: return s_tkill;
	default: return NULL;
	}
}
