/* Unit tests for src/vmm/api_proto.c: the control socket's line splitter,
 * request parser and reply/event serializers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api_proto.h"

static void add_str(struct api_linebuf *lb, const char *s)
{
	assert_int_equal(api_linebuf_add(lb, s, strlen(s)), 0);
}

/* The next line must be `want` (NULL: none yet). */
static void next_is(struct api_linebuf *lb, const char *want)
{
	const char *l;
	size_t n;
	enum api_line k = api_linebuf_next(lb, &l, &n);
	if (!want) {
		assert_int_equal(k, API_LINE_NONE);
		return;
	}
	assert_int_equal(k, API_LINE_OK);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(l, want, n);
	assert_int_equal(l[n], '\0');
}

static void lines_split_across_reads(void **state)
{
	struct api_linebuf lb = { 0 };
	add_str(&lb, "{\"cmd\":");
	next_is(&lb, NULL);
	assert_true(api_linebuf_partial(&lb));
	add_str(&lb, "\"status\"}\r\n{\"cmd\":\"pause\"}\n\n{\"cm");
	next_is(&lb, "{\"cmd\":\"status\"}");   /* CR stripped */
	next_is(&lb, "{\"cmd\":\"pause\"}");
	next_is(&lb, "");
	next_is(&lb, NULL);
	assert_true(api_linebuf_partial(&lb));
	add_str(&lb, "d\":\"resume\"}\n");
	next_is(&lb, "{\"cmd\":\"resume\"}");
	next_is(&lb, NULL);
	assert_false(api_linebuf_partial(&lb));
	api_linebuf_free(&lb);
}

static void overlong_line_reported_once_then_skipped(void **state)
{
	struct api_linebuf lb = { 0 };
	char *big = malloc(API_LINE_MAX + 100);
	assert_non_null(big);
	memset(big, 'x', API_LINE_MAX + 100);
	const char *l;
	size_t n;
	/* Without a newline: reported once the limit is passed... */
	assert_int_equal(api_linebuf_add(&lb, big, API_LINE_MAX + 100), 0);
	assert_int_equal(api_linebuf_next(&lb, &l, &n), API_LINE_TOO_LONG);
	/* ...its rest is dropped without growing the buffer... */
	for (int i = 0; i < 8; i++) {
		assert_int_equal(api_linebuf_add(&lb, big, 4096), 0);
		assert_int_equal(api_linebuf_next(&lb, &l, &n), API_LINE_NONE);
		assert_true(lb.len <= 4096);
		assert_true(api_linebuf_partial(&lb));
	}
	/* ...up to its newline; the next line is served normally. */
	add_str(&lb, "tail\n{\"cmd\":\"status\"}\n");
	next_is(&lb, "{\"cmd\":\"status\"}");
	next_is(&lb, NULL);
	assert_false(api_linebuf_partial(&lb));

	/* A complete over-long line in one piece. */
	big[API_LINE_MAX + 1] = '\n';
	assert_int_equal(api_linebuf_add(&lb, big, API_LINE_MAX + 2), 0);
	add_str(&lb, "ok\n");
	assert_int_equal(api_linebuf_next(&lb, &l, &n), API_LINE_TOO_LONG);
	next_is(&lb, "ok");
	/* Exactly API_LINE_MAX bytes is allowed. */
	big[API_LINE_MAX] = '\n';
	assert_int_equal(api_linebuf_add(&lb, big, API_LINE_MAX + 1), 0);
	assert_int_equal(api_linebuf_next(&lb, &l, &n), API_LINE_OK);
	assert_int_equal(n, API_LINE_MAX);
	api_linebuf_free(&lb);
	free(big);
}

/* Parse s; returns the rc and leaves *code set. */
static int parse(const char *s, struct api_request *r, const char **code)
{
	struct err e = { 0 };
	int rc = api_request_parse(s, strlen(s), r, code, &e);
	if (rc)
		assert_true(e.msg[0] != '\0');   /* every refusal says why */
	return rc;
}

