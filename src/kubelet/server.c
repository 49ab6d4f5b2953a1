/* The node agent's HTTPS API (the kubelet's port 10250 subset): a
 * libmicrohttpd daemon with TLS, one thread per connection; every request
 * must carry a client certificate chaining to the configured CA with the
 * API server's CN. Routes:
 *   GET  /healthz
 *   GET  /containerLogs/{ns}/{pod}/{container}
 *   GET|POST /exec|attach/{ns}/{pod}[/{uid}]/{container}
 *   GET|POST /portForward/{ns}/{pod}[/{uid}]
 * Errors are Kubernetes Status objects, as the API server relays them. */
#include "kubelet/server_int.h"
#include "pki/pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define KL_SEG_MAX 5          /* path segments after the verb */
#define KL_TASK_WAIT_MS 10000 /* sessions get this long to end at stop */

/* ---- requests and replies ------------------------------------------------------ */

const char *kl_arg(struct kl_req *q, const char *name)
{
    return MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *kl_header(struct kl_req *q, const char *name)
{
    return MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, name);
}

bool kl_arg_true(struct kl_req *q, const char *name)
{
    const char *v = kl_arg(q, name);
    return v && (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "True") ||
                 !strcmp(v, "TRUE") || !strcmp(v, "t"));
}

static void set_resp(struct kl_req *q, unsigned status, struct MHD_Response *r, const char *ctype)
{
    if (q->resp) MHD_destroy_response(q->resp);
    q->resp = r;
    q->status = status;
    MHD_add_response_header(r, "Content-Type", ctype);
    MHD_add_response_header(r, "Cache-Control", "no-cache, private");
}

void kl_reply_text(struct kl_req *q, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    set_resp(q, status, r, "text/plain; charset=utf-8");
}

char *kl_status_json(const char *status, enum sk_code code, const char *reason, const char *msg,
                     json_t *causes)
{
    json_t *st = json_pack("{s:s,s:s,s:{},s:s}", "kind", "Status", "apiVersion", "v1", "metadata",
                           "status", status);
    if (msg) json_object_set_new(st, "message", json_string(msg));
    if (reason) json_object_set_new(st, "reason", json_string(reason));
    if (causes) json_object_set_new(st, "details", json_pack("{s:o}", "causes", causes));
    if (code != SK_OK) json_object_set_new(st, "code", json_integer(sk_code_http(code)));
    char *s = json_dumps(st, JSON_COMPACT);
    json_decref(st);
    return s ? s : sk_strdup("{}");
}

void kl_reply_err(struct kl_req *q, const sk_err *err)
{
    enum sk_code code = err->code ? err->code : SK_EINTERNAL;
    char *s = kl_status_json("Failure", code, sk_code_reason(code), err->msg, NULL);
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
    set_resp(q, (unsigned)sk_code_http(code), r, "application/json");
}

void kl_reply_status(struct kl_req *q, enum sk_code code, const char *fmt, ...)
{
    sk_err err = SK_ERR_INIT;
    err.code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err.msg, sizeof err.msg, fmt, ap);
    va_end(ap);
    kl_reply_err(q, &err);
}

int kl_lookup(struct kl_req *q, const char *ns, const char *pod, const char *ctr,
              struct sk_kl_ctr_ref *ref)
{
    sk_err err = SK_ERR_INIT;
    memset(ref, 0, sizeof *ref);
    if (q->srv->cfg.lookup(q->srv->cfg.lookup_ud, ns, pod, ctr, ref, &err) < 0) {
        if (!err.code) err.code = SK_EINTERNAL;
        kl_reply_err(q, &err);
        sk_err_clear(&err);
        return -1;
    }
    return 0;
}

/* ---- sessions that outlive their request ------------------------------------------- */

