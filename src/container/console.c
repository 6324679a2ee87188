/* The container's terminal: a pty from the container's own devpts whose
 * master is handed to the caller over --console-socket (as runc does). */
#include "container/container.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/uio.h>

int send_fd(int sock, int fd, const char *name, struct err *errp)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = (void *)name, .iov_len = strlen(name) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	memset(cbuf, 0, sizeof(cbuf));
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	ssize_t n;
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? err_sys(errp, errno, "console: send the pty master") : 0;
}

int console_setup(int rootfd, int sock, int *slave, struct err *errp)
{
	cleanup_close int ptmx = path_in_root(rootfd, "/dev/pts/ptmx", false, false);
	if (ptmx < 0)
		return err_sys(errp, -ptmx, "console: /dev/pts/ptmx (is devpts mounted?)");
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", ptmx);
	cleanup_close int master = open(p, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return err_sys(errp, errno, "console: open ptmx");
	int unlock = 0;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return err_sys(errp, errno, "console: unlock pty");
	int s = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		return err_sys(errp, errno, "console: open pty slave");
	cleanup_close int con = path_in_root(rootfd, "/dev/console", true, true);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", s);
	char dst[64];
	snprintf(dst, sizeof(dst), "/proc/self/fd/%d", con);
	int r;
	if (con < 0)
		r = err_sys(errp, -con, "console: create /dev/console");
	else if (mount(p, dst, NULL, MS_BIND, NULL) < 0)
		r = err_sys(errp, errno, "console: bind the pty on /dev/console");
	else
		r = send_fd(sock, master, "/dev/console", errp);
	if (r) {
		close(s);
		return r;
	}
	*slave = s;
	return 0;
}
