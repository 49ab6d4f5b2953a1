/* OpenAPI v3 documents, one per group/version of the registry, generated
 * from the schema tables. kubectl uses them for three things:
 *  - apply/edit: a patch operation carrying x-kubernetes-group-version-kind
 *    and a `fieldValidation` query parameter means "the server validates"
 *    (otherwise kubectl falls back to /openapi/v2 and fails);
 *  - apply: strategic-merge patch metadata (x-kubernetes-patch-merge-key /
 *    -strategy, resolved through allOf[0].$ref and items);
 *  - explain: components.schemas with x-kubernetes-group-version-kind,
 *    descriptions and $ref/allOf properties.
 * Documents and the index are built once (pthread_once) and shared; the
 * functions return new references to the cached, immutable values. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/schema_types.h"

#define REF_PREFIX "#/components/schemas/"
#define N_TIME "io.k8s.apimachinery.pkg.apis.meta.v1.Time"
#define N_MICROTIME "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime"
#define N_QUANTITY "io.k8s.apimachinery.pkg.api.resource.Quantity"
#define N_INTORSTR "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
#define N_RAW "io.k8s.apimachinery.pkg.runtime.RawExtension"
#define N_FIELDSV1 "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1"
#define N_STATUS "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
#define N_LISTMETA "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"
#define MAX_INLINE_DEPTH 8

/* ---- schemas ----------------------------------------------------------- */

static json_t *ref_to(const char *name)
{
    char buf[256];
    snprintf(buf, sizeof buf, REF_PREFIX "%s", name);
    return json_pack("{s:s}", "$ref", buf);
}

/* Named schema of a special type, or NULL for plain JSON types. */
static const char *special_name(enum sk_ftype t)
{
    switch (t) {
    case SK_F_TIME: return N_TIME;
    case SK_F_MICROTIME: return N_MICROTIME;
    case SK_F_QUANTITY: return N_QUANTITY;
    case SK_F_INTORSTR: return N_INTORSTR;
    case SK_F_RAW: return N_RAW;
    case SK_F_FIELDSV1: return N_FIELDSV1;
    default: return NULL;
    }
}

/* Schema of one element of f (no description). */
static json_t *elem_schema(const struct sk_field *f, bool *is_ref)
{
    *is_ref = false;
    switch (f->type) {
    case SK_F_STRING:
    case SK_F_DURATION: return json_pack("{s:s}", "type", "string");
    case SK_F_INT:
        return json_pack("{s:s,s:s}", "type", "integer", "format",
                         (f->flags & SK_FL_INT64) ? "int64" : "int32");
    case SK_F_BOOL: return json_pack("{s:s}", "type", "boolean");
    case SK_F_DOUBLE: return json_pack("{s:s,s:s}", "type", "number", "format", "double");
    case SK_F_BYTES: return json_pack("{s:s,s:s}", "type", "string", "format", "byte");
    case SK_F_MSG:
        *is_ref = true;
        return ref_to(f->msg ? f->msg->name : "io.k8s.unknown");
    default:
        *is_ref = true;
        return ref_to(special_name(f->type));
    }
}

/* A $ref cannot carry siblings in OpenAPI 3.0, so a described reference is
 * wrapped in allOf as upstream does. */
static json_t *wrap_ref(json_t *ref, bool struct_default)
{
    json_t *s = json_object();
    json_object_set_new(s, "allOf", json_pack("[o]", ref));
    if (struct_default) json_object_set_new(s, "default", json_object());
    return s;
}

