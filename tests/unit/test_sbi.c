/* Built-in SBI firmware: every extension on a 2-hart machine, with
 * hostile arguments (bad hart ids and masks, addresses outside RAM). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "hw/clint.h"
#include "board/virt/memmap.h"
#include "engine/rv64/hart.h"
#include "board/virt/sbi.h"

#define NHARTS 2
#define RAM_SIZE (1ULL << 20)
#define RAM_END (RV_RAM_BASE + RAM_SIZE)

struct fixture {
	struct rv_machine m;
	char out[256];
	size_t out_len;
	const char *in;        /* bytes the console will hand out */
};

static void con_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct fixture *f = opaque;
	assert_true(f->out_len + len <= sizeof(f->out));
	memcpy(f->out + f->out_len, buf, len);
	f->out_len += len;
}

static int con_read(void *opaque)
{
	struct fixture *f = opaque;
	if (!f->in || !*f->in)
		return -1;
	return (uint8_t)*f->in++;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct err e = { 0 };
	assert_non_null(f);
	struct rv_machine *m = &f->m;
	assert_int_equal(guest_mem_add(&m->mem, RV_RAM_BASE, RAM_SIZE, &e), 0);
	m->nharts = NHARTS;
	m->sbi = true;
	m->mtime_epoch_ns = now_ns();
	m->console_write = con_write;
	m->console_read = con_read;
	m->console_opaque = f;
	for (unsigned i = 0; i < NHARTS; i++) {
		m->harts[i] = rv_hart_new(m, i, &e);
		assert_non_null(m->harts[i]);
	}
	assert_int_equal(rv_clint_init(m, RV_CLINT_BASE, &e), 0);
	/* hart 0 runs the kernel in S-mode; hart 1 waits for HSM */
	rv_hart_reset(m->harts[0], RV_RAM_BASE, RV_PRIV_S, 0);
	m->harts[0]->state = RV_HART_STARTED;
	m->harts[1]->state = RV_HART_STOPPED;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	rv_clint_free(&f->m);
	for (unsigned i = 0; i < NHARTS; i++)
		rv_hart_free(f->m.harts[i]);
	bus_free(&f->m.bus);
	guest_mem_free(&f->m.mem);
	free(f);
	return 0;
}

struct ret {
	long error, value;
};

static struct ret call(struct rv_hart *h, uint64_t eid, uint64_t fid,
		       uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
		       uint64_t a4)
{
	h->x[17] = eid;
	h->x[16] = fid;
	h->x[10] = a0;
	h->x[11] = a1;
	h->x[12] = a2;
	h->x[13] = a3;
	h->x[14] = a4;
	assert_int_equal(rv_sbi_ecall(h), 0);
	return (struct ret){ (long)h->x[10], (long)h->x[11] };
}

#define CALL0(h, e, f)             call(h, e, f, 0, 0, 0, 0, 0)
#define CALL1(h, e, f, a)          call(h, e, f, a, 0, 0, 0, 0)
#define CALL2(h, e, f, a, b)       call(h, e, f, a, b, 0, 0, 0)
#define CALL3(h, e, f, a, b, c)    call(h, e, f, a, b, c, 0, 0)

static struct rv_hart *H(void **state, unsigned i)
{
	return ((struct fixture *)*state)->m.harts[i];
}

