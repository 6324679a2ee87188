/* Runtime for ringvm ISA tests: console, checks, trap dispatch, mode
 * switching, pass/fail reporting.  See rt.h. */
#include "rt.h"

extern volatile u64 tohost, fromhost;
extern char rt_mtrap_stack[], rt_strap_stack[];
#define TRAP_STACK_SIZE 16384

u64 rt_boot_hartid, rt_fdt;

/* ---------------------------------------------------------------- console */

void rt_putc(char c)
{
	/* Wait (boundedly) for THR empty: LSR bit 5. */
	for (int i = 0; i < 1000; i++)
		if (mmio_r8(UART_BASE + 5) & 0x20)
			break;
	mmio_w8(UART_BASE, (u8)c);
}

void rt_puts(const char *s)
{
	while (*s)
		rt_putc(*s++);
}

static void put_u(u64 v, unsigned base, int width, char pad)
{
	char buf[24];
	int n = 0;
	do {
		unsigned d = v % base;
		buf[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		v /= base;
	} while (v);
	while (n < width) {
		rt_putc(pad);
		width--;
	}
	while (n)
		rt_putc(buf[--n]);
}

void rt_vprintf(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			rt_putc(*fmt);
			continue;
		}
		fmt++;
		char pad = ' ';
		int width = 0, lng = 0;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') {
			lng = 1;
			fmt++;
		}
		switch (*fmt) {
		case 'd': {
			i64 v = lng ? va_arg(ap, long) : va_arg(ap, int);
			if (v < 0) {
				rt_putc('-');
				v = -v;
			}
			put_u((u64)v, 10, width, pad);
			break;
		}
		case 'u':
			put_u(lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned),
			      10, width, pad);
			break;
		case 'x':
			put_u(lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned),
			      16, width, pad);
			break;
		case 'p':
			rt_puts("0x");
			put_u((u64)va_arg(ap, void *), 16, width, pad);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			rt_puts(s ? s : "(null)");
			break;
		}
		case 'c':
			rt_putc((char)va_arg(ap, int));
			break;
		case '%':
			rt_putc('%');
			break;
		default:
			rt_putc('?');
			break;
		}
	}
}

void rt_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rt_vprintf(fmt, ap);
	va_end(ap);
}

/* ----------------------------------------------------------------- checks */

const char *rt_section_name = "";
int rt_failures, rt_first_fail, rt_checks;

void rt_section(const char *name)
{
	rt_section_name = name;
}

static const char *basename_(const char *f)
{
	const char *b = f;
	for (; *f; f++)
		if (*f == '/')
			b = f + 1;
	return b;
}

static void fail_note(const char *file, int line)
{
	rt_failures++;
	if (!rt_first_fail)
		rt_first_fail = line ? line : 1;
	rt_printf("FAIL [%s] %s:%d: ", rt_section_name, basename_(file), line);
	if (rt_failures > 50) {
		rt_puts("too many failures\n");
		rt_exit(rt_first_fail);
	}
}

int rt_check(int ok, const char *file, int line, const char *expr)
{
	rt_checks++;
	if (ok)
		return 1;
	fail_note(file, line);
	rt_printf("%s\n", expr);
	return 0;
}

int rt_check_eq(u64 got, u64 want, const char *file, int line,
		const char *expr)
{
	rt_checks++;
	if (got == want)
		return 1;
	fail_note(file, line);
	rt_printf("%s: got 0x%lx, want 0x%lx\n", expr, got, want);
	return 0;
}

int rt_result(void)
{
	return rt_failures ? rt_first_fail : 0;
}

int rt_check_trap(u64 cause, u64 epc, u64 tval, const char *file, int line)
{
	int n = rt_disarm();
	rt_checks++;
	int ok = n == 1 && (cause == RT_ANY || rt_last.cause == cause) &&
		 (epc == RT_ANY || rt_last.epc == epc) &&
		 (tval == RT_ANY || rt_last.tval == tval);
	if (ok)
		return 1;
	fail_note(file, line);
	rt_printf("expected trap cause %ld epc 0x%lx tval 0x%lx; got %d trap(s), "
		  "last cause 0x%lx epc 0x%lx tval 0x%lx\n",
		  (long)cause, epc, tval, n, rt_last.cause, rt_last.epc,
		  rt_last.tval);
	return 0;
}

/* ------------------------------------------------------------------- exit */

u64 rt_time(void)
{
#ifdef RT_SBI
	return csr_read(time);
#else
	return mmio_r64(CLINT_MTIME);
#endif
}

