/* Loading a program as Linux's binfmt_elf does: the PT_LOAD segments at
 * their addresses (a PIE at EXEC_PIE_BASE), the PT_INTERP interpreter
 * (from the guest's root) placed like an mmap, brk after the program,
 * and the initial stack: strings, argv, envp, auxv (System V ABI
 * "Process Initialization"; RISC-V psABI: sp 16-byte aligned). */
#include "exec_int.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/file.h"

#define MAX_IMAGE (1ULL << 30)
/* riscv64 AT_HWCAP: one bit per single-letter extension. */
#define HWCAP_IMAFDC ((1u << ('i' - 'a')) | (1u << ('m' - 'a')) |      \
		      (1u << ('a' - 'a')) | (1u << ('f' - 'a')) |      \
		      (1u << ('d' - 'a')) | (1u << ('c' - 'a')))

/* Read the whole file at guest path `path` (bounded). */
static int read_image(struct exec_proc *p, const char *path, uint8_t **buf,
		      size_t *len, struct err *errp)
{
	int fd = fs_open(&p->fs, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return err_sys(errp, -fd, "%s", path);
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(errp, EACCES, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > MAX_IMAGE) {
		close(fd);
		return err_set(errp, EFBIG, "%s: too large", path);
	}
	*len = (size_t)st.st_size;
	*buf = malloc(*len ? *len : 1);
	if (!*buf) {
		close(fd);
		return err_set(errp, ENOMEM, "%s: no memory", path);
	}
	size_t got = 0;
	while (got < *len) {
		ssize_t n = pread(fd, *buf + got, *len - got, (off_t)got);
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			free(*buf);
			close(fd);
			return err_sys(errp, e, "%s: read", path);
		}
		got += (size_t)n;
	}
	close(fd);
	return 0;
}

/* Map the segments of e at load bias `bias`. */
static int map_image(struct exec_mm *mm, const struct exec_elf *e,
		     const uint8_t *buf, uint64_t bias, struct err *errp)
{
	for (unsigned i = 0; i < e->nseg; i++) {
		const struct exec_seg *s = &e->seg[i];
		uint64_t va = s->vaddr + bias;
		uint64_t lo = va & ~EXEC_PAGE_MASK;
		uint64_t hi = (va + s->memsz + EXEC_PAGE_MASK) & ~EXEC_PAGE_MASK;
		if (hi > EXEC_USER_TOP || hi < lo)
			return err_set(errp, ENOEXEC, "segment outside the "
				       "address space");
		int r = mm_map(mm, lo, hi - lo, s->prot);
		if (r)
			return err_sys(errp, -r, "cannot map a segment");
		/* From the page start, as a file mapping would show it
		 * (offset and address are congruent mod the page). */
		uint64_t head = va - lo;
		if (mm_write_force(mm, lo, buf + s->off - head, s->filesz + head))
			return err_set(errp, ENOMEM, "guest memory exhausted");
	}
	return 0;
}

static int load_one(struct exec_proc *p, const char *path, bool interp,
		    struct exec_elf *e, uint64_t *bias, struct err *errp)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r = read_image(p, path, &buf, &len, errp);
	if (r)
		return r;
	r = exec_elf_parse(buf, len, e, errp);
	if (r) {
		err_prefix(errp, "%s", path);
		free(buf);
		return r;
	}
	*bias = 0;
	if (e->dyn) {
		uint64_t span = e->hi - e->lo;
		uint64_t at = interp ? mm_find_free(&p->mm, span, EXEC_PAGE,
						    EXEC_MMAP_TOP)
				     : EXEC_PIE_BASE;
		if (!at || span > EXEC_MMAP_TOP) {
			free(buf);
			return err_set(errp, ENOMEM, "%s: no room", path);
		}
		*bias = at - e->lo;
	}
	r = map_image(&p->mm, e, buf, *bias, errp);
	free(buf);
	if (r)
		err_prefix(errp, "%s", path);
	return r;
}

struct stk {
	struct exec_mm *mm;
	uint64_t sp;
	int err;
};

