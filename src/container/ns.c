/* Namespaces: which to create, which to join, and the per-namespace set-up
 * (hostname, loopback). */
#include "container/container.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const int ns_flag[OCI_NS_COUNT] = {
	[OCI_NS_PID] = CLONE_NEWPID, [OCI_NS_NET] = CLONE_NEWNET,
	[OCI_NS_MOUNT] = CLONE_NEWNS, [OCI_NS_IPC] = CLONE_NEWIPC,
	[OCI_NS_UTS] = CLONE_NEWUTS, [OCI_NS_USER] = CLONE_NEWUSER,
	[OCI_NS_CGROUP] = CLONE_NEWCGROUP, [OCI_NS_TIME] = 0,
};

int ns_clone_flags(const struct oci_config *cfg)
{
	int f = 0;
	for (int i = 0; i < OCI_NS_COUNT; i++)
		if (cfg->ns_wanted[i] && !cfg->ns_path[i] && i != OCI_NS_CGROUP)
			f |= ns_flag[i];
	return f;
}

int ns_open_paths(const struct oci_config *cfg, int fds[OCI_NS_COUNT],
		  struct err *errp)
{
	for (int i = 0; i < OCI_NS_COUNT; i++)
		fds[i] = -1;
	for (int i = 0; i < OCI_NS_COUNT; i++) {
		if (!cfg->ns_path[i])
			continue;
		fds[i] = open(cfg->ns_path[i], O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			int r = err_sys(errp, errno, "namespaces: open %s namespace %s",
					oci_ns_name(i), cfg->ns_path[i]);
			ns_close_paths(fds);
			return r;
		}
	}
	return 0;
}

void ns_close_paths(int fds[OCI_NS_COUNT])
{
	for (int i = 0; i < OCI_NS_COUNT; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

static int loopback_up(struct err *errp)
{
	cleanup_close int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return err_sys(errp, errno, "network namespace: socket");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return err_sys(errp, errno, "network namespace: get lo flags");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return err_sys(errp, errno, "network namespace: bring lo up");
	return 0;
}

static int write_map(pid_t pid, const char *file, const struct oci_idmap *m,
		     size_t n, struct err *errp)
{
	/* The kernel takes the whole map in one write. */
	char buf[OCI_MAX_IDMAPS * 36], path[64];
	size_t len = 0;
	for (size_t i = 0; i < n && i < OCI_MAX_IDMAPS; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n",
					m[i].container_id, m[i].host_id, m[i].size);
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(errp, errno, "user namespace: open %s", path);
	if (write(fd, buf, len) != (ssize_t)len)
		return err_sys(errp, errno, "user namespace: write %s", file);
	return 0;
}

/* Whether an unprivileged caller may write map m itself: one range of
 * size 1 onto its own id (user_namespaces(7) "Defining user and group ID
 * mappings"). */
static bool self_map(const struct oci_idmap *m, size_t n, unsigned own)
{
	return n == 1 && m[0].size == 1 && m[0].host_id == own;
}

/* Run the setuid helper (newuidmap/newgidmap, Debian's uidmap package)
 * that checks the ranges against /etc/subuid or /etc/subgid. */
static int helper_map(pid_t pid, const char *tool, const struct oci_idmap *m,
		      size_t n, struct err *errp)
{
	char nums[OCI_MAX_IDMAPS * 3 + 1][16], spid[16];
	char *argv[OCI_MAX_IDMAPS * 3 + 3];
	size_t k = 0;
	argv[k++] = (char *)tool;
	snprintf(spid, sizeof(spid), "%d", (int)pid);
	argv[k++] = spid;
	for (size_t i = 0; i < n && i < OCI_MAX_IDMAPS; i++) {
		unsigned v[3] = { m[i].container_id, m[i].host_id, m[i].size };
		for (int j = 0; j < 3; j++) {
			snprintf(nums[3 * i + j], sizeof(nums[0]), "%u", v[j]);
			argv[k++] = nums[3 * i + j];
		}
	}
	argv[k] = NULL;
	pid_t h = fork();
	if (h < 0)
		return err_sys(errp, errno, "user namespace: fork %s", tool);
	if (h == 0) {
		execvp(tool, argv);
		_exit(127);
	}
	int st;
	while (waitpid(h, &st, 0) < 0)
		if (errno != EINTR)
			return err_sys(errp, errno, "user namespace: wait for %s", tool);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return err_set(errp, ENOENT, "user namespace: %s not found (install uidmap) "
			       "for a map beyond the caller's own id", tool);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return err_set(errp, EPERM, "user namespace: %s refused the map "
			       "(check /etc/subuid and /etc/subgid)", tool);
	return 0;
}

int ns_write_idmaps(const struct oci_config *cfg, pid_t pid, struct err *errp)
{
	if (!cfg->ns_wanted[OCI_NS_USER] || cfg->ns_path[OCI_NS_USER])
		return 0;
	int r;
	if (geteuid() == 0) {  /* root writes any map */
		r = write_map(pid, "uid_map", cfg->uid_maps, cfg->n_uid_maps, errp);
		return r ? r : write_map(pid, "gid_map", cfg->gid_maps, cfg->n_gid_maps, errp);
	}
	if (self_map(cfg->uid_maps, cfg->n_uid_maps, geteuid()))
		r = write_map(pid, "uid_map", cfg->uid_maps, cfg->n_uid_maps, errp);
	else
		r = helper_map(pid, "newuidmap", cfg->uid_maps, cfg->n_uid_maps, errp);
	if (r)
		return r;
	if (!self_map(cfg->gid_maps, cfg->n_gid_maps, getegid()))
		return helper_map(pid, "newgidmap", cfg->gid_maps, cfg->n_gid_maps, errp);
	/* An unprivileged gid_map write needs setgroups denied first. */
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "deny", 4) != 4)
		return err_sys(errp, errno, "user namespace: deny setgroups");
	return write_map(pid, "gid_map", cfg->gid_maps, cfg->n_gid_maps, errp);
}

int ns_enter(const struct oci_config *cfg, const int fds[OCI_NS_COUNT],
	     struct err *errp)
{
	/* In a new user namespace init starts as the overflow uid; become
	 * its root (whatever host id that maps to) for the set-up. */
	if (cfg->ns_wanted[OCI_NS_USER] && !cfg->ns_path[OCI_NS_USER] &&
	    (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		return err_sys(errp, errno, "user namespace: become root (is 0 mapped?)");
	for (int i = 0; i < OCI_NS_COUNT; i++)
		if (fds[i] >= 0 && setns(fds[i], ns_flag[i]) < 0)
			return err_sys(errp, errno, "namespaces: join %s namespace %s",
				       oci_ns_name(i), cfg->ns_path[i]);
	if (cfg->ns_wanted[OCI_NS_CGROUP] && !cfg->ns_path[OCI_NS_CGROUP] &&
	    unshare(CLONE_NEWCGROUP) < 0)
		return err_sys(errp, errno, "namespaces: new cgroup namespace");
	if (cfg->hostname) {
		if (!cfg->ns_wanted[OCI_NS_UTS])
			return err_set(errp, EINVAL, "hostname: set without a uts namespace");
		if (sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
			return err_sys(errp, errno, "hostname: sethostname `%.64s`",
				       cfg->hostname);
	}
	if (cfg->ns_wanted[OCI_NS_NET] && !cfg->ns_path[OCI_NS_NET])
		return loopback_up(errp);
	return 0;
}
