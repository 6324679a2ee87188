/* Boot loader: crafted kernels, firmware and initrds in a temp dir, good
 * ones and hostile ones (garbage, truncated headers, segments outside RAM,
 * files that do not fit). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <fcntl.h>
#include <libfdt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "engine/rv64/hart.h"
#include "board/virt/loader.h"
#include "board/virt/memmap.h"

#define RAM_SIZE (64ULL << 20)
#define RAM_END (RV_RAM_BASE + RAM_SIZE)
#define RV_FDT_TEST_SIZE 0x10000
#define OPENSBI "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.elf"

struct fixture {
	char dir[64];
	char path[128];
	struct guest_mem mem;
	struct rv_boot b;
	struct err e;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	strcpy(f->dir, "/tmp/ringvm-loader-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(guest_mem_add(&f->mem, RV_RAM_BASE, RAM_SIZE, &f->e),
			 0);
	memset(gpa_ptr(&f->mem, RV_RAM_BASE, RAM_SIZE), 0xaa, RAM_SIZE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	guest_mem_free(&f->mem);
	free(f);
	return 0;
}

static const char *put(struct fixture *f, const char *name, const void *data,
		       size_t len)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	FILE *fp = fopen(f->path, "wb");
	assert_non_null(fp);
	if (len)
		assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	return f->path;
}

/* A sparse file of `size` bytes. */
static const char *put_sparse(struct fixture *f, const char *name,
			      uint64_t size)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	int fd = open(f->path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
	return f->path;
}

static uint8_t *ram(struct fixture *f, uint64_t gpa)
{
	return gpa_ptr(&f->mem, gpa, 1);
}

/* ---- crafted files ---- */

static size_t make_image(uint8_t *buf, size_t len, uint64_t text_offset,
			 uint64_t image_size, bool old_magic)
{
	assert_true(len >= 64);
	memset(buf, 0, 64);
	for (size_t i = 64; i < len; i++)
		buf[i] = (uint8_t)(i * 7);
	memcpy(buf, "MZ\0\0", 4);        /* code0: EFI stub "MZ" + jump */
	memcpy(buf + 0x08, &text_offset, 8);
	memcpy(buf + 0x10, &image_size, 8);
	if (old_magic)
		memcpy(buf + 0x30, "RISCV\0\0\0", 8);
	else
		memcpy(buf + 0x38, "RSC\x05", 4);
	return len;
}

static uint8_t *gzip(const uint8_t *in, size_t len, size_t *out_len)
{
	z_stream zs = { 0 };
	assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
				      Z_DEFAULT_STRATEGY), Z_OK);
	size_t cap = deflateBound(&zs, len) + 64;
	uint8_t *out = malloc(cap);
	assert_non_null(out);
	zs.next_in = (Bytef *)in;
	zs.avail_in = len;
	zs.next_out = out;
	zs.avail_out = cap;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	*out_len = cap - zs.avail_out;
	deflateEnd(&zs);
	return out;
}

struct elf_spec {
	uint16_t machine;
	uint8_t class;
	uint64_t paddr, vaddr, entry;
	uint64_t filesz, memsz;
	uint64_t tohost, fromhost;   /* 0: no symbol */
	bool bad_symtab;
};

#define ELF_DATA 0x100
#define ELF_SYMTAB 0x200
#define ELF_STRTAB 0x300
#define ELF_SHDRS 0x400
#define ELF_SIZE (ELF_SHDRS + 3 * sizeof(Elf64_Shdr))

