/* Restoring a snapshot directory (`ringvm run --restore DIR [--clone]
 * [--clone-dir D]`; docs/LIFECYCLE.md "## Snapshots").
 *
 * restore_prepare reads and checks DIR's state file (and the chain of
 * parents of a diff snapshot) and turns it into a vm_config: machine
 * shape from the state, disks on new overlays over the snapshot's frozen
 * bases, cfg->incoming and cfg->prepare set so that vm_run (or the
 * caller, after vm_create) calls restore_load, which maps the memory file
 * lazily (MAP_PRIVATE: nothing is read until the guest touches it),
 * applies diff pages and loads the vCPU and device state.  The snapshot
 * directory is never written.
 *
 * Threading: one thread; the restore object lives until the VM is
 * destroyed (cfg strings point into it). */
#ifndef RINGVM_VMM_RESTORE_H
#define RINGVM_VMM_RESTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "vmm/vm.h"

/* Diff snapshots a restore follows back to their full parent. */
#define RESTORE_MAX_CHAIN 64

struct restore_opts {
	const char *dir;        /* the snapshot directory */
	bool clone;             /* own overlays and new MACs; DIR's disks
				 * are left alone */
	const char *clone_dir;  /* clone overlays here (kept; created if
				 * missing); NULL: a private temp dir that
				 * disappears once the disks are open */
	bool quiet;             /* no notice lines on stderr (tests) */
};

struct restore;

/* Read, check and plan the restore of o->dir into *cfg (initialised by
 * the caller with its defaults: console, seccomp, stats, and NIC specs to
 * use instead of the recorded ones when cfg->nnics is not 0 — then as
 * many as were recorded).  Without o->clone each frozen disk's path is
 * made a fresh overlay over the snapshot's base (what was written after
 * the snapshot is gone, as with QEMU's loadvm; one notice line says so);
 * it must not be in use.  Returns 0 with *out set (restore_free it after
 * vm_destroy), or -errno with errp naming the problem in one line:
 * missing or hostile state file (truncated, bad checksum, other format
 * version), a broken diff chain, a disk in use.  Nothing is changed on
 * failure. */
int restore_prepare(const struct restore_opts *o, struct vm_config *cfg,
		    struct restore **out, struct err *errp);

/* Load the snapshot into vm, created from the prepared cfg and not
 * started: checks the engine and RAM layout, maps the memory (and reads
 * the pages of diffs), vm_load_state.  This is cfg->prepare.  Returns 0
 * or -errno (-EINVAL for a snapshot of another engine or machine). */
int restore_load(void *rs, struct vm *vm, struct err *errp);

/* Nanoseconds from restore_prepare's start to the end of restore_load. */
uint64_t restore_elapsed_ns(const struct restore *rs);

/* Free rs (after vm_destroy); NULL-safe. */
void restore_free(struct restore *rs);

#endif
