/* Processes in the KVM sandbox, mirroring sys_proc.c's riscv64 ones.
 *
 * fork, vfork and posix_spawn's clone(CLONE_VM | CLONE_VFORK) are a host
 * fork() of the whole VMM: the guest memory is copied on write by the
 * host.  The child cannot use the VM it inherits (KVM ties a VM to the mm
 * that created it), so it builds one of its own over the same host
 * mapping and runs the forking thread, alone as Linux leaves it, on its
 * vCPU 0.  execve replaces the process by a fresh ringvm on the new
 * program (ringvm's own binary, opened before the seccomp filter, is the
 * only thing the filter lets it execute).  Children are host processes,
 * so wait4 and waitid are the host's, and kill reaches them through the
 * host, within limits (kx_kill). */
#include "kvm_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* execve limits, as Linux's: one string (MAX_ARG_STRLEN), all of argv and
 * envp with their pointers (a quarter of the 8 MiB default stack). */
#define ARG_STR_MAX (32 * 4096)
#define ARG_TOTAL_MAX (2u << 20)
/* The clone flags a process copy can honour.  CLONE_VM only comes with
 * CLONE_VFORK: the parent waits, so nobody sees the memory is not shared
 * (but for what the child writes, which the parent does not see). */
#define FORK_FLAGS (CSIGNAL | CLONE_VM | CLONE_VFORK | CLONE_SETTLS | \
		    CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | \
		    CLONE_CHILD_CLEARTID | CLONE_UNTRACED | CLONE_DETACHED)
#define SIGBIT(s) (1ULL << ((s) - 1))
#define UNBLOCKABLE (SIGBIT(SIGKILL) | SIGBIT(SIGSTOP))

/* ---- fork ---- */

