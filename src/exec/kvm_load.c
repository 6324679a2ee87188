/* Loading an x86-64 program into the KVM sandbox's guest memory: #!
 * scripts, the ELF (checked by elf.c; the file is untrusted) and its
 * interpreter, the brk / mmap / stack layout (kvm_int.h), and the System
 * V initial stack. */
#include "kvm_int.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static int read_file_all(struct kx *k, const char *path, uint8_t **buf,
			 size_t *len, struct err *errp)
{
	int fd = fs_open(&k->fs, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return err_set(errp, -fd, "%s: %s", path, strerror(-fd));
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > (1LL << 30)) {
		close(fd);
		return err_set(errp, EACCES, "%s: not a regular file", path);
	}
	*len = (size_t)st.st_size;
	*buf = malloc(*len ? *len : 1);
	if (!*buf) {
		close(fd);
		return err_set(errp, ENOMEM, "%s: out of memory", path);
	}
	size_t got = 0;
	while (got < *len) {
		ssize_t n = read(fd, *buf + got, *len - got);
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			close(fd);
			free(*buf);
			return err_set(errp, e, "%s: read failed", path);
		}
		got += (size_t)n;
	}
	close(fd);
	return 0;
}

struct stk {
	struct kx *k;
	uint64_t sp;
};

static uint64_t push(struct stk *s, const void *p, size_t n)
{
	s->sp -= n;
	memcpy(s->k->mem + s->sp, p, n);
	return s->sp;
}

/* The System V x86-64 psABI initial stack (§3.4.1): argc, argv, envp,
 * auxv, with the strings and AT_RANDOM bytes above. */
int kx_build_stack(struct kx *k, uint64_t *rsp, struct err *errp)
{
	struct stk s = { k, k->sys };
	size_t argc = 0, envc = 0;
	while (k->argv[argc])
		argc++;
	while (k->cfg->envp && k->cfg->envp[envc])
		envc++;
	uint64_t *ptrs = calloc(argc + envc + 2, sizeof(uint64_t));
	if (!ptrs)
		return err_set(errp, ENOMEM, "out of memory");
	size_t total = 0;
	for (size_t i = 0; i < argc; i++)
		total += strlen(k->argv[i]) + 1;
	for (size_t i = 0; i < envc; i++)
		total += strlen(k->cfg->envp[i]) + 1;
	if (total + (argc + envc) * 8 > KX_STACK / 2) {
		free(ptrs);
		return err_set(errp, E2BIG, "arguments too long");
	}
	uint64_t execfn = push(&s, k->exe, strlen(k->exe) + 1);
	uint64_t plat = push(&s, "x86_64", 7);
	for (size_t i = 0; i < envc; i++)
		ptrs[argc + i] = push(&s, k->cfg->envp[i],
				      strlen(k->cfg->envp[i]) + 1);
	for (size_t i = 0; i < argc; i++)
		ptrs[i] = push(&s, k->argv[i], strlen(k->argv[i]) + 1);
	uint8_t rnd[16];
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		memset(rnd, 0x5a, sizeof(rnd));
	uint64_t rndp = push(&s, rnd, sizeof(rnd));
	uint64_t aux[][2] = {
		{ AT_PHDR, k->phdr }, { AT_PHENT, sizeof(Elf64_Phdr) },
		{ AT_PHNUM, k->phnum }, { AT_PAGESZ, KX_PAGE },
		{ AT_BASE, k->interp_base }, { AT_FLAGS, 0 },
		{ AT_ENTRY, k->entry },
		{ AT_UID, getuid() }, { AT_EUID, geteuid() },
		{ AT_GID, getgid() }, { AT_EGID, getegid() },
		{ AT_SECURE, 0 }, { AT_CLKTCK, (uint64_t)sysconf(_SC_CLK_TCK) },
		{ AT_RANDOM, rndp }, { AT_EXECFN, execfn },
		{ AT_PLATFORM, plat },
		/* last but the end: dropped when there is no vDSO */
		{ k->vdso ? AT_SYSINFO_EHDR : AT_NULL, k->vdso }, { AT_NULL, 0 },
	};
	size_t words = 1 + argc + 1 + envc + 1 + sizeof(aux) / 8;
	s.sp = (s.sp - words * 8) & ~15ULL;
	uint64_t *w = (uint64_t *)(k->mem + s.sp);
	size_t n = 0;
	w[n++] = argc;
	for (size_t i = 0; i < argc; i++)
		w[n++] = ptrs[i];
	w[n++] = 0;
	for (size_t i = 0; i < envc; i++)
		w[n++] = ptrs[argc + i];
	w[n++] = 0;
	memcpy(w + n, aux, sizeof(aux));
	free(ptrs);
	*rsp = s.sp;
	return 0;
}

