/* Tuning knobs of the translator (translate.c) beyond the jit.h contract;
 * for tests and measurements. */
#ifndef RINGVM_RV64_JIT_TRANSLATE_H
#define RINGVM_RV64_JIT_TRANSLATE_H

/* In RV_ACCEL_JIT mode a block whose translatable prefix ends in a side
 * exit and has fewer ops than this gets no code: entering and leaving
 * translated code costs about what the interpreter spends on two simple
 * ops.  A block translated through its terminator always gets code, however
 * short (a lone `ret`): it chains, and a missing link in a chain sends
 * every pass back through the interpreter (jit-verify translates every
 * prefix, to check them all). */
#define RV_JIT_MIN_OPS 3

/* Set that minimum for translator tr (rv_jit.tr) to n >= 1 ops.  Owner
 * thread of the translator. */
void rv_jit_set_min_ops(void *tr, unsigned n);

#endif
