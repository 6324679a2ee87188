/* ringvm container: the Docker-like workflow on top of the OCI runtime
 * (images in a local store, containers made from them).  Exit status 125
 * for errors of ringvm itself, as docker does; `run` exits with the
 * container's status. */
#include "container.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char usage[] =
"usage: ringvm container COMMAND [options]\n"
"\n"
"Images:\n"
"  pull [-q] [--tls-verify=false] [--insecure] IMAGE\n"
"                        fetch from a registry (OCI distribution API; plain\n"
"                        HTTP for localhost/127.x or with --insecure)\n"
"  load -i FILE          load a docker-archive or OCI layout tar (`-` or no\n"
"                        -i: stdin)\n"
"  images [-q] [--no-trunc]    list images\n"
"  tag SOURCE TARGET     give an image another name\n"
"  rmi [-f] IMAGE...     untag / remove images\n"
"Containers:\n"
"  run [options] IMAGE [CMD...]   run a command in a new container\n"
"                        (`ringvm container run --help` for options)\n"
"  ps [-a] [-q]          list running (-a: all) containers\n"
"  logs [-f] [-t] [--tail N] [--since T] [--until T] CONTAINER\n"
"                        print (-f: follow) a detached container's output\n"
"  stop [-t SECS] CONTAINER...   TERM, then KILL after SECS (default 10)\n"
"  start CONTAINER...    start stopped containers again (detached)\n"
"  rm [-f] CONTAINER...  remove containers (-f: running ones too)\n"
"  exec [-it] [-e K=V] [-w DIR] [-u U[:G]] CONTAINER CMD...\n"
"                        run CMD in a running container\n"
"\n"
"The store is $RINGVM_CONTAINER_ROOT, else /var/lib/ringvm/containers\n"
"(root) or $XDG_DATA_HOME/ringvm/containers.  Errors exit with 125.\n"
"See docs/CONTAINERS.md.\n";

int ctr_fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "ringvm container: %s\n", msg);
	return CTR_EXIT_ERROR;
}

int ctr_store(struct store *s)
{
	struct err e = { 0 };
	if (store_open(NULL, s, &e))
		return ctr_fail("%s", e.msg);
	return 0;
}

void ctr_duration(int64_t d, char *out, size_t cap)
{
	if (d < 1)
		snprintf(out, cap, "Less than a second");
	else if (d < 60)
		snprintf(out, cap, "%lld second%s", (long long)d, d == 1 ? "" : "s");
	else if (d < 3600)
		snprintf(out, cap, "%lld minute%s", (long long)(d / 60), d / 60 == 1 ? "" : "s");
	else if (d < 48 * 3600)
		snprintf(out, cap, "%lld hour%s", (long long)(d / 3600), d / 3600 == 1 ? "" : "s");
	else if (d < 14 * 86400)
		snprintf(out, cap, "%lld days", (long long)(d / 86400));
	else if (d < 60 * 86400)
		snprintf(out, cap, "%lld weeks", (long long)(d / 7 / 86400));
	else if (d < 2 * 365 * 86400)
		snprintf(out, cap, "%lld months", (long long)(d / 30 / 86400));
	else
		snprintf(out, cap, "%lld years", (long long)(d / 365 / 86400));
}

void ctr_ago(int64_t t, char *out, size_t cap)
{
	if (t <= 0) {
		snprintf(out, cap, "N/A");
		return;
	}
	char d[48];
	ctr_duration((int64_t)time(NULL) - t, d, sizeof(d));
	snprintf(out, cap, "%s ago", d);
}

int ctr_start_status(const struct err *e)
{
	bool exec = strstr(e->msg, "exec: ") != NULL;
	if (exec && e->code == ENOENT)
		return 127;
	if (exec && (e->code == EACCES || e->code == ENOEXEC || e->code == EPERM))
		return 126;
	return CTR_EXIT_ERROR;
}

void ctr_size(uint64_t bytes, char *out, size_t cap)
{
	static const char *const u[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB" };
	double v = (double)bytes;
	int i = 0;
	while (v >= 1000 && i < 6) {
		v /= 1000;
		i++;
	}
	snprintf(out, cap, "%.3g%s", v, u[i]);
}

int ctr_table_init(struct ctr_table *t, size_t ncols, const char *const *head)
{
	t->ncols = ncols;
	t->nrows = 0;
	t->cells = NULL;
	return ctr_table_row(t, head);
}

int ctr_table_row(struct ctr_table *t, const char *const *cols)
{
	char **c = realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(char *));
	if (!c)
		return -ENOMEM;
	t->cells = c;
	for (size_t i = 0; i < t->ncols; i++)
		c[t->nrows * t->ncols + i] = strdup(cols[i] ? cols[i] : "");
	t->nrows++;
	return 0;
}

/* Display width: UTF-8 continuation bytes take no column ("…"). */
static size_t width(const char *s)
{
	size_t n = 0;
	for (; s && *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

void ctr_table_print(struct ctr_table *t)
{
	size_t w[16] = { 0 };
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t i = 0; i < t->ncols && i < 16; i++) {
			size_t n = width(t->cells[r * t->ncols + i]);
			if (n > w[i])
				w[i] = n;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t i = 0; i < t->ncols; i++) {
			const char *s = t->cells[r * t->ncols + i];
			fputs(s ? s : "", stdout);
			if (i + 1 < t->ncols)
				printf("%*s", (int)(w[i < 16 ? i : 15] - width(s) + 3), "");
			else
				putchar('\n');
			free(t->cells[r * t->ncols + i]);
		}
	}
	free(t->cells);
	t->cells = NULL;
}

int cli_container(int argc, char **argv)
{
	if (argc < 2)
		return fputs(usage, stderr), CTR_EXIT_ERROR;
	const char *verb = argv[1];
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} verbs[] = {
		{ "load", ctr_load }, { "images", ctr_images }, { "rmi", ctr_rmi },
		{ "tag", ctr_tag }, { "run", ctr_run }, { "ps", ctr_ps },
		{ "logs", ctr_logs }, { "stop", ctr_stop }, { "start", ctr_start },
		{ "rm", ctr_rm }, { "exec", ctr_exec }, { "pull", ctr_pull },
	};
	if (!strcmp(verb, "--help") || !strcmp(verb, "-h") || !strcmp(verb, "help"))
		return fputs(usage, stdout), 0;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(verb, verbs[i].name))
			return verbs[i].fn(argc - 1, argv + 1);
	return ctr_fail("unknown command `%s` (try `ringvm container --help`)", verb);
}
