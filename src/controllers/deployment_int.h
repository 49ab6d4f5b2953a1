/* Deployment controller internals, shared by deployment.c (informers and
 * the sync loop), deployment_rollout.c (RollingUpdate, Recreate, progress),
 * deployment_util.c and deployment_hash.c (pure functions, unit-tested).
 *
 * Objects are jansson values in their API JSON form. Functions taking
 * `const json_t *` never modify; RS arrays hold owned references. Times are
 * unix seconds. Semantics follow upstream v1.32 pkg/controller/deployment. */
#ifndef SK_CONTROLLERS_DEPLOYMENT_INT_H
#define SK_CONTROLLERS_DEPLOYMENT_INT_H

#include "controllers/controllers_int.h"
#include "controllers/podutil.h"

#define SK_DEP_REVISION_ANN "deployment.kubernetes.io/revision"
#define SK_DEP_HISTORY_ANN "deployment.kubernetes.io/revision-history"
#define SK_DEP_DESIRED_ANN "deployment.kubernetes.io/desired-replicas"
#define SK_DEP_MAX_ANN "deployment.kubernetes.io/max-replicas"
#define SK_DEP_HASH_LABEL "pod-template-hash"
#define SK_DEP_MAX_HISTORY_CHARS 2000

/* ---- template hash (deployment_hash.c) ------------------------------------ */

uint32_t sk_dep_fnv32a(const void *p, size_t n, uint32_t h); /* h = 2166136261 to start */
/* rand.SafeEncodeString: each byte -> "bcdfghjklmnpqrstvwxz2456789"[b % 27]. */
void sk_dep_safe_encode(const char *in, char *out, size_t n);
/* The template stripped of what the API server adds or kubectl echoes back
 * (creationTimestamp: null, resources: {}, default-valued fields, nulls,
 * empty objects and lists, the pod-template-hash label). New value. */
json_t *sk_dep_template_normalize(const json_t *tmpl);
/* ComputeHash over the normalised template's canonical JSON, then the
 * collision count (NULL = none) as 8 little-endian bytes. Caller frees. */
char *sk_dep_template_hash(const json_t *tmpl, const json_t *collision_count);
/* EqualIgnoreHash: same normalised template. */
bool sk_dep_templates_equal(const json_t *a, const json_t *b);

/* ---- spec helpers (deployment_util.c) -------------------------------------- */

int32_t sk_dep_replicas(const json_t *obj); /* spec.replicas, default 1 */
bool sk_dep_is_rolling(const json_t *d);
/* GetScaledValueFromIntOrPercent: int, or "N%" of total rounded up/down. */
int sk_dep_intstr(const json_t *v, int32_t total, bool round_up, int32_t *out);
/* ResolveFenceposts: surge rounds up, unavailable down; both 0 -> unavailable 1. */
int sk_dep_fenceposts(const json_t *surge, const json_t *unavail, int32_t desired,
                      int32_t *out_surge, int32_t *out_unavail);
int32_t sk_dep_max_surge(const json_t *d);
int32_t sk_dep_max_unavailable(const json_t *d); /* capped at replicas */
bool sk_dep_has_progress_deadline(const json_t *d);
bool sk_dep_has_history_limit(const json_t *d);

/* ---- revisions and annotations --------------------------------------------- */

int64_t sk_dep_revision(const json_t *obj); /* 0 absent, -1 unparsable */
int64_t sk_dep_max_revision(json_t *const *rss, size_t n);
/* SetNewReplicaSetAnnotations: copies the deployment's annotations (except
 * the controller's own and last-applied), raises the revision to new_rev
 * keeping the older one in revision-history, and for a new RS (!exists)
 * sets desired/max replicas. True when rs changed. */
bool sk_dep_set_new_rs_annotations(const json_t *d, json_t *rs, const char *new_rev, bool exists);
bool sk_dep_replicas_ann_stale(const json_t *rs, int32_t desired, int32_t max);
bool sk_dep_set_replicas_ann(json_t *rs, int32_t desired, int32_t max);
/* An int annotation of rs; false when absent or not an int. */
bool sk_dep_int_ann(const json_t *rs, const char *key, int32_t *out);

/* ---- conditions (on a status object) --------------------------------------- */

