/* The VM handle (vm.h): threads, pause/resume, stop and events around a
 * board.
 *
 * Threads and locks.  Each vCPU thread loops: wait while the VM is not
 * started, paused or handling a stop request; otherwise run the engine
 * until it is kicked.  The I/O thread loops: wait in the event loop
 * (callbacks run under the device lock), poll the board, and act on the
 * guest's stop requests.  vm->lock guards the fields marked (L) and is a
 * leaf: nothing else is taken while it is held, so the board's exit hook
 * may take it from under the device lock.  A pause is a request counter
 * plus a count of parked threads: the pauser kicks every vCPU, wakes the
 * I/O thread and waits until all of them are parked. */
#include "vm.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "board/virt/virt.h"
#include "core/evloop.h"
#include "core/guest_mem.h"
#include "vmm/api.h"
#include "vmm/engine.h"
#include "vmm/sandbox.h"
#include "vmm/snapshot.h"
#include "vmm/vm_int.h"

struct vm_thread {
	struct vm *vm;
	unsigned idx;        /* vCPU index; the I/O thread is n */
	pthread_t tid;
	bool created;
	bool parked;         /* (L) counted in vm->nparked */
	bool ready;          /* (L) counted in vm->nready */
};

struct vm {
	struct vm_config cfg;
	struct evloop loop;
	bool loop_ok;
	int wake_fd;         /* eventfd in the loop: wakes the I/O thread */
	struct virt_board *board;
	const struct engine_ops *eng;
	unsigned n;          /* vCPUs */
	struct vm_thread t[VM_MAX_CPUS + 1];

	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool started;        /* (L) vm_start was called */
	bool stopping;       /* (L) threads leave their loops */
	bool ended;          /* (L) the I/O thread has left: VM over */
	bool exit_pending;   /* (L) the guest asked to stop; I/O handles it */
	bool stop_request;   /* (L) vm_stop() */
	bool migrated;       /* (L) vm_end_migrated(): the end's event */
	unsigned pause_req;  /* (L) vm_pause nesting + the I/O thread's own */
	unsigned nparked;    /* (L) threads parked by pause_req */
	unsigned nready;     /* (L) threads that reached their loop */
	int status;          /* (L) exit status, valid once ended */
	vm_event_fn *on_event;
	void *opaque;
	struct api *api;     /* the control socket vm_run serves, or NULL */
	struct snapshot_track *snap;  /* vmm/snapshot.c's */
};

static void wake_io(struct vm *vm)
{
	uint64_t one = 1;
	/* A full counter already means "wake up". */
	ssize_t r = write(vm->wake_fd, &one, sizeof(one));
	(void)r;
}

static void on_wake(void *opaque, int fd, uint32_t events)
{
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof(v));
	(void)r;
	(void)opaque;
	(void)events;
}

/* The board's exit hook: record, kick nobody (the engine kicked its
 * vCPUs), wake the I/O thread. */
static void on_guest_exit(void *opaque)
{
	struct vm *vm = opaque;
	pthread_mutex_lock(&vm->lock);
	vm->exit_pending = true;
	pthread_mutex_unlock(&vm->lock);
	wake_io(vm);
}

static void kick_all(struct vm *vm)
{
	for (unsigned i = 0; i < vm->n; i++)
		vm->eng->vcpu_kick(virt_vcpu(vm->board, i));
}

/* Park the calling thread while it must not run.  `vcpu`: also wait
 * while a guest stop request is pending (the I/O thread handles it; the
 * engine would return at once).  Returns false when the thread must
 * leave.  Called and returns with vm->lock held. */
