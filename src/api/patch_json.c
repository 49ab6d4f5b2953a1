/* RFC 6902 JSON patch (application/json-patch+json), with the error texts
 * of gopkg.in/evanphx/json-patch.v4, which the API server uses.
 *
 * As upstream: the patch is a JSON array of at most 10000 operations
 * (413 beyond); an operation that cannot apply (missing path, failed test)
 * is 422 Invalid; a malformed operation (not an object, unknown op, path
 * not a string) is 400 here (upstream reports some of those as 422 too).
 * Also as upstream v4: "replace" of a missing member of an existing object
 * adds it. Differences: "add" at the root path replaces the document (RFC),
 * negative array indices are rejected, and the result's nesting depth and
 * the total size copied by "copy" are capped so a short patch cannot grow
 * the document without bound. */
#include "api/patch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define JP_MAX_OPS 10000
#define JP_MAX_DEPTH 512
#define JP_MAX_COPY_NODES (1 << 20)
#define JP_MAX_WORK (16u << 20) /* nodes measured by depth checks */

struct ptr {
    char **tok; /* decoded reference tokens */
    size_t n;
    const char *raw;
};

static void ptr_release(struct ptr *p)
{
    for (size_t i = 0; i < p->n; i++) free(p->tok[i]);
    free(p->tok);
    p->tok = NULL;
    p->n = 0;
}

/* RFC 6901: "" is the whole document, else "/"-separated tokens with
 * "~1" -> "/" and "~0" -> "~". Returns -1 for a path that names nothing. */
static int ptr_parse(const char *s, struct ptr *p)
{
    p->raw = s;
    p->tok = NULL;
    p->n = 0;
    if (!*s) return 0;
    if (*s != '/') return -1;
    size_t cap = 0;
    for (const char *t = s + 1;; t++) {
        const char *end = strchr(t, '/');
        size_t len = end ? (size_t)(end - t) : strlen(t);
        if (p->n >= JP_MAX_DEPTH) {
            ptr_release(p);
            return -1;
        }
        if (p->n == cap) p->tok = sk_realloc(p->tok, (cap = cap ? cap * 2 : 8) * sizeof *p->tok);
        char *d = sk_malloc(len + 1);
        size_t o = 0;
        for (size_t i = 0; i < len; i++) {
            if (t[i] == '~' && i + 1 < len && (t[i + 1] == '0' || t[i + 1] == '1')) {
                d[o++] = t[i + 1] == '0' ? '~' : '/';
                i++;
            } else {
                d[o++] = t[i];
            }
        }
        d[o] = 0;
        p->tok[p->n++] = d;
        if (!end) break;
        t = end;
    }
    return 0;
}

enum idx_rc { IDX_OK, IDX_SYNTAX, IDX_RANGE };

/* strconv.Atoi-like parse of an array index; "-" handled by callers. */
static enum idx_rc parse_index(const char *s, long long *out)
{
    const char *d = (*s == '+' || *s == '-') ? s + 1 : s;
    if (*d < '0' || *d > '9') return IDX_SYNTAX;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end) return IDX_SYNTAX;
    if (errno) return IDX_RANGE;
    *out = v;
    return IDX_OK;
}

/* Walks all tokens but the last; NULL when the parent does not exist. */
static json_t *ptr_parent(json_t *root, const struct ptr *p)
{
    json_t *cur = root;
    for (size_t i = 0; cur && i + 1 < p->n; i++) {
        if (json_is_object(cur)) {
            cur = json_object_get(cur, p->tok[i]);
        } else if (json_is_array(cur)) {
            long long ix;
            if (parse_index(p->tok[i], &ix) != IDX_OK || ix < 0 ||
                (size_t)ix >= json_array_size(cur))
                return NULL;
            cur = json_array_get(cur, (size_t)ix);
        } else {
            return NULL;
        }
    }
    return json_is_object(cur) || json_is_array(cur) ? cur : NULL;
}

/* Error text for a bad index in an existing array, after prefix. */
static void index_error(sk_err *err, const char *prefix, const char *key, bool for_add)
{
    long long ix = 0;
    enum idx_rc rc = parse_index(key, &ix);
    if (rc == IDX_SYNTAX && for_add)
        sk_err_set(err, SK_EINVALID,
                   "%svalue was not a proper array index: '%s': strconv.Atoi: parsing \"%s\": "
                   "invalid syntax",
                   prefix, key, key);
    else if (rc != IDX_OK)
        sk_err_set(err, SK_EINVALID, "%sstrconv.Atoi: parsing \"%s\": %s", prefix, key,
                   rc == IDX_SYNTAX ? "invalid syntax" : "value out of range");
    else
        sk_err_set(err, SK_EINVALID,
                   "%sUnable to access invalid index: %lld: invalid index referenced", prefix, ix);
}

