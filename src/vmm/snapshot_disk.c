/* Disks in a snapshot: external overlays (snapshot_disk.h). */
#include "snapshot_disk.h"

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/qcow2.h"

static int fmt_path(char *dst, size_t cap, struct err *errp,
		    const char *fmt, const char *a, const char *b)
{
	int n = snprintf(dst, cap, fmt, a, b);
	if (n < 0 || (size_t)n >= cap)
		return err_set(errp, ENAMETOOLONG, "path too long: %s", a);
	return 0;
}

/* P's backing name as an absolute path when it is relative (restores
 * and clones read the base from elsewhere). */
static int plan_backing(struct block_dev *bd, struct snap_disk_freeze *fz,
			struct err *errp)
{
	struct qcow2_info info;
	if (qcow2_get_info(bd, &info) || !info.backing_file ||
	    info.backing_file[0] == '/')
		return 0;
	char dir[PATH_MAX], joined[PATH_MAX * 2], real[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", fz->path);
	snprintf(joined, sizeof(joined), "%s/%s", dirname(dir),
		 info.backing_file);
	if (!realpath(joined, real))
		return err_sys(errp, errno, "disk `%s`: backing file `%s`",
			       fz->path, info.backing_file);
	snprintf(fz->backing_abs, sizeof(fz->backing_abs), "%s", real);
	return 0;
}

int snap_disk_plan(struct block_dev *bd, unsigned i, const char *dir,
		   bool no_disk_state, struct snap_disk *rec,
		   struct snap_disk_freeze *fz, struct err *errp)
{
	memset(fz, 0, sizeof(*fz));
	char real[PATH_MAX];
	if (!realpath(bd->path, real))
		return err_sys(errp, errno, "disk `%s`", bd->path);
	snprintf(rec->path, sizeof(rec->path), "%s", real);
	if (bd->read_only) {
		rec->kind = SNAP_DISK_READ_ONLY;
		return 0;
	}
	if (strcmp(bd->drv->name, "qcow2")) {
		if (!no_disk_state)
			return err_set(errp, EINVAL, "disk `%s` is %s: its "
				       "contents cannot be frozen with the "
				       "snapshot; use a qcow2 disk (ringvm img "
				       "convert -O qcow2) or --no-disk-state",
				       bd->path, bd->drv->name);
		fprintf(stderr, "ringvm: warning: disk `%s` is not part of "
			"the snapshot; restoring it later risks the guest's "
			"file system on it\n", bd->path);
		rec->kind = SNAP_DISK_LIVE;
		return 0;
	}
	rec->kind = SNAP_DISK_FROZEN;
	fz->active = true;
	snprintf(fz->path, sizeof(fz->path), "%s", real);
	snprintf(fz->base_name, sizeof(fz->base_name), "disk%u.qcow2", i);
	int rc;
	if ((rc = fmt_path(fz->base, sizeof(fz->base), errp, "%s/%s", dir,
			   fz->base_name)) ||
	    (rc = fmt_path(fz->tmp, sizeof(fz->tmp), errp, "%s%s", real,
			   ".snap-tmp")))
		return rc;
	/* A hard link cannot cross file systems: say so before pausing. */
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", dir);
	struct stat a, b;
	if (stat(real, &a) == 0 && stat(dirname(parent), &b) == 0 &&
	    a.st_dev != b.st_dev)
		return err_set(errp, EXDEV, "snapshot %s must be on the same "
			       "file system as disk %s", dir, real);
	return plan_backing(bd, fz, errp);
}

int snap_disk_prepare(struct snap_disk_freeze *fz, struct block_dev *bd,
		      int tmpfd, struct err *errp)
{
	if (!fz->active)
		return 0;
	int rc = block_flush(bd);
	if (rc)
		return err_sys(errp, -rc, "disk `%s`: flush", fz->path);
	if (fz->backing_abs[0]) {
		struct qcow2_info info;
		qcow2_get_info(bd, &info);
		rc = qcow2_set_backing(bd, fz->backing_abs, info.backing_fmt,
				       errp);
		if (rc)
			return rc;
		fz->backing_abs[0] = '\0';
	}
	if (linkat(AT_FDCWD, fz->path, tmpfd, fz->base_name, 0) < 0) {
		if (errno == EXDEV)
			return err_set(errp, EXDEV, "snapshot %s must be on "
				       "the same file system as disk %s",
				       fz->base, fz->path);
		return err_sys(errp, errno, "link disk `%s` into the snapshot",
			       fz->path);
	}
	struct qcow2_create_opts o = {
		.backing_file = fz->base,
		.backing_fmt = "qcow2",
	};
	fz->created = true;
	if ((rc = qcow2_create(fz->tmp, bd->size, &o, errp)))
		return err_prefix(errp, "disk `%s`: new overlay", fz->path);
	struct block_open_opts oo = {
		.format = "qcow2",
		.no_backing = true,
		.l2_cache = bd->l2_cache,
		.cache = bd->cache,
	};
	return block_open_with(fz->tmp, &oo, &fz->top, errp);
}

void snap_disk_commit(struct snap_disk_freeze *fz, struct vm *vm, unsigned i)
{
	if (!fz->active)
		return;
	struct block_dev *old = vm_disk(vm, i);
	struct err e = { 0 };
	if (rename(fz->tmp, fz->path) < 0) {
		/* The overlay still works under its temp name. */
		fprintf(stderr, "ringvm: disk `%s`: cannot rename the new "
			"overlay `%s` over it (%s); the VM writes to `%s`\n",
			fz->path, fz->tmp, strerror(errno), fz->tmp);
	} else {
		block_set_path(fz->top, fz->path);
	}
	if (block_attach_backing(fz->top, old, &e) < 0 ||
	    vm_replace_disk(vm, i, fz->top) < 0) {
		/* Not reached with a well-formed overlay: keep the old one,
		 * which the snapshot also holds (the guest then writes into
		 * the snapshot's base). */
		fz->top->backing = NULL;
		fprintf(stderr, "ringvm: disk `%s`: cannot switch to the "
			"overlay: %s\n", fz->path, e.msg[0] ? e.msg :
			"size or mode differs");
		return;
	}
	fz->committed = true;
	fz->top = NULL;
	if (block_freeze(old, &e) < 0)
		fprintf(stderr, "ringvm: warning: %s\n", e.msg);
	if (chmod(fz->base, 0444) < 0)
		fprintf(stderr, "ringvm: warning: cannot make `%s` read-only: "
			"%s\n", fz->base, strerror(errno));
}

int snap_disk_sync(const struct snap_disk_freeze *fz)
{
	if (!fz->committed)
		return 0;
	char d[PATH_MAX];
	snprintf(d, sizeof(d), "%s", fz->path);
	int fd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

void snap_disk_cleanup(struct snap_disk_freeze *fz)
{
	if (!fz->active || fz->committed)
		return;
	block_close(fz->top);
	fz->top = NULL;
	if (fz->created)
		unlink(fz->tmp);
	fz->created = false;
}

int snap_disk_new_overlay(const char *path, const char *base, uint64_t size,
			  struct err *errp)
{
	char tmp[PATH_MAX];
	int rc = fmt_path(tmp, sizeof(tmp), errp, "%s%s", path, ".new-tmp");
	if (rc)
		return rc;
	/* Not synced: until the VM writes, the overlay holds nothing, and
	 * one lost in a host crash is made again by the next restore; the
	 * VM's own flushes make what it writes durable. */
	struct qcow2_create_opts o = {
		.backing_file = base,
		.backing_fmt = "qcow2",
		.no_sync = true,
	};
	if ((rc = qcow2_create(tmp, size, &o, errp))) {
		unlink(tmp);
		return err_prefix(errp, "overlay `%s`", path);
	}
	if (rename(tmp, path) < 0) {
		rc = err_sys(errp, errno, "overlay `%s`", path);
		unlink(tmp);
	}
	return rc;
}
