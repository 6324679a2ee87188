#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int err_vset(struct err *errp, int code, int with_strerror,
		    const char *fmt, va_list ap)
{
	if (code <= 0)
		code = code < 0 ? -code : EIO;
	if (!errp)
		return -code;
	if (errp->code)
		return -errp->code;
	errp->code = code;
	int n = vsnprintf(errp->msg, sizeof(errp->msg), fmt, ap);
	if (with_strerror && n >= 0 && (size_t)n < sizeof(errp->msg))
		snprintf(errp->msg + n, sizeof(errp->msg) - n, ": %s",
			 strerror(code));
	return -code;
}

int err_set(struct err *errp, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = err_vset(errp, code, 0, fmt, ap);
	va_end(ap);
	return r;
}

int err_sys(struct err *errp, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = err_vset(errp, code, 1, fmt, ap);
	va_end(ap);
	return r;
}

int err_prefix(struct err *errp, const char *fmt, ...)
{
	if (!errp)
		return -EIO;
	if (!errp->code)
		errp->code = EIO;
	char head[sizeof(errp->msg)], old[sizeof(errp->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(old, errp->msg, sizeof(old));
	/* Join by hand: "head: old", truncated to fit. */
	size_t cap = sizeof(errp->msg) - 1, n = strnlen(head, cap);
	memcpy(errp->msg, head, n);
	if (n + 2 <= cap) {
		memcpy(errp->msg + n, ": ", 2);
		n += 2;
	}
	size_t k = strnlen(old, cap - n);
	memcpy(errp->msg + n, old, k);
	errp->msg[n + k] = '\0';
	return -errp->code;
}
