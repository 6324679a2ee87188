/* tar stream reader: POSIX.1-2001 "pax Interchange Format" (ustar header
 * layout, extended headers 'x', global 'g' ignored) and the GNU 'L'/'K'
 * long-name extension that GNU tar and Go's archive/tar write. */
#include "container/tar.h"

#include <stdio.h>
#include <string.h>

void tar_reader_init(struct tar_reader *r, tar_read_fn fn, void *ctx)
{
	memset(r, 0, sizeof(*r));
	r->read = fn;
	r->ctx = ctx;
}

/* Exactly n bytes or an error ("truncated" at a short end). */
static int read_full(struct tar_reader *r, void *buf, size_t n,
		     struct err *errp)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = r->read(r->ctx, (char *)buf + got, n - got, errp);
		if (k < 0)
			return (int)k;
		if (k == 0)
			return err_set(errp, EIO, "tar: truncated archive");
		got += (size_t)k;
	}
	return 0;
}

static int skip(struct tar_reader *r, uint64_t n, struct err *errp)
{
	char buf[4096];
	while (n) {
		size_t k = n < sizeof(buf) ? (size_t)n : sizeof(buf);
		int rr = read_full(r, buf, k, errp);
		if (rr)
			return rr;
		n -= k;
	}
	return 0;
}

/* An octal field (spaces/NULs around it) or GNU base-256 (high bit set). */
static int number(const uint8_t *f, size_t len, uint64_t max, uint64_t *out,
		  const char *what, struct err *errp)
{
	uint64_t v = 0;
	if (f[0] & 0x80) {
		if (f[0] != 0x80)
			return err_set(errp, EINVAL, "tar: %s: negative or oversized base-256 number", what);
		for (size_t i = 1; i < len; i++) {
			if (v >> 56)
				return err_set(errp, EINVAL, "tar: %s: number too large", what);
			v = v << 8 | f[i];
		}
	} else {
		size_t i = 0;
		while (i < len && (f[i] == ' ' || f[i] == 0))
			i++;
		if (i == len) {
			*out = 0;
			return 0;
		}
		for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
			if (v >> 60)
				return err_set(errp, EINVAL, "tar: %s: number too large", what);
			v = v * 8 + (uint64_t)(f[i] - '0');
		}
		for (; i < len; i++)
			if (f[i] != ' ' && f[i] != 0)
				return err_set(errp, EINVAL, "tar: %s: not an octal number (not a tar archive?)", what);
	}
	if (v > max)
		return err_set(errp, EINVAL, "tar: %s: %llu out of range", what,
			       (unsigned long long)v);
	*out = v;
	return 0;
}

/* A fixed-size string field: up to len bytes, NUL-terminated or full. */
static void field_str(char *dst, const uint8_t *f, size_t len)
{
	size_t n = strnlen((const char *)f, len);
	memcpy(dst, f, n);
	dst[n] = '\0';
}

int tar_header_parse(const uint8_t blk[TAR_BLOCK], struct tar_entry *e,
		     struct err *errp)
{
	int zero = 1;
	for (int i = 0; i < TAR_BLOCK; i++)
		if (blk[i]) {
			zero = 0;
			break;
		}
	if (zero)
		return 0;
	uint64_t chk, sum = 0, v;
	for (int i = 0; i < TAR_BLOCK; i++)
		sum += (i >= 148 && i < 156) ? ' ' : blk[i];
	if (number(blk + 148, 8, UINT32_MAX, &chk, "checksum", errp))
		return -EINVAL;
	if (chk != sum)
		return err_set(errp, EINVAL, "tar: header checksum mismatch (not a tar archive?)");
	memset(e, 0, sizeof(*e));
	char name[101], prefix[156];
	field_str(name, blk, 100);
	prefix[0] = '\0';
	if (!memcmp(blk + 257, "ustar", 5))
		field_str(prefix, blk + 345, 155);
	if (prefix[0])
		snprintf(e->path, sizeof(e->path), "%s/%s", prefix, name);
	else
		memcpy(e->path, name, strlen(name) + 1);
	field_str(e->link, blk + 157, 100);
	e->type = (char)blk[156];
	if (e->type == '\0')
		e->type = '0';
	if (number(blk + 100, 8, 07777777, &v, "mode", errp))
		return -EINVAL;
	e->mode = (uint32_t)v & 07777;
	if (number(blk + 108, 8, UINT32_MAX, &v, "uid", errp))
		return -EINVAL;
	e->uid = (uint32_t)v;
	if (number(blk + 116, 8, UINT32_MAX, &v, "gid", errp))
		return -EINVAL;
	e->gid = (uint32_t)v;
	if (number(blk + 124, 12, (uint64_t)1 << 50, &e->size, "size", errp))
		return -EINVAL;
	if (number(blk + 136, 12, INT64_MAX, &v, "mtime", errp))
		return -EINVAL;
	e->mtime = (int64_t)v;
	if (number(blk + 329, 8, UINT32_MAX, &v, "devmajor", errp))
		return -EINVAL;
	e->devmajor = (uint32_t)v;
	if (number(blk + 337, 8, UINT32_MAX, &v, "devminor", errp))
		return -EINVAL;
	e->devminor = (uint32_t)v;
	return 1;
}

