/* Internals of the user-mode runtime (src/exec/).
 *
 *   mm.c        guest address space: the physical page pool, Sv39 page
 *               tables, mappings (VMAs), guest memory access for syscalls
 *   elf.c       ELF64 header / program header checks (hostile files)
 *   load.c      loading the program and its interpreter, the initial stack
 *   path.c      guest path -> host fd + name, confined to --root/--mounts
 *   sys.c       system call dispatch and the small calls
 *   sys_fs.c    files and directories
 *   sys_mm.c    mmap, munmap, mprotect, brk, madvise
 *   sys_proc.c  clone (threads, fork), exit, wait4, execve, futex
 *   sys_net.c   sockets
 *   sys_more.c  timers, timerfd, signalfd, inotify, scheduling, ids
 *   signal.c    guest signal handlers, frames, sigreturn
 *   runtime.c   threads: one host thread per guest thread, the run loop */
#ifndef RINGVM_EXEC_INT_H
#define RINGVM_EXEC_INT_H

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "../engine/rv64/hart.h"
#include "../engine/rv64/machine.h"
#include "exec.h"

#define EXEC_PAGE 4096ULL
#define EXEC_PAGE_MASK (EXEC_PAGE - 1)
/* Sv39: user addresses below 2^38 (priv 1.12 §4.4). */
#define EXEC_USER_TOP (1ULL << 38)
/* Guest-physical address of the page pool (like RAM on the virt board). */
#define EXEC_POOL_GPA 0x80000000ULL
#define EXEC_STACK_TOP  0x3fff000000ULL
#define EXEC_STACK_SIZE (8ULL << 20)
/* The page holding the signal return trampoline. */
#define EXEC_SIGTRAMP   (EXEC_STACK_TOP + EXEC_PAGE)
/* Where top-down mmap placement starts (below the stack's growth room). */
#define EXEC_MMAP_TOP   0x3f00000000ULL
/* Load base of a position-independent main program (2/3 of the space,
 * as Linux's ELF_ET_DYN_BASE). */
#define EXEC_PIE_BASE   0x2aaaaaa000ULL

#define EXEC_PROT_R 1
#define EXEC_PROT_W 2
#define EXEC_PROT_X 4

/* One mapping: [start, end) page aligned, prot EXEC_PROT_*. */
struct exec_vma {
	uint64_t start, end;
	int prot;
	struct exec_file *file;    /* MAP_SHARED of a file, or NULL */
	uint64_t off;              /* its file offset at start */
};

/* A file behind MAP_SHARED mappings: frames there are the file's own
 * pages (mm.c maps them over the frame's host address). */
struct exec_file {
	int fd;                    /* a dup, closed with the last mapping */
	unsigned refs;             /* VMAs using it */
	bool w;                    /* open for writing (may map writable) */
};

struct exec_mm {
	struct guest_mem *mem;     /* the machine's; the pool at POOL_GPA */
	uint8_t *pool;             /* host address of the pool */
	uint64_t npages;           /* pool size in pages */
	uint64_t bump;             /* pages [bump, npages) never handed out */
	uint32_t *free;            /* freed page indices */
	uint64_t nfree;
	uint64_t root_pa;          /* Sv39 root table */
	struct exec_vma *vma;      /* sorted, non-overlapping */
	size_t nvma, cap;
	uint64_t brk_start, brk_cur;
	pthread_mutex_t lock;      /* everything above after set-up */
};

/* ---- mm.c ---- */
int mm_init(struct exec_mm *mm, struct guest_mem *mem, struct err *errp);
void mm_free(struct exec_mm *mm);
/* satp value for the tables (Sv39, ASID 0). */
uint64_t mm_satp(const struct exec_mm *mm);
/* Map [va, va+len) (page aligned) as fresh zero pages (populated on
 * first touch) with prot, replacing whatever was there (MAP_FIXED).
 * Caller holds mm->lock.  0 or -ENOMEM/-EINVAL. */
int mm_map(struct exec_mm *mm, uint64_t va, uint64_t len, int prot);
/* Unmap [va, va+len) (page aligned); pages go back to the pool.  Caller
 * holds the lock. */
