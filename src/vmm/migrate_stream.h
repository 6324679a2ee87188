/* The live-migration wire format (docs/LIFECYCLE.md "Live migration"):
 * the source's buffered writer and the target's parser.
 *
 * All integers little-endian.  The stream is a header and records:
 *
 *   header   "RINGMIG\0" (8 bytes), u32 version (MIG_VERSION), u32 flags
 *            (MIG_F_DISKS: disk contents follow)
 *   record   u8 type, then by type:
 *     MACHINE    u32 len, len bytes: a state stream (core/state.h) with
 *                the "machine" section (vm_config_from_state); first
 *     BOOT       u32 n (0..MIG_BOOT_MAX_IMAGES), n x (u64 gpa, u64 len,
 *                u32 crc), then each image's len bytes in order: the boot
 *                images a guest reboot loads (CRC-32, zlib), when
 *                MACHINE's "boot" section is version 2 (layout only);
 *                after MACHINE, at most once, lens 1.., in all at most
 *                MIG_BOOT_MAX bytes.  Sent before the pause, so the
 *                device state in it carries no image bytes
 *     LAYOUT     u32 nr, nr x (u64 gpa, u64 size): the RAM regions, sizes
 *                in whole pages; after MACHINE, once
 *     DISKS      u32 n, n x u64 size (bytes): with MIG_F_DISKS, once,
 *                before any disk data
 *     PAGES      u8 region, u16 count (1..MIG_BATCH), count x (u64 v,
 *                [4096 bytes of data when v & 1]); page index v >> 1.  A
 *                page without data is all zeros.
 *     DISK_DATA  u8 disk, u64 off, u32 len (1..MIG_DISK_CHUNK), len bytes
 *     DISK_ZERO  u8 disk, u64 off, u64 len: the range reads as zeros
 *     DEVICE     u32 len, len bytes: the sections of the vm_save_state
 *                stream taken while paused that differ from MACHINE's
 *                (which is a whole vm_save_state stream taken at the
 *                start): the state to load is MACHINE's sections with
 *                these in their place (mig_state_merge).  Large sections
 *                that do not change (the boot images) so stay out of the
 *                pause.  Once, after LAYOUT
 *     SYNC       nothing: the target answers with an ack of status
 *                MIG_ACK_SYNC once it has taken in everything before it
 *                (the source waits for it before its pause, so the pause
 *                does not wait for a backlog in the socket buffers)
 *     END        nothing more follows; needs DEVICE
 *
 * After END the target answers with an ack: u32 MIG_ACK_MAGIC, i32 status
 * (0: loaded and ready to run, else -errno), u16 n, n bytes of message.
 *
 * Threading: a writer or parser belongs to one thread; mig_out_cancel
 * may be called from any thread. */
#ifndef RINGVM_VMM_MIGRATE_STREAM_H
#define RINGVM_VMM_MIGRATE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/guest_mem.h"

#define MIG_MAGIC "RINGMIG"     /* 8 bytes with its NUL */
#define MIG_VERSION 2u  /* 2: BOOT and SYNC records */
#define MIG_F_DISKS 1u
#define MIG_ACK_MAGIC 0x4b43414du  /* "MACK" */
#define MIG_ACK_SYNC 1              /* the answer to a SYNC record */

enum mig_rec {
	MIG_REC_MACHINE = 1,
	MIG_REC_LAYOUT,
	MIG_REC_DISKS,
	MIG_REC_PAGES,
	MIG_REC_DISK_DATA,
	MIG_REC_DISK_ZERO,
	MIG_REC_DEVICE,
	MIG_REC_END,
	MIG_REC_BOOT,
	MIG_REC_SYNC,
};

#define MIG_BATCH 256u                 /* pages per PAGES record */
#define MIG_DISK_CHUNK (1u << 20)      /* bytes per DISK_DATA record */
#define MIG_MAX_BLOB (64u << 20)       /* MACHINE / DEVICE bytes */
#define MIG_MAX_DISKS 8u
#define MIG_BOOT_MAX_IMAGES 3u
#define MIG_BOOT_MAX (1ULL << 30)      /* bytes of all boot images */
#define MIG_MAX_RAM (1ULL << 40)       /* bytes of all regions */

/* ---- source: buffered writer on a socket ------------------------------ */

struct mig_out {
	int fd;              /* connected stream socket (borrowed) */
	uint8_t *buf;        /* owned, MIG_OUT_BUF bytes */
	size_t len;
	uint64_t bytes;      /* handed to the socket so far */
	int err;             /* sticky -errno of the first failure */
};

#define MIG_OUT_BUF (256u << 10)

