/* seccomp filters of `ringvm run` and `ringvm switch`; see sandbox.h.
 *
 * Default action: SCMP_ACT_TRAP (SIGSYS), so a violation is reported by
 * name instead of a bare "Bad system call".  The lists are per group, each
 * with the reason the steady state needs it; the lists were found by running
 * the system tests (boot, disks raw/qcow2 with writes and discard, net user/
 * tap/switch, console, reboot/poweroff, Ctrl-A x) with the filter reporting
 * and under `strace -f -c`. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <termios.h>
#include <ucontext.h>
#include <unistd.h>

#include "vmm/console.h"

/* Names of syscall numbers for the SIGSYS handler, filled at install time
 * (the handler must not call libseccomp, which allocates). */
#define NAME_MAX_NR 512
#define NAME_LEN 24
static char sys_names[NAME_MAX_NR][NAME_LEN];
/* /etc/resolv.conf opened before confinement when libslirp forwards DNS
 * (see serve_resolv_conf); -1 otherwise. */
static volatile int resolv_fd = -1;

/* ---- the lists --------------------------------------------------------- */

/* Calls allowed with any arguments, by group. */
static const char *const common_calls[] = {
	/* I/O on descriptors opened during set-up: disk images (positioned,
	 * vectored: raw and qcow2 drivers), TAP, sockets, console, epoll. */
	"read", "write", "readv", "writev", "pread64", "pwrite64",
	"preadv", "pwritev", "preadv2", "pwritev2", "lseek", "close",
	/* Guest FLUSH is fdatasync; discard and write-zeroes punch holes
	 * (fallocate); qcow2 grows its file by writing past the end. */
	"fsync", "fdatasync", "fallocate",
	/* The event loop and timers (switch port reconnect back-off). */
	"epoll_wait", "epoll_pwait", "epoll_ctl", "poll", "ppoll",
	"timerfd_settime", "timerfd_gettime",
	/* Time: normally the vDSO, the syscalls when it is not mapped. */
	"clock_gettime", "clock_getres", "gettimeofday", "nanosleep",
	"clock_nanosleep",
	/* glibc internals: locks (stdio), heap (brk/mmap, see
	 * add_memory_rules for the PROT_EXEC check), signal return. */
	"futex", "brk", "munmap", "mremap", "madvise",
	"rt_sigreturn", "rt_sigprocmask", "restart_syscall",
	/* Exiting, and the console's fatal-signal path: it re-raises the
	 * signal at itself (rt_sigaction SIG_DFL, getpid/gettid, tgkill:
	 * see add_signal_rules for the target check). */
	"exit", "exit_group", "getpid", "gettid", "rt_sigaction",
	/* Sockets the process holds (slirp, switch port, switch clients). */
	"sendto", "recvfrom", "sendmsg", "recvmsg", "shutdown",
	/* Entropy for libslirp (TCP ISNs, DHCP xids) and json-c hashing. */
	"getrandom",
	/* A hart spinning on PAUSE (Zihintpause) gives its host CPU away, so
	 * that with more harts than host CPUs the one it waits for runs. */
	"sched_yield",
	/* stdio asks the size of stdout/stderr (fstat on a descriptor). */
	"fstat",
};

/* libslirp: each guest TCP/UDP/ICMP flow or hostfwd connection is a host
 * socket made while the guest runs (the family is checked, see
 * add_socket_rules). */
static const char *const slirp_calls[] = {
	"connect", "bind", "listen", "accept", "accept4", "setsockopt",
	"getsockopt", "getsockname", "getpeername",
	/* Non-blocking mode on new sockets. */
	"fcntl",
	/* DNS forwarding reads /etc/resolv.conf on the first query and checks
	 * whether it changed (stat: a path's metadata, never its content);
	 * the open itself is answered by the SIGSYS handler with a dup of a
	 * descriptor opened before confinement (serve_resolv_conf). */
	"newfstatat", "dup",
};

/* Switch port: a lost connection is re-made with a new SOCK_SEQPACKET
 * socket to the same path (socket family/type checked). */
static const char *const swport_calls[] = {
	"connect", "setsockopt",
};

/* Snapshots (vmm/snapshot.c): the temp dir and its files (mkdir,
 * openat O_CREAT, getdents to see DIR is empty), the frozen base as a
 * hard link, renames of the dir and of each disk's new overlay,
 * read-only bases (chmod), removal on failure, realpath (readlink,
 * getcwd), and opening the overlay like any disk (stat, fcntl for
 * O_NONBLOCK, flock LOCK_EX/LOCK_SH: add_flock_rule); writeback of the
 * files started early (sync_file_range). */