static size_t make_elf(uint8_t *buf, const struct elf_spec *s)
{
	memset(buf, 0, ELF_SIZE);
	Elf64_Ehdr eh = { 0 };
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = s->class ? s->class : ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = s->machine ? s->machine : EM_RISCV;
	eh.e_version = EV_CURRENT;
	eh.e_entry = s->entry;
	eh.e_phoff = sizeof(eh);
	eh.e_shoff = ELF_SHDRS;
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 1;
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = 3;
	memcpy(buf, &eh, sizeof(eh));

	Elf64_Phdr ph = { .p_type = PT_LOAD, .p_flags = PF_R | PF_X,
			  .p_offset = ELF_DATA, .p_vaddr = s->vaddr,
			  .p_paddr = s->paddr, .p_filesz = s->filesz,
			  .p_memsz = s->memsz, .p_align = 8 };
	memcpy(buf + sizeof(eh), &ph, sizeof(ph));
	for (unsigned i = 0; i < 0x80; i++)
		buf[ELF_DATA + i] = (uint8_t)(0x40 + i);

	static const char strtab[] = "\0tohost\0fromhost\0junk";
	memcpy(buf + ELF_STRTAB, strtab, sizeof(strtab));
	Elf64_Sym sym[4] = { { 0 } };
	sym[1] = (Elf64_Sym){ .st_name = 1, .st_value = s->tohost };
	sym[2] = (Elf64_Sym){ .st_name = 8, .st_value = s->fromhost };
	sym[3] = (Elf64_Sym){ .st_name = 0x7fff, .st_value = 1 };  /* bad */
	memcpy(buf + ELF_SYMTAB, sym, sizeof(sym));

	Elf64_Shdr sh[3] = { { 0 } };
	sh[1] = (Elf64_Shdr){ .sh_type = SHT_SYMTAB, .sh_offset = ELF_SYMTAB,
			      .sh_size = s->tohost || s->fromhost ?
					 sizeof(sym) : 0,
			      .sh_link = 2, .sh_entsize = sizeof(Elf64_Sym) };
	sh[2] = (Elf64_Shdr){ .sh_type = SHT_STRTAB, .sh_offset = ELF_STRTAB,
			      .sh_size = sizeof(strtab) };
	if (s->bad_symtab)
		sh[1].sh_offset = 1ULL << 40;
	memcpy(buf + ELF_SHDRS, sh, sizeof(sh));
	return ELF_SIZE;
}

static struct elf_spec bare_elf(void)
{
	return (struct elf_spec){ .paddr = RV_RAM_BASE, .vaddr = RV_RAM_BASE,
				  .entry = RV_RAM_BASE, .filesz = 0x80,
				  .memsz = 0x1000,
				  .tohost = RV_RAM_BASE + 0x1000,
				  .fromhost = RV_RAM_BASE + 0x1040 };
}

/* Load kernel bytes and expect failure with errno `code` and a message
 * containing `needle`. */
static void kernel_fails(struct fixture *f, const void *data, size_t len,
			 int code, const char *needle)
{
	const char *p = put(f, "bad", data, len);
	rv_boot_init(&f->b, RV_BOOT_SBI, RV_RAM_BASE, RAM_SIZE);
	err_clear(&f->e);
	assert_int_equal(rv_load_kernel(&f->b, &f->mem, p, &f->e), -code);
	if (!strstr(f->e.msg, needle))
		fail_msg("message `%s` lacks `%s`", f->e.msg, needle);
	assert_non_null(strstr(f->e.msg, p));     /* names the file */
}

/* ---- tests ---- */

static void check_image_loaded(struct fixture *f, const uint8_t *img,
			       size_t len)
{
	uint64_t at = RV_RAM_BASE + 0x200000;
	assert_int_equal(f->b.entry, at);
	assert_int_equal(f->b.priv, RV_PRIV_S);
	assert_int_equal(f->b.kernel_start, at);
	assert_int_equal(f->b.kernel_end, at + 0x300000);
	assert_memory_equal(ram(f, at), img, len);
	for (uint64_t a = at + len; a < at + 0x300000; a += 0x1000)
		assert_int_equal(*ram(f, a), 0);       /* bss zeroed */
	assert_int_equal(*ram(f, at + 0x300000), 0xaa);
	assert_int_equal(*ram(f, at - 1), 0xaa);
}

