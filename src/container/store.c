/* The content-addressed image store (store.h). */
#include "container/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "container/ref.h"
#include "core/file.h"
#include "container/unpack.h"

int store_default_root(char *root, size_t cap, struct err *errp)
{
	const char *env = getenv("RINGVM_CONTAINER_ROOT");
	int n;
	if (env && *env)
		n = snprintf(root, cap, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(root, cap, "/var/lib/ringvm/containers");
	else if ((env = getenv("XDG_DATA_HOME")) && *env == '/')
		n = snprintf(root, cap, "%s/ringvm/containers", env);
	else if ((env = getenv("HOME")) && *env == '/')
		n = snprintf(root, cap, "%s/.local/share/ringvm/containers", env);
	else
		return err_set(errp, ENOENT, "no store directory: set RINGVM_CONTAINER_ROOT or HOME");
	if (n < 0 || (size_t)n >= cap)
		return err_set(errp, ENAMETOOLONG, "store directory name too long");
	if (root[0] != '/')
		return err_set(errp, EINVAL, "store directory `%s` must be an absolute path", root);
	return 0;
}

static int mkdir_p(const char *path, struct err *errp)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || !*p) {
			char c = *p;
			*p = '\0';
			if (mkdir(buf, 0700) && errno != EEXIST)
				return err_sys(errp, errno, "mkdir `%s`", buf);
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

int store_open(const char *root, struct store *s, struct err *errp)
{
	memset(s, 0, sizeof(*s));
	s->rootfd = s->lockfd = -1;
	int r;
	if (root) {
		if (strlen(root) >= sizeof(s->root) || root[0] != '/')
			return err_set(errp, EINVAL, "store directory `%.100s` must be an absolute path shorter than %zu bytes",
				       root, sizeof(s->root));
		snprintf(s->root, sizeof(s->root), "%s", root);
	} else if ((r = store_default_root(s->root, sizeof(s->root), errp)))
		return r;
	if ((r = mkdir_p(s->root, errp)))
		return err_prefix(errp, "image store");
	s->rootfd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->rootfd < 0)
		return err_sys(errp, errno, "image store `%s`", s->root);
	static const char *const dirs[] = { "blobs", "blobs/sha256", "layers",
					    "containers", "tmp" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (mkdirat(s->rootfd, dirs[i], 0700) && errno != EEXIST) {
			r = err_sys(errp, errno, "image store: mkdir `%s/%s`", s->root, dirs[i]);
			store_close(s);
			return r;
		}
	/* Layers must be reachable for the container's users (rootless
	 * uid maps): only the store root itself stays private. */
	fchmodat(s->rootfd, "layers", 0755, 0);
	return 0;
}

void store_close(struct store *s)
{
	store_unlock(s);
	if (s->rootfd >= 0)
		close(s->rootfd);
	s->rootfd = -1;
}

int store_lock(struct store *s, struct err *errp)
{
	if (s->lockfd >= 0)
		return 0;
	s->lockfd = openat(s->rootfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lockfd < 0)
		return err_sys(errp, errno, "image store: lock");
	if (flock(s->lockfd, LOCK_EX)) {
		int r = err_sys(errp, errno, "image store: lock");
		close(s->lockfd);
		s->lockfd = -1;
		return r;
	}
	return 0;
}

void store_unlock(struct store *s)
{
	if (s->lockfd >= 0)
		close(s->lockfd);
	s->lockfd = -1;
}

static int tmp_file(struct store *s, char *name, size_t cap, struct err *errp)
{
	snprintf(name, cap, "%s/tmp/blob.XXXXXX", s->root);
	int fd = mkostemp(name, O_CLOEXEC);
	if (fd < 0)
		return err_sys(errp, errno, "image store: temporary file");
	return fd;
}

static int blob_commit(struct store *s, const char *tmp, const char *hex,
		       struct err *errp)
{
	char dst[PATH_MAX];
	snprintf(dst, sizeof(dst), "%s/blobs/sha256/%s", s->root, hex);
	if (rename(tmp, dst)) {
		int r = err_sys(errp, errno, "image store: rename blob");
		unlink(tmp);
		return r;
	}
	return 0;
}

int store_blob_put_fd(struct store *s, int fd, const char *expect,
		      char hex[DIGEST_HEX], struct err *errp)
{
	char tmp[PATH_MAX];
	int out = tmp_file(s, tmp, sizeof(tmp), errp);
	if (out < 0)
		return out;
	struct digest_ctx *c = digest_init();
	char *buf = malloc(1 << 16);
	int r = 0;
	if (!c || !buf)
		r = err_set(errp, ENOMEM, "out of memory");
	while (!r) {
		ssize_t n = read(fd, buf, 1 << 16);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = err_sys(errp, errno, "read");
		if (n <= 0)
			break;
		digest_update(c, buf, (size_t)n);
		for (ssize_t off = 0; !r && off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno != EINTR)
				r = err_sys(errp, errno, "image store: write blob");
			else if (w > 0)
				off += w;
		}
	}
	free(buf);
	if (c) {
		if (r)
			digest_free(c);
		else
			digest_final(c, hex);
	}
	close(out);
	if (!r && expect && strcmp(expect, hex))
		r = err_set(errp, EINVAL, "digest mismatch: expected sha256:%.12s..., content is sha256:%.12s...",
			    expect, hex);
	if (r) {
		unlink(tmp);
		return r;
	}
	return blob_commit(s, tmp, hex, errp);
}

