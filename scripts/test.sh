#!/usr/bin/env bash
# Runs every Bosun test: unit, integration (real PostgreSQL) and browser (real Chromium).
# Installs what tests need first. Uses DATABASE_URL when set, else a private PostgreSQL
# cluster under target/test-postgres, started here and stopped on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-tools.sh --test
# the real scanners of the producer conformance suite (tests/tests/integration/producers.rs)
scripts/install-producers.sh
export PATH="$PWD/.tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"

echo "==> checking formatting and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> building the site (server + wasm)"
cargo leptos build
cargo build --locked -p server --bin bosun

if [ -z "${DATABASE_URL:-}" ]; then
  pg_dir="$PWD/target/test-postgres"
  echo "==> starting a private PostgreSQL in $pg_dir"
  DATABASE_URL="$(target/debug/bosun postgres start --dir "$pg_dir" --ephemeral)"
  export DATABASE_URL
  trap 'target/debug/bosun postgres stop --dir "$pg_dir" --remove || true' EXIT
fi

echo "==> running tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast "$@"
else
  cargo test --workspace --locked --no-fail-fast "$@"
fi
