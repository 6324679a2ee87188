/* cgroup v1/v2 set-up and tear-down for one container. */
#include "container/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

#define CG_ROOT "/sys/fs/cgroup"

static const char *const v1_ctrls[] = { "memory", "pids", "cpu" };

int cgroup_host_version(void)
{
	struct statfs sf;
	if (statfs(CG_ROOT, &sf) < 0)
		return -errno;
	if (sf.f_type == CGROUP2_SUPER_MAGIC)
		return 2;
	/* v1 (or hybrid): the controllers we need must be mounted. */
	for (size_t i = 0; i < sizeof(v1_ctrls) / sizeof(v1_ctrls[0]); i++) {
		char p[64];
		snprintf(p, sizeof(p), CG_ROOT "/%s", v1_ctrls[i]);
		if (statfs(p, &sf) < 0 || sf.f_type != CGROUP_SUPER_MAGIC)
			return -ENOTSUP;
	}
	return 1;
}

int cgroup_path(const struct oci_config *cfg, const char *id, char *out,
		size_t cap, struct err *errp)
{
	const char *p = cfg->cgroups_path;
	int n;
	if (!p || !*p) {
		n = snprintf(out, cap, "/ringvm/%s", id);
	} else if (strchr(p, ':')) {
		/* systemd notation "slice:prefix:name"; without systemd we
		 * place it where systemd would. */
		char slice[256], prefix[256], name[256];
		if (sscanf(p, "%255[^:]:%255[^:]:%255s", slice, prefix, name) != 3)
			return err_set(errp, EINVAL,
				       "linux.cgroupsPath: `%.64s` is not slice:prefix:name", p);
		n = snprintf(out, cap, "/%s/%s-%s.scope", slice, prefix, name);
	} else {
		n = snprintf(out, cap, "%s%s", p[0] == '/' ? "" : "/", p);
	}
	if (n < 0 || (size_t)n >= cap)
		return err_set(errp, EINVAL, "linux.cgroupsPath: too long");
	/* No component may climb out of the hierarchy. */
	for (const char *s = out; (s = strstr(s, "..")); s += 2)
		if (s[-1] == '/' && (s[2] == '/' || s[2] == '\0'))
			return err_set(errp, EINVAL,
				       "linux.cgroupsPath: `..` is not allowed");
	return 0;
}

static int write_file(const char *dir, const char *file, const char *val,
		      struct err *errp)
{
	char p[640];
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	cleanup_close int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(errp, errno, "cgroup: open %s", p);
	ssize_t n = write(fd, val, strlen(val));
	if (n < 0)
		return err_sys(errp, errno, "cgroup: write `%s` to %s", val, p);
	return 0;
}

/* mkdir -p of root+rel; only the last component must be new. */
static int make_dir(const char *root, const char *rel, char *out, size_t cap,
		    struct err *errp)
{
	int n = snprintf(out, cap, "%s%s", root, rel);
	if (n < 0 || (size_t)n >= cap)
		return err_set(errp, ENAMETOOLONG, "cgroup: path too long");
	for (char *s = out + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		int r = mkdir(out, 0755);
		*s = '/';
		if (r < 0 && errno != EEXIST)
			return err_sys(errp, errno, "cgroup: mkdir %.*s",
				       (int)(s - out), out);
	}
	if (mkdir(out, 0755) < 0)
		return err_sys(errp, errno, "cgroup: mkdir %s", out);
	return 0;
}

static int set_limits_v1(struct cgroup *cg, const struct oci_config *cfg,
			 struct err *errp)
{
	char v[64];
	int r = 0;
	for (int i = 0; i < cg->ndirs && !r; i++) {
		const char *d = cg->dirs[i];
		if (i == 0 && cfg->mem_limit > 0) {
			snprintf(v, sizeof(v), "%lld", (long long)cfg->mem_limit);
			r = write_file(d, "memory.limit_in_bytes", v, errp);
			/* With swap accounting the limit covers swap too, so
			 * an over-limit container is OOM-killed, not swapped. */
			char p[640];
			snprintf(p, sizeof(p), "%s/memory.memsw.limit_in_bytes", d);
			if (!r && access(p, F_OK) == 0)
				r = write_file(d, "memory.memsw.limit_in_bytes", v, errp);
		} else if (i == 1 && cfg->pids_limit > 0) {
			snprintf(v, sizeof(v), "%lld", (long long)cfg->pids_limit);
			r = write_file(d, "pids.max", v, errp);
		} else if (i == 2) {
			if (cfg->cpu_period) {
				snprintf(v, sizeof(v), "%llu",
					 (unsigned long long)cfg->cpu_period);
				r = write_file(d, "cpu.cfs_period_us", v, errp);
			}
			if (!r && cfg->cpu_quota > 0) {
				snprintf(v, sizeof(v), "%lld", (long long)cfg->cpu_quota);
				r = write_file(d, "cpu.cfs_quota_us", v, errp);
			}
		}
	}
	return r;
}

static int set_limits_v2(struct cgroup *cg, const struct oci_config *cfg,
			 struct err *errp)
{
	char v[64];
	int r = 0;
	const char *d = cg->dirs[0];
	if (cfg->mem_limit > 0) {
		snprintf(v, sizeof(v), "%lld", (long long)cfg->mem_limit);
		r = write_file(d, "memory.max", v, errp);
		char p[640];
		snprintf(p, sizeof(p), "%s/memory.swap.max", d);
		if (!r && access(p, F_OK) == 0)
			r = write_file(d, "memory.swap.max", "0", errp);
	}
	if (!r && cfg->pids_limit > 0) {
		snprintf(v, sizeof(v), "%lld", (long long)cfg->pids_limit);
		r = write_file(d, "pids.max", v, errp);
	}
	if (!r && (cfg->cpu_quota > 0 || cfg->cpu_period)) {
		if (cfg->cpu_quota > 0)
			snprintf(v, sizeof(v), "%lld %llu", (long long)cfg->cpu_quota,
				 (unsigned long long)(cfg->cpu_period ? cfg->cpu_period : 100000));
		else
			snprintf(v, sizeof(v), "max %llu",
				 (unsigned long long)cfg->cpu_period);
		r = write_file(d, "cpu.max", v, errp);
	}
	return r;
}

