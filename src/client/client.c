/* The HTTP layer of sk_client: one libcurl easy handle + multi handle per
 * connection, kept in a mutex-protected idle pool (a request takes one,
 * returns it when done; nothing is per-thread, so threads that exit leak
 * nothing and sk_client_free releases every connection). Every exchange is
 * driven through the multi interface with a 100 ms poll so that stop
 * requests (watches, informer lists, leader election) are honoured
 * promptly. Non-2xx Status replies become sk_err codes. */
#include "client/client_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#define POOL_MAX 32
#define POLL_MS 100

struct sk_conn {
    CURL *easy;
    CURLM *multi; /* owns the connection cache, so keep-alive survives */
    char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

/* ---- construction --------------------------------------------------------- */

/* libcurl's GnuTLS backend reads certificates only from files. A memfd
 * named by /proc/self/fd/N keeps the PEMs (the private key above all) off
 * the disk and vanishes with the process, even after a crash; a private
 * temporary directory is the fallback where memfds are unavailable. */
static char *memfd_pem(sk_client *c, const char *name, const char *pem)
{
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0) return NULL;
    size_t len = strlen(pem), off = 0;
    while (off < len) {
        ssize_t n = write(fd, pem + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            close(fd);
            return NULL;
        }
        off += (size_t)n;
    }
    c->fds[c->nfds++] = fd;
    return sk_printf("/proc/self/fd/%d", fd);
}

static int make_tmpdir(sk_client *c, sk_err *err)
{
    if (c->tmpdir) return 0;
    const char *t = getenv("TMPDIR");
    char *tmpl = sk_printf("%s/skiff-client-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpl)) {
        sk_err_sys(err, "mkdtemp %s", tmpl);
        free(tmpl);
        return -1;
    }
    chmod(tmpl, 0700);
    c->tmpdir = tmpl;
    return 0;
}

static char *write_pem(sk_client *c, const char *name, const char *pem, sk_err *err)
{
    char *path = memfd_pem(c, name, pem);
    if (path && access(path, R_OK) == 0) return path;
    free(path);
    if (make_tmpdir(c, err) < 0) return NULL;
    path = sk_printf("%s/%s", c->tmpdir, name);
    if (sk_write_file(path, pem, strlen(pem), 0600, err) < 0) {
        free(path);
        return NULL;
    }
    return path;
}

static int write_creds(sk_client *c, const struct sk_client_config *cfg, sk_err *err)
{
    if (cfg->ca_pem && !(c->ca_path = write_pem(c, "ca.pem", cfg->ca_pem, err))) return -1;
    if (cfg->cert_pem) {
        if (!cfg->key_pem)
            return sk_err_set(err, SK_EINVALID, "client certificate given without a key");
        if (!(c->cert_path = write_pem(c, "cert.pem", cfg->cert_pem, err))) return -1;
        if (!(c->key_path = write_pem(c, "key.pem", cfg->key_pem, err))) return -1;
    }
    return 0;
}

sk_client *sk_client_new(const struct sk_client_config *cfg, sk_err *err)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        sk_err_set(err, SK_EINTERNAL, "libcurl init: %s", curl_easy_strerror(curl_init_rc));
        return NULL;
    }
    if (!cfg || !cfg->server || strncmp(cfg->server, "https://", 8)) {
        sk_err_set(err, SK_EINVALID, "client: server must be an https:// URL");
        return NULL;
    }
    sk_client *c = sk_calloc(1, sizeof *c);
    c->base = sk_strdup(cfg->server);
    size_t n = strlen(c->base);
    while (n > 8 && c->base[n - 1] == '/') c->base[--n] = 0;
    c->user_agent = sk_strdup(cfg->user_agent ? cfg->user_agent : "skiff");
    if (cfg->token && *cfg->token) c->auth_header = sk_printf("Authorization: Bearer %s", cfg->token);
    c->qps = cfg->qps > 0 ? cfg->qps : 0;
    /* client-go pairs QPS 5 with burst 10 */
    c->burst = c->qps > 0 ? (c->qps * 2 < 1 ? 1 : c->qps * 2) : 0;
    c->tokens = c->burst;
    c->refill_ms = sk_now_ms();
    pthread_mutex_init(&c->lock, NULL);
    if (cfg->local && cfg->local->call && cfg->local->watch) c->local = *cfg->local;
    if (write_creds(c, cfg, err) < 0) {
        sk_client_free(c);
        return NULL;
    }
    return c;
}

