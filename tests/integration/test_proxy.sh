#!/bin/bash
# The API server's node- and pod-facing subresources without a node agent:
# pods/proxy, services/proxy and `kubectl proxy` reach the netexec sample on
# 127.0.0.1 (a pod whose status.podIP is 127.0.0.1); pods/log and
# nodes/proxy reach a fake node agent, an `openssl s_server` that requires
# the API server's client certificate; with python3, exec/portforward
# tunnels and followed logs go through a small upgrade-echo agent.
. "$(dirname "$0")/lib.sh"
K=kubectl
NETEXEC="$(dirname "$SKIFF")/samples/netexec"
[ -x "$NETEXEC" ] || { echo "skip: $NETEXEC not built"; exit 77; }
command -v kubectl >/dev/null || { echo "skip: no kubectl"; exit 77; }

BG=""
cleanup_proxy() {
    for p in $BG; do kill "$p" 2>/dev/null || true; done
    cleanup
}
trap cleanup_proxy EXIT
bg() { "$@" & BG="$BG $!"; }
wait_port() { wait_for "$1 listens" bash -c "exec 3<>/dev/tcp/127.0.0.1/$2"; }
# call METHOD PATH [curl args]: like api, with the body in $out (and $CODE set here)
call() { api "$@" >"$T/body" || true; out=$(cat "$T/body"); }

start_server
NS=/api/v1/namespaces/default

# ---- pods/proxy to netexec on 127.0.0.1 -------------------------------------
NP=$(free_port)
bg "$NETEXEC" --http-port "$NP" --udp-port 0 >"$T/netexec.log" 2>&1
wait_port netexec "$NP"
$K apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  schedulerName: nobody
  containers: [{name: web, image: netexec, ports: [{containerPort: $NP}]}]
EOF
$K patch pod web --subresource=status --type=merge \
    -p '{"status":{"podIP":"127.0.0.1","podIPs":[{"ip":"127.0.0.1"}]}}' >/dev/null
HOST=$(hostname)
expect_eq "$($K get --raw $NS/pods/web/proxy/hostname 2>&1)" "$HOST" "pods/proxy default port (first containerPort)"
expect_eq "$($K get --raw "$NS/pods/web:$NP/proxy/echo?msg=hello" 2>&1)" "hello" "pods/proxy NAME:PORT with query"
expect_eq "$($K get --raw "$NS/pods/http:web:$NP/proxy/echo?msg=a%20b" 2>&1)" "a b" "pods/proxy scheme:NAME:PORT"
expect_eq "$(echo '{}' | $K create --raw "$NS/pods/web/proxy/echo?msg=posted" -f - 2>&1)" "posted" "POST through pods/proxy"
call GET "$NS/pods/web/proxy?x=1" -D "$T/h301"
expect_eq "$CODE" 301 "pods/.../proxy redirects to proxy/"
expect_match "$(cat "$T/h301")" "Location: $NS/pods/web/proxy/\?x=1" "redirect Location keeps the query"
call GET "$NS/pods/web/proxy/nothere"
expect_eq "$CODE/$out" "404/404 page not found" "backend status and body pass through"
out=$($K get --raw "$NS/pods/web:1/proxy/" 2>&1) || true
expect_match "$out" 'ServiceUnavailable.*error trying to reach service: dial tcp 127.0.0.1:1: connect: connection refused' "unreachable port is 503"
expect_match "$($K get --raw $NS/pods/nope/proxy/ 2>&1)" 'NotFound.*pods "nope" not found' "missing pod is 404"
expect_match "$($K get --raw $NS/pods/a:b:c:d/proxy/ 2>&1)" 'invalid pod request "a:b:c:d"' "bad NAME:PORT is 400"

