/* Live migration, target side (migrate.h: migrate_incoming).
 *
 * RAM arrives before the VM exists: the source still runs the guest, and
 * with shared storage it holds the disks' locks until its final pause.
 * So the pages go into a staging mapping of the stream's RAM layout; at
 * the end marker the VM is created (opening the disks the source has just
 * flushed and let go), the staging pages are moved under the VM's RAM
 * without a copy (guest_mem_move) and the device state is loaded.  Only
 * then does the source get its ack.
 *
 * With copy_disks the received blocks go into the images named by the
 * caller's --disk options, created when missing (see open_target_disk). */
#include "migrate.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/qcow2.h"
#include "core/guest_mem.h"
#include "core/state.h"
#include "migrate_net.h"
#include "migrate_stream.h"

/* A source that sends nothing for this long is taken for dead. */
#define RECV_TIMEOUT_MS 60000u

struct fd_in {
	int fd;
	size_t pos, len;
	uint8_t buf[64 << 10];
};

static int fd_read(void *opaque, void *dst, size_t n, struct err *errp)
{
	struct fd_in *in = opaque;
	uint8_t *d = dst;
	while (n) {
		if (in->pos == in->len) {
			ssize_t k = recv(in->fd, in->buf, sizeof(in->buf), 0);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				return err_sys(errp, errno == EWOULDBLOCK ?
					       ETIMEDOUT : errno,
					       "migration: receiving");
			if (k == 0)
				return err_set(errp, EPIPE, "migration: the "
					       "source closed the stream "
					       "before its end");
			in->pos = 0;
			in->len = (size_t)k;
		}
		size_t k = in->len - in->pos < n ? in->len - in->pos : n;
		memcpy(d, in->buf + in->pos, k);
		in->pos += k;
		d += k;
		n -= k;
	}
	return 0;
}

struct target {
	struct vm_config *cfg;
	void **storage;
	/* The caller's own disks (--disk), which replace the stream's. */
	unsigned nuser;
	struct vm_disk user[VM_MAX_DISKS];
	struct guest_mem staging;
	uint8_t *machine;   /* the MACHINE stream, base of the device delta */
	size_t machine_len;
	uint8_t *device;
	size_t device_len;
	unsigned ndisks;
	struct block_dev *bd[MIG_MAX_DISKS];
};

static int t_machine(void *opaque, const uint8_t *buf, size_t len,
		     struct err *errp)
{
	struct target *t = opaque;
	struct state_reader r;
	int rc = state_reader_init(&r, buf, len, errp);
	if (rc)
		return err_prefix(errp, "migration: machine section");
	if (!(t->machine = malloc(len)))
		return err_set(errp, ENOMEM, "out of memory");
	memcpy(t->machine, buf, len);
	t->machine_len = len;
	if ((rc = vm_config_from_state(&r, t->cfg, t->storage, errp)))
		return rc;
	if (t->nuser) {
		if (t->cfg->ndisks != t->nuser)
			return err_set(errp, EINVAL, "migration: the source "
				       "has %u disks, --disk named %u",
				       t->cfg->ndisks, t->nuser);
		memcpy(t->cfg->disks, t->user, sizeof(t->user));
	}
	t->cfg->incoming = true;
	return 0;
}

static int t_layout(void *opaque, const struct guest_mem_region *r,
		    unsigned nr, struct guest_mem **mem, struct err *errp)
{
	struct target *t = opaque;
	for (unsigned i = 0; i < nr; i++) {
		int rc = guest_mem_add(&t->staging, r[i].gpa, r[i].size, errp);
		if (rc)
			return err_prefix(errp, "migration");
	}
	*mem = &t->staging;
	return 0;
}

/* A target image for a copied disk: the --disk path; when the file does
 * not exist it is created with the source disk's size, as qcow2 when the
 * --disk format says so or the name ends in ".qcow2", else as a sparse
 * raw file.  An existing file must have that size already. */
static int open_target_disk(const struct vm_disk *d, uint64_t size,
			    struct block_dev **out, struct err *errp)
{
	struct stat st;
	const char *fmt = d->format;
	if (stat(d->path, &st) < 0) {
		if (errno != ENOENT)
			return err_sys(errp, errno, "migration: disk `%s`",
				       d->path);
		size_t l = strlen(d->path);
		bool qcow = fmt ? !strcmp(fmt, "qcow2")
				: l > 6 && !strcmp(d->path + l - 6, ".qcow2");
		int rc;
		if (qcow) {
			rc = qcow2_create(d->path, size, NULL, errp);
			fmt = "qcow2";
		} else {
			int fd = open(d->path, O_WRONLY | O_CREAT | O_EXCL |
				      O_CLOEXEC, 0600);
			rc = fd < 0 ? -errno : 0;
			if (fd >= 0 && ftruncate(fd, (off_t)size) < 0)
				rc = -errno;
			if (fd >= 0)
				close(fd);
			if (rc)
				err_sys(errp, -rc, "migration: cannot create "
					"disk `%s`", d->path);
			fmt = "raw";
		}
		if (rc)
			return rc;
	}
	struct block_open_opts o = {
		.format = fmt,
		.backing_devices = d->backing_devices,
		.nbacking_devices = d->nbacking_devices,
		/* Written through the page cache, made durable once at the
		 * end marker (finish): what the guest had flushed on the
		 * source must be on the target's disk before it runs. */
		.cache = BLOCK_CACHE_WRITEBACK,
	};
	int rc = block_open_with(d->path, &o, out, errp);
	if (rc)
		return rc;
	if ((*out)->size != size) {
		rc = err_set(errp, EINVAL, "migration: disk `%s` has %" PRIu64
			     " bytes, the source's %" PRIu64, d->path,
			     (*out)->size, size);
		block_close(*out);
		*out = NULL;
	}
	return rc;
}