static void conn_free(struct sk_conn *k)
{
    if (!k) return;
    curl_multi_cleanup(k->multi);
    curl_easy_cleanup(k->easy);
    free(k);
}

static void unlink_free(sk_client *c, char *path)
{
    if (path && c->tmpdir) unlink(path);
    free(path);
}

void sk_client_free(sk_client *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->nidle; i++) conn_free(c->idle[i]);
    free(c->idle);
    unlink_free(c, c->ca_path);
    unlink_free(c, c->cert_path);
    unlink_free(c, c->key_path);
    if (c->tmpdir) rmdir(c->tmpdir);
    for (int i = 0; i < c->nfds; i++) close(c->fds[i]);
    free(c->tmpdir);
    pthread_mutex_destroy(&c->lock);
    free(c->base);
    free(c->auth_header);
    free(c->user_agent);
    free(c);
}

/* ---- connection pool and rate limit ---------------------------------------- */

static struct sk_conn *conn_get(sk_client *c)
{
    pthread_mutex_lock(&c->lock);
    struct sk_conn *k = c->nidle ? c->idle[--c->nidle] : NULL;
    pthread_mutex_unlock(&c->lock);
    if (k) return k;
    k = sk_calloc(1, sizeof *k);
    k->easy = curl_easy_init();
    k->multi = curl_multi_init();
    if (!k->easy || !k->multi) {
        conn_free(k);
        return NULL;
    }
    return k;
}

