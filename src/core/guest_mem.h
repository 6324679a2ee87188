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

/* Dirty-page logging granule (bytes): the guest's base page. */
#define GUEST_PAGE_SHIFT 12
#define GUEST_PAGE_SIZE (1ULL << GUEST_PAGE_SHIFT)

struct guest_mem_region {
	uint64_t gpa;   /* first guest-physical address, bytes */
	uint64_t size;  /* length, bytes */
	uint8_t *hva;   /* host mapping of the region */
	/* While logging: bit p set = page p of the region was written since
	 * the last guest_mem_dirty_fetch() (atomic words). */
	uint64_t *dirty;
	/* Backed by a private mapping of a snapshot's memory file
	 * (guest_mem_map_file) rather than anonymous memory. */
	bool file_backed;
};

struct guest_mem {
	struct guest_mem_region r[GUEST_MEM_MAX_REGIONS];
	unsigned nr;
	int logging;    /* dirty-page log on (read with relaxed atomics) */
	/* guest_mem_dirty_fetch and _start calls so far (atomic): lets one
	 * user of the log (incremental snapshots) notice that another (a
	 * migration) took bits it needed. */
	uint64_t dirty_fetches;
};

/* Map `size` bytes of zeroed anonymous host memory at guest-physical `gpa`.
 * Fails with -EINVAL (zero size, overflow, overlap, too many regions) or
 * -ENOMEM (the host cannot map that much; message names the size). */
int guest_mem_add(struct guest_mem *m, uint64_t gpa, uint64_t size,
		  struct err *errp);

/* Move the contents of every region of src into the region of dst with
 * the same gpa and size (same count and order), without copying: the host
 * pages are remapped (mremap) over dst's, whose addresses stay the same.
 * src is left empty (nr 0).  For live migration, which receives RAM before
 * the VM that will own it exists.  Neither may be logging or in use by
 * another thread.  0, -EINVAL (shapes differ) or -errno of mremap. */
int guest_mem_move(struct guest_mem *dst, struct guest_mem *src,
		   struct err *errp);
/* Back region i with a private copy-on-write mapping of fd from byte
 * offset off (a multiple of the host page size) for the region's size,
 * at the same host address (MAP_FIXED over the anonymous mapping, so
 * pointers taken before stay valid): pages are read from the file when
 * the guest first touches them, holes read as zeros, and guest writes
 * never reach the file.  The file must be at least off + size bytes
 * (a shorter one would fault beyond its end).  Call while nothing else
 * uses the region (VM not started).  fd may be closed afterwards.
 * Returns 0, -EINVAL (bad region or offset, file too short) or the mmap
 * -errno, with errp naming the problem. */
int guest_mem_map_file(struct guest_mem *m, unsigned i, int fd, uint64_t off,
		       struct err *errp);

/* Zero every region as at power-on (a reboot).  Anonymous regions hand
 * their pages back (MADV_DONTNEED); a file-backed region gets fresh
 * anonymous memory in place, since dropping the private pages of a file
 * mapping would bring back the file's contents.  Only while no other
 * thread touches guest memory. */
void guest_mem_clear(struct guest_mem *m);

/* Pages of region i that may hold data, without touching any (a read of
 * a page the host never backed would fault in a zero page per 4 KiB:
 * most of a snapshot's or a first migration round's time for a large,
 * mostly idle guest).  For pages [first, first + n) of the region
 * (n <= GUEST_MEM_BACKED_MAX), sets bit k of bits[k / 64] when page
 * first + k may hold data and clears it when the page reads as zeros
 * because it was never backed: an anonymous region's page that is
 * neither present nor swapped in /proc/self/pagemap (pagemap_fd, opened
 * read-only by the caller; linux Documentation/admin-guide/mm/
 * pagemap.rst, bits 62 and 63).  Every bit is set for a file-backed
 * region, for pagemap_fd < 0 and when pagemap cannot be read, so callers
 * fall back to reading every page.  The answer is only as fresh as the
 * call: with vCPUs running, rely on the dirty log for later writes.
 * Thread-safe (pread only). */
#define GUEST_MEM_BACKED_MAX 512
void guest_mem_backed(const struct guest_mem *m, unsigned i, int pagemap_fd,
		      uint64_t first, unsigned n, uint64_t *bits);

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

/* ---- dirty-page log (for live migration and incremental snapshots) ----
 *
 * Writers of guest RAM report what they wrote: the engine for guest
 * stores (vmm/engine.h dirty_log_sync explains how an engine with a
 * store fast path keeps up), devices for DMA (virtqueue.c marks every
 * device-writable buffer of a chain when it is returned to the driver,
 * which is after the device wrote it), and gpa_write() for host copies. */

/* Start logging: every page clean.  Returns 0 or -ENOMEM.  Call while no
 * other thread writes guest memory (VM paused or not started). */
int guest_mem_dirty_log_start(struct guest_mem *m, struct err *errp);

/* Stop logging and free the bitmaps (same calling rule). */
void guest_mem_dirty_log_stop(struct guest_mem *m);

/* Mark the pages of [hva, hva + len) dirty if logging; host addresses
 * outside RAM are ignored.  Any thread; lock-free. */
void guest_mem_mark_dirty_hva(const struct guest_mem *m, const void *hva,
			      size_t len);

static inline bool guest_mem_logging(const struct guest_mem *m)
{
	return __atomic_load_n(&m->logging, __ATOMIC_RELAXED);
}

/* Copy region i's bitmap into out (((size >> GUEST_PAGE_SHIFT) + 63) / 64
 * words) and clear it, word by word atomically: a page written during the
 * fetch is in this copy or the next.  Returns the number of dirty pages,
 * 0 when not logging or i is out of range. */
uint64_t guest_mem_dirty_fetch(struct guest_mem *m, unsigned i,
			       uint64_t *out);

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
	if (guest_mem_logging(m))
		guest_mem_mark_dirty_hva(m, p, len);
	return 0;
}

#endif
