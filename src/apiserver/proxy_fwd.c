/* Plain HTTP forwarding for proxies and logs: libcurl's multi interface
 * driven from the connection's own thread (libmicrohttpd runs one thread
 * per connection, so the reply callback may block). The request runs until
 * the response headers arrive; the body is then pulled by the reply
 * callback as it comes, with the backend paused while 1 MiB is unsent, so a
 * `logs -f` can stream forever in bounded memory. The stream ends when the
 * backend ends, the client disconnects or the server stops. */
#include "apiserver/proxy_int.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>

#define FWD_HIGH_WATER (1u << 20)
#define FWD_MAX_HEADERS (64 * 1024)

struct sk_fwd {
    struct sk_apiserver *srv;
    int client_fd;
    CURL *easy;
    CURLM *multi;
    struct curl_slist *req_headers;
    char errbuf[CURL_ERROR_SIZE];
    char backend[320]; /* host:port from the URL, for errors and Location */
    char *prefix;      /* proxy prefix for Location rewriting */
    char *req_host;    /* the client's Host header */
    long status;
    bool headers_done, done, paused, head;
    CURLcode result;
    char **hdrs; /* "Name: value" of the final response */
    size_t nhdrs, hdr_bytes;
    sk_buf out;
    size_t out_off;
};

static void drop_headers(struct sk_fwd *f)
{
    for (size_t i = 0; i < f->nhdrs; i++) free(f->hdrs[i]);
    free(f->hdrs);
    f->hdrs = NULL;
    f->nhdrs = f->hdr_bytes = 0;
}

static size_t on_header(char *buf, size_t size, size_t nmemb, void *ud)
{
    struct sk_fwd *f = ud;
    size_t len = size * nmemb, l = len;
    while (l && (buf[l - 1] == '\r' || buf[l - 1] == '\n')) l--;
    if (l >= 5 && !strncmp(buf, "HTTP/", 5)) {
        /* a new response (after 1xx): forget the previous headers */
        drop_headers(f);
        const char *sp = memchr(buf, ' ', l);
        f->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        return len;
    }
    if (l == 0) {
        if (f->status >= 200 || f->status == 101) f->headers_done = true;
        return len;
    }
    if (f->hdr_bytes + l > FWD_MAX_HEADERS || buf[0] == ' ' || buf[0] == '\t')
        return f->hdr_bytes + l > FWD_MAX_HEADERS ? 0 : len; /* too big: abort; folded: skip */
    f->hdrs = sk_realloc(f->hdrs, (f->nhdrs + 1) * sizeof *f->hdrs);
    f->hdrs[f->nhdrs++] = sk_strndup(buf, l);
    f->hdr_bytes += l;
    return len;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct sk_fwd *f = ud;
    size_t len = size * nmemb;
    if (f->out.len - f->out_off >= FWD_HIGH_WATER) {
        f->paused = true;
        return CURL_WRITEFUNC_PAUSE;
    }
    if (f->out_off > FWD_HIGH_WATER) {
        memmove(f->out.data, f->out.data + f->out_off, f->out.len - f->out_off);
        f->out.len -= f->out_off;
        f->out_off = 0;
    }
    sk_buf_add(&f->out, p, len);
    return len;
}

