#!/usr/bin/env bash
# Page benchmark: builds release binaries, seeds a scratch database `bosun_bench` (on
# DATABASE_URL's server, else a private PostgreSQL under target/bench-postgres) with
# `bosun seed` — 1,000,000 findings unless BOSUN_BENCH_FINDINGS says otherwise — starts the
# server on loopback, signs in as the seed's admin and as its developer on one team, and
# prints p50/p95 per page over BOSUN_BENCH_REQUESTS (200) sequential keep-alive requests,
# then the explorer's requests/s with wrk at 64 connections. The seeded database is kept
# and reused by the next run of the same size (BOSUN_BENCH_RESEED=1 to seed again).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v wrk >/dev/null; then
  echo "==> installing wrk" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  if [ ! -f /tmp/.bosun-apt-updated ]; then $sudo apt-get update -qq && touch /tmp/.bosun-apt-updated; fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null \
    || echo "==> could not install wrk: throughput will be skipped" >&2
fi

# The pages are rendered on the server; the site (CSS, WASM) is built when cargo-leptos is
# there, and only the server binary otherwise.
export PATH="$PWD/.tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
if command -v cargo-leptos >/dev/null; then
  cargo leptos build --release
  export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-$PWD/target/site}"
fi
cargo build --release --locked -p server --bin bosun --bin bosun-bench

if [ -z "${DATABASE_URL:-}" ]; then
  pg_dir="$PWD/target/bench-postgres"
  DATABASE_URL="$(target/release/bosun postgres start --dir "$pg_dir")"
  export DATABASE_URL
  trap 'target/release/bosun postgres stop --dir "$pg_dir" || true' EXIT
fi
target/release/bosun-bench pages
