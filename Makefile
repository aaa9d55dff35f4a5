# The README's two commands, plus a few helpers. Everything real lives in CMake.
# `make test` and `make demo` install what is missing (Debian 12), configure, build and run.

BUILD    ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
JOBS     ?= $(shell nproc)
CMAKE_FLAGS ?=
ifeq ($(CI),true)
CMAKE_FLAGS += -DTANDEM_WERROR=ON
endif

DEB_PACKAGES := build-essential cmake ninja-build ccache pkg-config \
  libboost1.81-dev rapidjson-dev liblmdb-dev libxxhash-dev libssl-dev libgtest-dev \
  libgmock-dev libbenchmark-dev libcli11-dev libjemalloc-dev

# The demo drives the fixture systems' control API with curl and reads the answers with jq.
demo: DEB_PACKAGES += curl jq

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps configure build test demo asan tsan bench format tidy clean

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "tandem: installing$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

configure: deps $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure --no-tests=error -j $(JOBS) --timeout 600

demo: build
	./tests/demo/run_demo.sh $(BUILD)

asan: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DTANDEM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure --no-tests=error -j $(JOBS) --timeout 1200

# ThreadSanitizer over the end-to-end tests: the real agent and fixtures, every thread at work.
tsan: deps
	cmake -S . -B $(TSAN_BUILD) -G Ninja -DTANDEM_TSAN=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)
	cmake --build $(TSAN_BUILD) -j $(JOBS)
	cd $(TSAN_BUILD) && TSAN_OPTIONS=halt_on_error=1 \
	  ctest --output-on-failure --no-tests=error -L e2e -j $(JOBS) --timeout 1800

bench: build
	./tests/bench/run_all.sh $(BUILD)

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

tidy: configure
	git ls-files '*.cc' | grep -v '^fixtures/' | xargs clang-tidy -p $(BUILD) --quiet --extra-arg=-std=c++2b

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
