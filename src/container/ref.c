/* Image reference parsing (see ref.h). */
#include "container/ref.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)* */
static bool path_component_ok(const char *c, size_t n)
{
	if (!n || !lower_alnum(c[0]) || !lower_alnum(c[n - 1]))
		return false;
	for (size_t i = 1; i < n; i++) {
		if (lower_alnum(c[i]))
			continue;
		if (c[i] == '.' || c[i] == '_' || c[i] == '-') {
			if (c[i] == '.' && !lower_alnum(c[i - 1]))
				return false;
			if (c[i] == '_' && c[i - 1] == '_' && i >= 2 && c[i - 2] == '_')
				return false;
			continue;
		}
		return false;
	}
	return true;
}

static bool domain_ok(const char *d)
{
	const char *colon = strchr(d, ':');
	size_t hlen = colon ? (size_t)(colon - d) : strlen(d);
	if (!hlen)
		return false;
	for (size_t i = 0; i < hlen; i++) {
		char c = d[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return false;
	}
	if (colon) {
		const char *p = colon + 1;
		size_t n = strlen(p);
		if (!n || n > 5)
			return false;
		for (size_t i = 0; i < n; i++)
			if (p[i] < '0' || p[i] > '9')
				return false;
	}
	return true;
}

static int bad(struct err *e, const char *s, const char *why)
{
	return err_set(e, EINVAL, "invalid reference format `%.200s`: %s", s, why);
}

int ref_parse(const char *s, struct image_ref *r, struct err *errp)
{
	memset(r, 0, sizeof(*r));
	size_t len = strlen(s);
	if (!len)
		return bad(errp, s, "empty");
	if (len >= REF_MAX)
		return bad(errp, s, "too long");
	char buf[REF_MAX];
	memcpy(buf, s, len + 1);
	char *at = strchr(buf, '@');
	if (at) {
		*at = '\0';
		if (digest_parse(at + 1, r->digest, "digest", NULL))
			return bad(errp, s, "the digest is not sha256:<64 hex digits>");
	}
	/* The tag is after the last ':' that follows the last '/'. */
	char *slash = strrchr(buf, '/');
	char *colon = strrchr(slash ? slash : buf, ':');
	if (colon) {
		*colon = '\0';
		const char *t = colon + 1;
		size_t n = strlen(t);
		if (!n || n > 128)
			return bad(errp, s, "a tag has 1 to 128 characters");
		for (size_t i = 0; i < n; i++) {
			char c = t[i];
			bool w = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				 (c >= '0' && c <= '9') || c == '_';
			if (!w && (i == 0 || (c != '.' && c != '-')))
				return bad(errp, s, "bad character in the tag");
		}
		memcpy(r->tag, t, n + 1);
	} else if (!at) {
		strcpy(r->tag, "latest");
	}
	char *name = buf;
	slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		if (strchr(buf, '.') || strchr(buf, ':') || !strcmp(buf, "localhost")) {
			if (!domain_ok(buf))
				return bad(errp, s, "bad registry host");
			snprintf(r->domain, sizeof(r->domain), "%s", buf);
			name = slash + 1;
		} else {
			*slash = '/';
		}
	}
	if (!r->domain[0])
		strcpy(r->domain, "docker.io");
	if (!*name)
		return bad(errp, s, "no repository name");
	for (const char *c = name;;) {
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);
		if (!path_component_ok(c, n))
			return bad(errp, s, "repository names are lower-case letters, digits and . _ - separators");
		if (!e)
			break;
		c = e + 1;
	}
	if (strlen(name) > 240)
		return bad(errp, s, "name longer than 255 characters");
	if (!strcmp(r->domain, "docker.io") && !strchr(name, '/'))
		snprintf(r->path, sizeof(r->path), "library/%.240s", name);
	else
		snprintf(r->path, sizeof(r->path), "%s", name);
	if (strlen(r->domain) + strlen(r->path) + 1 > 255)
		return bad(errp, s, "name longer than 255 characters");
	return 0;
}

void ref_full(const struct image_ref *r, char *out, size_t cap)
{
	if (r->tag[0])
		snprintf(out, cap, "%s/%s:%s", r->domain, r->path, r->tag);
	else
		snprintf(out, cap, "%s/%s@sha256:%s", r->domain, r->path, r->digest);
}

const char *ref_display_repo(const char *repo)
{
	if (!strncmp(repo, "docker.io/library/", 18))
		return repo + 18;
	if (!strncmp(repo, "docker.io/", 10))
		return repo + 10;
	return repo;
}
