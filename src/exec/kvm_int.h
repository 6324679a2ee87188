/* Internals of the KVM x86-64 sandbox (src/exec/kvm*.c).
 *
 *   kvm.c      the VM: guest memory, page tables, GDT/IDT/TSS, ring-0
 *              fault stubs, the ring-3 syscall entry page, the vCPU,
 *              the ELF and its stack, the run loop
 *   kvm_load.c the program, its interpreter or #! line, the layout and
 *              the initial stack
 *   kvm_mm.c   mmap, munmap, mprotect, brk: placement and permissions
 *   kvm_pt.c   the page tables: built before start, changed after it by
 *              edits a ring-0 stub makes (shadow paging, see there)
 *   kvm_sys.c  the system calls the program makes
 *   kvm_net.c  its sockets, select, ppoll and epoll
 *   kvm_seccomp.c  the host filter around it all
 *   kvm_signal.c   signals: the host's, mirrored; frames, rt_sigreturn
 *   kvm_proc.c     processes: fork (a host fork and a new VM in the
 *              child), execve (a fresh ringvm), wait, kill of others
 *   kvm_shim.c     the entry page's ring-3 fast paths and the vDSO text
 *   kvm_time.c     the time page they read the clocks from
 *   kvm_vdso.c     the vDSO image (AT_SYSINFO_EHDR)
 *   kvm_ioq.c      the I/O queue: file calls answered without an exit
 *
 * Guest virtual addresses equal guest-physical ones (identity map), so a
 * guest pointer is checked against the user range and used at mem + va.
 *
 *   [0, 2M)             never mapped (NULL dereferences fault)
 *   [2M, brk_max)       the ELF (its segments' permissions), brk (RW)
 *   [mmap_lo, mmap_hi)  mmap area, page bitmap allocator; unmapped but
 *                       for what mmap maps, with its permissions
 *   [stack_lo, sys)     the stack
 *   [sys, sys + 2M)     supervisor-only: page tables (and their pool),
 *                       GDT, TSS, IDT, fault and edit stubs, per-vCPU
 *                       edit pages and ring-0 stacks; plus the
 *                       user-visible syscall entry page and the MMIO
 *                       doorbell page */
#ifndef RINGVM_EXEC_KVM_INT_H
#define RINGVM_EXEC_KVM_INT_H

#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

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
#define KX_EDIT_STUB 0x400   /* offset in KX_STUBS: the #BP gate's code */
#define KX_ENTRY  0xa000     /* LSTAR: user, executable */
#define KX_EDIT_INT 24       /* offset in the entry page: int3 to edit */
#define KX_SHIM   32         /* LSTAR's offset in the entry page */
#define KX_SHIM_DOOR 0x80    /* the doorbell stub (offsets in the page) */
#define KX_SHIM_BLOB 0x100   /* kvm_shim.c's code */
#define KX_SIGEXIT 0x800     /* offset in the entry page: kx_pt_defer */
#define KX_PROBE  0x90       /* offset in the entry page: syscall; ud2 */
#define KX_NR_PROBE 0x7fff0002   /* the probe's call: no shim answers it */
#define KX_TIME   0xc000     /* the time page: user, read-only */
#define KX_VDSO   0xd000     /* the vDSO image: user, read and execute */
#define KX_IOQ    0xe000     /* the I/O queue (kvm_ioq.c): user, read/write,
				* two pages: a 128-byte slot per vCPU */
#define KX_IOQ_SLOT 128
#define KX_NR_IORET 0x7fff0001   /* the shim's exit with a queued result */
#define KX_DOOR   0xb000     /* maps the MMIO doorbell */
#define KX_DOOR_SIG 8        /* doorbell offset of KX_SIGEXIT's store */
/* The page-table pool (kvm_pt.c): [KX_PTPOOL, KX_CPU_AREA) and
 * [KX_PTPOOL2, 2M), pages used for nothing else. */
