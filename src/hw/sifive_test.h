/* SiFive test finisher ("sifive,test0", as in QEMU's `-M virt`): one
 * 32-bit write-only register at offset 0 through which the guest powers
 * off, reports a test result or resets the machine.
 *
 *   bits 15:0 = 0x5555  pass / power off
 *   bits 15:0 = 0x3333  fail, exit code in bits 31:16
 *   bits 15:0 = 0x7777  reset
 *
 * Other values are ignored and reads return 0.  A generic device: it knows
 * nothing of the engine and only reports through the callback. */
#ifndef RINGVM_HW_SIFIVE_TEST_H
#define RINGVM_HW_SIFIVE_TEST_H

#include <stdint.h>

#include "../core/bus.h"
#include "../core/err.h"

#define SIFIVE_TEST_SIZE 0x1000

enum sifive_test_kind {
	SIFIVE_TEST_PASS = 0,  /* 0x5555: poweroff, code 0 */
	SIFIVE_TEST_FAIL,      /* 0x3333: code = bits 31:16 */
	SIFIVE_TEST_RESET,     /* 0x7777: reboot, code 0 */
};

struct sifive_test {
	struct bus *bus;
	uint64_t base;
	void (*cb)(void *opaque, int kind, int code);
	void *opaque;
};

/* Register the device on `bus` at guest-physical `base` for
 * SIFIVE_TEST_SIZE bytes.  cb(opaque, kind, code) is called from the
 * accessing hart's thread with kind an enum sifive_test_kind; it should
 * only request the machine exit.  t is owned by the caller and must outlive
 * the registration.  Returns 0 or the bus error (-EINVAL on overlap). */
int sifive_test_init(struct sifive_test *t, struct bus *bus, uint64_t base,
		     void (*cb)(void *opaque, int kind, int code),
		     void *opaque, struct err *errp);

/* Unregister (safe on a zeroed or already-exited struct). */
void sifive_test_exit(struct sifive_test *t);

#endif
