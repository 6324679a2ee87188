/* Parsers for image index, manifest and configuration JSON (manifest.h). */
#include "container/manifest.h"
#include "container/json_doc.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static int parse_json(const char *buf, size_t len, const char *what,
		      struct json_object **out, struct err *errp)
{
	if (len > MANIFEST_MAX_BYTES)
		return err_set(errp, EINVAL, "%s: %zu bytes is too large", what, len);
	struct json_object *doc = NULL;
	enum json_tokener_error je;
	int r = json_doc_parse(buf, len, 32, &doc, &je);
	if (r == -ENOMEM)
		return err_set(errp, ENOMEM, "out of memory");
	if (r && je != json_tokener_success)
		return err_set(errp, EINVAL, "%s: not valid JSON", what);
	if (r)
		return err_set(errp, EINVAL, "%s: data after the JSON document", what);
	if (!json_object_is_type(doc, json_type_object)) {
		json_object_put(doc);
		return err_set(errp, EINVAL, "%s: not a JSON object", what);
	}
	*out = doc;
	return 0;
}

static struct json_object *get(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;
	if (o && json_object_is_type(o, json_type_object))
		json_object_object_get_ex(o, k, &v);
	return v;
}

/* Copy an optional string field into a fixed buffer (refused if longer). */
static int str_field(struct json_object *o, const char *k, char *dst,
		     size_t cap, bool required, const char *what,
		     struct err *errp)
{
	struct json_object *v = get(o, k);
	dst[0] = '\0';
	if (!v || json_object_is_type(v, json_type_null)) {
		if (required)
			return err_set(errp, EINVAL, "%s: `%s` missing", what, k);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return err_set(errp, EINVAL, "%s: `%s` must be a string", what, k);
	size_t n = (size_t)json_object_get_string_len(v);
	const char *s = json_object_get_string(v);
	if (n >= cap || strlen(s) != n)
		return err_set(errp, EINVAL, "%s: `%s` too long or contains NUL", what, k);
	memcpy(dst, s, n + 1);
	return 0;
}

static int desc_parse(struct json_object *o, struct oci_desc *d,
		      const char *what, struct err *errp)
{
	if (!json_object_is_type(o, json_type_object))
		return err_set(errp, EINVAL, "%s: descriptor must be an object", what);
	char dg[80];
	int r;
	if ((r = str_field(o, "mediaType", d->media_type, sizeof(d->media_type), false, what, errp)) ||
	    (r = str_field(o, "digest", dg, sizeof(dg), true, what, errp)) ||
	    (r = digest_parse(dg, d->digest, what, errp)))
		return r;
	struct json_object *sz = get(o, "size");
	if (!sz || !json_object_is_type(sz, json_type_int))
		return err_set(errp, EINVAL, "%s: `size` must be an integer", what);
	int64_t s = json_object_get_int64(sz);
	if (s < 0 || s > ((int64_t)1 << 50))
		return err_set(errp, EINVAL, "%s: `size` out of range", what);
	d->size = (uint64_t)s;
	struct json_object *an = get(o, "annotations");
	if (an && ((r = str_field(an, "io.containerd.image.name", d->name, sizeof(d->name), false, what, errp)) ||
		   (!d->name[0] && (r = str_field(an, "org.opencontainers.image.ref.name", d->name,
						   sizeof(d->name), false, what, errp)))))
		return r;
	struct json_object *p = get(o, "platform");
	if (p) {
		if ((r = str_field(p, "os", d->os, sizeof(d->os), false, what, errp)) ||
		    (r = str_field(p, "architecture", d->arch, sizeof(d->arch), false, what, errp)) ||
		    (r = str_field(p, "variant", d->variant, sizeof(d->variant), false, what, errp)))
			return r;
	}
	return 0;
}

static int desc_array(struct json_object *doc, const char *k, size_t max,
		      struct oci_desc **out, size_t *n, const char *what,
		      struct err *errp)
{
	struct json_object *a = get(doc, k);
	if (!a || !json_object_is_type(a, json_type_array))
		return err_set(errp, EINVAL, "%s: `%s` must be an array", what, k);
	size_t len = json_object_array_length(a);
	if (len > max)
		return err_set(errp, EINVAL, "%s: more than %zu %s", what, max, k);
	struct oci_desc *d = calloc(len ? len : 1, sizeof(*d));
	if (!d)
		return err_set(errp, ENOMEM, "out of memory");
	for (size_t i = 0; i < len; i++) {
		int r = desc_parse(json_object_array_get_idx(a, i), &d[i], what, errp);
		if (r) {
			free(d);
			return r;
		}
	}
	*out = d;
	*n = len;
	return 0;
}

static int schema2(struct json_object *doc, const char *what, struct err *errp)
{
	struct json_object *v = get(doc, "schemaVersion");
	if (!v || !json_object_is_type(v, json_type_int) || json_object_get_int64(v) != 2)
		return err_set(errp, EINVAL, "%s: schemaVersion must be 2", what);
	return 0;
}

bool oci_doc_is_index(const char *buf, size_t len)
{
	struct json_object *doc;
	if (parse_json(buf, len, "", &doc, NULL))
		return false;
	char mt[128];
	bool ix = get(doc, "manifests") != NULL;
	if (!str_field(doc, "mediaType", mt, sizeof(mt), false, "", NULL) && mt[0])
		ix = !strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST);
	json_object_put(doc);
	return ix;
}

