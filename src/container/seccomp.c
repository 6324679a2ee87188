/* Seccomp for the container's process: the profile in config.json
 * (config-linux.md "Seccomp"), or ringvm's default deny list. */
#include "container/container.h"

#include <sched.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/seccomp.h>

/* Syscalls no container needs and that reach host-wide state or widen the
 * kernel's attack surface (the same spirit as docker's default profile,
 * expressed as a deny list). */
static const char *const denied[] = {
	"acct", "add_key", "bpf", "clock_adjtime", "clock_settime",
	"create_module", "delete_module", "finit_module", "fsconfig", "fsmount",
	"fsopen", "fspick", "get_kernel_syms", "init_module", "ioperm", "iopl",
	"kcmp", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie",
	"mount", "mount_setattr", "move_mount", "name_to_handle_at",
	"nfsservctl", "open_by_handle_at", "open_tree", "perf_event_open",
	"pivot_root", "process_vm_readv", "process_vm_writev", "query_module",
	"quotactl", "request_key", "setns", "settimeofday", "stime", "swapoff",
	"swapon", "_sysctl", "syslog", "umount", "umount2", "unshare",
	"uselib", "userfaultfd", "ustat", "vhangup",
};

static uint32_t act(enum oci_sc_action a, uint32_t err)
{
	switch (a) {
	case OCI_SC_KILL_THREAD: return SCMP_ACT_KILL_THREAD;
	case OCI_SC_KILL_PROCESS: return SCMP_ACT_KILL_PROCESS;
	case OCI_SC_TRAP: return SCMP_ACT_TRAP;
	case OCI_SC_ERRNO: return SCMP_ACT_ERRNO(err);
	case OCI_SC_TRACE: return SCMP_ACT_TRACE(err);
	case OCI_SC_LOG: return SCMP_ACT_LOG;
	case OCI_SC_ALLOW: break;
	}
	return SCMP_ACT_ALLOW;
}

static enum scmp_compare op(enum oci_sc_op o)
{
	switch (o) {
	case OCI_SC_NE: return SCMP_CMP_NE;
	case OCI_SC_LT: return SCMP_CMP_LT;
	case OCI_SC_LE: return SCMP_CMP_LE;
	case OCI_SC_EQ: return SCMP_CMP_EQ;
	case OCI_SC_GE: return SCMP_CMP_GE;
	case OCI_SC_GT: return SCMP_CMP_GT;
	case OCI_SC_MASKED_EQ: return SCMP_CMP_MASKED_EQ;
	}
	return SCMP_CMP_EQ;
}

static int default_profile(scmp_filter_ctx ctx)
{
	int r;
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		int nr = seccomp_syscall_resolve_name(denied[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0)) < 0)
			return r;
	}
	/* New namespaces: refused by flag.  clone3 passes flags in memory
	 * seccomp cannot read, so it answers ENOSYS and libc falls back to
	 * clone. */
	static const int nsf[] = { CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC,
		CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP };
	for (size_t i = 0; i < sizeof(nsf) / sizeof(nsf[0]); i++)
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
					  SCMP_SYS(clone), 1,
					  SCMP_A0(SCMP_CMP_MASKED_EQ,
						  (uint64_t)nsf[i], (uint64_t)nsf[i]))) < 0)
			return r;
	int nr = seccomp_syscall_resolve_name("clone3");
	if (nr != __NR_SCMP_ERROR &&
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0)) < 0)
		return r;
	return 0;
}

static int config_profile(scmp_filter_ctx ctx, const struct oci_seccomp *sc)
{
	for (size_t i = 0; i < sc->nrules; i++) {
		const struct oci_seccomp_rule *rl = &sc->rules[i];
		uint32_t a = act(rl->action, rl->errno_ret);
		if (a == act(sc->default_action, sc->default_errno))
			continue; /* libseccomp refuses rules equal to the default */
		struct scmp_arg_cmp c[6];
		for (size_t k = 0; k < rl->nargs && k < 6; k++)
			c[k] = (struct scmp_arg_cmp){ rl->args[k].index,
				op(rl->args[k].op), rl->args[k].value,
				rl->args[k].value_two };
		for (char **n = rl->names; n && *n; n++) {
			int nr = seccomp_syscall_resolve_name(*n);
			if (nr == __NR_SCMP_ERROR)
				continue; /* unknown here: the spec says skip */
			int r = seccomp_rule_add_array(ctx, a, nr,
						       (unsigned)rl->nargs, c);
			if (r < 0 && r != -EEXIST)
				return r;
		}
	}
	return 0;
}

int seccomp_prepare(const struct oci_config *cfg, struct sock_fprog *prog,
		    struct err *errp)
{
	const struct oci_seccomp *sc = cfg->seccomp;
	prog->len = 0;
	prog->filter = NULL;
	scmp_filter_ctx ctx = seccomp_init(sc ? act(sc->default_action,
						    sc->default_errno) :
					   SCMP_ACT_ALLOW);
	if (!ctx)
		return err_set(errp, ENOMEM, "seccomp: init");
	int r = sc ? config_profile(ctx, sc) : default_profile(ctx);
	if (r < 0) {
		seccomp_release(ctx);
		return err_sys(errp, -r, "seccomp: build the filter");
	}
	/* libseccomp 2.5 exports only to an fd. */
	int fd = memfd_create("ringvm-seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		seccomp_release(ctx);
		return err_sys(errp, errno, "seccomp: memfd");
	}
	r = seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	off_t len = r < 0 ? -1 : lseek(fd, 0, SEEK_END);
	if (len <= 0 || len % sizeof(struct sock_filter) ||
	    len > (off_t)(BPF_MAXINSNS * sizeof(struct sock_filter))) {
		close(fd);
		return err_sys(errp, r < 0 ? -r : E2BIG, "seccomp: compile the filter");
	}
	prog->filter = malloc((size_t)len);
	if (!prog->filter || pread(fd, prog->filter, (size_t)len, 0) != len) {
		free(prog->filter);
		prog->filter = NULL;
		close(fd);
		return err_set(errp, EIO, "seccomp: read the compiled filter");
	}
	close(fd);
	prog->len = (unsigned short)(len / (off_t)sizeof(struct sock_filter));
	return 0;
}

int seccomp_install(const struct sock_fprog *prog, struct err *errp)
{
	/* Stacked: every filter's verdict applies, the strictest wins. */
	int r = devfilter_install(errp);
	if (r)
		return r;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) < 0)
		return err_sys(errp, errno, "seccomp: install the filter");
	return 0;
}
