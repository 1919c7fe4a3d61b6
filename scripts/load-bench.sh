#!/usr/bin/env bash
# Load benchmark (NOT run in CI): framescope load vs Artillery on the same tokio-tungstenite
# echo server (examples/load_echo_server.rs) on 127.0.0.1, with the CPU time each tool used.
#   scripts/load-bench.sh                 # all scenarios
#   CONNS=10000 RATE_CONNS=200 RATE=1000 DELAY_MS=5 SECS=10 THREADS=0 scripts/load-bench.sh
# The throughput run offers RATE_CONNS x RATE messages a second (200 000 by default, above
# what two shared cores carry), so its "after ramp-up" line is the ceiling reached.
# Needs: a release build (cargo build --release --bin framescope --example load_echo_server),
# npm (Artillery is installed into target/artillery on first use), ulimit -n raised (done here).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-target}
FS=$TARGET/release/framescope
SRV=$TARGET/release/examples/load_echo_server
CONNS=${CONNS:-10000}          # concurrent connections held
RATE_CONNS=${RATE_CONNS:-200}  # connections for the throughput run
RATE=${RATE:-1000}             # messages/s per connection in the throughput run
THREADS=${THREADS:-0}          # framescope's worker threads (0: one per core)
DELAY_MS=${DELAY_MS:-5}        # the server's injected delay for the latency run
SECS=${SECS:-10}
PORT=${PORT:-9400}
ulimit -n 65536 || ulimit -n "$(ulimit -Hn)"
ART=${ARTILLERY:-$TARGET/artillery/node_modules/.bin/artillery}
if [ ! -x "$ART" ]; then
  mkdir -p "$TARGET/artillery" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$TARGET/artillery" --no-audit --no-fund --ignore-scripts artillery@2 >/dev/null
fi
cpu() { # user+sys seconds of a finished process tree, from /usr/bin/time's output file
  awk '/User time/{u=$4} /System time/{s=$4} END{printf "%.1f", u+s}' "$1"
}
serve() {
  "$SRV" "$PORT" "$1" > /dev/null & SRV_PID=$!
  sleep 0.5
  SRV_CPU0=$(awk '{print $14+$15}' /proc/$SRV_PID/stat)
}
stop() {
  if [ -r /proc/$SRV_PID/stat ]; then
    echo "  server CPU over the scenario $(awk -v t0="$SRV_CPU0" -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14+$15-t0)/hz}' /proc/$SRV_PID/stat) s"
  fi
  kill "$SRV_PID" 2>/dev/null || true; wait "$SRV_PID" 2>/dev/null || true
}
trap stop EXIT
run_fs() { # name, args...
  local name=$1; shift
  /usr/bin/time -v -o /tmp/fs-$name.time "$FS" load "ws://127.0.0.1:$PORT/" --quiet --threads "$THREADS" --report /tmp/fs-$name.json "$@" > /tmp/fs-$name.txt || true
  echo "framescope $name: $(head -1 /tmp/fs-$name.txt)"
  sed -n '2,$p' /tmp/fs-$name.txt
  echo "  CPU $(cpu /tmp/fs-$name.time) s, peak RSS $(awk '/Maximum resident/{print $6}' /tmp/fs-$name.time) KB"
}
run_art() { # name, vusers arrival rate, messages per vuser, think seconds
  local name=$1 arrivals=$2 count=$3 think=$4
  cat > /tmp/art-$name.yml <<YML
config:
  target: "ws://127.0.0.1:$PORT/"
  phases: [{ duration: 1, arrivalCount: $arrivals }]
scenarios:
  - engine: ws
    flow:
      - loop:
          - send: "$(head -c 64 /dev/zero | tr '\0' x)"
          - think: $think
        count: $count
YML
  /usr/bin/time -v -o /tmp/art-$name.time "$ART" run /tmp/art-$name.yml > /tmp/art-$name.txt 2>&1 || true
  # The summary report (after "All VUs finished") holds the totals.
  echo "artillery $name:"
  sed -n '/All VUs finished/,$p' /tmp/art-$name.txt | grep -E 'messages_sent|vusers.(completed|failed|created)|errors' | sed 's/^/  /'
  echo "  wall time $(awk '/Elapsed \(wall clock\)/{print $8}' /tmp/art-$name.time)"
  echo "  CPU $(cpu /tmp/art-$name.time) s, peak RSS $(awk '/Maximum resident/{print $6}' /tmp/art-$name.time) KB"
}
echo "== 1. $CONNS connections held for $SECS s (1 msg/s each)"
serve 0; run_fs hold --connections "$CONNS" --ramp-up 5 --duration "$SECS" --rate 1 --size 64; stop
serve 0; run_art hold "$CONNS" "$SECS" 1; stop
echo "== 2. throughput: $RATE_CONNS connections x $RATE msg/s, 64 B"
serve 0; run_fs rate --connections "$RATE_CONNS" --ramp-up 1 --duration "$SECS" --rate "$RATE" --size 64; stop
serve 0; run_art rate "$RATE_CONNS" $((RATE * SECS)) $(awk "BEGIN{print 1/$RATE}"); stop
echo "== 3. latency against a server delay of $DELAY_MS ms: 50 connections x 20 msg/s"
serve "$DELAY_MS"
run_fs delay --connections 50 --ramp-up 1 --duration "$SECS" --rate 20 --size 64
stop
