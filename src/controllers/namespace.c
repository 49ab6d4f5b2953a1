/* The namespace controller (upstream pkg/controller/namespace, v1.32): a
 * namespace with a deletionTimestamp is emptied of every namespaced
 * resource in the registry (deletecollection with Background propagation,
 * or per-object deletes), its status conditions report progress as
 * upstream's namespaceConditionUpdater does, and once nothing is left the
 * "kubernetes" finalizer is removed through PUT .../finalize, after which
 * the API server deletes the namespace.
 *
 * Pods being deleted gracefully count as expected leftovers for at most
 * their grace period (upstream's estimate); objects held by finalizers get
 * upstream's 15 s estimate. Upstream re-checks after estimate/2+1 seconds;
 * we re-check at least every RECHECK_MAX_S so namespaces go away promptly. */
#include "controllers/controllers_int.h"

#include <string.h>

#define FINALIZER "kubernetes"
#define FINALIZER_ESTIMATE_S 15
#define RECHECK_MAX_S 2

struct ns_ctrl {
    sk_client *c;
    sk_informer *nss;
    const struct sk_resource *r_ns;
    sk_workqueue *q;
    sk_workers *w;
    int nworkers;
};

/* What one pass over the namespace's content found. */
struct content {
    int64_t estimate;   /* seconds until leftovers should be gone */
    json_t *remaining;  /* "pods." -> count */
    json_t *finalizers; /* finalizer -> count */
    json_t *errors;     /* array of messages */
};

static bool has_deletion(const json_t *obj)
{
    json_t *dt = sk_json_path(obj, "metadata.deletionTimestamp");
    return dt && !json_is_null(dt);
}

static void ns_add(void *ud, const json_t *obj)
{
    struct ns_ctrl *n = ud;
    const char *name = sk_json_path_str(obj, "metadata.name");
    if (name && has_deletion(obj)) sk_workqueue_add(n->q, name);
}

static void ns_update(void *ud, const json_t *old, const json_t *cur) { ns_add(ud, cur); }

/* ---- content deletion --------------------------------------------------------------- */

static char *collection_path(const struct sk_resource *r, const char *ns)
{
    if (!r->group[0]) return sk_printf("/api/%s/namespaces/%s/%s", r->version, ns, r->plural);
    return sk_printf("/apis/%s/%s/namespaces/%s/%s", r->group, r->version, ns, r->plural);
}

static void gvr_string(const struct sk_resource *r, char *out, size_t n)
{
    snprintf(out, n, "%s/%s, Resource=%s", r->group, r->version, r->plural);
}

/* Longest grace period of the non-terminal pods, less the time the
 * namespace has already been terminating (upstream estimateGracefulTermination). */
static int64_t pods_estimate(const json_t *pods, int64_t deleted_at)
{
    int64_t est = 0;
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p) {
        const char *phase = sk_json_path_str(p, "status.phase");
        if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))) continue;
        json_t *g = sk_json_path(p, "spec.terminationGracePeriodSeconds");
        if (json_is_integer(g) && json_integer_value(g) > est) est = json_integer_value(g);
    }
    if (deleted_at >= 0 && sk_wall_ms() / 1000 - deleted_at >= est) est = 0;
    return est;
}

static int delete_each(struct ns_ctrl *n, const struct sk_resource *r, const char *ns,
                       sk_err *err)
{
    json_t *list = sk_client_list(n->c, r, ns, NULL, NULL, err);
    if (!list) return -1;
    int rc = 0;
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(list, "items"), i, o) {
        sk_err e2 = SK_ERR_INIT;
        if (sk_client_delete(n->c, r, ns, sk_json_path_str(o, "metadata.name"), "Background", -1,
                             NULL, &e2) < 0 && e2.code != SK_ENOTFOUND && rc == 0) {
            *err = e2;
            e2.causes = NULL;
            rc = -1;
        }
        sk_err_clear(&e2);
    }
    json_decref(list);
    return rc;
}

static int delete_collection(struct ns_ctrl *n, const struct sk_resource *r, const char *ns,
                             sk_err *err)
{
    if (!(r->verbs & SK_V_DELETECOLLECTION)) return delete_each(n, r, ns, err);
    _sk_free_ char *path = collection_path(r, ns);
    _sk_free_ char *q = sk_printf("%s?propagationPolicy=Background", path);
    long status = 0;
    json_t *res = sk_client_request(n->c, "DELETE", q, NULL, NULL, &status, err);
    json_decref(res);
    if (status < 400 && status > 0) return 0;
    if (status == 404 || status == 405) {
        sk_err_clear(err);
        return delete_each(n, r, ns, err);
    }
    return -1;
}

