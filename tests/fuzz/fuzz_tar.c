/* libFuzzer target: a hostile tar stream through the reader
 * (src/container/tar.c: headers, pax records, GNU long names, data and
 * padding) with every entry's path and link cleaned as the unpacker does;
 * a cleaned path must never be absolute or hold a `..` component. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "container/tar.h"
#include "tar_mem.h"

static void check_clean(const char *p)
{
	if (p[0] == '/')
		__builtin_trap();
	for (const char *s = p; (s = strstr(s, "..")); s += 2)
		if ((s == p || s[-1] == '/') && (s[2] == '/' || s[2] == '\0'))
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tar_mem m = { data, size, 0 };
	struct tar_reader r;
	tar_reader_init(&r, tar_mem_read, &m);
	struct tar_entry *e = malloc(sizeof(*e));
	struct err er = { 0 };
	char buf[4096];
	for (int i = 0; i < 10000; i++) {
		err_clear(&er);
		int k = tar_next(&r, e, &er);
		if (k < 0 && !er.msg[0])
			__builtin_trap();
		if (k <= 0)
			break;
		if (strlen(e->path) > TAR_PATH_MAX || strlen(e->link) > TAR_PATH_MAX)
			__builtin_trap();
		if (tar_path_clean(e->path, true, NULL) == 0)
			check_clean(e->path);
		if (e->type == '1' && tar_path_clean(e->link, false, NULL) == 0)
			check_clean(e->link);
		ssize_t got;
		uint64_t total = 0;
		while ((got = tar_read_data(&r, buf, sizeof(buf), &er)) > 0)
			total += (uint64_t)got;
		if (got == 0 && total != e->size)
			__builtin_trap();
		if (got < 0)
			break;
	}
	free(e);
	return 0;
}
