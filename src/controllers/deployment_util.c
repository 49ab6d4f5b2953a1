/* Pure deployment arithmetic as upstream's deployment/util: fenceposts,
 * revisions and annotations, conditions, ReplicaSet orderings, new-RS
 * sizing and proportional scaling, status calculation. */
#include "controllers/deployment_int.h"

#include <limits.h>
#include <math.h>
#include <string.h>

/* ---- spec helpers ------------------------------------------------------------ */

int32_t sk_dep_replicas(const json_t *obj)
{
    return (int32_t)sk_jint(obj, "spec.replicas", 1);
}

bool sk_dep_is_rolling(const json_t *d)
{
    const char *t = sk_json_path_str(d, "spec.strategy.type");
    return t && !strcmp(t, "RollingUpdate");
}

int sk_dep_intstr(const json_t *v, int32_t total, bool round_up, int32_t *out)
{
    *out = 0;
    if (!v || json_is_null(v)) return 0;
    if (json_is_integer(v)) {
        *out = (int32_t)json_integer_value(v);
        return 0;
    }
    const char *s = json_string_value(v);
    size_t len = s ? strlen(s) : 0;
    if (!len || s[len - 1] != '%') return -1; /* "invalid value for IntOrString" */
    char *end;
    long long pct = strtoll(s, &end, 10);
    if (end != s + len - 1 || pct < 0 || pct > INT32_MAX) return -1;
    long long num = pct * (long long)total;
    *out = (int32_t)(round_up ? (num + 99) / 100 : num / 100);
    return 0;
}

int sk_dep_fenceposts(const json_t *surge, const json_t *unavail, int32_t desired,
                      int32_t *out_surge, int32_t *out_unavail)
{
    if (sk_dep_intstr(surge, desired, true, out_surge) < 0) return -1;
    if (sk_dep_intstr(unavail, desired, false, out_unavail) < 0) return -1;
    /* Both can round to zero; then allow one unavailable pod, as upstream. */
    if (*out_surge == 0 && *out_unavail == 0) *out_unavail = 1;
    return 0;
}

static void dep_fenceposts(const json_t *d, int32_t *surge, int32_t *unavail)
{
    json_t *ru = sk_json_path(d, "spec.strategy.rollingUpdate");
    if (sk_dep_fenceposts(json_object_get(ru, "maxSurge"), json_object_get(ru, "maxUnavailable"),
                          sk_dep_replicas(d), surge, unavail) < 0)
        *surge = *unavail = 0; /* rejected by validation; be conservative */
}

int32_t sk_dep_max_surge(const json_t *d)
{
    int32_t s, u;
    if (!sk_dep_is_rolling(d)) return 0;
    dep_fenceposts(d, &s, &u);
    return s;
}

int32_t sk_dep_max_unavailable(const json_t *d)
{
    int32_t s, u, r = sk_dep_replicas(d);
    if (!sk_dep_is_rolling(d) || r == 0) return 0;
    dep_fenceposts(d, &s, &u);
    return u > r ? r : u;
}

bool sk_dep_has_progress_deadline(const json_t *d)
{
    json_t *v = sk_json_path(d, "spec.progressDeadlineSeconds");
    return json_is_integer(v) && json_integer_value(v) != INT32_MAX;
}

bool sk_dep_has_history_limit(const json_t *d)
{
    json_t *v = sk_json_path(d, "spec.revisionHistoryLimit");
    return json_is_integer(v) && json_integer_value(v) != INT32_MAX;
}

/* ---- revisions and annotations ------------------------------------------------- */

static bool parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s) return false;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end) return false;
    *out = v;
    return true;
}

int64_t sk_dep_revision(const json_t *obj)
{
    const char *s = sk_json_str(sk_json_path(obj, "metadata.annotations"), SK_DEP_REVISION_ANN);
    int64_t v;
    if (!s) return 0;
    return parse_i64(s, &v) ? v : -1;
}

int64_t sk_dep_max_revision(json_t *const *rss, size_t n)
{
    int64_t max = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t v = sk_dep_revision(rss[i]);
        if (v > max) max = v; /* unparsable revisions are skipped */
    }
    return max;
}

