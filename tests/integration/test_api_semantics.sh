#!/bin/bash
# API semantics over raw HTTPS, with the API server alone (no controllers or
# scheduler): optimistic concurrency, watch expiry,
# paging, authentication, error Status bodies, durability across kill -9.
. "$(dirname "$0")/lib.sh"
start_server --store-keep-revisions 5 --store-keep-seconds 0 --store-compact-interval-ms 200 --disable-controllers all --disable-scheduler

# --- authentication
out=$(curl -sk -w '\n%{http_code}' "$API/api/v1/namespaces")
expect_eq "$(printf '%s' "$out" | tail -n1)" 401 "no client certificate -> 401"
expect_match "$out" '"reason":"Unauthorized"' "401 carries a Status"
TOKEN=$(cut -d, -f1 "$T/data/tokens.csv")
code=$(curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$API/api/v1/namespaces")
expect_eq "$code" 200 "bearer token accepted"
code=$(curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer nope" "$API/api/v1/namespaces")
expect_eq "$code" 401 "bad bearer token -> 401"

# --- optimistic concurrency: two updates with the same resourceVersion
api POST /api/v1/namespaces/default/configmaps -H 'Content-Type: application/json' \
    -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cas"},"data":{"v":"0"}}' >/dev/null
expect_eq "$CODE" 201 "create configmap"
rv=$(api GET /api/v1/namespaces/default/configmaps/cas | sed -n 's/.*"resourceVersion":"\([0-9]*\)".*/\1/p')
codes=""
for v in 1 2; do
    api PUT /api/v1/namespaces/default/configmaps/cas -H 'Content-Type: application/json' \
        -d "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cas\",\"resourceVersion\":\"$rv\"},\"data\":{\"v\":\"$v\"}}" >"$T/put$v"
    codes="$codes$CODE "
done
expect_eq "$codes" "200 409 " "same resourceVersion twice -> exactly one 409"
expect_match "$(cat "$T/put2")" '"reason":"Conflict"' "409 reason Conflict"
expect_match "$(api GET /api/v1/namespaces/default/configmaps/cas)" '"v":"1"' "first update won"

# --- limit/continue paging through 5 objects
for i in 1 2 3 4 5; do
    api POST /api/v1/namespaces/default/secrets -H 'Content-Type: application/json' \
        -d "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"page$i\",\"labels\":{\"p\":\"y\"}}}" >/dev/null
done
names=""; cont=""; pages=0
while :; do
    q="limit=2&labelSelector=p%3Dy"; [ -n "$cont" ] && q="$q&continue=$cont"
    body=$(api GET "/api/v1/namespaces/default/secrets?$q")
    pages=$((pages+1))
    names="$names$(printf '%s' "$body" | grep -o '"name":"page[0-9]"' | tr -d '"' | sed 's/name://' | tr '\n' ' ')"
    cont=$(printf '%s' "$body" | sed -n 's/.*"continue":"\([^"]*\)".*/\1/p')
    [ -z "$cont" ] && break
    [ $pages -gt 5 ] && break
done
expect_eq "$names" "page1 page2 page3 page4 page5 " "limit=2 pages through all 5 in order"
expect_eq "$pages" 3 "three pages"

# --- watch from a compacted revision -> 410
for i in $(seq 1 12); do
    api PUT /api/v1/namespaces/default/configmaps/cas -H 'Content-Type: application/json' \
        -d "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cas\"},\"data\":{\"v\":\"x$i\"}}" >/dev/null
done
sleep 0.6
out=$(api GET "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=2&timeoutSeconds=2")
expect_match "$out" '"type":"ERROR".*"code":410' "watch from a compacted revision -> 410"
expect_match "$out" '"reason":"Expired"' "410 reason Expired"
# a watch from a recent revision sees only newer events
rv=$(api GET /api/v1/namespaces/default/configmaps/cas | sed -n 's/.*"resourceVersion":"\([0-9]*\)".*/\1/p')
( sleep 0.5; api PUT /api/v1/namespaces/default/configmaps/cas -H 'Content-Type: application/json' \
    -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cas"},"data":{"v":"late"}}' >/dev/null ) &
BG=$!
out=$(api GET "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=$rv&timeoutSeconds=2")
wait $BG
expect_match "$out" '^\{"type":"MODIFIED".*"v":"late"' "watch delivers the next change"
expect_eq "$(printf '%s\n' "$out" | grep -c '"type"')" 1 "watch delivers only newer events"

# --- errors are Status objects with the right codes
api POST /api/v1/namespaces/default/configmaps -H 'Content-Type: application/json' -d '{"kind": ' >"$T/e"
expect_eq "$CODE" 400 "malformed JSON -> 400"
api POST /api/v1/namespaces/default/configmaps -H 'Content-Type: application/yaml' --data-binary $'a: [\n' >"$T/e"
expect_eq "$CODE" 400 "malformed YAML -> 400"
api POST /api/v1/namespaces/default/configmaps -H 'Content-Type: application/vnd.kubernetes.protobuf' --data-binary 'k8s junk' >"$T/e"
expect_eq "$CODE" 400 "malformed protobuf -> 400"
api POST /api/v1/namespaces/default/configmaps -H 'Content-Type: text/csv' -d 'a,b' >"$T/e"
expect_eq "$CODE" 415 "unknown media type -> 415"
head -c 3200000 /dev/zero | tr '\0' 'a' >"$T/big"
api POST /api/v1/namespaces/default/configmaps -H 'Content-Type: application/json' --data-binary @"$T/big" >"$T/e"
expect_eq "$CODE" 413 "body over 3 MiB -> 413"
api POST "/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict" -H 'Content-Type: application/json' \
    -d '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"strict"},"spec":{"bogus":1,"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}' >"$T/e"
expect_eq "$CODE" 400 "strict unknown field -> 400"
expect_match "$(cat "$T/e")" 'strict decoding error: unknown field \\"spec.bogus\\"' "strict decoding message"
hdrs=$(curl -sk -D - -o /dev/null --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    -X POST "$API/apis/apps/v1/namespaces/default/deployments?fieldValidation=Warn" -H 'Content-Type: application/json' \
    -d '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"warn"},"spec":{"bogus":1,"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}')
expect_match "$hdrs" 'Warning: 299 - "unknown field \\"spec.bogus\\""' "Warn -> Warning header"
api GET /apis/apps/v1/namespaces/default/deployments/warn >"$T/w"; body=$(cat "$T/w")
expect_eq "$CODE" 200 "Warn stores the object"
if printf '%s' "$body" | grep -q bogus; then fail "unknown field was stored"; else pass "unknown field not stored"; fi
api POST /api/v1/namespaces/default/configmaps -H 'Content-Type: application/json' \
    -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name"}}' >"$T/e"
expect_eq "$CODE" 422 "invalid name -> 422"
expect_match "$(cat "$T/e")" '"field":"metadata.name"' "422 names the field"
api PATCH /api/v1/namespaces/default/configmaps/cas -H 'Content-Type: application/json-patch+json' -d '[{"op":"bogus"}]' >"$T/e"
expect_match "$CODE" '^(400|422)$' "bad json-patch rejected"
api DELETE /api/v1/namespaces/default/configmaps/nosuch >"$T/e"
expect_eq "$CODE" 404 "delete missing -> 404"
api POST /api/v1/namespaces/default/pods/x/nosuchsub -H 'Content-Type: application/json' -d '{}' >"$T/e"
expect_eq "$CODE" 404 "unknown subresource -> 404"
api PUT /api/v1/namespaces/default/configmaps -H 'Content-Type: application/json' -d '{}' >"$T/e"
expect_eq "$CODE" 405 "PUT on a collection -> 405"
expect_match "$(api GET /api/v1/namespaces/default/configmaps/cas)" '"v":"late"' "bad requests changed nothing"

# --- finalizers: deletionTimestamp set, object removed when finalizers empty
api POST /api/v1/namespaces/default/configmaps -H 'Content-Type: application/json' \
    -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fin","finalizers":["example.com/hold"]}}' >/dev/null
api DELETE /api/v1/namespaces/default/configmaps/fin >/dev/null
expect_match "$(api GET /api/v1/namespaces/default/configmaps/fin)" '"deletionTimestamp"' "finalizer holds deletion"
api PATCH /api/v1/namespaces/default/configmaps/fin -H 'Content-Type: application/merge-patch+json' -d '{"metadata":{"finalizers":null}}' >/dev/null
api GET /api/v1/namespaces/default/configmaps/fin >/dev/null
expect_eq "$CODE" 404 "removing the last finalizer deletes"

# --- terminating namespace refuses new content
api POST /api/v1/namespaces -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"term"}}' >/dev/null
api DELETE /api/v1/namespaces/term >/dev/null
api POST /api/v1/namespaces/term/configmaps -H 'Content-Type: application/json' \
    -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}' >"$T/e"
