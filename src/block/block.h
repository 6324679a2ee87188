/* Block devices: disk images behind one small interface.
 *
 * A format driver (raw now, qcow2 later) implements struct block_driver;
 * block_open() picks the driver by probing the image and returns a
 * struct block_dev.  Device models (virtio-blk) only call the block_*()
 * wrappers below, which check ranges and the read-only flag before the
 * driver sees a request, so a driver can trust its arguments.
 *
 * Threads.  Calls are synchronous.  The data calls — block_pread,
 * block_preadv, block_pwrite, block_pwritev, block_flush, block_discard and
 * block_write_zeroes — may run concurrently from several threads on one
 * device: for a driver that is not thread_safe block.c serialises them
 * with bd->lock; thread-safe drivers (raw: positional preadv/pwritev;
 * qcow2: metadata under its own lock, data transfers in parallel) run them
 * in parallel.  Concurrent writes to overlapping ranges leave either's data
 * (as on a real disk).  Everything else — open, close, block_status and the
 * qcow2_*() metadata operations — needs the device to itself: no data call
 * in flight.  Opens of different images are independent: two threads may
 * open and use disks at the same time (all open state is per open, see
 * struct block_open_ctx). */
#ifndef RINGVM_BLOCK_BLOCK_H
#define RINGVM_BLOCK_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "core/err.h"

struct block_dev;
struct block_open_ctx;

/* Host caching of a disk (`--disk F,cache=MODE`), QEMU's meanings. */
enum block_cache {
	/* Host page cache; block_flush() is fdatasync.  The default. */
	BLOCK_CACHE_WRITEBACK,
	/* O_DIRECT: no host page cache; block_flush() is fdatasync (the
	 * device's own cache).  I/O not aligned to the file's direct-I/O
	 * block size is bounced through an aligned buffer. */
	BLOCK_CACHE_NONE,
	/* Host page cache and block_flush() skips the host sync: fast, and a
	 * host crash loses data the guest thought durable. */
	BLOCK_CACHE_UNSAFE,
	/* O_DSYNC: every write is durable when it completes. */
	BLOCK_CACHE_WRITETHROUGH,
};

/* "writeback", "none", "unsafe" or "writethrough" -> *out; -EINVAL for
 * anything else. */
int block_cache_parse(const char *s, enum block_cache *out);
const char *block_cache_name(enum block_cache c);

/* block_status() flags. */
#define BLOCK_STATUS_ALLOCATED 1u /* layer st->depth decides these bytes */
#define BLOCK_STATUS_DATA      2u /* read from a data area of that layer */
#define BLOCK_STATUS_ZERO      4u /* read as zeros */
#define BLOCK_STATUS_OFFSET    8u /* st->host_off is valid */
#define BLOCK_STATUS_COMPRESSED 16u /* compressed data (no host_off) */

struct block_status {
	uint64_t len;       /* bytes from off with this status */
	unsigned flags;     /* BLOCK_STATUS_* */
	int depth;          /* 0 = bd itself, 1 = its backing file, ...;
			     * when nothing in the chain has the bytes: the
			     * depth of the last layer, flags ZERO only */
	uint64_t host_off;  /* byte offset in that layer's file */
	const char *path;   /* that layer's file name (the device's) */
};

/* Bytes of an image the format probe looks at (the first sector). */
#define BLOCK_PROBE_BYTES 512
/* Host block devices one open may allow as backing files. */
#define BLOCK_MAX_BACKING_DEVICES 8
/* Images in one backing chain beyond the top one. */
#define BLOCK_MAX_CHAIN 64

struct block_driver {
	const char *name;  /* format name: "raw", "qcow2" */
	/* The data calls may run concurrently on one device (see the top of
	 * this file); false: block.c serialises them with bd->lock. */
	bool thread_safe;

	/* How well the first bytes of an image match this format: 0 = not
	 * this format, higher wins.  head: the first head_len bytes (fewer
	 * than 512 only for tiny files).  raw answers 1 for anything. */
	int (*probe)(const uint8_t *head, size_t head_len);

