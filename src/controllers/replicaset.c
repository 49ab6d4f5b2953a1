/* ReplicaSet controller: keeps spec.replicas active pods per ReplicaSet.
 * Upstream v1.32 pkg/controller/replicaset: expectations (no second round
 * of creates/deletes until the informer has seen the first), adoption and
 * release of pods by selector, slow-start batched creation (1, 2, 4, ...),
 * deletion of the cheapest pods first (ActivePodsWithRanks), and status
 * (replicas, fullyLabeledReplicas, readyReplicas, availableReplicas,
 * observedGeneration, ReplicaFailure) written only when it changed.
 *
 * A batch of creates or deletes runs in parallel on a small pool of
 * long-lived threads (upstream uses a goroutine per request); long-lived,
 * because each client thread keeps its own API connection.
 *
 * Partial: create errors caused by a terminating namespace are reported
 * like any other (upstream ignores them), and pods are always named from
 * "<rs>-" (upstream drops the dash when that prefix is not a valid name). */
#include "controllers/controllers_int.h"
#include "controllers/podutil.h"

#include <pthread.h>
#include <string.h>

#define TAG "replicaset-controller"
#define BURST_REPLICAS 500            /* upstream --replicaset-burst... default */
#define EXPECTATIONS_TTL_MS (5 * 60 * 1000)
#define FANOUT_THREADS 8

struct rs_sync;
struct batch;

/* One create or delete of a batch. */
struct job {
    int (*fn)(struct rs_sync *s, const json_t *obj, sk_err *err);
    struct rs_sync *s;
    const json_t *obj;
    sk_err err;
    int rc;
    struct batch *b;
    struct job *next;
};

struct batch {
    int pending;
    pthread_cond_t done;
};

struct rsc {
    sk_client *client;
    sk_informer *rs_inf, *pod_inf;
    sk_recorder *rec;
    sk_workqueue *q;
    sk_workers *w;
    const struct sk_resource *rsres, *podres;
    int nworkers;
    pthread_mutex_t mu;
    json_t *exp; /* rs key -> {"add": n, "del": {pod key: true}, "ts": ms}; under mu */
    /* fan-out pool, all under fmu */
    pthread_mutex_t fmu;
    pthread_cond_t fwork;
    struct job *fhead, *ftail;
    bool fstop;
    pthread_t fth[FANOUT_THREADS];
    int nfth;
};

static const char *ons(const json_t *o) { return sk_json_path_str(o, "metadata.namespace"); }
static const char *oname(const json_t *o) { return sk_json_path_str(o, "metadata.name") ?: ""; }
static const char *ouid(const json_t *o) { return sk_json_path_str(o, "metadata.uid") ?: ""; }
static int64_t now_s(void) { return sk_wall_ms() / 1000; }

/* ---- expectations -------------------------------------------------------------- */

static void exp_set(struct rsc *rc, const char *key, int add, json_t *del)
{
    pthread_mutex_lock(&rc->mu);
    json_object_set_new(rc->exp, key, json_pack("{s:i,s:o,s:I}", "add", add, "del", del, "ts",
                                                (json_int_t)sk_now_ms()));
    pthread_mutex_unlock(&rc->mu);
}

static void exp_creation_observed(struct rsc *rc, const char *key)
{
    pthread_mutex_lock(&rc->mu);
    json_t *e = json_object_get(rc->exp, key);
    if (e) {
        json_int_t add = json_integer_value(json_object_get(e, "add"));
        json_object_set_new(e, "add", json_integer(add - 1));
    }
    pthread_mutex_unlock(&rc->mu);
}

static void exp_deletion_observed(struct rsc *rc, const char *key, const char *pod_key)
{
    pthread_mutex_lock(&rc->mu);
    json_object_del(json_object_get(json_object_get(rc->exp, key), "del"), pod_key);
    pthread_mutex_unlock(&rc->mu);
}

static void exp_delete(struct rsc *rc, const char *key)
{
    pthread_mutex_lock(&rc->mu);
    json_object_del(rc->exp, key);
    pthread_mutex_unlock(&rc->mu);
}

/* True when the last round of creates/deletes has been observed (or has
 * expired, or there never was one). */
