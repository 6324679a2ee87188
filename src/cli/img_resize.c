/* ringvm img resize: change an image's virtual size.  Shrinking loses the
 * data past the new end, so it needs --shrink (as qemu-img). */
#include <ctype.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "img_common.h"
#include "core/file.h"
#include "block/qcow2.h"
#include "core/parse.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: ringvm img resize [-f FMT] [--shrink] [-q] FILE [+|-]SIZE\n"
"\n"
"Set FILE's virtual size to SIZE, or grow/shrink it by +SIZE/-SIZE.\n"
"Shrinking discards the data past the new end and needs --shrink; a qcow2\n"
"image shrinks only when nothing is allocated past the new end.\n");
}

static int resize_raw(const char *path, uint64_t size, struct err *e)
{
	int fd;
	int rc = file_open_checked("image", path, O_WRONLY, false, &fd, NULL,
				   e);
	if (rc)
		return rc;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK)
		rc = err_set(e, EBUSY, "`%s` is in use by another process",
			     path);
	else if (ftruncate(fd, (off_t)size) < 0 || fsync(fd) < 0)
		rc = err_sys(e, errno, "cannot resize `%s`", path);
	close(fd);
	return rc;
}

int img_resize(int argc, char **argv)
{
	enum { O_SHRINK = 256 };
	static const struct option opts[] = {
		{ "help", no_argument, 0, 'h' },
		{ "format", required_argument, 0, 'f' },
		{ "shrink", no_argument, 0, O_SHRINK },
		{ "quiet", no_argument, 0, 'q' },
		{ 0, 0, 0, 0 },
	};
	const char *V = "resize";
	const char *fmt = NULL;
	bool shrink = false, quiet = false;
	struct err e = { 0 };
	struct block_dev *bd = NULL;

	/* A "-1G" size would look like an option: take it out first (the
	 * last argument, as qemu-img does). */
	const char *size_arg = NULL;
	if (argc >= 3 && argv[argc - 1][0] == '-' &&
	    isdigit((unsigned char)argv[argc - 1][1])) {
		size_arg = argv[argc - 1];
		argc--;
	}
	img_getopt_reset();
	for (int c; (c = getopt_long(argc, argv, ":hf:q", opts, NULL)) != -1;) {
		switch (c) {
		case 'h': usage(stdout); return 0;
		case 'f': fmt = optarg; break;
		case 'q': quiet = true; break;
		case O_SHRINK: shrink = true; break;
		default: return img_bad_option(V, argv, c);
		}
	}
	if (img_check_format(fmt, "-f", &e))
		return img_fail(V, &e);
	if (!size_arg) {
		if (argc - optind < 2)
			return img_failf(V, "need FILE and SIZE (usage: ringvm "
					 "img resize FILE [+|-]SIZE)");
		size_arg = argv[--argc];
	}
	if (optind >= argc)
		return img_failf(V, "missing FILE");
	if (optind + 1 < argc)
		return img_failf(V, "unexpected argument `%s`", argv[optind + 1]);
	const char *path = argv[optind];

	int sign = 0;
	const char *num = size_arg;
	if (*num == '+' || *num == '-')
		sign = *num++ == '+' ? 1 : -1;
	uint64_t v;
	if (parse_size(num, 1, &v, "SIZE", &e))
		return img_fail(V, &e);

	if (img_open(path, fmt, false, &bd, &e))
		return img_fail(V, &e);
	uint64_t old = bd->size, size = v;
	if (sign > 0) {
		if (old + v < old) {
			block_close(bd);
			return img_failf(V, "SIZE: %s is too large", size_arg);
		}
		size = old + v;
	} else if (sign < 0) {
		if (v > old) {
			block_close(bd);
			return img_failf(V, "SIZE: cannot shrink %llu bytes by "
					 "%s", (unsigned long long)old, size_arg);
		}
		size = old - v;
	}
	int status = 1;
	if (size < old && !shrink) {
		img_failf(V, "shrinking `%s` from %llu to %llu bytes discards "
			  "the data past the new end; use --shrink if you "
			  "mean it", path, (unsigned long long)old,
			  (unsigned long long)size);
		goto out;
	}
	if (!strcmp(bd->drv->name, "qcow2")) {
		if (size % 512) {
			img_failf(V, "SIZE %llu is not a multiple of 512 bytes",
				  (unsigned long long)size);
			goto out;
		}
		if (qcow2_resize(bd, size, &e)) {
			img_fail(V, &e);
			goto out;
		}
		if (block_flush(bd) < 0) {
			img_failf(V, "`%s`: flush failed", path);
			goto out;
		}
	} else {
		/* The raw driver has no resize: truncate the file itself,
		 * after releasing our lock on it. */
		block_close(bd);
		bd = NULL;
		if (resize_raw(path, size, &e)) {
			img_fail(V, &e);
			goto out;
		}
	}
	if (!quiet)
		printf("Image resized.\n");
	status = 0;
out:
	block_close(bd);
	return status;
}
