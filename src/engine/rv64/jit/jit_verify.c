/* --accel jit-verify: the store log of translated code (jit.h). */
#include "jit.h"

#include <string.h>

#include "../cpu_internal.h"

void rv_jit_vlog_store(struct rv_hart *h, uint8_t *host, unsigned size)
{
	struct rv_jit *j = rv_cpu(h)->jit;
	if (j->nvlog >= RV_JIT_VLOG_MAX)
		return;   /* cannot happen: fewer stores than ops in a block */
	struct rv_jit_vstore *s = &j->vlog[j->nvlog++];
	s->host = host;
	s->size = (uint8_t)size;
	s->old = 0;
	rv_gmem_copy(&s->old, host, size);
}
