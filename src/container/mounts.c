/* The container's filesystem view: its mounts inside rootfs, pivot_root,
 * masked and read-only paths.  Every path inside rootfs is resolved with
 * openat2(RESOLVE_IN_ROOT), so neither `..` nor a symlink planted in the
 * rootfs (absolute or relative) can make a mount land outside it; mounts
 * then target the resolved inode through /proc/self/fd/N. */
#include "container/container.h"
#include "container/sysctl.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>

static int openat2_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)flags | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;
	do
		fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	while (fd < 0 && (errno == EAGAIN || errno == EINTR));
	return fd < 0 ? -errno : fd;
}

int path_in_root(int rootfd, const char *path, bool create, bool file)
{
	int fd = openat2_in_root(rootfd, path, O_PATH);
	if (fd >= 0 || fd != -ENOENT || !create)
		return fd;
	/* Create component by component; each parent is re-resolved
	 * inside the root, so a symlink swapped in meanwhile still cannot
	 * point out. */
	char buf[OCI_MAX_STR + 1];
	if (strlen(path) > OCI_MAX_STR)
		return -ENAMETOOLONG;
	strcpy(buf, path);
	size_t len = strlen(buf);
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	char *slash = strrchr(buf, '/');
	const char *name = slash ? slash + 1 : buf;
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	int parent;
	if (!slash || slash == buf) {
		parent = openat2_in_root(rootfd, "/", O_PATH | O_DIRECTORY);
	} else {
		*slash = '\0';
		parent = path_in_root(rootfd, buf, true, false);
		*slash = '/';
	}
	if (parent < 0)
		return parent;
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/self/fd/%d", parent);
	int pd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	close(parent);
	if (pd < 0)
		return -errno;
	int r;
	if (file) {
		r = openat(pd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW |
			   O_CLOEXEC, 0644);
		if (r >= 0)
			close(r);
	} else {
		r = mkdirat(pd, name, 0755);
	}
	if (r < 0 && errno != EEXIST) {
		r = -errno;
		close(pd);
		return r;
	}
	close(pd);
	return openat2_in_root(rootfd, path, O_PATH);
}

/* Flags a bind remount must keep: in a user namespace the kernel refuses
 * to clear nosuid, nodev, noexec, ro or atime flags it locked. */
static unsigned long locked_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;
	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
	return f;
}

