/* Filtering database: two-choice bucketed hash table; see mac_table.h. */
#include "mac_table.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

struct mac_table {
	unsigned max, per_port, ports, ageing_s, count;
	uint32_t nbuckets;          /* power of two */
	uint32_t sweep;             /* next slot for mac_table_age_step */
	uint64_t seed;
	uint64_t full, port_limit, probes;
	uint32_t *port_count;       /* [0..ports], index 0 unused */
	struct mac_entry *slots;    /* nbuckets * MAC_TABLE_BUCKET */
};

/* A 64-bit mixer (the splitmix64 finalizer) over the key xor a random
 * seed: without the seed, addresses that share buckets cannot be chosen. */
static uint64_t hash(const struct mac_table *t, uint16_t vid,
		     const uint8_t mac[6])
{
	uint64_t k = (uint64_t)vid << 48 | (uint64_t)mac[0] << 40 |
		     (uint64_t)mac[1] << 32 | (uint64_t)mac[2] << 24 |
		     (uint64_t)mac[3] << 16 | (uint64_t)mac[4] << 8 | mac[5];
	k ^= t->seed;
	k ^= k >> 30;
	k *= 0xbf58476d1ce4e5b9ULL;
	k ^= k >> 27;
	k *= 0x94d049bb133111ebULL;
	k ^= k >> 31;
	return k;
}

int mac_table_new(unsigned max, unsigned per_port, unsigned ports,
		  unsigned ageing_s, struct mac_table **out, struct err *errp)
{
	if (max < 1 || max > MAC_TABLE_MAX)
		return err_set(errp, EINVAL, "MAC table size %u out of range "
			       "(1..%u)", max, MAC_TABLE_MAX);
	if (ports < 1 || ports > UINT16_MAX)
		return err_set(errp, EINVAL, "MAC table: %u ports out of range",
			       ports);
	if (per_port == 0 || per_port > max)
		per_port = max;
	struct mac_table *t = calloc(1, sizeof(*t));
	if (!t)
		return err_set(errp, ENOMEM, "out of memory");
	t->max = max;
	t->per_port = per_port;
	t->ports = ports;
	t->ageing_s = ageing_s;
	/* Room for max plus a quarter: two-choice buckets of 8 then
	 * overflow with negligible probability below the limit. */
	uint64_t want = ((uint64_t)max + max / 4 + MAC_TABLE_BUCKET - 1) /
			MAC_TABLE_BUCKET;
	t->nbuckets = 2;
	while (t->nbuckets < want)
		t->nbuckets <<= 1;
	t->slots = calloc((size_t)t->nbuckets * MAC_TABLE_BUCKET,
			  sizeof(*t->slots));
	t->port_count = calloc((size_t)ports + 1, sizeof(*t->port_count));
	if (!t->slots || !t->port_count) {
		mac_table_free(t);
		return err_set(errp, ENOMEM, "out of memory for a MAC table "
			       "of %u entries", max);
	}
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(t->seed)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		t->seed = (uint64_t)ts.tv_nsec << 32 ^ (uint64_t)ts.tv_sec ^
			  (uint64_t)(uintptr_t)t;
	}
	*out = t;
	return 0;
}

void mac_table_free(struct mac_table *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t->port_count);
	free(t);
}

static bool expired(const struct mac_table *t, const struct mac_entry *e,
		    uint64_t now_ms)
{
	return t->ageing_s &&
	       now_ms - e->last_seen_ms >= (uint64_t)t->ageing_s * 1000;
}

static void drop_entry(struct mac_table *t, struct mac_entry *e)
{
	t->port_count[e->port]--;
	t->count--;
	e->port = 0;
}

/* The two candidate buckets of a key (they may coincide). */
static void buckets(const struct mac_table *t, uint16_t vid,
		    const uint8_t mac[6], struct mac_entry *b[2])
{
	uint64_t h = hash(t, vid, mac);
	uint32_t m = t->nbuckets - 1;
	b[0] = &t->slots[(size_t)((uint32_t)h & m) * MAC_TABLE_BUCKET];
	b[1] = &t->slots[(size_t)((uint32_t)(h >> 32) & m) * MAC_TABLE_BUCKET];
}

static bool same_key(const struct mac_entry *e, uint16_t vid,
		     const uint8_t mac[6])
{
	return e->port && e->vid == vid && !memcmp(e->mac, mac, 6);
}

static struct mac_entry *find(struct mac_table *t, struct mac_entry *b[2],
			      uint16_t vid, const uint8_t mac[6])
{
	for (int k = 0; k < 2; k++) {
		if (k == 1 && b[1] == b[0])
			break;
		for (int i = 0; i < MAC_TABLE_BUCKET; i++) {
			t->probes++;
			if (same_key(&b[k][i], vid, mac))
				return &b[k][i];
		}
	}
	return NULL;
}