static bool skip_annotation(const char *k)
{
    static const char *const skip[] = {"kubectl.kubernetes.io/last-applied-configuration",
                                       SK_DEP_REVISION_ANN, SK_DEP_HISTORY_ANN,
                                       SK_DEP_DESIRED_ANN, SK_DEP_MAX_ANN,
                                       "deprecated.deployment.rollback.to"};
    for (size_t i = 0; i < SK_ARRAY_LEN(skip); i++)
        if (!strcmp(k, skip[i])) return true;
    return false;
}

static bool set_ann(json_t *anns, const char *k, const char *v)
{
    const char *cur = sk_json_str(anns, k);
    if (cur && !strcmp(cur, v)) return false;
    json_object_set_new(anns, k, json_string(v));
    return true;
}

/* Appends old to the comma-separated history, dropping the oldest entries
 * to stay within SK_DEP_MAX_HISTORY_CHARS. */
static void append_history(json_t *anns, const char *old)
{
    const char *hist = sk_json_str(anns, SK_DEP_HISTORY_ANN);
    if (!hist || !*hist) {
        json_object_set_new(anns, SK_DEP_HISTORY_ANN, json_string(old));
        return;
    }
    size_t total = strlen(hist) + strlen(old) + 1;
    const char *start = hist;
    while (total > SK_DEP_MAX_HISTORY_CHARS && start) {
        const char *comma = strchr(start, ',');
        total -= (comma ? (size_t)(comma - start) : strlen(start)) + 1;
        start = comma ? comma + 1 : NULL;
    }
    if (total > SK_DEP_MAX_HISTORY_CHARS) return; /* upstream logs and keeps it */
    json_object_set_new(anns, SK_DEP_HISTORY_ANN,
                        start ? json_sprintf("%s,%s", start, old) : json_string(old));
}

bool sk_dep_set_new_rs_annotations(const json_t *d, json_t *rs, const char *new_rev, bool exists)
{
    json_t *anns = sk_json_obj(sk_json_obj(rs, "metadata"), "annotations"), *v;
    const char *k;
    bool changed = false;
    json_object_foreach(sk_json_path(d, "metadata.annotations"), k, v)
        if (json_is_string(v) && !skip_annotation(k))
            changed |= set_ann(anns, k, json_string_value(v));
    const char *old = sk_json_str(anns, SK_DEP_REVISION_ANN);
    int64_t old_rev = 0, nrev;
    /* upstream gives up (reporting no change) on unparsable revisions */
    if (old && *old && !parse_i64(old, &old_rev)) return false;
    if (!parse_i64(new_rev, &nrev)) return false;
    if (old_rev < nrev) {
        _sk_free_ char *keep = old && *old ? sk_strdup(old) : NULL;
        json_object_set_new(anns, SK_DEP_REVISION_ANN, json_string(new_rev));
        changed = true;
        /* a revision that existed before means a rollback to this RS */
        if (keep) append_history(anns, keep);
    }
    if (!exists) {
        int32_t r = sk_dep_replicas(d);
        changed |= sk_dep_set_replicas_ann(rs, r, r + sk_dep_max_surge(d));
    }
    return changed;
}

bool sk_dep_replicas_ann_stale(const json_t *rs, int32_t desired, int32_t max)
{
    json_t *anns = sk_json_path(rs, "metadata.annotations");
    char a[16], b[16];
    snprintf(a, sizeof a, "%d", desired);
    snprintf(b, sizeof b, "%d", max);
    const char *x = sk_json_str(anns, SK_DEP_DESIRED_ANN), *y = sk_json_str(anns, SK_DEP_MAX_ANN);
    return !x || strcmp(x, a) || !y || strcmp(y, b);
}

bool sk_dep_set_replicas_ann(json_t *rs, int32_t desired, int32_t max)
{
    json_t *anns = sk_json_obj(sk_json_obj(rs, "metadata"), "annotations");
    char a[16], b[16];
    snprintf(a, sizeof a, "%d", desired);
    snprintf(b, sizeof b, "%d", max);
    bool changed = set_ann(anns, SK_DEP_DESIRED_ANN, a);
    changed |= set_ann(anns, SK_DEP_MAX_ANN, b);
    return changed;
}

