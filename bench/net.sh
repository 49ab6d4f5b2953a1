# shellcheck shell=bash
# bench/net.sh: the service networking part of bench/run.sh (sourced by it;
# uses its helpers say, wait_until, fmt, ratio, target, TMP, SKIFF,
# NETSYNC). Needs root, nsenter, ip, curl, kubectl and wrk; without them it
# prints why and is skipped (the mode still succeeds).
#
# Traffic: a test host (network namespace skiff-bench-net-<pid>, node
# address 192.168.215.2 on a veth pair whose both ends stay inside, default
# route into it) runs `skiff server` with its node agent (nsenter --net,
# pods under the cgroup /skiff-bench-net-<pid>). A deployment of 2 hello
# pods (kubernetes-bootcamp, port 8080) exposed as NodePort; wrk from
# inside the host for BENCH_NET_SECS (5) s each, BENCH_NET_CONNS (16)
# connections on 2 threads: directly to a pod IP, to the ClusterIP, to
# 127.0.0.1:NodePort and NODE_IP:NodePort, BENCH_NET_ROUNDS (3) rounds in
# turn; median requests/s and p99 side by side. The hello server keeps
# connections alive as the original app does (wrk reuses its 16); when a
# server closes every connection, each request is a new NAT binding, and
# the client side of the test host reuses TIME_WAIT ports (tcp_tw_reuse=1,
# ports 10000-65535: the sync server binds 6444 later), or after a second
# wrk spends its time looking for a free port; and it sends TCP timestamps
# without per-address offsets (tcp_timestamps=2), or the pods' PAWS check
# drops SYNs whenever a masqueraded flow reuses a port an earlier direct
# flow used (another offset). Both would be 1 s stalls that have nothing to do with the proxy.
# When `skiff server` runs no service proxy of its own (no table inet
# skiff), bench_net_sync runs one (table skiffnet) for this part.
#
# Sync: a bare API server (no agent, no controllers) in the same host,
# then bench_net_sync: BENCH_NET_SERVICES (1000) selector-less services x
# BENCH_NET_ENDPOINTS (10) endpoints made through the API by 4 clients; the
# proxy's full sync of all of them, one endpoint change -> applied (x10),
# and the full sync that replaces a live table (restart). Targets: service
# path within 10% of direct; full sync < 200 ms; a change applied < 50 ms.
# Saved by run.sh to bench/results/net-<date>.txt. Everything is removed on
# exit, failure included (net_cleanup, also called from run.sh's cleanup).

NET_SECS=${BENCH_NET_SECS:-5}
NET_CONNS=${BENCH_NET_CONNS:-16}
NET_ROUNDS=${BENCH_NET_ROUNDS:-3}
NET_SERVICES=${BENCH_NET_SERVICES:-1000}
NET_ENDPOINTS=${BENCH_NET_ENDPOINTS:-10}
NET_IMAGE=gcr.io/google-samples/kubernetes-bootcamp:v1
NET_NODE=bench-node
NET_NODE_IP=192.168.215.2
NET_NS=skiff-bench-net-$$
NET_CG=/skiff-bench-net-$$
NET_DIR=$TMP/net
NRES=$TMP/net-results.txt
NET_SKIPPED=""
NET_SERVER_PID=""
NET_SYNC_SERVER_PID=""
NET_PROXY_PID=""
NET_PROXY="server"
NET_UP=0

net_in() { nsenter --net="/run/netns/$NET_NS" "$@"; }
net_kc() { net_in kubectl --kubeconfig "$NET_DIR/server/kubeconfig" "$@"; }
net_log_tail() { say "$1 log:"; tail -n 30 "$2" >&2; }