/* Overrides from pax records ("LEN KEY=VALUE\n"), applied to the entry
 * that follows. */
struct pax {
	char path[TAR_PATH_MAX + 1], link[TAR_PATH_MAX + 1];
	bool has_path, has_link, has_size, has_uid, has_gid;
	uint64_t size, uid, gid;
};

static int pax_str(char *dst, const char *v, size_t n, const char *key,
		   struct err *errp)
{
	if (n > TAR_PATH_MAX || memchr(v, 0, n))
		return err_set(errp, EINVAL, "tar: pax %s too long or contains NUL", key);
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

static int pax_num(const char *v, size_t n, uint64_t max, uint64_t *out,
		   const char *key, struct err *errp)
{
	uint64_t x = 0;
	if (n == 0 || n > 19)
		return err_set(errp, EINVAL, "tar: pax %s: bad number", key);
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return err_set(errp, EINVAL, "tar: pax %s: bad number", key);
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (x > max)
		return err_set(errp, EINVAL, "tar: pax %s: out of range", key);
	*out = x;
	return 0;
}

static int pax_parse(const char *d, size_t n, struct pax *p, struct err *errp)
{
	size_t off = 0;
	while (off < n) {
		/* Trailing NUL padding after the last record is tolerated. */
		if (d[off] == '\0')
			break;
		size_t len = 0, i = off;
		while (i < n && d[i] >= '0' && d[i] <= '9' && i - off < 10)
			len = len * 10 + (size_t)(d[i++] - '0');
		if (i >= n || d[i] != ' ' || len <= i - off + 1 || len > n - off ||
		    d[off + len - 1] != '\n')
			return err_set(errp, EINVAL, "tar: malformed pax record");
		const char *kv = d + i + 1, *end = d + off + len - 1;
		const char *eq = memchr(kv, '=', (size_t)(end - kv));
		if (!eq)
			return err_set(errp, EINVAL, "tar: pax record without `=`");
		size_t klen = (size_t)(eq - kv), vlen = (size_t)(end - eq - 1);
		const char *v = eq + 1;
		int r = 0;
#define KEY(s) (klen == sizeof(s) - 1 && !memcmp(kv, s, klen))
		if (KEY("path"))
			r = pax_str(p->path, v, vlen, "path", errp), p->has_path = true;
		else if (KEY("linkpath"))
			r = pax_str(p->link, v, vlen, "linkpath", errp), p->has_link = true;
		else if (KEY("size"))
			r = pax_num(v, vlen, (uint64_t)1 << 50, &p->size, "size", errp), p->has_size = true;
		else if (KEY("uid"))
			r = pax_num(v, vlen, UINT32_MAX, &p->uid, "uid", errp), p->has_uid = true;
		else if (KEY("gid"))
			r = pax_num(v, vlen, UINT32_MAX, &p->gid, "gid", errp), p->has_gid = true;
#undef KEY
		if (r)
			return r;
		off += len;
	}
	return 0;
}

/* Read an extension header's body (size bytes plus padding) into a
 * NUL-terminated malloc'd buffer. */
static int read_ext(struct tar_reader *r, uint64_t size, char **out,
		    struct err *errp)
{
	if (size > TAR_PAX_MAX)
		return err_set(errp, EINVAL, "tar: extension header of %llu bytes is too large",
			       (unsigned long long)size);
	char *b = malloc((size_t)size + 1);
	if (!b)
		return err_set(errp, ENOMEM, "tar: out of memory");
	int rr = read_full(r, b, (size_t)size, errp);
	if (!rr)
		rr = skip(r, (TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK, errp);
	if (rr) {
		free(b);
		return rr;
	}
	b[size] = '\0';
	*out = b;
	return 0;
}

int tar_next(struct tar_reader *r, struct tar_entry *e, struct err *errp)
{
	if (r->end)
		return 0;
	int rr = skip(r, r->remaining + r->pad, errp);
	if (rr)
		return rr;
	r->remaining = r->pad = 0;
	struct pax p = { 0 };
	char gnu_path[TAR_PATH_MAX + 1], gnu_link[TAR_PATH_MAX + 1];
	bool has_gnu_path = false, has_gnu_link = false;
	for (int ext = 0;; ext++) {
		uint8_t blk[TAR_BLOCK];
		/* A stream that ends without the two zero blocks is accepted
		 * at an entry boundary (some writers omit them). */
		ssize_t k = r->read(r->ctx, blk, 1, errp);
		if (k < 0)
			return (int)k;
		if (k == 0) {
			if (ext)
				return err_set(errp, EIO, "tar: truncated archive");
			r->end = true;
			return 0;
		}
		if ((rr = read_full(r, blk + 1, TAR_BLOCK - 1, errp)))
			return rr;
		int h = tar_header_parse(blk, e, errp);
		if (h < 0)
			return h;
		if (h == 0) {
			if (ext)
				return err_set(errp, EINVAL, "tar: extension header at end of archive");
			r->end = true;
			return 0;
		}
		if (ext > 8)
			return err_set(errp, EINVAL, "tar: too many extension headers");
		if (e->type == 'x' || e->type == 'g' || e->type == 'L' || e->type == 'K') {
			char *body = NULL;
			if ((rr = read_ext(r, e->size, &body, errp)))
				return rr;
			if (e->type == 'x')
				rr = pax_parse(body, (size_t)e->size, &p, errp);
			else if (e->type == 'L')
				rr = pax_str(gnu_path, body, strlen(body), "GNU long name", errp),
				has_gnu_path = true;
			else if (e->type == 'K')
				rr = pax_str(gnu_link, body, strlen(body), "GNU long link", errp),
				has_gnu_link = true;
			free(body);
			if (rr)
				return rr;
			continue;
		}
		break;
	}
	if (has_gnu_path)
		memcpy(e->path, gnu_path, strlen(gnu_path) + 1);
	if (has_gnu_link)
		memcpy(e->link, gnu_link, strlen(gnu_link) + 1);
	if (p.has_path)
		memcpy(e->path, p.path, strlen(p.path) + 1);
	if (p.has_link)
		memcpy(e->link, p.link, strlen(p.link) + 1);
	if (p.has_size)
		e->size = p.size;
	if (p.has_uid)
		e->uid = (uint32_t)p.uid;
	if (p.has_gid)
		e->gid = (uint32_t)p.gid;
	switch (e->type) {
	case '0': case '7':
		e->type = '0';
		break;
	case '1': case '2': case '3': case '4': case '5': case '6':
		/* Links, devices, dirs and fifos carry no data; a size
		 * field on them (allowed for some) is skipped. */
		break;
	default:
		return err_set(errp, EINVAL, "tar: `%.200s`: unsupported entry type `%c`",
			       e->path, e->type >= 0x20 && e->type < 0x7f ? e->type : '?');
	}
	if (!e->path[0])
		return err_set(errp, EINVAL, "tar: entry with an empty name");
	r->remaining = e->size;
	r->pad = (uint32_t)((TAR_BLOCK - e->size % TAR_BLOCK) % TAR_BLOCK);
	if (e->type != '0') {
		/* Hard links in pax archives may carry a size; their data is
		 * not file content. */
		e->size = 0;
	}
	return 1;
}

ssize_t tar_read_data(struct tar_reader *r, void *buf, size_t n,
		      struct err *errp)
{
	if (n > r->remaining)
		n = (size_t)r->remaining;
	if (!n)
		return 0;
	ssize_t k = r->read(r->ctx, buf, n, errp);
	if (k < 0)
		return k;
	if (k == 0)
		return err_set(errp, EIO, "tar: truncated archive");
	r->remaining -= (uint64_t)k;
	return k;
}

int tar_path_clean(char *path, bool allow_root, struct err *errp)
{
	if (path[0] == '/')
		return err_set(errp, EINVAL, "tar: `%.200s`: absolute path", path);
	char *out = path, *s = path;
	while (*s) {
		while (*s == '/')
			s++;
		char *c = s;
		while (*s && *s != '/')
			s++;
		size_t len = (size_t)(s - c);
		if (len == 0 || (len == 1 && c[0] == '.'))
			continue;
		if (len == 2 && c[0] == '.' && c[1] == '.')
			return err_set(errp, EINVAL, "tar: `%.200s`: path with `..`", path);
		if (out != path)
			*out++ = '/';
		memmove(out, c, len);
		out += len;
	}
	*out = '\0';
	if (!path[0] && !allow_root)
		return err_set(errp, EINVAL, "tar: empty path");
	return 0;
}
