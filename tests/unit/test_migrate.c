/* Live migration in one process (vmm/migrate.h): a bare-metal guest that
 * rewrites 1024 pages over and over, migrated over a unix socket to a
 * target made by migrate_incoming on another thread.  The guest checks
 * itself: before each store it loads the slot's old value, which must be
 * what it wrote 1024 steps earlier, and its counter in RAM must equal its
 * register copy; a stale or lost page makes it report failure.
 *
 *   migrate_dirtying_guest   COMPLETED; the source ends with
 *                            VM_EVENT_MIGRATED (status 0); the target's RAM
 *                            equals the source's at its end, byte for byte;
 *                            the target goes on counting without failing
 *   converges_by_throttling  max downtime 1 ns fits only an empty rest:
 *                            the source throttles the guest from the 5th
 *                            round and stops after the 100th; completes
 *                            with identical RAM and a guest that goes on
 *   target_dies_midway       the target reads 1 MiB and closes: FAILED with
 *                            a reason, the source runs on (counting, not
 *                            paused, dirty log off)
 *   ack_lost                 the target takes the whole stream and vanishes
 *                            without its ack: FAILED, and the source stays
 *                            paused (it may run on the target) until the
 *                            operator resumes it
 *   cancel_blocked_send      a target that never reads: the send blocks;
 *                            migrate_cancel ends it at once (CANCELLED) and
 *                            the source runs on
 *   bogus_target             nothing listens: FAILED, source runs
 *   target_refuses           the target's --disk count does not fit the
 *                            source: FAILED with the target's reason, the
 *                            source runs on
 *   reboot_after_migration   the boot images come in their own record, not
 *                            in the device state: a migrated guest that
 *                            reboots boots again from the target's copy
 *                            (a reset event, no error, counting again) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/guest_mem.h"
#include "vmm/migrate.h"
#include "vmm/migrate_stream.h"
#include "vmm/vm.h"

#include "rv_asm.h"

#define RAM_BASE 0x80000000ULL
#define DATA 0x80100000ULL   /* the counter */
#define BUF 0x80400000ULL    /* 1024 pages the guest rewrites */

static void andi(struct prog *p, unsigned rd, unsigned rs, int imm)
{
	emit(p, i_type(imm, rs, 7, rd, 0x13));
}

/* s0 counts; each step: RAM[DATA] == s0 (else fail 2), store s0+1 there;
 * slot = BUF + ((s0 & 1023) << 12): its old value must be s0 - 1024 (0
 * in the first lap; else fail 3); store s0 there.  Runs until stopped. */
static char *prog_dirty(void)
{
	struct prog p = { .n = 0 };
	addi(&p, T0, ZERO, 1);
	slli(&p, T0, T0, 31);
	lui(&p, T1, 0x100);
	rr(&p, 0, T0, T0, T1);          /* t0 = DATA */
	addi(&p, T6, ZERO, 1);
	slli(&p, T6, T6, 31);
	lui(&p, T1, 0x400);
	rr(&p, 0, T6, T6, T1);          /* t6 = BUF */
	addi(&p, S0, ZERO, 0);
	addi(&p, S5, ZERO, 1025);
	unsigned loop = p.n;
	ld(&p, T3, T0);
	unsigned f2 = branch(&p, 1, T3, S0);        /* bne t3, s0 */
	addi(&p, S0, S0, 1);
	store(&p, 3, S0, T0);
	andi(&p, T1, S0, 1023);
	slli(&p, T1, T1, 12);
	rr(&p, 0, T1, T1, T6);          /* t1 = slot */
	ld(&p, T2, T1);
	addi(&p, T4, S0, -1024);
	unsigned lap1 = branch(&p, 6, S0, S5);      /* bltu s0, 1025 */
	unsigned f3 = branch(&p, 1, T2, T4);        /* bne t2, t4 */
	unsigned st = p.n;
	store(&p, 3, S0, T1);
	unsigned back = branch(&p, 0, ZERO, ZERO);  /* beq x0, x0 */
	patch_b(&p, back, loop);
	patch_b(&p, lap1, p.n);
	unsigned f3b = branch(&p, 1, T2, ZERO);     /* bne t2, x0 */
	unsigned to_st = branch(&p, 0, ZERO, ZERO);
	patch_b(&p, to_st, st);
	patch_b(&p, f2, p.n);
	report(&p, 2);
	patch_b(&p, f3, p.n);
	patch_b(&p, f3b, p.n);
	report(&p, 3);
	return write_image(&p);
}

