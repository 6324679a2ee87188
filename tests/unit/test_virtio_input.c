/* Unit tests for the virtio-input power button: config space selections,
 * events through a real split ring in guest memory (in order, queued while
 * the driver has no buffers), hostile chains and rings, and the state
 * section round trip. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/state.h"
#include "hw/virtio_input.h"

#define BASE   0x10001000ULL
#define RAM    0x80000000ULL
#define RAMSZ  (1u << 20)
#define QSIZE  16
#define DESC   (RAM + 0x1000)
#define AVAIL  (RAM + 0x2000)
#define USED   (RAM + 0x3000)
#define SDESC  (RAM + 0x4000)   /* statusq */
#define SAVAIL (RAM + 0x5000)
#define SUSED  (RAM + 0x6000)
#define DATA   (RAM + 0x10000)

struct fx {
	struct guest_mem mem;
	struct bus bus;
	struct virtio_input in;
	int level;
	uint16_t avail_idx, used_seen, s_avail_idx;
};

static void set_level(void *opaque, unsigned num, int level)
{
	((struct fx *)opaque)->level = level;
}

static uint32_t rd(struct fx *f, unsigned off)
{
	uint64_t v = 0;
	assert_int_equal(bus_read(&f->bus, BASE + off, 4, &v), 0);
	return (uint32_t)v;
}

static void wr(struct fx *f, unsigned off, uint32_t v)
{
	assert_int_equal(bus_write(&f->bus, BASE + off, 4, v), 0);
}

static uint8_t cfg8(struct fx *f, unsigned off)
{
	uint64_t v = 0;
	assert_int_equal(bus_read(&f->bus, BASE + VIRTIO_MMIO_CONFIG + off, 1,
				  &v), 0);
	return (uint8_t)v;
}

static void select_cfg(struct fx *f, uint8_t sel, uint8_t sub)
{
	assert_int_equal(bus_write(&f->bus, BASE + VIRTIO_MMIO_CONFIG, 1, sel),
			 0);
	assert_int_equal(bus_write(&f->bus, BASE + VIRTIO_MMIO_CONFIG + 1, 1,
				   sub), 0);
}

static void queue_up(struct fx *f, unsigned q, uint64_t desc, uint64_t avail,
		     uint64_t used)
{
	wr(f, VIRTIO_MMIO_QUEUE_SEL, q);
	wr(f, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(f, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	wr(f, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 1);
}

/* Bring the driver up as Linux does: reset, features, both queues,
 * DRIVER_OK. */
static void driver_up(struct fx *f)
{
	memset(gpa_ptr(&f->mem, RAM, 0x10000), 0, 0x10000);
	f->avail_idx = f->used_seen = f->s_avail_idx = 0;
	wr(f, VIRTIO_MMIO_STATUS, 0);
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
	   VIRTIO_STATUS_DRIVER);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, 1);  /* VERSION_1 */
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
	   VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	queue_up(f, 0, DESC, AVAIL, USED);
	queue_up(f, 1, SDESC, SAVAIL, SUSED);
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
	   VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
	   VIRTIO_STATUS_DRIVER_OK);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_int_equal(guest_mem_add(&f->mem, RAM, RAMSZ, NULL), 0);
	struct irq_line irq = { set_level, f, 9 };
	assert_int_equal(virtio_input_init(&f->in, &f->bus, BASE, &f->mem,
					   irq, NULL), 0);
	driver_up(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	virtio_input_exit(&f->in);
	bus_free(&f->bus);
	guest_mem_free(&f->mem);
	free(f);
	return 0;
}

static void put_desc(struct fx *f, uint64_t table, unsigned i, uint64_t addr,
		     uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t d[16];
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	assert_int_equal(gpa_write(&f->mem, table + 16 * i, d, 16), 0);
}

/* Offer eventq buffer `i` (one descriptor, its own chain): len bytes at
 * DATA + 16 * i, device-writable unless !w.  notify: kick the device. */