static bool exp_satisfied(struct rsc *rc, const char *key)
{
    bool ok = true;
    pthread_mutex_lock(&rc->mu);
    json_t *e = json_object_get(rc->exp, key);
    if (e) {
        bool done = json_integer_value(json_object_get(e, "add")) <= 0 &&
                    json_object_size(json_object_get(e, "del")) == 0;
        bool expired = sk_now_ms() - json_integer_value(json_object_get(e, "ts")) >
                       EXPECTATIONS_TTL_MS;
        ok = done || expired;
    }
    pthread_mutex_unlock(&rc->mu);
    return ok;
}

/* ---- event handlers: only enqueue ------------------------------------------------ */

static void enqueue(struct rsc *rc, const json_t *rs)
{
    _sk_free_ char *key = sk_object_key(rs);
    if (key) sk_workqueue_add(rc->q, key);
}

/* The ReplicaSet a controller ref points at, if cached with that uid. */
static json_t *resolve_rs(struct rsc *rc, const char *ns, const json_t *ref)
{
    const char *kind = sk_json_str(ref, "kind"), *name = sk_json_str(ref, "name");
    const char *uid = sk_json_str(ref, "uid");
    if (!kind || strcmp(kind, "ReplicaSet") || !name || !uid) return NULL;
    json_t *rs = sk_informer_get(rc->rs_inf, ns, name);
    if (rs && strcmp(ouid(rs), uid)) {
        json_decref(rs);
        rs = NULL;
    }
    return rs;
}

/* An orphan pod: wake every ReplicaSet whose selector matches it. */
static void enqueue_matching(struct rsc *rc, const json_t *pod)
{
    _sk_json_ json_t *rss = sk_informer_list(rc->rs_inf, ons(pod), NULL);
    size_t i;
    json_t *rs;
    json_array_foreach(rss, i, rs) {
        sk_err err = SK_ERR_INIT;
        sk_selector *sel = sk_selector_from_json(sk_json_path(rs, "spec.selector"), &err);
        if (sel && !sk_selector_empty(sel) &&
            sk_selector_match(sel, sk_json_path(pod, "metadata.labels")))
            enqueue(rc, rs);
        sk_selector_free(sel);
        sk_err_clear(&err);
    }
}

static void on_pod_delete(void *ud, const json_t *pod)
{
    struct rsc *rc = ud;
    _sk_json_ json_t *rs = resolve_rs(rc, ons(pod), sk_controller_ref(pod));
    if (!rs) return;
    _sk_free_ char *key = sk_object_key(rs);
    char pkey[512];
    sk_obj_nskey(pod, pkey, sizeof pkey);
    exp_deletion_observed(rc, key, pkey);
    sk_workqueue_add(rc->q, key);
}

static void on_pod_add(void *ud, const json_t *pod)
{
    struct rsc *rc = ud;
    if (sk_json_path(pod, "metadata.deletionTimestamp")) {
        on_pod_delete(ud, pod); /* a restarted controller sees a pending deletion */
        return;
    }
    const json_t *ref = sk_controller_ref(pod);
    if (!ref) {
        enqueue_matching(rc, pod);
        return;
    }
    _sk_json_ json_t *rs = resolve_rs(rc, ons(pod), ref);
    if (!rs) return;
    _sk_free_ char *key = sk_object_key(rs);
    exp_creation_observed(rc, key);
    sk_workqueue_add(rc->q, key);
}

