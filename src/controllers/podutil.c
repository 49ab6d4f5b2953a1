/* Pod and controller-reference helpers shared by the ReplicaSet and
 * Deployment controllers; semantics follow upstream's podutil,
 * controller_utils (ActivePodsWithRanks) and ControllerRefManager. */
#include "controllers/podutil.h"

#include <math.h>
#include <string.h>

#define DELETION_COST_ANN "controller.kubernetes.io/pod-deletion-cost"

/* ---- readiness ------------------------------------------------------------- */

static const json_t *pod_condition(const json_t *pod, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(sk_json_path(pod, "status.conditions"), i, c) {
        const char *t = sk_json_str(c, "type");
        if (t && !strcmp(t, type)) return c;
    }
    return NULL;
}

bool sk_pod_is_ready(const json_t *pod)
{
    const char *st = sk_json_str(pod_condition(pod, "Ready"), "status");
    return st && !strcmp(st, "True");
}

int64_t sk_pod_ready_since(const json_t *pod)
{
    if (!sk_pod_is_ready(pod)) return -1;
    int64_t t = sk_time_parse(sk_json_str(pod_condition(pod, "Ready"), "lastTransitionTime"));
    return t < 0 ? 0 : t; /* 0 = Go's zero time */
}

bool sk_pod_is_available(const json_t *pod, int64_t min_ready_s, int64_t now)
{
    int64_t since = sk_pod_ready_since(pod);
    if (since < 0) return false;
    if (min_ready_s <= 0) return true;
    return since > 0 && since + min_ready_s < now;
}

bool sk_pod_is_active(const json_t *pod)
{
    const char *phase = sk_json_path_str(pod, "status.phase");
    if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))) return false;
    json_t *dt = sk_json_path(pod, "metadata.deletionTimestamp");
    return !dt || json_is_null(dt);
}

void sk_obj_nskey(const json_t *obj, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", sk_json_path_str(obj, "metadata.namespace") ?: "",
             sk_json_path_str(obj, "metadata.name") ?: "");
}

/* ---- pod from template ----------------------------------------------------- */

static void copy_field(json_t *dst, const json_t *src, const char *key)
{
    json_t *v = json_object_get(src, key);
    if (v && !json_is_null(v)) json_object_set_new(dst, key, json_deep_copy(v));
}

json_t *sk_pod_from_template(const json_t *tmpl, const char *owner_name, const char *ns,
                             const json_t *ref)
{
    json_t *md = json_object();
    json_t *tmd = json_object_get(tmpl, "metadata");
    copy_field(md, tmd, "labels");
    copy_field(md, tmd, "annotations");
    copy_field(md, tmd, "finalizers");
    json_object_set_new(md, "generateName", json_sprintf("%s-", owner_name));
    json_object_set_new(md, "namespace", json_string(ns));
    if (ref) json_object_set_new(md, "ownerReferences", json_pack("[O]", ref));
    json_t *spec = json_object_get(tmpl, "spec");
    return json_pack("{s:s,s:s,s:o,s:o}", "apiVersion", "v1", "kind", "Pod", "metadata", md,
                     "spec", json_is_object(spec) ? json_deep_copy(spec) : json_object());
}

/* ---- deletion ranking ------------------------------------------------------ */

struct ranked {
    const json_t *pod;
    const char *node, *uid;
    int phase, rank;
    bool ready;
    int64_t cost, ready_at, created, now;
    int restarts, sidecar_restarts;
};

static int phase_ordinal(const char *phase)
{
    if (!phase) return 0;
    if (!strcmp(phase, "Unknown")) return 1;
    if (!strcmp(phase, "Running")) return 2;
    return 0; /* Pending, and anything upstream's map lacks */
}

static int64_t deletion_cost(const json_t *pod)
{
    const char *s = sk_json_str(sk_json_path(pod, "metadata.annotations"), DELETION_COST_ANN);
    if (!s || !*s) return 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end || v < INT32_MIN || v > INT32_MAX) return 0; /* invalid = default cost */
    return v;
}

static void max_restarts(const json_t *pod, int *regular, int *sidecar)
{
    size_t i, j;
    json_t *c, *ic;
    *regular = *sidecar = 0;
    json_array_foreach(sk_json_path(pod, "status.containerStatuses"), i, c) {
        int r = (int)sk_jint(c, "restartCount", 0);
        if (r > *regular) *regular = r;
    }
    json_array_foreach(sk_json_path(pod, "status.initContainerStatuses"), i, c) {
        const char *name = sk_json_str(c, "name");
        json_array_foreach(sk_json_path(pod, "spec.initContainers"), j, ic) {
            const char *rp = sk_json_str(ic, "restartPolicy");
            const char *n = sk_json_str(ic, "name");
            if (name && n && !strcmp(n, name) && rp && !strcmp(rp, "Always")) {
                int r = (int)sk_jint(c, "restartCount", 0);
                if (r > *sidecar) *sidecar = r;
            }
        }
    }
}

