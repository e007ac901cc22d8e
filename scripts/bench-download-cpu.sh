#!/usr/bin/env bash
# Where a download's CPU goes, ours against upstream's daemons: FastDFS's test_download (20
# processes) against a fresh cluster of each kind in turn, each client under `perf stat`
# (task-clock, context switches: the CPU the kernel charged to the task itself), the daemons
# under `perf stat` for 5 s in the middle of the run, and the machine's idle share from
# /proc/stat meanwhile. Made to check a claim from `bash times` (which also counts what perf
# stat does not, and swings with the VM): the figures per download of clients, tracker and
# storages, side by side with the rate.
#
#   FDFS_REF_DIR=/path/to/ref bash scripts/bench-download-cpu.sh
#   KINDS="ours upstream upstream-1" (the default) runs, in that order, ROUNDS times (2):
#     ours        our daemons (this checkout, built here)
#     upstream    the C daemons as configured by bench-upstream.sh (work_threads 4, their default)
#     upstream-1  the C daemons with work_threads = 1: one thread serving, as our one loop
#   BENCH_SECONDS (8) per run; a run also uploads the 20,000 5 KB files it reads (test_upload).
#
# Needs root (a loop-mounted ext4 for the data, as bench-upstream.sh) and perf.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${FDFS_REF_DIR:?set FDFS_REF_DIR to the upstream reference (see ../shared/refenv/README.md)}"
command -v perf >/dev/null || { echo "bench-download-cpu: needs perf (linux-perf)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench-download-cpu: needs root (a loop-mounted file system)" >&2; exit 1; }
ref=$(realpath "$FDFS_REF_DIR")
export LD_LIBRARY_PATH=$ref/install/usr/lib BENCH_SECONDS=${BENCH_SECONDS:-8}
work=$(mktemp -d /tmp/fdfs-bench-dlcpu.XXXXXX)
go build -o "$work/fdfs" ./cmd/fdfs
pstat() { perf stat -e task-clock,context-switches -x, -o "$@"; }

