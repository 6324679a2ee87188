/* OCI distribution-spec client (registry.h). */
#include "container/registry.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "container/curl_dl.h"
#include "container/image.h"
#include "container/manifest.h"

struct client {
	struct curl_dl api;
	CURL *curl;
	char base[600];              /* scheme://host[:port]/v2/PATH */
	char token[8192];            /* bearer token, "" for none */
	const struct registry_opts *o;
	char challenge[2048];        /* last WWW-Authenticate */
	char ctype[256];             /* last Content-Type */
};

/* A response body going to memory (bounded) or a file (hashed). */
struct sink {
	char *buf;
	size_t len, max;
	int fd;
	struct digest_ctx *hash;
	uint64_t written, limit;
	bool too_big;
	/* Resuming a partial blob: a 200 instead of 206 means the server
	 * sends everything again, so the file starts over. */
	bool resuming;
	CURL *h;
	const struct curl_dl *api;  /* set with h */
	/* A progress bar on a terminal, redrawn in place at most every
	 * PROGRESS_NS: "ID: Downloading [=====>    ]  1.2/3.4 MB". */
	FILE *progress;
	const char *id;
	uint64_t base;               /* bytes already there when resuming */
	uint64_t drawn_ns;           /* CLOCK_MONOTONIC of the last redraw */
};

#define PROGRESS_NS 100000000ull /* 10 redraws a second at most */
#define PROGRESS_BAR 40          /* cells between the brackets */

static size_t on_data(char *p, size_t sz, size_t n, void *arg)
{
	struct sink *k = arg;
	size_t len = sz * n;
	if (k->fd >= 0 && k->resuming) {
		long code = 0;
		k->api->easy_getinfo(k->h, CURLINFO_RESPONSE_CODE, &code);
		if (code == 200) {
			if (ftruncate(k->fd, 0) || lseek(k->fd, 0, SEEK_SET))
				return 0;
			digest_free(k->hash);
			if (!(k->hash = digest_init()))
				return 0;
			k->written = 0;
		}
		k->resuming = false;
	}
	if (k->fd >= 0) {
		if (k->written + len > k->limit) {
			k->too_big = true;
			return 0;
		}
		for (size_t off = 0; off < len;) {
			ssize_t w = write(k->fd, p + off, len - off);
			if (w <= 0)
				return 0;
			off += (size_t)w;
		}
		digest_update(k->hash, p, len);
		k->written += len;
		return len;
	}
	if (k->len + len > k->max) {
		k->too_big = true;
		return 0;
	}
	char *nb = realloc(k->buf, k->len + len + 1);
	if (!nb)
		return 0;
	k->buf = nb;
	memcpy(nb + k->len, p, len);
	k->len += len;
	nb[k->len] = '\0';
	return len;
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct client *c = arg;
	size_t len = sz * n;
	char line[2048];
	size_t l = len < sizeof(line) - 1 ? len : sizeof(line) - 1;
	memcpy(line, p, l);
	line[l] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	/* A redirect's headers come first: keep the last response's. */
	if (!strncasecmp(line, "HTTP/", 5))
		c->challenge[0] = c->ctype[0] = '\0';
	else if (!strncasecmp(line, "WWW-Authenticate:", 17))
		snprintf(c->challenge, sizeof(c->challenge), "%s", line + 17 + strspn(line + 17, " "));
	else if (!strncasecmp(line, "Content-Type:", 13))
		snprintf(c->ctype, sizeof(c->ctype), "%s", line + 13 + strspn(line + 13, " "));
	return len;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	struct sink *k = arg;
	if (!k->progress || dltotal <= 0)
		return 0;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (dlnow < dltotal && now - k->drawn_ns < PROGRESS_NS)
		return 0;
	k->drawn_ns = now;
	uint64_t done = k->base + (uint64_t)dlnow, all = k->base + (uint64_t)dltotal;
	unsigned fill = done >= all ? PROGRESS_BAR : (unsigned)(done * PROGRESS_BAR / all);
	char bar[PROGRESS_BAR + 1];
	for (unsigned i = 0; i < PROGRESS_BAR; i++)
		bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
	bar[PROGRESS_BAR] = '\0';
	fprintf(k->progress, "\r%.12s: Downloading [%s] %6.1f/%.1f MB", k->id, bar,
		(double)done / 1e6, (double)all / 1e6);
	fflush(k->progress);
	return 0;
}

