# shellcheck shell=bash
# bench/scale.sh: the control-plane scale part of bench/run.sh (sourced by
# it; uses its helpers say, free_port, wait_until, stop_pid, fmt, target, PIDS,
# TMP, SKIFF, SCALE).
#
# One `skiff server --hollow-nodes N --disable-agent` on loopback (API
# server, controllers, scheduler and the hollow nodes all in that process),
# then bench_scale_load: D Deployments x R replicas POSTed at once, pods
# watched until all Running. Sizes: BENCH_SCALE_NODES / _DEPLOYMENTS /
# _REPLICAS (default 100 / 100 / 100), BENCH_SCALE_TIMEOUT (90 s).

SCALE_NODES=${BENCH_SCALE_NODES:-100}
SCALE_DEPLOYMENTS=${BENCH_SCALE_DEPLOYMENTS:-100}
SCALE_REPLICAS=${BENCH_SCALE_REPLICAS:-100}
SCALE_TIMEOUT=${BENCH_SCALE_TIMEOUT:-90}
SRES=$TMP/scale-results.txt

bench_scale() {
    local port data pid url rc
    : >"$SRES"
    [[ -x $SKIFF ]] || { say "no $SKIFF"; return 1; }
    port=$(free_port) || return 1
    data=$TMP/skiff-scale
    url=https://127.0.0.1:$port
    say "skiff server --hollow-nodes $SCALE_NODES on $url (data $data)"
    "$SKIFF" server --data-dir "$data" --port "$port" --disable-agent \
        --hollow-nodes "$SCALE_NODES" >"$TMP/skiff-scale.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    if ! wait_until 30 "$pid" curl -sf --max-time 2 --cacert "$data/pki/ca.crt" \
        --cert "$data/pki/admin.crt" --key "$data/pki/admin.key" "$url/readyz"; then
        say "skiff did not become ready; log:"
        tail -n 30 "$TMP/skiff-scale.log" >&2
        return 1
    fi
    say "$SCALE_DEPLOYMENTS deployments x $SCALE_REPLICAS replicas on $SCALE_NODES hollow nodes"
    SCALE_LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
    "$SCALE" --url "$url" --ca "$data/pki/ca.crt" --cert "$data/pki/admin.crt" \
        --key "$data/pki/admin.key" --pid "$pid" --nodes "$SCALE_NODES" \
        --deployments "$SCALE_DEPLOYMENTS" --replicas "$SCALE_REPLICAS" \
        --timeout "$SCALE_TIMEOUT" >"$SRES"
    rc=$?
    SCALE_LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
    if ! kill -0 "$pid" 2>/dev/null; then
        say "skiff died; log:"
        tail -n 30 "$TMP/skiff-scale.log" >&2
        rc=1
    fi
    stop_pid "$pid"
    # Warnings the server logged (dropped events and the like), shutdown
    # included, and the scheduler's own count.
    grep -v '^I' "$TMP/skiff-scale.log" | head -n 20 >"$TMP/scale-warnings.txt"
    grep -m1 'scheduler: bound' "$TMP/skiff-scale.log" | sed 's/^[^ ]* [^ ]* //' >"$TMP/scale-sched.txt"
    return $rc
}

# sv KEY: one field of the scale RESULT line, or empty.
sv() {
    awk -v f="$1" '$1 == "RESULT" && / op=scale / {
        for (i = 2; i <= NF; i++) { j = index($i, "="); if (substr($i, 1, j - 1) == f) { print substr($i, j + 1); exit } }
    }' "$SRES"
}

# Upstream figures quoted beside ours. scheduler_perf measures kube-scheduler
# alone (pods POSTed by the test, no controllers or kubelets) on a large CI
# machine; ours is the whole control plane plus 100 simulated nodes in one
# process on $(nproc) cores.
UP_PERF="kubernetes/kubernetes test/integration/scheduler_perf"
UP_SLO="kubernetes/community sig-scalability/slos"

srow() { printf '%-34s %12s  %-18s %s\n' "$@"; }

