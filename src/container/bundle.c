/* config.json for a container made from an image (ctr.h): what docker
 * would ask runc for, from the image config and `run`'s options. */
#include "container/ctr.h"
#include "container/sysctl.h"

#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <json-c/json.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* docker's default capability set (moby oci/caps/defaults.go lists the
 * same fourteen). */
static const char *const default_caps[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
	"CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP",
	"CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
	"CAP_AUDIT_WRITE",
};

static struct json_object *strs(const char *const *v, size_t n)
{
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static size_t count(char **v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

/* Look `name` up in the rootfs's /etc/passwd (field 0 -> uid 2, gid 3)
 * or /etc/group (gid 2), read with symlinks resolved inside the rootfs. */
static int lookup(int rootfd, const char *file, const char *name,
		  unsigned *id, unsigned *gid)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, rootfd, file, &how, sizeof(how));
	if (fd < 0)
		return -ENOENT;
	FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	char line[1024];
	int r = -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		char *save, *user = strtok_r(line, ":", &save);
		strtok_r(NULL, ":", &save); /* password */
		char *a = strtok_r(NULL, ":", &save), *b = strtok_r(NULL, ":\n", &save);
		if (user && a && !strcmp(user, name)) {
			*id = (unsigned)strtoul(a, NULL, 10);
			if (gid)
				*gid = b ? (unsigned)strtoul(b, NULL, 10) : 0;
			r = 0;
			break;
		}
	}
	fclose(f);
	return r;
}

static bool numeric(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s) && strlen(s) < 10;
}

/* "U[:G]" by number or name -> uid, gid. */
static int resolve_user(const char *dir, const char *spec, unsigned *uid,
			unsigned *gid, struct err *errp)
{
	char u[256], *g;
	snprintf(u, sizeof(u), "%s", spec);
	if ((g = strchr(u, ':')))
		*g++ = '\0';
	char rp[PATH_MAX];
	snprintf(rp, sizeof(rp), "%s/rootfs", dir);
	int rootfd = open(rp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 0;
	*uid = *gid = 0;
	if (numeric(u)) {
		*uid = (unsigned)strtoul(u, NULL, 10);
	} else if (!*u || lookup(rootfd, "/etc/passwd", u, uid, gid)) {
		r = err_set(errp, EINVAL, "user `%.64s`: no such user in the image's /etc/passwd", u);
	}
	if (!r && g) {
		if (numeric(g))
			*gid = (unsigned)strtoul(g, NULL, 10);
		else if (lookup(rootfd, "/etc/group", g, gid, NULL))
			r = err_set(errp, EINVAL, "group `%.64s`: no such group in the image's /etc/group", g);
	}
	if (rootfd >= 0)
		close(rootfd);
	return r;
}

static int write_file(const char *dir, const char *name, const char *text,
		      struct err *errp)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_sys(errp, errno, "write `%s`", p);
	size_t n = strlen(text);
	int r = write(fd, text, n) == (ssize_t)n ? 0 : err_sys(errp, errno ? errno : EIO, "write `%s`", p);
	close(fd);
	return r;
}

static void add_mount(struct json_object *mounts, const char *dst,
		      const char *type, const char *src, const char *const *opt,
		      size_t nopt)
{
	struct json_object *m = json_object_new_object();
	json_object_object_add(m, "destination", json_object_new_string(dst));
	json_object_object_add(m, "type", json_object_new_string(type));
	json_object_object_add(m, "source", json_object_new_string(src));
	if (nopt)
		json_object_object_add(m, "options", strs(opt, nopt));
	json_object_array_add(mounts, m);
}

/* Env: the image's, then -e (replacing by key), PATH when none, HOSTNAME
 * and TERM as docker sets them. */
