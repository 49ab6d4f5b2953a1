#!/bin/bash
# The core object flow with the real kubectl against a real skiff server.
# KUBECTL may name another kubectl binary (the 1.33 test reuses this).
. "$(dirname "$0")/lib.sh"
K=${KUBECTL:-kubectl}
start_server

out=$($K version -o json 2>&1)
expect_match "$out" '"minor": "32"' "version reports minor 32"
expect_match "$out" '"gitVersion": "v1\.32\.[0-9]+\+skiff' "version gitVersion is semver"

out=$($K cluster-info 2>&1)
expect_match "$out" "Kubernetes control plane is running at https://127.0.0.1:$PORT" "cluster-info"

out=$($K api-resources 2>&1)
expect_match "$out" 'deployments +deploy +apps/v1 +true +Deployment' "api-resources lists deployments"
expect_match "$out" 'pods +po +v1 +true +Pod' "api-resources lists pods"
expect_match "$out" 'selfsubjectaccessreviews' "api-resources lists selfsubjectaccessreviews"

out=$($K get ns 2>&1)
for ns in default kube-system kube-public kube-node-lease; do
    expect_match "$out" "^$ns +Active" "namespace $ns exists"
done

expect_match "$($K create namespace x 2>&1)" 'namespace/x created' "create namespace"
expect_match "$($K get ns x -o jsonpath='{.status.phase}')" '^Active$' "new namespace is Active"

out=$($K create deployment hello --image=busybox -- sleep 3600 2>&1)
expect_match "$out" 'deployment.apps/hello created' "create deployment (protobuf body)"
expect_eq "$($K get deploy hello -o jsonpath='{.spec.template.spec.containers[0].command}')" '["sleep","3600"]' "deployment command stored"
expect_eq "$($K get deploy hello -o jsonpath='{.spec.template.spec.containers[0].name}')" 'busybox' "container named after the image"
expect_eq "$($K get deploy hello -o jsonpath='{.spec.strategy.rollingUpdate.maxSurge}')" '25%' "deployment defaults applied"
expect_eq "$($K get deploy hello -o jsonpath='{.metadata.generation}')" '1' "generation starts at 1"

out=$($K get deployments 2>&1)
expect_match "$out" '^NAME +READY +UP-TO-DATE +AVAILABLE +AGE' "get deployments table header"
expect_match "$out" '^hello +0/1 +[01] +0 +[0-9]+s' "get deployments row"

out=$($K get deploy hello -o yaml 2>&1)
expect_match "$out" 'kind: Deployment' "-o yaml kind"
expect_match "$out" 'resourceVersion: "[0-9]+"' "-o yaml resourceVersion"
expect_match "$out" 'uid: [0-9a-f-]{36}' "-o yaml uid"
expect_match "$out" 'image: busybox' "-o yaml image"

expect_eq "$($K get deploy hello -o jsonpath='{.metadata.labels.app}')" 'hello' "-o jsonpath"
expect_eq "$($K get deploy -o go-template='{{range .items}}{{.metadata.name}}:{{.spec.replicas}} {{end}}')" 'hello:1 ' "-o go-template"

expect_match "$($K label deploy hello tier=web 2>&1)" 'deployment.apps/hello labeled' "label"
expect_match "$($K get deploy -l tier=web -o name)" '^deployment.apps/hello$' "get -l tier=web"
expect_eq "$($K get deploy -l 'tier notin (web)' -o name)" '' "set-based selector excludes"
expect_eq "$($K get deploy -l tier=web,app=hello -o name)" 'deployment.apps/hello' "selector with two requirements"
expect_match "$($K annotate deploy hello note=hi 2>&1)" 'deployment.apps/hello annotated' "annotate"
expect_eq "$($K get deploy hello -o jsonpath='{.metadata.annotations.note}')" 'hi' "annotation stored"
expect_eq "$($K get deploy hello -o jsonpath='{.metadata.generation}')" '1' "metadata changes keep generation"

expect_match "$($K scale deploy hello --replicas=3 2>&1)" 'deployment.apps/hello scaled' "scale"
expect_eq "$($K get deploy hello -o jsonpath='{.spec.replicas}')" '3' "scale subresource set replicas"
expect_eq "$($K get deploy hello -o jsonpath='{.metadata.generation}')" '2' "spec change bumps generation"
expect_match "$(api GET /apis/apps/v1/namespaces/default/deployments/hello/scale)" '"kind":"Scale".*"replicas":3' "GET scale"

cat >"$T/m.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
  labels: {group: applied}
data:
  mode: one
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {group: applied}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports:
        - containerPort: 80
        env:
        - {name: A, value: "1"}
YAML
out=$($K apply -f "$T/m.yaml" 2>&1)
expect_match "$out" 'configmap/app-config created' "apply creates configmap"
expect_match "$out" 'deployment.apps/web created' "apply creates deployment"
sed -i 's/mode: one/mode: two/; s/replicas: 2/replicas: 4/' "$T/m.yaml"
out=$($K apply -f "$T/m.yaml" 2>&1)
expect_match "$out" 'configmap/app-config configured' "re-apply configures configmap"
expect_match "$out" 'deployment.apps/web configured' "re-apply configures deployment"
expect_eq "$($K get cm app-config -o jsonpath='{.data.mode}')" 'two' "apply changed data"
expect_eq "$($K get deploy web -o jsonpath='{.spec.replicas}')" '4' "apply changed replicas"
expect_eq "$($K get deploy web -o jsonpath='{.spec.template.spec.containers[0].env[0].value}')" '1' "apply kept env"
out=$($K apply -f "$T/m.yaml" 2>&1)
expect_match "$out" 'deployment.apps/web unchanged' "apply again is unchanged"

