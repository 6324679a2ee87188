/* libFuzzer target: qcow2 metadata operations on a hostile image.
 *
 * Input: SCRIPT_LEN bytes of operation script, then the image file.  The
 * image is opened read-write and the script drives check and repair,
 * internal snapshots (create/apply/delete), resize, compressed writes,
 * backing file changes (what `img rebase -u` does), guest writes,
 * discards and reopening.  Every operation must succeed or fail cleanly.
 * Bugs this target reports besides sanitizer findings (abort()):
 *  - a repair that says it fixed everything, after which a second check
 *    (or a check after reopening) still finds something;
 *  - the file growing by a jump past FSIZE_LIMIT (RLIMIT_FSIZE), which
 *    only following a hostile offset can do: legitimate allocations are
 *    placed at the end of the file and are at most the largest L1 table
 *    (32 MiB). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"
#include "block/qcow2.h"
#include "fuzz_tmpdir.h"

#define SCRIPT_LEN  12
#define FSIZE_LIMIT (64u << 20)
/* Below this file size, hitting FSIZE_LIMIT was a jump. */
#define JUMP_BELOW  (FSIZE_LIMIT - (33u << 20))


/* A small L2 cache (one table): exercises eviction. */
static int open_small_cache(const char *p, bool read_only,
			    struct block_dev **out, struct err *e)
{
	struct block_open_opts o = { .format = "qcow2",
				     .read_only = read_only,
				     .l2_cache = 4096 };
	return block_open_with(p, &o, out, e);
}

static char path[256], back_raw[256], back_q[256];
static volatile sig_atomic_t fsize_hit;

static void on_xfsz(int sig)
{
	(void)sig;
	fsize_hit = 1;
}