void rt_delay_us(u64 us)
{
	u64 t0 = rt_time();
	u64 ticks = us * (TIMEBASE_HZ / 1000000);
	/* Bounded in case time does not advance. */
	for (u64 i = 0; i < 200000000UL; i++)
		if (rt_time() - t0 >= ticks)
			break;
}

void rt_exit(int code)
{
	if (code)
		rt_printf("rt: exit code %d (%d checks, %d failed)\n", code,
			  rt_checks, rt_failures);
	else
		rt_printf("rt: pass (%d checks)\n", rt_checks);
#ifdef RT_SBI
	if (code) {
		tohost = ((u64)code << 1) | 1;
		rt_delay_us(200000);
	}
	/* SRST system_reset(shutdown, reason 0 = none / 1 = failure) */
	sbi_call(0x53525354, 0, 0, code ? 1 : 0, 0, 0, 0, 0);
#else
	tohost = ((u64)code << 1) | 1;
	/* ringvm stops on tohost; machines without HTIF get sifive_test. */
	rt_delay_us(200000);
	mmio_w32(TEST_BASE, code ? (((u32)code << 16) | 0x3333) : 0x5555);
#endif
	for (;;)
		__asm__ volatile("wfi");
}

/* ------------------------------------------------------------------ traps */

volatile struct rt_trap_rec rt_last;
volatile int rt_armed;
volatile u64 rt_resume;
volatile int rt_irq_n;
volatile u64 rt_irq_cause[RT_IRQ_LOG];
volatile int rt_irq_mode[RT_IRQ_LOG];
volatile u64 rt_irq_epc[RT_IRQ_LOG];
void (*volatile rt_irq_hook)(u64 cause, struct rt_frame *f, int mode);
int (*volatile rt_exc_hook)(struct rt_frame *f, int mode);

/* Contexts saved by rt_run_m/rt_run_s. */
#define MAX_CTX 8
static u64 ctx_sp[MAX_CTX];
static int ctx_home[MAX_CTX];
static int ctx_depth;
extern char rt_run_ret[];
u64 rt_run_m(u64 mode, rt_fn fn, u64 arg);
u64 rt_run_s(u64 mode, rt_fn fn, u64 arg);

void rt_ctx_push(u64 sp, int home)
{
	if (ctx_depth >= MAX_CTX) {
		rt_puts("rt: rt_run nested too deep\n");
		rt_exit(9999);
	}
	ctx_sp[ctx_depth] = sp;
	ctx_home[ctx_depth] = home;
	ctx_depth++;
}

u64 rt_run(int mode, rt_fn fn, u64 arg)
{
#ifdef RT_SBI
	return rt_run_s((u64)mode, fn, arg);
#else
	u64 r = rt_run_m((u64)mode, fn, arg);
	rt_reset_scratch();
	return r;
#endif
}

void rt_reset_scratch(void)
{
#ifndef RT_SBI
	csr_write(mscratch, (u64)(rt_mtrap_stack + TRAP_STACK_SIZE));
#endif
	csr_write(sscratch, (u64)(rt_strap_stack + TRAP_STACK_SIZE));
}

static const char *mode_name(int m)
{
	return m == PRV_M ? "M" : m == PRV_S ? "S" : "U";
}

static void __attribute__((noreturn)) unexpected(struct rt_frame *f, int mode)
{
	rt_printf("FAIL [%s] unexpected trap to %s-mode: cause 0x%lx epc 0x%lx "
		  "tval 0x%lx status 0x%lx ra 0x%lx\n", rt_section_name,
		  mode_name(mode), f->cause, f->epc, f->tval, f->status,
		  f->x[1]);
	rt_exit(9000 + (int)(f->cause & 0xff));
}

static void do_exit_ecall(struct rt_frame *f, int mode)
{
	if (ctx_depth == 0)
		unexpected(f, mode);
	int home = ctx_home[ctx_depth - 1];
	if (mode == PRV_S && home == PRV_M) {
		/* S cannot return to M: pass the exit on. */
		register u64 a0 __asm__("a0") = f->x[10];
		register u64 a7 __asm__("a7") = RT_ECALL_EXIT;
		__asm__ volatile("ecall" :: "r"(a0), "r"(a7) : "memory");
		unexpected(f, mode);
	}
	ctx_depth--;
	f->x[2] = ctx_sp[ctx_depth];
	f->epc = (u64)rt_run_ret;
	if (mode == PRV_M) {
		f->status &= ~(MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MPRV);
		f->status |= (u64)home << 11;
	} else {
		f->status &= ~(MSTATUS_SPP | MSTATUS_SPIE);
		if (home == PRV_S)
			f->status |= MSTATUS_SPP;
	}
}

