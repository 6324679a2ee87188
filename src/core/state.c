/* Versioned state sections (state.h). */
#include "state.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void le_put(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t le_get(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

void state_writer_init(struct state_writer *w)
{
	memset(w, 0, sizeof(*w));
}

void state_writer_free(struct state_writer *w)
{
	free(w->buf);
	state_writer_init(w);
}

static uint8_t *grow(struct state_writer *w, size_t n)
{
	if (w->err)
		return NULL;
	if (n > w->cap - w->len) {
		size_t cap = w->cap ? w->cap : 4096;
		while (cap - w->len < n) {
			if (cap > SIZE_MAX / 2) {
				w->err = -ENOMEM;
				return NULL;
			}
			cap *= 2;
		}
		uint8_t *b = realloc(w->buf, cap);
		if (!b) {
			w->err = -ENOMEM;
			return NULL;
		}
		w->buf = b;
		w->cap = cap;
	}
	uint8_t *p = w->buf + w->len;
	w->len += n;
	return p;
}

void state_begin(struct state_writer *w, const char *name, uint32_t version)
{
	size_t nl = strlen(name);
	w->sec = w->len;
	w->open = true;
	uint8_t *h = grow(w, STATE_HDR_SIZE);
	if (!h)
		return;
	memset(h, 0, STATE_HDR_SIZE);
	memcpy(h, name, nl < STATE_NAME_MAX ? nl : STATE_NAME_MAX - 1);
	le_put(h + STATE_NAME_MAX, version, 4);
}

void state_end(struct state_writer *w)
{
	w->open = false;
	if (w->err)
		return;
	uint8_t *h = w->buf + w->sec;
	size_t n = w->len - w->sec - STATE_HDR_SIZE;
	uLong crc = crc32_z(0L, h + STATE_HDR_SIZE, n);
	le_put(h + STATE_NAME_MAX + 4, crc, 4);
	le_put(h + STATE_NAME_MAX + 8, n, 8);
}

static void put_le(struct state_writer *w, uint64_t v, unsigned n)
{
	uint8_t *p = grow(w, n);
	if (p)
		le_put(p, v, n);
}

void state_put_u8(struct state_writer *w, uint8_t v) { put_le(w, v, 1); }
void state_put_u16(struct state_writer *w, uint16_t v) { put_le(w, v, 2); }
void state_put_u32(struct state_writer *w, uint32_t v) { put_le(w, v, 4); }
void state_put_u64(struct state_writer *w, uint64_t v) { put_le(w, v, 8); }

void state_put_bytes(struct state_writer *w, const void *src, size_t n)
{
	uint8_t *p = grow(w, n);
	if (p && n)
		memcpy(p, src, n);
}

/* Header of the section at offset off (checked by state_reader_init). */
struct hdr {
	char name[STATE_NAME_MAX + 1];
	uint32_t version, crc;
	uint64_t length;
	size_t payload;  /* offset of the payload */
};

static void read_hdr(const uint8_t *buf, size_t off, struct hdr *h)
{
	memcpy(h->name, buf + off, STATE_NAME_MAX);
	h->name[STATE_NAME_MAX] = '\0';
	h->version = (uint32_t)le_get(buf + off + STATE_NAME_MAX, 4);
	h->crc = (uint32_t)le_get(buf + off + STATE_NAME_MAX + 4, 4);
	h->length = le_get(buf + off + STATE_NAME_MAX + 8, 8);
	h->payload = off + STATE_HDR_SIZE;
}

/* Walk to section idx (or to name when name != NULL); false if absent. */
static bool find(const struct state_reader *r, const char *name,
		 unsigned idx, struct hdr *h)
{
	size_t off = 0;
	for (unsigned i = 0; off < r->len; i++) {
		read_hdr(r->buf, off, h);
		if (name ? !strcmp(h->name, name) : i == idx)
			return true;
		off = h->payload + h->length;
	}
	return false;
}

