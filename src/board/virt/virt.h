/* The riscv `virt` board: builds a machine from a vm_config — RAM, the
 * RV64 harts (through the engine), CLINT, PLIC, UART, RTC, sifive_test,
 * virtio-blk/net/rng, the console, the boot images and the device tree —
 * and answers the VM handle's (vmm/vm.c) questions about it.  It does not
 * run anything: the VM handle owns the threads.
 *
 * Threading: virt_create/virt_destroy/virt_reset run while no vCPU runs;
 * virt_poll and virt_timeout_ms on the VM's I/O thread, under the device
 * lock (virt_bus) for virt_poll; virt_exit_reason from any thread. */
#ifndef RINGVM_BOARD_VIRT_VIRT_H
#define RINGVM_BOARD_VIRT_VIRT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/err.h"
#include "core/evloop.h"
#include "core/guest_mem.h"
#include "core/state.h"
#include "vmm/engine.h"
#include "vmm/vm.h"

struct virt_board;

/* Why the guest stopped (values match the board's rv_exit). */
enum virt_exit {
	VIRT_EXIT_NONE = 0,
	VIRT_EXIT_POWEROFF,
	VIRT_EXIT_REBOOT,
	VIRT_EXIT_HTIF,      /* a bare-metal test reported through tohost */
	VIRT_EXIT_USER,      /* Ctrl-A x */
	VIRT_EXIT_ERROR,
};

/* Build the board for cfg (which may be completed: the default guest's
 * kernel/initrd, the disk's boot loader) with its devices on `loop`.
 * exit_hook(opaque) is called, from any thread and possibly under the
 * device lock, when the guest asks the machine to stop (power-off, reboot,
 * test exit, Ctrl-A x): it must only record the fact and wake the I/O
 * thread.  Returns 0 with *out set, or -errno with errp naming the problem
 * (bad kernel, disk, NIC...); nothing is left open on failure. */
int virt_create(struct vm_config *cfg, struct evloop *loop,
		void (*exit_hook)(void *opaque), void *opaque,
		struct virt_board **out, struct err *errp);

/* Flush disks, close everything, free b (NULL-safe). */
void virt_destroy(struct virt_board *b);

/* The engine and its vCPUs (vcpu i < virt_nvcpus()). */
const struct engine_ops *virt_engine(const struct virt_board *b);
unsigned virt_nvcpus(const struct virt_board *b);
struct vcpu *virt_vcpu(struct virt_board *b, unsigned i);

/* Guest RAM (for the dirty-page log). */
struct guest_mem *virt_mem(struct virt_board *b);

/* Disk i's block device (NULL past the last), for live migration. */
struct block_dev *virt_disk(struct virt_board *b, unsigned i);

/* The device lock of the board's bus (core/bus.h). */
struct bus *virt_bus(struct virt_board *b);

/* Open the console (stdio, or the fds cfg names) on the board's loop:
 * raw terminal mode when it is a terminal.  virt_console_close restores
 * the terminal; safe to call more than once. */
int virt_console_open(struct virt_board *b, struct err *errp);
void virt_console_close(struct virt_board *b);

/* Send the guest kernel Magic SysRq `key` on its serial console (a break,
 * then the key: Documentation/admin-guide/sysrq.rst), as host input of
 * the UART.  Under the device lock.  Returns 0, or -EAGAIN when the UART
 * cannot take it now (no driver listening yet, or received bytes not yet
 * read: try again later). */
int virt_console_sysrq(struct virt_board *b, char key);

/* Press and release the power button (hw/virtio_input.h: delivered to
 * the guest's driver now or once it offers buffers).  Under the device
 * lock.  Returns 0, -ENODEV (the board has none: --no-power-button, or
 * no virtio slot was free) or -ENOSPC (presses already queue up). */
int virt_power_button(struct virt_board *b);

/* One I/O-thread step, under the device lock: console input into the
 * UART, the RTC alarm, the HTIF tohost word. */
void virt_poll(struct virt_board *b);

/* How long (ms) the I/O thread may sleep before virt_poll must run again
 * (RTC alarm, HTIF polling, console input waiting for FIFO room); -1 for
 * "until an fd is ready". */
int virt_timeout_ms(const struct virt_board *b);

/* The pending stop request, VIRT_EXIT_NONE if none; *code receives the
 * guest's exit code (HTIF / sifive_test). */
enum virt_exit virt_exit_reason(const struct virt_board *b, int *code);

/* Reboot: devices, harts and RAM as at power-on, then the same boot (the
 * RTC keeps its time, disks their flushed contents).  Only while no vCPU
 * runs.  Returns 0 or -errno (an image no longer fits). */