KP=$(free_port)
bg $K proxy --port="$KP" >"$T/kproxy.log" 2>&1
wait_port "kubectl proxy" "$KP"
expect_eq "$(curl -s "http://127.0.0.1:$KP$NS/pods/web:$NP/proxy/hostname")" "$HOST" "kubectl proxy + curl to pods/NAME:PORT/proxy/"
expect_eq "$(curl -s -X POST -d x "http://127.0.0.1:$KP$NS/pods/web:$NP/proxy/echo?msg=viaproxy")" "viaproxy" "POST via kubectl proxy"

# ---- services/proxy ----------------------------------------------------------
$K apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Service
metadata: {name: svc}
spec:
  ports: [{name: http, port: 80}, {name: other, port: 81}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: svc}
subsets:
- addresses: [{ip: 127.0.0.1, targetRef: {kind: Pod, name: web, namespace: default}}]
  ports: [{name: http, port: $NP}]
---
apiVersion: v1
kind: Service
metadata: {name: empty}
spec:
  ports: [{port: 80}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: empty}
EOF
expect_eq "$($K get --raw $NS/services/svc:http/proxy/hostname 2>&1)" "$HOST" "services/proxy by port name"
expect_eq "$($K get --raw "$NS/services/svc:80/proxy/echo?msg=svc" 2>&1)" "svc" "services/proxy by port number"
expect_eq "$(curl -s "http://127.0.0.1:$KP$NS/services/svc:http/proxy/hostname")" "$HOST" "kubectl proxy to services/proxy"
expect_match "$($K get --raw $NS/services/empty/proxy/ 2>&1)" 'ServiceUnavailable.*no endpoints available for service "empty"' "no endpoints is 503"
expect_match "$($K get --raw $NS/services/svc:82/proxy/ 2>&1)" 'no service port 82 found for service "svc"' "unknown service port is 503"

# ---- pods/log validation without a node ---------------------------------------
$K apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: two}
spec:
  schedulerName: nobody
  initContainers: [{name: init, image: x}]
  containers: [{name: a, image: x}, {name: b, image: x}]
EOF
call GET "$NS/pods/web/log"
expect_eq "$CODE/$out" "204/" "log of an unscheduled pod is empty (204, as upstream)"
expect_match "$($K get --raw $NS/pods/two/log 2>&1)" 'BadRequest.*a container name must be specified for pod two, choose one of: \[init a b\]' "log needs a container name"
expect_match "$($K get --raw "$NS/pods/two/log?container=zz" 2>&1)" 'BadRequest.*container zz is not valid for pod two' "log rejects an unknown container"
call GET "$NS/pods/web/log?tailLines=-1"
expect_match "$CODE $out" '^422 .*tailLines: Invalid value: -1: must be greater than or equal to 0' "log options are validated"
expect_match "$($K get --raw "$NS/pods/web/exec" 2>&1)" 'you must specify at least 1 command' "exec needs a command"
expect_match "$($K get --raw "$NS/pods/web/exec?command=ls" 2>&1)" 'pod web does not have a host assigned' "exec needs a node"

# ---- a fake node agent: pods/log and nodes/proxy over TLS with client certs -----
if command -v openssl >/dev/null; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
        -subj /CN=fake-agent -keyout "$T/agent.key" -out "$T/agent.crt" 2>/dev/null
    mkdir -p "$T/www/containerLogs/default/lp"
    printf 'hello\nworld\n' >"$T/www/containerLogs/default/lp/c"
    printf 'world\n' >"$T/www/containerLogs/default/lp/c?tailLines=1"
    printf 'ok' >"$T/www/healthz"
    AP=$(free_port)
    # -WWW serves files from the cwd; -Verify 1 requires a client certificate from the cluster CA
    (cd "$T/www" && exec openssl s_server -quiet -WWW -accept "127.0.0.1:$AP" -cert "$T/agent.crt" \
        -key "$T/agent.key" -Verify 1 -CAfile "$PKI/ca.crt") >"$T/s_server.log" 2>&1 &
    BG="$BG $!"
    wait_port "fake agent" "$AP"
    $K apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata: {name: fake}