static void conn_put(sk_client *c, struct sk_conn *k)
{
    pthread_mutex_lock(&c->lock);
    if (c->nidle < POOL_MAX) {
        c->idle = sk_realloc(c->idle, (c->nidle + 1) * sizeof *c->idle);
        c->idle[c->nidle++] = k;
        k = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    conn_free(k);
}

static bool aborting(const struct sk_call *call)
{
    return call->abort && call->abort->tick && call->abort->tick(call->abort->ud);
}

/* Token bucket: each request takes a token, going into debt when empty so
 * waiters are served in arrival order. Returns -1 if tick aborted the wait. */
static int throttle(sk_client *c, struct sk_call *call);

int sk__throttle(sk_client *c, const struct sk_abort *ab)
{
    struct sk_call call = {.abort = ab};
    return throttle(c, &call);
}

static int throttle(sk_client *c, struct sk_call *call)
{
    if (c->qps <= 0) return 0;
    pthread_mutex_lock(&c->lock);
    int64_t now = sk_now_ms();
    c->tokens += (double)(now - c->refill_ms) * c->qps / 1000.0;
    if (c->tokens > c->burst) c->tokens = c->burst;
    c->refill_ms = now;
    c->tokens -= 1;
    int64_t wait = c->tokens < 0 ? (int64_t)(-c->tokens * 1000.0 / c->qps) : 0;
    pthread_mutex_unlock(&c->lock);
    int64_t until = now + wait;
    while ((now = sk_now_ms()) < until) {
        if (aborting(call)) return -1;
        int64_t d = until - now < POLL_MS ? until - now : POLL_MS;
        struct timespec ts = {d / 1000, (d % 1000) * 1000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* ---- one exchange ---------------------------------------------------------- */

struct xfer {
    struct sk_call *call;
    CURL *easy;
    int mode; /* 0 undecided, 1 stream, 2 buffer */
    bool too_big;
};

static size_t on_write(char *p, size_t sz, size_t nm, void *ud)
{
    struct xfer *x = ud;
    size_t n = sz * nm;
    if (!x->mode) {
        long st = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &st);
        x->mode = x->call->on_data && st >= 200 && st < 300 ? 1 : 2;
    }
    if (x->mode == 1) {
        if (x->call->on_data(x->call->data_ud, p, n) < 0) {
            x->call->aborted = true;
            return 0;
        }
        return n;
    }
    if (x->call->reply.len + n > SK_CLIENT_MAX_BODY) {
        x->too_big = true;
        return 0;
    }
    sk_buf_add(&x->call->reply, p, n);
    return n;
}

static struct curl_slist *make_headers(sk_client *c, const struct sk_call *call)
{
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "Accept: application/json");
    if (call->body) {
        char *ct = sk_printf("Content-Type: %s",
                             call->content_type ? call->content_type : "application/json");
        h = curl_slist_append(h, ct);
        free(ct);
    }
    /* no 100-continue round trip for large bodies */
    h = curl_slist_append(h, "Expect:");
    if (c->auth_header) h = curl_slist_append(h, c->auth_header);
    return h;
}

static void setup(sk_client *c, struct sk_conn *k, struct sk_call *call, struct xfer *x,
                  const char *url, struct curl_slist *hdrs)
{
    CURL *e = k->easy;
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, k->errbuf);
    curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_path) {
        /* only the cluster CA, as kubectl: Debian's libcurl would also load
         * every system CA from its default CApath (slowly, per connection) */
        curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_path);
        curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
    }
    if (c->cert_path) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert_path);
        curl_easy_setopt(e, CURLOPT_SSLKEY, c->key_path);
    }
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    long to = call->timeout_s ? call->timeout_s : 120;
    if (to > 0) curl_easy_setopt(e, CURLOPT_TIMEOUT, to);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    if (call->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body);
    }
    if (strcmp(call->method, "GET") && strcmp(call->method, "POST"))
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, call->method);
    else if (!strcmp(call->method, "POST") && !call->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    }
}

void sk__waker_init(struct sk_waker *w)
{
    pthread_mutex_init(&w->lock, NULL);
    w->multi = NULL;
}

void sk__waker_release(struct sk_waker *w) { pthread_mutex_destroy(&w->lock); }

void sk__wake(struct sk_waker *w)
{
    pthread_mutex_lock(&w->lock);
    if (w->multi) curl_multi_wakeup(w->multi);
    pthread_mutex_unlock(&w->lock);
}

static void publish(const struct sk_abort *ab, CURLM *m)
{
    struct sk_waker *w = ab ? ab->waker : NULL;
    if (!w) return;
    pthread_mutex_lock(&w->lock);
    w->multi = m;
    pthread_mutex_unlock(&w->lock);
}

/* Drives the transfer; returns the curl result (CURLE_OK on success). */
static CURLcode drive(struct sk_conn *k, struct sk_call *call)
{
    CURLcode res = CURLE_OK;
    if (curl_multi_add_handle(k->multi, k->easy) != CURLM_OK) return CURLE_FAILED_INIT;
    publish(call->abort, k->multi);
    int running = 1;
    while (running) {
        if (curl_multi_perform(k->multi, &running) != CURLM_OK) {
            res = CURLE_RECV_ERROR;
            break;
        }
        if (!running) break;
        if (aborting(call)) {
            call->aborted = true;
            break;
        }
        if (curl_multi_poll(k->multi, NULL, 0, POLL_MS, NULL) != CURLM_OK) {
            res = CURLE_RECV_ERROR;
            break;
        }
    }
    publish(call->abort, NULL);
    int q;
    CURLMsg *m;
    while ((m = curl_multi_info_read(k->multi, &q)))
        if (m->msg == CURLMSG_DONE) res = m->data.result;
    curl_multi_remove_handle(k->multi, k->easy);
    return res;
}