static void test_base(void **state)
{
	struct rv_hart *h = H(state, 0);
	struct ret r = CALL0(h, SBI_EXT_BASE, 0);
	assert_int_equal(r.error, SBI_SUCCESS);
	assert_int_equal(r.value, 0x02000000);
	r = CALL0(h, SBI_EXT_BASE, 1);
	assert_int_equal(r.value, SBI_IMPL_ID);
	r = CALL0(h, SBI_EXT_BASE, 2);
	assert_int_equal(r.value, SBI_IMPL_VERSION);
	for (uint64_t fid = 4; fid <= 6; fid++) {
		h->x[11] = 99;
		r = CALL0(h, SBI_EXT_BASE, fid);
		assert_int_equal(r.error, 0);
		assert_int_equal(r.value, 0);
	}
	static const uint64_t have[] = {
		SBI_EXT_BASE, SBI_EXT_TIME, SBI_EXT_IPI, SBI_EXT_RFNC,
		SBI_EXT_HSM, SBI_EXT_SRST, SBI_EXT_DBCN, 0x00, 0x08 };
	for (unsigned i = 0; i < sizeof(have) / sizeof(have[0]); i++) {
		r = CALL1(h, SBI_EXT_BASE, 3, have[i]);
		assert_int_equal(r.error, 0);
		assert_int_equal(r.value, 1);
	}
	static const uint64_t lack[] = { 0x09,
		0x53555350 /* SUSP */, 0x4E41434C /* NACL */, ~0ULL };
	for (unsigned i = 0; i < sizeof(lack) / sizeof(lack[0]); i++) {
		r = CALL1(h, SBI_EXT_BASE, 3, lack[i]);
		assert_int_equal(r.error, 0);
		assert_int_equal(r.value, 0);
	}
	r = CALL0(h, SBI_EXT_BASE, 7);
	assert_int_equal(r.error, SBI_ERR_NOT_SUPPORTED);
	/* EID/FID are 32-bit: Linux sign-extends them from int */
	r = CALL0(h, 0xffffffff00000000ULL | SBI_EXT_BASE,
		  0xffffffff00000000ULL);
	assert_int_equal(r.value, 0x02000000);
	/* unknown extension */
	r = CALL0(h, 0x12345678, 0);
	assert_int_equal(r.error, SBI_ERR_NOT_SUPPORTED);
}

static void test_time(void **state)
{
	struct rv_hart *h = H(state, 0);
	struct ret r = CALL1(h, SBI_EXT_TIME, 0, 0);   /* in the past */
	assert_int_equal(r.error, 0);
	assert_int_equal(h->stimecmp, 0);
	assert_true(h->mip & RV_MIP_STIP);

	uint64_t later = rv_mtime(h->m) + 100 * RV_TIMEBASE_HZ;
	r = CALL1(h, SBI_EXT_TIME, 0, later);
	assert_int_equal(r.error, 0);
	assert_int_equal(h->stimecmp, later);
	assert_false(h->mip & RV_MIP_STIP);
	assert_int_equal(rv_clint_next_deadline(h->m), later);

	r = CALL1(h, SBI_EXT_TIME, 1, 0);
	assert_int_equal(r.error, SBI_ERR_NOT_SUPPORTED);

	/* legacy set_timer: only a0 is written */
	h->x[11] = 0x55;
	h->x[17] = SBI_EXT_LEGACY_SET_TIMER;
	h->x[10] = 0;
	rv_sbi_ecall(h);
	assert_int_equal(h->x[10], 0);
	assert_int_equal(h->x[11], 0x55);
	assert_true(h->mip & RV_MIP_STIP);
}

static void clear_ssip(void **state)
{
	for (unsigned i = 0; i < NHARTS; i++)
		H(state, i)->mip &= ~RV_MIP_SSIP;
}