static const char *const snapshot_calls[] = {
	"mkdir", "mkdirat", "open", "openat", "getdents64", "link", "linkat",
	"rename", "renameat", "renameat2", "unlink", "unlinkat", "rmdir",
	"chmod", "fchmodat", "fchmod", "ftruncate", "readlink",
	"readlinkat", "getcwd", "newfstatat", "stat", "lstat", "statx",
	"fcntl", "sync_file_range",
};

/* The control socket (vmm/api.c): new clients on its listening socket
 * (non-blocking, close-on-exec through accept4's flags). */
static const char *const api_calls[] = {
	"accept4",
};

/* Live migration (vmm/migrate_send.c): the source's thread connects to
 * the target (non-blocking connect, then poll; timeouts by setsockopt;
 * SO_ERROR); glibc's new thread registers its robust list and rseq area
 * (see add_migrate_rules for clone). */
static const char *const migrate_calls[] = {
	"connect", "setsockopt", "getsockopt", "fcntl",
	"set_robust_list", "rseq",
};

/* The switch process: clients connect and send frames; the control socket
 * answers `show` (pid, SO_PEERCRED of ports, timeouts). */
static const char *const switch_calls[] = {
	/* Frames and control requests on the sockets it holds; the stop
	 * signals arrive on a signalfd (read). */
	"read", "write", "readv", "writev", "close",
	"sendto", "recvfrom", "sendmsg", "recvmsg", "shutdown",
	/* Its loop, and the MAC ageing timer. */
	"epoll_wait", "epoll_pwait", "epoll_ctl",
	"timerfd_settime", "timerfd_gettime",
	"clock_gettime", "clock_getres", "gettimeofday", "nanosleep",
	"clock_nanosleep",
	/* glibc internals: locks, heap (no PROT_EXEC: add_memory_rules),
	 * signal return and exit. */
	"futex", "brk", "munmap", "mremap", "madvise",
	"rt_sigreturn", "rt_sigprocmask", "restart_syscall",
	"exit", "exit_group", "getpid", "gettid", "rt_sigaction",
	/* New clients on its two listening sockets: accept, buffer sizes
	 * and timeouts, SO_PEERCRED (the VM's pid for `show`). */
	"accept", "accept4", "setsockopt", "getsockopt", "fcntl",
	/* json-c's hash seed (`show`), stdio's fstat of stderr. */
	"getrandom", "fstat",
};

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
/* Sanitizer builds only (build/asan/ringvm, build/tsan/ringvm, never the
 * release binary): LeakSanitizer's exit check stops the world with a
 * ptrace-ing clone and reads /proc/self/{maps,task}; reports are
 * symbolized from /proc/self/exe; TSan's thread start asks for the
 * thread's stack and affinity.  Allowing these keeps the sandbox on in the
 * sanitizer system tests. */
static const char *const asan_calls[] = {
	"clone", "ptrace", "wait4", "waitid", "prctl", "sched_yield",
	"getppid", "openat", "open", "getdents", "getdents64", "readlink",
	"readlinkat", "sigaltstack", "lseek", "sched_getaffinity", "pipe",
	"pipe2", "getrlimit", "prlimit64", "setrlimit", "uname", "dup",
	"dup2", "dup3", "access",
};
#endif

/* ---- building the filter ---------------------------------------------- */

static int add_names(scmp_filter_ctx ctx, const char *const *names, size_t n,
		     struct err *errp)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not a syscall on this architecture */
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (rc < 0)
			return err_sys(errp, -rc, "seccomp: allow %s", names[i]);
	}
	return 0;
}

#define ADD_NAMES(ctx, a, e) add_names(ctx, a, sizeof(a) / sizeof(a[0]), e)

static int rule(const char *what, int rc, struct err *errp)
{
	if (rc < 0)
		return err_sys(errp, -rc, "seccomp: rule for %s", what);
	return 0;
}

/* Anonymous and file mappings for the heap and guest RAM, never
 * executable: an escaped guest cannot map shellcode it wrote. */
static int add_memory_rules(scmp_filter_ctx ctx, struct err *errp)
{
	int rc = rule("mmap",
		      seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)),
		      errp);
	if (!rc)
		rc = rule("mprotect",
			  seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
					   SCMP_SYS(mprotect), 1,
					   SCMP_A2(SCMP_CMP_MASKED_EQ,
						   PROT_EXEC, 0)), errp);
	return rc;
}

