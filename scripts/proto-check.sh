#!/usr/bin/env bash
# Checks the API definitions in proto/: buf lint (STANDARD), buf format,
# buf breaking against the published API (proto/published/fastdfs-v1.binpb),
# and that the committed generated code (gen/, openapi/) matches what buf
# generate produces from proto/ now. Any drift fails: run scripts/gen.sh
# (make gen) and commit the result.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/tools.sh
export PATH=$PWD/.cache/bin:$PATH

buf lint
buf format -d --exit-code proto
# fastdfs.v1 is published: fields, methods and messages may be added, never
# changed or removed (FILE rules, buf.yaml).
buf breaking proto --against proto/published/fastdfs-v1.binpb

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash scripts/gen.sh "$tmp"
drift=0
for dir in gen openapi; do
  # openapi/openapi.go (the embedding package) is ours, not generated.
  if ! diff -r -x '*.go' "$tmp/$dir" "$dir"; then
    drift=1
  fi
done
if [ "$drift" != 0 ]; then
  echo "proto-check: gen/ or openapi/ differ from proto/; run scripts/gen.sh and commit the result" >&2
  exit 1
fi
