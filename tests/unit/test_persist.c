/* Device state sections (the *_state.c next to each device): each device
 * is put in a non-trivial state, saved, loaded into a fresh device and
 * saved again — the same bytes — and the two then behave the same.
 * Hostile sections (bad bits, indices, sizes, rings outside RAM, short or
 * long payloads) are refused with a message and change nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "board/virt/memmap.h"
#include "core/state.h"
#include "engine/rv64/hart.h"
#include "hw/clint.h"
#include "hw/goldfish_rtc.h"
#include "hw/plic.h"
#include "hw/uart8250.h"
#include "hw/virtio_blk.h"
#include "hw/virtio_net.h"
#include "hw/virtio_rng.h"

/* ---- stream helpers --------------------------------------------------- */

struct stream {
	struct state_writer w;
	struct state_reader r;
	struct err e;
};

static void stream_init(struct stream *s)
{
	memset(s, 0, sizeof(*s));
	state_writer_init(&s->w);
}

/* Freeze what was written and open a reader on it. */
static void stream_read(struct stream *s)
{
	assert_int_equal(state_writer_error(&s->w), 0);
	s->e = (struct err){ 0 };
	assert_int_equal(state_reader_init(&s->r, s->w.buf, s->w.len, &s->e),
			 0);
}

static void stream_free(struct stream *s)
{
	state_writer_free(&s->w);
}

/* Set payload byte `off` of the stream's only section and fix its CRC:
 * hostile content behind valid framing. */
static void patch8(struct stream *s, size_t off, uint8_t v)
{
	assert_true(STATE_HDR_SIZE + off < s->w.len);
	s->w.buf[STATE_HDR_SIZE + off] = v;
	uLong crc = crc32_z(0L, s->w.buf + STATE_HDR_SIZE,
			    s->w.len - STATE_HDR_SIZE);
	for (int i = 0; i < 4; i++)
		s->w.buf[STATE_NAME_MAX + 4 + i] = (uint8_t)(crc >> (8 * i));
}

static void expect_msg(const struct err *e, const char *what)
{
	if (!strstr(e->msg, what))
		fail_msg("message `%s` lacks `%s`", e->msg, what);
}

/* ---- UART ------------------------------------------------------------- */

struct line {
	int level;
	int calls;
};

static void line_set(void *opaque, unsigned num, int level)
{
	struct line *l = opaque;
	l->level = level;
	l->calls++;
	(void)num;
}

static uint8_t ureg(struct uart8250 *u, unsigned off)
{
	uint64_t v = 0;
	assert_int_equal(uart8250_read(u, off, 1, &v), 0);
	return (uint8_t)v;
}

static void uwr(struct uart8250 *u, unsigned off, uint8_t v)
{
	assert_int_equal(uart8250_write(u, off, 1, v), 0);
}

static void uart_pair(struct bus *bus, struct uart8250 *a,
		      struct uart8250 *b, struct line *la, struct line *lb)
{
	memset(bus, 0, sizeof(*bus));
	assert_int_equal(uart8250_init(a, bus, 0x1000, (struct irq_line){
					       line_set, la, 10 }, NULL, NULL,
				       NULL), 0);
	assert_int_equal(uart8250_init(b, bus, 0x2000, (struct irq_line){
					       line_set, lb, 10 }, NULL, NULL,
				       NULL), 0);
}

static void uart_round_trip(void **state)
{
	(void)state;
	struct bus bus;
	struct uart8250 a, b;
	struct line la = { 0 }, lb = { 0 };
	uart_pair(&bus, &a, &b, &la, &lb);
	uwr(&a, 3, 0x80);             /* DLAB */
	uwr(&a, 0, 0x0c);
	uwr(&a, 1, 0x01);
	uwr(&a, 3, 0x03);
	uwr(&a, 2, 0xc1);             /* FIFO on, trigger 14 */
	uwr(&a, 1, 0x05);             /* RDI | RLSI */
	uwr(&a, 4, 0x0b);
	uwr(&a, 7, 0x5a);
	assert_int_equal(uart8250_receive(&a, (const uint8_t *)"hello!", 6),
			 6);
	assert_int_equal(ureg(&a, 0), 'h');
	assert_int_equal(la.level, 1);   /* character timeout */

	struct stream s, s2;
	stream_init(&s);
	stream_init(&s2);
	uart8250_save(&a, "uart0", &s.w);
	stream_read(&s);
	struct uart8250_state st;
	assert_int_equal(uart8250_parse(&s.r, "uart0", &st, &s.e), 0);
	uart8250_apply(&b, &st);
	assert_int_equal(lb.level, 1);
	uart8250_save(&b, "uart0", &s2.w);
	assert_int_equal(s2.w.len, s.w.len);
	assert_memory_equal(s2.w.buf, s.w.buf, s.w.len);
	/* Same registers, same bytes in the FIFO, same interrupt. */
	for (unsigned off = 1; off < 8; off++)
		if (off != 5 && off != 6)
			assert_int_equal(ureg(&a, off), ureg(&b, off));
	for (int i = 0; i < 5; i++)
		assert_int_equal(ureg(&a, 0), ureg(&b, 0));
	assert_int_equal(ureg(&b, 5) & 1, 0);   /* FIFO empty now */
	assert_int_equal(la.level, lb.level);
	assert_true(uart8250_rx_listening(&b, UART8250_SETTLE_NS));
	stream_free(&s);
	stream_free(&s2);
	uart8250_exit(&a);
	uart8250_exit(&b);
	bus_free(&bus);
}

