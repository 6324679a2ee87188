/* ringvm container ps | stop | start | rm */
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "container.h"
#include "container/ctr.h"
#include "container/runtime.h"

static void opt_reset(void)
{
	optind = 0;
	opterr = 0;
}

/* docker's STATUS column. */
static void status_text(struct store *s, const struct ctr_meta *m, char *out,
			size_t cap)
{
	char d[48];
	int rs = ctr_runtime_status(s, m->id);
	if (rs == CTR_RUNNING || rs == CTR_CREATED) {
		ctr_duration((int64_t)time(NULL) - (m->started ? m->started : m->created), d, sizeof(d));
		if (rs == CTR_RUNNING)
			snprintf(out, cap, "Up %s", d);
		else
			snprintf(out, cap, "Created");
	} else if (m->finished) {
		ctr_duration((int64_t)time(NULL) - m->finished, d, sizeof(d));
		snprintf(out, cap, "Exited (%d) %s ago", m->exit_code, d);
	} else {
		snprintf(out, cap, "Created");
	}
}

bool ctr_is_running(struct store *s, const struct ctr_meta *m)
{
	int rs = ctr_runtime_status(s, m->id);
	return rs == CTR_RUNNING || rs == CTR_CREATED;
}

int ctr_ps(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "no-trunc", no_argument, NULL, 'T' },
		{ 0 }
	};
	bool all = false, quiet = false, notrunc = false;
	opt_reset();
	for (int c; (c = getopt_long(argc, argv, "+aq", opts, NULL)) != -1;) {
		if (c == 'a')
			all = true;
		else if (c == 'q')
			quiet = true;
		else if (c == 'T')
			notrunc = true;
		else
			return ctr_fail("ps: unknown option `%s`", argv[optind - 1]);
	}
	if (optind != argc)
		return ctr_fail("ps: unexpected argument `%s`", argv[optind]);
	struct store s;
	if (ctr_store(&s))
		return CTR_EXIT_ERROR;
	struct ctr_meta *v;
	size_t n;
	struct err e = { 0 };
	if (ctr_list(&s, &v, &n, &e)) {
		store_close(&s);
		return ctr_fail("ps: %s", e.msg);
	}
	static const char *const head[] = { "CONTAINER ID", "IMAGE", "COMMAND", "CREATED",
					    "STATUS", "PORTS", "NAMES" };
	struct ctr_table t;
	if (!quiet)
		ctr_table_init(&t, 7, head);
	/* Newest first, as docker lists them. */
	for (size_t i = n; i-- > 0;) {
		struct ctr_meta *m = &v[i];
		if (!all && !ctr_is_running(&s, m))
			continue;
		char id[80], cmd[600], ago[64], st[96];
		snprintf(id, sizeof(id), notrunc ? "%s" : "%.12s", m->id);
		if (quiet) {
			printf("%s\n", id);
			continue;
		}
		if (!notrunc && strlen(m->command) > 20)
			snprintf(cmd, sizeof(cmd), "\"%.19s…\"", m->command);
		else
			snprintf(cmd, sizeof(cmd), "\"%s\"", m->command);
		ctr_ago(m->created, ago, sizeof(ago));
		status_text(&s, m, st, sizeof(st));
		const char *row[] = { id, m->image_name, cmd, ago, st, m->ports, m->name };
		ctr_table_row(&t, row);
	}
	if (!quiet)
		ctr_table_print(&t);
	free(v);
	store_close(&s);
	return 0;
}

/* Signal the container and wait (up to secs) until its supervisor has
 * recorded the exit; KILL everything in its cgroup after that. */
static int stop_one(struct store *s, struct ctr_meta *m, int secs,
		    struct err *e)
{
	char rtroot[PATH_MAX];
	ctr_rt_root(s, rtroot, sizeof(rtroot));
	if (!ctr_is_running(s, m))
		return 0;
	if (secs > 0)
		rt_kill(rtroot, m->id, SIGTERM, false, NULL);
	for (int i = 0; i < secs * 10 && ctr_is_running(s, m); i++)
		poll(NULL, 0, 100);
	if (ctr_is_running(s, m))
		rt_kill(rtroot, m->id, SIGKILL, true, NULL);
	for (int i = 0; i < 100 && ctr_is_running(s, m); i++)
		poll(NULL, 0, 100);
	if (ctr_is_running(s, m))
		return err_set(e, ETIMEDOUT, "container %s did not stop", m->name);
	/* The supervisor records the exit after the runtime state is gone:
	 * wait for it briefly so `ps` shows the exit code. */
	for (int i = 0; i < 50; i++) {
		struct ctr_meta now;
		if (ctr_meta_load(s, m->id, &now, NULL) || now.finished)
			break;
		poll(NULL, 0, 20);
	}
	return 0;
}

