/* Restoring a snapshot directory (restore.h). */
#include "restore.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/evloop.h"
#include "core/file.h"
#include "core/guest_mem.h"
#include "core/state.h"
#include "vmm/snapshot_disk.h"
#include "vmm/snapshot_fmt.h"

/* One snapshot of the chain: the restored one first, then its parents. */
struct snap_link {
	char dir[SNAP_PATH_MAX];
	char *buf;                 /* the state file */
	size_t len;
	struct state_reader r;
	struct snap_info si;
	int memfd;
	int bootfd;                /* the boot file, or -1 (none: an older
				    * snapshot with the images inline) */
};

struct restore {
	struct restore_opts o;
	uint64_t t0, t_loaded;
	unsigned nchain;
	struct snap_link *chain[RESTORE_MAX_CHAIN];
	void *storage;                       /* vm_config_from_state's */
	char disk_path[VM_MAX_DISKS][SNAP_PATH_MAX];
	/* Plain restore: the new overlay of disk i waits under a pending
	 * name until the state loaded, so a failed restore leaves the
	 * user's disk as it was (nothing discarded). */
	char pending[VM_MAX_DISKS][SNAP_PATH_MAX];
	bool is_pending[VM_MAX_DISKS];
	char tmpdir[SNAP_PATH_MAX];          /* private clone dir, or "" */
	unsigned ntmp;                       /* overlays made in tmpdir */
	bool stats;
};

static void link_free(struct snap_link *l)
{
	if (!l)
		return;
	if (l->memfd >= 0)
		close(l->memfd);
	if (l->bootfd >= 0)
		close(l->bootfd);
	free(l->buf);
	free(l);
}

/* Read and check one snapshot directory's state file; open its memory
 * file. */
static int read_link(const char *dir, struct snap_link **out,
		     struct err *errp)
{
	struct snap_link *l = calloc(1, sizeof(*l));
	if (!l)
		return err_set(errp, ENOMEM, "out of memory");
	l->memfd = -1;
	l->bootfd = -1;
	char path[PATH_MAX + 32];
	int fd = -1, rc;
	if (!realpath(dir, l->dir)) {
		rc = err_sys(errp, errno, "cannot open it");
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/state", l->dir);
	if ((rc = file_open_checked("snapshot state file", path, O_RDONLY,
				    false, &fd, NULL, errp)) ||
	    (rc = file_read_fd(fd, SNAP_STATE_MAX, "snapshot state file",
			       &l->buf, &l->len, errp)))
		goto fail;
	if ((rc = snap_parse(l->buf, l->len, &l->r, &l->si, errp)))
		goto fail;
	snprintf(path, sizeof(path), "%s/memory", l->dir);
	struct stat st;
	if ((rc = file_open_checked("snapshot memory file", path, O_RDONLY,
				    false, &l->memfd, &st, errp)))
		goto fail;
	if ((uint64_t)st.st_size != l->si.mem_file_size) {
		rc = err_set(errp, EINVAL, "snapshot memory file is %jd bytes, "
			     "the state file says %" PRIu64,
			     (intmax_t)st.st_size, l->si.mem_file_size);
		goto fail;
	}
	/* Opened, not read: a reboot reads it (the VM owns a dup). */
	snprintf(path, sizeof(path), "%s/boot", l->dir);
	l->bootfd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (l->bootfd < 0 && errno != ENOENT) {
		rc = err_sys(errp, errno, "snapshot boot file");
		goto fail;
	}
	close(fd);
	*out = l;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	link_free(l);
	return err_prefix(errp, "snapshot `%s`", dir);
}

static bool same_layout(const struct snap_info *a, const struct snap_info *b)
{
	if (a->nregions != b->nregions)
		return false;
	for (unsigned i = 0; i < a->nregions; i++)
		if (a->r[i].gpa != b->r[i].gpa || a->r[i].size != b->r[i].size)
			return false;
	return true;
}

/* The restored snapshot and, for a diff, its parents up to a full one. */
static int read_chain(struct restore *rs, struct err *errp)
{
	int rc = read_link(rs->o.dir, &rs->chain[0], errp);
	if (rc)
		return rc;
	rs->nchain = 1;
	for (;;) {
		struct snap_link *l = rs->chain[rs->nchain - 1];
		if (!(l->si.flags & SNAP_FLAG_DIFF))
			return 0;
		if (rs->nchain == RESTORE_MAX_CHAIN)
			return err_set(errp, ELOOP, "snapshot `%s`: more than "
				       "%d diff snapshots in a row",
				       rs->o.dir, RESTORE_MAX_CHAIN);
		struct snap_link *p;
		if ((rc = read_link(l->si.parent, &p, errp)))
			return err_prefix(errp, "parent of `%s`", l->dir);
		rs->chain[rs->nchain++] = p;
		if (p->si.id != l->si.parent_id)
			return err_set(errp, EINVAL, "snapshot `%s`: its parent "
				       "`%s` is another snapshot than the one "
				       "it was taken after", l->dir, p->dir);
		if (!same_layout(&p->si, &l->si))
			return err_set(errp, EINVAL, "snapshot `%s`: its parent "
				       "`%s` has another RAM layout", l->dir,
				       p->dir);
	}
}

static void random_mac(uint8_t mac[6])
{
	if (getrandom(mac, 6, 0) != 6) {
		/* No entropy source: still different per process. */
		uint64_t t = evloop_now_ns() ^ ((uint64_t)getpid() << 20);
		for (int k = 0; k < 6; k++)
			mac[k] = (uint8_t)(t >> (8 * k));
	}
	mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02);  /* local, unicast */
}