static void uart_hostile(void **state)
{
	(void)state;
	struct bus bus;
	struct uart8250 a, b;
	struct line la = { 0 }, lb = { 0 };
	uart_pair(&bus, &a, &b, &la, &lb);
	uwr(&a, 2, 0x01);             /* FIFO on */
	assert_int_equal(uart8250_receive(&a, (const uint8_t *)"abcd", 4), 4);
	/* payload: ier lcr mcr lsr msr scr dll dlm fcr, count, 16 bytes, thr */
	static const struct { size_t off; uint8_t v; const char *msg; } bad[] = {
		{ 0, 0xf0, "undefined register bits" },     /* IER */
		{ 2, 0x20, "undefined register bits" },     /* MCR */
		{ 3, 0x01, "undefined register bits" },     /* LSR.DR */
		{ 8, 0x06, "FCR" },
		{ 8, 0x00, "4 bytes in a 1-byte" },         /* FIFO off */
		{ 9, 17, "17 bytes in a 16-byte" },
		{ 26, 2, "undefined register bits" },       /* thr_pending */
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct stream s;
		stream_init(&s);
		uart8250_save(&a, "uart0", &s.w);
		patch8(&s, bad[i].off, bad[i].v);
		stream_read(&s);
		struct uart8250_state st;
		assert_int_equal(uart8250_parse(&s.r, "uart0", &st, &s.e),
				 -EINVAL);
		expect_msg(&s.e, bad[i].msg);
		expect_msg(&s.e, "uart0");
		stream_free(&s);
	}
	/* Short and long payloads; another name. */
	for (int extra = -1; extra <= 1; extra += 2) {
		struct stream s;
		stream_init(&s);
		state_begin(&s.w, "uart0", 1);
		uint8_t z[28] = { 0 };
		state_put_bytes(&s.w, z, (size_t)(27 + extra));
		state_end(&s.w);
		stream_read(&s);
		struct uart8250_state st;
		assert_int_equal(uart8250_parse(&s.r, "uart0", &st, &s.e),
				 -EINVAL);
		expect_msg(&s.e, extra < 0 ? "truncated" : "left over");
		s.e = (struct err){ 0 };
		assert_int_equal(uart8250_parse(&s.r, "uart1", &st, &s.e),
				 -ENOENT);
		stream_free(&s);
	}
	/* A newer format is not guessed at. */
	struct stream s;
	stream_init(&s);
	state_begin(&s.w, "uart0", 2);
	state_end(&s.w);
	stream_read(&s);
	struct uart8250_state st;
	assert_int_equal(uart8250_parse(&s.r, "uart0", &st, &s.e), -EINVAL);
	expect_msg(&s.e, "version 2");
	stream_free(&s);
	assert_int_equal(lb.calls, 0);
	uart8250_exit(&a);
	uart8250_exit(&b);
	bus_free(&bus);
}

/* ---- goldfish RTC ----------------------------------------------------- */

static uint64_t host_ns = 1700000000000000000ULL;

static uint64_t fake_clock(void *opaque)
{
	(void)opaque;
	return host_ns;
}

