/* Snapshots of a running VM: memory, vCPUs, devices and disk state of one
 * instant, in a directory (docs/LIFECYCLE.md describes the layout).
 *
 * Threading: from any thread other than the VM's own (the control-socket
 * thread); the VM is paused for the part that must be one instant and
 * resumed before returning. */
#ifndef RINGVM_VMM_SNAPSHOT_H
#define RINGVM_VMM_SNAPSHOT_H

#include <stdint.h>

#include "core/err.h"
#include "vmm/vm.h"

#define SNAPSHOT_DIFF          0x1u  /* only pages dirtied since the
					* previous snapshot of this VM */
#define SNAPSHOT_NO_DISK_STATE 0x2u  /* allow raw disks (not frozen) */

/* Progress: done of total bytes written so far; called on the caller's
 * thread, never under a lock of the VM. */
typedef void snapshot_progress_fn(void *opaque, uint64_t done, uint64_t total);

/* Snapshot vm into dir (created; must not exist or be empty).  flags:
 * SNAPSHOT_*.  progress may be NULL.  Returns 0, or -errno with errp naming
 * the problem (a raw disk without SNAPSHOT_NO_DISK_STATE, no space...);
 * on failure the VM keeps running unchanged and dir is removed. */
int vm_snapshot(struct vm *vm, const char *dir, unsigned flags,
		snapshot_progress_fn *progress, void *opaque,
		struct err *errp);

/* How long (ns) the VM stood still for its last vm_snapshot (state,
 * memory copy and disk freeze); 0 before the first. */
uint64_t vm_snapshot_pause_ns(struct vm *vm);

/* Free what vm_snapshot keeps about a VM (vm_destroy calls it). */
void snapshot_track_free(struct snapshot_track *t);

#endif