static int for_each(int argc, char **argv, const char *verb, int secs,
		    bool force, int (*fn)(struct store *, struct ctr_meta *, int,
					   bool, struct err *))
{
	if (optind >= argc)
		return ctr_fail("%s: expected at least one CONTAINER", verb);
	struct store s;
	if (ctr_store(&s))
		return CTR_EXIT_ERROR;
	int status = 0;
	for (int i = optind; i < argc; i++) {
		struct ctr_meta m;
		struct err e = { 0 };
		if (ctr_find(&s, argv[i], &m, &e) || fn(&s, &m, secs, force, &e)) {
			if (e.code != -1)
				status = ctr_fail("%s: %s", verb, e.msg);
			else
				status = e.msg[0] ? ctr_fail("%s", e.msg) : CTR_EXIT_ERROR;
			continue;
		}
		printf("%s\n", argv[i]);
	}
	store_close(&s);
	return status;
}

static int do_stop(struct store *s, struct ctr_meta *m, int secs, bool force,
		   struct err *e)
{
	return stop_one(s, m, secs, e);
}

static int do_rm(struct store *s, struct ctr_meta *m, int secs, bool force,
		 struct err *e)
{
	if (ctr_is_running(s, m)) {
		if (!force)
			return err_set(e, EBUSY, "container %s is running: stop it first or use -f", m->name);
		int r = stop_one(s, m, 0, e);
		if (r)
			return r;
	}
	char rtroot[PATH_MAX];
	ctr_rt_root(s, rtroot, sizeof(rtroot));
	rt_delete(rtroot, m->id, true, NULL); /* a leftover of a killed supervisor */
	return ctr_remove(s, m, e);
}

static int do_start(struct store *s, struct ctr_meta *m, int secs, bool force,
		    struct err *e)
{
	if (ctr_is_running(s, m))
		return 0;
	struct store_images im = { 0 };
	int r = store_images_load(s, &im, e), i = -1;
	char full[80];
	snprintf(full, sizeof(full), "sha256:%s", m->image);
	if (!r && (i = store_image_find(&im, full, e)) < 0)
		r = i;
	char dir[PATH_MAX];
	ctr_dir(s, m->id, dir, sizeof(dir));
	bool copied = m->copied;
	/* The copy is still there; an overlay is mounted again over the
	 * container's own upper directory. */
	if (!r && !m->copied)
		r = ctr_rootfs_make(s, &im.v[i], dir, false, &copied, e);
	store_images_free(&im);
	if (r)
		return r;
	int st = ctr_detach(s, m, false);
	if (st) {
		e->code = -1; /* already printed */
		e->msg[0] = '\0';
		return -EIO;
	}
	return 0;
}

int ctr_stop(int argc, char **argv)
{
	static const struct option opts[] = { { "time", required_argument, NULL, 't' }, { 0 } };
	int secs = 10;
	opt_reset();
	for (int c; (c = getopt_long(argc, argv, "+t:", opts, NULL)) != -1;) {
		char *end;
		if (c == 't' && (secs = (int)strtol(optarg, &end, 10)) >= 0 && !*end && *optarg && secs < 86400)
			continue;
		return ctr_fail("stop: bad option or --time `%s`", argv[optind - 1]);
	}
	return for_each(argc, argv, "stop", secs, false, do_stop);
}

int ctr_rm(int argc, char **argv)
{
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' }, { 0 } };
	bool force = false;
	opt_reset();
	for (int c; (c = getopt_long(argc, argv, "+f", opts, NULL)) != -1;) {
		if (c == 'f')
			force = true;
		else
			return ctr_fail("rm: unknown option `%s`", argv[optind - 1]);
	}
	return for_each(argc, argv, "rm", 0, force, do_rm);
}

int ctr_start(int argc, char **argv)
{
	opt_reset();
	if (getopt_long(argc, argv, "+", (const struct option[]){ { 0 } }, NULL) != -1)
		return ctr_fail("start: unknown option `%s`", argv[optind - 1]);
	return for_each(argc, argv, "start", 0, false, do_start);
}