int kx_vm_new(struct kx *k)
{
	int vm = ioctl(k->kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return -errno;
	if (k->vm < 0) {
		k->vm = vm;
		return 0;
	}
	/* Over the old one (a forked child's is the parent's; after execve
	 * it belongs to no process and goes now). */
	int r = dup3(vm, k->vm, O_CLOEXEC) < 0 ? -errno : 0;
	close(vm);
	return r;
}

/* What the child's vCPU needs of the forking one besides its general
 * registers (c->regs). */
struct fork_cpu {
	uint64_t fs;
	struct kvm_fpu fpu;
};

static long fork_check(uint64_t fl)
{
	if (fl & ~(uint64_t)FORK_FLAGS)
		return -EINVAL;
	if ((fl & CLONE_VM) && !(fl & CLONE_VFORK))
		return -ENOSYS;
	if ((fl & CSIGNAL) != SIGCHLD && (fl & CSIGNAL) != 0)
		return -EINVAL;
	return 0;
}

/* In the child: the forking thread, alone, on vCPU 0 of a new VM over
 * the (copied) guest memory at the same host address.  The other
 * threads' slots go; the inherited VM and vCPU descriptors and run
 * mappings are the parent's and are dropped (the run structures are
 * shared with it: never written here). */
static int child_vm(struct kx_cpu *c, const struct fork_cpu *f)
{
	struct kx *k = c->k;
	c->tid = (pid_t)syscall(SYS_gettid);
	/* The parent's threads may be waiting on it or hold it: they are
	 * not here. */
	pthread_cond_init(&k->gone, NULL);
	pthread_mutex_init(&k->time_lock, NULL);
	atomic_store(&c->info_ok, 0);
	kx_ioq_reset(k);          /* its thread stayed with the parent */
	for (unsigned i = 0; i < KX_MAX_CPUS; i++) {
		struct kx_cpu *o = k->cpu[i];
		k->cpu[i] = NULL;
		if (!o || o == c)
			continue;
		kx_cpu_close(o);
		sem_destroy(&o->started);
		free(o);
	}
	kx_cpu_close(c);
	c->idx = 0;
	c->no_join = true;
	k->cpu[0] = c;
	k->live = 1;
	atomic_store(&c->pending, 0);

	struct err e = { 0 };
	int r = kx_vm_new(k);
	if (!r)
		r = kx_vm_memory(k);
	if (!r)
		r = kx_cpu_open(c, &e);
	if (!r)
		r = kx_cpu_setup(c, f->fs, &e);
	if (!r && ioctl(c->fd, KVM_SET_FPU, &f->fpu))
		r = -errno;
	err_clear(&e);
	return r;
}

static long fork_child(struct kx_cpu *c, const struct kx_clone *a,
		       const struct fork_cpu *f, const int p[2])
{
	struct kx *k = c->k;
	close(p[0]);
	int r = child_vm(c, f);
	if (r) {
		/* The parent's fork fails with this instead. */
		int e = -r;
		ssize_t w = write(p[1], &e, sizeof(e));
		(void)w;   /* if not, the parent sees a child that died */
		syscall(SYS_exit_group, 127);
	}
	/* The shim answers getpid with a constant. */
	kx_build_entry(k);
	uint32_t tid = (uint32_t)c->tid;
	if ((a->flags & CLONE_CHILD_SETTID) && kx_ok(k, a->ctid, 4))
		memcpy(k->mem + a->ctid, &tid, 4);
	c->clear_tid = a->flags & CLONE_CHILD_CLEARTID ? a->ctid : 0;
	if (a->stack)
		c->regs->rsp = a->stack;
	/* vfork: p[1] stays open (close-on-exec) until exec or exit. */
	if (!(a->flags & CLONE_VFORK))
		close(p[1]);
	return 0;
}

/* The parent waits until the child's VM runs (for vfork: until the child
 * exec'd or exited): end of file, or the errno of a child that could not
 * build its VM. */
static long fork_parent(struct kx_cpu *c, const struct kx_clone *a,
			pid_t pid, int rd)
{
	struct kx *k = c->k;
	if ((a->flags & CLONE_PARENT_SETTID) && kx_ok(k, a->ptid, 4)) {
		uint32_t v = (uint32_t)pid;
		memcpy(k->mem + a->ptid, &v, 4);
	}
	int e = 0;
	ssize_t n;
	while ((n = read(rd, &e, sizeof(e))) < 0 && errno == EINTR &&
	       !atomic_load(&k->exited))
		;
	close(rd);
	if (n != (ssize_t)sizeof(e) || e <= 0)
		return pid;
	if (k->cfg->verbose)
		fprintf(stderr, "ringvm exec: fork: the child's VM: %s\n",
			strerror(e));
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return -e;
}

long kx_fork(struct kx_cpu *c, const struct kx_clone *a)
{
	struct kx *k = c->k;
	long r = fork_check(a->flags);
	if (r)
		return r;
	struct fork_cpu f;
	if (!c->regs || kx_get_fs(c, &f.fs) ||
	    ioctl(c->fd, KVM_GET_FPU, &f.fpu))
		return -EAGAIN;
	if (a->flags & CLONE_SETTLS)
		f.fs = a->tls;
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	/* Under k->lock no other thread is half-way through a change of
	 * the slots, the mmap bitmap or sa[] the child would copy. */
	pid_t pid = -1;
	int e = EINTR;                 /* the program is ending anyway */
	pthread_mutex_lock(&k->lock);
	if (!atomic_load(&k->exited)) {
		pid = fork();
		e = errno;
	}
	pthread_mutex_unlock(&k->lock);
	if (pid == 0)
		return fork_child(c, a, &f, p);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -e;
	}
	return fork_parent(c, a, pid, p[0]);
}


/* ---- wait ---- */

long kx_wait4(struct kx *k, const uint64_t *a)
{
	int *st = NULL;
	struct rusage *ru = NULL;
	if (a[1] && !(st = kx_ptr(k, a[1], sizeof(*st))))
		return -EFAULT;
	if (a[3] && !(ru = kx_ptr(k, a[3], sizeof(*ru))))
		return -EFAULT;
	pid_t r = wait4((pid_t)a[0], st, (int)a[2], ru);
	return r < 0 ? -errno : r;
}

long kx_waitid(struct kx *k, const uint64_t *a)
{
	siginfo_t *si = NULL;
	struct rusage *ru = NULL;
	if (a[2] && !(si = kx_ptr(k, a[2], sizeof(*si))))
		return -EFAULT;
	if (a[4] && !(ru = kx_ptr(k, a[4], sizeof(*ru))))
		return -EFAULT;
	long r = syscall(SYS_waitid, (int)a[0], (pid_t)a[1], si, (int)a[3], ru);
	return r < 0 ? -errno : r;
}

