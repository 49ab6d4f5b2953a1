# Shared helpers for end-to-end tests: a "test host" (a network namespace
# this test creates, with one veth pair as the node's address and
# nothing routed out of it) runs a real `skiff server` with its node agent,
# real crun containers and real CNI pod networking; kubectl and curl run
# inside the same namespace. Everything is removed on exit. Root only.
set -eu

: "${SKIFF:?SKIFF must point at the skiff binary}"
if [ "$(id -u)" != 0 ]; then echo "skip: end-to-end tests need root"; exit 77; fi
for t in crun ip jq; do command -v "$t" >/dev/null || { echo "skip: $t missing"; exit 77; }; done
[ -x /usr/lib/cni/bridge ] || { echo "skip: CNI plugins missing"; exit 77; }

T=$(mktemp -d /tmp/skiff-e2e.XXXXXX)
chmod 755 "$T"
export KUBECACHEDIR="$T/kcache"
export HOME="$T/home"
mkdir -p "$HOME"
NS="skiff-e2e-$$"
CGP="/skiff-e2e-$$"
NODE="e2e-node"
NODE_IP="192.168.213.2"
PORT=6443
SERVER_PID=""
FAILS=0
BG_PIDS=""

# in_ns CMD...: runs CMD inside the test host.
in_ns() { ip netns exec "$NS" "$@"; }
# node_exec CMD...: the same, but in the machine's mount namespace: the node
# agent pins its own mount namespace from the one it starts in, and a
# restarted agent must find that pin (`ip netns exec` makes a throwaway one).
node_exec() { nsenter --net="/run/netns/$NS" "$@"; }
kc() { ip netns exec "$NS" kubectl "$@"; }

cleanup() {
    for p in $BG_PIDS; do kill "$p" 2>/dev/null || true; done
    [ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null && sleep 0.2
    # The agent leaves pods running on purpose (a new agent adopts them).
    [ -d "$T/data/agent" ] && node_exec "$SKIFF" cleanup --data-dir "$T/data" --cgroup-parent "$CGP" >/dev/null 2>&1
    ip netns del "$NS" 2>/dev/null || true
    [ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

ip netns add "$NS"
in_ns ip link set lo up
# The node's address: one end of a veth pair whose both ends stay inside the
# test host (not every kernel here has dummy links); the default route
# points into it, so nothing can leave the namespace.
in_ns ip link add node0 type veth peer name node0-peer
in_ns ip addr add "$NODE_IP/24" dev node0
in_ns ip link set node0 up
in_ns ip link set node0-peer up
in_ns ip route add default via 192.168.213.1 dev node0 onlink

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS+1)); }
pass() { echo "ok: $*"; }
expect_eq() { if [ "$1" = "$2" ]; then pass "$3"; else fail "$3: got [$1], want [$2]"; fi; }
expect_match() { if printf '%s' "$1" | grep -Eq -- "$2"; then pass "$3"; else fail "$3: [$1] does not match /$2/"; fi; }

# wait_for DESC CMD...: polls CMD until it succeeds (WAIT_SECS, default 60 s).
wait_for() {
    d=$1; shift
    i=0
    until "$@" >/dev/null 2>&1; do
        i=$((i+1)); [ $i -gt $(( ${WAIT_SECS:-60} * 5 )) ] && { fail "timeout: $d"; return 1; }
        sleep 0.2
    done
    pass "$d"
}

# start_server [extra flags...]: server + agent in the test host.
start_server() {
    nsenter --net="/run/netns/$NS" "$SKIFF" server --data-dir "$T/data" --port "$PORT" --node-name "$NODE" \
        --cgroup-parent "$CGP" --node-monitor-grace-period 20s --dns-upstream none "$@" \
        >>"$T/server.log" 2>&1 &
    SERVER_PID=$!
    i=0
    until in_ns curl -sk --max-time 1 "https://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; do
        kill -0 "$SERVER_PID" 2>/dev/null || { tail -30 "$T/server.log"; fail "server exited"; exit 1; }
        i=$((i+1)); [ $i -gt 200 ] && { tail -30 "$T/server.log"; fail "server not ready"; exit 1; }
        sleep 0.05
    done
    export KUBECONFIG="$T/data/kubeconfig"
}

node_ready() {
    [ "$(kc get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ] &&
        [ -n "$(kc get node "$NODE" -o jsonpath='{.spec.podCIDR}')" ]
}

stop_server() {
    kill -TERM "$SERVER_PID"
    rc=0
    wait "$SERVER_PID" || rc=$?
    SERVER_PID=""
    [ "$rc" = 0 ] || fail "server exited with status $rc on SIGTERM"
}

# pod_of SELECTOR: name of the first pod matching a label selector.
pod_of() { kc get pods -l "$1" -o jsonpath='{.items[0].metadata.name}'; }
pod_phase() { kc get pod "$1" -o jsonpath='{.status.phase}'; }
pod_ready() { [ "$(kc get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }

# What the agent runs: container records, sandboxes, netns pins and IP
# leases live on the runtime's state tmpfs, mounted only in the agent's
# mount namespace (in_agent; when that namespace is gone, so is the tmpfs);
# writable layers on disk; cgroups.
AGENT_RT=$T/data/agent/runtime
in_agent() { [ -e "$AGENT_RT/ns/mnt" ] && nsenter --mount="$AGENT_RT/ns/mnt" "$@"; }
rt_containers() { in_agent ls "$AGENT_RT/run/containers" 2>/dev/null | wc -l; }
rt_layers() { ls "$AGENT_RT/containers" 2>/dev/null | wc -l; }
rt_sandboxes() { in_agent ls "$AGENT_RT/run/pods" 2>/dev/null | wc -l; }
netns_pins() { in_agent ls "$AGENT_RT/run/netns" 2>/dev/null | wc -l; }
ip_leases() {
    in_agent find "$AGENT_RT/run/cni" -path '*ipam*' -type f -name '[0-9]*.[0-9]*' 2>/dev/null | wc -l
}
pod_cgroups() {
    n=0
    for d in /sys/fs/cgroup/memory"$CGP" /sys/fs/cgroup/unified"$CGP" /sys/fs/cgroup"$CGP"; do
        [ -d "$d" ] && n=$((n + $(find "$d" -mindepth 1 -type d | wc -l)))
    done
    echo "$n"
}
# Mounts the agent made for pods (overlay rootfs, namespace pins, volumes),
# seen from its own mount namespace.
agent_mounts() {
    mnt="$T/data/agent/runtime/ns/mnt"
    [ -e "$mnt" ] || { echo 0; return; }
    nsenter --mount="$mnt" cat /proc/self/mounts 2>/dev/null |
        grep -cE " $T/data/agent/(runtime/run/containers|runtime/run/pods|runtime/run/netns|pods)/" || true
}
veths() { in_ns ip -o link show type veth | grep -vc ' node0' || true; }

bg() { "$@" & BG_PIDS="$BG_PIDS $!"; }

finish() {
    [ -n "$SERVER_PID" ] && stop_server
    if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/server.log"; then
        grep -E -A20 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/server.log" | head -60 >&2
        fail "sanitizer report in the server log"
    fi
    if [ "$FAILS" -gt 0 ]; then
        echo "$FAILS failure(s); server log tail:" >&2
        tail -40 "$T/server.log" >&2 || true
        exit 1
    fi
    echo "all passed"
    exit 0
}