	/* Take over fd (opened, locked, and for read_only O_RDONLY) and set
	 * *out.  ctx: the open in progress — its cache mode (fd is O_DIRECT
	 * for BLOCK_CACHE_NONE: all I/O on it through block_fd_*() with
	 * ctx->dio_align), qcow2's L2 cache size, and the chain for
	 * block_open_backing().  On failure the driver leaves fd open (the
	 * caller closes it) and records a message. */
	int (*open)(int fd, const char *path, bool read_only,
		    struct block_open_ctx *ctx, struct block_dev **out,
		    struct err *errp);

	/* Requests already checked: off + len <= size, len > 0, writes
	 * only on a writable device.  Return 0 after transferring all len
	 * bytes, or a negative errno. */
	int (*pread)(struct block_dev *bd, void *buf, size_t len,
		     uint64_t off);
	int (*pwrite)(struct block_dev *bd, const void *buf, size_t len,
		      uint64_t off);
	/* Optional vectored forms (same contract; iovcnt <= IOV_MAX).  A
	 * guest request arrives as one iovec per guest page, so a driver
	 * that can pass it to the host in one call (raw: preadv) saves a
	 * syscall per page.  Without them block_preadv() loops over pread. */
	int (*preadv)(struct block_dev *bd, const struct iovec *iov,
		      int iovcnt, uint64_t off);
	int (*pwritev)(struct block_dev *bd, const struct iovec *iov,
		       int iovcnt, uint64_t off);
	/* Make completed writes durable. */
	int (*flush)(struct block_dev *bd);
	/* Deallocate [off, off+len) if the format can; contents become
	 * unspecified.  Optional. */
	int (*discard)(struct block_dev *bd, uint64_t off, uint64_t len);
	/* Make [off, off+len) read as zeros, deallocating if unmap allows.
	 * Optional: without it block_write_zeroes() writes zero buffers;
	 * -EOPNOTSUPP also falls back to that. */
	int (*write_zeroes)(struct block_dev *bd, uint64_t off, uint64_t len,
			    bool unmap);
	/* Describe this layer only at off (< size): set st->len (> 0, at
	 * most len) to the bytes from off with the same status and st->flags
	 * / st->host_off.  Optional: without it everything is DATA |
	 * ALLOCATED at host_off = off. */
	int (*status)(struct block_dev *bd, uint64_t off, uint64_t len,
		      struct block_status *st);
	/* Release everything, including bd itself (no flush: block_close
	 * has done it). */
	void (*close)(struct block_dev *bd);
};

/* Drivers embed this as the first member of their own state. */
struct block_dev {
	const struct block_driver *drv;
	uint64_t size;    /* virtual disk size, bytes */
	bool read_only;
	/* The image this one reads through to (opened read-only by the
	 * driver, which closes it), NULL if none. */
	struct block_dev *backing;
	/* The path the device was opened with; set and freed by block.c. */
	char *path;
	/* For drivers without preadv/pwritev: block_preadv/pwritev gather a
	 * vector of up to BLOCK_BOUNCE_BYTES into one of these nbounce
	 * buffers (BLOCK_BOUNCE_POOL for a thread_safe driver, else 1) and
	 * make one driver call; bounce_busy: a bit per buffer in use, taken
	 * and released atomically.  Set and freed by block.c. */
	uint8_t *bounce;
	unsigned nbounce;
	unsigned bounce_busy;
	/* Set by block.c when the format was probed as raw on a writable
	 * device: a write that would make the first BLOCK_PROBE_BYTES probe
	 * as another format fails with -EPERM (see block_pwrite). */
	bool probe_guard;
	/* Device numbers (st_rdev) of the host block devices the user
	 * allowed as backing files when this image was opened, for backing
	 * changes later (block_open_backing_of). */
	dev_t backing_devs[BLOCK_MAX_BACKING_DEVICES];
	unsigned nbacking_devs;
	/* Set by block.c from the open options; backing files inherit
	 * them.  dio_align: bytes offsets, lengths and buffers of I/O on the
	 * file must be multiples of under BLOCK_CACHE_NONE, else 0. */
	enum block_cache cache;
	unsigned dio_align;
	uint64_t l2_cache;    /* qcow2 L2 cache, bytes; 0 = default */
	/* Serialises the data calls of a driver that is not thread_safe,
	 * and the probe guard's read-check-write (set up by block.c). */
	pthread_mutex_t lock;
	/* Host syncs (fdatasync) the device really made, for tests and
	 * stats; cache=unsafe makes none.  Read with __atomic_load_n. */
	uint64_t syncs;
	/* Dirty-block tracking (block/dirty.h), NULL when off. */
	struct block_dirty *dirty;
	/* The image file's descriptor (owned by the driver), for lock
	 * changes (block_freeze, block_lock_release/block_lock_take). */
	int lock_fd;
};