/* ---- kill ---- */

/* The parent of pid from /proc (-1: unknown). */
static pid_t parent_of(pid_t pid)
{
	char p[64], b[512];
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	b[n] = 0;
	const char *e = strrchr(b, ')');   /* the name may hold anything */
	int pp;
	if (!e || sscanf(e + 1, " %*c %d", &pp) != 1)
		return -1;
	return pp;
}

/* Is pid a child, grandchild, ... of this process? */
static bool descendant(pid_t pid)
{
	pid_t self = getpid();
	for (int depth = 0; depth < 64 && pid > 1; depth++) {
		pid = parent_of(pid);
		if (pid == self)
			return true;
	}
	return false;
}

/* Its own process group or its descendants: a sandboxed program has no
 * business with the rest of the user's processes.  -ESRCH when pid does
 * not exist, -EPERM when it is out of reach. */
static int may_signal(pid_t pid)
{
	pid_t g = getpgid(pid);
	if (g < 0)
		return -errno;
	return g == getpgrp() || descendant(pid) ? 0 : -EPERM;
}

/* sig to every process of this process's group but this one: this one
 * ignores it meanwhile (setting SIG_IGN again also drops one that came
 * while blocked).  Those ignored by default need not be. */
static long group_but_self(pid_t g, int sig)
{
	if (sig == SIGCHLD || sig == SIGCONT || sig == SIGURG ||
	    sig == SIGWINCH)
		return kill(-g, sig) ? -errno : 0;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	sigemptyset(&ign.sa_mask);
	if (sigaction(sig, &ign, &old))
		return -errno;
	long r = kill(-g, sig) ? -errno : 0;
	sigaction(sig, &ign, NULL);
	sigaction(sig, &old, NULL);
	return r;
}

long kx_kill(struct kx *k, pid_t pid, int sig)
{
	(void)k;
	if (sig < 0 || sig > 64)
		return -EINVAL;
	if (pid == -1 || pid == INT_MIN)
		return -EPERM;   /* every process of the user */
	if (pid > 0) {
		int r = may_signal(pid);
		if (!r && kill(pid, sig))
			r = -errno;
		return r;
	}
	pid_t g = pid ? -pid : getpgrp();
	if (g != getpgrp()) {
		/* Another group: one led by a descendant (a shell's job). */
		int r = getpgid(g) < 0 ? -ESRCH : descendant(g) ? 0 : -EPERM;
		if (!r && kill(-g, sig))
			r = -errno;
		return r;
	}
	/* SIGKILL and SIGSTOP act on ringvm as on the program; sig 0 asks
	 * whether anyone is there (this process is). */
	if (sig == 0 || sig == SIGKILL || sig == SIGSTOP)
		return kill(-g, sig) ? -errno : 0;
	long r = group_but_self(g, sig);
	return r ? r : 1;
}

/* ---- execve ---- */

/* Length of the guest string at va (bytes before its NUL), -EFAULT when
 * it leaves the user range first, -E2BIG beyond max. */
static long gstrlen(struct kx *k, uint64_t va, size_t max)
{
	if (!kx_ok(k, va, 1))
		return -EFAULT;
	uint64_t room = k->sys - va;
	size_t look = room < max + 1 ? (size_t)room : max + 1;
	const char *z = memchr(k->mem + va, 0, look);
	if (z)
		return z - (const char *)(k->mem + va);
	return look == max + 1 ? -E2BIG : -EFAULT;
}

/* A copy of the guest string at va (other threads may change it: the
 * copy ends where its NUL was). */
static long gstrdup(struct kx *k, uint64_t va, size_t max, char **out)
{
	long n = gstrlen(k, va, max);
	if (n < 0)
		return n;
	char *s = malloc((size_t)n + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s, k->mem + va, (size_t)n);
	s[n] = 0;
	*out = s;
	return n;
}

struct strv {
	char **v;
	size_t n, cap;
};

static void strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

/* The guest's NULL-terminated string array at arr into s; *total counts
 * bytes (strings and pointers) against ARG_TOTAL_MAX. */
