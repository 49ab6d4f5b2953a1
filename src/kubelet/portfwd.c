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
 * (the kubelet closes them in that order) at once, where containerd waits
 * up to a second for the client's side first. A client FIN on the data
 * stream half-closes the socket (shutdown(SHUT_WR)); the pod then has
 * PF_LINGER_MS to finish its answer and close, as containerd allows, after
 * which we end the pair anyway: kubectl has stopped reading that stream by
 * then, and a pod that streams forever would otherwise clog spdystream's
 * frame workers. Failures are written as text on the error stream, which
 * makes kubectl print them and end the whole session.
 *
 * Flow control: kubectl's spdystream neither sends WINDOW_UPDATE nor honours
 * windows, so enforcing SPDY/3.1 windows would stall every transfer past
 * 64 KiB. Like spdystream we ignore them. Back-pressure is done with the
 * sockets instead: we stop reading the session while the pod sockets have
 * more than PF_HIGH_WATER bytes queued (or the client stops reading our
 * answers), and stop reading pod sockets while more than PF_HIGH_WATER
 * bytes wait for the client. So a pod that stops reading stalls the whole
 * session once a megabyte waits for it: kubectl gives us no per-stream
 * window to push back with.
 *
 * Partial: no idle timeout (the kubelet's streamingConnectionIdleTimeout);
 * the session lasts until the client leaves, or until another thread
 * shutdown()s the fd. Error texts name the netns basename where containerd
 * names the sandbox id (the contract does not pass the id; our runtime
 * names netns after the sandbox, so they agree there). */
#include "kubelet/agent_int.h"
#include "kubelet/portfwd_int.h"

static void pf_emit(struct pf_sess *s, const sk_buf *frame);
static void pf_fail(struct pf_sess *s, const sk_err *e);

/* ---- frames to the client ----------------------------------------------------------- */

static void send_data(struct pf_sess *s, uint32_t id, uint8_t flags, const void *d, size_t n)
{
    if (!s->ws) { /* straight into the output buffer: no extra copy */
        sk_spdy_put_data(&s->out, id, flags, d, n);
        return;
    }
    sk_buf b = SK_BUF_INIT;
    sk_spdy_put_data(&b, id, flags, d, n);
    pf_emit(s, &b);
    sk_buf_release(&b);
}

static void send_rst(struct pf_sess *s, uint32_t id, uint32_t status)
{
    sk_buf b = SK_BUF_INIT;
    sk_spdy_put_rst_stream(&b, id, status);
    pf_emit(s, &b);
    sk_buf_release(&b);
}

static void send_reply(struct pf_sess *s, uint32_t id)
{
    sk_buf b = SK_BUF_INIT;
    sk_err e = SK_ERR_INIT;
    /* an empty block, still compressed: spdystream always inflates one */
    if (sk_spdy_put_syn_reply(s->zout, &b, id, 0, NULL, 0, &e) < 0) pf_fail(s, &e);
    else pf_emit(s, &b);
    sk_buf_release(&b);
}

/* ---- pairs ---------------------------------------------------------------------------- */

static struct pf_pair *pair_by_rid(struct pf_sess *s, const char *rid)
{
    for (size_t i = 0; i < s->n_pairs; i++)
        if (!s->pairs[i]->dead && !strcmp(s->pairs[i]->request_id, rid)) return s->pairs[i];
    return NULL;
}

static struct pf_pair *pair_by_stream(struct pf_sess *s, uint32_t id)
{
    for (size_t i = 0; i < s->n_pairs; i++) {
        struct pf_pair *p = s->pairs[i];
        if (!p->dead && (p->err_id == id || p->data_id == id)) return p;
    }
    return NULL;
}

static struct pf_pair *pair_new(struct pf_sess *s, const char *rid)
{
    if (s->n_pairs == s->cap_pairs) {
        s->cap_pairs = s->cap_pairs ? s->cap_pairs * 2 : 8;
        s->pairs = sk_realloc(s->pairs, s->cap_pairs * sizeof *s->pairs);
    }
    struct pf_pair *p = sk_calloc(1, sizeof *p);
    snprintf(p->request_id, sizeof p->request_id, "%s", rid);
    p->created_ms = sk_now_ms();
    p->fd = p->spare[0] = p->spare[1] = -1;
    s->pairs[s->n_pairs++] = p;
    return p;
}

static void pair_close_fds(struct pf_pair *p)
{
    if (p->fd >= 0) close(p->fd);
    for (int i = 0; i < 2; i++)
        if (p->spare[i] >= 0) close(p->spare[i]);
    p->fd = p->spare[0] = p->spare[1] = -1;
}

static void pair_free(struct pf_pair *p)
{
    pair_close_fds(p);
    sk_buf_release(&p->to_pod);
    free(p);
}

/* Ends a pair as the kubelet does when PortForward returns: the message (if
 * any) on the error stream, then FIN on the error and the data stream. */
void pf_pair_finish(struct pf_sess *s, struct pf_pair *p, const char *msg)
{
    if (p->dead) return;
    if (msg) sk_log(SK_DEBUG, "portfwd", "request %s: %s", p->request_id, msg);
    if (msg && p->err_id) send_data(s, p->err_id, 0, msg, strlen(msg));
    if (p->err_id) send_data(s, p->err_id, SK_SPDY_FLAG_FIN, NULL, 0);
    if (p->data_id) send_data(s, p->data_id, SK_SPDY_FLAG_FIN, NULL, 0);
    pair_close_fds(p);
    p->dead = true;
}

static size_t pair_backlog(const struct pf_pair *p)
{
    return p->to_pod.len - p->to_pod_off;
}

/* Writes what the client sent; half-closes once its FIN is reached. */
void pf_pod_flush(struct pf_pair *p)
{
    while (!p->wr_dead && p->to_pod_off < p->to_pod.len) {
        ssize_t n = send(p->fd, p->to_pod.data + p->to_pod_off, p->to_pod.len - p->to_pod_off,
                         MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n < 0) {
            p->wr_dead = true; /* the pod stopped reading; its read side tells the rest */
            break;
        }
        p->to_pod_off += (size_t)n;
    }
    p->to_pod.len = 0;
    p->to_pod_off = 0;
    if (p->client_fin && !p->wr_shut && !p->wr_dead) {
        shutdown(p->fd, SHUT_WR);
        p->wr_shut = true;
        p->linger_until = sk_now_ms() + PF_LINGER_MS;
    }
}

static void pod_read(struct pf_sess *s, struct pf_pair *p)
{
    ssize_t n;
    do n = recv(p->fd, s->rbuf, PF_READ_CHUNK, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        send_data(s, p->data_id, 0, s->rbuf, (size_t)n);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    /* EOF, and resets too: a reset is how many servers end a connection,
     * and text on the error stream would end kubectl's whole session */
    pf_pair_finish(s, p, NULL);
}

/* ---- SPDY frames from the client ------------------------------------------------------ */

/* strconv.ParseUint(s, 10, 16) and > 0, as httpStreamReceived checks. */
static int parse_port(const char *v)
{
    if (!v || !*v || strlen(v) > 5) return -1;
    unsigned long n = 0;
    for (const char *c = v; *c; c++) {
        if (*c < '0' || *c > '9') return -1;
        n = n * 10 + (unsigned long)(*c - '0');
    }
    return n >= 1 && n <= 65535 ? (int)n : -1;
}

static void on_syn_stream(struct pf_sess *s, const struct sk_spdy_frame *f)
{
    uint32_t id = f->stream_id;
    if (!(id & 1) || id <= s->last_id) { /* spdystream's validateStreamId */
        send_rst(s, id, SK_SPDY_PROTOCOL_ERROR);
        return;
    }
    s->last_id = id;
    const char *type = sk_spdy_frame_header(f, "streamtype");
    const char *rid = sk_spdy_frame_header(f, "requestid");
    int port = parse_port(sk_spdy_frame_header(f, "port"));
    bool is_err = type && !strcmp(type, "error"), is_data = type && !strcmp(type, "data");
    char rid_buf[16];
    if (!rid || !*rid) { /* pre-requestid clients: ids of one pair are N and N+2 */
        snprintf(rid_buf, sizeof rid_buf, "%u", is_err ? id : id - 2);
        rid = rid_buf;
    }
    struct pf_pair *p = (port > 0 && (is_err || is_data) && strlen(rid) < 64)
                        ? pair_by_rid(s, rid) : NULL;
    if (port < 0 || !(is_err || is_data) || strlen(rid) >= 64 ||
        (!p && s->n_pairs >= PF_MAX_PAIRS)) {
        send_rst(s, id, p || s->n_pairs < PF_MAX_PAIRS ? SK_SPDY_CANCEL : SK_SPDY_REFUSED_STREAM);
        return;
    }
    if (p && (is_err ? p->err_id : p->data_id)) {
        char *msg = sk_printf("error processing stream for request %s: %s stream already assigned",
                              rid, is_err ? "error" : "data");
        send_rst(s, id, SK_SPDY_CANCEL);
        if (p->err_id) send_data(s, p->err_id, 0, msg, strlen(msg));
        free(msg);
        return;
    }
    if (!p) p = pair_new(s, rid);
    if (is_err) {
        p->err_id = id;
    } else {
        p->data_id = id;
        p->port = (uint16_t)port;
        if (f->flags & SK_SPDY_FLAG_FIN) p->client_fin = true;
    }
    send_reply(s, id);
    if (p->err_id && p->data_id) pf_pair_connect(s, p);
}

static void on_data(struct pf_sess *s, const struct sk_spdy_frame *f)
{
    struct pf_pair *p = pair_by_stream(s, f->stream_id);
    if (!p || f->stream_id != p->data_id) return; /* gone, or the error stream */
    if (f->len && !p->client_fin && !p->wr_dead) sk_buf_add(&p->to_pod, f->data, f->len);
    if (f->frame_end && (f->flags & SK_SPDY_FLAG_FIN)) p->client_fin = true;
    if (p->state == PF_OPEN) pf_pod_flush(p);
}

static void on_rst(struct pf_sess *s, uint32_t id)
{
    struct pf_pair *p = pair_by_stream(s, id);
    if (!p) return;
    if (p->err_id == id) p->err_id = 0;
    if (p->data_id == id) p->data_id = 0;
    pf_pair_finish(s, p, NULL);
}

static int pf_on_frame(void *ud, const struct sk_spdy_frame *f, sk_err *err)
{
    (void)err;
    struct pf_sess *s = ud;
    if (s->done) return 0;
    switch (f->type) {
    case SK_SPDY_DATA: on_data(s, f); break;
    case SK_SPDY_SYN_STREAM: on_syn_stream(s, f); break;
    case SK_SPDY_RST_STREAM: on_rst(s, f->stream_id); break;
    case SK_SPDY_PING:
        if (f->ping_id & 1) { /* the client's own ping; even ids would answer ours */
            sk_buf b = SK_BUF_INIT;
            sk_spdy_put_ping(&b, f->ping_id);
            pf_emit(s, &b);
            sk_buf_release(&b);
        }
        break;
    case SK_SPDY_GOAWAY: s->done = true; break;
    default: break; /* SETTINGS, WINDOW_UPDATE, HEADERS, SYN_REPLY: nothing to do */
    }
    return 0;
}

/* ---- pairs in the poll loop ------------------------------------------------------------ */

static void pair_poll(const struct pf_pair *p, bool out_full, struct pollfd *pfd)
{
    short ev = 0;
    if (!p->dead && p->fd >= 0) {
        if (p->state == PF_CONNECTING) {
            ev = POLLOUT;
        } else if (p->state == PF_OPEN) {
            if (!out_full) ev |= POLLIN;
            if (pair_backlog(p) && !p->wr_dead) ev |= POLLOUT;
        }
    }
    *pfd = (struct pollfd){.fd = ev ? p->fd : -1, .events = ev};
}

static void pair_io(struct pf_sess *s, struct pf_pair *p, int fd, short revents)
{
    if (p->dead || fd < 0 || fd != p->fd) return;
    if (p->state == PF_CONNECTING) {
        pf_connect_done(s, p);
        return;
    }
    if (revents & POLLOUT) pf_pod_flush(p);
    if (revents & (POLLIN | POLLHUP | POLLERR)) pod_read(s, p);
}

/* When p must end if nothing else happens (-1 = never). */
static int64_t pair_deadline(const struct pf_pair *p)
{
    if (p->dead) return -1;
    if (p->state == PF_WAIT) return p->created_ms + PF_PAIR_TIMEOUT_MS;
    return p->linger_until ? p->linger_until : -1;
}

/* Milliseconds until the next pair deadline (-1 = none). */
static int poll_timeout(const struct pf_sess *s)
{
    int64_t next = -1, now = sk_now_ms();
    for (size_t i = 0; i < s->n_pairs; i++) {
        int64_t d = pair_deadline(s->pairs[i]);
        if (d < 0) continue;
        int64_t left = d > now ? d - now : 0;
        if (next < 0 || left < next) next = left;
    }
    return (int)next;
}

static void expire_pairs(struct pf_sess *s, int64_t now)
{
    for (size_t i = 0; i < s->n_pairs; i++) {
        struct pf_pair *p = s->pairs[i];
        int64_t d = pair_deadline(p);
        if (d < 0 || now < d) continue;
        if (p->state != PF_WAIT) {
            pf_pair_finish(s, p, NULL);
            continue;
        }
        char *msg = sk_printf("(conn=%p, request=%s) timed out waiting for streams", (void *)s,
                              p->request_id);
        pf_pair_finish(s, p, msg);
        free(msg);
    }
}

static void reap_pairs(struct pf_sess *s)
{
    size_t w = 0;
    for (size_t i = 0; i < s->n_pairs; i++) {
        if (s->pairs[i]->dead) pair_free(s->pairs[i]);
        else s->pairs[w++] = s->pairs[i];
    }
    s->n_pairs = w;
}

/* ---- sending to the client ------------------------------------------------------ */

static void pf_emit(struct pf_sess *s, const sk_buf *frame)
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

static size_t pf_out_pending(const struct pf_sess *s)
{
    if (s->ws) return wslay_event_get_queued_msg_length(s->wctx);
    return s->out.len - s->out_off;
}

static void pf_fail(struct pf_sess *s, const sk_err *e)
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
    /* a few reads per loop turn keep the pod sockets' back-pressure honest */
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
        s->read_budget = 16;
        if (wslay_event_recv(s->wctx) != 0) s->peer_gone = true;
        return;
    }
    ssize_t n;
    do n = recv(s->fd, s->rbuf, PF_READ_CHUNK, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        feed(s, s->rbuf, (size_t)n);
    } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        s->peer_gone = true;
    }
}

