/* Tiny bare-metal runtime for ringvm's ISA tests.
 *
 * A test is a C (or assembly) program with `int main(void)`.  The default
 * runtime (crt0.S) starts in M-mode with a trap vector that saves every
 * integer register into a frame and calls rt_trap(); built with -DRT_SBI it
 * starts in S-mode under an SBI firmware instead.
 *
 * Results: CHECK*() print "FAIL [section] file:line: expr" on the UART and
 * remember the first failing line; main's return value (or rt_result()) is
 * the exit code: 0 = pass, otherwise the failing line.  rt_exit() reports it
 * through HTIF tohost ((code << 1) | 1) and, as a fallback for machines
 * without HTIF (QEMU virt), the sifive_test device (M-mode) or SBI SRST
 * (S-mode). */
#ifndef RT_H
#define RT_H

#include <stdint.h>
#include <stddef.h>
#include <stdarg.h>

typedef uint64_t u64;
typedef int64_t i64;
typedef uint32_t u32;
typedef int32_t i32;
typedef uint16_t u16;
typedef uint8_t u8;

/* Platform (QEMU virt layout). */
#define UART_BASE   0x10000000UL
#define TEST_BASE   0x00100000UL
#define CLINT_BASE  0x02000000UL
#define CLINT_MSIP(h)     (CLINT_BASE + 4 * (h))
#define CLINT_MTIMECMP(h) (CLINT_BASE + 0x4000 + 8 * (h))
#define CLINT_MTIME       (CLINT_BASE + 0xbff8)
#define RAM_BASE    0x80000000UL
#define TIMEBASE_HZ 10000000UL

/* Privilege modes. */
#define PRV_U 0
#define PRV_S 1
#define PRV_M 3

/* mstatus fields. */
#define MSTATUS_SIE   (1UL << 1)
#define MSTATUS_MIE   (1UL << 3)
#define MSTATUS_SPIE  (1UL << 5)
#define MSTATUS_UBE   (1UL << 6)
#define MSTATUS_MPIE  (1UL << 7)
#define MSTATUS_SPP   (1UL << 8)
#define MSTATUS_MPP   (3UL << 11)
#define MSTATUS_FS    (3UL << 13)
#define MSTATUS_XS    (3UL << 15)
#define MSTATUS_MPRV  (1UL << 17)
#define MSTATUS_SUM   (1UL << 18)
#define MSTATUS_MXR   (1UL << 19)
#define MSTATUS_TVM   (1UL << 20)
#define MSTATUS_TW    (1UL << 21)
#define MSTATUS_TSR   (1UL << 22)
#define MSTATUS_SD    (1UL << 63)
#define FS_OFF     0UL
#define FS_INITIAL (1UL << 13)
#define FS_CLEAN   (2UL << 13)
#define FS_DIRTY   (3UL << 13)

/* Interrupt numbers / mip bits. */
#define IRQ_SSI 1
#define IRQ_MSI 3
#define IRQ_STI 5
#define IRQ_MTI 7
#define IRQ_SEI 9
#define IRQ_MEI 11
#define MIP_SSIP (1UL << IRQ_SSI)
#define MIP_MSIP (1UL << IRQ_MSI)
#define MIP_STIP (1UL << IRQ_STI)
#define MIP_MTIP (1UL << IRQ_MTI)
#define MIP_SEIP (1UL << IRQ_SEI)
#define MIP_MEIP (1UL << IRQ_MEI)
#define CAUSE_INTR (1UL << 63)

/* Exception causes. */
#define CAUSE_MISALIGNED_FETCH 0
#define CAUSE_FETCH_ACCESS     1
#define CAUSE_ILLEGAL          2
#define CAUSE_BREAKPOINT       3
#define CAUSE_MISALIGNED_LOAD  4
#define CAUSE_LOAD_ACCESS      5
#define CAUSE_MISALIGNED_STORE 6
#define CAUSE_STORE_ACCESS     7
#define CAUSE_ECALL_U          8
#define CAUSE_ECALL_S          9
#define CAUSE_ECALL_M          11
#define CAUSE_FETCH_PAGE       12
#define CAUSE_LOAD_PAGE        13
#define CAUSE_STORE_PAGE       15

/* CSRs the assembler may not know by name. */
#define CSR_MENVCFG   0x30a
#define CSR_SENVCFG   0x10a
#define CSR_STIMECMP  0x14d
#define CSR_MCOUNTINHIBIT 0x320
#define MENVCFG_STCE  (1UL << 63)

