/* `ringvm exec --arch riscv64`: run an unmodified riscv64 Linux program on
 * this host by user-mode emulation (docs/EXEC.md).  The RV64 interpreter
 * runs the program in U-mode; its traps (ecall, faults) come to the
 * runtime in this directory, which translates Linux system calls to the
 * host's and keeps the program's address space in Sv39 page tables. */
#ifndef RINGVM_EXEC_EXEC_H
#define RINGVM_EXEC_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"

#define EXEC_MAX_MOUNTS 16

/* A host directory made visible at a guest path (--mount). */
struct exec_mount {
	const char *host;    /* host directory */
	const char *guest;   /* absolute guest path */
	bool ro;             /* writes refused with EROFS */
};

struct exec_config {
	/* Guest root directory (--root): every guest path resolves inside
	 * it (openat2 RESOLVE_IN_ROOT).  NULL: the host's / as is. */
	const char *root;
	struct exec_mount mounts[EXEC_MAX_MOUNTS];
	unsigned nmounts;
	/* Guest memory pool, bytes (--mem): page tables and every page the
	 * program touches come from it; host memory is used lazily. */
	uint64_t mem;
	/* Program path (a guest path) and its argv; argv[0] is passed as is. */
	const char *path;
	char *const *argv;
	/* The guest's environment (NULL-terminated). */
	char *const *envp;
	/* riscv64: how guest code runs (--accel interp|jit|jit-verify,
	 * engine/rv64/jit/jit.h); NULL: the default. */
	const char *accel;
	/* Log unimplemented system calls (once per number) to stderr. */
	bool verbose;
	/* Log every system call with its arguments and result to stderr
	 * (RINGVM_EXEC_TRACE=1; for debugging). */
	bool trace;
	/* The ringvm options to re-run an execve() with (`ringvm exec
	 * --arch riscv64 ... --`), NULL-terminated; argv of this process. */
	char *const *reexec_argv;
	/* x86_64 only, set by an execve inside the KVM sandbox (--kvm-fds
	 * "KVM,VM,SELF"): the /dev/kvm, VM and ringvm-binary descriptors the
	 * previous ringvm left open at the numbers its seccomp filter, which
	 * this process inherited, allows (kvm_proc.c).  NULL: a first start. */
	const char *kvm_fds;
	/* --env-exact (internal, from a riscv64 execve): the guest's
	 * environment is exactly the --env list. */
	bool env_exact;
	/* ringvm's own environment (before --env), NULL-terminated, or NULL:
	 * the host environment such a ringvm is started with.  The
	 * program's never is (LD_PRELOAD and the like would reach ringvm's
	 * loader, before any filter); it travels as --env. */
	char *const *host_envp;
};

/* Run the program to its end in this process.  Returns 0 with *status
 * the wait status the program ended with (W_EXITCODE(code, 0), or the
 * number of the signal that killed it when it died by one: the caller
 * re-raises it), or -errno with errp filled when it could not start
 * (no such file, not a riscv64 ELF, no memory).  Takes over the
 * process's signal dispositions while it runs; threads the program
 * creates are host threads of this process. */
int exec_run(const struct exec_config *cfg, int *status, struct err *errp);

/* End this process as a native one with wait status `status` ends: the
 * signal re-raised at itself with its default action (exit status
 * 128 + N if that does not end it), or exit_group with the code; every
 * thread at once, even those in blocking host calls. */
_Noreturn void exec_exit_as(int status);

#endif