static void rtc_round_trip(void **state)
{
	(void)state;
	struct bus bus = { 0 };
	struct goldfish_rtc a, b;
	struct line la = { 0 }, lb = { 0 };
	assert_int_equal(goldfish_rtc_init(&a, &bus, 0x1000, (struct irq_line){
						   line_set, &la, 11 },
					   fake_clock, NULL, NULL), 0);
	assert_int_equal(goldfish_rtc_init(&b, &bus, 0x2000, (struct irq_line){
						   line_set, &lb, 11 },
					   fake_clock, NULL, NULL), 0);
	/* The guest sets its clock 5 s ahead, arms an alarm that fires,
	 * enables the interrupt, and reads the time (latching TIME_HIGH). */
	uint64_t t = host_ns + 5000000000ULL;
	goldfish_rtc_write(&a, GOLDFISH_RTC_TIME_HIGH, 4, t >> 32);
	goldfish_rtc_write(&a, GOLDFISH_RTC_TIME_LOW, 4, (uint32_t)t);
	goldfish_rtc_write(&a, GOLDFISH_RTC_IRQ_ENABLED, 4, 1);
	goldfish_rtc_write(&a, GOLDFISH_RTC_ALARM_HIGH, 4, (t + 1000) >> 32);
	goldfish_rtc_write(&a, GOLDFISH_RTC_ALARM_LOW, 4, (uint32_t)(t + 1000));
	host_ns += 2000;
	goldfish_rtc_poll(&a);
	assert_int_equal(la.level, 1);
	goldfish_rtc_write(&a, GOLDFISH_RTC_ALARM_HIGH, 4, (t + 9000) >> 32);
	goldfish_rtc_write(&a, GOLDFISH_RTC_ALARM_LOW, 4, (uint32_t)(t + 9000));
	uint64_t lo;
	goldfish_rtc_read(&a, GOLDFISH_RTC_TIME_LOW, 4, &lo);

	struct stream s, s2;
	stream_init(&s);
	stream_init(&s2);
	goldfish_rtc_save(&a, "rtc", &s.w);
	stream_read(&s);
	struct goldfish_rtc_state st;
	assert_int_equal(goldfish_rtc_parse(&s.r, "rtc", &st, &s.e), 0);
	goldfish_rtc_apply(&b, &st);
	goldfish_rtc_save(&b, "rtc", &s2.w);
	assert_int_equal(s2.w.len, s.w.len);
	assert_memory_equal(s2.w.buf, s.w.buf, s.w.len);
	assert_int_equal(lb.level, 1);
	assert_int_equal(goldfish_rtc_now(&b), goldfish_rtc_now(&a));
	for (unsigned off = 0x04; off <= 0x18; off += 4) {
		uint64_t va, vb;
		goldfish_rtc_read(&a, off, 4, &va);
		goldfish_rtc_read(&b, off, 4, &vb);
		assert_int_equal(va, vb);
	}
	/* The armed alarm fires in both at the same time. */
	host_ns += 8000;
	goldfish_rtc_poll(&a);
	goldfish_rtc_poll(&b);
	uint64_t sa, sb;
	goldfish_rtc_read(&a, GOLDFISH_RTC_ALARM_STATUS, 4, &sa);
	goldfish_rtc_read(&b, GOLDFISH_RTC_ALARM_STATUS, 4, &sb);
	assert_int_equal(sa, 0);
	assert_int_equal(sb, 0);
	/* Hostile flags. */
	for (size_t off = 20; off < 23; off++) {
		struct stream h;
		stream_init(&h);
		goldfish_rtc_save(&a, "rtc", &h.w);
		patch8(&h, off, 7);
		stream_read(&h);
		assert_int_equal(goldfish_rtc_parse(&h.r, "rtc", &st, &h.e),
				 -EINVAL);
		expect_msg(&h.e, "flags");
		stream_free(&h);
	}
	stream_free(&s);
	stream_free(&s2);
	goldfish_rtc_exit(&a);
	goldfish_rtc_exit(&b);
	bus_free(&bus);
}

/* ---- PLIC and CLINT --------------------------------------------------- */

struct mach {
	struct rv_machine m;
};

static struct mach *mach_new(unsigned nharts)
{
	struct mach *x = calloc(1, sizeof(*x));
	struct err e = { 0 };
	assert_non_null(x);
	x->m.nharts = nharts;
	for (unsigned i = 0; i < nharts; i++) {
		x->m.harts[i] = rv_hart_new(&x->m, i, &e);
		assert_non_null(x->m.harts[i]);
	}
	assert_int_equal(rv_plic_init(&x->m, RV_PLIC_BASE, &e), 0);
	assert_int_equal(rv_clint_init(&x->m, RV_CLINT_BASE, &e), 0);
	return x;
}

static void mach_free(struct mach *x)
{
	rv_plic_free(&x->m);
	rv_clint_free(&x->m);
	for (unsigned i = 0; i < x->m.nharts; i++)
		rv_hart_free(x->m.harts[i]);
	bus_free(&x->m.bus);
	free(x);
}

static uint32_t mrd(struct mach *x, uint64_t addr)
{
	uint64_t v = 0;
	assert_int_equal(bus_read(&x->m.bus, addr, 4, &v), 0);
	return (uint32_t)v;
}

static void mwr(struct mach *x, uint64_t addr, uint32_t v)
{
	assert_int_equal(bus_write(&x->m.bus, addr, 4, v), 0);
}

#define PRIO(s)   (RV_PLIC_BASE + RV_PLIC_PRIORITY + 4 * (s))
#define ENABLE(c) (RV_PLIC_BASE + RV_PLIC_ENABLE + RV_PLIC_ENABLE_STRIDE * (c))
#define THRESH(c) (RV_PLIC_BASE + RV_PLIC_CONTEXT + \
		   RV_PLIC_CONTEXT_STRIDE * (c))
#define CLAIM(c)  (THRESH(c) + 4)

static uint64_t mip(struct mach *x, unsigned hart)
{
	return __atomic_load_n(&x->m.harts[hart]->mip, __ATOMIC_RELAXED);
}

