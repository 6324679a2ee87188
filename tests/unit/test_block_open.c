/* Unit tests for what may be opened: file_open_checked() (src/core/file.c)
 * and the block layer's rules for images and the backing files named inside
 * them (FIFOs, character devices, block devices the user did or did not
 * name).  Every test runs under alarm(): the old code blocked forever in
 * open() on a FIFO, which must show up as a failure, not a hung run. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "block/block.h"
#include "block/qcow2.h"
#include "core/file.h"

struct fx {
	char dir[64];
	char path[160];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/ringvm-open-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	alarm(20);
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	alarm(0);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (!getenv("KEEP") && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->dir);
	free(f);
	return 0;
}

static const char *p(struct fx *f, const char *name)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	return f->path;
}

static void make_file(const char *path, size_t size)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

/* A block device node in the test directory for the loop device 7:0 (it
 * need not be usable: the refusals happen before it is opened).  false
 * when nodes cannot be made here. */
static bool make_blockdev(const char *path)
{
	return mknod(path, S_IFBLK | 0600, makedev(7, 0)) == 0;
}

/* A qcow2 overlay at top naming backing (as stored in the header). */
static void make_overlay(const char *top, const char *backing)
{
	struct qcow2_create_opts o = { .backing_file = backing,
				       .backing_fmt = "raw" };
	struct err e = { 0 };
	assert_int_equal(qcow2_create(top, 1 << 20, &o, &e), 0);
}

static void helper_accepts_regular_files(void **state)
{
	struct fx *f = *state;
	make_file(p(f, "file"), 4096);
	int fd;
	struct stat st;
	struct err e = { 0 };
	assert_int_equal(file_open_checked("disk", f->path, O_RDWR, false, &fd,
					   &st, &e), 0);
	assert_true(fd >= 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 4096);
	/* the O_NONBLOCK used while opening is gone; close-on-exec is set */
	assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_int_equal(file_open_checked("kernel", f->path, O_RDONLY, false,
					   &fd, NULL, NULL), 0);
	close(fd);
}

static void helper_refuses_other_kinds(void **state)
{
	struct fx *f = *state;
	int fd = 7;
	struct err e = { 0 };
	char want[256];

	snprintf(want, sizeof(want), "%s/missing", f->dir);
	assert_int_equal(file_open_checked("kernel", want, O_RDONLY, false,
					   &fd, NULL, &e), -ENOENT);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(e.msg, "cannot open kernel `"));
	assert_non_null(strstr(e.msg, "No such file or directory"));

	err_clear(&e);
	assert_int_equal(file_open_checked("initrd", f->dir, O_RDONLY, true,
					   &fd, NULL, &e), -EISDIR);
	snprintf(want, sizeof(want), "cannot open initrd `%s`: Is a directory",
		 f->dir);
	assert_string_equal(e.msg, want);

	/* a FIFO with no writer: refused at once, never opened */
	assert_int_equal(mkfifo(p(f, "fifo"), 0600), 0);
	err_clear(&e);
	assert_int_equal(file_open_checked("disk", f->path, O_RDONLY, true,
					   &fd, NULL, &e), -EINVAL);
	snprintf(want, sizeof(want), "disk `%s` is a FIFO, not a regular file "
		 "or block device", f->path);
	assert_string_equal(e.msg, want);
	assert_int_equal(fd, -1);
	err_clear(&e);
	assert_int_equal(file_open_checked("kernel", f->path, O_RDWR, false,
					   &fd, NULL, &e), -EINVAL);
	snprintf(want, sizeof(want), "kernel `%s` is a FIFO, not a regular "
		 "file", f->path);
	assert_string_equal(e.msg, want);

	/* a character device */
	err_clear(&e);
	assert_int_equal(file_open_checked("bios", "/dev/null", O_RDONLY, true,
					   &fd, NULL, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "`/dev/null` is a character device"));

	/* a socket */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p(f, "sock"));
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	err_clear(&e);
	assert_int_equal(file_open_checked("disk", f->path, O_RDONLY, true,
					   &fd, NULL, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "is a socket"));
	close(s);

	/* a block device only when allowed */
	if (!make_blockdev(p(f, "blk"))) {
		print_message("cannot mknod here: block device case skipped\n");
		return;
	}
	err_clear(&e);
	assert_int_equal(file_open_checked("kernel", f->path, O_RDONLY, false,
					   &fd, NULL, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "is a block device, not a regular file"));
	int rc = file_open_checked("disk", f->path, O_RDONLY, true, &fd, NULL,
				   NULL);
	/* allowed: whether the loop device opens depends on the host */
	assert_int_not_equal(rc, -EINVAL);
	if (rc == 0)
		close(fd);
}

