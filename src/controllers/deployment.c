/* Deployment controller: informer handlers, the sync loop (adoption of
 * ReplicaSets, pause, scaling events, strategy dispatch), the new
 * ReplicaSet (pod-template-hash, revision, collisions), proportional
 * scaling, history cleanup and status writes. Upstream v1.32
 * pkg/controller/deployment/{deployment_controller,sync}.go.
 *
 * Differences: skiff's /status PUT keeps metadata, so the revision
 * annotation is written with a merge PATCH of the deployment (upstream
 * sends it inside UpdateStatus). The extensions/v1beta1 rollbackTo
 * annotation is not supported (apps/v1 has no rollback subresource;
 * `kubectl rollout undo` patches the template instead). */
#include "controllers/deployment_int.h"

#include <string.h>

#define TAG "deployment-controller"

static int64_t now_s(void) { return sk_wall_ms() / 1000; }

static const char *dns(const json_t *o) { return sk_json_path_str(o, "metadata.namespace"); }
static const char *dname(const json_t *o) { return sk_json_path_str(o, "metadata.name") ?: ""; }
static const char *duid(const json_t *o) { return sk_json_path_str(o, "metadata.uid") ?: ""; }

/* ---- event handlers: only enqueue ------------------------------------------------ */

static void enqueue(struct sk_dc *dc, const json_t *obj)
{
    _sk_free_ char *key = sk_object_key(obj);
    if (key) sk_workqueue_add(dc->q, key);
}

/* The Deployment a controller ref points at, if it is in the cache with that uid. */
static json_t *resolve_deploy(struct sk_dc *dc, const char *ns, const json_t *ref)
{
    const char *kind = sk_json_str(ref, "kind"), *name = sk_json_str(ref, "name");
    const char *uid = sk_json_str(ref, "uid");
    if (!kind || strcmp(kind, "Deployment") || !name || !uid) return NULL;
    json_t *d = sk_informer_get(dc->d_inf, ns, name);
    if (d && strcmp(duid(d), uid)) {
        json_decref(d);
        d = NULL;
    }
    return d;
}

static void enqueue_ref(struct sk_dc *dc, const char *ns, const json_t *ref)
{
    _sk_json_ json_t *d = resolve_deploy(dc, ns, ref);
    if (d) enqueue(dc, d);
}

/* An orphan RS: wake every deployment whose selector matches it. */
static void enqueue_matching(struct sk_dc *dc, const json_t *rs)
{
    _sk_json_ json_t *ds = sk_informer_list(dc->d_inf, dns(rs), NULL);
    size_t i;
    json_t *d;
    json_array_foreach(ds, i, d) {
        sk_err err = SK_ERR_INIT;
        sk_selector *sel = sk_selector_from_json(sk_json_path(d, "spec.selector"), &err);
        if (sel && !sk_selector_empty(sel) &&
            sk_selector_match(sel, sk_json_path(rs, "metadata.labels")))
            enqueue(dc, d);
        sk_selector_free(sel);
        sk_err_clear(&err);
    }
}

static void on_rs_delete(void *ud, const json_t *rs)
{
    const json_t *ref = sk_controller_ref(rs);
    if (ref) enqueue_ref(ud, dns(rs), ref);
}

static void on_rs_add(void *ud, const json_t *rs)
{
    if (sk_json_path(rs, "metadata.deletionTimestamp")) {
        on_rs_delete(ud, rs);
        return;
    }
    const json_t *ref = sk_controller_ref(rs);
    if (ref) enqueue_ref(ud, dns(rs), ref);
    else enqueue_matching(ud, rs);
}

