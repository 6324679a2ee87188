/* Container records in the store (ctr.h). */
#include "container/ctr.h"
#include "container/ctrlog.h"

#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "container/unpack.h"

void ctr_dir(const struct store *s, const char *id, char *out, size_t cap)
{
	snprintf(out, cap, "%s/containers/%s", s->root, id);
}

void ctr_rt_root(const struct store *s, char *out, size_t cap)
{
	snprintf(out, cap, "%s/oci", s->root);
}

bool ctr_name_valid(const char *n)
{
	size_t len = strlen(n);
	if (!len || len >= CTR_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = n[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
			return false;
	}
	return true;
}

int ctr_meta_save(struct store *s, const struct ctr_meta *m, struct err *errp)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(m->id));
	json_object_object_add(o, "name", json_object_new_string(m->name));
	json_object_object_add(o, "image", json_object_new_string(m->image));
	json_object_object_add(o, "image_name", json_object_new_string(m->image_name));
	json_object_object_add(o, "command", json_object_new_string(m->command));
	json_object_object_add(o, "created", json_object_new_int64(m->created));
	json_object_object_add(o, "started", json_object_new_int64(m->started));
	json_object_object_add(o, "finished", json_object_new_int64(m->finished));
	json_object_object_add(o, "exit_code", json_object_new_int(m->exit_code));
	json_object_object_add(o, "copied", json_object_new_boolean(m->copied));
	json_object_object_add(o, "net", json_object_new_string(m->net));
	json_object_object_add(o, "addr", json_object_new_string(m->addr));
	json_object_object_add(o, "ports", json_object_new_string(m->ports));
	json_object_object_add(o, "log_max_size", json_object_new_int64(m->log_max_size));
	json_object_object_add(o, "log_max_file", json_object_new_int(m->log_max_file));
	char dir[PATH_MAX], tmp[PATH_MAX + 16], dst[PATH_MAX + 16];
	ctr_dir(s, m->id, dir, sizeof(dir));
	snprintf(tmp, sizeof(tmp), "%s/meta.json.tmp", dir);
	snprintf(dst, sizeof(dst), "%s/meta.json", dir);
	int r = 0;
	if (json_object_to_file_ext(tmp, o, JSON_C_TO_STRING_PLAIN) || rename(tmp, dst))
		r = err_sys(errp, errno ? errno : EIO, "container %.12s: write meta.json", m->id);
	json_object_put(o);
	return r;
}

static void get_str(struct json_object *o, const char *k, char *dst, size_t cap)
{
	struct json_object *v;
	const char *s = json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
	snprintf(dst, cap, "%s", s ? s : "");
}

int ctr_meta_load(struct store *s, const char *id, struct ctr_meta *m,
		  struct err *errp)
{
	memset(m, 0, sizeof(*m));
	char p[PATH_MAX + 16], dir[PATH_MAX];
	ctr_dir(s, id, dir, sizeof(dir));
	snprintf(p, sizeof(p), "%s/meta.json", dir);
	struct json_object *o = json_object_from_file(p), *v;
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return err_set(errp, ENOENT, "container `%.64s`: no record", id);
	}
	get_str(o, "id", m->id, sizeof(m->id));
	get_str(o, "name", m->name, sizeof(m->name));
	get_str(o, "image", m->image, sizeof(m->image));
	get_str(o, "image_name", m->image_name, sizeof(m->image_name));
	get_str(o, "command", m->command, sizeof(m->command));
	get_str(o, "net", m->net, sizeof(m->net));
	get_str(o, "addr", m->addr, sizeof(m->addr));
	get_str(o, "ports", m->ports, sizeof(m->ports));
	if (json_object_object_get_ex(o, "created", &v))
		m->created = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "started", &v))
		m->started = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "finished", &v))
		m->finished = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "exit_code", &v))
		m->exit_code = json_object_get_int(v);
	if (json_object_object_get_ex(o, "copied", &v))
		m->copied = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "log_max_size", &v))
		m->log_max_size = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "log_max_file", &v))
		m->log_max_file = json_object_get_int(v);
	if (m->log_max_size < 0)
		m->log_max_size = 0;
	if (m->log_max_file < 1 || m->log_max_file > CTRLOG_MAX_FILES)
		m->log_max_file = 1;
	json_object_put(o);
	if (strcmp(m->id, id))
		return err_set(errp, EINVAL, "container `%.64s`: damaged record", id);
	return 0;
}