cat >"$T/ssa.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata:
  name: ssa
data:
  k: v1
YAML
expect_match "$($K apply --server-side -f "$T/ssa.yaml" 2>&1)" 'configmap/ssa serverside-applied' "server-side apply creates"
sed -i 's/k: v1/k: v2/' "$T/ssa.yaml"
expect_match "$($K apply --server-side -f "$T/ssa.yaml" 2>&1)" 'configmap/ssa serverside-applied' "server-side apply updates"
expect_eq "$($K get cm ssa -o jsonpath='{.data.k}')" 'v2' "server-side apply value"
expect_match "$($K get cm ssa -o jsonpath='{.metadata.managedFields[*].manager}')" 'kubectl' "managedFields records the manager"

cat >"$T/editor.sh" <<'SH'
#!/bin/sh
sed -i 's/replicas: 4/replicas: 5/' "$1"
SH
chmod +x "$T/editor.sh"
out=$(KUBE_EDITOR="$T/editor.sh" $K edit deploy/web 2>&1)
expect_match "$out" 'deployment.apps/web edited' "edit with scripted editor"
expect_eq "$($K get deploy web -o jsonpath='{.spec.replicas}')" '5' "edit changed replicas"

expect_match "$($K create configmap cfg --from-literal=a=1 --from-literal=b=2 2>&1)" 'configmap/cfg created' "create configmap --from-literal"
expect_eq "$($K get cm cfg -o jsonpath='{.data.b}')" '2' "configmap data"
expect_match "$($K create secret generic s1 --from-literal=password=hunter2 2>&1)" 'secret/s1 created' "create secret generic"
expect_eq "$($K get secret s1 -o jsonpath='{.data.password}' | base64 -d)" 'hunter2' "secret data base64"
expect_match "$($K get secret s1 2>&1)" 's1 +Opaque +1 ' "secret table"

out=$($K delete cm,deploy -l group=applied 2>&1)
expect_match "$out" 'configmap "app-config" deleted' "delete -l configmap"
expect_match "$out" 'deployment.apps "web" deleted' "delete -l deployment"
expect_eq "$($K get deploy web -o name 2>/dev/null)" '' "deleted deployment is gone"

# events: a stored event shows in get events and in describe
uid=$($K get deploy hello -o jsonpath='{.metadata.uid}')
api POST /api/v1/namespaces/default/events -H 'Content-Type: application/json' -d '{
  "apiVersion":"v1","kind":"Event","metadata":{"name":"hello.1"},
  "involvedObject":{"kind":"Deployment","name":"hello","namespace":"default","apiVersion":"apps/v1","uid":"'$uid'"},
  "reason":"ScalingReplicaSet","message":"Scaled up replica set hello-abc to 3","type":"Normal",
  "source":{"component":"deployment-controller"},"count":1}' >/dev/null
expect_eq "$CODE" 201 "create event"
out=$($K get events 2>&1)
expect_match "$out" 'Normal +ScalingReplicaSet +deployment/hello +Scaled up replica set hello-abc to 3' "get events"

$K get cm -w --output-watch-events >"$T/watch.out" 2>&1 &
WPID=$!
sleep 1
$K create configmap w1 --from-literal=x=1 >/dev/null
$K label cm w1 changed=yes >/dev/null
$K delete cm w1 >/dev/null
sleep 1
kill $WPID 2>/dev/null; wait $WPID 2>/dev/null || true
evs=$(grep ' w1 ' "$T/watch.out" | awk '{print $1}' | tr '\n' ' ')
expect_eq "$evs" 'ADDED MODIFIED DELETED ' "get -w prints ADDED, MODIFIED, DELETED in order"

out=$($K explain pod.spec.containers 2>&1)
expect_match "$out" 'KIND: +Pod' "explain kind"
expect_match "$out" 'FIELD: +containers' "explain field"
expect_match "$out" 'image' "explain lists image"

$K run pod1 --image=busybox --labels=app=p1 -- sleep 1000 >/dev/null 2>&1
expect_match "$($K get pod pod1 -o wide 2>&1)" '^pod1 +0/1 +Pending +0 ' "run a pod; get -o wide"
expect_match "$($K create service clusterip svc1 --tcp=80:8080 2>&1)" 'service/svc1 created' "create service (protobuf)"
out=$($K describe deployment hello 2>&1)
expect_match "$out" 'Name: +hello' "describe deployment name"
expect_match "$out" 'Replicas: +3 desired' "describe deployment replicas"
expect_match "$out" 'ScalingReplicaSet' "describe deployment shows events"
out=$($K describe pod pod1 2>&1)
expect_match "$out" 'Name: +pod1' "describe pod name"
expect_match "$out" 'Image: +busybox' "describe pod image"
out=$($K describe service svc1 2>&1)
expect_match "$out" 'Name: +svc1' "describe service name"
expect_match "$out" 'Port: +80-8080 +80/TCP' "describe service port"

expect_eq "$($K auth can-i create pods 2>&1)" 'yes' "auth can-i create pods"
expect_eq "$($K auth can-i create deployments -n x 2>&1)" 'yes' "auth can-i create deployments"

out=$($K get deploy nosuch 2>&1 || true)
expect_match "$out" 'Error from server \(NotFound\): deployments.apps "nosuch" not found' "NotFound error"
out=$($K create namespace x 2>&1 || true)
expect_match "$out" 'Error from server \(AlreadyExists\): namespaces "x" already exists' "AlreadyExists error"
out=$($K create deployment bad --image=busybox -n missing 2>&1 || true)
expect_match "$out" 'namespaces "missing" not found' "create in a missing namespace is 404"

finish
