/* Probes and lifecycle handlers. Without root: httpGet and tcpSocket
 * against a small HTTP server on 127.0.0.1, thresholds, initial delay,
 * startup gating, on_change and removal through the prober with scaled
 * time. As root with crun and busybox: exec probes and hooks in a real
 * container (skipped otherwise). */
#include "kubelet/probe_int.h"
#include "unit/test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

/* ---- a tiny HTTP server ------------------------------------------------------- */

#define PATHS 32

static struct {
    int fd, port;
    int blackhole_fd, blackhole_port; /* listens, never accepts: requests hang */
    pthread_t th;
    atomic_int stop, toggle;
    pthread_mutex_t mu;
    char last_req[4096];
    char paths[PATHS][64]; /* request targets seen, with their counts */
    int hits[PATHS];
} S = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int hits(const char *target)
{
    int n = 0;
    pthread_mutex_lock(&S.mu);
    for (int i = 0; i < PATHS; i++)
        if (!strcmp(S.paths[i], target)) n = S.hits[i];
    pthread_mutex_unlock(&S.mu);
    return n;
}

static void record(const char *target, const char *req)
{
    pthread_mutex_lock(&S.mu);
    snprintf(S.last_req, sizeof S.last_req, "%s", req);
    int i = 0;
    while (i < PATHS && S.paths[i][0] && strcmp(S.paths[i], target)) i++;
    if (i < PATHS) {
        snprintf(S.paths[i], sizeof S.paths[i], "%s", target);
        S.hits[i]++;
    }
    pthread_mutex_unlock(&S.mu);
}

static void reply(int c, int code, const char *extra, size_t body_len)
{
    char head[512];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n", code,
                     body_len, extra);
    if (send(c, head, (size_t)n, MSG_NOSIGNAL) < 0) return;
    static char body[64 * 1024];
    memset(body, 'x', sizeof body);
    for (size_t off = 0; off < body_len;) {
        size_t k = body_len - off < sizeof body ? body_len - off : sizeof body;
        ssize_t w = send(c, body, k, MSG_NOSIGNAL);
        if (w <= 0) return;
        off += (size_t)w;
    }
}

static void serve_one(int c)
{
    char req[4096];
    size_t len = 0;
    while (len < sizeof req - 1) {
        struct pollfd p = {c, POLLIN, 0};
        if (poll(&p, 1, 2000) != 1) return;
        ssize_t n = read(c, req + len, sizeof req - 1 - len);
        if (n <= 0) return;
        len += (size_t)n;
        req[len] = 0;
        if (strstr(req, "\r\n\r\n") || (len >= 4 && strncmp(req, "GET ", 4))) break;
    }
    char target[64] = "";
    if (sscanf(req, "GET %63s ", target) != 1) { /* e.g. a TLS hello: answer as plain HTTP servers do */
        reply(c, 400, "", 0);
        return;
    }
    record(target, req);
    char path[64], extra[256] = "";
    snprintf(path, sizeof path, "%.*s", (int)strcspn(target, "?"), target);
    if (!strcmp(path, "/ok")) {
        reply(c, 200, "", 2);
    } else if (!strcmp(path, "/fail")) {
        reply(c, 500, "", 0);
    } else if (!strcmp(path, "/toggle")) {
        reply(c, atomic_load(&S.toggle), "", 0);
    } else if (!strcmp(path, "/redir")) {
        reply(c, 302, "Location: /ok?from=redir\r\n", 0);
    } else if (!strcmp(path, "/redir-abs")) {
        snprintf(extra, sizeof extra, "Location: http://127.0.0.1:%d/ok?from=abs\r\n", S.port);
        reply(c, 301, extra, 0);
    } else if (!strcmp(path, "/redir-ext")) {
        reply(c, 302, "Location: http://other.invalid:1/ok\r\n", 0);
    } else if (!strcmp(path, "/loop")) {
        reply(c, 307, "Location: /loop\r\n", 0);
    } else if (!strcmp(path, "/big")) {
        reply(c, 200, "", 200 * 1024);
    } else {
        reply(c, 404, "", 0);
    }
}

static void *server_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&S.stop)) {
        struct pollfd p = {S.fd, POLLIN, 0};
        if (poll(&p, 1, 50) != 1) continue;
        int c = accept4(S.fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) continue;
        serve_one(c);
        close(c);
    }
    return NULL;
}

