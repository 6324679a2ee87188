/* Snapshots (snapshot.h; docs/LIFECYCLE.md "## Snapshots").
 *
 * Everything of the instant is taken while the VM is paused: the state
 * stream, guest RAM into the sparse memory file (page cache; no sync yet)
 * and the disks (flush, hard link as the frozen base, new overlay on top).
 * Everything that can fail happens before the first visible change: the
 * files are made in a temp dir beside DIR, renamed to DIR, and only then
 * is each disk's new overlay renamed over its path and put under the
 * device.  fsync happens after the VM runs again. */
#include "snapshot.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "block/block.h"
#include "block/qcow2.h"
#include "core/evloop.h"
#include "core/guest_mem.h"
#include "core/file.h"
#include "core/state.h"
#include "vmm/snapshot_disk.h"
#include "vmm/snapshot_fmt.h"

/* What a VM remembers of its previous snapshot, for diffs. */
struct snapshot_track {
	char dir[SNAP_PATH_MAX];  /* absolute */
	uint64_t id;
	uint64_t fetches;         /* guest_mem dirty_fetches after ours */
	bool valid;               /* the dirty log covers everything since */
	uint64_t pause_ns;        /* of the last snapshot */
};

void snapshot_track_free(struct snapshot_track *t)
{
	free(t);
}

uint64_t vm_snapshot_pause_ns(struct vm *vm)
{
	struct snapshot_track *t = *vm_snapshot_track(vm);
	return t ? t->pause_ns : 0;
}

/* One snapshot in progress. */
struct snap_job {
	struct vm *vm;
	unsigned flags;
	char abs[SNAP_PATH_MAX];     /* DIR, absolute */
	char parent[SNAP_PATH_MAX];  /* the directory holding DIR */
	char tmp[SNAP_PATH_MAX];     /* the temp dir beside DIR */
	int tmpfd;                   /* O_DIRECTORY of tmp */
	int pagemap_fd;              /* /proc/self/pagemap, or -1 */
	struct snap_info si;
	struct snap_disk_freeze fz[VM_MAX_DISKS];
	/* Pages taken from the dirty log: a diff writes only these; any
	 * failed snapshot gives them back. */
	uint64_t *bitmap[GUEST_MEM_MAX_REGIONS];
	bool fetched;                /* bitmaps hold pages taken from the log */
	bool log_started;            /* this snapshot started the dirty log */
	snapshot_progress_fn *progress;
	void *opaque;
};

static int abs_paths(struct snap_job *j, const char *dir, struct err *errp)
{
	char a[PATH_MAX], b[PATH_MAX];
	snprintf(a, sizeof(a), "%s", dir);
	snprintf(b, sizeof(b), "%s", dir);
	/* Trailing slashes would make basename() empty-ish. */
	for (size_t n = strlen(b); n > 1 && b[n - 1] == '/'; n--)
		b[n - 1] = a[n - 1] = '\0';
	const char *base = basename(b);
	if (!*base || !strcmp(base, "/") || !strcmp(base, ".") ||
	    !strcmp(base, ".."))
		return err_set(errp, EINVAL, "snapshot directory `%s`: give a "
			       "new directory name", dir);
	char *d = dirname(a);
	char real[PATH_MAX];
	if (!realpath(d, real))
		return err_sys(errp, errno, "snapshot directory `%s`", dir);
	int n = snprintf(j->abs, sizeof(j->abs), "%s/%s",
			 strcmp(real, "/") ? real : "", base);
	int m = snprintf(j->parent, sizeof(j->parent), "%s", real);
	int k = snprintf(j->tmp, sizeof(j->tmp), "%s/.%s.tmp-XXXXXX",
			 strcmp(real, "/") ? real : "", base);
	if (n < 0 || m < 0 || k < 0 || (size_t)k >= sizeof(j->tmp) ||
	    (size_t)n >= sizeof(j->abs))
		return err_set(errp, ENAMETOOLONG, "snapshot directory `%s`: "
			       "name too long", dir);
	return 0;
}

