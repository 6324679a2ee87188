/* Start-up code and trap vectors for ringvm ISA tests.
 *
 * Default: entered in M-mode (ringvm --bios none, QEMU -bios none).  Hart 0
 * runs main(); other harts park in WFI.  Built with -DRT_SBI: entered in
 * S-mode by an SBI firmware with a0 = hartid, a1 = FDT; every hart that
 * the firmware starts at _start runs main() (only the boot hart does),
 * harts started through HSM at rt_secondary_entry run
 * secondary_main(hartid, opaque). */

#define REGBYTES 8
#define FRAME (36 * REGBYTES)
#define STACK_SIZE 16384
#define MAX_HARTS 8
#define RT_ECALL_EXIT 0x52545845

	.section .text.init, "ax"
	.option norvc
	.globl _start
_start:
#ifndef RT_SBI
	csrr	t0, mhartid
	bnez	t0, rt_secondary_m
	/* Any trap during set-up (e.g. no PMP) just continues at 1f. */
	la	t0, 1f
	csrw	mtvec, t0
	/* PMP: let S and U access everything (NAPOT over the whole space). */
	li	t0, -1
	csrw	pmpaddr0, t0
	li	t0, 0x1f
	csrw	pmpcfg0, t0
	.align 2
1:
	la	sp, rt_stack + STACK_SIZE
	la	t0, rt_trap_entry_m
	csrw	mtvec, t0
	csrw	mideleg, zero
	csrw	medeleg, zero
	csrw	mie, zero
	la	t0, rt_trap_entry_s
	csrw	stvec, t0
	csrw	satp, zero
	/* FPU on (Initial), MPP = M, everything else off. */
	li	t0, (1 << 13) | (3 << 11)
	csrw	mstatus, t0
	csrw	fcsr, zero
	/* counters visible to S and U */
	li	t0, -1
	csrw	mcounteren, t0
	csrw	scounteren, t0
#else
	mv	s0, a0
	mv	s1, a1
	/* sstatus as the firmware left it, before anything here changes it */
	csrr	t0, sstatus
	la	t1, rt_entry_sstatus
	sd	t0, 0(t1)
	/* the boot hart takes the last stack slot; HSM-started harts take
	 * slot hartid (see rt_secondary_entry) */
	la	sp, rt_stack + STACK_SIZE * (MAX_HARTS + 1)
	la	t0, rt_trap_entry_s
	csrw	stvec, t0
	csrw	sie, zero
	li	t0, (1 << 13)
	csrs	sstatus, t0
	csrw	fcsr, zero
#endif
	/* clear .bss */
	la	t0, __bss_start
	la	t1, __bss_end
2:	bgeu	t0, t1, 3f
	sd	zero, 0(t0)
	addi	t0, t0, 8
	j	2b
3:
	call	rt_reset_scratch
#ifdef RT_SBI
	la	t0, rt_boot_hartid
	sd	s0, 0(t0)
	la	t0, rt_fdt
	sd	s1, 0(t0)
#endif
	call	main
	call	rt_exit
4:	j	4b

#ifndef RT_SBI
/* Other harts (bare M-mode: all harts start at _start): own stack (slot
 * hartid; hart 0 uses slot 0 as well, its trap stack is separate) with
 * the lower half as trap stack, then wait in WFI (MSIE on, MIE off) until
 * rt_start_hart() stores a function in rt_hart_entry[hartid] and sends an
 * msip; call it with a0 = hartid, then park. */
rt_secondary_m:
	la	t1, 8f
	csrw	mtvec, t1
	li	t1, -1
	csrw	pmpaddr0, t1
	li	t1, 0x1f
	csrw	pmpcfg0, t1
	.align 2
8:
	li	t1, MAX_HARTS
	bgeu	t0, t1, 9f
	la	sp, rt_stack
	addi	t1, t0, 1
	li	t2, STACK_SIZE
	mul	t1, t1, t2
	add	sp, sp, t1
	li	t2, STACK_SIZE / 2
	sub	t1, sp, t2
	csrw	mscratch, t1
	la	t1, rt_trap_entry_m
	csrw	mtvec, t1
	li	t1, (1 << 13) | (3 << 11)
	csrw	mstatus, t1
	li	t1, 1 << 3
	csrw	mie, t1
5:	la	t1, rt_hart_entry
	slli	t2, t0, 3
	add	t1, t1, t2
	ld	t3, 0(t1)
	bnez	t3, 6f
	wfi
	j	5b
