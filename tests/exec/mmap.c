/* mmap, munmap, mprotect, brk, file mappings; a SIGSEGV handler that
 * catches a write to a read-only page. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { printf("FAIL %s:%d %s (errno %d)\n", \
	__FILE__, __LINE__, #c, errno); return 1; } } while (0)

static sigjmp_buf jb;
static volatile void *fault_addr;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	fault_addr = si->si_addr;
	siglongjmp(jb, 1);
}

int main(int argc, char **argv)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	printf("page %zu\n", pg);
	char *a = mmap(NULL, 16 * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(a != MAP_FAILED);
	CHECK(a[5 * pg] == 0);
	memset(a, 0xab, 16 * pg);
	CHECK(munmap(a + 4 * pg, 4 * pg) == 0);
	char *b = mmap(a + 4 * pg, pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(b == a + 4 * pg && b[0] == 0);
	CHECK(mmap(a, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
		   MAP_FIXED_NOREPLACE, -1, 0) == MAP_FAILED && errno == EEXIST);
	CHECK(madvise(a, pg, MADV_DONTNEED) == 0 && a[0] == 0 &&
	      (unsigned char)a[1 + pg] == 0xab);

	struct sigaction sa = { 0 };
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
	CHECK(mprotect(a, pg, PROT_READ) == 0);
	if (!sigsetjmp(jb, 1)) {
		a[10] = 1;
		printf("FAIL: write to a read-only page\n");
		return 1;
	}
	printf("segv on write: %d\n", fault_addr == a + 10);
	if (!sigsetjmp(jb, 1)) {
		*(volatile char *)(a + 4 * pg + pg) = 1;  /* unmapped */
		printf("FAIL: write to an unmapped page\n");
		return 1;
	}
	printf("segv on unmapped: %d\n", fault_addr == a + 5 * pg);
	CHECK(mprotect(a, pg, PROT_READ | PROT_WRITE) == 0);
	a[10] = 2;

	char path[] = "/tmp/ringvm-exec-mmap-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	char data[5000];
	for (int i = 0; i < 5000; i++)
		data[i] = (char)('a' + i % 26);
	CHECK(write(fd, data, sizeof(data)) == 5000);
	char *f = mmap(NULL, 5000, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(f != MAP_FAILED);
	CHECK(memcmp(f, data, 5000) == 0 && f[5000] == 0);
	char *f2 = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, pg);
	CHECK(f2 != MAP_FAILED && f2[0] == data[pg]);
	f2[0] = 'Z';
	char c;
	CHECK(pread(fd, &c, 1, (off_t)pg) == 1 && c == data[pg]);
	close(fd);
	unlink(path);

	void *big = malloc(64 << 20);
	CHECK(big);
	memset(big, 1, 64 << 20);
	free(big);
	char *s = sbrk(0);
	CHECK(brk(s + 3 * pg) == 0);
	s[3 * pg - 1] = 7;
	CHECK(brk(s) == 0);
	char *sh = mmap(NULL, pg, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(sh != MAP_FAILED);
	strcpy(sh, "shared");
	/* Shared with a forked child, as the kernel's shmem is. */
	fflush(stdout);
	pid_t kid = fork();
	if (kid == 0) {
		strcpy(sh + 100, "from the child");
		_exit(0);
	}
	CHECK(kid > 0 && waitpid(kid, NULL, 0) == kid);
	printf("%s, %s\n", sh, sh + 100);

	/* mremap: grown in place where the pages after are free, moved
	 * with the contents where they are not, moved to a given place. */
	char *m = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED && munmap(m + 2 * pg, 2 * pg) == 0);
	memset(m, 0x5a, 2 * pg);
	char *g = mremap(m, 2 * pg, 4 * pg, 0);
	CHECK(g != MAP_FAILED);
	g[4 * pg - 1] = 1;
	printf("mremap in place: %d kept %d\n", g == m, g[2 * pg - 1] == 0x5a);
	CHECK(mmap(m + 4 * pg, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
		   MAP_FIXED, -1, 0) == m + 4 * pg);
	CHECK(mremap(m, 4 * pg, 8 * pg, 0) == MAP_FAILED && errno == ENOMEM);
	char *mv = mremap(m, 4 * pg, 8 * pg, MREMAP_MAYMOVE);
	CHECK(mv != MAP_FAILED);
	mv[8 * pg - 1] = 2;
	printf("mremap moved: %d kept %d %d\n", mv != m,
	       (unsigned char)mv[0] == 0x5a, mv[4 * pg - 1] == 1);
	char *dst = mmap(NULL, 8 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	CHECK(dst != MAP_FAILED);
	char *fx = mremap(mv, 8 * pg, 8 * pg, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	printf("mremap fixed: %d kept %d\n", fx == dst, fx[8 * pg - 1] == 2);
	CHECK(munmap(fx, 8 * pg) == 0 && munmap(m + 4 * pg, pg) == 0);

	/* MAP_SHARED of a file: stores reach the file, the file's changes
	 * reach the mapping; after munmap the address is plain memory. */
	char spath[] = "/tmp/ringvm-exec-shared-XXXXXX";
	int sfd = mkstemp(spath);
	CHECK(sfd >= 0 && ftruncate(sfd, (off_t)(2 * pg)) == 0);
	char *sm = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
	CHECK(sm != MAP_FAILED);
	strcpy(sm + pg, "to the file");
	char back[16] = { 0 };
	CHECK(pread(sfd, back, 11, (off_t)pg) == 11);
	CHECK(pwrite(sfd, "from the file", 13, 0) == 13);
	CHECK(msync(sm, 2 * pg, MS_SYNC) == 0);
	printf("shared file: %s / %.13s\n", back, sm);
	CHECK(munmap(sm, 2 * pg) == 0);
	char *an = mmap(sm, 2 * pg, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(an == sm && an[0] == 0);
	strcpy(an, "private");
	CHECK(pread(sfd, back, 13, 0) == 13);
	printf("after munmap: %.13s\n", back);
	CHECK(munmap(an, 2 * pg) == 0);
	int rfd = open(spath, O_RDONLY);
	CHECK(rfd >= 0);
	CHECK(mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, rfd, 0) ==
	      MAP_FAILED && errno == EACCES);
	char *ro = mmap(NULL, pg, PROT_READ, MAP_SHARED, rfd, 0);
	CHECK(ro != MAP_FAILED && ro[0] == 'f');
	CHECK(mprotect(ro, pg, PROT_READ | PROT_WRITE) == -1 && errno == EACCES);
	CHECK(munmap(ro, pg) == 0);
	close(rfd);
	close(sfd);
	unlink(spath);
	printf("mmap ok\n");
	return 0;
}
