/* libFuzzer target: the state stream reader (src/core/state.c) and every
 * section loader that can be instantiated without a VM — the machine
 * section (vm_config_from_state), UART, goldfish RTC, PLIC and CLINT (a
 * two-hart machine without harts), the virtio-mmio transport (on a
 * virtio-rng over guest RAM) and virtio-net.
 *
 * The first input byte picks the mode: odd, the rest is the stream as is
 * (framing, checksums, names); even, the rest is a list of sections
 * (name index, version, length, payload) written through state_writer, so
 * checksums are right and the loaders' checks get the hostile payloads.
 *
 * Invariants: no crash, leak or out-of-bounds access; whatever a loader
 * accepts and applies, the device saves again as a section the same
 * loader accepts (apply cannot produce a state outside what parse
 * allows); a loaded transport never touches guest memory outside its
 * rings when the driver then notifies it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/state.h"
#include "engine/rv64/hart.h"
#include "hw/clint.h"
#include "hw/goldfish_rtc.h"
#include "hw/plic.h"
#include "hw/uart8250.h"
#include "hw/virtio_net.h"
#include "hw/virtio_rng.h"
#include "vmm/vm.h"

#define CHECK(c) do {                                                    \
	if (!(c)) {                                                      \
		fprintf(stderr, "invariant failed: %s (line %d)\n", #c,  \
			__LINE__);                                       \
		abort();                                                 \
	}                                                                \
} while (0)

/* ---- what the loaders link against but never call here -------------- */

void rv_hart_set_mip(struct rv_hart *h, uint64_t mask, int level)
{
	(void)h; (void)mask; (void)level;
	abort();   /* no harts: the PLIC/CLINT must skip absent ones */
}

void rv_hart_set_mtimecmp(struct rv_hart *h, uint64_t cmp)
{
	(void)h; (void)cmp;
	abort();
}

void rv_hart_notify(struct rv_hart *h)
{
	(void)h;
	abort();
}

/* vm_state.c's VM side: only vm_config_from_state is called. */
struct virt_board;
struct virt_shape;
struct engine_ops;
struct virt_board *vm_board(struct vm *vm) { (void)vm; abort(); }
const struct vm_config *vm_cfg(const struct vm *vm) { (void)vm; abort(); }
bool vm_quiet(struct vm *vm, bool *started)
{
	(void)vm; (void)started;
	abort();
}
void virt_shape(const struct virt_board *b, struct virt_shape *s)
{
	(void)b; (void)s;
	abort();
}
const struct engine_ops *virt_engine(const struct virt_board *b)
{
	(void)b;
	abort();
}
int virt_save(struct virt_board *b, struct state_writer *w, unsigned f,
	      struct err *e)
{
	(void)b; (void)w; (void)f; (void)e;
	abort();
}
int virt_boot_file_write(struct virt_board *b, int fd, struct err *e)
{
	(void)b; (void)fd; (void)e;
	abort();
}
void virt_set_boot_file(struct virt_board *b, int fd)
{
	(void)b; (void)fd;
	abort();
}
int virt_boot_layout(struct virt_board *v, struct boot_file_layout *l)
{
	(void)v; (void)l;
	abort();
}
int virt_image_copy(struct virt_board *v, unsigned i, const uint8_t **out,
		    uint8_t **owned, struct err *errp)
{
	(void)v; (void)i; (void)out; (void)owned; (void)errp;
	abort();
}
int virt_load(struct virt_board *b, struct state_reader *r, struct err *e)
{
	(void)b; (void)r; (void)e;
	abort();
}

/* ---- fixtures -------------------------------------------------------- */

#define RAM   0x80000000ULL
#define RAMSZ 0x10000ULL
#define VBASE 0x10001000ULL

static struct guest_mem mem;   /* one region for every run */

static void line_set(void *opaque, unsigned num, int level)
{
	(void)opaque; (void)num; (void)level;
}

