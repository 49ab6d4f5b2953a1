/* Port-forward sessions: SPDY/3.1 (raw or tunnelled in WebSocket binary
 * messages) to TCP connections inside a pod's network namespace, as the
 * kubelet's streaming server (apimachinery httpstream/spdy + the kubelet's
 * portforward/httpstream.go) and containerd's portForward do it.
 *
 * One thread, one poll() loop over the session fd and every pod socket.
 * For each forwarded connection kubectl opens two streams carrying the same
 * `requestid` header: `streamtype: error` then `streamtype: data`. When both
 * are there we connect to localhost:<port> in the pod netns (127.0.0.1,
 * then ::1, as containerd) and relay DATA frames <-> the socket. The pod
 * closing ends the pair: FIN on the error stream, then on the data stream
 * (the kubelet closes them in that order). A client FIN on the data stream
 * half-closes the socket (shutdown(SHUT_WR)) and we keep relaying the pod's
 * answer until it closes; containerd instead gives up one second after
 * either side ends, which cuts slow answers short. Failures are written as
 * text on the error stream, which makes kubectl print them and end.
 *
 * Flow control: kubectl's spdystream neither sends WINDOW_UPDATE nor honours
 * windows, so enforcing SPDY/3.1 windows would stall every transfer past
 * 64 KiB. Like spdystream we ignore them. Back-pressure is done with the
 * sockets instead: we stop reading the session while a pod socket has more
 * than PF_HIGH_WATER bytes queued, and stop reading pod sockets while the
 * session has more than PF_HIGH_WATER bytes queued for the client. */
#include "kubelet/agent_int.h"
#include "kubelet/spdy.h"
#include "network/network.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <wslay/wslay.h>

#define PF_READ_CHUNK (64 * 1024)
#define PF_HIGH_WATER (1u << 20)    /* bytes queued before we stop reading */
#define PF_MAX_PAIRS 1024           /* concurrent forwarded connections */
#define PF_PAIR_TIMEOUT_MS 30000    /* kubelet's streamCreationTimeout */

enum pf_state { PF_WAIT, PF_CONNECTING, PF_OPEN };

/* One forwarded connection: the error and data streams of a requestid. */
struct pf_pair {
    char request_id[64];
    uint32_t err_id, data_id;  /* 0 = not (or no longer) open */
    uint16_t port;
    int64_t created_ms;
    enum pf_state state;
    bool dead;                 /* finished; freed at the end of the loop turn */
    int fd;                    /* the pod socket, connecting or open */
    int spare[2];              /* made in the netns: [0] IPv4, [1] IPv6 */
    int attempt;               /* 0 = 127.0.0.1, 1 = ::1 */
    char dial_err[2][160];
    sk_buf to_pod;             /* client bytes not yet written */
    size_t to_pod_off;
    bool client_fin, wr_shut, wr_dead;
};

struct pf_sess {
    int fd;
    bool ws;
    wslay_event_context_ptr wctx;
    bool ws_feeding;           /* the current WebSocket frame carries SPDY bytes */
    int read_budget;
    sk_buf out;                /* raw mode: bytes for the client */
    size_t out_off;
    bool peer_gone, peer_closed, done, failed;
    sk_err ferr;
    uint8_t *rbuf;             /* PF_READ_CHUNK */
    sk_spdy_parser *parser;
    sk_spdy_deflater *zout;
    struct pf_pair **pairs;
    size_t n_pairs, cap_pairs;
    uint32_t last_id;          /* highest client stream id seen */
    const char *netns_path;    /* NULL = ours */
    char ns_id[128];           /* its basename: the sandbox id */
};

static void pf_emit(struct pf_sess *s, const sk_buf *frame);
static void pf_fail(struct pf_sess *s, const sk_err *e);
@@PAIRS@@

/* ---- sending to the client ------------------------------------------------------ */

void pf_emit(struct pf_sess *s, const sk_buf *frame)
{
    if (!frame->len) return;
    if (s->ws) {
        struct wslay_event_msg m = {WSLAY_BINARY_FRAME, (const uint8_t *)frame->data, frame->len};
        /* NO_MORE_MSG after a close was queued: the client is gone anyway */
        (void)wslay_event_queue_msg(s->wctx, &m);
    } else {
        sk_buf_add(&s->out, frame->data, frame->len);
    }
}

size_t pf_out_pending(const struct pf_sess *s)
{
    if (s->ws) return wslay_event_get_queued_msg_length(s->wctx);
    return s->out.len - s->out_off;
}

void pf_fail(struct pf_sess *s, const sk_err *e)
{
    if (!s->failed) {
        s->failed = true;
        s->ferr.code = e->code;
        s->ferr.sys_errno = e->sys_errno;
        snprintf(s->ferr.msg, sizeof s->ferr.msg, "%s", e->msg);
    }
    s->done = true;
}