/* Client disconnected (the request's socket saw a hang-up). */
static bool client_gone(const struct sk_fwd *f)
{
    if (f->client_fd < 0) return false;
    struct pollfd p = {f->client_fd, POLLRDHUP, 0};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* One round: wait up to wait_ms for socket activity, then let curl work. */
static void step(struct sk_fwd *f, int wait_ms)
{
    curl_multi_poll(f->multi, NULL, 0, wait_ms, NULL);
    int running = 0;
    curl_multi_perform(f->multi, &running);
    int left;
    CURLMsg *m;
    while ((m = curl_multi_info_read(f->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        f->done = true;
        f->result = m->data.result;
    }
}

static bool aborted(const struct sk_fwd *f)
{
    return f->srv->stopping || client_gone(f);
}

/* Go-style dial errors ("dial tcp 10.0.0.1:80: connect: connection refused")
 * so messages read like upstream's. */
static void describe(const struct sk_fwd *f, sk_err *err)
{
    long oserr = 0;
    curl_easy_getinfo(f->easy, CURLINFO_OS_ERRNO, &oserr);
    if (f->result == CURLE_COULDNT_CONNECT && oserr) {
        char m[128];
        snprintf(m, sizeof m, "%s", strerror((int)oserr));
        if (m[0] >= 'A' && m[0] <= 'Z') m[0] = (char)(m[0] - 'A' + 'a');
        sk_err_set(err, SK_EUNAVAILABLE, "dial tcp %s: connect: %s", f->backend, m);
    } else if (f->result == CURLE_OPERATION_TIMEDOUT) {
        sk_err_set(err, SK_EUNAVAILABLE, "dial tcp %s: i/o timeout", f->backend);
    } else {
        sk_err_set(err, SK_EUNAVAILABLE, "%s",
                   f->errbuf[0] ? f->errbuf : curl_easy_strerror(f->result));
    }
}

static void set_method(struct sk_fwd *f, const struct sk_fwd_req *r)
{
    CURL *c = f->easy;
    if (!strcmp(r->method, "HEAD")) {
        f->head = true;
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        return;
    }
    bool body = r->body_len || !strcmp(r->method, "POST") || !strcmp(r->method, "PUT") ||
                !strcmp(r->method, "PATCH");
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, r->body ? r->body : "");
    }
    if (strcmp(r->method, "GET") || body) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
}

/* "scheme://host:port/..." → "host:port" */
static void backend_of(const char *url, char *out, size_t n)
{
    const char *h = strstr(url, "://");
    h = h ? h + 3 : url;
    size_t l = strcspn(h, "/?#");
    snprintf(out, n, "%.*s", (int)l, h);
}

struct sk_fwd *sk_fwd_open(struct sk_req *q, const struct sk_fwd_req *r, sk_err *err)
{
    struct sk_fwd *f = sk_calloc(1, sizeof *f);
    f->srv = q->srv;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(q->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    f->client_fd = ci ? ci->connect_fd : -1;
    backend_of(r->url, f->backend, sizeof f->backend);
    f->prefix = sk_strdup(r->prefix);
    f->req_host = sk_strdup(sk_req_header(q, "Host"));
    f->req_headers = r->headers;
    /* Let curl neither add nor negotiate what the client did not ask for. */
    if (!sk_req_header(q, "Accept")) f->req_headers = curl_slist_append(f->req_headers, "Accept:");
    if (!sk_req_header(q, "Content-Type"))
        f->req_headers = curl_slist_append(f->req_headers, "Content-Type:");
    f->req_headers = curl_slist_append(f->req_headers, "Expect:");
    CURL *c = f->easy = curl_easy_init();
    f->multi = curl_multi_init();
    if (!c || !f->multi) {
        sk_fwd_free(f);
        sk_err_set(err, SK_EINTERNAL, "cannot start an HTTP client");
        return NULL;
    }
    curl_easy_setopt(c, CURLOPT_URL, r->url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, ""); /* never an environment proxy */
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 30000L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, f->errbuf);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, f);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, f->req_headers);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (r->kubelet) sk_proxy_kubelet_tls(q->srv->proxy, c);
    else {
        /* upstream's proxy transport does not verify pods' certificates */
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    set_method(f, r);
    curl_multi_add_handle(f->multi, c);
    while (!f->headers_done && !f->done) {
        if (aborted(f)) {
            sk_fwd_free(f);
            sk_err_set(err, SK_EUNAVAILABLE, "the request was abandoned");
            return NULL;
        }
        step(f, 250);
    }
    if (!f->headers_done) {
        describe(f, err);
        sk_fwd_free(f);
        return NULL;
    }
    return f;
}

long sk_fwd_status(const struct sk_fwd *f)
{
    return f->status;
}

const char *sk_fwd_header(const struct sk_fwd *f, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < f->nhdrs; i++) {
        const char *h = f->hdrs[i];
        if (!strncasecmp(h, name, nl) && h[nl] == ':') {
            h += nl + 1;
            while (*h == ' ' || *h == '\t') h++;
            return h;
        }
    }
    return NULL;
}

static void unpause(struct sk_fwd *f)
{
    if (!f->paused) return;
    f->paused = false;
    curl_easy_pause(f->easy, CURLPAUSE_CONT);
}

