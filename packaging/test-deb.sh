#!/usr/bin/env bash
# Installs framescope's .deb into a clean Debian root (debootstrap, minbase) and checks what a
# user gets: the package installs with its dependencies from the archive, the binary carries
# the capture capabilities and no setuid bit, `framescope analyze` works there for an
# unprivileged user and matches the same binary run outside, the desktop entry validates, the
# man pages and completions are where the shells look, the window opens under Xvfb (with the
# capabilities kept for a member of the framescope group and dropped for anyone else, so only
# the member's `-i lo -k` opens a packet socket), and purge leaves no file and no group behind.
#
# Usage (root; run by `make package`, not by .ci/run: it downloads about 65 MB of packages):
#   packaging/test-deb.sh [PATH.deb]     default: the newest .deb in $CARGO_TARGET_DIR/packages
# FRAMESCOPE_DEBROOT_CACHE (default /tmp/framescope-debroot-bookworm.tar) keeps the freshly
# debootstrapped root between runs, FRAMESCOPE_APT_CACHE (default /tmp/framescope-apt-archives)
# the downloaded .debs; delete them to start from the archive again.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "test-deb.sh: needs root (debootstrap, chroot)" >&2; exit 1; }
deb=${1:-$(ls -t "${CARGO_TARGET_DIR:-target}"/packages/*.deb 2>/dev/null | head -n 1)}
[ -f "$deb" ] || { echo "test-deb.sh: no .deb (run packaging/build.sh first)" >&2; exit 1; }
suite=${DEBIAN_SUITE:-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${FRAMESCOPE_DEBROOT_CACHE:-/tmp/framescope-debroot-$suite.tar}
apt_cache=${FRAMESCOPE_APT_CACHE:-/tmp/framescope-apt-archives}
sample=/usr/share/doc/framescope/examples/python-deflate-context-takeover.pcap

work=$(mktemp -d /tmp/framescope-deb-test.XXXXXX)
root="$work/root"
failures=0
pass() { echo "  ok    $*"; }
fail() { echo "  FAIL  $*"; failures=$((failures + 1)); }
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
as_user() { local user=$1; shift; in_root runuser -u "$user" -- env HOME="/home/$user" "$@"; }

cleanup() {
    for pid in $(ls "$work"/*.pid 2>/dev/null | xargs -r cat); do kill "$pid" 2>/dev/null || true; done
    for mount in var/cache/apt/archives dev/pts dev proc; do
        if mountpoint -q "$root/$mount"; then umount "$root/$mount" || umount -l "$root/$mount" || true; fi
    done
    # Never delete through a mount that is still there (it would be the host's /dev).
    if grep -q " $work/" /proc/mounts; then
        echo "test-deb.sh: mounts remain under $work; not deleting it" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

echo "== a clean $suite root"
if [ ! -f "$cache" ]; then
    command -v debootstrap >/dev/null || { echo "test-deb.sh: apt-get install debootstrap" >&2; exit 1; }
    nice -n 19 debootstrap --variant=minbase "$suite" "$work/fresh" "$mirror" >"$work/debootstrap.log" ||
        { tail -n 20 "$work/debootstrap.log"; exit 1; }
    tar -C "$work/fresh" -cf "$cache" .
    rm -rf "$work/fresh"
fi
mkdir -p "$root"
tar -C "$root" -xf "$cache"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
mount -t proc proc "$root/proc"
mkdir -p "$apt_cache/partial"
mount --bind "$apt_cache" "$root/var/cache/apt/archives"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/framescope.deb"

echo "== install $(basename "$deb") with apt (dependencies from the archive)"
in_root apt-get update -qq
if in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    /tmp/framescope.deb xvfb xauth x11-utils desktop-file-utils >"$work/apt.log" 2>&1; then
    pass "apt-get install ./framescope.deb"
else
    tail -n 30 "$work/apt.log"
    fail "apt-get install ./framescope.deb"
    exit 1
fi
in_root dpkg -L framescope | sort >"$work/files"

echo "== capture rights"
in_root getent group framescope >/dev/null && pass "group framescope exists" || fail "no framescope group"
caps=$(in_root getcap /usr/bin/framescope)
case "$caps" in
*cap_net_admin,cap_net_raw=eip*) pass "getcap: $caps" ;;
*) fail "getcap /usr/bin/framescope: '$caps'" ;;
esac
mode=$(stat -c '%A %U:%G' "$root/usr/bin/framescope")
case "$mode" in
-rwxr-xr-x\ root:root) pass "no setuid/setgid: $mode" ;;
*) fail "unexpected mode: $mode" ;;
esac
in_root useradd --create-home outsider
in_root useradd --create-home --groups framescope member

echo "== framescope analyze as an unprivileged user"
in_root framescope --version >"$work/version"
[ "$(cat "$work/version")" = "$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/bin/framescope >"$work/framescope" &&
    chmod +x "$work/framescope" && "$work/framescope" --version)" ] &&
    pass "--version: $(cat "$work/version")" || fail "--version in the root: $(cat "$work/version")"
if as_user outsider framescope analyze "$sample" --summary >"$work/summary.root" 2>&1; then
    "$work/framescope" analyze "$root$sample" --summary >"$work/summary.host" 2>&1 || true
    sed -i "s#$root##g" "$work/summary.host"
    if cmp -s "$work/summary.root" "$work/summary.host" && grep -q . "$work/summary.root"; then
        pass "analyze --summary as 'outsider' = the same binary outside ($(wc -l <"$work/summary.root") lines)"
    else
        diff "$work/summary.host" "$work/summary.root" | head -n 20
        fail "analyze --summary differs from the same binary outside the root"
    fi
    messages=$(as_user outsider framescope analyze "$sample" --jsonl | grep -c '"type":"message"' || true)
    [ "$messages" -gt 0 ] && pass "analyze --jsonl: $messages messages" || fail "analyze --jsonl: no messages"
else
    cat "$work/summary.root"
    fail "framescope analyze as 'outsider'"
fi

echo "== desktop entry, metainfo, icons, man pages, completions"
desktop=/usr/share/applications/framescope.desktop
in_root desktop-file-validate "$desktop" && pass "desktop-file-validate $desktop" || fail "desktop-file-validate"
for file in /usr/share/metainfo/io.github.framescope.Framescope.metainfo.xml \
    /usr/share/icons/hicolor/scalable/apps/framescope.svg \
    /usr/share/icons/hicolor/16x16/apps/framescope.png /usr/share/icons/hicolor/512x512/apps/framescope.png \
    /usr/share/bash-completion/completions/framescope /usr/share/zsh/vendor-completions/_framescope \
    /usr/share/fish/vendor_completions.d/framescope.fish; do
    grep -qx "$file" "$work/files" && [ -s "$root$file" ] && pass "$file" || fail "missing: $file"
done
man_pages=$(grep -c '^/usr/share/man/man1/framescope.*\.1\.gz$' "$work/files" || true)
zcat "$root/usr/share/man/man1/framescope-analyze.1.gz" | grep -q '^\.TH framescope-analyze 1' &&
    pass "$man_pages man pages, framescope-analyze(1) is roff" || fail "man pages ($man_pages)"
grep -q -- '--display-filter' "$root/usr/share/bash-completion/completions/framescope" &&
    pass "bash completion knows --display-filter" || fail "bash completion lacks --display-filter"

echo "== the window under Xvfb, and live capture on lo"
# Per user, twice: the window on the bundled capture, then `-i lo -k` (capture from lo at
# once). The member keeps the capabilities and gets a packet socket; the outsider runs
# without them and gets none.
open_window() { # user args... (one window at a time per user)
    local user=$1
    shift
    as_user "$user" xvfb-run --auto-servernum framescope "$@" >"$work/window.$user.log" 2>&1 &
    echo $! >"$work/window.$user.pid"
}
window_status() { # user -> "pid capeff" of the framescope process once its window is mapped, or nothing
    local user=$1 pid display auth
    pid=$(pgrep -u "$(in_root id -u "$user")" -x framescope | head -n 1) || return 0
    [ -n "$pid" ] || return 0
    display=$(tr '\0' '\n' <"/proc/$pid/environ" | sed -n 's/^DISPLAY=//p')
    auth=$(tr '\0' '\n' <"/proc/$pid/environ" | sed -n 's/^XAUTHORITY=//p')
    [ -n "$display" ] || return 0
    as_user "$user" env DISPLAY="$display" XAUTHORITY="$auth" xwininfo -root -tree 2>/dev/null |
        grep -q '"framescope' || return 0
    echo "$pid $(sed -n 's/^CapEff:\s*//p' "/proc/$pid/status")"
}
wait_for_window() { # user -> status line, or nothing after 30 s
    local status=""
    for _ in $(seq 1 60); do
        status=$(window_status "$1")
        [ -n "$status" ] && break
        sleep 0.5
    done
    echo "$status"
}
packet_sockets() { # pid -> how many AF_PACKET sockets (what libpcap captures with) it holds
    local pid=$1 inodes
    inodes=$(awk 'NR > 1 {print $NF}' "/proc/$pid/net/packet")
    ls -l "/proc/$pid/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\].*/\1/p' |
        grep -cxF -f <(echo "$inodes") || true
}
close_window() {
    kill "$1" 2>/dev/null || true
    wait "$(cat "$work/window.$2.pid")" 2>/dev/null || true
}
for user in member outsider; do
    open_window "$user" "$sample"
    status=$(wait_for_window "$user")
    if [ -z "$status" ]; then
        cat "$work/window.$user.log"
        fail "window for '$user' did not map within 30 s"
        continue
    fi
    pid=${status% *} capeff=${status#* }
    pass "window on the sample capture mapped for '$user' (pid $pid, CapEff $capeff)"
    case "$user:$capeff" in
    member:0000000000003000) pass "member keeps cap_net_raw,cap_net_admin" ;;
    outsider:0000000000000000) pass "outsider runs without capabilities" ;;
    *) fail "'$user' has CapEff $capeff" ;;
    esac
    close_window "$pid" "$user"

    open_window "$user" -i lo -k
    status=$(wait_for_window "$user")
    [ -n "$status" ] || { fail "capture window for '$user' did not map"; continue; }
    pid=${status% *}
    sockets=0
    for _ in $(seq 1 20); do
        sockets=$(packet_sockets "$pid")
        [ "$sockets" -gt 0 ] && break
        sleep 0.5
    done
    case "$user:$sockets" in
    member:0) fail "member's -i lo -k holds no packet socket" ;;
    member:*) pass "member's -i lo -k captures ($sockets packet socket)" ;;
    outsider:0) pass "outsider's -i lo -k holds no packet socket (refused)" ;;
    *) fail "outsider's -i lo -k holds $sockets packet sockets" ;;
    esac
    close_window "$pid" "$user"
done

echo "== purge"
in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq framescope >"$work/purge.log" 2>&1 &&
    pass "apt-get purge framescope" || { cat "$work/purge.log"; fail "apt-get purge"; }
in_root dpkg -s framescope >/dev/null 2>&1 && fail "still known to dpkg after purge" || pass "dpkg no longer lists framescope"
left=0
while read -r path; do
    [ -f "$root$path" ] || [ -L "$root$path" ] && { echo "    left behind: $path"; left=$((left + 1)); }
done <"$work/files"
[ "$left" = 0 ] && pass "no packaged file left ($(wc -l <"$work/files") paths checked)" || fail "$left files left"
in_root getent group framescope >/dev/null && fail "group framescope left behind" || pass "group framescope removed"

echo
if [ "$failures" = 0 ]; then echo "test-deb.sh: all checks passed"; else echo "test-deb.sh: $failures checks failed"; fi
[ "$failures" = 0 ]
