/* ringvm img commit: write what an overlay holds into its backing file,
 * then empty the overlay (unless -d), as qemu-img commit does.
 *
 * The overlay holds a shared lock on its backing file while it is open, and
 * writing the backing file needs an exclusive one, so the copy goes in
 * batches: open the overlay (read-only), read up to BATCH bytes of what it
 * holds itself (depth 0 of block_status), close it, open the backing file
 * read-write, write them, flush, close.  Until the last batch is flushed
 * the overlay is untouched, so an interrupted commit loses nothing: the
 * overlay still reads the same, and what was written into the backing file
 * is what the overlay shows anyway. */
#include <string.h>

#include "img_common.h"
#include "block/qcow2.h"

#define BATCH (64u << 20)
#define MAX_EXTENTS 4096

static void usage(FILE *f)
{
	fprintf(f,
"usage: ringvm img commit [-f FMT] [-d] [-p] [-q] FILE\n"
"\n"
"Merge the qcow2 overlay FILE into its backing file: every range FILE holds\n"
"itself is written into the backing file, which grows if FILE is larger.\n"
"Then FILE is emptied (it reads through to the backing file again) unless -d\n"
"is given or FILE has internal snapshots.  Other overlays on the same backing\n"
"file see the change: commit only into a base no other image depends on.\n"
"  -d   keep FILE's contents   -p   progress   -q   quiet\n");
}

struct extent {
	uint64_t off, len;
	bool zero;         /* write zeros (len bytes) instead of data */
	size_t buf_off;    /* where the data is in the batch buffer */
};

/* Read the next batch of FILE's own ranges from *off on. */
static int read_batch(const char *path, const char *fmt, uint64_t *off,
		      uint8_t *buf, struct extent *ex, int *nex,
		      uint64_t *size, struct err *e)
{
	struct block_dev *top = NULL;
	int rc = img_open(path, fmt, true, &top, e);
	if (rc)
		return rc;
	*size = top->size;
	size_t used = 0;
	*nex = 0;
	while (*off < top->size && used < BATCH && *nex < MAX_EXTENTS) {
		struct block_status st;
		rc = block_status(top, *off, top->size - *off, &st);
		if (rc < 0 || !st.len) {
			rc = err_sys(e, rc < 0 ? -rc : EIO, "`%s`: block status "
				     "at %llu", path, (unsigned long long)*off);
			break;
		}
		uint64_t n = st.len;
		if (n > top->size - *off)
			n = top->size - *off;
		if (st.depth == 0 && (st.flags & BLOCK_STATUS_ALLOCATED)) {
			bool zero = (st.flags & BLOCK_STATUS_ZERO) &&
				    !(st.flags & BLOCK_STATUS_DATA);
			if (!zero && n > BATCH - used)
				n = BATCH - used;
			if (!zero) {
				rc = block_pread(top, buf + used, n, *off);
				if (rc < 0) {
					rc = err_sys(e, -rc, "read `%s` at %llu",
						     path,
						     (unsigned long long)*off);
					break;
				}
			}
			ex[(*nex)++] = (struct extent){ *off, n, zero, used };
			if (!zero)
				used += n;
		}
		*off += n;
		rc = 0;
	}
	block_close(top);
	return rc;
}

static int write_batch(const char *base, const char *bfmt,
		       const uint8_t *buf, const struct extent *ex, int nex,
		       struct err *e)
{
	if (!nex)
		return 0;
	struct block_dev *bd = NULL;
	int rc = img_open(base, bfmt, false, &bd, e);
	if (rc)
		return err_prefix(e, "backing file");
	for (int i = 0; i < nex && !rc; i++) {
		if (ex[i].zero)
			rc = block_write_zeroes(bd, ex[i].off, ex[i].len, false);
		else
			rc = block_pwrite(bd, buf + ex[i].buf_off, ex[i].len,
					  ex[i].off);
		if (rc < 0)
			rc = err_sys(e, -rc, "write `%s` at %llu", base,
				     (unsigned long long)ex[i].off);
	}
	if (!rc) {
		rc = block_flush(bd);
		if (rc < 0)
			rc = err_sys(e, -rc, "flush `%s`", base);
	}
	block_close(bd);
	return rc;
}

/* Grow the backing file to at least size bytes. */
static int grow_base(const char *base, const char *bfmt, uint64_t size,
		     struct err *e)
{
	struct block_dev *bd = NULL;
	int rc = img_open(base, bfmt, false, &bd, e);
	if (rc)
		return err_prefix(e, "backing file");
	const char *drv = bd->drv->name;
	if (bd->size >= size) {
		block_close(bd);
		return 0;
	}
	if (!strcmp(drv, "qcow2")) {
		rc = qcow2_resize(bd, size, e);
		block_close(bd);
		return rc;
	}
	block_close(bd);
	uint64_t fsize = img_file_size(base);
	if (fsize >= size)
		return 0;
	FILE *f = fopen(base, "r+");
	if (!f)
		return err_sys(e, errno, "cannot open `%s`", base);
	rc = ftruncate(fileno(f), (off_t)size) < 0 ?
	     err_sys(e, errno, "cannot grow `%s`", base) : 0;
	fclose(f);
	return rc;
}

