/* ringvm img snapshot: list, create, apply and delete internal snapshots
 * of a qcow2 image. */
#include <string.h>

#include "img_common.h"
#include "block/qcow2.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: ringvm img snapshot [-f FMT] [-q] (-l | -c NAME | -a NAME | -d NAME) FILE\n"
"\n"
"Internal snapshots of a qcow2 image (the image must not be in use):\n"
"  -l        list them\n"
"  -c NAME   create snapshot NAME of the current disk contents\n"
"  -a NAME   apply (revert the disk to) snapshot NAME (a name or an ID)\n"
"  -d NAME   delete snapshot NAME (a name or an ID)\n");
}

int img_snapshot(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, 0, 'h' },
		{ "format", required_argument, 0, 'f' },
		{ "quiet", no_argument, 0, 'q' },
		{ 0, 0, 0, 0 },
	};
	const char *V = "snapshot";
	const char *fmt = NULL, *name = NULL;
	int action = 0;
	struct err e = { 0 };
	struct block_dev *bd = NULL;

	img_getopt_reset();
	for (int c; (c = getopt_long(argc, argv, ":hf:qlc:a:d:", opts,
				     NULL)) != -1;) {
		switch (c) {
		case 'h': usage(stdout); return 0;
		case 'f': fmt = optarg; break;
		case 'q': break;
		case 'l': case 'c': case 'a': case 'd':
			if (action)
				return img_failf(V, "give only one of -l, -c, "
						 "-a, -d");
			action = c;
			name = c == 'l' ? NULL : optarg;
			break;
		default:
			return img_bad_option(V, argv, c);
		}
	}
	if (img_check_format(fmt, "-f", &e))
		return img_fail(V, &e);
	if (!action)
		return img_failf(V, "give one of -l, -c NAME, -a NAME, -d NAME");
	if (optind >= argc)
		return img_failf(V, "missing FILE");
	if (optind + 1 < argc)
		return img_failf(V, "unexpected argument `%s`", argv[optind + 1]);
	if (name && !*name)
		return img_failf(V, "empty snapshot name");
	const char *path = argv[optind];
	if (img_open(path, fmt, action == 'l', &bd, &e))
		return img_fail(V, &e);
	int status = 1;
	if (strcmp(bd->drv->name, "qcow2")) {
		img_failf(V, "`%s` is a %s image; only qcow2 images have "
			  "internal snapshots", path, bd->drv->name);
		goto out;
	}
	int rc = 0;
	switch (action) {
	case 'l': {
		struct qcow2_snapshot_info *s = NULL;
		uint32_t n = 0;
		rc = qcow2_snapshot_list(bd, &s, &n, &e);
		if (rc)
			break;
		if (n) {
			printf("Snapshot list:\n");
			img_print_snapshots(stdout, s, n);
		}
		qcow2_snapshot_list_free(s, n);
		break;
	}
	case 'c': rc = qcow2_snapshot_create(bd, name, &e); break;
	case 'a': rc = qcow2_snapshot_apply(bd, name, &e); break;
	case 'd': rc = qcow2_snapshot_delete(bd, name, &e); break;
	}
	if (!rc && action != 'l' && block_flush(bd) < 0)
		rc = err_set(&e, EIO, "`%s`: flush failed", path);
	if (rc) {
		img_fail(V, &e);
		goto out;
	}
	status = 0;
out:
	block_close(bd);
	return status;
}
