#!/usr/bin/env bash
# bench/run.sh [BUILD_DIR] [all|api|scale|pods|net]: benchmarks (`make bench`: all).
#
# api: starts a fresh skiff server (HTTPS, client-certificate auth) on
# loopback and drives it with bench_api_load at 1, 16 and 64 clients:
# ConfigMap create/get/update, fill 10,000 pods, list them, watch fan-out,
# RSS. Then the baselines on the same disk: etcd 3.4 (Debian etcd-server)
# through its v3 JSON gateway with the same write load, and raw SQLite
# inserts (bench_store_raw). Prints a table with ratios and targets and
# saves it to bench/results/api-<date>.txt. BENCH_SECS sets the length of
# each timed phase.
#
# scale (bench/scale.sh): skiff server with 100 hollow nodes, 100
# Deployments x 100 replicas; seconds until all 10,000 pods Running, pods
# bound per second, API p99 during the run, server RSS; saved to
# bench/results/scale-<date>.txt.
#
# pods (bench/pods.sh, root only, else skipped): a skiff server and a real
# node agent in a network namespace of their own; 100 hello pods on one
# node, create -> Ready p50/p99 beside raw `crun run` of the same rootfs,
# agent RSS; saved to bench/results/pods-<date>.txt.
#
# net (bench/net.sh, root only, else skipped): wrk through a ClusterIP and
# a NodePort vs directly to a pod, side by side, on a real node in a
# network namespace; the service proxy's sync time for 1,000 services x 10
# endpoints (bench_net_sync); saved to bench/results/net-<date>.txt.
#
# Everything binds 127.0.0.1 and is removed on exit, failure included.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=all
case ${1:-} in all | api | scale | pods | net) [[ -d $1 ]] || { MODE=$1; shift; } ;; esac
BUILD=$(cd "${1:-$ROOT/build}" && pwd) || { echo "bench: no build dir ${1:-}" >&2; exit 2; }
MODE=${2:-$MODE}
case $MODE in
all | api | scale | pods | net) ;;
*) echo "usage: bench/run.sh [BUILD_DIR] [all|api|scale|pods|net]" >&2; exit 2 ;;
esac
SECS=${BENCH_SECS:-3}
PODS=${BENCH_PODS:-10000}
WATCHERS=${BENCH_WATCHERS:-100}
WRITES=${BENCH_WRITES:-1000}
SKIFF=$BUILD/skiff
ETCD=${ETCD:-/usr/bin/etcd}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/skiff-bench.XXXXXX")
RES=$TMP/results.txt
: >"$RES"
PIDS=()

