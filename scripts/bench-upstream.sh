#!/usr/bin/env bash
# Our servers against the upstream C servers (FastDFS V6.16.1), side by side in one run, with
# the clients FastDFS users run: FastDFS's own benchmark programs (test/test_upload.c and
# test/test_download.c), fastdfs-client-java, and `fdfs bench` in both client profiles.
#
#   FDFS_REF_DIR=/path/to/ref [FDFS_JAVA_CLIENT_CLASSES=/path/to/classes] bash scripts/bench-upstream.sh
#   (make bench-upstream; ROUNDS=2 by default: the two servers alternate ROUNDS times)
#
# FDFS_REF_DIR is the reference built as ../shared/refenv/README.md says (install/ with the
# daemons and libraries, bench/ with the benchmark programs); FDFS_JAVA_CLIENT_CLASSES is
# fastdfs-client-java compiled with plain javac (same README). Nothing of theirs is built here.
#
# Each round starts one tracker and two storages of group1 on loopback with the same
# settings for both kinds (buff_size 256 KB, 256x256 data directories), then measures:
#   c-upload    10 processes x 2,000 uploads of 5 KB on persistent connections (test_upload)
#   c-download  20 processes downloading those files at random for BENCH_SECONDS (15 s)
#   java        fastdfs-client-java, one thread, JAVA_COUNT (5,000) uploads of 5 KB one after another
#   fdfs-c      fdfs bench --client-profile c: 5 KB uploads, 16 workers (Nagle on, as the C client)
#   fdfs-go     fdfs bench: the same with our client's own connections
# and prints ops/s and the CPU per operation of the tracker and of both storages together (from
# /proc, in 10 ms ticks: short runs are coarse).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${FDFS_REF_DIR:?set FDFS_REF_DIR to the upstream reference (see ../shared/refenv/README.md)}"
ref=$(realpath "$FDFS_REF_DIR")
for f in install/usr/bin/fdfs_trackerd install/usr/bin/fdfs_storaged bench/test_upload_bench20k bench/test_download_bench; do
  [ -x "$ref/$f" ] || { echo "bench-upstream: $ref/$f is missing (build it with ../shared/refenv)" >&2; exit 1; }
done
export LD_LIBRARY_PATH=$ref/install/usr/lib
ROUNDS=${ROUNDS:-2}
JAVA_COUNT=${JAVA_COUNT:-5000}
export BENCH_SECONDS=${BENCH_SECONDS:-15}
work=$(mktemp -d /tmp/fdfs-bench-upstream.XXXXXX)
go build -o "$work/fdfs" ./cmd/fdfs
fdfs=$work/fdfs
tracker_ip=127.0.0.81
storage_ips=(127.0.0.82 127.0.0.83)
pids=()