/* Deletes one resource's content in ns and records what is left. */
static void delete_resource(struct ns_ctrl *n, const struct sk_resource *r, const char *ns,
                            int64_t deleted_at, struct content *ct)
{
    sk_err err = SK_ERR_INIT;
    char gvr[160];
    gvr_string(r, gvr, sizeof gvr);
    bool pods = !r->group[0] && !strcmp(r->plural, "pods");
    int64_t estimate = 0;
    if (pods) {
        json_t *list = sk_client_list(n->c, r, ns, NULL, NULL, &err);
        if (!list) goto fail;
        estimate = pods_estimate(json_object_get(list, "items"), deleted_at);
        json_decref(list);
    }
    if (delete_collection(n, r, ns, &err) < 0) goto fail;
    json_t *left = sk_client_list(n->c, r, ns, NULL, NULL, &err);
    if (!left) goto fail;
    json_t *items = json_object_get(left, "items");
    size_t nleft = json_array_size(items), i, j;
    if (nleft) {
        char key[160];
        snprintf(key, sizeof key, "%s.%s", r->plural, r->group);
        json_object_set_new(ct->remaining, key, json_integer((json_int_t)nleft));
        bool finalizers = false;
        json_t *o, *f;
        json_array_foreach(items, i, o) json_array_foreach(sk_json_path(o, "metadata.finalizers"), j, f) {
            const char *fs = json_string_value(f);
            if (!fs) continue;
            finalizers = true;
            json_int_t c = json_integer_value(json_object_get(ct->finalizers, fs));
            json_object_set_new(ct->finalizers, fs, json_integer(c + 1));
        }
        if (!estimate && finalizers) estimate = FINALIZER_ESTIMATE_S;
        if (!estimate)
            json_array_append_new(ct->errors,
                                  json_sprintf("unexpected items still remain in namespace: %s for gvr: %s",
                                               ns, gvr));
    }
    json_decref(left);
    if (estimate > ct->estimate) ct->estimate = estimate;
    return;
fail:
    json_array_append_new(ct->errors, json_sprintf("%s: %s", gvr, err.msg));
    sk_err_clear(&err);
}

static void delete_all_content(struct ns_ctrl *n, const char *ns, int64_t deleted_at,
                               struct content *ct)
{
    size_t nres;
    const struct sk_resource *const *all = sk_resources(&nres);
    for (size_t i = 0; i < nres; i++) {
        const struct sk_resource *r = all[i];
        /* create-only kinds (bindings, reviews) hold no content */
        if (!r->namespaced || !(r->verbs & SK_V_DELETE) || !(r->verbs & SK_V_LIST)) continue;
        delete_resource(n, r, ns, deleted_at, ct);
    }
}

/* ---- status conditions (upstream status_condition_utils.go) ------------------------- */

