/* The API server's node- and pod-facing subresources: lifecycle, request
 * helpers shared by the proxy files, and dispatch of pods/log, pods/exec,
 * pods/attach, pods/portforward, pods/proxy, services/proxy, nodes/proxy
 * (upstream: pkg/registry/core/{pod,node,service} connect REST).
 *
 * Partial, compared with upstream: HTML bodies are not rewritten (only
 * Location headers get the proxy prefix); proxied request bodies are
 * limited to the server's 3 MiB body cap; exec/attach/portforward pass the
 * client's query to the agent as sent (upstream re-encodes it with the
 * kubelet's legacy input/output/error names); loopback pod and node
 * addresses are allowed (see proxyable_ip). */
#include "apiserver/proxy_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

/* ---- lifecycle ------------------------------------------------------------- */

static int pem_memfd(const char *name, const char *pem, char *path, size_t n)
{
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0) return -1;
    size_t len = strlen(pem), off = 0;
    while (off < len) {
        ssize_t w = write(fd, pem + off, len - off);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    snprintf(path, n, "/proc/self/fd/%d", fd);
    return fd;
}

struct sk_kproxy *sk_kproxy_new(struct sk_apiserver *s, const struct sk_apiserver_config *cfg)
{
    struct sk_kproxy *px = sk_calloc(1, sizeof *px);
    px->srv = s;
    px->cert_fd = px->key_fd = -1;
    pthread_mutex_init(&px->lock, NULL);
    pthread_cond_init(&px->idle, NULL);
    if (cfg->kubelet_client_cert_pem && cfg->kubelet_client_key_pem) {
        px->cert_fd = pem_memfd("kubelet-client.crt", cfg->kubelet_client_cert_pem,
                                px->cert_path, sizeof px->cert_path);
        px->key_fd = pem_memfd("kubelet-client.key", cfg->kubelet_client_key_pem,
                               px->key_path, sizeof px->key_path);
        if (px->cert_fd < 0 || px->key_fd < 0) {
            sk_log(SK_ERROR, "apiserver", "cannot keep the kubelet client certificate: "
                   "pods/log, exec, attach, portforward and nodes/proxy will answer 503");
            if (px->cert_fd >= 0) close(px->cert_fd);
            if (px->key_fd >= 0) close(px->key_fd);
            px->cert_fd = px->key_fd = -1;
            px->cert_path[0] = px->key_path[0] = 0;
        }
    }
    /* The borrowed PEM pointers in the copied config must not be used later. */
    s->cfg.kubelet_client_cert_pem = NULL;
    s->cfg.kubelet_client_key_pem = NULL;
    return px;
}

void sk_kproxy_stop(struct sk_kproxy *px)
{
    if (!px) return;
    /* Tunnel threads poll srv->stopping (already set) every 250 ms. */
    pthread_mutex_lock(&px->lock);
    while (px->tunnels > 0) pthread_cond_wait(&px->idle, &px->lock);
    pthread_mutex_unlock(&px->lock);
}

void sk_kproxy_free(struct sk_kproxy *px)
{
    if (!px) return;
    sk_kproxy_stop(px);
    sk_tunnel_reap(px, true);
    if (px->cert_fd >= 0) close(px->cert_fd);
    if (px->key_fd >= 0) close(px->key_fd);
    pthread_mutex_destroy(&px->lock);
    pthread_cond_destroy(&px->idle);
    free(px);
}

void sk_proxy_kubelet_tls(struct sk_kproxy *px, CURL *c)
{
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    if (px->cert_path[0]) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, px->cert_path);
        curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(c, CURLOPT_SSLKEY, px->key_path);
        curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
    }
}

/* ---- request helpers ---------------------------------------------------------- */

void sk_proxy_status(struct sk_req *q, int code, const char *reason, const char *fmt, ...)
{
    /* messages may carry a backend's error body (up to 50000 bytes) */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    _sk_free_ char *msg = sk_malloc(n > 0 ? (size_t)n + 1 : 1);
    msg[0] = 0;
    va_start(ap, fmt);
    if (n > 0) vsnprintf(msg, (size_t)n + 1, fmt, ap);
    va_end(ap);
    json_t *probe = json_string(msg);
    if (!probe) /* not UTF-8 (a backend's body): keep it readable */
        for (char *p = msg; *p; p++)
            if ((unsigned char)*p >= 0x80) *p = '?';
    json_decref(probe);
    json_t *st = json_pack("{s:s,s:s,s:{},s:s,s:s,s:s,s:i}", "kind", "Status", "apiVersion", "v1",
                           "metadata", "status", "Failure", "message", msg, "reason",
                           reason ? reason : "", "code", code);
    if (!reason) json_object_del(st, "reason");
    sk_reply_json(q, (unsigned)code, st);
}

static bool path_char_ok(unsigned char c)
{
    return isalnum(c) || strchr("-._~/:@!$&'()*+,;=", c);
}

void sk_proxy_escape_path(sk_buf *b, const char *p)
{
    for (; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c && path_char_ok(c)) sk_buf_add(b, p, 1);
        else sk_buf_addf(b, "%%%02X", c);
    }
}

/* MHD hands out decoded arguments (it never turns '+' into a space), so
 * re-escaping everything but unreserved characters and '+' rebuilds an
 * equivalent query. */
static void escape_query_part(sk_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || strchr("-._~+/:@!$'()*,;", c)) sk_buf_add(b, s, 1);
        else sk_buf_addf(b, "%%%02X", c);
    }
}

struct query_ctx {
    sk_buf *b;
    bool first;
};

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    struct query_ctx *c = cls;
    sk_buf_adds(c->b, c->first ? "?" : "&");
    c->first = false;
    escape_query_part(c->b, key);
    if (value) {
        sk_buf_adds(c->b, "=");
        escape_query_part(c->b, value);
    }
    return MHD_YES;
}

