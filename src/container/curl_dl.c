/* libcurl loaded on demand (curl_dl.h). */
#include "container/curl_dl.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>

int curl_dl_load(struct curl_dl *f, struct err *errp)
{
	memset(f, 0, sizeof(*f));
	f->lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!f->lib)
		return err_set(errp, ENOENT, "cannot load libcurl (needed by pull): %s", dlerror());
	/* dlsym returns void *; POSIX guarantees it converts to a function
	 * pointer, the memcpy keeps -Wpedantic quiet about it. */
#define SYM(field, name)                                                              \
	do {                                                                          \
		void *p_ = dlsym(f->lib, name);                                       \
		if (!p_) {                                                            \
			int r_ = err_set(errp, ENOENT, "libcurl has no %s: %s", name,  \
					 dlerror());                                  \
			curl_dl_unload(f);                                            \
			return r_;                                                    \
		}                                                                     \
		memcpy(&f->field, &p_, sizeof(p_));                                   \
	} while (0)
	SYM(global_init, "curl_global_init");
	SYM(global_cleanup, "curl_global_cleanup");
	SYM(easy_init, "curl_easy_init");
	SYM(easy_cleanup, "curl_easy_cleanup");
	SYM(easy_reset, "curl_easy_reset");
	SYM(easy_setopt, "curl_easy_setopt");
	SYM(easy_getinfo, "curl_easy_getinfo");
	SYM(easy_perform, "curl_easy_perform");
	SYM(easy_strerror, "curl_easy_strerror");
	SYM(easy_escape, "curl_easy_escape");
	SYM(free, "curl_free");
	SYM(slist_append, "curl_slist_append");
	SYM(slist_free_all, "curl_slist_free_all");
#undef SYM
	return 0;
}

void curl_dl_unload(struct curl_dl *f)
{
	if (f->lib)
		dlclose(f->lib);
	memset(f, 0, sizeof(*f));
}
