#!/usr/bin/env bash
# Installs the Debian packages that tests/clients uses to run the Python
# example of docs/clients.md (python3-grpcio, python3-protobuf) and to compile
# the protos with protoc (protobuf-compiler), only when one is missing, so a
# warm run does nothing. Never fails the build: without root or apt-get it
# says so, and tests/clients skips the Python test with one line.
set -uo pipefail
pkgs=(python3-grpcio python3-protobuf protobuf-compiler)
missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null || [ "$(id -u)" != 0 ]; then
  echo "client-deps.sh: cannot install ${missing[*]} (no apt-get or not root); the Python client test will skip" >&2
  exit 0
fi
echo "client-deps.sh: apt-get install ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq "${missing[@]}" >/dev/null; then
  apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null ||
    echo "client-deps.sh: apt-get install ${missing[*]} failed; the Python client test will skip" >&2
fi
exit 0
