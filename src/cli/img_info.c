/* ringvm img info: format, sizes, cluster size, backing chain, snapshots. */
#include <json-c/json.h>
#include <string.h>

#include "img_common.h"
#include "block/qcow2.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: ringvm img info [-f FMT] [--output=human|json] [--json]\n"
"                       [--backing-chain] FILE\n"
"\n"
"Show FILE's format, virtual size, disk usage, cluster size, backing file and\n"
"snapshots; --backing-chain shows every image of the chain (JSON: an array).\n");
}

/* One layer as qemu-img's ImageInfo JSON object. */
static json_object *layer_json(struct block_dev *bd)
{
	json_object *o = json_object_new_object();
	const char *path = bd->path ? bd->path : "";
	json_object_object_add(o, "virtual-size",
			       json_object_new_int64((int64_t)bd->size));
	json_object_object_add(o, "filename", json_object_new_string(path));
	json_object_object_add(o, "format",
			       json_object_new_string(bd->drv->name));
	int64_t du = img_disk_usage(path);
	if (du >= 0)
		json_object_object_add(o, "actual-size",
				       json_object_new_int64(du));
	struct qcow2_info qi;
	if (strcmp(bd->drv->name, "qcow2") || qcow2_get_info(bd, &qi)) {
		json_object_object_add(o, "dirty-flag",
				       json_object_new_boolean(0));
		return o;
	}
	json_object_object_add(o, "cluster-size",
			       json_object_new_int64(qi.cluster_size));
	json_object_object_add(o, "dirty-flag",
			       json_object_new_boolean(qi.dirty));
	if (qi.backing_file) {
		json_object_object_add(o, "backing-filename",
				       json_object_new_string(qi.backing_file));
		char *full = img_backing_path(path, qi.backing_file);
		if (full) {
			json_object_object_add(o, "full-backing-filename",
					       json_object_new_string(full));
			free(full);
		}
		if (qi.backing_fmt)
			json_object_object_add(o, "backing-filename-format",
				json_object_new_string(qi.backing_fmt));
	}
	struct qcow2_snapshot_info *snaps = NULL;
	uint32_t n = 0;
	if (qi.nsnapshots && qcow2_snapshot_list(bd, &snaps, &n, NULL) == 0) {
		json_object *arr = json_object_new_array();
		for (uint32_t i = 0; i < n; i++) {
			json_object *s = json_object_new_object();
			json_object_object_add(s, "id",
					       json_object_new_string(snaps[i].id));
			json_object_object_add(s, "name",
					       json_object_new_string(snaps[i].name));
			json_object_object_add(s, "vm-state-size",
				json_object_new_int64((int64_t)snaps[i].vm_state_size));
			json_object_object_add(s, "date-sec",
				json_object_new_int64((int64_t)snaps[i].date_sec));
			json_object_object_add(s, "date-nsec",
				json_object_new_int64(snaps[i].date_nsec));
			json_object_object_add(s, "vm-clock-sec",
				json_object_new_int64((int64_t)(snaps[i].vm_clock_nsec / 1000000000)));
			json_object_object_add(s, "vm-clock-nsec",
				json_object_new_int64((int64_t)(snaps[i].vm_clock_nsec % 1000000000)));
			json_object_object_add(s, "icount",
					       json_object_new_int64(0));
			json_object_array_add(arr, s);
		}
		json_object_object_add(o, "snapshots", arr);
		qcow2_snapshot_list_free(snaps, n);
	}
	json_object *d = json_object_new_object();
	json_object_object_add(d, "compat", json_object_new_string(
				       qi.version >= 3 ? "1.1" : "0.10"));
	json_object_object_add(d, "compression-type",
			       json_object_new_string("zlib"));
	if (qi.version >= 3) {
		json_object_object_add(d, "lazy-refcounts",
				       json_object_new_boolean(qi.lazy_refcounts));
		json_object_object_add(d, "corrupt",
				       json_object_new_boolean(qi.corrupt));
		json_object_object_add(d, "extended-l2",
				       json_object_new_boolean(0));
	}
	json_object_object_add(d, "refcount-bits",
			       json_object_new_int(qi.refcount_bits));
	json_object *fs = json_object_new_object();
	json_object_object_add(fs, "type", json_object_new_string("qcow2"));
	json_object_object_add(fs, "data", d);
	json_object_object_add(o, "format-specific", fs);
	return o;
}

