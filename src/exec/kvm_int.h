/* Internals of the KVM x86-64 sandbox (src/exec/kvm*.c).
 *
 *   kvm.c      the VM: guest memory, page tables, GDT/IDT/TSS, ring-0
 *              fault stubs, the ring-3 syscall entry page, the vCPU,
 *              the ELF and its stack, the run loop
 *   kvm_load.c the program, its interpreter or #! line, the layout and
 *              the initial stack
 *   kvm_mm.c   mmap, munmap, brk: placement in the pre-mapped space
 *   kvm_sys.c  the system calls the program makes
 *   kvm_net.c  its sockets, select, ppoll and epoll
 *   kvm_seccomp.c  the host filter around it all
 *   kvm_signal.c   handlers for the program's own faults, rt_sigreturn
 *
 * Guest virtual addresses equal guest-physical ones (identity map), so a
 * guest pointer is checked against the user range and used at mem + va.
 *
 *   [0, 2M)             not mapped (NULL dereferences fault)
 *   [2M, brk_max)       the ELF (4 KiB pages with its permissions), brk
 *   [mmap_lo, mmap_hi)  mmap area, page bitmap allocator
 *   [stack_lo, sys)     the stack
 *   [sys, sys + 2M)     supervisor-only: page tables, GDT, TSS, IDT,
 *                       fault stubs, ring-0 stack; plus the user-visible
 *                       syscall entry page and the MMIO doorbell page */
#ifndef RINGVM_EXEC_KVM_INT_H
#define RINGVM_EXEC_KVM_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "exec_int.h"
#include "kvm.h"

#define KX_PAGE 4096ULL
#define KX_2M   (2ULL << 20)
#define KX_STACK (8ULL << 20)
/* Offsets in the system area. */
#define KX_PML4   0x0000
#define KX_PDPT   0x1000
#define KX_PD     0x2000     /* 4 pages: 4 GiB */
#define KX_PTSYS  0x6000
#define KX_GDT    0x7000
#define KX_TSS    0x7800
#define KX_IDT    0x8000
#define KX_STUBS  0x9000
#define KX_ENTRY  0xa000     /* LSTAR: user, executable */
#define KX_SHIM   16         /* LSTAR's offset in the entry page */
#define KX_DOOR   0xb000     /* maps the MMIO doorbell */
#define KX_STK0   0x10000    /* ring-0 stack top (pages 0xc000..) */
#define KX_PTPOOL 0x10000    /* page tables of 4 KiB-mapped chunks */
#define KX_NPT    64
/* Guest-physical doorbell (outside the memory slot) and fault port. */
#define KX_DOOR_GPA 0xf0000000ULL
#define KX_FAULT_PORT 0xf0
#define KX_MEM_MAX (3ULL << 30)

struct kx {
	const struct exec_config *cfg;
	struct exec_fs fs;
	int kvm, vm, vcpu;
	struct kvm_run *run;
	size_t run_size;
	bool sync;                 /* KVM_CAP_SYNC_REGS for the registers */
	struct kvm_segment ucs, uss;   /* ring-3 CS and SS */
	uint8_t *mem;
	uint64_t size;             /* bytes of guest memory */
	uint64_t sys;              /* system area base */
	uint64_t brk_start, brk_cur, brk_max;
	uint64_t mmap_lo, mmap_hi;
	uint8_t *bitmap;           /* mmap area pages in use */
	uint64_t stack_lo;
	uint64_t entry, phdr, phnum;   /* the program's (auxv) */
	uint64_t start, interp_base;   /* first instruction; AT_BASE */
	uint64_t sigmask;
	struct { uint64_t handler, flags, restorer, mask; } sa[65];
	bool warned[512];
	const char *path;          /* the ELF to load (a #! interpreter) */
	char *const *argv;         /* its argv */
	char sb_line[256];         /* the #! line (path, argv point here) */
	char exe[2048];            /* the program path as given (AT_EXECFN) */
	char exe_abs[4096];        /* absolute (/proc/self/exe) */
	bool exited;
	int status;
	uint64_t pending;          /* signals it sent itself (bit n-1: n),
				    * delivered at a syscall return once
				    * unblocked */
};

