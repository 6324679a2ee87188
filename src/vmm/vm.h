/* What `ringvm run` asks for, independent of the CPU engine, and the entry
 * point that builds and runs such a machine. */
#ifndef RINGVM_VMM_VM_H
#define RINGVM_VMM_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "block/block.h"
#include "core/err.h"

#define VM_MAX_DISKS 8
#define VM_MAX_CPUS 32     /* RV_MAX_HARTS: one host thread each */
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

struct vm;

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
	/* --accel: "interp", "jit" or "jit-verify" (engine/rv64/jit/jit.h);
	 * NULL: the default.  Not part of saved state: a restored or
	 * migrated VM runs with what its own command line says. */
	const char *accel;
	unsigned nnics;       /* NICs take the virtio slots after the disks */
	struct vm_nic nics[VM_MAX_NICS];
	bool seccomp_off;     /* --seccomp=off: no sandbox (debugging) */
	bool no_rng;          /* --no-rng: no virtio-rng after the NICs */
	bool no_power_button; /* --no-power-button: no virtio-input power
			       * button after the rng */
	bool no_reboot;       /* --no-reboot: a guest reboot ends the run */
	enum vm_boot boot;    /* --boot */
	const char *loader;   /* --loader: the S-mode boot loader for a disk
			       * boot; NULL: found by boot_find_loader() */
	/* Console descriptors (owned by the caller) when console_fds is
	 * set; otherwise stdin/stdout. */
	bool console_fds;
	int console_in, console_out;
	/* The VM continues a saved one (--restore, --incoming): its RAM and
	 * state come from a snapshot or a migration stream (vm_load_state),
	 * so no boot image is loaded and nothing is reset at start. */
	bool incoming;
	/* vm_run calls it after vm_create, before the sandbox and vm_start
	 * (a restore maps the snapshot's memory and loads its state there);
	 * NULL: none.  A negative return ends vm_run with that error. */
	int (*prepare)(void *opaque, struct vm *vm, struct err *errp);
	void *prepare_opaque;
	/* `ringvm run --restore DIR [--clone] [--clone-dir D]`: what the
	 * command line asked for (src/cli/run.c hands it to vmm/restore.h;
	 * vm_create ignores it). */
	const char *restore;
	bool clone;           /* also: vm_load_state accepts other MACs */
	const char *clone_dir;
	/* --api PATH: serve the control socket there (vmm/api.h); NULL:
	 * none.  vm_run makes the server. */
	const char *api;
	/* --incoming URI: `ringvm run` takes the machine from a live
	 * migration (vmm/migrate.h migrate_incoming) instead of building it;
	 * vm_run ignores it. */
	const char *incoming_uri;
};

/* ---- the VM handle ----------------------------------------------------
 *
 * A VM is a board (board/virt/) plus the host threads that run it: one per
 * vCPU, running the engine (vmm/engine.h), and one I/O thread running the
 * VM's event loop (console, network backends, RTC) and handling the
 * guest's stop requests (a reboot resets the machine unless
 * cfg->no_reboot).  Nothing is process-wide: several VMs can live in one
 * process (only one of them may use stdin/stdout as its console).
 *
 * Lifecycle: vm_create (threads exist but wait) -> [vm_enter_sandbox] ->
 * vm_start -> {vm_pause, vm_resume}* -> [vm_stop] -> vm_wait ->
 * vm_destroy.  vm_pause/vm_resume/vm_stop may be called from any thread
 * other than the VM's own; vm_wait from one thread. */

struct vm;

enum vm_event {
	VM_EVENT_POWEROFF,  /* guest powered off (code: its exit code) */
	VM_EVENT_RESET,     /* guest rebooted; the machine was reset and runs */
	VM_EVENT_REBOOT,    /* guest rebooted with no_reboot: the VM ends */
	VM_EVENT_TEST_EXIT, /* bare-metal test exit through HTIF (code) */
	VM_EVENT_QUIT,      /* the user quit (Ctrl-A x) or vm_stop() */
	VM_EVENT_ERROR,     /* host-side failure; the VM ends */
	VM_EVENT_MIGRATED,  /* live migration done: the target runs it; the
			     * source VM ends (status 0) */
};

/* Called on the VM's I/O thread for each event; must not call vm_pause,
 * vm_resume or vm_wait of the same VM. */
typedef void vm_event_fn(void *opaque, enum vm_event ev, int code);

/* Build the VM described by cfg (copied; its strings must outlive the
 * VM): opens disks and NICs, loads images, creates its threads, which
 * wait for vm_start.  on_event may be NULL.  Returns 0 with *out set, or
 * -errno with errp naming the problem (bad kernel, disk...). */
