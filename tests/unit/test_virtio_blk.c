/* Unit tests for virtio-blk: requests go through a real split ring in guest
 * memory, the virtio-mmio registers and a raw image in a temporary file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "hw/virtio_blk.h"

#define BASE   0x10001000ULL
#define RAM    0x80000000ULL
#define QSIZE  16
#define DESC   (RAM + 0x1000)
#define AVAIL  (RAM + 0x2000)
#define USED   (RAM + 0x3000)
#define ITABLE (RAM + 0x4000)
#define HDR    (RAM + 0x10000)
#define STATUS (RAM + 0x11000)
#define DATA   (RAM + 0x20000)
#define DISK_SECTORS 2048

#define FEAT(x) VIRTIO_BIT(VIRTIO_BLK_F_##x)
#define BASE_FEATURES (VIRTIO_BIT(VIRTIO_F_VERSION_1) | FEAT(FLUSH) |     \
		       FEAT(SEG_MAX) | FEAT(BLK_SIZE) | FEAT(DISCARD) |    \
		       FEAT(WRITE_ZEROES))

struct fx {
	char dir[64], img[96];
	struct guest_mem mem;
	struct bus bus;
	struct block_dev *bd;
	struct virtio_blk blk;
	int level;
	uint16_t avail_idx, used_seen;
	uint32_t used_len;
};

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool w;
};

static void set_level(void *opaque, unsigned num, int level)
{
	((struct fx *)opaque)->level = level;
}

static uint8_t pattern(uint64_t byte)
{
	return (uint8_t)(byte * 31 + (byte >> 9));
}

static uint32_t rd(struct fx *f, unsigned off)
{
	uint64_t v = 0;
	assert_int_equal(bus_read(&f->bus, BASE + off, 4, &v), 0);
	return (uint32_t)v;
}

/* A register write as a vCPU makes it; after a notify, wait for the I/O
 * threads so each test sees its requests completed. */
static void wr(struct fx *f, unsigned off, uint32_t v)
{
	assert_int_equal(bus_write(&f->bus, BASE + off, 4, v), 0);
	if (off == VIRTIO_MMIO_QUEUE_NOTIFY)
		virtio_blk_drain(&f->blk);
}

static void bring_up(struct fx *f, uint64_t feat)
{
	wr(f, VIRTIO_MMIO_STATUS, 0);
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
	   VIRTIO_STATUS_DRIVER);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)feat);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(feat >> 32));
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
	   VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_true(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	wr(f, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(f, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)DESC);
	wr(f, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)AVAIL);
	wr(f, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)USED);
	wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 1);
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
	   VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
	   VIRTIO_STATUS_DRIVER_OK);
	f->avail_idx = f->used_seen = 0;
}

static int setup_common(void **state, bool read_only, uint64_t feat)
{
	struct fx *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/ringvm-blk-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->img, sizeof(f->img), "%s/disk.img", f->dir);
	int fd = open(f->img, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	assert_true(fd >= 0);
	static uint8_t buf[DISK_SECTORS * 512 + 100];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = pattern(i);
	/* a partial sector at the end that the guest must not see */
	assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	close(fd);
	assert_int_equal(block_open(f->img, read_only, &f->bd, NULL), 0);
	assert_int_equal(guest_mem_add(&f->mem, RAM, 1 << 20, NULL), 0);
	struct irq_line irq = { set_level, f, 1 };
	assert_int_equal(virtio_blk_init(&f->blk, &f->bus, BASE, &f->mem, irq,
					 f->bd, "ringvm-0", NULL), 0);
	if (feat)
		bring_up(f, feat);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_common(state, false, BASE_FEATURES);
}

static int setup_ro(void **state)
{
	return setup_common(state, true, 0);
}

