#!/usr/bin/env bash
# npm run demo: Node 24 on PATH (OpenClaw needs it), then the demo (demo/demo.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node24.sh
exec node demo/demo.ts "$@"
