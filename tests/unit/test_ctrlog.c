/* Container logs (src/container/ctrlog.c): the pump splits both pipes into
 * CRI records (F lines, P pieces of long or unterminated lines, streams
 * apart, each record one write), and the parser takes exactly what the
 * pump writes and refuses the rest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "container/ctrlog.h"

/* Run the pump over what `feed` (a child) writes to its two pipes, into
 * log_fd with rotation rot. */
static void run_pump(void (*feed)(int out, int err), int log_fd,
		     const struct ctrlog_rotation *rot)
{
	int po[2], pe[2];
	assert_int_equal(pipe(po), 0);
	assert_int_equal(pipe(pe), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(po[0]);
		close(pe[0]);
		feed(po[1], pe[1]);
		_exit(0);
	}
	close(po[1]);
	close(pe[1]);
	assert_int_equal(ctrlog_pump(po[0], pe[0], log_fd, rot), 0);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
}

/* The log the pump writes for `feed` (malloc'd, NUL-terminated). */
static char *pump(void (*feed)(int out, int err))
{
	FILE *log = tmpfile();
	assert_non_null(log);
	run_pump(feed, fileno(log), NULL);
	long n = ftell(log);
	char *buf = calloc(1, (size_t)n + 1);
	rewind(log);
	assert_int_equal(fread(buf, 1, (size_t)n, log), (size_t)n);
	fclose(log);
	return buf;
}

static void put(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static void feed_lines(int out, int err)
{
	put(out, "one\ntwo\n");
	put(err, "oops\n");
	put(out, "thr");
	put(out, "ee\n");
	put(out, "\n");           /* an empty line */
	put(err, "no newline");
}

/* Lines of the log, each parsed; returns how many. */
static size_t parse_all(char *log, struct ctrlog_rec *r, size_t max)
{
	size_t n = 0;
	for (char *line = log, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
		assert_true(n < max);
		assert_int_equal(ctrlog_parse(line, (size_t)(nl - line), &r[n]), 0);
		n++;
	}
	return n;
}

static void feed_many(int out, int err)
{
	(void)err;
	char line[32];
	for (int i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "line-%03d\n", i);
		put(out, line);
	}
}

/* Read a whole file into a NUL-terminated buffer (NULL: no file). */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *b = calloc(1, 1 << 20);
	size_t n = fread(b, 1, (1 << 20) - 1, f);
	b[n] = '\0';
	fclose(f);
	return b;
}

/* max-size/max-file: the log rotates between whole records; at most
 * max_files files exist, the newest lines are kept in order across them,
 * and no file grows past max_size by more than one record. */
static void rotation(void **state)
{
	(void)state;
	char dir[] = "/tmp/ringvm-ctrlog.XXXXXX", path[64], rp[96];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ctr.log", dir);
	for (int files = 1; files <= 3; files++) {
		for (int k = 0; k <= 4; k++)
			unlink(k ? ctrlog_rotated(path, k, rp, sizeof(rp)) : path);
		int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		assert_true(fd >= 0);
		struct ctrlog_rotation rot = { path, 500, files };
		run_pump(feed_many, fd, &rot);
		close(fd);
		/* Oldest first: every line a record, numbers in a row up to
		 * the last one fed. */
		int next = -1, seen = 0;
		for (int k = files - 1; k >= 0; k--) {
			const char *f = k ? ctrlog_rotated(path, k, rp, sizeof(rp)) : path;
			char *b = slurp(f);
			assert_non_null(b);
			assert_true(strlen(b) <= 500 + 60);
			struct ctrlog_rec r[64];
			size_t n = parse_all(b, r, 64);
			for (size_t i = 0; i < n; i++) {
				int v = atoi(r[i].data + 5);
				if (next >= 0)
					assert_int_equal(v, next);
				next = v + 1;
				seen++;
			}
			free(b);
		}
		assert_int_equal(next, 100);
		assert_true(seen < 100);   /* the oldest were dropped */
		struct stat sb;
		assert_int_equal(stat(ctrlog_rotated(path, files, rp, sizeof(rp)), &sb), -1);
	}
	for (int k = 0; k <= 4; k++)
		unlink(k ? ctrlog_rotated(path, k, rp, sizeof(rp)) : path);
	rmdir(dir);
}

static void records(void **state)
{
	(void)state;
	char *log = pump(feed_lines);
	struct ctrlog_rec r[16];
	size_t n = parse_all(log, r, 16);
	/* stdout: one, two, three, "", F each; stderr: oops F, "no newline" P */
	size_t nout = 0, nerr = 0;
	const char *want_out[] = { "one", "two", "three", "" };
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	for (size_t i = 0; i < n; i++) {
		assert_true(llabs(r[i].ts_ns / 1000000000 - now.tv_sec) < 60);
		if (r[i].stream == CTRLOG_STDOUT) {
			assert_true(nout < 4);
			assert_false(r[i].partial);
			assert_int_equal(r[i].len, strlen(want_out[nout]));
			assert_memory_equal(r[i].data, want_out[nout], r[i].len);
			nout++;
		} else {
			assert_int_equal(r[i].stream, CTRLOG_STDERR);
			const char *w = nerr == 0 ? "oops" : "no newline";
			assert_int_equal(r[i].partial, nerr == 1);
			assert_int_equal(r[i].len, strlen(w));
			assert_memory_equal(r[i].data, w, r[i].len);
			nerr++;
		}
	}
	assert_int_equal(nout, 4);
	assert_int_equal(nerr, 2);
	free(log);
}

