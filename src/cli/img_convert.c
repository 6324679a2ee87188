/* ringvm img convert: copy the guest-visible contents of one or more images
 * (concatenated) into a new image of any format, skipping what reads as
 * zeros so the output stays sparse. */
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "img_common.h"
#include "block/qcow2.h"
#include "core/parse.h"

#define CHUNK (2u << 20)      /* bytes per read */
#define MAX_SRC 64

static void usage(FILE *f)
{
	fprintf(f,
"usage: ringvm img convert [-f FMT] [-O FMT] [-o OPTS] [-S SIZE] [-p] [-n] [-q]\n"
"                          SRC... DST\n"
"\n"
"Copy the guest-visible contents of SRC (several are concatenated) into DST.\n"
"  -f FMT      format of the sources (default: probed)\n"
"  -O FMT      format of DST: raw (default) or qcow2\n"
"  -o OPTS     creation options for DST (see `ringvm img create -o help`)\n"
"  -c          compress DST's clusters (zlib; -O qcow2 only)\n"
"  -S SIZE     runs of zeros of at least SIZE bytes stay holes (default 4K;\n"
"              0 writes everything)\n"
"  -n          do not create DST: write into an existing image, at least as\n"
"              large as the sources\n"
"  -t CACHE    accepted for qemu-img compatibility (writeback, none, unsafe,\n"
"              writethrough, directsync); ringvm always flushes DST before it\n"
"              reports success (qemu-img's default, unsafe, does not)\n"
"  -p          show progress\n"
"  -q          quiet\n"
"DST is replaced (written as a temporary file beside it, renamed over it once\n"
"complete and flushed; on failure DST is left as it was) unless -n, which\n"
"writes into DST in place; it may not be one of the sources or their backing\n"
"files.\n");
}

/* The temporary DST while it is being written, removed if SIGINT, SIGTERM
 * or SIGHUP ends the process first.  A signal handler can only reach it
 * through a static; one convert runs per process. */
static char signal_tmp[PATH_MAX];
static struct sigaction old_actions[3];
static const int cleanup_signals[3] = { SIGINT, SIGTERM, SIGHUP };