#define RT_STR_(x) #x
#define RT_STR(x) RT_STR_(x)

#define csr_read(csr) ({ u64 __v; \
	__asm__ volatile("csrr %0, " RT_STR(csr) : "=r"(__v) :: "memory"); __v; })
#define csr_write(csr, val) ({ \
	__asm__ volatile("csrw " RT_STR(csr) ", %0" :: "rK"((u64)(val)) : "memory"); })
#define csr_swap(csr, val) ({ u64 __v; \
	__asm__ volatile("csrrw %0, " RT_STR(csr) ", %1" : "=r"(__v) : "rK"((u64)(val)) : "memory"); __v; })
#define csr_set(csr, val) ({ \
	__asm__ volatile("csrs " RT_STR(csr) ", %0" :: "rK"((u64)(val)) : "memory"); })
#define csr_clear(csr, val) ({ \
	__asm__ volatile("csrc " RT_STR(csr) ", %0" :: "rK"((u64)(val)) : "memory"); })

#define mmio_w8(a, v)  (*(volatile u8 *)(uintptr_t)(a) = (v))
#define mmio_w32(a, v) (*(volatile u32 *)(uintptr_t)(a) = (v))
#define mmio_w64(a, v) (*(volatile u64 *)(uintptr_t)(a) = (v))
#define mmio_r8(a)     (*(volatile u8 *)(uintptr_t)(a))
#define mmio_r32(a)    (*(volatile u32 *)(uintptr_t)(a))
#define mmio_r64(a)    (*(volatile u64 *)(uintptr_t)(a))

#define barrier() __asm__ volatile("" ::: "memory")

/* ---- console ---- */
void rt_putc(char c);
void rt_puts(const char *s);
void rt_printf(const char *fmt, ...);
void rt_vprintf(const char *fmt, va_list ap);

/* ---- checks ---- */
extern const char *rt_section_name;
extern int rt_failures;
extern int rt_first_fail;
extern int rt_checks;
/* Name the group of checks that follows (shown on failure). */
void rt_section(const char *name);
int rt_check(int ok, const char *file, int line, const char *expr);
int rt_check_eq(u64 got, u64 want, const char *file, int line,
		const char *expr);
