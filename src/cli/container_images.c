/* ringvm container load | images | tag | rmi */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "container.h"
#include "container/image.h"
#include "container/ref.h"

int ctr_load(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "quiet", no_argument, NULL, 'q' },
		{ 0 }
	};
	const char *in = "-";
	bool quiet = false;
	optind = 0;
	opterr = 0;
	for (int c; (c = getopt_long(argc, argv, "+i:q", opts, NULL)) != -1;) {
		if (c == 'i')
			in = optarg;
		else if (c == 'q')
			quiet = true;
		else
			return ctr_fail("load: unknown option or missing argument `%s`", argv[optind - 1]);
	}
	if (optind != argc)
		return ctr_fail("load: unexpected argument `%s` (the archive is given with -i)", argv[optind]);
	int fd = strcmp(in, "-") ? open(in, O_RDONLY | O_CLOEXEC) : 0;
	if (fd < 0)
		return ctr_fail("load: `%s`: %s", in, strerror(errno));
	struct store s;
	if (ctr_store(&s))
		return CTR_EXIT_ERROR;
	struct err e = { 0 };
	char **names = NULL;
	int r = image_load_archive(&s, fd, &names, &e);
	if (fd > 0)
		close(fd);
	store_close(&s);
	if (r)
		return ctr_fail("load `%s`: %s", in, e.msg);
	for (char **n = names; n && *n; n++) {
		if (!quiet) {
			if (!strncmp(*n, "sha256:", 7))
				printf("Loaded image ID: %s\n", *n);
			else
				printf("Loaded image: %s\n", *n);
		}
		free(*n);
	}
	free(names);
	return 0;
}

int ctr_images(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "no-trunc", no_argument, NULL, 'T' },
		{ 0 }
	};
	bool quiet = false, notrunc = false;
	optind = 0;
	opterr = 0;
	for (int c; (c = getopt_long(argc, argv, "+q", opts, NULL)) != -1;) {
		if (c == 'q')
			quiet = true;
		else if (c == 'T')
			notrunc = true;
		else
			return ctr_fail("images: unknown option `%s`", argv[optind - 1]);
	}
	if (optind != argc)
		return ctr_fail("images: unexpected argument `%s`", argv[optind]);
	struct store s;
	if (ctr_store(&s))
		return CTR_EXIT_ERROR;
	struct store_images im;
	struct err e = { 0 };
	int r = store_images_load(&s, &im, &e);
	store_close(&s);
	if (r)
		return ctr_fail("images: %s", e.msg);
	static const char *const head[] = { "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE" };
	struct ctr_table t;
	if (!quiet)
		ctr_table_init(&t, 5, head);
	/* Newest first, as docker lists them. */
	for (size_t done = 0; done < im.n; done++) {
		size_t best = SIZE_MAX;
		for (size_t i = 0; i < im.n; i++)
			if (im.v[i].size != UINT64_MAX &&
			    (best == SIZE_MAX || im.v[i].created > im.v[best].created))
				best = i;
		struct store_image *m = &im.v[best];
		char id[80], ago[64], size[32];
		snprintf(id, sizeof(id), notrunc ? "sha256:%s" : "%.12s", m->id);
		if (quiet) {
			printf("%s\n", id);
			m->size = UINT64_MAX;
			continue;
		}
		ctr_ago(m->created, ago, sizeof(ago));
		ctr_size(m->size, size, sizeof(size));
		for (size_t k = 0; k < (m->nnames ? m->nnames : 1); k++) {
			char repo[2 * REF_MAX] = "<none>";
			const char *tag = "<none>";
			if (m->nnames) {
				snprintf(repo, sizeof(repo), "%s", m->names[k]);
				char *colon = strrchr(repo, ':');
				if (colon && !strchr(colon, '/')) {
					*colon = '\0';
					tag = colon + 1;
				}
			}
			const char *row[] = { ref_display_repo(repo), tag, id, ago, size };
			ctr_table_row(&t, row);
		}
		m->size = UINT64_MAX; /* listed */
	}
	if (!quiet)
		ctr_table_print(&t);
	store_images_free(&im);
	return 0;
}