static bool wait_runnable(struct vm_thread *t, bool vcpu)
{
	struct vm *vm = t->vm;
	if (!t->ready) {
		t->ready = true;
		vm->nready++;
		pthread_cond_broadcast(&vm->cond);
	}
	for (;;) {
		if (vm->stopping)
			break;
		bool hold = !vm->started || vm->pause_req ||
			    (vcpu && vm->exit_pending);
		if (!hold)
			break;
		if (vm->pause_req && !t->parked) {
			t->parked = true;
			vm->nparked++;
			pthread_cond_broadcast(&vm->cond);
		}
		pthread_cond_wait(&vm->cond, &vm->lock);
	}
	if (t->parked) {
		t->parked = false;
		vm->nparked--;
	}
	return !vm->stopping;
}

static void *vcpu_thread(void *arg)
{
	struct vm_thread *t = arg;
	struct vm *vm = t->vm;
	struct vcpu *v = virt_vcpu(vm->board, t->idx);
	for (;;) {
		pthread_mutex_lock(&vm->lock);
		bool run = wait_runnable(t, true);
		pthread_mutex_unlock(&vm->lock);
		if (!run)
			break;
		vm->eng->vcpu_run(v);
	}
	return NULL;
}

/* From the I/O thread: stop the vCPUs (not itself) and wait for them. */
static void park_vcpus(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->pause_req++;
	/* A vCPU already held (waiting for this very stop request) must
	 * wake to count itself parked. */
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	kick_all(vm);
	pthread_mutex_lock(&vm->lock);
	while (vm->nparked < vm->n && !vm->stopping)
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
}