static void on_pod_update(void *ud, const json_t *old, const json_t *cur)
{
    struct rsc *rc = ud;
    const char *rv1 = sk_json_path_str(old, "metadata.resourceVersion");
    const char *rv2 = sk_json_path_str(cur, "metadata.resourceVersion");
    if (rv1 && rv2 && !strcmp(rv1, rv2)) return; /* resync */
    bool labels_changed = !json_equal(sk_json_path(old, "metadata.labels"),
                                      sk_json_path(cur, "metadata.labels"));
    if (sk_json_path(cur, "metadata.deletionTimestamp")) {
        /* act on the deletion timestamp, not on the final removal */
        on_pod_delete(ud, cur);
        if (labels_changed) on_pod_delete(ud, old);
        return;
    }
    const json_t *oref = sk_controller_ref(old), *cref = sk_controller_ref(cur);
    bool ref_changed = !json_equal((json_t *)oref, (json_t *)cref) && (oref || cref);
    if (ref_changed && oref) {
        _sk_json_ json_t *ors = resolve_rs(rc, ons(old), oref);
        if (ors) enqueue(rc, ors);
    }
    if (cref) {
        _sk_json_ json_t *rs = resolve_rs(rc, ons(cur), cref);
        if (!rs) return;
        enqueue(rc, rs);
        /* availability after minReadySeconds is not an event: look again then */
        int64_t mrs = sk_jint(rs, "spec.minReadySeconds", 0);
        if (mrs > 0 && !sk_pod_is_ready(old) && sk_pod_is_ready(cur)) {
            _sk_free_ char *key = sk_object_key(rs);
            sk_workqueue_add_after(rc->q, key, (mrs + 1) * 1000);
        }
        return;
    }
    if (labels_changed || ref_changed) enqueue_matching(rc, cur);
}

static void on_rs_add(void *ud, const json_t *rs) { enqueue(ud, rs); }
static void on_rs_update(void *ud, const json_t *old, const json_t *cur) { enqueue(ud, cur); }

static void on_rs_delete(void *ud, const json_t *rs)
{
    struct rsc *rc = ud;
    _sk_free_ char *key = sk_object_key(rs);
    if (!key) return;
    exp_delete(rc, key);
    sk_workqueue_add(rc->q, key);
}

/* ---- claiming ----------------------------------------------------------------------- */

struct rs_sync {
    struct rsc *rc;
    const json_t *rs; /* cached, immutable */
    const char *key;
};

static bool can_adopt(void *ud)
{
    struct rs_sync *s = ud;
    sk_err err = SK_ERR_INIT;
    _sk_json_ json_t *fresh = sk_client_get(s->rc->client, s->rc->rsres, ons(s->rs), oname(s->rs),
                                            &err);
    sk_err_clear(&err);
    return fresh && !strcmp(ouid(fresh), ouid(s->rs)) &&
           !sk_json_path(fresh, "metadata.deletionTimestamp");
}

/* Active pods this RS controls after adoption/release. */
static json_t *claim_pods(struct rs_sync *s, const sk_selector *sel, int *failed, sk_err *err)
{
    _sk_json_ json_t *cand = sk_claim_candidates(s->rc->pod_inf, ons(s->rs), ouid(s->rs), sel);
    _sk_json_ json_t *active = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(cand, i, p) if (sk_pod_is_active(p)) json_array_append(active, p);
    struct sk_claim cl = {s->rc->client, s->rc->podres, s->rs, "apps/v1", "ReplicaSet", sel,
                          can_adopt, s};
    return sk_claim_objects(&cl, active, failed, err);
}

/* ---- fan-out pool ------------------------------------------------------------------ */

static void *fan_main(void *arg)
{
    struct rsc *rc = arg;
    pthread_mutex_lock(&rc->fmu);
    for (;;) {
        while (!rc->fhead && !rc->fstop) pthread_cond_wait(&rc->fwork, &rc->fmu);
        struct job *j = rc->fhead;
        if (!j) break; /* stopping, queue drained */
        rc->fhead = j->next;
        if (!rc->fhead) rc->ftail = NULL;
        pthread_mutex_unlock(&rc->fmu);
        j->rc = j->fn(j->s, j->obj, &j->err);
        pthread_mutex_lock(&rc->fmu);
        if (--j->b->pending == 0) pthread_cond_signal(&j->b->done);
    }
    pthread_mutex_unlock(&rc->fmu);
    return NULL;
}