void mm_unmap(struct exec_mm *mm, uint64_t va, uint64_t len);
/* Drop the frames of [va, va+len) but keep the mappings (MADV_DONTNEED:
 * the next touch reads zeros).  Caller holds the lock. */
void mm_discard(struct exec_mm *mm, uint64_t va, uint64_t len);
/* mremap(2) of [old, old+olen) to nlen > olen bytes (page aligned):
 * grown in place when the pages after it are free, else (may_move)
 * moved with its frames to a free range or to fixed (MREMAP_FIXED, not
 * overlapping the old one); the new address, or -EFAULT (the old range
 * is not one mapping), -ENOMEM, -EINVAL.  Caller holds the lock and
 * shoots down the TLBs after a move. */
long mm_remap(struct exec_mm *mm, uint64_t old, uint64_t olen, uint64_t nlen,
	      bool may_move, uint64_t fixed);
/* mm_map for MAP_SHARED of file fd at off (page aligned): the frames
 * become the file's pages when touched.  fd is dup'ed.  0, -EACCES (a
 * writable mapping of a file not open for writing, or write-only),
 * -EBADF, -ENOMEM.  Caller holds the lock. */
int mm_map_file(struct exec_mm *mm, uint64_t va, uint64_t len, int prot,
		int fd, uint64_t off);
/* msync(2) of [va, va+len): MS_SYNC writes back the files behind it. */
int mm_sync(struct exec_mm *mm, uint64_t va, uint64_t len, int flags);
/* Change prot of [va, va+len); -ENOMEM if part of it is unmapped,
 * -EACCES for PROT_WRITE on a shared mapping of a read-only file. */
int mm_protect(struct exec_mm *mm, uint64_t va, uint64_t len, int prot);
/* A free range of len bytes, highest below `below` (top-down) and at or
 * above `above`; 0 when none.  Caller holds the lock. */
uint64_t mm_find_free(const struct exec_mm *mm, uint64_t len, uint64_t above,
		      uint64_t below);
/* Is any page of [va, va+len) mapped? */
bool mm_is_mapped(const struct exec_mm *mm, uint64_t va, uint64_t len);
/* Handle a page fault at va for access `acc` (0 fetch, 1 load, 2 store):
 * populates a lazily mapped page the mapping allows.  Returns 0 when the
 * access may be retried, -EFAULT (not mapped: SEGV_MAPERR) or -EACCES
 * (not permitted: SEGV_ACCERR).  Takes the lock. */
int mm_fault(struct exec_mm *mm, uint64_t va, int acc);
/* Host address of guest va for an access of `acc` to one page (populates
 * lazily); NULL if not allowed.  `force` ignores prot (the loader).
 * Caller holds the lock. */
uint8_t *mm_host(struct exec_mm *mm, uint64_t va, int acc, bool force);
/* Host iovecs covering guest [va, va+len) for reading (acc 1) or writing
 * (acc 2) by the host; at most max entries (contiguous pages merged).
 * Returns the count, or -EFAULT.  Takes the lock. */
int mm_iov(struct exec_mm *mm, uint64_t va, uint64_t len, int acc,
	   struct iovec *iov, int max);
/* Copies between guest and host; 0 or -EFAULT.  Take the lock. */
int mm_read(struct exec_mm *mm, uint64_t va, void *dst, size_t len);
int mm_write(struct exec_mm *mm, uint64_t va, const void *src, size_t len);
/* As mm_write, ignoring prot (loader); caller holds the lock. */
int mm_write_force(struct exec_mm *mm, uint64_t va, const void *src,
		   size_t len);
/* Copy a NUL-terminated string of at most max bytes (incl. NUL);
 * -EFAULT, or -ENAMETOOLONG when longer. */
int mm_strdup(struct exec_mm *mm, uint64_t va, char *dst, size_t max);