int mac_table_learn(struct mac_table *t, uint16_t vid, const uint8_t mac[6],
		    uint16_t port, uint64_t now_ms)
{
	if (port < 1 || port > t->ports)
		return -EINVAL;
	struct mac_entry *b[2];
	buckets(t, vid, mac, b);

	/* One pass over both buckets: the key itself, or where it could go
	 * (a free slot in the emptier bucket, else an aged entry). */
	struct mac_entry *hit = NULL, *free_slot = NULL, *aged = NULL;
	int best_used = MAC_TABLE_BUCKET + 1;
	for (int k = 0; k < 2 && !hit; k++) {
		if (k == 1 && b[1] == b[0])
			break;
		int used = 0;
		struct mac_entry *f = NULL;
		for (int i = 0; i < MAC_TABLE_BUCKET; i++) {
			struct mac_entry *e = &b[k][i];
			t->probes++;
			if (!e->port) {
				if (!f)
					f = e;
				continue;
			}
			used++;
			if (same_key(e, vid, mac)) {
				hit = e;
				break;
			}
			if (!aged && expired(t, e, now_ms))
				aged = e;
		}
		if (f && used < best_used) {
			best_used = used;
			free_slot = f;
		}
	}
	if (hit) {
		if (hit->port != port) {
			/* The station moved; the new port pays for it. */
			if (t->port_count[port] >= t->per_port) {
				t->port_limit++;
				return -EDQUOT;
			}
			t->port_count[hit->port]--;
			t->port_count[port]++;
			hit->port = port;
		}
		hit->last_seen_ms = now_ms;
		return 0;
	}
	if (aged && (!free_slot || t->count >= t->max)) {
		drop_entry(t, aged);
		free_slot = aged;
	}
	if (!free_slot || t->count >= t->max) {
		t->full++;
		return -ENOSPC;
	}
	if (t->port_count[port] >= t->per_port) {
		t->port_limit++;
		return -EDQUOT;
	}
	*free_slot = (struct mac_entry){ .vid = vid, .port = port,
					 .last_seen_ms = now_ms };
	memcpy(free_slot->mac, mac, 6);
	t->port_count[port]++;
	t->count++;
	return 0;
}

int mac_table_lookup(struct mac_table *t, uint16_t vid, const uint8_t mac[6],
		     uint64_t now_ms)
{
	struct mac_entry *b[2];
	buckets(t, vid, mac, b);
	struct mac_entry *e = find(t, b, vid, mac);
	if (!e)
		return -1;
	if (expired(t, e, now_ms)) {
		drop_entry(t, e);
		return -1;
	}
	return e->port;
}

unsigned mac_table_flush_port(struct mac_table *t, uint16_t port)
{
	if (port < 1 || port > t->ports || !t->port_count[port])
		return 0;
	unsigned removed = 0;
	size_t n = (size_t)t->nbuckets * MAC_TABLE_BUCKET;
	for (size_t i = 0; i < n && t->port_count[port]; i++) {
		if (t->slots[i].port == port) {
			drop_entry(t, &t->slots[i]);
			removed++;
		}
	}
	return removed;
}

unsigned mac_table_age_step(struct mac_table *t, uint64_t now_ms,
			    unsigned slots)
{
	if (!t->ageing_s)
		return 0;
	uint32_t n = t->nbuckets * MAC_TABLE_BUCKET;
	if (slots > n)
		slots = n;
	unsigned removed = 0;
	for (unsigned k = 0; k < slots && t->count; k++) {
		struct mac_entry *e = &t->slots[t->sweep];
		if (e->port && expired(t, e, now_ms)) {
			drop_entry(t, e);
			removed++;
		}
		t->sweep = (t->sweep + 1) & (n - 1);
	}
	return removed;
}

unsigned mac_table_expire(struct mac_table *t, uint64_t now_ms)
{
	if (!t->ageing_s)
		return 0;
	t->sweep = 0;
	return mac_table_age_step(t, now_ms, mac_table_slots(t));
}

unsigned mac_table_count(const struct mac_table *t) { return t->count; }
unsigned mac_table_max(const struct mac_table *t) { return t->max; }
unsigned mac_table_per_port(const struct mac_table *t) { return t->per_port; }
unsigned mac_table_ageing(const struct mac_table *t) { return t->ageing_s; }
uint64_t mac_table_full_count(const struct mac_table *t) { return t->full; }
uint64_t mac_table_probes(const struct mac_table *t) { return t->probes; }

uint64_t mac_table_port_limit_count(const struct mac_table *t)
{
	return t->port_limit;
}

unsigned mac_table_slots(const struct mac_table *t)
{
	return t->nbuckets * MAC_TABLE_BUCKET;
}

unsigned mac_table_port_count(const struct mac_table *t, uint16_t port)
{
	return port >= 1 && port <= t->ports ? t->port_count[port] : 0;
}

void mac_table_foreach(const struct mac_table *t,
		       void (*fn)(void *opaque, const struct mac_entry *e),
		       void *opaque)
{
	size_t n = (size_t)t->nbuckets * MAC_TABLE_BUCKET;
	for (size_t i = 0; i < n; i++)
		if (t->slots[i].port)
			fn(opaque, &t->slots[i]);
}
