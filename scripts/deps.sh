#!/usr/bin/env bash
# Installs what the tests need beyond Go: Debian packages (Chromium for the
# browser test, wabt for the WebAssembly-text piece, wrk for benchmarks,
# Node.js and npm for the AssemblyScript example piece), the npm package
# assemblyscript (pinned by sdk/piece/examples/assemblyscript/package-lock.json),
# the @activepieces/piece-* packages of the jspiece tests (scripts/jspieces-npm.sh)
# and starts PostgreSQL when it is installed but not running. Idempotent;
# quiet when everything is present. `make run` and `make build` need none
# of it: they need only Go.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v wat2wasm >/dev/null 2>&1 || need+=(wabt)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "deps: installing ${need[*]} from Debian"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq >/dev/null
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The AssemblyScript compiler, from the npm registry, at the locked version.
as_dir="$(cd "$(dirname "$0")/.." && pwd)/sdk/piece/examples/assemblyscript"
if [ ! -x "$as_dir/node_modules/.bin/asc" ]; then
  echo "deps: installing the npm package assemblyscript into $as_dir/node_modules"
  (cd "$as_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

# The published Activepieces pieces the JS piece runtime's tests run.
"$(dirname "$0")/jspieces-npm.sh"

# PostgreSQL: start the local cluster if it is installed and down.
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if [ -d /etc/postgresql ]; then
    echo "deps: starting PostgreSQL"
    for v in $(ls /etc/postgresql); do
      pg_ctlcluster --skip-systemctl-redirect "$v" main start || true
    done
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
fi

# stripe-mock (Stripe's API, generated from its OpenAPI spec) for the e2e
# test that runs every Stripe action through the REST API. A Go module:
# installed from the module proxy into bin/tools, which `make clean` clears.
STRIPE_MOCK_VERSION=v0.203.0
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
stripe_mock="$repo_root/bin/tools/stripe-mock"
if [ ! -x "$stripe_mock" ] || [ "$(cat "$stripe_mock.version" 2>/dev/null)" != "$STRIPE_MOCK_VERSION" ]; then
  echo "deps: installing stripe-mock $STRIPE_MOCK_VERSION into bin/tools"
  mkdir -p "$repo_root/bin/tools"
  GOBIN="$repo_root/bin/tools" "${GO:-go}" install "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION"
  echo "$STRIPE_MOCK_VERSION" >"$stripe_mock.version"
fi
