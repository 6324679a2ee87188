#include "sbi.h"

#include <stdbool.h>
#include <stddef.h>

#include "core/guest_mem.h"

#define A0 10
#define SATP_MODE_SHIFT 60
#define SSTATUS_SIE (1ULL << 1)
#define ALL_HARTS UINT64_MAX   /* hart_mask_base == -1 (SBI 2.0 §3) */

struct sbiret {
	long error;
	long value;
	bool redirected;   /* a0/a1 already hold the resume state */
};

static struct sbiret ret(long error, long value)
{
	return (struct sbiret){ error, value, false };
}

/* ---- hart masks (SBI 2.0 §3: hart_mask + hart_mask_base) ---- */

/* Validates every hart id first so that a bad mask has no partial effect
 * (SBI 2.0 §7.1: INVALID_PARAM if any id is invalid). */
static long for_each_hart(struct rv_machine *m, uint64_t mask, uint64_t base,
			  void (*fn)(struct rv_hart *t, void *arg), void *arg)
{
	uint64_t sel;
	if (base == ALL_HARTS) {
		sel = m->nharts >= 64 ? UINT64_MAX : (1ULL << m->nharts) - 1;
	} else {
		unsigned top = mask ? 63 - __builtin_clzll(mask) : 0;
		if (mask && (base >= m->nharts || top >= m->nharts - base))
			return SBI_ERR_INVALID_PARAM;
		sel = mask << base;
	}
	for (unsigned i = 0; i < m->nharts && i < RV_MAX_HARTS; i++)
		if ((sel >> i) & 1 && m->harts[i])
			fn(m->harts[i], arg);
	return SBI_SUCCESS;
}

static void do_ipi(struct rv_hart *t, void *arg)
{
	if (t->state != RV_HART_STOPPED)
		rv_hart_set_mip(t, RV_MIP_SSIP, 1);
}

static void do_fence_i(struct rv_hart *t, void *arg)
{
	rv_hart_flush_code(t);
}

static void do_sfence(struct rv_hart *t, void *arg)
{
	/* Whole-TLB flush: always a correct (if coarse) answer to a ranged
	 * or ASID-specific request. */
	rv_hart_flush_tlb(t);
}

/* ---- TIME ---- */

static void set_timer(struct rv_hart *h, uint64_t when)
{
	h->stimecmp = when;
	rv_hart_update_timer(h, rv_mtime(h->m));
}

/* ---- Base (§4) ---- */

static bool ext_available(uint64_t eid)
{
	switch (eid) {
	case SBI_EXT_LEGACY_SET_TIMER ... SBI_EXT_LEGACY_SHUTDOWN:
	case SBI_EXT_BASE: case SBI_EXT_TIME: case SBI_EXT_IPI:
	case SBI_EXT_RFNC: case SBI_EXT_HSM: case SBI_EXT_SRST:
	case SBI_EXT_DBCN: case SBI_EXT_PMU:
		return true;
	}
	return false;
}

static struct sbiret base(struct rv_hart *h, uint32_t fid, const uint64_t *a)
{
	switch (fid) {
	case 0: return ret(SBI_SUCCESS, SBI_SPEC_VERSION);
	case 1: return ret(SBI_SUCCESS, SBI_IMPL_ID);
	case 2: return ret(SBI_SUCCESS, SBI_IMPL_VERSION);
	case 3: return ret(SBI_SUCCESS, ext_available(a[0]));
	case 4: case 5: case 6:   /* mvendorid, marchid, mimpid */
		return ret(SBI_SUCCESS, 0);
	}
	return ret(SBI_ERR_NOT_SUPPORTED, 0);
}

/* ---- HSM (§9) ---- */

static bool valid_entry(const struct rv_machine *m, uint64_t addr)
{
	/* IALIGN is 16 with the C extension; one parcel must be RAM. */
	return !(addr & 1) && gpa_ptr(&m->mem, addr, 2) != NULL;
}

static struct rv_hart *hart_by_id(struct rv_machine *m, uint64_t id)
{
	return id < m->nharts && id < RV_MAX_HARTS ? m->harts[id] : NULL;
}

static struct sbiret hart_start(struct rv_hart *h, const uint64_t *a)
{
	struct rv_hart *t = hart_by_id(h->m, a[0]);
	if (!t)
		return ret(SBI_ERR_INVALID_PARAM, 0);
	if (t->state != RV_HART_STOPPED)
		return ret(SBI_ERR_ALREADY_AVAILABLE, 0);
	if (!valid_entry(h->m, a[1]))
		return ret(SBI_ERR_INVALID_ADDRESS, 0);
	/* §9.1: S-mode, a0 = hartid, a1 = opaque, satp = 0, SIE = 0. */
	rv_hart_reset(t, a[1], RV_PRIV_S, a[2]);
	t->state = RV_HART_STARTED;
	t->wfi = false;
	__atomic_store_n(&t->kick, 1, __ATOMIC_RELEASE);
	return ret(SBI_SUCCESS, 0);
}

