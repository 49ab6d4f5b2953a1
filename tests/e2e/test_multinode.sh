#!/bin/sh
# Three nodes (a server and two agents joined with the server's token, each
# in its own test host on a private switch): a deployment spread over the
# three; every pod reaches every other pod by IP and the service by name; a
# NodePort answers on every node's address; when one node dies its pods are
# rescheduled and the service keeps answering.
. "$(dirname "$0")/lib_multi.sh"

start_host 0
wait_for "join token written" test -s "$(host_data 0)/join-token"
start_host 1
start_host 2
for i in 0 1 2; do WAIT_SECS=60 wait_for "node $i Ready with a podCIDR" node_ready "$i"; done

kc apply -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      containers:
      - {name: web, image: gcr.io/google-samples/kubernetes-bootcamp:v1, ports: [{containerPort: 8080}]}
EOF
kc expose deployment web --type=NodePort --port 8080 >/dev/null
ready3() { [ "$(kc get deploy web -o jsonpath='{.status.readyReplicas}')" = 3 ]; }
WAIT_SECS=90 wait_for "3 replicas ready" ready3
expect_eq "$(kc get pods -l app=web -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort -u | wc -l)" 3 \
    "one pod on each node"

PODS=$(kc get pods -l app=web -o jsonpath='{.items[*].metadata.name}')
IPS=$(kc get pods -l app=web -o jsonpath='{.items[*].status.podIP}')
ok=0; total=0
for p in $PODS; do
    for ip in $IPS; do
        total=$((total+1))
        kc exec "$p" -- curl -s --max-time 3 "http://$ip:8080/" | grep -q 'Hello Kubernetes' && ok=$((ok+1))
    done
done
expect_eq "$ok/$total" "9/9" "every pod reaches every pod by IP (across nodes)"

ok=0
for p in $PODS; do
    kc exec "$p" -- curl -s --max-time 3 http://web:8080/ | grep -q 'Hello Kubernetes' && ok=$((ok+1))
done
expect_eq "$ok" 3 "every pod reaches the service by name"
expect_match "$(kc exec "$(echo "$PODS" | cut -d' ' -f1)" -- nslookup web.default.svc.cluster.local 2>&1)" \
    "Address:? +$(kc get svc web -o jsonpath='{.spec.clusterIP}')" "the service name resolves to its ClusterIP"

NP=$(kc get svc web -o jsonpath='{.spec.ports[0].nodePort}')
for i in 0 1 2; do
    expect_match "$(in_host 0 curl -s --max-time 3 "http://$(host_ip "$i"):$NP/")" 'Hello Kubernetes' \
        "NodePort answers on node $i's address"
done

# Node 2 dies: its pod is recreated elsewhere, the service keeps answering.
VICTIM=$(kc get pods -l app=web --field-selector spec.nodeName="$(node_name 2)" -o jsonpath='{.items[0].metadata.name}')
VICTIM_IP=$(kc get pod "$VICTIM" -o jsonpath='{.status.podIP}')
kill -9 "$(pid_of 2)"
set_pid 2 -
notready() { [ "$(kc get node "$(node_name 2)" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" != True ]; }
WAIT_SECS=40 wait_for "node 2 goes NotReady/Unknown" notready
moved() {
    [ "$(kc get pods -l app=web --field-selector status.phase=Running -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' |
         grep -cv "^$(node_name 2)\$")" -ge 3 ]
}
WAIT_SECS=60 wait_for "the dead node's pod ($VICTIM) is replaced on a live node" moved
ep_clean() { ! kc get endpoints web -o jsonpath='{.subsets[*].addresses[*].ip}' | grep -qw "$VICTIM_IP"; }
wait_for "the dead node's pod left the service's endpoints" ep_clean
answers=0
for k in $(seq 1 20); do
    in_host 0 curl -s --max-time 2 "http://$(host_ip 0):$NP/" | grep -q 'Hello Kubernetes' && answers=$((answers+1))
done
expect_eq "$answers" 20 "the service keeps answering through a live node"
finish