static int setup_idle(void **state)
{
	return setup_common(state, false, 0);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	assert_int_equal(virtio_blk_exit(&f->blk), 0);
	block_close(f->bd);
	bus_free(&f->bus);
	guest_mem_free(&f->mem);
	unlink(f->img);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* ---- driver side ---- */

static void put_desc_at(struct fx *f, uint64_t table, unsigned i,
			uint64_t addr, uint32_t len, uint16_t flags,
			uint16_t next)
{
	uint8_t d[16];
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	assert_int_equal(gpa_write(&f->mem, table + 16 * i, d, 16), 0);
}

static void write_chain(struct fx *f, uint64_t table, const struct seg *s,
			unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		put_desc_at(f, table, i, s[i].gpa, s[i].len,
			    (s[i].w ? VIRTQ_DESC_F_WRITE : 0) |
			    (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0),
			    (uint16_t)(i + 1));
}

static void kick(struct fx *f, uint16_t head)
{
	uint16_t slot = f->avail_idx % QSIZE;
	assert_int_equal(gpa_write(&f->mem, AVAIL + 4 + 2 * slot, &head, 2), 0);
	f->avail_idx++;
	assert_int_equal(gpa_write(&f->mem, AVAIL + 2, &f->avail_idx, 2), 0);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

/* Read the next used element; returns its head and sets used_len. */
static uint16_t reap(struct fx *f)
{
	uint16_t idx;
	uint32_t e[2];
	assert_int_equal(gpa_read(&f->mem, USED + 2, &idx, 2), 0);
	assert_true((uint16_t)(idx - f->used_seen) >= 1);
	assert_int_equal(gpa_read(&f->mem, USED + 4 + 8 * (f->used_seen % QSIZE),
				  e, 8), 0);
	f->used_seen++;
	f->used_len = e[1];
	return (uint16_t)e[0];
}

static void put_hdr(struct fx *f, uint32_t type, uint64_t sector)
{
	uint8_t h[16] = { 0 };
	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
	assert_int_equal(gpa_write(&f->mem, HDR, h, 16), 0);
}

static uint8_t status_at(struct fx *f, uint64_t gpa)
{
	uint8_t s = 0xee;
	assert_int_equal(gpa_read(&f->mem, gpa, &s, 1), 0);
	return s;
}

/* Submit header + segments + 1-byte status; returns the status byte. */
static uint8_t submit(struct fx *f, uint32_t type, uint64_t sector,
		      const struct seg *data, unsigned ndata)
{
	struct seg s[16];
	unsigned n = 0;
	s[n++] = (struct seg){ HDR, 16, false };
	for (unsigned i = 0; i < ndata; i++)
		s[n++] = data[i];
	s[n++] = (struct seg){ STATUS, 1, true };
	put_hdr(f, type, sector);
	uint8_t poison = 0xee;
	assert_int_equal(gpa_write(&f->mem, STATUS, &poison, 1), 0);
	write_chain(f, DESC, s, n);
	kick(f, 0);
	assert_int_equal(reap(f), 0);
	return status_at(f, STATUS);
}

static void file_read(struct fx *f, void *buf, size_t len, off_t off)
{
	int fd = open(f->img, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

/* ---- tests ---- */

static uint64_t cfg(struct fx *f, unsigned off, unsigned size)
{
	uint64_t v;
	assert_int_equal(bus_read(&f->bus, BASE + 0x100 + off, size, &v), 0);
	return v;
}

static void config_and_features(void **state)
{
	struct fx *f = *state;
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	assert_int_equal(cfg(f, 0, 8), DISK_SECTORS);  /* partial sector hidden */
	assert_int_equal(cfg(f, 0, 4), DISK_SECTORS);
	assert_int_equal(cfg(f, 4, 4), 0);
	assert_int_equal(cfg(f, 12, 4), VIRTIO_BLK_SEG_MAX);
	assert_int_equal(cfg(f, 20, 4), 512);
	assert_int_equal(cfg(f, 36, 4), VIRTIO_BLK_MAX_DISCARD_SECTORS);
	assert_int_equal(cfg(f, 40, 4), VIRTIO_BLK_MAX_DISCARD_SEG);
	assert_int_equal(cfg(f, 48, 4), VIRTIO_BLK_MAX_WZ_SECTORS);
	assert_int_equal(cfg(f, 52, 4), VIRTIO_BLK_MAX_WZ_SEG);
	assert_int_equal(cfg(f, 56, 1), 1);
	assert_int_equal(cfg(f, 0xf0, 8), 0);  /* past the struct: zeros */
	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint32_t lo = rd(f, VIRTIO_MMIO_DEVICE_FEATURES);
	assert_true(lo & FEAT(FLUSH));
	assert_true(lo & FEAT(DISCARD));
	assert_true(lo & FEAT(WRITE_ZEROES));
	assert_true(lo & FEAT(SEG_MAX));
	assert_true(lo & FEAT(BLK_SIZE));
	assert_true(lo & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
	assert_true(lo & VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	assert_false(lo & FEAT(RO));
	/* config writes are ignored */
	assert_int_equal(bus_write(&f->bus, BASE + 0x100, 8, 1), 0);
	assert_int_equal(cfg(f, 0, 8), DISK_SECTORS);
}

/* Under cache=none the guest is told the host's O_DIRECT block size, so
 * it never sends writes that the host must read-modify-write. */
static void blk_size_follows_host_block(void **state)
{
	struct fx *f = *state;
	struct irq_line irq = { set_level, f, 1 };
	const unsigned aligns[] = { 4096, 1024, 65536, 0 };
	const uint32_t want[] = { 4096, 1024, 512, 512 };
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(virtio_blk_exit(&f->blk), 0);
		f->bd->dio_align = aligns[i];
		assert_int_equal(virtio_blk_init(&f->blk, &f->bus, BASE,
						 &f->mem, irq, f->bd,
						 "ringvm-0", NULL), 0);
		assert_int_equal(cfg(f, 20, 4), want[i]);
	}
}

static void read_sectors(void **state)
{
	struct fx *f = *state;
	struct seg d[] = { { DATA, 1024, true } };
	assert_int_equal(submit(f, VIRTIO_BLK_T_IN, 2, d, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(f->used_len, 1025);
	uint8_t *p = gpa_ptr(&f->mem, DATA, 1024);
	for (unsigned i = 0; i < 1024; i++)
		assert_int_equal(p[i], pattern(1024 + i));
	assert_int_equal(f->level, 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_USED);
	wr(f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_USED);
	assert_int_equal(f->level, 0);

	/* scattered over three buffers, last sector of the disk */
	struct seg s[] = { { DATA, 100, true }, { DATA + 0x1000, 312, true },
			   { DATA + 0x2000, 612, true } };
	assert_int_equal(submit(f, VIRTIO_BLK_T_IN, DISK_SECTORS - 2, s, 3),
			 VIRTIO_BLK_S_OK);
	uint64_t base = (DISK_SECTORS - 2) * 512ULL;
	assert_int_equal(*(uint8_t *)gpa_ptr(&f->mem, DATA + 99, 1),
			 pattern(base + 99));
	assert_int_equal(*(uint8_t *)gpa_ptr(&f->mem, DATA + 0x1000, 1),
			 pattern(base + 100));
	assert_int_equal(*(uint8_t *)gpa_ptr(&f->mem, DATA + 0x2000 + 611, 1),
			 pattern(base + 1023));
	assert_int_equal(f->blk.stats.requests, 2);
	assert_int_equal(f->blk.stats.bad_requests, 0);
}

static void write_sectors(void **state)
{
	struct fx *f = *state;
	uint8_t *p = gpa_ptr(&f->mem, DATA, 1024);
	for (unsigned i = 0; i < 1024; i++)
		p[i] = (uint8_t)(i ^ 0x5a);
	struct seg d[] = { { DATA, 256, false }, { DATA + 256, 768, false } };
	assert_int_equal(submit(f, VIRTIO_BLK_T_OUT, 10, d, 2), VIRTIO_BLK_S_OK);
	assert_int_equal(f->used_len, 1);
	uint8_t back[1024 + 1];
	file_read(f, back, sizeof(back), 10 * 512);
	assert_memory_equal(back, p, 1024);
	assert_int_equal(back[1024], pattern(12 * 512));  /* untouched after */
	assert_int_equal(submit(f, VIRTIO_BLK_T_FLUSH, 0, NULL, 0),
			 VIRTIO_BLK_S_OK);
	/* read it back through the device */
	memset(p, 0, 1024);
	struct seg r[] = { { DATA, 1024, true } };
	assert_int_equal(submit(f, VIRTIO_BLK_T_IN, 10, r, 1), VIRTIO_BLK_S_OK);
	for (unsigned i = 0; i < 1024; i++)
		assert_int_equal(p[i], (uint8_t)(i ^ 0x5a));
}

static void get_id(void **state)
{
	struct fx *f = *state;
	uint8_t *p = gpa_ptr(&f->mem, DATA, 32);
	memset(p, 0xff, 32);
	struct seg d[] = { { DATA, 20, true } };
	assert_int_equal(submit(f, VIRTIO_BLK_T_GET_ID, 0, d, 1),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(f->used_len, 21);
	uint8_t want[20] = "ringvm-0";
	assert_memory_equal(p, want, 20);
	assert_int_equal(p[20], 0xff);
	/* a short buffer gets what fits */
	memset(p, 0xff, 32);
	d[0].len = 4;
	assert_int_equal(submit(f, VIRTIO_BLK_T_GET_ID, 0, d, 1),
			 VIRTIO_BLK_S_OK);
	assert_memory_equal(p, "ring", 4);
	assert_int_equal(p[4], 0xff);
}

static void out_of_range(void **state)
{
	struct fx *f = *state;
	struct seg d[] = { { DATA, 1024, true } };
	assert_int_equal(submit(f, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, d, 1),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(submit(f, VIRTIO_BLK_T_IN, DISK_SECTORS, d, 1),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(submit(f, VIRTIO_BLK_T_IN, UINT64_MAX, d, 1),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(submit(f, VIRTIO_BLK_T_IN, UINT64_MAX / 512 + 1, d, 1),
			 VIRTIO_BLK_S_IOERR);
	d[0].w = false;
	assert_int_equal(submit(f, VIRTIO_BLK_T_OUT, DISK_SECTORS - 1, d, 1),
			 VIRTIO_BLK_S_IOERR);
	/* the partial sector at the end of the file was not written */
	uint8_t tail[100];
	file_read(f, tail, 100, DISK_SECTORS * 512);
	assert_int_equal(tail[0], pattern(DISK_SECTORS * 512));
	assert_int_equal(f->blk.stats.bad_requests, 5);
	/* an empty read at the very end is in range */
	assert_int_equal(submit(f, VIRTIO_BLK_T_IN, DISK_SECTORS, NULL, 0),
			 VIRTIO_BLK_S_OK);
}

static void read_only_disk(void **state)
{
	struct fx *f = *state;
	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint32_t lo = rd(f, VIRTIO_MMIO_DEVICE_FEATURES);
	assert_true(lo & FEAT(RO));
	assert_false(lo & FEAT(DISCARD));
	assert_false(lo & FEAT(WRITE_ZEROES));
	/* a driver asking for DISCARD anyway is refused FEATURES_OK */
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)FEAT(DISCARD));
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), 0);

	bring_up(f, VIRTIO_BIT(VIRTIO_F_VERSION_1) | FEAT(RO) | FEAT(FLUSH));
	uint8_t *p = gpa_ptr(&f->mem, DATA, 512);
	memset(p, 0, 512);
	struct seg d[] = { { DATA, 512, false } };
	assert_int_equal(submit(f, VIRTIO_BLK_T_OUT, 0, d, 1),
			 VIRTIO_BLK_S_IOERR);
	uint8_t back[512];
	file_read(f, back, 512, 0);
	assert_int_equal(back[1], pattern(1));
	/* discard and write zeroes too */
	uint8_t seg[16] = { 0 };
	uint32_t one = 1;
	memcpy(seg + 8, &one, 4);
	assert_int_equal(gpa_write(&f->mem, DATA, seg, 16), 0);
	d[0].len = 16;
	assert_int_equal(submit(f, VIRTIO_BLK_T_DISCARD, 0, d, 1),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(submit(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, d, 1),
			 VIRTIO_BLK_S_IOERR);
	file_read(f, back, 512, 0);
	assert_int_equal(back[1], pattern(1));
	/* reads and flushes still work */
	d[0] = (struct seg){ DATA, 512, true };
	assert_int_equal(submit(f, VIRTIO_BLK_T_IN, 0, d, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(p[1], pattern(1));
	assert_int_equal(submit(f, VIRTIO_BLK_T_FLUSH, 0, NULL, 0),
			 VIRTIO_BLK_S_OK);
}

static void malformed_requests(void **state)
{
	struct fx *f = *state;
	struct virtio_blk_stats *st = &f->blk.stats;

	/* header shorter than 16 bytes */
	put_hdr(f, VIRTIO_BLK_T_IN, 0);
	struct seg a[] = { { HDR, 8, false }, { STATUS, 1, true } };
	write_chain(f, DESC, a, 2);
	kick(f, 0);
	reap(f);
	assert_int_equal(status_at(f, STATUS), VIRTIO_BLK_S_IOERR);
	assert_int_equal(f->used_len, 1);

	/* header in a device-writable buffer */
	struct seg b[] = { { HDR, 16, true }, { STATUS, 1, true } };
	write_chain(f, DESC, b, 2);
	kick(f, 0);
	reap(f);
	assert_int_equal(status_at(f, STATUS), VIRTIO_BLK_S_IOERR);

	/* no writable status byte at all: completed with 0 bytes */
	struct seg c[] = { { HDR, 16, false }, { DATA, 512, false } };
	write_chain(f, DESC, c, 2);
	kick(f, 0);
	reap(f);
	assert_int_equal(f->used_len, 0);

	/* data in the wrong direction */
	struct seg rd_data[] = { { DATA, 512, false } };
	assert_int_equal(submit(f, VIRTIO_BLK_T_IN, 0, rd_data, 1),
			 VIRTIO_BLK_S_IOERR);
	struct seg wr_data[] = { { DATA, 512, true } };
	assert_int_equal(submit(f, VIRTIO_BLK_T_OUT, 0, wr_data, 1),
			 VIRTIO_BLK_S_IOERR);
	/* not a whole number of sectors */
	struct seg odd[] = { { DATA, 100, true } };
	assert_int_equal(submit(f, VIRTIO_BLK_T_IN, 0, odd, 1),
			 VIRTIO_BLK_S_IOERR);
	odd[0].w = false;
	assert_int_equal(submit(f, VIRTIO_BLK_T_OUT, 0, odd, 1),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(st->bad_requests, 7);

	/* unknown and unimplemented types */
	assert_int_equal(submit(f, 99, 0, NULL, 0), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(submit(f, 14 /* SECURE_ERASE */, 0, NULL, 0),
			 VIRTIO_BLK_S_UNSUPP);

	/* a chain the ring walker refuses: buffer outside RAM */
	struct seg out[] = { { HDR, 16, false }, { 0x1000, 512, true },
			     { STATUS, 1, true } };
	write_chain(f, DESC, out, 3);
	uint8_t poison = 0xee;
	assert_int_equal(gpa_write(&f->mem, STATUS, &poison, 1), 0);
	kick(f, 0);
	reap(f);
	assert_int_equal(f->used_len, 0);
	assert_int_equal(status_at(f, STATUS), 0xee);
	assert_int_equal(st->bad_chains, 1);
	/* the device carries on */
	struct seg ok[] = { { DATA, 512, true } };
	assert_int_equal(submit(f, VIRTIO_BLK_T_IN, 0, ok, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(st->requests, 11);
	assert_int_equal(st->io_errors, 0);
}

static void framing_independent(void **state)
{
	struct fx *f = *state;
	/* header split 4 + 12, data and status in one writable buffer */
	put_hdr(f, VIRTIO_BLK_T_IN, 3);
	struct seg s[] = { { HDR, 4, false }, { HDR + 4, 12, false },
			   { DATA, 513, true } };
	write_chain(f, DESC, s, 3);
	kick(f, 0);
	reap(f);
	assert_int_equal(f->used_len, 513);
	uint8_t *p = gpa_ptr(&f->mem, DATA, 513);
	assert_int_equal(p[512], VIRTIO_BLK_S_OK);
	assert_int_equal(p[0], pattern(3 * 512));
	assert_int_equal(p[511], pattern(3 * 512 + 511));
	/* write data sharing the header's buffer */
	uint8_t *h = gpa_ptr(&f->mem, HDR, 16 + 512);
	memset(h + 16, 0x77, 512);
	put_hdr(f, VIRTIO_BLK_T_OUT, 5);
	struct seg w[] = { { HDR, 16 + 512, false }, { STATUS, 1, true } };
	write_chain(f, DESC, w, 2);
	kick(f, 0);
	reap(f);
	assert_int_equal(status_at(f, STATUS), VIRTIO_BLK_S_OK);
	uint8_t back[512];
	file_read(f, back, 512, 5 * 512);
	for (unsigned i = 0; i < 512; i++)
		assert_int_equal(back[i], 0x77);
}

static void put_range(struct fx *f, unsigned i, uint64_t sector,
		      uint32_t num, uint32_t flags)
{
	uint8_t s[16];
	memcpy(s, &sector, 8);
	memcpy(s + 8, &num, 4);
	memcpy(s + 12, &flags, 4);
	assert_int_equal(gpa_write(&f->mem, DATA + 16 * i, s, 16), 0);
}

static void discard_write_zeroes(void **state)
{
	struct fx *f = *state;
	uint8_t back[1024];
	struct seg d[] = { { DATA, 32, false } };
	put_range(f, 0, 20, 1, 0);
	put_range(f, 1, 30, 2, VIRTIO_BLK_WZ_F_UNMAP);
	assert_int_equal(submit(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, d, 1),
			 VIRTIO_BLK_S_OK);
	file_read(f, back, 512, 20 * 512);
	for (unsigned i = 0; i < 512; i++)
		assert_int_equal(back[i], 0);
	file_read(f, back, 1024, 30 * 512);
	for (unsigned i = 0; i < 1024; i++)
		assert_int_equal(back[i], 0);
	file_read(f, back, 1, 21 * 512);
	assert_int_equal(back[0], pattern(21 * 512));

	d[0].len = 16;
	put_range(f, 0, 40, 8, 0);
	assert_int_equal(submit(f, VIRTIO_BLK_T_DISCARD, 0, d, 1),
			 VIRTIO_BLK_S_OK);
	/* unmap is not a discard flag; unknown flags */
	put_range(f, 0, 40, 8, VIRTIO_BLK_WZ_F_UNMAP);
	assert_int_equal(submit(f, VIRTIO_BLK_T_DISCARD, 0, d, 1),
			 VIRTIO_BLK_S_UNSUPP);
	put_range(f, 0, 40, 8, 2);
	assert_int_equal(submit(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, d, 1),
			 VIRTIO_BLK_S_UNSUPP);
	/* out of range, over the limits, malformed payloads */
	put_range(f, 0, DISK_SECTORS - 1, 2, 0);
	assert_int_equal(submit(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, d, 1),
			 VIRTIO_BLK_S_IOERR);
	put_range(f, 0, UINT64_MAX, 1, 0);
	assert_int_equal(submit(f, VIRTIO_BLK_T_DISCARD, 0, d, 1),
			 VIRTIO_BLK_S_IOERR);
	put_range(f, 0, 0, VIRTIO_BLK_MAX_WZ_SECTORS + 1, 0);
	assert_int_equal(submit(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, d, 1),
			 VIRTIO_BLK_S_IOERR);
	d[0].len = 16 * (VIRTIO_BLK_MAX_DISCARD_SEG + 1);
	for (unsigned i = 0; i <= VIRTIO_BLK_MAX_DISCARD_SEG; i++)
		put_range(f, i, i, 1, 0);
	assert_int_equal(submit(f, VIRTIO_BLK_T_DISCARD, 0, d, 1),
			 VIRTIO_BLK_S_IOERR);
	d[0].len = 24;
	assert_int_equal(submit(f, VIRTIO_BLK_T_DISCARD, 0, d, 1),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(submit(f, VIRTIO_BLK_T_DISCARD, 0, NULL, 0),
			 VIRTIO_BLK_S_IOERR);
	file_read(f, back, 1, 0);
	assert_int_equal(back[0], pattern(0));
}

static void zeroes_need_feature(void **state)
{
	struct fx *f = *state;
	bring_up(f, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	put_range(f, 0, 1, 1, 0);
	struct seg d[] = { { DATA, 16, false } };
	assert_int_equal(submit(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, d, 1),
			 VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(submit(f, VIRTIO_BLK_T_DISCARD, 0, d, 1),
			 VIRTIO_BLK_S_UNSUPP);
	/* without FLUSH the device is write-through; writes still work */
	memset(gpa_ptr(&f->mem, DATA, 512), 0x33, 512);
	d[0].len = 512;
	assert_int_equal(submit(f, VIRTIO_BLK_T_OUT, 1, d, 1), VIRTIO_BLK_S_OK);
	uint8_t back;
	file_read(f, &back, 1, 512);
	assert_int_equal(back, 0x33);
}

static void indirect_and_event_idx(void **state)
{
	struct fx *f = *state;
	bring_up(f, BASE_FEATURES | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |
		 VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	put_hdr(f, VIRTIO_BLK_T_IN, 7);
	struct seg s[] = { { HDR, 16, false }, { DATA, 512, true },
			   { STATUS, 1, true } };
	write_chain(f, ITABLE, s, 3);
	put_desc_at(f, DESC, 5, ITABLE, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	kick(f, 5);
	assert_int_equal(reap(f), 5);
	assert_int_equal(f->used_len, 513);
	assert_int_equal(status_at(f, STATUS), VIRTIO_BLK_S_OK);
	assert_int_equal(*(uint8_t *)gpa_ptr(&f->mem, DATA, 1), pattern(7 * 512));
	assert_int_equal(f->level, 1);  /* used_event 0 was passed */
	/* avail_event published */
	uint16_t ae;
	assert_int_equal(gpa_read(&f->mem, USED + 4 + 8 * QSIZE, &ae, 2), 0);
	assert_int_equal(ae, 1);
	/* driver asks for no interrupt until used idx passes 5 */
	wr(f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_USED);
	uint16_t ue = 5;
	assert_int_equal(gpa_write(&f->mem, AVAIL + 4 + 2 * QSIZE, &ue, 2), 0);
	kick(f, 5);
	reap(f);
	assert_int_equal(f->level, 0);
}

static void corrupt_ring(void **state)
{
	struct fx *f = *state;
	uint16_t idx = 40;  /* more than QSIZE ahead */
	assert_int_equal(gpa_write(&f->mem, AVAIL + 2, &idx, 2), 0);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(rd(f, VIRTIO_MMIO_STATUS) &
		    VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_int_equal(f->level, 1);  /* configuration change */
	idx = 0;
	assert_int_equal(gpa_write(&f->mem, AVAIL + 2, &idx, 2), 0);
	bring_up(f, BASE_FEATURES);
	struct seg d[] = { { DATA, 512, true } };
	assert_int_equal(submit(f, VIRTIO_BLK_T_IN, 0, d, 1), VIRTIO_BLK_S_OK);
}

static void batch_of_requests(void **state)
{
	struct fx *f = *state;
	/* fill the ring with reads of sectors 0..QSIZE-1, one notify */
	for (unsigned i = 0; i < QSIZE / 4; i++) {
		uint64_t hdr = HDR + 0x100 * i, st = STATUS + i;
		put_desc_at(f, DESC, 3 * i, hdr, 16, VIRTQ_DESC_F_NEXT,
			    (uint16_t)(3 * i + 1));
		put_desc_at(f, DESC, 3 * i + 1, DATA + 512 * i, 512,
			    VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
			    (uint16_t)(3 * i + 2));
		put_desc_at(f, DESC, 3 * i + 2, st, 1, VIRTQ_DESC_F_WRITE, 0);
		uint8_t h[16] = { 0 };
		uint64_t sector = i;
		memcpy(h + 8, &sector, 8);
		assert_int_equal(gpa_write(&f->mem, hdr, h, 16), 0);
		uint16_t head = (uint16_t)(3 * i);
		assert_int_equal(gpa_write(&f->mem, AVAIL + 4 + 2 * i, &head, 2),
				 0);
	}
	f->avail_idx = QSIZE / 4;
	assert_int_equal(gpa_write(&f->mem, AVAIL + 2, &f->avail_idx, 2), 0);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	/* I/O threads may finish them in any order; each exactly once. */
	bool seen[QSIZE / 4] = { false };
	for (unsigned i = 0; i < QSIZE / 4; i++) {
		uint16_t h = reap(f);
		assert_true(h % 3 == 0 && h / 3 < QSIZE / 4 && !seen[h / 3]);
		seen[h / 3] = true;
	}
	for (unsigned i = 0; i < QSIZE / 4; i++) {
		assert_int_equal(status_at(f, STATUS + i), VIRTIO_BLK_S_OK);
		assert_int_equal(*(uint8_t *)gpa_ptr(&f->mem, DATA + 512 * i, 1),
				 pattern(512 * i));
	}
}

static void exit_unregisters(void **state)
{
	struct fx *f = *state;
	assert_int_equal(virtio_blk_exit(&f->blk), 0);
	uint64_t v;
	assert_int_equal(bus_read(&f->bus, BASE, 4, &v), -ENODEV);
	/* re-init for teardown's exit */
	struct irq_line irq = { set_level, f, 1 };
	assert_int_equal(virtio_blk_init(&f->blk, &f->bus, BASE, &f->mem, irq,
					 f->bd, NULL, NULL), 0);
	bring_up(f, BASE_FEATURES);
	uint8_t *p = gpa_ptr(&f->mem, DATA, 20);
	memset(p, 0xff, 20);
	struct seg d[] = { { DATA, 20, true } };
	assert_int_equal(submit(f, VIRTIO_BLK_T_GET_ID, 0, d, 1),
			 VIRTIO_BLK_S_OK);
	for (unsigned i = 0; i < 20; i++)
		assert_int_equal(p[i], 0);  /* no serial: all NUL */
}

/* A VMM whose harts sleep in its event loop asks to be woken by
 * completions: the loop's poll returns with the device's callback. */
static void watch_wakes_the_loop(void **state)
{
	struct fx *f = *state;
	struct evloop loop;
	assert_int_equal(evloop_init(&loop, NULL), 0);
	assert_int_equal(virtio_blk_watch(&f->blk, &loop, NULL), 0);
	assert_int_equal(evloop_poll(&loop, 0), 0);    /* nothing yet */
	struct seg d[] = { { DATA, 512, true } };
	assert_int_equal(submit(f, VIRTIO_BLK_T_IN, 1, d, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(evloop_poll(&loop, 1000), 1);  /* the eventfd */
	assert_int_equal(evloop_poll(&loop, 0), 0);     /* and drained */
	assert_int_equal(virtio_blk_exit(&f->blk), 0);  /* stops watching */
	evloop_free(&loop);
	struct irq_line irq = { set_level, f, 1 };
	assert_int_equal(virtio_blk_init(&f->blk, &f->bus, BASE, &f->mem, irq,
					 f->bd, NULL, NULL), 0);
}

/* ---- asynchronous completion, with a block device the test drives ----
 *
 * A gate device keeps its disk in memory and holds each read or write at
 * its first sector until the test opens that sector's gate, logging the
 * order in which I/O finishes.  Requests: header in HDR + 0x100 * i, data
 * and status byte in one writable buffer at DATA + 1024 * i (status last),
 * two descriptors each (2i, 2i + 1), so QSIZE / 2 fit in the ring. */

#define GATE_SECTORS 64

struct gate {
	struct block_dev bd;   /* first */
	pthread_mutex_t m;
	pthread_cond_t cv;
	uint64_t open;         /* bit s: I/O at sector s may go */
	unsigned blocked;      /* requests waiting at a gate */
	int log[64];           /* finished I/O: sector, or -1 for a flush */
	unsigned nlog;
	uint8_t data[GATE_SECTORS * 512];
};

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static int gate_xfer(struct block_dev *bd, const struct iovec *iov, int cnt,
		     uint64_t off, bool write)
{
	struct gate *g = (struct gate *)bd;
	unsigned s = (unsigned)(off / 512);
	pthread_mutex_lock(&g->m);
	g->blocked++;
	pthread_cond_broadcast(&g->cv);
	while (!(g->open >> s & 1))
		pthread_cond_wait(&g->cv, &g->m);
	g->blocked--;
	pthread_mutex_unlock(&g->m);
	for (int i = 0; i < cnt; off += iov[i++].iov_len) {
		if (write)
			memcpy(g->data + off, iov[i].iov_base, iov[i].iov_len);
		else
			memcpy(iov[i].iov_base, g->data + off, iov[i].iov_len);
	}
	pthread_mutex_lock(&g->m);
	g->log[g->nlog++ % 64] = (int)s;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->m);
	return 0;
}

static int gate_preadv(struct block_dev *bd, const struct iovec *iov,
		       int cnt, uint64_t off)
{
	return gate_xfer(bd, iov, cnt, off, false);
}

static int gate_pwritev(struct block_dev *bd, const struct iovec *iov,
			int cnt, uint64_t off)
{
	return gate_xfer(bd, iov, cnt, off, true);
}

static int gate_pread(struct block_dev *bd, void *buf, size_t len,
		      uint64_t off)
{
	struct iovec v = { buf, len };
	return gate_xfer(bd, &v, 1, off, false);
}

static int gate_pwrite(struct block_dev *bd, const void *buf, size_t len,
		       uint64_t off)
{
	struct iovec v = { (void *)buf, len };
	return gate_xfer(bd, &v, 1, off, true);
}

static int gate_flush(struct block_dev *bd)
{
	struct gate *g = (struct gate *)bd;
	pthread_mutex_lock(&g->m);
	g->log[g->nlog++ % 64] = -1;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->m);
	return 0;
}

static void gate_close(struct block_dev *bd)
{
}

static const struct block_driver gate_drv = {
	.name = "gate",
	.thread_safe = true,
	.pread = gate_pread,
	.pwrite = gate_pwrite,
	.preadv = gate_preadv,
	.pwritev = gate_pwritev,
	.flush = gate_flush,
	.close = gate_close,
};

static struct gate gate_dev;

static void gate_open(struct gate *g, uint64_t mask)
{
	pthread_mutex_lock(&g->m);
	g->open |= mask;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->m);
}

/* Wait (5 s at most) until n requests wait at closed gates. */
static void gate_wait_blocked(struct gate *g, unsigned n)
{
	struct timespec ts;
	deadline_in(&ts, 5000);
	pthread_mutex_lock(&g->m);
	int rc = 0;
	while (g->blocked != n && rc == 0)
		rc = pthread_cond_timedwait(&g->cv, &g->m, &ts);
	unsigned got = g->blocked;
	pthread_mutex_unlock(&g->m);
	assert_int_equal(got, n);
}

static int setup_gate(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct gate *g = &gate_dev;
	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->m, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->bd.drv = &gate_drv;
	g->bd.size = sizeof(g->data);
	pthread_mutex_init(&g->bd.lock, NULL);
	for (size_t i = 0; i < sizeof(g->data); i++)
		g->data[i] = pattern(i);
	f->bd = &g->bd;
	assert_int_equal(guest_mem_add(&f->mem, RAM, 1 << 20, NULL), 0);
	struct irq_line irq = { set_level, f, 1 };
	assert_int_equal(virtio_blk_init(&f->blk, &f->bus, BASE, &f->mem, irq,
					 f->bd, "gate", NULL), 0);
	bring_up(f, BASE_FEATURES);
	*state = f;
	return 0;
}

static int teardown_gate(void **state)
{
	struct fx *f = *state;
	gate_open(&gate_dev, ~0ull);
	assert_int_equal(virtio_blk_exit(&f->blk), 0);
	pthread_mutex_destroy(&gate_dev.bd.lock);
	bus_free(&f->bus);
	guest_mem_free(&f->mem);
	free(f);
	return 0;
}

/* Make request i available (not notified): type at sector, data_len
 * bytes of data (0 for FLUSH) then the status byte, poisoned. */
static void post(struct fx *f, unsigned i, uint32_t type, uint64_t sector,
		 uint32_t data_len)
{
	uint64_t hdr = HDR + 0x100 * i, buf = DATA + 1024 * i;
	uint8_t h[16] = { 0 };
	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
	assert_int_equal(gpa_write(&f->mem, hdr, h, 16), 0);
	uint8_t poison = 0xee;
	assert_int_equal(gpa_write(&f->mem, buf + data_len, &poison, 1), 0);
	put_desc_at(f, DESC, 2 * i, hdr, 16, VIRTQ_DESC_F_NEXT,
		    (uint16_t)(2 * i + 1));
	put_desc_at(f, DESC, 2 * i + 1, buf, data_len + 1,
		    VIRTQ_DESC_F_WRITE, 0);
	uint16_t head = (uint16_t)(2 * i), slot = f->avail_idx % QSIZE;
	assert_int_equal(gpa_write(&f->mem, AVAIL + 4 + 2 * slot, &head, 2), 0);
	f->avail_idx++;
	assert_int_equal(gpa_write(&f->mem, AVAIL + 2, &f->avail_idx, 2), 0);
}

/* Request i as a write: header and data readable, status writable. */
static void post_write(struct fx *f, unsigned i, uint64_t sector,
		       uint8_t fill)
{
	uint64_t hdr = HDR + 0x800 + 0x400 * i;
	uint8_t h[16] = { 0 };
	uint32_t type = VIRTIO_BLK_T_OUT;
	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
	assert_int_equal(gpa_write(&f->mem, hdr, h, 16), 0);
	uint8_t d[512];
	memset(d, fill, sizeof(d));
	uint8_t poison = 0xee;
	assert_int_equal(gpa_write(&f->mem, STATUS + i, &poison, 1), 0);
	/* Header and data in one readable buffer (two descriptors per
	 * request), the status byte in the second. */
	assert_int_equal(gpa_write(&f->mem, hdr + 16, d, 512), 0);
	put_desc_at(f, DESC, 2 * i, hdr, 16 + 512, VIRTQ_DESC_F_NEXT,
		    (uint16_t)(2 * i + 1));
	put_desc_at(f, DESC, 2 * i + 1, STATUS + i, 1, VIRTQ_DESC_F_WRITE, 0);
	uint16_t head = (uint16_t)(2 * i), slot = f->avail_idx % QSIZE;
	assert_int_equal(gpa_write(&f->mem, AVAIL + 4 + 2 * slot, &head, 2), 0);
	f->avail_idx++;
	assert_int_equal(gpa_write(&f->mem, AVAIL + 2, &f->avail_idx, 2), 0);
}

/* Notify as a vCPU does, without waiting for the I/O threads. */
static void notify_nowait(struct fx *f)
{
	assert_int_equal(bus_write(&f->bus, BASE + VIRTIO_MMIO_QUEUE_NOTIFY, 4,
				   0), 0);
}

static uint16_t used_idx(struct fx *f)
{
	uint16_t idx;
	assert_int_equal(gpa_read(&f->mem, USED + 2, &idx, 2), 0);
	return __atomic_load_n(&idx, __ATOMIC_ACQUIRE);
}

/* Wait (5 s at most) until the used idx reaches n. */
static void wait_used(struct fx *f, uint16_t n)
{
	for (int i = 0; i < 5000 && (uint16_t)(used_idx(f) - n) > 0x8000; i++)
		usleep(1000);
	assert_int_equal(used_idx(f), n);
}

static void out_of_order_completion(void **state)
{
	struct fx *f = *state;
	enum { N = QSIZE / 2 };
	for (unsigned i = 0; i < N; i++)
		post(f, i, VIRTIO_BLK_T_IN, i, 512);
	notify_nowait(f);
	/* The notify returned with all N requests in flight at once. */
	gate_wait_blocked(&gate_dev, N);
	assert_int_equal(used_idx(f), 0);
	assert_true(f->blk.stats.max_inflight >= N);
	for (unsigned k = N; k-- > 0;) {
		gate_open(&gate_dev, 1ull << k);
		wait_used(f, (uint16_t)(N - k));
		assert_int_equal(reap(f), 2 * k);
		assert_int_equal(f->used_len, 513);
		assert_int_equal(status_at(f, DATA + 1024 * k + 512),
				 VIRTIO_BLK_S_OK);
		uint8_t *p = gpa_ptr(&f->mem, DATA + 1024 * k, 512);
		for (unsigned j = 0; j < 512; j++)
			assert_int_equal(p[j], pattern(512 * k + j));
	}
	assert_int_equal(f->level, 1);
}

static void flush_is_a_barrier(void **state)
{
	struct fx *f = *state;
	post_write(f, 0, 1, 0x11);
	post_write(f, 1, 2, 0x22);
	post(f, 2, VIRTIO_BLK_T_FLUSH, 0, 0);
	notify_nowait(f);
	gate_wait_blocked(&gate_dev, 2);
	/* The flush needs no gate, yet waits for both earlier writes. */
	usleep(100 * 1000);
	assert_int_equal(used_idx(f), 0);
	assert_int_equal(gate_dev.nlog, 0);
	gate_open(&gate_dev, 1ull << 2);
	wait_used(f, 1);
	assert_int_equal(reap(f), 2);          /* the second write */
	usleep(50 * 1000);
	assert_int_equal(used_idx(f), 1);      /* flush still waiting */
	gate_open(&gate_dev, 1ull << 1);
	wait_used(f, 3);
	virtio_blk_drain(&f->blk);
	assert_int_equal(gate_dev.nlog, 3);
	assert_int_equal(gate_dev.log[0], 2);
	assert_int_equal(gate_dev.log[1], 1);
	assert_int_equal(gate_dev.log[2], -1);  /* the flush, last */
	assert_int_equal(reap(f), 0);
	assert_int_equal(reap(f), 4);
	assert_int_equal(status_at(f, DATA + 1024 * 2), VIRTIO_BLK_S_OK);
	assert_int_equal(gate_dev.data[512], 0x11);
	assert_int_equal(gate_dev.data[1024], 0x22);
}

static void *open_gates_later(void *arg)
{
	usleep(100 * 1000);
	gate_open(arg, ~0ull);
	return NULL;
}

static void reset_waits_for_inflight(void **state)
{
	struct fx *f = *state;
	for (unsigned i = 0; i < 4; i++)
		post(f, i, VIRTIO_BLK_T_IN, 8 + i, 512);
	assert_int_equal(guest_mem_dirty_log_start(&f->mem, NULL), 0);
	notify_nowait(f);
	gate_wait_blocked(&gate_dev, 4);
	uint64_t bm[(1 << 20) / 4096 / 64];
	guest_mem_dirty_fetch(&f->mem, 0, bm);   /* clean from here */
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, open_gates_later, &gate_dev),
			 0);
	/* The driver resets the device with the four reads in flight: the
	 * write returns once their I/O finished, and none is completed. */
	wr(f, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(gate_dev.nlog, 4);
	virtio_blk_drain(&f->blk);
	usleep(20 * 1000);
	assert_int_equal(used_idx(f), 0);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(status_at(f, DATA + 1024 * i + 512), 0xee);
	assert_int_equal(f->level, 0);
	/* The reads landed in guest memory though never returned: the
	 * dirty-page log has their page (and nothing of the used ring). */
	assert_int_equal(guest_mem_dirty_fetch(&f->mem, 0, bm), 1);
	uint64_t page = (DATA - RAM) >> 12;
	assert_true(bm[page / 64] >> (page % 64) & 1);
	guest_mem_dirty_log_stop(&f->mem);
	pthread_join(t, NULL);
	/* The device works again after the driver sets it up anew. */
	uint16_t zero = 0;
	assert_int_equal(gpa_write(&f->mem, AVAIL + 2, &zero, 2), 0);
	assert_int_equal(gpa_write(&f->mem, USED + 2, &zero, 2), 0);
	bring_up(f, BASE_FEATURES);
	post(f, 0, VIRTIO_BLK_T_IN, 3, 512);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(reap(f), 0);
	assert_int_equal(status_at(f, DATA + 512), VIRTIO_BLK_S_OK);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define G(fn) cmocka_unit_test_setup_teardown(fn, setup_gate, teardown_gate)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(blk_size_follows_host_block,
						setup_idle, teardown),
		cmocka_unit_test_setup_teardown(config_and_features, setup_idle,
						teardown),
		T(read_sectors),
		T(write_sectors),
		T(get_id),
		T(out_of_range),
		cmocka_unit_test_setup_teardown(read_only_disk, setup_ro,
						teardown),
		T(malformed_requests),
		T(framing_independent),
		T(discard_write_zeroes),
		T(zeroes_need_feature),
		T(indirect_and_event_idx),
		T(corrupt_ring),
		T(batch_of_requests),
		T(exit_unregisters),
		T(watch_wakes_the_loop),
		G(out_of_order_completion),
		G(flush_is_a_barrier),
		G(reset_waits_for_inflight),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
