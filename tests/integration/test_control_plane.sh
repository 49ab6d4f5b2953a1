#!/bin/bash
# The control plane with hollow nodes: deployments, rollouts, services and
# endpoints, garbage collection, namespaces, scheduling failures.
. "$(dirname "$0")/lib.sh"
K=kubectl
start_server --hollow-nodes 2 --hollow-pod-delay 200ms

wait_for "2 hollow nodes Ready" sh -c "[ \$($K get nodes --no-headers 2>/dev/null | grep -c ' Ready ') = 2 ]"
wait_for "default service account" $K get sa default

$K create deployment kubernetes-bootcamp --image=gcr.io/google-samples/kubernetes-bootcamp:v1 >/dev/null
wait_for "deployment 1/1 ready" sh -c "$K get deploy kubernetes-bootcamp --no-headers | grep -q ' 1/1 '"
rs1=$($K get rs -l app=kubernetes-bootcamp -o jsonpath='{.items[0].metadata.name}')
hash=$($K get rs "$rs1" -o jsonpath='{.metadata.labels.pod-template-hash}')
expect_eq "$rs1" "kubernetes-bootcamp-$hash" "ReplicaSet named <deployment>-<pod-template-hash>"
pod=$($K get pods -l app=kubernetes-bootcamp -o jsonpath='{.items[0].metadata.name}')
expect_match "$pod" "^$rs1-[a-z0-9]{5}$" "pod named <rs>-<5 chars>"
expect_match "$($K get pod "$pod" -o jsonpath='{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].controller}')" '^ReplicaSet/true$' "pod owned by its ReplicaSet"
# Events are written asynchronously, by low-priority threads: wait for them.
wait_for "Scheduled event" sh -c "$K get events --field-selector involvedObject.name=$pod 2>&1 | grep -Eq 'Scheduled.*Successfully assigned default/$pod to hollow-'"
wait_for "ScalingReplicaSet event" sh -c "$K get events 2>&1 | grep -Eq 'ScalingReplicaSet.*Scaled up replica set $rs1 from 0 to 1'"

$K scale deployments/kubernetes-bootcamp --replicas=4 >/dev/null
wait_for "4/4 ready" sh -c "$K get deploy kubernetes-bootcamp --no-headers | grep -q ' 4/4 '"
nodes=$($K get pods -l app=kubernetes-bootcamp -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort -u | wc -l)
expect_eq "$nodes" 2 "4 pods spread over both nodes"

# rolling update: observe the deployment status throughout
$K get deploy kubernetes-bootcamp -w -o jsonpath='{.status.replicas} {.status.availableReplicas} {.status.updatedReplicas}{"\n"}' >"$T/roll.out" 2>&1 &
WPID=$!
sleep 0.5
$K set image deployments/kubernetes-bootcamp kubernetes-bootcamp=jocatalin/kubernetes-bootcamp:v2 >/dev/null
out=$(timeout 60 $K rollout status deployment/kubernetes-bootcamp 2>&1)
expect_match "$out" 'deployment "kubernetes-bootcamp" successfully rolled out' "rollout status succeeds"
sleep 0.5
kill $WPID 2>/dev/null; wait $WPID 2>/dev/null || true
max_total=$(awk 'NF>=1 && $1!="" {if ($1+0>m) m=$1+0} END {print m+0}' "$T/roll.out")
min_avail=$(awk 'NF>=2 {if (!seen || $2+0<m) {m=$2+0; seen=1}} END {print m+0}' "$T/roll.out")
[ "$max_total" -le 5 ] && pass "rollout never exceeded maxSurge (max $max_total pods)" || fail "rollout had $max_total pods > 5"
[ "$min_avail" -ge 3 ] && pass "rollout kept availability (min $min_avail)" || fail "rollout dropped to $min_avail available < 3"
expect_match "$(cat "$T/roll.out")" '4 4 4' "status converged to 4/4/4"
expect_eq "$($K get pods -l app=kubernetes-bootcamp -o jsonpath='{range .items[*]}{.spec.containers[0].image}{"\n"}{end}' | sort -u)" 'jocatalin/kubernetes-bootcamp:v2' "all pods run v2"
hist=$($K rollout history deployment/kubernetes-bootcamp 2>&1)
expect_match "$hist" '^1 ' "rollout history revision 1"
expect_match "$hist" '^2 ' "rollout history revision 2"
expect_match "$($K rollout undo deployment/kubernetes-bootcamp 2>&1)" 'rolled back' "rollout undo"
timeout 60 $K rollout status deployment/kubernetes-bootcamp >/dev/null 2>&1
expect_eq "$($K get deploy kubernetes-bootcamp -o jsonpath='{.spec.template.spec.containers[0].image}')" 'gcr.io/google-samples/kubernetes-bootcamp:v1' "undo returns to v1"
expect_eq "$($K get rs -l app=kubernetes-bootcamp --no-headers | wc -l | tr -d ' ')" 2 "undo reused the old ReplicaSet"
expect_eq "$($K get rs "$rs1" -o jsonpath='{.metadata.annotations.deployment\.kubernetes\.io/revision}')" 3 "reused ReplicaSet gets revision 3"
wait_for "v1 pods back" sh -c "[ \"\$($K get pods -l app=kubernetes-bootcamp -o jsonpath='{range .items[*]}{.spec.containers[0].image}{\"\\n\"}{end}' | sort -u)\" = gcr.io/google-samples/kubernetes-bootcamp:v1 ]"