static json_t *field_schema(const struct sk_field *f)
{
    bool is_ref;
    json_t *e = elem_schema(f, &is_ref);
    json_t *s;
    if (f->flags & SK_FL_MAP) {
        if (f->flags & SK_FL_REPEATED) e = json_pack("{s:s,s:o}", "type", "array", "items", e);
        s = json_pack("{s:s,s:o}", "type", "object", "additionalProperties", e);
    } else if (f->flags & SK_FL_REPEATED) {
        if (is_ref && f->type == SK_F_MSG) e = wrap_ref(e, true);
        s = json_pack("{s:s,s:o}", "type", "array", "items", e);
        if (f->merge_key) {
            json_object_set_new(s, "x-kubernetes-list-type", json_string("map"));
            json_object_set_new(s, "x-kubernetes-list-map-keys", json_pack("[s]", f->merge_key));
        } else {
            json_object_set_new(s, "x-kubernetes-list-type", json_string("atomic"));
        }
    } else if (is_ref) {
        s = wrap_ref(e, f->type == SK_F_MSG && !(f->flags & SK_FL_PTR));
    } else {
        s = e;
    }
    if (f->desc) json_object_set_new(s, "description", json_string(f->desc));
    if (f->merge_key) json_object_set_new(s, "x-kubernetes-patch-merge-key", json_string(f->merge_key));
    if (f->strategy) json_object_set_new(s, "x-kubernetes-patch-strategy", json_string(f->strategy));
    return s;
}

/* Inline-embedded structs contribute their fields to the parent. */
static void add_properties(const struct sk_type *t, json_t *props, json_t *req, int depth)
{
    if (!t || depth > MAX_INLINE_DEPTH) return;
    for (size_t i = 0; i < t->nfields; i++) {
        const struct sk_field *f = &t->fields[i];
        if (SK_FIELD_IS_INLINE(f)) {
            add_properties(f->msg, props, req, depth + 1);
            continue;
        }
        json_object_set_new(props, f->name, field_schema(f));
        if (f->flags & SK_FL_REQUIRED) json_array_append_new(req, json_string(f->name));
    }
}

static json_t *gvk_obj(const char *group, const char *version, const char *kind)
{
    return json_pack("{s:s,s:s,s:s}", "group", group ? group : "", "kind", kind, "version",
                     version);
}

static json_t *type_schema(const struct sk_type *t)
{
    json_t *s = json_object(), *props = json_object(), *req = json_array();
    if (t->desc) json_object_set_new(s, "description", json_string(t->desc));
    json_object_set_new(s, "type", json_string("object"));
    add_properties(t, props, req, 0);
    json_object_set_new(s, "properties", props);
    if (json_array_size(req))
        json_object_set_new(s, "required", req);
    else
        json_decref(req);
    if (t->kind)
        json_object_set_new(s, "x-kubernetes-group-version-kind",
                            json_pack("[o]", gvk_obj(t->group, t->version, t->kind)));
    /* Incompletely described types must not make clients drop fields. */
    if (t->open) json_object_set_new(s, "x-kubernetes-preserve-unknown-fields", json_true());
    return s;
}

static json_t *special_schema(const char *name)
{
    if (!strcmp(name, N_TIME) || !strcmp(name, N_MICROTIME))
        return json_pack("{s:s,s:s,s:s}", "description",
                         !strcmp(name, N_TIME)
                             ? "A timestamp in RFC 3339 form, second precision, UTC."
                             : "A timestamp in RFC 3339 form with microseconds, UTC.",
                         "type", "string", "format", "date-time");
    if (!strcmp(name, N_QUANTITY))
        return json_pack("{s:s,s:s}", "description",
                         "A fixed-point number with an optional suffix: \"100m\", \"1.5Gi\", "
                         "\"2\", \"1e3\".", "type", "string");
    if (!strcmp(name, N_INTORSTR))
        return json_pack("{s:s,s:s,s:s,s:b}", "description",
                         "An integer or a string, e.g. a port number or a port name, a count "
                         "or a percentage.", "type", "string", "format", "int-or-string",
                         "x-kubernetes-int-or-string", 1);
    if (!strcmp(name, N_RAW))
        return json_pack("{s:s,s:s,s:b}", "description", "An embedded JSON object.", "type",
                         "object", "x-kubernetes-preserve-unknown-fields", 1);
    return json_pack("{s:s,s:s}", "description",
                     "Set of fields in the managedFields trie format (JSON).", "type", "object");
}

/* ---- the types of one document ------------------------------------------- */

struct tset {
    const struct sk_type **v;
    size_t n, cap;
    json_t *specials; /* object: special name -> true */
};

static void tset_add(struct tset *s, const struct sk_type *t)
{
    if (!t) return;
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == t || !strcmp(s->v[i]->name, t->name)) return;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = sk_realloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = t;
}

