/* The service load balancer controller: the LoadBalancer role of a cloud
 * controller manager on a laptop, as k3s's servicelb and `minikube tunnel`
 * play it. Every Service of type LoadBalancer (without a
 * spec.loadBalancerClass, which names another implementation) gets
 * status.loadBalancer.ingress = one {ip, ipMode: VIP} per Ready node's
 * InternalIP, so `kubectl get svc` shows an EXTERNAL-IP; each node's
 * service proxy then answers on that address at the service port. The
 * status is cleared when the type changes away from LoadBalancer.
 *
 * The addresses are the nodes' own, so two LoadBalancer services cannot
 * share a port: as k3s does, the newer one (by creationTimestamp, then
 * name) stays pending with no ingress and a Warning event until the port
 * is free. Nodes labelled node.kubernetes.io/exclude-from-external-load-
 * balancers are left out, as upstream's service controller does.
 *
 * Partial: IPv4 InternalIPs only; no per-service node selection. */
#include "controllers/controllers_int.h"

#include <arpa/inet.h>
#include <string.h>

#define TAG "service-lb-controller"
#define EXCLUDE_LABEL "node.kubernetes.io/exclude-from-external-load-balancers"

struct slb {
    sk_client *c;
    sk_informer *svcs, *nodes;
    const struct sk_resource *r_svc;
    sk_recorder *rec;
    sk_workqueue *q;
    sk_workers *w;
    int nworkers;
};

static bool streq(const char *a, const char *b) { return a && b && !strcmp(a, b); }

static bool is_lb(const json_t *svc)
{
    json_t *cls = sk_json_path(svc, "spec.loadBalancerClass");
    return streq(sk_json_path_str(svc, "spec.type"), "LoadBalancer") && (!cls || json_is_null(cls));
}

/* ---- handlers ----------------------------------------------------------------------- */

static void enqueue_all_lb(struct slb *s);

static void svc_add(void *ud, const json_t *obj)
{
    struct slb *s = ud;
    _sk_free_ char *key = sk_object_key(obj);
    if (key) sk_workqueue_add(s->q, key);
}

/* A LoadBalancer that stops being one or changes its ports may free a
 * port a pending one waits for, as a deletion does. */
static void svc_update(void *ud, const json_t *old, const json_t *cur)
{
    svc_add(ud, cur);
    if (is_lb(old) && (!is_lb(cur) || !json_equal(sk_json_path(old, "spec.ports"),
                                                   sk_json_path(cur, "spec.ports"))))
        enqueue_all_lb(ud);
}

/* A deleted LoadBalancer may free a port a pending one waits for. */
static void enqueue_all_lb(struct slb *s)
{
    _sk_json_ json_t *all = sk_informer_list(s->svcs, NULL, NULL);
    size_t i;
    json_t *svc;
    json_array_foreach(all, i, svc) if (is_lb(svc)) svc_add(s, svc);
}

static void svc_delete(void *ud, const json_t *obj)
{
    if (is_lb(obj)) enqueue_all_lb(ud);
}

static void node_add(void *ud, const json_t *obj) { enqueue_all_lb(ud); }

static void node_update(void *ud, const json_t *old, const json_t *cur)
{
    /* status heartbeats change the object all the time; only readiness,
     * addresses and labels matter here */
    const char *keys[] = {"status.addresses", "metadata.labels"};
    bool same = true;
    for (size_t i = 0; i < 2 && same; i++) {
        json_t *a = sk_json_path(old, keys[i]), *b = sk_json_path(cur, keys[i]);
        same = (!a && !b) || (a && b && json_equal(a, b));
    }
    json_t *c;
    size_t i;
    const char *ro = NULL, *rc = NULL;
    json_array_foreach(sk_json_path(old, "status.conditions"), i, c)
        if (streq(sk_json_str(c, "type"), "Ready")) ro = sk_json_str(c, "status");
    json_array_foreach(sk_json_path(cur, "status.conditions"), i, c)
        if (streq(sk_json_str(c, "type"), "Ready")) rc = sk_json_str(c, "status");
    if (!same || !streq(ro ? ro : "", rc ? rc : "")) enqueue_all_lb(ud);
}