static void on_rs_update(void *ud, const json_t *old, const json_t *cur)
{
    const char *rv1 = sk_json_path_str(old, "metadata.resourceVersion");
    const char *rv2 = sk_json_path_str(cur, "metadata.resourceVersion");
    if (rv1 && rv2 && !strcmp(rv1, rv2)) return; /* resync */
    const json_t *oref = sk_controller_ref(old), *cref = sk_controller_ref(cur);
    bool ref_changed = !json_equal((json_t *)oref, (json_t *)cref) && (oref || cref);
    if (ref_changed && oref) enqueue_ref(ud, dns(old), oref);
    if (cref) {
        enqueue_ref(ud, dns(cur), cref);
        return;
    }
    bool labels_changed = !json_equal(sk_json_path(old, "metadata.labels"),
                                      sk_json_path(cur, "metadata.labels"));
    if (labels_changed || ref_changed) enqueue_matching(ud, cur);
}

/* Recreate waits for old pods to go away. */
static void on_pod_delete(void *ud, const json_t *pod)
{
    struct sk_dc *dc = ud;
    const json_t *ref = sk_controller_ref(pod);
    const char *kind = sk_json_str(ref, "kind");
    if (!kind || strcmp(kind, "ReplicaSet")) return;
    _sk_json_ json_t *rs = sk_informer_get(dc->rs_inf, dns(pod), sk_json_str(ref, "name"));
    if (!rs || strcmp(duid(rs), sk_json_str(ref, "uid") ?: "")) return;
    _sk_json_ json_t *d = resolve_deploy(dc, dns(rs), sk_controller_ref(rs));
    const char *type = sk_json_path_str(d, "spec.strategy.type");
    if (type && !strcmp(type, "Recreate")) enqueue(dc, d);
}

static void on_d_add(void *ud, const json_t *d) { enqueue(ud, d); }
static void on_d_update(void *ud, const json_t *old, const json_t *cur) { enqueue(ud, cur); }
static void on_d_delete(void *ud, const json_t *d) { enqueue(ud, d); }

/* ---- writes -------------------------------------------------------------------- */

int sk_dc_put_status(struct sk_dsync *s, json_t *status, sk_err *err)
{
    json_object_set_new(s->d, "status", status);
    json_t *upd = sk_client_update(s->dc->client, s->dc->dres, dns(s->d), s->d, "status", err);
    if (!upd) return -1;
    json_decref(s->d);
    s->d = upd;
    return 0;
}

/* SetDeploymentRevision, written with a merge PATCH (see the file comment). */
static int set_dep_revision(struct sk_dsync *s, const char *rev, sk_err *err)
{
    json_t *anns = sk_json_obj(sk_json_obj(s->d, "metadata"), "annotations");
    const char *cur = sk_json_str(anns, SK_DEP_REVISION_ANN);
    if (!rev || (cur && !strcmp(cur, rev))) return 0;
    _sk_json_ json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations",
                                        SK_DEP_REVISION_ANN, rev);
    _sk_json_ json_t *upd = sk_client_patch(s->dc->client, s->dc->dres, dns(s->d), dname(s->d),
                                            "application/merge-patch+json", patch, NULL, err);
    if (!upd) return -1;
    /* Only the annotations and resourceVersion: what we act on stays the
     * spec and generation we read. */
    json_t *md = json_object_get(s->d, "metadata");
    json_t *nanns = sk_json_path(upd, "metadata.annotations");
    if (nanns) json_object_set_new(md, "annotations", json_deep_copy(nanns));
    json_t *rv = sk_json_path(upd, "metadata.resourceVersion");
    if (rv) json_object_set(md, "resourceVersion", rv);
    return 0;
}

static json_t *status_copy(const json_t *d)
{
    json_t *st = json_object_get(d, "status");
    return json_is_object(st) ? json_deep_copy(st) : json_object();
}