# net_stop PID: TERM, up to 15 s, KILL.
net_stop() {
    local p=$1
    [[ -n $p ]] || return 0
    kill -TERM "$p" 2>/dev/null
    for _ in $(seq 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
}

net_stop_node() {
    net_stop "$NET_PROXY_PID" # removes its table
    NET_PROXY_PID=""
    if [[ -n $NET_SERVER_PID ]] && kill -0 "$NET_SERVER_PID" 2>/dev/null; then
        net_kc delete deployment hello --wait=false >/dev/null 2>&1
    fi
    net_stop "$NET_SERVER_PID"
    NET_SERVER_PID=""
    if [[ -d $NET_DIR/server/agent ]]; then
        net_in "$SKIFF" cleanup --data-dir "$NET_DIR/server" --cgroup-parent "$NET_CG" \
            >>"$NET_DIR/cleanup.log" 2>&1 || say "skiff cleanup failed: $(tail -n 3 "$NET_DIR/cleanup.log")"
    fi
    local h
    for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do rmdir "$h${NET_CG#/}" 2>/dev/null; done
}

# Idempotent; also run from run.sh's EXIT trap.
net_cleanup() {
    ((NET_UP)) || return 0
    net_stop_node
    net_stop "$NET_SYNC_SERVER_PID"
    NET_SYNC_SERVER_PID=""
    ip netns del "$NET_NS" 2>/dev/null
    NET_UP=0
    rm -rf "$NET_DIR"
}

net_netns() {
    ip netns add "$NET_NS" || return 1
    NET_UP=1
    mkdir -p "$NET_DIR/kcache" || return 1
    ip -n "$NET_NS" link set lo up &&
        ip -n "$NET_NS" link add node0 type veth peer name node0-peer &&
        ip -n "$NET_NS" addr add "$NET_NODE_IP/24" dev node0 &&
        ip -n "$NET_NS" link set node0 up && ip -n "$NET_NS" link set node0-peer up &&
        ip -n "$NET_NS" route add default via 192.168.215.1 dev node0 onlink &&
        net_in sh -c 'echo 2 >/proc/sys/net/ipv4/tcp_timestamps && echo 1 >/proc/sys/net/ipv4/tcp_tw_reuse &&
            echo "10000 65535" >/proc/sys/net/ipv4/ip_local_port_range'
}

net_ready() { # net_ready DIR PORT
    net_in curl -sf --max-time 2 --cacert "$1/pki/ca.crt" --cert "$1/pki/admin.crt" \
        --key "$1/pki/admin.key" "https://127.0.0.1:$2/readyz"
}

net_node_ready() {
    [[ $(net_kc get node "$NET_NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]] &&
        [[ -n $(net_kc get node "$NET_NODE" -o jsonpath='{.spec.podCIDR}') ]]
}

net_has_table() { net_in nft list table inet "$1" >/dev/null 2>&1; }

net_ready_eps() {
    [[ $(net_kc get endpointslices -l kubernetes.io/service-name=hello \
        -o jsonpath='{range .items[*].endpoints[?(@.conditions.ready==true)]}{.addresses[0]}{"\n"}{end}' |
        grep -c .) == 2 ]]
}

net_answers() { net_in curl -sf --max-time 2 "http://$1/" >/dev/null; }

# wrk_run KEY URL: requests/s and p99 (ms) into $NRES.
wrk_run() {
    local out rps p99
    out=$(net_in wrk -t2 -c"$NET_CONNS" -d"${NET_SECS}s" --latency "$2" 2>&1)
    echo "$out" >>"$NET_DIR/wrk.log"
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {v = $2; u = v; gsub(/[0-9.]/, "", u); gsub(/[a-z]/, "", v);
              m = (u == "us") ? 0.001 : (u == "s") ? 1000 : (u == "m") ? 60000 : 1; print v * m}' <<<"$out")
    say "  $1: ${rps:-?} req/s, p99 ${p99:-?} ms"
    echo "${1}_rps ${rps}" >>"$NRES"
    echo "${1}_p99_ms ${p99}" >>"$NRES"
    [[ -n $rps ]]
}

net_traffic() {
    local pod cip np
    mkdir -p "$NET_DIR" || return 1
    say "netns $NET_NS: skiff server with its agent, node $NET_NODE"
    nsenter --net="/run/netns/$NET_NS" "$SKIFF" server --data-dir "$NET_DIR/server" --port 6443 \
        --node-name "$NET_NODE" --cgroup-parent "$NET_CG" >"$NET_DIR/server.log" 2>&1 &
    NET_SERVER_PID=$!
    if ! wait_until 30 "$NET_SERVER_PID" net_ready "$NET_DIR/server" 6443 ||
        ! wait_until 60 "$NET_SERVER_PID" net_node_ready; then
        net_log_tail server "$NET_DIR/server.log"
        return 1
    fi
    # the server's own proxy, if it runs one, has its table by now
    if ! wait_until 5 "$NET_SERVER_PID" net_has_table skiff; then
        if [[ ! -x $NETSYNC ]]; then say "no proxy in skiff server and no $NETSYNC"; return 1; fi
        NET_PROXY="bench_net_sync (skiff server runs no proxy yet)"
        nsenter --net="/run/netns/$NET_NS" "$NETSYNC" proxy --kubeconfig "$NET_DIR/server/kubeconfig" \
            --node-name "$NET_NODE" --table skiffnet >"$NET_DIR/proxy.log" 2>&1 &
        NET_PROXY_PID=$!
        if ! wait_until 30 "$NET_PROXY_PID" net_has_table skiffnet; then
            net_log_tail proxy "$NET_DIR/proxy.log"
            return 1
        fi
    fi
    say "deployment hello (2 x $NET_IMAGE) exposed as NodePort"
    net_kc create deployment hello --image="$NET_IMAGE" --replicas=2 --port=8080 >/dev/null &&
        net_kc expose deployment hello --type=NodePort --port=8080 >/dev/null || return 1
    if ! wait_until 120 "$NET_SERVER_PID" net_ready_eps; then
        net_kc get pods -o wide >&2
        net_log_tail server "$NET_DIR/server.log"
        return 1
    fi
    pod=$(net_kc get pods -l app=hello -o jsonpath='{.items[0].status.podIP}')
    cip=$(net_kc get svc hello -o jsonpath='{.spec.clusterIP}')
    np=$(net_kc get svc hello -o jsonpath='{.spec.ports[0].nodePort}')
    echo "targets pod=$pod:8080 clusterip=$cip:8080 nodeport=$np" >>"$NRES"
    local t
    for t in "$pod:8080" "$cip:8080" "127.0.0.1:$np" "$NET_NODE_IP:$np"; do
        if ! wait_until 10 "$NET_SERVER_PID" net_answers "$t"; then
            say "http://$t/ does not answer"
            return 1
        fi
    done
    say "wrk: ${NET_SECS}s each, $NET_CONNS connections, $NET_ROUNDS rounds"
    local r
    for ((r = 0; r < NET_ROUNDS; r++)); do
        wrk_run direct "http://$pod:8080/" && wrk_run clusterip "http://$cip:8080/" &&
            wrk_run nodeport_lo "http://127.0.0.1:$np/" && wrk_run nodeport_node "http://$NET_NODE_IP:$np/" ||
            return 1
    done
    net_in nstat -az TcpExtTCPSynRetrans 2>/dev/null | awk '$1 == "TcpExtTCPSynRetrans" {print "syn_retrans", $2}' >>"$NRES"
}

net_sync() {
    local d=$NET_DIR/sync
    mkdir -p "$d" || return 1
    say "bare API server on 127.0.0.1:6444; $NET_SERVICES services x $NET_ENDPOINTS endpoints"
    nsenter --net="/run/netns/$NET_NS" "$SKIFF" server --data-dir "$d" --port 6444 --disable-agent \
        --disable-controllers all --disable-scheduler >"$NET_DIR/sync-server.log" 2>&1 &
    NET_SYNC_SERVER_PID=$!
    if ! wait_until 30 "$NET_SYNC_SERVER_PID" net_ready "$d" 6444; then
        net_log_tail "sync server" "$NET_DIR/sync-server.log"
        return 1
    fi
    local rc=0
    net_in "$NETSYNC" sync --kubeconfig "$d/kubeconfig" --services "$NET_SERVICES" \
        --endpoints "$NET_ENDPOINTS" --conc 4 --changes 10 >>"$NRES" 2>"$NET_DIR/sync.log" || rc=1
    grep -m2 'full sync:' "$NET_DIR/sync.log" | sed 's/.*full sync: /sync_detail /' >>"$NRES"
    ((rc == 0)) || net_log_tail bench_net_sync "$NET_DIR/sync.log"
    net_stop "$NET_SYNC_SERVER_PID"
    NET_SYNC_SERVER_PID=""
    return $rc
}

bench_net() {
    local rc=0 t
    : >"$NRES"
    if ((EUID != 0)); then NET_SKIPPED="needs root"; fi
    for t in nsenter ip curl kubectl wrk nft crun; do
        [[ -n $NET_SKIPPED ]] || command -v "$t" >/dev/null || NET_SKIPPED="needs $t"
    done
    [[ -n $NET_SKIPPED || -x $SKIFF ]] || NET_SKIPPED="no $SKIFF"
    if [[ -n $NET_SKIPPED ]]; then
        echo "bench net: $NET_SKIPPED, skipped" >&2
        return 0
    fi
    export KUBECACHEDIR=$NET_DIR/kcache
    NET_LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
    if ! net_netns; then
        say "cannot set up netns $NET_NS"
        net_cleanup
        return 1
    fi
    net_traffic || rc=1
    net_stop_node
    if [[ -x $NETSYNC ]]; then
        net_sync || rc=1
    else
        say "no $NETSYNC (bench tools built standalone): proxy sync not measured"
        echo "sync_skipped 1" >>"$NRES"
    fi
    NET_LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
    net_cleanup
    return $rc
}

# nv KEY: a value from the results, or empty; nm KEY: the median of its values.
nv() { awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); v = $0 } END { print v }' "$NRES"; }
nm() { awk -v k="$1" '$1 == k && $2 != "" { print $2 }' "$NRES" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

nrow() { printf '%-34s %12s %12s %12s %12s\n' "$@"; }

net_table() {
    echo "skiff service proxy benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    if [[ -n $NET_SKIPPED ]]; then
        echo "skipped: $NET_SKIPPED"
        return
    fi
    {
        echo "host: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo);" \
             "$(nft --version 2>/dev/null | awk '{print $1, $2}'), kernel $(uname -r). A test host netns" \
             "running skiff server with its node agent; 2 pods of $NET_IMAGE behind a NodePort service;" \
             "service proxy: $NET_PROXY. wrk $NET_SECS s per target and round, $NET_CONNS connections, 2 threads," \
             "from inside the netns (client and pods share the machine's cores). Load average before /" \
             "after: ${NET_LOAD_BEFORE:-?} / ${NET_LOAD_AFTER:-?}. Targets: $(nv targets)."
    } | fold -s -w 96 | sed "s/ *$//"
    echo
    local d c l n
    d=$(nm direct_rps); c=$(nm clusterip_rps); l=$(nm nodeport_lo_rps); n=$(nm nodeport_node_rps)
    nrow "" "direct pod" "ClusterIP" "127.0.0.1:NP" "NODE_IP:NP"
    nrow "requests/s" "$(fmt "$d" 1 0)" "$(fmt "$c" 1 0)" "$(fmt "$l" 1 0)" "$(fmt "$n" 1 0)"
    nrow "  vs direct" "" "$(ratio "$c" "$d")" "$(ratio "$l" "$d")" "$(ratio "$n" "$d")"
    nrow "p99 latency, ms" "$(fmt "$(nm direct_p99_ms)" 1 2)" "$(fmt "$(nm clusterip_p99_ms)" 1 2)" \
        "$(fmt "$(nm nodeport_lo_p99_ms)" 1 2)" "$(fmt "$(nm nodeport_node_p99_ms)" 1 2)"
    local worst
    worst=$(awk -v d="$d" -v c="$c" -v l="$l" -v n="$n" 'BEGIN { m = c; if (l < m) m = l; if (n < m) m = n;
        if (d > 0 && m != "") print m / d }')
    echo "service paths vs direct, worst: $(fmt "$worst" 0.01 1)%; $(target "$worst" ">=" 0.9 "within 10% of direct")"
    echo "medians of $NET_ROUNDS rounds (each: $(awk '$1 == "clusterip_rps" { printf "%s%.0f", n++ ? " " : "", $2 }' "$NRES")" \
         "req/s via the ClusterIP); wrk keeps its connections alive (the hello server allows it," \
         "like the original), so DNAT and masquerade are paid per connection; SYN retransmissions:" \
         "$(nv syn_retrans)" |
        fold -s -w 96 | sed "s/ *$//"
    echo
    if [[ -n $(nv sync_skipped) ]]; then
        echo "proxy sync: not measured (bench_net_sync not built)"
        return
    fi
    echo "proxy sync, $(nv services) services x $(nv endpoints_per_service) endpoints" \
         "(made in $(nv create_s) s, $(nv create_errors) errors)"
    printf '%-44s %10s  %s\n' "full sync (first), ms" "$(fmt "$(nv full_sync_ms)" 1 1)" \
        "$(target "$(nv full_sync_ms)" "<" 200 "< 200 ms")"
    printf '%-44s %10s  %s\n' "  breakdown" "" "$(grep -m1 '^sync_detail' "$NRES" | cut -d' ' -f2-)"
    printf '%-44s %10s  %s\n' "full sync replacing a live table, ms" "$(fmt "$(nv full_sync_restart_ms)" 1 1)" \
        "proxy restart"
    printf '%-44s %10s  %s\n' "proxy start (informers + full sync), ms" "$(fmt "$(nv start_ms)" 1 1)" \
        "$(nv programmed_services) services, $(nv programmed_endpoints) endpoints programmed"
    printf '%-44s %10s  %s\n' "endpoint change: event -> applied p50, ms" "$(fmt "$(nv change_event_p50_ms)" 1 2)" \
        "max $(nv change_event_max_ms); $(target "$(nv change_event_max_ms)" "<" 50 "max < 50 ms"); x$(nv change_n)"
    printf '%-44s %10s  %s\n' "  API write -> applied p50, ms" "$(fmt "$(nv change_wall_p50_ms)" 1 2)" \
        "max $(nv change_wall_max_ms); includes the API server and the watch"
    printf '%-44s %10s  %s\n' "  its transaction p50, ms" "$(fmt "$(nv change_sync_p50_ms)" 1 2)" \
        "incremental: one element replaced"
    printf '%-44s %10s  %s\n' "proxy memory after the sync, MB" "$(fmt "$(nv rss_proxy_kb)" 1024 1)" \
        "RSS growth of the process running it (informer caches included)"
}
