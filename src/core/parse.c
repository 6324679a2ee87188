#include "parse.h"

#include <ctype.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>

int parse_size(const char *s, uint64_t default_unit, uint64_t *out,
	       const char *what, struct err *errp)
{
	const char *p = s;
	uint64_t whole = 0, frac = 0, frac_div = 1;
	int digits = 0;

	if (!s)
		return err_set(errp, EINVAL, "%s: missing size", what);
	while (isdigit((unsigned char)*p)) {
		unsigned d = *p++ - '0';
		if (whole > (UINT64_MAX - d) / 10)
			return err_set(errp, ERANGE, "%s: size `%s` is too large",
				       what, s);
		whole = whole * 10 + d;
		digits++;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			if (frac_div < 1000000000ULL) {
				frac = frac * 10 + (*p - '0');
				frac_div *= 10;
			}
			p++;
			digits++;
		}
	}
	if (!digits)
		return err_set(errp, EINVAL, "%s: `%s` is not a size", what, s);

	uint64_t unit = default_unit;
	if (*p) {
		static const char suffixes[] = "BKMGTP";
		const char *q = strchr(suffixes, toupper((unsigned char)*p));
		if (!q)
			return err_set(errp, EINVAL, "%s: `%s` is not a size "
				       "(use a suffix K, M, G or T)", what, s);
		unit = 1ULL << (10 * (q - suffixes));
		p++;
		if (q != suffixes && (!strcasecmp(p, "ib") || !strcasecmp(p, "b")))
			p += strlen(p);
		if (*p)
			return err_set(errp, EINVAL, "%s: `%s` is not a size",
				       what, s);
	}
	if (whole > UINT64_MAX / unit)
		return err_set(errp, ERANGE, "%s: size `%s` is too large",
			       what, s);
	uint64_t v = whole * unit;
	/* unit <= 2^50 and frac < frac_div <= 1e9 keep this within 64 bits
	 * only for small units; split to avoid overflow. */
	uint64_t fpart = (unit / frac_div) * frac +
			 (unit % frac_div) * frac / frac_div;
	if (v + fpart < v)
		return err_set(errp, ERANGE, "%s: size `%s` is too large",
			       what, s);
	*out = v + fpart;
	return 0;
}

int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out,
	       const char *what, struct err *errp)
{
	uint64_t v = 0;
	const char *p = s;
	if (!s || !*s)
		return err_set(errp, EINVAL, "%s: missing number", what);
	for (; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return err_set(errp, EINVAL, "%s: `%s` is not a number",
				       what, s);
		unsigned d = *p - '0';
		if (v > (UINT64_MAX - d) / 10)
			return err_set(errp, ERANGE, "%s: `%s` is too large",
				       what, s);
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return err_set(errp, ERANGE, "%s: %s is out of range "
			       "(%" PRIu64 "..%" PRIu64 ")", what, s, min, max);
	*out = v;
	return 0;
}
