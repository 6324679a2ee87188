/* The Bearer challenge of a registry's 401 (registry.h): docker's token
 * protocol, `WWW-Authenticate: Bearer realm="...",service="...",
 * scope="..."`.  Hostile input: bounded copies only. */
#include "container/registry.h"

#include <string.h>
#include <strings.h>

/* The quoted value of key in a comma-separated list, "" when absent. */
static void param(const char *h, const char *key, char *out, size_t cap)
{
	out[0] = '\0';
	size_t kl = strlen(key);
	for (const char *p = h; (p = strcasestr(p, key)); p += kl) {
		if (p != h && p[-1] != ' ' && p[-1] != ',')
			continue;
		if (p[kl] != '=' || p[kl + 1] != '"')
			continue;
		const char *v = p + kl + 2, *e = strchr(v, '"');
		if (!e)
			return;
		size_t n = (size_t)(e - v) < cap - 1 ? (size_t)(e - v) : cap - 1;
		memcpy(out, v, n);
		out[n] = '\0';
		return;
	}
}

int registry_parse_challenge(const char *h, char *realm, char *service,
			     char *scope, size_t cap, struct err *errp)
{
	realm[0] = service[0] = scope[0] = '\0';
	if (strncasecmp(h, "Bearer ", 7))
		return err_set(errp, EINVAL, "registry asks for `%.60s` authentication; only Bearer tokens are supported", h);
	param(h + 7, "realm", realm, cap);
	param(h + 7, "service", service, cap);
	param(h + 7, "scope", scope, cap);
	if (!realm[0])
		return err_set(errp, EINVAL, "Bearer challenge without a realm");
	if (strncmp(realm, "http://", 7) && strncmp(realm, "https://", 8))
		return err_set(errp, EINVAL, "Bearer realm `%.100s` is not an http(s) URL", realm);
	return 0;
}
