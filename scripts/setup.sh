#!/usr/bin/env bash
# Installs what building and testing Gtedx IM needs on Debian 12 / Ubuntu (as root, or with sudo).
# Safe to run again: it only installs what is missing. Sourced by run.sh and test.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# A stable build folder outside the clone, so a reused machine builds incrementally.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/gtedx-im/target}"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

APT_PACKAGES=(
  build-essential pkg-config curl ca-certificates file
)

need_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_apt_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "apt: installing ${missing[*]}"
    need_root apt-get update -qq
    need_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

install_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
      export PATH="$HOME/.cargo/bin:$PATH"
    else
      say "rust: installing the stable toolchain with rustup"
      curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt,clippy
      export PATH="$HOME/.cargo/bin:$PATH"
    fi
  fi
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt 2>/dev/null || true
}

install_nextest() {
  if ! command -v cargo-nextest >/dev/null 2>&1; then
    say "cargo-nextest: installing"
    cargo install cargo-nextest --locked
  fi
}

setup_all() {
  install_apt_packages
  install_rust
  install_nextest
  mkdir -p "$CARGO_TARGET_DIR"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  setup_all
  say "set up; builds go to $CARGO_TARGET_DIR"
fi
