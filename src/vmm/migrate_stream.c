/* The live-migration wire format (migrate_stream.h).  The parser runs on
 * the target before any guest exists, fed by a source it has no reason
 * to trust: every count, index, offset and length is checked against what
 * the stream declared earlier before anything is touched. */
#include "migrate_stream.h"

#include "core/state.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- writer ------------------------------------------------------------ */

int mig_out_init(struct mig_out *o, int fd)
{
	memset(o, 0, sizeof(*o));
	o->fd = fd;
	o->buf = malloc(MIG_OUT_BUF);
	return o->buf ? 0 : -ENOMEM;
}

void mig_out_free(struct mig_out *o)
{
	free(o->buf);
	o->buf = NULL;
}

static int send_all(int fd, const void *p, size_t n, uint64_t *count)
{
	const uint8_t *b = p;
	while (n) {
		/* MSG_NOSIGNAL: a target that went away is -EPIPE, not a
		 * signal that kills the running source VM. */
		ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		}
		if (k == 0)
			return -EPIPE;
		b += k;
		n -= (size_t)k;
		if (count)
			*count += (uint64_t)k;
	}
	return 0;
}

int mig_out_flush(struct mig_out *o)
{
	if (o->err)
		return o->err;
	if (o->len) {
		o->err = send_all(o->fd, o->buf, o->len, &o->bytes);
		o->len = 0;
	}
	return o->err;
}

void mig_put(struct mig_out *o, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n && !o->err) {
		if (o->len == MIG_OUT_BUF && mig_out_flush(o))
			return;
		size_t k = MIG_OUT_BUF - o->len;
		if (k > n)
			k = n;
		memcpy(o->buf + o->len, b, k);
		o->len += k;
		b += k;
		n -= k;
	}
}

void mig_put_u8(struct mig_out *o, uint8_t v) { mig_put(o, &v, 1); }

void mig_put_u16(struct mig_out *o, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	mig_put(o, b, 2);
}

void mig_put_u32(struct mig_out *o, uint32_t v)
{
	uint8_t b[4];
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	mig_put(o, b, 4);
}

void mig_put_u64(struct mig_out *o, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	mig_put(o, b, 8);
}

/* ---- parser ------------------------------------------------------------ */

static int get(const struct mig_in *in, void *buf, size_t n,
	       struct err *errp)
{
	return in->read(in->opaque, buf, n, errp);
}

static int get_u8(const struct mig_in *in, uint8_t *v, struct err *errp)
{
	return get(in, v, 1, errp);
}

static int get_u16(const struct mig_in *in, uint16_t *v, struct err *errp)
{
	uint8_t b[2];
	int rc = get(in, b, 2, errp);
	*v = (uint16_t)(b[0] | b[1] << 8);
	return rc;
}

static int get_u32(const struct mig_in *in, uint32_t *v, struct err *errp)
{
	uint8_t b[4];
	int rc = get(in, b, 4, errp);
	*v = 0;
	for (int i = 3; i >= 0; i--)
		*v = *v << 8 | b[i];
	return rc;
}

static int get_u64(const struct mig_in *in, uint64_t *v, struct err *errp)
{
	uint8_t b[8];
	int rc = get(in, b, 8, errp);
	*v = 0;
	for (int i = 7; i >= 0; i--)
		*v = *v << 8 | b[i];
	return rc;
}

/* A length-prefixed blob, grown as its bytes arrive so that a length
 * the stream does not back with data costs no big allocation. */
