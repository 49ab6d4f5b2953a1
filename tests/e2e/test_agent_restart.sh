#!/bin/sh
# kill -9 of the node (server + agent) while 10 pods run: containers keep
# running; the restarted agent adopts them (exactly 10 containers, no
# duplicates, restart counts unchanged), and pods keep serving; after a
# clean stop, `skiff cleanup` removes everything.
. "$(dirname "$0")/lib.sh"

start_server
WAIT_SECS=30 wait_for "node Ready" node_ready
kc create deployment web --image=gcr.io/google-samples/kubernetes-bootcamp:v1 --replicas=10 >/dev/null
ten() { [ "$(kc get deploy web -o jsonpath='{.status.readyReplicas}')" = 10 ]; }
WAIT_SECS=90 wait_for "10 pods ready" ten
expect_eq "$(rt_containers)" 10 "10 containers before the kill"
BEFORE=$(kc get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.name}={.status.containerStatuses[0].containerID}{"\n"}{end}' | sort)
IPS=$(kc get pods -l app=web -o jsonpath='{.items[*].status.podIP}')

kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
# The containers outlive the agent.
alive=0
for ip in $IPS; do in_ns curl -s --max-time 2 "http://$ip:8080/" | grep -q 'Hello Kubernetes' && alive=$((alive+1)); done
expect_eq "$alive" 10 "all 10 pods answer while the agent is down"

start_server
WAIT_SECS=30 wait_for "node Ready again" node_ready
sleep 3 # a few sync rounds of the adopted pods
expect_eq "$(rt_containers)" 10 "still exactly 10 containers after the restart"
expect_eq "$(rt_layers)" 10 "and 10 writable layers"
expect_eq "$(rt_sandboxes)" 10 "still exactly 10 sandboxes"
AFTER=$(kc get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.name}={.status.containerStatuses[0].containerID}{"\n"}{end}' | sort)
expect_eq "$AFTER" "$BEFORE" "same pods, same container ids"
expect_eq "$(kc get pods -l app=web -o jsonpath='{.items[*].status.containerStatuses[0].restartCount}' | tr ' ' '\n' | sort -u)" 0 "no restarts"
WAIT_SECS=20 wait_for "deployment still 10 ready" ten
expect_match "$(kc logs "$(pod_of app=web)")" 'Kubernetes Bootcamp App Started At' "logs of an adopted container"
expect_match "$(kc exec "$(pod_of app=web)" -- hostname)" '^web-' "exec into an adopted container"
P=$(pod_of app=web)
HOSTS=$(kc exec "$P" -- cat /etc/hosts)
expect_match "$HOSTS" '^# Kubernetes-managed hosts file' "managed /etc/hosts in an adopted pod"
expect_match "$HOSTS" "^$(kc get pod "$P" -o jsonpath='{.status.podIP}')	$P" "/etc/hosts maps the pod IP to its name"

# A stopped agent leaves its pods running on purpose; `skiff cleanup`
# removes them with their networks (uninstall).
stop_server
expect_eq "$(rt_containers)" 10 "a clean stop leaves the pods running"
node_exec "$SKIFF" cleanup --data-dir "$T/data" --cgroup-parent "$CGP" >"$T/cleanup.log" 2>&1 ||
    fail "skiff cleanup: $(cat "$T/cleanup.log")"
expect_match "$(cat "$T/cleanup.log")" 'removed 10 pod network attachment' "cleanup releases 10 pod networks"
expect_eq "containers=$(rt_containers) layers=$(rt_layers) sandboxes=$(rt_sandboxes) netns=$(netns_pins) leases=$(ip_leases) veths=$(veths) cgroups=$(pod_cgroups)" \
    "containers=0 layers=0 sandboxes=0 netns=0 leases=0 veths=0 cgroups=0" "skiff cleanup leaves nothing behind"
# The state counts above read the agent's namespace: they mean something
# only if that namespace (and with it the state tmpfs) is really gone.
expect_eq "$(if in_agent true; then echo pinned; else echo gone; fi) $(ls -A "$AGENT_RT/run" 2>/dev/null | wc -l)" \
    "gone 0" "the agent mount namespace is unpinned and no state is left on disk"
finish
