/* libFuzzer target: hostile compressed layers through the decompressing
 * reader (src/container/decomp.c: plain, gzip members, zstd frames) and on
 * into the tar reader, as unpack_tar chains them.  The output cap must
 * hold (never more than max_out bytes handed out), every failure must carry
 * a message, and the input must be read from a pipe-like fd to its end or
 * to the error without hanging. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "container/decomp.h"
#include "container/tar.h"

#define CAP (4u << 20)

struct src {
	struct decomp *d;
	uint64_t got;
};

static ssize_t rd(void *ctx, void *buf, size_t n, struct err *e)
{
	struct src *s = ctx;
	ssize_t k = decomp_read(s->d, buf, n, e);
	if (k < 0 && !e->msg[0])
		__builtin_trap();
	if (k > 0)
		s->got += (uint64_t)k;
	if (s->got > CAP)
		__builtin_trap();
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET)) {
		close(fd);
		return 0;
	}
	struct err er = { 0 };
	struct src s = { 0 };
	if (decomp_open(fd, CAP, NULL, &s.d, &er)) {
		close(fd);
		return 0;
	}
	struct tar_reader r;
	tar_reader_init(&r, rd, &s);
	struct tar_entry *e = malloc(sizeof(*e));
	char buf[4096];
	for (int i = 0; i < 1000; i++) {
		err_clear(&er);
		if (tar_next(&r, e, &er) <= 0)
			break;
		ssize_t k;
		while ((k = tar_read_data(&r, buf, sizeof(buf), &er)) > 0)
			;
		if (k < 0)
			break;
	}
	/* Drain what follows the archive, as the diff_id hash does. */
	err_clear(&er);
	while (rd(&s, buf, sizeof(buf), &er) > 0)
		;
	if (decomp_out_bytes(s.d) > CAP || decomp_in_bytes(s.d) > size)
		__builtin_trap();
	free(e);
	decomp_close(s.d);
	close(fd);
	return 0;
}
