/* A private directory for a fuzz target's files (disk images, backing
 * files), shared by the targets that need real files.
 *
 * fuzz_tmpdir() makes it once, under $TMPDIR when set (so `make check`'s
 * hygiene check sees it), else /dev/shm when writable (fast), else /tmp,
 * and registers its removal, with every file in it, at normal exit.  A
 * target that must close files first registers its own atexit handler
 * *after* calling fuzz_tmpdir(): handlers run in reverse order.  Returns the
 * directory's path (static storage); aborts when it cannot be made, as a
 * fuzzer can do nothing useful without it. */
#ifndef RINGVM_FUZZ_TMPDIR_H
#define RINGVM_FUZZ_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char fuzz_tmpdir_path[192];

static void fuzz_tmpdir_remove(void)
{
	DIR *d = opendir(fuzz_tmpdir_path);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)))
			unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
	rmdir(fuzz_tmpdir_path);
}

static const char *fuzz_tmpdir(void)
{
	if (fuzz_tmpdir_path[0])
		return fuzz_tmpdir_path;
	const char *base = getenv("TMPDIR");
	if (!base || !*base)
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(fuzz_tmpdir_path, sizeof(fuzz_tmpdir_path),
		 "%s/ringvm-fuzz-XXXXXX", base);
	if (!mkdtemp(fuzz_tmpdir_path))
		abort();
	atexit(fuzz_tmpdir_remove);
	return fuzz_tmpdir_path;
}

#endif
