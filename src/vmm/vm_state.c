/* Machine state save/load (vm.h).
 *
 * The stream starts with the "machine" section, the VM's shape: what a
 * loader compares with the VM it loads into before it changes anything,
 * and what vm_config_from_state builds a fitting VM from.  The board's
 * sections follow (board/virt/persist.c).  Sections this ringvm does not
 * know are ignored: a snapshot or migration stream may carry its own. */
#include "vm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board/virt/virt.h"
#include "core/state.h"
#include "vmm/vm_int.h"

/* 2: the power button (a bool after the rng's); a version-1 machine has
 * none. */
#define MACHINE_VERSION 2
/* The layout of the whole stream (which sections, in which meaning);
 * a loader refuses another. */
#define STATE_FORMAT 1
#define STR_MAX 4096   /* bytes of a string field, NUL included */
#define SHORT_MAX 32

/* The "machine" section, parsed. */
struct machine {
	uint32_t format;
	char arch[SHORT_MAX], board[SHORT_MAX], engine[SHORT_MAX];
	char bios[STR_MAX], kernel[STR_MAX], initrd[STR_MAX];
	char cmdline[STR_MAX];
	bool has_bios, has_kernel, has_initrd, has_cmdline;
	bool no_reboot;
	struct virt_shape shape;
	char disk_path[VM_MAX_DISKS][STR_MAX];
	char disk_format[VM_MAX_DISKS][SHORT_MAX];
	char nic_spec[VM_MAX_NICS][STR_MAX];
};

static void put_str(struct state_writer *w, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n >= STR_MAX)
		n = STR_MAX - 1;
	state_put_u32(w, (uint32_t)n);
	state_put_bytes(w, s, n);
}

/* A string with presence flag: absent (NULL) is length 0xffffffff. */
static void put_opt(struct state_writer *w, const char *s)
{
	if (!s)
		state_put_u32(w, UINT32_MAX);
	else
		put_str(w, s);
}

/* Read a string into buf[size]; no NUL inside.  *present (when
 * non-NULL) reports whether it was absent-encoded.  Returns false when
 * the field is bad (the reader is then marked bad or an error is due). */
static bool get_str(struct state_reader *r, char *buf, size_t size,
		    bool *present)
{
	uint32_t n = state_get_u32(r);
	buf[0] = '\0';
	if (present)
		*present = n != UINT32_MAX;
	if (present && n == UINT32_MAX)
		return true;
	if (n >= size || n > r->left) {
		r->bad = true;
		return false;
	}
	state_get_bytes(r, buf, n);
	buf[n] = '\0';
	return strlen(buf) == n;
}

static void save_machine(struct vm *vm, struct state_writer *w)
{
	const struct vm_config *cfg = vm_cfg(vm);
	struct virt_board *b = vm_board(vm);
	struct virt_shape s;
	virt_shape(b, &s);
	state_begin(w, "machine", MACHINE_VERSION);
	state_put_u32(w, STATE_FORMAT);
	put_str(w, cfg->arch ? cfg->arch : "riscv64");
	put_str(w, "virt");
	put_str(w, virt_engine(b)->name);
	state_put_u32(w, s.cpus);
	state_put_u32(w, s.nram);
	for (unsigned i = 0; i < s.nram; i++) {
		state_put_u64(w, s.ram[i].gpa);
		state_put_u64(w, s.ram[i].size);
	}
	state_put_u32(w, (uint32_t)s.boot_mode);
	put_opt(w, cfg->bios);
	put_opt(w, cfg->kernel);
	put_opt(w, cfg->initrd);
	put_opt(w, cfg->cmdline);
	state_put_bool(w, cfg->no_reboot);
	state_put_u32(w, s.ndisks);
	for (unsigned i = 0; i < s.ndisks; i++) {
		put_str(w, cfg->disks[i].path);
		put_str(w, s.disk[i].format);
		state_put_bool(w, s.disk[i].read_only);
		state_put_u64(w, s.disk[i].size);
	}
	state_put_u32(w, s.nnics);
	for (unsigned i = 0; i < s.nnics; i++) {
		put_str(w, cfg->nics[i].spec);
		state_put_bytes(w, s.mac[i], 6);
	}
	state_put_bool(w, s.rng);
	state_put_bool(w, s.power_button);
	state_end(w);
}

