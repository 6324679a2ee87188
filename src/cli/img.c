/* ringvm img: disk image tool with qemu-img's verbs and option names.
 * One file per verb (img_VERB.c); shared helpers in img_common.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "img_common.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *synopsis;
} verbs[] = {
	{ "create", img_create, "create [-f FMT] [-o OPTS] [-b BACKING [-F FMT]] [-u] FILE [SIZE]" },
	{ "info", img_info, "info [-f FMT] [--output=human|json] [--json] [--backing-chain] FILE" },
	{ "check", img_check, "check [-f FMT] [-r leaks|all] [--output=human|json] FILE" },
	{ "convert", img_convert, "convert [-f FMT] [-O FMT] [-o OPTS] [-p] [-n] SRC... DST" },
	{ "commit", img_commit, "commit [-f FMT] [-d] [-p] FILE" },
	{ "rebase", img_rebase, "rebase [-f FMT] [-u] [-p] -b BACKING [-F FMT] FILE" },
	{ "resize", img_resize, "resize [-f FMT] [--shrink] FILE [+|-]SIZE" },
	{ "snapshot", img_snapshot, "snapshot [-l | -c NAME | -a NAME | -d NAME] FILE" },
	{ "map", img_map, "map [-f FMT] [--output=human|json] [--json] FILE" },
};
#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: ringvm img <command> [options]\n\n"
		   "Create, inspect, check and convert disk images (raw, "
		   "qcow2).\nOption names follow qemu-img.\n\nCommands:\n");
	for (size_t i = 0; i < NVERBS; i++)
		fprintf(f, "  %s\n", verbs[i].synopsis);
	fprintf(f, "\n  ringvm img <command> --help   details of a command\n"
		   "SIZE: bytes, or with a suffix K, M, G, T (powers of 1024).\n");
}

int cli_img(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "ringvm img: missing command (try `ringvm img "
			"--help`)\n");
		return 1;
	}
	const char *verb = argv[1];
	if (!strcmp(verb, "--help") || !strcmp(verb, "-h") ||
	    !strcmp(verb, "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < NVERBS; i++)
		if (!strcmp(verb, verbs[i].name))
			return verbs[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "ringvm img: unknown command `%s` (try `ringvm img "
		"--help`)\n", verb);
	return 1;
}
