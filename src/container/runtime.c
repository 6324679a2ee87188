/* create/start/kill/delete/state/run over the steps in container.h. */
#include "container/runtime.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "container/cgroup.h"
#include "container/container.h"
#include "container/state.h"

static int mkdir_p(const char *path, mode_t mode, struct err *errp)
{
	char p[PATH_MAX];
	if (snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p))
		return err_set(errp, ENAMETOOLONG, "--root: path too long");
	for (char *s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return err_sys(errp, errno, "--root: mkdir %s", p);
		*s = c;
		if (!c)
			return 0;
	}
}

static int connect_console(const char *path, struct err *errp)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return err_set(errp, ENAMETOOLONG, "--console-socket: path too long");
	strcpy(sa.sun_path, path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return err_sys(errp, errno, "--console-socket: socket");
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = err_sys(errp, errno, "--console-socket: connect %s", path);
		close(s);
		return r;
	}
	return s;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Close every fd of the new init but stdio and those it needs, so that it
 * holds none of its creator's files for its whole life. */
static void close_all_but(int *keep, int n)
{
	qsort(keep, (size_t)n, sizeof(int), cmp_int);
	unsigned lo = 3;
	for (int i = 0; i < n; i++) {
		if (keep[i] < (int)lo)
			continue;
		if ((unsigned)keep[i] > lo)
			syscall(SYS_close_range, lo, (unsigned)keep[i] - 1, 0);
		lo = (unsigned)keep[i] + 1;
	}
	syscall(SYS_close_range, lo, ~0u, 0);
}

static void now_rfc3339(char *out, size_t cap)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char b[32];
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, cap, "%.20s.%09ldZ", b, ts.tv_nsec % 1000000000L);
}

static int write_pid_file(const char *path, pid_t pid, struct err *errp)
{
	char tmp[PATH_MAX], v[32];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return err_set(errp, ENAMETOOLONG, "--pid-file: path too long");
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_sys(errp, errno, "--pid-file: create %s", tmp);
	int n = snprintf(v, sizeof(v), "%d", (int)pid);
	ssize_t w = write(fd, v, (size_t)n);
	close(fd);
	if (w != n || rename(tmp, path) < 0) {
		int r = err_sys(errp, w != n ? EIO : errno, "--pid-file: write %s", path);
		unlink(tmp);
		return r;
	}
	return 0;
}

/* Annotations as a JSON object text, for the state. */
static char *annotations_json(const struct oci_config *cfg)
{
	if (!cfg->annotations)
		return NULL;
	size_t cap = 3;
	for (char **p = cfg->annotations; *p; p++)
		cap += strlen(*p) * 6 + 4;
	char *s = malloc(cap), *w = s;
	if (!s)
		return NULL;
	*w++ = '{';
	for (char **p = cfg->annotations; *p; p++) {
		if (p != cfg->annotations)
			*w++ = (p - cfg->annotations) % 2 ? ':' : ',';
		*w++ = '"';
		for (const unsigned char *c = (const unsigned char *)*p; *c; c++) {
			if (*c == '"' || *c == '\\') {
				*w++ = '\\';
				*w++ = (char)*c;
			} else if (*c < 0x20) {
				w += sprintf(w, "\\u%04x", *c);
			} else {
				*w++ = (char)*c;
			}
		}
		*w++ = '"';
	}
	*w++ = '}';
	*w = '\0';
	return s;
}

static int wait_gone(pid_t pid, int timeout_ms)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0)
		return errno == ESRCH ? 0 : -errno;
	struct pollfd p = { .fd = pfd, .events = POLLIN };
	int r = poll(&p, 1, timeout_ms);
	close(pfd);
	return r == 1 ? 0 : -ETIMEDOUT;
}

/* Everything create set up, for one undo path. */
struct creating {
	struct ctr_state st;
	bool have_dir;
	pid_t pid;
	int sync[2], fifo, console, ns_fds[OCI_NS_COUNT];
	int cg_fds[CG_MAX_DIRS], cg_nfds;
};