static int parse_machine(struct state_reader *r, struct machine *m,
			 struct err *errp)
{
	uint32_t version;
	int rc = state_open(r, "machine", MACHINE_VERSION, &version, errp);
	if (rc < 0)
		return rc == -ENOENT ? -EINVAL : rc;
	memset(m, 0, sizeof(*m));
	struct virt_shape *s = &m->shape;
	bool ok = true;
	m->format = state_get_u32(r);
	ok &= get_str(r, m->arch, sizeof(m->arch), NULL);
	ok &= get_str(r, m->board, sizeof(m->board), NULL);
	ok &= get_str(r, m->engine, sizeof(m->engine), NULL);
	s->cpus = state_get_u32(r);
	uint32_t nram = state_get_u32(r);
	if (nram > GUEST_MEM_MAX_REGIONS)
		return state_invalid(r, errp, "%u RAM regions", nram);
	s->nram = nram;
	for (unsigned i = 0; i < nram; i++) {
		s->ram[i].gpa = state_get_u64(r);
		s->ram[i].size = state_get_u64(r);
	}
	s->boot_mode = (int)state_get_u32(r);
	ok &= get_str(r, m->bios, sizeof(m->bios), &m->has_bios);
	ok &= get_str(r, m->kernel, sizeof(m->kernel), &m->has_kernel);
	ok &= get_str(r, m->initrd, sizeof(m->initrd), &m->has_initrd);
	ok &= get_str(r, m->cmdline, sizeof(m->cmdline), &m->has_cmdline);
	m->no_reboot = state_get_bool(r);
	uint32_t nd = state_get_u32(r);
	if (nd > VM_MAX_DISKS)
		return state_invalid(r, errp, "%u disks", nd);
	s->ndisks = nd;
	for (unsigned i = 0; i < nd; i++) {
		ok &= get_str(r, m->disk_path[i], STR_MAX, NULL);
		ok &= get_str(r, m->disk_format[i], SHORT_MAX, NULL);
		s->disk[i].format = m->disk_format[i];
		s->disk[i].read_only = state_get_bool(r);
		s->disk[i].size = state_get_u64(r);
	}
	uint32_t nn = state_get_u32(r);
	if (nn > VM_MAX_NICS)
		return state_invalid(r, errp, "%u NICs", nn);
	s->nnics = nn;
	for (unsigned i = 0; i < nn; i++) {
		ok &= get_str(r, m->nic_spec[i], STR_MAX, NULL);
		state_get_bytes(r, s->mac[i], 6);
	}
	s->rng = state_get_bool(r);
	s->power_button = version >= 2 && state_get_bool(r);
	if ((rc = state_close(r, errp)) < 0)
		return rc;
	if (!ok)
		return state_invalid(r, errp, "a string holds a NUL byte");
	if (m->format != STATE_FORMAT)
		return state_invalid(r, errp, "state format %u; this ringvm "
				     "reads format %u", m->format,
				     STATE_FORMAT);
	if (s->cpus == 0 || s->cpus > VM_MAX_CPUS)
		return state_invalid(r, errp, "%u vCPUs", s->cpus);
	if (s->boot_mode < 0 || s->boot_mode > 2 ||
	    (s->boot_mode == 1) != (m->has_bios && strcmp(m->bios, "none")) ||
	    (s->boot_mode == 2) != (m->has_bios && !strcmp(m->bios, "none")))
		return state_invalid(r, errp, "boot mode %d does not match the "
				     "firmware setting", s->boot_mode);
	return 0;
}

/* Compare the saved shape with this VM's; the message names the first
 * difference. */