/* Runs the jobs in parallel and waits for all of them. */
static void run_jobs(struct rsc *rc, struct job *jobs, int n)
{
    if (rc->nfth == 0 || n == 1) {
        for (int i = 0; i < n; i++) jobs[i].rc = jobs[i].fn(jobs[i].s, jobs[i].obj, &jobs[i].err);
        return;
    }
    struct batch b = {.pending = n};
    pthread_cond_init(&b.done, NULL);
    pthread_mutex_lock(&rc->fmu);
    for (int i = 0; i < n; i++) {
        jobs[i].b = &b;
        jobs[i].next = NULL;
        if (rc->ftail) rc->ftail->next = &jobs[i];
        else rc->fhead = &jobs[i];
        rc->ftail = &jobs[i];
    }
    pthread_cond_broadcast(&rc->fwork);
    while (b.pending > 0) pthread_cond_wait(&b.done, &rc->fmu);
    pthread_mutex_unlock(&rc->fmu);
    pthread_cond_destroy(&b.done);
}

/* ---- creating and deleting pods ------------------------------------------------------ */

/* One create; records the event. */
static int create_one(struct rs_sync *s, const json_t *pod, sk_err *err)
{
    _sk_json_ json_t *created =
        sk_client_create(s->rc->client, s->rc->podres, ons(s->rs), pod, err);
    if (!created) {
        sk_event(s->rc->rec, s->rs, "Warning", "FailedCreate", "Error creating: %s", err->msg);
        return -1;
    }
    sk_event(s->rc->rec, s->rs, "Normal", "SuccessfulCreate", "Created pod: %s", oname(created));
    return 0;
}

/* Runs fn over objs[0..n) (or n times over obj when objs is NULL) on the
 * pool; returns how many succeeded, with the first failure in err. */
static int fan_out(struct rs_sync *s, int (*fn)(struct rs_sync *, const json_t *, sk_err *),
                   const json_t *obj, const json_t **objs, int n, sk_err *err)
{
    struct job *jobs = sk_calloc(n, sizeof *jobs);
    int ok = 0;
    for (int i = 0; i < n; i++) {
        jobs[i].fn = fn;
        jobs[i].s = s;
        jobs[i].obj = objs ? objs[i] : obj;
    }
    run_jobs(s->rc, jobs, n);
    for (int i = 0; i < n; i++) {
        if (jobs[i].rc == 0) ok++;
        else if (err->code == SK_OK) {
            err->code = jobs[i].err.code ? jobs[i].err.code : SK_EINTERNAL;
            snprintf(err->msg, sizeof err->msg, "%s", jobs[i].err.msg);
        }
        sk_err_clear(&jobs[i].err);
    }
    free(jobs);
    return ok;
}

/* Slow start: batches of 1, 2, 4, ... stopping at the first failing batch,
 * so a quota or admission error costs one request, not hundreds. */
static int create_pods(struct rs_sync *s, int diff, sk_err *err)
{
    exp_set(s->rc, s->key, diff, json_object());
    _sk_json_ json_t *ref = sk_controller_ref_new(s->rs, "apps/v1", "ReplicaSet");
    _sk_json_ json_t *pod = sk_pod_from_template(sk_json_path(s->rs, "spec.template"),
                                                 oname(s->rs), ons(s->rs), ref);
    int ok = 0, rc = 0;
    if (!json_object_size(sk_json_path(pod, "metadata.labels")))
        rc = sk_err_set(err, SK_EINVALID, "unable to create pods, no labels");
    for (int batch = diff < 1 ? diff : 1, left = diff; rc == 0 && batch > 0;) {
        int got = fan_out(s, create_one, pod, NULL, batch, err);
        ok += got;
        if (got < batch) rc = -1;
        left -= batch;
        batch = 2 * batch < left ? 2 * batch : left;
    }
    /* pods never attempted (or failed) will not be observed */
    for (int i = ok; i < diff; i++) exp_creation_observed(s->rc, s->key);
    return rc;
}

/* Pods of all ReplicaSets sharing this one's controller: for spreading
 * deletions away from crowded nodes. */
static json_t *related_pods(struct rsc *rc, const json_t *rs)
{
    const char *owner = sk_json_str(sk_controller_ref(rs), "uid");
    if (!owner) return sk_informer_list_owned(rc->pod_inf, ons(rs), ouid(rs));
    json_t *out = json_array(), *r;
    _sk_json_ json_t *rss = sk_informer_list(rc->rs_inf, ons(rs), NULL);
    size_t i;
    json_array_foreach(rss, i, r) {
        if (!sk_controlled_by(r, owner)) continue;
        _sk_json_ json_t *pods = sk_informer_list_owned(rc->pod_inf, ons(r), ouid(r));
        json_array_extend(out, pods);
    }
    return out;
}

