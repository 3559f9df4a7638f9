#!/usr/bin/env bash
# Sets everything up and runs Gtedx IM: the server on embedded SQLite (./im-server.sqlite3
# in the data folder below).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=setup.sh
source scripts/setup.sh
setup_all

DATA="${GTEDX_DATA:-$HOME/.local/share/gtedx-im-server}"
mkdir -p "$DATA"
say "building im-server (release)"
cargo build --release --locked -p im-server
say "starting im-server on ${IM_LISTEN:-127.0.0.1:7822} with $DATA/im-server.sqlite3 (Ctrl+C stops it)"
cd "$DATA"
exec "$CARGO_TARGET_DIR/release/im-server"