static struct sbiret hart_stop(struct rv_hart *h)
{
	h->state = RV_HART_STOPPED;
	h->wfi = false;
	__atomic_store_n(&h->kick, 1, __ATOMIC_RELEASE);
	return ret(SBI_SUCCESS, 0);
}

static struct sbiret hart_suspend(struct rv_hart *h, const uint64_t *a)
{
	uint32_t type = a[0];
	if (type == SBI_HSM_SUSPEND_RET_DEFAULT) {
		/* Resumes after the ecall once an interrupt is pending, just
		 * like WFI (§9.4); the hart stays STARTED meanwhile. */
		h->wfi = true;
		__atomic_store_n(&h->kick, 1, __ATOMIC_RELEASE);
		return ret(SBI_SUCCESS, 0);
	}
	if (type != SBI_HSM_SUSPEND_NONRET_DEFAULT)
		return ret(SBI_ERR_INVALID_PARAM, 0);
	if (!valid_entry(h->m, a[1]))
		return ret(SBI_ERR_INVALID_ADDRESS, 0);
	/* Waking at once is a permitted outcome (any pending interrupt may
	 * end the suspend); the state is set by hand rather than through
	 * rv_hart_reset() because this hart is in the middle of executing.
	 * The caller's pc += 4 lands on resume_addr. */
	h->x[A0] = h->hartid;
	h->x[A0 + 1] = a[2];
	h->satp = 0;
	h->mstatus &= ~SSTATUS_SIE;
	h->priv = RV_PRIV_S;
	h->pc = a[1] - 4;
	rv_hart_flush_tlb(h);
	__atomic_store_n(&h->kick, 1, __ATOMIC_RELEASE);
	return (struct sbiret){ SBI_SUCCESS, 0, true };
}

static struct sbiret hsm(struct rv_hart *h, uint32_t fid, const uint64_t *a)
{
	switch (fid) {
	case 0: return hart_start(h, a);
	case 1: return hart_stop(h);
	case 2: {
		struct rv_hart *t = hart_by_id(h->m, a[0]);
		if (!t)
			return ret(SBI_ERR_INVALID_PARAM, 0);
		return ret(SBI_SUCCESS, t->state);
	}
	case 3: return hart_suspend(h, a);
	}
	return ret(SBI_ERR_NOT_SUPPORTED, 0);
}

/* ---- SRST (§10) ---- */

static struct sbiret srst(struct rv_hart *h, uint32_t fid, const uint64_t *a)
{
	if (fid != 0)
		return ret(SBI_ERR_NOT_SUPPORTED, 0);
	uint32_t type = a[0], reason = a[1];
	if (reason != SBI_SRST_REASON_NONE && reason != SBI_SRST_REASON_FAILURE)
		return ret(SBI_ERR_INVALID_PARAM, 0);
	switch (type) {
	case SBI_SRST_SHUTDOWN:
		rv_machine_request_exit(h->m, RV_EXIT_POWEROFF,
					reason == SBI_SRST_REASON_FAILURE);
		return ret(SBI_SUCCESS, 0);
	case SBI_SRST_COLD_REBOOT:
	case SBI_SRST_WARM_REBOOT:
		rv_machine_request_exit(h->m, RV_EXIT_REBOOT, 0);
		return ret(SBI_SUCCESS, 0);
	}
	return ret(SBI_ERR_INVALID_PARAM, 0);
}

/* ---- DBCN (§12) ---- */

static void console_put(struct rv_machine *m, const uint8_t *buf, size_t len)
{
	if (m->console_write && len)
		m->console_write(m->console_opaque, buf, len);
}

static struct sbiret dbcn(struct rv_hart *h, uint32_t fid, const uint64_t *a)
{
	struct rv_machine *m = h->m;
	if (fid == 2) {
		uint8_t c = a[0];
		console_put(m, &c, 1);
		return ret(SBI_SUCCESS, 0);
	}
	if (fid > 2)
		return ret(SBI_ERR_NOT_SUPPORTED, 0);
	uint64_t len = a[0];
	/* On RV64 base_addr_hi holds address bits 64 and up. */
	if (a[2] != 0)
		return ret(SBI_ERR_INVALID_PARAM, 0);
	if (len == 0)
		return ret(SBI_SUCCESS, 0);
	uint8_t *buf = gpa_ptr(&m->mem, a[1], len);
	if (!buf)
		return ret(SBI_ERR_INVALID_PARAM, 0);
	if (fid == 0) {
		console_put(m, buf, len);
		return ret(SBI_SUCCESS, (long)len);
	}
	uint64_t n = 0;
	while (n < len && m->console_read) {
		int c = m->console_read(m->console_opaque);
		if (c < 0)
			break;
		buf[n++] = (uint8_t)c;
	}
	return ret(SBI_SUCCESS, (long)n);
}

