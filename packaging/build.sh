#!/usr/bin/env bash
# Builds framescope's packages into $CARGO_TARGET_DIR/packages (default target/packages):
#   the .deb (cargo-deb) and, on an RPM distribution, the .rpm (cargo-generate-rpm), each with the binary, the desktop
#   entry, the hicolor icons rendered from assets/icon/framescope.svg, the AppStream metainfo,
#   man pages and bash/zsh/fish completions generated from the clap definitions
#   (examples/package_docs.rs), and the maintainer scripts that grant capture rights.
#
# Usage: packaging/build.sh [--debug]
#   --debug        package the debug binary (fast, for trying the install flow); the default
#                  is one release build.
#   CARGO_LOCK=F   run every cargo command under `flock F` (a shared build machine).
# Needs: cargo, rsvg-convert (librsvg2-bin), gzip, dpkg-dev (dpkg-shlibdeps for the .deb's
# library dependencies), desktop-file-utils and appstream (validation); cargo-deb and
# cargo-generate-rpm are installed from crates.io when missing (`cargo install --locked`).
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
if [ "${1:-}" = --debug ]; then
    profile=dev
elif [ -n "${1:-}" ]; then
    echo "usage: packaging/build.sh [--debug]" >&2
    exit 2
fi
profile_dir=$([ "$profile" = dev ] && echo debug || echo release)
target_dir=${CARGO_TARGET_DIR:-target}
assets="$target_dir/$profile_dir/package-assets"
out="$target_dir/packages"

cargo_locked() {
    if [ -n "${CARGO_LOCK:-}" ]; then flock "$CARGO_LOCK" cargo "$@"; else cargo "$@"; fi
}

for tool in rsvg-convert gzip strip dpkg-shlibdeps desktop-file-validate appstreamcli; do
    command -v "$tool" >/dev/null ||
        { echo "build.sh: $tool not found (apt-get install librsvg2-bin gzip dpkg-dev desktop-file-utils appstream)" >&2; exit 1; }
done
# The tools from crates.io: `cargo install` puts them in $CARGO_INSTALL_ROOT/bin or ~/.cargo/bin.
export PATH="${CARGO_INSTALL_ROOT:+$CARGO_INSTALL_ROOT/bin:}${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
cargo deb --version >/dev/null 2>&1 || cargo_locked install --locked cargo-deb
cargo generate-rpm --version >/dev/null 2>&1 || cargo_locked install --locked cargo-generate-rpm

echo "== binary ($profile)"
cargo_locked build --profile "$profile" --bin framescope

echo "== man pages and completions"
rm -rf "$assets"
mkdir -p "$assets"
cargo_locked run --quiet --example package_docs -- "$assets"
# Debian policy: man pages gzipped, reproducibly (-n: no name or time stamp).
gzip -9nf "$assets"/man/*.1

echo "== icons"
for size in 16 24 32 48 64 128 256 512; do
    mkdir -p "$assets/icons/${size}x${size}/apps"
    rsvg-convert -w "$size" -h "$size" assets/icon/framescope.svg -o "$assets/icons/${size}x${size}/apps/framescope.png"
done

# A stripped copy for both packages (the release profile keeps line tables for backtraces;
# the target directory's binary keeps them).
strip --strip-debug -o "$assets/framescope" "$target_dir/$profile_dir/framescope"

echo "== desktop entry and metainfo"
desktop-file-validate packaging/framescope.desktop
appstreamcli validate --no-net packaging/io.github.framescope.Framescope.metainfo.xml

echo "== packages"
mkdir -p "$out"
rm -f "$out"/*.deb "$out"/*.rpm
cargo deb --no-build --profile "$profile" --no-strip --output "$out/"
# The .rpm only where it can be right: a binary linked on Debian or Ubuntu needs their
# libpcap.so.0.8, which RPM distributions do not have (theirs is libpcap.so.1), and ldd there
# would list Debian's library names as requirements. FRAMESCOPE_RPM=1 builds it anyway (to
# inspect its contents and scripts with `rpm -qlp`/`rpm -qp --scripts`).
if [ -f /etc/redhat-release ] || [ -n "${FRAMESCOPE_RPM:-}" ]; then
    # cargo-generate-rpm maps target/release/ to target/<the name given>/: the directory's name.
    cargo generate-rpm --profile "$profile_dir" --output "$out/"
else
    echo "skipping the .rpm on this Debian-family system (libpcap.so.0.8); run build.sh on Fedora, or FRAMESCOPE_RPM=1"
fi
ls -l "$out"/*.deb "$out"/*.rpm 2>/dev/null
