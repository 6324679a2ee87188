/* The runtime's record of one container: ROOT/ID/state.json (ringvm's own
 * format, mode 0600) and ROOT/ID/exec.fifo, and the runtime-spec 1.x
 * state document derived from it (runtime-spec runtime.md "State"). */
#ifndef RINGVM_CONTAINER_STATE_H
#define RINGVM_CONTAINER_STATE_H

#include <stdbool.h>
#include <sys/types.h>

#include "container/cgroup.h"
#include "core/err.h"

#define OCI_DEFAULT_ROOT "/run/ringvm-oci"
#define OCI_VERSION "1.1.0"

struct ctr_state {
	char id[256];
	pid_t pid;                    /* init, in the runtime's pid namespace */
	unsigned long long starttime; /* /proc/PID/stat field 22: pid reuse check */
	char bundle[4096];
	char created[40];             /* RFC 3339, UTC */
	struct cgroup cg;
	char *annotations_json;       /* JSON object text or NULL; owned */
};

enum ctr_status { CTR_CREATED, CTR_RUNNING, CTR_STOPPED };

/* A container id is 1..255 of [A-Za-z0-9_.+-], not "." or "..".
 * Returns 0 or -EINVAL naming the problem. */
int state_check_id(const char *id, struct err *errp);

/* ROOT/ID (and ROOT/ID/NAME when name is non-NULL) into out[cap]. */
int state_path(const char *root, const char *id, const char *name,
	       char *out, size_t cap, struct err *errp);

/* Write st to ROOT/ID/state.json atomically (temp file + rename). */
int state_save(const char *root, const struct ctr_state *st,
	       struct err *errp);

/* Read ROOT/ID/state.json; -ENOENT with "container `ID` does not exist"
 * when there is none.  Release with state_free(). */
int state_load(const char *root, const char *id, struct ctr_state *st,
	       struct err *errp);
void state_free(struct ctr_state *st);

/* Start time of pid from /proc, 0 if it does not exist; *zombie is set
 * when it has exited but not been reaped. */
unsigned long long state_proc_starttime(pid_t pid, bool *zombie);

/* created (fifo present, init alive), running, or stopped (init gone,
 * a zombie, or its pid reused by another process). */
enum ctr_status state_status(const char *root, const struct ctr_state *st);
const char *state_status_name(enum ctr_status s);

/* The runtime-spec state JSON (malloc'd, caller frees): ociVersion, id,
 * status, pid (0 when stopped), bundle, annotations. */
char *state_oci_json(const struct ctr_state *st, enum ctr_status s);

/* Remove ROOT/ID and what ringvm put in it. */
int state_remove(const char *root, const char *id, struct err *errp);

#endif