static void unpark_vcpus(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->pause_req--;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

static void emit(struct vm *vm, enum vm_event ev, int code)
{
	if (vm->on_event)
		vm->on_event(vm->opaque, ev, code);
}

/* End the VM with `status` after `ev`. */
static void finish(struct vm *vm, enum vm_event ev, int code, int status)
{
	emit(vm, ev, code);
	pthread_mutex_lock(&vm->lock);
	vm->status = status;
	vm->stopping = true;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	kick_all(vm);
}

/* Act on the guest's stop request.  Returns false when the VM ends. */
static bool handle_exit(struct vm *vm)
{
	int code = 0;
	enum virt_exit r = virt_exit_reason(vm->board, &code);
	switch (r) {
	case VIRT_EXIT_REBOOT:
		if (vm->cfg.no_reboot) {
			finish(vm, VM_EVENT_REBOOT, 0, 0);
			return false;
		}
		park_vcpus(vm);
		struct err e = { 0 };
		int rc = virt_reset(vm->board, &e);
		pthread_mutex_lock(&vm->lock);
		vm->exit_pending = false;
		pthread_mutex_unlock(&vm->lock);
		if (rc < 0) {
			fprintf(stderr, "ringvm: %s\n", e.msg);
			unpark_vcpus(vm);
			finish(vm, VM_EVENT_ERROR, rc, 1);
			return false;
		}
		emit(vm, VM_EVENT_RESET, 0);
		unpark_vcpus(vm);
		return true;
	case VIRT_EXIT_POWEROFF:
	case VIRT_EXIT_HTIF:
		if (code)
			fprintf(stderr, "ringvm: guest reported failure "
				"(code %d)\n", code);
		finish(vm, r == VIRT_EXIT_HTIF ? VM_EVENT_TEST_EXIT :
		       VM_EVENT_POWEROFF, code, code ? 3 : 0);
		return false;
	case VIRT_EXIT_ERROR:
		finish(vm, VM_EVENT_ERROR, code, 1);
		return false;
	case VIRT_EXIT_USER:
	case VIRT_EXIT_NONE:
	default:
		finish(vm, VM_EVENT_QUIT, 0, 0);
		return false;
	}
}

static void *io_thread(void *arg)
{
	struct vm_thread *t = arg;
	struct vm *vm = t->vm;
	struct bus *bus = virt_bus(vm->board);
	for (;;) {
		pthread_mutex_lock(&vm->lock);
		bool run = wait_runnable(t, false);
		bool ex = vm->exit_pending, stop = vm->stop_request;
		bool mig = vm->migrated;
		pthread_mutex_unlock(&vm->lock);
		if (!run) {
			/* vm_end_migrated stops a paused VM: nothing else
			 * tells the owner why it ended. */
			if (mig)
				emit(vm, VM_EVENT_MIGRATED, 0);
			break;
		}
		if (stop) {
			finish(vm, VM_EVENT_QUIT, 0, 0);
			break;
		}
		if (ex) {
			if (!handle_exit(vm))
				break;
			continue;
		}
		evloop_poll(&vm->loop, virt_timeout_ms(vm->board));
		bus_lock(bus);
		virt_poll(vm->board);
		bus_unlock(bus);
	}
	pthread_mutex_lock(&vm->lock);
	vm->ended = true;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	return NULL;
}

static int spawn(struct vm *vm, unsigned i, void *(*fn)(void *),
		 struct err *errp)
{
	struct vm_thread *t = &vm->t[i];
	t->vm = vm;
	t->idx = i;
	int rc = pthread_create(&t->tid, NULL, fn, t);
	if (rc)
		return err_sys(errp, rc, "cannot create a thread for the VM");
	t->created = true;
	return 0;
}

static void join_all(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->stopping = true;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	if (vm->board)
		kick_all(vm);
	if (vm->wake_fd >= 0)
		wake_io(vm);
	for (unsigned i = 0; i <= vm->n; i++) {
		if (vm->t[i].created)
			pthread_join(vm->t[i].tid, NULL);
		vm->t[i].created = false;
	}
}

int vm_create(const struct vm_config *cfg, vm_event_fn *on_event,
	      void *opaque, struct vm **out, struct err *errp)
{
	if (cfg->cpus == 0 || cfg->cpus > VM_MAX_CPUS)
		return err_set(errp, EINVAL, "--cpus %u: 1 to %d", cfg->cpus,
			       VM_MAX_CPUS);
	struct vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return err_set(errp, ENOMEM, "out of memory");
	vm->cfg = *cfg;
	vm->on_event = on_event;
	vm->opaque = opaque;
	vm->wake_fd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);

	int rc = evloop_init(&vm->loop, errp);
	if (rc < 0)
		goto fail;
	vm->loop_ok = true;
	vm->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->wake_fd < 0) {
		rc = err_sys(errp, errno, "eventfd");
		goto fail;
	}
	if ((rc = evloop_add(&vm->loop, vm->wake_fd, EPOLLIN, on_wake, vm,
			     errp)) < 0 ||
	    (rc = virt_create(&vm->cfg, &vm->loop, on_guest_exit, vm,
			      &vm->board, errp)) < 0)
		goto fail;
	evloop_set_lock(&vm->loop, &virt_bus(vm->board)->lock);
	vm->eng = virt_engine(vm->board);
	vm->n = virt_nvcpus(vm->board);
	if ((rc = virt_console_open(vm->board, errp)) < 0)
		goto fail;
	for (unsigned i = 0; i < vm->n; i++)
		if ((rc = spawn(vm, i, vcpu_thread, errp)) < 0)
			goto fail;
	if ((rc = spawn(vm, vm->n, io_thread, errp)) < 0)
		goto fail;
	/* A thread still starting makes calls (rseq, sigaltstack...) that
	 * the sandbox would refuse: wait until all are in their loops. */
	pthread_mutex_lock(&vm->lock);
	while (vm->nready < vm->n + 1)
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
	*out = vm;
	return 0;
fail:
	vm_destroy(vm);
	return rc;
}

int vm_enter_sandbox(struct vm *vm, struct err *errp)
{
	struct sandbox_vmm o = { 0 };
	for (unsigned i = 0; i < vm->cfg.nnics; i++) {
		const char *s = vm->cfg.nics[i].spec;
		size_t k = strcspn(s, ",");
		if (k == 4 && !strncmp(s, "user", 4))
			o.net_user = true;
		else if (k == 6 && !strncmp(s, "switch", 6))
			o.net_switch = true;
	}
	if (vm->api) {
		o.api = true;
		o.api_dirfd = api_dirfd(vm->api);
		/* Migration is started through the control socket only. */
		o.migrate = true;
		o.snapshot = true;  /* `ctl snapshot` (vmm/snapshot.c) */
	}
	return sandbox_enter_vmm(&o, errp);
}