/* Old code: open(O_RDONLY) on the FIFO blocked, and alarm() ended the run. */
static void fifo_disk_refused(void **state)
{
	struct fx *f = *state;
	struct block_dev *bd = (void *)1;
	struct err e = { 0 };
	assert_int_equal(mkfifo(p(f, "fifo.img"), 0600), 0);
	assert_int_equal(block_open(f->path, true, &bd, &e), -EINVAL);
	assert_null(bd);
	assert_non_null(strstr(e.msg, f->path));
	assert_non_null(strstr(e.msg, "FIFO"));
	assert_int_equal(block_open(f->path, false, &bd, NULL), -EINVAL);
}

static void fifo_backing_refused(void **state)
{
	struct fx *f = *state;
	struct block_dev *bd = (void *)1;
	struct err e = { 0 };
	char top[160];
	assert_int_equal(mkfifo(p(f, "fifo"), 0600), 0);
	snprintf(top, sizeof(top), "%s/top.qcow2", f->dir);
	make_overlay(top, "fifo");
	assert_int_equal(block_open(top, false, &bd, &e), -EINVAL);
	assert_null(bd);
	assert_non_null(strstr(e.msg, top));
	assert_non_null(strstr(e.msg, "/fifo` is a FIFO"));

	/* a character device named inside the image */
	make_overlay(top, "/dev/zero");
	err_clear(&e);
	assert_int_equal(block_open(top, true, &bd, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "`/dev/zero` is a character device"));
}

static void regular_backing_accepted(void **state)
{
	struct fx *f = *state;
	struct block_dev *bd;
	char top[160];
	make_file(p(f, "base.raw"), 1 << 20);
	snprintf(top, sizeof(top), "%s/top.qcow2", f->dir);
	make_overlay(top, "base.raw");
	assert_int_equal(block_open(top, false, &bd, NULL), 0);
	assert_non_null(bd->backing);
	assert_string_equal(bd->backing->drv->name, "raw");
	block_close(bd);
}

static void device_backing_needs_the_user(void **state)
{
	struct fx *f = *state;
	struct block_dev *bd = (void *)1;
	struct err e = { 0 };
	char top[160], dev[160];
	if (!make_blockdev(p(f, "blk"))) {
		skip();
		return;
	}
	snprintf(dev, sizeof(dev), "%s", f->path);
	snprintf(top, sizeof(top), "%s/top.qcow2", f->dir);
	make_overlay(top, dev);

	/* named only inside the image: refused before it is opened */
	assert_int_equal(block_open(top, false, &bd, &e), -EPERM);
	assert_null(bd);
	assert_non_null(strstr(e.msg, top));
	assert_non_null(strstr(e.msg, "is a block device"));
	assert_non_null(strstr(e.msg, "backing-device="));
	err_clear(&e);
	assert_int_equal(block_open_format(top, "qcow2", true, &bd, &e),
			 -EPERM);

	/* the user names it: the block layer lets it through (whether the
	 * loop device then opens depends on the host) */
	const char *devs[] = { dev };
	struct block_open_opts o = { .backing_devices = devs,
				     .nbacking_devices = 1, .read_only = true };
	int rc = block_open_with(top, &o, &bd, NULL);
	assert_int_not_equal(rc, -EPERM);
	if (rc == 0) {
		assert_non_null(bd->backing);
		block_close(bd);
	}
	/* another name of the same device counts (device numbers compared) */
	if (access("/dev/loop0", F_OK) == 0) {
		devs[0] = "/dev/loop0";
		assert_int_not_equal(block_open_with(top, &o, &bd, NULL),
				     -EPERM);
		block_close(bd);   /* NULL when it did not open */
	}

	/* backing-device= must name a block device */
	make_file(p(f, "plain"), 4096);
	devs[0] = f->path;
	err_clear(&e);
	assert_int_equal(block_open_with(top, &o, &bd, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "is a regular file, not a block device"));
}

/* A backing change later (rebase) keeps what the user allowed at open. */
static void set_backing_to_device(void **state)
{
	struct fx *f = *state;
	struct block_dev *bd;
	struct err e = { 0 };
	char top[160], dev[160];
	if (!make_blockdev(p(f, "blk"))) {
		skip();
		return;
	}
	snprintf(dev, sizeof(dev), "%s", f->path);
	make_file(p(f, "base.raw"), 1 << 20);
	snprintf(top, sizeof(top), "%s/top.qcow2", f->dir);
	make_overlay(top, "base.raw");

	assert_int_equal(block_open(top, false, &bd, NULL), 0);
	assert_int_equal(qcow2_set_backing(bd, dev, "raw", &e), -EPERM);
	assert_string_equal(bd->backing->path, p(f, "base.raw"));
	block_close(bd);

	const char *devs[] = { dev };
	struct block_open_opts o = { .backing_devices = devs,
				     .nbacking_devices = 1 };
	assert_int_equal(block_open_with(top, &o, &bd, NULL), 0);
	assert_int_not_equal(qcow2_set_backing(bd, dev, "raw", NULL), -EPERM);
	block_close(bd);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(helper_accepts_regular_files),
		T(helper_refuses_other_kinds),
		T(fifo_disk_refused),
		T(fifo_backing_refused),
		T(regular_backing_accepted),
		T(device_backing_needs_the_user),
		T(set_backing_to_device),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
