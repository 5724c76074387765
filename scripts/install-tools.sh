#!/usr/bin/env bash
# Installs the build tools Bosun needs, skipping whatever is already present.
# Usage: scripts/install-tools.sh [--test]   (--test also installs Chromium, ChromeDriver and axe-core)
# Versions are pinned to what builds together on Rust 1.95 (see README "Toolchain").
set -euo pipefail

CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130
BINARYEN_VERSION=132.0.0
AXE_CORE_VERSION=4.14.1

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="${BOSUN_TOOLS_DIR:-$here/.tools}"
want_browser=0
[ "${1:-}" = "--test" ] && want_browser=1

log() { printf '==> %s\n' "$*" >&2; }

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root to run: $*  (install it by hand or run as root)"; return 1; fi
}

apt_install() {
  if ! command -v apt-get >/dev/null; then
    log "apt-get not found: please install $* with your package manager"; return 1
  fi
  local stamp=/tmp/.bosun-apt-updated
  if [ ! -f "$stamp" ]; then sudo_if_needed apt-get update -qq && touch "$stamp"; fi
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! command -v cargo >/dev/null; then
  log "cargo not found: install Rust with rustup (https://rustup.rs) first"; exit 2
fi

if ! rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
  log "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  log "installing cargo-leptos $CARGO_LEPTOS_VERSION (takes ~13 min once)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # not --locked: a pinned dependency in its lockfile is missing from the registry
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# wasm-opt for release builds: npm's binaryen (Debian's v108 output does not hydrate).
if [ ! -x "$tools_dir/node_modules/.bin/wasm-opt" ]; then
  if command -v npm >/dev/null; then
    log "installing binaryen $BINARYEN_VERSION (wasm-opt) into $tools_dir"
    mkdir -p "$tools_dir"
    npm install --silent --prefix "$tools_dir" "binaryen@$BINARYEN_VERSION" >/dev/null
  else
    log "npm not found: skipping wasm-opt (only release builds need it)"
  fi
fi

if [ "$want_browser" -eq 1 ]; then
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    log "installing chromium and chromium-driver"
    apt_install chromium chromium-driver
  fi
  # axe-core: the browser tests inject it into every page they visit (accessibility check).
  if ! grep -qs "\"version\": \"$AXE_CORE_VERSION\"" "$tools_dir/node_modules/axe-core/package.json"; then
    if command -v npm >/dev/null; then
      log "installing axe-core $AXE_CORE_VERSION into $tools_dir"
      mkdir -p "$tools_dir"
      npm install --silent --prefix "$tools_dir" "axe-core@$AXE_CORE_VERSION" >/dev/null
    else
      log "npm not found: the browser tests need axe-core (npm install axe-core@$AXE_CORE_VERSION)"
    fi
  fi
fi

# PostgreSQL binaries are needed only when no DATABASE_URL is given.
if [ -z "${DATABASE_URL:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
   && ! command -v initdb >/dev/null; then
  log "installing PostgreSQL server binaries"
  apt_install postgresql || { log "install PostgreSQL (initdb, pg_ctl) or set DATABASE_URL"; exit 2; }
fi
