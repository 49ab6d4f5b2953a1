/* Upgraded connections: the 101 replies (WebSocket per RFC 6455, or a raw
 * SPDY switch), the session thread that owns an upgraded socket, and the
 * server side of a WebSocket (wslay's event API over a non-blocking
 * socket; wslay answers PINGs with PONGs and echoes CLOSE by itself).
 *
 * With TLS, MHD hands us one end of a socketpair and forwards between it
 * and the TLS connection on the connection's thread, which it only starts
 * once the upgrade handler has returned: hence a thread per session. The
 * socket must be closed through MHD_upgrade_action(CLOSE), never close(). */
#include "kubelet/server_int.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_MAX_MSG (1 << 20) /* client messages are stdin chunks and resize events */
#define WS_MAX_OFFERED 16

/* ---- handshake ---------------------------------------------------------------------- */

/* True when the comma-separated header value contains token (any case). */
static bool has_token(const char *v, const char *token)
{
    size_t tl = strlen(token);
    while (v && *v) {
        v += strspn(v, " \t,");
        size_t n = strcspn(v, ",");
        size_t m = n;
        while (m && (v[m - 1] == ' ' || v[m - 1] == '\t')) m--;
        if (m == tl && !strncasecmp(v, token, tl)) return true;
        v += n;
    }
    return false;
}

bool kl_ws_requested(struct kl_req *q)
{
    return has_token(kl_header(q, "Upgrade"), "websocket") &&
           has_token(kl_header(q, "Connection"), "upgrade");
}

struct offered {
    char list[WS_MAX_OFFERED][64];
    int n;
};

static enum MHD_Result collect_protocols(void *cls, enum MHD_ValueKind kind, const char *key,
                                         const char *value)
{
    (void)kind;
    struct offered *o = cls;
    if (strcasecmp(key, "Sec-WebSocket-Protocol") != 0 || !value) return MHD_YES;
    for (const char *v = value; *v && o->n < WS_MAX_OFFERED;) {
        v += strspn(v, " \t,");
        size_t n = strcspn(v, ",");
        size_t m = n;
        while (m && (v[m - 1] == ' ' || v[m - 1] == '\t')) m--;
        if (m && m < sizeof o->list[0]) snprintf(o->list[o->n++], sizeof o->list[0], "%.*s", (int)m, v);
        v += n;
    }
    return MHD_YES;
}

const char *kl_ws_pick_protocol(struct kl_req *q, const char *const *wanted, size_t n)
{
    struct offered o = {.n = 0};
    MHD_get_connection_values(q->conn, MHD_HEADER_KIND, collect_protocols, &o);
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < o.n; j++)
            if (!strcmp(wanted[i], o.list[j])) return wanted[i];
    return NULL;
}

static int accept_key(const char *key, char *out, size_t outlen)
{
    unsigned char digest[20];
    char buf[128];
    int n = snprintf(buf, sizeof buf, "%s%s", key, WS_GUID);
    if (n < 0 || (size_t)n >= sizeof buf) return -1;
    if (gnutls_hash_fast(GNUTLS_DIG_SHA1, buf, (size_t)n, digest) < 0) return -1;
    gnutls_datum_t in = {digest, sizeof digest}, b64 = {NULL, 0};
    if (gnutls_base64_encode2(&in, &b64) < 0) return -1;
    int rc = b64.size < outlen ? 0 : -1;
    if (!rc) snprintf(out, outlen, "%.*s", (int)b64.size, (const char *)b64.data);
    gnutls_free(b64.data);
    return rc;
}

static void upgrade_handler(void *cls, struct MHD_Connection *conn, void *req_cls,
                            const char *extra, size_t nextra, MHD_socket sock,
                            struct MHD_UpgradeResponseHandle *urh);

