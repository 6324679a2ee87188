/* The switch's filtering database (IEEE 802.1Q-2018 §8.8): learned
 * (VLAN, MAC) -> port entries with ageing (§8.8.3).
 *
 * Keys are per VLAN (independent VLAN learning, §8.8.8): the same MAC may
 * sit on different ports in different VLANs.  The table never grows past its
 * limit, and no port holds more than its per-port limit (port security: one
 * port inventing source addresses cannot crowd out the others); a refused
 * address is not learned (its frames are then flooded) and the refusal is
 * counted, per port and per reason.
 *
 * Cost: every learn and lookup examines at most MAC_TABLE_PROBE_MAX slots,
 * full table or not: a (VLAN, MAC) key may live only in one of two buckets
 * of MAC_TABLE_BUCKET slots (two-choice hashing), picked by a hash keyed
 * with a per-table random seed so that a client cannot aim its addresses at
 * one bucket.  Aged entries are treated as absent by lookups, reused by
 * learning, and reclaimed by an incremental sweep (mac_table_age_step) that
 * the caller runs from a timer.  Only whole-table operations (flush of a
 * port, full expiry, foreach) scan everything.
 *
 * All memory is allocated up front, so learning and lookup never allocate.
 * Time is passed in by the caller (milliseconds of any monotonic clock),
 * which lets tests use a fake clock.  Not thread-safe. */
#ifndef RINGVM_NET_SWITCH_MAC_TABLE_H
#define RINGVM_NET_SWITCH_MAC_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

#define MAC_TABLE_BUCKET 8
#define MAC_TABLE_PROBE_MAX (2 * MAC_TABLE_BUCKET)
#define MAC_TABLE_MAX (1u << 24)

struct mac_table;

struct mac_entry {
	uint16_t vid;
	uint8_t mac[6];
	uint16_t port;          /* 1..ports; 0 marks a free slot */
	uint64_t last_seen_ms;
};

/* max: entries (1..MAC_TABLE_MAX); per_port: entries one port may hold
 * (0 = max); ports: port numbers are 1..ports (1..65535); ageing_s: seconds
 * an entry lives without traffic (0 = never ages).  -EINVAL or -ENOMEM. */
int mac_table_new(unsigned max, unsigned per_port, unsigned ports,
		  unsigned ageing_s, struct mac_table **out, struct err *errp);
void mac_table_free(struct mac_table *t);

/* Learn (or refresh, or move to port) the source address mac on vid at
 * time now.  Returns 0; -ENOSPC when the table is full or both of the
 * address's buckets are full of live entries; else -EDQUOT when port
 * already holds its per-port limit (a known address is still refreshed;
 * moving one to a full port is refused and it stays where it was);
 * -EINVAL for a port outside 1..ports.  Refusals are counted by reason. */
int mac_table_learn(struct mac_table *t, uint16_t vid, const uint8_t mac[6],
		    uint16_t port, uint64_t now_ms);

/* The port mac was learned on in vid, or -1 (unknown or aged out; an aged
 * entry is removed). */
int mac_table_lookup(struct mac_table *t, uint16_t vid, const uint8_t mac[6],
		     uint64_t now_ms);

/* Remove every entry of port (the port went away).  Returns the count.
 * Scans the table unless the port holds no entry. */
unsigned mac_table_flush_port(struct mac_table *t, uint16_t port);

/* Remove every entry older than the ageing time (a full scan).  Returns the
 * count. */
unsigned mac_table_expire(struct mac_table *t, uint64_t now_ms);

/* Incremental sweep: examine the next `slots` slots (wrapping around) and
 * remove aged entries there.  Returns the count removed. */
unsigned mac_table_age_step(struct mac_table *t, uint64_t now_ms,
			    unsigned slots);

unsigned mac_table_count(const struct mac_table *t);
unsigned mac_table_max(const struct mac_table *t);
unsigned mac_table_per_port(const struct mac_table *t);
unsigned mac_table_ageing(const struct mac_table *t);
/* Slots in the table (what a full sweep examines). */
unsigned mac_table_slots(const struct mac_table *t);
/* Entries held by port (0 for a port outside 1..ports). */
unsigned mac_table_port_count(const struct mac_table *t, uint16_t port);
/* Learning refusals: table (or buckets) full; a port at its limit. */
uint64_t mac_table_full_count(const struct mac_table *t);
uint64_t mac_table_port_limit_count(const struct mac_table *t);
/* Slots examined by learn and lookup since creation (each call examines at
 * most MAC_TABLE_PROBE_MAX); lets tests check the cost bound. */
uint64_t mac_table_probes(const struct mac_table *t);

/* Call fn for every live entry (unordered). */
void mac_table_foreach(const struct mac_table *t,
		       void (*fn)(void *opaque, const struct mac_entry *e),
		       void *opaque);

#endif
