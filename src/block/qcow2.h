/* qcow2 images: the public operations beyond the block_driver contract.
 *
 * The guest path only uses block_open() (qcow2 is probed by the magic
 * "QFI\xfb") and the block_*() wrappers.  `ringvm img` uses the functions
 * below on a struct block_dev opened with block_open_format(path, "qcow2",
 * ...).  Every function that takes a block_dev returns -EINVAL (with a
 * message) when the device is not a qcow2 image.
 *
 * Section names refer to QEMU's docs/interop/qcow2.txt ("the spec").
 * Versions 2 and 3 are read; images are created as version 3 unless asked
 * otherwise; refcount_order must be 4 (16-bit refcounts). */
#ifndef RINGVM_BLOCK_QCOW2_H
#define RINGVM_BLOCK_QCOW2_H

#include <stdbool.h>
#include <stdint.h>

#include "block/block.h"
#include "core/err.h"

#define QCOW2_MIN_CLUSTER_SIZE     4096u
#define QCOW2_MAX_CLUSTER_SIZE     (2u << 20)
#define QCOW2_DEFAULT_CLUSTER_SIZE 65536u
/* Default L2 cache: enough L2 tables to map this much virtual disk. */
#define QCOW2_DEFAULT_L2_CACHE_COVER (8ull << 30)

/* The qcow2 driver (src/block/qcow2.c), in block.c's driver table. */
extern const struct block_driver block_qcow2;

struct qcow2_create_opts {
	uint32_t cluster_size;    /* bytes, power of two in [4 KiB, 2 MiB];
				   * 0 = QCOW2_DEFAULT_CLUSTER_SIZE */
	const char *backing_file; /* NULL = none; stored as given (a relative
				   * name is relative to the image's dir) */
	const char *backing_fmt;  /* "raw", "qcow2" or NULL (probe at open) */
	bool lazy_refcounts;      /* set the compatible feature bit (v3) */
	int version;              /* 2 or 3; 0 = 3 */
	bool no_sync;             /* skip the final fsync: for an overlay
				   * whose loss in a host crash loses nothing
				   * (a restore's, recreated by the next) */
};

/* Create (or truncate) the file at path as an empty qcow2 image of size
 * bytes (rounded up to 512) with the options in o (NULL = defaults).  With
 * a backing file and size 0 the size is taken from the backing image.
 * Spec: "Header", "Host cluster management".
 * Errors: -EINVAL for bad options (message says which), -errno from the
 * file system (message names the file). */
int qcow2_create(const char *path, uint64_t size,
		 const struct qcow2_create_opts *o, struct err *errp);

/* What `img info` shows.  Strings point into the open device and stay valid
 * until the next call that changes the image or block_close(). */
struct qcow2_info {
	int version;              /* 2 or 3 */
	uint64_t size;            /* virtual size, bytes */
	uint32_t cluster_size;    /* bytes */
	int refcount_bits;        /* 16 */
	const char *backing_file; /* NULL if none */
	const char *backing_fmt;  /* NULL if not recorded */
	bool dirty;               /* incompatible bit 0 was set at open */
	bool corrupt;             /* incompatible bit 1 */
	bool lazy_refcounts;      /* compatible bit 0 */
	uint32_t nsnapshots;
	uint32_t l1_size;         /* entries */
	uint64_t file_length;     /* bytes of the image file now */
	uint64_t l2_cache;        /* bytes of L2 tables this open caches
				   * (block_open_opts.l2_cache, rounded) */
};

/* Fill *out.  0, or -EINVAL if bd is not qcow2. */
int qcow2_get_info(struct block_dev *bd, struct qcow2_info *out);

/* One internal snapshot (spec: "Snapshots"). */
struct qcow2_snapshot_info {
	char *id;                 /* unique id string ("1", "2", ...) */
	char *name;
	uint64_t date_sec;        /* seconds since the epoch */
	uint32_t date_nsec;
	uint64_t vm_clock_nsec;   /* guest clock at the snapshot; 0 */
	uint64_t vm_state_size;   /* bytes; ringvm writes 0 */
	uint64_t disk_size;       /* virtual size at the snapshot, bytes */
};