/* Whether another container already has the name (caller holds the
 * store lock). */
static bool name_taken(struct store *s, const char *name, char *who)
{
	int fd = openat(s->rootfd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	bool taken = false;
	for (struct dirent *de; !taken && (de = readdir(d));) {
		struct ctr_meta m;
		if (de->d_name[0] == '.' || ctr_meta_load(s, de->d_name, &m, NULL))
			continue;
		if (!strcmp(m.name, name)) {
			taken = true;
			snprintf(who, CTR_ID_HEX, "%s", m.id);
		}
	}
	closedir(d);
	return taken;
}

static void remove_dir(struct store *s, const char *id)
{
	int fd = openat(s->rootfd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		struct err ig = { 0 };
		unpack_remove(fd, id, &ig);
		close(fd);
	}
}

int ctr_create(struct store *s, const struct store_image *img,
	       const struct oci_image_config *ic, const char *image_name,
	       const struct ctr_opts *o, struct ctr_meta *m, struct err *errp)
{
	memset(m, 0, sizeof(*m));
	unsigned char rnd[32];
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return err_sys(errp, errno, "getrandom");
	for (int i = 0; i < 32; i++)
		snprintf(m->id + 2 * i, 3, "%02x", rnd[i]);
	if (o->name) {
		if (!ctr_name_valid(o->name))
			return err_set(errp, EINVAL, "invalid container name `%.64s`: [a-zA-Z0-9][a-zA-Z0-9_.-]*", o->name);
		snprintf(m->name, sizeof(m->name), "%s", o->name);
	} else {
		/* docker makes adjective_scientist names; a short id is as
		 * good for telling containers apart. */
		snprintf(m->name, sizeof(m->name), "ctr-%.8s", m->id);
	}
	memcpy(m->image, img->id, DIGEST_HEX);
	if (o->net == CTR_NET_BACKEND) {
		snprintf(m->net, sizeof(m->net), "%s", o->netspec);
		snprintf(m->addr, sizeof(m->addr), "%s", o->addr ? o->addr : "");
		snprintf(m->ports, sizeof(m->ports), "%s", o->ports ? o->ports : "");
	}
	snprintf(m->image_name, sizeof(m->image_name), "%s", image_name);
	m->log_max_size = o->log_max_size;
	m->log_max_file = o->log_max_file ? o->log_max_file : 1;
	m->created = (int64_t)time(NULL);
	int r = store_lock(s, errp);
	if (r)
		return r;
	char who[CTR_ID_HEX];
	if (name_taken(s, m->name, who)) {
		store_unlock(s);
		return err_set(errp, EEXIST, "the container name `%s` is already in use by container %.12s; remove it or pick another name",
			       m->name, who);
	}
	char dir[PATH_MAX];
	ctr_dir(s, m->id, dir, sizeof(dir));
	if (mkdir(dir, 0700)) {
		store_unlock(s);
		return err_sys(errp, errno, "mkdir `%s`", dir);
	}
	char p[PATH_MAX + 16];
	snprintf(p, sizeof(p), "%s/image", dir);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, img->id, 64) != 64)
		r = err_sys(errp, errno ? errno : EIO, "write `%s`", p);
	if (fd >= 0)
		close(fd);
	if (!r)
		r = ctr_meta_save(s, m, errp);
	store_unlock(s);
	if (!r)
		r = ctr_rootfs_make(s, img, dir, o->ephemeral, &m->copied, errp);
	if (!r)
		r = ctr_bundle_write(dir, m, ic, o, errp);
	if (!r) {
		/* The command for ps, from what config.json will run. */
		size_t n = 0;
		const char *const *src = o->nargs ? o->args : (const char *const *)ic->cmd;
		size_t cnt = o->nargs;
		if (!o->nargs)
			while (ic->cmd && ic->cmd[cnt])
				cnt++;
		for (size_t i = 0; ic->entrypoint && !o->entrypoint && ic->entrypoint[i] && n < sizeof(m->command); i++)
			n += (size_t)snprintf(m->command + n, sizeof(m->command) - n, "%s%s", n ? " " : "", ic->entrypoint[i]);
		if (o->entrypoint && n < sizeof(m->command))
			n += (size_t)snprintf(m->command + n, sizeof(m->command) - n, "%s", o->entrypoint);
		for (size_t i = 0; i < cnt && n < sizeof(m->command); i++)
			n += (size_t)snprintf(m->command + n, sizeof(m->command) - n, "%s%s", n ? " " : "", src[i]);
		r = ctr_meta_save(s, m, errp);
	}
	if (r) {
		ctr_rootfs_unmount(dir, NULL);
		remove_dir(s, m->id);
	}
	return r;
}

