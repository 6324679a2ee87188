/* libFuzzer target: a hostile OCI config.json through the parser; a
 * successful parse is walked (every string read) and freed, so leaks and
 * dangling pointers in either path show up under ASan. */
#include <stdint.h>
#include <string.h>

#include "container/config.h"

static size_t walk(char **v)
{
	size_t n = 0;
	for (; v && *v; v++)
		n += strlen(*v);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oci_config c;
	struct err e = { 0 };
	if (oci_config_parse((const char *)data, size, &c, &e) != 0) {
		if (!e.msg[0])
			__builtin_trap(); /* every refusal has a message */
		return 0;
	}
	volatile size_t n = walk(c.args) + walk(c.env) + strlen(c.cwd) +
			    strlen(c.root_path) + walk(c.masked_paths) +
			    walk(c.readonly_paths) + walk(c.annotations);
	for (size_t i = 0; i < c.nmounts; i++)
		n += strlen(c.mounts[i].destination) + walk(c.mounts[i].options);
	if (c.seccomp)
		for (size_t i = 0; i < c.seccomp->nrules; i++)
			n += walk(c.seccomp->rules[i].names) + c.seccomp->rules[i].nargs;
	(void)n;
	oci_config_free(&c);
	return 0;
}
