/* The VM's control socket (`ringvm run --api PATH`): a unix stream socket
 * speaking the JSON line protocol of api_proto.h (docs/LIFECYCLE.md,
 * "Control socket"): status, pause/resume, stop/quit, snapshot, migrate,
 * events.
 *
 * Threads: the server runs on two threads of its own, made by api_start
 * (before the sandbox, which allows no new threads): the socket thread
 * serves every client (non-blocking, epoll) and runs the short commands
 * (status, pause, resume — vm_pause waits for the VM's I/O thread, so the
 * server must never run on it); the job thread runs vm_snapshot.  A client
 * that stops reading, sends garbage or disconnects never blocks either
 * thread, the VM or other clients: output is buffered per client up to
 * API_OUT_MAX and a client beyond that is dropped.
 *
 * Lifecycle: api_open (bind the socket; before the VM exists) ->
 * vm_create(..., api_vm_event, api) (or migrate_incoming, or a restore,
 * with the same on_event) -> vm_run_created(vm, api, ...), which does
 * api_start(api, vm) -> [sandbox] -> vm_start ... vm_wait -> api_close ->
 * vm_destroy. */
#ifndef RINGVM_VMM_API_H
#define RINGVM_VMM_API_H

#include <stdint.h>

#include "core/err.h"
#include "vmm/vm.h"

/* Clients served at once; one more is told EBUSY and closed. */
#define API_MAX_CLIENTS 128
/* Replies and events queued for one client (bytes) before it is dropped
 * (a status reply is under 1 KiB). */
#define API_OUT_MAX (256u * 1024)
/* A started request line must be complete within this (ns). */
#define API_PARTIAL_TIMEOUT_NS (10ull * 1000000000)
/* A client with nothing in flight and no event subscription is closed
 * after this long without a request (ns). */
#define API_IDLE_TIMEOUT_NS (300ull * 1000000000)

struct api;

/* Create the socket at path (mode 0600, made under a temporary name and
 * renamed into place; a stale socket nobody listens on is replaced, a live
 * one is EADDRINUSE).  Nobody is served before api_start.  Returns 0 with
 * *out set, or -errno with errp naming the problem. */
int api_open(const char *path, struct api **out, struct err *errp);

/* The vm_event_fn to give vm_create (opaque: the struct api): turns VM
 * events into protocol events.  Runs on the VM's I/O thread; never
 * blocks. */
void api_vm_event(void *opaque, enum vm_event ev, int code);

/* Serve vm: start the server's threads (they are in their loops when this
 * returns, so the sandbox may be entered next).  vm may be NULL to serve
 * before the VM exists (while `ringvm run --incoming` receives it):
 * `status` then answers {"state":"incoming"}, `events` and
 * `migrate-status` work, the rest fail with ESRCH; a later
 * api_start(a, vm) (vm_run_created does it) hands the server its VM
 * (once).  Returns 0 or -errno. */
int api_start(struct api *a, struct vm *vm, struct err *errp);

/* The directory descriptor the socket is removed through at exit
 * (api_close unlinks relative to it): the sandbox allows unlinkat on it
 * only. */
int api_dirfd(const struct api *a);

/* Stop serving: cancel a migration in progress, wait for the threads,
 * send what can be sent without blocking, close every client, remove the
 * socket.  After vm_wait (or instead of vm_start), before vm_destroy.
 * NULL-safe. */
void api_close(struct api *a);

#endif
