/* ELF64 program headers of a riscv64 executable (System V gABI, "ELF
 * Header" and "Program Header"; RISC-V ELF psABI: EM_RISCV = 243).  The
 * file is untrusted: every offset and size is checked before use, and
 * only what the loader needs is kept. */
#include "exec_int.h"

#include <elf.h>
#include <errno.h>
#include <string.h>

#ifndef EM_RISCV
#define EM_RISCV 243
#endif

static int prot_of(uint32_t f)
{
	return ((f & PF_R) ? EXEC_PROT_R : 0) | ((f & PF_W) ? EXEC_PROT_W : 0) |
	       ((f & PF_X) ? EXEC_PROT_X : 0);
}

int exec_elf_parse(const uint8_t *buf, size_t len, struct exec_elf *out,
		   struct err *errp)
{
	return exec_elf_parse_machine(buf, len, EM_RISCV, out, errp);
}

int exec_elf_parse_machine(const uint8_t *buf, size_t len, unsigned machine,
			   struct exec_elf *out, struct err *errp)
{
	Elf64_Ehdr eh;
	memset(out, 0, sizeof(*out));
	if (len < sizeof(eh))
		return err_set(errp, ENOEXEC, "too short for an ELF header");
	memcpy(&eh, buf, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG))
		return err_set(errp, ENOEXEC, "not an ELF file");
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != machine)
		return err_set(errp, ENOEXEC, "not a %s (ELF64 LE) program",
			       machine == EM_RISCV ? "riscv64" : "x86-64");
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
		return err_set(errp, ENOEXEC, "ELF type %u is not executable",
			       eh.e_type);
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
	    eh.e_phnum > EXEC_MAX_PHDRS)
		return err_set(errp, ENOEXEC, "bad program header table "
			       "(entry size %u, %u entries)", eh.e_phentsize,
			       eh.e_phnum);
	if (eh.e_phoff > len ||
	    (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff)
		return err_set(errp, ENOEXEC, "program headers outside the file");
	out->dyn = eh.e_type == ET_DYN;
	out->entry = eh.e_entry;
	out->phoff = eh.e_phoff;
	out->phnum = eh.e_phnum;
	out->lo = UINT64_MAX;

	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, buf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_INTERP) {
			if (out->interp[0])
				return err_set(errp, ENOEXEC, "two PT_INTERP");
			if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset ||
			    ph.p_filesz < 2 || ph.p_filesz > sizeof(out->interp))
				return err_set(errp, ENOEXEC, "bad PT_INTERP");
			const char *s = (const char *)buf + ph.p_offset;
			if (s[ph.p_filesz - 1] || strlen(s) != ph.p_filesz - 1)
				return err_set(errp, ENOEXEC,
					       "PT_INTERP not a string");
			memcpy(out->interp, s, ph.p_filesz);
			continue;
		}
		if (ph.p_type == PT_PHDR) {
			out->phdr_vaddr = ph.p_vaddr;
			continue;
		}
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz || ph.p_offset > len ||
		    ph.p_filesz > len - ph.p_offset)
			return err_set(errp, ENOEXEC, "PT_LOAD %u outside the "
				       "file", i);
		if ((ph.p_offset & EXEC_PAGE_MASK) != (ph.p_vaddr & EXEC_PAGE_MASK))
			return err_set(errp, ENOEXEC, "PT_LOAD %u: offset and "
				       "address differ modulo the page size", i);
		if (ph.p_vaddr >= EXEC_USER_TOP ||
		    ph.p_memsz > EXEC_USER_TOP - ph.p_vaddr)
			return err_set(errp, ENOEXEC, "PT_LOAD %u outside the "
				       "user address space", i);
		struct exec_seg *s = &out->seg[out->nseg++];
		s->vaddr = ph.p_vaddr;
		s->memsz = ph.p_memsz;
		s->off = ph.p_offset;
		s->filesz = ph.p_filesz;
		s->prot = prot_of(ph.p_flags);
		uint64_t lo = ph.p_vaddr & ~EXEC_PAGE_MASK;
		uint64_t hi = (ph.p_vaddr + ph.p_memsz + EXEC_PAGE_MASK) &
			      ~EXEC_PAGE_MASK;
		if (lo < out->lo)
			out->lo = lo;
		if (hi > out->hi)
			out->hi = hi;
		/* The headers are visible to the program (AT_PHDR) when a
		 * segment maps them. */
		if (!out->phdr_vaddr && eh.e_phoff >= ph.p_offset &&
		    eh.e_phoff - ph.p_offset < ph.p_filesz)
			out->phdr_vaddr = ph.p_vaddr + (eh.e_phoff - ph.p_offset);
	}
	if (!out->nseg)
		return err_set(errp, ENOEXEC, "no PT_LOAD segment");
	if (!out->dyn && out->lo < EXEC_PAGE)
		return err_set(errp, ENOEXEC, "segment at page 0");
	return 0;
}