int store_blob_adopt(struct store *s, const char *path, const char *hex,
		     struct err *errp)
{
	if (!digest_hex_valid(hex))
		return err_set(errp, EINVAL, "bad digest");
	char dst[PATH_MAX];
	snprintf(dst, sizeof(dst), "%s/blobs/sha256/%s", s->root, hex);
	if (rename(path, dst))
		return err_sys(errp, errno, "image store: rename blob");
	return 0;
}

int store_blob_put_buf(struct store *s, const void *buf, size_t len,
		       char hex[DIGEST_HEX], struct err *errp)
{
	char tmp[PATH_MAX];
	int out = tmp_file(s, tmp, sizeof(tmp), errp);
	if (out < 0)
		return out;
	digest_buf(buf, len, hex);
	ssize_t w = write(out, buf, len);
	int r = 0;
	if (w < 0 || (size_t)w != len)
		r = err_sys(errp, w < 0 ? errno : ENOSPC, "image store: write blob");
	close(out);
	if (r) {
		unlink(tmp);
		return r;
	}
	return blob_commit(s, tmp, hex, errp);
}

bool store_blob_has(struct store *s, const char *hex)
{
	char p[128];
	snprintf(p, sizeof(p), "blobs/sha256/%s", hex);
	return digest_hex_valid(hex) && faccessat(s->rootfd, p, F_OK, 0) == 0;
}

