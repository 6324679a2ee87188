/* Sockets of live migration: "tcp:HOST:PORT" and "unix:PATH" URIs.
 *
 * HOST is an IPv4 or IPv6 address (brackets optional) or "localhost":
 * no name service, which a sandboxed source could not reach anyway. */
#ifndef RINGVM_VMM_MIGRATE_NET_H
#define RINGVM_VMM_MIGRATE_NET_H

#include <stdint.h>

#include "core/err.h"

/* Parse uri into a socket address (*len bytes of *sa, a sockaddr_storage
 * sized buffer).  0 or -EINVAL naming the problem. */
struct sockaddr_storage;
int mig_parse_uri(const char *uri, struct sockaddr_storage *sa,
		  unsigned *len, struct err *errp);

/* Connect to uri within timeout_ms; *cancel (read atomically) set by
 * another thread ends the wait with -ECANCELED.  Returns a blocking
 * stream socket (CLOEXEC) or -errno. */
int mig_connect(const char *uri, unsigned timeout_ms, const int *cancel,
		struct err *errp);

/* Listen on uri and accept one connection (a unix socket file is removed
 * once the connection came).  Returns the connected socket or -errno. */
int mig_accept(const char *uri, struct err *errp);

/* Send/receive timeouts of a socket (ms; 0 = none). */
void mig_set_timeouts(int fd, unsigned send_ms, unsigned recv_ms);

#endif
