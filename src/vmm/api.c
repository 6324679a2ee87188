/* The VM's control socket server; see api.h and docs/LIFECYCLE.md.
 *
 * Locking: a->lock guards what other threads touch — every client's output
 * buffer, flags and descriptor (closed only by the socket thread, with the
 * lock held, so an emitter that finds a client by its cid under the lock
 * writes to a live one), the job slot and the migration's reply state.
 * It is a leaf for the VM (vm_pause, vm_stop and the migrate_* calls are
 * made without it: migrate callbacks take it).  Emitters on other threads
 * (the VM's I/O thread, the job thread, the migration thread) only queue
 * bytes and wake the socket thread through wake_fd; the socket thread does
 * every send(), never blocking. */
#include "api.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/evloop.h"
#include "vmm/api_proto.h"
#include "vmm/migrate.h"
#include "vmm/snapshot.h"
#include "vmm/vm_int.h"

#ifndef RINGVM_VERSION
#define RINGVM_VERSION "0.1"
#endif

#define TAG_LISTEN 0
#define TAG_WAKE 1
#define TAG_CLIENT 2
/* Bytes read from one client per wake-up, so one client cannot starve the
 * others. */
#define READ_BUDGET (64u * 1024)
/* `stop` presses the power button (virtio-input KEY_POWER) and gives the
 * guest half the timeout to shut down in order.  Then, or at once on a
 * board without the button, it asks the guest kernel through Magic SysRq
 * on its serial console: sync, remount every file system read-only,
 * power off — each given STOP_KEY_GAP_NS to finish (they run as queued
 * work in the guest), a key the UART cannot take yet retried every
 * STOP_RETRY_NS. */
#define STOP_KEYS "suo"
#define STOP_KEY_GAP_NS (1000ull * 1000000)
#define STOP_RETRY_NS (50ull * 1000000)
/* `status` pauses a running VM (to read instret) at most this often (ns). */
#define STATUS_PAUSE_EVERY_NS (50ull * 1000000)
/* Progress events of a snapshot at most this often (ns). */
#define PROGRESS_EVERY_NS (100ull * 1000000)

struct client {
	int fd;                 /* (L) -1: free slot */
	uint64_t cid;           /* (L) unique per connection, never 0 */
	struct api_linebuf in;  /* socket thread only */
	char *out;              /* (L) queued bytes */
	size_t out_len, out_cap;
	bool events;            /* (L) subscribed */
	bool drop;              /* (L) close at the next flush */
	bool eof;               /* (L) peer finished sending: close when idle */
	bool busy;              /* (L) a reply is still to come (job, migration) */
	bool waits_end;         /* (L) sent stop/quit: never idle */
	bool pollout;           /* EPOLLOUT armed (socket thread) */
	bool unwatched;         /* out of the epoll set (after EOF) */
	uint64_t last_ns;       /* last request (socket thread) */
	uint64_t partial_ns;    /* since when a line is incomplete; 0: none */
};

struct api {
	char *name;             /* the socket's name in dirfd */
	int dirfd, lfd, epfd, wake_fd;
	struct vm *vm;
	pthread_t tid, jtid;
	bool sock_thread, job_thread;
	uint64_t start_ns;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool quit;              /* (L) threads leave */
	unsigned nready;        /* (L) threads in their loops */
	struct client c[API_MAX_CLIENTS];
	uint64_t next_cid;      /* (L) */

	/* The job thread's one request (snapshot). */
	bool job_pending, job_busy;      /* (L) */
	uint64_t job_cid;                /* (L) */
	struct api_request job;          /* (L) owned while pending/busy */
	uint64_t job_progress_ns;        /* job thread only */

	/* The migration: started, polled, cancelled and freed by the socket
	 * thread; its reply is sent once from its event callback. */
	struct migration *mig;
	uint64_t mig_cid;                /* (L) */
	struct json_object *mig_id;      /* (L) the request's id */
	bool mig_replied;                /* (L) */

	/* Socket thread only. */
	bool paused;                     /* the api holds one vm_pause */
	uint64_t instret, instret_ns;    /* last read, and when */
	uint64_t stop_deadline_ns;       /* `stop`: quit then (0: none) */
	unsigned stop_keys;              /* SysRq keys of STOP_KEYS sent */
	uint64_t stop_next_ns;           /* when to send the next one */
	const char *stop_method;         /* "power-button", "sysrq" (static) */
};

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void wake(struct api *a)
{
	uint64_t one = 1;
	ssize_t r = write(a->wake_fd, &one, sizeof(one));
	(void)r;   /* a full counter already means "wake up" */
}

/* ---- output ------------------------------------------------------------- */

/* Queue line (taken, may be NULL: out of memory) for c.  A client whose
 * queue would pass API_OUT_MAX is not reading: it is dropped.  (L) */
static void queue_locked(struct client *c, char *line)
{
	if (!line || c->fd < 0 || c->drop) {
		free(line);
		return;
	}
	size_t n = strlen(line);
	if (c->out_len + n > API_OUT_MAX) {
		c->drop = true;
		c->out_len = 0;
		free(line);
		return;
	}
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		while (cap < c->out_len + n)
			cap *= 2;
		char *b = realloc(c->out, cap);
		if (!b) {
			c->drop = true;
			free(line);
			return;
		}
		c->out = b;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, line, n);
	c->out_len += n;
	free(line);
}

