# Sourced by the benchmark scripts: builds the binary and runs `fdfs dev`
# in a work directory on a private loopback range, so that a running
# `fdfs dev` is not disturbed.
#
#   start_dev WORK BASE_IP   # sets fdfs (the binary), dev_pid and conf (client.conf)
#   stop_dev                 # for the script's EXIT trap

start_dev() {
  local work=$1 ip=$2
  go build -o "$work/fdfs" ./cmd/fdfs
  fdfs="$work/fdfs"
  "$fdfs" dev --data "$work/data" --base-ip "$ip" --log-file "$work/dev.log" >"$work/dev.out" 2>&1 &
  dev_pid=$!
  for _ in $(seq 1 600); do
    grep -q "is ready" "$work/dev.out" 2>/dev/null && break
    sleep 0.1
  done
  grep -q "is ready" "$work/dev.out" || { cat "$work/dev.out"; echo "fdfs dev did not start" >&2; return 1; }
  conf="$work/data/client.conf"
}

stop_dev() {
  [ -n "${dev_pid:-}" ] && kill "$dev_pid" 2>/dev/null && wait "$dev_pid" 2>/dev/null
  return 0
}