bool kl_task_add(sk_kl_server *s, struct kl_task *t)
{
    pthread_mutex_lock(&s->mu);
    bool ok = !s->stopping;
    if (ok) {
        t->prev = NULL;
        t->next = s->tasks;
        if (s->tasks) s->tasks->prev = t;
        s->tasks = t;
        s->ntasks++;
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

void kl_task_remove(sk_kl_server *s, struct kl_task *t, struct MHD_UpgradeResponseHandle *urh)
{
    pthread_mutex_lock(&s->mu);
    if (urh) MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
    if (t->prev) t->prev->next = t->next;
    else s->tasks = t->next;
    if (t->next) t->next->prev = t->prev;
    s->ntasks--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Ends every session: flags them and shuts their sockets down, which
 * wakes their poll loops; waits for them to unregister. */
static void stop_tasks(sk_kl_server *s)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    int64_t deadline = sk_now_ms() + KL_TASK_WAIT_MS;
    while (s->ntasks > 0 && sk_now_ms() < deadline) {
        for (struct kl_task *t = s->tasks; t; t = t->next) {
            t->stop = 1;
            if (t->fd >= 0) shutdown(t->fd, SHUT_RDWR);
        }
        sk_cond_wait_ms(&s->cv, &s->mu, CLOCK_REALTIME, 200);
    }
    if (s->ntasks > 0) sk_log(SK_WARN, "kubelet", "server stop: %d sessions still running", s->ntasks);
    pthread_mutex_unlock(&s->mu);
}

/* ---- authentication and dispatch ----------------------------------------------------- */

static bool authorized(struct kl_req *q)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(q->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    sk_identity id;
    sk_err err = SK_ERR_INIT;
    if (!ci || !ci->tls_session ||
        sk_pki_peer_identity(ci->tls_session, q->srv->ca, &id, &err) < 0) {
        sk_log(SK_DEBUG, "kubelet", "%s %s: %s", q->method, q->url, err.msg[0] ? err.msg : "no TLS");
        sk_err_clear(&err);
        kl_reply_status(q, SK_EUNAUTHORIZED, "Unauthorized");
        return false;
    }
    if (strcmp(id.user, q->srv->cn) != 0) {
        const char *verb = !strcmp(q->method, "GET") ? "get" : "create";
        kl_reply_status(q, SK_EFORBIDDEN,
                        "Forbidden (user=%s, verb=%s, resource=nodes, subresource=proxy)", id.user,
                        verb);
        return false;
    }
    return true;
}

/* Splits "a/b/c" into at most KL_SEG_MAX non-empty segments of buf. */
static int split_path(char *buf, char **seg)
{
    int n = 0;
    for (char *p = buf; *p && n <= KL_SEG_MAX;) {
        char *slash = strchr(p, '/');
        if (slash) *slash = 0;
        if (*p) seg[n++] = p;
        if (!slash) break;
        p = slash + 1;
    }
    return n;
}

static bool prefix(const char *url, const char *p, const char **rest)
{
    size_t n = strlen(p);
    if (strncmp(url, p, n) != 0) return false;
    *rest = url + n;
    return true;
}

static void dispatch(struct kl_req *q)
{
    const char *rest = NULL;
    bool get = !strcmp(q->method, "GET"), post = !strcmp(q->method, "POST");
    if (!strcmp(q->url, "/healthz")) {
        kl_reply_text(q, 200, "ok");
        return;
    }
    enum { LOGS, EXEC, ATTACH, PF } kind;
    if (prefix(q->url, "/containerLogs/", &rest)) kind = LOGS;
    else if (prefix(q->url, "/exec/", &rest)) kind = EXEC;
    else if (prefix(q->url, "/attach/", &rest)) kind = ATTACH;
    else if (prefix(q->url, "/portForward/", &rest)) kind = PF;
    else {
        kl_reply_status(q, SK_ENOTFOUND, "the server could not find the requested resource");
        return;
    }
    if (!get && !(post && kind != LOGS)) {
        kl_reply_status(q, SK_ENOTALLOWED, "the server does not allow this method on the requested resource");
        return;
    }
    char buf[1024];
    char *seg[KL_SEG_MAX + 1] = {0};
    if (strlen(rest) >= sizeof buf) {
        kl_reply_status(q, SK_EBADREQUEST, "request path too long");
        return;
    }
    snprintf(buf, sizeof buf, "%s", rest);
    int n = split_path(buf, seg);
    if (kind == LOGS && (n == 2 || n == 3))
        kl_handle_logs(q, seg[0], seg[1], n == 3 ? seg[2] : NULL);
    else if ((kind == EXEC || kind == ATTACH) && (n == 3 || n == 4)) /* [uid/]container */
        kl_handle_exec(q, seg[0], seg[1], seg[n - 1], kind == ATTACH);
    else if (kind == PF && (n == 2 || n == 3))
        kl_handle_portforward(q, seg[0], seg[1]);
    else
        kl_reply_status(q, SK_ENOTFOUND, "the server could not find the requested resource");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **req_cls)
{
    (void)version;
    (void)data;
    struct kl_req *q = *req_cls;
    if (!q) {
        q = sk_calloc(1, sizeof *q);
        q->srv = cls;
        q->conn = conn;
        q->method = method;
        q->url = url;
        *req_cls = q;
        return MHD_YES;
    }
    if (*data_size) { /* no endpoint reads a body */
        *data_size = 0;
        return MHD_YES;
    }
    if (authorized(q)) dispatch(q);
    if (!q->resp) kl_reply_status(q, SK_EINTERNAL, "no reply");
    enum MHD_Result r = MHD_queue_response(conn, q->status, q->resp);
    MHD_destroy_response(q->resp);
    q->resp = NULL;
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct kl_req *q = *req_cls;
    if (!q) return;
    if (q->resp) MHD_destroy_response(q->resp);
    kl_session_free(q->session);
    free(q);
    *req_cls = NULL;
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n') msg[--n] = 0;
    sk_log(SK_DEBUG, "kubelet", "https: %s", msg);
}

/* ---- lifecycle ------------------------------------------------------------------------- */

static int bind_addr(const char *bind, int port, struct sockaddr_storage *ss, unsigned *flags,
                     sk_err *err)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, bind, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, bind, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        *flags |= MHD_USE_IPv6;
    } else {
        return sk_err_set(err, SK_EINVALID, "invalid bind address %s", bind);
    }
    return 0;
}

