/* ringvm img rebase: give a qcow2 overlay a new backing file.
 *
 * Safe mode (default): wherever the overlay does not hold the data itself
 * and the old and the new backing chains differ, the old contents are first
 * copied into the overlay, so the guest sees the same disk afterwards.
 * -u (unsafe) only rewrites the header: for when the backing file was
 * moved or renamed and the new one has the same contents. */
#include <string.h>
#include <sys/stat.h>

#include "img_common.h"
#include "block/qcow2.h"

#define CHUNK (1u << 20)

static void usage(FILE *f)
{
	fprintf(f,
"usage: ringvm img rebase [-f FMT] [-u] [-p] [-q] -b BACKING [-F FMT] FILE\n"
"\n"
"Make BACKING the backing file of the qcow2 image FILE (a relative name is\n"
"relative to FILE's directory; -b \"\" removes the backing file).  Without\n"
"-u, ranges that read differently through BACKING are first copied into\n"
"FILE, so its contents do not change.  -u only changes the header (the new\n"
"file must have the same contents).  BACKING must exist.\n");
}

/* Copy into top what the old chain shows where the new one differs. */
static int copy_differences(struct block_dev *top, struct block_dev *nb,
			    uint8_t *a, uint8_t *b, uint32_t cluster,
			    struct img_progress *pr, struct err *e)
{
	for (uint64_t off = 0; off < top->size;) {
		struct block_status st;
		int rc = block_status(top, off, top->size - off, &st);
		if (rc < 0 || !st.len)
			return err_sys(e, rc < 0 ? -rc : EIO, "`%s`: block "
				       "status at %llu", top->path,
				       (unsigned long long)off);
		uint64_t n = st.len;
		if (n > top->size - off)
			n = top->size - off;
		if (st.depth == 0 && (st.flags & BLOCK_STATUS_ALLOCATED)) {
			off += n;
			img_progress_update(pr, off, top->size);
			continue;
		}
		/* Not the overlay's own: compare old and new, a cluster at a
		 * time, aligned so writes cover whole clusters. */
		uint64_t end = off + n;
		while (off < end) {
			uint64_t len = CHUNK - off % CHUNK;
			if (len > end - off)
				len = end - off;
			rc = block_pread(top, a, len, off);
			if (rc < 0)
				return err_sys(e, -rc, "read `%s` at %llu",
					       top->path,
					       (unsigned long long)off);
			uint64_t have = 0;
			if (nb && off < nb->size)
				have = nb->size - off < len ? nb->size - off
							    : len;
			if (have) {
				rc = block_pread(nb, b, have, off);
				if (rc < 0)
					return err_sys(e, -rc, "read `%s` at "
						       "%llu", nb->path,
						       (unsigned long long)off);
			}
			memset(b + have, 0, len - have);
			for (uint64_t p = 0; p < len;) {
				uint64_t q = p + cluster - (off + p) % cluster;
				if (q > len)
					q = len;
				if (memcmp(a + p, b + p, q - p)) {
					rc = block_pwrite(top, a + p, q - p,
							  off + p);
					if (rc < 0)
						return err_sys(e, -rc, "write "
							"`%s` at %llu",
							top->path,
							(unsigned long long)(off + p));
				}
				p = q;
			}
			off += len;
			img_progress_update(pr, off, top->size);
		}
	}
	return 0;
}