static void undo(const char *root, struct creating *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
	}
	cgroup_destroy(&c->st.cg, NULL);
	if (c->have_dir)
		state_remove(root, c->st.id, NULL);
}

/* Whether the container needs a cgroup of its own.  Not when it asks for
 * no limit, names no cgroupsPath (podman always does) and has a fresh pid
 * namespace, where SIGKILL to its init ends every process in it: then
 * the cgroup would only cost time (v1: three mkdir/rmdir, and the next
 * container's cgroup mount waits for the removed ones to drain, up to
 * ~6 ms measured on the bench host). */
static bool cgroup_wanted(const struct oci_config *cfg)
{
	return cfg->cgroups_path || cfg->mem_limit >= 0 || cfg->pids_limit >= 0 ||
	       cfg->cpu_quota >= 0 || cfg->cpu_period ||
	       !cfg->ns_wanted[OCI_NS_PID] || cfg->ns_path[OCI_NS_PID];
}

int rt_create(const struct rt_create_opts *o, pid_t *pid, struct err *errp)
{
	struct oci_config cfg;
	struct creating c = { .fifo = -1, .console = -1, .sync = { -1, -1 } };
	char bundle[PATH_MAX], rootfs[PATH_MAX], path[PATH_MAX + 64];
	int r;
	for (int i = 0; i < OCI_NS_COUNT; i++)
		c.ns_fds[i] = -1;

	if ((r = state_check_id(o->id, errp)))
		return r;
	if (!realpath(o->bundle, bundle))
		return err_sys(errp, errno, "bundle %.200s", o->bundle);
	if ((r = oci_config_load(bundle, &cfg, errp)))
		return r;
	if (cfg.root_path[0] == '/')
		snprintf(path, sizeof(path), "%s", cfg.root_path);
	else
		snprintf(path, sizeof(path), "%s/%s", bundle, cfg.root_path);
	struct stat sb;
	if (!realpath(path, rootfs) || stat(rootfs, &sb) < 0) {
		r = err_sys(errp, errno, "root.path %.200s", path);
		goto out_cfg;
	}
	if (!S_ISDIR(sb.st_mode)) {
		r = err_set(errp, ENOTDIR, "root.path %.200s: not a directory", path);
		goto out_cfg;
	}
	if (o->console_peer)
		*o->console_peer = -1;
	if (cfg.terminal && !o->console_socket && !o->console_peer) {
		r = err_set(errp, EINVAL, "process.terminal is true: --console-socket is required");
		goto out_cfg;
	}
	if (!cfg.terminal && o->console_socket) {
		r = err_set(errp, EINVAL, "--console-socket given but process.terminal is false");
		goto out_cfg;
	}
	if (!cfg.ns_wanted[OCI_NS_MOUNT] || !cfg.ns_wanted[OCI_NS_PID]) {
		/* The set-up order relies on both (pivot_root, PID 1). */
		r = err_set(errp, EINVAL, "linux.namespaces: ringvm needs the mount and pid namespaces");
		goto out_cfg;
	}
	if ((r = mkdir_p(o->root, 0700, errp)))
		goto out_cfg;
	snprintf(c.st.id, sizeof(c.st.id), "%s", o->id);
	if ((r = state_path(o->root, o->id, NULL, path, sizeof(path), errp)))
		goto out_cfg;
	if (mkdir(path, 0700) < 0) {
		r = errno == EEXIST ?
		    err_set(errp, EEXIST, "container `%s` already exists", o->id) :
		    err_sys(errp, errno, "state: mkdir %s", path);
		goto out_cfg;
	}
	c.have_dir = true;
	snprintf(c.st.bundle, sizeof(c.st.bundle), "%s", bundle);
	c.st.annotations_json = annotations_json(&cfg);

	if ((r = ns_open_paths(&cfg, c.ns_fds, errp)))
		goto fail;
	char rel[400];
	if (cgroup_wanted(&cfg) &&
	    ((r = cgroup_path(&cfg, o->id, rel, sizeof(rel), errp)) ||
	     (r = cgroup_create(&c.st.cg, rel, &cfg, errp))))
		goto fail;
	state_path(o->root, o->id, "exec.fifo", path, sizeof(path), NULL);
	if (mkfifo(path, 0600) < 0) {
		r = err_sys(errp, errno, "state: mkfifo %s", path);
		goto fail;
	}
	/* O_RDWR never blocks; init reads, `start` writes. */
	if ((c.fifo = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		r = err_sys(errp, errno, "state: open %s", path);
		goto fail;
	}
	if (o->console_socket && (c.console = connect_console(o->console_socket, errp)) < 0) {
		r = c.console;
		goto fail;
	}
	int peer[2] = { -1, -1 };
	if (cfg.terminal && !o->console_socket) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, peer) < 0) {
			r = err_sys(errp, errno, "console: socketpair");
			goto fail;
		}
		c.console = peer[0];
		*o->console_peer = peer[1];
	}
	if ((c.cg_nfds = cgroup_open_tasks(&c.st.cg, c.cg_fds, errp)) < 0) {
		r = c.cg_nfds;
		c.cg_nfds = 0;
		goto fail;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, c.sync) < 0) {
		r = err_sys(errp, errno, "sync socket");
		goto fail;
	}

	c.pid = (pid_t)syscall(SYS_clone, ns_clone_flags(&cfg) | SIGCHLD, 0, 0, 0, 0);
	if (c.pid < 0) {
		c.pid = 0;
		r = err_sys(errp, errno, "namespaces: clone");
		goto fail;
	}
	if (c.pid == 0) {
		int keep[4 + OCI_NS_COUNT + CG_MAX_DIRS + 64], n = 0;
		for (int i = 0; i < c.cg_nfds; i++)
			keep[n++] = c.cg_fds[i];
		for (unsigned i = 0; i < o->preserve_fds && i < 64; i++) {
			keep[n++] = 3 + (int)i;
			fcntl(3 + (int)i, F_SETFD, 0);
		}
		close(c.sync[0]);
		keep[n++] = c.sync[1];
		keep[n++] = c.fifo;
		if (c.console >= 0)
			keep[n++] = c.console;
		for (int i = 0; i < OCI_NS_COUNT; i++)
			if (c.ns_fds[i] >= 0)
				keep[n++] = c.ns_fds[i];
		close_all_but(keep, n);
		struct init_args a = { .cfg = &cfg, .rootfs = rootfs,
			.sync_fd = c.sync[1], .fifo_fd = c.fifo,
			.console_fd = c.console, .cg_nfds = c.cg_nfds };
		memcpy(a.ns_fds, c.ns_fds, sizeof(a.ns_fds));
		memcpy(a.cg_fds, c.cg_fds, sizeof(c.cg_fds));
		init_main(&a);
	}
	close(c.sync[1]);
	c.sync[1] = -1;
	/* v1: init joins by itself (cgroup_open_tasks). */
	if ((r = ns_write_idmaps(&cfg, c.pid, errp)) ||
	    (!c.cg_nfds && (r = cgroup_enter(&c.st.cg, c.pid, errp))))
		goto fail;
	struct sync_msg m = { .type = SYNC_GO };
	if (send(c.sync[0], &m, sizeof(m), MSG_NOSIGNAL) != sizeof(m)) {
		r = err_sys(errp, errno, "sync: tell init to go on");
		goto fail;
	}
	ssize_t n;
	do
		n = recv(c.sync[0], &m, sizeof(m), 0);
	while (n < 0 && errno == EINTR);
	if (n != sizeof(m)) {
		r = err_set(errp, EIO, "init: died during set-up");
		goto fail;
	}
	if (m.type != SYNC_READY) {
		m.msg[sizeof(m.msg) - 1] = '\0';
		r = err_set(errp, m.code > 0 ? m.code : EIO, "%s", m.msg);
		goto fail;
	}
	bool zombie;
	c.st.pid = c.pid;
	c.st.starttime = state_proc_starttime(c.pid, &zombie);
	now_rfc3339(c.st.created, sizeof(c.st.created));
	if ((r = state_save(o->root, &c.st, errp)))
		goto fail;
	if (o->pid_file && (r = write_pid_file(o->pid_file, c.pid, errp)))
		goto fail;
	m.type = SYNC_COMMIT;
	if (send(c.sync[0], &m, sizeof(m), MSG_NOSIGNAL) != sizeof(m) ||
	    recv(c.sync[0], &m, sizeof(m), 0) != sizeof(m) || m.type != SYNC_ACK) {
		r = err_set(errp, EIO, "init: died before the container was committed");
		if (o->pid_file)
			unlink(o->pid_file);
		goto fail;
	}
	*pid = c.pid;
	r = 0;
	goto out;
