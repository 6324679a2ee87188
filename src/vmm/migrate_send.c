/* Live migration, source side (migrate.h): pre-copy on a thread of its
 * own while the VM runs.
 *
 * The thread sends the machine shape, all of RAM (and with copy_disks the
 * allocated data of every disk), then rounds of what the guest dirtied
 * meanwhile (the dirty-page log, block/dirty.h for disks).  After each
 * round it compares what is left with what the link moves in max_downtime
 * at the bandwidth it measured; once it fits, the VM pauses and the rest,
 * the device state and the end marker follow.  A guest that dirties faster
 * than the link drains gets throttled after THROTTLE_AFTER rounds: the VM
 * is paused for a growing share of each THROTTLE_PERIOD while the sending
 * goes on.  The source ends only on the target's ack; any failure or a
 * cancel before the end marker, or the target's refusal, leaves it running
 * as before (state FAILED or CANCELLED).
 *
 * Shared storage (no copy_disks): the target opens the same images, so
 * during the pause the source flushes its disks and gives up their locks
 * before the end marker; it takes them back if no ack comes.  Should a
 * lock be taken meanwhile (the target did load and runs the disk though
 * its ack was lost) the source stays paused rather than have two VMs
 * write one image.  Likewise, with or without shared storage, when the end
 * marker went out and no answer came at all (the link died, the ack
 * timeout passed): the target may run the VM, so the source stays paused
 * (FAILED, saying so) instead of resuming into a second copy. */
#include "migrate.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "block/dirty.h"
#include "board/virt/boot_file.h"
#include "core/evloop.h"
#include "core/guest_mem.h"
#include "core/state.h"
#include "migrate_net.h"
#include "migrate_stream.h"

#define DEFAULT_DOWNTIME_NS (30ull * 1000 * 1000)
#define CONNECT_TIMEOUT_MS 10000u
#define SEND_TIMEOUT_MS 15000u     /* a target that stops reading */
#define ACK_TIMEOUT_MS 60000u      /* the target builds the VM meanwhile */
#define THROTTLE_AFTER 5u          /* rounds before auto-converge */
#define MAX_ROUNDS 100u            /* then stop and copy anyway */
#define THROTTLE_PERIOD_NS (20ull * 1000 * 1000)
#define DISK_GRANULE (64u << 10)

struct migration {
	struct vm *vm;
	char *uri;
	uint64_t max_downtime_ns;
	bool copy_disks;
	int pagemap_fd;              /* /proc/self/pagemap in round 0, or -1 */
	migrate_event_fn *on_event;
	void *opaque;
	pthread_t tid;
	bool thread;

	pthread_mutex_t lock;        /* guards st and fd */
	struct migrate_status st;
	int fd;
	int cancel;                  /* atomic */

	/* The migration thread's own. */
	struct mig_out out;
	struct guest_mem *mem;
	uint64_t *ram_dirty[GUEST_MEM_MAX_REGIONS];
	unsigned nall;               /* the VM's disks */
	unsigned ndisks;             /* of them copied (copy_disks) */
	struct block_dev *bd[MIG_MAX_DISKS];
	uint64_t *disk_dirty[MIG_MAX_DISKS];
	bool log_on, paused, locks_released;
	bool committed;              /* (lock) the end marker is going out */
	/* The end marker went out but no answer came: the target may have
	 * loaded the VM and run it, its ack lost with the link. */
	bool outcome_unknown;
	unsigned throttle_pct;
	bool throttle_paused;
	uint64_t throttle_t0;
	uint64_t t_start;
	uint8_t *early;              /* the MACHINE stream, for the delta */
	size_t early_len;
};

static void set_msg(char *dst, size_t size, const char *src)
{
	/* A plain loop: gcc flags strnlen/snprintf bounds against the
	 * literal or err.msg sizes at some optimisation levels. */
	size_t l = 0;
	for (; l + 1 < size && src[l]; l++)
		dst[l] = src[l];
	dst[l] = '\0';
}

static bool cancelled(struct migration *m)
{
	return __atomic_load_n(&m->cancel, __ATOMIC_ACQUIRE);
}

static void publish(struct migration *m)
{
	struct migrate_status st;
	pthread_mutex_lock(&m->lock);
	m->st.total_ns = evloop_now_ns() - m->t_start;
	st = m->st;
	pthread_mutex_unlock(&m->lock);
	if (m->on_event)
		m->on_event(m->opaque, &st);
}

