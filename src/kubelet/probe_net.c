/* Network checks of probes and lifecycle hooks: an HTTP GET through
 * libcurl that behaves like upstream's probe client (no proxy, no
 * keep-alive, no compression, TLS without verification, redirects only to
 * the same host) and a TCP connect with a deadline. Failures read like
 * Go's net/http and net errors, since they end up in events that users
 * compare with upstream's. */
#include "kubelet/probe_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define HTTP_MAX_REDIRECTS 10
#define HTTP_MAX_HEADERS 64
#define HTTP_MAX_HEADER_LEN 8192

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

/* "host:port" with IPv6 in brackets, as Go's net.JoinHostPort. */
static void join_host_port(const char *host, int port, char *out, size_t n)
{
    if (strchr(host, ':') && host[0] != '[') snprintf(out, n, "[%s]:%d", host, port);
    else snprintf(out, n, "%s:%d", host, port);
}

/* The URL upstream's formatURL builds: a path without a leading slash gets
 * one; bytes curl would reject are percent-encoded. */
static char *build_url(const struct sk_kl_http_get *r)
{
    char hp[320];
    join_host_port(r->host, r->port, hp, sizeof hp);
    sk_buf b = SK_BUF_INIT;
    sk_buf_addf(&b, "%s://%s", r->scheme, hp);
    const char *p = r->path ? r->path : "";
    if (*p && *p != '/') sk_buf_adds(&b, "/");
    for (; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' || c == '`' ||
            c == '{' || c == '|' || c == '}')
            sk_buf_addf(&b, "%%%02X", c);
        else
            sk_buf_add(&b, p, 1);
    }
    return sk_buf_take(&b);
}

static bool token_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

/* httpHeaders as curl header lines; Go rejects bad names and values when
 * sending, which the prober reports as a failed request. */
static int build_headers(const struct sk_kl_http_get *r, struct curl_slist **out, bool *has_ua, char *msg,
                         size_t len)
{
    size_t n = json_array_size(r->headers);
    if (n > HTTP_MAX_HEADERS) return snprintf(msg, len, "too many httpHeaders (%zu)", n), -1;
    bool accept_given = false;
    for (size_t i = 0; i < n; i++) {
        const json_t *h = json_array_get(r->headers, i);
        const char *name = sk_json_str(h, "name"), *value = sk_json_str(h, "value");
        if (!value) value = "";
        bool ok = name && *name && strlen(name) + strlen(value) < HTTP_MAX_HEADER_LEN;
        for (const char *c = name; ok && *c; c++) ok = token_char((unsigned char)*c);
        if (!ok) return snprintf(msg, len, "net/http: invalid header field name %s", name ? name : "\"\""), -1;
        for (const char *c = value; *c; c++)
            if (*c == '\r' || *c == '\n' || (unsigned char)*c == 0x7f)
                return snprintf(msg, len, "net/http: invalid header field value for \"%s\"", name), -1;
        if (!strcasecmp(name, "User-Agent")) *has_ua = true;
        char *line;
        if (!strcasecmp(name, "Accept") && !*value) {
            line = sk_strdup("Accept:"); /* an empty Accept removes it, as upstream */
            accept_given = true;
        } else {
            if (!strcasecmp(name, "Accept")) accept_given = true;
            /* "Name;" is curl's way to send a header with an empty value */
            line = *value ? sk_printf("%s: %s", name, value) : sk_printf("%s;", name);
        }
        *out = curl_slist_append(*out, line);
        free(line);
    }
    if (!accept_given) *out = curl_slist_append(*out, "Accept: */*");
    return 0;
}

struct body {
    size_t len;
    bool truncated;
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct body *b = ud;
    size_t n = size * nmemb;
    (void)p;
    if (b->len + n > SK_KL_PROBE_OUTPUT_MAX) {
        b->truncated = true; /* upstream keeps the truncated body: not an error */
        return 0;
    }
    b->len += n;
    return n;
}

static void lower_strerror(int e, char *out, size_t n)
{
    char buf[128];
    const char *s = strerror_r(e, buf, sizeof buf);
    snprintf(out, n, "%s", s);
    if (out[0] >= 'A' && out[0] <= 'Z') out[0] = (char)(out[0] - 'A' + 'a');
}

static void curl_error_text(CURL *c, CURLcode cc, const char *errbuf, const struct sk_kl_http_get *r,
                            const char *url, char *msg, size_t len)
{
    char hp[320], why[160];
    join_host_port(r->host, r->port, hp, sizeof hp);
    long oserr = 0;
    if (c) curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &oserr);
    if (cc == CURLE_COULDNT_CONNECT && oserr > 0) {
        lower_strerror((int)oserr, why, sizeof why);
        snprintf(msg, len, "Get \"%s\": dial tcp %s: connect: %s", url, hp, why);
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(msg, len, "Get \"%s\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
                 url);
    } else if (cc == CURLE_COULDNT_RESOLVE_HOST) {
        snprintf(msg, len, "Get \"%s\": dial tcp: lookup %s: no such host", url, r->host);
    } else {
        snprintf(msg, len, "Get \"%s\": %s", url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
    }
}

static char *url_host(const char *url)
{
    CURLU *u = curl_url();
    char *host = NULL, *out = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
        out = sk_strdup(host);
    curl_free(host);
    curl_url_cleanup(u);
    return out;
}

static bool same_host(const char *a, const char *b)
{
    _sk_free_ char *ha = url_host(a);
    _sk_free_ char *hb = url_host(b);
    return ha && hb && !strcasecmp(ha, hb);
}

static void setup(CURL *c, const char *url, struct curl_slist *hdrs, bool has_ua, const char *ua,
                  struct body *b, char *errbuf, long timeout_ms)
{
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    if (!has_ua) curl_easy_setopt(c, CURLOPT_USERAGENT, ua);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
}

static bool is_redirect(long code)
{
    return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

/* One request; 0 with *status and *location (a redirect target, caller
 * frees) or -1 with msg. */
static int http_once(const struct sk_kl_http_get *r, const char *url, struct curl_slist *hdrs, bool has_ua,
                     long timeout_ms, long *status, char **location, bool *tls_mismatch, char *msg, size_t len)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    struct body b = {0};
    CURL *c = curl_easy_init();
    if (!c) return snprintf(msg, len, "Get \"%s\": cannot create a curl handle", url), -1;
    setup(c, url, hdrs, has_ua, r->user_agent, &b, errbuf, timeout_ms);
    CURLcode cc = curl_easy_perform(c);
    int rc = 0;
    if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && b.truncated)) {
        if (tls_mismatch) *tls_mismatch = cc == CURLE_SSL_CONNECT_ERROR && !strcasecmp(r->scheme, "https");
        curl_error_text(c, cc, errbuf, r, url, msg, len);
        rc = -1;
    } else {
        char *loc = NULL;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
        if (is_redirect(*status) && curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc)
            *location = sk_strdup(loc);
    }
    curl_easy_cleanup(c);
    return rc;
}

int sk_kl_http_get(const struct sk_kl_http_get *r, long *status, bool *tls_mismatch, char *msg, size_t msg_len)
{
    pthread_once(&curl_once, curl_init);
    if (tls_mismatch) *tls_mismatch = false;
    _sk_free_ char *url = build_url(r);
    struct curl_slist *hdrs = NULL;
    bool has_ua = false;
    if (build_headers(r, &hdrs, &has_ua, msg, msg_len) < 0) {
        curl_slist_free_all(hdrs);
        char why[256];
        snprintf(why, sizeof why, "%s", msg);
        snprintf(msg, msg_len, "Get \"%s\": %s", url, why);
        return -1;
    }
    int64_t deadline = sk_now_ms() + (r->timeout_ms > 0 ? r->timeout_ms : 1000);
    int rc = -1;
    for (int hops = 1;; hops++) {
        int64_t left = deadline - sk_now_ms();
        if (left <= 0) {
            curl_error_text(NULL, CURLE_OPERATION_TIMEDOUT, "", r, url, msg, msg_len);
            break;
        }
        char *loc = NULL;
        if (http_once(r, url, hdrs, has_ua, (long)left, status, &loc, tls_mismatch, msg, msg_len) < 0) break;
        /* Like Go's CheckRedirect in upstream's prober: other hosts end the
         * chain with the redirect itself as the answer. */
        if (!loc || !same_host(url, loc)) {
            free(loc);
            rc = 0;
            break;
        }
        if (hops >= HTTP_MAX_REDIRECTS) {
            snprintf(msg, msg_len, "Get \"%s\": stopped after %d redirects", loc, HTTP_MAX_REDIRECTS);
            free(loc);
            break;
        }
        free(url);
        url = loc;
    }
    curl_slist_free_all(hdrs);
    return rc;
}

/* ---- TCP ------------------------------------------------------------------------ */

static int connect_one(const struct addrinfo *ai, int64_t deadline, int *err_out)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) return *err_out = errno, -1;
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc < 0 && errno != EINPROGRESS) {
        *err_out = errno;
        close(fd);
        return -1;
    }
    if (rc < 0) {
        struct pollfd p = {fd, POLLOUT, 0};
        int left, n = 0;
        while ((left = (int)(deadline - sk_now_ms())) > 0 && (n = poll(&p, 1, left)) < 0 && errno == EINTR) {}
        if (n <= 0) {
            *err_out = n < 0 ? errno : ETIMEDOUT;
            close(fd);
            return -1;
        }
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) soerr = errno;
        if (soerr) {
            *err_out = soerr;
            close(fd);
            return -1;
        }
    }
    close(fd);
    return 0;
}

int sk_kl_tcp_check(const char *host, int port, int timeout_ms, char *msg, size_t msg_len)
{
    char hp[320], service[16];
    /* Go dials the local system for an empty host */
    if (!host || !*host) host = "127.0.0.1";
    join_host_port(host, port, hp, sizeof hp);
    snprintf(service, sizeof service, "%d", port);
    int64_t deadline = sk_now_ms() + (timeout_ms > 0 ? timeout_ms : 1000);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res = NULL;
    char bare[256];
    snprintf(bare, sizeof bare, "%s", host);
    if (bare[0] == '[' && bare[strlen(bare) - 1] == ']') {
        memmove(bare, bare + 1, strlen(bare));
        bare[strlen(bare) - 1] = 0;
    }
    if (getaddrinfo(bare, service, &hints, &res) != 0 || !res) {
        snprintf(msg, msg_len, "dial tcp: lookup %s: no such host", host);
        return 1;
    }
    int last = ECONNREFUSED;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (connect_one(ai, deadline, &last) == 0) {
            freeaddrinfo(res);
            return 0;
        }
        if (last == ETIMEDOUT) break;
    }
    freeaddrinfo(res);
    if (last == ETIMEDOUT) {
        snprintf(msg, msg_len, "dial tcp %s: i/o timeout", hp);
    } else {
        char why[128];
        lower_strerror(last, why, sizeof why);
        snprintf(msg, msg_len, "dial tcp %s: connect: %s", hp, why);
    }
    return 1;
}
