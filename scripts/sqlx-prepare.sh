#!/usr/bin/env bash
# Regenerates .sqlx/, the query data the compile-time-checked `sqlx::query!` macros build
# from (builds use it, never a database: SQLX_OFFLINE=true in .cargo/config.toml). Run it
# after changing a `query!`/`query_as!`/`query_scalar!` or a migration, and commit .sqlx/.
#
# Creates a scratch database on the PostgreSQL server given (default: the local one with
# trust auth), applies migrations/, runs `cargo sqlx prepare --workspace` against it and
# drops it again. Needs sqlx-cli 0.8 (`cargo install sqlx-cli --version 0.8.6 --locked
# --no-default-features --features postgres,rustls`).
#
# Usage: scripts/sqlx-prepare.sh [postgres://user@host:port]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

server="${1:-${SQLX_PREPARE_SERVER:-postgres://postgres@127.0.0.1:5432}}"
export DATABASE_URL="${server%/}/bosun_sqlx_prepare_$$"

sqlx database create --no-dotenv
trap 'sqlx database drop --no-dotenv -y -f >/dev/null || echo "could not drop ${DATABASE_URL##*/}" >&2' EXIT
sqlx migrate run --no-dotenv --source migrations
# SQLX_OFFLINE=false: the macros must ask the database, not read the .sqlx/ being replaced
SQLX_OFFLINE=false cargo sqlx prepare --workspace -- --workspace --all-targets --locked
