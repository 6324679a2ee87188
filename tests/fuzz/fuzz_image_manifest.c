/* libFuzzer target: hostile image documents through the image index,
 * manifest and image config parsers (src/container/manifest.c) and the
 * reference and WWW-Authenticate challenge parsers (ref.c, auth.c, on the
 * same bytes as a string).  Successful
 * parses are walked and freed, so leaks and dangling pointers show up
 * under ASan; every refusal must carry a message. */
#include <stdint.h>
#include <string.h>

#include "container/manifest.h"
#include "container/ref.h"
#include "container/registry.h"

static size_t walk(char **v)
{
	size_t n = 0;
	for (; v && *v; v++)
		n += strlen(*v);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct err e = { 0 };
	volatile size_t n = oci_doc_is_index(buf, size);

	struct oci_index ix;
	if (oci_index_parse(buf, size, &ix, &e) == 0) {
		size_t i;
		for (size_t k = 0; k < ix.n; k++)
			n += strlen(ix.manifests[k].digest) + strlen(ix.manifests[k].name);
		if (oci_index_pick(&ix, "linux", "amd64", &i, &e) == 0 && i >= ix.n)
			__builtin_trap();
		oci_index_free(&ix);
	} else if (!e.msg[0]) {
		__builtin_trap();
	}

	err_clear(&e);
	struct oci_manifest m;
	if (oci_manifest_parse(buf, size, &m, &e) == 0) {
		for (size_t k = 0; k < m.nlayers; k++)
			n += strlen(m.layers[k].digest) + m.layers[k].size;
		oci_manifest_free(&m);
	} else if (!e.msg[0]) {
		__builtin_trap();
	}

	err_clear(&e);
	struct oci_image_config c;
	if (oci_image_config_parse(buf, size, &c, &e) == 0) {
		n += walk(c.entrypoint) + walk(c.cmd) + walk(c.env) + walk(c.ports);
		n += (c.workdir ? strlen(c.workdir) : 0) + (c.user ? strlen(c.user) : 0);
		for (size_t k = 0; k < c.ndiff; k++)
			n += strlen(c.diff_ids[k]);
		oci_image_config_free(&c);
	} else if (!e.msg[0]) {
		__builtin_trap();
	}

	if (size < 600) {
		char s[600];
		memcpy(s, data, size);
		s[size] = '\0';
		struct image_ref r;
		err_clear(&e);
		if (ref_parse(s, &r, &e) == 0) {
			char full[2 * REF_MAX];
			ref_full(&r, full, sizeof(full));
			n += strlen(full);
		} else if (!e.msg[0]) {
			__builtin_trap();
		}
		char realm[64], service[64], scope[64];
		err_clear(&e);
		if (registry_parse_challenge(s, realm, service, scope, sizeof(realm), &e) == 0)
			n += strlen(realm) + strlen(service) + strlen(scope);
		else if (!e.msg[0])
			__builtin_trap();
	}
	(void)n;
	return 0;
}