expect_eq "$CODE" 403 "create in a terminating namespace -> 403"

# --- kill -9 during a burst of concurrent creates loses no acknowledged object
mkdir -p "$T/acks"
burst() {
    for i in $(seq 1 200); do
        c=$(curl -sk -o /dev/null -w '%{http_code}' --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
            -X POST "$API/api/v1/namespaces/default/configmaps" -H 'Content-Type: application/json' \
            -d "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"b$1-$i\"}}" 2>/dev/null) || true
        [ "$c" = 201 ] && echo "b$1-$i" >>"$T/acks/$1"
    done
}
BURST=""
for w in 1 2 3 4 5 6 7 8; do burst $w & BURST="$BURST $!"; done
sleep 1.5
kill -9 "$SERVER_PID"
wait $BURST 2>/dev/null || true
SERVER_PID=""
acked=$(cat "$T/acks"/* 2>/dev/null | sort)
nacked=$(printf '%s\n' "$acked" | grep -c . || true)
[ "$nacked" -gt 0 ] && pass "burst acknowledged $nacked creates before kill -9" || fail "no creates acknowledged"
start_server --store-keep-revisions 5 --store-keep-seconds 0 --disable-controllers all --disable-scheduler
stored=$(kubectl get cm -o name | sed 's|configmap/||' | sort)
missing=$(comm -23 <(printf '%s\n' "$acked") <(printf '%s\n' "$stored") | grep -c . || true)
expect_eq "$missing" 0 "every acknowledged create survived kill -9"
expect_match "$(api GET /api/v1/namespaces/default/configmaps/cas)" '"v":"late"' "restart keeps earlier data"

# --- a second server on the same data dir is refused
out=$("$SKIFF" server --data-dir "$T/data" --port "$(free_port)" --disable-agent 2>&1 || true)
expect_match "$out" 'in use by another process' "second server on one data dir refused"

stop_server
finish
