/* `ringvm switch`: a user-space L2 learning switch with IEEE 802.1Q VLANs.
 *
 * One process, one thread, one epoll loop.  VMs connect to the data socket
 * (SOCK_SEQPACKET at opts.path, protocol in net/switch_port.h); each
 * connection is a port numbered 1..ports.  Forwarding (802.1Q-2018 §8.6):
 * classify the frame on its ingress port (fwd.h), learn its source address
 * in that VLAN (mac_table.h), then send it to the port its destination was
 * learned on, or flood it to every other member of the VLAN when the
 * destination is a group address or unknown.  Frames are never queued: a
 * port whose socket is full loses the frame (counted as tx_dropped), so one
 * slow VM cannot stall the others.
 *
 * Control: a SOCK_STREAM socket at opts.path + ".ctl".  A client sends one
 * line ("show\n"); the switch answers with one JSON document and closes
 * (see sw_show_json() for the schema).  Control clients are served from
 * the same loop without ever blocking it: non-blocking sockets, a bounded
 * input buffer, SW_CTL_REQ_MS to send the request and SW_CTL_REPLY_MS to
 * read the answer, after which the client is dropped; at most
 * SW_CTL_CLIENTS at once (more are closed at once).
 *
 * A data connection beyond the port limit is answered ENOSPC: the switch
 * waits (without blocking: up to SW_REFUSE_MS; SW_REFUSING_MAX at once, the
 * oldest answered first when more come) for its hello, reads it, answers
 * and closes, because closing a unix socket with unread data would reset
 * it before the peer read the answer.
 *
 * MAC learning is limited per port (opts.max_macs_per_port, port security)
 * and in total (opts.max_macs); see mac_table.h. */
#ifndef RINGVM_NET_SWITCH_SWITCH_H
#define RINGVM_NET_SWITCH_SWITCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"
#include "net/switch/fwd.h"
#include "net/switch/mac_table.h"
#include "net/switch/proto.h"
#include "net/switch_port.h"

#define SW_PORTS_MAX 1024
#define SW_PORTS_DEFAULT 16
#define SW_AGEING_DEFAULT 300      /* seconds (802.1Q-2018 Table 8-6) */
/* 256 addresses per port: a VM routing or bridging for a few hundred
 * containers still fits, a port inventing addresses fills 256 entries at
 * most, and 16 ports x 256 = 4096 is the default table, which no set of
 * ports can then fill.  The default table grows with --ports to keep that
 * true (SW_MAX_MACS_DEFAULT at least). */
#define SW_MAX_MACS_PER_PORT_DEFAULT 256
#define SW_MAX_MACS_DEFAULT 4096
#define SW_HELLO_TIMEOUT_MS 5000   /* a connection must say hello by then */
#define SW_CTL_SUFFIX ".ctl"
#define SW_CTL_CLIENTS 8           /* control clients served at once */
#define SW_CTL_REQ_MS 1000         /* to send the request line */
#define SW_CTL_REPLY_MS 5000       /* to read the answer */
#define SW_REFUSING_MAX 16         /* refused data clients being answered */
#define SW_REFUSE_MS 1000          /* to send the hello we answer */

struct sw_opts {
	const char *path;       /* data socket; control at path + ".ctl" */
	unsigned ports;         /* 1..SW_PORTS_MAX */
	unsigned ageing_s;      /* 0 = entries never age */
	unsigned max_macs;      /* 0: max(SW_MAX_MACS_DEFAULT, ports x per port) */
	unsigned max_macs_per_port; /* 0: SW_MAX_MACS_PER_PORT_DEFAULT */
	int stop_fd;            /* sw_run() returns when readable; -1: none */
};

enum sw_port_state { SW_PORT_FREE, SW_PORT_HELLO, SW_PORT_UP };

