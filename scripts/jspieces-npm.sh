#!/usr/bin/env bash
# Installs the published Activepieces pieces the jspiece tests run (pinned
# by host/internal/runtimes/jspiece/testdata/npm/package-lock.json) into
# bin/jspieces/node_modules. Idempotent; works offline once installed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/host/internal/runtimes/jspiece/testdata/npm"
dst="$root/bin/jspieces"
stamp="$dst/.installed"
want="$(cat "$src/package.json" "$src/package-lock.json" | sha256sum | cut -d' ' -f1)"
installed() { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d "$dst/node_modules" ]; }
installed && exit 0
# Test packages run in parallel and each may call this script: one
# installs (npm ci empties node_modules first), the others wait for it.
mkdir -p "$dst"
exec 9>"$root/bin/.jspieces.lock"
flock 9
installed && exit 0
rm -f "$stamp"
command -v npm >/dev/null 2>&1 || { echo "jspieces: npm is not installed (scripts/deps.sh installs it)" >&2; exit 1; }
echo "deps: installing the npm pieces of the jspiece tests into bin/jspieces"
mkdir -p "$dst"
cp "$src/package.json" "$src/package-lock.json" "$dst/"
(cd "$dst" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
echo "$want" >"$stamp"
