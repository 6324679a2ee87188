/* Versioned state sections: the byte format every engine and device saves
 * itself in for snapshots and live migration (the idea of Firecracker's
 * persist and QEMU's vmstate, our own layout).
 *
 * A state stream is a sequence of sections, all integers little-endian:
 *
 *   name     32 bytes, NUL-padded ("cpu0", "plic", "virtio1"...)
 *   version  u32   the saver's format version of this section
 *   crc      u32   CRC-32 (zlib) of the payload
 *   length   u64   payload bytes
 *   payload  length bytes
 *
 * Writers append typed values inside state_begin/state_end.  Readers treat
 * the bytes as hostile: state_reader_init checks the framing and every
 * checksum up front; the typed getters never read past a section and turn
 * an overrun into a sticky error reported by state_close, so a loader can
 * read a whole section and check once.  A loader must still validate every
 * value it reads (ranges, indices, addresses) before using it.
 *
 * Threading: a writer or reader belongs to one thread at a time. */
#ifndef RINGVM_CORE_STATE_H
#define RINGVM_CORE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define STATE_NAME_MAX 32              /* bytes of a section name field */
#define STATE_HDR_SIZE (STATE_NAME_MAX + 16)

struct state_writer {
	uint8_t *buf;      /* owned; the stream so far */
	size_t len, cap;   /* bytes */
	size_t sec;        /* offset of the open section's header */
	bool open;         /* inside state_begin/state_end */
	int err;           /* 0 or -ENOMEM (sticky) */
};

/* Empty writer / free its buffer (the struct may be reused). */
void state_writer_init(struct state_writer *w);
void state_writer_free(struct state_writer *w);

/* Open section `name` (1..31 bytes, unique in the stream: the caller's
 * duty) at format `version`; close it with state_end.  Sections do not
 * nest. */
void state_begin(struct state_writer *w, const char *name, uint32_t version);
void state_end(struct state_writer *w);

void state_put_u8(struct state_writer *w, uint8_t v);
void state_put_u16(struct state_writer *w, uint16_t v);
void state_put_u32(struct state_writer *w, uint32_t v);
void state_put_u64(struct state_writer *w, uint64_t v);
void state_put_bytes(struct state_writer *w, const void *p, size_t n);
static inline void state_put_bool(struct state_writer *w, bool v)
{
	state_put_u8(w, v ? 1 : 0);
}

/* 0, or -ENOMEM when any append failed (the stream is then unusable). */
static inline int state_writer_error(const struct state_writer *w)
{
	return w->err;
}

struct state_reader {
	const uint8_t *buf;  /* borrowed: the whole stream */
	size_t len;
	/* The open section (state_open .. state_close). */
	char name[STATE_NAME_MAX + 1];
	const uint8_t *p;    /* next payload byte */
	size_t left;         /* payload bytes not yet read */
	bool bad;            /* a getter ran past the payload */
};

/* Check the framing of buf[0..len) (borrowed; must outlive the reader):
 * every header complete, names NUL-terminated and non-empty, lengths
 * within the buffer, checksums right, no name twice.  Returns 0, or
 * -EINVAL with errp naming the first bad section and what is wrong. */
int state_reader_init(struct state_reader *r, const void *buf, size_t len,
		      struct err *errp);

/* Position on section `name`.  Its version must be 1..max_version; it is
 * returned in *version for loaders that read older layouts.  Returns 0,
 * -ENOENT ("no section `name`") or -EINVAL (version unknown: the message
 * names both versions). */
int state_open(struct state_reader *r, const char *name, uint32_t max_version,
	       uint32_t *version, struct err *errp);

/* Whether the stream has a section `name` (optional sections). */
bool state_has(const struct state_reader *r, const char *name);

/* Typed getters of the open section: past its end they return 0 (or zero
 * bytes) and mark the reader bad. */
uint8_t state_get_u8(struct state_reader *r);
uint16_t state_get_u16(struct state_reader *r);
uint32_t state_get_u32(struct state_reader *r);
uint64_t state_get_u64(struct state_reader *r);
void state_get_bytes(struct state_reader *r, void *dst, size_t n);
static inline bool state_get_bool(struct state_reader *r)
{
	return state_get_u8(r) != 0;
}

/* End the open section: 0, or -EINVAL when it was shorter than what was
 * read ("truncated") or longer ("N bytes left over") — both mean a format
 * the loader does not know. */
int state_close(struct state_reader *r, struct err *errp);

/* Fail a load with -EINVAL and "section `name`: <what>" (a value out of
 * range, an index too big...).  Returns -EINVAL. */
int state_invalid(struct state_reader *r, struct err *errp, const char *fmt,
		  ...) __attribute__((format(printf, 3, 4)));

/* Walk the section names in stream order: idx 0, 1, ...; returns false past
 * the last (after a successful state_reader_init). */
bool state_section_at(const struct state_reader *r, unsigned idx,
		      char name[STATE_NAME_MAX + 1], uint32_t *version,
		      uint64_t *length);

#endif