static void feed_long(int out, int err)
{
	(void)err;
	size_t n = 3 * CTRLOG_CHUNK + 100;
	char *b = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		b[i] = (char)('a' + i % 26);
	b[n] = '\n';
	assert_int_equal(write(out, b, n + 1), (ssize_t)(n + 1));
	free(b);
}

static void long_line_in_pieces(void **state)
{
	(void)state;
	char *log = pump(feed_long);
	struct ctrlog_rec r[16];
	size_t n = parse_all(log, r, 16), total = 0;
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(r[i].partial, i < 3);
		assert_true(r[i].len <= CTRLOG_CHUNK);
		for (size_t k = 0; k < r[i].len; k++)
			assert_int_equal(r[i].data[k], 'a' + (total + k) % 26);
		total += r[i].len;
	}
	assert_int_equal(total, 3 * CTRLOG_CHUNK + 100);
	free(log);
}

static void parser_refuses(void **state)
{
	(void)state;
	struct ctrlog_rec r;
	const char *bad[] = {
		"",
		"hello world",
		"2026-12-03T10:00:00.123456789Z stdin F x",
		"2026-12-03T10:00:00.123456789Z stdout X x",
		"2026-12-03T10:00:00.123456789Z stdoutF x",
		"2026-12-03T10:00:00.12345678Z stdout F x",
		"2026-13-03T10:00:00.123456789Z stdout F x",
		"2026-12-03T24:00:00.123456789Z stdout F x",
		"2026-12-03 10:00:00.123456789Z stdout F x",
		"2026-12-03T10:00:00.123456789Z stdout F",
		"2026-12-03T10:00:00.123456789+stdout F x",
		"1013-12-03T10:00:00.123456789Z stdout F x",
		"2263-01-01T00:00:00.000000000Z stdout F x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ctrlog_parse(bad[i], strlen(bad[i]), &r), -EINVAL);
	const char *ok = "2026-12-03T10:00:01.000000002Z stderr P a\tb";
	assert_int_equal(ctrlog_parse(ok, strlen(ok), &r), 0);
	assert_int_equal(r.stream, CTRLOG_STDERR);
	assert_true(r.partial);
	assert_int_equal(r.len, 3);
	char ts[40];
	assert_string_equal(ctrlog_time(r.ts_ns, ts, sizeof(ts)),
			    "2026-12-03T10:00:01.000000002Z");
}

/* `logs --since/--until` times: docker's three forms, and refusals. */
static void when_forms(void **state)
{
	(void)state;
	const int64_t NS = 1000000000LL, now = 1764842400LL * NS;
	int64_t v;
	static const struct {
		const char *in;
		int64_t want;
	} ok[] = {
		{ "2025-12-04T10:00:00Z", 1764842400LL * NS },
		{ "2025-12-04T10:00:00.25Z", 1764842400LL * NS + NS / 4 },
		{ "2025-12-04T11:30:00+01:30", 1764842400LL * NS },
		{ "2025-12-04T08:00:00-02:00", 1764842400LL * NS },
		{ "1764842400", 1764842400LL * NS },
		{ "1764842400.000000001", 1764842400LL * NS + 1 },
		{ "10m", now - 600 * NS },
		{ "1h30m", now - 5400 * NS },
		{ "1.5s", now - 3 * NS / 2 },
		{ "250ms", now - NS / 4 },
		{ "7us", now - 7000 },
		{ "3ns", now - 3 },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (ctrlog_parse_when(ok[i].in, now, &v))
			fail_msg("%s refused", ok[i].in);
		if (v != ok[i].want)
			fail_msg("%s: %lld, want %lld", ok[i].in,
				 (long long)v, (long long)ok[i].want);
	}
	/* A date alone is local midnight. */
	assert_int_equal(ctrlog_parse_when("2025-12-04", now, &v), 0);
	struct tm tm = { .tm_year = 125, .tm_mon = 11, .tm_mday = 4,
			 .tm_isdst = -1 };
	assert_int_equal(v, (int64_t)mktime(&tm) * NS);
	static const char *const bad[] = {
		"", "x", "10x", "-10m", "1h-5m", "m", ".s", "10 m",
		"2025-13-01", "2025-12-04T25:00:00Z", "2025-12-04T10:00:00Q",
		"2025-12-04T10:00:00+1:00", "2025-12-04T", "2025-12", "0x10s",
		"inf", "nan", "1e3s", "99999999999999h",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!ctrlog_parse_when(bad[i], now, &v))
			fail_msg("`%s` accepted: %lld", bad[i], (long long)v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(records),
		cmocka_unit_test(rotation),
		cmocka_unit_test(long_line_in_pieces),
		cmocka_unit_test(parser_refuses),
		cmocka_unit_test(when_forms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
