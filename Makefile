# The two set-up commands: `make run` and `make test` (see README.md).
# Everything else is CMake; this file only strings the steps together.

BUILD       ?= build
ASAN_BUILD  ?= build-asan
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
PROVE_JOBS  ?= 2

MAKEFLAGS += --no-print-directory

# Tests read the shared real market data beside the checkout.
export LUTRA_SHARED_DATA ?= $(abspath ../shared/data)

.PHONY: all deps build run test asan bench fuzz clean help

all: build

help:
	@echo "make run    install missing packages, build, run the sample tour"
	@echo "make test   install missing packages, build, run every test"
	@echo "make asan   build with ASan+UBSan in $(ASAN_BUILD) and run every test"
	@echo "make bench  build and run the benchmarks (figures in docs/PERFORMANCE.md)"
	@echo "make fuzz   libFuzzer runs of t/fuzz targets, FUZZ_SECONDS (60) each"
	@echo "make clean  remove $(BUILD) and $(ASAN_BUILD)"

deps:
	@sh etc/install-deps etc/debian-packages

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: build
	@BUILD=$(BUILD) sh etc/tour

test: build
	@BUILD=$(BUILD) sh t/run-tests

$(ASAN_BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(ASAN_BUILD) -DLUTRA_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS)

asan: deps $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	@BUILD=$(ASAN_BUILD) ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 sh t/run-tests

bench: build
	@BUILD=$(BUILD) sh bench/run

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

# `make fuzz`: libFuzzer runs of every t/fuzz target, FUZZ_SECONDS each
# (bounded; crashes land in $(FUZZ_BUILD)/crashes). Needs clang.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60

fuzz: deps
	@sh etc/install-deps etc/debian-packages-fuzz
	@test -f $(FUZZ_BUILD)/CMakeCache.txt || CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) \
	  -DLUTRA_FUZZ=ON -DLUTRA_WERROR=OFF $(CMAKE_FLAGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) sh t/fuzz/run

# `make soak`: t/crash.t with many more kills (docs/state.md, "Crash test"),
# bounded: CRASH_KILLS kills or CRASH_SECONDS, whichever comes first, with a
# new seed each run (CRASH_SEED=N repeats one; the test prints it).
CRASH_KILLS   ?= 500
CRASH_SECONDS ?= 1200
.PHONY: soak
soak: build
	@LUTRA_BUILD=$(abspath $(BUILD)) LUTRA_BIN=$(abspath $(BUILD))/lutra \
	  LUTRA_PLUGIN_PATH=$(abspath $(BUILD))/plugins \
	  CRASH_KILLS=$(CRASH_KILLS) CRASH_SECONDS=$(CRASH_SECONDS) \
	  CRASH_SEED=$${CRASH_SEED:-$$(date +%s)} prove t/crash.t