static void remove_tmp_and_die(int sig)
{
	if (signal_tmp[0])
		unlink(signal_tmp);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Start (path) or stop (NULL) removing path on those signals. */
static void remove_on_signal(const char *path)
{
	if (path && strlen(path) < sizeof(signal_tmp)) {
		struct sigaction sa = { .sa_handler = remove_tmp_and_die };
		sigemptyset(&sa.sa_mask);
		strcpy(signal_tmp, path);
		for (int i = 0; i < 3; i++)
			sigaction(cleanup_signals[i], &sa, &old_actions[i]);
	} else if (!path && signal_tmp[0]) {
		for (int i = 0; i < 3; i++)
			sigaction(cleanup_signals[i], &old_actions[i], NULL);
		signal_tmp[0] = '\0';
	}
}

/* Is path one of the files of the chain bd reads from? */
static bool in_chain(struct block_dev *bd, const char *path)
{
	for (; bd; bd = bd->backing)
		if (bd->path && img_same_file(bd->path, path))
			return true;
	return false;
}

/* Copy src into dst at dst_off.  fresh: dst reads as zeros where not
 * written, so zero runs are skipped; otherwise they are written as zeros
 * (write_zeroes, which may unmap). */
static int copy_one(struct block_dev *src, struct block_dev *dst,
		    const char *dname, uint64_t dst_off, bool fresh,
		    uint64_t sparse,
		    uint8_t *buf, struct img_progress *pr, uint64_t *done,
		    uint64_t total, struct err *e)
{
	uint64_t off = 0;
	while (off < src->size) {
		uint64_t want = src->size - off;
		if (want > CHUNK)
			want = CHUNK;
		struct block_status st;
		int rc = block_status(src, off, want, &st);
		if (rc < 0)
			return err_sys(e, -rc, "`%s`: block status at %llu",
				       src->path ? src->path : "source",
				       (unsigned long long)off);
		uint64_t n = st.len;
		if (!n || n > want)
			n = want;
		if (!(st.flags & BLOCK_STATUS_DATA) &&
		    ((st.flags & BLOCK_STATUS_ZERO) ||
		     !(st.flags & BLOCK_STATUS_ALLOCATED))) {
			/* reads as zeros */
			if (!fresh) {
				rc = block_write_zeroes(dst, dst_off + off, n,
							false);
				if (rc < 0)
					return err_sys(e, -rc, "write zeros "
						       "to `%s` at %llu",
						       dname,
						       (unsigned long long)(dst_off + off));
			}
		} else {
			rc = block_pread(src, buf, n, off);
			if (rc < 0)
				return err_sys(e, -rc, "read `%s` at %llu",
					       src->path ? src->path : "source",
					       (unsigned long long)off);
			/* Write non-zero runs; zero runs of >= sparse bytes
			 * (aligned to sparse) are skipped or zeroed. */
			uint64_t g = sparse ? sparse : n;
			uint64_t pos = 0;
			while (pos < n) {
				uint64_t end = pos + g - (dst_off + off + pos) % g;
				if (end > n)
					end = n;
				bool zero = sparse && img_is_zero(buf + pos,
								  end - pos);
				uint64_t run = end;
				/* extend the run while its kind stays */
				while (run < n) {
					uint64_t nx = run + g < n ? run + g : n;
					if ((sparse && img_is_zero(buf + run,
							nx - run)) != zero)
						break;
					run = nx;
				}
				if (!zero)
					rc = block_pwrite(dst, buf + pos,
							  run - pos,
							  dst_off + off + pos);
				else if (!fresh)
					rc = block_write_zeroes(dst,
						dst_off + off + pos, run - pos,
						false);
				if (rc < 0)
					return err_sys(e, -rc, "write `%s` at "
						       "%llu", dname,
						       (unsigned long long)(dst_off + off + pos));
				pos = run;
			}
		}
		off += n;
		*done += n;
		img_progress_update(pr, *done, total);
	}
	return 0;
}

/* Read [off, off+len) of the concatenation of the sources. */
static int read_concat(struct block_dev **src, int nsrc, uint64_t off,
		       uint8_t *buf, uint64_t len, struct err *e)
{
	uint64_t base = 0;
	for (int i = 0; i < nsrc && len; i++) {
		uint64_t sz = src[i]->size;
		if (off < base + sz) {
			uint64_t o = off - base;
			uint64_t n = sz - o < len ? sz - o : len;
			int rc = block_pread(src[i], buf, n, o);
			if (rc < 0)
				return err_sys(e, -rc, "read `%s` at %llu",
					       src[i]->path ? src[i]->path
							    : "source",
					       (unsigned long long)o);
			buf += n;
			off += n;
			len -= n;
		}
		base += sz;
	}
	if (len)
		memset(buf, 0, len);
	return 0;
}

/* convert -c: every non-zero cluster of DST written compressed. */
static int copy_compressed(struct block_dev **src, int nsrc, uint64_t total,
			   struct block_dev *dst, const char *dname,
			   bool fresh, uint8_t *buf,
			   struct img_progress *pr, struct err *e)
{
	struct qcow2_info qi;
	int rc = qcow2_get_info(dst, &qi);
	if (rc < 0)
		return err_set(e, EINVAL, "-c needs a qcow2 destination");
	uint64_t cs = qi.cluster_size;
	for (uint64_t off = 0; off < total; off += cs) {
		uint64_t n = total - off < cs ? total - off : cs;
		rc = read_concat(src, nsrc, off, buf, n, e);
		if (rc)
			return rc;
		if (img_is_zero(buf, n)) {
			if (!fresh) {
				rc = block_write_zeroes(dst, off, n, false);
				if (rc < 0)
					return err_sys(e, -rc, "write zeros to "
						       "`%s`", dname);
			}
		} else {
			rc = qcow2_write_compressed(dst, off, buf, n, e);
			if (rc)
				return rc;
		}
		img_progress_update(pr, off + n, total);
	}
	return 0;
}

int img_convert(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, 0, 'h' },
		{ "quiet", no_argument, 0, 'q' },
		{ "progress", no_argument, 0, 'p' },
		{ 0, 0, 0, 0 },
	};
	const char *V = "convert";
	const char *fmt = NULL, *ofmt = NULL;
	bool progress = false, quiet = false, no_create = false;
	bool compress = false;
	uint64_t sparse = 4096;
	struct img_create_opts o = { 0 };
	struct err e = { 0 };
	struct block_dev *src[MAX_SRC] = { 0 }, *dst = NULL;
	int nsrc = 0, status = 1;
	uint8_t *buf = NULL;
	bool help_opts = false;
	char target[PATH_MAX], *tmp = NULL;
	int lock_fd = -1;

	img_getopt_reset();
	for (int c; (c = getopt_long(argc, argv, ":hf:O:o:S:pqnct:T:", opts,
				     NULL)) != -1;) {
		switch (c) {
		case 'h': usage(stdout); status = 0; goto out;
		case 'f': fmt = optarg; break;
		case 'O': ofmt = optarg; break;
		case 'p': progress = true; break;
		case 'q': quiet = true; break;
		case 'n': no_create = true; break;
		case 'T': break;  /* source cache mode: reads are the same */
		case 't':
			if (strcmp(optarg, "unsafe") &&
			    strcmp(optarg, "writeback") &&
			    strcmp(optarg, "none") &&
			    strcmp(optarg, "writethrough") &&
			    strcmp(optarg, "directsync")) {
				status = img_failf(V, "-t: unknown cache mode "
						   "`%s`", optarg);
				goto out;
			}
			break;
		case 'c': compress = true; break;
		case 'S':
			if (parse_size(optarg, 1, &sparse, "-S", &e))
				goto fail;
			if (sparse % 512) {
				status = img_failf(V, "-S: %s is not a multiple "
						   "of 512", optarg);
				goto out;
			}
			break;
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
	if (!ofmt)
		ofmt = "raw";
	if (img_check_format(fmt, "-f", &e) || img_check_format(ofmt, "-O", &e))
		goto fail;
	if (compress && strcmp(ofmt, "qcow2")) {
		status = img_failf(V, "-c (compression) needs -O qcow2");
		goto out;
	}
	if (help_opts) {
		img_print_create_opts_help(stdout, ofmt);
		status = 0;
		goto out;
	}
	if (argc - optind < 2) {
		status = img_failf(V, "need a source and a destination (usage: "
				   "ringvm img convert [-O FMT] SRC DST)");
		goto out;
	}
	if (argc - optind - 1 > MAX_SRC) {
		status = img_failf(V, "at most %d sources", MAX_SRC);
		goto out;
	}
	if (o.backing_file) {
		status = img_failf(V, "-o backing_file is not supported by "
				   "convert (convert to a standalone image, "
				   "then `rebase -u`)");
		goto out;
	}
	const char *out_path = argv[argc - 1];
	uint64_t total = 0;
	for (int i = optind; i < argc - 1; i++) {
		if (img_open(argv[i], fmt, true, &src[nsrc], &e))
			goto fail;
		nsrc++;
		if (in_chain(src[nsrc - 1], out_path)) {
			status = img_failf(V, "the destination `%s` is the "
					   "source `%s` or one of its backing "
					   "files; refusing to overwrite it",
					   out_path, argv[i]);
			goto out;
		}
		total += src[nsrc - 1]->size;
	}
	if (o.has_size && o.size != total && !no_create) {
		status = img_failf(V, "-o size is not supported by convert "
				   "(the size is the sources')");
		goto out;
	}

	uint64_t create_size = total;
	if (!strcmp(ofmt, "qcow2"))
		create_size = (total + 511) & ~511ull;
	if (no_create) {
		if (img_open(out_path, ofmt, false, &dst, &e))
			goto fail;
		if (dst->size < total) {
			status = img_failf(V, "-n: `%s` (%llu bytes) is smaller "
					   "than the sources (%llu bytes)",
					   out_path,
					   (unsigned long long)dst->size,
					   (unsigned long long)total);
			goto out;
		}
	} else {
		/* DST is replaced only by a complete, flushed image: a failing
		 * source, ENOSPC or a kill leaves the old DST as it was. */
		/* A symlink keeps pointing where it did: replace its target. */
		struct stat ls;
		if (strlen(out_path) >= sizeof(target)) {
			err_set(&e, ENAMETOOLONG, "`%s`: name too long",
				out_path);
			goto fail;
		}
		if (lstat(out_path, &ls) < 0 || !S_ISLNK(ls.st_mode) ||
		    !realpath(out_path, target))
			strcpy(target, out_path);
		if (img_lock_existing(target, &lock_fd, &e) ||
		    img_temp_beside(target, &tmp, &e))
			goto fail;
		remove_on_signal(tmp);
		if (img_create_image(tmp, ofmt, create_size, &o, &e))
			goto fail;
		if (img_open(tmp, ofmt, false, &dst, &e))
			goto fail;
	}

	buf = aligned_alloc(4096, CHUNK);
	if (!buf) {
		err_set(&e, ENOMEM, "out of memory");
		goto fail;
	}
	struct img_progress pr = { .enabled = progress && !quiet, .last = -1 };
	img_progress_update(&pr, 0, total);
	uint64_t done = 0, at = 0;
	if (compress && copy_compressed(src, nsrc, total, dst, out_path,
					!no_create, buf, &pr, &e))
		goto fail;
	for (int i = 0; i < nsrc && !compress; i++) {
		if (copy_one(src[i], dst, out_path, at, !no_create, sparse, buf,
			     &pr, &done, total, &e))
			goto fail;
		at += src[i]->size;
	}
	int rc = block_flush(dst);
	if (rc < 0) {
		err_sys(&e, -rc, "flush `%s`", out_path);
		goto fail;
	}
	if (tmp) {
		block_close(dst);
		dst = NULL;
		if (img_replace(tmp, target, &e))
			goto fail;
		remove_on_signal(NULL);
		free(tmp);
		tmp = NULL;
	}
	img_progress_end(&pr);
	status = 0;
	goto out;
fail:
	status = img_fail(V, &e);
out:
	free(buf);
	block_close(dst);
	if (tmp) {
		unlink(tmp);
		remove_on_signal(NULL);
		free(tmp);
	}
	if (lock_fd >= 0)
		close(lock_fd);
	for (int i = 0; i < nsrc; i++)
		block_close(src[i]);
	img_free_create_opts(&o);
	return status;
}