cleanup() {
  stop_cluster
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${FDFS_JAVA_CLIENT_CLASSES:-}" ]; then
  mkdir -p "$work/java"
  javac -nowarn -cp "$FDFS_JAVA_CLIENT_CLASSES" -d "$work/java" scripts/bench/JavaUploadBench.java
fi

# write_confs DIR: tracker.conf, s1.conf, s2.conf, client.conf (also read by the Java client).
write_confs() {
  local d=$1 i
  mkdir -p "$d/tracker" "$d/s1" "$d/s2" "$d/client"
  printf 'bind_addr = %s\nport = 22122\nbase_path = %s/tracker\nreserved_storage_space = 1%%\nthread_stack_size = 256KB\n' \
    "$tracker_ip" "$d" >"$d/tracker.conf"
  for i in 1 2; do
    cat >"$d/s$i.conf" <<EOF
group_name = group1
bind_addr = ${storage_ips[$((i - 1))]}
port = 23000
base_path = $d/s$i
store_path0 = $d/s$i
subdir_count_per_path = 256
tracker_server = $tracker_ip:22122
heart_beat_interval = 2
stat_report_interval = 10
buff_size = 256KB
thread_stack_size = 512KB
EOF
  done
  printf 'base_path = %s/client\ntracker_server = %s:22122\nconnect_timeout = 5\nnetwork_timeout = 60\nconnection_pool.enabled = true\n' \
    "$d" "$tracker_ip" >"$d/client.conf"
}

# start_cluster KIND DIR: our daemons (ours) or the C daemons (upstream), in the foreground.
start_cluster() {
  local kind=$1 d=$2 i
  pids=()
  if [ "$kind" = ours ]; then
    "$fdfs" tracker --config "$d/tracker.conf" >"$d/tracker.log" 2>&1 & pids+=($!)
    sleep 0.3
    for i in 1 2; do "$fdfs" storage --config "$d/s$i.conf" >"$d/s$i.log" 2>&1 & pids+=($!); done
  else
    "$ref/install/usr/bin/fdfs_trackerd" -N "$d/tracker.conf" >"$d/tracker.log" 2>&1 & pids+=($!)
    sleep 0.3
    for i in 1 2; do "$ref/install/usr/bin/fdfs_storaged" -N "$d/s$i.conf" >"$d/s$i.log" 2>&1 & pids+=($!); done
  fi
  for _ in $(seq 1 240); do
    [ "$("$fdfs" monitor --config "$d/client.conf" 2>/dev/null | grep -c ACTIVE)" -ge 2 ] && return 0
    sleep 0.5
  done
  echo "bench-upstream: the $kind cluster did not become ACTIVE" >&2
  return 1
}

# stop_cluster: SIGTERM, and SIGKILL for what is still running 15 s later (an upstream
# storage sometimes hangs on exit while its sync threads wait on a peer that has gone).
stop_cluster() {
  local p i alive
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for i in $(seq 1 30); do
    alive=0
    # An exited daemon stays a zombie until waited for: look at its state, not kill -0.
    for p in "${pids[@]}"; do ps -o stat= -p "$p" 2>/dev/null | grep -qv Z && alive=1; done
    [ "$alive" = 1 ] || break
    sleep 0.5
  done
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}

# storage_cpu: CPU ticks (1/100 s) the tracker and both storages have used so
# far, as "tracker storages".
storage_cpu() {
  echo "$(awk '{print $14 + $15}' "/proc/${pids[0]}/stat") $(awk '{t += $14 + $15} END {print t}' "/proc/${pids[1]}/stat" "/proc/${pids[2]}/stat")"
}

# report NAME OPS SECONDS CPU0 CPU1 (CPU: "tracker storages" ticks)
report() {
  local t0 s0 t1 s1
  read -r t0 s0 <<<"$4"
  read -r t1 s1 <<<"$5"
  awk -v k="$kind" -v n="$1" -v ops="$2" -v s="$3" -v ct="$((t1 - t0))" -v cs="$((s1 - s0))" -v r="$round" \
    'BEGIN {o = ops > 0 ? ops : 1; printf "round %d  %-8s  %-10s  %8d ops  %7.2f s  %9.0f ops/s  CPU/op: tracker %5.1f us, storages %6.1f us\n", r, k, n, ops, s, ops / s, ct * 10000 / o, cs * 10000 / o}'
}

run_c_bench() {
  local d=$1 w=$1/w i c0 c1 t0 t1 ok ps=()
  mkdir -p "$w/upload" "$w/download"
  head -c 5120 /dev/urandom >"$w/5K"
  for f in 50K 200K 1M 10M 100M; do truncate -s "$f" "$w/$f"; done
  c0=$(storage_cpu); t0=$(date +%s.%N)
  for i in $(seq 0 9); do (cd "$w" && exec "$ref/bench/test_upload_bench20k" "$i" "$d/client.conf" >/dev/null 2>&1) & ps+=($!); done
  wait "${ps[@]}"
  t1=$(date +%s.%N); c1=$(storage_cpu)
  ok=$(cat "$w"/upload/file_id.* | wc -l)
  report c-upload "$ok" "$(echo "$t1 - $t0" | bc)" "$c0" "$c1"
  sleep 3 # replication of the files before they are read from either storage
  ps=(); c0=$(storage_cpu)
  for i in $(seq 0 19); do (cd "$w" && exec "$ref/bench/test_download_bench" "$i" "$d/client.conf" >/dev/null 2>&1) & ps+=($!); done
  wait "${ps[@]}"
  c1=$(storage_cpu)
  ok=$(awk '!/^#/ {s += $3} END {print s + 0}' "$w"/download/stat_by_file_type.*)
  report c-download "$ok" "$BENCH_SECONDS" "$c0" "$c1"
}

run_java() {
  local d=$1 c0 c1 line
  [ -n "${FDFS_JAVA_CLIENT_CLASSES:-}" ] || return 0
  c0=$(storage_cpu)
  line=$(java -cp "$FDFS_JAVA_CLIENT_CLASSES:$work/java" JavaUploadBench "$d/client.conf" "$JAVA_COUNT" 5120)
  c1=$(storage_cpu)
  report java "$JAVA_COUNT" "$(echo "$line" | sed 's/.*seconds=\([0-9.]*\).*/\1/')" "$c0" "$c1"
}

run_fdfs_bench() {
  local d=$1 profile=$2 c0 c1 out ok rate
  c0=$(storage_cpu)
  out=$("$fdfs" bench --config "$d/client.conf" --client-profile "$profile" --op upload --size 5KB --count 20000 --concurrency 16 --keep)
  c1=$(storage_cpu)
  ok=$(echo "$out" | sed -n 's/^ok=\([0-9]*\) .*/\1/p')
  rate=$(echo "$out" | sed -n 's/^ops\/s=\([0-9.]*\) .*/\1/p')
  report "fdfs-$profile" "$ok" "$(echo "scale=3; $ok / $rate" | bc)" "$c0" "$c1"
}

for round in $(seq 1 "$ROUNDS"); do
  for kind in ours upstream; do
    d=$work/$kind-$round
    write_confs "$d"
    start_cluster "$kind" "$d"
    run_c_bench "$d"
    run_java "$d"
    run_fdfs_bench "$d" c
    run_fdfs_bench "$d" go
    stop_cluster
    rm -rf "$d"
  done
done
