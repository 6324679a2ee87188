/* Plain / gzip / zstd reader with an output cap (see decomp.h). */
#include "container/decomp.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define IN_BUF (1u << 17)
/* 2^27 = 128 MiB: zstd's own default limit for streaming, stated so the
 * memory a hostile frame can make us allocate is explicit. */
#define ZSTD_WLOG_MAX 27

struct decomp {
	int fd;
	enum decomp_fmt fmt;
	bool eof;       /* fd has no more bytes */
	bool member_end; /* gzip: a member ended, another may follow */
	bool done;
	size_t last_hint; /* zstd: 0 when the last frame is complete */
	uint64_t max_out, in_total, out_total;
	size_t pos, len;
	z_stream z;
	bool z_init;
	ZSTD_DCtx *zd;
	struct digest_ctx *in_hash;
	unsigned char in[IN_BUF];
};

/* Move the unconsumed bytes to the front and read more after them;
 * sets eof at the end of fd. */
static int fill(struct decomp *d, struct err *errp)
{
	if (d->eof)
		return 0;
	if (d->pos) {
		memmove(d->in, d->in + d->pos, d->len - d->pos);
		d->len -= d->pos;
		d->pos = 0;
	}
	while (d->len < IN_BUF) {
		ssize_t k = read(d->fd, d->in + d->len, IN_BUF - d->len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return err_sys(errp, errno, "read");
		if (k == 0) {
			d->eof = true;
			break;
		}
		if (d->in_hash)
			digest_update(d->in_hash, d->in + d->len, (size_t)k);
		d->len += (size_t)k;
		break;
	}
	return 0;
}

static size_t avail(const struct decomp *d)
{
	return d->len - d->pos;
}

/* Read until at least `want` bytes are buffered or fd ends. */
static int want(struct decomp *d, size_t n, struct err *errp)
{
	while (avail(d) < n && !d->eof) {
		int r = fill(d, errp);
		if (r)
			return r;
	}
	return 0;
}

int decomp_open(int fd, uint64_t max_out, struct digest_ctx *in_hash,
		struct decomp **out, struct err *errp)
{
	struct decomp *d = calloc(1, sizeof(*d));
	if (!d)
		return err_set(errp, ENOMEM, "decompress: out of memory");
	d->fd = fd;
	d->max_out = max_out;
	d->in_hash = in_hash;
	int r = want(d, 4, errp);
	if (r) {
		free(d);
		return err_prefix(errp, "decompress");
	}
	const unsigned char *m = d->in;
	if (avail(d) >= 2 && m[0] == 0x1f && m[1] == 0x8b) {
		d->fmt = DECOMP_GZIP;
		/* 16 + MAX_WBITS: a gzip wrapper, not zlib's. */
		if (inflateInit2(&d->z, 16 + MAX_WBITS) != Z_OK) {
			free(d);
			return err_set(errp, ENOMEM, "gzip: out of memory");
		}
		d->z_init = true;
	} else if (avail(d) >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f &&
		   m[3] == 0xfd) {
		d->fmt = DECOMP_ZSTD;
		if (!(d->zd = ZSTD_createDCtx()) ||
		    ZSTD_isError(ZSTD_DCtx_setParameter(d->zd, ZSTD_d_windowLogMax, ZSTD_WLOG_MAX))) {
			ZSTD_freeDCtx(d->zd);
			free(d);
			return err_set(errp, ENOMEM, "zstd: out of memory");
		}
	}
	*out = d;
	return 0;
}

enum decomp_fmt decomp_format(const struct decomp *d)
{
	return d->fmt;
}

static ssize_t rd_plain(struct decomp *d, void *buf, size_t n, struct err *errp)
{
	if (!avail(d)) {
		int r = fill(d, errp);
		if (r)
			return r;
		if (!avail(d))
			return 0;
	}
	size_t k = avail(d) < n ? avail(d) : n;
	memcpy(buf, d->in + d->pos, k);
	d->pos += k;
	d->in_total += k;
	return (ssize_t)k;
}

static ssize_t rd_gzip(struct decomp *d, void *buf, size_t n, struct err *errp)
{
	if (n > UINT32_MAX)
		n = UINT32_MAX;
	for (;;) {
		if (d->member_end) {
			/* Another member only when one starts here; anything
			 * else after a complete member is ignored, as gzip(1)
			 * and zlib's gzread do. */
			int r = want(d, 2, errp);
			if (r)
				return r;
			if (avail(d) < 2 || d->in[d->pos] != 0x1f || d->in[d->pos + 1] != 0x8b) {
				d->done = true;
				return 0;
			}
			inflateReset(&d->z);
			d->member_end = false;
		}
		if (!avail(d)) {
			int r = fill(d, errp);
			if (r)
				return r;
		}
		d->z.next_in = d->in + d->pos;
		d->z.avail_in = (uInt)avail(d);
		d->z.next_out = buf;
		d->z.avail_out = (uInt)n;
		int zr = inflate(&d->z, Z_NO_FLUSH);
		size_t used = avail(d) - d->z.avail_in, made = n - d->z.avail_out;
		d->pos += used;
		d->in_total += used;
		if (zr == Z_STREAM_END)
			d->member_end = true;
		else if (zr != Z_OK && zr != Z_BUF_ERROR)
			return err_set(errp, EIO, "gzip: %s", d->z.msg ? d->z.msg : "corrupt stream");
		if (made)
			return (ssize_t)made;
		if (!d->member_end && d->eof && !avail(d))
			return err_set(errp, EIO, "gzip: truncated stream");
	}
}

static ssize_t rd_zstd(struct decomp *d, void *buf, size_t n, struct err *errp)
{
	for (int idle = 0;; ) {
		if (!avail(d)) {
			int r = fill(d, errp);
			if (r)
				return r;
		}
		ZSTD_inBuffer in = { d->in + d->pos, avail(d), 0 };
		ZSTD_outBuffer out = { buf, n, 0 };
		size_t zr = ZSTD_decompressStream(d->zd, &out, &in);
		if (ZSTD_isError(zr))
			return err_set(errp, EIO, "zstd: %s", ZSTD_getErrorName(zr));
		d->pos += in.pos;
		d->in_total += in.pos;
		/* Between frames the decoder asks for the next header even
		 * with no input; only a call that moved data says whether a
		 * frame is still open. */
		if (in.pos || out.pos)
			d->last_hint = zr;
		if (out.pos)
			return (ssize_t)out.pos;
		if (d->eof && !avail(d)) {
			if (d->last_hint)
				return err_set(errp, EIO, "zstd: truncated stream");
			d->done = true;
			return 0;
		}
		/* zstd always moves input or output when it has both; guard
		 * against spinning on a decoder that would not. */
		if (!in.pos && avail(d) && ++idle > 16)
			return err_set(errp, EIO, "zstd: decoder made no progress");
	}
}

ssize_t decomp_read(struct decomp *d, void *buf, size_t n, struct err *errp)
{
	if (d->done || !n)
		return 0;
	ssize_t k = d->fmt == DECOMP_GZIP ? rd_gzip(d, buf, n, errp)
		  : d->fmt == DECOMP_ZSTD ? rd_zstd(d, buf, n, errp)
		  : rd_plain(d, buf, n, errp);
	if (k <= 0)
		return k;
	d->out_total += (uint64_t)k;
	if (d->max_out && d->out_total > d->max_out)
		return err_set(errp, EFBIG,
			       "decompressed data exceeds %llu bytes (%llu compressed): refusing a decompression bomb",
			       (unsigned long long)d->max_out, (unsigned long long)d->in_total);
	return k;
}

uint64_t decomp_in_bytes(const struct decomp *d)
{
	return d->in_total;
}

uint64_t decomp_out_bytes(const struct decomp *d)
{
	return d->out_total;
}

int decomp_drain(struct decomp *d, struct err *errp)
{
	while (!d->eof) {
		d->pos = d->len; /* the buffered bytes are hashed already */
		int r = fill(d, errp);
		if (r)
			return r;
	}
	return 0;
}

void decomp_close(struct decomp *d)
{
	if (!d)
		return;
	if (d->z_init)
		inflateEnd(&d->z);
	ZSTD_freeDCtx(d->zd);
	free(d);
}
