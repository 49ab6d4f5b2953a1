/* Upgrade-aware proxying (upstream's UpgradeAwareHandler.tryUpgrade): the
 * client's upgrade request (WebSocket GET or SPDY POST) is replayed to the
 * backend over a connection of our own (libcurl CONNECT_ONLY: TLS with the
 * kubelet client certificate, or plain TCP to a pod). A 101 is answered
 * with the backend's upgrade headers, and a thread then splices bytes both
 * ways until either side closes; any other answer is passed back. */
#include "apiserver/proxy_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define HEAD_MAX (64 * 1024)
#define SPLICE_BUF (64 * 1024)
#define PENDING_REAP_MS 60000

struct sk_tunnel {
    struct sk_kproxy *px;
    struct sk_tunnel *next; /* in px->pending */
    int64_t created_ms;
    CURL *easy; /* NULL once reaped */
    curl_socket_t afd;
    sk_buf a2c, c2a; /* bytes waiting for the client / the agent */
    size_t a2c_off, c2a_off;
    MHD_socket cfd;
    int client_tcp; /* the client's TLS socket, owned by MHD */
    struct MHD_UpgradeResponseHandle *urh;
};

/* Hands the upgraded connection back to MHD for closing. libmicrohttpd
 * (0.9.75 and later) can miss the close of a TLS upgraded connection in
 * thread-per-connection mode: it wakes on our socket's shutdown before it
 * records the close, then waits for the client forever. Shutting down the
 * reading side of the client's socket first makes it stop waiting for the
 * client; the remaining bytes to the client are still flushed. */
static void upgraded_close(struct sk_tunnel *t)
{
    if (t->client_tcp >= 0) shutdown(t->client_tcp, SHUT_RD);
    MHD_upgrade_action(t->urh, MHD_UPGRADE_ACTION_CLOSE);
}

/* ---- backend connection ------------------------------------------------------- */

static int wait_fd(curl_socket_t fd, short ev, int64_t deadline, struct sk_apiserver *s)
{
    for (;;) {
        int64_t left = deadline - sk_now_ms();
        if (left <= 0 || s->stopping) return -1;
        struct pollfd p = {fd, ev, 0};
        int r = poll(&p, 1, left < 250 ? (int)left : 250);
        if (r > 0) return 0;
        if (r < 0 && errno != EINTR) return -1;
    }
}

static int send_all(CURL *c, curl_socket_t fd, const char *p, size_t n, int64_t deadline,
                    struct sk_apiserver *s)
{
    while (n) {
        size_t w = 0;
        CURLcode rc = curl_easy_send(c, p, n, &w);
        if (rc == CURLE_AGAIN) {
            if (wait_fd(fd, POLLOUT, deadline, s) < 0) return -1;
            continue;
        }
        if (rc != CURLE_OK) return -1;
        p += w;
        n -= w;
    }
    return 0;
}

/* Reads more bytes into b (up to cap). 1 read, 0 EOF, -1 error/timeout. */
static int recv_some(CURL *c, curl_socket_t fd, sk_buf *b, size_t cap, int64_t deadline,
                     struct sk_apiserver *s)
{
    char tmp[16384];
    for (;;) {
        size_t room = cap - b->len, n = 0;
        if (!room) return -1;
        CURLcode rc = curl_easy_recv(c, tmp, room < sizeof tmp ? room : sizeof tmp, &n);
        if (rc == CURLE_AGAIN) {
            if (wait_fd(fd, POLLIN, deadline, s) < 0) return -1;
            continue;
        }
        if (rc != CURLE_OK) return -1;
        if (!n) return 0;
        sk_buf_add(b, tmp, n);
        return 1;
    }
}

static const char *find_head_end(const sk_buf *b)
{
    if (b->len < 4) return NULL;
    const char *e = memmem(b->data, b->len, "\r\n\r\n", 4);
    return e ? e + 4 : NULL;
}

/* Value of header name in an HTTP head (first match), copied into out. */
static bool head_value(const char *head, size_t hl, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    for (const char *l = memchr(head, '\n', hl); l && l < head + hl; l = memchr(l, '\n', (size_t)(head + hl - l))) {
        l++;
        if ((size_t)(head + hl - l) > nl && !strncasecmp(l, name, nl) && l[nl] == ':') {
            const char *v = l + nl + 1, *e = memchr(v, '\r', (size_t)(head + hl - v));
            while (v < e && (*v == ' ' || *v == '\t')) v++;
            if (!e) return false;
            snprintf(out, n, "%.*s", (int)(e - v), v);
            return true;
        }
    }
    return false;
}