static void layer_human(struct block_dev *bd)
{
	const char *path = bd->path ? bd->path : "";
	char b[32];
	printf("image: %s\n", path);
	printf("file format: %s\n", bd->drv->name);
	printf("virtual size: %s (%llu bytes)\n",
	       img_human_size(bd->size, b, sizeof(b)),
	       (unsigned long long)bd->size);
	int64_t du = img_disk_usage(path);
	if (du >= 0)
		printf("disk size: %s\n", img_human_size((uint64_t)du, b,
							 sizeof(b)));
	struct qcow2_info qi;
	if (strcmp(bd->drv->name, "qcow2") || qcow2_get_info(bd, &qi))
		return;
	printf("cluster_size: %u\n", qi.cluster_size);
	if (qi.backing_file) {
		printf("backing file: %s", qi.backing_file);
		char *full = img_backing_path(path, qi.backing_file);
		if (full && strcmp(full, qi.backing_file))
			printf(" (actual path: %s)", full);
		free(full);
		printf("\n");
		if (qi.backing_fmt)
			printf("backing file format: %s\n", qi.backing_fmt);
	}
	struct qcow2_snapshot_info *snaps = NULL;
	uint32_t n = 0;
	if (qi.nsnapshots && qcow2_snapshot_list(bd, &snaps, &n, NULL) == 0) {
		printf("Snapshot list:\n");
		img_print_snapshots(stdout, snaps, n);
		qcow2_snapshot_list_free(snaps, n);
	}
	printf("Format specific information:\n");
	printf("    compat: %s\n", qi.version >= 3 ? "1.1" : "0.10");
	printf("    compression type: zlib\n");
	if (qi.version >= 3)
		printf("    lazy refcounts: %s\n",
		       qi.lazy_refcounts ? "true" : "false");
	printf("    refcount bits: %d\n", qi.refcount_bits);
	if (qi.version >= 3) {
		printf("    corrupt: %s\n", qi.corrupt ? "true" : "false");
		printf("    extended l2: false\n");
	}
	if (qi.dirty)
		printf("    dirty: true (not closed cleanly; `ringvm img check "
		       "-r all` rebuilds the refcounts)\n");
}

int img_info(int argc, char **argv)
{
	enum { O_OUTPUT = 256, O_JSON, O_CHAIN };
	static const struct option opts[] = {
		{ "help", no_argument, 0, 'h' },
		{ "format", required_argument, 0, 'f' },
		{ "output", required_argument, 0, O_OUTPUT },
		{ "json", no_argument, 0, O_JSON },
		{ "backing-chain", no_argument, 0, O_CHAIN },
		{ 0, 0, 0, 0 },
	};
	const char *V = "info";
	const char *fmt = NULL;
	bool json = false, chain = false;
	struct err e = { 0 };
	struct block_dev *bd = NULL;
	int status = 1;

	img_getopt_reset();
	for (int c; (c = getopt_long(argc, argv, ":hf:", opts, NULL)) != -1;) {
		switch (c) {
		case 'h': usage(stdout); return 0;
		case 'f': fmt = optarg; break;
		case O_JSON: json = true; break;
		case O_CHAIN: chain = true; break;
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

	if (json) {
		json_object *out;
		if (chain) {
			out = json_object_new_array();
			for (struct block_dev *l = bd; l; l = l->backing)
				json_object_array_add(out, layer_json(l));
		} else {
			out = layer_json(bd);
		}
		printf("%s\n", json_object_to_json_string_ext(out,
			JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
			JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(out);
	} else {
		for (struct block_dev *l = bd; l; l = chain ? l->backing : NULL) {
			if (l != bd)
				printf("\n");
			layer_human(l);
		}
	}
	status = 0;
	block_close(bd);
	return status;
}
