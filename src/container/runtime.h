/* The OCI runtime operations (runtime-spec runtime.md "Operations") as
 * `ringvm oci` exposes them.  All are synchronous and keep no process-wide
 * state; errors come back in errp with the step that failed. */
#ifndef RINGVM_CONTAINER_RUNTIME_H
#define RINGVM_CONTAINER_RUNTIME_H

#include <stdbool.h>
#include <sys/types.h>

#include "core/err.h"

struct rt_create_opts {
	const char *root;            /* state directory root */
	const char *id;
	const char *bundle;          /* directory holding config.json */
	const char *pid_file;        /* NULL: none */
	const char *console_socket;  /* NULL: none (needs process.terminal) */
	unsigned preserve_fds;       /* fds 3..3+N-1 pass to the command */
	/* When non-NULL, process.terminal is true and there is no
	 * console_socket: receives our end of an internal console socket
	 * (-1 otherwise); rt_run relays the terminal through it. */
	int *console_peer;
	/* rt_run only: called once the command has been started (not on
	 * failure), e.g. so a detached supervisor can tell its parent. */
	void (*on_start)(void *arg);
	/* rt_run only: called between create and start with init's pid
	 * (its namespaces exist, the command waits), e.g. to plumb the
	 * network; a failure undoes the container. */
	int (*on_created)(void *arg, pid_t pid, struct err *errp);
	void *on_start_arg;          /* for both hooks */
};

/* Create the container: its init runs in fresh namespaces and cgroup,
 * with the filesystem set up, and waits for rt_start().  *pid receives
 * init's pid.  On failure nothing is left: no state directory, cgroup,
 * mount, namespace or process. */
int rt_create(const struct rt_create_opts *o, pid_t *pid, struct err *errp);

/* Run the created container's command.  -EINVAL if it is not "created". */
int rt_start(const char *root, const char *id, struct err *errp);

/* Send sig to the container's init (which forwards it to the command), or
 * with all to every process in its cgroup. */
int rt_kill(const char *root, const char *id, int sig, bool all,
	    struct err *errp);

/* Remove a stopped or created container; with force a running one is
 * killed first.  Removes its cgroup and state. */
int rt_delete(const char *root, const char *id, bool force, struct err *errp);

/* The runtime-spec state JSON in *json (malloc'd). */
int rt_state(const char *root, const char *id, char **json, struct err *errp);

/* create + start + wait: the command's exit status (128+N for signal N),
 * or -errno.  Signals to the caller are forwarded to the container.  The
 * container is deleted when it has exited. */
int rt_run(const struct rt_create_opts *o, struct err *errp);

/* Parse a signal name ("TERM", "SIGTERM", "sigkill") or number. */
int rt_parse_signal(const char *s, struct err *errp);

#endif