#define KX_PTPOOL 0x10000
#define KX_PTPOOL2 0x180000
#define KX_NPT    ((KX_CPU_AREA - KX_PTPOOL + 0x200000 - KX_PTPOOL2) / 0x1000)
/* One area per vCPU (index i at KX_CPU_AREA + i * KX_CPU_SIZE): its GDT
 * and TSS (so each has its own ring-0 stack), a page for page-table
 * edits the vCPU makes in ring 0 (kvm_pt.c), and the ring-0 stack. */
#define KX_MAX_CPUS 64
#define KX_MAX_SHARED 128    /* MAP_SHARED file mappings at once */
#define KX_CPU_AREA 0x80000
#define KX_CPU_SIZE 0x4000
#define KX_CPU_GDT  0x0000
#define KX_CPU_TSS  0x0080
#define KX_CPU_EDIT 0x1000
#define KX_CPU_STK0 0x4000   /* ring-0 stack top (8 KiB below) */
/* The edit page, in 64-bit words: the RIP and RFLAGS the stub returns
 * to (words 1, 2), the ones a deferred signal returns to (words 0, 3;
 * kx_pt_defer), then records of 4 words {guest-physical address, value,
 * count, step}: write count words from the address on, value + i * step
 * into the i-th (a run of entries mapping consecutive pages).  A count
 * of 0 ends the list; the stub zeroes the first once done. */
#define KX_EDIT_SIG_RIP   0
#define KX_EDIT_RIP   1
#define KX_EDIT_FLAGS 2
#define KX_EDIT_SIG_FLAGS 3
#define KX_EDIT_REC   4
#define KX_EDIT_MAX   ((4096 / 8 - KX_EDIT_REC) / 4 - 1)
/* Guest-physical doorbell (outside the memory slot) and fault port. */
#define KX_DOOR_GPA 0xf0000000ULL
#define KX_FAULT_PORT 0xf0
#define KX_MEM_MAX (3ULL << 30)
/* The interrupt that makes a vCPU thread leave KVM_RUN or a blocking host
 * call (no SA_RESTART: the call returns EINTR).  Reserved: the program's
 * own handler for it is recorded but never reached from outside. */
#define KX_KICK (SIGRTMAX)

struct kx;

/* The time page (kvm_time.c writes, kvm_shim.c reads in ring 3): a
 * seqlock (odd while written); the time of clock c is base[c] + ((tsc -
 * tsc_base) * mult >> 32) ns for tsc - tsc_base <= limit (guest TSC
 * cycles).  top: the end of the user range less 16 (pointer check). */
struct kx_time {
	_Atomic uint32_t seq;
	_Atomic uint32_t io_awake; /* kvm_ioq.c's thread serves the queue */
	uint64_t tsc_base, limit, mult, top;
	uint64_t pad2[3];
	uint64_t base[8];
};
_Static_assert(KX_TIME - KX_ENTRY == 0x2000 && KX_SHIM_BLOB == 0x100 &&
	       KX_SHIM_DOOR == 0x80 && KX_VDSO - KX_TIME == 0x1000 &&
	       KX_MAX_CPUS * KX_IOQ_SLOT == 2 * 4096,
	       "offsets kvm_shim.c assumes");

/* One vCPU's slot of the I/O queue (kvm_shim.c writes a call, kvm_ioq.c
 * answers it): state 0 idle, 1 posted, 2 taken, 3 done, 4 declined. */
struct kx_ioslot {
	_Atomic uint32_t state;
	_Atomic uint32_t sigpend;  /* a signal waits: answer by an exit */
	uint64_t nr, a[6];
	int64_t ret;
	uint8_t pad[KX_IOQ_SLOT - 72];
};
_Static_assert(sizeof(struct kx_ioslot) == KX_IOQ_SLOT, "I/O slot");

