/* Guest paths -> host files, confined to --root and the --mounts.
 *
 * With a root, every lookup is one openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS) from the root's fd (or a mount's): the kernel
 * resolves "..", absolute symlinks and /proc/self/root inside it, so no
 * guest path reaches a host file outside (openat2(2)).  A relative path
 * is first made absolute in guest terms: the host path of its starting
 * directory (the process cwd, or the dirfd, through /proc/self/fd) minus
 * the root's host path.  A mount is chosen by the longest guest prefix
 * of the absolute path; symlinks inside the root do not lead into a
 * mount (they resolve in the root's own tree).
 *
 * Without a root the host filesystem is used as is (as qemu-user does),
 * apart from the mounts' prefixes. */
#include "exec_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int sys_openat2(int dirfd, const char *path, int flags, unsigned mode,
		       uint64_t resolve)
{
	struct open_how how = { .flags = (uint64_t)(unsigned)flags,
				.mode = mode, .resolve = resolve };
	if (!(flags & (O_CREAT | O_TMPFILE)))
		how.mode = 0;
	/* EAGAIN: a rename or mount anywhere on the host raced a scoped
	 * lookup, and the kernel could not vouch for its ".." steps; retry
	 * as openat2(2) says (bounded: a guest renaming in a loop gets
	 * EAGAIN, not a spinning VMM). */
	long r;
	int tries = 0;
	do
		r = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	while (r < 0 && errno == EAGAIN && (resolve & RESOLVE_IN_ROOT) &&
	       ++tries < 64);
	return r < 0 ? -errno : (int)r;
}

static int plain_open(int dirfd, const char *path, int flags, unsigned mode)
{
	int fd = openat(dirfd, path, flags, mode);
	return fd < 0 ? -errno : fd;
}

int fs_init(struct exec_fs *fs, const struct exec_config *cfg,
	    struct err *errp)
{
	memset(fs, 0, sizeof(*fs));
	fs->root_fd = -1;
	if (cfg->root) {
		fs->root_fd = open(cfg->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fs->root_fd < 0)
			return err_sys(errp, errno, "--root %s", cfg->root);
	}
	for (unsigned i = 0; i < cfg->nmounts; i++) {
		const struct exec_mount *m = &cfg->mounts[i];
		size_t gl = strlen(m->guest);
		while (gl > 1 && m->guest[gl - 1] == '/')
			gl--;
		if (m->guest[0] != '/' || gl >= sizeof(fs->mnt[i].guest)) {
			fs_free(fs);
			return err_set(errp, EINVAL, "--mount %s: guest path "
				       "must be absolute", m->guest);
		}
		fs->mnt[i].fd = open(m->host, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fs->mnt[i].fd < 0) {
			int e = errno;
			fs_free(fs);
			return err_sys(errp, e, "--mount %s", m->host);
		}
		memcpy(fs->mnt[i].guest, m->guest, gl);
		fs->mnt[i].guest[gl] = 0;
		fs->mnt[i].glen = gl == 1 ? 0 : gl;
		fs->mnt[i].ro = m->ro;
		fs->nmnt = i + 1;
	}
	return 0;
}

void fs_free(struct exec_fs *fs)
{
	if (fs->root_fd >= 0)
		close(fs->root_fd);
	fs->root_fd = -1;
	for (unsigned i = 0; i < fs->nmnt; i++)
		close(fs->mnt[i].fd);
	fs->nmnt = 0;
}

/* Host path of a directory fd (AT_FDCWD: the cwd) into buf. */
static int fd_path(int fd, char *buf, size_t len)
{
	if (fd == AT_FDCWD)
		return getcwd(buf, len) ? 0 : -errno;
	char link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, buf, len - 1);
	if (n < 0)
		return errno == ENOENT ? -EBADF : -errno;
	buf[n] = 0;
	return 0;
}

/* If host path h lies under the directory of fd (its host path), store
 * the rest (starting with '/' or empty) in *rest. */
static bool under(int fd, const char *h, const char **rest)
{
	char dir[PATH_MAX];
	if (fd_path(fd, dir, sizeof(dir)))
		return false;
	size_t n = strlen(dir);
	if (n == 1)
		n = 0;
	if (strncmp(h, dir, n) || (h[n] && h[n] != '/'))
		return false;
	*rest = h + n;
	return true;
}

/* Which fd and path inside it: the absolute guest path g goes to the
 * mount with the longest matching prefix, else the root. */
static int pick(const struct exec_fs *fs, const char *g, const char **in,
		bool *ro)
{
	int best = -1;
	size_t bl = 0;
	for (unsigned i = 0; i < fs->nmnt; i++) {
		size_t l = fs->mnt[i].glen;
		if (!strncmp(g, fs->mnt[i].guest, l) &&
		    (g[l] == '/' || !g[l]) && (best < 0 || l >= bl)) {
			best = (int)i;
			bl = l;
		}
	}
	if (ro)
		*ro = false;
	if (best < 0) {
		*in = g;
		return fs->root_fd;
	}
	*in = g[bl] ? g + bl : "/";
	if (ro)
		*ro = fs->mnt[best].ro;
	return fs->mnt[best].fd;
}

