/* Strategic merge patch (application/strategic-merge-patch+json) with the
 * server-side semantics of apimachinery's strategicpatch (v0.32): merge
 * options MergeParallelList and IgnoreUnmatchedNulls.
 *
 * Per field the schema gives a strategy ("merge", "replace", "retainKeys",
 * comma-joined) and a merge key. A list is merged when its strategy says
 * "merge" (or it has a merge key): lists of objects by key, lists of
 * scalars as a union; every other list is replaced. Fields unknown to the
 * schema get JSON-merge-patch treatment (upstream rejects some of those).
 * Directives: "$patch": replace|delete (maps and list elements),
 * "$retainKeys", "$setElementOrder/<list>", "$deleteFromPrimitiveList/<list>".
 * None of them survive into the result.
 *
 * List order follows upstream exactly (checked against apimachinery's
 * strategicpatch test cases), including its Go slice aliasing quirk.
 *
 * Deliberate differences: "$patch": "merge" is accepted and ignored;
 * elements appended to a list are cleaned of nulls and directives; merged
 * lists are capped at SMP_MAX_LIST elements and patches at SMP_MAX_DEPTH
 * levels; unknown fields never fail. */
#include "api/patch.h"

#include <string.h>

#define SMP_MAX_DEPTH 128
#define SMP_MAX_LIST 4096

#define P_DIRECTIVE "$patch"
#define P_RETAIN "$retainKeys"
#define P_ORDER "$setElementOrder/"
#define P_DELETE_PRIM "$deleteFromPrimitiveList/"

/* The type of a JSON object being merged: a message, or a map whose values
 * are t (t NULL = unknown/scalar). */
struct tctx {
    const struct sk_type *t;
    bool map;
};

struct finfo {
    struct tctx sub;       /* type of the value, or of list elements */
    const char *merge_key; /* lists of objects */
    bool merge, replace;   /* strategy */
};

static json_t *smp_map(json_t *orig, const json_t *patch, struct tctx ctx, int depth, sk_err *err);

static bool has_prefix(const char *s, const char *p) { return !strncmp(s, p, strlen(p)); }

static bool has_token(const char *list, const char *tok)
{
    size_t n = strlen(tok);
    for (const char *p = list; p && *p;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == n && !strncmp(p, tok, n)) return true;
        p = c ? c + 1 : p + len;
    }
    return false;
}

static bool is_directive_key(const char *k)
{
    return !strcmp(k, P_DIRECTIVE) || !strcmp(k, P_RETAIN) || has_prefix(k, P_ORDER) ||
           has_prefix(k, P_DELETE_PRIM);
}

static struct finfo field_info(struct tctx ctx, const char *key)
{
    struct finfo fi = {{NULL, false}, NULL, false, false};
    if (ctx.map) {
        fi.sub.t = ctx.t;
        return fi;
    }
    const struct sk_field *f = ctx.t ? sk_schema_field(ctx.t, key) : NULL;
    if (!f) return fi;
    fi.sub.t = f->type == SK_F_MSG ? f->msg : NULL;
    fi.sub.map = (f->flags & SK_FL_MAP) != 0;
    fi.merge_key = f->merge_key;
    fi.replace = has_token(f->strategy, "replace");
    fi.merge = has_token(f->strategy, "merge") || (f->merge_key && !fi.replace);
    return fi;
}

/* Compact JSON for error messages (caller frees). */
static char *dump(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    return s ? s : sk_strdup("?");
}

static int err_no_key(sk_err *err, const json_t *map, const char *mk)
{
    _sk_free_ char *s = dump(map);
    return sk_err_set(err, SK_EBADREQUEST, "map: %s does not contain declared merge key: %s", s,
                      mk ? mk : "");
}

/* ---- cleaning patch values (removeDirectives + discardNullValues) -------- */

static json_t *clean(const json_t *v);

/* Copies an object's members without nulls and directive keys. */
static json_t *clean_members(const json_t *obj)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        if (json_is_null(v) || is_directive_key(k)) continue;
        json_t *c = clean(v);
        if (c) json_object_set_new(out, k, c);
    }
    return out;
}

/* A deep copy of a patch value as it enters the result: maps holding
 * "$patch" are dropped (NULL), null members and directive keys removed. */