fail:
	if (o->console_peer && *o->console_peer >= 0) {
		close(*o->console_peer);
		*o->console_peer = -1;
	}
	undo(o->root, &c);
out:
	if (c.sync[0] >= 0)
		close(c.sync[0]);
	if (c.sync[1] >= 0)
		close(c.sync[1]);
	if (c.fifo >= 0)
		close(c.fifo);
	if (c.console >= 0)
		close(c.console);
	ns_close_paths(c.ns_fds);
	for (int i = 0; i < c.cg_nfds; i++)
		close(c.cg_fds[i]);
	state_free(&c.st);
out_cfg:
	oci_config_free(&cfg);
	return r;
}

int rt_start(const char *root, const char *id, struct err *errp)
{
	struct ctr_state st;
	int r = state_load(root, id, &st, errp);
	if (r)
		return r;
	enum ctr_status s = state_status(root, &st);
	state_free(&st);
	if (s != CTR_CREATED)
		return err_set(errp, EINVAL, "container `%s` is %s, not created", id,
			       state_status_name(s));
	char fifo[PATH_MAX];
	state_path(root, id, "exec.fifo", fifo, sizeof(fifo), NULL);
	/* Non-blocking: init holds the fifo open, so this only fails when
	 * it is gone. */
	int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return err_sys(errp, errno, "start: open %s", fifo);
	ssize_t n = write(fd, "s", 1);
	close(fd);
	if (n != 1)
		return err_sys(errp, errno, "start: signal init");
	unlink(fifo);
	return 0;
}

