/* The local image store (content-addressed, docs/CONTAINERS.md "Image
 * store"):
 *   ROOT/blobs/sha256/HEX   manifests, configs and layer blobs by digest
 *   ROOT/layers/DIFFID/     each layer unpacked once, shared by images
 *   ROOT/images.json        image id (config digest), names, blobs
 *   ROOT/containers/ID/     containers (container.c)
 *   ROOT/tmp/               work in progress (same filesystem: rename)
 * ROOT is $RINGVM_CONTAINER_ROOT, else /var/lib/ringvm/containers for
 * root, else $XDG_DATA_HOME/ringvm/containers (~/.local/share/...).
 * Writers take an flock on ROOT/lock; blobs are verified against their
 * digest every time they are read. */
#ifndef RINGVM_CONTAINER_STORE_H
#define RINGVM_CONTAINER_STORE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "container/digest.h"
#include "core/err.h"

struct store {
	char root[2048];      /* at most 2047 bytes: paths below it fit PATH_MAX */
	int rootfd;
	int lockfd;           /* -1 unless store_lock()ed */
};

/* Fill root (cap bytes) with the default store root (see above). */
int store_default_root(char *root, size_t cap, struct err *errp);

/* Open (creating its directories) the store at root (NULL: default). */
int store_open(const char *root, struct store *s, struct err *errp);
void store_close(struct store *s);

/* Exclusive lock over the store's metadata (blocks). */
int store_lock(struct store *s, struct err *errp);
void store_unlock(struct store *s);

/* Copy fd (from its offset to EOF) into the store.  The sha256 is
 * computed while copying; with expect non-NULL a mismatch is refused
 * (-EINVAL, "digest mismatch").  hex receives the digest. */
int store_blob_put_fd(struct store *s, int fd, const char *expect,
		      char hex[DIGEST_HEX], struct err *errp);
/* Move the file at path (on the store's filesystem, e.g. below ROOT/tmp)
 * into the store as blob hex without copying or hashing it: for a caller
 * that has just verified that its content hashes to hex (a download).
 * Returns 0 or -errno; on failure path is left where it was. */
int store_blob_adopt(struct store *s, const char *path, const char *hex,
		     struct err *errp);
/* The same as store_blob_put_fd for a buffer. */
int store_blob_put_buf(struct store *s, const void *buf, size_t len,
		       char hex[DIGEST_HEX], struct err *errp);

/* Open blob hex after checking its content still hashes to hex (a
 * corrupted blob is refused with -EIO); the fd is at offset 0.  size
 * (UINT64_MAX: any) must match. */
int store_blob_open(struct store *s, const char *hex, uint64_t size,
		    struct err *errp);

/* A verified blob in memory (at most max bytes), NUL-terminated; *buf is
 * malloc'd. */
int store_blob_read(struct store *s, const char *hex, size_t max, char **buf,
		    size_t *len, struct err *errp);

bool store_blob_has(struct store *s, const char *hex);

/* Unpack layer blob `blob` (already in the store) into layers/DIFF_ID
 * unless it is there already; the blob is verified against its digest in
 * the same pass (-EIO "corrupted", nothing kept) and the uncompressed
 * stream must hash to diff_id.  *usize receives the layer's uncompressed size in bytes. */
int store_layer_unpack(struct store *s, const char *blob, const char *diff_id,
		       uint64_t *usize, struct err *errp);

/* ROOT/layers/DIFF_ID in out (cap bytes). */
void store_layer_path(const struct store *s, const char *diff_id, char *out,
		      size_t cap);

/* ---- images.json ---- */

struct store_image {
	char id[DIGEST_HEX];         /* config digest */
	char manifest[DIGEST_HEX];
	char **names;                /* full references "DOMAIN/PATH:TAG" */
	size_t nnames;
	char (*blobs)[DIGEST_HEX];   /* every blob it needs (manifest, config,
					layers) */
	size_t nblobs;
	char (*layers)[DIGEST_HEX];  /* diff_ids, lowest first */
	size_t nlayers;
	int64_t created;             /* seconds since the epoch, 0 unknown */
	uint64_t size;               /* uncompressed bytes */
};

struct store_images {
	struct store_image *v;
	size_t n;
};

/* Read images.json (an empty list when it does not exist). */
int store_images_load(struct store *s, struct store_images *im,
		      struct err *errp);
/* Replace images.json atomically. */
int store_images_save(struct store *s, const struct store_images *im,
		      struct err *errp);
void store_images_free(struct store_images *im);

/* Find an image by reference (normalised), full or abbreviated id (at
 * least 3 hex digits, optionally "sha256:"), or manifest digest.
 * Returns the index, or -ENOENT "image `X` not known" / -EINVAL (bad
 * reference, ambiguous id). */
int store_image_find(const struct store_images *im, const char *spec,
		     struct err *errp);

/* Give image i the name (removed from any other image). */
int store_image_tag(struct store_images *im, size_t i, const char *name,
		    struct err *errp);

/* Add (or update, by id) image img; takes ownership of its arrays. */
int store_image_put(struct store_images *im, struct store_image *img,
		    struct err *errp);

/* Remove blobs and layers no image in im references. */
void store_gc(struct store *s, const struct store_images *im);

#endif
