#!/bin/sh
# Containers that fail, as a real node reports them: CrashLoopBackOff with
# growing delays, liveness restarts, readiness out of Endpoints, OOMKilled,
# unpullable images (ErrImagePull -> ImagePullBackOff with a helpful
# message) and the same image served by a registries.yaml mirror (Debian's
# docker-registry on 127.0.0.1 inside the test host).
. "$(dirname "$0")/lib.sh"

IMG=registry.k8s.io/e2e-test-images/agnhost:2.39
start_server
WAIT_SECS=30 wait_for "node Ready" node_ready

kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: crasher}
spec:
  containers:
  - {name: c, image: $IMG, command: [sh, -c, "echo crashing; echo bye from crasher >/dev/termination-log; exit 1"]}
---
apiVersion: v1
kind: Pod
metadata: {name: unlively}
spec:
  containers:
  - name: c
    image: $IMG
    command: [sh, -c, "sleep 3600"]
    livenessProbe:
      httpGet: {path: /, port: 9999}
      periodSeconds: 1
      failureThreshold: 2
---
apiVersion: v1
kind: Pod
metadata: {name: hog}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: $IMG
    command: [sh, -c, "tail /dev/zero"]
    resources: {limits: {memory: 32Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: unpullable}
spec:
  containers:
  - {name: c, image: "127.0.0.1:5999/nothing/here:1.0"}
EOF

# CrashLoopBackOff: restarts with growing back-off (10 s, then 20 s).
crashloop() { kc get pod crasher -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}' | grep -q CrashLoopBackOff; }
wait_for "crasher goes to CrashLoopBackOff" crashloop
restarts() { kc get pod crasher -o jsonpath='{.status.containerStatuses[0].restartCount}'; }
# The back-off doubles: the waiting message names 10s, then 20s.
BACKOFFS=""
two() {
    m=$(kc get pod crasher -o jsonpath='{.status.containerStatuses[0].state.waiting.message}')
    b=$(printf '%s' "$m" | sed -n 's/^back-off \([0-9]*s\) restarting failed container.*/\1/p')
    case " $BACKOFFS " in *" $b "*) ;; *) [ -n "$b" ] && BACKOFFS="$BACKOFFS $b" ;; esac
    [ "$(restarts)" -ge 2 ] && case "$BACKOFFS" in *20s*) true ;; *) false ;; esac
}
WAIT_SECS=60 wait_for "crasher restarted twice" two
expect_eq "$BACKOFFS" " 10s 20s" "restart delays grow: 10s, then 20s"
expect_match "$(kc get pod crasher -o jsonpath='{.status.containerStatuses[0].lastState.terminated.exitCode} {.status.containerStatuses[0].lastState.terminated.reason}')" \
    '^1 Error$' "lastState.terminated: exit 1, Error"
expect_eq "$(kc get pod crasher -o jsonpath='{.status.containerStatuses[0].lastState.terminated.message}')" \
    "bye from crasher" "termination message from /dev/termination-log"
expect_match "$(kc get pod crasher)" 'crasher +0/1 +(CrashLoopBackOff|Error) +[0-9]' "kubectl get pod shows the crash loop"
expect_match "$(kc get events --field-selector involvedObject.name=crasher)" \
    'BackOff.*Back-off restarting failed container c in pod crasher' "BackOff event"
expect_match "$(kc logs crasher --previous)" '^crashing$' "logs --previous"
# The delays grow: the gap before the second restart exceeds the first.
t_event() { kc get events --field-selector involvedObject.name=crasher,reason=Started -o jsonpath='{.items[0].count}'; }
expect_match "$(t_event)" '^[0-9]+$' "Started events aggregated with a count"

# Liveness failure restarts the container with an event.
lrestart() { [ "$(kc get pod unlively -o jsonpath='{.status.containerStatuses[0].restartCount}')" -ge 1 ]; }
WAIT_SECS=40 wait_for "liveness failure restarts the container" lrestart
expect_match "$(kc get events --field-selector involvedObject.name=unlively)" \
    'Unhealthy.*Liveness probe failed' "Unhealthy event"
expect_match "$(kc get events --field-selector involvedObject.name=unlively)" \
    'failed liveness probe, will be restarted' "Killing event for the liveness restart"

# OOMKilled under a 32Mi limit.
oom() { kc get pod hog -o jsonpath='{.status.containerStatuses[0].state.terminated.reason}' | grep -q OOMKilled; }
WAIT_SECS=40 wait_for "memory hog is OOMKilled" oom
expect_eq "$(kc get pod hog -o jsonpath='{.status.phase}')" Failed "OOMKilled pod with restartPolicy Never is Failed"

# Unpullable image: ErrImagePull, then ImagePullBackOff, naming the registry and the mirror config.
pullerr() { kc get pod unpullable -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}' | grep -Eq 'ErrImagePull|ImagePullBackOff'; }
wait_for "unpullable image: ErrImagePull" pullerr
backoff() { kc get pod unpullable -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}' | grep -q ImagePullBackOff; }
WAIT_SECS=40 wait_for "then ImagePullBackOff" backoff
EV=$(kc get events --field-selector involvedObject.name=unpullable -o jsonpath='{range .items[*]}{.reason}: {.message}{"\n"}{end}')
expect_match "$EV" 'Failed: .*127\.0\.0\.1:5999' "the pull error names the registry tried"
expect_match "$EV" 'registries\.yaml' "the pull error names the mirror config"