---
apiVersion: v1
kind: Pod
metadata: {name: lp}
spec:
  nodeName: fake
  containers: [{name: c, image: x}]
EOF
    $K patch node fake --subresource=status --type=merge -p '{"status":{"addresses":[{"type":"Hostname","address":"fake"},{"type":"InternalIP","address":"127.0.0.1"}],"daemonEndpoints":{"kubeletEndpoint":{"Port":'"$AP"'}}}}' >/dev/null
    expect_eq "$($K logs lp 2>&1)" $'hello\nworld' "kubectl logs through the node agent"
    expect_eq "$($K logs lp --tail=1 2>&1)" "world" "log options reach the agent"
    expect_eq "$($K get --raw /api/v1/nodes/fake/proxy/healthz 2>&1)" "ok" "nodes/proxy to the agent"
    expect_eq "$($K get --raw /api/v1/nodes/fake:$AP/proxy/healthz 2>&1)" "ok" "nodes/NAME:PORT/proxy with the agent port"
    expect_match "$($K get --raw /api/v1/nodes/ghost/proxy/healthz 2>&1)" 'NotFound.*nodes "ghost" not found' "nodes/proxy for a missing node"
    expect_match "$($K get --raw "$NS/pods/lp/exec?command=ls" 2>&1)" 'Upgrade request required' "exec without an upgrade is refused"
    expect_match "$(grep -c 'verify return:1' "$T/s_server.log")" '^[1-9]' "agent saw a client certificate from the cluster CA"
else
    echo "skip: no openssl, fake node agent part not run"
fi

# ---- tunnels and followed logs through an upgrade-echo agent (python3) ------------
if command -v python3 >/dev/null && command -v openssl >/dev/null; then
    cat >"$T/agent.py" <<'PYEOF'