/* DIR must not exist, or be an empty directory (rename replaces it). */
static int check_target(const char *abs, struct err *errp)
{
	struct stat st;
	if (lstat(abs, &st) < 0)
		return errno == ENOENT ? 0 :
		       err_sys(errp, errno, "snapshot directory `%s`", abs);
	if (!S_ISDIR(st.st_mode))
		return err_set(errp, EEXIST, "snapshot directory `%s` exists "
			       "and is %s", abs, "not a directory");
	DIR *d = opendir(abs);
	if (!d)
		return err_sys(errp, errno, "snapshot directory `%s`", abs);
	struct dirent *e;
	bool empty = true;
	while (empty && (e = readdir(d)))
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(d);
	return empty ? 0 : err_set(errp, EEXIST, "snapshot directory `%s` "
				   "exists and is not empty", abs);
}

static bool page_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;
	for (size_t i = 0; i < GUEST_PAGE_SIZE / 8; i += 4)
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3])
			return false;
	return true;
}


struct mem_run {
	int fd;
	const uint8_t *hva;  /* the region */
	uint64_t file_off;   /* of the region */
	uint64_t first, n;   /* pages of the run */
};

static int flush_run(struct mem_run *m)
{
	if (!m->n)
		return 0;
	int rc = file_pwrite_all(m->fd, m->hva + (m->first << GUEST_PAGE_SHIFT),
			    m->n << GUEST_PAGE_SHIFT,
			    m->file_off + (m->first << GUEST_PAGE_SHIFT));
	m->n = 0;
	return rc;
}

#define WRITEBACK_PAGES 4096ULL   /* 16 MiB */

/* RAM into the memory file: runs of pages that are wanted (all, or the
 * diff's dirty ones) and not zero; the rest stays a hole. */
static int write_memory(struct snap_job *j, int fd, struct err *errp)
{
	struct guest_mem *mem = vm_mem(j->vm);
	uint64_t total = 0, base = 0, next_report = 0;
	for (unsigned i = 0; i < mem->nr; i++)
		total += mem->r[i].size;
	if (ftruncate(fd, (off_t)j->si.mem_file_size) < 0)
		return err_sys(errp, errno, "snapshot memory file");
	int rc = 0;
	for (unsigned i = 0; !rc && i < mem->nr; i++) {
		const struct guest_mem_region *r = &mem->r[i];
		const uint64_t *bm = j->flags & SNAPSHOT_DIFF ? j->bitmap[i]
							       : NULL;
		uint64_t pages = r->size >> GUEST_PAGE_SHIFT;
		struct mem_run m = { fd, r->hva, j->si.r[i].file_off, 0, 0 };
		uint64_t backed[GUEST_MEM_BACKED_MAX / 64];
		for (uint64_t p = 0; !rc && p < pages; p++) {
			unsigned k = (unsigned)(p % GUEST_MEM_BACKED_MAX);
			if (!k)
				guest_mem_backed(mem, i, j->pagemap_fd, p,
						 GUEST_MEM_BACKED_MAX, backed);
			/* The disk starts on each 16 MiB behind the copy,
			 * instead of on all of it after the pause. */
			if (p && !(p % WRITEBACK_PAGES))
				(void)sync_file_range(fd, (off_t)(m.file_off +
					((p - WRITEBACK_PAGES) << GUEST_PAGE_SHIFT)),
					(off_t)(WRITEBACK_PAGES << GUEST_PAGE_SHIFT),
					SYNC_FILE_RANGE_WRITE);
			bool want = (!bm || (bm[p / 64] >> (p % 64) & 1)) &&
				    (backed[k / 64] >> (k % 64) & 1) &&
				    !page_zero(r->hva + (p << GUEST_PAGE_SHIFT));
			if (!want || m.n == 256 || m.first + m.n != p)
				rc = flush_run(&m);
			if (want && !m.n)
				m.first = p;
			m.n += want;
			uint64_t done = base + (p << GUEST_PAGE_SHIFT);
			if (j->progress && done >= next_report) {
				j->progress(j->opaque, done, total);
				next_report = done + (64u << 20);
			}
		}
		if (!rc)
			rc = flush_run(&m);
		base += r->size;
	}
	if (rc)
		return err_sys(errp, -rc, "write the snapshot memory file");
	if (j->progress)
		j->progress(j->opaque, total, total);
	return 0;
}

