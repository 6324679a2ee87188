/* OCI runtime-spec config.json parser (the subset in config.h). */
#include "container/config.h"
#include "container/json_doc.h"
#include "container/sysctl.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

static const char *const ns_names[OCI_NS_COUNT] = {
	[OCI_NS_PID] = "pid", [OCI_NS_NET] = "network",
	[OCI_NS_MOUNT] = "mount", [OCI_NS_IPC] = "ipc", [OCI_NS_UTS] = "uts",
	[OCI_NS_USER] = "user", [OCI_NS_CGROUP] = "cgroup",
	[OCI_NS_TIME] = "time",
};

const char *oci_ns_name(enum oci_ns ns)
{
	return ns < OCI_NS_COUNT ? ns_names[ns] : "?";
}

/* Capability names (without the CAP_ prefix) by number; a table of our own
 * so that the parser does not need libcap. */
#define C(n) [CAP_##n] = #n
static const char *const cap_names[CAP_LAST_CAP + 1] = {
	C(CHOWN), C(DAC_OVERRIDE), C(DAC_READ_SEARCH), C(FOWNER), C(FSETID),
	C(KILL), C(SETGID), C(SETUID), C(SETPCAP), C(LINUX_IMMUTABLE),
	C(NET_BIND_SERVICE), C(NET_BROADCAST), C(NET_ADMIN), C(NET_RAW),
	C(IPC_LOCK), C(IPC_OWNER), C(SYS_MODULE), C(SYS_RAWIO), C(SYS_CHROOT),
	C(SYS_PTRACE), C(SYS_PACCT), C(SYS_ADMIN), C(SYS_BOOT), C(SYS_NICE),
	C(SYS_RESOURCE), C(SYS_TIME), C(SYS_TTY_CONFIG), C(MKNOD), C(LEASE),
	C(AUDIT_WRITE), C(AUDIT_CONTROL), C(SETFCAP), C(MAC_OVERRIDE),
	C(MAC_ADMIN), C(SYSLOG), C(WAKE_ALARM), C(BLOCK_SUSPEND),
	C(AUDIT_READ), C(PERFMON), C(BPF), C(CHECKPOINT_RESTORE),
};
#undef C

uint64_t oci_default_caps(void)
{
	return 1ull << CAP_AUDIT_WRITE | 1ull << CAP_KILL |
	       1ull << CAP_NET_BIND_SERVICE;
}

static int cap_from_oci_name(const char *s)
{
	if (strncmp(s, "CAP_", 4))
		return -1;
	for (int i = 0; i <= CAP_LAST_CAP; i++)
		if (cap_names[i] && !strcmp(s + 4, cap_names[i]))
			return i;
	return -1;
}

/* ---- typed accessors: each names the field on error ---- */

static int bad(struct err *e, const char *field, const char *what)
{
	return err_set(e, EINVAL, "%s: %s", field, what);
}

/* A JSON string without NULs, at most OCI_MAX_STR bytes, duplicated. */
static int dup_str(struct json_object *v, const char *field, char **out,
		   struct err *e)
{
	if (!json_object_is_type(v, json_type_string))
		return bad(e, field, "must be a string");
	const char *s = json_object_get_string(v);
	size_t n = (size_t)json_object_get_string_len(v);
	if (n > OCI_MAX_STR || strlen(s) != n)
		return bad(e, field, "string too long or contains NUL");
	*out = strdup(s);
	return *out ? 0 : err_set(e, ENOMEM, "%s: out of memory", field);
}

static struct json_object *field(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;
	if (o && json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, k, &v) &&
	    !json_object_is_type(v, json_type_null))
		return v;
	return NULL;
}

static int opt_str(struct json_object *o, const char *k, const char *name,
		   char **out, struct err *e)
{
	struct json_object *v = field(o, k);
	return v ? dup_str(v, name, out, e) : 0;
}

static int opt_bool(struct json_object *o, const char *k, const char *name,
		    bool *out, struct err *e)
{
	struct json_object *v = field(o, k);
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return bad(e, name, "must be true or false");
	*out = json_object_get_boolean(v);
	return 0;
}