import socket, ssl, sys, threading, base64, hashlib, time
port, cert, key, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.verify_mode = ssl.CERT_REQUIRED
ctx.load_verify_locations(ca)
def serve(c):
    try:
        c = ctx.wrap_socket(c, server_side=True)
        head = b''
        while b'\r\n\r\n' not in head:
            d = c.recv(4096)
            if not d: return
            head += d
        head, rest = head.split(b'\r\n\r\n', 1)
        lines = head.decode().split('\r\n')
        cn = dict(x[0] for x in c.getpeercert()['subject'])['commonName']
        print('REQ', lines[0], 'CN=' + cn, flush=True)
        h = {}
        for l in lines[1:]:
            k, v = l.split(':', 1)
            h.setdefault(k.strip().lower(), []).append(v.strip())
        if '/containerLogs/' in lines[0]:
            if '/bad' in lines[0]:
                body = b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"container bad is waiting to start","reason":"BadRequest","code":400}'
                c.sendall(b'HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' % (len(body), body))
                return
            c.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n')
            n = 0
            try:
                while True:
                    line = b'line %d\n' % n
                    n += 1
                    c.sendall(b'%x\r\n%s\r\n' % (len(line), line))
                    time.sleep(0.05)
            except OSError:
                print('FOLLOW-ENDED', flush=True)
            return
        r = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ' + h['upgrade'][0] + '\r\n'
        if 'sec-websocket-key' in h:
            acc = base64.b64encode(hashlib.sha1((h['sec-websocket-key'][0] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').encode()).digest()).decode()
            r += 'Sec-WebSocket-Accept: ' + acc + '\r\nSec-WebSocket-Protocol: ' + h['sec-websocket-protocol'][0] + '\r\n'
        if 'x-stream-protocol-version' in h:
            r += 'X-Stream-Protocol-Version: ' + h['x-stream-protocol-version'][0] + '\r\n'
        c.sendall(r.encode() + b'\r\nagent-hello\n' + rest)
        while True:
            d = c.recv(65536)
            if not d or d == b'bye\n': break
            c.sendall(d)
    except Exception as e:
        print('ERR', e, flush=True)
    finally:
        c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', port))
s.listen(16)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PYEOF
    cat >"$T/client.py" <<'PYEOF'
# Upgrade request through the API server; prints the reply head, then the
# bytes echoed for "ping", then whether the tunnel closed after "bye".
import socket, ssl, sys
port, path, cert, key, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.load_cert_chain(cert, key)
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', port), timeout=10))
if mode == 'ws':
    hdr = 'GET %s HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n'
else:
    hdr = 'POST %s HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\nContent-Length: 0\r\n\r\n'
s.sendall((hdr % path).encode())
buf = b''
while b'\r\n\r\n' not in buf:
    d = s.recv(4096)
    if not d: break
    buf += d
head, _, rest = buf.partition(b'\r\n\r\n')
print(head.decode().replace('\r\n', '|'))
if b' 101 ' not in head.split(b'\r\n')[0]:
    sys.exit(0)
s.sendall(b'ping\n')
while rest.count(b'\n') < 2:
    d = s.recv(4096)
    if not d: break
    rest += d
print('DATA ' + rest.decode().replace('\n', '|'))
s.sendall(b'bye\n')
try:
    while s.recv(4096): pass
    print('CLOSED')
except socket.timeout:
    print('NOT-CLOSED')
PYEOF
    UP=$(free_port)
    bg python3 "$T/agent.py" "$UP" "$T/agent.crt" "$T/agent.key" "$PKI/ca.crt" >"$T/agent.log" 2>&1
    wait_port "upgrade agent" "$UP"
    $K apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata: {name: fake2}
---
apiVersion: v1
kind: Pod
metadata: {name: up}
spec:
  nodeName: fake2
  containers: [{name: c, image: x}, {name: bad, image: x}]
EOF
    $K patch node fake2 --subresource=status --type=merge -p '{"status":{"addresses":[{"type":"InternalIP","address":"127.0.0.1"}],"daemonEndpoints":{"kubeletEndpoint":{"Port":'"$UP"'}}}}' >/dev/null
    out=$(python3 "$T/client.py" "$PORT" "$NS/pods/up/exec?command=sh&command=-c&container=c&stdout=true" "$PKI/admin.crt" "$PKI/admin.key" ws 2>&1) || true
    expect_match "$out" '^HTTP/1.1 101 .*Upgrade: websocket.*Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=.*Sec-WebSocket-Protocol: v5.channel.k8s.io' "exec: the agent's 101 reaches the client"
    expect_match "$out" 'DATA agent-hello\|ping\|' "exec: bytes flow both ways"
    expect_match "$out" 'CLOSED' "exec: the tunnel closes when the agent does"
    expect_match "$(cat "$T/agent.log")" 'REQ GET /exec/default/up/c\?command=sh&command=-c&container=c&stdout=true HTTP/1.1 CN=kube-apiserver-kubelet-client' "exec: agent path, query and client certificate"
    out=$(python3 "$T/client.py" "$PORT" "$NS/pods/up/portforward" "$PKI/admin.crt" "$PKI/admin.key" spdy 2>&1) || true
    expect_match "$out" '^HTTP/1.1 101 .*Upgrade: SPDY/3.1.*X-Stream-Protocol-Version: portforward.k8s.io' "portforward: the SPDY 101 reaches the client"
    expect_match "$out" 'DATA agent-hello\|ping\|' "portforward: bytes flow both ways"
    expect_match "$(cat "$T/agent.log")" 'REQ POST /portForward/default/up HTTP/1.1' "portforward: agent path"
    out=$(timeout 10 $K logs -f up -c c 2>&1 | head -3) || true
    expect_eq "$out" $'line 0\nline 1\nline 2' "logs -f streams as the agent writes"
    wait_for "followed log ends at the agent when the client leaves" grep -q FOLLOW-ENDED "$T/agent.log"
    expect_match "$($K logs up -c bad 2>&1)" 'BadRequest.*container bad is waiting to start' "agent Status errors pass through"
else
    echo "skip: no python3, tunnel part not run"
fi

finish