static int write_state(struct snap_job *j, int fd, struct err *errp)
{
	struct state_writer w;
	state_writer_init(&w);
	snap_put_info(&w, &j->si);
	struct guest_mem *mem = vm_mem(j->vm);
	for (unsigned i = 0; i < mem->nr && (j->flags & SNAPSHOT_DIFF); i++) {
		char name[16];
		snap_dirty_name(i, name);
		state_begin(&w, name, 1);
		size_t n = snap_bitmap_words(mem->r[i].size);
		for (size_t k = 0; k < n; k++)
			state_put_u64(&w, j->bitmap[i][k]);
		state_end(&w);
	}
	int rc = vm_save_state_ext(j->vm, &w, VM_SAVE_BOOT_FILE, errp);
	if (!rc && state_writer_error(&w))
		rc = err_set(errp, ENOMEM, "out of memory for the VM state");
	uint8_t pre[SNAP_PREFIX_BYTES];
	snap_prefix(pre);
	if (!rc && ((rc = file_pwrite_all(fd, pre, sizeof(pre), 0)) ||
		    (rc = file_pwrite_all(fd, w.buf, w.len, sizeof(pre)))))
		rc = err_sys(errp, -rc, "write the snapshot state file");
	state_writer_free(&w);
	return rc;
}

static int new_id(uint64_t *id)
{
	ssize_t n = getrandom(id, sizeof(*id), 0);
	return n == (ssize_t)sizeof(*id) ? 0 : -EIO;
}

/* Fill j->si: regions, disks and ids, before the pause. */
static int describe(struct snap_job *j, struct err *errp)
{
	struct snap_info *si = &j->si;
	struct guest_mem *mem = vm_mem(j->vm);
	struct snapshot_track *t = *vm_snapshot_track(j->vm);
	snprintf(si->engine, sizeof(si->engine), "%s", vm_engine_name(j->vm));
	if (new_id(&si->id))
		return err_set(errp, EIO, "getrandom failed");
	if (j->flags & SNAPSHOT_DIFF) {
		if (!t || !t->valid)
			return err_set(errp, EINVAL, "a diff snapshot needs a "
				       "previous snapshot of this VM (take a "
				       "full one first)");
		if (!guest_mem_logging(mem) ||
		    __atomic_load_n(&mem->dirty_fetches, __ATOMIC_RELAXED) !=
		    t->fetches)
			return err_set(errp, EBUSY, "the dirty-page log was "
				       "used by something else (a migration) "
				       "since the previous snapshot; take a "
				       "full one");
		si->flags |= SNAP_FLAG_DIFF;
		si->parent_id = t->id;
		snprintf(si->parent, sizeof(si->parent), "%s", t->dir);
	}
	uint64_t off = 0;
	si->nregions = mem->nr;
	for (unsigned i = 0; i < mem->nr; i++) {
		si->r[i] = (struct snap_region){ mem->r[i].gpa, mem->r[i].size,
						 off };
		off += (mem->r[i].size + SNAP_REGION_ALIGN - 1) &
		       ~(uint64_t)(SNAP_REGION_ALIGN - 1);
		j->bitmap[i] = calloc(snap_bitmap_words(mem->r[i].size), 8);
		if (!j->bitmap[i])
			return err_set(errp, ENOMEM, "out of memory");
	}
	si->mem_file_size = off;
	const struct vm_config *cfg = vm_get_config(j->vm);
	si->ndisks = cfg->ndisks;
	for (unsigned i = 0; i < cfg->ndisks; i++) {
		int rc = snap_disk_plan(vm_disk(j->vm, i), i, j->abs,
					j->flags & SNAPSHOT_NO_DISK_STATE,
					&si->d[i], &j->fz[i], errp);
		if (rc)
			return rc;
	}
	return 0;
}

/* Take the dirty log's pages (starting it at the first snapshot): a
 * full snapshot clears them, a diff keeps them in j->bitmap. */
