/* The host seccomp filter of the KVM sandbox, installed once the VM is
 * built and before the program's first instruction: from then on this
 * process only needs KVM_RUN and the register ioctls on its vCPUs, new
 * vCPUs and host threads for the program's threads, and the host calls
 * that kvm_sys.c and kvm_net.c make on the program's behalf.  A program
 * that talks the VMM into anything else (by a bug there) kills the
 * process instead.  No ptrace, mount, process_vm_*.  Sockets are the
 * program's (kvm_net.c): any family the host lets this user open, as
 * natively.  (Paths are confined by path.c, not here: seccomp cannot
 * look at strings.)
 *
 * Processes (kvm_proc.c): fork is clone without CLONE_THREAD, CLONE_VM
 * or a namespace; the child stays under this filter and needs a VM of
 * its own: KVM_CREATE_VM on /dev/kvm's descriptor, then
 * KVM_SET_USER_MEMORY_REGION and KVM_CREATE_VCPU on the VM's descriptor
 * number (the child puts its VM there).  execve runs only ringvm itself:
 * execveat of the O_PATH descriptor of /proc/self/exe opened before the
 * filter, AT_EMPTY_PATH, and a path pointer equal to KX_EXEC_PATH_VA (an
 * empty string in a read-only page at a fixed address: a non-empty path
 * would be looked up instead of the descriptor).  wait4, waitid, kill
 * (kvm_proc.c limits whom), setpgid, setsid pass through.
 *
 * A filter outlives execve: the new ringvm starts under this one, keeps
 * the three descriptors at their numbers (--kvm-fds) and stacks its own,
 * identical, filter.  So this one also allows that start-up: the dynamic
 * loader (access, arch_prctl ARCH_SET_FS), libcap's constructor
 * (prctl PR_CAPBSET_READ), the KVM queries on /dev/kvm's descriptor, and
 * libseccomp (seccomp, prctl PR_SET_NO_NEW_PRIVS): each only restricts
 * further or reads. */
#include "kvm_int.h"

#include <asm/prctl.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/prctl.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static const char *const calls[] = {
	/* kvm_sys.c, descriptors and files */
	"read", "write", "pread64", "pwrite64", "readv", "writev", "preadv",
	"pwritev", "openat", "openat2", "open", "close", "fstat", "newfstatat",
	"statx", "fstatfs",
	"lseek", "getdents64", "dup", "dup2", "dup3", "fcntl", "pipe2",
	"faccessat", "faccessat2", "unlinkat", "mkdirat", "fchmodat",
	"fchmod", "renameat2", "readlinkat", "readlink", "fsync", "fdatasync",
	"ftruncate", "sendfile", "poll", "getcwd", "fchdir", "umask",
	/* the calls that follow a last symlink do it through the confined
	 * descriptor's /proc/self/fd name (kvm_sys.c follow()) */
	"chmod", "access", "chown", "truncate", "utimensat", "symlinkat",
	"linkat", "fchownat", "fchown", "flock",
	/* kvm_net.c */
	"socket", "socketpair", "bind", "connect", "listen", "accept4",
	"getsockname", "getpeername", "setsockopt", "getsockopt", "shutdown",
	"sendto", "recvfrom", "sendmsg", "recvmsg", "select", "pselect6",
	"ppoll", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
	/* memory: guest pages dropped (madvise), the VMM's own heap */
	"madvise", "mmap", "munmap", "brk", "mremap", "msync",
	"memfd_create",   /* MAP_SHARED|MAP_ANONYMOUS: shared with children */
	/* ids, time, randomness, limits */
	"getpid", "gettid", "getppid", "getuid", "geteuid", "getgid",
	"getegid", "getpgrp", "getpgid", "getsid", "clock_gettime",
	"clock_getres", "gettimeofday", "time", "nanosleep",
	"clock_nanosleep", "getrandom", "uname", "sysinfo", "prlimit64",
	"getrlimit", "sched_getaffinity", "futex",
	/* processes (clone and execveat: below) */
	"wait4", "waitid", "kill", "setpgid", "setsid",
	/* threads: pthread_create of a vCPU thread (clone is allowed
	 * with CLONE_THREAD only, below) */
	"mprotect", "set_robust_list", "rseq", "sched_yield",
	/* the end: cli/exec.c re-raises a fatal signal at itself */
	"exit", "exit_group", "rt_sigaction", "rt_sigprocmask", "tgkill",
	"rt_sigreturn", "restart_syscall",
	/* the program's signals and timers, the host's (kvm_signal.c) */
	"rt_sigsuspend", "rt_sigpending", "rt_sigtimedwait", "alarm",
	"setitimer", "getitimer", "timer_create", "timer_settime",
	"timer_gettime", "timer_getoverrun", "timer_delete",
	"timerfd_create", "timerfd_settime", "timerfd_gettime", "signalfd4",
	"eventfd2",
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	/* LeakSanitizer's exit check and report symbolization (as in
	 * vmm/sandbox.c): sanitizer builds only. */
	"clone", "ptrace", "prctl",
	"getdents", "sigaltstack", "pipe", "access",
