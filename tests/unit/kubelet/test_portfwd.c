/* Port-forward sessions end to end over a socketpair: the test plays
 * kubectl (an SPDY client built from the framer, optionally inside a masked
 * WebSocket client made with wslay, cutting the SPDY byte stream into odd
 * message sizes) against sk_kl_portforward_serve on a thread, with small
 * HTTP and echo servers on 127.0.0.1 as the pod. As root, one case runs the
 * pod server inside a network namespace the test creates (else skipped). */
#include "kubelet/agent_int.h"
#include "kubelet/spdy.h"
#include "network/network.h"
#include "unit/test.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <wslay/wslay.h>

#define REQUIRE_V(c) do { if (!(c)) { CHECK(c); return; } } while (0)
#define HTTP_REPLY "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello from pod\n"
#define MAX_STREAMS 32

/* ---- the pod: tiny servers ------------------------------------------------------- */

enum pod_mode { POD_HTTP, POD_ECHO, POD_HOLD };

struct pod {
    int lfd;
    enum pod_mode mode;
    volatile int stop;
    pthread_t thr;
    int port;
};

static void *pod_conn(void *arg)
{
    intptr_t packed = (intptr_t)arg;
    int fd = (int)(packed >> 2);
    enum pod_mode mode = (enum pod_mode)(packed & 3);
    bool echo = mode == POD_ECHO;
    char buf[65536];
    size_t got = 0;
    if (mode == POD_HOLD) { /* swallows input, then keeps the socket open a while */
        while (read(fd, buf, sizeof buf) > 0) {}
        usleep(3000 * 1000);
        close(fd);
        return NULL;
    }
    for (;;) {
        ssize_t n = read(fd, buf + (echo ? 0 : got), echo ? sizeof buf : sizeof buf - 1 - got);
        if (n <= 0) break;
        if (echo) {
            for (ssize_t off = 0; off < n;) {
                ssize_t w = write(fd, buf + off, (size_t)(n - off));
                if (w <= 0) goto out;
                off += w;
            }
            continue;
        }
        got += (size_t)n;
        buf[got] = '\0';
        if (strstr(buf, "\r\n\r\n")) {
            if (write(fd, HTTP_REPLY, strlen(HTTP_REPLY)) < 0) break;
            break;
        }
        if (got >= sizeof buf - 1) break;
    }
out:
    close(fd);
    return NULL;
}

static void *pod_main(void *arg)
{
    struct pod *p = arg;
    while (!p->stop) {
        struct pollfd pf = {.fd = p->lfd, .events = POLLIN};
        if (poll(&pf, 1, 50) <= 0) continue;
        int c = accept(p->lfd, NULL, NULL);
        if (c < 0) continue;
        pthread_t t;
        pthread_create(&t, NULL, pod_conn, (void *)(((intptr_t)c << 2) | p->mode));
        pthread_detach(t);
    }
    return NULL;
}

static int listen_loopback(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    return ntohs(a.sin_port);
}

static void pod_start(struct pod *p, int lfd, enum pod_mode mode)
{
    memset(p, 0, sizeof *p);
    p->lfd = lfd;
    p->mode = mode;
    p->port = bound_port(lfd);
    pthread_create(&p->thr, NULL, pod_main, p);
}

static void pod_stop(struct pod *p)
{
    p->stop = 1;
    pthread_join(p->thr, NULL);
    close(p->lfd);
}

/* ---- the agent side ------------------------------------------------------------------ */

struct agent {
    int fd;
    bool ws;
    const char *netns;
    int rc;
    sk_err err;
    pthread_t thr;
};

static void *agent_main(void *arg)
{
    struct agent *a = arg;
    a->rc = sk_kl_portforward_serve(a->fd, a->ws, a->netns, &a->err);
    return NULL;
}

/* ---- the kubectl side ------------------------------------------------------------------ */

struct stream {
    uint32_t id;
    bool replied, fin, rst;
    uint32_t rst_status;
    sk_buf data;
};