static void offer(struct fx *f, unsigned i, uint32_t len, bool w, bool notify)
{
	put_desc(f, DESC, i, DATA + 16 * i, len, w ? VIRTQ_DESC_F_WRITE : 0, 0);
	uint16_t head = (uint16_t)i, slot = f->avail_idx % QSIZE;
	assert_int_equal(gpa_write(&f->mem, AVAIL + 4 + 2 * slot, &head, 2), 0);
	f->avail_idx++;
	assert_int_equal(gpa_write(&f->mem, AVAIL + 2, &f->avail_idx, 2), 0);
	if (notify)
		wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

static uint16_t used_idx(struct fx *f, uint64_t used)
{
	uint16_t idx = 0;
	assert_int_equal(gpa_read(&f->mem, used + 2, &idx, 2), 0);
	return idx;
}

/* The next used element must be there: its head and length. */
static void reap(struct fx *f, uint16_t want_head, uint32_t want_len)
{
	uint32_t e[2] = { 0, 0 };
	assert_true((uint16_t)(used_idx(f, USED) - f->used_seen) >= 1);
	assert_int_equal(gpa_read(&f->mem, USED + 4 + 8 * (f->used_seen % QSIZE),
				  e, 8), 0);
	f->used_seen++;
	assert_int_equal(e[0], want_head);
	assert_int_equal(e[1], want_len);
}

/* The event in buffer i. */
static void check_event(struct fx *f, unsigned i, uint16_t type,
			uint16_t code, uint32_t value)
{
	uint8_t b[8];
	assert_int_equal(gpa_read(&f->mem, DATA + 16 * i, b, 8), 0);
	assert_int_equal(b[0] | b[1] << 8, type);
	assert_int_equal(b[2] | b[3] << 8, code);
	assert_int_equal((uint32_t)b[4] | (uint32_t)b[5] << 8 |
			 (uint32_t)b[6] << 16 | (uint32_t)b[7] << 24, value);
}

/* Buffers base..base+3 hold a whole press and release. */
static void check_press(struct fx *f, unsigned base)
{
	check_event(f, base, VIRTIO_INPUT_EV_KEY, VIRTIO_INPUT_KEY_POWER, 1);
	check_event(f, base + 1, VIRTIO_INPUT_EV_SYN, 0, 0);
	check_event(f, base + 2, VIRTIO_INPUT_EV_KEY, VIRTIO_INPUT_KEY_POWER, 0);
	check_event(f, base + 3, VIRTIO_INPUT_EV_SYN, 0, 0);
}

static void device_identity(void **state)
{
	struct fx *f = *state;
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_INPUT);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_INPUT_QUEUE_MAX);
	wr(f, VIRTIO_MMIO_QUEUE_SEL, 2);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
}

