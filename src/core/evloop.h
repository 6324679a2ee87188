/* Host event loop (epoll): file descriptors the VMM waits on between guest
 * time slices and while every vCPU sleeps.  Single-threaded: callbacks run in
 * the caller of evloop_poll(). */
#ifndef RINGVM_CORE_EVLOOP_H
#define RINGVM_CORE_EVLOOP_H

#include <stdint.h>

#include "err.h"

#define EVLOOP_MAX_FDS 32

/* events: EPOLLIN/EPOLLOUT bits that fired (EPOLLHUP/ERR included). */
typedef void evloop_cb(void *opaque, int fd, uint32_t events);

struct evloop {
	int epfd;
	unsigned nr;
	struct evloop_entry {
		int fd;
		evloop_cb *cb;
		void *opaque;
	} e[EVLOOP_MAX_FDS];
};

int evloop_init(struct evloop *l, struct err *errp);
void evloop_free(struct evloop *l);

/* Watch fd for `events` (EPOLLIN...).  -EEXIST if already watched, -ENOSPC
 * when EVLOOP_MAX_FDS are in use, or the epoll_ctl errno. */
int evloop_add(struct evloop *l, int fd, uint32_t events, evloop_cb *cb,
	       void *opaque, struct err *errp);
int evloop_del(struct evloop *l, int fd);

/* Wait up to timeout_ms (0 = just check, -1 = forever) and dispatch ready
 * callbacks.  Returns the number dispatched or -errno (EINTR is 0). */
int evloop_poll(struct evloop *l, int timeout_ms);

#endif