static int check_shape(struct vm *vm, const struct machine *m,
		       struct err *errp)
{
	struct virt_board *b = vm_board(vm);
	const struct vm_config *cfg = vm_cfg(vm);
	const char *arch = cfg->arch ? cfg->arch : "riscv64";
	struct virt_shape s;
	virt_shape(b, &s);
	const struct virt_shape *o = &m->shape;
	if (strcmp(m->arch, arch))
		return err_set(errp, EINVAL, "the saved machine is %s, this VM "
			       "%s", m->arch, arch);
	if (strcmp(m->board, "virt"))
		return err_set(errp, EINVAL, "the saved machine is a `%s` "
			       "board, this VM `virt`", m->board);
	if (strcmp(m->engine, virt_engine(b)->name))
		return err_set(errp, EINVAL, "the saved machine ran on the %s "
			       "engine, this VM on %s", m->engine,
			       virt_engine(b)->name);
	if (o->cpus != s.cpus)
		return err_set(errp, EINVAL, "the saved machine has %u vCPUs, "
			       "this VM %u", o->cpus, s.cpus);
	if (o->nram != s.nram)
		return err_set(errp, EINVAL, "the saved machine has %u RAM "
			       "regions, this VM %u", o->nram, s.nram);
	for (unsigned i = 0; i < s.nram; i++)
		if (o->ram[i].gpa != s.ram[i].gpa ||
		    o->ram[i].size != s.ram[i].size)
			return err_set(errp, EINVAL, "the saved machine has "
				       "%llu MiB of RAM at %#llx, this VM "
				       "%llu MiB at %#llx",
				       (unsigned long long)(o->ram[i].size >> 20),
				       (unsigned long long)o->ram[i].gpa,
				       (unsigned long long)(s.ram[i].size >> 20),
				       (unsigned long long)s.ram[i].gpa);
	static const char *const modes[] = { "the built-in SBI",
					     "a firmware (--bios)",
					     "--bios none" };
	if (o->boot_mode != s.boot_mode)
		return err_set(errp, EINVAL, "the saved machine boots with %s, "
			       "this VM with %s", modes[o->boot_mode],
			       modes[s.boot_mode]);
	if (o->ndisks != s.ndisks)
		return err_set(errp, EINVAL, "the saved machine has %u disks, "
			       "this VM %u", o->ndisks, s.ndisks);
	for (unsigned i = 0; i < s.ndisks; i++) {
		if (o->disk[i].size != s.disk[i].size)
			return err_set(errp, EINVAL, "disk %u: %llu bytes in the "
				       "saved machine, %llu in this VM", i,
				       (unsigned long long)o->disk[i].size,
				       (unsigned long long)s.disk[i].size);
		if (o->disk[i].read_only != s.disk[i].read_only)
			return err_set(errp, EINVAL, "disk %u: %s in the saved "
				       "machine, %s in this VM", i,
				       o->disk[i].read_only ? "read-only" :
				       "writable", s.disk[i].read_only ?
				       "read-only" : "writable");
	}
	if (o->nnics != s.nnics)
		return err_set(errp, EINVAL, "the saved machine has %u NICs, "
			       "this VM %u", o->nnics, s.nnics);
	/* A clone (vmm/restore.h) has new MACs on purpose. */
	for (unsigned i = 0; i < s.nnics && !cfg->clone; i++)
		if (memcmp(o->mac[i], s.mac[i], 6))
			return err_set(errp, EINVAL, "NIC %u: MAC "
				       "%02x:%02x:%02x:%02x:%02x:%02x in the "
				       "saved machine, another in this VM", i,
				       o->mac[i][0], o->mac[i][1], o->mac[i][2],
				       o->mac[i][3], o->mac[i][4], o->mac[i][5]);
	if (o->rng != s.rng)
		return err_set(errp, EINVAL, "the saved machine has %s "
			       "virtio-rng, this VM %s", o->rng ? "a" : "no",
			       s.rng ? "one" : "none");
	if (o->power_button != s.power_button)
		return err_set(errp, EINVAL, "the saved machine has %s power "
			       "button (virtio-input), this VM %s",
			       o->power_button ? "a" : "no",
			       s.power_button ? "one" : "none");
	return 0;
}

int vm_save_state(struct vm *vm, struct state_writer *w, struct err *errp)
{
	return vm_save_state_ext(vm, w, 0, errp);
}

int vm_boot_file_write(struct vm *vm, int fd, struct err *errp)
{
	return virt_boot_file_write(vm_board(vm), fd, errp);
}

void vm_set_boot_file(struct vm *vm, int fd)
{
	virt_set_boot_file(vm_board(vm), fd);
}

int vm_boot_layout(struct vm *vm, struct boot_file_layout *l)
{
	return virt_boot_layout(vm_board(vm), l);
}

int vm_boot_image(struct vm *vm, unsigned i, const uint8_t **data,
		  uint8_t **owned, struct err *errp)
{
	return virt_image_copy(vm_board(vm), i, data, owned, errp);
}