static int nb_send(struct net_backend *nb, const struct iovec *iov,
		   unsigned iovcnt)
{
	(void)nb; (void)iov; (void)iovcnt;
	return 0;
}

static void nb_free(struct net_backend *nb)
{
	(void)nb;
}

static const struct net_backend_ops nb_ops = { .send = nb_send,
					       .free = nb_free };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	if (guest_mem_add(&mem, RAM, RAMSZ, NULL) < 0)
		abort();
	return 0;
}

/* Save again and parse that: it must be accepted. */
#define RESAVE(save_stmt, parse_expr) do {                               \
	struct state_writer w2;                                          \
	struct state_reader r2;                                          \
	state_writer_init(&w2);                                          \
	save_stmt;                                                       \
	CHECK(state_reader_init(&r2, w2.buf, w2.len, NULL) == 0);        \
	CHECK((parse_expr) == 0);                                        \
	state_writer_free(&w2);                                          \
} while (0)

static void load_uart(struct state_reader *r)
{
	struct bus bus = { 0 };
	struct uart8250 u;
	struct uart8250_state st;
	if (uart8250_init(&u, &bus, 0x1000, (struct irq_line){ line_set, NULL,
				 1 }, NULL, NULL, NULL) < 0)
		abort();
	if (uart8250_parse(r, "uart0", &st, NULL) == 0) {
		uart8250_apply(&u, &st);
		uint64_t v;
		for (unsigned off = 0; off < 8; off++)
			uart8250_read(&u, off, 1, &v);
		RESAVE(uart8250_save(&u, "uart0", &w2),
		       uart8250_parse(&r2, "uart0", &st, NULL));
	}
	uart8250_exit(&u);
	bus_free(&bus);
}

static void load_rtc(struct state_reader *r)
{
	struct bus bus = { 0 };
	struct goldfish_rtc rtc;
	struct goldfish_rtc_state st;
	if (goldfish_rtc_init(&rtc, &bus, 0x1000, (struct irq_line){ line_set,
				      NULL, 1 }, NULL, NULL, NULL) < 0)
		abort();
	if (goldfish_rtc_parse(r, "rtc", &st, NULL) == 0) {
		goldfish_rtc_apply(&rtc, &st);
		goldfish_rtc_poll(&rtc);
		(void)goldfish_rtc_next_ns(&rtc);
		RESAVE(goldfish_rtc_save(&rtc, "rtc", &w2),
		       goldfish_rtc_parse(&r2, "rtc", &st, NULL));
	}
	goldfish_rtc_exit(&rtc);
	bus_free(&bus);
}

static void load_plic_clint(struct state_reader *r)
{
	struct rv_machine *m = calloc(1, sizeof(*m));
	CHECK(m);
	m->nharts = 2;
	if (rv_plic_init(m, 0x0c000000, NULL) < 0 ||
	    rv_clint_init(m, 0x02000000, NULL) < 0)
		abort();
	struct rv_plic_state ps;
	if (rv_plic_parse(r, m, &ps, NULL) == 0) {
		rv_plic_apply(m, &ps);
		uint64_t v;
		/* Claim and complete on every context. */
		for (unsigned c = 0; c < 4; c++) {
			uint64_t a = 0x0c200004 + 0x1000 * c;
			if (bus_read(&m->bus, a, 4, &v) == 0)
				bus_write(&m->bus, a, 4, v);
		}
		RESAVE(rv_plic_save(m, &w2), rv_plic_parse(&r2, m, &ps, NULL));
	}
	struct rv_clint_state cs;
	if (rv_clint_parse(r, m, &cs, NULL) == 0) {
		rv_clint_apply(m, &cs, 1000000000ULL);
		RESAVE(rv_clint_save(m, cs.mtime, &w2),
		       rv_clint_parse(&r2, m, &cs, NULL));
	}
	rv_plic_free(m);
	rv_clint_free(m);
	bus_free(&m->bus);
	free(m);
}

