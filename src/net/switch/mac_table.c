/* Filtering database: chained hash table over a preallocated entry pool. */
#include "mac_table.h"

#include <string.h>

#define NIL UINT32_MAX

struct node {
	struct mac_entry e;
	uint32_t next;      /* next in bucket chain, or in the free list */
	bool used;
};

struct mac_table {
	unsigned max, count, ageing_s;
	uint32_t nbuckets;  /* power of two */
	uint32_t free_head;
	uint64_t full;
	uint32_t *buckets;
	struct node *nodes;
};

static uint32_t hash(uint16_t vid, const uint8_t mac[6])
{
	/* The low bits of a MAC are the most random (vendor OUI is in the
	 * high ones); mix everything with a multiplicative hash anyway. */
	uint64_t k = (uint64_t)vid << 48 | (uint64_t)mac[0] << 40 |
		     (uint64_t)mac[1] << 32 | (uint64_t)mac[2] << 24 |
		     (uint64_t)mac[3] << 16 | (uint64_t)mac[4] << 8 | mac[5];
	k *= 0x9e3779b97f4a7c15ULL;
	return (uint32_t)(k >> 32);
}

int mac_table_new(unsigned max, unsigned ageing_s, struct mac_table **out,
		  struct err *errp)
{
	if (max < 1 || max > (1u << 24))
		return err_set(errp, EINVAL, "MAC table size %u out of range "
			       "(1..16777216)", max);
	struct mac_table *t = calloc(1, sizeof(*t));
	if (!t)
		return err_set(errp, ENOMEM, "out of memory");
	t->max = max;
	t->ageing_s = ageing_s;
	t->nbuckets = 1;
	while (t->nbuckets < 2 * max)
		t->nbuckets <<= 1;
	t->buckets = malloc(t->nbuckets * sizeof(*t->buckets));
	t->nodes = calloc(max, sizeof(*t->nodes));
	if (!t->buckets || !t->nodes) {
		mac_table_free(t);
		return err_set(errp, ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < t->nbuckets; i++)
		t->buckets[i] = NIL;
	for (uint32_t i = 0; i < max; i++)
		t->nodes[i].next = i + 1 < max ? i + 1 : NIL;
	t->free_head = 0;
	*out = t;
	return 0;
}

void mac_table_free(struct mac_table *t)
{
	if (!t)
		return;
	free(t->buckets);
	free(t->nodes);
	free(t);
}

static bool expired(const struct mac_table *t, const struct node *n,
		    uint64_t now_ms)
{
	return t->ageing_s &&
	       now_ms - n->e.last_seen_ms >= (uint64_t)t->ageing_s * 1000;
}

/* Slot (bucket head or a node's next field) pointing at the entry. */
static uint32_t *find_slot(struct mac_table *t, uint16_t vid,
			   const uint8_t mac[6])
{
	uint32_t *slot = &t->buckets[hash(vid, mac) & (t->nbuckets - 1)];
	while (*slot != NIL) {
		struct node *n = &t->nodes[*slot];
		if (n->e.vid == vid && !memcmp(n->e.mac, mac, 6))
			return slot;
		slot = &n->next;
	}
	return slot;
}

static void unlink_slot(struct mac_table *t, uint32_t *slot)
{
	uint32_t i = *slot;
	struct node *n = &t->nodes[i];
	*slot = n->next;
	n->used = false;
	n->next = t->free_head;
	t->free_head = i;
	t->count--;
}

int mac_table_learn(struct mac_table *t, uint16_t vid, const uint8_t mac[6],
		    uint16_t port, uint64_t now_ms)
{
	uint32_t *slot = find_slot(t, vid, mac);
	if (*slot != NIL) {
		struct node *n = &t->nodes[*slot];
		n->e.port = port;
		n->e.last_seen_ms = now_ms;
		return 0;
	}
	if (t->free_head == NIL) {
		/* Full: make room only from entries that have aged out. */
		if (!t->ageing_s || !mac_table_expire(t, now_ms)) {
			t->full++;
			return -ENOSPC;
		}
		slot = find_slot(t, vid, mac);
	}
	uint32_t i = t->free_head;
	struct node *n = &t->nodes[i];
	t->free_head = n->next;
	n->e = (struct mac_entry){ .vid = vid, .port = port,
				   .last_seen_ms = now_ms };
	memcpy(n->e.mac, mac, 6);
	n->used = true;
	n->next = NIL;
	*slot = i;
	t->count++;
	return 0;
}

int mac_table_lookup(struct mac_table *t, uint16_t vid, const uint8_t mac[6],
		     uint64_t now_ms)
{
	uint32_t *slot = find_slot(t, vid, mac);
	if (*slot == NIL)
		return -1;
	struct node *n = &t->nodes[*slot];
	if (expired(t, n, now_ms)) {
		unlink_slot(t, slot);
		return -1;
	}
	return n->e.port;
}

/* Remove every node matching pred by walking the chains (so that the
 * predecessor's next pointer is at hand). */
static unsigned remove_if(struct mac_table *t,
			  bool (*pred)(const struct mac_table *t,
				       const struct node *n, uint64_t arg),
			  uint64_t arg)
{
	unsigned removed = 0;
	for (uint32_t b = 0; b < t->nbuckets && t->count; b++) {
		uint32_t *slot = &t->buckets[b];
		while (*slot != NIL) {
			if (pred(t, &t->nodes[*slot], arg)) {
				unlink_slot(t, slot);
				removed++;
			} else {
				slot = &t->nodes[*slot].next;
			}
		}
	}
	return removed;
}

static bool on_port(const struct mac_table *t, const struct node *n,
		    uint64_t port)
{
	return n->e.port == port;
}

static bool is_old(const struct mac_table *t, const struct node *n,
		   uint64_t now_ms)
{
	return expired(t, n, now_ms);
}

unsigned mac_table_flush_port(struct mac_table *t, uint16_t port)
{
	return remove_if(t, on_port, port);
}

unsigned mac_table_expire(struct mac_table *t, uint64_t now_ms)
{
	return t->ageing_s ? remove_if(t, is_old, now_ms) : 0;
}

unsigned mac_table_count(const struct mac_table *t) { return t->count; }
unsigned mac_table_max(const struct mac_table *t) { return t->max; }
unsigned mac_table_ageing(const struct mac_table *t) { return t->ageing_s; }
uint64_t mac_table_full_count(const struct mac_table *t) { return t->full; }

void mac_table_foreach(const struct mac_table *t,
		       void (*fn)(void *opaque, const struct mac_entry *e),
		       void *opaque)
{
	for (unsigned i = 0; i < t->max; i++)
		if (t->nodes[i].used)
			fn(opaque, &t->nodes[i].e);
}
