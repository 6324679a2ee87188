/* Machine state save/load with the default Linux guest (make guest): two
 * harts, a disk, a --net user NIC and virtio-rng, all in use by real
 * drivers.  The guest boots to its shell, reads the disk and gets a DHCP
 * lease; the VM is paused, saved and its RAM copied; a second VM made
 * from the state continues: the same shell answers, the disk is read
 * again from the device (page cache dropped), the hardware RNG gives
 * bytes, timers fire (sleep), and a DHCP renewal goes through the
 * restored queues and libslirp.
 *
 * SKIP when the default guest is not built.  Slow under ASan (two Linux
 * boots' worth of instructions are not needed: one boot, then commands). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/guest_mem.h"
#include "core/state.h"
#include "vmm/boot_source.h"
#include "vmm/vm.h"

#define MAGIC "PERSIST-DISK-MAGIC"

struct con {
	int in[2], out[2];   /* pipes: [0] read, [1] write */
	char buf[1 << 16];
	size_t len;
};

static void con_open(struct con *c)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(pipe2(c->in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(c->out, O_CLOEXEC), 0);
	fcntl(c->out[0], F_SETFL, O_NONBLOCK);
}

static void con_close(struct con *c)
{
	for (int i = 0; i < 2; i++) {
		close(c->in[i]);
		close(c->out[i]);
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read console output until `want` appears (true) or timeout_s. */
static bool con_wait(struct con *c, const char *want, unsigned timeout_s)
{
	uint64_t end = now_ms() + timeout_s * 1000ULL;
	for (;;) {
		if (memmem(c->buf, c->len, want, strlen(want)))
			return true;
		uint64_t now = now_ms();
		if (now >= end)
			return false;
		struct pollfd p = { c->out[0], POLLIN, 0 };
		poll(&p, 1, (int)(end - now));
		if (c->len == sizeof(c->buf)) {
			/* Keep the last half. */
			memmove(c->buf, c->buf + sizeof(c->buf) / 2,
				sizeof(c->buf) / 2);
			c->len = sizeof(c->buf) / 2;
		}
		ssize_t n = read(c->out[0], c->buf + c->len,
				 sizeof(c->buf) - c->len);
		if (n > 0)
			c->len += (size_t)n;
	}
}

static void con_send(struct con *c, const char *s)
{
	c->len = 0;   /* look for answers only after this command */
	size_t n = strlen(s);
	assert_int_equal(write(c->in[1], s, n), (ssize_t)n);
}

static void expect(struct con *c, const char *want, unsigned timeout_s)
{
	if (!con_wait(c, want, timeout_s)) {
		size_t from = c->len > 2000 ? c->len - 2000 : 0;
		fail_msg("no `%s` on the console; last output:\n%.*s", want,
			 (int)(c->len - from), c->buf + from);
	}
}

static struct vm_config config(struct con *c, const char *disk)
{
	struct vm_config cfg = {
		.arch = "riscv64",
		.mem = 256ULL << 20,
		.cpus = 2,
		.ndisks = 1,
		.nnics = 1,
		.seccomp_off = true,
		.no_reboot = true,
		.console_fds = true,
		.console_in = c->in[0],
		.console_out = c->out[1],
	};
	cfg.disks[0].path = disk;
	cfg.disks[0].format = "raw";
	cfg.nics[0].spec = "user";
	return cfg;
}

static void linux_continues(void **state)
{
	(void)state;
	setenv("RINGVM_GUEST_DIR", "build/guest", 0);
	char *k = NULL, *i = NULL;
	struct err e = { 0 };
	if (boot_find_default_guest(&k, &i, &e) < 0) {
		printf("SKIP: %s\n", e.msg);
		skip();
	}
	free(k);
	free(i);
	char disk[] = "/tmp/ringvm-test-linux-state-XXXXXX";
	int fd = mkstemp(disk);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4 << 20), 0);
	assert_int_equal(pwrite(fd, MAGIC, strlen(MAGIC), 0),
			 (ssize_t)strlen(MAGIC));
	close(fd);

	struct con c1, c2;
	con_open(&c1);
	con_open(&c2);
	struct vm_config cfg = config(&c1, disk);
	struct vm *vm;
	assert_int_equal(vm_create(&cfg, NULL, NULL, &vm, &e), 0);
	assert_int_equal(vm_start(vm), 0);
	expect(&c1, "RINGVM-GUEST-READY", 240);
	con_send(&c1, "head -c 18 /dev/vda; echo; ifconfig eth0 up && "
		 "udhcpc -i eth0 -n -q -s /bin/true >/dev/null 2>&1; "
		 "echo A$((40+2))\n");
	expect(&c1, "A42", 120);
	assert_non_null(memmem(c1.buf, c1.len, MAGIC, strlen(MAGIC)));

	assert_int_equal(vm_pause(vm), 0);
	struct state_writer w;
	state_writer_init(&w);
	assert_int_equal(vm_save_state(vm, &w, &e), 0);
	uint64_t size = vm_ram_size(vm, 0);
	uint8_t *ram = malloc(size);
	assert_non_null(ram);
	memcpy(ram, gpa_ptr(vm_mem(vm), 0x80000000ULL, size), size);
	vm_stop(vm);
	int status = -1;
	vm_wait(vm, &status);
	vm_destroy(vm);

	struct state_reader r;
	assert_int_equal(state_reader_init(&r, w.buf, w.len, &e), 0);
	struct vm_config cfg2 = config(&c2, NULL);
	void *storage = NULL;
	assert_int_equal(vm_config_from_state(&r, &cfg2, &storage, &e), 0);
	assert_int_equal(vm_create(&cfg2, NULL, NULL, &vm, &e), 0);
	memcpy(gpa_ptr(vm_mem(vm), 0x80000000ULL, size), ram, size);
	free(ram);
	assert_int_equal(vm_load_state(vm, &r, &e), 0);
	assert_int_equal(vm_start(vm), 0);
	/* The same shell, on the new VM's console. */
	con_send(&c2, "echo B$((50+5))\n");
	expect(&c2, "B55", 120);
	con_send(&c2, "echo 3 > /proc/sys/vm/drop_caches; "
		 "head -c 18 /dev/vda; echo; echo C$((60+6))\n");
	expect(&c2, "C66", 120);
	assert_non_null(memmem(c2.buf, c2.len, MAGIC, strlen(MAGIC)));
	/* Outputs the command echo cannot contain. */
	con_send(&c2, "echo R$(head -c 64 /dev/hwrng | wc -c); sleep 1; "
		 "echo D$((70+7))\n");
	expect(&c2, "D77", 120);
	expect(&c2, "R64", 1);
	con_send(&c2, "echo L$(udhcpc -i eth0 -n -q -s /bin/true 2>&1 | "
		 "grep -c obtained)\n");
	expect(&c2, "L1", 120);
	vm_stop(vm);
	vm_wait(vm, &status);
	vm_destroy(vm);
	free(storage);
	state_writer_free(&w);
	con_close(&c1);
	con_close(&c2);
	unlink(disk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(linux_continues),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
