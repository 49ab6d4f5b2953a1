#!/bin/sh
# Services on one real node, as the tutorial uses them: a NodePort on the
# node address and 127.0.0.1 spreading over every replica, the ClusterIP
# from inside a pod, endpoints following scale-down, a refused connection
# for a service without endpoints, LoadBalancer with an EXTERNAL-IP,
# sessionAffinity ClientIP; cluster DNS from a pod; the proxy touches only
# its own nftables table and `skiff cleanup` removes what the node made.
. "$(dirname "$0")/lib.sh"

nft_tables() { in_ns nft list tables 2>/dev/null | sort; }
# A table that is not ours, present before the cluster starts.
in_ns nft add table inet e2e_foreign
in_ns nft add chain inet e2e_foreign keep '{ type filter hook output priority 0; policy accept; }'
FOREIGN_BEFORE=$(in_ns nft list table inet e2e_foreign)

start_server
WAIT_SECS=30 wait_for "node Ready" node_ready
expect_match "$(nft_tables)" 'table inet skiff' "the proxy programs its own table"
expect_eq "$(in_ns nft list table inet e2e_foreign)" "$FOREIGN_BEFORE" "another table is left alone"

kc create deployment kubernetes-bootcamp --image=gcr.io/google-samples/kubernetes-bootcamp:v1 --replicas=4 >/dev/null
kc expose deployment/kubernetes-bootcamp --type=NodePort --port 8080 >/dev/null
four() { [ "$(kc get deploy kubernetes-bootcamp -o jsonpath='{.status.readyReplicas}')" = 4 ] &&
         [ "$(kc get endpoints kubernetes-bootcamp -o jsonpath='{.subsets[0].addresses[*].ip}' | wc -w)" = 4 ]; }
WAIT_SECS=60 wait_for "4 replicas ready and in the endpoints" four
NP=$(kc get svc kubernetes-bootcamp -o jsonpath='{.spec.ports[0].nodePort}')
CIP=$(kc get svc kubernetes-bootcamp -o jsonpath='{.spec.clusterIP}')
IP=$(in_ns "$SKIFF" ip --kubeconfig "$KUBECONFIG")
expect_eq "$IP" "$NODE_IP" "skiff ip prints the node address"
expect_eq "$(in_ns "$SKIFF" service kubernetes-bootcamp --url --kubeconfig "$KUBECONFIG")" "http://$NODE_IP:$NP" \
    "skiff service --url"

# 40 requests each to NODE_IP:NP and 127.0.0.1:NP: all answer, all 4 pods hit.
for target in "$IP:$NP" "127.0.0.1:$NP"; do
    : >"$T/hits"
    for k in $(seq 1 40); do in_ns curl -s --max-time 2 "http://$target/" >>"$T/hits"; done
    expect_eq "$(grep -c 'Hello Kubernetes bootcamp' "$T/hits")" 40 "40/40 answers on $target"
    expect_eq "$(sed -n 's/.*Running on: \([^ ]*\) .*/\1/p' "$T/hits" | sort -u | wc -l)" 4 "all 4 pods served $target"
done

P0=$(pod_of app=kubernetes-bootcamp)
expect_match "$(kc exec "$P0" -- curl -s --max-time 3 "http://$CIP:8080/")" 'Hello Kubernetes bootcamp' \
    "the ClusterIP answers from inside a pod"
expect_match "$(kc exec "$P0" -- curl -s --max-time 3 http://kubernetes-bootcamp:8080/)" 'Hello Kubernetes bootcamp' \
    "the service name answers from inside a pod"
expect_match "$(kc exec "$P0" -- curl -sk --max-time 3 https://kubernetes.default/version)" '"gitVersion"' \
    "pods reach the API server through the kubernetes service"

# Scale to 1: within 2 s of the endpoints changing, only the survivor answers.
kc scale deployment kubernetes-bootcamp --replicas=1 >/dev/null
one_ep() { [ "$(kc get endpoints kubernetes-bootcamp -o jsonpath='{.subsets[0].addresses[*].ip}' | wc -w)" = 1 ]; }
wait_for "endpoints down to 1" one_ep
sleep 2
: >"$T/hits"
for k in $(seq 1 10); do in_ns curl -s --max-time 2 "http://$IP:$NP/" >>"$T/hits"; done
expect_eq "$(grep -c 'Hello Kubernetes bootcamp' "$T/hits")" 10 "after scaling down, every request answers"
expect_eq "$(sed -n 's/.*Running on: \([^ ]*\) .*/\1/p' "$T/hits" | sort -u | wc -l)" 1 "... from the one remaining pod"