/* Existing array element index, or -1 with err set. */
static long long array_index(json_t *arr, const char *key, const char *prefix, sk_err *err)
{
    long long ix;
    if (parse_index(key, &ix) != IDX_OK || ix < 0 || (size_t)ix >= json_array_size(arr)) {
        index_error(err, prefix, key, false);
        return -1;
    }
    return ix;
}

/* Depth of v, counting visited nodes into *work (the caller bounds it). */
static int depth_of(const json_t *v, size_t *work)
{
    int best = 0;
    const char *k;
    json_t *c;
    size_t i;
    (*work)++;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, c) {
            int d = depth_of(c, work);
            if (d > best) best = d;
        }
        return best + 1;
    }
    if (json_is_array(v)) {
        json_array_foreach(v, i, c) {
            int d = depth_of(c, work);
            if (d > best) best = d;
        }
        return best + 1;
    }
    return 0;
}

/* Bounded node count of v. */
static size_t nodes_of(const json_t *v, size_t limit)
{
    size_t n = 1;
    const char *k;
    json_t *c;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, c) {
            if (n > limit) break;
            n += nodes_of(c, limit - n);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, c) {
            if (n > limit) break;
            n += nodes_of(c, limit - n);
        }
    }
    return n;
}

/* Texts of one operation's failures, rendered up front. */
struct msgs {
    char missing[600]; /* the target's parent does not exist */
    char prefix[600];  /* prepended to index/key errors */
};

struct op_ctx {
    json_t **root;
    const json_t *op;
    struct ptr path, from;
    size_t copied, work;
};

/* Values enter the document at most JP_MAX_DEPTH deep. Measuring them is
 * charged to a budget so many moves of a big subtree stay cheap to reject.
 * Values are at most as deep as the (parsed, depth-capped) input, so the
 * recursion above is bounded. */
static int too_deep(struct op_ctx *c, const struct ptr *p, const json_t *val, sk_err *err)
{
    if (c->work > JP_MAX_WORK)
        return sk_err_set(err, SK_EINVALID, "json patch too expensive to apply");
    if ((int)p->n + depth_of(val, &c->work) <= JP_MAX_DEPTH) return 0;
    return sk_err_set(err, SK_EINVALID, "json patch result nested deeper than %d levels",
                      JP_MAX_DEPTH);
}

/* Inserts val (ownership taken) at p: object member set, array insert or
 * append ("-"). The root replaces the document. */
static int put(struct op_ctx *c, const struct ptr *p, json_t *val, const struct msgs *m,
               sk_err *err)
{
    json_t **root = c->root;
    if (too_deep(c, p, val, err) < 0) {
        json_decref(val);
        return -1;
    }
    if (p->n == 0) {
        json_decref(*root);
        *root = val;
        return 0;
    }
    json_t *parent = ptr_parent(*root, p);
    const char *key = p->tok[p->n - 1];
    if (!parent) {
        json_decref(val);
        return sk_err_set(err, SK_EINVALID, "%s", m->missing);
    }
    if (json_is_object(parent)) return json_object_set_new(parent, key, val), 0;
    if (!strcmp(key, "-")) return json_array_append_new(parent, val), 0;
    long long ix;
    if (parse_index(key, &ix) != IDX_OK || ix < 0 || (size_t)ix > json_array_size(parent)) {
        json_decref(val);
        index_error(err, m->prefix, key, true);
        return -1;
    }
    json_array_insert_new(parent, (size_t)ix, val);
    return 0;
}

/* Borrowed value at p, or NULL with err set. */
static json_t *get(json_t *root, const struct ptr *p, const struct msgs *m, sk_err *err)
{
    if (p->n == 0) return root;
    json_t *parent = ptr_parent(root, p);
    const char *key = p->tok[p->n - 1];
    json_t *v = NULL;
    if (!parent || (json_is_object(parent) && !(v = json_object_get(parent, key)))) {
        sk_err_set(err, SK_EINVALID, "%s", m->missing);
        return NULL;
    }
    if (v) return v;
    long long ix = array_index(parent, key, m->prefix, err);
    return ix < 0 ? NULL : json_array_get(parent, (size_t)ix);
}

/* Detaches and returns the value at p (new reference). */
static json_t *take(json_t *root, const struct ptr *p, const struct msgs *m, sk_err *err)
{
    json_t *parent = p->n ? ptr_parent(root, p) : NULL;
    if (!parent) {
        sk_err_set(err, SK_EINVALID, "%s", m->missing);
        return NULL;
    }
    const char *key = p->tok[p->n - 1];
    if (json_is_object(parent)) {
        json_t *v = json_incref(json_object_get(parent, key));
        if (!v) {
            sk_err_set(err, SK_EINVALID, "%sUnable to remove nonexistent key: %s: missing value",
                       m->prefix, key);
            return NULL;
        }
        json_object_del(parent, key);
        return v;
    }
    long long ix = array_index(parent, key, m->prefix, err);
    if (ix < 0) return NULL;
    json_t *v = json_incref(json_array_get(parent, (size_t)ix));
    json_array_remove(parent, (size_t)ix);
    return v;
}

