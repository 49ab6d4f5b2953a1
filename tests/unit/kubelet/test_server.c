/* The agent's HTTPS API without root: client-certificate checks, healthz,
 * container logs (options, follow, errors as Status), the exec/attach
 * WebSocket handshake and framing against a fake core without a runtime,
 * SPDY refusals, the port-forward upgrades and stopping with open streams. */
#include "test_server_client.h"

#include <pthread.h>

#define TS "2026-01-02T03:04:05.000000001Z"

static struct tpki P;
static char logpath[256], prevpath[256];

/* The fake core: default/web (container app, running), default/new (not
 * started); anything else is unknown. */
static pthread_mutex_t fake_mu = PTHREAD_MUTEX_INITIALIZER;
static bool web_running = true, web_has_prev = false;
static int lookups; /* under fake_mu */

static int fake_lookup(void *ud, const char *ns, const char *pod, const char *ctr,
                       struct sk_kl_ctr_ref *out, sk_err *err)
{
    (void)ud;
    if (strcmp(ns, "default") || (strcmp(pod, "web") && strcmp(pod, "new")))
        return sk_err_set(err, SK_ENOTFOUND, "pods \"%s\" not found", pod);
    if (ctr && *ctr && strcmp(ctr, "app"))
        return sk_err_set(err, SK_ENOTFOUND, "container \"%s\" not found in pod \"%s\"", ctr, pod);
    snprintf(out->pod_uid, sizeof out->pod_uid, "uid-%s", pod);
    snprintf(out->netns_path, sizeof out->netns_path, "/run/netns/none-%s", pod);
    if (!strcmp(pod, "new")) return 0;
    pthread_mutex_lock(&fake_mu);
    lookups++;
    snprintf(out->container_id, sizeof out->container_id, "ctr-web-1");
    out->running = web_running;
    snprintf(out->log_path, sizeof out->log_path, "%s", logpath);
    if (web_has_prev) snprintf(out->prev_log_path, sizeof out->prev_log_path, "%s", prevpath);
    pthread_mutex_unlock(&fake_mu);
    return 0;
}

static void set_running(bool r)
{
    pthread_mutex_lock(&fake_mu);
    web_running = r;
    pthread_mutex_unlock(&fake_mu);
}

static int lookup_count(void)
{
    pthread_mutex_lock(&fake_mu);
    int n = lookups;
    pthread_mutex_unlock(&fake_mu);
    return n;
}

/* Waits until the server has looked a request up (then it opens the log at
 * once); 0 on timeout. */
static int wait_lookup(int before)
{
    for (int i = 0; i < 500 && lookup_count() == before; i++) usleep(10000);
    usleep(100000);
    return lookup_count() != before;
}

