/* ringvm container exec [-i] [-e K=V] [-w DIR] [-u U:G] CONTAINER CMD...
 *
 * Runs CMD in a running container as its own command runs: the process
 * joins the container's cgroup and namespaces (the mount namespace last,
 * which also makes the container's root ours), forks so that it is inside
 * the pid namespace, and goes through the runtime's exec_process (user,
 * capabilities, no_new_privs, seccomp) with the container's config.json,
 * CMD, the extra environment and cwd; with -t (and a terminal) a pty of
 * the container's devpts relayed to our stdio. */
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container.h"
#include "container/container.h"
#include "container/ctr.h"

static const char *const ns_files[] = { "ipc", "uts", "net", "cgroup", "pid", "mnt" };
#define NNS (sizeof(ns_files) / sizeof(ns_files[0]))

static char **strv_append(char **v, const char *s)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	char **nv = realloc(v, (n + 2) * sizeof(char *));
	if (!nv)
		return v;
	nv[n] = strdup(s);
	nv[n + 1] = NULL;
	return nv;
}

/* In the command's process, inside the container: a pty from the
 * container's own devpts, whose master goes back to `exec` over sock;
 * returns the slave or -errno. */
static int open_pty(int sock, struct err *e)
{
	int m = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return err_sys(e, errno, "exec: /dev/pts/ptmx");
	int n = 0, unlock = 0;
	if (ioctl(m, TIOCSPTLCK, &unlock) || ioctl(m, TIOCGPTN, &n)) {
		close(m);
		return err_sys(e, errno, "exec: pty");
	}
	char p[64];
	snprintf(p, sizeof(p), "/dev/pts/%d", n);
	int sl = open(p, O_RDWR | O_NOCTTY);
	int r = sl < 0 ? err_sys(e, errno, "exec: %s", p) : send_fd(sock, m, "pty", e);
	close(m);
	if (r) {
		if (sl >= 0)
			close(sl);
		return r;
	}
	return sl;
}

/* In the forked process: join, fork into the pid namespace, exec. */
static __attribute__((noreturn)) void enter(struct oci_config *cfg,
					    const struct ctr_state *st,
					    const int *fds, int ptysock)
{
	struct err e = { 0 };
	if (cgroup_enter(&st->cg, getpid(), &e)) {
		fprintf(stderr, "ringvm container: exec: %s\n", e.msg);
		_exit(CTR_EXIT_ERROR);
	}
	for (size_t i = 0; i < NNS; i++)
		if (fds[i] >= 0 && setns(fds[i], 0)) {
			fprintf(stderr, "ringvm container: exec: join the %s namespace: %s\n",
				ns_files[i], strerror(errno));
			_exit(CTR_EXIT_ERROR);
		}
	pid_t c = fork();
	if (c < 0)
		_exit(CTR_EXIT_ERROR);
	if (c > 0) {
		int ws;
		while (waitpid(c, &ws, 0) < 0 && errno == EINTR)
			;
		_exit(WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws));
	}
	char path[4096];
	struct sock_fprog filter;
	int slave = -1;
	int r = exec_lookup(cfg, path, sizeof(path), &e);
	if (!r)
		r = seccomp_prepare(cfg, &filter, &e);
	if (!r && ptysock >= 0 && (slave = open_pty(ptysock, &e)) < 0)
		r = slave;
	if (ptysock >= 0)
		close(ptysock);
	if (!r)
		exec_process(cfg, path, slave, &filter, &e);
	fprintf(stderr, "ringvm container: %s\n", e.msg);
	_exit(ctr_start_status(&e) == CTR_EXIT_ERROR ? 126 : ctr_start_status(&e));
}