/* Refuse to replace a disk another process (the original VM) uses. */
static int check_not_in_use(const char *path, struct err *errp)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? 0 : err_sys(errp, errno, "disk `%s`",
						     path);
	int rc = 0;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK)
		rc = err_set(errp, EBUSY, "disk `%s` is in use by another "
			     "process (the VM the snapshot was taken of?); stop "
			     "it or restore with --clone", path);
	close(fd);
	return rc;
}

static int clone_dir(struct restore *rs, const char **dir, struct err *errp)
{
	if (rs->o.clone_dir) {
		if (mkdir(rs->o.clone_dir, 0700) < 0 && errno != EEXIST)
			return err_sys(errp, errno, "--clone-dir `%s`",
				       rs->o.clone_dir);
		*dir = rs->o.clone_dir;
		return 0;
	}
	const char *t = getenv("TMPDIR");
	snprintf(rs->tmpdir, sizeof(rs->tmpdir), "%s/ringvm-clone-XXXXXX",
		 t && *t ? t : "/tmp");
	if (!mkdtemp(rs->tmpdir)) {
		rs->tmpdir[0] = '\0';
		return err_sys(errp, errno, "cannot create a temp dir for the "
			       "clone's disks");
	}
	*dir = rs->tmpdir;
	return 0;
}

/* Disks: each frozen one on a new overlay over the snapshot's base. */
static int plan_disks(struct restore *rs, struct vm_config *cfg,
		      struct err *errp)
{
	const struct snap_info *si = &rs->chain[0]->si;
	if (cfg->ndisks != si->ndisks)
		return err_set(errp, EINVAL, "snapshot `%s`: %u disks in the "
			       "machine, %u recorded", rs->o.dir, cfg->ndisks,
			       si->ndisks);
	const char *cdir = NULL;
	int rc;
	bool frozen = false;
	for (unsigned i = 0; i < si->ndisks; i++)
		frozen |= si->d[i].kind == SNAP_DISK_FROZEN;
	if (frozen && rs->o.clone && (rc = clone_dir(rs, &cdir, errp)))
		return rc;
	for (unsigned i = 0; i < si->ndisks; i++) {
		const struct snap_disk *d = &si->d[i];
		struct vm_disk *vd = &cfg->disks[i];
		char *p = rs->disk_path[i];
		snprintf(p, SNAP_PATH_MAX, "%s", d->path);
		vd->path = p;
		vd->read_only = d->kind == SNAP_DISK_READ_ONLY;
		if (d->kind != SNAP_DISK_FROZEN)
			continue;
		vd->format = "qcow2";
		char base[PATH_MAX + 32];
		snprintf(base, sizeof(base), "%s/disk%u.qcow2",
			 rs->chain[0]->dir, i);
		if (cdir) {
			int n = snprintf(p, SNAP_PATH_MAX, "%s/disk%u.qcow2",
					 cdir, i);
			if (n < 0 || n >= (int)SNAP_PATH_MAX)
				return err_set(errp, ENAMETOOLONG, "--clone-dir "
					       "`%s`: name too long", cdir);
			if (rs->o.clone_dir && access(p, F_OK) == 0)
				return err_set(errp, EEXIST, "--clone-dir: `%s` "
					       "exists (a clone's disks are made "
					       "there, never reused)", p);
		} else if ((rc = check_not_in_use(p, errp))) {
			return rc;
		}
		if (!cdir) {
			char *q = rs->pending[i];
			int n = snprintf(q, SNAP_PATH_MAX, "%s.restore-%d",
					 d->path, (int)getpid());
			if (n < 0 || n >= (int)SNAP_PATH_MAX)
				return err_set(errp, ENAMETOOLONG,
					       "disk `%s`: name too long", p);
			vd->path = q;
			if ((rc = snap_disk_new_overlay(q, base, 0, errp)))
				return rc;
			rs->is_pending[i] = true;
			continue;
		}
		if ((rc = snap_disk_new_overlay(p, base, 0, errp)))
			return rc;
		if (rs->tmpdir[0])
			rs->ntmp = i + 1;
	}
	if (cdir && rs->tmpdir[0] && !rs->o.quiet)
		fprintf(stderr, "ringvm: the clone's disk overlays are in a "
			"private temp dir, gone at exit (--clone-dir D keeps "
			"them)\n");
	return 0;
}