static void config_selects(void **state)
{
	struct fx *f = *state;
	/* Nothing selected: size 0. */
	assert_int_equal(cfg8(f, VIRTIO_INPUT_CFG_SIZE), 0);

	select_cfg(f, VIRTIO_INPUT_CFG_ID_NAME, 0);
	assert_int_equal(cfg8(f, VIRTIO_INPUT_CFG_SELECT),
			 VIRTIO_INPUT_CFG_ID_NAME);
	unsigned n = cfg8(f, VIRTIO_INPUT_CFG_SIZE);
	assert_int_equal(n, strlen(VIRTIO_INPUT_NAME));
	char name[129] = { 0 };
	for (unsigned i = 0; i < n; i++)
		name[i] = (char)cfg8(f, VIRTIO_INPUT_CFG_UNION + i);
	assert_string_equal(name, VIRTIO_INPUT_NAME);
	/* A subsel the selection does not use: nothing. */
	select_cfg(f, VIRTIO_INPUT_CFG_ID_NAME, 1);
	assert_int_equal(cfg8(f, VIRTIO_INPUT_CFG_SIZE), 0);

	select_cfg(f, VIRTIO_INPUT_CFG_ID_SERIAL, 0);
	assert_true(cfg8(f, VIRTIO_INPUT_CFG_SIZE) > 0);

	select_cfg(f, VIRTIO_INPUT_CFG_ID_DEVIDS, 0);
	assert_int_equal(cfg8(f, VIRTIO_INPUT_CFG_SIZE), 8);
	uint64_t v = 0;
	assert_int_equal(bus_read(&f->bus, BASE + VIRTIO_MMIO_CONFIG +
				  VIRTIO_INPUT_CFG_UNION, 2, &v), 0);
	assert_int_equal(v, 0x06);  /* BUS_VIRTUAL */

	/* EV_KEY: exactly KEY_POWER. */
	select_cfg(f, VIRTIO_INPUT_CFG_EV_BITS, VIRTIO_INPUT_EV_KEY);
	n = cfg8(f, VIRTIO_INPUT_CFG_SIZE);
	assert_int_equal(n, VIRTIO_INPUT_KEY_POWER / 8 + 1);
	for (unsigned i = 0; i < 128; i++)
		assert_int_equal(cfg8(f, VIRTIO_INPUT_CFG_UNION + i),
				 i == VIRTIO_INPUT_KEY_POWER / 8 ?
				 1u << (VIRTIO_INPUT_KEY_POWER % 8) : 0);
	select_cfg(f, VIRTIO_INPUT_CFG_EV_BITS, VIRTIO_INPUT_EV_SYN);
	assert_int_equal(cfg8(f, VIRTIO_INPUT_CFG_SIZE), 1);
	assert_int_equal(cfg8(f, VIRTIO_INPUT_CFG_UNION), 1);
	/* EV_REL, EV_ABS, properties, axes, unknown selects: none. */
	const uint8_t none[][2] = {
		{ VIRTIO_INPUT_CFG_EV_BITS, 2 }, { VIRTIO_INPUT_CFG_EV_BITS, 3 },
		{ VIRTIO_INPUT_CFG_EV_BITS, 0xff },
		{ VIRTIO_INPUT_CFG_PROP_BITS, 0 },
		{ VIRTIO_INPUT_CFG_ABS_INFO, 0 }, { 0x7f, 0 }, { 0xff, 0xff },
	};
	for (unsigned i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		select_cfg(f, none[i][0], none[i][1]);
		assert_int_equal(cfg8(f, VIRTIO_INPUT_CFG_SIZE), 0);
		assert_int_equal(cfg8(f, VIRTIO_INPUT_CFG_UNION), 0);
	}
	/* size and the union are read-only; a 4-byte write sets select and
	 * subsel only. */
	assert_int_equal(bus_write(&f->bus, BASE + VIRTIO_MMIO_CONFIG, 4,
				   0x7f7f0000u | VIRTIO_INPUT_EV_KEY << 8 |
				   VIRTIO_INPUT_CFG_EV_BITS), 0);
	assert_int_equal(cfg8(f, VIRTIO_INPUT_CFG_SIZE), 15);
	assert_int_equal(bus_write(&f->bus, BASE + VIRTIO_MMIO_CONFIG +
				   VIRTIO_INPUT_CFG_UNION, 1, 0xff), 0);
	assert_int_equal(cfg8(f, VIRTIO_INPUT_CFG_UNION), 0);
	/* Past the structure: zero, no fault. */
	assert_int_equal(cfg8(f, 0xff), 0);
	/* A driver reset clears the selection. */
	driver_up(f);
	assert_int_equal(cfg8(f, VIRTIO_INPUT_CFG_SELECT), 0);
	assert_int_equal(cfg8(f, VIRTIO_INPUT_CFG_SIZE), 0);
}

static void events_in_order(void **state)
{
	struct fx *f = *state;
	for (unsigned i = 0; i < 4; i++)
		offer(f, i, 8, true, true);
	assert_int_equal(used_idx(f, USED), 0);
	f->level = 0;
	assert_int_equal(virtio_input_power_button(&f->in), 0);
	for (unsigned i = 0; i < 4; i++)
		reap(f, (uint16_t)i, 8);
	check_press(f, 0);
	assert_int_equal(f->level, 1);
	assert_int_equal(f->in.stats.delivered, 4);
	assert_int_equal(f->in.npend, 0);
}