/* v2: each ancestor must delegate the controllers to its children.
 * Make rel's ancestors and enable in each the controllers the limits
 * need (none without limits: a hybrid host's v2 tree has none to give,
 * and a cgroup that only groups processes needs none). */
static int enable_v2(const char *rel, const struct oci_config *cfg,
		     struct err *errp)
{
	char want[64] = "";
	if (cfg->mem_limit >= 0)
		strcat(want, " +memory");
	if (cfg->pids_limit >= 0)
		strcat(want, " +pids");
	if (cfg->cpu_quota >= 0 || cfg->cpu_period)
		strcat(want, " +cpu");
	char p[512];
	snprintf(p, sizeof(p), CG_ROOT "%s", rel);
	for (char *s = p + strlen(CG_ROOT); (s = strchr(s, '/')); s++) {
		*s = '\0';
		char dir[512];
		snprintf(dir, sizeof(dir), "%s", p);
		*s = '/';
		if (strlen(dir) > strlen(CG_ROOT) && mkdir(dir, 0755) < 0 &&
		    errno != EEXIST)
			return err_sys(errp, errno, "cgroup: mkdir %s", dir);
		int r = want[0] ? write_file(dir, "cgroup.subtree_control",
					     want + 1, errp) : 0;
		if (r)
			return r;
	}
	return 0;
}

int cgroup_create(struct cgroup *cg, const char *rel,
		  const struct oci_config *cfg, struct err *errp)
{
	memset(cg, 0, sizeof(*cg));
	int v = cgroup_host_version(), r;
	if (v < 0)
		return err_sys(errp, -v, "cgroup: neither a usable cgroup v2 "
			       "hierarchy nor v1 memory, pids and cpu controllers "
			       "under " CG_ROOT);
	cg->version = v;
	if (v == 2) {
		r = enable_v2(rel, cfg, errp);
		if (!r)
			r = make_dir(CG_ROOT, rel, cg->dirs[0],
				     sizeof(cg->dirs[0]), errp);
		if (!r)
			cg->ndirs = 1;
		if (!r)
			r = set_limits_v2(cg, cfg, errp);
	} else {
		r = 0;
		for (size_t i = 0; i < 3 && !r; i++) {
			char root[64];
			snprintf(root, sizeof(root), CG_ROOT "/%s", v1_ctrls[i]);
			r = make_dir(root, rel, cg->dirs[i], sizeof(cg->dirs[i]),
				     errp);
			if (!r)
				cg->ndirs = (int)i + 1;
		}
		if (!r)
			r = set_limits_v1(cg, cfg, errp);
	}
	if (r)
		cgroup_destroy(cg, NULL);
	return r;
}

int cgroup_enter(const struct cgroup *cg, pid_t pid, struct err *errp)
{
	char v[32];
	snprintf(v, sizeof(v), "%d", (int)pid);
	for (int i = 0; i < cg->ndirs; i++) {
		int r = write_file(cg->dirs[i], "cgroup.procs", v, errp);
		if (r)
			return r;
	}
	return 0;
}

int cgroup_open_tasks(const struct cgroup *cg, int fds[CG_MAX_DIRS],
		      struct err *errp)
{
	if (cg->version != 1)
		return 0;
	for (int i = 0; i < cg->ndirs; i++) {
		char p[640];
		snprintf(p, sizeof(p), "%s/tasks", cg->dirs[i]);
		fds[i] = open(p, O_WRONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			int r = err_sys(errp, errno, "cgroup: open %s", p);
			while (i-- > 0)
				close(fds[i]);
			return r;
		}
	}
	return cg->ndirs;
}

int cgroup_join_self(const int *fds, int n, struct err *errp)
{
	for (int i = 0; i < n; i++)
		if (write(fds[i], "0", 1) != 1)
			return err_sys(errp, errno, "cgroup: join (tasks file %d)", i);
	return 0;
}

/* Kill what is listed in dir/cgroup.procs; returns how many were listed. */
static int kill_procs(const char *dir)
{
	char p[640];
	snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
	FILE *f = fopen(p, "re");
	if (!f)
		return 0;
	int n = 0, pid;
	while (fscanf(f, "%d", &pid) == 1) {
		if (pid > 0)
			kill(pid, SIGKILL);
		n++;
	}
	fclose(f);
	return n;
}

int cgroup_destroy(struct cgroup *cg, struct err *errp)
{
	int ret = 0;
	for (int i = cg->ndirs - 1; i >= 0; i--) {
		const char *d = cg->dirs[i];
		/* Up to 2 s: a process in D state takes a while to die. */
		for (int t = 0; t < 400; t++) {
			kill_procs(d);
			if (rmdir(d) == 0 || errno == ENOENT)
				break;
			if (errno != EBUSY) {
				if (!ret)
					ret = err_sys(errp, errno, "cgroup: rmdir %s", d);
				break;
			}
			struct timespec ts = { 0, 5000000 };
			nanosleep(&ts, NULL);
			if (t == 399 && !ret)
				ret = err_sys(errp, EBUSY, "cgroup: rmdir %s", d);
		}
	}
	cg->ndirs = 0;
	return ret;
}