/* Make path absolute in guest terms into buf. */
static int guest_abs(const struct exec_fs *fs, int dirfd, const char *path,
		     char *buf, size_t len)
{
	if (path[0] == '/') {
		if (strlen(path) >= len)
			return -ENAMETOOLONG;
		strcpy(buf, path);
		return 0;
	}
	char host[PATH_MAX];
	int r = fd_path(dirfd, host, sizeof(host));
	if (r)
		return r;
	const char *rest = NULL;
	/* Which of our trees is the directory in?  Mounts first (they may
	 * live inside the root's host tree too). */
	for (unsigned i = 0; i < fs->nmnt && !rest; i++) {
		if (under(fs->mnt[i].fd, host, &rest)) {
			if ((size_t)snprintf(buf, len, "%s%s/%s", fs->mnt[i].guest,
					     rest, path) >= len)
				return -ENAMETOOLONG;
			return 0;
		}
	}
	if (fs->root_fd >= 0) {
		if (!under(fs->root_fd, host, &rest))
			return -ENOENT;   /* a directory outside every tree */
	} else {
		rest = host;
	}
	if ((size_t)snprintf(buf, len, "%s/%s", rest, path) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int fs_abs(const struct exec_fs *fs, int dirfd, const char *path,
	   char *buf, size_t len)
{
	return guest_abs(fs, dirfd, path, buf, len);
}

static bool writes(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY ||
	       (flags & (O_CREAT | O_TRUNC | O_TMPFILE));
}

int fs_open(const struct exec_fs *fs, int dirfd, const char *path,
	    int flags, unsigned mode)
{
	if (fs->root_fd < 0 && (!fs->nmnt || path[0] != '/'))
		return plain_open(dirfd, path, flags, mode);
	if (!path[0])
		return -ENOENT;
	char g[PATH_MAX];
	int r = guest_abs(fs, dirfd, path, g, sizeof(g));
	if (r)
		return r;
	const char *in;
	bool ro;
	int base = pick(fs, g, &in, &ro);
	if (ro && writes(flags))
		return -EROFS;
	if (base < 0)
		return plain_open(AT_FDCWD, g, flags, mode);
	return sys_openat2(base, in, flags, mode,
			   RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

int fs_parent(const struct exec_fs *fs, int dirfd, const char *path,
	      int *pfd, bool *close_it, const char **name, bool *ro)
{
	*ro = false;
	*close_it = false;
	if (fs->root_fd < 0 && (!fs->nmnt || path[0] != '/')) {
		*pfd = dirfd;
		*name = path;
		return 0;
	}
	if (!path[0])
		return -ENOENT;
	static __thread char g[PATH_MAX];
	int r = guest_abs(fs, dirfd, path, g, sizeof(g));
	if (r)
		return r;
	size_t n = strlen(g);
	while (n > 1 && g[n - 1] == '/')
		g[--n] = 0;
	char *slash = strrchr(g, '/');
	const char *last = slash + 1;
	if (!*last || !strcmp(last, ".") || !strcmp(last, "..")) {
		/* Resolve the whole path: ".." must not be looked up
		 * relative to the root's own fd. */
		const char *in;
		int base = pick(fs, g, &in, ro);
		int fd = base < 0 ? open(g, O_PATH | O_CLOEXEC) :
			 sys_openat2(base, in, O_PATH | O_CLOEXEC,
				     0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
		if (fd < 0)
			return base < 0 ? -errno : fd;
		*pfd = fd;
		*close_it = true;
		*name = ".";
		return 0;
	}
	*slash = 0;
	const char *dir = g[0] ? g : "/";
	const char *in;
	int base = pick(fs, dir, &in, ro);
	/* The last name must stay in the mount if its prefix says so. */
	bool ro2;
	char full[PATH_MAX];
	if ((size_t)snprintf(full, sizeof(full), "%s/%s", g, last) >=
	    sizeof(full))
		return -ENAMETOOLONG;
	const char *in2;
	if (pick(fs, full, &in2, &ro2) != base) {
		base = pick(fs, full, &in, ro);
		last = ".";
	}
	int fd = base < 0 ? open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC) :
		 sys_openat2(base, in, O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
			     RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (fd < 0)
		return base < 0 ? -errno : fd;
	*pfd = fd;
	*close_it = true;
	*name = last;
	return 0;
}

int fs_getcwd(const struct exec_fs *fs, char *buf, size_t len)
{
	char host[PATH_MAX];
	if (!getcwd(host, sizeof(host)))
		return -errno;
	const char *rest;
	/* In guest terms: a mount's tree first, then the root's. */
	for (unsigned i = 0; i < fs->nmnt; i++) {
		if (under(fs->mnt[i].fd, host, &rest)) {
			if ((size_t)snprintf(buf, len, "%s%s", fs->mnt[i].guest,
					     rest) >= len)
				return -ERANGE;
			if (!buf[0])
				snprintf(buf, len, "/");
			return 0;
		}
	}
	if (fs->root_fd >= 0 && !under(fs->root_fd, host, &rest))
		rest = "/";   /* outside every tree: show the root */
	else if (fs->root_fd < 0)
		rest = host;
	if ((size_t)snprintf(buf, len, "%s", rest[0] ? rest : "/") >= len)
		return -ERANGE;
	return 0;
}
