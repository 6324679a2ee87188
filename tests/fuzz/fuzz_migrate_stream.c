/* libFuzzer target: the live-migration stream parser (vmm/migrate_stream.c)
 * as the target side runs it on bytes from a source it cannot trust.  The
 * input is the stream itself; the sink is a fake: a small staging RAM
 * (layouts over FZ_MAX_RAM are refused as the real target would refuse
 * what it cannot map), disks that only check that every write lies within
 * the size the stream declared, and a device-state sink.
 *
 * Invariants: no crash or out-of-bounds access; disk writes and zeroings
 * within the declared disks; callbacks in the order the format demands
 * (machine, then layout, then device; disk data after the disk list);
 * the device delta merged onto the machine stream is a valid stream;
 * success only after a device state. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/guest_mem.h"
#include "core/state.h"
#include "vmm/migrate_stream.h"

#define FZ_CHECK(c) do { if (!(c)) { fprintf(stderr, "FZ_CHECK %s:%d: %s\n", \
	__FILE__, __LINE__, #c); abort(); } } while (0)
#define FZ_MAX_RAM (1u << 20)

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

struct fake {
	bool machine, device;
	uint8_t *base;       /* the machine stream, when it is a valid one */
	size_t base_len;
	struct guest_mem mem;
	bool mapped;
	unsigned ndisks;
	uint64_t size[MIG_MAX_DISKS];
};

static int f_machine(void *o, const uint8_t *b, size_t n, struct err *e)
{
	struct fake *f = o;
	FZ_CHECK(!f->machine && n >= 1 && n <= MIG_MAX_BLOB);
	/* As the target: the machine must be a state stream (its checks
	 * are core/state.c's), kept as the base of the device delta. */
	struct state_reader r;
	int rc = state_reader_init(&r, b, n, e);
	if (rc)
		return rc;
	f->base = malloc(n);
	FZ_CHECK(f->base);
	memcpy(f->base, b, n);
	f->base_len = n;
	f->machine = true;
	return 0;
}

static int f_layout(void *o, const struct guest_mem_region *r, unsigned nr,
		    struct guest_mem **mem, struct err *e)
{
	struct fake *f = o;
	FZ_CHECK(f->machine && !f->mapped);
	FZ_CHECK(nr >= 1 && nr <= GUEST_MEM_MAX_REGIONS);
	uint64_t total = 0;
	for (unsigned i = 0; i < nr; i++) {
		FZ_CHECK(r[i].size && r[i].size % GUEST_PAGE_SIZE == 0);
		total += r[i].size;
	}
	if (total > FZ_MAX_RAM)
		return err_set(e, ENOMEM, "too big for the fuzzer");
	for (unsigned i = 0; i < nr; i++) {
		int rc = guest_mem_add(&f->mem, r[i].gpa, r[i].size, e);
		if (rc)
			return rc;
	}
	f->mapped = true;
	*mem = &f->mem;
	return 0;
}

static int f_disks(void *o, const uint64_t *size, unsigned n, struct err *e)
{
	struct fake *f = o;
	FZ_CHECK(n <= MIG_MAX_DISKS && !f->ndisks);
	memcpy(f->size, size, n * sizeof(*size));
	f->ndisks = n;
	(void)e;
	return 0;
}

static int f_write(void *o, unsigned d, uint64_t off, const void *buf,
		   size_t len, struct err *e)
{
	struct fake *f = o;
	FZ_CHECK(d < f->ndisks && len && len <= MIG_DISK_CHUNK);
	FZ_CHECK(off <= f->size[d] && len <= f->size[d] - off);
	/* The whole buffer must be readable. */
	volatile uint8_t x = ((const uint8_t *)buf)[len - 1];
	(void)x;
	(void)e;
	return 0;
}

static int f_zero(void *o, unsigned d, uint64_t off, uint64_t len,
		  struct err *e)
{
	struct fake *f = o;
	FZ_CHECK(d < f->ndisks && len);
	FZ_CHECK(off <= f->size[d] && len <= f->size[d] - off);
	(void)e;
	return 0;
}

static int f_device(void *o, const uint8_t *b, size_t n, struct err *e)
{
	struct fake *f = o;
	FZ_CHECK(f->mapped && !f->device && n >= 1 && n <= MIG_MAX_BLOB);
	uint8_t *m;
	size_t mn;
	int rc = mig_state_merge(f->base, f->base_len, b, n, &m, &mn, e);
	if (rc)
		return rc;
	/* The merge of two valid streams is one. */
	struct state_reader r;
	FZ_CHECK(state_reader_init(&r, m, mn, NULL) == 0);
	free(m);
	f->device = true;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mem_in in = { data, size };
	struct mig_in src = { mem_read, &in };
	struct fake f;
	memset(&f, 0, sizeof(f));
	struct mig_sink s = {
		.opaque = &f, .machine = f_machine, .layout = f_layout,
		.disks = f_disks, .disk_write = f_write, .disk_zero = f_zero,
		.device = f_device,
	};
	struct err e = { 0 };
	int rc = mig_parse(&src, &s, &e);
	if (rc == 0)
		FZ_CHECK(f.device && f.machine && f.mapped);
	else
		FZ_CHECK(rc < 0 && e.msg[0]);
	guest_mem_free(&f.mem);
	free(f.base);
	return 0;
}
