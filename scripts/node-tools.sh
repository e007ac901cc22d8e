#!/usr/bin/env bash
# Installs the pinned Node.js tools of scripts/gen.sh and scripts/proto-check.sh
# (scripts/node/package-lock.json: swagger2openapi, @redocly/cli) into
# scripts/node/node_modules (git-ignored). Idempotent: skipped when the lock file
# has not changed since the last install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/node"
stamp=node_modules/.fdfs-lock.sha256
sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ]; then
  exit 0
fi
echo "node-tools.sh: npm ci (scripts/node)" >&2
npm ci --no-audit --no-fund --loglevel=error >&2
echo "$sum" >"$stamp"
