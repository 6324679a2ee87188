/* The control socket's wire protocol; see api_proto.h. */
#include "api_proto.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- request lines ------------------------------------------------------ */

int api_linebuf_add(struct api_linebuf *lb, const void *data, size_t n)
{
	if (lb->len + n > lb->cap) {
		size_t cap = lb->cap ? lb->cap : 4096;
		while (cap < lb->len + n)
			cap *= 2;
		char *b = realloc(lb->buf, cap);
		if (!b)
			return -ENOMEM;
		lb->buf = b;
		lb->cap = cap;
	}
	memcpy(lb->buf + lb->len, data, n);
	lb->len += n;
	return 0;
}

static void consume(struct api_linebuf *lb, size_t n)
{
	memmove(lb->buf, lb->buf + n, lb->len - n);
	lb->len -= n;
	lb->scan = 0;
}

enum api_line api_linebuf_next(struct api_linebuf *lb, const char **line,
			       size_t *len)
{
	/* The line handed out last time stayed in place until now. */
	if (lb->taken) {
		consume(lb, lb->taken);
		lb->taken = 0;
	}
	for (;;) {
		char *nl = lb->len > lb->scan ?
			memchr(lb->buf + lb->scan, '\n', lb->len - lb->scan) :
			NULL;
		if (lb->skipping) {
			if (!nl) {
				lb->len = lb->scan = 0;
				return API_LINE_NONE;
			}
			consume(lb, (size_t)(nl - lb->buf) + 1);
			lb->skipping = false;
			continue;
		}
		if (!nl) {
			lb->scan = lb->len;
			if (lb->len <= API_LINE_MAX)
				return API_LINE_NONE;
			lb->skipping = true;
			lb->len = lb->scan = 0;
			return API_LINE_TOO_LONG;
		}
		size_t n = (size_t)(nl - lb->buf);
		if (n > API_LINE_MAX) {
			consume(lb, n + 1);
			return API_LINE_TOO_LONG;
		}
		*nl = '\0';
		lb->taken = n + 1;
		if (n && lb->buf[n - 1] == '\r')
			lb->buf[--n] = '\0';
		*line = lb->buf;
		*len = n;
		return API_LINE_OK;
	}
}

bool api_linebuf_partial(const struct api_linebuf *lb)
{
	return lb->skipping || lb->len > lb->taken;
}

void api_linebuf_free(struct api_linebuf *lb)
{
	free(lb->buf);
	memset(lb, 0, sizeof(*lb));
}

/* ---- requests ----------------------------------------------------------- */

static const char *const cmd_names[] = {
	[API_CMD_STATUS] = "status",
	[API_CMD_PAUSE] = "pause",
	[API_CMD_RESUME] = "resume",
	[API_CMD_STOP] = "stop",
	[API_CMD_QUIT] = "quit",
	[API_CMD_SNAPSHOT] = "snapshot",
	[API_CMD_MIGRATE] = "migrate",
	[API_CMD_MIGRATE_STATUS] = "migrate-status",
	[API_CMD_MIGRATE_CANCEL] = "migrate-cancel",
	[API_CMD_EVENTS] = "events",
};

const char *api_cmd_name(enum api_cmd cmd)
{
	return (unsigned)cmd < sizeof(cmd_names) / sizeof(cmd_names[0]) ?
		cmd_names[cmd] : "?";
}

/* Which arguments a command takes. */
enum arg_type { ARG_STRING, ARG_BOOL, ARG_SECONDS, ARG_MS };
struct arg_spec {
	enum api_cmd cmd;
	const char *name;
	enum arg_type type;
	size_t off;          /* in struct api_request */
	bool required;
};
#define OFF(f) offsetof(struct api_request, f)
static const struct arg_spec arg_specs[] = {
	{ API_CMD_SNAPSHOT, "dir", ARG_STRING, OFF(dir), true },
	{ API_CMD_SNAPSHOT, "diff", ARG_BOOL, OFF(diff), false },
	{ API_CMD_SNAPSHOT, "no_disk_state", ARG_BOOL, OFF(no_disk_state),
	  false },
	{ API_CMD_MIGRATE, "uri", ARG_STRING, OFF(uri), true },
	{ API_CMD_MIGRATE, "max_downtime_ms", ARG_MS, OFF(max_downtime_ns),
	  false },
	{ API_CMD_MIGRATE, "copy_disks", ARG_BOOL, OFF(copy_disks), false },
	{ API_CMD_STOP, "timeout", ARG_SECONDS, OFF(timeout_ns), false },
};
#define NSPECS (sizeof(arg_specs) / sizeof(arg_specs[0]))

