/* What `ringvm run` asks for, independent of the CPU engine, and the entry
 * point that builds and runs such a machine. */
#ifndef RINGVM_VMM_VM_H
#define RINGVM_VMM_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "block/block.h"
#include "core/err.h"

#define VM_MAX_DISKS 8
#define VM_MAX_CPUS 8
#define VM_DEFAULT_MEM (512ULL << 20)
#define VM_MAX_NICS 4

/* One virtio-net NIC: a --net spec (mac= removed) and its MAC. */
struct vm_nic {
	const char *spec;     /* net_backend_open() spec, e.g. "user,hostfwd=..." */
	uint8_t mac[6];
	bool has_mac;         /* false: vm_run derives a stable default */
};

#define VM_MAX_BACKING_DEVICES 8

struct vm_disk {
	const char *path;
	bool read_only;
	uint64_t l2_cache;    /* qcow2 L2 cache, bytes; 0 = default */
	enum block_cache cache;  /* host caching (block/block.h) */
	const char *format;   /* "raw", "qcow2"; NULL = probed (a writable
			       * disk probed as raw then refuses guest writes
			       * that would make it probe as another format) */
	/* Host block devices the user allows as backing files of this
	 * image's chain (--disk F,backing-device=PATH). */
	const char *backing_devices[VM_MAX_BACKING_DEVICES];
	unsigned nbacking_devices;
};

/* What to boot without --kernel (vmm/boot_source.h). */
enum vm_boot {
	VM_BOOT_AUTO,   /* the first disk if it has a partition table and no
			 * --initrd/--cmdline is given, else the default guest */
	VM_BOOT_KERNEL, /* --kernel, or the default guest */
	VM_BOOT_DISK,   /* the first disk through the S-mode boot loader */
};

struct vm_config {
	const char *arch;     /* "riscv64" */
	const char *kernel;   /* NULL: the default guest */
	const char *initrd;   /* NULL: none (or the default guest's) */
	const char *cmdline;  /* appended to ringvm's own arguments */
	const char *bios;     /* NULL: built-in SBI; "none": bare M-mode */
	uint64_t mem;         /* bytes */
	unsigned cpus;        /* harts */
	unsigned ndisks;
	struct vm_disk disks[VM_MAX_DISKS];
	bool stats;           /* print run statistics on stderr at exit */
	unsigned nnics;       /* NICs take the virtio slots after the disks */
	struct vm_nic nics[VM_MAX_NICS];
	bool seccomp_off;     /* --seccomp=off: no sandbox (debugging) */
	bool no_rng;          /* --no-rng: no virtio-rng after the NICs */
	bool no_reboot;       /* --no-reboot: a guest reboot ends the run */
	enum vm_boot boot;    /* --boot */
	const char *loader;   /* --loader: the S-mode boot loader for a disk
			       * boot; NULL: found by boot_find_loader() */
};

/* Build the machine described by cfg, run it until the guest powers off,
 * reboots with cfg->no_reboot (otherwise a reboot resets the machine and
 * boots it again), a bare-metal test reports, or the user quits, then
 * tear it down
 * (disks flushed).  Unless cfg->seccomp_off, the process is confined with
 * sandbox_enter_vmm() (vmm/sandbox.h) after set-up; a forbidden call ends
 * it with SANDBOX_EXIT_STATUS.  *status receives the process exit status
 * the run implies (0 poweroff/reboot/pass, 3 guest-reported failure, 1 a
 * reboot that could not restore the machine).
 * Returns 0, or -errno with errp naming the problem (bad kernel, disk...). */
int vm_run(const struct vm_config *cfg, int *status, struct err *errp);

#endif