static json_t *clean(const json_t *v)
{
    if (json_is_object(v)) return json_object_get(v, P_DIRECTIVE) ? NULL : clean_members(v);
    if (json_is_array(v)) {
        json_t *out = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            json_t *c = clean(e);
            if (c) json_array_append_new(out, c);
        }
        return out;
    }
    return json_deep_copy(v);
}

/* ---- list helpers ------------------------------------------------------- */

/* The merge identity of an element: its merge key value, or itself. */
static const json_t *keyof(const json_t *e, const char *mk)
{
    return mk ? (json_is_object(e) ? json_object_get(e, mk) : NULL) : e;
}

static long index_of(const json_t *list, const json_t *e, const char *mk)
{
    const json_t *k = keyof(e, mk);
    if (!k) return -1;
    for (size_t j = 0; j < json_array_size(list); j++) {
        const json_t *kj = keyof(json_array_get(list, j), mk);
        if (kj && json_equal(kj, k)) return (long)j;
    }
    return -1;
}

/* Hash index of a list: compact JSON of each element's identity -> its
 * first position. Keeps list merges linear instead of quadratic. */
static char *key_str(const json_t *e, const char *mk)
{
    const json_t *k = keyof(e, mk);
    return k ? json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
}

static void key_add(json_t *idx, const json_t *e, const char *mk, size_t pos)
{
    _sk_free_ char *ks = key_str(e, mk);
    if (ks && !json_object_get(idx, ks)) json_object_set_new(idx, ks, json_integer((json_int_t)pos));
}

static json_t *key_index(const json_t *list, const char *mk)
{
    json_t *idx = json_object();
    for (size_t j = 0; j < json_array_size(list); j++) key_add(idx, json_array_get(list, j), mk, j);
    return idx;
}

static long key_lookup(const json_t *idx, const json_t *e, const char *mk)
{
    _sk_free_ char *ks = key_str(e, mk);
    json_t *v = ks ? json_object_get(idx, ks) : NULL;
    return v ? (long)json_integer_value(v) : -1;
}

enum kind { K_NONE, K_OBJECT, K_ARRAY, K_STRING, K_INT, K_REAL, K_BOOL, K_NULL };

static enum kind kind_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return K_OBJECT;
    case JSON_ARRAY: return K_ARRAY;
    case JSON_STRING: return K_STRING;
    case JSON_INTEGER: return K_INT;
    case JSON_REAL: return K_REAL;
    case JSON_TRUE:
    case JSON_FALSE: return K_BOOL;
    default: return K_NULL;
    }
}

/* The common element kind of two lists (K_NONE if both are empty). */
static int elem_kind(const json_t *a, const json_t *b, enum kind *out, sk_err *err)
{
    const json_t *lists[2] = {a, b};
    *out = K_NONE;
    for (int l = 0; l < 2; l++) {
        size_t i;
        json_t *e;
        json_array_foreach(lists[l], i, e) {
            enum kind k = kind_of(e);
            if (k == K_ARRAY) return sk_err_set(err, SK_EINVALID, "lists of lists are not supported");
            if (k == K_NULL || (*out != K_NONE && *out != k))
                return sk_err_set(err, SK_EBADREQUEST, "list element types are not identical");
            *out = k;
        }
    }
    return 0;
}

struct slot {
    long idx;
    size_t pos;
    json_t *e;
};

