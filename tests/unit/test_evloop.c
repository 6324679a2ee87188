/* Unit tests for the event loop's hook and timer extensions (what libslirp
 * needs): pollfds contributed per iteration, revents by index, timeouts
 * shortened by hooks and timers, timers fired once and re-armable, and
 * epoll-watched fds still served while hooks exist. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/epoll.h>
#include <unistd.h>

#include "core/evloop.h"

struct hook_state {
	int fd, idx, prepared, dispatched, timeout;
	short revents;
	bool error;
};

static void prep(void *opaque, struct evloop_pollset *ps, int *timeout_ms)
{
	struct hook_state *h = opaque;
	h->prepared++;
	h->idx = evloop_pollset_add(ps, h->fd, POLLIN);
	if (h->timeout >= 0 && (*timeout_ms < 0 || h->timeout < *timeout_ms))
		*timeout_ms = h->timeout;
}

static void disp(void *opaque, struct evloop_pollset *ps, bool error)
{
	struct hook_state *h = opaque;
	h->dispatched++;
	h->error = error;
	h->revents = evloop_pollset_revents(ps, h->idx);
}

static void hooks(void **state)
{
	struct evloop l;
	int p[2];
	assert_int_equal(evloop_init(&l, NULL), 0);
	assert_int_equal(pipe(p), 0);
	struct hook_state h = { .fd = p[0], .timeout = 20 };
	struct evloop_hook hk = { prep, disp, &h };
	assert_int_equal(evloop_hook_add(&l, &hk, NULL), 0);
	/* Nothing ready: the hook's 20 ms bounds a "forever" wait. */
	uint64_t t0 = evloop_now_ns();
	assert_int_equal(evloop_poll(&l, -1), 0);
	uint64_t dt = evloop_now_ns() - t0;
	assert_true(dt >= 15000000ULL && dt < 2000000000ULL);
	assert_int_equal(h.prepared, 1);
	assert_int_equal(h.dispatched, 1);
	assert_int_equal(h.revents, 0);
	/* Readable: revents by index. */
	assert_int_equal(write(p[1], "x", 1), 1);
	evloop_poll(&l, 1000);
	assert_true(h.revents & POLLIN);
	assert_false(h.error);
	/* Out-of-range indexes read as nothing. */
	assert_int_equal(evloop_pollset_revents(&l.ps, -1), 0);
	assert_int_equal(evloop_pollset_revents(&l.ps, 0), 0);
	assert_int_equal(evloop_pollset_revents(&l.ps, 999), 0);
	assert_int_equal(evloop_hook_del(&l, &h), 0);
	assert_int_equal(evloop_hook_del(&l, &h), -ENOENT);
	close(p[0]);
	close(p[1]);
	evloop_free(&l);
}

static void pollset_full(void **state)
{
	struct evloop_pollset ps = { 0 };
	for (unsigned i = 0; i < EVLOOP_MAX_POLLFDS + 1; i++)
		assert_int_equal(evloop_pollset_add(&ps, 0, POLLIN), (int)i);
	assert_int_equal(evloop_pollset_add(&ps, 0, POLLIN), -1);
}

static int fired_order[4], nfired;

static void fire(void *opaque)
{
	fired_order[nfired++] = (int)(intptr_t)opaque;
}

static void timers(void **state)
{
	struct evloop l;
	struct evloop_timer a, b, c;
	assert_int_equal(evloop_init(&l, NULL), 0);
	evloop_timer_init(&l, &a, fire, (void *)1);
	evloop_timer_init(&l, &b, fire, (void *)2);
	evloop_timer_init(&l, &c, fire, (void *)3);
	uint64_t now = evloop_now_ns();
	evloop_timer_mod(&a, now + 30000000ULL);
	evloop_timer_mod(&b, now);              /* due */
	/* c stays disarmed */
	evloop_poll(&l, 1000);
	assert_int_equal(nfired, 1);
	assert_int_equal(fired_order[0], 2);
	/* The next poll waits for a (30 ms), not the full second. */
	uint64_t t0 = evloop_now_ns();
	evloop_poll(&l, 1000);
	assert_true(evloop_now_ns() - t0 < 500000000ULL);
	assert_int_equal(nfired, 2);
	assert_int_equal(fired_order[1], 1);
	/* One-shot: nothing more; re-arm, then delete before it fires. */
	evloop_poll(&l, 0);
	assert_int_equal(nfired, 2);
	evloop_timer_mod(&c, evloop_now_ns());
	evloop_timer_del(&c);
	evloop_poll(&l, 0);
	assert_int_equal(nfired, 2);
	evloop_timer_free(&l, &b);
	evloop_timer_free(&l, &a);
	evloop_timer_free(&l, &c);
	assert_null(l.timers);
	evloop_free(&l);
}

static int epoll_hits;

static void on_fd(void *opaque, int fd, uint32_t events)
{
	char c;
	epoll_hits++;
	assert_int_equal(read(fd, &c, 1), 1);
}

static void epoll_with_hooks(void **state)
{
	struct evloop l;
	int p[2], q[2];
	assert_int_equal(evloop_init(&l, NULL), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(q), 0);
	assert_int_equal(evloop_add(&l, p[0], EPOLLIN, on_fd, NULL, NULL), 0);
	struct hook_state h = { .fd = q[0], .timeout = -1 };
	struct evloop_hook hk = { prep, disp, &h };
	assert_int_equal(evloop_hook_add(&l, &hk, NULL), 0);
	assert_int_equal(write(p[1], "y", 1), 1);
	assert_int_equal(evloop_poll(&l, 1000), 1);
	assert_int_equal(epoll_hits, 1);
	assert_int_equal(h.dispatched, 1);
	close(p[0]); close(p[1]); close(q[0]); close(q[1]);
	evloop_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hooks),
		cmocka_unit_test(pollset_full),
		cmocka_unit_test(timers),
		cmocka_unit_test(epoll_with_hooks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
