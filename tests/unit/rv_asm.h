/* A tiny RV64 assembler for unit tests that run bare-metal guests: the
 * programs are written as RISC-V Linux Image files (text_offset 2 MiB) and
 * run with --bios none (M-mode).  Include after cmocka.h. */
#ifndef RINGVM_TESTS_RV_ASM_H
#define RINGVM_TESTS_RV_ASM_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { ZERO = 0, A0 = 10, A1 = 11, A2 = 12, A3 = 13, T0 = 5, T1 = 6,
       T2 = 7, S0 = 8, S1 = 9, T3 = 28, T4 = 29, T5 = 30, T6 = 31, S2 = 18,
       S3 = 19, S4 = 20, S5 = 21 };

struct prog {
	uint32_t w[128];
	unsigned n;
};

static inline unsigned emit(struct prog *p, uint32_t insn)
{
	assert_true(p->n < 128);
	p->w[p->n] = insn;
	return p->n++;
}

static inline uint32_t i_type(int imm, unsigned rs1, unsigned f3, unsigned rd,
		       unsigned opc)
{
	return ((uint32_t)imm & 0xfff) << 20 | rs1 << 15 | f3 << 12 | rd << 7 |
	       opc;
}

static inline void addi(struct prog *p, unsigned rd, unsigned rs, int imm)
{
	emit(p, i_type(imm, rs, 0, rd, 0x13));
}

static inline void slli(struct prog *p, unsigned rd, unsigned rs, unsigned sh)
{
	emit(p, i_type((int)sh, rs, 1, rd, 0x13));
}

static inline void lui(struct prog *p, unsigned rd, uint32_t imm20)
{
	emit(p, imm20 << 12 | rd << 7 | 0x37);
}

static inline void rr(struct prog *p, unsigned f7, unsigned rd, unsigned a,
	       unsigned b)
{
	emit(p, f7 << 25 | b << 20 | a << 15 | rd << 7 | 0x33);
}

static inline void store(struct prog *p, unsigned f3, unsigned rs2, unsigned base)
{
	emit(p, rs2 << 20 | base << 15 | f3 << 12 | 0x23);
}

static inline void ld(struct prog *p, unsigned rd, unsigned base)
{
	emit(p, i_type(0, base, 3, rd, 0x03));
}

static inline void rdtime(struct prog *p, unsigned rd)
{
	emit(p, i_type(0xc01, 0, 2, rd, 0x73)); /* csrrs rd, time, x0 */
}

/* Branch placeholder at the current position, patched by land(). */
static inline unsigned branch(struct prog *p, unsigned f3, unsigned a, unsigned b)
{
	return emit(p, b << 20 | a << 15 | f3 << 12 | 0x63);
}

static inline void patch_b(struct prog *p, unsigned at, unsigned target)
{
	int off = ((int)target - (int)at) * 4;
	uint32_t u = (uint32_t)off;
	p->w[at] |= ((u >> 12) & 1) << 31 | ((u >> 5) & 0x3f) << 25 |
		    ((u >> 1) & 0xf) << 8 | ((u >> 11) & 1) << 7;
}

static inline void spin(struct prog *p)
{
	emit(p, 0x6f); /* jal x0, 0 */
}

/* sifive_test at 0x100000: 0x5555 pass, 0x3333 | code << 16 fail. */
static inline void report(struct prog *p, unsigned code)
{
	lui(p, T5, 0x100);
	if (code) {
		lui(p, T6, code << 4 | 0x3);
		addi(p, T6, T6, 0x333);
	} else {
		lui(p, T6, 0x5);
		addi(p, T6, T6, 0x555);
	}
	store(p, 2, T6, T5);
	spin(p);
}

/* Write the program as a RISC-V Linux Image (text_offset 2 MiB). */
static inline char *write_image(const struct prog *p)
{
	uint8_t img[64 + sizeof(p->w)];
	memset(img, 0, sizeof(img));
	size_t len = 64 + p->n * 4;
	/* code0: j 64 (over the header) */
	uint32_t j64 = (0 << 31) | (32 << 21) | 0x6f;
	memcpy(img, &j64, 4);
	uint64_t text_offset = 0x200000, image_size = len;
	memcpy(img + 8, &text_offset, 8);
	memcpy(img + 16, &image_size, 8);
	uint32_t version = 2;
	memcpy(img + 0x24, &version, 4);
	memcpy(img + 0x30, "RISCV\0\0\0", 8);
	memcpy(img + 0x38, "RSC\x05", 4);
	memcpy(img + 64, p->w, p->n * 4);
	const char *dir = getenv("TMPDIR");
	char *path;
	assert_true(asprintf(&path, "%s/ringvm-test-vm-XXXXXX",
			     dir && *dir ? dir : "/tmp") > 0);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, img, len), (ssize_t)len);
	close(fd);
	return path;
}

#endif