int ctr_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "env", required_argument, NULL, 'e' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
		{ "interactive", no_argument, NULL, 'i' },
		{ "tty", no_argument, NULL, 't' },
		{ 0 }
	};
	const char *workdir = NULL, *user = NULL;
	bool tty = false;
	const char *envs[64];
	size_t nenv = 0;
	optind = 0;
	opterr = 0;
	for (int c; (c = getopt_long(argc, argv, "+e:w:u:it", opts, NULL)) != -1;) {
		switch (c) {
		case 'e':
			if (nenv == 64 || !strchr(optarg, '='))
				return ctr_fail("exec: -e `%s`: expected K=V (at most 64)", optarg);
			envs[nenv++] = optarg;
			break;
		case 'w':
			if (optarg[0] != '/')
				return ctr_fail("exec: -w `%s`: must be absolute", optarg);
			workdir = optarg;
			break;
		case 'u': user = optarg; break;
		case 'i': break; /* stdin is always passed on */
		case 't': tty = true; break;
		default:
			return ctr_fail("exec: unknown option or missing argument `%s`", argv[optind - 1]);
		}
	}
	if (argc - optind < 2)
		return ctr_fail("exec: expected CONTAINER CMD...");
	unsigned long uid = 0, gid = 0;
	if (user) {
		char *end;
		uid = strtoul(user, &end, 10);
		if (end == user || (*end && *end != ':') || (*end == ':' && ((gid = strtoul(end + 1, &end, 10)), *end)))
			return ctr_fail("exec: -u `%s`: expected UID[:GID] (numbers)", user);
	}
	struct store s;
	if (ctr_store(&s))
		return CTR_EXIT_ERROR;
	struct ctr_meta m;
	struct err e = { 0 };
	struct oci_config cfg = { 0 };
	struct ctr_state st;
	bool have_st = false;
	int status = CTR_EXIT_ERROR;
	char dir[PATH_MAX], rtroot[PATH_MAX];
	if (ctr_find(&s, argv[optind], &m, &e)) {
		ctr_fail("exec: %s", e.msg);
		goto out;
	}
	ctr_dir(&s, m.id, dir, sizeof(dir));
	ctr_rt_root(&s, rtroot, sizeof(rtroot));
	if (state_load(rtroot, m.id, &st, &e) || !(have_st = true) ||
	    state_status(rtroot, &st) != CTR_RUNNING) {
		ctr_fail("exec: container %s is not running", m.name);
		goto out;
	}
	if (oci_config_load(dir, &cfg, &e)) {
		ctr_fail("exec: %s", e.msg);
		goto out;
	}
	for (char **a = cfg.args; a && *a; a++)
		free(*a);
	free(cfg.args);
	cfg.args = NULL;
	for (int i = optind + 1; i < argc; i++)
		cfg.args = strv_append(cfg.args, argv[i]);
	for (size_t i = 0; i < nenv; i++)
		cfg.env = strv_append(cfg.env, envs[i]);
	if (workdir) {
		free(cfg.cwd);
		cfg.cwd = strdup(workdir);
	}
	if (user) {
		cfg.uid = (uint32_t)uid;
		cfg.gid = (uint32_t)gid;
		cfg.n_additional_gids = 0;
	}
	/* -t with a terminal on stdin: a pty inside the container, relayed
	 * (attach_wait, as `run -t` does). */
	cfg.terminal = tty && isatty(0);
	int sv[2] = { -1, -1 };
	if (cfg.terminal && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		ctr_fail("exec: socketpair: %s", strerror(errno));
		goto out;
	}
	int fds[NNS];
	for (size_t i = 0; i < NNS; i++) {
		char p[64];
		snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)st.pid, ns_files[i]);
		fds[i] = open(p, O_RDONLY | O_CLOEXEC);
		/* Namespaces the container shares with us (net with
		 * --net host) are joined all the same: a no-op. */
		if (fds[i] < 0) {
			ctr_fail("exec: %s: %s", p, strerror(errno));
			for (size_t k = 0; k < i; k++)
				close(fds[k]);
			goto out;
		}
	}
	fflush(NULL);
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGWINCH);
	sigprocmask(SIG_BLOCK, &set, &old);
	pid_t pid = fork();
	if (pid == 0) {
		if (sv[0] >= 0)
			close(sv[0]);
		sigprocmask(SIG_SETMASK, &old, NULL);
		enter(&cfg, &st, fds, sv[1]);
	}
	for (size_t i = 0; i < NNS; i++)
		close(fds[i]);
	if (sv[1] >= 0)
		close(sv[1]);
	if (pid < 0) {
		if (sv[0] >= 0)
			close(sv[0]);
		sigprocmask(SIG_SETMASK, &old, NULL);
		ctr_fail("exec: fork: %s", strerror(errno));
		goto out;
	}
	int master = -1;
	if (sv[0] >= 0) {
		/* EOF instead of a master: the command failed before (its
		 * message is on stderr). */
		master = recv_fd(sv[0], NULL);
		close(sv[0]);
	}
	/* The terminal's signals reach the command through the process
	 * group or the pty; we only wait (and relay the pty). */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	int ws = 0;
	if (master < 0 || attach_wait(pid, master, &set, &ws) < 0)
		while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
			;
	if (master >= 0)
		close(master);
	sigprocmask(SIG_SETMASK, &old, NULL);
	status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
out:
	if (have_st)
		state_free(&st);
	oci_config_free(&cfg);
	store_close(&s);
	return status;
}
