/* The engine interface: how vmm/ drives a CPU engine's vCPUs without
 * knowing what a vCPU is.  The RV64 interpreter is the first engine
 * (engine/rv64/engine.c); a JIT or a KVM engine provides the same table.
 *
 * A vCPU is created by the board (which wires it to its interrupt
 * controllers and firmware) and runs on a host thread the VM handle
 * (vmm/vm.c) owns, one thread per vCPU.  vmm/ only ever calls these
 * functions; it never reads or writes an engine's vCPU fields.
 *
 * Threading: vcpu_run is called only on the vCPU's own thread;
 * vcpu_kick from any thread; vcpu_instret, vcpu_save and vcpu_load only
 * while the vCPU's thread is outside vcpu_run (the VM is paused or not
 * started). */
#ifndef RINGVM_VMM_ENGINE_H
#define RINGVM_VMM_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct vcpu;  /* an engine's vCPU, opaque to vmm/ */

struct engine_ops {
	const char *name;  /* "interp" */

	/* Run the vCPU on the calling thread until vcpu_kick() (a kick
	 * that came before the call is consumed and makes it return at
	 * once) or the machine asks to stop (power-off, reboot, Ctrl-A x:
	 * the board's exit hook has then been called).  Sleeps, without
	 * spinning, while the guest waits for an interrupt or the vCPU is
	 * stopped.  Returns at an instruction boundary. */
	void (*vcpu_run)(struct vcpu *v);

	/* Make vcpu_run() return promptly; wakes a sleeping vCPU.  Any
	 * thread; never blocks. */
	void (*vcpu_kick)(struct vcpu *v);

	/* Power-on state (the board then hands the boot vCPU its entry):
	 * registers and CSRs as after reset, stopped, caches dropped.  Only
	 * while the vCPU does not run. */
	void (*vcpu_reset)(struct vcpu *v);

	/* Instructions the vCPU has retired since power-on (statistics). */
	uint64_t (*vcpu_instret)(const struct vcpu *v);

	/* Architectural state for save/load (snapshots, migration): a
	 * versioned, self-describing byte image of at most state_size bytes.
	 * vcpu_save writes it to buf (len >= state_size) and returns the
	 * number of bytes written; vcpu_load accepts only an image of the
	 * same engine family and version, else -EINVAL with errp naming the
	 * difference.  Decoded-code caches and TLBs are not state. */
	size_t state_size;
	int (*vcpu_save)(const struct vcpu *v, void *buf, size_t len);
	int (*vcpu_load)(struct vcpu *v, const void *buf, size_t len,
			 struct err *errp);

	/* The dirty-page log (core/guest_mem.h): an engine reports each page
	 * its guest stores go to, at least once after every call of
	 * dirty_log_sync — an engine with a store fast path (a TLB, or
	 * KVM's write-protected pages) marks on the slow path that arms the
	 * fast one, and dirty_log_sync disarms it.  Call it for every vCPU
	 * after guest_mem_dirty_log_start() and after each
	 * guest_mem_dirty_fetch(), while the vCPU does not run. */
	void (*dirty_log_sync)(struct vcpu *v);
};

#endif
