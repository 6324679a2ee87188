/* Unit tests for src/container/state.c: state.json round trip, a tampered
 * or corrupt state file, status of a dead pid, the runtime-spec JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "container/state.h"

static char root[64];

static int setup(void **state)
{
	snprintf(root, sizeof(root), "/tmp/ringvm-state-XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static void write_state(const char *id, const char *json)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", root, id);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/%s/state.json", root, id);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(json, f);
	fclose(f);
}

static void round_trip(void **state)
{
	struct ctr_state st = { .pid = getpid(), .cg = { .version = 1, .ndirs = 2 } };
	struct err e = { 0 };
	bool z;
	snprintf(st.id, sizeof(st.id), "c1");
	snprintf(st.bundle, sizeof(st.bundle), "/b");
	snprintf(st.created, sizeof(st.created), "2026-01-01T00:00:00Z");
	snprintf(st.cg.dirs[0], sizeof(st.cg.dirs[0]), "/sys/fs/cgroup/memory/ringvm/c1");
	snprintf(st.cg.dirs[1], sizeof(st.cg.dirs[1]), "/sys/fs/cgroup/pids/ringvm/c1");
	st.starttime = state_proc_starttime(getpid(), &z);
	assert_true(st.starttime > 0);
	assert_false(z);
	st.annotations_json = strdup("{\"k\":\"v\"}");
	char p[256];
	snprintf(p, sizeof(p), "%s/c1", root);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(state_save(root, &st, &e), 0);
	state_free(&st);

	struct ctr_state l;
	assert_int_equal(state_load(root, "c1", &l, &e), 0);
	assert_int_equal(l.pid, getpid());
	assert_string_equal(l.bundle, "/b");
	assert_int_equal(l.cg.ndirs, 2);
	assert_string_equal(l.cg.dirs[1], "/sys/fs/cgroup/pids/ringvm/c1");
	/* Our own pid and start time: alive; no fifo: running. */
	assert_int_equal(state_status(root, &l), CTR_RUNNING);
	char *j = state_oci_json(&l, CTR_RUNNING);
	struct json_object *o = json_tokener_parse(j);
	assert_non_null(o);
	struct json_object *v;
	assert_true(json_object_object_get_ex(o, "status", &v));
	assert_string_equal(json_object_get_string(v), "running");
	assert_true(json_object_object_get_ex(o, "annotations", &v));
	assert_true(json_object_object_get_ex(v, "k", &v));
	assert_string_equal(json_object_get_string(v), "v");
	json_object_put(o);
	free(j);
	/* A reused pid (other start time) is stopped, pid 0 in the JSON. */
	l.starttime++;
	assert_int_equal(state_status(root, &l), CTR_STOPPED);
	j = state_oci_json(&l, CTR_STOPPED);
	assert_non_null(strstr(j, "\"pid\":0"));
	free(j);
	state_free(&l);
	assert_int_equal(state_remove(root, "c1", &e), 0);
	assert_int_equal(state_load(root, "c1", &l, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "does not exist"));
}

static void hostile_state(void **state)
{
	struct ctr_state l;
	struct err e = { 0 };
	/* cgroup dirs outside the cgroup mount are never kept (delete would
	 * rmdir them). */
	write_state("t1", "{\"pid\":1,\"cgroup_dirs\":[\"/etc\",\"/sys/fs/cgroup/../../etc\","
		    "\"/sys/fs/cgroup/pids/x\",5,null],\"bundle\":7}");
	assert_int_equal(state_load(root, "t1", &l, &e), 0);
	assert_int_equal(l.cg.ndirs, 1);
	assert_string_equal(l.cg.dirs[0], "/sys/fs/cgroup/pids/x");
	assert_string_equal(l.bundle, "");
	state_free(&l);
	write_state("t2", "{\"pid\":");
	err_clear(&e);
	assert_int_equal(state_load(root, "t2", &l, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "corrupt"));
	write_state("t3", "{\"pid\":0}");
	err_clear(&e);
	assert_int_equal(state_load(root, "t3", &l, &e), -EINVAL);
	state_free(&l);
	err_clear(&e);
	assert_int_equal(state_load(root, "../t1", &l, &e), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_state, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