bool sk_dep_int_ann(const json_t *rs, const char *key, int32_t *out)
{
    int64_t v;
    if (!parse_i64(sk_json_str(sk_json_path(rs, "metadata.annotations"), key), &v)) return false;
    if (v < INT32_MIN || v > INT32_MAX) return false;
    *out = (int32_t)v;
    return true;
}

/* ---- conditions ------------------------------------------------------------------ */

json_t *sk_dep_condition(const json_t *status, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(status, "conditions"), i, c) {
        const char *t = sk_json_str(c, "type");
        if (t && !strcmp(t, type)) return c;
    }
    return NULL;
}

void sk_dep_remove_condition(json_t *status, const char *type)
{
    json_t *conds = json_object_get(status, "conditions");
    for (size_t i = json_array_size(conds); i-- > 0;) {
        const char *t = sk_json_str(json_array_get(conds, i), "type");
        if (t && !strcmp(t, type)) json_array_remove(conds, i);
    }
    if (conds && !json_array_size(conds)) json_object_del(status, "conditions");
}

void sk_dep_set_condition(json_t *status, const char *type, const char *cstatus,
                          const char *reason, const char *msg, int64_t now)
{
    json_t *cur = sk_dep_condition(status, type);
    const char *cs = sk_json_str(cur, "status"), *cr = sk_json_str(cur, "reason");
    if (cur && cs && cr && !strcmp(cs, cstatus) && !strcmp(cr, reason)) return;
    char ts[32];
    sk_time_format(now, ts, sizeof ts);
    json_t *c = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", type, "status", cstatus,
                          "lastUpdateTime", ts, "lastTransitionTime", ts, "reason", reason,
                          "message", msg);
    if (cur && cs && !strcmp(cs, cstatus)) {
        json_t *lt = json_object_get(cur, "lastTransitionTime");
        if (lt) json_object_set(c, "lastTransitionTime", lt);
    }
    sk_dep_remove_condition(status, type);
    json_t *conds = json_object_get(status, "conditions");
    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(status, "conditions", conds);
    }
    json_array_append_new(conds, c);
}

/* ---- ReplicaSet lists --------------------------------------------------------------- */

void sk_rsvec_push(struct sk_rsvec *v, json_t *rs)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 8;
        v->v = sk_realloc(v->v, v->cap * sizeof *v->v);
    }
    v->v[v->n++] = rs;
}

void sk_rsvec_release(struct sk_rsvec *v)
{
    for (size_t i = 0; i < v->n; i++) json_decref(v->v[i]);
    free(v->v);
    v->v = NULL;
    v->n = v->cap = 0;
}

static int by_creation(const void *pa, const void *pb)
{
    const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    int64_t ta = sk_time_parse(sk_json_path_str(a, "metadata.creationTimestamp"));
    int64_t tb = sk_time_parse(sk_json_path_str(b, "metadata.creationTimestamp"));
    if (ta != tb) return ta < tb ? -1 : 1;
    return strcmp(sk_json_path_str(a, "metadata.name") ?: "",
                  sk_json_path_str(b, "metadata.name") ?: "");
}

static int by_size_older(const void *pa, const void *pb)
{
    int32_t ra = sk_dep_replicas(*(json_t *const *)pa), rb = sk_dep_replicas(*(json_t *const *)pb);
    if (ra != rb) return ra > rb ? -1 : 1;
    return by_creation(pa, pb);
}

static int by_size_newer(const void *pa, const void *pb)
{
    int32_t ra = sk_dep_replicas(*(json_t *const *)pa), rb = sk_dep_replicas(*(json_t *const *)pb);
    if (ra != rb) return ra > rb ? -1 : 1;
    return by_creation(pb, pa);
}

static int by_revision(const void *pa, const void *pb)
{
    int64_t a = sk_dep_revision(*(json_t *const *)pa), b = sk_dep_revision(*(json_t *const *)pb);
    if (a < 0 || b < 0 || a == b) return by_creation(pa, pb);
    return a < b ? -1 : 1;
}

void sk_rs_sort_by_creation(json_t **v, size_t n)
{
    if (n > 1) qsort(v, n, sizeof *v, by_creation);
}