6:	sd	zero, 0(t1)
	li	t1, 0x2000000
	slli	t2, t0, 2
	add	t1, t1, t2
	sw	zero, 0(t1)
	csrw	mie, zero
	fence	rw, rw
	mv	a0, t0
	jalr	t3
	csrr	t0, mhartid
	li	t1, 1 << 3
	csrw	mie, t1
	j	5b
9:	csrw	mie, zero
	wfi
	j	9b
#else
	/* HSM start target: a0 = hartid, a1 = opaque, S-mode, satp = 0. */
	.globl rt_secondary_entry
	.align 2
rt_secondary_entry:
	la	sp, rt_stack
	addi	t0, a0, 1
	li	t1, STACK_SIZE
	mul	t0, t0, t1
	add	sp, sp, t0
	la	t0, rt_trap_entry_s
	csrw	stvec, t0
	li	t0, (1 << 13)
	csrs	sstatus, t0
	call	secondary_main
6:	j	6b
#endif

/* Trap entry: switch to the mode's trap stack (kept in xscratch), save
 * x1..x31 and the trap CSRs, call rt_trap(frame, mode), restore.  While a
 * handler runs, xscratch points at its frame so a nested trap pushes below
 * it. */
.macro TRAP_ENTRY p, mode
	.align 4
	.globl rt_trap_entry_\p
rt_trap_entry_\p:
	csrrw	sp, \p\()scratch, sp
	addi	sp, sp, -FRAME
	sd	x1, 1*REGBYTES(sp)
	sd	x3, 3*REGBYTES(sp)
	sd	x4, 4*REGBYTES(sp)
	sd	x5, 5*REGBYTES(sp)
	sd	x6, 6*REGBYTES(sp)
	sd	x7, 7*REGBYTES(sp)
	sd	x8, 8*REGBYTES(sp)
	sd	x9, 9*REGBYTES(sp)
	sd	x10, 10*REGBYTES(sp)
	sd	x11, 11*REGBYTES(sp)
	sd	x12, 12*REGBYTES(sp)
	sd	x13, 13*REGBYTES(sp)
	sd	x14, 14*REGBYTES(sp)
	sd	x15, 15*REGBYTES(sp)
	sd	x16, 16*REGBYTES(sp)
	sd	x17, 17*REGBYTES(sp)
	sd	x18, 18*REGBYTES(sp)
	sd	x19, 19*REGBYTES(sp)
	sd	x20, 20*REGBYTES(sp)
	sd	x21, 21*REGBYTES(sp)
	sd	x22, 22*REGBYTES(sp)
	sd	x23, 23*REGBYTES(sp)
	sd	x24, 24*REGBYTES(sp)
	sd	x25, 25*REGBYTES(sp)
	sd	x26, 26*REGBYTES(sp)
	sd	x27, 27*REGBYTES(sp)
	sd	x28, 28*REGBYTES(sp)
	sd	x29, 29*REGBYTES(sp)
	sd	x30, 30*REGBYTES(sp)
	sd	x31, 31*REGBYTES(sp)
	csrrw	t0, \p\()scratch, sp
	sd	t0, 2*REGBYTES(sp)
	sd	zero, 0(sp)
	csrr	t0, \p\()epc
	sd	t0, 32*REGBYTES(sp)
	csrr	t0, \p\()cause
	sd	t0, 33*REGBYTES(sp)
	csrr	t0, \p\()tval
	sd	t0, 34*REGBYTES(sp)
	csrr	t0, \p\()status
	sd	t0, 35*REGBYTES(sp)
	mv	a0, sp
	li	a1, \mode
	call	rt_trap
	ld	t0, 32*REGBYTES(sp)
	csrw	\p\()epc, t0
	ld	t0, 35*REGBYTES(sp)
	csrw	\p\()status, t0
	addi	t0, sp, FRAME
	csrw	\p\()scratch, t0
	ld	x1, 1*REGBYTES(sp)
	ld	x3, 3*REGBYTES(sp)
	ld	x4, 4*REGBYTES(sp)
	ld	x5, 5*REGBYTES(sp)
	ld	x6, 6*REGBYTES(sp)
	ld	x7, 7*REGBYTES(sp)
	ld	x8, 8*REGBYTES(sp)
	ld	x9, 9*REGBYTES(sp)
	ld	x10, 10*REGBYTES(sp)
	ld	x11, 11*REGBYTES(sp)
	ld	x12, 12*REGBYTES(sp)
	ld	x13, 13*REGBYTES(sp)
	ld	x14, 14*REGBYTES(sp)
	ld	x15, 15*REGBYTES(sp)
	ld	x16, 16*REGBYTES(sp)
	ld	x17, 17*REGBYTES(sp)
	ld	x18, 18*REGBYTES(sp)
	ld	x19, 19*REGBYTES(sp)
	ld	x20, 20*REGBYTES(sp)
	ld	x21, 21*REGBYTES(sp)
	ld	x22, 22*REGBYTES(sp)
	ld	x23, 23*REGBYTES(sp)
	ld	x24, 24*REGBYTES(sp)
	ld	x25, 25*REGBYTES(sp)
	ld	x26, 26*REGBYTES(sp)
	ld	x27, 27*REGBYTES(sp)
	ld	x28, 28*REGBYTES(sp)
	ld	x29, 29*REGBYTES(sp)
	ld	x30, 30*REGBYTES(sp)
	ld	x31, 31*REGBYTES(sp)
	ld	x2, 2*REGBYTES(sp)
	\p\()ret