static int cmp_slot(const void *a, const void *b)
{
    const struct slot *x = a, *y = b;
    if (x->idx != y->idx) return x->idx < y->idx ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Sorts items by their position in order (absent ones last, stable). */
static struct slot *sort_by(json_t *const *items, size_t n, const json_t *order, const char *mk)
{
    struct slot *s = sk_calloc(n + 1, sizeof *s);
    json_t *idx = key_index(order, mk);
    for (size_t i = 0; i < n; i++) {
        long ix = key_lookup(idx, items[i], mk);
        s[i] = (struct slot){ix < 0 ? (long)SMP_MAX_LIST * 4 : ix, i, items[i]};
    }
    json_decref(idx);
    qsort(s, n, sizeof *s, cmp_slot);
    return s;
}

/* normalizeElementOrder + mergeSortedSlice: patch items in patch_order,
 * server-only items in server_order, interleaved by server_order where
 * both are known. Returns a new list holding new references. */
static json_t *order_items(json_t *const *pitems, size_t np, json_t *const *sitems, size_t ns,
                           const json_t *patch_order, const json_t *server_order, const char *mk)
{
    struct slot *r = sort_by(pitems, np, patch_order, mk);
    struct slot *l = sort_by(sitems, ns, server_order, mk);
    json_t *sidx = key_index(server_order, mk);
    for (size_t i = 0; i < np; i++) r[i].idx = key_lookup(sidx, r[i].e, mk);
    for (size_t i = 0; i < ns; i++) l[i].idx = key_lookup(sidx, l[i].e, mk);
    json_decref(sidx);
    json_t *out = json_array();
    size_t i = 0, j = 0;
    while (i < ns || j < np) {
        bool take_left = j >= np || (i < ns && l[i].idx >= 0 && r[j].idx >= 0 && l[i].idx < r[j].idx);
        json_array_append(out, take_left ? l[i++].e : r[j++].e);
    }
    free(r);
    free(l);
    return out;
}

/* Splits merged into items present in `by` (by merge identity) and the
 * rest, then orders them. Takes ownership of merged. */
static json_t *partition_order(json_t *merged, const json_t *by, const json_t *patch_order,
                               const json_t *server_order, const char *mk)
{
    size_t n = json_array_size(merged), np = 0, ns = 0;
    json_t **p = sk_calloc(n + 1, sizeof *p), **s = sk_calloc(n + 1, sizeof *s);
    json_t *bidx = key_index(by, mk);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(merged, i);
        if (key_lookup(bidx, e, mk) >= 0) p[np++] = e;
        else s[ns++] = e;
    }
    json_decref(bidx);
    json_t *out = order_items(p, np, s, ns, patch_order, server_order, mk);
    free(p);
    free(s);
    json_decref(merged);
    return out;
}

/* ---- merging lists ------------------------------------------------------ */

static json_t *merge_scalars(const json_t *orig, const json_t *patch, bool del)
{
    json_t *out = json_array();
    json_t *seen = del ? key_index(patch, NULL) : json_object();
    size_t i;
    json_t *e;
    json_array_foreach(orig, i, e) {
        if (key_lookup(seen, e, NULL) >= 0) continue;
        if (!del) key_add(seen, e, NULL, json_array_size(out));
        json_array_append_new(out, json_deep_copy(e));
    }
    if (!del) {
        json_array_foreach(patch, i, e) {
            if (key_lookup(seen, e, NULL) >= 0) continue;
            key_add(seen, e, NULL, json_array_size(out));
            json_array_append_new(out, json_deep_copy(e));
        }
    }
    json_decref(seen);
    return del ? out : partition_order(out, patch, patch, orig, NULL);
}

/* Go's slice aliasing is part of upstream's observable ordering: deleting
 * from the live list shifts its backing array in place (the tail keeps
 * stale copies) and appended elements reuse the freed slots; the
 * $setElementOrder step then orders by that array. `backing` (same length
 * as the live list) replays those writes. */
struct shadow {
    json_t *backing;
    size_t len; /* Go's len of the working slice */
};

static void shadow_delete(struct shadow *sh, size_t i)
{
    for (size_t k = i; k + 1 < sh->len; k++)
        json_array_set(sh->backing, k, json_array_get(sh->backing, k + 1));
    sh->len--;
}

static void shadow_append(struct shadow *sh, json_t *e)
{
    if (sh->len < json_array_size(sh->backing)) json_array_set(sh->backing, sh->len++, e);
}

/* Handles "$patch" elements: deletes matching entries from work, sets
 * *replace, and returns the remaining plain patch elements (new list). */
static json_t *special_elements(json_t *work, struct shadow *sh, const json_t *patch,
                                const char *mk, bool *replace, sk_err *err)
{
    json_t *plain = json_array();
    size_t i;
    json_t *e;
    *replace = false;
    json_array_foreach(patch, i, e) {
        json_t *d = json_object_get(e, P_DIRECTIVE);
        const char *ds = json_string_value(d);
        if (!d) {
            json_array_append(plain, e);
        } else if (ds && !strcmp(ds, "delete")) {
            if (!json_object_get(e, mk)) {
                json_decref(plain);
                err_no_key(err, e, mk);
                return NULL;
            }
            long ix;
            while ((ix = index_of(work, e, mk)) >= 0) {
                json_array_remove(work, (size_t)ix);
                shadow_delete(sh, (size_t)ix);
            }
        } else if (ds && !strcmp(ds, "replace")) {
            *replace = true;
        } else if (!ds || strcmp(ds, "merge")) {
            json_decref(plain);
            _sk_free_ char *dt = dump(d);
            _sk_free_ char *et = dump(e);
            sk_err_set(err, SK_EBADREQUEST, "unknown patch type: %s in map: %s", dt, et);
            return NULL;
        }
    }
    return plain;
}

