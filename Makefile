# ringvm build.  `make` builds build/ringvm; `make check` runs every test;
# `make run` boots the default guest.  See README.md.

CC      ?= gcc
BUILD   := build
ASAN    := $(BUILD)/asan
WARN    := -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS  ?= -O2 -g
ALLCFLAGS = -std=gnu11 $(WARN) -D_GNU_SOURCE -MMD -MP -Isrc $(shell pkg-config --cflags slirp json-c 2>/dev/null) $(CFLAGS)
ASANFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
             -fno-sanitize-recover=undefined
# ThreadSanitizer build of the VMM (one host thread per hart): build/tsan/
TSAN    := $(BUILD)/tsan
# -Wno-tsan: TSan does not model __atomic_thread_fence (virtqueue.c uses it
# between its own accesses and the guest's, which TSan does not see anyway).
TSANFLAGS := -O1 -g -fsanitize=thread -fno-omit-frame-pointer -Wno-tsan
LDLIBS  := -lfdt -lz -lzstd -lm -lpthread -lslirp -ljson-c -lcap -lseccomp
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

SRCS     := $(shell find src -name '*.c' | sort)
LIBSRCS  := $(filter-out src/cli/main.c,$(SRCS))
OBJS     := $(SRCS:%.c=$(BUILD)/%.o)
LIBOBJS  := $(LIBSRCS:%.c=$(BUILD)/%.o)
AOBJS    := $(SRCS:%.c=$(ASAN)/%.o)
TOBJS    := $(SRCS:%.c=$(TSAN)/%.o)
ALIBOBJS := $(LIBSRCS:%.c=$(ASAN)/%.o)
UNITSRCS := $(wildcard tests/unit/test_*.c)
UNITBINS := $(UNITSRCS:tests/unit/%.c=$(ASAN)/tests/%)

.PHONY: all asan tsan deps guest debian run check unit isa system fuzz bench clean
all: $(BUILD)/ringvm

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -DRINGVM_VERSION='"$(VERSION)"' -c $< -o $@

$(ASAN)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(ASANFLAGS) -DRINGVM_VERSION='"$(VERSION)"' -c $< -o $@

$(TSAN)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(TSANFLAGS) -DRINGVM_VERSION='"$(VERSION)"' -c $< -o $@

$(BUILD)/ringvm: $(OBJS)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(ASAN)/ringvm: $(AOBJS)
	$(CC) $(ASANFLAGS) $^ -o $@ $(LDLIBS)

$(ASAN)/tests/%: tests/unit/%.c $(ALIBOBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(ASANFLAGS) $< $(ALIBOBJS) -o $@ $(LDLIBS) -lcmocka

$(TSAN)/ringvm: $(TOBJS)
	$(CC) $(TSANFLAGS) $^ -o $@ $(LDLIBS)

asan: $(ASAN)/ringvm
# tests/system/tsan.sh runs it (SMP ISA tests, a 4-hart boot).
tsan: $(TSAN)/ringvm

deps:
	@scripts/install-deps.sh

guest: deps
	@guest/build.sh $(BUILD)/guest

# A Debian trixie riscv64 VM disk (guest/debian-image.sh; slow when cold,
# a no-op when current).  DEBIAN_IMAGE_OPTS: e.g. --size 8G --packages vim.
debian: deps all
	@scripts/install-deps.sh --debian
	@guest/debian-image.sh --ringvm $(BUILD)/ringvm $(DEBIAN_IMAGE_OPTS) \
		$(BUILD)/debian-trixie-riscv64.qcow2

run: deps all guest
	$(BUILD)/ringvm run

unit: $(UNITBINS)
isa: $(ASAN)/ringvm
check: deps
	@$(MAKE) --no-print-directory all asan tsan unit
	@$(MAKE) --no-print-directory fuzz-build
	@$(MAKE) --no-print-directory guest
	@tests/run-all.sh

bench: deps all guest
	bench/cpu.sh

# libFuzzer targets (clang), one per parser of hostile input.  A target is
# tests/fuzz/fuzz_NAME.c linked with FUZZSRCS_NAME (sources under src/);
# FUZZLIBS_NAME adds libraries; an optional tests/fuzz/corpus-NAME.sh OUT
# RINGVM makes its seed corpus at build time (no binaries in git).
# `make fuzz` runs each target for FUZZ_SECONDS; `make fuzz-check` (part of
# check) runs each for a short fixed-seed pass of FUZZ_CHECK_RUNS inputs.
FUZZ      := $(BUILD)/fuzz
FUZZ_SECONDS ?= 300
FUZZ_CHECK_RUNS ?= 5000
FUZZCC    := clang
FUZZFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -Isrc -fno-omit-frame-pointer \
             -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_TARGETS := $(sort $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c)))