int sk_dc_scale_rs(struct sk_dsync *s, json_t **rs, int32_t scale, const char *op,
                   bool *scaled, sk_err *err)
{
    int32_t cur = sk_dep_replicas(*rs), want = sk_dep_replicas(s->d);
    int32_t max = want + sk_dep_max_surge(s->d);
    *scaled = false;
    if (cur == scale && !sk_dep_replicas_ann_stale(*rs, want, max)) return 0;
    _sk_json_ json_t *copy = json_deep_copy(*rs);
    json_object_set_new(sk_json_obj(copy, "spec"), "replicas", json_integer(scale));
    sk_dep_set_replicas_ann(copy, want, max);
    json_t *upd = sk_client_update(s->dc->client, s->dc->rsres, dns(copy), copy, NULL, err);
    if (!upd) return -1;
    json_decref(*rs);
    *rs = upd;
    if (cur != scale) {
        *scaled = true;
        sk_event(s->dc->rec, s->d, "Normal", "ScalingReplicaSet",
                 "Scaled %s replica set %s from %d to %d", op, dname(upd), cur, scale);
    }
    return 0;
}

int sk_dc_scale_rs_event(struct sk_dsync *s, json_t **rs, int32_t scale, bool *scaled,
                         sk_err *err)
{
    int32_t cur = sk_dep_replicas(*rs);
    *scaled = false;
    if (cur == scale) return 0;
    return sk_dc_scale_rs(s, rs, scale, cur < scale ? "up" : "down", scaled, err);
}

/* ---- the new ReplicaSet ------------------------------------------------------------ */

/* An existing new RS: sync its annotations and minReadySeconds, or else the
 * deployment's revision and a first Progressing condition. */
static int sync_existing_new_rs(struct sk_dsync *s, const json_t *found, const char *newrev,
                                json_t **new_rs, sk_err *err)
{
    json_t *copy = json_deep_copy(found);
    int64_t mrs = sk_jint(s->d, "spec.minReadySeconds", 0);
    bool ann = sk_dep_set_new_rs_annotations(s->d, copy, newrev, true);
    if (ann || sk_jint(copy, "spec.minReadySeconds", 0) != mrs) {
        json_t *spec = sk_json_obj(copy, "spec");
        if (mrs) json_object_set_new(spec, "minReadySeconds", json_integer(mrs));
        else json_object_del(spec, "minReadySeconds");
        *new_rs = sk_client_update(s->dc->client, s->dc->rsres, dns(copy), copy, NULL, err);
        json_decref(copy);
        return *new_rs ? 0 : -1;
    }
    *new_rs = copy;
    const char *rev = sk_json_str(sk_json_path(copy, "metadata.annotations"), SK_DEP_REVISION_ANN);
    if (set_dep_revision(s, rev, err) < 0) return -1;
    if (sk_dep_has_progress_deadline(s->d) &&
        !sk_dep_condition(json_object_get(s->d, "status"), "Progressing")) {
        json_t *st = status_copy(s->d);
        _sk_free_ char *msg = sk_printf("Found new replica set \"%s\"", dname(copy));
        sk_dep_set_condition(st, "Progressing", "True", "FoundNewReplicaSet", msg, now_s());
        return sk_dc_put_status(s, st, err);
    }
    return 0;
}

static json_t *build_new_rs(const json_t *d, const char *hash)
{
    json_t *tmpl = json_deep_copy(sk_json_path(d, "spec.template"));
    if (!json_is_object(tmpl)) {
        json_decref(tmpl);
        tmpl = json_object();
    }
    json_t *labels = sk_json_obj(sk_json_obj(tmpl, "metadata"), "labels");
    json_object_set_new(labels, SK_DEP_HASH_LABEL, json_string(hash));
    json_t *sel = json_deep_copy(sk_json_path(d, "spec.selector"));
    if (!json_is_object(sel)) {
        json_decref(sel);
        sel = json_object();
    }
    json_object_set_new(sk_json_obj(sel, "matchLabels"), SK_DEP_HASH_LABEL, json_string(hash));
    json_t *rs = json_pack(
        "{s:s,s:s,s:{s:s++,s:s?,s:[o],s:o},s:{s:i,s:o,s:o}}", "apiVersion", "apps/v1", "kind",
        "ReplicaSet", "metadata", "name", dname(d), "-", hash, "namespace", dns(d),
        "ownerReferences", sk_controller_ref_new(d, "apps/v1", "Deployment"), "labels",
        json_deep_copy(labels),
        "spec", "replicas", 0, "selector", sel, "template", tmpl);
    int64_t mrs = sk_jint(d, "spec.minReadySeconds", 0);
    if (mrs) json_object_set_new(json_object_get(rs, "spec"), "minReadySeconds", json_integer(mrs));
    return rs;
}

