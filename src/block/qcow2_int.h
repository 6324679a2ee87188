/* qcow2 driver internals shared by src/block/qcow2*.c (not a public API).
 *
 * Metadata is written through (but see "Deferred L2 entries" below):
 * every change to an L1/L2 entry, refcount or header field is a pwrite()
 * issued in the order the spec's consistency rules need (data, then
 * refcount, then the L2 entry; L2 table before the L1 entry; decrements
 * after the last reference is gone), so a killed process leaves at worst
 * leaked clusters.  FLUSH makes it durable.
 *
 * Threads (the driver is thread_safe: block.c calls its data entries
 * concurrently).  q->meta is held for everything that reads or changes
 * driver state: L1/L2 lookups and the L2 cache, refcounts and allocation,
 * COW, compressed clusters, backing reads, discard, write-zeroes, flush.
 * Only two things run without it, each on host offsets looked up under it:
 *  - the pread of a run of normal (allocated, uncompressed) clusters;
 *  - the pwrite into a run of clusters that were COPIED (refcount 1, no
 *    COW) at lookup, inside the file.  The writer takes q->inflight
 *    shared before dropping q->meta and releases it when the pwrite is done;
 *  - the pwritev of an allocating write (guest data and COW) into the run
 *    it was just given, which no L2 entry names yet: the run is announced
 *    in q->allocs first, so any other write, discard or write-zeroes
 *    reaching those virtual clusters waits on q->alloc_cv, and the L2
 *    entries are set under q->meta once the data is down.  q->file_size
 *    covers the run before the lock is dropped; the file itself grows by
 *    that write (the file's end is not tracked otherwise: nothing ever
 *    truncates it while it is open).
 * The rule: a refcount decrement (q_rc_update with addend < 0, q_rc_set 0)
 * made while q->meta is held first calls q_quiesce(), which takes
 * q->inflight exclusive until q->meta is released — so a cluster an
 * unlocked write was aimed at cannot be freed (punched) and handed to
 * other guest data while that write is still going.  An unlocked read of a
 * cluster a concurrent request frees only races the guest with itself.
 * Locks nest meta -> inflight, and inflight is only taken with meta held;
 * a request that has quiesced writes in place under meta (no rdlock on a
 * lock it holds exclusive).
 * The metadata operations of qcow2.h run with no data call in flight
 * (block.h) and take neither lock.
 *
 * Deferred L2 entries.  The one exception to writing metadata through:
 * a new data run that replaces entries referencing no cluster (unmapped,
 * or zero without an offset) sets its entries in the cached table only
 * (slot range dlo..dhi), and the run's refcount increments in the
 * cached refcount block (rb_slot.dirty), as QEMU's qcow2 caches do: two
 * small metadata writes per request otherwise cost as much as the
 * guest's own write under cache=none.  Every L2 write first writes the
 * dirty refcount blocks (l2_write), so the file never maps a cluster its
 * refcounts call free; a killed process loses the new mappings — the
 * guest's unflushed writes to fresh space read as before, which a disk
 * with a volatile write cache (virtio-blk's FLUSH feature, offered in
 * every cache mode) may do — and at worst leaks clusters.  The entries go
 * out at FLUSH (refcounts, fdatasync, tables, fdatasync: ordered on the
 * disk too), when the slot is reused, at close, and before any metadata
 * operation (q_get) — never later than the table is read from the
 * file.  Entries whose change frees a cluster are written through before
 * its refcount drops, as everything else. */
#ifndef RINGVM_BLOCK_QCOW2_INT_H
#define RINGVM_BLOCK_QCOW2_INT_H

#include <endian.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "block/qcow2.h"

#define QCOW2_MAGIC 0x514649fbu

/* Header field offsets (spec: "Header"). */
#define H_VERSION        4
#define H_BACKING_OFF    8
#define H_BACKING_SIZE  16
#define H_CLUSTER_BITS  20
#define H_SIZE          24
#define H_CRYPT         32
#define H_L1_SIZE       36
#define H_L1_OFF        40
#define H_RT_OFF        48
#define H_RT_CLUSTERS   56
#define H_NB_SNAP       60
#define H_SNAP_OFF      64
#define H_INCOMPAT      72
#define H_COMPAT        80
#define H_AUTOCLEAR     88
#define H_REFCOUNT_ORD  96
#define H_HEADER_LEN   100
#define H_V2_LEN        72
#define H_V3_LEN       104