.endm

	.text
#ifndef RT_SBI
	TRAP_ENTRY m, 3
#endif
	TRAP_ENTRY s, 1

/* u64 rt_run_m(u64 mode, rt_fn fn, u64 arg): M-mode side of rt_run. */
	.globl rt_run_m
rt_run_m:
	addi	sp, sp, -112
	sd	ra, 0(sp)
	sd	s0, 8(sp)
	sd	s1, 16(sp)
	sd	s2, 24(sp)
	sd	s3, 32(sp)
	sd	s4, 40(sp)
	sd	s5, 48(sp)
	sd	s6, 56(sp)
	sd	s7, 64(sp)
	sd	s8, 72(sp)
	sd	s9, 80(sp)
	sd	s10, 88(sp)
	sd	s11, 96(sp)
	mv	s0, a0
	mv	s1, a1
	mv	s2, a2
	mv	a0, sp
	li	a1, 3
	call	rt_ctx_push
	li	t0, (3 << 11)
	csrc	mstatus, t0
	slli	t0, s0, 11
	csrs	mstatus, t0
	la	t0, rt_lower_entry
	csrw	mepc, t0
	mv	a0, s2
	mv	a1, s1
	mret

	.globl rt_run_s
rt_run_s:
	addi	sp, sp, -112
	sd	ra, 0(sp)
	sd	s0, 8(sp)
	sd	s1, 16(sp)
	sd	s2, 24(sp)
	sd	s3, 32(sp)
	sd	s4, 40(sp)
	sd	s5, 48(sp)
	sd	s6, 56(sp)
	sd	s7, 64(sp)
	sd	s8, 72(sp)
	sd	s9, 80(sp)
	sd	s10, 88(sp)
	sd	s11, 96(sp)
	mv	s0, a0
	mv	s1, a1
	mv	s2, a2
	mv	a0, sp
	li	a1, 1
	call	rt_ctx_push
	li	t0, (1 << 8)
	csrc	sstatus, t0
	slli	t0, s0, 8
	csrs	sstatus, t0
	la	t0, rt_lower_entry
	csrw	sepc, t0
	mv	a0, s2
	mv	a1, s1
	sret

	/* rt_trap resumes here with sp = the saved sp and a0 = result. */
	.globl rt_run_ret
rt_run_ret:
	ld	ra, 0(sp)
	ld	s0, 8(sp)
	ld	s1, 16(sp)
	ld	s2, 24(sp)
	ld	s3, 32(sp)
	ld	s4, 40(sp)
	ld	s5, 48(sp)
	ld	s6, 56(sp)
	ld	s7, 64(sp)
	ld	s8, 72(sp)
	ld	s9, 80(sp)
	ld	s10, 88(sp)
	ld	s11, 96(sp)
	addi	sp, sp, 112
	ret

	.globl rt_lower_entry
rt_lower_entry:
	jalr	a1
	li	a7, RT_ECALL_EXIT
	ecall
7:	j	7b

	.bss
	.align 4
	.globl rt_stack
rt_stack:
	.space STACK_SIZE * (MAX_HARTS + 1)
	.globl rt_mtrap_stack, rt_strap_stack
	.align 4
rt_mtrap_stack:
	.space STACK_SIZE
rt_strap_stack:
	.space STACK_SIZE

	.data
	.align 3
	.globl rt_hart_entry
rt_hart_entry:
	.space 8 * MAX_HARTS

	.section .tohost, "aw", @progbits
	.align 6
	.globl tohost
tohost:	.dword 0
	.align 6
	.globl fromhost
fromhost: .dword 0

#ifdef RT_SBI
	.data
	.align 3
	.globl rt_entry_sstatus
rt_entry_sstatus:
	.dword 0
#endif
