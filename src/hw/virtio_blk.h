/* virtio-blk device (virtio 1.2 §5.2) over a struct block_dev.
 *
 * One request queue; requests are processed synchronously when the driver
 * notifies it.  Sector numbers and counts in requests and config are in
 * 512-byte units whatever the image format (§5.2.4).
 *
 * Hostile requests never reach the disk: ranges beyond the capacity,
 * writes to a read-only disk and malformed chains complete with IOERR (or
 * 0 bytes when no status byte can be written) and are counted in stats. */
#ifndef RINGVM_HW_VIRTIO_BLK_H
#define RINGVM_HW_VIRTIO_BLK_H

#include <stdint.h>

#include "block/block.h"
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

/* Config space bytes: struct virtio_blk_config up to and including
 * write_zeroes_may_unmap and its padding (§5.2.4). */
#define VIRTIO_BLK_CONFIG_SIZE 60u

struct virtio_blk_stats {
	uint64_t requests;     /* chains completed, good or bad */
	uint64_t bad_chains;   /* virtq_pop refused the chain (0 bytes) */
	uint64_t bad_requests; /* well-formed chain, malformed request */
	uint64_t io_errors;    /* the block layer failed */
};

struct virtio_blk {
	struct virtio_mmio t;
	struct block_dev *bd;
	uint64_t capacity;     /* 512-byte sectors */
	uint8_t config[VIRTIO_BLK_CONFIG_SIZE];
	char id[VIRTIO_BLK_ID_BYTES];
	struct virtio_blk_stats stats;
	struct virtq_buf bufs[VIRTIO_BLK_QUEUE_MAX];  /* per-request scratch */
};

/* Create a virtio-blk device for bd and register its virtio-mmio window
 * (VIRTIO_MMIO_SIZE bytes) at base on bus.  bd is borrowed: it must stay
 * open until virtio_blk_exit() and the caller closes it afterwards.  The
 * disk is offered read-only (VIRTIO_BLK_F_RO) when bd->read_only.
 * serial: the GET_ID string (e.g. "ringvm-0"), truncated to 20 bytes; NULL
 * for none.  The capacity is bd->size / 512; a partial last sector is not
 * visible to the guest.  Returns 0 or -errno from virtio_mmio_init. */
int virtio_blk_init(struct virtio_blk *b, struct bus *bus, uint64_t base,
		    struct guest_mem *mem, struct irq_line irq,
		    struct block_dev *bd, const char *serial,
		    struct err *errp);

/* At VM exit: unregister the window and flush the disk.  Returns 0 or the
 * flush error (-EIO, ...).  bd is not closed.  Safe after a failed
 * virtio_blk_init() (it then only flushes). */
int virtio_blk_exit(struct virtio_blk *b);

#endif