static int t_disks(void *opaque, const uint64_t *size, unsigned n,
		   struct err *errp)
{
	struct target *t = opaque;
	if (!t->nuser)
		return err_set(errp, EINVAL, "migration: the source copies "
			       "%u disks: name the target images with --disk",
			       n);
	if (n != t->nuser)
		return err_set(errp, EINVAL, "migration: the source copies %u "
			       "disks, --disk named %u", n, t->nuser);
	for (unsigned i = 0; i < n; i++) {
		int rc = open_target_disk(&t->user[i], size[i], &t->bd[i],
					  errp);
		if (rc)
			return rc;
		t->ndisks = i + 1;
	}
	return 0;
}

static int t_disk_write(void *opaque, unsigned disk, uint64_t off,
			const void *buf, size_t len, struct err *errp)
{
	struct target *t = opaque;
	int rc = block_pwrite(t->bd[disk], buf, len, off);
	return rc ? err_sys(errp, -rc, "migration: writing disk `%s`",
			    t->bd[disk]->path) : 0;
}

static int t_disk_zero(void *opaque, unsigned disk, uint64_t off,
		       uint64_t len, struct err *errp)
{
	struct target *t = opaque;
	int rc = block_write_zeroes(t->bd[disk], off, len, true);
	return rc ? err_sys(errp, -rc, "migration: zeroing disk `%s`",
			    t->bd[disk]->path) : 0;
}

static int t_device(void *opaque, const uint8_t *buf, size_t len,
		    struct err *errp)
{
	struct target *t = opaque;
	return mig_state_merge(t->machine, t->machine_len, buf, len,
			       &t->device, &t->device_len, errp);
}

static void close_disks(struct target *t)
{
	for (unsigned i = 0; i < t->ndisks; i++)
		block_close(t->bd[i]);
	t->ndisks = 0;
}

/* After the end marker: build, fill and load the VM. */
static int finish(struct target *t, vm_event_fn *on_event, void *opaque,
		  struct vm **out, struct err *errp)
{
	/* The images are the VM's now (vm_create opens them anew). */
	for (unsigned i = 0; i < t->ndisks; i++) {
		int rc = block_flush(t->bd[i]);
		if (rc)
			return err_sys(errp, -rc, "migration: flushing disk "
				       "`%s`", t->bd[i]->path);
	}
	close_disks(t);
	struct vm *vm;
	int rc = vm_create(t->cfg, on_event, opaque, &vm, errp);
	if (rc)
		return err_prefix(errp, "migration");
	struct state_reader r;
	if ((rc = guest_mem_move(vm_mem(vm), &t->staging, errp)) ||
	    (rc = state_reader_init(&r, t->device, t->device_len, errp)) ||
	    (rc = vm_load_state(vm, &r, errp))) {
		vm_destroy(vm);
		return err_prefix(errp, "migration");
	}
	*out = vm;
	return 0;
}

int migrate_incoming(const char *uri, struct vm_config *cfg,
		     vm_event_fn *on_event, void *opaque, struct vm **out,
		     void **storage, struct err *errp)
{
	*out = NULL;
	*storage = NULL;
	struct target *t = calloc(1, sizeof(*t));
	struct fd_in *in = malloc(sizeof(*in));
	if (!t || !in) {
		free(t);
		free(in);
		return err_set(errp, ENOMEM, "out of memory");
	}
	t->cfg = cfg;
	t->storage = storage;
	t->nuser = cfg->ndisks;
	memcpy(t->user, cfg->disks, sizeof(t->user));
	int fd = mig_accept(uri, errp);
	if (fd < 0) {
		free(t);
		free(in);
		return fd;
	}
	mig_set_timeouts(fd, RECV_TIMEOUT_MS, RECV_TIMEOUT_MS);
	in->fd = fd;
	in->pos = in->len = 0;
	struct mig_in src = { fd_read, in };
	struct mig_sink sink = {
		.opaque = t, .machine = t_machine, .layout = t_layout,
		.disks = t_disks, .disk_write = t_disk_write,
		.disk_zero = t_disk_zero, .device = t_device,
	};
	int rc = mig_parse(&src, &sink, errp);
	if (!rc)
		rc = finish(t, on_event, opaque, out, errp);
	/* The source waits for this answer to end or resume. */
	int arc = mig_send_ack(fd, rc, rc ? (errp ? errp->msg : "failed")
					  : NULL);
	if (!rc && arc) {
		/* Without the ack the source resumes: this copy must not
		 * run too. */
		vm_destroy(*out);
		*out = NULL;
		rc = err_set(errp, -arc, "migration: cannot answer the source: "
			     "%s", strerror(-arc));
	}
	if (rc) {
		/* Let the source read the refusal: closing with its data
		 * unread would reset the connection and drop our answer. */
		shutdown(fd, SHUT_WR);
		mig_set_timeouts(fd, 0, 2000);
		uint8_t sink[4096];
		while (recv(fd, sink, sizeof(sink), 0) > 0)
			;
	}
	close(fd);
	close_disks(t);
	guest_mem_free(&t->staging);
	free(t->device);
	free(t->machine);
	free(t);
	free(in);
	if (rc && *storage) {
		free(*storage);
		*storage = NULL;
	}
	return rc;
}
