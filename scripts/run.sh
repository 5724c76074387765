#!/usr/bin/env bash
# Builds and serves Bosun on http://127.0.0.1:3000 (BOSUN_ADDR to change).
# Installs missing build tools first. With no DATABASE_URL, Bosun runs its own PostgreSQL
# in .bosun/postgres (kept between runs). Pass --demo to load the demo dataset.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-tools.sh
export PATH="$PWD/.tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"

cargo leptos build --release
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-$PWD/target/site}"
exec target/release/bosun serve "$@"