static int gstrv(struct kx *k, uint64_t arr, struct strv *s, size_t *total)
{
	for (size_t i = 0; arr; i++) {
		const uint64_t *pp = kx_ptr(k, arr + i * 8, 8);
		if (!pp)
			return -EFAULT;
		uint64_t sp = *pp;
		if (!sp)
			return 0;
		if (s->n + 1 >= s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 16;
			char **nv = realloc(s->v, cap * sizeof(char *));
			if (!nv)
				return -ENOMEM;
			s->v = nv;
			s->cap = cap;
		}
		char *str;
		long n = gstrdup(k, sp, ARG_STR_MAX - 1, &str);
		if (n < 0)
			return (int)n;
		s->v[s->n++] = str;
		s->v[s->n] = NULL;
		*total += (size_t)n + 1 + sizeof(char *);
		if (*total > ARG_TOTAL_MAX)
			return -E2BIG;
	}
	return 0;
}

/* The interpreter named by a "#!" line in h (n bytes read), as
 * kx_shebang parses it, into buf; -ENOEXEC without one. */
static int shebang_interp(const char *h, size_t n, char *buf, size_t len)
{
	const char *nl = memchr(h, '\n', n);
	if (!nl)
		return -ENOEXEC;
	const char *p = h + 2;
	while (p < nl && (*p == ' ' || *p == '\t'))
		p++;
	const char *q = p;
	while (q < nl && *q && *q != ' ' && *q != '\t')
		q++;
	if (q == p || (size_t)(q - p) >= len)
		return -ENOEXEC;
	memcpy(buf, p, (size_t)(q - p));
	buf[q - p] = 0;
	return 0;
}

/* What the kernel refuses before the old program is gone: a file that
 * does not exist, is not a regular executable file, or is neither an
 * x86-64 ELF nor a #! script whose interpreter is one (one level, as
 * kx_shebang runs it).  0 or -errno. */
static int check_exe(struct kx *k, int dirfd, const char *path,
		     bool nofollow, bool interp)
{
	int fd = fs_open(&k->fs, dirfd, path, O_RDONLY | O_CLOEXEC |
			 (nofollow ? O_NOFOLLOW : 0), 0);
	if (fd < 0)
		return fd;
	struct stat st;
	char h[256];
	ssize_t n = -1;
	int r = 0;
	if (fstat(fd, &st))
		r = -errno;
	else if (!S_ISREG(st.st_mode))
		r = -EACCES;
	else if (faccessat(fd, "", X_OK, AT_EMPTY_PATH | AT_EACCESS))
		r = errno == EINVAL ? -EACCES : -errno;
	else if ((n = pread(fd, h, sizeof(h) - 1, 0)) < 0)
		r = -errno;
	close(fd);
	if (r)
		return r;
	const unsigned char *u = (const unsigned char *)h;
	if (n >= 20 && !memcmp(h, "\177ELF", 4) && u[4] == 2 &&
	    (u[18] | u[19] << 8) == 62)           /* ELFCLASS64, EM_X86_64 */
		return 0;
	if (interp || n < 2 || h[0] != '#' || h[1] != '!')
		return -ENOEXEC;
	char ip[PATH_MAX];
	r = shebang_interp(h, (size_t)n, ip, sizeof(ip));
	return r ? r : check_exe(k, AT_FDCWD, ip, false, true);
}

/* Linux keeps ignored signals ignored and the blocked mask across execve
 * (handlers fall back to SIG_DFL): ringvm's own dispositions and mask
 * carry them, the way the riscv64 side keeps them, to the new ringvm,
 * whose kx_proc_init reads them back.  old/omask: to undo if execveat
 * fails (bit s-1 of *set: old[s] holds the previous action). */
static void signals_out(struct kx_cpu *c, struct sigaction *old,
			uint64_t *set, sigset_t *omask)
{
	struct kx *k = c->k;
	uint64_t ign = 0;
	pthread_mutex_lock(&k->lock);
	for (int s = 1; s <= 64; s++)
		if (k->sa[s].handler == (uint64_t)(uintptr_t)SIG_IGN)
			ign |= SIGBIT(s);
	pthread_mutex_unlock(&k->lock);
	*set = 0;
	for (int s = 1; s <= 64; s++) {
		if (s == SIGKILL || s == SIGSTOP || s == KX_KICK)
			continue;
		struct sigaction sa = { .sa_handler = (ign & SIGBIT(s)) ?
						      SIG_IGN : SIG_DFL };
		sigemptyset(&sa.sa_mask);
		if (!sigaction(s, &sa, &old[s]))
			*set |= SIGBIT(s);
	}
	uint64_t m = c->sigmask & ~SIGBIT(KX_KICK);
	sigset_t hm;
	sigemptyset(&hm);
	memcpy(&hm, &m, sizeof(m));
	pthread_sigmask(SIG_SETMASK, &hm, omask);
}

