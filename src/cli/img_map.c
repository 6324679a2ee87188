/* ringvm img map: which guest ranges are allocated, where in which file,
 * and at what depth of the backing chain. */
#include <json-c/json.h>
#include <string.h>

#include "img_common.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: ringvm img map [-f FMT] [--output=human|json] [--json] FILE\n"
"\n"
"Human output lists the ranges that hold data (offset, length, where they are\n"
"in which file); JSON lists every range with its depth in the backing chain\n"
"(0 = FILE), present (allocated in some layer), zero, data and offset.\n");
}

struct range {
	uint64_t start, len, host;
	unsigned flags;
	int depth;
	const char *path;
};

static bool mergeable(const struct range *a, const struct block_status *st)
{
	if (a->flags != st->flags || a->depth != st->depth)
		return false;
	if (a->path != st->path && (!a->path || !st->path ||
				    strcmp(a->path, st->path)))
		return false;
	return !(st->flags & BLOCK_STATUS_OFFSET) ||
	       a->host + a->len == st->host_off;
}

static void emit(const struct range *r, bool json, json_object *arr)
{
	if (json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "start",
				       json_object_new_int64((int64_t)r->start));
		json_object_object_add(o, "length",
				       json_object_new_int64((int64_t)r->len));
		json_object_object_add(o, "depth", json_object_new_int(r->depth));
		json_object_object_add(o, "present", json_object_new_boolean(
			!!(r->flags & BLOCK_STATUS_ALLOCATED)));
		json_object_object_add(o, "zero", json_object_new_boolean(
			!!(r->flags & BLOCK_STATUS_ZERO)));
		json_object_object_add(o, "data", json_object_new_boolean(
			!!(r->flags & BLOCK_STATUS_DATA)));
		json_object_object_add(o, "compressed", json_object_new_boolean(
			!!(r->flags & BLOCK_STATUS_COMPRESSED)));
		if (r->flags & BLOCK_STATUS_OFFSET)
			json_object_object_add(o, "offset",
				json_object_new_int64((int64_t)r->host));
		json_object_array_add(arr, o);
		return;
	}
	if (!(r->flags & BLOCK_STATUS_DATA))
		return;
	/* qemu-img's columns: "%#-16llx" prints 0 as "0", others 0x... */
	printf("%#-16llx%#-16llx", (unsigned long long)r->start,
	       (unsigned long long)r->len);
	if (r->flags & BLOCK_STATUS_OFFSET)
		printf("%#-16llx", (unsigned long long)r->host);
	else
		printf("%-16s", "-");
	printf("%s\n", r->path ? r->path : "");
}

int img_map(int argc, char **argv)
{
	enum { O_OUTPUT = 256, O_JSON };
	static const struct option opts[] = {
		{ "help", no_argument, 0, 'h' },
		{ "format", required_argument, 0, 'f' },
		{ "output", required_argument, 0, O_OUTPUT },
		{ "json", no_argument, 0, O_JSON },
		{ 0, 0, 0, 0 },
	};
	const char *V = "map";
	const char *fmt = NULL;
	bool json = false;
	struct err e = { 0 };
	struct block_dev *bd = NULL;

	img_getopt_reset();
	for (int c; (c = getopt_long(argc, argv, ":hf:", opts, NULL)) != -1;) {
		switch (c) {
		case 'h': usage(stdout); return 0;
		case 'f': fmt = optarg; break;
		case O_JSON: json = true; break;
		case O_OUTPUT:
			if (img_parse_output(optarg, &json, &e))
				return img_fail(V, &e);
			break;
		default:
			return img_bad_option(V, argv, c);
		}
	}
	if (img_check_format(fmt, "-f", &e))
		return img_fail(V, &e);
	if (optind >= argc)
		return img_failf(V, "missing FILE");
	if (optind + 1 < argc)
		return img_failf(V, "unexpected argument `%s`", argv[optind + 1]);
	if (img_open(argv[optind], fmt, true, &bd, &e))
		return img_fail(V, &e);

	json_object *arr = json ? json_object_new_array() : NULL;
	if (!json)
		printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to",
		       "File");
	struct range cur = { 0 };
	bool have = false;
	int status = 0;
	for (uint64_t off = 0; off < bd->size;) {
		struct block_status st = { 0 };
		int rc = block_status(bd, off, bd->size - off, &st);
		if (rc < 0 || !st.len) {
			err_sys(&e, rc < 0 ? -rc : EIO, "`%s`: block status at "
				"%llu", argv[optind], (unsigned long long)off);
			status = img_fail(V, &e);
			break;
		}
		if (st.len > bd->size - off)
			st.len = bd->size - off;
		if (have && mergeable(&cur, &st)) {
			cur.len += st.len;
		} else {
			if (have)
				emit(&cur, json, arr);
			cur = (struct range){ off, st.len, st.host_off,
					      st.flags, st.depth, st.path };
			have = true;
		}
		off += st.len;
	}
	if (have && !status)
		emit(&cur, json, arr);
	if (json) {
		if (!status)
			printf("%s\n", json_object_to_json_string_ext(arr,
				JSON_C_TO_STRING_PRETTY |
				JSON_C_TO_STRING_SPACED |
				JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(arr);
	}
	block_close(bd);
	return status;
}