static void test_ipi(void **state)
{
	struct rv_hart *h0 = H(state, 0), *h1 = H(state, 1);
	h1->state = RV_HART_STARTED;

	struct ret r = CALL2(h0, SBI_EXT_IPI, 0, 0x2, 0);
	assert_int_equal(r.error, 0);
	assert_true(h1->mip & RV_MIP_SSIP);
	assert_false(h0->mip & RV_MIP_SSIP);
	clear_ssip(state);

	r = CALL2(h0, SBI_EXT_IPI, 0, 0x1, 1);          /* base 1 */
	assert_int_equal(r.error, 0);
	assert_true(h1->mip & RV_MIP_SSIP);
	assert_false(h0->mip & RV_MIP_SSIP);
	clear_ssip(state);

	r = CALL2(h0, SBI_EXT_IPI, 0, 0, -1ULL);        /* all harts */
	assert_int_equal(r.error, 0);
	assert_true(h0->mip & RV_MIP_SSIP);
	assert_true(h1->mip & RV_MIP_SSIP);
	clear_ssip(state);

	r = CALL2(h0, SBI_EXT_IPI, 0, 0, 0);            /* empty mask */
	assert_int_equal(r.error, 0);

	/* any invalid id fails the whole call without side effects */
	static const uint64_t bad[][2] = {
		{ 0x7, 0 },            /* hart 2 */
		{ 0x1, 2 },            /* hart 2 */
		{ 0x1, 1000 },
		{ 1ULL << 63, 1 },     /* 64 + base would overflow */
		{ 0x3, 1 },
		{ 0x1, -2ULL },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = CALL2(h0, SBI_EXT_IPI, 0, bad[i][0], bad[i][1]);
		assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
		assert_false(h0->mip & RV_MIP_SSIP);
		assert_false(h1->mip & RV_MIP_SSIP);
	}

	/* a stopped hart is not interrupted */
	h1->state = RV_HART_STOPPED;
	r = CALL2(h0, SBI_EXT_IPI, 0, 0x3, 0);
	assert_int_equal(r.error, 0);
	assert_true(h0->mip & RV_MIP_SSIP);
	assert_false(h1->mip & RV_MIP_SSIP);
}

static void test_rfence(void **state)
{
	struct rv_hart *h = H(state, 0);
	struct ret r = CALL2(h, SBI_EXT_RFNC, 0, 0x3, 0);
	assert_int_equal(r.error, 0);
	r = call(h, SBI_EXT_RFNC, 1, 0x1, 0, 0x1000, 0x2000, 0);
	assert_int_equal(r.error, 0);
	r = call(h, SBI_EXT_RFNC, 2, 0, -1ULL, 0, -1ULL, 5);
	assert_int_equal(r.error, 0);
	r = CALL2(h, SBI_EXT_RFNC, 0, 0x4, 0);
	assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
	r = CALL2(h, SBI_EXT_RFNC, 1, 0x1, 7);
	assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
	for (uint64_t fid = 3; fid <= 7; fid++) {
		r = CALL2(h, SBI_EXT_RFNC, fid, 0x1, 0);
		assert_int_equal(r.error, SBI_ERR_NOT_SUPPORTED);
	}
}

static void test_hsm(void **state)
{
	struct rv_hart *h0 = H(state, 0), *h1 = H(state, 1);
	struct ret r = CALL1(h0, SBI_EXT_HSM, 2, 1);
	assert_int_equal(r.error, 0);
	assert_int_equal(r.value, RV_HART_STOPPED);
	r = CALL1(h0, SBI_EXT_HSM, 2, 0);
	assert_int_equal(r.value, RV_HART_STARTED);
	r = CALL1(h0, SBI_EXT_HSM, 2, 2);
	assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
	r = CALL1(h0, SBI_EXT_HSM, 2, -1ULL);
	assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);

	/* bad start addresses leave the hart stopped */
	static const uint64_t bad[] = { 0, 0x1000, RV_RAM_BASE - 2, RAM_END,
		RAM_END - 1, RV_RAM_BASE + 1, -2ULL };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = CALL3(h0, SBI_EXT_HSM, 0, 1, bad[i], 0);
		assert_int_equal(r.error, SBI_ERR_INVALID_ADDRESS);
		assert_int_equal(h1->state, RV_HART_STOPPED);
	}
	r = CALL3(h0, SBI_EXT_HSM, 0, 2, RV_RAM_BASE, 0);
	assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
	r = CALL3(h0, SBI_EXT_HSM, 0, 0, RV_RAM_BASE, 0);  /* itself */
	assert_int_equal(r.error, SBI_ERR_ALREADY_AVAILABLE);

	uint64_t entry = RV_RAM_BASE + 0x2000;
	h1->kick = 0;
	r = CALL3(h0, SBI_EXT_HSM, 0, 1, entry, 0xfeedULL);
	assert_int_equal(r.error, 0);
	assert_int_equal(h1->state, RV_HART_STARTED);
	assert_int_equal(h1->pc, entry);
	assert_int_equal(h1->priv, RV_PRIV_S);
	assert_int_equal(h1->x[10], 1);
	assert_int_equal(h1->x[11], 0xfeed);
	assert_int_equal(h1->satp, 0);
	assert_false(h1->mstatus & 2);               /* sstatus.SIE */
	assert_true(h1->kick);
	r = CALL1(h0, SBI_EXT_HSM, 2, 1);
	assert_int_equal(r.value, RV_HART_STARTED);
	r = CALL3(h0, SBI_EXT_HSM, 0, 1, entry, 0);
	assert_int_equal(r.error, SBI_ERR_ALREADY_AVAILABLE);

	/* hart 1 stops itself */
	h1->kick = 0;
	CALL0(h1, SBI_EXT_HSM, 1);
	assert_int_equal(h1->state, RV_HART_STOPPED);
	assert_true(h1->kick);
	r = CALL1(h0, SBI_EXT_HSM, 2, 1);
	assert_int_equal(r.value, RV_HART_STOPPED);

	r = CALL0(h0, SBI_EXT_HSM, 4);
	assert_int_equal(r.error, SBI_ERR_NOT_SUPPORTED);
}

