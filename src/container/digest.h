/* Content digests (OCI image-spec descriptor.md "Digests"): only sha256,
 * the one algorithm the spec requires; held as 64 lowercase hex digits. */
#ifndef RINGVM_CONTAINER_DIGEST_H
#define RINGVM_CONTAINER_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define DIGEST_HEX 65 /* 64 hex digits + NUL */

/* Parse "sha256:<64 lowercase hex>" into hex.  -EINVAL (with the field
 * name `what` in the message) for any other algorithm or encoding. */
int digest_parse(const char *s, char hex[DIGEST_HEX], const char *what,
		 struct err *errp);

/* True when s is exactly 64 lowercase hex digits. */
int digest_hex_valid(const char *s);

/* Incremental sha256; not thread-safe per context.  digest_init returns
 * NULL when out of memory or when libcrypto.so.3 cannot be loaded (it is
 * opened on first use, not linked, to keep it out of every ringvm exec). */
struct digest_ctx;
struct digest_ctx *digest_init(void);
void digest_update(struct digest_ctx *c, const void *buf, size_t n);
/* Writes the hex digest and frees c. */
void digest_final(struct digest_ctx *c, char hex[DIGEST_HEX]);
void digest_free(struct digest_ctx *c);

/* sha256 of n bytes at buf; 64 'x' (matching no digest) when libcrypto
 * is unavailable. */
void digest_buf(const void *buf, size_t n, char hex[DIGEST_HEX]);

/* sha256 of everything readable from fd (from its current offset to EOF);
 * *size (may be NULL) receives the byte count. */
int digest_fd(int fd, char hex[DIGEST_HEX], uint64_t *size, struct err *errp);

#endif