# run KIND ROUND: one cluster (1 tracker + 2 storages on 127.0.0.91-93), uploads, downloads.
run() {
  local kind=$1 d=$work/fs p=() i ps=()
  truncate -s 16G "$work/fs.img" && mkfs.ext4 -q -F -i 8192 "$work/fs.img" && mkdir -p "$d" && mount -o loop "$work/fs.img" "$d"
  mkdir -p "$d/tracker" "$d/client" "$d/w/upload" "$d/w/download" "$d/s1" "$d/s2"
  printf 'bind_addr = 127.0.0.91\nport = 22122\nbase_path = %s/tracker\nreserved_storage_space = 1%%\nthread_stack_size = 256KB\n' "$d" >"$d/tracker.conf"
  for i in 1 2; do
    printf 'group_name = group1\nbind_addr = 127.0.0.9%d\nport = 23000\nbase_path = %s/s%d\nstore_path0 = %s/s%d\nsubdir_count_per_path = 256\ntracker_server = 127.0.0.91:22122\nheart_beat_interval = 2\nstat_report_interval = 10\nbuff_size = 256KB\nthread_stack_size = 512KB\n' \
      $((i + 1)) "$d" "$i" "$d" "$i" >"$d/s$i.conf"
    [ "$kind" != upstream-1 ] || echo "work_threads = 1" >>"$d/s$i.conf"
  done
  [ "$kind" != upstream-1 ] || echo "work_threads = 1" >>"$d/tracker.conf"
  printf 'base_path = %s/client\ntracker_server = 127.0.0.91:22122\nconnect_timeout = 5\nnetwork_timeout = 60\nconnection_pool.enabled = true\n' "$d" >"$d/client.conf"
  head -c 5120 /dev/urandom >"$d/w/5K"
  for i in 50K 200K 1M 10M 100M; do truncate -s "$i" "$d/w/$i"; done
  if [ "$kind" = ours ]; then
    "$work/fdfs" tracker --config "$d/tracker.conf" >"$d/t.log" 2>&1 & p+=($!)
    sleep 0.3
    for i in 1 2; do "$work/fdfs" storage --config "$d/s$i.conf" >"$d/s$i.log" 2>&1 & p+=($!); done
  else
    "$ref/install/usr/bin/fdfs_trackerd" -N "$d/tracker.conf" >"$d/t.log" 2>&1 & p+=($!)
    sleep 0.3
    for i in 1 2; do "$ref/install/usr/bin/fdfs_storaged" -N "$d/s$i.conf" >"$d/s$i.log" 2>&1 & p+=($!); done
  fi
  for i in $(seq 1 121); do
    [ "$("$work/fdfs" monitor --config "$d/client.conf" 2>/dev/null | grep -c ACTIVE)" -ge 2 ] && break
    [ "$i" -le 120 ] || { echo "bench-download-cpu: the $kind cluster did not become ACTIVE; its logs:" >&2; tail -n 5 "$d"/*.log "$d"/*/logs/*.log >&2; exit 1; }
    sleep 0.5
  done
  sleep 3
  for i in $(seq 0 9); do (cd "$d/w" && exec "$ref/bench/test_upload_bench20k" "$i" "$d/client.conf" >/dev/null 2>&1) & ps+=($!); done
  wait "${ps[@]}"
  sleep 8 # the replication of the uploads
  ps=()
  for i in $(seq 0 19); do (cd "$d/w" && exec perf stat -e task-clock,context-switches -x, -o "$work/c.$i" "$ref/bench/test_download_bench" "$i" "$d/client.conf" >/dev/null 2>&1) & ps+=($!); done
  sleep 1
  local s0 s1 tp
  s0=$(head -1 /proc/stat)
  pstat "$work/t" -p "${p[0]}" -- sleep 5 >/dev/null 2>&1 &
  tp=$!
  pstat "$work/s" -p "${p[1]},${p[2]}" -- sleep 5 >/dev/null 2>&1
  wait "$tp"
  s1=$(head -1 /proc/stat)
  wait "${ps[@]}"
  local n
  n=$(awk '!/^#/ {s += $3} END {print s + 0}' "$d"/w/download/stat_by_file_type.*)
  kill "${p[@]}" 2>/dev/null || true; sleep 2; kill -9 "${p[@]}" 2>/dev/null || true; wait "${p[@]}" 2>/dev/null || true
  umount "$d"; rm -f "$work/fs.img"
  # per download: the clients' counters over their n downloads; the daemons' over 5 s at the run's rate
  awk -F, -v kind="$kind" -v r="$2" -v n="$n" -v s="$BENCH_SECONDS" -v st0="$s0" -v st1="$s1" '
    FNR == 1 { w = FILENAME; sub(/.*\//, "", w); w = substr(w, 1, 1) }
    $3 == "task-clock" { cpu[w] += $1 } $3 == "context-switches" { cs[w] += $1 }
    END {
      split(st0, a, " "); split(st1, b, " "); t = 0
      for (i = 2; i <= length(b); i++) t += b[i] - a[i]
      d5 = n / s * 5
      printf "round %d  %-10s  %7.0f downloads/s  per download: clients %5.1f us %4.2f switches, tracker %5.1f us %4.2f, storages %5.1f us %4.2f  idle %4.1f%%\n",
        r, kind, n / s, cpu["c"] * 1000 / n, cs["c"] / n, cpu["t"] * 1000 / d5, cs["t"] / d5, cpu["s"] * 1000 / d5, cs["s"] / d5, 100 * (b[5] - a[5] + b[6] - a[6]) / t
    }' "$work"/c.* "$work/t" "$work/s"
  rm -f "$work"/c.* "$work/t" "$work/s"
}

trap 'mountpoint -q "$work/fs" && umount "$work/fs"; rm -rf "$work"' EXIT
for r in $(seq 1 "${ROUNDS:-2}"); do
  for kind in ${KINDS:-ours upstream upstream-1}; do run "$kind" "$r"; done
done
