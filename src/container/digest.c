/* sha256 through OpenSSL's EVP interface (libcrypto). */
#include "container/digest.h"

#include <openssl/evp.h>
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

struct digest_ctx *digest_init(void)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(c);
		c = NULL;
	}
	return (struct digest_ctx *)c;
}

void digest_update(struct digest_ctx *c, const void *buf, size_t n)
{
	EVP_DigestUpdate((EVP_MD_CTX *)c, buf, n);
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
	EVP_DigestFinal_ex((EVP_MD_CTX *)c, md, &n);
	to_hex(md, hex);
	EVP_MD_CTX_free((EVP_MD_CTX *)c);
}

void digest_free(struct digest_ctx *c)
{
	EVP_MD_CTX_free((EVP_MD_CTX *)c);
}

void digest_buf(const void *buf, size_t n, char hex[DIGEST_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	EVP_Digest(buf, n, md, &len, EVP_sha256(), NULL);
	to_hex(md, hex);
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