static void load_virtio(struct state_reader *r)
{
	struct bus bus = { 0 };
	struct virtio_rng *rng = calloc(1, sizeof(*rng));
	CHECK(rng);
	if (virtio_rng_init(rng, &bus, VBASE, &mem, (struct irq_line){
				    line_set, NULL, 1 }, NULL) < 0)
		abort();
	struct virtio_mmio_state *st = malloc(sizeof(*st));
	CHECK(st);
	if (virtio_mmio_parse(r, "virtio0", &rng->t, st, NULL) == 0) {
		virtio_mmio_apply(&rng->t, st);
		/* A loaded queue must be as safe to use as an enabled one. */
		bus_write(&bus, VBASE + VIRTIO_MMIO_QUEUE_NOTIFY, 4, 0);
		RESAVE(virtio_mmio_save(&rng->t, "virtio0", &w2),
		       virtio_mmio_parse(&r2, "virtio0", &rng->t, st, NULL));
	}
	free(st);
	virtio_rng_exit(rng);
	free(rng);

	struct net_backend nb = { .ops = &nb_ops, .link_up = true };
	struct virtio_net *n = calloc(1, sizeof(*n));
	CHECK(n);
	const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
	if (virtio_net_init(n, &bus, VBASE, &mem, (struct irq_line){
				    line_set, NULL, 1 }, &nb, mac, NULL) < 0)
		abort();
	struct virtio_net_state ns;
	if (virtio_net_parse(r, "net0", n, &ns, NULL) == 0) {
		virtio_net_apply(n, &ns);
		RESAVE(virtio_net_save(n, "net0", &w2),
		       virtio_net_parse(&r2, "net0", n, &ns, NULL));
	}
	virtio_net_exit(n);
	free(n);
	bus_free(&bus);
}

static void load_machine(struct state_reader *r)
{
	struct vm_config cfg = { 0 };
	void *storage = NULL;
	if (vm_config_from_state(r, &cfg, &storage, NULL) == 0) {
		CHECK(storage && cfg.incoming && cfg.cpus >= 1 &&
		      cfg.cpus <= VM_MAX_CPUS && cfg.ndisks <= VM_MAX_DISKS &&
		      cfg.nnics <= VM_MAX_NICS);
		for (unsigned i = 0; i < cfg.ndisks; i++)
			CHECK(strlen(cfg.disks[i].path) < 4096);
		for (unsigned i = 0; i < cfg.nnics; i++)
			CHECK(strlen(cfg.nics[i].spec) < 4096);
	} else {
		CHECK(!storage);
	}
	free(storage);
}

static const char *const names[] = {
	"machine", "uart0", "rtc", "plic", "clint", "virtio0", "net0", "cpu0",
};

/* Even mode: sections from (name, version, length, payload) tuples. */
static void build(struct state_writer *w, const uint8_t *p, size_t n)
{
	while (n >= 4) {
		const char *name = names[p[0] % (sizeof(names) / sizeof(names[0]))];
		uint32_t version = p[1] % 4;
		size_t len = (size_t)p[2] | (size_t)p[3] << 8;
		p += 4;
		n -= 4;
		if (len > n)
			len = n;
		state_begin(w, name, version);
		state_put_bytes(w, p, len);
		state_end(w);
		p += len;
		n -= len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct state_writer w;
	state_writer_init(&w);
	const uint8_t *buf = data + 1;
	size_t len = size - 1;
	if (!(data[0] & 1)) {
		build(&w, data + 1, size - 1);
		buf = w.buf;
		len = w.len;
	}
	struct state_reader r;
	if (state_reader_init(&r, buf, len, NULL) == 0) {
		char name[STATE_NAME_MAX + 1];
		for (unsigned i = 0; state_section_at(&r, i, name, NULL, NULL);
		     i++)
			CHECK(name[0] && strlen(name) < STATE_NAME_MAX);
		load_machine(&r);
		load_uart(&r);
		load_rtc(&r);
		load_plic_clint(&r);
		load_virtio(&r);
	}
	state_writer_free(&w);
	return 0;
}