/* The prot of page va of an ELF loaded at base: its segments' (a page
 * two share gets both); -1 in none. */
static int seg_prot(const struct exec_elf *e, uint64_t base, uint64_t va)
{
	int prot = -1;
	for (unsigned i = 0; i < e->nseg; i++) {
		uint64_t lo = (base + e->seg[i].vaddr) & ~(KX_PAGE - 1);
		uint64_t hi = (base + e->seg[i].vaddr + e->seg[i].memsz +
			       KX_PAGE - 1) & ~(KX_PAGE - 1);
		if (va >= lo && va < hi)
			prot = (prot < 0 ? 0 : prot) | e->seg[i].prot;
	}
	return prot;
}

/* Map an ELF's pages with its segments' permissions (before start); the
 * gaps between segments stay unmapped, as Linux leaves them. */
static int map_segments(struct kx *k, const struct exec_elf *e, uint64_t base,
			struct err *errp)
{
	uint64_t lo = base + e->lo, hi = base + e->hi;
	for (uint64_t va = lo; va < hi;) {
		int prot = seg_prot(e, base, va);
		uint64_t to = va + KX_PAGE;
		while (to < hi && seg_prot(e, base, to) == prot)
			to += KX_PAGE;
		int r = prot < 0 ? 0 : kx_pt_set(&k->pt, va, to - va,
						  kx_pt_flags(prot), NULL);
		if (r)
			return err_set(errp, -r, "page tables: %s", strerror(-r));
		va = to;
	}
	return 0;
}

/* A dynamic program's interpreter (PT_INTERP, read through the root):
 * placed in the mmap area like Linux places it above the program, with
 * its segments' permissions. */
static int load_interp(struct kx *k, const char *path, struct err *errp)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	struct exec_elf *ie = calloc(1, sizeof(*ie));
	if (!ie)
		return err_set(errp, ENOMEM, "out of memory");
	int r = read_file_all(k, path, &buf, &len, errp);
	if (!r && (r = exec_elf_parse_machine(buf, len, EM_X86_64, ie, errp)))
		err_prefix(errp, "interpreter %s", path);
	if (!r && (!ie->dyn || ie->interp[0]))
		r = err_set(errp, ENOEXEC, "interpreter %s: not a "
			    "position-independent program of its own", path);
	uint64_t va = 0;
	if (!r) {
		uint64_t span = ie->hi - ie->lo;
		va = span <= k->size ? kx_find_free(k, span / KX_PAGE) : 0;
		if (!va)
			r = err_set(errp, ENOMEM, "interpreter %s: no room "
				    "(--mem)", path);
		else
			kx_mark(k, va, span, true);
	}
	if (!r) {
		uint64_t base = va - ie->lo;
		for (unsigned i = 0; i < ie->nseg; i++)
			memcpy(k->mem + base + ie->seg[i].vaddr,
			       buf + ie->seg[i].off, ie->seg[i].filesz);
		k->interp_base = base;
		k->start = base + ie->entry;
		r = map_segments(k, ie, base, errp);
	}
	free(buf);
	free(ie);
	return r;
}

/* A "#!interpreter [arg]" script: run the interpreter with argv
 * [interpreter, arg, script path, the script's arguments] (as Linux's
 * binfmt_script; one level, the interpreter must be an ELF). */