struct cli {
    int fd;
    bool ws;
    wslay_event_context_ptr wctx;
    sk_spdy_parser *parser;
    sk_spdy_deflater *z;
    sk_buf out;        /* raw bytes not yet written / cut into messages */
    size_t out_off;
    int cut;           /* ws: which message size comes next */
    struct stream st[MAX_STREAMS];
    uint32_t next_id;
    uint32_t pings, pongs;
    bool goaway, eof, ws_closed;
};

static struct stream *cli_stream(struct cli *c, uint32_t id)
{
    for (int i = 0; i < MAX_STREAMS; i++)
        if (c->st[i].id == id) return &c->st[i];
    for (int i = 0; i < MAX_STREAMS; i++)
        if (!c->st[i].id) {
            c->st[i].id = id;
            return &c->st[i];
        }
    return NULL;
}

static int cli_on_frame(void *ud, const struct sk_spdy_frame *f, sk_err *err)
{
    (void)err;
    struct cli *c = ud;
    struct stream *s = f->stream_id ? cli_stream(c, f->stream_id) : NULL;
    switch (f->type) {
    case SK_SPDY_SYN_REPLY: s->replied = true; break;
    case SK_SPDY_DATA:
        if (f->len) sk_buf_add(&s->data, f->data, f->len);
        if (f->frame_end && (f->flags & SK_SPDY_FLAG_FIN)) s->fin = true;
        break;
    case SK_SPDY_RST_STREAM: s->rst = true; s->rst_status = f->status; break;
    case SK_SPDY_PING: c->pings++; break;
    case SK_SPDY_GOAWAY: c->goaway = true; break;
    default: break;
    }
    return 0;
}

static void cli_feed(struct cli *c, const void *d, size_t n)
{
    sk_err err = SK_ERR_INIT;
    if (sk_spdy_parser_feed(c->parser, d, n, cli_on_frame, c, &err) < 0) {
        fprintf(stderr, "client parse: %s\n", err.msg);
        test_failures++;
    }
}

static ssize_t cws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int fl, void *ud)
{
    (void)fl;
    struct cli *c = ud;
    ssize_t n = recv(c->fd, buf, len, 0);
    if (n > 0) return n;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    } else {
        c->eof = true;
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    }
    return -1;
}

static ssize_t cws_send(wslay_event_context_ptr ctx, const uint8_t *d, size_t len, int fl, void *ud)
{
    (void)fl;
    struct cli *c = ud;
    ssize_t n = send(c->fd, d, len, MSG_NOSIGNAL);
    if (n >= 0) return n;
    wslay_event_set_error(ctx, errno == EAGAIN ? WSLAY_ERR_WOULDBLOCK : WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static int cws_mask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *ud)
{
    (void)ctx;
    (void)ud;
    for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)(rand() & 0xff);
    return 0;
}

static void cws_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a,
                    void *ud)
{
    (void)ctx;
    struct cli *c = ud;
    if (a->opcode == WSLAY_BINARY_FRAME) cli_feed(c, a->msg, a->msg_length);
    else if (a->opcode == WSLAY_PONG) c->pongs++;
    else if (a->opcode == WSLAY_CONNECTION_CLOSE) c->ws_closed = true;
    else if (a->opcode == WSLAY_TEXT_FRAME) test_failures++; /* the server sends binary only */
}

static void cli_init(struct cli *c, int fd, bool ws)
{
    memset(c, 0, sizeof *c);
    sk_err err = SK_ERR_INIT;
    c->fd = fd;
    c->ws = ws;
    c->next_id = 1;
    c->parser = sk_spdy_parser_new(&err);
    c->z = sk_spdy_deflater_new(&err);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (ws) {
        struct wslay_event_callbacks cb = {.recv_callback = cws_recv, .send_callback = cws_send,
                                           .genmask_callback = cws_mask,
                                           .on_msg_recv_callback = cws_msg};
        wslay_event_context_client_init(&c->wctx, &cb, c);
    }
}

