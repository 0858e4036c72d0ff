# Thin wrapper around CMake; see README.md.
BUILD      ?= build
ASAN_BUILD ?= build/asan
FUZZ_BUILD ?= build/fuzz
BENCH_BUILD ?= build/bench
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 60

.PHONY: all deps demo check test asan fuzz-smoke fuzz bench install clean

all: $(BUILD)/Makefile
	@cmake --build $(BUILD) -j$(JOBS)

$(BUILD)/Makefile: CMakeLists.txt
	@scripts/deps.sh build
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

deps:
	@scripts/deps.sh test

demo: all
	@scripts/demo.sh $(BUILD)

# Every test, once in a normal build and once under ASan+UBSan, then a short libFuzzer run.
check:
	@scripts/deps.sh test
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDSRTP_TESTS=ON >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS)
	@echo "== the same tests under AddressSanitizer + UndefinedBehaviorSanitizer =="
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DDSRTP_SANITIZE=ON -DDSRTP_TESTS=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j$(JOBS)
	@$(MAKE) --no-print-directory fuzz-smoke FUZZ_SECONDS=10

fuzz-build:
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDSRTP_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS)

fuzz-smoke: fuzz-build
	@scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

fuzz:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory fuzz-smoke FUZZ_SECONDS=$(FUZZ_SECONDS)

bench:
	@scripts/deps.sh bench
	@cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=Release -DDSRTP_BENCH=ON -DDSRTP_TESTS=OFF >/dev/null
	@cmake --build $(BENCH_BUILD) -j$(JOBS)
	@scripts/bench.sh $(BENCH_BUILD)

install: all
	@cmake --install $(BUILD)

clean:
	@rm -rf $(BUILD)

# One long DTLS-SRTP call through the impairment proxy (5% loss each way): reports memory,
# loss and refusals; fails if a peer's memory grows by over 2 MiB or media stops.
# Not part of `make check`. Needs only the dsrtp program.
SOAK_SECONDS ?= 600
.PHONY: soak
soak: $(BUILD)/Makefile
	@cmake --build $(BUILD) -j$(JOBS) --target dsrtp
	@scripts/soak.sh $(BUILD) $(SOAK_SECONDS)