static uint64_t push(struct stk *s, const void *data, size_t len)
{
	s->sp -= len;
	if (mm_write_force(s->mm, s->sp, data, len))
		s->err = -EFAULT;
	return s->sp;
}

static uint64_t push_str(struct stk *s, const char *str)
{
	return push(s, str, strlen(str) + 1);
}

/* The initial stack; returns sp or 0. */
static uint64_t build_stack(struct exec_proc *p, const struct exec_elf *e,
			    uint64_t bias, uint64_t interp_base)
{
	const struct exec_config *c = p->cfg;
	struct stk s = { &p->mm, EXEC_STACK_TOP, 0 };
	size_t argc = 0, envc = 0;
	while (p->argv[argc])
		argc++;
	while (c->envp[envc])
		envc++;

	uint64_t execfn = push_str(&s, p->exe);
	uint64_t *argp = calloc(argc + envc + 2, sizeof(uint64_t));
	if (!argp)
		return 0;
	for (size_t i = envc; i-- > 0;)
		argp[argc + 1 + i] = push_str(&s, c->envp[i]);
	for (size_t i = argc; i-- > 0;)
		argp[i] = push_str(&s, p->argv[i]);
	uint64_t platform = push_str(&s, "riscv64");
	uint8_t rnd[16];
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		memset(rnd, 0x5a, sizeof(rnd));
	s.sp &= ~15ULL;
	uint64_t random = push(&s, rnd, sizeof(rnd));

	uint64_t aux[][2] = {
		{ AT_PHDR, e->phdr_vaddr ? e->phdr_vaddr + bias : 0 },
		{ AT_PHENT, sizeof(Elf64_Phdr) },
		{ AT_PHNUM, e->phnum },
		{ AT_PAGESZ, EXEC_PAGE },
		{ AT_BASE, interp_base },
		{ AT_FLAGS, 0 },
		{ AT_ENTRY, e->entry + bias },
		{ AT_UID, getuid() },
		{ AT_EUID, geteuid() },
		{ AT_GID, getgid() },
		{ AT_EGID, getegid() },
		{ AT_HWCAP, HWCAP_IMAFDC },
		{ AT_CLKTCK, 100 },
		{ AT_SECURE, 0 },
		{ AT_RANDOM, random },
		{ AT_EXECFN, execfn },
		{ AT_PLATFORM, platform },
		{ AT_NULL, 0 },
	};
	size_t words = 1 + argc + 1 + envc + 1 + sizeof(aux) / 8;
	s.sp = (s.sp - words * 8) & ~15ULL;
	uint64_t sp = s.sp, w = sp;
	uint64_t v = argc;
	mm_write_force(&p->mm, w, &v, 8);
	w += 8;
	argp[argc] = 0;
	argp[argc + 1 + envc] = 0;
	if (mm_write_force(&p->mm, w, argp, (argc + envc + 2) * 8))
		s.err = -EFAULT;
	w += (argc + envc + 2) * 8;
	if (mm_write_force(&p->mm, w, aux, sizeof(aux)))
		s.err = -EFAULT;
	free(argp);
	p->phdr = aux[0][1];
	p->phnum = e->phnum;
	p->entry = e->entry + bias;
	return s.err ? 0 : sp;
}

/* A "#!" script: run its interpreter with [interp, optional arg, script,
 * argv[1..]] as execve(2) does (one level; the interpreter must be an
 * ELF). */