/* Reads the body of a non-101 reply (Content-Length, chunked or until
 * close), at most HEAD_MAX bytes. */
static void read_body(CURL *c, curl_socket_t fd, const char *head, size_t hl, sk_buf *rest,
                      sk_buf *out, struct sk_apiserver *s)
{
    int64_t deadline = sk_now_ms() + 10000;
    char v[64];
    long long want = -1;
    bool chunked = head_value(head, hl, "Transfer-Encoding", v, sizeof v) && strcasestr(v, "chunked");
    if (!chunked && head_value(head, hl, "Content-Length", v, sizeof v)) want = strtoll(v, NULL, 10);
    if (want > HEAD_MAX || want < -1) want = HEAD_MAX;
    while (want < 0 || rest->len < (size_t)want) {
        if (chunked && rest->len >= 5 && memmem(rest->data, rest->len, "\r\n0\r\n", 5)) break;
        if (chunked && rest->len >= 3 && !strncmp(rest->data, "0\r\n", 3)) break;
        if (recv_some(c, fd, rest, HEAD_MAX, deadline, s) <= 0) break;
    }
    if (!chunked) {
        size_t n = want >= 0 && (size_t)want < rest->len ? (size_t)want : rest->len;
        sk_buf_add(out, rest->data, n);
        return;
    }
    for (size_t p = 0; p < rest->len;) { /* de-chunk what arrived */
        char *end;
        unsigned long n = strtoul(rest->data + p, &end, 16);
        const char *crlf = memmem(rest->data + p, rest->len - p, "\r\n", 2);
        if (!n || !crlf || end == rest->data + p) break;
        size_t start = (size_t)(crlf + 2 - rest->data);
        if (n > rest->len - start) n = rest->len - start;
        sk_buf_add(out, rest->data + start, n);
        p = start + n + 2;
    }
}

static CURL *dial(struct sk_req *q, const struct sk_tunnel_target *t, curl_socket_t *fd,
                  char *errbuf)
{
    CURL *c = curl_easy_init();
    if (!c) return NULL;
    _sk_free_ char *url = sk_printf("%s://%s/", t->scheme, t->hostport);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1); /* ALPN: no h2 */
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 30000L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (t->kubelet) {
        sk_proxy_kubelet_tls(q->srv->proxy, c);
    } else {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) rc = curl_easy_getinfo(c, CURLINFO_ACTIVESOCKET, fd);
    if (rc != CURLE_OK) {
        long oserr = 0;
        curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &oserr);
        if (rc == CURLE_COULDNT_CONNECT && oserr) {
            char m[128];
            snprintf(m, sizeof m, "%s", strerror((int)oserr));
            if (m[0] >= 'A' && m[0] <= 'Z') m[0] = (char)(m[0] - 'A' + 'a');
            snprintf(errbuf, CURL_ERROR_SIZE, "dial tcp %s: connect: %s", t->hostport, m);
        } else if (!errbuf[0]) {
            snprintf(errbuf, CURL_ERROR_SIZE, "%s", curl_easy_strerror(rc));
        }
        curl_easy_cleanup(c);
        return NULL;
    }
    return c;
}

/* ---- splicing ------------------------------------------------------------------ */

static void tunnel_free(struct sk_tunnel *t)
{
    if (t->easy) curl_easy_cleanup(t->easy);
    sk_buf_release(&t->a2c);
    sk_buf_release(&t->c2a);
    free(t);
}

/* Moves bytes one round; sets cev and aev to the poll events still needed.
 * Returns 1 on progress, 0 idle, -1 when the tunnel is over. */