#define INCOMPAT_DIRTY   (1ull << 0)
#define INCOMPAT_CORRUPT (1ull << 1)
#define INCOMPAT_KNOWN   (INCOMPAT_DIRTY | INCOMPAT_CORRUPT)
#define COMPAT_LAZY      (1ull << 0)

#define EXT_END          0x00000000u
#define EXT_BACKING_FMT  0xe2792acau
#define EXT_FEATURES     0x6803f857u

#define OFLAG_COPIED     (1ull << 63)
#define OFLAG_COMPRESSED (1ull << 62)
#define OFLAG_ZERO       (1ull << 0)
#define OFFSET_MASK      0x00fffffffffffe00ull  /* bits 9-55 */
#define RT_OFFSET_MASK   0xfffffffffffffe00ull

/* Limits that keep hostile headers from making us allocate the world. */
#define MAX_L1_BYTES     (32u << 20)
#define MAX_RT_BYTES     (8u << 20)
#define MAX_SNAPSHOTS    65536u
#define MAX_BACKING_NAME 1023u
#define RB_SLOTS         16

struct l2_slot {
	int64_t l1_idx;    /* -1: empty */
	uint64_t off;      /* host offset of the table */
	uint64_t *tab;     /* big-endian entries, cluster_size bytes */
	uint32_t dlo, dhi; /* entries [dlo, dhi) not in the file yet (see
			    * "Deferred L2 entries"); dhi 0: none */
};

struct rb_slot {
	int64_t rt_idx;    /* -1: empty */
	uint64_t off;
	uint16_t *blk;     /* big-endian refcounts */
	bool dirty;        /* batch mode only */
};

struct qsnap {
	uint64_t l1_off;
	uint32_t l1_size;
	char *id, *name;
	uint32_t date_sec, date_nsec;
	uint64_t vm_clock_nsec;
	uint64_t vm_state_size;
	uint64_t disk_size;
	uint32_t extra_size;
	uint8_t *extra;    /* as read, for the fields we do not interpret */
};

/* An allocating write whose data transfer runs without q->meta: the
 * virtual clusters [vc, vc + cnt) it is about to map to host clusters
 * [hc, hc + cnt) (see "Threads"). */
struct q_alloc_req {
	uint64_t vc, cnt, hc;
	struct q_alloc_req *next;
};

struct qcow2 {
	struct block_dev bd;  /* first */
	int fd;
	unsigned align;       /* O_DIRECT block size of fd, 0 = buffered */
	char *path;           /* for messages and relative backing names */
	int version;
	unsigned cluster_bits;
	uint32_t cluster_size;
	unsigned l2_bits;     /* log2(entries per L2 table) */
	uint32_t rb_entries;  /* refcounts per block */
	unsigned rb_bits;
	uint64_t file_size;   /* bytes, tracked as we grow the file */
	uint64_t end_cluster; /* every cluster >= this is free */
	uint64_t incompat, compat, autoclear;
	uint32_t header_len;

	uint64_t *l1;         /* host order */
	uint32_t l1_size;
	uint64_t l1_off;

	uint64_t *rt;         /* host order */
	uint64_t rt_entries;
	uint64_t rt_off;
	uint32_t rt_clusters;
	uint64_t free_hint;   /* no free cluster below this index */
	uint64_t *rbs;        /* clusters holding refcount blocks, sorted */
	uint64_t nrbs;

	struct l2_slot *l2c;
	uint32_t nl2;
	struct rb_slot rbc[RB_SLOTS];
	bool rc_batch;        /* refcount writes deferred to q_rc_sync() */
	bool rc_defer;        /* the data run being placed will have its L2
			       * entries deferred: its refcounts may wait
			       * too (not those of blocks made for it) */

	char *backing_file, *backing_fmt;
	uint8_t *ext_other;   /* unknown header extensions, verbatim */
	size_t ext_other_len;

	struct qsnap *snaps;
	uint32_t nsnaps;
	uint64_t snap_off;

	unsigned csize_shift; /* compressed entries: offset bits */
	uint64_t csize_mask;
	uint8_t *cow_head, *cow_tail, *zin, *zout;
	uint64_t zout_entry;  /* L2 entry zout holds, 0 = none */
	bool was_dirty, corrupt;
	uint64_t cbuf_off;    /* free space after the last compressed
			       * cluster written, 0 = none */

	/* See "Threads" at the top.  locked: q->meta is held (by the
	 * thread reading it); quiesced: that holder also holds inflight
	 * exclusive. */
	pthread_mutex_t meta;
	pthread_rwlock_t inflight;
	bool locked, quiesced;
	struct q_alloc_req *allocs;  /* under meta */
	pthread_cond_t alloc_cv;     /* an entry left allocs */
};

