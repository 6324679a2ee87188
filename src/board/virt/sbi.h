/* ringvm's built-in SBI firmware (RISC-V SBI 2.0).  When m->sbi is true
 * ringvm plays the M-mode firmware: an `ecall` from S-mode is answered here
 * instead of trapping to M-mode.
 *
 * Implemented: Base (§4), the legacy extensions 0x00-0x08 (§5), TIME (§6),
 * IPI (§7), RFENCE (§8, without the hypervisor fences), HSM (§9), SRST
 * (§10), DBCN (§12).  Every other extension or function returns
 * SBI_ERR_NOT_SUPPORTED.  Every guest address (DBCN buffers, legacy hart
 * mask pointers, HSM start/resume addresses) and hart id is checked before
 * use; a hostile caller gets an SBI error, never a host fault. */
#ifndef RINGVM_RV64_SBI_H
#define RINGVM_RV64_SBI_H

#include "engine/rv64/hart.h"

/* SBI error codes (SBI 2.0 §3, Table 1). */
#define SBI_SUCCESS                0
#define SBI_ERR_FAILED            -1
#define SBI_ERR_NOT_SUPPORTED     -2
#define SBI_ERR_INVALID_PARAM     -3
#define SBI_ERR_DENIED            -4
#define SBI_ERR_INVALID_ADDRESS   -5
#define SBI_ERR_ALREADY_AVAILABLE -6
#define SBI_ERR_ALREADY_STARTED   -7
#define SBI_ERR_ALREADY_STOPPED   -8

/* Extension ids (SBI 2.0 §4-§12). */
#define SBI_EXT_LEGACY_SET_TIMER         0x00
#define SBI_EXT_LEGACY_CONSOLE_PUTCHAR   0x01
#define SBI_EXT_LEGACY_CONSOLE_GETCHAR   0x02
#define SBI_EXT_LEGACY_CLEAR_IPI         0x03
#define SBI_EXT_LEGACY_SEND_IPI          0x04
#define SBI_EXT_LEGACY_REMOTE_FENCE_I    0x05
#define SBI_EXT_LEGACY_REMOTE_SFENCE_VMA 0x06
#define SBI_EXT_LEGACY_REMOTE_SFENCE_VMA_ASID 0x07
#define SBI_EXT_LEGACY_SHUTDOWN          0x08
#define SBI_EXT_BASE  0x10
#define SBI_EXT_TIME  0x54494D45   /* "TIME" */
#define SBI_EXT_IPI   0x735049     /* "sPI" */
#define SBI_EXT_RFNC  0x52464E43   /* "RFNC" */
#define SBI_EXT_HSM   0x48534D     /* "HSM" */
#define SBI_EXT_SRST  0x53525354   /* "SRST" */
#define SBI_EXT_DBCN  0x4442434E   /* "DBCN" */
#define SBI_EXT_PMU   0x504D55     /* "PMU" */

/* Base extension answers.  The implementation id is not in the SBI
 * registry (§4.9 lists 0-11 at the time of writing); 0x52494E47 is
 * ASCII "RING", far from the sequential registered numbers. */
#define SBI_SPEC_VERSION  0x02000000  /* major 2 (bits 30:24), minor 0 */
#define SBI_IMPL_ID       0x52494E47
#define SBI_IMPL_VERSION  0x00000001  /* ringvm 0.1: major << 16 | minor */

/* HSM suspend types (SBI 2.0 §9.4, Table 26). */
#define SBI_HSM_SUSPEND_RET_DEFAULT    0x00000000
#define SBI_HSM_SUSPEND_NONRET_DEFAULT 0x80000000

/* SRST types and reasons (SBI 2.0 §10.1, Tables 31-32). */
#define SBI_SRST_SHUTDOWN     0
#define SBI_SRST_COLD_REBOOT  1
#define SBI_SRST_WARM_REBOOT  2
#define SBI_SRST_REASON_NONE    0
#define SBI_SRST_REASON_FAILURE 1

/* Handle an ecall from S-mode on hart h (h->m->sbi must be true).
 * Reads the extension id from a7, the function id from a6 and arguments
 * from a0..a5; writes the error to a0 and the value to a1 (SBI 2.0 §3), or
 * only a0 for the legacy extensions (§5).
 *
 * The caller advances pc by 4 afterwards, always.  Calls that send the
 * hart elsewhere (HSM non-retentive suspend) leave pc at target - 4 so that
 * this advance lands on target.  After hart_stop the hart is
 * RV_HART_STOPPED and kicked; after a retentive suspend it sits in WFI
 * (h->wfi) and is kicked; after SRST or the legacy shutdown an exit is
 * requested (rv_machine_request_exit).  In all those cases the run loop
 * must stop running the hart at the next block boundary.
 *
 * Legacy send_ipi/remote_fence* take a pointer to the hart mask in guest
 * VIRTUAL memory; it is only accepted while satp is Bare (it is then a
 * physical address), otherwise the call fails with SBI_ERR_NOT_SUPPORTED.
 * A null pointer means all harts.
 *
 * Returns 0 (the outcome for the guest is in a0/a1). */
int rv_sbi_ecall(struct rv_hart *h);

/* SBI PMU extension (SBI 2.0 §11), internal to the SBI: fid and args
 * a[0..5] as in the ecall; stores the return value in *value and returns
 * the SBI error code. */
long rv_sbi_pmu(struct rv_hart *h, uint32_t fid, const uint64_t *a,
		long *value);

#endif
