#!/usr/bin/env bash
# `make bench`: runs every benchmark binary built from tests/bench/ and prints its table.
set -euo pipefail
build="${1:-build}"
echo "tandem benchmarks on $(nproc) cores, $(date -u +%FT%TZ)"
found=0
for b in "$build"/tests/bench/bench_*; do
  [ -x "$b" ] || continue
  found=1
  echo "== $(basename "$b")"
  "$b"
done
[ "$found" = 1 ] || { echo "no benchmarks built in $build/tests/bench" >&2; exit 1; }