/* ---- the loop ------------------------------------------------------------------------- */

/* Stop reading the client while the pods have a megabyte to swallow, or
 * while the client is not reading what we answer. */
static bool input_paused(const struct pf_sess *s)
{
    size_t backlog = 0;
    for (size_t i = 0; i < s->n_pairs; i++) backlog += pair_backlog(s->pairs[i]);
    return backlog > PF_HIGH_WATER || pf_out_pending(s) > 4 * PF_HIGH_WATER;
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
    if (n_pairs) memcpy(pairs, s->pairs, n_pairs * sizeof *pairs);
    for (size_t i = 0; i < n_pairs; i++) pair_poll(pairs[i], out_full, &p[1 + i]);
    int rc = poll(p, (nfds_t)(1 + n_pairs), poll_timeout(s));
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
        if (p[1 + i].revents) pair_io(s, pairs[i], p[1 + i].fd, p[1 + i].revents);
    expire_pairs(s, sk_now_ms());
    reap_pairs(s);
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
    s->rbuf = sk_malloc(PF_READ_CHUNK);
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
    for (size_t i = 0; i < s->n_pairs; i++) pair_free(s->pairs[i]);
    free(s->pairs);
    if (s->wctx) wslay_event_context_free(s->wctx);
    sk_spdy_parser_free(s->parser);
    sk_spdy_deflater_free(s->zout);
    sk_buf_release(&s->out);
    free(s->rbuf);
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
