#!/usr/bin/env bash
# Sets everything up and runs every test suite. Prints a summary of every suite at the end and
# fails if any suite failed or could not start.
set -uo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=setup.sh
source scripts/setup.sh
setup_all || { echo "set-up failed"; exit 1; }

RESULTS=()
FAILED=0
step() {
  local name="$1"; shift
  say "$name"
  local start=$SECONDS
  if "$@"; then
    RESULTS+=("PASS  $name ($((SECONDS - start)) s)")
  else
    RESULTS+=("FAIL  $name ($((SECONDS - start)) s)")
    FAILED=1
  fi
}

step "rustfmt" cargo fmt --all --check
step "clippy (warnings are errors)" cargo clippy --workspace --all-targets --locked -- -D warnings
step "rust tests (protocol, server)" cargo nextest run --locked --no-fail-fast
step "rust doc tests" cargo test --doc --locked

echo
echo "================ test summary ================"
printf '%s\n' "${RESULTS[@]}"
if [ "$FAILED" -ne 0 ]; then
  echo "RESULT: FAILED"
  exit 1
fi
echo "RESULT: all suites passed"
