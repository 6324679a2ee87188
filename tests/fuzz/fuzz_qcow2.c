/* libFuzzer target: a hostile qcow2 image through open, reads, block
 * status, check, then a read-write open with a few writes, a discard and
 * a write-zeroes.  The input is the image file; it is written to a file
 * in a private temporary directory so relative backing names resolve
 * there (and mostly do not exist). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "block/block.h"
#include "block/qcow2.h"
#include "fuzz_tmpdir.h"


/* A small L2 cache (one table): exercises eviction. */
static int open_small_cache(const char *p, bool read_only,
			    struct block_dev **out, struct err *e)
{
	struct block_open_opts o = { .format = "qcow2",
				     .read_only = read_only,
				     .l2_cache = 4096 };
	return block_open_with(p, &o, out, e);
}

static char path[256];

static void init(void)
{
	snprintf(path, sizeof(path), "%s/img.qcow2", fuzz_tmpdir());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[1 << 16];
	if (!path[0])
		init();
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	if (fd < 0)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);

	struct block_dev *bd;
	struct err e = { 0 };
	if (open_small_cache(path, true, &bd, &e))
		return 0;
	/* The start, the end and a few offsets picked by the input. */
	uint64_t offs[6] = { 0, bd->size > sizeof(buf) ? bd->size - sizeof(buf)
							: 0 };
	for (int i = 0; i < 4 && size >= (size_t)(8 * (i + 1)); i++) {
		uint64_t v;
		memcpy(&v, data + size - 8 * (i + 1), 8);
		offs[2 + i] = bd->size ? v % bd->size : 0;
	}
	for (int i = 0; i < 6; i++) {
		uint64_t len = sizeof(buf);
		if (offs[i] >= bd->size)
			continue;
		if (len > bd->size - offs[i])
			len = bd->size - offs[i];
		if (i & 1) {
			/* The vectored path (q_preadv), odd pieces. */
			size_t a = len / 3, b = len / 3 + 1 < len ? 1 : 0;
			struct iovec v[3] = { { buf, a }, { buf + a, b },
					      { buf + a + b, len - a - b } };
			block_preadv(bd, v, 3, offs[i]);
		} else {
			block_pread(bd, buf, len, offs[i]);
		}
		struct block_status st;
		uint64_t off = offs[i];
		for (int k = 0; k < 16 && off < bd->size; k++) {
			if (block_status(bd, off, bd->size - off, &st))
				break;
			off += st.len;
		}
	}
	struct qcow2_info info;
	qcow2_get_info(bd, &info);
	struct qcow2_snapshot_info *list;
	uint32_t n;
	if (!qcow2_snapshot_list(bd, &list, &n, &e))
		qcow2_snapshot_list_free(list, n);
	struct qcow2_check_result res;
	qcow2_check(bd, false, &res, &e);
	block_close(bd);

	/* The guest path writes to images it did not make: hostile
	 * metadata must give errors, never memory errors. */
	if (open_small_cache(path, false, &bd, &e))
		return 0;
	memset(buf, 0xa5, sizeof(buf));
	for (int i = 2; i < 6; i++) {
		uint64_t off = offs[i], len = 4096 << (i - 2);
		if (off >= bd->size)
			continue;
		if (len > bd->size - off)
			len = bd->size - off;
		if (i == 4) {
			block_discard(bd, off, len);
		} else if (i == 5) {
			block_write_zeroes(bd, off, len, true);
		} else if (i == 3) {
			/* The vectored path (q_pwritev), odd pieces. */
			size_t a = len / 3, b = len / 3 + 1 < len ? 1 : 0;
			struct iovec v[3] = { { buf, a }, { buf + a, b },
					      { buf + a + b, len - a - b } };
			block_pwritev(bd, v, 3, off);
		} else {
			block_pwrite(bd, buf, len, off);
		}
	}
	block_pread(bd, buf, bd->size < 4096 ? bd->size : 4096, 0);
	block_close(bd);
	return 0;
}
