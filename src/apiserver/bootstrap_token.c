/* Bootstrap tokens (upstream plugin/pkg/auth/authenticator/token/bootstrap):
 * a joining node presents "<id>.<secret>" before it has a certificate.
 * The token lives in the kube-system Secret bootstrap-token-<id>, read
 * straight from the store (we are the API server) and cached for a few
 * seconds so a burst of requests costs one read; expiry is checked on
 * every request. Such an identity is then confined to what upstream's
 * system:node-bootstrapper role grants: a fixed rule, as this API server
 * has no RBAC yet (other identities are not restricted at all). */
#include "apiserver/bootstrap_token.h"

#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define CACHE_TTL_MS 5000
#define CACHE_SLOTS 32
#define EXTRA_GROUP_PREFIX "system:bootstrappers:"

struct tok_entry {
    const struct sk_apiserver *srv;
    char id[7];
    int64_t fetched_ms; /* monotonic; 0 = empty slot */
    bool usable;        /* Secret present, right type, usage set, groups valid */
    char secret[17];
    int64_t expires;    /* unix seconds, 0 = never, -1 = unparsable (expired) */
    sk_identity ident;
};

/* A cache is the one shared mutable thing here; the lock guards it alone. */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tok_entry cache[CACHE_SLOTS];

static bool all_in(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9'))) return false;
    return true;
}

/* "[a-z0-9]{6}.[a-z0-9]{16}" as upstream's bootstraptokenutil.ParseToken. */
static bool parse_token(const char *t, char id[7], char secret[17])
{
    if (strlen(t) != 23 || t[6] != '.' || !all_in(t, 6) || !all_in(t + 7, 16)) return false;
    memcpy(id, t, 6);
    id[6] = 0;
    memcpy(secret, t + 7, 16);
    secret[16] = 0;
    return true;
}

static bool equal_ct(const char *a, const char *b, size_t n)
{
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++) d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

/* Decoded data[key] of a Secret, or NULL. stringData is read too: this
 * API server stores it as written (kubeadm's docs create tokens so). */
static char *secret_data(const json_t *sec, const char *key)
{
    const char *v = sk_json_str(json_object_get(sec, "data"), key);
    if (!v) {
        v = sk_json_str(json_object_get(sec, "stringData"), key);
        return v ? sk_strdup(v) : NULL;
    }
    sk_err err = SK_ERR_INIT;
    char *d = sk_pki_base64_decode(v, NULL, &err);
    sk_err_clear(&err);
    return d;
}

static bool extra_group_ok(const char *g)
{
    size_t n = strlen(g), p = strlen(EXTRA_GROUP_PREFIX);
    if (n <= p || n > p + 256 || strncmp(g, EXTRA_GROUP_PREFIX, p)) return false;
    for (size_t i = p; i < n; i++)
        if (!((g[i] >= 'a' && g[i] <= 'z') || (g[i] >= '0' && g[i] <= '9') || g[i] == ':' ||
              g[i] == '-'))
            return false;
    return g[n - 1] != ':' && g[n - 1] != '-';
}

static void add_group(sk_identity *id, const char *g)
{
    for (int i = 0; i < id->ngroups; i++)
        if (!strcmp(id->groups[i], g)) return;
    snprintf(id->groups[id->ngroups++], sizeof id->groups[0], "%s", g);
}

/* Groups: system:bootstrappers, then auth-extra-groups (comma-separated;
 * one invalid name rejects the token, as upstream), system:authenticated. */
static bool fill_groups(sk_identity *id, const char *extra)
{
    add_group(id, "system:bootstrappers");
    for (const char *p = extra ? extra : ""; *p;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        while (len && *p == ' ') p++, len--;
        while (len && p[len - 1] == ' ') len--;
        char g[sizeof id->groups[0]];
        if (len) {
            if (len >= sizeof g || id->ngroups >= (int)SK_ARRAY_LEN(id->groups) - 1) return false;
            memcpy(g, p, len);
            g[len] = 0;
            if (!extra_group_ok(g)) return false;
            add_group(id, g);
        }
        if (!c) break;
        p = c + 1;
    }
    add_group(id, "system:authenticated");
    return true;
}

static void load_entry(struct sk_apiserver *s, struct tok_entry *e)
{
    const struct sk_resource *r = sk_resource_find("", "v1", "secrets");
    _sk_free_ char *name = sk_printf("bootstrap-token-%s", e->id);
    sk_err err = SK_ERR_INIT;
    _sk_json_ json_t *sec = sk_rest_read(s, r, "kube-system", name, NULL, &err);
    sk_err_clear(&err);
    e->usable = false;
    if (!sec || sk_json_path(sec, "metadata.deletionTimestamp")) return;
    const char *type = sk_json_str(sec, "type");
    if (!type || strcmp(type, "bootstrap.kubernetes.io/token")) return;
    _sk_free_ char *tid = secret_data(sec, "token-id");
    _sk_free_ char *tsec = secret_data(sec, "token-secret");
    _sk_free_ char *usage = secret_data(sec, "usage-bootstrap-authentication");
    _sk_free_ char *exp = secret_data(sec, "expiration");
    _sk_free_ char *extra = secret_data(sec, "auth-extra-groups");
    if (!tid || strcmp(tid, e->id) || !tsec || strlen(tsec) != 16 || !usage ||
        strcmp(usage, "true"))
        return;
    memcpy(e->secret, tsec, 17);
    e->expires = exp ? sk_time_parse(exp) : 0;
    memset(&e->ident, 0, sizeof e->ident);
    snprintf(e->ident.user, sizeof e->ident.user, SK_BOOTSTRAP_USER_PREFIX "%s", e->id);
    e->usable = fill_groups(&e->ident, extra);
}

