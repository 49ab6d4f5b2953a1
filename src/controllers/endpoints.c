/* The Endpoints controller (upstream pkg/controller/endpoint, v1.32): for
 * every Service with a selector, an Endpoints object of the same name
 * listing the selected pods' addresses (ready and not ready) and resolved
 * ports. Services without a selector are never touched; an Endpoints
 * whose Service is gone is deleted. Writes only on change.
 * Partial: the endpoints.kubernetes.io/last-change-trigger-time
 * annotation is not maintained (left as found). */
#include "controllers/controllers_int.h"
#include "controllers/endpoints_int.h"

#include <string.h>

#define LEADER_ANNOTATION "control-plane.alpha.kubernetes.io/leader"

struct ep_ctrl {
    sk_client *c;
    sk_informer *svcs, *pods, *eps;
    const struct sk_resource *r_ep;
    sk_recorder *rec;
    sk_workqueue *q;
    sk_workers *w;
    int nworkers;
    struct sk_ep_watch watch;
};

/* ---- pod -> services (shared with the EndpointSlice controller) ----------------- */

sk_selector *sk_ep_svc_selector(const json_t *svc)
{
    json_t *ls = json_pack("{s:O}", "matchLabels", sk_json_path(svc, "spec.selector"));
    sk_err err = SK_ERR_INIT;
    sk_selector *sel = sk_selector_from_json(ls, &err);
    json_decref(ls);
    sk_err_clear(&err);
    return sel;
}

void sk_ep_enqueue_pod_services(sk_informer *svcs, sk_workqueue *q, const json_t *pod)
{
    const char *ns = sk_json_path_str(pod, "metadata.namespace");
    if (!ns) return;
    json_t *list = sk_informer_list(svcs, ns, NULL);
    json_t *labels = sk_json_path(pod, "metadata.labels");
    size_t i;
    json_t *svc;
    json_array_foreach(list, i, svc) {
        if (!sk_ep_svc_managed(svc)) continue;
        sk_selector *sel = sk_ep_svc_selector(svc);
        if (sel && sk_selector_match(sel, labels)) {
            char *key = sk_object_key(svc);
            sk_workqueue_add(q, key);
            free(key);
        }
        sk_selector_free(sel);
    }
    json_decref(list);
}

void sk_ep_pod_updated(sk_informer *svcs, sk_workqueue *q, const json_t *old, const json_t *cur)
{
    const char *orv = sk_json_path_str(old, "metadata.resourceVersion");
    const char *crv = sk_json_path_str(cur, "metadata.resourceVersion");
    if (orv && crv && !strcmp(orv, crv)) return; /* resync */
    bool labels_changed;
    bool changed = sk_ep_pod_changed(old, cur, &labels_changed);
    if (!changed && !labels_changed) return;
    sk_ep_enqueue_pod_services(svcs, q, cur);
    if (labels_changed) sk_ep_enqueue_pod_services(svcs, q, old);
}

/* ---- service and pod handlers (shared with the EndpointSlice controller) -------- */

static void watch_svc(void *ud, const json_t *obj)
{
    struct sk_ep_watch *w = ud;
    char *key = sk_object_key(obj);
    if (key) sk_workqueue_add(w->q, key);
    free(key);
}

static void watch_svc_update(void *ud, const json_t *old, const json_t *cur) { watch_svc(ud, cur); }

static void watch_pod(void *ud, const json_t *obj)
{
    struct sk_ep_watch *w = ud;
    sk_ep_enqueue_pod_services(w->svcs, w->q, obj);
}

static void watch_pod_update(void *ud, const json_t *old, const json_t *cur)
{
    struct sk_ep_watch *w = ud;
    sk_ep_pod_updated(w->svcs, w->q, old, cur);
}

void sk_ep_watch_start(struct sk_ep_watch *w, sk_informer *svcs, sk_informer *pods,
                       sk_workqueue *q)
{
    w->svcs = svcs;
    w->q = q;
    struct sk_informer_handlers hs = {watch_svc, watch_svc_update, watch_svc, w};
    struct sk_informer_handlers hp = {watch_pod, watch_pod_update, watch_pod, w};
    sk_informer_add_handlers(svcs, &hs);
    sk_informer_add_handlers(pods, &hp);
}

