#!/bin/sh
# skiff ip and skiff service (as minikube ip / minikube service) against a
# server with one simulated node.
. "$(dirname "$0")/lib.sh"

start_server --hollow-nodes 1
node_ip() { kubectl get node hollow-0 -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}'; }
wait_for "node has an address" sh -c "[ -n \"\$(kubectl get node hollow-0 -o jsonpath='{.status.addresses[0].address}')\" ]"
IP=$(node_ip)
expect_eq "$("$SKIFF" ip --kubeconfig "$KUBECONFIG")" "$IP" "skiff ip prints the node's InternalIP"
expect_eq "$("$SKIFF" ip)" "$IP" "skiff ip finds the kubeconfig from KUBECONFIG"

kubectl create service nodeport web --tcp=8080:8080 >/dev/null
NP=$(kubectl get svc web -o jsonpath='{.spec.ports[0].nodePort}')
expect_eq "$("$SKIFF" service web --url)" "http://$IP:$NP" "skiff service --url"
expect_match "$("$SKIFF" service web)" "default +web +8080-8080/8080 +http://$IP:$NP" "skiff service table"

kubectl create service clusterip internal --tcp=80:80 >/dev/null
rc=0; out=$("$SKIFF" service internal 2>&1) || rc=$?
expect_eq "$rc" 1 "a ClusterIP service has no URL: exit 1"
expect_match "$out" 'has no node port \(type ClusterIP\)' "and says why"
rc=0; out=$("$SKIFF" service nope -n kube-system 2>&1) || rc=$?
expect_eq "$rc" 1 "unknown service: exit 1"
expect_match "$out" 'services "nope" not found' "with the API's message"
rc=0; "$SKIFF" service >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 2 "usage error: exit 2"
finish
