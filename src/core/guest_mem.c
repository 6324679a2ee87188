#include "guest_mem.h"

#include <inttypes.h>
#include <sys/mman.h>

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
	if (size > SIZE_MAX)
		return err_set(errp, ENOMEM, "cannot map %" PRIu64
			       " bytes of guest memory", size);
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
