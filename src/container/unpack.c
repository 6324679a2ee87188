/* Safe tar extraction for image layers and archives (see unpack.h). */
#include "container/unpack.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "container/decomp.h"
#include "container/tar.h"

struct dsrc {
	struct decomp *d;
	struct digest_ctx *hash;
};

static ssize_t src_read(void *ctx, void *buf, size_t n, struct err *errp)
{
	struct dsrc *s = ctx;
	ssize_t k = decomp_read(s->d, buf, n, errp);
	if (k > 0 && s->hash)
		digest_update(s->hash, buf, (size_t)k);
	return k;
}

int unpack_open_dir(int root, const char *rel, bool create, struct err *errp)
{
	int cur = fcntl(root, F_DUPFD_CLOEXEC, 0);
	if (cur < 0)
		return err_sys(errp, errno, "dup");
	const char *s = rel;
	char comp[256];
	while (*s) {
		while (*s == '/')
			s++;
		const char *c = s;
		while (*s && *s != '/')
			s++;
		size_t len = (size_t)(s - c);
		if (!len)
			continue;
		if (len >= sizeof(comp) || (len == 2 && !memcmp(c, "..", 2))) {
			close(cur);
			return err_set(errp, EINVAL, "`%.200s`: bad path component", rel);
		}
		memcpy(comp, c, len);
		comp[len] = '\0';
		int fd = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && create) {
			if (mkdirat(cur, comp, 0755) && errno != EEXIST) {
				int r = err_sys(errp, errno, "`%.200s`: mkdir", rel);
				close(cur);
				return r;
			}
			fd = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0) {
			int en = errno;
			close(cur);
			if (en == ELOOP || en == ENOTDIR)
				return err_set(errp, en, "`%.200s`: a parent is a symlink or not a directory", rel);
			return err_sys(errp, en, "`%.200s`", rel);
		}
		close(cur);
		cur = fd;
	}
	return cur;
}

int unpack_remove(int dfd, const char *name, struct err *errp)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 : err_sys(errp, errno, "`%.200s`", name);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dfd, name, 0) && errno != ENOENT)
			return err_sys(errp, errno, "remove `%.200s`", name);
		return 0;
	}
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_sys(errp, errno, "open `%.200s`", name);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return err_sys(errp, errno, "opendir `%.200s`", name);
	}
	int r = 0;
	for (struct dirent *de; !r && (de = readdir(d));) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		r = unpack_remove(dirfd(d), de->d_name, errp);
	}
	closedir(d);
	if (!r && unlinkat(dfd, name, AT_REMOVEDIR) && errno != ENOENT)
		r = err_sys(errp, errno, "rmdir `%.200s`", name);
	return r;
}

/* Split a cleaned path into its parent ("" for none) and last name. */
static const char *split(char *path)
{
	char *slash = strrchr(path, '/');
	if (!slash) {
		memmove(path + 1, path, strlen(path) + 1);
		path[0] = '\0';
		return path + 1;
	}
	*slash = '\0';
	return slash + 1;
}

static int meta(int pfd, const char *base, const struct tar_entry *e,
		const struct unpack_opts *o, bool chmod_too, struct err *errp)
{
	if (o->owners && fchownat(pfd, base, e->uid, e->gid, AT_SYMLINK_NOFOLLOW))
		return err_sys(errp, errno, "chown");
	if (chmod_too && fchmodat(pfd, base, e->mode, 0))
		return err_sys(errp, errno, "chmod");
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = e->mtime } };
	utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW); /* best effort */
	return 0;
}

static int write_file(struct tar_reader *r, int pfd, const char *base,
		      const struct tar_entry *e, const struct unpack_opts *o,
		      char *buf, size_t bufsz, struct err *errp)
{
	int fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys(errp, errno, "create");
	int ret = 0;
	for (;;) {
		ssize_t k = tar_read_data(r, buf, bufsz, errp);
		if (k < 0) {
			ret = (int)k;
			break;
		}
		if (k == 0)
			break;
		for (ssize_t off = 0; off < k;) {
			ssize_t w = write(fd, buf + off, (size_t)(k - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				ret = err_sys(errp, errno, "write");
				break;
			}
			off += w;
		}
		if (ret)
			break;
	}
	/* Owner before mode: chown clears set-id bits. */
	if (!ret && o->owners && fchown(fd, e->uid, e->gid))
		ret = err_sys(errp, errno, "chown");
	if (!ret && fchmod(fd, e->mode))
		ret = err_sys(errp, errno, "chmod");
	if (!ret) {
		struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = e->mtime } };
		futimens(fd, ts);
	}
	close(fd);
	return ret;
}

static int whiteout(int pfd, const char *base, bool priv, struct err *errp)
{
	if (!strcmp(base, ".wh..wh..opq")) {
		if (fsetxattr(pfd, priv ? "trusted.overlay.opaque" : "user.overlay.opaque",
			      "y", 1, 0))
			return err_sys(errp, errno, "mark opaque");
		return 0;
	}
	const char *name = base + 4;
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return err_set(errp, EINVAL, "bad whiteout name");
	int r = unpack_remove(pfd, name, errp);
	if (r)
		return r;
	if (mknodat(pfd, name, S_IFCHR, makedev(0, 0)))
		return err_sys(errp, errno, "create whiteout");
	return 0;
}