static void test_suspend(void **state)
{
	struct rv_hart *h = H(state, 0);
	h->pc = RV_RAM_BASE + 0x100;
	h->kick = 0;
	struct ret r = CALL3(h, SBI_EXT_HSM, 3, SBI_HSM_SUSPEND_RET_DEFAULT,
			     0, 0);
	assert_int_equal(r.error, 0);
	assert_true(h->wfi);
	assert_true(h->kick);
	assert_int_equal(h->state, RV_HART_STARTED);
	assert_int_equal(h->pc, RV_RAM_BASE + 0x100);
	h->wfi = false;

	static const uint64_t types[] = { 1, 0x0fffffff, 0x10000000,
		0x80000001, 0x90000000, 0xffffffff };
	for (unsigned i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		r = CALL3(h, SBI_EXT_HSM, 3, types[i], RV_RAM_BASE, 0);
		assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
	}
	r = CALL3(h, SBI_EXT_HSM, 3, SBI_HSM_SUSPEND_NONRET_DEFAULT,
		  RAM_END, 0);
	assert_int_equal(r.error, SBI_ERR_INVALID_ADDRESS);
	assert_int_equal(h->pc, RV_RAM_BASE + 0x100);

	/* non-retentive: resumes at resume_addr after the caller's pc += 4 */
	h->satp = 8ULL << 60;
	h->mstatus |= 2;
	call(h, SBI_EXT_HSM, 3, SBI_HSM_SUSPEND_NONRET_DEFAULT,
	     RV_RAM_BASE + 0x4000, 0xabcd, 0, 0);
	assert_int_equal(h->pc + 4, RV_RAM_BASE + 0x4000);
	assert_int_equal(h->x[10], 0);
	assert_int_equal(h->x[11], 0xabcd);
	assert_int_equal(h->satp, 0);
	assert_false(h->mstatus & 2);
	assert_int_equal(h->priv, RV_PRIV_S);
}

static void reset_exit(struct rv_machine *m)
{
	m->exit_request = 0;
	m->exit_reason = RV_EXIT_NONE;
	m->exit_code = 0;
}

