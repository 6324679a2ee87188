/* Unit tests for the image side of src/container/: tar headers and
 * streams (tar.c), safe unpacking (unpack.c), references (ref.c),
 * index/manifest/config parsing (manifest.c), digests and the store's
 * verification (digest.c, store.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "container/digest.h"
#include "container/manifest.h"
#include "container/ref.h"
#include "container/registry.h"
#include "container/store.h"
#include "container/tar.h"
#include "container/unpack.h"

#include "../fuzz/tar_mem.h"

/* ---- building tar streams in memory ---- */

struct tbuf {
	uint8_t d[65536];
	size_t n;
};

static void hdr(struct tbuf *t, const char *name, char type, const char *link,
		size_t size, const char *data)
{
	uint8_t *b = t->d + t->n;
	memset(b, 0, 512);
	snprintf((char *)b, 100, "%s", name);
	snprintf((char *)b + 100, 8, "%07o", 0644);
	snprintf((char *)b + 108, 8, "%07o", 0);
	snprintf((char *)b + 116, 8, "%07o", 0);
	snprintf((char *)b + 124, 12, "%011zo", size);
	snprintf((char *)b + 136, 12, "%011o", 1700000000);
	b[156] = (uint8_t)type;
	if (link)
		snprintf((char *)b + 157, 100, "%s", link);
	memcpy(b + 257, "ustar\0" "00", 8);
	memset(b + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += b[i];
	snprintf((char *)b + 148, 8, "%06o", sum);
	t->n += 512;
	if (size) {
		memcpy(t->d + t->n, data, size);
		t->n += (size + 511) / 512 * 512;
	}
}

static void end(struct tbuf *t)
{
	memset(t->d + t->n, 0, 1024);
	t->n += 1024;
}

static void header_fields(void **state)
{
	struct tbuf t = { 0 };
	hdr(&t, "dir/file", '0', NULL, 5, "hello");
	struct tar_entry e;
	struct err er = { 0 };
	assert_int_equal(tar_header_parse(t.d, &e, &er), 1);
	assert_string_equal(e.path, "dir/file");
	assert_int_equal(e.size, 5);
	assert_int_equal(e.mode, 0644);
	assert_int_equal(e.mtime, 1700000000);
	/* checksum */
	t.d[0] ^= 1;
	assert_int_equal(tar_header_parse(t.d, &e, &er), -EINVAL);
	assert_non_null(strstr(er.msg, "checksum"));
	/* all zero: end of archive */
	uint8_t z[512] = { 0 };
	assert_int_equal(tar_header_parse(z, &e, NULL), 0);
	/* base-256 size (GNU), 2^33 bytes */
	struct tbuf b = { 0 };
	hdr(&b, "big", '0', NULL, 0, NULL);
	memset(b.d + 124, 0, 12);
	b.d[124] = 0x80;
	b.d[131] = 0x02;
	memset(b.d + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += b.d[i];
	snprintf((char *)b.d + 148, 8, "%06o", sum);
	assert_int_equal(tar_header_parse(b.d, &e, &er), 1);
	assert_int_equal(e.size, 1ull << 33);
	/* a non-octal digit */
	hdr(&b, "bad", '0', NULL, 0, NULL);
	uint8_t *h = b.d + 512;
	h[101] = '9';
	memset(h + 148, ' ', 8);
	sum = 0;
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	err_clear(&er);
	assert_int_equal(tar_header_parse(h, &e, &er), -EINVAL);
}

static void stream_pax_gnu(void **state)
{
	struct tbuf t = { 0 };
	char longname[300];
	memset(longname, 'a', 250);
	strcpy(longname + 250, "/x");
	/* "LEN path=VALUE\n" where LEN counts itself: 3 digits here. */
	char pax[512];
	snprintf(pax, sizeof(pax), "%zu path=%s\n", 3 + 1 + 5 + strlen(longname) + 1, longname);
	hdr(&t, "PaxHeaders/x", 'x', NULL, strlen(pax), pax);
	hdr(&t, "short", '0', NULL, 3, "abc");
	char gnu[300];
	snprintf(gnu, sizeof(gnu), "%s", "gnu/long/link/target");
	hdr(&t, "././@LongLink", 'K', NULL, strlen(gnu) + 1, gnu);
	hdr(&t, "sym", '2', "short-target", 0, NULL);
	end(&t);
	struct tar_mem m = { t.d, t.n, 0 };
	struct tar_reader r;
	tar_reader_init(&r, tar_mem_read, &m);
	struct tar_entry *e = malloc(sizeof(*e));
	struct err er = { 0 };
	assert_int_equal(tar_next(&r, e, &er), 1);
	assert_string_equal(e->path, longname);
	char d[8] = { 0 };
	assert_int_equal(tar_read_data(&r, d, sizeof(d), &er), 3);
	assert_string_equal(d, "abc");
	assert_int_equal(tar_next(&r, e, &er), 1);
	assert_int_equal(e->type, '2');
	assert_string_equal(e->link, "gnu/long/link/target");
	assert_int_equal(tar_next(&r, e, &er), 0);
	assert_int_equal(tar_next(&r, e, &er), 0);

	/* A pax record whose length runs past the header is refused. */
	struct tbuf b = { 0 };
	hdr(&b, "PaxHeaders/x", 'x', NULL, 12, "99 path=abc\n");
	hdr(&b, "f", '0', NULL, 0, NULL);
	end(&b);
	struct tar_mem m2 = { b.d, b.n, 0 };
	tar_reader_init(&r, tar_mem_read, &m2);
	assert_int_equal(tar_next(&r, e, &er), -EINVAL);
	assert_non_null(strstr(er.msg, "pax"));

	/* Truncated data. */
	struct tbuf c = { 0 };
	hdr(&c, "f", '0', NULL, 600, (const char[600]){ 0 });
	struct tar_mem m3 = { c.d, 700, 0 };
	tar_reader_init(&r, tar_mem_read, &m3);
	err_clear(&er);
	assert_int_equal(tar_next(&r, e, &er), 1);
	char big[1024];
	ssize_t k;
	while ((k = tar_read_data(&r, big, sizeof(big), &er)) > 0)
		;
	assert_int_equal(k, -EIO);
	free(e);
}

static void path_clean(void **state)
{
	char p[64];
	struct err e = { 0 };
	strcpy(p, "./a//b/./c/");
	assert_int_equal(tar_path_clean(p, false, &e), 0);
	assert_string_equal(p, "a/b/c");
	strcpy(p, "./");
	assert_int_equal(tar_path_clean(p, true, &e), 0);
	assert_string_equal(p, "");
	strcpy(p, "./");
	assert_int_equal(tar_path_clean(p, false, &e), -EINVAL);
	strcpy(p, "a/../../b");
	assert_int_equal(tar_path_clean(p, false, &e), -EINVAL);
	strcpy(p, "/etc/passwd");
	assert_int_equal(tar_path_clean(p, false, &e), -EINVAL);
	strcpy(p, "a/..");
	assert_int_equal(tar_path_clean(p, false, &e), -EINVAL);
	strcpy(p, "..a/b..");
	assert_int_equal(tar_path_clean(p, false, &e), 0);
	assert_string_equal(p, "..a/b..");
}

static char tmpl[64];

static int mktmp(void)
{
	snprintf(tmpl, sizeof(tmpl), "/tmp/ringvm-unit-img.XXXXXX");
	assert_non_null(mkdtemp(tmpl));
	return open(tmpl, O_RDONLY | O_DIRECTORY);
}

static void rmtmp(int fd)
{
	struct err e = { 0 };
	close(fd);
	char *slash = strrchr(tmpl, '/');
	*slash = '\0';
	int d = open(tmpl, O_RDONLY | O_DIRECTORY);
	unpack_remove(d, slash + 1, &e);
	close(d);
}

static int tar_file(const struct tbuf *t)
{
	char p[] = "/tmp/ringvm-unit-tar.XXXXXX";
	int fd = mkstemp(p);
	assert_true(fd >= 0);
	unlink(p);
	assert_int_equal(write(fd, t->d, t->n), (ssize_t)t->n);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static int unpack(const struct tbuf *t, int dir, const struct unpack_opts *o,
		  struct err *e)
{
	int fd = tar_file(t);
	char id[DIGEST_HEX];
	uint64_t us;
	err_clear(e);
	int r = unpack_tar(fd, dir, o, id, &us, e);
	if (!r) {
		char want[DIGEST_HEX];
		digest_buf(t->d, t->n, want);
		assert_string_equal(id, want);
		assert_int_equal(us, t->n);
	}
	close(fd);
	return r;
}

static void unpack_layer(void **state)
{
	int dir = mktmp();
	struct tbuf t = { 0 };
	hdr(&t, "a/", '5', NULL, 0, NULL);
	hdr(&t, "a/f", '0', NULL, 2, "hi");
	hdr(&t, "a/hl", '1', "a/f", 0, NULL);
	hdr(&t, "a/s", '2', "/etc/passwd", 0, NULL);
	hdr(&t, "a/.wh.gone", '0', NULL, 0, NULL);
	hdr(&t, "b/.wh..wh..opq", '0', NULL, 0, NULL);
	hdr(&t, "a/f", '0', NULL, 3, "new"); /* a later entry replaces */
	end(&t);
	struct unpack_opts o = { .layer = true, .devices = geteuid() == 0, .owners = false };
	struct err e = { 0 };
	assert_int_equal(unpack(&t, dir, &o, &e), 0);
	struct stat st;
	assert_int_equal(fstatat(dir, "a/hl", &st, 0), 0);
	assert_int_equal(st.st_size, 2); /* linked to the first a/f */
	assert_int_equal(fstatat(dir, "a/f", &st, 0), 0);
	assert_int_equal(st.st_size, 3);
	char l[64] = { 0 };
	assert_true(readlinkat(dir, "a/s", l, sizeof(l)) > 0);
	assert_string_equal(l, "/etc/passwd");
	if (geteuid() == 0) {
		assert_int_equal(fstatat(dir, "a/gone", &st, AT_SYMLINK_NOFOLLOW), 0);
		assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
		int b = openat(dir, "b", O_RDONLY | O_DIRECTORY);
		char y = 0;
		assert_int_equal(fgetxattr(b, "trusted.overlay.opaque", &y, 1), 1);
		assert_int_equal(y, 'y');
		close(b);
	} else {
		/* Rootless stores mark opaque directories in user.* (unpack.h). */
		int b = openat(dir, "b", O_RDONLY | O_DIRECTORY);
		char y = 0;
		assert_int_equal(fgetxattr(b, "user.overlay.opaque", &y, 1), 1);
		assert_int_equal(y, 'y');
		close(b);
	}
	rmtmp(dir);

	/* Not a layer: whiteout names are plain files. */
	dir = mktmp();
	struct tbuf p = { 0 };
	hdr(&p, ".wh.x", '0', NULL, 1, "x");
	end(&p);
	struct unpack_opts plain = { 0 };
	assert_int_equal(unpack(&p, dir, &plain, &e), 0);
	assert_int_equal(fstatat(dir, ".wh.x", &st, 0), 0);
	assert_true(S_ISREG(st.st_mode));
	rmtmp(dir);
}

static void unpack_hostile(void **state)
{
	static const struct {
		const char *name;
		char type;
		const char *link;
		const char *why;
	} bad[] = {
		{ "../x", '0', NULL, "`..`" },
		{ "/abs", '0', NULL, "absolute" },
		{ "h", '1', "/etc/passwd", "absolute" },
		{ "h", '1', "../../etc/passwd", "`..`" },
		{ "h", '1', "missing", "No such file" },
		{ "dev", '3', NULL, "device node refused" },
		{ "odd", 'V', NULL, "unsupported entry type" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int dir = mktmp();
		struct tbuf t = { 0 };
		hdr(&t, bad[i].name, bad[i].type, bad[i].link, 0, NULL);
		end(&t);
		struct unpack_opts o = { .layer = true };
		struct err e = { 0 };
		assert_true(unpack(&t, dir, &o, &e) < 0);
		if (!strstr(e.msg, bad[i].why))
			fail_msg("%s: `%s` does not say %s", bad[i].name, e.msg, bad[i].why);
		rmtmp(dir);
	}
	/* Writing through a symlink the archive made. */
	int dir = mktmp();
	struct tbuf t = { 0 };
	hdr(&t, "d", '2', "/tmp", 0, NULL);
	hdr(&t, "d/pwned-by-unit-test", '0', NULL, 1, "x");
	end(&t);
	struct unpack_opts o = { .layer = true };
	struct err e = { 0 };
	assert_true(unpack(&t, dir, &o, &e) < 0);
	assert_non_null(strstr(e.msg, "symlink"));
	assert_int_equal(access("/tmp/pwned-by-unit-test", F_OK), -1);
	/* Replacing a symlink with a file does not write through it. */
	struct tbuf u = { 0 };
	hdr(&u, "s", '2', "/tmp/ringvm-unit-target", 0, NULL);
	hdr(&u, "s", '0', NULL, 1, "x");
	end(&u);
	assert_int_equal(unpack(&u, dir, &o, &e), 0);
	assert_int_equal(access("/tmp/ringvm-unit-target", F_OK), -1);
	rmtmp(dir);
}

static void references(void **state)
{
	static const struct {
		const char *in, *domain, *path, *tag;
	} ok[] = {
		{ "busybox", "docker.io", "library/busybox", "latest" },
		{ "busybox:1.36", "docker.io", "library/busybox", "1.36" },
		{ "user/app:v1", "docker.io", "user/app", "v1" },
		{ "localhost/x", "localhost", "x", "latest" },
		{ "127.0.0.1:5000/a/b:c", "127.0.0.1:5000", "a/b", "c" },
		{ "quay.io/x_y/z-w.v:T_1.x", "quay.io", "x_y/z-w.v", "T_1.x" },
	};
	struct image_ref r;
	struct err e = { 0 };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(ref_parse(ok[i].in, &r, &e), 0);
		assert_string_equal(r.domain, ok[i].domain);
		assert_string_equal(r.path, ok[i].path);
		assert_string_equal(r.tag, ok[i].tag);
	}
	assert_int_equal(ref_parse("x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", &r, &e), 0);
	assert_string_equal(r.tag, "");
	assert_string_equal(r.digest, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	char full[600];
	ref_full(&r, full, sizeof(full));
	assert_string_equal(full, "docker.io/library/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	static const char *const bad[] = { "", "Upper", "a//b", "a:", ":t", "a:-t",
		"a@sha256:12", "a@md5:0123", "-a", "a-", "a..b", "host:99999999/x",
		"a:b c", "a/b/" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		if (ref_parse(bad[i], &r, &e) != -EINVAL)
			fail_msg("`%s` accepted", bad[i]);
		assert_non_null(strstr(e.msg, "invalid reference format"));
	}
	assert_string_equal(ref_display_repo("docker.io/library/busybox"), "busybox");
	assert_string_equal(ref_display_repo("docker.io/u/x"), "u/x");
	assert_string_equal(ref_display_repo("localhost/x"), "localhost/x");
}

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static void documents(void **state)
{
	const char *ix =
		"{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX "\",\"manifests\":["
		"{\"digest\":\"" D1 "\",\"size\":10,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
		"{\"digest\":\"" D2 "\",\"size\":11,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"},"
		"\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}}]}";
	struct oci_index x;
	struct err e = { 0 };
	assert_true(oci_doc_is_index(ix, strlen(ix)));
	assert_int_equal(oci_index_parse(ix, strlen(ix), &x, &e), 0);
	size_t i;
	assert_int_equal(oci_index_pick(&x, "linux", "amd64", &i, &e), 0);
	assert_int_equal(i, 1);
	assert_string_equal(x.manifests[1].name, "v1");
	assert_int_equal(oci_index_pick(&x, "linux", "s390x", &i, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "linux/arm64"));
	oci_index_free(&x);

	const char *m = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" MT_OCI_CONFIG
		"\",\"digest\":\"" D1 "\",\"size\":5},\"layers\":[{\"mediaType\":"
		"\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D2 "\",\"size\":7}]}";
	struct oci_manifest mf;
	assert_false(oci_doc_is_index(m, strlen(m)));
	assert_int_equal(oci_manifest_parse(m, strlen(m), &mf, &e), 0);
	assert_int_equal(mf.nlayers, 1);
	assert_int_equal(mf.layers[0].size, 7);
	assert_string_equal(mf.config.digest, D1 + 7);
	oci_manifest_free(&mf);

	static const char *const badm[] = {
		"{\"schemaVersion\":1}",
		"{\"schemaVersion\":2,\"layers\":[]}",
		"{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:12\",\"size\":1},\"layers\":[]}",
		"{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":-1},\"layers\":[]}",
		"{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[{\"mediaType\":\"text/html\",\"digest\":\"" D1 "\",\"size\":1}]}",
		"{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":{}}",
		"[1]", "{", "{} x",
	};
	for (size_t k = 0; k < sizeof(badm) / sizeof(badm[0]); k++) {
		err_clear(&e);
		if (oci_manifest_parse(badm[k], strlen(badm[k]), &mf, &e) == 0)
			fail_msg("manifest `%s` accepted", badm[k]);
		assert_true(e.msg[0]);
	}

	const char *c = "{\"created\":\"2024-01-02T03:04:05.5+01:00\",\"os\":\"linux\","
		"\"config\":{\"Entrypoint\":[\"/e\"],\"Cmd\":[\"a\",\"b\"],\"Env\":[\"A=1\"],"
		"\"WorkingDir\":\"/w\",\"User\":\"1:2\",\"ExposedPorts\":{\"80/tcp\":{}}},"
		"\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\"]}}";
	struct oci_image_config ic;
	assert_int_equal(oci_image_config_parse(c, strlen(c), &ic, &e), 0);
	assert_string_equal(ic.entrypoint[0], "/e");
	assert_null(ic.entrypoint[1]);
	assert_string_equal(ic.cmd[1], "b");
	assert_string_equal(ic.env[0], "A=1");
	assert_string_equal(ic.workdir, "/w");
	assert_string_equal(ic.user, "1:2");
	assert_string_equal(ic.ports[0], "80/tcp");
	assert_int_equal(ic.ndiff, 1);
	oci_image_config_free(&ic);
	const char *bc = "{\"config\":{\"Cmd\":\"notarray\"},\"rootfs\":{\"diff_ids\":[]}}";
	assert_int_equal(oci_image_config_parse(bc, strlen(bc), &ic, &e), -EINVAL);
	const char *nodiff = "{\"config\":{}}";
	assert_int_equal(oci_image_config_parse(nodiff, strlen(nodiff), &ic, &e), -EINVAL);
}

static void digests_and_store(void **state)
{
	char hex[DIGEST_HEX];
	struct err e = { 0 };
	digest_buf("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(digest_parse("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", hex, "x", &e), 0);
	assert_int_equal(digest_parse("sha256:BA7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", hex, "x", &e), -EINVAL);
	assert_int_equal(digest_parse("sha512:ba", hex, "x", &e), -EINVAL);

	int dir = mktmp();
	struct store s;
	assert_int_equal(store_open(tmpl, &s, &e), 0);
	assert_int_equal(store_blob_put_buf(&s, "abc", 3, hex, &e), 0);
	char *buf;
	size_t len;
	assert_int_equal(store_blob_read(&s, hex, 100, &buf, &len, &e), 0);
	assert_int_equal(len, 3);
	free(buf);
	/* A blob whose content changed is refused. */
	char p[256];
	snprintf(p, sizeof(p), "%s/blobs/sha256/%s", tmpl, hex);
	int fd = open(p, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "d", 1), 1);
	close(fd);
	err_clear(&e);
	assert_int_equal(store_blob_read(&s, hex, 100, &buf, &len, &e), -EIO);
	assert_non_null(strstr(e.msg, "corrupted"));
	/* Putting with the wrong expected digest is refused, nothing kept. */
	int in = open("/dev/null", O_RDONLY);
	char got[DIGEST_HEX];
	err_clear(&e);
	assert_int_equal(store_blob_put_fd(&s, in, hex, got, &e), -EINVAL);
	close(in);
	assert_non_null(strstr(e.msg, "digest mismatch"));
	assert_false(store_blob_has(&s, got));

	/* A layer blob is verified in the pass that unpacks it: intact it
	 * unpacks; changed on disk it is refused and nothing is kept. */
	struct tbuf t = { 0 };
	hdr(&t, "f", '0', NULL, 2, "hi");
	end(&t);
	char lhex[DIGEST_HEX], diff[DIGEST_HEX];
	uint64_t us = 0;
	digest_buf(t.d, t.n, diff);
	assert_int_equal(store_blob_put_buf(&s, t.d, t.n, lhex, &e), 0);
	assert_int_equal(store_layer_unpack(&s, lhex, diff, &us, &e), 0);
	assert_int_equal(us, t.n);
	snprintf(p, sizeof(p), "layers/%s", diff);
	assert_int_equal(unpack_remove(s.rootfd, p, &e), 0);
	snprintf(p, sizeof(p), "%s/blobs/sha256/%s", tmpl, lhex);
	fd = open(p, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "x", 1), 1); /* after the tar's end */
	close(fd);
	err_clear(&e);
	assert_int_equal(store_layer_unpack(&s, lhex, diff, &us, &e), -EIO);
	assert_non_null(strstr(e.msg, "is corrupted"));
	snprintf(p, sizeof(p), "layers/%s", diff);
	struct stat st;
	assert_int_equal(fstatat(s.rootfd, p, &st, AT_SYMLINK_NOFOLLOW), -1);
	snprintf(p, sizeof(p), "%s/tmp", tmpl);
	DIR *td = opendir(p);
	int left = 0;
	for (struct dirent *de; (de = readdir(td));)
		left += de->d_name[0] != '.';
	closedir(td);
	assert_int_equal(left, 0);
	store_close(&s);
	rmtmp(dir);
}

