#define _GNU_SOURCE
/* Loopback sockets: TCP between a thread and the main thread, a UDP
 * datagram, a unix socketpair with SCM_RIGHTS. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { printf("FAIL %s:%d %s (errno %d)\n", \
	__FILE__, __LINE__, #c, errno); return 1; } } while (0)

static int port;

static void *client(void *arg)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (connect(s, (struct sockaddr *)&a, sizeof(a)))
		return (void *)1;
	const char *msg = "ping over tcp";
	send(s, msg, strlen(msg), 0);
	char b[64] = { 0 };
	recv(s, b, 4, MSG_WAITALL);
	close(s);
	return (void *)(long)(strcmp(b, "PONG") != 0);
}

/* `sockets connect PATH`: one AF_UNIX connect, for the escape checks
 * (a socket named through a symlink must resolve inside the root). */
static int connect_to(const char *path)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0)
		printf("connected\n");
	else
		printf("refused: %s\n", strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "connect"))
		return connect_to(argv[2]);
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(ls >= 0);
	int one = 1;
	CHECK(setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	CHECK(bind(ls, (struct sockaddr *)&a, sizeof(a)) == 0);
	socklen_t al = sizeof(a);
	CHECK(getsockname(ls, (struct sockaddr *)&a, &al) == 0);
	port = ntohs(a.sin_port);
	CHECK(listen(ls, 4) == 0);
	pthread_t t;
	pthread_create(&t, NULL, client, NULL);
	struct sockaddr_in peer;
	socklen_t pl = sizeof(peer);
	int c = accept4(ls, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
	CHECK(c >= 0);
	char b[64] = { 0 };
	CHECK(recv(c, b, 13, MSG_WAITALL) == 13);
	printf("tcp got: %s from loopback %d\n", b,
	       peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	CHECK(send(c, "PONG", 4, 0) == 4);
	void *r;
	pthread_join(t, &r);
	printf("tcp client ok: %d\n", r == NULL);
	close(c);
	close(ls);

	int u1 = socket(AF_INET, SOCK_DGRAM, 0), u2 = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in ua = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	CHECK(bind(u1, (struct sockaddr *)&ua, sizeof(ua)) == 0);
	al = sizeof(ua);
	getsockname(u1, (struct sockaddr *)&ua, &al);
	CHECK(sendto(u2, "dgram", 5, 0, (struct sockaddr *)&ua, sizeof(ua)) == 5);
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	memset(b, 0, sizeof(b));
	CHECK(recvfrom(u1, b, sizeof(b), 0, (struct sockaddr *)&from, &fl) == 5);
	printf("udp got: %s\n", b);

	/* A classic BPF filter: its instructions sit behind a pointer the
	 * emulator or VMM must translate.  "Accept 11 bytes" (UDP header +
	 * 3) truncates. */
	struct sock_filter ins[] = { BPF_STMT(BPF_RET | BPF_K, 11) };
	struct sock_fprog prog = { .len = 1, .filter = ins };
	CHECK(setsockopt(u1, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) == 0);
	CHECK(sendto(u2, "dgram", 5, 0, (struct sockaddr *)&ua, sizeof(ua)) == 5);
	memset(b, 0, sizeof(b));
	printf("filtered udp: %zd %s\n", recv(u1, b, sizeof(b), 0), b);

	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	int p[2];
	CHECK(pipe(p) == 0);
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { "f", 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &p[1], sizeof(int));
	CHECK(sendmsg(sv[0], &m, 0) == 1);
	char rb;
	struct iovec riov = { &rb, 1 };
	char rcbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr rm = { .msg_iov = &riov, .msg_iovlen = 1,
			     .msg_control = rcbuf, .msg_controllen = sizeof(rcbuf) };
	CHECK(recvmsg(sv[1], &rm, 0) == 1);
	int fd;
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&rm)), sizeof(int));
	CHECK(write(fd, "via fd", 6) == 6);
	memset(b, 0, sizeof(b));
	CHECK(read(p[0], b, 6) == 6);
	printf("scm_rights: %s\n", b);
	printf("sockets ok\n");
	return 0;
}
