/* libFuzzer target: a hostile snapshot state file (vmm/snapshot_fmt.h)
 * through the parser a restore runs first; a successful parse is checked
 * against the promises restore.c relies on, and the diff bitmaps are read
 * as restore.c reads them. */
#include <stdint.h>
#include <string.h>

#include "vmm/snapshot_fmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct snap_info si;  /* 40 KiB: not on the stack */
	struct state_reader r;
	struct err e = { 0 };
	if (snap_parse(data, size, &r, &si, &e) != 0) {
		if (!e.msg[0])
			__builtin_trap(); /* every refusal has a message */
		return 0;
	}
	if (!si.nregions || si.nregions > GUEST_MEM_MAX_REGIONS ||
	    si.ndisks > VM_MAX_DISKS || strlen(si.engine) >= SNAP_ENGINE_MAX)
		__builtin_trap();
	for (unsigned i = 0; i < si.nregions; i++) {
		const struct snap_region *g = &si.r[i];
		if (g->file_off + g->size > si.mem_file_size ||
		    g->size % GUEST_PAGE_SIZE)
			__builtin_trap();
		char name[16];
		uint32_t ver;
		snap_dirty_name(i, name);
		if (state_open(&r, name, 1, &ver, &e))
			continue;
		/* At most the section's bytes are read, however big the
		 * region claims to be. */
		size_t words = snap_bitmap_words(g->size);
		for (size_t w = 0; w < words && !r.bad; w++)
			(void)state_get_u64(&r);
		(void)state_close(&r, &e);
	}
	for (unsigned i = 0; i < si.ndisks; i++)
		if (!si.d[i].path[0] || strlen(si.d[i].path) >= SNAP_PATH_MAX)
			__builtin_trap();
	return 0;
}
