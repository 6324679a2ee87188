/* virtio-blk device (virtio 1.2 §5.2) over a struct block_dev.
 *
 * One request queue.  Sector numbers and counts in requests and config are
 * in 512-byte units whatever the image format (§5.2.4).
 *
 * Asynchronous: the queue notify (a vCPU thread, under the bus's device
 * lock) pops and checks each chain and hands the request to the device's
 * I/O threads, then returns; the vCPU runs on while the disk works.  Up to
 * VIRTIO_BLK_INFLIGHT requests are in flight; a disk with a thread-safe
 * driver (raw, qcow2) has VIRTIO_BLK_WORKERS threads doing its I/O in
 * parallel, any other disk one (its calls are serialised anyway).  A finished request
 * is completed by its I/O thread: it takes the device lock, writes the
 * status byte and the used ring and raises the interrupt as the driver
 * asked (EVENT_IDX / NO_INTERRUPT).  A FLUSH completes only after every
 * write (OUT, DISCARD, WRITE_ZEROES) submitted before it.  Requests that
 * need no I/O (GET_ID, refused ones) complete at once on the vCPU thread.
 *
 * Locks: the device lock (struct bus), then b->lock (request slots and
 * queues).  I/O runs with neither held.  A reset of the device waits for
 * the I/O in flight (holding the device lock: the I/O never needs it) and
 * discards its results: after reset nothing touches guest memory or the
 * used ring for requests made before it.
 *
 * Hostile requests never reach the disk: ranges beyond the capacity,
 * writes to a read-only disk and malformed chains complete with IOERR (or
 * 0 bytes when no status byte can be written) and are counted in stats. */
#ifndef RINGVM_HW_VIRTIO_BLK_H
#define RINGVM_HW_VIRTIO_BLK_H

#include <pthread.h>
#include <stdint.h>

#include "block/block.h"
#include "core/evloop.h"
#include "virtio_mmio.h"

/* Feature bits (§5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX     1
#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_GEOMETRY     4
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_BLK_SIZE     6
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_TOPOLOGY     10
#define VIRTIO_BLK_F_CONFIG_WCE   11
#define VIRTIO_BLK_F_MQ           12
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types (§5.2.6). */
#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

/* Status byte values (§5.2.6). */
#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_WZ_F_UNMAP 1u  /* write-zeroes segment flag */

#define VIRTIO_BLK_SECTOR     512u
#define VIRTIO_BLK_ID_BYTES   20u
#define VIRTIO_BLK_QUEUE_MAX  256u   /* QueueNumMax */
/* Data segments per request: the ring minus header and status (§5.2.4
 * seg_max); chains of up to seg_max + 2 buffers are accepted. */
#define VIRTIO_BLK_SEG_MAX    (VIRTIO_BLK_QUEUE_MAX - 2)
/* Discard / write-zeroes limits offered in config space.  Sectors per
 * segment stay small enough that the zero-buffer fallback of
 * block_write_zeroes does not stall the vCPU for long. */
#define VIRTIO_BLK_MAX_DISCARD_SECTORS (1u << 22)   /* 2 GiB */
#define VIRTIO_BLK_MAX_DISCARD_SEG     32u
#define VIRTIO_BLK_DISCARD_ALIGN       8u          /* sectors, 4 KiB */
#define VIRTIO_BLK_MAX_WZ_SECTORS      (1u << 17)  /* 64 MiB */
#define VIRTIO_BLK_MAX_WZ_SEG          32u

/* Requests in flight per device (queue depth), and I/O threads of a disk
 * whose driver is thread-safe. */
#define VIRTIO_BLK_INFLIGHT 64u
#define VIRTIO_BLK_WORKERS  16u

/* Config space bytes: struct virtio_blk_config up to and including
 * write_zeroes_may_unmap and its padding (§5.2.4). */
#define VIRTIO_BLK_CONFIG_SIZE 60u

/* Counters, updated atomically (read them with __atomic_load_n or after
 * virtio_blk_drain). */
struct virtio_blk_stats {
	uint64_t requests;     /* chains completed, good or bad */
	uint64_t bad_chains;   /* virtq_pop refused the chain (0 bytes) */
	uint64_t bad_requests; /* well-formed chain, malformed request */
	uint64_t io_errors;    /* the block layer failed */
	uint64_t max_inflight; /* most requests in flight at once */
};

struct virtio_blk_req;

struct virtio_blk {
	struct virtio_mmio t;
	struct block_dev *bd;
	uint64_t capacity;     /* 512-byte sectors */
	uint8_t config[VIRTIO_BLK_CONFIG_SIZE];
	char id[VIRTIO_BLK_ID_BYTES];
	struct virtio_blk_stats stats;

