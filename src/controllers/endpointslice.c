/* The EndpointSlice controller (upstream pkg/controller/endpointslice,
 * v1.32): discovery.k8s.io/v1 EndpointSlices for every Service with a
 * selector, planned by sk_eps_reconcile (endpointslice_build.c). Slices
 * are owned by their Service, so the garbage collector removes them with
 * it. Like upstream, a tracker remembers the generation of every slice
 * this controller wrote (and the ones it deleted): while the informer
 * cache lags behind those writes, the sync is retried instead of acting
 * on stale data (which would create duplicate slices).
 * Partial: no topology hints and no last-change-trigger-time annotation. */
#include "controllers/controllers_int.h"
#include "controllers/endpoints_int.h"

#include <pthread.h>
#include <string.h>

#define DELETION_EXPECTED (-1)

struct eps_ctrl {
    sk_client *c;
    sk_informer *svcs, *pods, *slices, *nodes;
    const struct sk_resource *r_eps;
    sk_recorder *rec;
    sk_workqueue *q;
    sk_workers *w;
    int nworkers;
    struct sk_ep_watch watch;
    pthread_mutex_t lock;
    json_t *tracker; /* "ns/service" -> {slice uid -> generation or DELETION_EXPECTED} */
};

/* ---- tracker ------------------------------------------------------------------------- */

/* "ns/service" of a slice from its service-name label; caller frees, NULL if none. */
static char *slice_service_key(const json_t *slice)
{
    const char *svc = sk_json_str(sk_json_path(slice, "metadata.labels"), SK_LABEL_SERVICE_NAME);
    const char *ns = sk_json_path_str(slice, "metadata.namespace");
    if (!svc || !ns) return NULL;
    return sk_printf("%s/%s", ns, svc);
}

static bool managed(const json_t *slice)
{
    const char *m = sk_json_str(sk_json_path(slice, "metadata.labels"), SK_LABEL_MANAGED_BY);
    return m && !strcmp(m, SK_EPS_MANAGED_BY);
}

static json_int_t generation(const json_t *slice)
{
    return json_integer_value(sk_json_path(slice, "metadata.generation"));
}

static void track(struct eps_ctrl *e, const json_t *slice, json_int_t gen)
{
    _sk_free_ char *key = slice_service_key(slice);
    const char *uid = sk_json_path_str(slice, "metadata.uid");
    if (!key || !uid) return;
    pthread_mutex_lock(&e->lock);
    json_t *gfs = json_object_get(e->tracker, key);
    if (!gfs) {
        gfs = json_object();
        json_object_set_new(e->tracker, key, gfs);
    }
    json_object_set_new(gfs, uid, json_integer(gen));
    pthread_mutex_unlock(&e->lock);
}

/* Stale when a tracked slice is missing or older in the cache, or one we
 * deleted is still there. */
static bool stale(struct eps_ctrl *e, const char *svc_key, const json_t *slices)
{
    bool res = false;
    pthread_mutex_lock(&e->lock);
    json_t *gfs = json_object_get(e->tracker, svc_key);
    json_t *seen = json_object();
    size_t i;
    json_t *s;
    json_array_foreach(slices, i, s) {
        const char *uid = sk_json_path_str(s, "metadata.uid") ?: "";
        json_object_set_new(seen, uid, json_true());
        json_t *g = json_object_get(gfs, uid);
        if (g && (json_integer_value(g) == DELETION_EXPECTED || json_integer_value(g) > generation(s)))
            res = true;
    }
    const char *uid;
    json_t *g;
    json_object_foreach(gfs, uid, g) {
        if (json_integer_value(g) != DELETION_EXPECTED && !json_object_get(seen, uid)) res = true;
    }
    json_decref(seen);
    pthread_mutex_unlock(&e->lock);
    return res;
}

/* An informer event for a slice we did not write (or a newer one). */
static bool should_sync(struct eps_ctrl *e, const json_t *slice)
{
    _sk_free_ char *key = slice_service_key(slice);
    if (!key) return false;
    pthread_mutex_lock(&e->lock);
    json_t *g = json_object_get(json_object_get(e->tracker, key),
                                sk_json_path_str(slice, "metadata.uid") ?: "");
    bool res = !g || generation(slice) > json_integer_value(g);
    pthread_mutex_unlock(&e->lock);
    return res;
}

