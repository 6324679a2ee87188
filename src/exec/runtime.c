/* The process: one rv_machine whose harts are the guest's threads, each
 * run by its own host thread (a guest thread is a host thread: its tid,
 * its signal mask and its blocking system calls are the host's).
 *
 * The run loop of a thread: rv_vcpu_run() executes guest code until the
 * hart traps (the machine's user_trap hook records the trap and kicks the
 * hart) or a host signal kicks it; then, outside the interpreter, the
 * trap is served (a system call, a page populated on first touch, or a
 * fault turned into a guest signal) and pending signals are delivered. */
#include "exec_int.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Exception causes (priv 1.12 table 3.6). */
enum { C_INSN_MISALIGNED = 0, C_INSN_ACCESS = 1, C_ILLEGAL = 2,
       C_BREAKPOINT = 3, C_LOAD_MISALIGNED = 4, C_LOAD_ACCESS = 5,
       C_STORE_MISALIGNED = 6, C_STORE_ACCESS = 7, C_ECALL_U = 8,
       C_INSN_PAGE = 12, C_LOAD_PAGE = 13, C_STORE_PAGE = 15 };

static struct exec_proc *proc_of(struct rv_machine *m)
{
	return (struct exec_proc *)((char *)m - offsetof(struct exec_proc, m));
}

/* rv_machine.user_trap: on the hart's thread, inside the interpreter. */
static void on_trap(struct rv_hart *h, uint64_t cause, uint64_t tval)
{
	struct exec_thread *t = proc_of(h->m)->threads[h->hartid];
	/* Calls that cannot block, fault the guest or change mappings are
	 * answered in place, without leaving rv_vcpu_run(): with no vDSO,
	 * clock_gettime and friends are frequent, and the way out and
	 * back in costs more than the call. */
	if (cause == C_ECALL_U && sys_is_fast(h->x[17])) {
		sys_dispatch(t);
		return;
	}
	t->trapped = true;
	t->cause = cause;
	t->tval = tval;
	rv_vcpu_kick(h);
}

int rt_thread_new(struct exec_proc *p, struct exec_thread **out)
{
	struct err e = { 0 };
	pthread_mutex_lock(&p->lock);
	unsigned slot = 0;
	while (slot < RV_MAX_HARTS && p->threads[slot] &&
	       !__atomic_load_n(&p->threads[slot]->gone, __ATOMIC_ACQUIRE))
		slot++;
	if (slot == RV_MAX_HARTS) {
		pthread_mutex_unlock(&p->lock);
		return -EAGAIN;
	}
	struct exec_thread *t = p->threads[slot];
	if (!t) {
		t = calloc(1, sizeof(*t));
		struct rv_hart *h = t ? rv_hart_new(&p->m, slot, &e) : NULL;
		if (!h) {
			free(t);
			pthread_mutex_unlock(&p->lock);
			return -ENOMEM;
		}
		t->h = h;
		p->m.harts[slot] = h;
		if (slot >= p->m.nharts)
			__atomic_store_n(&p->m.nharts, slot + 1,
					 __ATOMIC_RELEASE);
		p->threads[slot] = t;
	} else {
		struct rv_hart *h = t->h;
		memset(t, 0, sizeof(*t));
		t->h = h;
	}
	t->p = p;
	t->slot = slot;
	p->nthreads++;
	pthread_mutex_unlock(&p->lock);
	*out = t;
	return 0;
}

void rt_shootdown(struct exec_thread *t)
{
	rv_harts_flush(&t->p->m, t->h, ~0ULL, RV_REQ_TLB | RV_REQ_CODE);
}

void rt_exit_group(struct exec_thread *t, int status)
{
	struct exec_proc *p = t->p;
	pthread_mutex_lock(&p->lock);
	unsigned n = p->nthreads;
	pthread_mutex_unlock(&p->lock);
	if (n > 1 || t->slot != 0) {
		/* Other threads may sit in blocking host calls: end the
		 * process the way the native one ends, all at once. */
		exec_exit_as(status);
	}
	/* The only thread: unwind to exec_run(), which returns it. */
	p->exit_status = status;
	__atomic_store_n(&p->exiting, 1, __ATOMIC_RELEASE);
	t->exited = true;
}