# No endpoints: refused at once, not a timeout.
kc create service clusterip empty --tcp=80:8080 >/dev/null
EIP=$(kc get svc empty -o jsonpath='{.spec.clusterIP}')
t0=$(date +%s%N)
rc=0; in_ns curl -s --max-time 5 "http://$EIP/" >/dev/null 2>&1 || rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "$rc" 7 "a service without endpoints refuses the connection (curl exit 7)"
[ "$ms" -lt 1000 ] && pass "refused in ${ms} ms" || fail "refusal took ${ms} ms"

# LoadBalancer: an EXTERNAL-IP that answers.
kc expose deployment/kubernetes-bootcamp --name lb --type=LoadBalancer --port 9090 --target-port 8080 >/dev/null
lb_ip() { [ -n "$(kc get svc lb -o jsonpath='{.status.loadBalancer.ingress[0].ip}')" ]; }
wait_for "LoadBalancer gets an EXTERNAL-IP" lb_ip
LB=$(kc get svc lb -o jsonpath='{.status.loadBalancer.ingress[0].ip}')
expect_match "$(kc get svc lb)" "lb +LoadBalancer +[0-9.]+ +$LB +9090:" "kubectl get svc shows it"
expect_match "$(in_ns curl -s --max-time 3 "http://$LB:9090/")" 'Hello Kubernetes bootcamp' "the EXTERNAL-IP answers"

# sessionAffinity ClientIP pins a client.
kc scale deployment kubernetes-bootcamp --replicas=3 >/dev/null
three() { [ "$(kc get endpoints kubernetes-bootcamp -o jsonpath='{.subsets[0].addresses[*].ip}' | wc -w)" = 3 ]; }
wait_for "back to 3 endpoints" three
kc patch svc kubernetes-bootcamp -p '{"spec":{"sessionAffinity":"ClientIP"}}' >/dev/null
sleep 1
: >"$T/hits"
for k in $(seq 1 20); do in_ns curl -s --max-time 2 "http://$CIP:8080/" >>"$T/hits"; done
expect_eq "$(sed -n 's/.*Running on: \([^ ]*\) .*/\1/p' "$T/hits" | sort -u | wc -l)" 1 "ClientIP affinity: one pod serves all 20"

# DNS from inside a pod.
kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Service
metadata: {name: headless}
spec:
  clusterIP: None
  selector: {app: kubernetes-bootcamp}
  ports: [{name: http, port: 8080, protocol: TCP}]
EOF
hl() { [ "$(kc exec "$P0" -- nslookup headless.default.svc.cluster.local 2>/dev/null | grep -c '^Address: 10\.244\.')" = 3 ]; }
P0=$(pod_of app=kubernetes-bootcamp)
WAIT_SECS=20 wait_for "headless service: one A record per pod" hl
expect_match "$(kc exec "$P0" -- nslookup kubernetes.default 2>&1)" 'Address: 10\.96\.0\.1' "nslookup kubernetes.default"
expect_match "$(kc exec "$P0" -- nslookup kubernetes-bootcamp.default.svc.cluster.local 2>&1)" "Address: $CIP" \
    "nslookup of the service's full name"
expect_match "$(kc exec "$P0" -- nslookup -type=SRV _http._tcp.headless.default.svc.cluster.local 2>&1)" \
    'port = 8080|8080 ' "SRV record of a named port"
rc=0; out=$(kc exec "$P0" -- nslookup nothing-here.default.svc.cluster.local 2>&1) || rc=$?
expect_match "$out" "NXDOMAIN|can't find" "an unknown name is NXDOMAIN"
expect_match "$(kc exec "$P0" -- cat /etc/resolv.conf)" 'nameserver 10\.96\.0\.10' "pods use the cluster DNS"
expect_match "$(kc exec "$P0" -- cat /etc/resolv.conf)" 'search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local' \
    "with the cluster search path"

# Cleanup: pods, the proxy's table, pod networking; the foreign table stays.
kc delete deploy kubernetes-bootcamp >/dev/null
gone() { [ -z "$(kc get pods -o name)" ]; }
wait_for "pods deleted" gone
stop_server
node_exec "$SKIFF" cleanup --data-dir "$T/data" --cgroup-parent "$CGP" >"$T/cleanup.log" 2>&1 ||
    fail "skiff cleanup: $(cat "$T/cleanup.log")"
expect_eq "$(nft_tables)" "table inet e2e_foreign" "only the foreign nftables table is left"
expect_eq "$(in_ns nft list table inet e2e_foreign)" "$FOREIGN_BEFORE" "untouched"
expect_eq "$(in_ns ip -o link show type bridge | wc -l)" 0 "no bridge left"
expect_eq "$(veths)" 0 "no pod veths left"
expect_eq "$(in_ns ip route show proto 177 | wc -l)" 0 "no skiff routes left"
finish