/* afterOrZero: a zero time sorts first, else the later one does. */
static bool after_or_zero(int64_t a, int64_t b)
{
    if (a == 0 || b == 0) return a == 0;
    return a > b;
}

/* LogarithmicScaleDown (on by default): compare log2 of the ages in ns. */
static int64_t log_rank(int64_t t, int64_t now)
{
    int64_t d = now - t;
    return d > 0 ? (int64_t)log2((double)d * 1e9) : -1;
}

static bool time_less(int64_t a, int64_t b, const struct ranked *x, const struct ranked *y)
{
    if (x->now == 0 || a == 0 || b == 0) return after_or_zero(a, b);
    int64_t diff = log_rank(a, x->now) - log_rank(b, x->now);
    if (diff == 0) return strcmp(x->uid, y->uid) < 0;
    return diff < 0;
}

static bool ranked_less(const struct ranked *a, const struct ranked *b)
{
    if (strcmp(a->node, b->node) && (!*a->node || !*b->node)) return !*a->node;
    if (a->phase != b->phase) return a->phase < b->phase;
    if (a->ready != b->ready) return !a->ready;
    if (a->cost != b->cost) return a->cost < b->cost;
    if (a->rank != b->rank) return a->rank > b->rank;
    if (a->ready && b->ready && a->ready_at != b->ready_at)
        return time_less(a->ready_at, b->ready_at, a, b);
    if (a->restarts != b->restarts) return a->restarts > b->restarts;
    if (a->sidecar_restarts != b->sidecar_restarts)
        return a->sidecar_restarts > b->sidecar_restarts;
    if (a->created != b->created) return time_less(a->created, b->created, a, b);
    return false;
}

static int ranked_cmp(const void *pa, const void *pb)
{
    const struct ranked *a = pa, *b = pb;
    if (ranked_less(a, b)) return -1;
    return ranked_less(b, a) ? 1 : 0;
}

void sk_pods_sort_for_deletion(const json_t **pods, size_t n, const int *rank, int64_t now)
{
    if (n < 2) return;
    struct ranked *r = sk_calloc(n, sizeof *r);
    for (size_t i = 0; i < n; i++) {
        const json_t *p = pods[i];
        r[i].pod = p;
        r[i].node = sk_json_path_str(p, "spec.nodeName") ?: "";
        r[i].uid = sk_json_path_str(p, "metadata.uid") ?: "";
        r[i].phase = phase_ordinal(sk_json_path_str(p, "status.phase"));
        r[i].ready = sk_pod_is_ready(p);
        r[i].cost = deletion_cost(p);
        r[i].rank = rank ? rank[i] : 0;
        r[i].ready_at = r[i].ready ? sk_pod_ready_since(p) : 0;
        int64_t c = sk_time_parse(sk_json_path_str(p, "metadata.creationTimestamp"));
        r[i].created = c < 0 ? 0 : c;
        r[i].now = now;
        max_restarts(p, &r[i].restarts, &r[i].sidecar_restarts);
    }
    qsort(r, n, sizeof *r, ranked_cmp);
    for (size_t i = 0; i < n; i++) pods[i] = r[i].pod;
    free(r);
}

void sk_pods_rank_by_node(const json_t **pods, size_t n, const json_t *related, int *rank)
{
    json_t *count = json_object(), *p;
    size_t i;
    json_array_foreach(related, i, p) {
        if (!sk_pod_is_active(p)) continue;
        const char *node = sk_json_path_str(p, "spec.nodeName") ?: "";
        json_int_t c = json_integer_value(json_object_get(count, node));
        json_object_set_new(count, node, json_integer(c + 1));
    }
    for (i = 0; i < n; i++) {
        const char *node = sk_json_path_str(pods[i], "spec.nodeName") ?: "";
        rank[i] = (int)json_integer_value(json_object_get(count, node));
    }
    json_decref(count);
}

/* ---- controller references ------------------------------------------------- */

const json_t *sk_controller_ref(const json_t *obj)
{
    size_t i;
    json_t *ref;
    json_array_foreach(sk_json_path(obj, "metadata.ownerReferences"), i, ref)
        if (json_is_true(json_object_get(ref, "controller"))) return ref;
    return NULL;
}

