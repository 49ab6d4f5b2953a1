/* HTTPS front: libmicrohttpd daemon (one thread per connection), request
 * bodies, authentication, dispatch to discovery or REST handlers. */
#include "apiserver/apiserver_int.h"
#include "apiserver/bootstrap_token.h" /* join: bootstrap tokens, /cacerts */

#include <errno.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>

/* Per-connection state: the TLS identity is verified once per connection. */
struct conn_ctx {
    bool verified;
    bool ok;
    sk_identity id;
};

const char *sk_req_arg(struct sk_req *q, const char *name)
{
    if (q->local) return sk_local_arg(q->local, name);
    return MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *sk_req_header(struct sk_req *q, const char *name)
{
    if (q->local) /* in-process: JSON in, JSON out */
        return !strcasecmp(name, "Content-Type") ? q->local->ctype : NULL;
    return MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, name);
}

bool sk_req_has_body(struct sk_req *q)
{
    return q->local ? q->local->body != NULL : q->body.len > 0;
}

/* In-process replies keep the value or the bytes. */
static void local_reply(struct sk_req *q, unsigned status, json_t *body, const char *data,
                        size_t len)
{
    json_decref(q->local->reply);
    q->local->reply = body;
    q->local->raw.len = 0;
    if (data) sk_buf_add(&q->local->raw, data, len);
    q->status = status;
}

bool sk_req_arg_true(struct sk_req *q, const char *name)
{
    const char *v = sk_req_arg(q, name);
    return v && (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "True"));
}

bool sk_req_wants_table(struct sk_req *q)
{
    const char *a = sk_req_header(q, "Accept");
    return a && strstr(a, "as=Table");
}

void sk_req_warn(struct sk_req *q, const char *fmt, ...)
{
    char m[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    if (q->warnings.len) sk_buf_adds(&q->warnings, "\n");
    /* RFC 7234 warn-text is a quoted-string: escape quotes and backslashes */
    sk_buf_adds(&q->warnings, "299 - \"");
    for (const char *p = m; *p; p++) {
        if (*p == '"' || *p == '\\') sk_buf_add(&q->warnings, "\\", 1);
        if (*p != '\n') sk_buf_add(&q->warnings, p, 1);
    }
    sk_buf_adds(&q->warnings, "\"");
}

void sk_reply_buf(struct sk_req *q, unsigned status, const char *ctype, const char *data,
                  size_t len)
{
    if (q->local) {
        local_reply(q, status, NULL, data, len);
        return;
    }
    if (q->resp) MHD_destroy_response(q->resp);
    q->resp = MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(q->resp, "Content-Type", ctype);
    MHD_add_response_header(q->resp, "Cache-Control", "no-cache, private");
    q->status = status;
}

void sk_reply_take(struct sk_req *q, unsigned status, const char *ctype, sk_buf *b)
{
    if (q->local) {
        local_reply(q, status, NULL, b->data, b->len);
        sk_buf_release(b);
        return;
    }
    size_t n = b->len;
    char *d = sk_buf_take(b);
    if (q->resp) MHD_destroy_response(q->resp);
    q->resp = MHD_create_response_from_buffer(n, d, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(q->resp, "Content-Type", ctype);
    MHD_add_response_header(q->resp, "Cache-Control", "no-cache, private");
    q->status = status;
}

void sk_reply_json(struct sk_req *q, unsigned status, json_t *body)
{
    sk_reply_json_ct(q, status, body, "application/json");
}

void sk_reply_json_ct(struct sk_req *q, unsigned status, json_t *body, const char *ctype)
{
    if (q->local) {
        local_reply(q, status, body, NULL, 0);
        return;
    }
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!s) {
        sk_reply_buf(q, 500, "text/plain", "encoding failed\n", 16);
        return;
    }
    size_t n = strlen(s);
    if (q->resp) MHD_destroy_response(q->resp);
    q->resp = MHD_create_response_from_buffer(n, s, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(q->resp, "Content-Type", ctype);
    MHD_add_response_header(q->resp, "Cache-Control", "no-cache, private");
    q->status = status;
}

void sk_res_qualified(const struct sk_resource *r, char *buf, size_t n)
{
    if (r->group[0]) snprintf(buf, n, "%s.%s", r->plural, r->group);
    else snprintf(buf, n, "%s", r->plural);
}

void sk_reply_err(struct sk_req *q, const sk_err *err, const struct sk_route *rt)
{
    enum sk_code code = err->code ? err->code : SK_EINTERNAL;
    json_t *st = json_pack("{s:s,s:s,s:{},s:s,s:s,s:s,s:i}", "kind", "Status", "apiVersion", "v1",
                           "metadata", "status", "Failure", "message", err->msg, "reason",
                           sk_code_reason(code), "code", sk_code_http(code));
    json_t *details = json_object();
    if (rt && rt->res) {
        if (rt->name[0]) json_object_set_new(details, "name", json_string(rt->name));
        if (rt->res->group[0]) json_object_set_new(details, "group", json_string(rt->res->group));
        json_object_set_new(details, "kind", json_string(rt->res->plural));
    }
    if (err->causes) json_object_set(details, "causes", err->causes);
    if (json_object_size(details)) json_object_set_new(st, "details", details);
    else json_decref(details);
    sk_reply_json(q, (unsigned)sk_code_http(code), st);
}

void sk_reply_status(struct sk_req *q, enum sk_code code, const char *fmt, ...)
{
    sk_err err = SK_ERR_INIT;
    err.code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err.msg, sizeof err.msg, fmt, ap);
    va_end(ap);
    sk_reply_err(q, &err, NULL);
}

/* ---- authentication ------------------------------------------------------- */

/* Equal strings, in time that does not depend on where they differ. */
static bool token_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = la != lb;
    for (size_t i = 0; i < lb; i++) diff |= (unsigned char)(b[i] ^ (i < la ? a[i] : 0));
    return diff == 0;
}

