# fdfs: a wire-compatible FastDFS (V6.16) tracker, storage server and client in Go.
#   make dev    all-in-one dev cluster (1 tracker + 2 storages of group1) on loopback
#   make test   the whole suite (gofmt, vet, proto check, fuzz smoke, race, unit/e2e/process/conformance tests)
#   make build  bin/fdfs
#   make install  bin/fdfs to $(DESTDIR)$(PREFIX)/bin (PREFIX=/usr/local), with the links fdfs_trackerd and
#               fdfs_storaged, under which it takes the C daemons' command line, and those of the C client
#               programs (fdfs_upload_file, fdfs_monitor, ...), under which it is them (PREFIX=/usr: their paths)
#   make gen    regenerate gen/ (Go, descriptor set) and openapi/ (OpenAPI 2 and 3) from proto/ (then commit them)
#   make proto-check  buf lint, buf format, buf breaking and generated-code drift
#   make bench-http / bench-gateway  HTTP downloads vs nginx; gateway (gRPC, REST) vs native
#   make bench-upstream  ours vs the upstream C servers with C/Java clients (needs FDFS_REF_DIR)
#   make bench-catchup   a storage catching up on 100,000 files, ours vs upstream (needs FDFS_REF_DIR)
#   make soak   the long soak of tests/faults (SOAK_DURATION, default 30m): a 2-group cluster of the
#               real binary under mixed load with kill -9 / restarts, then a full check (docs/reliability.md)

GO ?= go
DEV_ARGS ?=
SOAK_DURATION ?= 30m
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all build install dev test fmt-check vet unit e2e race fuzz conformance-deps bench-http bench-gateway bench-upstream bench-catchup soak gen proto-check client-deps browser-deps clean

all: build

build:
	$(GO) build -o bin/fdfs ./cmd/fdfs

install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 bin/fdfs $(DESTDIR)$(PREFIX)/bin/fdfs
	bin/fdfs upstream-links $(DESTDIR)$(PREFIX)/bin >/dev/null

# The built binary replaces make's shell (exec), so a signal to the process
# running it reaches the cluster (go run would leave its child running).
dev: build
	exec ./bin/fdfs dev $(DEV_ARGS)

test:
	bash scripts/test.sh

fmt-check:
	@out=$$(find . -name '*.go' -not -path './.git/*' -not -path '*/node_modules/*' -print0 | xargs -0 gofmt -l); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

unit:
	$(GO) test ./fdfsengine/... ./trackernode/... ./storagenode/... ./devcluster/... ./internal/...

e2e:
	$(GO) test ./tests/...

race:
	$(GO) test -race ./fdfsengine/... ./trackernode/... ./storagenode/... ./devcluster/... ./internal/... ./server/...

fuzz:
	bash scripts/fuzz.sh

bench-http:
	bash scripts/bench-http.sh

bench-gateway:
	bash scripts/bench-gateway.sh

bench-upstream:
	bash scripts/bench-upstream.sh

bench-catchup:
	bash scripts/bench-catchup.sh

# The quick soak (20 s) runs in `make test`; this one for SOAK_DURATION.
soak:
	FDFS_SOAK=$(SOAK_DURATION) $(GO) test ./tests/faults -run '^TestSoak$$' -count=1 -v -timeout 0

conformance-deps:
	cd tests/conformance && npm ci --no-audit --no-fund --loglevel=error

# The Node.js packages and Debian packages of tests/clients (docs/clients.md).
client-deps:
	cd examples/node && npm ci --no-audit --no-fund --loglevel=error
	bash scripts/client-deps.sh

# Debian's chromium for the web console test in tests/ops.
browser-deps:
	bash scripts/browser-deps.sh

gen:
	bash scripts/gen.sh

proto-check:
	bash scripts/proto-check.sh

clean:
	rm -rf bin