int ctr_tag(int argc, char **argv)
{
	if (argc != 3)
		return ctr_fail("tag: expected SOURCE TARGET");
	struct image_ref ref;
	struct err e = { 0 };
	if (ref_parse(argv[2], &ref, &e) || !ref.tag[0])
		return ctr_fail("tag: %s", e.msg[0] ? e.msg : "the target needs a tag, not a digest");
	char full[2 * REF_MAX];
	ref_full(&ref, full, sizeof(full));
	struct store s;
	if (ctr_store(&s))
		return CTR_EXIT_ERROR;
	struct store_images im = { 0 };
	int r = store_lock(&s, &e);
	if (!r)
		r = store_images_load(&s, &im, &e);
	int i = r ? r : store_image_find(&im, argv[1], &e);
	if (!r && i < 0)
		r = i;
	if (!r)
		r = store_image_tag(&im, (size_t)i, full, &e);
	if (!r)
		r = store_images_save(&s, &im, &e);
	store_images_free(&im);
	store_close(&s);
	return r ? ctr_fail("tag: %s", e.msg) : 0;
}

/* Whether a container made from image id exists (containers/ID/image). */
static const char *image_in_use(struct store *s, const char *id, char *who,
				size_t cap);

int ctr_rmi(int argc, char **argv)
{
	bool force = false;
	optind = 0;
	opterr = 0;
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' }, { 0 } };
	for (int c; (c = getopt_long(argc, argv, "+f", opts, NULL)) != -1;) {
		if (c == 'f')
			force = true;
		else
			return ctr_fail("rmi: unknown option `%s`", argv[optind - 1]);
	}
	if (optind >= argc)
		return ctr_fail("rmi: expected at least one image");
	struct store s;
	if (ctr_store(&s))
		return CTR_EXIT_ERROR;
	struct store_images im = { 0 };
	struct err e = { 0 };
	int r = store_lock(&s, &e), status = 0;
	if (!r)
		r = store_images_load(&s, &im, &e);
	if (r) {
		store_close(&s);
		return ctr_fail("rmi: %s", e.msg);
	}
	for (int a = optind; a < argc; a++) {
		err_clear(&e);
		int i = store_image_find(&im, argv[a], &e);
		if (i < 0) {
			status = ctr_fail("rmi: %s", e.msg);
			continue;
		}
		struct store_image *m = &im.v[i];
		/* A name (not an id) of an image with several: untag only. */
		struct image_ref ref;
		char full[2 * REF_MAX] = "";
		if (!ref_parse(argv[a], &ref, NULL) && ref.tag[0])
			ref_full(&ref, full, sizeof(full));
		bool by_name = false;
		for (size_t k = 0; k < m->nnames; k++)
			if (!strcmp(m->names[k], full))
				by_name = true;
		if (by_name && m->nnames > 1) {
			for (size_t k = 0; k < m->nnames; k++)
				if (!strcmp(m->names[k], full)) {
					printf("Untagged: %s\n", ref_display_repo(full));
					free(m->names[k]);
					m->names[k] = m->names[--m->nnames];
					break;
				}
			continue;
		}
		if (!by_name && m->nnames > 1 && !force) {
			status = ctr_fail("rmi: image %.12s has %zu names; remove them one by one or use -f",
					  m->id, m->nnames);
			continue;
		}
		char who[256];
		if (image_in_use(&s, m->id, who, sizeof(who))) {
			status = ctr_fail("rmi: image %.12s is used by container %s (remove it first)",
					  m->id, who);
			continue;
		}
		for (size_t k = 0; k < m->nnames; k++)
			printf("Untagged: %s\n", ref_display_repo(m->names[k]));
		printf("Deleted: sha256:%s\n", m->id);
		for (size_t k = 0; k < m->nnames; k++)
			free(m->names[k]);
		free(m->names);
		free(m->blobs);
		free(m->layers);
		im.v[i] = im.v[--im.n];
	}
	if ((r = store_images_save(&s, &im, &e)))
		status = ctr_fail("rmi: %s", e.msg);
	else
		store_gc(&s, &im);
	store_images_free(&im);
	store_close(&s);
	return status;
}

#include <dirent.h>

static const char *image_in_use(struct store *s, const char *id, char *who,
				size_t cap)
{
	int fd = openat(s->rootfd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	const char *found = NULL;
	for (struct dirent *de; !found && (de = readdir(d));) {
		if (de->d_name[0] == '.')
			continue;
		char p[300], buf[DIGEST_HEX] = "";
		snprintf(p, sizeof(p), "%s/image", de->d_name);
		int f = openat(dirfd(d), p, O_RDONLY | O_CLOEXEC);
		if (f < 0)
			continue;
		ssize_t n = read(f, buf, 64);
		close(f);
		if (n == 64 && !memcmp(buf, id, 64)) {
			snprintf(who, cap, "%.12s", de->d_name);
			found = who;
		}
	}
	closedir(d);
	return found;
}
