/* libFuzzer target: a hostile guest writing to the start of a raw disk
 * whose format was probed.  The input is a list of requests (write,
 * vectored write, write-zeroes, discard) at offsets around the first
 * sector; they go through the block layer as virtio-blk sends them.
 * Invariants checked after every input:
 *   - the image still probes as raw (the guard let nothing through that a
 *     probe would read as another format);
 *   - the file holds exactly what the accepted requests wrote: a refused
 *     request changed nothing, an accepted one landed whole.
 * Request layout: op (1 byte), offset (2 bytes LE, mod 2048), length
 * (2 bytes LE, mod 1024 + 1), then for writes `length` data bytes. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "block/block.h"
#include "fuzz_tmpdir.h"

#define DISK 4096u

static char path[256];

static void init(void)
{
	snprintf(path, sizeof(path), "%s/disk.raw", fuzz_tmpdir());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t model[DISK], back[DISK];
	if (!path[0])
		init();
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	if (fd < 0 || ftruncate(fd, DISK) < 0)
		abort();
	close(fd);
	memset(model, 0, sizeof(model));

	struct block_dev *bd;
	if (block_open(path, false, &bd, NULL) || !bd->probe_guard)
		abort();
	size_t i = 0;
	while (i + 5 <= size) {
		uint8_t op = data[i] % 4;
		uint64_t off = (data[i + 1] | data[i + 2] << 8) % 2048;
		size_t len = (data[i + 3] | data[i + 4] << 8) % 1024 + 1;
		i += 5;
		int rc;
		if (op <= 1) {
			if (len > size - i)
				len = size - i;
			if (!len)
				break;
			const uint8_t *src = data + i;
			i += len;
			if (op == 0) {
				rc = block_pwrite(bd, src, len, off);
			} else {
				/* up to four pieces, cut where the data says */
				struct iovec v[4];
				int n = 0;
				size_t done = 0;
				while (done < len && n < 3) {
					size_t k = src[done] % (len - done) + 1;
					v[n++] = (struct iovec){ (void *)(src + done), k };
					done += k;
				}
				if (done < len)
					v[n++] = (struct iovec){ (void *)(src + done),
								len - done };
				rc = block_pwritev(bd, v, n, off);
			}
			if (rc == 0)
				memcpy(model + off, src, len);
		} else {
			rc = op == 2 ? block_write_zeroes(bd, off, len, false)
				     : block_discard(bd, off, len);
			if (rc == 0)
				memset(model + off, 0, len);
		}
		if (rc != 0 && rc != -EPERM)
			abort();
	}
	block_close(bd);

	fd = open(path, O_RDONLY);
	if (fd < 0 || pread(fd, back, DISK, 0) != DISK)
		abort();
	close(fd);
	if (memcmp(back, model, DISK))
		abort();
	if (block_open(path, true, &bd, NULL) || strcmp(bd->drv->name, "raw"))
		abort();
	block_close(bd);
	return 0;
}
