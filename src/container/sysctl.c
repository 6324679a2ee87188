/* linux.sysctl (sysctl.h). */
#include "container/sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool sysctl_key_ok(const char *key)
{
	size_t n = strlen(key);
	if (n == 0 || n > 255 || key[0] == '.' || key[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = key[i];
		if (ch == '.') {
			if (key[i + 1] == '.')
				return false;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

int sysctl_kv_key(const char *kv, char *key, size_t size)
{
	const char *eq = strchr(kv, '=');
	if (!eq || (size_t)(eq - kv) >= size)
		return -EINVAL;
	memcpy(key, kv, (size_t)(eq - kv));
	key[eq - kv] = '\0';
	return sysctl_key_ok(key) ? 0 : -EINVAL;
}

int sysctl_key_ns(const char *key)
{
	static const char *const ipc[] = {
		"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",
		"kernel.sem", "kernel.shmall", "kernel.shmmax",
		"kernel.shmmni", "kernel.shm_rmid_forced",
	};
	for (size_t i = 0; i < sizeof(ipc) / sizeof(ipc[0]); i++)
		if (!strcmp(key, ipc[i]))
			return OCI_NS_IPC;
	if (!strncmp(key, "fs.mqueue.", 10))
		return OCI_NS_IPC;
	if (!strncmp(key, "net.", 4))
		return OCI_NS_NET;
	if (!strcmp(key, "kernel.hostname") || !strcmp(key, "kernel.domainname"))
		return OCI_NS_UTS;
	return -1;
}

int sysctl_check(const struct oci_config *cfg, struct err *errp)
{
	for (char **kv = cfg->sysctl; kv && kv[0]; kv += 2) {
		int ns = sysctl_key_ns(kv[0]);
		if (ns < 0)
			return err_set(errp, EINVAL, "linux.sysctl: `%s` is not "
				       "in a kernel namespace: setting it would "
				       "change the host", kv[0]);
		if (!cfg->ns_wanted[ns])
			return err_set(errp, EINVAL, "linux.sysctl: `%s` needs "
				       "a %s namespace of the container's own",
				       kv[0], oci_ns_name(ns));
	}
	return 0;
}

int sysctl_apply(const struct oci_config *cfg, struct err *errp)
{
	for (char **kv = cfg->sysctl; kv && kv[0]; kv += 2) {
		char path[300];
		snprintf(path, sizeof(path), "/proc/sys/%s", kv[0]);
		for (char *c = path + 10; *c; c++)
			if (*c == '.')
				*c = '/';
		cleanup_close int fd = open(path, O_WRONLY | O_NOFOLLOW |
					    O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return err_sys(errp, errno, "linux.sysctl: %s", kv[0]);
		size_t n = strlen(kv[1]);
		ssize_t w = write(fd, kv[1], n);
		if (w < 0)
			return err_sys(errp, errno, "linux.sysctl: %s = `%.64s`",
				       kv[0], kv[1]);
		if ((size_t)w != n)
			return err_set(errp, EIO, "linux.sysctl: %s: short "
				       "write", kv[0]);
	}
	return 0;
}
