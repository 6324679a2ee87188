/* The snapshot state file (snapshot_fmt.h). */
#include "snapshot_fmt.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define INFO_SECTION "snapshot"
#define INFO_VERSION 1u

void snap_prefix(uint8_t out[SNAP_PREFIX_BYTES])
{
	memset(out, 0, SNAP_PREFIX_BYTES);
	memcpy(out, SNAP_MAGIC, sizeof(SNAP_MAGIC));
	for (unsigned i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(SNAP_FORMAT_VERSION >> (8 * i));
}

void snap_dirty_name(unsigned i, char name[16])
{
	snprintf(name, 16, "dirty%u", i);
}

static void put_str(struct state_writer *w, const char *s)
{
	size_t n = strlen(s);
	state_put_u32(w, (uint32_t)n);
	state_put_bytes(w, s, n);
}

/* A string of at most cap - 1 bytes without NULs into dst. */
static bool get_str(struct state_reader *r, char *dst, size_t cap)
{
	uint32_t n = state_get_u32(r);
	if (n >= cap || n > r->left) {
		dst[0] = '\0';
		return false;
	}
	state_get_bytes(r, dst, n);
	dst[n] = '\0';
	return strlen(dst) == n;
}

void snap_put_info(struct state_writer *w, const struct snap_info *si)
{
	state_begin(w, INFO_SECTION, INFO_VERSION);
	state_put_u32(w, si->flags);
	put_str(w, si->engine);
	state_put_u64(w, si->id);
	state_put_u64(w, si->parent_id);
	put_str(w, si->parent);
	state_put_u64(w, si->created_ns);
	state_put_u64(w, si->mem_file_size);
	state_put_u32(w, si->nregions);
	for (unsigned i = 0; i < si->nregions; i++) {
		state_put_u64(w, si->r[i].gpa);
		state_put_u64(w, si->r[i].size);
		state_put_u64(w, si->r[i].file_off);
	}
	state_put_u32(w, si->ndisks);
	for (unsigned i = 0; i < si->ndisks; i++) {
		state_put_u8(w, si->d[i].kind);
		put_str(w, si->d[i].path);
	}
	state_end(w);
}

static int check_regions(struct state_reader *r, const struct snap_info *si,
			 struct err *errp)
{
	for (unsigned i = 0; i < si->nregions; i++) {
		const struct snap_region *g = &si->r[i];
		if (!g->size || g->size % GUEST_PAGE_SIZE ||
		    g->file_off % SNAP_REGION_ALIGN ||
		    g->gpa + g->size < g->gpa ||
		    g->file_off > si->mem_file_size ||
		    g->size > si->mem_file_size - g->file_off)
			return state_invalid(r, errp, "memory region %u (%" PRIu64
					     " bytes at file offset %" PRIu64
					     ") is not valid", i, g->size,
					     g->file_off);
		for (unsigned k = 0; k < i; k++) {
			const struct snap_region *h = &si->r[k];
			if (g->file_off < h->file_off + h->size &&
			    h->file_off < g->file_off + g->size)
				return state_invalid(r, errp, "memory regions "
						     "%u and %u overlap", k, i);
		}
	}
	return 0;
}

static int read_info(struct state_reader *r, struct snap_info *si,
		     struct err *errp)
{
	uint32_t ver;
	int rc = state_open(r, INFO_SECTION, INFO_VERSION, &ver, errp);
	if (rc)
		return rc;
	memset(si, 0, sizeof(*si));
	si->flags = state_get_u32(r);
	bool ok = get_str(r, si->engine, sizeof(si->engine));
	si->id = state_get_u64(r);
	si->parent_id = state_get_u64(r);
	ok = get_str(r, si->parent, sizeof(si->parent)) && ok;
	si->created_ns = state_get_u64(r);
	si->mem_file_size = state_get_u64(r);
	uint32_t nr = state_get_u32(r);
	if (!ok)
		return state_invalid(r, errp, "a name is too long or has a "
				     "NUL byte");
	if (si->flags & ~SNAP_FLAG_DIFF)
		return state_invalid(r, errp, "unknown flags %#x", si->flags);
	if (!nr || nr > GUEST_MEM_MAX_REGIONS)
		return state_invalid(r, errp, "%u memory regions", nr);
	si->nregions = nr;
	for (unsigned i = 0; i < nr; i++) {
		si->r[i].gpa = state_get_u64(r);
		si->r[i].size = state_get_u64(r);
		si->r[i].file_off = state_get_u64(r);
	}
	uint32_t nd = state_get_u32(r);
	if (nd > VM_MAX_DISKS)
		return state_invalid(r, errp, "%u disks", nd);
	si->ndisks = nd;
	for (unsigned i = 0; i < nd; i++) {
		si->d[i].kind = state_get_u8(r);
		if (!get_str(r, si->d[i].path, sizeof(si->d[i].path)) ||
		    !si->d[i].path[0])
			return state_invalid(r, errp, "disk %u: bad path", i);
		if (si->d[i].kind < SNAP_DISK_FROZEN ||
		    si->d[i].kind > SNAP_DISK_LIVE)
			return state_invalid(r, errp, "disk %u: unknown kind %u",
					     i, si->d[i].kind);
	}
	if ((rc = state_close(r, errp)))
		return rc;
	bool diff = si->flags & SNAP_FLAG_DIFF;
	if (diff != (si->parent[0] != '\0') || (diff && si->parent[0] != '/'))
		return state_invalid(r, errp, "parent snapshot `%s` does not "
				     "fit the flags", si->parent);
	return check_regions(r, si, errp);
}

int snap_parse(const void *buf, size_t len, struct state_reader *r,
	       struct snap_info *si, struct err *errp)
{
	const uint8_t *b = buf;
	if (len < SNAP_PREFIX_BYTES || memcmp(b, SNAP_MAGIC, 8))
		return err_set(errp, EINVAL, "not a ringvm snapshot state file%s",
			       len < SNAP_PREFIX_BYTES ? " (truncated)" : "");
	uint32_t v = (uint32_t)b[8] | (uint32_t)b[9] << 8 |
		     (uint32_t)b[10] << 16 | (uint32_t)b[11] << 24;
	if (v != SNAP_FORMAT_VERSION)
		return err_set(errp, EINVAL, "snapshot format version %u; this "
			       "ringvm reads version %u", v,
			       SNAP_FORMAT_VERSION);
	int rc = state_reader_init(r, b + SNAP_PREFIX_BYTES,
				   len - SNAP_PREFIX_BYTES, errp);
	if (rc)
		return rc;
	return read_info(r, si, errp);
}
