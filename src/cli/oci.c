/* ringvm oci: the OCI runtime command line (runc's verbs and options), so
 * podman, conmon or a user can drive ringvm's container runtime.
 *
 *   ringvm oci [--root DIR] [--log FILE] [--log-format text|json]
 *              [--systemd-cgroup] VERB ...
 */
#include <getopt.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "container/cgroup.h"
#include "container/runtime.h"
#include "container/state.h"

static const char usage[] =
"usage: ringvm oci [global options] COMMAND [options] ID\n"
"\n"
"An OCI runtime (runtime-spec 1.1) with runc's command line:\n"
"  create [--bundle DIR] [--pid-file FILE] [--console-socket SOCK] ID\n"
"                     set the container up; its process waits for start\n"
"  start ID           run the created container's process\n"
"  state ID           print the runtime-spec state JSON\n"
"  kill [--all] ID [SIGNAL]   send SIGNAL (name or number, default TERM)\n"
"  delete [--force] ID        remove a stopped container (--force: any)\n"
"  run [--bundle DIR] [--pid-file FILE] [--detach] ID\n"
"                     create + start + wait; exits with the process's status\n"
"  features           print the supported features (JSON)\n"
"\n"
"Global options:\n"
"  --root DIR         state directory (default " OCI_DEFAULT_ROOT ")\n"
"  --log FILE         also append errors to FILE\n"
"  --log-format F     text (default) or json\n"
"  --systemd-cgroup   accepted; ringvm manages cgroupfs itself (a\n"
"                     slice:prefix:name cgroupsPath is placed where systemd\n"
"                     would put it)\n"
"\n"
"--bundle defaults to the current directory.  See docs/CONTAINERS.md.\n";

struct gopts {
	const char *root, *log;
	bool json;
};

/* One line on stderr, and in --log when given (runc's JSON shape:
 * {"level":"error","msg":...,"time":...}, which podman reads). */
static int fail(const struct gopts *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int fail(const struct gopts *g, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "ringvm oci: %s\n", msg);
	if (g && g->log) {
		FILE *f = fopen(g->log, "ae");
		if (f) {
			if (g->json) {
				char t[40];
				time_t now = time(NULL);
				struct tm tm;
				strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ",
					 gmtime_r(&now, &tm));
				struct json_object *o = json_object_new_object();
				json_object_object_add(o, "level", json_object_new_string("error"));
				json_object_object_add(o, "msg", json_object_new_string(msg));
				json_object_object_add(o, "time", json_object_new_string(t));
				fprintf(f, "%s\n", json_object_to_json_string_ext(
					o, JSON_C_TO_STRING_PLAIN));
				json_object_put(o);
			} else {
				fprintf(f, "ringvm oci: %s\n", msg);
			}
			fclose(f);
		}
	}
	return 1;
}

static void reset_getopt(void)
{
	optind = 0; /* glibc: full re-initialisation */
	opterr = 0;
}

/* The single ID operand after the options. */
static const char *one_id(const struct gopts *g, int argc, char **argv,
			  const char *verb)
{
	if (optind != argc - 1) {
		fail(g, "%s: expected exactly one container id", verb);
		return NULL;
	}
	return argv[optind];
}

static int bad_opt(const struct gopts *g, const char *verb, char **argv)
{
	return fail(g, "%s: unknown option or missing argument `%s`", verb,
		    argv[optind - 1]);
}

static int do_create_run(const struct gopts *g, int argc, char **argv, bool run)
{
	static const struct option opts[] = {
		{ "bundle", required_argument, NULL, 'b' },
		{ "pid-file", required_argument, NULL, 'p' },
		{ "console-socket", required_argument, NULL, 'c' },
		{ "preserve-fds", required_argument, NULL, 'f' },
		{ "detach", no_argument, NULL, 'd' },
		{ "no-pivot", no_argument, NULL, 'P' },
		{ "no-new-keyring", no_argument, NULL, 'K' },
		{ "keep", no_argument, NULL, 'k' },
		{ 0 }
	};
	const char *verb = run ? "run" : "create";
	struct rt_create_opts o = { .root = g->root, .bundle = "." };
	bool detach = false;
	reset_getopt();
	for (int c; (c = getopt_long(argc, argv, "+b:dk", opts, NULL)) != -1;) {
		char *end;
		switch (c) {
		case 'b': o.bundle = optarg; break;
		case 'p': o.pid_file = optarg; break;
		case 'c': o.console_socket = optarg; break;
		case 'd': detach = true; break;
		case 'P': case 'K': case 'k':
			break; /* pivot_root is always used; no keyrings made */
		case 'f':
			o.preserve_fds = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !*optarg || o.preserve_fds > 64)
				return fail(g, "%s: --preserve-fds: expected 0..64", verb);
			break;
		default:
			return bad_opt(g, verb, argv);
		}
	}
	if (!(o.id = one_id(g, argc, argv, verb)))
		return 1;
	struct err e = { 0 };
	if (!run || detach) {
		pid_t pid;
		if (rt_create(&o, &pid, &e) ||
		    (run && rt_start(o.root, o.id, &e)))
			return fail(g, "%s %s: %s", verb, o.id, e.msg);
		return 0;
	}
	int st = rt_run(&o, &e);
	if (st < 0)
		return fail(g, "run %s: %s", o.id, e.msg);
	return st;
}