int store_blob_open(struct store *s, const char *hex, uint64_t size,
		    struct err *errp)
{
	if (!digest_hex_valid(hex))
		return err_set(errp, EINVAL, "bad digest");
	char p[128];
	snprintf(p, sizeof(p), "blobs/sha256/%s", hex);
	int fd = openat(s->rootfd, p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_sys(errp, errno, "blob sha256:%.12s", hex);
	char got[DIGEST_HEX];
	uint64_t n;
	int r = digest_fd(fd, got, &n, errp);
	if (!r && (strcmp(got, hex) || (size != UINT64_MAX && n != size)))
		r = err_set(errp, EIO, "blob sha256:%.12s is corrupted (content hashes to sha256:%.12s, %llu bytes): refused",
			    hex, got, (unsigned long long)n);
	if (!r && lseek(fd, 0, SEEK_SET) < 0)
		r = err_sys(errp, errno, "lseek");
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

int store_blob_read(struct store *s, const char *hex, size_t max, char **buf,
		    size_t *len, struct err *errp)
{
	int fd = store_blob_open(s, hex, UINT64_MAX, errp);
	if (fd < 0)
		return fd;
	char what[64];
	snprintf(what, sizeof(what), "blob sha256:%.12s", hex);
	int r = file_read_fd(fd, max, what, buf, len, errp);
	close(fd);
	return r;
}

void store_layer_path(const struct store *s, const char *diff_id, char *out,
		      size_t cap)
{
	snprintf(out, cap, "%s/layers/%s", s->root, diff_id);
}

int store_layer_unpack(struct store *s, const char *blob, const char *diff_id,
		       uint64_t *usize, struct err *errp)
{
	char p[128], sizep[160];
	snprintf(p, sizeof(p), "layers/%s", diff_id);
	snprintf(sizep, sizeof(sizep), "layers/%s.size", diff_id);
	struct stat st;
	if (!fstatat(s->rootfd, p, &st, AT_SYMLINK_NOFOLLOW) && S_ISDIR(st.st_mode)) {
		/* Already unpacked (from this or another image). */
		int fd = openat(s->rootfd, sizep, O_RDONLY | O_CLOEXEC);
		unsigned long long v = 0;
		if (fd >= 0) {
			char b[32] = "";
			ssize_t n = read(fd, b, sizeof(b) - 1);
			b[n > 0 ? n : 0] = '\0';
			v = strtoull(b, NULL, 10);
			close(fd);
		}
		*usize = v;
		return 0;
	}
	/* Not store_blob_open: the unpack hashes the blob as it reads it
	 * (unpack_opts.blob_digest), one pass instead of two. */
	if (!digest_hex_valid(blob))
		return err_set(errp, EINVAL, "bad digest");
	char bp[128];
	snprintf(bp, sizeof(bp), "blobs/sha256/%s", blob);
	int bfd = openat(s->rootfd, bp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (bfd < 0)
		return err_sys(errp, errno, "blob sha256:%.12s", blob);
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s/tmp/layer.XXXXXX", s->root);
	if (!mkdtemp(tmp)) {
		close(bfd);
		return err_sys(errp, errno, "layer: temporary directory");
	}
	chmod(tmp, 0755);
	int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = dfd < 0 ? err_sys(errp, errno, "open `%s`", tmp) : 0;
	char got[DIGEST_HEX];
	bool priv = geteuid() == 0;
	struct unpack_opts o = { .layer = true, .devices = priv, .owners = priv,
				 .blob_digest = blob };
	if (!r)
		r = unpack_tar(bfd, dfd, &o, got, usize, errp);
	close(bfd);
	if (!r && strcmp(got, diff_id))
		r = err_set(errp, EINVAL, "uncompressed content hashes to sha256:%.12s, the image config says sha256:%.12s",
			    got, diff_id);
	if (!r) {
		char sz[32];
		int n = snprintf(sz, sizeof(sz), "%llu\n", (unsigned long long)*usize);
		int fd = openat(s->rootfd, sizep, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0) {
			if (write(fd, sz, (size_t)n) != n)
				r = err_sys(errp, errno, "write layer size");
			close(fd);
		}
	}
	if (!r && renameat(AT_FDCWD, tmp, s->rootfd, p)) {
		if (errno == EEXIST || errno == ENOTEMPTY)
			r = 0; /* unpacked concurrently: keep theirs */
		else
			r = err_sys(errp, errno, "layer: rename");
		/* tmp remains: removed below */
		if (!r)
			goto rm;
	}
	if (dfd >= 0)
		close(dfd);
	if (r)
		goto rm_only;
	return 0;
rm:
	if (dfd >= 0)
		close(dfd);
rm_only: {
		struct err ig = { 0 };
		char *slash = strrchr(tmp, '/');
		*slash = '\0';
		int td = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (td >= 0) {
			unpack_remove(td, slash + 1, &ig);
			close(td);
		}
	}
	return r ? err_prefix(errp, "layer sha256:%.12s", diff_id) : 0;
}

/* ---- images.json ---- */

static void image_free(struct store_image *m)
{
	for (size_t i = 0; i < m->nnames; i++)
		free(m->names[i]);
	free(m->names);
	free(m->blobs);
	free(m->layers);
	memset(m, 0, sizeof(*m));
}

void store_images_free(struct store_images *im)
{
	for (size_t i = 0; i < im->n; i++)
		image_free(&im->v[i]);
	free(im->v);
	im->v = NULL;
	im->n = 0;
}

static int hex_array(struct json_object *o, const char *k,
		     char (**out)[DIGEST_HEX], size_t *n)
{
	struct json_object *a = NULL;
	*out = NULL;
	*n = 0;
	if (!json_object_object_get_ex(o, k, &a) || !json_object_is_type(a, json_type_array))
		return -EINVAL;
	size_t len = json_object_array_length(a);
	*out = calloc(len ? len : 1, DIGEST_HEX);
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(a, i));
		if (!s || !digest_hex_valid(s))
			return -EINVAL;
		memcpy((*out)[i], s, DIGEST_HEX);
	}
	*n = len;
	return 0;
}

static int image_from_json(struct json_object *o, struct store_image *m)
{
	struct json_object *v;
	const char *s;
	memset(m, 0, sizeof(*m));
	if (!json_object_object_get_ex(o, "id", &v) || !(s = json_object_get_string(v)) ||
	    !digest_hex_valid(s))
		return -EINVAL;
	memcpy(m->id, s, DIGEST_HEX);
	if (!json_object_object_get_ex(o, "manifest", &v) || !(s = json_object_get_string(v)) ||
	    !digest_hex_valid(s))
		return -EINVAL;
	memcpy(m->manifest, s, DIGEST_HEX);
	if (json_object_object_get_ex(o, "created", &v))
		m->created = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "size", &v))
		m->size = (uint64_t)json_object_get_int64(v);
	if (hex_array(o, "blobs", &m->blobs, &m->nblobs) ||
	    hex_array(o, "layers", &m->layers, &m->nlayers))
		return -EINVAL;
	if (!json_object_object_get_ex(o, "names", &v) || !json_object_is_type(v, json_type_array))
		return -EINVAL;
	size_t n = json_object_array_length(v);
	m->names = calloc(n ? n : 1, sizeof(char *));
	if (!m->names)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		s = json_object_get_string(json_object_array_get_idx(v, i));
		if (!s || !(m->names[m->nnames] = strdup(s)))
			return -EINVAL;
		m->nnames++;
	}
	return 0;
}

