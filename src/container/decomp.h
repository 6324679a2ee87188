/* A decompressing reader for image layers and archives: plain, gzip
 * (RFC 1952, concatenated members allowed) or zstd (RFC 8878, any number of
 * frames, skippable frames ignored), told apart by their magic bytes.
 *
 * The input is hostile: a truncated or corrupt stream is an error, and the
 * output is capped so that a "bomb" (a tiny blob that inflates to terabytes)
 * stops with an error instead of filling the disk or spinning for hours. */
#ifndef RINGVM_CONTAINER_DECOMP_H
#define RINGVM_CONTAINER_DECOMP_H

#include <stdint.h>
#include <sys/types.h>

#include "container/digest.h"
#include "core/err.h"

enum decomp_fmt { DECOMP_PLAIN, DECOMP_GZIP, DECOMP_ZSTD };

/* The cap unpack uses for a compressed blob of `in` bytes: DECOMP_RATIO
 * times its size plus DECOMP_SLACK bytes.  gzip cannot exceed ~1032:1, so
 * only a zstd bomb (or a layer that is almost all zeros) reaches it. */
#define DECOMP_RATIO 1024u
#define DECOMP_SLACK (256ull << 20)

struct decomp;

/* Start reading fd (a regular file or pipe, read from its current offset;
 * borrowed: the caller closes it after decomp_close).  max_out caps the
 * decompressed bytes (0: no cap); reading past it fails with -EFBIG.
 * in_hash (may be NULL; borrowed) is fed every compressed byte read from
 * fd, so one pass both verifies a blob's digest and unpacks it (see
 * decomp_drain).  *out receives the reader.  Returns 0, -ENOMEM, or -EIO
 * when fd cannot be read.  The reader is not thread-safe. */
int decomp_open(int fd, uint64_t max_out, struct digest_ctx *in_hash,
		struct decomp **out, struct err *errp);

/* Read what is left of fd (after the end of the compressed stream) into
 * in_hash, so it covers the whole file.  Returns 0 or -errno. */
int decomp_drain(struct decomp *d, struct err *errp);

/* The format decomp_open detected. */
enum decomp_fmt decomp_format(const struct decomp *d);

/* Read up to n decompressed bytes into buf.  Returns the count (> 0), 0 at
 * the end of the stream, or -errno: -EIO for a corrupt or truncated
 * stream (the message names the format and the decoder's reason), -EFBIG
 * beyond max_out, -ENOMEM. */
ssize_t decomp_read(struct decomp *d, void *buf, size_t n, struct err *errp);

/* Compressed bytes consumed and decompressed bytes produced so far. */
uint64_t decomp_in_bytes(const struct decomp *d);
uint64_t decomp_out_bytes(const struct decomp *d);

/* Free the reader (NULL is a no-op); fd stays open. */
void decomp_close(struct decomp *d);

#endif
