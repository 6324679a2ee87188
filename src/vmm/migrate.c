/* Live migration (migrate.h).  Placeholder until the migration work
 * lands. */
#include "migrate.h"

#include <string.h>

int migrate_start(struct vm *vm, const struct migrate_opts *o,
		  migrate_event_fn *on_event, void *opaque,
		  struct migration **out, struct err *errp)
{
	(void)vm; (void)o; (void)on_event; (void)opaque;
	*out = NULL;
	return err_set(errp, ENOSYS, "live migration is not supported yet");
}

void migrate_status(struct migration *m, struct migrate_status *st)
{
	(void)m;
	memset(st, 0, sizeof(*st));
}

void migrate_cancel(struct migration *m) { (void)m; }
void migrate_free(struct migration *m) { (void)m; }

int migrate_incoming(const char *uri, struct vm_config *cfg,
		     vm_event_fn *on_event, void *opaque, struct vm **out,
		     void **storage, struct err *errp)
{
	(void)uri; (void)cfg; (void)on_event; (void)opaque; (void)out;
	*storage = NULL;
	return err_set(errp, ENOSYS, "live migration is not supported yet");
}