int store_images_load(struct store *s, struct store_images *im,
		      struct err *errp)
{
	memset(im, 0, sizeof(*im));
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/images.json", s->root);
	if (access(p, F_OK) && errno == ENOENT)
		return 0;
	struct json_object *doc = json_object_from_file(p);
	struct json_object *a = NULL;
	if (!doc || !json_object_object_get_ex(doc, "images", &a) ||
	    !json_object_is_type(a, json_type_array)) {
		json_object_put(doc);
		return err_set(errp, EINVAL, "image store: `%s` is damaged", p);
	}
	size_t n = json_object_array_length(a);
	im->v = calloc(n ? n : 1, sizeof(*im->v));
	if (!im->v) {
		json_object_put(doc);
		return err_set(errp, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		int r = image_from_json(json_object_array_get_idx(a, i), &im->v[i]);
		im->n++;
		if (r) {
			json_object_put(doc);
			store_images_free(im);
			return err_set(errp, EINVAL, "image store: `%s` is damaged (entry %zu)", p, i);
		}
	}
	json_object_put(doc);
	return 0;
}

static struct json_object *hexes(char (*v)[DIGEST_HEX], size_t n)
{
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

int store_images_save(struct store *s, const struct store_images *im,
		      struct err *errp)
{
	struct json_object *doc = json_object_new_object(), *a = json_object_new_array();
	json_object_object_add(doc, "images", a);
	for (size_t i = 0; i < im->n; i++) {
		const struct store_image *m = &im->v[i];
		struct json_object *o = json_object_new_object(), *names = json_object_new_array();
		json_object_object_add(o, "id", json_object_new_string(m->id));
		json_object_object_add(o, "manifest", json_object_new_string(m->manifest));
		for (size_t k = 0; k < m->nnames; k++)
			json_object_array_add(names, json_object_new_string(m->names[k]));
		json_object_object_add(o, "names", names);
		json_object_object_add(o, "blobs", hexes(m->blobs, m->nblobs));
		json_object_object_add(o, "layers", hexes(m->layers, m->nlayers));
		json_object_object_add(o, "created", json_object_new_int64(m->created));
		json_object_object_add(o, "size", json_object_new_int64((int64_t)m->size));
		json_object_array_add(a, o);
	}
	char tmp[PATH_MAX], dst[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s/images.json.tmp", s->root);
	snprintf(dst, sizeof(dst), "%s/images.json", s->root);
	int r = 0;
	if (json_object_to_file_ext(tmp, doc, JSON_C_TO_STRING_PRETTY))
		r = err_sys(errp, errno ? errno : EIO, "image store: write `%s`", tmp);
	else if (rename(tmp, dst))
		r = err_sys(errp, errno, "image store: rename `%s`", tmp);
	json_object_put(doc);
	return r;
}

int store_image_find(const struct store_images *im, const char *spec,
		     struct err *errp)
{
	const char *h = spec;
	if (!strncmp(h, "sha256:", 7))
		h += 7;
	size_t hl = strspn(h, "0123456789abcdef");
	if (hl >= 3 && !h[hl] && hl <= 64) {
		int found = -1;
		for (size_t i = 0; i < im->n; i++)
			if (!strncmp(im->v[i].id, h, hl) ||
			    (hl == 64 && !strcmp(im->v[i].manifest, h))) {
				if (found >= 0 && found != (int)i)
					return err_set(errp, EINVAL, "image id `%s` is ambiguous", spec);
				found = (int)i;
			}
		if (found >= 0)
			return found;
		if (h != spec)
			return err_set(errp, ENOENT, "image `%s` not known", spec);
	}
	struct image_ref ref;
	int r = ref_parse(spec, &ref, errp);
	if (r)
		return r;
	char full[2 * REF_MAX];
	ref_full(&ref, full, sizeof(full));
	for (size_t i = 0; i < im->n; i++) {
		if (ref.digest[0] && !ref.tag[0]) {
			if (!strcmp(im->v[i].manifest, ref.digest))
				return (int)i;
			continue;
		}
		for (size_t k = 0; k < im->v[i].nnames; k++)
			if (!strcmp(im->v[i].names[k], full))
				return (int)i;
	}
	return err_set(errp, ENOENT, "image `%s` not known (try `ringvm container images`)", spec);
}

static void untag_all(struct store_images *im, const char *name)
{
	for (size_t i = 0; i < im->n; i++) {
		struct store_image *m = &im->v[i];
		for (size_t k = 0; k < m->nnames; k++)
			if (!strcmp(m->names[k], name)) {
				free(m->names[k]);
				memmove(&m->names[k], &m->names[k + 1],
					(m->nnames - k - 1) * sizeof(char *));
				m->nnames--;
				k--;
			}
	}
}

int store_image_tag(struct store_images *im, size_t i, const char *name,
		    struct err *errp)
{
	untag_all(im, name);
	struct store_image *m = &im->v[i];
	char **n = realloc(m->names, (m->nnames + 1) * sizeof(char *));
	if (!n)
		return err_set(errp, ENOMEM, "out of memory");
	m->names = n;
	if (!(n[m->nnames] = strdup(name)))
		return err_set(errp, ENOMEM, "out of memory");
	m->nnames++;
	return 0;
}

int store_image_put(struct store_images *im, struct store_image *img,
		    struct err *errp)
{
	for (size_t i = 0; i < im->n; i++)
		if (!strcmp(im->v[i].id, img->id)) {
			/* Same image again: keep its names, add the new ones. */
			for (size_t k = 0; k < img->nnames; k++) {
				int r = store_image_tag(im, i, img->names[k], errp);
				if (r)
					return r;
			}
			image_free(img);
			return 0;
		}
	for (size_t k = 0; k < img->nnames; k++)
		untag_all(im, img->names[k]);
	struct store_image *v = realloc(im->v, (im->n + 1) * sizeof(*v));
	if (!v)
		return err_set(errp, ENOMEM, "out of memory");
	im->v = v;
	v[im->n++] = *img;
	memset(img, 0, sizeof(*img));
	return 0;
}

static bool referenced(const struct store_images *im, const char *name,
		       bool layer)
{
	for (size_t i = 0; i < im->n; i++) {
		const struct store_image *m = &im->v[i];
		size_t n = layer ? m->nlayers : m->nblobs;
		for (size_t k = 0; k < n; k++)
			if (!strncmp(layer ? m->layers[k] : m->blobs[k], name, 64))
				return true;
	}
	return false;
}

void store_gc(struct store *s, const struct store_images *im)
{
	static const char *const dirs[] = { "blobs/sha256", "layers" };
	for (int d = 0; d < 2; d++) {
		int fd = openat(s->rootfd, dirs[d], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
		if (!dir) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		for (struct dirent *de; (de = readdir(dir));) {
			if (strlen(de->d_name) < 64 || referenced(im, de->d_name, d == 1))
				continue;
			struct err ig = { 0 };
			unpack_remove(dirfd(dir), de->d_name, &ig);
		}
		closedir(dir);
	}
}
