/* ringvm container logs [-f] [-t] [--tail N] [--since T] [--until T]
 * CONTAINER: a detached container's output as docker prints it — stdout
 * records to stdout, stderr records to stderr, -t prefixing each line
 * with its time, --since/--until keeping the lines whose first piece was
 * read in that range.  The
 * log is CRI records (container/ctrlog.h); a line that is not one (a log
 * written by an older ringvm) is printed as it is, to stdout. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "container.h"
#include "container/ctr.h"
#include "container/ctrlog.h"

struct reader {
	int fd;
	char *buf;
	size_t len, cap;
	bool timestamps;
	int64_t since, until;      /* ns since the epoch, inclusive */
	/* Per stream: inside a line whose first piece (P) was printed, and
	 * whether that line is in the time range. */
	bool open[3], keep[3];
	/* Logical lines still to skip (--tail), or counted (first pass). */
	uint64_t skip, lines;
	bool count_only;
};

static void emit(struct reader *r, const char *line, size_t len)
{
	struct ctrlog_rec rec;
	if (ctrlog_parse(line, len, &rec)) {
		/* Not a record: one line of its own, on stdout. */
		if (r->count_only) {
			r->lines++;
			return;
		}
		if (r->skip) {
			r->skip--;
			return;
		}
		fwrite(line, 1, len, stdout);
		fputc('\n', stdout);
		return;
	}
	bool starts = !r->open[rec.stream];
	r->open[rec.stream] = rec.partial;
	if (starts)
		r->keep[rec.stream] = rec.ts_ns >= r->since &&
				      rec.ts_ns <= r->until;
	if (!r->keep[rec.stream])
		return;
	if (r->count_only) {
		if (!rec.partial)
			r->lines++;
		return;
	}
	if (r->skip) {
		if (!rec.partial)
			r->skip--;
		return;
	}
	FILE *f = rec.stream == CTRLOG_STDERR ? stderr : stdout;
	if (r->timestamps && starts) {
		char ts[40];
		fprintf(f, "%s ", ctrlog_time(rec.ts_ns, ts, sizeof(ts)));
	}
	fwrite(rec.data, 1, rec.len, f);
	if (!rec.partial)
		fputc('\n', f);
}

/* Read what the file has now and print its whole lines; keeps a last
 * incomplete line for the next call (or prints it at the end).  Returns
 * bytes read, 0 at the current end, -errno. */
static ssize_t pass(struct reader *r)
{
	if (r->cap - r->len < 65536) {
		size_t cap = r->cap ? r->cap * 2 : 131072;
		char *b = realloc(r->buf, cap);
		if (!b)
			return -ENOMEM;
		r->buf = b;
		r->cap = cap;
	}
	ssize_t k = read(r->fd, r->buf + r->len, r->cap - r->len);
	if (k <= 0)
		return k < 0 ? -errno : 0;
	r->len += (size_t)k;
	size_t start = 0;
	for (char *nl; (nl = memchr(r->buf + start, '\n', r->len - start));) {
		emit(r, r->buf + start, (size_t)(nl - (r->buf + start)));
		start = (size_t)(nl - r->buf) + 1;
	}
	memmove(r->buf, r->buf + start, r->len - start);
	r->len -= start;
	/* A line longer than any record is not one: pass it on in pieces. */
	if (r->len > CTRLOG_CHUNK + 64) {
		emit(r, r->buf, r->len);
		r->len = 0;
	}
	fflush(stdout);
	fflush(stderr);
	return k;
}

/* Everything the file has now, including a last unterminated line.
 * 0, or -errno of the read that failed. */
static ssize_t drain_fd(struct reader *r)
{
	ssize_t k;
	while ((k = pass(r)) > 0 || k == -EINTR)
		;
	if (r->len)
		emit(r, r->buf, r->len);
	r->len = 0;
	return k;
}

/* -f at the end of r->fd: when the log at p was rotated (its inode is not
 * ours), read the rest of ours and the files rotated after it, then go
 * on with the new log; when it was emptied in place (max-file=1), start
 * over.  True when there is something new to read. */
