# framescope: the two set-up commands of README.md.
#   make run   - install what is missing, build (release) and open the window on a sample capture
#   make test  - install what is missing, check the pure core, run every test (debug)

SAMPLE ?= captures/python-deflate-context-takeover.pcap
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Building needs these; running the window also needs the X11/OpenGL libraries.
BUILD_PACKAGES := build-essential pkg-config libpcap-dev
WINDOW_PACKAGES := libx11-6 libx11-xcb1 libxcursor1 libxi6 libxrandr2 libxkbcommon-x11-0 libgl1 libegl1 libegl-mesa0 libgl1-mesa-dri

.PHONY: run test deps window-deps install bench clean

deps:
	@$(MAKE) --no-print-directory install PACKAGES="$(BUILD_PACKAGES)"
	@command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup first (https://rustup.rs)"; exit 1; }

window-deps:
	@$(MAKE) --no-print-directory install PACKAGES="$(WINDOW_PACKAGES)"

install:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

run: deps window-deps
	cargo run --release -- $(SAMPLE)

test: deps
	python3 -m pip install -q websockets kosoku || python3 -m pip install -q --break-system-packages websockets kosoku
	npm install --prefix tests/node --no-audit --no-fund >/dev/null || echo 'npm missing: the Node ws probe test will skip'
	scripts/check-pure-core
	cargo test --all-targets

bench: deps
	scripts/bench.sh

clean:
	cargo clean