void kl_upgrade_reply(struct kl_req *q, const char *const *headers)
{
    struct MHD_Response *r = MHD_create_response_for_upgrade(upgrade_handler, NULL);
    if (!r) {
        kl_reply_status(q, SK_EINTERNAL, "cannot create the upgrade response");
        return;
    }
    for (size_t i = 0; headers[i] && headers[i + 1]; i += 2)
        MHD_add_response_header(r, headers[i], headers[i + 1]);
    if (q->resp) MHD_destroy_response(q->resp);
    q->resp = r;
    q->status = MHD_HTTP_SWITCHING_PROTOCOLS;
}

void kl_ws_accept(struct kl_req *q, const char *protocol)
{
    const char *key = kl_header(q, "Sec-WebSocket-Key");
    const char *ver = kl_header(q, "Sec-WebSocket-Version");
    char acc[64];
    if (!ver || strcmp(ver, "13") != 0) {
        kl_reply_status(q, SK_EBADREQUEST, "unsupported WebSocket version %s (want 13)", ver ? ver : "none");
        MHD_add_response_header(q->resp, "Sec-WebSocket-Version", "13");
        return;
    }
    if (!key || strlen(key) != 24 || accept_key(key, acc, sizeof acc) < 0) {
        kl_reply_status(q, SK_EBADREQUEST, "missing or invalid Sec-WebSocket-Key");
        return;
    }
    const char *h[] = {"Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Accept", acc,
                       "Sec-WebSocket-Protocol", protocol, NULL, NULL};
    kl_upgrade_reply(q, h);
}

/* ---- sessions ------------------------------------------------------------------------ */

struct kl_session *kl_session_new(struct kl_req *q, void (*run)(struct kl_session *s), void *ctx,
                                  void (*free_ctx)(void *ctx))
{
    struct kl_session *s = sk_calloc(1, sizeof *s);
    s->task.fd = -1;
    s->srv = q->srv;
    s->run = run;
    s->ctx = ctx;
    s->free_ctx = free_ctx;
    kl_session_free(q->session);
    q->session = s;
    return s;
}

void kl_session_free(struct kl_session *s)
{
    if (!s) return;
    if (s->free_ctx) s->free_ctx(s->ctx);
    free(s->extra);
    free(s);
}

static void *session_main(void *arg)
{
    sk_mem_thread_nocache();
    struct kl_session *s = arg;
    /* Writes to a pipe whose reader died raise SIGPIPE in this thread:
     * keep it blocked here and collect it (see kl_sigpipe_clear). */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    s->run(s);
    kl_task_remove(s->srv, &s->task, s->urh);
    kl_session_free(s);
    return NULL;
}

static void upgrade_handler(void *cls, struct MHD_Connection *conn, void *req_cls,
                            const char *extra, size_t nextra, MHD_socket sock,
                            struct MHD_UpgradeResponseHandle *urh)
{
    (void)cls;
    (void)conn;
    struct kl_req *q = req_cls;
    struct kl_session *s = q ? SK_TAKE(q->session) : NULL;
    if (!s) {
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        return;
    }
    s->urh = urh;
    s->task.fd = sock;
    if (nextra) {
        s->extra = sk_malloc(nextra);
        memcpy(s->extra, extra, nextra);
        s->nextra = nextra;
    }
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 << 10);
    bool started = kl_task_add(s->srv, &s->task);
    if (started && pthread_create(&th, &attr, session_main, s) != 0) {
        kl_task_remove(s->srv, &s->task, NULL);
        started = false;
    }
    pthread_attr_destroy(&attr);
    if (!started) {
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        kl_session_free(s);
    }
}

/* ---- WebSocket framing -------------------------------------------------------------------- */

static ssize_t ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *ud)
{
    (void)flags;
    struct kl_ws *w = ud;
    if (w->nextra) {
        size_t n = len < w->nextra ? len : w->nextra;
        memcpy(buf, w->extra, n);
        w->extra += n;
        w->nextra -= n;
        return (ssize_t)n;
    }
    ssize_t n;
    while ((n = recv(w->fd, buf, len, 0)) < 0 && errno == EINTR) {}
    if (n > 0) return n;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    } else {
        w->eof = true;
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    }
    return -1;
}