/* ---- elf.c ---- */
#define EXEC_MAX_PHDRS 64
struct exec_seg {
	uint64_t vaddr, memsz, off, filesz;
	int prot;
};
struct exec_elf {
	bool dyn;                  /* ET_DYN */
	uint64_t entry;
	uint64_t phoff;
	uint16_t phnum;
	uint64_t lo, hi;           /* page-aligned span of the PT_LOADs */
	unsigned nseg;
	struct exec_seg seg[EXEC_MAX_PHDRS];
	char interp[256];          /* PT_INTERP path, "" when none */
	uint64_t phdr_vaddr;       /* PT_PHDR, or computed; 0 unknown */
};
/* Check and describe an ELF image of len bytes (buf is untrusted): must
 * be ELF64 little-endian RISC-V, ET_EXEC or ET_DYN, with its program
 * headers and every PT_LOAD's file bytes inside buf, segments inside the
 * user address space, offsets congruent with addresses mod the page
 * size, a NUL-terminated PT_INTERP shorter than 256 bytes.  Returns 0 or
 * -ENOEXEC with the reason in errp. */
int exec_elf_parse(const uint8_t *buf, size_t len, struct exec_elf *out,
		   struct err *errp);
/* As exec_elf_parse for e_machine `machine` (EM_RISCV, EM_X86_64). */
int exec_elf_parse_machine(const uint8_t *buf, size_t len, unsigned machine,
			   struct exec_elf *out, struct err *errp);


/* ---- sys_net.c ---- */
/* May a program set (set) or get socket option (level, name)?  Only
 * levels whose values are plain data pass: a value holding a pointer
 * would make the host kernel use a guest address in ringvm's own
 * address space.  Same numbers on riscv64 and x86-64 (asm-generic). */
bool exec_sockopt_ok(int level, int name, bool set);

/* ---- path.c ---- */
struct exec_fs {
	int root_fd;                /* -1: host / as is */
	struct {
		int fd;
		char guest[256];
		size_t glen;
		bool ro;
	} mnt[EXEC_MAX_MOUNTS];
	unsigned nmnt;
};
int fs_init(struct exec_fs *fs, const struct exec_config *cfg,
	    struct err *errp);
void fs_free(struct exec_fs *fs);
/* Open guest path `path` relative to guest dirfd `dirfd` (AT_FDCWD or an
 * fd) with openat2 semantics confined to the guest's root; returns a
 * host fd or -errno.  flags/mode as openat. */
int fs_open(const struct exec_fs *fs, int dirfd, const char *path,
	    int flags, unsigned mode);
/* For the *at calls that take (dirfd, name): resolve the parent
 * directory of `path` inside the root and give a host dirfd (*pfd, to
 * close if != the passed dirfd, *close_it) and the last component in
 * *name (points into path or ".").  0 or -errno. */
int fs_parent(const struct exec_fs *fs, int dirfd, const char *path,
	      int *pfd, bool *close_it, const char **name, bool *ro);

/* Guest path `path` relative to guest dirfd (AT_FDCWD or an fd) as an
 * absolute guest path in buf (not resolved: ".." and links stay);
 * 0 or -errno. */
int fs_abs(const struct exec_fs *fs, int dirfd, const char *path,
	   char *buf, size_t len);
/* The current directory in guest terms into buf; 0 or -errno. */
int fs_getcwd(const struct exec_fs *fs, char *buf, size_t len);

/* ---- the process ---- */
#define EXEC_NSIG 65

struct exec_thread;

struct exec_sigaction {
	uint64_t handler, flags, mask;
};

struct exec_proc {
	const struct exec_config *cfg;
	struct rv_machine m;
	struct exec_mm mm;
	struct exec_fs fs;
	pthread_mutex_t lock;          /* threads, sigactions */
	struct exec_thread *threads[RV_MAX_HARTS];
	unsigned nthreads;             /* running */
	struct exec_sigaction sa[EXEC_NSIG];
	bool warned[512];              /* ENOSYS logged (under lock) */
	/* exit_group: the status, once (atomic flag). */
	int exiting;
	int exit_status;
	/* A child forked by a thread other than exec_run's: nobody waits
	 * in exec_run, so the last thread ends the host process. */
	bool no_main;
	char exe[4096];                /* guest path of the program */
	/* argv the program gets: cfg->argv, or for a #! script an array
	 * of ours (argv_owned) whose strings in `own` are ours too. */
	char **argv;
	bool argv_owned;
	char *own[3];
	uint64_t phdr, phnum, entry, base;
};

