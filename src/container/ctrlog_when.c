/* The times `container logs --since/--until` accept, as docker's: an RFC
 * 3339 time or date, Unix seconds, or a duration back from now. */
#include "ctrlog.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define NS 1000000000LL

/* Digits at *p: the value in *v (at most max digits), the count in *n. */
static void digits(const char **p, int max, int64_t *v, int *n)
{
	*v = 0;
	*n = 0;
	while (**p >= '0' && **p <= '9' && *n < max) {
		*v = *v * 10 + (**p - '0');
		(*p)++;
		(*n)++;
	}
}

/* "[.ddd]": nanoseconds (digits past the ninth are ignored). */
static int fraction(const char **p, int64_t *ns)
{
	*ns = 0;
	if (**p != '.')
		return 0;
	(*p)++;
	int n = 0;
	while (**p >= '0' && **p <= '9') {
		if (n < 9)
			*ns = *ns * 10 + (**p - '0');
		n++;
		(*p)++;
	}
	if (!n)
		return -EINVAL;
	for (int i = n; i < 9; i++)
		*ns *= 10;
	return 0;
}

/* A Go duration: one or more number-unit pairs ("1h30m", "1.5s",
 * "250ms"). */
static int duration(const char *p, int64_t *out)
{
	static const struct {
		const char *u;
		int64_t ns;
	} units[] = { { "ns", 1 }, { "us", 1000 }, { "\xc2\xb5s", 1000 },
		      { "ms", 1000000 }, { "s", NS }, { "m", 60 * NS },
		      { "h", 3600 * NS } };
	int64_t total = 0;
	if (!*p)
		return -EINVAL;
	while (*p) {
		int64_t whole, frac;
		int n;
		digits(&p, 12, &whole, &n);
		if (fraction(&p, &frac) || (!n && !frac))
			return -EINVAL;
		size_t best = 0;
		int64_t mul = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].u);
			if (!strncmp(p, units[i].u, l) && l > best) {
				best = l;
				mul = units[i].ns;
			}
		}
		if (!best)
			return -EINVAL;
		p += best;
		/* 12 digits of hours still fit: 1e12 * 3.6e12 would not, so
		 * check before multiplying. */
		if (whole > INT64_MAX / mul / 2)
			return -ERANGE;
		total += whole * mul + (int64_t)((__int128)frac * mul / NS);
		if (total < 0 || total > INT64_MAX / 2)
			return -ERANGE;
	}
	*out = total;
	return 0;
}

/* "YYYY-MM-DD[THH:MM[:SS[.f]]][Z|±HH:MM]"; without a zone, local time. */
static int rfc3339(const char *p, int64_t *out)
{
	int64_t f[6] = { 0 };
	int n;
	static const char sep[] = "--T::";
	int fields = 0;
	for (; fields < 6; fields++) {
		digits(&p, fields ? 2 : 4, &f[fields], &n);
		if (n != (fields ? 2 : 4))
			return -EINVAL;
		if (fields == 5 || *p != sep[fields])
			break;
		p++;
	}
	if (fields < 2)
		return -EINVAL;  /* a date at least */
	int64_t ns = 0;
	if (fields == 5 && fraction(&p, &ns))
		return -EINVAL;
	struct tm tm = { .tm_year = (int)f[0] - 1900, .tm_mon = (int)f[1] - 1,
			 .tm_mday = (int)f[2], .tm_hour = (int)f[3],
			 .tm_min = (int)f[4], .tm_sec = (int)f[5],
			 .tm_isdst = -1 };
	if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 ||
	    f[4] > 59 || f[5] > 60)
		return -EINVAL;
	time_t t;
	if (!*p) {
		t = mktime(&tm);
	} else {
		int64_t off = 0;
		if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1;
			int64_t hh, mm;
			digits(&p, 2, &hh, &n);
			if (n != 2 || *p++ != ':')
				return -EINVAL;
			digits(&p, 2, &mm, &n);
			if (n != 2 || hh > 23 || mm > 59)
				return -EINVAL;
			off = sign * (hh * 3600 + mm * 60);
		} else if (*p == 'Z' || *p == 'z') {
			p++;
		}
		if (*p)
			return -EINVAL;
		t = timegm(&tm) - off;
	}
	if (t == (time_t)-1)
		return -EINVAL;
	if (t > INT64_MAX / NS - 1 || t < INT64_MIN / NS + 1)
		return -ERANGE;  /* past 2262 or before 1678 in ns */
	*out = (int64_t)t * NS + ns;
	return 0;
}

int ctrlog_parse_when(const char *v, int64_t now, int64_t *ns)
{
	const char *p = v;
	int64_t s, frac;
	int n;
	digits(&p, 12, &s, &n);
	if (n && (*p == '.' || !*p) && !fraction(&p, &frac) && !*p) {
		if (s > INT64_MAX / NS - 1)
			return -ERANGE;
		*ns = s * NS + frac;  /* Unix seconds */
		return 0;
	}
	int64_t d;
	int rc = duration(v, &d);
	if (!rc) {
		*ns = now - d;
		return 0;
	}
	if (rc == -ERANGE)
		return rc;
	return rfc3339(v, ns);
}
