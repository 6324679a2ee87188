/* Shared pieces of the `ringvm img` verbs: messages, -o options, image
 * creation, sizes, progress. */
#include "img_common.h"

#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "block/qcow2.h"
#include "core/file.h"
#include "core/parse.h"

int img_fail(const char *verb, const struct err *e)
{
	fprintf(stderr, "ringvm img %s: %s\n", verb,
		e && e->msg[0] ? e->msg : "failed");
	return 1;
}

int img_failf(const char *verb, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "ringvm img %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int img_bad_option(const char *verb, char **argv, int c)
{
	const char *arg = argv[optind - 1];
	if (c == ':')
		return img_failf(verb, "option `%s` needs a value", arg);
	if (optopt && optopt != '?')
		return img_failf(verb, "unknown option `-%c` (try `ringvm img "
				 "%s --help`)", optopt, verb);
	return img_failf(verb, "unknown option `%s` (try `ringvm img %s "
			 "--help`)", arg, verb);
}

void img_getopt_reset(void)
{
	opterr = 0;
	optind = 1;
	optopt = 0;
}

int img_check_format(const char *fmt, const char *what, struct err *e)
{
	if (!fmt || !strcmp(fmt, "raw") || !strcmp(fmt, "qcow2"))
		return 0;
	return err_set(e, EINVAL, "%s: unknown format `%s` (raw or qcow2)",
		       what, fmt);
}

void img_print_create_opts_help(FILE *f, const char *fmt)
{
	if (fmt && !strcmp(fmt, "raw")) {
		fprintf(f,
"Supported options (-o) for raw:\n"
"  size=SIZE              virtual disk size\n"
"  preallocation=MODE     off (sparse, default), falloc, full\n");
		return;
	}
	fprintf(f,
"Supported options (-o) for qcow2:\n"
"  size=SIZE              virtual disk size\n"
"  cluster_size=SIZE      4K..2M, a power of two (default 64K)\n"
"  backing_file=FILE      copy-on-write overlay on FILE (as -b)\n"
"  backing_fmt=FMT        format of the backing file (as -F)\n"
"  compat=0.10|1.1        qcow2 version 2 or 3 (default 1.1)\n"
"  lazy_refcounts=on|off  defer refcount updates (default off)\n");
}

static int parse_bool(const char *key, const char *v, bool *out,
		      struct err *e)
{
	if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no")) {
		*out = false;
		return 0;
	}
	return err_set(e, EINVAL, "-o %s: `%s` is not on or off", key, v);
}

int img_parse_create_opts(struct img_create_opts *o, const char *arg,
			  struct err *e)
{
	/* Each -o string is copied into its own buffer, linked to the
	 * previous one through its first bytes, so pointers into earlier
	 * options stay valid until img_free_create_opts(). */
	size_t n = strlen(arg) + 1;
	char *copy = malloc(n + sizeof(char *));
	if (!copy)
		return err_set(e, ENOMEM, "out of memory");
	memcpy(copy, &o->buf, sizeof(char *));   /* link the older copy */
	char *s = copy + sizeof(char *);
	memcpy(s, arg, n);
	o->buf = copy;

