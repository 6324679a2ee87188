/* `container load`: docker-archive and OCI image layout tars (image.h).
 * The archive is unpacked (as untrusted: no devices, no owners, nothing
 * outside the work directory) into the store's tmp/, then every file the
 * archive's index names is opened below that directory with symlinks
 * resolved inside it (openat2 RESOLVE_IN_ROOT), copied into the store with
 * its digest verified, and imported. */
#include "container/image.h"

#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "container/manifest.h"
#include "core/file.h"
#include "container/ref.h"
#include "container/tar.h"
#include "container/unpack.h"

/* A regular file of the unpacked archive by its (hostile) path. */
static int open_in(int dir, const char *path, struct err *errp)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS |
					   RESOLVE_NO_XDEV };
	int fd = (int)syscall(SYS_openat2, dir, path, &how, sizeof(how));
	if (fd < 0)
		return err_sys(errp, errno, "archive: `%.200s`", path);
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(errp, EINVAL, "archive: `%.200s` is not a regular file", path);
	}
	return fd;
}

static int read_small(int dir, const char *path, char **buf, size_t *len,
		      struct err *errp)
{
	int fd = open_in(dir, path, errp);
	if (fd < 0)
		return fd;
	char what[256];
	snprintf(what, sizeof(what), "archive: `%.200s`", path);
	int r = file_read_fd(fd, MANIFEST_MAX_BYTES, what, buf, len, errp);
	close(fd);
	return r;
}

static int put_file(struct store *s, int dir, const char *path,
		    const char *expect, char hex[DIGEST_HEX], uint64_t *size,
		    bool *gzip, struct err *errp)
{
	int fd = open_in(dir, path, errp);
	if (fd < 0)
		return fd;
	struct stat st;
	fstat(fd, &st);
	unsigned char mg[2] = { 0 };
	if (gzip)
		*gzip = pread(fd, mg, 2, 0) == 2 && mg[0] == 0x1f && mg[1] == 0x8b;
	if (size)
		*size = (uint64_t)st.st_size;
	int r = store_blob_put_fd(s, fd, expect, hex, errp);
	close(fd);
	return r ? err_prefix(errp, "archive: `%.200s`", path) : 0;
}

static int add_name(char ***names, size_t *n, const char *s)
{
	char **v = realloc(*names, (*n + 2) * sizeof(char *));
	if (!v)
		return -ENOMEM;
	*names = v;
	if (!(v[*n] = strdup(s)))
		return -ENOMEM;
	v[++*n] = NULL;
	return 0;
}

/* Normalise a name from an archive; "" when there is none usable. */
static int norm_name(const char *in, char *out, size_t cap, struct err *errp)
{
	struct image_ref ref;
	out[0] = '\0';
	if (!in || !*in)
		return 0;
	if (ref_parse(in, &ref, errp))
		return err_prefix(errp, "archive: image name");
	if (!ref.tag[0])
		return 0; /* a digest is not a name */
	ref_full(&ref, out, cap);
	return 0;
}