static int shebang(struct exec_proc *p, struct err *errp)
{
	char line[256];
	int fd = fs_open(&p->fs, AT_FDCWD, p->exe, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return 0;   /* read_image reports it */
	ssize_t n = pread(fd, line, sizeof(line) - 1, 0);
	close(fd);
	if (n < 2 || line[0] != '#' || line[1] != '!')
		return 0;
	line[n] = 0;
	char *nl = strchr(line, '\n');
	if (!nl)
		return err_set(errp, ENOEXEC, "%s: #! line too long", p->exe);
	*nl = 0;
	char *ip = line + 2;
	while (*ip == ' ' || *ip == '\t')
		ip++;
	char *end = ip + strcspn(ip, " \t");
	char *arg = NULL;
	if (*end) {
		*end++ = 0;
		while (*end == ' ' || *end == '\t')
			end++;
		if (*end) {
			arg = end;
			/* Linux passes the rest as one argument, trailing
			 * blanks removed. */
			size_t l = strlen(arg);
			while (l && (arg[l - 1] == ' ' || arg[l - 1] == '\t'))
				arg[--l] = 0;
		}
	}
	if (!*ip)
		return err_set(errp, ENOEXEC, "%s: empty #! line", p->exe);
	size_t argc = 0;
	while (p->argv[argc])
		argc++;
	char **v = calloc(argc + 4, sizeof(char *));
	char *script = strdup(p->exe), *interp = strdup(ip);
	char *a = arg ? strdup(arg) : NULL;
	if (!v || !script || !interp || (arg && !a)) {
		free(v);
		free(script);
		free(interp);
		free(a);
		return err_set(errp, ENOMEM, "no memory");
	}
	size_t k = 0;
	v[k++] = interp;
	if (a)
		v[k++] = a;
	v[k++] = script;
	for (size_t i = 1; i < argc; i++)
		v[k++] = p->argv[i];
	p->argv = v;
	p->argv_owned = true;
	p->own[0] = interp;
	p->own[1] = a;
	p->own[2] = script;
	if (snprintf(p->exe, sizeof(p->exe), "%s", interp) >= (int)sizeof(p->exe))
		return err_set(errp, ENAMETOOLONG, "#! interpreter path too long");
	return 0;
}

int load_program(struct exec_proc *p, struct exec_thread *t,
		 struct err *errp)
{
	if (!p->argv)
		p->argv = (char **)p->cfg->argv;
	int sr = shebang(p, errp);
	if (sr)
		return sr;

	struct exec_elf *e = calloc(2, sizeof(*e));
	if (!e)
		return err_set(errp, ENOMEM, "no memory");
	uint64_t bias = 0, ibias = 0;
	int r;

	pthread_mutex_lock(&p->mm.lock);
	r = load_one(p, p->exe, false, &e[0], &bias, errp);
	if (!r && e[0].interp[0])
		r = load_one(p, e[0].interp, true, &e[1], &ibias, errp);
	if (!r && e[1].interp[0])
		r = err_set(errp, ENOEXEC, "%s: the interpreter has an "
			    "interpreter", e[0].interp);
	uint64_t sp = 0;
	if (!r) {
		p->mm.brk_start = p->mm.brk_cur = e[0].hi + bias;
		r = mm_map(&p->mm, EXEC_STACK_TOP - EXEC_STACK_SIZE,
			   EXEC_STACK_SIZE, EXEC_PROT_R | EXEC_PROT_W);
		if (r)
			err_set(errp, -r, "cannot map the stack");
	}
	if (!r) {
		/* The signal trampoline: li a7, 139 (rt_sigreturn); ecall. */
		static const uint32_t tramp[] = { 0x08b00893, 0x00000073 };
		r = mm_map(&p->mm, EXEC_SIGTRAMP, EXEC_PAGE,
			   EXEC_PROT_R | EXEC_PROT_X);
		if (!r)
			r = mm_write_force(&p->mm, EXEC_SIGTRAMP, tramp,
					   sizeof(tramp));
		if (r)
			err_set(errp, ENOMEM, "cannot map the trampoline");
	}
	if (!r) {
		sp = build_stack(p, &e[0], bias,
				 e[0].interp[0] ? e[1].lo + ibias : 0);
		if (!sp)
			r = err_set(errp, E2BIG, "arguments and environment "
				    "do not fit the stack");
	}
	pthread_mutex_unlock(&p->mm.lock);
	if (!r) {
		p->base = e[0].interp[0] ? e[1].lo + ibias : 0;
		memset(t->h->x, 0, sizeof(t->h->x));
		t->h->x[2] = sp;
		uint64_t pc = e[0].interp[0] ? e[1].entry + ibias
					     : e[0].entry + bias;
		rv_hart_enter_user(t->h, pc, mm_satp(&p->mm));
	}
	free(e);
	return r;
}