#define CHECK(c) rt_check(!!(c), __FILE__, __LINE__, #c)
#define CHECK_EQ(got, want) \
	rt_check_eq((u64)(got), (u64)(want), __FILE__, __LINE__, #got " == " #want)
/* A check where QEMU 7.2 (used to validate these tests) disagrees with
 * the spec: skipped, with a note, when built for QEMU (-DRT_QEMU). */
#ifdef RT_QEMU
#define QEMU_DIVERGES(why, ...) rt_printf("note: skipped on QEMU: %s\n", why)
#else
#define QEMU_DIVERGES(why, ...) do { __VA_ARGS__; } while (0)
#endif
/* Exit code for main: 0 when every check passed, else the first failing
 * line (never 0). */
int rt_result(void);

/* Report and stop.  Never returns. */
void rt_exit(int code) __attribute__((noreturn));

/* ---- traps ----
 * Frame layout shared with crt0.S: x0..x31, then epc, cause, tval, status
 * (the m* or s* CSRs depending on the handling mode). */
struct rt_frame {
	u64 x[32];
	u64 epc, cause, tval, status;
};
#define RT_FRAME_SIZE (36 * 8)

/* The last recorded trap. */
struct rt_trap_rec {
	u64 cause, epc, tval, status;
	int mode;   /* mode that handled it: PRV_M or PRV_S */
	int count;  /* exceptions recorded since rt_arm() */
};
extern volatile struct rt_trap_rec rt_last;
/* While armed, exceptions are recorded in rt_last and the trapping
 * instruction is skipped: instruction fetch faults (causes 0, 1, 12)
 * resume at ra (so a faulting `jalr ra, ...` acts like a call that
 * returned), everything else at epc + its length (read from the
 * physical/identity-mapped epc).  rt_resume, if set, overrides this once. */
extern volatile int rt_armed;
extern volatile u64 rt_resume;
static inline void rt_arm(void)
{
	rt_last.count = 0;
	rt_last.cause = ~0UL;
	rt_last.epc = rt_last.tval = ~0UL;
	rt_last.mode = -1;
	barrier();
	rt_armed = 1;
	barrier();
}
static inline int rt_disarm(void)
{
	barrier();
	rt_armed = 0;
	barrier();
	return rt_last.count;
}
#define RT_ANY (~0UL - 1)
/* Check that exactly one exception with this cause/epc/tval (RT_ANY: don't
 * care) was recorded since rt_arm(), and disarm. */
int rt_check_trap(u64 cause, u64 epc, u64 tval, const char *file, int line);
#define CHECK_TRAP(cause, epc, tval) \
	rt_check_trap((cause), (epc), (tval), __FILE__, __LINE__)
/* Check that no exception happened since rt_arm(), and disarm. */
#define CHECK_NOTRAP() CHECK_EQ(rt_disarm(), 0)

/* Interrupt log: every interrupt taken is appended (cause without the
 * top bit, and the handling mode).  The default action disables the
 * interrupt in mie/sie so that a level-triggered source cannot storm;
 * rt_irq_hook, if set, is called instead. */
#define RT_IRQ_LOG 16
extern volatile int rt_irq_n;
extern volatile u64 rt_irq_cause[RT_IRQ_LOG];
extern volatile int rt_irq_mode[RT_IRQ_LOG];
extern volatile u64 rt_irq_epc[RT_IRQ_LOG];
extern void (*volatile rt_irq_hook)(u64 cause, struct rt_frame *f, int mode);
static inline void rt_irq_reset(void) { rt_irq_n = 0; barrier(); }
/* Optional exception hook, consulted first; return nonzero if handled. */
extern int (*volatile rt_exc_hook)(struct rt_frame *f, int mode);

/* Run fn(arg) in privilege `mode` (from M: U, S or M; from S: U or S) and
 * return its result.  The lower mode returns through an ecall with
 * a7 = RT_ECALL_EXIT, handled by whichever mode the ecall traps to. */
#define RT_ECALL_EXIT 0x52545845UL /* "RTXE" */
typedef u64 (*rt_fn)(u64);
u64 rt_run(int mode, rt_fn fn, u64 arg);
/* Re-initialise the trap stacks (after tests that abandon a handler). */
void rt_reset_scratch(void);

/* Bare M-mode: make parked hart `hartid` (all harts start at _start) call
 * fn(hartid) on its own stack; it parks again when fn returns.  Other
 * harts must not trap: the trap log and rt_arm() are shared. */
void rt_start_hart(unsigned hartid, void (*fn)(u64 hartid));

/* ---- memory ---- */
extern char _end[];
/* A zeroed, 4 KiB aligned page from the pool after the image. */
void *rt_alloc_page(void);
void *rt_alloc_pages(unsigned n, u64 align);
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* ---- time ---- */
u64 rt_time(void);   /* mtime (M: CLINT, S: rdtime) */
void rt_delay_us(u64 us);

/* ---- page tables (rt/vm.c) ---- */
#define PTE_V (1UL << 0)
#define PTE_R (1UL << 1)
#define PTE_W (1UL << 2)
#define PTE_X (1UL << 3)
#define PTE_U (1UL << 4)
#define PTE_G (1UL << 5)
#define PTE_A (1UL << 6)
#define PTE_D (1UL << 7)
#define SATP_SV39 (8UL << 60)
#define SATP_SV48 (9UL << 60)
/* Page tables with `levels` = 3 (Sv39) or 4 (Sv48). */
void vm_init(int levels);
/* Map va -> pa at `level` (0: 4K, 1: 2M, 2: 1G, 3: 512G); returns the PTE. */
volatile u64 *vm_map(u64 va, u64 pa, u64 flags, int level);
/* The leaf (or first invalid) PTE reached for va, or NULL. */
volatile u64 *vm_pte(u64 va);
/* Install an arbitrary PTE value at (va, level), creating tables above. */
volatile u64 *vm_slot(u64 va, int level);
u64 vm_satp(void);
void vm_on(void);   /* write satp + sfence.vma */
void vm_off(void);
static inline void sfence_vma(void) { __asm__ volatile("sfence.vma" ::: "memory"); }

/* ---- SBI (S-mode tests) ---- */
struct sbiret { long error; long value; };
/* Entry for harts started through HSM at rt_secondary_entry (weak default
 * in rt.c: park). */
void secondary_main(u64 hartid, u64 opaque);
struct sbiret sbi_call(long ext, long fid, long a0, long a1, long a2,
		       long a3, long a4, long a5);

#endif