static int load_docker(struct store *s, struct store_images *im, int dir,
		       char ***names, size_t *nn, struct err *errp)
{
	char *buf;
	size_t len;
	int r = read_small(dir, "manifest.json", &buf, &len, errp);
	if (r)
		return r;
	struct json_tokener *tok = json_tokener_new();
	struct json_object *doc = tok ? json_tokener_parse_ex(tok, buf, (int)len) : NULL;
	if (tok)
		json_tokener_free(tok);
	free(buf);
	if (!doc || !json_object_is_type(doc, json_type_array) ||
	    json_object_array_length(doc) > MANIFEST_MAX_ENTRIES) {
		json_object_put(doc);
		return err_set(errp, EINVAL, "archive: manifest.json is not a docker-archive manifest list");
	}
	for (size_t i = 0; !r && i < json_object_array_length(doc); i++) {
		struct json_object *e = json_object_array_get_idx(doc, i), *cfg, *layers, *tags;
		if (!json_object_is_type(e, json_type_object) ||
		    !json_object_object_get_ex(e, "Config", &cfg) ||
		    !json_object_is_type(cfg, json_type_string) ||
		    !json_object_object_get_ex(e, "Layers", &layers) ||
		    !json_object_is_type(layers, json_type_array) ||
		    json_object_array_length(layers) > MANIFEST_MAX_LAYERS) {
			r = err_set(errp, EINVAL, "archive: manifest.json entry %zu: needs Config and Layers", i);
			break;
		}
		/* The manifest docker-archive leaves out, rebuilt from the
		 * files: the config and layer digests are what they hash to;
		 * the import checks each layer against the config's
		 * diff_ids. */
		struct json_object *m = json_object_new_object(), *cd = json_object_new_object(),
				   *la = json_object_new_array();
		json_object_object_add(m, "schemaVersion", json_object_new_int(2));
		json_object_object_add(m, "mediaType", json_object_new_string(MT_DOCKER_MANIFEST));
		json_object_object_add(m, "config", cd);
		json_object_object_add(m, "layers", la);
		char hex[DIGEST_HEX], dg[80];
		uint64_t size;
		bool gz;
		r = put_file(s, dir, json_object_get_string(cfg), NULL, hex, &size, NULL, errp);
		if (!r) {
			snprintf(dg, sizeof(dg), "sha256:%s", hex);
			json_object_object_add(cd, "mediaType", json_object_new_string(MT_DOCKER_CONFIG));
			json_object_object_add(cd, "size", json_object_new_int64((int64_t)size));
			json_object_object_add(cd, "digest", json_object_new_string(dg));
		}
		for (size_t k = 0; !r && k < json_object_array_length(layers); k++) {
			const char *lp = json_object_get_string(json_object_array_get_idx(layers, k));
			if (!lp) {
				r = err_set(errp, EINVAL, "archive: manifest.json: bad layer path");
				break;
			}
			if ((r = put_file(s, dir, lp, NULL, hex, &size, &gz, errp)))
				break;
			struct json_object *ld = json_object_new_object();
			snprintf(dg, sizeof(dg), "sha256:%s", hex);
			json_object_object_add(ld, "mediaType", json_object_new_string(
				gz ? "application/vnd.docker.image.rootfs.diff.tar.gzip"
				   : "application/vnd.docker.image.rootfs.diff.tar"));
			json_object_object_add(ld, "size", json_object_new_int64((int64_t)size));
			json_object_object_add(ld, "digest", json_object_new_string(dg));
			json_object_array_add(la, ld);
		}
		char mhex[DIGEST_HEX], id[DIGEST_HEX];
		if (!r) {
			const char *js = json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN |
									   JSON_C_TO_STRING_NOSLASHESCAPE);
			r = store_blob_put_buf(s, js, strlen(js), mhex, errp);
		}
		json_object_put(m);
		if (r)
			break;
		size_t ntags = json_object_object_get_ex(e, "RepoTags", &tags) &&
			       json_object_is_type(tags, json_type_array) ?
			       json_object_array_length(tags) : 0;
		char full[2 * REF_MAX];
		if ((r = image_import(s, im, mhex, NULL, id, errp)))
			break;
		for (size_t k = 0; !r && k < ntags; k++) {
			if ((r = norm_name(json_object_get_string(json_object_array_get_idx(tags, k)),
					   full, sizeof(full), errp)))
				break;
			if (full[0] && !(r = store_image_tag(im, (size_t)store_image_find(im, id, NULL), full, errp)))
				r = add_name(names, nn, full);
		}
		if (!r && !ntags) {
			snprintf(full, sizeof(full), "sha256:%s", id);
			r = add_name(names, nn, full);
		}
	}
	json_object_put(doc);
	return r;
}

