/* A tar_read_fn (container/tar.h) over a byte buffer in memory, shared by
 * the tar fuzz target and the image unit tests.
 *
 * struct tar_mem: p is the buffer (borrowed, not copied), n its size in
 * bytes, off the read position (start at 0).  tar_mem_read hands out up to
 * n bytes from off and advances it; 0 at the end; never fails.  Not
 * thread-safe (one reader per struct). */
#ifndef RINGVM_TESTS_TAR_MEM_H
#define RINGVM_TESTS_TAR_MEM_H

#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "container/tar.h"

struct tar_mem {
	const uint8_t *p;
	size_t n, off;
};

static inline ssize_t tar_mem_read(void *ctx, void *buf, size_t n, struct err *e)
{
	struct tar_mem *m = ctx;
	(void)e;
	if (n > m->n - m->off)
		n = m->n - m->off;
	memcpy(buf, m->p + m->off, n);
	m->off += n;
	return (ssize_t)n;
}

#endif