static int check_objects(const json_t *list, const char *mk, bool need_key, sk_err *err)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        if (!json_is_object(e))
            return sk_err_set(err, SK_EBADREQUEST, "value for key %zu is not a map", i);
        if (need_key && !json_object_get(e, mk)) return err_no_key(err, e, mk);
    }
    return 0;
}

/* Merges lists of objects by key. *backing (optional) receives the live
 * list's array as upstream leaves it (see struct shadow). */
static json_t *merge_objects(const json_t *orig, const json_t *patch, const struct finfo *fi,
                             int depth, json_t **backing, sk_err *err)
{
    const char *mk = fi->merge_key;
    if (!mk) {
        sk_err_set(err, SK_EBADREQUEST, "cannot merge lists without merge key for %s",
                   fi->sub.t && fi->sub.t->name ? fi->sub.t->name : "unknown type");
        return NULL;
    }
    bool replace;
    json_t *work = json_deep_copy(orig), *server_order = NULL, *out = NULL, *widx = NULL;
    struct shadow sh = {json_copy(work), json_array_size(work)};
    json_t *plain = special_elements(work, &sh, patch, mk, &replace, err);
    if (!plain) goto done;
    if (replace) {
        out = clean(plain);
        goto done;
    }
    if (check_objects(plain, mk, true, err) < 0 || check_objects(work, mk, false, err) < 0)
        goto done;
    server_order = json_deep_copy(work);
    widx = key_index(work, mk);
    size_t i;
    json_t *p;
    json_array_foreach(plain, i, p) {
        long ix = key_lookup(widx, p, mk);
        json_t *cur = ix >= 0 ? json_incref(json_array_get(work, (size_t)ix)) : NULL;
        json_t *m = smp_map(cur, p, fi->sub, depth + 1, err);
        if (!m) goto done;
        if (ix >= 0) {
            json_array_set_new(work, (size_t)ix, m);
        } else {
            key_add(widx, p, mk, json_array_size(work));
            json_array_append_new(work, m);
            shadow_append(&sh, m);
        }
    }
    out = partition_order(SK_TAKE(work), plain, plain, server_order, mk);
done:
    if (out && backing) *backing = SK_TAKE(sh.backing);
    json_decref(sh.backing);
    json_decref(widx);
    json_decref(server_order);
    json_decref(work);
    json_decref(plain);
    return out;
}

/* mergeSlice: orig and patch are arrays; del = $deleteFromPrimitiveList. */
static json_t *smp_list(const json_t *orig, const json_t *patch, const struct finfo *fi, bool del,
                        int depth, json_t **backing, sk_err *err)
{
    if (json_array_size(orig) > SMP_MAX_LIST || json_array_size(patch) > SMP_MAX_LIST) {
        sk_err_set(err, SK_EBADREQUEST, "list too long for a strategic merge (max %d elements)",
                   SMP_MAX_LIST);
        return NULL;
    }
    enum kind k;
    if (elem_kind(orig, patch, &k, err) < 0) return NULL;
    if (k == K_NONE) return json_array();
    if (k != K_OBJECT) return merge_scalars(orig, patch, del);
    if (del) {
        sk_err_set(err, SK_EBADREQUEST, "invalid patch format of primitive list");
        return NULL;
    }
    return merge_objects(orig, patch, fi, depth, backing, err);
}

/* ---- directives on maps --------------------------------------------------- */

static int retain_keys(json_t *orig, const json_t *patch, sk_err *err)
{
    const json_t *rk = json_object_get(patch, P_RETAIN);
    if (!rk) return 0;
    if (!json_is_array(rk))
        return sk_err_set(err, SK_EBADREQUEST, "invalid patch format of retainKeys");
    /* The list as a set of names (non-strings can match no key). */
    json_t *keep = json_object();
    size_t i;
    json_t *v;
    json_array_foreach(rk, i, v) {
        if (json_is_string(v)) json_object_set_new(keep, json_string_value(v), json_true());
    }
    const char *k;
    int rc = 0;
    json_object_foreach((json_t *)patch, k, v) {
        if (json_is_null(v) || is_directive_key(k) || json_object_get(keep, k)) continue;
        rc = sk_err_set(err, SK_EBADREQUEST, "invalid patch format of retainKeys");
        break;
    }
    void *tmp;
    json_object_foreach_safe(orig, tmp, k, v) {
        if (!rc && !json_object_get(keep, k)) json_object_del(orig, k);
    }
    json_decref(keep);
    return rc;
}