/* Is guest [va, va+len) inside the user range (not the system area)? */
static inline bool kx_ok(const struct kx *k, uint64_t va, uint64_t len)
{
	return va >= KX_2M && va < k->sys && len <= k->sys - va;
}

/* Host address of a checked guest range; NULL when outside. */
static inline void *kx_ptr(const struct kx *k, uint64_t va, uint64_t len)
{
	return kx_ok(k, va, len ? len : 1) ? k->mem + va : NULL;
}

/* kvm_sys.c: serve system call nr with args a[6]; returns the value for
 * rax (or -errno).  Sets k->exited for exit/exit_group.  May change the
 * vCPU's FS base (arch_prctl). */
long kx_syscall(struct kx *k, uint64_t nr, const uint64_t *a);
/* kvm_net.c: serve nr if it is a socket, select, ppoll or epoll call
 * (*handled true; arguments a[6] as the program passed them), returning
 * the value for rax or -errno; else *handled is false and it returns
 * -ENOSYS.  A send that breaks a pipe raises SIGPIPE at the program
 * through kx_syscall's kill. */
long kx_net(struct kx *k, uint64_t nr, const uint64_t *a, bool *handled);
/* kvm_load.c: a #! script at k->path turns into its interpreter
 * (k->path, k->argv replaced); 0 or -ENOEXEC/-ENOMEM. */
int kx_shebang(struct kx *k, struct err *errp);
/* Load k->path (and its interpreter) into guest memory, describe it in
 * *e, its load bias in *base; lays out brk, mmap area and stack and sets
 * k->entry/start/phdr/phnum/interp_base.  0 or -errno (errp says). */
int kx_load(struct kx *k, struct exec_elf *e, uint64_t *base,
	    struct err *errp);
/* Write argc/argv/envp/auxv below the stack top; *rsp for the entry. */
int kx_build_stack(struct kx *k, uint64_t *rsp, struct err *errp);
/* kvm_sys.c: is fd one of the VMM's own (EBADF to the program)? */
bool kx_internal_fd(const struct kx *k, long fd);
/* kvm_mm.c: the calls (arguments as the program passed them; the value
 * for rax or -errno). */
long kx_mmap(struct kx *k, const uint64_t *a);
long kx_munmap(struct kx *k, uint64_t va, uint64_t len);
long kx_brk(struct kx *k, uint64_t want);
/* Give checked, page-aligned guest [va, va+len) back to the host: it
 * reads as zeros afterwards. */
void kx_zero(struct kx *k, uint64_t va, uint64_t len);
/* The mmap area's page bitmap: mark [va, va+len) (parts outside the
 * area ignored) used or free; the highest free run of n pages (0:
 * none). */
void kx_mark(struct kx *k, uint64_t va, uint64_t len, bool used);
uint64_t kx_find_free(struct kx *k, uint64_t n);
/* kvm_seccomp.c: confine this process to what serving the program
 * needs (PR_SET_NO_NEW_PRIVS is set by libseccomp).  0 or -errno. */
int kx_seccomp(struct kx *k, struct err *errp);
/* kvm_signal.c: enter the program's handler for signal sig.  rg holds
 * the user state to return to (in) and becomes the handler's entry state
 * (out; the caller loads it into the vCPU).  trapno, err, cr2: the fault
 * (ring0: it came through a fault stub, whose ring 0 is left here, and
 * siginfo describes the fault; else the program sent it to itself).
 * false: no handler (or it cannot run: blocked, no restorer, no room on
 * the stack), the caller applies the default action. */
bool kx_deliver(struct kx *k, int sig, struct kvm_regs *rg, uint64_t trapno,
		uint64_t err, uint64_t cr2, bool ring0);
/* rt_sigreturn: the registers and mask from the ucontext at rg->rsp;
 * 0 or -EFAULT (the caller then ends the program with SIGSEGV). */
int kx_sigreturn(struct kx *k, struct kvm_regs *rg);
/* kvm.c: the vCPU's FS base (arch_prctl). */
int kx_set_fs(struct kx *k, uint64_t base);
int kx_get_fs(struct kx *k, uint64_t *base);

#endif