static void node_delete(void *ud, const json_t *obj) { enqueue_all_lb(ud); }

/* ---- desired state ---------------------------------------------------------------------- */

static bool node_ready(const json_t *node)
{
    json_t *c;
    size_t i;
    json_array_foreach(sk_json_path(node, "status.conditions"), i, c)
        if (streq(sk_json_str(c, "type"), "Ready")) return streq(sk_json_str(c, "status"), "True");
    return false;
}

static const char *internal_ip(const json_t *node)
{
    json_t *a;
    size_t i;
    struct in_addr tmp;
    json_array_foreach(sk_json_path(node, "status.addresses"), i, a) {
        const char *ip = sk_json_str(a, "address");
        if (streq(sk_json_str(a, "type"), "InternalIP") && ip && inet_pton(AF_INET, ip, &tmp) == 1)
            return ip;
    }
    return NULL;
}

static int ip_cmp(const void *a, const void *b)
{
    const char *x = sk_json_str(*(json_t *const *)a, "ip"), *y = sk_json_str(*(json_t *const *)b, "ip");
    struct in_addr ax = {0}, ay = {0};
    inet_pton(AF_INET, x, &ax);
    inet_pton(AF_INET, y, &ay);
    return ntohl(ax.s_addr) < ntohl(ay.s_addr) ? -1 : ntohl(ax.s_addr) > ntohl(ay.s_addr);
}

/* [{ip, ipMode: VIP}] for the Ready, not excluded nodes, sorted. */
static json_t *node_ingress(struct slb *s)
{
    _sk_json_ json_t *nodes = sk_informer_list(s->nodes, NULL, NULL);
    size_t n = json_array_size(nodes), k = 0, i;
    json_t **v = sk_calloc(n ? n : 1, sizeof *v);
    json_t *node;
    json_array_foreach(nodes, i, node) {
        const char *ip = internal_ip(node);
        if (!ip || !node_ready(node) || json_object_get(sk_json_path(node, "metadata.labels"), EXCLUDE_LABEL))
            continue;
        v[k++] = json_pack("{s:s,s:s}", "ip", ip, "ipMode", "VIP");
    }
    qsort(v, k, sizeof *v, ip_cmp);
    json_t *out = json_array();
    for (i = 0; i < k; i++) json_array_append_new(out, v[i]);
    free(v);
    return out;
}

/* Older first: creationTimestamp, then namespace/name. */
static bool older(const json_t *a, const json_t *b)
{
    int64_t ta = sk_time_parse(sk_json_path_str(a, "metadata.creationTimestamp"));
    int64_t tb = sk_time_parse(sk_json_path_str(b, "metadata.creationTimestamp"));
    if (ta != tb) return ta < tb;
    _sk_free_ char *ka = sk_object_key(a);
    _sk_free_ char *kb = sk_object_key(b);
    return ka && kb && strcmp(ka, kb) < 0;
}

static bool ports_overlap(const json_t *a, const json_t *b)
{
    json_t *pa, *pb;
    size_t i, j;
    json_array_foreach(sk_json_path(a, "spec.ports"), i, pa) {
        const char *pra = sk_json_str(pa, "protocol");
        json_array_foreach(sk_json_path(b, "spec.ports"), j, pb) {
            const char *prb = sk_json_str(pb, "protocol");
            if (json_equal(json_object_get(pa, "port"), json_object_get(pb, "port")) &&
                streq(pra ? pra : "TCP", prb ? prb : "TCP"))
                return true;
        }
    }
    return false;
}

/* The older LoadBalancer service holding one of svc's ports, or NULL. */
static char *port_holder(struct slb *s, const json_t *svc)
{
    _sk_json_ json_t *all = sk_informer_list(s->svcs, NULL, NULL);
    _sk_free_ char *me = sk_object_key(svc);
    size_t i;
    json_t *o;
    json_array_foreach(all, i, o) {
        if (!is_lb(o) || !older(o, svc) || !ports_overlap(o, svc)) continue;
        char *k = sk_object_key(o);
        if (k && me && strcmp(k, me)) return k;
        free(k);
    }
    return NULL;
}

/* ---- reconcile ------------------------------------------------------------------------------ */