# services: ClusterIP and NodePort allocation, Endpoints and EndpointSlices
expect_match "$($K get svc kubernetes -o jsonpath='{.spec.clusterIP}')" '^10\.96\.0\.1$' "kubernetes service has the first IP"
$K expose deployment/kubernetes-bootcamp --type=NodePort --port 8080 >/dev/null
cip=$($K get svc kubernetes-bootcamp -o jsonpath='{.spec.clusterIP}')
np=$($K get svc kubernetes-bootcamp -o jsonpath='{.spec.ports[0].nodePort}')
expect_match "$cip" '^10\.(9[6-9]|10[0-9]|11[01])\.[0-9]+\.[0-9]+$' "ClusterIP in 10.96.0.0/12"
[ "$np" -ge 30000 ] && [ "$np" -le 32767 ] && pass "nodePort $np in range" || fail "nodePort $np out of range"
podips=$($K get pods -l app=kubernetes-bootcamp --field-selector=status.phase=Running -o jsonpath='{range .items[*]}{.status.podIP}{"\n"}{end}' | sort | tr '\n' ' ')
wait_for "Endpoints list the 4 pod IPs" sh -c "[ \"\$($K get endpoints kubernetes-bootcamp -o jsonpath='{range .subsets[*].addresses[*]}{.ip}{\"\\n\"}{end}' | sort | tr '\n' ' ')\" = '$podips' ]"
wait_for "EndpointSlice lists the 4 pod IPs" sh -c "[ \"\$($K get endpointslices -l kubernetes.io/service-name=kubernetes-bootcamp -o jsonpath='{range .items[*].endpoints[*]}{.addresses[0]}{\"\\n\"}{end}' | sort | tr '\n' ' ')\" = '$podips' ]"
expect_match "$($K describe svc kubernetes-bootcamp 2>&1)" 'Endpoints: +[0-9.]+:8080' "describe service shows endpoints"
out=$($K create service nodeport dup --tcp=80:80 --node-port="$np" 2>&1 || true)
expect_match "$out" 'provided port is already allocated' "duplicate nodePort rejected (422)"

# scheduling failure
$K run nowhere --image=busybox --overrides='{"spec":{"nodeSelector":{"disk":"ssd"}}}' >/dev/null 2>&1
wait_for "FailedScheduling event" sh -c "$K get events --field-selector involvedObject.name=nowhere 2>/dev/null | grep -q \"FailedScheduling.*0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector\""
expect_match "$($K get pod nowhere -o jsonpath='{.status.conditions[0].reason}')" 'Unschedulable' "PodScheduled=False Unschedulable"

# garbage collection: orphan, foreground, background
$K create deployment orph --image=busybox --replicas=2 >/dev/null
wait_for "orph ready" sh -c "$K get deploy orph --no-headers | grep -q ' 2/2 '"
$K delete deployment orph --cascade=orphan >/dev/null
wait_for "orphaned ReplicaSet lost its ownerReference" sh -c "[ -z \"\$($K get rs -l app=orph -o jsonpath='{.items[*].metadata.ownerReferences}')\" ] && [ -n \"\$($K get rs -l app=orph -o name)\" ]"
expect_eq "$($K get pods -l app=orph --no-headers | wc -l | tr -d ' ')" 2 "orphaned pods kept"
$K delete rs -l app=orph >/dev/null
wait_for "background deletion removes pods" sh -c "[ \$($K get pods -l app=orph --no-headers 2>/dev/null | wc -l) = 0 ]"
$K create deployment fg --image=busybox --replicas=2 >/dev/null
wait_for "fg ready" sh -c "$K get deploy fg --no-headers | grep -q ' 2/2 '"
timeout 30 $K delete deployment fg --cascade=foreground >/dev/null 2>&1
expect_eq "$($K get rs,pods -l app=fg --no-headers 2>/dev/null | wc -l | tr -d ' ')" 0 "foreground deletion removed dependents first"
$K delete deployment kubernetes-bootcamp >/dev/null
wait_for "deleting the deployment removes its ReplicaSets and pods" sh -c "[ \$($K get rs,pods -l app=kubernetes-bootcamp --no-headers 2>/dev/null | wc -l) = 0 ]"

# namespace deletion removes its content
$K create namespace doomed >/dev/null
$K -n doomed create deployment d --image=busybox >/dev/null
$K -n doomed create configmap c --from-literal=a=b >/dev/null
wait_for "doomed pod running" sh -c "$K -n doomed get pods --no-headers | grep -q Running"
timeout 60 $K delete namespace doomed >/dev/null 2>&1
expect_match "$($K get ns doomed 2>&1 || true)" 'NotFound' "namespace deleted"
expect_eq "$(api GET /api/v1/namespaces/doomed/configmaps | grep -c '"name":"c"')" 0 "namespace content gone"

finish
