# skiff front door. `make start` and `make test` are the two commands.
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

.PHONY: all build deps start stop status test test-unit test-asan bench fuzz install clean

all: build

deps:
	@./scripts/deps.sh

$(BUILD)/Makefile: CMakeLists.txt
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null

build: deps $(BUILD)/Makefile
	@cmake --build $(BUILD) -j$(JOBS) 2>&1 | grep -Ev '^(\[|-- |Consolidate|Scanning|Built target)' || true
	@test -x $(BUILD)/skiff

start: build
	@./scripts/start.sh $(BUILD)/skiff

stop:
	@./scripts/start.sh --stop

status:
	@./scripts/start.sh --status

test: build
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS) $(CTEST_ARGS)

test-unit: build
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -L unit

test-asan: deps
	@cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DSKIFF_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD_ASAN) -j$(JOBS) 2>&1 | grep -E 'error|warning' || true
	@cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j$(JOBS) $(CTEST_ARGS)

bench: build
	@./bench/run.sh $(BUILD)

fuzz: deps
	@cmake -S . -B $(BUILD_FUZZ) -DCMAKE_C_COMPILER=clang -DSKIFF_FUZZ=ON >/dev/null
	@cmake --build $(BUILD_FUZZ) -j$(JOBS) 2>&1 | grep -E 'error|warning' || true
	@./scripts/fuzz.sh $(BUILD_FUZZ) $${FUZZ_SECONDS:-30}

install: build
	@cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