#define BLOCK_BOUNCE_BYTES (1u << 20)
/* Bounce buffers of a thread-safe driver without preadv/pwritev (qcow2):
 * requests beyond this many at once go piece by piece. */
#define BLOCK_BOUNCE_POOL 4u

/* Open the image at path, probing its format.  read_only opens the file
 * O_RDONLY and takes a shared lock; otherwise an exclusive one, so two
 * VMs never write one image (flock, non-blocking).  Only regular files
 * and block devices are opened.  On success *out owns the file; release
 * with block_close().  Errors (message names the file): -ENOENT, -EACCES,
 * ... from open ("cannot open disk `x.img`: No such file or directory"),
 * -EISDIR, -EINVAL for a FIFO, socket or character device, -EBUSY when
 * another process holds a conflicting lock, -EINVAL when no driver
 * recognises the image, -EPERM for a refused backing device.  A writable
 * image probed as raw gets the sector 0 guard (see block_open_with). */
int block_open(const char *path, bool read_only, struct block_dev **out,
	       struct err *errp);

/* Like block_open() with the format named (e.g. "raw"), skipping the
 * probe; format NULL probes.  Naming the format keeps a raw image whose
 * guest wrote a qcow2 header from being reinterpreted on the next open.
 * Unknown format: -EINVAL. */
int block_open_format(const char *path, const char *format, bool read_only,
		      struct block_dev **out, struct err *errp);

/* How to open an image (block_open_with). */
struct block_open_opts {
	const char *format;  /* driver name ("raw", "qcow2"); NULL probes */
	bool read_only;
	bool no_backing;     /* leave the chain closed (block_open_nochain) */
	/* Host block devices the user named for this image (e.g. `--disk
	 * F,backing-device=/dev/sdb`): a backing file named inside an image
	 * (which may be hostile) must be a regular file or one of these.
	 * Paths, compared by device number; each must be a block device. */
	const char *const *backing_devices;
	unsigned nbacking_devices;  /* <= BLOCK_MAX_BACKING_DEVICES */
	/* qcow2 L2 cache for this image and its qcow2 backing files, bytes
	 * of L2 tables; 0 = tables covering QCOW2_DEFAULT_L2_CACHE_COVER of
	 * virtual disk, at least 1 MiB. */
	uint64_t l2_cache;
	enum block_cache cache;     /* for the image and its backing files */
};

/* The state of one open in progress, passed down the backing chain
 * (drv->open -> block_open_backing -> drv->open ...): nothing about an
 * open lives outside it, so opens on different threads are independent.
 * Drivers read the options; block.c maintains the rest. */
struct block_open_ctx {
	bool no_backing;      /* block_open_nochain(): open no backing file */
	uint64_t l2_cache;    /* block_open_opts.l2_cache */
	enum block_cache cache;
	unsigned dio_align;   /* of the file being opened now (see
			       * struct block_dev) */
	/* Host block devices the user allowed as backing files. */
	dev_t allow_devs[BLOCK_MAX_BACKING_DEVICES];
	unsigned nallow_devs;
	/* The files of the chain opened so far, for depth and cycle
	 * checks. */
	int chain_len;
	struct { dev_t dev; ino_t ino; } chain[BLOCK_MAX_CHAIN + 1];
};

