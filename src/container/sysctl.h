/* linux.sysctl of an OCI config (runtime-spec 1.1 config-linux.md
 * "Sysctl"): which kernel parameters a container may set, and setting
 * them inside it. */
#ifndef RINGVM_CONTAINER_SYSCTL_H
#define RINGVM_CONTAINER_SYSCTL_H

#include <stdbool.h>
#include <stddef.h>

#include "container/config.h"
#include "core/err.h"

/* A well-formed sysctl name: 1..255 bytes of letters, digits, `_`, `-`,
 * separated by single dots, none first or last ("net.ipv4.ip_forward").
 * It cannot name a path outside /proc/sys once dots become slashes. */
bool sysctl_key_ok(const char *key);

/* The name of a "NAME=VALUE" argument (--sysctl) into key (size bytes).
 * 0, or -EINVAL when there is no `=`, the name does not fit or is not
 * sysctl_key_ok().  The value is what follows the first `=`. */
int sysctl_kv_key(const char *kv, char *key, size_t size);

/* The namespace whose parameter KEY is (OCI_NS_IPC, _NET or _UTS), or -1
 * for a host-wide one (see sysctl_check). */
int sysctl_key_ns(const char *key);

/* Refuse the sysctls of cfg that would change the host: only those of a
 * namespace the container has (new or joined by path) are allowed, as
 * runc allows them: IPC (kernel.msgmax, msgmnb, msgmni, sem, shmall,
 * shmmax, shmmni, shm_rmid_forced, fs.mqueue.*), network (net.*) and UTS
 * (kernel.hostname, kernel.domainname).  0, or -EINVAL naming the first
 * key refused and the namespace it needs.  Thread-safe. */
int sysctl_check(const struct oci_config *cfg, struct err *errp);

/* Write each of cfg's sysctls to /proc/sys/KEY (dots as slashes) in the
 * container, after pivot_root and before /proc/sys is made read-only
 * (mounts.c).  Values are written as given.  0, or -errno naming the key
 * (ENOENT: the kernel has no such parameter, or /proc is not mounted). */
int sysctl_apply(const struct oci_config *cfg, struct err *errp);

#endif
