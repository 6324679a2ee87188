#include "guest_mem.h"

#include <inttypes.h>
#include <sys/mman.h>
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
	m->r[m->nr++] = (struct guest_mem_region){ gpa, size, p };
	return 0;
}

void guest_mem_free(struct guest_mem *m)
{
	for (unsigned i = 0; i < m->nr; i++)
		munmap(m->r[i].hva, m->r[i].size);
	m->nr = 0;
}