/* validatePatchWithSetOrderList: the patch list's plain elements must
 * appear in the order list, in the same relative order. */
static int check_order(const json_t *plist, const json_t *order, const char *mk, sk_err *err)
{
    size_t pi = 0, oi = 0, np = json_array_size(plist), no = json_array_size(order);
    while (pi < np && oi < no) {
        const json_t *p = json_array_get(plist, pi);
        if (json_object_get(p, P_DIRECTIVE)) {
            pi++;
            continue;
        }
        const json_t *kp = keyof(p, mk), *ko = keyof(json_array_get(order, oi), mk);
        if (!kp || !ko) return err_no_key(err, kp ? json_array_get(order, oi) : p, mk);
        if (json_equal(kp, ko)) pi++;
        oi++;
    }
    while (pi < np && json_object_get(json_array_get(plist, pi), P_DIRECTIVE)) pi++;
    if (pi < np) {
        _sk_free_ char *a = dump(plist);
        _sk_free_ char *b = dump(order);
        return sk_err_set(err, SK_EBADREQUEST,
                          "The order in patch list:\n%s\n doesn't match $setElementOrder list:\n%s\n",
                          a, b);
    }
    return 0;
}

/* Applies one "$setElementOrder/<name>": merges the list named there now
 * and orders it; marks name handled so the main loop skips it. */
static int set_order(json_t *orig, const json_t *patch, const char *dkey, const json_t *order,
                     struct tctx ctx, json_t *handled, int depth, sk_err *err)
{
    const char *name = dkey + strlen(P_ORDER);
    json_t *ol = json_object_get(orig, name);
    const json_t *pl = json_object_get(patch, name);
    if (!json_is_array(order) || (ol && !json_is_array(ol)) || (pl && !json_is_array(pl)))
        return sk_err_set(err, SK_EBADREQUEST, "invalid patch format of setElementOrder list");
    if (!ol && !pl) return 0;
    struct finfo fi = field_info(ctx, name);
    const char *mk = fi.merge_key;
    enum kind k;
    if (elem_kind(ol, pl, &k, err) < 0) return -1;
    if (k != K_OBJECT) mk = NULL;
    if (pl && json_array_size(order) && check_order(pl, order, mk, err) < 0) return -1;
    json_t *merged, *backing = NULL;
    if (!pl) merged = json_deep_copy(ol);
    else if (!ol || !fi.merge) merged = clean(pl);
    else merged = smp_list(ol, pl, &fi, false, depth, &backing, err);
    if (!merged) return -1;
    /* Objects without a merge key have no identity to order by. */
    if (k != K_NONE && (k != K_OBJECT || mk)) {
        if (k == K_OBJECT && (check_objects(merged, mk, true, err) < 0 ||
                              check_objects(order, mk, true, err) < 0)) {
            json_decref(merged);
            json_decref(backing);
            return -1;
        }
        json_t *empty = json_array();
        merged = partition_order(merged, order, order, backing ? backing : ol ? ol : empty, mk);
        json_decref(empty);
    }
    json_decref(backing);
    json_object_set_new(orig, name, merged);
    json_object_set_new(handled, name, json_true());
    return 0;
}

/* ---- merging maps --------------------------------------------------------- */

static json_t *map_directive(json_t *orig, const json_t *patch, const json_t *d, bool *done,
                             sk_err *err)
{
    const char *s = json_string_value(d);
    *done = true;
    if (s && !strcmp(s, "replace")) {
        json_decref(orig);
        return clean_members(patch);
    }
    if (s && !strcmp(s, "delete")) {
        json_decref(orig);
        return json_object();
    }
    if (s && !strcmp(s, "merge")) {
        *done = false;
        return orig;
    }
    json_decref(orig);
    _sk_free_ char *ds = dump(d);
    _sk_free_ char *ps = dump(patch);
    sk_err_set(err, SK_EBADREQUEST, "unknown patch type: %s in map: %s", ds, ps);
    return NULL;
}

