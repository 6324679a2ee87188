/* A `type: cgroup` mount: the container's view of its own cgroups.
 * cgroup v2 hosts get cgroup2; v1 hosts a tmpfs with one v1 mount per
 * hierarchy the container has a cgroup in (memory, pids, cpu and what the
 * host co-mounts with them), which the cgroup namespace roots at the
 * container's own cgroup.  Without a private
 * cgroup namespace (or in a user namespace, where v1 cannot be mounted) a
 * v1 host gets an empty read-only tmpfs rather than the host's tree. */
#include "container/container.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

#include "container/cgroup.h"

/* Only hierarchies the container has its own cgroup in (cgroup.c creates
 * memory, pids and cpu): in the others the namespace root is the host's
 * cgroup, whose tree the container must not see. */
static bool ours(const char *ctrls)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", ctrls);
	for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (!strcmp(t, "memory") || !strcmp(t, "pids") || !strcmp(t, "cpu"))
			return true;
	return false;
}

static int mount_v1(int rootfd, const char *dest, unsigned long flags,
		    struct err *errp)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return err_sys(errp, errno, "mount %.200s: /proc/self/cgroup", dest);
	char line[1024];
	int r = 0;
	while (!r && fgets(line, sizeof(line), f)) {
		char *id = strtok(line, ":"), *ctrls = strtok(NULL, ":");
		if (!id || !ctrls || !strcmp(id, "0") || !ours(ctrls))
			continue; /* v2 line, or not the container's cgroup */
		const char *name = !strncmp(ctrls, "name=", 5) ? ctrls + 5 : ctrls;
		char sub[600], tp[64], data[300];
		snprintf(sub, sizeof(sub), "%s/%s", dest, name);
		int t = path_in_root(rootfd, sub, true, false);
		if (t < 0) {
			r = err_sys(errp, -t, "mount %.200s: mkdir %s", dest, name);
			break;
		}
		snprintf(tp, sizeof(tp), "/proc/self/fd/%d", t);
		snprintf(data, sizeof(data), "%s%s", strncmp(ctrls, "name=", 5) ? "" : "none,",
			 ctrls);
		if (mount("cgroup", tp, "cgroup", flags, data) < 0)
			r = err_sys(errp, errno, "mount %.200s: cgroup %s", dest, ctrls);
		close(t);
	}
	fclose(f);
	return r;
}

int cgroupfs_mount(int rootfd, const struct oci_mount *m, unsigned long flags,
		   bool private_ns, struct err *errp)
{
	cleanup_close int t = path_in_root(rootfd, m->destination, true, false);
	if (t < 0)
		return err_sys(errp, -t, "mount %.200s: destination", m->destination);
	char tp[64];
	snprintf(tp, sizeof(tp), "/proc/self/fd/%d", t);
	if (cgroup_host_version() == 2) {
		if (mount("cgroup2", tp, "cgroup2", flags, NULL) < 0)
			return err_sys(errp, errno, "mount %.200s: cgroup2", m->destination);
		return 0;
	}
	unsigned long tflags = flags & ~MS_RDONLY;
	if (mount("tmpfs", tp, "tmpfs", private_ns ? tflags : flags | MS_RDONLY,
		  "mode=755,size=64k") < 0)
		return err_sys(errp, errno, "mount %.200s: tmpfs", m->destination);
	if (!private_ns)
		return 0;
	int r = mount_v1(rootfd, m->destination, flags, errp);
	if (r)
		return r;
	if (flags & MS_RDONLY) {
		cleanup_close int t2 = path_in_root(rootfd, m->destination, false, false);
		snprintf(tp, sizeof(tp), "/proc/self/fd/%d", t2);
		if (t2 < 0 || mount(NULL, tp, NULL, MS_REMOUNT | flags, "mode=755,size=64k") < 0)
			return err_sys(errp, t2 < 0 ? -t2 : errno,
				       "mount %.200s: remount read-only", m->destination);
	}
	return 0;
}
