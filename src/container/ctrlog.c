/* Container logs in the CRI format (ctrlog.h). */
#include "ctrlog.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* "2026-12-03T10:00:00.123456789Z" */
#define TS_LEN 30

char *ctrlog_time(int64_t ts_ns, char *buf, size_t size)
{
	time_t s = (time_t)(ts_ns / 1000000000);
	long ns = (long)(ts_ns % 1000000000);
	if (ns < 0) {
		ns += 1000000000;
		s--;
	}
	struct tm tm;
	gmtime_r(&s, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, ns);
	return buf;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Where records go: the log's fd, its size so far, and the rotation. */
struct sink {
	int fd;
	const struct ctrlog_rotation *rot;
	int64_t size;
};

char *ctrlog_rotated(const char *path, int k, char *buf, size_t size)
{
	snprintf(buf, size, "%s.%d", path, k);
	return buf;
}

/* PATH.(k) -> PATH.(k+1), oldest first (the last one is replaced, i.e.
 * dropped), PATH -> PATH.1, and a new PATH in place of k->fd. */
static int rotate(struct sink *k)
{
	const struct ctrlog_rotation *r = k->rot;
	k->size = 0;
	if (r->max_files <= 1)
		return ftruncate(k->fd, 0) < 0 ? -errno : 0;
	char from[PATH_MAX + 16], to[PATH_MAX + 16];
	for (int i = r->max_files - 1; i >= 1; i--) {
		if (i == 1)
			snprintf(from, sizeof(from), "%s", r->path);
		else
			ctrlog_rotated(r->path, i - 1, from, sizeof(from));
		ctrlog_rotated(r->path, i, to, sizeof(to));
		if (rename(from, to) < 0 && errno != ENOENT)
			return -errno;
	}
	int fd = open(r->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
		      O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	int rc = dup2(fd, k->fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

static int put(struct sink *k, enum ctrlog_stream st, bool partial,
	       const char *data, size_t len)
{
	/* One buffer, one write: a reader never sees half a record. */
	static const size_t head = TS_LEN + 10;
	char rec[TS_LEN + 10 + CTRLOG_CHUNK + 1];
	char ts[40];
	ctrlog_time(now_ns(), ts, sizeof(ts));
	int n = snprintf(rec, head + 1, "%s %s %c ", ts,
			 st == CTRLOG_STDOUT ? "stdout" : "stderr",
			 partial ? 'P' : 'F');
	memcpy(rec + n, data, len);
	rec[n + len] = '\n';
	int rc = write_all(k->fd, rec, (size_t)n + len + 1);
	k->size += (int64_t)((size_t)n + len + 1);
	if (!rc && k->rot && k->rot->max_size && k->size >= k->rot->max_size)
		rc = rotate(k);
	return rc;
}

struct pending {
	int fd;
	enum ctrlog_stream st;
	char buf[CTRLOG_CHUNK];
	size_t len;
};

/* Emit every whole line in p->buf, and the buffer itself when full. */
static int drain(struct pending *p, struct sink *k, bool eof)
{
	size_t start = 0;
	int rc = 0;
	for (;;) {
		char *nl = memchr(p->buf + start, '\n', p->len - start);
		if (!nl)
			break;
		size_t n = (size_t)(nl - (p->buf + start));
		if ((rc = put(k, p->st, false, p->buf + start, n)))
			return rc;
		start += n + 1;
	}
	size_t rest = p->len - start;
	if (rest && (eof || rest == sizeof(p->buf))) {
		if ((rc = put(k, p->st, true, p->buf + start, rest)))
			return rc;
		rest = 0;
		start = p->len;
	}
	memmove(p->buf, p->buf + start, rest);
	p->len = rest;
	return 0;
}

int ctrlog_pump(int out_fd, int err_fd, int log_fd,
		const struct ctrlog_rotation *rot)
{
	struct stat st;
	struct sink k = { log_fd, rot, fstat(log_fd, &st) ? 0 : st.st_size };
	struct pending pend[2];
	pend[0] = (struct pending){ .fd = out_fd, .st = CTRLOG_STDOUT };
	pend[1] = (struct pending){ .fd = err_fd, .st = CTRLOG_STDERR };
	int rc = 0;
	for (;;) {
		struct pollfd pfd[2];
		nfds_t n = 0;
		struct pending *who[2];
		for (int i = 0; i < 2; i++)
			if (pend[i].fd >= 0) {
				pfd[n] = (struct pollfd){ .fd = pend[i].fd,
							  .events = POLLIN };
				who[n++] = &pend[i];
			}
		if (!n)
			return rc;
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (nfds_t i = 0; i < n; i++) {
			struct pending *p = who[i];
			if (!pfd[i].revents)
				continue;
			ssize_t r = read(p->fd, p->buf + p->len,
					 sizeof(p->buf) - p->len);
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			bool eof = r <= 0;
			if (r > 0)
				p->len += (size_t)r;
			int e = drain(p, &k, eof);
			if (e && !rc)
				rc = e;
			if (eof) {
				if (r < 0 && !rc)
					rc = -errno;
				close(p->fd);
				p->fd = -1;
			}
		}
	}
}

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int num(const char *s, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

int ctrlog_parse(const char *line, size_t len, struct ctrlog_rec *r)
{
	/* YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ, then " stdout F " */
	if (len < TS_LEN + 10)
		return -EINVAL;
	const char *t = line;
	if (!digits(t, 4) || t[4] != '-' || !digits(t + 5, 2) || t[7] != '-' ||
	    !digits(t + 8, 2) || t[10] != 'T' || !digits(t + 11, 2) ||
	    t[13] != ':' || !digits(t + 14, 2) || t[16] != ':' ||
	    !digits(t + 17, 2) || t[19] != '.' || !digits(t + 20, 9) ||
	    t[29] != 'Z' || t[30] != ' ')
		return -EINVAL;
	struct tm tm = {
		.tm_year = num(t, 4) - 1900, .tm_mon = num(t + 5, 2) - 1,
		.tm_mday = num(t + 8, 2), .tm_hour = num(t + 11, 2),
		.tm_min = num(t + 14, 2), .tm_sec = num(t + 17, 2),
	};
	/* ns since 1970 in an int64_t end in 2262. */
	if (tm.tm_year < 70 || tm.tm_year > 2261 - 1900 ||
	    tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -EINVAL;
	time_t s = timegm(&tm);
	const char *p = line + TS_LEN + 1;
	if (!memcmp(p, "stdout ", 7))
		r->stream = CTRLOG_STDOUT;
	else if (!memcmp(p, "stderr ", 7))
		r->stream = CTRLOG_STDERR;
	else
		return -EINVAL;
	if ((p[7] != 'F' && p[7] != 'P') || p[8] != ' ')
		return -EINVAL;
	r->partial = p[7] == 'P';
	r->ts_ns = (int64_t)s * 1000000000 + num(t + 20, 9);
	r->data = p + 9;
	r->len = len - (size_t)(r->data - line);
	return 0;
}
