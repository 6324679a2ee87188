/* Shared pieces of the `ringvm img` verbs (src/cli/img_*.c).
 *
 * Each verb is `int img_VERB(int argc, char **argv)` with argv[0] the verb
 * name; it parses its options (qemu-img's names), does the work through
 * the block layer (block.h, qcow2.h) and returns the process exit status.
 * Messages go to stderr as one line "ringvm img VERB: ..." (img_fail). */
#ifndef RINGVM_CLI_IMG_COMMON_H
#define RINGVM_CLI_IMG_COMMON_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "block/block.h"
#include "core/err.h"

int img_create(int argc, char **argv);
int img_info(int argc, char **argv);
int img_check(int argc, char **argv);
int img_convert(int argc, char **argv);
int img_commit(int argc, char **argv);
int img_rebase(int argc, char **argv);
int img_resize(int argc, char **argv);
int img_snapshot(int argc, char **argv);
int img_map(int argc, char **argv);

/* Print "ringvm img VERB: MSG" on stderr; returns 1 (the exit status for
 * bad input or a failed operation). */
int img_fail(const char *verb, const struct err *e);
int img_failf(const char *verb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The message for a getopt_long() result that is not an option of the
 * verb (c is '?' or ':'); returns 1. */
int img_bad_option(const char *verb, char **argv, int c);

/* Reset getopt for a new parse (opterr off, optind 1). */
void img_getopt_reset(void);

/* A supported format name: "raw" or "qcow2" (NULL: probe). */
int img_check_format(const char *fmt, const char *what, struct err *e);

/* -o key=value[,key=value...] creation options (qemu-img's names). */
struct img_create_opts {
	uint64_t size;            /* from "size=", 0 if not given */
	bool has_size;
	uint32_t cluster_size;    /* 0 = default */
	const char *backing_file; /* points into the string given to parse */
	const char *backing_fmt;
	bool lazy_refcounts;
	int version;              /* 0 default, 2 or 3 (compat=0.10 / 1.1) */
	const char *preallocation;/* "off" (default), "falloc", "full" */
	char *buf;                /* owned copy of the parsed strings */
};

/* Parse one -o argument (may be given several times; later wins).
 * "help" is answered by img_print_create_opts_help(). */
int img_parse_create_opts(struct img_create_opts *o, const char *arg,
			  struct err *e);
void img_free_create_opts(struct img_create_opts *o);
void img_print_create_opts_help(FILE *f, const char *fmt);

/* Create an empty image of the format (raw or qcow2) at path.  size 0 with
 * a backing file takes the backing's size (qcow2 only). */
int img_create_image(const char *path, const char *fmt, uint64_t size,
		     const struct img_create_opts *o, struct err *e);

/* Exclusive, non-blocking lock on an existing image about to be
 * overwritten or replaced, so a running VM's disk is never touched: *fdp is
 * the open descriptor holding the lock (caller closes), or -1 when path
 * does not exist.  Refuses (-EBUSY) a locked image and (-EINVAL) anything
 * but a regular file. */
int img_lock_existing(const char *path, int *fdp, struct err *e);

/* Create an empty file with a fresh name in the directory of path
 * (".NAME.XXXXXX"), with path's permissions when path exists, else a new
 * image's (0644 less the umask); *tmpp receives its malloc'ed name.  For
 * writing an image that replaces path only once it is complete
 * (img_replace); the caller unlinks it on failure. */
int img_temp_beside(const char *path, char **tmpp, struct err *e);

/* Make tmp durable (fsync), rename it over path, and make the rename
 * durable (fsync of the directory).  On failure tmp may still exist. */
int img_replace(const char *tmp, const char *path, struct err *e);

/* Open an image: block_open_format() with fmt (NULL probes), messages
 * naming the file. */
int img_open(const char *path, const char *fmt, bool read_only,
	     struct block_dev **out, struct err *e);

/* "4 GiB", "196 KiB", "1.5 MiB" (qemu-img's style) into buf. */
const char *img_human_size(uint64_t bytes, char *buf, size_t len);

/* Bytes the file at path occupies on disk (st_blocks * 512), or -1. */
int64_t img_disk_usage(const char *path);

/* Size the file at path (regular file) or 0. */
uint64_t img_file_size(const char *path);

/* The backing path as the driver opens it: name relative to the directory
 * of child unless absolute.  Returns a malloc'ed string (NULL: no memory). */
char *img_backing_path(const char *child, const char *name);

/* True when a and b name the same file (device and inode); false when
 * either does not exist. */
bool img_same_file(const char *a, const char *b);

/* Print "    (NN.NN/100%)\r" when enabled and the value changed enough. */
struct img_progress {
	bool enabled;
	double last;
};
void img_progress_update(struct img_progress *p, uint64_t done,
			 uint64_t total);
void img_progress_end(struct img_progress *p);

/* Is the buffer all zero bytes? */
bool img_is_zero(const void *buf, size_t len);

/* The table `qemu-img snapshot -l` prints (header and one line each). */
struct qcow2_snapshot_info;
void img_print_snapshots(FILE *f, const struct qcow2_snapshot_info *s,
			 uint32_t n);

/* Parse "--output=human|json" / "--json" into *json; 0 or -EINVAL. */
int img_parse_output(const char *arg, bool *json, struct err *e);

#endif
