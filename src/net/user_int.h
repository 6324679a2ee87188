/* The user backend's private state, shared by user.c and user_state.c. */
#ifndef RINGVM_NET_USER_INT_H
#define RINGVM_NET_USER_INT_H

#include <slirp/libslirp.h>

#include "net.h"

struct user_timer {
	struct evloop_timer t;
	struct net_user *u;
	SlirpTimerId id;
	SlirpTimerCb cb;      /* old-style timer (timer_new), else NULL */
	void *cb_opaque;
};

struct net_user {
	struct net_backend nb;
	struct evloop *loop;
	Slirp *slirp;
	struct evloop_pollset *ps;   /* valid during prepare/dispatch */
	uint64_t rx_dropped;         /* frames slirp sent the guest had no room for */
	uint8_t frame[NET_FRAME_MAX];/* linearised guest frame for slirp_input */
};

/* libslirp's state (user_state.c), the net_backend_ops state hooks. */
int net_user_state_save(struct net_backend *nb, const char *name,
			struct state_writer *w, struct err *errp);
int net_user_state_check(struct net_backend *nb, struct state_reader *r,
			 const char *name, struct err *errp);
void net_user_state_load(struct net_backend *nb, struct state_reader *r,
			 const char *name);

#endif