static int load_oci(struct store *s, struct store_images *im, int dir,
		    char ***names, size_t *nn, struct err *errp)
{
	char *buf;
	size_t len;
	int r = read_small(dir, "index.json", &buf, &len, errp);
	if (r)
		return r;
	struct oci_index ix;
	r = oci_index_parse(buf, len, &ix, errp);
	free(buf);
	if (r)
		return err_prefix(errp, "archive: index.json");
	/* Every blob the layout holds goes into the store, checked against
	 * its file name; unreferenced ones are collected afterwards. */
	int bfd = unpack_open_dir(dir, "blobs/sha256", false, errp);
	DIR *d = bfd >= 0 ? fdopendir(bfd) : NULL;
	if (!d) {
		if (bfd >= 0)
			close(bfd);
		oci_index_free(&ix);
		return err_set(errp, EINVAL, "archive: OCI layout without blobs/sha256");
	}
	for (struct dirent *de; !r && (de = readdir(d));) {
		if (de->d_name[0] == '.')
			continue;
		if (!digest_hex_valid(de->d_name)) {
			r = err_set(errp, EINVAL, "archive: blobs/sha256/%.80s: not a sha256 name", de->d_name);
			break;
		}
		char p[300], hex[DIGEST_HEX];
		snprintf(p, sizeof(p), "blobs/sha256/%s", de->d_name);
		r = put_file(s, dir, p, de->d_name, hex, NULL, NULL, errp);
	}
	closedir(d);
	for (size_t i = 0; !r && i < ix.n; i++) {
		const struct oci_desc *e = &ix.manifests[i];
		char full[2 * REF_MAX] = "", id[DIGEST_HEX];
		/* A bare tag (skopeo's ref.name) has no repository to go
		 * with: the image stays nameless. */
		if (strchr(e->name, '/') || strchr(e->name, ':'))
			r = norm_name(e->name, full, sizeof(full), errp);
		if (!r)
			r = image_import(s, im, e->digest, full[0] ? full : NULL, id, errp);
		if (!r && !full[0])
			snprintf(full, sizeof(full), "sha256:%s", id);
		if (!r)
			r = add_name(names, nn, full);
	}
	oci_index_free(&ix);
	return r;
}

int image_load_archive(struct store *s, int fd, char ***names,
		       struct err *errp)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s/tmp/load.XXXXXX", s->root);
	if (!mkdtemp(tmp))
		return err_sys(errp, errno, "load: temporary directory");
	int dir = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = dir < 0 ? err_sys(errp, errno, "open `%s`", tmp) : 0;
	struct unpack_opts o = { 0 };
	char **nv = NULL;
	size_t nn = 0;
	struct store_images im = { 0 };
	if (!r && (r = unpack_tar(fd, dir, &o, NULL, NULL, errp)))
		err_prefix(errp, "archive");
	if (!r)
		r = store_lock(s, errp);
	if (!r)
		r = store_images_load(s, &im, errp);
	if (!r) {
		if (!faccessat(dir, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) &&
		    !faccessat(dir, "index.json", F_OK, AT_SYMLINK_NOFOLLOW))
			r = load_oci(s, &im, dir, &nv, &nn, errp);
		else if (!faccessat(dir, "manifest.json", F_OK, AT_SYMLINK_NOFOLLOW))
			r = load_docker(s, &im, dir, &nv, &nn, errp);
		else
			r = err_set(errp, EINVAL, "archive: neither a docker-archive (manifest.json) nor an OCI layout (oci-layout, index.json)");
		if (!r)
			r = store_images_save(s, &im, errp);
		/* Blobs of a failed load, and layout blobs no image uses. */
		struct store_images keep = { 0 };
		if (r) {
			store_images_free(&im);
			if (!store_images_load(s, &keep, NULL))
				store_gc(s, &keep);
		} else {
			store_gc(s, &im);
		}
		store_images_free(&keep);
	}
	store_images_free(&im);
	store_unlock(s);
	if (dir >= 0)
		close(dir);
	char *slash = strrchr(tmp, '/');
	*slash = '\0';
	int td = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (td >= 0) {
		struct err ig = { 0 };
		unpack_remove(td, slash + 1, &ig);
		close(td);
	}
	if (r) {
		for (size_t i = 0; i < nn; i++)
			free(nv[i]);
		free(nv);
		return r;
	}
	if (names)
		*names = nv;
	else {
		for (size_t i = 0; i < nn; i++)
			free(nv[i]);
		free(nv);
	}
	return 0;
}
