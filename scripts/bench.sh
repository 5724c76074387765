#!/usr/bin/env bash
# Ingest benchmark: builds release binaries and prints import / re-import times, peak server
# RSS and a raw COPY baseline for 1k / 10k / 100k synthetic findings (SARIF and Trivy).
# Uses DATABASE_URL when set, else a private throwaway PostgreSQL under target/bench-postgres.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release --locked -p server --bin bosun --bin bosun-bench
if [ -z "${DATABASE_URL:-}" ]; then
  pg_dir="$PWD/target/bench-postgres"
  DATABASE_URL="$(target/release/bosun postgres start --dir "$pg_dir")"
  export DATABASE_URL
  trap 'target/release/bosun postgres stop --dir "$pg_dir" --remove || true' EXIT
fi
target/release/bosun-bench