/* Open the image at path as o says; block_open(), block_open_format()
 * and block_open_nochain() are shorthands for it.
 *
 * The image itself may be a regular file or a host block device (the
 * user named it); never a FIFO, socket or character device, which are
 * refused without being opened (so a FIFO cannot hang the open).  Backing
 * files: regular files, or a block device listed in o->backing_devices
 * (-EPERM otherwise, before the device is opened).
 *
 * When o->format is NULL, the probe finds raw and the image is writable,
 * the device refuses writes that would make its first sector probe as
 * another format (block_pwrite: -EPERM): a guest must not turn its raw
 * disk into a qcow2 naming a host file as backing file for the next
 * probing open.  Name the format to lift this; bd->probe_guard says
 * whether it applies (callers warn the user).
 *
 * Errors: those of block_open(); -EINVAL for a backing device that is not
 * a block device or too many of them. */
int block_open_with(const char *path, const struct block_open_opts *o,
		    struct block_dev **out, struct err *errp);

/* Live migration with shared storage: the source gives up its lock on
 * the image file (after block_flush, with no I/O in flight and none to
 * come) so that the target can open it, and takes it back if the
 * migration fails.  block_lock_take: 0, -EBUSY when another process has
 * it now (the target runs the disk), or -errno. */
void block_lock_release(struct block_dev *bd);
int block_lock_take(struct block_dev *bd, struct err *errp);

/* Flush, then release the device.  NULL is accepted. */
void block_close(struct block_dev *bd);

/* Read len bytes at byte offset off into buf.  -EINVAL if the range is
 * not inside [0, size), otherwise 0 or the driver's -errno (-EIO). */
int block_pread(struct block_dev *bd, void *buf, size_t len, uint64_t off);

/* Vectored read/write of the iovcnt (1..IOV_MAX) buffers in iov, in order,
 * starting at byte offset off; same errors as block_pread/block_pwrite for
 * the total length. */
int block_preadv(struct block_dev *bd, const struct iovec *iov, int iovcnt,
		 uint64_t off);
int block_pwritev(struct block_dev *bd, const struct iovec *iov, int iovcnt,
		  uint64_t off);

/* Write len bytes from buf at byte offset off.  -EROFS on a read-only
 * device, -EINVAL outside [0, size), -EPERM when bd->probe_guard is set
 * and the write would make the first BLOCK_PROBE_BYTES probe as a format
 * other than raw (block_discard and block_write_zeroes too, as zeros);
 * otherwise 0 or -errno (-ENOSPC). */
int block_pwrite(struct block_dev *bd, const void *buf, size_t len,
		 uint64_t off);

/* Make completed writes durable (fdatasync for raw; none under
 * BLOCK_CACHE_UNSAFE, though qcow2 still writes out deferred metadata).
 * 0 or -errno; a read-only device succeeds without doing anything. */
int block_flush(struct block_dev *bd);

/* Deallocate the byte range [off, off+len); a hint: succeeds doing nothing
 * when the format or filesystem cannot.  -EROFS, -EINVAL as for writes. */
int block_discard(struct block_dev *bd, uint64_t off, uint64_t len);

/* Zero the byte range [off, off+len); unmap allows deallocating it
 * (reads still return zeros).  -EROFS, -EINVAL as for writes. */
int block_write_zeroes(struct block_dev *bd, uint64_t off, uint64_t len,
		       bool unmap);

/* Describe the bytes at off (< size) through the whole backing chain:
 * st->len (> 0, <= len) bytes from off have the same st->flags and come
 * from layer st->depth (see struct block_status).  For `img map`, convert
 * and commit, which skip what is unallocated.  -EINVAL outside [0, size),
 * or the driver's -errno. */
int block_status(struct block_dev *bd, uint64_t off, uint64_t len,
		 struct block_status *st);

