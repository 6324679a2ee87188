/* The live-migration wire format (vmm/migrate_stream.h): what the source's
 * writer produces the target's parser reads back exactly, and a hostile
 * stream is refused with a message naming the problem.
 *
 *   round_trip            pages with data and zero pages, disk data and
 *                         zeroing, machine and device blobs arrive as sent
 *   zero_page_clears      a zero page overwrites a page sent before
 *   page_beyond_region    page index >= the region's pages: -EINVAL
 *   disk_beyond_size      disk data past the declared size: -EINVAL
 *   order_and_types       layout before machine, unknown record type,
 *                         end before device state, bad magic/version
 *   truncated             a stream cut anywhere fails (never succeeds)
 *   ack                   the ack round-trips status and message
 *   state_delta_merge     the device-state delta holds only the changed
 *                         and new sections; merged onto the base it gives
 *                         the new state; a malformed delta is refused */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/state.h"
#include "vmm/migrate_stream.h"

#define RAM_GPA 0x80000000ull
#define RAM_PAGES 16u

/* A stream built in memory through a socketpair (mig_out sends). */
struct buf {
	uint8_t *p;
	size_t len;
};

struct writer {
	int sv[2];
	struct mig_out o;
};

static void w_open(struct writer *w)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, w->sv), 0);
	int big = 4 << 20;
	setsockopt(w->sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(w->sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	assert_int_equal(mig_out_init(&w->o, w->sv[0]), 0);
}

static struct buf w_close(struct writer *w)
{
	assert_int_equal(mig_out_flush(&w->o), 0);
	mig_out_free(&w->o);
	close(w->sv[0]);
	struct buf b = { NULL, 0 };
	uint8_t tmp[65536];
	ssize_t k;
	while ((k = read(w->sv[1], tmp, sizeof(tmp))) > 0) {
		b.p = realloc(b.p, b.len + (size_t)k);
		memcpy(b.p + b.len, tmp, (size_t)k);
		b.len += (size_t)k;
	}
	close(w->sv[1]);
	return b;
}

static void put_header(struct mig_out *o, uint32_t flags)
{
	mig_put(o, MIG_MAGIC, 8);
	mig_put_u32(o, MIG_VERSION);
	mig_put_u32(o, flags);
}

static void put_blob(struct mig_out *o, uint8_t type, const char *s)
{
	mig_put_u8(o, type);
	mig_put_u32(o, (uint32_t)strlen(s));
	mig_put(o, s, strlen(s));
}

static void put_layout(struct mig_out *o)
{
	mig_put_u8(o, MIG_REC_LAYOUT);
	mig_put_u32(o, 1);
	mig_put_u64(o, RAM_GPA);
	mig_put_u64(o, RAM_PAGES * GUEST_PAGE_SIZE);
}

static void put_page(struct mig_out *o, uint64_t pg, const uint8_t *data)
{
	mig_put_u8(o, MIG_REC_PAGES);
	mig_put_u8(o, 0);
	mig_put_u16(o, 1);
	mig_put_u64(o, pg << 1 | (data != NULL));
	if (data)
		mig_put(o, data, GUEST_PAGE_SIZE);
}

/* ---- the sink ---------------------------------------------------------- */

struct sink {
	char machine[64], device[64];
	unsigned nboot;
	uint64_t boot_gpa[MIG_BOOT_MAX_IMAGES], boot_len[MIG_BOOT_MAX_IMAGES];
	uint32_t boot_crc[MIG_BOOT_MAX_IMAGES];
	char boot[2][8];
	unsigned syncs;
	bool synced_after_page;  /* page 3 was in RAM at the SYNC */
	struct guest_mem mem;
	unsigned ndisks;
	uint64_t size[MIG_MAX_DISKS];
	uint8_t disk[2][65536];
};

static int s_machine(void *o, const uint8_t *b, size_t n, struct err *e)
{
	struct sink *s = o;
	snprintf(s->machine, sizeof(s->machine), "%.*s", (int)n, b);
	return 0;
}

static int s_layout(void *o, const struct guest_mem_region *r, unsigned nr,
		    struct guest_mem **mem, struct err *e)
{
	struct sink *s = o;
	for (unsigned i = 0; i < nr; i++) {
		int rc = guest_mem_add(&s->mem, r[i].gpa, r[i].size, e);
		if (rc)
			return rc;
	}
	*mem = &s->mem;
	return 0;
}

static int s_disks(void *o, const uint64_t *size, unsigned n, struct err *e)
{
	struct sink *s = o;
	for (unsigned i = 0; i < n; i++)
		if (size[i] > sizeof(s->disk[0]))
			return err_set(e, EFBIG, "test disk too big");
	memcpy(s->size, size, n * sizeof(*size));
	s->ndisks = n;
	return 0;
}

static int s_write(void *o, unsigned d, uint64_t off, const void *buf,
		   size_t len, struct err *e)
{
	struct sink *s = o;
	memcpy(s->disk[d] + off, buf, len);
	return 0;
}

static int s_zero(void *o, unsigned d, uint64_t off, uint64_t len,
		  struct err *e)
{
	struct sink *s = o;
	memset(s->disk[d] + off, 0, len);
	return 0;
}

static int s_boot(void *o, unsigned n, const uint64_t *gpa,
		  const uint64_t *len, const uint32_t *crc, struct err *e)
{
	struct sink *s = o;
	s->nboot = n;
	for (unsigned i = 0; i < n; i++) {
		s->boot_gpa[i] = gpa[i];
		s->boot_len[i] = len[i];
		s->boot_crc[i] = crc[i];
	}
	return 0;
}

static int s_boot_data(void *o, unsigned i, uint64_t off, const void *buf,
		       size_t len, struct err *e)
{
	struct sink *s = o;
	if (i >= 2 || off + len >= sizeof(s->boot[0]))
		return err_set(e, EFBIG, "test boot image too big");
	memcpy(s->boot[i] + off, buf, len);
	return 0;
}

static uint8_t *ram_page(struct sink *s, unsigned pg);

static int s_sync(void *o, struct err *e)
{
	struct sink *s = o;
	s->syncs++;
	s->synced_after_page = ram_page(s, 3)[1] == 10;
	return 0;
}

static int s_device(void *o, const uint8_t *b, size_t n, struct err *e)
{
	struct sink *s = o;
	snprintf(s->device, sizeof(s->device), "%.*s", (int)n, b);
	return 0;
}

struct mem_in {
	const uint8_t *p;
	size_t left;
};

static int mem_read(void *opaque, void *buf, size_t n, struct err *errp)
{
	struct mem_in *in = opaque;
	if (n > in->left)
		return err_set(errp, EPIPE, "end of input");
	memcpy(buf, in->p, n);
	in->p += n;
	in->left -= n;
	return 0;
}

static int parse(struct buf b, size_t len, struct sink *s, struct err *e)
{
	memset(s, 0, sizeof(*s));
	struct mem_in in = { b.p, len };
	struct mig_in src = { mem_read, &in };
	struct mig_sink k = {
		.opaque = s, .machine = s_machine, .layout = s_layout,
		.disks = s_disks, .disk_write = s_write, .disk_zero = s_zero,
		.device = s_device, .boot = s_boot, .boot_data = s_boot_data,
		.sync = s_sync,
	};
	err_clear(e);
	return mig_parse(&src, &k, e);
}

static uint8_t *ram_page(struct sink *s, unsigned pg)
{
	return gpa_ptr(&s->mem, RAM_GPA + pg * GUEST_PAGE_SIZE,
		       GUEST_PAGE_SIZE);
}

/* ---- tests ------------------------------------------------------------- */

static struct buf good_stream(void)
{
	struct writer w;
	w_open(&w);
	uint8_t page[GUEST_PAGE_SIZE];
	for (unsigned i = 0; i < sizeof(page); i++)
		page[i] = (uint8_t)(i * 7 + 3);
	put_header(&w.o, MIG_F_DISKS);
	put_blob(&w.o, MIG_REC_MACHINE, "machine-blob");
	/* Two boot images: 3 bytes and 5 bytes. */
	mig_put_u8(&w.o, MIG_REC_BOOT);
	mig_put_u32(&w.o, 2);
	mig_put_u64(&w.o, 0x80200000);
	mig_put_u64(&w.o, 3);
	mig_put_u32(&w.o, 0x11111111);
	mig_put_u64(&w.o, 0x88000000);
	mig_put_u64(&w.o, 5);
	mig_put_u32(&w.o, 0x22222222);
	mig_put(&w.o, "abcVWXYZ", 8);
	put_layout(&w.o);
	mig_put_u8(&w.o, MIG_REC_DISKS);
	mig_put_u32(&w.o, 2);
	mig_put_u64(&w.o, 65536);
	mig_put_u64(&w.o, 4096);
	put_page(&w.o, 3, page);
	mig_put_u8(&w.o, MIG_REC_SYNC);
	put_page(&w.o, 15, page);
	put_page(&w.o, 4, NULL);
	uint8_t blk[512];
	memset(blk, 0xab, sizeof(blk));
	mig_put_u8(&w.o, MIG_REC_DISK_DATA);
	mig_put_u8(&w.o, 0);
	mig_put_u64(&w.o, 1024);
	mig_put_u32(&w.o, sizeof(blk));
	mig_put(&w.o, blk, sizeof(blk));
	mig_put_u8(&w.o, MIG_REC_DISK_DATA);
	mig_put_u8(&w.o, 1);
	mig_put_u64(&w.o, 3584);
	mig_put_u32(&w.o, sizeof(blk));
	mig_put(&w.o, blk, sizeof(blk));
	mig_put_u8(&w.o, MIG_REC_DISK_ZERO);
	mig_put_u8(&w.o, 0);
	mig_put_u64(&w.o, 1024);
	mig_put_u64(&w.o, 256);
	put_blob(&w.o, MIG_REC_DEVICE, "device-blob");
	mig_put_u8(&w.o, MIG_REC_END);
	return w_close(&w);
}

static void round_trip(void **state)
{
	struct buf b = good_stream();
	struct sink s;
	struct err e;
	assert_int_equal(parse(b, b.len, &s, &e), 0);
	assert_string_equal(s.machine, "machine-blob");
	assert_string_equal(s.device, "device-blob");
	assert_int_equal(s.syncs, 1);
	assert_true(s.synced_after_page);
	assert_int_equal(s.nboot, 2);
	assert_int_equal(s.boot_gpa[1], 0x88000000);
	assert_int_equal(s.boot_len[0], 3);
	assert_int_equal(s.boot_crc[1], 0x22222222);
	assert_string_equal(s.boot[0], "abc");
	assert_string_equal(s.boot[1], "VWXYZ");
	assert_int_equal(s.ndisks, 2);
	for (unsigned pg = 0; pg < RAM_PAGES; pg++) {
		uint8_t *p = ram_page(&s, pg);
		for (unsigned i = 0; i < GUEST_PAGE_SIZE; i++)
			assert_int_equal(p[i], pg == 3 || pg == 15 ?
					 (uint8_t)(i * 7 + 3) : 0);
	}
	for (unsigned i = 0; i < 2048; i++)
		assert_int_equal(s.disk[0][i], i >= 1280 && i < 1536 ? 0xab
								     : 0);
	assert_int_equal(s.disk[1][3584], 0xab);
	assert_int_equal(s.disk[1][4095], 0xab);
	guest_mem_free(&s.mem);
	free(b.p);
}

static void zero_page_clears(void **state)
{
	struct writer w;
	w_open(&w);
	uint8_t page[GUEST_PAGE_SIZE];
	memset(page, 0x5a, sizeof(page));
	put_header(&w.o, 0);
	put_blob(&w.o, MIG_REC_MACHINE, "m");
	put_layout(&w.o);
	put_page(&w.o, 7, page);
	put_page(&w.o, 7, NULL);
	put_blob(&w.o, MIG_REC_DEVICE, "d");
	mig_put_u8(&w.o, MIG_REC_END);
	struct buf b = w_close(&w);
	struct sink s;
	struct err e;
	assert_int_equal(parse(b, b.len, &s, &e), 0);
	uint8_t *p = ram_page(&s, 7);
	for (unsigned i = 0; i < GUEST_PAGE_SIZE; i++)
		assert_int_equal(p[i], 0);
	guest_mem_free(&s.mem);
	free(b.p);
}

static void page_beyond_region(void **state)
{
	struct writer w;
	w_open(&w);
	put_header(&w.o, 0);
	put_blob(&w.o, MIG_REC_MACHINE, "m");
	put_layout(&w.o);
	put_page(&w.o, RAM_PAGES, NULL);
	struct buf b = w_close(&w);
	struct sink s;
	struct err e;
	assert_int_equal(parse(b, b.len, &s, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "page 16 of region 0"));
	guest_mem_free(&s.mem);
	free(b.p);
	/* A huge index that would wrap when turned into bytes. */
	w_open(&w);
	put_header(&w.o, 0);
	put_blob(&w.o, MIG_REC_MACHINE, "m");
	put_layout(&w.o);
	put_page(&w.o, 1ull << 52, NULL);
	b = w_close(&w);
	assert_int_equal(parse(b, b.len, &s, &e), -EINVAL);
	guest_mem_free(&s.mem);
	free(b.p);
}

static void disk_beyond_size(void **state)
{
	uint64_t offs[] = { 4096, 3585, UINT64_MAX - 10 };
	for (unsigned k = 0; k < 3; k++) {
		struct writer w;
		w_open(&w);
		put_header(&w.o, MIG_F_DISKS);
		put_blob(&w.o, MIG_REC_MACHINE, "m");
		put_layout(&w.o);
		mig_put_u8(&w.o, MIG_REC_DISKS);
		mig_put_u32(&w.o, 1);
		mig_put_u64(&w.o, 4096);
		mig_put_u8(&w.o, MIG_REC_DISK_ZERO);
		mig_put_u8(&w.o, 0);
		mig_put_u64(&w.o, offs[k]);
		mig_put_u64(&w.o, 512);
		struct buf b = w_close(&w);
		struct sink s;
		struct err e;
		assert_int_equal(parse(b, b.len, &s, &e), -EINVAL);
		assert_non_null(strstr(e.msg, "beyond its 4096 bytes"));
		guest_mem_free(&s.mem);
		free(b.p);
	}
}

static void expect_bad(void (*build)(struct mig_out *), const char *msg)
{
	struct writer w;
	w_open(&w);
	build(&w.o);
	struct buf b = w_close(&w);
	struct sink s;
	struct err e;
	assert_int_equal(parse(b, b.len, &s, &e), -EINVAL);
	if (!strstr(e.msg, msg))
		fail_msg("message `%s` lacks `%s`", e.msg, msg);
	guest_mem_free(&s.mem);
	free(b.p);
}

static void b_layout_first(struct mig_out *o)
{
	put_header(o, 0);
	put_layout(o);
}

static void b_unknown(struct mig_out *o)
{
	put_header(o, 0);
	put_blob(o, MIG_REC_MACHINE, "m");
	mig_put_u8(o, 99);
}

static void b_end_early(struct mig_out *o)
{
	put_header(o, 0);
	put_blob(o, MIG_REC_MACHINE, "m");
	put_layout(o);
	mig_put_u8(o, MIG_REC_END);
}

static void b_magic(struct mig_out *o)
{
	mig_put(o, "QEVM\0\0\0\3", 8);
	mig_put_u32(o, 1);
	mig_put_u32(o, 0);
}

static void b_version(struct mig_out *o)
{
	mig_put(o, MIG_MAGIC, 8);
	mig_put_u32(o, MIG_VERSION + 1);
	mig_put_u32(o, 0);
}

static void b_disks_unflagged(struct mig_out *o)
{
	put_header(o, 0);
	put_blob(o, MIG_REC_MACHINE, "m");
	mig_put_u8(o, MIG_REC_DISKS);
	mig_put_u32(o, 0);
}

static void b_huge_blob(struct mig_out *o)
{
	put_header(o, 0);
	mig_put_u8(o, MIG_REC_MACHINE);
	mig_put_u32(o, MIG_MAX_BLOB + 1);
}

static void b_batch(struct mig_out *o)
{
	put_header(o, 0);
	put_blob(o, MIG_REC_MACHINE, "m");
	put_layout(o);
	mig_put_u8(o, MIG_REC_PAGES);
	mig_put_u8(o, 0);
	mig_put_u16(o, MIG_BATCH + 1);
}

static void b_boot_first(struct mig_out *o)
{
	put_header(o, 0);
	mig_put_u8(o, MIG_REC_BOOT);
	mig_put_u32(o, 0);
}

static void b_boot_twice(struct mig_out *o)
{
	put_header(o, 0);
	put_blob(o, MIG_REC_MACHINE, "m");
	mig_put_u8(o, MIG_REC_BOOT);
	mig_put_u32(o, 0);
	mig_put_u8(o, MIG_REC_BOOT);
	mig_put_u32(o, 0);
}

static void b_boot_many(struct mig_out *o)
{
	put_header(o, 0);
	put_blob(o, MIG_REC_MACHINE, "m");
	mig_put_u8(o, MIG_REC_BOOT);
	mig_put_u32(o, MIG_BOOT_MAX_IMAGES + 1);
}

/* Two images whose lengths add up past the limit (and would wrap). */
static void b_boot_huge(struct mig_out *o)
{
	put_header(o, 0);
	put_blob(o, MIG_REC_MACHINE, "m");
	mig_put_u8(o, MIG_REC_BOOT);
	mig_put_u32(o, 2);
	mig_put_u64(o, 0x80000000);
	mig_put_u64(o, MIG_BOOT_MAX);
	mig_put_u32(o, 0);
	mig_put_u64(o, 0x80000000);
	mig_put_u64(o, UINT64_MAX);
	mig_put_u32(o, 0);
}

static void order_and_types(void **state)
{
	expect_bad(b_boot_first, "boot images before the machine");
	expect_bad(b_boot_twice, "boot images twice");
	expect_bad(b_boot_many, "4 boot images");
	expect_bad(b_boot_huge, "boot image 1 of");
	expect_bad(b_layout_first, "before the machine");
	expect_bad(b_unknown, "unknown record type 99");
	expect_bad(b_end_early, "end before the device state");
	expect_bad(b_magic, "bad magic");
	expect_bad(b_version, "version 3");
	expect_bad(b_disks_unflagged, "without disks");
	expect_bad(b_huge_blob, "machine section of");
	expect_bad(b_batch, "batch of 257 pages");
}

static void truncated(void **state)
{
	struct buf b = good_stream();
	for (size_t n = 0; n < b.len; n++) {
		struct sink s;
		struct err e;
		int rc = parse(b, n, &s, &e);
		assert_int_equal(rc, -EPIPE);
		guest_mem_free(&s.mem);
	}
	free(b.p);
}

static void ack(void **state)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(mig_send_ack(sv[0], -EINVAL, "no such disk"), 0);
	assert_int_equal(mig_send_ack(sv[0], 0, NULL), 0);
	int st;
	char msg[64];
	assert_int_equal(mig_recv_ack(sv[1], &st, msg, sizeof(msg)), 0);
	assert_int_equal(st, -EINVAL);
	assert_string_equal(msg, "no such disk");
	assert_int_equal(mig_recv_ack(sv[1], &st, msg, sizeof(msg)), 0);
	assert_int_equal(st, 0);
	/* The answer to a SYNC passes; other positive statuses do not. */
	assert_int_equal(mig_send_ack(sv[0], MIG_ACK_SYNC, NULL), 0);
	assert_int_equal(mig_send_ack(sv[0], 7, NULL), 0);
	assert_int_equal(mig_recv_ack(sv[1], &st, msg, sizeof(msg)), 0);
	assert_int_equal(st, MIG_ACK_SYNC);
	assert_int_equal(mig_recv_ack(sv[1], &st, msg, sizeof(msg)), 0);
	assert_int_equal(st, -EPROTO);
	close(sv[0]);
	assert_int_equal(mig_recv_ack(sv[1], &st, msg, sizeof(msg)), -EPIPE);
	close(sv[1]);
}

