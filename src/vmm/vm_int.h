/* The VM handle's parts that vm_state.c (machine state save/load) and
 * api.c (the control socket's `status`) need; not for other users of
 * vm.h. */
#ifndef RINGVM_VMM_VM_INT_H
#define RINGVM_VMM_VM_INT_H

#include <stdbool.h>

#include "vm.h"

struct virt_board;

/* The VM's board and its configuration (as completed by the board). */
struct virt_board *vm_board(struct vm *vm);
const struct vm_config *vm_cfg(const struct vm *vm);

/* Whether no vCPU runs and no device works: the VM is paused (every
 * thread parked) or not started.  *started: whether vm_start was
 * called.  Any thread. */
bool vm_quiet(struct vm *vm, bool *started);

#endif
