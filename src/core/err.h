/* One error idiom for all of ringvm (see docs/ARCHITECTURE.md).
 *
 * A fallible function takes `struct err *errp` as its last argument and
 * returns 0 on success or a negative errno.  At the point of failure it
 * records a human-readable message with err_set(); callers that add context
 * use err_prefix().  Only src/cli/ prints the message (once) and exits.
 * errp may be NULL when the caller does not care about the message. */
#ifndef RINGVM_CORE_ERR_H
#define RINGVM_CORE_ERR_H

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

struct err {
	int code;       /* positive errno of the first failure, 0 if none */
	char msg[512];  /* message for the user, NUL-terminated */
};

/* Record a failure.  code: a positive errno (EINVAL, ENOENT, ...).
 * Returns -code so that callers can write `return err_set(errp, ...)`.
 * If errp already holds an error, the first one is kept. */
int err_set(struct err *errp, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like err_set() but appends ": strerror(code)" to the message. */
int err_sys(struct err *errp, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepend context ("open disk `a.img`: ") to an error already recorded.
 * Returns -errp->code (or -EIO if no error was recorded). */
int err_prefix(struct err *errp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Forget any recorded error. */
static inline void err_clear(struct err *errp)
{
	if (errp) {
		errp->code = 0;
		errp->msg[0] = '\0';
	}
}

/* cleanup helpers in the style of crun: `cleanup_free char *p = ...;` */
static inline void cleanup_freep(void *p) { free(*(void **)p); }
static inline void cleanup_closep(int *fd) { if (*fd >= 0) close(*fd); }
#define cleanup_free __attribute__((cleanup(cleanup_freep)))
#define cleanup_close __attribute__((cleanup(cleanup_closep)))

#endif