static void append(const char *path, const char *text)
{
    FILE *f = fopen(path, "a");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static sk_kl_server *start(sk_err *err)
{
    struct sk_kl_server_config cfg = {.bind_address = "127.0.0.1", .port = 0,
                                      .cert_pem = P.serving.cert, .key_pem = P.serving.key,
                                      .client_ca_pem = P.ca_pem, .allowed_cn = API_CN,
                                      .lookup = fake_lookup};
    return sk_kl_server_new(&cfg, err);
}

static bool has(const sk_buf *b, const char *s)
{
    return b->data && strstr(b->data, s);
}

static int test_auth(int port)
{
    sk_buf b = SK_BUF_INIT;
    CHECK_INT(tcurl(port, "GET", "/healthz", &P, P.cert, P.key, &b), 200);
    CHECK_STR(b.data, "ok");
    sk_buf_release(&b);
    CHECK_INT(tcurl(port, "GET", "/healthz", &P, NULL, NULL, &b), 401);
    CHECK(has(&b, "\"kind\":\"Status\"") && has(&b, "\"reason\":\"Unauthorized\"") && has(&b, "\"code\":401"));
    sk_buf_release(&b);
    CHECK_INT(tcurl(port, "GET", "/containerLogs/default/web/app", &P, P.wcert, P.wkey, &b), 403);
    CHECK(has(&b, "\"reason\":\"Forbidden\"") && has(&b, "user=mallory"));
    sk_buf_release(&b);
    CHECK_INT(tcurl(port, "GET", "/healthz", &P, P.fcert, P.fkey, &b), 401);
    sk_buf_release(&b);
    return 0;
}

static int test_logs(int port)
{
    sk_buf b = SK_BUF_INIT;
    CHECK_INT(tcurl(port, "GET", "/containerLogs/default/web/app", &P, P.cert, P.key, &b), 200);
    CHECK_STR(b.data, "hello\nworld\n");
    sk_buf_release(&b);
    CHECK_INT(tcurl(port, "GET", "/containerLogs/default/web/app?tailLines=1&timestamps=true", &P,
                    P.cert, P.key, &b), 200);
    CHECK_STR(b.data, TS " world\n");
    sk_buf_release(&b);
    CHECK_INT(tcurl(port, "GET", "/containerLogs/default/web/app?limitBytes=3", &P, P.cert, P.key, &b), 200);
    CHECK_STR(b.data, "hel");
    sk_buf_release(&b);
    CHECK_INT(tcurl(port, "GET", "/containerLogs/default/web/app?sinceTime=2030-01-01T00:00:00Z", &P,
                    P.cert, P.key, &b), 200);
    CHECK_STR(b.data, "");
    sk_buf_release(&b);
    CHECK_INT(tcurl(port, "GET", "/containerLogs/default/web/app?sinceSeconds=60", &P, P.cert, P.key, &b), 200);
    CHECK_STR(b.data, ""); /* the lines are from 2026-01-02 */
    sk_buf_release(&b);
    CHECK_INT(tcurl(port, "GET", "/containerLogs/default/web/app?tailLines=-1", &P, P.cert, P.key, &b), 400);
    sk_buf_release(&b);

    CHECK_INT(tcurl(port, "GET", "/containerLogs/default/nope/app", &P, P.cert, P.key, &b), 404);
    CHECK(has(&b, "\"reason\":\"NotFound\"") && has(&b, "pods \\\"nope\\\" not found"));
    sk_buf_release(&b);
    CHECK_INT(tcurl(port, "GET", "/containerLogs/default/web/other", &P, P.cert, P.key, &b), 404);
    sk_buf_release(&b);
    CHECK_INT(tcurl(port, "GET", "/nothing/here", &P, P.cert, P.key, &b), 404);
    sk_buf_release(&b);
    CHECK_INT(tcurl(port, "PUT", "/containerLogs/default/web/app", &P, P.cert, P.key, &b), 405);
    sk_buf_release(&b);
    CHECK_INT(tcurl(port, "GET", "/containerLogs/default/new/app", &P, P.cert, P.key, &b), 400);
    CHECK(has(&b, "container \\\"app\\\" in pod \\\"new\\\" is waiting to start: ContainerCreating"));
    sk_buf_release(&b);
    CHECK_INT(tcurl(port, "GET", "/containerLogs/default/web/app?previous=true", &P, P.cert, P.key, &b), 400);
    CHECK(has(&b, "previous terminated container \\\"app\\\" in pod \\\"web\\\" not found"));
    sk_buf_release(&b);
    web_has_prev = true;
    CHECK_INT(tcurl(port, "GET", "/containerLogs/default/web/app?previous=true&follow=true", &P, P.cert,
                    P.key, &b), 200);
    CHECK_STR(b.data, "earlier\n");
    sk_buf_release(&b);
    web_has_prev = false;
    return 0;
}

static void *late_writer(void *arg)
{
    wait_lookup(*(int *)arg);
    usleep(200000);
    append(logpath, TS " stdout F third\n");
    usleep(300000);
    append(logpath, TS " stderr F fourth\n");
    usleep(200000);
    set_running(false);
    return NULL;
}

static int test_follow(int port)
{
    sk_buf b = SK_BUF_INIT;
    pthread_t th;
    int before = lookup_count();
    REQUIRE(pthread_create(&th, NULL, late_writer, &before) == 0);
    int64_t t0 = sk_now_ms();
    CHECK_INT(tcurl(port, "GET", "/containerLogs/default/web/app?follow=true&tailLines=1", &P, P.cert,
                    P.key, &b), 200);
    pthread_join(th, NULL);
    CHECK_STR(b.data, "world\nthird\nfourth\n");
    int64_t ms = sk_now_ms() - t0;
    CHECK(ms >= 700 && ms < 8000);
    sk_buf_release(&b);
    set_running(true);
    return 0;
}

static int test_spdy_refused(int port)
{
    sk_buf b = SK_BUF_INIT;
    CHECK_INT(tcurl(port, "POST", "/exec/default/web/app?command=ls&stdout=true", &P, P.cert, P.key, &b), 400);
    CHECK(has(&b, "SPDY is not supported"));
    sk_buf_release(&b);
    CHECK_INT(tcurl(port, "GET", "/exec/default/web/app?stdout=true", &P, P.cert, P.key, &b), 400);
    CHECK(has(&b, "at least one command"));
    sk_buf_release(&b);
    CHECK_INT(tcurl(port, "GET", "/exec/default/nope/app?command=ls&stdout=true", &P, P.cert, P.key, &b), 404);
    sk_buf_release(&b);
    CHECK_INT(tcurl(port, "GET", "/exec/default/new/app?command=ls&stdout=true", &P, P.cert, P.key, &b), 400);
    CHECK(has(&b, "waiting to start"));
    sk_buf_release(&b);
    return 0;
}

static bool got_status(struct wsc *c, void *ud)
{
    (void)ud;
    return c->ch[3].len > 0 && (c->closed || c->eof);
}

static int test_ws_exec_without_runtime(int port)
{
    struct wsc c;
    _sk_free_ char *req = wsc_request("GET", "/exec/default/web/app?command=sh&command=-c&stdout=true",
                                      "v5.channel.k8s.io");
    REQUIRE(wsc_connect(&c, port, &P, req) == 0);
    CHECK(!strncmp(c.head, "HTTP/1.1 101", 12));
    CHECK(strcasestr(c.head, "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n") != NULL);
    CHECK(strcasestr(c.head, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") != NULL);
    CHECK(wsc_run(&c, 5000, got_status, NULL));
    CHECK(has(&c.ch[3], "\"status\":\"Failure\"") && has(&c.ch[3], "no container runtime"));
    CHECK(wsc_run(&c, 5000, NULL, NULL));
    CHECK_INT(c.close_code, 1000);
    wsc_close(&c);

    /* v4 alone is echoed too; an unknown protocol is refused before the upgrade */
    _sk_free_ char *v4 = wsc_request("GET", "/exec/default/web/app?command=ls&stdout=true",
                                     "base64.channel.k8s.io, v4.channel.k8s.io");
    REQUIRE(wsc_connect(&c, port, &P, v4) == 0);
    CHECK(strcasestr(c.head, "Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n") != NULL);
    wsc_close(&c);
    _sk_free_ char *bad = wsc_request("GET", "/exec/default/web/app?command=ls&stdout=true",
                                      "channel.k8s.io");
    REQUIRE(wsc_connect(&c, port, &P, bad) == 0);
    CHECK(!strncmp(c.head, "HTTP/1.1 400", 12));
    wsc_close(&c);
    return 0;
}

static bool got_lines(struct wsc *c, void *ud)
{
    return has(&c->ch[1], ud) || c->eof;
}

static int test_attach(int port)
{
    struct wsc c;
    _sk_free_ char *req =
        wsc_request("GET", "/attach/default/web/app?stdout=true&stderr=true", "v5.channel.k8s.io");
    REQUIRE(wsc_connect(&c, port, &P, req) == 0);
    CHECK(!strncmp(c.head, "HTTP/1.1 101", 12));
    /* The session opens the log at some point after the 101: write until
     * lines arrive. */
    bool got = false;
    for (int i = 0; i < 25 && !got; i++) {
        append(logpath, TS " stdout F attached-out\n" TS " stderr F attached-err\n");
        got = wsc_run(&c, 200, got_lines, "attached-out\n") && !c.eof;
    }
    CHECK(got);
    set_running(false);
    CHECK(wsc_run(&c, 5000, got_status, NULL));
    /* from now on: not the earlier lines */
    CHECK(!strncmp(c.ch[1].data, "attached-out\n", 13) && !has(&c.ch[1], "hello"));
    CHECK(!strncmp(c.ch[2].data, "attached-err\n", 13) && !has(&c.ch[2], "world"));
    CHECK(has(&c.ch[3], "\"status\":\"Success\""));
    wsc_close(&c);
    set_running(true);
    return 0;
}

static int test_portforward_upgrades(int port)
{
    struct wsc c;
    _sk_free_ char *req = wsc_request("GET", "/portForward/default/web", "SPDY/3.1+portforward.k8s.io");
    REQUIRE(wsc_connect(&c, port, &P, req) == 0);
    CHECK(!strncmp(c.head, "HTTP/1.1 101", 12));
    CHECK(strcasestr(c.head, "Sec-WebSocket-Protocol: SPDY/3.1+portforward.k8s.io\r\n") != NULL);
    wsc_close(&c);
    const char *spdy = "POST /portForward/default/web HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                       "Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n"
                       "Content-Length: 0\r\n\r\n";
    REQUIRE(wsc_connect(&c, port, &P, spdy) == 0);
    CHECK(!strncmp(c.head, "HTTP/1.1 101", 12));
    CHECK(strcasestr(c.head, "Upgrade: SPDY/3.1\r\n") != NULL);
    CHECK(strcasestr(c.head, "X-Stream-Protocol-Version: portforward.k8s.io\r\n") != NULL);
    wsc_close(&c);
    sk_buf b = SK_BUF_INIT;
    CHECK_INT(tcurl(port, "GET", "/portForward/default/web", &P, P.cert, P.key, &b), 400);
    sk_buf_release(&b);
    return 0;
}

/* Freeing the server ends a follow stream and a WebSocket session. */
static void *follower(void *arg)
{
    sk_buf b = SK_BUF_INIT;
    tcurl(*(int *)arg, "GET", "/containerLogs/default/web/app?follow=true", &P, P.cert, P.key, &b);
    sk_buf_release(&b);
    return NULL;
}

static int test_stop_with_streams(void)
{
    sk_err err = SK_ERR_INIT;
    sk_kl_server *s = start(&err);
    REQUIRE(s);
    int port = sk_kl_server_port(s);
    pthread_t th;
    int before = lookup_count();
    REQUIRE(pthread_create(&th, NULL, follower, &port) == 0);
    CHECK(wait_lookup(before));
    struct wsc c;
    _sk_free_ char *req = wsc_request("GET", "/attach/default/web/app?stdout=true", "v5.channel.k8s.io");
    REQUIRE(wsc_connect(&c, port, &P, req) == 0);
    usleep(200000);
    int64_t t0 = sk_now_ms();
    sk_kl_server_free(s);
    CHECK(sk_now_ms() - t0 < 3000);
    pthread_join(th, NULL);
    wsc_close(&c);
    return 0;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    REQUIRE(tpki_setup(&P) == 0);
    snprintf(logpath, sizeof logpath, "%s/0.log", P.dir);
    snprintf(prevpath, sizeof prevpath, "%s/prev.log", P.dir);
    append(logpath, TS " stdout F hello\n" TS " stderr F world\n");
    append(prevpath, TS " stdout F earlier\n");
    sk_err err = SK_ERR_INIT;
    sk_kl_server *s = start(&err);
    if (!s) fprintf(stderr, "server: %s\n", err.msg);
    REQUIRE(s);
    int port = sk_kl_server_port(s);
    CHECK(port > 0);
    int rc = test_auth(port) | test_logs(port) | test_follow(port) | test_spdy_refused(port) |
             test_ws_exec_without_runtime(port) | test_attach(port) | test_portforward_upgrades(port);
    sk_kl_server_free(s);
    rc |= test_stop_with_streams();
    tpki_cleanup(&P);
    curl_global_cleanup();
    return rc ? rc : test_done();
}
