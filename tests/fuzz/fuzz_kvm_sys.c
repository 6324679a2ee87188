/* The KVM sandbox's system-call layer (src/exec/kvm_sys.c, kvm_net.c,
 * kvm_mm.c, kvm_pt.c) on hostile arguments and hostile guest memory: the
 * input is a syscall choice, its six arguments and an image of the
 * program's memory (msghdr, iovecs, control data, sigaltstack, futex
 * words, paths...).  No KVM: the "program" is a buffer the layer reads
 * and writes as it would guest memory; the calls act on descriptors this
 * harness made (a stream socketpair, a pipe, a UDP socket, a memfd, a
 * directory), so nothing outside the process changes.  Calls that would
 * signal, block, sleep, fork, exec or touch the host's files by path are
 * not offered.  Every descriptor a call creates is closed afterwards. */
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "exec/kvm_int.h"

#define MEM (64ULL << 20)
#define IMG (KX_2M)        /* the image starts at the user range */

static struct kx *k;
static struct kx_cpu *c;
static struct exec_config cfg;
static int fds[6];             /* sp[0], sp[1], pipe r, pipe w, udp, memfd */
static int first_free;         /* descriptors from here are the calls' */

static void setup(void)
{
	k = calloc(1, sizeof(*k));
	c = calloc(1, sizeof(*c));
	k->cfg = &cfg;
	k->kvm = k->vm = k->self_fd = -1;
	k->fs.root_fd = -1;
	k->size = MEM;
	k->sys = MEM - KX_2M;
	k->mem = mmap(NULL, MEM, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (k->mem == MAP_FAILED)
		abort();
	pthread_mutex_init(&k->lock, NULL);
	pthread_mutex_init(&k->time_lock, NULL);
	pthread_cond_init(&k->gone, NULL);
	k->brk_start = k->brk_cur = 8ULL << 20;
	k->brk_max = 16ULL << 20;
	k->mmap_lo = 16ULL << 20;
	k->stack_lo = k->sys - (8ULL << 20);
	k->mmap_hi = k->stack_lo - KX_2M;
	k->bitmap = calloc((k->mmap_hi - k->mmap_lo) / KX_PAGE / 8 + 1, 1);
	if (kx_pt_init(&k->pt, k->mem, k->sys, false))
		abort();
	c->k = k;
	c->fd = -1;
	c->run = calloc(1, sizeof(*c->run));
	k->cpu[0] = c;
	/* A send on a shut-down socket must not end the fuzzer. */
	signal(SIGPIPE, SIG_IGN);
	int sp[2], pp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp) ||
	    pipe2(pp, O_NONBLOCK))
		abort();
	fds[0] = sp[0];
	fds[1] = sp[1];
	fds[2] = pp[0];
	fds[3] = pp[1];
	fds[4] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	fds[5] = memfd_create("fuzz", 0);
	/* As large as the whole memory: a shared mapping of it never
	 * reaches past its end (the harness's own stores would SIGBUS). */
	if (fds[4] < 0 || fds[5] < 0 || ftruncate(fds[5], (off_t)MEM))
		abort();
	first_free = fds[5] + 1;
}

/* The calls offered, and which of the harness's descriptors their first
 * argument is (NOFD: it is not a descriptor). */
enum fdk { NOFD, ANY, STREAM };
static const struct { long nr; enum fdk fdk; } calls[] = {
	{ SYS_read, ANY }, { SYS_write, ANY }, { SYS_readv, ANY },
	{ SYS_writev, ANY }, { SYS_pread64, ANY }, { SYS_pwrite64, ANY },
	{ SYS_preadv, ANY }, { SYS_pwritev, ANY },
	{ SYS_sendmsg, STREAM }, { SYS_recvmsg, STREAM },
	{ SYS_sendmmsg, STREAM }, { SYS_recvmmsg, STREAM },
	{ SYS_sendto, STREAM }, { SYS_recvfrom, STREAM },
	{ SYS_setsockopt, ANY }, { SYS_getsockopt, ANY },
	{ SYS_getsockname, ANY }, { SYS_getpeername, ANY },
	{ SYS_shutdown, STREAM }, { SYS_poll, NOFD }, { SYS_fstat, ANY },
	{ SYS_ioctl, ANY }, { SYS_fcntl, ANY }, { SYS_lseek, ANY },
	{ SYS_sigaltstack, NOFD }, { SYS_futex, NOFD }, { SYS_getcwd, NOFD },
	{ SYS_uname, NOFD }, { SYS_sysinfo, NOFD }, { SYS_getrandom, NOFD },
	{ SYS_clock_gettime, NOFD }, { SYS_gettimeofday, NOFD },
	{ SYS_time, NOFD }, { SYS_mmap, NOFD }, { SYS_munmap, NOFD },
	{ SYS_mprotect, NOFD }, { SYS_mremap, NOFD }, { SYS_brk, NOFD },
	{ SYS_madvise, NOFD }, { SYS_msync, NOFD },
	{ SYS_set_tid_address, NOFD }, { SYS_prlimit64, NOFD },
	{ SYS_sched_getaffinity, NOFD }, { SYS_socketpair, NOFD },
	{ SYS_epoll_create1, NOFD },
};