/* AlreadyExists: ours if we control it and the templates agree; otherwise
 * a hash collision, resolved by bumping status.collisionCount. */
static int create_conflict(struct sk_dsync *s, const char *name, json_t **out, sk_err *err)
{
    _sk_json_ json_t *rs = sk_informer_get(s->dc->rs_inf, dns(s->d), name);
    if (!rs) return -1; /* not in the cache yet: retry */
    if (sk_controlled_by(rs, duid(s->d)) &&
        sk_dep_templates_equal(sk_json_path(s->d, "spec.template"),
                               sk_json_path(rs, "spec.template"))) {
        *out = json_incref(rs);
        sk_err_clear(err);
        return 0;
    }
    json_t *st = status_copy(s->d);
    json_int_t cc = json_integer_value(json_object_get(st, "collisionCount"));
    json_object_set_new(st, "collisionCount", json_integer(cc + 1));
    sk_err e2 = SK_ERR_INIT;
    if (sk_dc_put_status(s, st, &e2) == 0)
        sk_log(SK_INFO, TAG, "deployment %s: hash collision, collisionCount %lld", s->key,
               (long long)cc + 1);
    sk_err_clear(&e2);
    return -1;
}

static int create_failed(struct sk_dsync *s, const char *name, sk_err *err)
{
    _sk_free_ char *msg = sk_printf("Failed to create new replica set \"%s\": %s", name, err->msg);
    if (sk_dep_has_progress_deadline(s->d)) {
        json_t *st = status_copy(s->d);
        sk_dep_set_condition(st, "Progressing", "False", "ReplicaSetCreateError", msg, now_s());
        sk_err e2 = SK_ERR_INIT;
        (void)sk_dc_put_status(s, st, &e2); /* the create error matters more */
        sk_err_clear(&e2);
    }
    sk_event(s->dc->rec, s->d, "Warning", "ReplicaSetCreateError", "%s", msg);
    return -1;
}

static int create_new_rs(struct sk_dsync *s, struct sk_rsvec *old, const char *newrev,
                         json_t **new_rs, sk_err *err)
{
    _sk_free_ char *hash = sk_dep_template_hash(sk_json_path(s->d, "spec.template"),
                                                sk_json_path(s->d, "status.collisionCount"));
    _sk_json_ json_t *rs = build_new_rs(s->d, hash);
    sk_rsvec_push(old, json_incref(rs)); /* sized against all RSs, itself included */
    int32_t n = sk_dep_new_rs_replicas(s->d, old->v, old->n, rs);
    json_decref(old->v[--old->n]);
    json_object_set_new(json_object_get(rs, "spec"), "replicas", json_integer(n));
    sk_dep_set_new_rs_annotations(s->d, rs, newrev, false);
    const char *name = dname(rs);
    bool existed = false;
    json_t *created = sk_client_create(s->dc->client, s->dc->rsres, dns(s->d), rs, err);
    if (!created && err->code == SK_EEXIST) {
        if (create_conflict(s, name, &created, err) < 0) return -1;
        existed = true;
    } else if (!created) {
        if (err->code == SK_EFORBIDDEN && strstr(err->msg, "being terminated")) return -1;
        return create_failed(s, name, err);
    }
    *new_rs = created;
    if (!existed && n > 0)
        sk_event(s->dc->rec, s->d, "Normal", "ScalingReplicaSet",
                 "Scaled up replica set %s from 0 to %d", dname(created), n);
    if (set_dep_revision(s, newrev, err) < 0) return -1;
    if (!existed && sk_dep_has_progress_deadline(s->d)) {
        json_t *st = status_copy(s->d);
        _sk_free_ char *msg = sk_printf("Created new replica set \"%s\"", dname(created));
        sk_dep_set_condition(st, "Progressing", "True", "NewReplicaSetCreated", msg, now_s());
        return sk_dc_put_status(s, st, err);
    }
    return 0;
}

