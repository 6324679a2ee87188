/* Parsing and validation of a switch port's VLAN configuration (the
 * "switch,path=...,vlan=..." spec and the hello a switch receives). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "net/switch_port.h"

/* A VLAN id 1..4094 from s[0..n). */
static int parse_vid(const char *s, size_t n, const char *what, uint16_t *out,
		     struct err *errp)
{
	unsigned v = 0;
	if (n == 0 || n > 4)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			goto bad;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < 1 || v > SWP_VID_MAX)
		goto bad;
	*out = (uint16_t)v;
	return 0;
bad:
	return err_set(errp, EINVAL, "%s `%.*s` is not a VLAN id "
		       "(1..4094)", what, (int)n, s);
}

/* One element of a trunk list: ID or A-B. */
static int trunk_item(struct swp_vlan_cfg *cfg, const char *s, size_t n,
		      struct err *errp)
{
	const char *dash = memchr(s, '-', n);
	uint16_t a, b;
	int rc;
	if (!dash) {
		if ((rc = parse_vid(s, n, "trunk VLAN", &a, errp)))
			return rc;
		swp_vlan_allow(cfg, a);
		return 0;
	}
	if ((rc = parse_vid(s, (size_t)(dash - s), "trunk VLAN", &a, errp)) ||
	    (rc = parse_vid(dash + 1, n - (size_t)(dash - s) - 1, "trunk VLAN",
			    &b, errp)))
		return rc;
	if (a > b)
		return err_set(errp, EINVAL, "trunk range `%.*s` is "
			       "empty", (int)n, s);
	for (unsigned v = a; v <= b; v++)
		swp_vlan_allow(cfg, v);
	return 0;
}

int switch_port_parse(const char *opts, char **path, struct swp_vlan_cfg *cfg,
		      struct err *errp)
{
	bool have_vlan = false, have_trunk = false, have_native = false;
	bool in_trunk = false;
	uint16_t vlan = 1, native = 0;
	int rc = 0;

	*path = NULL;
	memset(cfg, 0, sizeof(*cfg));
	if (!opts)
		opts = "";
	if (!strncmp(opts, "switch,", 7))
		opts += 7;
	else if (!strcmp(opts, "switch"))
		opts += 6;

	for (const char *p = opts; *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		size_t kn = eq ? (size_t)(eq - p) : 0;
		const char *v = eq ? eq + 1 : p;
		size_t vn = eq ? n - kn - 1 : n;

		if (!eq) {
			/* "trunk=10,20": bare ids continue the trunk list. */
			if (!in_trunk) {
				rc = err_set(errp, EINVAL, "`%.*s` is not "
					     "key=value (keys: path, vlan, trunk, "
					     "native)", (int)n, p);
				goto fail;
			}
			if ((rc = trunk_item(cfg, v, vn, errp)))
				goto fail;
		} else if (kn == 4 && !memcmp(p, "path", 4)) {
			in_trunk = false;
			if (vn == 0) {
				rc = err_set(errp, EINVAL, "empty path=");
				goto fail;
			}
			free(*path);
			*path = strndup(v, vn);
			if (!*path) {
				rc = err_set(errp, ENOMEM, "out of memory");
				goto fail;
			}
		} else if (kn == 4 && !memcmp(p, "vlan", 4)) {
			in_trunk = false;
			have_vlan = true;
			if ((rc = parse_vid(v, vn, "vlan", &vlan, errp)))
				goto fail;
		} else if (kn == 5 && !memcmp(p, "trunk", 5)) {
			in_trunk = have_trunk = true;
			if ((rc = trunk_item(cfg, v, vn, errp)))
				goto fail;
		} else if (kn == 6 && !memcmp(p, "native", 6)) {
			in_trunk = false;
			have_native = true;
			if ((rc = parse_vid(v, vn, "native", &native, errp)))
				goto fail;
		} else {
			rc = err_set(errp, EINVAL, "unknown option `%.*s` "
				     "(keys: path, vlan, trunk, native)",
				     (int)kn, p);
			goto fail;
		}
		p = end ? end + 1 : p + n;
	}

	if (!*path) {
		rc = err_set(errp, EINVAL, "missing path=SOCKET");
		goto fail;
	}
	if (have_vlan && have_trunk) {
		rc = err_set(errp, EINVAL, "vlan= and trunk= exclude each "
			     "other (a port is access or trunk)");
		goto fail;
	}
	if (have_native && !have_trunk) {
		rc = err_set(errp, EINVAL, "native= needs trunk=");
		goto fail;
	}
	if (have_trunk) {
		cfg->mode = SWP_MODE_TRUNK;
		cfg->vid = native;
		if (native)
			swp_vlan_allow(cfg, native);
	} else {
		cfg->mode = SWP_MODE_ACCESS;
		cfg->vid = vlan;
	}
	return 0;
fail:
	free(*path);
	*path = NULL;
	return rc;
}

int swp_vlan_cfg_check(const struct swp_vlan_cfg *cfg, struct err *errp)
{
	switch (cfg->mode) {
	case SWP_MODE_ACCESS:
		if (cfg->vid < 1 || cfg->vid > SWP_VID_MAX)
			return err_set(errp, EINVAL, "access VLAN %u is not "
				       "1..4094", cfg->vid);
		return 0;
	case SWP_MODE_TRUNK:
		if (cfg->vid > SWP_VID_MAX)
			return err_set(errp, EINVAL, "native VLAN %u is not "
				       "1..4094", cfg->vid);
		/* VIDs 0 and 4095 can never be members (Table 9-2). */
		if (swp_vlan_allowed(cfg, 0) || (cfg->allowed[511] & 0x80))
			return err_set(errp, EINVAL, "trunk allows VLAN 0 or "
				       "4095");
		if (cfg->vid && !swp_vlan_allowed(cfg, cfg->vid))
			return err_set(errp, EINVAL, "native VLAN %u is not in "
				       "the allowed list", cfg->vid);
		for (unsigned i = 0; i < sizeof(cfg->allowed); i++)
			if (cfg->allowed[i])
				return 0;
		return err_set(errp, EINVAL, "trunk carries no VLAN");
	default:
		return err_set(errp, EINVAL, "unknown port mode %u", cfg->mode);
	}
}
