#!/usr/bin/env bash
# Regenerates everything derived from proto/ with the pinned local toolchain
# (scripts/tools.sh; Node.js tools pinned in scripts/node/package-lock.json):
#   gen/fastdfs/v1/                 Go, gRPC and grpc-gateway code (buf generate)
#   gen/descriptor/fastdfs-v1.binpb one FileDescriptorSet of proto/fastdfs and every
#                                   file it needs, plus google/rpc/{status,error_details,
#                                   code}.proto, for clients in other languages (docs/clients.md)
#   openapi/fastdfs.swagger.json    the Swagger 2.0 document the gateway serves at
#                                   /openapi.json: buf's document of the JSON routes
#                                   completed by gateway.CompleteOpenAPI (info, raw
#                                   byte routes, security schemes)
#   openapi/fastdfs.openapi3.json   the same converted to OpenAPI 3.0 (swagger2openapi)
# Usage: scripts/gen.sh [OUTDIR] (default: the repository root;
# scripts/proto-check.sh generates into a temporary directory to detect drift).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/tools.sh
bash scripts/node-tools.sh
export PATH=$PWD/.cache/bin:$PATH

out=${1:-.}
if [ "$out" = . ]; then
  rm -rf gen/fastdfs gen/descriptor openapi/fastdfs.swagger.json openapi/fastdfs.openapi3.json
fi
buf generate -o "$out"
mkdir -p "$out/gen/descriptor"
# Both modules of the workspace (proto/fastdfs and the vendored googleapis
# files) and the well-known types they import; no source info, so the file
# changes only when a definition does.
buf build proto --as-file-descriptor-set --exclude-source-info -o "$out/gen/descriptor/fastdfs-v1.binpb"
go run ./internal/cmd/openapigen "$out/openapi/fastdfs.swagger.json"
scripts/node/node_modules/.bin/swagger2openapi --patch --outfile "$out/openapi/fastdfs.openapi3.json" \
  "$out/openapi/fastdfs.swagger.json"