int sk__call(sk_client *c, struct sk_call *call, sk_err *err)
{
    call->status = 0;
    call->aborted = false;
    if (throttle(c, call) < 0) {
        call->aborted = true;
        return 0;
    }
    struct sk_conn *k = conn_get(c);
    if (!k) return sk_err_set(err, SK_EINTERNAL, "libcurl: cannot create a handle");
    k->errbuf[0] = 0;
    char *url = sk_printf("%s%s", c->base, call->path);
    struct curl_slist *hdrs = make_headers(c, call);
    struct xfer x = {call, k->easy, 0, false};
    setup(c, k, call, &x, url, hdrs);
    CURLcode res = drive(k, call);
    curl_easy_getinfo(k->easy, CURLINFO_RESPONSE_CODE, &call->status);
    int rc = 0;
    if (call->aborted) {
        rc = 0;
    } else if (x.too_big) {
        rc = sk_err_set(err, SK_ETOOLARGE, "%s %s: reply larger than %zu bytes", call->method,
                        call->path, SK_CLIENT_MAX_BODY);
    } else if (res != CURLE_OK) {
        rc = sk_err_set(err, SK_EUNAVAILABLE, "%s %s: %s", call->method, url,
                        k->errbuf[0] ? k->errbuf : curl_easy_strerror(res));
    }
    curl_slist_free_all(hdrs);
    free(url);
    /* an interrupted exchange leaves its connection unusable */
    if (rc < 0 || call->aborted) conn_free(k);
    else conn_put(c, k);
    return rc;
}

void sk__call_release(struct sk_call *call) { sk_buf_release(&call->reply); }

/* ---- errors ---------------------------------------------------------------- */

static enum sk_code sk__code_from_reason(const char *reason)
{
    static const struct { const char *reason; enum sk_code code; } extra[] = {
        {"Gone", SK_EGONE},           {"TooManyRequests", SK_EUNAVAILABLE},
        {"ServerTimeout", SK_ETIMEOUT}, {"Unknown", SK_EINTERNAL},
    };
    if (!reason || !*reason) return SK_OK;
    for (int code = SK_EINTERNAL; code <= SK_EUNAVAILABLE; code++)
        if (!strcmp(sk_code_reason((enum sk_code)code), reason)) return (enum sk_code)code;
    for (size_t i = 0; i < SK_ARRAY_LEN(extra); i++)
        if (!strcmp(extra[i].reason, reason)) return extra[i].code;
    return SK_OK;
}

static enum sk_code sk__code_from_http(long st)
{
    switch (st) {
    case 400: return SK_EBADREQUEST;
    case 401: return SK_EUNAUTHORIZED;
    case 403: return SK_EFORBIDDEN;
    case 404: return SK_ENOTFOUND;
    case 405: return SK_ENOTALLOWED;
    case 406: return SK_ENOTACCEPTABLE;
    case 409: return SK_ECONFLICT;
    case 410: return SK_EGONE;
    case 413: return SK_ETOOLARGE;
    case 415: return SK_EMEDIATYPE;
    case 422: return SK_EINVALID;
    case 429: case 503: return SK_EUNAVAILABLE;
    case 504: return SK_ETIMEOUT;
    default: return SK_EINTERNAL;
    }
}

/* Status details.causes are not copied into err->causes: the message
 * already lists them (upstream's format), and callers that never call
 * sk_err_clear would leak them. */
int sk__status_json(long status, const json_t *st, const char *method, const char *path,
                    sk_err *err)
{
    const char *kind = sk_json_str(st, "kind");
    enum sk_code code = SK_OK;
    const char *msg = NULL;
    if (kind && !strcmp(kind, "Status")) {
        code = sk__code_from_reason(sk_json_str(st, "reason"));
        msg = sk_json_str(st, "message");
    }
    if (code == SK_OK) code = sk__code_from_http(status);
    if (msg && *msg) sk_err_set(err, code, "%s", msg);
    else sk_err_set(err, code, "the server responded with HTTP %ld to %s %s", status, method, path);
    return -1;
}

