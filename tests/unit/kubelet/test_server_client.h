/* Test helpers for the agent's HTTPS API: a PKI in a temp dir, an HTTPS
 * GET with libcurl and client certificates, and a minimal TLS WebSocket
 * client (GnuTLS + wslay) speaking the channel.k8s.io framing. */
#ifndef TEST_SERVER_CLIENT_H
#define TEST_SERVER_CLIENT_H

#include "kubelet/server_int.h"
#include "pki/pki.h"
#include "unit/test.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <wslay/wslay.h>

#define API_CN "kube-apiserver-kubelet-client"

struct tpki {
    char dir[64];              /* our cluster's DIR (DIR/pki) */
    char other[80];            /* another cluster (a foreign CA) */
    char ca[128], cert[128], key[128];     /* the API server's client identity */
    char wcert[128], wkey[128];            /* right CA, wrong CN */
    char fcert[128], fkey[128];            /* foreign CA */
    sk_pem_pair serving;
    char *ca_pem;
};

static inline int tpki_write(const char *path, const char *text)
{
    sk_err err = SK_ERR_INIT;
    return sk_write_file(path, text, strlen(text), 0600, &err);
}

static inline int tpki_setup(struct tpki *p)
{
    sk_err err = SK_ERR_INIT;
    const char *sans[] = {"127.0.0.1", "localhost"};
    snprintf(p->dir, sizeof p->dir, "/tmp/skklsrv-XXXXXX");
    if (!mkdtemp(p->dir)) return -1;
    snprintf(p->other, sizeof p->other, "%s/other", p->dir);
    if (sk_pki_ensure(p->dir, sans, 2, &err) < 0 || sk_pki_ensure(p->other, sans, 2, &err) < 0 ||
        sk_pki_issue_serving(p->dir, "node1", sans, 2, &p->serving, &err) < 0) {
        fprintf(stderr, "pki: %s\n", err.msg);
        return -1;
    }
    snprintf(p->ca, sizeof p->ca, "%s/pki/ca.crt", p->dir);
    p->ca_pem = sk_read_file(p->ca, NULL, &err);
    sk_pem_pair c = {NULL, NULL}, w = {NULL, NULL};
    if (!p->ca_pem || sk_pki_issue_client(p->dir, API_CN, NULL, &c, &err) < 0 ||
        sk_pki_issue_client(p->dir, "mallory", NULL, &w, &err) < 0) {
        fprintf(stderr, "pki: %s\n", err.msg);
        return -1;
    }
    snprintf(p->cert, sizeof p->cert, "%s/client.crt", p->dir);
    snprintf(p->key, sizeof p->key, "%s/client.key", p->dir);
    snprintf(p->wcert, sizeof p->wcert, "%s/wrong.crt", p->dir);
    snprintf(p->wkey, sizeof p->wkey, "%s/wrong.key", p->dir);
    snprintf(p->fcert, sizeof p->fcert, "%s/pki/admin.crt", p->other);
    snprintf(p->fkey, sizeof p->fkey, "%s/pki/admin.key", p->other);
    int rc = tpki_write(p->cert, c.cert) | tpki_write(p->key, c.key) | tpki_write(p->wcert, w.cert) |
             tpki_write(p->wkey, w.key);
    sk_pem_pair_release(&c);
    sk_pem_pair_release(&w);
    return rc;
}

static inline void tpki_cleanup(struct tpki *p)
{
    char cmd[128];
    sk_pem_pair_release(&p->serving);
    free(p->ca_pem);
    snprintf(cmd, sizeof cmd, "rm -rf %s", p->dir);
    if (p->dir[0] && system(cmd) != 0) fprintf(stderr, "cleanup of %s failed\n", p->dir);
}

/* ---- HTTPS with libcurl ------------------------------------------------------------- */

static size_t tcurl_write(char *p, size_t sz, size_t n, void *ud)
{
    sk_buf_add(ud, p, sz * n);
    return sz * n;
}

/* GET (or method) https://127.0.0.1:port path with a client certificate
 * (cert NULL = none); the status, body in *body (caller releases). */
static inline long tcurl(int port, const char *method, const char *path, const struct tpki *p,
                         const char *cert, const char *key, sk_buf *body)
{
    CURL *h = curl_easy_init();
    char url[1024];
    long code = -1;
    snprintf(url, sizeof url, "https://127.0.0.1:%d%s", port, path);
    sk_buf_adds(body, "");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_CAINFO, p->ca);
    if (cert) {
        curl_easy_setopt(h, CURLOPT_SSLCERT, cert);
        curl_easy_setopt(h, CURLOPT_SSLKEY, key);
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, tcurl_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    else fprintf(stderr, "curl %s: %s\n", path, curl_easy_strerror(rc));
    curl_easy_cleanup(h);
    return code;
}

/* ---- a TLS WebSocket client ------------------------------------------------------------ */

struct wsc {
    int fd;
    gnutls_session_t s;
    gnutls_certificate_credentials_t cred;
    wslay_event_context_ptr ctx;
    char head[4096];           /* the HTTP response head */
    sk_buf rest;               /* bytes read past the head */
    size_t rest_off;
    sk_buf ch[4];              /* received channels 0..3 (3 = status) */
    bool closed;               /* close frame received */
    int pongs;
    uint16_t close_code;
    bool eof;
};

static ssize_t wsc_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *ud)
{
    (void)flags;
    struct wsc *c = ud;
    if (c->rest_off < c->rest.len) {
        size_t n = c->rest.len - c->rest_off;
        if (n > len) n = len;
        memcpy(buf, c->rest.data + c->rest_off, n);
        c->rest_off += n;
        return (ssize_t)n;
    }
    ssize_t n = gnutls_record_recv(c->s, buf, len);
    if (n > 0) return n;
    if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    } else {
        c->eof = true;
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    }
    return -1;
}

