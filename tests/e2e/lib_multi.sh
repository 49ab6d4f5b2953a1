# Shared helpers for multi-node end-to-end tests: N "test hosts", each a
# network namespace this test creates with one interface on a private
# switch (a bridge in a namespace of its own), its own data dir, cgroup
# parent and pod network; host 0 runs `skiff server` (with its node agent),
# hosts 1.. run `skiff agent`, joined with the server's token. Nothing is
# routed out of the switch; everything is removed on exit. Root only.
set -eu

: "${SKIFF:?SKIFF must point at the skiff binary}"
if [ "$(id -u)" != 0 ]; then echo "skip: end-to-end tests need root"; exit 77; fi
for t in crun ip jq nsenter; do command -v "$t" >/dev/null || { echo "skip: $t missing"; exit 77; }; done
[ -x /usr/lib/cni/bridge ] || { echo "skip: CNI plugins missing"; exit 77; }

T=$(mktemp -d /tmp/skiff-e2e-multi.XXXXXX)
chmod 755 "$T"
export KUBECACHEDIR="$T/kcache"
export HOME="$T/home"
mkdir -p "$HOME"
NHOSTS=${NHOSTS:-3}
SW="skiff-sw-$$"
NET=192.168.216
PORT=6443
FAILS=0
BG_PIDS=""
PIDS=""     # per host, space separated, index = host number
host_ns() { echo "skiff-h$1-$$"; }
host_ip() { echo "$NET.$(( $1 + 10 ))"; }
host_cg() { echo "/skiff-e2e-multi-$$-$1"; }
host_data() { echo "$T/h$1"; }
node_name() { echo "node$1"; }

in_host() { h=$1; shift; ip netns exec "$(host_ns "$h")" "$@"; }
# kubectl runs on host 0, next to the server.
kc() { ip netns exec "$(host_ns 0)" kubectl "$@"; }

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS+1)); }
pass() { echo "ok: $*"; }
expect_eq() { if [ "$1" = "$2" ]; then pass "$3"; else fail "$3: got [$1], want [$2]"; fi; }
expect_match() { if printf '%s' "$1" | grep -Eq -- "$2"; then pass "$3"; else fail "$3: [$1] does not match /$2/"; fi; }
wait_for() {
    d=$1; shift
    i=0
    until "$@" >/dev/null 2>&1; do
        i=$((i+1)); [ $i -gt $(( ${WAIT_SECS:-60} * 5 )) ] && { fail "timeout: $d"; return 1; }
        sleep 0.2
    done
    pass "$d"
}
bg() { "$@" & BG_PIDS="$BG_PIDS $!"; }

pid_of() { echo "$PIDS" | tr ' ' '\n' | sed -n "$(( $1 + 1 ))p"; }
set_pid() {
    new=""
    for i in $(seq 0 $((NHOSTS - 1))); do
        if [ "$i" = "$1" ]; then new="$new $2"; else new="$new $(pid_of "$i")"; fi
    done
    PIDS=$(echo "$new" | sed 's/^ //')
}

cleanup() {
    for p in $BG_PIDS; do kill "$p" 2>/dev/null || true; done
    for i in $(seq 0 $((NHOSTS - 1))); do
        p=$(pid_of "$i"); [ -n "$p" ] && [ "$p" != "-" ] && kill -9 "$p" 2>/dev/null
    done
    sleep 0.3
    for i in $(seq 0 $((NHOSTS - 1))); do
        d=$(host_data "$i")
        [ -d "$d/agent" ] && nsenter --net="/run/netns/$(host_ns "$i")" "$SKIFF" cleanup \
            --data-dir "$d" --cgroup-parent "$(host_cg "$i")" >/dev/null 2>&1
        ip netns del "$(host_ns "$i")" 2>/dev/null || true
    done
    ip netns del "$SW" 2>/dev/null || true
    [ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

# The switch, then one host per port on it; each host's default route
# points at an address nobody has, so nothing leaves the switch.
ip netns add "$SW"
ip netns exec "$SW" ip link add br0 type bridge
ip netns exec "$SW" ip link set br0 up
for i in $(seq 0 $((NHOSTS - 1))); do
    ns=$(host_ns "$i")
    ip netns add "$ns"
    ip netns exec "$ns" ip link set lo up
    ip netns exec "$ns" ip link add eth0 type veth peer name "p$i" netns "$SW"
    ip netns exec "$SW" ip link set "p$i" master br0 up
    ip netns exec "$ns" ip addr add "$(host_ip "$i")/24" dev eth0
    ip netns exec "$ns" ip link set eth0 up
    ip netns exec "$ns" ip route add default via "$NET.1" dev eth0 onlink
    PIDS="$PIDS -"
done
PIDS=$(echo "$PIDS" | sed 's/^ //')

# start_host N: the server on host 0, an agent joined with the token elsewhere.
start_host() {
    h=$1; shift
    d=$(host_data "$h")
    mkdir -p "$d"
    if [ "$h" = 0 ]; then
        nsenter --net="/run/netns/$(host_ns 0)" "$SKIFF" server --data-dir "$d" --port "$PORT" \
            --node-name "$(node_name 0)" --cgroup-parent "$(host_cg 0)" \
            --node-monitor-grace-period 10s --dns-upstream none "$@" >>"$d/log" 2>&1 &
        set_pid 0 $!
        i=0
        until in_host 0 curl -sk --max-time 1 "https://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; do
            i=$((i+1)); [ $i -gt 200 ] && { tail -30 "$d/log"; fail "server not ready"; exit 1; }
            sleep 0.05
        done
        export KUBECONFIG="$d/kubeconfig"
    else
        nsenter --net="/run/netns/$(host_ns "$h")" "$SKIFF" agent \
            --server "https://$(host_ip 0):$PORT" --token-file "$(host_data 0)/join-token" \
            --node-name "$(node_name "$h")" --data-dir "$d" --cgroup-parent "$(host_cg "$h")" \
            "$@" >>"$d/log" 2>&1 &
        set_pid "$h" $!
    fi
}

node_ready() {
    [ "$(kc get node "$(node_name "$1")" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ] &&
        [ -n "$(kc get node "$(node_name "$1")" -o jsonpath='{.spec.podCIDR}')" ]
}

finish() {
    for i in $(seq 0 $((NHOSTS - 1))); do
        if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$(host_data "$i")/log" 2>/dev/null; then
            grep -E -A20 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$(host_data "$i")/log" | head -40 >&2
            fail "sanitizer report in host $i's log"
        fi
    done
    if [ "$FAILS" -gt 0 ]; then
        echo "$FAILS failure(s)" >&2
        for i in $(seq 0 $((NHOSTS - 1))); do
            echo "--- host $i log tail:" >&2; tail -15 "$(host_data "$i")/log" >&2 || true
        done
        exit 1
    fi
    echo "all passed"
    exit 0
}