int virt_reset(struct virt_board *b, struct err *errp);

/* Pause/resume of guest time: mtime stands still from virt_clock_stop
 * to virt_clock_start (the guest sees no jump over a pause). */
void virt_clock_stop(struct virt_board *b);
void virt_clock_start(struct virt_board *b);

/* Wait until no device has I/O in flight (disk requests). */
void virt_quiesce(struct virt_board *b);

/* Make bd disk i (virtio_blk_replace_disk): the board closes bd from now
 * on, the caller owns the old one.  Only while paused.  0 or -EINVAL. */
int virt_replace_disk(struct virt_board *b, unsigned i, struct block_dev *bd);

/* Print run statistics (instructions, MIPS over `secs`, NIC counters) on
 * stderr. */
void virt_print_stats(struct virt_board *b, double secs);

/* ---- state (core/state.h; persist.c) ---------------------------------
 *
 * What the VM handle's "machine" section records of the board (vmm/
 * vm_state.c writes and checks it; virt_shape answers for this board). */
struct virt_shape {
	unsigned cpus;
	unsigned nram;                 /* RAM regions */
	struct { uint64_t gpa, size; } ram[GUEST_MEM_MAX_REGIONS];  /* bytes */
	int boot_mode;                 /* enum rv_boot_mode */
	unsigned ndisks;
	struct {
		uint64_t size;         /* bytes */
		const char *format;    /* "raw", "qcow2" (static) */
		bool read_only;
	} disk[VM_MAX_DISKS];
	unsigned nnics;
	uint8_t mac[VM_MAX_NICS][6];
	bool rng;
	bool power_button;             /* virtio-input after the rng */
};
void virt_shape(const struct virt_board *b, struct virt_shape *s);

/* Append the board's sections: "cpu0".."cpuN-1" (the engine's images),
 * "clint", "plic", "uart0", "rtc", "virtio0".."virtioK-1" (the transports
 * by slot: disks, NICs, rng, power button), "blk<i>", "net<i>",
 * "input0" (the devices' own),
 * "netdev<i>" (a NIC backend's, when it has state: --net user),
 * "boot" (the boot layout and the copies of the boot images that reboots
 * reload — or, with VIRT_SAVE_BOOT_FILE, only their layout and CRCs).  Only while no vCPU runs and no I/O is in flight (vm_pause).
 * Returns 0, -EBUSY (a disk request in flight), -ENOMEM (writer) or an
 * engine error. */
#define VIRT_SAVE_BOOT_FILE 0x1u  /* "boot" holds only the layout and
				   * CRCs of the images (version 2); they
				   * go to a boot file (virt_boot_file_write) */
int virt_save(struct virt_board *b, struct state_writer *w, unsigned flags,
	      struct err *errp);

/* Write the boot images a reboot reloads (firmware, kernel, initrd) to fd
 * (a new file, truncated to its size) in the boot_file.h format, the
 * layout a VIRT_SAVE_BOOT_FILE state records.  The images never change
 * while the VM lives, so this may run while it runs, from any one thread
 * (not concurrently with virt_load).  Returns 0 or -errno (write error;
 * -EINVAL: the VM's own boot file, which it copies from, is corrupt). */
int virt_boot_file_write(struct virt_board *b, int fd, struct err *errp);

/* Give the board the boot file of the state it will load (before
 * virt_load; fd is owned by the board from here, closed at destroy).  A
 * version 2 "boot" section needs it; only its size is checked at load,
 * the header and images when a reboot reads them. */
void virt_set_boot_file(struct virt_board *b, int fd);

struct boot_file_layout;
/* (Migration sends the images itself: vm.h vm_boot_layout.)
 * The boot file layout of v's images, with their CRCs (computed once for
 * copies in memory).  Always 0. */
int virt_boot_layout(struct virt_board *v, struct boot_file_layout *l);

/* Image i's bytes in *out: the copy in memory, or read and checked from
 * the boot file into *owned (caller frees; NULL otherwise).  0 or -errno
 * (-EINVAL: corrupt boot file). */
int virt_image_copy(struct virt_board *v, unsigned i, const uint8_t **out,
		    uint8_t **owned, struct err *errp);

/* Load those sections into a board built with cfg->incoming and not yet
 * run (the caller checked the machine shape).  Every section is read and
 * checked before anything changes, and a vCPU image the engine refuses
 * puts the vCPUs loaded before it back: on failure nothing changed.
 * Guest time stands still from here until virt_clock_start (vm_start).
 * Returns 0, -ENOENT (a section is missing), -EINVAL (errp names the
 * section and the bad value) or -ENOMEM. */
int virt_load(struct virt_board *b, struct state_reader *r,
	      struct err *errp);

#endif