void sk_rs_sort_by_size(json_t **v, size_t n, bool newer_first)
{
    if (n > 1) qsort(v, n, sizeof *v, newer_first ? by_size_newer : by_size_older);
}

void sk_rs_sort_by_revision(json_t **v, size_t n)
{
    if (n > 1) qsort(v, n, sizeof *v, by_revision);
}

int32_t sk_rs_sum_replicas(json_t *const *v, size_t n, const char *field)
{
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (!v[i]) continue;
        if (!strcmp(field, "spec")) sum += sk_dep_replicas(v[i]);
        else sum += sk_jint(json_object_get(v[i], "status"), field, 0);
    }
    return (int32_t)sum;
}

/* ---- rollout arithmetic -------------------------------------------------------------- */

int32_t sk_dep_new_rs_replicas(const json_t *d, json_t *const *all, size_t n,
                               const json_t *new_rs)
{
    int32_t want = sk_dep_replicas(d), cur = sk_dep_replicas(new_rs);
    if (!sk_dep_is_rolling(d)) return want; /* Recreate */
    int32_t surge;
    if (sk_dep_intstr(sk_json_path(d, "spec.strategy.rollingUpdate.maxSurge"), want, true,
                      &surge) < 0)
        return cur;
    int32_t total = sk_rs_sum_replicas(all, n, "spec"), max_total = want + surge;
    if (total >= max_total) return cur;
    int32_t up = max_total - total;
    if (up > want - cur) up = want - cur;
    return cur + up;
}

bool sk_dep_is_saturated(const json_t *d, const json_t *rs)
{
    int32_t desired, want = sk_dep_replicas(d);
    if (!rs || !sk_dep_int_ann(rs, SK_DEP_DESIRED_ANN, &desired)) return false;
    return sk_dep_replicas(rs) == want && desired == want &&
           sk_jint(rs, "status.availableReplicas", 0) == want;
}

/* getReplicaSetFraction: the RS's share of the new size, minus its size. */
static int32_t rs_fraction(const json_t *rs, const json_t *d)
{
    int32_t want = sk_dep_replicas(d), cur = sk_dep_replicas(rs), annotated;
    if (want == 0) return -cur;
    int32_t dmax = want + sk_dep_max_surge(d);
    if (!sk_dep_int_ann(rs, SK_DEP_MAX_ANN, &annotated) || annotated == 0)
        annotated = (int32_t)sk_jint(d, "status.replicas", 0);
    if (annotated == 0) return 0; /* never scale proportionally up from zero */
    double size = (double)cur * dmax / annotated;
    return (int32_t)round(size) - cur;
}

static int32_t rs_proportion(const json_t *rs, const json_t *d, int32_t to_add, int32_t added)
{
    if (!rs || sk_dep_replicas(rs) == 0 || to_add == 0 || to_add == added) return 0;
    int32_t frac = rs_fraction(rs, d), allowed = to_add - added;
    if (to_add > 0) return frac < allowed ? frac : allowed;
    return frac > allowed ? frac : allowed;
}

const char *sk_dep_proportional(const json_t *d, json_t **active, size_t n, int32_t *sizes)
{
    int32_t total = sk_rs_sum_replicas(active, n, "spec"), allowed = 0;
    if (sk_dep_replicas(d) > 0) allowed = sk_dep_replicas(d) + sk_dep_max_surge(d);
    int32_t to_add = allowed - total, added = 0;
    const char *op = "";
    if (to_add > 0) {
        sk_rs_sort_by_size(active, n, true);
        op = "up";
    } else if (to_add < 0) {
        sk_rs_sort_by_size(active, n, false);
        op = "down";
    }
    for (size_t i = 0; i < n; i++) {
        sizes[i] = sk_dep_replicas(active[i]);
        if (to_add == 0) continue;
        int32_t p = rs_proportion(active[i], d, to_add, added);
        sizes[i] += p;
        added += p;
    }
    /* leftovers go to the largest RS */
    if (n && to_add != 0) {
        sizes[0] += to_add - added;
        if (sizes[0] < 0) sizes[0] = 0;
    }
    return op;
}

/* ---- status ------------------------------------------------------------------------ */

static void set_count(json_t *st, const char *k, int64_t v)
{
    if (v) json_object_set_new(st, k, json_integer(v)); /* omitempty */
}