static inline struct qcow2 *to_q(struct block_dev *bd)
{
	return (struct qcow2 *)bd;
}

/* What an L2 entry maps its cluster to (spec "Cluster mapping"). */
enum { E_UNALLOC, E_ZERO, E_NORMAL, E_COMPRESSED };

static inline int classify(const struct qcow2 *q, uint64_t e)
{
	if (e & OFLAG_COMPRESSED)
		return E_COMPRESSED;
	if (q->version >= 3 && (e & OFLAG_ZERO))
		return E_ZERO;
	return (e & OFFSET_MASK) ? E_NORMAL : E_UNALLOC;
}

/* Entry i of a cached table; a table not allocated (s NULL) reads 0. */
static inline uint64_t tab_get(const struct l2_slot *s, uint32_t i)
{
	return s ? be64toh(s->tab[i]) : 0;
}

static inline uint64_t ld64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return be64toh(v);
}
static inline uint32_t ld32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return be32toh(v);
}
static inline uint16_t ld16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return be16toh(v);
}
static inline void st64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}
static inline void st32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}
static inline void st16(uint8_t *p, uint16_t v)
{
	v = htobe16(v);
	memcpy(p, &v, 2);
}

/* Whether [a, a + alen) and [b, b + blen) share a unit (empty: never). */
static inline bool q_overlap(uint64_t a, uint64_t alen, uint64_t b,
			     uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

static inline uint64_t q_clusters(const struct qcow2 *q, uint64_t bytes)
{
	return (bytes + q->cluster_size - 1) >> q->cluster_bits;
}

/* qcow2.c */
/* Whether host bytes [off, off + len) touch the header cluster, the L1
 * table, the refcount table or the snapshot table: a hostile or corrupt
 * image whose L2 entries or refcounts point there must not get its
 * metadata overwritten by guest data. */
bool q_overlaps_meta(const struct qcow2 *q, uint64_t off, uint64_t len);
int q_pread_full(struct qcow2 *q, void *buf, size_t len, uint64_t off);
int q_pwrite_full(struct qcow2 *q, const void *buf, size_t len,
		  uint64_t off);
/* The same for a vector of k (<= IOV_MAX) pieces, which it consumes. */
int q_pwritev_full(struct qcow2 *q, struct iovec *v, int k, uint64_t off);
int q_write_l1_entry(struct qcow2 *q, uint32_t idx);
/* A cluster-sized buffer aligned for O_DIRECT (free()), NULL if no memory. */
void *q_cluster_buf(const struct qcow2 *q);
/* Write bytes [pos, pos + len) of the metadata cluster at host offset off
 * whose cached copy is buf (identical to the file outside those bytes).
 * Under O_DIRECT, with buf from q_cluster_buf(), the write is widened to
 * whole blocks of the cached copy, so no block has to be read first.
 * 0 or -errno. */
int q_write_meta(struct qcow2 *q, const void *buf, uint64_t off, size_t pos,
		 size_t len);
int q_write_header(struct qcow2 *q, struct err *errp);
/* The qcow2 image behind bd for a metadata operation of qcow2.h, which
 * may read tables from the file: deferred refcounts and L2 entries are
 * written first.
 * NULL with errp set when bd is not qcow2 or that write fails. */
struct qcow2 *q_get(struct block_dev *bd, struct err *errp);
/* Take / release q->meta for a data call (releasing also ends q_quiesce). */
void q_lock(struct qcow2 *q);
void q_unlock(struct qcow2 *q);
/* Before a refcount may drop: wait for the unlocked data writes in flight
 * and keep new ones out until q_unlock().  No-op outside a data call. */
void q_quiesce(struct qcow2 *q);

/* qcow2_refcount.c: refcounts and cluster allocation */
int q_rc_get(struct qcow2 *q, uint64_t cluster, uint16_t *rc);
/* Add addend to the refcount of n clusters from host offset off; clusters
 * reaching 0 are punched out of the file. */
int q_rc_update(struct qcow2 *q, uint64_t off, uint64_t n, int addend);
int q_rc_set(struct qcow2 *q, uint64_t cluster, uint16_t rc);
/* n contiguous free clusters, refcount set to 1: *off in bytes. */
int q_alloc(struct qcow2 *q, uint64_t n, uint64_t *off);
/* The same at clusters [c, c + n) exactly: -ENOSPC when they are not all
 * free, need a refcount block that does not exist yet, or start more than
 * q_near_window() clusters past the last one in use (the caller then
 * uses q_alloc).  For q_place. */
int q_alloc_at(struct qcow2 *q, uint64_t n, uint64_t c, uint64_t *off);
/* Whether clusters [c, c + n) are all free (n may be 0: true); -errno
 * when a refcount cannot be read. */
int q_clusters_free(struct qcow2 *q, uint64_t c, uint64_t n, bool *free);

/* qcow2_place.c: where new data clusters go */
/* How far placement looks for a neighbour, in L2 entries: 2 MiB of guest
 * space, at least 32 entries, at most one table. */
uint32_t q_near_window(const struct qcow2 *q);
/* A new run of cnt host clusters, refcount 1, for virtual clusters
 * [vc, vc + cnt) of the table cached in s (NULL: not allocated yet), in
 * bytes in *host.  Placed where it continues the guest's neighbouring
 * data on the host when that space is free, else by q_alloc.  q->meta
 * held.  0 or -errno (-ENOSPC, -EFBIG, -EIO from refcount reads). */
int q_place(struct qcow2 *q, const struct l2_slot *s, uint64_t vc,
	    uint32_t cnt, uint64_t *host);
int q_rc_sync(struct qcow2 *q);
/* Rebuild q->rbs from the refcount table; *shared (may be NULL) tells
 * whether two entries name one block.  0 or -ENOMEM. */
int q_rbs_rebuild(struct qcow2 *q, bool *shared);
/* Whether cluster c holds a refcount block.  A hostile image can give a
 * refcount block refcount 0 (or free it through an L2 entry pointing at
 * it): the allocator must still never hand it out, nor punch it. */
bool q_is_rb(const struct qcow2 *q, uint64_t c);
void q_rc_drop_cache(struct qcow2 *q);
/* Free the host clusters an L2 entry refers to (normal or compressed). */
int q_free_entry(struct qcow2 *q, uint64_t entry);

/* qcow2_cluster.c: L2 cache, mapping, guest I/O */
int q_l2_load(struct qcow2 *q, uint32_t l1_idx, struct l2_slot **out);
/* The L2 table for l1_idx, allocated or copied so this image alone owns
 * it (ready for entries to change). */
int q_l2_writable(struct qcow2 *q, uint32_t l1_idx, struct l2_slot **out);
/* Write every deferred L2 entry to the file (refcounts first).  0 or
 * -errno; the entries a failed write left stay deferred. */
int q_l2_flush(struct qcow2 *q);
/* Forget the cached tables, deferred entries written first (their error,
 * if any, is returned; the cache is emptied either way). */
int q_l2_drop_cache(struct qcow2 *q);
/* The block_driver data entries: each takes q->meta itself (see
 * "Threads"); q_status does not (used by metadata operations too). */
int q_pread(struct block_dev *bd, void *buf, size_t len, uint64_t off);
/* Reads straight into the vector (iovcnt <= IOV_MAX, else -EINVAL). */
int q_preadv(struct block_dev *bd, const struct iovec *iov, int iovcnt,
	     uint64_t off);
int q_pwrite(struct block_dev *bd, const void *buf, size_t len, uint64_t off);
/* Writes straight from the vector (iovcnt <= IOV_MAX; one of more than
 * QIOV_MAX - 2 pieces is gathered first). */
int q_pwritev(struct block_dev *bd, const struct iovec *iov, int iovcnt,
	      uint64_t off);
int q_discard(struct block_dev *bd, uint64_t off, uint64_t len);
int q_write_zeroes(struct block_dev *bd, uint64_t off, uint64_t len,
		   bool unmap);
int q_status(struct block_dev *bd, uint64_t off, uint64_t len,
	     struct block_status *st);
/* Host clusters (offset, count) an L2 entry occupies; 0 if none. */
uint64_t q_entry_clusters(struct qcow2 *q, uint64_t entry, uint64_t *off);
/* Walk an L1 table adding addend to the refcount of every L2 table and
 * cluster it reaches; addend 0 only fixes QCOW_OFLAG_COPIED. */
int q_update_l1_refcounts(struct qcow2 *q, const uint64_t *l1, uint32_t n,
			  int addend);

/* qcow2_snapshot.c */
int q_snap_read(struct qcow2 *q, uint8_t *head, struct err *errp);
void q_snap_free(struct qcow2 *q);

#endif