static void raw_flush(struct pf_sess *s)
{
    while (s->out_off < s->out.len) {
        ssize_t n = send(s->fd, s->out.data + s->out_off, s->out.len - s->out_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) {
            s->peer_gone = true; /* nothing more can reach the client */
            s->out_off = s->out.len;
            break;
        }
        s->out_off += (size_t)n;
    }
    if (s->out_off == s->out.len) {
        s->out.len = 0;
        s->out_off = 0;
    } else if (s->out_off > PF_HIGH_WATER) {
        memmove(s->out.data, s->out.data + s->out_off, s->out.len - s->out_off);
        s->out.len -= s->out_off;
        s->out_off = 0;
    }
}

static void session_flush(struct pf_sess *s)
{
    if (!s->ws) {
        raw_flush(s);
        return;
    }
    if (wslay_event_want_write(s->wctx) && wslay_event_send(s->wctx) != 0) s->peer_gone = true;
}

/* ---- receiving from the client ----------------------------------------------------- */

static void feed(struct pf_sess *s, const uint8_t *b, size_t n)
{
    if (s->done || !n) return;
    sk_err e = SK_ERR_INIT;
    if (sk_spdy_parser_feed(s->parser, b, n, pf_on_frame, s, &e) < 0) {
        pf_fail(s, &e);
        sk_err_clear(&e);
    }
}