static void queued_until_buffers(void **state)
{
	struct fx *f = *state;
	/* Pressed before the driver is even up (it resets at probe). */
	wr(f, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(virtio_input_power_button(&f->in), 0);
	driver_up(f);
	assert_int_equal(used_idx(f, USED), 0);
	assert_int_equal(f->in.npend, 4);
	/* Two buffers: two events; the rest wait. */
	offer(f, 0, 8, true, false);
	offer(f, 1, 8, true, true);
	reap(f, 0, 8);
	reap(f, 1, 8);
	assert_int_equal(used_idx(f, USED), 2);
	assert_int_equal(f->in.npend, 2);
	/* The device asked to be told about the next buffer (EVENT_IDX is
	 * not negotiated: NO_NOTIFY is clear, so the driver kicks). */
	offer(f, 2, 8, true, false);
	offer(f, 3, 8, true, true);
	reap(f, 2, 8);
	reap(f, 3, 8);
	check_press(f, 0);
	assert_int_equal(f->in.npend, 0);
	/* A machine reset forgets a queued press. */
	assert_int_equal(virtio_input_power_button(&f->in), 0);
	virtio_input_drop_pending(&f->in);
	offer(f, 4, 8, true, true);
	assert_int_equal(used_idx(f, USED), 4);
}

static void fifo_bounded(void **state)
{
	struct fx *f = *state;
	unsigned presses = VIRTIO_INPUT_PENDING / 4;
	for (unsigned i = 0; i < presses; i++)
		assert_int_equal(virtio_input_power_button(&f->in), 0);
	assert_int_equal(virtio_input_power_button(&f->in), -ENOSPC);
	assert_int_equal(f->in.stats.dropped, 1);
	assert_int_equal(f->in.npend, VIRTIO_INPUT_PENDING);
	/* Delivered in order across the FIFO's wrap. */
	for (unsigned i = 0; i < QSIZE; i++)
		offer(f, i, 8, true, i == QSIZE - 1);
	for (unsigned i = 0; i < QSIZE; i++)
		reap(f, (uint16_t)i, 8);
	for (unsigned i = 0; i < QSIZE; i += 4)
		check_press(f, i);
	assert_int_equal(virtio_input_power_button(&f->in), 0);
	assert_int_equal(f->in.npend, VIRTIO_INPUT_PENDING - QSIZE + 4);
}

static void hostile_chains(void **state)
{
	struct fx *f = *state;
	/* Too short, read-only, outside RAM: each completed with 0, and
	 * the first event still goes to the next good buffer. */
	offer(f, 0, 4, true, false);
	offer(f, 1, 8, false, false);
	put_desc(f, DESC, 2, RAM + RAMSZ - 4, 8, VIRTQ_DESC_F_WRITE, 0);
	uint16_t head = 2, slot = f->avail_idx % QSIZE;
	assert_int_equal(gpa_write(&f->mem, AVAIL + 4 + 2 * slot, &head, 2), 0);
	f->avail_idx++;
	assert_int_equal(gpa_write(&f->mem, AVAIL + 2, &f->avail_idx, 2), 0);
	offer(f, 3, 8, true, true);
	assert_int_equal(virtio_input_power_button(&f->in), 0);
	reap(f, 0, 0);
	reap(f, 1, 0);
	reap(f, 2, 0);
	reap(f, 3, 8);
	check_event(f, 3, VIRTIO_INPUT_EV_KEY, VIRTIO_INPUT_KEY_POWER, 1);
	assert_int_equal(f->in.stats.bad_chains, 3);
	assert_int_equal(f->in.npend, 3);

	/* A buffer split in two writable descriptors still gets 8 bytes. */
	put_desc(f, DESC, 4, DATA + 16 * 4, 3,
		 VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 5);
	put_desc(f, DESC, 5, DATA + 16 * 4 + 3, 5, VIRTQ_DESC_F_WRITE, 0);
	head = 4;
	slot = f->avail_idx % QSIZE;
	assert_int_equal(gpa_write(&f->mem, AVAIL + 4 + 2 * slot, &head, 2), 0);
	f->avail_idx++;
	assert_int_equal(gpa_write(&f->mem, AVAIL + 2, &f->avail_idx, 2), 0);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	reap(f, 4, 8);
	check_event(f, 4, VIRTIO_INPUT_EV_SYN, 0, 0);

	/* statusq: whatever the driver sends is consumed. */
	put_desc(f, SDESC, 0, DATA + 0x1000, 8, 0, 0);
	put_desc(f, SDESC, 1, RAM + RAMSZ, 8, 0, 0);
	uint16_t heads[2] = { 0, 1 }, sidx = 2;
	assert_int_equal(gpa_write(&f->mem, SAVAIL + 4, heads, 4), 0);
	assert_int_equal(gpa_write(&f->mem, SAVAIL + 2, &sidx, 2), 0);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_int_equal(used_idx(f, SUSED), 2);
	assert_int_equal(f->in.stats.status_in, 1);

	/* A broken ring (avail idx far ahead): NEEDS_RESET, no delivery,
	 * and presses are kept for after the reset. */
	uint16_t bad = (uint16_t)(f->avail_idx + QSIZE + 1);
	assert_int_equal(gpa_write(&f->mem, AVAIL + 2, &bad, 2), 0);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(rd(f, VIRTIO_MMIO_STATUS) &
		    VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	uint16_t before = used_idx(f, USED);
	assert_int_equal(virtio_input_power_button(&f->in), 0);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(used_idx(f, USED), before);
	driver_up(f);
	assert_false(rd(f, VIRTIO_MMIO_STATUS) &
		     VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	offer(f, 0, 8, true, true);
	reap(f, 0, 8);
	check_event(f, 0, VIRTIO_INPUT_EV_KEY, VIRTIO_INPUT_KEY_POWER, 0);
}

static void state_round_trip(void **state)
{
	struct fx *f = *state;
	select_cfg(f, VIRTIO_INPUT_CFG_EV_BITS, VIRTIO_INPUT_EV_KEY);
	assert_int_equal(virtio_input_power_button(&f->in), 0);
	offer(f, 0, 8, true, true);
	reap(f, 0, 8);   /* the FIFO's head is not slot 0 any more */

	struct state_writer w;
	state_writer_init(&w);
	virtio_mmio_save(&f->in.t, "virtio0", &w);
	virtio_input_save(&f->in, "input0", &w);
	assert_int_equal(state_writer_error(&w), 0);

	struct fx g = { 0 };
	assert_int_equal(guest_mem_add(&g.mem, RAM, RAMSZ, NULL), 0);
	struct irq_line irq = { set_level, &g, 9 };
	assert_int_equal(virtio_input_init(&g.in, &g.bus, BASE, &g.mem, irq,
					   NULL), 0);
	/* Same guest RAM contents: the rings are the driver's. */
	memcpy(gpa_ptr(&g.mem, RAM, RAMSZ), gpa_ptr(&f->mem, RAM, RAMSZ), RAMSZ);
	struct state_reader r;
	assert_int_equal(state_reader_init(&r, w.buf, w.len, NULL), 0);
	struct virtio_mmio_state ms;
	struct virtio_input_state is;
	assert_int_equal(virtio_mmio_parse(&r, "virtio0", &g.in.t, &ms, NULL), 0);
	assert_int_equal(virtio_input_parse(&r, "input0", &g.in, &is, NULL), 0);
	virtio_mmio_apply(&g.in.t, &ms);
	virtio_input_apply(&g.in, &is);
	assert_int_equal(g.in.npend, 3);
	assert_int_equal(cfg8(&g, VIRTIO_INPUT_CFG_SIZE), 15);
	g.avail_idx = f->avail_idx;
	g.used_seen = f->used_seen;
	for (unsigned i = 1; i < 4; i++)
		offer(&g, i, 8, true, true);
	for (unsigned i = 1; i < 4; i++)
		reap(&g, (uint16_t)i, 8);
	check_press(&g, 0);
	virtio_input_exit(&g.in);
	bus_free(&g.bus);
	guest_mem_free(&g.mem);
	state_writer_free(&w);

	/* Hostile sections: too many events, truncated, left over. */
	const uint32_t counts[] = { VIRTIO_INPUT_PENDING + 1, 2, 0 };
	const unsigned extra[] = { 0, 0, 1 };
	for (unsigned c = 0; c < 3; c++) {
		state_writer_init(&w);
		state_begin(&w, "input0", 1);
		state_put_u8(&w, 1);
		state_put_u8(&w, 0);
		state_put_u32(&w, counts[c]);
		state_put_u64(&w, 1);   /* one event, whatever the count */
		for (unsigned i = 0; i < extra[c]; i++)
			state_put_u64(&w, 0);
		state_end(&w);
		assert_int_equal(state_reader_init(&r, w.buf, w.len, NULL), 0);
		assert_int_equal(virtio_input_parse(&r, "input0", &f->in, &is,
						    NULL), -EINVAL);
		state_writer_free(&w);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(device_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(config_selects, setup, teardown),
		cmocka_unit_test_setup_teardown(events_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(queued_until_buffers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(fifo_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_chains, setup, teardown),
		cmocka_unit_test_setup_teardown(state_round_trip, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
