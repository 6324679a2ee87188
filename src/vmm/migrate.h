/* Live migration, pre-copy (docs/LIFECYCLE.md): the source side runs on
 * its own thread while the VM keeps running; the target side is
 * migrate_incoming, used by `ringvm run --incoming`.
 *
 * Threading: migrate_start/status/cancel/free from any thread other than
 * the VM's own (the control-socket thread). */
#ifndef RINGVM_VMM_MIGRATE_H
#define RINGVM_VMM_MIGRATE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "vmm/vm.h"

struct migrate_opts {
	const char *uri;            /* "tcp:HOST:PORT" or "unix:PATH" */
	uint64_t max_downtime_ns;   /* 0: 30 ms */
	bool copy_disks;            /* send disk contents (no shared storage) */
};

enum migrate_state {
	MIGRATE_NONE,
	MIGRATE_ACTIVE,
	MIGRATE_COMPLETED,   /* target acknowledged; the source VM ends */
	MIGRATE_FAILED,      /* the source VM keeps running */
	MIGRATE_CANCELLED,   /* the source VM keeps running */
};

struct migrate_status {
	enum migrate_state state;
	uint64_t ram_total, ram_sent;    /* bytes */
	uint64_t disk_total, disk_sent;  /* bytes (copy_disks) */
	unsigned rounds;                 /* pre-copy rounds so far */
	uint64_t dirty_pages;            /* left in the last round */
	uint64_t bandwidth;              /* bytes/s measured */
	uint64_t downtime_ns;            /* once completed */
	uint64_t total_ns;               /* since start */
	char error[256];                 /* FAILED: why */
};

struct migration;

/* Progress/end notification (the control socket turns it into events);
 * called on the migration thread. */
typedef void migrate_event_fn(void *opaque, const struct migrate_status *st);

/* Start migrating vm to o->uri on a new thread; returns at once with *out
 * set, or -errno (bad URI, one already active...).  on_event may be NULL.
 * URIs: tcp:HOST:PORT with HOST an IPv4/IPv6 literal or localhost (no name
 * lookup), unix:PATH.  Timeouts: connect 10 s, a target that stops
 * reading 15 s, the ack after the last data 60 s.  On COMPLETED the VM has
 * been ended with vm_end_migrated (VM_EVENT_MIGRATED, status 0); on FAILED
 * or CANCELLED it runs as before.  m uses vm until migrate_free: free it
 * before vm_destroy(vm). */
int migrate_start(struct vm *vm, const struct migrate_opts *o,
		  migrate_event_fn *on_event, void *opaque,
		  struct migration **out, struct err *errp);

/* Snapshot of the progress (any time until migrate_free). */
void migrate_status(struct migration *m, struct migrate_status *st);

/* Ask an active migration to stop: the VM keeps running on the source.
 * Returns at once; the state becomes CANCELLED. */
void migrate_cancel(struct migration *m);

/* Wait for the migration thread and free m (NULL-safe). */
void migrate_free(struct migration *m);

/* Target side: listen on uri, accept one source, build a VM from the
 * stream's machine shape on top of *cfg (console, seccomp... of the
 * caller), load its RAM, disks (when sent) and state.  Returns 0 with *out
 * a created, not started VM (cfg->incoming) ready for vm_start, or -errno
 * (the stream was bad, the link died...).  *storage as for
 * vm_config_from_state. */
int migrate_incoming(const char *uri, struct vm_config *cfg,
		     vm_event_fn *on_event, void *opaque, struct vm **out,
		     void **storage, struct err *errp);

#endif