static void signals_back(const struct sigaction *old, uint64_t set,
			 const sigset_t *omask)
{
	pthread_sigmask(SIG_SETMASK, omask, NULL);
	for (int s = 1; s <= 64; s++)
		if (set & SIGBIT(s))
			sigaction(s, &old[s], NULL);
}

/* The new ringvm's command line: this run's options, the descriptors it
 * takes over (fds: "KVM,VM,SELF"), the program's environment as --env
 * (never as ringvm's own: LD_PRELOAD and friends would reach ringvm's
 * loader), then the program.  Pointers into the arguments; NULL when out
 * of memory. */
static char **exec_argv(struct kx *k, char *fds, const char *path,
			const struct strv *av, const struct strv *ev)
{
	char *const *re = k->cfg->reexec_argv;
	size_t nre = 0;
	while (re[nre])
		nre++;
	char **full = calloc(nre + 2 * ev->n + av->n + 8, sizeof(char *));
	if (!full)
		return NULL;
	size_t i = 0;
	for (size_t j = 0; j < nre; j++)
		full[i++] = re[j];
	full[i++] = "--kvm-fds";
	full[i++] = fds;
	/* NAME=value only: cli/exec.c refuses anything else. */
	for (size_t j = 0; j < ev->n; j++) {
		if (ev->v[j][0] == '=' || !strchr(ev->v[j], '='))
			continue;
		full[i++] = "--env";
		full[i++] = ev->v[j];
	}
	full[i++] = "--argv0";
	full[i++] = av->n ? av->v[0] : (char *)path;
	full[i++] = "--";
	full[i++] = (char *)path;
	for (size_t j = 1; j < av->n; j++)
		full[i++] = av->v[j];
	full[i] = NULL;
	return full;
}

/* The path to hand the new ringvm: as given, unless relative to a
 * directory descriptor (ringvm starts from the cwd). */
static int exec_path(struct kx *k, int dirfd, const char *path, char *buf,
		     size_t len)
{
	if (path[0] == '/' || dirfd == AT_FDCWD) {
		if (strlen(path) >= len)
			return -ENAMETOOLONG;
		strcpy(buf, path);
		return 0;
	}
	return fs_abs(&k->fs, dirfd, path, buf, len);
}

/* The descriptors the new ringvm takes over stay open across execveat
 * (on: clear close-on-exec; off: set it back after a failure). */
static void keep_fds(struct kx *k, bool on)
{
	int fds[] = { k->kvm, k->vm, k->self_fd };
	for (unsigned i = 0; i < 3; i++)
		fcntl(fds[i], F_SETFD, on ? 0 : FD_CLOEXEC);
}

/* Replace the process: ringvm again, on the new program.  The seccomp
 * filter stays with the process across execveat: the new ringvm starts
 * under it (kvm_seccomp.c allows its start-up) with the same descriptor
 * numbers, so the same pins hold for it. */
static long reexec(struct kx_cpu *c, const char *path, const struct strv *av,
		   const struct strv *ev)
{
	struct kx *k = c->k;
	char fds[48];
	snprintf(fds, sizeof(fds), "%d,%d,%d", k->kvm, k->vm, k->self_fd);
	char **full = exec_argv(k, fds, path, av, ev);
	if (!full)
		return -ENOMEM;
	static char *const none[] = { NULL };
	char *const *henv = k->cfg->host_envp ? k->cfg->host_envp : none;
	struct sigaction old[65];
	uint64_t set;
	sigset_t omask;
	signals_out(c, old, &set, &omask);
	keep_fds(k, true);
	syscall(SYS_execveat, k->self_fd, (const char *)KX_EXEC_PATH_VA, full,
		henv, AT_EMPTY_PATH);
	long r = -errno;
	keep_fds(k, false);
	signals_back(old, set, &omask);
	free(full);
	return r;
}