int oci_index_parse(const char *buf, size_t len, struct oci_index *ix,
		    struct err *errp)
{
	static const char what[] = "image index";
	memset(ix, 0, sizeof(*ix));
	struct json_object *doc;
	int r = parse_json(buf, len, what, &doc, errp);
	if (r)
		return r;
	if (!(r = schema2(doc, what, errp)))
		r = desc_array(doc, "manifests", MANIFEST_MAX_ENTRIES, &ix->manifests,
			       &ix->n, what, errp);
	json_object_put(doc);
	return r;
}

void oci_index_free(struct oci_index *ix)
{
	free(ix->manifests);
	ix->manifests = NULL;
	ix->n = 0;
}

int oci_index_pick(const struct oci_index *ix, const char *os,
		   const char *arch, size_t *i, struct err *errp)
{
	char have[256] = "";
	size_t hl = 0;
	for (size_t k = 0; k < ix->n; k++) {
		const struct oci_desc *d = &ix->manifests[k];
		/* Attestation manifests (buildkit) are not images. */
		if (!strcmp(d->os, "unknown"))
			continue;
		if (!strcmp(d->os, os) && !strcmp(d->arch, arch)) {
			*i = k;
			return 0;
		}
		if (!d->os[0] && !d->arch[0] && ix->n == 1) {
			*i = k;
			return 0;
		}
		if (hl < sizeof(have) - 1)
			hl += (size_t)snprintf(have + hl, sizeof(have) - hl, " %s/%s",
					       d->os[0] ? d->os : "?", d->arch[0] ? d->arch : "?");
	}
	return err_set(errp, ENOENT, "no %s/%s image in the index (it has:%s)", os,
		       arch, have[0] ? have : " nothing");
}

static bool layer_type_ok(const char *mt)
{
	static const char *const ok[] = {
		"application/vnd.oci.image.layer.v1.tar",
		"application/vnd.oci.image.layer.v1.tar+gzip",
		"application/vnd.oci.image.layer.v1.tar+zstd",
		"application/vnd.oci.image.layer.nondistributable.v1.tar",
		"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
		"application/vnd.docker.image.rootfs.diff.tar",
		"application/vnd.docker.image.rootfs.diff.tar.gzip",
		"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
	};
	if (!mt[0])
		return true;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!strcmp(mt, ok[i]))
			return true;
	return false;
}

int oci_manifest_parse(const char *buf, size_t len, struct oci_manifest *m,
		       struct err *errp)
{
	static const char what[] = "image manifest";
	memset(m, 0, sizeof(*m));
	struct json_object *doc;
	int r = parse_json(buf, len, what, &doc, errp);
	if (r)
		return r;
	char mt[128];
	if ((r = schema2(doc, what, errp)) ||
	    (r = str_field(doc, "mediaType", mt, sizeof(mt), false, what, errp)))
		goto out;
	if (mt[0] && strcmp(mt, MT_OCI_MANIFEST) && strcmp(mt, MT_DOCKER_MANIFEST)) {
		r = err_set(errp, EINVAL, "%s: unsupported media type `%s`", what, mt);
		goto out;
	}
	struct json_object *c = get(doc, "config");
	if (!c) {
		r = err_set(errp, EINVAL, "%s: `config` missing", what);
		goto out;
	}
	if ((r = desc_parse(c, &m->config, "image manifest config", errp)))
		goto out;
	if (m->config.media_type[0] && strcmp(m->config.media_type, MT_OCI_CONFIG) &&
	    strcmp(m->config.media_type, MT_DOCKER_CONFIG)) {
		r = err_set(errp, EINVAL, "%s: config media type `%s` is not an image configuration",
			    what, m->config.media_type);
		goto out;
	}
	if ((r = desc_array(doc, "layers", MANIFEST_MAX_LAYERS, &m->layers,
			    &m->nlayers, what, errp)))
		goto out;
	for (size_t i = 0; i < m->nlayers; i++)
		if (!layer_type_ok(m->layers[i].media_type)) {
			r = err_set(errp, EINVAL, "%s: layer media type `%s` is not supported",
				    what, m->layers[i].media_type);
			break;
		}
out:
	if (r)
		oci_manifest_free(m);
	json_object_put(doc);
	return r;
}

void oci_manifest_free(struct oci_manifest *m)
{
	free(m->layers);
	m->layers = NULL;
	m->nlayers = 0;
}

static void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

