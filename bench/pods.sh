# shellcheck shell=bash
# bench/pods.sh: the node-agent pod-startup part of bench/run.sh (sourced by
# it; uses its helpers say, wait_until, stop_pid, rss_kb, fmt, ratio, target,
# TMP, SKIFF, PODSLOAD). Needs root, crun, nsenter and unshare; without them
# it prints why and is skipped (the mode still succeeds).
#
# A test host: network namespace skiff-bench-<pid> with lo up and one
# address 192.168.214.2/24 on a link whose default route leads nowhere
# (dummy0, or a veth pair with both ends inside when the kernel has no
# dummy links), so nothing leaves it. Inside it, via nsenter --net (not
# `ip netns exec`, whose throwaway mount namespace the agent would pin):
# `skiff server --disable-agent` on 127.0.0.1:6443 and a separate
# `skiff agent` for node bench-node (its RSS is the agent's alone), pods
# under the cgroup /skiff-bench-<pid>. Then bench_pods_load:
#   single: 1 pod of the hello image alone, created -> Ready -> deleted, x5
#   raw:    the same image's layers run by plain crun (pods_raw.c), x5,
#           then 100 at once
#   load:   100 pods at once (4 concurrent creators), create -> Ready
#           p50/p99, first create -> last Ready, agent RSS, then deletion.
# The raw and load batches run BENCH_PODS_ROUNDS (3) times, ABBA order;
# the table shows medians.
# BENCH_AGENT_ENV adds environment to the agent's command (e.g. MALLOC_CONF=...),
# BENCH_AGENT_ARGS arguments (e.g. -v for its per-step debug timings), and
# BENCH_PODS_LOGS=DIR keeps the server's and agent's logs there.
# Sizes: BENCH_PODS_COUNT (100), BENCH_PODS_REPS (5), BENCH_PODS_CONC (4),
# BENCH_PODS_TIMEOUT (120 s per phase). Saved by run.sh to
# bench/results/pods-<date>.txt. Everything is removed on exit, failure
# included (pods_cleanup, called from run.sh's cleanup too).

PODS_COUNT=${BENCH_PODS_COUNT:-100}
PODS_REPS=${BENCH_PODS_REPS:-5}
# the node agent runs 12 pod workers: the raw batch uses as many threads
PODS_RAW_PARALLEL=${BENCH_PODS_RAW_PARALLEL:-12}
PODS_CONC=${BENCH_PODS_CONC:-4}
PODS_TIMEOUT=${BENCH_PODS_TIMEOUT:-120}
PODS_ROUNDS=${BENCH_PODS_ROUNDS:-3}
PODS_IMAGE=gcr.io/google-samples/kubernetes-bootcamp:v1
PODS_NODE=bench-node
PODS_NS=skiff-bench-$$
PODS_CG=/skiff-bench-$$
PODS_RAWCG=/skiff-bench-raw-$$
PODS_DIR=$TMP/pods
PRES=$TMP/pods-results.txt
PODS_SKIPPED=""
PODS_SERVER_PID=""
PODS_AGENT_PID=""
PODS_UP=0 # the netns exists

# in_ns CMD...: runs CMD in the bench network namespace.
in_ns() { nsenter --net="/run/netns/$PODS_NS" "$@"; }

pods_curl() {
    in_ns curl -sf --max-time 5 --cacert "$PODS_DIR/server/pki/ca.crt" \
        --cert "$PODS_DIR/server/pki/admin.crt" --key "$PODS_DIR/server/pki/admin.key" "$@"
}

