/* The `boot` file of a snapshot directory: the copies of the boot images
 * (firmware, kernel, initrd) a reboot of the restored VM loads again, kept
 * out of the state stream so that a restore reads none of them
 * (docs/LIFECYCLE.md "Boot images out of the restore path").
 *
 *   magic    8 bytes  "RVMBOOT\0"
 *   version  u32 LE   BOOT_FILE_VERSION
 *   count    u32      images (0..BOOT_FILE_MAX_IMAGES)
 *   size     u64      bytes of the whole file
 *   image    count x { gpa u64, len u64 (bytes), off u64 (bytes into the
 *            file), crc u32 (CRC-32, zlib, of the image), zero u32 }
 *   hcrc     u32      CRC-32 of the header bytes before it
 *   (zeros up to BOOT_FILE_HDR, then each image at its 4 KiB aligned off)
 *
 * The state stream's "boot" section (version 2) records the same layout;
 * the file is hostile on read: its header must be exactly the layout the
 * state recorded and every image its CRC, checked when the images are
 * read (at a guest reboot), never before. */
#ifndef RINGVM_BOARD_VIRT_BOOT_FILE_H
#define RINGVM_BOARD_VIRT_BOOT_FILE_H

#include <stdint.h>

#include "core/err.h"

#define BOOT_FILE_MAGIC "RVMBOOT"
#define BOOT_FILE_VERSION 1u
#define BOOT_FILE_HDR 4096u
#define BOOT_FILE_MAX_IMAGES 3u

struct boot_file_image {
	uint64_t gpa, len;  /* where the image goes in guest RAM, bytes */
	uint64_t off;       /* bytes into the file */
	uint32_t crc;       /* CRC-32 (zlib) of its len bytes */
};

struct boot_file_layout {
	unsigned n;
	struct boot_file_image img[BOOT_FILE_MAX_IMAGES];
	uint64_t size;      /* bytes of the file */
};

/* Fill l->img[i].off and l->size from the images' lengths (n and each
 * len set by the caller): the only layout writers produce and readers
 * accept. */
void boot_file_plan(struct boot_file_layout *l);

/* Write l's header at offset 0 of fd.  0 or -errno. */
int boot_file_write_header(int fd, const struct boot_file_layout *l);

/* Read fd's header and compare it with want (the state's record).
 * 0, -EIO (read error or short file) or -EINVAL ("not the boot file the
 * state was saved with"), errp says which. */
int boot_file_check_header(int fd, const struct boot_file_layout *want,
			   struct err *errp);

/* Read image i of l from fd into dst (len bytes, caller's) and check its
 * CRC.  0, -EIO or -EINVAL (corrupt) with errp set; dst then holds
 * whatever was read. */
int boot_file_read_image(int fd, const struct boot_file_layout *l,
			 unsigned i, void *dst, struct err *errp);

/* pwrite all of buf at off, retrying short writes.  0 or -errno. */
int boot_file_pwrite(int fd, const void *buf, size_t len, uint64_t off);

/* The same for a file just truncated to its size (all zeros): 4 KiB
 * blocks of the file that buf would fill with zeros are not written and
 * stay holes (the kernel Image has ~8 MiB of them: fewer bytes for the
 * page cache and the disk).  Readers see the same bytes.  0 or -errno. */
int boot_file_pwrite_fresh(int fd, const void *buf, size_t len, uint64_t off);

#endif
