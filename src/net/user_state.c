/* The user backend's state: libslirp's own (slirp_state_save), behind
 * its version (slirp_state_version).
 *
 * What libslirp saves is its IP id counter, its DHCP lease table (a guest
 * renewing its lease keeps 10.0.2.15) and the sockets of guestfwd rules,
 * which ringvm never creates.  Connections through the NAT are host
 * sockets of the process that saved: they do not survive, the guest's
 * TCP sees them reset or time out; hostfwd listeners are opened again
 * from the --net spec.
 *
 * A loaded section is checked before anything changes: this libslirp's
 * state version, no guestfwd sockets, and exactly the length a save of
 * this slirp has (with no sockets the layout is fixed), so that
 * slirp_state_load, which applies as it reads, cannot stop half-way. */
#include <stdlib.h>
#include <string.h>

#include "core/state.h"
#include "user_int.h"

#define USER_STATE_VERSION 1
#define SLIRP_STATE_MAX 65536   /* bytes; it is about a hundred */

static ssize_t put_cb(const void *buf, size_t len, void *opaque)
{
	state_put_bytes(opaque, buf, len);
	return (ssize_t)len;
}

static ssize_t count_cb(const void *buf, size_t len, void *opaque)
{
	*(size_t *)opaque += len;
	return (ssize_t)len;
}

int net_user_state_save(struct net_backend *nb, const char *name,
			struct state_writer *w, struct err *errp)
{
	struct net_user *u = (struct net_user *)nb;
	state_begin(w, name, USER_STATE_VERSION);
	state_put_u32(w, (uint32_t)slirp_state_version());
	slirp_state_save(u->slirp, put_cb, w);
	state_end(w);
	return 0;
}

struct rd {
	const uint8_t *p;
	size_t left;
};

static ssize_t read_cb(void *buf, size_t len, void *opaque)
{
	struct rd *rd = opaque;
	if (len > rd->left)
		len = rd->left;
	memcpy(buf, rd->p, len);
	rd->p += len;
	rd->left -= len;
	return (ssize_t)len;
}

/* The section's slirp bytes into a malloc'd *buf (*len bytes). */
static int read_section(struct net_user *u, struct state_reader *r,
			const char *name, uint8_t **buf, size_t *len,
			struct err *errp)
{
	*buf = NULL;
	int rc = state_open(r, name, USER_STATE_VERSION, NULL, errp);
	if (rc < 0)
		return rc;
	uint32_t version = state_get_u32(r);
	size_t n = r->left;
	if (r->bad || n == 0 || n > SLIRP_STATE_MAX)
		return state_invalid(r, errp, "%zu bytes of slirp state", n);
	*buf = malloc(n);
	if (!*buf)
		return err_set(errp, ENOMEM, "out of memory");
	state_get_bytes(r, *buf, n);
	*len = n;
	if ((rc = state_close(r, errp)) < 0)
		return rc;
	if (version != (uint32_t)slirp_state_version())
		return state_invalid(r, errp, "slirp state version %u; this "
				     "libslirp (%s) has version %d", version,
				     slirp_version_string(),
				     slirp_state_version());
	size_t want = 0;
	slirp_state_save(u->slirp, count_cb, &want);
	if ((*buf)[0] != 0 || n != want)
		return state_invalid(r, errp, "%zu bytes of slirp state with "
				     "sockets; a --net user backend has %zu "
				     "and none", n, want);
	return 0;
}

int net_user_state_check(struct net_backend *nb, struct state_reader *r,
			 const char *name, struct err *errp)
{
	uint8_t *buf;
	size_t len;
	int rc = read_section((struct net_user *)nb, r, name, &buf, &len,
			      errp);
	free(buf);
	return rc;
}

void net_user_state_load(struct net_backend *nb, struct state_reader *r,
			 const char *name)
{
	struct net_user *u = (struct net_user *)nb;
	uint8_t *buf;
	size_t len;
	if (read_section(u, r, name, &buf, &len, NULL) == 0) {
		struct rd rd = { buf, len };
		/* Checked: the fixed layout cannot run short. */
		(void)slirp_state_load(u->slirp, slirp_state_version(),
				       read_cb, &rd);
	}
	free(buf);
}
