/* Binary translation for the RV64 engine: decoded blocks (cpu_block.c)
 * become x86-64 host code.  The interpreter stays the reference: it
 * decides when a block is hot, calls the translation, and executes
 * everything translated code leaves to it.
 *
 * The contract between the interpreter (cpu_exec.c) and translated code
 * ("body translation"):
 *  - The interpreter and the code exchange state through the hart's
 *    struct rv_jit_frame (rv_cpu.jf): before the call the interpreter
 *    sets jf.blk (the block entered), jf.pc (its entry pc) and jf.left
 *    (the budget, with blk already charged); after the return it takes
 *    all three back, since the code may have run on into other blocks.
 *  - A block's code executes a prefix of the block's ops, ops[0..n), on
 *    the hart's registers and guest RAM, and returns n < nops ("side
 *    exit"): the interpreter continues at ops[n] of jf.blk (entered at
 *    jf.pc) exactly as if it had executed ops[0..n) itself (same
 *    registers, same memory, same TLB).  ops[n] is an op the translator
 *    does not handle, or a load/store whose soft-TLB lookup missed (or an
 *    FP op whose helper reported an exception).  So translated code
 *    never raises an exception, takes an interrupt, calls a device or
 *    changes privilege, translation or the TLB: every slow path, trap and
 *    precise-state rebuild stays in the interpreter, in one place.
 *  - Terminators (branches, jal/j, jalr/jr, a block's plain end) are
 *    translated too: the code writes rd, computes the next pc and then
 *    either chains or returns RV_JIT_TERM + k with the next pc in
 *    jf.npc; k is the link (succ[k]) the interpreter's handler would have
 *    followed, and the interpreter does exactly what that handler does
 *    after computing the pc (its CHAIN: budget check, link, lookup).
 *  - Chaining (RV_ACCEL_JIT only): at a terminator the code jumps
 *    straight into the successor's code when the interpreter's CHAIN
 *    would enter that successor (jf.left > 0; succ[k] set; same page
 *    under RV_BLK_SAME_PAGE0/1 or the fetch-TLB check; its epoch is
 *    c->code_epoch), it is translated and no kick is pending (h->kick).
 *    The jump is a tail call: the successor returns to the interpreter.
 *    Before it the code charges the successor's ninsn to jf.left and
 *    sets jf.blk and jf.pc.  Links are only read from the block's own
 *    succ[] (written by the interpreter), never kept as raw code
 *    pointers, so a dropped block (epoch RV_EPOCH_DEAD) or one of an
 *    older epoch is never entered, and after rv_block_flush_all no code
 *    of the old buffer runs: blocks and code are thrown away together.
 *  - A branch back to the block's own start loops inside the code after
 *    the same budget and kick checks (and charge) as chaining to itself.
 *  - Indirect jumps (jalr/jr): the candidate is the hart's indirect-jump
 *    cache entry for the target pc (rv_cpu.ijc, filled by the
 *    interpreter's lookup, cleared by rv_block_flush_all) when it holds
 *    that pc, else succ[0]; either is checked like a link from another
 *    page (fetch TLB, key, epoch, code) before it is entered.
 *  - Budget and instret: the interpreter charges a block when it enters
 *    it, translated code when it chains into it; so jf.left, and the
 *    instret derived from it, are exactly the interpreter's.
 *  - Stores go through the store TLB only, which never maps a page that
 *    holds decoded code (cpu_block.c): a store to code misses and exits,
 *    so translated code never overwrites code, its own or another block's,
 *    while running.  Translated code is never state (snapshots, migration):
 *    a restored hart retranslates.
 *  - Lifetime: code belongs to its block.  Dropping blocks (page
 *    invalidation, fence.i revalidation failing) orphans their code, which
 *    is reclaimed when the whole cache is flushed (rv_block_flush_all ->
 *    rv_jit_reset), e.g. when the code buffer is full.
 *  - W^X: code is written through a read-write mapping and executed
 *    through a second, read-execute mapping of the same memfd pages; no
 *    page is ever writable and executable in one mapping.
 *  - Threads: every struct rv_jit belongs to one hart and is used only on
 *    that hart's thread (like the block cache).
 *
 * --accel jit-verify ("lockstep"): every translated block runs twice,
 * first as code (stores logged with the bytes they overwrote), then,
 * after registers and memory are put back, in the interpreter up to the
 * same op (or through the terminator, when the code executed it);
 * registers, FP state, the stored bytes and the next pc must be equal, or
 * the run ends with an error naming the block and the difference.  Code
 * translated for jit-verify never chains (each block is checked on its
 * own).  Only meaningful with one hart (another hart's stores in between
 * would differ).
 */
#ifndef RINGVM_RV64_JIT_H
#define RINGVM_RV64_JIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../../core/err.h"

struct rv_hart;
struct rv_block;
struct rv_tlb;

