/* The virt board's private state, shared by virt.c and persist.c. */
#ifndef RINGVM_BOARD_VIRT_VIRT_INT_H
#define RINGVM_BOARD_VIRT_VIRT_INT_H

#include "virt.h"

#include "block/block.h"
#include "board/virt/boot_file.h"
#include "board/virt/fdt.h"
#include "board/virt/loader.h"
#include "engine/rv64/machine.h"
#include "hw/goldfish_rtc.h"
#include "hw/sifive_test.h"
#include "hw/uart8250.h"
#include "hw/virtio_blk.h"
#include "hw/virtio_input.h"
#include "hw/virtio_net.h"
#include "hw/virtio_rng.h"
#include "net/net.h"
#include "vmm/console.h"

struct virt_board {
	struct rv_machine m;
	struct evloop *loop;  /* the VM's, not owned */
	struct console con;
	struct uart8250 uart;
	struct sifive_test test;
	struct goldfish_rtc rtc;
	bool has_rng;
	struct virtio_rng rng;
	bool has_input;          /* the power button */
	struct virtio_input input;
	unsigned ndisks;
	struct block_dev *bd[VM_MAX_DISKS];
	struct virtio_blk blk[VM_MAX_DISKS];
	unsigned nnics;
	struct net_backend *nb[VM_MAX_NICS];
	struct virtio_net net[VM_MAX_NICS];

	/* What a reset needs to boot again without opening a file (the
	 * sandbox forbids it): the boot layout, the device tree parameters
	 * and copies of the images as loaded into RAM (firmware, kernel,
	 * initrd), each [gpa, gpa + len). */
	struct rv_boot boot;
	struct rv_fdt_params fp;
	char cmdline[4096];
	uint8_t fdt[RV_FDT_DEFAULT_SIZE];
	struct saved_image {
		uint64_t gpa;
		uint64_t len;
		uint8_t *data;     /* NULL: in the boot file (blay.img[i]) */
		uint32_t crc;      /* of the image, once crc_known */
		bool crc_known;
	} saved[3];
	unsigned nsaved;
	/* A restored VM's images stay in the snapshot's boot file until a
	 * reboot reads them (boot_file.h); boot_fd is owned. */
	bool has_boot_fd;
	int boot_fd;
	struct boot_file_layout blay;
	char *boot_paths[2];  /* resolved kernel/loader and initrd (owned) */
	const struct vm_config *cfg;
	uint64_t clock_stopped_ns;  /* host time of virt_clock_stop, or 0 */
};

/* Host CLOCK_MONOTONIC, ns. */
uint64_t virt_now_ns(void);

/* Put the boot images back into guest RAM for a reboot: the copies in
 * memory, or (a restored VM) read from the boot file and checked there.
 * 0, -EFAULT (an image outside RAM), -EINVAL (no images, or the boot file
 * is corrupt) or -EIO, errp set. */
int virt_reload_images(struct virt_board *v, struct err *errp);

#endif
