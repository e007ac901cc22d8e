#!/usr/bin/env bash
# Our servers against the upstream C servers (FastDFS V6.16.1), side by side in one run, with
# the clients FastDFS users run: FastDFS's own benchmark programs (test/test_upload.c and
# test/test_download.c), fastdfs-client-java, and `fdfs bench` in both client profiles.
#
#   FDFS_REF_DIR=/path/to/ref [FDFS_JAVA_CLIENT_CLASSES=/path/to/classes] bash scripts/bench-upstream.sh
#   (make bench-upstream; ROUNDS=4 by default, even so that each kind is measured first as often
#   as the other; OURS_ENV="GOMAXPROCS=1" sets the environment of our daemons only;
#   BASELINE_FDFS=/path/to/fdfs runs that build of ours in the "upstream" cluster instead of the
#   C daemons, to measure a change of ours in the same paired setup;
#   WORKLOADS="c-upload java" runs only those (c-upload always runs: the downloads read its files);
#   BOUND=1 adds c-download-bound: test_download against scripts/bench/canned.c, a tracker and
#   a storage that do nothing but answer with canned replies, paired with upstream: the most
#   any server could get from this machine in that workload; STORAGES=1 runs one storage
#   in each cluster instead of two, so that nothing is replicated: the cost of the uploads alone)
#
# FDFS_REF_DIR is the reference built as ../shared/refenv/README.md says (install/ with the
# daemons and libraries, bench/ with the benchmark programs); FDFS_JAVA_CLIENT_CLASSES is
# fastdfs-client-java compiled with plain javac (same README). Nothing of theirs is built here.
#
# Both clusters run at once, each one tracker and two storages (STORAGES) of group1 on loopback
# with the same settings (buff_size 256 KB, 256x256 data directories): ours on 127.0.0.81-83,
# upstream's on 127.0.0.84-86. The idle one costs nothing, so each workload is measured on one, then at
# once on the other, ROUNDS times, the order swapped every round: this machine's speed drifts
# by tens of percent within minutes, and measurements seconds apart share the drift. Workloads:
#   c-upload    10 processes x 2,000 uploads of 5 KB on persistent connections (test_upload)
#   c-download  20 processes downloading those files at random for BENCH_SECONDS (10 s)
#   java        fastdfs-client-java, one thread, JAVA_COUNT (5,000) uploads of 5 KB one after another
#   java-np     the same without its connection pool (connection_pool.enabled = false): a new
#               tracker and storage connection per upload, as the C client library and the PHP
#               extension make them by default (use_connection_pool = false); JAVA_NP_COUNT (5,000)
#   fdfs-c      fdfs bench --client-profile c: 5 KB uploads, 16 workers (Nagle on, as the C client)
#   fdfs-go     fdfs bench: the same with our client's own connections
#   fdfs-c1     fdfs bench --client-profile c, one worker, 10,000 uploads one after another: the
#               Java workload's pattern, with the latency percentiles (a second line per measurement)
#   c-big       the C tools, one file after another: BIG_COUNT (8) uploads of a BIG_MB (64) MB file
#               with fdfs_upload_file (c-big-up), then their downloads with fdfs_download_file to
#               /dev/null (c-big-down; then deleted, not measured): a video or download site's
#               files, where the rate is bytes: its ops are MB (ops/s is MB/s, CPU/op per MB)
# Each line gives ops/s, the CPU per operation of the tracker and of both storages together
# (from /proc, in 10 ms ticks: short runs are coarse) and the share of the machine's CPU time
# left idle during the measurement; the summary gives, per workload, the median of each kind
# and the median of the paired ratios ours/upstream. c-upload-after is not a workload: it is
# the CPU per upload the cluster spent after the c-upload burst until it was idle again (the
# rest of the burst's replication), its ops/s the burst's.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${FDFS_REF_DIR:?set FDFS_REF_DIR to the upstream reference (see ../shared/refenv/README.md)}"
ref=$(realpath "$FDFS_REF_DIR")
for f in install/usr/bin/fdfs_trackerd install/usr/bin/fdfs_storaged install/usr/bin/fdfs_upload_file install/usr/bin/fdfs_download_file \
  install/usr/bin/fdfs_delete_file bench/test_upload_bench20k bench/test_download_bench; do
  [ -x "$ref/$f" ] || { echo "bench-upstream: $ref/$f is missing (build it with ../shared/refenv)" >&2; exit 1; }