/* Copy the snapshot table into a new array *out of *n entries; release it
 * with qcow2_snapshot_list_free().  -EINVAL (not qcow2), -ENOMEM. */
int qcow2_snapshot_list(struct block_dev *bd,
			struct qcow2_snapshot_info **out, uint32_t *n,
			struct err *errp);
void qcow2_snapshot_list_free(struct qcow2_snapshot_info *list, uint32_t n);

/* Create an internal snapshot named name (must not exist as a name or an
 * id): copies the L1 table and increments the refcount of every cluster it
 * reaches, so later writes copy on write.  bd must be writable.
 * -EEXIST, -EROFS, -ENOSPC/-EIO. */
int qcow2_snapshot_create(struct block_dev *bd, const char *name,
			  struct err *errp);

/* Revert the active disk to the snapshot whose name or id is name_or_id.
 * The virtual size becomes the snapshot's.  -ENOENT if there is none. */
int qcow2_snapshot_apply(struct block_dev *bd, const char *name_or_id,
			 struct err *errp);

/* Delete the snapshot whose name or id is name_or_id and free the clusters
 * only it referenced.  -ENOENT if there is none. */
int qcow2_snapshot_delete(struct block_dev *bd, const char *name_or_id,
			  struct err *errp);

struct qcow2_check_result {
	uint64_t corruptions;       /* refcount too low, bad offsets, ... */
	uint64_t leaks;             /* clusters with refcount > references */
	uint64_t corruptions_fixed;
	uint64_t leaks_fixed;
	uint64_t allocated_clusters;/* clusters of virtual disk with data in
				     * this layer (active L1 only) */
	uint64_t total_clusters;    /* virtual size in clusters */
	uint64_t compressed_clusters;
	uint64_t image_end_offset;  /* bytes: end of the last used cluster */
};

/* Rebuild the refcounts from the header, L1/L2 tables, refcount
 * structures and snapshot tables, and compare them with the stored ones
 * (spec: "Host cluster management").  With repair (bd writable) leaks and
 * wrong refcounts are fixed and the dirty bit cleared.  Returns 0 when the
 * check ran (look at *res), or -errno if it could not read the image. */
int qcow2_check(struct block_dev *bd, bool repair,
		struct qcow2_check_result *res, struct err *errp);

/* Change the virtual size to new_size bytes (rounded up to 512).  Growing
 * may reallocate the L1 table.  Shrinking is refused with -ENOTSUP unless
 * nothing is allocated beyond new_size.  -EROFS on a read-only device. */
int qcow2_resize(struct block_dev *bd, uint64_t new_size, struct err *errp);

/* Record backing (NULL removes it) with format fmt (NULL = none recorded)
 * in the header and the backing format extension; only metadata changes
 * (what `img rebase -u` does).  The new backing file is opened right away,
 * so reads through bd see it.  -EROFS, -ENAMETOOLONG (> 1023 bytes),
 * -ENOENT/-EINVAL if the backing file cannot be opened. */
int qcow2_set_backing(struct block_dev *bd, const char *backing,
		      const char *fmt, struct err *errp);

/* Write one cluster of guest data compressed with zlib (spec: "Compressed
 * Clusters Descriptor"), for `img convert -c`.  off: byte offset, a
 * multiple of the cluster size; len: the cluster size, or what is left of
 * the disk for its last cluster.  Data that does not shrink by at least
 * 512 bytes is written uncompressed.  Several compressed clusters share
 * host clusters (packed at 512-byte granularity).  The cluster's old
 * contents are released.  -EINVAL (bad range, not qcow2), -EROFS, -errno. */
int qcow2_write_compressed(struct block_dev *bd, uint64_t off,
			   const void *buf, size_t len, struct err *errp);

#endif
