/* Unit tests for src/container/config.c: OCI config.json parsing, valid
 * and hostile, and src/container/cgroup.c's cgroupsPath mapping and
 * state.c's id check. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <linux/capability.h>
#include <stdio.h>
#include <string.h>

#include "container/cgroup.h"
#include "container/config.h"
#include "container/runtime.h"
#include "container/state.h"

#define MINI_HEAD "{\"ociVersion\":\"1.1.0\",\"root\":{\"path\":\"rootfs\"},"
#define MINI MINI_HEAD "\"process\":{\"args\":[\"/bin/true\"]}"

static int parse(const char *s, struct oci_config *c, struct err *e)
{
	err_clear(e);
	return oci_config_parse(s, strlen(s), c, e);
}

/* Expect a refusal whose message contains `field`. */
static void refused(const char *json, const char *field)
{
	struct oci_config c;
	struct err e = { 0 };
	int r = parse(json, &c, &e);
	if (r == 0 || !strstr(e.msg, field))
		fail_msg("%s: want an error naming `%s`, got %d `%s`", json,
			 field, r, e.msg);
	/* Nothing to free after an error: cfg is zeroed. */
	assert_null(c.args);
	assert_null(c.mounts);
}

static void minimal(void **state)
{
	struct oci_config c;
	struct err e = { 0 };
	assert_int_equal(parse(MINI "}", &c, &e), 0);
	assert_string_equal(c.args[0], "/bin/true");
	assert_null(c.args[1]);
	assert_string_equal(c.cwd, "/");
	assert_string_equal(c.root_path, "rootfs");
	assert_false(c.has_caps);
	assert_int_equal(c.mem_limit, -1);
	assert_int_equal(c.pids_limit, -1);
	assert_null(c.seccomp);
	oci_config_free(&c);
}

