/* The boot images of the virt board for reboots (virt_int.h saved[]):
 * kept in memory by a VM that loaded them, or left in a snapshot's boot
 * file by a restored one until a reboot reads them (boot_file.h). */
#include "virt_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/guest_mem.h"

/* Image i's bytes: its copy, or read (and checked) from the boot file
 * into a buffer *owned that the caller frees. */
static int image_bytes(struct virt_board *v, unsigned i, const uint8_t **out,
		       uint8_t **owned, struct err *errp)
{
	struct saved_image *si = &v->saved[i];
	*owned = NULL;
	if (si->data) {
		*out = si->data;
		return 0;
	}
	if (!v->has_boot_fd)
		return err_set(errp, EINVAL, "boot image %u: no boot file", i);
	uint8_t *b = malloc(si->len);
	if (!b)
		return err_set(errp, ENOMEM, "out of memory");
	int rc = boot_file_check_header(v->boot_fd, &v->blay, errp);
	if (!rc)
		rc = boot_file_read_image(v->boot_fd, &v->blay, i, b, errp);
	if (rc) {
		free(b);
		return rc;
	}
	*out = *owned = b;
	return 0;
}

int virt_boot_layout(struct virt_board *v, struct boot_file_layout *l)
{
	memset(l, 0, sizeof(*l));
	l->n = v->nsaved;
	for (unsigned i = 0; i < v->nsaved; i++) {
		struct saved_image *si = &v->saved[i];
		if (!si->crc_known) {
			/* Only copies in memory lack it (loaded ones carry the
			 * boot file's): computed once, the images never change
			 * while the VM lives. */
			si->crc = (uint32_t)crc32_z(0L, si->data, si->len);
			si->crc_known = true;
		}
		l->img[i] = (struct boot_file_image){ si->gpa, si->len, 0,
						      si->crc };
	}
	boot_file_plan(l);
	return 0;
}

int virt_boot_file_write(struct virt_board *v, int fd, struct err *errp)
{
	struct boot_file_layout l;
	virt_boot_layout(v, &l);
	/* All zeros first: zero blocks of the images are left as holes. */
	if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)l.size) < 0)
		return err_sys(errp, errno, "boot file");
	for (unsigned i = 0; i < l.n; i++) {
		const uint8_t *p;
		uint8_t *owned;
		int rc = image_bytes(v, i, &p, &owned, errp);
		if (rc)
			return rc;
		rc = boot_file_pwrite_fresh(fd, p, l.img[i].len, l.img[i].off);
		free(owned);
		if (rc)
			return err_sys(errp, -rc, "write the boot file");
	}
	int rc = boot_file_write_header(fd, &l);
	return rc ? err_sys(errp, -rc, "write the boot file") : 0;
}

void virt_set_boot_file(struct virt_board *v, int fd)
{
	if (v->has_boot_fd)
		close(v->boot_fd);
	v->boot_fd = fd;
	v->has_boot_fd = true;
}

int virt_image_copy(struct virt_board *v, unsigned i, const uint8_t **out,
		    uint8_t **owned, struct err *errp)
{
	return image_bytes(v, i, out, owned, errp);
}

int virt_reload_images(struct virt_board *v, struct err *errp)
{
	struct guest_mem *mem = &v->m.mem;
	if (!v->nsaved)
		return err_set(errp, EINVAL, "no copy of the boot images (the "
			       "VM was continued from a state saved with "
			       "--no-reboot, or not loaded)");
	bool header_ok = false;
	for (unsigned i = 0; i < v->nsaved; i++) {
		const struct saved_image *si = &v->saved[i];
		uint8_t *dst = gpa_ptr(mem, si->gpa, si->len);
		if (!dst)
			return err_set(errp, EFAULT, "image outside RAM");
		if (si->data) {
			memcpy(dst, si->data, si->len);
		} else {
			/* Straight into guest RAM: a corrupt image fails the
			 * reboot, so its bytes never run. */
			int rc;
			if (!v->has_boot_fd)
				return err_set(errp, EINVAL, "no boot file");
			if (!header_ok &&
			    (rc = boot_file_check_header(v->boot_fd, &v->blay,
							 errp)))
				return rc;
			header_ok = true;
			if ((rc = boot_file_read_image(v->boot_fd, &v->blay, i,
						       dst, errp)))
				return rc;
		}
		guest_mem_mark_dirty_hva(mem, dst, si->len);
	}
	return 0;
}
