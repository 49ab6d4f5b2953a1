/* Rollout strategies and progress reporting: RollingUpdate (scale the new
 * RS up within maxSurge, old ones down within maxUnavailable, unhealthy
 * old replicas first), Recreate (all old pods gone before the new RS
 * scales up), and the Progressing/Available/ReplicaFailure conditions
 * with progressDeadlineSeconds. Upstream v1.32 rolling.go, recreate.go,
 * progress.go. */
#include "controllers/deployment_int.h"

#include <string.h>

static int64_t now_s(void) { return sk_wall_ms() / 1000; }

static int32_t avail(const json_t *rs)
{
    return (int32_t)sk_jint(rs, "status.availableReplicas", 0);
}

/* ---- RollingUpdate ---------------------------------------------------------------- */

static int reconcile_new(struct sk_dsync *s, json_t **new_rs, struct sk_rsvec *old,
                         bool *scaled, sk_err *err)
{
    int32_t want = sk_dep_replicas(s->d), cur = sk_dep_replicas(*new_rs);
    *scaled = false;
    if (cur == want) return 0;
    if (cur > want) return sk_dc_scale_rs_event(s, new_rs, want, scaled, err);
    sk_rsvec_push(old, json_incref(*new_rs));
    int32_t n = sk_dep_new_rs_replicas(s->d, old->v, old->n, *new_rs);
    json_decref(old->v[--old->n]);
    return sk_dc_scale_rs_event(s, new_rs, n, scaled, err);
}

/* cleanupUnhealthyReplicas: old RSs (oldest first) lose their not-available
 * replicas first, which cannot lower availability. */
static int32_t cleanup_unhealthy(struct sk_dsync *s, struct sk_rsvec *old, const bool *active,
                                 int32_t max, sk_err *err)
{
    int32_t total = 0;
    for (size_t i = 0; i < old->n && total < max; i++) {
        int32_t r = sk_dep_replicas(old->v[i]);
        if (!active[i] || r == 0 || r == avail(old->v[i])) continue;
        int32_t down = r - avail(old->v[i]);
        if (down > max - total) down = max - total;
        bool scaled;
        if (sk_dc_scale_rs_event(s, &old->v[i], r - down, &scaled, err) < 0) return -1;
        total += down;
    }
    return total;
}

/* scaleDownOldReplicaSetsForRollingUpdate: keep at least replicas -
 * maxUnavailable available pods. */
static int32_t scale_down_old(struct sk_dsync *s, const json_t *new_rs, struct sk_rsvec *old,
                              const bool *active, sk_err *err)
{
    int32_t min_avail = sk_dep_replicas(s->d) - sk_dep_max_unavailable(s->d);
    int32_t available = avail(new_rs);
    for (size_t i = 0; i < old->n; i++)
        if (active[i]) available += avail(old->v[i]);
    if (available <= min_avail) return 0;
    int32_t total = 0, target = available - min_avail;
    for (size_t i = 0; i < old->n && total < target; i++) {
        int32_t r = sk_dep_replicas(old->v[i]);
        if (!active[i] || r == 0) continue;
        int32_t down = r < target - total ? r : target - total;
        bool scaled;
        if (sk_dc_scale_rs_event(s, &old->v[i], r - down, &scaled, err) < 0) return -1;
        total += down;
    }
    return total;
}

static int reconcile_old(struct sk_dsync *s, json_t *new_rs, struct sk_rsvec *old, bool *scaled,
                         sk_err *err)
{
    *scaled = false;
    bool *active = sk_calloc(old->n ? old->n : 1, sizeof *active);
    int32_t old_pods = 0;
    for (size_t i = 0; i < old->n; i++) {
        active[i] = sk_dep_replicas(old->v[i]) > 0;
        old_pods += sk_dep_replicas(old->v[i]);
    }
    int32_t all_pods = old_pods + sk_dep_replicas(new_rs);
    int32_t min_avail = sk_dep_replicas(s->d) - sk_dep_max_unavailable(s->d);
    int32_t new_unavail = sk_dep_replicas(new_rs) - avail(new_rs);
    /* Unavailable new pods count against the budget, so a stuck new RS
     * cannot make us scale old ones down (upstream's worked example). */
    int32_t max_down = all_pods - min_avail - new_unavail;
    if (old_pods == 0 || max_down <= 0) {
        free(active);
        return 0;
    }
    /* Upstream ignores scaling errors here: the next sync retries. */
    int32_t cleaned = cleanup_unhealthy(s, old, active, max_down, err);
    int32_t down = cleaned < 0 ? -1 : scale_down_old(s, new_rs, old, active, err);
    free(active);
    if (cleaned < 0 || down < 0) {
        sk_err_clear(err);
        return 0;
    }
    *scaled = cleaned + down > 0;
    return 0;
}

