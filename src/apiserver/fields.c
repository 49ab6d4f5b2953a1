/* What a write does with an object's fields: unknown fields per
 * fieldValidation (Strict rejects, Warn warns, both drop them as upstream's
 * typed decoding does) and the small managedFields entry of each manager. */
#include "apiserver/apiserver_int.h"

#include <stdio.h>
#include <string.h>

static void now_rfc3339(char *buf, size_t n) { sk_time_format(sk_wall_ms() / 1000, buf, n); }

/* Removes the field at an unknown-field path such as
 * "spec.template.spec.containers[0].bogus" (object keys never contain
 * '.', '[' in these paths: maps accept any key and are never reported). */
static void drop_path(json_t *obj, const char *path)
{
    char seg[256];
    json_t *cur = obj;
    const char *p = path;
    while (cur && *p) {
        size_t n = strcspn(p, ".[");
        if (n >= sizeof seg) return;
        memcpy(seg, p, n);
        seg[n] = 0;
        p += n;
        if (!*p) {
            if (json_is_object(cur)) json_object_del(cur, seg);
            return;
        }
        if (n) cur = json_object_get(cur, seg);
        while (*p == '[' && cur) {
            char *end;
            long idx = strtol(p + 1, &end, 10);
            if (*end != ']') return;
            cur = json_array_get(cur, (size_t)idx);
            p = end + 1;
        }
        if (*p == '.') p++;
    }
}

/* fieldValidation: Strict rejects unknown fields, Warn (default) warns,
 * Ignore accepts silently; unknown fields are not stored, as upstream's
 * typed decoding drops them. */
int sk_check_unknown(struct sk_req *q, const struct sk_resource *r, json_t *obj,
                         sk_err *err)
{
    const char *fv = sk_req_arg(q, "fieldValidation");
    bool ignore = fv && !strcmp(fv, "Ignore");
    const struct sk_type *t = sk_resource_schema(r);
    if (!t) return 0;
    json_t *paths = NULL;
    size_t n = sk_schema_unknown_fields(t, obj, &paths);
    int rc = 0;
    if (n && fv && !strcmp(fv, "Strict")) {
        sk_buf b = SK_BUF_INIT;
        for (size_t i = 0; i < json_array_size(paths); i++)
            sk_buf_addf(&b, "%sunknown field \"%s\"", i ? ", " : "",
                        json_string_value(json_array_get(paths, i)));
        rc = sk_err_set(err, SK_EBADREQUEST,
                        "%s in version \"%s\" cannot be handled as a %s: strict decoding error: %s",
                        r->kind, r->version, r->kind, b.data);
        sk_buf_release(&b);
    } else if (n) {
        for (size_t i = 0; i < json_array_size(paths); i++) {
            const char *p = json_string_value(json_array_get(paths, i));
            if (!ignore) sk_req_warn(q, "unknown field \"%s\"", p);
            drop_path(obj, p);
        }
    }
    json_decref(paths);
    return rc;
}

/* FieldsV1 of the fields set in v, a few levels deep: enough for kubectl's
 * client-side-apply upgrade logic, small enough to keep objects lean. */
static json_t *fields_v1(const json_t *v, int depth)
{
    json_t *f = json_object();
    if (!json_is_object(v) || depth == 0) return f;
    const char *k;
    json_t *c;
    json_object_foreach((json_t *)v, k, c) {
        if (depth == 3 && (!strcmp(k, "status") || !strcmp(k, "apiVersion") || !strcmp(k, "kind")))
            continue;
        if (depth == 2 && !strcmp(k, "managedFields")) continue;
        char key[300];
        snprintf(key, sizeof key, "f:%s", k);
        json_object_set_new(f, key, fields_v1(c, depth - 1));
    }
    return f;
}

void sk_set_managed(struct sk_req *q, json_t *obj, const char *op)
{
    const char *mgr = sk_req_arg(q, "fieldManager");
    if (!mgr || !*mgr) return;
    json_t *meta = sk_json_obj(obj, "metadata");
    json_t *mf = json_object_get(meta, "managedFields");
    if (!json_is_array(mf)) {
        mf = json_array();
        json_object_set_new(meta, "managedFields", mf);
    }
    char ts[40];
    now_rfc3339(ts, sizeof ts);
    size_t i;
    json_t *e;
    json_array_foreach(mf, i, e) {
        const char *m = sk_json_str(e, "manager"), *o = sk_json_str(e, "operation");
        if (m && o && !strcmp(m, mgr) && !strcmp(o, op)) {
            json_object_set_new(e, "time", json_string(ts));
            json_object_set_new(e, "fieldsType", json_string("FieldsV1"));
            json_object_set_new(e, "fieldsV1", fields_v1(obj, 3));
            return;
        }
    }
    if (json_array_size(mf) >= 16) return; /* kept small */
    json_array_append_new(mf, json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "manager", mgr, "operation", op,
                                        "apiVersion", sk_json_str(obj, "apiVersion"), "time", ts,
                                        "fieldsType", "FieldsV1", "fieldsV1", fields_v1(obj, 3)));
}