/* An integer in [lo, hi]; json-c keeps integers as int64 or uint64. */
static int int_in(struct json_object *v, const char *name, int64_t lo,
		  int64_t hi, int64_t *out, struct err *e)
{
	if (!json_object_is_type(v, json_type_int))
		return bad(e, name, "must be an integer");
	errno = 0;
	int64_t x = json_object_get_int64(v);
	if (errno || x < lo || x > hi)
		return bad(e, name, "out of range");
	*out = x;
	return 0;
}

static int opt_int(struct json_object *o, const char *k, const char *name,
		   int64_t lo, int64_t hi, int64_t *out, struct err *e)
{
	struct json_object *v = field(o, k);
	return v ? int_in(v, name, lo, hi, out, e) : 0;
}

static void free_strv(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* An array of strings (NULL-terminated copy); absolute: each must start
 * with '/'. */
static int str_array(struct json_object *v, const char *name, bool absolute,
		     char ***out, struct err *e)
{
	if (!json_object_is_type(v, json_type_array))
		return bad(e, name, "must be an array of strings");
	size_t n = json_object_array_length(v);
	if (n > OCI_MAX_LIST)
		return bad(e, name, "too many entries");
	char **a = calloc(n + 1, sizeof(*a));
	if (!a)
		return err_set(e, ENOMEM, "%s: out of memory", name);
	for (size_t i = 0; i < n; i++) {
		int r = dup_str(json_object_array_get_idx(v, i), name, &a[i], e);
		if (!r && absolute && a[i][0] != '/')
			r = bad(e, name, "paths must be absolute");
		if (r) {
			free_strv(a);
			return r;
		}
	}
	*out = a;
	return 0;
}

static int opt_str_array(struct json_object *o, const char *k,
			 const char *name, bool absolute, char ***out,
			 struct err *e)
{
	struct json_object *v = field(o, k);
	return v ? str_array(v, name, absolute, out, e) : 0;
}

/* ---- sections ---- */

static int parse_caps(struct json_object *c, struct oci_config *cfg,
		      struct err *e)
{
	static const char *const sets[5] = { "bounding", "effective",
		"inheritable", "permitted", "ambient" };
	if (!json_object_is_type(c, json_type_object))
		return bad(e, "process.capabilities", "must be an object");
	cfg->has_caps = true;
	for (int s = 0; s < 5; s++) {
		char name[64];
		snprintf(name, sizeof(name), "process.capabilities.%s", sets[s]);
		char **v = NULL;
		int r = opt_str_array(c, sets[s], name, false, &v, e);
		if (r)
			return r;
		for (char **p = v; p && *p; p++) {
			int n = cap_from_oci_name(*p);
			/* Unknown names are errors: silently dropping one
			 * would run with fewer (or, for a typo in a drop
			 * list, more) privileges than asked. */
			if (n < 0) {
				r = err_set(e, EINVAL, "%s: unknown capability `%.64s`",
					    name, *p);
				break;
			}
			cfg->caps[s] |= 1ull << n;
		}
		free_strv(v);
		if (r)
			return r;
	}
	return 0;
}

static int parse_rlimits(struct json_object *a, struct oci_config *cfg,
			 struct err *e)
{
	static const struct { const char *n; int r; } t[] = {
		{ "RLIMIT_AS", RLIMIT_AS }, { "RLIMIT_CORE", RLIMIT_CORE },
		{ "RLIMIT_CPU", RLIMIT_CPU }, { "RLIMIT_DATA", RLIMIT_DATA },
		{ "RLIMIT_FSIZE", RLIMIT_FSIZE }, { "RLIMIT_LOCKS", RLIMIT_LOCKS },
		{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
		{ "RLIMIT_NICE", RLIMIT_NICE }, { "RLIMIT_NOFILE", RLIMIT_NOFILE },
		{ "RLIMIT_NPROC", RLIMIT_NPROC }, { "RLIMIT_RSS", RLIMIT_RSS },
		{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO }, { "RLIMIT_RTTIME", RLIMIT_RTTIME },
		{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
	};
	const char *nm = "process.rlimits";
	if (!json_object_is_type(a, json_type_array) || json_object_array_length(a) > 16)
		return bad(e, nm, "must be an array of at most 16 entries");
	size_t n = json_object_array_length(a);
	cfg->rlimits = calloc(n ? n : 1, sizeof(*cfg->rlimits));
	if (!cfg->rlimits)
		return err_set(e, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(a, i), *v;
		struct oci_rlimit *rl = &cfg->rlimits[i];
		const char *type = (v = field(o, "type")) &&
			json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
		size_t k;
		for (k = 0; k < sizeof(t) / sizeof(t[0]); k++)
			if (!strcmp(type, t[k].n))
				break;
		if (k == sizeof(t) / sizeof(t[0]))
			return err_set(e, EINVAL, "process.rlimits[%zu].type: unknown `%.32s`", i, type);
		rl->resource = t[k].r;
		rl->name = t[k].n;
		for (size_t j = 0; j < i; j++)
			if (cfg->rlimits[j].resource == rl->resource)
				return err_set(e, EINVAL, "process.rlimits: %s listed twice", type);
		struct json_object *soft = field(o, "soft"), *hard = field(o, "hard");
		if (!soft || !hard || !json_object_is_type(soft, json_type_int) ||
		    !json_object_is_type(hard, json_type_int))
			return err_set(e, EINVAL, "process.rlimits[%zu]: soft and hard must be integers", i);
		/* json-c reads values above INT64_MAX as uint64 (RLIM_INFINITY). */
		rl->soft = json_object_get_uint64(soft);
		rl->hard = json_object_get_uint64(hard);
		if (json_object_get_int64(soft) < 0 || json_object_get_int64(hard) < 0)
			return err_set(e, EINVAL, "process.rlimits[%zu]: negative limit", i);
		if (rl->soft > rl->hard)
			return err_set(e, EINVAL, "process.rlimits[%zu]: soft above hard", i);
		cfg->n_rlimits = i + 1;
	}
	return 0;
}

static int parse_process(struct json_object *p, struct oci_config *cfg,
			 struct err *e)
{
	int r;
	if (!p || !json_object_is_type(p, json_type_object))
		return bad(e, "process", "missing or not an object");
	struct json_object *args = field(p, "args");
	if (!args)
		return bad(e, "process.args", "missing");
	if ((r = str_array(args, "process.args", false, &cfg->args, e)))
		return r;
	if (!cfg->args[0] || !cfg->args[0][0])
		return bad(e, "process.args", "must name a program");
	if ((r = opt_str_array(p, "env", "process.env", false, &cfg->env, e)))
		return r;
	if ((r = opt_str(p, "cwd", "process.cwd", &cfg->cwd, e)))
		return r;
	if (!cfg->cwd && !(cfg->cwd = strdup("/")))
		return err_set(e, ENOMEM, "out of memory");
	if (cfg->cwd[0] != '/')
		return bad(e, "process.cwd", "must be an absolute path");
	if ((r = opt_bool(p, "terminal", "process.terminal", &cfg->terminal, e)) ||
	    (r = opt_bool(p, "noNewPrivileges", "process.noNewPrivileges",
			  &cfg->no_new_privileges, e)))
		return r;
	struct json_object *u = field(p, "user");
	if (u) {
		int64_t x = 0;
		if (!json_object_is_type(u, json_type_object))
			return bad(e, "process.user", "must be an object");
		if ((r = opt_int(u, "uid", "process.user.uid", 0, UINT32_MAX - 1, &x, e)))
			return r;
		cfg->uid = (uint32_t)x;
		x = 0;
		if ((r = opt_int(u, "gid", "process.user.gid", 0, UINT32_MAX - 1, &x, e)))
			return r;
		cfg->gid = (uint32_t)x;
		struct json_object *g = field(u, "additionalGids");
		if (g) {
			if (!json_object_is_type(g, json_type_array) ||
			    json_object_array_length(g) > OCI_MAX_LIST)
				return bad(e, "process.user.additionalGids",
					   "must be an array of at most 1024 gids");
			size_t n = json_object_array_length(g);
			cfg->additional_gids = calloc(n ? n : 1, sizeof(uint32_t));
			if (!cfg->additional_gids)
				return err_set(e, ENOMEM, "out of memory");
			for (size_t i = 0; i < n; i++) {
				if ((r = int_in(json_object_array_get_idx(g, i),
						"process.user.additionalGids",
						0, UINT32_MAX - 1, &x, e)))
					return r;
				cfg->additional_gids[i] = (uint32_t)x;
			}
			cfg->n_additional_gids = n;
		}
	}
	struct json_object *rl = field(p, "rlimits");
	if (rl && (r = parse_rlimits(rl, cfg, e)))
		return r;
	if (field(p, "oomScoreAdj")) {
		int64_t x = 0;
		if ((r = opt_int(p, "oomScoreAdj", "process.oomScoreAdj",
				 -1000, 1000, &x, e)))
			return r;
		cfg->has_oom_score_adj = true;
		cfg->oom_score_adj = (int)x;
	}
	struct json_object *c = field(p, "capabilities");
	return c ? parse_caps(c, cfg, e) : 0;
}

static int parse_mounts(struct json_object *m, struct oci_config *cfg,
			struct err *e)
{
	if (!json_object_is_type(m, json_type_array))
		return bad(e, "mounts", "must be an array");
	size_t n = json_object_array_length(m);
	if (n > OCI_MAX_LIST)
		return bad(e, "mounts", "too many entries");
	cfg->mounts = calloc(n ? n : 1, sizeof(*cfg->mounts));
	if (!cfg->mounts)
		return err_set(e, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(m, i);
		struct oci_mount *mt = &cfg->mounts[i];
		cfg->nmounts = i + 1;
		char name[48];
		int r;
		snprintf(name, sizeof(name), "mounts[%zu]", i);
		if (!json_object_is_type(o, json_type_object))
			return bad(e, name, "must be an object");
		if ((r = opt_str(o, "destination", "mounts[].destination",
				 &mt->destination, e)) ||
		    (r = opt_str(o, "type", "mounts[].type", &mt->type, e)) ||
		    (r = opt_str(o, "source", "mounts[].source", &mt->source, e)) ||
		    (r = opt_str_array(o, "options", "mounts[].options", false,
				       &mt->options, e)))
			return r;
		if (!mt->destination || mt->destination[0] != '/')
			return bad(e, name, "destination must be an absolute path");
	}
	return 0;
}

static int sc_action(struct json_object *v, const char *name,
		     enum oci_sc_action *out, struct err *e)
{
	static const struct { const char *s; enum oci_sc_action a; } t[] = {
		{ "SCMP_ACT_KILL", OCI_SC_KILL_THREAD },
		{ "SCMP_ACT_KILL_THREAD", OCI_SC_KILL_THREAD },
		{ "SCMP_ACT_KILL_PROCESS", OCI_SC_KILL_PROCESS },
		{ "SCMP_ACT_TRAP", OCI_SC_TRAP },
		{ "SCMP_ACT_ERRNO", OCI_SC_ERRNO },
		{ "SCMP_ACT_TRACE", OCI_SC_TRACE },
		{ "SCMP_ACT_ALLOW", OCI_SC_ALLOW },
		{ "SCMP_ACT_LOG", OCI_SC_LOG },
	};
	const char *s = v && json_object_is_type(v, json_type_string) ?
			json_object_get_string(v) : "";
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(s, t[i].s)) {
			*out = t[i].a;
			return 0;
		}
	return bad(e, name, "missing or unknown seccomp action");
}

static int parse_sc_rule(struct json_object *o, struct oci_seccomp_rule *rl,
			 struct err *e)
{
	static const char *const ops[] = { NULL, "SCMP_CMP_NE", "SCMP_CMP_LT",
		"SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
		"SCMP_CMP_MASKED_EQ" };
	const char *nm = "linux.seccomp.syscalls[]";
	int64_t x;
	int r;
	if (!json_object_is_type(o, json_type_object))
		return bad(e, nm, "must be an object");
	struct json_object *names = field(o, "names");
	if (!names)
		return bad(e, nm, "names missing");
	if ((r = str_array(names, "linux.seccomp.syscalls[].names", false,
			   &rl->names, e)) ||
	    (r = sc_action(field(o, "action"), "linux.seccomp.syscalls[].action",
			   &rl->action, e)))
		return r;
	x = 1; /* EPERM, as runc defaults errnoRet */
	if ((r = opt_int(o, "errnoRet", "linux.seccomp.syscalls[].errnoRet",
			 0, 4095, &x, e)))
		return r;
	rl->errno_ret = (uint32_t)x;
	struct json_object *a = field(o, "args");
	if (!a)
		return 0;
	if (!json_object_is_type(a, json_type_array) ||
	    json_object_array_length(a) > 6)
		return bad(e, "linux.seccomp.syscalls[].args",
			   "must be an array of at most 6 conditions");
	rl->nargs = json_object_array_length(a);
	rl->args = calloc(rl->nargs ? rl->nargs : 1, sizeof(*rl->args));
	if (!rl->args)
		return err_set(e, ENOMEM, "out of memory");
	for (size_t i = 0; i < rl->nargs; i++) {
		struct json_object *c = json_object_array_get_idx(a, i);
		struct oci_seccomp_arg *ar = &rl->args[i];
		const char *an = "linux.seccomp.syscalls[].args[]";
		struct json_object *v;
		if (!json_object_is_type(c, json_type_object) ||
		    !(v = field(c, "index")) || int_in(v, an, 0, 5, &x, NULL))
			return bad(e, an, "index must be 0..5");
		ar->index = (unsigned)x;
		if (!(v = field(c, "value")) || !json_object_is_type(v, json_type_int))
			return bad(e, an, "value must be an integer");
		ar->value = json_object_get_uint64(v);
		if ((v = field(c, "valueTwo"))) {
			if (!json_object_is_type(v, json_type_int))
				return bad(e, an, "valueTwo must be an integer");
			ar->value_two = json_object_get_uint64(v);
		}
		const char *op = (v = field(c, "op")) &&
			json_object_is_type(v, json_type_string) ?
			json_object_get_string(v) : "";
		for (int k = 1; k <= OCI_SC_MASKED_EQ; k++)
			if (!strcmp(op, ops[k]))
				ar->op = (enum oci_sc_op)k;
		if (!ar->op)
			return bad(e, an, "op missing or unknown");
	}
	return 0;
}

static int parse_seccomp(struct json_object *s, struct oci_config *cfg,
			 struct err *e)
{
	int r;
	int64_t x = 1;
	if (!json_object_is_type(s, json_type_object))
		return bad(e, "linux.seccomp", "must be an object");
	struct oci_seccomp *sc = cfg->seccomp = calloc(1, sizeof(*sc));
	if (!sc)
		return err_set(e, ENOMEM, "out of memory");
	if ((r = sc_action(field(s, "defaultAction"), "linux.seccomp.defaultAction",
			   &sc->default_action, e)) ||
	    (r = opt_int(s, "defaultErrnoRet", "linux.seccomp.defaultErrnoRet",
			 0, 4095, &x, e)))
		return r;
	sc->default_errno = (uint32_t)x;
	struct json_object *a = field(s, "syscalls");
	if (!a)
		return 0;
	if (!json_object_is_type(a, json_type_array) ||
	    json_object_array_length(a) > OCI_MAX_LIST)
		return bad(e, "linux.seccomp.syscalls", "must be an array of at most 1024 rules");
	size_t n = json_object_array_length(a);
	sc->rules = calloc(n ? n : 1, sizeof(*sc->rules));
	if (!sc->rules)
		return err_set(e, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		sc->nrules = i + 1;
		if ((r = parse_sc_rule(json_object_array_get_idx(a, i),
				       &sc->rules[i], e)))
			return r;
	}
	return 0;
}

static int parse_resources(struct json_object *res, struct oci_config *cfg,
			   struct err *e)
{
	int r;
	if (!json_object_is_type(res, json_type_object))
		return bad(e, "linux.resources", "must be an object");
	struct json_object *m = field(res, "memory"), *p = field(res, "pids"),
			   *c = field(res, "cpu");
	if ((r = opt_int(m, "limit", "linux.resources.memory.limit", -1,
			 INT64_MAX, &cfg->mem_limit, e)) ||
	    (r = opt_int(p, "limit", "linux.resources.pids.limit", -1,
			 INT64_MAX, &cfg->pids_limit, e)) ||
	    (r = opt_int(c, "quota", "linux.resources.cpu.quota", -1,
			 INT64_MAX / 2, &cfg->cpu_quota, e)))
		return r;
	int64_t period = 0;
	/* The kernel accepts 1 ms .. 1 s periods. */
	if ((r = opt_int(c, "period", "linux.resources.cpu.period", 0, 1000000,
			 &period, e)))
		return r;
	if (period && period < 1000)
		return bad(e, "linux.resources.cpu.period",
			   "must be between 1000 and 1000000 microseconds");
	cfg->cpu_period = (uint64_t)period;
	if (cfg->mem_limit == 0)
		return bad(e, "linux.resources.memory.limit", "must not be 0");
	return 0;
}

static int parse_idmaps(struct json_object *l, const char *k,
			struct oci_idmap **out, size_t *n, struct err *e)
{
	char name[40];
	snprintf(name, sizeof(name), "linux.%s", k);
	struct json_object *a = field(l, k);
	if (!a)
		return 0;
	if (!json_object_is_type(a, json_type_array) ||
	    json_object_array_length(a) > OCI_MAX_IDMAPS)
		return bad(e, name, "must be an array of at most 340 mappings");
	size_t cnt = json_object_array_length(a);
	*out = calloc(cnt ? cnt : 1, sizeof(**out));
	if (!*out)
		return err_set(e, ENOMEM, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		struct json_object *m = json_object_array_get_idx(a, i);
		int64_t c = -1, h = -1, sz = -1;
		int r;
		if (!json_object_is_type(m, json_type_object))
			return bad(e, name, "entries must be objects");
		if ((r = opt_int(m, "containerID", name, 0, UINT32_MAX - 1, &c, e)) ||
		    (r = opt_int(m, "hostID", name, 0, UINT32_MAX - 1, &h, e)) ||
		    (r = opt_int(m, "size", name, 1, UINT32_MAX, &sz, e)))
			return r;
		if (c < 0 || h < 0 || sz < 1 || c + sz > (int64_t)UINT32_MAX ||
		    h + sz > (int64_t)UINT32_MAX)
			return bad(e, name, "containerID, hostID and size are required and must fit in 32 bits");
		(*out)[i] = (struct oci_idmap){ (uint32_t)c, (uint32_t)h, (uint32_t)sz };
		*n = i + 1;
	}
	return 0;
}

static bool annotation_key_ok(const char *k)
{
	return strlen(k) <= OCI_MAX_STR;
}

/* An object of strings (annotations, linux.sysctl) into pairs key, value,
 * NULL; key_ok says which keys are accepted, `what` what they must be. */
static int string_map(struct json_object *a, const char *name,
		      bool (*key_ok)(const char *), const char *what,
		      char ***out, struct err *e)
{
	if (!json_object_is_type(a, json_type_object))
		return bad(e, name, "must be an object");
	size_t n = (size_t)json_object_object_length(a), i = 0;
	if (n > OCI_MAX_LIST)
		return bad(e, name, "too many entries");
	char **m = *out = calloc(2 * n + 1, sizeof(char *));
	if (!m)
		return err_set(e, ENOMEM, "out of memory");
	json_object_object_foreach(a, k, v) {
		int r;
		if (!key_ok(k))
			return err_set(e, EINVAL, "%s: `%.64s` is not %s", name,
				       k, what);
		if (!(m[i++] = strdup(k)))
			return err_set(e, ENOMEM, "out of memory");
		if ((r = dup_str(v, name, &m[i++], e)))
			return r;
	}
	return 0;
}

static int parse_linux(struct json_object *l, struct oci_config *cfg,
		       struct err *e)
{
	int r;
	if (!json_object_is_type(l, json_type_object))
		return bad(e, "linux", "must be an object");
	struct json_object *ns = field(l, "namespaces");
	if (ns) {
		if (!json_object_is_type(ns, json_type_array) ||
		    json_object_array_length(ns) > 16)
			return bad(e, "linux.namespaces", "must be an array of at most 16 entries");
		for (size_t i = 0; i < json_object_array_length(ns); i++) {
			struct json_object *o = json_object_array_get_idx(ns, i);
			struct json_object *t = field(o, "type");
			const char *ts = t && json_object_is_type(t, json_type_string) ?
					 json_object_get_string(t) : "";
			int k;
			for (k = 0; k < OCI_NS_COUNT; k++)
				if (!strcmp(ts, ns_names[k]))
					break;
			if (k == OCI_NS_COUNT)
				return err_set(e, EINVAL,
					       "linux.namespaces[%zu].type: unknown namespace `%.32s`",
					       i, ts);
			if (cfg->ns_wanted[k])
				return err_set(e, EINVAL, "linux.namespaces: `%s` listed twice",
					       ns_names[k]);
			cfg->ns_wanted[k] = true;
			if ((r = opt_str(o, "path", "linux.namespaces[].path",
					 &cfg->ns_path[k], e)))
				return r;
			if (cfg->ns_path[k] && cfg->ns_path[k][0] != '/')
				return bad(e, "linux.namespaces[].path", "must be absolute");
		}
	}
	if ((r = parse_idmaps(l, "uidMappings", &cfg->uid_maps, &cfg->n_uid_maps, e)) ||
	    (r = parse_idmaps(l, "gidMappings", &cfg->gid_maps, &cfg->n_gid_maps, e)))
		return r;
	if ((r = opt_str(l, "cgroupsPath", "linux.cgroupsPath",
			 &cfg->cgroups_path, e)) ||
	    (r = opt_str_array(l, "maskedPaths", "linux.maskedPaths", true,
			       &cfg->masked_paths, e)) ||
	    (r = opt_str_array(l, "readonlyPaths", "linux.readonlyPaths", true,
			       &cfg->readonly_paths, e)))
		return r;
	struct json_object *res = field(l, "resources");
	if (res && (r = parse_resources(res, cfg, e)))
		return r;
	/* Which keys a container may set is sysctl_check()'s, once the
	 * namespaces are known. */
	struct json_object *sy = field(l, "sysctl");
	if (sy && (r = string_map(sy, "linux.sysctl", sysctl_key_ok,
				  "a sysctl name (letters, digits, `_`, `-`, "
				  "dot-separated)", &cfg->sysctl, e)))
		return r;
	struct json_object *sc = field(l, "seccomp");
	return sc ? parse_seccomp(sc, cfg, e) : 0;
}

static int parse_root(struct json_object *doc, struct oci_config *cfg,
		      struct err *e)
{
	int r;
	struct json_object *root = field(doc, "root");
	if (!root || !json_object_is_type(root, json_type_object))
		return bad(e, "root", "missing or not an object");
	if ((r = opt_str(root, "path", "root.path", &cfg->root_path, e)) ||
	    (r = opt_bool(root, "readonly", "root.readonly",
			  &cfg->root_readonly, e)))
		return r;
	if (!cfg->root_path || !cfg->root_path[0])
		return bad(e, "root.path", "missing");
	return 0;
}

int oci_config_parse(const char *buf, size_t len, struct oci_config *cfg,
		     struct err *errp)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_limit = cfg->pids_limit = cfg->cpu_quota = -1;
	if (len > OCI_MAX_CONFIG)
		return err_set(errp, EINVAL, "larger than %u bytes", OCI_MAX_CONFIG);
	/* Depth 64 bounds json-c's recursion on "[[[[..." */
	struct json_object *doc = NULL;
	enum json_tokener_error je;
	int r = json_doc_parse(buf, len, 64, &doc, &je);
	if (r == -ENOMEM)
		return err_set(errp, ENOMEM, "out of memory");
	if (r && je != json_tokener_success)
		return err_set(errp, EINVAL, "not valid JSON: %s",
			       json_tokener_error_desc(je));
	if (r)
		return err_set(errp, EINVAL, "not valid JSON: data after the document");
	if (!json_object_is_type(doc, json_type_object))
		r = bad(errp, "config", "must be a JSON object");
	else if (!(r = opt_str(doc, "ociVersion", "ociVersion",
			       &cfg->oci_version, errp)) &&
		 !cfg->oci_version)
		r = bad(errp, "ociVersion", "missing");
	else if (!r && strncmp(cfg->oci_version, "1.", 2))
		r = err_set(errp, EINVAL, "ociVersion: `%.32s` is not 1.x",
			    cfg->oci_version);
	if (!r)
		r = parse_root(doc, cfg, errp);
	if (!r)
		r = parse_process(field(doc, "process"), cfg, errp);
	if (!r)
		r = opt_str(doc, "hostname", "hostname", &cfg->hostname, errp);
	struct json_object *v;
	if (!r && (v = field(doc, "mounts")))
		r = parse_mounts(v, cfg, errp);
	if (!r && (v = field(doc, "linux")))
		r = parse_linux(v, cfg, errp);
	if (!r && (v = field(doc, "annotations")))
		r = string_map(v, "annotations", annotation_key_ok,
			       "a key of at most 4096 bytes", &cfg->annotations,
			       errp);
	if (!r && field(doc, "hooks")) {
		/* Hooks run host programs; skipping them silently would leave
		 * e.g. networking unset up, so they are refused for now. */
		struct json_object *h = field(doc, "hooks");
		if (json_object_is_type(h, json_type_object) &&
		    json_object_object_length(h) > 0)
			r = bad(errp, "hooks", "not supported by ringvm yet");
	}
	if (!r && cfg->ns_path[OCI_NS_PID])
		r = bad(errp, "linux.namespaces", "joining a pid namespace by path is not supported yet");
	if (!r && cfg->ns_wanted[OCI_NS_USER] && !cfg->ns_path[OCI_NS_USER] &&
	    (!cfg->n_uid_maps || !cfg->n_gid_maps))
		r = bad(errp, "linux.uidMappings", "a new user namespace needs uidMappings and gidMappings");
	if (!r && cfg->ns_path[OCI_NS_USER])
		r = bad(errp, "linux.namespaces", "joining a user namespace by path is not supported yet");
	if (!r && !cfg->ns_wanted[OCI_NS_USER] && (cfg->n_uid_maps || cfg->n_gid_maps))
		r = bad(errp, "linux.uidMappings", "mappings given without a user namespace");
	if (!r && cfg->ns_wanted[OCI_NS_TIME])
		r = bad(errp, "linux.namespaces", "time namespaces are not supported yet");
	if (!r)
		r = sysctl_check(cfg, errp);
	json_object_put(doc);
	if (r)
		oci_config_free(cfg);
	return r;
}

int oci_config_load(const char *bundle, struct oci_config *cfg,
		    struct err *errp)
{
	char path[OCI_MAX_STR + 16];
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return err_sys(errp, errno, "%s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err_sys(errp, errno, "%s", path);
	if (!S_ISREG(st.st_mode))
		return err_set(errp, EINVAL, "%s: not a regular file", path);
	if (st.st_size > (off_t)OCI_MAX_CONFIG)
		return err_set(errp, EINVAL, "%s: larger than %u bytes", path,
			       OCI_MAX_CONFIG);
	cleanup_free char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return err_set(errp, ENOMEM, "%s: out of memory", path);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(errp, errno, "%s", path);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	int r = oci_config_parse(buf, got, cfg, errp);
	if (r)
		err_prefix(errp, "%s", path);
	return r;
}

void oci_config_free(struct oci_config *cfg)
{
	free(cfg->oci_version);
	free_strv(cfg->args);
	free_strv(cfg->env);
	free(cfg->cwd);
	free(cfg->additional_gids);
	free(cfg->rlimits);
	free(cfg->root_path);
	free(cfg->hostname);
	for (size_t i = 0; i < cfg->nmounts; i++) {
		free(cfg->mounts[i].destination);
		free(cfg->mounts[i].type);
		free(cfg->mounts[i].source);
		free_strv(cfg->mounts[i].options);
	}
	free(cfg->mounts);
	for (int i = 0; i < OCI_NS_COUNT; i++)
		free(cfg->ns_path[i]);
	free(cfg->uid_maps);
	free(cfg->gid_maps);
	free(cfg->cgroups_path);
	free_strv(cfg->masked_paths);
	free_strv(cfg->readonly_paths);
	free_strv(cfg->sysctl);
	if (cfg->seccomp) {
		for (size_t i = 0; i < cfg->seccomp->nrules; i++) {
			free_strv(cfg->seccomp->rules[i].names);
			free(cfg->seccomp->rules[i].args);
		}
		free(cfg->seccomp->rules);
		free(cfg->seccomp);
	}
	free_strv(cfg->annotations);
	memset(cfg, 0, sizeof(*cfg));
}
