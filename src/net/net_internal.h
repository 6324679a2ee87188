/* Backend constructors behind net_backend_open() (src/net/net.c).  opts is
 * the spec after "KIND," (empty string when there is none). */
#ifndef RINGVM_NET_NET_INTERNAL_H
#define RINGVM_NET_NET_INTERNAL_H

#include "net.h"

int net_user_open(const char *opts, struct evloop *loop,
		  struct net_backend **out, struct err *errp);
int net_tap_open(const char *opts, struct evloop *loop,
		 struct net_backend **out, struct err *errp);

#endif
