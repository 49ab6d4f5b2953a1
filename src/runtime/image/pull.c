/* Pulling from OCI distribution registries (v2 API): each mirror endpoint
 * of registries.yaml (with its rewrites), then the registry itself.
 * Manifest lists / indexes resolve to linux/<node arch>; every manifest and
 * blob is checked against its digest before it enters the store. */
#include "runtime/image/image_int.h"

#include <string.h>
#include <sys/file.h>

#define ENDPOINT_ERR_MAX 160

struct endpoint {
    char *base;  /* "https://host/v2" */
    char *host;  /* "host:port", the registries.yaml configs key */
    char *label; /* for messages */
    char *repo;
    bool mirror;
};

struct pulled {
    char *manifest;
    size_t len;
    char digest[72];
    const char *media_type;
    char *index_digest;
};

static bool is_loopback(const char *host)
{
    if (!strncmp(host, "[::1]", 5)) return true;
    size_t n = strcspn(host, ":");
    return (n == 9 && !strncmp(host, "localhost", 9)) || !strncmp(host, "127.", 4);
}

/* "http://h:5000", "h:5000/prefix", "https://h/v2" -> base URL ending in /v2 */
static int endpoint_parse(const char *ep, struct endpoint *out, sk_err *err)
{
    const char *sep = strstr(ep, "://");
    const char *rest = sep ? sep + 3 : ep;
    size_t hl = strcspn(rest, "/");
    if (!hl) return sk_err_set(err, SK_EINVALID, "mirror endpoint \"%.100s\" has no host", ep);
    out->host = sk_strndup(rest, hl);
    const char *scheme = is_loopback(out->host) ? "http" : "https";
    if (sep) {
        size_t sl = (size_t)(sep - ep);
        if (!(sl == 4 && !strncmp(ep, "http", 4)) && !(sl == 5 && !strncmp(ep, "https", 5)))
            return sk_err_set(err, SK_EINVALID, "mirror endpoint \"%.100s\": not http(s)", ep);
        scheme = sl == 4 ? "http" : "https";
    }
    _sk_free_ char *path = sk_strdup(rest + hl);
    size_t pl = strlen(path);
    while (pl && path[pl - 1] == '/') path[--pl] = 0;
    bool has_v2 = pl >= 3 && !strcmp(path + pl - 3, "/v2");
    out->base = sk_printf("%s://%s%s%s", scheme, out->host, path, has_v2 ? "" : "/v2");
    return 0;
}

static void endpoint_release(struct endpoint *e)
{
    free(e->base);
    free(e->host);
    free(e->label);
    free(e->repo);
}

/* Mirror endpoints in order, then the registry itself. */
static struct endpoint *endpoints(const sk_registries *regs, const sk_image_ref *r, size_t *n,
                                  sk_err *err)
{
    const struct sk_reg_mirror *m = sk_registries_mirror(regs, r->domain);
    size_t nm = m ? m->n_endpoints : 0, k = 0;
    struct endpoint *v = sk_calloc(nm + 1, sizeof *v);
    for (; k < nm; k++) {
        if (endpoint_parse(m->endpoints[k], &v[k], err) < 0 ||
            !(v[k].repo = sk_registries_rewrite(m, r->path, err)))
            goto fail;
        v[k].label = sk_printf("%s (mirror)", m->endpoints[k]);
        v[k].mirror = true;
    }
    const char *host = strcmp(r->domain, SK_IMAGE_DEFAULT_DOMAIN) ? r->domain
                                                                  : "registry-1.docker.io";
    v[k].host = sk_strdup(host);
    v[k].base = sk_printf("%s://%s/v2", is_loopback(host) ? "http" : "https", host);
    v[k].label = sk_strdup(r->domain);
    v[k].repo = sk_strdup(r->path);
    *n = k + 1;
    return v;
fail:
    for (size_t i = 0; i <= k; i++) endpoint_release(&v[i]);
    free(v);
    return NULL;
}

/* Fetches a manifest and checks it against want (or the registry's
 * Docker-Content-Digest); *kind gets its media type. */
