/* Files and directories: the same output natively and under ringvm exec.
 * argv[1]: a scratch directory (created, filled, removed). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { printf("FAIL %s:%d %s (errno %d)\n", \
	__FILE__, __LINE__, #c, errno); return 1; } } while (0)

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	CHECK(argc == 2);
	CHECK(mkdir(argv[1], 0755) == 0);
	CHECK(chdir(argv[1]) == 0);
	int fd = open("a.txt", O_CREAT | O_RDWR | O_TRUNC, 0640);
	CHECK(fd >= 0);
	struct iovec iov[2] = { { "hello ", 6 }, { "world\n", 6 } };
	CHECK(writev(fd, iov, 2) == 12);
	CHECK(pwrite(fd, "W", 1, 6) == 1);
	char buf[64] = { 0 };
	CHECK(pread(fd, buf, sizeof(buf), 0) == 12);
	printf("content: %s", buf);
	CHECK(lseek(fd, 0, SEEK_END) == 12);
	struct stat st;
	CHECK(fstat(fd, &st) == 0);
	printf("size %lld mode %o regular %d\n", (long long)st.st_size,
	       st.st_mode & 0777, S_ISREG(st.st_mode));
	CHECK(ftruncate(fd, 5) == 0);
	CHECK(stat("a.txt", &st) == 0 && st.st_size == 5);
	close(fd);
	CHECK(symlink("a.txt", "link") == 0);
	CHECK(readlink("link", buf, sizeof(buf)) == 5);
	CHECK(lstat("link", &st) == 0 && S_ISLNK(st.st_mode));
	CHECK(mkdir("sub", 0700) == 0);
	CHECK(rename("a.txt", "sub/b.txt") == 0);
	CHECK(access("sub/b.txt", R_OK) == 0);
	CHECK(access("a.txt", F_OK) == -1 && errno == ENOENT);
	CHECK(link("sub/b.txt", "c.txt") == 0);
	DIR *d = opendir(".");
	CHECK(d);
	char *names[16];
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < 16)
		names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, (size_t)n, sizeof(char *), cmp);
	printf("dir:");
	for (int i = 0; i < n; i++)
		printf(" %s", names[i]);
	printf("\n");
	char cwd[4096];
	CHECK(getcwd(cwd, sizeof(cwd)));
	printf("cwd ends with dir: %d\n",
	       !strcmp(strrchr(cwd, '/') + 1, strrchr(argv[1], '/') ?
		       strrchr(argv[1], '/') + 1 : argv[1]));
	int p[2];
	CHECK(pipe(p) == 0);
	CHECK(dup2(p[1], 9) == 9);
	CHECK(write(9, "x", 1) == 1 && read(p[0], buf, 1) == 1 && buf[0] == 'x');
	CHECK(fcntl(9, F_GETFD) == 0);
	CHECK(unlink("link") == 0 && unlink("c.txt") == 0);
	CHECK(unlink("sub/b.txt") == 0 && rmdir("sub") == 0);
	CHECK(chdir("..") == 0 && rmdir(argv[1]) == 0);
	CHECK(open("/nonexistent/x", O_RDONLY) == -1 && errno == ENOENT);
	printf("files ok\n");
	return 0;
}