static ssize_t ws_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *ud)
{
    (void)flags;
    struct kl_ws *w = ud;
    ssize_t n;
    while ((n = send(w->fd, data, len, MSG_NOSIGNAL)) < 0 && errno == EINTR) {}
    if (n >= 0) return n;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    } else {
        w->eof = true;
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    }
    return -1;
}

static void ws_on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a,
                      void *ud)
{
    (void)ctx;
    struct kl_ws *w = ud;
    if ((a->opcode == WSLAY_BINARY_FRAME || a->opcode == WSLAY_TEXT_FRAME) && w->on_msg)
        w->on_msg(w->ud, a->msg, a->msg_length);
}

int kl_ws_init(struct kl_ws *w, int fd, const char *extra, size_t nextra,
               void (*on_msg)(void *ud, const uint8_t *p, size_t n), void *ud)
{
    memset(w, 0, sizeof *w);
    w->fd = fd;
    w->extra = (const uint8_t *)extra;
    w->nextra = nextra;
    w->on_msg = on_msg;
    w->ud = ud;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -1;
    struct wslay_event_callbacks cb = {.recv_callback = ws_recv, .send_callback = ws_send,
                                       .on_msg_recv_callback = ws_on_msg};
    if (wslay_event_context_server_init(&w->ctx, &cb, w) != 0) return -1;
    wslay_event_config_set_max_recv_msg_length(w->ctx, WS_MAX_MSG);
    /* Bytes the client sent right behind its request come first. */
    if (nextra && wslay_event_recv(w->ctx) != 0) w->eof = true;
    return 0;
}

void kl_ws_release(struct kl_ws *w)
{
    if (w->ctx) wslay_event_context_free(w->ctx);
    w->ctx = NULL;
}

short kl_ws_events(const struct kl_ws *w)
{
    short ev = 0;
    if (w->eof) return 0;
    if (wslay_event_want_read(w->ctx)) ev |= POLLIN;
    if (wslay_event_want_write(w->ctx)) ev |= POLLOUT;
    return ev;
}

int kl_ws_io(struct kl_ws *w, short revents)
{
    if (w->eof) return -1;
    if ((revents & (POLLIN | POLLHUP | POLLERR)) && wslay_event_recv(w->ctx) != 0) w->eof = true;
    if (!w->eof && (revents & (POLLOUT | POLLERR)) && wslay_event_send(w->ctx) != 0) w->eof = true;
    if (w->eof) return -1;
    return wslay_event_want_read(w->ctx) || wslay_event_want_write(w->ctx) ? 0 : -1;
}

void kl_ws_send(struct kl_ws *w, uint8_t channel, const void *p, size_t n)
{
    if (w->eof) return;
    uint8_t *buf = sk_malloc(n + 1);
    buf[0] = channel;
    if (n) memcpy(buf + 1, p, n);
    struct wslay_event_msg m = {WSLAY_BINARY_FRAME, buf, n + 1};
    /* wslay copies the message. */
    if (wslay_event_queue_msg(w->ctx, &m) != 0) w->eof = true;
    free(buf);
    if (!w->eof && wslay_event_send(w->ctx) != 0) w->eof = true;
}

size_t kl_ws_queued(const struct kl_ws *w)
{
    return wslay_event_get_queued_msg_length(w->ctx);
}

void kl_ws_close(struct kl_ws *w, uint16_t code)
{
    if (w->eof) return;
    if (wslay_event_queue_close(w->ctx, code, NULL, 0) != 0) return;
    if (wslay_event_send(w->ctx) != 0) w->eof = true;
}

void kl_ws_drain(struct kl_ws *w, int timeout_ms)
{
    int64_t deadline = sk_now_ms() + timeout_ms;
    for (;;) {
        short ev = kl_ws_events(w);
        int64_t left = deadline - sk_now_ms();
        if (!ev || left <= 0) return;
        struct pollfd p = {w->fd, ev, 0};
        int rc = poll(&p, 1, (int)left);
        if (rc < 0 && errno != EINTR) return;
        if (rc > 0 && kl_ws_io(w, p.revents) < 0) return;
    }
}