bool sk_controlled_by(const json_t *obj, const char *owner_uid)
{
    const char *uid = sk_json_str(sk_controller_ref(obj), "uid");
    return uid && owner_uid && !strcmp(uid, owner_uid);
}

json_t *sk_controller_ref_new(const json_t *owner, const char *api_version, const char *kind)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:b,s:b}", "apiVersion", api_version, "kind", kind,
                     "name", sk_json_path_str(owner, "metadata.name") ?: "", "uid",
                     sk_json_path_str(owner, "metadata.uid") ?: "", "controller", 1,
                     "blockOwnerDeletion", 1);
}

static bool being_deleted(const json_t *obj)
{
    json_t *dt = sk_json_path(obj, "metadata.deletionTimestamp");
    return dt && !json_is_null(dt);
}

static json_t *claim_patch(const struct sk_claim *cl, const json_t *obj, bool adopt,
                           sk_err *err)
{
    const char *uid = sk_json_path_str(obj, "metadata.uid") ?: "";
    json_t *refs = adopt ? json_pack("[o]", sk_controller_ref_new(cl->owner, cl->api_version,
                                                                  cl->kind))
                         : json_pack("[{s:s,s:s}]", "$patch", "delete", "uid",
                                     sk_json_path_str(cl->owner, "metadata.uid") ?: "");
    /* metadata.uid pins the patch to the object we looked at, as upstream. */
    _sk_json_ json_t *patch = json_pack("{s:{s:o,s:s}}", "metadata", "ownerReferences", refs,
                                        "uid", uid);
    return sk_client_patch(cl->client, cl->res, sk_json_path_str(obj, "metadata.namespace"),
                           sk_json_path_str(obj, "metadata.name"),
                           "application/strategic-merge-patch+json", patch, NULL, err);
}

static void claim_fail(int *failed, sk_err *err, sk_err *e)
{
    if (!*failed) {
        err->code = e->code;
        snprintf(err->msg, sizeof err->msg, "%s", e->msg);
    }
    *failed = 1;
}

json_t *sk_claim_objects(const struct sk_claim *cl, const json_t *candidates, int *failed,
                         sk_err *err)
{
    json_t *out = json_array(), *obj;
    const char *owner_uid = sk_json_path_str(cl->owner, "metadata.uid");
    bool owner_gone = being_deleted(cl->owner);
    int adopt_ok = -1; /* unknown until the first adoption */
    size_t i;
    *failed = 0;
    json_array_foreach(candidates, i, obj) {
        const json_t *ref = sk_controller_ref(obj);
        bool match = sk_selector_match(cl->sel, sk_json_path(obj, "metadata.labels"));
        sk_err e = SK_ERR_INIT;
        if (ref) {
            if (!sk_controlled_by(obj, owner_uid)) continue;
            if (match) {
                json_array_append(out, obj);
                continue;
            }
            if (owner_gone) continue;
            json_t *r = claim_patch(cl, obj, false, &e);
            json_decref(r);
            if (!r && e.code != SK_ENOTFOUND && e.code != SK_EINVALID) claim_fail(failed, err, &e);
            sk_err_clear(&e);
            continue;
        }
        if (owner_gone || !match || being_deleted(obj)) continue;
        if (adopt_ok < 0) adopt_ok = cl->can_adopt ? cl->can_adopt(cl->ud) : 1;
        if (!adopt_ok) continue;
        json_t *r = claim_patch(cl, obj, true, &e);
        if (r) json_array_append_new(out, r);
        else if (e.code != SK_ENOTFOUND) claim_fail(failed, err, &e);
        sk_err_clear(&e);
    }
    return out;
}

json_t *sk_claim_candidates(sk_informer *inf, const char *ns, const char *owner_uid,
                            const sk_selector *sel)
{
    json_t *out = sk_informer_list_owned(inf, ns, owner_uid);
    if (!out) out = json_array();
    json_t *seen = json_object(), *o;
    size_t i;
    json_array_foreach(out, i, o)
        json_object_set_new(seen, sk_json_path_str(o, "metadata.uid") ?: "", json_true());
    /* Only orphans can be adopted: match the selector against those alone
     * rather than against every object in the namespace. */
    _sk_json_ json_t *orphans = sk_informer_list_owned(inf, ns, "");
    json_array_foreach(orphans, i, o) {
        const char *uid = sk_json_path_str(o, "metadata.uid") ?: "";
        if (json_object_get(seen, uid)) continue;
        if (sel && !sk_selector_match(sel, sk_json_path(o, "metadata.labels"))) continue;
        json_object_set_new(seen, uid, json_true());
        json_array_append(out, o);
    }
    json_decref(seen);
    return out;
}