/* One delete; a failure (other than NotFound) is reported. */
static int delete_one(struct rs_sync *s, const json_t *pod, sk_err *err)
{
    char pkey[512];
    if (sk_client_delete(s->rc->client, s->rc->podres, ons(pod), oname(pod), NULL, -1, NULL,
                         err) == 0) {
        sk_event(s->rc->rec, s->rs, "Normal", "SuccessfulDelete", "Deleted pod: %s", oname(pod));
        return 0;
    }
    /* the informer will not see this deletion */
    sk_obj_nskey(pod, pkey, sizeof pkey);
    exp_deletion_observed(s->rc, s->key, pkey);
    if (err->code == SK_ENOTFOUND) return 0;
    sk_event(s->rc->rec, s->rs, "Warning", "FailedDelete", "Error deleting: %s", err->msg);
    return -1;
}

static int delete_pods(struct rs_sync *s, const json_t *pods, int diff, sk_err *err)
{
    size_t n = json_array_size(pods);
    const json_t **v = sk_calloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = json_array_get(pods, i);
    if ((size_t)diff < n) {
        _sk_json_ json_t *related = related_pods(s->rc, s->rs);
        int *rank = sk_calloc(n, sizeof *rank);
        sk_pods_rank_by_node(v, n, related, rank);
        sk_pods_sort_for_deletion(v, n, rank, now_s());
        free(rank);
    }
    json_t *keys = json_object();
    char pkey[512];
    for (int i = 0; i < diff; i++) {
        sk_obj_nskey(v[i], pkey, sizeof pkey);
        json_object_set_new(keys, pkey, json_true());
    }
    exp_set(s->rc, s->key, 0, keys);
    int ok = fan_out(s, delete_one, NULL, v, diff, err);
    free(v);
    if (ok == diff) return 0;
    char msg[sizeof err->msg];
    snprintf(msg, sizeof msg, "%s", err->msg);
    snprintf(err->msg, sizeof err->msg, "unable to delete pods: %s", msg);
    return -1;
}

static int manage_replicas(struct rs_sync *s, const json_t *pods, sk_err *err)
{
    int diff = (int)json_array_size(pods) - (int)sk_jint(s->rs, "spec.replicas", 1);
    if (diff < 0) {
        diff = -diff > BURST_REPLICAS ? BURST_REPLICAS : -diff;
        return create_pods(s, diff, err);
    }
    if (diff > 0) {
        if (diff > BURST_REPLICAS) diff = BURST_REPLICAS;
        return delete_pods(s, pods, diff, err);
    }
    return 0;
}

/* ---- status -------------------------------------------------------------------------- */

static bool labels_superset(const json_t *have, const json_t *want)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)want, k, v)
        if (!json_equal(json_object_get(have, k), v)) return false;
    return true;
}

static void set_failure(json_t *st, const json_t *rs, const json_t *pods, const char *manage_err)
{
    json_t *conds = json_object_get(st, "conditions"), *c;
    size_t i, at = (size_t)-1;
    json_array_foreach(conds, i, c) {
        const char *t = sk_json_str(c, "type");
        if (t && !strcmp(t, "ReplicaFailure")) at = i;
    }
    if (manage_err && at == (size_t)-1) {
        int diff = (int)json_array_size(pods) - (int)sk_jint(rs, "spec.replicas", 1);
        const char *reason = diff < 0 ? "FailedCreate" : diff > 0 ? "FailedDelete" : "";
        char ts[32];
        sk_time_format(now_s(), ts, sizeof ts);
        if (!json_is_array(conds)) {
            conds = json_array();
            json_object_set_new(st, "conditions", conds);
        }
        json_array_append_new(conds, json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "ReplicaFailure",
                                               "status", "True", "lastTransitionTime", ts, "reason",
                                               reason,
                                               "message", manage_err));
    } else if (!manage_err && at != (size_t)-1) {
        json_array_remove(conds, at);
        if (!json_array_size(conds)) json_object_del(st, "conditions");
    }
}

