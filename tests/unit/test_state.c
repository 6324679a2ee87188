/* The state stream format (core/state.h): round trip of every type,
 * framing checks (truncation at every length, checksums, names, duplicate
 * sections), versions, and the sticky overrun / left-over detection. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/state.h"

/* Three sections: "alpha" v1 with every type, "beta" v3 empty, "gamma" v2
 * with bytes.  *ends gets each section's end offset. */
static void write_sample(struct state_writer *w, size_t ends[3])
{
	state_writer_init(w);
	state_begin(w, "alpha", 1);
	state_put_u8(w, 0xab);
	state_put_u16(w, 0xbeef);
	state_put_u32(w, 0xdeadbeef);
	state_put_u64(w, 0x0123456789abcdefULL);
	state_put_bool(w, true);
	state_put_bool(w, false);
	state_end(w);
	ends[0] = w->len;
	state_begin(w, "beta", 3);
	state_end(w);
	ends[1] = w->len;
	state_begin(w, "gamma", 2);
	state_put_bytes(w, "hello, state", 12);
	state_end(w);
	ends[2] = w->len;
	assert_int_equal(state_writer_error(w), 0);
}

static void expect(const struct err *e, const char *what)
{
	if (!strstr(e->msg, what))
		fail_msg("message `%s` lacks `%s`", e->msg, what);
}

static void round_trip(void **state)
{
	(void)state;
	struct state_writer w;
	size_t ends[3];
	write_sample(&w, ends);
	/* Little-endian on the wire, whatever the host. */
	assert_memory_equal(w.buf, "alpha", 6);
	assert_int_equal(w.buf[STATE_NAME_MAX], 1);
	assert_int_equal(w.buf[STATE_NAME_MAX + 8], 17);   /* length */
	assert_int_equal(w.buf[STATE_HDR_SIZE + 1], 0xef);
	assert_int_equal(w.buf[STATE_HDR_SIZE + 2], 0xbe);

	struct state_reader r;
	struct err e = { 0 };
	assert_int_equal(state_reader_init(&r, w.buf, w.len, &e), 0);
	uint32_t v = 0;
	assert_int_equal(state_open(&r, "gamma", 2, &v, &e), 0);
	assert_int_equal(v, 2);
	char buf[12];
	state_get_bytes(&r, buf, 12);
	assert_memory_equal(buf, "hello, state", 12);
	assert_int_equal(state_close(&r, &e), 0);
	assert_int_equal(state_open(&r, "alpha", 5, &v, &e), 0);
	assert_int_equal(v, 1);
	assert_int_equal(state_get_u8(&r), 0xab);
	assert_int_equal(state_get_u16(&r), 0xbeef);
	assert_int_equal(state_get_u32(&r), 0xdeadbeef);
	assert_int_equal(state_get_u64(&r), 0x0123456789abcdefULL);
	assert_true(state_get_bool(&r));
	assert_false(state_get_bool(&r));
	assert_int_equal(state_close(&r, &e), 0);
	assert_int_equal(state_open(&r, "beta", 3, NULL, &e), 0);
	assert_int_equal(state_close(&r, &e), 0);
	assert_true(state_has(&r, "beta"));
	assert_false(state_has(&r, "delta"));
	assert_int_equal(state_open(&r, "delta", 1, NULL, &e), -ENOENT);
	expect(&e, "no section `delta`");
	/* Walking the names in order. */
	static const char *const names[] = { "alpha", "beta", "gamma" };
	static const uint32_t versions[] = { 1, 3, 2 };
	char name[STATE_NAME_MAX + 1];
	uint64_t len;
	for (unsigned i = 0; i < 3; i++) {
		assert_true(state_section_at(&r, i, name, &v, &len));
		assert_string_equal(name, names[i]);
		assert_int_equal(v, versions[i]);
	}
	assert_false(state_section_at(&r, 3, name, &v, &len));
	/* The empty stream is a valid one. */
	assert_int_equal(state_reader_init(&r, w.buf, 0, &e), 0);
	assert_false(state_section_at(&r, 0, name, NULL, NULL));
	state_writer_free(&w);
}

