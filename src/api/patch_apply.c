/* Server-side apply (application/apply-patch+yaml), simplified.
 *
 * The applied configuration is merged into the live object with strategic
 * merge semantics (sk_strategic_merge_patch), and the set of fields it
 * names is recorded as the manager's metadata.managedFields entry
 * (operation Apply, FieldsV1: "f:<field>", "k:{<merge key>}" for keyed list
 * elements, "v:<value>" for set elements, "." for maps and list elements).
 *
 * Simplifications, compared with structured-merge-diff:
 * - Only Apply managers own fields; Update operations are not tracked, so
 *   they never conflict and never keep a field alive.
 * - Field sets go FS_MAX_DEPTH levels deep and FS_MAX_NODES nodes wide;
 *   beyond that a node owns its whole subtree.
 * - A conflict is a field this apply names, owned by another Apply manager,
 *   whose value the merge changes. force=true takes the field over.
 * - Fields the manager applied before and omits now are removed unless
 *   another Apply manager owns them (or something below them).
 * - List order follows strategic merge patch, not the applied order.
 * - apiVersion, kind, status and server-set metadata are never owned. */
#include "api/patch.h"

#include <stdio.h>
#include <string.h>

#define FS_MAX_DEPTH 10
#define FS_MAX_NODES 2000
#define CONF_MAX 100 /* conflicts reported as causes */

struct tctx {
    const struct sk_type *t;
    bool map;
};

struct finfo {
    struct tctx sub;
    const char *merge_key;
    bool merge, is_map;
};

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
    fi.sub.map = fi.is_map = (f->flags & SK_FL_MAP) != 0;
    fi.merge_key = f->merge_key;
    fi.merge = has_token(f->strategy, "merge") || (f->merge_key && !has_token(f->strategy, "replace"));
    return fi;
}

static char *dump(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    return s ? s : sk_strdup("null");
}

/* ---- building a field set ------------------------------------------------ */

static json_t *fs_object(const json_t *obj, struct tctx ctx, int depth, size_t *budget);

static bool keyed_list(const json_t *list, const char *mk)
{
    size_t i;
    json_t *e;
    if (!mk || !json_array_size(list)) return false;
    json_array_foreach(list, i, e) {
        if (!json_is_object(e) || !json_object_get(e, mk)) return false;
    }
    return true;
}

static bool scalar_list(const json_t *list)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        if (json_is_object(e) || json_is_array(e) || json_is_null(e)) return false;
    }
    return true;
}

static json_t *fs_list(const json_t *list, const struct finfo *fi, int depth, size_t *budget)
{
    json_t *node = json_object();
    size_t i;
    json_t *e;
    if (keyed_list(list, fi->merge_key)) {
        json_array_foreach(list, i, e) {
            if (*budget == 0) break;
            json_t *key = json_pack("{sO}", fi->merge_key, json_object_get(e, fi->merge_key));
            _sk_free_ char *ks = dump(key);
            json_decref(key);
            char *name = sk_printf("k:%s", ks);
            json_t *child = fs_object(e, fi->sub, depth + 1, budget);
            json_object_set_new(child, ".", json_object());
            json_object_set_new(node, name, child);
            free(name);
        }
    } else if (fi->merge && scalar_list(list)) {
        json_array_foreach(list, i, e) {
            if (*budget == 0) break;
            (*budget)--;
            _sk_free_ char *vs = dump(e);
            char *name = sk_printf("v:%s", vs);
            json_object_set_new(node, name, json_object());
            free(name);
        }
    }
    return node;
}

/* The fieldsV1 node of an object's members (nulls and directives skipped). */
static json_t *fs_object(const json_t *obj, struct tctx ctx, int depth, size_t *budget)
{
    json_t *node = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        if (json_is_null(v) || k[0] == '$' || *budget == 0) continue;
        (*budget)--;
        struct finfo fi = field_info(ctx, k);
        json_t *child;
        if (depth + 1 >= FS_MAX_DEPTH) child = json_object();
        else if (json_is_object(v) && json_object_size(v)) child = fs_object(v, fi.sub, depth + 1, budget);
        else if (json_is_array(v)) child = fs_list(v, &fi, depth + 1, budget);
        else child = json_object();
        if (fi.is_map && json_object_size(child)) json_object_set_new(child, ".", json_object());
        char *name = sk_printf("f:%s", k);
        json_object_set_new(node, name, child);
        free(name);
    }
    return node;
}

static const char *const meta_server_fields[] = {
    "f:name", "f:namespace", "f:uid", "f:resourceVersion", "f:generation", "f:creationTimestamp",
    "f:deletionTimestamp", "f:deletionGracePeriodSeconds", "f:managedFields", "f:selfLink",
};

