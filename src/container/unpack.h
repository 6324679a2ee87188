/* Unpack a tar stream (plain, gzip or zstd) below a directory without ever
 * writing outside it: every path is created relative to a directory fd,
 * one component at a time, never following a symlink (O_NOFOLLOW), and
 * names with `..` or a leading `/` are refused.  A tar entry may therefore
 * not write through a symlink it (or an earlier entry) made, and a hard
 * link may only point at something already unpacked below the directory. */
#ifndef RINGVM_CONTAINER_UNPACK_H
#define RINGVM_CONTAINER_UNPACK_H

#include <stdbool.h>
#include <stdint.h>

#include "container/digest.h"
#include "core/err.h"

struct unpack_opts {
	/* An image layer (image-spec layer.md): `.wh.NAME` becomes an
	 * overlayfs whiteout (a 0:0 character device) and `.wh..wh..opq`
	 * marks its directory opaque (trusted.overlay.opaque=y, or
	 * user.overlay.opaque=y for a caller that is not root: trusted.* needs
	 * CAP_SYS_ADMIN, user.* is what overlayfs reads with its userxattr
	 * option in a user namespace).  Otherwise those names are ordinary
	 * files. */
	bool layer;
	/* Create device nodes (needs CAP_MKNOD); when false they are
	 * refused. */
	bool devices;
	/* Give entries their uid/gid from the archive (needs CAP_CHOWN);
	 * when false everything belongs to the caller. */
	bool owners;
	/* Cap on the decompressed stream in bytes (0: none).  A regular
	 * src_fd is always capped at DECOMP_RATIO x its size + DECOMP_SLACK
	 * (container/decomp.h); a smaller max_bytes wins. */
	uint64_t max_bytes;
	/* When set (64 hex digits), the compressed stream, read to the end
	 * of src_fd, must hash to it: a store blob is verified in the same
	 * pass that unpacks it; a mismatch is -EIO "blob ... is
	 * corrupted". */
	const char *blob_digest;
};

/* Unpack the tar archive read from src_fd (a regular file or pipe; gzip
 * and zstd are detected and decompressed, see container/decomp.h) below
 * the directory dirfd.  diff_id (may be NULL) receives the sha256 of the uncompressed
 * stream, read to its end, and usize (may be NULL) its length in bytes.
 * Returns 0 or -errno naming the entry; -EIO for a corrupt or truncated
 * compressed stream, -EFBIG beyond the cap. */
int unpack_tar(int src_fd, int dirfd, const struct unpack_opts *o,
	       char diff_id[DIGEST_HEX], uint64_t *usize, struct err *errp);

/* Remove `name` below dirfd: a file, or a directory with all it holds,
 * never following symlinks.  0 when it did not exist. */
int unpack_remove(int dirfd, const char *name, struct err *errp);

/* Open the directory `rel` below root (O_RDONLY|O_DIRECTORY) component by
 * component without following symlinks, creating missing ones (0755) when
 * create is set.  "" opens root itself.  Returns the fd or -errno. */
int unpack_open_dir(int root, const char *rel, bool create, struct err *errp);

#endif