/* Signals only to this process (the console re-raises a fatal signal). */
static int add_signal_rules(scmp_filter_ctx ctx, struct err *errp)
{
	scmp_datum_t self = (scmp_datum_t)getpid();
	int rc = rule("tgkill",
		      seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				       SCMP_A0(SCMP_CMP_EQ, self)), errp);
	if (!rc)
		rc = rule("kill",
			  seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill),
					   1, SCMP_A0(SCMP_CMP_EQ, self)), errp);
	return rc;
}

/* Terminal ioctls: isatty (TCGETS, any fd) and the console's raw mode
 * restore (TCSETS* on stdin only). */
static int add_ioctl_rules(scmp_filter_ctx ctx, struct err *errp)
{
	static const unsigned long sets[] = { TCSETS, TCSETSW, TCSETSF };
	int rc = rule("ioctl TCGETS",
		      seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				       SCMP_A1(SCMP_CMP_EQ, TCGETS)), errp);
	for (size_t i = 0; !rc && i < sizeof(sets) / sizeof(sets[0]); i++)
		rc = rule("ioctl TCSETS",
			  seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl),
					   2, SCMP_A0(SCMP_CMP_EQ, 0),
					   SCMP_A1(SCMP_CMP_EQ, sets[i])), errp);
	return rc;
}

/* fstat() is newfstatat(fd, "", buf, AT_EMPTY_PATH) in glibc >= 2.33: a
 * descriptor, never a path. */
static int add_fstat_rule(scmp_filter_ctx ctx, struct err *errp)
{
	return rule("newfstatat",
		    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat),
				     1, SCMP_A3(SCMP_CMP_MASKED_EQ,
						AT_EMPTY_PATH, AT_EMPTY_PATH)),
		    errp);
}

/* Unlocking an image at exit (close would release it too); with
 * snapshots, locking a new overlay and sharing a frozen base's lock. */
static int add_flock_rule(scmp_filter_ctx ctx, const struct sandbox_vmm *o,
			  struct err *errp)
{
	static const int snap_ops[] = { LOCK_SH | LOCK_NB, LOCK_EX | LOCK_NB };
	int rc = rule("flock",
		      seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(flock), 1,
				       SCMP_A1(SCMP_CMP_EQ, LOCK_UN)), errp);
	for (size_t i = 0; !rc && o->snapshot && i < 2; i++)
		rc = rule("flock",
			  seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(flock),
					   1, SCMP_A1(SCMP_CMP_EQ, snap_ops[i])),
			  errp);
	return rc;
}

/* socket() and ioctl(FIONREAD) for slirp: internet families; AF_UNIX only as SOCK_SEQPACKET
 * for the switch port (the type's low bits; SOCK_CLOEXEC/NONBLOCK may be
 * or'ed in), so no stream socket to a local daemon can be made. */
static int add_socket_rules(scmp_filter_ctx ctx, const struct sandbox_vmm *o,
			    struct err *errp)
{
	int rc = 0;
	if (o->net_user) {
		rc = rule("socket AF_INET",
			  seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket),
					   1, SCMP_A0(SCMP_CMP_EQ, AF_INET)),
			  errp);
		if (!rc)
			rc = rule("socket AF_INET6",
				  seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
						   SCMP_SYS(socket), 1,
						   SCMP_A0(SCMP_CMP_EQ, AF_INET6)),
				  errp);
	}
	/* libslirp sizes a pending UDP datagram before it reads it. */
	if (!rc && o->net_user)
		rc = rule("ioctl FIONREAD",
			  seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl),
					   1, SCMP_A1(SCMP_CMP_EQ, FIONREAD)),
			  errp);
	if (!rc && o->net_switch)
		rc = rule("socket AF_UNIX",
			  seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket),
					   2, SCMP_A0(SCMP_CMP_EQ, AF_UNIX),
					   SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf,
						   SOCK_SEQPACKET)), errp);
	return rc;
}

/* Live migration: its thread (clone with the flags of a thread, never a
 * new process; clone3, whose flags sit in memory the filter cannot read,
 * fails with ENOSYS so that glibc falls back to clone), stream sockets to
 * the target, and flock LOCK_EX|LOCK_NB to take a disk's lock back. */