static void cli_free(struct cli *c)
{
    for (int i = 0; i < MAX_STREAMS; i++) sk_buf_release(&c->st[i].data);
    if (c->wctx) wslay_event_context_free(c->wctx);
    sk_spdy_parser_free(c->parser);
    sk_spdy_deflater_free(c->z);
    sk_buf_release(&c->out);
    if (c->fd >= 0) close(c->fd);
}

/* WebSocket: the SPDY bytes go out in messages of odd sizes that ignore
 * frame boundaries, as kubectl's tunnel does. */
static void cli_cut_messages(struct cli *c)
{
    static const size_t sizes[] = {1, 5, 13, 3, 4096, 7, 65536, 2};
    while (c->out_off < c->out.len) {
        size_t n = sizes[c->cut++ % SK_ARRAY_LEN(sizes)];
        if (n > c->out.len - c->out_off) n = c->out.len - c->out_off;
        struct wslay_event_msg m = {WSLAY_BINARY_FRAME, (uint8_t *)c->out.data + c->out_off, n};
        wslay_event_queue_msg(c->wctx, &m);
        c->out_off += n;
    }
    c->out.len = c->out_off = 0;
}

static void cli_send(struct cli *c, const sk_buf *frame)
{
    sk_buf_add(&c->out, frame->data, frame->len);
    if (c->ws) cli_cut_messages(c);
}

static bool cli_pending(struct cli *c)
{
    return c->ws ? wslay_event_want_write(c->wctx) : c->out_off < c->out.len;
}

/* One round of I/O, waiting at most ms. */
static void cli_pump(struct cli *c, int ms)
{
    struct pollfd p = {.fd = c->fd, .events = (short)((c->eof ? 0 : POLLIN) |
                                                      (cli_pending(c) ? POLLOUT : 0))};
    if (!p.events || poll(&p, 1, ms) <= 0) return;
    if (c->ws && !c->ws_closed) {
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            if (wslay_event_recv(c->wctx) != 0) c->eof = true;
        }
        if (p.revents & POLLOUT) wslay_event_send(c->wctx);
        return;
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
        char buf[65536];
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n > 0 && !c->ws) cli_feed(c, buf, (size_t)n);
        else if (n == 0 || errno != EAGAIN) c->eof = true;
    }
    if (p.revents & POLLOUT) {
        ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) c->out_off += (size_t)n;
        if (c->out_off == c->out.len) c->out.len = c->out_off = 0;
    }
}

typedef bool (*cond_fn)(struct cli *c, const void *arg);

static bool cli_wait(struct cli *c, cond_fn cond, const void *arg, int ms)
{
    int64_t deadline = sk_now_ms() + ms;
    while (!cond(c, arg)) {
        if (sk_now_ms() > deadline || c->eof) return cond(c, arg);
        cli_pump(c, 20);
    }
    return true;
}

static bool replied(struct cli *c, const void *id)
{
    struct stream *s = cli_stream(c, *(const uint32_t *)id);
    return s->replied || s->rst;
}

static bool finned(struct cli *c, const void *id)
{
    struct stream *s = cli_stream(c, *(const uint32_t *)id);
    return s->fin || s->rst;
}

static bool drained(struct cli *c, const void *arg)
{
    (void)arg;
    return !cli_pending(c);
}

static uint32_t cli_open(struct cli *c, const char *type, int port, const char *rid, uint8_t flags)
{
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    struct sk_spdy_header h[3] = {{"streamtype", type, 0, 0}, {"port", ps, 0, 0},
                                  {"requestid", rid, 0, 0}};
    sk_buf b = SK_BUF_INIT;
    sk_err err = SK_ERR_INIT;
    uint32_t id = c->next_id;
    c->next_id += 2;
    CHECK(sk_spdy_put_syn_stream(c->z, &b, id, 0, 0, flags, h, rid ? 3 : 2, &err) == 0);
    cli_send(c, &b);
    sk_buf_release(&b);
    cli_stream(c, id);
    return id;
}