struct sw_port {
	int fd;
	uint16_t id;                    /* 1-based, index + 1 */
	enum sw_port_state state;
	struct swp_vlan_cfg cfg;
	pid_t pid;                      /* from SO_PEERCRED, 0 if unknown */
	uint64_t since_ms;
	uint64_t rx_frames, rx_bytes;   /* received from the VM */
	uint64_t tx_frames, tx_bytes;   /* sent to the VM */
	uint64_t rx_dropped;            /* ingress drops (sum of drops[]) */
	uint64_t tx_dropped;            /* the VM's socket was full */
	uint64_t learn_refused;         /* source addresses not learned */
	uint64_t drops[SW_DROP_NR];
};

/* A control connection being served (fd -1: slot free). */
struct sw_ctl_conn {
	int fd;
	uint64_t deadline_ms;
	size_t in_len;
	char in[SW_CTL_LINE_MAX];
	char *out;                      /* the answer, malloc'd; NULL: reading */
	size_t out_len, out_off;
};

/* A refused data connection waiting for its hello (fd -1: slot free). */
struct sw_refusing {
	int fd;
	uint64_t deadline_ms;
	char msg[80];
};

struct sw {
	struct sw_opts o;
	char *path, *ctl_path;
	/* The sockets' directory (O_PATH) and their names in it: they are
	 * removed at exit with unlinkat(dirfd, ...), the one unlink a
	 * sandboxed switch may do (vmm/sandbox.h). */
	int dirfd;
	const char *name, *ctl_name;    /* point into path, ctl_path */
	int lfd, cfd, epfd, timerfd;
	struct sw_port *ports;
	struct mac_table *macs;
	uint8_t *buf;                   /* one message: header + frame */
	uint64_t now_ms;                /* refreshed once per poll round */
	uint64_t start_ms;
	/* Switch-wide counters. */
	uint64_t rx_frames, forwarded, flooded, filtered, dropped;
	uint64_t drops[SW_DROP_NR];
	uint64_t ports_refused, hello_failed, ctl_refused, ctl_timeouts;
	struct sw_ctl_conn ctl[SW_CTL_CLIENTS];
	struct sw_refusing refusing[SW_REFUSING_MAX];
};

/* Bind both sockets (reclaiming stale socket files; -EADDRINUSE when a
 * switch is already serving path) and allocate everything. */
int sw_create(const struct sw_opts *o, struct sw **out, struct err *errp);

/* One round: wait up to timeout_ms and handle what is ready.  Returns 1
 * when stop_fd became readable, 0, or -errno. */
int sw_poll(struct sw *s, int timeout_ms);

/* Poll until stopped.  Returns 0 or -errno. */
int sw_run(struct sw *s);

/* Close every connection and remove both socket files. */
void sw_destroy(struct sw *s);

uint64_t sw_now_ms(void);

/* The state as JSON (caller puts the object):
 * { "socket", "pid", "uptime_s", "max_ports", "ageing_s", "max_macs",
 *   "max_macs_per_port",
 *   "ports": [ { "id", "mode": "access"|"trunk", "vlan" (access),
 *                "native" (trunk, null if none), "vlans": [..], "pid",
 *                "rx_frames", "rx_bytes", "tx_frames", "tx_bytes",
 *                "rx_dropped", "tx_dropped", "macs" (entries learned),
 *                "learn_refused", "drops": { reason: n } } ],
 *   "vlans": [ { "vid", "ports": [ids] } ],
 *   "macs": [ { "vlan", "mac", "port", "age_s" } ],
 *   "counters": { "rx_frames", "forwarded", "flooded", "filtered",
 *                 "dropped", "learn_full", "learn_port_limit",
 *                 "ports_refused", "hello_failed", "ctl_refused",
 *                 "ctl_timeouts",
 *                 "drops": { reason: n } } } */
struct json_object *sw_show_json(struct sw *s);

/* Send cmd ("show") to the control socket of the switch at path (the data
 * socket path, or the .ctl path itself) and return its JSON answer, or NULL
 * with a message in e (no switch running, bad answer). */
struct json_object *sw_ctl_query(const char *path, const char *cmd,
				 struct err *e);

#endif
