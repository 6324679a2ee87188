/* Control and status registers (Zicsr; priv 1.12 ch. 2 access rules,
 * ch. 3 machine CSRs, ch. 4 supervisor CSRs; Zicntr; Sstc; Zicbom/Zicboz
 * and Svpbmt envcfg bits; F/D fcsr).
 *
 * Every access goes through the same checks: the privilege encoded in
 * csr[9:8], read-only csr[11:10] == 3, counter enables, TVM for satp,
 * FS for the FP CSRs.  Anything unknown is an illegal instruction, so a
 * guest probing for a feature (OpenSBI does) sees it as absent. */
#include "cpu_internal.h"

/* sstatus is a view of mstatus (§4.1.1). */
#define SSTATUS_MASK (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | \
		      MSTATUS_FS | MSTATUS_SUM | MSTATUS_MXR | \
		      MSTATUS_UXL | MSTATUS_SD)
#define MSTATUS_WMASK (MSTATUS_SIE | MSTATUS_MIE | MSTATUS_SPIE | \
		       MSTATUS_MPIE | MSTATUS_SPP | MSTATUS_MPP | \
		       MSTATUS_FS | MSTATUS_MPRV | MSTATUS_SUM | \
		       MSTATUS_MXR | MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR)
#define SSTATUS_WMASK (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | \
		       MSTATUS_FS | MSTATUS_SUM | MSTATUS_MXR)

#define MIP_S_BITS (RV_MIP_SSIP | RV_MIP_STIP | RV_MIP_SEIP)
#define MIE_MASK (MIP_S_BITS | RV_MIP_MSIP | RV_MIP_MTIP | RV_MIP_MEIP)
/* Exceptions that may be delegated: all defined causes but ecall from M
 * (medeleg[11] is read-only 0, §3.1.8) and the reserved 10 and 14. */
#define MEDELEG_MASK 0xb3ffULL
#define MENVCFG_MASK (ENVCFG_FIOM | ENVCFG_CBIE | ENVCFG_CBCFE | \
		      ENVCFG_CBZE | ENVCFG_PBMTE | ENVCFG_STCE)
#define SENVCFG_MASK (ENVCFG_FIOM | ENVCFG_CBIE | ENVCFG_CBCFE | ENVCFG_CBZE)
#define COUNTINHIBIT_MASK 0xfffffffdULL  /* TM (bit 1) does not exist */
#define INHIBIT_CY 1ULL
#define INHIBIT_IR 4ULL

enum {
	CSR_FFLAGS = 0x001, CSR_FRM = 0x002, CSR_FCSR = 0x003,
	CSR_SSTATUS = 0x100, CSR_SIE = 0x104, CSR_STVEC = 0x105,
	CSR_SCOUNTEREN = 0x106, CSR_SENVCFG = 0x10a,
	CSR_SSCRATCH = 0x140, CSR_SEPC = 0x141, CSR_SCAUSE = 0x142,
	CSR_STVAL = 0x143, CSR_SIP = 0x144, CSR_STIMECMP = 0x14d,
	CSR_SATP = 0x180,
	CSR_MSTATUS = 0x300, CSR_MISA = 0x301, CSR_MEDELEG = 0x302,
	CSR_MIDELEG = 0x303, CSR_MIE = 0x304, CSR_MTVEC = 0x305,
	CSR_MCOUNTEREN = 0x306, CSR_MENVCFG = 0x30a,
	CSR_MCOUNTINHIBIT = 0x320,
	CSR_MHPMEVENT3 = 0x323, CSR_MHPMEVENT31 = 0x33f,
	CSR_MSCRATCH = 0x340, CSR_MEPC = 0x341, CSR_MCAUSE = 0x342,
	CSR_MTVAL = 0x343, CSR_MIP = 0x344,
	CSR_PMPCFG0 = 0x3a0, CSR_PMPCFG15 = 0x3af,
	CSR_PMPADDR0 = 0x3b0, CSR_PMPADDR63 = 0x3ef,
	CSR_MCYCLE = 0xb00, CSR_MINSTRET = 0xb02,
	CSR_TSELECT = 0x7a0, CSR_TDATA1 = 0x7a1, CSR_TDATA2 = 0x7a2,
	CSR_TDATA3 = 0x7a3, CSR_TINFO = 0x7a4,
	CSR_MHPMCOUNTER3 = 0xb03, CSR_MHPMCOUNTER31 = 0xb1f,
	CSR_CYCLE = 0xc00, CSR_TIME = 0xc01, CSR_INSTRET = 0xc02,
	CSR_HPMCOUNTER3 = 0xc03, CSR_HPMCOUNTER31 = 0xc1f,
	CSR_MVENDORID = 0xf11, CSR_MARCHID = 0xf12, CSR_MIMPID = 0xf13,
	CSR_MHARTID = 0xf14, CSR_MCONFIGPTR = 0xf15,
};

