/* --accel jit-verify: each translated block runs as code and then in the
 * interpreter, and both must leave the same registers, FP state, mstatus
 * and stored bytes (jit.h).  The code runs first on the real state with
 * its stores logged (the bytes they overwrite), its results are kept, and
 * registers and memory are put back; the interpreter then executes the
 * same ops up to a stop mark placed on the op where the code stopped, and
 * rv_jit_verify_check compares. */
#include "jit.h"

#include <inttypes.h>
#include <stdio.h>
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

static void regs_get(const struct rv_hart *h, struct rv_jit_vregs *r)
{
	memcpy(r->x, h->x, sizeof(r->x));
	memcpy(r->f, h->f, sizeof(r->f));
	r->mstatus = h->mstatus;
	r->fflags = h->fflags;
	r->frm = h->frm;
}

static void regs_put(struct rv_hart *h, const struct rv_jit_vregs *r)
{
	memcpy(h->x, r->x, sizeof(r->x));
	memcpy(h->f, r->f, sizeof(r->f));
	h->mstatus = r->mstatus;
	h->fflags = r->fflags;
	h->frm = r->frm;
}

RV_GUEST_MEM unsigned rv_jit_verify_run(struct rv_hart *h, struct rv_block *blk,
				       rv_jit_fn fn, uint64_t pc,
				       const struct rv_tlb *ltlb,
				       const struct rv_tlb *stlb)
{
	struct rv_jit *j = rv_cpu(h)->jit;
	regs_get(h, &j->vbefore);
	j->nvlog = 0;
	unsigned n = fn(h->x, pc, ltlb, stlb, h);
	regs_get(h, &j->vafter);
	/* Final bytes first (later stores may overlap earlier ones), then
	 * undo in reverse order so the oldest bytes end up in memory. */
	for (unsigned i = 0; i < j->nvlog; i++) {
		j->vlog[i].val = 0;
		rv_gmem_copy(&j->vlog[i].val, j->vlog[i].host, j->vlog[i].size);
	}
	for (unsigned i = j->nvlog; i-- > 0;)
		rv_gmem_copy(j->vlog[i].host, &j->vlog[i].old, j->vlog[i].size);
	regs_put(h, &j->vbefore);
	j->verified++;
	(void)blk;
	return n;
}

static int differ(uint64_t pc, unsigned n, const char *what, unsigned i,
		  uint64_t interp, uint64_t code)
{
	fprintf(stderr, "ringvm: jit-verify: block at pc 0x%" PRIx64
		" (its first %u ops): %s%u: interpreter 0x%" PRIx64
		", translated code 0x%" PRIx64 "\n",
		pc, n, what, i, interp, code);
	return -1;
}

RV_GUEST_MEM int rv_jit_verify_check(struct rv_hart *h, uint64_t pc)
{
	struct rv_jit *j = rv_cpu(h)->jit;
	struct rv_jit_vregs now;
	unsigned n = j->vn;
	regs_get(h, &now);
	for (unsigned i = 0; i < 32; i++)
		if (now.x[i] != j->vafter.x[i])
			return differ(pc, n, "x", i, now.x[i], j->vafter.x[i]);
	for (unsigned i = 0; i < 32; i++)
		if (now.f[i] != j->vafter.f[i])
			return differ(pc, n, "f", i, now.f[i], j->vafter.f[i]);
	if (now.mstatus != j->vafter.mstatus)
		return differ(pc, n, "mstatus", 0, now.mstatus, j->vafter.mstatus);
	if (now.fflags != j->vafter.fflags || now.frm != j->vafter.frm)
		return differ(pc, n, "fcsr", 0, now.fflags | now.frm << 5,
			      j->vafter.fflags | j->vafter.frm << 5);
	for (unsigned i = 0; i < j->nvlog; i++) {
		uint64_t v = 0;
		rv_gmem_copy(&v, j->vlog[i].host, j->vlog[i].size);
		if (v != j->vlog[i].val)
			return differ(pc, n, "store #", i, v, j->vlog[i].val);
	}
	return 0;
}

int rv_jit_verify_abort(struct rv_hart *h, uint64_t pc)
{
	struct rv_jit *j = rv_cpu(h)->jit;
	j->vblk->ops[j->vn].h = j->vh;
	j->vblk = NULL;
	fprintf(stderr, "ringvm: jit-verify: block at pc 0x%" PRIx64
		": the interpreter trapped in ops 0..%u, which the translated "
		"code executed without a side exit\n", pc, j->vn);
	return -1;
}

int rv_jit_verify_npc(struct rv_hart *h, uint64_t pc, uint64_t npc)
{
	struct rv_jit *j = rv_cpu(h)->jit;
	if (npc == j->vnpc)
		return 0;
	return differ(pc, j->vn + 1, "next pc", 0, npc, j->vnpc);
}

int rv_jit_verify_bad_exit(struct rv_hart *h, uint64_t pc, unsigned n,
			   unsigned nops)
{
	(void)h;
	fprintf(stderr, "ringvm: jit-verify: block at pc 0x%" PRIx64
		": translated code returned op %u of a block of %u ops\n",
		pc, n, nops);
	return -1;
}