/* Counts in RAM[DATA] until RAM[DATA + 8] is set, then asks the test
 * device for a reset (0x7777 at 0x100000): a reboot. */
static char *prog_reboot(void)
{
	struct prog p = { .n = 0 };
	addi(&p, T0, ZERO, 1);
	slli(&p, T0, T0, 31);
	lui(&p, T1, 0x100);
	rr(&p, 0, T0, T0, T1);          /* t0 = DATA */
	addi(&p, T3, T0, 8);            /* t3 = the flag */
	addi(&p, S0, ZERO, 0);
	unsigned loop = p.n;
	addi(&p, S0, S0, 1);
	store(&p, 3, S0, T0);
	ld(&p, T2, T3);
	unsigned b = branch(&p, 0, T2, ZERO);       /* beq t2, x0 */
	patch_b(&p, b, loop);
	lui(&p, T1, 0x100);
	lui(&p, T2, 0x7);
	addi(&p, T2, T2, 0x777);
	store(&p, 2, T2, T1);           /* sw: reset */
	spin(&p);
	return write_image(&p);
}

struct events {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int vm_event;                  /* -1: none */
	int vm_code;
	struct migrate_status last;
	bool ended;                    /* migration no longer ACTIVE */
};

struct fx {
	int null_fd;
	char *img;
	char sock[108];
	struct events ev;
	struct vm *src;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->null_fd = open("/dev/null", O_RDWR);
	f->img = prog_dirty();
	const char *dir = getenv("TMPDIR");
	snprintf(f->sock, sizeof(f->sock), "%s/ringvm-mig-%d.sock",
		 dir && *dir ? dir : "/tmp", (int)getpid());
	unlink(f->sock);
	pthread_mutex_init(&f->ev.lock, NULL);
	pthread_cond_init(&f->ev.cond, NULL);
	f->ev.vm_event = -1;
	*state = f;
	return f->null_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	unlink(f->img);
	unlink(f->sock);
	free(f->img);
	if (f->null_fd >= 0)
		close(f->null_fd);
	pthread_mutex_destroy(&f->ev.lock);
	pthread_cond_destroy(&f->ev.cond);
	free(f);
	return 0;
}