static int do_simple(const struct gopts *g, int argc, char **argv,
		     const char *verb)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "all", no_argument, NULL, 'a' },
		{ 0 }
	};
	bool force = false, all = false;
	bool is_kill = !strcmp(verb, "kill"), is_delete = !strcmp(verb, "delete");
	reset_getopt();
	for (int c; (c = getopt_long(argc, argv, is_kill ? "+a" : "+f", opts, NULL)) != -1;) {
		if (c == 'f' && is_delete)
			force = true;
		else if (c == 'a' && is_kill)
			all = true;
		else
			return bad_opt(g, verb, argv);
	}
	struct err e = { 0 };
	const char *id;
	if (is_kill) {
		int n = argc - optind;
		if (n < 1 || n > 2)
			return fail(g, "kill: expected ID [SIGNAL]");
		id = argv[optind];
		int sig = rt_parse_signal(n == 2 ? argv[optind + 1] : "TERM", &e);
		if (sig < 0 || rt_kill(g->root, id, sig, all, &e))
			return fail(g, "kill %s: %s", id, e.msg);
		return 0;
	}
	if (!(id = one_id(g, argc, argv, verb)))
		return 1;
	if (!strcmp(verb, "start")) {
		if (rt_start(g->root, id, &e))
			return fail(g, "start %s: %s", id, e.msg);
	} else if (is_delete) {
		if (rt_delete(g->root, id, force, &e))
			return fail(g, "delete %s: %s", id, e.msg);
	} else {
		char *json;
		if (rt_state(g->root, id, &json, &e))
			return fail(g, "state %s: %s", id, e.msg);
		printf("%s\n", json);
		free(json);
	}
	return 0;
}

static struct json_object *str_array(const char *const *a, size_t n)
{
	struct json_object *x = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(x, json_object_new_string(a[i]));
	return x;
}

/* runtime-spec features.md */
static int do_features(void)
{
	static const char *const ns[] = { "cgroup", "ipc", "mount", "network",
					  "pid", "uts" };
	static const char *const mo[] = { "async", "atime", "bind", "dev",
		"diratime", "exec", "noatime", "nodev", "nodiratime", "noexec",
		"norelatime", "nosuid", "private", "rbind", "relatime", "ro",
		"rprivate", "rshared", "rslave", "runbindable", "rw", "shared",
		"slave", "strictatime", "suid", "sync", "unbindable" };
	static const char *const acts[] = { "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO",
		"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
		"SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP" };
	static const char *const ops[] = { "SCMP_CMP_EQ", "SCMP_CMP_GE",
		"SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
		"SCMP_CMP_NE" };
#define ARR(a) str_array(a, sizeof(a) / sizeof(a[0]))
	struct json_object *o = json_object_new_object(), *l = json_object_new_object(),
			   *cg = json_object_new_object(), *sc = json_object_new_object();
	json_object_object_add(o, "ociVersionMin", json_object_new_string("1.0.0"));
	json_object_object_add(o, "ociVersionMax", json_object_new_string(OCI_VERSION));
	json_object_object_add(o, "hooks", json_object_new_array());
	json_object_object_add(o, "mountOptions", ARR(mo));
	json_object_object_add(l, "namespaces", ARR(ns));
	json_object_object_add(cg, "v1", json_object_new_boolean(1));
	json_object_object_add(cg, "v2", json_object_new_boolean(1));
	json_object_object_add(cg, "systemd", json_object_new_boolean(0));
	json_object_object_add(cg, "systemdUser", json_object_new_boolean(0));
	json_object_object_add(l, "cgroup", cg);
	json_object_object_add(sc, "enabled", json_object_new_boolean(1));
	json_object_object_add(sc, "actions", ARR(acts));
	json_object_object_add(sc, "operators", ARR(ops));
	json_object_object_add(l, "seccomp", sc);
#undef ARR
	json_object_object_add(o, "linux", l);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						      JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return 0;
}

int cli_oci(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "log", required_argument, NULL, 'l' },
		{ "log-format", required_argument, NULL, 'F' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "systemd-cgroup", no_argument, NULL, 's' },
		{ "debug", no_argument, NULL, 'D' },
		{ "rootless", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct gopts g = { .root = OCI_DEFAULT_ROOT };
	reset_getopt();
	for (int c; (c = getopt_long(argc, argv, "+h", opts, NULL)) != -1;) {
		switch (c) {
		case 'r': g.root = optarg; break;
		case 'l': g.log = optarg; break;
		case 'F':
			if (strcmp(optarg, "json") && strcmp(optarg, "text"))
				return fail(&g, "--log-format: expected text or json, not `%s`", optarg);
			g.json = !strcmp(optarg, "json");
			break;
		case 's': case 'L': case 'R': case 'D':
			break; /* see usage: accepted, no effect */
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return fail(&g, "unknown global option or missing argument `%s`",
				    argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return fail(&g, "missing command (try `ringvm oci --help`)");
	if (g.root[0] != '/')
		return fail(&g, "--root: `%s` must be an absolute path", g.root);
	const char *verb = argv[optind];
	argc -= optind;
	argv += optind;
	if (!strcmp(verb, "create"))
		return do_create_run(&g, argc, argv, false);
	if (!strcmp(verb, "run"))
		return do_create_run(&g, argc, argv, true);
	if (!strcmp(verb, "start") || !strcmp(verb, "state") ||
	    !strcmp(verb, "kill") || !strcmp(verb, "delete"))
		return do_simple(&g, argc, argv, verb);
	if (!strcmp(verb, "features"))
		return do_features();
	if (!strcmp(verb, "help"))
		return fputs(usage, stdout), 0;
	return fail(&g, "unknown command `%s` (try `ringvm oci --help`)", verb);
}
