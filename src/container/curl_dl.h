/* libcurl loaded on demand (dlopen) for `container pull`.
 *
 * Why: linking libcurl pulls ~30 shared libraries (TLS, Kerberos, LDAP,
 * SSH, ...) into every ringvm process; mapping and relocating them cost
 * 5-10 ms per exec on the bench host, most of a container's start->exit
 * time (docs/PERFORMANCE.md "Containers").  Only the registry client needs
 * curl, so only it loads it. */
#ifndef RINGVM_CONTAINER_CURL_DL_H
#define RINGVM_CONTAINER_CURL_DL_H

#include <curl/curl.h>

#include "core/err.h"

/* The libcurl entry points registry.c uses (curl/easy.h, curl/curl.h
 * prototypes).  Filled by curl_dl_load; valid until curl_dl_unload. */
struct curl_dl {
	void *lib;                   /* dlopen handle */
	CURLcode (*global_init)(long flags);
	void (*global_cleanup)(void);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *h);
	void (*easy_reset)(CURL *h);
	CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
	CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
	CURLcode (*easy_perform)(CURL *h);
	const char *(*easy_strerror)(CURLcode rc);
	char *(*easy_escape)(CURL *h, const char *s, int len);
	void (*free)(void *p);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
};

/* Load libcurl.so.4 (the soname of libcurl 7 and 8) and resolve every
 * entry point into *f.  Returns 0, or -ENOENT naming the library or the
 * missing symbol (dlerror's text).  Not thread-safe against a concurrent
 * curl_dl_unload of the same *f. */
int curl_dl_load(struct curl_dl *f, struct err *errp);

/* Release the handle curl_dl_load took; *f is zeroed.  The library stays
 * mapped (RTLD_NODELETE) because libcurl's TLS backends register exit
 * handlers.  A zeroed *f is accepted. */
void curl_dl_unload(struct curl_dl *f);

#endif