/* ---- legacy extensions (§5) ---- */

/* The mask pointer is a guest virtual address; without an MMU walker here
 * it is only usable while translation is off (satp.MODE == Bare). */
static long legacy_mask(struct rv_hart *h, uint64_t ptr, uint64_t *mask,
			uint64_t *base)
{
	if (ptr == 0) {
		*mask = 0;
		*base = ALL_HARTS;
		return SBI_SUCCESS;
	}
	if (h->satp >> SATP_MODE_SHIFT)
		return SBI_ERR_NOT_SUPPORTED;
	if (gpa_read(&h->m->mem, ptr, mask, sizeof(*mask)))
		return SBI_ERR_INVALID_ADDRESS;
	*base = 0;
	return SBI_SUCCESS;
}

static long legacy(struct rv_hart *h, uint32_t eid, const uint64_t *a)
{
	struct rv_machine *m = h->m;
	uint64_t mask, hbase;
	long e;

	switch (eid) {
	case SBI_EXT_LEGACY_SET_TIMER:
		set_timer(h, a[0]);
		return SBI_SUCCESS;
	case SBI_EXT_LEGACY_CONSOLE_PUTCHAR: {
		uint8_t c = a[0];
		console_put(m, &c, 1);
		return SBI_SUCCESS;
	}
	case SBI_EXT_LEGACY_CONSOLE_GETCHAR: {
		int c = m->console_read ? m->console_read(m->console_opaque)
					: -1;
		return c < 0 ? -1 : c;
	}
	case SBI_EXT_LEGACY_CLEAR_IPI:
		rv_hart_set_mip(h, RV_MIP_SSIP, 0);
		return SBI_SUCCESS;
	case SBI_EXT_LEGACY_SHUTDOWN:
		rv_machine_request_exit(m, RV_EXIT_POWEROFF, 0);
		return SBI_SUCCESS;
	}
	e = legacy_mask(h, a[0], &mask, &hbase);
	if (e)
		return e;
	switch (eid) {
	case SBI_EXT_LEGACY_SEND_IPI:
		return for_each_hart(m, mask, hbase, do_ipi, NULL);
	case SBI_EXT_LEGACY_REMOTE_FENCE_I:
		return for_each_hart(m, mask, hbase, do_fence_i, NULL);
	default:   /* remote_sfence_vma and its ASID variant */
		return for_each_hart(m, mask, hbase, do_sfence, NULL);
	}
}

/* ---- dispatch ---- */

static struct sbiret dispatch(struct rv_hart *h, uint32_t eid, uint32_t fid,
			      const uint64_t *a)
{
	struct rv_machine *m = h->m;

	switch (eid) {
	case SBI_EXT_BASE:
		return base(h, fid, a);
	case SBI_EXT_TIME:
		if (fid != 0)
			break;
		set_timer(h, a[0]);
		return ret(SBI_SUCCESS, 0);
	case SBI_EXT_IPI:
		if (fid != 0)
			break;
		return ret(for_each_hart(m, a[0], a[1], do_ipi, NULL), 0);
	case SBI_EXT_RFNC:
		switch (fid) {
		case 0:
			return ret(for_each_hart(m, a[0], a[1], do_fence_i,
						 NULL), 0);
		case 1: case 2:
			return ret(for_each_hart(m, a[0], a[1], do_sfence,
						 NULL), 0);
		}
		break;   /* 3-6: hypervisor fences, no H extension */
	case SBI_EXT_HSM:
		return hsm(h, fid, a);
	case SBI_EXT_SRST:
		return srst(h, fid, a);
	case SBI_EXT_DBCN:
		return dbcn(h, fid, a);
	case SBI_EXT_PMU: {
		long value;
		long error = rv_sbi_pmu(h, fid, a, &value);
		return ret(error, value);
	}
	}
	return ret(SBI_ERR_NOT_SUPPORTED, 0);
}

int rv_sbi_ecall(struct rv_hart *h)
{
	/* EID and FID are 32-bit (§3); Linux passes them sign-extended from
	 * int, so only the low halves mean anything. */
	uint32_t eid = h->x[A0 + 7], fid = h->x[A0 + 6];
	const uint64_t *a = &h->x[A0];
	uint64_t args[6];
	for (int i = 0; i < 6; i++)
		args[i] = a[i];

	if (eid <= SBI_EXT_LEGACY_SHUTDOWN) {
		h->x[A0] = (uint64_t)legacy(h, eid, args);
		return 0;
	}
	struct sbiret r = dispatch(h, eid, fid, args);
	if (r.redirected)
		return 0;
	h->x[A0] = (uint64_t)r.error;
	h->x[A0 + 1] = (uint64_t)r.value;
	return 0;
}