	/* key=value pairs split on ','; ",," stands for a literal comma as
	 * in qemu-img (file names may contain commas). */
	char *p = s;
	while (*p) {
		char *key = p, *val = NULL, *w;
		/* key up to '=' or ',' */
		while (*p && *p != '=' && *p != ',')
			p++;
		if (*p == '=') {
			*p++ = '\0';
			val = w = p;
			for (;;) {
				if (*p == ',' && p[1] == ',') {
					*w++ = ',';
					p += 2;
				} else if (*p == ',' || !*p) {
					break;
				} else {
					*w++ = *p++;
				}
			}
			if (*p == ',')
				p++;
			*w = '\0';
		} else if (*p == ',') {
			*p++ = '\0';
		}
		if (!*key)
			return err_set(e, EINVAL, "-o: empty option name in "
				       "`%s`", arg);
		if (!val)
			return err_set(e, EINVAL, "-o: option `%s` needs a "
				       "value (%s=...)", key, key);
		uint64_t v;
		int rc = 0;
		if (!strcmp(key, "size")) {
			rc = parse_size(val, 1, &v, "-o size", e);
			o->size = v;
			o->has_size = true;
		} else if (!strcmp(key, "cluster_size")) {
			rc = parse_size(val, 1, &v, "-o cluster_size", e);
			if (!rc && (v < QCOW2_MIN_CLUSTER_SIZE ||
				    v > QCOW2_MAX_CLUSTER_SIZE ||
				    (v & (v - 1))))
				rc = err_set(e, EINVAL, "-o cluster_size: `%s` "
					     "must be a power of two from 4K "
					     "to 2M", val);
			o->cluster_size = (uint32_t)v;
		} else if (!strcmp(key, "backing_file")) {
			o->backing_file = val;
		} else if (!strcmp(key, "backing_fmt")) {
			rc = img_check_format(val, "-o backing_fmt", e);
			o->backing_fmt = val;
		} else if (!strcmp(key, "lazy_refcounts")) {
			rc = parse_bool(key, val, &o->lazy_refcounts, e);
		} else if (!strcmp(key, "compat")) {
			if (!strcmp(val, "0.10") || !strcmp(val, "v2"))
				o->version = 2;
			else if (!strcmp(val, "1.1") || !strcmp(val, "v3"))
				o->version = 3;
			else
				rc = err_set(e, EINVAL, "-o compat: `%s` is not "
					     "0.10 or 1.1", val);
		} else if (!strcmp(key, "preallocation")) {
			if (strcmp(val, "off") && strcmp(val, "falloc") &&
			    strcmp(val, "full"))
				rc = err_set(e, EINVAL, "-o preallocation: `%s` "
					     "is not off, falloc or full", val);
			o->preallocation = val;
		} else {
			rc = err_set(e, EINVAL, "-o: unknown option `%s` (try "
				     "-o help)", key);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* Free the chain of -o copies. */
static void free_chain(char *buf)
{
	while (buf) {
		char *older;
		memcpy(&older, buf, sizeof(char *));
		free(buf);
		buf = older;
	}
}

void img_free_create_opts(struct img_create_opts *o)
{
	free_chain(o->buf);
	o->buf = NULL;
}

int img_lock_existing(const char *path, int *fdp, struct err *e)
{
	*fdp = -1;
	struct stat st;
	if (stat(path, &st) < 0 && errno == ENOENT)
		return 0;
	int fd;
	int rc = file_open_checked("image", path, O_RDWR, false, &fd, NULL, e);
	if (rc)
		return rc;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
		close(fd);
		return err_set(e, EBUSY, "`%s` is in use by another process "
			       "(it is locked); not overwriting it", path);
	}
	*fdp = fd;
	return 0;
}

static int create_raw(const char *path, uint64_t size,
		      const struct img_create_opts *o, int fd, struct err *e)
{
	if (o && o->backing_file)
		return err_set(e, EINVAL, "raw images have no backing file "
			       "(use -f qcow2)");
	if (o && o->cluster_size)
		return err_set(e, EINVAL, "raw images have no cluster_size");
	if (fd < 0) {
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return err_sys(e, errno, "cannot create `%s`", path);
	} else {
		fd = dup(fd);
	}
	int rc = 0;
	if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)size) < 0)
		rc = err_sys(e, errno, "cannot set the size of `%s`", path);
	const char *pre = o && o->preallocation ? o->preallocation : "off";
	if (!rc && size && !strcmp(pre, "falloc")) {
		int r = posix_fallocate(fd, 0, (off_t)size);
		if (r)
			rc = err_sys(e, r, "cannot preallocate `%s`", path);
	} else if (!rc && size && !strcmp(pre, "full")) {
		static const char zeros[1 << 16];
		for (uint64_t off = 0; !rc && off < size;) {
			size_t n = size - off < sizeof(zeros) ?
				   size - off : sizeof(zeros);
			ssize_t w = pwrite(fd, zeros, n, (off_t)off);
			if (w <= 0 && errno != EINTR)
				rc = err_sys(e, w < 0 ? errno : EIO,
					     "cannot write `%s`", path);
			else if (w > 0)
				off += w;
		}
	}
	if (!rc && fsync(fd) < 0)
		rc = err_sys(e, errno, "cannot sync `%s`", path);
	close(fd);
	return rc;
}

