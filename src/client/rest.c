/* REST verbs over resources: URL paths, query strings, paged lists, and
 * the generic sk_client_request. */
#include "client/client_int.h"

#include <string.h>

void sk__pct(sk_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            sk_buf_add(b, p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            sk_buf_add(b, e, 3);
        }
    }
}

void sk__query(sk_buf *b, const char *k, const char *v)
{
    if (!v || !*v) return;
    sk_buf_adds(b, b->data && strchr(b->data, '?') ? "&" : "?");
    sk_buf_adds(b, k);
    sk_buf_adds(b, "=");
    sk__pct(b, v);
}

void sk__res_path(sk_buf *b, const struct sk_resource *r, const char *ns, const char *name,
                  const char *sub)
{
    if (!*r->group) sk_buf_addf(b, "/api/%s", r->version);
    else sk_buf_addf(b, "/apis/%s/%s", r->group, r->version);
    if (r->namespaced && ns && *ns) {
        sk_buf_adds(b, "/namespaces/");
        sk__pct(b, ns);
    }
    sk_buf_addf(b, "/%s", r->plural);
    if (name) {
        sk_buf_adds(b, "/");
        sk__pct(b, name);
        if (sub && *sub) {
            sk_buf_adds(b, "/");
            sk__pct(b, sub);
        }
    }
}

/* Path of one named object; namespaced resources need a namespace. */
static char *obj_path(const struct sk_resource *r, const char *ns, const char *name,
                      const char *sub, sk_err *err)
{
    if (!name || !*name) {
        sk_err_set(err, SK_EINVALID, "%s: resource name may not be empty", r->plural);
        return NULL;
    }
    if (r->namespaced && (!ns || !*ns)) {
        sk_err_set(err, SK_EINVALID, "%s \"%s\": a namespace is required", r->plural, name);
        return NULL;
    }
    sk_buf b = SK_BUF_INIT;
    sk__res_path(&b, r, ns, name, sub);
    return sk_buf_take(&b);
}

json_t *sk_client_get(sk_client *c, const struct sk_resource *r, const char *ns,
                      const char *name, sk_err *err)
{
    _sk_free_ char *path = obj_path(r, ns, name, NULL, err);
    if (!path) return NULL;
    return sk__json(c, "GET", path, NULL, NULL, NULL, err);
}

static json_t *list_page(sk_client *c, const struct sk_resource *r, const char *ns,
                         const char *ls, const char *fs, const char *cont, bool paged,
                         const struct sk_abort *ab, sk_err *err)
{
    sk_buf b = SK_BUF_INIT;
    sk__res_path(&b, r, ns, NULL, NULL);
    if (paged) sk_buf_addf(&b, "?limit=%d", SK_CLIENT_PAGE);
    sk__query(&b, "continue", cont);
    sk__query(&b, "labelSelector", ls);
    sk__query(&b, "fieldSelector", fs);
    _sk_free_ char *path = sk_buf_take(&b);
    json_t *page = sk__json(c, "GET", path, NULL, NULL, ab, err);
    if (page && !json_is_array(json_object_get(page, "items"))) {
        json_decref(page);
        sk_err_set(err, SK_EINTERNAL, "GET %s: reply is not a list", path);
        return NULL;
    }
    return page;
}

json_t *sk__list(sk_client *c, const struct sk_resource *r, const char *ns, const char *ls,
                 const char *fs, const struct sk_abort *ab, sk_err *err)
{
    json_t *list = list_page(c, r, ns, ls, fs, NULL, true, ab, err);
    if (!list) return NULL;
    json_t *items = json_object_get(list, "items");
    for (;;) {
        const char *cont = sk_json_path_str(list, "metadata.continue");
        if (!cont || !*cont) break;
        sk_err e2 = SK_ERR_INIT;
        json_t *page = list_page(c, r, ns, ls, fs, cont, true, ab, &e2);
        if (!page && e2.code == SK_EGONE) {
            /* the snapshot was compacted away mid-list: take it whole, as
             * client-go's pager falls back to an unpaged list */
            json_decref(list);
            list = list_page(c, r, ns, ls, fs, NULL, false, ab, err);
            if (!list) return NULL;
            items = json_object_get(list, "items");
            break;
        }
        if (!page) {
            if (err) *err = e2;
            json_decref(list);
            return NULL;
        }
        json_array_extend(items, json_object_get(page, "items"));
        json_t *next = sk_json_path(page, "metadata.continue");
        if (next) json_object_set(json_object_get(list, "metadata"), "continue", next);
        else json_object_del(json_object_get(list, "metadata"), "continue");
        json_decref(page);
    }
    json_t *meta = json_object_get(list, "metadata");
    if (json_is_object(meta)) {
        json_object_del(meta, "continue");
        json_object_del(meta, "remainingItemCount");
    }
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) sk__set_type(it, r);
    return list;
}

