/* ringvm ctl: a client of a VM's control socket (`ringvm run --api PATH`;
 * protocol in docs/LIFECYCLE.md, "Control socket"). */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "vmm/api_proto.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: ringvm ctl [--json] SOCKET COMMAND [options]\n"
"\n"
"Control a VM started with `ringvm run --api SOCKET`.\n"
"\n"
"Commands:\n"
"  status                 state, vCPUs, memory, devices, uptime\n"
"  pause | resume         stop or continue the guest (guest time stops too)\n"
"  stop [--timeout SECS]  ask the guest kernel to sync, remount read-only and\n"
"                         power off (Magic SysRq on its serial console); quit\n"
"                         after SECS (default 30) if it did not\n"
"  quit                   end the VM now\n"
"  snapshot DIR [--diff] [--no-disk-state]\n"
"                         write a snapshot of the running VM into DIR\n"
"  migrate URI [--max-downtime DUR] [--copy-disks]\n"
"                         live-migrate to a `ringvm run --incoming URI`\n"
"                         (tcp:HOST:PORT or unix:PATH); DUR like 30ms\n"
"  migrate-status | migrate-cancel\n"
"  events                 print events (shutdown, reset, pause...) until\n"
"                         the VM ends\n"
"\n"
"  --json                 print the server's replies as they are\n"
"Snapshot and migrate show a progress bar when stdout is a terminal.\n"
"Exit status: 0 done, 1 bad usage, no such VM or an error reply.\n");
}

struct conn {
	int fd;
	struct api_linebuf in;
	bool json;
};

/* One line on stderr; returns the exit status 1. */
__attribute__((format(printf, 1, 2)))
static int die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ringvm ctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 1;
}

/* Next JSON line from the server (owned by the caller); NULL at EOF or on
 * error (msg says which).  timeout_ms < 0: wait forever. */
static struct json_object *next_msg(struct conn *c, int timeout_ms,
				    const char **msg)
{
	for (;;) {
		const char *line;
		size_t len;
		enum api_line k = api_linebuf_next(&c->in, &line, &len);
		if (k == API_LINE_TOO_LONG) {
			*msg = "the server sent an over-long line";
			return NULL;
		}
		if (k == API_LINE_OK) {
			struct json_tokener *tok =
				json_tokener_new_ex(API_JSON_DEPTH);
			struct json_object *j = tok ?
				json_tokener_parse_ex(tok, line, (int)len) : NULL;
			json_tokener_free(tok);
			if (!json_object_is_type(j, json_type_object)) {
				json_object_put(j);
				*msg = "the server sent malformed JSON";
				return NULL;
			}
			if (c->json) {
				fwrite(line, 1, len, stdout);
				fputc('\n', stdout);
				fflush(stdout);
			}
			return j;
		}
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int r = poll(&p, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			*msg = "no answer from the VM";
			return NULL;
		}
		char buf[4096];
		ssize_t n = read(c->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*msg = n == 0 ? "the VM closed the connection" :
				strerror(errno);
			return NULL;
		}
		if (api_linebuf_add(&c->in, buf, (size_t)n) < 0) {
			*msg = "out of memory";
			return NULL;
		}
	}
}

static int connect_to(struct conn *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return die("socket path `%s` too long", path);
	strcpy(sa.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return die("cannot connect to `%s`: %s", path, strerror(errno));
	const char *msg;
	bool json = c->json;
	c->json = false;   /* --json prints replies, not the greeting */
	struct json_object *g = next_msg(c, 10000, &msg), *r, *p;
	c->json = json;
	if (!g)
		return die("`%s`: %s", path, msg);
	int proto = json_object_object_get_ex(g, "ringvm", &r) &&
		json_object_object_get_ex(r, "protocol", &p) ?
		json_object_get_int(p) : -1;
	struct json_object *err;
	bool refused = json_object_object_get_ex(g, "error", &err);
	json_object_put(g);
	if (refused)
		return die("`%s` refused the connection (too many clients)",
			   path);
	if (proto != API_PROTOCOL)
		return die("`%s` is not a ringvm VM control socket (or speaks "
			   "another protocol version)", path);
	return 0;
}

static int send_req(struct conn *c, const char *cmd, struct json_object *args)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int(1));
	json_object_object_add(o, "cmd", json_object_new_string(cmd));
	if (args)
		json_object_object_add(o, "args", args);
	size_t n;
	const char *s = json_object_to_json_string_length(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	char *line = malloc(n + 1);
	int rc = 0;
	if (!line) {
		rc = die("out of memory");
	} else {
		memcpy(line, s, n);
		line[n] = '\n';
		for (size_t off = 0; off <= n;) {
			ssize_t w = send(c->fd, line + off, n + 1 - off,
					 MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				rc = die("send: %s", strerror(errno));
				break;
			}
			off += (size_t)w;
		}
	}
	free(line);
	json_object_put(o);
	return rc;
}