static void tset_scan_fields(struct tset *s, const struct sk_type *t, int depth)
{
    if (!t || depth > MAX_INLINE_DEPTH) return;
    for (size_t i = 0; i < t->nfields; i++) {
        const struct sk_field *f = &t->fields[i];
        if (SK_FIELD_IS_INLINE(f))
            tset_scan_fields(s, f->msg, depth + 1);
        else if (f->type == SK_F_MSG)
            tset_add(s, f->msg);
        else if (special_name(f->type))
            json_object_set_new(s->specials, special_name(f->type), json_true());
    }
}

/* Breadth-first closure; s->v grows while it is walked. */
static void tset_close(struct tset *s)
{
    for (size_t i = 0; i < s->n; i++) tset_scan_fields(s, s->v[i], 0);
}

static int cmp_type_name(const void *a, const void *b)
{
    return strcmp((*(const struct sk_type *const *)a)->name,
                  (*(const struct sk_type *const *)b)->name);
}

static json_t *described(json_t *s, const char *desc)
{
    json_object_set_new(s, "description", json_string(desc));
    return s;
}

/* <Kind>List: synthesized, the tables have no list types. */
static json_t *list_schema(const struct sk_type *t)
{
    char kind[128], desc[192];
    snprintf(kind, sizeof kind, "%sList", t->kind);
    snprintf(desc, sizeof desc, "A list of %s objects.", t->kind);
    json_t *props = json_object();
    json_object_set_new(props, "apiVersion",
                        described(json_pack("{s:s}", "type", "string"),
                                  "Versioned schema of this representation of the object."));
    json_object_set_new(props, "items",
                        described(json_pack("{s:s,s:o}", "type", "array", "items",
                                            wrap_ref(ref_to(t->name), true)),
                                  "The objects."));
    json_object_set_new(props, "kind",
                        described(json_pack("{s:s}", "type", "string"),
                                  "REST resource this object represents."));
    json_object_set_new(props, "metadata",
                        described(wrap_ref(ref_to(N_LISTMETA), true), "Standard list metadata."));
    json_t *s = json_pack("{s:s,s:s,s:o,s:[s]}", "description", desc, "type", "object",
                          "properties", props, "required", "items");
    json_object_set_new(s, "x-kubernetes-group-version-kind",
                        json_pack("[o]", gvk_obj(t->group, t->version, kind)));
    return s;
}

static void add_schemas(json_t *schemas, const struct sk_resource *const *rs, size_t n)
{
    struct tset s = {NULL, 0, 0, json_object()};
    for (size_t i = 0; i < n; i++) {
        const struct sk_type *t = sk_resource_schema(rs[i]);
        tset_add(&s, t);
        if (rs[i]->subresources & SK_SUB_SCALE)
            tset_add(&s, sk_schema_kind("autoscaling", "v1", "Scale"));
        if (t && (rs[i]->verbs & SK_V_LIST)) {
            char name[256];
            snprintf(name, sizeof name, "%sList", t->name);
            json_object_set_new(schemas, name, list_schema(t));
            tset_add(&s, &sk_type_meta_v1_ListMeta);
        }
    }
    tset_add(&s, &sk_type_meta_v1_Status);
    tset_close(&s);
    qsort(s.v, s.n, sizeof *s.v, cmp_type_name);
    for (size_t i = 0; i < s.n; i++)
        json_object_set_new(schemas, s.v[i]->name, type_schema(s.v[i]));
    const char *k;
    json_t *v;
    json_object_foreach(s.specials, k, v) json_object_set_new(schemas, k, special_schema(k));
    json_decref(s.specials);
    free(s.v);
}

/* ---- paths --------------------------------------------------------------- */

struct opctx {
    const struct sk_resource *r;
    char prefix[160];  /* "/apis/apps/v1" */
    char opname[160];  /* "AppsV1NamespacedDeployment" */
    char list[256];    /* collection path */
    char item[280];    /* object path */
};

static json_t *query_param(const char *name, const char *type, const char *desc)
{
    return json_pack("{s:s,s:s,s:s,s:{s:s,s:b}}", "name", name, "in", "query", "description",
                     desc, "schema", "type", type, "uniqueItems", 1);
}

