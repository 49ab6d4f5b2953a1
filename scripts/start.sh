#!/bin/sh
# Starts `skiff server` in the background with its data under a per-user
# directory, waits until it is ready, and prints how to use kubectl.
#   start.sh SKIFF_BINARY | --stop | --status
set -eu

DATA="${SKIFF_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/skiff}"
PORT="${SKIFF_PORT:-6443}"
PIDFILE="$DATA/server.pid"
LOG="$DATA/server.log"

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

case "${1:-}" in
--stop)
    if running; then
        kill "$(cat "$PIDFILE")"
        i=0; while running && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
        echo "skiff stopped"
    else
        echo "skiff is not running"
    fi
    rm -f "$PIDFILE"
    exit 0 ;;
--status)
    if running; then echo "skiff is running (pid $(cat "$PIDFILE")), data in $DATA"; else echo "skiff is not running"; exit 1; fi
    exit 0 ;;
esac

BIN="$1"
mkdir -p "$DATA"
if running; then
    echo "skiff is already running (pid $(cat "$PIDFILE"))."
else
    nohup "$BIN" server --data-dir "$DATA" --port "$PORT" >"$LOG" 2>&1 &
    echo $! >"$PIDFILE"
    i=0
    while [ ! -s "$DATA/kubeconfig" ] || ! grep -q "serving on" "$LOG" 2>/dev/null; do
        if ! running; then echo "skiff failed to start:" >&2; tail -5 "$LOG" >&2; exit 1; fi
        i=$((i+1)); [ $i -gt 100 ] && { echo "skiff did not become ready; see $LOG" >&2; exit 1; }
        sleep 0.05
    done
    echo "skiff is running (pid $(cat "$PIDFILE")); log: $LOG"
fi
echo
echo "Point kubectl at it:"
echo "  export KUBECONFIG=$DATA/kubeconfig"
echo "  kubectl get namespaces"
echo
echo "Stop it with: make stop"