static int splice_round(struct sk_tunnel *t, bool *c_eof, bool *a_eof, short *cev, short *aev)
{
    int progress = 0;
    char buf[SPLICE_BUF];
    *cev = *aev = 0;
    if (t->c2a_off < t->c2a.len) {
        size_t n = 0;
        CURLcode rc = curl_easy_send(t->easy, t->c2a.data + t->c2a_off, t->c2a.len - t->c2a_off, &n);
        if (rc == CURLE_AGAIN) *aev |= POLLOUT;
        else if (rc != CURLE_OK) return -1;
        t->c2a_off += n;
        progress |= n > 0;
        if (t->c2a_off == t->c2a.len) t->c2a.len = t->c2a_off = 0;
    }
    if (t->c2a_off == t->c2a.len && !*c_eof) {
        ssize_t r = recv(t->cfd, buf, sizeof buf, MSG_DONTWAIT);
        if (r > 0) {
            sk_buf_add(&t->c2a, buf, (size_t)r);
            progress = 1;
        } else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            *c_eof = true;
        } else {
            *cev |= POLLIN;
        }
    }
    if (t->a2c_off < t->a2c.len) {
        ssize_t w = send(t->cfd, t->a2c.data + t->a2c_off, t->a2c.len - t->a2c_off,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
        if (w > 0) {
            t->a2c_off += (size_t)w;
            progress = 1;
        } else {
            *cev |= POLLOUT;
        }
        if (t->a2c_off == t->a2c.len) t->a2c.len = t->a2c_off = 0;
    }
    if (t->a2c_off == t->a2c.len && !*a_eof) {
        /* Always try: TLS may hold decrypted bytes that poll cannot see. */
        size_t n = 0;
        CURLcode rc = curl_easy_recv(t->easy, buf, sizeof buf, &n);
        if (rc == CURLE_OK && n) {
            sk_buf_add(&t->a2c, buf, n);
            progress = 1;
        } else if (rc == CURLE_AGAIN) {
            *aev |= POLLIN;
        } else {
            *a_eof = true;
        }
    }
    bool c_done = *c_eof && t->c2a_off == t->c2a.len, a_done = *a_eof && t->a2c_off == t->a2c.len;
    return c_done || a_done ? -1 : progress;
}

static void *tunnel_main(void *arg)
{
    struct sk_tunnel *t = arg;
    struct sk_kproxy *px = t->px;
    bool c_eof = false, a_eof = false;
    while (!px->srv->stopping) {
        short cev, aev;
        int r = splice_round(t, &c_eof, &a_eof, &cev, &aev);
        if (r < 0) break;
        if (r > 0) continue;
        struct pollfd p[2] = {{t->cfd, cev, 0}, {t->afd, aev, 0}};
        poll(p, 2, 250);
    }
    upgraded_close(t);
    tunnel_free(t);
    pthread_mutex_lock(&px->lock);
    if (--px->tunnels == 0) pthread_cond_broadcast(&px->idle);
    pthread_mutex_unlock(&px->lock);
    return NULL;
}

static void on_upgrade(void *cls, struct MHD_Connection *conn, void *req_cls, const char *extra_in,
                       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    struct sk_tunnel *t = cls;
    struct sk_kproxy *px = t->px;
    pthread_mutex_lock(&px->lock);
    for (struct sk_tunnel **pp = &px->pending; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    bool live = t->easy && !px->srv->stopping;
    if (live) px->tunnels++;
    pthread_mutex_unlock(&px->lock);
    t->cfd = sock;
    t->urh = urh;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    t->client_tcp = ci ? ci->connect_fd : -1;
    if (extra_in_size) sk_buf_add(&t->c2a, extra_in, extra_in_size);
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 256 * 1024);
    if (live && pthread_create(&th, &at, tunnel_main, t) == 0) {
        pthread_attr_destroy(&at);
        return;
    }
    pthread_attr_destroy(&at);
    upgraded_close(t);
    tunnel_free(t);
    if (!live) return;
    pthread_mutex_lock(&px->lock);
    if (--px->tunnels == 0) pthread_cond_broadcast(&px->idle);
    pthread_mutex_unlock(&px->lock);
}

void sk_tunnel_reap(struct sk_kproxy *px, bool all)
{
    int64_t now = sk_now_ms();
    pthread_mutex_lock(&px->lock);
    for (struct sk_tunnel **pp = &px->pending; *pp;) {
        struct sk_tunnel *t = *pp;
        if (all) {
            *pp = t->next;
            tunnel_free(t);
            continue;
        }
        /* A 101 that never reached its client: release the agent connection
         * but keep the record, in case the handler still runs. */
        if (t->easy && now - t->created_ms > PENDING_REAP_MS) {
            curl_easy_cleanup(t->easy);
            t->easy = NULL;
        }
        pp = &t->next;
    }
    pthread_mutex_unlock(&px->lock);
}

/* ---- the upgrade request ---------------------------------------------------------- */

