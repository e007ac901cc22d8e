#!/usr/bin/env bash
# HTTP download benchmark: our storage server's built-in HTTP (what
# fastdfs-nginx-module does) against Debian's nginx serving the same store
# folder as static files, with wrk, on this machine's loopback.
#
#   bash scripts/bench-http.sh            # needs wrk and nginx (apt-get install wrk nginx-light)
#   DURATION=10s CONNS=16 bash scripts/bench-http.sh
#
# Prints requests/s for a 5 KB file and MB/s for a 1 GiB file, for both servers.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
for tool in wrk nginx; do
  command -v "$tool" >/dev/null || { echo "bench-http: $tool is missing (apt-get install wrk nginx-light)"; exit 1; }
done
DURATION=${DURATION:-10s}
CONNS=${CONNS:-16}
work=$(mktemp -d /tmp/fdfs-bench-http.XXXXXX)
chmod 755 "$work" # nginx workers run as www-data
. scripts/devcluster.sh
cleanup() {
  stop_dev
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

start_dev "$work" 127.0.0.62
head -c 5120 /dev/urandom >"$work/small.jpg"
head -c $((1 << 30)) /dev/zero >"$work/big.bin"
small=$("$work/fdfs" upload --config "$conf" "$work/small.jpg")
big=$("$work/fdfs" upload --config "$conf" "$work/big.bin")
rm -f "$work/big.bin"
src_ip() { "$work/fdfs" info --config "$conf" --local "$1" | awk -F': *' '/source ip/ {print $2; exit}'; }
ip=$(src_ip "$small")
# Both files are replicated to every storage of the group: wait until the big
# one is on every storage (replication would otherwise compete for the CPU
# during the first runs), then serve everything from the small one's storage.
for sip in $(awk -F' *= *' '/^bind_addr/ {print $2}' "$work"/data/storage*.conf); do
  for _ in $(seq 1 900); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' -I "http://$sip:8888/$big")" = 200 ] && break
    sleep 0.2
  done
done
sleep 2
conf_file=$(grep -l "^bind_addr *= *$ip\$" "$work"/data/storage*.conf | head -1)
store=$(awk -F' *= *' '/^store_path0/ {print $2}' "$conf_file")
cat >"$work/nginx.conf" <<NGX
worker_processes 2;
daemon on;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  access_log off;
  sendfile on;
  tcp_nopush on;
  server {
    listen 127.0.0.61:8889;
    location /group1/M00/ { alias ${store%/}/data/; }
  }
}
NGX
nginx -c "$work/nginx.conf" -p "$work"

run() { # label url conns
  local out
  out=$(wrk -t"$(( $3 < 2 ? 1 : 2 ))" -c"$3" -d"$DURATION" "$2")
  printf '%-28s %s   %s\n' "$1" "$(awk '/Requests\/sec/ {print $2 " req/s"}' <<<"$out")" "$(awk '/Transfer\/sec/ {print $2}' <<<"$out")"
}
curl -sf -o /dev/null "http://127.0.0.61:8889/$small" || {
  echo "bench-http: nginx does not serve $small from $store"; cat "$work/nginx-error.log"; exit 1; }
ROUNDS=${ROUNDS:-1}
echo "wrk, $DURATION per run, $ROUNDS round(s) alternating the servers; small = 5 KB file with $CONNS connections, big = 1 GiB file with 1 connection"
for _ in $(seq 1 "$ROUNDS"); do
  run "fdfs storage, 5 KB"  "http://$ip:8888/$small" "$CONNS"
  run "nginx,        5 KB"  "http://127.0.0.61:8889/$small" "$CONNS"
done
for _ in $(seq 1 "$ROUNDS"); do
  run "fdfs storage, 1 GiB" "http://$ip:8888/$big" 1
  run "nginx,        1 GiB" "http://127.0.0.61:8889/$big" 1
done
