# memo -- header-only; this Makefile builds tests, the demo and benchmarks.
#   make          this list (the default: builds nothing, installs nothing)
#   make test     the full test matrix (installs what it lacks when root)
#   make demo     the Lambda simulation on SQLite (the main job, no server)
#   make bench    benchmarks (fast path vs peers, TTL getters, contention, storm, scaling) + plots
#   make install PREFIX=/usr/local   header + pkg-config + CMake package
#   make matrix   the flags (mk/flags.mk) and the test matrix (mk/matrix.conf)
# CC is the default compiler everywhere (gcc unless given: make test CC=clang);
# the matrix's explicit gcc and clang rows stay gcc and clang.
include mk/flags.mk
PREFIX ?= /usr/local
ifeq ($(origin CC),default)
CC := gcc
endif
export CC
BUILD := build
VERSION := $(shell sed -n 's/^\#define MEMO_VERSION_STRING "\(.*\)"/\1/p' include/memo.h)

.PHONY: all test matrix demo bench bench-lambda stress install uninstall clean deps-test deps-demo deps-bench examples integration lambda model fuzz
.PHONY: help deps-model

# Plain `make` only prints the targets: the ones that need packages install
# them (scripts/deps.sh) when asked for by name.
all: help
help:
	@echo "memo $(VERSION): header-only, nothing to build -- copy include/memo.h, or make install"
	@sed -n 's/^#   make /  make /p' $(firstword $(MAKEFILE_LIST))
	@echo "  more: make examples | integration | lambda | model | stress | fuzz | bench-lambda | uninstall | clean"
	@echo "  (test, demo, bench, model, stress, fuzz and lambda install the Debian packages they lack when run as root)"

deps-test:
	@bash scripts/deps.sh test
deps-demo:
	@bash scripts/deps.sh demo
deps-bench:
	@bash scripts/deps.sh bench
deps-model:
	@bash scripts/deps.sh model

test: deps-test
	@bash tests/run_all.sh

matrix:
	@bash mk/flags.sh

DEMO_SRC := examples/demo.c examples/demo_harness.c
$(BUILD)/demo: $(DEMO_SRC) examples/demo.h examples/sqlite/sqlite_client.h include/memo.h mk/flags.mk | deps-demo
	@mkdir -p $(BUILD)
	$(CC) -std=c11 -O2 $(WARN) -Iinclude -Iexamples/sqlite $(DEMO_SRC) -o $@ -lsqlite3 -pthread

demo: $(BUILD)/demo
	./$(BUILD)/demo

bench: deps-bench
	@bash bench/run.sh
	@bash bench/extra.sh
	@bash bench/plot.sh

# per-invocation latency and connections, connect-per-invocation vs memoized,
# PostgreSQL and Redis on loopback, 1/4/16 contexts; table + docs/img/lambda_bench.svg
bench-lambda:
	@bash bench/lambda/run.sh

examples:
	@bash examples/build.sh
	@bash examples/lambda/build.sh $(BUILD)/lambda

# needs PostgreSQL, Redis, libpq, hiredis, libcurl (see tests/integration/run.sh)
integration:
	@bash tests/integration/run.sh

# the C Lambda runtime under the @vercel/fun emulator, against PostgreSQL and SQLite
lambda:
	@bash tests/lambda/run.sh

# the race program for minutes: 3 min plain, 2 min under ThreadSanitizer
stress: deps-test
	@mkdir -p $(BUILD)
	$(CC) -std=c11 -O2 $(WARN) -Iinclude tests/stress.c -o $(BUILD)/stress -pthread
	clang -std=c11 $(TSAN) $(WARN) -Iinclude tests/stress.c -o $(BUILD)/stress-tsan -pthread
	./$(BUILD)/stress $${STRESS_SECONDS:-180} 16
	TSAN_OPTIONS=halt_on_error=1 ./$(BUILD)/stress-tsan $${STRESS_TSAN_SECONDS:-120} 8

# the stateful fuzzer of one cell (libFuzzer, ASan+UBSan); FUZZ_SECONDS (default 120)
fuzz: deps-test
	@bash tests/fuzz/run.sh fuzz $${FUZZ_SECONDS:-120}

# the Promela model of the cell protocol, checked with spin for 2 and 3 threads
model: deps-model
	@bash tests/model/run.sh

install:
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/lib/cmake/memo
	install -m 644 include/memo.h $(DESTDIR)$(PREFIX)/include/memo.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' packaging/memo.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/memo.pc
	sed -e 's|@VERSION@|$(VERSION)|g' packaging/memoConfig.cmake.in > $(DESTDIR)$(PREFIX)/lib/cmake/memo/memoConfig.cmake
	sed -e 's|@VERSION@|$(VERSION)|g' packaging/memoConfigVersion.cmake.in > $(DESTDIR)$(PREFIX)/lib/cmake/memo/memoConfigVersion.cmake

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/include/memo.h $(DESTDIR)$(PREFIX)/lib/pkgconfig/memo.pc
	rm -rf $(DESTDIR)$(PREFIX)/lib/cmake/memo

clean:
	rm -rf $(BUILD)
