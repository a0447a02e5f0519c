#!/usr/bin/env bash
# Build the web console (console/) into gateway/console_assets/, which the gateway serves at
# /_artifacts/ui/ (gateway/api/console.py) and the wheel ships (pyproject.toml: artifacts).
# node_modules comes from the committed lockfile with npm's cache under $ARTIFACT_STORE_CACHE/npm
# (again only when the lockfile changed); nothing built is committed. Idempotent.
#
#   scripts/console/build.sh [--check]   # --check: also typecheck, eslint and prettier
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
CONSOLE="$ROOT/console"
STAMP="$CONSOLE/node_modules/.artifact-store-lock"

log() { echo "[console] $*" >&2; }

command -v npm >/dev/null 2>&1 || { log "Node.js and npm are needed to build the console"; exit 1; }
lock="$(sha256sum "$CONSOLE/package-lock.json" | cut -c1-64)"
if [[ "$(cat "$STAMP" 2>/dev/null || true)" != "$lock" ]]; then
  log "npm ci (Node $(node --version))"
  (cd "$CONSOLE" && npm ci --cache "$ARTIFACT_STORE_CACHE/npm" --no-audit --no-fund \
    --prefer-offline --loglevel=error >&2)
  echo "$lock" >"$STAMP"
fi
cd "$CONSOLE"
if [[ "${1:-}" == "--check" ]]; then
  npm run --silent lint >&2
  npm run --silent format:check >&2
fi
npm run --silent build -- --logLevel warn >&2
echo "$ROOT/gateway/console_assets"
