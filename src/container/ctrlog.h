/* A detached container's log (ROOT/containers/ID/ctr.log): its stdout and
 * stderr kept apart, each line with the time it was read — the format of
 * Kubernetes' CRI container logs (which podman's k8s-file driver also
 * writes), one record per line:
 *
 *   2026-12-03T10:00:00.123456789Z stdout F the line
 *   2026-12-03T10:00:00.123456789Z stderr P a piece of a longer line
 *
 * F ends a line (the newline itself is not stored), P is a piece of a
 * line that goes on in the stream's next record (a line longer than
 * CTRLOG_CHUNK bytes, or output that ended without a newline).  The bytes
 * are the container's own: anything but a newline may appear in them, so
 * readers treat the file as hostile. */
#ifndef RINGVM_CONTAINER_CTRLOG_H
#define RINGVM_CONTAINER_CTRLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The most bytes of output one record carries. */
#define CTRLOG_CHUNK 16384

enum ctrlog_stream { CTRLOG_STDOUT = 1, CTRLOG_STDERR = 2 };

struct ctrlog_rec {
	int64_t ts_ns;             /* CLOCK_REALTIME, ns since the epoch */
	enum ctrlog_stream stream;
	bool partial;              /* P: the line goes on */
	const char *data;          /* borrowed from the parsed line */
	size_t len;                /* bytes of data */
};

/* Log rotation (docker's json-file max-size/max-file): when the log at
 * `path` reaches max_size bytes, PATH.(k) becomes PATH.(k+1) for the
 * older ones, PATH becomes PATH.1 and a new PATH is started, so that at
 * most max_files files (PATH and PATH.1 .. PATH.(max_files - 1)) exist.
 * max_files 1: the log starts again empty. */
#define CTRLOG_MAX_FILES 100
struct ctrlog_rotation {
	const char *path;
	int64_t max_size;          /* bytes; 0: never rotate */
	int max_files;             /* 1..CTRLOG_MAX_FILES */
};

/* Copy everything read from out_fd and err_fd (pipes; either may be -1)
 * to log_fd as records until both reach end of file; each record is one
 * write(2) (O_APPEND logs stay whole records for concurrent readers).
 * rot (NULL: none) rotates the log between records; log_fd is then
 * replaced (dup2) by the new file.  Blocks; meant for a process of its
 * own (the container's supervisor forks it).  Returns 0, or -errno when
 * reading or writing failed (what could be written was). */
int ctrlog_pump(int out_fd, int err_fd, int log_fd,
		const struct ctrlog_rotation *rot);

/* The name of rotated log file k (1..) of path into buf.  Returns buf. */
char *ctrlog_rotated(const char *path, int k, char *buf, size_t size);

/* Parse one record: line (len bytes, without its newline).  Returns 0
 * with *r filled (r->data points into line), or -EINVAL for anything
 * else (a malformed timestamp, stream or tag). */
int ctrlog_parse(const char *line, size_t len, struct ctrlog_rec *r);

/* Format ts_ns as RFC 3339 with nanoseconds in UTC ("...T...Z") into buf
 * (at least 32 bytes).  Returns buf. */
char *ctrlog_time(int64_t ts_ns, char *buf, size_t size);

/* ctrlog_when.c: a time as `logs --since/--until` take it (docker's
 * forms) — RFC 3339 ("2026-12-04T10:00:00Z", "...+01:00", a date alone;
 * without a zone, local time), Unix seconds ("1764842400.5"), or a Go
 * duration back from now ("10m", "1h30m", "250ms").  now and *ns in ns
 * since the epoch (CLOCK_REALTIME).  0, or -EINVAL for anything else,
 * -ERANGE for a time outside 1678..2262 or a duration past ~146 years. */
int ctrlog_parse_when(const char *v, int64_t now, int64_t *ns);

#endif