static void sec(struct state_writer *w, const char *name, uint32_t v,
		size_t n)
{
	state_begin(w, name, 1);
	state_put_u32(w, v);
	for (size_t i = 0; i < n; i++)
		state_put_u8(w, (uint8_t)i);
	state_end(w);
}

static uint32_t sec_value(struct state_reader *r, const char *name)
{
	uint32_t ver;
	assert_int_equal(state_open(r, name, 1, &ver, NULL), 0);
	uint32_t v = state_get_u32(r);
	r->left = 0;   /* skip the filler */
	return v;
}

static void state_delta_merge(void **state)
{
	struct state_writer base, cur;
	state_writer_init(&base);
	state_writer_init(&cur);
	sec(&base, "cpu0", 1, 10);
	sec(&base, "boot", 2, 100000);
	sec(&base, "uart", 3, 10);
	sec(&cur, "cpu0", 11, 10);       /* changed */
	sec(&cur, "boot", 2, 100000);    /* same */
	sec(&cur, "uart", 3, 10);        /* same */
	sec(&cur, "extra", 4, 1);        /* new */
	uint8_t *d;
	size_t dn;
	assert_int_equal(mig_state_delta(base.buf, base.len, cur.buf, cur.len,
					 &d, &dn), 0);
	struct state_reader r;
	assert_int_equal(state_reader_init(&r, d, dn, NULL), 0);
	assert_true(state_has(&r, "cpu0") && state_has(&r, "extra"));
	assert_false(state_has(&r, "boot") || state_has(&r, "uart"));
	assert_true(dn < 1000);
	uint8_t *m;
	size_t mn;
	struct err e = { 0 };
	assert_int_equal(mig_state_merge(base.buf, base.len, d, dn, &m, &mn,
					 &e), 0);
	assert_int_equal(mn, cur.len);
	assert_int_equal(state_reader_init(&r, m, mn, NULL), 0);
	assert_int_equal(sec_value(&r, "cpu0"), 11);
	assert_int_equal(sec_value(&r, "boot"), 2);
	assert_int_equal(sec_value(&r, "uart"), 3);
	assert_int_equal(sec_value(&r, "extra"), 4);
	free(m);
	/* Nothing changed: still a (one-section) stream. */
	uint8_t *d2;
	size_t dn2;
	assert_int_equal(mig_state_delta(base.buf, base.len, base.buf,
					 base.len, &d2, &dn2), 0);
	assert_int_equal(state_reader_init(&r, d2, dn2, NULL), 0);
	free(d2);
	/* A delta with a broken checksum. */
	d[STATE_HDR_SIZE] ^= 1;
	assert_int_equal(mig_state_merge(base.buf, base.len, d, dn, &m, &mn,
					 &e), -EINVAL);
	assert_null(m);
	free(d);
	state_writer_free(&base);
	state_writer_free(&cur);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(zero_page_clears),
		cmocka_unit_test(page_beyond_region),
		cmocka_unit_test(disk_beyond_size),
		cmocka_unit_test(order_and_types),
		cmocka_unit_test(truncated),
		cmocka_unit_test(ack),
		cmocka_unit_test(state_delta_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
