/* The switch's filtering database (IEEE 802.1Q-2018 §8.8): learned
 * (VLAN, MAC) -> port entries with ageing (§8.8.3).
 *
 * Keys are per VLAN (independent VLAN learning, §8.8.8): the same MAC may
 * sit on different ports in different VLANs.  The table never grows past its
 * limit; when full, new addresses are not learned (their frames are then
 * flooded) and the refusal is counted.  All memory is allocated up front, so
 * learning and lookup never allocate.  Time is passed in by the caller
 * (milliseconds of any monotonic clock), which lets tests use a fake clock. */
#ifndef RINGVM_NET_SWITCH_MAC_TABLE_H
#define RINGVM_NET_SWITCH_MAC_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct mac_table;

struct mac_entry {
	uint16_t vid;
	uint8_t mac[6];
	uint16_t port;
	uint64_t last_seen_ms;
};

/* max: entries (>= 1); ageing_s: seconds an entry lives without traffic
 * (0 = never ages). */
int mac_table_new(unsigned max, unsigned ageing_s, struct mac_table **out,
		  struct err *errp);
void mac_table_free(struct mac_table *t);

/* Learn (or refresh, or move to port) the source address mac on vid at
 * time now.  Returns 0, or -ENOSPC when the table is full (not learned). */
int mac_table_learn(struct mac_table *t, uint16_t vid, const uint8_t mac[6],
		    uint16_t port, uint64_t now_ms);

/* The port mac was learned on in vid, or -1 (unknown or aged out). */
int mac_table_lookup(struct mac_table *t, uint16_t vid, const uint8_t mac[6],
		     uint64_t now_ms);

/* Remove every entry of port (the port went away).  Returns the count. */
unsigned mac_table_flush_port(struct mac_table *t, uint16_t port);

/* Remove entries older than the ageing time.  Returns the count. */
unsigned mac_table_expire(struct mac_table *t, uint64_t now_ms);

unsigned mac_table_count(const struct mac_table *t);
unsigned mac_table_max(const struct mac_table *t);
unsigned mac_table_ageing(const struct mac_table *t);
/* Learning refusals because the table was full. */
uint64_t mac_table_full_count(const struct mac_table *t);

/* Call fn for every live entry (unordered). */
void mac_table_foreach(const struct mac_table *t,
		       void (*fn)(void *opaque, const struct mac_entry *e),
		       void *opaque);

#endif