int vm_save_state_ext(struct vm *vm, struct state_writer *w, unsigned flags,
		      struct err *errp)
{
	bool started;
	if (!vm_quiet(vm, &started))
		return err_set(errp, EBUSY, "the VM runs: pause it before "
			       "saving its state");
	save_machine(vm, w);
	int rc = virt_save(vm_board(vm), w,
			   flags & VM_SAVE_BOOT_FILE ? VIRT_SAVE_BOOT_FILE : 0,
			   errp);
	if (rc < 0)
		return rc;
	if (state_writer_error(w))
		return err_set(errp, ENOMEM, "out of memory saving the state");
	return 0;
}

int vm_load_state(struct vm *vm, struct state_reader *r, struct err *errp)
{
	bool started;
	vm_quiet(vm, &started);
	if (started)
		return err_set(errp, EBUSY, "state can only be loaded into a VM "
			       "not started yet");
	if (!vm_cfg(vm)->incoming)
		return err_set(errp, EINVAL, "state can only be loaded into a VM "
			       "created to continue one (incoming)");
	struct machine *m = malloc(sizeof(*m));
	if (!m)
		return err_set(errp, ENOMEM, "out of memory");
	int rc = parse_machine(r, m, errp);
	if (rc == 0)
		rc = check_shape(vm, m, errp);
	free(m);
	if (rc < 0)
		return rc;
	rc = virt_load(vm_board(vm), r, errp);
	/* A missing section is a malformed stream. */
	return rc == -ENOENT ? -EINVAL : rc;
}

/* Append string s to the storage block at *pos; returns its copy. */
static const char *stash(char *base, size_t *pos, const char *s)
{
	char *d = base + *pos;
	size_t n = strlen(s) + 1;
	memcpy(d, s, n);
	*pos += n;
	return d;
}

int vm_config_from_state(struct state_reader *r, struct vm_config *cfg,
			 void **storage, struct err *errp)
{
	*storage = NULL;
	struct machine *m = malloc(sizeof(*m));
	if (!m)
		return err_set(errp, ENOMEM, "out of memory");
	int rc = parse_machine(r, m, errp);
	if (rc < 0)
		goto out;
	const struct virt_shape *s = &m->shape;
	if (s->nram != 1) {
		rc = err_set(errp, EINVAL, "the saved machine has %u RAM "
			     "regions; a virt board has one", s->nram);
		goto out;
	}
	size_t need = strlen(m->arch) + 1 + strlen(m->bios) + 1 +
		      strlen(m->kernel) + 1 + strlen(m->initrd) + 1 +
		      strlen(m->cmdline) + 1;
	for (unsigned i = 0; i < s->ndisks; i++)
		need += strlen(m->disk_path[i]) + 1 +
			strlen(m->disk_format[i]) + 1;
	for (unsigned i = 0; i < s->nnics; i++)
		need += strlen(m->nic_spec[i]) + 1;
	char *block = malloc(need);
	if (!block) {
		rc = err_set(errp, ENOMEM, "out of memory");
		goto out;
	}
	size_t pos = 0;
	cfg->arch = stash(block, &pos, m->arch);
	cfg->bios = m->has_bios ? stash(block, &pos, m->bios) : NULL;
	cfg->kernel = m->has_kernel ? stash(block, &pos, m->kernel) : NULL;
	cfg->initrd = m->has_initrd ? stash(block, &pos, m->initrd) : NULL;
	cfg->cmdline = m->has_cmdline ? stash(block, &pos, m->cmdline) :
		       NULL;
	cfg->mem = s->ram[0].size;
	cfg->cpus = s->cpus;
	cfg->ndisks = s->ndisks;
	for (unsigned i = 0; i < s->ndisks; i++) {
		struct vm_disk *d = &cfg->disks[i];
		memset(d, 0, sizeof(*d));
		d->path = stash(block, &pos, m->disk_path[i]);
		d->format = stash(block, &pos, m->disk_format[i]);
		d->read_only = s->disk[i].read_only;
	}
	cfg->nnics = s->nnics;
	for (unsigned i = 0; i < s->nnics; i++) {
		struct vm_nic *n = &cfg->nics[i];
		n->spec = stash(block, &pos, m->nic_spec[i]);
		memcpy(n->mac, s->mac[i], 6);
		n->has_mac = true;
	}
	cfg->no_rng = !s->rng;
	cfg->no_power_button = !s->power_button;
	cfg->no_reboot = m->no_reboot;
	cfg->boot = VM_BOOT_KERNEL;
	cfg->loader = NULL;
	cfg->incoming = true;
	*storage = block;
	rc = 0;
out:
	free(m);
	return rc;
}
