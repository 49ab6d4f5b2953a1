/* YAML (or JSON) text to a jansson value with libyaml, typing plain
 * scalars as sigs.k8s.io/yaml does through JSON. Only the first document
 * is read. Untrusted input: depth capped, aliases refused. */
#include "api/api.h"

#include <errno.h>
#include <string.h>
#include <yaml.h>

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