long kx_execve(struct kx_cpu *c, int dirfd, uint64_t pva, uint64_t argv,
	       uint64_t envp, uint64_t flags)
{
	struct kx *k = c->k;
	if (flags & ~(uint64_t)(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -EINVAL;
	if (dirfd != AT_FDCWD && kx_internal_fd(k, dirfd))
		return -EBADF;
	if (k->self_fd < 0)
		return -ENOSYS;
	char *path = NULL;
	long r = gstrdup(k, pva, PATH_MAX - 1, &path);
	if (r < 0)
		return r == -E2BIG ? -ENAMETOOLONG : r;
	char new_path[PATH_MAX];
	struct strv av = { 0 }, ev = { 0 };
	size_t total = 0;
	/* The host's would be ringvm: the program's own, as readlink
	 * shows it (a program re-running itself). */
	if (!strcmp(path, "/proc/self/exe")) {
		char *own = strdup(k->exe_abs);
		if (!own) {
			free(path);
			return -ENOMEM;
		}
		free(path);
		path = own;
	}
	if (!path[0])                  /* fexecve: not offered */
		r = (flags & AT_EMPTY_PATH) ? -ENOSYS : -ENOENT;
	else
		r = check_exe(k, dirfd, path, flags & AT_SYMLINK_NOFOLLOW,
			      false);
	if (!r)
		r = exec_path(k, dirfd, path, new_path, sizeof(new_path));
	if (!r)
		r = gstrv(k, argv, &av, &total);
	if (!r)
		r = gstrv(k, envp, &ev, &total);
	if (!r)
		r = reexec(c, new_path, &av, &ev);
	strv_free(&av);
	strv_free(&ev);
	free(path);
	return r;
}

/* ---- the process ---- */

/* The descriptors a ringvm that exec'd this one left: "KVM,VM,SELF". */
static int adopt_fds(struct kx *k, const char *spec, struct err *errp)
{
	int fd[3];
	char end;
	if (sscanf(spec, "%d,%d,%d%c", &fd[0], &fd[1], &fd[2], &end) != 3)
		return err_set(errp, EINVAL, "--kvm-fds %s: want KVM,VM,SELF",
			       spec);
	for (unsigned i = 0; i < 3; i++)
		if (fd[i] < 0 || fcntl(fd[i], F_SETFD, FD_CLOEXEC))
			return err_set(errp, EBADF, "--kvm-fds %s: %d is not "
				       "open", spec, fd[i]);
	k->kvm = fd[0];
	k->vm = fd[1];
	k->self_fd = fd[2];
	return 0;
}

/* The page behind KX_EXEC_PATH_VA (zeros: the empty string). */
static bool map_exec_path(void)
{
	void *p = mmap((void *)KX_EXEC_PATH_VA, KX_PAGE, PROT_READ,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		       -1, 0);
	if (p == (void *)KX_EXEC_PATH_VA)
		return true;
	if (p != MAP_FAILED)
		munmap(p, KX_PAGE);
	return false;
}

int kx_proc_init(struct kx *k, struct err *errp)
{
	if (k->cfg->kvm_fds) {
		int r = adopt_fds(k, k->cfg->kvm_fds, errp);
		if (r)
			return r;
	} else {
		k->self_fd = open("/proc/self/exe", O_PATH | O_CLOEXEC);
	}
	/* Without them execve is ENOSYS; the program may never need it. */
	if (k->self_fd >= 0 && !map_exec_path()) {
		close(k->self_fd);
		k->self_fd = -1;
	}
	for (int s = 1; s <= 64; s++) {
		struct sigaction old;
		if (s == SIGKILL || s == SIGSTOP || s == KX_KICK)
			continue;
		if (!sigaction(s, NULL, &old) && old.sa_handler == SIG_IGN)
			k->sa[s].handler = (uint64_t)(uintptr_t)SIG_IGN;
	}
	return 0;
}

uint64_t kx_proc_mask(void)
{
	sigset_t m, kick;
	uint64_t v = 0;
	pthread_sigmask(SIG_BLOCK, NULL, &m);
	memcpy(&v, &m, sizeof(v));
	sigemptyset(&kick);
	sigaddset(&kick, KX_KICK);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	return v & ~UNBLOCKABLE & ~SIGBIT(KX_KICK);
}