static void requests_valid(void **state)
{
	struct api_request r;
	const char *code;
	assert_int_equal(parse("{\"id\":7,\"cmd\":\"status\"}", &r, &code), 0);
	assert_int_equal(r.cmd, API_CMD_STATUS);
	assert_int_equal(json_object_get_int(r.id), 7);
	api_request_free(&r);

	/* Any JSON value is an id; none is fine too; args may be null. */
	assert_int_equal(parse(" {\"cmd\":\"pause\",\"id\":{\"a\":[1]},"
			       "\"args\":null} ", &r, &code), 0);
	assert_int_equal(r.cmd, API_CMD_PAUSE);
	assert_true(json_object_is_type(r.id, json_type_object));
	api_request_free(&r);
	assert_int_equal(parse("{\"cmd\":\"migrate-status\"}", &r, &code), 0);
	assert_int_equal(r.cmd, API_CMD_MIGRATE_STATUS);
	assert_null(r.id);
	api_request_free(&r);

	assert_int_equal(parse("{\"cmd\":\"snapshot\",\"args\":{\"dir\":\"/s/1\","
			       "\"diff\":true,\"no_disk_state\":false}}",
			       &r, &code), 0);
	assert_int_equal(r.cmd, API_CMD_SNAPSHOT);
	assert_string_equal(r.dir, "/s/1");
	assert_true(r.diff);
	assert_false(r.no_disk_state);
	api_request_free(&r);

	assert_int_equal(parse("{\"cmd\":\"migrate\",\"args\":{\"uri\":"
			       "\"tcp:h:4444\",\"max_downtime_ms\":2.5,"
			       "\"copy_disks\":true}}", &r, &code), 0);
	assert_string_equal(r.uri, "tcp:h:4444");
	assert_int_equal(r.max_downtime_ns, 2500000);
	assert_true(r.copy_disks);
	api_request_free(&r);

	assert_int_equal(parse("{\"cmd\":\"stop\"}", &r, &code), 0);
	assert_true(r.timeout_ns == API_STOP_TIMEOUT_DEFAULT_NS);
	api_request_free(&r);
	assert_int_equal(parse("{\"cmd\":\"stop\",\"args\":{\"timeout\":0.5}}",
			       &r, &code), 0);
	assert_int_equal(r.timeout_ns, 500000000);
	api_request_free(&r);
	assert_int_equal(parse("{\"cmd\":\"stop\",\"args\":{\"timeout\":0}}",
			       &r, &code), 0);
	assert_int_equal(r.timeout_ns, 0);
	api_request_free(&r);
}

static void expect_refused(const char *s, const char *want_code)
{
	struct api_request r;
	const char *code = NULL;
	assert_true(parse(s, &r, &code) < 0);
	assert_string_equal(code, want_code);
	api_request_free(&r);
}

static void requests_refused(void **state)
{
	expect_refused("", "EPROTO");
	expect_refused("{", "EPROTO");
	expect_refused("{\"cmd\":\"status\"", "EPROTO");
	expect_refused("{\"cmd\":\"status\"} x", "EPROTO");
	expect_refused("{\"cmd\":\"status\"}{}", "EPROTO");
	expect_refused("[\"status\"]", "EPROTO");
	expect_refused("\"status\"", "EPROTO");
	expect_refused("{}", "EPROTO");
	expect_refused("{\"cmd\":7}", "EPROTO");
	expect_refused("{\"cmd\":\"status\",\"extra\":1}", "EPROTO");
	expect_refused("{\"cmd\":\"reboot-host\"}", "EOPNOTSUPP");
	expect_refused("{\"cmd\":\"Status\"}", "EOPNOTSUPP");
	expect_refused("{\"cmd\":\"status\",\"args\":[]}", "EINVAL");
	expect_refused("{\"cmd\":\"status\",\"args\":{\"x\":1}}", "EINVAL");
	expect_refused("{\"cmd\":\"snapshot\"}", "EINVAL");
	expect_refused("{\"cmd\":\"snapshot\",\"args\":{}}", "EINVAL");
	expect_refused("{\"cmd\":\"snapshot\",\"args\":{\"dir\":\"\"}}", "EINVAL");
	expect_refused("{\"cmd\":\"snapshot\",\"args\":{\"dir\":5}}", "EINVAL");
	expect_refused("{\"cmd\":\"snapshot\",\"args\":{\"dir\":\"a\\u0000b\"}}",
		       "EINVAL");
	expect_refused("{\"cmd\":\"snapshot\",\"args\":{\"dir\":\"a\\nb\"}}",
		       "EINVAL");
	expect_refused("{\"cmd\":\"snapshot\",\"args\":{\"dir\":\"d\","
		       "\"diff\":1}}", "EINVAL");
	expect_refused("{\"cmd\":\"migrate\",\"args\":{\"dir\":\"d\"}}", "EINVAL");
	expect_refused("{\"cmd\":\"migrate\",\"args\":{\"uri\":\"u\","
		       "\"max_downtime_ms\":-1}}", "EINVAL");
	expect_refused("{\"cmd\":\"stop\",\"args\":{\"timeout\":\"5\"}}", "EINVAL");
	expect_refused("{\"cmd\":\"stop\",\"args\":{\"timeout\":1e300}}", "EINVAL");
	expect_refused("{\"cmd\":\"stop\",\"args\":{\"timeout\":-0.1}}", "EINVAL");

	/* Nesting beyond API_JSON_DEPTH is malformed, not a stack hazard. */
	char deep[4 * API_JSON_DEPTH + 64];
	size_t n = (size_t)sprintf(deep, "{\"cmd\":\"status\",\"id\":");
	for (int i = 0; i < 2 * API_JSON_DEPTH; i++)
		deep[n++] = '[';
	for (int i = 0; i < 2 * API_JSON_DEPTH; i++)
		deep[n++] = ']';
	strcpy(deep + n, "}");
	expect_refused(deep, "EPROTO");

	/* An unknown command's error still carries the id. */
	struct api_request r;
	const char *code;
	assert_true(parse("{\"id\":\"x\",\"cmd\":\"nope\"}", &r, &code) < 0);
	assert_string_equal(json_object_get_string(r.id), "x");
	api_request_free(&r);
}

