#!/bin/sh
# The Kubernetes basics tutorial on one real node: a deployment of the
# built-in bootcamp image runs as a crun container with a CNI address;
# logs, exec (with and without a TTY), the API server's pod proxy through
# `kubectl proxy`, port-forward; deleting leaves nothing behind.
. "$(dirname "$0")/lib.sh"

start_server
WAIT_SECS=30 wait_for "node registers Ready with a podCIDR" node_ready
expect_match "$(in_ns "$SKIFF" image --data-dir "$T/data" ls 2>&1)" \
    'gcr.io/google-samples/kubernetes-bootcamp +v1' "built-in images loaded at start"
expect_match "$(kc get nodes)" "$NODE +Ready +control-plane +" "kubectl get nodes: the server's node, Ready, control-plane"
expect_match "$(kc get node "$NODE" -o jsonpath='{.status.nodeInfo.containerRuntimeVersion}')" \
    '^crun://[0-9]' "node reports the crun runtime"

kc create deployment kubernetes-bootcamp --image=gcr.io/google-samples/kubernetes-bootcamp:v1 >/dev/null
POD=""
get_pod() { POD=$(pod_of app=kubernetes-bootcamp); [ -n "$POD" ]; }
wait_for "pod created" get_pod
POD=$(pod_of app=kubernetes-bootcamp)
running() { [ "$(pod_phase "$POD")" = Running ] && pod_ready "$POD"; }
wait_for "pod $POD Running and Ready" running
IP=$(kc get pod "$POD" -o jsonpath='{.status.podIP}')
expect_match "$IP" '^10\.244\.[0-9]+\.[0-9]+$' "pod IP from the node's podCIDR"
expect_eq "$(kc get pod "$POD" -o jsonpath='{.status.hostIP}')" "$NODE_IP" "hostIP is the node address"
expect_match "$(kc get pod "$POD" -o jsonpath='{.status.containerStatuses[0].containerID}')" \
    '^crun://' "containerID names crun"
expect_match "$(kc get pods -o wide)" "$POD +1/1 +Running +0 .*$IP +$NODE" "kubectl get pods -o wide"
expect_match "$(kc describe pod "$POD")" 'Started +container kubernetes-bootcamp' "describe shows the Started event"

# The app answers on its pod IP (the node reaches the pod network).
expect_match "$(in_ns curl -s --max-time 5 "http://$IP:8080/")" \
    "Hello Kubernetes bootcamp! \| Running on: $POD \| v=1" "curl the pod IP"

logs_ok() { kc logs "$POD" | grep -q 'Kubernetes Bootcamp App Started At'; }
wait_for "kubectl logs shows the start line" logs_ok
expect_match "$(kc logs "$POD" --tail=1)" 'Running On: |Total Requests' "logs --tail"
expect_match "$(kc logs "$POD" --timestamps | head -1)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "logs --timestamps"

ENV=$(kc exec "$POD" -- env)
expect_match "$ENV" "^HOSTNAME=$POD\$" "exec env: HOSTNAME"
expect_match "$ENV" '^KUBERNETES_SERVICE_HOST=10\.96\.0\.1$' "exec env: KUBERNETES_SERVICE_HOST"
rc=0; kc exec "$POD" -- sh -c 'exit 3' || rc=$?
expect_eq "$rc" 3 "exec exit status is kubectl's"
expect_eq "$(printf 'hello\n' | kc exec -i "$POD" -- cat)" hello "exec -i pipes stdin"
expect_match "$(kc exec "$POD" -- curl -s http://localhost:8080/)" 'Hello Kubernetes bootcamp' "curl inside the container"

# A real TTY: `script` gives kubectl a terminal.
# (script turns the EOF of its stdin into a NUL that the pty echoes as ^@)
TTY_OUT=$(in_ns script -qec "kubectl exec -ti $POD -- bash -c 'cat /etc/hostname; tty'" /dev/null </dev/null |
          tr -d '\r\000' | sed 's/\^@//g')
expect_match "$TTY_OUT" "^$POD\$" "exec -ti: /etc/hostname"
expect_match "$TTY_OUT" '^/dev/pts/[0-9]+$' "exec -ti: a terminal"

# kubectl proxy + the API server's pods/proxy.
bg ip netns exec "$NS" kubectl proxy --port=8001
proxy_up() { in_ns curl -s --max-time 2 http://127.0.0.1:8001/version >/dev/null; }
wait_for "kubectl proxy up" proxy_up
expect_match "$(in_ns curl -s --max-time 5 "http://127.0.0.1:8001/api/v1/namespaces/default/pods/$POD:8080/proxy/")" \
    "Hello Kubernetes bootcamp! \| Running on: $POD \| v=1" "curl through kubectl proxy"

# port-forward (SPDY inside WebSocket).
bg ip netns exec "$NS" kubectl port-forward "pod/$POD" 18080:8080
pf_up() { in_ns curl -s --max-time 2 http://127.0.0.1:18080/ | grep -q 'Hello Kubernetes'; }
wait_for "kubectl port-forward answers" pf_up
expect_match "$(in_ns curl -s --max-time 5 http://127.0.0.1:18080/)" "Running on: $POD" "port-forward reaches the pod"

# Scale, then delete: nothing left behind.
kc scale deployment kubernetes-bootcamp --replicas=3 >/dev/null
three() { [ "$(kc get deploy kubernetes-bootcamp -o jsonpath='{.status.readyReplicas}')" = 3 ]; }
wait_for "scaled to 3 ready" three
expect_eq "$(rt_containers)" 3 "three containers in the runtime"
expect_eq "$(rt_layers)" 3 "three writable layers on disk"
expect_eq "$(netns_pins)" 3 "three pod network namespaces pinned"
expect_match "$(agent_mounts)" '^([4-9]|[1-9][0-9]+)$' "their rootfs and namespace mounts are visible to the check"
kc delete deployment kubernetes-bootcamp >/dev/null
gone() { [ -z "$(kc get pods -o name)" ]; }
wait_for "pods deleted" gone
empty() { [ "$(rt_containers)" = 0 ] && [ "$(rt_layers)" = 0 ] && [ "$(rt_sandboxes)" = 0 ] && [ "$(netns_pins)" = 0 ] &&
          [ "$(ip_leases)" = 0 ] && [ "$(veths)" = 0 ] && [ "$(pod_cgroups)" = 0 ] &&
          [ "$(agent_mounts)" = 0 ]; }
WAIT_SECS=20 wait_for "no containers, sandboxes, mounts, netns, IP leases, veths or pod cgroups left" empty ||
    echo "containers=$(rt_containers) layers=$(rt_layers) sandboxes=$(rt_sandboxes) mounts=$(agent_mounts) netns=$(netns_pins) leases=$(ip_leases) veths=$(veths) cgroups=$(pod_cgroups)" >&2
finish