# Readiness drives Endpoints.
kc apply -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: rd}
spec:
  replicas: 2
  selector: {matchLabels: {app: rd}}
  template:
    metadata: {labels: {app: rd}}
    spec:
      containers:
      - name: c
        image: $IMG
        args: [netexec, --http-port=8080]
        readinessProbe:
          exec: {command: [cat, /tmp/ready]}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: rd}
spec:
  selector: {app: rd}
  ports: [{port: 80, targetPort: 8080}]
EOF
two_running() { [ "$(kc get pods -l app=rd --field-selector=status.phase=Running -o name | wc -l)" = 2 ]; }
wait_for "readiness pods running" two_running
expect_eq "$(kc get endpoints rd -o jsonpath='{.subsets[0].addresses}')" "" "not ready: no ready addresses"
for p in $(kc get pods -l app=rd -o jsonpath='{.items[*].metadata.name}'); do kc exec "$p" -- touch /tmp/ready; done
two_ready() { [ "$(kc get endpoints rd -o jsonpath='{.subsets[0].addresses[*].ip}' | wc -w)" = 2 ]; }
wait_for "both pods ready: two Endpoints addresses" two_ready
P1=$(kc get pods -l app=rd -o jsonpath='{.items[0].metadata.name}')
kc exec "$P1" -- rm /tmp/ready
one_ready() { [ "$(kc get endpoints rd -o jsonpath='{.subsets[0].addresses[*].ip}' | wc -w)" = 1 ] &&
              [ "$(kc get endpoints rd -o jsonpath='{.subsets[0].notReadyAddresses[*].ip}' | wc -w)" = 1 ]; }
wait_for "readiness failure moves the pod to notReadyAddresses" one_ready

# A registries.yaml mirror serves an image from a registry the node cannot reach by name.
REG_PORT=5111
mkdir -p "$T/reg"
cat >"$T/reg/config.yml" <<EOF
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $T/reg/data}}
http: {addr: "127.0.0.1:$REG_PORT"}
EOF
bg sh -c "exec ip netns exec $NS docker-registry serve $T/reg/config.yml >$T/reg/log 2>&1"
reg_up() { in_ns curl -sf "http://127.0.0.1:$REG_PORT/v2/" >/dev/null; }
wait_for "docker-registry up" reg_up
# Push the built-in hello image's blobs from the node's store under another name.
IMGS="$T/data/images"
MDIG=$(jq -r '.manifests[] | select(.annotations["io.containerd.image.name"] == "gcr.io/google-samples/kubernetes-bootcamp:v1") | .digest' "$IMGS/index.json")
MAN="$IMGS/blobs/sha256/${MDIG#sha256:}"
REPO=mirror-test/hello
push_blob() {
    loc=$(in_ns curl -si -X POST "http://127.0.0.1:$REG_PORT/v2/$REPO/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
    case "$loc" in http*) ;; *) loc="http://127.0.0.1:$REG_PORT$loc" ;; esac
    case "$loc" in *\?*) sep='&' ;; *) sep='?' ;; esac
    in_ns curl -sf -X PUT -H 'Content-Type: application/octet-stream' \
        --data-binary "@$IMGS/blobs/sha256/${1#sha256:}" "$loc${sep}digest=$1" >/dev/null
}
for d in $(jq -r '.config.digest, .layers[].digest' "$MAN"); do push_blob "$d"; done
in_ns curl -sf -X PUT -H "Content-Type: $(jq -r '.mediaType // "application/vnd.oci.image.manifest.v1+json"' "$MAN")" \
    --data-binary "@$MAN" "http://127.0.0.1:$REG_PORT/v2/$REPO/manifests/v1" >/dev/null &&
    pass "image pushed to the local registry" || fail "push to the local registry"
cat >"$T/data/registries.yaml" <<EOF
mirrors:
  example.invalid:
    endpoint: ["http://127.0.0.1:$REG_PORT"]
EOF
kc run mirrored --image=example.invalid/$REPO:v1 --image-pull-policy=Always >/dev/null
mrun() { [ "$(pod_phase mirrored)" = Running ]; }
WAIT_SECS=40 wait_for "an image behind a mirror pulls and runs" mrun
expect_match "$(kc describe pod mirrored)" 'Successfully pulled image "example.invalid/mirror-test/hello:v1"' "Pulled event"

kc delete pod --all --grace-period=1 >/dev/null 2>&1 || true
kc delete deploy rd >/dev/null
gone() { [ -z "$(kc get pods -o name)" ]; }
wait_for "all pods deleted" gone
empty() { [ "$(rt_containers)" = 0 ] && [ "$(rt_layers)" = 0 ] && [ "$(rt_sandboxes)" = 0 ] && [ "$(ip_leases)" = 0 ]; }
WAIT_SECS=20 wait_for "nothing left in the runtime" empty
finish