static int server_start(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    S.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (S.fd < 0 || bind(S.fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(S.fd, 64) < 0 ||
        getsockname(S.fd, (struct sockaddr *)&a, &al) < 0)
        return -1;
    S.port = ntohs(a.sin_port);
    a.sin_port = 0;
    S.blackhole_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (S.blackhole_fd < 0 || bind(S.blackhole_fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(S.blackhole_fd, 64) < 0 || getsockname(S.blackhole_fd, (struct sockaddr *)&a, &al) < 0)
        return -1;
    S.blackhole_port = ntohs(a.sin_port);
    atomic_store(&S.toggle, 500);
    return pthread_create(&S.th, NULL, server_main, NULL) == 0 ? 0 : -1;
}

static void server_stop(void)
{
    atomic_store(&S.stop, 1);
    pthread_join(S.th, NULL);
    close(S.fd);
    close(S.blackhole_fd);
}

/* A port nothing listens on. */
static int closed_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    return ntohs(a.sin_port);
}

static json_t *http_probe(const char *path, int port)
{
    return json_pack("{s:{s:s, s:i}}", "httpGet", "path", path, "port", port);
}

static int64_t ms_since(int64_t t0) { return sk_now_ms() - t0; }

/* ---- one-shot probes and handlers -------------------------------------------------- */

static int test_helpers(void)
{
    char msg[256];
    _sk_json_ json_t *ctr = json_loads("{\"ports\": [{\"name\": \"http\", \"containerPort\": 8080}], \"env\": ["
                                      "{\"name\": \"A\", \"value\": \"1\"}, {\"name\": \"B\", \"valueFrom\": {}}, "
                                      "{\"name\": \"A\", \"value\": \"2\"}, {\"name\": \"C\", \"value\": \"x\"}]}",
                                      0, NULL);
    REQUIRE(ctr);
    _sk_json_ json_t *i = json_integer(8081), *s = json_string("http"), *n = json_string("9090"),
                     *bad = json_string("nope"), *zero = json_integer(0), *big = json_integer(70000);
    CHECK_INT(sk_kl_probe_port(i, ctr, msg, sizeof msg), 8081);
    CHECK_INT(sk_kl_probe_port(s, ctr, msg, sizeof msg), 8080);
    CHECK_INT(sk_kl_probe_port(n, ctr, msg, sizeof msg), 9090);
    CHECK_INT(sk_kl_probe_port(bad, ctr, msg, sizeof msg), -1);
    CHECK_STR(msg, "strconv.Atoi: parsing \"nope\": invalid syntax");
    CHECK_INT(sk_kl_probe_port(s, NULL, msg, sizeof msg), -1);
    CHECK_INT(sk_kl_probe_port(zero, ctr, msg, sizeof msg), -1);
    CHECK_STR(msg, "invalid port number: 0");
    CHECK_INT(sk_kl_probe_port(big, ctr, msg, sizeof msg), -1);
    CHECK_INT(sk_kl_probe_port(NULL, ctr, msg, sizeof msg), -1);

    const json_t *env = json_object_get(ctr, "env");
    _sk_free_ char *e1 = sk_kl_probe_expand("$(A)-$(B)-$(C)-$(D)-$$(A)-$x-$(A", env);
    CHECK_STR(e1, "2--x-$(D)-$(A)-$x-$(A");
    _sk_free_ char *e2 = sk_kl_probe_expand("plain $", env);
    CHECK_STR(e2, "plain $");
    return 0;
}

static int test_http_once(void)
{
    char msg[512];
    _sk_json_ json_t *ok = http_probe("/ok", S.port);
    CHECK_INT(sk_kl_probe_once(NULL, ok, NULL, "127.0.0.1", msg, sizeof msg), 0);
    CHECK(strstr(S.last_req, "User-Agent: kube-probe/1.32\r\n"));
    CHECK(strstr(S.last_req, "Accept: */*\r\n"));

    _sk_json_ json_t *fail = http_probe("/fail", S.port);
    CHECK_INT(sk_kl_probe_once(NULL, fail, NULL, "127.0.0.1", msg, sizeof msg), 1);
    CHECK_STR(msg, "HTTP probe failed with statuscode: 500");

    /* path without a slash, headers, Host, scheme in upper case */
    _sk_json_ json_t *hdr = json_pack("{s:{s:s, s:i, s:s, s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}}", "httpGet", "path",
                                      "ok?x=1", "port", S.port, "scheme", "HTTP", "httpHeaders", "name", "X-Custom",
                                      "value", "yes", "name", "Host", "value", "example.test", "name", "Accept",
                                      "value", "");
    CHECK_INT(sk_kl_probe_once(NULL, hdr, NULL, "127.0.0.1", msg, sizeof msg), 0);
    CHECK(strstr(S.last_req, "GET /ok?x=1 HTTP/1.1\r\n"));
    CHECK(strstr(S.last_req, "X-Custom: yes\r\n"));
    CHECK(strstr(S.last_req, "Host: example.test\r\n"));
    CHECK(!strstr(S.last_req, "Accept:"));

    /* same-host redirects are followed, others end the chain (success) */
    _sk_json_ json_t *r1 = http_probe("/redir", S.port), *r2 = http_probe("/redir-abs", S.port),
                     *r3 = http_probe("/redir-ext", S.port), *loop = http_probe("/loop", S.port);
    CHECK_INT(sk_kl_probe_once(NULL, r1, NULL, "127.0.0.1", msg, sizeof msg), 0);
    CHECK_INT(hits("/ok?from=redir"), 1);
    CHECK_INT(sk_kl_probe_once(NULL, r2, NULL, "127.0.0.1", msg, sizeof msg), 0);
    CHECK_INT(hits("/ok?from=abs"), 1);
    CHECK_INT(sk_kl_probe_once(NULL, r3, NULL, "127.0.0.1", msg, sizeof msg), 0);
    CHECK_INT(sk_kl_probe_once(NULL, loop, NULL, "127.0.0.1", msg, sizeof msg), 1);
    CHECK(strstr(msg, "stopped after 10 redirects"));
    CHECK_INT(hits("/loop"), 10);

    _sk_json_ json_t *big = http_probe("/big", S.port);
    CHECK_INT(sk_kl_probe_once(NULL, big, NULL, "127.0.0.1", msg, sizeof msg), 0);

    int cp = closed_port();
    _sk_json_ json_t *refused = http_probe("/ok", cp);
    CHECK_INT(sk_kl_probe_once(NULL, refused, NULL, "127.0.0.1", msg, sizeof msg), 1);
    char want[256];
    snprintf(want, sizeof want, "Get \"http://127.0.0.1:%d/ok\": dial tcp 127.0.0.1:%d: connect: connection refused",
             cp, cp);
    CHECK_STR(msg, want);

    int64_t t0 = sk_now_ms();
    _sk_json_ json_t *slow = http_probe("/slow", S.blackhole_port);
    CHECK_INT(sk_kl_probe_once(NULL, slow, NULL, "127.0.0.1", msg, sizeof msg), 1);
    CHECK(ms_since(t0) >= 900 && ms_since(t0) < 1400);
    CHECK(strstr(msg, "Client.Timeout exceeded"));

    /* request errors: unknown port name, no handler; gRPC is refused */
    _sk_json_ json_t *named = json_pack("{s:{s:s}}", "httpGet", "port", "web");
    CHECK_INT(sk_kl_probe_once(NULL, named, NULL, "127.0.0.1", msg, sizeof msg), -1);
    _sk_json_ json_t *none = json_pack("{s:i}", "periodSeconds", 3);
    CHECK_INT(sk_kl_probe_once(NULL, none, NULL, "127.0.0.1", msg, sizeof msg), -1);
    _sk_json_ json_t *grpc = json_pack("{s:{s:i}}", "grpc", "port", 9000);
    CHECK_INT(sk_kl_probe_once(NULL, grpc, NULL, "127.0.0.1", msg, sizeof msg), 1);
    CHECK(strstr(msg, "gRPC"));
    _sk_json_ json_t *badhdr = json_pack("{s:{s:i, s:[{s:s, s:s}]}}", "httpGet", "port", S.port, "httpHeaders", "name",
                                         "X", "value", "a\r\nInjected: 1");
    CHECK_INT(sk_kl_probe_once(NULL, badhdr, NULL, "127.0.0.1", msg, sizeof msg), 1);
    CHECK(strstr(msg, "invalid header field value"));
    return 0;
}

static int test_tcp_once(void)
{
    char msg[256], want[128];
    _sk_json_ json_t *ok = json_pack("{s:{s:i}}", "tcpSocket", "port", S.port);
    CHECK_INT(sk_kl_probe_once(NULL, ok, NULL, "127.0.0.1", msg, sizeof msg), 0);
    int cp = closed_port();
    _sk_json_ json_t *bad = json_pack("{s:{s:i}}", "tcpSocket", "port", cp);
    CHECK_INT(sk_kl_probe_once(NULL, bad, NULL, "127.0.0.1", msg, sizeof msg), 1);
    snprintf(want, sizeof want, "dial tcp 127.0.0.1:%d: connect: connection refused", cp);
    CHECK_STR(msg, want);
    _sk_json_ json_t *host = json_pack("{s:{s:i, s:s}}", "tcpSocket", "port", S.port, "host", "127.0.0.1");
    CHECK_INT(sk_kl_probe_once(NULL, host, NULL, "10.255.255.1", msg, sizeof msg), 0);
    return 0;
}

static int test_handlers(void)
{
    char msg[512];
    /* the status code does not matter for hooks, only the transport */
    _sk_json_ json_t *h = http_probe("/fail", S.port);
    CHECK_INT(sk_kl_handler_run(NULL, h, NULL, "127.0.0.1", 2000, msg, sizeof msg), 0);
    CHECK(strstr(S.last_req, "User-Agent: kube-lifecycle/1.32\r\n"));
    _sk_json_ json_t *down = http_probe("/stop", closed_port());
    CHECK_INT(sk_kl_handler_run(NULL, down, NULL, "127.0.0.1", 2000, msg, sizeof msg), 1);
    CHECK(!strncmp(msg, "HTTP lifecycle hook (/stop) failed - error: Get \"http://127.0.0.1:", 66));
    CHECK(strstr(msg, "connect: connection refused"));
    /* https to a plain server retries over http, as upstream */
    _sk_json_ json_t *tls = json_pack("{s:{s:s, s:i, s:s}}", "httpGet", "path", "/ok?tls", "port", S.port, "scheme",
                                      "HTTPS");
    CHECK_INT(sk_kl_handler_run(NULL, tls, NULL, "127.0.0.1", 2000, msg, sizeof msg), 0);
    if (msg[0]) fprintf(stderr, "tls: %s\n", msg);
    CHECK_INT(hits("/ok?tls"), 1);

    int64_t t0 = sk_now_ms();
    _sk_json_ json_t *sl = json_pack("{s:{s:i}}", "sleep", "seconds", 1);
    CHECK_INT(sk_kl_handler_run(NULL, sl, NULL, NULL, 200, msg, sizeof msg), 1);
    CHECK(ms_since(t0) >= 190 && ms_since(t0) < 700);
    CHECK_STR(msg, "Sleep lifecycle hook (1) failed - error: container terminated before sleep hook finished");
    _sk_json_ json_t *inv = json_object();
    CHECK_INT(sk_kl_handler_run(NULL, inv, NULL, NULL, 200, msg, sizeof msg), -1);
    CHECK(!strncmp(msg, "Cannot run handler", 18));
    return 0;
}

/* ---- the prober with scaled time ------------------------------------------------- */

#define SCALE 100 /* ms per "second" */

static atomic_int changes;
static pthread_mutex_t change_mu = PTHREAD_MUTEX_INITIALIZER;
static char change_key[64];

static void on_change(void *ud, const char *pod_key)
{
    CHECK(ud == &changes);
    pthread_mutex_lock(&change_mu);
    snprintf(change_key, sizeof change_key, "%s", pod_key);
    pthread_mutex_unlock(&change_mu);
    atomic_fetch_add(&changes, 1);
}

/* Polls the state until cond holds or ms pass. */
#define WAIT_FOR(p, pod, ctr, id, st, cond, ms)                                            \
    ({                                                                                     \
        int64_t _t0 = sk_now_ms();                                                         \
        bool _ok = false;                                                                  \
        while (ms_since(_t0) < (ms)) {                                                     \
            if (sk_kl_prober_get((p), (pod), (ctr), (id), &(st)) && (cond)) {              \
                _ok = true;                                                                \
                break;                                                                     \
            }                                                                              \
            usleep(5000);                                                                  \
        }                                                                                  \
        _ok;                                                                               \
    })

static json_t *probe_spec(const char *path, int period, int failure, int success, int delay)
{
    json_t *p = http_probe(path, S.port);
    json_object_set_new(p, "periodSeconds", json_integer(period));
    json_object_set_new(p, "failureThreshold", json_integer(failure));
    json_object_set_new(p, "successThreshold", json_integer(success));
    json_object_set_new(p, "initialDelaySeconds", json_integer(delay));
    json_object_set_new(p, "timeoutSeconds", json_integer(10));
    return p;
}

static int test_prober_readiness(sk_kl_prober *p)
{
    struct sk_kl_probe_state st;
    atomic_store(&S.toggle, 500);
    atomic_store(&changes, 0);
    _sk_json_ json_t *ctr = json_pack("{s:s, s:o, s:o}", "name", "web", "readinessProbe",
                                      probe_spec("/toggle?r", 1, 2, 2, 0), "livenessProbe",
                                      json_pack("{s:{s:i}, s:i}", "tcpSocket", "port", S.port, "periodSeconds", 1));
    sk_kl_prober_add(p, "ns/r", "web", "id-r1", ctr, "127.0.0.1", sk_wall_ms());
    CHECK(sk_kl_prober_get(p, "ns/r", "web", "id-r1", &st) && st.started && !st.ready && !st.liveness_failed);
    CHECK(!sk_kl_prober_get(p, "ns/r", "web", "other-id", &st));
    CHECK(WAIT_FOR(p, "ns/r", "web", "id-r1", st, hits("/toggle?r") >= 3, 3000));
    CHECK(!st.ready);
    CHECK_STR(st.message, "Readiness probe failed: HTTP probe failed with statuscode: 500");
    CHECK_INT(atomic_load(&changes), 0);

    /* successThreshold 2: ready after two passes in a row */
    atomic_store(&S.toggle, 200);
    int before = hits("/toggle?r");
    CHECK(WAIT_FOR(p, "ns/r", "web", "id-r1", st, st.ready, 3000));
    CHECK(hits("/toggle?r") - before >= 2);
    CHECK_INT(atomic_load(&changes), 1);
    CHECK_STR(change_key, "ns/r");

    /* the same instance added again keeps its results */
    sk_kl_prober_add(p, "ns/r", "web", "id-r1", ctr, "127.0.0.1", sk_wall_ms());
    CHECK(sk_kl_prober_get(p, "ns/r", "web", "id-r1", &st) && st.ready);

    /* failureThreshold 2: not ready after two failures */
    atomic_store(&S.toggle, 500);
    CHECK(WAIT_FOR(p, "ns/r", "web", "id-r1", st, !st.ready, 3000));
    CHECK_INT(atomic_load(&changes), 2);
    CHECK(!st.liveness_failed);

    /* a new instance starts over */
    atomic_store(&S.toggle, 200);
    sk_kl_prober_add(p, "ns/r", "web", "id-r2", ctr, "127.0.0.1", sk_wall_ms());
    CHECK(!sk_kl_prober_get(p, "ns/r", "web", "id-r1", &st));
    CHECK(sk_kl_prober_get(p, "ns/r", "web", "id-r2", &st) && !st.ready);
    CHECK(WAIT_FOR(p, "ns/r", "web", "id-r2", st, st.ready, 3000));

    sk_kl_prober_remove(p, "ns/r", NULL);
    CHECK(!sk_kl_prober_get(p, "ns/r", "web", "id-r2", &st));
    usleep(3 * SCALE * 1000);
    int after = hits("/toggle?r");
    usleep(3 * SCALE * 1000);
    CHECK_INT(hits("/toggle?r"), after);
    return 0;
}

static int test_prober_liveness(sk_kl_prober *p)
{
    struct sk_kl_probe_state st;
    atomic_store(&changes, 0);
    _sk_json_ json_t *ctr = json_pack("{s:s, s:o}", "name", "app", "livenessProbe", probe_spec("/fail?l", 1, 3, 1, 0));
    sk_kl_prober_add(p, "ns/l", "app", "id-l1", ctr, "127.0.0.1", sk_wall_ms());
    CHECK(sk_kl_prober_get(p, "ns/l", "app", "id-l1", &st) && st.ready && st.started && !st.liveness_failed);
    CHECK(WAIT_FOR(p, "ns/l", "app", "id-l1", st, st.liveness_failed, 3000));
    CHECK_INT(hits("/fail?l"), 3);
    CHECK_STR(st.message, "Liveness probe failed: HTTP probe failed with statuscode: 500");
    /* held until a new instance: no more probes, one notification */
    usleep(4 * SCALE * 1000);
    CHECK_INT(hits("/fail?l"), 3);
    CHECK_INT(atomic_load(&changes), 1);
    CHECK(sk_kl_prober_get(p, "ns/l", "app", "id-l1", &st) && st.liveness_failed);
    sk_kl_prober_add(p, "ns/l", "app", "id-l2", ctr, "127.0.0.1", sk_wall_ms());
    CHECK(sk_kl_prober_get(p, "ns/l", "app", "id-l2", &st) && !st.liveness_failed);
    CHECK(WAIT_FOR(p, "ns/l", "app", "id-l2", st, st.liveness_failed, 3000));
    CHECK_INT(hits("/fail?l"), 6);
    sk_kl_prober_remove(p, "ns/l", "app");
    return 0;
}

static int test_prober_startup(sk_kl_prober *p)
{
    struct sk_kl_probe_state st;
    atomic_store(&S.toggle, 500);
    atomic_store(&changes, 0);
    _sk_json_ json_t *ctr = json_pack("{s:s, s:o, s:o, s:o}", "name", "slow", "startupProbe",
                                      probe_spec("/toggle?s", 1, 100, 1, 0), "readinessProbe",
                                      probe_spec("/ok?r", 1, 3, 1, 0), "livenessProbe", probe_spec("/ok?l", 1, 3, 1, 0));
    sk_kl_prober_add(p, "ns/s", "slow", "id-s1", ctr, "127.0.0.1", sk_wall_ms());
    CHECK(WAIT_FOR(p, "ns/s", "slow", "id-s1", st, hits("/toggle?s") >= 3, 3000));
    CHECK(!st.started && !st.ready && !st.liveness_failed);
    CHECK_INT(hits("/ok?r") + hits("/ok?l"), 0);
    atomic_store(&S.toggle, 200);
    CHECK(WAIT_FOR(p, "ns/s", "slow", "id-s1", st, st.started && st.ready, 3000));
    CHECK(atomic_load(&changes) >= 1);
    int s = hits("/toggle?s");
    usleep(3 * SCALE * 1000);
    CHECK_INT(hits("/toggle?s"), s); /* the startup probe stops once it passed */
    CHECK(hits("/ok?l") >= 2);

    /* a failing startup probe restarts the container */
    _sk_json_ json_t *bad = json_pack("{s:s, s:o}", "name", "never", "startupProbe", probe_spec("/fail?s", 1, 2, 1, 0));
    sk_kl_prober_add(p, "ns/s", "never", "id-n1", bad, "127.0.0.1", sk_wall_ms());
    CHECK(WAIT_FOR(p, "ns/s", "never", "id-n1", st, st.liveness_failed, 3000));
    CHECK(!st.started && !st.ready);
    CHECK_STR(st.message, "Startup probe failed: HTTP probe failed with statuscode: 500");
    sk_kl_prober_remove(p, "ns/s", NULL);
    return 0;
}

static int test_prober_delay_and_errors(sk_kl_prober *p)
{
    struct sk_kl_probe_state st;
    _sk_json_ json_t *ctr = json_pack("{s:s, s:o}", "name", "d", "readinessProbe", probe_spec("/ok?d", 1, 3, 1, 4));
    int64_t t0 = sk_now_ms();
    sk_kl_prober_add(p, "ns/d", "d", "id-d1", ctr, "127.0.0.1", sk_wall_ms());
    CHECK(WAIT_FOR(p, "ns/d", "d", "id-d1", st, st.ready, 3000));
    CHECK(ms_since(t0) >= 4 * SCALE - 20);
    /* started long ago: the delay is over */
    _sk_json_ json_t *c2 = json_pack("{s:s, s:o}", "name", "d2", "readinessProbe", probe_spec("/ok?d2", 100, 3, 1, 4));
    t0 = sk_now_ms();
    sk_kl_prober_add(p, "ns/d", "d2", "id-d2", c2, "127.0.0.1", sk_wall_ms() - 60000);
    CHECK(WAIT_FOR(p, "ns/d", "d2", "id-d2", st, st.ready, 3000));
    CHECK(ms_since(t0) < 2 * SCALE);

    /* no probes: ready and started at once */
    _sk_json_ json_t *plain = json_pack("{s:s}", "name", "plain");
    sk_kl_prober_add(p, "ns/d", "plain", "id-p", plain, "127.0.0.1", sk_wall_ms());
    CHECK(sk_kl_prober_get(p, "ns/d", "plain", "id-p", &st) && st.ready && st.started && !st.liveness_failed);

    /* request errors are discarded: never ready, never a restart */
    _sk_json_ json_t *e = json_pack("{s:s, s:{s:{s:s}, s:i}, s:{s:{s:s}, s:i, s:i}}", "name", "err", "readinessProbe",
                                    "httpGet", "port", "nope", "periodSeconds", 1, "livenessProbe", "httpGet", "port",
                                    "nope", "periodSeconds", 1, "failureThreshold", 1);
    sk_kl_prober_add(p, "ns/d", "err", "id-e", e, "127.0.0.1", sk_wall_ms());
    CHECK(WAIT_FOR(p, "ns/d", "err", "id-e", st, st.message[0], 3000));
    usleep(3 * SCALE * 1000);
    CHECK(sk_kl_prober_get(p, "ns/d", "err", "id-e", &st) && !st.ready && !st.liveness_failed);
    CHECK(strstr(st.message, "probe errored and resulted in unknown state: strconv.Atoi: parsing \"nope\""));
    sk_kl_prober_remove(p, "ns/d", NULL);
    CHECK(!sk_kl_prober_get(p, "ns/d", "plain", "id-p", &st));
    return 0;
}

/* Containers whose probes hang until their timeout: the others keep their pace. */
static int test_prober_slow_does_not_block(sk_kl_prober *p)
{
    struct sk_kl_probe_state st;
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "slow%d", i);
        _sk_json_ json_t *c = json_pack("{s:s, s:{s:{s:i}, s:i, s:i}}", "name", name, "livenessProbe", "httpGet",
                                        "port", S.blackhole_port, "periodSeconds", 1, "timeoutSeconds", 10);
        sk_kl_prober_add(p, "ns/slow", name, name, c, "127.0.0.1", sk_wall_ms());
    }
    _sk_json_ json_t *fast = json_pack("{s:s, s:o}", "name", "fast", "readinessProbe", probe_spec("/ok?fast", 1, 3, 1, 0));
    sk_kl_prober_add(p, "ns/slow", "fast", "fast", fast, "127.0.0.1", sk_wall_ms());
    CHECK(WAIT_FOR(p, "ns/slow", "fast", "fast", st, st.ready, 2000));
    usleep(5 * SCALE * 1000);
    CHECK(hits("/ok?fast") >= 4);
    sk_kl_prober_remove(p, "ns/slow", NULL);
    return 0;
}

