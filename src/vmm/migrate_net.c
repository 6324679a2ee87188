/* Sockets of live migration (migrate_net.h). */
#include "migrate_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int mig_parse_uri(const char *uri, struct sockaddr_storage *sa,
		  unsigned *len, struct err *errp)
{
	memset(sa, 0, sizeof(*sa));
	if (!strncmp(uri, "unix:", 5)) {
		struct sockaddr_un *u = (struct sockaddr_un *)sa;
		const char *p = uri + 5;
		if (!*p || strlen(p) >= sizeof(u->sun_path))
			return err_set(errp, EINVAL, "migration URI `%s`: the "
				       "path is empty or too long", uri);
		u->sun_family = AF_UNIX;
		strcpy(u->sun_path, p);
		*len = sizeof(*u);
		return 0;
	}
	if (strncmp(uri, "tcp:", 4))
		return err_set(errp, EINVAL, "migration URI `%s`: tcp:HOST:PORT "
			       "or unix:PATH", uri);
	const char *h = uri + 4, *colon = strrchr(h, ':');
	if (!colon || colon == h)
		return err_set(errp, EINVAL, "migration URI `%s`: no port", uri);
	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (errno || *end || !colon[1] || port > 65535)
		return err_set(errp, EINVAL, "migration URI `%s`: bad port", uri);
	char host[64];
	size_t hl = (size_t)(colon - h);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return err_set(errp, EINVAL, "migration URI `%s`: bad host", uri);
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	struct sockaddr_in *in4 = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
	} else {
		return err_set(errp, EINVAL, "migration URI `%s`: the host must "
			       "be an IP address or localhost", uri);
	}
	return 0;
}

void mig_set_timeouts(int fd, unsigned send_ms, unsigned recv_ms)
{
	struct timeval s = { send_ms / 1000, (send_ms % 1000) * 1000 };
	struct timeval r = { recv_ms / 1000, (recv_ms % 1000) * 1000 };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &s, sizeof(s));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &r, sizeof(r));
}

int mig_connect(const char *uri, unsigned timeout_ms, const int *cancel,
		struct err *errp)
{
	struct sockaddr_storage sa;
	unsigned len;
	int rc = mig_parse_uri(uri, &sa, &len, errp);
	if (rc)
		return rc;
	int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
			SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_sys(errp, errno, "migration: socket");
	if (connect(fd, (struct sockaddr *)&sa, len) < 0) {
		if (errno != EINPROGRESS && errno != EAGAIN) {
			rc = err_sys(errp, errno, "migration: cannot connect "
				     "to %s", uri);
			goto fail;
		}
		/* Waited in slices so that a cancel is seen. */
		for (unsigned waited = 0;; waited += 100) {
			if (__atomic_load_n(cancel, __ATOMIC_ACQUIRE)) {
				rc = err_set(errp, ECANCELED, "migration "
					     "cancelled");
				goto fail;
			}
			if (waited >= timeout_ms) {
				rc = err_set(errp, ETIMEDOUT, "migration: no "
					     "answer from %s", uri);
				goto fail;
			}
			struct pollfd p = { fd, POLLOUT, 0 };
			int n = poll(&p, 1, 100);
			if (n < 0 && errno != EINTR) {
				rc = err_sys(errp, errno, "migration: poll");
				goto fail;
			}
			if (n > 0)
				break;
		}
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr) {
			rc = err_sys(errp, soerr, "migration: cannot connect "
				     "to %s", uri);
			goto fail;
		}
	}
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	if (sa.ss_family != AF_UNIX) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	return fd;
fail:
	close(fd);
	return rc;
}

int mig_accept(const char *uri, struct err *errp)
{
	struct sockaddr_storage sa;
	unsigned len;
	int rc = mig_parse_uri(uri, &sa, &len, errp);
	if (rc)
		return rc;
	int lfd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return err_sys(errp, errno, "migration: socket");
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, len) < 0) {
		rc = err_sys(errp, errno, "migration: cannot listen on %s", uri);
		close(lfd);
		return rc;
	}
	if (listen(lfd, 1) < 0) {
		rc = err_sys(errp, errno, "migration: listen on %s", uri);
		goto out;
	}
	int fd;
	do
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		rc = err_sys(errp, errno, "migration: accept on %s", uri);
		goto out;
	}
	if (sa.ss_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	rc = fd;
out:
	if (sa.ss_family == AF_UNIX)
		unlink(((struct sockaddr_un *)&sa)->sun_path);
	close(lfd);
	return rc;
}