int rt_kill(const char *root, const char *id, int sig, bool all,
	    struct err *errp)
{
	struct ctr_state st;
	int r = state_load(root, id, &st, errp);
	if (r)
		return r;
	enum ctr_status s = state_status(root, &st);
	if (s == CTR_STOPPED) {
		state_free(&st);
		return err_set(errp, ESRCH, "container `%s` is not running", id);
	}
	/* pidfd + start time check: the signal cannot hit a reused pid. */
	int pfd = (int)syscall(SYS_pidfd_open, st.pid, 0);
	bool zombie;
	if (pfd < 0 || state_proc_starttime(st.pid, &zombie) != st.starttime) {
		r = err_set(errp, ESRCH, "container `%s` is not running", id);
	} else if (syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) < 0) {
		r = err_sys(errp, errno, "kill container `%s`", id);
	}
	if (pfd >= 0)
		close(pfd);
	if (!r && all) {
		for (int i = 0; i < st.cg.ndirs; i++) {
			char p[640];
			snprintf(p, sizeof(p), "%s/cgroup.procs", st.cg.dirs[i]);
			FILE *f = fopen(p, "re");
			int pid;
			while (f && fscanf(f, "%d", &pid) == 1)
				if (pid > 0)
					kill(pid, sig);
			if (f)
				fclose(f);
		}
	}
	state_free(&st);
	return r;
}

