/* ringvm img check: consistency of a qcow2 image's metadata; repair.
 * Exit status as qemu-img's: 0 clean, 1 the check could not run, 2
 * corruptions remain, 3 only leaks remain, 63 the format has no checks. */
#include <json-c/json.h>
#include <string.h>

#include "img_common.h"
#include "block/qcow2.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: ringvm img check [-f FMT] [-r leaks|all] [--output=human|json] [-q] FILE\n"
"\n"
"Check a qcow2 image's refcounts and tables: leaked clusters (space wasted,\n"
"data safe) and corruptions.  -r leaks repairs leaks only, -r all repairs\n"
"everything that can be repaired.\n"
"Exit status: 0 no errors, 1 the check could not run, 2 corruptions,\n"
"3 leaked clusters only, 63 the format cannot be checked (raw).\n");
}

static int verdict(const struct qcow2_check_result *r)
{
	if (r->corruptions > r->corruptions_fixed)
		return 2;
	if (r->leaks > r->leaks_fixed)
		return 3;
	return 0;
}

static void print_json(const char *path, const struct qcow2_check_result *r)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "image-end-offset",
			       json_object_new_int64((int64_t)r->image_end_offset));
	json_object_object_add(o, "total-clusters",
			       json_object_new_int64((int64_t)r->total_clusters));
	json_object_object_add(o, "check-errors", json_object_new_int(0));
	if (r->corruptions > r->corruptions_fixed)
		json_object_object_add(o, "corruptions", json_object_new_int64(
			(int64_t)(r->corruptions - r->corruptions_fixed)));
	if (r->leaks > r->leaks_fixed)
		json_object_object_add(o, "leaks", json_object_new_int64(
			(int64_t)(r->leaks - r->leaks_fixed)));
	if (r->leaks_fixed)
		json_object_object_add(o, "leaks-fixed",
			json_object_new_int64((int64_t)r->leaks_fixed));
	if (r->corruptions_fixed)
		json_object_object_add(o, "corruptions-fixed",
			json_object_new_int64((int64_t)r->corruptions_fixed));
	json_object_object_add(o, "filename", json_object_new_string(path));
	json_object_object_add(o, "format", json_object_new_string("qcow2"));
	json_object_object_add(o, "allocated-clusters",
			       json_object_new_int64((int64_t)r->allocated_clusters));
	json_object_object_add(o, "fragmented-clusters", json_object_new_int(0));
	json_object_object_add(o, "compressed-clusters",
			       json_object_new_int64((int64_t)r->compressed_clusters));
	printf("%s\n", json_object_to_json_string_ext(o,
		JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
		JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void print_state(const struct qcow2_check_result *r)
{
	uint64_t corr = r->corruptions - r->corruptions_fixed;
	uint64_t leaks = r->leaks - r->leaks_fixed;
	if (!corr && !leaks)
		printf("No errors were found on the image.\n");
	if (corr)
		printf("\n%llu errors were found on the image.\n"
		       "Data may be corrupted, or further writes to the image "
		       "may corrupt it.\n", (unsigned long long)corr);
	if (leaks)
		printf("\n%llu leaked clusters were found on the image.\n"
		       "This means waste of disk space, but no harm to data.\n",
		       (unsigned long long)leaks);
}

int img_check(int argc, char **argv)
{
	enum { O_OUTPUT = 256, O_JSON };
	static const struct option opts[] = {
		{ "help", no_argument, 0, 'h' },
		{ "format", required_argument, 0, 'f' },
		{ "repair", required_argument, 0, 'r' },
		{ "output", required_argument, 0, O_OUTPUT },
		{ "json", no_argument, 0, O_JSON },
		{ "quiet", no_argument, 0, 'q' },
		{ 0, 0, 0, 0 },
	};
	const char *V = "check";
	const char *fmt = NULL, *repair = NULL;
	bool json = false, quiet = false;
	struct err e = { 0 };
	struct block_dev *bd = NULL;

	img_getopt_reset();
	for (int c; (c = getopt_long(argc, argv, ":hf:r:q", opts, NULL)) != -1;) {
		switch (c) {
		case 'h': usage(stdout); return 0;
		case 'f': fmt = optarg; break;
		case 'q': quiet = true; break;
		case 'r':
			if (strcmp(optarg, "leaks") && strcmp(optarg, "all"))
				return img_failf(V, "-r: `%s` is not leaks or "
						 "all", optarg);
			repair = optarg;
			break;
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
	const char *path = argv[optind];
	if (img_open(path, fmt, !repair, &bd, &e))
		return img_fail(V, &e);
	if (strcmp(bd->drv->name, "qcow2")) {
		fprintf(stderr, "ringvm img check: `%s`: the %s format does "
			"not support checks\n", path, bd->drv->name);
		block_close(bd);
		return 63;
	}

	struct qcow2_check_result r = { 0 };
	int status = 1;
	if (qcow2_check(bd, false, &r, &e)) {
		img_fail(V, &e);
		goto out;
	}
	if (repair && !strcmp(repair, "leaks") && r.corruptions) {
		if (!quiet)
			fprintf(stderr, "ringvm img check: %llu corruptions "
				"found; not repairing with -r leaks (use -r "
				"all)\n", (unsigned long long)r.corruptions);
		repair = NULL;
	}
	if (repair && (r.corruptions || r.leaks)) {
		struct qcow2_check_result fixed = { 0 };
		if (qcow2_check(bd, true, &fixed, &e)) {
			img_fail(V, &e);
			goto out;
		}
		if (block_flush(bd) < 0) {
			img_failf(V, "`%s`: flush after repair failed", path);
			goto out;
		}
		if (!quiet && !json) {
			printf("The following inconsistencies were found and "
			       "repaired:\n\n    %llu leaked clusters\n"
			       "    %llu corruptions\n\n"
			       "Double checking the fixed image now...\n",
			       (unsigned long long)fixed.leaks_fixed,
			       (unsigned long long)fixed.corruptions_fixed);
		}
		struct qcow2_check_result again = { 0 };
		if (qcow2_check(bd, false, &again, &e)) {
			img_fail(V, &e);
			goto out;
		}
		again.leaks_fixed = fixed.leaks_fixed;
		again.corruptions_fixed = fixed.corruptions_fixed;
		/* what remains is what the second pass still finds */
		again.leaks += again.leaks_fixed;
		again.corruptions += again.corruptions_fixed;
		r = again;
	}
	status = verdict(&r);
	if (json) {
		print_json(path, &r);
	} else if (!quiet) {
		print_state(&r);
		if (r.total_clusters)
			printf("%llu/%llu = %.2f%% allocated, 0.00%% "
			       "fragmented, %.2f%% compressed clusters\n",
			       (unsigned long long)r.allocated_clusters,
			       (unsigned long long)r.total_clusters,
			       100.0 * (double)r.allocated_clusters /
			       (double)r.total_clusters,
			       r.allocated_clusters ? 100.0 *
			       (double)r.compressed_clusters /
			       (double)r.allocated_clusters : 0.0);
		printf("Image end offset: %llu\n",
		       (unsigned long long)r.image_end_offset);
	}
out:
	block_close(bd);
	return status;
}