static void cli_data(struct cli *c, uint32_t id, uint8_t flags, const void *d, size_t n)
{
    sk_buf b = SK_BUF_INIT;
    sk_spdy_put_data(&b, id, flags, d, n);
    cli_send(c, &b);
    sk_buf_release(&b);
}

/* kubectl's sequence for one local connection: error stream, wait for the
 * reply, half-close it, then the data stream. Returns the data stream. */
static uint32_t cli_pair(struct cli *c, int port, const char *rid, uint32_t *err_id)
{
    *err_id = cli_open(c, "error", port, rid, 0);
    CHECK(cli_wait(c, replied, err_id, 5000));
    CHECK(cli_stream(c, *err_id)->replied);
    cli_data(c, *err_id, SK_SPDY_FLAG_FIN, NULL, 0);
    uint32_t d = cli_open(c, "data", port, rid, 0);
    CHECK(cli_wait(c, replied, &d, 5000));
    CHECK(cli_stream(c, d)->replied);
    return d;
}

/* ---- harness ----------------------------------------------------------------------------- */

static void start(struct agent *a, struct cli *c, bool ws, const char *netns)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    memset(a, 0, sizeof *a);
    a->fd = sv[0];
    a->ws = ws;
    a->netns = netns;
    a->rc = 99;
    pthread_create(&a->thr, NULL, agent_main, a);
    cli_init(c, sv[1], ws);
}

/* kubectl's goodbye: GOAWAY (and the WebSocket close). The session must end
 * with 0. */
static void finish(struct agent *a, struct cli *c)
{
    sk_buf b = SK_BUF_INIT;
    sk_spdy_put_goaway(&b, 0, 0);
    cli_send(c, &b);
    sk_buf_release(&b);
    if (c->ws) wslay_event_queue_close(c->wctx, 1000, NULL, 0);
    cli_wait(c, drained, NULL, 3000);
    int64_t deadline = sk_now_ms() + 3000;
    while (!c->eof && sk_now_ms() < deadline) cli_pump(c, 20);
    CHECK(c->eof);
    if (c->ws) CHECK(c->ws_closed);
    pthread_join(a->thr, NULL);
    CHECK_INT(a->rc, 0);
    if (a->rc) fprintf(stderr, "serve: %s\n", a->err.msg);
    sk_err_clear(&a->err);
    cli_free(c);
}

static void test_http(bool ws, struct pod *http)
{
    struct agent a;
    struct cli c;
    start(&a, &c, ws, NULL);
    uint32_t eid, did = cli_pair(&c, http->port, "0", &eid);
    const char *req = "GET / HTTP/1.0\r\n\r\n";
    cli_data(&c, did, 0, req, strlen(req));
    CHECK(cli_wait(&c, finned, &did, 5000));
    struct stream *d = cli_stream(&c, did), *e = cli_stream(&c, eid);
    CHECK(d->fin && !d->rst);
    CHECK_INT(d->data.len, strlen(HTTP_REPLY));
    CHECK(d->data.len && !strcmp(d->data.data, HTTP_REPLY));
    CHECK(cli_wait(&c, finned, &eid, 2000));
    CHECK(e->fin);
    CHECK_INT(e->data.len, 0);

    /* SPDY ping (odd id = the client's) is echoed; a WebSocket ping is ponged */
    sk_buf b = SK_BUF_INIT;
    sk_spdy_put_ping(&b, 1);
    cli_send(&c, &b);
    sk_buf_release(&b);
    if (ws) {
        struct wslay_event_msg m = {WSLAY_PING, (const uint8_t *)"hi", 2};
        wslay_event_queue_msg(c.wctx, &m);
    }
    int64_t deadline = sk_now_ms() + 3000;
    while ((c.pings < 1 || (ws && c.pongs < 1)) && sk_now_ms() < deadline) cli_pump(&c, 20);
    CHECK_INT(c.pings, 1);
    if (ws) CHECK_INT(c.pongs, 1);
    finish(&a, &c);
}

