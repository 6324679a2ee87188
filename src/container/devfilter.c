/* The device-node filter: a seccomp filter of ringvm's own, stacked under
 * whatever the config asks for (container.h devfilter_install).
 *
 * runc keeps a container away from the host's devices with the devices
 * cgroup (deny all, allow the default set).  A ringvm container often
 * has no cgroup at all (none is made unless a limit is asked for), and a
 * root container keeps CAP_MKNOD (runc's and docker's default set), so
 * without this a `mknod /dev/x b 8 0` on the /dev tmpfs (a mount without
 * nodev, as runtime-spec's defaults have it) would open the host's disk.
 * Creating block devices, and character devices other than the default
 * ones (runtime-spec config-linux.md "Default Devices": null, zero, full,
 * random, urandom, tty, console, ptmx, and 0:0, overlayfs' whiteout),
 * fails with EPERM, as it does in a rootless container.  The rootfs is
 * mounted nodev, so device nodes an image carries open nothing either.
 *
 * Classic BPF by hand: libseccomp cannot say "dev is none of these" (one
 * comparison per argument and rule, and ERRNO outranks ALLOW). */
#include "container/container.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define X32_BIT 0x40000000u
/* x86-64 and i386 numbers of mknod and mknodat. */
#define NR64_MKNOD 133
#define NR64_MKNODAT 259
#define NR32_MKNOD 14
#define NR32_MKNODAT 297

#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define DEV(ma, mi) (((ma) << 8) | (mi))   /* the syscall's u32 encoding */

#define LD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define JEQ(k, t, f) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))
#define RET(k) BPF_STMT(BPF_RET | BPF_K, (k))

#define ALLOW SECCOMP_RET_ALLOW
#define DENY (SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))

/* mode in args[m], dev in args[m + 1]: EPERM for a block device or a
 * character device outside the list, else allow.  17 instructions; the
 * jumps count the instructions they skip. */
#define CHECK(m) \
	/* 0 */ LD(ARG_LO(m)), \
	/* 1 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, S_IFMT), \
	/* 2 */ JEQ(S_IFBLK, 12, 0),            /* -> 15 deny */ \
	/* 3 */ JEQ(S_IFCHR, 1, 0),             /* -> 5 */ \
	/* 4 */ RET(ALLOW),                      /* not a device */ \
	/* 5 */ LD(ARG_LO((m) + 1)), \
	/* 6 */ JEQ(DEV(0, 0), 9, 0),           /* -> 16 allow */ \
	/* 7 */ JEQ(DEV(1, 3), 8, 0), \
	/* 8 */ JEQ(DEV(1, 5), 7, 0), \
	/* 9 */ JEQ(DEV(1, 7), 6, 0), \
	/* 10 */ JEQ(DEV(1, 8), 5, 0), \
	/* 11 */ JEQ(DEV(1, 9), 4, 0), \
	/* 12 */ JEQ(DEV(5, 0), 3, 0), \
	/* 13 */ JEQ(DEV(5, 1), 2, 0), \
	/* 14 */ JEQ(DEV(5, 2), 1, 0), \
	/* 15 */ RET(DENY), \
	/* 16 */ RET(ALLOW)

static const struct sock_filter prog[] = {
	/* 0 */ LD(offsetof(struct seccomp_data, arch)),
	/* 1 */ JEQ(AUDIT_ARCH_X86_64, 0, 4),     /* -> 6 */
	/* 2 */ LD(offsetof(struct seccomp_data, nr)),
	/* 3 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~X32_BIT),
	/* 4 */ JEQ(NR64_MKNOD, 6, 0),            /* -> 11 */
	/* 5 */ JEQ(NR64_MKNODAT, 22, 4),         /* -> 28, else 10 */
	/* 6 */ JEQ(AUDIT_ARCH_I386, 0, 3),       /* else -> 10 */
	/* 7 */ LD(offsetof(struct seccomp_data, nr)),
	/* 8 */ JEQ(NR32_MKNOD, 2, 0),            /* -> 11 */
	/* 9 */ JEQ(NR32_MKNODAT, 18, 0),         /* -> 28 */
	/* 10 */ RET(ALLOW),
	/* 11 */ CHECK(1),                        /* mknod: 11..27 */
	/* 28 */ CHECK(2),                        /* mknodat: 28..44 */
};
_Static_assert(sizeof(prog) / sizeof(prog[0]) == 45, "jump offsets above");

int devfilter_install(struct err *errp)
{
	struct sock_fprog fp = {
		.len = (unsigned short)(sizeof(prog) / sizeof(prog[0])),
		.filter = (struct sock_filter *)prog,
	};
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) < 0)
		return err_sys(errp, errno, "seccomp: install the device filter");
	return 0;
}