static json_t *path_param(const char *name, const char *desc)
{
    return json_pack("{s:s,s:s,s:s,s:b,s:{s:s,s:b}}", "name", name, "in", "path",
                     "description", desc, "required", 1, "schema", "type", "string",
                     "uniqueItems", 1);
}

/* Parameters of writes; fieldValidation is what kubectl apply/edit look
 * for before sending fieldValidation=Strict. */
static json_t *write_params(bool patch)
{
    json_t *a = json_array();
    json_array_append_new(a, query_param("dryRun", "string",
                                         "When present (All), validate but do not persist."));
    json_array_append_new(a, query_param("fieldManager", "string",
                                         "Name of the actor making the change."));
    json_array_append_new(a, query_param("fieldValidation", "string",
                                         "Ignore, Warn or Strict: how unknown or duplicate "
                                         "fields in the body are handled."));
    if (patch)
        json_array_append_new(a, query_param("force", "boolean",
                                             "Apply patches only: take over conflicting fields."));
    return a;
}

static json_t *list_params(void)
{
    static const char *const names[][3] = {
        {"labelSelector", "string", "Selector restricting the objects by their labels."},
        {"fieldSelector", "string", "Selector restricting the objects by their fields."},
        {"limit", "integer", "Maximum number of objects to return."},
        {"continue", "string", "Token from a previous page."},
        {"resourceVersion", "string", "Version the list or watch starts from."},
        {"timeoutSeconds", "integer", "Timeout of a watch."},
        {"watch", "boolean", "Stream changes instead of listing."},
    };
    json_t *a = json_array();
    for (size_t i = 0; i < SK_ARRAY_LEN(names); i++)
        json_array_append_new(a, query_param(names[i][0], names[i][1], names[i][2]));
    return a;
}

static json_t *json_content(json_t *schema)
{
    return json_pack("{s:{s:o}}", "application/json", "schema", schema);
}

static json_t *patch_content(void)
{
    static const char *const types[] = {
        "application/apply-patch+yaml", "application/json-patch+json",
        "application/merge-patch+json", "application/strategic-merge-patch+json",
    };
    json_t *c = json_object();
    for (size_t i = 0; i < SK_ARRAY_LEN(types); i++)
        json_object_set_new(c, types[i], json_pack("{s:{s:s}}", "schema", "type", "object"));
    return c;
}

/* One operation. verb: "get", "put", ...; action: x-kubernetes-action;
 * gvk_* and resp name the object type; body: request body kind (NULL =
 * none, "patch" = patch types). */
static json_t *operation(const struct opctx *c, const char *verb, const char *action,
                         const char *suffix, const char *g, const char *v, const char *k,
                         const char *resp, const char *body, json_t *params)
{
    char id[256];
    snprintf(id, sizeof id, "%s%s%s", verb, c->opname, suffix);
    json_t *op = json_object();
    json_object_set_new(op, "operationId", json_string(id));
    json_object_set_new(op, "description", json_string(action));
    if (params) json_object_set_new(op, "parameters", params);
    if (body && !strcmp(body, "patch"))
        json_object_set_new(op, "requestBody",
                            json_pack("{s:o,s:b}", "content", patch_content(), "required", 1));
    else if (body)
        json_object_set_new(op, "requestBody", json_pack("{s:o,s:b}", "content",
                                                         json_content(ref_to(body)), "required", 1));
    json_object_set_new(op, "responses",
                        json_pack("{s:{s:s,s:o},s:{s:s}}", "200", "description", "OK", "content",
                                  json_content(ref_to(resp)), "401", "description",
                                  "Unauthorized"));
    json_object_set_new(op, "x-kubernetes-action", json_string(action));
    json_object_set_new(op, "x-kubernetes-group-version-kind", gvk_obj(g, v, k));
    return op;
}