uint64_t rv_mstatus_read(const struct rv_hart *h)
{
	uint64_t s = h->mstatus & ~MSTATUS_SD;
	if ((s & MSTATUS_FS) == MSTATUS_FS)
		s |= MSTATUS_SD;
	return s;
}

/* Instructions retired before the one executing.  CSR instructions end
 * their block, and a block's count is added when it starts, so the
 * executing instruction is the last one counted. */
static uint64_t retired(const struct rv_hart *h)
{
	return h->instret - 1;
}

static uint64_t counter_read(const struct rv_hart *h, bool cycle)
{
	const struct rv_cpu *c = rv_cpu(h);
	uint64_t inh = cycle ? INHIBIT_CY : INHIBIT_IR;
	if (h->mcountinhibit & inh)
		return cycle ? c->cycle_frozen : c->instret_frozen;
	return retired(h) + (cycle ? c->cycle_off : c->instret_off);
}

/* A written counter reads back as `v` in the next instruction: the
 * writing instruction's own increment is suppressed (§3.1.10). */
static void counter_write(struct rv_hart *h, bool cycle, uint64_t v)
{
	struct rv_cpu *c = rv_cpu(h);
	uint64_t inh = cycle ? INHIBIT_CY : INHIBIT_IR;
	if (h->mcountinhibit & inh) {
		*(cycle ? &c->cycle_frozen : &c->instret_frozen) = v;
		return;
	}
	*(cycle ? &c->cycle_off : &c->instret_off) = v - (retired(h) + 1);
}

static void countinhibit_write(struct rv_hart *h, uint64_t v)
{
	uint64_t old = h->mcountinhibit;
	v &= COUNTINHIBIT_MASK;
	for (int cy = 0; cy < 2; cy++) {
		uint64_t bit = cy ? INHIBIT_CY : INHIBIT_IR;
		if ((old ^ v) & bit) {
			uint64_t now = counter_read(h, cy);
			h->mcountinhibit = (h->mcountinhibit & ~bit) | (v & bit);
			counter_write(h, cy, now);
		}
	}
	h->mcountinhibit = v;
}

/* Counter gating by mcounteren/scounteren (§3.1.11, §4.1.5). */
static bool counter_allowed(const struct rv_hart *h, unsigned idx)
{
	if (h->priv < RV_PRIV_M && !((h->mcounteren >> idx) & 1))
		return false;
	if (h->priv == RV_PRIV_U && !((h->scounteren >> idx) & 1))
		return false;
	return true;
}

/* Sstc: stimecmp exists below M only with menvcfg.STCE and
 * mcounteren.TM. */
static bool stimecmp_allowed(const struct rv_hart *h)
{
	return h->priv == RV_PRIV_M ||
	       ((h->menvcfg & ENVCFG_STCE) && (h->mcounteren & 2));
}

static uint64_t mip_read(const struct rv_hart *h)
{
	return __atomic_load_n(&h->mip, __ATOMIC_RELAXED) & ~RV_MIP_PRIVATE;
}

static bool stce_active(const struct rv_hart *h)
{
	return (h->menvcfg & ENVCFG_STCE) || h->m->sbi;
}