/* Two connections at once on one session, bytes interleaved, each echoed on
 * its own stream; the client's FIN half-closes the pod socket, whose echo
 * server then closes, which ends the pair. */
static void test_concurrent_echo(bool ws, struct pod *echo)
{
    struct agent a;
    struct cli c;
    start(&a, &c, ws, NULL);
    uint32_t e1, e2;
    uint32_t d1 = cli_pair(&c, echo->port, "1", &e1);
    uint32_t d2 = cli_pair(&c, echo->port, "2", &e2);
    cli_data(&c, d1, 0, "one-", 4);
    cli_data(&c, d2, 0, "two-", 4);
    cli_data(&c, d1, 0, "uno", 3);
    cli_data(&c, d2, SK_SPDY_FLAG_FIN, "dos", 3);
    cli_data(&c, d1, SK_SPDY_FLAG_FIN, NULL, 0);
    CHECK(cli_wait(&c, finned, &d1, 5000));
    CHECK(cli_wait(&c, finned, &d2, 5000));
    CHECK(cli_wait(&c, finned, &e1, 5000));
    CHECK(cli_wait(&c, finned, &e2, 5000));
    struct stream *s1 = cli_stream(&c, d1), *s2 = cli_stream(&c, d2);
    CHECK(s1->data.len == 7 && !memcmp(s1->data.data, "one-uno", 7));
    CHECK(s2->data.len == 7 && !memcmp(s2->data.data, "two-dos", 7));
    CHECK_INT(cli_stream(&c, e1)->data.len, 0);
    finish(&a, &c);
}

struct progress {
    uint32_t did;
    size_t want;
};

static bool echoed_all(struct cli *c, const void *arg)
{
    const struct progress *p = arg;
    struct stream *s = cli_stream(c, p->did);
    return s->fin || s->data.len >= p->want;
}

/* 4 MiB through the echo server: more than every buffer and window. */
static void test_bulk(bool ws, struct pod *echo)
{
    struct agent a;
    struct cli c;
    start(&a, &c, ws, NULL);
    uint32_t eid, did = cli_pair(&c, echo->port, "0", &eid);
    size_t total = 4u << 20, chunk = 32768;
    uint8_t *buf = sk_malloc(total);
    for (size_t i = 0; i < total; i++) buf[i] = (uint8_t)(i * 131 + (i >> 13));
    for (size_t off = 0; off < total; off += chunk) {
        cli_data(&c, did, 0, buf + off, chunk);
        /* keep reading while writing, as kubectl's goroutines do */
        while (c.out.len - c.out_off > (1u << 20) ||
               (ws && wslay_event_get_queued_msg_length(c.wctx) > (1u << 20)))
            cli_pump(&c, 20);
    }
    struct progress pr = {did, total};
    CHECK(cli_wait(&c, echoed_all, &pr, 20000));
    /* FIN only now: after it the pod has just a second to finish */
    cli_data(&c, did, SK_SPDY_FLAG_FIN, NULL, 0);
    CHECK(cli_wait(&c, finned, &did, 5000));
    struct stream *s = cli_stream(&c, did);
    CHECK_INT(s->data.len, total);
    CHECK(s->data.len == total && !memcmp(s->data.data, buf, total));
    free(buf);
    finish(&a, &c);
}

