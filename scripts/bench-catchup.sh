#!/usr/bin/env bash
# How fast a storage catches up on files its peer stored while it was away: the second storage
# of a group joins after FILES x 20,000 uploads of 5 KB to the first (FastDFS's test_upload,
# 10 processes), and gets them all by replication. Ours against the upstream C daemons, the
# two kinds alternated ROUNDS times (default 2), each run on a fresh loop-mounted ext4.
#
#   FDFS_REF_DIR=/path/to/ref bash scripts/bench-catchup.sh
#   (FILES=5 by default; BASELINE_FDFS=/path/to/fdfs runs that build of ours in place of the
#   C daemons; STORAGE2=upstream makes the joining storage an upstream one in both runs, for a
#   mixed group)
#
# Each line gives the seconds from the joining storage's first replica record to its last,
# the files per second, and the CPU per file of both storages over that time (from /proc).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${FDFS_REF_DIR:?set FDFS_REF_DIR to the upstream reference (see ../shared/refenv/README.md)}"
ref=$(realpath "$FDFS_REF_DIR")
[ "$(id -u)" = 0 ] || { echo "bench-catchup: needs root (loop-mounted file systems)" >&2; exit 1; }
export LD_LIBRARY_PATH=$ref/install/usr/lib
ROUNDS=${ROUNDS:-2}
FILES=${FILES:-5}
work=$(mktemp -d /tmp/fdfs-bench-catchup.XXXXXX)
go build -o "$work/fdfs" ./cmd/fdfs
fdfs=$work/fdfs
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  umount "$work/fs" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# daemon KIND ROLE CONF: starts a tracker or a storage of that kind.
daemon() {
  local bin=$fdfs
  [ "$1" = ours ] || bin=${BASELINE_FDFS:-}
  if [ -n "$bin" ]; then
    "$bin" "$2" --config "$3" >"$3.log" 2>&1 &
  elif [ "$2" = tracker ]; then
    "$ref/install/usr/bin/fdfs_trackerd" -N "$3" >"$3.log" 2>&1 &
  else
    "$ref/install/usr/bin/fdfs_storaged" -N "$3" >"$3.log" 2>&1 &
  fi
  pids+=($!)
}

# cpu PID...: CPU ticks (1/100 s) used so far.
cpu() { for p in "$@"; do cat "/proc/$p/stat"; done | awk '{s += $14 + $15} END {print s}'; }

# run KIND: one catch-up, one line of figures.
run() {
  local kind=$1 d=$work/fs i ps s1 s2 total b t0 t1 c0 c1
  truncate -s 16G "$work/fs.img"
  mkfs.ext4 -q -F "$work/fs.img"
  mkdir -p "$d"
  mount -o loop "$work/fs.img" "$d"
  mkdir -p "$d/tracker" "$d/s1" "$d/s2" "$d/client" "$d/w/upload"
  printf 'bind_addr = 127.0.0.91\nport = 22122\nbase_path = %s/tracker\nreserved_storage_space = 1%%\nthread_stack_size = 256KB\n' "$d" >"$d/tracker.conf"
  for i in 1 2; do
    printf 'group_name = group1\nbind_addr = 127.0.0.9%d\nport = 23000\nbase_path = %s/s%d\nstore_path0 = %s/s%d\nsubdir_count_per_path = 256\ntracker_server = 127.0.0.91:22122\nheart_beat_interval = 2\nbuff_size = 256KB\nthread_stack_size = 512KB\nsync_binlog_buff_interval = 1\n' \
      $((i + 1)) "$d" "$i" "$d" "$i" >"$d/s$i.conf"
  done
  printf 'base_path = %s/client\ntracker_server = 127.0.0.91:22122\nconnect_timeout = 5\nnetwork_timeout = 60\n' "$d" >"$d/client.conf"
  head -c 5120 /dev/urandom >"$d/w/5K"
  for f in 50K 200K 1M 10M 100M; do truncate -s "$f" "$d/w/$f"; done
  daemon "$kind" tracker "$d/tracker.conf"
  sleep 0.3
  daemon "$kind" storage "$d/s1.conf"
  s1=${pids[-1]}
  for _ in $(seq 1 240); do
    [ "$("$fdfs" monitor --config "$d/client.conf" 2>/dev/null | grep -c ACTIVE)" -ge 1 ] && break
    sleep 0.5
  done
  (cd "$d/w" && for _ in $(seq 1 "$FILES"); do
    ps=()
    for i in $(seq 0 9); do "$ref/bench/test_upload_bench20k" "$i" "$d/client.conf" >/dev/null 2>&1 & ps+=($!); done
    wait "${ps[@]}"
  done)
  total=$(wc -l <"$d/s1/data/sync/binlog.000")
  sync
  sleep 1
  daemon "${STORAGE2:-$kind}" storage "$d/s2.conf"
  s2=${pids[-1]}
  b=$d/s2/data/sync/binlog.000
  # The joining storage logs a replica record per file it gets. An upstream storage writes its
  # binlog through a buffer it flushes every sync_binlog_buff_interval (60 s by default, 1 s
  # here: its runs are counted up to a second long; ours fsyncs its binlog that often).
  until [ -s "$b" ]; do sleep 0.02; done
  t0=$(date +%s.%N) c0=$(cpu "$s1" "$s2")
  until [ "$(wc -l <"$b")" -ge "$total" ]; do sleep 0.02; done
  t1=$(date +%s.%N) c1=$(cpu "$s1" "$s2")
  awk -v k="$kind" -v n="$total" -v s="$(echo "$t1 - $t0" | bc -l)" -v c="$((c1 - c0))" \
    'BEGIN {printf "%-9s %7d files  %6.2f s  %7.0f files/s  CPU/file (both storages) %5.1f us\n", k, n, s, n / s, c * 10000 / n}'
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
  umount "$d"
  rm -f "$work/fs.img"
}

[ -z "${BASELINE_FDFS:-}" ] || echo "bench-catchup: the runs labelled upstream use $BASELINE_FDFS (a build of ours), not the C daemons"
for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then order="ours upstream"; else order="upstream ours"; fi
  for kind in $order; do run "$kind"; done
done
