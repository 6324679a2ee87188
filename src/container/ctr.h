/* Containers made from images (`ringvm container run`): their records in
 * the store (ROOT/containers/ID/), the rootfs (overlayfs over the image's
 * layers, or a copy) and the OCI bundle (config.json) the runtime runs.
 *
 *   ROOT/containers/ID/meta.json   name, image, command, status, exit code
 *   ROOT/containers/ID/image       the image id (keeps the image in use)
 *   ROOT/containers/ID/config.json the OCI runtime config
 *   ROOT/containers/ID/rootfs      overlay mount point (or the copy)
 *   ROOT/containers/ID/upper, work overlayfs upper and work directories
 *   ROOT/containers/ID/etc/        hostname, hosts, resolv.conf bound in
 * The runtime's state lives under ROOT/oci (rt_* with that root). */
#ifndef RINGVM_CONTAINER_CTR_H
#define RINGVM_CONTAINER_CTR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "container/manifest.h"
#include "container/state.h"
#include "container/store.h"

#define CTR_ID_HEX 65
#define CTR_NAME_MAX 128

enum ctr_netmode { CTR_NET_NONE, CTR_NET_HOST, CTR_NET_BACKEND };

/* What `run` was asked for (docker's option names in comments). */
struct ctr_opts {
	const char *name;            /* --name; NULL: generated */
	const char *const *env;      /* -e K=V or K (taken from our env) */
	size_t nenv;
	const char *const *volumes;  /* -v /host:/ctr[:ro|:rw] */
	size_t nvolumes;
	const char *workdir;         /* -w */
	const char *user;            /* --user U[:G], names or numbers */
	const char *hostname;        /* --hostname; NULL: short id */
	const char *entrypoint;      /* --entrypoint; NULL: the image's */
	const char *const *args;     /* CMD...; nargs 0: the image's Cmd */
	size_t nargs;
	bool readonly;               /* --read-only */
	bool terminal;               /* -t with a terminal on stdin */
	/* --rm: the rootfs is never mounted again, so overlayfs may skip
	 * every sync to the upper directory ("volatile"). */
	bool ephemeral;
	int64_t memory;              /* --memory, bytes; 0: no limit */
	int64_t cpu_quota;           /* --cpus as us per 100000 us; 0: none */
	int64_t pids;                /* --pids-limit; 0: none */
	enum ctr_netmode net;            /* --net none|host|user|switch,... */
	const char *netspec;         /* CTR_NET_BACKEND: net/ backend spec */
	const char *addr;            /* --ip A.B.C.D/N or NULL */
	const char *ports;           /* docker's PORTS text or NULL */
	const char *const *sysctls;  /* --sysctl K=V (linux.sysctl) */
	size_t nsysctls;
	int64_t log_max_size;        /* --log-opt max-size; 0: none */
	int log_max_file;            /* --log-opt max-file; 0: 1 */
	bool has_oom_score_adj;      /* --oom-score-adj given */
	int oom_score_adj;           /* -1000..1000 */
};

/* A container's record (meta.json). */
struct ctr_meta {
	char id[CTR_ID_HEX];
	char name[CTR_NAME_MAX];
	char image[DIGEST_HEX];      /* image id */
	char image_name[256];        /* as given to run */
	char command[512];           /* for ps */
	int64_t created;             /* seconds since the epoch */
	int64_t started;             /* last start, seconds since the epoch */
	int64_t finished;            /* 0 while it runs */
	int exit_code;               /* valid when finished */
	bool copied;                 /* rootfs is a copy, not a mount */
	/* --net user|switch: the net/ backend spec ("user,hostfwd=..."),
	 * eth0's address ("" for the default) and docker's PORTS text. */
	char net[1024];
	char addr[40];
	char ports[512];
	/* --log-opt max-size / max-file (docker's json-file names): the
	 * log is rotated past log_max_size bytes (0: never), keeping at most
	 * log_max_file files (1..CTRLOG_MAX_FILES) in all. */
	int64_t log_max_size;
	int log_max_file;
};

/* Docker-style name rules: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 127. */
bool ctr_name_valid(const char *name);

/* Create the record and the rootfs of a new container from image img
 * (configuration ic) and write its config.json.  On failure nothing is
 * left.  m receives the record (id, name...). */
int ctr_create(struct store *s, const struct store_image *img,
	       const struct oci_image_config *ic, const char *image_name,
	       const struct ctr_opts *o, struct ctr_meta *m, struct err *errp);

/* Save / load ROOT/containers/ID/meta.json. */
int ctr_meta_save(struct store *s, const struct ctr_meta *m, struct err *errp);
int ctr_meta_load(struct store *s, const char *id, struct ctr_meta *m,
		  struct err *errp);

/* Find a container by exact name or unique id prefix. */
int ctr_find(struct store *s, const char *spec, struct ctr_meta *m,
	     struct err *errp);

/* Every container's record, malloc'd (*n of them), oldest first. */
int ctr_list(struct store *s, struct ctr_meta **v, size_t *n,
	     struct err *errp);

/* The runtime's view of container id: CTR_CREATED, CTR_RUNNING or
 * CTR_STOPPED (state.h), or -ENOENT when the runtime has no state (never
 * started, or deleted after it exited). */
int ctr_runtime_status(struct store *s, const char *id);

/* Unmount the rootfs (if mounted) and delete the container's directory.
 * The runtime state must be gone (rt_delete). */
int ctr_remove(struct store *s, const struct ctr_meta *m, struct err *errp);

/* Paths of a container: dir (ROOT/containers/ID) and the runtime root
 * (ROOT/oci); out has cap bytes. */
void ctr_dir(const struct store *s, const char *id, char *out, size_t cap);
void ctr_rt_root(const struct store *s, char *out, size_t cap);

/* ---- rootfs.c ---- */

/* Mount overlayfs on dir/rootfs with the image's layers (topmost first)
 * and dir/upper, dir/work; when overlayfs cannot be used (or
 * $RINGVM_CONTAINER_NO_OVERLAY is set) say so on stderr and copy the
 * layers into dir/rootfs instead, applying whiteouts (*copied = true).
 * ephemeral: mount with "volatile" (Linux 5.10+, overlayfs.rst "Volatile
 * mount"; plain when refused): no syncs to the upper directory, whose
 * unmount otherwise syncs the whole upper filesystem (12-20 ms on a busy
 * host); such a work directory refuses a second mount, so only for
 * containers that are removed after one run.  A non-root caller always
 * gets the copy (no overlayfs outside the user namespace). */
int ctr_rootfs_make(struct store *s, const struct store_image *img,
		    const char *dir, bool ephemeral, bool *copied, struct err *errp);

/* Unmount dir/rootfs if it is a mount point (lazily when busy). */
int ctr_rootfs_unmount(const char *dir, struct err *errp);

/* ---- bundle.c ---- */

/* Write dir/config.json (runtime-spec 1.1) for the container: the image
 * config with o applied, docker's default capabilities, namespaces,
 * mounts and masked paths; --user names are resolved in the rootfs's
 * /etc/passwd and /etc/group.  Also writes dir/etc/{hostname,hosts,
 * resolv.conf}. */
int ctr_bundle_write(const char *dir, const struct ctr_meta *m,
		     const struct oci_image_config *ic,
		     const struct ctr_opts *o, struct err *errp);

#endif