/* Driver helpers: move every byte between a host file and memory,
 * retrying short transfers and EINTR.  Reads past the end of the file fill
 * with zeros (a sparse or shrunk tail); a write that makes no progress is
 * -EIO.  block_fd_xferv consumes iov (advances it in place).  Return 0 or
 * -errno.
 *
 * align: 0 for a buffered fd; for an O_DIRECT fd its direct-I/O block
 * size (bytes, a power of two: block_open_ctx.dio_align).  A transfer
 * whose offset, lengths or buffer addresses are not multiples of it goes
 * through an aligned bounce buffer on the stack (64 KiB at a time); an
 * unaligned write then reads, modifies and writes the blocks at its ends,
 * so the caller serialises it against other writes to those blocks. */
int block_fd_pread(int fd, unsigned align, void *buf, size_t len,
		   uint64_t off);
int block_fd_pwrite(int fd, unsigned align, const void *buf, size_t len,
		    uint64_t off);
int block_fd_xferv(int fd, unsigned align, struct iovec *iov, int iovcnt,
		   uint64_t off, bool write);
/* Whether a transfer can go to an O_DIRECT fd as it is (see above). */
bool block_fd_aligned(unsigned align, const struct iovec *iov, int iovcnt,
		      uint64_t off);
/* Make what was written to fd durable (fdatasync), unless bd->cache is
 * BLOCK_CACHE_UNSAFE; counts bd->syncs.  For drivers' flush().  0 or
 * -errno. */
int block_fd_sync(struct block_dev *bd, int fd);

/* Like block_open_format() but leave the backing chain closed
 * (bd->backing == NULL, unallocated ranges read as zeros): for metadata
 * work on an image whose backing file is missing or moved, such as
 * `img rebase -u`.  Never hand such a device to a guest. */
int block_open_nochain(const char *path, const char *format, bool read_only,
		       struct block_dev **out, struct err *errp);

/* Open a backing file for a format driver: read-only, format fmt (NULL
 * probes), name relative to the directory of child_path unless absolute.
 * Refuses chains deeper than BLOCK_MAX_CHAIN and cycles (a file already in
 * the chain being opened, compared by device and inode) with -ELOOP, and
 * anything but a regular file or a block device the user allowed
 * (block_open_opts.backing_devices) with -EPERM / -EINVAL.
 * ctx: the open in progress (the driver's open() got it); NULL starts a
 * new chain with default options and no block devices allowed (e.g. to
 * read a backing file's size at image creation).  Under
 * block_open_nochain() it opens nothing: returns 0 with *out = NULL. */
int block_open_backing(struct block_open_ctx *ctx, const char *child_path,
		       const char *name, const char *fmt,
		       struct block_dev **out, struct err *errp);

/* block_open_backing() for an image that is already open (parent), e.g.
 * to change its backing file: block devices parent was allowed at its
 * open are allowed here, and parent's cache mode and L2 cache size
 * apply. */
int block_open_backing_of(struct block_dev *parent, const char *name,
			  const char *fmt, struct block_dev **out,
			  struct err *errp);

/* ---- external snapshots (vmm/snapshot.c) ------------------------------
 * Both need the device to itself (no data call in flight). */

/* Freeze bd, an image that becomes the backing file of a new overlay:
 * flush it, make it read-only from now on (writes get -EROFS) and turn
 * its exclusive lock into a shared one, so that other processes may open
 * the file read-only as a backing file while this one still reads it.
 * Returns 0 or the flush / flock -errno (bd is then unchanged). */
int block_freeze(struct block_dev *bd, struct err *errp);

/* Make the already open image `backing` the backing file of top, an image
 * opened with block_open_nochain() whose header names that file (the
 * caller's duty).  top takes ownership of backing (block_close(top)
 * closes it).  The sizes must match (-EINVAL); top must have no backing
 * open yet (-EBUSY). */
int block_attach_backing(struct block_dev *top, struct block_dev *backing,
			 struct err *errp);

/* Record that the file of bd is now called path (after a rename):
 * messages and bd->path use the new name.  0 or -ENOMEM. */
int block_set_path(struct block_dev *bd, const char *path);

/* The raw format driver (src/block/raw.c). */
extern const struct block_driver block_raw;
/* qcow2: src/block/qcow2.h */

#endif