static const struct {
    const char *type, *ok_reason, *ok_msg;
} cond_types[] = {
    {"NamespaceDeletionDiscoveryFailure", "ResourcesDiscovered", "All resources successfully discovered"},
    {"NamespaceDeletionGroupVersionParsingFailure", "ParsedGroupVersions", "All legacy kube types successfully parsed"},
    {"NamespaceDeletionContentFailure", "ContentDeleted", "All content successfully deleted, may be waiting on finalization"},
    {"NamespaceContentRemaining", "ContentRemoved", "All content successfully removed"},
    {"NamespaceFinalizersRemaining", "ContentRemoved", "All content successfully removed"},
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted "k<mid>v<tail>" items of counts, joined with ", "; caller frees. */
static char *join_counts(const json_t *counts, const char *mid, const char *tail)
{
    size_t n = json_object_size(counts), i = 0;
    char **v = sk_calloc(n + 1, sizeof *v);
    const char *k;
    json_t *c;
    json_object_foreach((json_t *)counts, k, c)
        v[i++] = sk_printf("%s%s%lld%s", k, mid, (long long)json_integer_value(c), tail);
    qsort(v, n, sizeof *v, cmp_str);
    sk_buf b = SK_BUF_INIT;
    sk_buf_adds(&b, "");
    for (i = 0; i < n; i++) {
        sk_buf_addf(&b, "%s%s", i ? ", " : "", v[i]);
        free(v[i]);
    }
    free(v);
    return sk_buf_take(&b);
}

static char *join_errors(const json_t *errors)
{
    size_t n = json_array_size(errors), i;
    char **v = sk_calloc(n + 1, sizeof *v);
    json_t *e;
    json_array_foreach(errors, i, e) v[i] = sk_strdup(json_string_value(e));
    qsort(v, n, sizeof *v, cmp_str);
    sk_buf b = SK_BUF_INIT;
    sk_buf_adds(&b, "");
    for (i = 0; i < n; i++) {
        sk_buf_addf(&b, "%s%s", i ? ", " : "", v[i]);
        free(v[i]);
    }
    free(v);
    return sk_buf_take(&b);
}

/* The failing variant of condition type i, or NULL for the ok one. */
static json_t *failing_condition(size_t i, const struct content *ct)
{
    _sk_free_ char *msg = NULL;
    const char *reason = NULL;
    if (i == 2 && json_array_size(ct->errors)) {
        _sk_free_ char *j = join_errors(ct->errors);
        msg = sk_printf("Failed to delete all resource types, %zu remaining: %s",
                        json_array_size(ct->errors), j);
        reason = "ContentDeletionFailed";
    } else if (i == 3 && json_object_size(ct->remaining)) {
        _sk_free_ char *j = join_counts(ct->remaining, " has ", " resource instances");
        msg = sk_printf("Some resources are remaining: %s", j);
        reason = "SomeResourcesRemain";
    } else if (i == 4 && json_object_size(ct->finalizers)) {
        _sk_free_ char *j = join_counts(ct->finalizers, " in ", " resource instances");
        msg = sk_printf("Some finalizers are remaining: %s", j);
        reason = "SomeFinalizerRemain";
    }
    if (!reason) return NULL;
    return json_pack("{s:s,s:s,s:s}", "status", "True", "reason", reason, "message", msg);
}

static json_t *find_condition(json_t *conds, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(conds, i, c) {
        const char *t = sk_json_str(c, "type");
        if (t && !strcmp(t, type)) return c;
    }
    return NULL;
}

/* Applies the conditions to ns (a private copy); true if anything changed. */
static bool update_conditions(json_t *ns, const struct content *ct)
{
    json_t *st = sk_json_obj(ns, "status");
    json_t *conds = json_object_get(st, "conditions");
    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(st, "conditions", conds);
    }
    char now[40];
    sk_time_format(sk_wall_ms() / 1000, now, sizeof now);
    bool changed = false;
    for (size_t i = 0; i < SK_ARRAY_LEN(cond_types); i++) {
        json_t *want = failing_condition(i, ct);
        if (!want)
            want = json_pack("{s:s,s:s,s:s}", "status", "False", "reason", cond_types[i].ok_reason,
                             "message", cond_types[i].ok_msg);
        json_t *old = find_condition(conds, cond_types[i].type);
        if (!old) {
            json_t *c = json_pack("{s:s,s:O,s:s,s:O,s:O}", "type", cond_types[i].type, "status",
                                  json_object_get(want, "status"), "lastTransitionTime", now,
                                  "reason", json_object_get(want, "reason"), "message",
                                  json_object_get(want, "message"));
            json_array_append_new(conds, c);
            changed = true;
        } else if (!json_equal(json_object_get(old, "status"), json_object_get(want, "status")) ||
                   !json_equal(json_object_get(old, "reason"), json_object_get(want, "reason")) ||
                   !json_equal(json_object_get(old, "message"), json_object_get(want, "message"))) {
            if (!json_equal(json_object_get(old, "status"), json_object_get(want, "status")))
                json_object_set_new(old, "lastTransitionTime", json_string(now));
            json_object_set(old, "status", json_object_get(want, "status"));
            json_object_set(old, "reason", json_object_get(want, "reason"));
            json_object_set(old, "message", json_object_get(want, "message"));
            changed = true;
        }
        json_decref(want);
    }
    return changed;
}

/* ---- finalize ------------------------------------------------------------------------ */

static bool has_finalizer(const json_t *ns)
{
    size_t i;
    json_t *f;
    json_array_foreach(sk_json_path(ns, "spec.finalizers"), i, f)
        if (json_is_string(f) && !strcmp(json_string_value(f), FINALIZER)) return true;
    return false;
}

/* Removes our finalizer (retrying conflicts on a fresh read); 0 also when
 * the namespace is already gone. */
static int finalize(struct ns_ctrl *n, const char *name, json_t *ns, sk_err *err)
{
    json_t *cur = json_incref(ns);
    for (int attempt = 0; attempt < 5; attempt++) {
        json_t *body = json_deep_copy(cur);
        json_t *spec = sk_json_obj(body, "spec");
        json_t *kept = json_array();
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(spec, "finalizers"), i, f)
            if (json_is_string(f) && strcmp(json_string_value(f), FINALIZER)) json_array_append(kept, f);
        json_object_set_new(spec, "finalizers", kept);
        _sk_free_ char *path = sk_printf("/api/v1/namespaces/%s/finalize", name);
        long status = 0;
        json_t *res = sk_client_request(n->c, "PUT", path, body, "application/json", &status, err);
        json_decref(body);
        json_decref(cur);
        if (status > 0 && status < 400) {
            json_decref(res);
            /* Servers delete the namespace as its last finalizer goes; a
             * delete (uid-guarded) covers one that only stored the update. */
            sk_err e2 = SK_ERR_INIT;
            if (!json_array_size(kept) && !json_array_size(sk_json_path(ns, "metadata.finalizers")))
                (void)!sk_client_delete(n->c, n->r_ns, NULL, name, NULL, -1,
                                        sk_json_path_str(ns, "metadata.uid"), &e2);
            sk_err_clear(&e2);
            return 0;
        }
        json_decref(res);
        if (err->code == SK_ENOTFOUND) {
            sk_err_clear(err);
            return 0;
        }
        if (err->code != SK_ECONFLICT) return -1;
        sk_err_clear(err);
        cur = sk_client_get(n->c, n->r_ns, NULL, name, err);
        if (!cur) return err->code == SK_ENOTFOUND ? (sk_err_clear(err), 0) : -1;
    }
    return sk_err_set(err, SK_ECONFLICT, "namespace %s: too many conflicts while finalizing", name);
}