int rt_delete(const char *root, const char *id, bool force, struct err *errp)
{
	struct ctr_state st;
	int r = state_load(root, id, &st, errp);
	if (r == -ENOENT && force && state_check_id(id, NULL) == 0) {
		/* As runc: --force on a container that does not exist (or
		 * whose create died before saving state) succeeds. */
		err_clear(errp);
		state_remove(root, id, NULL);
		return 0;
	}
	if (r == -ENOENT)
		return r;
	if (r) {
		/* Corrupt state: only --force may clear it away. */
		if (!force)
			return r;
		err_clear(errp);
		return state_remove(root, id, errp);
	}
	enum ctr_status s = state_status(root, &st);
	if (s == CTR_RUNNING && !force) {
		state_free(&st);
		return err_set(errp, EBUSY, "container `%s` is running: stop it or use --force", id);
	}
	if (s != CTR_STOPPED) {
		int pfd = (int)syscall(SYS_pidfd_open, st.pid, 0);
		if (pfd >= 0)
			syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
		if (pfd >= 0)
			close(pfd);
		if (wait_gone(st.pid, 5000) < 0) {
			state_free(&st);
			return err_set(errp, ETIMEDOUT, "container `%s`: init did not die", id);
		}
	}
	r = cgroup_destroy(&st.cg, errp);
	if (!r)
		r = state_remove(root, id, errp);
	state_free(&st);
	return r;
}

int rt_state(const char *root, const char *id, char **json, struct err *errp)
{
	struct ctr_state st;
	int r = state_load(root, id, &st, errp);
	if (r)
		return r;
	*json = state_oci_json(&st, state_status(root, &st));
	state_free(&st);
	return *json ? 0 : err_set(errp, ENOMEM, "out of memory");
}

int rt_run(const struct rt_create_opts *o, struct err *errp)
{
	static const int fwd[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1,
				   SIGUSR2, SIGWINCH };
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (size_t i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++)
		sigaddset(&set, fwd[i]);
	/* Blocked before create so a signal during set-up is not lost; the
	 * init sets its own mask. */
	sigprocmask(SIG_BLOCK, &set, &old);
	pid_t pid;
	int peer = -1, master = -1;
	struct rt_create_opts oo = *o;
	oo.console_peer = &peer;
	int r = rt_create(&oo, &pid, errp);
	if (r) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return r;  /* nothing to delete: maybe another's container */
	}
	/* The init sent the pty master during set-up: it is queued. */
	if (peer >= 0 && (master = recv_fd(peer, errp)) < 0)
		r = master;
	if (peer >= 0)
		close(peer);
	if (!r && o->on_created)
		r = o->on_created(o->on_start_arg, pid, errp);
	if (!r)
		r = rt_start(o->root, o->id, errp);
	if (r) {
		rt_delete(o->root, o->id, true, NULL);
		if (master >= 0)
			close(master);
		sigprocmask(SIG_SETMASK, &old, NULL);
		return r;
	}
	if (o->on_start)
		o->on_start(o->on_start_arg);
	int status = 0;
	r = attach_wait(pid, master, &set, &status);
	if (master >= 0)
		close(master);
	if (r < 0) {
		/* No signalfd: fall back to a plain wait. */
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	r = rt_delete(o->root, o->id, true, errp);
	if (r)
		return r;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int rt_parse_signal(const char *s, struct err *errp)
{
	char *end;
	long n = strtol(s, &end, 10);
	if (*s && !*end)
		return n > 0 && n < NSIG ? (int)n :
		       err_set(errp, EINVAL, "signal `%.32s`: out of range 1..%d", s, NSIG - 1);
	const char *name = strncasecmp(s, "SIG", 3) ? s : s + 3;
	for (int i = 1; i < NSIG; i++) {
		const char *a = sigabbrev_np(i);
		if (a && !strcasecmp(name, a))
			return i;
	}
	return err_set(errp, EINVAL, "unknown signal `%.32s`", s);
}