#endif
};

/* Terminal requests kvm_sys.c passes through (any descriptor). */
static const unsigned long tty_ioctls[] = {
	TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ, TIOCSWINSZ, FIONREAD,
	TIOCGPGRP, TIOCSPGRP, FIONBIO, FIOCLEX, FIONCLEX,
};

/* The vCPU requests of the run loop, arch_prctl and a new thread's
 * vCPU set-up (any descriptor: vCPUs come and their numbers are not
 * known here; these requests mean nothing to other files). */
static const unsigned long vcpu_ioctls[] = {
	KVM_RUN, KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS,
	KVM_SET_XCRS, KVM_SET_MSRS, KVM_GET_FPU, KVM_SET_FPU, KVM_SET_CPUID2,
	/* read-only: a ringvm started by execve under this filter asks its
	 * vCPU for the TSC rate and value (kvm_time.c) */
	KVM_GET_TSC_KHZ, KVM_GET_MSRS,
	/* the FPU/vector state of signal frames and new threads */
	KVM_GET_XSAVE, KVM_SET_XSAVE,
};

/* clone flags a fork must not have: a thread (rule of its own), shared
 * memory, namespaces. */
#define NOT_FORK (CLONE_THREAD | CLONE_VM | CLONE_NEWNS | CLONE_NEWCGROUP | \
		  CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | \
		  CLONE_NEWNET)

/* What a ringvm started by execve does before its program runs (see the
 * top). */
static int startup_rules(scmp_filter_ctx ctx, struct kx *k)
{
	static const unsigned long kvm_queries[] = {
		KVM_GET_VCPU_MMAP_SIZE, KVM_GET_SUPPORTED_CPUID,
		KVM_CHECK_EXTENSION,
	};
	static const unsigned long prctls[] = {
		PR_CAPBSET_READ, PR_SET_NO_NEW_PRIVS,
	};
	int rc = 0;
	for (size_t i = 0; !rc && i < 3; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				      SCMP_A0(SCMP_CMP_EQ, (uint64_t)k->kvm),
				      SCMP_A1(SCMP_CMP_EQ, kvm_queries[i]));
	for (size_t i = 0; !rc && i < 2; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				      SCMP_A0(SCMP_CMP_EQ, prctls[i]));
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(arch_prctl),
				      1, SCMP_A0(SCMP_CMP_EQ, ARCH_SET_FS));
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(access), 0);
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
				      SCMP_SYS(set_tid_address), 0);
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(seccomp), 0);
	return rc;
}

/* A forked child's VM (kvm_proc.c) and execve of ringvm itself. */
static int process_rules(scmp_filter_ctx ctx, struct kx *k)
{
	int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				  SCMP_A0(SCMP_CMP_MASKED_EQ, NOT_FORK, 0));
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				      SCMP_A0(SCMP_CMP_EQ, (uint64_t)k->kvm),
				      SCMP_A1(SCMP_CMP_EQ, KVM_CREATE_VM));
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				      SCMP_A0(SCMP_CMP_EQ, (uint64_t)k->vm),
				      SCMP_A1(SCMP_CMP_EQ,
					      KVM_SET_USER_MEMORY_REGION));
	if (!rc && k->self_fd >= 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(execveat), 3,
				      SCMP_A0(SCMP_CMP_EQ, (uint64_t)k->self_fd),
				      SCMP_A1(SCMP_CMP_EQ, KX_EXEC_PATH_VA),
				      SCMP_A4(SCMP_CMP_EQ, AT_EMPTY_PATH));
	if (!rc && k->self_fd >= 0)
		rc = startup_rules(ctx, k);
	return rc;
}

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
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				      SCMP_A1(SCMP_CMP_EQ, vcpu_ioctls[i]));
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				      SCMP_A0(SCMP_CMP_EQ, (uint64_t)k->vm),
				      SCMP_A1(SCMP_CMP_EQ, KVM_CREATE_VCPU));
	/* Host threads (forks: process_rules); clone3's flags sit in
	 * memory seccomp cannot read, so it fails and libc falls back to
	 * clone. */
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD,
					      CLONE_THREAD));
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
				      SCMP_SYS(clone3), 0);
	if (!rc)
		rc = process_rules(ctx, k);
	/* The kernel's own error from the load, not ECANCELED. */
	if (!rc)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	if (!rc)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	/* ENOMEM: the stacked filters reached the kernel's limit (32768
	 * instructions: some 150 execve in a row).  A ringvm started by
	 * execve in the sandbox runs under its predecessor's, identical
	 * filter already (same binary, same pinned numbers); a first start
	 * has none and must fail. */
	if (rc == -ENOMEM && k->cfg->kvm_fds)
		rc = 0;
	return rc ? err_sys(errp, -rc, "seccomp filter") : 0;
}
