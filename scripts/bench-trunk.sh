#!/usr/bin/env bash
# Trunk storage (use_trunk_file) benchmark: small-file uploads and downloads with trunks on and
# off on our servers, and with trunks on on the upstream C servers (FastDFS V6.16.1), in one run
# on one machine, with the inodes and disk space each run leaves behind.
#
#   FDFS_REF_DIR=/path/to/ref bash scripts/bench-trunk.sh
#   (COUNT=200000 uploads of SIZE=4KB by default, CONC=16 workers; DOWNLOADS=50000;
#    without FDFS_REF_DIR the upstream cluster is left out)
#
# Each cluster is one tracker and one storage (no replication: the store is what is measured)
# with upstream's trunk settings (trunk_file_size 64 MB, slot_min_size 256, slot_max_size 1 MB,
# trunk_alloc_alignment_size 256, merge on; store_server 1 as use_trunk_file requires), 256x256
# data directories, buff_size 256 KB. Clients: `fdfs bench` (pooled connections, tracker query +
# UPLOAD_FILE per upload, tracker query + DOWNLOAD_FILE per download). The store of each cluster
# is a fresh ext4 file system of its own (a loop-mounted image, when run as root) so that `df`
# gives the inodes and blocks it uses; otherwise they are counted with find and du.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
COUNT=${COUNT:-200000}
SIZE=${SIZE:-4KB}
CONC=${CONC:-16}
DOWNLOADS=${DOWNLOADS:-50000}
work=$(mktemp -d /tmp/fdfs-bench-trunk.XXXXXX)
go build -o "$work/fdfs" ./cmd/fdfs
fdfs=$work/fdfs
kinds="ours-trunk ours-plain"
if [ -n "${FDFS_REF_DIR:-}" ]; then
  ref=$(realpath "$FDFS_REF_DIR")
  export LD_LIBRARY_PATH=$ref/install/usr/lib
  kinds="ours-trunk upstream-trunk ours-plain"
fi
declare -A ips=([ours-trunk]="127.0.0.91 127.0.0.92" [ours-plain]="127.0.0.93 127.0.0.94" [upstream-trunk]="127.0.0.95 127.0.0.96")
pids=()
mounts=()

cleanup() {
  stop
  for m in "${mounts[@]}"; do umount "$m" || true; done
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

stop() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}

# setup KIND: confs and a file system for the store under $work/KIND.
setup() {
  local kind=$1 d=$work/$1 tr st trunk=true
  read -r tr st <<<"${ips[$kind]}"
  [ "$kind" = ours-plain ] && trunk=false
  mkdir -p "$d/tracker" "$d/client" "$d/store"
  if [ "$(id -u)" = 0 ] && command -v mkfs.ext4 >/dev/null; then
    truncate -s 8G "$d/fs.img"
    mkfs.ext4 -q -F -i 4096 "$d/fs.img"
    mount -o loop "$d/fs.img" "$d/store"
    mounts+=("$d/store")
  fi
  cat >"$d/tracker.conf" <<EOC
bind_addr = $tr
port = 22122
base_path = $d/tracker
reserved_storage_space = 1%
thread_stack_size = 256KB
store_server = 1
use_trunk_file = $trunk
slot_min_size = 256
slot_max_size = 1MB
trunk_alloc_alignment_size = 256
trunk_free_space_merge = true
trunk_file_size = 64MB
trunk_create_file_advance = false
EOC
  cat >"$d/storage.conf" <<EOC
group_name = group1
bind_addr = $st
port = 23000
base_path = $d/store
store_path0 = $d/store
subdir_count_per_path = 256
tracker_server = $tr:22122
heart_beat_interval = 2
stat_report_interval = 10
buff_size = 256KB
thread_stack_size = 512KB
EOC
  printf 'base_path = %s/client\ntracker_server = %s:22122\nconnect_timeout = 5\nnetwork_timeout = 60\n' "$d" "$tr" >"$d/client.conf"
}

start() {
  local kind=$1 d=$work/$1
  if [ "$kind" = upstream-trunk ]; then
    "$ref/install/usr/bin/fdfs_trackerd" -N "$d/tracker.conf" >"$d/tracker.log" 2>&1 & pids+=($!)
    sleep 0.3
    "$ref/install/usr/bin/fdfs_storaged" -N "$d/storage.conf" >"$d/storage.log" 2>&1 & pids+=($!)
  else
    "$fdfs" tracker --config "$d/tracker.conf" >"$d/tracker.log" 2>&1 & pids+=($!)
    sleep 0.3
    "$fdfs" storage --config "$d/storage.conf" >"$d/storage.log" 2>&1 & pids+=($!)
  fi
  # Ready when an upload succeeds (and, with trunks, lands in one: 60-character names).
  local i id
  echo probe >"$d/probe"
  for i in $(seq 1 1200); do
    if id=$("$fdfs" upload --config "$d/client.conf" "$d/probe" 2>/dev/null); then
      if [ "$kind" = ours-plain ] || [ "${#id}" -eq $((7 + 60)) ]; then
        "$fdfs" delete --config "$d/client.conf" "$id" >/dev/null
        return 0
      fi
    fi
    sleep 0.5
  done
  echo "bench-trunk: the $kind cluster does not take uploads" >&2
  return 1
}

# usage KIND: "inodes KiB" used by the store.
usage() {
  local d=$work/$1/store
  if mountpoint -q "$d"; then
    echo "$(df --output=iused "$d" | tail -1) $(df --output=used "$d" | tail -1)"
  else
    echo "$(find "$d" | wc -l) $(du -sk "$d" | cut -f1)"
  fi
}

for kind in $kinds; do
  setup "$kind"
  start "$kind"
  d=$work/$kind
  read -r i0 k0 <<<"$(usage "$kind")"
  up=$("$fdfs" bench --config "$d/client.conf" --op upload --size "$SIZE" --count "$COUNT" --concurrency "$CONC" --keep)
  sync
  read -r i1 k1 <<<"$(usage "$kind")"
  down=$("$fdfs" bench --config "$d/client.conf" --op download --size "$SIZE" --count "$DOWNLOADS" --concurrency "$CONC")
  stop
  printf '%-15s uploads: %s (%s)  downloads: %s (%s)  inodes: +%d  disk: +%d MiB\n' "$kind" \
    "$(echo "$up" | sed -n 's/^ops\/s=\([0-9.]*\) .*/\1/p')/s" "$(echo "$up" | sed -n 's/^ok=\([0-9]*\) failed=\([0-9]*\).*/ok \1, failed \2/p')" \
    "$(echo "$down" | sed -n 's/^ops\/s=\([0-9.]*\) .*/\1/p')/s" "$(echo "$down" | sed -n 's/^latency \(p50=[^ ]*\) p90=[^ ]* \(p99=[^ ]*\).*/\1 \2/p')" \
    $((i1 - i0)) $(((k1 - k0) / 1024))
  echo "$up" | sed -n 's/^latency /    upload latency /p'
done
