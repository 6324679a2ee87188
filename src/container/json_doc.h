/* One whole JSON document from an untrusted buffer (image manifests and
 * configs, OCI runtime config.json), shared by manifest.c and config.c.
 *
 * Header-only (static inline) so the fuzz targets that build manifest.c or
 * config.c alone need no extra source file. */
#ifndef RINGVM_CONTAINER_JSON_DOC_H
#define RINGVM_CONTAINER_JSON_DOC_H

#include <errno.h>
#include <json-c/json.h>
#include <stddef.h>
#include <string.h>

/* json_doc_parse: parse buf[0..len) (not NUL-terminated; len bytes, the
 * caller bounds it below INT_MAX) as exactly one JSON value followed by
 * nothing but JSON whitespace (RFC 8259 section 2).  depth bounds json-c's
 * nesting (and so its recursion) on hostile input.
 *
 * Returns 0 and *out (a new reference the caller must json_object_put);
 * -ENOMEM when json-c cannot allocate its tokener; -EINVAL when the text is
 * not valid JSON (*je is json-c's error, never json_tokener_success) or
 * when non-whitespace follows the value (*je is json_tokener_success).
 * Callers word their own error messages.  Thread-safe (no shared state). */
static inline int json_doc_parse(const char *buf, size_t len, int depth,
				 struct json_object **out,
				 enum json_tokener_error *je)
{
	struct json_tokener *tok = json_tokener_new_ex(depth);
	if (!tok)
		return -ENOMEM;
	struct json_object *doc = json_tokener_parse_ex(tok, buf, (int)len);
	*je = json_tokener_get_error(tok);
	size_t used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!doc || *je != json_tokener_success) {
		json_object_put(doc);
		if (*je == json_tokener_success)
			*je = json_tokener_continue;
		return -EINVAL;
	}
	for (; used < len; used++)
		if (!strchr(" \t\r\n", buf[used])) {
			json_object_put(doc);
			return -EINVAL;
		}
	*out = doc;
	return 0;
}

#endif