scale_table() {
    local want running secs bind peak rss hwm nodes
    want=$(sv want); running=$(sv running); secs=$(sv secs_all_running)
    bind=$(sv bind_rate); peak=$(sv bind_peak); rss=$(sv rss_kb); hwm=$(sv hwm_kb)
    nodes=$(sv nodes)
    [[ $secs == -1* ]] && secs=""
    echo "skiff control-plane scale benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "host: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo);" \
         "one skiff server process (API server, controllers, scheduler"
    echo "and ${nodes:-?} hollow nodes) over HTTPS; ${SCALE_DEPLOYMENTS} Deployments x ${SCALE_REPLICAS} replicas" \
         "(requests cpu 10m,"
    echo "memory 32Mi) POSTed at once. Times are when the load generator saw each transition on"
    echo "its pod watch, counted from the first Deployment POST. Load average before / after:"
    echo "${SCALE_LOAD_BEFORE:-?} / ${SCALE_LOAD_AFTER:-?} (other work on this machine shares the cores)."
    echo
    srow "metric" "skiff" "target" "upstream reference"
    srow "pods Running" "${running:-0}/${want:-?}" "" ""
    srow "all pods Running, s" "$(fmt "$secs" 1 1)" "$(target "$secs" "<" 30 "< 30 s")" \
      "SLO: pod startup p99 <= 5 s (created->Running)"
    srow "pods bound/s, first->last" "$(fmt "$bind" 1 0)" "$(target "$bind" ">=" 1000 ">= 1000/s")" \
      "scheduler_perf SchedulingBasic/5000Nodes_10000Pods"
    srow "  peak in 1 s" "$peak" "" \
      "  threshold: 270 pods/s when set (PR #126871, 2024),"
    srow "  end to end (bound/last bind)" "$(fmt "$(sv bind_e2e)" 1 0)" "" \
      "  680 pods/s in misc/performance-config.yaml now"
    srow "pods created/s (ReplicaSets)" "$(fmt "$(sv create_rate)" 1 0)" "" \
      "peak $(sv create_peak)/1 s; kube-controller-manager: 20 QPS"
    srow "pods Running/s" "$(fmt "$(sv run_rate)" 1 0)" "" \
      "peak $(sv run_peak)/1 s; 5000-node e2e: ~100 pods/s"
    srow "created->bound p50/p99, ms" "$(sv sched_p50_ms) / $(sv sched_p99_ms)" "" \
      "all created at $(fmt "$(sv secs_all_created)" 1 1) s"
    srow "API probe GET p50/p99, ms" "$(sv probe_p50_ms) / $(sv probe_p99_ms)" \
      "$(target "$(sv probe_p99_ms)" "<" 1000 "p99 <= 1 s")" \
      "SLO: single-object read p99 <= 1 s"
    srow "  max, ms / idle p50, ms" "$(sv probe_max_ms) / $(sv probe_idle_p50_ms)" "" \
      "$(sv probe_n) GETs every 50 ms, $(sv probe_errs) errors"
    srow "Deployment POST p50/p99, ms" "$(sv post_p50_ms) / $(sv post_p99_ms)" "" \
      "$(sv post_errs) errors; all POSTed in $(fmt "$(sv secs_post)" 1 2) s"
    local dr
    dr=$(sv secs_deploy_ready); [[ $dr == -1* ]] && dr=""
    srow "all Deployments Available, s" "$(fmt "$dr" 1 1)" "" "status.availableReplicas = replicas"
    srow "pods per node min/max" "$(sv node_min) / $(sv node_max)" "" \
      "$(sv nodes_used) nodes used, $(sv nodes_over_110) over 110"
    srow "server RSS at end, MB" "$(fmt "$rss" 1024 0)" "$(target "$rss" "<" $((300 * 1024)) "< 300 MB")" \
      "peak (VmHWM) $(fmt "$hwm" 1024 0) MB, $(sv threads) threads"
    srow "cores used, server + client" "$(sv srv_cores) + $(sv cli_cores)" "" "of $(nproc)"
    srow "pod watch events / MB" "$(sv events) / $(sv watch_mb)" "" \
      "$(sv watch_restarts) restarts, $(sv relists) relists"
    echo
    echo "Sources: $UP_PERF/misc/performance-config.yaml and"
    echo "README.md (threshold = lowest average SchedulingThroughput the CI accepts: kube-scheduler"
    echo "alone against an in-process API server, 5000 fake nodes, pods POSTed by the test, no"
    echo "controllers or kubelets; the 5000Nodes_10000Pods case of that file); kubernetes/kubernetes"
    echo "#74041 (100 pods/s average scheduling in 5000-node clusterloader2 runs, 2019, capped by the"
    echo "test's 100 QPS); kube-controller-manager --kube-api-qps default 20 (burst 30) and"
    echo "kube-scheduler 50 (burst 100) throttle a default upstream control plane far below these"
    echo "rates; $UP_SLO/pod_startup_latency.md and api_call_latency.md."
    echo
    echo "per second: created / bound / Running (cumulative Running), worst probe ms"
    awk '$1 == "TIMELINE" {
        for (i = 2; i <= NF; i++) { j = index($i, "="); kv[substr($i, 1, j - 1)] = substr($i, j + 1) }
        printf "  %3ss %5s %5s %5s (%5s) %7s\n", kv["t"], kv["created"], kv["bound"], kv["running"],
               kv["total_running"], kv["probe_max_ms"] }' "$SRES"
    if [[ -s $TMP/scale-sched.txt ]]; then
        echo
        echo "server log: $(cat "$TMP/scale-sched.txt")"
    fi
    if [[ -s $TMP/scale-warnings.txt ]]; then
        echo
        echo "server warnings:"
        sed 's/^/  /' "$TMP/scale-warnings.txt"
    fi
}