static int op_add(struct op_ctx *c, sk_err *err)
{
    struct msgs m;
    snprintf(m.missing, sizeof m.missing,
             "add operation does not apply: doc is missing path: \"%s\": missing value",
             c->path.raw);
    snprintf(m.prefix, sizeof m.prefix, "error in add for path: '%s': ", c->path.raw);
    return put(c, &c->path, json_deep_copy(json_object_get(c->op, "value")), &m, err);
}

static int op_remove(struct op_ctx *c, sk_err *err)
{
    struct msgs m;
    snprintf(m.missing, sizeof m.missing,
             "remove operation does not apply: doc is missing path: \"%s\": missing value",
             c->path.raw);
    snprintf(m.prefix, sizeof m.prefix, "error in remove for path: '%s': ", c->path.raw);
    json_t *v = take(*c->root, &c->path, &m, err);
    json_decref(v);
    return v ? 0 : -1;
}

static int op_replace(struct op_ctx *c, sk_err *err)
{
    struct msgs m;
    snprintf(m.missing, sizeof m.missing,
             "replace operation does not apply: doc is missing path: %s: missing value",
             c->path.raw);
    m.prefix[0] = 0;
    json_t *v = json_deep_copy(json_object_get(c->op, "value"));
    json_t *parent = c->path.n ? ptr_parent(*c->root, &c->path) : NULL;
    if (!json_is_array(parent)) return put(c, &c->path, v, &m, err);
    long long ix;
    if (parse_index(c->path.tok[c->path.n - 1], &ix) != IDX_OK || ix < 0 ||
        (size_t)ix >= json_array_size(parent)) {
        json_decref(v);
        return sk_err_set(err, SK_EINVALID,
                          "replace operation does not apply: doc is missing key: %s: missing value",
                          c->path.raw);
    }
    if (too_deep(c, &c->path, v, err) < 0) {
        json_decref(v);
        return -1;
    }
    json_array_set_new(parent, (size_t)ix, v);
    return 0;
}

static int op_move(struct op_ctx *c, sk_err *err)
{
    if (!strcmp(c->from.raw, c->path.raw)) return 0;
    struct msgs m;
    snprintf(m.missing, sizeof m.missing,
             "move operation does not apply: doc is missing from path: %s: missing value",
             c->from.raw);
    snprintf(m.prefix, sizeof m.prefix, "error in move for path: '%s': ",
             c->from.n ? c->from.tok[c->from.n - 1] : "");
    json_t *v = take(*c->root, &c->from, &m, err);
    if (!v) return -1;
    /* A destination inside the moved value no longer exists in the
     * document, so this fails like upstream instead of making a cycle. */
    snprintf(m.missing, sizeof m.missing,
             "move operation does not apply: doc is missing destination path: %s: missing value",
             c->path.raw);
    snprintf(m.prefix, sizeof m.prefix, "error in move for path: '%s': ", c->path.raw);
    return put(c, &c->path, v, &m, err);
}

static int op_copy(struct op_ctx *c, sk_err *err)
{
    struct msgs m;
    snprintf(m.missing, sizeof m.missing,
             "copy operation does not apply: doc is missing from path: %s: missing value",
             c->from.raw);
    snprintf(m.prefix, sizeof m.prefix, "error in copy for from: '%s': ", c->from.raw);
    if (c->from.n == 0) return sk_err_set(err, SK_EINVALID, "%s", m.missing);
    json_t *v = get(*c->root, &c->from, &m, err);
    if (!v) return -1;
    c->copied += nodes_of(v, JP_MAX_COPY_NODES);
    if (c->copied > JP_MAX_COPY_NODES)
        return sk_err_set(err, SK_EINVALID, "Unable to complete the copy, the accumulated size "
                          "increase of copy exceeds the limit of %d values", JP_MAX_COPY_NODES);
    snprintf(m.missing, sizeof m.missing,
             "copy operation does not apply: doc is missing destination path: %s: missing value",
             c->path.raw);
    snprintf(m.prefix, sizeof m.prefix, "error while adding value during copy: ");
    return put(c, &c->path, json_deep_copy(v), &m, err);
}

