/* net_backend_open(): split "KIND[,OPTS]" and dispatch. */
#include <string.h>

#include "net_internal.h"
#include "switch_port.h"

/* The switch backend lives in switch_port.c (another part of the tree);
 * weak so that a build without it still links and says so. */
#pragma weak switch_port_open

int net_backend_open(const char *spec, struct evloop *loop,
		     struct net_backend **out, struct err *errp)
{
	*out = NULL;
	if (!spec || !*spec)
		return err_set(errp, EINVAL, "--net: empty spec (expected "
			       "user, tap or switch)");
	const char *comma = strchr(spec, ',');
	size_t klen = comma ? (size_t)(comma - spec) : strlen(spec);
	const char *opts = comma ? comma + 1 : "";
	int rc;

	if (klen == 4 && !strncmp(spec, "user", 4)) {
		rc = net_user_open(opts, loop, out, errp);
	} else if (klen == 3 && !strncmp(spec, "tap", 3)) {
		rc = net_tap_open(opts, loop, out, errp);
	} else if (klen == 6 && !strncmp(spec, "switch", 6)) {
		if (!switch_port_open)
			return err_set(errp, ENOSYS, "--net switch: this "
				       "build has no switch backend");
		rc = switch_port_open(opts, loop, out, errp);
	} else {
		return err_set(errp, EINVAL, "--net: unknown kind `%.*s` "
			       "(expected user, tap or switch)", (int)klen,
			       spec);
	}
	if (rc < 0)
		return err_prefix(errp, "--net %.*s", (int)klen, spec);
	return 0;
}