int rv_csr_read(struct rv_hart *h, unsigned csr, uint64_t *val)
{
	uint64_t v;
	if (((csr >> 8) & 3) > (unsigned)h->priv)
		return -1;
	switch (csr) {
	case CSR_FFLAGS: case CSR_FRM: case CSR_FCSR:
		if (!(h->mstatus & MSTATUS_FS))
			return -1;
		v = csr == CSR_FFLAGS ? h->fflags :
		    csr == CSR_FRM ? h->frm : (h->frm << 5 | h->fflags);
		break;
	case CSR_CYCLE: case CSR_TIME: case CSR_INSTRET:
		if (!counter_allowed(h, csr & 31))
			return -1;
		v = csr == CSR_TIME ? rv_mtime(h->m) :
		    counter_read(h, csr == CSR_CYCLE);
		break;
	case CSR_HPMCOUNTER3 ... CSR_HPMCOUNTER31:
		if (!counter_allowed(h, csr & 31))
			return -1;
		v = 0;
		break;
	case CSR_SSTATUS: v = rv_mstatus_read(h) & SSTATUS_MASK; break;
	case CSR_SIE: v = h->mie & h->mideleg; break;
	case CSR_SIP: v = mip_read(h) & h->mideleg; break;
	case CSR_STVEC: v = h->stvec; break;
	case CSR_SCOUNTEREN: v = h->scounteren; break;
	case CSR_SENVCFG: v = h->senvcfg; break;
	case CSR_SSCRATCH: v = h->sscratch; break;
	case CSR_SEPC: v = h->sepc; break;
	case CSR_SCAUSE: v = h->scause; break;
	case CSR_STVAL: v = h->stval; break;
	case CSR_STIMECMP:
		if (!stimecmp_allowed(h))
			return -1;
		v = h->stimecmp;
		break;
	case CSR_SATP:
		if (h->priv == RV_PRIV_S && (h->mstatus & MSTATUS_TVM))
			return -1;
		v = h->satp;
		break;
	case CSR_MSTATUS: v = rv_mstatus_read(h); break;
	case CSR_MISA: v = h->misa; break;
	case CSR_MEDELEG: v = h->medeleg; break;
	case CSR_MIDELEG: v = h->mideleg; break;
	case CSR_MIE: v = h->mie; break;
	case CSR_MTVEC: v = h->mtvec; break;
	case CSR_MCOUNTEREN: v = h->mcounteren; break;
	case CSR_MENVCFG: v = h->menvcfg; break;
	case CSR_MCOUNTINHIBIT: v = h->mcountinhibit; break;
	case CSR_MHPMEVENT3 ... CSR_MHPMEVENT31: v = 0; break;
	case CSR_MSCRATCH: v = h->mscratch; break;
	case CSR_MEPC: v = h->mepc; break;
	case CSR_MCAUSE: v = h->mcause; break;
	case CSR_MTVAL: v = h->mtval; break;
	case CSR_MIP: v = mip_read(h); break;
	case CSR_PMPCFG0 ... CSR_PMPCFG15:
		if (csr & 1) /* odd pmpcfg do not exist on RV64 */
			return -1;
		v = h->pmpcfg[csr - CSR_PMPCFG0];
		break;
	case CSR_PMPADDR0 ... CSR_PMPADDR63:
		v = h->pmpaddr[csr - CSR_PMPADDR0];
		break;
	case CSR_MCYCLE: v = counter_read(h, true); break;
	case CSR_MINSTRET: v = counter_read(h, false); break;
	case CSR_MHPMCOUNTER3 ... CSR_MHPMCOUNTER31: v = 0; break;
	case CSR_MVENDORID: case CSR_MARCHID: case CSR_MIMPID:
	case CSR_MCONFIGPTR:
		v = 0;
		break;
	case CSR_MHARTID: v = h->hartid; break;
	/* Sdtrig with zero triggers (debug spec 1.0 §5.7): tselect 0,
	 * tdata1 of type 0 ("no trigger"), tinfo = only type 0. */
	case CSR_TSELECT: case CSR_TDATA1: case CSR_TDATA2: case CSR_TDATA3:
		v = 0;
		break;
	case CSR_TINFO: v = 1; break;
	default:
		return -1;
	}
	*val = v;
	return 0;
}

static uint64_t tvec_legal(uint64_t v)
{
	/* MODE >= 2 is reserved: fall back to direct. */
	return (v & 3) >= 2 ? v & ~3ULL : v;
}