static int op_test(struct op_ctx *c, sk_err *err)
{
    struct msgs m;
    snprintf(m.missing, sizeof m.missing,
             "test operation does not apply: is missing path: %s: missing value", c->path.raw);
    snprintf(m.prefix, sizeof m.prefix, "error in test for path: '%s': ", c->path.raw);
    json_t *want = json_object_get(c->op, "value");
    json_t *have = *c->root;
    if (c->path.n) {
        json_t *parent = ptr_parent(*c->root, &c->path);
        const char *key = c->path.tok[c->path.n - 1];
        if (!parent) return sk_err_set(err, SK_EINVALID, "%s", m.missing);
        if (json_is_object(parent)) {
            have = json_object_get(parent, key);
        } else {
            long long ix = array_index(parent, key, m.prefix, err);
            if (ix < 0) return -1;
            have = json_array_get(parent, (size_t)ix);
        }
    }
    /* Upstream: a missing member equals an absent or null value. */
    if (!have && (!want || json_is_null(want))) return 0;
    if (have && want && json_equal(have, want)) return 0;
    return sk_err_set(err, SK_EINVALID, "testing value %s failed: test failed", c->path.raw);
}

static const struct {
    const char *name;
    int (*fn)(struct op_ctx *, sk_err *);
    bool needs_value, needs_from;
} ops_table[] = {
    {"add", op_add, true, false},     {"remove", op_remove, false, false},
    {"replace", op_replace, true, false}, {"move", op_move, false, true},
    {"copy", op_copy, false, true},   {"test", op_test, false, false},
};

static int apply_one(json_t **root, const json_t *op, size_t *copied, size_t *work, sk_err *err)
{
    if (!json_is_object(op))
        return sk_err_set(err, SK_EBADREQUEST,
                          "json: cannot unmarshal %s into Go value of type jsonpatch.Operation",
                          json_is_array(op) ? "array" : json_is_string(op) ? "string" : "number");
    const char *name = sk_json_str(op, "op");
    size_t i = 0;
    while (i < SK_ARRAY_LEN(ops_table) && (!name || strcmp(name, ops_table[i].name))) i++;
    if (i == SK_ARRAY_LEN(ops_table))
        return sk_err_set(err, SK_EBADREQUEST, "Unexpected kind: %s", name ? name : "unknown");
    const char *path = sk_json_str(op, "path");
    const char *from = sk_json_str(op, "from");
    if (!path)
        return sk_err_set(err, SK_EBADREQUEST, "%s operation failed to decode path: operation "
                          "missing path field: missing value", name);
    if (ops_table[i].needs_from && !from)
        return sk_err_set(err, SK_EBADREQUEST, "%s operation failed to decode from: operation, "
                          "missing from field: missing value", name);
    if (ops_table[i].needs_value && !json_object_get(op, "value"))
        return sk_err_set(err, SK_EBADREQUEST, "%s operation, missing value field: missing value",
                          name);
    struct op_ctx c = {root, op, {0}, {0}, *copied, *work};
    int rc = 0;
    if (ptr_parse(path, &c.path) < 0)
        rc = sk_err_set(err, SK_EINVALID, "%s operation does not apply: doc is missing path: "
                        "\"%s\": missing value", name, path);
    else if (from && ops_table[i].needs_from && ptr_parse(from, &c.from) < 0)
        rc = sk_err_set(err, SK_EINVALID, "%s operation does not apply: doc is missing from "
                        "path: %s: missing value", name, from);
    else
        rc = ops_table[i].fn(&c, err);
    *copied = c.copied;
    *work = c.work;
    ptr_release(&c.path);
    ptr_release(&c.from);
    return rc;
}

json_t *sk_json_patch(const json_t *doc, const json_t *ops, sk_err *err)
{
    if (!json_is_array(ops)) {
        sk_err_set(err, SK_EBADREQUEST,
                   "json: cannot unmarshal %s into Go value of type jsonpatch.Patch",
                   json_is_object(ops) ? "object" : json_is_string(ops) ? "string" : "number");
        return NULL;
    }
    size_t n = json_array_size(ops);
    if (n > JP_MAX_OPS) {
        sk_err_set(err, SK_ETOOLARGE,
                   "The allowed maximum operations in a JSON patch is %d, got %zu", JP_MAX_OPS, n);
        return NULL;
    }
    /* Malformed operations are rejected before any applies, as upstream
     * decodes the whole patch first. */
    for (size_t i = 0; i < n; i++) {
        const json_t *op = json_array_get(ops, i);
        if (!json_is_object(op)) {
            size_t z = 0, w = 0;
            apply_one(NULL, op, &z, &w, err);
            return NULL;
        }
    }
    json_t *root = doc ? json_deep_copy(doc) : json_null();
    size_t copied = 0, work = 0;
    for (size_t i = 0; i < n; i++) {
        if (apply_one(&root, json_array_get(ops, i), &copied, &work, err) < 0) {
            json_decref(root);
            return NULL;
        }
    }
    return root;
}
