#include "evloop.h"

#include <sys/epoll.h>

int evloop_init(struct evloop *l, struct err *errp)
{
	l->nr = 0;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return err_sys(errp, errno, "epoll_create1");
	return 0;
}

void evloop_free(struct evloop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
	l->nr = 0;
}

int evloop_add(struct evloop *l, int fd, uint32_t events, evloop_cb *cb,
	       void *opaque, struct err *errp)
{
	for (unsigned i = 0; i < l->nr; i++)
		if (l->e[i].fd == fd)
			return err_set(errp, EEXIST, "fd %d already watched", fd);
	if (l->nr == EVLOOP_MAX_FDS)
		return err_set(errp, ENOSPC, "too many watched descriptors");
	struct epoll_event ev = { .events = events, .data.fd = fd };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return err_sys(errp, errno, "epoll_ctl(%d)", fd);
	l->e[l->nr++] = (struct evloop_entry){ fd, cb, opaque };
	return 0;
}

int evloop_del(struct evloop *l, int fd)
{
	for (unsigned i = 0; i < l->nr; i++) {
		if (l->e[i].fd == fd) {
			epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
			l->e[i] = l->e[--l->nr];
			return 0;
		}
	}
	return -ENOENT;
}

int evloop_poll(struct evloop *l, int timeout_ms)
{
	struct epoll_event ev[EVLOOP_MAX_FDS];
	int n = epoll_wait(l->epfd, ev, EVLOOP_MAX_FDS, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		/* Look the fd up again: an earlier callback may have removed it. */
		for (unsigned j = 0; j < l->nr; j++) {
			if (l->e[j].fd == ev[i].data.fd) {
				l->e[j].cb(l->e[j].opaque, l->e[j].fd,
					   ev[i].events);
				break;
			}
		}
	}
	return n;
}
