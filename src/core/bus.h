/* MMIO/PIO bus: address -> device dispatch.
 *
 * A device registers (base, length, ops, opaque).  The bus refuses overlaps
 * and enforces each device's access sizes and alignment, so device models only
 * ever see offsets inside their window with a size they declared.  Engines
 * (the RV64 interpreter for loads/stores that miss RAM, KVM for
 * KVM_EXIT_MMIO/IO) call bus_read()/bus_write(). */
#ifndef RINGVM_CORE_BUS_H
#define RINGVM_CORE_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

struct bus_ops {
	/* offset: bytes from the region base; size: 1, 2, 4 or 8 bytes.
	 * read stores the value (zero-extended) in *val.  Return 0, or a
	 * negative errno that the engine turns into an access fault. */
	int (*read)(void *opaque, uint64_t offset, unsigned size,
		    uint64_t *val);
	int (*write)(void *opaque, uint64_t offset, unsigned size,
		     uint64_t val);
	/* Allowed access sizes, OR of byte counts (e.g. 4 | 8);
	 * 0 means all of 1, 2, 4, 8. */
	unsigned sizes;
	/* Accept accesses that are not naturally aligned. */
	bool unaligned;
};

struct bus_region {
	uint64_t base, len;  /* bytes */
	const struct bus_ops *ops;
	void *opaque;
	const char *name;
};

/* A zeroed struct bus is an empty, usable bus (glibc's
 * PTHREAD_MUTEX_INITIALIZER is all zero bits). */
struct bus {
	struct bus_region *r;  /* sorted by base */
	unsigned nr, cap;
	/* The device lock (QEMU's "big lock" idea): bus_read()/bus_write()
	 * hold it around every device callback, so device models run one
	 * access at a time.  Any other thread that touches device state (an
	 * I/O completion, the event loop delivering console input or a
	 * received frame) takes it with bus_lock().  Not recursive: a device
	 * callback must not call bus_read/bus_write/bus_lock.  Lock order:
	 * the device lock before any device's own lock (e.g. the PLIC's). */
	pthread_mutex_t lock;
};

/* Register a window.  Fails with -EINVAL for len == 0, a wrapping range or an
 * overlap with an existing region (the message names both devices), -ENOMEM
 * if the table cannot grow.  name and ops must outlive the registration. */
int bus_register(struct bus *b, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque, const char *name,
		 struct err *errp);

/* Remove the region that starts at base; returns 0 or -ENOENT. */
int bus_unregister(struct bus *b, uint64_t base);

/* Region containing addr, or NULL. */
const struct bus_region *bus_find(const struct bus *b, uint64_t addr);

/* Dispatch an access.  Returns 0, -ENODEV when no device covers all of
 * [addr, addr+size), -EINVAL for a size or alignment the device refuses, or
 * the device's own negative errno.  A failed read stores 0 in *val. */
int bus_read(struct bus *b, uint64_t addr, unsigned size, uint64_t *val);
int bus_write(struct bus *b, uint64_t addr, unsigned size, uint64_t val);

/* Take / release the device lock (see struct bus) from outside a device
 * callback.  Registration changes (bus_register/unregister) happen only
 * while no other thread uses the bus and do not take it. */
void bus_lock(struct bus *b);
void bus_unlock(struct bus *b);

void bus_free(struct bus *b);

#endif