static struct client *by_cid(struct api *a, uint64_t cid)
{
	for (unsigned i = 0; cid && i < API_MAX_CLIENTS; i++)
		if (a->c[i].fd >= 0 && a->c[i].cid == cid)
			return &a->c[i];
	return NULL;
}

/* Queue line (taken) for client cid, if it is still connected. */
static void send_to(struct api *a, uint64_t cid, char *line)
{
	pthread_mutex_lock(&a->lock);
	struct client *c = by_cid(a, cid);
	if (c)
		queue_locked(c, line);
	else
		free(line);
	pthread_mutex_unlock(&a->lock);
	wake(a);
}

/* Event name with data (not consumed) to every subscriber and to client
 * `also` (0: none) when it is not one.  (L) */
static void event_locked(struct api *a, const char *name,
			 struct json_object *data, uint64_t also)
{
	uint64_t t = wall_ns();
	for (unsigned i = 0; i < API_MAX_CLIENTS; i++) {
		struct client *c = &a->c[i];
		if (c->fd >= 0 && (c->events || (also && c->cid == also)))
			queue_locked(c, api_event(name, t, data));
	}
}

static void event(struct api *a, const char *name, struct json_object *data,
		  uint64_t also)
{
	pthread_mutex_lock(&a->lock);
	event_locked(a, name, data, also);
	pthread_mutex_unlock(&a->lock);
	json_object_put(data);
	wake(a);
}

static void reply_ok(struct api *a, uint64_t cid, struct json_object *id,
		     struct json_object *result)
{
	send_to(a, cid, api_reply_ok(id, result));
	json_object_put(result);
}

static void reply_err(struct api *a, uint64_t cid, struct json_object *id,
		      const char *code, const char *msg)
{
	send_to(a, cid, api_reply_error(id, code, msg));
}

static void reply_rc(struct api *a, uint64_t cid, struct json_object *id,
		     int rc, const struct err *e)
{
	reply_err(a, cid, id, api_errno_code(rc),
		  e->msg[0] ? e->msg : strerror(-rc));
}

/* ---- the socket's clients ------------------------------------------------ */

static void close_client_locked(struct api *a, struct client *c)
{
	close(c->fd);   /* also leaves the epoll set */
	c->fd = -1;
	c->cid = 0;
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_cap = 0;
	api_linebuf_free(&c->in);
	c->events = c->drop = c->eof = c->busy = c->waits_end = false;
	c->pollout = c->unwatched = false;
}