static struct json_object *make_env(const struct oci_image_config *ic,
				    const struct ctr_opts *o, const char *host)
{
	size_t cap = count(ic->env) + o->nenv + 4, n = 0;
	char **v = calloc(cap, sizeof(char *));
	if (!v)
		return NULL;
	char hostvar[300];
	snprintf(hostvar, sizeof(hostvar), "HOSTNAME=%s", host);
	const char *extra[3] = { hostvar, o->terminal ? "TERM=xterm" : NULL, NULL };
	for (int pass = 0; pass < 3; pass++) {
		size_t m = pass == 0 ? count(ic->env) : pass == 1 ? 2 : o->nenv;
		for (size_t i = 0; i < m; i++) {
			const char *e = pass == 0 ? ic->env[i] : pass == 1 ? extra[i] : o->env[i];
			if (!e)
				continue;
			char buf[8192];
			if (pass == 2 && !strchr(e, '=')) {
				/* `-e K` passes K from our environment, or
				 * nothing when unset (docker). */
				const char *val = getenv(e);
				if (!val)
					continue;
				snprintf(buf, sizeof(buf), "%s=%s", e, val);
				e = buf;
			}
			size_t kl = strcspn(e, "=");
			size_t k;
			for (k = 0; k < n; k++)
				if (!strncmp(v[k], e, kl) && v[k][kl] == '=')
					break;
			char *d = strdup(e);
			if (!d)
				continue;
			if (k < n) {
				free(v[k]);
				v[k] = d;
			} else {
				v[n++] = d;
			}
		}
	}
	bool path = false;
	for (size_t k = 0; k < n; k++)
		path |= !strncmp(v[k], "PATH=", 5);
	if (!path && n < cap)
		v[n++] = strdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	struct json_object *a = json_object_new_array();
	for (size_t k = 0; k < n; k++) {
		if (v[k])
			json_object_array_add(a, json_object_new_string(v[k]));
		free(v[k]);
	}
	free(v);
	return a;
}

/* The caller's subordinate id range from /etc/subuid or /etc/subgid
 * (subuid(5): "name-or-id:start:count"), used only when the setuid
 * helper that applies it (newuidmap/newgidmap) is installed.  Returns
 * false when there is none. */
static bool subid_range(const char *file, const char *tool, unsigned id,
			unsigned *start, unsigned *cnt)
{
	char tp[64];
	snprintf(tp, sizeof(tp), "/usr/bin/%s", tool);
	if (access(tp, X_OK))
		return false;
	FILE *f = fopen(file, "re");
	if (!f)
		return false;
	struct passwd pw, *pp = NULL;
	char pwbuf[1024], line[512], ids[16];
	getpwuid_r(id, &pw, pwbuf, sizeof(pwbuf), &pp);
	snprintf(ids, sizeof(ids), "%u", id);
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *save, *who = strtok_r(line, ":", &save);
		char *a = strtok_r(NULL, ":", &save), *b = strtok_r(NULL, ":\n", &save);
		if (!who || !a || !b || (strcmp(who, ids) && (!pp || strcmp(who, pp->pw_name))))
			continue;
		char *e1, *e2;
		unsigned long st = strtoul(a, &e1, 10), n = strtoul(b, &e2, 10);
		if (*e1 || *e2 || !n || st > 0xffffffffUL || n > 0xffffffffUL - st)
			continue;
		*start = (unsigned)st;
		*cnt = (unsigned)(n > 65535 ? 65535 : n);
		found = true;
	}
	fclose(f);
	return found;
}

static void add_map(struct json_object *a, unsigned ctr, unsigned host, unsigned size)
{
	struct json_object *m = json_object_new_object();
	json_object_object_add(m, "containerID", json_object_new_int64(ctr));
	json_object_object_add(m, "hostID", json_object_new_int64(host));
	json_object_object_add(m, "size", json_object_new_int64(size));
	json_object_array_add(a, m);
}

/* Rootless id map: container 0 is the caller, 1.. its subordinate range
 * when it has one, else only 0 is mapped. */