/* A string array (or null/absent: *out NULL). */
static int strv(struct json_object *o, const char *k, char ***out,
		struct err *errp)
{
	struct json_object *a = get(o, k);
	*out = NULL;
	if (!a || json_object_is_type(a, json_type_null))
		return 0;
	if (!json_object_is_type(a, json_type_array))
		return err_set(errp, EINVAL, "image config: `%s` must be an array of strings", k);
	size_t n = json_object_array_length(a);
	if (n > MANIFEST_MAX_ENTRIES)
		return err_set(errp, EINVAL, "image config: `%s` has too many entries", k);
	char **v = calloc(n + 1, sizeof(*v));
	if (!v)
		return err_set(errp, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct json_object *s = json_object_array_get_idx(a, i);
		if (!json_object_is_type(s, json_type_string) ||
		    strlen(json_object_get_string(s)) != (size_t)json_object_get_string_len(s) ||
		    json_object_get_string_len(s) > 65536) {
			strv_free(v);
			return err_set(errp, EINVAL, "image config: `%s` must be an array of strings", k);
		}
		if (!(v[i] = strdup(json_object_get_string(s)))) {
			strv_free(v);
			return err_set(errp, ENOMEM, "out of memory");
		}
	}
	*out = v;
	return 0;
}

static int opt_strdup(struct json_object *o, const char *k, char **out,
		      struct err *errp)
{
	char buf[4096];
	int r = str_field(o, k, buf, sizeof(buf), false, "image config", errp);
	*out = NULL;
	if (r || !buf[0])
		return r;
	return (*out = strdup(buf)) ? 0 : err_set(errp, ENOMEM, "out of memory");
}

int oci_image_config_parse(const char *buf, size_t len,
			   struct oci_image_config *c, struct err *errp)
{
	static const char what[] = "image config";
	memset(c, 0, sizeof(*c));
	struct json_object *doc;
	int r = parse_json(buf, len, what, &doc, errp);
	if (r)
		return r;
	struct json_object *cfg = get(doc, "config");
	if (cfg && !json_object_is_type(cfg, json_type_object) &&
	    !json_object_is_type(cfg, json_type_null)) {
		r = err_set(errp, EINVAL, "%s: `config` must be an object", what);
		goto out;
	}
	if ((r = str_field(doc, "created", c->created, sizeof(c->created), false, what, errp)) ||
	    (r = str_field(doc, "os", c->os, sizeof(c->os), false, what, errp)) ||
	    (r = str_field(doc, "architecture", c->arch, sizeof(c->arch), false, what, errp)) ||
	    (r = strv(cfg, "Entrypoint", &c->entrypoint, errp)) ||
	    (r = strv(cfg, "Cmd", &c->cmd, errp)) ||
	    (r = strv(cfg, "Env", &c->env, errp)) ||
	    (r = opt_strdup(cfg, "WorkingDir", &c->workdir, errp)) ||
	    (r = opt_strdup(cfg, "User", &c->user, errp)))
		goto out;
	struct json_object *ports = get(cfg, "ExposedPorts");
	if (ports && json_object_is_type(ports, json_type_object)) {
		size_t n = (size_t)json_object_object_length(ports), i = 0;
		if (n > MANIFEST_MAX_ENTRIES) {
			r = err_set(errp, EINVAL, "%s: too many ExposedPorts", what);
			goto out;
		}
		if (!(c->ports = calloc(n + 1, sizeof(char *)))) {
			r = err_set(errp, ENOMEM, "out of memory");
			goto out;
		}
		json_object_object_foreach(ports, k, v) {
			(void)v;
			if (strlen(k) > 64 || !(c->ports[i++] = strdup(k))) {
				r = err_set(errp, EINVAL, "%s: bad ExposedPorts key", what);
				goto out;
			}
		}
	} else if (ports && !json_object_is_type(ports, json_type_null)) {
		r = err_set(errp, EINVAL, "%s: `ExposedPorts` must be an object", what);
		goto out;
	}
	struct json_object *rootfs = get(doc, "rootfs");
	struct json_object *ids = get(rootfs, "diff_ids");
	if (!ids || !json_object_is_type(ids, json_type_array)) {
		r = err_set(errp, EINVAL, "%s: `rootfs.diff_ids` must be an array", what);
		goto out;
	}
	c->ndiff = json_object_array_length(ids);
	if (c->ndiff > MANIFEST_MAX_LAYERS) {
		r = err_set(errp, EINVAL, "%s: too many layers", what);
		goto out;
	}
	if (!(c->diff_ids = calloc(c->ndiff ? c->ndiff : 1, DIGEST_HEX))) {
		r = err_set(errp, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < c->ndiff; i++) {
		struct json_object *s = json_object_array_get_idx(ids, i);
		if (!json_object_is_type(s, json_type_string) ||
		    (r = digest_parse(json_object_get_string(s), c->diff_ids[i],
				      "image config: rootfs.diff_ids", errp))) {
			r = err_set(errp, EINVAL, "%s: bad rootfs.diff_ids entry", what);
			goto out;
		}
	}
out:
	if (r)
		oci_image_config_free(c);
	json_object_put(doc);
	return r;
}

void oci_image_config_free(struct oci_image_config *c)
{
	strv_free(c->entrypoint);
	strv_free(c->cmd);
	strv_free(c->env);
	strv_free(c->ports);
	free(c->workdir);
	free(c->user);
	free(c->diff_ids);
	memset(c, 0, sizeof(*c));
}

const char *oci_host_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#elif defined(__i386__)
	return "386";
#else
	return "unknown";
#endif
}