int sk_dc_all_rs(struct sk_dsync *s, bool create, json_t **new_rs, struct sk_rsvec *old,
                 sk_err *err)
{
    const json_t *tmpl = sk_json_path(s->d, "spec.template");
    const json_t *found = NULL;
    *new_rs = NULL;
    sk_rs_sort_by_creation(s->rs.v, s->rs.n);
    /* the oldest RS with the deployment's template is the new one */
    for (size_t i = 0; i < s->rs.n && !found; i++)
        if (sk_dep_templates_equal(sk_json_path(s->rs.v[i], "spec.template"), tmpl))
            found = s->rs.v[i];
    for (size_t i = 0; i < s->rs.n; i++)
        if (s->rs.v[i] != found) sk_rsvec_push(old, json_incref(s->rs.v[i]));
    char newrev[24];
    snprintf(newrev, sizeof newrev, "%lld", (long long)sk_dep_max_revision(old->v, old->n) + 1);
    if (found) return sync_existing_new_rs(s, found, newrev, new_rs, err);
    if (!create) return 0;
    return create_new_rs(s, old, newrev, new_rs, err);
}

/* ---- scaling, cleanup, status ------------------------------------------------------ */

/* FindActiveOrLatest: the only active RS, the newest when none is active,
 * NULL when several are. Returns a slot (new_rs or in old). */
static json_t **active_or_latest(json_t **new_rs, struct sk_rsvec *old)
{
    json_t **only = NULL;
    size_t active = 0;
    if (!*new_rs && !old->n) return NULL;
    if (*new_rs && sk_dep_replicas(*new_rs) > 0) {
        only = new_rs;
        active++;
    }
    for (size_t i = 0; i < old->n; i++)
        if (sk_dep_replicas(old->v[i]) > 0) {
            only = &old->v[i];
            active++;
        }
    if (active == 1) return only;
    if (active > 1) return NULL;
    if (*new_rs) return new_rs;
    json_t **newest = &old->v[0]; /* old is oldest-first */
    for (size_t i = 1; i < old->n; i++) newest = &old->v[i];
    return newest;
}

/* DeploymentController.scale: proportional scaling of active RSs. */
static int dc_scale(struct sk_dsync *s, json_t **new_rs, struct sk_rsvec *old, sk_err *err)
{
    int32_t want = sk_dep_replicas(s->d);
    bool scaled;
    json_t **one = active_or_latest(new_rs, old);
    if (one) return sk_dc_scale_rs_event(s, one, want, &scaled, err);
    if (sk_dep_is_saturated(s->d, *new_rs)) {
        for (size_t i = 0; i < old->n; i++)
            if (sk_dep_replicas(old->v[i]) > 0 &&
                sk_dc_scale_rs_event(s, &old->v[i], 0, &scaled, err) < 0)
                return -1;
        return 0;
    }
    if (!sk_dep_is_rolling(s->d)) return 0;
    size_t n = 0, cap = old->n + 1;
    json_t **act = sk_calloc(cap, sizeof *act), ***slot = sk_calloc(cap, sizeof *slot);
    for (size_t i = 0; i < old->n; i++)
        if (sk_dep_replicas(old->v[i]) > 0) slot[n++] = &old->v[i];
    if (*new_rs && sk_dep_replicas(*new_rs) > 0) slot[n++] = new_rs;
    for (size_t i = 0; i < n; i++) act[i] = *slot[i];
    int32_t *sizes = sk_calloc(n ? n : 1, sizeof *sizes);
    const char *op = sk_dep_proportional(s->d, act, n, sizes);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        for (size_t j = 0; j < n; j++)
            if (*slot[j] == act[i]) {
                rc = sk_dc_scale_rs(s, slot[j], sizes[i], op, &scaled, err);
                break;
            }
    free(act);
    free(slot);
    free(sizes);
    return rc;
}