/* One GET: status in *code.  curl errors become -EIO. */
static int get(struct client *c, const char *url, const char *accept,
	       struct sink *k, long *code, struct err *errp)
{
	CURL *h = c->curl;
	char range[32];
	c->api.easy_reset(h);
	struct curl_slist *hd = NULL;
	if (accept) {
		char a[600];
		snprintf(a, sizeof(a), "Accept: %s", accept);
		hd = c->api.slist_append(hd, a);
	}
	c->api.easy_setopt(h, CURLOPT_URL, url);
	c->api.easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	c->api.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	c->api.easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
	c->api.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	c->api.easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	c->api.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	c->api.easy_setopt(h, CURLOPT_WRITEDATA, k);
	c->api.easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	c->api.easy_setopt(h, CURLOPT_HEADERDATA, c);
	c->api.easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	c->api.easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	c->api.easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
	c->api.easy_setopt(h, CURLOPT_USERAGENT, "ringvm");
	c->api.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (c->o->no_verify) {
		c->api.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		c->api.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (k->fd >= 0 && k->written) {
		/* Resume a partial blob (RFC 9110 Range). */
		k->resuming = true;
		k->h = h;
		k->api = &c->api;
		/* CURLOPT_RANGE, not RESUME_FROM: a server that ignores
		 * it answers 200 with everything, which on_data handles. */
		snprintf(range, sizeof(range), "%llu-", (unsigned long long)k->written);
		c->api.easy_setopt(h, CURLOPT_RANGE, range);
	}
	if (k->progress) {
		c->api.easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
		c->api.easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
		c->api.easy_setopt(h, CURLOPT_XFERINFODATA, k);
	}
	if (c->token[0]) {
		/* curl's own bearer auth is not sent on to another host a
		 * redirect leads to (a blob store's signed URL). */
		c->api.easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
		c->api.easy_setopt(h, CURLOPT_XOAUTH2_BEARER, c->token);
	}
	CURLcode rc = c->api.easy_perform(h);
	c->api.slist_free_all(hd);
	if (k->too_big)
		return err_set(errp, EFBIG, "GET %.300s: response larger than expected", url);
	if (rc != CURLE_OK)
		return err_set(errp, EIO, "GET %.300s: %s", url, c->api.easy_strerror(rc));
	c->api.easy_getinfo(h, CURLINFO_RESPONSE_CODE, code);
	return 0;
}

/* The token for a challenge: GET realm?service=..&scope=.. (anonymous). */
static int fetch_token(struct client *c, struct err *errp)
{
	char realm[1024], service[512], scope[512];
	int r = registry_parse_challenge(c->challenge, realm, service, scope, sizeof(realm), errp);
	if (r)
		return r;
	char url[3072];
	char *es = c->api.easy_escape(c->curl, service, 0), *esc = c->api.easy_escape(c->curl, scope, 0);
	snprintf(url, sizeof(url), "%s%sservice=%s%s%s", realm, strchr(realm, '?') ? "&" : "?",
		 es ? es : "", scope[0] ? "&scope=" : "", scope[0] && esc ? esc : "");
	c->api.free(es);
	c->api.free(esc);
	c->token[0] = '\0';
	struct sink k = { .max = 1 << 20, .fd = -1 };
	long code = 0;
	r = get(c, url, "application/json", &k, &code, errp);
	if (!r && code != 200)
		r = err_set(errp, EACCES, "token from %.300s: HTTP %ld", realm, code);
	if (!r) {
		struct json_object *doc = json_tokener_parse(k.buf ? k.buf : ""), *t = NULL;
		if (!doc || (!json_object_object_get_ex(doc, "token", &t) &&
			     !json_object_object_get_ex(doc, "access_token", &t)) ||
		    !json_object_is_type(t, json_type_string) ||
		    (size_t)json_object_get_string_len(t) >= sizeof(c->token))
			r = err_set(errp, EACCES, "token from %.300s: no usable token in the answer", realm);
		else
			snprintf(c->token, sizeof(c->token), "%s", json_object_get_string(t));
		json_object_put(doc);
	}
	free(k.buf);
	return r;
}

/* The registry's error ("MANIFEST_UNKNOWN: manifest unknown") if the
 * body is its JSON error document. */
static void registry_error(const struct sink *k, char *out, size_t cap)
{
	out[0] = '\0';
	if (!k->buf)
		return;
	struct json_object *doc = json_tokener_parse(k->buf), *errs, *e0, *code, *msg;
	if (doc && json_object_object_get_ex(doc, "errors", &errs) &&
	    json_object_is_type(errs, json_type_array) && json_object_array_length(errs) &&
	    (e0 = json_object_array_get_idx(errs, 0)) &&
	    json_object_object_get_ex(e0, "code", &code))
		snprintf(out, cap, " (%.60s%s%.120s)", json_object_get_string(code),
			 json_object_object_get_ex(e0, "message", &msg) ? ": " : "",
			 json_object_object_get_ex(e0, "message", &msg) ? json_object_get_string(msg) : "");
	json_object_put(doc);
}

/* GET with one retry after a 401 (fetching a token). */
static int get_auth(struct client *c, const char *url, const char *accept,
		    struct sink *k, struct err *errp)
{
	long code = 0;
	for (int attempt = 0;; attempt++) {
		int r = get(c, url, accept, k, &code, errp);
		if (r)
			return r;
		if (code == 401 && attempt == 0 && c->challenge[0]) {
			if ((r = fetch_token(c, errp)))
				return r;
			/* Start the body again. */
			free(k->buf);
			k->buf = NULL;
			k->len = 0;
			if (k->fd >= 0) {
				if (ftruncate(k->fd, 0) || lseek(k->fd, 0, SEEK_SET))
					return err_sys(errp, errno, "truncate");
				digest_free(k->hash);
				if (!(k->hash = digest_init()))
					return err_set(errp, ENOMEM, "out of memory");
				k->written = 0;
			}
			continue;
		}
		if (code == 200 || (code == 206 && k->fd >= 0))
			return 0;
		char why[256];
		registry_error(k, why, sizeof(why));
		return err_set(errp, code == 404 ? ENOENT : code == 401 || code == 403 ? EACCES : EIO,
			       "GET %.300s: HTTP %ld%s", url, code, why);
	}
}

static const char accept_manifests[] =
	MT_OCI_INDEX ", " MT_OCI_MANIFEST ", " MT_DOCKER_LIST ", " MT_DOCKER_MANIFEST;

/* Fetch manifest `what` (tag or sha256:HEX) into the store; hex receives
 * its digest, which must equal `what` when that is a digest. */
static int pull_manifest(struct client *c, struct store *s, const char *what,
			 char hex[DIGEST_HEX], struct err *errp)
{
	char url[1024];
	snprintf(url, sizeof(url), "%s/manifests/%s", c->base, what);
	struct sink k = { .max = MANIFEST_MAX_BYTES, .fd = -1 };
	int r = get_auth(c, url, accept_manifests, &k, errp);
	if (!r && !k.buf)
		r = err_set(errp, EINVAL, "GET %.300s: empty manifest", url);
	if (!r) {
		digest_buf(k.buf, k.len, hex);
		if (!strncmp(what, "sha256:", 7) && strcmp(what + 7, hex))
			r = err_set(errp, EINVAL, "manifest %.20s...: content hashes to sha256:%.12s...: refused",
				    what, hex);
	}
	if (!r)
		r = store_blob_put_buf(s, k.buf, k.len, hex, errp);
	free(k.buf);
	return r;
}

/* A blob into the store through ROOT/tmp/pull-HEX.part, which a pull that
 * fails on the network keeps: the next one resumes it (its bytes are
 * hashed first, the rest is asked for with a Range).  Content that does
 * not hash to the digest is refused and the part removed. */
static int pull_blob(struct client *c, struct store *s, const struct oci_desc *d,
		     struct err *errp)
{
	if (store_blob_has(s, d->digest))
		return 0;
	char url[1024], tmp[PATH_MAX];
	snprintf(url, sizeof(url), "%s/blobs/sha256:%s", c->base, d->digest);
	snprintf(tmp, sizeof(tmp), "%s/tmp/pull-%s.part", s->root, d->digest);
	int fd = open(tmp, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys(errp, errno, "pull: `%s`", tmp);
	/* One puller per part; a second one waits and finds it done. */
	flock(fd, LOCK_EX);
	if (store_blob_has(s, d->digest)) {
		/* Another puller finished it while we waited. */
		struct stat st;
		if (!fstat(fd, &st) && st.st_nlink && !st.st_size)
			unlink(tmp);
		close(fd);
		return 0;
	}
	struct sink k = { .fd = fd, .hash = digest_init(), .limit = d->size, .id = d->digest };
	if (c->o->progress && isatty(fileno(c->o->progress)))
		k.progress = c->o->progress;
	int r = k.hash ? 0 : err_set(errp, ENOMEM, "out of memory");
	char buf[65536];
	for (ssize_t n; !r && (n = read(fd, buf, sizeof(buf))) > 0;) {
		digest_update(k.hash, buf, (size_t)n);
		k.written += (uint64_t)n;
	}
	if (!r && k.written > d->size) {
		/* Not a prefix of this blob: start over. */
		if (ftruncate(fd, 0) || lseek(fd, 0, SEEK_SET))
			r = err_sys(errp, errno, "pull: truncate");
		digest_free(k.hash);
		k.hash = digest_init();
		k.written = 0;
	}
	k.base = k.written;
	if (!r && k.written < d->size)
		r = get_auth(c, url, NULL, &k, errp);
	if (k.progress)
		fprintf(k.progress, "\r\033[K");
	char got[DIGEST_HEX] = "";
	if (k.hash)
		digest_final(k.hash, got);
	bool keep = r && r != -EFBIG; /* a network failure: resume later */
	if (!r && (strcmp(got, d->digest) || k.written != d->size))
		r = err_set(errp, EINVAL, "blob sha256:%.12s...: downloaded %llu bytes hashing to sha256:%.12s...: refused",
			    d->digest, (unsigned long long)k.written, got);
	if (!r) {
		/* Verified while downloading: the part becomes the blob
		 * as it is, no copy and no second hash (the unpack hashes
		 * it once more as it reads it). */
		r = store_blob_adopt(s, tmp, d->digest, errp);
		if (!r)
			keep = true; /* nothing left at tmp to remove */
	}
	if (!keep)
		unlink(tmp);
	close(fd);
	if (!r && c->o->progress)
		fprintf(c->o->progress, "%.12s: Pull complete\n", d->digest);
	return r;
}

static bool local_host(const char *domain)
{
	return !strncmp(domain, "localhost", 9) || !strncmp(domain, "127.", 4) ||
	       !strncmp(domain, "[::1]", 5);
}

int registry_pull(struct store *s, const struct image_ref *ref,
		  const struct registry_opts *o, char id[DIGEST_HEX],
		  struct err *errp)
{
	struct client *c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(errp, ENOMEM, "out of memory");
	int lr0 = curl_dl_load(&c->api, errp);
	if (lr0) {
		free(c);
		return lr0;
	}
	if (c->api.global_init(CURL_GLOBAL_DEFAULT)) {
		curl_dl_unload(&c->api);
		free(c);
		return err_set(errp, EIO, "libcurl initialisation failed");
	}
	if (!(c->curl = c->api.easy_init())) {
		c->api.global_cleanup();
		curl_dl_unload(&c->api);
		free(c);
		return err_set(errp, ENOMEM, "out of memory");
	}
	c->o = o;
	const char *host = strcmp(ref->domain, "docker.io") ? ref->domain : "registry-1.docker.io";
	snprintf(c->base, sizeof(c->base), "%s://%s/v2/%s",
		 o->insecure || local_host(ref->domain) ? "http" : "https", host, ref->path);
	char what[300], mhex[DIGEST_HEX], top[DIGEST_HEX];
	if (ref->digest[0])
		snprintf(what, sizeof(what), "sha256:%s", ref->digest);
	else
		snprintf(what, sizeof(what), "%s", ref->tag);
	if (o->progress)
		fprintf(o->progress, "%s: Pulling from %s\n", ref->tag[0] ? ref->tag : what, ref->path);
	int r = pull_manifest(c, s, what, top, errp);
	memcpy(mhex, top, DIGEST_HEX);
	char *buf = NULL;
	size_t len;
	struct oci_manifest m = { 0 };
	struct oci_image_config ic = { 0 };
	if (!r && !(r = store_blob_read(s, mhex, MANIFEST_MAX_BYTES, &buf, &len, errp)) &&
	    oci_doc_is_index(buf, len)) {
		struct oci_index ix;
		size_t i;
		if (!(r = oci_index_parse(buf, len, &ix, errp)) &&
		    !(r = oci_index_pick(&ix, "linux", oci_host_arch(), &i, errp))) {
			char d[80];
			snprintf(d, sizeof(d), "sha256:%s", ix.manifests[i].digest);
			r = pull_manifest(c, s, d, mhex, errp);
		}
		oci_index_free(&ix);
		free(buf);
		buf = NULL;
		if (!r)
			r = store_blob_read(s, mhex, MANIFEST_MAX_BYTES, &buf, &len, errp);
	}
	if (!r)
		r = oci_manifest_parse(buf, len, &m, errp);
	free(buf);
	if (!r)
		r = pull_blob(c, s, &m.config, errp);
	for (size_t i = 0; !r && i < m.nlayers; i++)
		r = pull_blob(c, s, &m.layers[i], errp);
	struct store_images im = { 0 };
	int lr = store_lock(s, r ? NULL : errp);
	if (!r)
		r = lr;
	if (!r)
		r = store_images_load(s, &im, errp);
	if (!r) {
		char full[2 * REF_MAX];
		ref_full(ref, full, sizeof(full));
		r = image_import(s, &im, mhex, ref->tag[0] ? full : NULL, id, errp);
		if (!r)
			r = store_images_save(s, &im, errp);
	}
	if (r && !lr) {
		/* Keep nothing a failed pull brought. */
		struct store_images keep = { 0 };
		if (!store_images_load(s, &keep, NULL))
			store_gc(s, &keep);
		store_images_free(&keep);
	}
	store_images_free(&im);
	store_unlock(s);
	if (!r && o->progress)
		fprintf(o->progress, "Digest: sha256:%s\n", top);
	oci_manifest_free(&m);
	oci_image_config_free(&ic);
	c->api.easy_cleanup(c->curl);
	c->api.global_cleanup();
	curl_dl_unload(&c->api);
	free(c);
	return r;
}
