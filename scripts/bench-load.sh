#!/usr/bin/env bash
# make bench-load: the standard load ramp on this machine. It builds voxgate,
# starts a gateway on loopback (SQLite in a temporary directory, limits
# raised for load), and ramps `voxgate loadgen` from 100 calls by 100 up to
# 1,000 (or until a step loses more than 0.1% of its frames or fails a
# set-up), then writes bin/load.json, bin/load.html and the loadgen section
# of BENCHMARKS.md. The calls replay the PCMU fixture's speech without its
# RFC 4733 digits (see BENCHMARKS.md for what the digits cost under load). Extra loadgen flags: make bench-load ARGS="--duration 30s".
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o bin/voxgate ./cmd/voxgate
work=$(mktemp -d /tmp/voxgate-load.XXXXXX)
gw=""
cleanup() { [ -n "$gw" ] && kill "$gw" 2>/dev/null && wait "$gw" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
port=$(shuf -i 20000-50000 -n 1)
bin/voxgate serve --dev-key --data-dir "$work" --http-addr "127.0.0.1:$port" --sip-addr "127.0.0.1:$((port + 1))" \
  --admin-addr "127.0.0.1:$((port + 2))" --log-level error --rate-limit 1000000 --max-concurrent-sessions 5000 \
  >"$work/serve.out" 2>&1 &
gw=$!
for _ in $(seq 100); do grep -q "voxgate is up" "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
key=$(grep -o 'sk_live_[A-Za-z0-9_]*' "$work/serve.out" | head -1)
[ -n "$key" ] || { cat "$work/serve.out"; exit 1; }
echo "gateway pid $gw, pprof at http://127.0.0.1:$((port + 2))/debug/pprof/"
# ${ARGS} unquoted on purpose: extra flags split into words.
# shellcheck disable=SC2086
VOXGATE_API_KEY=$key bin/voxgate loadgen --url "http://127.0.0.1:$port" --pid "$gw" \
  --fixture testdata/rtp/pcmu.pcap --dtmf=false --calls 100 --ramp-step 100 --ramp-max 1000 --duration 15s \
  --max-p99 0 --max-loss 0.001 --setup-rate 200 \
  --json bin/load.json --html bin/load.html --benchmarks BENCHMARKS.md \
  --benchmarks-command "make bench-load${ARGS:+ ARGS=\"$ARGS\"}  # scripts/bench-load.sh" ${ARGS:-}