static int take_dirty(struct snap_job *j, struct err *errp)
{
	struct guest_mem *mem = vm_mem(j->vm);
	struct snapshot_track *t = *vm_snapshot_track(j->vm);
	bool ours = t && t->valid && guest_mem_logging(mem) &&
		    __atomic_load_n(&mem->dirty_fetches, __ATOMIC_RELAXED) ==
		    t->fetches;
	if (!ours && guest_mem_logging(mem))
		return 0;  /* a migration's log: leave its bits alone */
	if (!guest_mem_logging(mem)) {
		int rc = vm_dirty_log_start(j->vm, errp);
		if (rc)
			return rc;
		j->log_started = true;
	}
	j->fetched = true;
	for (unsigned i = 0; i < mem->nr; i++)
		if (vm_dirty_log_fetch(j->vm, i, j->bitmap[i]) < 0)
			return err_set(errp, EIO, "dirty-page log fetch failed");
	return 0;
}

/* A failed diff gives its pages back to the log: the next snapshot must
 * still see them. */
static void untake_dirty(struct snap_job *j)
{
	struct guest_mem *mem = vm_mem(j->vm);
	if (j->log_started) {
		vm_dirty_log_stop(j->vm);
		return;
	}
	for (unsigned i = 0; j->fetched && i < mem->nr; i++) {
		const uint64_t *bm = j->bitmap[i];
		uint64_t pages = mem->r[i].size >> GUEST_PAGE_SHIFT;
		for (uint64_t p = 0; p < pages; p++)
			if (bm[p / 64] >> (p % 64) & 1)
				guest_mem_mark_dirty_hva(mem, mem->r[i].hva +
					(p << GUEST_PAGE_SHIFT),
					GUEST_PAGE_SIZE);
	}
}

static void remember(struct snap_job *j, uint64_t pause_ns)
{
	struct snapshot_track **tp = vm_snapshot_track(j->vm);
	if (!*tp)
		*tp = calloc(1, sizeof(**tp));
	struct snapshot_track *t = *tp;
	if (!t)
		return;  /* the next diff is refused: no harm */
	struct guest_mem *mem = vm_mem(j->vm);
	snprintf(t->dir, sizeof(t->dir), "%s", j->abs);
	t->id = j->si.id;
	t->valid = j->fetched;
	t->fetches = __atomic_load_n(&mem->dirty_fetches, __ATOMIC_RELAXED);
	t->pause_ns = pause_ns;
}

static void remove_tmp(struct snap_job *j, const char *dir)
{
	static const char *const names[] = { "state", "memory", "boot" };
	for (unsigned i = 0; i < 3; i++)
		unlinkat(j->tmpfd, names[i], 0);
	for (unsigned i = 0; i < j->si.ndisks; i++) {
		char n[32];
		snprintf(n, sizeof(n), "disk%u.qcow2", i);
		unlinkat(j->tmpfd, n, 0);
	}
	rmdir(dir);
}

