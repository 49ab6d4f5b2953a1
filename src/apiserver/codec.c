/* Request bodies (JSON, YAML, protobuf) and the stored form of objects.
 *
 * Stored values are compact JSON that always begin with {"metadata":{ and
 * never carry metadata.resourceVersion: the revision is the store's
 * mod_rev, spliced in when the value is emitted. Lists and watch events
 * are thus produced by copying bytes, without re-parsing objects. */
#include "apiserver/apiserver_int.h"

#include <errno.h>
#include <string.h>
#include <yaml.h>

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

/* ---- YAML ----------------------------------------------------------------- */

#define YAML_MAX_DEPTH 100

/* Plain scalars get YAML 1.1-ish core typing (as sigs.k8s.io/yaml does
 * through JSON): null, booleans, integers, floats; quoted ones stay strings. */
static json_t *yaml_scalar(const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return json_stringn(v, n);
    if (n == 0 || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
        !strcmp(v, "NULL"))
        return json_null();
    if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE")) return json_true();
    if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE")) return json_false();
    char *end;
    errno = 0;
    long long i = strtoll(v, &end, 10);
    if (*end == 0 && errno == 0 && (v[0] == '-' || v[0] == '+' || (v[0] >= '0' && v[0] <= '9')))
        return json_integer(i);
    if ((v[0] == '-' || v[0] == '+' || v[0] == '.' || (v[0] >= '0' && v[0] <= '9')) &&
        strpbrk(v, "0123456789")) {
        double d = strtod(v, &end);
        if (*end == 0) return json_real(d);
    }
    return json_stringn(v, n);
}

static json_t *yaml_node(yaml_parser_t *p, yaml_event_t *first, int depth, sk_err *err);

static json_t *yaml_next(yaml_parser_t *p, int depth, sk_err *err, bool *end)
{
    yaml_event_t ev;
    if (!yaml_parser_parse(p, &ev)) {
        sk_err_set(err, SK_EBADREQUEST, "error converting YAML to JSON: yaml: line %zu: %s",
                   p->problem_mark.line + 1, p->problem ? p->problem : "parse error");
        return NULL;
    }
    if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT) {
        *end = true;
        yaml_event_delete(&ev);
        return NULL;
    }
    json_t *r = yaml_node(p, &ev, depth, err);
    yaml_event_delete(&ev);
    return r;
}

static json_t *yaml_node(yaml_parser_t *p, yaml_event_t *ev, int depth, sk_err *err)
{
    if (depth > YAML_MAX_DEPTH) {
        sk_err_set(err, SK_EBADREQUEST, "error converting YAML to JSON: nesting too deep");
        return NULL;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return yaml_scalar(ev);
    case YAML_ALIAS_EVENT:
        sk_err_set(err, SK_EBADREQUEST, "error converting YAML to JSON: aliases are not supported");
        return NULL;
    case YAML_SEQUENCE_START_EVENT: {
        json_t *a = json_array();
        for (;;) {
            bool end = false;
            json_t *v = yaml_next(p, depth + 1, err, &end);
            if (end) return a;
            if (!v) { json_decref(a); return NULL; }
            json_array_append_new(a, v);
        }
    }
    case YAML_MAPPING_START_EVENT: {
        json_t *o = json_object();
        for (;;) {
            bool end = false;
            json_t *k = yaml_next(p, depth + 1, err, &end);
            if (end) return o;
            if (!k) { json_decref(o); return NULL; }
            char kb[64];
            const char *ks = json_string_value(k);
            if (!ks) { /* non-string keys are stringified as sigs.k8s.io/yaml does */
                if (json_is_integer(k)) snprintf(kb, sizeof kb, "%lld", (long long)json_integer_value(k));
                else if (json_is_true(k)) snprintf(kb, sizeof kb, "true");
                else if (json_is_false(k)) snprintf(kb, sizeof kb, "false");
                else if (json_is_null(k)) snprintf(kb, sizeof kb, "null");
                else if (json_is_real(k)) snprintf(kb, sizeof kb, "%g", json_real_value(k));
                else {
                    json_decref(k);
                    json_decref(o);
                    sk_err_set(err, SK_EBADREQUEST, "error converting YAML to JSON: unsupported map key");
                    return NULL;
                }
                ks = kb;
            }
            json_t *v = yaml_next(p, depth + 1, err, &end);
            if (!v || end) {
                json_decref(k);
                json_decref(o);
                if (end) sk_err_set(err, SK_EBADREQUEST, "error converting YAML to JSON: bad mapping");
                return NULL;
            }
            json_object_set_new(o, ks, v);
            json_decref(k);
        }
    }
    default:
        sk_err_set(err, SK_EBADREQUEST, "error converting YAML to JSON: unexpected event");
        return NULL;
    }
}

json_t *sk_yaml_parse(const char *text, size_t len, sk_err *err)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        sk_err_set(err, SK_EINTERNAL, "yaml init failed");
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    json_t *result = NULL;
    bool done = false;
    while (!done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            sk_err_set(err, SK_EBADREQUEST, "error converting YAML to JSON: yaml: line %zu: %s",
                       p.problem_mark.line + 1, p.problem ? p.problem : "parse error");
            json_decref(result);
            result = NULL;
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
            break;
        default:
            if (result) { /* only the first document is used */
                done = true;
                break;
            }
            result = yaml_node(&p, &ev, 0, err);
            if (!result) done = true;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    if (!result && err->code == SK_OK)
        sk_err_set(err, SK_EBADREQUEST, "Object 'Kind' is missing in ''");
    return result;
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