static ssize_t wsc_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                        void *ud)
{
    (void)flags;
    struct wsc *c = ud;
    ssize_t n = gnutls_record_send(c->s, data, len);
    if (n >= 0) return n;
    if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    else wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static int wsc_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *ud)
{
    (void)ctx;
    (void)ud;
    for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)rand();
    return 0;
}

static void wsc_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a, void *ud)
{
    (void)ctx;
    struct wsc *c = ud;
    if (a->opcode == WSLAY_PONG) {
        c->pongs++;
    } else if (a->opcode == WSLAY_CONNECTION_CLOSE) {
        c->closed = true;
        c->close_code = a->status_code;
    } else if (a->opcode == WSLAY_BINARY_FRAME && a->msg_length >= 1 && a->msg[0] < 4) {
        sk_buf_add(&c->ch[a->msg[0]], a->msg + 1, a->msg_length - 1);
    }
}

/* Connects, sends `request` (a full HTTP head) and reads the response
 * head into c->head. 0 ok. */
static inline int wsc_connect(struct wsc *c, int port, const struct tpki *p, const char *request)
{
    memset(c, 0, sizeof *c);
    for (int i = 0; i < 4; i++) sk_buf_adds(&c->ch[i], "");
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) return -1;
    gnutls_certificate_allocate_credentials(&c->cred);
    if (gnutls_certificate_set_x509_trust_file(c->cred, p->ca, GNUTLS_X509_FMT_PEM) <= 0 ||
        gnutls_certificate_set_x509_key_file(c->cred, p->cert, p->key, GNUTLS_X509_FMT_PEM) < 0)
        return -1;
    gnutls_init(&c->s, GNUTLS_CLIENT);
    gnutls_set_default_priority(c->s);
    gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, c->cred);
    gnutls_session_set_verify_cert(c->s, "127.0.0.1", 0);
    gnutls_transport_set_int(c->s, c->fd);
    gnutls_handshake_set_timeout(c->s, 10000);
    int rc;
    while ((rc = gnutls_handshake(c->s)) < 0 && !gnutls_error_is_fatal(rc)) {}
    if (rc < 0) {
        fprintf(stderr, "tls handshake: %s\n", gnutls_strerror(rc));
        return -1;
    }
    if (gnutls_record_send(c->s, request, strlen(request)) < 0) return -1;
    size_t n = 0;
    for (;;) {
        char buf[4096];
        ssize_t got = gnutls_record_recv(c->s, buf, sizeof buf);
        if (got <= 0) return -1;
        sk_buf_add(&c->rest, buf, (size_t)got);
        char *end = strstr(c->rest.data, "\r\n\r\n");
        if (!end) continue;
        n = (size_t)(end + 4 - c->rest.data);
        break;
    }
    snprintf(c->head, sizeof c->head, "%.*s", (int)n, c->rest.data);
    c->rest_off = n;
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    struct wslay_event_callbacks cb = {.recv_callback = wsc_recv, .send_callback = wsc_send,
                                       .genmask_callback = wsc_genmask, .on_msg_recv_callback = wsc_msg};
    wslay_event_context_client_init(&c->ctx, &cb, c);
    return 0;
}

/* An upgrade request for path with the given WebSocket subprotocol. */
static inline char *wsc_request(const char *method, const char *path, const char *proto)
{
    return sk_printf("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Protocol: %s\r\n\r\n",
                     method, path, proto);
}

static inline void wsc_send_ch(struct wsc *c, uint8_t ch, const void *p, size_t n)
{
    uint8_t *buf = sk_malloc(n + 1);
    buf[0] = ch;
    memcpy(buf + 1, p, n);
    struct wslay_event_msg m = {WSLAY_BINARY_FRAME, buf, n + 1};
    wslay_event_queue_msg(c->ctx, &m);
    free(buf);
}

/* Runs the connection until done(c) (NULL: the close handshake ended),
 * or timeout_ms; true when done. */
static inline bool wsc_run(struct wsc *c, int timeout_ms, bool (*done)(struct wsc *c, void *ud), void *ud)
{
    int64_t deadline = sk_now_ms() + timeout_ms;
    while (sk_now_ms() < deadline) {
        if (done ? done(c, ud) : (!wslay_event_want_read(c->ctx) && !wslay_event_want_write(c->ctx)))
            return true;
        if (c->eof) return done == NULL && c->closed;
        if (wslay_event_want_write(c->ctx) && wslay_event_send(c->ctx) != 0) return false;
        if (gnutls_record_check_pending(c->s) == 0 && c->rest_off >= c->rest.len) {
            struct pollfd p = {c->fd, POLLIN, 0};
            poll(&p, 1, 50);
        }
        if (wslay_event_want_read(c->ctx) && wslay_event_recv(c->ctx) != 0 && !c->eof) return false;
    }
    return false;
}

static inline void wsc_close(struct wsc *c)
{
    if (c->ctx) wslay_event_context_free(c->ctx);
    if (c->s) {
        gnutls_bye(c->s, GNUTLS_SHUT_WR);
        gnutls_deinit(c->s);
    }
    if (c->cred) gnutls_certificate_free_credentials(c->cred);
    if (c->fd >= 0) close(c->fd);
    sk_buf_release(&c->rest);
    for (int i = 0; i < 4; i++) sk_buf_release(&c->ch[i]);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

#endif
