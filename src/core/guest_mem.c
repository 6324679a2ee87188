#include "guest_mem.h"

#include <inttypes.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int guest_mem_add(struct guest_mem *m, uint64_t gpa, uint64_t size,
		  struct err *errp)
{
	if (size == 0)
		return err_set(errp, EINVAL, "guest memory size is zero");
	if (gpa + size < gpa)
		return err_set(errp, EINVAL, "guest memory range wraps");
	if (m->nr == GUEST_MEM_MAX_REGIONS)
		return err_set(errp, EINVAL, "too many guest memory regions");
	for (unsigned i = 0; i < m->nr; i++)
		if (gpa < m->r[i].gpa + m->r[i].size &&
		    m->r[i].gpa < gpa + size)
			return err_set(errp, EINVAL,
				       "guest memory regions overlap");
	/* MAP_NORESERVE would let an absurd size "succeed" and fail later
	 * at a random guest access; refuse what the host cannot back. */
	uint64_t host = (uint64_t)sysconf(_SC_PHYS_PAGES) *
			(uint64_t)sysconf(_SC_PAGE_SIZE);
	if (size > SIZE_MAX || (host && size > host))
		return err_set(errp, ENOMEM, "guest memory of %" PRIu64
			       " MiB is more than this host's %" PRIu64
			       " MiB", size >> 20, host >> 20);
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return err_set(errp, ENOMEM, "cannot map %" PRIu64
			       " MiB of guest memory on this host",
			       size >> 20);
	m->r[m->nr++] = (struct guest_mem_region){ gpa, size, p, NULL, false };
	return 0;
}

int guest_mem_move(struct guest_mem *dst, struct guest_mem *src,
		   struct err *errp)
{
	if (dst->nr != src->nr)
		return err_set(errp, EINVAL, "guest memory: %u regions, not "
			       "%u", src->nr, dst->nr);
	for (unsigned i = 0; i < src->nr; i++)
		if (dst->r[i].gpa != src->r[i].gpa ||
		    dst->r[i].size != src->r[i].size)
			return err_set(errp, EINVAL, "guest memory region %u "
				       "differs", i);
	for (unsigned i = 0; i < src->nr; i++) {
		void *p = mremap(src->r[i].hva, src->r[i].size,
				 src->r[i].size, MREMAP_MAYMOVE | MREMAP_FIXED,
				 dst->r[i].hva);
		if (p == MAP_FAILED)
			return err_sys(errp, errno, "cannot move guest memory");
		/* dst's old pages were unmapped by the move; src's range is
		 * gone: a later guest_mem_free(src) must skip it. */
		src->r[i].size = 0;
	}
	for (unsigned i = 0; i < src->nr; i++)
		free(src->r[i].dirty);
	src->nr = 0;
	return 0;
}

int guest_mem_map_file(struct guest_mem *m, unsigned i, int fd, uint64_t off,
		       struct err *errp)
{
	if (i >= m->nr)
		return err_set(errp, EINVAL, "no guest memory region %u", i);
	struct guest_mem_region *r = &m->r[i];
	uint64_t pg = (uint64_t)sysconf(_SC_PAGE_SIZE);
	struct stat st;
	if (off % pg || off > (uint64_t)INT64_MAX - r->size)
		return err_set(errp, EINVAL, "memory file offset %" PRIu64
			       " is not page aligned", off);
	if (fstat(fd, &st) < 0)
		return err_sys(errp, errno, "memory file");
	if ((uint64_t)st.st_size < off + r->size)
		return err_set(errp, EINVAL, "memory file is %" PRIu64 " bytes,"
			       " too short for %" PRIu64 " MiB of RAM at %"
			       PRIu64, (uint64_t)st.st_size, r->size >> 20,
			       off);
	void *p = mmap(r->hva, r->size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, fd, (off_t)off);
	if (p == MAP_FAILED)
		return err_sys(errp, errno, "cannot map the memory file");
	r->file_backed = true;
	return 0;
}

void guest_mem_clear(struct guest_mem *m)
{
	for (unsigned i = 0; i < m->nr; i++) {
		struct guest_mem_region *r = &m->r[i];
		if (r->file_backed &&
		    mmap(r->hva, r->size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
			 MAP_FIXED, -1, 0) != MAP_FAILED) {
			r->file_backed = false;
			continue;
		}
		if (r->file_backed ||
		    madvise(r->hva, r->size, MADV_DONTNEED) != 0)
			memset(r->hva, 0, r->size);
	}
}