static json_t *fieldset_of(const json_t *applied, const struct sk_type *t)
{
    size_t budget = FS_MAX_NODES;
    json_t *fs = fs_object(applied, (struct tctx){t, false}, 0, &budget);
    json_object_del(fs, "f:apiVersion");
    json_object_del(fs, "f:kind");
    json_object_del(fs, "f:status");
    json_t *meta = json_object_get(fs, "f:metadata");
    for (size_t i = 0; meta && i < SK_ARRAY_LEN(meta_server_fields); i++)
        json_object_del(meta, meta_server_fields[i]);
    if (meta && json_object_size(meta) == 0) json_object_del(fs, "f:metadata");
    return fs;
}

/* ---- paths over documents -------------------------------------------------- */

struct path {
    const char *c[FS_MAX_DEPTH + 2];
    int n;
};

static bool fs_leaf(const json_t *node)
{
    size_t n = json_object_size(node);
    return n == 0 || (n == 1 && json_object_get(node, "."));
}

/* Index of the element a "k:" or "v:" component names in list, or -1. */
static long find_elem(const json_t *list, const char *comp)
{
    json_t *want = json_loads(comp + 2, JSON_DECODE_ANY, NULL);
    long found = -1;
    for (size_t i = 0; want && found < 0 && i < json_array_size(list); i++) {
        const json_t *e = json_array_get(list, i);
        if (comp[0] == 'v') {
            if (json_equal(e, want)) found = (long)i;
            continue;
        }
        const char *k;
        json_t *v;
        bool all = json_is_object(e) && json_is_object(want);
        json_object_foreach(want, k, v) {
            if (all && !json_equal(json_object_get(e, k), v)) all = false;
        }
        if (all) found = (long)i;
    }
    json_decref(want);
    return found;
}

static json_t *step(const json_t *cur, const char *comp)
{
    if (!strncmp(comp, "f:", 2)) return json_is_object(cur) ? json_object_get(cur, comp + 2) : NULL;
    if ((!strncmp(comp, "k:", 2) || !strncmp(comp, "v:", 2)) && json_is_array(cur)) {
        long i = find_elem(cur, comp);
        return i < 0 ? NULL : json_array_get(cur, (size_t)i);
    }
    return NULL;
}

static json_t *resolve(const json_t *doc, const struct path *p, int n)
{
    const json_t *cur = doc;
    for (int i = 0; cur && i < n; i++) cur = step(cur, p->c[i]);
    return (json_t *)cur;
}

static void remove_at(json_t *doc, const struct path *p)
{
    json_t *parent = resolve(doc, p, p->n - 1);
    const char *last = p->c[p->n - 1];
    if (!strncmp(last, "f:", 2) && json_is_object(parent)) {
        json_object_del(parent, last + 2);
    } else if (json_is_array(parent)) {
        long i = find_elem(parent, last);
        if (i >= 0) json_array_remove(parent, (size_t)i);
    }
}

/* ".spec.containers[name=\"web\"].image", as structured-merge-diff prints. */
static char *path_string(const struct path *p)
{
    sk_buf b = SK_BUF_INIT;
    for (int i = 0; i < p->n; i++) {
        const char *c = p->c[i];
        if (!strncmp(c, "f:", 2)) {
            sk_buf_addf(&b, ".%s", c + 2);
        } else if (!strncmp(c, "v:", 2)) {
            sk_buf_addf(&b, "[=%s]", c + 2);
        } else if (!strncmp(c, "k:", 2)) {
            json_t *k = json_loads(c + 2, 0, NULL);
            const char *name;
            json_t *v;
            int j = 0;
            sk_buf_adds(&b, "[");
            json_object_foreach(k, name, v) {
                _sk_free_ char *vs = dump(v);
                sk_buf_addf(&b, "%s%s=%s", j++ ? "," : "", name, vs);
            }
            sk_buf_adds(&b, "]");
            json_decref(k);
        }
    }
    char *s = sk_buf_take(&b);
    return s ? s : sk_strdup("");
}

/* Does fieldset fs own p: the node exists, or a leaf above it does? */
static bool owns(const json_t *fs, const struct path *p)
{
    const json_t *cur = fs;
    for (int i = 0; i < p->n; i++) {
        if (i > 0 && fs_leaf(cur)) return true;
        cur = json_object_get(cur, p->c[i]);
        if (!cur) return false;
    }
    return true;
}

/* Drops p from a field set; a leaf above p goes whole (simplification:
 * upstream would keep the sibling fields owned). */
static void fs_remove(json_t *fs, const struct path *p)
{
    json_t *cur = fs;
    for (int i = 0; i < p->n; i++) {
        json_t *next = json_object_get(cur, p->c[i]);
        if (!next) return;
        if (i == p->n - 1 || fs_leaf(next)) {
            json_object_del(cur, p->c[i]);
            return;
        }
        cur = next;
    }
}

