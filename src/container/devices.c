/* The devices every OCI container gets (runtime-spec config-linux.md
 * "Default Devices"), made in the container's own /dev. */
#include "container/container.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

static const struct { const char *name; unsigned maj, min; } devs[] = {
	{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
	{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

static const struct { const char *name, *target; } links[] = {
	{ "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" },
	{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
	{ "ptmx", "pts/ptmx" },
};

int devices_create(int rootfd, struct err *errp)
{
	cleanup_close int dev = path_in_root(rootfd, "/dev", true, false);
	if (dev < 0)
		return err_sys(errp, -dev, "devices: /dev");
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", dev);
	cleanup_close int dfd = open(self, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (dfd < 0)
		return err_sys(errp, errno, "devices: open /dev");
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		if (mknodat(dfd, devs[i].name, S_IFCHR | 0666,
			    makedev(devs[i].maj, devs[i].min)) == 0) {
			/* mknod is subject to the umask. */
			fchmodat(dfd, devs[i].name, 0666, 0);
			continue;
		}
		if (errno == EEXIST)
			continue;
		/* Where mknod is not allowed, bind the host's node. */
		int fd = openat(dfd, devs[i].name, O_CREAT | O_EXCL | O_WRONLY |
				O_CLOEXEC | O_NOFOLLOW, 0666);
		if (fd < 0)
			return err_sys(errp, errno, "devices: create /dev/%s",
				       devs[i].name);
		close(fd);
		char src[32], dst[96];
		snprintf(src, sizeof(src), "/dev/%s", devs[i].name);
		snprintf(dst, sizeof(dst), "/proc/self/fd/%d/%s", dfd, devs[i].name);
		if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
			return err_sys(errp, errno, "devices: bind /dev/%s",
				       devs[i].name);
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlinkat(links[i].target, dfd, links[i].name) < 0 &&
		    errno != EEXIST)
			return err_sys(errp, errno, "devices: link /dev/%s",
				       links[i].name);
	return 0;
}
