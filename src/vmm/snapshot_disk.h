/* Disks in a snapshot: external qcow2 overlays (docs/LIFECYCLE.md,
 * "## Snapshots").  At the instant, a writable qcow2 disk P becomes the
 * frozen base DIR/disk<N>.qcow2 (a hard link: no copy) and a new, empty
 * overlay over it takes P's name and the device's place; restores and
 * clones put their own overlays on the base.
 *
 * snap_disk_plan runs before the VM is paused, snap_disk_prepare while it
 * is (nothing visible changes yet), snap_disk_commit once the snapshot
 * directory exists (cannot fail: what goes wrong is reported on stderr
 * and the VM keeps a working disk), snap_disk_cleanup always.  Paths are
 * absolute. */
#ifndef RINGVM_VMM_SNAPSHOT_DISK_H
#define RINGVM_VMM_SNAPSHOT_DISK_H

#include <stdbool.h>

#include "block/block.h"
#include "core/err.h"
#include "vmm/snapshot_fmt.h"
#include "vmm/vm.h"

struct snap_disk_freeze {
	bool active;                    /* a qcow2 disk to freeze */
	char path[SNAP_PATH_MAX];       /* P */
	char tmp[SNAP_PATH_MAX];        /* the new overlay until renamed */
	char base[SNAP_PATH_MAX];       /* DIR/disk<N>.qcow2 */
	char base_name[32];             /* disk<N>.qcow2 */
	char backing_abs[SNAP_PATH_MAX];/* P's relative backing made absolute;
					 * "" when nothing to rewrite */
	struct block_dev *top;          /* the new overlay, open */
	bool created, committed;
};

/* Decide what disk i (bd, open in the VM) becomes in the snapshot at
 * absolute dir: fill rec (kind, absolute path) and fz.  Refuses (-EINVAL)
 * a writable raw disk unless no_disk_state (then a warning), and (-EXDEV)
 * a qcow2 disk on another file system than dir. */
int snap_disk_plan(struct block_dev *bd, unsigned i, const char *dir,
		   bool no_disk_state, struct snap_disk *rec,
		   struct snap_disk_freeze *fz, struct err *errp);

/* VM paused: flush bd, link it into the temp dir (tmpfd) as the base,
 * create and open the new overlay beside P.  0 or -errno. */
int snap_disk_prepare(struct snap_disk_freeze *fz, struct block_dev *bd,
		      int tmpfd, struct err *errp);

/* VM paused, snapshot dir in place: the overlay takes P's name and the
 * device's place with the old image (frozen, read-only) as its backing. */
void snap_disk_commit(struct snap_disk_freeze *fz, struct vm *vm,
		      unsigned i);

/* fsync P's directory (the rename).  0 or -errno. */
int snap_disk_sync(const struct snap_disk_freeze *fz);

/* Undo what was not committed (overlay closed and removed). */
void snap_disk_cleanup(struct snap_disk_freeze *fz);

/* Create the file at path (replacing it atomically through a temp name)
 * as an empty qcow2 overlay over the absolute base (a qcow2) of `size`
 * bytes.  For restores and clones.  0 or -errno. */
int snap_disk_new_overlay(const char *path, const char *base, uint64_t size,
			  struct err *errp);

#endif
