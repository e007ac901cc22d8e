#!/usr/bin/env bash
# Regenerates gen/ (Go, gRPC, grpc-gateway) and openapi/ (one merged OpenAPI v2
# file) from proto/ with the pinned local toolchain. Usage: scripts/gen.sh [OUTDIR]
# (default: the repository root; scripts/proto-check.sh generates into a
# temporary directory to detect drift).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/tools.sh
export PATH=$PWD/.cache/bin:$PATH

out=${1:-.}
if [ "$out" = . ]; then
  rm -rf gen/fastdfs openapi/fastdfs.swagger.json
fi
buf generate -o "$out"
