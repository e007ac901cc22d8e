#!/usr/bin/env bash
# Installs the pinned protobuf toolchain into ./.cache (git-ignored), outside the
# project's go.mod so buf's own requirements never leak into our build:
#   .cache/bin/           buf, protoc-gen-go, protoc-gen-go-grpc, protoc-gen-grpc-gateway,
#                         protoc-gen-openapiv2 (go install, GOBIN=.cache/bin)
# The google/api and google/rpc protos that proto/ imports are vendored in git under
# proto/third_party/googleapis (see its README.md), not installed here.
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