static ssize_t ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                          void *ud)
{
    (void)flags;
    struct pf_sess *s = ud;
    /* one read per loop turn keeps the pod sockets' back-pressure honest */
    if (s->read_budget == 0 || s->done) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    ssize_t n;
    do n = recv(s->fd, buf, len, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        s->read_budget--;
        return n;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    s->peer_gone = true;
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static ssize_t ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
                          int flags, void *ud)
{
    (void)flags;
    struct pf_sess *s = ud;
    ssize_t n;
    do n = send(s->fd, data, len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n >= 0) return n;
    wslay_event_set_error(ctx, (errno == EAGAIN || errno == EWOULDBLOCK)
                                   ? WSLAY_ERR_WOULDBLOCK : WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

/* Message boundaries mean nothing: every data frame's payload continues
 * the one SPDY byte stream. Control frames (ping, close) are wslay's. */
static void ws_frame_start_cb(wslay_event_context_ptr ctx,
                              const struct wslay_event_on_frame_recv_start_arg *a, void *ud)
{
    (void)ctx;
    struct pf_sess *s = ud;
    s->ws_feeding = !(a->opcode & 0x8);
}

static void ws_chunk_cb(wslay_event_context_ptr ctx,
                        const struct wslay_event_on_frame_recv_chunk_arg *a, void *ud)
{
    (void)ctx;
    struct pf_sess *s = ud;
    if (s->ws_feeding) feed(s, a->data, a->data_length);
}

static void session_read(struct pf_sess *s)
{
    if (s->ws) {
        s->read_budget = 1;
        if (wslay_event_recv(s->wctx) != 0) s->peer_gone = true;
        if (wslay_event_get_close_received(s->wctx)) s->peer_closed = true;
        return;
    }
    uint8_t buf[PF_READ_CHUNK];
    ssize_t n;
    do n = recv(s->fd, buf, sizeof buf, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        feed(s, buf, (size_t)n);
    } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        s->peer_gone = true;
    }
}

/* ---- the loop ------------------------------------------------------------------------- */

static bool input_paused(const struct pf_sess *s)
{
    for (size_t i = 0; i < s->n_pairs; i++)
        if (pf_pair_backlog(s->pairs[i]) > PF_HIGH_WATER) return true;
    return false;
}

static bool session_over(const struct pf_sess *s)
{
    if (s->done || s->peer_gone) return true;
    if (s->ws) return !wslay_event_want_read(s->wctx) && !wslay_event_want_write(s->wctx);
    return false;
}

/* One poll() round: the session fd first, then every pair's socket. */
static int loop_once(struct pf_sess *s, struct pollfd **pfd, size_t *cap)
{
    size_t n = 1 + s->n_pairs;
    if (n > *cap) {
        *cap = n * 2;
        *pfd = sk_realloc(*pfd, *cap * sizeof **pfd);
    }
    struct pollfd *p = *pfd;
    short ev = input_paused(s) ? 0 : POLLIN;
    if (pf_out_pending(s) || (s->ws && wslay_event_want_write(s->wctx))) ev |= POLLOUT;
    p[0] = (struct pollfd){.fd = ev ? s->fd : -1, .events = ev};
    bool out_full = pf_out_pending(s) > PF_HIGH_WATER;
    struct pf_pair **pairs = sk_malloc((s->n_pairs ? s->n_pairs : 1) * sizeof *pairs);
    size_t n_pairs = s->n_pairs;
    memcpy(pairs, s->pairs, n_pairs * sizeof *pairs);
    for (size_t i = 0; i < n_pairs; i++) pf_pair_poll(pairs[i], out_full, &p[1 + i]);
    int rc = poll(p, (nfds_t)(1 + n_pairs), pf_poll_timeout(s));
    if (rc < 0 && errno != EINTR) {
        free(pairs);
        sk_err e = SK_ERR_INIT;
        sk_err_sys(&e, "portforward: poll");
        pf_fail(s, &e);
        return -1;
    }
    if (rc > 0 && p[0].revents) {
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) session_read(s);
        if (p[0].revents & POLLOUT) session_flush(s);
    }
    for (size_t i = 0; rc > 0 && i < n_pairs; i++)
        if (p[1 + i].revents) pf_pair_io(s, pairs[i], p[1 + i].fd, p[1 + i].revents);
    pf_expire_pairs(s, sk_now_ms());
    pf_reap_pairs(s);
    free(pairs);
    session_flush(s);
    return 0;
}

/* Last words: a WebSocket close (or GOAWAY after a protocol error), flushed
 * for at most a second. */
static void session_close(struct pf_sess *s)
{
    if (s->peer_gone) return;
    if (s->failed && !s->ws) {
        sk_buf b = SK_BUF_INIT;
        sk_spdy_put_goaway(&b, s->last_id, SK_SPDY_PROTOCOL_ERROR);
        pf_emit(s, &b);
        sk_buf_release(&b);
    }
    if (s->ws && !wslay_event_get_close_sent(s->wctx))
        (void)wslay_event_queue_close(s->wctx, s->failed ? WSLAY_CODE_PROTOCOL_ERROR
                                                         : WSLAY_CODE_NORMAL_CLOSURE, NULL, 0);
    int64_t deadline = sk_now_ms() + 1000;
    while (!s->peer_gone && (pf_out_pending(s) || (s->ws && wslay_event_want_write(s->wctx)))) {
        int64_t left = deadline - sk_now_ms();
        if (left <= 0) break;
        struct pollfd p = {.fd = s->fd, .events = POLLOUT};
        if (poll(&p, 1, (int)left) <= 0) break;
        session_flush(s);
    }
}

static int session_init(struct pf_sess *s, int fd, bool ws, const char *netns_path, sk_err *err)
{
    s->fd = fd;
    s->ws = ws;
    s->netns_path = netns_path && *netns_path ? netns_path : NULL;
    const char *slash = s->netns_path ? strrchr(s->netns_path, '/') : NULL;
    snprintf(s->ns_id, sizeof s->ns_id, "%s",
             s->netns_path ? (slash ? slash + 1 : s->netns_path) : "host");
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return sk_err_sys(err, "portforward: set non-blocking");
    if (!(s->parser = sk_spdy_parser_new(err))) return -1;
    if (!(s->zout = sk_spdy_deflater_new(err))) return -1;
    if (!ws) return 0;
    struct wslay_event_callbacks cb = {
        .recv_callback = ws_recv_cb,
        .send_callback = ws_send_cb,
        .on_frame_recv_start_callback = ws_frame_start_cb,
        .on_frame_recv_chunk_callback = ws_chunk_cb,
    };
    if (wslay_event_context_server_init(&s->wctx, &cb, s) != 0)
        return sk_err_set(err, SK_EINTERNAL, "portforward: wslay init failed");
    /* payload goes straight into the SPDY parser, never buffered whole */
    wslay_event_config_set_no_buffering(s->wctx, 1);
    wslay_event_config_set_max_recv_msg_length(s->wctx, 64u << 20);
    return 0;
}

static void session_release(struct pf_sess *s)
{
    for (size_t i = 0; i < s->n_pairs; i++) pf_pair_free(s->pairs[i]);
    free(s->pairs);
    if (s->wctx) wslay_event_context_free(s->wctx);
    sk_spdy_parser_free(s->parser);
    sk_spdy_deflater_free(s->zout);
    sk_buf_release(&s->out);
    if (s->fd >= 0) close(s->fd);
}

int sk_kl_portforward_serve(int fd, bool ws, const char *netns_path, sk_err *err)
{
    struct pf_sess s = {.fd = -1};
    if (session_init(&s, fd, ws, netns_path, err) < 0) {
        s.fd = fd;
        session_release(&s);
        return -1;
    }
    struct pollfd *pfd = NULL;
    size_t cap = 0;
    while (!session_over(&s))
        if (loop_once(&s, &pfd, &cap) < 0) break;
    free(pfd);
    session_close(&s);
    int rc = 0;
    if (s.failed) {
        sk_err_set(err, s.ferr.code ? s.ferr.code : SK_EINTERNAL, "%s", s.ferr.msg);
        err->sys_errno = s.ferr.sys_errno;
        rc = -1;
    }
    sk_log(SK_DEBUG, "portfwd", "session ends: %s", s.failed ? s.ferr.msg : "client went away");
    session_release(&s);
    return rc;
}