static void set_pollout(struct api *a, struct client *c, bool on)
{
	if (c->pollout == on || c->unwatched)
		return;
	struct epoll_event ev = {
		.events = EPOLLIN | (on ? EPOLLOUT : 0),
		.data.u64 = TAG_CLIENT + (uint64_t)(c - a->c),
	};
	if (epoll_ctl(a->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->pollout = on;
}

/* Send what each client's socket takes now; close the clients that are
 * done or dropped; apply the timeouts.  Socket thread. */
static void flush_all(struct api *a, uint64_t now)
{
	pthread_mutex_lock(&a->lock);
	for (unsigned i = 0; i < API_MAX_CLIENTS; i++) {
		struct client *c = &a->c[i];
		if (c->fd < 0)
			continue;
		while (!c->drop && c->out_len) {
			ssize_t n = send(c->fd, c->out, c->out_len,
					 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n <= 0) {
				c->drop = true;
				break;
			}
			memmove(c->out, c->out + n, c->out_len - (size_t)n);
			c->out_len -= (size_t)n;
		}
		if (!c->drop && c->partial_ns &&
		    now - c->partial_ns > API_PARTIAL_TIMEOUT_NS)
			c->drop = true;
		if (!c->drop && !c->events && !c->busy && !c->waits_end &&
		    !c->out_len &&
		    now - c->last_ns > API_IDLE_TIMEOUT_NS)
			c->drop = true;
		if (c->eof && !c->busy && !c->out_len)
			c->drop = true;
		if (c->drop)
			close_client_locked(a, c);
		else
			set_pollout(a, c, c->out_len > 0);
	}
	pthread_mutex_unlock(&a->lock);
}

static void accept_clients(struct api *a)
{
	for (;;) {
		int fd = accept4(a->lfd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;   /* EAGAIN, or a transient error: next time */
		pthread_mutex_lock(&a->lock);
		struct client *c = NULL;
		for (unsigned i = 0; !c && i < API_MAX_CLIENTS; i++)
			if (a->c[i].fd < 0)
				c = &a->c[i];
		struct epoll_event ev = {
			.events = EPOLLIN,
			.data.u64 = TAG_CLIENT + (uint64_t)(c ? c - a->c : 0),
		};
		if (!c || epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			pthread_mutex_unlock(&a->lock);
			char *l = api_reply_error(NULL, "EBUSY", "too many "
						  "clients of the control "
						  "socket");
			if (l) {
				ssize_t r = send(fd, l, strlen(l),
						 MSG_DONTWAIT | MSG_NOSIGNAL);
				(void)r;
			}
			free(l);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->cid = ++a->next_cid;
		c->last_ns = evloop_now_ns();
		c->partial_ns = 0;
		queue_locked(c, api_greeting(RINGVM_VERSION));
		pthread_mutex_unlock(&a->lock);
	}
}

/* ---- commands ------------------------------------------------------------- */

static bool add(struct json_object *o, const char *k, struct json_object *v)
{
	if (!v)
		return false;
	if (json_object_object_add(o, k, v)) {
		json_object_put(v);
		return false;
	}
	return true;
}

static struct json_object *devices_json(const struct vm_config *cfg)
{
	struct json_object *l = json_object_new_array();
	if (!l)
		return NULL;
	for (unsigned i = 0; i < cfg->ndisks; i++) {
		const struct vm_disk *d = &cfg->disks[i];
		struct json_object *o = json_object_new_object();
		if (!o || json_object_array_add(l, o))
			goto fail;
		if (!add(o, "type", json_object_new_string("disk")) ||
		    !add(o, "index", json_object_new_int((int)i)) ||
		    !add(o, "path", json_object_new_string(d->path)) ||
		    !add(o, "read_only", json_object_new_boolean(d->read_only)) ||
		    !add(o, "format", json_object_new_string(d->format ?
							     d->format : "auto")))
			goto fail;
	}
	for (unsigned i = 0; i < cfg->nnics; i++) {
		const struct vm_nic *n = &cfg->nics[i];
		struct json_object *o = json_object_new_object();
		if (!o || json_object_array_add(l, o))
			goto fail;
		if (!add(o, "type", json_object_new_string("nic")) ||
		    !add(o, "index", json_object_new_int((int)i)) ||
		    !add(o, "backend", json_object_new_string_len(
				 n->spec, (int)strcspn(n->spec, ","))))
			goto fail;
		if (n->has_mac) {
			char mac[18];
			snprintf(mac, sizeof(mac),
				 "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0],
				 n->mac[1], n->mac[2], n->mac[3], n->mac[4],
				 n->mac[5]);
			if (!add(o, "mac", json_object_new_string(mac)))
				goto fail;
		}
	}
	if (!cfg->no_rng) {
		struct json_object *o = json_object_new_object();
		if (!o || json_object_array_add(l, o) ||
		    !add(o, "type", json_object_new_string("rng")))
			goto fail;
	}
	if (!cfg->no_power_button) {
		struct json_object *o = json_object_new_object();
		if (!o || json_object_array_add(l, o) ||
		    !add(o, "type", json_object_new_string("power-button")))
			goto fail;
	}
	return l;
fail:
	json_object_put(l);
	return NULL;
}

static void cmd_status(struct api *a, uint64_t cid, struct json_object *id)
{
	/* vm_instret is valid only with every vCPU parked: a pause of a
	 * moment (it nests with the api's own).  A flood of status requests
	 * must not stall the guest: a running VM is paused for it at most
	 * every STATUS_PAUSE_EVERY_NS. */
	uint64_t now = evloop_now_ns();
	bool live;
	if (!a->paused && a->instret_ns &&
	    now - a->instret_ns < STATUS_PAUSE_EVERY_NS) {
		live = true;
	} else {
		live = vm_pause(a->vm) == 0;
		a->instret = vm_instret(a->vm);
		a->instret_ns = now;
		if (live)
			vm_resume(a->vm);
	}
	uint64_t instret = a->instret;
	const struct vm_config *cfg = vm_cfg(a->vm);
	const char *state = !live ? "stopped" : a->paused ? "paused" :
			    "running";
	struct json_object *r = json_object_new_object();
	bool ok = r &&
		add(r, "state", json_object_new_string(state)) &&
		add(r, "vcpus", json_object_new_int((int)cfg->cpus)) &&
		add(r, "mem", json_object_new_int64((int64_t)cfg->mem)) &&
		add(r, "devices", devices_json(cfg)) &&
		add(r, "uptime_ns", json_object_new_int64(
			    (int64_t)(evloop_now_ns() - a->start_ns))) &&
		add(r, "instret", json_object_new_int64((int64_t)instret));
	if (!ok) {
		json_object_put(r);
		reply_err(a, cid, id, "ENOMEM", "out of memory");
		return;
	}
	reply_ok(a, cid, id, r);
}

static struct json_object *state_result(const char *state)
{
	struct json_object *r = json_object_new_object();
	if (r && !add(r, "state", json_object_new_string(state))) {
		json_object_put(r);
		return NULL;
	}
	return r;
}

static void cmd_pause(struct api *a, uint64_t cid, struct json_object *id)
{
	if (!a->paused) {
		int rc = vm_pause(a->vm);
		if (rc < 0) {
			reply_err(a, cid, id, api_errno_code(rc),
				  "the VM is not running");
			return;
		}
		a->paused = true;
		event(a, "pause", NULL, 0);
	}
	reply_ok(a, cid, id, state_result("paused"));
}

static void cmd_resume(struct api *a, uint64_t cid, struct json_object *id)
{
	if (a->paused) {
		vm_resume(a->vm);
		a->paused = false;
		event(a, "resume", NULL, 0);
	}
	reply_ok(a, cid, id, state_result("running"));
}

/* The client waits for the VM's end (after stop/quit): the connection is
 * not idle, and stays open until the VM closes it (or the client does). */
static void mark_waits_end(struct api *a, uint64_t cid)
{
	pthread_mutex_lock(&a->lock);
	struct client *c = by_cid(a, cid);
	if (c)
		c->waits_end = true;
	pthread_mutex_unlock(&a->lock);
}

static void cmd_stop(struct api *a, uint64_t cid, const struct api_request *r)
{
	/* The power button first (docs/LIFECYCLE.md): the guest's own
	 * shutdown stops its services; a guest that ignores it gets Magic
	 * SysRq after half the timeout, and the VM ends at the timeout if
	 * it did not power off.  A paused guest cannot act at all: it ends
	 * at once.  A second stop restarts the timeout, not the sequence. */
	uint64_t t = a->paused ? 0 : r->timeout_ns;
	uint64_t now = evloop_now_ns();
	if (t && !a->stop_method) {
		if (vm_power_button(a->vm) == 0) {
			a->stop_method = "power-button";
			a->stop_next_ns = now + t / 2;
		} else {
			a->stop_method = "sysrq";
			a->stop_next_ns = now;
		}
	}
	struct json_object *res = json_object_new_object();
	if (res && (!add(res, "method", json_object_new_string(
				 t ? a->stop_method : "quit")) ||
		    !add(res, "timeout_ns", json_object_new_int64((int64_t)t)))) {
		json_object_put(res);
		res = NULL;
	}
	mark_waits_end(a, cid);
	reply_ok(a, cid, r->id, res);
	if (!t) {
		vm_stop(a->vm);
		return;
	}
	a->stop_deadline_ns = now + t;
}

/* Socket thread: the next step of a `stop`. */
static void stop_step(struct api *a, uint64_t now)
{
	if (a->stop_next_ns && now >= a->stop_next_ns &&
	    a->stop_keys < sizeof(STOP_KEYS) - 1) {
		int rc = vm_sysrq(a->vm, STOP_KEYS[a->stop_keys]);
		if (rc == 0) {
			a->stop_keys++;
			a->stop_next_ns = now + STOP_KEY_GAP_NS;
		} else if (rc == -EAGAIN) {
			a->stop_next_ns = now + STOP_RETRY_NS;
		} else {
			a->stop_next_ns = 0;
		}
		if (a->stop_keys == sizeof(STOP_KEYS) - 1)
			a->stop_next_ns = 0;
	}
	if (a->stop_deadline_ns && now >= a->stop_deadline_ns) {
		a->stop_deadline_ns = a->stop_next_ns = 0;
		vm_stop(a->vm);
	}
}

static void cmd_snapshot(struct api *a, uint64_t cid, struct api_request *r)
{
	pthread_mutex_lock(&a->lock);
	bool busy = a->job_pending || a->job_busy;
	if (!busy) {
		a->job = *r;
		memset(r, 0, sizeof(*r));   /* the job owns its strings now */
		a->job_cid = cid;
		a->job_pending = true;
		struct client *c = by_cid(a, cid);
		if (c)
			c->busy = true;
		pthread_cond_broadcast(&a->cond);
	}
	pthread_mutex_unlock(&a->lock);
	if (busy)
		reply_err(a, cid, r->id, "EBUSY", "a snapshot is in progress");
}

static const char *const mig_states[] = {
	[MIGRATE_NONE] = "none",
	[MIGRATE_ACTIVE] = "active",
	[MIGRATE_COMPLETED] = "completed",
	[MIGRATE_FAILED] = "failed",
	[MIGRATE_CANCELLED] = "cancelled",
};

static struct json_object *mig_json(const struct migrate_status *st)
{
	struct json_object *r = json_object_new_object();
	unsigned s = st->state < 5 ? st->state : MIGRATE_FAILED;
	bool ok = r &&
		add(r, "state", json_object_new_string(mig_states[s])) &&
		add(r, "ram_total", json_object_new_int64((int64_t)st->ram_total)) &&
		add(r, "ram_sent", json_object_new_int64((int64_t)st->ram_sent)) &&
		add(r, "disk_total", json_object_new_int64((int64_t)st->disk_total)) &&
		add(r, "disk_sent", json_object_new_int64((int64_t)st->disk_sent)) &&
		add(r, "rounds", json_object_new_int64(st->rounds)) &&
		add(r, "dirty_pages", json_object_new_int64((int64_t)st->dirty_pages)) &&
		add(r, "bandwidth", json_object_new_int64((int64_t)st->bandwidth)) &&
		add(r, "downtime_ns", json_object_new_int64((int64_t)st->downtime_ns)) &&
		add(r, "total_ns", json_object_new_int64((int64_t)st->total_ns));
	if (ok && s == MIGRATE_FAILED)
		ok = add(r, "error", json_object_new_string_len(
				 st->error, (int)strnlen(st->error,
							 sizeof(st->error))));
	if (!ok) {
		json_object_put(r);
		return NULL;
	}
	return r;
}

/* Migration thread: progress to the requester and subscribers; at the end
 * the requester's reply, and the VM ends after a completed one. */
static void on_migrate(void *opaque, const struct migrate_status *st)
{
	struct api *a = opaque;
	struct json_object *data = mig_json(st);
	bool done = st->state == MIGRATE_COMPLETED ||
		    st->state == MIGRATE_FAILED ||
		    st->state == MIGRATE_CANCELLED;
	pthread_mutex_lock(&a->lock);
	event_locked(a, "migration", data, a->mig_cid);
	if (done && !a->mig_replied) {
		a->mig_replied = true;
		struct client *c = by_cid(a, a->mig_cid);
		if (c) {
			c->busy = false;
			if (st->state == MIGRATE_COMPLETED)
				queue_locked(c, api_reply_ok(a->mig_id, data));
			else
				queue_locked(c, api_reply_error(
					a->mig_id, st->state == MIGRATE_FAILED ?
					"EIO" : "ECANCELED",
					st->state == MIGRATE_CANCELLED ?
					"migration cancelled" : st->error[0] ?
					st->error : "migration failed"));
		}
	}
	if (st->state == MIGRATE_COMPLETED)
		event_locked(a, "migrated", data, 0);
	pthread_mutex_unlock(&a->lock);
	json_object_put(data);
	wake(a);
	if (st->state == MIGRATE_COMPLETED)
		vm_stop(a->vm);
}

static bool mig_active(struct api *a)
{
	if (!a->mig)
		return false;
	struct migrate_status st;
	migrate_status(a->mig, &st);
	return st.state == MIGRATE_ACTIVE;
}

static void cmd_migrate(struct api *a, uint64_t cid, struct api_request *r)
{
	if (mig_active(a)) {
		reply_err(a, cid, r->id, "EBUSY", "a migration is in progress");
		return;
	}
	migrate_free(a->mig);   /* the previous one, finished */
	a->mig = NULL;
	pthread_mutex_lock(&a->lock);
	json_object_put(a->mig_id);
	a->mig_id = json_object_get(r->id);
	a->mig_cid = cid;
	a->mig_replied = false;
	struct client *c = by_cid(a, cid);
	if (c)
		c->busy = true;
	pthread_mutex_unlock(&a->lock);
	struct migrate_opts o = {
		.uri = r->uri,
		.max_downtime_ns = r->max_downtime_ns,
		.copy_disks = r->copy_disks,
	};
	struct err e = { 0 };
	int rc = migrate_start(a->vm, &o, on_migrate, a, &a->mig, &e);
	if (rc < 0) {
		a->mig = NULL;
		pthread_mutex_lock(&a->lock);
		/* A failure the migration already reported through
		 * on_migrate has had its reply. */
		bool replied = a->mig_replied;
		a->mig_replied = true;
		c = by_cid(a, cid);
		if (c)
			c->busy = false;
		pthread_mutex_unlock(&a->lock);
		if (!replied)
			reply_rc(a, cid, r->id, rc, &e);
	}
}

static void cmd_migrate_status(struct api *a, uint64_t cid,
			       struct json_object *id)
{
	struct migrate_status st = { .state = MIGRATE_NONE };
	if (a->mig)
		migrate_status(a->mig, &st);
	struct json_object *r = mig_json(&st);
	if (!r)
		reply_err(a, cid, id, "ENOMEM", "out of memory");
	else
		reply_ok(a, cid, id, r);
}

static void cmd_migrate_cancel(struct api *a, uint64_t cid,
			       struct json_object *id)
{
	if (!mig_active(a)) {
		reply_err(a, cid, id, "EINVAL", "no migration in progress");
		return;
	}
	migrate_cancel(a->mig);
	reply_ok(a, cid, id, state_result("cancelling"));
}

static void cmd_events(struct api *a, uint64_t cid, struct json_object *id)
{
	pthread_mutex_lock(&a->lock);
	struct client *c = by_cid(a, cid);
	if (c)
		c->events = true;
	pthread_mutex_unlock(&a->lock);
	reply_ok(a, cid, id, NULL);
}

static bool have_vm(struct api *a)
{
	pthread_mutex_lock(&a->lock);
	bool v = a->vm != NULL;
	pthread_mutex_unlock(&a->lock);
	return v;
}

/* Served before the VM exists (api_start(a, NULL): it is still being
 * received, --incoming). */
static void cmd_no_vm(struct api *a, uint64_t cid, struct api_request *r)
{
	switch (r->cmd) {
	case API_CMD_STATUS:
		reply_ok(a, cid, r->id, state_result("incoming"));
		break;
	case API_CMD_EVENTS:
		cmd_events(a, cid, r->id);
		break;
	case API_CMD_MIGRATE_STATUS:
		cmd_migrate_status(a, cid, r->id);
		break;
	default:
		reply_err(a, cid, r->id, "ESRCH", "no VM yet: it is still "
			  "being received");
		break;
	}
}

static void handle_line(struct api *a, uint64_t cid, const char *line,
			size_t len)
{
	struct api_request r;
	const char *code;
	struct err e = { 0 };
	if (api_request_parse(line, len, &r, &code, &e) < 0) {
		reply_err(a, cid, r.id, code, e.msg);
		api_request_free(&r);
		return;
	}
	if (!have_vm(a)) {
		cmd_no_vm(a, cid, &r);
		api_request_free(&r);
		return;
	}
	switch (r.cmd) {
	case API_CMD_STATUS: cmd_status(a, cid, r.id); break;
	case API_CMD_PAUSE: cmd_pause(a, cid, r.id); break;
	case API_CMD_RESUME: cmd_resume(a, cid, r.id); break;
	case API_CMD_STOP: cmd_stop(a, cid, &r); break;
	case API_CMD_QUIT:
		mark_waits_end(a, cid);
		reply_ok(a, cid, r.id, NULL);
		vm_stop(a->vm);
		break;
	case API_CMD_SNAPSHOT: cmd_snapshot(a, cid, &r); break;
	case API_CMD_MIGRATE: cmd_migrate(a, cid, &r); break;
	case API_CMD_MIGRATE_STATUS: cmd_migrate_status(a, cid, r.id); break;
	case API_CMD_MIGRATE_CANCEL: cmd_migrate_cancel(a, cid, r.id); break;
	case API_CMD_EVENTS: cmd_events(a, cid, r.id); break;
	}
	api_request_free(&r);
}

/* A client dropped meanwhile (its queue overflowed) gets no more of its
 * requests run. */
static bool dropped(struct api *a, struct client *c)
{
	pthread_mutex_lock(&a->lock);
	bool d = c->drop;
	pthread_mutex_unlock(&a->lock);
	return d;
}

/* Read what client slot i sent and run its complete requests. */
static void serve_client(struct api *a, unsigned i)
{
	struct client *c = &a->c[i];
	pthread_mutex_lock(&a->lock);
	int fd = c->fd;
	uint64_t cid = c->cid;
	bool skip = fd < 0 || c->drop || c->eof;
	pthread_mutex_unlock(&a->lock);
	if (skip)
		return;
	char buf[4096];
	size_t got = 0;
	bool eof = false, dead = false;
	while (got < READ_BUDGET) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			eof = n == 0;
			dead = n < 0;
			break;
		}
		got += (size_t)n;
		if (api_linebuf_add(&c->in, buf, (size_t)n) < 0) {
			dead = true;
			break;
		}
	}
	const char *line;
	size_t len;
	enum api_line k;
	bool progressed = false;
	while (!dead && !dropped(a, c) &&
	       (k = api_linebuf_next(&c->in, &line, &len)) != API_LINE_NONE) {
		progressed = true;
		c->last_ns = evloop_now_ns();
		if (k == API_LINE_TOO_LONG) {
			char msg[64];
			snprintf(msg, sizeof(msg), "request longer than %u bytes",
				 API_LINE_MAX);
			reply_err(a, cid, NULL, "EMSGSIZE", msg);
			continue;
		}
		if (len)
			handle_line(a, cid, line, len);
	}
	/* The partial-line clock runs from the last complete line. */
	bool partial = api_linebuf_partial(&c->in);
	if (!partial)
		c->partial_ns = 0;
	else if (!c->partial_ns || progressed)
		c->partial_ns = evloop_now_ns();
	pthread_mutex_lock(&a->lock);
	if (c->cid == cid) {
		if (dead)
			c->drop = true;
		/* A peer that hung up stays readable (or HUP) for ever: stop
		 * watching it, or the loop would spin while its reply is still
		 * being made (the job's wake-up and the 1 s tick flush it). */
		if (eof && !dead && epoll_ctl(a->epfd, EPOLL_CTL_DEL, fd,
					      NULL) == 0)
			c->unwatched = true;
		if (eof)
			c->eof = true;
	}
	pthread_mutex_unlock(&a->lock);
}

/* ---- threads ---------------------------------------------------------- */

static void ready(struct api *a)
{
	pthread_mutex_lock(&a->lock);
	a->nready++;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

static void *sock_thread(void *arg)
{
	struct api *a = arg;
	ready(a);
	struct epoll_event evs[32];
	for (;;) {
		pthread_mutex_lock(&a->lock);
		bool quit = a->quit;
		pthread_mutex_unlock(&a->lock);
		if (quit)
			break;
		uint64_t now = evloop_now_ns();
		int ms = 1000;
		uint64_t due[2] = { a->stop_deadline_ns, a->stop_next_ns };
		for (int k = 0; k < 2; k++) {
			if (!due[k])
				continue;
			uint64_t left = due[k] > now ?
				(due[k] - now) / 1000000 + 1 : 0;
			if (left < (uint64_t)ms)
				ms = (int)left;
		}
		int n = epoll_wait(a->epfd, evs, 32, ms);
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag == TAG_LISTEN) {
				accept_clients(a);
			} else if (tag == TAG_WAKE) {
				uint64_t v;
				ssize_t r = read(a->wake_fd, &v, sizeof(v));
				(void)r;
			} else if (tag - TAG_CLIENT < API_MAX_CLIENTS &&
				   (evs[i].events & (EPOLLIN | EPOLLHUP |
						     EPOLLERR))) {
				serve_client(a, (unsigned)(tag - TAG_CLIENT));
			}
		}
		now = evloop_now_ns();
		flush_all(a, now);
		stop_step(a, now);
	}
	return NULL;
}

static void on_snapshot_progress(void *opaque, uint64_t done, uint64_t total)
{
	struct api *a = opaque;
	uint64_t now = evloop_now_ns();
	if (done < total && now - a->job_progress_ns < PROGRESS_EVERY_NS)
		return;
	a->job_progress_ns = now;
	struct json_object *d = json_object_new_object();
	if (!d || !add(d, "done", json_object_new_int64((int64_t)done)) ||
	    !add(d, "total", json_object_new_int64((int64_t)total))) {
		json_object_put(d);
		return;
	}
	pthread_mutex_lock(&a->lock);
	struct client *c = by_cid(a, a->job_cid);
	if (c)
		queue_locked(c, api_event("snapshot-progress", wall_ns(), d));
	pthread_mutex_unlock(&a->lock);
	json_object_put(d);
	wake(a);
}

static void *job_thread(void *arg)
{
	struct api *a = arg;
	ready(a);
	pthread_mutex_lock(&a->lock);
	for (;;) {
		while (!a->job_pending && !a->quit)
			pthread_cond_wait(&a->cond, &a->lock);
		if (a->quit)
			break;
		a->job_pending = false;
		a->job_busy = true;
		struct api_request r = a->job;
		uint64_t cid = a->job_cid;
		pthread_mutex_unlock(&a->lock);

		a->job_progress_ns = 0;
		unsigned flags = (r.diff ? SNAPSHOT_DIFF : 0) |
				 (r.no_disk_state ? SNAPSHOT_NO_DISK_STATE : 0);
		struct err e = { 0 };
		int rc = vm_snapshot(a->vm, r.dir, flags, on_snapshot_progress,
				     a, &e);
		if (rc < 0) {
			reply_rc(a, cid, r.id, rc, &e);
		} else {
			struct json_object *res = json_object_new_object();
			if (res && !add(res, "dir", json_object_new_string(r.dir))) {
				json_object_put(res);
				res = NULL;
			}
			reply_ok(a, cid, r.id, res);
			struct json_object *d = json_object_new_object();
			if (d && add(d, "dir", json_object_new_string(r.dir)))
				event(a, "snapshot", d, 0);
			else
				json_object_put(d);
		}
		api_request_free(&r);
		pthread_mutex_lock(&a->lock);
		struct client *c = by_cid(a, cid);
		if (c)
			c->busy = false;
		a->job_busy = false;
		/* A client that said EOF is closed once its reply is out. */
		wake(a);
	}
	/* A request queued but never run. */
	if (a->job_pending)
		api_request_free(&a->job);
	a->job_pending = false;
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* ---- VM events -------------------------------------------------------- */

void api_vm_event(void *opaque, enum vm_event ev, int code)
{
	struct api *a = opaque;
	const char *name = "shutdown", *reason = NULL;
	switch (ev) {
	case VM_EVENT_POWEROFF: reason = "poweroff"; break;
	case VM_EVENT_RESET: name = "reset"; break;
	case VM_EVENT_REBOOT: reason = "reboot"; break;
	case VM_EVENT_TEST_EXIT: reason = "test-exit"; break;
	case VM_EVENT_QUIT: reason = "quit"; break;
	case VM_EVENT_ERROR: reason = "error"; break;
	case VM_EVENT_MIGRATED: reason = "migrated"; break;
	}
	struct json_object *d = json_object_new_object();
	if (!d)
		return;
	if (reason && (!add(d, "reason", json_object_new_string(reason)) ||
		       !add(d, "code", json_object_new_int(code)))) {
		json_object_put(d);
		return;
	}
	if (ev == VM_EVENT_ERROR) {
		struct json_object *e = json_object_new_object();
		if (e && add(e, "code", json_object_new_int(code)))
			event(a, "error", e, 0);
		else
			json_object_put(e);
	}
	event(a, name, d, 0);
}

/* ---- set-up and tear-down --------------------------------------------- */

static int fill_addr(struct sockaddr_un *sa, const char *path,
		     struct err *errp)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return err_set(errp, ENAMETOOLONG, "--api: socket path `%s` "
			       "longer than %zu bytes", path,
			       sizeof(sa->sun_path) - 1);
	strcpy(sa->sun_path, path);
	return 0;
}

/* A socket file at path that nobody listens on may be replaced; anything
 * else there is an error. */
static int check_stale(const char *path, struct err *errp)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 :
			err_sys(errp, errno, "--api: `%s`", path);
	if (!S_ISSOCK(st.st_mode))
		return err_set(errp, EEXIST, "--api: `%s` exists and is not a "
			       "socket", path);
	struct sockaddr_un sa;
	int rc = fill_addr(&sa, path, errp);
	if (rc)
		return rc;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_sys(errp, errno, "socket");
	int c = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	close(fd);
	if (c == 0 || e == EAGAIN)
		return err_set(errp, EADDRINUSE, "--api: `%s` is in use by "
			       "another VM", path);
	if (e != ECONNREFUSED && e != ENOENT)
		return err_sys(errp, e, "--api: probe `%s`", path);
	return 0;
}