static int plan_nics(struct restore *rs, struct vm_config *cfg,
		     const struct vm_nic *cli, unsigned ncli,
		     struct err *errp)
{
	if (ncli && ncli != cfg->nnics)
		return err_set(errp, EINVAL, "snapshot `%s` has %u NICs; give "
			       "as many --net (or none: the recorded ones)",
			       rs->o.dir, cfg->nnics);
	for (unsigned i = 0; i < cfg->nnics; i++) {
		struct vm_nic *n = &cfg->nics[i];
		if (ncli) {
			n->spec = cli[i].spec;
			if (cli[i].has_mac) {
				memcpy(n->mac, cli[i].mac, 6);
				n->has_mac = true;
				continue;
			}
		}
		if (rs->o.clone) {
			random_mac(n->mac);
			n->has_mac = true;
		}
	}
	return 0;
}

static void remove_private(struct restore *rs)
{
	if (!rs->tmpdir[0])
		return;
	for (unsigned i = 0; i < rs->ntmp; i++) {
		char p[PATH_MAX + 32];
		snprintf(p, sizeof(p), "%s/disk%u.qcow2", rs->tmpdir, i);
		unlink(p);
	}
	rmdir(rs->tmpdir);
	rs->tmpdir[0] = '\0';
}

int restore_prepare(const struct restore_opts *o, struct vm_config *cfg,
		    struct restore **out, struct err *errp)
{
	struct restore *rs = calloc(1, sizeof(*rs));
	if (!rs)
		return err_set(errp, ENOMEM, "out of memory");
	rs->o = *o;
	rs->t0 = evloop_now_ns();
	rs->stats = cfg->stats;
	struct vm_nic cli[VM_MAX_NICS];
	unsigned ncli = cfg->nnics;
	memcpy(cli, cfg->nics, sizeof(cli));
	int rc = read_chain(rs, errp);
	if (!rc && (rc = vm_config_from_state(&rs->chain[0]->r, cfg,
					      &rs->storage, errp)))
		err_prefix(errp, "snapshot `%s`", o->dir);
	if (!rc)
		rc = plan_nics(rs, cfg, cli, ncli, errp);
	if (!rc)
		rc = plan_disks(rs, cfg, errp);
	if (rc) {
		remove_private(rs);
		restore_free(rs);
		return rc;
	}
	cfg->incoming = true;
	cfg->clone = o->clone;
	cfg->prepare = restore_load;
	cfg->prepare_opaque = rs;
	*out = rs;
	return 0;
}


static int read_run(struct snap_link *l, const struct guest_mem_region *r,
		    uint64_t file_off, uint64_t first, uint64_t n)
{
	return n ? file_pread_all(l->memfd, r->hva + (first << GUEST_PAGE_SHIFT),
			      n << GUEST_PAGE_SHIFT,
			      file_off + (first << GUEST_PAGE_SHIFT)) : 0;
}

/* The pages a diff snapshot holds, over what its parents gave. */
static int apply_diff(struct snap_link *l, struct guest_mem *mem,
		      struct err *errp)
{
	for (unsigned i = 0; i < l->si.nregions; i++) {
		const struct guest_mem_region *r = &mem->r[i];
		char name[16];
		uint32_t ver;
		snap_dirty_name(i, name);
		int rc = state_open(&l->r, name, 1, &ver, errp);
		if (rc)
			return err_prefix(errp, "snapshot `%s`", l->dir);
		size_t words = snap_bitmap_words(r->size);
		uint64_t *bm = malloc(words * 8);
		if (!bm)
			return err_set(errp, ENOMEM, "out of memory");
		for (size_t w = 0; w < words; w++)
			bm[w] = state_get_u64(&l->r);
		if ((rc = state_close(&l->r, errp))) {
			free(bm);
			return err_prefix(errp, "snapshot `%s`", l->dir);
		}
		uint64_t pages = r->size >> GUEST_PAGE_SHIFT, first = 0, n = 0;
		for (uint64_t p = 0; !rc && p < pages; p++) {
			if (!(bm[p / 64] >> (p % 64) & 1))
				continue;
			if (n && first + n == p && n < 256) {
				n++;
				continue;
			}
			rc = read_run(l, r, l->si.r[i].file_off, first, n);
			first = p;
			n = 1;
		}
		if (!rc)
			rc = read_run(l, r, l->si.r[i].file_off, first, n);
		free(bm);
		if (rc)
			return err_sys(errp, -rc, "snapshot `%s`: memory file",
				       l->dir);
	}
	return 0;
}

