/* Opening files the user or an image names, without being stalled or
 * surprised by what they turn out to be. */
#ifndef RINGVM_CORE_FILE_H
#define RINGVM_CORE_FILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "err.h"

/* Open path for reading (flags O_RDONLY) or reading and writing (O_RDWR);
 * O_CLOEXEC and O_NOCTTY are added.  Only a regular file is accepted, or a
 * host block device when allow_blockdev.  Anything else (a FIFO, socket or
 * character device) is refused before it is opened, so open() cannot block
 * forever on a FIFO without a writer or trigger a device's open side
 * effects; the descriptor is opened O_NONBLOCK (cleared afterwards) and its
 * type checked again, so a file swapped in between is refused as well.
 *
 * what: the kind of file for the message ("disk", "kernel", ...).
 * On success *fdp is the descriptor (caller closes it) and, when st is not
 * NULL, *st its fstat().  Errors (message names what and path):
 *   from stat/open: "cannot open WHAT `PATH`: No such file or directory"
 *   (-ENOENT, -EACCES, ...), -EISDIR for a directory ("...: Is a
 *   directory"), -EINVAL for any other type ("WHAT `PATH` is a FIFO, not a
 *   regular file").  No shared state: any thread may call it. */
int file_open_checked(const char *what, const char *path, int flags,
		      bool allow_blockdev, int *fdp, struct stat *st,
		      struct err *errp);

/* Read the whole file open at fd (read from offset 0; at most max bytes)
 * into a new buffer with a NUL after the content: *buf (the caller frees
 * it) and *len (bytes, without the NUL).  fd stays open.  Errors name
 * `what` (e.g. "blob sha256:0123"): -EFBIG "WHAT is too large (N bytes,
 * at most MAX)", -ENOMEM, or the fstat/read errno ("read WHAT: ..."; a
 * short read is -EIO). */
int file_read_fd(int fd, size_t max, const char *what, char **buf,
		 size_t *len, struct err *errp);

/* pread/pwrite of exactly len bytes at off (bytes), retrying short
 * transfers and EINTR: 0, -errno, or -EIO when the file ends first (a
 * read past EOF, a write that makes no progress).  Any thread. */
int file_pread_all(int fd, void *buf, size_t len, uint64_t off);
int file_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);

/* "a FIFO", "a socket", "a character device", "a block device",
 * "a directory", "a symbolic link" or "not a regular file": for messages. */
const char *file_kind(mode_t mode);

#endif
