#!/usr/bin/env bash
# Installs every @activepieces/piece-* package of the JS piece survey
# (host/internal/runtimes/jspiece/testdata/survey/package.json, one pinned
# version each) into bin/jspieces-survey/node_modules, for
#   ATOM_JSPIECE_SURVEY=1 go test ./host/internal/runtimes/jspiece -run Survey -v
# It is not part of `make test`. Idempotent: a second run with the same
# package.json does nothing; npm's cache makes a reinstall fast.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/host/internal/runtimes/jspiece/testdata/survey"
dst="$root/bin/jspieces-survey"
stamp="$dst/.installed"
want="$(cat "$src"/package*.json | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d "$dst/node_modules" ]; then
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "jspieces-survey: npm is not installed (scripts/deps.sh installs it)" >&2; exit 1; }
echo "jspieces-survey: installing $(grep -c '"@activepieces/piece-' "$src/package.json") packages into bin/jspieces-survey"
mkdir -p "$dst"
cp "$src/package.json" "$dst/"
if [ -f "$src/package-lock.json" ]; then
  cp "$src/package-lock.json" "$dst/"
  (cd "$dst" && npm ci --ignore-scripts --legacy-peer-deps --no-audit --no-fund --loglevel=error >/dev/null)
else
  (cd "$dst" && npm install --ignore-scripts --legacy-peer-deps --no-audit --no-fund --omit=dev --loglevel=error >/dev/null)
fi
echo "$want" >"$stamp"
