#!/usr/bin/env bash
# Throughput and memory of a full decode, side by side with bare libpcap iteration and
# tshark's WebSocket dissection, on two generated captures:
#   uncompressed - 200 interleaved connections, masked clients, 64 B..64 KiB messages
#   mixed        - the same, half the connections permessage-deflate (context takeover,
#                  zlib level 6), a third of their compressed messages in three fragments
# usage: scripts/bench.sh            (SIZE_MB=1024 by default, 0 skips those; TSHARK=0 skips tshark;
#                                    TLS_MB=0 / SMALL_MB=0 / H2_MB=0 skip the TLS, small-message
#                                    and HTTP/2 rows;
#                                    THREADS=N sets the parallel column, default: all cores)
# Each capture is decoded with one worker (--threads 1, the reading thread does everything)
# and with N workers (--threads N); the last lines give each against tshark and libpcap.
# needs: /usr/bin/time (Debian package "time"); tshark for the comparison column.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${SIZE_MB:-1024}
DIR=${BENCH_DIR:-/tmp/framescope-bench}
TSHARK=${TSHARK:-1}
THREADS=${THREADS:-$(nproc)}
mkdir -p "$DIR"
command -v /usr/bin/time >/dev/null || { echo "install GNU time: apt-get install time" >&2; exit 1; }
# BUILD=0 uses the binaries already built (a shared machine builds under its own lock).
[ "${BUILD:-1}" = 0 ] || cargo build --release --quiet --bin framescope --example gen_bench_capture --example pcap_iterate
TARGET=${CARGO_TARGET_DIR:-target}
BIN=$TARGET/release/framescope
EX=$TARGET/release/examples

# best wall time of 3 runs, and the peak RSS of the last: "seconds kilobytes"
measure() {
  local best="" rss=""
  for _ in 1 2 3; do
    /usr/bin/time -f "%e %M" -o "$DIR/time.txt" "$@" >/dev/null 2>&1 || true
    read -r t m <"$DIR/time.txt"
    rss=$m
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
  done
  echo "$best $rss"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)  cores: $(nproc)"
ratios=()
printf '%-13s %-28s %9s %10s %11s %9s\n' capture tool seconds "MB/s" "peak MB" "text msgs"
# SIZE_MB=0 skips the two generated captures (only the TLS / HTTP/2 rows).
kinds=(uncompressed mixed)
[ "$SIZE_MB" != 0 ] || kinds=()
for kind in "${kinds[@]}"; do
  f="$DIR/$kind-${SIZE_MB}MB.pcap"
  [ -f "$f" ] || "$EX/gen_bench_capture" "$kind" "$SIZE_MB" "$f"
  cat "$f" >/dev/null   # page cache, as in every run below
  mb=$(( $(stat -c %s "$f") / 1000000 ))
  row() { printf '%-13s %-28s %9.2f %10.0f %11.1f %9s\n' "$kind" "$1" "$2" "$(awk "BEGIN{print $mb/$2}")" "$(awk "BEGIN{print $3/1024}")" "$4"; }
  read -r t m < <(measure "$EX/pcap_iterate" "$f");                 row "libpcap next_packet only" "$t" "$m" "-"; t_pcap=$t
  read -r t m < <(measure "$BIN" analyze "$f" --quiet --threads 1);  row "framescope analyze, 1 worker" "$t" "$m" "-"; t_one=$t
  read -r t m < <(measure "$BIN" analyze "$f" --quiet --threads "$THREADS"); row "framescope analyze, $THREADS workers" "$t" "$m" "-"; t_many=$t
  read -r t m < <(measure "$BIN" analyze "$f" --quiet --reader libpcap --threads 1); row "framescope --reader libpcap" "$t" "$m" "-"
  for n in 1 "$THREADS"; do
    /usr/bin/time -f "%e %M" -o "$DIR/time.txt" sh -c "$BIN analyze '$f' --quiet --jsonl --threads $n > '$DIR/out-$n.jsonl'"
    read -r t m <"$DIR/time.txt"
    texts=$(grep -c '"opcode":"text"' "$DIR/out-$n.jsonl" || true)
    row "framescope --jsonl, $n worker(s)" "$t" "$m" "$texts"
  done
  cmp -s "$DIR/out-1.jsonl" "$DIR/out-$THREADS.jsonl" || echo "$kind: --jsonl differs between 1 and $THREADS workers!" >&2
  t_tshark=""
  if [ "$TSHARK" = 1 ] && command -v tshark >/dev/null; then
    /usr/bin/time -f "%e %M" -o "$DIR/time.txt" sh -c "tshark -n -r '$f' -Y websocket -T fields -e websocket.opcode -e websocket.payload.text > '$DIR/tshark.out' 2>/dev/null"
    read -r t m <"$DIR/time.txt"
    # text messages tshark decoded: final frames (text or continuation) that carry text
    texts=$(awk -F'\t' '($1=="1"||$1=="0") && $2!=""' "$DIR/tshark.out" | wc -l)
    row "tshark -Y websocket" "$t" "$m" "$texts"; t_tshark=$t
  fi
  ratios+=("$(awk -v k="$kind" -v p="$t_pcap" -v o="$t_one" -v m="$t_many" -v s="$t_tshark" -v n="$THREADS" 'BEGIN{
    line=sprintf("%-13s 1 worker: %.2fx libpcap time", k, o/p);
    if (s!="") line=line sprintf(", %.0fx tshark speed", s/o);
    line=line sprintf("   %d workers: %.2fx libpcap time", n, m/p);
    if (s!="") line=line sprintf(", %.0fx tshark speed", s/m);
    print line sprintf("   (speed-up %.2f)", o/m)}')")
