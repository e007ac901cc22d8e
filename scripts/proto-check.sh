#!/usr/bin/env bash
# Checks the API definitions in proto/ and everything derived from them:
# buf lint, buf format, buf breaking against the published API
# (proto/published/fastdfs-v1.binpb), that the committed generated files
# (gen/: Go code and the descriptor set; openapi/: the Swagger 2.0 and
# OpenAPI 3 documents) match what scripts/gen.sh produces from proto/ now,
# and `redocly lint` of both OpenAPI documents (openapi/redocly.yaml).
# Any drift fails: run scripts/gen.sh (make gen) and commit the result.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/tools.sh
bash scripts/node-tools.sh
export PATH=$PWD/.cache/bin:$PATH

buf lint
buf format -d --exit-code proto

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# fastdfs.v1 is published: fields, methods and messages may be added, never
# changed or removed (FILE rules). The image of proto/fastdfs (with its
# imports, as the baseline was built) is compared, not the whole workspace,
# whose vendored googleapis module the baseline does not hold.
buf build proto --path proto/fastdfs -o "$tmp/current.binpb"
buf breaking "$tmp/current.binpb" --against proto/published/fastdfs-v1.binpb \
  --config '{"version":"v2","breaking":{"use":["FILE"]}}'

bash scripts/gen.sh "$tmp/out"
drift=0
for dir in gen openapi; do
  # openapi/openapi.go (the embedding package) and openapi/redocly.yaml are ours.
  if ! diff -r -x '*.go' -x '*.yaml' "$tmp/out/$dir" "$dir"; then
    drift=1
  fi
done
if [ "$drift" != 0 ]; then
  echo "proto-check: gen/ or openapi/ differ from proto/; run scripts/gen.sh and commit the result" >&2
  exit 1
fi

REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
  scripts/node/node_modules/.bin/redocly lint --config openapi/redocly.yaml --format=summary \
  openapi/fastdfs.swagger.json openapi/fastdfs.openapi3.json >"$tmp/lint.log" 2>&1 || {
  cat "$tmp/lint.log" >&2
  echo "proto-check: redocly lint failed on openapi/" >&2
  exit 1
}