static void set_count(json_t *st, const char *k, int64_t v)
{
    if (v) json_object_set_new(st, k, json_integer(v));
    else json_object_del(st, k); /* omitempty */
}

static json_t *calc_status(const json_t *rs, const json_t *pods, const char *manage_err)
{
    json_t *cur = json_object_get(rs, "status");
    json_t *st = json_is_object(cur) ? json_deep_copy(cur) : json_object(), *p;
    const json_t *tl = sk_json_path(rs, "spec.template.metadata.labels");
    int64_t mrs = sk_jint(rs, "spec.minReadySeconds", 0), now = now_s();
    int labeled = 0, ready = 0, avail = 0;
    size_t i;
    json_array_foreach(pods, i, p) {
        if (labels_superset(sk_json_path(p, "metadata.labels"), tl)) labeled++;
        if (sk_pod_is_ready(p)) {
            ready++;
            if (sk_pod_is_available(p, mrs, now)) avail++;
        }
    }
    set_failure(st, rs, pods, manage_err);
    json_object_set_new(st, "replicas", json_integer((json_int_t)json_array_size(pods)));
    set_count(st, "fullyLabeledReplicas", labeled);
    set_count(st, "readyReplicas", ready);
    set_count(st, "availableReplicas", avail);
    return st;
}

/* Writes st (taken) unless nothing changed; *out = the RS as it now is. */
static int update_status(struct rs_sync *s, json_t *st, json_t **out, sk_err *err)
{
    const json_t *cur = json_object_get(s->rs, "status");
    static const char *const f[] = {"replicas", "fullyLabeledReplicas", "readyReplicas",
                                    "availableReplicas"};
    int64_t gen = sk_jint(s->rs, "metadata.generation", 0);
    bool same = gen == sk_jint(cur, "observedGeneration", 0) &&
                json_equal(json_object_get(cur, "conditions") ?: json_null(),
                           json_object_get(st, "conditions") ?: json_null());
    for (size_t i = 0; same && i < SK_ARRAY_LEN(f); i++)
        same = sk_jint(cur, f[i], 0) == sk_jint(st, f[i], 0) &&
               (i || json_object_get(cur, "replicas"));
    if (same) {
        json_decref(st);
        *out = json_incref((json_t *)s->rs);
        return 0;
    }
    if (gen) json_object_set_new(st, "observedGeneration", json_integer(gen));
    _sk_json_ json_t *copy = json_deep_copy(s->rs);
    json_object_set_new(copy, "status", st);
    *out = sk_client_update(s->rc->client, s->rc->rsres, ons(s->rs), copy, "status", err);
    return *out ? 0 : -1;
}

/* ---- sync -------------------------------------------------------------------------------- */

static int reconcile(struct rs_sync *s, sk_err *err)
{
    bool needs_sync = exp_satisfied(s->rc, s->key);
    sk_selector *sel = sk_selector_from_json(sk_json_path(s->rs, "spec.selector"), err);
    if (!sel) {
        sk_log(SK_WARN, TAG, "%s: invalid selector: %s", s->key, err->msg);
        sk_err_clear(err);
        return 0;
    }
    int failed;
    _sk_json_ json_t *pods = claim_pods(s, sel, &failed, err);
    sk_selector_free(sel);
    if (failed) return -1;
    sk_err merr = SK_ERR_INIT;
    int mrc = 0;
    if (needs_sync && !sk_json_path(s->rs, "metadata.deletionTimestamp"))
        mrc = manage_replicas(s, pods, &merr);
    json_t *st = calc_status(s->rs, pods, mrc < 0 ? merr.msg : NULL);
    _sk_json_ json_t *upd = NULL;
    int rc = update_status(s, st, &upd, err);
    if (rc == 0 && mrc < 0) {
        rc = -1;
        err->code = merr.code;
        snprintf(err->msg, sizeof err->msg, "%s", merr.msg);
    }
    sk_err_clear(&merr);
    if (rc < 0) return -1;
    /* resync after minReadySeconds as a guard against clock skew */
    int64_t mrs = sk_jint(upd, "spec.minReadySeconds", 0), want = sk_jint(upd, "spec.replicas", 1);
    if (mrs > 0 && sk_jint(upd, "status.readyReplicas", 0) == want &&
        sk_jint(upd, "status.availableReplicas", 0) != want)
        sk_workqueue_add_after(s->rc->q, s->key, mrs * 1000);
    return 0;
}