int sk_dc_rollout_rolling(struct sk_dsync *s, sk_err *err)
{
    json_t *new_rs = NULL;
    struct sk_rsvec old = {0};
    bool scaled = false;
    int rc = sk_dc_all_rs(s, true, &new_rs, &old, err);
    if (rc < 0 || !new_rs) goto status;
    rc = reconcile_new(s, &new_rs, &old, &scaled, err);
    if (rc < 0 || scaled) goto status;
    rc = reconcile_old(s, new_rs, &old, &scaled, err);
    if (rc < 0 || scaled) goto status;
    if (sk_dep_complete(s->d, json_object_get(s->d, "status")))
        rc = sk_dc_cleanup(s, &old, err);
status:
    if (rc == 0) rc = sk_dc_sync_rollout_status(s, new_rs, &old, err);
    json_decref(new_rs);
    sk_rsvec_release(&old);
    return rc;
}

/* ---- Recreate ------------------------------------------------------------------------ */

/* Old pods are running while an old RS reports replicas or owns a pod not
 * in a terminal phase. */
static bool old_pods_running(struct sk_dsync *s, struct sk_rsvec *old)
{
    if (sk_rs_sum_replicas(old->v, old->n, "replicas") > 0) return true;
    for (size_t i = 0; i < old->n; i++) {
        _sk_json_ json_t *pods = sk_informer_list_owned(
            s->dc->pod_inf, sk_json_path_str(old->v[i], "metadata.namespace"),
            sk_json_path_str(old->v[i], "metadata.uid"));
        size_t j;
        json_t *p;
        json_array_foreach(pods, j, p) {
            const char *phase = sk_json_path_str(p, "status.phase") ?: "";
            if (strcmp(phase, "Failed") && strcmp(phase, "Succeeded")) return true;
        }
    }
    return false;
}

int sk_dc_rollout_recreate(struct sk_dsync *s, sk_err *err)
{
    json_t *new_rs = NULL;
    struct sk_rsvec old = {0};
    bool scaled = false, any = false;
    /* no new RS yet: it must not scale up before the old pods are gone */
    int rc = sk_dc_all_rs(s, false, &new_rs, &old, err);
    for (size_t i = 0; rc == 0 && i < old.n; i++) {
        if (sk_dep_replicas(old.v[i]) == 0) continue;
        rc = sk_dc_scale_rs_event(s, &old.v[i], 0, &scaled, err);
        any |= scaled;
    }
    if (rc < 0 || any || old_pods_running(s, &old)) goto status;
    if (!new_rs) {
        sk_rsvec_release(&old);
        rc = sk_dc_all_rs(s, true, &new_rs, &old, err);
        if (rc < 0 || !new_rs) goto status;
    }
    rc = sk_dc_scale_rs_event(s, &new_rs, sk_dep_replicas(s->d), &scaled, err);
    if (rc == 0 && sk_dep_complete(s->d, json_object_get(s->d, "status")))
        rc = sk_dc_cleanup(s, &old, err);
status:
    if (rc == 0) rc = sk_dc_sync_rollout_status(s, new_rs, &old, err);
    json_decref(new_rs);
    sk_rsvec_release(&old);
    return rc;
}

/* ---- progress ------------------------------------------------------------------------ */

/* SetDeploymentCondition with a prepared condition (taken). */
static void put_condition(json_t *st, json_t *c)
{
    const char *type = sk_json_str(c, "type");
    json_t *cur = sk_dep_condition(st, type);
    const char *cs = sk_json_str(cur, "status"), *cr = sk_json_str(cur, "reason");
    const char *ns = sk_json_str(c, "status"), *nr = sk_json_str(c, "reason");
    if (cur && cs && cr && ns && nr && !strcmp(cs, ns) && !strcmp(cr, nr)) {
        json_decref(c);
        return;
    }
    if (cur && cs && ns && !strcmp(cs, ns)) {
        json_t *lt = json_object_get(cur, "lastTransitionTime");
        if (lt) json_object_set(c, "lastTransitionTime", lt);
    }
    sk_dep_remove_condition(st, type);
    json_t *conds = json_object_get(st, "conditions");
    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(st, "conditions", conds);
    }
    json_array_append_new(conds, c);
}

/* Progress was made: refresh lastUpdateTime even when the reason is the
 * same (SetDeploymentCondition alone would not). */
static void mark_progressing(const json_t *d, json_t *st, const char *msg, int64_t now)
{
    char ts[32];
    sk_time_format(now, ts, sizeof ts);
    json_t *c = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", "Progressing", "status", "True",
                          "lastUpdateTime", ts, "lastTransitionTime", ts, "reason",
                          "ReplicaSetUpdated", "message", msg);
    json_t *cur = sk_dep_condition(json_object_get(d, "status"), "Progressing");
    const char *cs = sk_json_str(cur, "status");
    if (cur && cs && !strcmp(cs, "True")) {
        json_t *lt = json_object_get(cur, "lastTransitionTime");
        if (lt) json_object_set(c, "lastTransitionTime", lt);
    }
    sk_dep_remove_condition(st, "Progressing");
    put_condition(st, c);
}

