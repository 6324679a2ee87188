/* The container's command: found along its PATH, set up and exec'd. */
#include "container/container.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static bool is_exec_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

int exec_lookup(const struct oci_config *cfg, char *out, size_t cap,
		struct err *errp)
{
	const char *prog = cfg->args[0];
	if (strchr(prog, '/')) {
		if ((size_t)snprintf(out, cap, "%s", prog) >= cap)
			return err_set(errp, ENAMETOOLONG, "exec: `%.64s`: name too long", prog);
		if (!is_exec_file(out))
			return err_sys(errp, errno ? errno : EACCES,
				       "exec: `%.200s`", prog);
		return 0;
	}
	const char *path = DEFAULT_PATH;
	for (char **e = cfg->env; e && *e; e++)
		if (!strncmp(*e, "PATH=", 5))
			path = *e + 5;
	for (const char *s = path; *s;) {
		const char *end = strchrnul(s, ':');
		int n = snprintf(out, cap, "%.*s/%s", (int)(end - s), s, prog);
		if (n > 0 && (size_t)n < cap && end > s && is_exec_file(out))
			return 0;
		s = *end ? end + 1 : end;
	}
	return err_set(errp, ENOENT, "exec: `%.200s`: executable file not found in $PATH",
		       prog);
}

int exec_rlimits(const struct oci_config *cfg, struct err *errp)
{
	/* Raising a hard limit needs CAP_SYS_RESOURCE (in the initial user
	 * namespace); one that cannot be set is an error, as the spec
	 * requires. */
	for (size_t i = 0; i < cfg->n_rlimits; i++) {
		struct rlimit rl = { .rlim_cur = cfg->rlimits[i].soft,
				     .rlim_max = cfg->rlimits[i].hard };
		if (setrlimit(cfg->rlimits[i].resource, &rl) < 0)
			return err_sys(errp, errno, "process.rlimits: %s soft %llu hard %llu",
				       cfg->rlimits[i].name,
				       (unsigned long long)rl.rlim_cur,
				       (unsigned long long)rl.rlim_max);
	}
	return 0;
}

int exec_process(const struct oci_config *cfg, const char *path, int slave,
		 const struct sock_fprog *filter, struct err *errp)
{
	if (setsid() < 0)
		return err_sys(errp, errno, "process: setsid");
	if (slave >= 0) {
		if (ioctl(slave, TIOCSCTTY, 0) < 0)
			return err_sys(errp, errno, "process: controlling terminal");
		for (int fd = 0; fd < 3; fd++)
			if (dup2(slave, fd) < 0)
				return err_sys(errp, errno, "process: terminal stdio");
		if (slave > 2)
			close(slave);
	}
	if (chdir(cfg->cwd) < 0)
		return err_sys(errp, errno, "process: cwd %.200s", cfg->cwd);
	int r;
	/* Without no_new_privs only a privileged process may load a
	 * filter, so it goes on before the privileges are dropped. */
	if (!cfg->no_new_privileges && (r = seccomp_install(filter, errp)))
		return r;
	if ((r = caps_apply(cfg, errp)))
		return r;
	if (cfg->no_new_privileges) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			return err_sys(errp, errno, "process: no_new_privs");
		if ((r = seccomp_install(filter, errp)))
			return r;
	}
	char *const empty[] = { NULL };
	execve(path, cfg->args, cfg->env ? cfg->env : empty);
	return err_sys(errp, errno, "exec: `%.200s`", path);
}