static void add_sent(struct migration *m, uint64_t ram, uint64_t disk)
{
	pthread_mutex_lock(&m->lock);
	m->st.ram_sent += ram;
	m->st.disk_sent += disk;
	pthread_mutex_unlock(&m->lock);
}

/* Auto-converge: between batches, keep the VM paused for throttle_pct
 * of each period.  The sending goes on while it is paused. */
static void throttle(struct migration *m)
{
	if (!m->throttle_pct || m->paused)
		return;
	uint64_t now = evloop_now_ns();
	uint64_t pos = now - m->throttle_t0;
	if (pos >= THROTTLE_PERIOD_NS) {
		m->throttle_t0 = now;
		pos = 0;
	}
	bool want = pos < THROTTLE_PERIOD_NS * m->throttle_pct / 100;
	if (want && !m->throttle_paused)
		m->throttle_paused = vm_pause(m->vm) == 0;
	else if (!want && m->throttle_paused) {
		vm_resume(m->vm);
		m->throttle_paused = false;
	}
}

static void throttle_off(struct migration *m)
{
	if (m->throttle_paused)
		vm_resume(m->vm);
	m->throttle_paused = false;
}

static bool page_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;
	for (size_t i = 0; i < GUEST_PAGE_SIZE / 8; i++)
		if (w[i])
			return false;
	return true;
}

/* The target only speaks when it is done: before the end marker that
 * means it refused the stream, and its ack says why. */
static int target_spoke(struct migration *m, struct err *errp)
{
	struct pollfd p = { m->fd, POLLIN, 0 };
	if (poll(&p, 1, 0) <= 0)
		return 0;
	int status = 0;
	char msg[256];
	mig_set_timeouts(m->fd, SEND_TIMEOUT_MS, 1000);
	int rc = mig_recv_ack(m->fd, &status, msg, sizeof(msg));
	if (rc == -EPIPE || rc == -ECONNRESET)
		return err_set(errp, EPIPE, "migration: the target closed the "
			       "connection");
	if (rc || status >= 0)
		return err_set(errp, EPROTO, "migration: the target answered "
			       "before the end of the stream");
	return err_set(errp, -status, "migration: the target refused: %s",
		       msg[0] ? msg : strerror(-status));
}

static int check_out(struct migration *m, struct err *errp)
{
	if (cancelled(m))
		return err_set(errp, ECANCELED, "migration cancelled");
	int rc = target_spoke(m, errp);
	if (rc)
		return rc;
	if (m->out.err)
		return err_set(errp, -m->out.err, "migration: the link to the "
			       "target failed: %s", strerror(-m->out.err));
	return 0;
}

/* Wait until the target has taken in everything sent so far (SYNC).
 * Without it the socket buffers of both ends hold a backlog of pages
 * the target works through only after the pause began, and the bytes
 * "sent" overstate the bandwidth.  One round trip per round, while the
 * guest runs. */
static int sync_target(struct migration *m, struct err *errp)
{
	int rc = check_out(m, errp);
	if (rc)
		return rc;
	mig_put_u8(&m->out, MIG_REC_SYNC);
	mig_out_flush(&m->out);
	/* Not check_out: the answer may be there already. */
	if (cancelled(m))
		return err_set(errp, ECANCELED, "migration cancelled");
	if (m->out.err)
		return err_set(errp, -m->out.err, "migration: the link to the "
			       "target failed: %s", strerror(-m->out.err));
	mig_set_timeouts(m->fd, SEND_TIMEOUT_MS, ACK_TIMEOUT_MS);
	int status;
	char msg[256];
	rc = mig_recv_ack(m->fd, &status, msg, sizeof(msg));
	mig_set_timeouts(m->fd, SEND_TIMEOUT_MS, 0);
	if (cancelled(m))
		return err_set(errp, ECANCELED, "migration cancelled");
	if (rc)
		return err_set(errp, -rc, "migration: no answer from the "
			       "target: %s", strerror(-rc));
	if (status < 0)
		return err_set(errp, -status, "migration: the target refused: "
			       "%s", msg[0] ? msg : strerror(-status));
	if (status != MIG_ACK_SYNC)
		return err_set(errp, EPROTO, "migration: the target answered "
			       "before the end of the stream");
	return 0;
}

