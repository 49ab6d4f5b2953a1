# Shared helpers for integration tests: start a real `skiff server` on a
# loopback port with its own data dir, drive it with the real kubectl and
# curl, and clean everything up on exit. Source it; set SKIFF to the binary.
set -eu

: "${SKIFF:?SKIFF must point at the skiff binary}"
T=$(mktemp -d /tmp/skiff-it.XXXXXX)
export KUBECACHEDIR="$T/kcache"
export HOME="$T/home"
mkdir -p "$HOME"
SERVER_PID=""
FAILS=0

cleanup() {
    [ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null || true
    [ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

free_port() {
    while :; do
        p=$(( (RANDOM % 20000) + 20000 ))
        ss -ltn "sport = :$p" 2>/dev/null | grep -q LISTEN || { echo "$p"; return; }
    done
}

# start_server [extra flags...]: starts on $PORT (picked once) with data in $T/data.
start_server() {
    : "${PORT:=$(free_port)}"
    "$SKIFF" server --data-dir "$T/data" --port "$PORT" --disable-agent "$@" >>"$T/server.log" 2>&1 &
    SERVER_PID=$!
    i=0
    until curl -sk --max-time 1 "https://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; do
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$T/server.log"; fail "server exited"; exit 1; }
        i=$((i+1)); [ $i -gt 200 ] && { cat "$T/server.log"; fail "server not ready"; exit 1; }
        sleep 0.05
    done
    export KUBECONFIG="$T/data/kubeconfig"
    PKI="$T/data/pki"
    API="https://127.0.0.1:$PORT"
}

# Stops the server with SIGTERM; a clean shutdown must exit 0.
stop_server() {
    kill -TERM "$SERVER_PID"
    rc=0
    wait "$SERVER_PID" || rc=$?
    SERVER_PID=""
    [ "$rc" = 0 ] || fail "server exited with status $rc on SIGTERM"
}

# api METHOD PATH [curl args...]: authenticated raw API call; prints body, sets $CODE.
api() {
    m=$1; p=$2; shift 2
    out=$(curl -sk --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
        -X "$m" -w '\n%{http_code}' "$API$p" "$@")
    CODE=$(printf '%s' "$out" | tail -n1)
    printf '%s' "$out" | sed '$d'
}

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS+1)); }
pass() { echo "ok: $*"; }

# expect_eq ACTUAL EXPECTED DESC
expect_eq() { if [ "$1" = "$2" ]; then pass "$3"; else fail "$3: got [$1], want [$2]"; fi; }
# expect_match TEXT REGEX DESC
expect_match() { if printf '%s' "$1" | grep -Eq -- "$2"; then pass "$3"; else fail "$3: [$1] does not match /$2/"; fi; }

# wait_for DESC CMD...: polls CMD until it succeeds (WAIT_SECS, default 20 s).
wait_for() {
    d=$1; shift
    i=0
    until "$@" >/dev/null 2>&1; do
        i=$((i+1)); [ $i -gt $(( ${WAIT_SECS:-20} * 20 )) ] && { fail "timeout: $d"; return 1; }
        sleep 0.05
    done
    pass "$d"
}

finish() {
    [ -n "$SERVER_PID" ] && stop_server
    # Sanitizer builds report into the server log (leaks at the clean exit).
    if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/server.log"; then
        grep -E -A20 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/server.log" | head -60 >&2
        fail "sanitizer report in the server log"
    fi
    if [ "$FAILS" -gt 0 ]; then
        echo "$FAILS failure(s); server log tail:" >&2
        tail -20 "$T/server.log" >&2 || true
        exit 1
    fi
    echo "all passed"
    exit 0
}