static void reply_101(struct sk_req *q, CURL *c, curl_socket_t fd, const char *head, size_t hl,
                      const sk_buf *resp)
{
    struct sk_kproxy *px = q->srv->proxy;
    struct sk_tunnel *t = sk_calloc(1, sizeof *t);
    t->px = px;
    t->easy = c;
    t->afd = fd;
    t->created_ms = sk_now_ms();
    if (resp->len > hl) sk_buf_add(&t->a2c, resp->data + hl, resp->len - hl);
    struct MHD_Response *r = MHD_create_response_for_upgrade(on_upgrade, t);
    if (!r) {
        tunnel_free(t);
        sk_proxy_status(q, 500, NULL, "cannot create an upgrade response");
        return;
    }
    /* Copy the backend's upgrade headers (Upgrade, Connection,
     * Sec-WebSocket-Accept/Protocol, X-Stream-Protocol-Version...). */
    for (const char *l = memchr(head, '\n', hl); l && l + 1 < head + hl;) {
        l++;
        const char *e = memmem(l, (size_t)(head + hl - l), "\r\n", 2);
        const char *colon = e ? memchr(l, ':', (size_t)(e - l)) : NULL;
        if (colon && colon > l) {
            _sk_free_ char *name = sk_strndup(l, (size_t)(colon - l));
            const char *v = colon + 1;
            while (v < e && (*v == ' ' || *v == '\t')) v++;
            _sk_free_ char *val = sk_strndup(v, (size_t)(e - v));
            /* MHD adds "Connection: Upgrade" itself */
            if (strcasecmp(name, "Content-Length") && strcasecmp(name, "Transfer-Encoding") &&
                strcasecmp(name, "Date") && strcasecmp(name, "Connection"))
                MHD_add_response_header(r, name, val);
        }
        l = e ? memchr(e, '\n', (size_t)(head + hl - e)) : NULL;
    }
    pthread_mutex_lock(&px->lock);
    t->next = px->pending;
    px->pending = t;
    pthread_mutex_unlock(&px->lock);
    if (q->resp) MHD_destroy_response(q->resp);
    q->resp = r;
    q->status = 101;
}

static void reply_dial_error(struct sk_req *q, const struct sk_tunnel_target *t, const char *msg)
{
    if (t->agent) sk_proxy_status(q, 500, NULL, "error dialing backend: %s", msg);
    else sk_proxy_status(q, 503, "ServiceUnavailable", "error trying to reach service: %s", msg);
}

void sk_tunnel_reply(struct sk_req *q, const struct sk_tunnel_target *t)
{
    struct sk_apiserver *s = q->srv;
    sk_tunnel_reap(s->proxy, false);
    if (s->stopping) {
        sk_proxy_status(q, 503, "ServiceUnavailable", "the server is shutting down");
        return;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_socket_t fd;
    CURL *c = dial(q, t, &fd, errbuf);
    if (!c) {
        reply_dial_error(q, t, errbuf);
        return;
    }
    sk_buf req = SK_BUF_INIT, resp = SK_BUF_INIT;
    sk_buf_addf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\n", q->method, t->path_query, t->hostport);
    struct curl_slist *h = sk_proxy_fwd_headers(q, true, NULL);
    for (struct curl_slist *l = h; l; l = l->next) sk_buf_addf(&req, "%s\r\n", l->data);
    curl_slist_free_all(h);
    if (q->body.len) sk_buf_addf(&req, "Content-Length: %zu\r\n", q->body.len);
    sk_buf_adds(&req, "\r\n");
    if (q->body.len) sk_buf_add(&req, q->body.data, q->body.len);
    int64_t deadline = sk_now_ms() + 30000;
    const char *end = NULL;
    if (send_all(c, fd, req.data, req.len, deadline, s) < 0) {
        reply_dial_error(q, t, "sending the upgrade request failed");
        goto fail;
    }
    while (!(end = find_head_end(&resp)))
        if (recv_some(c, fd, &resp, HEAD_MAX, deadline, s) <= 0) break;
    if (!end) {
        reply_dial_error(q, t, "no valid reply to the upgrade request");
        goto fail;
    }
    size_t hl = (size_t)(end - resp.data);
    const char *sp = memchr(resp.data, ' ', hl);
    long code = sp ? strtol(sp + 1, NULL, 10) : 0;
    if (code == 101) {
        reply_101(q, c, fd, resp.data, hl, &resp);
        c = NULL;
    } else if (code >= 400 && code <= 599) {
        /* the backend's error reply goes back as it is */
        char ct[256] = "text/plain";
        head_value(resp.data, hl, "Content-Type", ct, sizeof ct);
        _sk_free_ char *head = sk_strndup(resp.data, hl);
        sk_buf rest = SK_BUF_INIT, body = SK_BUF_INIT;
        sk_buf_add(&rest, resp.data + hl, resp.len - hl);
        read_body(c, fd, head, hl, &rest, &body, s);
        sk_reply_buf(q, (unsigned)code, ct, body.data ? body.data : "", body.len);
        sk_buf_release(&rest);
        sk_buf_release(&body);
    } else {
        sk_proxy_status(q, 500, NULL, "invalid upgrade response: status code %ld", code);
    }
fail:
    if (c) curl_easy_cleanup(c);
    sk_buf_release(&req);
    sk_buf_release(&resp);
}