/* ---- sync ------------------------------------------------------------------------------ */

static void write_status(struct ns_ctrl *n, json_t *ns)
{
    sk_err err = SK_ERR_INIT;
    json_t *res = sk_client_update(n->c, n->r_ns, NULL, ns, "status", &err);
    if (!res)
        sk_log(SK_DEBUG, "namespace", "status of %s: %s", sk_json_path_str(ns, "metadata.name"),
               err.msg);
    json_decref(res);
    sk_err_clear(&err);
}

static int sync_namespace(void *ud, const char *name)
{
    struct ns_ctrl *n = ud;
    sk_err err = SK_ERR_INIT;
    _sk_json_ json_t *ns = sk_client_get(n->c, n->r_ns, NULL, name, &err);
    if (!ns) {
        int rc = err.code == SK_ENOTFOUND ? 0 : -1;
        sk_err_clear(&err);
        return rc;
    }
    if (!has_deletion(ns) || !has_finalizer(ns)) return 0;
    int64_t deleted_at = sk_time_parse(sk_json_path_str(ns, "metadata.deletionTimestamp"));
    struct content ct = {0, json_object(), json_object(), json_array()};
    delete_all_content(n, name, deleted_at, &ct);
    json_t *copy = json_deep_copy(ns);
    const char *phase = sk_json_path_str(copy, "status.phase");
    bool phase_changed = !phase || strcmp(phase, "Terminating");
    if (phase_changed) json_object_set_new(sk_json_obj(copy, "status"), "phase", json_string("Terminating"));
    if (update_conditions(copy, &ct) || phase_changed) write_status(n, copy);
    json_decref(copy);
    int rc = 0;
    if (json_array_size(ct.errors)) {
        _sk_free_ char *msg = join_errors(ct.errors);
        sk_log(SK_DEBUG, "namespace", "%s: %s", name, msg);
        rc = -1;
    } else if (ct.estimate > 0) {
        int64_t after = ct.estimate / 2 + 1;
        if (after > RECHECK_MAX_S) after = RECHECK_MAX_S;
        sk_workqueue_add_after(n->q, name, after * 1000);
    } else if (finalize(n, name, ns, &err) < 0) {
        sk_log(SK_DEBUG, "namespace", "finalize %s: %s", name, err.msg);
        rc = -1;
    }
    sk_err_clear(&err);
    json_decref(ct.remaining);
    json_decref(ct.finalizers);
    json_decref(ct.errors);
    return rc;
}

/* ---- lifecycle ------------------------------------------------------------------------- */

static void *ns_new(struct sk_ctrl_ctx *ctx, sk_err *err)
{
    struct ns_ctrl *n = sk_calloc(1, sizeof *n);
    n->c = sk_ctx_client(ctx);
    n->r_ns = sk_ctx_res("", "namespaces");
    n->nss = sk_ctx_informer(ctx, "", "namespaces");
    if (!n->r_ns || !n->nss) {
        free(n);
        sk_err_set(err, SK_EINTERNAL, "namespace controller: resources not registered");
        return NULL;
    }
    n->nworkers = sk_ctx_config(ctx)->workers;
    n->q = sk_workqueue_new();
    sk_informer_add_handlers(n->nss, &(struct sk_informer_handlers){ns_add, ns_update, NULL, n});
    return n;
}

static int ns_start(void *c, sk_err *err)
{
    struct ns_ctrl *n = c;
    n->w = sk_workers_start(n->q, n->nworkers, sync_namespace, n);
    return 0;
}

static void ns_stop(void *c)
{
    struct ns_ctrl *n = c;
    sk_workqueue_shutdown(n->q);
    sk_workers_join(n->w);
    n->w = NULL;
}

static void ns_free(void *c)
{
    struct ns_ctrl *n = c;
    if (!n) return;
    sk_workqueue_free(n->q);
    free(n);
}

const struct sk_controller_ops sk_ctrl_namespace = {
    .name = "namespace",
    .new = ns_new,
    .start = ns_start,
    .stop = ns_stop,
    .free = ns_free,
};