sk_kl_server *sk_kl_server_new(const struct sk_kl_server_config *cfg, sk_err *err)
{
    if (!cfg->cert_pem || !cfg->key_pem || !cfg->client_ca_pem || !cfg->allowed_cn ||
        !cfg->lookup) {
        sk_err_set(err, SK_EINVALID, "agent server: certificate, key, client CA, CN and lookup are required");
        return NULL;
    }
    if (cfg->port < 0 || cfg->port > 65535) {
        sk_err_set(err, SK_EINVALID, "agent server: invalid port %d", cfg->port);
        return NULL;
    }
    sk_kl_server *s = sk_calloc(1, sizeof *s);
    s->cfg = *cfg;
    s->cert = sk_strdup(cfg->cert_pem);
    s->key = sk_strdup(cfg->key_pem);
    s->ca = sk_strdup(cfg->client_ca_pem);
    s->cn = sk_strdup(cfg->allowed_cn);
    s->bind = sk_strdup(cfg->bind_address ? cfg->bind_address : "0.0.0.0");
    s->cfg.cert_pem = s->cert;
    s->cfg.key_pem = s->key;
    s->cfg.client_ca_pem = s->ca;
    s->cfg.allowed_cn = s->cn;
    s->cfg.bind_address = s->bind;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);

    struct sockaddr_storage ss;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_TLS |
                     MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG;
    if (bind_addr(s->bind, cfg->port, &ss, &flags, err) < 0) {
        sk_kl_server_free(s);
        return NULL;
    }
    /* MHD_OPTION_HTTPS_MEM_TRUST makes GnuTLS ask for a client
     * certificate; we verify it per request (authorized()). */
    s->mhd = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &ss,
        MHD_OPTION_HTTPS_MEM_CERT, s->cert, MHD_OPTION_HTTPS_MEM_KEY, s->key,
        MHD_OPTION_HTTPS_MEM_TRUST, s->ca, MHD_OPTION_HTTPS_PRIORITIES,
        "NORMAL:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1", MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)0, MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512 * 1024),
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000, MHD_OPTION_LISTENING_ADDRESS_REUSE,
        (unsigned)1, MHD_OPTION_END);
    if (!s->mhd) {
        sk_err_set(err, SK_EINTERNAL, "agent server: cannot listen on %s:%d (address in use?)",
                   s->bind, cfg->port);
        sk_kl_server_free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di && di->port ? di->port : cfg->port;
    return s;
}

int sk_kl_server_port(const sk_kl_server *s)
{
    return s ? s->port : -1;
}

void sk_kl_server_free(sk_kl_server *s)
{
    if (!s) return;
    /* Sessions first: MHD waits for upgraded connections to be closed. */
    stop_tasks(s);
    if (s->mhd) MHD_stop_daemon(s->mhd);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->cert);
    free(s->key);
    free(s->ca);
    free(s->cn);
    free(s->bind);
    free(s);
}