/* Merges one patch member (k, pv) into orig (the main loop of mergeMap). */
static int merge_member(json_t *orig, const char *k, const json_t *pv, struct tctx ctx, int depth,
                        sk_err *err)
{
    bool del_list = has_prefix(k, P_DELETE_PRIM);
    if (del_list) k += strlen(P_DELETE_PRIM);
    if (json_is_null(pv)) {
        json_object_del(orig, k);
        return 0;
    }
    json_t *ov = json_object_get(orig, k);
    struct finfo fi = field_info(ctx, k);
    json_t *nv = NULL;
    if (ov && json_is_object(ov) && json_is_object(pv)) {
        nv = fi.replace ? clean_members(pv) : smp_map(json_incref(ov), pv, fi.sub, depth + 1, err);
        if (!nv) return -1;
    } else if (ov && json_is_array(ov) && json_is_array(pv)) {
        nv = fi.merge || del_list ? smp_list(ov, pv, &fi, del_list, depth + 1, NULL, err)
                                  : clean(pv);
        if (!nv) return -1;
    } else if (del_list) {
        return 0; /* nothing to delete from */
    } else {
        nv = clean(pv);
        if (!nv) {
            json_object_del(orig, k);
            return 0;
        }
    }
    json_object_set_new(orig, k, nv);
    return 0;
}

/* mergeMap: takes ownership of orig (NULL = empty); returns the result. */
static json_t *smp_map(json_t *orig, const json_t *patch, struct tctx ctx, int depth, sk_err *err)
{
    if (depth > SMP_MAX_DEPTH) {
        json_decref(orig);
        sk_err_set(err, SK_EBADREQUEST, "strategic merge patch nested deeper than %d levels",
                   SMP_MAX_DEPTH);
        return NULL;
    }
    if (!json_is_object(orig)) {
        json_decref(orig);
        orig = json_object();
    }
    const json_t *d = json_object_get(patch, P_DIRECTIVE);
    if (d) {
        bool done;
        orig = map_directive(orig, patch, d, &done, err);
        if (done || !orig) return orig;
    }
    if (retain_keys(orig, patch, err) < 0) goto fail;
    json_t *handled = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)patch, k, v) {
        if (has_prefix(k, P_ORDER) && set_order(orig, patch, k, v, ctx, handled, depth, err) < 0) {
            json_decref(handled);
            goto fail;
        }
    }
    json_object_foreach((json_t *)patch, k, v) {
        if (!strcmp(k, P_DIRECTIVE) || !strcmp(k, P_RETAIN) || has_prefix(k, P_ORDER) ||
            json_object_get(handled, k))
            continue;
        if (merge_member(orig, k, v, ctx, depth, err) < 0) {
            json_decref(handled);
            goto fail;
        }
    }
    json_decref(handled);
    return orig;
fail:
    json_decref(orig);
    return NULL;
}

/* Bounded nesting depth of v (stops past limit). */
static int depth_of(const json_t *v, int limit)
{
    if (limit < 0 || !(json_is_object(v) || json_is_array(v))) return 0;
    int best = 0;
    const char *k;
    json_t *c;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, c) {
            int dd = depth_of(c, limit - 1);
            if (dd > best) best = dd;
        }
    } else {
        json_array_foreach(v, i, c) {
            int dd = depth_of(c, limit - 1);
            if (dd > best) best = dd;
        }
    }
    return best + 1;
}

json_t *sk_strategic_merge_patch(const json_t *doc, const json_t *patch, const struct sk_type *t,
                                 sk_err *err)
{
    if (!json_is_object(patch)) {
        sk_err_set(err, SK_EBADREQUEST,
                   "json: cannot unmarshal %s into Go value of type map[string]interface {}",
                   json_is_array(patch) ? "array" : json_is_string(patch) ? "string" : "value");
        return NULL;
    }
    if (doc && !json_is_object(doc)) {
        sk_err_set(err, SK_EBADREQUEST, "invalid JSON document");
        return NULL;
    }
    if (depth_of(patch, SMP_MAX_DEPTH + 1) > SMP_MAX_DEPTH) {
        sk_err_set(err, SK_EBADREQUEST, "strategic merge patch nested deeper than %d levels",
                   SMP_MAX_DEPTH);
        return NULL;
    }
    json_t *orig = doc ? json_deep_copy(doc) : json_object();
    return smp_map(orig, patch, (struct tctx){t, false}, 0, err);
}
