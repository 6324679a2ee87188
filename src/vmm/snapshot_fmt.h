/* The `state` file of a snapshot directory (docs/LIFECYCLE.md,
 * "## Snapshots"): what vm_snapshot writes and a restore reads first.
 *
 *   magic    8 bytes  "RVMSNAP\0"
 *   version  u32 LE   SNAP_FORMAT_VERSION
 *   zero     u32
 *   stream   core/state.h sections: "snapshot" (struct snap_info),
 *            "dirty0".."dirty3" for a diff snapshot (the bitmap of the
 *            pages its memory file holds, one bit per 4 KiB page of that
 *            RAM region, u64 LE words), then vm_save_state's sections.
 *
 * The file is hostile on read: snap_parse checks magic, version, the
 * stream's framing and checksums, and every value of "snapshot" (paths
 * NUL-free and bounded, regions page aligned and not overlapping in the
 * memory file, disk kinds known) before anything uses it. */
#ifndef RINGVM_VMM_SNAPSHOT_FMT_H
#define RINGVM_VMM_SNAPSHOT_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/guest_mem.h"
#include "core/state.h"
#include "vmm/vm.h"

#define SNAP_MAGIC "RVMSNAP"          /* 8 bytes with its NUL */
#define SNAP_FORMAT_VERSION 1u
#define SNAP_PREFIX_BYTES 16u
#define SNAP_STATE_MAX (256u << 20)   /* bytes of a state file we read */
#define SNAP_PATH_MAX 4096u           /* bytes of a path, with its NUL */
#define SNAP_ENGINE_MAX 32u
#define SNAP_FLAG_DIFF 1u
/* Memory file layout: regions start on multiples of this (bytes). */
#define SNAP_REGION_ALIGN (1u << 20)

enum snap_disk_kind {
	SNAP_DISK_FROZEN = 1,  /* qcow2: base file disk<N>.qcow2 in the dir */
	SNAP_DISK_READ_ONLY,   /* opened read-only: the original file */
	SNAP_DISK_LIVE,        /* not saved (SNAPSHOT_NO_DISK_STATE) */
};

struct snap_region {
	uint64_t gpa, size;  /* bytes */
	uint64_t file_off;   /* bytes into the memory file */
};

struct snap_disk {
	uint8_t kind;              /* enum snap_disk_kind */
	char path[SNAP_PATH_MAX];  /* the disk as the VM had it */
};

struct snap_info {
	uint32_t flags;                 /* SNAP_FLAG_* */
	char engine[SNAP_ENGINE_MAX];   /* vm_engine_name() */
	uint64_t id;                    /* random, names this snapshot */
	uint64_t parent_id;             /* diff: the parent's id */
	char parent[SNAP_PATH_MAX];     /* diff: absolute parent dir */
	uint64_t created_ns;            /* CLOCK_REALTIME at the instant */
	uint64_t mem_file_size;         /* bytes of the memory file */
	unsigned nregions;
	struct snap_region r[GUEST_MEM_MAX_REGIONS];
	unsigned ndisks;
	struct snap_disk d[VM_MAX_DISKS];
};

/* The SNAP_PREFIX_BYTES before the stream (magic, version). */
void snap_prefix(uint8_t out[SNAP_PREFIX_BYTES]);

/* Append the "snapshot" section for si. */
void snap_put_info(struct state_writer *w, const struct snap_info *si);

/* Parse a state file's bytes buf[0..len) (borrowed; the reader points into
 * them): check the prefix, set up *r over the stream and read the
 * "snapshot" section into *si.  Returns 0, or -EINVAL with errp saying
 * what is wrong ("not a ringvm snapshot", "format version 7, this ringvm
 * reads 1", "truncated", a checksum...). */
int snap_parse(const void *buf, size_t len, struct state_reader *r,
	       struct snap_info *si, struct err *errp);

/* Words of the dirty bitmap of a region of `size` bytes. */
static inline size_t snap_bitmap_words(uint64_t size)
{
	return (size_t)(((size + GUEST_PAGE_SIZE - 1) >> GUEST_PAGE_SHIFT) +
			63) / 64;
}

/* Name of region i's dirty section: "dirty<i>". */
void snap_dirty_name(unsigned i, char name[16]);

#endif
