/* ringvm exec --arch riscv64 [options] -- PROG ARGS...: run a riscv64
 * Linux program on this host (src/exec/, docs/EXEC.md); and the
 * binfmt_misc registration that makes riscv64 ELFs run through it. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "core/parse.h"
#include "exec/exec.h"
#include "exec/kvm.h"
#include "engine/rv64/jit/jit.h"

#define BINFMT_DIR "/proc/sys/fs/binfmt_misc"
#define BINFMT_NAME "ringvm-riscv64"

extern char **environ;

static void usage(FILE *f)
{
	fprintf(f,
"usage: ringvm exec [--arch x86_64|riscv64] [options] [--] PROG [ARGS...]\n"
"       ringvm exec --install-binfmt | --uninstall-binfmt\n"
"\n"
"Run an unmodified Linux program (static or dynamic) on this host: x86_64\n"
"(the default; in ring 3 of a KVM sandbox) or riscv64 (by user-mode\n"
"emulation).\n"
"\n"
"  --arch ARCH            the program's architecture: x86_64 or riscv64\n"
"  --root DIR             the guest's /: every path resolves inside DIR\n"
"                         (default: the host's / as is)\n"
"  --mount HOST:GUEST[:ro]  show host directory HOST at GUEST (repeatable)\n"
"  --env K=V              set an environment variable (repeatable; the rest\n"
"                         of the environment is ringvm's own)\n"
"  --mem SIZE             guest memory (default 2G, x86_64 at most 3G;\n"
"                         used lazily)\n"
"  --accel MODE           riscv64: interp, jit (translate hot code to\n"
"                         x86-64) or jit-verify (both, in lockstep);\n"
"                         default: RINGVM_ACCEL, else jit\n"
"  --verbose              log unimplemented system calls to stderr\n"
"  --install-binfmt       register riscv64 ELFs with binfmt_misc (root)\n"
"  --uninstall-binfmt     remove that registration\n"
"\n"
"The exit status is the program's; a program killed by a signal kills\n"
"ringvm with the same signal.  RINGVM_EXEC_VERBOSE=1 = --verbose.\n");
}

/* binfmt_misc: ELF64 LE, ET_EXEC or ET_DYN, EM_RISCV.  Flags: P (keep
 * argv[0]), O (the kernel opens the program: AT_EXECFD marks the call),
 * F (the interpreter is opened now, so it works in other mount
 * namespaces). */
static int binfmt(bool install)
{
	char self[PATH_MAX];
	if (!install) {
		FILE *f = fopen(BINFMT_DIR "/" BINFMT_NAME, "w");
		if (!f || fputs("-1", f) == EOF || fclose(f)) {
			fprintf(stderr, "ringvm exec: cannot remove %s: %s\n",
				BINFMT_DIR "/" BINFMT_NAME, strerror(errno));
			return 1;
		}
		return 0;
	}
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		fprintf(stderr, "ringvm exec: cannot find myself\n");
		return 1;
	}
	self[n] = 0;
	static const char magic[] =
		"\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
		"\\x00\\x00\\x02\\x00\\xf3\\x00";
	static const char mask[] =
		"\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff"
		"\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff";
	FILE *f = fopen(BINFMT_DIR "/register", "w");
	if (!f) {
		fprintf(stderr, "ringvm exec: %s: %s (mounted? root?)\n",
			BINFMT_DIR "/register", strerror(errno));
		return 1;
	}
	fprintf(f, ":%s:M::%s:%s:%s:POF", BINFMT_NAME, magic, mask, self);
	if (fclose(f)) {
		fprintf(stderr, "ringvm exec: binfmt_misc registration "
			"refused: %s (another riscv64 handler such as "
			"qemu-riscv64 registered?)\n", strerror(errno));
		return 1;
	}
	return 0;
}

static int finish(int r, int status, struct err *e)
{
	if (r) {
		fprintf(stderr, "ringvm exec: %s\n", e->msg);
		return r == -ENOENT ? 127 : 126;
	}
	if (WIFSIGNALED(status) || (status & 0x7f))
		exec_exit_as(status);     /* the program's signal, as native */
	return WEXITSTATUS(status);
}

