/* A container's rootfs from its image's layers (ctr.h): overlayfs, or a
 * copy that applies the layers' whiteouts itself. */
#include "container/ctr.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "container/unpack.h"

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static int copy_data(int in, int out, struct err *errp)
{
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS)
			return err_sys(errp, errno, "copy");
		char buf[65536];
		for (;;) {
			ssize_t k = read(in, buf, sizeof(buf));
			if (k == 0)
				return 0;
			if (k < 0 || write(out, buf, (size_t)k) != k)
				return err_sys(errp, errno ? errno : EIO, "copy");
		}
	}
}

/* Apply one layer directory (src) onto dst: a whiteout removes the name,
 * an opaque directory first empties its copy, everything else replaces
 * what is there (directories merge). */
static int apply(int src, int dst, struct err *errp)
{
	int sfd = fcntl(src, F_DUPFD_CLOEXEC, 0);
	DIR *d = sfd >= 0 ? fdopendir(sfd) : NULL;
	if (!d) {
		if (sfd >= 0)
			close(sfd);
		return err_sys(errp, errno, "copy: opendir");
	}
	int r = 0;
	for (struct dirent *de; !r && (de = readdir(d));) {
		const char *n = de->d_name;
		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		struct stat st, dt;
		if (fstatat(src, n, &st, AT_SYMLINK_NOFOLLOW)) {
			r = err_sys(errp, errno, "copy: stat `%s`", n);
			break;
		}
		bool have = !fstatat(dst, n, &dt, AT_SYMLINK_NOFOLLOW);
		if (is_whiteout(&st)) {
			r = unpack_remove(dst, n, errp);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			int sd = openat(src, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			char y = 0;
			/* user.*: a layer unpacked without privilege (unpack.h). */
			bool opaque = sd >= 0 &&
				      ((fgetxattr(sd, "trusted.overlay.opaque", &y, 1) == 1 && y == 'y') ||
				       (fgetxattr(sd, "user.overlay.opaque", &y, 1) == 1 && y == 'y'));
			if (have && (!S_ISDIR(dt.st_mode) || opaque))
				r = unpack_remove(dst, n, errp), have = false;
			if (!r && !have && mkdirat(dst, n, st.st_mode & 07777))
				r = err_sys(errp, errno, "copy: mkdir `%s`", n);
			int dd = r ? -1 : openat(dst, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (!r && (sd < 0 || dd < 0))
				r = err_sys(errp, errno, "copy: open `%s`", n);
			if (!r) {
				fchown(dd, st.st_uid, st.st_gid);
				fchmod(dd, st.st_mode & 07777);
				r = apply(sd, dd, errp);
			}
			if (sd >= 0)
				close(sd);
			if (dd >= 0)
				close(dd);
			continue;
		}
		if (have && (r = unpack_remove(dst, n, errp)))
			break;
		if (S_ISREG(st.st_mode)) {
			int in = openat(src, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			int out = openat(dst, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (in < 0 || out < 0)
				r = err_sys(errp, errno, "copy: `%s`", n);
			else if (!(r = copy_data(in, out, errp))) {
				fchown(out, st.st_uid, st.st_gid);
				fchmod(out, st.st_mode & 07777);
			}
			if (in >= 0)
				close(in);
			if (out >= 0)
				close(out);
		} else if (S_ISLNK(st.st_mode)) {
			char t[PATH_MAX];
			ssize_t k = readlinkat(src, n, t, sizeof(t) - 1);
			if (k < 0)
				r = err_sys(errp, errno, "copy: readlink `%s`", n);
			else {
				t[k] = '\0';
				if (symlinkat(t, dst, n))
					r = err_sys(errp, errno, "copy: symlink `%s`", n);
				else
					fchownat(dst, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
			}
		} else {
			if (mknodat(dst, n, st.st_mode, st.st_rdev))
				r = err_sys(errp, errno, "copy: mknod `%s`", n);
			else
				fchownat(dst, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
		}
	}
	closedir(d);
	return r;
}

static int copy_layers(struct store *s, const struct store_image *img,
		       const char *rootfs, struct err *errp)
{
	int dst = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dst < 0)
		return err_sys(errp, errno, "rootfs `%s`", rootfs);
	int r = 0;
	for (size_t i = 0; !r && i < img->nlayers; i++) {
		char p[PATH_MAX];
		store_layer_path(s, img->layers[i], p, sizeof(p));
		int src = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (src < 0) {
			r = err_sys(errp, errno, "layer `%s`", p);
			break;
		}
		r = apply(src, dst, errp);
		close(src);
	}
	close(dst);
	return r ? err_prefix(errp, "rootfs copy") : 0;
}

int ctr_rootfs_make(struct store *s, const struct store_image *img,
		    const char *dir, bool ephemeral, bool *copied, struct err *errp)
{
	char rootfs[PATH_MAX], upper[PATH_MAX], work[PATH_MAX];
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", dir);
	snprintf(upper, sizeof(upper), "%s/upper", dir);
	snprintf(work, sizeof(work), "%s/work", dir);
	if (mkdir(rootfs, 0755) && errno != EEXIST)
		return err_sys(errp, errno, "mkdir `%s`", rootfs);
	*copied = false;
	/* Rootless: the kernel allows overlayfs only inside a user namespace
	 * that owns the mount namespace, and this rootfs is made before the
	 * container's namespaces exist; a copy it is (docs/CONTAINERS.md). */
	if (geteuid() != 0) {
		*copied = true;
		return copy_layers(s, img, rootfs, errp);
	}
	const char *no = getenv("RINGVM_CONTAINER_NO_OVERLAY");
	char why[160] = "disabled by RINGVM_CONTAINER_NO_OVERLAY";
	if (!(no && *no)) {
		/* overlayfs wants a lower directory even for an empty image. */
		char empty[PATH_MAX];
		snprintf(empty, sizeof(empty), "%s/empty", dir);
		if ((mkdir(upper, 0755) && errno != EEXIST) ||
		    (mkdir(work, 0700) && errno != EEXIST) ||
		    (!img->nlayers && mkdir(empty, 0755) && errno != EEXIST))
			return err_sys(errp, errno, "mkdir in `%s`", dir);
		size_t cap = 4096, n = 0;
		char *opt = malloc(cap);
		if (!opt)
			return err_set(errp, ENOMEM, "out of memory");
		n += (size_t)snprintf(opt, cap, "lowerdir=");
		for (size_t i = img->nlayers; i-- > 0 && n < cap;) {
			char p[PATH_MAX];
			store_layer_path(s, img->layers[i], p, sizeof(p));
			n += (size_t)snprintf(opt + n, cap - n, "%s%s", p, i ? ":" : "");
		}
		if (!img->nlayers && n < cap)
			n += (size_t)snprintf(opt + n, cap - n, "%s", empty);
		if (n < cap)
			n += (size_t)snprintf(opt + n, cap - n, ",upperdir=%s,workdir=%s", upper, work);
		size_t plain = n;
		if (ephemeral && n < cap)
			n += (size_t)snprintf(opt + n, cap - n, ",volatile");
		if (n >= cap) {
			free(opt);
			return err_set(errp, E2BIG, "overlay: %zu layers do not fit in the mount options", img->nlayers);
		}
		int r = mount("overlay", rootfs, "overlay", MS_NODEV, opt);
		if (r && errno == EINVAL && ephemeral) {  /* before Linux 5.10 */
			opt[plain] = '\0';
			r = mount("overlay", rootfs, "overlay", MS_NODEV, opt);
		}
		int en = errno;
		free(opt);
		if (!r)
			return 0;
		snprintf(why, sizeof(why), "overlayfs mount failed: %s", strerror(en));
	}
	fprintf(stderr, "ringvm container: %s; copying the image's layers instead (slower, uses disk)\n", why);
	*copied = true;
	return copy_layers(s, img, rootfs, errp);
}

int ctr_rootfs_unmount(const char *dir, struct err *errp)
{
	char rootfs[PATH_MAX];
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", dir);
	/* EPERM for a non-root caller: it cannot have mounted it (a copy). */
	if (umount2(rootfs, UMOUNT_NOFOLLOW) == 0 || errno == EINVAL || errno == ENOENT ||
	    (errno == EPERM && geteuid() != 0))
		return 0;
	if (errno == EBUSY && umount2(rootfs, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
		return 0;
	return err_sys(errp, errno, "unmount `%s`", rootfs);
}