/* ---- exec in a real container (root) ------------------------------------------------ */

static struct {
    bool on;
    char tmp[64], root[128], layer[128], logs[128], netns[128], cgparent[64];
    sk_rt *rt;
} R;

static const char *applets[] = {"sh", "sleep", "echo", "cat", "rm", "test", "true", "false"};

static int rt_prepare(void)
{
    char p[512];
    snprintf(R.tmp, sizeof R.tmp, "/tmp/skprobe-XXXXXX");
    if (!mkdtemp(R.tmp)) return -1;
    snprintf(R.root, sizeof R.root, "%s/rt", R.tmp);
    snprintf(R.layer, sizeof R.layer, "%s/layer", R.tmp);
    snprintf(R.logs, sizeof R.logs, "%s/logs", R.tmp);
    snprintf(R.netns, sizeof R.netns, "%s/netns", R.tmp);
    snprintf(R.cgparent, sizeof R.cgparent, "/skiff-test-%s", strrchr(R.tmp, '/') + 1);
    const char *dirs[] = {"", "/bin", "/etc", "/tmp", "/proc", "/sys", "/dev"};
    for (size_t i = 0; i < SK_ARRAY_LEN(dirs); i++) {
        snprintf(p, sizeof p, "%s%s", R.layer, dirs[i]);
        if (mkdir(p, 0755) < 0) return -1;
    }
    snprintf(p, sizeof p, "%s/tmp", R.layer);
    chmod(p, 01777);
    snprintf(p, sizeof p, "/bin/cp /bin/busybox %s/bin/busybox", R.layer);
    if (system(p) != 0) return -1;
    for (size_t i = 0; i < SK_ARRAY_LEN(applets); i++) {
        snprintf(p, sizeof p, "%s/bin/%s", R.layer, applets[i]);
        if (symlink("busybox", p) < 0) return -1;
    }
    sk_err err = SK_ERR_INIT;
    struct sk_rt_config c = {.root_dir = R.root, .netns_dir = R.netns, .cgroup_parent = R.cgparent};
    R.rt = sk_rt_init(&c, &err);
    if (!R.rt) fprintf(stderr, "sk_rt_init: %s\n", err.msg);
    return R.rt ? 0 : -1;
}

