/* OCI image-spec 1.1 documents (and their Docker v2 schema 2
 * equivalents): image index / manifest list (image-index.md), image
 * manifest (manifest.md) and image configuration (config.md).  Parsers of
 * hostile input: sizes are bounded, every field is type-checked, every
 * digest must be sha256. */
#ifndef RINGVM_CONTAINER_MANIFEST_H
#define RINGVM_CONTAINER_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "container/digest.h"
#include "core/err.h"

#define MANIFEST_MAX_BYTES (4u << 20)  /* largest document accepted */
#define MANIFEST_MAX_LAYERS 256
#define MANIFEST_MAX_ENTRIES 1024      /* index entries, env, args, ports */

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

/* descriptor.md */
struct oci_desc {
	char media_type[128];
	char digest[DIGEST_HEX];
	uint64_t size;               /* bytes */
	char os[32], arch[32], variant[32];  /* platform (index entries) */
	/* Index entries: the image's name from the annotations
	 * io.containerd.image.name or else org.opencontainers.image.ref.name
	 * (which may be a bare tag); "" when none. */
	char name[256];
};

struct oci_index {
	struct oci_desc *manifests;
	size_t n;
};

struct oci_manifest {
	struct oci_desc config;
	struct oci_desc *layers;
	size_t nlayers;
};

/* The part of config.md ringvm uses.  String arrays are NULL-terminated
 * (NULL when absent); everything is malloc'd and freed by
 * oci_image_config_free. */
struct oci_image_config {
	char **entrypoint, **cmd, **env, **ports;  /* ports: "80/tcp" */
	char *workdir, *user;        /* NULL when absent */
	char created[40];            /* RFC 3339 or "" */
	char os[32], arch[32];
	char (*diff_ids)[DIGEST_HEX];
	size_t ndiff;
};

/* Whether buf is an index (a "manifests" array or an index media type)
 * rather than a manifest. */
bool oci_doc_is_index(const char *buf, size_t len);

/* Parse an image index or Docker manifest list. */
int oci_index_parse(const char *buf, size_t len, struct oci_index *ix,
		    struct err *errp);
void oci_index_free(struct oci_index *ix);

/* The entry for os/arch (e.g. "linux", "amd64"); entries without a
 * platform match when they are the only one.  -ENOENT naming what the
 * index offers. */
int oci_index_pick(const struct oci_index *ix, const char *os,
		   const char *arch, size_t *i, struct err *errp);

/* Parse an image manifest (OCI or Docker schema 2); schemaVersion 2,
 * config and layer media types checked. */
int oci_manifest_parse(const char *buf, size_t len, struct oci_manifest *m,
		       struct err *errp);
void oci_manifest_free(struct oci_manifest *m);

/* Parse an image configuration. */
int oci_image_config_parse(const char *buf, size_t len,
			   struct oci_image_config *c, struct err *errp);
void oci_image_config_free(struct oci_image_config *c);

/* The OCI architecture name of the host ("amd64", "arm64", "riscv64"). */
const char *oci_host_arch(void);

#endif
