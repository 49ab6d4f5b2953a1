/* exec through the agent's HTTPS API into a real container (root, crun and
 * busybox, else exit 77): the WebSocket v5 client sends `echo hi; exit 3`
 * and gets "hi" on stdout and a NonZeroExitCode Status with ExitCode 3;
 * stdin with the v5 close signal; a tty with resize; PING/PONG. */
#include "../runtime/test_runtime_fixture.h"
#include "test_server_client.h"

#define ARGS(...) (const char *const[]){__VA_ARGS__}, sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *)

static struct fx F;
static struct tpki P;
static char logpath[256];

static int lookup(void *ud, const char *ns, const char *pod, const char *ctr, struct sk_kl_ctr_ref *out,
                  sk_err *err)
{
    (void)ud;
    if (strcmp(ns, "default") || strcmp(pod, "web") || (ctr && *ctr && strcmp(ctr, "app")))
        return sk_err_set(err, SK_ENOTFOUND, "pods \"%s\" not found", pod);
    snprintf(out->container_id, sizeof out->container_id, "web-app");
    snprintf(out->log_path, sizeof out->log_path, "%s", logpath);
    out->running = true;
    return 0;
}

static bool finished(struct wsc *c, void *ud)
{
    (void)ud;
    return c->ch[3].len > 0 && (c->closed || c->eof);
}

static bool has(const sk_buf *b, const char *s)
{
    return b->data && strstr(b->data, s);
}

static int test_exit_code(int port)
{
    struct wsc c;
    _sk_free_ char *req = wsc_request(
        "GET", "/exec/default/web/app?command=sh&command=-c&command=echo%20hi%3B%20echo%20err%20%3E%262%3B%20exit%203"
               "&stdout=true&stderr=true", "v5.channel.k8s.io");
    REQUIRE(wsc_connect(&c, port, &P, req) == 0);
    CHECK(!strncmp(c.head, "HTTP/1.1 101", 12));
    CHECK(wsc_run(&c, 10000, finished, NULL));
    CHECK_STR(c.ch[1].data, "hi\n");
    CHECK_STR(c.ch[2].data, "err\n");
    CHECK(has(&c.ch[3], "\"status\":\"Failure\"") && has(&c.ch[3], "\"reason\":\"NonZeroExitCode\"") &&
          has(&c.ch[3], "\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"3\"}]"));
    CHECK(wsc_run(&c, 5000, NULL, NULL));
    CHECK_INT(c.close_code, 1000);
    wsc_close(&c);
    return 0;
}

static bool got_pong(struct wsc *c, void *ud)
{
    (void)ud;
    return c->pongs > 0 || c->eof;
}

static int test_stdin_and_ping(int port)
{
    struct wsc c;
    _sk_free_ char *req = wsc_request("GET", "/exec/default/web/app?command=cat&stdin=true&stdout=true&stderr=true",
                                      "v5.channel.k8s.io");
    REQUIRE(wsc_connect(&c, port, &P, req) == 0);
    struct wslay_event_msg ping = {WSLAY_PING, (const uint8_t *)"k8s", 3};
    wslay_event_queue_msg(c.ctx, &ping);
    CHECK(wsc_run(&c, 5000, got_pong, NULL));
    CHECK_INT(c.pongs, 1);
    wsc_send_ch(&c, 0, "hello\n", 6);
    wsc_send_ch(&c, 0, "world\n", 6);
    wsc_send_ch(&c, 255, "\0", 1); /* v5: close stdin */
    CHECK(wsc_run(&c, 10000, finished, NULL));
    CHECK_STR(c.ch[1].data, "hello\nworld\n");
    CHECK_STR(c.ch[3].data, "{\"metadata\":{},\"status\":\"Success\"}");
    wsc_close(&c);
    return 0;
}

static bool prompt(struct wsc *c, void *ud)
{
    return has(&c->ch[1], ud) || c->eof;
}

static int test_tty(int port)
{
    struct wsc c;
    _sk_free_ char *req = wsc_request("GET", "/exec/default/web/app?command=sh&stdin=true&stdout=true&tty=true",
                                      "v5.channel.k8s.io");
    REQUIRE(wsc_connect(&c, port, &P, req) == 0);
    const char *size = "{\"Width\":120,\"Height\":40}\n";
    wsc_send_ch(&c, 4, size, strlen(size));
    CHECK(wsc_run(&c, 5000, prompt, "# "));
    wsc_send_ch(&c, 0, "stty size\r", 10);
    CHECK(wsc_run(&c, 5000, prompt, "40 120"));
    size = "{\"Width\":100,\"Height\":30}\n";
    wsc_send_ch(&c, 4, size, strlen(size));
    wsc_send_ch(&c, 0, "stty size; tty; exit 4\r", 23);
    CHECK(wsc_run(&c, 10000, finished, NULL));
    CHECK(has(&c.ch[1], "30 100") && has(&c.ch[1], "/dev/pts/"));
    CHECK(has(&c.ch[3], "\"message\":\"4\""));
    wsc_close(&c);
    return 0;
}

/* A client that leaves mid-command does not hang the session. */
static int test_client_leaves(int port)
{
    struct wsc c;
    _sk_free_ char *req =
        wsc_request("GET", "/exec/default/web/app?command=sleep&command=100&stdout=true", "v5.channel.k8s.io");
    REQUIRE(wsc_connect(&c, port, &P, req) == 0);
    usleep(300000);
    wsc_close(&c);
    return 0;
}

int main(void)
{
    fx_require();
    pid_t origin = getppid();
    sk_err err = SK_ERR_INIT;
    REQUIRE(fx_prepare(&F) == 0);
    F.rt = fx_init(&F, &err);
    if (!F.rt) fprintf(stderr, "init: %s\n", err.msg);
    REQUIRE(F.rt);
    REQUIRE(fx_sandbox(&F, "pod1", "web") == 0);
    struct sk_rt_container_config cc = fx_config(&F, "pod1", "web-app", ARGS("sleep", "1000"), logpath, sizeof logpath);
    REQUIRE(fx_create_start(&F, &cc) == 0);
    REQUIRE(tpki_setup(&P) == 0);
    struct sk_kl_server_config cfg = {.bind_address = "127.0.0.1", .cert_pem = P.serving.cert,
                                      .key_pem = P.serving.key, .client_ca_pem = P.ca_pem, .allowed_cn = API_CN,
                                      .rt = F.rt, .lookup = lookup};
    sk_kl_server *s = sk_kl_server_new(&cfg, &err);
    if (!s) fprintf(stderr, "server: %s\n", err.msg);
    if (s) {
        int port = sk_kl_server_port(s);
        if (test_exit_code(port) | test_stdin_and_ping(port) | test_tty(port) | test_client_leaves(port))
            test_failures++;
        sk_kl_server_free(s);
    } else {
        test_failures++;
    }
    CHECK(sk_rt_container_remove(F.rt, "web-app", &err) == 0);
    CHECK(sk_rt_sandbox_remove(F.rt, "pod1", &err) == 0);
    tpki_cleanup(&P);
    if (fx_teardown(&F, origin)) test_failures++;
    return test_done();
}