static void full(void **state)
{
	const char *j = MINI_HEAD
		"\"process\":{\"args\":[\"sh\",\"-c\",\"x\"],\"env\":[\"A=b\"],"
		"\"cwd\":\"/tmp\",\"terminal\":true,\"noNewPrivileges\":true,"
		"\"user\":{\"uid\":1000,\"gid\":100,\"additionalGids\":[5,6]},"
		"\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":10,\"hard\":18446744073709551615}],"
		"\"capabilities\":{\"bounding\":[\"CAP_KILL\",\"CAP_CHOWN\"],"
		"\"ambient\":[\"CAP_NET_RAW\"]},\"futureField\":{}},"
		"\"hostname\":\"h\",\"unknownTop\":[1,2,{\"x\":null}],"
		"\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
		"{\"destination\":\"/data\",\"source\":\"/srv\",\"options\":[\"rbind\",\"ro\"]}],"
		"\"annotations\":{\"k\":\"v\"},"
		"\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\","
		"\"path\":\"/run/netns/x\"},{\"type\":\"mount\"}],"
		"\"cgroupsPath\":\"/a/b\",\"resources\":{\"memory\":{\"limit\":67108864},"
		"\"pids\":{\"limit\":100},\"cpu\":{\"quota\":50000,\"period\":100000},"
		"\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]},"
		"\"maskedPaths\":[\"/proc/kcore\"],\"readonlyPaths\":[\"/proc/sys\"],"
		"\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,"
		"\"architectures\":[\"SCMP_ARCH_X86_64\"],"
		"\"syscalls\":[{\"names\":[\"read\",\"write\"],\"action\":\"SCMP_ACT_ALLOW\"},"
		"{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":"
		"[{\"index\":0,\"value\":8,\"op\":\"SCMP_CMP_EQ\"}]}]}}}";
	struct oci_config c;
	struct err e = { 0 };
	assert_int_equal(parse(j, &c, &e), 0);
	assert_string_equal(c.args[2], "x");
	assert_string_equal(c.env[0], "A=b");
	assert_string_equal(c.cwd, "/tmp");
	assert_true(c.terminal);
	assert_true(c.no_new_privileges);
	assert_int_equal(c.uid, 1000);
	assert_int_equal(c.gid, 100);
	assert_int_equal(c.n_additional_gids, 2);
	assert_int_equal(c.additional_gids[1], 6);
	assert_int_equal(c.n_rlimits, 1);
	assert_int_equal(c.rlimits[0].soft, 10);
	assert_true(c.rlimits[0].hard == UINT64_MAX);
	assert_string_equal(c.rlimits[0].name, "RLIMIT_NOFILE");
	assert_true(c.has_caps);
	assert_int_equal(c.caps[OCI_CAP_BOUNDING], 1ull << CAP_KILL | 1ull << CAP_CHOWN);
	assert_int_equal(c.caps[OCI_CAP_AMBIENT], 1ull << CAP_NET_RAW);
	assert_int_equal(c.caps[OCI_CAP_EFFECTIVE], 0);
	assert_string_equal(c.hostname, "h");
	assert_int_equal(c.nmounts, 2);
	assert_null(c.mounts[1].type);
	assert_string_equal(c.mounts[1].options[1], "ro");
	assert_true(c.ns_wanted[OCI_NS_PID]);
	assert_true(c.ns_wanted[OCI_NS_NET]);
	assert_false(c.ns_wanted[OCI_NS_UTS]);
	assert_string_equal(c.ns_path[OCI_NS_NET], "/run/netns/x");
	assert_int_equal(c.mem_limit, 67108864);
	assert_int_equal(c.pids_limit, 100);
	assert_int_equal(c.cpu_quota, 50000);
	assert_int_equal(c.cpu_period, 100000);
	assert_string_equal(c.masked_paths[0], "/proc/kcore");
	assert_string_equal(c.annotations[0], "k");
	assert_string_equal(c.annotations[1], "v");
	assert_non_null(c.seccomp);
	assert_int_equal(c.seccomp->default_action, OCI_SC_ERRNO);
	assert_int_equal(c.seccomp->default_errno, 38);
	assert_int_equal(c.seccomp->nrules, 2);
	assert_int_equal(c.seccomp->rules[1].nargs, 1);
	assert_int_equal(c.seccomp->rules[1].args[0].op, OCI_SC_EQ);
	assert_int_equal(c.seccomp->rules[1].args[0].value, 8);
	oci_config_free(&c);

	const char *u = MINI ",\"linux\":{\"namespaces\":[{\"type\":\"user\"},{\"type\":\"pid\"}],"
		"\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"
		"\"gidMappings\":[{\"containerID\":0,\"hostID\":200000,\"size\":1},"
		"{\"containerID\":5,\"hostID\":5,\"size\":1}]}}";
	assert_int_equal(parse(u, &c, &e), 0);
	assert_true(c.ns_wanted[OCI_NS_USER]);
	assert_int_equal(c.n_uid_maps, 1);
	assert_int_equal(c.uid_maps[0].host_id, 100000);
	assert_int_equal(c.uid_maps[0].size, 65536);
	assert_int_equal(c.n_gid_maps, 2);
	assert_int_equal(c.gid_maps[1].container_id, 5);
	oci_config_free(&c);
}

