#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it:
#   1. gofmt check          4. npm ci for tests/conformance (third-party Node.js FastDFS clients)
#                              and examples/node, Debian packages of the Python example
#                              (scripts/client-deps.sh), for tests/clients
#   2. go vet, also for     5. short fuzz run of every Fuzz* target (scripts/fuzz.sh)
#      macOS; a FreeBSD build
#   3. proto check: buf lint, buf format, buf breaking against the published
#      API, gen/ and openapi/ in sync with proto/, redocly lint of openapi/
#      (scripts/proto-check.sh; installs the pinned toolchains via
#      scripts/tools.sh and scripts/node-tools.sh)
#   6. race detector on the engine, the servers, the gateway's packages and
#      the Go API client (with its tests against a gateway)
#   7. go test ./... (unit, e2e, real-process and conformance tests) — last, so
#      the closing lines are go test's own summary.
# Environment: FUZZTIME (default 5s), SKIP_FUZZ=1, SKIP_RACE=1 to shorten a local run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n== %s\n' "$*"; }

step "gofmt"
unformatted=$(find . -name '*.go' -not -path './.git/*' -not -path '*/node_modules/*' -not -path './.cache/*' -print0 \
  | xargs -0 gofmt -l)
if [ -n "$unformatted" ]; then
  printf 'gofmt would change:\n%s\n' "$unformatted"
  exit 1
fi

step "go vet"
go vet ./...

# The servers are Linux's (epoll loops, O_TMPFILE); the binary and its tests
# still build elsewhere, with the portable paths (a goroutine per
# connection, named temporary files).
step "go vet for macOS, go build for FreeBSD"
GOOS=darwin GOARCH=arm64 go vet ./...
GOOS=freebsd GOARCH=amd64 go build ./...

step "proto check (buf lint, buf format, buf breaking, generated code drift)"
bash scripts/proto-check.sh

if [ -f tests/conformance/package-lock.json ]; then
  step "npm ci (tests/conformance)"
  (cd tests/conformance && npm ci --no-audit --no-fund --loglevel=error)
fi

step "client examples' dependencies (npm ci examples/node; Debian python3-grpcio, python3-protobuf, protobuf-compiler)"
(cd examples/node && npm ci --no-audit --no-fund --loglevel=error)
bash scripts/client-deps.sh

step "browser for the web console test (Debian chromium, scripts/browser-deps.sh)"
bash scripts/browser-deps.sh

if [ "${SKIP_FUZZ:-}" != 1 ]; then
  step "fuzz (${FUZZTIME:-5s} per target)"
  bash scripts/fuzz.sh
fi

if [ "${SKIP_RACE:-}" != 1 ]; then
  step "go test -race (engine, servers, gateway, API client)"
  go test -race -timeout 10m ./fdfsengine/... ./trackernode/... ./storagenode/... ./devcluster/... ./internal/... ./server/... ./apiclient/...
  go test -race -timeout 10m -run '^TestAPIClient' ./tests/grpcapi
fi

step "go test ./..."
go test -timeout 10m ./...