FUZZSRCS_qcow2 := $(wildcard src/block/*.c) src/core/err.c src/core/file.c
FUZZLIBS_qcow2 := -lz
FUZZSRCS_qcow2_meta := $(wildcard src/block/*.c) src/core/err.c src/core/file.c
FUZZLIBS_qcow2_meta := -lz
FUZZSRCS_probe_guard := $(wildcard src/block/*.c) src/core/err.c src/core/file.c
FUZZLIBS_probe_guard := -lz
FUZZSRCS_switch_fwd := src/net/switch/fwd.c src/net/switch/mac_table.c \
                       src/net/switch_port_cfg.c src/core/err.c
FUZZSRCS_switch_proto := src/net/switch/proto.c src/net/switch/fwd.c \
                         src/net/switch_port_cfg.c src/core/err.c

FUZZSRCS_oci_config := src/container/config.c src/container/sysctl.c src/core/err.c
FUZZLIBS_oci_config := -ljson-c
FUZZSRCS_image_manifest := src/container/manifest.c src/container/ref.c \
                           src/container/auth.c src/container/digest.c src/core/err.c
FUZZLIBS_image_manifest := -ljson-c -lcrypto
FUZZSRCS_tar := src/container/tar.c src/core/err.c
FUZZSRCS_decomp := src/container/decomp.c src/container/digest.c src/container/tar.c src/core/err.c
FUZZLIBS_decomp := -lz -lzstd
# The virtio targets share tests/fuzz/vdrv.h (guest RAM, a hostile driver).
FUZZSRCS_virtqueue := src/hw/virtqueue.c src/core/guest_mem.c src/core/err.c
FUZZ_VIRTIO := src/hw/virtio_mmio.c src/hw/virtqueue.c src/core/bus.c src/core/file.c \
               src/core/guest_mem.c src/core/err.c
FUZZSRCS_virtio_mmio := $(FUZZ_VIRTIO) src/hw/virtio_blk.c src/core/evloop.c \
                        src/hw/virtio_net.c src/net/offload.c \
                        $(wildcard src/block/*.c)
FUZZLIBS_virtio_mmio := -lz
FUZZSRCS_virtio_blk := $(FUZZ_VIRTIO) src/hw/virtio_blk.c src/core/evloop.c \
                       $(wildcard src/block/*.c)
FUZZLIBS_virtio_blk := -lz
FUZZSRCS_virtio_net := $(FUZZ_VIRTIO) src/hw/virtio_net.c src/net/offload.c
FUZZSRCS_virtio_rng := $(FUZZ_VIRTIO) src/hw/virtio_rng.c
FUZZSRCS_virtio_input := $(FUZZ_VIRTIO) src/hw/virtio_input.c
FUZZSRCS_state := src/core/state.c src/core/err.c src/core/bus.c \
                  src/core/guest_mem.c src/core/file.c src/vmm/vm_state.c \
                  src/hw/uart8250.c src/hw/uart8250_state.c \
                  src/hw/goldfish_rtc.c src/hw/goldfish_rtc_state.c \
                  src/hw/plic.c src/hw/plic_state.c src/hw/clint.c \
                  src/hw/clint_state.c src/engine/rv64/machine.c \
                  src/hw/virtio_mmio.c src/hw/virtio_mmio_state.c \
                  src/hw/virtqueue.c src/hw/virtio_rng.c src/hw/virtio_net.c \
                  src/hw/virtio_net_state.c src/net/offload.c
FUZZLIBS_state := -lz
FUZZSRCS_loader := src/board/virt/loader.c src/core/guest_mem.c src/core/err.c \
                   src/core/file.c
FUZZLIBS_loader := -lfdt -lz
FUZZSRCS_migrate_stream := src/vmm/migrate_stream.c src/core/guest_mem.c \
                           src/core/state.c src/core/err.c
FUZZLIBS_migrate_stream := -lz
FUZZSRCS_snapshot_state := src/vmm/snapshot_fmt.c src/core/state.c src/core/err.c
FUZZLIBS_snapshot_state := -lz

# The control socket: its parser, and its server with a fake VM.
FUZZSRCS_api := src/vmm/api.c src/vmm/api_proto.c src/core/err.c src/core/evloop.c
FUZZLIBS_api := -ljson-c -lpthread
FUZZSRCS_ctrlog := src/container/ctrlog.c src/container/ctrlog_when.c
FUZZSRCS_elf_exec := src/exec/elf.c src/exec/mm.c src/core/guest_mem.c src/core/err.c
# The KVM sandbox's system calls on a guest-memory buffer (no KVM).
FUZZSRCS_kvm_sys := $(wildcard src/exec/kvm*.c) src/exec/path.c src/exec/elf.c \
                    src/exec/sockopt.c src/exec/exit.c src/core/err.c
FUZZLIBS_kvm_sys := -lseccomp -lpthread
# Guest code through the JIT translator against the interpreter.
FUZZSRCS_jit := $(wildcard src/engine/rv64/*.c src/engine/rv64/jit/*.c) \
                src/core/guest_mem.c src/core/err.c src/core/bus.c
FUZZLIBS_jit := -lpthread -lm

define fuzz_target
$(FUZZ)/fuzz_$(1): tests/fuzz/fuzz_$(1).c $$(FUZZSRCS_$(1)) $$(wildcard src/*/*.h src/*/*/*.h tests/fuzz/*.h)
	@mkdir -p $$(dir $$@)
	$$(FUZZCC) $$(FUZZFLAGS) $$< $$(FUZZSRCS_$(1)) -o $$@ $$(FUZZLIBS_$(1))

$(FUZZ)/corpus-$(1)/.done: $$(wildcard tests/fuzz/corpus-$(1).sh) $(BUILD)/ringvm
	rm -rf $$(dir $$@) && mkdir -p $$(dir $$@)
	if [ -x tests/fuzz/corpus-$(1).sh ]; then \
		tests/fuzz/corpus-$(1).sh $$(dir $$@) $(BUILD)/ringvm; fi
	@touch $$@
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_target,$(t))))

.PHONY: fuzz-check fuzz-build
fuzz: $(FUZZ_TARGETS:%=$(FUZZ)/fuzz_%) $(FUZZ_TARGETS:%=$(FUZZ)/corpus-%/.done)
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ)/work-$$t; \
		echo "fuzz_$$t: $(FUZZ_SECONDS) s"; \
		$(FUZZ)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=262144 \
			-print_final_stats=1 $(FUZZ)/work-$$t $(FUZZ)/corpus-$$t \
			2>$(FUZZ)/fuzz-$$t.log || { tail -60 $(FUZZ)/fuzz-$$t.log; exit 1; }; \
		grep -E '^stat::number_of_executed_units' $(FUZZ)/fuzz-$$t.log; \
	done

# Builds every fuzz target and its seed corpus (clang only); the runs are
# tests/fuzz/check.sh, called by tests/run-all.sh.
fuzz-build:
	@if command -v $(FUZZCC) >/dev/null; then \
		$(MAKE) --no-print-directory $(FUZZ_TARGETS:%=$(FUZZ)/fuzz_%) \
			$(FUZZ_TARGETS:%=$(FUZZ)/corpus-%/.done) >/dev/null; fi

fuzz-check: fuzz-build
	@tests/fuzz/check.sh

clean:
	rm -rf $(BUILD)

-include $(OBJS:.o=.d) $(AOBJS:.o=.d) $(TOBJS:.o=.d)