static void update_progress(const json_t *d, const json_t *new_rs, json_t *st, int64_t now)
{
    const char *rsname = sk_json_path_str(new_rs, "metadata.name");
    const char *dname = sk_json_path_str(d, "metadata.name") ?: "";
    const char *what = rsname ? "ReplicaSet" : "Deployment", *who = rsname ? rsname : dname;
    _sk_free_ char *msg = NULL;
    if (sk_dep_complete(d, st)) {
        msg = sk_printf("%s \"%s\" has successfully progressed.", what, who);
        sk_dep_set_condition(st, "Progressing", "True", "NewReplicaSetAvailable", msg, now);
    } else if (sk_dep_progressing(d, st)) {
        msg = sk_printf("%s \"%s\" is progressing.", what, who);
        mark_progressing(d, st, msg, now);
    } else if (sk_dep_timed_out(d, st, now)) {
        msg = sk_printf("%s \"%s\" has timed out progressing.", what, who);
        sk_dep_set_condition(st, "Progressing", "False", "ProgressDeadlineExceeded", msg, now);
    }
}

static json_t *rs_failure(const json_t *rs)
{
    size_t i;
    json_t *c;
    json_array_foreach(sk_json_path(rs, "status.conditions"), i, c) {
        const char *t = sk_json_str(c, "type");
        if (!t || strcmp(t, "ReplicaFailure")) continue;
        json_t *lt = json_object_get(c, "lastTransitionTime");
        json_t *dc = json_pack("{s:s,s:s,s:s?,s:s?}", "type", "ReplicaFailure", "status",
                               sk_json_str(c, "status") ?: "True", "reason",
                               sk_json_str(c, "reason"), "message", sk_json_str(c, "message"));
        if (lt) {
            json_object_set(dc, "lastTransitionTime", lt);
            json_object_set(dc, "lastUpdateTime", lt);
        }
        return dc;
    }
    return NULL;
}

/* Failures of the new RS take precedence over old ones'. */
static void replica_failures(json_t *st, const json_t *new_rs, const struct sk_rsvec *all)
{
    json_t *f = new_rs ? rs_failure(new_rs) : NULL;
    for (size_t i = 0; !f && i < all->n; i++) f = rs_failure(all->v[i]);
    if (f) put_condition(st, f);
    else sk_dep_remove_condition(st, "ReplicaFailure");
}

/* requeueStuckDeployment: look again when the deadline would pass. */
static void requeue_stuck(struct sk_dsync *s, const json_t *st, int64_t now)
{
    json_t *cur = sk_dep_condition(json_object_get(s->d, "status"), "Progressing");
    if (!sk_dep_has_progress_deadline(s->d) || !cur) return;
    const char *reason = sk_json_str(cur, "reason") ?: "";
    if (sk_dep_complete(s->d, st) || !strcmp(reason, "ProgressDeadlineExceeded")) return;
    int64_t last = sk_time_parse(sk_json_str(cur, "lastUpdateTime"));
    int64_t after = (last < 0 ? 0 : last) + sk_jint(s->d, "spec.progressDeadlineSeconds", 0) - now;
    if (after < 1) sk_workqueue_add_rate_limited(s->dc->q, s->key);
    else sk_workqueue_add_after(s->dc->q, s->key, (after + 1) * 1000);
}

int sk_dc_sync_rollout_status(struct sk_dsync *s, json_t *new_rs, struct sk_rsvec *old,
                              sk_err *err)
{
    int64_t now = now_s();
    if (new_rs) sk_rsvec_push(old, json_incref(new_rs));
    json_t *st = sk_dep_calc_status(s->d, old->v, old->n, new_rs, now);
    if (!sk_dep_has_progress_deadline(s->d)) sk_dep_remove_condition(st, "Progressing");
    json_t *cur = sk_dep_condition(json_object_get(s->d, "status"), "Progressing");
    const char *reason = sk_json_str(cur, "reason");
    bool done = sk_jint(st, "replicas", 0) == sk_jint(st, "updatedReplicas", 0) && reason &&
                !strcmp(reason, "NewReplicaSetAvailable");
    if (sk_dep_has_progress_deadline(s->d) && !done) update_progress(s->d, new_rs, st, now);
    replica_failures(st, new_rs, old);
    if (new_rs) json_decref(old->v[--old->n]);
    if (sk_dep_status_equal(json_object_get(s->d, "status"), st)) {
        requeue_stuck(s, st, now);
        json_decref(st);
        return 0;
    }
    return sk_dc_put_status(s, st, err);
}