static int get_blob(const struct mig_in *in, const char *what,
		    uint8_t **out, size_t *len, struct err *errp)
{
	uint32_t n;
	int rc = get_u32(in, &n, errp);
	if (rc)
		return rc;
	if (n == 0 || n > MIG_MAX_BLOB)
		return err_set(errp, EINVAL, "migration stream: %s of %" PRIu32
			       " bytes (1 to %u)", what, n, MIG_MAX_BLOB);
	uint8_t *b = NULL;
	size_t have = 0;
	while (have < n) {
		size_t k = n - have > (1u << 20) ? (1u << 20) : n - have;
		uint8_t *nb = realloc(b, have + k);
		if (!nb) {
			free(b);
			return err_set(errp, ENOMEM, "migration stream: out of "
				       "memory");
		}
		b = nb;
		if ((rc = get(in, b + have, k, errp))) {
			free(b);
			return rc;
		}
		have += k;
	}
	*out = b;
	*len = n;
	return 0;
}

struct parse {
	const struct mig_in *in;
	const struct mig_sink *s;
	bool disks_flag;
	bool machine, device;
	struct guest_mem *mem;      /* after LAYOUT */
	unsigned ndisks;            /* after DISKS */
	bool have_disks;
	uint64_t disk_size[MIG_MAX_DISKS];
	uint8_t page[GUEST_PAGE_SIZE];
	uint8_t *chunk;             /* MIG_DISK_CHUNK */
};