int img_commit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, 0, 'h' },
		{ "format", required_argument, 0, 'f' },
		{ "quiet", no_argument, 0, 'q' },
		{ "progress", no_argument, 0, 'p' },
		{ 0, 0, 0, 0 },
	};
	const char *V = "commit";
	const char *fmt = NULL;
	bool keep = false, quiet = false, progress = false;
	struct err e = { 0 };
	struct block_dev *top = NULL;
	int status = 1;
	uint8_t *buf = NULL;
	struct extent *ex = NULL;
	char *base = NULL, *bfmt = NULL, *bname = NULL;

	img_getopt_reset();
	for (int c; (c = getopt_long(argc, argv, ":hf:dqpt:b:", opts,
				     NULL)) != -1;) {
		switch (c) {
		case 'h': usage(stdout); return 0;
		case 'f': fmt = optarg; break;
		case 'd': keep = true; break;
		case 'q': quiet = true; break;
		case 'p': progress = true; break;
		case 't': break;  /* cache mode: accepted, ignored */
		case 'b':
			return img_failf(V, "-b (commit into a deeper layer) is "
					 "not supported; commit one layer at a "
					 "time");
		default: return img_bad_option(V, argv, c);
		}
	}
	if (img_check_format(fmt, "-f", &e))
		return img_fail(V, &e);
	if (optind >= argc)
		return img_failf(V, "missing FILE");
	if (optind + 1 < argc)
		return img_failf(V, "unexpected argument `%s`", argv[optind + 1]);
	const char *path = argv[optind];

	/* Where does it go?  Opening read-write also makes sure nobody
	 * (a running VM) uses the overlay now. */
	if (img_open(path, fmt, false, &top, &e))
		goto fail;
	struct qcow2_info qi;
	if (strcmp(top->drv->name, "qcow2") || qcow2_get_info(top, &qi)) {
		img_failf(V, "`%s` is a %s image; only qcow2 overlays can be "
			  "committed", path, top->drv->name);
		goto out;
	}
	if (!qi.backing_file || !top->backing) {
		img_failf(V, "`%s` has no backing file: nothing to commit "
			  "into", path);
		goto out;
	}
	base = img_backing_path(path, qi.backing_file);
	bname = strdup(qi.backing_file);
	bfmt = strdup(qi.backing_fmt ? qi.backing_fmt
				     : top->backing->drv->name);
	uint32_t nsnap = qi.nsnapshots, cluster = qi.cluster_size;
	int version = qi.version;
	bool lazy = qi.lazy_refcounts;
	uint64_t size = top->size;
	if (!base || !bname || !bfmt) {
		err_set(&e, ENOMEM, "out of memory");
		goto fail;
	}
	block_close(top);
	top = NULL;

	if (grow_base(base, bfmt, size, &e))
		goto fail;
	buf = aligned_alloc(4096, BATCH);
	ex = calloc(MAX_EXTENTS, sizeof(*ex));
	if (!buf || !ex) {
		err_set(&e, ENOMEM, "out of memory");
		goto fail;
	}
	struct img_progress pr = { .enabled = progress && !quiet, .last = -1 };
	img_progress_update(&pr, 0, size);
	for (uint64_t off = 0; off < size;) {
		int nex = 0;
		uint64_t sz;
		if (read_batch(path, fmt, &off, buf, ex, &nex, &sz, &e) ||
		    write_batch(base, bfmt, buf, ex, nex, &e))
			goto fail;
		img_progress_update(&pr, off, size);
	}
	img_progress_end(&pr);

	if (!keep && nsnap == 0) {
		/* Empty the overlay: a new one with the same size, backing
		 * file and parameters reads exactly as the old one now does
		 * (everything it held is in the backing file). */
		struct img_create_opts o = {
			.cluster_size = cluster, .backing_file = bname,
			.backing_fmt = bfmt, .lazy_refcounts = lazy,
			.version = version,
		};
		if (img_create_image(path, "qcow2", size, &o, &e)) {
			err_prefix(&e, "the data is in `%s`, but emptying "
				   "`%s` failed", base, path);
			goto fail;
		}
	} else if (!keep && !quiet) {
		printf("`%s` has internal snapshots: it keeps its data.\n",
		       path);
	}
	if (!quiet)
		printf("Image committed.\n");
	status = 0;
	goto out;
fail:
	status = img_fail(V, &e);
out:
	block_close(top);
	free(buf);
	free(ex);
	free(base);
	free(bfmt);
	free(bname);
	return status;
}
