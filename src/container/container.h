/* The container runtime's internal steps, in the order a container is set
 * up (docs/CONTAINERS.md "Set-up order").  Each step runs in the process
 * named in its comment, returns 0 or -errno with a message that names the
 * step, and undoes nothing itself: a failed container's namespaces and
 * mounts vanish with its processes, its cgroup with cgroup_destroy(). */
#ifndef RINGVM_CONTAINER_CONTAINER_H
#define RINGVM_CONTAINER_CONTAINER_H

#include <signal.h>
#include <stdbool.h>
#include <linux/filter.h>
#include <sys/types.h>

#include "container/config.h"
#include "core/err.h"

/* ---- ns.c (runtime process, then init) ---- */

/* clone(2) flags for the namespaces cfg wants created fresh (cgroup is
 * left out: init unshares it after it has been moved to its cgroup). */
int ns_clone_flags(const struct oci_config *cfg);

/* Open every linux.namespaces[].path (O_RDONLY) into fds[OCI_NS_COUNT]
 * (-1 where none), so a bad path fails before anything is created. */
int ns_open_paths(const struct oci_config *cfg, int fds[OCI_NS_COUNT],
		  struct err *errp);
void ns_close_paths(int fds[OCI_NS_COUNT]);

/* In the runtime process, before init goes on: write init's uid_map and
 * gid_map from linux.uidMappings/gidMappings when it has a new user
 * namespace. */
int ns_write_idmaps(const struct oci_config *cfg, pid_t pid, struct err *errp);

/* In init: become root of a new user namespace, setns() into the opened namespaces, unshare the cgroup
 * namespace if wanted, set the hostname, bring up lo in a fresh netns. */
int ns_enter(const struct oci_config *cfg, const int fds[OCI_NS_COUNT],
	     struct err *errp);

/* ---- mounts.c (init, in its mount namespace) ---- */

/* Open `path` below the directory rootfd without leaving it: `..` and
 * symlinks (absolute ones too) resolve as if rootfd were `/`
 * (openat2 RESOLVE_IN_ROOT).  Missing components are created as
 * directories, the last one as a directory or (file=true) an empty file
 * when create is set.  Returns an O_PATH fd or -errno. */
int path_in_root(int rootfd, const char *path, bool create, bool file);

/* Make / private, bind rootfs onto itself and mount cfg->mounts into it
 * (with a tmpfs /dev if none is configured), create the default devices,
 * set up the console (when console_sock >= 0: a pty whose master goes to
 * that socket and whose slave is returned in *slave), pivot_root into
 * rootfs and apply maskedPaths, readonlyPaths and root.readonly. */
int mounts_setup(const struct oci_config *cfg, const char *rootfs,
		 int console_sock, int *slave, struct err *errp);

/* ---- cgroupfs.c ---- */

/* Mount the container's cgroup tree at m->destination (flags: MS_RDONLY,
 * MS_NOSUID, ...).  private_ns: the init has its own cgroup namespace and
 * no user namespace, so v1 hierarchies show only its own cgroup. */
int cgroupfs_mount(int rootfd, const struct oci_mount *m, unsigned long flags,
		   bool private_ns, struct err *errp);

/* ---- devices.c ---- */

/* Create the OCI default devices (null zero full random urandom tty) and
 * the /dev/fd, stdin, stdout, stderr, ptmx links below rootfd's /dev. */
int devices_create(int rootfd, struct err *errp);

/* ---- console.c ---- */

/* Open a pty inside the container's devpts (rootfd's /dev/pts/ptmx), send
 * the master to sock with SCM_RIGHTS (runc's console-socket protocol),
 * bind the slave on /dev/console and return it in *slave. */
int console_setup(int rootfd, int sock, int *slave, struct err *errp);

/* Send fd over the unix socket sock (SCM_RIGHTS, payload `name`). */
int send_fd(int sock, int fd, const char *name, struct err *errp);

/* ---- attach.c ---- */

