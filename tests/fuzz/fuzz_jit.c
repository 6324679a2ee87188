/* libFuzzer target: the RV64 -> x86-64 translator on arbitrary guest code
 * (the guest writes the instructions it runs, so the translator's input
 * is hostile).  The input is 32 register values then instruction bytes;
 * they are decoded into a block by the real block cache, translated, and
 * the code is run.
 *
 * Invariants: translation never crashes; the code returns an op index
 * inside the block or, having run the terminator, RV_JIT_TERM + 0 or 1;
 * and the state it leaves (x and f registers, fflags, mstatus, a data
 * page) equals the interpreter's after running exactly the instructions
 * before that op (or the whole block, and then the next pc must be the
 * interpreter's too), which must not trap (jit.h: the interpreter
 * continues at ops[n] as if it had run ops[0..n) itself).  Nothing is
 * linked, so the code never chains here. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board/virt/memmap.h"
#include "engine/rv64/cpu_internal.h"
#include "engine/rv64/jit/translate.h"

#define CHECK(cond) do {                                                 \
	if (!(cond)) {                                                   \
		fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond,  \
			__FILE__, __LINE__);                             \
		abort();                                                 \
	}                                                                \
} while (0)

#define RAM_SIZE (1ULL << 20)
#define CODE (RV_RAM_BASE + 0x1000)
#define DATA (RV_RAM_BASE + 0x10000)
#define MAX_CODE 256u   /* bytes: a block covers at most 64 * 4 */

struct fx {
	struct rv_machine m;
	struct rv_hart *h;
	struct rv_jit *j[2];   /* jit, jit-verify */
	uint8_t *code, *data;
};

struct snap {
	uint64_t x[32], f[32], mstatus;
	uint32_t fflags;
	uint8_t data[RV_PAGE_SIZE];
};

/* One machine for the whole run: a hart costs tens of MiB to make. */
static struct fx *fixture(void)
{
	static struct fx *f;
	if (f)
		return f;
	struct err e = { 0 };
	f = calloc(1, sizeof(*f));
	CHECK(f);
	CHECK(guest_mem_add(&f->m.mem, RV_RAM_BASE, RAM_SIZE, &e) == 0);
	f->h = rv_hart_new(&f->m, 0, &e);
	CHECK(f->h);
	f->m.harts[0] = f->h;
	f->m.nharts = 1;
	CHECK(rv_jit_new(RV_ACCEL_JIT, 4u << 20, rv_exec_labels(), &f->j[0],
			 &e) == 0);
	CHECK(rv_jit_new(RV_ACCEL_JIT_VERIFY, 4u << 20, rv_exec_labels(),
			 &f->j[1], &e) == 0);
	rv_jit_set_min_ops(f->j[0]->tr, 1);
	f->code = gpa_ptr(&f->m.mem, CODE, MAX_CODE + 8);
	f->data = gpa_ptr(&f->m.mem, DATA, RV_PAGE_SIZE);
	CHECK(f->code && f->data);
	return f;
}

static void take(struct fx *f, struct snap *s)
{
	memcpy(s->x, f->h->x, sizeof(s->x));
	memcpy(s->f, f->h->f, sizeof(s->f));
	s->mstatus = f->h->mstatus;
	s->fflags = f->h->fflags;
	memcpy(s->data, f->data, RV_PAGE_SIZE);
}

static void put(struct fx *f, const struct snap *s)
{
	memcpy(f->h->x, s->x, sizeof(s->x));
	memcpy(f->h->f, s->f, sizeof(s->f));
	f->h->mstatus = s->mstatus;
	f->h->fflags = s->fflags;
	memcpy(f->data, s->data, RV_PAGE_SIZE);
}