static int rt_container(void)
{
    sk_err err = SK_ERR_INIT;
    struct sk_rt_sandbox_config sc = {.id = "probe-pod", .hostname = "probe-pod", .hosts = "127.0.0.1 localhost\n",
                                      .resolv_conf = "nameserver 10.96.0.10\n"};
    if (sk_rt_sandbox_create(R.rt, &sc, NULL, &err) < 0) {
        fprintf(stderr, "sandbox: %s\n", err.msg);
        return -1;
    }
    char log[256];
    snprintf(log, sizeof log, "%s/c1/0.log", R.logs);
    const char *lowers[] = {R.layer}, *args[] = {"sleep", "1000"};
    struct sk_rt_container_config c = {.id = "c1", .sandbox_id = "probe-pod", .name = "c1", .lower_dirs = lowers,
                                       .n_lower = 1, .args = args, .n_args = 2, .run_as_user = -1,
                                       .run_as_group = -1, .log_path = log};
    if (sk_rt_container_create(R.rt, &c, &err) < 0 || sk_rt_container_start(R.rt, "c1", &err) < 0) {
        fprintf(stderr, "container: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static json_t *exec_probe(const char *cmd)
{
    return json_pack("{s:{s:[s, s, s]}}", "exec", "command", "sh", "-c", cmd);
}

static int test_exec(sk_kl_prober *p)
{
    char msg[512];
    _sk_json_ json_t *ok = exec_probe("echo fine; exit 0");
    CHECK_INT(sk_kl_probe_once(R.rt, ok, "c1", "", msg, sizeof msg), 0);
    _sk_json_ json_t *bad = exec_probe("echo out; echo err >&2; exit 1");
    CHECK_INT(sk_kl_probe_once(R.rt, bad, "c1", "", msg, sizeof msg), 1);
    CHECK_STR(msg, "out\nerr\n");
    _sk_json_ json_t *missing = json_pack("{s:{s:[s]}}", "exec", "command", "/no/such/binary");
    CHECK_INT(sk_kl_probe_once(R.rt, missing, "c1", "", msg, sizeof msg), 1);
    CHECK_INT(sk_kl_probe_once(R.rt, ok, "no-such-container", "", msg, sizeof msg), -1);

    /* timeoutSeconds: killed, upstream's message */
    _sk_json_ json_t *slow = json_pack("{s:{s:[s, s]}, s:i}", "exec", "command", "sleep", "5", "timeoutSeconds", 1);
    int64_t t0 = sk_now_ms();
    CHECK_INT(sk_kl_probe_once(R.rt, slow, "c1", "", msg, sizeof msg), 1);
    CHECK(ms_since(t0) >= 950 && ms_since(t0) < 3000);
    CHECK_STR(msg, "command \"sleep 5\" timed out");

    /* $(VAR) from the container's env */
    _sk_json_ json_t *ctr = json_pack("{s:[{s:s, s:s}]}", "env", "name", "WANT", "value", "hello");
    _sk_json_ json_t *exp = exec_probe("test \"$(WANT)\" = hello");
    CHECK_INT(sk_kl_probe_run(R.rt, exp, ctr, "c1", "", 5000, msg, sizeof msg), 0);

    /* hooks */
    _sk_json_ json_t *hook = json_pack("{s:{s:[s, s, s]}}", "exec", "command", "sh", "-c", "echo up > /tmp/healthy");
    CHECK_INT(sk_kl_handler_run(R.rt, hook, "c1", "", 5000, msg, sizeof msg), 0);
    _sk_json_ json_t *badhook = json_pack("{s:{s:[s, s, s]}}", "exec", "command", "sh", "-c", "echo no >&2; exit 3");
    CHECK_INT(sk_kl_handler_run(R.rt, badhook, "c1", "", 5000, msg, sizeof msg), 1);
    CHECK_STR(msg, "Exec lifecycle hook ([sh -c echo no >&2; exit 3]) failed - error: command 'sh -c echo no >&2; "
                   "exit 3' exited with 3: no\n, message: \"no\\n\"");

    /* liveness through the prober: passes until the file goes */
    struct sk_kl_probe_state st;
    _sk_json_ json_t *lc = json_pack("{s:s, s:{s:{s:[s, s]}, s:i, s:i, s:i}}", "name", "c1", "livenessProbe", "exec",
                                     "command", "cat", "/tmp/healthy", "periodSeconds", 1, "failureThreshold", 2,
                                     "timeoutSeconds", 30);
    atomic_store(&changes, 0);
    sk_kl_prober_add(p, "ns/exec", "c1", "c1", lc, "", sk_wall_ms());
    usleep(4 * SCALE * 1000);
    CHECK(sk_kl_prober_get(p, "ns/exec", "c1", "c1", &st) && !st.liveness_failed && st.ready);
    _sk_json_ json_t *rm = json_pack("{s:{s:[s, s]}}", "exec", "command", "rm", "/tmp/healthy");
    CHECK_INT(sk_kl_handler_run(R.rt, rm, "c1", "", 5000, msg, sizeof msg), 0);
    CHECK(WAIT_FOR(p, "ns/exec", "c1", "c1", st, st.liveness_failed, 5000));
    CHECK(!strncmp(st.message, "Liveness probe failed: cat: can't open '/tmp/healthy'", 52));
    CHECK_INT(atomic_load(&changes), 1);
    sk_kl_prober_remove(p, "ns/exec", NULL);
    return 0;
}

static int rt_teardown(void)
{
    int bad = 0;
    sk_err err = SK_ERR_INIT;
    if (R.rt) {
        if (sk_rt_sandbox_remove(R.rt, "probe-pod", &err) < 0) fprintf(stderr, "sandbox remove: %s\n", err.msg), bad++;
        if (sk_rt_purge(R.rt, &err) < 0) fprintf(stderr, "purge: %s\n", err.msg), bad++;
        sk_rt_free(R.rt);
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", R.tmp);
    if (R.tmp[0] && system(cmd) != 0) bad++;
    return bad;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as the agent: peers that hang up are errors, not deaths */
    /* sk_rt_init must run before any thread starts */
    R.on = geteuid() == 0 && access("/bin/busybox", X_OK) == 0 && system("command -v crun >/dev/null 2>&1") == 0;
    if (R.on && rt_prepare() < 0) {
        rt_teardown();
        fprintf(stderr, "runtime setup failed\n");
        return 1;
    }
    if (!R.on) fprintf(stderr, "skip exec probes: need root, crun and /bin/busybox\n");
    REQUIRE(server_start() == 0);
    test_helpers();
    test_http_once();
    test_tcp_once();
    test_handlers();

    sk_err err = SK_ERR_INIT;
    sk_kl_prober *p = sk_kl_prober_new(R.on ? R.rt : NULL, on_change, &changes, &err);
    REQUIRE(p);
    sk_kl_prober_set_time_scale(p, SCALE);
    int64_t t0 = sk_now_ms();
    test_prober_readiness(p);
    test_prober_liveness(p);
    test_prober_startup(p);
    test_prober_delay_and_errors(p);
    test_prober_slow_does_not_block(p);
    fprintf(stderr, "prober tests: %lld ms\n", (long long)ms_since(t0));
    if (R.on) {
        if (rt_container() == 0) test_exec(p);
        else test_failures++;
    }
    sk_kl_prober_free(p);
    sk_kl_prober_free(NULL);
    server_stop();
    if (R.on && rt_teardown()) test_failures++;
    return test_done();
}