static const char *str(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v)
		: "";
}

static int64_t num(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v)
		: 0;
}

/* ---- progress ---------------------------------------------------------- */

static void bar(bool tty, const char *what, uint64_t done, uint64_t total)
{
	if (!tty || !total)
		return;
	unsigned pct = done >= total ? 100 :
		(unsigned)((double)done * 100 / (double)total);
	char b[41];
	unsigned fill = pct * 40 / 100;
	for (unsigned i = 0; i < 40; i++)
		b[i] = i < fill ? '#' : '.';
	b[40] = '\0';
	printf("\r%s [%s] %3u%% %.1f/%.1f MiB", what, b, pct,
	       (double)done / 1048576, (double)total / 1048576);
	fflush(stdout);
}

/* ---- the reply --------------------------------------------------------- */

/* Wait for the reply to our request (events before it: progress of a long
 * command, or what `events` streams).  Returns the reply (owned) or NULL
 * after printing why. */
static struct json_object *await_reply(struct conn *c, int timeout_ms,
				       const char *progress_what, bool tty)
{
	bool drew = false;
	for (;;) {
		const char *msg;
		struct json_object *j = next_msg(c, timeout_ms, &msg), *d;
		if (!j) {
			if (drew)
				putchar('\n');
			die("%s", msg);
			return NULL;
		}
		if (json_object_object_get_ex(j, "ok", NULL)) {
			if (drew)
				putchar('\n');
			return j;
		}
		if (progress_what && !c->json &&
		    json_object_object_get_ex(j, "data", &d)) {
			const char *ev = str(j, "event");
			if (!strcmp(ev, "snapshot-progress")) {
				bar(tty, progress_what, (uint64_t)num(d, "done"),
				    (uint64_t)num(d, "total"));
				drew = tty;
			} else if (!strcmp(ev, "migration")) {
				bar(tty, progress_what,
				    (uint64_t)(num(d, "ram_sent") +
					       num(d, "disk_sent")),
				    (uint64_t)(num(d, "ram_total") +
					       num(d, "disk_total")));
				drew = tty;
			}
		}
		json_object_put(j);
	}
}

/* 0 for an ok reply (result in *res, owned by r), else prints the error. */
static int check_reply(struct json_object *r, struct json_object **res)
{
	struct json_object *ok, *e;
	if (json_object_object_get_ex(r, "ok", &ok) && json_object_get_boolean(ok)) {
		if (!json_object_object_get_ex(r, "result", res))
			*res = NULL;
		return 0;
	}
	if (json_object_object_get_ex(r, "error", &e))
		fprintf(stderr, "ringvm ctl: %s: %s\n", str(e, "code"),
			str(e, "message"));
	else
		fprintf(stderr, "ringvm ctl: malformed reply\n");
	return 1;
}

static void print_status(struct json_object *r)
{
	printf("state: %s\n", str(r, "state"));
	if (!json_object_object_get_ex(r, "vcpus", NULL))
		return;   /* no VM yet (incoming) */
	printf("vcpus: %lld\n", (long long)num(r, "vcpus"));
	printf("memory: %lld MiB\n", (long long)(num(r, "mem") >> 20));
	printf("uptime: %.1f s\n", (double)num(r, "uptime_ns") / 1e9);
	printf("instret: %lld\n", (long long)num(r, "instret"));
	struct json_object *l;
	if (!json_object_object_get_ex(r, "devices", &l) ||
	    !json_object_is_type(l, json_type_array))
		return;
	printf("devices:\n");
	for (size_t i = 0; i < json_object_array_length(l); i++) {
		struct json_object *d = json_object_array_get_idx(l, i), *v;
		const char *t = str(d, "type");
		if (!strcmp(t, "disk"))
			printf("  disk%lld: %s (%s%s)\n", (long long)num(d, "index"),
			       str(d, "path"), str(d, "format"),
			       json_object_object_get_ex(d, "read_only", &v) &&
			       json_object_get_boolean(v) ? ", ro" : "");
		else if (!strcmp(t, "nic"))
			printf("  nic%lld: %s%s%s\n", (long long)num(d, "index"),
			       str(d, "backend"),
			       json_object_object_get_ex(d, "mac", NULL) ?
			       " mac " : "", str(d, "mac"));
		else
			printf("  %s\n", t);
	}
}

