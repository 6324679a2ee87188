/* ringvm switch: run the L2 switch in the foreground, or query one.
 *
 *   ringvm switch --socket PATH [--ports N] [--ageing SECS] [--max-macs N]
 *                 [--max-macs-per-port N]
 *   ringvm switch ctl PATH show [--json]
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>

#include <json-c/json.h>

#include "cli.h"
#include "core/parse.h"
#include "net/switch/switch.h"
#include "vmm/sandbox.h"

static const char usage[] =
"usage: ringvm switch --socket PATH [--ports N] [--ageing SECS] [--max-macs N]\n"
"                     [--max-macs-per-port N]\n"
"       ringvm switch ctl PATH show [--json]\n"
"\n"
"Run a virtual L2 learning switch with IEEE 802.1Q VLANs in the foreground\n"
"(SIGINT/SIGTERM stop it and remove its sockets).  VMs attach with\n"
"  ringvm run --net switch,path=PATH,vlan=ID            (access port)\n"
"  ringvm run --net switch,path=PATH,trunk=ID,ID[,native=ID]  (trunk port)\n"
"\n"
"  --socket PATH    data socket; the control socket is PATH.ctl\n"
"  --ports N        most ports (VMs) at once, 1..1024 (default 16)\n"
"  --ageing SECS    forget a MAC after SECS without traffic (default 300;\n"
"                   0 = never)\n"
"  --max-macs N     MAC table size (default 4096, or ports x per-port limit\n"
"                   if larger); when full, unknown destinations are flooded\n"
"  --max-macs-per-port N\n"
"                   source MACs one port may have learned (default 256);\n"
"                   more are not learned (counted as learn-refused)\n"
"  --seccomp=on|off confine the switch with a seccomp filter once its\n"
"                   sockets are bound (default on; off is for debugging);\n"
"                   a forbidden call ends it with status 4\n"
"\n"
"ctl PATH show     ports, VLANs, MAC table and counters (--json: as JSON)\n";

static int fail(const char *msg)
{
	fprintf(stderr, "ringvm switch: %s\n", msg);
	return 1;
}

static int run_switch(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "ports", required_argument, NULL, 'p' },
		{ "ageing", required_argument, NULL, 'a' },
		{ "aging", required_argument, NULL, 'a' },
		{ "max-macs", required_argument, NULL, 'm' },
		{ "max-macs-per-port", required_argument, NULL, 'P' },
		{ "seccomp", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct sw_opts o = { .ports = SW_PORTS_DEFAULT,
			     .ageing_s = SW_AGEING_DEFAULT,
			     .stop_fd = -1 };
	struct err e = { 0 };
	uint64_t v;
	int c;
	bool seccomp = true;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o.path = optarg;
			break;
		case 'p':
			if (parse_uint(optarg, 1, SW_PORTS_MAX, &v, "--ports", &e))
				return fail(e.msg);
			o.ports = (unsigned)v;
			break;
		case 'a':
			if (parse_uint(optarg, 0, 1000000, &v, "--ageing", &e))
				return fail(e.msg);
			o.ageing_s = (unsigned)v;
			break;
		case 'm':
			if (parse_uint(optarg, 1, 1u << 24, &v, "--max-macs", &e))
				return fail(e.msg);
			o.max_macs = (unsigned)v;
			break;
		case 'P':
			if (parse_uint(optarg, 1, 1u << 24, &v,
				       "--max-macs-per-port", &e))
				return fail(e.msg);
			o.max_macs_per_port = (unsigned)v;
			break;
		case 'S':
			if (strcmp(optarg, "on") && strcmp(optarg, "off"))
				return fail("--seccomp: expected on or off");
			seccomp = !strcmp(optarg, "on");
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default: {
			char m[160];
			snprintf(m, sizeof(m), "unknown or incomplete option `%s` "
				 "(try `ringvm switch --help`)", argv[optind - 1]);
			return fail(m);
		}
		}
	}
	if (optind < argc) {
		char m[160];
		snprintf(m, sizeof(m), "unexpected argument `%s`", argv[optind]);
		return fail(m);
	}
	if (!o.path)
		return fail("missing --socket PATH");

	/* Signals arrive as a readable fd in the switch's own loop, so a
	 * stop never interrupts a half-forwarded frame. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	o.stop_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (o.stop_fd < 0)
		return fail("signalfd failed");

	struct sw *s;
	if (sw_create(&o, &s, &e) < 0)
		return fail(e.msg);
	if (seccomp && sandbox_enter_switch(s->dirfd, &e) < 0) {
		sw_destroy(s);
		return fail(e.msg);
	}
	sandbox_test_probe();
	fprintf(stderr, "ringvm switch: listening on %s (control %s%s), "
		"%u ports, ageing %us, %u MACs (%u per port)\n", o.path,
		o.path, SW_CTL_SUFFIX, o.ports, o.ageing_s, s->o.max_macs,
		s->o.max_macs_per_port);
	int rc = sw_run(s);
	sw_destroy(s);
	close(o.stop_fd);
	if (rc < 0) {
		err_sys(&e, -rc, "event loop");
		return fail(e.msg);
	}
	return 0;
}

static const char *str_of(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v)
						   : "";
}

static int64_t int_of(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v)
						   : 0;
}

static struct json_object *get(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;
	json_object_object_get_ex(o, k, &v);
	return v;
}

/* "10,20" from a JSON array of ints. */
static void join_ints(struct json_object *a, char *out, size_t cap)
{
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		int w = snprintf(out + len, cap - len, "%s%d", i ? "," : "",
				 json_object_get_int(json_object_array_get_idx(a, i)));
		if (w < 0 || (size_t)w >= cap - len) {
			snprintf(out + (cap > 4 ? cap - 4 : 0), 4, "...");
			return;
		}
		len += (size_t)w;
	}
}