static void test_image(void **state)
{
	struct fixture *f = *state;
	static uint8_t img[0x3000];
	make_image(img, sizeof(img), 0x200000, 0x300000, false);
	const char *p = put(f, "Image", img, sizeof(img));
	rv_boot_init(&f->b, RV_BOOT_SBI, RV_RAM_BASE, RAM_SIZE);
	assert_int_equal(rv_load_kernel(&f->b, &f->mem, p, &f->e), 0);
	check_image_loaded(f, img, sizeof(img));
	assert_int_equal(f->b.tohost, 0);

	/* the deprecated magic alone is enough */
	make_image(img, sizeof(img), 0x200000, 0x300000, true);
	p = put(f, "Image.old", img, sizeof(img));
	rv_boot_init(&f->b, RV_BOOT_SBI, RV_RAM_BASE, RAM_SIZE);
	assert_int_equal(rv_load_kernel(&f->b, &f->mem, p, &f->e), 0);
	check_image_loaded(f, img, sizeof(img));

	/* --bios none: same place, M-mode */
	rv_boot_init(&f->b, RV_BOOT_BARE, RV_RAM_BASE, RAM_SIZE);
	assert_int_equal(rv_load_kernel(&f->b, &f->mem, p, &f->e), 0);
	assert_int_equal(f->b.priv, RV_PRIV_M);

	/* image_size 0 (old headers): the file size counts */
	make_image(img, sizeof(img), 0x200000, 0, false);
	p = put(f, "Image.nosize", img, sizeof(img));
	rv_boot_init(&f->b, RV_BOOT_SBI, RV_RAM_BASE, RAM_SIZE);
	assert_int_equal(rv_load_kernel(&f->b, &f->mem, p, &f->e), 0);
	assert_int_equal(f->b.kernel_end, f->b.kernel_start + sizeof(img));
}

static void test_gzip_image(void **state)
{
	struct fixture *f = *state;
	static uint8_t img[0x3000];
	make_image(img, sizeof(img), 0x200000, 0x300000, false);
	size_t zlen;
	uint8_t *z = gzip(img, sizeof(img), &zlen);
	const char *p = put(f, "Image.gz", z, zlen);
	rv_boot_init(&f->b, RV_BOOT_SBI, RV_RAM_BASE, RAM_SIZE);
	assert_int_equal(rv_load_kernel(&f->b, &f->mem, p, &f->e), 0);
	check_image_loaded(f, img, sizeof(img));

	kernel_fails(f, z, zlen / 2, EINVAL, "truncated");
	z[zlen / 2] ^= 0xff;
	z[zlen / 2 + 1] ^= 0x55;
	kernel_fails(f, z, zlen, EINVAL, "gzip");
	free(z);

	/* From memory: the same result, and the caller's bytes untouched
	 * (the inflated copy is the loader's). */
	z = gzip(img, sizeof(img), &zlen);
	uint8_t *copy = malloc(zlen);
	assert_non_null(copy);
	memcpy(copy, z, zlen);
	memset(ram(f, RV_RAM_BASE + 0x200000), 0xaa, 0x400000);
	rv_boot_init(&f->b, RV_BOOT_SBI, RV_RAM_BASE, RAM_SIZE);
	assert_int_equal(rv_load_kernel_buf(&f->b, &f->mem, z, zlen, "mem.gz",
					    &f->e), 0);
	check_image_loaded(f, img, sizeof(img));
	assert_memory_equal(z, copy, zlen);
	err_clear(&f->e);
	rv_boot_init(&f->b, RV_BOOT_SBI, RV_RAM_BASE, RAM_SIZE);
	assert_int_equal(rv_load_kernel_buf(&f->b, &f->mem, z, zlen / 2,
					    "mem.gz", &f->e), -EINVAL);
	assert_non_null(strstr(f->e.msg, "mem.gz"));
	free(copy);
	free(z);

	/* gzip around something that is not a kernel */
	static const char junk[] = "definitely not a kernel image";
	z = gzip((const uint8_t *)junk, sizeof(junk), &zlen);
	kernel_fails(f, z, zlen, EINVAL, "is not a RISC-V kernel image");
	free(z);

	/* decompression is capped at the RAM size */
	uint8_t *big = calloc(1, RAM_SIZE + 4096);
	assert_non_null(big);
	z = gzip(big, RAM_SIZE + 4096, &zlen);
	free(big);
	kernel_fails(f, z, zlen, EFBIG, "larger than 64 MiB");
	free(z);
}

