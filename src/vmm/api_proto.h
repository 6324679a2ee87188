/* The control socket's wire protocol (docs/LIFECYCLE.md, "Control
 * socket"): newline-delimited JSON, one object a line.  Pure functions — no
 * sockets, no VM — so the parser of hostile request lines can be unit
 * tested and fuzzed on its own (tests/fuzz/fuzz_api.c).
 *
 * Threading: every function works on its arguments only. */
#ifndef RINGVM_VMM_API_PROTO_H
#define RINGVM_VMM_API_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct json_object;

#define API_PROTOCOL 1
/* A request line longer than this (bytes, without the newline) is refused
 * with EMSGSIZE and skipped up to its newline. */
#define API_LINE_MAX (64u * 1024)
/* Nesting depth json-c accepts in a request. */
#define API_JSON_DEPTH 16

/* ---- request lines ------------------------------------------------------
 *
 * A byte-stream splitter: bytes in, complete lines out, an over-long line
 * reported once and then dropped up to its newline.  Memory is bounded by
 * API_LINE_MAX + one read's worth. */
struct api_linebuf {
	char *buf;
	size_t len, cap;     /* bytes held, allocated (bytes) */
	size_t scan;         /* bytes of buf known to hold no '\n' */
	size_t taken;        /* bytes of the line last handed out (dropped
			      * at the next call) */
	bool skipping;       /* inside an over-long line: drop to '\n' */
};

enum api_line {
	API_LINE_NONE,       /* no complete line yet */
	API_LINE_OK,         /* *line, *len: one line, '\n' stripped */
	API_LINE_TOO_LONG,   /* an over-long line started (reported once) */
};

/* Append n bytes.  Returns 0 or -ENOMEM. */
int api_linebuf_add(struct api_linebuf *lb, const void *data, size_t n);

/* Take the next line.  A returned line stays valid until the next call on
 * lb; a '\r' before the '\n' is stripped too. */
enum api_line api_linebuf_next(struct api_linebuf *lb, const char **line,
			       size_t *len);

/* True while an incomplete line (or the tail of an over-long one) is
 * held: the server's partial-line timeout runs. */
bool api_linebuf_partial(const struct api_linebuf *lb);

void api_linebuf_free(struct api_linebuf *lb);

/* ---- requests ----------------------------------------------------------- */

enum api_cmd {
	API_CMD_STATUS,
	API_CMD_PAUSE,
	API_CMD_RESUME,
	API_CMD_STOP,            /* orderly power-off request, then quit */
	API_CMD_QUIT,            /* end the VM now */
	API_CMD_SNAPSHOT,
	API_CMD_MIGRATE,
	API_CMD_MIGRATE_STATUS,
	API_CMD_MIGRATE_CANCEL,
	API_CMD_EVENTS,          /* subscribe this connection to events */
};

#define API_STOP_TIMEOUT_DEFAULT_NS (30ull * 1000000000)
#define API_STOP_TIMEOUT_MAX_NS (3600ull * 1000000000)

/* A parsed, validated request.  Strings are owned (api_request_free). */
struct api_request {
	struct json_object *id;  /* the client's "id" (a reference), NULL when
				  * absent: replies echo it (null) */
	enum api_cmd cmd;
	/* snapshot */
	char *dir;
	bool diff, no_disk_state;
	/* migrate */
	char *uri;
	uint64_t max_downtime_ns;   /* 0: the migration's default */
	bool copy_disks;
	/* stop */
	uint64_t timeout_ns;
};

/* Parse one request line (len bytes, no newline; need not be
 * NUL-terminated).  Returns 0 with *req filled, or -errno with *code the
 * protocol's error code ("EPROTO": not a JSON object / no "cmd";
 * "EOPNOTSUPP": unknown command; "EINVAL": bad arguments) and errp the
 * message.  On failure req->id still holds the request's id when one was
 * readable, so the error reply can carry it; call api_request_free either
 * way. */
int api_request_parse(const char *line, size_t len, struct api_request *req,
		      const char **code, struct err *errp);

void api_request_free(struct api_request *req);

/* The command's name on the wire ("status", "migrate-status"...). */
const char *api_cmd_name(enum api_cmd cmd);

/* ---- replies and events -------------------------------------------------
 *
 * Each returns a malloc'd NUL-terminated line ending in '\n' (the caller
 * frees it), or NULL when out of memory. */

/* {"ringvm":{"version":V,"protocol":1},"type":"vm"} */
char *api_greeting(const char *version);

/* {"id":ID,"ok":true,"result":RESULT}; id and result may be NULL (null,
 * {}); neither is consumed. */
char *api_reply_ok(struct json_object *id, struct json_object *result);

/* {"id":ID,"ok":false,"error":{"code":CODE,"message":MSG}} */
char *api_reply_error(struct json_object *id, const char *code,
		      const char *msg);

/* {"event":NAME,"time_ns":T,"data":DATA}; data may be NULL ({}), not
 * consumed.  time_ns: CLOCK_REALTIME, ns since the epoch. */
char *api_event(const char *name, uint64_t time_ns, struct json_object *data);

/* The protocol's code of a negative errno ("EINVAL", "ENOSYS"...; "EIO"
 * for one without a name of its own). */
const char *api_errno_code(int neg_errno);

#endif