/* Receive one fd sent with send_fd(); returns it or -errno. */
int recv_fd(int sock, struct err *errp);

/* Wait for the child pid (init) to exit into *status.  The signals in set
 * (blocked by the caller) are taken with a signalfd: SIGCHLD reaps, the
 * others are forwarded to pid, except SIGWINCH when master >= 0, which
 * copies stdin's window size to the pty.  With master >= 0, stdin (raw
 * while attached, when a terminal) goes to the pty and the pty's output
 * to stdout.  Returns 0 or -errno (signalfd). */
int attach_wait(pid_t pid, int master, const sigset_t *set, int *status);

/* ---- caps.c, seccomp.c (the command's process, just before exec) ---- */

/* Drop the bounding set to cfg's (or the default), switch to the
 * configured uid/gids keeping caps, then set effective, permitted,
 * inheritable and ambient sets. */
int caps_apply(const struct oci_config *cfg, struct err *errp);

/* Compile cfg->seccomp, or ringvm's default deny-list profile when the
 * config has none, into a BPF program (in init, before READY, so a bad
 * profile fails `create`).  prog->filter is malloc'd. */
int seccomp_prepare(const struct oci_config *cfg, struct sock_fprog *prog,
		    struct err *errp);

/* Install prog on the calling thread.  Needs no_new_privs or
 * CAP_SYS_ADMIN. */
int seccomp_install(const struct sock_fprog *prog, struct err *errp);

/* Install ringvm's device-node filter (devfilter.c): mknod/mknodat of a
 * block device, or of a character device other than runtime-spec's
 * default devices, fail with EPERM whatever the config's profile allows.
 * Same privilege rules as seccomp_install.  0 or -errno. */
int devfilter_install(struct err *errp);

/* ---- exec.c ---- */

/* Find cfg->args[0] along the PATH in cfg->env (or the default PATH) in
 * the current root; out receives the path (cap bytes).  -ENOENT if no
 * executable file is found. */
int exec_lookup(const struct oci_config *cfg, char *out, size_t cap,
		struct err *errp);

/* In init, before READY: apply process.rlimits (the command inherits
 * them), so a limit that cannot be set fails `create`. */
int exec_rlimits(const struct oci_config *cfg, struct err *errp);

/* In the command's process: session, controlling terminal (slave >= 0),
 * cwd, user, capabilities, no_new_privs, seccomp, then execve.  Returns
 * only on failure. */
int exec_process(const struct oci_config *cfg, const char *path, int slave,
		 const struct sock_fprog *filter, struct err *errp);

/* ---- init.c ---- */

/* Everything a new container's init needs from the runtime process. */
struct init_args {
	const struct oci_config *cfg;
	const char *rootfs;      /* absolute */
	int sync_fd;             /* SOCK_SEQPACKET to the runtime process */
	int fifo_fd;             /* exec fifo, opened O_RDWR: start writes */
	int console_fd;          /* console socket or -1 */
	int ns_fds[OCI_NS_COUNT];
	int cg_fds[4];           /* v1 `tasks` files to join (CG_MAX_DIRS) */
	int cg_nfds;
};

/* Body of the container's PID 1; never returns.  Reports set-up errors on
 * sync_fd, then waits on the fifo for `start`, runs the command as its
 * child, forwards signals to it, reaps every zombie and exits with the
 * command's status (128+N if killed by signal N). */
__attribute__((noreturn)) void init_main(struct init_args *a);

/* Messages on the sync socket: runtime GO (cgroup joined), init READY or
 * ERROR, runtime COMMIT (state saved), init ACK (parent-death signal
 * cleared: the runtime may exit now without taking init with it). */
enum { SYNC_GO = 1, SYNC_READY, SYNC_ERROR, SYNC_COMMIT, SYNC_ACK };
struct sync_msg {
	int type;
	int code;                /* errno for SYNC_ERROR */
	char msg[512];
};

#endif
