/* `oci run` in the foreground: wait for the container's init, forwarding
 * signals, and when the container has a terminal relay it to our stdio
 * (as `runc run` does without --console-socket). */
#include "container/container.h"

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>

int recv_fd(int sock, struct err *errp)
{
	char buf[256], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t n;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_sys(errp, errno, "console: receive the pty master");
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
		return err_set(errp, EIO, "console: no pty master received");
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* Copy what is readable on from to to; false at EOF or error. */
static bool pump(int from, int to)
{
	char buf[4096];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n <= 0)
		return n < 0 && (errno == EINTR || errno == EAGAIN);
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		off += w;
	}
	return true;
}

static void copy_winsize(int master)
{
	struct winsize ws;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		ioctl(master, TIOCSWINSZ, &ws);
}

int attach_wait(pid_t pid, int master, const sigset_t *set, int *status)
{
	int sfd = signalfd(-1, set, SFD_CLOEXEC);
	if (sfd < 0)
		return -errno;
	struct termios saved;
	bool raw = master >= 0 && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (raw) {
		struct termios t = saved;
		cfmakeraw(&t);
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
		copy_winsize(master);
	}
	bool in_open = master >= 0, out_open = master >= 0, exited = false;
	while (!exited || out_open) {
		struct pollfd p[3] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = out_open ? master : -1, .events = POLLIN },
			{ .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN },
		};
		/* After the exit only drain what the pty still holds. */
		if (poll(p, 3, exited ? 100 : -1) <= 0) {
			if (exited)
				break;
			continue;
		}
		if (p[1].revents && !pump(master, STDOUT_FILENO))
			out_open = false;
		if (p[2].revents && !pump(STDIN_FILENO, master))
			in_open = false;
		if (p[0].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGCHLD) {
				if (waitpid(pid, status, WNOHANG) == pid)
					exited = true;
			} else if (si.ssi_signo == SIGWINCH && master >= 0) {
				copy_winsize(master);
			} else {
				kill(pid, (int)si.ssi_signo);
			}
		}
	}
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	close(sfd);
	return 0;
}
