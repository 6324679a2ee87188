/* The supervisor of a detached container (docker's containerd-shim,
 * podman's conmon): a process of its own session whose log pump child
 * writes the container's stdout and stderr to its log (container/ctrlog.h:
 * streams apart, each line timed), waits for the container through
 * rt_run (which forwards signals and deletes the runtime state), then
 * records the exit code and unmounts the rootfs. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "container.h"
#include "container/ctr.h"
#include "container/ctrlog.h"
#include "container/ctrnet.h"
#include "container/runtime.h"

int ctr_hook_created(void *arg, pid_t pid, struct err *errp)
{
	struct ctr_hooks *h = arg;
	if (!h->m->net[0])
		return 0;
	return ctr_net_start(pid, h->m->net, h->m->addr[0] ? h->m->addr : NULL,
			     &h->net, errp);
}

/* What the supervisor tells `run -d` over the pipe: 'O' when the command
 * runs, else 'E', the exit status byte and the message. */
void ctr_hook_started(void *arg)
{
	struct ctr_hooks *h = arg;
	if (h->notify_fd >= 0) {
		/* On a failed write the parent sees EOF and reports it. */
		ssize_t w = write(h->notify_fd, "O", 1);
		(void)w;
		close(h->notify_fd);
		h->notify_fd = -1;
	}
}

static __attribute__((noreturn)) void supervise(struct store *s,
						  struct ctr_meta *m, bool rm,
						  int fd)
{
	char dir[PATH_MAX], log[PATH_MAX + 16], rtroot[PATH_MAX];
	ctr_dir(s, m->id, dir, sizeof(dir));
	ctr_rt_root(s, rtroot, sizeof(rtroot));
	snprintf(log, sizeof(log), "%s/ctr.log", dir);
	int lf = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (lf < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(lf, 1) < 0 || dup2(lf, 2) < 0)
		_exit(1);
	close(lf);
	close(nul);
	/* Nothing of our caller's stays open here for the container's
	 * lifetime (a `$(run -d)` pipe would never see EOF). */
	int keep[2] = { s->rootfd < fd ? s->rootfd : fd, s->rootfd < fd ? fd : s->rootfd };
	unsigned lo = 3;
	for (int i = 0; i < 2; i++) {
		if (keep[i] >= (int)lo) {
			if (keep[i] > (int)lo)
				syscall(SYS_close_range, lo, (unsigned)keep[i] - 1, 0);
			lo = (unsigned)keep[i] + 1;
		}
	}
	syscall(SYS_close_range, lo, ~0u, 0);
	/* The log pump (conmon's job): a process of its own, so that the
	 * runtime's forks below never copy a thread mid-write.  It writes
	 * to fd 1, the log, and ends when every writer of both pipes (the
	 * container's processes, and this supervisor) is gone. */
	int po[2], pe[2];
	if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC))
		_exit(1);
	pid_t pump = fork();
	if (pump < 0)
		_exit(1);
	if (pump == 0) {
		/* Only the pipes and the log: `run -d` must see the notify
		 * pipe's end when the supervisor closes it. */
		close(fd);
		close(s->rootfd);
		close(po[1]);
		close(pe[1]);
		struct ctrlog_rotation rot = { log, m->log_max_size,
					       m->log_max_file };
		_exit(ctrlog_pump(po[0], pe[0], 1, &rot) ? 1 : 0);
	}
	if (dup2(po[1], 1) < 0 || dup2(pe[1], 2) < 0)
		_exit(1);
	close(po[0]);
	close(pe[0]);
	close(po[1]);
	close(pe[1]);
	/* Terminal signals of the session we left do not reach us; TERM
	 * and INT are forwarded to the container by rt_run. */
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	struct ctr_hooks h = { .m = m, .notify_fd = fd };
	struct rt_create_opts ro = { .root = rtroot, .id = m->id, .bundle = dir,
				     .on_start = ctr_hook_started,
				     .on_created = ctr_hook_created, .on_start_arg = &h };
	struct err e = { 0 };
	int st = rt_run(&ro, &e);
	ctr_net_stop(h.net);
	fd = h.notify_fd;
	if (st < 0) {
		st = ctr_start_status(&e);
		if (fd >= 0) {
			char b[600];
			int n = snprintf(b, sizeof(b), "E%c%s", st, e.msg);
			ssize_t w = write(fd, b, (size_t)n);
			(void)w;
			close(fd);
			fd = -1;
		} else {
			fprintf(stderr, "ringvm container: %s\n", e.msg);
		}
	}
	/* Everything the container wrote is in the log before its exit is
	 * recorded (`logs` after `wait`/`ps` sees all of it). */
	nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (nul >= 0 && dup2(nul, 1) >= 0 && dup2(nul, 2) >= 0)
		while (waitpid(pump, NULL, 0) < 0 && errno == EINTR)
			;
	if (nul >= 0)
		close(nul);
	struct err e2 = { 0 };
	m->finished = (int64_t)time(NULL);
	m->exit_code = st;
	if (rm) {
		ctr_remove(s, m, &e2);
	} else {
		ctr_rootfs_unmount(dir, &e2);
		ctr_meta_save(s, m, &e2);
	}
	_exit(0);
}

int ctr_detach(struct store *s, struct ctr_meta *m, bool rm)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return ctr_fail("run: pipe: %s", strerror(errno));
	m->finished = 0;
	m->exit_code = 0;
	m->started = (int64_t)time(NULL);
	struct err e = { 0 };
	if (ctr_meta_save(s, m, &e)) {
		close(p[0]);
		close(p[1]);
		return ctr_fail("%s", e.msg);
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return ctr_fail("run: fork: %s", strerror(errno));
	}
	if (pid == 0) {
		/* A session of its own, and not our child: it outlives us
		 * and is reaped by init. */
		close(p[0]);
		setsid();
		pid_t g = fork();
		if (g != 0)
			_exit(g < 0);
		supervise(s, m, rm, p[1]);
	}
	close(p[1]);
	int wst;
	while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
		;
	char b[600];
	ssize_t n, got = 0;
	while (got < (ssize_t)sizeof(b) - 1 &&
	       (n = read(p[0], b + got, sizeof(b) - 1 - (size_t)got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		got += n;
	}
	close(p[0]);
	b[got > 0 ? got : 0] = '\0';
	if (got >= 1 && b[0] == 'O')
		return 0;
	if (got >= 2 && b[0] == 'E') {
		int st = (unsigned char)b[1];
		if (st == CTR_EXIT_ERROR)
			return ctr_fail("run: %s", b + 2);
		fprintf(stderr, "ringvm container: %s\n", b + 2);
		return st;
	}
	return ctr_fail("run: the supervisor of %.12s failed before starting it", m->id);
}