/* ---- managers ---------------------------------------------------------------- */

struct manager {
    json_t *entry;  /* borrowed from the live object's managedFields */
    json_t *fields; /* own copy of fieldsV1, updated by force */
};

struct apply {
    const char *me;
    json_t *live, *merged, *mine, *old_mine;
    struct manager *others;
    size_t nothers;
    bool force;
    json_t *conf; /* [[manager, path], ...] */
};

static bool is_apply_entry(const json_t *e)
{
    const char *op = sk_json_str(e, "operation");
    return json_is_object(e) && op && !strcmp(op, "Apply") && sk_json_str(e, "manager");
}

static void load_managers(struct apply *a)
{
    json_t *mf = sk_json_path(a->live, "metadata.managedFields");
    size_t i;
    json_t *e;
    a->others = sk_calloc(json_array_size(mf) + 1, sizeof *a->others);
    json_array_foreach(mf, i, e) {
        if (!is_apply_entry(e)) continue;
        json_t *fv = json_object_get(e, "fieldsV1");
        if (!strcmp(sk_json_str(e, "manager"), a->me)) {
            if (!a->old_mine && json_is_object(fv)) a->old_mine = json_incref(fv);
            continue;
        }
        a->others[a->nothers++] =
            (struct manager){e, json_is_object(fv) ? json_deep_copy(fv) : json_object()};
    }
}

static void conflict(struct apply *a, const struct manager *m, const struct path *p)
{
    char *ps = path_string(p);
    json_array_append_new(a->conf, json_pack("[ss]", sk_json_str(m->entry, "manager"), ps));
    free(ps);
}

/* Walks the leaves of my new field set looking for contested values. */
static void check_leaves(struct apply *a, const json_t *node, struct path *p)
{
    if (p->n > 0 && fs_leaf(node)) {
        json_t *before = resolve(a->live, p, p->n), *after = resolve(a->merged, p, p->n);
        bool same = (!before && !after) || (before && after && json_equal(before, after));
        for (size_t i = 0; !same && i < a->nothers; i++) {
            struct manager *m = &a->others[i];
            if (!owns(m->fields, p)) continue;
            if (!a->force) conflict(a, m, p);
            else fs_remove(m->fields, p); /* force: the field changes hands */
        }
        return;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)node, k, v) {
        if (!strcmp(k, ".") || p->n >= FS_MAX_DEPTH + 1) continue;
        p->c[p->n++] = k;
        check_leaves(a, v, p);
        p->n--;
    }
}

static bool owned_by_others(const struct apply *a, const struct path *p)
{
    for (size_t i = 0; i < a->nothers; i++)
        if (owns(a->others[i].fields, p)) return true;
    return false;
}

/* Removes what I applied before (old) and no longer apply (new). */
static void prune(struct apply *a, const json_t *old, const json_t *now, struct path *p)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)old, k, v) {
        if (!strcmp(k, ".") || p->n >= FS_MAX_DEPTH + 1) continue;
        p->c[p->n++] = k;
        json_t *nv = now ? json_object_get(now, k) : NULL;
        if (nv || owned_by_others(a, p)) {
            if (!fs_leaf(v)) prune(a, v, nv, p);
        } else {
            remove_at(a->merged, p);
        }
        p->n--;
    }
}

struct conf {
    const char *mgr, *path;
    size_t pos;
};

static int cmp_conf(const void *x, const void *y)
{
    const struct conf *a = x, *b = y;
    int c = strcmp(a->mgr, b->mgr);
    return c ? c : (a->pos > b->pos) - (a->pos < b->pos);
}

/* The message and causes of upstream's NewConflictError (paths grouped by
 * manager, managers sorted). Only the first CONF_MAX become causes. */
static int conflict_error(struct apply *a, sk_err *err)
{
    size_t n = json_array_size(a->conf);
    struct conf *v = sk_calloc(n, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        const json_t *c = json_array_get(a->conf, i);
        v[i] = (struct conf){json_string_value(json_array_get(c, 0)),
                             json_string_value(json_array_get(c, 1)), i};
    }
    qsort(v, n, sizeof *v, cmp_conf);
    sk_buf b = SK_BUF_INIT;
    const char *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *mgr = v[i].mgr, *path = v[i].path;
        if (n == 1) {
            sk_buf_addf(&b, "Apply failed with 1 conflict: conflict with \"%s\": %s", mgr, path);
            break;
        }
        if (i == 0) sk_buf_addf(&b, "Apply failed with %zu conflicts: ", n);
        if (!prev || strcmp(prev, mgr))
            sk_buf_addf(&b, "%sconflicts with \"%s\":", prev ? "\n" : "", mgr);
        sk_buf_addf(&b, "\n- %s", path);
        prev = mgr;
        if (b.len > sizeof err->msg) break; /* sk_err keeps no more anyway */
    }
    sk_err_set(err, SK_ECONFLICT, "%s", b.data ? b.data : "Apply failed");
    sk_buf_release(&b);
    for (size_t i = 0; i < n && i < CONF_MAX; i++)
        sk_err_cause(err, "FieldManagerConflict", v[i].path, "conflict with \"%s\"", v[i].mgr);
    free(v);
    return -1;
}