static void hostile(void **state)
{
	refused("", "not valid JSON");
	refused("{", "not valid JSON");
	refused("[]", "config");
	refused("{\"ociVersion\":\"1.0.0\"} trailing", "not valid JSON");
	refused("{}", "ociVersion");
	refused("{\"ociVersion\":2}", "ociVersion");
	refused("{\"ociVersion\":\"0.9\",\"root\":{\"path\":\"r\"}}", "ociVersion");
	refused(MINI_HEAD "\"process\":{}}", "process.args");
	refused(MINI_HEAD "\"process\":{\"args\":[]}}", "process.args");
	refused(MINI_HEAD "\"process\":{\"args\":\"sh\"}}", "process.args");
	refused(MINI_HEAD "\"process\":{\"args\":[1]}}", "process.args");
	refused(MINI_HEAD "\"process\":{\"args\":[\"a\\u0000b\"]}}", "process.args");
	refused(MINI_HEAD "\"process\":{\"args\":[\"a\"],\"cwd\":\"rel\"}}", "process.cwd");
	refused(MINI_HEAD "\"process\":{\"args\":[\"a\"],\"terminal\":1}}", "process.terminal");
	refused(MINI_HEAD "\"process\":{\"args\":[\"a\"],\"user\":{\"uid\":-1}}}", "process.user.uid");
	refused(MINI_HEAD "\"process\":{\"args\":[\"a\"],\"user\":{\"uid\":4294967296}}}", "process.user.uid");
	refused(MINI_HEAD "\"process\":{\"args\":[\"a\"],\"user\":{\"gid\":1.5}}}", "process.user.gid");
	refused(MINI_HEAD "\"process\":{\"args\":[\"a\"],\"capabilities\":{\"bounding\":[\"CAP_NOPE\"]}}}",
		"unknown capability");
	refused("{\"ociVersion\":\"1.1.0\",\"process\":{\"args\":[\"a\"]}}", "root");
	refused("{\"ociVersion\":\"1.1.0\",\"root\":{},\"process\":{\"args\":[\"a\"]}}", "root.path");
	refused(MINI ",\"mounts\":{}}", "mounts");
	refused(MINI ",\"mounts\":[{\"type\":\"proc\"}]}", "mounts[0]");
	refused(MINI ",\"mounts\":[{\"destination\":\"rel\"}]}", "mounts[0]");
	refused(MINI ",\"mounts\":[{\"destination\":\"/x\",\"options\":[null,1]}]}", "mounts[].options");
	refused(MINI ",\"linux\":{\"namespaces\":[{\"type\":\"bogus\"}]}}", "unknown namespace");
	refused(MINI ",\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]}}", "twice");
	refused(MINI ",\"linux\":{\"namespaces\":[{\"type\":\"pid\",\"path\":\"/proc/1/ns/pid\"}]}}",
		"pid namespace by path");
	refused(MINI ",\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"rel\"}]}}",
		"linux.namespaces[].path");
	refused(MINI ",\"linux\":{\"resources\":{\"memory\":{\"limit\":\"1G\"}}}}",
		"linux.resources.memory.limit");
	refused(MINI ",\"linux\":{\"resources\":{\"memory\":{\"limit\":0}}}}",
		"linux.resources.memory.limit");
	refused(MINI ",\"linux\":{\"resources\":{\"pids\":{\"limit\":-2}}}}",
		"linux.resources.pids.limit");
	refused(MINI ",\"linux\":{\"resources\":{\"cpu\":{\"period\":10}}}}",
		"linux.resources.cpu.period");
	refused(MINI ",\"linux\":{\"maskedPaths\":[\"proc\"]}}", "linux.maskedPaths");
	refused(MINI ",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_NOPE\"}}}",
		"linux.seccomp.defaultAction");
	refused(MINI ",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\","
		"\"syscalls\":[{\"names\":[\"x\"],\"action\":\"SCMP_ACT_ERRNO\","
		"\"args\":[{\"index\":6,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}}}",
		"index must be 0..5");
	refused(MINI ",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\","
		"\"syscalls\":[{\"names\":[\"x\"],\"action\":\"SCMP_ACT_ERRNO\","
		"\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_XX\"}]}]}}}",
		"op missing or unknown");
	refused(MINI ",\"annotations\":{\"k\":1}}", "annotations");
	refused(MINI_HEAD "\"process\":{\"args\":[\"a\"],\"rlimits\":[{\"type\":\"RLIMIT_BOGUS\",\"soft\":1,\"hard\":1}]}}",
		"process.rlimits[0].type");
	refused(MINI_HEAD "\"process\":{\"args\":[\"a\"],\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":2,\"hard\":1}]}}",
		"soft above hard");
	refused(MINI_HEAD "\"process\":{\"args\":[\"a\"],\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":-1,\"hard\":1}]}}",
		"negative");
	refused(MINI_HEAD "\"process\":{\"args\":[\"a\"],\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1}]}}",
		"soft and hard");
	refused(MINI_HEAD "\"process\":{\"args\":[\"a\"],\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":1},"
		"{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":1}]}}", "twice");
	refused(MINI ",\"linux\":{\"namespaces\":[{\"type\":\"user\"}]}}",
		"needs uidMappings and gidMappings");
	refused(MINI ",\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}],"
		"\"gidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}}",
		"without a user namespace");
	refused(MINI ",\"linux\":{\"namespaces\":[{\"type\":\"user\"}],"
		"\"uidMappings\":[{\"containerID\":0,\"hostID\":4294967295,\"size\":1}]}}",
		"linux.uidMappings");
	refused(MINI ",\"linux\":{\"namespaces\":[{\"type\":\"user\"}],"
		"\"uidMappings\":[{\"containerID\":0,\"hostID\":4000000000,\"size\":400000000}]}}",
		"fit in 32 bits");
	refused(MINI ",\"linux\":{\"namespaces\":[{\"type\":\"user\"}],"
		"\"uidMappings\":[{\"containerID\":0,\"hostID\":1}]}}",
		"linux.uidMappings");
	refused(MINI ",\"hooks\":{\"prestart\":[{\"path\":\"/bin/x\"}]}}", "hooks");
}

