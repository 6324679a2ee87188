/* libFuzzer: container log records (src/container/ctrlog.c) — the bytes
 * after the header are the container's, so the parser must take any line
 * without reading past it, its data must be the line's tail, and the
 * time it returns must format back to the line's time of day.  The same
 * bytes also go to the `logs --since/--until` time parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "container/ctrlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, so ASan sees any read past the line. */
	char *line = malloc(size ? size : 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	struct ctrlog_rec r;
	if (ctrlog_parse(line, size, &r) == 0) {
		if (r.data < line || r.data + r.len != line + size)
			abort();
		char ts[40];
		ctrlog_time(r.ts_ns, ts, sizeof(ts));
		/* The date may be normalised (Feb 31 is Mar 3) and a leap
		 * second rolls over; otherwise the time of day comes back. */
		if (memcmp(line + 17, "60", 2) && memcmp(ts + 11, line + 11, 19))
			abort();
	}
	free(line);
	/* The same bytes as a `logs --since/--until` value (a string). */
	char *v = malloc(size + 1);
	if (!v)
		return 0;
	memcpy(v, data, size);
	v[size] = 0;
	int64_t ns;
	(void)ctrlog_parse_when(v, INT64_C(1764842400000000000), &ns);
	free(v);
	return 0;
}
