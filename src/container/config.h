/* The subset of an OCI runtime-spec 1.1 config.json that ringvm's container
 * runtime implements (runtime-spec config.md, config-linux.md).
 *
 * The file is hostile input: every field is type-checked, every string and
 * array bounded, and unknown fields are ignored as the spec requires
 * ("implementations MUST ignore unknown properties").  Fields the runtime
 * cannot honour (hooks, a pid namespace path, ...) are errors, never
 * silently dropped, except where the spec lets a runtime ignore them. */
#ifndef RINGVM_CONTAINER_CONFIG_H
#define RINGVM_CONTAINER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define OCI_MAX_CONFIG   (4u << 20)  /* bytes of config.json */
#define OCI_MAX_LIST     1024        /* entries of any array */
#define OCI_MAX_STR      4096        /* bytes of any string (PATH_MAX) */

enum oci_ns {
	OCI_NS_PID, OCI_NS_NET, OCI_NS_MOUNT, OCI_NS_IPC, OCI_NS_UTS,
	OCI_NS_USER, OCI_NS_CGROUP, OCI_NS_TIME, OCI_NS_COUNT
};

struct oci_mount {
	char *destination;   /* absolute path inside the container */
	char *type;          /* NULL for a bind mount */
	char *source;
	char **options;      /* NULL-terminated */
};

/* Seccomp actions and comparisons as config-linux.md names them; seccomp.c
 * maps them to libseccomp's (this file does not link libseccomp, so the
 * fuzz target needs only json-c). */
enum oci_sc_action { OCI_SC_KILL_THREAD, OCI_SC_KILL_PROCESS, OCI_SC_TRAP,
		     OCI_SC_ERRNO, OCI_SC_TRACE, OCI_SC_ALLOW, OCI_SC_LOG };
enum oci_sc_op { OCI_SC_NE = 1, OCI_SC_LT, OCI_SC_LE, OCI_SC_EQ, OCI_SC_GE,
		 OCI_SC_GT, OCI_SC_MASKED_EQ };

struct oci_seccomp_arg {
	unsigned index;      /* 0..5 */
	uint64_t value, value_two;
	enum oci_sc_op op;
};

struct oci_seccomp_rule {
	char **names;        /* NULL-terminated syscall names */
	enum oci_sc_action action;
	uint32_t errno_ret;  /* for OCI_SC_ERRNO / OCI_SC_TRACE */
	struct oci_seccomp_arg *args;
	size_t nargs;        /* <= 6 */
};

struct oci_seccomp {
	enum oci_sc_action default_action;
	uint32_t default_errno;
	struct oci_seccomp_rule *rules;
	size_t nrules;
};

/* One line of /proc/PID/uid_map or gid_map (config-linux.md "User
 * namespace mappings"). */
struct oci_idmap {
	uint32_t container_id, host_id, size;
};
#define OCI_MAX_IDMAPS 340  /* the kernel's limit per map */

struct oci_rlimit {
	int resource;        /* RLIMIT_* */
	const char *name;    /* "RLIMIT_NOFILE", static */
	uint64_t soft, hard;
};

struct oci_config {
	char *oci_version;
	/* process */
	char **args;         /* NULL-terminated, at least one */
	char **env;          /* NULL-terminated */
	char *cwd;           /* absolute */
	bool terminal;
	uint32_t uid, gid;
	uint32_t *additional_gids;
	size_t n_additional_gids;
	bool no_new_privileges;
	struct oci_rlimit *rlimits;
	size_t n_rlimits;
	bool has_oom_score_adj;   /* process.oomScoreAdj present */
	int oom_score_adj;        /* -1000..1000 */
	bool has_caps;       /* process.capabilities present */
	uint64_t caps[5];    /* bounding, effective, inheritable, permitted,
	                      * ambient: bit N = capability N */
	/* root */
	char *root_path;     /* as written (relative to the bundle or absolute) */
	bool root_readonly;
	char *hostname;
	struct oci_mount *mounts;
	size_t nmounts;
	/* linux */
	bool ns_wanted[OCI_NS_COUNT];
	char *ns_path[OCI_NS_COUNT];     /* join this namespace, or NULL */
	struct oci_idmap *uid_maps, *gid_maps;  /* linux.uidMappings ... */
	size_t n_uid_maps, n_gid_maps;
	char *cgroups_path;
	int64_t mem_limit;   /* bytes, -1 = unlimited / unset */
	int64_t pids_limit;  /* -1 = unset */
	int64_t cpu_quota;   /* microseconds per period, -1 = unset */
	uint64_t cpu_period; /* microseconds, 0 = unset */
	char **masked_paths;
	char **readonly_paths;
	struct oci_seccomp *seccomp;     /* NULL: ringvm's default profile */
	/* linux.sysctl: pairs key, value, NULL (NULL: none).  Keys are
	 * checked (sysctl.h): only sysctls of a namespace the container
	 * has of its own. */
	char **sysctl;
	/* annotations: pairs key, value, NULL */
	char **annotations;
};

/* Bit index of the OCI process.capabilities sets in oci_config.caps. */
enum { OCI_CAP_BOUNDING, OCI_CAP_EFFECTIVE, OCI_CAP_INHERITABLE,
       OCI_CAP_PERMITTED, OCI_CAP_AMBIENT };

/* Parse a config.json held in buf[0..len) into *cfg (zeroed first).
 * On error returns -EINVAL (-ENOMEM) with a message naming the field
 * ("process.args: must be an array of strings") and leaves nothing to
 * free.  Unset fields: cwd "/", limits -1, no seccomp (the runtime then
 * applies its default profile), has_caps false (runc's default set);
 * maskedPaths and readonlyPaths are only what the file lists.
 * Thread-safe. */
int oci_config_parse(const char *buf, size_t len, struct oci_config *cfg,
		     struct err *errp);

/* Read BUNDLE/config.json and parse it; errors name the file. */
int oci_config_load(const char *bundle, struct oci_config *cfg,
		    struct err *errp);

/* Release everything a successful parse allocated; cfg may be zeroed. */
void oci_config_free(struct oci_config *cfg);

/* The namespace name used in config.json ("pid", "network", ...). */
const char *oci_ns_name(enum oci_ns ns);

/* The capability set runc's default spec grants when process.capabilities
 * is absent: CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE. */
uint64_t oci_default_caps(void);

#endif