static bool authenticate(struct sk_req *q, struct conn_ctx *cc)
{
    const char *auth = sk_req_header(q, "Authorization");
    if (auth && !strncasecmp(auth, "Bearer ", 7)) {
        const char *tok = auth + 7;
        for (size_t i = 0; i < q->srv->ntokens; i++) {
            if (token_equal(tok, q->srv->tokens[i].token)) {
                q->id = q->srv->tokens[i].id;
                return true;
            }
        }
        return sk_bootstrap_token_auth(q->srv, tok, &q->id); /* joining nodes */
    }
    if (cc && cc->verified) {
        q->id = cc->id;
        return cc->ok;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(q->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    bool ok = false;
    if (ci && ci->tls_session) {
        sk_err err = SK_ERR_INIT;
        ok = sk_pki_peer_identity(ci->tls_session, q->srv->ca_pem, &q->id, &err) == 0;
        sk_err_clear(&err);
    }
    if (cc) {
        cc->verified = true;
        cc->ok = ok;
        cc->id = q->id;
    }
    return ok;
}

/* ---- dispatch ------------------------------------------------------------- */

static bool path_is(const char *url, const char *p)
{
    size_t n = strlen(p);
    return !strncmp(url, p, n) && (url[n] == 0 || url[n] == '?');
}

void sk_dispatch(struct sk_req *q)
{
    const char *url = q->url;
    if (path_is(url, "/cacerts")) { /* join: CA discovery, pinned by the token's hash */
        sk_handle_cacerts(q);
        return;
    }
    if (path_is(url, "/healthz") || path_is(url, "/livez") || path_is(url, "/readyz")) {
        sk_reply_buf(q, 200, "text/plain; charset=utf-8", "ok", 2);
        return;
    }
    if (path_is(url, "/version")) {
        json_t *v = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "major", q->srv->major,
                              "minor", q->srv->minor, "gitVersion", q->srv->git_version,
                              "gitCommit", "skiff", "gitTreeState", "clean", "buildDate",
                              "2026-11-28T00:00:00Z", "goVersion", "n/a (C11)", "compiler",
                              "gcc", "platform", "linux/amd64");
        sk_reply_json(q, 200, v);
        return;
    }
    bool disc = !strncmp(url, "/openapi/", 9) || path_is(url, "/api") || path_is(url, "/apis") ||
                !strcmp(url, "/");
    if (disc && q->local) {
        sk_reply_status(q, SK_ENOTFOUND, "discovery is served over HTTPS only");
        return;
    }
    if (disc) {
        sk_handle_discovery(q, url);
        return;
    }
    struct sk_route rt;
    char *g = NULL, *v = NULL;
    int rc = sk_route_parse(url, &rt, &g, &v);
    if (rc == 1) { /* group-version discovery */
        if (q->local) sk_reply_status(q, SK_ENOTFOUND, "discovery is served over HTTPS only");
        else sk_handle_discovery(q, url);
        free(g);
        free(v);
        return;
    }
    free(g);
    free(v);
    if (rc < 0) {
        sk_reply_status(q, SK_ENOTFOUND, "the server could not find the requested resource");
        return;
    }
    sk_handle_resource(q, &rt);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **req_cls)
{
    struct sk_apiserver *s = cls;
    struct sk_req *q = *req_cls;
    if (!q) {
        q = sk_calloc(1, sizeof *q);
        q->srv = s;
        q->conn = conn;
        q->method = method;
        q->url = url;
        *req_cls = q;
        return MHD_YES;
    }
    if (*data_size) {
        if (q->body.len + *data_size > SK_MAX_BODY) q->too_large = true;
        else sk_buf_add(&q->body, data, *data_size);
        *data_size = 0;
        return MHD_YES;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn_ctx *cc = ci ? ci->socket_context : NULL;
    /* Health endpoints and /version are public, as upstream serves them to
     * anyone (system:public-info-viewer). */
    bool health = path_is(url, "/healthz") || path_is(url, "/livez") || path_is(url, "/readyz") ||
                  path_is(url, "/version");
    health = health || path_is(url, "/cacerts"); /* join: the public CA bundle */
    if (!health && !authenticate(q, cc)) {
        sk_reply_status(q, SK_EUNAUTHORIZED, "Unauthorized");
    } else if (!health && !sk_bootstrap_token_permit(q)) {
        /* join: replied 403; bootstrap tokens only create and read CSRs */
    } else if (q->too_large) {
        sk_reply_status(q, SK_ETOOLARGE, "Request entity too large: limit is 3145728");
    } else {
        sk_dispatch(q);
    }
    if (!q->resp) sk_reply_status(q, SK_EINTERNAL, "no reply");
    if (q->warnings.len) {
        char *w = q->warnings.data, *nl;
        while ((nl = strchr(w, '\n'))) {
            *nl = 0;
            MHD_add_response_header(q->resp, "Warning", w);
            w = nl + 1;
        }
        MHD_add_response_header(q->resp, "Warning", w);
    }
    enum MHD_Result r = MHD_queue_response(conn, q->status, q->resp);
    MHD_destroy_response(q->resp);
    q->resp = NULL;
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct sk_req *q = *req_cls;
    if (!q) return;
    sk_buf_release(&q->body);
    sk_buf_release(&q->warnings);
    if (q->resp) MHD_destroy_response(q->resp);
    free(q);
    *req_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_ctx = sk_calloc(1, sizeof(struct conn_ctx));
    } else {
        free(*socket_ctx);
        *socket_ctx = NULL;
    }
}

static void load_tokens(struct sk_apiserver *s, const char *path)
{
    sk_err err = SK_ERR_INIT;
    _sk_free_ char *text = sk_read_file(path, NULL, &err);
    if (!text) return;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[8] = {0};
        int nf = 0;
        char *s2 = NULL;
        for (char *p = strtok_r(line, ",", &s2); p && nf < 8; p = strtok_r(NULL, ",", &s2))
            f[nf++] = p;
        if (nf < 2) continue;
        s->tokens = sk_realloc(s->tokens, (s->ntokens + 1) * sizeof *s->tokens);
        struct sk_token *t = &s->tokens[s->ntokens++];
        memset(t, 0, sizeof *t);
        t->token = sk_strdup(f[0]);
        snprintf(t->id.user, sizeof t->id.user, "%s", f[1]);
        for (int i = 3; i < nf && t->id.ngroups < 8; i++)
            snprintf(t->id.groups[t->id.ngroups++], sizeof t->id.groups[0], "%s", f[i]);
    }
}