static int listen_at(struct api *a, const char *path, struct err *errp)
{
	int rc = check_stale(path, errp);
	if (rc)
		return rc;
	/* Bound under a temporary name and renamed into place: a client
	 * never finds the socket before its mode is 0600, and a stale one
	 * is replaced atomically. */
	char tmp[sizeof(((struct sockaddr_un *)0)->sun_path) + 32];
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	struct sockaddr_un sa;
	if ((rc = fill_addr(&sa, tmp, errp)) < 0)
		return rc;
	a->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->lfd < 0)
		return err_sys(errp, errno, "socket");
	unlink(tmp);
	if (bind(a->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return err_sys(errp, errno, "--api: bind `%s`", tmp);
	if (chmod(tmp, 0600) < 0 || listen(a->lfd, API_MAX_CLIENTS) < 0 ||
	    rename(tmp, path) < 0) {
		rc = err_sys(errp, errno, "--api: set up `%s`", path);
		unlink(tmp);
		return rc;
	}
	return 0;
}

static int open_dir(struct api *a, const char *path, struct err *errp)
{
	const char *slash = strrchr(path, '/');
	a->name = strdup(slash ? slash + 1 : path);
	char *dir = slash ? strndup(path, slash == path ? 1 :
				    (size_t)(slash - path)) : strdup(".");
	if (!a->name || !dir) {
		free(dir);
		return err_set(errp, ENOMEM, "out of memory");
	}
	a->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int rc = a->dirfd < 0 ?
		err_sys(errp, errno, "--api: directory `%s`", dir) : 0;
	free(dir);
	return rc;
}

static int watch(struct api *a, int fd, uint64_t tag, struct err *errp)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
	return epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ?
		err_sys(errp, errno, "epoll_ctl") : 0;
}