/* How the engine executes guest code (`--accel`). */
enum rv_accel {
	RV_ACCEL_INTERP = 0,   /* the interpreter only */
	RV_ACCEL_JIT,          /* translate hot blocks */
	RV_ACCEL_JIT_VERIFY,   /* translate every block, check in lockstep */
};

/* What `ringvm run`/`exec` use when --accel is not given: translation
 * where the translator's target is the host. */
#if defined(__x86_64__)
#define RV_ACCEL_DEFAULT RV_ACCEL_JIT
#else
#define RV_ACCEL_DEFAULT RV_ACCEL_INTERP
#endif

/* Parse an --accel value: "interp", "jit" or "jit-verify", the JIT ones
 * optionally followed by ",tb-size=N" (the code buffer per hart in MiB,
 * 1..2048, as QEMU's -accel tcg,tb-size).  Sets *out and *code_bytes
 * (0: RV_JIT_CODE_BYTES); returns 0 or -EINVAL. */
int rv_accel_parse(const char *s, enum rv_accel *out, size_t *code_bytes);
const char *rv_accel_name(enum rv_accel a);

/* Translated code of one block.  x: the hart's x[32] (h->x: the code
 * reaches h->kick and rv_cpu(h) relative to it); pc: virtual
 * address at which the block was entered (AUIPC; a block is shared by
 * all virtual aliases of its code); ltlb/stlb: the current load and store
 * TLB sets; h: the hart (for helper calls, and rv_cpu(h)->jf).  Returns
 * n < jf.blk->nops, the index of the first op not executed, or
 * RV_JIT_TERM + k after a terminator (see above). */
typedef unsigned (*rv_jit_fn)(uint64_t *x, uint64_t pc,
			      const struct rv_tlb *ltlb,
			      const struct rv_tlb *stlb, struct rv_hart *h);

/* Every block's code starts with the same entry: it saves the host's
 * callee-saved registers and puts the arguments in one fixed frame; the
 * code RV_JIT_CHAIN_ENTRY bytes in expects that frame already built
 * (with x in rdi), which is how chaining enters a successor: a jump, no
 * second frame. */
#define RV_JIT_CHAIN_ENTRY 33u

/* Returned by code that executed its block's terminator: + k (0 or 1),
 * the successor link; the next pc is in rv_jit_frame.npc. */
#define RV_JIT_TERM 0x10000u

/* Interpreter <-> code exchange area, one per hart (rv_cpu.jf); see the
 * contract above.  Only the hart's thread touches it. */
struct rv_jit_frame {
	struct rv_block *blk;  /* block whose code ran last */
	uint64_t pc;           /* vaddr at which blk was entered */
	uint64_t npc;          /* next pc after a terminator (RV_JIT_TERM) */
	int64_t left;          /* budget left (blk already charged) */
};

/* Indirect-jump cache, one per hart (rv_cpu.ijc): the block last looked
 * up at each pc, so that jalr/jr in translated code can chain to any
 * recent target, not only the one its succ[0] link remembers.  A hint:
 * the code checks an entry exactly like a link (fetch TLB, key, epoch,
 * code).  Filled by the interpreter's lookup; cleared with the block
 * cache (rv_block_flush_all), so it never points into blocks of an older
 * arena generation. */
#define RV_JIT_IJC_BITS 8
struct rv_jit_ijc {
	uint64_t pc;               /* vaddr of blk (blk NULL: empty) */
	struct rv_block *blk;
};
static inline unsigned rv_jit_ijc_slot(uint64_t pc)
{
	return (unsigned)(pc >> 1) & ((1u << RV_JIT_IJC_BITS) - 1);
}

/* Code buffer per hart (bytes of host code; the block cache's arena is
 * 32 MiB of decoded ops). */
#define RV_JIT_CODE_BYTES (32u << 20)

/* Blocks entered this many times are translated (jit-verify: every block
 * on its first entry). */
#define RV_JIT_HOT 16

/* jit-verify store log: one entry per store executed by translated code. */
#define RV_JIT_VLOG_MAX 256   /* > stores in a block (RV_BLOCK_MAX_INSNS) */
struct rv_jit_vstore {
	uint8_t *host;      /* host address stored to */
	uint8_t size;       /* 1, 2, 4 or 8 bytes */
	uint64_t old;       /* the bytes it overwrote (low `size` bytes) */
	uint64_t val;       /* the bytes stored (filled after the block ran) */
};