static json_t *path_item(const struct sk_resource *r, bool named, const char *what)
{
    json_t *params = json_array();
    char desc[160];
    if (named) {
        snprintf(desc, sizeof desc, "name of the %s", what);
        json_array_append_new(params, path_param("name", desc));
    }
    if (r->namespaced)
        json_array_append_new(params,
                              path_param("namespace", "object name and auth scope, such as for "
                                                      "teams and projects"));
    return json_pack("{s:o}", "parameters", params);
}

static void add_item_ops(json_t *paths, const struct opctx *c, const char *suffix,
                         const char *g, const char *v, const char *k, const char *type_name,
                         unsigned verbs)
{
    const struct sk_resource *r = c->r;
    char path[320];
    snprintf(path, sizeof path, "%s%s%s", c->item, suffix[0] ? "/" : "", suffix);
    for (char *p = path + strlen(c->item); *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    json_t *pi = path_item(r, true, k);
    if (verbs & SK_V_GET)
        json_object_set_new(pi, "get", operation(c, "read", "get", suffix, g, v, k, type_name,
                                                 NULL, NULL));
    if (verbs & SK_V_UPDATE)
        json_object_set_new(pi, "put", operation(c, "replace", "put", suffix, g, v, k, type_name,
                                                 type_name, write_params(false)));
    if (verbs & SK_V_PATCH)
        json_object_set_new(pi, "patch", operation(c, "patch", "patch", suffix, g, v, k,
                                                   type_name, "patch", write_params(true)));
    if ((verbs & SK_V_DELETE) && !suffix[0])
        json_object_set_new(pi, "delete", operation(c, "delete", "delete", "", g, v, k, N_STATUS,
                                                    NULL, NULL));
    if (json_object_size(pi) > 1)
        json_object_set_new(paths, path, pi);
    else
        json_decref(pi);
}

static void opctx_init(struct opctx *c, const struct sk_resource *r)
{
    c->r = r;
    if (r->group[0])
        snprintf(c->prefix, sizeof c->prefix, "/apis/%s/%s", r->group, r->version);
    else
        snprintf(c->prefix, sizeof c->prefix, "/api/%s", r->version);
    snprintf(c->list, sizeof c->list, "%s%s/%s", c->prefix,
             r->namespaced ? "/namespaces/{namespace}" : "", r->plural);
    snprintf(c->item, sizeof c->item, "%s/{name}", c->list);

    /* "rbac.authorization.k8s.io" -> "RbacAuthorization" */
    sk_buf b = SK_BUF_INIT;
    const char *g = r->group[0] ? r->group : "core";
    size_t glen = strlen(g);
    if (glen > 7 && !strcmp(g + glen - 7, ".k8s.io")) glen -= 7;
    bool up = true;
    for (size_t i = 0; i < glen; i++) {
        char ch = g[i];
        if (ch == '.') {
            up = true;
            continue;
        }
        if (up && ch >= 'a' && ch <= 'z') ch = (char)(ch - 'a' + 'A');
        up = false;
        sk_buf_add(&b, &ch, 1);
    }
    snprintf(c->opname, sizeof c->opname, "%s%c%s%s%s", b.data ? b.data : "",
             r->version[0] >= 'a' && r->version[0] <= 'z' ? r->version[0] - 'a' + 'A'
                                                          : r->version[0],
             r->version + 1, r->namespaced ? "Namespaced" : "", r->kind);
    sk_buf_release(&b);
}

static void add_resource_paths(json_t *paths, const struct sk_resource *r)
{
    struct opctx c;
    opctx_init(&c, r);
    const struct sk_type *t = sk_resource_schema(r);
    char tname[256], lname[280];
    snprintf(tname, sizeof tname, "%s", t ? t->name : "io.k8s.unknown");
    snprintf(lname, sizeof lname, "%sList", tname);
    const char *g = r->group, *v = r->version, *k = r->kind;

    json_t *pi = path_item(r, false, k);
    if (r->verbs & SK_V_LIST)
        json_object_set_new(pi, "get", operation(&c, "list", "list", "", g, v, k, lname, NULL,
                                                 list_params()));
    if (r->verbs & SK_V_CREATE)
        json_object_set_new(pi, "post", operation(&c, "create", "post", "", g, v, k, tname,
                                                  tname, write_params(false)));
    if (r->verbs & SK_V_DELETECOLLECTION)
        json_object_set_new(pi, "delete", operation(&c, "deleteCollection", "deletecollection",
                                                    "", g, v, k, N_STATUS, NULL, list_params()));
    if (json_object_size(pi) > 1)
        json_object_set_new(paths, c.list, pi);
    else
        json_decref(pi);

    add_item_ops(paths, &c, "", g, v, k, tname, r->verbs);
    unsigned sub_verbs = SK_V_GET | SK_V_UPDATE | SK_V_PATCH;
    if (r->subresources & SK_SUB_STATUS)
        add_item_ops(paths, &c, "Status", g, v, k, tname, sub_verbs);
    if (r->subresources & SK_SUB_SCALE)
        add_item_ops(paths, &c, "Scale", "autoscaling", "v1", "Scale",
                     "io.k8s.api.autoscaling.v1.Scale", sub_verbs);
}

/* ---- documents, index and cache ------------------------------------------ */

struct gvdoc {
    char path[128]; /* "api/v1", "apis/apps/v1" */
    json_t *doc;
    char hash[17];
};

static struct {
    struct gvdoc *v;
    size_t n;
    json_t *index;
} cache;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static json_t *build_doc(const struct sk_resource *const *rs, size_t n)
{
    json_t *paths = json_object(), *schemas = json_object();
    for (size_t i = 0; i < n; i++) add_resource_paths(paths, rs[i]);
    add_schemas(schemas, rs, n);
    return json_pack("{s:s,s:{s:s,s:s},s:o,s:{s:o}}", "openapi", "3.0.0", "info", "title",
                     "Kubernetes", "version", "unversioned", "paths", paths, "components",
                     "schemas", schemas);
}

/* FNV-1a 64 of the compact, key-sorted text: stable across runs. */
static void doc_hash(const json_t *doc, char out[17])
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *p = text ? text : ""; *p; p++) {
        h ^= (uint8_t)*p;
        h *= 0x100000001b3ULL;
    }
    free(text);
    snprintf(out, 17, "%016llX", (unsigned long long)h);
}

