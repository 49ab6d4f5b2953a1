#!/bin/bash
# Joining nodes without root: `skiff server` writes a join token; a hollow
# `skiff agent --server --token-file` pins the CA from /cacerts, gets a
# node certificate through a CertificateSigningRequest (auto-approved and
# signed by the controller manager) and registers. Also: bootstrap-token
# authentication and its limits, wrong tokens, a CA that does not match the
# token, and kubectl certificate approve/deny on hand-made requests.
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || { echo "openssl missing"; exit 77; }
K=kubectl
AGENT_PID=""
trap '[ -n "$AGENT_PID" ] && kill -9 $AGENT_PID 2>/dev/null; cleanup' EXIT
start_server --bind-address 127.0.0.1
TOK="$T/data/join-token"

# --- the token and what the server says about it
wait_for "join token written" test -s "$TOK"
expect_eq "$(stat -c %a "$TOK")" 600 "join token is mode 0600"
token=$(cat "$TOK")
expect_match "$token" '^K10[0-9a-f]{64}::[a-z0-9]{6}\.[a-z0-9]{16}$' "token format K10<hash>::<id>.<secret>"
id=$(printf '%s' "$token" | sed -E 's/.*::([a-z0-9]{6})\..*/\1/')
bearer=${token#*::}
hash=$(printf '%s' "$token" | sed -E 's/^K10([0-9a-f]{64})::.*/\1/')
expect_match "$(cat "$T/server.log")" "join other nodes with: skiff agent --server https://127.0.0.1:$PORT --token-file $TOK" "server prints the join command"
expect_match "$(cat "$T/server.log")" "listens on 127.0.0.1 only" "server says loopback is not reachable from other machines"
expect_eq "$($K -n kube-system get secret "bootstrap-token-$id" -o jsonpath='{.type}')" \
    bootstrap.kubernetes.io/token "bootstrap token Secret"
expect_eq "$($K -n kube-system get secret "bootstrap-token-$id" -o jsonpath='{.data.auth-extra-groups}' | base64 -d)" \
    system:bootstrappers:skiff:default-node-token "auth-extra-groups"

# --- /cacerts is public and is the CA the token pins
cacerts=$(curl -sk "$API/cacerts")
got=$(printf '%s\n' "$cacerts" | openssl x509 -outform der | sha256sum | cut -d' ' -f1)
expect_eq "$got" "$hash" "anonymous /cacerts matches the token's CA hash"

# --- bootstrap token authentication and its limits
# bt METHOD PATH [curl args]: as the bootstrap token; body in $BODY, status in $CODE
bt() { m=$1; p=$2; shift 2
    CODE=$(curl -sk --cacert "$PKI/ca.crt" -H "Authorization: Bearer $bearer" -X "$m" \
        -o "$T/bt.out" -w '%{http_code}' "$API$p" "$@"); BODY=$(cat "$T/bt.out"); }
bt GET /apis/certificates.k8s.io/v1/certificatesigningrequests
expect_eq "$CODE" 200 "bootstrap token may list CSRs"
bt GET /api/v1/nodes
body=$BODY
expect_eq "$CODE" 403 "bootstrap token may not list nodes"
expect_match "$body" "User \\\\\"system:bootstrap:$id\\\\\" cannot list resource \\\\\"nodes\\\\\"" "403 names the bootstrap user"
curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $id.0000000000000000" "$API/api" >"$T/code"
expect_eq "$(cat "$T/code")" 401 "wrong token secret is Unauthorized"

# tokens made by hand, kubeadm style: expiry and stringData
code_as() { curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" \
    "$API/apis/certificates.k8s.io/v1/certificatesigningrequests"; }
$K -n kube-system create secret generic bootstrap-token-old123 --type=bootstrap.kubernetes.io/token \
    --from-literal=token-id=old123 --from-literal=token-secret=0123456789abcdef \
    --from-literal=usage-bootstrap-authentication=true --from-literal=expiration=2001-01-01T00:00:00Z >/dev/null
expect_eq "$(code_as old123.0123456789abcdef)" 401 "expired bootstrap token is Unauthorized"
$K apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Secret
metadata: {name: bootstrap-token-new123, namespace: kube-system}
type: bootstrap.kubernetes.io/token
stringData: {token-id: new123, token-secret: 0123456789abcdef, usage-bootstrap-authentication: "true",
             expiration: "2999-01-01T00:00:00Z", auth-extra-groups: "system:bootstrappers:extra"}
YAML
expect_eq "$(code_as new123.0123456789abcdef)" 200 "hand-made token with a future expiry works"
expect_eq "$(code_as new123.0123456789abcdeX)" 401 "malformed token is Unauthorized"

# --- a hollow agent joins with the token
"$SKIFF" agent --hollow --server "$API" --token-file "$TOK" --node-name joiner \
    --data-dir "$T/agent" --lease-renew 1000 >>"$T/agent.log" 2>&1 &
AGENT_PID=$!
wait_for "joined node Ready" sh -c "$K get node joiner --no-headers 2>/dev/null | grep -q ' Ready '"
csr=$($K get csr --no-headers 2>/dev/null | grep "system:bootstrap:$id" | head -1)
expect_match "$csr" "kubernetes.io/kube-apiserver-client-kubelet +system:bootstrap:$id +<none> +Approved,Issued" "CSR by system:bootstrap:<id> Approved,Issued"
expect_match "$($K get csr 2>/dev/null | head -1)" '^NAME +AGE +SIGNERNAME +REQUESTOR +REQUESTEDDURATION +CONDITION' "get csr columns"
name=$(printf '%s' "$csr" | awk '{print $1}')
expect_eq "$($K get csr "$name" -o jsonpath='{.status.conditions[0].reason}')" AutoApproved "auto-approved"
expect_match "$($K get csr "$name" -o jsonpath='{.spec.groups}')" 'system:bootstrappers:skiff:default-node-token' "requestor groups recorded"
expect_eq "$(stat -c %a "$T/agent/kubeconfig")" 600 "agent kubeconfig is mode 0600"
subj=$(grep client-certificate-data "$T/agent/kubeconfig" | awk '{print $2}' | base64 -d | openssl x509 -noout -subject)
expect_match "$subj" 'O ?= ?system:nodes, CN ?= ?system:node:joiner' "node certificate subject"
expect_eq "$($K --kubeconfig "$T/agent/kubeconfig" get node joiner -o name)" node/joiner "node credentials work"

# --- a restart reuses the kubeconfig: no new request
kill -9 $AGENT_PID; wait $AGENT_PID 2>/dev/null || true
ncsr=$($K get csr --no-headers | wc -l)
"$SKIFF" agent --hollow --server "$API" --token-file "$TOK" --node-name joiner \
    --data-dir "$T/agent" --lease-renew 1000 >>"$T/agent.log" 2>&1 &
AGENT_PID=$!
sleep 1
kill -0 $AGENT_PID 2>/dev/null && pass "restarted agent runs" || fail "restarted agent exited"
expect_eq "$($K get csr --no-headers | wc -l)" "$ncsr" "restart creates no new CSR"
kill -9 $AGENT_PID; wait $AGENT_PID 2>/dev/null || true
AGENT_PID=""

# --- wrong token, wrong CA, malformed token
join_fails() { # DESC TOKEN REGEX
    printf '%s\n' "$2" >"$T/bad-token"
    ncsr=$($K get csr --no-headers | wc -l)
    rc=0
    out=$(timeout 30 "$SKIFF" agent --hollow --server "$API" --token-file "$T/bad-token" \
        --node-name bad --data-dir "$T/bad-$RANDOM" 2>&1 >/dev/null) || rc=$?
    [ "$rc" != 0 ] && [ "$rc" != 124 ] && pass "$1: exits non-zero ($rc)" || fail "$1: exit status $rc"
    expect_match "$(printf '%s' "$out" | grep '^skiff agent:')" "$3" "$1: clear error"
    expect_eq "$(printf '%s\n' "$out" | grep -c '^skiff agent:')" 1 "$1: one error line"
    expect_eq "$($K get csr --no-headers | wc -l)" "$ncsr" "$1: no CSR created"
}
join_fails "wrong secret" "K10$hash::$id.0000000000000000" 'rejected the join token'
other=$(printf '%064d' 7)
join_fails "CA hash mismatch" "K10$other::$bearer" 'not the one the join token pins.*not sending the token'
join_fails "malformed token" "$bearer" 'malformed join token'

# --- kubectl certificate approve / deny on hand-made requests
mkcsr() { # NAME CN
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$T/$1.key" -subj "/CN=$2" -out "$T/$1.csr" 2>/dev/null
    cat >"$T/$1.yaml" <<YAML
apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata: {name: $1}
spec:
  request: $(base64 -w0 <"$T/$1.csr")
  signerName: kubernetes.io/kube-apiserver-client
  expirationSeconds: 86400
  usages: [digital signature, client auth]
YAML
    $K apply -f "$T/$1.yaml" >/dev/null
}
mkcsr alice alice
expect_match "$($K get csr alice --no-headers)" 'kubernetes.io/kube-apiserver-client +kubernetes-admin +24h +Pending' "manual CSR Pending"
expect_match "$($K certificate approve alice 2>&1)" 'approved' "kubectl certificate approve"
wait_for "alice issued" sh -c "$K get csr alice --no-headers | grep -q 'Approved,Issued'"
$K get csr alice -o jsonpath='{.status.certificate}' | base64 -d >"$T/alice.crt"
expect_match "$(openssl x509 -in "$T/alice.crt" -noout -subject)" 'CN ?= ?alice' "issued certificate for alice"
expect_match "$(openssl verify -CAfile "$PKI/ca.crt" "$T/alice.crt" 2>&1)" ': OK' "signed by the cluster CA"
expect_eq "$(curl -sk --cert "$T/alice.crt" --key "$T/alice.key" -o /dev/null -w '%{http_code}' "$API/api")" 200 "issued certificate authenticates"
mkcsr bob bob
expect_match "$($K certificate deny bob 2>&1)" 'denied' "kubectl certificate deny"
expect_match "$($K get csr bob --no-headers)" ' Denied$' "bob Denied"
sleep 0.5
expect_eq "$($K get csr bob -o jsonpath='{.status.certificate}')" "" "denied CSR gets no certificate"
out=$($K patch csr bob --subresource=approval --type=json \
    -p '[{"op":"replace","path":"/status/conditions","value":[]}]' 2>&1 || true)
expect_match "$out" 'may not remove a condition of type "Denied"' "Denied cannot be removed"

# --- bootstrap tokens cannot approve; bad requests are refused
bt PUT "/apis/certificates.k8s.io/v1/certificatesigningrequests/bob/approval" -H 'Content-Type: application/json' -d '{}'
expect_eq "$CODE" 403 "bootstrap token may not approve"
out=$($K create -f - 2>&1 <<'YAML' || true
apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata: {name: junk}
spec: {request: bm90IGEgY3Ny, signerName: example.com/x, usages: [client auth]}
YAML
)
expect_match "$out" 'spec.request: Invalid value.*PEM block type must be CERTIFICATE REQUEST' "garbage request refused"
out=$($K create -f - 2>&1 <<YAML || true
apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata: {name: nosigner}
spec: {request: $(base64 -w0 <"$T/alice.csr"), usages: [teleport]}
YAML
)
expect_match "$out" 'spec.signerName: Required value' "signerName required"
expect_match "$out" 'spec.usages\[0\]: Unsupported value: "teleport"' "unknown usage refused"

finish