cleanup() {
    local p
    [[ $(type -t pods_cleanup) == function ]] && pods_cleanup
    [[ $(type -t net_cleanup) == function ]] && net_cleanup
    for p in "${PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

# stop_pid PID: TERM, wait, KILL after 5 s; forgets PID so that cleanup never
# signals a number the system may have reused.
stop_pid() {
    local p=$1 keep=() q
    kill -TERM "$p" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    for q in "${PIDS[@]}"; do [[ $q == "$p" ]] || keep+=("$q"); done
    PIDS=("${keep[@]}")
}
trap 'exit 130' INT TERM

say() { printf '%s\n' "bench: $*" >&2; }

# Finds the bench tools in the build dir; builds them from bench/ alone if
# the top-level build does not include bench/ yet.
find_tools() {
    LOAD=$BUILD/bench/bench_api_load
    RAW=$BUILD/bench/bench_store_raw
    SCALE=$BUILD/bench/bench_scale_load
    PODSLOAD=$BUILD/bench/bench_pods_load
    NETSYNC=$BUILD/bench/bench_net_sync # whole-project builds only; net.sh copes without
    [[ -x $LOAD && -x $RAW && -x $SCALE && -x $PODSLOAD ]] && return 0
    say "bench tools not in $BUILD/bench; building them standalone"
    cmake -S "$ROOT/bench" -B "$BUILD/bench-standalone" -DCMAKE_BUILD_TYPE=Release >/dev/null &&
        cmake --build "$BUILD/bench-standalone" -j2 >/dev/null || return 1
    LOAD=$BUILD/bench-standalone/bench/bench_api_load
    RAW=$BUILD/bench-standalone/bench/bench_store_raw
    SCALE=$BUILD/bench-standalone/bench/bench_scale_load
    PODSLOAD=$BUILD/bench-standalone/bench/bench_pods_load
}

free_port() {
    local p
    for _ in $(seq 100); do
        p=$((20000 + RANDOM % 30000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
    done
    return 1
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo ""; }

# note KEY VALUE: a measurement that is not a RESULT line of bench_api_load.
note() { echo "RESULT target=$1 op=$2 conc=1 value=$3" >>"$RES"; }

# load ARGS...: runs bench_api_load, keeps its RESULT lines, shows progress.
load() {
    local out rc
    out=$("$LOAD" "$@" 2>"$TMP/load.err")
    rc=$?
    [[ -n $out ]] && { echo "$out" >>"$RES"; echo "$out" | sed 's/^RESULT /  /' >&2; }
    if ((rc != 0)) || [[ -s $TMP/load.err ]]; then
        sed 's/^/  ! /' "$TMP/load.err" >&2
    fi
    return $rc
}

wait_until() { # wait_until SECONDS PID CMD...: polls CMD while PID lives
    local secs=$1 pid=$2 i
    shift 2
    for ((i = 0; i < secs * 10; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

bench_skiff() {
    local port data pid url
    [[ -x $SKIFF ]] || { say "no $SKIFF"; return 1; }
    port=$(free_port) || return 1
    data=$TMP/skiff
    url=https://127.0.0.1:$port
    say "skiff server on $url (data $data)"
    "$SKIFF" server --data-dir "$data" --port "$port" --disable-agent --disable-controllers all --disable-scheduler >"$TMP/skiff.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    # skiff writes the PKI before it listens. /readyz is asked with the admin
    # certificate: at the time of writing skiff answers anonymous probes 401.
    if ! wait_until 30 "$pid" curl -sf --max-time 2 --cacert "$data/pki/ca.crt" \
        --cert "$data/pki/admin.crt" --key "$data/pki/admin.key" "$url/readyz"; then
        say "skiff did not become ready; log:"
        tail -n 30 "$TMP/skiff.log" >&2
        return 1
    fi
    sleep 3
    note skiff rss-idle "$(rss_kb "$pid")"
    local tls=(--target skiff --url "$url" --ca "$data/pki/ca.crt" --cert "$data/pki/admin.crt"
               --key "$data/pki/admin.key" --pid "$pid")
    for c in 1 16 64; do
        load "${tls[@]}" --op crud --ns bench --conc "$c" --secs "$SECS" --tag "c$c"
    done
    load "${tls[@]}" --op fill --ns bench --conc 64 --count "$PODS" --secs 120
    note skiff rss-pods "$(rss_kb "$pid")"
    load "${tls[@]}" --op list --ns bench --reps 5 --limit 500
    note skiff rss-after-list "$(rss_kb "$pid")"
    load "${tls[@]}" --op watch --ns bench-watch --conc 16 --watchers "$WATCHERS" \
        --writes "$WRITES" --tag w
    kill -0 "$pid" 2>/dev/null || { say "skiff died; log:"; tail -n 30 "$TMP/skiff.log" >&2; }
    stop_pid "$pid"
    return 0
}

bench_etcd() {
    local cport pport pid url
    [[ -x $ETCD ]] || { say "no $ETCD; skipping the etcd baseline"; return 1; }
    cport=$(free_port) && pport=$(free_port) || return 1
    url=http://127.0.0.1:$cport
    say "etcd on $url (data $TMP/etcd)"
    "$ETCD" --name bench --data-dir "$TMP/etcd" \
        --listen-client-urls "$url" --advertise-client-urls "$url" \
        --listen-peer-urls "http://127.0.0.1:$pport" \
        --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
        --initial-cluster "bench=http://127.0.0.1:$pport" \
        --log-level error >"$TMP/etcd.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    if ! wait_until 30 "$pid" curl -sf --max-time 2 "$url/health"; then
        say "etcd did not become healthy; log:"
        tail -n 30 "$TMP/etcd.log" >&2
        return 1
    fi
    sleep 3
    note etcd rss-idle "$(rss_kb "$pid")"
    for c in 1 16 64; do
        load --target etcd --url "$url" --pid "$pid" --op crud --ns bench --conc "$c" --secs "$SECS" --tag "c$c"
    done
    note etcd rss-loaded "$(rss_kb "$pid")"
    stop_pid "$pid"
}

# bench_sqlite WHEN: raw SQLite baseline. Run before and after the servers:
# fsync cost on a shared disk drifts, and the pair shows by how much.
bench_sqlite() {
    local out
    say "raw SQLite inserts (WAL, synchronous=FULL) in $TMP ($1)"
    out=$("$RAW" "$TMP" 1000) || return 1
    echo "$out" | sed 's/^/  /' >&2
    note sqlite "insert-1-$1" "$(echo "$out" | awk '/1 per txn/ {print $3}')"
    note sqlite "insert-64-$1" "$(echo "$out" | awk '/64 per txn/ {print $3}')"
}

# v TARGET OP CONC FIELD: one figure from the RESULT lines, or empty.
v() {
    awk -v t="$1" -v o="$2" -v c="$3" -v f="$4" '
        $1 == "RESULT" {
            split("", kv)
            for (i = 2; i <= NF; i++) { j = index($i, "="); kv[substr($i, 1, j - 1)] = substr($i, j + 1) }
            if (kv["target"] == t && kv["op"] == o && kv["conc"] == c && (f in kv)) { print kv[f]; exit }
        }' "$RES"
}

# fmt VALUE SCALE DECIMALS: number or "-".
fmt() { [[ -n $1 ]] && awk -v x="$1" -v s="$2" -v d="$3" 'BEGIN { printf "%.*f", d, x / s }' || echo "-"; }
ratio() { [[ -n $1 && -n $2 ]] && awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }' || echo "-"; }
# target VALUE OP LIMIT LABEL: "PASS <label>" / "MISS <label>" / "".
target() {
    [[ -n $1 ]] || { echo "n/a $4"; return; }
    awk -v x="$1" -v op="$2" -v l="$3" -v lab="$4" 'BEGIN {
        ok = (op == ">=") ? x >= l : x < l; printf "%s %s", ok ? "PASS" : "MISS", lab }'
}

row() { printf '%-30s %14s %14s %10s  %s\n' "$@"; }

table() {
    local c rate p50 p99 e50 e99 erate
    echo "skiff API server benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "host: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
         "data on $(df -T "$TMP" | awk 'NR==2 {print $2" "$1}'); skiff over HTTPS (client cert)," \
         "etcd $("$ETCD" --version 2>/dev/null | awk '/etcd Version/ {print $3}') over plain HTTP" \
         "JSON gateway; ${SECS}s per timed phase; latencies in ms"
    echo
    row "metric" "skiff" "baseline" "ratio" "target / notes"
    for op in create get update; do
        for c in 1 16 64; do
            rate=$(v skiff "$op" "$c" rate); erate=$(v etcd "$op" "$c" rate)
            local tgt=""
            [[ $op == create && $c == 64 ]] && tgt="$(target "$rate" ">=" 5000 ">= 5000/s");"
            tgt+=" cpu $(fmt "$(v skiff "$op" "$c" server_cpu)" 1 2)+$(fmt "$(v skiff "$op" "$c" client_cpu)" 1 2)"
            tgt+=" / $(fmt "$(v etcd "$op" "$c" server_cpu)" 1 2)+$(fmt "$(v etcd "$op" "$c" client_cpu)" 1 2)"
            row "$op/s @$c" "$(fmt "$rate" 1 0)" "$(fmt "$erate" 1 0)" "$(ratio "$rate" "$erate")" "$tgt"
            p50=$(v skiff "$op" "$c" p50_ms); p99=$(v skiff "$op" "$c" p99_ms)
            e50=$(v etcd "$op" "$c" p50_ms); e99=$(v etcd "$op" "$c" p99_ms)
            tgt=""
            [[ $op == create && $c == 64 ]] && tgt=$(target "$p99" "<" 5 "p99 < 5 ms")
            row "  p50 / p99 @$c" "$(fmt "$p50" 1 2) / $(fmt "$p99" 1 2)" \
                "$(fmt "$e50" 1 2) / $(fmt "$e99" 1 2)" "$(ratio "$p99" "$e99")" "$tgt"
        done
    done
    local s1 s1b s64 s64b best
    s1=$(v sqlite insert-1-first 1 value); s1b=$(v sqlite insert-1-last 1 value)
    s64=$(v sqlite insert-64-first 1 value); s64b=$(v sqlite insert-64-last 1 value)
    best=$(v skiff create 64 rate)
    row "sqlite raw insert/s, 1/txn" "$(fmt "$best" 1 0)" "$(fmt "$s1" 1 0)" "$(ratio "$best" "$s1")" \
        "skiff col: create/s @64; sqlite at start (at end: $(fmt "$s1b" 1 0)/s)"
    row "sqlite raw insert/s, 64/txn" "$(fmt "$best" 1 0)" "$(fmt "$s64" 1 0)" "$(ratio "$best" "$s64")" \
        "at end: $(fmt "$s64b" 1 0)/s"
    local l lp items
    l=$(v skiff list 1 median_ms); lp=$(v skiff list-paged 1 median_ms); items=$(v skiff list 1 items)
    row "fill pods/s @64" "$(fmt "$(v skiff fill-pods 64 rate)" 1 0)" "" "" \
        "$(v skiff fill-pods 64 ops) created, $(v skiff fill-pods 64 errors) errors"
    row "list ${items:-?} pods, ms (med of 5)" "$(fmt "$l" 1 1)" "" "" "$(target "$l" "<" 150 "< 150 ms")"
    row "  limit=500 paged, ms" "$(fmt "$lp" 1 1)" "" "" "$(v skiff list-paged 1 pages) pages"
    row "  response size, MB" "$(fmt "$(v skiff list 1 bytes)" 1048576 1)" "" "" ""
    local wsecs wrate wc
    wsecs=$(v skiff watch 16 secs); wrate=$(v skiff watch 16 rate); wc=$(v skiff watch 16 complete)
    row "watch ${WATCHERS}x${WRITES}: ms to all" "$(fmt "$wsecs" 0.001 0)" "" "" \
        "${wc:-?}/$WATCHERS watchers got every event"
    row "  events/s delivered" "$(fmt "$wrate" 1 0)" "" "" \
        "writes $(fmt "$(v skiff watch-writes 16 rate)" 1 0)/s @16"
    local ri ei
    ri=$(v skiff rss-idle 1 value); ei=$(v etcd rss-idle 1 value)
    row "RSS idle, MB" "$(fmt "$ri" 1024 1)" "$(fmt "$ei" 1024 1)" "$(ratio "$ri" "$ei")" \
        "$(target "$ri" "<" $((15 * 1024)) "< 15 MB")"
    row "RSS with ${PODS} pods, MB" "$(fmt "$(v skiff rss-pods 1 value)" 1024 1)" \
        "$(fmt "$(v etcd rss-loaded 1 value)" 1024 1)" "" "baseline: etcd after its write load"
    row "  after the lists, MB" "$(fmt "$(v skiff rss-after-list 1 value)" 1024 1)" "" "" ""
    local errs
    errs=$(awk '$1 == "RESULT" { for (i = 2; i <= NF; i++) if ($i ~ /^errors=/) { split($i, a, "="); n += a[2] } }
                END { print n + 0 }' "$RES")
    echo
    echo "baseline is etcd except in the sqlite rows. ratio = skiff/baseline: throughput rows higher is"
    echo "better for skiff, latency rows compare p99 (lower is better)."
    echo "cpu S+C / S+C: cores used by server + load generator during the phase, skiff / etcd"
    echo "(the machine has $(nproc); client and server share them)."
    echo "request errors across all phases: $errs (see messages above)"
}

# shellcheck source=bench/scale.sh
source "$ROOT/bench/scale.sh"
# shellcheck source=bench/pods.sh
source "$ROOT/bench/pods.sh"
# shellcheck source=bench/net.sh
source "$ROOT/bench/net.sh"

run_api() {
    local t0 ok=0 out
    t0=$(date +%s)
    bench_sqlite first
    bench_skiff && ok=1
    bench_etcd
    bench_sqlite last
    out=$ROOT/bench/results/api-$(date +%Y%m%d-%H%M%S).txt
    {
        table
        echo "total bench time: $(($(date +%s) - t0)) s"
    } | tee "$out"
    echo "saved $out" >&2
    ((ok))
}

run_scale() {
    local t0 rc out
    t0=$(date +%s)
    bench_scale
    rc=$?
    out=$ROOT/bench/results/scale-$(date +%Y%m%d-%H%M%S).txt
    {
        scale_table
        echo "total bench time: $(($(date +%s) - t0)) s"
    } | tee "$out"
    echo "saved $out" >&2
    return $rc
}

run_pods() {
    local t0 rc out
    t0=$(date +%s)
    bench_pods
    rc=$?
    [[ -n $PODS_SKIPPED ]] && return 0
    out=$ROOT/bench/results/pods-$(date +%Y%m%d-%H%M%S).txt
    {
        pods_table
        echo "total bench time: $(($(date +%s) - t0)) s"
    } | tee "$out"
    echo "saved $out" >&2
    return $rc
}

run_net() {
    local t0 rc out
    t0=$(date +%s)
    bench_net
    rc=$?
    [[ -n $NET_SKIPPED ]] && return 0
    out=$ROOT/bench/results/net-$(date +%Y%m%d-%H%M%S).txt
    {
        net_table
        echo "total bench time: $(($(date +%s) - t0)) s"
    } | tee "$out"
    echo "saved $out" >&2
    return $rc
}

find_tools || { say "cannot build the bench tools"; exit 1; }
mkdir -p "$ROOT/bench/results"
fail=0
if [[ $MODE == all || $MODE == api ]]; then run_api || fail=1; fi
[[ $MODE == all ]] && echo
if [[ $MODE == all || $MODE == scale ]]; then run_scale || fail=1; fi
[[ $MODE == all ]] && echo
if [[ $MODE == all || $MODE == pods ]]; then run_pods || fail=1; fi
[[ $MODE == all ]] && echo
if [[ $MODE == all || $MODE == net ]]; then run_net || fail=1; fi
exit $fail