static bool follow_rotation(struct reader *r, const char *p, int max_file)
{
	struct stat now, ours;
	if (stat(p, &now) < 0 || fstat(r->fd, &ours) < 0)
		return false;
	if (now.st_ino == ours.st_ino && now.st_dev == ours.st_dev) {
		if (lseek(r->fd, 0, SEEK_CUR) <= ours.st_size)
			return false;
		lseek(r->fd, 0, SEEK_SET);
		return true;
	}
	int next = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (next < 0)
		return false;
	/* What was written before the rename, then the files rotated since,
	 * if more than one rotation went by: ours is now PATH.j. */
	drain_fd(r);
	char rp[PATH_MAX + 32];
	int k = max_file - 1;
	for (int j = 1; j < max_file; j++) {
		struct stat js;
		if (stat(ctrlog_rotated(p, j, rp, sizeof(rp)), &js) == 0 &&
		    js.st_ino == ours.st_ino && js.st_dev == ours.st_dev) {
			k = j - 1;
			break;
		}
	}
	for (; k >= 1; k--) {
		close(r->fd);
		r->fd = open(ctrlog_rotated(p, k, rp, sizeof(rp)),
			     O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (r->fd >= 0)
			drain_fd(r);
	}
	if (r->fd >= 0)
		close(r->fd);
	r->fd = next;
	return true;
}

static int parse_tail(const char *v, uint64_t *n)
{
	if (!strcmp(v, "all")) {
		*n = UINT64_MAX;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 10);
	if (!*v || *end || errno || v[0] == '-')
		return -EINVAL;
	*n = x;
	return 0;
}

int ctr_logs(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "timestamps", no_argument, NULL, 't' },
		{ "tail", required_argument, NULL, 'n' },
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ 0 },
	};
	bool follow = false, timestamps = false;
	uint64_t tail = UINT64_MAX;
	int64_t since = INT64_MIN, until = INT64_MAX;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	optind = 0;
	opterr = 0;
	for (int c; (c = getopt_long(argc, argv, "+ftn:", opts, NULL)) != -1;) {
		if (c == 'f')
			follow = true;
		else if (c == 't')
			timestamps = true;
		else if (c == 'n' && !parse_tail(optarg, &tail))
			;
		else if (c == 'n')
			return ctr_fail("logs: --tail `%s`: expected a number "
					"of lines or `all`", optarg);
		else if ((c == 'S' || c == 'U') &&
			 ctrlog_parse_when(optarg, now_ns,
					   c == 'S' ? &since : &until))
			return ctr_fail("logs: --%s `%s`: expected a time "
					"(2026-12-04T10:00:00Z), Unix seconds "
					"or a duration (10m)",
					c == 'S' ? "since" : "until", optarg);
		else if (c == 'S' || c == 'U')
			;
		else
			return ctr_fail("logs: unknown option `%s`",
					argv[optind - 1]);
	}
	if (optind != argc - 1)
		return ctr_fail("logs: expected one CONTAINER");
	struct store s;
	if (ctr_store(&s))
		return CTR_EXIT_ERROR;
	struct ctr_meta m;
	struct err e = { 0 };
	if (ctr_find(&s, argv[optind], &m, &e)) {
		store_close(&s);
		return ctr_fail("logs: %s", e.msg);
	}
	char dir[PATH_MAX], p[PATH_MAX + 16], rp[PATH_MAX + 32];
	ctr_dir(&s, m.id, dir, sizeof(dir));
	snprintf(p, sizeof(p), "%s/ctr.log", dir);
	/* The rotated files, oldest first, then the log itself; opened now
	 * so that a rotation while we read moves nothing under us. */
	int fds[CTRLOG_MAX_FILES], nfd = 0;
	int status = 0;
	for (int k = m.log_max_file - 1; k >= 0 && status == 0; k--) {
		const char *path = k ? ctrlog_rotated(p, k, rp, sizeof(rp)) : p;
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0)
			fds[nfd++] = fd;
		else if (errno != ENOENT)
			status = ctr_fail("logs: %s: %s", path, strerror(errno));
	}
	struct reader r = { .fd = -1, .timestamps = timestamps, .since = since,
			    .until = until };
	if (status == 0 && nfd && tail != UINT64_MAX) {
		/* First pass: count the lines, to skip all but the last N. */
		r.count_only = true;
		for (int i = 0; i < nfd && status == 0; i++) {
			r.fd = fds[i];
			ssize_t k = drain_fd(&r);
			if (k < 0 || lseek(r.fd, 0, SEEK_SET) < 0)
				status = ctr_fail("logs: %s: %s", p, strerror(k < 0 ? (int)-k : errno));
		}
		r.skip = r.lines > tail ? r.lines - tail : 0;
		r.count_only = false;
		memset(r.open, 0, sizeof(r.open));
		memset(r.keep, 0, sizeof(r.keep));
	}
	/* The older files whole; the last one followed with -f. */
	for (int i = 0; i + 1 < nfd && status == 0; i++) {
		r.fd = fds[i];
		ssize_t k = drain_fd(&r);
		if (k < 0)
			status = ctr_fail("logs: %s: %s", p, strerror((int)-k));
	}
	r.fd = nfd ? fds[nfd - 1] : -1;
	for (int i = 0; i + 1 < nfd; i++)
		close(fds[i]);
	for (int idle = 0; r.fd >= 0 && status == 0;) {
		ssize_t k = pass(&r);
		if (k > 0)
			continue;
		if (k == -EINTR)
			continue;
		if (k < 0) {
			status = ctr_fail("logs: %s: %s", p, strerror((int)-k));
			break;
		}
		/* -f: until the container has exited and its output is read
		 * (one more pass after it stops). */
		if (!follow || idle)
			break;
		if (follow_rotation(&r, p, m.log_max_file))
			continue;
		if (!ctr_is_running(&s, &m))
			idle = 1;
		poll(NULL, 0, 100);
	}
	if (r.len)
		emit(&r, r.buf, r.len);
	fflush(stdout);
	fflush(stderr);
	if (r.fd >= 0)
		close(r.fd);
	free(r.buf);
	store_close(&s);
	return status;
}