# pods_stop PID: TERM, up to 15 s (the agent stops its workers), KILL.
pods_stop() {
    local p=$1
    [[ -n $p ]] || return 0
    kill -TERM "$p" 2>/dev/null
    for _ in $(seq 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
}

# Idempotent; also run from run.sh's EXIT trap.
pods_cleanup() {
    ((PODS_UP)) || return 0
    if [[ -n $PODS_SERVER_PID && -n $PODS_AGENT_PID ]] && kill -0 "$PODS_AGENT_PID" 2>/dev/null; then
        pods_curl -X DELETE "https://127.0.0.1:6443/api/v1/namespaces/pods-bench/pods" >/dev/null 2>&1
    fi
    pods_stop "$PODS_AGENT_PID"
    PODS_AGENT_PID=""
    pods_stop "$PODS_SERVER_PID"
    PODS_SERVER_PID=""
    if [[ -n ${BENCH_PODS_LOGS:-} ]]; then
        mkdir -p "$BENCH_PODS_LOGS" && cp -f "$PODS_DIR"/*.log "$BENCH_PODS_LOGS"/ 2>/dev/null
    fi
    if [[ -d $PODS_DIR/agent ]]; then
        in_ns "$SKIFF" cleanup --data-dir "$PODS_DIR/agent" --cgroup-parent "$PODS_CG" \
            >>"$PODS_DIR/cleanup.log" 2>&1 || say "skiff cleanup failed: $(tail -n 3 "$PODS_DIR/cleanup.log")"
    fi
    local id h
    if [[ -d $PODS_DIR/crunroot ]]; then
        for id in $(crun --root "$PODS_DIR/crunroot" list -q 2>/dev/null); do
            crun --root "$PODS_DIR/crunroot" delete -f "$id" >/dev/null 2>&1
        done
    fi
    for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
        rmdir "$h${PODS_RAWCG#/}" "$h${PODS_CG#/}" 2>/dev/null
    done
    ip netns del "$PODS_NS" 2>/dev/null
    PODS_UP=0
    rm -rf "$PODS_DIR"
}

pods_netns() {
    ip netns add "$PODS_NS" || return 1
    PODS_UP=1
    ip -n "$PODS_NS" link set lo up || return 1
    local dev=dummy0
    if ! ip -n "$PODS_NS" link add dummy0 type dummy 2>/dev/null; then
        # No dummy links in this kernel: a veth pair with both ends inside.
        dev=eth0
        ip -n "$PODS_NS" link add eth0 type veth peer name eth0-peer || return 1
        ip -n "$PODS_NS" link set eth0-peer up || return 1
    fi
    ip -n "$PODS_NS" addr add 192.168.214.2/24 dev "$dev" &&
        ip -n "$PODS_NS" link set "$dev" up &&
        ip -n "$PODS_NS" route add default via 192.168.214.1 dev "$dev" onlink
}

# pods_load ARGS...: bench_pods_load against the bench server; key value
# lines to $PRES, messages to stderr.
pods_load() {
    in_ns "$PODSLOAD" --url https://127.0.0.1:6443 --ca "$PODS_DIR/server/pki/ca.crt" \
        --cert "$PODS_DIR/server/pki/admin.crt" --key "$PODS_DIR/server/pki/admin.key" \
        --node "$PODS_NODE" --image "$PODS_IMAGE" --timeout "$PODS_TIMEOUT" \
        --agent-pid "$PODS_AGENT_PID" --server-pid "$PODS_SERVER_PID" "$@" >>"$PRES"
}

pods_node_cidr() {
    pods_curl "https://127.0.0.1:6443/api/v1/nodes/$PODS_NODE" | grep -q '"podCIDR"'
}

pods_log_tail() {
    say "$1 log:"
    tail -n 30 "$2" >&2
}

pods_start() {
    local url=https://127.0.0.1:6443
    mkdir -p "$PODS_DIR" || return 1
    say "netns $PODS_NS: skiff server on $url, skiff agent for node $PODS_NODE"
    # nsenter execs the command, so $! is skiff's own pid (in_ns would
    # background a subshell).
    nsenter --net="/run/netns/$PODS_NS" "$SKIFF" server --data-dir "$PODS_DIR/server" --port 6443 --disable-agent \
        >"$PODS_DIR/server.log" 2>&1 &
    PODS_SERVER_PID=$!
    if ! wait_until 30 "$PODS_SERVER_PID" pods_curl "$url/readyz"; then
        pods_log_tail "server" "$PODS_DIR/server.log"
        return 1
    fi
    nsenter --net="/run/netns/$PODS_NS" env ${BENCH_AGENT_ENV:-} "$SKIFF" agent --kubeconfig "$PODS_DIR/server/kubeconfig" --node-name "$PODS_NODE" \
        --data-dir "$PODS_DIR/agent" --cgroup-parent "$PODS_CG" ${BENCH_AGENT_ARGS:-} >"$PODS_DIR/agent.log" 2>&1 &
    PODS_AGENT_PID=$!
    # Ready with a podCIDR (the node IPAM controller's /24): CNI needs it.
    if ! wait_until 60 "$PODS_AGENT_PID" pods_node_cidr; then
        pods_log_tail "agent" "$PODS_DIR/agent.log"
        return 1
    fi
    # The load tool's setup waits for Ready=True.
    pods_load --count 0 --single-reps 0 >/dev/null || { pods_log_tail "agent" "$PODS_DIR/agent.log"; return 1; }
    sleep 3
    echo "agent_rss_idle_kb $(rss_kb "$PODS_AGENT_PID")" >>"$PRES"
    echo "server_rss_idle_kb $(rss_kb "$PODS_SERVER_PID")" >>"$PRES"
}

# The same image's layers, unpacked by the agent for the single-pod runs,
# run by plain crun in a mount namespace where crun works (node-environment
# §1: the cgroup2 `unified` mount hidden).
pods_raw() {
    local reps=$1 out lower args=() l
    out=$("$PODSLOAD" layers --images "$PODS_DIR/agent/images" --ref "$PODS_IMAGE") || return 1
    lower=$(sed -n 's/^lower //p' <<<"$out")
    while IFS= read -r l; do args+=(--arg "$l"); done < <(sed -n 's/^arg //p' <<<"$out")
    mkdir -p "$PODS_DIR/raw" "$PODS_DIR/crunroot"
    unshare -m --propagation slave sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' sh \
        "$PODSLOAD" raw --lower "$lower" --dir "$PODS_DIR/raw" --root "$PODS_DIR/crunroot" \
        --cgroup "$PODS_RAWCG" --reps "$reps" --port 8080 --batch "$PODS_COUNT" \
        --parallel "$PODS_RAW_PARALLEL" "${args[@]}" >>"$PRES"
}

# pods_settle: before each timed batch, lets the inodes freed by the phases
# before it age out. ext4 without a journal (these machines' root file
# system) skips, at every inode allocation, each inode freed in the last
# dirty_expire_centisecs (30 s), one block lookup per inode; right after the
# previous phase removed its hundreds of containers every mkdir of the next
# batch pays for them, so whichever batch runs second would be measured
# slower. BENCH_PODS_SETTLE=SECONDS overrides (0: no wait).
pods_settle() {
    local s=${BENCH_PODS_SETTLE:-} src fstype
    if [[ -z $s ]]; then
        s=0
        read -r fstype src < <(findmnt -n -o FSTYPE,SOURCE --target "$PODS_DIR" 2>/dev/null)
        if [[ $fstype == ext4 && $(cat "/sys/fs/ext4/${src##*/}/journal_task" 2>/dev/null) == "<none>" ]]; then
            s=$(($(cat /proc/sys/vm/dirty_expire_centisecs) / 100 + 1))
        fi
    fi
    ((s > 0)) || return 0
    say "settle ${s} s (inodes freed by the previous phase age out)"
    sleep "$s"
}