void sk_fwd_read(struct sk_fwd *f, sk_buf *out, size_t max)
{
    int64_t deadline = sk_now_ms() + 10000;
    while (!f->done && f->out.len - f->out_off < max && !aborted(f) && sk_now_ms() < deadline)
        step(f, 250);
    size_t n = f->out.len - f->out_off;
    if (n > max) n = max;
    sk_buf_add(out, f->out.data + f->out_off, n);
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct sk_fwd *f = cls;
    for (;;) {
        size_t avail = f->out.len - f->out_off;
        if (avail) {
            size_t n = avail < max ? avail : max;
            memcpy(buf, f->out.data + f->out_off, n);
            f->out_off += n;
            if (f->out_off == f->out.len) {
                f->out.len = f->out_off = 0;
                unpause(f);
            }
            return (ssize_t)n;
        }
        if (f->done)
            return f->result == CURLE_OK ? MHD_CONTENT_READER_END_OF_STREAM
                                         : MHD_CONTENT_READER_END_WITH_ERROR;
        /* nobody left to tell: end quietly */
        if (aborted(f)) return MHD_CONTENT_READER_END_OF_STREAM;
        step(f, 250);
    }
}

static void free_cb(void *cls)
{
    sk_fwd_free(cls);
}

/* Headers the reply must not copy: hop-by-hop, framing MHD does itself. */
static bool skip_header(const char *h, size_t nl)
{
    return sk_proxy_hop_header(h, nl) || (nl == 14 && !strncasecmp(h, "Content-Length", nl)) ||
           (nl == 4 && !strncasecmp(h, "Date", nl));
}

static void copy_headers(struct MHD_Response *resp, const struct sk_fwd *f)
{
    for (size_t i = 0; i < f->nhdrs; i++) {
        _sk_free_ char *h = sk_strdup(f->hdrs[i]);
        char *colon = strchr(h, ':');
        if (!colon || colon == h || skip_header(h, (size_t)(colon - h))) continue;
        *colon = 0;
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t') v++;
        if (!strcasecmp(h, "Location") && f->prefix) {
            _sk_free_ char *loc = sk_proxy_rewrite_location(v, f->backend, f->req_host, f->prefix);
            MHD_add_response_header(resp, h, loc);
        } else {
            MHD_add_response_header(resp, h, v);
        }
    }
}

void sk_fwd_reply(struct sk_req *q, struct sk_fwd *f, const char *ctype)
{
    uint64_t size = MHD_SIZE_UNKNOWN;
    const char *cl = sk_fwd_header(f, "Content-Length");
    if (cl && !ctype) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (cl[0] && !*end) size = n;
    }
    if (f->status == 204 || f->status == 304) size = 0;
    long status = f->status;
    struct MHD_Response *resp = MHD_create_response_from_callback(size, 32 * 1024, reader, f,
                                                                  free_cb);
    if (!resp) {
        sk_fwd_free(f);
        sk_proxy_status(q, 500, NULL, "cannot create a response");
        return;
    }
    if (ctype) MHD_add_response_header(resp, "Content-Type", ctype);
    else copy_headers(resp, f);
    if (q->resp) MHD_destroy_response(q->resp);
    q->resp = resp;
    q->status = (unsigned)status;
}

void sk_fwd_free(struct sk_fwd *f)
{
    if (!f) return;
    if (f->multi && f->easy) curl_multi_remove_handle(f->multi, f->easy);
    if (f->easy) curl_easy_cleanup(f->easy);
    if (f->multi) curl_multi_cleanup(f->multi);
    curl_slist_free_all(f->req_headers);
    drop_headers(f);
    sk_buf_release(&f->out);
    free(f->prefix);
    free(f->req_host);
    free(f);
}

/* ---- Location rewriting ---------------------------------------------------------- */

char *sk_proxy_rewrite_location(const char *loc, const char *backend_host, const char *req_host,
                                const char *prefix)
{
    const char *rest = loc, *host = NULL;
    size_t hl = 0;
    const char *sep = strstr(loc, "://");
    if (sep && sep + 1 == loc + strcspn(loc, "/?#")) { /* scheme://host... */
        host = sep + 3;
        hl = strcspn(host, "/?#");
        rest = host + hl;
    } else if (!strncmp(loc, "//", 2)) {
        host = loc + 2;
        hl = strcspn(host, "/?#");
        rest = host + hl;
    }
    if (host && hl) {
        bool same = (strlen(backend_host) == hl && !strncmp(host, backend_host, hl)) ||
                    (req_host && strlen(req_host) == hl && !strncmp(host, req_host, hl));
        if (!same) return sk_strdup(loc);
    }
    if (rest[0] != '/') return sk_strdup(loc); /* relative: the browser resolves it */
    size_t pl = strlen(prefix);
    while (pl && prefix[pl - 1] == '/') pl--;
    if (!strncmp(rest, prefix, pl) && (rest[pl] == '/' || rest[pl] == 0 || rest[pl] == '?'))
        return sk_strdup(rest);
    return sk_printf("%.*s%s", (int)pl, prefix, rest);
}
