#include "loader.h"

#include <elf.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libfdt.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/file.h"
#include "engine/rv64/hart.h"

/* Headers and symbol tables are read as host structs. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "loader assumes a little-endian host");

#define PAGE 4096ULL
#define MiB(x) ((unsigned long long)((x) >> 20))

static uint64_t align_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }

static uint64_t ram_end(const struct rv_boot *b)
{
	return b->ram_base + b->ram_size;
}

/* ---- files ---- */

struct blob {
	uint8_t *data;
	size_t len;
};

static void blob_free(struct blob *f)
{
	free(f->data);
	*f = (struct blob){ 0 };
}

static int open_file(const char *what, const char *path, uint64_t *size,
		     struct err *errp)
{
	int fd;
	struct stat st;
	int rc = file_open_checked(what, path, O_RDONLY, false, &fd, &st,
				   errp);
	if (rc < 0)
		return rc;
	*size = (uint64_t)st.st_size;
	return fd;
}

/* Read exactly len bytes at offset 0; a file that shrinks is an error. */
static int read_all(int fd, void *dst, uint64_t len, const char *what,
		    const char *path, struct err *errp)
{
	uint64_t done = 0;
	while (done < len) {
		size_t chunk = len - done > (1U << 30) ? 1U << 30
						       : (size_t)(len - done);
		ssize_t n = pread(fd, (uint8_t *)dst + done, chunk,
				  (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(errp, errno, "cannot read %s `%s`",
				       what, path);
		if (n == 0)
			return err_set(errp, EIO, "%s `%s` was truncated "
				       "while reading", what, path);
		done += (uint64_t)n;
	}
	return 0;
}

static int read_file(const char *what, const char *path, uint64_t cap,
		     struct blob *out, struct err *errp)
{
	uint64_t size;
	int fd = open_file(what, path, &size, errp);
	if (fd < 0)
		return fd;
	if (size > cap || size > SIZE_MAX - 1) {
		close(fd);
		return err_set(errp, EFBIG, "%s `%s` is too large (%llu MiB; "
			       "guest RAM is %llu MiB)", what, path,
			       MiB(size), MiB(cap));
	}
	/* +1 so that an empty file still gets a real allocation. */
	uint8_t *p = malloc(size + 1);
	if (!p) {
		close(fd);
		return err_set(errp, ENOMEM, "out of memory reading %s `%s`",
			       what, path);
	}
	int rc = read_all(fd, p, size, what, path, errp);
	close(fd);
	if (rc) {
		free(p);
		return rc;
	}
	*out = (struct blob){ p, size };
	return 0;
}

/* ---- gzip ---- */

static bool is_gzip(const struct blob *f)
{
	return f->len >= 2 && f->data[0] == 0x1f && f->data[1] == 0x8b;
}

/* Inflate a gzip member into a new buffer of at most cap bytes. */
static int gunzip(const struct blob *in, uint64_t cap, struct blob *out,
		  const char *path, struct err *errp)
{
	/* ISIZE (the last 4 bytes) is the size mod 2^32: only a hint. */
	uint64_t want = 16ULL << 20;
	if (in->len >= 18) {
		uint32_t isize;
		memcpy(&isize, in->data + in->len - 4, 4);
		if (isize > want)
			want = isize;
	}
	if (want > cap)
		want = cap;

	z_stream zs = { 0 };
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return err_set(errp, ENOMEM, "`%s`: cannot start zlib", path);
	uint8_t *buf = malloc(want);
	if (!buf) {
		inflateEnd(&zs);
		return err_set(errp, ENOMEM, "out of memory decompressing "
			       "`%s`", path);
	}
	uint64_t size = want, have = 0;
	const uint8_t *src = in->data;
	uint64_t left = in->len;
	int zr = Z_OK, rc = 0;

	while (zr != Z_STREAM_END) {
		if (have == size) {
			if (size >= cap) {
				rc = err_set(errp, EFBIG, "`%s`: decompressed "
					     "kernel is larger than %llu MiB",
					     path, MiB(cap));
				break;
			}
			uint64_t n = size * 2 > cap ? cap : size * 2;
			uint8_t *nb = realloc(buf, n);
			if (!nb) {
				rc = err_set(errp, ENOMEM, "out of memory "
					     "decompressing `%s`", path);
				break;
			}
			buf = nb;
			size = n;
		}
		uInt in_chunk = left > UINT32_MAX ? UINT32_MAX : (uInt)left;
		uInt out_chunk = size - have > UINT32_MAX ? UINT32_MAX
				 : (uInt)(size - have);
		zs.next_in = (Bytef *)src;
		zs.avail_in = in_chunk;
		zs.next_out = buf + have;
		zs.avail_out = out_chunk;
		zr = inflate(&zs, Z_NO_FLUSH);
		src += in_chunk - zs.avail_in;
		left -= in_chunk - zs.avail_in;
		have += out_chunk - zs.avail_out;
		if (zr == Z_STREAM_END)
			break;
		if (zr == Z_BUF_ERROR && left == 0) {
			rc = err_set(errp, EINVAL, "`%s`: gzip data is "
				     "truncated", path);
			break;
		}
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			rc = err_set(errp, EINVAL, "`%s`: corrupt gzip data "
				     "(%s)", path, zs.msg ? zs.msg : "zlib");
			break;
		}
	}
	inflateEnd(&zs);
	if (rc) {
		free(buf);
		return rc;
	}
	*out = (struct blob){ buf, have };
	return 0;
}

/* ---- ELF ---- */

static bool is_elf(const struct blob *f)
{
	return f->len >= SELFMAG && !memcmp(f->data, ELFMAG, SELFMAG);
}

struct elf_info {
	uint64_t start, end, entry;
	uint64_t tohost, fromhost;
};

static int load_error(const char *path, struct err *errp, const char *why)
{
	return err_set(errp, EINVAL, "`%s`: %s", path, why);
}

static int elf_check_header(const struct blob *f, Elf64_Ehdr *eh,
			    const char *path, struct err *errp)
{
	if (f->len < sizeof(*eh))
		return load_error(path, errp, "truncated ELF header");
	memcpy(eh, f->data, sizeof(*eh));
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return load_error(path, errp, "not a 64-bit ELF file");
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return load_error(path, errp, "not a little-endian ELF file");
	if (eh->e_machine != EM_RISCV)
		return err_set(errp, EINVAL, "`%s`: ELF file for machine %u, "
			       "not RISC-V", path, eh->e_machine);
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return load_error(path, errp, "ELF file is not an executable");
	if (eh->e_phnum == 0)
		return load_error(path, errp, "ELF file has no program headers");
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > f->len ||
	    (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > f->len - eh->e_phoff)
		return load_error(path, errp, "truncated or corrupt ELF "
				  "program headers");
	return 0;
}

static Elf64_Phdr elf_phdr(const struct blob *f, const Elf64_Ehdr *eh,
			   unsigned i)
{
	Elf64_Phdr ph;
	memcpy(&ph, f->data + eh->e_phoff + (uint64_t)i * sizeof(ph),
	       sizeof(ph));
	return ph;
}

/* Look tohost/fromhost up in SHT_SYMTAB.  The section table is optional
 * metadata: anything inconsistent in it is skipped, never trusted. */
static void elf_symbols(const struct blob *f, const Elf64_Ehdr *eh,
			struct elf_info *info)
{
	if (eh->e_shoff == 0 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    eh->e_shoff > f->len ||
	    (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > f->len - eh->e_shoff)
		return;
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		Elf64_Shdr sh, str;
		memcpy(&sh, f->data + eh->e_shoff + i * sizeof(sh),
		       sizeof(sh));
		if (sh.sh_type != SHT_SYMTAB ||
		    sh.sh_entsize != sizeof(Elf64_Sym) ||
		    sh.sh_offset > f->len || sh.sh_size > f->len - sh.sh_offset ||
		    sh.sh_link >= eh->e_shnum)
			continue;
		memcpy(&str, f->data + eh->e_shoff +
		       sh.sh_link * sizeof(str), sizeof(str));
		if (str.sh_offset > f->len || str.sh_size > f->len -
		    str.sh_offset)
			continue;
		const char *strtab = (const char *)f->data + str.sh_offset;
		for (uint64_t j = 0; j < sh.sh_size / sizeof(Elf64_Sym); j++) {
			Elf64_Sym sym;
			memcpy(&sym, f->data + sh.sh_offset +
			       j * sizeof(sym), sizeof(sym));
			if (sym.st_name >= str.sh_size)
				continue;
			const char *name = strtab + sym.st_name;
			size_t max = str.sh_size - sym.st_name;
			if (strnlen(name, max) == max)
				continue;
			if (!strcmp(name, "tohost"))
				info->tohost = sym.st_value;
			else if (!strcmp(name, "fromhost"))
				info->fromhost = sym.st_value;
		}
	}
}

/* Validate every segment before copying any, so a bad file leaves RAM
 * untouched. */
static int load_elf(const struct blob *f, struct guest_mem *mem,
		    const struct rv_boot *b, struct elf_info *info,
		    const char *path, struct err *errp)
{
	Elf64_Ehdr eh;
	int rc = elf_check_header(f, &eh, path, errp);
	if (rc)
		return rc;

	*info = (struct elf_info){ .start = UINT64_MAX };
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph = elf_phdr(f, &eh, i);
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz || ph.p_offset > f->len ||
		    ph.p_filesz > f->len - ph.p_offset)
			return err_set(errp, EINVAL, "`%s`: segment %u is "
				       "truncated or corrupt", path, i);
		uint64_t end = ph.p_paddr + ph.p_memsz;
		if (end < ph.p_paddr || ph.p_paddr < b->ram_base ||
		    end > ram_end(b) || !gpa_ptr(mem, ph.p_paddr, ph.p_memsz))
			return err_set(errp, EINVAL, "`%s`: segment %u "
				       "(%#" PRIx64 "-%#" PRIx64 ") lies "
				       "outside RAM (%#" PRIx64 "-%#" PRIx64
				       ")", path, i, ph.p_paddr, end,
				       b->ram_base, ram_end(b));
		if (ph.p_paddr < info->start)
			info->start = ph.p_paddr;
		if (end > info->end)
			info->end = end;
	}
	if (info->start == UINT64_MAX)
		return load_error(path, errp, "ELF file has no loadable "
				  "segments");

	/* e_entry is virtual; vmlinux-style files link high and load low. */
	info->entry = eh.e_entry;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph = elf_phdr(f, &eh, i);
		if (ph.p_type == PT_LOAD && eh.e_entry >= ph.p_vaddr &&
		    eh.e_entry - ph.p_vaddr < ph.p_memsz) {
			info->entry = ph.p_paddr + (eh.e_entry - ph.p_vaddr);
			break;
		}
	}
	if (!gpa_ptr(mem, info->entry, 2))
		return err_set(errp, EINVAL, "`%s`: entry point %#" PRIx64
			       " is outside RAM", path, info->entry);

	elf_symbols(f, &eh, info);
	if (info->tohost && !gpa_ptr(mem, info->tohost, 8))
		return err_set(errp, EINVAL, "`%s`: tohost (%#" PRIx64 ") is "
			       "outside RAM", path, info->tohost);
	if (info->fromhost && !gpa_ptr(mem, info->fromhost, 8))
		return err_set(errp, EINVAL, "`%s`: fromhost (%#" PRIx64 ") "
			       "is outside RAM", path, info->fromhost);

	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph = elf_phdr(f, &eh, i);
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		uint8_t *dst = gpa_ptr(mem, ph.p_paddr, ph.p_memsz);
		memcpy(dst, f->data + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
	}
	return 0;
}