int state_reader_init(struct state_reader *r, const void *buf, size_t len,
		      struct err *errp)
{
	memset(r, 0, sizeof(*r));
	r->buf = buf;
	r->len = len;
	size_t off = 0;
	unsigned n = 0;
	while (off < len) {
		if (len - off < STATE_HDR_SIZE)
			return err_set(errp, EINVAL,
				       "state: section %u: header truncated "
				       "(%zu of %d bytes)", n, len - off,
				       STATE_HDR_SIZE);
		struct hdr h;
		read_hdr(r->buf, off, &h);
		if (memchr(r->buf + off, '\0', STATE_NAME_MAX) == NULL ||
		    h.name[0] == '\0')
			return err_set(errp, EINVAL,
				       "state: section %u: bad name", n);
		for (const char *c = h.name; *c; c++)
			if (*c < 0x21 || *c > 0x7e)
				return err_set(errp, EINVAL,
					       "state: section %u: bad name",
					       n);
		if (h.length > len - h.payload)
			return err_set(errp, EINVAL,
				       "state: section `%s`: %llu payload "
				       "bytes, only %zu left (truncated)",
				       h.name, (unsigned long long)h.length,
				       len - h.payload);
		if (crc32_z(0L, r->buf + h.payload, h.length) != h.crc)
			return err_set(errp, EINVAL,
				       "state: section `%s`: checksum mismatch "
				       "(corrupt)", h.name);
		/* Names are unique: a second copy could hide the first. */
		struct hdr prev;
		if (find(r, h.name, 0, &prev) && prev.payload != h.payload)
			return err_set(errp, EINVAL,
				       "state: section `%s` appears twice",
				       h.name);
		off = h.payload + h.length;
		n++;
	}
	return 0;
}

bool state_has(const struct state_reader *r, const char *name)
{
	struct hdr h;
	return find(r, name, 0, &h);
}

bool state_section_at(const struct state_reader *r, unsigned idx,
		      char name[STATE_NAME_MAX + 1], uint32_t *version,
		      uint64_t *length)
{
	struct hdr h;
	if (!find(r, NULL, idx, &h))
		return false;
	memcpy(name, h.name, STATE_NAME_MAX + 1);
	if (version)
		*version = h.version;
	if (length)
		*length = h.length;
	return true;
}

int state_open(struct state_reader *r, const char *name, uint32_t max_version,
	       uint32_t *version, struct err *errp)
{
	struct hdr h;
	r->p = NULL;
	r->left = 0;
	r->bad = false;
	snprintf(r->name, sizeof(r->name), "%s", name);
	if (!find(r, name, 0, &h))
		return err_set(errp, ENOENT, "state: no section `%s`", name);
	if (h.version == 0 || h.version > max_version)
		return err_set(errp, EINVAL,
			       "state: section `%s` has format version %u; "
			       "this ringvm reads 1 to %u", name, h.version,
			       max_version);
	r->p = r->buf + h.payload;
	r->left = h.length;
	if (version)
		*version = h.version;
	return 0;
}

static uint64_t get_le(struct state_reader *r, unsigned n)
{
	if (r->bad || r->left < n) {
		r->bad = true;
		return 0;
	}
	uint64_t v = le_get(r->p, n);
	r->p += n;
	r->left -= n;
	return v;
}

uint8_t state_get_u8(struct state_reader *r) { return (uint8_t)get_le(r, 1); }
uint16_t state_get_u16(struct state_reader *r) { return (uint16_t)get_le(r, 2); }
uint32_t state_get_u32(struct state_reader *r) { return (uint32_t)get_le(r, 4); }
uint64_t state_get_u64(struct state_reader *r) { return get_le(r, 8); }

void state_get_bytes(struct state_reader *r, void *dst, size_t n)
{
	if (r->bad || r->left < n) {
		r->bad = true;
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, r->p, n);
	r->p += n;
	r->left -= n;
}

int state_close(struct state_reader *r, struct err *errp)
{
	int rc = 0;
	if (r->bad)
		rc = err_set(errp, EINVAL, "state: section `%s` is truncated",
			     r->name);
	else if (r->left)
		rc = err_set(errp, EINVAL,
			     "state: section `%s` has %zu bytes left over",
			     r->name, r->left);
	r->p = NULL;
	r->left = 0;
	r->bad = false;
	return rc;
}

int state_invalid(struct state_reader *r, struct err *errp, const char *fmt,
		  ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_set(errp, EINVAL, "state: section `%s`: %s", r->name, what);
}