/* The page tables as the VMM means them (kvm_pt.c).  On kvm_pvm the
 * guest runs on KVM's shadow of its page tables, kept in step only with
 * writes the guest itself makes: so once the vCPUs run, an entry in a
 * table the guest may have walked changes by an edit a vCPU makes in
 * ring 0, and this copy (the tables as they are once every queued edit
 * ran) is what the VMM reads and changes instead.  A 2 MiB chunk is one
 * PDE (a 2 MiB page, or absent) or, once it needs 4 KiB pages, a table
 * from the pool, which stays its own for good (never reused for
 * another chunk: KVM may still shadow it). */
struct kx_pt {
	uint8_t *mem;              /* guest memory (host mapping) */
	uint64_t sys;              /* the system area (guest-physical) */
	uint64_t pd[2048];         /* the PDEs of [0, 4 GiB) */
	uint64_t (*tab)[512];      /* the pool's tables, by slot */
	int16_t slot[2048];        /* per 2 MiB chunk: its table's slot, -1 */
	bool walked[KX_NPT];       /* the slot was linked: it may be shadowed */
	unsigned next;             /* slots handed out (from 0 up) */
	bool started;              /* vCPUs run: linked tables change by edits */
	bool verbose;              /* say once that the pool ran out */
	bool said;
};

/* One vCPU: a guest thread, run by one host thread whose tid is the
 * guest thread's.  A KVM vCPU cannot be destroyed, so the slot of an
 * exited thread is kept (fd, run) and reused by a later clone. */
struct kx_cpu {
	struct kx *k;
	unsigned idx;              /* slot in k->cpu[], KX_CPU_AREA index */
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	sem_t started;             /* posted once tid is known */
	pid_t tid;
	atomic_bool busy;          /* a guest thread runs on it */
	uint64_t sigmask;          /* blocked signals (bit n-1: n); only its
				    * own thread changes it */
	_Atomic uint64_t pending;  /* signals sent to this thread, delivered
				    * at a syscall return or a kick once
				    * unblocked */
	uint64_t clear_tid;        /* CLONE_CHILD_CLEARTID, set_tid_address */
	uint64_t set_ptid, set_ctid;   /* CLONE_{PARENT,CHILD}_SETTID */
	bool done;                 /* its thread called exit */
	bool no_join;              /* thread is not a joinable pthread */
	int exit_status;           /* wait status of its exit */
	struct kvm_regs *regs;     /* during a system call: the caller's
				    * user registers (clone copies them;
				    * a forked child's rsp is set here) */
	uint8_t info[65][128];     /* siginfo of each pending signal that
				    * came through the host */
	_Atomic uint64_t info_ok;  /* which info[] entries are valid */
	uint64_t ss_sp, ss_size;   /* sigaltstack (ss_size 0: none) */
	uint64_t frame_mask;       /* rt_sigsuspend: the mask the handler's
				    * frame restores (with use_frame_mask) */
	bool use_frame_mask;
};