/* ---- Linux Image (Documentation/arch/riscv/boot-image-header.rst) ---- */

#define IMAGE_HDR_SIZE    64
#define IMAGE_TEXT_OFFSET 0x08
#define IMAGE_SIZE        0x10
#define IMAGE_MAGIC       0x30
#define IMAGE_MAGIC2      0x38

static bool is_image(const struct blob *f)
{
	return f->len >= IMAGE_HDR_SIZE &&
	       (!memcmp(f->data + IMAGE_MAGIC, "RISCV\0\0\0", 8) ||
		!memcmp(f->data + IMAGE_MAGIC2, "RSC\x05", 4));
}

static uint64_t le64_at(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static int load_image(const struct blob *f, struct guest_mem *mem,
		      const struct rv_boot *b, struct elf_info *info,
		      const char *path, struct err *errp)
{
	uint64_t text_offset = le64_at(f->data + IMAGE_TEXT_OFFSET);
	uint64_t image_size = le64_at(f->data + IMAGE_SIZE);
	/* A firmware owns the first 2 MiB; the kernel is relocatable to any
	 * 2 MiB boundary, which is what fw_jump/fw_dynamic assume. */
	if (b->fw_end && text_offset < RV_BOOT_KERNEL_OFFSET)
		text_offset = RV_BOOT_KERNEL_OFFSET;
	/* image_size covers bss; 0 in headers older than version 0.2. */
	uint64_t span = image_size > f->len ? image_size : f->len;

	if (text_offset % PAGE)
		return err_set(errp, EINVAL, "`%s`: text_offset %#" PRIx64
			       " in the Image header is not page-aligned",
			       path, text_offset);
	if (text_offset >= b->ram_size || span > b->ram_size - text_offset)
		return err_set(errp, EFBIG, "kernel `%s` (%llu MiB at offset "
			       "%#" PRIx64 ") does not fit in %llu MiB of RAM",
			       path, MiB(span), text_offset, MiB(b->ram_size));
	uint64_t addr = b->ram_base + text_offset;
	uint8_t *dst = gpa_ptr(mem, addr, span);
	if (!dst)
		return err_set(errp, EFBIG, "kernel `%s` does not fit in RAM",
			       path);
	memcpy(dst, f->data, f->len);
	memset(dst + f->len, 0, span - f->len);
	*info = (struct elf_info){ addr, addr + span, addr, 0, 0 };
	return 0;
}

/* ---- public ---- */

void rv_boot_init(struct rv_boot *b, enum rv_boot_mode mode,
		  uint64_t ram_base, uint64_t ram_size)
{
	*b = (struct rv_boot){ .mode = mode, .ram_base = ram_base,
			       .ram_size = ram_size, .priv = RV_PRIV_M };
}

static void set_htif(struct rv_boot *b, const struct elf_info *info)
{
	if (info->tohost)
		b->tohost = info->tohost;
	if (info->fromhost)
		b->fromhost = info->fromhost;
}

int rv_load_firmware(struct rv_boot *b, struct guest_mem *mem,
		     const char *path, struct err *errp)
{
	if (b->mode != RV_BOOT_FIRMWARE)
		return err_set(errp, EINVAL, "firmware `%s` given in a boot "
			       "mode without firmware", path);
	struct blob f;
	int rc = read_file("firmware", path, b->ram_size, &f, errp);
	if (rc)
		return rc;
	rc = rv_load_firmware_buf(b, mem, f.data, f.len, path, errp);
	blob_free(&f);
	return rc;
}

int rv_load_firmware_buf(struct rv_boot *b, struct guest_mem *mem,
			 const void *data, size_t len, const char *path,
			 struct err *errp)
{
	if (b->mode != RV_BOOT_FIRMWARE)
		return err_set(errp, EINVAL, "firmware `%s` given in a boot "
			       "mode without firmware", path);
	/* Borrowed: never freed here. */
	const struct blob f = { (uint8_t *)data, len };
	int rc;
	struct elf_info info;
	if (is_elf(&f)) {
		rc = load_elf(&f, mem, b, &info, path, errp);
	} else if (f.len == 0) {
		rc = err_set(errp, EINVAL, "firmware `%s` is empty", path);
	} else {
		rc = gpa_write(mem, b->ram_base, f.data, f.len);
		if (rc)
			rc = err_set(errp, EFBIG, "firmware `%s` does not fit "
				     "in RAM", path);
		info = (struct elf_info){ b->ram_base, b->ram_base + f.len,
					  b->ram_base, 0, 0 };
	}
	if (rc)
		return rc;
	b->fw_start = info.start;
	b->fw_end = info.end;
	b->entry = info.entry;
	b->priv = RV_PRIV_M;
	set_htif(b, &info);
	return 0;
}

int rv_load_kernel(struct rv_boot *b, struct guest_mem *mem,
		   const char *path, struct err *errp)
{
	struct blob f;
	int rc = read_file("kernel", path, b->ram_size, &f, errp);
	if (rc)
		return rc;
	rc = rv_load_kernel_buf(b, mem, f.data, f.len, path, errp);
	blob_free(&f);
	return rc;
}

int rv_load_kernel_buf(struct rv_boot *b, struct guest_mem *mem,
		       const void *data, size_t len, const char *path,
		       struct err *errp)
{
	/* f is borrowed; raw, the inflated copy, is ours. */
	struct blob f = { (uint8_t *)data, len }, raw = { 0 };
	int rc;
	if (is_gzip(&f)) {
		uint64_t cap = b->ram_size < RV_BOOT_GUNZIP_MAX ?
			       b->ram_size : RV_BOOT_GUNZIP_MAX;
		rc = gunzip(&f, cap, &raw, path, errp);
		if (rc)
			return rc;
		f = raw;
	}

	struct elf_info info;
	if (is_image(&f))
		rc = load_image(&f, mem, b, &info, path, errp);
	else if (is_elf(&f))
		rc = load_elf(&f, mem, b, &info, path, errp);
	else
		rc = err_set(errp, EINVAL, "`%s` is not a RISC-V kernel image "
			     "(expected a Linux Image, a gzip-compressed "
			     "Image or an ELF)", path);
	blob_free(&raw);
	if (rc)
		return rc;

	if (b->fw_end && info.start < b->fw_end && b->fw_start < info.end)
		return err_set(errp, EINVAL, "kernel `%s` (%#" PRIx64 "-%#"
			       PRIx64 ") overlaps the firmware (%#" PRIx64
			       "-%#" PRIx64 ")", path, info.start, info.end,
			       b->fw_start, b->fw_end);
	b->kernel_start = info.start;
	b->kernel_end = info.end;
	b->kernel_entry = info.entry;
	set_htif(b, &info);
	if (b->mode != RV_BOOT_FIRMWARE) {
		b->entry = info.entry;
		b->priv = b->mode == RV_BOOT_SBI ? RV_PRIV_S : RV_PRIV_M;
	}
	return 0;
}

/* Lowest address that later items (initrd, FDT) may use. */
static uint64_t low_water(const struct rv_boot *b)
{
	uint64_t lo = b->ram_base;
	if (b->fw_end > lo)
		lo = b->fw_end;
	if (b->kernel_end > lo)
		lo = b->kernel_end;
	return lo;
}

int rv_boot_reserve_fdt(struct rv_boot *b, uint64_t fdt_size,
			struct err *errp)
{
	uint64_t need = fdt_size + RV_BOOT_FDT_SLACK +
			(b->mode == RV_BOOT_FIRMWARE ? PAGE : 0) + PAGE;
	uint64_t lo = low_water(b);
	if (fdt_size == 0 || fdt_size > b->ram_size ||
	    need > ram_end(b) - lo)
		return err_set(errp, EFBIG, "no room for the device tree "
			       "(%llu KiB) above the kernel in %llu MiB of RAM",
			       (unsigned long long)(fdt_size >> 10),
			       MiB(b->ram_size));
	b->fdt_addr = align_down(ram_end(b) - RV_BOOT_FDT_SLACK - fdt_size,
				 PAGE);
	b->fdt_size = fdt_size;
	if (b->mode == RV_BOOT_FIRMWARE)
		b->fw_info_addr = b->fdt_addr - PAGE;
	return 0;
}

int rv_load_initrd(struct rv_boot *b, struct guest_mem *mem,
		   const char *path, struct err *errp)
{
	if (!b->fdt_addr)
		return err_set(errp, EINVAL, "initrd `%s`: device tree not "
			       "placed yet", path);
	uint64_t top = b->fw_info_addr ? b->fw_info_addr : b->fdt_addr;
	uint64_t lo = low_water(b);
	uint64_t size;
	int fd = open_file("initrd", path, &size, errp);
	if (fd < 0)
		return fd;
	int rc = 0;
	uint64_t start = 0;
	if (size == 0) {
		rc = err_set(errp, EINVAL, "initrd `%s` is empty", path);
	} else if (size > top - lo ||
		   (start = align_down(top - size, PAGE)) < lo) {
		rc = err_set(errp, EFBIG, "initrd `%s` (%llu MiB) does not fit "
			     "in RAM: %llu MiB free between the kernel and the "
			     "device tree", path, MiB(size + PAGE - 1),
			     MiB(top - lo));
	} else {
		void *dst = gpa_ptr(mem, start, size);
		if (!dst)
			rc = err_set(errp, EFBIG, "initrd `%s` does not fit in "
				     "RAM", path);
		else
			rc = read_all(fd, dst, size, "initrd", path, errp);
	}
	close(fd);
	if (rc)
		return rc;
	b->initrd_start = start;
	b->initrd_end = start + size;
	return 0;
}

int rv_boot_finish(struct rv_boot *b, struct guest_mem *mem,
		   const void *fdt, struct err *errp)
{
	if (!b->kernel_end && !b->fw_end)
		return err_set(errp, EINVAL, "nothing to boot: no kernel and "
			       "no firmware");
	if (!b->fdt_addr)
		return err_set(errp, EINVAL, "device tree not placed");
	if (fdt_check_header(fdt) != 0 || fdt_totalsize(fdt) > b->fdt_size)
		return err_set(errp, EINVAL, "device tree blob is corrupt or "
			       "larger than the %" PRIu64 " bytes reserved",
			       b->fdt_size);
	if (gpa_write(mem, b->fdt_addr, fdt, fdt_totalsize(fdt)))
		return err_set(errp, EFAULT, "device tree outside RAM");

	if (b->mode == RV_BOOT_FIRMWARE) {
		uint64_t info[6] = {
			RV_FW_DYNAMIC_MAGIC,
			RV_FW_DYNAMIC_VERSION,
			b->kernel_end ? b->kernel_entry
				      : b->ram_base + RV_BOOT_KERNEL_OFFSET,
			RV_FW_DYNAMIC_NEXT_S,
			0,   /* options */
			0,   /* boot_hart: hart 0 boots, the others wait */
		};
		if (gpa_write(mem, b->fw_info_addr, info, sizeof(info)))
			return err_set(errp, EFAULT, "fw_dynamic_info outside "
				       "RAM");
	}
	return 0;
}
