/* A container's environment as the v1.32 kubelet builds it
 * (kubelet_pods.go makeEnvironmentVariables, envvars.FromServices) and
 * containerd merges it with the image's: HOSTNAME, image env, then the
 * container config's variables replacing same-named ones.
 *
 * Upstream returns the variables in Go map order; we keep a stable one
 * (service links, then envFrom and env in declaration order): the set of
 * values is the same. ConfigMaps and Secrets are fetched through the getter
 * on every build (no cache across builds), each at most once per build. */
#include "kubelet/spec_int.h"

#include <ctype.h>
#include <gnutls/gnutls.h>
#include <string.h>

struct env_list {
    char **name, **val;
    size_t n, cap;
    json_t *index; /* name -> position */
};

struct sk_kl_env {
    struct env_list tmp; /* envFrom + env: upstream's tmpEnv */
    struct env_list svc; /* service links */
    char *hostname;
};

static void el_init(struct env_list *l)
{
    memset(l, 0, sizeof *l);
    l->index = json_object();
}

static void el_release(struct env_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->name[i]);
        free(l->val[i]);
    }
    free(l->name);
    free(l->val);
    json_decref(l->index);
}

static const char *el_get(const struct env_list *l, const char *name)
{
    json_t *ix = json_object_get(l->index, name);
    return ix ? l->val[json_integer_value(ix)] : NULL;
}

static void el_set(struct env_list *l, const char *name, const char *val)
{
    json_t *ix = json_object_get(l->index, name);
    if (ix) {
        size_t i = (size_t)json_integer_value(ix);
        free(l->val[i]);
        l->val[i] = sk_strdup(val);
        return;
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->name = sk_realloc(l->name, l->cap * sizeof *l->name);
        l->val = sk_realloc(l->val, l->cap * sizeof *l->val);
    }
    l->name[l->n] = sk_strdup(name);
    l->val[l->n] = sk_strdup(val);
    json_object_set_new(l->index, name, json_integer((json_int_t)l->n));
    l->n++;
}

int sk_kl_base64_decode(const char *in, char **out, size_t *len)
{
    size_t n = strlen(in);
    if (n == 0) {
        *out = sk_strdup("");
        *len = 0;
        return 0;
    }
    gnutls_datum_t src = {(unsigned char *)in, (unsigned)n}, dst = {NULL, 0};
    if (n > UINT32_MAX / 2 || gnutls_base64_decode2(&src, &dst) < 0) return -1;
    *out = sk_malloc(dst.size + 1);
    memcpy(*out, dst.data, dst.size);
    (*out)[dst.size] = 0;
    *len = dst.size;
    gnutls_free(dst.data);
    return 0;
}

json_t *sk_kl_client_get(void *ud, const char *kind, const char *ns, const char *name, sk_err *err)
{
    sk_client *c = ud;
    if (!c) {
        sk_err_set(err, SK_ENOTFOUND, "%s \"%s\" not found", kind, name);
        return NULL;
    }
    const struct sk_resource *r =
        sk_resource_find("", "v1", !strcmp(kind, "secret") ? "secrets" : "configmaps");
    json_t *o = r ? sk_client_get(c, r, ns, name, err) : NULL;
    if (!r) sk_err_set(err, SK_EINTERNAL, "no %s resource", kind);
    else if (!o && err->code == SK_ENOTFOUND)
        sk_err_set(err, SK_ENOTFOUND, "%s \"%s\" not found", kind, name); /* the kubelet's wording */
    return o;
}

char *sk_kl_pod_hostname(const json_t *pod)
{
    char buf[256] = "";
    const char *h = sk_json_path_str(pod, "spec.hostname");
    if (json_is_true(sk_json_path(pod, "spec.hostNetwork"))) {
        if (gethostname(buf, sizeof buf - 1) == 0) h = buf;
    } else if (!h || !*h) {
        h = sk_json_path_str(pod, "metadata.name");
    }
    char *s = sk_strndup(h ? h : "", 63); /* truncatePodHostnameIfNeeded */
    for (size_t n = strlen(s); n && (s[n - 1] == '-' || s[n - 1] == '.'); n--) s[n - 1] = 0;
    return s;
}

/* ---- service links ------------------------------------------------------------- */

static char *svc_var_name(const char *s)
{
    char *v = sk_strdup(s);
    for (char *c = v; *c; c++) *c = *c == '-' ? '_' : (char)toupper((unsigned char)*c);
    return v;
}