/* Forgets a deleted slice; true if the deletion was unexpected. */
static bool handle_deletion(struct eps_ctrl *e, const json_t *slice)
{
    _sk_free_ char *key = slice_service_key(slice);
    if (!key) return false;
    const char *uid = sk_json_path_str(slice, "metadata.uid") ?: "";
    pthread_mutex_lock(&e->lock);
    json_t *gfs = json_object_get(e->tracker, key);
    json_t *g = json_object_get(gfs, uid);
    bool unexpected = g && json_integer_value(g) != DELETION_EXPECTED;
    if (g) json_object_del(gfs, uid);
    pthread_mutex_unlock(&e->lock);
    return unexpected;
}

static void forget_service(struct eps_ctrl *e, const char *svc_key)
{
    pthread_mutex_lock(&e->lock);
    json_object_del(e->tracker, svc_key);
    pthread_mutex_unlock(&e->lock);
}

/* ---- handlers ---------------------------------------------------------------------------- */

static void enqueue_slice_service(struct eps_ctrl *e, const json_t *slice)
{
    char *key = slice_service_key(slice);
    if (key) sk_workqueue_add(e->q, key);
    free(key);
}

static void slice_add(void *ud, const json_t *obj)
{
    struct eps_ctrl *e = ud;
    if (managed(obj) && should_sync(e, obj)) enqueue_slice_service(e, obj);
}

static void slice_update(void *ud, const json_t *old, const json_t *cur)
{
    struct eps_ctrl *e = ud;
    const char *sa = sk_json_str(sk_json_path(old, "metadata.labels"), SK_LABEL_SERVICE_NAME);
    const char *sb = sk_json_str(sk_json_path(cur, "metadata.labels"), SK_LABEL_SERVICE_NAME);
    bool moved = managed(old) != managed(cur) || (sa && sb && strcmp(sa, sb)) || (!sa != !sb);
    if (moved) {
        enqueue_slice_service(e, old);
        enqueue_slice_service(e, cur);
    } else if (managed(cur) && should_sync(e, cur)) {
        enqueue_slice_service(e, cur);
    }
}

static void slice_delete(void *ud, const json_t *obj)
{
    struct eps_ctrl *e = ud;
    if (managed(obj) && handle_deletion(e, obj)) enqueue_slice_service(e, obj);
}

/* ---- sync ------------------------------------------------------------------------------------ */

static json_t *node_lookup(void *ud, const char *name)
{
    struct eps_ctrl *e = ud;
    return sk_informer_get(e->nodes, NULL, name);
}

static json_t *service_slices(struct eps_ctrl *e, const char *ns, const char *name)
{
    _sk_free_ char *s = sk_printf("%s=%s,%s=%s", SK_LABEL_SERVICE_NAME, name, SK_LABEL_MANAGED_BY,
                                  SK_EPS_MANAGED_BY);
    sk_err err = SK_ERR_INIT;
    sk_selector *sel = sk_selector_parse(s, &err);
    sk_err_clear(&err);
    if (!sel) return json_array();
    json_t *all = sk_informer_list(e->slices, ns, sel);
    sk_selector_free(sel);
    /* slices being deleted are dropped so they cannot wedge the controller */
    json_t *out = json_array();
    size_t i;
    json_t *s2;
    json_array_foreach(all, i, s2) {
        json_t *dt = sk_json_path(s2, "metadata.deletionTimestamp");
        if (!dt || json_is_null(dt)) json_array_append(out, s2);
    }
    json_decref(all);
    return out;
}

/* Performs the plan: creates, updates, then deletes, as upstream. */
static int apply_plan(struct eps_ctrl *e, const json_t *svc, struct sk_eps_plan *pl, sk_err *err)
{
    const char *ns = sk_json_path_str(svc, "metadata.namespace");
    size_t i;
    json_t *s;
    json_array_foreach(pl->create, i, s) {
        json_t *res = sk_client_create(e->c, e->r_eps, ns, s, err);
        if (!res) {
            if (err->code == SK_EFORBIDDEN && strstr(err->msg, "being terminated")) {
                sk_err_clear(err);
                return 1; /* the namespace is going away: nothing more to do */
            }
            return sk_err_wrap(err, "failed to create EndpointSlice for Service %s/%s", ns,
                               sk_json_path_str(svc, "metadata.name"));
        }
        track(e, res, generation(res));
        json_decref(res);
    }
    json_array_foreach(pl->update, i, s) {
        json_t *res = sk_client_update(e->c, e->r_eps, ns, s, NULL, err);
        if (!res)
            return sk_err_wrap(err, "failed to update %s EndpointSlice for Service %s/%s",
                               sk_json_path_str(s, "metadata.name"), ns,
                               sk_json_path_str(svc, "metadata.name"));
        track(e, res, generation(res));
        json_decref(res);
    }
    json_array_foreach(pl->del, i, s) {
        track(e, s, DELETION_EXPECTED);
        if (sk_client_delete(e->c, e->r_eps, ns, sk_json_path_str(s, "metadata.name"), NULL, -1,
                             NULL, err) < 0 && err->code != SK_ENOTFOUND)
            return sk_err_wrap(err, "failed to delete %s EndpointSlice for Service %s/%s",
                               sk_json_path_str(s, "metadata.name"), ns,
                               sk_json_path_str(svc, "metadata.name"));
        sk_err_clear(err);
    }
    return 0;
}

