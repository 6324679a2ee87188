/* Process confinement with seccomp-bpf (libseccomp), as Firecracker does.
 *
 * After set-up (every image, socket and TAP open, the guest loaded) a
 * process calls sandbox_enter_vmm() or sandbox_enter_switch(): from then on
 * only the system calls its steady state needs are allowed, several of them
 * only with the arguments it uses (ioctl request codes, socket families,
 * no PROT_EXEC).  Everything else — open/openat, execve, ptrace, mount,
 * clone, new unix sockets of other kinds... — raises SIGSYS; the handler
 * restores the terminal, writes one line naming the call on stderr and
 * ends the process with SANDBOX_EXIT_STATUS.  PR_SET_NO_NEW_PRIVS is set
 * first, so the filter needs no privilege and is inherited by nothing new
 * (no calls that make processes are allowed anyway).
 *
 * The lists, with why each call is needed, are in sandbox.c; README.md and
 * docs/SECURITY.md describe what a confined process can still reach.
 *
 * Process-wide: a seccomp filter and a SIGSYS handler are per process by
 * nature; the syscall-name table the handler prints from is static. */
#ifndef RINGVM_VMM_SANDBOX_H
#define RINGVM_VMM_SANDBOX_H

#include <stdbool.h>

#include "core/err.h"

/* Exit status of a process stopped by the filter (README: exit statuses). */
#define SANDBOX_EXIT_STATUS 4

/* What the VMM's steady state uses beyond its core (memory, fds it holds,
 * epoll, the console): each flag adds the calls of one backend. */
struct sandbox_vmm {
	bool net_user;    /* libslirp: AF_INET/AF_INET6 sockets for guest
			   * connections, stat of /etc/resolv.conf */
	bool net_switch;  /* switch port: reconnects with a new AF_UNIX
			   * SOCK_SEQPACKET socket (and no other kind) */
	bool snapshot;    /* vm_snapshot from the control socket: creates
			   * the snapshot directory and its files, hard
			   * links, renames and opens disk overlays (paths
			   * the user names: the filter cannot restrict
			   * them) */
	bool api;         /* control socket (vmm/api.h): accept4 on its
			   * listening socket, unlinkat of the socket in
			   * api_dirfd at exit (that directory only) */
	int api_dirfd;
	bool migrate;     /* live migration (vmm/migrate.h) may start: a
			   * thread for it (clone of a thread only), a
			   * stream socket (AF_INET/AF_INET6/AF_UNIX) to the
			   * target, and taking a disk's lock back (flock
			   * LOCK_EX|LOCK_NB) when it fails */
};

/* Confine the calling `ringvm run` process: the filter binds every
 * thread of the process (TSYNC: device I/O threads started during set-up
 * too) and threads created later.  Call once, after
 * set-up.  Returns 0, or -errno with errp naming the problem (the kernel
 * lacks seccomp, libseccomp refused a rule). */
int sandbox_enter_vmm(const struct sandbox_vmm *o, struct err *errp);

/* Confine the `ringvm switch` process after its sockets are bound.
 * dirfd: an O_PATH descriptor of the directory holding the switch's
 * sockets; unlinkat() is allowed on that descriptor only (the sockets are
 * removed at exit).  Returns 0 or -errno. */
int sandbox_enter_switch(int dirfd, struct err *errp);

/* Test hook: when RINGVM_TEST_SECCOMP_PROBE names a probe, make that
 * forbidden call now (from a confined process, this must end it):
 *   openat           open /etc/hostname read-only
 *   execve           execve a path that does not exist
 *   socket-unix      create an AF_UNIX SOCK_STREAM socket
 *   mprotect-exec    make a page executable
 * Without the variable, or with the filter off (the call then succeeds or
 * fails harmlessly), this returns.  Unknown names return too. */
void sandbox_test_probe(void);

#endif
