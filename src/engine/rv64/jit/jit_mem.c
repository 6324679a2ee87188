/* The translator's code buffer: one memfd mapped twice, read-write for the
 * emitter and read-execute for running, so that no mapping is ever both
 * writable and executable (W^X) and nothing needs mprotect while the
 * guest runs (the seccomp sandbox allows neither mmap nor mprotect with
 * PROT_EXEC).  Bump allocation; the whole buffer is recycled when the
 * block cache is flushed (jit.h). */
#include "jit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int rv_accel_parse(const char *s, enum rv_accel *out, size_t *code_bytes)
{
	const char *comma = strchr(s, ',');
	size_t n = comma ? (size_t)(comma - s) : strlen(s);
	*code_bytes = 0;
	if (n == 6 && !strncmp(s, "interp", n))
		*out = RV_ACCEL_INTERP;
	else if (n == 3 && !strncmp(s, "jit", n))
		*out = RV_ACCEL_JIT;
	else if (n == 10 && !strncmp(s, "jit-verify", n))
		*out = RV_ACCEL_JIT_VERIFY;
	else
		return -EINVAL;
	if (!comma)
		return 0;
	if (*out == RV_ACCEL_INTERP || strncmp(comma + 1, "tb-size=", 8))
		return -EINVAL;
	const char *v = comma + 9;
	char *end;
	errno = 0;
	unsigned long mib = strtoul(v, &end, 10);
	if (!*v || *end || errno || *v == '-' || mib < 1 || mib > 2048)
		return -EINVAL;
	*code_bytes = (size_t)mib << 20;
	return 0;
}

const char *rv_accel_name(enum rv_accel a)
{
	switch (a) {
	case RV_ACCEL_INTERP: return "interp";
	case RV_ACCEL_JIT: return "jit";
	case RV_ACCEL_JIT_VERIFY: return "jit-verify";
	}
	return "?";
}

/* A code buffer of size bytes: one memfd, mapped rw and rx. */
static int map_buffer(size_t size, uint8_t **rwp, uint8_t **rxp,
		      struct err *errp)
{
	int fd = memfd_create("ringvm-jit", MFD_CLOEXEC);
	if (fd < 0)
		return err_set(errp, errno, "memfd_create for the JIT code buffer");
	int r = 0;
	void *rw = MAP_FAILED, *rx = MAP_FAILED;
	if (ftruncate(fd, (off_t)size) < 0) {
		r = err_set(errp, errno, "cannot size the JIT code buffer (%zu bytes)",
			    size);
		goto out;
	}
	rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (rw == MAP_FAILED) {
		r = err_set(errp, errno, "cannot map the JIT code buffer");
		goto out;
	}
	rx = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	if (rx == MAP_FAILED) {
		r = err_set(errp, errno,
			    "cannot map the JIT code buffer executable "
			    "(noexec memfd? try --accel interp)");
		munmap(rw, size);
		goto out;
	}
	*rwp = rw;
	*rxp = rx;
out:
	close(fd);
	return r;
}

int rv_jit_new(enum rv_accel mode, size_t code_bytes,
	       const void *const *labels, struct rv_jit **out,
	       struct err *errp)
{
#if !defined(__x86_64__)
	(void)mode; (void)code_bytes; (void)labels; (void)out;
	return err_set(errp, ENOTSUP, "--accel %s: the translator emits "
		       "x86-64 code only (use --accel interp)",
		       rv_accel_name(mode));
#endif
	long pg = sysconf(_SC_PAGESIZE);
	size_t size = (code_bytes + (size_t)pg - 1) & ~((size_t)pg - 1);
	struct rv_jit *j = calloc(1, sizeof(*j));
	if (!j)
		return err_set(errp, ENOMEM, "cannot allocate the translator");
	j->mode = mode;
	j->size = size;
	int r = map_buffer(size, &j->rw, &j->rx, errp);
	if (r) {
		free(j);
		return r;
	}
	j->tr = rv_jit_translator_new(labels, mode);
	if (!j->tr) {
		munmap(j->rw, size);
		munmap(j->rx, size);
		free(j);
		return err_set(errp, ENOMEM, "cannot allocate the translator");
	}
	*out = j;
	return 0;
}

int rv_jit_unshare(struct rv_jit *j, struct err *errp)
{
	uint8_t *rw, *rx;
	int r = map_buffer(j->size, &rw, &rx, errp);
	if (r) {
		j->off = true;
		return r;
	}
	munmap(j->rw, j->size);
	munmap(j->rx, j->size);
	j->rw = rw;
	j->rx = rx;
	j->used = 0;
	j->full = false;
	return 0;
}

void rv_jit_free(struct rv_jit *j)
{
	if (!j)
		return;
	rv_jit_translator_free(j->tr);
	munmap(j->rw, j->size);
	munmap(j->rx, j->size);
	free(j);
}

void rv_jit_reset(struct rv_jit *j)
{
	if (j->used)
		j->flushes++;
	j->used = 0;
	j->full = false;
}

uint8_t *rv_jit_code_begin(struct rv_jit *j, size_t *avail)
{
	size_t start = (j->used + 15) & ~(size_t)15;
	if (start >= j->size) {
		*avail = 0;
		return j->rw + j->size;
	}
	*avail = j->size - start;
	return j->rw + start;
}

void *rv_jit_code_commit(struct rv_jit *j, size_t len)
{
	size_t start = (j->used + 15) & ~(size_t)15;
	j->used = start + len;
	j->blocks++;
	j->bytes += len;
	/* The rx view shares the pages: x86 keeps instruction fetch coherent
	 * with stores through another mapping of the same page (a new
	 * translation is only entered after a call, which serializes). */
	return j->rx + start;
}