static void test_elf_htif(void **state)
{
	struct fixture *f = *state;
	static uint8_t elf[ELF_SIZE];
	struct elf_spec s = bare_elf();
	s.entry = RV_RAM_BASE + 0x10;
	const char *p = put(f, "test.elf", elf, make_elf(elf, &s));
	rv_boot_init(&f->b, RV_BOOT_BARE, RV_RAM_BASE, RAM_SIZE);
	assert_int_equal(rv_load_kernel(&f->b, &f->mem, p, &f->e), 0);
	assert_int_equal(f->b.entry, RV_RAM_BASE + 0x10);
	assert_int_equal(f->b.priv, RV_PRIV_M);
	assert_int_equal(f->b.tohost, RV_RAM_BASE + 0x1000);
	assert_int_equal(f->b.fromhost, RV_RAM_BASE + 0x1040);
	assert_int_equal(f->b.kernel_start, RV_RAM_BASE);
	assert_int_equal(f->b.kernel_end, RV_RAM_BASE + 0x1000);
	assert_memory_equal(ram(f, RV_RAM_BASE), elf + ELF_DATA, 0x80);
	assert_int_equal(*ram(f, RV_RAM_BASE + 0x80), 0);
	assert_int_equal(*ram(f, RV_RAM_BASE + 0xfff), 0);
	assert_int_equal(*ram(f, RV_RAM_BASE + 0x1000), 0xaa);

	/* vmlinux style: linked high, loaded low; entry is translated */
	s = bare_elf();
	s.vaddr = 0xffffffff80000000ULL;
	s.paddr = RV_RAM_BASE + 0x200000;
	s.entry = s.vaddr + 0x20;
	s.tohost = s.fromhost = 0;
	p = put(f, "vmlinux", elf, make_elf(elf, &s));
	rv_boot_init(&f->b, RV_BOOT_SBI, RV_RAM_BASE, RAM_SIZE);
	assert_int_equal(rv_load_kernel(&f->b, &f->mem, p, &f->e), 0);
	assert_int_equal(f->b.entry, RV_RAM_BASE + 0x200020);
	assert_int_equal(f->b.priv, RV_PRIV_S);
	assert_int_equal(f->b.tohost, 0);

	/* an unusable symbol table is ignored, not trusted */
	s = bare_elf();
	s.bad_symtab = true;
	p = put(f, "badsym.elf", elf, make_elf(elf, &s));
	rv_boot_init(&f->b, RV_BOOT_BARE, RV_RAM_BASE, RAM_SIZE);
	assert_int_equal(rv_load_kernel(&f->b, &f->mem, p, &f->e), 0);
	assert_int_equal(f->b.tohost, 0);

	/* gzip'd ELF */
	s = bare_elf();
	size_t zlen;
	uint8_t *z = gzip(elf, make_elf(elf, &s), &zlen);
	p = put(f, "test.elf.gz", z, zlen);
	free(z);
	rv_boot_init(&f->b, RV_BOOT_BARE, RV_RAM_BASE, RAM_SIZE);
	assert_int_equal(rv_load_kernel(&f->b, &f->mem, p, &f->e), 0);
	assert_int_equal(f->b.tohost, RV_RAM_BASE + 0x1000);
}

