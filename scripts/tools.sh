#!/usr/bin/env bash
# Installs the pinned protobuf toolchain into ./.cache (git-ignored), outside the
# project's go.mod so buf's own requirements never leak into our build:
#   .cache/bin/           buf, protoc-gen-go, protoc-gen-go-grpc, protoc-gen-grpc-gateway,
#                         protoc-gen-openapiv2 (go install, GOBIN=.cache/bin)
#   .cache/googleapis/    google/api/*.proto and google/rpc/*.proto imported by proto/,
#                         copied from the module cache of grpc-gateway v1.16.0, which
#                         carries them under third_party/googleapis (never imported as Go code)
# Idempotent: a tool whose version stamp matches is not rebuilt, so a warm run takes
# well under a second. Prints nothing on success unless something was installed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

root=$PWD/.cache
bin=$root/bin
mkdir -p "$bin"

# tool name, package path, version
tools=(
  "buf github.com/bufbuild/buf/cmd/buf v1.75.0"
  "protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go v1.36.12"
  "protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc v1.6.2"
  "protoc-gen-grpc-gateway github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway v2.33.0"
  "protoc-gen-openapiv2 github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2 v2.33.0"
)

for line in "${tools[@]}"; do
  read -r name pkg version <<<"$line"
  stamp=$bin/.$name.version
  if [ -x "$bin/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
    continue
  fi
  echo "tools.sh: installing $name $version" >&2
  # pkg@version builds with the tool's own go.mod, never ours; GOWORK=off ignores any go.work.
  (cd "$root" && GOBIN=$bin GOWORK=off GOFLAGS=-buildvcs=false go install "$pkg@$version")
  echo "$version" >"$stamp"
done

googleapis_version=v1.16.0
gdir=$root/googleapis
gstamp=$gdir/.version
if [ "$(cat "$gstamp" 2>/dev/null)" != "$googleapis_version" ]; then
  echo "tools.sh: copying google/api and google/rpc protos from grpc-gateway $googleapis_version" >&2
  src=$(cd "$root" && GOWORK=off go mod download -json "github.com/grpc-ecosystem/grpc-gateway@$googleapis_version" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  if [ -z "$src" ] || [ ! -d "$src/third_party/googleapis" ]; then
    echo "tools.sh: grpc-gateway $googleapis_version has no third_party/googleapis" >&2
    exit 1
  fi
  rm -rf "$gdir"
  mkdir -p "$gdir/google/api" "$gdir/google/rpc"
  for f in google/api/annotations.proto google/api/http.proto google/api/httpbody.proto \
    google/api/field_behavior.proto google/rpc/status.proto google/rpc/error_details.proto; do
    if [ -f "$src/third_party/googleapis/$f" ]; then
      cp "$src/third_party/googleapis/$f" "$gdir/$f"
      chmod u+w "$gdir/$f"
    fi
  done
  echo "$googleapis_version" >"$gstamp"
fi
