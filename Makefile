# dnsight — the two commands:
#   make demo   install what is missing, build, run the engine on generated traffic
#   make test   install what is missing, build, run every test
# Other targets: setup, build, fuzz, bench, format, clean.

BUILD      ?= build
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 20
JOBS       ?= 2
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian bookworm packages the build, the tests, the demo and the benchmarks use.
DEB_PACKAGES := build-essential cmake ninja-build ccache pkg-config \
  libfstrm-dev libprotobuf-dev protobuf-compiler libpcap-dev libpsl-dev publicsuffix \
  libsimdjson-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libxxhash-dev libssl-dev \
  libgtest-dev libgmock-dev libbenchmark-dev clang-14 libclang-rt-14-dev \
  libcpp-httplib-dev librocksdb-dev libhiredis-dev libzstd-dev libxgboost-dev redis-server curl \
  unbound knot-dnsutils fstrm-bin tshark python3 python3-pandas python3-numpy \
  prometheus prometheus-alertmanager prometheus-node-exporter chromium python3-pil nodejs
# Only `make bench` needs these (a reference HTTP server and load tool).
BENCH_PACKAGES := nginx wrk

.PHONY: setup build demo test fuzz bench format clean

setup:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# npm: Debian's package, unless the installed nodejs already brings its own.
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends npm; }

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: setup $(BUILD)/build.ninja web/node_modules/.package-lock.json
	ninja -C $(BUILD) -j $(JOBS)

# The dashboard's one npm dependency (uPlot), pinned in web/package-lock.json.
web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error

demo: build
	bash tools/demo.sh $(BUILD)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

fuzz: setup
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_BUILD) -G Ninja -DDNSIGHT_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
	ninja -C $(FUZZ_BUILD) -j $(JOBS) $$(cd tests/fuzz && ls *_fuzz.cc | sed 's/\.cc$$//')
	bash tools/run_fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

bench: build
	@$(MAKE) --no-print-directory setup DEB_PACKAGES="$(BENCH_PACKAGES)"
	bash bench/run.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)