static void plic_round_trip(void **state)
{
	(void)state;
	struct mach *a = mach_new(2), *b = mach_new(2);
	for (unsigned src = 1; src <= 6; src++)
		mwr(a, PRIO(src), src % 8);
	mwr(a, ENABLE(0), 0x2a);   /* M0: 1, 3, 5 */
	mwr(a, ENABLE(1), 0x7e);   /* S0: 1..6 */
	mwr(a, ENABLE(2), 0x40);   /* M1: 6 */
	mwr(a, THRESH(1), 2);
	mwr(a, THRESH(2), 6);
	for (unsigned src = 1; src <= 6; src++) {
		struct irq_line l = rv_plic_irq(&a->m, src);
		irq_set_level(&l, src != 4);
	}
	assert_int_equal(mrd(a, CLAIM(0)), 5);   /* now in service */
	assert_true(mip(a, 0) & RV_MIP_MEIP);    /* 3 is still pending */
	/* b's hart believes in an interrupt a does not have. */
	rv_hart_set_mip(b->m.harts[1], RV_MIP_MEIP, 1);

	struct stream s, s2;
	stream_init(&s);
	stream_init(&s2);
	rv_plic_save(&a->m, &s.w);
	stream_read(&s);
	struct rv_plic_state st;
	assert_int_equal(rv_plic_parse(&s.r, &b->m, &st, &s.e), 0);
	rv_plic_apply(&b->m, &st);
	rv_plic_save(&b->m, &s2.w);
	assert_int_equal(s2.w.len, s.w.len);
	assert_memory_equal(s2.w.buf, s.w.buf, s.w.len);
	for (unsigned h = 0; h < 2; h++)
		assert_int_equal(mip(b, h) & (RV_MIP_MEIP | RV_MIP_SEIP),
				 mip(a, h) & (RV_MIP_MEIP | RV_MIP_SEIP));
	assert_false(mip(b, 1) & RV_MIP_MEIP);   /* 6 is below threshold */
	/* Claims and completions go the same way. */
	for (unsigned c = 0; c < 4; c++)
		assert_int_equal(mrd(b, CLAIM(c)), mrd(a, CLAIM(c)));
	mwr(a, CLAIM(0), 5);
	mwr(b, CLAIM(0), 5);
	assert_int_equal(mrd(b, CLAIM(0)), mrd(a, CLAIM(0)));
	assert_int_equal(mrd(b, RV_PLIC_BASE + RV_PLIC_PENDING),
			 mrd(a, RV_PLIC_BASE + RV_PLIC_PENDING));
	stream_free(&s);
	stream_free(&s2);

	/* Hostile: payload nctx u32, prio[32], level, pending, claimed,
	 * then per context enable u32 + threshold u8. */
	static const struct { size_t off; uint8_t v; const char *msg; } bad[] = {
		{ 4, 1, "priority of source 0" },
		{ 4 + 3, 8, "source 3: priority 8" },
		{ 36, 0x6f, "nonexistent sources" },      /* level bit 0 */
		{ 40, 0x00, "does not follow" },          /* pending */
		{ 44, 0x21, "nonexistent sources" },      /* claimed bit 0 */
		{ 48 + 5, 0x7f, "context 1: enable" },
		{ 48 + 5 + 4, 8, "context 1: threshold 8" },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct stream h;
		stream_init(&h);
		rv_plic_save(&a->m, &h.w);
		patch8(&h, bad[i].off, bad[i].v);
		stream_read(&h);
		if (rv_plic_parse(&h.r, &b->m, &st, &h.e) != -EINVAL)
			fail_msg("case %u accepted", i);
		expect_msg(&h.e, bad[i].msg);
		stream_free(&h);
	}
	struct mach *one = mach_new(1);
	struct stream h;
	stream_init(&h);
	rv_plic_save(&a->m, &h.w);
	stream_read(&h);
	assert_int_equal(rv_plic_parse(&h.r, &one->m, &st, &h.e), -EINVAL);
	expect_msg(&h.e, "4 contexts, this machine has 2");
	stream_free(&h);
	mach_free(one);
	mach_free(a);
	mach_free(b);
}

