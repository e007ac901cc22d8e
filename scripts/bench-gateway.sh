#!/usr/bin/env bash
# Gateway benchmark: the gRPC and REST API of `fdfs gateway` against the
# native FastDFS protocol on the same `fdfs dev` cluster (1 tracker, 2
# storages, replication on), on this machine's loopback.
#
#   bash scripts/bench-gateway.sh                  # ROUNDS=2 by default
#   ROUNDS=3 COUNT=20000 bash scripts/bench-gateway.sh
#
# Prints one line per run: workload, protocol, ops/s and MB/s, and the CPU
# time of the load generator and of the `fdfs dev` process (tracker,
# storages and gateway) during the measured part (--server-pid). Small files:
# 5 KB downloads and uploads, 16 concurrent clients (`fdfs bench` for native,
# `fdfs bench-api` for gRPC and REST; wrk for REST too when installed, as a
# load generator much lighter than Go's HTTP client). Large files: one 1 GiB
# file downloaded three times, and one 1 GiB upload. gRPC runs through the
# apiclient package (the Go client that moves content without copying it
# into messages) and, for downloads, through the generated stubs alone
# (--stubs) too. Runs are spaced so that the replication of the previous
# one has finished.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROUNDS=${ROUNDS:-2}
COUNT=${COUNT:-20000}
work=$(mktemp -d /tmp/fdfs-bench-gateway.XXXXXX)
. scripts/devcluster.sh
cleanup() {
  stop_dev
  rm -rf "$work"
}
trap cleanup EXIT

ip=127.0.0.52
start_dev "$work" "$ip"
grpc="$ip:9090"
rest="http://$ip:8080"

run() { # label, then the command; prints the label, the ops/s and MB/s, and the CPU line
  local label=$1 out
  shift
  out=$("$@" --server-pid "$dev_pid" 2>&1)
  printf '%-34s %s  %s\n' "$label" "$(grep -o 'ops/s=.*' <<<"$out" | tail -1)" "$(grep '^cpu ' <<<"$out" | tail -1)"
}

for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round"
  small=(--concurrency 16 --count "$COUNT" --size 5KB)
  run "5KB download native" "$fdfs" bench -c "$conf" --op download "${small[@]}"
  run "5KB download native+route-cache" "$fdfs" bench -c "$conf" --op download --read-route-ttl 5s "${small[@]}"
  run "5KB download grpc (apiclient)" "$fdfs" bench-api --grpc "$grpc" --op download "${small[@]}"
  run "5KB download grpc (stubs)" "$fdfs" bench-api --stubs --grpc "$grpc" --op download "${small[@]}"
  run "5KB download rest (Go client)" "$fdfs" bench-api --rest "$rest" --op download "${small[@]}"
  if command -v wrk >/dev/null; then
    head -c 5120 /dev/urandom >"$work/small.bin"
    id=$("$fdfs" upload --config "$conf" "$work/small.bin")
    rps=$(wrk -t2 -c16 -d5s "$rest/v1/files/$id:download" | awk '/Requests\/sec/ {print $2}')
    printf '%-34s ops/s=%s\n' "5KB download rest (wrk)" "$rps"
    "$fdfs" delete --config "$conf" "$id"
  fi
  sleep 5
  up=(--concurrency 16 --count $((COUNT / 4)) --size 5KB)
  run "5KB upload native" "$fdfs" bench -c "$conf" --op upload "${up[@]}"
  sleep 5
  run "5KB upload grpc (apiclient)" "$fdfs" bench-api --grpc "$grpc" --op upload "${up[@]}"
  sleep 5
  run "5KB upload rest" "$fdfs" bench-api --rest "$rest" --op upload "${up[@]}"
  sleep 5
  big=(--concurrency 1 --count 1 --size 1GiB)
  # Downloads: the same 1 GiB file read three times in a row per run.
  bigdl=(--concurrency 1 --count 3 --size 1GiB --settle 10s)
  run "1GiB download native" "$fdfs" bench -c "$conf" --op download "${bigdl[@]}"
  run "1GiB download grpc (apiclient)" "$fdfs" bench-api --grpc "$grpc" --op download "${bigdl[@]}"
  run "1GiB download grpc (stubs)" "$fdfs" bench-api --stubs --grpc "$grpc" --op download "${bigdl[@]}"
  run "1GiB download rest" "$fdfs" bench-api --rest "$rest" --op download "${bigdl[@]}"
  sleep 10
  run "1GiB upload native" "$fdfs" bench -c "$conf" --op upload "${big[@]}"
  sleep 15
  run "1GiB upload grpc (apiclient)" "$fdfs" bench-api --grpc "$grpc" --op upload "${big[@]}"
  sleep 15
  run "1GiB upload rest" "$fdfs" bench-api --rest "$rest" --op upload "${big[@]}"
  sleep 15
done
