/* Container resource limits in cgroups: v2 where the unified hierarchy is
 * mounted at /sys/fs/cgroup with the memory, pids and cpu controllers
 * available, else the v1 memory, pids and cpu hierarchies (a hybrid host
 * such as systemd's "hybrid" layout, where the v2 tree has no
 * controllers).  runtime-spec config-linux.md "Control groups". */
#ifndef RINGVM_CONTAINER_CGROUP_H
#define RINGVM_CONTAINER_CGROUP_H

#include <sys/types.h>

#include "container/config.h"
#include "core/err.h"

#define CG_MAX_DIRS 4

struct cgroup {
	int version;                  /* 1 or 2; 0 = none created */
	int ndirs;
	char dirs[CG_MAX_DIRS][512];  /* absolute directories we created */
};

/* The cgroup path (relative to the hierarchy roots, leading '/') for a
 * container: cfg->cgroups_path when set ("slice:prefix:name" systemd
 * notation is mapped to /slice/prefix-name.scope, a relative path is
 * taken from the hierarchy root), else /ringvm/<id>.  out holds
 * cap bytes.  Returns 0 or -EINVAL (".." component, too long). */
int cgroup_path(const struct oci_config *cfg, const char *id, char *out,
		size_t cap, struct err *errp);

/* Create the container's cgroup(s) at rel (from cgroup_path()) and write
 * the limits of cfg (memory limit, pids limit, cpu quota/period).  An
 * existing directory is an error (another container owns it).  On error
 * nothing created is left behind and *cg is empty. */
int cgroup_create(struct cgroup *cg, const char *rel,
		  const struct oci_config *cfg, struct err *errp);

/* Move pid into every directory of cg (its whole thread group: the kernel
 * then takes a global lock that waits for an RCU grace period, ~10 ms). */
int cgroup_enter(const struct cgroup *cg, pid_t pid, struct err *errp);

/* v1: open every directory's `tasks` file for writing into fds (returns
 * how many, 0 on v2), so that the container's init can move itself with
 * cgroup_join_self(): a single-threaded task moving itself skips that
 * global lock, and the permission check uses the opener's credentials
 * (so it works from inside a user namespace too). */
int cgroup_open_tasks(const struct cgroup *cg, int fds[CG_MAX_DIRS],
		      struct err *errp);

/* Write "0" (the calling thread) to each fd from cgroup_open_tasks(). */
int cgroup_join_self(const int *fds, int n, struct err *errp);

/* SIGKILL every process left in cg, wait (up to ~2 s) for them to go and
 * remove the directories.  Safe on an empty cg; errors name the
 * directory that could not be removed. */
int cgroup_destroy(struct cgroup *cg, struct err *errp);

/* Which hierarchy is in use on this host: 2, 1, or -errno. */
int cgroup_host_version(void);

#endif
