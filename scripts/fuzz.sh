#!/bin/sh
# Runs every libFuzzer target for N seconds on a copy of its corpus.
set -eu
BUILD="$1"; SECS="${2:-30}"
top=$(cd "$(dirname "$0")/.." && pwd)
status=0
for f in "$top"/fuzz/fuzz_*.c; do
    name=$(basename "$f" .c)
    work=$(mktemp -d)
    cp -r "$top/fuzz/corpus/$name/." "$work/" 2>/dev/null || true
    echo "== $name ($SECS s)"
    if ! "$BUILD/fuzz/$name" -max_total_time="$SECS" -max_len=65536 "$work" >"$work.log" 2>&1; then
        echo "$name: crash; see $work.log"; tail -30 "$work.log"; status=1
    else
        grep -E '^#[0-9]+.*DONE' "$work.log" | tail -1 || true
        rm -f "$work.log"
    fi
    rm -rf "$work"
done
exit $status