/* ---- handlers ---------------------------------------------------------------------- */

static void enqueue_obj(struct ep_ctrl *e, const json_t *obj)
{
    char *key = sk_object_key(obj);
    if (key) sk_workqueue_add(e->q, key);
    free(key);
}

/* An Endpoints deleted by someone else is recreated (if its service wants one). */
static void ep_delete(void *ud, const json_t *obj) { enqueue_obj(ud, obj); }

/* ---- sync ----------------------------------------------------------------------------- */

static bool labels_equal(const json_t *a, const json_t *b)
{
    if (!json_object_size(a) || !json_object_size(b))
        return json_object_size(a) == json_object_size(b);
    return json_equal(a, b);
}

static bool up_to_date(const json_t *cur, const json_t *svc, const json_t *subsets,
                       bool truncated)
{
    if (!sk_subsets_equal(json_object_get(cur, "subsets"), subsets)) return false;
    json_t *labels = json_deep_copy(sk_json_path(cur, "metadata.labels"));
    json_object_del(labels, SK_LABEL_HEADLESS);
    bool same = labels_equal(labels, sk_json_path(svc, "metadata.labels"));
    json_decref(labels);
    if (!same) return false;
    /* the over-capacity annotation is set exactly when truncated */
    bool has = sk_json_str(sk_json_path(cur, "metadata.annotations"), SK_ANN_OVER_CAPACITY) != NULL;
    return has == truncated;
}

static json_t *desired(const json_t *cur, const json_t *svc, json_t *subsets, bool truncated)
{
    json_t *ep;
    if (cur) {
        ep = json_deep_copy(cur);
    } else {
        ep = json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", "v1", "kind", "Endpoints",
                       "metadata", "name", sk_json_path_str(svc, "metadata.name"), "namespace",
                       sk_json_path_str(svc, "metadata.namespace"));
    }
    json_t *md = sk_json_obj(ep, "metadata");
    json_t *labels = json_deep_copy(sk_json_path(svc, "metadata.labels"));
    if (!json_is_object(labels)) {
        json_decref(labels);
        labels = json_object();
    }
    if (!sk_ep_svc_has_ip(svc)) json_object_set_new(labels, SK_LABEL_HEADLESS, json_string(""));
    if (json_object_size(labels)) json_object_set_new(md, "labels", labels);
    else {
        json_object_del(md, "labels");
        json_decref(labels);
    }
    json_t *ann = json_object_get(md, "annotations");
    if (truncated) {
        ann = sk_json_obj(md, "annotations");
        json_object_set_new(ann, SK_ANN_OVER_CAPACITY, json_string("truncated"));
    } else if (ann) {
        json_object_del(ann, SK_ANN_OVER_CAPACITY);
        if (!json_object_size(ann)) json_object_del(md, "annotations");
    }
    if (json_array_size(subsets)) json_object_set(ep, "subsets", subsets);
    else json_object_del(ep, "subsets");
    return ep;
}

static int write_endpoints(struct ep_ctrl *e, const json_t *svc, const json_t *cur, json_t *ep)
{
    sk_err err = SK_ERR_INIT;
    const char *ns = sk_json_path_str(svc, "metadata.namespace");
    json_t *res = cur ? sk_client_update(e->c, e->r_ep, ns, ep, NULL, &err)
                      : sk_client_create(e->c, e->r_ep, ns, ep, &err);
    if (res) {
        json_decref(res);
        return 0;
    }
    int rc = -1;
    /* a terminating namespace refuses new content: drop the key */
    if (!cur && err.code == SK_EFORBIDDEN && strstr(err.msg, "being terminated")) rc = 0;
    else if (err.code != SK_ECONFLICT && err.code != SK_EEXIST) {
        if (cur)
            sk_event(e->rec, ep, "Warning", "FailedToUpdateEndpoint",
                     "Failed to update endpoint %s/%s: %s", ns,
                     sk_json_path_str(svc, "metadata.name"), err.msg);
        else
            sk_event(e->rec, ep, "Warning", "FailedToCreateEndpoint",
                     "Failed to create endpoint for service %s/%s: %s", ns,
                     sk_json_path_str(svc, "metadata.name"), err.msg);
    }
    if (rc) sk_log(SK_DEBUG, "endpoints", "%s/%s: %s", ns, sk_json_path_str(svc, "metadata.name"), err.msg);
    sk_err_clear(&err);
    return rc;
}