static void test_bad_kernels(void **state)
{
	struct fixture *f = *state;
	static uint8_t buf[ELF_SIZE + 0x1000];
	static const char junk[] = "This is a text file, not a kernel.\n"
		"It is long enough to hold a header: 0123456789abcdef";
	char msg[256];

	snprintf(msg, sizeof(msg), "`%s/bad` is not a RISC-V kernel image "
		 "(expected a Linux Image, a gzip-compressed Image or an ELF)",
		 f->dir);
	kernel_fails(f, junk, sizeof(junk), EINVAL, msg);
	kernel_fails(f, "", 0, EINVAL, "is not a RISC-V kernel image");
	/* an Image header cut short is not recognised as one */
	make_image(buf, 64, 0x200000, 0x1000, false);
	kernel_fails(f, buf, 60, EINVAL, "is not a RISC-V kernel image");

	struct elf_spec s = bare_elf();
	make_elf(buf, &s);
	kernel_fails(f, buf, 20, EINVAL, "truncated ELF header");
	kernel_fails(f, buf, 100, EINVAL, "program headers");
	kernel_fails(f, buf, ELF_DATA + 0x10, EINVAL, "segment 0 is truncated");
	s.machine = EM_X86_64;
	make_elf(buf, &s);
	kernel_fails(f, buf, ELF_SIZE, EINVAL, "not RISC-V");
	s = bare_elf();
	s.class = ELFCLASS32;
	make_elf(buf, &s);
	kernel_fails(f, buf, ELF_SIZE, EINVAL, "64-bit");

	/* segments outside RAM: below, straddling the end, wrapping */
	static const uint64_t bad_paddr[] = { 0x1000, RV_RAM_BASE - 0x800,
		RAM_END - 0x800, RAM_END, -0x800ULL };
	for (unsigned i = 0; i < sizeof(bad_paddr) / sizeof(bad_paddr[0]);
	     i++) {
		s = bare_elf();
		s.paddr = bad_paddr[i];
		make_elf(buf, &s);
		kernel_fails(f, buf, ELF_SIZE, EINVAL, "outside RAM");
	}
	s = bare_elf();
	s.filesz = 0x2000;           /* more file than memory */
	make_elf(buf, &s);
	kernel_fails(f, buf, ELF_SIZE, EINVAL, "truncated or corrupt");
	s = bare_elf();
	s.entry = 0x1000;
	make_elf(buf, &s);
	kernel_fails(f, buf, ELF_SIZE, EINVAL, "entry point");
	s = bare_elf();
	s.tohost = 0x2000;
	make_elf(buf, &s);
	kernel_fails(f, buf, ELF_SIZE, EINVAL, "tohost");
	/* nothing was loaded by the failed attempts */
	assert_int_equal(*ram(f, RV_RAM_BASE), 0xaa);

	/* Images that do not fit */
	make_image(buf, 0x1000, 0x200000, 1ULL << 30, false);
	kernel_fails(f, buf, 0x1000, EFBIG, "does not fit");
	make_image(buf, 0x1000, 1ULL << 63, 0x1000, false);
	kernel_fails(f, buf, 0x1000, EFBIG, "does not fit");
	make_image(buf, 0x1000, RAM_SIZE - 0x800, 0, false);
	kernel_fails(f, buf, 0x1000, EINVAL, "text_offset");
	make_image(buf, 0x1000, RAM_SIZE - 0x1000, 0x2000, false);
	kernel_fails(f, buf, 0x1000, EFBIG, "does not fit");

	/* files: missing, a directory, bigger than RAM */
	rv_boot_init(&f->b, RV_BOOT_SBI, RV_RAM_BASE, RAM_SIZE);
	err_clear(&f->e);
	snprintf(f->path, sizeof(f->path), "%s/missing", f->dir);
	assert_int_equal(rv_load_kernel(&f->b, &f->mem, f->path, &f->e),
			 -ENOENT);
	snprintf(msg, sizeof(msg), "cannot open kernel `%s`: No such file or "
		 "directory", f->path);
	assert_string_equal(f->e.msg, msg);
	err_clear(&f->e);
	assert_int_equal(rv_load_kernel(&f->b, &f->mem, f->dir, &f->e),
			 -EISDIR);
	assert_non_null(strstr(f->e.msg, "Is a directory"));
	err_clear(&f->e);
	const char *p = put_sparse(f, "huge", RAM_SIZE + 1);
	assert_int_equal(rv_load_kernel(&f->b, &f->mem, p, &f->e), -EFBIG);
	assert_non_null(strstr(f->e.msg, "too large"));
	assert_int_equal(f->b.kernel_end, 0);
}

