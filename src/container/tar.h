/* A tar stream reader (POSIX.1-2001 ustar and pax, with GNU long names)
 * for image layers and image archives, which are hostile input: every
 * header is checked (checksum, octal or base-256 numbers, NUL-terminated
 * names, bounded pax records) and nothing is trusted beyond that — paths
 * are returned as found; tar_path_clean() and unpack.c decide what may be
 * written where. */
#ifndef RINGVM_CONTAINER_TAR_H
#define RINGVM_CONTAINER_TAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"

#define TAR_BLOCK 512
#define TAR_PATH_MAX 4096      /* longest name or link target accepted */
#define TAR_PAX_MAX (1 << 20)  /* largest pax/GNU extension header (bytes) */

/* Reads up to n bytes into buf: returns the count (0 at end of stream) or
 * -errno with the message in errp. */
typedef ssize_t (*tar_read_fn)(void *ctx, void *buf, size_t n,
			       struct err *errp);

struct tar_entry {
	char path[TAR_PATH_MAX + 1];
	char link[TAR_PATH_MAX + 1];   /* symlink target or hard-link source */
	char type;                     /* '0' file, '1' hard link, '2' symlink,
					  '3' char, '4' block, '5' dir, '6' fifo */
	uint32_t mode;                 /* permission bits (07777) */
	uint32_t uid, gid;
	uint64_t size;                 /* bytes of data (files only) */
	int64_t mtime;                 /* seconds since the epoch */
	uint32_t devmajor, devminor;
};

struct tar_reader {
	tar_read_fn read;
	void *ctx;
	uint64_t remaining;            /* data bytes of the current entry */
	uint32_t pad;                  /* padding after them */
	bool end;
};

/* A reader over read(). */
void tar_reader_init(struct tar_reader *r, tar_read_fn fn, void *ctx);

/* Parse one 512-byte ustar header block into e (name with prefix, link,
 * type, numbers).  Returns 1 for a header, 0 for an all-zero block (end
 * of archive), -EINVAL for a bad checksum or field. */
int tar_header_parse(const uint8_t blk[TAR_BLOCK], struct tar_entry *e,
		     struct err *errp);

/* The next entry (after skipping what is left of the previous one's data)
 * into e, with pax and GNU long-name headers applied.  Returns 1 for an
 * entry, 0 at the end of the archive, -errno on a malformed or truncated
 * stream. */
int tar_next(struct tar_reader *r, struct tar_entry *e, struct err *errp);

/* Read up to n bytes of the current entry's data: the count, 0 when it is
 * all read, -errno (-EIO "truncated" when the stream ends early). */
ssize_t tar_read_data(struct tar_reader *r, void *buf, size_t n,
		      struct err *errp);

/* Normalise an entry path in place: drop leading "./", repeated and
 * trailing slashes and "." components.  -EINVAL for an absolute path, a
 * ".." component or an empty result (unless allow_root: "" for "./").
 * Returns 0. */
int tar_path_clean(char *path, bool allow_root, struct err *errp);

#endif