/* Mount options that are flags; anything else goes to the fs as data. */
static const struct { const char *name; unsigned long set, clear; } optab[] = {
	{ "ro", MS_RDONLY, 0 }, { "rw", 0, MS_RDONLY },
	{ "nosuid", MS_NOSUID, 0 }, { "suid", 0, MS_NOSUID },
	{ "nodev", MS_NODEV, 0 }, { "dev", 0, MS_NODEV },
	{ "noexec", MS_NOEXEC, 0 }, { "exec", 0, MS_NOEXEC },
	{ "sync", MS_SYNCHRONOUS, 0 }, { "async", 0, MS_SYNCHRONOUS },
	{ "noatime", MS_NOATIME, 0 }, { "atime", 0, MS_NOATIME },
	{ "nodiratime", MS_NODIRATIME, 0 }, { "diratime", 0, MS_NODIRATIME },
	{ "relatime", MS_RELATIME, 0 }, { "norelatime", 0, MS_RELATIME },
	{ "strictatime", MS_STRICTATIME, 0 },
	{ "bind", MS_BIND, 0 }, { "rbind", MS_BIND | MS_REC, 0 },
};
static const struct { const char *name; unsigned long flags; } proptab[] = {
	{ "private", MS_PRIVATE }, { "rprivate", MS_PRIVATE | MS_REC },
	{ "shared", MS_SHARED }, { "rshared", MS_SHARED | MS_REC },
	{ "slave", MS_SLAVE }, { "rslave", MS_SLAVE | MS_REC },
	{ "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
};

struct mopts {
	unsigned long flags, prop;
	char data[1024];
};

static int parse_opts(char **opts, struct mopts *o, const char *dest,
		      struct err *errp)
{
	memset(o, 0, sizeof(*o));
	for (char **p = opts; p && *p; p++) {
		size_t i;
		for (i = 0; i < sizeof(optab) / sizeof(optab[0]); i++)
			if (!strcmp(*p, optab[i].name)) {
				o->flags = (o->flags | optab[i].set) & ~optab[i].clear;
				break;
			}
		if (i < sizeof(optab) / sizeof(optab[0]))
			continue;
		for (i = 0; i < sizeof(proptab) / sizeof(proptab[0]); i++)
			if (!strcmp(*p, proptab[i].name)) {
				o->prop = proptab[i].flags;
				break;
			}
		if (i < sizeof(proptab) / sizeof(proptab[0]))
			continue;
		size_t n = strlen(o->data);
		if (n + strlen(*p) + 2 > sizeof(o->data))
			return err_set(errp, EINVAL, "mount %.200s: options too long", dest);
		snprintf(o->data + n, sizeof(o->data) - n, "%s%s", n ? "," : "", *p);
	}
	return 0;
}

static int mount_one(int rootfd, const struct oci_mount *m, bool private_cg,
		     struct err *errp)
{
	struct mopts o;
	int r = parse_opts(m->options, &o, m->destination, errp);
	if (r)
		return r;
	bool bind = (o.flags & MS_BIND) || (m->type && !strcmp(m->type, "bind"));
	const char *type = m->type ? m->type : "none";
	if (!bind && (!strcmp(type, "cgroup") || !strcmp(type, "cgroup2")))
		return cgroupfs_mount(rootfd, m, o.flags, private_cg, errp);
	bool isfile = false;
	if (bind) {
		struct stat st;
		if (!m->source || stat(m->source, &st) < 0)
			return err_sys(errp, m->source ? errno : EINVAL,
				       "mount %.200s: bind source %.200s",
				       m->destination, m->source ? m->source : "(none)");
		isfile = !S_ISDIR(st.st_mode);
	}
	cleanup_close int t = path_in_root(rootfd, m->destination, true, isfile);
	if (t < 0)
		return err_sys(errp, -t, "mount %.200s: destination", m->destination);
	char tp[64];
	snprintf(tp, sizeof(tp), "/proc/self/fd/%d", t);
	if (bind) {
		if (mount(m->source, tp, NULL, MS_BIND | (o.flags & MS_REC), NULL) < 0)
			return err_sys(errp, errno, "mount %.200s: bind %.200s",
				       m->destination, m->source);
		unsigned long rf = o.flags & ~(MS_BIND | MS_REC);
		/* Flags on a bind take a second, remount call; reopen the
		 * target, which is now the new mount's root. */
		if (rf) {
			cleanup_close int t2 = path_in_root(rootfd, m->destination,
							    false, false);
			snprintf(tp, sizeof(tp), "/proc/self/fd/%d", t2);
			if (t2 < 0 || mount(NULL, tp, NULL, MS_BIND | MS_REMOUNT |
					    rf | locked_flags(tp), NULL) < 0)
				return err_sys(errp, t2 < 0 ? -t2 : errno,
					       "mount %.200s: remount with flags",
					       m->destination);
		}
	} else if (mount(m->source ? m->source : type, tp, type, o.flags,
			 o.data[0] ? o.data : NULL) < 0) {
		return err_sys(errp, errno, "mount %.200s: %s", m->destination, type);
	}
	if (o.prop) {
		cleanup_close int t3 = path_in_root(rootfd, m->destination, false, false);
		snprintf(tp, sizeof(tp), "/proc/self/fd/%d", t3);
		if (t3 < 0 || mount(NULL, tp, NULL, o.prop, NULL) < 0)
			return err_sys(errp, t3 < 0 ? -t3 : errno,
				       "mount %.200s: propagation", m->destination);
	}
	return 0;
}

static bool has_mount(const struct oci_config *cfg, const char *dest)
{
	for (size_t i = 0; i < cfg->nmounts; i++)
		if (!strcmp(cfg->mounts[i].destination, dest))
			return true;
	return false;
}

/* After pivot_root: hide a path (maskedPaths): /dev/null over a file, an
 * empty read-only tmpfs over a directory.  Missing paths are fine. */
static int mask_path(const char *p, struct err *errp)
{
	struct stat st;
	if (lstat(p, &st) < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 :
		       err_sys(errp, errno, "maskedPaths: %s", p);
	int r = S_ISDIR(st.st_mode) ?
		mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0k") :
		mount("/dev/null", p, NULL, MS_BIND, NULL);
	return r < 0 ? err_sys(errp, errno, "maskedPaths: mask %s", p) : 0;
}

static int readonly_path(const char *p, struct err *errp)
{
	if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
		return errno == ENOENT ? 0 :
		       err_sys(errp, errno, "readonlyPaths: bind %s", p);
	if (mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID |
		  MS_NODEV | MS_NOEXEC | locked_flags(p), NULL) < 0)
		return err_sys(errp, errno, "readonlyPaths: remount %s read-only", p);
	return 0;
}

static int do_pivot(int rootdir, struct err *errp)
{
	/* pivot_root(".", ".") stacks the old root on the new one; the
	 * detach then removes it without needing a directory for it. */
	if (fchdir(rootdir) < 0)
		return err_sys(errp, errno, "pivot_root: chdir to rootfs");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return err_sys(errp, errno, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return err_sys(errp, errno, "pivot_root: detach the old root");
	if (chdir("/") < 0)
		return err_sys(errp, errno, "pivot_root: chdir /");
	return 0;
}

int mounts_setup(const struct oci_config *cfg, const char *rootfs,
		 int console_sock, int *slave, struct err *errp)
{
	*slave = -1;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return err_sys(errp, errno, "mounts: make / private");
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return err_sys(errp, errno, "mounts: bind rootfs %s", rootfs);
	cleanup_close int rootdir = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (rootdir < 0)
		return err_sys(errp, errno, "mounts: open rootfs %s", rootfs);
	int r;
	bool private_cg = cfg->ns_wanted[OCI_NS_CGROUP] && !cfg->ns_path[OCI_NS_CGROUP] &&
			  !cfg->ns_wanted[OCI_NS_USER];
	if (!has_mount(cfg, "/dev")) {
		struct oci_mount dev = { .destination = "/dev", .type = "tmpfs",
			.source = "tmpfs",
			.options = (char *[]){ "nosuid", "strictatime", "mode=755",
					       "size=65536k", NULL } };
		if ((r = mount_one(rootdir, &dev, false, errp)))
			return r;
	}
	for (size_t i = 0; i < cfg->nmounts; i++) {
		if ((r = mount_one(rootdir, &cfg->mounts[i], private_cg, errp)))
			return r;
		/* A /dev mount replaces what was made before it. */
		if (!strcmp(cfg->mounts[i].destination, "/dev") &&
		    (r = devices_create(rootdir, errp)))
			return r;
	}
	if (!has_mount(cfg, "/dev") && (r = devices_create(rootdir, errp)))
		return r;
	if (console_sock >= 0 && (r = console_setup(rootdir, console_sock, slave, errp)))
		return r;
	if ((r = do_pivot(rootdir, errp)))
		return r;
	/* The container's /proc is mounted and /proc/sys still writable. */
	if ((r = sysctl_apply(cfg, errp)))
		return r;
	for (char **p = cfg->masked_paths; p && *p; p++)
		if ((r = mask_path(*p, errp)))
			return r;
	for (char **p = cfg->readonly_paths; p && *p; p++)
		if ((r = readonly_path(*p, errp)))
			return r;
	if (cfg->root_readonly &&
	    mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY |
		  locked_flags("/"), NULL) < 0)
		return err_sys(errp, errno, "mounts: remount / read-only");
	return 0;
}