bench_pods() {
    local rc=0 t
    : >"$PRES"
    if ((EUID != 0)); then PODS_SKIPPED="needs root"; fi
    for t in crun nsenter unshare ip curl; do
        [[ -n $PODS_SKIPPED ]] || command -v "$t" >/dev/null || PODS_SKIPPED="needs $t"
    done
    [[ -n $PODS_SKIPPED || -x $SKIFF ]] || PODS_SKIPPED="no $SKIFF"
    if [[ -n $PODS_SKIPPED ]]; then
        echo "bench pods: $PODS_SKIPPED, skipped" >&2
        return 0
    fi
    PODS_LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
    if ! pods_netns; then
        say "cannot set up netns $PODS_NS"
        pods_cleanup
        return 1
    fi
    pods_start || rc=1
    if ((rc == 0)); then
        say "single pod x$PODS_REPS"
        pods_load --count 0 --single-reps "$PODS_REPS" || rc=1
    fi
    # Rounds of (raw batch, skiff batch), in ABBA order so that a machine
    # getting faster or slower during the run weighs on both alike; the
    # table reports medians over the rounds.
    local r reps=$PODS_REPS
    for ((r = 1; rc == 0 && r <= PODS_ROUNDS; r++)); do
        if ((r % 2 == 0)); then
            pods_settle
            say "round $r/$PODS_ROUNDS: $PODS_COUNT pods"
            pods_load --count "$PODS_COUNT" --single-reps 0 --conc "$PODS_CONC" || rc=1
        fi
        if ((rc == 0)); then
            pods_settle
            say "round $r/$PODS_ROUNDS: raw crun${reps:+ x$reps single,} $PODS_COUNT at once"
            pods_raw "$reps" || { say "raw crun floor failed"; rc=1; }
            reps=0
        fi
        if ((rc == 0 && r % 2 == 1)); then
            pods_settle
            say "round $r/$PODS_ROUNDS: $PODS_COUNT pods"
            pods_load --count "$PODS_COUNT" --single-reps 0 --conc "$PODS_CONC" || rc=1
        fi
    done
    if ! kill -0 "$PODS_AGENT_PID" 2>/dev/null; then
        pods_log_tail "agent (died)" "$PODS_DIR/agent.log"
        rc=1
    fi
    PODS_LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
    grep -v '^I' "$PODS_DIR/agent.log" 2>/dev/null | head -n 15 >"$TMP/pods-warnings.txt"
    pods_cleanup
    return $rc
}

