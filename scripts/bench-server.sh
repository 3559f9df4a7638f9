#!/usr/bin/env bash
# Builds release binaries, starts im-server pinned to CPU 0 on a fresh database and drives it from
# CPU 1 with im-load. Extra arguments go to im-load (default: 200 users in 1:1 pairs at
# 1k, 5k, 10k, 20k msgs/s, then as fast as acks allow).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=setup.sh
source scripts/setup.sh
setup_all
cargo build --release --locked -p im-server -p im-bench
BIN="$CARGO_TARGET_DIR/release"
WORK="$(mktemp -d)"
PORT="${PORT:-7901}"
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT
# The load is the point: lift the per-connection request rate limit.
IM_LISTEN="127.0.0.1:$PORT" IM_DATABASE="$WORK/bench.sqlite3" IM_LOG=warn \
  IM_REQUESTS_PER_SECOND=1000000 IM_REQUEST_BURST=1000000 \
  taskset -c 0 "$BIN/im-server" &
SERVER=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
if [ $# -eq 0 ]; then set -- --users 200 --rates 1000,5000,10000,20000,0; fi
say "im-load $*"
taskset -c 1 "$BIN/im-load" --url "ws://127.0.0.1:$PORT/ws" --server-pid "$SERVER" "$@"
