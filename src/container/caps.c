/* Capabilities and identity of the container's process (runtime-spec
 * config.md "process.capabilities", "user"). */
#include "container/container.h"

#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/capability.h>
#include <sys/prctl.h>

/* Whether /proc/self/setgroups says "deny". */
static bool setgroups_denied(void)
{
	char b[8] = "";
	int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, b, sizeof(b) - 1);
	close(fd);
	return n >= 4 && !strncmp(b, "deny", 4);
}

static int set_flag(cap_t c, cap_flag_t f, uint64_t bits)
{
	for (int i = 0; i <= CAP_LAST_CAP && i < 64; i++) {
		cap_value_t v = i;
		if ((bits >> i & 1) && cap_set_flag(c, f, 1, &v, CAP_SET) < 0)
			return -errno;
	}
	return 0;
}

int caps_apply(const struct oci_config *cfg, struct err *errp)
{
	uint64_t s[5];
	if (cfg->has_caps) {
		for (int i = 0; i < 5; i++)
			s[i] = cfg->caps[i];
	} else {
		for (int i = 0; i < 5; i++)
			s[i] = i == OCI_CAP_AMBIENT ? 0 : oci_default_caps();
	}
	int last = (int)cap_max_bits() - 1;
	for (int i = 0; i <= last; i++)
		if (!(i < 64 && (s[OCI_CAP_BOUNDING] >> i & 1)) &&
		    prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0 && errno != EINVAL)
			return err_sys(errp, errno, "capabilities: drop %d from the bounding set", i);
	/* Keep permitted caps across the uid change; the sets are set
	 * explicitly right after. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return err_sys(errp, errno, "capabilities: keepcaps");
	gid_t g[OCI_MAX_LIST];
	size_t ng = 0;
	for (; ng < cfg->n_additional_gids && ng < OCI_MAX_LIST; ng++)
		g[ng] = cfg->additional_gids[ng];
	/* A user namespace whose gid map was written without newgidmap has
	 * setgroups denied (user_namespaces(7)); with no extra groups asked
	 * the process has none to drop there, so EPERM is fine. */
	if (setgroups(ng, g) < 0 && !(errno == EPERM && ng == 0 && setgroups_denied()))
		return err_sys(errp, errno, "user: setgroups");
	if (setresgid(cfg->gid, cfg->gid, cfg->gid) < 0)
		return err_sys(errp, errno, "user: setgid %u", cfg->gid);
	if (setresuid(cfg->uid, cfg->uid, cfg->uid) < 0)
		return err_sys(errp, errno, "user: setuid %u", cfg->uid);
	cap_t c = cap_init();
	if (!c)
		return err_sys(errp, errno, "capabilities: cap_init");
	int r = set_flag(c, CAP_EFFECTIVE, s[OCI_CAP_EFFECTIVE]);
	if (!r)
		r = set_flag(c, CAP_PERMITTED, s[OCI_CAP_PERMITTED]);
	if (!r)
		r = set_flag(c, CAP_INHERITABLE, s[OCI_CAP_INHERITABLE]);
	if (!r && cap_set_proc(c) < 0)
		r = -errno;
	cap_free(c);
	if (r)
		return err_sys(errp, -r, "capabilities: set effective/permitted/inheritable");
	if (cap_reset_ambient() < 0 && errno != EINVAL)
		return err_sys(errp, errno, "capabilities: reset ambient");
	for (int i = 0; i <= last && i < 64; i++)
		if ((s[OCI_CAP_AMBIENT] >> i & 1) &&
		    cap_set_ambient(i, CAP_SET) < 0)
			return err_sys(errp, errno, "capabilities: raise ambient %d", i);
	return 0;
}
