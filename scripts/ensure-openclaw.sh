#!/usr/bin/env bash
# Idempotently installs the real OpenClaw host (npm openclaw@$OPENCLAW_VERSION) into a cache dir for the
# end-to-end harness (test/e2e/harness/openclaw-gateway.ts), then prints that dir on stdout (and nothing else).
#
#   dir: $OPENCLAW_FIXTURE_DIR, default $HOME/.cache/openclaw-nats-eventstore/openclaw-$OPENCLAW_VERSION
#   CLI: <dir>/node_modules/openclaw/openclaw.mjs, run it with Node 24 (scripts/node24.sh)
#
# A marker file (.install-complete) is written only after a successful install, so an interrupted install
# is redone on the next call. Concurrent callers are serialised with flock when it is available.
#
# Measured on the 2-vCPU dev box (npm registry only): a cold install (`npm install --no-audit --no-fund
# openclaw@2026.9.6`, 330 packages, 647 MB in node_modules) took 51 s wall with an EMPTY npm cache (223 MB
# downloaded) and 46 s with a pre-populated one. With the marker present the script returns in ~0.05 s.
set -euo pipefail

OPENCLAW_VERSION="${OPENCLAW_VERSION:-2026.9.6}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${OPENCLAW_FIXTURE_DIR:-$HOME/.cache/openclaw-nats-eventstore/openclaw-$OPENCLAW_VERSION}"
marker="$dir/.install-complete"

installed_ok() {
  [ -f "$marker" ] && [ "$(cat "$marker" 2>/dev/null)" = "openclaw@$OPENCLAW_VERSION" ] \
    && [ -f "$dir/node_modules/openclaw/openclaw.mjs" ] && [ -f "$dir/node_modules/openclaw/package.json" ]
}

if installed_ok; then
  printf '%s\n' "$dir"
  exit 0
fi

# Node 24 first on PATH (OpenClaw refuses Node 20, and its install scripts run under this node).
# shellcheck source=./node24.sh
source "$here/node24.sh" >&2

mkdir -p "$dir"
exec 9>"$dir/.install.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi

# Someone else may have finished while we waited for the lock.
if installed_ok; then
  printf '%s\n' "$dir"
  exit 0
fi

rm -f "$marker"
if [ ! -f "$dir/package.json" ]; then
  printf '{\n  "name": "openclaw-e2e-fixture",\n  "private": true,\n  "description": "cache of the real OpenClaw host for e2e tests"\n}\n' >"$dir/package.json"
fi

start=$(date +%s)
echo "ensure-openclaw: installing openclaw@$OPENCLAW_VERSION into $dir (node $(node -v)) ..." >&2
(
  cd "$dir"
  npm install --no-audit --no-fund --loglevel=error "openclaw@$OPENCLAW_VERSION" >&2
)
actual="$(node -p 'require(process.argv[1]).version' "$dir/node_modules/openclaw/package.json")"
if [ "$actual" != "$OPENCLAW_VERSION" ]; then
  echo "ensure-openclaw: expected openclaw $OPENCLAW_VERSION, got $actual" >&2
  exit 1
fi
printf 'openclaw@%s\n' "$OPENCLAW_VERSION" >"$marker"
echo "ensure-openclaw: done in $(( $(date +%s) - start )) s" >&2
printf '%s\n' "$dir"