struct exec_thread {
	struct exec_proc *p;
	struct rv_hart *h;
	unsigned slot;
	pid_t tid;
	pthread_t pt;
	uint64_t clear_tid;            /* CLONE_CHILD_CLEARTID address */
	/* The trap the hart reported (user_trap). */
	bool trapped;
	uint64_t cause, tval;
	/* Async signals that arrived (bit n-1 = signal n), with siginfo. */
	uint64_t pending;              /* atomic */
	siginfo_t info[EXEC_NSIG];
	/* sigaltstack */
	uint64_t ss_sp, ss_size;
	int ss_flags;
	bool exited;
	/* Set (atomic) by the thread's host thread as the last thing it
	 * does with this struct: only then may clone reuse the slot (an
	 * exited guest thread's host thread is still unwinding). */
	int gone;
};

/* runtime.c */
int rt_thread_new(struct exec_proc *p, struct exec_thread **out);
void rt_thread_loop(struct exec_thread *t);
/* End the process with wait status `status` (exit_group or a fatal
 * signal).  With other threads alive the host process ends here; the
 * only thread returns and its run loop ends (exec_run returns status). */
void rt_exit_group(struct exec_thread *t, int status);
/* The host thread of t is done with it (clone may reuse the slot). */
void rt_thread_gone(struct exec_thread *t);
/* Flush TLBs and decoded code of every hart after a mapping shrank or
 * changed (mm edits under mm->lock, then this without it). */
void rt_shootdown(struct exec_thread *t);

/* sys.c: serve the ecall in t (a7 = number); sets a0 and advances pc,
 * unless the call changed the pc (sigreturn, execve). */
void sys_dispatch(struct exec_thread *t);
/* May call nr be served inside the interpreter's trap hook: it never
 * blocks, never faults the guest (a bad pointer is EFAULT), changes no
 * mapping and no signal state? */
bool sys_is_fast(uint64_t nr);
/* ENOSYS, logged once per number when verbose. */
long sys_enosys(struct exec_thread *t, long nr);

/* Handlers share one shape: arguments a0..a5, the return value or
 * -errno. */
typedef long (*sys_fn)(struct exec_thread *t, const uint64_t *a);
sys_fn sys_fs_lookup(long nr);
sys_fn sys_mm_lookup(long nr);
sys_fn sys_proc_lookup(long nr);
sys_fn sys_net_lookup(long nr);
sys_fn sys_sig_lookup(long nr);
sys_fn sys_more_lookup(long nr);

/* A host call's result as the guest sees it: the value, or -errno.
 * (A function, so that the call is evaluated once.) */
static inline long sys_ret(long r)
{
	return r < 0 ? -errno : r;
}

/* Copy helpers for handlers. */
static inline struct exec_mm *T_MM(struct exec_thread *t) { return &t->p->mm; }

/* signal.c */
int sig_init(struct exec_proc *p, struct err *errp);
/* Deliver pending async signals and the synchronous one (sig != 0, with
 * si_code / addr) by building a frame on the guest stack; a signal with
 * the default action ends the process the way it would end natively. */
void sig_deliver_pending(struct exec_thread *t);
void sig_fault(struct exec_thread *t, int sig, int code, uint64_t addr);
/* After a host call failed with EINTR: does a pending signal's handler
 * ask for the call to be restarted (SA_RESTART)? */
bool sig_restart_wanted(struct exec_thread *t);
/* The host signal handler's thread pointer. */
void sig_thread_attach(struct exec_thread *t);
/* load.c */
int load_program(struct exec_proc *p, struct exec_thread *t,
		 struct err *errp);
/* sys_proc.c: re-exec through ringvm */
long sys_execve_impl(struct exec_thread *t, const uint64_t *a);

#endif