static void challenges(void **state)
{
	char realm[64], service[64], scope[64];
	struct err e = { 0 };
	assert_int_equal(registry_parse_challenge(
		"Bearer realm=\"https://a/token\",service=\"reg\",scope=\"repository:x/y:pull\"",
		realm, service, scope, sizeof(realm), &e), 0);
	assert_string_equal(realm, "https://a/token");
	assert_string_equal(service, "reg");
	assert_string_equal(scope, "repository:x/y:pull");
	assert_int_equal(registry_parse_challenge("Basic realm=\"x\"", realm, service, scope,
						  sizeof(realm), &e), -EINVAL);
	assert_int_equal(registry_parse_challenge("Bearer service=\"x\"", realm, service, scope,
						  sizeof(realm), &e), -EINVAL);
	assert_int_equal(registry_parse_challenge("Bearer realm=\"file:///etc/passwd\"", realm,
						  service, scope, sizeof(realm), &e), -EINVAL);
	/* Truncated to the buffer, never past it. */
	char big[200];
	snprintf(big, sizeof(big), "Bearer realm=\"http://%0120d\"", 0);
	assert_int_equal(registry_parse_challenge(big, realm, service, scope, sizeof(realm), &e), 0);
	assert_int_equal(strlen(realm), sizeof(realm) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(header_fields),
		cmocka_unit_test(stream_pax_gnu),
		cmocka_unit_test(path_clean),
		cmocka_unit_test(unpack_layer),
		cmocka_unit_test(unpack_hostile),
		cmocka_unit_test(references),
		cmocka_unit_test(documents),
		cmocka_unit_test(digests_and_store),
		cmocka_unit_test(challenges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