done

printf '%s\n' "${ratios[@]}"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# Rows for ws:// and wss:// captures of the same peers: framescope with one worker (and with
# THREADS workers when $2 is "parallel"), tshark decrypting with the same key log. A capture
# with NAME.keys beside it is decrypted with that key log. $1: a suffix for the capture column.
tls_rows() {
  local suffix=$1 parallel=$2 f mb t m
  shift 2
  for f in "$@"; do
    cat "$f" >/dev/null
    mb=$(( $(stat -c %s "$f") / 1000000 ))
    row() { printf '%-13s %-28s %9.2f %10.0f %11.1f %9s\n' "$(basename "$f" | cut -d- -f1)$suffix" "$1" "$2" "$(awk "BEGIN{print $mb/$2}")" "$(awk "BEGIN{print $3/1024}")" "$4"; }
    local keys=() opt=()
    if [ -f "${f%.pcap}.keys" ]; then
      keys=(--keylog "${f%.pcap}.keys")
      opt=(-o "tls.keylog_file:${f%.pcap}.keys")
    fi
    read -r t m < <(measure "$BIN" analyze "$f" --quiet --threads 1 "${keys[@]}"); row "framescope analyze, 1 worker" "$t" "$m" "-"
    if [ "$parallel" = parallel ]; then
      read -r t m < <(measure "$BIN" analyze "$f" --quiet --threads "$THREADS" "${keys[@]}"); row "framescope, $THREADS workers" "$t" "$m" "-"
    fi
    if [ "$TSHARK" = 1 ] && command -v tshark >/dev/null; then
      /usr/bin/time -f "%e %M" -o "$DIR/time.txt" sh -c "tshark -n -r '$f' ${opt[*]} -Y websocket -T fields -e websocket.opcode > '$DIR/tshark.out' 2>/dev/null"
      read -r t m <"$DIR/time.txt"
      row "tshark -Y websocket" "$t" "$m" "$(wc -l < "$DIR/tshark.out")"
    fi
  done
}