json_t *sk_dep_condition(const json_t *status, const char *type); /* borrowed */
/* SetDeploymentCondition: no-op when status and reason are unchanged; keeps
 * lastTransitionTime when only the reason changes. */
void sk_dep_set_condition(json_t *status, const char *type, const char *cstatus,
                          const char *reason, const char *msg, int64_t now);
void sk_dep_remove_condition(json_t *status, const char *type);

/* ---- ReplicaSet lists -------------------------------------------------------- */

struct sk_rsvec {
    json_t **v; /* owned references */
    size_t n, cap;
};
void sk_rsvec_push(struct sk_rsvec *v, json_t *rs); /* takes the reference */
void sk_rsvec_release(struct sk_rsvec *v);
void sk_rs_sort_by_creation(json_t **v, size_t n); /* oldest first, then name */
void sk_rs_sort_by_size(json_t **v, size_t n, bool newer_first); /* largest first */
void sk_rs_sort_by_revision(json_t **v, size_t n); /* lowest first */
/* Sum of spec.replicas (field "spec") or of a status field; NULLs skipped. */
int32_t sk_rs_sum_replicas(json_t *const *v, size_t n, const char *field);

/* ---- rollout arithmetic ------------------------------------------------------- */

/* NewRSNewReplicas over all RSs (new included). */
int32_t sk_dep_new_rs_replicas(const json_t *d, json_t *const *all, size_t n,
                               const json_t *new_rs);
bool sk_dep_is_saturated(const json_t *d, const json_t *rs);
/* Proportional scaling (DeploymentController.scale): sorts the active RSs
 * for the direction, fills sizes[] (same order), returns "up", "down" or "". */
const char *sk_dep_proportional(const json_t *d, json_t **active, size_t n, int32_t *sizes);

/* ---- status ------------------------------------------------------------------- */

/* calculateStatus: new status from the RSs (all includes new_rs) and the
 * deployment's existing conditions, with the Available condition set. */
json_t *sk_dep_calc_status(const json_t *d, json_t *const *all, size_t n, const json_t *new_rs,
                           int64_t now);
bool sk_dep_complete(const json_t *d, const json_t *st);
bool sk_dep_progressing(const json_t *d, const json_t *st);
bool sk_dep_timed_out(const json_t *d, const json_t *st, int64_t now);
/* Equal ignoring zero-valued omitempty fields. */
bool sk_dep_status_equal(const json_t *a, const json_t *b);

/* ---- the controller (deployment.c / deployment_rollout.c) ------------------------ */

struct sk_dc {
    sk_client *client;
    sk_informer *d_inf, *rs_inf, *pod_inf;
    sk_recorder *rec;
    sk_workqueue *q;
    sk_workers *w;
    const struct sk_resource *dres, *rsres;
    int nworkers;
};

/* One reconcile of one deployment. */
struct sk_dsync {
    struct sk_dc *dc;
    const char *key;
    json_t *d;           /* working copy; its resourceVersion follows our writes */
    struct sk_rsvec rs;  /* RSs the deployment controls (claimed), oldest first */
};

/* getAllReplicaSetsAndSyncRevision: *new_rs (owned or NULL) and old RSs. */
int sk_dc_all_rs(struct sk_dsync *s, bool create, json_t **new_rs, struct sk_rsvec *old,
                 sk_err *err);
/* scaleReplicaSet[AndRecordEvent]: updates *rs in place with the result. */
int sk_dc_scale_rs(struct sk_dsync *s, json_t **rs, int32_t scale, const char *op,
                   bool *scaled, sk_err *err);
int sk_dc_scale_rs_event(struct sk_dsync *s, json_t **rs, int32_t scale, bool *scaled,
                         sk_err *err);
int sk_dc_cleanup(struct sk_dsync *s, struct sk_rsvec *old, sk_err *err);
/* PUT /status of s->d with status (taken); s->d becomes the reply. */
int sk_dc_put_status(struct sk_dsync *s, json_t *status, sk_err *err);

int sk_dc_rollout_rolling(struct sk_dsync *s, sk_err *err);
int sk_dc_rollout_recreate(struct sk_dsync *s, sk_err *err);
int sk_dc_sync_rollout_status(struct sk_dsync *s, json_t *new_rs, struct sk_rsvec *old,
                              sk_err *err);

#endif