/* Per-hart translator state. */
struct rv_jit {
	enum rv_accel mode;
	/* Code buffer: one memfd mapped twice (rw for writing, rx for
	 * running), size bytes, bump-allocated from `used`. */
	uint8_t *rw, *rx;
	size_t size, used;
	bool full;                 /* a translation did not fit */
	bool off;                  /* translate nothing (rv_jit_unshare failed) */
	/* Statistics (for --stats and tests). */
	uint64_t blocks, bytes, flushes, verified;
	uint64_t calls;            /* calls into code from the interpreter */
	/* jit-verify (jit_verify.c). */
	struct rv_jit_vstore vlog[RV_JIT_VLOG_MAX];
	unsigned nvlog;
	struct rv_jit_vregs {
		uint64_t x[32], f[32], mstatus;
		uint32_t fflags, frm;
	} vbefore, vafter;
	/* The block being replayed by the interpreter, and its op vn whose
	 * handler was replaced by the replay's stop mark (vh: the real one). */
	struct rv_block *vblk;
	unsigned vn;
	const void *vh;
	/* The code executed the terminator (vn is the terminator's index):
	 * the replay runs it too and compares its next pc with vnpc. */
	bool vterm;
	unsigned vk;
	uint64_t vnpc;
	/* Translator's private data (e.g. a handler -> opcode map); owned
	 * by jit/translate.c: made by rv_jit_translator_new, freed by
	 * rv_jit_translator_free. */
	void *tr;
};

/* ---- jit_mem.c: the code buffer ---- */

/* Make a translator for a hart: mode (not RV_ACCEL_INTERP), a code
 * buffer of code_bytes (rounded up to pages; memfd, mapped rw and rx).
 * labels: the interpreter's handler of each enum rv_opc
 * (rv_exec_labels()), which translate.c maps back to opcodes.
 * Returns 0 with *out set, or -errno (ENOMEM, EMFILE...) with errp set.
 * Call before the process enters its seccomp sandbox. */
int rv_jit_new(enum rv_accel mode, size_t code_bytes,
	       const void *const *labels, struct rv_jit **out,
	       struct err *errp);
void rv_jit_free(struct rv_jit *j);

/* Forget every translation (the block cache was flushed).  Owner thread. */
void rv_jit_reset(struct rv_jit *j);

/* In a child of a host fork(): the code buffer's memfd is shared with the
 * parent, whose translations would land in the same pages; give j a
 * fresh buffer (the old one is unmapped, so every block's code must have
 * been dropped first: rv_hart_after_fork).  Returns 0, or -errno with
 * errp set, and then j translates nothing more (j->off). */
int rv_jit_unshare(struct rv_jit *j, struct err *errp);

/* Room to emit into: returns the rw address of the next free byte and in
 * *avail how many bytes may be written there (0: full). */
uint8_t *rv_jit_code_begin(struct rv_jit *j, size_t *avail);
/* Keep `len` bytes emitted at the address rv_jit_code_begin returned and
 * return the rx address that runs them (16-byte aligned start). */
void *rv_jit_code_commit(struct rv_jit *j, size_t len);

/* ---- translate.c: the translator ---- */

/* Translator private data for rv_jit.tr (labels as for rv_jit_new).
 * Returns NULL on allocation failure. */
void *rv_jit_translator_new(const void *const *labels, enum rv_accel mode);
void rv_jit_translator_free(void *tr);

/* Translate blk (not the scratch block) into code for rv_jit_fn.
 * Returns the entry point (rx address), or NULL when nothing at the start
 * of the block is translatable (ops[0] is handled by the interpreter), or
 * when the buffer is full (then j->full is set; the caller flushes the
 * whole cache and retries later).  In RV_ACCEL_JIT_VERIFY mode every
 * store first calls rv_jit_vlog_store().  Owner thread. */
rv_jit_fn rv_jit_translate(struct rv_jit *j, const struct rv_block *blk);

/* ---- jit_verify.c ---- */

/* Lockstep, first half (interpreter, owner thread): run fn for blk
 * entered at pc, record its results (registers, FP state, mstatus, the
 * stored bytes), then put registers and memory back as they were.
 * Returns what fn returned. */
unsigned rv_jit_verify_run(struct rv_hart *h, struct rv_block *blk,
			   rv_jit_fn fn, uint64_t pc,
			   const struct rv_tlb *ltlb, const struct rv_tlb *stlb);
/* Second half, after the interpreter executed the same ops: returns 0
 * when its results equal the recorded ones, else -1 after printing the
 * first difference on stderr (block pc, op index, register). */
int rv_jit_verify_check(struct rv_hart *h, uint64_t pc);
/* After the replay of a terminator: 0 when the interpreter's next pc
 * equals the code's (jit->vnpc), else -1 after printing both. */
int rv_jit_verify_npc(struct rv_hart *h, uint64_t pc, uint64_t npc);
/* The code returned n >= nops (no such op): report; returns -1. */
int rv_jit_verify_bad_exit(struct rv_hart *h, uint64_t pc, unsigned n,
			   unsigned nops);
/* The interpreter left the replayed block before the stop mark (it
 * trapped in an op the code executed): restore the block's op and
 * report.  Always a mismatch; returns -1. */
int rv_jit_verify_abort(struct rv_hart *h, uint64_t pc);

/* Called by translated code (verify mode) before it stores `size` bytes
 * at host address `host`: records the bytes about to be overwritten. */
void rv_jit_vlog_store(struct rv_hart *h, uint8_t *host, unsigned size);

#endif
