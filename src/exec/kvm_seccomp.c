/* The host seccomp filter of the KVM sandbox, installed once the VM is
 * built and before the program's first instruction: from then on this
 * process only needs KVM_RUN and the register ioctls on its vCPU, and the
 * host calls that kvm_sys.c makes on the program's behalf.  A program
 * that talks the VMM into anything else (by a bug in kvm_sys.c or
 * kvm_net.c) kills the process instead.  No execve, ptrace, mount,
 * process_vm_*, new KVM objects.  Sockets are the program's (kvm_net.c):
 * any family the host lets this user open, as natively.  (Paths are
 * confined by path.c, not here: seccomp cannot look at strings.) */
#include "kvm_int.h"

#include <linux/kvm.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <termios.h>

static const char *const calls[] = {
	/* kvm_sys.c, descriptors and files */
	"read", "write", "pread64", "pwrite64", "readv", "writev", "preadv",
	"pwritev", "openat", "openat2", "open", "close", "fstat", "newfstatat",
	"statx", "fstatfs",
	"lseek", "getdents64", "dup", "dup2", "dup3", "fcntl", "pipe2",
	"faccessat", "faccessat2", "unlinkat", "mkdirat", "fchmodat",
	"fchmod", "renameat2", "readlinkat", "readlink", "fsync", "fdatasync",
	"ftruncate", "sendfile", "poll", "getcwd", "fchdir", "umask",
	/* kvm_net.c */
	"socket", "socketpair", "bind", "connect", "listen", "accept4",
	"getsockname", "getpeername", "setsockopt", "getsockopt", "shutdown",
	"sendto", "recvfrom", "sendmsg", "recvmsg", "select", "pselect6",
	"ppoll", "epoll_create1", "epoll_ctl", "epoll_wait",
	/* memory: guest pages dropped (madvise), the VMM's own heap */
	"madvise", "mmap", "munmap", "brk", "mremap",
	/* ids, time, randomness, limits */
	"getpid", "gettid", "getppid", "getuid", "geteuid", "getgid",
	"getegid", "getpgrp", "getpgid", "getsid", "clock_gettime",
	"clock_getres", "gettimeofday", "time", "nanosleep",
	"clock_nanosleep", "getrandom", "uname", "sysinfo", "prlimit64",
	"getrlimit", "sched_getaffinity", "futex",
	/* the end: cli/exec.c re-raises a fatal signal at itself */
	"exit", "exit_group", "rt_sigaction", "rt_sigprocmask", "tgkill",
	"rt_sigreturn", "restart_syscall",
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	/* LeakSanitizer's exit check and report symbolization (as in
	 * vmm/sandbox.c): sanitizer builds only. */
	"clone", "ptrace", "wait4", "waitid", "prctl", "sched_yield",
	"getdents", "sigaltstack", "pipe", "access", "mprotect",
#endif
};

/* Terminal requests kvm_sys.c passes through (any descriptor). */
static const unsigned long tty_ioctls[] = {
	TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ, TIOCSWINSZ, FIONREAD,
	TIOCGPGRP, TIOCSPGRP, FIONBIO, FIOCLEX, FIONCLEX,
};

/* The vCPU requests of the run loop and arch_prctl. */
static const unsigned long vcpu_ioctls[] = {
	KVM_RUN, KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS,
};

int kx_seccomp(struct kx *k, struct err *errp)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return err_set(errp, ENOMEM, "seccomp_init failed");
	int rc = 0;
	for (size_t i = 0; !rc && i < sizeof(calls) / sizeof(calls[0]); i++) {
		int nr = seccomp_syscall_resolve_name(calls[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	for (size_t i = 0; !rc && i < sizeof(tty_ioctls) / sizeof(tty_ioctls[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				      SCMP_A1(SCMP_CMP_EQ, tty_ioctls[i]));
	for (size_t i = 0; !rc && i < sizeof(vcpu_ioctls) / sizeof(vcpu_ioctls[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				      SCMP_A0(SCMP_CMP_EQ, (uint64_t)k->vcpu),
				      SCMP_A1(SCMP_CMP_EQ, vcpu_ioctls[i]));
	if (!rc)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc ? err_sys(errp, -rc, "seccomp filter") : 0;
}
