/* Image references as docker writes them (distribution/reference grammar):
 *   [DOMAIN[:PORT]/]PATH[:TAG][@sha256:HEX]
 * normalised the docker way: no domain means docker.io, a one-component
 * path on docker.io gets "library/", no tag and no digest means "latest". */
#ifndef RINGVM_CONTAINER_REF_H
#define RINGVM_CONTAINER_REF_H

#include "container/digest.h"
#include "core/err.h"

#define REF_MAX 256

struct image_ref {
	char domain[REF_MAX];   /* "docker.io", "127.0.0.1:5000", "localhost" */
	char path[REF_MAX];     /* "library/busybox" */
	char tag[REF_MAX];      /* "latest"; "" when only a digest was given */
	char digest[DIGEST_HEX];/* "" unless @sha256:... was given */
};

/* Parse and normalise s.  -EINVAL with "invalid reference format" and the
 * reason for anything the grammar refuses (upper case in the path, empty
 * components, a tag longer than 128, ...). */
int ref_parse(const char *s, struct image_ref *r, struct err *errp);

/* The full name "DOMAIN/PATH:TAG" (or "@sha256:..." without a tag) in
 * out (cap bytes). */
void ref_full(const struct image_ref *r, char *out, size_t cap);

/* Docker's short display of a repository: "busybox" for
 * docker.io/library/busybox, "user/x" for docker.io/user/x, else the full
 * "DOMAIN/PATH".  repo is "DOMAIN/PATH"; returns a pointer into it. */
const char *ref_display_repo(const char *repo);

#endif
