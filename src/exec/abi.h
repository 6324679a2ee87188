/* The riscv64 Linux user ABI structures whose layout differs from
 * x86-64's (or that only riscv64 has), as the guest sees them, and their
 * conversions.  Everything else the runtime passes (statx, timespec,
 * iovec, msghdr, sockaddr, dirent64, termios, statfs, rlimit, rusage,
 * utsname) has one layout on both LP64 ABIs. */
#ifndef RINGVM_EXEC_ABI_H
#define RINGVM_EXEC_ABI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* asm-generic/stat.h: struct stat as riscv64 user space sees it. */
struct rv_stat {
	uint64_t dev, ino;
	uint32_t mode, nlink, uid, gid;
	uint64_t rdev, pad1;
	int64_t size;
	int32_t blksize, pad2;
	int64_t blocks;
	int64_t atime;
	uint64_t atime_ns;
	int64_t mtime;
	uint64_t mtime_ns;
	int64_t ctime;
	uint64_t ctime_ns;
	uint32_t unused4, unused5;
};
_Static_assert(sizeof(struct rv_stat) == 128, "asm-generic struct stat");

/* Fill the guest's struct stat from the host's (every field; the riscv64
 * padding zeroed). */
static inline void abi_stat_from_host(struct rv_stat *r, const struct stat *s)
{
	*r = (struct rv_stat){
		.dev = s->st_dev, .ino = s->st_ino, .mode = s->st_mode,
		.nlink = (uint32_t)s->st_nlink, .uid = s->st_uid,
		.gid = s->st_gid, .rdev = s->st_rdev, .size = s->st_size,
		.blksize = (int32_t)s->st_blksize, .blocks = s->st_blocks,
		.atime = s->st_atim.tv_sec, .atime_ns = (uint64_t)s->st_atim.tv_nsec,
		.mtime = s->st_mtim.tv_sec, .mtime_ns = (uint64_t)s->st_mtim.tv_nsec,
		.ctime = s->st_ctim.tv_sec, .ctime_ns = (uint64_t)s->st_ctim.tv_nsec,
	};
}

/* riscv64's struct epoll_event is 16 bytes (u32 events, 4 padding, u64
 * data); x86-64's is packed to 12. */
struct rv_epoll_event {
	uint32_t events, pad;
	uint64_t data;
};

/* riscv64 uapi: struct ucontext (asm/ucontext.h) with its 1024-bit
 * sigmask area and struct sigcontext (asm/sigcontext.h). */
struct rv_ucontext {
	uint64_t flags, link;
	uint64_t ss_sp;
	int32_t ss_flags, ss_pad;
	uint64_t ss_size;
	uint64_t sigmask;
	uint8_t unused[120];
	uint64_t pad_to_16;       /* mcontext is 16-byte aligned */
	uint64_t regs[32];        /* pc, then x1..x31 */
	uint64_t f[32];           /* __riscv_d_ext_state */
	uint32_t fcsr;
	uint8_t fp_rest[528 - 256 - 4];   /* union with the Q state; the
					   * extension header (magic 0 =
					   * end) lies at its end */
};
_Static_assert(offsetof(struct rv_ucontext, regs) == 176, "uc_mcontext");
_Static_assert(sizeof(struct rv_ucontext) == 960, "struct ucontext");

struct rv_sigframe {
	uint8_t info[128];
	struct rv_ucontext uc;
};

#endif
