/* The host side of the guest console: stdio.
 *
 * When stdin is a terminal it is put in raw mode (restored on every exit
 * path, including fatal signals) and Ctrl-A is the escape key, as in QEMU:
 * Ctrl-A x quits, Ctrl-A h lists the keys, Ctrl-A a sends a literal Ctrl-A.
 * When stdin is not a terminal, its bytes are fed to the guest and, after
 * end of file, Ctrl-D (EOT) is offered about once a second so a guest shell
 * reading the console ends. */
#ifndef RINGVM_VMM_CONSOLE_H
#define RINGVM_VMM_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/evloop.h"

struct console {
	int in_fd, out_fd;
	bool tty;          /* stdin is a terminal in raw mode */
	bool escape;       /* Ctrl-A seen, waiting for the command key */
	bool eof;          /* stdin reached end of file */
	bool quit;         /* user asked to quit (Ctrl-A x) */
	bool pollable;     /* stdin can be watched with epoll */
	bool readable;     /* epoll said stdin has data */
	uint64_t last_eot_ns;
	uint8_t buf[4096]; /* bytes read from stdin, not yet taken by guest */
	size_t head, tail;
};

/* Open the console on fds 0/1; register stdin with the loop when it can be
 * polled.  Puts a terminal in raw mode.  Returns 0 or -errno. */
int console_open(struct console *c, struct evloop *l, struct err *errp);

/* The same on other descriptors (the caller keeps them open until
 * console_close); only fd 0 is ever put in raw mode. */
int console_open_fds(struct console *c, struct evloop *l, int in_fd,
		     int out_fd, struct err *errp);

/* Restore the terminal.  Safe to call more than once. */
void console_close(struct console *c);

/* Restore the terminal from a signal handler (async-signal-safe: one
 * tcsetattr on the state saved by console_open, if any). */
void console_restore_tty_now(void);

/* Write guest output: every byte reaches out_fd (retrying on EINTR/EAGAIN)
 * unless the descriptor is gone. */
void console_write(void *c, const uint8_t *buf, size_t len);

/* Hand pending input to the guest through `put` (which returns how many
 * bytes it accepted); `space` is how many it can take now.  Handles the
 * Ctrl-A escape and the EOF Ctrl-D.  now_ns: host monotonic time. */
void console_pump(struct console *c, size_t space,
		  size_t (*put)(void *opaque, const uint8_t *buf, size_t n),
		  void *opaque, uint64_t now_ns);

/* One byte for a polling consumer (SBI console_getchar): -1 if none. */
int console_getc(void *c);

#endif
