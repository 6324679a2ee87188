/* Snapshots (snapshot.h).  Placeholder until the snapshot work lands. */
#include "snapshot.h"

int vm_snapshot(struct vm *vm, const char *dir, unsigned flags,
		snapshot_progress_fn *progress, void *opaque,
		struct err *errp)
{
	(void)vm;
	(void)dir;
	(void)flags;
	(void)progress;
	(void)opaque;
	return err_set(errp, ENOSYS, "snapshots are not supported yet");
}