static void free_api(struct api *a)
{
	if (a->lfd >= 0)
		close(a->lfd);
	if (a->epfd >= 0)
		close(a->epfd);
	if (a->wake_fd >= 0)
		close(a->wake_fd);
	if (a->dirfd >= 0)
		close(a->dirfd);
	json_object_put(a->mig_id);
	free(a->name);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

int api_open(const char *path, struct api **out, struct err *errp)
{
	if (!path || !*path)
		return err_set(errp, EINVAL, "--api: empty socket path");
	struct api *a = calloc(1, sizeof(*a));
	if (!a)
		return err_set(errp, ENOMEM, "out of memory");
	a->lfd = a->epfd = a->wake_fd = a->dirfd = -1;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	for (unsigned i = 0; i < API_MAX_CLIENTS; i++)
		a->c[i].fd = -1;
	int rc;
	if ((rc = open_dir(a, path, errp)) < 0)
		goto fail;
	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	a->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->epfd < 0 || a->wake_fd < 0) {
		rc = err_sys(errp, errno, "--api: epoll/eventfd");
		goto fail;
	}
	if ((rc = listen_at(a, path, errp)) < 0)
		goto fail;
	if ((rc = watch(a, a->lfd, TAG_LISTEN, errp)) < 0 ||
	    (rc = watch(a, a->wake_fd, TAG_WAKE, errp)) < 0) {
		unlinkat(a->dirfd, a->name, 0);
		goto fail;
	}
	*out = a;
	return 0;
fail:
	free_api(a);
	return rc;
}