int sk_dc_cleanup(struct sk_dsync *s, struct sk_rsvec *old, sk_err *err)
{
    if (!sk_dep_has_history_limit(s->d)) return 0;
    json_t **alive = sk_calloc(old->n ? old->n : 1, sizeof *alive);
    size_t n = 0;
    for (size_t i = 0; i < old->n; i++)
        if (!sk_json_path(old->v[i], "metadata.deletionTimestamp")) alive[n++] = old->v[i];
    int64_t diff = (int64_t)n - sk_jint(s->d, "spec.revisionHistoryLimit", 0);
    int rc = 0;
    sk_rs_sort_by_revision(alive, n);
    for (int64_t i = 0; i < diff && rc == 0; i++) {
        const json_t *rs = alive[i];
        if (sk_jint(rs, "status.replicas", 0) || sk_dep_replicas(rs) ||
            sk_jint(rs, "metadata.generation", 0) > sk_jint(rs, "status.observedGeneration", 0))
            continue;
        if (sk_client_delete(s->dc->client, s->dc->rsres, dns(rs), dname(rs), NULL, -1, NULL,
                             err) < 0 && err->code != SK_ENOTFOUND)
            rc = -1; /* stop: do not hammer an overloaded server */
    }
    free(alive);
    return rc;
}

static int sync_dep_status(struct sk_dsync *s, json_t *new_rs, struct sk_rsvec *old, sk_err *err)
{
    if (new_rs) sk_rsvec_push(old, json_incref(new_rs));
    json_t *st = sk_dep_calc_status(s->d, old->v, old->n, new_rs, now_s());
    if (new_rs) json_decref(old->v[--old->n]);
    if (sk_dep_status_equal(json_object_get(s->d, "status"), st)) {
        json_decref(st);
        return 0;
    }
    return sk_dc_put_status(s, st, err);
}

/* sync: scaling events, paused deployments (and, with scale=false, the
 * status-only sync of a deployment being deleted). */
static int dc_sync_only(struct sk_dsync *s, bool scale, sk_err *err)
{
    json_t *new_rs = NULL;
    struct sk_rsvec old = {0};
    int rc = sk_dc_all_rs(s, false, &new_rs, &old, err);
    if (rc == 0 && scale) rc = dc_scale(s, &new_rs, &old, err);
    if (rc == 0 && scale && json_is_true(sk_json_path(s->d, "spec.paused")))
        rc = sk_dc_cleanup(s, &old, err);
    if (rc == 0) rc = sync_dep_status(s, new_rs, &old, err);
    json_decref(new_rs);
    sk_rsvec_release(&old);
    return rc;
}

static int is_scaling_event(struct sk_dsync *s, bool *out, sk_err *err)
{
    json_t *new_rs = NULL;
    struct sk_rsvec old = {0};
    *out = false;
    int rc = sk_dc_all_rs(s, false, &new_rs, &old, err);
    if (new_rs) sk_rsvec_push(&old, json_incref(new_rs));
    for (size_t i = 0; rc == 0 && i < old.n && !*out; i++) {
        int32_t desired;
        if (sk_dep_replicas(old.v[i]) > 0 && sk_dep_int_ann(old.v[i], SK_DEP_DESIRED_ANN, &desired))
            *out = desired != sk_dep_replicas(s->d);
    }
    json_decref(new_rs);
    sk_rsvec_release(&old);
    return rc;
}