int vm_start(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	bool was = vm->started;
	/* A loaded state stopped guest time (virt_load): it goes on now. */
	if (!was)
		virt_clock_start(vm->board);
	vm->started = true;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	return was ? -EINVAL : 0;
}

int vm_pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->started || vm->ended || vm->stopping) {
		pthread_mutex_unlock(&vm->lock);
		return -ESRCH;
	}
	bool first = vm->pause_req++ == 0;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	kick_all(vm);
	wake_io(vm);
	pthread_mutex_lock(&vm->lock);
	while (vm->nparked < vm->n + 1 && !vm->stopping)
		pthread_cond_wait(&vm->cond, &vm->lock);
	bool ok = !vm->stopping;
	pthread_mutex_unlock(&vm->lock);
	if (!ok) {
		vm_resume(vm);
		return -ESRCH;
	}
	if (first) {
		virt_quiesce(vm->board);
		virt_clock_stop(vm->board);
	}
	return 0;
}

int vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->pause_req) {
		pthread_mutex_unlock(&vm->lock);
		return -EINVAL;
	}
	/* Every thread is parked (or the VM ended): the clock is ours. */
	if (vm->pause_req == 1 && !vm->stopping)
		virt_clock_start(vm->board);
	vm->pause_req--;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

void vm_stop(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->stop_request = true;
	/* A paused VM ends too: its threads leave their parking. */
	if (vm->pause_req || !vm->started) {
		vm->status = 0;
		vm->stopping = true;
		pthread_cond_broadcast(&vm->cond);
	}
	pthread_mutex_unlock(&vm->lock);
	kick_all(vm);
	wake_io(vm);
}

void vm_end_migrated(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->migrated = true;
	pthread_mutex_unlock(&vm->lock);
	vm_stop(vm);
}

struct block_dev *vm_disk(struct vm *vm, unsigned i)
{
	return virt_disk(vm->board, i);
}

void vm_wait(struct vm *vm, int *status)
{
	pthread_mutex_lock(&vm->lock);
	while (!vm->ended)
		pthread_cond_wait(&vm->cond, &vm->lock);
	*status = vm->status;
	pthread_mutex_unlock(&vm->lock);
	join_all(vm);
	virt_console_close(vm->board);
}

int vm_sysrq(struct vm *vm, char key)
{
	pthread_mutex_lock(&vm->lock);
	bool live = vm->started && !vm->stopping && !vm->ended;
	pthread_mutex_unlock(&vm->lock);
	if (!live)
		return -ESRCH;
	struct bus *bus = virt_bus(vm->board);
	bus_lock(bus);
	int rc = virt_console_sysrq(vm->board, key);
	bus_unlock(bus);
	return rc;
}

int vm_power_button(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	bool live = vm->started && !vm->stopping && !vm->ended;
	pthread_mutex_unlock(&vm->lock);
	if (!live)
		return -ESRCH;
	struct bus *bus = virt_bus(vm->board);
	bus_lock(bus);
	int rc = virt_power_button(vm->board);
	bus_unlock(bus);
	return rc;
}

/* With every vCPU parked: make each report its next stores again. */
static void dirty_sync_all(struct vm *vm)
{
	if (!vm->eng->dirty_log_sync)
		return;
	for (unsigned i = 0; i < vm->n; i++)
		vm->eng->dirty_log_sync(virt_vcpu(vm->board, i));
}

int vm_dirty_log_start(struct vm *vm, struct err *errp)
{
	bool paused = vm_pause(vm) == 0;
	int rc = guest_mem_dirty_log_start(virt_mem(vm->board), errp);
	if (rc == 0)
		dirty_sync_all(vm);
	if (paused)
		vm_resume(vm);
	return rc;
}