void sk_proxy_add_query(struct sk_req *q, sk_buf *b)
{
    struct query_ctx c = {b, true};
    MHD_get_connection_values(q->conn, MHD_GET_ARGUMENT_KIND, add_arg, &c);
}

/* True when the comma-separated list holds token (case-insensitive). */
static bool has_token(const char *list, const char *token)
{
    size_t tl = strlen(token);
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        const char *e = p;
        while (*e && *e != ',') e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t')) t--;
        if ((size_t)(t - p) == tl && !strncasecmp(p, token, tl)) return true;
        p = e;
    }
    return false;
}

struct upg_ctx {
    bool found;
};

static enum MHD_Result find_upgrade(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    struct upg_ctx *c = cls;
    if (!strcasecmp(key, "Connection") && value && has_token(value, "upgrade")) c->found = true;
    return MHD_YES;
}

bool sk_proxy_is_upgrade(struct sk_req *q)
{
    struct upg_ctx c = {false};
    MHD_get_connection_values(q->conn, MHD_HEADER_KIND, find_upgrade, &c);
    return c.found;
}

void sk_proxy_client_ip(struct sk_req *q, char *out, size_t n)
{
    out[0] = 0;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(q->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr) return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)n);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)n);
}

bool sk_proxy_hop_header(const char *name, size_t len)
{
    static const char *const hop[] = {"Connection", "Proxy-Connection", "Keep-Alive",
                                      "Proxy-Authenticate", "Proxy-Authorization", "Te",
                                      "Trailer", "Transfer-Encoding", "Upgrade"};
    for (size_t i = 0; i < SK_ARRAY_LEN(hop); i++)
        if (strlen(hop[i]) == len && !strncasecmp(name, hop[i], len)) return true;
    return false;
}

struct hdr_ctx {
    struct curl_slist *l;
    bool keep_upgrade;
    const char *connection; /* tokens name more hop-by-hop headers */
    sk_buf xff;
};

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    struct hdr_ctx *c = cls;
    size_t kl = strlen(key);
    if (!value || !kl || strpbrk(key, "\r\n:") || strpbrk(value, "\r\n")) return MHD_YES;
    /* Credentials were consumed by authentication, as upstream's filter
     * removes Authorization before proxying. */
    if (!strcasecmp(key, "Authorization") || !strcasecmp(key, "Host") ||
        !strcasecmp(key, "Content-Length") || !strcasecmp(key, "Expect"))
        return MHD_YES;
    if (!strcasecmp(key, "X-Forwarded-For")) {
        if (c->xff.len) sk_buf_adds(&c->xff, ", ");
        sk_buf_adds(&c->xff, value);
        return MHD_YES;
    }
    bool upg = !strcasecmp(key, "Connection") || !strcasecmp(key, "Upgrade");
    if (!(c->keep_upgrade && upg)) {
        if (sk_proxy_hop_header(key, kl)) return MHD_YES;
        if (c->connection && has_token(c->connection, key)) return MHD_YES;
    }
    _sk_free_ char *line = sk_printf("%s: %s", key, value);
    c->l = curl_slist_append(c->l, line);
    return MHD_YES;
}

struct curl_slist *sk_proxy_fwd_headers(struct sk_req *q, bool keep_upgrade,
                                        struct curl_slist *l)
{
    struct hdr_ctx c = {l, keep_upgrade, sk_req_header(q, "Connection"), SK_BUF_INIT};
    MHD_get_connection_values(q->conn, MHD_HEADER_KIND, add_header, &c);
    char ip[INET6_ADDRSTRLEN];
    sk_proxy_client_ip(q, ip, sizeof ip);
    if (ip[0]) {
        if (c.xff.len) sk_buf_adds(&c.xff, ", ");
        sk_buf_adds(&c.xff, ip);
    }
    if (c.xff.len) {
        _sk_free_ char *line = sk_printf("X-Forwarded-For: %s", c.xff.data);
        c.l = curl_slist_append(c.l, line);
    }
    sk_buf_release(&c.xff);
    return c.l;
}

/* ---- dispatch ------------------------------------------------------------------ */

bool sk_proxy_handle(struct sk_req *q, struct sk_route *rt)
{
    const struct sk_resource *r = rt->res;
    if (r->group[0] || !rt->has_name) return false;
    const char *sub = rt->sub;
    bool ours = (!strcmp(r->plural, "pods") &&
                 (!strcmp(sub, "log") || !strcmp(sub, "exec") || !strcmp(sub, "attach") ||
                  !strcmp(sub, "portforward") || !strcmp(sub, "proxy"))) ||
                (!strcmp(sub, "proxy") && (!strcmp(r->plural, "services") || !strcmp(r->plural, "nodes")));
    if (ours && q->local) { /* streams need the connection */
        sk_reply_status(q, SK_EBADREQUEST, "%s/%s is served over HTTPS only", r->plural, sub);
        return true;
    }
    if (!strcmp(r->plural, "pods")) {
        if (!strcmp(sub, "log")) sk_proxy_pod_log(q, rt);
        else if (!strcmp(sub, "exec") || !strcmp(sub, "attach") || !strcmp(sub, "portforward"))
            sk_proxy_pod_stream(q, rt);
        else if (!strcmp(sub, "proxy")) sk_proxy_pod_proxy(q, rt);
        else return false;
        return true;
    }
    if (!strcmp(sub, "proxy") && !strcmp(r->plural, "services")) {
        sk_proxy_service_proxy(q, rt);
        return true;
    }
    if (!strcmp(sub, "proxy") && !strcmp(r->plural, "nodes")) {
        sk_proxy_node_proxy(q, rt);
        return true;
    }
    return false;
}