sk_apiserver *sk_apiserver_new(const struct sk_apiserver_config *cfg, sk_store *store,
                               sk_err *err)
{
    struct sk_apiserver *s = sk_calloc(1, sizeof *s);
    s->cfg = *cfg;
    s->cert_pem = sk_strdup(cfg->cert_pem);
    s->key_pem = sk_strdup(cfg->key_pem);
    s->ca_pem = sk_strdup(cfg->ca_pem);
    s->git_version = sk_strdup(cfg->git_version ? cfg->git_version : "v1.32.0+skiff.1");
    s->major = sk_strdup(cfg->major ? cfg->major : "1");
    s->minor = sk_strdup(cfg->minor ? cfg->minor : "32");
    s->bind = sk_strdup(cfg->bind_address ? cfg->bind_address : "127.0.0.1");
    s->cfg.bind_address = s->bind;
    s->store = store;
    snprintf(s->server_address, sizeof s->server_address, "%s:%d", s->bind, cfg->port);
    s->svc_cidr = sk_strdup(cfg->service_cidr ? cfg->service_cidr : "10.96.0.0/12");
    s->np_min = cfg->node_port_min ? cfg->node_port_min : 30000;
    s->np_max = cfg->node_port_max ? cfg->node_port_max : 32767;
    s->advertise = sk_strdup(cfg->advertise_address ? cfg->advertise_address
                             : (!strcmp(s->bind, "0.0.0.0") || !strcmp(s->bind, "::")) ? "127.0.0.1" : s->bind);
    if (sk_svc_parse_cidr(s, s->svc_cidr, err) < 0) {
        sk_apiserver_free(s);
        return NULL;
    }
    if (cfg->token_file) load_tokens(s, cfg->token_file);
    s->bc = sk_broadcaster_new(store);
    s->proxy = sk_kproxy_new(s, cfg);
    return s;
}

