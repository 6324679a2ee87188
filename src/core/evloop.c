#include "evloop.h"

#include <string.h>
#include <sys/epoll.h>
#include <time.h>

int evloop_init(struct evloop *l, struct err *errp)
{
	l->nr = 0;
	l->nhooks = 0;
	l->timers = NULL;
	l->lock = NULL;
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
	l->nhooks = 0;
	l->timers = NULL;
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

int evloop_hook_add(struct evloop *l, const struct evloop_hook *h,
		    struct err *errp)
{
	if (l->nhooks == EVLOOP_MAX_HOOKS)
		return err_set(errp, ENOSPC, "too many event loop hooks");
	l->hooks[l->nhooks++] = *h;
	return 0;
}

int evloop_hook_del(struct evloop *l, void *opaque)
{
	for (unsigned i = 0; i < l->nhooks; i++) {
		if (l->hooks[i].opaque == opaque) {
			memmove(&l->hooks[i], &l->hooks[i + 1],
				(l->nhooks - i - 1) * sizeof(l->hooks[0]));
			l->nhooks--;
			return 0;
		}
	}
	return -ENOENT;
}

int evloop_pollset_add(struct evloop_pollset *ps, int fd, short events)
{
	if (ps->n >= EVLOOP_MAX_POLLFDS + 1)
		return -1;
	ps->fds[ps->n] = (struct pollfd){ .fd = fd, .events = events };
	return (int)ps->n++;
}

short evloop_pollset_revents(const struct evloop_pollset *ps, int idx)
{
	if (idx < 1 || (unsigned)idx >= ps->n)
		return 0;
	return ps->fds[idx].revents;
}

uint64_t evloop_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void evloop_timer_init(struct evloop *l, struct evloop_timer *t,
		       evloop_timer_cb *cb, void *opaque)
{
	*t = (struct evloop_timer){ 0, cb, opaque, l->timers };
	l->timers = t;
}

void evloop_timer_mod(struct evloop_timer *t, uint64_t expire_ns)
{
	/* 0 means disarmed: a deadline at the epoch is simply "now". */
	t->expire_ns = expire_ns ? expire_ns : 1;
}

void evloop_timer_del(struct evloop_timer *t)
{
	t->expire_ns = 0;
}

void evloop_timer_free(struct evloop *l, struct evloop_timer *t)
{
	for (struct evloop_timer **p = &l->timers; *p; p = &(*p)->next) {
		if (*p == t) {
			*p = t->next;
			return;
		}
	}
}

static void lock(struct evloop *l)
{
	if (l->lock)
		pthread_mutex_lock(l->lock);
}

static void unlock(struct evloop *l)
{
	if (l->lock)
		pthread_mutex_unlock(l->lock);
}

void evloop_set_lock(struct evloop *l, pthread_mutex_t *m)
{
	l->lock = m;
}

static int epoll_dispatch(struct evloop *l, int timeout_ms)
{
	struct epoll_event ev[EVLOOP_MAX_FDS];
	if (timeout_ms != 0)
		unlock(l);
	int n = epoll_wait(l->epfd, ev, EVLOOP_MAX_FDS, timeout_ms);
	if (timeout_ms != 0)
		lock(l);
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

/* Shorten timeout_ms to the earliest armed timer. */
static int timers_timeout(const struct evloop *l, int timeout_ms)
{
	uint64_t now = 0;
	for (const struct evloop_timer *t = l->timers; t; t = t->next) {
		if (!t->expire_ns)
			continue;
		if (!now)
			now = evloop_now_ns();
		uint64_t ms = t->expire_ns <= now ? 0 :
			      (t->expire_ns - now + 999999) / 1000000;
		if (timeout_ms < 0 || ms < (uint64_t)timeout_ms)
			timeout_ms = (int)ms;
	}
	return timeout_ms;
}

/* Run the expired timers.  A callback may re-arm or free timers, so the
 * walk restarts after each one. */
static void timers_run(struct evloop *l)
{
	uint64_t now = evloop_now_ns();
	for (bool again = true; again;) {
		again = false;
		for (struct evloop_timer *t = l->timers; t; t = t->next) {
			if (t->expire_ns && t->expire_ns <= now) {
				t->expire_ns = 0;
				t->cb(t->opaque);
				again = true;
				break;
			}
		}
	}
}

int evloop_poll(struct evloop *l, int timeout_ms)
{
	lock(l);
	if (!l->nhooks && !l->timers) {
		int n = epoll_dispatch(l, timeout_ms);
		unlock(l);
		return n;
	}

	struct evloop_pollset *ps = &l->ps;
	ps->n = 0;
	evloop_pollset_add(ps, l->epfd, POLLIN);
	for (unsigned i = 0; i < l->nhooks; i++)
		l->hooks[i].prepare(l->hooks[i].opaque, ps, &timeout_ms);
	timeout_ms = timers_timeout(l, timeout_ms);

	if (timeout_ms != 0)
		unlock(l);
	int rc = poll(ps->fds, ps->n, timeout_ms);
	if (timeout_ms != 0)
		lock(l);
	bool error = rc < 0 && errno != EINTR;
	int n = 0;
	if (rc > 0 && ps->fds[0].revents)
		n = epoll_dispatch(l, 0);
	/* Copy: a dispatch may remove hooks (its backend was freed). */
	unsigned nh = l->nhooks;
	struct evloop_hook hooks[EVLOOP_MAX_HOOKS];
	memcpy(hooks, l->hooks, nh * sizeof(hooks[0]));
	for (unsigned i = 0; i < nh; i++)
		hooks[i].dispatch(hooks[i].opaque, ps, error || rc < 0);
	timers_run(l);
	unlock(l);
	return n;
}