done
export LD_LIBRARY_PATH=$ref/install/usr/lib
ROUNDS=${ROUNDS:-4}
STORAGES=${STORAGES:-2}
JAVA_COUNT=${JAVA_COUNT:-5000}
JAVA_NP_COUNT=${JAVA_NP_COUNT:-5000}
BIG_COUNT=${BIG_COUNT:-8}
BIG_MB=${BIG_MB:-64}
export BENCH_SECONDS=${BENCH_SECONDS:-10}
work=$(mktemp -d /tmp/fdfs-bench-upstream.XXXXXX)
go build -o "$work/fdfs" ./cmd/fdfs
fdfs=$work/fdfs
results=$work/results
data=$work
# The clusters' data goes on a fresh ext4 file system (a loop-mounted image) when we can make
# one (root, mkfs.ext4; BENCH_LOOPFS=0 turns it off): on the host's file system, creating a file
# scans past the inodes freed in the last 30 s (ext4's recently_deleted), so whatever ran before
# (a test suite, an rm -rf) taxed the uploads of one cluster more than the other's, by up to 2x.
if [ "${BENCH_LOOPFS:-1}" = 1 ] && [ "$(id -u)" = 0 ] && command -v mkfs.ext4 >/dev/null; then
  truncate -s "${BENCH_LOOPFS_SIZE:-24G}" "$work/fs.img"
  mkfs.ext4 -q -F -i 8192 "$work/fs.img" # ~3M inodes: a 5-round run stores ~1.3M files
  mkdir "$work/fs"
  mount -o loop "$work/fs.img" "$work/fs"
  data=$work/fs
fi
declare -A ips=([ours]="127.0.0.81 127.0.0.82 127.0.0.83" [upstream]="127.0.0.84 127.0.0.85 127.0.0.86")
declare -A pids