int sk_apiserver_start(sk_apiserver *s, sk_err *err)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_TLS | MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE; /* exec, attach, portforward */
    if (inet_pton(AF_INET, s->bind, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)s->cfg.port);
    } else if (inet_pton(AF_INET6, s->bind, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)s->cfg.port);
        flags |= MHD_USE_IPv6;
    } else {
        return sk_err_set(err, SK_EINVALID, "invalid --bind-address %s", s->bind);
    }
    if (sk_rest_bootstrap(s, err) < 0) return -1;
    s->mhd = MHD_start_daemon(
        flags, (uint16_t)s->cfg.port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &ss,
        MHD_OPTION_HTTPS_MEM_CERT, s->cert_pem, MHD_OPTION_HTTPS_MEM_KEY, s->key_pem,
        MHD_OPTION_HTTPS_MEM_TRUST, s->ca_pem, MHD_OPTION_HTTPS_PRIORITIES,
        "NORMAL:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1", MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0, MHD_OPTION_THREAD_STACK_SIZE,
        (size_t)(512 * 1024), MHD_OPTION_CONNECTION_LIMIT, (unsigned)4000,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    if (!s->mhd)
        return sk_err_set(err, SK_EINTERNAL, "cannot listen on %s:%d (address in use?)", s->bind,
                          s->cfg.port);
    return 0;
}

void sk_apiserver_stop(sk_apiserver *s)
{
    if (!s || !s->mhd) return;
    s->stopping = 1;
    sk_broadcaster_shutdown(s->bc);
    sk_kproxy_stop(s->proxy); /* upgraded connections must close before the daemon stops */
    MHD_stop_daemon(s->mhd);
    s->mhd = NULL;
}

void sk_apiserver_free(sk_apiserver *s)
{
    if (!s) return;
    sk_apiserver_stop(s);
    sk_broadcaster_free(s->bc);
    sk_kproxy_free(s->proxy);
    for (size_t i = 0; i < s->ntokens; i++) free(s->tokens[i].token);
    free(s->tokens);
    free(s->cert_pem);
    free(s->key_pem);
    free(s->ca_pem);
    free(s->git_version);
    free(s->major);
    free(s->minor);
    free(s->bind);
    free(s->svc_cidr);
    free(s->advertise);
    free(s);
}
