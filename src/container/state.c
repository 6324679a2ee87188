/* Container state on disk. */
#include "container/state.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int state_check_id(const char *id, struct err *errp)
{
	size_t n = strlen(id);
	if (n == 0 || n > 255 || !strcmp(id, ".") || !strcmp(id, ".."))
		return err_set(errp, EINVAL, "container id `%.64s`: must be 1-255 characters, not . or ..", id);
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789_.+-", id[i]))
			return err_set(errp, EINVAL,
				       "container id `%.64s`: only letters, digits and _.+- are allowed", id);
	return 0;
}

int state_path(const char *root, const char *id, const char *name,
	       char *out, size_t cap, struct err *errp)
{
	int n = name ? snprintf(out, cap, "%s/%s/%s", root, id, name) :
		       snprintf(out, cap, "%s/%s", root, id);
	if (n < 0 || (size_t)n >= cap)
		return err_set(errp, ENAMETOOLONG, "state directory %.200s: path too long", root);
	return 0;
}

int state_save(const char *root, const struct ctr_state *st, struct err *errp)
{
	char path[4400], tmp[4410];
	int r = state_path(root, st->id, "state.json", path, sizeof(path), errp);
	if (r)
		return r;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(st->id));
	json_object_object_add(o, "pid", json_object_new_int(st->pid));
	json_object_object_add(o, "starttime", json_object_new_uint64(st->starttime));
	json_object_object_add(o, "bundle", json_object_new_string(st->bundle));
	json_object_object_add(o, "created", json_object_new_string(st->created));
	json_object_object_add(o, "cgroup_version", json_object_new_int(st->cg.version));
	struct json_object *d = json_object_new_array();
	for (int i = 0; i < st->cg.ndirs; i++)
		json_object_array_add(d, json_object_new_string(st->cg.dirs[i]));
	json_object_object_add(o, "cgroup_dirs", d);
	if (st->annotations_json)
		json_object_object_add(o, "annotations",
				       json_tokener_parse(st->annotations_json));
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		json_object_put(o);
		return err_sys(errp, errno, "state: create %s", tmp);
	}
	size_t len = strlen(s);
	ssize_t w = write(fd, s, len);
	int werr = errno;
	json_object_put(o);
	if (close(fd) < 0 || w != (ssize_t)len) {
		unlink(tmp);
		return err_sys(errp, w < 0 ? werr : EIO, "state: write %s", tmp);
	}
	if (rename(tmp, path) < 0) {
		unlink(tmp);
		return err_sys(errp, errno, "state: rename to %s", path);
	}
	return 0;
}

static const char *jstr(struct json_object *o, const char *k)
{
	struct json_object *v;
	if (json_object_object_get_ex(o, k, &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return "";
}

int state_load(const char *root, const char *id, struct ctr_state *st,
	       struct err *errp)
{
	memset(st, 0, sizeof(*st));
	char path[4400];
	int r = state_check_id(id, errp);
	if (r || (r = state_path(root, id, "state.json", path, sizeof(path), errp)))
		return r;
	struct stat sb;
	if (stat(path, &sb) < 0)
		return errno == ENOENT ?
		       err_set(errp, ENOENT, "container `%s` does not exist", id) :
		       err_sys(errp, errno, "state: %s", path);
	struct json_object *o = json_object_from_file(path);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return err_set(errp, EINVAL, "state: %s is corrupt", path);
	}
	snprintf(st->id, sizeof(st->id), "%s", id);
	snprintf(st->bundle, sizeof(st->bundle), "%s", jstr(o, "bundle"));
	snprintf(st->created, sizeof(st->created), "%s", jstr(o, "created"));
	struct json_object *v;
	if (json_object_object_get_ex(o, "pid", &v))
		st->pid = json_object_get_int(v);
	if (json_object_object_get_ex(o, "starttime", &v))
		st->starttime = json_object_get_uint64(v);
	if (json_object_object_get_ex(o, "cgroup_version", &v))
		st->cg.version = json_object_get_int(v);
	if (json_object_object_get_ex(o, "cgroup_dirs", &v) &&
	    json_object_is_type(v, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(v) &&
		     i < CG_MAX_DIRS; i++) {
			const char *d = json_object_get_string(
				json_object_array_get_idx(v, i));
			/* Only ever rmdir below the cgroup mount. */
			if (!d || strncmp(d, "/sys/fs/cgroup/", 15) || strstr(d, "/../"))
				continue;
			snprintf(st->cg.dirs[st->cg.ndirs++], sizeof(st->cg.dirs[0]),
				 "%s", d);
		}
	}
	if (json_object_object_get_ex(o, "annotations", &v) &&
	    json_object_is_type(v, json_type_object))
		st->annotations_json = strdup(json_object_to_json_string_ext(
			v, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	if (st->pid <= 0)
		return err_set(errp, EINVAL, "state: %s has no pid", path);
	return 0;
}

void state_free(struct ctr_state *st)
{
	free(st->annotations_json);
	st->annotations_json = NULL;
}

unsigned long long state_proc_starttime(pid_t pid, bool *zombie)
{
	char p[64], buf[1024];
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	*zombie = false;
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm may hold spaces and parens: fields start after the last ')'. */
	char *s = strrchr(buf, ')');
	if (!s)
		return 0;
	char state = 0;
	unsigned long long start = 0;
	if (sscanf(s + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u "
		   "%*d %*d %*d %*d %*d %*d %llu", &state, &start) != 2)
		return 0;
	*zombie = state == 'Z' || state == 'X';
	return start;
}

enum ctr_status state_status(const char *root, const struct ctr_state *st)
{
	bool zombie;
	unsigned long long t = state_proc_starttime(st->pid, &zombie);
	if (!t || t != st->starttime || zombie)
		return CTR_STOPPED;
	char fifo[4400];
	if (state_path(root, st->id, "exec.fifo", fifo, sizeof(fifo), NULL) == 0 &&
	    access(fifo, F_OK) == 0)
		return CTR_CREATED;
	return CTR_RUNNING;
}

const char *state_status_name(enum ctr_status s)
{
	return s == CTR_CREATED ? "created" : s == CTR_RUNNING ? "running" :
	       "stopped";
}

char *state_oci_json(const struct ctr_state *st, enum ctr_status s)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "ociVersion", json_object_new_string(OCI_VERSION));
	json_object_object_add(o, "id", json_object_new_string(st->id));
	json_object_object_add(o, "status",
			       json_object_new_string(state_status_name(s)));
	json_object_object_add(o, "pid",
			       json_object_new_int(s == CTR_STOPPED ? 0 : st->pid));
	json_object_object_add(o, "bundle", json_object_new_string(st->bundle));
	json_object_object_add(o, "created", json_object_new_string(st->created));
	json_object_object_add(o, "annotations", st->annotations_json ?
			       json_tokener_parse(st->annotations_json) :
			       json_object_new_object());
	char *r = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return r;
}

int state_remove(const char *root, const char *id, struct err *errp)
{
	static const char *const files[] = { "state.json", "state.json.tmp",
					     "exec.fifo" };
	char p[4400];
	int r = state_path(root, id, NULL, p, sizeof(p), errp);
	if (r)
		return r;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char f[4500];
		snprintf(f, sizeof(f), "%s/%s", p, files[i]);
		unlink(f);
	}
	if (rmdir(p) < 0 && errno != ENOENT)
		return err_sys(errp, errno, "state: remove %s", p);
	return 0;
}