/* line must be one '\n'-terminated JSON object; returns it parsed. */
static struct json_object *one_line(char *line)
{
	assert_non_null(line);
	size_t n = strlen(line);
	assert_true(n > 1 && line[n - 1] == '\n');
	assert_null(memchr(line, '\n', n - 1));
	struct json_object *j = json_tokener_parse(line);
	assert_non_null(j);
	free(line);
	return j;
}

static const char *get_str(struct json_object *o, const char *k)
{
	struct json_object *v;
	assert_true(json_object_object_get_ex(o, k, &v));
	return json_object_get_string(v);
}

static void replies_and_events(void **state)
{
	struct json_object *g = one_line(api_greeting("1.2")), *v, *w;
	assert_true(json_object_object_get_ex(g, "ringvm", &v));
	assert_string_equal(get_str(v, "version"), "1.2");
	assert_true(json_object_object_get_ex(v, "protocol", &w));
	assert_int_equal(json_object_get_int(w), API_PROTOCOL);
	assert_string_equal(get_str(g, "type"), "vm");
	json_object_put(g);

	struct json_object *id = json_object_new_string("req/1");
	struct json_object *res = json_object_new_object();
	json_object_object_add(res, "state", json_object_new_string("a\nb"));
	struct json_object *r = one_line(api_reply_ok(id, res));
	assert_string_equal(get_str(r, "id"), "req/1");
	assert_true(json_object_object_get_ex(r, "ok", &v));
	assert_true(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(r, "result", &v));
	assert_string_equal(get_str(v, "state"), "a\nb");
	json_object_put(r);
	json_object_put(res);

	r = one_line(api_reply_ok(NULL, NULL));
	assert_true(json_object_object_get_ex(r, "id", &v));
	assert_null(v);
	assert_true(json_object_object_get_ex(r, "result", &v));
	assert_true(json_object_is_type(v, json_type_object));
	json_object_put(r);

	r = one_line(api_reply_error(id, "EINVAL", "bad \"thing\""));
	assert_true(json_object_object_get_ex(r, "ok", &v));
	assert_false(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(r, "error", &v));
	assert_string_equal(get_str(v, "code"), "EINVAL");
	assert_string_equal(get_str(v, "message"), "bad \"thing\"");
	json_object_put(r);
	json_object_put(id);

	r = one_line(api_event("pause", 1234567890123ull, NULL));
	assert_string_equal(get_str(r, "event"), "pause");
	assert_true(json_object_object_get_ex(r, "time_ns", &v));
	assert_true(json_object_get_int64(v) == 1234567890123ll);
	assert_true(json_object_object_get_ex(r, "data", &v));
	assert_int_equal(json_object_object_length(v), 0);
	json_object_put(r);
}

static void errno_codes(void **state)
{
	assert_string_equal(api_errno_code(-EINVAL), "EINVAL");
	assert_string_equal(api_errno_code(-ENOSYS), "ENOSYS");
	assert_string_equal(api_errno_code(-EBUSY), "EBUSY");
	assert_string_equal(api_errno_code(-12345), "EIO");
	assert_string_equal(api_cmd_name(API_CMD_MIGRATE_CANCEL),
			    "migrate-cancel");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lines_split_across_reads),
		cmocka_unit_test(overlong_line_reported_once_then_skipped),
		cmocka_unit_test(requests_valid),
		cmocka_unit_test(requests_refused),
		cmocka_unit_test(replies_and_events),
		cmocka_unit_test(errno_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