# TLS: the same echo workload (binary messages of 1-64 KiB each way, no compression) recorded
# by real peers on lo over wss:// (TLS 1.3 with OpenSSL's first choice,
# TLS_AES_256_GCM_SHA384) and over ws://, to see what decryption adds; tshark decrypts with
# the same key log. Needs root (dumpcap on lo), python websockets, openssl. TLS_MB=0 skips.
# The third capture is TLS 1.2 with a CBC suite (CBC_CIPHER, AES-128-CBC with HMAC-SHA1 and
# encrypt-then-MAC, as OpenSSL negotiates it; the bench server has an ECDSA certificate).
TLS_MB=${TLS_MB:-200}
CBC_CIPHER=${CBC_CIPHER:-ECDHE-ECDSA-AES128-SHA}
if [ "$TLS_MB" != 0 ]; then
  tls="$DIR/tls-bench-${TLS_MB}MB.pcap"
  clear="$DIR/clear-bench-${TLS_MB}MB.pcap"
  cbc="$DIR/tls12-$(echo "$CBC_CIPHER" | tr '[:upper:]' '[:lower:]')-bench-${TLS_MB}MB.pcap"
  [ -f "$tls" ] && [ -f "$clear" ] || python3 captures/make_tls_captures.py --bench "$DIR" "$TLS_MB" >/dev/null
  [ -f "$cbc" ] || python3 captures/make_tls_captures.py --bench-cbc "$DIR" "$TLS_MB" "$CBC_CIPHER" >/dev/null
  tls_rows "" parallel "$clear" "$tls" "$cbc"
fi

# Small messages: the same peers, JSON-like text of 40-400 bytes sent in bursts of 64, over
# wss:// (TLS 1.3) and ws:// — per-message costs instead of bulk decryption. SMALL_MB=0 skips.
SMALL_MB=${SMALL_MB:-20}
if [ "$SMALL_MB" != 0 ]; then
  tls="$DIR/tls-small-bench-${SMALL_MB}MB.pcap"
  clear="$DIR/clear-small-bench-${SMALL_MB}MB.pcap"
  [ -f "$tls" ] && [ -f "$clear" ] || python3 captures/make_tls_captures.py --bench-small "$DIR" "$SMALL_MB" >/dev/null
  tls_rows -small one "$clear" "$tls"
fi

# HTTP/2 over TLS: two RFC 8441 WebSocket streams on one connection (Hypercorn; a client on
# h2 + wsproto), binary messages of 1-16 KiB echoed, TLS 1.3 with a key log. tshark decrypts
# and reads the HTTP/2 frames but decodes no WebSocket inside them (its column counts
# HTTP/2 DATA frames). Needs root (dumpcap on lo), pip hypercorn h2 wsproto. H2_MB=0 skips.
H2_MB=${H2_MB:-100}
if [ "$H2_MB" != 0 ]; then
  h2="$DIR/h2-bench-${H2_MB}MB.pcap"
  [ -f "$h2" ] || python3 captures/make_h2_captures.py --bench "$DIR" "$H2_MB" >/dev/null 2>&1
  cat "$h2" >/dev/null
  mb=$(( $(stat -c %s "$h2") / 1000000 ))
  row() { printf '%-13s %-28s %9.2f %10.0f %11.1f %9s\n' "h2-tls" "$1" "$2" "$(awk "BEGIN{print $mb/$2}")" "$(awk "BEGIN{print $3/1024}")" "$4"; }
  read -r t m < <(measure "$BIN" analyze "$h2" --quiet --keylog "${h2%.pcap}.keys"); row "framescope analyze" "$t" "$m" "-"
  /usr/bin/time -f "%e %M" -o "$DIR/time.txt" sh -c "$BIN analyze '$h2' --quiet --jsonl --keylog '${h2%.pcap}.keys' > '$DIR/out.jsonl'"
  read -r t m <"$DIR/time.txt"
  row "framescope --jsonl (to file)" "$t" "$m" "$(grep -c '"type":"message"' "$DIR/out.jsonl" || true)"
  if [ "$TSHARK" = 1 ] && command -v tshark >/dev/null; then
    /usr/bin/time -f "%e %M" -o "$DIR/time.txt" sh -c "tshark -n -r '$h2' -o 'tls.keylog_file:${h2%.pcap}.keys' -Y 'http2.type == 0' -T fields -e http2.streamid > '$DIR/tshark.out' 2>/dev/null"
    read -r t m <"$DIR/time.txt"
    row "tshark -Y http2 DATA" "$t" "$m" "$(wc -l < "$DIR/tshark.out")"
  fi
fi