bool sk_bootstrap_token_auth(struct sk_apiserver *s, const char *token, sk_identity *id)
{
    char tid[7], tsec[17];
    if (!token || !parse_token(token, tid, tsec)) return false;
    int64_t now = sk_now_ms();
    struct tok_entry e = {0};
    bool hit = false;
    pthread_mutex_lock(&cache_lock);
    size_t victim = 0;
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        struct tok_entry *c = &cache[i];
        if (c->fetched_ms && c->srv == s && !strcmp(c->id, tid) &&
            now - c->fetched_ms < CACHE_TTL_MS) {
            e = *c;
            hit = true;
            break;
        }
        if (c->fetched_ms < cache[victim].fetched_ms) victim = i;
    }
    pthread_mutex_unlock(&cache_lock);
    if (!hit) {
        /* Read outside the lock: the store may block on a commit. */
        e.srv = s;
        memcpy(e.id, tid, sizeof tid);
        load_entry(s, &e);
        e.fetched_ms = now ? now : 1;
        pthread_mutex_lock(&cache_lock);
        cache[victim] = e;
        pthread_mutex_unlock(&cache_lock);
    }
    bool ok = e.usable && equal_ct(e.secret, tsec, 16) &&
              (e.expires == 0 || (e.expires > 0 && e.expires > sk_wall_ms() / 1000));
    if (ok) *id = e.ident;
    gnutls_memset(&e, 0, sizeof e);
    return ok;
}

/* ---- what a bootstrap identity may do ------------------------------------- */

#define CSR_PATH "/apis/certificates.k8s.io/v1/certificatesigningrequests"

static bool path_eq(const char *url, const char *p)
{
    size_t n = strlen(p);
    return !strncmp(url, p, n) && (url[n] == 0 || url[n] == '?');
}

static bool allowed(const char *m, const char *url)
{
    bool get = !strcmp(m, "GET") || !strcmp(m, "HEAD");
    if (get && (path_eq(url, "/api") || path_eq(url, "/apis") || path_eq(url, "/version") ||
                path_eq(url, "/api/v1") || path_eq(url, "/apis/certificates.k8s.io") ||
                path_eq(url, "/apis/certificates.k8s.io/v1") || !strncmp(url, "/openapi/", 9)))
        return true;
    if (path_eq(url, CSR_PATH)) return get || !strcmp(m, "POST");
    size_t n = strlen(CSR_PATH);
    if (get && !strncmp(url, CSR_PATH "/", n + 1)) {
        const char *name = url + n + 1;
        size_t len = strcspn(name, "?");
        return len > 0 && !memchr(name, '/', len); /* the object, no subresource */
    }
    return false;
}

static const char *verb_of(struct sk_req *q, const struct sk_route *rt)
{
    const char *m = q->method;
    if (!strcmp(m, "GET")) return rt->has_name ? "get" : sk_req_arg_true(q, "watch") ? "watch" : "list";
    if (!strcmp(m, "POST")) return "create";
    if (!strcmp(m, "PUT")) return "update";
    if (!strcmp(m, "PATCH")) return "patch";
    if (!strcmp(m, "DELETE")) return rt->has_name ? "delete" : "deletecollection";
    return "access";
}

bool sk_bootstrap_token_permit(struct sk_req *q)
{
    if (strncmp(q->id.user, SK_BOOTSTRAP_USER_PREFIX, strlen(SK_BOOTSTRAP_USER_PREFIX)) ||
        allowed(q->method, q->url))
        return true;
    struct sk_route rt;
    char *g = NULL, *v = NULL;
    int rc = sk_route_parse(q->url, &rt, &g, &v);
    free(g);
    free(v);
    /* Messages as upstream's RBAC authorizer words them. */
    if (rc == 0 && rt.res) {
        char qn[160], res[160], scope[300];
        sk_res_qualified(rt.res, qn, sizeof qn);
        snprintf(res, sizeof res, "%s%s%s", rt.res->plural, rt.sub[0] ? "/" : "", rt.sub);
        if (rt.has_ns) snprintf(scope, sizeof scope, "in the namespace \"%s\"", rt.ns);
        else snprintf(scope, sizeof scope, "at the cluster scope");
        sk_reply_status(q, SK_EFORBIDDEN,
                        "%s%s%s%s is forbidden: User \"%s\" cannot %s resource \"%s\" in API group "
                        "\"%s\" %s",
                        qn, rt.has_name ? " \"" : "", rt.has_name ? rt.name : "",
                        rt.has_name ? "\"" : "", q->id.user, verb_of(q, &rt), res, rt.res->group,
                        scope);
    } else {
        sk_reply_status(q, SK_EFORBIDDEN, "forbidden: User \"%s\" cannot %s path \"%s\"",
                        q->id.user, !strcmp(q->method, "GET") ? "get" : "access", q->url);
    }
    return false;
}

void sk_handle_cacerts(struct sk_req *q)
{
    if (strcmp(q->method, "GET") && strcmp(q->method, "HEAD")) {
        sk_reply_status(q, SK_ENOTALLOWED, "the server does not allow this method on the requested resource");
        return;
    }
    const char *ca = q->srv->ca_pem ? q->srv->ca_pem : "";
    sk_reply_buf(q, 200, "text/plain; charset=utf-8", ca, strlen(ca));
}
