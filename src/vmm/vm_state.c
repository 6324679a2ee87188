/* Machine state save/load (vm.h).  Placeholder until the persist work
 * lands: every call reports that state is not supported yet. */
#include "vm.h"

#include "core/state.h"

int vm_save_state(struct vm *vm, struct state_writer *w, struct err *errp)
{
	(void)vm;
	(void)w;
	return err_set(errp, ENOSYS, "saving VM state is not supported yet");
}

int vm_load_state(struct vm *vm, struct state_reader *r, struct err *errp)
{
	(void)vm;
	(void)r;
	return err_set(errp, ENOSYS, "loading VM state is not supported yet");
}

int vm_config_from_state(struct state_reader *r, struct vm_config *cfg,
			 void **storage, struct err *errp)
{
	(void)r;
	(void)cfg;
	*storage = NULL;
	return err_set(errp, ENOSYS, "loading VM state is not supported yet");
}