static void truncated_anywhere(void **state)
{
	(void)state;
	struct state_writer w;
	size_t ends[3];
	write_sample(&w, ends);
	for (size_t n = 1; n < w.len; n++) {
		struct state_reader r;
		struct err e = { 0 };
		int rc = state_reader_init(&r, w.buf, n, &e);
		if (n == ends[0] || n == ends[1]) {
			/* A shorter stream of whole sections. */
			assert_int_equal(rc, 0);
			continue;
		}
		if (rc != -EINVAL)
			fail_msg("%zu of %zu bytes accepted", n, w.len);
		if (!strstr(e.msg, "truncated"))
			fail_msg("%zu bytes: `%s`", n, e.msg);
	}
	state_writer_free(&w);
}

static void corrupt_payload_and_names(void **state)
{
	(void)state;
	struct state_writer w;
	size_t ends[3];
	write_sample(&w, ends);
	struct state_reader r;
	struct err e = { 0 };
	/* Any payload byte flipped: a checksum mismatch naming the
	 * section. */
	for (size_t off = ends[1] + STATE_HDR_SIZE; off < ends[2]; off++) {
		w.buf[off] ^= 0x10;
		e = (struct err){ 0 };
		assert_int_equal(state_reader_init(&r, w.buf, w.len, &e),
				 -EINVAL);
		expect(&e, "section `gamma`: checksum mismatch");
		w.buf[off] ^= 0x10;
	}
	/* A CRC byte itself. */
	w.buf[STATE_NAME_MAX + 4] ^= 1;
	e = (struct err){ 0 };
	assert_int_equal(state_reader_init(&r, w.buf, w.len, &e), -EINVAL);
	expect(&e, "`alpha`: checksum");
	w.buf[STATE_NAME_MAX + 4] ^= 1;
	/* Names: empty, unprintable, without a NUL. */
	uint8_t saved[STATE_NAME_MAX];
	memcpy(saved, w.buf + ends[0], STATE_NAME_MAX);
	w.buf[ends[0]] = 0;
	e = (struct err){ 0 };
	assert_int_equal(state_reader_init(&r, w.buf, w.len, &e), -EINVAL);
	expect(&e, "section 1: bad name");
	w.buf[ends[0]] = 'b';
	w.buf[ends[0] + 1] = '\n';
	e = (struct err){ 0 };
	assert_int_equal(state_reader_init(&r, w.buf, w.len, &e), -EINVAL);
	expect(&e, "bad name");
	memset(w.buf + ends[0], 'x', STATE_NAME_MAX);
	e = (struct err){ 0 };
	assert_int_equal(state_reader_init(&r, w.buf, w.len, &e), -EINVAL);
	expect(&e, "bad name");
	memcpy(w.buf + ends[0], saved, STATE_NAME_MAX);
	/* A length beyond the stream. */
	w.buf[ends[1] + STATE_NAME_MAX + 15] = 0x80;
	e = (struct err){ 0 };
	assert_int_equal(state_reader_init(&r, w.buf, w.len, &e), -EINVAL);
	expect(&e, "truncated");
	state_writer_free(&w);
}

static void duplicate_name(void **state)
{
	(void)state;
	struct state_writer w;
	state_writer_init(&w);
	state_begin(&w, "cpu0", 1);
	state_put_u32(&w, 1);
	state_end(&w);
	state_begin(&w, "cpu1", 1);
	state_end(&w);
	state_begin(&w, "cpu0", 1);
	state_put_u32(&w, 2);
	state_end(&w);
	struct state_reader r;
	struct err e = { 0 };
	assert_int_equal(state_reader_init(&r, w.buf, w.len, &e), -EINVAL);
	expect(&e, "section `cpu0` appears twice");
	state_writer_free(&w);
}

