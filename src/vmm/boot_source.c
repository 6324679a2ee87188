/* Finding what to boot when --kernel is not given (vmm/boot_source.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/boot_source.h"

#define HOST_UBOOT "/usr/lib/u-boot/qemu-riscv64_smode/uboot.elf"

bool boot_disk_has_partition_table(struct block_dev *bd)
{
	uint8_t sig[2];
	if (bd->size < 512 || block_pread(bd, sig, 2, 510) != 0)
		return false;
	return sig[0] == 0x55 && sig[1] == 0xaa;
}

/* The directories the default guest may live in, most specific first;
 * returns how many of dirs[0..3] were filled (malloc'd). */
static unsigned guest_dirs(char *dirs[4])
{
	char exe[PATH_MAX];
	unsigned nd = 0;
	const char *env = getenv("RINGVM_GUEST_DIR");
	const char *home = getenv("HOME");
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
	}
	if (env) {
		if (asprintf(&dirs[nd], "%s", env) >= 0)
			nd++;
		return nd;
	}
	if (n > 0 && asprintf(&dirs[nd], "%s/guest", exe) >= 0)
		nd++;
	if (n > 0 && asprintf(&dirs[nd], "%s/../guest", exe) >= 0)
		nd++;
	if (home && asprintf(&dirs[nd], "%s/.cache/ringvm/guest", home) >= 0)
		nd++;
	return nd;
}

/* The first readable dirs[i]/name, malloc'd, or NULL. */
static char *find_in(char *dirs[], unsigned nd, const char *name)
{
	for (unsigned i = 0; i < nd; i++) {
		char *p = NULL;
		if (asprintf(&p, "%s/%s", dirs[i], name) < 0)
			continue;
		if (access(p, R_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

static void free_dirs(char *dirs[], unsigned nd)
{
	for (unsigned i = 0; i < nd; i++)
		free(dirs[i]);
}

int boot_find_default_guest(char **kernel, char **initrd, struct err *errp)
{
	char *dirs[4] = { 0 };
	unsigned nd = guest_dirs(dirs);
	char *k = find_in(dirs, nd, "Image");
	char *ini = NULL;
	if (k) {
		/* The initrd beside the kernel found. */
		size_t len = strlen(k) - strlen("Image");
		if (asprintf(&ini, "%.*sinitrd.img", (int)len, k) < 0)
			ini = NULL;
	}
	free_dirs(dirs, nd);
	if (!k || !ini) {
		free(k);
		return err_set(errp, ENOENT, "no --kernel given and the default "
			       "guest is not built (run `make guest`)");
	}
	*kernel = k;
	*initrd = ini;
	return 0;
}

int boot_find_loader(char **path, struct err *errp)
{
	char *dirs[4] = { 0 };
	unsigned nd = guest_dirs(dirs);
	char *p = find_in(dirs, nd, "u-boot.elf");
	free_dirs(dirs, nd);
	if (!p && access(HOST_UBOOT, R_OK) == 0)
		p = strdup(HOST_UBOOT);
	if (!p)
		return err_set(errp, ENOENT, "booting from the disk needs U-Boot "
			       "(run `make guest`, which fetches Debian's "
			       "u-boot-qemu, or give --loader FILE)");
	*path = p;
	return 0;
}
