/* Parsing of user-supplied numbers and sizes (command-line options). */
#ifndef RINGVM_CORE_PARSE_H
#define RINGVM_CORE_PARSE_H

#include <stdint.h>

#include "err.h"

/* Parse a size such as "512M", "2G", "4096", "1.5G", "64k".  Suffixes
 * (case-insensitive): B, K, M, G, T (powers of 1024), optional trailing "iB"
 * or "B".  A bare number is bytes unless default_unit (bytes) says otherwise
 * (e.g. 1 << 20 for "--mem 512" meaning MiB, as QEMU does).
 * Returns 0 and stores bytes in *out, or -EINVAL (garbage, empty, negative)
 * or -ERANGE (does not fit in 64 bits); the message quotes `what`. */
int parse_size(const char *s, uint64_t default_unit, uint64_t *out,
	       const char *what, struct err *errp);

/* Parse a decimal unsigned integer in [min, max]; -EINVAL or -ERANGE. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out,
	       const char *what, struct err *errp);

#endif