	/* Request state, under lock (see the top of this file). */
	pthread_mutex_t lock;
	pthread_cond_t work;   /* a request queued, or stop */
	pthread_cond_t idle;   /* a request finished its I/O or was freed */
	struct virtio_blk_req *reqs;  /* [VIRTIO_BLK_INFLIGHT] */
	int free_list;         /* free slots, linked by index; -1 = none */
	int queue_head, queue_tail;   /* waiting for an I/O thread */
	int done_head, done_tail;  /* I/O finished, not in the used ring */
	unsigned nbusy;        /* slots not free */
	unsigned nio;          /* slots queued or doing I/O */
	unsigned publishing;   /* I/O threads between used ring and IRQ */
	uint64_t seq;          /* submission counter (FLUSH barrier) */
	uint32_t gen;          /* bumped by reset: older results dropped */
	bool starved;          /* popping stopped for want of a free slot */
	bool stop;
	bool lock_ok;          /* lock, work, idle initialised */
	unsigned nworkers;
	unsigned nready;       /* workers in their loop (start waits) */
	pthread_t workers[VIRTIO_BLK_WORKERS];
	int wake_fd;           /* eventfd written after a completion, -1:
				* none (virtio_blk_watch) */
	struct evloop *loop;   /* watching wake_fd (virtio_blk_watch) */
};

/* Create a virtio-blk device for bd and register its virtio-mmio window
 * (VIRTIO_MMIO_SIZE bytes) at base on bus, and start its I/O threads
 * (with every signal blocked; create the device before a seccomp filter
 * is loaded with TSYNC).  bd is borrowed: it must stay open until
 * virtio_blk_exit() and the caller closes it afterwards.  The disk is
 * offered read-only (VIRTIO_BLK_F_RO) when bd->read_only.
 * serial: the GET_ID string (e.g. "ringvm-0"), truncated to 20 bytes; NULL
 * for none.  The capacity is bd->size / 512; a partial last sector is not
 * visible to the guest.  Returns 0, -errno from virtio_mmio_init, -ENOMEM,
 * or the pthread_create error (-EAGAIN).  On failure
 * call virtio_blk_exit(). */
int virtio_blk_init(struct virtio_blk *b, struct bus *bus, uint64_t base,
		    struct guest_mem *mem, struct irq_line irq,
		    struct block_dev *bd, const char *serial,
		    struct err *errp);

/* Have loop wake up (its evloop_poll return) whenever requests complete,
 * through an eventfd: for a VMM whose harts sleep in that loop while they
 * wait for the disk (one host thread for harts and loop).  Not needed when
 * harts sleep on their own threads (the interrupt wakes them).  The loop
 * must outlive the device; virtio_blk_exit() stops watching.  Call once,
 * before the guest runs.  Returns 0, the eventfd error or evloop_add's
 * -errno. */
int virtio_blk_watch(struct virtio_blk *b, struct evloop *loop,
		     struct err *errp);

/* Wait until no request is in flight: every request popped so far has
 * its status and used ring entry written (or was discarded by a reset).
 * Requests the guest submits meanwhile are waited for too, so stop the
 * vCPUs first for a quiescent device (pause, snapshot).  Call without the
 * device lock (completions need it).  Tests call it after each notify. */
void virtio_blk_drain(struct virtio_blk *b);

/* Put bd in place of the device's disk (an external snapshot puts a new
 * overlay on top of it): same size and writability as the old one, which
 * the caller keeps.  Only while the device is quiescent (vCPUs stopped,
 * virtio_blk_drain done).  Returns 0, or -EINVAL (size or read-only flag
 * differ: the guest would see another disk). */
int virtio_blk_replace_disk(struct virtio_blk *b, struct block_dev *bd);

/* At VM exit (vCPUs stopped; without the device lock): drain, stop the
 * I/O threads, unregister the window and flush the disk.  Returns 0 or
 * the flush error (-EIO, ...).  bd is not closed.  Safe after a failed
 * virtio_blk_init(). */
int virtio_blk_exit(struct virtio_blk *b);

/* ---- state (core/state.h; virtio_blk_state.c) ----------------------
 *
 * The transport saves itself (virtio_mmio_save); the device's own section
 * (version 1) holds its config space (capacity, limits, read-only as
 * offered), which a load compares with the device it loads into.  There
 * is no request state: a device is saved only with no request in flight
 * (vm_pause drains it). */
struct state_writer;
struct state_reader;

/* Append section `name` (e.g. "blk0").  Returns 0, or -EBUSY when a
 * request is in flight (errp says so). */
int virtio_blk_save(struct virtio_blk *b, const char *name,
		    struct state_writer *w, struct err *errp);

/* Read section `name` and check that it describes b's disk as b offers
 * it.  Nothing to apply.  Returns 0, -ENOENT or -EINVAL. */
int virtio_blk_parse(struct state_reader *r, const char *name,
		     const struct virtio_blk *b, struct err *errp);

#endif