/* A path or URI: printable, bounded (PATH_MAX), no NUL inside. */
static int get_string(struct json_object *v, const char *name, char **out,
		      struct err *errp)
{
	if (!json_object_is_type(v, json_type_string))
		return err_set(errp, EINVAL, "args.%s: expected a string", name);
	const char *s = json_object_get_string(v);
	size_t n = (size_t)json_object_get_string_len(v);
	if (n == 0 || n >= 4096 || strlen(s) != n)
		return err_set(errp, EINVAL, "args.%s: expected 1 to 4095 "
			       "bytes without NUL", name);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return err_set(errp, EINVAL, "args.%s: control "
				       "character", name);
	*out = strdup(s);
	return *out ? 0 : err_set(errp, ENOMEM, "out of memory");
}

/* A non-negative duration in `unit_ns` units (fraction allowed) up to
 * max_ns. */
static int get_duration(struct json_object *v, const char *name,
			double unit_ns, uint64_t max_ns, uint64_t *out,
			struct err *errp)
{
	if (!json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_double))
		return err_set(errp, EINVAL, "args.%s: expected a number", name);
	double d = json_object_get_double(v);
	if (!isfinite(d) || d < 0 || d * unit_ns > (double)max_ns)
		return err_set(errp, EINVAL, "args.%s: out of range", name);
	*out = (uint64_t)(d * unit_ns);
	return 0;
}

static int parse_args(struct api_request *req, struct json_object *args,
		      struct err *errp)
{
	if (args && !json_object_is_type(args, json_type_object))
		return err_set(errp, EINVAL, "args: expected an object");
	/* Every key must be one this command takes: a typo is an error, not
	 * a silently ignored option. */
	if (args) {
		json_object_object_foreach(args, key, val) {
			const struct arg_spec *s = NULL;
			for (size_t i = 0; i < NSPECS; i++)
				if (arg_specs[i].cmd == req->cmd &&
				    !strcmp(arg_specs[i].name, key))
					s = &arg_specs[i];
			if (!s)
				return err_set(errp, EINVAL, "%s: unknown "
					       "argument `%.64s`",
					       api_cmd_name(req->cmd), key);
			void *p = (char *)req + s->off;
			int rc = 0;
			switch (s->type) {
			case ARG_STRING:
				rc = get_string(val, key, p, errp);
				break;
			case ARG_BOOL:
				if (!json_object_is_type(val, json_type_boolean))
					rc = err_set(errp, EINVAL, "args.%s: "
						     "expected true or false",
						     key);
				else
					*(bool *)p = json_object_get_boolean(val);
				break;
			case ARG_SECONDS:
				rc = get_duration(val, key, 1e9,
						  API_STOP_TIMEOUT_MAX_NS, p,
						  errp);
				break;
			case ARG_MS:
				rc = get_duration(val, key, 1e6,
						  3600ull * 1000000000, p, errp);
				break;
			}
			if (rc)
				return rc;
		}
	}
	for (size_t i = 0; i < NSPECS; i++) {
		const struct arg_spec *s = &arg_specs[i];
		if (s->cmd == req->cmd && s->required &&
		    !(args && json_object_object_get_ex(args, s->name, NULL)))
			return err_set(errp, EINVAL, "%s: missing args.%s",
				       api_cmd_name(req->cmd), s->name);
	}
	return 0;
}

int api_request_parse(const char *line, size_t len, struct api_request *req,
		      const char **code, struct err *errp)
{
	memset(req, 0, sizeof(*req));
	req->timeout_ns = API_STOP_TIMEOUT_DEFAULT_NS;
	*code = "EPROTO";
	if (len > API_LINE_MAX)
		return err_set(errp, EMSGSIZE, "request longer than %u bytes",
			       API_LINE_MAX);
	struct json_tokener *tok = json_tokener_new_ex(API_JSON_DEPTH);
	if (!tok) {
		*code = "ENOMEM";
		return err_set(errp, ENOMEM, "out of memory");
	}
	struct json_object *j = json_tokener_parse_ex(tok, line, (int)len);
	enum json_tokener_error te = json_tokener_get_error(tok);
	/* A complete value must use the whole line but trailing blanks. */
	size_t used = j ? json_tokener_get_parse_end(tok) : 0;
	json_tokener_free(tok);
	int rc;
	if (!j || te != json_tokener_success) {
		rc = err_set(errp, EPROTO, "malformed JSON: %s",
			     te == json_tokener_continue ? "incomplete value"
			     : json_tokener_error_desc(te));
		goto out;
	}
	for (; used < len; used++)
		if (!strchr(" \t\r", line[used])) {
			rc = err_set(errp, EPROTO, "malformed JSON: data after "
				     "the request object");
			goto out;
		}
	if (!json_object_is_type(j, json_type_object)) {
		rc = err_set(errp, EPROTO, "a request is a JSON object");
		goto out;
	}
	struct json_object *id, *cmd, *args = NULL;
	if (json_object_object_get_ex(j, "id", &id))
		req->id = json_object_get(id);
	json_object_object_foreach(j, key, val) {
		(void)val;
		if (strcmp(key, "id") && strcmp(key, "cmd") &&
		    strcmp(key, "args")) {
			rc = err_set(errp, EPROTO, "unknown request member "
				     "`%.64s` (id, cmd, args)", key);
			goto out;
		}
	}
	if (!json_object_object_get_ex(j, "cmd", &cmd) ||
	    !json_object_is_type(cmd, json_type_string)) {
		rc = err_set(errp, EPROTO, "request without a \"cmd\" string");
		goto out;
	}
	const char *name = json_object_get_string(cmd);
	rc = -EOPNOTSUPP;
	for (size_t i = 0; i < sizeof(cmd_names) / sizeof(cmd_names[0]); i++)
		if (!strcmp(name, cmd_names[i])) {
			req->cmd = (enum api_cmd)i;
			rc = 0;
		}
	if (rc) {
		*code = "EOPNOTSUPP";
		rc = err_set(errp, EOPNOTSUPP, "unknown command `%.64s`", name);
		goto out;
	}
	json_object_object_get_ex(j, "args", &args);
	if (json_object_is_type(args, json_type_null))
		args = NULL;
	*code = "EINVAL";
	rc = parse_args(req, args, errp);
	if (rc == -ENOMEM)
		*code = "ENOMEM";
out:
	json_object_put(j);
	return rc;
}