static void test_srst(void **state)
{
	struct rv_hart *h = H(state, 0);
	struct rv_machine *m = h->m;
	struct ret r = CALL2(h, SBI_EXT_SRST, 0, 3, 0);
	assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
	r = CALL2(h, SBI_EXT_SRST, 0, 0xF0000000, 0);
	assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
	r = CALL2(h, SBI_EXT_SRST, 0, 0, 2);
	assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
	r = CALL2(h, SBI_EXT_SRST, 1, 0, 0);
	assert_int_equal(r.error, SBI_ERR_NOT_SUPPORTED);
	assert_false(m->exit_request);

	h->kick = 0;
	r = CALL2(h, SBI_EXT_SRST, 0, SBI_SRST_SHUTDOWN, 0);
	assert_int_equal(r.error, 0);
	assert_true(m->exit_request);
	assert_int_equal(m->exit_reason, RV_EXIT_POWEROFF);
	assert_int_equal(m->exit_code, 0);
	assert_true(m->harts[0]->kick && m->harts[1]->kick);
	/* the first request wins */
	CALL2(h, SBI_EXT_SRST, 0, SBI_SRST_COLD_REBOOT, 0);
	assert_int_equal(m->exit_reason, RV_EXIT_POWEROFF);

	reset_exit(m);
	CALL2(h, SBI_EXT_SRST, 0, SBI_SRST_SHUTDOWN, SBI_SRST_REASON_FAILURE);
	assert_int_equal(m->exit_reason, RV_EXIT_POWEROFF);
	assert_int_equal(m->exit_code, 1);

	reset_exit(m);
	CALL2(h, SBI_EXT_SRST, 0, SBI_SRST_WARM_REBOOT, 0);
	assert_int_equal(m->exit_reason, RV_EXIT_REBOOT);
	reset_exit(m);
	CALL2(h, SBI_EXT_SRST, 0, 0xffffffff00000000ULL | SBI_SRST_COLD_REBOOT,
	      0);
	assert_int_equal(m->exit_reason, RV_EXIT_REBOOT);

	reset_exit(m);
	h->x[17] = SBI_EXT_LEGACY_SHUTDOWN;
	rv_sbi_ecall(h);
	assert_int_equal(m->exit_reason, RV_EXIT_POWEROFF);
}

static void test_dbcn(void **state)
{
	struct fixture *f = *state;
	struct rv_hart *h = H(state, 0);
	uint8_t *ram = gpa_ptr(&f->m.mem, RV_RAM_BASE, RAM_SIZE);
	memcpy(ram + 0x100, "hello", 5);

	struct ret r = CALL3(h, SBI_EXT_DBCN, 0, 5, RV_RAM_BASE + 0x100, 0);
	assert_int_equal(r.error, 0);
	assert_int_equal(r.value, 5);
	assert_int_equal(f->out_len, 5);
	assert_memory_equal(f->out, "hello", 5);

	r = CALL3(h, SBI_EXT_DBCN, 0, 0, 0, 0);       /* nothing to do */
	assert_int_equal(r.error, 0);
	assert_int_equal(r.value, 0);

	/* buffers outside RAM, straddling its end, wrapping, or above 2^64 */
	static const uint64_t bad[][3] = {
		{ 5, 0x1000, 0 },
		{ 5, RAM_END - 4, 0 },
		{ 1, RAM_END, 0 },
		{ RAM_SIZE + 1, RV_RAM_BASE, 0 },
		{ -1ULL, RV_RAM_BASE, 0 },
		{ 16, -8ULL, 0 },
		{ 5, RV_RAM_BASE, 1 },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = CALL3(h, SBI_EXT_DBCN, 0, bad[i][0], bad[i][1], bad[i][2]);
		assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
		r = CALL3(h, SBI_EXT_DBCN, 1, bad[i][0], bad[i][1], bad[i][2]);
		assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
	}
	assert_int_equal(f->out_len, 5);

	f->in = "xyz";
	r = CALL3(h, SBI_EXT_DBCN, 1, 2, RAM_END - 2, 0);
	assert_int_equal(r.error, 0);
	assert_int_equal(r.value, 2);
	assert_memory_equal(ram + RAM_SIZE - 2, "xy", 2);
	r = CALL3(h, SBI_EXT_DBCN, 1, 16, RV_RAM_BASE, 0);
	assert_int_equal(r.value, 1);
	assert_int_equal(ram[0], 'z');
	r = CALL3(h, SBI_EXT_DBCN, 1, 16, RV_RAM_BASE, 0);
	assert_int_equal(r.error, 0);
	assert_int_equal(r.value, 0);

	r = CALL1(h, SBI_EXT_DBCN, 2, 0x100 | '!');
	assert_int_equal(r.error, 0);
	assert_int_equal(f->out_len, 6);
	assert_int_equal(f->out[5], '!');
	r = CALL0(h, SBI_EXT_DBCN, 3);
	assert_int_equal(r.error, SBI_ERR_NOT_SUPPORTED);

	/* no console attached: writes vanish, reads find nothing */
	f->m.console_write = NULL;
	f->m.console_read = NULL;
	r = CALL3(h, SBI_EXT_DBCN, 0, 5, RV_RAM_BASE + 0x100, 0);
	assert_int_equal(r.value, 5);
	r = CALL3(h, SBI_EXT_DBCN, 1, 5, RV_RAM_BASE, 0);
	assert_int_equal(r.value, 0);
}