/* The environment's pointers as they are now (putenv changes the array,
 * not the strings). */
static char **env_copy(void)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **v = calloc(n + 1, sizeof(char *));
	if (v)
		memcpy(v, environ, n * sizeof(char *));
	return v;
}

static char *abs_path(const char *p)
{
	char *r = realpath(p, NULL);
	return r ? r : strdup(p);
}

int cli_exec(int argc, char **argv)
{
	static struct exec_config cfg;
	struct err e = { 0 };
	const char *arch = NULL, *argv0 = NULL;
	char **envs = calloc((size_t)argc + 1, sizeof(char *));
	char **reexec = calloc((size_t)argc + 8, sizeof(char *));
	/* strings made here (absolute paths, split --mount values) */
	char **own = calloc((size_t)argc * 3 + 1, sizeof(char *));
	char **host_env = NULL;
	size_t nenv = 0, nre = 0, nown = 0;
	int i, ret = 1;

	if (!envs || !reexec || !own) {
		fprintf(stderr, "ringvm exec: out of memory\n");
		goto out;
	}
	cfg.mem = 2ULL << 30;
	cfg.verbose = getenv("RINGVM_EXEC_VERBOSE") &&
		      !strcmp(getenv("RINGVM_EXEC_VERBOSE"), "1");
	cfg.trace = getenv("RINGVM_EXEC_TRACE") &&
		    !strcmp(getenv("RINGVM_EXEC_TRACE"), "1");
	reexec[nre++] = "/proc/self/exe";
	reexec[nre++] = "exec";
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-')
			break;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			ret = 0;
			goto out;
		}
		if (!strcmp(a, "--install-binfmt") ||
		    !strcmp(a, "--uninstall-binfmt")) {
			ret = binfmt(!strcmp(a, "--install-binfmt"));
			goto out;
		}
		if (!strcmp(a, "--verbose")) {
			cfg.verbose = true;
			reexec[nre++] = "--verbose";
			continue;
		}
		if (!strcmp(a, "--env-exact")) {
			cfg.env_exact = true;   /* from execve in the sandbox */
			continue;
		}
		if (!v) {
			fprintf(stderr, "ringvm exec: %s needs a value\n", a);
			goto out;
		}
		i++;
		if (!strcmp(a, "--arch")) {
			arch = v;
			reexec[nre++] = "--arch";
			reexec[nre++] = (char *)v;
		} else if (!strcmp(a, "--accel")) {
			enum rv_accel acc;
			size_t tb;
			if (rv_accel_parse(v, &acc, &tb)) {
				fprintf(stderr, "ringvm exec: --accel %s: want "
					"interp, jit or jit-verify[,tb-size=MiB]\n", v);
				goto out;
			}
			cfg.accel = v;
			reexec[nre++] = "--accel";
			reexec[nre++] = (char *)v;
		} else if (!strcmp(a, "--root")) {
			cfg.root = own[nown++] = abs_path(v);
			reexec[nre++] = "--root";
			reexec[nre++] = (char *)cfg.root;
		} else if (!strcmp(a, "--mount")) {
			if (cfg.nmounts == EXEC_MAX_MOUNTS) {
				fprintf(stderr, "ringvm exec: too many --mount\n");
				goto out;
			}
			char *s = own[nown++] = strdup(v);
			char *g = s ? strchr(s, ':') : NULL;
			if (!g) {
				fprintf(stderr, "ringvm exec: --mount %s: want "
					"HOST:GUEST[:ro]\n", v);
				goto out;
			}
			*g++ = 0;
			char *opt = strchr(g, ':');
			bool ro = false;
			if (opt) {
				*opt++ = 0;
				if (strcmp(opt, "ro") && strcmp(opt, "rw")) {
					fprintf(stderr, "ringvm exec: --mount "
						"option %s: want ro or rw\n", opt);
					goto out;
				}
				ro = !strcmp(opt, "ro");
			}
			char *host = own[nown++] = abs_path(s);
			cfg.mounts[cfg.nmounts++] =
				(struct exec_mount){ host, g, ro };
			char *re = own[nown++] =
				malloc(strlen(host) + strlen(g) + 8);
			if (re)
				sprintf(re, "%s:%s%s", host, g, ro ? ":ro" : "");
			reexec[nre++] = "--mount";
			reexec[nre++] = re ? re : (char *)v;
		} else if (!strcmp(a, "--env")) {
			if (!strchr(v, '=')) {
				fprintf(stderr, "ringvm exec: --env %s: want "
					"K=V\n", v);
				goto out;
			}
			envs[nenv++] = (char *)v;
		} else if (!strcmp(a, "--mem")) {
			uint64_t m;
			if (parse_size(v, 1ULL << 20, &m, "--mem", &e) || m < (16ULL << 20) ||
			    m > (64ULL << 30)) {
				fprintf(stderr, "ringvm exec: --mem %s: want "
					"16M..64G\n", v);
				goto out;
			}
			cfg.mem = (m + 4095) & ~4095ULL;
			reexec[nre++] = "--mem";
			reexec[nre++] = (char *)v;
		} else if (!strcmp(a, "--argv0")) {
			argv0 = v;
		} else if (!strcmp(a, "--kvm-fds")) {
			cfg.kvm_fds = v;   /* from execve in the sandbox */
		} else {
			fprintf(stderr, "ringvm exec: unknown option %s\n", a);
			goto out;
		}
	}
	if (!cfg.accel) {
		if (cli_accel_env(&cfg.accel, &e)) {
			fprintf(stderr, "ringvm exec: %s\n", e.msg);
			goto out;
		}
		if (cfg.accel) {
			reexec[nre++] = "--accel";
			reexec[nre++] = (char *)cfg.accel;
		}
	}
	if (!arch)
		arch = "x86_64";
	if (strcmp(arch, "riscv64") && strcmp(arch, "x86_64") &&
	    strcmp(arch, "amd64")) {
		fprintf(stderr, "ringvm exec: --arch %s: want x86_64 or "
			"riscv64\n", arch);
		goto out;
	}
	if (i >= argc) {
		usage(stderr);
		goto out;
	}
	/* ringvm's own environment, before the program's is mixed in. */
	host_env = env_copy();
	/* From execve in the sandbox: the program's environment is exactly
	 * the --env list; ringvm's own stays as it came. */
	bool exact = cfg.kvm_fds || cfg.env_exact;
	for (size_t k = 0; k < nenv && !exact; k++)
		if (putenv(envs[k])) {
			fprintf(stderr, "ringvm exec: --env: out of memory\n");
			goto out;
		}
	cfg.path = argv[i];
	if (argv0)
		argv[i] = (char *)argv0;
	cfg.argv = argv + i;
	cfg.envp = exact ? envs : environ;
	cfg.host_envp = host_env;
	cfg.reexec_argv = reexec;
	int status = 0;
	int r = strcmp(arch, "riscv64") ? exec_kvm_run(&cfg, &status, &e) :
		exec_run(&cfg, &status, &e);
	ret = finish(r, status, &e);
out:
	for (size_t k = 0; own && k < nown; k++)
		free(own[k]);
	free(own);
	free(envs);
	free(reexec);
	free(host_env);
	return ret;
}

int cli_exec_binfmt(int argc, char **argv)
{
	/* binfmt_misc with P and O: argv = [ringvm, /full/path, argv0,
	 * args...]; the host's filesystem, as the program asked for. */
	static struct exec_config cfg;
	struct err e = { 0 };
	static char *reexec[] = { "/proc/self/exe", "exec", "--arch",
				  "riscv64", NULL };
	if (argc < 3) {
		fprintf(stderr, "ringvm: binfmt_misc call without a program\n");
		return 126;
	}
	cfg.mem = 2ULL << 30;
	if (cli_accel_env(&cfg.accel, &e))
		return finish(-EINVAL, 0, &e);
	cfg.path = argv[1];
	cfg.argv = argv + 2;
	cfg.envp = environ;
	cfg.reexec_argv = reexec;
	int status = 0;
	int r = exec_run(&cfg, &status, &e);
	return finish(r, status, &e);
}

bool cli_exec_is_binfmt(void)
{
	return getauxval(AT_EXECFD) != 0;
}
