/* The I/O queue of the KVM sandbox: system calls answered without a VM
 * exit.  On this host an exit costs ~30-40 µs while the `syscall`
 * instruction's own switch to the entry page costs ~7 µs, so the shim
 * (kvm_shim.c) hands the calls that neither block nor depend on the
 * calling thread — read, write, pread64, pwrite64 and lseek on a regular
 * file, fstat — to this thread through the vCPU's slot in a shared page,
 * and spins until the answer is there.
 *
 * The thread spins too while calls come (a host CPU), and after 200 µs
 * without one it says so in the time page (io_awake = 0) and sleeps on
 * a futex: the shim then takes the exit path, and that exit wakes it
 * (kx_ioq_kick) if the call was one it serves.  Store-then-load on both
 * sides (the shim: post, then read io_awake; the thread: clear io_awake,
 * then scan) with a full fence between, so a posted call is either seen
 * by the thread or taken back by the shim.  A call it should not serve
 * (not a regular file, one of the VMM's descriptors) is declined and
 * goes by the exit path, where the usual rules apply. */
#include "kvm_int.h"

#include <errno.h>
#include <signal.h>
#include <linux/futex.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define IDLE_NS 200000

static struct kx_ioslot *slots(struct kx *k)
{
	return (struct kx_ioslot *)(k->mem + k->sys + KX_IOQ);
}

static struct kx_time *tpage(struct kx *k)
{
	return (struct kx_time *)(k->mem + k->sys + KX_TIME);
}

struct kx_ioslot *kx_ioq_slot(struct kx_cpu *c)
{
	return &slots(c->k)[c->idx];
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* Does the call stay short and mean the same on any thread? */
static bool serves(struct kx *k, uint64_t nr, const uint64_t *a)
{
	if (nr != SYS_read && nr != SYS_write && nr != SYS_pread64 &&
	    nr != SYS_pwrite64 && nr != SYS_lseek && nr != SYS_fstat)
		return false;
	int fd = (int)a[0];
	if (fd < 0 || kx_internal_fd(k, fd))
		return false;
	struct stat st;
	if (fstat(fd, &st))
		return false;
	return nr == SYS_fstat || S_ISREG(st.st_mode);
}

/* Answer every posted call; true if there was one. */
static bool serve_all(struct kx *k)
{
	bool any = false;
	struct kx_ioslot *s = slots(k);
	for (unsigned i = 0; i < KX_MAX_CPUS; i++) {
		uint32_t posted = 1;
		if (atomic_load_explicit(&s[i].state, memory_order_acquire) != 1 ||
		    !atomic_compare_exchange_strong(&s[i].state, &posted, 2))
			continue;
		any = true;
		uint64_t nr = s[i].nr, a[6];
		memcpy(a, s[i].a, sizeof(a));
		if (!serves(k, nr, a)) {
			atomic_store_explicit(&s[i].state, 4, memory_order_release);
			continue;
		}
		s[i].ret = kx_syscall(&k->io_cpu, nr, a);
		atomic_store_explicit(&s[i].state, 3, memory_order_release);
	}
	return any;
}

static void *server(void *arg)
{
	struct kx *k = arg;
	struct kx_time *t = tpage(k);
	/* The program's signals are for its vCPU threads: one the host
	 * gave this thread would be lost. */
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	uint64_t idle = now_ns();
	while (!atomic_load(&k->exited)) {
		if (serve_all(k)) {
			idle = now_ns();
			continue;
		}
		if (now_ns() - idle < IDLE_NS) {
			__builtin_ia32_pause();
			continue;
		}
		atomic_store(&t->io_awake, 0);
		atomic_thread_fence(memory_order_seq_cst);
		if (serve_all(k)) {         /* posted just before: ours */
			atomic_store(&t->io_awake, 1);
			idle = now_ns();
			continue;
		}
		while (!atomic_load(&k->exited) &&
		       !atomic_exchange(&k->io_wake, 0))
			syscall(SYS_futex, &k->io_wake, FUTEX_WAIT_PRIVATE, 0,
				NULL, NULL, 0);
		atomic_store(&t->io_awake, 1);
		idle = now_ns();
	}
	atomic_store(&t->io_awake, 0);
	return NULL;
}

void kx_ioq_kick(struct kx *k, uint64_t nr, const uint64_t *a)
{
	if (atomic_load(&tpage(k)->io_awake) || !serves(k, nr, a))
		return;
	if (!k->io_started) {
		pthread_mutex_lock(&k->lock);
		if (!k->io_started) {
			k->io_cpu.k = k;
			k->io_cpu.fd = -1;
			atomic_store(&tpage(k)->io_awake, 1);
			k->io_started = !pthread_create(&k->io_thread, NULL,
							server, k);
			if (!k->io_started)
				atomic_store(&tpage(k)->io_awake, 0);
		}
		pthread_mutex_unlock(&k->lock);
		return;
	}
	atomic_store(&k->io_wake, 1);
	syscall(SYS_futex, &k->io_wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void kx_ioq_stop(struct kx *k)
{
	if (!k->io_started)
		return;
	atomic_store(&k->io_wake, 1);
	syscall(SYS_futex, &k->io_wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	pthread_join(k->io_thread, NULL);
	k->io_started = false;
}

void kx_ioq_reset(struct kx *k)
{
	k->io_started = false;
	atomic_store(&k->io_wake, 0);
	atomic_store(&tpage(k)->io_awake, 0);
	struct kx_ioslot *s = slots(k);
	for (unsigned i = 0; i < KX_MAX_CPUS; i++)
		atomic_store(&s[i].state, 0);
}