/* Unknown Progressing conditions on pause/resume keep a resumed
 * deployment from timing out at once. */
static int check_paused(struct sk_dsync *s, sk_err *err)
{
    if (!sk_dep_has_progress_deadline(s->d)) return 0;
    const char *reason = sk_json_str(sk_dep_condition(json_object_get(s->d, "status"),
                                                      "Progressing"), "reason");
    if (reason && !strcmp(reason, "ProgressDeadlineExceeded")) return 0;
    bool paused = json_is_true(sk_json_path(s->d, "spec.paused"));
    bool was = reason && !strcmp(reason, "DeploymentPaused");
    if (paused == was) return 0;
    json_t *st = status_copy(s->d);
    if (paused)
        sk_dep_set_condition(st, "Progressing", "Unknown", "DeploymentPaused",
                             "Deployment is paused", now_s());
    else
        sk_dep_set_condition(st, "Progressing", "Unknown", "DeploymentResumed",
                             "Deployment is resumed", now_s());
    return sk_dc_put_status(s, st, err);
}

/* ---- reconcile ------------------------------------------------------------------------ */

static bool can_adopt(void *ud)
{
    struct sk_dsync *s = ud;
    sk_err err = SK_ERR_INIT;
    _sk_json_ json_t *fresh =
        sk_client_get(s->dc->client, s->dc->dres, dns(s->d), dname(s->d), &err);
    sk_err_clear(&err);
    return fresh && !strcmp(duid(fresh), duid(s->d)) &&
           !sk_json_path(fresh, "metadata.deletionTimestamp");
}

static int claim_replicasets(struct sk_dsync *s, const sk_selector *sel, sk_err *err)
{
    _sk_json_ json_t *cand = sk_claim_candidates(s->dc->rs_inf, dns(s->d), duid(s->d), sel);
    struct sk_claim cl = {s->dc->client, s->dc->rsres, s->d, "apps/v1", "Deployment", sel,
                          can_adopt, s};
    int failed;
    _sk_json_ json_t *got = sk_claim_objects(&cl, cand, &failed, err);
    size_t i;
    json_t *rs;
    json_array_foreach(got, i, rs) sk_rsvec_push(&s->rs, json_incref(rs));
    return failed ? -1 : 0;
}

static int selecting_all(struct sk_dsync *s, sk_err *err)
{
    sk_event(s->dc->rec, s->d, "Warning", "SelectingAll",
             "This deployment is selecting all pods. A non-empty selector is required.");
    int64_t gen = sk_jint(s->d, "metadata.generation", 0);
    if (sk_jint(s->d, "status.observedGeneration", 0) >= gen) return 0;
    json_t *st = status_copy(s->d);
    json_object_set_new(st, "observedGeneration", json_integer(gen));
    return sk_dc_put_status(s, st, err);
}

static int reconcile(struct sk_dsync *s, sk_err *err)
{
    sk_selector *sel = sk_selector_from_json(sk_json_path(s->d, "spec.selector"), err);
    if (!sel) return 0; /* validation rejects such objects; nothing to do */
    int rc;
    if (sk_selector_empty(sel)) rc = selecting_all(s, err);
    else rc = claim_replicasets(s, sel, err);
    bool empty = sk_selector_empty(sel);
    sk_selector_free(sel);
    if (rc < 0 || empty) return rc;
    if (sk_json_path(s->d, "metadata.deletionTimestamp")) return dc_sync_only(s, false, err);
    if (check_paused(s, err) < 0) return -1;
    if (json_is_true(sk_json_path(s->d, "spec.paused"))) return dc_sync_only(s, true, err);
    bool scaling;
    if (is_scaling_event(s, &scaling, err) < 0) return -1;
    if (scaling) return dc_sync_only(s, true, err);
    const char *type = sk_json_path_str(s->d, "spec.strategy.type") ?: "";
    if (!strcmp(type, "Recreate")) return sk_dc_rollout_recreate(s, err);
    if (!strcmp(type, "RollingUpdate")) return sk_dc_rollout_rolling(s, err);
    return sk_err_set(err, SK_EINVALID, "unexpected deployment strategy type: %s", type);
}

