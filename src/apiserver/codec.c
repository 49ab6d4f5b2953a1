/* Request bodies (JSON, YAML, protobuf) and the stored form of objects.
 *
 * Stored values are compact JSON that always begin with {"metadata":{ and
 * never carry metadata.resourceVersion: the revision is the store's
 * mod_rev, spliced in when the value is emitted. Lists and watch events
 * are thus produced by copying bytes, without re-parsing objects. */
#include "apiserver/apiserver_int.h"

#include <errno.h>
#include <string.h>

#define META_PREFIX "{\"metadata\":{"
#define META_PREFIX_LEN (sizeof(META_PREFIX) - 1)

char *sk_obj_encode(const json_t *obj, size_t *len)
{
    json_t *out = json_object();
    json_t *meta = json_deep_copy(json_object_get(obj, "metadata"));
    if (!json_is_object(meta)) {
        json_decref(meta);
        meta = json_object();
    }
    json_object_del(meta, "resourceVersion");
    json_object_del(meta, "selfLink");
    if (!json_object_size(meta)) json_object_set_new(meta, "name", json_string(""));
    json_object_set_new(out, "metadata", meta);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        if (strcmp(k, "metadata")) json_object_set(out, k, v);
    }
    char *s = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    if (!s) s = sk_strdup(META_PREFIX "\"name\":\"\"}}");
    if (len) *len = strlen(s);
    return s;
}

void sk_obj_emit(sk_buf *out, const char *val, size_t len, int64_t rev)
{
    if (len > META_PREFIX_LEN && !memcmp(val, META_PREFIX, META_PREFIX_LEN)) {
        sk_buf_addf(out, META_PREFIX "\"resourceVersion\":\"%lld\",", (long long)rev);
        sk_buf_add(out, val + META_PREFIX_LEN, len - META_PREFIX_LEN);
    } else {
        sk_buf_add(out, val, len); /* not produced by sk_obj_encode: emit as is */
    }
}

json_t *sk_obj_load(const char *val, size_t len, int64_t rev)
{
    json_t *o = json_loadb(val, len, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return NULL;
    }
    char rv[32];
    snprintf(rv, sizeof rv, "%lld", (long long)rev);
    json_object_set_new(sk_json_obj(o, "metadata"), "resourceVersion", json_string(rv));
    return o;
}

char *sk_key(const struct sk_resource *r, const char *ns, const char *name)
{
    const char *g = r->group[0] ? r->group : "core";
    if (r->namespaced) return sk_printf("/registry/%s/%s/%s/%s", g, r->plural, ns, name);
    return sk_printf("/registry/%s/%s/%s", g, r->plural, name);
}

char *sk_key_prefix(const struct sk_resource *r, const char *ns)
{
    const char *g = r->group[0] ? r->group : "core";
    if (r->namespaced && ns && ns[0]) return sk_printf("/registry/%s/%s/%s/", g, r->plural, ns);
    return sk_printf("/registry/%s/%s/", g, r->plural);
}

/* ---- bodies --------------------------------------------------------------- */

static bool ctype_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    return ct && !strncasecmp(ct, want, n) && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ');
}

json_t *sk_decode_body(struct sk_req *q, const struct sk_resource *res, sk_err *err)
{
    const char *ct = sk_req_header(q, "Content-Type");
    if (q->local) {
        /* in-process: already a value; handlers modify what they decode */
        if (!q->local->body) {
            sk_err_set(err, SK_EBADREQUEST, "the request body is empty");
            return NULL;
        }
        return json_deep_copy(q->local->body);
    }
    const char *body = q->body.data ? q->body.data : "";
    size_t len = q->body.len;
    if (len == 0) {
        sk_err_set(err, SK_EBADREQUEST, "the request body is empty");
        return NULL;
    }
    if (ctype_is(ct, "application/vnd.kubernetes.protobuf")) {
        char av[128], kind[128];
        const uint8_t *raw;
        size_t raw_len;
        if (sk_pb_unwrap((const uint8_t *)body, len, av, sizeof av, kind, sizeof kind, &raw,
                         &raw_len, err) < 0)
            return NULL;
        const char *slash = strchr(av, '/');
        char group[128] = "";
        const char *version = av;
        if (slash) {
            snprintf(group, sizeof group, "%.*s", (int)(slash - av), av);
            version = slash + 1;
        }
        const struct sk_type *t = sk_schema_kind(group, version, kind);
        if (!t && res) t = sk_resource_schema(res);
        if (!t) {
            sk_err_set(err, SK_EMEDIATYPE, "no protobuf schema for %s %s", av, kind);
            return NULL;
        }
        json_t *o = sk_pb_decode(t, raw, raw_len, err);
        if (!o) return NULL;
        if (av[0]) json_object_set_new(o, "apiVersion", json_string(av));
        if (kind[0]) json_object_set_new(o, "kind", json_string(kind));
        return o;
    }
    json_t *o = NULL;
    if (!ct || ctype_is(ct, "application/json") || ctype_is(ct, "application/merge-patch+json") ||
        ctype_is(ct, "application/strategic-merge-patch+json") ||
        ctype_is(ct, "application/json-patch+json") || ctype_is(ct, "*/*")) {
        json_error_t je;
        o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
        if (!o) {
            sk_err_set(err, SK_EBADREQUEST,
                       "couldn't get version/kind; json parse error: %s (line %d, column %d)",
                       je.text, je.line, je.column);
            return NULL;
        }
        return o;
    }
    if (ctype_is(ct, "application/yaml") || ctype_is(ct, "application/apply-patch+yaml") ||
        ctype_is(ct, "application/x-yaml") || ctype_is(ct, "text/yaml")) {
        return sk_yaml_parse(body, len, err);
    }
    sk_err_set(err, SK_EMEDIATYPE, "the body of the request was in an unknown format - accepted "
                                   "media types include: application/json, application/yaml, "
                                   "application/vnd.kubernetes.protobuf");
    return NULL;
}