static void load_image_kernel(struct fixture *f, enum rv_boot_mode mode)
{
	static uint8_t img[0x3000];
	make_image(img, sizeof(img), 0x200000, 0x300000, false);
	const char *p = put(f, "Image", img, sizeof(img));
	rv_boot_init(&f->b, mode, RV_RAM_BASE, RAM_SIZE);
	assert_int_equal(rv_load_kernel(&f->b, &f->mem, p, &f->e), 0);
}

static void test_initrd(void **state)
{
	struct fixture *f = *state;
	load_image_kernel(f, RV_BOOT_SBI);
	uint8_t data[10000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i ^ 0x5a);
	const char *p = put(f, "initrd", data, sizeof(data));

	err_clear(&f->e);
	assert_int_equal(rv_load_initrd(&f->b, &f->mem, p, &f->e), -EINVAL);
	err_clear(&f->e);

	assert_int_equal(rv_boot_reserve_fdt(&f->b, RV_FDT_TEST_SIZE, &f->e),
			 0);
	assert_int_equal(f->b.fdt_addr % 8, 0);
	assert_true(f->b.fdt_addr + RV_FDT_TEST_SIZE + RV_BOOT_FDT_SLACK <=
		    RAM_END);
	assert_true(f->b.fdt_addr > RAM_END - (1 << 20));
	assert_int_equal(f->b.fw_info_addr, 0);

	assert_int_equal(rv_load_initrd(&f->b, &f->mem, p, &f->e), 0);
	assert_int_equal(f->b.initrd_start % 4096, 0);
	assert_int_equal(f->b.initrd_end, f->b.initrd_start + sizeof(data));
	assert_true(f->b.initrd_end <= f->b.fdt_addr);
	assert_true(f->b.initrd_start >= f->b.kernel_end);
	assert_memory_equal(ram(f, f->b.initrd_start), data, sizeof(data));

	/* too big: fails, names the file, keeps the old layout */
	uint64_t free_bytes = f->b.fdt_addr - f->b.kernel_end;
	p = put_sparse(f, "initrd.big", free_bytes + 1);
	err_clear(&f->e);
	assert_int_equal(rv_load_initrd(&f->b, &f->mem, p, &f->e), -EFBIG);
	assert_non_null(strstr(f->e.msg, "does not fit"));
	assert_non_null(strstr(f->e.msg, p));
	p = put_sparse(f, "initrd.huge", 1ULL << 40);
	err_clear(&f->e);
	assert_int_equal(rv_load_initrd(&f->b, &f->mem, p, &f->e), -EFBIG);
	assert_int_equal(f->b.initrd_end, f->b.initrd_start + sizeof(data));

	/* the largest page-aligned one that fits */
	p = put_sparse(f, "initrd.max", free_bytes & ~4095ULL);
	err_clear(&f->e);
	assert_int_equal(rv_load_initrd(&f->b, &f->mem, p, &f->e), 0);
	assert_int_equal(f->b.initrd_start, f->b.kernel_end);

	p = put(f, "initrd.empty", "", 0);
	err_clear(&f->e);
	assert_int_equal(rv_load_initrd(&f->b, &f->mem, p, &f->e), -EINVAL);
	assert_non_null(strstr(f->e.msg, "empty"));
	snprintf(f->path, sizeof(f->path), "%s/nope", f->dir);
	err_clear(&f->e);
	assert_int_equal(rv_load_initrd(&f->b, &f->mem, f->path, &f->e),
			 -ENOENT);
	assert_non_null(strstr(f->e.msg, "cannot open initrd"));
}

static void make_fdt(void *buf, size_t size)
{
	assert_int_equal(fdt_create_empty_tree(buf, (int)size), 0);
}

