/* ringvm container run [options] IMAGE [CMD...] */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "container.h"
#include "container/ctr.h"
#include "container/ctrlog.h"
#include "container/ctrnet.h"
#include "container/runtime.h"
#include "container/sysctl.h"
#include "core/parse.h"

static const char run_usage[] =
"usage: ringvm container run [options] IMAGE [CMD...]\n"
"  --rm                 remove the container when it exits\n"
"  -d, --detach         run in the background under a supervisor; print the id\n"
"  --name NAME          name it (default ctr-<id>)\n"
"  -e, --env K=V|K      set an environment variable (K: take ours)\n"
"  -v, --volume /HOST:/CTR[:ro|rw]   bind a host directory or file\n"
"  -w, --workdir DIR    working directory\n"
"  -u, --user U[:G]     user and group, names (image's /etc/passwd) or numbers\n"
"  -h, --hostname H     hostname (default: the short container id)\n"
"  --entrypoint CMD     replace the image's Entrypoint (\"\": none)\n"
"  --read-only          mount the rootfs read-only\n"
"  -m, --memory SIZE    memory limit (bytes, or with k/m/g suffix)\n"
"  --cpus N             CPU quota in CPUs (0.5: half of one)\n"
"  --pids-limit N       at most N processes\n"
"  --sysctl NAME=VALUE  set a namespaced kernel parameter in the container\n"
"                       (net.*, kernel.shm*/msg*/sem, fs.mqueue.*)\n"
"  --oom-score-adj N    the command's OOM score adjustment (-1000..1000)\n"
"  --log-opt max-size=SIZE|max-file=N   rotate a detached container's log\n"
"                       past SIZE (k/m/g), keeping N files (default 1)\n"
"  --net, --network none|host|user|switch,path=SOCK[,vlan=N]\n"
"                       network: none (default: only lo), the host's, NAT\n"
"                       through libslirp (10.0.2.15/24), or a ringvm switch\n"
"  -p, --publish [IP:]HOSTPORT:PORT[/tcp|udp]   forward a host port (implies\n"
"                       --net user; IP defaults to 0.0.0.0)\n"
"  --ip A.B.C.D/N       eth0's address (--net switch)\n"
"  -i, --interactive    keep stdin attached (it always is)\n"
"  -t, --tty            a pty for the command, when stdin is a terminal\n"
"Exit status: the command's; 125 for errors of ringvm, 126 when the\n"
"command cannot be run, 127 when it is not found.\n";

/* Sizes as docker takes them: bytes, or b/k/m/g (binary multiples). */
static int parse_mem(const char *s, int64_t *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || v <= 0)
		return -1;
	double mul = 1;
	switch (*end) {
	case 'b': case 'B': case 0: mul = 1; break;
	case 'k': case 'K': mul = 1024.0; break;
	case 'm': case 'M': mul = 1024.0 * 1024; break;
	case 'g': case 'G': mul = 1024.0 * 1024 * 1024; break;
	default: return -1;
	}
	if (*end && end[1] && strcmp(end + 1, "b") && strcmp(end + 1, "B"))
		return -1;
	v *= mul;
	if (v < 6 * 1024 * 1024 || v > 9e18)
		return -2; /* docker's minimum is 6 MB */
	*out = (int64_t)v;
	return 0;
}

struct strv {
	const char **v;
	size_t n;
};

static int push(struct strv *a, const char *s)
{
	const char **v = realloc(a->v, (a->n + 1) * sizeof(*v));
	if (!v)
		return -1;
	a->v = v;
	v[a->n++] = s;
	return 0;
}