static void skip_insn(struct rt_frame *f)
{
	if (rt_resume) {
		f->epc = rt_resume;
		rt_resume = 0;
		return;
	}
	u64 c = f->cause;
	if (c == CAUSE_MISALIGNED_FETCH || c == CAUSE_FETCH_ACCESS ||
	    c == CAUSE_FETCH_PAGE) {
		f->epc = f->x[1];
		return;
	}
	u16 h = *(volatile u16 *)f->epc;
	f->epc += (h & 3) == 3 ? 4 : 2;
}

void rt_trap(struct rt_frame *f, int mode)
{
	if ((i64)f->cause < 0) {
		u64 c = f->cause & ~CAUSE_INTR;
		int n = rt_irq_n;
		if (n < RT_IRQ_LOG) {
			rt_irq_cause[n] = c;
			rt_irq_mode[n] = mode;
			rt_irq_epc[n] = f->epc;
			rt_irq_n = n + 1;
		}
		if (rt_irq_hook) {
			rt_irq_hook(c, f, mode);
		} else if (c < 64) {
#ifndef RT_SBI
			if (mode == PRV_M)
				csr_clear(mie, 1UL << c);
			else
#endif
				csr_clear(sie, 1UL << c);
		}
		if (n >= 100) {
			rt_puts("rt: interrupt storm\n");
			unexpected(f, mode);
		}
		return;
	}
	if ((f->cause == CAUSE_ECALL_U || f->cause == CAUSE_ECALL_S ||
	     f->cause == CAUSE_ECALL_M) && f->x[17] == RT_ECALL_EXIT) {
		do_exit_ecall(f, mode);
		return;
	}
	if (rt_exc_hook && rt_exc_hook(f, mode))
		return;
	if (rt_armed) {
		rt_last.cause = f->cause;
		rt_last.epc = f->epc;
		rt_last.tval = f->tval;
		rt_last.status = f->status;
		rt_last.mode = mode;
		rt_last.count++;
		if (rt_last.count > 3) rt_printf("rt: trap cause %lx epc %lx tval %lx\n", f->cause, f->epc, f->tval);
		if (rt_last.count > 20) {
			rt_puts("rt: trap loop\n");
			unexpected(f, mode);
		}
		skip_insn(f);
		return;
	}
	unexpected(f, mode);
}

/* ------------------------------------------------------------- more harts */

#ifndef RT_SBI
extern void (*volatile rt_hart_entry[])(u64 hartid);

void rt_start_hart(unsigned hartid, void (*fn)(u64 hartid))
{
	rt_hart_entry[hartid] = fn;
	__asm__ volatile("fence rw, rw" ::: "memory");
	mmio_w32(CLINT_MSIP(hartid), 1);
}
#endif

/* ----------------------------------------------------------------- memory */

static char *pool;

void *rt_alloc_pages(unsigned n, u64 align)
{
	if (!pool)
		pool = _end;
	u64 p = ((u64)pool + align - 1) & ~(align - 1);
	pool = (char *)(p + (u64)n * 4096);
	memset((void *)p, 0, (size_t)n * 4096);
	return (void *)p;
}

void *rt_alloc_page(void)
{
	return rt_alloc_pages(1, 4096);
}

void *memset(void *d, int c, size_t n)
{
	volatile u8 *p = d;
	while (n--)
		*p++ = (u8)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	volatile u8 *p = d;
	const u8 *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *p = a, *q = b;
	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p < *q ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

/* -------------------------------------------------------------------- SBI */

#ifdef RT_SBI
/* Entry of harts started through SBI HSM at rt_secondary_entry; tests that
 * start harts define their own. */
__attribute__((weak)) void secondary_main(u64 hartid, u64 opaque)
{
	for (;;)
		__asm__ volatile("wfi");
}
#endif

struct sbiret sbi_call(long ext, long fid, long a0, long a1, long a2,
		       long a3, long a4, long a5)
{
	register long r0 __asm__("a0") = a0;
	register long r1 __asm__("a1") = a1;
	register long r2 __asm__("a2") = a2;
	register long r3 __asm__("a3") = a3;
	register long r4 __asm__("a4") = a4;
	register long r5 __asm__("a5") = a5;
	register long r6 __asm__("a6") = fid;
	register long r7 __asm__("a7") = ext;
	__asm__ volatile("ecall"
			 : "+r"(r0), "+r"(r1)
			 : "r"(r2), "r"(r3), "r"(r4), "r"(r5), "r"(r6), "r"(r7)
			 : "memory");
	struct sbiret r = { r0, r1 };
	return r;
}
