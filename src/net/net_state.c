/* Network backend state (net.h): dispatch to the backends that have any. */
#include "net.h"

#include "core/state.h"

int net_backend_save(struct net_backend *nb, const char *name,
		     struct state_writer *w, struct err *errp)
{
	if (!nb->ops->state_save)
		return 0;
	return nb->ops->state_save(nb, name, w, errp);
}

int net_backend_check(struct net_backend *nb, struct state_reader *r,
		      const char *name, struct err *errp)
{
	if (!nb->ops->state_check || !state_has(r, name))
		return 0;
	return nb->ops->state_check(nb, r, name, errp);
}

void net_backend_load(struct net_backend *nb, struct state_reader *r,
		      const char *name)
{
	if (nb->ops->state_load && state_has(r, name))
		nb->ops->state_load(nb, r, name);
}
