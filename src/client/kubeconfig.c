/* kubeconfig files: the current context's cluster and user, with embedded
 * *-data fields (base64) or file paths (relative to the kubeconfig's
 * directory, as kubectl resolves them), and bearer tokens (token,
 * tokenFile).
 *
 * Partial: exec and auth-provider plugins, insecure-skip-tls-verify,
 * proxy-url, tls-server-name and the context's namespace are ignored. */
#include "client/client_int.h"

#include <gnutls/gnutls.h>
#include <string.h>

#define KUBECONFIG_MAX ((size_t)16 << 20)

/* Finds the entry named `name` in a kubeconfig list (clusters, users,
 * contexts) and returns its `field` object. */
static json_t *named(const json_t *cfg, const char *list, const char *name, const char *field)
{
    json_t *arr = json_object_get(cfg, list);
    size_t i;
    json_t *e;
    if (!name || !json_is_array(arr)) return NULL;
    json_array_foreach(arr, i, e) {
        const char *n = sk_json_str(e, "name");
        if (n && !strcmp(n, name)) {
            json_t *f = json_object_get(e, field);
            return json_is_object(f) ? f : NULL;
        }
    }
    return NULL;
}

static char *b64_decode(const char *s, sk_err *err)
{
    gnutls_datum_t in = {(unsigned char *)s, (unsigned)strlen(s)}, out = {NULL, 0};
    int rc = gnutls_base64_decode2(&in, &out);
    if (rc < 0) {
        sk_err_set(err, SK_EINVALID, "invalid base64: %s", gnutls_strerror(rc));
        return NULL;
    }
    char *r = sk_malloc(out.size + 1);
    memcpy(r, out.data, out.size);
    r[out.size] = 0;
    gnutls_memset(out.data, 0, out.size);
    gnutls_free(out.data);
    return r;
}

static char *read_rel(const char *dir, const char *path, sk_err *err)
{
    _sk_free_ char *full = path[0] == '/' ? sk_strdup(path) : sk_printf("%s/%s", dir, path);
    size_t len;
    char *s = sk_read_file(full, &len, err);
    if (s && (len > KUBECONFIG_MAX || strlen(s) != len)) {
        free(s);
        sk_err_set(err, SK_EINVALID, "%s: not a PEM or token file", full);
        return NULL;
    }
    return s;
}

/* Value of `key`-data (base64) or `key` (a path): new string, NULL if
 * neither is set (err untouched) or on error (err set, *failed = true). */
static char *data_or_file(const json_t *o, const char *key, const char *dir, bool *failed,
                          sk_err *err)
{
    char dk[64];
    snprintf(dk, sizeof dk, "%s-data", key);
    const char *d = sk_json_str(o, dk), *f = sk_json_str(o, key);
    char *r = NULL;
    if (d && *d) r = b64_decode(d, err);
    else if (f && *f) r = read_rel(dir, f, err);
    else return NULL;
    if (!r) {
        *failed = true;
        sk_err_wrap(err, "%s", d && *d ? dk : key);
    }
    return r;
}

static char *dir_of(const char *path)
{
    const char *sl = strrchr(path, '/');
    if (!sl) return sk_strdup(".");
    if (sl == path) return sk_strdup("/");
    return sk_strndup(path, (size_t)(sl - path));
}

static void wipe_free(char *s)
{
    if (s) gnutls_memset(s, 0, strlen(s));
    free(s);
}

static sk_client *from_json(const json_t *cfg, const char *dir, const char *user_agent,
                            sk_err *err)
{
    const char *cur = sk_json_str(cfg, "current-context");
    json_t *ctx = named(cfg, "contexts", cur, "context");
    if (!ctx) {
        sk_err_set(err, SK_EINVALID, "current context \"%s\" not found",
                   cur ? cur : "");
        return NULL;
    }
    json_t *cluster = named(cfg, "clusters", sk_json_str(ctx, "cluster"), "cluster");
    json_t *user = named(cfg, "users", sk_json_str(ctx, "user"), "user");
    if (!cluster || !sk_json_str(cluster, "server")) {
        sk_err_set(err, SK_EINVALID, "cluster \"%s\" not found or has no server",
                   sk_json_str(ctx, "cluster") ? sk_json_str(ctx, "cluster") : "");
        return NULL;
    }
    bool failed = false;
    char *ca = data_or_file(cluster, "certificate-authority", dir, &failed, err);
    char *cert = failed ? NULL : data_or_file(user, "client-certificate", dir, &failed, err);
    char *key = failed ? NULL : data_or_file(user, "client-key", dir, &failed, err);
    char *token = sk_strdup(sk_json_str(user, "token"));
    const char *tf = sk_json_str(user, "tokenFile");
    if (!failed && !token && tf && *tf && !(token = read_rel(dir, tf, err))) failed = true;
    if (token) token[strcspn(token, "\r\n")] = 0;
    sk_client *c = NULL;
    if (!failed) {
        struct sk_client_config cc = {.server = sk_json_str(cluster, "server"), .ca_pem = ca,
                                      .cert_pem = cert, .key_pem = key, .token = token,
                                      .user_agent = user_agent};
        c = sk_client_new(&cc, err);
    }
    free(ca);
    free(cert);
    wipe_free(key);
    wipe_free(token);
    return c;
}

sk_client *sk_client_from_kubeconfig(const char *path, const char *user_agent, sk_err *err)
{
    size_t len;
    _sk_free_ char *text = sk_read_file(path, &len, err);
    if (!text) return NULL;
    if (len > KUBECONFIG_MAX) {
        sk_err_set(err, SK_EINVALID, "kubeconfig %s: larger than %zu bytes", path,
                   KUBECONFIG_MAX);
        return NULL;
    }
    _sk_json_ json_t *cfg = sk_yaml_parse(text, len, err);
    gnutls_memset(text, 0, len);
    if (!cfg) {
        sk_err_wrap(err, "kubeconfig %s", path);
        return NULL;
    }
    _sk_free_ char *dir = dir_of(path);
    sk_client *c = from_json(cfg, dir, user_agent, err);
    if (!c) sk_err_wrap(err, "kubeconfig %s", path);
    return c;
}