void guest_mem_backed(const struct guest_mem *m, unsigned i, int pagemap_fd,
		      uint64_t first, unsigned n, uint64_t *bits)
{
	uint64_t ent[GUEST_MEM_BACKED_MAX];
	const struct guest_mem_region *r = &m->r[i];
	uint64_t pages = r->size >> GUEST_PAGE_SHIFT;
	if (n > GUEST_MEM_BACKED_MAX)
		n = GUEST_MEM_BACKED_MAX;
	if (first >= pages)
		return;
	if (n > pages - first)
		n = (unsigned)(pages - first);
	memset(bits, 0xff, (n + 63) / 64 * 8);
	uint64_t host_pg = (uint64_t)sysconf(_SC_PAGE_SIZE);
	if (pagemap_fd < 0 || r->file_backed || host_pg != GUEST_PAGE_SIZE)
		return;
	uint64_t vpn = (uint64_t)(uintptr_t)r->hva / host_pg + first;
	size_t len = (size_t)n * 8;
	if (pread(pagemap_fd, ent, len, (off_t)(vpn * 8)) != (ssize_t)len)
		return;
	for (unsigned k = 0; k < n; k++)
		if (!(ent[k] >> 62))   /* neither present (63) nor swapped (62) */
			bits[k / 64] &= ~(1ULL << (k % 64));
}

void guest_mem_free(struct guest_mem *m)
{
	guest_mem_dirty_log_stop(m);
	for (unsigned i = 0; i < m->nr; i++)
		munmap(m->r[i].hva, m->r[i].size);
	m->nr = 0;
}

static size_t bitmap_words(const struct guest_mem_region *r)
{
	return (size_t)(((r->size + GUEST_PAGE_SIZE - 1) >> GUEST_PAGE_SHIFT)
			+ 63) / 64;
}

int guest_mem_dirty_log_start(struct guest_mem *m, struct err *errp)
{
	if (m->logging)
		return 0;
	for (unsigned i = 0; i < m->nr; i++) {
		m->r[i].dirty = calloc(bitmap_words(&m->r[i]), 8);
		if (!m->r[i].dirty) {
			guest_mem_dirty_log_stop(m);
			return err_set(errp, ENOMEM, "no memory for the dirty "
				       "page bitmap");
		}
	}
	__atomic_fetch_add(&m->dirty_fetches, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&m->logging, 1, __ATOMIC_RELEASE);
	return 0;
}

void guest_mem_dirty_log_stop(struct guest_mem *m)
{
	__atomic_store_n(&m->logging, 0, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < m->nr; i++) {
		free(m->r[i].dirty);
		m->r[i].dirty = NULL;
	}
}

void guest_mem_mark_dirty_hva(const struct guest_mem *m, const void *hva,
			      size_t len)
{
	if (!guest_mem_logging(m) || len == 0)
		return;
	const uint8_t *p = hva;
	for (unsigned i = 0; i < m->nr; i++) {
		const struct guest_mem_region *r = &m->r[i];
		if (p < r->hva || p >= r->hva + r->size || !r->dirty)
			continue;
		uint64_t off = (uint64_t)(p - r->hva);
		uint64_t end = len > r->size - off ? r->size : off + len;
		for (uint64_t pg = off >> GUEST_PAGE_SHIFT;
		     pg <= (end - 1) >> GUEST_PAGE_SHIFT; pg++) {
			uint64_t bit = 1ULL << (pg % 64);
			uint64_t *w = &r->dirty[pg / 64];
			/* Test first: re-dirtying a page is the common case
			 * and a read does not bounce the cache line. */
			if (!(__atomic_load_n(w, __ATOMIC_RELAXED) & bit))
				__atomic_fetch_or(w, bit, __ATOMIC_RELAXED);
		}
		return;
	}
}

uint64_t guest_mem_dirty_fetch(struct guest_mem *m, unsigned i,
			       uint64_t *out)
{
	if (i >= m->nr || !guest_mem_logging(m) || !m->r[i].dirty)
		return 0;
	uint64_t n = 0;
	size_t words = bitmap_words(&m->r[i]);
	__atomic_fetch_add(&m->dirty_fetches, 1, __ATOMIC_RELAXED);
	for (size_t k = 0; k < words; k++) {
		out[k] = __atomic_exchange_n(&m->r[i].dirty[k], 0,
					     __ATOMIC_ACQ_REL);
		n += (uint64_t)__builtin_popcountll(out[k]);
	}
	return n;
}
