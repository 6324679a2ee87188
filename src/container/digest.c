/* sha256 through OpenSSL's EVP interface (libcrypto, loaded on demand). */
#include "container/digest.h"

#include <dlfcn.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int digest_hex_valid(const char *s)
{
	size_t i;
	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

int digest_parse(const char *s, char hex[DIGEST_HEX], const char *what,
		 struct err *errp)
{
	if (!s || strncmp(s, "sha256:", 7) || strlen(s) != 7 + 64 ||
	    !digest_hex_valid(s + 7))
		return err_set(errp, EINVAL, "%s: `%.80s` is not a sha256 digest",
			       what, s ? s : "(null)");
	memcpy(hex, s + 7, DIGEST_HEX);
	return 0;
}

/* libcrypto is opened on first use, per context, not linked: mapping and
 * relocating it cost ~1.3 ms of every ringvm exec on the bench host
 * (docs/PERFORMANCE.md "Containers"), and only the image store hashes.
 * dlopen of a library already loaded only takes a reference, so a context
 * after the first costs a few symbol lookups; RTLD_NODELETE keeps it
 * mapped (OpenSSL registers exit handlers). */
struct digest_ctx {
	void *lib;
	EVP_MD_CTX *md;
	int (*update)(EVP_MD_CTX *c, const void *d, size_t n);
	int (*final)(EVP_MD_CTX *c, unsigned char *md, unsigned int *n);
	void (*free)(EVP_MD_CTX *c);
};

static void *sym(void *lib, const char *name)
{
	return dlsym(lib, name);
}

struct digest_ctx *digest_init(void)
{
	struct digest_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->lib = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!c->lib) {
		free(c);
		return NULL;
	}
	EVP_MD_CTX *(*ctx_new)(void);
	const EVP_MD *(*sha256)(void);
	int (*init)(EVP_MD_CTX *c, const EVP_MD *t, ENGINE *e);
	void *p[6] = { sym(c->lib, "EVP_MD_CTX_new"), sym(c->lib, "EVP_sha256"),
		       sym(c->lib, "EVP_DigestInit_ex"), sym(c->lib, "EVP_DigestUpdate"),
		       sym(c->lib, "EVP_DigestFinal_ex"), sym(c->lib, "EVP_MD_CTX_free") };
	for (int i = 0; i < 6; i++)
		if (!p[i]) {
			dlclose(c->lib);
			free(c);
			return NULL;
		}
	/* POSIX: a dlsym result converts to a function pointer. */
	memcpy(&ctx_new, &p[0], sizeof(p[0]));
	memcpy(&sha256, &p[1], sizeof(p[1]));
	memcpy(&init, &p[2], sizeof(p[2]));
	memcpy(&c->update, &p[3], sizeof(p[3]));
	memcpy(&c->final, &p[4], sizeof(p[4]));
	memcpy(&c->free, &p[5], sizeof(p[5]));
	if (!(c->md = ctx_new()) || init(c->md, sha256(), NULL) != 1) {
		digest_free(c);
		return NULL;
	}
	return c;
}

void digest_update(struct digest_ctx *c, const void *buf, size_t n)
{
	c->update(c->md, buf, n);
}

static void to_hex(const unsigned char *md, char hex[DIGEST_HEX])
{
	static const char x[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		hex[2 * i] = x[md[i] >> 4];
		hex[2 * i + 1] = x[md[i] & 15];
	}
	hex[64] = '\0';
}

void digest_final(struct digest_ctx *c, char hex[DIGEST_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	c->final(c->md, md, &n);
	to_hex(md, hex);
	digest_free(c);
}

void digest_free(struct digest_ctx *c)
{
	if (!c)
		return;
	if (c->md)
		c->free(c->md);
	dlclose(c->lib);
	free(c);
}

void digest_buf(const void *buf, size_t n, char hex[DIGEST_HEX])
{
	struct digest_ctx *c = digest_init();
	if (!c) {
		/* No libcrypto or no memory: a value no content hashes to,
		 * so every comparison with it fails closed. */
		memset(hex, 'x', 64);
		hex[64] = '\0';
		return;
	}
	digest_update(c, buf, n);
	digest_final(c, hex);
}

int digest_fd(int fd, char hex[DIGEST_HEX], uint64_t *size, struct err *errp)
{
	struct digest_ctx *c = digest_init();
	if (!c)
		return err_set(errp, ENOMEM, "sha256: out of memory");
	static const size_t bufsz = 1 << 16;
	char *buf = malloc(bufsz);
	uint64_t total = 0;
	if (!buf) {
		digest_free(c);
		return err_set(errp, ENOMEM, "sha256: out of memory");
	}
	for (;;) {
		ssize_t n = read(fd, buf, bufsz);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = err_sys(errp, errno, "sha256: read");
			free(buf);
			digest_free(c);
			return r;
		}
		if (n == 0)
			break;
		digest_update(c, buf, (size_t)n);
		total += (uint64_t)n;
	}
	free(buf);
	digest_final(c, hex);
	if (size)
		*size = total;
	return 0;
}