/* The state loaded: the pending overlays take the disks' names (the VM
 * has them open; the rename keeps the open files). */
static int commit_disks(struct restore *rs, struct vm *vm, struct err *errp)
{
	for (unsigned i = 0; i < VM_MAX_DISKS; i++) {
		char *q = rs->pending[i];
		if (!rs->is_pending[i])
			continue;
		const char *p = rs->disk_path[i];
		if (rename(q, p) < 0)
			return err_sys(errp, errno, "disk `%s`: rename `%s`", p,
				       q);
		rs->is_pending[i] = false;
		/* The VM's config points at this buffer: it names the disk
		 * by its real name from now on (a later snapshot records it). */
		memcpy(q, p, strlen(p) + 1);
		struct block_dev *bd = vm_disk(vm, i);
		if (bd && block_set_path(bd, p) < 0)
			return err_set(errp, ENOMEM, "out of memory");
		if (!rs->o.quiet)
			fprintf(stderr, "ringvm: disk %s restarts from snapshot "
				"%s: what was written to it after the snapshot "
				"is discarded\n", p, rs->chain[0]->dir);
	}
	return 0;
}

int restore_load(void *opaque, struct vm *vm, struct err *errp)
{
	struct restore *rs = opaque;
	struct snap_link *top = rs->chain[0];
	struct snap_link *root = rs->chain[rs->nchain - 1];
	const char *eng = vm_engine_name(vm);
	if (strcmp(top->si.engine, eng))
		return err_set(errp, EINVAL, "snapshot `%s` was taken with CPU "
			       "engine `%s`; this VM runs `%s`", top->dir,
			       top->si.engine, eng);
	struct guest_mem *mem = vm_mem(vm);
	if (mem->nr != top->si.nregions)
		return err_set(errp, EINVAL, "snapshot `%s`: %u RAM regions, "
			       "the machine has %u", top->dir,
			       top->si.nregions, mem->nr);
	for (unsigned i = 0; i < mem->nr; i++) {
		if (mem->r[i].gpa != top->si.r[i].gpa ||
		    mem->r[i].size != top->si.r[i].size)
			return err_set(errp, EINVAL, "snapshot `%s`: RAM region "
				       "%u differs from the machine's", top->dir,
				       i);
		int rc = guest_mem_map_file(mem, i, root->memfd,
					    root->si.r[i].file_off, errp);
		if (rc)
			return err_prefix(errp, "snapshot `%s`", root->dir);
	}
	for (unsigned k = rs->nchain - 1; k-- > 0;) {
		int rc = apply_diff(rs->chain[k], mem, errp);
		if (rc)
			return rc;
	}
	if (top->bootfd >= 0) {
		int bfd = fcntl(top->bootfd, F_DUPFD_CLOEXEC, 0);
		if (bfd < 0)
			return err_sys(errp, errno, "snapshot `%s`: boot file",
				       top->dir);
		vm_set_boot_file(vm, bfd);
	}
	int rc = vm_load_state(vm, &top->r, errp);
	if (rc)
		return err_prefix(errp, "snapshot `%s`", top->dir);
	if ((rc = commit_disks(rs, vm, errp)))
		return rc;
	/* The disks are open: a private clone dir can go now, so nothing is
	 * left behind whatever happens to this process. */
	remove_private(rs);
	rs->t_loaded = evloop_now_ns();
	if (rs->stats)
		fprintf(stderr, "ringvm: restored %s in %.3f ms\n", top->dir,
			restore_elapsed_ns(rs) / 1e6);
	return 0;
}

uint64_t restore_elapsed_ns(const struct restore *rs)
{
	return (rs->t_loaded ? rs->t_loaded : evloop_now_ns()) - rs->t0;
}

void restore_free(struct restore *rs)
{
	if (!rs)
		return;
	remove_private(rs);
	/* Overlays of a restore that did not load: the disks stay as they
	 * were. */
	for (unsigned i = 0; i < VM_MAX_DISKS; i++)
		if (rs->is_pending[i])
			unlink(rs->pending[i]);
	for (unsigned i = 0; i < rs->nchain; i++)
		link_free(rs->chain[i]);
	free(rs->storage);
	free(rs);
}