static void versions(void **state)
{
	(void)state;
	struct state_writer w;
	state_writer_init(&w);
	state_begin(&w, "old", 0);
	state_end(&w);
	state_begin(&w, "new", 7);
	state_end(&w);
	struct state_reader r;
	struct err e = { 0 };
	assert_int_equal(state_reader_init(&r, w.buf, w.len, &e), 0);
	assert_int_equal(state_open(&r, "new", 6, NULL, &e), -EINVAL);
	expect(&e, "section `new` has format version 7; this ringvm reads 1 "
	       "to 6");
	e = (struct err){ 0 };
	assert_int_equal(state_open(&r, "old", 6, NULL, &e), -EINVAL);
	expect(&e, "version 0");
	e = (struct err){ 0 };
	uint32_t v = 0;
	assert_int_equal(state_open(&r, "new", 7, &v, &e), 0);
	assert_int_equal(v, 7);
	state_writer_free(&w);
}

static void overrun_and_left_over(void **state)
{
	(void)state;
	struct state_writer w;
	size_t ends[3];
	write_sample(&w, ends);
	struct state_reader r;
	struct err e = { 0 };
	assert_int_equal(state_reader_init(&r, w.buf, w.len, &e), 0);
	/* 12 bytes: a u64 and a u32 fit, then nothing. */
	assert_int_equal(state_open(&r, "gamma", 2, NULL, &e), 0);
	assert_int_not_equal(state_get_u64(&r), 0);
	assert_int_not_equal(state_get_u32(&r), 0);
	assert_int_equal(state_get_u8(&r), 0);
	assert_true(r.bad);
	/* Sticky: later reads give zeros, even of bytes. */
	assert_int_equal(state_get_u16(&r), 0);
	char buf[4] = { 1, 1, 1, 1 };
	state_get_bytes(&r, buf, 4);
	assert_memory_equal(buf, "\0\0\0\0", 4);
	assert_int_equal(state_close(&r, &e), -EINVAL);
	expect(&e, "section `gamma` is truncated");
	/* A bytes read past the end. */
	assert_int_equal(state_open(&r, "gamma", 2, NULL, &e), 0);
	char big[13];
	state_get_bytes(&r, big, 13);
	e = (struct err){ 0 };
	assert_int_equal(state_close(&r, &e), -EINVAL);
	expect(&e, "truncated");
	/* Left over. */
	assert_int_equal(state_open(&r, "alpha", 1, NULL, &e), 0);
	state_get_u8(&r);
	e = (struct err){ 0 };
	assert_int_equal(state_close(&r, &e), -EINVAL);
	expect(&e, "section `alpha` has 16 bytes left over");
	/* state_invalid names the section. */
	assert_int_equal(state_open(&r, "beta", 3, NULL, &e), 0);
	e = (struct err){ 0 };
	assert_int_equal(state_invalid(&r, &e, "index %d", 9), -EINVAL);
	expect(&e, "state: section `beta`: index 9");
	state_writer_free(&w);
}

static void long_name_is_cut(void **state)
{
	(void)state;
	struct state_writer w;
	state_writer_init(&w);
	char name[64];
	memset(name, 'n', sizeof(name) - 1);
	name[63] = '\0';
	state_begin(&w, name, 1);
	state_end(&w);
	struct state_reader r;
	struct err e = { 0 };
	assert_int_equal(state_reader_init(&r, w.buf, w.len, &e), 0);
	char got[STATE_NAME_MAX + 1];
	assert_true(state_section_at(&r, 0, got, NULL, NULL));
	assert_int_equal(strlen(got), STATE_NAME_MAX - 1);
	state_writer_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(truncated_anywhere),
		cmocka_unit_test(corrupt_payload_and_names),
		cmocka_unit_test(duplicate_name),
		cmocka_unit_test(versions),
		cmocka_unit_test(overrun_and_left_over),
		cmocka_unit_test(long_name_is_cut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