/* 0 or -ENOMEM. */
int mig_out_init(struct mig_out *o, int fd);
void mig_out_free(struct mig_out *o);
/* Append (failures are sticky: check mig_out_flush's result). */
void mig_put(struct mig_out *o, const void *p, size_t n);
void mig_put_u8(struct mig_out *o, uint8_t v);
void mig_put_u16(struct mig_out *o, uint16_t v);
void mig_put_u32(struct mig_out *o, uint32_t v);
void mig_put_u64(struct mig_out *o, uint64_t v);
/* Send what is buffered; 0 or the sticky -errno (-EPIPE: the target went
 * away, -EAGAIN: the socket's send timeout passed). */
int mig_out_flush(struct mig_out *o);

/* ---- target: the parser ----------------------------------------------- */

/* Where the bytes come from: read exactly n bytes or fail with -errno
 * (the end of the stream is -EPIPE) and a message. */
struct mig_in {
	int (*read)(void *opaque, void *buf, size_t n, struct err *errp);
	void *opaque;
};

/* What the parser found, handed to the target (or a fuzzer's fake).
 * Every value is checked before a callback sees it: offsets and lengths
 * within what LAYOUT/DISKS declared.  Buffers are borrowed for the call.
 * Each returns 0 or -errno with a message, which ends the parse. */
struct mig_sink {
	void *opaque;
	int (*machine)(void *opaque, const uint8_t *buf, size_t len,
		       struct err *errp);
	/* Map RAM of this layout (nr <= GUEST_MEM_MAX_REGIONS, page-multiple
	 * sizes, total <= MIG_MAX_RAM) and return it in *mem: the parser
	 * writes pages there.  mem must have these regions in this order,
	 * all zeros (a fresh mapping): the parser writes only the pages
	 * the stream gives data for, and clears only those again. */
	int (*layout)(void *opaque, const struct guest_mem_region *r,
		      unsigned nr, struct guest_mem **mem, struct err *errp);
	/* n disk sizes (n <= MIG_MAX_DISKS) of a MIG_F_DISKS stream. */
	int (*disks)(void *opaque, const uint64_t *size, unsigned n,
		     struct err *errp);
	int (*disk_write)(void *opaque, unsigned disk, uint64_t off,
			  const void *buf, size_t len, struct err *errp);
	int (*disk_zero)(void *opaque, unsigned disk, uint64_t off,
			 uint64_t len, struct err *errp);
	int (*device)(void *opaque, const uint8_t *buf, size_t len,
		      struct err *errp);
	/* The BOOT record: n images (n <= MIG_BOOT_MAX_IMAGES) at gpa[i],
	 * len[i] bytes (>= 1, sum <= MIG_BOOT_MAX), CRC-32 crc[i] as the
	 * source claims (unchecked: a reboot checks them); then their bytes
	 * in pieces, image by image: boot_data(i, off, buf, len) with off +
	 * len <= len[i], in order. */
	int (*boot)(void *opaque, unsigned n, const uint64_t *gpa,
		    const uint64_t *len, const uint32_t *crc, struct err *errp);
	int (*boot_data)(void *opaque, unsigned i, uint64_t off,
			 const void *buf, size_t len, struct err *errp);
	/* A SYNC record: everything before it has been handed to the other
	 * callbacks; the target answers the source (MIG_ACK_SYNC). */
	int (*sync)(void *opaque, struct err *errp);
};

/* Read a whole stream up to END from in, feeding s.  Returns 0 after
 * END, or -errno with errp naming the problem ("page 70000 of region 0
 * is beyond its 65536 pages", "unknown record type 9"...): -EINVAL for a
 * malformed stream, the reader's or a callback's error otherwise. */
int mig_parse(const struct mig_in *in, const struct mig_sink *s,
	      struct err *errp);

/* Source: the sections of state stream cur (valid, from vm_save_state)
 * that are not byte-for-byte in base, as a state stream in *out (malloc'd;
 * at least one section).  0 or -ENOMEM. */
int mig_state_delta(const uint8_t *base, size_t blen, const uint8_t *cur,
		    size_t clen, uint8_t **out, size_t *olen);

/* Target: base's sections, each replaced by delta's of the same name,
 * then delta's others, as one stream in *out (malloc'd).  base must have
 * passed state_reader_init already; delta is checked here: -EINVAL with a
 * message when it is malformed, -ENOMEM. */
int mig_state_merge(const uint8_t *base, size_t blen, const uint8_t *delta,
		    size_t dlen, uint8_t **out, size_t *olen,
		    struct err *errp);

/* Encode / decode the ack (MIG_ACK_MAGIC, status, message). */
int mig_send_ack(int fd, int status, const char *msg);
/* Read the ack from fd: 0 and *status/msg (msg_size bytes, NUL-ended), or
 * -errno when none came (the link died, the receive timeout passed). */
int mig_recv_ack(int fd, int *status, char *msg, size_t msg_size);

#endif