static int add_migrate_rules(scmp_filter_ctx ctx, struct err *errp)
{
	const scmp_datum_t thr = CLONE_VM | CLONE_THREAD | CLONE_SIGHAND;
	int rc = rule("clone thread",
		      seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				       SCMP_A0(SCMP_CMP_MASKED_EQ, thr, thr)),
		      errp);
	if (!rc)
		rc = rule("clone3",
			  seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
					   SCMP_SYS(clone3), 0), errp);
	static const int fam[] = { AF_INET, AF_INET6, AF_UNIX };
	for (unsigned i = 0; !rc && i < 3; i++)
		rc = rule("socket migrate",
			  seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket),
					   2, SCMP_A0(SCMP_CMP_EQ,
						      (scmp_datum_t)fam[i]),
					   SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf,
						   SOCK_STREAM)), errp);
	if (!rc)
		rc = rule("flock LOCK_EX",
			  seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(flock),
					   1, SCMP_A1(SCMP_CMP_EQ,
						      LOCK_EX | LOCK_NB)), errp);
	return rc;
}

/* ---- the violation handler -------------------------------------------- */

static void put_str(char *buf, size_t *len, size_t cap, const char *s)
{
	while (*s && *len < cap)
		buf[(*len)++] = *s++;
}

static void put_num(char *buf, size_t *len, size_t cap, long v)
{
	char d[24];
	int n = 0;
	unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;
	do {
		d[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0 && *len < cap)
		buf[(*len)++] = '-';
	while (n && *len < cap)
		buf[(*len)++] = d[--n];
}

#ifdef __x86_64__
/* libslirp opens /etc/resolv.conf when the guest first asks its DNS proxy
 * (and again when the file changed): that one read-only open is answered
 * with a duplicate of the descriptor opened before confinement, rewound,
 * so DNS forwarding works (with the servers the file named at start, if
 * it was replaced since) and no path is ever opened. */
static bool serve_resolv_conf(int nr, ucontext_t *uc)
{
	greg_t *g = uc->uc_mcontext.gregs;
	const char *path;
	long flags;
	if (nr == SYS_openat) {
		path = (const char *)g[REG_RSI];
		flags = g[REG_RDX];
	} else if (nr == SYS_open) {
		path = (const char *)g[REG_RDI];
		flags = g[REG_RSI];
	} else {
		return false;
	}
	static const char want[] = "/etc/resolv.conf";
	if ((flags & (O_ACCMODE | O_CREAT | O_TRUNC)) != O_RDONLY || !path)
		return false;
	for (size_t i = 0; i < sizeof(want); i++)
		if (path[i] != want[i])
			return false;
	int saved = errno;
	long fd = -1;
	if (lseek(resolv_fd, 0, SEEK_SET) == 0)
		fd = dup(resolv_fd);
	g[REG_RAX] = fd >= 0 ? fd : -errno;
	errno = saved;
	return true;
}
#else
static bool serve_resolv_conf(int nr, ucontext_t *uc)
{
	return false;
}
#endif

/* Async-signal-safe: no allocation, no stdio; write(2), the terminal
 * restore (an ioctl the filter allows) and _exit. */
static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	int nr = si->si_syscall;
	if (resolv_fd >= 0 && serve_resolv_conf(nr, ctx))
		return;
	console_restore_tty_now();
	char buf[160];
	size_t len = 0;
	put_str(buf, &len, sizeof(buf), "ringvm: sandbox: forbidden "
		"system call ");
	if (nr >= 0 && nr < NAME_MAX_NR && sys_names[nr][0]) {
		put_str(buf, &len, sizeof(buf), sys_names[nr]);
		put_str(buf, &len, sizeof(buf), " (");
		put_num(buf, &len, sizeof(buf), nr);
		put_str(buf, &len, sizeof(buf), ")");
	} else {
		put_num(buf, &len, sizeof(buf), nr);
	}
	put_str(buf, &len, sizeof(buf), "; stopped (--seccomp=off disables "
		"the filter)\n");
	if (write(2, buf, len) < 0) {
		/* nothing left to tell */
	}
	_exit(SANDBOX_EXIT_STATUS);
}

static void fill_names(void)
{
	for (int nr = 0; nr < NAME_MAX_NR; nr++) {
		char *n = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
		if (n) {
			strncpy(sys_names[nr], n, NAME_LEN - 1);
			free(n);
		}
	}
}

/* Handler first, then no-new-privs, then the filter (after which
 * sigaction and prctl may be forbidden). */