static void print_migration(struct json_object *r)
{
	printf("state: %s\n", str(r, "state"));
	printf("ram: %.1f/%.1f MiB\n", (double)num(r, "ram_sent") / 1048576,
	       (double)num(r, "ram_total") / 1048576);
	if (num(r, "disk_total"))
		printf("disk: %.1f/%.1f MiB\n",
		       (double)num(r, "disk_sent") / 1048576,
		       (double)num(r, "disk_total") / 1048576);
	printf("rounds: %lld\n", (long long)num(r, "rounds"));
	printf("dirty pages: %lld\n", (long long)num(r, "dirty_pages"));
	printf("bandwidth: %.1f MiB/s\n", (double)num(r, "bandwidth") / 1048576);
	if (!strcmp(str(r, "state"), "completed"))
		printf("downtime: %.1f ms\n", (double)num(r, "downtime_ns") / 1e6);
	if (!strcmp(str(r, "state"), "failed"))
		printf("error: %s\n", str(r, "error"));
}

/* After stop/quit: the VM closes the socket when it has ended. */
static int wait_end(struct conn *c, int timeout_ms)
{
	for (;;) {
		const char *msg;
		struct json_object *j = next_msg(c, timeout_ms, &msg);
		if (!j) {
			if (!strcmp(msg, "no answer from the VM"))
				return die("the VM did not end");
			return 0;
		}
		json_object_put(j);
	}
}

static int stream_events(struct conn *c)
{
	for (;;) {
		const char *msg;
		struct json_object *j = next_msg(c, -1, &msg), *d;
		if (!j)
			return 0;   /* the VM ended */
		if (!c->json && json_object_object_get_ex(j, "event", NULL)) {
			time_t t = (time_t)(num(j, "time_ns") / 1000000000);
			struct tm tm;
			char ts[32] = "";
			if (localtime_r(&t, &tm))
				strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
			printf("%s %s", ts, str(j, "event"));
			if (json_object_object_get_ex(j, "data", &d) &&
			    json_object_object_length(d))
				printf(" %s", json_object_to_json_string_ext(
					       d, JSON_C_TO_STRING_PLAIN));
			putchar('\n');
			fflush(stdout);
		}
		json_object_put(j);
	}
}

/* ---- arguments --------------------------------------------------------- */

/* "30ms", "1.5s", "500us", "20" (unit_s: what a bare number means, in
 * seconds) -> seconds. */
static int parse_secs(const char *s, double unit_s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0)
		return -1;
	double mul = unit_s;
	if (!strcmp(end, "s"))
		mul = 1;
	else if (!strcmp(end, "ms"))
		mul = 1e-3;
	else if (!strcmp(end, "us"))
		mul = 1e-6;
	else if (*end)
		return -1;
	*out = v * mul;
	return 0;
}

