/* Guest-physical memory: gpa -> hva translation with bounds checks.
 *
 * RAM is a small set of non-overlapping regions, each backed by one anonymous
 * host mapping.  Every engine (the RV64 interpreter, later KVM) and every
 * device reaches guest RAM only through these helpers, so a hostile guest
 * address can never turn into an out-of-bounds host access. */
#ifndef RINGVM_CORE_GUEST_MEM_H
#define RINGVM_CORE_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "err.h"

#define GUEST_MEM_MAX_REGIONS 4

struct guest_mem_region {
	uint64_t gpa;   /* first guest-physical address, bytes */
	uint64_t size;  /* length, bytes */
	uint8_t *hva;   /* host mapping of the region */
};

struct guest_mem {
	struct guest_mem_region r[GUEST_MEM_MAX_REGIONS];
	unsigned nr;
};

/* Map `size` bytes of zeroed anonymous host memory at guest-physical `gpa`.
 * Fails with -EINVAL (zero size, overflow, overlap, too many regions) or
 * -ENOMEM (the host cannot map that much; message names the size). */
int guest_mem_add(struct guest_mem *m, uint64_t gpa, uint64_t size,
		  struct err *errp);

/* Unmap every region; the struct may be reused afterwards. */
void guest_mem_free(struct guest_mem *m);

/* Host pointer for [gpa, gpa+len) or NULL if any byte of it lies outside
 * RAM (or the range wraps).  len == 0 is treated as len == 1. */
static inline void *gpa_ptr(const struct guest_mem *m, uint64_t gpa,
			    uint64_t len)
{
	if (len == 0)
		len = 1;
	for (unsigned i = 0; i < m->nr; i++) {
		const struct guest_mem_region *r = &m->r[i];
		uint64_t off = gpa - r->gpa;
		if (gpa >= r->gpa && off < r->size && len <= r->size - off)
			return r->hva + off;
	}
	return NULL;
}

/* Checked copies; return 0 or -EFAULT when any byte is outside RAM. */
static inline int gpa_read(const struct guest_mem *m, uint64_t gpa,
			   void *dst, size_t len)
{
	void *p = gpa_ptr(m, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

static inline int gpa_write(const struct guest_mem *m, uint64_t gpa,
			    const void *src, size_t len)
{
	void *p = gpa_ptr(m, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

#endif