static char *get_manifest(sk_reg_client *c, const char *ref, const char *want, size_t *len,
                          char dig[72], json_t **body, const char **kind, sk_err *err)
{
    _sk_free_ char *ct = NULL, *hdr = NULL;
    char *data = sk_reg_get_manifest(c, ref, len, &ct, &hdr, err);
    if (!data) return NULL;
    sk_sha256_hex(data, *len, dig);
    const char *expect = want ? want : (sk_image_digest_valid(hdr) ? hdr : NULL);
    *body = json_loadb(data, *len, 0, NULL);
    *kind = *body ? sk_image_manifest_kind(ct, *body) : NULL;
    if (expect && strcmp(expect, dig))
        sk_err_set(err, SK_EINVALID, "manifest %s: content has digest %s", expect, dig);
    else if (!*kind)
        sk_err_set(err, SK_EINVALID, "manifest %s: unsupported type %.80s (schema 1 images are not supported)",
                   ref, ct ? ct : "unknown");
    else
        return data;
    json_decref(SK_TAKE(*body));
    free(data);
    return NULL;
}

static int resolve(sk_reg_client *c, const sk_image_ref *r, struct pulled *p, sk_err *err)
{
    const char *ref = r->digest ? r->digest : r->tag, *want = r->digest;
    _sk_free_ char *pick_digest = NULL;
    for (int depth = 0;; depth++) {
        json_t *body = NULL;
        p->manifest = get_manifest(c, ref, want, &p->len, p->digest, &body, &p->media_type, err);
        if (!p->manifest) return -1;
        if (!sk_image_media_is_index(p->media_type)) {
            json_decref(body);
            return 0;
        }
        struct sk_image_desc d;
        int rc = depth < SK_IMAGE_NESTED_INDEX_MAX ? sk_image_index_pick(body, &d, err)
                                                   : sk_err_set(err, SK_EINVALID, "indexes nested too deep");
        json_decref(body);
        if (rc < 0) return -1;
        if (!p->index_digest) p->index_digest = sk_strdup(p->digest);
        free(SK_TAKE(p->manifest));
        free(pick_digest);
        pick_digest = SK_TAKE(d.digest);
        sk_image_desc_release(&d);
        ref = want = pick_digest;
    }
}

static int fetch_blobs(sk_reg_client *c, const sk_image_store *s, const struct pulled *p,
                       sk_err *err)
{
    struct sk_image_manifest m;
    if (sk_image_manifest_parse(p->manifest, p->len, &m, err) < 0) return -1;
    int rc = 0;
    if (m.config.size > SK_IMAGE_CONFIG_MAX)
        rc = sk_err_set(err, SK_ETOOLARGE, "image config is too large");
    for (size_t i = 0; i <= m.n_layers && rc == 0; i++) {
        const struct sk_image_desc *d = i == 0 ? &m.config : &m.layers[i - 1];
        if (!sk_blob_exists(s, d->digest)) rc = sk_reg_get_blob(c, s, d, err);
    }
    sk_image_manifest_release(&m);
    return rc;
}

static int pull_from(const sk_image_store *s, const struct endpoint *ep, const sk_image_ref *r,
                     const struct sk_image_pull_opts *o, const sk_registries *regs,
                     struct pulled *p, sk_err *err)
{
    const struct sk_reg_config *cfg = sk_registries_config(regs, ep->host);
    if (!cfg && !ep->mirror) cfg = sk_registries_config(regs, r->domain);
    struct sk_reg_target t = {.base = ep->base, .repo = ep->repo, .cfg = cfg,
                              .connect_timeout_s = o ? o->connect_timeout_s : 0};
    if (cfg && cfg->username) {
        t.username = cfg->username;
        t.password = cfg->password;
    } else if (!ep->mirror && o) {
        t.username = o->username;
        t.password = o->password;
    }
    sk_reg_client *c = sk_reg_client_new(&t, err);
    if (!c) return -1;
    int rc = resolve(c, r, p, err);
    _sk_free_ char *plain = NULL;
    if (rc < 0 && cfg && cfg->insecure_skip_verify && sk_reg_transport_failed(c) &&
        !strncmp(ep->base, "https://", 8)) {
        /* an insecure registry may not speak TLS at all */
        sk_reg_client_free(c);
        plain = sk_printf("http://%s", ep->base + 8);
        t.base = plain;
        free(SK_TAKE(p->index_digest));
        if (!(c = sk_reg_client_new(&t, err))) return -1;
        rc = resolve(c, r, p, err);
    }
    if (rc == 0) rc = fetch_blobs(c, s, p, err);
    if (rc == 0) rc = sk_blob_put(s, p->manifest, p->len, p->digest, NULL, err);
    sk_reg_client_free(c);
    return rc;
}