json_t *sk_client_list(sk_client *c, const struct sk_resource *r, const char *ns,
                       const char *label_selector, const char *field_selector, sk_err *err)
{
    return sk__list(c, r, ns, label_selector, field_selector, NULL, err);
}

json_t *sk_client_create(sk_client *c, const struct sk_resource *r, const char *ns,
                         const json_t *obj, sk_err *err)
{
    if (!json_is_object(obj)) {
        sk_err_set(err, SK_EBADREQUEST, "create %s: object is not a JSON object", r->plural);
        return NULL;
    }
    if (!ns || !*ns) ns = sk_json_path_str(obj, "metadata.namespace");
    if (r->namespaced && (!ns || !*ns)) {
        sk_err_set(err, SK_EINVALID, "create %s: a namespace is required", r->plural);
        return NULL;
    }
    sk_buf b = SK_BUF_INIT;
    sk__res_path(&b, r, ns, NULL, NULL);
    _sk_free_ char *path = sk_buf_take(&b);
    return sk__json(c, "POST", path, obj, NULL, NULL, err);
}

json_t *sk_client_update(sk_client *c, const struct sk_resource *r, const char *ns,
                         const json_t *obj, const char *sub, sk_err *err)
{
    if (!ns || !*ns) ns = sk_json_path_str(obj, "metadata.namespace");
    _sk_free_ char *path = obj_path(r, ns, sk_json_path_str(obj, "metadata.name"), sub, err);
    if (!path) return NULL;
    return sk__json(c, "PUT", path, obj, NULL, NULL, err);
}

json_t *sk_client_patch(sk_client *c, const struct sk_resource *r, const char *ns,
                        const char *name, const char *patch_type, const json_t *patch,
                        const char *sub, sk_err *err)
{
    _sk_free_ char *path = obj_path(r, ns, name, sub, err);
    if (!path) return NULL;
    return sk__json(c, "PATCH", path, patch, patch_type ? patch_type : "application/merge-patch+json",
                    NULL, err);
}

int sk_client_delete(sk_client *c, const struct sk_resource *r, const char *ns, const char *name,
                     const char *propagation, int64_t grace, const char *uid, sk_err *err)
{
    _sk_free_ char *path = obj_path(r, ns, name, NULL, err);
    if (!path) return -1;
    _sk_json_ json_t *opts = json_pack("{s:s,s:s}", "kind", "DeleteOptions", "apiVersion", "v1");
    if (propagation && *propagation)
        json_object_set_new(opts, "propagationPolicy", json_string(propagation));
    if (grace >= 0) json_object_set_new(opts, "gracePeriodSeconds", json_integer(grace));
    if (uid && *uid) json_object_set_new(opts, "preconditions", json_pack("{s:s}", "uid", uid));
    sk_err e = SK_ERR_INIT;
    json_t *reply = sk__json(c, "DELETE", path, opts, NULL, NULL, &e);
    if (!reply && e.code != SK_OK) {
        if (err) *err = e;
        return -1;
    }
    json_decref(reply);
    return 0;
}

json_t *sk_client_request(sk_client *c, const char *method, const char *path,
                          const json_t *body, const char *content_type, long *status,
                          sk_err *err)
{
    _sk_free_ char *text = NULL;
    if (status) *status = 0;
    if (!path || path[0] != '/') {
        sk_err_set(err, SK_EBADREQUEST, "request path must start with '/'");
        return NULL;
    }
    if (c->local.call) {
        sk__throttle(c, NULL);
        return sk__local_json(c, method, path, body, content_type, true, status, err);
    }
    if (body && !(text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY))) {
        sk_err_set(err, SK_EBADREQUEST, "%s %s: body cannot be encoded", method, path);
        return NULL;
    }
    struct sk_call call = {.method = method, .path = path, .body = text,
                           .body_len = text ? strlen(text) : 0, .content_type = content_type};
    json_t *out = NULL;
    if (sk__call(c, &call, err) == 0) {
        if (status) *status = call.status;
        if (call.status >= 400) sk__status_err(&call, err);
        /* a reply that is not JSON ("ok" from /healthz) comes back as a string */
        if (call.reply.len && !(out = json_loadb(call.reply.data, call.reply.len, 0, NULL)))
            out = json_stringn(call.reply.data, call.reply.len);
    }
    sk__call_release(&call);
    return out;
}