static void print_show(struct json_object *j)
{
	char vl[256];
	struct json_object *ports = get(j, "ports"), *vlans = get(j, "vlans");
	struct json_object *macs = get(j, "macs"), *c = get(j, "counters");

	printf("switch %s  pid %" PRId64 "  up %" PRId64 "s  ports %zu/%" PRId64
	       "  ageing %" PRId64 "s  MACs %zu/%" PRId64 " (%" PRId64
	       " per port)\n",
	       str_of(j, "socket"), int_of(j, "pid"), int_of(j, "uptime_s"),
	       ports ? json_object_array_length(ports) : 0,
	       int_of(j, "max_ports"), int_of(j, "ageing_s"),
	       macs ? json_object_array_length(macs) : 0, int_of(j, "max_macs"),
	       int_of(j, "max_macs_per_port"));

	printf("\nPORT  MODE    VLANS            NATIVE  PID      RX-FRAMES  "
	       "TX-FRAMES  RX-DROP  TX-DROP  MACS   LEARN-REFUSED\n");
	for (size_t i = 0; ports && i < json_object_array_length(ports); i++) {
		struct json_object *p = json_object_array_get_idx(ports, i);
		join_ints(get(p, "vlans"), vl, sizeof(vl));
		struct json_object *nat = get(p, "native");
		char ns[8] = "-";
		if (nat)
			snprintf(ns, sizeof(ns), "%d", json_object_get_int(nat));
		printf("%-5" PRId64 " %-7s %-16s %-7s %-8" PRId64 " %-10" PRId64
		       " %-10" PRId64 " %-8" PRId64 " %-8" PRId64 " %-6" PRId64
		       " %" PRId64 "\n",
		       int_of(p, "id"), str_of(p, "mode"), vl, ns,
		       int_of(p, "pid"), int_of(p, "rx_frames"),
		       int_of(p, "tx_frames"), int_of(p, "rx_dropped"),
		       int_of(p, "tx_dropped"), int_of(p, "macs"),
		       int_of(p, "learn_refused"));
	}

	printf("\nVLAN  PORTS\n");
	for (size_t i = 0; vlans && i < json_object_array_length(vlans); i++) {
		struct json_object *v = json_object_array_get_idx(vlans, i);
		join_ints(get(v, "ports"), vl, sizeof(vl));
		printf("%-5" PRId64 " %s\n", int_of(v, "vid"), vl);
	}

	printf("\nVLAN  MAC                PORT  AGE\n");
	for (size_t i = 0; macs && i < json_object_array_length(macs); i++) {
		struct json_object *m = json_object_array_get_idx(macs, i);
		printf("%-5" PRId64 " %-18s %-5" PRId64 " %" PRId64 "s\n",
		       int_of(m, "vlan"), str_of(m, "mac"), int_of(m, "port"),
		       int_of(m, "age_s"));
	}

	printf("\nCOUNTERS  rx %" PRId64 "  forwarded %" PRId64 "  flooded %"
	       PRId64 "  filtered %" PRId64 "  dropped %" PRId64
	       "  learn-full %" PRId64 "  learn-port-limit %" PRId64
	       "  refused %" PRId64 "\n",
	       int_of(c, "rx_frames"), int_of(c, "forwarded"),
	       int_of(c, "flooded"), int_of(c, "filtered"),
	       int_of(c, "dropped"), int_of(c, "learn_full"),
	       int_of(c, "learn_port_limit"), int_of(c, "ports_refused"));
	struct json_object *d = get(c, "drops");
	if (d) {
		json_object_object_foreach(d, k, val) {
			if (json_object_get_int64(val))
				printf("  drop %s: %" PRId64 "\n", k,
				       json_object_get_int64(val));
		}
	}
}

static int run_ctl(int argc, char **argv)
{
	/* argv: ctl PATH show [--json] */
	bool json = false;
	const char *path = NULL, *cmd = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return 0;
		} else if (argv[i][0] == '-') {
			char m[160];
			snprintf(m, sizeof(m), "ctl: unknown option `%s`", argv[i]);
			return fail(m);
		} else if (!path)
			path = argv[i];
		else if (!cmd)
			cmd = argv[i];
		else {
			char m[160];
			snprintf(m, sizeof(m), "ctl: unexpected argument `%s`",
				 argv[i]);
			return fail(m);
		}
	}
	if (!path)
		return fail("ctl: missing socket path (ringvm switch ctl PATH show)");
	if (!cmd)
		cmd = "show";
	if (strcmp(cmd, "show")) {
		char m[160];
		snprintf(m, sizeof(m), "ctl: unknown command `%s` (known: show)",
			 cmd);
		return fail(m);
	}
	struct err e = { 0 };
	struct json_object *j = sw_ctl_query(path, cmd, &e);
	if (!j)
		return fail(e.msg);
	if (json)
		puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_SPACED |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		print_show(j);
	json_object_put(j);
	return 0;
}

int cli_switch(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "ctl"))
		return run_ctl(argc - 1, argv + 1);
	return run_switch(argc, argv);
}