struct put_ctx {
    const char *name;
    const struct pulled *p;
};

static int put_entry(json_t *index, void *ctx, sk_err *err)
{
    struct put_ctx *c = ctx;
    sk_image_index_put(index, c->name, c->p->media_type, c->p->digest, (int64_t)c->p->len,
                       c->p->index_digest);
    return 0;
}

static void fail_message(sk_err *err, const char *name, const sk_image_ref *r, const char *tried,
                         enum sk_code code, bool mirrored, const char *regpath)
{
    if (mirrored)
        sk_err_set(err, code, "pull %s: %s (mirrors for %s are set in %s)", name, tried, r->domain,
                   regpath);
    else
        sk_err_set(err, code,
                   "pull %s: %s; no mirror configured for %s (add one to %s: mirrors: "
                   "{\"%s\": {endpoint: [\"http://HOST:PORT\"]}})",
                   name, tried, r->domain, regpath, r->domain);
}

static int pull_ref(sk_image_store *s, const sk_image_ref *r, const char *name,
                    const struct sk_image_pull_opts *o, sk_err *err)
{
    sk_registries *regs = sk_registries_load(s->registries, err);
    if (!regs) return sk_err_wrap(err, "pull %s", name);
    size_t n = 0;
    struct endpoint *eps = endpoints(regs, r, &n, err);
    if (!eps) {
        sk_registries_free(regs);
        return sk_err_wrap(err, "pull %s: %s", name, s->registries);
    }
    sk_buf tried = SK_BUF_INIT;
    int rc = -1, n_notfound = 0, n_auth = 0;
    for (size_t i = 0; i < n && rc < 0; i++) {
        struct pulled p = {0};
        sk_err e = SK_ERR_INIT;
        rc = pull_from(s, &eps[i], r, o, regs, &p, &e);
        if (rc == 0) {
            struct put_ctx pc = {name, &p};
            rc = sk_image_index_update(s, put_entry, &pc, err);
        } else {
            sk_buf_addf(&tried, "%s%s: %.*s", tried.len ? "; " : "", eps[i].label,
                        ENDPOINT_ERR_MAX, e.msg);
            n_notfound += e.code == SK_ENOTFOUND;
            n_auth += e.code == SK_EUNAUTHORIZED || e.code == SK_EFORBIDDEN;
        }
        free(p.manifest);
        free(p.index_digest);
    }
    if (rc < 0 && tried.len) {
        enum sk_code code = (size_t)n_notfound == n ? SK_ENOTFOUND
                            : n_auth                 ? SK_EUNAUTHORIZED
                                                     : SK_EUNAVAILABLE;
        fail_message(err, name, r, tried.data, code, n > 1, s->registries);
    }
    sk_buf_release(&tried);
    for (size_t i = 0; i < n; i++) endpoint_release(&eps[i]);
    free(eps);
    sk_registries_free(regs);
    return rc;
}

int sk_image_pull(sk_image_store *s, const char *ref, const struct sk_image_pull_opts *opts,
                  char **stored, sk_err *err)
{
    if (stored) *stored = NULL;
    sk_image_ref r;
    if (sk_image_ref_parse(ref, &r, err) < 0) return sk_err_wrap(err, "pull %s", ref);
    _sk_free_ char *name = sk_image_ref_string(&r);
    int rc = -1;
    int lk = sk_image_lock(s, SK_LOCK_GC, LOCK_SH, err);
    if (lk >= 0) {
        rc = pull_ref(s, &r, name, opts, err);
        close(lk);
    }
    sk_image_ref_release(&r);
    if (rc == 0 && stored) *stored = SK_TAKE(name);
    return rc;
}
