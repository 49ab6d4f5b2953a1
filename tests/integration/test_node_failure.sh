#!/bin/bash
# Node failure and leader election: hollow agents as separate processes
# (killing one stops its heartbeats), and two controller managers sharing
# one API server through a Lease.
. "$(dirname "$0")/lib.sh"
K=kubectl
start_server --node-monitor-grace-period 4s

AGENTS=""
"$SKIFF" agent --hollow --kubeconfig "$KUBECONFIG" --node-name na --lease-renew 1000 >>"$T/agent-a.log" 2>&1 &
AGENT_A=$!
"$SKIFF" agent --hollow --kubeconfig "$KUBECONFIG" --node-name nb --lease-renew 1000 >>"$T/agent-b.log" 2>&1 &
AGENT_B=$!
trap 'kill -9 $AGENT_A $AGENT_B 2>/dev/null || true; cleanup' EXIT
wait_for "nodes na and nb Ready" sh -c "[ \$($K get nodes --no-headers 2>/dev/null | grep -c ' Ready ') = 2 ]"
wait_for "podCIDRs assigned" sh -c "[ \$($K get nodes -o jsonpath='{range .items[*]}{.spec.podCIDR}{\"\\n\"}{end}' | grep -c '^10\.244\.[0-9]*\.0/24$') = 2 ]"

cat >"$T/d.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      containers:
      - {name: web, image: gcr.io/google-samples/kubernetes-bootcamp:v1}
YAML
$K apply -f "$T/d.yaml" >/dev/null
wait_for "web 4/4 ready" sh -c "$K get deploy web --no-headers | grep -q ' 4/4 '"
on_b=$($K get pods -l app=web -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | grep -c '^nb$' || true)
[ "$on_b" -ge 1 ] && pass "pods spread to nb ($on_b)" || fail "no pod on nb"

kill -9 "$AGENT_B"
start=$(date +%s)
i=0
until [ "$($K get node nb -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = Unknown ]; do
    i=$((i+1)); [ $i -gt 300 ] && break; sleep 0.1
done
took=$(( $(date +%s) - start ))
expect_eq "$($K get node nb -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" Unknown "killed node goes Unknown"
[ "$took" -ge 2 ] && pass "not before the grace period (${took}s)" || fail "went Unknown after only ${took}s"
expect_match "$($K get nodes 2>&1)" 'nb +NotReady' "get nodes shows NotReady"
expect_match "$($K get node nb -o jsonpath='{.spec.taints[*].key}')" 'node.kubernetes.io/unreachable' "unreachable taint"
# Evicted pods stay Terminating on the dead node (as upstream: nobody can
# confirm they stopped); the replacements must all run on na.
live_nodes() {
    $K get pods -l app=web --field-selector=status.phase=Running \
        -o go-template='{{range .items}}{{if not .metadata.deletionTimestamp}}{{.spec.nodeName}}{{"\n"}}{{end}}{{end}}' | sort | uniq -c | tr -s ' '
}
all_on_na() { [ "$(live_nodes)" = ' 4 na' ]; }
WAIT_SECS=40 wait_for "pods rescheduled onto na" all_on_na
wait_for "NodeNotReady event" sh -c "$K get events 2>&1 | grep -q NodeNotReady"
kill -9 "$AGENT_A" 2>/dev/null
stop_server

# --- leader election: two controller managers against one API server
rm -rf "$T/data"
: >"$T/server.log"
start_server --disable-controllers all --hollow-nodes 1
"$SKIFF" controller-manager --kubeconfig "$KUBECONFIG" --identity cm-a >"$T/cm-a.log" 2>&1 &
CMA=$!
"$SKIFF" controller-manager --kubeconfig "$KUBECONFIG" --identity cm-b >"$T/cm-b.log" 2>&1 &
CMB=$!
trap 'kill -9 $CMA $CMB 2>/dev/null || true; cleanup' EXIT
wait_for "a leader holds the lease" sh -c "$K -n kube-system get lease kube-controller-manager -o jsonpath='{.spec.holderIdentity}' | grep -Eq '^cm-(a|b)$'"
leader=$($K -n kube-system get lease kube-controller-manager -o jsonpath='{.spec.holderIdentity}')
leaders=$(grep -l 'became leader' "$T/cm-a.log" "$T/cm-b.log" | wc -l)
expect_eq "$leaders" 1 "exactly one controller manager leads"
$K create deployment le --image=busybox >/dev/null
wait_for "the leader runs the controllers" sh -c "$K get deploy le --no-headers | grep -q ' 1/1 '"
if [ "$leader" = cm-a ]; then kill -TERM $CMA; wait $CMA; other=cm-b; else kill -TERM $CMB; wait $CMB; other=cm-a; fi
i=0
until [ "$($K -n kube-system get lease kube-controller-manager -o jsonpath='{.spec.holderIdentity}')" = "$other" ]; do
    i=$((i+1)); [ $i -gt 400 ] && break; sleep 0.1
done
expect_eq "$($K -n kube-system get lease kube-controller-manager -o jsonpath='{.spec.holderIdentity}')" "$other" "the other instance takes over"
$K scale deploy le --replicas=2 >/dev/null
wait_for "the new leader runs the controllers" sh -c "$K get deploy le --no-headers | grep -q ' 2/2 '"
kill -TERM $CMA $CMB 2>/dev/null; wait $CMA $CMB 2>/dev/null || true
finish
