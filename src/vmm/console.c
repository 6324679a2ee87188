#include "console.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <termios.h>

/* The terminal state to restore lives in statics because the restore must
 * work from a signal handler and from atexit(). */
static struct termios saved_tio;
static volatile sig_atomic_t tio_saved;

static void restore_tty(void)
{
	if (tio_saved) {
		tcsetattr(0, TCSANOW, &saved_tio);
		tio_saved = 0;
	}
}

void console_restore_tty_now(void)
{
	restore_tty();
}

static void fatal_signal(int sig)
{
	restore_tty();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_stdin(void *opaque, int fd, uint32_t events)
{
	struct console *c = opaque;
	c->readable = true;
}

int console_open(struct console *c, struct evloop *l, struct err *errp)
{
	return console_open_fds(c, l, 0, 1, errp);
}

int console_open_fds(struct console *c, struct evloop *l, int in_fd,
		     int out_fd, struct err *errp)
{
	memset(c, 0, sizeof(*c));
	c->in_fd = in_fd;
	c->out_fd = out_fd;
	/* Only the process's own terminal is put in raw mode: its saved
	 * state is process-wide (restored from signal handlers). */
	if (in_fd == 0 && isatty(c->in_fd) &&
	    tcgetattr(c->in_fd, &saved_tio) == 0) {
		struct termios raw = saved_tio;
		cfmakeraw(&raw);
		tio_saved = 1;
		atexit(restore_tty);
		static const int sigs[] = { SIGTERM, SIGHUP, SIGQUIT, SIGSEGV,
					    SIGBUS, SIGABRT, SIGILL, SIGFPE };
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], fatal_signal);
		if (tcsetattr(c->in_fd, TCSANOW, &raw) < 0)
			return err_sys(errp, errno, "cannot set the terminal to raw mode");
		c->tty = true;
	}
	struct err e = { 0 };
	if (evloop_add(l, c->in_fd, EPOLLIN, on_stdin, c, &e) == 0) {
		c->pollable = true;
	} else {
		/* Regular files and /dev/null cannot be polled: they are
		 * always readable. */
		c->pollable = false;
		c->readable = true;
	}
	return 0;
}

void console_close(struct console *c)
{
	restore_tty();
	c->tty = false;
}

void console_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct console *c = opaque;
	while (len) {
		ssize_t n = write(c->out_fd, buf, len);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return; /* stdout closed: nowhere to deliver */
		}
		buf += n;
		len -= n;
	}
}

static void say(struct console *c, const char *s)
{
	console_write(c, (const uint8_t *)s, strlen(s));
}

static void fill(struct console *c)
{
	if (c->eof || !c->readable || c->head != c->tail)
		return;
	c->head = c->tail = 0;
	ssize_t n = read(c->in_fd, c->buf, sizeof(c->buf));
	if (n > 0) {
		c->tail = n;
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		c->eof = true;
		if (c->pollable)
			c->pollable = false; /* the loop keeps it; harmless */
	}
	if (c->pollable)
		c->readable = false;
}

/* Interpret Ctrl-A escapes in place; returns bytes to deliver from
 * buf[head..]. Consumed escape bytes are removed. */
static size_t filter_escapes(struct console *c)
{
	size_t out = c->head;
	for (size_t i = c->head; i < c->tail; i++) {
		uint8_t ch = c->buf[i];
		if (c->escape) {
			c->escape = false;
			switch (ch) {
			case 'x': case 'X':
				c->quit = true;
				say(c, "\r\nringvm: terminated by Ctrl-A x\r\n");
				break;
			case 'h': case 'H': case '?':
				say(c, "\r\nC-a h    print this help\r\n"
				       "C-a x    exit ringvm\r\n"
				       "C-a a    send C-a to the guest\r\n");
				break;
			case 1: case 'a': case 'A':
				c->buf[out++] = 1;
				break;
			default:
				break;
			}
			continue;
		}
		if (c->tty && ch == 1) {
			c->escape = true;
			continue;
		}
		c->buf[out++] = ch;
	}
	c->tail = out;
	return c->tail - c->head;
}

void console_pump(struct console *c, size_t space,
		  size_t (*put)(void *opaque, const uint8_t *buf, size_t n),
		  void *opaque, uint64_t now_ns)
{
	fill(c);
	if (c->head != c->tail) {
		if (!filter_escapes(c))
			return;
		size_t n = c->tail - c->head;
		if (n > space)
			n = space;
		if (n)
			c->head += put(opaque, c->buf + c->head, n);
		return;
	}
	if (c->eof && !c->tty && space &&
	    now_ns - c->last_eot_ns >= 1000000000ULL) {
		static const uint8_t eot = 4;
		if (put(opaque, &eot, 1))
			c->last_eot_ns = now_ns;
	}
}

int console_getc(void *opaque)
{
	struct console *c = opaque;
	fill(c);
	if (c->head == c->tail || !filter_escapes(c))
		return -1;
	return c->buf[c->head++];
}