static void init(void)
{
	const char *dir = fuzz_tmpdir();
	snprintf(path, sizeof(path), "%s/img.qcow2", dir);
	snprintf(back_raw, sizeof(back_raw), "%s/back.raw", dir);
	snprintf(back_q, sizeof(back_q), "%s/back.qcow2", dir);
	/* Backing files that exist, for set_backing. */
	int fd = open(back_raw, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
		abort();
	close(fd);
	struct err e = { 0 };
	struct qcow2_create_opts o = { .cluster_size = 4096 };
	if (qcow2_create(back_q, 2 << 20, &o, &e))
		abort();
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_xfsz;
	sigaction(SIGXFSZ, &sa, NULL);
	struct rlimit rl = { FSIZE_LIMIT, FSIZE_LIMIT };
	if (setrlimit(RLIMIT_FSIZE, &rl))
		abort();
}

static uint64_t file_size(void)
{
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static void check_jump(void)
{
	if (fsize_hit && file_size() < JUMP_BELOW) {
		fprintf(stderr, "file size limit hit at %llu bytes: a write "
			"followed a hostile offset\n",
			(unsigned long long)file_size());
		abort();
	}
	fsize_hit = 0;
}

static bool all_fixed(const struct qcow2_check_result *r)
{
	return r->leaks == r->leaks_fixed &&
	       r->corruptions == r->corruptions_fixed;
}

static void expect_clean(struct block_dev *bd, const char *when)
{
	struct err e = { 0 };
	struct qcow2_check_result r;
	if (qcow2_check(bd, false, &r, &e))
		return;  /* could not read: not a claim of cleanliness */
	if (r.leaks || r.corruptions) {
		fprintf(stderr, "%s: %llu leaks, %llu corruptions remain\n",
			when, (unsigned long long)r.leaks,
			(unsigned long long)r.corruptions);
		abort();
	}
}

/* check -r leaks (only when there are no corruptions, as img check does)
 * or -r all; a repair that fixed everything leaves a clean image. */
static bool repair(struct block_dev *bd, bool leaks_only)
{
	struct err e = { 0 };
	struct qcow2_check_result r;
	if (qcow2_check(bd, false, &r, &e))
		return false;
	if (leaks_only && r.corruptions)
		return false;
	if (!r.leaks && !r.corruptions)
		return true;
	if (qcow2_check(bd, true, &r, &e) || !all_fixed(&r))
		return false;
	expect_clean(bd, "after repair");
	return true;
}

static int reopen(struct block_dev **bd)
{
	struct err e = { 0 };
	block_close(*bd);
	*bd = NULL;
	return open_small_cache(path, false, bd, &e);
}

static void run_op(struct block_dev **bdp, uint8_t op, uint8_t arg)
{
	static uint8_t buf[1 << 16];
	struct block_dev *bd = *bdp;
	struct err e = { 0 };
	char name[16];
	uint64_t size = bd->size;
	uint32_t cs = 4096;
	struct qcow2_info info;
	if (!qcow2_get_info(bd, &info))
		cs = info.cluster_size;
	uint64_t off = size ? ((uint64_t)arg * 7919 * cs) % size : 0;
	off -= off % cs;
	int rc = 0;
	switch (op % 12) {
	case 0:
		rc = repair(bd, false) ? 0 : -1;
		break;
	case 1:
		rc = repair(bd, true) ? 0 : -1;
		break;
	case 2:
		snprintf(name, sizeof(name), "s%u", arg % 4);
		rc = qcow2_snapshot_create(bd, name, &e);
		break;
	case 3:
	case 4: {
		struct qcow2_snapshot_info *l;
		uint32_t n;
		if (qcow2_snapshot_list(bd, &l, &n, &e))
			return;
		if (n) {
			char *id = strdup(l[arg % n].id);
			if (!id)
				abort();
			if (op % 12 == 3)
				rc = qcow2_snapshot_apply(bd, id, &e);
			else
				rc = qcow2_snapshot_delete(bd, id, &e);
			free(id);
		}
		qcow2_snapshot_list_free(l, n);
		break;
	}
	case 5:
		rc = qcow2_resize(bd, size + ((uint64_t)(arg + 1) << 16) *
				  (arg & 1 ? 64 : 1), &e);
		break;
	case 6:
		rc = qcow2_resize(bd, size - (size >> (1 + arg % 4)), &e);
		break;
	case 7:
		if (off < size) {
			size_t len = size - off < cs ? size - off : cs;
			if (len > sizeof(buf))
				len = sizeof(buf);
			memset(buf, arg, len);
			memset(buf, arg + 1, len / 3);
			if (len == cs || off + len == size)
				rc = qcow2_write_compressed(bd, off, buf, len,
							    &e);
		}
		break;
	case 8: {
		static const char *const b[] = { "back.raw", "back.qcow2",
						 NULL, "missing.img" };
		static const char *const f[] = { "raw", "qcow2", NULL, NULL };
		rc = qcow2_set_backing(bd, b[arg % 4], arg & 4 ? NULL
								: f[arg % 4],
				       &e);
		break;
	}
	case 9:
		if (off < size) {
			size_t len = 512 + (size_t)arg * 200;
			if (len > size - off - (arg & 1))
				len = size - off - (arg & 1);
			memset(buf, arg ^ 0x5a, sizeof(buf));
			rc = block_pwrite(bd, buf, len, off + (arg & 1));
		}
		break;
	case 10:
		if (off < size)
			rc = block_discard(bd, off, size - off < 3 * (uint64_t)cs
						      ? size - off : 3 * cs);
		break;
	case 11:
		rc = reopen(bdp);
		break;
	}
	if (getenv("FUZZ_VERBOSE")) {
		/* Replaying a finding: what each step did to the image. */
		struct qcow2_check_result r = { 0 };
		struct err ce = { 0 };
		int crc = *bdp ? qcow2_check(*bdp, false, &r, &ce) : -1;
		fprintf(stderr, "op %u arg %u: rc %d (%s); check %d: %llu "
			"leaks, %llu corruptions\n", op % 12, arg, rc, e.msg,
			crc, (unsigned long long)r.leaks,
			(unsigned long long)r.corruptions);
	}
	err_clear(&e);
	check_jump();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!path[0])
		init();
	if (size < SCRIPT_LEN)
		return 0;
	const uint8_t *script = data;
	data += SCRIPT_LEN;
	size -= SCRIPT_LEN;
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	if (fd < 0)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);

	struct block_dev *bd;
	struct err e = { 0 };
	if (open_small_cache(path, false, &bd, &e)) {
		err_clear(&e);
		return 0;
	}
	check_jump();
	for (int i = 0; i + 1 < SCRIPT_LEN && bd; i += 2)
		run_op(&bd, script[i], script[i + 1]);
	if (!bd)
		return 0;
	/* A last full repair; if it fixed everything, the image must stay
	 * clean across a close and reopen. */
	const char *keep = getenv("FUZZ_KEEP");
	if (keep) {  /* replaying: the image as the last repair finds it */
		char cmd[600];
		block_flush(bd);
		snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", path, keep);
		if (system(cmd))
			fprintf(stderr, "cannot copy the image to %s\n", keep);
	}
	bool clean = repair(bd, false);
	block_close(bd);
	check_jump();
	if (!clean)
		return 0;
	if (open_small_cache(path, true, &bd, &e)) {
		err_clear(&e);
		return 0;
	}
	expect_clean(bd, "after reopening a repaired image");
	block_close(bd);
	return 0;
}
