/* Pulling images over the OCI distribution spec (distribution-spec 1.0
 * "Pull"; the docker registry v2 API) with libcurl: manifests by tag or
 * digest, blobs by digest (redirects followed), anonymous access or a
 * bearer token fetched from the realm a 401's WWW-Authenticate names
 * (docker's token protocol).  Every manifest and blob is verified against
 * its digest before it is stored (store.c). */
#ifndef RINGVM_CONTAINER_REGISTRY_H
#define RINGVM_CONTAINER_REGISTRY_H

#include <stdbool.h>
#include <stdio.h>

#include "container/ref.h"
#include "container/store.h"

struct registry_opts {
	/* Plain HTTP instead of HTTPS; also implied for localhost,
	 * 127.0.0.0/8 and ::1, as docker allows there. */
	bool insecure;
	/* TLS certificates are not checked (`--tls-verify=false`). */
	bool no_verify;
	/* One line per step (docker's "Pull complete"), or NULL. */
	FILE *progress;
};

/* Pull ref into the store and import it under its name (under the
 * store's lock, saved).  id receives the image id.  Errors name the step
 * and the URL (HTTP status, registry error code). */
int registry_pull(struct store *s, const struct image_ref *ref,
		  const struct registry_opts *o, char id[DIGEST_HEX],
		  struct err *errp);

/* Parse a WWW-Authenticate header's Bearer challenge: realm, service and
 * scope (each cap bytes; "" when absent).  -EINVAL when it is not a
 * Bearer challenge with a realm. */
int registry_parse_challenge(const char *h, char *realm, char *service,
			     char *scope, size_t cap, struct err *errp);

#endif