static void test_finish_sbi(void **state)
{
	struct fixture *f = *state;
	static uint8_t fdt[RV_FDT_TEST_SIZE];
	rv_boot_init(&f->b, RV_BOOT_SBI, RV_RAM_BASE, RAM_SIZE);
	make_fdt(fdt, sizeof(fdt));
	assert_int_equal(rv_boot_reserve_fdt(&f->b, sizeof(fdt), &f->e), 0);
	err_clear(&f->e);
	assert_int_equal(rv_boot_finish(&f->b, &f->mem, fdt, &f->e), -EINVAL);
	assert_non_null(strstr(f->e.msg, "nothing to boot"));

	load_image_kernel(f, RV_BOOT_SBI);
	assert_int_equal(rv_boot_reserve_fdt(&f->b, sizeof(fdt), &f->e), 0);
	assert_int_equal(rv_boot_finish(&f->b, &f->mem, fdt, &f->e), 0);
	assert_memory_equal(ram(f, f->b.fdt_addr), fdt, sizeof(fdt));
	assert_int_equal(f->b.fw_info_addr, 0);

	/* blob larger than reserved, or not a blob */
	static uint8_t big[2 * RV_FDT_TEST_SIZE];
	make_fdt(big, sizeof(big));
	err_clear(&f->e);
	assert_int_equal(rv_boot_finish(&f->b, &f->mem, big, &f->e), -EINVAL);
	memset(big, 0, sizeof(big));
	err_clear(&f->e);
	assert_int_equal(rv_boot_finish(&f->b, &f->mem, big, &f->e), -EINVAL);

	/* no room for the FDT */
	err_clear(&f->e);
	assert_int_equal(rv_boot_reserve_fdt(&f->b, 0, &f->e), -EFBIG);
	err_clear(&f->e);
	assert_int_equal(rv_boot_reserve_fdt(&f->b, RAM_SIZE, &f->e), -EFBIG);
	err_clear(&f->e);
	assert_int_equal(rv_boot_reserve_fdt(&f->b, -1ULL, &f->e), -EFBIG);
	assert_non_null(strstr(f->e.msg, "device tree"));
}