static void deep_nesting_and_size(void **state)
{
	/* Deeper than the tokenizer's limit: refused, not a stack overflow. */
	size_t n = 100000;
	char *s = malloc(2 * n + 1);
	assert_non_null(s);
	memset(s, '[', n);
	memset(s + n, ']', n);
	s[2 * n] = '\0';
	refused(s, "not valid JSON");
	free(s);
	/* Unknown fields nested deep inside the limit are ignored. */
	refused(MINI ",\"x\":" "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
		"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
		"not valid JSON");
	struct oci_config c;
	struct err e = { 0 };
	assert_int_equal(parse(MINI ",\"x\":[[[[{\"y\":[1]}]]]]}", &c, &e), 0);
	oci_config_free(&c);
	/* Over the size bound. */
	assert_int_equal(oci_config_parse("{}", OCI_MAX_CONFIG + 1, &c, &e), -EINVAL);
	/* A string over OCI_MAX_STR. */
	size_t big = OCI_MAX_STR + 10;
	char *j = malloc(big + 200);
	assert_non_null(j);
	int k = sprintf(j, MINI_HEAD "\"process\":{\"args\":[\"");
	memset(j + k, 'a', big);
	strcpy(j + k + big, "\"]}}");
	refused(j, "process.args");
	free(j);
}

/* process.oomScoreAdj and linux.sysctl: parsed, bounded, and only
 * sysctls of a namespace the container has of its own. */
static void sysctl_and_oom(void **state)
{
	(void)state;
	struct oci_config c;
	struct err e = { 0 };
	const char *ok = MINI_HEAD "\"process\":{\"args\":[\"a\"],\"oomScoreAdj\":-500},"
		"\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},"
		"{\"type\":\"network\"},{\"type\":\"ipc\"},{\"type\":\"uts\"}],"
		"\"sysctl\":{\"net.ipv4.ip_forward\":\"1\",\"kernel.shmmax\":\"65536\","
		"\"fs.mqueue.msg_max\":\"20\",\"kernel.domainname\":\"example.org\","
		"\"net.ipv4.ping_group_range\":\"0 2147483647\"}}}";
	assert_int_equal(parse(ok, &c, &e), 0);
	assert_true(c.has_oom_score_adj);
	assert_int_equal(c.oom_score_adj, -500);
	size_t n = 0;
	for (char **kv = c.sysctl; kv && kv[0]; kv += 2, n++)
		if (!strcmp(kv[0], "net.ipv4.ping_group_range"))
			assert_string_equal(kv[1], "0 2147483647");
	assert_int_equal(n, 5);
	oci_config_free(&c);
	assert_int_equal(parse(MINI "}", &c, &e), 0);
	assert_false(c.has_oom_score_adj);
	assert_null(c.sysctl);
	oci_config_free(&c);

#define NS(list) "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"}" list "],"
	refused(MINI_HEAD "\"process\":{\"args\":[\"a\"],\"oomScoreAdj\":1001}}", "process.oomScoreAdj");
	refused(MINI_HEAD "\"process\":{\"args\":[\"a\"],\"oomScoreAdj\":-1001}}", "process.oomScoreAdj");
	refused(MINI_HEAD "\"process\":{\"args\":[\"a\"],\"oomScoreAdj\":\"5\"}}", "process.oomScoreAdj");
	/* Host-wide parameters, and namespaced ones without the namespace. */
	refused(MINI "," NS(",{\"type\":\"network\"}") "\"sysctl\":{\"kernel.pid_max\":\"9\"}}}",
		"kernel.pid_max` is not in a kernel namespace");
	refused(MINI "," NS(",{\"type\":\"network\"}") "\"sysctl\":{\"vm.overcommit_memory\":\"1\"}}}",
		"vm.overcommit_memory");
	refused(MINI "," NS("") "\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"}}}",
		"needs a network namespace");
	refused(MINI "," NS("") "\"sysctl\":{\"kernel.shmmax\":\"1\"}}}",
		"needs a ipc namespace");
	refused(MINI "," NS("") "\"sysctl\":{\"kernel.hostname\":\"h\"}}}",
		"needs a uts namespace");
	/* Names that are not sysctl names, or could leave /proc/sys. */
	refused(MINI "," NS(",{\"type\":\"network\"}") "\"sysctl\":{\"net/../../etc\":\"1\"}}}",
		"not a sysctl name");
	refused(MINI "," NS(",{\"type\":\"network\"}") "\"sysctl\":{\"net..ipv4\":\"1\"}}}",
		"not a sysctl name");
	refused(MINI "," NS(",{\"type\":\"network\"}") "\"sysctl\":{\".net\":\"1\"}}}",
		"not a sysctl name");
	refused(MINI "," NS(",{\"type\":\"network\"}") "\"sysctl\":{\"\":\"1\"}}}",
		"not a sysctl name");
	refused(MINI "," NS(",{\"type\":\"network\"}") "\"sysctl\":{\"net.ipv4.ip_forward\":1}}}",
		"linux.sysctl");
	refused(MINI "," NS(",{\"type\":\"network\"}") "\"sysctl\":[\"net.a=1\"]}}",
		"linux.sysctl");