static long legacy(struct rv_hart *h, uint64_t eid, uint64_t a0)
{
	h->x[11] = 0x77;
	h->x[17] = eid;
	h->x[16] = 0;
	h->x[10] = a0;
	assert_int_equal(rv_sbi_ecall(h), 0);
	assert_int_equal(h->x[11], 0x77);         /* a1 untouched */
	return (long)h->x[10];
}

static void test_legacy(void **state)
{
	struct fixture *f = *state;
	struct rv_hart *h0 = H(state, 0), *h1 = H(state, 1);
	h1->state = RV_HART_STARTED;

	assert_int_equal(legacy(h0, SBI_EXT_LEGACY_CONSOLE_PUTCHAR, 'A'), 0);
	assert_int_equal(f->out_len, 1);
	assert_int_equal(f->out[0], 'A');
	assert_int_equal(legacy(h0, SBI_EXT_LEGACY_CONSOLE_GETCHAR, 0), -1);
	f->in = "q";
	assert_int_equal(legacy(h0, SBI_EXT_LEGACY_CONSOLE_GETCHAR, 0), 'q');
	assert_int_equal(legacy(h0, SBI_EXT_LEGACY_CONSOLE_GETCHAR, 0), -1);

	/* send_ipi: mask pointer, physical while satp is Bare */
	uint64_t mask = 0x2;
	assert_int_equal(gpa_write(&f->m.mem, RV_RAM_BASE + 0x800, &mask, 8),
			 0);
	assert_int_equal(legacy(h0, SBI_EXT_LEGACY_SEND_IPI,
				RV_RAM_BASE + 0x800), 0);
	assert_true(h1->mip & RV_MIP_SSIP);
	assert_false(h0->mip & RV_MIP_SSIP);
	assert_int_equal(legacy(h1, SBI_EXT_LEGACY_CLEAR_IPI, 0), 0);
	assert_false(h1->mip & RV_MIP_SSIP);

	assert_int_equal(legacy(h0, SBI_EXT_LEGACY_SEND_IPI, 0), 0); /* all */
	assert_true(h0->mip & RV_MIP_SSIP);
	assert_true(h1->mip & RV_MIP_SSIP);
	clear_ssip(state);

	assert_int_equal(legacy(h0, SBI_EXT_LEGACY_SEND_IPI, 0x1000),
			 SBI_ERR_INVALID_ADDRESS);
	assert_int_equal(legacy(h0, SBI_EXT_LEGACY_SEND_IPI, RAM_END - 4),
			 SBI_ERR_INVALID_ADDRESS);
	mask = 0x4;
	gpa_write(&f->m.mem, RV_RAM_BASE + 0x800, &mask, 8);
	assert_int_equal(legacy(h0, SBI_EXT_LEGACY_SEND_IPI,
				RV_RAM_BASE + 0x800), SBI_ERR_INVALID_PARAM);
	assert_int_equal(legacy(h0, SBI_EXT_LEGACY_REMOTE_FENCE_I,
				RV_RAM_BASE + 0x800), SBI_ERR_INVALID_PARAM);
	mask = 0x3;
	gpa_write(&f->m.mem, RV_RAM_BASE + 0x800, &mask, 8);
	assert_int_equal(legacy(h0, SBI_EXT_LEGACY_REMOTE_FENCE_I,
				RV_RAM_BASE + 0x800), 0);
	assert_int_equal(legacy(h0, SBI_EXT_LEGACY_REMOTE_SFENCE_VMA,
				RV_RAM_BASE + 0x800), 0);
	assert_int_equal(legacy(h0, SBI_EXT_LEGACY_REMOTE_SFENCE_VMA_ASID,
				RV_RAM_BASE + 0x800), 0);

	/* with paging on the pointer is virtual: refused */
	h0->satp = 8ULL << 60;
	assert_int_equal(legacy(h0, SBI_EXT_LEGACY_SEND_IPI,
				RV_RAM_BASE + 0x800), SBI_ERR_NOT_SUPPORTED);
	assert_false(h1->mip & RV_MIP_SSIP);
}

