/* Placeholder: the translator (helper h-jit replaces this file). */
#include "jit.h"

#include <stdlib.h>

void *rv_jit_translator_new(const void *const *labels, enum rv_accel mode)
{
	(void)labels;
	(void)mode;
	return calloc(1, 1);
}

void rv_jit_translator_free(void *tr)
{
	free(tr);
}

rv_jit_fn rv_jit_translate(struct rv_jit *j, const struct rv_block *blk)
{
	(void)j;
	(void)blk;
	return NULL;
}