static void clint_round_trip(void **state)
{
	(void)state;
	struct mach *a = mach_new(2), *b = mach_new(2);
	uint64_t cmp = RV_CLINT_BASE + RV_CLINT_MTIMECMP;
	assert_int_equal(bus_write(&a->m.bus, cmp, 8, 123456), 0);
	assert_int_equal(bus_write(&a->m.bus, cmp + 8, 8, 1ULL << 40), 0);
	/* A frozen guest time past hart 0's compare value, before hart 1's. */
	uint64_t mtime = 5000000;
	rv_clint_update_at(&a->m, mtime);
	struct stream s, s2;
	stream_init(&s);
	stream_init(&s2);
	rv_clint_save(&a->m, mtime, &s.w);
	stream_read(&s);
	struct rv_clint_state st;
	assert_int_equal(rv_clint_parse(&s.r, &b->m, &st, &s.e), 0);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	rv_clint_apply(&b->m, &st, now);
	/* The guest's time goes on from the saved value. */
	uint64_t t = rv_mtime(&b->m);
	assert_true(t >= mtime);
	assert_true(t < mtime + RV_TIMEBASE_HZ);
	assert_int_equal(rv_clint_mtimecmp(&b->m, 0), 123456);
	assert_int_equal(rv_clint_mtimecmp(&b->m, 1), 1ULL << 40);
	assert_true(mip(b, 0) & RV_MIP_MTIP);
	assert_false(mip(b, 1) & RV_MIP_MTIP);
	rv_clint_save(&b->m, mtime, &s2.w);
	assert_int_equal(s2.w.len, s.w.len);
	assert_memory_equal(s2.w.buf, s.w.buf, s.w.len);
	/* Another hart count; a short section. */
	struct mach *one = mach_new(1);
	assert_int_equal(rv_clint_parse(&s.r, &one->m, &st, &s.e), -EINVAL);
	expect_msg(&s.e, "2 harts, this machine has 1");
	mach_free(one);
	struct stream h;
	stream_init(&h);
	state_begin(&h.w, "clint", 1);
	state_put_u32(&h.w, 2);
	state_put_u64(&h.w, 1);
	state_put_u64(&h.w, 1);
	state_end(&h.w);
	stream_read(&h);
	assert_int_equal(rv_clint_parse(&h.r, &b->m, &st, &h.e), -EINVAL);
	expect_msg(&h.e, "truncated");
	stream_free(&h);
	stream_free(&s);
	stream_free(&s2);
	mach_free(a);
	mach_free(b);
}

/* ---- virtio-mmio transport (on virtio-rng) ----------------------------- */

#define VBASE  0x10001000ULL
#define VBASE2 0x10002000ULL
#define RAM    0x80000000ULL
#define RAMSZ  (1u << 20)
#define QSIZE  16
#define DESC   (RAM + 0x1000)
#define AVAIL  (RAM + 0x2000)
#define USED   (RAM + 0x3000)
#define DATA   (RAM + 0x10000)

struct vfx {
	struct guest_mem mem;
	struct bus bus;
	struct virtio_rng a, b;
	struct line la, lb;
	uint16_t avail_idx, used_seen;
};

static uint32_t vrd(struct vfx *f, uint64_t base, unsigned off)
{
	uint64_t v = 0;
	assert_int_equal(bus_read(&f->bus, base + off, 4, &v), 0);
	return (uint32_t)v;
}

static void vwr(struct vfx *f, uint64_t base, unsigned off, uint32_t v)
{
	assert_int_equal(bus_write(&f->bus, base + off, 4, v), 0);
}

static struct vfx *vfx_new(void)
{
	struct vfx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(guest_mem_add(&f->mem, RAM, RAMSZ, NULL), 0);
	assert_int_equal(virtio_rng_init(&f->a, &f->bus, VBASE, &f->mem,
					 (struct irq_line){ line_set, &f->la, 8 },
					 NULL), 0);
	assert_int_equal(virtio_rng_init(&f->b, &f->bus, VBASE2, &f->mem,
					 (struct irq_line){ line_set, &f->lb, 9 },
					 NULL), 0);
	return f;
}

static void vfx_free(struct vfx *f)
{
	virtio_rng_exit(&f->a);
	virtio_rng_exit(&f->b);
	bus_free(&f->bus);
	guest_mem_free(&f->mem);
	free(f);
}

