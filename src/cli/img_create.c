/* ringvm img create: a new empty raw or qcow2 image, or a qcow2 overlay. */
#include <string.h>

#include "img_common.h"
#include "core/parse.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: ringvm img create [-f FMT] [-o OPTS] [-b BACKING [-F FMT]] [-u] [-q]\n"
"                         FILE [SIZE]\n"
"\n"
"Create an image (overwriting FILE unless another process has it open).\n"
"  -f FMT       raw or qcow2 (default raw, as qemu-img)\n"
"  -o OPTS      key=value,... (-o help lists them): cluster_size, backing_file,\n"
"               backing_fmt, compat, lazy_refcounts, preallocation (raw), size\n"
"  -b BACKING   copy-on-write overlay: reads fall through to BACKING (relative\n"
"               names are relative to FILE's directory); SIZE defaults to its size\n"
"  -F FMT       format of BACKING (probed and recorded when not given)\n"
"  -u           do not open BACKING (it may not exist yet); needs SIZE and -F\n"
"  -q           quiet\n");
}

int img_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, 0, 'h' },
		{ "format", required_argument, 0, 'f' },
		{ "options", required_argument, 0, 'o' },
		{ "backing", required_argument, 0, 'b' },
		{ "backing-format", required_argument, 0, 'F' },
		{ "unsafe", no_argument, 0, 'u' },
		{ "quiet", no_argument, 0, 'q' },
		{ 0, 0, 0, 0 },
	};
	const char *V = "create";
	const char *fmt = NULL;
	bool unsafe = false, quiet = false, help_opts = false;
	struct img_create_opts o = { 0 };
	struct err e = { 0 };
	struct block_dev *bbd = NULL;
	char *bpath = NULL;
	int status = 1;

	img_getopt_reset();
	for (int c; (c = getopt_long(argc, argv, ":hf:o:b:F:uq", opts,
				     NULL)) != -1;) {
		switch (c) {
		case 'h': usage(stdout); status = 0; goto out;
		case 'f': fmt = optarg; break;
		case 'b': o.backing_file = optarg; break;
		case 'F': o.backing_fmt = optarg; break;
		case 'u': unsafe = true; break;
		case 'q': quiet = true; break;
		case 'o':
			if (!strcmp(optarg, "help") || !strcmp(optarg, "?")) {
				help_opts = true;
				break;
			}
			if (img_parse_create_opts(&o, optarg, &e))
				goto fail;
			break;
		default:
			status = img_bad_option(V, argv, c);
			goto out;
		}
	}
	if (!fmt)
		fmt = "raw";
	if (img_check_format(fmt, "-f", &e) ||
	    img_check_format(o.backing_fmt, "-F", &e))
		goto fail;
	if (help_opts) {
		img_print_create_opts_help(stdout, fmt);
		status = 0;
		goto out;
	}
	if (optind >= argc) {
		status = img_failf(V, "missing FILE (usage: ringvm img create "
				   "[-f FMT] FILE [SIZE])");
		goto out;
	}
	const char *path = argv[optind++];
	uint64_t size = o.size;
	bool has_size = o.has_size;
	if (optind < argc) {
		if (parse_size(argv[optind++], 1, &size, "SIZE", &e))
			goto fail;
		has_size = true;
	}
	if (optind < argc) {
		status = img_failf(V, "unexpected argument `%s`", argv[optind]);
		goto out;
	}
	if (!strcmp(fmt, "raw") && o.backing_file) {
		status = img_failf(V, "raw images cannot have a backing file "
				   "(use -f qcow2)");
		goto out;
	}
	if (o.backing_file) {
		if (!*o.backing_file) {
			status = img_failf(V, "-b: empty backing file name");
			goto out;
		}
		bpath = img_backing_path(path, o.backing_file);
		if (!bpath) {
			err_set(&e, ENOMEM, "out of memory");
			goto fail;
		}
		if (img_same_file(bpath, path)) {
			status = img_failf(V, "`%s` cannot be its own backing "
					   "file", path);
			goto out;
		}
		if (unsafe) {
			if (!has_size) {
				status = img_failf(V, "-u needs SIZE (the "
						   "backing file is not opened)");
				goto out;
			}
		} else {
			if (img_open(bpath, o.backing_fmt, true, &bbd, &e)) {
				err_prefix(&e, "backing file");
				goto fail;
			}
			if (!o.backing_fmt)
				o.backing_fmt = bbd->drv->name;
			if (!has_size)
				size = bbd->size;
			has_size = true;
			block_close(bbd);
			bbd = NULL;
		}
	}
	if (!has_size) {
		status = img_failf(V, "missing SIZE (e.g. `ringvm img create "
				   "-f %s %s 4G`)", fmt, path);
		goto out;
	}
	if (!strcmp(fmt, "qcow2") && size % 512) {
		status = img_failf(V, "SIZE %llu is not a multiple of 512 "
				   "bytes", (unsigned long long)size);
		goto out;
	}
	if (!quiet) {
		printf("Formatting '%s', fmt=%s", path, fmt);
		if (!strcmp(fmt, "qcow2"))
			printf(" cluster_size=%u", o.cluster_size ?
			       o.cluster_size : 65536);
		if (o.backing_file)
			printf(" backing_file=%s", o.backing_file);
		if (o.backing_fmt)
			printf(" backing_fmt=%s", o.backing_fmt);
		printf(" size=%llu", (unsigned long long)size);
		if (!strcmp(fmt, "qcow2"))
			printf(" lazy_refcounts=%s refcount_bits=16",
			       o.lazy_refcounts ? "on" : "off");
		printf("\n");
		fflush(stdout);
	}
	if (img_create_image(path, fmt, size, &o, &e))
		goto fail;
	status = 0;
	goto out;
fail:
	status = img_fail(V, &e);
out:
	block_close(bbd);
	free(bpath);
	img_free_create_opts(&o);
	return status;
}