int img_create_image(const char *path, const char *fmt, uint64_t size,
		     const struct img_create_opts *o, struct err *e)
{
	int fd = -1;
	int rc = img_lock_existing(path, &fd, e);
	if (rc)
		return rc;
	if (!strcmp(fmt, "raw")) {
		rc = create_raw(path, size, o, fd, e);
	} else {
		const char *pre = o && o->preallocation ? o->preallocation
							: "off";
		if (strcmp(pre, "off")) {
			rc = err_set(e, EINVAL, "-o preallocation=%s is only "
				     "supported for raw images", pre);
		} else {
			struct qcow2_create_opts q = { 0 };
			if (o) {
				q.cluster_size = o->cluster_size;
				q.backing_file = o->backing_file;
				q.backing_fmt = o->backing_fmt;
				q.lazy_refcounts = o->lazy_refcounts;
				q.version = o->version;
			}
			rc = qcow2_create(path, size, &q, e);
		}
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

int img_temp_beside(const char *path, char **tmpp, struct err *e)
{
	*tmpp = NULL;
	const char *slash = strrchr(path, '/');
	size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;
	const char *base = slash ? slash + 1 : path;
	char *t = malloc(dlen + strlen(base) + 16);
	if (!t)
		return err_set(e, ENOMEM, "out of memory");
	sprintf(t, "%.*s.%s.XXXXXX", (int)dlen, path, base);
	int fd = mkostemp(t, O_CLOEXEC);
	if (fd < 0) {
		int rc = err_sys(e, errno, "cannot create a temporary file "
				 "beside `%s`", path);
		free(t);
		return rc;
	}
	/* mkstemp makes 0600: give what the image would have had, the old
	 * file's permissions or a new file's (0644 less the umask). */
	struct stat st;
	mode_t mode;
	if (stat(path, &st) == 0) {
		mode = st.st_mode & 07777;
	} else {
		mode_t mask = umask(0);
		umask(mask);
		mode = 0644 & ~mask;
	}
	if (fchmod(fd, mode) < 0) {
		int rc = err_sys(e, errno, "cannot set the mode of `%s`", t);
		close(fd);
		unlink(t);
		free(t);
		return rc;
	}
	close(fd);
	*tmpp = t;
	return 0;
}

static int fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = 0;
	while (fsync(fd) < 0) {
		if (errno != EINTR) {
			rc = -errno;
			break;
		}
	}
	close(fd);
	return rc;
}

int img_replace(const char *tmp, const char *path, struct err *e)
{
	int rc = fsync_path(tmp, O_RDONLY);
	if (rc)
		return err_sys(e, -rc, "cannot sync `%s`", tmp);
	if (rename(tmp, path) < 0)
		return err_sys(e, errno, "cannot rename `%s` to `%s`", tmp,
			       path);
	/* The rename itself is durable only once the directory is. */
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : slash - path)
			  : strdup(".");
	if (!dir)
		return err_set(e, ENOMEM, "out of memory");
	rc = fsync_path(dir, O_RDONLY | O_DIRECTORY);
	free(dir);
	/* Some filesystems cannot sync a directory: DST is complete anyway. */
	if (rc && rc != -EINVAL && rc != -EROFS)
		return err_sys(e, -rc, "cannot sync the directory of `%s`",
			       path);
	return 0;
}