static int sync_fd(int fd)
{
	while (fsync(fd) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* Start writing fd's dirty pages back without waiting, so that the
 * fsync after the instant finds them on their way (advice: errors show in
 * that fsync). */
static void start_writeback(int fd)
{
	(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

static int sync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = sync_fd(fd);
	close(fd);
	return rc;
}

/* A diff's boot images are its parent's, taken by this same VM (whose
 * images never change): a hard link of the parent's boot file instead
 * of another copy.  false (write one) when there is none to link (a
 * parent of an older format, another file system). */
static bool link_parent_boot(struct snap_job *j)
{
	if (!(j->flags & SNAPSHOT_DIFF))
		return false;
	char p[SNAP_PATH_MAX + 8];
	int n = snprintf(p, sizeof(p), "%s/boot", j->si.parent);
	return n > 0 && (size_t)n < sizeof(p) &&
	       linkat(AT_FDCWD, p, j->tmpfd, "boot", 0) == 0;
}

/* The paused part: the instant. */
static int capture(struct snap_job *j, int statefd, int memfd,
		   struct err *errp)
{
	int rc;
	if ((rc = take_dirty(j, errp)) || (rc = write_state(j, statefd, errp)) ||
	    (rc = write_memory(j, memfd, errp)))
		return rc;
	for (unsigned i = 0; i < j->si.ndisks; i++)
		if ((rc = snap_disk_prepare(&j->fz[i], vm_disk(j->vm, i),
					    j->tmpfd, errp)))
			return rc;
	if (rename(j->tmp, j->abs) < 0)
		return err_sys(errp, errno, "rename the snapshot to `%s`",
			       j->abs);
	return 0;
}

int vm_snapshot(struct vm *vm, const char *dir, unsigned flags,
		snapshot_progress_fn *progress, void *opaque,
		struct err *errp)
{
	struct snap_job *j = calloc(1, sizeof(*j));
	if (!j)
		return err_set(errp, ENOMEM, "out of memory");
	j->vm = vm;
	j->flags = flags;
	j->progress = progress;
	j->opaque = opaque;
	j->tmpfd = -1;
	/* Which pages were never backed (write_memory skips them unread);
	 * without it every page is read. */
	j->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	int statefd = -1, memfd = -1, bootfd = -1, rc;
	bool paused = false, made = false, renamed = false;
	if ((rc = abs_paths(j, dir, errp)) || (rc = check_target(j->abs, errp)) ||
	    (rc = describe(j, errp)))
		goto out;
	if (!mkdtemp(j->tmp)) {
		rc = err_sys(errp, errno, "cannot create a directory beside "
			     "`%s`", j->abs);
		goto out;
	}
	made = true;
	j->tmpfd = open(j->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	statefd = j->tmpfd < 0 ? -1 :
		  openat(j->tmpfd, "state", O_WRONLY | O_CREAT | O_EXCL |
			 O_CLOEXEC, 0444);
	memfd = statefd < 0 ? -1 :
		openat(j->tmpfd, "memory", O_WRONLY | O_CREAT | O_EXCL |
		       O_CLOEXEC, 0444);
	bool linked = memfd >= 0 && link_parent_boot(j);
	bootfd = memfd < 0 || linked ? -1 :
		 openat(j->tmpfd, "boot", O_WRONLY | O_CREAT | O_EXCL |
			O_CLOEXEC, 0444);
	if (bootfd < 0 && !linked) {
		rc = err_sys(errp, errno, "create the snapshot files in `%s`",
			     j->tmp);
		goto out;
	}
	/* The boot images do not change while the VM runs: written before
	 * the pause, once, outside the state a restore reads. */
	if (!linked && (rc = vm_boot_file_write(vm, bootfd, errp)))
		goto out;
	if (bootfd >= 0)
		start_writeback(bootfd);
	if ((rc = vm_pause(vm)) < 0) {
		rc = err_set(errp, ESRCH, "the VM is not running");
		goto out;
	}
	paused = true;
	uint64_t t0 = evloop_now_ns();
	rc = capture(j, statefd, memfd, errp);
	if (rc) {
		untake_dirty(j);
		goto out;
	}
	renamed = true;
	/* From here on the snapshot exists: the disks move onto it. */
	for (unsigned i = 0; i < j->si.ndisks; i++)
		snap_disk_commit(&j->fz[i], vm, i);
	remember(j, evloop_now_ns() - t0);
	vm_resume(vm);
	paused = false;
	start_writeback(memfd);
	/* Durable after the instant, while the guest runs again. */
	int s = 0;
	if ((s = sync_fd(statefd)) || (s = sync_fd(memfd)) ||
	    (bootfd >= 0 && (s = sync_fd(bootfd))) ||
	    (s = sync_fd(j->tmpfd)) || (s = sync_path(j->parent)))
		rc = err_sys(errp, -s, "snapshot `%s` written but not synced",
			     j->abs);
	for (unsigned i = 0; !rc && i < j->si.ndisks; i++)
		if ((s = snap_disk_sync(&j->fz[i])))
			rc = err_sys(errp, -s, "snapshot `%s`: sync the "
				     "directory of disk `%s`", j->abs,
				     j->si.d[i].path);
out:
	for (unsigned i = 0; i < j->si.ndisks; i++)
		snap_disk_cleanup(&j->fz[i]);
	if (paused)
		vm_resume(vm);
	if (statefd >= 0)
		close(statefd);
	if (memfd >= 0)
		close(memfd);
	if (bootfd >= 0)
		close(bootfd);
	if (made && !renamed && j->tmpfd >= 0)
		remove_tmp(j, j->tmp);
	else if (made && !renamed)
		rmdir(j->tmp);
	if (j->tmpfd >= 0)
		close(j->tmpfd);
	if (j->pagemap_fd >= 0)
		close(j->pagemap_fd);
	for (unsigned i = 0; i < GUEST_MEM_MAX_REGIONS; i++)
		free(j->bitmap[i]);
	free(j);
	return rc;
}