static int install(scmp_filter_ctx ctx, struct err *errp)
{
	fill_names();
	struct sigaction sa = { .sa_sigaction = on_sigsys,
				.sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return err_sys(errp, errno, "sandbox: SIGSYS handler");
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_sys(errp, errno, "sandbox: PR_SET_NO_NEW_PRIVS");
	/* glibc sizes its malloc arena limit lazily, reading /sys (openat)
	 * on the first malloc of a thread once 8 arenas exist; disk I/O
	 * threads (16 per qcow2 disk, allocating metadata buffers) get
	 * there under the filter.  Fix the limit now to glibc's default. */
	mallopt(M_ARENA_MAX, 8 * get_nprocs());
	/* Every thread of the VM (vCPUs, I/O, disk workers) exists by now:
	 * the filter must hold for all of them, not just this one. */
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc < 0)
		return err_sys(errp, -rc, "sandbox: seccomp thread sync");
	rc = seccomp_load(ctx);
	if (rc < 0)
		return err_sys(errp, -rc, "sandbox: loading the seccomp filter "
			       "(try --seccomp=off on a kernel without seccomp)");
	return 0;
}

static int add_common(scmp_filter_ctx ctx, struct err *errp)
{
	int rc;
	if ((rc = add_memory_rules(ctx, errp)) < 0 ||
	    (rc = add_signal_rules(ctx, errp)) < 0 ||
	    (rc = add_ioctl_rules(ctx, errp)) < 0 ||
	    (rc = add_fstat_rule(ctx, errp)) < 0)
		return rc;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	rc = ADD_NAMES(ctx, asan_calls, errp);
#endif
	return rc;
}

int sandbox_enter_vmm(const struct sandbox_vmm *o, struct err *errp)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		return err_set(errp, ENOMEM, "sandbox: seccomp_init failed");
	int rc;
	if ((rc = ADD_NAMES(ctx, common_calls, errp)) < 0 ||
	    (rc = add_common(ctx, errp)) < 0 ||
	    (rc = add_flock_rule(ctx, o, errp)) < 0 ||
	    (rc = add_socket_rules(ctx, o, errp)) < 0 ||
	    (o->net_user && (rc = ADD_NAMES(ctx, slirp_calls, errp)) < 0) ||
	    (o->net_switch && (rc = ADD_NAMES(ctx, swport_calls, errp)) < 0) ||
	    (o->snapshot && (rc = ADD_NAMES(ctx, snapshot_calls, errp)) < 0) ||
	    (o->api && (rc = ADD_NAMES(ctx, api_calls, errp)) < 0) ||
	    (o->migrate && ((rc = ADD_NAMES(ctx, migrate_calls, errp)) < 0 ||
			    (rc = add_migrate_rules(ctx, errp)) < 0)))
		goto out;
	/* The control socket is removed at exit relative to its directory:
	 * no other directory's entries can be unlinked. */
	if (o->api &&
	    (rc = rule("unlinkat api",
		       seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(unlinkat),
					2, SCMP_A0(SCMP_CMP_EQ,
						   (scmp_datum_t)o->api_dirfd),
					SCMP_A2(SCMP_CMP_EQ, 0)), errp)) < 0)
		goto out;
	if (o->net_user && resolv_fd < 0)
		resolv_fd = open("/etc/resolv.conf", O_RDONLY | O_CLOEXEC);
	rc = install(ctx, errp);
out:
	seccomp_release(ctx);
	return rc;
}

int sandbox_enter_switch(int dirfd, struct err *errp)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		return err_set(errp, ENOMEM, "sandbox: seccomp_init failed");
	int rc;
	if ((rc = ADD_NAMES(ctx, switch_calls, errp)) < 0 ||
	    (rc = add_common(ctx, errp)) < 0)
		goto out;
	/* The sockets are removed at exit relative to their directory: no
	 * other directory's entries can be unlinked. */
	rc = rule("unlinkat",
		  seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(unlinkat), 2,
				   SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)dirfd),
				   SCMP_A2(SCMP_CMP_EQ, 0)), errp);
	if (!rc)
		rc = install(ctx, errp);
out:
	seccomp_release(ctx);
	return rc;
}

void sandbox_test_probe(void)
{
	const char *p = getenv("RINGVM_TEST_SECCOMP_PROBE");
	if (!p)
		return;
	if (!strcmp(p, "openat")) {
		int fd = openat(AT_FDCWD, "/etc/hostname", O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
	} else if (!strcmp(p, "execve")) {
		char *const argv[] = { "ringvm-probe", NULL };
		execve("/nonexistent/ringvm-probe", argv, argv + 1);
	} else if (!strcmp(p, "socket-unix")) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0)
			close(fd);
	} else if (!strcmp(p, "mprotect-exec")) {
		void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m != MAP_FAILED) {
			mprotect(m, 4096, PROT_READ | PROT_EXEC);
			munmap(m, 4096);
		}
	}
}
