/* The KVM sandbox's vDSO: a minimal ELF shared object at KX_VDSO, named
 * by AT_SYSINFO_EHDR, exporting __vdso_clock_gettime, __vdso_gettimeofday
 * and __vdso_time as the kernel's linux-vdso.so.1 does on x86-64.  libc
 * finds them by name (its versioned lookup accepts an object without
 * version tables) and calls them instead of `syscall`, which on kvm_pvm
 * costs ~7 µs even when the entry page answers it.  The functions
 * (kvm_shim.c) read the time page one page below the image.
 *
 * Layout (one page, linked at 0 like the kernel's, so libc adds the load
 * address to every value): ELF header, PT_LOAD + PT_DYNAMIC, .dynamic,
 * .dynsym, .dynstr, a one-bucket DT_HASH, then the text at 0x400. */
#include "kvm_int.h"

#include <elf.h>
#include <string.h>

#define V_DYN   0x100
#define V_SYM   0x180
#define V_STR   0x200
#define V_HASH  0x280
#define V_TEXT  0x400

uint64_t kx_vdso_build(struct kx *k)
{
	uint8_t *v = k->mem + k->sys + KX_VDSO;
	size_t text = (size_t)(kx_vdso_text_end - kx_vdso_text_start);
	_Static_assert(V_TEXT < KX_PAGE, "vDSO layout");
	if (V_TEXT + text > KX_PAGE)
		return 0;
	memset(v, 0, KX_PAGE);
	static const char str[] = "\0linux-vdso.so.1\0__vdso_clock_gettime\0"
				  "__vdso_gettimeofday\0__vdso_time";
	memcpy(v + V_STR, str, sizeof(str));
	const struct { const char *name; const uint8_t *fn; } fns[] = {
		{ "__vdso_clock_gettime", kx_vdso_clock_gettime },
		{ "__vdso_gettimeofday", kx_vdso_gettimeofday },
		{ "__vdso_time", kx_vdso_time },
	};
	enum { NSYM = 4 };    /* the null symbol and the three */
	Elf64_Sym *sym = (Elf64_Sym *)(v + V_SYM);
	for (unsigned i = 0; i < NSYM - 1; i++) {
		const char *at = memmem(str, sizeof(str), fns[i].name,
					strlen(fns[i].name) + 1);
		sym[i + 1] = (Elf64_Sym){
			.st_name = (uint32_t)(at - str),
			.st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC),
			.st_shndx = 1,                 /* defined */
			.st_value = V_TEXT + (uint64_t)(fns[i].fn - kx_vdso_text_start),
		};
	}
	/* One bucket: every name hashes there; the chain lists them all. */
	uint32_t hash[2 + 1 + NSYM] = { 1, NSYM, NSYM - 1, 0, 0, 1, 2 };
	memcpy(v + V_HASH, hash, sizeof(hash));
	const Elf64_Dyn dyn[] = {
		{ DT_SONAME, { 1 } }, { DT_HASH, { V_HASH } },
		{ DT_STRTAB, { V_STR } }, { DT_SYMTAB, { V_SYM } },
		{ DT_STRSZ, { sizeof(str) } }, { DT_SYMENT, { sizeof(Elf64_Sym) } },
		{ DT_NULL, { 0 } },
	};
	_Static_assert(sizeof(dyn) <= V_SYM - V_DYN, "vDSO .dynamic");
	memcpy(v + V_DYN, dyn, sizeof(dyn));
	memcpy(v + V_TEXT, kx_vdso_text_start, text);

	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64,
			     ELFDATA2LSB, EV_CURRENT, ELFOSABI_SYSV },
		.e_type = ET_DYN, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
		.e_phoff = sizeof(Elf64_Ehdr), .e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 2,
	};
	memcpy(v, &eh, sizeof(eh));
	const Elf64_Phdr ph[2] = {
		{ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 0,
		  .p_vaddr = 0, .p_paddr = 0, .p_filesz = KX_PAGE,
		  .p_memsz = KX_PAGE, .p_align = KX_PAGE },
		{ .p_type = PT_DYNAMIC, .p_flags = PF_R, .p_offset = V_DYN,
		  .p_vaddr = V_DYN, .p_paddr = V_DYN, .p_filesz = sizeof(dyn),
		  .p_memsz = sizeof(dyn), .p_align = 8 },
	};
	memcpy(v + sizeof(eh), ph, sizeof(ph));
	return k->sys + KX_VDSO;
}
