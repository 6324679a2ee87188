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
LDLIBS  := -lfdt -lz -lm -lpthread -lslirp -ljson-c
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

SRCS     := $(shell find src -name '*.c' | sort)
LIBSRCS  := $(filter-out src/cli/main.c,$(SRCS))
OBJS     := $(SRCS:%.c=$(BUILD)/%.o)
LIBOBJS  := $(LIBSRCS:%.c=$(BUILD)/%.o)
AOBJS    := $(SRCS:%.c=$(ASAN)/%.o)
ALIBOBJS := $(LIBSRCS:%.c=$(ASAN)/%.o)
UNITSRCS := $(wildcard tests/unit/test_*.c)
UNITBINS := $(UNITSRCS:tests/unit/%.c=$(ASAN)/tests/%)

.PHONY: all asan deps guest run check unit isa system fuzz bench clean
all: $(BUILD)/ringvm

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -DRINGVM_VERSION='"$(VERSION)"' -c $< -o $@

$(ASAN)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(ASANFLAGS) -DRINGVM_VERSION='"$(VERSION)"' -c $< -o $@

$(BUILD)/ringvm: $(OBJS)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(ASAN)/ringvm: $(AOBJS)
	$(CC) $(ASANFLAGS) $^ -o $@ $(LDLIBS)

$(ASAN)/tests/%: tests/unit/%.c $(ALIBOBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(ASANFLAGS) $< $(ALIBOBJS) -o $@ $(LDLIBS) -lcmocka

asan: $(ASAN)/ringvm

deps:
	@scripts/install-deps.sh

guest: deps
	@guest/build.sh $(BUILD)/guest

run: deps all guest
	$(BUILD)/ringvm run

unit: $(UNITBINS)
isa: $(ASAN)/ringvm
check: deps
	@$(MAKE) --no-print-directory all asan unit
	@$(MAKE) --no-print-directory fuzz-check
	@$(MAKE) --no-print-directory guest
	@tests/run-all.sh

bench: deps all guest
	bench/cpu.sh

# libFuzzer targets (clang): `make fuzz` runs each for FUZZ_SECONDS;
# `make fuzz-check` (part of check) is a short fixed-seed run.
FUZZ      := $(BUILD)/fuzz
FUZZ_SECONDS ?= 300
FUZZCC    := clang
FUZZFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -Isrc -fno-omit-frame-pointer \
             -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZSRCS  := $(wildcard src/block/*.c) src/core/err.c

$(FUZZ)/fuzz_qcow2: tests/fuzz/fuzz_qcow2.c $(FUZZSRCS) $(wildcard src/block/*.h)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZFLAGS) $< $(FUZZSRCS) -o $@ -lz

$(FUZZ)/corpus-qcow2/.done: tests/fuzz/make-corpus.sh $(BUILD)/ringvm
	rm -rf $(dir $@)
	tests/fuzz/make-corpus.sh $(dir $@) $(BUILD)/ringvm
	@touch $@

.PHONY: fuzz-check
fuzz: $(FUZZ)/fuzz_qcow2 $(FUZZ)/corpus-qcow2/.done
	@mkdir -p $(FUZZ)/work-qcow2
	$(FUZZ)/fuzz_qcow2 -max_total_time=$(FUZZ_SECONDS) -max_len=262144 \
		$(FUZZ)/work-qcow2 $(FUZZ)/corpus-qcow2

fuzz-check:
	@if ! command -v $(FUZZCC) >/dev/null; then \
		echo "fuzz_qcow2: skipped ($(FUZZCC) not installed)"; exit 0; fi; \
	$(MAKE) --no-print-directory $(FUZZ)/fuzz_qcow2 \
		$(FUZZ)/corpus-qcow2/.done >/dev/null && \
	echo "fuzz_qcow2: 5000 runs, seed 1" && \
	rm -rf $(FUZZ)/check-qcow2 && mkdir -p $(FUZZ)/check-qcow2 && \
	{ $(FUZZ)/fuzz_qcow2 -seed=1 -runs=5000 -max_len=262144 \
		$(FUZZ)/check-qcow2 $(FUZZ)/corpus-qcow2 \
		2>$(FUZZ)/fuzz-check.log || \
		{ tail -40 $(FUZZ)/fuzz-check.log; exit 1; }; }

clean:
	rm -rf $(BUILD)

-include $(OBJS:.o=.d) $(AOBJS:.o=.d)
