#!/usr/bin/env bash
# Installs what building, running and testing Gtedx IM needs on Debian 12 / Ubuntu (as root, or
# with sudo). Safe to run again: it only installs what is missing. Sourced by start, test and
# bench-server.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# A stable build folder outside the clone, so a reused machine builds incrementally.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/gtedx-im/target}"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

APT_PACKAGES=(
  # building
  build-essential pkg-config curl ca-certificates file libssl-dev
  # Tauri 2 on Linux (WebKitGTK 4.1) and the keyring's Secret Service client
  libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  libsoup-3.0-dev libjavascriptcoregtk-4.1-dev libdbus-1-dev dbus
  # Chinese text, and emoji in colour
  fonts-noto-cjk fonts-noto-color-emoji
)
# Only for the tests: the headless desktop the end-to-end tests run in.
APT_TEST_PACKAGES=(
  xvfb xauth webkit2gtk-driver dbus-x11 gnome-keyring dunst libnotify-bin imagemagick xdotool
  # the tests start their own PostgreSQL cluster and NATS server (crates/im-test-services)
  postgresql nats-server
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

install_test_tools() {
  APT_PACKAGES+=("${APT_TEST_PACKAGES[@]}")
  install_apt_packages
  install_cargo_tools
}

install_cargo_tools() {
  if ! command -v cargo-nextest >/dev/null 2>&1; then
    say "cargo-nextest: installing"
    cargo install cargo-nextest --locked
  fi
  if ! command -v tauri-driver >/dev/null 2>&1; then
    say "tauri-driver: installing"
    cargo install tauri-driver --version '^2' --locked
  fi
}

check_node() {
  if ! command -v node >/dev/null 2>&1; then
    say "node: installing Debian's nodejs and npm"
    need_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm
  fi
  local version
  version="$(node -p 'process.versions.node')"
  if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
    echo "Node.js $version is too old: the UI's build (Vite 8) needs 20.19 or newer." >&2
    return 1
  fi
}

# The web UI: dependencies exactly as locked, then the production build the app embeds.
build_ui() {
  say "ui: npm ci and build"
  (cd "$ROOT/ui" && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)
  ui_sources_hash >"$ROOT/ui/dist/.sources"
}

# A hash of what the UI's build reads: its lock file, configuration and sources.
ui_sources_hash() {
  (cd "$ROOT/ui" && find package.json package-lock.json index.html vite.config.ts svelte.config.js \
    tsconfig.json src -type f -not -path '*/__tests__/*' -print0 | sort -z | xargs -0 sha256sum | sha256sum)
}

# Builds the UI unless ui/dist was built from exactly these sources: an unchanged UI is neither
# rebuilt nor, in turn, re-embedded into the app (its build script watches ui/dist).
build_ui_if_changed() {
  if [ -f "$ROOT/ui/dist/index.html" ] && [ "$(cat "$ROOT/ui/dist/.sources" 2>/dev/null)" = "$(ui_sources_hash)" ]; then
    say "ui: unchanged since its last build"
  else
    build_ui
  fi
}

# What building and running the product needs.
setup_run() {
  install_apt_packages
  install_rust
  check_node
  mkdir -p "$CARGO_TARGET_DIR"
}

# ... and what the tests need too.
setup_all() {
  setup_run
  install_test_tools
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  setup_all
  say "set up; builds go to $CARGO_TARGET_DIR"
fi