static int sync_service(void *ud, const char *key)
{
    struct eps_ctrl *e = ud;
    char ns[256], name[256];
    sk_key_split(key, ns, sizeof ns, name, sizeof name);
    _sk_json_ json_t *svc = sk_informer_get(e->svcs, ns, name);
    if (!svc) {
        /* its slices go with it through the garbage collector */
        forget_service(e, key);
        return 0;
    }
    if (!sk_ep_svc_managed(svc)) return 0;
    sk_selector *sel = sk_ep_svc_selector(svc);
    if (!sel) return 0;
    _sk_json_ json_t *pods = sk_informer_list(e->pods, ns, sel);
    sk_selector_free(sel);
    _sk_json_ json_t *slices = service_slices(e, ns, name);
    if (stale(e, key, slices)) return -1; /* the cache lags behind our writes */
    struct sk_eps_plan pl;
    sk_eps_reconcile(svc, pods, slices, node_lookup, e, SK_EPS_MAX_PER_SLICE, &pl);
    sk_err err = SK_ERR_INIT;
    int rc = apply_plan(e, svc, &pl, &err);
    if (rc < 0) {
        if (err.code != SK_ECONFLICT)
            sk_event(e->rec, svc, "Warning", "FailedToUpdateEndpointSlices",
                     "Error updating Endpoint Slices for Service %s/%s: %s", ns, name, err.msg);
        sk_log(SK_DEBUG, "endpointslice", "%s: %s", key, err.msg);
    }
    bool retry = rc < 0 || (rc == 0 && pl.node_missing);
    sk_err_clear(&err);
    sk_eps_plan_release(&pl);
    return retry ? -1 : 0;
}

/* ---- lifecycle ---------------------------------------------------------------------------------- */

static void *eps_new(struct sk_ctrl_ctx *ctx, sk_err *err)
{
    struct eps_ctrl *e = sk_calloc(1, sizeof *e);
    e->c = sk_ctx_client(ctx);
    e->r_eps = sk_ctx_res("discovery.k8s.io", "endpointslices");
    e->svcs = sk_ctx_informer(ctx, "", "services");
    e->pods = sk_ctx_informer(ctx, "", "pods");
    e->nodes = sk_ctx_informer(ctx, "", "nodes");
    e->slices = sk_ctx_informer(ctx, "discovery.k8s.io", "endpointslices");
    if (!e->r_eps || !e->svcs || !e->pods || !e->nodes || !e->slices) {
        free(e);
        sk_err_set(err, SK_EINTERNAL, "endpointslice controller: resources not registered");
        return NULL;
    }
    e->rec = sk_ctx_recorder(ctx, "endpoint-slice-controller");
    e->nworkers = sk_ctx_config(ctx)->workers;
    e->q = sk_workqueue_new();
    e->tracker = json_object();
    pthread_mutex_init(&e->lock, NULL);
    sk_ep_watch_start(&e->watch, e->svcs, e->pods, e->q);
    struct sk_informer_handlers hl = {slice_add, slice_update, slice_delete, e};
    sk_informer_add_handlers(e->slices, &hl);
    return e;
}

static int eps_start(void *c, sk_err *err)
{
    struct eps_ctrl *e = c;
    e->w = sk_workers_start(e->q, e->nworkers, sync_service, e);
    return 0;
}

static void eps_stop(void *c)
{
    struct eps_ctrl *e = c;
    sk_workqueue_shutdown(e->q);
    sk_workers_join(e->w);
    e->w = NULL;
}

static void eps_free(void *c)
{
    struct eps_ctrl *e = c;
    if (!e) return;
    sk_workqueue_free(e->q);
    json_decref(e->tracker);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

const struct sk_controller_ops sk_ctrl_endpointslice = {
    .name = "endpointslice",
    .new = eps_new,
    .start = eps_start,
    .stop = eps_stop,
    .free = eps_free,
};
