/* SBI PMU extension (SBI 2.0 §11), the minimum Linux's perf driver needs.
 *
 * Why it exists: Linux only sets scounteren.TM (letting user space execute
 * rdtime, which the vDSO's clock_gettime uses) from its SBI PMU driver.
 * Without this extension every clock_gettime() in user space would trap.
 * The counters offered are the architectural cycle and instret CSRs
 * (counter 0 and 2; 1 is `time`, not an event counter); there are no
 * firmware counters and no overflow interrupts (no Sscofpmf). */
#include "sbi.h"

#include "engine/rv64/hart.h"

#define PMU_NUM_COUNTERS 3
#define CSR_CYCLE   0xc00
#define CSR_INSTRET 0xc02

/* config_matching flags (§11.8) */
#define CFG_FLAG_SKIP_MATCH (1u << 0)

/* hardware general events: type 0 (event_idx[19:16]), code [15:0] */
#define EV_CPU_CYCLES   1
#define EV_INSTRUCTIONS 2

static bool counter_valid(uint64_t idx)
{
	return idx == 0 || idx == 2;
}

/* The counter index in [base, base+64) selected by mask that counts
 * event_idx, or -1. */
static long match(uint64_t base, uint64_t mask, uint64_t event_idx)
{
	unsigned type = (event_idx >> 16) & 0xf, code = event_idx & 0xffff;
	uint64_t want;
	if (type != 0)
		return -1;
	if (code == EV_CPU_CYCLES)
		want = 0;
	else if (code == EV_INSTRUCTIONS)
		want = 2;
	else
		return -1;
	if (want < base || want - base >= 64 || !(mask >> (want - base) & 1))
		return -1;
	return (long)want;
}

long rv_sbi_pmu(struct rv_hart *h, uint32_t fid, const uint64_t *a,
		long *value)
{
	*value = 0;
	switch (fid) {
	case 0: /* num_counters */
		*value = PMU_NUM_COUNTERS;
		return SBI_SUCCESS;
	case 1: /* counter_get_info: csr[11:0], width-1 [17:12], type hw */
		if (!counter_valid(a[0]))
			return SBI_ERR_INVALID_PARAM;
		*value = (a[0] == 0 ? CSR_CYCLE : CSR_INSTRET) | (63L << 12);
		return SBI_SUCCESS;
	case 2: { /* counter_config_matching */
		long idx;
		if (a[2] & CFG_FLAG_SKIP_MATCH)
			idx = counter_valid(a[0]) && (a[1] & 1) ? (long)a[0] : -1;
		else
			idx = match(a[0], a[1], a[3]);
		if (idx < 0)
			return SBI_ERR_NOT_SUPPORTED;
		*value = idx;
		return SBI_SUCCESS;
	}
	case 3: /* counter_start */
	case 4: /* counter_stop */
		/* Free-running counters: perf works on deltas, so starting and
		 * stopping need no state.  Unknown counters are refused. */
		for (unsigned i = 0; i < 64; i++)
			if ((a[1] >> i & 1) && !counter_valid(a[0] + i))
				return SBI_ERR_INVALID_PARAM;
		return SBI_SUCCESS;
	case 5: /* counter_fw_read: no firmware counters */
	case 6:
		return SBI_ERR_INVALID_PARAM;
	default:
		return SBI_ERR_NOT_SUPPORTED;
	}
}