static int dc_sync(void *c, const char *key)
{
    struct sk_dc *dc = c;
    char ns[256], name[256];
    sk_key_split(key, ns, sizeof ns, name, sizeof name);
    _sk_json_ json_t *cached = sk_informer_get(dc->d_inf, ns, name);
    if (!cached) return 0; /* deleted: the garbage collector removes its RSs */
    struct sk_dsync s = {.dc = dc, .key = key, .d = json_deep_copy(cached)};
    sk_err err = SK_ERR_INIT;
    int rc = reconcile(&s, &err);
    if (rc < 0)
        sk_log(err.code == SK_ECONFLICT ? SK_DEBUG : SK_WARN, TAG, "sync %s: %s", key,
               err.msg[0] ? err.msg : "failed");
    json_decref(s.d);
    sk_rsvec_release(&s.rs);
    sk_err_clear(&err);
    return rc;
}

/* ---- lifecycle ------------------------------------------------------------------------- */

static void *dc_new(struct sk_ctrl_ctx *ctx, sk_err *err)
{
    struct sk_dc *dc = sk_calloc(1, sizeof *dc);
    const struct sk_ctrlmgr_config *cfg = sk_ctx_config(ctx);
    dc->client = sk_ctx_client(ctx);
    dc->dres = sk_ctx_res("apps", "deployments");
    dc->rsres = sk_ctx_res("apps", "replicasets");
    dc->d_inf = sk_ctx_informer(ctx, "apps", "deployments");
    dc->rs_inf = sk_ctx_informer(ctx, "apps", "replicasets");
    dc->pod_inf = sk_ctx_informer(ctx, "", "pods");
    if (!dc->dres || !dc->rsres || !dc->d_inf || !dc->rs_inf || !dc->pod_inf) {
        free(dc);
        sk_err_set(err, SK_EINTERNAL, "deployment controller: apps/v1 resources unavailable");
        return NULL;
    }
    dc->rec = sk_ctx_recorder(ctx, "deployment-controller");
    dc->q = sk_workqueue_new();
    dc->nworkers = cfg && cfg->workers > 0 ? cfg->workers : 4;
    struct sk_informer_handlers dh = {on_d_add, on_d_update, on_d_delete, dc};
    struct sk_informer_handlers rh = {on_rs_add, on_rs_update, on_rs_delete, dc};
    struct sk_informer_handlers ph = {NULL, NULL, on_pod_delete, dc};
    sk_informer_add_handlers(dc->d_inf, &dh);
    sk_informer_add_handlers(dc->rs_inf, &rh);
    sk_informer_add_handlers(dc->pod_inf, &ph);
    return dc;
}

static int dc_start(void *c, sk_err *err)
{
    struct sk_dc *dc = c;
    dc->w = sk_workers_start(dc->q, dc->nworkers, dc_sync, dc);
    if (!dc->w) return sk_err_set(err, SK_EINTERNAL, "deployment controller: cannot start workers");
    return 0;
}

static void dc_stop(void *c)
{
    struct sk_dc *dc = c;
    sk_workqueue_shutdown(dc->q);
    if (dc->w) sk_workers_join(dc->w);
    dc->w = NULL;
}

static void dc_free(void *c)
{
    struct sk_dc *dc = c;
    if (!dc) return;
    sk_workqueue_free(dc->q);
    free(dc);
}

const struct sk_controller_ops sk_ctrl_deployment = {
    .name = "deployment",
    .new = dc_new,
    .start = dc_start,
    .stop = dc_stop,
    .free = dc_free,
};