int64_t vm_dirty_log_fetch(struct vm *vm, unsigned region, uint64_t *bitmap)
{
	struct guest_mem *mem = virt_mem(vm->board);
	if (region >= mem->nr || !guest_mem_logging(mem))
		return -EINVAL;
	/* Fetch and re-arm at one instant: a store between the two would
	 * be in neither this bitmap nor (through a stale fast path) the
	 * next. */
	bool paused = vm_pause(vm) == 0;
	uint64_t n = guest_mem_dirty_fetch(mem, region, bitmap);
	dirty_sync_all(vm);
	if (paused)
		vm_resume(vm);
	return (int64_t)n;
}

void vm_dirty_log_stop(struct vm *vm)
{
	bool paused = vm_pause(vm) == 0;
	guest_mem_dirty_log_stop(virt_mem(vm->board));
	if (paused)
		vm_resume(vm);
}

uint64_t vm_ram_size(struct vm *vm, unsigned region)
{
	struct guest_mem *mem = virt_mem(vm->board);
	return region < mem->nr ? mem->r[region].size : 0;
}

struct virt_board *vm_board(struct vm *vm)
{
	return vm->board;
}

const struct vm_config *vm_cfg(const struct vm *vm)
{
	return &vm->cfg;
}

bool vm_quiet(struct vm *vm, bool *started)
{
	pthread_mutex_lock(&vm->lock);
	*started = vm->started;
	bool quiet = !vm->started ||
		     (vm->pause_req && vm->nparked == vm->n + 1);
	pthread_mutex_unlock(&vm->lock);
	return quiet;
}

struct guest_mem *vm_mem(struct vm *vm)
{
	return virt_mem(vm->board);
}

uint64_t vm_instret(const struct vm *vm)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < vm->n; i++)
		n += vm->eng->vcpu_instret(virt_vcpu(vm->board, i));
	return n;
}

const struct vm_config *vm_get_config(const struct vm *vm)
{
	return &vm->cfg;
}

const char *vm_engine_name(const struct vm *vm)
{
	return vm->eng->name;
}

int vm_replace_disk(struct vm *vm, unsigned i, struct block_dev *bd)
{
	return virt_replace_disk(vm->board, i, bd);
}

struct snapshot_track **vm_snapshot_track(struct vm *vm)
{
	return &vm->snap;
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	join_all(vm);
	snapshot_track_free(vm->snap);
	virt_destroy(vm->board);
	if (vm->loop_ok)
		evloop_free(&vm->loop);
	if (vm->wake_fd >= 0)
		close(vm->wake_fd);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

int vm_run_created(struct vm *vm, struct api *api, int *status,
		   struct err *errp)
{
	int rc;
	vm->api = api;
	if ((vm->cfg.prepare &&
	     (rc = vm->cfg.prepare(vm->cfg.prepare_opaque, vm, errp)) < 0) ||
	    (api && (rc = api_start(api, vm, errp)) < 0) ||
	    (!vm->cfg.seccomp_off && (rc = vm_enter_sandbox(vm, errp)) < 0)) {
		api_close(api);
		vm_destroy(vm);
		return rc;
	}
	sandbox_test_probe();
	uint64_t t0 = evloop_now_ns();
	vm_start(vm);
	vm_wait(vm, status);
	if (vm->cfg.stats)
		virt_print_stats(vm->board, (evloop_now_ns() - t0) / 1e9);
	api_close(api);
	vm_destroy(vm);
	return 0;
}

int vm_run(const struct vm_config *cfg, int *status, struct err *errp)
{
	struct vm *vm;
	struct api *api = NULL;
	int rc;
	if (cfg->api && (rc = api_open(cfg->api, &api, errp)) < 0)
		return rc;
	rc = vm_create(cfg, api ? api_vm_event : NULL, api, &vm, errp);
	if (rc < 0) {
		api_close(api);
		return rc;
	}
	return vm_run_created(vm, api, status, errp);
}