int sk__status_err(const struct sk_call *call, sk_err *err)
{
    _sk_json_ json_t *st = NULL;
    if (call->reply.len) st = json_loadb(call->reply.data, call->reply.len, 0, NULL);
    return sk__status_json(call->status, st, call->method, call->path, err);
}

/* ---- JSON exchanges ---------------------------------------------------------- */

json_t *sk__json(sk_client *c, const char *method, const char *path, const json_t *body,
                 const char *content_type, const struct sk_abort *ab, sk_err *err)
{
    if (c->local.call) {
        if (sk__throttle(c, ab) < 0) {
            sk_err_set(err, SK_EUNAVAILABLE, "%s %s: request aborted", method, path);
            return NULL;
        }
        return sk__local_json(c, method, path, body, content_type, false, NULL, err);
    }
    _sk_free_ char *text = NULL;
    if (body && !(text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY))) {
        sk_err_set(err, SK_EBADREQUEST, "%s %s: body cannot be encoded", method, path);
        return NULL;
    }
    struct sk_call call = {.method = method, .path = path, .body = text,
                           .body_len = text ? strlen(text) : 0, .content_type = content_type,
                           .abort = ab};
    json_t *out = NULL;
    if (sk__call(c, &call, err) < 0) goto done;
    if (call.aborted) {
        sk_err_set(err, SK_EUNAVAILABLE, "%s %s: request aborted", method, path);
        goto done;
    }
    if (call.status < 200 || call.status >= 300) {
        sk__status_err(&call, err);
        goto done;
    }
    if (call.reply.len) {
        json_error_t je;
        out = json_loadb(call.reply.data, call.reply.len, 0, &je);
        if (!out) sk_err_set(err, SK_EINTERNAL, "%s %s: invalid JSON reply: %s", method, path,
                             je.text);
    }
done:
    sk__call_release(&call);
    return out;
}

/* ---- small shared helpers ------------------------------------------------------ */

void sk__micro_time(int64_t wall_ms, char *out, size_t n)
{
    char s[40];
    sk_time_format(wall_ms / 1000, s, sizeof s);
    size_t l = strlen(s);
    if (l && s[l - 1] == 'Z') s[l - 1] = 0;
    snprintf(out, n, "%s.%06dZ", s, (int)(wall_ms % 1000) * 1000);
}

struct timespec sk__deadline(int64_t ms_from_now)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (ms_from_now < 0) ms_from_now = 0;
    ts.tv_sec += ms_from_now / 1000;
    ts.tv_nsec += (ms_from_now % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return ts;
}

void sk__cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
}

void sk__set_type(json_t *obj, const struct sk_resource *r)
{
    if (!json_is_object(obj)) return;
    if (!json_is_string(json_object_get(obj, "kind")))
        json_object_set_new(obj, "kind", json_string(r->kind));
    if (!json_is_string(json_object_get(obj, "apiVersion"))) {
        char av[128];
        json_object_set_new(obj, "apiVersion", json_string(sk_resource_api_version(r, av, sizeof av)));
    }
}

int sk_client_credentials(sk_client *c, char **ca_pem, char **cert_pem, char **key_pem,
                          sk_err *err)
{
    *ca_pem = *cert_pem = *key_pem = NULL;
    if ((c->ca_path && !(*ca_pem = sk_read_file(c->ca_path, NULL, err))) ||
        (c->cert_path && !(*cert_pem = sk_read_file(c->cert_path, NULL, err))) ||
        (c->key_path && !(*key_pem = sk_read_file(c->key_path, NULL, err)))) {
        free(*ca_pem);
        free(*cert_pem);
        free(*key_pem);
        *ca_pem = *cert_pem = *key_pem = NULL;
        return -1;
    }
    return 0;
}
