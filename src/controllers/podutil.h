/* Helpers shared by the workload controllers (ReplicaSet, Deployment):
 * pod readiness and availability as upstream's podutil computes them,
 * controller ownerReferences, adoption/release of dependents
 * (ControllerRefManager), pod-from-template and the ActivePods ranking
 * used to pick pods to delete. Pure functions over jansson values except
 * sk_claim_objects, which patches through the client. Thread-safe. */
#ifndef SK_CONTROLLERS_PODUTIL_H
#define SK_CONTROLLERS_PODUTIL_H

#include "client/client.h"

/* obj at dotted path as an integer, def when absent or not a number. */
static inline int64_t sk_jint(const json_t *obj, const char *path, int64_t def)
{
    json_t *v = sk_json_path(obj, path);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

/* ---- pods ------------------------------------------------------------------- */

bool sk_pod_is_ready(const json_t *pod);
/* Ready condition's lastTransitionTime (unix s) when ready, else -1. */
int64_t sk_pod_ready_since(const json_t *pod);
/* Ready for at least min_ready_s seconds at now (unix s). */
bool sk_pod_is_available(const json_t *pod, int64_t min_ready_s, int64_t now);
/* Not Succeeded/Failed and not being deleted. */
bool sk_pod_is_active(const json_t *pod);
/* "ns/name" into out. */
void sk_obj_nskey(const json_t *obj, char *out, size_t n);

/* A new Pod (caller frees) for a template: its labels, annotations,
 * finalizers and spec, generateName "<owner name>-", namespace ns, and the
 * controller reference ref (borrowed, copied). */
json_t *sk_pod_from_template(const json_t *tmpl, const char *owner_name, const char *ns,
                             const json_t *ref);

/* Sorts pods (borrowed) so the best deletion candidates come first, as
 * upstream's ActivePodsWithRanks: unassigned < assigned; Pending < Unknown
 * < Running; not ready < ready; lower pod-deletion-cost first; more
 * co-located related pods first (rank[i], may be NULL); ready more
 * recently first (log2 buckets); more restarts first; newer first. */
void sk_pods_sort_for_deletion(const json_t **pods, size_t n, const int *rank, int64_t now);
/* rank[i] = number of active pods in related (array) on pods[i]'s node. */
void sk_pods_rank_by_node(const json_t **pods, size_t n, const json_t *related, int *rank);

/* ---- controller references ----------------------------------------------------- */

/* The controller=true ownerReference of obj (borrowed), or NULL. */
const json_t *sk_controller_ref(const json_t *obj);
/* True when obj's controller ref has this uid. */
bool sk_controlled_by(const json_t *obj, const char *owner_uid);
/* {apiVersion, kind, name, uid, controller: true, blockOwnerDeletion: true}
 * for owner (caller frees). */
json_t *sk_controller_ref_new(const json_t *owner, const char *api_version, const char *kind);

/* ControllerRefManager.Claim*: given candidate objects (array, borrowed),
 * returns a new array of those owner controls and that match sel, adopting
 * matching orphans (strategic-merge PATCH adding the controller ref) and
 * releasing owned objects that no longer match (PATCH deleting the ref).
 * Nothing is adopted or released while owner is being deleted. Before the
 * first adoption, can_adopt(ud) is asked once (a fresh read of the owner;
 * false = skip adoptions). Adopted objects appear in their patched form.
 * On a failed patch the claim goes on and -1 + err is reported through
 * *failed (the caller requeues); NotFound/Invalid are ignored, as upstream. */
struct sk_claim {
    sk_client *client;
    const struct sk_resource *res; /* the dependents' resource */
    const json_t *owner;
    const char *api_version, *kind; /* the owner's */
    const sk_selector *sel;
    bool (*can_adopt)(void *ud);
    void *ud;
};
json_t *sk_claim_objects(const struct sk_claim *cl, const json_t *candidates, int *failed,
                         sk_err *err);

/* Candidates for claiming: objects in ns controlled by owner_uid plus
 * those matching sel, deduplicated by uid (new array). */
json_t *sk_claim_candidates(sk_informer *inf, const char *ns, const char *owner_uid,
                            const sk_selector *sel);

#endif