static int rs_sync(void *c, const char *key)
{
    struct rsc *rc = c;
    char ns[256], name[256];
    sk_key_split(key, ns, sizeof ns, name, sizeof name);
    _sk_json_ json_t *rs = sk_informer_get(rc->rs_inf, ns, name);
    if (!rs) {
        exp_delete(rc, key);
        return 0;
    }
    struct rs_sync s = {rc, rs, key};
    sk_err err = SK_ERR_INIT;
    int r = reconcile(&s, &err);
    if (r < 0)
        sk_log(err.code == SK_ECONFLICT ? SK_DEBUG : SK_WARN, TAG, "sync %s: %s", key,
               err.msg[0] ? err.msg : "failed");
    sk_err_clear(&err);
    return r;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

static void *rsc_new(struct sk_ctrl_ctx *ctx, sk_err *err)
{
    struct rsc *rc = sk_calloc(1, sizeof *rc);
    const struct sk_ctrlmgr_config *cfg = sk_ctx_config(ctx);
    rc->client = sk_ctx_client(ctx);
    rc->rsres = sk_ctx_res("apps", "replicasets");
    rc->podres = sk_ctx_res("", "pods");
    rc->rs_inf = sk_ctx_informer(ctx, "apps", "replicasets");
    rc->pod_inf = sk_ctx_informer(ctx, "", "pods");
    if (!rc->rsres || !rc->podres || !rc->rs_inf || !rc->pod_inf) {
        free(rc);
        sk_err_set(err, SK_EINTERNAL, "replicaset controller: resources unavailable");
        return NULL;
    }
    rc->rec = sk_ctx_recorder(ctx, "replicaset-controller");
    rc->q = sk_workqueue_new();
    rc->exp = json_object();
    rc->nworkers = cfg && cfg->workers > 0 ? cfg->workers : 4;
    pthread_mutex_init(&rc->mu, NULL);
    pthread_mutex_init(&rc->fmu, NULL);
    pthread_cond_init(&rc->fwork, NULL);
    struct sk_informer_handlers rh = {on_rs_add, on_rs_update, on_rs_delete, rc};
    struct sk_informer_handlers ph = {on_pod_add, on_pod_update, on_pod_delete, rc};
    sk_informer_add_handlers(rc->rs_inf, &rh);
    sk_informer_add_handlers(rc->pod_inf, &ph);
    return rc;
}

static int rsc_start(void *c, sk_err *err)
{
    struct rsc *rc = c;
    for (rc->nfth = 0; rc->nfth < FANOUT_THREADS; rc->nfth++)
        if (pthread_create(&rc->fth[rc->nfth], NULL, fan_main, rc)) break;
    rc->w = sk_workers_start(rc->q, rc->nworkers, rs_sync, rc);
    if (!rc->w) return sk_err_set(err, SK_EINTERNAL, "replicaset controller: cannot start workers");
    return 0;
}

static void rsc_stop(void *c)
{
    struct rsc *rc = c;
    sk_workqueue_shutdown(rc->q);
    if (rc->w) sk_workers_join(rc->w);
    rc->w = NULL;
    pthread_mutex_lock(&rc->fmu);
    rc->fstop = true;
    pthread_cond_broadcast(&rc->fwork);
    pthread_mutex_unlock(&rc->fmu);
    for (int i = 0; i < rc->nfth; i++) pthread_join(rc->fth[i], NULL);
    rc->nfth = 0;
}

static void rsc_free(void *c)
{
    struct rsc *rc = c;
    if (!rc) return;
    sk_workqueue_free(rc->q);
    json_decref(rc->exp);
    pthread_mutex_destroy(&rc->mu);
    pthread_mutex_destroy(&rc->fmu);
    pthread_cond_destroy(&rc->fwork);
    free(rc);
}

const struct sk_controller_ops sk_ctrl_replicaset = {
    .name = "replicaset",
    .new = rsc_new,
    .start = rsc_start,
    .stop = rsc_stop,
    .free = rsc_free,
};