static struct vm_config config(struct fx *f)
{
	return (struct vm_config){
		.arch = "riscv64",
		.kernel = f->img,
		.bios = "none",
		.mem = 16ULL << 20,
		.cpus = 1,
		.seccomp_off = true,
		.no_rng = true,
		.console_fds = true,
		.console_in = f->null_fd,
		.console_out = f->null_fd,
	};
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static uint64_t ram_u64(struct vm *vm, uint64_t gpa)
{
	uint64_t v;
	const void *p = gpa_ptr(vm_mem(vm), gpa, 8);
	assert_non_null(p);
	memcpy(&v, p, 8);
	return v;
}

/* The counter read while paused. */
static uint64_t counter(struct vm *vm)
{
	assert_int_equal(vm_pause(vm), 0);
	uint64_t c = ram_u64(vm, DATA);
	assert_int_equal(vm_resume(vm), 0);
	return c;
}

static void on_vm_event(void *opaque, enum vm_event ev, int code)
{
	struct events *e = opaque;
	pthread_mutex_lock(&e->lock);
	e->vm_event = (int)ev;
	e->vm_code = code;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

static void on_mig(void *opaque, const struct migrate_status *st)
{
	struct events *e = opaque;
	pthread_mutex_lock(&e->lock);
	e->last = *st;
	if (st->state != MIGRATE_ACTIVE)
		e->ended = true;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

/* Wait (at most 30 s) for the migration to leave ACTIVE. */
static struct migrate_status wait_end(struct fx *f)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 30;
	pthread_mutex_lock(&f->ev.lock);
	while (!f->ev.ended)
		if (pthread_cond_timedwait(&f->ev.cond, &f->ev.lock, &dl))
			break;
	struct migrate_status st = f->ev.last;
	bool ended = f->ev.ended;
	pthread_mutex_unlock(&f->ev.lock);
	assert_true(ended);
	return st;
}

/* A source VM that has counted past the first lap. */
static void start_source(struct fx *f)
{
	struct vm_config c = config(f);
	struct err e = { 0 };
	assert_int_equal(vm_create(&c, on_vm_event, &f->ev, &f->src, &e), 0);
	assert_int_equal(vm_start(f->src), 0);
	for (int i = 0; i < 500 && counter(f->src) < 5000; i++)
		sleep_ms(10);
	assert_true(counter(f->src) >= 5000);
}

/* The source must be running: counting, not paused, not logging. */
static void assert_source_runs(struct fx *f)
{
	uint64_t a = counter(f->src);
	sleep_ms(100);
	uint64_t b = counter(f->src);
	assert_true(b > a);
	uint64_t bits[(16 << 20) / 4096 / 64];
	assert_int_equal(vm_dirty_log_fetch(f->src, 0, bits), -EINVAL);
	/* Not paused by the migration: a resume without a pause fails. */
	assert_int_equal(vm_resume(f->src), -EINVAL);
	pthread_mutex_lock(&f->ev.lock);
	assert_int_equal(f->ev.vm_event, -1);
	pthread_mutex_unlock(&f->ev.lock);
}

static void stop_source(struct fx *f)
{
	vm_stop(f->src);
	int status = -1;
	vm_wait(f->src, &status);
	assert_int_equal(status, 0);
	vm_destroy(f->src);
	f->src = NULL;
}

static void wait_socket(const char *path)
{
	struct stat st;
	for (int i = 0; i < 500 && stat(path, &st) < 0; i++)
		sleep_ms(10);
	assert_int_equal(stat(path, &st), 0);
}

/* ---- the real target on a thread ------------------------------------- */

struct target {
	struct fx *f;
	char uri[128];
	struct vm_config cfg;
	struct vm *vm;
	void *storage;
	int rc;
	struct err e;
	struct events ev;
};

static void *target_main(void *arg)
{
	struct target *t = arg;
	t->rc = migrate_incoming(t->uri, &t->cfg, on_vm_event, &t->ev,
				 &t->vm, &t->storage, &t->e);
	return NULL;
}

static void target_start(struct fx *f, struct target *t, pthread_t *tid,
			 const char *disk)
{
	memset(t, 0, sizeof(*t));
	t->f = f;
	snprintf(t->uri, sizeof(t->uri), "unix:%s", f->sock);
	t->cfg = config(f);
	t->cfg.kernel = NULL;
	if (disk) {
		t->cfg.ndisks = 1;
		t->cfg.disks[0].path = disk;
		t->cfg.disks[0].format = "raw";
	}
	pthread_mutex_init(&t->ev.lock, NULL);
	pthread_cond_init(&t->ev.cond, NULL);
	t->ev.vm_event = -1;
	assert_int_equal(pthread_create(tid, NULL, target_main, t), 0);
	wait_socket(f->sock);
}

static void migrate_to(struct fx *f, uint64_t downtime, struct migration **m)
{
	struct migrate_opts o = { .uri = NULL, .max_downtime_ns = downtime };
	char uri[128];
	snprintf(uri, sizeof(uri), "unix:%s", f->sock);
	o.uri = uri;
	struct err e = { 0 };
	assert_int_equal(migrate_start(f->src, &o, on_mig, &f->ev, m, &e), 0);
}

static void full_migration(struct fx *f, uint64_t downtime,
			   struct migrate_status *out)
{
	struct target t;
	pthread_t tid;
	start_source(f);
	target_start(f, &t, &tid, NULL);
	struct migration *m;
	migrate_to(f, downtime, &m);
	struct migrate_status st = wait_end(f);
	pthread_join(tid, NULL);
	if (st.state != MIGRATE_COMPLETED)
		fail_msg("migration: state %d: %s", st.state, st.error);
	assert_int_equal(t.rc, 0);
	assert_non_null(t.vm);
	migrate_free(m);
	*out = st;

	/* The source ended as migrated. */
	int status = -1;
	vm_wait(f->src, &status);
	assert_int_equal(status, 0);
	pthread_mutex_lock(&f->ev.lock);
	assert_int_equal(f->ev.vm_event, VM_EVENT_MIGRATED);
	pthread_mutex_unlock(&f->ev.lock);
	assert_int_equal(st.ram_total, 16 << 20);
	assert_true(st.ram_sent >= st.ram_total);
	assert_true(st.downtime_ns > 0 && st.total_ns >= st.downtime_ns);

	/* Byte for byte what the source had when it stopped. */
	const uint8_t *a = gpa_ptr(vm_mem(f->src), RAM_BASE, 16 << 20);
	const uint8_t *b = gpa_ptr(vm_mem(t.vm), RAM_BASE, 16 << 20);
	assert_non_null(a);
	assert_non_null(b);
	assert_memory_equal(a, b, 16 << 20);
	uint64_t at = ram_u64(t.vm, DATA);
	assert_true(at >= 5000);
	vm_destroy(f->src);
	f->src = NULL;

	/* The target goes on from there, its self-checks passing. */
	assert_int_equal(vm_start(t.vm), 0);
	for (int i = 0; i < 300 && counter(t.vm) < at + 20000; i++)
		sleep_ms(10);
	assert_true(counter(t.vm) >= at + 20000);
	pthread_mutex_lock(&t.ev.lock);
	assert_int_equal(t.ev.vm_event, -1);   /* no failure report */
	pthread_mutex_unlock(&t.ev.lock);
	vm_stop(t.vm);
	vm_wait(t.vm, &status);
	assert_int_equal(status, 0);
	vm_destroy(t.vm);
	free(t.storage);
	pthread_mutex_destroy(&t.ev.lock);
	pthread_cond_destroy(&t.ev.cond);
}

static void migrate_dirtying_guest(void **state)
{
	struct migrate_status st;
	full_migration(*state, 0, &st);
	assert_true(st.rounds >= 1);
	assert_true(st.bandwidth > 0);
}

static void converges_by_throttling(void **state)
{
	struct migrate_status st;
	full_migration(*state, 1, &st);
	/* 1 ns fits only an empty rest: a guest that kept dirtying went
	 * through throttled rounds up to the limit; one that got no host
	 * CPU between two fetches (a loaded machine) may end earlier.  Both
	 * must complete with identical RAM (full_migration checked). */
	assert_true(st.rounds >= 1 && st.rounds <= 100);
}

/* ---- fake targets ----------------------------------------------------- */

struct fake {
	char path[108];
	size_t read_limit;   /* close after this many bytes; 0: never read */
	int cancel_fd;       /* a pipe: the test's "go away" */
};

static void *fake_main(void *arg)
{
	struct fake *k = arg;
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", k->path);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(l, 1))
		return NULL;
	int fd = accept(l, NULL, NULL);
	close(l);
	unlink(k->path);
	if (fd < 0)
		return NULL;
	if (k->read_limit) {
		static uint8_t buf[65536];
		size_t got = 0;
		while (got < k->read_limit) {
			ssize_t n = read(fd, buf, sizeof(buf));
			if (n <= 0)
				break;
			got += (size_t)n;
		}
	} else {
		char c;
		ssize_t r = read(k->cancel_fd, &c, 1);   /* never reads fd */
		(void)r;
	}
	close(fd);
	return NULL;
}

static void target_dies_midway(void **state)
{
	struct fx *f = *state;
	start_source(f);
	struct fake k = { .read_limit = 1 << 20, .cancel_fd = -1 };
	snprintf(k.path, sizeof(k.path), "%s", f->sock);
	pthread_t tid;
	assert_int_equal(pthread_create(&tid, NULL, fake_main, &k), 0);
	wait_socket(f->sock);
	struct migration *m;
	migrate_to(f, 0, &m);
	struct migrate_status st = wait_end(f);
	pthread_join(tid, NULL);
	assert_int_equal(st.state, MIGRATE_FAILED);
	assert_true(strlen(st.error) > 0);
	struct migrate_status st2;
	migrate_status(m, &st2);
	assert_int_equal(st2.state, MIGRATE_FAILED);
	migrate_free(m);
	assert_source_runs(f);
	stop_source(f);
}

/* A target that takes the whole stream (the real parser; SYNCs answered)
 * and vanishes without the final ack, as if the ack were lost. */
struct silent {
	int fd;
	struct guest_mem mem;
	int parsed;           /* mig_parse's result */
};

static int silent_read(void *opaque, void *buf, size_t n, struct err *errp)
{
	struct silent *k = opaque;
	for (size_t got = 0; got < n;) {
		ssize_t r = read(k->fd, (uint8_t *)buf + got, n - got);
		if (r <= 0)
			return err_set(errp, EPIPE, "end of stream");
		got += (size_t)r;
	}
	return 0;
}

static int silent_machine(void *o, const uint8_t *b, size_t l, struct err *e)
{
	(void)o; (void)b; (void)l; (void)e;
	return 0;
}

static int silent_layout(void *opaque, const struct guest_mem_region *r,
			 unsigned nr, struct guest_mem **mem, struct err *errp)
{
	struct silent *k = opaque;
	for (unsigned i = 0; i < nr; i++)
		if (guest_mem_add(&k->mem, r[i].gpa, r[i].size, errp))
			return -ENOMEM;
	*mem = &k->mem;
	return 0;
}

static int silent_boot(void *o, unsigned n, const uint64_t *g,
		       const uint64_t *l, const uint32_t *c, struct err *e)
{
	(void)o; (void)n; (void)g; (void)l; (void)c; (void)e;
	return 0;
}

static int silent_boot_data(void *o, unsigned i, uint64_t off, const void *b,
			    size_t l, struct err *e)
{
	(void)o; (void)i; (void)off; (void)b; (void)l; (void)e;
	return 0;
}

static int silent_sync(void *opaque, struct err *errp)
{
	struct silent *k = opaque;
	(void)errp;
	return mig_send_ack(k->fd, MIG_ACK_SYNC, NULL);
}

static void *silent_main(void *arg)
{
	struct fake *f = arg;
	struct silent k = { .fd = -1, .parsed = 1 };
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", f->path);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(l, 1))
		return NULL;
	k.fd = accept(l, NULL, NULL);
	close(l);
	unlink(f->path);
	if (k.fd < 0)
		return NULL;
	struct mig_in in = { silent_read, &k };
	struct mig_sink sink = {
		.opaque = &k, .machine = silent_machine,
		.layout = silent_layout, .device = silent_machine,
		.boot = silent_boot, .boot_data = silent_boot_data,
		.sync = silent_sync,
	};
	struct err e = { 0 };
	k.parsed = mig_parse(&in, &sink, &e);
	f->read_limit = k.parsed == 0;   /* reached END */
	close(k.fd);
	guest_mem_free(&k.mem);
	return NULL;
}

static void ack_lost(void **state)
{
	struct fx *f = *state;
	start_source(f);
	struct fake k = { .cancel_fd = -1 };
	snprintf(k.path, sizeof(k.path), "%s", f->sock);
	pthread_t tid;
	assert_int_equal(pthread_create(&tid, NULL, silent_main, &k), 0);
	wait_socket(f->sock);
	struct migration *m;
	migrate_to(f, 0, &m);
	struct migrate_status st = wait_end(f);
	pthread_join(tid, NULL);
	assert_int_equal(k.read_limit, 1);   /* the whole stream went out */
	assert_int_equal(st.state, MIGRATE_FAILED);
	assert_non_null(strstr(st.error, "stays paused"));
	migrate_free(m);
	/* Paused, not resumed: the counter stands still, and the one pause
	 * the migration holds is the operator's to undo. */
	uint64_t a = ram_u64(f->src, DATA);
	sleep_ms(100);
	assert_int_equal(ram_u64(f->src, DATA), a);
	assert_int_equal(vm_resume(f->src), 0);
	uint64_t b = counter(f->src);
	sleep_ms(100);
	assert_true(counter(f->src) > b);
	stop_source(f);
}

static void cancel_blocked_send(void **state)
{
	struct fx *f = *state;
	start_source(f);
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	struct fake k = { .read_limit = 0, .cancel_fd = pfd[0] };
	snprintf(k.path, sizeof(k.path), "%s", f->sock);
	pthread_t tid;
	assert_int_equal(pthread_create(&tid, NULL, fake_main, &k), 0);
	wait_socket(f->sock);
	struct migration *m;
	migrate_to(f, 0, &m);
	/* Until the socket buffers are full and the send blocks. */
	struct migrate_status st;
	uint64_t prev = UINT64_MAX;
	for (int i = 0; i < 100; i++) {
		sleep_ms(50);
		migrate_status(m, &st);
		if (st.ram_sent == prev)
			break;
		prev = st.ram_sent;
	}
	assert_int_equal(st.state, MIGRATE_ACTIVE);
	assert_true(st.ram_sent < st.ram_total);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	migrate_cancel(m);
	st = wait_end(f);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* Well before the 15 s send timeout. */
	assert_true(t1.tv_sec - t0.tv_sec < 3);
	assert_int_equal(st.state, MIGRATE_CANCELLED);
	migrate_free(m);
	assert_source_runs(f);
	assert_int_equal(write(pfd[1], "x", 1), 1);
	pthread_join(tid, NULL);
	close(pfd[0]);
	close(pfd[1]);
	stop_source(f);
}

static void bogus_target(void **state)
{
	struct fx *f = *state;
	start_source(f);
	struct migration *m;
	migrate_to(f, 0, &m);   /* nothing listens on f->sock */
	struct migrate_status st = wait_end(f);
	assert_int_equal(st.state, MIGRATE_FAILED);
	assert_non_null(strstr(st.error, "cannot connect"));
	migrate_free(m);
	assert_source_runs(f);
	/* Bad URIs are refused up front. */
	struct migrate_opts o = { .uri = "tcp:example.com:1" };
	struct err e = { 0 };
	assert_int_equal(migrate_start(f->src, &o, NULL, NULL, &m, &e),
			 -EINVAL);
	assert_non_null(strstr(e.msg, "IP address"));
	o.uri = "ftp:x";
	assert_int_equal(migrate_start(f->src, &o, NULL, NULL, &m, &e),
			 -EINVAL);
	stop_source(f);
}

static void target_refuses(void **state)
{
	struct fx *f = *state;
	start_source(f);
	struct target t;
	pthread_t tid;
	/* One --disk on the target, none on the source. */
	char disk[] = "/tmp/ringvm-mig-disk-XXXXXX";
	int dfd = mkstemp(disk);
	assert_true(dfd >= 0);
	assert_int_equal(ftruncate(dfd, 1 << 20), 0);
	close(dfd);
	target_start(f, &t, &tid, disk);
	struct migration *m;
	migrate_to(f, 0, &m);
	struct migrate_status st = wait_end(f);
	pthread_join(tid, NULL);
	unlink(disk);
	assert_int_equal(t.rc, -EINVAL);
	assert_null(t.vm);
	assert_int_equal(st.state, MIGRATE_FAILED);
	if (!strstr(st.error, "the target refused") ||
	    !strstr(st.error, "--disk named 1"))
		fail_msg("error: %s", st.error);
	migrate_free(m);
	assert_source_runs(f);
	stop_source(f);
	pthread_mutex_destroy(&t.ev.lock);
	pthread_cond_destroy(&t.ev.cond);
}

static void reboot_after_migration(void **state)
{
	struct fx *f = *state;
	char *dirty = f->img;
	f->img = prog_reboot();
	struct target t;
	pthread_t tid;
	start_source(f);
	target_start(f, &t, &tid, NULL);
	struct migration *m;
	migrate_to(f, 30000000, &m);
	struct migrate_status st = wait_end(f);
	pthread_join(tid, NULL);
	if (st.state != MIGRATE_COMPLETED)
		fail_msg("migration: state %d: %s", st.state, st.error);
	assert_int_equal(t.rc, 0);
	migrate_free(m);
	int status = -1;
	vm_wait(f->src, &status);
	assert_int_equal(status, 0);
	vm_destroy(f->src);
	f->src = NULL;

	assert_int_equal(vm_start(t.vm), 0);
	assert_int_equal(vm_pause(t.vm), 0);
	uint64_t one = 1;
	void *flag = gpa_ptr(vm_mem(t.vm), DATA + 8, 8);
	assert_non_null(flag);
	memcpy(flag, &one, 8);
	assert_int_equal(vm_resume(t.vm), 0);
	int ev = -1;
	for (int i = 0; i < 300 && ev == -1; i++) {
		sleep_ms(10);
		pthread_mutex_lock(&t.ev.lock);
		ev = t.ev.vm_event;
		pthread_mutex_unlock(&t.ev.lock);
	}
	assert_int_equal(ev, VM_EVENT_RESET);
	/* Booted again from the images: counting, the flag cleared. */
	uint64_t a = counter(t.vm);
	sleep_ms(50);
	assert_true(counter(t.vm) > a);
	pthread_mutex_lock(&t.ev.lock);
	assert_int_equal(t.ev.vm_event, VM_EVENT_RESET);
	pthread_mutex_unlock(&t.ev.lock);
	vm_stop(t.vm);
	vm_wait(t.vm, &status);
	assert_int_equal(status, 0);
	vm_destroy(t.vm);
	free(t.storage);
	pthread_mutex_destroy(&t.ev.lock);
	pthread_cond_destroy(&t.ev.cond);
	unlink(f->img);
	free(f->img);
	f->img = dirty;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(migrate_dirtying_guest, setup,
						teardown),
		cmocka_unit_test_setup_teardown(converges_by_throttling, setup,
						teardown),
		cmocka_unit_test_setup_teardown(target_dies_midway, setup,
						teardown),
		cmocka_unit_test_setup_teardown(ack_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(cancel_blocked_send, setup,
						teardown),
		cmocka_unit_test_setup_teardown(bogus_target, setup, teardown),
		cmocka_unit_test_setup_teardown(reboot_after_migration, setup,
						teardown),
		cmocka_unit_test_setup_teardown(target_refuses, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
