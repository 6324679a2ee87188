/* Shared pieces of `ringvm container` (src/cli/container*.c). */
#ifndef RINGVM_CLI_CONTAINER_H
#define RINGVM_CLI_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "container/store.h"
#include "core/err.h"

/* docker's exit status for errors of the container tool itself. */
#define CTR_EXIT_ERROR 125

/* Print "ringvm container: MSG" on stderr; returns CTR_EXIT_ERROR. */
int ctr_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Open the store (RINGVM_CONTAINER_ROOT or the default); on failure the
 * message is printed and CTR_EXIT_ERROR returned. */
int ctr_store(struct store *s);

/* docker's "2 hours ago" for a time in seconds since the epoch. */
void ctr_ago(int64_t t, char *out, size_t cap);
/* docker's "2 hours" for a duration in seconds. */
void ctr_duration(int64_t d, char *out, size_t cap);

/* docker's exit status for a runtime failure to start the command: 127
 * not found, 126 not executable, else 125. */
int ctr_start_status(const struct err *e);

struct ctr_meta;
struct ctr_net;
/* rt_run's hooks for a container (rt_create_opts.on_created/on_start):
 * plumb its network (m->net), and tell a waiting `run -d` over notify_fd
 * (-1: none) that the command runs. */
struct ctr_hooks {
	const struct ctr_meta *m;
	int notify_fd;
	struct ctr_net *net;         /* set by ctr_hook_created */
};
int ctr_hook_created(void *arg, pid_t pid, struct err *errp);
void ctr_hook_started(void *arg);

/* Run the created container m (rootfs mounted, config.json written)
 * under a detached supervisor that holds its log (containers/ID/ctr.log),
 * waits for it, records the exit code and unmounts the rootfs (and with
 * rm deletes the container).  Returns 0 once the command runs, else the
 * status to exit with (message printed). */
int ctr_detach(struct store *s, struct ctr_meta *m, bool rm);
/* docker's decimal sizes with 3 significant digits: "4.26MB". */
void ctr_size(uint64_t bytes, char *out, size_t cap);

/* Columns printed like docker's tabwriter (3 spaces between columns).
 * ctr_table_row copies its ncols strings; ctr_table_print prints the
 * header and rows and frees them. */
struct ctr_table {
	size_t ncols, nrows;
	char **cells;            /* nrows * ncols, header first */
};
int ctr_table_init(struct ctr_table *t, size_t ncols, const char *const *head);
int ctr_table_row(struct ctr_table *t, const char *const *cols);
void ctr_table_print(struct ctr_table *t);

/* Whether container m runs (or is created), per the runtime's state. */
bool ctr_is_running(struct store *s, const struct ctr_meta *m);

/* The verbs. */
int ctr_load(int argc, char **argv);
int ctr_images(int argc, char **argv);
int ctr_rmi(int argc, char **argv);
int ctr_tag(int argc, char **argv);
int ctr_run(int argc, char **argv);
int ctr_ps(int argc, char **argv);
int ctr_logs(int argc, char **argv);
int ctr_stop(int argc, char **argv);
int ctr_start(int argc, char **argv);
int ctr_rm(int argc, char **argv);
int ctr_exec(int argc, char **argv);
int ctr_pull(int argc, char **argv);

#endif