static void add_service(struct env_list *l, const json_t *svc)
{
    const char *name = sk_json_path_str(svc, "metadata.name");
    const char *ip = sk_json_path_str(svc, "spec.clusterIP");
    json_t *ports = sk_json_path(svc, "spec.ports");
    _sk_free_ char *pfx = svc_var_name(name);
    char k[512], v[512], host[128];
    snprintf(host, sizeof host, strchr(ip, ':') ? "[%s]" : "%s", ip); /* net.JoinHostPort */
    snprintf(k, sizeof k, "%s_SERVICE_HOST", pfx);
    el_set(l, k, ip);
    snprintf(k, sizeof k, "%s_SERVICE_PORT", pfx);
    snprintf(v, sizeof v, "%lld", (long long)json_integer_value(sk_json_path(json_array_get(ports, 0), "port")));
    el_set(l, k, v);
    size_t i;
    json_t *p;
    json_array_foreach(ports, i, p) {
        const char *pn = sk_json_str(p, "name");
        if (!pn || !*pn) continue;
        _sk_free_ char *pv = svc_var_name(pn);
        snprintf(k, sizeof k, "%s_SERVICE_PORT_%s", pfx, pv);
        snprintf(v, sizeof v, "%lld", (long long)json_integer_value(json_object_get(p, "port")));
        el_set(l, k, v);
    }
    json_array_foreach(ports, i, p) {
        const char *proto = sk_json_str(p, "protocol");
        char lo[16], up[16];
        snprintf(up, sizeof up, "%s", proto && *proto ? proto : "TCP");
        for (size_t j = 0; up[j]; j++) {
            lo[j] = (char)tolower((unsigned char)up[j]);
            up[j] = (char)toupper((unsigned char)up[j]);
            lo[j + 1] = 0;
        }
        long long port = (long long)json_integer_value(json_object_get(p, "port"));
        char url[256], pp[512];
        snprintf(url, sizeof url, "%s://%s:%lld", lo, host, port);
        if (i == 0) { /* Docker special-cases the first port */
            snprintf(k, sizeof k, "%s_PORT", pfx);
            el_set(l, k, url);
        }
        snprintf(pp, sizeof pp, "%s_PORT_%lld_%s", pfx, port, up);
        el_set(l, pp, url);
        snprintf(k, sizeof k, "%s_PROTO", pp);
        el_set(l, k, lo);
        snprintf(k, sizeof k, "%s_PORT", pp);
        snprintf(v, sizeof v, "%lld", port);
        el_set(l, k, v);
        snprintf(k, sizeof k, "%s_ADDR", pp);
        el_set(l, k, ip);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* getServiceEnvVarMap: the master service default/kubernetes always (even
 * with enableServiceLinks false, as upstream), the pod namespace's
 * services when links are enabled; a same-named one of the namespace wins. */
static void service_env(const struct sk_kl_spec_ctx *ctx, struct env_list *out)
{
    const char *ns = sk_json_path_str(ctx->pod, "metadata.namespace");
    bool links = !json_is_false(sk_json_path(ctx->pod, "spec.enableServiceLinks"));
    _sk_json_ json_t *chosen = json_object();
    size_t i;
    json_t *s;
    json_array_foreach((json_t *)ctx->services, i, s) {
        const char *name = sk_json_path_str(s, "metadata.name");
        const char *sns = sk_json_path_str(s, "metadata.namespace");
        const char *ip = sk_json_path_str(s, "spec.clusterIP");
        json_t *ports = sk_json_path(s, "spec.ports");
        if (!name || !*name || !sns || !ip || !*ip || !strcmp(ip, "None") || strlen(ip) > 64 ||
            !json_array_size(ports) || strlen(name) > 253)
            continue; /* headless, no ClusterIP, or nothing to link */
        if (!strcmp(sns, "default") && !strcmp(name, "kubernetes")) {
            if (!json_object_get(chosen, name)) json_object_set(chosen, name, s);
        } else if (ns && !strcmp(sns, ns) && links) {
            json_object_set(chosen, name, s);
        }
    }
    size_t n = json_object_size(chosen), k = 0;
    _sk_free_ const char **names = sk_calloc(n + 1, sizeof *names);
    const char *key;
    json_object_foreach(chosen, key, s) names[k++] = key;
    qsort(names, k, sizeof *names, cmp_str);
    for (size_t j = 0; j < k; j++) add_service(out, json_object_get(chosen, names[j]));
}

/* ---- ConfigMaps and Secrets --------------------------------------------------- */

struct env_ctx {
    const struct sk_kl_spec_ctx *ctx;
    sk_kl_getter_fn get;
    void *ud;
    const char *ns;
    json_t *cache; /* "kind/name" -> object */
    sk_kl_env *env;
};

/* Borrowed object or NULL with err; *missing when it does not exist. */
static json_t *fetch(struct env_ctx *ec, const char *kind, const char *name, bool *missing, sk_err *err)
{
    *missing = false;
    if (!name || !*name) name = "";
    _sk_free_ char *key = sk_printf("%s/%s", kind, name);
    json_t *o = json_object_get(ec->cache, key);
    if (o) return o;
    o = ec->get(ec->ud, kind, ec->ns, name, err);
    if (!o) {
        *missing = err->code == SK_ENOTFOUND;
        return NULL;
    }
    json_object_set_new(ec->cache, key, o);
    return o;
}

/* data[key], decoded for secrets, into *out: 1, 0 when absent, -1. */
static int data_value(const json_t *obj, bool secret, const char *key, char **out, sk_err *err)
{
    const char *v = key ? sk_json_str(json_object_get(obj, "data"), key) : NULL;
    size_t len;
    *out = NULL;
    if (!v) return 0;
    if (!secret) {
        *out = sk_strdup(v);
        return 1;
    }
    if (sk_kl_base64_decode(v, out, &len) < 0)
        return sk_err_set(err, SK_EINTERNAL, "secret %s: key %s is not valid base64",
                          sk_json_path_str(obj, "metadata.name"), key);
    return 1; /* an env value ends at its first NUL byte */
}

/* A reference to an object that could not be read: 0 to skip it, -1. A
 * missing one is a configuration error (CreateContainerConfigError). */
static int missing_ref(bool missing, bool optional, sk_err *err)
{
    if (missing && optional) return 0;
    if (missing) err->code = SK_EINVALID;
    return -1;
}

static int env_from(struct env_ctx *ec, const json_t *src, sk_err *err)
{
    json_t *ref = json_object_get(src, "configMapRef");
    bool secret = !ref;
    if (!ref) ref = json_object_get(src, "secretRef");
    if (!ref) return 0;
    const char *prefix = sk_json_str(src, "prefix");
    bool missing, optional = json_is_true(json_object_get(ref, "optional"));
    json_t *obj = fetch(ec, secret ? "secret" : "configmap", sk_json_str(ref, "name"), &missing, err);
    if (!obj) return missing_ref(missing, optional, err);
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(obj, "data"), k, v) {
        _sk_free_ char *name = sk_printf("%s%s", prefix ? prefix : "", k);
        if (!sk_kl_env_name_ok(name)) {
            sk_log(SK_INFO, "kubelet", "pod %s/%s: envFrom key \"%.64s\" skipped: not a valid environment variable name",
                   ec->ns, sk_json_path_str(ec->ctx->pod, "metadata.name"), name);
            continue;
        }
        _sk_free_ char *val = NULL;
        if (data_value(obj, secret, k, &val, err) < 0) return -1;
        if (val) el_set(&ec->env->tmp, name, val);
    }
    return 0;
}

/* configMapKeyRef / secretKeyRef: 1 = *out set, 0 = skip (optional), -1. */
static int key_ref(struct env_ctx *ec, const json_t *ref, bool secret, char **out, sk_err *err)
{
    const char *name = sk_json_str(ref, "name"), *key = sk_json_str(ref, "key");
    bool missing, optional = json_is_true(json_object_get(ref, "optional"));
    json_t *obj = fetch(ec, secret ? "secret" : "configmap", name, &missing, err);
    if (!obj) return missing_ref(missing, optional, err);
    int rc = data_value(obj, secret, key, out, err);
    if (rc) return rc;
    if (optional) return 0;
    return sk_err_set(err, SK_EINVALID, "couldn't find key %s in %s %s/%s", key ? key : "",
                      secret ? "Secret" : "ConfigMap", ec->ns, name ? name : "");
}

/* The value of one env entry: 1 = *out set, 0 = skip, -1 = error. */
static int env_value(struct env_ctx *ec, const json_t *ctr, const json_t *e, char **out, sk_err *err)
{
    const char *value = sk_json_str(e, "value");
    json_t *from = json_object_get(e, "valueFrom");
    if ((value && *value) || !json_is_object(from)) {
        *out = sk_kl_expand(value ? value : "", sk_kl_env_lookup, ec->env, SK_KL_EXPAND_MAX);
        if (!*out) return sk_err_set(err, SK_EINVALID, "env %s: expanded value too long", sk_json_str(e, "name"));
        return 1;
    }
    json_t *r;
    if ((r = json_object_get(from, "fieldRef"))) {
        _sk_free_ char *pod_ips = NULL;
        sk_buf b = SK_BUF_INIT;
        size_t i;
        json_t *ip;
        json_array_foreach(sk_json_path(ec->ctx->pod, "status.podIPs"), i, ip) {
            const char *s = sk_json_str(ip, "ip");
            if (!s) continue;
            if (b.len) sk_buf_add(&b, ",", 1);
            sk_buf_adds(&b, s);
        }
        const char *pod_ip = ec->ctx->pod_ip ? ec->ctx->pod_ip : "";
        if (!*pod_ip && sk_json_path_str(ec->ctx->pod, "status.podIP"))
            pod_ip = sk_json_path_str(ec->ctx->pod, "status.podIP");
        pod_ips = b.len ? sk_buf_take(&b) : sk_strdup(pod_ip);
        const char *host = ec->ctx->node_ip ? ec->ctx->node_ip : "";
        struct sk_kl_field_env fe = {pod_ip, pod_ips, host, host};
        *out = sk_kl_fieldref(ec->ctx->pod, r, &fe, err);
        return *out ? 1 : -1;
    }
    if ((r = json_object_get(from, "resourceFieldRef"))) {
        *out = sk_kl_resource_fieldref(ec->ctx->pod, ctr, r, err);
        return *out ? 1 : -1;
    }
    if ((r = json_object_get(from, "configMapKeyRef"))) return key_ref(ec, r, false, out, err);
    if ((r = json_object_get(from, "secretKeyRef"))) return key_ref(ec, r, true, out, err);
    *out = sk_strdup("");
    return 1;
}

const char *sk_kl_env_lookup(void *env, const char *name)
{
    const sk_kl_env *e = env;
    const char *v = el_get(&e->tmp, name);
    return v ? v : el_get(&e->svc, name);
}

void sk_kl_env_free(sk_kl_env *e)
{
    if (!e) return;
    el_release(&e->tmp);
    el_release(&e->svc);
    free(e->hostname);
    free(e);
}

sk_kl_env *sk_kl_env_build(const struct sk_kl_spec_ctx *ctx, sk_kl_getter_fn get, void *ud,
                           const json_t *ctr, bool lenient, sk_err *err)
{
    sk_kl_env *e = sk_calloc(1, sizeof *e);
    el_init(&e->tmp);
    el_init(&e->svc);
    e->hostname = sk_kl_pod_hostname(ctx->pod);
    service_env(ctx, &e->svc);
    struct env_ctx ec = {ctx, get, ud, sk_json_path_str(ctx->pod, "metadata.namespace"), json_object(), e};
    if (!ec.ns) ec.ns = "";
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(ctr, "envFrom"), i, x) {
        if (env_from(&ec, x, err) < 0 && !lenient) goto fail;
    }
    json_array_foreach(json_object_get(ctr, "env"), i, x) {
        const char *name = sk_json_str(x, "name");
        if (!sk_kl_env_name_ok(name)) { /* the API server rejects these */
            sk_err_set(err, SK_EINVALID, "env[%zu]: invalid environment variable name \"%.64s\"", i, name ? name : "");
            if (lenient) continue;
            goto fail;
        }
        _sk_free_ char *val = NULL;
        int rc = env_value(&ec, ctr, x, &val, err);
        if (rc < 0 && !lenient) goto fail;
        if (rc > 0) el_set(&e->tmp, name, val);
    }
    json_decref(ec.cache);
    return e;
fail:
    json_decref(ec.cache);
    sk_kl_env_free(e);
    return NULL;
}

char **sk_kl_env_strings(const sk_kl_env *e, const sk_image_cfg *image, size_t *n)
{
    struct env_list all;
    el_init(&all);
    el_set(&all, "HOSTNAME", e->hostname);
    for (char **p = image ? image->env : NULL; p && *p; p++) {
        const char *eq = strchr(*p, '=');
        if (!eq || eq == *p) continue;
        _sk_free_ char *k = sk_strndup(*p, (size_t)(eq - *p));
        el_set(&all, k, eq + 1);
    }
    for (size_t i = 0; i < e->svc.n; i++) el_set(&all, e->svc.name[i], e->svc.val[i]);
    for (size_t i = 0; i < e->tmp.n; i++) el_set(&all, e->tmp.name[i], e->tmp.val[i]);
    char **out = sk_calloc(all.n + 1, sizeof *out);
    for (size_t i = 0; i < all.n; i++) out[i] = sk_printf("%s=%s", all.name[i], all.val[i]);
    *n = all.n;
    el_release(&all);
    return out;
}