/* PMU: what Linux's riscv-pmu-sbi probes before it enables user rdtime. */
static void test_pmu(void **state)
{
	struct rv_hart *h = H(state, 0);
	assert_int_equal(CALL1(h, SBI_EXT_BASE, 3, SBI_EXT_PMU).value, 1);
	struct ret r = CALL0(h, SBI_EXT_PMU, 0);
	assert_int_equal(r.error, SBI_SUCCESS);
	assert_int_equal(r.value, 3);
	r = CALL1(h, SBI_EXT_PMU, 1, 0);   /* cycle: csr 0xc00, 64 bits */
	assert_int_equal(r.error, SBI_SUCCESS);
	assert_int_equal(r.value, 0xc00 | (63 << 12));
	r = CALL1(h, SBI_EXT_PMU, 1, 2);
	assert_int_equal(r.value, 0xc02 | (63 << 12));
	assert_int_equal(CALL1(h, SBI_EXT_PMU, 1, 1).error,
			 SBI_ERR_INVALID_PARAM);   /* time is no event counter */
	assert_int_equal(CALL1(h, SBI_EXT_PMU, 1, 3).error,
			 SBI_ERR_INVALID_PARAM);
	/* config_matching(base, mask, flags, event): cycles -> 0, instret -> 2 */
	r = call(h, SBI_EXT_PMU, 2, 0, 0x7, 0, 1, 0);
	assert_int_equal(r.error, SBI_SUCCESS);
	assert_int_equal(r.value, 0);
	r = call(h, SBI_EXT_PMU, 2, 0, 0x7, 0, 2, 0);
	assert_int_equal(r.value, 2);
	r = call(h, SBI_EXT_PMU, 2, 0, 0x3, 0, 2, 0);   /* 2 not in mask */
	assert_int_equal(r.error, SBI_ERR_NOT_SUPPORTED);
	r = call(h, SBI_EXT_PMU, 2, 0, 0x7, 0, 3, 0);   /* cache refs */
	assert_int_equal(r.error, SBI_ERR_NOT_SUPPORTED);
	r = call(h, SBI_EXT_PMU, 2, 0, 0x7, 0, 0x10001, 0); /* cache type */
	assert_int_equal(r.error, SBI_ERR_NOT_SUPPORTED);
	/* start/stop accept real counters only */
	assert_int_equal(CALL3(h, SBI_EXT_PMU, 3, 0, 0x5, 0).error, 0);
	assert_int_equal(CALL3(h, SBI_EXT_PMU, 4, 0, 0x5, 0).error, 0);
	assert_int_equal(CALL3(h, SBI_EXT_PMU, 3, 0, 0x2, 0).error,
			 SBI_ERR_INVALID_PARAM);
	assert_int_equal(CALL1(h, SBI_EXT_PMU, 5, 0).error,
			 SBI_ERR_INVALID_PARAM);
	assert_int_equal(CALL0(h, SBI_EXT_PMU, 99).error,
			 SBI_ERR_NOT_SUPPORTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_base, setup, teardown),
		cmocka_unit_test_setup_teardown(test_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rfence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hsm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_suspend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_srst, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dbcn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_legacy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pmu, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
