/* Import a manifest whose blobs are in the store (image.h). */
#include "container/image.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "container/manifest.h"

int64_t image_parse_time(const char *s)
{
	struct tm tm = { 0 };
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return 0;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	int64_t off = 0;
	if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int h = (p[1] - '0') * 10 + (p[2] - '0'), m = (p[4] - '0') * 10 + (p[5] - '0');
		off = (h * 3600 + m * 60) * (*p == '+' ? 1 : -1);
	} else if (strcmp(p, "Z") && strcmp(p, "z")) {
		return 0;
	}
	return (int64_t)timegm(&tm) - off;
}

int image_import(struct store *s, struct store_images *im,
		 const char *manifest, const char *name, char id[DIGEST_HEX],
		 struct err *errp)
{
	char *buf = NULL;
	size_t len;
	char mhex[DIGEST_HEX];
	memcpy(mhex, manifest, DIGEST_HEX);
	int r = store_blob_read(s, mhex, MANIFEST_MAX_BYTES, &buf, &len, errp);
	if (r)
		return r;
	if (oci_doc_is_index(buf, len)) {
		struct oci_index ix;
		size_t pick;
		r = oci_index_parse(buf, len, &ix, errp);
		free(buf);
		buf = NULL;
		if (r)
			return r;
		if (!(r = oci_index_pick(&ix, "linux", oci_host_arch(), &pick, errp)))
			memcpy(mhex, ix.manifests[pick].digest, DIGEST_HEX);
		oci_index_free(&ix);
		if (r)
			return r;
		if ((r = store_blob_read(s, mhex, MANIFEST_MAX_BYTES, &buf, &len, errp)))
			return r;
	}
	struct oci_manifest m;
	r = oci_manifest_parse(buf, len, &m, errp);
	free(buf);
	if (r)
		return r;
	struct oci_image_config c = { 0 };
	struct store_image img = { 0 };
	if ((r = store_blob_read(s, m.config.digest, MANIFEST_MAX_BYTES, &buf, &len, errp)))
		goto out;
	r = oci_image_config_parse(buf, len, &c, errp);
	free(buf);
	if (r)
		goto out;
	if (c.ndiff != m.nlayers) {
		r = err_set(errp, EINVAL, "image config lists %zu layers, the manifest %zu",
			    c.ndiff, m.nlayers);
		goto out;
	}
	if (c.os[0] && strcmp(c.os, "linux")) {
		r = err_set(errp, EINVAL, "image is for %s, not linux", c.os);
		goto out;
	}
	img.blobs = calloc(m.nlayers + 2, DIGEST_HEX);
	img.layers = calloc(m.nlayers ? m.nlayers : 1, DIGEST_HEX);
	img.names = calloc(1, sizeof(char *));
	if (!img.blobs || !img.layers || !img.names ||
	    (name && !(img.names[0] = strdup(name)))) {
		r = err_set(errp, ENOMEM, "out of memory");
		goto out;
	}
	img.nnames = name ? 1 : 0;
	memcpy(img.id, m.config.digest, DIGEST_HEX);
	memcpy(img.manifest, mhex, DIGEST_HEX);
	memcpy(img.blobs[img.nblobs++], mhex, DIGEST_HEX);
	memcpy(img.blobs[img.nblobs++], m.config.digest, DIGEST_HEX);
	img.created = image_parse_time(c.created);
	for (size_t i = 0; i < m.nlayers; i++) {
		uint64_t us = 0;
		if ((r = store_layer_unpack(s, m.layers[i].digest, c.diff_ids[i], &us, errp)))
			goto out;
		memcpy(img.blobs[img.nblobs++], m.layers[i].digest, DIGEST_HEX);
		memcpy(img.layers[img.nlayers++], c.diff_ids[i], DIGEST_HEX);
		img.size += us;
	}
	if (id)
		memcpy(id, img.id, DIGEST_HEX);
	r = store_image_put(im, &img, errp);
out:
	for (size_t i = 0; i < img.nnames; i++)
		free(img.names[i]);
	free(img.names);
	free(img.blobs);
	free(img.layers);
	oci_image_config_free(&c);
	oci_manifest_free(&m);
	return r;
}