cleanup() {
  stop_clusters
  if [ "$data" != "$work" ]; then umount "$data" || true; fi
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${FDFS_JAVA_CLIENT_CLASSES:-}" ]; then
  mkdir -p "$work/java"
  javac -nowarn -cp "$FDFS_JAVA_CLIENT_CLASSES" -d "$work/java" scripts/bench/JavaUploadBench.java
fi

# write_confs KIND: tracker.conf, s1.conf, s2.conf, client.conf (also read by the Java client)
# under $work/KIND.
write_confs() {
  local kind=$1 d=$data/$1 i tr s
  read -r tr s[1] s[2] <<<"${ips[$kind]}"
  mkdir -p "$d/tracker" "$d/s1" "$d/s2" "$d/client" "$d/w/upload" "$d/w/download"
  printf 'bind_addr = %s\nport = 22122\nbase_path = %s/tracker\nreserved_storage_space = 1%%\nthread_stack_size = 256KB\n' \
    "$tr" "$d" >"$d/tracker.conf"
  for i in $(seq 1 "$STORAGES"); do
    cat >"$d/s$i.conf" <<EOF
group_name = group1
bind_addr = ${s[$i]}
port = 23000
base_path = $d/s$i
store_path0 = $d/s$i
subdir_count_per_path = 256
tracker_server = $tr:22122
heart_beat_interval = 2
stat_report_interval = 10
buff_size = 256KB
thread_stack_size = 512KB
EOF
  done
  printf 'base_path = %s/client\ntracker_server = %s:22122\nconnect_timeout = 5\nnetwork_timeout = 60\nconnection_pool.enabled = true\n' \
    "$d" "$tr" >"$d/client.conf"
  sed 's/^connection_pool.enabled = true$/connection_pool.enabled = false/' "$d/client.conf" >"$d/client-np.conf"
  head -c 5120 /dev/urandom >"$d/w/5K"
  for f in 50K 200K 1M 10M 100M; do truncate -s "$f" "$d/w/$f"; done
}

# start_cluster KIND: our daemons (ours) or the C daemons (upstream), in the foreground.
start_cluster() {
  local kind=$1 d=$data/$1 i p=()
  local bin=$fdfs
  [ "$kind" = ours ] || bin=${BASELINE_FDFS:-}
  if [ -n "$bin" ]; then
    env ${OURS_ENV:-} "$bin" tracker --config "$d/tracker.conf" >"$d/tracker.log" 2>&1 & p+=($!)
    sleep 0.3
    for i in $(seq 1 "$STORAGES"); do env ${OURS_ENV:-} "$bin" storage --config "$d/s$i.conf" >"$d/s$i.log" 2>&1 & p+=($!); done
  else
    "$ref/install/usr/bin/fdfs_trackerd" -N "$d/tracker.conf" >"$d/tracker.log" 2>&1 & p+=($!)
    sleep 0.3
    for i in $(seq 1 "$STORAGES"); do "$ref/install/usr/bin/fdfs_storaged" -N "$d/s$i.conf" >"$d/s$i.log" 2>&1 & p+=($!); done
  fi
  pids[$kind]="${p[*]}"
  for _ in $(seq 1 240); do
    [ "$("$fdfs" monitor --config "$d/client.conf" 2>/dev/null | grep -c ACTIVE)" -ge "$STORAGES" ] && return 0
    sleep 0.5
  done
  echo "bench-upstream: the $kind cluster did not become ACTIVE" >&2
  return 1
}

# stop_clusters: SIGTERM, and SIGKILL for what still runs 15 s later (an upstream storage
# sometimes hangs on exit while its sync threads wait on a peer that has gone).
stop_clusters() {
  local all=() p i alive
  for p in "${pids[@]}"; do all+=($p); done
  [ ${#all[@]} -gt 0 ] || return 0
  for p in "${all[@]}"; do kill "$p" 2>/dev/null || true; done
  for i in $(seq 1 30); do
    alive=0
    # An exited daemon stays a zombie until waited for: look at its state, not kill -0.
    for p in "${all[@]}"; do ps -o stat= -p "$p" 2>/dev/null | grep -qv Z && alive=1; done
    [ "$alive" = 1 ] || break
    sleep 0.5
  done
  for p in "${all[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${all[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}

# cpu KIND: CPU ticks (1/100 s) its tracker and both storages have used so far, and the
# machine's ticks so far, all and idle (idle + iowait), as "tracker storages all idle" (the
# canned server: one process, counted as storages).
cpu() {
  local t s1 s2 m
  m=$(awk '/^cpu / {print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $5 + $6}' /proc/stat)
  if [ "$1" = canned ]; then
    echo "0 $(awk '{print $14 + $15}' "/proc/${pids[canned]}/stat") $m"
    return
  fi
  read -r t s <<<"${pids[$1]}"
  echo "$(awk '{print $14 + $15}' "/proc/$t/stat") $(cd /proc && awk '{t += $14 + $15} END {print t}' $(printf '%s/stat ' $s)) $m"
}

# report WORKLOAD KIND OPS SECONDS CPU0 CPU1: one line on stdout and in $results. The line
# ends with how much of the machine's CPU time went idle meanwhile: a measurement far off its
# pair with much idle time waited on something (the disk, this VM's host), not on CPU.
report() {
  local t0 s0 m0 i0 t1 s1 m1 i1
  read -r t0 s0 m0 i0 <<<"$5"
  read -r t1 s1 m1 i1 <<<"$6"
  awk -v n="$1" -v k="$2" -v ops="$3" -v s="$4" -v ct="$((t1 - t0))" -v cs="$((s1 - s0))" -v r="$round" \
    -v idle="$((i1 - i0))" -v all="$((m1 - m0))" \
    'BEGIN {o = ops > 0 ? ops : 1; printf "round %d  %-10s  %-8s  %8d ops  %6.2f s  %9.0f ops/s  CPU/op: tracker %5.1f us, storages %6.1f us  idle %3.0f%%\n", r, n, k, ops, s, ops / s, ct * 10000 / o, cs * 10000 / o, (all > 0 ? 100 * idle / all : 0)}' |
    tee -a "$results"
}

c_upload() {
  local kind=$1 d=$data/$1 i c0 c1 t0 t1 ps=()
  rm -f "$d"/w/upload/file_id.*
  c0=$(cpu "$kind"); t0=$(date +%s.%N)
  for i in $(seq 0 9); do (cd "$d/w" && exec "$ref/bench/test_upload_bench20k" "$i" "$d/client.conf" >/dev/null 2>&1) & ps+=($!); done
  wait "${ps[@]}"
  t1=$(date +%s.%N); c1=$(cpu "$kind")
  report c-upload "$kind" "$(cat "$d"/w/upload/file_id.* | wc -l)" "$(echo "$t1 - $t0" | bc)" "$c0" "$c1"
  # The replication of the burst goes on after it: its CPU, from the end of
  # the burst until the cluster is idle, per upload (c-upload-after).
  idle "$kind"
  report c-upload-after "$kind" "$(cat "$d"/w/upload/file_id.* | wc -l)" "$(echo "$t1 - $t0" | bc)" "$c1" "$(cpu "$kind")"
}

c_download() {
  local kind=$1 d=$data/$1 name=${2:-c-download} i c0 c1 ps=()
  rm -f "$d"/w/download/*
  c0=$(cpu "$kind")
  for i in $(seq 0 19); do (cd "$d/w" && exec "$ref/bench/test_download_bench" "$i" "$d/client.conf" >/dev/null 2>&1) & ps+=($!); done
  wait "${ps[@]}"
  c1=$(cpu "$kind")
  report "$name" "$kind" "$(awk '!/^#/ {s += $3} END {print s + 0}' "$d"/w/download/stat_by_file_type.*)" "$BENCH_SECONDS" "$c0" "$c1"
}

# java_upload KIND WORKLOAD: java (pooled connections) or java-np (a new pair per upload).
java_upload() {
  local kind=$1 conf=client.conf count=$JAVA_COUNT c0 c1 line
  [ "$2" = java ] || conf=client-np.conf count=$JAVA_NP_COUNT
  c0=$(cpu "$kind")
  line=$(java -cp "$FDFS_JAVA_CLIENT_CLASSES:$work/java" JavaUploadBench "$data/$kind/$conf" "$count" 5120)
  c1=$(cpu "$kind")
  report "$2" "$kind" "$count" "$(echo "$line" | sed 's/.*seconds=\([0-9.]*\).*/\1/')" "$c0" "$c1"
}

# fdfs_bench KIND WORKLOAD: fdfs-c and fdfs-go, 16 workers; fdfs-c1, one worker.
fdfs_bench() {
  local kind=$1 profile=${2#fdfs-} workers=16 count=20000 c0 c1 out ok rate
  if [ "$profile" = c1 ]; then profile=c workers=1 count=10000; fi
  c0=$(cpu "$kind")
  out=$("$fdfs" bench --config "$data/$kind/client.conf" --client-profile "$profile" --op upload --size 5KB --count "$count" --concurrency "$workers" --keep)
  c1=$(cpu "$kind")
  ok=$(echo "$out" | sed -n 's/^ok=\([0-9]*\) .*/\1/p')
  rate=$(echo "$out" | sed -n 's/^ops\/s=\([0-9.]*\) .*/\1/p')
  report "$2" "$kind" "$ok" "$(echo "scale=3; $ok / $rate" | bc)" "$c0" "$c1"
  [ "$workers" != 1 ] || echo "        $kind $(echo "$out" | grep '^latency')"
}

# c_big KIND: BIG_COUNT uploads of the big file one after another with the C tool, then
# (the cluster idle again: the replication of those files done) their downloads, then their
# deletes, unmeasured.
c_big() {
  local kind=$1 conf=$data/$1/client.conf tools=$ref/install/usr/bin c0 c1 t0 t1 i id ids=()
  c0=$(cpu "$kind"); t0=$(date +%s.%N)
  for i in $(seq 1 "$BIG_COUNT"); do ids+=("$("$tools/fdfs_upload_file" "$conf" "$work/big")"); done
  t1=$(date +%s.%N); c1=$(cpu "$kind")
  report c-big-up "$kind" $((BIG_COUNT * BIG_MB)) "$(echo "$t1 - $t0" | bc)" "$c0" "$c1"
  idle "$kind"
  c0=$(cpu "$kind"); t0=$(date +%s.%N)
  for id in "${ids[@]}"; do "$tools/fdfs_download_file" "$conf" "$id" /dev/null; done
  t1=$(date +%s.%N); c1=$(cpu "$kind")
  report c-big-down "$kind" $((BIG_COUNT * BIG_MB)) "$(echo "$t1 - $t0" | bc)" "$c0" "$c1"
  for id in "${ids[@]}"; do "$tools/fdfs_delete_file" "$conf" "$id"; done
}

# idle KIND: wait until the cluster's daemons used at most 30 ms of CPU in the last second
# (replication of the previous workload's files is over), up to 120 s.
idle() {
  local a b i
  for i in $(seq 1 120); do
    a=$(cpu "$1" | cut -d' ' -f1-2); sleep 1; b=$(cpu "$1" | cut -d' ' -f1-2)
    [ $(( ($(echo "$b" | tr ' ' +)) - ($(echo "$a" | tr ' ' +)) )) -gt 3 ] || break
  done
}

# settle: wait until both clusters are idle and write back every dirty page, so that a
# measurement does not pay for the one before it.
settle() {
  idle ours
  idle upstream
  sync
}

# wanted WORKLOAD: whether WORKLOADS (space-separated; empty: all) names it.
wanted() { [ -z "${WORKLOADS:-}" ] || [[ " $WORKLOADS " == *" $1 "* ]]; }

# measure WORKLOAD: ROUNDS pairs, the order of the two kinds swapped every round.
measure() {
  local first second
  for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then first=ours second=upstream; else first=upstream second=ours; fi
    for kind in $first $second; do
      settle
      case $1 in
      java | java-np) java_upload "$kind" "$1" ;;
      fdfs-c | fdfs-go | fdfs-c1) fdfs_bench "$kind" "$1" ;;
      c-big) c_big "$kind" ;;
      esac
    done
  done
}

[ -z "${BASELINE_FDFS:-}" ] || echo "bench-upstream: the cluster labelled upstream runs $BASELINE_FDFS (a build of ours), not the C daemons"
for kind in ours upstream; do
  write_confs "$kind"
  start_cluster "$kind"
done
sleep 3 # the storages' first reports and sync connections settle
# c-upload and c-download alternate per round so that each download reads a fresh upload.
for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then order="ours upstream"; else order="upstream ours"; fi
  for kind in $order; do settle; c_upload "$kind"; done
  wanted c-download || continue
  sleep 3 # replication of the files before they are read from either storage
  for kind in $order; do settle; c_download "$kind"; done
done
if [ "${BOUND:-0}" = 1 ] && wanted c-download; then
  # The canned server answers any file ID: it gets the IDs of the last upstream upload.
  cc -O2 -pthread -o "$work/canned" scripts/bench/canned.c
  mkdir -p "$data/canned/w/upload" "$data/canned/w/download"
  cp "$data"/upstream/w/upload/file_id.* "$data/canned/w/upload/"
  printf 'base_path = %s/canned\ntracker_server = 127.0.0.87:22122\nconnect_timeout = 5\nnetwork_timeout = 60\nconnection_pool.enabled = true\n' "$data" >"$data/canned/client.conf"
  "$work/canned" 127.0.0.87 127.0.0.88 & pids[canned]=$!
  sleep 0.5
  for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then order="canned upstream"; else order="upstream canned"; fi
    for kind in $order; do settle; c_download "$kind" c-download-bound; done
  done
fi
[ -z "${FDFS_JAVA_CLIENT_CLASSES:-}" ] || ! wanted java || measure java
[ -z "${FDFS_JAVA_CLIENT_CLASSES:-}" ] || ! wanted java-np || measure java-np
! wanted fdfs-c || measure fdfs-c
! wanted fdfs-go || measure fdfs-go
! wanted fdfs-c1 || measure fdfs-c1
if wanted c-big; then
  head -c $((BIG_MB << 20)) /dev/urandom >"$work/big"
  measure c-big
fi

echo
echo "median over $ROUNDS rounds: ops/s ours, upstream; median of the paired ratios ours/upstream; CPU/op (us, tracker+storages) ours, upstream"
[ "${BOUND:-0}" = 1 ] && echo "(c-download-bound: the canned server in place of ours)"
awk '{
  w = $3; k = $4; r = $2; ops = $9; cpu = $13 + $16
  key = w SUBSEP r
  if (k != "upstream") { o[key] = ops; oc[w] = oc[w] " " cpu } else { u[key] = ops; uc[w] = uc[w] " " cpu }
  seen[w] = 1; rounds[w] = rounds[w] " " r
}
function median(s,   a, n, i, j, t) {
  n = split(s, a, " ")
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
END {
  n = split("c-upload c-upload-after c-download c-download-bound java java-np fdfs-c fdfs-go fdfs-c1 c-big-up c-big-down", order, " ")
  for (i = 1; i <= n; i++) {
    w = order[i]
    if (!(w in seen)) continue
    os = ""; us = ""; rs = ""
    for (key in o) { split(key, p, SUBSEP); if (p[1] == w && (key in u)) { os = os " " o[key]; us = us " " u[key]; rs = rs " " o[key] / u[key] } }
    if (w == "c-upload-after") { printf "%-10s  %9s  %9s  %5s  CPU/op %6.1f  %6.1f\n", w, "-", "-", "-", median(oc[w]), median(uc[w]); continue }
    printf "%-10s  %9.0f  %9.0f  x%.2f  CPU/op %6.1f  %6.1f\n", w, median(os), median(us), median(rs), median(oc[w]), median(uc[w])
  }
}' "$results"