static int one_entry(struct tar_reader *r, int root, struct tar_entry *e,
		     const struct unpack_opts *o, char *buf, size_t bufsz,
		     struct err *errp)
{
	if (tar_path_clean(e->path, e->type == '5', errp))
		return -EINVAL;
	if (!e->path[0])
		return 0; /* "./" itself: the layer directory keeps its mode */
	char path[TAR_PATH_MAX + 2];
	memcpy(path, e->path, strlen(e->path) + 1);
	const char *base = split(path);
	const char *parent = path;
	int pfd = unpack_open_dir(root, parent, true, errp);
	if (pfd < 0)
		return pfd;
	int ret = 0;
	if (o->layer && !strncmp(base, ".wh.", 4)) {
		ret = whiteout(pfd, base, geteuid() == 0, errp);
		goto out;
	}
	struct stat st;
	bool exists = !fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW);
	if (exists && !(e->type == '5' && S_ISDIR(st.st_mode)) &&
	    (ret = unpack_remove(pfd, base, errp)))
		goto out;
	switch (e->type) {
	case '0':
		ret = write_file(r, pfd, base, e, o, buf, bufsz, errp);
		break;
	case '5':
		if (!(exists && S_ISDIR(st.st_mode)) && mkdirat(pfd, base, 0700)) {
			ret = err_sys(errp, errno, "mkdir");
			break;
		}
		ret = meta(pfd, base, e, o, true, errp);
		break;
	case '2':
		if (!e->link[0]) {
			ret = err_set(errp, EINVAL, "symlink with an empty target");
			break;
		}
		if (symlinkat(e->link, pfd, base))
			ret = err_sys(errp, errno, "symlink");
		else
			ret = meta(pfd, base, e, o, false, errp);
		break;
	case '1': {
		/* The source is looked up below the root like any entry, so
		 * it cannot name a file outside the directory. */
		if (tar_path_clean(e->link, false, errp)) {
			ret = -EINVAL;
			break;
		}
		char lpath[TAR_PATH_MAX + 2];
		memcpy(lpath, e->link, strlen(e->link) + 1);
		const char *lbase = split(lpath);
		int lfd = unpack_open_dir(root, lpath, false, errp);
		if (lfd < 0) {
			ret = lfd;
			break;
		}
		if (linkat(lfd, lbase, pfd, base, 0))
			ret = err_sys(errp, errno, "hard link to `%.200s`", e->link);
		close(lfd);
		break;
	}
	case '3': case '4': case '6':
		if (e->type != '6' && !o->devices) {
			ret = err_set(errp, EPERM, "device node refused (unprivileged)");
			break;
		}
		if (mknodat(pfd, base, (e->type == '3' ? S_IFCHR : e->type == '4' ? S_IFBLK : S_IFIFO) |
			    (e->mode & 0777), makedev(e->devmajor, e->devminor)))
			ret = err_sys(errp, errno, "mknod");
		else
			ret = meta(pfd, base, e, o, true, errp);
		break;
	}
out:
	close(pfd);
	return ret;
}

int unpack_tar(int src_fd, int dirfd, const struct unpack_opts *o,
	       char diff_id[DIGEST_HEX], uint64_t *usize, struct err *errp)
{
	/* A blob on disk has a size to scale the bomb cap by; a pipe (an
	 * archive on stdin) is only limited by the disk it fills. */
	struct stat st;
	uint64_t cap = 0;
	if (!fstat(src_fd, &st) && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size < (UINT64_MAX - DECOMP_SLACK) / DECOMP_RATIO)
		cap = (uint64_t)st.st_size * DECOMP_RATIO + DECOMP_SLACK;
	if (o->max_bytes && (!cap || o->max_bytes < cap))
		cap = o->max_bytes;
	struct dsrc s = { 0 };
	struct digest_ctx *bh = o->blob_digest ? digest_init() : NULL;
	if (o->blob_digest && !bh)
		return err_set(errp, ENOMEM, "sha256: out of memory");
	int ret = decomp_open(src_fd, cap, bh, &s.d, errp);
	if (ret) {
		digest_free(bh);
		return ret;
	}
	if (diff_id && !(s.hash = digest_init())) {
		decomp_close(s.d);
		digest_free(bh);
		return err_set(errp, ENOMEM, "sha256: out of memory");
	}
	size_t bufsz = 1 << 16;
	char *buf = malloc(bufsz);
	struct tar_reader r;
	tar_reader_init(&r, src_read, &s);
	struct tar_entry *e = malloc(sizeof(*e));
	if (!buf || !e)
		ret = err_set(errp, ENOMEM, "out of memory");
	while (!ret) {
		int n = tar_next(&r, e, errp);
		if (n <= 0) {
			ret = n;
			break;
		}
		char name[256];
		snprintf(name, sizeof(name), "%.200s", e->path);
		if ((ret = one_entry(&r, dirfd, e, o, buf, bufsz, errp)))
			err_prefix(errp, "`%s`", name);
	}
	/* The diff_id covers the whole stream, zero blocks included. */
	while (!ret && (s.hash || usize)) {
		ssize_t k = src_read(&s, buf, bufsz, errp);
		if (k < 0)
			ret = (int)k;
		if (k <= 0)
			break;
	}
	if (s.hash) {
		if (!ret)
			digest_final(s.hash, diff_id);
		else
			digest_free(s.hash);
	}
	if (bh) {
		char got[DIGEST_HEX];
		if (!ret)
			ret = decomp_drain(s.d, errp);
		if (!ret) {
			digest_final(bh, got);
			if (strcmp(got, o->blob_digest))
				ret = err_set(errp, EIO, "blob sha256:%.12s is corrupted (content hashes to sha256:%.12s): refused",
					      o->blob_digest, got);
		} else {
			digest_free(bh);
		}
	}
	if (usize)
		*usize = decomp_out_bytes(s.d);
	decomp_close(s.d);
	free(buf);
	free(e);
	return ret;
}
