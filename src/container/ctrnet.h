/* A container's network through one of ringvm's network backends
 * (src/net/net.h), the way slirp4netns does it: a TAP device `eth0` is
 * made inside the container's network namespace, its fd is held by a
 * relay thread in the supervising process, which passes frames between
 * it and the backend: "user[,hostfwd=...]" (libslirp NAT; the container
 * is 10.0.2.15/24 with gateway 10.0.2.2 and DNS 10.0.2.3) or
 * "switch,path=SOCK[,vlan=N]" (`ringvm switch`, so containers share VLANs
 * with VMs; eth0 is up without an address unless one is given). */
#ifndef RINGVM_CONTAINER_CTRNET_H
#define RINGVM_CONTAINER_CTRNET_H

#include <sys/types.h>

#include "core/err.h"

struct ctr_net;

/* Make eth0 in the network namespace of process pid (the container's
 * init, before its command starts), configure it (addr "A.B.C.D/N" or
 * NULL: 10.0.2.15/24 via 10.0.2.2 for a user backend, none otherwise),
 * open the backend from spec and start the relay thread.  *out is freed
 * by ctr_net_stop().  Needs CAP_NET_ADMIN in that namespace. */
int ctr_net_start(pid_t pid, const char *spec, const char *addr,
		  struct ctr_net **out, struct err *errp);

/* Stop the relay, close the backend (its host forwards) and the TAP. */
void ctr_net_stop(struct ctr_net *n);

#endif