# pv KEY: a value from the results (the last one), or empty.
pv() { awk -v k="$1" '$1 == k { v = $2 } END { print v }' "$PRES"; }
# pmed KEY: the median of KEY over the rounds, or empty.
pmed() {
    awk -v k="$1" '$1 == k { v[n++] = $2 } END { if (n) print v[int(n / 2)] }' \
        < <(awk -v k="$1" '$1 == k' "$PRES" | sort -k2 -g)
}
# pall KEY: every round's value, "a / b / c".
pall() { awk -v k="$1" '$1 == k { s = s (s == "" ? "" : " / ") $2 } END { print s }' "$PRES"; }

prow() { printf '%-36s %10s %10s %8s  %s\n' "$@"; }

pods_table() {
    echo "skiff node agent pod-startup benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    if [[ -n $PODS_SKIPPED ]]; then
        echo "skipped: $PODS_SKIPPED"
        return
    fi
    local raw single p50 p99 lim rssi rssp sched n rb50 rb99
    n=$(pv pods); n=${n:-$PODS_COUNT}
    raw=$(pv raw_serving_median_ms); single=$(pv single_ready_median_ms)
    p50=$(pmed ready_p50_ms); p99=$(pmed ready_p99_ms)
    rssi=$(pv agent_rss_idle_kb); rssp=$(pv agent_rss_pods_kb)
    sched=$(pv scheduling)
    rb50=$(pmed raw_batch_p50_ms); rb99=$(pmed raw_batch_p99_ms)
    # Like for like: N pods at once against N raw containers at once.
    lim=$([[ -n $rb99 ]] && awk -v r="$rb99" 'BEGIN { printf "%.1f", 3 * r }')
    {
        echo "host: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo);" \
             "$(crun --version | head -n1); skiff server and one \`skiff agent\` process in a network" \
             "namespace of their own. Image $PODS_IMAGE (built-in hello, no pull); pods" \
             "$([[ $sched == scheduler ]] && echo "placed by the scheduler" ||
                echo "with spec.nodeName set (scheduler not measured, as upstream density tests do)");" \
             "$PODS_CONC concurrent creators; no probes (Ready = container started). Times run from" \
             "before each POST to the pod watch first showing Ready=True. Raw crun: the same unpacked" \
             "layers as an overlay with a fresh upper dir, \`crun run -d\` (new netns, loopback only;" \
             "crun as installed, which clones itself at each call: the agent runs it from a read-only" \
             "mount that spares this)," \
             "until a TCP connect to :8080 inside it succeeds; single: median of $(pv raw_reps);" \
             "batch: $(pv raw_batch_n) containers started at once over $(pv raw_batch_parallel) threads" \
             "(the agent's worker count), all kept running until the last serves. Batches: $PODS_ROUNDS" \
             "rounds of raw and skiff in ABBA order, each after inodes freed by the phase before aged" \
             "out; p50/p99 are medians over the rounds, other batch figures the last round's. Load average" \
             "before / after: ${PODS_LOAD_BEFORE:-?} / ${PODS_LOAD_AFTER:-?}."
    } | fold -s -w 96 | sed "s/ *$//"
    echo
    prow "metric" "skiff" "raw crun" "ratio" "target / notes"
    prow "single pod create->Ready, ms" "$(fmt "$single" 1 1)" "$(fmt "$raw" 1 1)" \
        "$(ratio "$single" "$raw")" "median of $(pv single_reps); min $(pv single_ready_min_ms), max $(pv single_ready_max_ms)"
    prow "$n pods create->Ready p50, ms" "$(fmt "$p50" 1 1)" "$(fmt "$rb50" 1 1)" \
        "$(ratio "$p50" "$rb50")" "p90 $(pv ready_p90_ms), max $(pv ready_max_ms); raw: $n at once"
    prow "  p99, ms" "$(fmt "$p99" 1 1)" "$(fmt "$rb99" 1 1)" "$(ratio "$p99" "$rb99")" \
        "$(target "$p99" "<" "$lim" "p99 < 3x raw crun, $n at once (${lim:-?} ms)")"
    prow "  p99 per round, ms" "" "" "" "skiff $(pall ready_p99_ms); raw $(pall raw_batch_p99_ms)"
    prow "  raw $n at once: first -> last serving, s" "" "$(fmt "$(pv raw_batch_total_ms)" 1000 2)" "" \
        "$(pv raw_batch_failed) failed"
    prow "  first create -> last Ready, s" "$(fmt "$(pv total_s)" 1 2)" "" "" \
        "$(pv pods_ready)/$n Ready; POSTs took $(fmt "$(pv create_span_s)" 1 2) s"
    prow "  POST p50/p99, ms" "$(pv post_p50_ms) / $(pv post_p99_ms)" "" "" \
        "$(pv create_errors) errors"
    prow "delete $n pods, s" "$(fmt "$(pv delete_total_s)" 1 2)" "" "" \
        "first DELETE -> last DELETED; $(pv deleted) gone; p99 $(pv delete_p99_ms) ms"
    prow "raw crun run -d returned, ms" "" "$(fmt "$(pv raw_started_median_ms)" 1 1)" "" \
        "overlay mount $(pv raw_mount_median_ms) ms; serving min/max $(pv raw_serving_min_ms)/$(pv raw_serving_max_ms)"
    prow "agent RSS idle, MB" "$(fmt "$rssi" 1024 1)" "" "" "node Ready, 3 s idle"
    prow "agent RSS with $n pods, MB" "$(fmt "$rssp" 1024 1)" "" "" \
        "$(target "$rssp" "<" $((30 * 1024)) "< 30 MB"); peak $(fmt "$(pv agent_hwm_kb)" 1024 1) MB; per round, kB: $(pall agent_rss_pods_kb)"
    local cs cr
    cs=$(pmed load_machine_cpu_ms_per_pod); cr=$(pmed raw_batch_machine_cpu_ms_per_pod)
    prow "machine CPU per pod in the batch, ms" "$(fmt "$cs" 1 1)" "$(fmt "$cr" 1 1)" "$(ratio "$cs" "$cr")" \
        "all cores, first create -> last Ready (raw: -> last serving); medians; skiff $(pall load_machine_cpu_ms_per_pod); raw $(pall raw_batch_machine_cpu_ms_per_pod)"
    prow "agent / server CPU in the load, s" "$(fmt "$(pv agent_cpu_s)" 1 2) / $(fmt "$(pv server_cpu_s)" 1 2)" \
        "" "" "over $(fmt "$(pv load_wall_s)" 1 2) s wall, $(nproc) cores"
    prow "server RSS idle, MB" "$(fmt "$(pv server_rss_idle_kb)" 1024 1)" "" "" ""
    if [[ -s $TMP/pods-warnings.txt ]]; then
        echo
        echo "agent warnings:"
        sed 's/^/  /' "$TMP/pods-warnings.txt"
    fi
}