#undef NS
}

static void cgroup_paths(void **state)
{
	struct oci_config c = { 0 };
	struct err e = { 0 };
	char p[256];
	assert_int_equal(cgroup_path(&c, "abc", p, sizeof(p), &e), 0);
	assert_string_equal(p, "/ringvm/abc");
	c.cgroups_path = "machine.slice:libpod:123";
	assert_int_equal(cgroup_path(&c, "x", p, sizeof(p), &e), 0);
	assert_string_equal(p, "/machine.slice/libpod-123.scope");
	c.cgroups_path = "rel/x";
	assert_int_equal(cgroup_path(&c, "x", p, sizeof(p), &e), 0);
	assert_string_equal(p, "/rel/x");
	c.cgroups_path = "/a/../../etc";
	assert_int_equal(cgroup_path(&c, "x", p, sizeof(p), &e), -EINVAL);
	err_clear(&e);
	c.cgroups_path = "..";
	assert_int_equal(cgroup_path(&c, "x", p, sizeof(p), &e), -EINVAL);
	err_clear(&e);
	c.cgroups_path = "/a/..b/c..";
	assert_int_equal(cgroup_path(&c, "x", p, sizeof(p), &e), 0);
	c.cgroups_path = "a:b";
	assert_int_equal(cgroup_path(&c, "x", p, sizeof(p), &e), -EINVAL);
}

static void ids_and_signals(void **state)
{
	struct err e = { 0 };
	assert_int_equal(state_check_id("web-1_a.b+c", &e), 0);
	assert_int_equal(state_check_id("..", &e), -EINVAL);
	err_clear(&e);
	assert_int_equal(state_check_id("a/b", &e), -EINVAL);
	err_clear(&e);
	assert_int_equal(state_check_id("", &e), -EINVAL);
	err_clear(&e);
	assert_int_equal(rt_parse_signal("TERM", &e), 15);
	assert_int_equal(rt_parse_signal("SIGKILL", &e), 9);
	assert_int_equal(rt_parse_signal("sigusr1", &e), 10);
	assert_int_equal(rt_parse_signal("2", &e), 2);
	assert_int_equal(rt_parse_signal("0", &e), -EINVAL);
	err_clear(&e);
	assert_int_equal(rt_parse_signal("99", &e), -EINVAL);
	err_clear(&e);
	assert_int_equal(rt_parse_signal("BOGUS", &e), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(minimal),
		cmocka_unit_test(full),
		cmocka_unit_test(hostile),
		cmocka_unit_test(deep_nesting_and_size),
		cmocka_unit_test(sysctl_and_oom),
		cmocka_unit_test(cgroup_paths),
		cmocka_unit_test(ids_and_signals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