/* Nothing listens: containerd's message on the error stream, then FINs. */
static void test_refused(bool ws)
{
    int lfd = listen_loopback(0);
    int port = bound_port(lfd);
    close(lfd);
    struct agent a;
    struct cli c;
    start(&a, &c, ws, NULL);
    uint32_t eid, did = cli_pair(&c, port, "0", &eid);
    CHECK(cli_wait(&c, finned, &eid, 5000));
    CHECK(cli_wait(&c, finned, &did, 5000));
    struct stream *e = cli_stream(&c, eid);
    char want[512];
    snprintf(want, sizeof want,
             "error forwarding port %d to pod host, uid : failed to execute portforward in network "
             "namespace \"host\": failed to connect to localhost:%d inside namespace \"host\", "
             "IPv4: dial tcp4 127.0.0.1:%d: connect: connection refused IPv6 dial tcp6 [::1]:%d: ",
             port, port, port, port);
    CHECK(e->data.len > strlen(want) && !strncmp(e->data.data, want, strlen(want)));
    if (e->data.len < strlen(want)) fprintf(stderr, "refused: got %s\n", e->data.len ? e->data.data : "");
    CHECK_INT(cli_stream(&c, did)->data.len, 0);
    finish(&a, &c);
}

/* Streams the kubelet refuses get RST_STREAM; the session goes on. */
static void test_rejects(struct pod *http)
{
    struct agent a;
    struct cli c;
    start(&a, &c, false, NULL);
    uint32_t bad_port = cli_open(&c, "data", 0, "0", 0);
    CHECK(cli_wait(&c, replied, &bad_port, 3000));
    CHECK(cli_stream(&c, bad_port)->rst);
    CHECK_INT(cli_stream(&c, bad_port)->rst_status, SK_SPDY_CANCEL);
    uint32_t bad_type = cli_open(&c, "stdout", http->port, "0", 0);
    CHECK(cli_wait(&c, replied, &bad_type, 3000));
    CHECK(cli_stream(&c, bad_type)->rst);
    /* a second error stream for the same request */
    uint32_t e1 = cli_open(&c, "error", http->port, "7", 0);
    CHECK(cli_wait(&c, replied, &e1, 3000));
    uint32_t e2 = cli_open(&c, "error", http->port, "7", 0);
    CHECK(cli_wait(&c, replied, &e2, 3000));
    CHECK(cli_stream(&c, e2)->rst);
    int64_t deadline = sk_now_ms() + 2000;
    while (!cli_stream(&c, e1)->data.len && sk_now_ms() < deadline) cli_pump(&c, 20);
    CHECK(cli_stream(&c, e1)->data.len &&
          strstr(cli_stream(&c, e1)->data.data, "error stream already assigned"));
    /* the session still works: a full exchange on a new request */
    uint32_t eid, did = cli_pair(&c, http->port, "8", &eid);
    cli_data(&c, did, SK_SPDY_FLAG_FIN, "GET / HTTP/1.0\r\n\r\n", 18);
    CHECK(cli_wait(&c, finned, &did, 5000));
    CHECK_INT(cli_stream(&c, did)->data.len, strlen(HTTP_REPLY));
    /* RST of a live pair closes it quietly */
    uint32_t e9, d9 = cli_pair(&c, http->port, "9", &e9);
    sk_buf b = SK_BUF_INIT;
    sk_spdy_put_rst_stream(&b, d9, SK_SPDY_CANCEL);
    cli_send(&c, &b);
    sk_buf_release(&b);
    CHECK(cli_wait(&c, finned, &e9, 3000));
    CHECK_INT(cli_stream(&c, e9)->data.len, 0);
    finish(&a, &c);
}

/* After the client's FIN the pod gets a second to close, then the pair
 * ends anyway (containerd's linger). */
static void test_linger(struct pod *hold)
{
    struct agent a;
    struct cli c;
    start(&a, &c, false, NULL);
    uint32_t eid, did = cli_pair(&c, hold->port, "0", &eid);
    cli_data(&c, did, SK_SPDY_FLAG_FIN, "bye", 3);
    int64_t t0 = sk_now_ms();
    CHECK(cli_wait(&c, finned, &did, 2500));
    int64_t dt = sk_now_ms() - t0;
    CHECK(dt >= 900 && dt < 2500);
    CHECK(cli_wait(&c, finned, &eid, 1000));
    CHECK_INT(cli_stream(&c, eid)->data.len, 0);
    finish(&a, &c);
}