static void mstatus_write(struct rv_hart *h, uint64_t v, uint64_t mask)
{
	uint64_t old = h->mstatus;
	uint64_t s = (old & ~mask) | (v & mask);
	/* MPP is WARL over {U, S, M}: 2 (H) keeps the old value. */
	if (((s & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT) == 2)
		s = (s & ~MSTATUS_MPP) | (old & MSTATUS_MPP);
	s = (s & ~(MSTATUS_UXL | MSTATUS_SXL | MSTATUS_SD)) |
	    MSTATUS_UXL_64 | MSTATUS_SXL_64;
	h->mstatus = s;
	/* MXR changes what a loaded TLB entry may allow: flush; SUM, MPRV
	 * and MPP only select another TLB set. */
	if ((old ^ s) & MSTATUS_MXR)
		rv_tlb_flush_va(h, NULL);
	rv_mmu_set_mode(h);
}

static void satp_write(struct rv_hart *h, uint64_t v)
{
	unsigned mode = (unsigned)(v >> SATP_MODE_SHIFT);
	/* An unsupported MODE makes the whole write have no effect
	 * (§4.1.11). */
	if (mode != SATP_MODE_BARE && mode != SATP_MODE_SV39 &&
	    mode != SATP_MODE_SV48)
		return;
	h->satp = v & ((0xfULL << SATP_MODE_SHIFT) | SATP_ASID_MASK |
		       SATP_PPN_MASK);
	/* ASIDs are not tracked: every satp write starts afresh. */
	rv_tlb_flush_va(h, NULL);
	rv_mmu_set_mode(h);
}

static uint64_t envcfg_legal(uint64_t v, uint64_t mask)
{
	v &= mask;
	/* CBIE = 10 is reserved: treat as 00. */
	if (((v & ENVCFG_CBIE) >> ENVCFG_CBIE_SHIFT) == 2)
		v &= ~ENVCFG_CBIE;
	return v;
}

static void mip_write(struct rv_hart *h, uint64_t v, uint64_t mask)
{
	/* STIP is owned by stimecmp while Sstc is active (Sstc §1). */
	if (stce_active(h))
		mask &= ~RV_MIP_STIP;
	/* Software writes its own SEIP input; the PLIC's stays (§3.1.9).
	 * Devices change other bits of mip concurrently, hence one atomic
	 * update of just the written bits. */
	if (mask & RV_MIP_SEIP) {
		mask = (mask & ~RV_MIP_SEIP) | RV_MIP_SEIP_SW;
		if (v & RV_MIP_SEIP)
			v |= RV_MIP_SEIP_SW;
	}
	rv_mip_update(h, mask & ~v, mask & v, NULL);
}
int rv_csr_write(struct rv_hart *h, unsigned csr, uint64_t v)
{
	uint64_t dummy;
	/* Same existence and privilege rules as a read, then the
	 * read-only range (§2.1). */
	if (rv_csr_read(h, csr, &dummy))
		return -1;
	if ((csr >> 10) == 3)
		return -1;
	switch (csr) {
	case CSR_FFLAGS: h->fflags = v & 0x1f; rv_fs_dirty(h); break;
	case CSR_FRM: h->frm = v & 7; rv_fs_dirty(h); break;
	case CSR_FCSR:
		h->fflags = v & 0x1f;
		h->frm = (v >> 5) & 7;
		rv_fs_dirty(h);
		break;
	case CSR_SSTATUS: mstatus_write(h, v, SSTATUS_WMASK); break;
	case CSR_SIE: {
		uint64_t m = h->mideleg & MIP_S_BITS;
		h->mie = (h->mie & ~m) | (v & m);
		break;
	}
	case CSR_SIP: mip_write(h, v, h->mideleg & RV_MIP_SSIP); break;
	case CSR_STVEC: h->stvec = tvec_legal(v); break;
	case CSR_SCOUNTEREN: h->scounteren = v & 0xffffffffULL; break;
	case CSR_SENVCFG: h->senvcfg = envcfg_legal(v, SENVCFG_MASK); break;
	case CSR_SSCRATCH: h->sscratch = v; break;
	case CSR_SEPC: h->sepc = v & ~1ULL; break;
	case CSR_SCAUSE: h->scause = v; break;
	case CSR_STVAL: h->stval = v; break;
	case CSR_STIMECMP:
		h->stimecmp = v;
		rv_hart_update_timer(h, rv_mtime(h->m));
		break;
	case CSR_SATP: satp_write(h, v); break;
	case CSR_MSTATUS: mstatus_write(h, v, MSTATUS_WMASK); break;
	case CSR_MISA: break; /* fixed: RV64IMAFDCSU */
	case CSR_MEDELEG: h->medeleg = v & MEDELEG_MASK; break;
	case CSR_MIDELEG: h->mideleg = v & MIP_S_BITS; break;
	case CSR_MIE: h->mie = v & MIE_MASK; break;
	case CSR_MTVEC: h->mtvec = tvec_legal(v); break;
	case CSR_MCOUNTEREN: h->mcounteren = v & 0xffffffffULL; break;
	case CSR_MENVCFG: {
		uint64_t old = h->menvcfg;
		h->menvcfg = envcfg_legal(v, MENVCFG_MASK);
		if ((old ^ h->menvcfg) & ENVCFG_PBMTE)
			rv_tlb_flush_va(h, NULL);
		if ((old ^ h->menvcfg) & ENVCFG_STCE)
			rv_hart_update_timer(h, rv_mtime(h->m));
		break;
	}
	case CSR_MCOUNTINHIBIT: countinhibit_write(h, v); break;
	case CSR_MHPMEVENT3 ... CSR_MHPMEVENT31: break;
	case CSR_MSCRATCH: h->mscratch = v; break;
	case CSR_MEPC: h->mepc = v & ~1ULL; break;
	case CSR_MCAUSE: h->mcause = v; break;
	case CSR_MTVAL: h->mtval = v; break;
	case CSR_MIP: mip_write(h, v, MIP_S_BITS); break;
	case CSR_PMPCFG0 ... CSR_PMPCFG15:
		h->pmpcfg[csr - CSR_PMPCFG0] = v;
		break;
	case CSR_PMPADDR0 ... CSR_PMPADDR63:
		h->pmpaddr[csr - CSR_PMPADDR0] = v & ((1ULL << 54) - 1);
		break;
	case CSR_MCYCLE: counter_write(h, true, v); break;
	case CSR_MINSTRET: counter_write(h, false, v); break;
	case CSR_MHPMCOUNTER3 ... CSR_MHPMCOUNTER31: break;
	case CSR_TSELECT: case CSR_TDATA1: case CSR_TDATA2: case CSR_TDATA3:
	case CSR_TINFO:
		break;
	default:
		return -1;
	}
	return 0;
}

int rv_csr_insn(struct rv_hart *h, const struct rv_op *op)
{
	unsigned csr = (unsigned)op->imm & 0xfff;
	unsigned kind = op->aux;
	bool imm = kind >= RV_OP_CSRRWI;
	uint64_t src = imm ? op->rs1 : h->x[op->rs1];
	uint64_t old, nv;
	bool write;

	/* CSRRS/CSRRC with x0 or uimm 0 do not write (§9.1), so they may
	 * read read-only CSRs. */
	switch (kind) {
	case RV_OP_CSRRW: case RV_OP_CSRRWI:
		write = true;
		break;
	default:
		write = op->rs1 != 0;
		break;
	}
	if (rv_csr_read(h, csr, &old))
		goto illegal;
	if (write) {
		switch (kind) {
		case RV_OP_CSRRS: case RV_OP_CSRRSI: nv = old | src; break;
		case RV_OP_CSRRC: case RV_OP_CSRRCI: nv = old & ~src; break;
		default: nv = src; break;
		}
		/* Read-modify-write of mip/sip acts on the software SEIP
		 * bit, not on the OR with the PLIC line (§3.1.9). */
		if ((csr == CSR_MIP) && (kind != RV_OP_CSRRW &&
					 kind != RV_OP_CSRRWI)) {
			nv &= ~RV_MIP_SEIP;
			if (__atomic_load_n(&h->mip, __ATOMIC_RELAXED) &
			    RV_MIP_SEIP_SW)
				nv |= RV_MIP_SEIP;
			if (kind == RV_OP_CSRRS || kind == RV_OP_CSRRSI)
				nv |= src & RV_MIP_SEIP;
			else
				nv &= ~(src & RV_MIP_SEIP);
		}
		if (rv_csr_write(h, csr, nv))
			goto illegal;
	}
	if (op->rd)
		h->x[op->rd] = old;
	return 0;
illegal:
	return rv_exc(h, RV_EXC_ILLEGAL, (uint32_t)op->imm2);
}