static int bad(struct err *errp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int bad(struct err *errp, const char *fmt, ...)
{
	char m[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	return err_set(errp, EINVAL, "migration stream: %s", m);
}

static int rec_layout(struct parse *p, struct err *errp)
{
	if (!p->machine || p->mem)
		return bad(errp, "RAM layout %s", p->mem ? "twice" :
			   "before the machine");
	uint32_t nr;
	int rc = get_u32(p->in, &nr, errp);
	if (rc)
		return rc;
	if (nr == 0 || nr > GUEST_MEM_MAX_REGIONS)
		return bad(errp, "%" PRIu32 " RAM regions (1 to %d)", nr,
			   GUEST_MEM_MAX_REGIONS);
	struct guest_mem_region r[GUEST_MEM_MAX_REGIONS];
	memset(r, 0, sizeof(r));
	uint64_t total = 0;
	for (unsigned i = 0; i < nr; i++) {
		if ((rc = get_u64(p->in, &r[i].gpa, errp)) ||
		    (rc = get_u64(p->in, &r[i].size, errp)))
			return rc;
		if (!r[i].size || r[i].size % GUEST_PAGE_SIZE ||
		    r[i].size > MIG_MAX_RAM - total ||
		    r[i].gpa + r[i].size < r[i].gpa)
			return bad(errp, "RAM region %u: size %" PRIu64
				   " at %#" PRIx64 " (whole pages, at most "
				   "%llu GiB in all)", i, r[i].size, r[i].gpa,
				   MIG_MAX_RAM >> 30);
		total += r[i].size;
	}
	struct guest_mem *m = NULL;
	if ((rc = p->s->layout(p->s->opaque, r, nr, &m, errp)))
		return rc;
	if (!m || m->nr != nr)
		return err_set(errp, EINVAL, "migration: RAM of the wrong "
			       "shape");
	for (unsigned i = 0; i < nr; i++)
		if (m->r[i].gpa != r[i].gpa || m->r[i].size != r[i].size)
			return err_set(errp, EINVAL, "migration: RAM region %u "
				       "of the wrong shape", i);
	p->mem = m;
	return 0;
}

static int rec_pages(struct parse *p, struct err *errp)
{
	if (!p->mem)
		return bad(errp, "RAM pages before the RAM layout");
	uint8_t region;
	uint16_t count;
	int rc;
	if ((rc = get_u8(p->in, &region, errp)) ||
	    (rc = get_u16(p->in, &count, errp)))
		return rc;
	if (region >= p->mem->nr)
		return bad(errp, "RAM region %u of %u", region, p->mem->nr);
	if (count == 0 || count > MIG_BATCH)
		return bad(errp, "batch of %u pages (1 to %u)", count,
			   MIG_BATCH);
	const struct guest_mem_region *r = &p->mem->r[region];
	uint64_t npages = r->size >> GUEST_PAGE_SHIFT;
	for (unsigned i = 0; i < count; i++) {
		uint64_t v;
		if ((rc = get_u64(p->in, &v, errp)))
			return rc;
		uint64_t pg = v >> 1;
		if (pg >= npages)
			return bad(errp, "page %" PRIu64 " of region %u is "
				   "beyond its %" PRIu64 " pages", pg, region,
				   npages);
		uint8_t *dst = r->hva + (pg << GUEST_PAGE_SHIFT);
		if (v & 1) {
			/* Through a bounce page: a failed read must not
			 * leave half a page in RAM (the caller discards it
			 * anyway, but the parser does not rely on that). */
			if ((rc = get(p->in, p->page, GUEST_PAGE_SIZE, errp)))
				return rc;
			memcpy(dst, p->page, GUEST_PAGE_SIZE);
		} else {
			memset(dst, 0, GUEST_PAGE_SIZE);
		}
	}
	return 0;
}

static int rec_disks(struct parse *p, struct err *errp)
{
	if (!p->disks_flag || p->have_disks)
		return bad(errp, "disk list %s", p->have_disks ? "twice" :
			   "in a stream without disks");
	uint32_t n;
	int rc = get_u32(p->in, &n, errp);
	if (rc)
		return rc;
	if (n > MIG_MAX_DISKS)
		return bad(errp, "%" PRIu32 " disks (at most %u)", n,
			   MIG_MAX_DISKS);
	for (unsigned i = 0; i < n; i++)
		if ((rc = get_u64(p->in, &p->disk_size[i], errp)))
			return rc;
	if ((rc = p->s->disks(p->s->opaque, p->disk_size, n, errp)))
		return rc;
	p->ndisks = n;
	p->have_disks = true;
	return 0;
}

static int disk_range(struct parse *p, uint8_t disk, uint64_t off,
		      uint64_t len, struct err *errp)
{
	if (!p->have_disks)
		return bad(errp, "disk data before the disk list");
	if (disk >= p->ndisks)
		return bad(errp, "disk %u of %u", disk, p->ndisks);
	if (len == 0 || off > p->disk_size[disk] ||
	    len > p->disk_size[disk] - off)
		return bad(errp, "disk %u: %" PRIu64 " bytes at %" PRIu64
			   " are beyond its %" PRIu64 " bytes", disk, len,
			   off, p->disk_size[disk]);
	return 0;
}

static int rec_disk_data(struct parse *p, struct err *errp)
{
	uint8_t disk;
	uint64_t off;
	uint32_t len;
	int rc;
	if ((rc = get_u8(p->in, &disk, errp)) ||
	    (rc = get_u64(p->in, &off, errp)) ||
	    (rc = get_u32(p->in, &len, errp)))
		return rc;
	if (len > MIG_DISK_CHUNK)
		return bad(errp, "disk chunk of %" PRIu32 " bytes (at most %u)",
			   len, MIG_DISK_CHUNK);
	if ((rc = disk_range(p, disk, off, len, errp)))
		return rc;
	if (!p->chunk && !(p->chunk = malloc(MIG_DISK_CHUNK)))
		return err_set(errp, ENOMEM, "migration: out of memory");
	if ((rc = get(p->in, p->chunk, len, errp)))
		return rc;
	return p->s->disk_write(p->s->opaque, disk, off, p->chunk, len, errp);
}

static int rec_disk_zero(struct parse *p, struct err *errp)
{
	uint8_t disk;
	uint64_t off, len;
	int rc;
	if ((rc = get_u8(p->in, &disk, errp)) ||
	    (rc = get_u64(p->in, &off, errp)) ||
	    (rc = get_u64(p->in, &len, errp)))
		return rc;
	if ((rc = disk_range(p, disk, off, len, errp)))
		return rc;
	return p->s->disk_zero(p->s->opaque, disk, off, len, errp);
}

static int rec_blob(struct parse *p, bool device, struct err *errp)
{
	const char *what = device ? "device state" : "machine section";
	if (device ? (p->device || !p->mem) : p->machine)
		return bad(errp, "%s %s", what, (device ? p->device : p->machine)
			   ? "twice" : "before the RAM layout");
	uint8_t *b = NULL;
	size_t n = 0;
	int rc = get_blob(p->in, what, &b, &n, errp);
	if (rc)
		return rc;
	rc = device ? p->s->device(p->s->opaque, b, n, errp)
		    : p->s->machine(p->s->opaque, b, n, errp);
	free(b);
	if (!rc)
		*(device ? &p->device : &p->machine) = true;
	return rc;
}

int mig_parse(const struct mig_in *in, const struct mig_sink *s,
	      struct err *errp)
{
	uint8_t magic[8];
	uint32_t version, flags;
	int rc;
	if ((rc = get(in, magic, 8, errp)) ||
	    (rc = get_u32(in, &version, errp)) ||
	    (rc = get_u32(in, &flags, errp)))
		return rc;
	if (memcmp(magic, MIG_MAGIC, 8))
		return bad(errp, "not a ringvm migration (bad magic)");
	if (version != MIG_VERSION)
		return bad(errp, "version %" PRIu32 " (this ringvm speaks %u)",
			   version, MIG_VERSION);
	if (flags & ~MIG_F_DISKS)
		return bad(errp, "unknown flags %#" PRIx32, flags);
	struct parse *p = calloc(1, sizeof(*p));
	if (!p)
		return err_set(errp, ENOMEM, "migration: out of memory");
	p->in = in;
	p->s = s;
	p->disks_flag = flags & MIG_F_DISKS;
	for (;;) {
		uint8_t t;
		if ((rc = get_u8(in, &t, errp)))
			break;
		switch (t) {
		case MIG_REC_MACHINE: rc = rec_blob(p, false, errp); break;
		case MIG_REC_LAYOUT: rc = rec_layout(p, errp); break;
		case MIG_REC_DISKS: rc = rec_disks(p, errp); break;
		case MIG_REC_PAGES: rc = rec_pages(p, errp); break;
		case MIG_REC_DISK_DATA: rc = rec_disk_data(p, errp); break;
		case MIG_REC_DISK_ZERO: rc = rec_disk_zero(p, errp); break;
		case MIG_REC_DEVICE: rc = rec_blob(p, true, errp); break;
		case MIG_REC_END:
			if (!p->device)
				rc = bad(errp, "end before the device state");
			else if (p->disks_flag && !p->have_disks)
				rc = bad(errp, "end without the disk list");
			else
				rc = 1;
			break;
		default:
			rc = bad(errp, "unknown record type %u", t);
		}
		if (rc)
			break;
	}
	free(p->chunk);
	free(p);
	return rc == 1 ? 0 : rc;
}

/* ---- device state delta ------------------------------------------------ */

/* Walking a stream that state_reader_init accepted (or that our own
 * vm_save_state wrote): whole headers and payloads, in bounds. */
static size_t sec_size(const uint8_t *p)
{
	uint64_t len = 0;
	for (int i = 7; i >= 0; i--)
		len = len << 8 | p[STATE_NAME_MAX + 8 + i];
	return STATE_HDR_SIZE + (size_t)len;
}

/* The section named like the one at sec in buf[0..len), or NULL. */
static const uint8_t *sec_find(const uint8_t *buf, size_t len,
			       const uint8_t *sec, size_t *size)
{
	for (size_t off = 0; off < len;) {
		size_t n = sec_size(buf + off);
		/* By name: the padding after the NUL is not checked by
		 * the reader, so raw name fields may differ. */
		if (!strncmp((const char *)buf + off, (const char *)sec,
			     STATE_NAME_MAX)) {
			*size = n;
			return buf + off;
		}
		off += n;
	}
	return NULL;
}

static int append(uint8_t **out, size_t *olen, const uint8_t *p, size_t n)
{
	uint8_t *b = realloc(*out, *olen + n);
	if (!b)
		return -ENOMEM;
	memcpy(b + *olen, p, n);
	*out = b;
	*olen += n;
	return 0;
}

int mig_state_delta(const uint8_t *base, size_t blen, const uint8_t *cur,
		    size_t clen, uint8_t **out, size_t *olen)
{
	*out = NULL;
	*olen = 0;
	for (size_t off = 0; off < clen;) {
		size_t n = sec_size(cur + off), bn;
		const uint8_t *b = sec_find(base, blen, cur + off, &bn);
		bool same = b && bn == n && !memcmp(b, cur + off, n);
		if (!same && append(out, olen, cur + off, n)) {
			free(*out);
			*out = NULL;
			return -ENOMEM;
		}
		off += n;
	}
	/* An empty delta is no stream: keep the first section. */
	if (!*olen && clen && append(out, olen, cur, sec_size(cur)))
		return -ENOMEM;
	return 0;
}

int mig_state_merge(const uint8_t *base, size_t blen, const uint8_t *delta,
		    size_t dlen, uint8_t **out, size_t *olen,
		    struct err *errp)
{
	struct state_reader r;
	*out = NULL;
	*olen = 0;
	if (state_reader_init(&r, delta, dlen, errp))
		return err_prefix(errp, "migration: device state");
	int rc = 0;
	for (size_t off = 0; !rc && off < blen;) {
		size_t n = sec_size(base + off), dn;
		const uint8_t *d = sec_find(delta, dlen, base + off, &dn);
		rc = d ? append(out, olen, d, dn)
		       : append(out, olen, base + off, n);
		off += n;
	}
	for (size_t off = 0; !rc && off < dlen;) {
		size_t n = sec_size(delta + off), bn;
		if (!sec_find(base, blen, delta + off, &bn))
			rc = append(out, olen, delta + off, n);
		off += n;
	}
	if (rc) {
		free(*out);
		*out = NULL;
		return err_set(errp, ENOMEM, "out of memory");
	}
	return 0;
}

/* ---- ack --------------------------------------------------------------- */

int mig_send_ack(int fd, int status, const char *msg)
{
	uint8_t b[10 + 400];
	size_t n = msg ? strlen(msg) : 0;
	if (n > 400)
		n = 400;
	uint32_t m = MIG_ACK_MAGIC, st = (uint32_t)status;
	for (int i = 0; i < 4; i++) {
		b[i] = (uint8_t)(m >> (8 * i));
		b[4 + i] = (uint8_t)(st >> (8 * i));
	}
	b[8] = (uint8_t)n;
	b[9] = (uint8_t)(n >> 8);
	if (n)
		memcpy(b + 10, msg, n);
	return send_all(fd, b, 10 + n, NULL);
}

static int recv_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;
	while (n) {
		ssize_t k = recv(fd, b, n, 0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		}
		if (k == 0)
			return -EPIPE;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

int mig_recv_ack(int fd, int *status, char *msg, size_t msg_size)
{
	uint8_t b[10];
	int rc = recv_all(fd, b, 10);
	if (rc)
		return rc;
	uint32_t m = 0, st = 0;
	for (int i = 3; i >= 0; i--) {
		m = m << 8 | b[i];
		st = st << 8 | b[4 + i];
	}
	if (m != MIG_ACK_MAGIC)
		return -EPROTO;
	size_t n = (size_t)(b[8] | b[9] << 8);
	char tmp[400 + 1];
	if (n > 400)
		return -EPROTO;
	if (n && (rc = recv_all(fd, tmp, n)))
		return rc;
	tmp[n] = '\0';
	if (msg_size) {
		snprintf(msg, msg_size, "%s", tmp);
	}
	*status = (int)st;
	/* Anything but 0 or a -errno is a confused target. */
	if (*status > 0 || *status < -4095)
		*status = -EPROTO;
	return 0;
}