static void test_firmware(void **state)
{
	struct fixture *f = *state;
	static uint8_t fw[0x1800], img[0x3000], fdt[RV_FDT_TEST_SIZE];
	for (size_t i = 0; i < sizeof(fw); i++)
		fw[i] = (uint8_t)(i * 3 + 1);
	const char *p = put(f, "fw.bin", fw, sizeof(fw));

	rv_boot_init(&f->b, RV_BOOT_SBI, RV_RAM_BASE, RAM_SIZE);
	err_clear(&f->e);
	assert_int_equal(rv_load_firmware(&f->b, &f->mem, p, &f->e), -EINVAL);

	rv_boot_init(&f->b, RV_BOOT_FIRMWARE, RV_RAM_BASE, RAM_SIZE);
	assert_int_equal(rv_load_firmware(&f->b, &f->mem, p, &f->e), 0);
	assert_int_equal(f->b.entry, RV_RAM_BASE);
	assert_int_equal(f->b.priv, RV_PRIV_M);
	assert_int_equal(f->b.fw_end, RV_RAM_BASE + sizeof(fw));
	assert_memory_equal(ram(f, RV_RAM_BASE), fw, sizeof(fw));

	/* text_offset 0 still goes above the firmware, at +2 MiB */
	make_image(img, sizeof(img), 0, 0x300000, false);
	p = put(f, "Image", img, sizeof(img));
	assert_int_equal(rv_load_kernel(&f->b, &f->mem, p, &f->e), 0);
	assert_int_equal(f->b.kernel_entry, RV_RAM_BASE + 0x200000);
	assert_int_equal(f->b.entry, RV_RAM_BASE);       /* firmware first */
	assert_int_equal(f->b.priv, RV_PRIV_M);
	assert_memory_equal(ram(f, RV_RAM_BASE + 0x200000), img, sizeof(img));

	assert_int_equal(rv_boot_reserve_fdt(&f->b, sizeof(fdt), &f->e), 0);
	assert_true(f->b.fw_info_addr != 0);
	assert_true(f->b.fw_info_addr + 48 <= f->b.fdt_addr);
	make_fdt(fdt, sizeof(fdt));
	assert_int_equal(rv_boot_finish(&f->b, &f->mem, fdt, &f->e), 0);
	uint64_t info[6];
	assert_int_equal(gpa_read(&f->mem, f->b.fw_info_addr, info,
				  sizeof(info)), 0);
	assert_int_equal(info[0], 0x4942534f);
	assert_int_equal(info[1], 2);
	assert_int_equal(info[2], RV_RAM_BASE + 0x200000);
	assert_int_equal(info[3], 1);
	assert_int_equal(info[4], 0);
	assert_int_equal(info[5], 0);

	/* an ELF kernel on top of the firmware */
	static uint8_t elf[ELF_SIZE];
	struct elf_spec s = bare_elf();
	s.paddr = RV_RAM_BASE + 0x1000;
	p = put(f, "overlap.elf", elf, make_elf(elf, &s));
	err_clear(&f->e);
	assert_int_equal(rv_load_kernel(&f->b, &f->mem, p, &f->e), -EINVAL);
	assert_non_null(strstr(f->e.msg, "overlaps the firmware"));

	/* firmware files that cannot be used */
	rv_boot_init(&f->b, RV_BOOT_FIRMWARE, RV_RAM_BASE, RAM_SIZE);
	p = put(f, "fw.empty", "", 0);
	err_clear(&f->e);
	assert_int_equal(rv_load_firmware(&f->b, &f->mem, p, &f->e), -EINVAL);
	p = put_sparse(f, "fw.huge", RAM_SIZE + 1);
	err_clear(&f->e);
	assert_int_equal(rv_load_firmware(&f->b, &f->mem, p, &f->e), -EFBIG);
	assert_non_null(strstr(f->e.msg, "firmware"));
	s = bare_elf();
	s.paddr = 0x1000;
	p = put(f, "fw.elf", elf, make_elf(elf, &s));
	err_clear(&f->e);
	assert_int_equal(rv_load_firmware(&f->b, &f->mem, p, &f->e), -EINVAL);
	assert_non_null(strstr(f->e.msg, "outside RAM"));
	snprintf(f->path, sizeof(f->path), "%s/nofw", f->dir);
	err_clear(&f->e);
	assert_int_equal(rv_load_firmware(&f->b, &f->mem, f->path, &f->e),
			 -ENOENT);
	assert_non_null(strstr(f->e.msg, "cannot open firmware"));

	/* firmware alone: next_addr defaults to RAM base + 2 MiB */
	p = put(f, "fw.bin", fw, sizeof(fw));
	rv_boot_init(&f->b, RV_BOOT_FIRMWARE, RV_RAM_BASE, RAM_SIZE);
	assert_int_equal(rv_load_firmware(&f->b, &f->mem, p, &f->e), 0);
	assert_int_equal(rv_boot_reserve_fdt(&f->b, sizeof(fdt), &f->e), 0);
	assert_int_equal(rv_boot_finish(&f->b, &f->mem, fdt, &f->e), 0);
	assert_int_equal(gpa_read(&f->mem, f->b.fw_info_addr, info,
				  sizeof(info)), 0);
	assert_int_equal(info[2], RV_RAM_BASE + 0x200000);
}

static void test_opensbi(void **state)
{
	struct fixture *f = *state;
	if (access(OPENSBI, R_OK) != 0)
		skip();
	rv_boot_init(&f->b, RV_BOOT_FIRMWARE, RV_RAM_BASE, RAM_SIZE);
	assert_int_equal(rv_load_firmware(&f->b, &f->mem, OPENSBI, &f->e), 0);
	assert_int_equal(f->b.entry, RV_RAM_BASE);
	assert_int_equal(f->b.fw_start, RV_RAM_BASE);
	assert_true(f->b.fw_end > RV_RAM_BASE);
	assert_true(f->b.fw_end <= RV_RAM_BASE + 0x200000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_image, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gzip_image, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_elf_htif, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_kernels, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_initrd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finish_sbi, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_firmware, setup, teardown),
		cmocka_unit_test_setup_teardown(test_opensbi, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