int ctr_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rm", no_argument, NULL, 'R' },
		{ "detach", no_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'N' },
		{ "env", required_argument, NULL, 'e' },
		{ "volume", required_argument, NULL, 'v' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
		{ "hostname", required_argument, NULL, 'h' },
		{ "entrypoint", required_argument, NULL, 'E' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "memory", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "pids-limit", required_argument, NULL, 'L' },
		{ "net", required_argument, NULL, 'n' },
		{ "network", required_argument, NULL, 'n' },
		{ "interactive", no_argument, NULL, 'i' },
		{ "publish", required_argument, NULL, 'P' },
		{ "ip", required_argument, NULL, 'A' },
		{ "tty", no_argument, NULL, 't' },
		{ "sysctl", required_argument, NULL, 'S' },
		{ "oom-score-adj", required_argument, NULL, 'O' },
		{ "log-opt", required_argument, NULL, 'G' },
		{ "help", no_argument, NULL, 'H' },
		{ 0 }
	};
	struct ctr_opts o = { 0 };
	struct strv env = { 0 }, vol = { 0 }, sysctls = { 0 };
	bool rm = false, tty = false, detach = false, net_given = false;
	const char *netbase = NULL;
	char fwd[1024] = "", ports[512] = "", netspec[1400];
	int status = CTR_EXIT_ERROR;
	optind = 0;
	opterr = 0;
	for (int c; (c = getopt_long(argc, argv, "+de:v:w:u:h:m:itRp:", opts, NULL)) != -1;) {
		char *end;
		double d;
		switch (c) {
		case 'R': rm = true; break;
		case 'd': detach = true; break;
		case 'N': o.name = optarg; break;
		case 'e': push(&env, optarg); break;
		case 'v': push(&vol, optarg); break;
		case 'w':
			if (optarg[0] != '/') {
				status = ctr_fail("run: -w `%s`: the working directory must be absolute", optarg);
				goto out;
			}
			o.workdir = optarg;
			break;
		case 'u': o.user = optarg; break;
		case 'h': o.hostname = optarg; break;
		case 'E': o.entrypoint = optarg; break;
		case 'r': o.readonly = true; break;
		case 'm':
			if (parse_mem(optarg, &o.memory)) {
				status = ctr_fail("run: --memory `%s`: expected a size of at least 6m (e.g. 64m, 1g)", optarg);
				goto out;
			}
			break;
		case 'c':
			d = strtod(optarg, &end);
			if (end == optarg || *end || d <= 0 || d > 4096) {
				status = ctr_fail("run: --cpus `%s`: expected a positive number", optarg);
				goto out;
			}
			o.cpu_quota = (int64_t)(d * 100000 + 0.5);
			if (o.cpu_quota < 1000)
				o.cpu_quota = 1000;
			break;
		case 'L': {
			long v = strtol(optarg, &end, 10);
			if (end == optarg || *end || v == 0 || v < -1) {
				status = ctr_fail("run: --pids-limit `%s`: expected a positive number (or -1)", optarg);
				goto out;
			}
			o.pids = v > 0 ? v : 0;
			break;
		}
		case 'S': {
			char key[256];
			if (sysctl_kv_key(optarg, key, sizeof(key))) {
				status = ctr_fail("run: --sysctl `%s`: expected NAME=VALUE (e.g. net.ipv4.ip_forward=1)", optarg);
				goto out;
			}
			push(&sysctls, optarg);
			break;
		}
		case 'O': {
			long v = strtol(optarg, &end, 10);
			if (end == optarg || *end || v < -1000 || v > 1000) {
				status = ctr_fail("run: --oom-score-adj `%s`: expected -1000..1000", optarg);
				goto out;
			}
			o.has_oom_score_adj = true;
			o.oom_score_adj = (int)v;
			break;
		}
		case 'G':
			if (!strncmp(optarg, "max-size=", 9)) {
				double v = strtod(optarg + 9, &end);
				double mul = *end == 'k' || *end == 'K' ? 1024.0 :
					     *end == 'm' || *end == 'M' ? 1048576.0 :
					     *end == 'g' || *end == 'G' ? 1073741824.0 : 1;
				if (*end && mul != 1)
					end++;
				if (end == optarg + 9 || *end || !(v * mul >= 1) ||
				    v * mul > 1e15) {
					status = ctr_fail("run: --log-opt `%s`: expected max-size=SIZE (e.g. 10m)", optarg);
					goto out;
				}
				o.log_max_size = (int64_t)(v * mul);
			} else if (!strncmp(optarg, "max-file=", 9)) {
				long v = strtol(optarg + 9, &end, 10);
				if (end == optarg + 9 || *end || v < 1 || v > CTRLOG_MAX_FILES) {
					status = ctr_fail("run: --log-opt `%s`: expected max-file=1..%d", optarg, CTRLOG_MAX_FILES);
					goto out;
				}
				o.log_max_file = (int)v;
			} else {
				status = ctr_fail("run: --log-opt `%s`: expected max-size=SIZE or max-file=N", optarg);
				goto out;
			}
			break;
		case 'n':
			net_given = true;
			if (!strcmp(optarg, "none")) {
				o.net = CTR_NET_NONE;
			} else if (!strcmp(optarg, "host")) {
				o.net = CTR_NET_HOST;
			} else if (!strcmp(optarg, "user") || !strncmp(optarg, "switch,", 7)) {
				o.net = CTR_NET_BACKEND;
				netbase = optarg;
			} else {
				status = ctr_fail("run: --net `%s`: expected none, host, user or switch,path=SOCK[,vlan=N]", optarg);
				goto out;
			}
			break;
		case 'p': case 'P': {
			/* [IP:]HOSTPORT:PORT[/tcp|udp] -> slirp's hostfwd */
			char b[128], *proto = "tcp", *sl, *c1, *c2;
			snprintf(b, sizeof(b), "%s", optarg);
			if ((sl = strchr(b, '/'))) {
				*sl = '\0';
				proto = sl + 1;
			}
			c2 = strrchr(b, ':');
			if (c2)
				*c2 = '\0';
			c1 = c2 ? strrchr(b, ':') : NULL;
			const char *ip = c1 ? b : "0.0.0.0", *hp = c1 ? c1 + 1 : b, *cp = c2 ? c2 + 1 : "";
			if (c1)
				*c1 = '\0';
			unsigned long h = strtoul(hp, &end, 10);
			bool okh = *hp && !*end && h > 0 && h < 65536;
			unsigned long cport = strtoul(cp, &end, 10);
			bool okc = *cp && !*end && cport > 0 && cport < 65536;
			if (!c2 || !okh || !okc || (strcmp(proto, "tcp") && strcmp(proto, "udp")) ||
			    strlen(fwd) + 80 > sizeof(fwd)) {
				status = ctr_fail("run: -p `%s`: expected [IP:]HOSTPORT:PORT[/tcp|udp]", optarg);
				goto out;
			}
			size_t fl = strlen(fwd), pl = strlen(ports);
			snprintf(fwd + fl, sizeof(fwd) - fl, ",hostfwd=%s:%s:%lu-:%lu", proto, ip, h, cport);
			snprintf(ports + pl, sizeof(ports) - pl, "%s%s:%lu->%lu/%s", pl ? ", " : "", ip, h, cport, proto);
			break;
		}
		case 'A': o.addr = optarg; break;
		case 'i': break; /* stdin is always passed on */
		case 't': tty = true; break;
		case 'H':
			fputs(run_usage, stdout);
			status = 0;
			goto out;
		default:
			status = ctr_fail("run: unknown option or missing argument `%s` (see `ringvm container run --help`)",
					  argv[optind - 1]);
			goto out;
		}
	}
	if (optind >= argc) {
		status = ctr_fail("run: missing IMAGE (see `ringvm container run --help`)");
		goto out;
	}
	if (fwd[0]) {
		if (net_given && !(netbase && !strcmp(netbase, "user"))) {
			status = ctr_fail("run: -p needs --net user");
			goto out;
		}
		o.net = CTR_NET_BACKEND;
		netbase = "user";
		o.ports = ports;
	}
	if (o.net == CTR_NET_BACKEND) {
		snprintf(netspec, sizeof(netspec), "%s%s", netbase, fwd);
		o.netspec = netspec;
	} else if (o.addr) {
		status = ctr_fail("run: --ip needs --net user or switch");
		goto out;
	}
	if (o.log_max_file > 1 && !o.log_max_size) {
		status = ctr_fail("run: --log-opt max-file needs max-size");
		goto out;
	}
	/* As the runtime would refuse them, before a container exists:
	 * ipc and uts namespaces are always the container's own. */
	for (size_t i = 0; i < sysctls.n; i++) {
		char key[256];
		sysctl_kv_key(sysctls.v[i], key, sizeof(key));   /* checked */
		int ns = sysctl_key_ns(key);
		if (ns < 0) {
			status = ctr_fail("run: --sysctl `%s`: `%s` is not in a kernel namespace: setting it would change the host", sysctls.v[i], key);
			goto out;
		}
		if (ns == OCI_NS_NET && o.net == CTR_NET_HOST) {
			status = ctr_fail("run: --sysctl `%s`: `%s` needs a network namespace of the container's own (not --net host)", sysctls.v[i], key);
			goto out;
		}
	}
	const char *image = argv[optind];
	o.args = (const char *const *)argv + optind + 1;
	o.nargs = (size_t)(argc - optind - 1);
	o.env = env.v;
	o.nenv = env.n;
	o.volumes = vol.v;
	o.nvolumes = vol.n;
	o.sysctls = sysctls.v;
	o.nsysctls = sysctls.n;
	o.terminal = tty && isatty(0) && !detach;
	o.ephemeral = rm;

	struct store s;
	if (ctr_store(&s))
		goto out;
	struct err e = { 0 };
	struct store_images im = { 0 };
	struct oci_image_config ic = { 0 };
	struct ctr_meta m;
	char *cfg = NULL;
	size_t len;
	int i = -1;
	if (store_images_load(&s, &im, &e) || (i = store_image_find(&im, image, &e)) < 0 ||
	    store_blob_read(&s, im.v[i].id, MANIFEST_MAX_BYTES, &cfg, &len, &e) ||
	    oci_image_config_parse(cfg, len, &ic, &e)) {
		status = ctr_fail("run: %s", e.msg);
		goto close;
	}
	/* Signals wait until the runtime forwards them: one arriving during
	 * set-up must not leave a mounted rootfs behind. */
	sigset_t set, old;
	sigemptyset(&set);
	int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	for (size_t k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++)
		sigaddset(&set, sigs[k]);
	sigprocmask(SIG_BLOCK, &set, &old);
	if (ctr_create(&s, &im.v[i], &ic, image, &o, &m, &e)) {
		status = ctr_fail("run: %s", e.msg);
		sigprocmask(SIG_SETMASK, &old, NULL);
		goto close;
	}
	char dir[PATH_MAX], rtroot[PATH_MAX];
	ctr_dir(&s, m.id, dir, sizeof(dir));
	if (detach) {
		status = ctr_detach(&s, &m, rm);
		if (status == 0)
			printf("%s\n", m.id);
		else if (!rm)
			ctr_rootfs_unmount(dir, NULL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		goto close;
	}
	ctr_rt_root(&s, rtroot, sizeof(rtroot));
	struct ctr_hooks h = { .m = &m, .notify_fd = -1 };
	struct rt_create_opts ro = { .root = rtroot, .id = m.id, .bundle = dir,
				     .on_created = ctr_hook_created, .on_start_arg = &h };
	int st = rt_run(&ro, &e);
	ctr_net_stop(h.net);
	if (st >= 0) {
		status = st;
	} else {
		status = ctr_start_status(&e);
		if (status == CTR_EXIT_ERROR)
			ctr_fail("run: %s", e.msg);
		else
			fprintf(stderr, "ringvm container: %s\n", e.msg);
	}
	m.finished = (int64_t)time(NULL);
	m.exit_code = status;
	struct err e2 = { 0 };
	if (rm) {
		if (ctr_remove(&s, &m, &e2))
			fprintf(stderr, "ringvm container: run --rm: %s\n", e2.msg);
	} else if (ctr_rootfs_unmount(dir, &e2) || ctr_meta_save(&s, &m, &e2)) {
		fprintf(stderr, "ringvm container: run: %s\n", e2.msg);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
close:
	free(cfg);
	oci_image_config_free(&ic);
	store_images_free(&im);
	store_close(&s);
out:
	free(env.v);
	free(vol.v);
	free(sysctls.v);
	return status;
}
