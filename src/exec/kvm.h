/* `ringvm exec` of x86-64 Linux programs: the program runs in ring 3 of a
 * KVM virtual machine built by this process, its system calls exit to
 * the VMM, which serves them with the host's (docs/EXEC.md, "x86-64 on
 * KVM"). */
#ifndef RINGVM_EXEC_KVM_H
#define RINGVM_EXEC_KVM_H

#include "exec.h"

/* Run the x86-64 program cfg->path (static, or dynamic with its
 * interpreter read through cfg->root) to its end in this process.
 * cfg->mem bytes of guest memory (clamped to 64 MiB..3 GiB) back the
 * whole address space; host memory is used lazily.  Returns 0 with
 * *status a wait status (W_EXITCODE(code, 0), or the signal number the
 * program died of: the caller re-raises it), or -errno with errp filled
 * when it could not start: -ENODEV no usable /dev/kvm or KVM_CREATE_VM
 * refused, -ENOENT no such program, -ENOEXEC not an x86-64 ELF (or a
 * bad interpreter).  The program's threads are host threads of this
 * process; its children are host forks of it (one forked by the main
 * thread returns from here too, with its own program's status; one
 * forked by another thread exits in kvm_proc.c), and its execve replaces
 * this process by a new ringvm (kvm_proc.c).  Once the program runs, the
 * process is under a seccomp filter (kvm_seccomp.c) for the rest of its
 * life: the caller may only print and exit. */
int exec_kvm_run(const struct exec_config *cfg, int *status,
		 struct err *errp);

#endif