static int sync_service(void *ud, const char *key)
{
    struct ep_ctrl *e = ud;
    char ns[256], name[256];
    sk_key_split(key, ns, sizeof ns, name, sizeof name);
    _sk_json_ json_t *svc = sk_informer_get(e->svcs, ns, name);
    if (!svc) {
        sk_err err = SK_ERR_INIT;
        int rc = sk_client_delete(e->c, e->r_ep, ns, name, NULL, -1, NULL, &err);
        if (rc < 0 && err.code != SK_ENOTFOUND) {
            sk_err_clear(&err);
            return -1;
        }
        sk_err_clear(&err);
        return 0;
    }
    if (!sk_ep_svc_managed(svc)) return 0;
    sk_selector *sel = sk_ep_svc_selector(svc);
    if (!sel) return 0;
    _sk_json_ json_t *pods = sk_informer_list(e->pods, ns, sel);
    sk_selector_free(sel);
    _sk_json_ json_t *subsets = sk_endpoints_subsets(svc, pods);
    bool truncated = sk_endpoints_truncate(subsets);
    _sk_json_ json_t *cur = sk_informer_get(e->eps, ns, name);
    if (cur && up_to_date(cur, svc, subsets, truncated)) return 0;
    _sk_json_ json_t *ep = desired(cur, svc, subsets, truncated);
    return write_endpoints(e, svc, cur, ep);
}

/* ---- lifecycle ------------------------------------------------------------------------- */

static void *ep_new(struct sk_ctrl_ctx *ctx, sk_err *err)
{
    struct ep_ctrl *e = sk_calloc(1, sizeof *e);
    e->c = sk_ctx_client(ctx);
    e->r_ep = sk_ctx_res("", "endpoints");
    e->svcs = sk_ctx_informer(ctx, "", "services");
    e->pods = sk_ctx_informer(ctx, "", "pods");
    e->eps = sk_ctx_informer(ctx, "", "endpoints");
    if (!e->r_ep || !e->svcs || !e->pods || !e->eps) {
        free(e);
        sk_err_set(err, SK_EINTERNAL, "endpoints controller: resources not registered");
        return NULL;
    }
    e->rec = sk_ctx_recorder(ctx, "endpoint-controller");
    e->nworkers = sk_ctx_config(ctx)->workers;
    e->q = sk_workqueue_new();
    sk_ep_watch_start(&e->watch, e->svcs, e->pods, e->q);
    struct sk_informer_handlers he = {NULL, NULL, ep_delete, e};
    sk_informer_add_handlers(e->eps, &he);
    return e;
}

static int ep_start(void *c, sk_err *err)
{
    struct ep_ctrl *e = c;
    /* Endpoints left behind by services deleted while we were down. The
     * leader-election record of old controller managers is skipped. */
    json_t *all = sk_informer_list(e->eps, NULL, NULL);
    size_t i;
    json_t *ep;
    json_array_foreach(all, i, ep) {
        if (sk_json_str(sk_json_path(ep, "metadata.annotations"), LEADER_ANNOTATION)) continue;
        enqueue_obj(e, ep);
    }
    json_decref(all);
    e->w = sk_workers_start(e->q, e->nworkers, sync_service, e);
    return 0;
}

static void ep_stop(void *c)
{
    struct ep_ctrl *e = c;
    sk_workqueue_shutdown(e->q);
    sk_workers_join(e->w);
    e->w = NULL;
}

static void ep_free(void *c)
{
    struct ep_ctrl *e = c;
    if (!e) return;
    sk_workqueue_free(e->q);
    free(e);
}

const struct sk_controller_ops sk_ctrl_endpoints = {
    .name = "endpoints",
    .new = ep_new,
    .start = ep_start,
    .stop = ep_stop,
    .free = ep_free,
};