/* len bytes of code (code has len + 8) then "j .", decoded afresh. */
static struct rv_block *load(struct fx *f, const uint8_t *code, size_t len)
{
	static const uint8_t spin[4] = { 0x6f, 0, 0, 0 };
	memcpy(f->code, code, MAX_CODE + 8);
	memcpy(f->code + len, spin, 4);
	rv_block_invalidate_page(f->h, (uintptr_t)f->code >> RV_PAGE_SHIFT);
	f->h->pc = CODE;
	return rv_block_lookup(f->h, CODE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fx *f = fixture();
	struct rv_hart *h = f->h;
	if (size < 8)
		return 0;
	uint8_t flags = data[0];
	data++;
	size--;
	/* Registers: pseudo-random from the input (edge values mixed in),
	 * or its first 31 words; some point into the data page so that
	 * loads and stores hit the TLB. */
	rv_hart_reset(h, CODE, RV_PRIV_M, 0);
	h->mstatus |= (flags & 1) ? 0 : MSTATUS_FS_INITIAL;
	h->frm = (flags >> 1) & 7;
	static const uint64_t edges[] = {
		0, 1, ~0ULL, 1ULL << 63, (1ULL << 63) - 1, 0xffffffff80000000ULL,
		0x7fffffff, 0xffffffff, 0x80000000, 31, 32, 63,
	};
	uint64_t seed = 0x9e3779b97f4a7c15ULL ^ size;
	for (size_t i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 0x100000001b3ULL;
	for (unsigned i = 1; i < 32; i++) {
		seed ^= seed >> 12;
		seed ^= seed << 25;
		seed ^= seed >> 27;
		uint64_t v = seed * 0x2545F4914F6CDD1DULL;
		h->x[i] = (v & 3) == 0 ? edges[(v >> 8) % 12] : v;
	}
	for (unsigned i = 1; i < 32 && size >= 8 && (flags & 0x10); i++) {
		memcpy(&h->x[i], data, 8);
		data += 8;
		size -= 8;
	}
	for (unsigned i = 1; i < 32; i += 4)
		h->x[i] = DATA + (h->x[i] & 0x7ff) + 0x400;
	for (unsigned i = 0; i < 32; i++)
		h->f[i] = h->x[i] * 0x9e3779b97f4a7c15ULL;
	for (unsigned i = 0; i < RV_PAGE_SIZE; i++)
		f->data[i] = (uint8_t)(i * 7 + flags);
	size_t len = size < MAX_CODE ? size : MAX_CODE;
	len &= ~(size_t)1;
	if (len == 0)
		return 0;
	/* Both TLBs map the data page (as after a first access). */
	uint8_t *host;
	CHECK(rv_tlb_refill(h, DATA, 8, RV_ACC_LOAD, &host) == 0);
	CHECK(rv_tlb_refill(h, DATA, 8, RV_ACC_STORE, &host) == 0);

	/* The code as the translation sees it: the input, "j .", zeros
	 * (an instruction may straddle the end of the input). */
	uint8_t prog[MAX_CODE + 8] = { 0 };
	memcpy(prog, data, len);
	if (flags & 0x40) {
		/* Mostly valid code: each word gets a major opcode the
		 * translator handles. */
		static const uint8_t major[] = { 0x13, 0x33, 0x1b, 0x3b, 0x03,
						 0x23, 0x37, 0x17, 0x07, 0x27,
						 0x53, 0x13, 0x33, 0x3b, 0x0f,
						 0x03 };
		for (size_t i = 0; i + 4 <= len; i += 4)
			prog[i] = (uint8_t)((prog[i] & 0x80) |
					    major[prog[i + 1] & 15]);
	}
	prog[len] = 0x6f;
	struct rv_block *b = load(f, prog, len);
	CHECK(b);
	struct rv_jit *j = f->j[(flags >> 5) & 1];
	if (j->used > j->size / 2)
		rv_jit_reset(j);
	j->nvlog = 0;
	rv_jit_fn fn = rv_jit_translate(j, b);
	if (!fn)
		return 0;
	struct snap s0, sj, si;
	take(f, &s0);
	struct rv_cpu *c = rv_cpu(h);
	c->jit = j;   /* for rv_jit_vlog_store */
	c->jf.left = 0;
	unsigned r = fn(h->x, CODE, c->ltlb, c->stlb, h);
	c->jit = NULL;
	bool term = r >= RV_JIT_TERM;
	CHECK(term ? r - RV_JIT_TERM <= 1 : r < b->nops);
	CHECK(h->x[0] == 0);
	take(f, &sj);
	uint64_t npc = c->jf.npc;

	put(f, &s0);
	if (term) {
		/* The interpreter on the whole block: it stops at the next
		 * block (budget 1). */
		load(f, prog, len);
		h->pc = CODE;
		rv_hart_run(h, 1);
		CHECK(h->pc == npc);
	} else {
		/* The interpreter on the instructions before ops[r]. */
		unsigned stop = b->ops[r].pc_off;
		CHECK(stop <= MAX_CODE);
		load(f, prog, stop);
		h->pc = CODE;
		rv_hart_run(h, 1);
		CHECK(h->pc == CODE + stop);
	}
	take(f, &si);
	CHECK(!memcmp(sj.x, si.x, sizeof(si.x)));
	CHECK(!memcmp(sj.f, si.f, sizeof(si.f)));
	CHECK(sj.mstatus == si.mstatus && sj.fflags == si.fflags);
	CHECK(!memcmp(sj.data, si.data, sizeof(si.data)));
	return 0;
}