static int set_ingress(struct slb *s, const json_t *svc, json_t *ingress)
{
    const char *ns = sk_json_path_str(svc, "metadata.namespace");
    const char *name = sk_json_path_str(svc, "metadata.name");
    _sk_json_ json_t *patch = json_pack("{s:{s:{s:O}}}", "status", "loadBalancer", "ingress",
                                        json_array_size(ingress) ? ingress : json_null());
    sk_err err = SK_ERR_INIT;
    _sk_json_ json_t *r = sk_client_patch(s->c, s->r_svc, ns, name, "application/merge-patch+json", patch,
                                          "status", &err);
    if (!r && err.code != SK_ENOTFOUND) {
        sk_log(SK_WARN, TAG, "%s/%s: status: %s", ns, name, err.msg);
        sk_err_clear(&err);
        return -1;
    }
    sk_err_clear(&err);
    return 0;
}

static int sync_service(void *ud, const char *key)
{
    struct slb *s = ud;
    char ns[256], name[256];
    sk_key_split(key, ns, sizeof ns, name, sizeof name);
    _sk_json_ json_t *svc = sk_informer_get(s->svcs, ns, name);
    if (!svc) return 0;
    json_t *have = sk_json_path(svc, "status.loadBalancer.ingress");
    size_t nhave = json_array_size(have);
    if (!is_lb(svc)) {
        /* another implementation's (a class of its own), or no longer a
         * LoadBalancer: then the addresses this controller wrote go */
        json_t *cls = sk_json_path(svc, "spec.loadBalancerClass");
        if (!nhave || (cls && !json_is_null(cls))) return 0;
        return set_ingress(s, svc, NULL);
    }
    _sk_free_ char *holder = port_holder(s, svc);
    _sk_json_ json_t *want = holder ? json_array() : node_ingress(s);
    if ((nhave == 0 && json_array_size(want) == 0) || (have && json_equal(have, want))) return 0;
    if (set_ingress(s, svc, want) < 0) return -1;
    if (holder)
        sk_event(s->rec, svc, "Warning", "SyncLoadBalancerFailed",
                 "port already in use by LoadBalancer service %s; pending until it is free", holder);
    else if (json_array_size(want))
        sk_event(s->rec, svc, "Normal", "EnsuredLoadBalancer", "Ensured load balancer on %zu node(s)",
                 json_array_size(want));
    return 0;
}

/* ---- ops ---------------------------------------------------------------------------------------- */

static void *slb_new(struct sk_ctrl_ctx *ctx, sk_err *err)
{
    struct slb *s = sk_calloc(1, sizeof *s);
    s->c = sk_ctx_client(ctx);
    s->r_svc = sk_ctx_res("", "services");
    s->svcs = sk_ctx_informer(ctx, "", "services");
    s->nodes = sk_ctx_informer(ctx, "", "nodes");
    if (!s->r_svc || !s->svcs || !s->nodes) {
        free(s);
        sk_err_set(err, SK_EINTERNAL, "servicelb controller: resources not registered");
        return NULL;
    }
    s->rec = sk_ctx_recorder(ctx, "service-controller");
    s->nworkers = sk_ctx_config(ctx)->workers > 2 ? 2 : sk_ctx_config(ctx)->workers;
    s->q = sk_workqueue_new();
    sk_informer_add_handlers(s->svcs, &(struct sk_informer_handlers){svc_add, svc_update, svc_delete, s});
    sk_informer_add_handlers(s->nodes, &(struct sk_informer_handlers){node_add, node_update, node_delete, s});
    return s;
}

static int slb_start(void *c, sk_err *err)
{
    struct slb *s = c;
    s->w = sk_workers_start(s->q, s->nworkers, sync_service, s);
    return 0;
}

static void slb_stop(void *c)
{
    struct slb *s = c;
    sk_workqueue_shutdown(s->q);
    sk_workers_join(s->w);
    s->w = NULL;
}

static void slb_free(void *c)
{
    struct slb *s = c;
    if (!s) return;
    sk_workqueue_free(s->q);
    free(s);
}

const struct sk_controller_ops sk_ctrl_servicelb = {
    .name = "servicelb",
    .new = slb_new,
    .start = slb_start,
    .stop = slb_stop,
    .free = slb_free,
};
