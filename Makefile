# Trunkline: every command a user or CI runs.
#
#   make demo    install, build, start the stack with the example topology,
#                place calls through it and show what happened
#   make test    install, build, run every test (and the unit tests again
#                under ASan + UBSan, with the fuzzers, in build-asan/)
#   make run     start the stack in the foreground (TOPOLOGY=FILE make run)
#   make bench   run the benchmarks; figures go to docs/performance.md
#   make fmt / make lint
SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
TOPOLOGY ?= deploy/examples/topology.yaml
PACKAGES := $(shell sed -e 's/\#.*//' deploy/debian-packages.txt)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SOURCES = $(shell git ls-files '*.cc' '*.h' 2>/dev/null)

.PHONY: deps build test unit-asan bench demo run fmt lint clean

# Idempotent: installs only what is missing (apt-get update first, as a fresh
# Debian 12 needs).
deps:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "all Debian packages present"; fi

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# The sanitizer build: clang, ASan + UBSan, libFuzzer for the fuzz targets.
$(ASAN_BUILD)/CMakeCache.txt:
	CC=clang CXX=clang++ cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug \
	  -DTRUNKLINE_SANITIZE=ON -DTRUNKLINE_FUZZ=ON -DTRUNKLINE_BENCHMARKS=OFF

unit-asan: $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest -L unit --output-on-failure -j$(JOBS)

test: deps build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)
	$(MAKE) unit-asan

bench: deps build
	tools/bench/run.sh $(BUILD)

demo: deps build
	$(SUDO) tools/demo/demo.sh $(BUILD)

run: build
	tools/run/run.sh $(BUILD) $(TOPOLOGY)

fmt:
	clang-format -i $(SOURCES)

lint: $(BUILD)/CMakeCache.txt
	clang-format --dry-run -Werror $(SOURCES)
	clang-tidy -p $(BUILD) --quiet $(filter %.cc,$(filter services/% tools/%,$(SOURCES)))

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