static struct json_object *rootless_map(const char *file, const char *tool, unsigned own)
{
	struct json_object *a = json_object_new_array();
	unsigned st, n;
	add_map(a, 0, own, 1);
	if (subid_range(file, tool, geteuid(), &st, &n))
		add_map(a, 1, st, n);
	return a;
}

int ctr_bundle_write(const char *dir, const struct ctr_meta *m,
		     const struct oci_image_config *ic,
		     const struct ctr_opts *o, struct err *errp)
{
	char host[256];
	snprintf(host, sizeof(host), "%s", o->hostname ? o->hostname : "");
	if (!host[0])
		snprintf(host, sizeof(host), "%.12s", m->id);
	/* Rootless: a user namespace, no cgroup (none is delegated to a user
	 * on a v1 host, and ringvm does not look for a delegated v2 one). */
	bool rootless = geteuid() != 0;
	if (rootless && (o->memory || o->cpu_quota || o->pids))
		return err_set(errp, EPERM, "--memory, --cpus and --pids-limit need root: "
			       "a rootless container gets no cgroup limits");
	unsigned uid = 0, gid = 0;
	const char *user = o->user ? o->user : ic->user;
	int r;
	if (user && *user && (r = resolve_user(dir, user, &uid, &gid, errp)))
		return r;
	/* args: entrypoint + (CMD... or the image's Cmd); --entrypoint
	 * drops the image's Cmd as docker does. */
	struct json_object *args = json_object_new_array();
	if (o->entrypoint) {
		if (*o->entrypoint)
			json_object_array_add(args, json_object_new_string(o->entrypoint));
	} else {
		for (size_t i = 0; i < count(ic->entrypoint); i++)
			json_object_array_add(args, json_object_new_string(ic->entrypoint[i]));
	}
	if (o->nargs)
		for (size_t i = 0; i < o->nargs; i++)
			json_object_array_add(args, json_object_new_string(o->args[i]));
	else if (!o->entrypoint)
		for (size_t i = 0; i < count(ic->cmd); i++)
			json_object_array_add(args, json_object_new_string(ic->cmd[i]));
	if (!json_object_array_length(args)) {
		json_object_put(args);
		return err_set(errp, EINVAL, "no command given and the image has no Cmd or Entrypoint");
	}

	struct json_object *c = json_object_new_object(), *p = json_object_new_object(),
			   *u = json_object_new_object(), *caps = json_object_new_object(),
			   *root = json_object_new_object(), *mounts = json_object_new_array(),
			   *lin = json_object_new_object(), *ns = json_object_new_array(),
			   *res = json_object_new_object();
	json_object_object_add(c, "ociVersion", json_object_new_string("1.1.0"));
	json_object_object_add(p, "terminal", json_object_new_boolean(o->terminal));
	json_object_object_add(u, "uid", json_object_new_int64(uid));
	json_object_object_add(u, "gid", json_object_new_int64(gid));
	json_object_object_add(p, "user", u);
	json_object_object_add(p, "args", args);
	json_object_object_add(p, "env", make_env(ic, o, host));
	json_object_object_add(p, "cwd", json_object_new_string(
		o->workdir ? o->workdir : ic->workdir ? ic->workdir : "/"));
	size_t ncaps = sizeof(default_caps) / sizeof(default_caps[0]);
	static const char *const sets[] = { "bounding", "effective", "permitted" };
	for (int i = 0; i < 3; i++)
		json_object_object_add(caps, sets[i], strs(default_caps, ncaps));
	json_object_object_add(p, "capabilities", caps);
	if (o->has_oom_score_adj)
		json_object_object_add(p, "oomScoreAdj",
				       json_object_new_int(o->oom_score_adj));
	json_object_object_add(c, "process", p);
	json_object_object_add(root, "path", json_object_new_string("rootfs"));
	json_object_object_add(root, "readonly", json_object_new_boolean(o->readonly));
	json_object_object_add(c, "root", root);
	json_object_object_add(c, "hostname", json_object_new_string(host));

	static const char *const dev[] = { "nosuid", "strictatime", "mode=755", "size=65536k" };
	static const char *const pts[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666",
					   "mode=0620", "gid=5" };
	static const char *const shm[] = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" };
	static const char *const mq[] = { "nosuid", "noexec", "nodev" };
	static const char *const sys[] = { "nosuid", "noexec", "nodev", "ro" };
	static const char *const cg[] = { "nosuid", "noexec", "nodev", "relatime", "ro" };
	add_mount(mounts, "/proc", "proc", "proc", NULL, 0);
	add_mount(mounts, "/dev", "tmpfs", "tmpfs", dev, 4);
	/* Rootless: gid 5 (tty) may be unmapped; sysfs can be mounted only
	 * in a network namespace the user namespace owns (else the host's is
	 * bound); the v1 cgroup hierarchies cannot be mounted at all. */
	static const char *const sys_bind[] = { "rbind", "rprivate", "nosuid", "noexec", "nodev", "ro" };
	add_mount(mounts, "/dev/pts", "devpts", "devpts", pts, rootless ? 5 : 6);
	add_mount(mounts, "/dev/shm", "tmpfs", "shm", shm, 5);
	add_mount(mounts, "/dev/mqueue", "mqueue", "mqueue", mq, 3);
	if (rootless && o->net == CTR_NET_HOST)
		add_mount(mounts, "/sys", "bind", "/sys", sys_bind, 6);
	else
		add_mount(mounts, "/sys", "sysfs", "sysfs", sys, 4);
	if (!rootless)
		add_mount(mounts, "/sys/fs/cgroup", "cgroup", "cgroup", cg, 5);
	/* hostname, hosts and resolv.conf are the container's own files,
	 * bound in (so --read-only leaves them as docker does). */
	char etc[PATH_MAX], hosts[700], src[PATH_MAX + 32];
	snprintf(etc, sizeof(etc), "%s/etc", dir);
	if (mkdir(etc, 0755) && errno != EEXIST) {
		r = err_sys(errp, errno, "mkdir `%s`", etc);
		goto out;
	}
	snprintf(hosts, sizeof(hosts), "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t%s\n", host);
	char hn[300];
	snprintf(hn, sizeof(hn), "%s\n", host);
	char resolv[4096] = "";
	int rf = open("/etc/resolv.conf", O_RDONLY | O_CLOEXEC);
	if (rf >= 0) {
		ssize_t k = read(rf, resolv, sizeof(resolv) - 1);
		resolv[k > 0 ? k : 0] = '\0';
		close(rf);
	}
	if ((r = write_file(etc, "hostname", hn, errp)) ||
	    (r = write_file(etc, "hosts", hosts, errp)) ||
	    (r = write_file(etc, "resolv.conf", resolv, errp)))
		goto out;
	static const char *const bind[] = { "rbind", "rprivate" };
	static const char *const bind_ro[] = { "rbind", "rprivate", "ro" };
	static const char *const files[] = { "hostname", "hosts", "resolv.conf" };
	for (int i = 0; i < 3; i++) {
		char dst[64];
		snprintf(src, sizeof(src), "%s/%s", etc, files[i]);
		snprintf(dst, sizeof(dst), "/etc/%s", files[i]);
		add_mount(mounts, dst, "bind", src, bind, 2);
	}
	for (size_t i = 0; i < o->nvolumes; i++) {
		char v[PATH_MAX], *d, *mode;
		snprintf(v, sizeof(v), "%s", o->volumes[i]);
		d = strchr(v, ':');
		mode = d ? strchr(d + 1, ':') : NULL;
		if (mode)
			*mode++ = '\0';
		if (d)
			*d++ = '\0';
		if (!d || v[0] != '/' || d[0] != '/' || (mode && strcmp(mode, "ro") && strcmp(mode, "rw"))) {
			r = err_set(errp, EINVAL, "-v `%.200s`: expected /HOST:/CONTAINER[:ro|rw] (absolute paths)",
				    o->volumes[i]);
			goto out;
		}
		struct stat st;
		if (stat(v, &st)) {
			r = err_sys(errp, errno, "-v `%.200s`: host path", v);
			goto out;
		}
		bool ro = mode && !strcmp(mode, "ro");
		add_mount(mounts, d, "bind", v, ro ? bind_ro : bind, ro ? 3 : 2);
	}
	json_object_object_add(c, "mounts", mounts);
	mounts = NULL;

	static const char *const nss[] = { "pid", "ipc", "uts", "mount", "cgroup", "network" };
	for (size_t i = 0; i < 6; i++) {
		if (i == 5 && o->net == CTR_NET_HOST)
			continue;
		struct json_object *n = json_object_new_object();
		json_object_object_add(n, "type", json_object_new_string(nss[i]));
		json_object_array_add(ns, n);
	}
	if (rootless) {
		struct json_object *n = json_object_new_object();
		json_object_object_add(n, "type", json_object_new_string("user"));
		json_object_array_add(ns, n);
		json_object_object_add(lin, "uidMappings", rootless_map("/etc/subuid", "newuidmap", geteuid()));
		json_object_object_add(lin, "gidMappings", rootless_map("/etc/subgid", "newgidmap", getegid()));
	}
	json_object_object_add(lin, "namespaces", ns);
	ns = NULL;
	if (o->memory) {
		struct json_object *mem = json_object_new_object();
		json_object_object_add(mem, "limit", json_object_new_int64(o->memory));
		json_object_object_add(res, "memory", mem);
	}
	if (o->cpu_quota) {
		struct json_object *cpu = json_object_new_object();
		json_object_object_add(cpu, "quota", json_object_new_int64(o->cpu_quota));
		json_object_object_add(cpu, "period", json_object_new_int64(100000));
		json_object_object_add(res, "cpu", cpu);
	}
	if (o->pids) {
		struct json_object *pl = json_object_new_object();
		json_object_object_add(pl, "limit", json_object_new_int64(o->pids));
		json_object_object_add(res, "pids", pl);
	}
	json_object_object_add(lin, "resources", res);
	res = NULL;
	static const char *const masked[] = { "/proc/acpi", "/proc/asound", "/proc/kcore",
		"/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
		"/proc/sched_debug", "/sys/firmware", "/proc/scsi" };
	static const char *const ro[] = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
		"/proc/sysrq-trigger" };
	json_object_object_add(lin, "maskedPaths", strs(masked, 10));
	json_object_object_add(lin, "readonlyPaths", strs(ro, 5));
	if (o->nsysctls) {
		struct json_object *sy = json_object_new_object();
		for (size_t i = 0; i < o->nsysctls; i++) {
			char key[256];
			if (sysctl_kv_key(o->sysctls[i], key, sizeof(key))) {
				json_object_put(sy);
				r = err_set(errp, EINVAL, "--sysctl `%.64s`: "
					    "expected NAME=VALUE", o->sysctls[i]);
				goto out;
			}
			json_object_object_add(sy, key, json_object_new_string(
				strchr(o->sysctls[i], '=') + 1));
		}
		json_object_object_add(lin, "sysctl", sy);
	}
	json_object_object_add(c, "linux", lin);
	lin = NULL;
	r = write_file(dir, "config.json",
		       json_object_to_json_string_ext(c, JSON_C_TO_STRING_PRETTY |
						      JSON_C_TO_STRING_NOSLASHESCAPE), errp);
out:
	json_object_put(mounts);
	json_object_put(ns);
	json_object_put(res);
	json_object_put(lin);
	json_object_put(c);
	return r;
}