int ctr_remove(struct store *s, const struct ctr_meta *m, struct err *errp)
{
	char dir[PATH_MAX];
	ctr_dir(s, m->id, dir, sizeof(dir));
	int r = ctr_rootfs_unmount(dir, errp);
	if (r)
		return r;
	remove_dir(s, m->id);
	return 0;
}

static int cmp_created(const void *a, const void *b)
{
	const struct ctr_meta *x = a, *y = b;
	return x->created < y->created ? -1 : x->created > y->created;
}

int ctr_list(struct store *s, struct ctr_meta **v, size_t *n, struct err *errp)
{
	*v = NULL;
	*n = 0;
	int fd = openat(s->rootfd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return err_sys(errp, errno, "containers directory");
	}
	int r = 0;
	for (struct dirent *de; (de = readdir(d));) {
		struct ctr_meta m;
		if (de->d_name[0] == '.' || ctr_meta_load(s, de->d_name, &m, NULL))
			continue;
		struct ctr_meta *nv = realloc(*v, (*n + 1) * sizeof(m));
		if (!nv) {
			r = err_set(errp, ENOMEM, "out of memory");
			break;
		}
		*v = nv;
		nv[(*n)++] = m;
	}
	closedir(d);
	if (*n)
		qsort(*v, *n, sizeof(**v), cmp_created);
	return r;
}

int ctr_find(struct store *s, const char *spec, struct ctr_meta *m,
	     struct err *errp)
{
	struct ctr_meta *v;
	size_t n;
	int r = ctr_list(s, &v, &n, errp);
	if (r)
		return r;
	size_t len = strlen(spec);
	int found = -1;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, spec)) {
			found = (int)i;
			break;
		}
	if (found < 0 && len && len <= 64 && strspn(spec, "0123456789abcdef") == len)
		for (size_t i = 0; i < n; i++)
			if (!strncmp(v[i].id, spec, len)) {
				if (found >= 0) {
					free(v);
					return err_set(errp, EINVAL, "container id prefix `%s` is ambiguous", spec);
				}
				found = (int)i;
			}
	if (found < 0) {
		free(v);
		return err_set(errp, ENOENT, "no such container: %.100s", spec);
	}
	*m = v[found];
	free(v);
	return 0;
}

int ctr_runtime_status(struct store *s, const char *id)
{
	char root[PATH_MAX];
	ctr_rt_root(s, root, sizeof(root));
	struct ctr_state st;
	if (state_load(root, id, &st, NULL))
		return -ENOENT;
	int r = (int)state_status(root, &st);
	state_free(&st);
	return r;
}