/* ---- managedFields ------------------------------------------------------------ */

/* My new entry. An unchanged entry keeps its time, so re-applying the same
 * configuration leaves the object identical (no spurious write). */
static json_t *my_entry(const struct apply *a, const json_t *applied, const json_t *old)
{
    char now[40];
    sk_time_format(sk_wall_ms() / 1000, now, sizeof now);
    const char *av = sk_json_str(applied, "apiVersion");
    if (!av) av = sk_json_str(a->live, "apiVersion");
    if (!av) av = "";
    const char *old_time = sk_json_str(old, "time");
    const char *old_av = sk_json_str(old, "apiVersion");
    if (old_time && old_av && !strcmp(old_av, av) &&
        json_equal(json_object_get(old, "fieldsV1"), a->mine))
        snprintf(now, sizeof now, "%s", old_time);
    return json_pack("{ss ss ss ss ss sO}", "manager", a->me, "operation", "Apply", "apiVersion",
                     av, "time", now, "fieldsType", "FieldsV1", "fieldsV1", a->mine);
}

/* Rebuilds managedFields: mine replaced (or appended), forced-out
 * managers updated or dropped when they own nothing any more. */
static void write_managers(struct apply *a, const json_t *applied)
{
    json_t *out = json_array();
    json_t *mf = sk_json_path(a->live, "metadata.managedFields");
    bool placed = false;
    size_t i;
    json_t *e;
    json_array_foreach(mf, i, e) {
        if (is_apply_entry(e) && !strcmp(sk_json_str(e, "manager"), a->me)) {
            if (!placed) json_array_append_new(out, my_entry(a, applied, e));
            placed = true;
            continue;
        }
        struct manager *m = NULL;
        for (size_t j = 0; j < a->nothers; j++)
            if (a->others[j].entry == e) m = &a->others[j];
        if (!m) {
            json_array_append_new(out, json_deep_copy(e));
        } else if (json_object_size(m->fields)) {
            json_t *c = json_deep_copy(e);
            json_object_set(c, "fieldsV1", m->fields);
            json_array_append_new(out, c);
        }
    }
    if (!placed) json_array_append_new(out, my_entry(a, applied, NULL));
    json_object_set_new(sk_json_obj(a->merged, "metadata"), "managedFields", out);
}

/* Drops emptied nodes left behind by forced removals. */
static void prune_empty(json_t *node)
{
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(node, tmp, k, v) {
        if (!strcmp(k, ".")) continue;
        bool had = json_object_size(v) > 0;
        prune_empty(v);
        if (had && fs_leaf(v)) json_object_del(node, k);
    }
}

static void apply_release(struct apply *a)
{
    json_decref(a->mine);
    json_decref(a->old_mine);
    json_decref(a->conf);
    for (size_t i = 0; i < a->nothers; i++) json_decref(a->others[i].fields);
    free(a->others);
}

json_t *sk_apply_patch(const json_t *live, const json_t *applied, const struct sk_type *t,
                       const char *manager, bool force, sk_err *err)
{
    if (!manager || !*manager) {
        sk_err_set(err, SK_EINVALID, "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: "
                   "Required value: is required for apply patch");
        return NULL;
    }
    if (!json_is_object(applied)) {
        sk_err_set(err, SK_EBADREQUEST, "error decoding YAML: the applied configuration must "
                   "be an object");
        return NULL;
    }
    _sk_json_ json_t *cfg = json_deep_copy(applied);
    json_object_del(sk_json_obj(cfg, "metadata"), "managedFields");
    struct apply a = {.me = manager, .live = (json_t *)live, .force = force, .conf = json_array()};
    a.merged = sk_strategic_merge_patch(json_is_object(live) ? live : NULL, cfg, t, err);
    if (!a.merged) goto fail;
    a.mine = fieldset_of(cfg, t);
    if (json_is_object(live)) {
        load_managers(&a);
        struct path p = {.n = 0};
        check_leaves(&a, a.mine, &p);
        if (json_array_size(a.conf)) {
            conflict_error(&a, err);
            goto fail;
        }
        for (size_t i = 0; i < a.nothers; i++) prune_empty(a.others[i].fields);
        if (a.old_mine) prune(&a, a.old_mine, a.mine, &p);
    }
    write_managers(&a, cfg);
    apply_release(&a);
    return a.merged;
fail:
    json_decref(a.merged);
    apply_release(&a);
    return NULL;
}