int img_rebase(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, 0, 'h' },
		{ "format", required_argument, 0, 'f' },
		{ "backing", required_argument, 0, 'b' },
		{ "backing-format", required_argument, 0, 'F' },
		{ "unsafe", no_argument, 0, 'u' },
		{ "quiet", no_argument, 0, 'q' },
		{ "progress", no_argument, 0, 'p' },
		{ 0, 0, 0, 0 },
	};
	const char *V = "rebase";
	const char *fmt = NULL, *backing = NULL, *bfmt = NULL;
	bool unsafe = false, quiet = false, progress = false;
	struct err e = { 0 };
	struct block_dev *top = NULL, *nb = NULL;
	uint8_t *a = NULL, *b = NULL;
	char *npath = NULL;
	int status = 1;

	img_getopt_reset();
	for (int c; (c = getopt_long(argc, argv, ":hf:b:F:uqpt:T:", opts,
				     NULL)) != -1;) {
		switch (c) {
		case 'h': usage(stdout); return 0;
		case 'f': fmt = optarg; break;
		case 'b': backing = optarg; break;
		case 'F': bfmt = optarg; break;
		case 'u': unsafe = true; break;
		case 'q': quiet = true; break;
		case 'p': progress = true; break;
		case 't': case 'T': break;  /* cache modes: ignored */
		default: return img_bad_option(V, argv, c);
		}
	}
	if (img_check_format(fmt, "-f", &e) || img_check_format(bfmt, "-F", &e))
		return img_fail(V, &e);
	if (!backing)
		return img_failf(V, "missing -b BACKING (-b \"\" removes the "
				 "backing file)");
	if (optind >= argc)
		return img_failf(V, "missing FILE");
	if (optind + 1 < argc)
		return img_failf(V, "unexpected argument `%s`", argv[optind + 1]);
	const char *path = argv[optind];
	bool remove = !*backing;
	if (remove && bfmt)
		return img_failf(V, "-F makes no sense with -b \"\"");

	if (!remove) {
		npath = img_backing_path(path, backing);
		if (!npath) {
			err_set(&e, ENOMEM, "out of memory");
			goto fail;
		}
		if (img_same_file(npath, path)) {
			img_failf(V, "`%s` cannot be its own backing file",
				  path);
			goto out;
		}
		/* The new backing file must exist and open, in both modes. */
		if (img_open(npath, bfmt, true, &nb, &e)) {
			err_prefix(&e, "new backing file");
			goto fail;
		}
		if (!bfmt)
			bfmt = nb->drv->name;
	}
	/* Unsafe mode only rewrites the header: it must work when the old
	 * backing file is gone, which is what it is mostly used for. */
	const char *devs[1];
	struct block_open_opts bo = { .format = fmt, .no_backing = unsafe,
				      .backing_devices = devs };
	/* -b DEV on the command line is the user naming the device, which
	 * the block layer otherwise refuses as a backing file. */
	struct stat st;
	if (npath && stat(npath, &st) == 0 && S_ISBLK(st.st_mode))
		devs[bo.nbacking_devices++] = npath;
	if (block_open_with(path, &bo, &top, &e))
		goto fail;
	if (strcmp(top->drv->name, "qcow2")) {
		img_failf(V, "`%s` is a %s image; only qcow2 images have a "
			  "backing file", path, top->drv->name);
		goto out;
	}
	struct qcow2_info qi;
	if (qcow2_get_info(top, &qi)) {
		img_failf(V, "`%s`: cannot read the header", path);
		goto out;
	}
	if (!unsafe) {
		a = malloc(CHUNK);
		b = malloc(CHUNK);
		if (!a || !b) {
			err_set(&e, ENOMEM, "out of memory");
			goto fail;
		}
		struct img_progress pr = { .enabled = progress && !quiet,
					   .last = -1 };
		img_progress_update(&pr, 0, top->size);
		if (copy_differences(top, nb, a, b, qi.cluster_size, &pr, &e))
			goto fail;
		int rc = block_flush(top);
		if (rc < 0) {
			err_sys(&e, -rc, "flush `%s`", path);
			goto fail;
		}
		img_progress_end(&pr);
	}
	/* The new chain is opened again by the overlay itself. */
	block_close(nb);
	nb = NULL;
	if (qcow2_set_backing(top, remove ? NULL : backing,
			      remove ? NULL : bfmt, &e))
		goto fail;
	int rc = block_flush(top);
	if (rc < 0) {
		err_sys(&e, -rc, "flush `%s`", path);
		goto fail;
	}
	status = 0;
	goto out;
fail:
	status = img_fail(V, &e);
out:
	block_close(nb);
	block_close(top);
	free(a);
	free(b);
	free(npath);
	return status;
}