void api_request_free(struct api_request *req)
{
	json_object_put(req->id);
	free(req->dir);
	free(req->uri);
	memset(req, 0, sizeof(*req));
}

/* ---- replies and events -------------------------------------------------- */

/* obj (consumed) as one line. */
static char *line_of(struct json_object *obj)
{
	if (!obj)
		return NULL;
	size_t n;
	const char *s = json_object_to_json_string_length(
		obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	char *out = s ? malloc(n + 2) : NULL;
	if (out) {
		memcpy(out, s, n);
		out[n] = '\n';
		out[n + 1] = '\0';
	}
	json_object_put(obj);
	return out;
}

/* Add key -> val (consumed) unless either is missing; false when out of
 * memory. */
static bool put(struct json_object *o, const char *key, struct json_object *val)
{
	if (!o)
		return false;
	if (!val || json_object_object_add(o, key, val)) {
		json_object_put(val);
		return false;
	}
	return true;
}

char *api_greeting(const char *version)
{
	struct json_object *o = json_object_new_object();
	struct json_object *r = json_object_new_object();
	bool ok = put(r, "version", json_object_new_string(version)) &&
		  put(r, "protocol", json_object_new_int(API_PROTOCOL));
	if (!ok) {
		json_object_put(r);
		json_object_put(o);
		return NULL;
	}
	/* put() releases the value it could not add. */
	if (!put(o, "ringvm", r) ||
	    !put(o, "type", json_object_new_string("vm"))) {
		json_object_put(o);
		return NULL;
	}
	return line_of(o);
}

/* A reference to v, or a new empty object. */
static struct json_object *ref_or_empty(struct json_object *v)
{
	return v ? json_object_get(v) : json_object_new_object();
}

char *api_reply_ok(struct json_object *id, struct json_object *result)
{
	struct json_object *o = json_object_new_object();
	bool ok = o && !json_object_object_add(o, "id", json_object_get(id)) &&
		  put(o, "ok", json_object_new_boolean(1)) &&
		  put(o, "result", ref_or_empty(result));
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return line_of(o);
}

char *api_reply_error(struct json_object *id, const char *code,
		      const char *msg)
{
	struct json_object *o = json_object_new_object();
	struct json_object *e = json_object_new_object();
	bool ok = o && e &&
		  put(e, "code", json_object_new_string(code)) &&
		  put(e, "message", json_object_new_string(msg));
	if (!ok) {
		json_object_put(e);
		json_object_put(o);
		return NULL;
	}
	ok = !json_object_object_add(o, "id", json_object_get(id)) &&
	     put(o, "ok", json_object_new_boolean(0)) && put(o, "error", e);
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return line_of(o);
}

char *api_event(const char *name, uint64_t time_ns, struct json_object *data)
{
	struct json_object *o = json_object_new_object();
	bool ok = put(o, "event", json_object_new_string(name)) &&
		  put(o, "time_ns", json_object_new_int64((int64_t)time_ns)) &&
		  put(o, "data", ref_or_empty(data));
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return line_of(o);
}

const char *api_errno_code(int neg_errno)
{
	switch (-neg_errno) {
#define E(x) case x: return #x
	E(EINVAL); E(ENOENT); E(EEXIST); E(EBUSY); E(ESRCH); E(ENOSYS);
	E(ENOSPC); E(ENOMEM); E(EAGAIN); E(ECANCELED); E(ECONNREFUSED);
	E(ETIMEDOUT); E(EACCES); E(EPERM); E(ENOTDIR); E(ENOTEMPTY);
	E(EPROTO); E(EMSGSIZE); E(EOPNOTSUPP); E(EALREADY); E(EROFS);
	E(EHOSTUNREACH); E(ECONNRESET); E(EPIPE);
#undef E
	default:
		return "EIO";
	}
}
