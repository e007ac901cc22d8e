#!/usr/bin/env bash
# Runs every Go fuzz target of the module briefly: each `func FuzzX(f *testing.F)`
# found in a *_test.go file gets `go test -run='^$' -fuzz='^FuzzX$' -fuzztime=$FUZZTIME`.
# Targets are discovered, so new ones are covered without editing this file.
# FUZZTIME defaults to 5s; FUZZ_PKGS limits the packages (default ./...).
#
# Go 1.26's fuzz coordinator can report a bare "context deadline exceeded"
# failure when -fuzztime expires while a worker is mid-run (golang/go#75804,
# fixed in Go 1.27). Such a run wrote no failing input; it is retried once and,
# if it happens again, reported as a tolerated flake. Any run that writes a
# failing input, panics or fails otherwise fails this script.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fuzztime=${FUZZTIME:-5s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# run_target PKG TARGET: 0 pass, 1 real failure, 2 coordinator deadline flake.
run_target() {
  if go test -run='^$' -fuzz="^$2\$" -fuzztime="$fuzztime" "$1" >"$log" 2>&1; then
    cat "$log"
    return 0
  fi
  cat "$log"
  if grep -q 'context deadline exceeded' "$log" &&
    ! grep -q 'Failing input written\|panic:\|_test.go:[0-9]*:' "$log"; then
    return 2
  fi
  return 1
}

passed=0 failed=0 flaked=0
while read -r pkg dir; do
  [ -n "$dir" ] || continue
  shopt -s nullglob
  files=("$dir"/*_test.go)
  shopt -u nullglob
  [ ${#files[@]} -gt 0 ] || continue
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*(' "${files[@]}" | sed 's/^func //; s/($//' | sort -u); do
    echo "--- fuzz $pkg $target ($fuzztime)"
    rc=0
    run_target "$pkg" "$target" || rc=$?
    if [ "$rc" = 2 ]; then
      echo "--- fuzz $target: coordinator deadline flake (golang/go#75804), retrying once"
      rc=0
      run_target "$pkg" "$target" || rc=$?
    fi
    case $rc in
      0) passed=$((passed + 1)) ;;
      2) flaked=$((flaked + 1)); echo "--- fuzz $target: deadline flake again, no failing input; tolerated" ;;
      *) failed=$((failed + 1)); echo "--- FAIL fuzz $pkg $target" ;;
    esac
  done
done < <(go list -f '{{.ImportPath}} {{.Dir}}' ${FUZZ_PKGS:-./...})
echo "fuzz: $passed passed, $failed failed, $flaked tolerated deadline flakes"
[ "$failed" = 0 ]
