/* Host event loop (epoll): file descriptors the VMM waits on between guest
 * time slices and while every vCPU sleeps.  Single-threaded: callbacks run in
 * the caller of evloop_poll().
 *
 * Besides epoll-watched fds the loop has two extensions for libraries that
 * want poll()-style fd sets rebuilt every iteration (libslirp):
 *  - hooks: each iteration a hook's prepare() adds pollfds to a shared set
 *    and may lower the timeout; after poll() its dispatch() reads the
 *    revents back by index.  The epoll fd is itself one entry of that set,
 *    so epoll-watched fds are served by the same wait.
 *  - timers: one-shot deadlines on CLOCK_MONOTONIC (evloop_now_ns) that bound
 *    the wait and run their callback once expired.
 * Without hooks and armed timers evloop_poll() is a bare epoll_wait(). */
#ifndef RINGVM_CORE_EVLOOP_H
#define RINGVM_CORE_EVLOOP_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include <pthread.h>

#include "err.h"

#define EVLOOP_MAX_FDS 32
#define EVLOOP_MAX_HOOKS 8
/* pollfds all hooks together may add per iteration (slirp: one per open
 * host socket); beyond that evloop_pollset_add() refuses. */
#define EVLOOP_MAX_POLLFDS 256

/* events: EPOLLIN/EPOLLOUT bits that fired (EPOLLHUP/ERR included). */
typedef void evloop_cb(void *opaque, int fd, uint32_t events);

/* The per-iteration poll() set hooks contribute to. */
struct evloop_pollset {
	unsigned n;
	struct pollfd fds[EVLOOP_MAX_POLLFDS + 1];  /* [0] is the epoll fd */
};

struct evloop_hook {
	/* Add pollfds with evloop_pollset_add() and lower *timeout_ms (-1 =
	 * none) if the hook has something due sooner. */
	void (*prepare)(void *opaque, struct evloop_pollset *ps,
			int *timeout_ms);
	/* poll() returned (error: it failed); revents through
	 * evloop_pollset_revents() with the indexes prepare() got. */
	void (*dispatch)(void *opaque, struct evloop_pollset *ps, bool error);
	void *opaque;
};

typedef void evloop_timer_cb(void *opaque);

/* A one-shot timer; memory owned by the caller, linked into the loop
 * between evloop_timer_init() and evloop_timer_free(). */
struct evloop_timer {
	uint64_t expire_ns;      /* CLOCK_MONOTONIC; 0 = disarmed */
	evloop_timer_cb *cb;
	void *opaque;
	struct evloop_timer *next;
};

struct evloop {
	int epfd;
	unsigned nr;
	struct evloop_entry {
		int fd;
		evloop_cb *cb;
		void *opaque;
	} e[EVLOOP_MAX_FDS];
	unsigned nhooks;
	struct evloop_hook hooks[EVLOOP_MAX_HOOKS];
	struct evloop_timer *timers;
	struct evloop_pollset ps;  /* scratch of evloop_poll (no allocation) */
	/* When set (evloop_set_lock), held by evloop_poll() while it runs
	 * hooks, callbacks and timers, and released while it waits. */
	pthread_mutex_t *lock;
};

int evloop_init(struct evloop *l, struct err *errp);
void evloop_free(struct evloop *l);

/* Watch fd for `events` (EPOLLIN...).  -EEXIST if already watched, -ENOSPC
 * when EVLOOP_MAX_FDS are in use, or the epoll_ctl errno. */
int evloop_add(struct evloop *l, int fd, uint32_t events, evloop_cb *cb,
	       void *opaque, struct err *errp);
int evloop_del(struct evloop *l, int fd);

/* Register a hook (copied).  -ENOSPC beyond EVLOOP_MAX_HOOKS. */
int evloop_hook_add(struct evloop *l, const struct evloop_hook *h,
		    struct err *errp);
/* Remove the hook registered with this opaque; -ENOENT if none. */
int evloop_hook_del(struct evloop *l, void *opaque);

/* For prepare(): add fd with poll events (POLLIN...).  Returns the index to
 * look revents up with, or -1 when the set is full (the fd is then not
 * polled this iteration; its revents read as 0). */
int evloop_pollset_add(struct evloop_pollset *ps, int fd, short events);
short evloop_pollset_revents(const struct evloop_pollset *ps, int idx);

/* CLOCK_MONOTONIC in nanoseconds, the timers' clock. */
uint64_t evloop_now_ns(void);

void evloop_timer_init(struct evloop *l, struct evloop_timer *t,
		       evloop_timer_cb *cb, void *opaque);
/* Arm (or re-arm) t to fire once at expire_ns (evloop_now_ns() clock); a
 * deadline in the past fires at the next evloop_poll(). */
void evloop_timer_mod(struct evloop_timer *t, uint64_t expire_ns);
void evloop_timer_del(struct evloop_timer *t);    /* disarm */
void evloop_timer_free(struct evloop *l, struct evloop_timer *t); /* unlink */

/* Run every hook, callback and timer of l under *lock (the machine's
 * device lock, core/bus.h), which evloop_poll() releases only while it
 * waits: callbacks may then touch device state that vCPU threads reach by
 * MMIO.  The caller of evloop_poll() must not hold it.  NULL: no lock. */
void evloop_set_lock(struct evloop *l, pthread_mutex_t *lock);

/* Wait up to timeout_ms (0 = just check, -1 = forever; shortened by hooks
 * and armed timers) and dispatch ready callbacks, hooks and expired timers.
 * Returns the number of epoll callbacks dispatched or -errno (EINTR is 0). */
int evloop_poll(struct evloop *l, int timeout_ms);

#endif
