# framescope: the two set-up commands of README.md.
#   make run   - install what is missing, build (release) and open the bundled sample capture
#   make test  - install what is missing, check the pure core, run every test (debug)

SAMPLE ?= captures/echo-text-binary-ping-close.pcap
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SYSTEM_PACKAGES := build-essential pkg-config libpcap-dev

.PHONY: run test deps bench clean

deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup first (https://rustup.rs)"; exit 1; }

run: deps
	cargo run --release -- analyze $(SAMPLE)

test: deps
	scripts/check-pure-core
	cargo test --all-targets

bench: deps
	scripts/bench.sh

clean:
	cargo clean
