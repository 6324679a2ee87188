/* The RV64 interpreter as an engine (vmm/engine.h): its engine_ops table
 * and the hart-level functions behind it. */
#ifndef RINGVM_RV64_ENGINE_H
#define RINGVM_RV64_ENGINE_H

#include <stddef.h>

#include "core/err.h"
#include "hart.h"
#include "vmm/engine.h"

/* The interpreter's table; its struct vcpu is a struct rv_hart. */
extern const struct engine_ops rv64_interp_engine;

static inline struct vcpu *rv_hart_vcpu(struct rv_hart *h)
{
	return (struct vcpu *)h;
}

/* Size in bytes of the image rv_state_save() writes (version 1). */
#define RV_STATE_SIZE 1440

/* Write hart h's architectural state (cpu_state.c) to buf (len bytes).
 * Returns the bytes written, or -ENOSPC when len < RV_STATE_SIZE.  Call
 * only while h does not run. */
int rv_state_save(const struct rv_hart *h, void *buf, size_t len);

/* Load an image written by rv_state_save() for the same hartid; drops
 * h's TLB and decoded code.  Returns 0, or -EINVAL with errp naming what
 * does not match (magic, version, hart, invalid values), leaving h
 * unchanged.  Call only while h does not run. */
int rv_state_load(struct rv_hart *h, const void *buf, size_t len,
		  struct err *errp);

#endif
