# framescope: the two set-up commands of README.md.
#   make run   - install what is missing, build (release) and open the window on a sample capture
#   make test  - install what is missing, check the pure core, run every test (debug)
#   make package - build the .deb (and on Fedora the .rpm; release) and test the .deb in a fresh Debian root

SAMPLE ?= captures/python-deflate-context-takeover.pcap
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Building needs these; running the window also needs the X11/OpenGL libraries.
# tcpdump and iproute2 (ip, tc): tests/midframe_capture.rs records in a network namespace.
BUILD_PACKAGES := build-essential pkg-config libpcap-dev tcpdump iproute2
# Mosquitto answers the MQTT messages scenarios build (tests/app_send_servers.rs, through a websockets relay).
TEST_PACKAGES := mosquitto
# Fallback fonts for CJK and Korean, Arabic/Hebrew/symbols, Devanagari and emoji (the window works without them,
# showing boxes for those scripts; the font test needs them).
FONT_PACKAGES := fonts-wqy-microhei fonts-dejavu-core fonts-lohit-deva fonts-symbola
# packaging/build.sh renders icons, reads library dependencies and validates the desktop files;
# test-deb.sh debootstraps.
PACKAGE_PACKAGES := librsvg2-bin dpkg-dev appstream desktop-file-utils debootstrap
# Optional, only to re-record captures/chromium-* and firefox-* (captures/make_browser_captures.py):
# headless Chromium and Firefox ESR, certutil (libnss3-tools) for Firefox's profile, dumpcap/editcap
# from tshark (Debian names). Tests use the kept captures; CI does not install these.
BROWSER_PACKAGES := chromium firefox-esr libnss3-tools tshark
WINDOW_PACKAGES := $(FONT_PACKAGES) libx11-6 libx11-xcb1 libxcursor1 libxi6 libxrandr2 libxkbcommon-x11-0 libgl1 libegl1 libegl-mesa0 libgl1-mesa-dri

.PHONY: run test package deps py-deps browser-deps window-deps font-deps install bench clean

deps:
	@$(MAKE) --no-print-directory install PACKAGES="$(BUILD_PACKAGES)"
	@command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup first (https://rustup.rs)"; exit 1; }

font-deps:
	@$(MAKE) --no-print-directory install PACKAGES="$(FONT_PACKAGES)"

# Python websockets: the chat server the scenario tests run (tests/servers/chat_server.py);
# hypercorn, h2 and wsproto: the RFC 8441 peers tests/h2_websockets.rs records live.
# duckdb: the fleet recipe's test (tests/fleet_duckdb.rs, docs/fleet.md).
py-deps:
	@command -v python3 >/dev/null || $(MAKE) --no-print-directory install PACKAGES="python3 python3-pip"
	@python3 -c 'import websockets.asyncio.server, kosoku, duckdb' 2>/dev/null || python3 -m pip install -q websockets kosoku duckdb 2>/dev/null || python3 -m pip install -q --break-system-packages websockets kosoku duckdb
	@python3 -c 'import hypercorn, h2, wsproto' 2>/dev/null || python3 -m pip install -q hypercorn h2 wsproto 2>/dev/null || python3 -m pip install -q --break-system-packages hypercorn h2 wsproto
	@command -v mosquitto >/dev/null || $(MAKE) --no-print-directory install PACKAGES="$(TEST_PACKAGES)"
	@python3 -c 'import socketio, aiohttp' 2>/dev/null || python3 -m pip install -q python-socketio aiohttp 2>/dev/null || python3 -m pip install -q --break-system-packages python-socketio aiohttp
	@command -v npm >/dev/null || $(MAKE) --no-print-directory install PACKAGES="nodejs npm"
	@npm install --prefix tests/node --no-audit --no-fund >/dev/null || echo 'npm failed: the Node ws probe test will skip'

browser-deps:
	@$(MAKE) --no-print-directory install PACKAGES="$(BROWSER_PACKAGES)"
	@python3 -c 'import hypercorn, websockets' 2>/dev/null || python3 -m pip install -q hypercorn websockets 2>/dev/null || python3 -m pip install -q --break-system-packages hypercorn websockets

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

test: deps font-deps py-deps
	scripts/check-pure-core
	cargo test --all-targets

# Slow (one release build, ~65 MB of Debian packages for the test root): not part of CI.
package: deps
	@$(MAKE) --no-print-directory install PACKAGES="$(PACKAGE_PACKAGES)"
	packaging/build.sh
	$(SUDO) packaging/test-deb.sh "$$(ls -t $${CARGO_TARGET_DIR:-target}/packages/*.deb | head -n 1)"

bench: deps
	scripts/bench.sh

clean:
	cargo clean