/* A driver brings device `base` up with one queue of QSIZE. */
static void driver_init(struct vfx *f, uint64_t base)
{
	const uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	vwr(f, base, VIRTIO_MMIO_STATUS, s);
	vwr(f, base, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vwr(f, base, VIRTIO_MMIO_DRIVER_FEATURES, 1);   /* VERSION_1 */
	vwr(f, base, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vwr(f, base, VIRTIO_MMIO_DRIVER_FEATURES,
	    1u << VIRTIO_F_EVENT_IDX);
	vwr(f, base, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK);
	vwr(f, base, VIRTIO_MMIO_QUEUE_SEL, 0);
	vwr(f, base, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	vwr(f, base, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)DESC);
	vwr(f, base, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)AVAIL);
	vwr(f, base, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)USED);
	vwr(f, base, VIRTIO_MMIO_QUEUE_READY, 1);
	vwr(f, base, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK |
	    VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(vrd(f, base, VIRTIO_MMIO_QUEUE_READY), 1);
}

/* One 32-byte writable buffer made available and notified at `base`;
 * the used ring must then hold it. */
static void request(struct vfx *f, uint64_t base)
{
	uint8_t d[16] = { 0 };
	uint64_t addr = DATA;
	uint32_t len = 32;
	uint16_t flags = VIRTQ_DESC_F_WRITE;
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	assert_int_equal(gpa_write(&f->mem, DESC, d, 16), 0);
	uint16_t head = 0, slot = f->avail_idx % QSIZE;
	assert_int_equal(gpa_write(&f->mem, AVAIL + 4 + 2 * slot, &head, 2), 0);
	f->avail_idx++;
	/* used_event: interrupt on every completion. */
	uint16_t ev = f->used_seen;
	assert_int_equal(gpa_write(&f->mem, AVAIL + 4 + 2 * QSIZE, &ev, 2), 0);
	assert_int_equal(gpa_write(&f->mem, AVAIL + 2, &f->avail_idx, 2), 0);
	vwr(f, base, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	uint16_t idx = 0;
	assert_int_equal(gpa_read(&f->mem, USED + 2, &idx, 2), 0);
	assert_int_equal((uint16_t)(idx - f->used_seen), 1);
	f->used_seen++;
}

static void transport_round_trip(void **state)
{
	(void)state;
	struct vfx *f = vfx_new();
	driver_init(f, VBASE);
	request(f, VBASE);
	request(f, VBASE);
	assert_int_equal(f->la.level, 1);
	vwr(f, VBASE, VIRTIO_MMIO_QUEUE_SEL, 3);   /* a selector left odd */

	struct stream s, s2;
	stream_init(&s);
	stream_init(&s2);
	virtio_mmio_save(&f->a.t, "virtio0", &s.w);
	stream_read(&s);
	struct virtio_mmio_state st;
	assert_int_equal(virtio_mmio_parse(&s.r, "virtio0", &f->b.t, &st,
					   &s.e), 0);
	virtio_mmio_apply(&f->b.t, &st);
	virtio_mmio_save(&f->b.t, "virtio0", &s2.w);
	assert_int_equal(s2.w.len, s.w.len);
	assert_memory_equal(s2.w.buf, s.w.buf, s.w.len);
	/* Loading wrote nothing to the rings: the used idx stays 2 (enabling
	 * a queue would have zeroed it). */
	uint16_t idx = 0;
	assert_int_equal(gpa_read(&f->mem, USED + 2, &idx, 2), 0);
	assert_int_equal(idx, 2);
	assert_int_equal(f->lb.level, 1);
	static const unsigned regs[] = {
		VIRTIO_MMIO_STATUS, VIRTIO_MMIO_INTERRUPT_STATUS,
		VIRTIO_MMIO_CONFIG_GENERATION, VIRTIO_MMIO_QUEUE_READY,
	};
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(vrd(f, VBASE2, regs[i]), vrd(f, VBASE, regs[i]));
	/* The driver goes on with the loaded device: used idx 3. */
	vwr(f, VBASE2, VIRTIO_MMIO_INTERRUPT_ACK, 1);
	assert_int_equal(f->lb.level, 0);
	request(f, VBASE2);
	assert_int_equal(f->lb.level, 1);
	assert_int_equal(f->b.stats.requests, 1);
	stream_free(&s);
	stream_free(&s2);
	vfx_free(f);
}

/* The transport section's layout (virtio_mmio_state.c), written by hand
 * so that each field can be made hostile. */
struct tsec {
	uint32_t id, status, dsel, drsel;
	uint64_t offered, drv, features;
	uint8_t bad;
	uint32_t qsel, isr, gen, shm, nq;
	uint32_t num;
	uint64_t desc, avail, used;
	uint8_t ready;
	uint16_t size, last, uidx, sig;
	uint8_t broken;
};

static void put_tsec(struct state_writer *w, const struct tsec *t)
{
	state_begin(w, "virtio0", 1);
	state_put_u32(w, t->id);
	state_put_u32(w, t->status);
	state_put_u32(w, t->dsel);
	state_put_u32(w, t->drsel);
	state_put_u64(w, t->offered);
	state_put_u64(w, t->drv);
	state_put_u8(w, t->bad);
	state_put_u64(w, t->features);
	state_put_u32(w, t->qsel);
	state_put_u32(w, t->isr);
	state_put_u32(w, t->gen);
	state_put_u32(w, t->shm);
	state_put_u32(w, t->nq);
	for (unsigned i = 0; i < t->nq; i++) {
		state_put_u32(w, t->num);
		state_put_u64(w, t->desc);
		state_put_u64(w, t->avail);
		state_put_u64(w, t->used);
		state_put_u8(w, t->ready);
		state_put_u16(w, t->size);
		state_put_u16(w, t->last);
		state_put_u16(w, t->uidx);
		state_put_u16(w, t->sig);
		state_put_u8(w, t->broken);
	}
	state_end(w);
}

static void transport_hostile(void **state)
{
	(void)state;
	struct vfx *f = vfx_new();
	const uint64_t offered = f->b.t.offered;
	const struct tsec good = {
		.id = 4, .status = 0x0f, .offered = offered,
		.drv = 1ULL << 32, .features = 1ULL << 32, .nq = 1,
		.num = QSIZE, .desc = DESC, .avail = AVAIL, .used = USED,
		.ready = 1, .size = QSIZE, .last = 7, .uidx = 7, .sig = 7,
	};
	struct { struct tsec t; const char *msg; } bad[13];
	for (unsigned i = 0; i < 13; i++)
		bad[i].t = good;
	bad[0].t.desc = RAM + RAMSZ;         bad[0].msg = "not a ring in RAM";
	bad[1].t.desc = DESC + 8;            bad[1].msg = "not a ring in RAM";
	bad[2].t.used = RAM + RAMSZ - 64;    bad[2].msg = "not a ring in RAM";
	bad[3].t.avail = 0x1000;             bad[3].msg = "not a ring in RAM";
	bad[4].t.num = bad[4].t.size = 12;   bad[4].msg = "not a ring in RAM";
	bad[5].t.num = bad[5].t.size = 128;  bad[5].msg = "not a ring in RAM";
	bad[6].t.size = 8;                   bad[6].msg = "not a ring in RAM";
	bad[7].t.features |= 1ULL << 40;     bad[7].msg = "accepted features";
	bad[8].t.isr = 4;                    bad[8].msg = "interrupt status";
	bad[9].t.id = 2;                     bad[9].msg = "device id 2";
	bad[10].t.nq = 2;                    bad[10].msg = "2 queues";
	bad[11].t.ready = 0;                 bad[11].msg = "not ready";
	bad[12].t.offered = offered | 1ULL << 41;
	bad[12].msg = "were offered";
	for (unsigned i = 0; i < 13; i++) {
		struct stream s;
		stream_init(&s);
		put_tsec(&s.w, &bad[i].t);
		stream_read(&s);
		struct virtio_mmio_state st;
		assert_int_equal(virtio_mmio_parse(&s.r, "virtio0", &f->b.t,
						   &st, &s.e), -EINVAL);
		expect_msg(&s.e, bad[i].msg);
		stream_free(&s);
	}
	/* The good one loads, and its indices are the device's. */
	struct stream s;
	stream_init(&s);
	put_tsec(&s.w, &good);
	stream_read(&s);
	struct virtio_mmio_state st;
	assert_int_equal(virtio_mmio_parse(&s.r, "virtio0", &f->b.t, &st,
					   &s.e), 0);
	virtio_mmio_apply(&f->b.t, &st);
	assert_int_equal(f->b.t.q[0].vq.last_avail, 7);
	assert_int_equal(f->b.t.q[0].vq.used_idx, 7);
	/* A driver index far ahead of the loaded one is a broken ring,
	 * found when used, not a crash. */
	uint16_t far = 7 + 100;
	assert_int_equal(gpa_write(&f->mem, AVAIL + 2, &far, 2), 0);
	vwr(f, VBASE2, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(vrd(f, VBASE2, VIRTIO_MMIO_STATUS) &
		    VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	stream_free(&s);
	vfx_free(f);
}

/* ---- virtio-net ------------------------------------------------------- */

static int nb_send(struct net_backend *nb, const struct iovec *iov,
		   unsigned iovcnt)
{
	(void)nb;
	(void)iov;
	(void)iovcnt;
	return 0;
}

static void nb_free(struct net_backend *nb)
{
	(void)nb;
}

static const struct net_backend_ops nb_ops = { .send = nb_send,
					       .free = nb_free };

static void net_state(void **state)
{
	(void)state;
	struct guest_mem mem = { 0 };
	struct bus bus = { 0 };
	assert_int_equal(guest_mem_add(&mem, RAM, RAMSZ, NULL), 0);
	struct net_backend ba = { .ops = &nb_ops, .link_up = true,
				  .kind = "test" };
	struct net_backend bb = ba;
	struct line la = { 0 }, lb = { 0 };
	struct virtio_net *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	assert_non_null(a);
	assert_non_null(b);
	const uint8_t mac[6] = { 0x02, 1, 2, 3, 4, 5 };
	assert_int_equal(virtio_net_init(a, &bus, VBASE, &mem, (struct irq_line){
						 line_set, &la, 8 }, &ba, mac,
					 NULL), 0);
	assert_int_equal(virtio_net_init(b, &bus, VBASE2, &mem,
					 (struct irq_line){ line_set, &lb, 9 },
					 &bb, mac, NULL), 0);
	struct stream s, s2;
	stream_init(&s);
	stream_init(&s2);
	virtio_net_save(a, "net0", &s.w);
	stream_read(&s);
	struct virtio_net_state st;
	assert_int_equal(virtio_net_parse(&s.r, "net0", b, &st, &s.e), 0);
	uint32_t gen = b->t.config_generation;
	virtio_net_apply(b, &st);
	virtio_net_save(b, "net0", &s2.w);
	assert_memory_equal(s2.w.buf, s.w.buf, s.w.len);
	assert_int_equal(b->t.config_generation, gen);
	/* The backend's link is down on this side: the driver hears of it. */
	bb.link_up = false;
	virtio_net_apply(b, &st);
	assert_false(b->config[6] & VIRTIO_NET_S_LINK_UP);
	assert_int_equal(b->t.config_generation, gen + 1);
	assert_true(b->t.int_status & VIRTIO_INT_CONFIG);
	/* Another MAC; status bits that do not exist. */
	struct stream h;
	stream_init(&h);
	virtio_net_save(a, "net0", &h.w);
	patch8(&h, 5, 0x66);
	stream_read(&h);
	assert_int_equal(virtio_net_parse(&h.r, "net0", b, &st, &h.e), -EINVAL);
	expect_msg(&h.e, "MAC");
	stream_free(&h);
	stream_init(&h);
	virtio_net_save(a, "net0", &h.w);
	patch8(&h, 12, 0x04);
	stream_read(&h);
	assert_int_equal(virtio_net_parse(&h.r, "net0", b, &st, &h.e), -EINVAL);
	expect_msg(&h.e, "link status");
	stream_free(&h);
	stream_free(&s);
	stream_free(&s2);
	virtio_net_exit(a);
	virtio_net_exit(b);
	free(a);
	free(b);
	bus_free(&bus);
	guest_mem_free(&mem);
}

/* ---- virtio-blk ------------------------------------------------------ */

static char *temp_disk(off_t size)
{
	char *path = strdup("/tmp/ringvm-test-persist-XXXXXX");
	assert_non_null(path);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
	return path;
}

static void blk_state(void **state)
{
	(void)state;
	struct guest_mem mem = { 0 };
	struct bus bus = { 0 };
	assert_int_equal(guest_mem_add(&mem, RAM, RAMSZ, NULL), 0);
	char *pa = temp_disk(1 << 20), *pb = temp_disk(2 << 20);
	char *pc = temp_disk(1 << 20);
	struct block_dev *da, *db, *dc;
	assert_int_equal(block_open(pa, false, &da, NULL), 0);
	assert_int_equal(block_open(pb, false, &db, NULL), 0);
	assert_int_equal(block_open(pc, true, &dc, NULL), 0);
	struct virtio_blk *a = calloc(3, sizeof(*a));
	assert_non_null(a);
	struct line l = { 0 };
	struct block_dev *bd[3] = { da, db, dc };
	for (int i = 0; i < 3; i++)
		assert_int_equal(virtio_blk_init(&a[i], &bus, VBASE + 0x1000 * i,
						 &mem, (struct irq_line){
							 line_set, &l, 8 },
						 bd[i], NULL, NULL), 0);
	struct stream s;
	stream_init(&s);
	assert_int_equal(virtio_blk_save(&a[0], "blk0", &s.w, &s.e), 0);
	stream_read(&s);
	assert_int_equal(virtio_blk_parse(&s.r, "blk0", &a[0], &s.e), 0);
	/* Another capacity, or read-only where the driver saw writable. */
	assert_int_equal(virtio_blk_parse(&s.r, "blk0", &a[1], &s.e), -EINVAL);
	expect_msg(&s.e, "configuration");
	s.e = (struct err){ 0 };
	stream_free(&s);
	/* Read-only is a feature bit: the transport section refuses it. */
	stream_init(&s);
	virtio_mmio_save(&a[0].t, "virtio0", &s.w);
	stream_read(&s);
	struct virtio_mmio_state *ts = malloc(sizeof(*ts));
	assert_non_null(ts);
	assert_int_equal(virtio_mmio_parse(&s.r, "virtio0", &a[2].t, ts, &s.e),
			 -EINVAL);
	expect_msg(&s.e, "were offered");
	free(ts);
	stream_free(&s);
	/* A request in flight: no state to save. */
	pthread_mutex_lock(&a[0].lock);
	a[0].nbusy++;
	pthread_mutex_unlock(&a[0].lock);
	stream_init(&s);
	assert_int_equal(virtio_blk_save(&a[0], "blk0", &s.w, &s.e), -EBUSY);
	expect_msg(&s.e, "in flight");
	pthread_mutex_lock(&a[0].lock);
	a[0].nbusy--;
	pthread_mutex_unlock(&a[0].lock);
	stream_free(&s);
	for (int i = 0; i < 3; i++)
		virtio_blk_exit(&a[i]);
	free(a);
	block_close(da);
	block_close(db);
	block_close(dc);
	unlink(pa);
	unlink(pb);
	unlink(pc);
	free(pa);
	free(pb);
	free(pc);
	bus_free(&bus);
	guest_mem_free(&mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(uart_round_trip),
		cmocka_unit_test(uart_hostile),
		cmocka_unit_test(rtc_round_trip),
		cmocka_unit_test(plic_round_trip),
		cmocka_unit_test(clint_round_trip),
		cmocka_unit_test(transport_round_trip),
		cmocka_unit_test(transport_hostile),
		cmocka_unit_test(net_state),
		cmocka_unit_test(blk_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