/* Garbage ends the session with an error; EOF ends it cleanly. */
static void test_endings(void)
{
    struct agent a;
    struct cli c;
    start(&a, &c, false, NULL);
    static const uint8_t junk[] = {0x80, 2, 0, 1, 0, 0, 0, 0};
    sk_buf b = SK_BUF_INIT;
    sk_buf_add(&b, junk, sizeof junk);
    cli_send(&c, &b);
    sk_buf_release(&b);
    int64_t deadline = sk_now_ms() + 3000;
    while (!c.eof && sk_now_ms() < deadline) cli_pump(&c, 20);
    CHECK(c.goaway);
    pthread_join(a.thr, NULL);
    CHECK_INT(a.rc, -1);
    CHECK(strstr(a.err.msg, "version") != NULL);
    cli_free(&c);

    start(&a, &c, true, NULL);
    close(c.fd);
    c.fd = -1;
    pthread_join(a.thr, NULL);
    CHECK_INT(a.rc, 0);
    cli_free(&c);
}

/* ---- a real network namespace (root) ------------------------------------------------------ */

static int ns_listen(void *arg)
{
    (void)arg;
    return listen_loopback(8080);
}

/* 77 = skipped (not root, or no netns support). */
static int test_netns(struct pod *http_host)
{
    if (geteuid() != 0) {
        fprintf(stderr, "netns case skipped: not root\n");
        return 77;
    }
    char name[32], path[128];
    snprintf(name, sizeof name, "skpf-%d", (int)getpid());
    sk_err err = SK_ERR_INIT;
    if (sk_net_netns_create(name, true, path, sizeof path, &err) < 0) {
        fprintf(stderr, "netns case skipped: %s\n", err.msg);
        sk_err_clear(&err);
        return 77;
    }
    int lfd = sk_net_netns_run(path, ns_listen, NULL, &err);
    CHECK(lfd >= 0);
    if (lfd >= 0) {
        struct pod pod;
        pod_start(&pod, lfd, POD_HTTP);
        struct agent a;
        struct cli c;
        start(&a, &c, true, path);
        uint32_t eid, did = cli_pair(&c, 8080, "0", &eid);
        cli_data(&c, did, 0, "GET / HTTP/1.0\r\n\r\n", 18);
        CHECK(cli_wait(&c, finned, &did, 5000));
        CHECK_INT(cli_stream(&c, did)->data.len, strlen(HTTP_REPLY));
        CHECK(cli_wait(&c, finned, &eid, 5000));
        CHECK_INT(cli_stream(&c, eid)->data.len, 0);
        /* the host's server is not reachable from the pod's netns */
        uint32_t e2, d2 = cli_pair(&c, http_host->port, "1", &e2);
        CHECK(cli_wait(&c, finned, &e2, 5000));
        CHECK(cli_wait(&c, finned, &d2, 5000));
        struct stream *es = cli_stream(&c, e2);
        CHECK(es->data.len && strstr(es->data.data, "connection refused"));
        CHECK(es->data.len && strstr(es->data.data, path));
        finish(&a, &c);
        pod_stop(&pod);
    }
    if (sk_net_netns_delete(path, &err) < 0) fprintf(stderr, "cleanup: %s\n", err.msg);
    sk_err_clear(&err);
    return 0;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    struct pod http, echo, hold;
    pod_start(&http, listen_loopback(0), POD_HTTP);
    pod_start(&echo, listen_loopback(0), POD_ECHO);
    pod_start(&hold, listen_loopback(0), POD_HOLD);
    for (int ws = 0; ws < 2; ws++) {
        test_http(ws, &http);
        test_concurrent_echo(ws, &echo);
        test_bulk(ws, &echo);
        test_refused(ws);
    }
    test_rejects(&http);
    test_linger(&hold);
    test_endings();
    int ns = test_netns(&http);
    pod_stop(&http);
    pod_stop(&echo);
    pod_stop(&hold);
    if (ns == 77) fprintf(stderr, "note: the network namespace case did not run\n");
    return test_done();
}