int kx_shebang(struct kx *k, struct err *errp)
{
	int fd = fs_open(&k->fs, AT_FDCWD, k->path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return 0;   /* read_file_all reports it */
	ssize_t n = read(fd, k->sb_line, sizeof(k->sb_line) - 1);
	close(fd);
	if (n < 2 || k->sb_line[0] != '#' || k->sb_line[1] != '!')
		return 0;
	k->sb_line[n] = 0;
	char *nl = strchr(k->sb_line, '\n');
	if (!nl)
		return err_set(errp, ENOEXEC, "%s: #! line too long", k->path);
	*nl = 0;
	char *p = k->sb_line + 2;
	while (*p == ' ' || *p == '\t')
		p++;
	char *interp = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	char *arg = NULL;
	if (*p) {
		*p++ = 0;
		while (*p == ' ' || *p == '\t')
			p++;
		char *end = p + strlen(p);
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = 0;
		if (*p)
			arg = p;
	}
	if (!*interp)
		return err_set(errp, ENOEXEC, "%s: empty #! line", k->path);
	size_t argc = 0;
	while (k->argv[argc])
		argc++;
	char **v = calloc(argc + 4, sizeof(char *));
	if (!v)
		return err_set(errp, ENOMEM, "out of memory");
	size_t i = 0;
	v[i++] = interp;
	if (arg)
		v[i++] = arg;
	v[i++] = (char *)k->path;
	for (size_t j = 1; j < argc; j++)
		v[i++] = k->argv[j];
	k->argv = v;
	k->path = interp;
	return 0;
}

/* Load the ELF into guest memory and lay out brk, mmap area and stack. */
int kx_load(struct kx *k, struct exec_elf *e, uint64_t *base_out,
		struct err *errp)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r = read_file_all(k, k->path, &buf, &len, errp);
	if (r)
		return r;
	r = exec_elf_parse_machine(buf, len, EM_X86_64, e, errp);
	uint64_t base = e->dyn ? (4ULL << 20) - (e->lo & ~(KX_2M - 1)) : 0;
	uint64_t hi = base + e->hi;
	uint64_t room = k->sys - KX_STACK;
	if (!r && (base + e->lo < KX_2M || hi > room / 2))
		r = err_set(errp, ENOEXEC, "segments outside the guest's "
			    "%llu MiB (--mem)", (unsigned long long)(k->size >> 20));
	if (r) {
		free(buf);
		return r;
	}
	for (unsigned i = 0; i < e->nseg; i++)
		memcpy(k->mem + base + e->seg[i].vaddr, buf + e->seg[i].off,
		       e->seg[i].filesz);
	free(buf);
	k->entry = base + e->entry;
	k->phdr = e->phdr_vaddr ? base + e->phdr_vaddr : 0;
	k->phnum = e->phnum;
	k->brk_start = k->brk_cur = hi;
	/* brk may grow to a quarter of the rest; mmap gets the remainder. */
	k->brk_max = (hi + (room - hi) / 4 + KX_2M - 1) & ~(KX_2M - 1);
	k->mmap_lo = k->brk_max;
	/* A 2 MiB unmapped gap below the stack: an overflow faults
	 * (SIGSEGV) instead of running into mmap'd memory. */
	k->mmap_hi = room - KX_2M;
	k->stack_lo = room;
	k->bitmap = calloc((k->mmap_hi - k->mmap_lo) / KX_PAGE / 8 + 1, 1);
	if (!k->bitmap)
		return err_set(errp, ENOMEM, "out of memory");
	r = map_segments(k, e, base, errp);
	if (r)
		return r;
	/* brk's whole reserve is read/write memory from the start (growing
	 * costs no page-table edits); the stack is also executable (the ELF
	 * parser does not read PT_GNU_STACK). */
	r = kx_pt_set(&k->pt, hi, k->brk_max - hi,
		      kx_pt_flags(PROT_READ | PROT_WRITE), NULL);
	if (!r)
		r = kx_pt_set(&k->pt, k->stack_lo, k->sys - k->stack_lo,
			      kx_pt_flags(PROT_READ | PROT_WRITE | PROT_EXEC),
			      NULL);
	if (r)
		return err_set(errp, -r, "page tables: %s", strerror(-r));
	*base_out = base;
	k->start = k->entry;
	return e->interp[0] ? load_interp(k, e->interp, errp) : 0;
}

