/* Getting images into the store: importing a manifest whose blobs are in
 * the store (import.c), loading an image archive (archive.c). */
#ifndef RINGVM_CONTAINER_IMAGE_H
#define RINGVM_CONTAINER_IMAGE_H

#include "container/store.h"

/* Import the image whose manifest (or image index: the host's
 * linux/ARCH entry is picked) is blob `manifest` in s: its config and
 * layers must be in the store; layers are unpacked (once per diff_id)
 * and checked against the config's diff_ids.  The image is added to im
 * under `name` (a full reference, or NULL for none); *id (may be NULL)
 * receives its id.  The caller holds the store lock and saves im. */
int image_import(struct store *s, struct store_images *im,
		 const char *manifest, const char *name, char id[DIGEST_HEX],
		 struct err *errp);

/* Load a docker-archive (`docker save`, `podman save`: manifest.json) or
 * an OCI image layout tar (oci-layout, index.json) read from fd into the
 * store, under its lock; every image in it is imported with the names
 * it carries.  names (may be NULL) receives a malloc'd, NULL-terminated
 * list of "NAME" or "sha256:ID" lines to report. */
int image_load_archive(struct store *s, int fd, char ***names,
		       struct err *errp);

/* Parse an RFC 3339 time ("2024-05-01T10:00:00.123Z", "+02:00") into
 * seconds since the epoch; 0 when it cannot be parsed. */
int64_t image_parse_time(const char *s);

#endif
