# gskel front door. `make run` and `make test` work on a fresh Debian 12 machine as root: they
# install what is missing with apt-get first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
WIN_BUILD  ?= build-win
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_ARGS ?= --output-on-failure --timeout 600 -j $(JOBS)
# Seconds each fuzz target runs inside `make test` (make fuzz: 60).
FUZZ_SECONDS ?= 20
ARGS       ?=

# Debian 12 packages the build, the tests and the docs need.
DEB_PACKAGES = build-essential cmake pkg-config git python3 \
	liburing-dev libjemalloc-dev libcjson-dev libcmocka-dev libuv1-dev \
	clang libclang-rt-14-dev iproute2 nftables procps \
	gcc-mingw-w64-x86-64 wine wine64 dpkg-dev valgrind haproxy openssl \
	libsodium-dev autoconf automake libtool nodejs python3-nacl redis-server libhiredis-dev

.PHONY: all deps build dev-keys run run-proxy test test-build test-asan test-tsan test-valgrind test-fuzz test-wine fuzz windows clean

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
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends $$missing

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j $(JOBS)

# The built-in defaults log players in with signed tickets (auth.key_file keys/tickets.pub,
# docs/security.md): a development key pair is made once in keys/ (never committed), and a ticket
# for a test client comes from `$(BUILD)/bin/gskel-ticket --key keys/tickets.key --account 1
# --name me --ttl 600`.
dev-keys: build
	@if [ ! -f keys/tickets.pub ]; then mkdir -p keys && \
	  $(BUILD)/bin/gskel-ticket --new-key 1 --key keys/tickets.key --public keys/tickets.pub; fi

run: build dev-keys
	exec $(BUILD)/bin/gskel-server $(ARGS)

# haproxy (dist/haproxy.cfg: PROXY v2, TLS, health checks) in front of gskel: docs/deploying.md.
run-proxy: build dev-keys
	exec dist/run-proxy.sh $(BUILD)

# The whole suite: the release build, then the ASan+UBSan build of the same tests, the threaded
# tests under TSan, a subset of the integration tests with the server under valgrind, each fuzz
# target for FUZZ_SECONDS, then the Windows build under Wine.
test: build test-build test-asan test-tsan test-valgrind test-fuzz test-wine

# The network-fault tests (label netem) run with random packet loss: a correct server can still
# miss a timing window now and then, so each gets one retry. A second failure fails the suite;
# every other test gets no retry.
NETEM_CTEST = ctest $(CTEST_ARGS) -L netem --repeat until-pass:2

test-build:
	cd $(BUILD) && ctest $(CTEST_ARGS) -LE "fuzz|netem|valgrind" && $(NETEM_CTEST)

test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DGSKEL_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 && \
	  ctest $(CTEST_ARGS) -LE "fuzz|netem" && $(NETEM_CTEST)

# ThreadSanitizer over the tests labelled `threads` (several workers, the admin and logic
# threads, the cross-thread queues). A report stops the server (halt_on_error) with exit 66, which
# fails its test. setarch -R: TSan's fixed shadow layout needs the kernel's mmap randomisation off.
test-tsan: deps
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DGSKEL_TSAN=ON -DGSKEL_BENCH=OFF
	cmake --build $(TSAN_BUILD) -j $(JOBS)
	cd $(TSAN_BUILD) && export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1" && \
	  setarch $$(uname -m) -R ctest $(CTEST_ARGS) -L threads

# The integration tests labelled `valgrind`, the release server under memcheck (epoll): a memory
# error or a leak fails the test (tests/integration/CMakeLists.txt).
test-valgrind: build
	cd $(BUILD) && ctest $(CTEST_ARGS) -L valgrind

test-fuzz: deps
	@if ! command -v clang >/dev/null; then echo "clang not found: fuzz targets skipped"; exit 0; fi; \
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DGSKEL_FUZZ=ON \
	  -DGSKEL_JEMALLOC=OFF -DGSKEL_FUZZ_SECONDS=$(FUZZ_SECONDS) && \
	cmake --build $(FUZZ_BUILD) -j $(JOBS) && \
	cd $(FUZZ_BUILD) && ctest $(CTEST_ARGS) -L fuzz

fuzz:
	$(MAKE) test-fuzz FUZZ_SECONDS=60

# Windows (docs/windows.md): cross-built with mingw-w64 into $(WIN_BUILD)/bin/gskel-server.exe.
# cJSON is built from Debian's source package (apt-get source cjson) at build time; the first
# build runs as root to enable deb-src entries if the machine has none.
windows: deps
	cmake -S . -B $(WIN_BUILD) -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64.cmake -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DGSKEL_NATIVE_TICKET=$(CURDIR)/$(BUILD)/bin/gskel-ticket
	cmake --build $(WIN_BUILD) -j $(JOBS)

# The integration suite against gskel-server.exe --backend iocp under Wine (label wine). The
# wineserver is started first with its output on /dev/null: one started by ctest's first test
# would hold ctest's output pipe open through its winedevice.exe children, and ctest would wait
# for good. --timeout bounds the rest; the server is stopped afterwards.
test-wine: build windows
	(wineserver -p || true; WINEDEBUG=-all WINEDLLOVERRIDES=mscoree,mshtml= wine cmd /c exit) </dev/null >/dev/null 2>&1
	cd $(WIN_BUILD) && WINEDEBUG=-all ctest $(CTEST_ARGS) -L wine; rc=$$?; \
	  wineserver -k </dev/null >/dev/null 2>&1; exit $$rc

# Benchmarks (docs/benchmarks.md): a Release build in $(BENCH_BUILD), then one run of
# bench/run_bench.py, which writes docs/benchmarks.md and docs/bench/ (plots need gnuplot).
# `make bench BENCH_ARGS=--quick`: a one-minute run, written under $(BENCH_BUILD)/bench-quick/.
BENCH_BUILD ?= build-bench
BENCH_ARGS  ?=
.PHONY: bench
bench:
	cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BENCH_BUILD) -j $(JOBS) --target gskel-server gskel-bench gskel-ref-epoll gskel-ref-uv gskel-ticket
	python3 bench/run_bench.py --build $(BENCH_BUILD) $(BENCH_ARGS)

# Close storms (docs/benchmarks.md, between the storm markers): with the same Release build, what
# a kick costs each backend at 1,000 / 4,000 / 16,000 connections, and a shutdown with 16,000.
STORM_ARGS ?=
.PHONY: bench-storm
bench-storm:
	cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BENCH_BUILD) -j $(JOBS) --target gskel-server gskel-bench
	python3 bench/run_storm.py --build $(BENCH_BUILD) $(STORM_ARGS)

# Soak (docs/reliability.md): a Release server in $(SOAK_BUILD), then SOAK_SECONDS of echo load,
# churn, kicks and hostile traffic at once; fails unless the server's RSS, open fds and sessions
# are flat at the end. Writes its section of docs/benchmarks.md (between the soak markers).
SOAK_BUILD   ?= build-soak
SOAK_SECONDS ?= 600
SOAK_ARGS    ?=
.PHONY: soak
soak:
	cmake -S . -B $(SOAK_BUILD) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(SOAK_BUILD) -j $(JOBS) --target gskel-server
	python3 tests/soak/soak.py --server $(SOAK_BUILD)/bin/gskel-server --seconds $(SOAK_SECONDS) $(SOAK_ARGS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD) $(WIN_BUILD)