int cli_ctl(int argc, char **argv)
{
	struct conn c = { .fd = -1 };
	const char *pos[3] = { 0 };
	unsigned npos = 0;
	bool diff = false, no_disk = false, copy_disks = false;
	double timeout = -1, downtime = -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--json")) {
			c.json = true;
		} else if (!strcmp(a, "--diff")) {
			diff = true;
		} else if (!strcmp(a, "--no-disk-state")) {
			no_disk = true;
		} else if (!strcmp(a, "--copy-disks")) {
			copy_disks = true;
		} else if (!strcmp(a, "--timeout") ||
			   !strcmp(a, "--max-downtime")) {
			bool t = !strcmp(a, "--timeout");
			if (i + 1 == argc)
				return die("%s needs a value", a);
			if (parse_secs(argv[++i], t ? 1 : 1e-3,
				       t ? &timeout : &downtime) < 0)
				return die("%s: bad duration `%s`", a, argv[i]);
		} else if (a[0] == '-' && a[1]) {
			return die("unknown option `%s` (try `ringvm ctl "
				   "--help`)", a);
		} else if (npos == 3) {
			return die("unexpected argument `%s`", a);
		} else {
			pos[npos++] = a;
		}
	}
	if (npos < 2)
		return die("usage: ringvm ctl [--json] SOCKET COMMAND [options] "
			   "(try `ringvm ctl --help`)");
	const char *cmd = pos[1], *arg = pos[2];
	bool wants_arg = !strcmp(cmd, "snapshot") || !strcmp(cmd, "migrate");
	static const char *const known[] = {
		"status", "pause", "resume", "stop", "quit", "snapshot",
		"migrate", "migrate-status", "migrate-cancel", "events",
	};
	bool ok = false;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		ok |= !strcmp(cmd, known[i]);
	if (!ok)
		return die("unknown command `%s` (try `ringvm ctl --help`)",
			   cmd);
	if (wants_arg && !arg)
		return die("%s needs %s", cmd,
			   !strcmp(cmd, "snapshot") ? "a directory" : "a URI");
	if (!wants_arg && arg)
		return die("%s: unexpected argument `%s`", cmd, arg);
	if ((diff || no_disk) && strcmp(cmd, "snapshot"))
		return die("--diff and --no-disk-state go with snapshot");
	if ((copy_disks || downtime >= 0) && strcmp(cmd, "migrate"))
		return die("--copy-disks and --max-downtime go with migrate");
	if (timeout >= 0 && strcmp(cmd, "stop"))
		return die("--timeout goes with stop");

	struct json_object *args = NULL;
	if (!strcmp(cmd, "snapshot")) {
		args = json_object_new_object();
		json_object_object_add(args, "dir", json_object_new_string(arg));
		if (diff)
			json_object_object_add(args, "diff",
					       json_object_new_boolean(1));
		if (no_disk)
			json_object_object_add(args, "no_disk_state",
					       json_object_new_boolean(1));
	} else if (!strcmp(cmd, "migrate")) {
		args = json_object_new_object();
		json_object_object_add(args, "uri", json_object_new_string(arg));
		if (downtime >= 0)
			json_object_object_add(args, "max_downtime_ms",
					       json_object_new_double(downtime * 1e3));
		if (copy_disks)
			json_object_object_add(args, "copy_disks",
					       json_object_new_boolean(1));
	} else if (!strcmp(cmd, "stop") && timeout >= 0) {
		args = json_object_new_object();
		json_object_object_add(args, "timeout",
				       json_object_new_double(timeout));
	}

	int rc = connect_to(&c, pos[0]);
	if (!rc)
		rc = send_req(&c, cmd, args);
	else
		json_object_put(args);
	if (rc)
		goto out;
	bool tty = isatty(STDOUT_FILENO);
	bool longcmd = wants_arg;
	struct json_object *reply = await_reply(
		&c, longcmd ? -1 : 60000, !strcmp(cmd, "snapshot") ? "snapshot" :
		!strcmp(cmd, "migrate") ? "migrate" : NULL, tty), *res;
	if (!reply || check_reply(reply, &res)) {
		json_object_put(reply);
		rc = 1;
		goto out;
	}
	if (!strcmp(cmd, "events")) {
		json_object_put(reply);
		rc = stream_events(&c);
		goto out;
	}
	if (!c.json) {
		if (!strcmp(cmd, "status"))
			print_status(res);
		else if (!strcmp(cmd, "pause") || !strcmp(cmd, "resume"))
			printf("%s\n", str(res, "state"));
		else if (!strcmp(cmd, "snapshot"))
			printf("snapshot written to %s\n", str(res, "dir"));
		else if (!strcmp(cmd, "migrate"))
			printf("migrated: %.1f MiB RAM in %lld rounds, "
			       "downtime %.1f ms\n",
			       (double)num(res, "ram_sent") / 1048576,
			       (long long)num(res, "rounds"),
			       (double)num(res, "downtime_ns") / 1e6);
		else if (!strcmp(cmd, "migrate-status"))
			print_migration(res);
		else if (!strcmp(cmd, "migrate-cancel"))
			printf("cancelling\n");
	}
	int64_t wait_ns = !strcmp(cmd, "quit") ? 0 :
		!strcmp(cmd, "stop") ? num(res, "timeout_ns") : -1;
	json_object_put(reply);
	if (wait_ns >= 0) {
		rc = wait_end(&c, (int)(wait_ns / 1000000) + 30000);
		if (!rc && !c.json)
			printf("stopped\n");
	}
out:
	if (c.fd >= 0)
		close(c.fd);
	api_linebuf_free(&c.in);
	return rc;
}