int vm_create(const struct vm_config *cfg, vm_event_fn *on_event,
	      void *opaque, struct vm **out, struct err *errp);

/* Confine the whole process (every thread) with the VMM seccomp sandbox
 * (vmm/sandbox.h) for this VM's devices.  Call between vm_create and
 * vm_start, and only in a process that will make no further VMs. */
int vm_enter_sandbox(struct vm *vm, struct err *errp);

/* Let the threads run the guest.  Returns 0, or -EINVAL if already
 * started. */
int vm_start(struct vm *vm);

/* Stop every vCPU at an instruction boundary and the I/O thread, and
 * wait until no device has I/O in flight; guest time (mtime) stands
 * still until vm_resume.  Returns when done: 0, or -ESRCH when the VM has
 * ended (or not started).  Pauses nest: each needs its vm_resume. */
int vm_pause(struct vm *vm);

/* Undo one vm_pause.  Returns 0, or -EINVAL when not paused. */
int vm_resume(struct vm *vm);

/* Ask the VM to end as if the user had quit (VM_EVENT_QUIT); returns at
 * once (vm_wait waits).  Works while paused. */
void vm_stop(struct vm *vm);

/* End a paused VM whose guest now runs elsewhere (live migration
 * completed): like vm_stop, but the event is VM_EVENT_MIGRATED and the
 * vCPUs never run again.  From the thread that paused it. */
void vm_end_migrated(struct vm *vm);

/* Disk i's block device (NULL past the last); for live migration, which
 * copies or hands over the disks.  Valid until vm_destroy. */
struct block_dev *vm_disk(struct vm *vm, unsigned i);

/* Wait until the VM has ended and its threads are joined.  *status
 * receives the exit status the run implies (0 power-off, reboot with
 * no_reboot, test pass or quit; 3 guest-reported failure; 1 host error). */
void vm_wait(struct vm *vm, int *status);

/* Ask the guest kernel for Magic SysRq `key` ('s' sync, 'u' remount
 * read-only, 'o' power off...) through its serial console (a break, then
 * the key); the guest acts on it only when that UART is its console and
 * its kernel.sysrq mask allows the command.  From any thread other than
 * the VM's own.  Returns 0, -EAGAIN (the UART cannot take it now: retry
 * later) or -ESRCH (the VM is not running). */
int vm_sysrq(struct vm *vm, char key);

/* Press and release the board's power button (virtio-input KEY_POWER):
 * a guest that handles it (systemd-logind, the default guest's init)
 * shuts down in order and powers off.  The press waits in the device
 * until the guest's driver takes it.  From any thread other than the
 * VM's own.  Returns 0, -ENODEV (the VM has no power button), -ENOSPC
 * (earlier presses are still queued) or -ESRCH (not running). */
int vm_power_button(struct vm *vm);

/* The dirty-page log of guest RAM, for live migration and incremental
 * snapshots: every page the guest (any vCPU) or a device writes from
 * vm_dirty_log_start on is reported by the next vm_dirty_log_fetch.  Each
 * call pauses the VM for a moment (engines re-arm their store tracking).
 * vm_dirty_log_fetch copies and clears the bitmap of RAM region `region`
 * (one bit per 4 KiB page, ((size >> 12) + 63) / 64 words; the size is
 * vm_ram_size) and returns the number of dirty pages, or -ESRCH/-EINVAL.
 * From one thread other than the VM's own. */
int vm_dirty_log_start(struct vm *vm, struct err *errp);
int64_t vm_dirty_log_fetch(struct vm *vm, unsigned region, uint64_t *bitmap);
void vm_dirty_log_stop(struct vm *vm);

/* Bytes of guest RAM region `region` (0 when there is none). */
uint64_t vm_ram_size(struct vm *vm, unsigned region);

/* Instructions retired by all vCPUs (only while paused or ended). */
uint64_t vm_instret(const struct vm *vm);

/* ---- state for snapshots and live migration (core/state.h) ----------
 *
 * vm_save_state appends the machine's sections to w: the machine shape
 * ("machine": arch, engine, vCPUs, RAM layout, devices — what a loader
 * checks before anything else), every vCPU (the engine's image) and
 * every device.  Call only while the VM is paused (vm_pause: no vCPU
 * runs, no disk I/O in flight) or not started.  Returns 0, -EBUSY (the VM
 * runs, or a disk still has a request in flight) or -ENOMEM.
 *
 * vm_load_state loads such a stream into a VM created with cfg->incoming
 * and not yet started (else -EBUSY / -EINVAL); a stream from another
 * machine shape, engine or format version fails with -EINVAL and a
 * message naming the difference, before any vCPU or device changed, and
 * so does any section a loader refuses (all are checked before the first
 * is applied).  Guest time stands still from the load until vm_start.
 * The section layout is docs/LIFECYCLE.md "State format".
 *
 * vm_config_from_state fills *cfg (which the caller initialised with its
 * defaults: console, seccomp, stats...) with the machine shape recorded in
 * the stream's "machine" section — memory, vCPUs, disks, NICs — so that
 * vm_create builds a VM the stream fits.  Strings point into *storage
 * (free() it after vm_destroy). */
