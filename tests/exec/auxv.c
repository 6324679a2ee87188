/* The initial process state: argv/envp, the auxiliary vector (the
 * architecture-independent entries), /proc/self/exe, uname. */
#include <elf.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/utsname.h>
#include <unistd.h>

extern char _start[];

int main(int argc, char **argv, char **envp)
{
	printf("argc %d argv1 %s argv2 %s\n", argc, argc > 1 ? argv[1] : "-",
	       argc > 2 ? argv[2] : "-");
	printf("env AUXV_TEST=%s\n", getenv("AUXV_TEST") ? getenv("AUXV_TEST") : "(unset)");
	printf("envp after argv: %d\n", envp == argv + argc + 1);
	printf("pagesz %lu\n", getauxval(AT_PAGESZ));
	printf("entry is _start: %d\n", getauxval(AT_ENTRY) == (unsigned long)_start);
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
	unsigned long n = getauxval(AT_PHNUM);
	int has_load = 0;
	for (unsigned long i = 0; ph && i < n; i++)
		has_load |= ph[i].p_type == PT_LOAD;
	printf("phdr readable with a PT_LOAD: %d phent %lu\n", has_load,
	       getauxval(AT_PHENT));
	const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
	int nz = 0;
	for (int i = 0; rnd && i < 16; i++)
		nz |= rnd[i];
	printf("random present: %d\n", rnd && nz);
	printf("secure %lu uid match %d gid match %d\n", getauxval(AT_SECURE),
	       getauxval(AT_UID) == getuid(), getauxval(AT_EGID) == getegid());
	char exe[PATH_MAX];
	ssize_t l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[l > 0 ? l : 0] = 0;
	const char *fn = (const char *)getauxval(AT_EXECFN);
	printf("exe absolute: %d execfn ends like argv0: %d\n", exe[0] == '/',
	       fn && strlen(fn) >= strlen(argv[0]) - 2 &&
	       !strcmp(strrchr(fn, '/') ? strrchr(fn, '/') : fn,
		       strrchr(argv[0], '/') ? strrchr(argv[0], '/') : argv[0]));
	struct utsname u;
	uname(&u);
	printf("uname sysname %s\n", u.sysname);
	return 0;
}