/* Send the pages of region ri whose bit is set in bits, in batches; all
 * when bits is NULL (round 0), except pages the host never backed: the
 * target's RAM starts zeroed, and a write after the check is in the
 * dirty log for the next round. */
static int send_region(struct migration *m, unsigned ri,
		       const uint64_t *bits, struct err *errp)
{
	const struct guest_mem_region *r = &m->mem->r[ri];
	uint64_t npages = r->size >> GUEST_PAGE_SHIFT;
	uint64_t batch[MIG_BATCH];
	uint64_t backed[GUEST_MEM_BACKED_MAX / 64], skipped = 0;
	unsigned nb = 0;
	for (uint64_t pg = 0; pg <= npages; pg++) {
		unsigned k = (unsigned)(pg % GUEST_MEM_BACKED_MAX);
		if (!bits && !k && pg < npages)
			guest_mem_backed(m->mem, ri, m->pagemap_fd, pg,
					 GUEST_MEM_BACKED_MAX, backed);
		bool take = pg < npages &&
			    (bits ? bits[pg / 64] >> (pg % 64) & 1 :
				    backed[k / 64] >> (k % 64) & 1);
		if (take)
			batch[nb++] = pg;
		else if (!bits && pg < npages)
			skipped++;
		if (nb == MIG_BATCH || (pg == npages && nb)) {
			mig_put_u8(&m->out, MIG_REC_PAGES);
			mig_put_u8(&m->out, (uint8_t)ri);
			mig_put_u16(&m->out, (uint16_t)nb);
			uint64_t data = 0;
			for (unsigned i = 0; i < nb; i++) {
				const uint8_t *p = r->hva +
					(batch[i] << GUEST_PAGE_SHIFT);
				bool z = page_zero(p);
				mig_put_u64(&m->out, batch[i] << 1 | !z);
				if (!z) {
					mig_put(&m->out, p, GUEST_PAGE_SIZE);
					data += GUEST_PAGE_SIZE;
				}
			}
			/* Progress counts the unsent zero pages as done. */
			add_sent(m, (nb + skipped) * GUEST_PAGE_SIZE, 0);
			nb = 0;
			skipped = 0;
			throttle(m);
			int rc = check_out(m, errp);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int send_disk_range(struct migration *m, unsigned d, uint64_t off,
			   uint64_t len, bool zero, uint8_t *buf,
			   struct err *errp)
{
	struct block_dev *bd = m->bd[d];
	if (zero) {
		mig_put_u8(&m->out, MIG_REC_DISK_ZERO);
		mig_put_u8(&m->out, (uint8_t)d);
		mig_put_u64(&m->out, off);
		mig_put_u64(&m->out, len);
		add_sent(m, 0, len);
		return check_out(m, errp);
	}
	while (len) {
		uint32_t n = len > MIG_DISK_CHUNK ? MIG_DISK_CHUNK
						  : (uint32_t)len;
		int rc = block_pread(bd, buf, n, off);
		if (rc)
			return err_sys(errp, -rc, "migration: reading disk `%s`",
				       bd->path);
		mig_put_u8(&m->out, MIG_REC_DISK_DATA);
		mig_put_u8(&m->out, (uint8_t)d);
		mig_put_u64(&m->out, off);
		mig_put_u32(&m->out, n);
		mig_put(&m->out, buf, n);
		add_sent(m, 0, n);
		throttle(m);
		if ((rc = check_out(m, errp)))
			return rc;
		off += n;
		len -= n;
	}
	return 0;
}

struct extent {
	uint64_t off, len;
	bool zero;
};

/* The first copy of disk d: its map is taken while the VM is paused
 * (block_status needs the device to itself), the data read afterwards;
 * writes meanwhile are in the dirty bitmap. */
static int send_disk_all(struct migration *m, unsigned d, uint8_t *buf,
			 struct err *errp)
{
	struct block_dev *bd = m->bd[d];
	struct extent *ex = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	bool paused = !m->paused && vm_pause(m->vm) == 0;
	for (uint64_t off = 0; off < bd->size;) {
		struct block_status st;
		rc = block_status(bd, off, bd->size - off, &st);
		if (rc) {
			rc = err_sys(errp, -rc, "migration: mapping disk `%s`",
				     bd->path);
			break;
		}
		bool zero = st.flags & BLOCK_STATUS_ZERO;
		if (n && ex[n - 1].zero == zero &&
		    ex[n - 1].off + ex[n - 1].len == off) {
			ex[n - 1].len += st.len;
		} else {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				struct extent *ne = realloc(ex, cap * sizeof(*ex));
				if (!ne) {
					rc = err_set(errp, ENOMEM, "out of memory");
					break;
				}
				ex = ne;
			}
			ex[n++] = (struct extent){ off, st.len, zero };
		}
		off += st.len;
	}
	if (paused)
		vm_resume(m->vm);
	for (size_t i = 0; !rc && i < n; i++)
		rc = send_disk_range(m, d, ex[i].off, ex[i].len, ex[i].zero,
				     buf, errp);
	free(ex);
	return rc;
}

static int send_disk_dirty(struct migration *m, unsigned d, uint8_t *buf,
			   struct err *errp)
{
	struct block_dev *bd = m->bd[d];
	const uint64_t *bits = m->disk_dirty[d];
	uint64_t nbits = (bd->size + DISK_GRANULE - 1) / DISK_GRANULE;
	for (uint64_t b = 0; b < nbits; b++) {
		if (!(bits[b / 64] >> (b % 64) & 1))
			continue;
		uint64_t off = b * DISK_GRANULE;
		uint64_t len = bd->size - off < DISK_GRANULE ? bd->size - off
							     : DISK_GRANULE;
		int rc = send_disk_range(m, d, off, len, false, buf, errp);
		if (rc)
			return rc;
	}
	return 0;
}

/* Fetch the dirty bitmaps (OR-ed into what is pending) and count. */
static uint64_t fetch_dirty(struct migration *m, uint64_t *disk_bytes)
{
	uint64_t pages = 0;
	*disk_bytes = 0;
	for (unsigned i = 0; i < m->mem->nr; i++) {
		size_t words = (size_t)(((m->mem->r[i].size >> GUEST_PAGE_SHIFT)
					 + 63) / 64);
		uint64_t *tmp = m->ram_dirty[i] + words;  /* scratch half */
		if (vm_dirty_log_fetch(m->vm, i, tmp) < 0)
			continue;
		for (size_t w = 0; w < words; w++)
			m->ram_dirty[i][w] |= tmp[w];
	}
	for (unsigned i = 0; i < m->mem->nr; i++) {
		size_t words = (size_t)(((m->mem->r[i].size >> GUEST_PAGE_SHIFT)
					 + 63) / 64);
		for (size_t w = 0; w < words; w++)
			pages += (uint64_t)__builtin_popcountll(
				m->ram_dirty[i][w]);
	}
	for (unsigned d = 0; d < m->ndisks; d++) {
		uint64_t nbits = (m->bd[d]->size + DISK_GRANULE - 1) /
				 DISK_GRANULE;
		uint64_t *tmp = m->disk_dirty[d] + (nbits + 63) / 64;
		block_dirty_fetch(m->bd[d], tmp);
		for (uint64_t w = 0; w < (nbits + 63) / 64; w++) {
			m->disk_dirty[d][w] |= tmp[w];
			*disk_bytes += (uint64_t)__builtin_popcountll(
				m->disk_dirty[d][w]) * DISK_GRANULE;
		}
	}
	return pages;
}

/* Send everything pending and clear it. */
static int send_dirty(struct migration *m, uint8_t *buf, struct err *errp)
{
	int rc;
	for (unsigned i = 0; i < m->mem->nr; i++) {
		if ((rc = send_region(m, i, m->ram_dirty[i], errp)))
			return rc;
		memset(m->ram_dirty[i], 0,
		       (size_t)(((m->mem->r[i].size >> GUEST_PAGE_SHIFT) + 63)
				/ 64) * 8);
	}
	for (unsigned d = 0; d < m->ndisks; d++) {
		if ((rc = send_disk_dirty(m, d, buf, errp)))
			return rc;
		uint64_t nbits = (m->bd[d]->size + DISK_GRANULE - 1) /
				 DISK_GRANULE;
		memset(m->disk_dirty[d], 0, (size_t)((nbits + 63) / 64) * 8);
	}
	return 0;
}

static int send_blob(struct migration *m, uint8_t type, bool need_pause,
		     struct err *errp)
{
	struct state_writer w;
	state_writer_init(&w);
	bool paused = need_pause && vm_pause(m->vm) == 0;
	/* The boot images travel in their own record before the pause
	 * (send_boot): neither stream copies or checksums them. */
	int rc = vm_save_state_ext(m->vm, &w, VM_SAVE_BOOT_FILE, errp);
	if (paused)
		vm_resume(m->vm);
	if (!rc && (rc = state_writer_error(&w)))
		err_set(errp, ENOMEM, "migration: out of memory");
	if (!rc && (w.len == 0 || w.len > MIG_MAX_BLOB))
		rc = err_set(errp, EFBIG, "migration: machine state of %zu "
			     "bytes", w.len);
	uint8_t *b = w.buf;
	size_t n = w.len;
	if (!rc && type == MIG_REC_MACHINE) {
		/* Kept: the final state is sent as what differs from it. */
		m->early = w.buf;
		m->early_len = w.len;
		w.buf = NULL;
	} else if (!rc && mig_state_delta(m->early, m->early_len, w.buf,
					  w.len, &b, &n)) {
		b = w.buf;
		rc = err_set(errp, ENOMEM, "migration: out of memory");
	}
	if (!rc) {
		mig_put_u8(&m->out, type);
		mig_put_u32(&m->out, (uint32_t)n);
		mig_put(&m->out, b, n);
		rc = check_out(m, errp);
	}
	if (b != w.buf && b != m->early)
		free(b);
	state_writer_free(&w);
	return rc;
}

static int setup(struct migration *m, struct err *errp)
{
	m->mem = vm_mem(m->vm);
	uint64_t total = 0;
	for (unsigned i = 0; i < m->mem->nr; i++) {
		if (m->mem->r[i].size % GUEST_PAGE_SIZE)
			return err_set(errp, EINVAL, "migration: RAM region %u "
				       "is not whole pages", i);
		size_t words = (size_t)(((m->mem->r[i].size >> GUEST_PAGE_SHIFT)
					 + 63) / 64);
		/* Pending bits and a scratch half for each fetch. */
		m->ram_dirty[i] = calloc(2 * words, 8);
		if (!m->ram_dirty[i])
			return err_set(errp, ENOMEM, "out of memory");
		total += m->mem->r[i].size;
	}
	uint64_t dtotal = 0;
	for (unsigned d = 0; d < MIG_MAX_DISKS && vm_disk(m->vm, d); d++) {
		m->bd[d] = vm_disk(m->vm, d);
		m->nall = d + 1;
		dtotal += m->bd[d]->size;
	}
	pthread_mutex_lock(&m->lock);
	m->st.ram_total = total;
	m->st.disk_total = m->copy_disks ? dtotal : 0;
	pthread_mutex_unlock(&m->lock);
	m->ndisks = m->copy_disks ? m->nall : 0;
	for (unsigned d = 0; d < m->ndisks; d++) {
		uint64_t nbits = (m->bd[d]->size + DISK_GRANULE - 1) /
				 DISK_GRANULE;
		m->disk_dirty[d] = calloc((size_t)(2 * ((nbits + 63) / 64) + 1),
					  8);
		if (!m->disk_dirty[d])
			return err_set(errp, ENOMEM, "out of memory");
	}
	return 0;
}

/* Tracking on: the dirty-page log and the disks' dirty bitmaps, at one
 * instant (the VM paused around both). */
static int tracking_start(struct migration *m, struct err *errp)
{
	bool paused = vm_pause(m->vm) == 0;
	int rc = vm_dirty_log_start(m->vm, errp);
	if (!rc)
		m->log_on = true;
	for (unsigned d = 0; !rc && d < m->ndisks; d++)
		rc = block_dirty_start(m->bd[d], DISK_GRANULE, errp);
	if (paused)
		vm_resume(m->vm);
	return rc;
}

/* With the VM paused (or ended): no data call in flight. */
static void tracking_stop(struct migration *m)
{
	if (m->log_on)
		vm_dirty_log_stop(m->vm);
	m->log_on = false;
	for (unsigned d = 0; d < m->ndisks; d++)
		block_dirty_stop(m->bd[d]);
}

/* The boot images (BOOT record), read while the guest runs: they never
 * change while the VM lives. */
static int send_boot(struct migration *m, const struct boot_file_layout *l,
		     struct err *errp)
{
	mig_put_u8(&m->out, MIG_REC_BOOT);
	mig_put_u32(&m->out, l->n);
	for (unsigned i = 0; i < l->n; i++) {
		mig_put_u64(&m->out, l->img[i].gpa);
		mig_put_u64(&m->out, l->img[i].len);
		mig_put_u32(&m->out, l->img[i].crc);
	}
	for (unsigned i = 0; i < l->n; i++) {
		const uint8_t *p;
		uint8_t *owned;
		int rc = vm_boot_image(m->vm, i, &p, &owned, errp);
		if (rc)
			return err_prefix(errp, "migration: boot image %u", i);
		mig_put(&m->out, p, l->img[i].len);
		free(owned);
		if ((rc = check_out(m, errp)))
			return rc;
	}
	return check_out(m, errp);
}

static int send_header(struct migration *m, struct err *errp)
{
	mig_put(&m->out, MIG_MAGIC, 8);
	mig_put_u32(&m->out, MIG_VERSION);
	mig_put_u32(&m->out, m->copy_disks ? MIG_F_DISKS : 0);
	/* Outside the pause below: the first call computes the CRCs. */
	struct boot_file_layout l;
	vm_boot_layout(m->vm, &l);
	int rc = send_blob(m, MIG_REC_MACHINE, true, errp);
	if (rc || (rc = send_boot(m, &l, errp)))
		return rc;
	mig_put_u8(&m->out, MIG_REC_LAYOUT);
	mig_put_u32(&m->out, m->mem->nr);
	for (unsigned i = 0; i < m->mem->nr; i++) {
		mig_put_u64(&m->out, m->mem->r[i].gpa);
		mig_put_u64(&m->out, m->mem->r[i].size);
	}
	if (m->copy_disks) {
		mig_put_u8(&m->out, MIG_REC_DISKS);
		mig_put_u32(&m->out, m->ndisks);
		for (unsigned d = 0; d < m->ndisks; d++)
			mig_put_u64(&m->out, m->bd[d]->size);
	}
	return check_out(m, errp);
}

/* The pause: what is left, the device state, the disks handed over,
 * the end marker; then the ack. */
static int final_phase(struct migration *m, uint8_t *buf, struct err *errp)
{
	throttle_off(m);
	uint64_t t0 = evloop_now_ns();
	int rc = vm_pause(m->vm);
	if (rc)
		return err_set(errp, ESRCH, "migration: the VM ended");
	m->paused = true;
	if (cancelled(m))
		return err_set(errp, ECANCELED, "migration cancelled");
	uint64_t dbytes;
	uint64_t left = fetch_dirty(m, &dbytes);
	pthread_mutex_lock(&m->lock);
	m->st.dirty_pages = left;
	pthread_mutex_unlock(&m->lock);
	if ((rc = send_dirty(m, buf, errp)))
		return rc;
	if ((rc = send_blob(m, MIG_REC_DEVICE, false, errp)))
		return rc;
	if (!m->copy_disks) {
		/* The target opens the images when it sees the end marker:
		 * everything written must be in them, and the locks free. */
		for (unsigned d = 0; d < m->nall; d++) {
			if ((rc = block_flush(m->bd[d])))
				return err_sys(errp, -rc, "migration: flushing "
					       "disk `%s`", m->bd[d]->path);
		}
		for (unsigned d = 0; d < m->nall; d++)
			block_lock_release(m->bd[d]);
		m->locks_released = true;
	}
	/* Past this point a cancel no longer cuts the link: the target may
	 * already run the guest when it arrives (only a real failure or the
	 * ack timeout ends the wait). */
	pthread_mutex_lock(&m->lock);
	m->committed = !cancelled(m);
	pthread_mutex_unlock(&m->lock);
	if (!m->committed)
		return err_set(errp, ECANCELED, "migration cancelled");
	mig_put_u8(&m->out, MIG_REC_END);
	mig_out_flush(&m->out);
	/* A failed write: END did not go out whole, so the target cannot
	 * run the guest.  Not check_out: a target that took END and then
	 * went away (closed, crashed, its ack lost) may run it, which only
	 * the ack below tells. */
	if (m->out.err)
		return err_set(errp, -m->out.err, "migration: the link to the "
			       "target failed: %s", strerror(-m->out.err));
	mig_set_timeouts(m->fd, SEND_TIMEOUT_MS, ACK_TIMEOUT_MS);
	int status;
	char msg[256];
	rc = mig_recv_ack(m->fd, &status, msg, sizeof(msg));
	if (rc) {
		/* The target answers only once it holds the whole VM, and
		 * runs it right after: silence can mean either. */
		m->outcome_unknown = true;
		return err_set(errp, -rc, "migration: no answer from the "
			       "target after the last data (%s): it may run "
			       "the VM, so this one stays paused (`resume` it "
			       "only if the target does not run it)",
			       strerror(-rc));
	}
	if (status)
		return err_set(errp, -status, "migration: the target refused: "
			       "%s", msg[0] ? msg : strerror(-status));
	pthread_mutex_lock(&m->lock);
	m->st.downtime_ns = evloop_now_ns() - t0;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

static int run(struct migration *m, struct err *errp)
{
	uint8_t *buf = NULL;
	int rc = setup(m, errp);
	if (rc)
		return rc;
	if (m->ndisks && !(buf = malloc(MIG_DISK_CHUNK)))
		return err_set(errp, ENOMEM, "out of memory");
	int fd = mig_connect(m->uri, CONNECT_TIMEOUT_MS, &m->cancel, errp);
	if (fd < 0) {
		free(buf);
		return fd;
	}
	pthread_mutex_lock(&m->lock);
	m->fd = fd;
	pthread_mutex_unlock(&m->lock);
	/* A cancel between connect and publishing fd saw no socket. */
	if (cancelled(m))
		shutdown(fd, SHUT_RDWR);
	mig_set_timeouts(fd, SEND_TIMEOUT_MS, 0);
	if ((rc = mig_out_init(&m->out, fd))) {
		free(buf);
		return err_set(errp, ENOMEM, "out of memory");
	}
	if ((rc = send_header(m, errp)) || (rc = tracking_start(m, errp)))
		goto out;
	/* Round 0 skips pages never backed (send_region); without it, it
	 * reads every page. */
	m->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	/* Round 0: everything; the disks first, as what the guest writes
	 * meanwhile is in their dirty bitmaps anyway. */
	uint64_t t = evloop_now_ns(), b0 = m->out.bytes;
	for (unsigned d = 0; !rc && d < m->ndisks; d++)
		rc = send_disk_all(m, d, buf, errp);
	for (unsigned i = 0; !rc && i < m->mem->nr; i++)
		rc = send_region(m, i, NULL, errp);
	if (!rc)
		rc = sync_target(m, errp);
	if (rc)
		goto out;
	for (;;) {
		uint64_t now = evloop_now_ns();
		uint64_t sent = m->out.bytes - b0;
		uint64_t bw = now > t ? sent * 1000000000ull / (now - t) : 0;
		uint64_t dbytes, pages = fetch_dirty(m, &dbytes);
		uint64_t left = pages * GUEST_PAGE_SIZE + dbytes;
		pthread_mutex_lock(&m->lock);
		m->st.rounds++;
		if (bw)
			m->st.bandwidth = bw;
		bw = m->st.bandwidth;
		m->st.dirty_pages = pages;
		unsigned rounds = m->st.rounds;
		pthread_mutex_unlock(&m->lock);
		publish(m);
		/* Time the rest would take at the measured rate. */
		uint64_t need = bw ? left * 1000000000ull / bw : UINT64_MAX;
		if (need <= m->max_downtime_ns || rounds >= MAX_ROUNDS)
			break;
		if (rounds >= THROTTLE_AFTER) {
			m->throttle_pct = m->throttle_pct ? m->throttle_pct + 10
							  : 20;
			if (m->throttle_pct > 95)
				m->throttle_pct = 95;
		}
		t = evloop_now_ns();
		b0 = m->out.bytes;
		if (!(rc = send_dirty(m, buf, errp)))
			rc = sync_target(m, errp);
		if (rc)
			goto out;
	}
	rc = final_phase(m, buf, errp);
out:
	if (m->pagemap_fd >= 0)
		close(m->pagemap_fd);
	m->pagemap_fd = -1;
	free(buf);
	return rc;
}

/* Undo everything: the VM runs on as if nothing happened. */
static void recover(struct migration *m)
{
	throttle_off(m);
	if (!m->paused && (m->log_on || m->ndisks))
		m->paused = vm_pause(m->vm) == 0;
	tracking_stop(m);
	/* Two running copies of one guest (split brain) are worse than a
	 * paused one: without the target's answer, the operator decides. */
	bool hold = m->outcome_unknown;
	if (m->locks_released) {
		for (unsigned d = 0; d < m->nall; d++) {
			struct err e = { 0 };
			if (block_lock_take(m->bd[d], &e) < 0) {
				hold = true;
				pthread_mutex_lock(&m->lock);
				set_msg(m->st.error, sizeof(m->st.error),
					"a disk is now locked by another "
					"process (the target may run the "
					"VM): the source stays paused");
				pthread_mutex_unlock(&m->lock);
			}
		}
	}
	if (m->paused && !hold)
		vm_resume(m->vm);
	m->paused = hold;
}

static void *thread_main(void *arg)
{
	struct migration *m = arg;
	struct err e = { 0 };
	m->t_start = evloop_now_ns();
	int rc = run(m, &e);
	if (rc == 0) {
		tracking_stop(m);
		pthread_mutex_lock(&m->lock);
		m->st.state = MIGRATE_COMPLETED;
		pthread_mutex_unlock(&m->lock);
		/* The target runs the guest: this VM ends, still paused. */
		vm_end_migrated(m->vm);
		m->paused = false;
	} else {
		pthread_mutex_lock(&m->lock);
		bool c = cancelled(m) && !m->committed;
		m->st.state = c ? MIGRATE_CANCELLED : MIGRATE_FAILED;
		set_msg(m->st.error, sizeof(m->st.error),
			c ? "cancelled" : e.msg);
		pthread_mutex_unlock(&m->lock);
		recover(m);
	}
	pthread_mutex_lock(&m->lock);
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	pthread_mutex_unlock(&m->lock);
	mig_out_free(&m->out);
	publish(m);
	return NULL;
}

int migrate_start(struct vm *vm, const struct migrate_opts *o,
		  migrate_event_fn *on_event, void *opaque,
		  struct migration **out, struct err *errp)
{
	*out = NULL;
	struct sockaddr_storage sa;
	unsigned len;
	int rc = mig_parse_uri(o->uri, &sa, &len, errp);
	if (rc)
		return rc;
	struct migration *m = calloc(1, sizeof(*m));
	if (!m || !(m->uri = strdup(o->uri))) {
		free(m);
		return err_set(errp, ENOMEM, "out of memory");
	}
	m->vm = vm;
	m->max_downtime_ns = o->max_downtime_ns ? o->max_downtime_ns
						: DEFAULT_DOWNTIME_NS;
	m->copy_disks = o->copy_disks;
	m->on_event = on_event;
	m->opaque = opaque;
	m->fd = -1;
	m->pagemap_fd = -1;
	m->st.state = MIGRATE_ACTIVE;
	m->t_start = evloop_now_ns();
	pthread_mutex_init(&m->lock, NULL);
	rc = pthread_create(&m->tid, NULL, thread_main, m);
	if (rc) {
		pthread_mutex_destroy(&m->lock);
		free(m->uri);
		free(m);
		return err_sys(errp, rc, "migration: cannot create a thread");
	}
	m->thread = true;
	*out = m;
	return 0;
}

void migrate_status(struct migration *m, struct migrate_status *st)
{
	pthread_mutex_lock(&m->lock);
	*st = m->st;
	if (st->state == MIGRATE_ACTIVE)
		st->total_ns = evloop_now_ns() - m->t_start;
	pthread_mutex_unlock(&m->lock);
}

void migrate_cancel(struct migration *m)
{
	__atomic_store_n(&m->cancel, 1, __ATOMIC_RELEASE);
	/* A send or the ack wait blocked in the kernel returns now. */
	pthread_mutex_lock(&m->lock);
	if (m->fd >= 0 && !m->committed)
		shutdown(m->fd, SHUT_RDWR);
	pthread_mutex_unlock(&m->lock);
}

void migrate_free(struct migration *m)
{
	if (!m)
		return;
	if (m->thread)
		pthread_join(m->tid, NULL);
	for (unsigned i = 0; i < GUEST_MEM_MAX_REGIONS; i++)
		free(m->ram_dirty[i]);
	for (unsigned d = 0; d < MIG_MAX_DISKS; d++)
		free(m->disk_dirty[d]);
	pthread_mutex_destroy(&m->lock);
	free(m->early);
	free(m->uri);
	free(m);
}
