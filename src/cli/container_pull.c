/* ringvm container pull [--tls-verify=false] [-q] IMAGE */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "container.h"
#include "container/registry.h"

int ctr_pull(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tls-verify", required_argument, NULL, 'T' },
		{ "insecure", no_argument, NULL, 'I' },
		{ "quiet", no_argument, NULL, 'q' },
		{ 0 }
	};
	struct registry_opts o = { .progress = stdout };
	optind = 0;
	opterr = 0;
	for (int c; (c = getopt_long(argc, argv, "+q", opts, NULL)) != -1;) {
		switch (c) {
		case 'T':
			if (strcmp(optarg, "true") && strcmp(optarg, "false"))
				return ctr_fail("pull: --tls-verify: expected true or false");
			o.no_verify = !strcmp(optarg, "false");
			break;
		case 'I': o.insecure = true; break;
		case 'q': o.progress = NULL; break;
		default:
			return ctr_fail("pull: unknown option or missing argument `%s`", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return ctr_fail("pull: expected one IMAGE");
	struct image_ref ref;
	struct err e = { 0 };
	if (ref_parse(argv[optind], &ref, &e))
		return ctr_fail("pull: %s", e.msg);
	struct store s;
	if (ctr_store(&s))
		return CTR_EXIT_ERROR;
	char id[DIGEST_HEX];
	int r = registry_pull(&s, &ref, &o, id, &e);
	store_close(&s);
	if (r)
		return ctr_fail("pull %s: %s", argv[optind], e.msg);
	char full[2 * REF_MAX];
	ref_full(&ref, full, sizeof(full));
	if (o.progress)
		printf("Status: Downloaded image for %s\n", ref_display_repo(full));
	else
		printf("%s\n", full);
	return 0;
}
