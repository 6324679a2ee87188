/* The RV64 interpreter behind the engine interface (vmm/engine.h). */
#include "engine.h"

static void vcpu_run(struct vcpu *v)
{
	rv_vcpu_run((struct rv_hart *)v);
}

static void vcpu_kick(struct vcpu *v)
{
	rv_vcpu_kick((struct rv_hart *)v);
}

static void vcpu_reset(struct vcpu *v)
{
	struct rv_hart *h = (struct rv_hart *)v;
	rv_hart_reset(h, 0, RV_PRIV_M, 0);
	rv_hart_set_state(h, RV_HART_STOPPED);
}

static uint64_t vcpu_instret(const struct vcpu *v)
{
	return ((const struct rv_hart *)v)->instret;
}

static int vcpu_save(const struct vcpu *v, void *buf, size_t len)
{
	return rv_state_save((const struct rv_hart *)v, buf, len);
}

static int vcpu_load(struct vcpu *v, const void *buf, size_t len,
		     struct err *errp)
{
	return rv_state_load((struct rv_hart *)v, buf, len, errp);
}

static void dirty_log_sync(struct vcpu *v)
{
	/* Store-TLB entries are the interpreter's store fast path. */
	rv_hart_flush_tlb((struct rv_hart *)v);
}

const struct engine_ops rv64_interp_engine = {
	.name = "interp",
	.vcpu_run = vcpu_run,
	.vcpu_kick = vcpu_kick,
	.vcpu_reset = vcpu_reset,
	.vcpu_instret = vcpu_instret,
	.state_size = RV_STATE_SIZE,
	.vcpu_save = vcpu_save,
	.vcpu_load = vcpu_load,
	.dirty_log_sync = dirty_log_sync,
};