json_t *sk_dep_calc_status(const json_t *d, json_t *const *all, size_t n, const json_t *new_rs,
                           int64_t now)
{
    int32_t avail = sk_rs_sum_replicas(all, n, "availableReplicas");
    int32_t total = sk_rs_sum_replicas(all, n, "spec");
    int32_t unavail = total - avail > 0 ? total - avail : 0;
    json_t *st = json_object();
    set_count(st, "observedGeneration", sk_jint(d, "metadata.generation", 0));
    set_count(st, "replicas", sk_rs_sum_replicas(all, n, "replicas"));
    set_count(st, "updatedReplicas", new_rs ? sk_jint(new_rs, "status.replicas", 0) : 0);
    set_count(st, "readyReplicas", sk_rs_sum_replicas(all, n, "readyReplicas"));
    set_count(st, "availableReplicas", avail);
    set_count(st, "unavailableReplicas", unavail);
    json_t *cc = sk_json_path(d, "status.collisionCount");
    if (json_is_integer(cc)) json_object_set(st, "collisionCount", cc);
    json_t *conds = sk_json_path(d, "status.conditions");
    if (json_is_array(conds) && json_array_size(conds))
        json_object_set_new(st, "conditions", json_deep_copy(conds));
    if (avail >= sk_dep_replicas(d) - sk_dep_max_unavailable(d))
        sk_dep_set_condition(st, "Available", "True", "MinimumReplicasAvailable",
                             "Deployment has minimum availability.", now);
    else
        sk_dep_set_condition(st, "Available", "False", "MinimumReplicasUnavailable",
                             "Deployment does not have minimum availability.", now);
    return st;
}

bool sk_dep_complete(const json_t *d, const json_t *st)
{
    int32_t want = sk_dep_replicas(d);
    return sk_jint(st, "updatedReplicas", 0) == want && sk_jint(st, "replicas", 0) == want &&
           sk_jint(st, "availableReplicas", 0) == want &&
           sk_jint(st, "observedGeneration", 0) >= sk_jint(d, "metadata.generation", 0);
}

bool sk_dep_progressing(const json_t *d, const json_t *st)
{
    const json_t *old = json_object_get(d, "status");
    int64_t old_old = sk_jint(old, "replicas", 0) - sk_jint(old, "updatedReplicas", 0);
    int64_t new_old = sk_jint(st, "replicas", 0) - sk_jint(st, "updatedReplicas", 0);
    return sk_jint(st, "updatedReplicas", 0) > sk_jint(old, "updatedReplicas", 0) ||
           new_old < old_old ||
           sk_jint(st, "readyReplicas", 0) > sk_jint(old, "readyReplicas", 0) ||
           sk_jint(st, "availableReplicas", 0) > sk_jint(old, "availableReplicas", 0);
}

bool sk_dep_timed_out(const json_t *d, const json_t *st, int64_t now)
{
    if (!sk_dep_has_progress_deadline(d)) return false;
    json_t *c = sk_dep_condition(st, "Progressing");
    const char *reason = sk_json_str(c, "reason");
    if (!c || !reason) return false;
    if (!strcmp(reason, "NewReplicaSetAvailable")) return false;
    if (!strcmp(reason, "ProgressDeadlineExceeded")) return true;
    int64_t from = sk_time_parse(sk_json_str(c, "lastUpdateTime"));
    if (from < 0) from = 0;
    return from + sk_jint(d, "spec.progressDeadlineSeconds", 0) < now;
}

static json_t *status_norm(const json_t *s)
{
    json_t *n = json_is_object(s) ? json_deep_copy(s) : json_object(), *v;
    const char *k;
    void *tmp;
    json_object_foreach_safe(n, tmp, k, v) {
        if (json_is_null(v) || (json_is_integer(v) && !json_integer_value(v) &&
                                strcmp(k, "collisionCount")) ||
            (json_is_array(v) && !json_array_size(v)))
            json_object_del(n, k);
    }
    return n;
}

bool sk_dep_status_equal(const json_t *a, const json_t *b)
{
    _sk_json_ json_t *x = status_norm(a);
    _sk_json_ json_t *y = status_norm(b);
    return json_equal(x, y);
}