int img_open(const char *path, const char *fmt, bool read_only,
	     struct block_dev **out, struct err *e)
{
	return block_open_format(path, fmt, read_only, out, e);
}

const char *img_human_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "", "Ki", "Mi", "Gi", "Ti",
					     "Pi", "Ei" };
	/* The unit is the largest power of 1024 the value reaches after a
	 * little rounding slack, as qemu-img prints it. */
	int exp;
	frexp((double)bytes / (1000.0 / 1024.0), &exp);
	int i = exp > 0 ? (exp - 1) / 10 : 0;
	if (i > 6)
		i = 6;
	snprintf(buf, len, "%0.3g %sB", (double)bytes / (double)(1ULL << (i * 10)),
		 units[i]);
	return buf;
}

int64_t img_disk_usage(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	return (int64_t)st.st_blocks * 512;
}

uint64_t img_file_size(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	return (uint64_t)st.st_size;
}

char *img_backing_path(const char *child, const char *name)
{
	if (name[0] == '/' || !strchr(child, '/'))
		return strdup(name);
	const char *slash = strrchr(child, '/');
	size_t dlen = (size_t)(slash - child) + 1;
	char *p = malloc(dlen + strlen(name) + 1);
	if (!p)
		return NULL;
	memcpy(p, child, dlen);
	strcpy(p + dlen, name);
	return p;
}

bool img_same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	if (stat(a, &sa) < 0 || stat(b, &sb) < 0)
		return false;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void img_progress_update(struct img_progress *p, uint64_t done,
			 uint64_t total)
{
	if (!p->enabled)
		return;
	double v = total ? 100.0 * (double)done / (double)total : 100.0;
	if (v - p->last < 1.0 && v < 100.0 && p->last >= 0)
		return;
	p->last = v;
	printf("    (%.2f/100%%)\r", v);
	fflush(stdout);
}

void img_progress_end(struct img_progress *p)
{
	if (!p->enabled)
		return;
	printf("    (100.00/100%%)\n");
	fflush(stdout);
}

bool img_is_zero(const void *buf, size_t len)
{
	const uint8_t *b = buf;
	/* Check the head byte by byte, then compare the rest against
	 * itself shifted by 16 bytes. */
	size_t head = len < 16 ? len : 16;
	for (size_t i = 0; i < head; i++)
		if (b[i])
			return false;
	return len <= 16 || !memcmp(b, b + 16, len - 16);
}

int img_parse_output(const char *arg, bool *json, struct err *e)
{
	if (!strcmp(arg, "json"))
		*json = true;
	else if (!strcmp(arg, "human"))
		*json = false;
	else
		return err_set(e, EINVAL, "--output: `%s` is not human or "
			       "json", arg);
	return 0;
}

void img_print_snapshots(FILE *f, const struct qcow2_snapshot_info *s,
			 uint32_t n)
{
	/* qemu-img's columns exactly, so scripts parsing them keep working */
	fprintf(f, "%-9s %-17s %7s%20s%13s%11s\n", "ID", "TAG", "VM SIZE",
		"DATE", "VM CLOCK", "ICOUNT");
	for (uint32_t i = 0; i < n; i++) {
		char size[32], date[32] = "", clock[32];
		img_human_size(s[i].vm_state_size, size, sizeof(size));
		time_t t = (time_t)s[i].date_sec;
		struct tm tm;
		if (localtime_r(&t, &tm))
			strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
		uint64_t ms = s[i].vm_clock_nsec / 1000000;
		snprintf(clock, sizeof(clock), "%02llu:%02llu:%02llu.%03llu",
			 (unsigned long long)(ms / 3600000),
			 (unsigned long long)(ms / 60000 % 60),
			 (unsigned long long)(ms / 1000 % 60),
			 (unsigned long long)(ms % 1000));
		fprintf(f, "%-9s %-17s %7s%20s%13s%11s\n", s[i].id,
			s[i].name, size, date, clock, "");
	}
}