struct state_writer;
struct state_reader;
int vm_save_state(struct vm *vm, struct state_writer *w, struct err *errp);
int vm_load_state(struct vm *vm, struct state_reader *r, struct err *errp);
int vm_config_from_state(struct state_reader *r, struct vm_config *cfg,
			 void **storage, struct err *errp);

/* Boot images outside the stream (snapshots; docs/LIFECYCLE.md "Boot
 * images out of the restore path").  vm_save_state_ext with
 * VM_SAVE_BOOT_FILE is vm_save_state whose "boot" section holds only the
 * layout and CRCs of the boot images; vm_boot_file_write writes those
 * images to fd (a new regular file) and may run while the VM runs (the
 * images never change); both return 0 or -errno.  vm_set_boot_file hands
 * such a file (fd, owned by the VM from then on) to a VM before
 * vm_load_state of a stream that refers to it: the load checks only its
 * size, a guest reboot reads the images and checks the header and CRCs
 * (a corrupt file ends the VM with VM_EVENT_ERROR).  vm_save_state and
 * migration streams keep the images inline. */
#define VM_SAVE_BOOT_FILE 0x1u
int vm_save_state_ext(struct vm *vm, struct state_writer *w, unsigned flags,
		      struct err *errp);
int vm_boot_file_write(struct vm *vm, int fd, struct err *errp);
void vm_set_boot_file(struct vm *vm, int fd);

/* The boot images one by one, for a migration that sends them before its
 * pause (they never change while the VM lives, so both may run while the
 * VM runs, from one thread at a time).  vm_boot_layout fills *l (count,
 * gpa, len in bytes, CRC-32 — computed once and kept — and the offsets of
 * a boot file) and returns 0.  vm_boot_image points *data at image i's
 * len bytes (i < l->n): the VM's copy, or one read and checked from its
 * boot file into *owned, which the caller frees (NULL otherwise); 0 or
 * -errno (-EIO, -EINVAL corrupt boot file, -ENOMEM). */
struct boot_file_layout;
int vm_boot_layout(struct vm *vm, struct boot_file_layout *l);
int vm_boot_image(struct vm *vm, unsigned i, const uint8_t **data,
		  uint8_t **owned, struct err *errp);

/* Guest RAM of the VM (for snapshot and migration memory copies; gpa
 * access rules of core/guest_mem.h). */
struct guest_mem *vm_mem(struct vm *vm);

/* ---- for snapshots (vmm/snapshot.c) ---------------------------------- */

/* The configuration the VM was created with (its copy). */
const struct vm_config *vm_get_config(const struct vm *vm);

/* The CPU engine's name ("interp"). */
const char *vm_engine_name(const struct vm *vm);

/* Replace disk i (vm_disk) while paused by an overlay of the same size
 * (the VM closes bd from then on; the caller disposes of the old device,
 * normally as bd's backing file).  0 or -EINVAL. */
int vm_replace_disk(struct vm *vm, unsigned i, struct block_dev *bd);

/* Where the snapshot code keeps what it knows about this VM's previous
 * snapshot (for incremental ones); freed with the VM
 * (snapshot_track_free). */
struct snapshot_track;
struct snapshot_track **vm_snapshot_track(struct vm *vm);

/* Free the VM (after vm_wait, or instead of vm_start); NULL-safe. */
void vm_destroy(struct vm *vm);

/* Create, confine (unless cfg->seccomp_off), start, wait and destroy:
 * what `ringvm run` does.  Prints statistics when cfg->stats.  Returns 0
 * with *status set, or -errno with errp naming the problem. */
int vm_run(const struct vm_config *cfg, int *status, struct err *errp);

/* vm_run's second half, for a VM made another way (migrate_incoming, a
 * restored snapshot): serve the control socket `api` (NULL: none; made by
 * api_open, and vm created with on_event api_vm_event, opaque api — see
 * vmm/api.h), confine (unless the VM's cfg->seccomp_off), start, wait,
 * print statistics (cfg->stats), then close api and destroy vm — on
 * failure too.  Returns 0 with *status set, or -errno. */
struct api;
int vm_run_created(struct vm *vm, struct api *api, int *status,
		   struct err *errp);

#endif