/* An argument from 9 input bytes: a small number, a descriptor, an
 * address in (or just outside) the image, or any 64-bit value. */
static uint64_t arg(const uint8_t *b, enum fdk fdk, int i)
{
	uint64_t v;
	memcpy(&v, b + 1, 8);
	switch (b[0] % 6) {
	case 0: return v & 0xff;
	case 1: return v & 0xffff;
	case 2: case 3: return IMG + (v % (256 * 1024));
	case 4: return k->sys - (v & 0xfff);       /* near the system area */
	default: return v;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!k)
		setup();
	if (size < 1 + 6 * 9)
		return 0;
	unsigned ci = data[0] % (sizeof(calls) / sizeof(calls[0]));
	long nr = calls[ci].nr;
	uint64_t a[6];
	for (int i = 0; i < 6; i++)
		a[i] = arg(data + 1 + i * 9, calls[ci].fdk, i);
	/* A descriptor argument is always one of the harness's: others
	 * are the fuzzer's own (stdin would block, closing one would
	 * break it). */
	if (calls[ci].fdk != NOFD)
		a[0] = (uint64_t)fds[a[0] % (calls[ci].fdk == STREAM ? 2 : 6)];
	switch (nr) {
	case SYS_poll:
		a[2] = 0;                      /* never wait */
		break;
	case SYS_futex:
		/* Wakes and requeues only: a wait could wait forever. */
		a[1] = (a[1] & FUTEX_PRIVATE_FLAG) |
		       (uint64_t[]){ FUTEX_WAKE, FUTEX_REQUEUE,
				     FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP,
				     FUTEX_WAKE_BITSET }[a[1] % 5];
		break;
	case SYS_fcntl:
		/* Not F_SETFL (a blocking descriptor would block the next
		 * read), not F_SETLKW (it waits), not F_SETOWN/SIG (signals). */
		if (a[1] == F_SETFL || a[1] == F_SETLKW || a[1] == F_SETOWN ||
		    a[1] == F_SETSIG || a[1] == F_SETOWN_EX)
			a[1] = F_GETFL;
		break;
	case SYS_mmap:
		/* A file mapping maps the harness's memfd, from its start. */
		if (!(a[3] & MAP_ANONYMOUS)) {
			a[4] = (uint64_t)fds[5];
			a[5] = 0;
		}
		break;
	case SYS_recvmsg: case SYS_recvmmsg: case SYS_recvfrom:
		a[2 + (nr == SYS_recvmmsg)] |= MSG_DONTWAIT;
		if (nr == SYS_recvmmsg)
			a[4] = 0;              /* no timeout: never wait */
		break;
	case SYS_ioctl:
		/* The requests kvm_sys.c lets through, but none that makes
		 * a terminal ours or sets its modes. */
		a[1] = (uint64_t[]){ 0x5401 /* TCGETS */, 0x5413 /* TIOCGWINSZ */,
				     0x541b /* FIONREAD */, 0x540f /* TIOCGPGRP */,
				     0x5421 /* FIONBIO */ }[a[1] % 5];
		break;
	}
	/* The image: the rest of the input at the user range's start. */
	size_t n = size - (1 + 6 * 9);
	if (n > 256 * 1024)
		n = 256 * 1024;
	memset(k->mem + IMG, 0, 256 * 1024 + 4096);
	memcpy(k->mem + IMG, data + 1 + 6 * 9, n);
	struct kvm_regs rg = { .rsp = IMG + 128 * 1024 };
	c->regs = &rg;
	(void)kx_syscall(c, (uint64_t)nr, a);
	c->regs = NULL;
	/* Descriptors the call made (socketpair, epoll, received rights,
	 * F_DUPFD) go; the harness's stay as they were. */
	syscall(SYS_close_range, first_free, ~0U, 0);
	for (int i = 0; i < 6; i++)
		fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
	/* Keep the pipe and the socketpair from filling up. */
	char sink[65536];
	while (read(fds[2], sink, sizeof(sink)) > 0)
		;
	while (read(fds[0], sink, sizeof(sink)) > 0)
		;
	while (read(fds[1], sink, sizeof(sink)) > 0)
		;
	return 0;
}