static void serve_trap(struct exec_thread *t)
{
	struct rv_hart *h = t->h;
	t->trapped = false;
	switch (t->cause) {
	case C_ECALL_U:
		sys_dispatch(t);
		return;
	case C_INSN_PAGE:
	case C_LOAD_PAGE:
	case C_STORE_PAGE: {
		int acc = t->cause == C_INSN_PAGE ? 0 :
			  t->cause == C_LOAD_PAGE ? 1 : 2;
		int r = mm_fault(&t->p->mm, t->tval, acc);
		if (!r)
			return;   /* populated: the instruction runs again */
		if (r == -EIO)    /* a shared file's page past its end */
			sig_fault(t, SIGBUS, BUS_ADRERR, t->tval);
		else
			sig_fault(t, SIGSEGV, r == -EACCES ? SEGV_ACCERR :
				  SEGV_MAPERR, t->tval);
		return;
	}
	case C_ILLEGAL:
		sig_fault(t, SIGILL, ILL_ILLOPC, h->pc);
		return;
	case C_BREAKPOINT:
		sig_fault(t, SIGTRAP, TRAP_BRKPT, h->pc);
		return;
	case C_INSN_MISALIGNED:
	case C_LOAD_MISALIGNED:
	case C_STORE_MISALIGNED:
		sig_fault(t, SIGBUS, BUS_ADRALN, t->tval);
		return;
	default:
		sig_fault(t, SIGSEGV, SEGV_MAPERR, t->tval);
		return;
	}
}

void rt_thread_loop(struct exec_thread *t)
{
	struct exec_proc *p = t->p;
	while (!t->exited && !__atomic_load_n(&p->exiting, __ATOMIC_ACQUIRE)) {
		rv_vcpu_run(t->h);
		if (t->trapped)
			serve_trap(t);
		if (__atomic_load_n(&t->pending, __ATOMIC_ACQUIRE))
			sig_deliver_pending(t);
	}
}

void rt_thread_gone(struct exec_thread *t)
{
	sig_thread_attach(NULL);
	__atomic_store_n(&t->gone, 1, __ATOMIC_RELEASE);
}

int exec_run(const struct exec_config *cfg, int *status, struct err *errp)
{
	struct exec_proc *p = calloc(1, sizeof(*p));
	if (!p)
		return err_set(errp, ENOMEM, "no memory");
	int r;
	p->cfg = cfg;
	pthread_mutex_init(&p->lock, NULL);
	p->m.user_trap = on_trap;
	p->m.accel = RV_ACCEL_DEFAULT;
	if (cfg->accel && rv_accel_parse(cfg->accel, &p->m.accel,
					  &p->m.jit_code_bytes)) {
		r = err_set(errp, EINVAL, "--accel `%s`: expected interp, jit "
			    "or jit-verify[,tb-size=MiB]", cfg->accel);
		goto out;
	}
	r = guest_mem_add(&p->m.mem, EXEC_POOL_GPA, cfg->mem, errp);
	if (r)
		goto out;
	r = mm_init(&p->mm, &p->m.mem, errp);
	if (r)
		goto out;
	r = fs_init(&p->fs, cfg, errp);
	if (r)
		goto out;
	/* /proc/self/exe and AT_EXECFN name the program absolutely. */
	char cwd[4096];
	const char *path = cfg->path;
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	if (path[0] != '/' && !fs_getcwd(&p->fs, cwd, sizeof(cwd)))
		r = snprintf(p->exe, sizeof(p->exe), "%s%s%s", cwd,
			     strcmp(cwd, "/") ? "/" : "", path) >=
		    (int)sizeof(p->exe);
	else
		r = snprintf(p->exe, sizeof(p->exe), "%s", path) >=
		    (int)sizeof(p->exe);
	if (r) {
		r = err_set(errp, ENAMETOOLONG, "program path too long");
		goto out;
	}
	struct exec_thread *t;
	r = rt_thread_new(p, &t);
	if (r) {
		err_set(errp, -r, "cannot create the main thread");
		goto out;
	}
	t->tid = (pid_t)syscall(SYS_gettid);
	r = load_program(p, t, errp);
	if (r)
		goto out;
	r = sig_init(p, errp);
	if (r)
		goto out;
	sig_thread_attach(t);
	rt_thread_loop(t);
	if (!__atomic_load_n(&p->exiting, __ATOMIC_ACQUIRE)) {
		/* The main thread ended with exit() and others go on: the
		 * last of them ends the process (sys_proc.c, s_exit).  This
		 * thread takes no signal meanwhile. */
		sigset_t all;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, NULL);
		for (;;)
			pause();
	}
	*status = p->exit_status;
	sig_thread_attach(NULL);
out:
	/* Only reached with every guest thread gone. */
	for (unsigned i = 0; i < RV_MAX_HARTS; i++) {
		if (p->threads[i]) {
			rv_hart_free(p->threads[i]->h);
			free(p->threads[i]);
		}
	}
	for (unsigned i = 0; i < 3; i++)
		free(p->own[i]);
	if (p->argv_owned)
		free(p->argv);
	fs_free(&p->fs);
	mm_free(&p->mm);
	guest_mem_free(&p->m.mem);
	free(p);
	return r;
}