int api_start(struct api *a, struct vm *vm, struct err *errp)
{
	/* Set once (NULL -> vm), under the lock: the socket thread reads it
	 * there before any command, and nothing changes it afterwards. */
	pthread_mutex_lock(&a->lock);
	if (vm) {
		a->vm = vm;
		a->start_ns = evloop_now_ns();
	}
	pthread_mutex_unlock(&a->lock);
	if (a->sock_thread)
		return 0;
	int rc = pthread_create(&a->tid, NULL, sock_thread, a);
	if (rc)
		return err_sys(errp, rc, "--api: cannot create a thread");
	a->sock_thread = true;
	rc = pthread_create(&a->jtid, NULL, job_thread, a);
	if (rc)
		return err_sys(errp, rc, "--api: cannot create a thread");
	a->job_thread = true;
	/* The sandbox comes next and refuses what a starting thread does. */
	pthread_mutex_lock(&a->lock);
	while (a->nready < 2)
		pthread_cond_wait(&a->cond, &a->lock);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

int api_dirfd(const struct api *a)
{
	return a->dirfd;
}

void api_close(struct api *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->quit = true;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	wake(a);
	if (a->sock_thread)
		pthread_join(a->tid, NULL);
	if (a->job_thread)
		pthread_join(a->jtid, NULL);
	if (a->mig) {
		migrate_cancel(a->mig);
		migrate_free(a->mig);
		a->mig = NULL;
	}
	if (a->paused && a->vm)
		vm_resume(a->vm);
	/* Last words (the reply to `quit`, the shutdown event) go out if
	 * the socket takes them now. */
	pthread_mutex_lock(&a->lock);
	for (unsigned i = 0; i < API_MAX_CLIENTS; i++) {
		struct client *c = &a->c[i];
		if (c->fd < 0)
			continue;
		if (c->out_len && !c->drop) {
			ssize_t r = send(c->fd, c->out, c->out_len,
					 MSG_DONTWAIT | MSG_NOSIGNAL);
			(void)r;
		}
		close_client_locked(a, c);
	}
	pthread_mutex_unlock(&a->lock);
	unlinkat(a->dirfd, a->name, 0);
	free_api(a);
}
