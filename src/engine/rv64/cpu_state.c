/* A hart's architectural state as a versioned byte image, for the engine
 * interface's vcpu_save/vcpu_load (vmm/engine.h): every register and CSR
 * of priv 1.12 that this hart implements, the privilege level, the LR/SC
 * reservation, the counter offsets, the HSM state and WFI.  TLBs and
 * decoded blocks are rebuilt on demand and are not part of it.
 *
 * The image is a fixed little-endian layout behind a header (magic,
 * version, length); a field added later means a new version, and a loader
 * refuses versions it does not know rather than guess. */
#include "cpu_internal.h"

#include <string.h>

#include "engine.h"

#define STATE_MAGIC 0x34365652u /* "RV64" */
#define STATE_VERSION 1u

struct rv_state_v1 {
	uint32_t magic, version, len, hartid;
	uint64_t x[32], pc, f[32];
	uint32_t fflags, frm, priv, state;
	uint64_t mstatus, misa, medeleg, mideleg, mie, mip;
	uint64_t mtvec, mscratch, mepc, mcause, mtval, mcounteren, menvcfg;
	uint64_t mcountinhibit;
	uint64_t stvec, sscratch, sepc, scause, stval, satp, scounteren;
	uint64_t senvcfg, stimecmp;
	uint64_t instret;
	uint64_t pmpcfg[16], pmpaddr[64];
	uint64_t reservation, resv_val;
	uint32_t resv_size, flags;  /* flags: bit 0 wfi, 1 seip_sw, 2 seip_hw */
	uint64_t cycle_off, instret_off, cycle_frozen, instret_frozen;
};

_Static_assert(sizeof(struct rv_state_v1) == RV_STATE_SIZE,
	       "RV_STATE_SIZE (engine.h) is the v1 image size");

#define COPY_FIELDS(dst, src)                                              \
	do {                                                               \
		memcpy((dst)->x, (src)->x, sizeof((dst)->x));              \
		memcpy((dst)->f, (src)->f, sizeof((dst)->f));              \
		memcpy((dst)->pmpcfg, (src)->pmpcfg, sizeof((dst)->pmpcfg)); \
		memcpy((dst)->pmpaddr, (src)->pmpaddr,                     \
		       sizeof((dst)->pmpaddr));                            \
		(dst)->pc = (src)->pc;                                     \
		(dst)->fflags = (src)->fflags;                             \
		(dst)->frm = (src)->frm;                                   \
		(dst)->mstatus = (src)->mstatus;                           \
		(dst)->misa = (src)->misa;                                 \
		(dst)->medeleg = (src)->medeleg;                           \
		(dst)->mideleg = (src)->mideleg;                           \
		(dst)->mie = (src)->mie;                                   \
		(dst)->mtvec = (src)->mtvec;                               \
		(dst)->mscratch = (src)->mscratch;                         \
		(dst)->mepc = (src)->mepc;                                 \
		(dst)->mcause = (src)->mcause;                             \
		(dst)->mtval = (src)->mtval;                               \
		(dst)->mcounteren = (src)->mcounteren;                     \
		(dst)->menvcfg = (src)->menvcfg;                           \
		(dst)->mcountinhibit = (src)->mcountinhibit;               \
		(dst)->stvec = (src)->stvec;                               \
		(dst)->sscratch = (src)->sscratch;                         \
		(dst)->sepc = (src)->sepc;                                 \
		(dst)->scause = (src)->scause;                             \
		(dst)->stval = (src)->stval;                               \
		(dst)->satp = (src)->satp;                                 \
		(dst)->scounteren = (src)->scounteren;                     \
		(dst)->senvcfg = (src)->senvcfg;                           \
		(dst)->stimecmp = (src)->stimecmp;                         \
		(dst)->instret = (src)->instret;                           \
		(dst)->reservation = (src)->reservation;                   \
	} while (0)

int rv_state_save(const struct rv_hart *h, void *buf, size_t len)
{
	if (len < sizeof(struct rv_state_v1))
		return -ENOSPC;
	const struct rv_cpu *c = h->priv_;
	struct rv_state_v1 s;
	memset(&s, 0, sizeof(s));
	s.magic = STATE_MAGIC;
	s.version = STATE_VERSION;
	s.len = sizeof(s);
	s.hartid = h->hartid;
	COPY_FIELDS(&s, h);
	s.priv = (uint32_t)h->priv;
	s.state = (uint32_t)h->state;
	s.mip = __atomic_load_n(&h->mip, __ATOMIC_ACQUIRE);
	s.resv_val = c->resv_val;
	s.resv_size = c->resv_size;
	s.flags = (h->wfi ? 1u : 0) | (c->seip_sw ? 2u : 0) |
		  (c->seip_hw ? 4u : 0);
	s.cycle_off = c->cycle_off;
	s.instret_off = c->instret_off;
	s.cycle_frozen = c->cycle_frozen;
	s.instret_frozen = c->instret_frozen;
	memcpy(buf, &s, sizeof(s));
	return (int)sizeof(s);
}

int rv_state_load(struct rv_hart *h, const void *buf, size_t len,
		  struct err *errp)
{
	struct rv_state_v1 s;
	if (len < 12)
		return err_set(errp, EINVAL, "hart %u state: %zu bytes, too "
			       "short for a header", h->hartid, len);
	memcpy(&s, buf, 12);
	if (s.magic != STATE_MAGIC)
		return err_set(errp, EINVAL, "hart %u state: not an RV64 "
			       "interpreter image (magic %#x)", h->hartid,
			       s.magic);
	if (s.version != STATE_VERSION || s.len != sizeof(s) ||
	    len < sizeof(s))
		return err_set(errp, EINVAL, "hart %u state: version %u of %u "
			       "bytes; this ringvm reads version %u of %zu",
			       h->hartid, s.version, s.len, STATE_VERSION,
			       sizeof(s));
	memcpy(&s, buf, sizeof(s));
	if (s.hartid != h->hartid)
		return err_set(errp, EINVAL, "state of hart %u loaded into "
			       "hart %u", s.hartid, h->hartid);
	if ((s.priv != RV_PRIV_U && s.priv != RV_PRIV_S &&
	     s.priv != RV_PRIV_M) || s.state > RV_HART_SUSPENDED ||
	    s.x[0] != 0 || (s.resv_size != 0 && s.resv_size != 4 &&
			    s.resv_size != 8) || s.frm > 7 || s.fflags > 31)
		return err_set(errp, EINVAL, "hart %u state: invalid register "
			       "values", h->hartid);

	struct rv_cpu *c = h->priv_;
	COPY_FIELDS(h, &s);
	h->priv = (int)s.priv;
	h->state = (enum rv_hart_state)s.state;
	__atomic_store_n(&h->mip, s.mip, __ATOMIC_RELEASE);
	h->wfi = s.flags & 1;
	c->resv_val = s.resv_val;
	c->resv_size = s.resv_size;
	c->seip_sw = s.flags & 2;
	c->seip_hw = s.flags & 4;
	c->cycle_off = s.cycle_off;
	c->instret_off = s.instret_off;
	c->cycle_frozen = s.cycle_frozen;
	c->instret_frozen = s.instret_frozen;
	/* Translations and decoded code of the old state are void. */
	rv_hart_flush_tlb(h);
	rv_hart_flush_code(h);
	rv_mmu_set_mode(h);
	return 0;
}