static void cache_build(void)
{
    size_t n;
    const struct sk_resource *const *rs = sk_resources(&n);
    const struct sk_resource **sel = sk_calloc(n ? n : 1, sizeof *sel);
    cache.v = sk_calloc(n ? n : 1, sizeof *cache.v);
    json_t *paths = json_object();
    for (size_t i = 0; i < n; i++) {
        char path[128];
        if (rs[i]->group[0])
            snprintf(path, sizeof path, "apis/%s/%s", rs[i]->group, rs[i]->version);
        else
            snprintf(path, sizeof path, "api/%s", rs[i]->version);
        if (json_object_get(paths, path)) continue;
        size_t m = 0;
        for (size_t j = i; j < n; j++)
            if (!strcmp(rs[j]->group, rs[i]->group) && !strcmp(rs[j]->version, rs[i]->version))
                sel[m++] = rs[j];
        struct gvdoc *d = &cache.v[cache.n++];
        snprintf(d->path, sizeof d->path, "%s", path);
        d->doc = build_doc(sel, m);
        doc_hash(d->doc, d->hash);
        char url[256];
        snprintf(url, sizeof url, "/openapi/v3/%s?hash=%s", path, d->hash);
        json_object_set_new(paths, path, json_pack("{s:s}", "serverRelativeURL", url));
    }
    free(sel);
    cache.index = json_pack("{s:o}", "paths", paths);
}

/* The returned values are shared and must not be modified; serialising
 * them concurrently is safe (jansson >= 2.13 keeps no state in values
 * while dumping, and reference counts are atomic). */
json_t *sk_openapi_v3_index(void)
{
    pthread_once(&cache_once, cache_build);
    return json_incref(cache.index);
}

json_t *sk_openapi_v3_doc(const char *gv_path)
{
    if (!gv_path) return NULL;
    while (*gv_path == '/') gv_path++;
    pthread_once(&cache_once, cache_build);
    for (size_t i = 0; i < cache.n; i++)
        if (!strcmp(cache.v[i].path, gv_path)) return json_incref(cache.v[i].doc);
    return NULL;
}