struct kx {
	const struct exec_config *cfg;
	struct exec_fs fs;
	int kvm, vm;
	struct kx_cpu *cpu[KX_MAX_CPUS];
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
	uint64_t vdso;             /* AT_SYSINFO_EHDR (0: none) */
	uint64_t start, interp_base;   /* first instruction; AT_BASE */
	struct { uint64_t handler, flags, restorer, mask; } sa[65];
	bool warned[512];
	const char *path;          /* the ELF to load (a #! interpreter) */
	char *const *argv;         /* its argv */
	char sb_line[256];         /* the #! line (path, argv point here) */
	char exe[2048];            /* the program path as given (AT_EXECFN) */
	char exe_abs[4096];        /* absolute (/proc/self/exe) */
	pthread_mutex_t lock;      /* cpu[] slots, mmap/brk, sa[] */
	pthread_cond_t gone;       /* a thread ended (k->live dropped) */
	unsigned live;             /* threads running, under lock */
	atomic_bool exited;        /* the program ended: every thread stops */
	int status;                /* its wait status, set with exited */
	int main_status;           /* the main thread's exit (its code if
				    * the last thread leaves by exit) */
	struct kvm_cpuid2 *cpuid;  /* what every vCPU gets */
	pthread_mutex_t time_lock; /* the time page's writers */
	int64_t tsc_offset;        /* guest TSC - host TSC */
	uint64_t tsc_khz;
	int self_fd;               /* ringvm's own binary (O_PATH): the one
				    * thing execve may run (kvm_proc.c) */
	struct kx_pt pt;           /* page tables, under lock once started */
	/* MAP_SHARED file mappings: guest memory there is the file's own
	 * pages (the host's mmap over k->mem), under lock. */
	struct kx_shared { uint64_t va, len; bool w; } shared[KX_MAX_SHARED];
	unsigned nshared;
	/* kvm_ioq.c: the thread answering queued calls. */
	pthread_t io_thread;
	bool io_started;
	_Atomic uint32_t io_wake;  /* its futex: 1 = work may be there */
	struct kx_cpu io_cpu;      /* what kx_syscall sees of it */
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
long kx_syscall(struct kx_cpu *c, uint64_t nr, const uint64_t *a);
/* kvm_net.c: serve nr if it is a socket, select, ppoll or epoll call
 * (*handled true; arguments a[6] as the program passed them), returning
 * the value for rax or -errno; else *handled is false and it returns
 * -ENOSYS.  A send that breaks a pipe raises SIGPIPE at the program
 * through kx_syscall's kill. */
long kx_net(struct kx_cpu *c, uint64_t nr, const uint64_t *a, bool *handled);
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
/* kvm_mm.c: the calls of vCPU c (arguments as the program passed them;
 * the value for rax or -errno).  The caller holds k->lock (kx_pt_lock);
 * page-table edits they queue run as the call returns (kx_pt_route). */
long kx_mmap(struct kx_cpu *c, const uint64_t *a);
long kx_munmap(struct kx_cpu *c, uint64_t va, uint64_t len);
long kx_mprotect(struct kx_cpu *c, uint64_t va, uint64_t len, uint64_t prot);
long kx_brk(struct kx_cpu *c, uint64_t want);
/* mremap(old, old_len, new_len, flags, new): shrink, grow in place, or
 * (MREMAP_MAYMOVE, MREMAP_FIXED) move with the contents; the address or
 * -errno as Linux's.  Caller holds k->lock. */
long kx_mremap(struct kx_cpu *c, const uint64_t *a);
/* Give checked, page-aligned guest [va, va+len) back to the host: it
 * reads as zeros afterwards (the file's contents again where a
 * MAP_SHARED file mapping is: MADV_DONTNEED's meaning). */
void kx_zero(struct kx *k, uint64_t va, uint64_t len);
/* msync of a MAP_SHARED file range: the host's, on the same pages. */
long kx_msync(struct kx *k, uint64_t va, uint64_t len, int flags);
/* The mmap area's page bitmap: mark [va, va+len) (parts outside the
 * area ignored) used or free; the highest free run of n pages (0:
 * none). */
void kx_mark(struct kx *k, uint64_t va, uint64_t len, bool used);
uint64_t kx_find_free(struct kx *k, uint64_t n);
/* kvm_pt.c: the page-table entry flags (present, user, writable, NX and
 * the software "mapped" bit) of a mapping with prot (PROT_*; PROT_NONE:
 * mapped, not present).  0 means not mapped. */
uint64_t kx_pt_flags(int prot);
/* Set pt up for guest memory mem (host mapping) whose system area is at
 * guest-physical sys (2 MiB aligned, below 4 GiB): writes the PML4, the
 * PDPT, the PDs with every user chunk absent and the system chunk's
 * table.  0, -EINVAL (sys) or -ENOMEM; kx_pt_free releases it. */
int kx_pt_init(struct kx_pt *pt, uint8_t *mem, uint64_t sys, bool verbose);
void kx_pt_free(struct kx_pt *pt);
/* From now on the guest may walk the tables: linked ones change only by
 * edits (called once, before the first KVM_RUN). */
void kx_pt_start(struct kx_pt *pt);
/* Give the guest pages [va, va + len) (bytes, page-aligned, inside the
 * user range [2 MiB, sys)) the entry flags f (kx_pt_flags).  Before
 * kx_pt_start the tables are written; after, q is the calling vCPU's
 * edit page (kx_edits) and the writes to live entries are queued there.
 * A chunk that needs a table when the pool is out becomes one 2 MiB RWX
 * page.  Caller holds k->lock once started.  0; -EINVAL: a bad range or
 * f; -ENOMEM: q is full (the chunks before the failing one changed). */
int kx_pt_set(struct kx_pt *pt, uint64_t va, uint64_t len, uint64_t f,
	      uint64_t *q);
/* Is every page of [va, va + len) mapped (a mapping of any protection,
 * PROT_NONE too)?  false outside the user range.  Caller holds k->lock
 * once started. */
bool kx_pt_mapped(const struct kx_pt *pt, uint64_t va, uint64_t len);
/* The entry flags (kx_pt_flags' form) of the page at va; 0 when it is
 * not mapped or outside the user range.  Caller holds k->lock. */
uint64_t kx_pt_get(const struct kx_pt *pt, uint64_t va);
/* vCPU c's edit page (KX_CPU_EDIT), as 64-bit words. */
uint64_t *kx_edits(struct kx_cpu *c);
/* Take k->lock once no other vCPU has edits queued (the order of two
 * queues' stores to one entry is not the order of the changes); returns
 * with it held. */
void kx_pt_lock(struct kx_cpu *c);
/* Returning from a system call to the user state rg: when edits are
 * queued, rg's RIP and RFLAGS move to the edit page and rg continues at
 * the entry page's int3, whose stub performs them and returns there. */
void kx_pt_route(struct kx_cpu *c, struct kvm_regs *rg);
/* vCPU c, stopped (a kick) in user state rg, has a signal to take: true
 * when the stub of its edits has yet to run, whose int3 may already be
 * on its way in (KVM_SET_REGS would drop it): then the registers must
 * stay as they are, and the stub returns to KX_SIGEXIT instead, whose
 * exit (KX_DOOR_SIG) takes the signal (kx_pt_resume). */
bool kx_pt_defer(struct kx_cpu *c, const struct kvm_regs *rg);
/* At that exit: rg (the vCPU's registers) gets the user state the stub
 * would have returned to; false when nothing was deferred (the program
 * jumped there itself). */
bool kx_pt_resume(struct kx_cpu *c, struct kvm_regs *rg);
/* Write the breakpoint gate's ring-0 code (the edit stub for the int3
 * returning to guest address `from`, below 4 GiB; else on to the #BP
 * fault stub at guest-physical bp) at host address `at`, which is
 * guest-physical gpa (in KX_STUBS, from KX_EDIT_STUB). */
void kx_pt_write_stub(uint8_t *at, uint64_t gpa, uint64_t bp, uint64_t from);
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
bool kx_deliver(struct kx_cpu *c, int sig, struct kvm_regs *rg, uint64_t trapno,
		uint64_t err, uint64_t cr2, bool ring0);
/* kvm_signal.c: signals are the host's: the program's dispositions
 * and each thread's mask are mirrored onto the host (a handler becomes
 * kx_host_handler, which marks the signal pending on the vCPU of the
 * host thread it interrupted and kicks it), so kill, tgkill, timers,
 * signalfd, sigpending and sigtimedwait behave as the host's.  Set the
 * host disposition of sig after the program changed k->sa[sig]; 0 or
 * -errno. */
int kx_host_action(struct kx *k, int sig);
/* ppoll, pselect6, epoll_pwait: the program's mask (8 bytes at guest
 * va) for the wait.  It becomes c->sigmask meanwhile, the old one coming
 * back as sigsuspend's does (the frame of a handler that runs restores
 * it, else do_syscall does after the call); *host is the set to give
 * the host's wait.  0, -EINVAL (size not 8), -EFAULT. */
int kx_wait_mask(struct kx_cpu *c, uint64_t va, uint64_t size, sigset_t *host);
/* This thread's host mask from c->sigmask (never blocking the kick). */
void kx_host_mask(struct kx_cpu *c);
/* Bind the calling host thread to c (for kx_host_handler). */
void kx_bind_thread(struct kx_cpu *c);
/* rt_sigreturn: the registers and mask from the ucontext at rg->rsp;
 * 0 or -EFAULT (the caller then ends the program with SIGSEGV). */
int kx_sigreturn(struct kx_cpu *c, struct kvm_regs *rg);
/* The host signal the VMM keeps for kicks (kx_kick). */
#define KX_KICK (SIGRTMAX)
/* kvm.c: end the program with wait status st (first caller wins) and
 * stop every thread. */
void kx_exit_group(struct kx *k, int st);
/* kvm.c: a thread for clone(CLONE_VM | CLONE_THREAD ...): a vCPU starting
 * at the caller's return address with rg (rax 0, rsp the new stack),
 * FS base tls (or the caller's when !settls).  Returns its tid, after
 * writing it to ptid/ctid (0: not asked), or -EAGAIN (no slot, no
 * vCPU). */
long kx_thread(struct kx_cpu *c, const struct kvm_regs *rg, bool settls,
	       uint64_t tls, uint64_t ptid, uint64_t ctid, uint64_t cleartid);
/* kvm.c: interrupt vCPU c (KVM_RUN or a blocking host call) so its
 * thread looks at k->exited and its pending signals. */
void kx_kick(struct kx_cpu *c);
/* kvm_time.c: the time page — set up from vCPU c's TSC rate and offset
 * (before the program runs); refreshed from the host's clocks at every
 * exit (any thread; MONOTONIC and BOOTTIME never step back).  kx_clock:
 * the value of clock id after a refresh, false for a clock the page does
 * not keep (the caller asks the host). */
int kx_time_init(struct kx_cpu *c, struct err *errp);
void kx_time_refresh(struct kx *k);
bool kx_clock(struct kx *k, uint64_t id, struct timespec *ts);
/* kvm_ioq.c: the I/O queue.  kx_ioq_kick: a call of the queue's kinds
 * went by an exit (nr, args): wake (or start) the thread if the call was
 * one it would serve, so the next ones need no exit.  kx_ioq_stop: end
 * the thread (the program ended; every vCPU has stopped).  kx_ioq_reset:
 * in a forked child, which has no such thread (the page says asleep). */
void kx_ioq_kick(struct kx *k, uint64_t nr, const uint64_t *a);
void kx_ioq_stop(struct kx *k);
void kx_ioq_reset(struct kx *k);
/* The slot of vCPU c (for the shim's KX_NR_IORET and sigpend). */
struct kx_ioslot *kx_ioq_slot(struct kx_cpu *c);
/* kvm_shim.c: the entry page's fast path, [kx_shim_start, kx_shim_end);
 * the vDSO's functions, in [kx_vdso_text_start, kx_vdso_text_end). */
extern const uint8_t kx_shim_start[], kx_shim_end[];
extern const uint8_t kx_vdso_text_start[], kx_vdso_text_end[],
	kx_vdso_clock_gettime[], kx_vdso_gettimeofday[], kx_vdso_time[];
/* kvm_vdso.c: write the vDSO image (an ELF shared object of the three
 * clock functions, as the kernel's linux-vdso.so.1 exports them) at
 * KX_VDSO in the system area; its guest address for AT_SYSINFO_EHDR. */
uint64_t kx_vdso_build(struct kx *k);
/* kvm.c: the vCPU's FS base (arch_prctl). */
int kx_set_fs(struct kx_cpu *c, uint64_t base);
int kx_get_fs(struct kx_cpu *c, uint64_t *base);
/* kvm.c, VM and vCPU set-up (also for a VM made later): */
/* Register k->mem as the guest memory of the VM at k->vm; 0 or -errno. */
int kx_vm_memory(struct kx *k);
/* Create vCPU c->idx in k->vm, map its run structure (c->fd, c->run),
 * give it k->cpuid; 0 or -errno (errp says; c->fd -1). */
int kx_cpu_open(struct kx_cpu *c, struct err *errp);
/* Unmap c->run and close c->fd (c->fd -1 after). */
void kx_cpu_close(struct kx_cpu *c);
/* Everything but the general registers of vCPU c about to enter ring 3
 * with FS base fs: its GDT/TSS (area c->idx), segments, paging, syscall
 * MSRs, XCR0, a default FPU.  0 or -errno (errp says). */
int kx_cpu_setup(struct kx_cpu *c, uint64_t fs, struct err *errp);
/* Write the syscall entry page (its answers: getpid and the ids are this
 * process's now). */
void kx_build_entry(struct kx *k);

/* kvm_proc.c */
/* A clone without CLONE_THREAD (fork, vfork, posix_spawn), arguments as
 * x86-64 clone(flags, stack, ptid, ctid, tls) takes them. */
struct kx_clone {
	uint64_t flags, stack, ptid, ctid, tls;
};
/* A new process: a host fork() of this one, whose child runs the calling
 * thread alone on a VM of its own (it returns 0 there, with rsp the new
 * stack if one was given).  The child's pid, or -errno (-EINVAL for
 * flags it cannot honour: shared files, namespaces; -ENOSYS for CLONE_VM
 * without CLONE_VFORK).  CLONE_VFORK: returns once the child exec'd or
 * exited. */
long kx_fork(struct kx_cpu *c, const struct kx_clone *a);
/* A new VM on k->kvm at k->vm's descriptor number (the filter pins it)
 * or, when k->vm is -1, wherever; 0 or -errno.  Guest memory is not
 * registered yet (kx_vm_memory). */
int kx_vm_new(struct kx *k);
/* wait4(pid, status, options, rusage), waitid(idtype, id, info, options,
 * rusage): the host's (children are host processes). */
long kx_wait4(struct kx *k, const uint64_t *a);
long kx_waitid(struct kx *k, const uint64_t *a);
/* kill(pid, sig) for pid other than this process's own: sent by the host
 * when allowed (see kvm_proc.c); 1 when this process is among the
 * targets (pid 0, its own group) and the caller still has to signal the
 * program, 0 done, or -errno. */
long kx_kill(struct kx *k, pid_t pid, int sig);
/* execve/execveat(dirfd, path, argv, envp, flags): replace this process
 * by a fresh ringvm with this run's options on the new program.  Only
 * returns on failure (-errno, the program goes on). */
long kx_execve(struct kx_cpu *c, int dirfd, uint64_t path, uint64_t argv,
	       uint64_t envp, uint64_t flags);
/* Before the VM is made: ringvm's own binary for execve (opened, or
 * with /dev/kvm and the VM's number inherited from the ringvm that
 * exec'd this one: k->cfg->kvm_fds), the path page the filter pins, and
 * the ignored signals this process inherited into k->sa (Linux keeps
 * them across execve).  0 or -errno (errp says). */
int kx_proc_init(struct kx *k, struct err *errp);
/* The blocked mask this process inherited, for the first thread (the
 * kick unblocked on the host whatever it was). */
uint64_t kx_proc_mask(void);
/* The path argument the filter allows execveat with: an empty string in
 * a read-only page at this fixed address, mapped by every ringvm of the
 * sandbox (a ringvm's own data moves with ASLR, and the filter outlives
 * execve). */
#define KX_EXEC_PATH_VA 0x6ffff0000000ULL   /* outside ASan's shadow too */

#endif
