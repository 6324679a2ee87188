/* libFuzzer target: hostile bytes on the VM's control socket.
 *
 * Each input goes two ways: (1) through the line splitter (in chunks the
 * input's own bytes choose) and the request parser, every reply or error
 * serialized and checked to be one line of valid JSON; (2) to a real
 * control socket server (src/vmm/api.c, its threads and dispatcher) serving
 * a fake VM defined below, as one client that sends the input, then reads
 * until the server closes the connection — which it must do, without
 * crashing or hanging, whatever the input asked for (pause, stop, snapshot,
 * migrate...).  The fake VM's calls only count and report progress; the
 * first 63 inputs find the server without a VM (api_start(NULL), as
 * during --incoming). */
#include <json-c/json.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include "fuzz_tmpdir.h"
#include "vmm/api.h"
#include "vmm/api_proto.h"
#include "vmm/migrate.h"
#include "vmm/snapshot.h"
#include "vmm/vm_int.h"

/* ---- the fake VM ------------------------------------------------------- */

struct vm {
	pthread_mutex_t lock;
	unsigned pauses;
	uint64_t instret;
	struct vm_config cfg;
};

const struct vm_config *vm_cfg(const struct vm *vm)
{
	return &vm->cfg;
}

int vm_pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->pauses++;
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

int vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	int rc = vm->pauses ? 0 : -EINVAL;
	if (vm->pauses)
		vm->pauses--;
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

void vm_stop(struct vm *vm)
{
	(void)vm;
}

int vm_sysrq(struct vm *vm, char key)
{
	(void)vm;
	return key == 'u' ? -EAGAIN : 0;   /* retried by the server */
}

int vm_power_button(struct vm *vm)
{
	(void)vm;
	return -ENODEV;   /* the SysRq path, as without a button */
}

uint64_t vm_instret(const struct vm *vm)
{
	return vm->instret;
}

int vm_snapshot(struct vm *vm, const char *dir, unsigned flags,
		snapshot_progress_fn *progress, void *opaque, struct err *errp)
{
	if (progress) {
		progress(opaque, 0, 100);
		progress(opaque, 100, 100);
	}
	/* Both outcomes, chosen by the hostile directory name. */
	return strlen(dir) % 2 ? 0 : err_set(errp, ENOSPC, "fake: no space");
}

struct migration {
	struct migrate_status st;
};

int migrate_start(struct vm *vm, const struct migrate_opts *o,
		  migrate_event_fn *on_event, void *opaque,
		  struct migration **out, struct err *errp)
{
	if (strncmp(o->uri, "tcp:", 4) && strncmp(o->uri, "unix:", 5))
		return err_set(errp, EINVAL, "fake: bad URI");
	struct migration *m = calloc(1, sizeof(*m));
	if (!m)
		return err_set(errp, ENOMEM, "out of memory");
	m->st.state = MIGRATE_ACTIVE;
	m->st.ram_total = 1 << 20;
	if (on_event)
		on_event(opaque, &m->st);
	/* Ends at once, in one of its three ways. */
	size_t n = strlen(o->uri);
	m->st.state = n % 3 == 0 ? MIGRATE_COMPLETED : n % 3 == 1 ?
		MIGRATE_FAILED : MIGRATE_CANCELLED;
	snprintf(m->st.error, sizeof(m->st.error), "fake failure \"%s\"",
		 o->uri);
	if (on_event)
		on_event(opaque, &m->st);
	*out = m;
	return 0;
}

void migrate_status(struct migration *m, struct migrate_status *st)
{
	*st = m->st;
}

void migrate_cancel(struct migration *m)
{
	(void)m;
}

void migrate_free(struct migration *m)
{
	free(m);
}

/* ---- (1) the pure parser ------------------------------------------------- */

static void check_line(char *line)
{
	if (!line)
		return;   /* out of memory */
	size_t n = strlen(line);
	if (n < 2 || line[n - 1] != '\n' || memchr(line, '\n', n - 1))
		__builtin_trap();   /* a reply is exactly one line */
	struct json_object *j = json_tokener_parse(line);
	if (!json_object_is_type(j, json_type_object))
		__builtin_trap();
	json_object_put(j);
	free(line);
}

static void parse_all(const uint8_t *data, size_t size)
{
	struct api_linebuf lb = { 0 };
	size_t off = 0;
	while (off < size) {
		/* Chunk sizes from the input: 1..256 bytes. */
		size_t k = 1 + data[off] % 256;
		if (k > size - off)
			k = size - off;
		if (api_linebuf_add(&lb, data + off, k) < 0)
			break;
		off += k;
		const char *line;
		size_t len;
		enum api_line r;
		while ((r = api_linebuf_next(&lb, &line, &len)) != API_LINE_NONE) {
			if (r == API_LINE_TOO_LONG)
				continue;
			struct api_request req;
			const char *code;
			struct err e = { 0 };
			if (api_request_parse(line, len, &req, &code, &e) < 0) {
				if (!e.msg[0] || !code)
					__builtin_trap();
				check_line(api_reply_error(req.id, code, e.msg));
			} else {
				check_line(api_reply_ok(req.id, NULL));
			}
			api_request_free(&req);
		}
	}
	api_linebuf_free(&lb);
}

/* ---- (2) the server ---------------------------------------------------- */

static struct vm fake_vm = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cfg = {
		.cpus = 2, .mem = 64 << 20, .ndisks = 1,
		.disks = { { .path = "disk \"0\".img", .read_only = true } },
		.nnics = 1,
		.nics = { { .spec = "user,hostfwd=tcp::2222-:22", .has_mac = true,
			    .mac = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 } } },
	},
};
static struct api *server;
static char sock_path[256];

static void stop_server(void)
{
	api_close(server);
}

static void start_server(void)
{
	const char *dir = fuzz_tmpdir();
	snprintf(sock_path, sizeof(sock_path), "%s/api.sock", dir);
	struct err e = { 0 };
	/* Served without a VM first (as while --incoming receives it); the
	 * VM is handed over after a while (one_client). */
	if (api_open(sock_path, &server, &e) < 0 ||
	    api_start(server, NULL, &e) < 0) {
		fprintf(stderr, "fuzz_api: %s\n", e.msg);
		abort();
	}
	atexit(stop_server);   /* before the directory's removal */
}

static void one_client(const uint8_t *data, size_t size)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort();
	/* Bounded waits: a server that never closes is a hang (a bug). */
	struct timeval tv = { .tv_sec = 20 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (size_t off = 0; off < size;) {
		ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;   /* the server dropped us: allowed */
		off += (size_t)n;
	}
	ssize_t n = send(fd, "\n", 1, MSG_NOSIGNAL);
	(void)n;
	shutdown(fd, SHUT_WR);
	struct api_linebuf lb = { 0 };
	char buf[65536];
	for (;;) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			__builtin_trap();   /* the server kept us open */
		if (r <= 0)
			break;
		if (api_linebuf_add(&lb, buf, (size_t)r) < 0)
			break;
		const char *line;
		size_t len;
		enum api_line k;
		while ((k = api_linebuf_next(&lb, &line, &len)) != API_LINE_NONE) {
			struct json_object *j = k == API_LINE_OK ?
				json_tokener_parse(line) : NULL;
			if (!json_object_is_type(j, json_type_object))
				__builtin_trap();   /* the server sent garbage */
			json_object_put(j);
		}
	}
	api_linebuf_free(&lb);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned inputs;
	if (!server)
		start_server();
	if (++inputs == 64 && api_start(server, &fake_vm, NULL) < 0)
		abort();
	parse_all(data, size);
	one_client(data, size);
	return 0;
}
