# gskel front door. `make run` and `make test` work on a fresh Debian 12 machine as root: they
# install what is missing with apt-get first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_ARGS ?= --output-on-failure --timeout 600 -j $(JOBS)
# Seconds each fuzz target runs inside `make test` (make fuzz: 60).
FUZZ_SECONDS ?= 20
ARGS       ?=

# Debian 12 packages the build, the tests and the docs need.
DEB_PACKAGES = build-essential cmake pkg-config git python3 \
	liburing-dev libjemalloc-dev libcjson-dev libcmocka-dev libuv1-dev \
	clang libclang-rt-14-dev iproute2 procps

.PHONY: all deps build run test test-build test-asan test-fuzz fuzz clean

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo "missing packages; run as root:"; \
	  echo "  apt-get update && apt-get install -y --no-install-recommends$$missing"; exit 1; \
	fi; \
	echo "installing:$$missing"; \
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j $(JOBS)

run: build
	exec $(BUILD)/bin/gskel-server $(ARGS)

# The whole suite: the release build, then the ASan+UBSan build of the same tests, then each
# fuzz target for FUZZ_SECONDS.
test: build test-build test-asan test-fuzz

test-build:
	cd $(BUILD) && ctest $(CTEST_ARGS) -LE fuzz

test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DGSKEL_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest $(CTEST_ARGS) -LE fuzz

test-fuzz: deps
	@if ! command -v clang >/dev/null; then echo "clang not found: fuzz targets skipped"; exit 0; fi; \
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DGSKEL_FUZZ=ON \
	  -DGSKEL_JEMALLOC=OFF -DGSKEL_FUZZ_SECONDS=$(FUZZ_SECONDS) && \
	cmake --build $(FUZZ_BUILD) -j $(JOBS) && \
	cd $(FUZZ_BUILD) && ctest $(CTEST_ARGS) -L fuzz

fuzz:
	$(MAKE) test-fuzz FUZZ_SECONDS=60

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
