/* The container's PID 1: set-up in the new namespaces, then a minimal
 * init that runs the command as its only child, forwards signals to it and
 * reaps every process re-parented to it. */
#include "container/container.h"
#include "container/cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

static void report(int fd, int type, const struct err *e)
{
	struct sync_msg m = { .type = type };
	if (e) {
		m.code = e->code ? e->code : EIO;
		snprintf(m.msg, sizeof(m.msg), "%s", e->msg);
	}
	ssize_t n;
	do
		n = send(fd, &m, sizeof(m), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
}

static void nop_handler(int sig)
{
	(void)sig;
}

/* Signals the init forwards: every catchable one but SIGCHLD. */
static bool forwarded(int sig)
{
	return sig != SIGCHLD && sig != SIGKILL && sig != SIGSTOP;
}

__attribute__((noreturn)) static void supervise(pid_t child)
{
	int status = 0;
	sigset_t all;
	sigfillset(&all);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);
		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			if (forwarded(sig))
				kill(child, sig);
			continue;
		}
		pid_t p;
		while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
			if (p != child)
				continue;
			/* The command is done: its status is ours.  Other
			 * processes die with the pid namespace. */
			if (WIFEXITED(status))
				_exit(WEXITSTATUS(status));
			_exit(128 + WTERMSIG(status));
		}
	}
}

/* process.oomScoreAdj: the init's, which the command inherits.  Done
 * while the init still has every capability (lowering it needs
 * CAP_SYS_RESOURCE); through the host's /proc, before pivot_root. */
static int set_oom_score_adj(const struct oci_config *cfg, struct err *e)
{
	char v[16];
	int n = snprintf(v, sizeof(v), "%d", cfg->oom_score_adj);
	cleanup_close int fd = open("/proc/self/oom_score_adj",
				    O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, v, (size_t)n) != n)
		return err_sys(e, errno, "process.oomScoreAdj: set %s", v);
	return 0;
}

__attribute__((noreturn)) void init_main(struct init_args *a)
{
	const struct oci_config *cfg = a->cfg;
	struct err e = { 0 };
	struct sync_msg m;
	int slave = -1, r;
	char path[OCI_MAX_STR + 1];

	/* Until the runtime says the container exists, its death kills us. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
		err_sys(&e, errno, "init: parent death signal");
		goto fail;
	}
	if (recv(a->sync_fd, &m, sizeof(m), 0) != sizeof(m) || m.type != SYNC_GO)
		_exit(126); /* runtime died or failed: nothing to report to */
	/* Into the cgroup before anything else: the cgroup namespace made
	 * next is rooted where init is. */
	if ((r = cgroup_join_self(a->cg_fds, a->cg_nfds, &e)))
		goto fail;
	if (cfg->has_oom_score_adj && (r = set_oom_score_adj(cfg, &e)))
		goto fail;
	for (int i = 0; i < a->cg_nfds; i++)
		close(a->cg_fds[i]);
	if ((r = ns_enter(cfg, a->ns_fds, &e)))
		goto fail;
	ns_close_paths(a->ns_fds);
	if ((r = mounts_setup(cfg, a->rootfs, a->console_fd, &slave, &e)))
		goto fail;
	if (a->console_fd >= 0)
		close(a->console_fd);
	struct sock_fprog filter;
	if ((r = exec_lookup(cfg, path, sizeof(path), &e)) ||
	    (r = seccomp_prepare(cfg, &filter, &e)) ||
	    (r = exec_rlimits(cfg, &e)))
		goto fail;
	/* Signals wait for sigwaitinfo; handlers exist so that the kernel
	 * delivers signals sent from the parent namespace to a pid-ns init
	 * at all. */
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	struct sigaction sa = { .sa_handler = nop_handler };
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &sa, NULL);
	report(a->sync_fd, SYNC_READY, NULL);
	/* No COMMIT: the runtime failed or died, and undoes the container. */
	if (recv(a->sync_fd, &m, sizeof(m), 0) != sizeof(m) || m.type != SYNC_COMMIT)
		_exit(126);
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	report(a->sync_fd, SYNC_ACK, NULL);
	close(a->sync_fd);

	/* `start` writes one byte to the fifo.  Until then a signal (kill
	 * of a created container) ends the init: there is no command yet
	 * to forward it to. */
	int sfd = signalfd(-1, &all, SFD_CLOEXEC);
	if (sfd < 0)
		_exit(126);
	for (;;) {
		struct pollfd p[2] = { { .fd = a->fifo_fd, .events = POLLIN },
				       { .fd = sfd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si) &&
			    si.ssi_signo != SIGCHLD && si.ssi_signo != SIGWINCH)
				_exit(128 + (int)si.ssi_signo);
			continue;
		}
		char b;
		ssize_t n = read(a->fifo_fd, &b, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != 1)
			_exit(126);
		break;
	}
	close(sfd);
	close(a->fifo_fd);
	/* Init runs the host's ringvm binary: not dumpable, its /proc/1/exe,
	 * mem and fds are out of reach of the container's processes (which
	 * lack CAP_SYS_PTRACE), so they cannot read or reopen the binary
	 * (CVE-2019-5736-style).  Only now, at start: a non-dumpable
	 * process's /proc files belong to root (of the user namespace its
	 * memory was made in), and a rootless runtime must open init's
	 * uid_map and, between create and start, its namespaces (network
	 * set-up).  No container process exists before this point. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		fprintf(stderr, "ringvm init: set non-dumpable: %s\n", strerror(errno));
		_exit(126);
	}

	pid_t child = fork();
	if (child < 0) {
		fprintf(stderr, "ringvm init: fork: %s\n", strerror(errno));
		_exit(126);
	}
	if (child == 0) {
		sigset_t none;
		sigemptyset(&none);
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		for (int s = 1; s < NSIG; s++)
			if (s != SIGKILL && s != SIGSTOP)
				sigaction(s, &dfl, NULL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		exec_process(cfg, path, slave, &filter, &e);
		fprintf(stderr, "ringvm: %s\n", e.msg);
		_exit(127);
	}
	if (slave >= 0)
		close(slave);
	supervise(child);

fail:
	report(a->sync_fd, SYNC_ERROR, &e);
	_exit(126);
}
