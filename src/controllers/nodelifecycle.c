/* Node lifecycle controller (upstream v1.32 pkg/controller/nodelifecycle,
 * nodeipam's range allocator and the NoExecute taint eviction controller),
 * as one controller:
 *
 *  - health: a node whose Lease in kube-node-lease (or Ready heartbeat)
 *    has not changed for node_monitor_grace_ms, as observed on this
 *    controller's monotonic clock (clock skew does not matter), gets its
 *    Ready/MemoryPressure/DiskPressure/PIDPressure conditions set Unknown
 *    (NodeStatusUnknown, "Kubelet stopped posting node status."); a
 *    True -> not True transition records NodeNotReady and marks the node's
 *    pods not Ready;
 *  - taints from conditions: not-ready / unreachable (NoSchedule and
 *    NoExecute), memory/disk/pid-pressure and unschedulable (NoSchedule);
 *    removed again when healthy. As upstream, NoExecute taints are not
 *    applied while every node is not Ready (full disruption: likely the
 *    control plane's own network, so nothing is evicted);
 *  - taint manager: pods on a node with NoExecute taints they do not
 *    tolerate are deleted at once; tolerated with tolerationSeconds, after
 *    the smallest of those (TaintManagerEviction events);
 *  - podCIDR: one /24 per node from cluster_cidr (spec.podCIDR/podCIDRs),
 *    the allocated set rebuilt from the nodes at start.
 *
 * Partial: IPv4 single-stack CIDRs only; no per-zone eviction rate
 * limiting (NoExecute taints are applied as soon as a node is unhealthy). */
#include "controllers/controllers_int.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define TAG "node-lifecycle-controller"
#define LEASE_NS "kube-node-lease"
#define T_NOT_READY "node.kubernetes.io/not-ready"
#define T_UNREACHABLE "node.kubernetes.io/unreachable"

struct health {
    char *name;
    char *lease_renew; /* last renewTime seen */
    char *heartbeat;   /* last Ready lastHeartbeatTime seen */
    int64_t probe_ms;  /* monotonic time of the last change seen */
    char ready[16];    /* last Ready status this controller acted on */
};

struct nlc {
    sk_client *client;
    sk_recorder *rec;
    sk_informer *nodes, *leases, *pods;
    const struct sk_resource *nodes_res, *pods_res;
    sk_workqueue *nq, *pq;
    sk_workers *nw, *pw;
    int workers;
    int64_t grace_ms;

    pthread_mutex_t mu; /* everything below */
    pthread_cond_t cond;
    bool stop, monitor_started, full_disruption;
    pthread_t monitor;
    struct health *h;
    size_t nh;
    uint32_t cidr_base;   /* cluster CIDR network, host order */
    uint32_t nsub;        /* number of /24 subnets */
    uint8_t *used;        /* nsub entries */
    uint32_t next;        /* round-robin start */
    json_t *assigned;     /* node name -> subnet index, allocated but maybe not observed */
    json_t *evict_since;  /* pod uid -> monotonic ms the eviction clock started */
};

/* ---- small helpers ----------------------------------------------------------------- */

static void now_rfc3339(char *out, size_t n) { sk_time_format(sk_wall_ms() / 1000, out, n); }

static const json_t *condition(const json_t *node, const char *type)
{
    json_t *c;
    size_t i;
    json_array_foreach(sk_json_path(node, "status.conditions"), i, c) {
        const char *t = sk_json_str(c, "type");
        if (t && !strcmp(t, type)) return c;
    }
    return NULL;
}

static const char *cond_status(const json_t *node, const char *type)
{
    return sk_json_str(condition(node, type), "status");
}

static bool streq(const char *a, const char *b) { return a && b && !strcmp(a, b); }

static struct health *health_get(struct nlc *c, const char *name, bool create)
{
    for (size_t i = 0; i < c->nh; i++)
        if (!strcmp(c->h[i].name, name)) return &c->h[i];
    if (!create) return NULL;
    c->h = sk_realloc(c->h, (c->nh + 1) * sizeof *c->h);
    struct health *h = &c->h[c->nh++];
    memset(h, 0, sizeof *h);
    h->name = sk_strdup(name);
    h->probe_ms = sk_now_ms(); /* grace counts from when we first saw it */
    return h;
}

static void health_del(struct nlc *c, const char *name)
{
    struct health *h = health_get(c, name, false);
    if (!h) return;
    free(h->name);
    free(h->lease_renew);
    free(h->heartbeat);
    *h = c->h[--c->nh];
}

/* Records a new observation; any change restarts the grace period. */
static void observe(char **slot, const char *v, int64_t *probe)
{
    if (!v || streq(*slot, v)) return;
    free(*slot);
    *slot = sk_strdup(v);
    *probe = sk_now_ms();
}

/* ---- podCIDR allocation ---------------------------------------------------------------- */

static int cidr_parse(struct nlc *c, const char *cidr, sk_err *err)
{
    char ip[64];
    unsigned prefix;
    struct in_addr a;
    if (!cidr || sscanf(cidr, "%63[0-9.]/%u", ip, &prefix) != 2 || inet_pton(AF_INET, ip, &a) != 1 ||
        prefix > 24 || prefix < 8)
        return sk_err_set(err, SK_EINVALID, "cluster CIDR \"%s\": want an IPv4 CIDR between /8 and /24",
                          cidr ? cidr : "");
    uint32_t mask = prefix ? ~0u << (32 - prefix) : 0;
    c->cidr_base = ntohl(a.s_addr) & mask;
    c->nsub = 1u << (24 - prefix);
    c->used = sk_calloc(c->nsub, 1);
    return 0;
}

static void subnet_string(struct nlc *c, uint32_t idx, char *out, size_t n)
{
    uint32_t net = c->cidr_base + (idx << 8);
    snprintf(out, n, "%u.%u.%u.%u/24", net >> 24, (net >> 16) & 255, (net >> 8) & 255, net & 255);
}

/* Index of a /24 inside the cluster CIDR, or -1. */
static int64_t subnet_index(struct nlc *c, const char *cidr)
{
    char ip[64];
    unsigned prefix;
    struct in_addr a;
    if (!cidr || sscanf(cidr, "%63[0-9.]/%u", ip, &prefix) != 2 || prefix != 24 ||
        inet_pton(AF_INET, ip, &a) != 1)
        return -1;
    uint32_t v = ntohl(a.s_addr);
    if (v < c->cidr_base || ((v - c->cidr_base) >> 8) >= c->nsub) return -1;
    return (v - c->cidr_base) >> 8;
}

static void cidr_mark(struct nlc *c, const json_t *node, int used)
{
    int64_t idx = subnet_index(c, sk_json_path_str(node, "spec.podCIDR"));
    if (idx >= 0) c->used[idx] = (uint8_t)used;
}

/* Picks (or recalls) the subnet for a node without spec.podCIDR; -1 when full. */
static int64_t cidr_allocate(struct nlc *c, const char *name)
{
    json_t *have = json_object_get(c->assigned, name);
    if (have) return json_integer_value(have);
    for (uint32_t k = 0; k < c->nsub; k++) {
        uint32_t idx = (c->next + k) % c->nsub;
        if (c->used[idx]) continue;
        c->used[idx] = 1;
        c->next = idx + 1;
        json_object_set_new(c->assigned, name, json_integer(idx));
        return idx;
    }
    return -1;
}

static int sync_cidr(struct nlc *c, const json_t *node, const char *name)
{
    const char *have = sk_json_path_str(node, "spec.podCIDR");
    pthread_mutex_lock(&c->mu);
    if (have && *have) {
        cidr_mark(c, node, 1);
        json_object_del(c->assigned, name);
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    int64_t idx = cidr_allocate(c, name);
    pthread_mutex_unlock(&c->mu);
    if (idx < 0) {
        sk_event(c->rec, node, "Normal", "CIDRNotAvailable", "Node %s status is now: CIDRNotAvailable", name);
        return 0;
    }
    char cidr[32];
    subnet_string(c, (uint32_t)idx, cidr, sizeof cidr);
    _sk_json_ json_t *patch = json_pack("{s:{s:s,s:[s]}}", "spec", "podCIDR", cidr, "podCIDRs", cidr);
    sk_err err = SK_ERR_INIT;
    json_t *res = sk_client_patch(c->client, c->nodes_res, NULL, name, "application/merge-patch+json",
                                  patch, NULL, &err);
    json_decref(res);
    if (!res) {
        sk_log(err.code == SK_ECONFLICT ? SK_DEBUG : SK_WARN, TAG, "node %s: assigning podCIDR %s: %s",
               name, cidr, err.msg);
        int rc = err.code == SK_ENOTFOUND ? 0 : -1;
        sk_err_clear(&err);
        return rc;
    }
    sk_log(SK_DEBUG, TAG, "node %s: podCIDR %s", name, cidr);
    return 0;
}

/* ---- health ---------------------------------------------------------------------------- */

static void set_unknown(json_t *conds, const json_t *node, const char *type, const char *now)
{
    json_t *c;
    size_t i;
    json_array_foreach(conds, i, c) {
        if (!streq(sk_json_str(c, "type"), type)) continue;
        if (streq(sk_json_str(c, "status"), "Unknown")) return;
        json_object_set_new(c, "status", json_string("Unknown"));
        json_object_set_new(c, "reason", json_string("NodeStatusUnknown"));
        json_object_set_new(c, "message", json_string("Kubelet stopped posting node status."));
        json_object_set_new(c, "lastTransitionTime", json_string(now));
        return;
    }
    const char *created = sk_json_path_str(node, "metadata.creationTimestamp");
    json_array_append_new(conds, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", type, "status",
                                           "Unknown", "reason", "NodeStatusNeverUpdated", "message",
                                           "Kubelet never posted node status.", "lastHeartbeatTime",
                                           created ? created : now, "lastTransitionTime", now));
}

static int mark_unknown(struct nlc *c, const json_t *node, const char *name)
{
    static const char *const types[] = {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"};
    char now[40];
    now_rfc3339(now, sizeof now);
    _sk_json_ json_t *copy = json_deep_copy(node);
    json_t *status = sk_json_obj(copy, "status");
    json_t *conds = json_object_get(status, "conditions");
    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(status, "conditions", conds);
    }
    for (size_t i = 0; i < SK_ARRAY_LEN(types); i++) set_unknown(conds, node, types[i], now);
    sk_err err = SK_ERR_INIT;
    json_t *res = sk_client_update(c->client, c->nodes_res, NULL, copy, "status", &err);
    json_decref(res);
    if (!res) {
        sk_log(SK_DEBUG, TAG, "node %s: status Unknown: %s", name, err.msg);
        int rc = err.code == SK_ENOTFOUND ? 0 : -1;
        sk_err_clear(&err);
        return rc;
    }
    sk_log(SK_INFO, TAG, "node %s: kubelet stopped posting node status", name);
    return 0;
}

/* MarkPodsNotReady: the node cannot report on its pods any more. */
static void mark_pods_not_ready(struct nlc *c, const char *node)
{
    _sk_json_ json_t *pods = sk_informer_list(c->pods, NULL, NULL);
    char now[40];
    now_rfc3339(now, sizeof now);
    json_t *p;
    size_t i;
    json_array_foreach(pods, i, p) {
        if (!streq(sk_json_path_str(p, "spec.nodeName"), node)) continue;
        if (!streq(cond_status(p, "Ready"), "True")) continue;
        _sk_json_ json_t *patch = json_pack("{s:{s:[{s:s,s:s,s:s}]}}", "status", "conditions", "type",
                                            "Ready", "status", "False", "lastTransitionTime", now);
        sk_err err = SK_ERR_INIT;
        json_t *res = sk_client_patch(c->client, c->pods_res, sk_json_path_str(p, "metadata.namespace"),
                                      sk_json_path_str(p, "metadata.name"),
                                      "application/strategic-merge-patch+json", patch, "status", &err);
        json_decref(res);
        sk_err_clear(&err);
    }
}

/* ---- taints ------------------------------------------------------------------------------ */

static bool managed_key(const char *k)
{
    static const char *const keys[] = {
        T_NOT_READY, T_UNREACHABLE, "node.kubernetes.io/memory-pressure",
        "node.kubernetes.io/disk-pressure", "node.kubernetes.io/pid-pressure",
        "node.kubernetes.io/network-unavailable", "node.kubernetes.io/unschedulable",
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(keys); i++)
        if (streq(k, keys[i])) return true;
    return false;
}

/* The taints this controller wants on node, as (key, effect) pairs. */
static int desired_taints(struct nlc *c, const json_t *node, const char *want[][2])
{
    static const struct { const char *cond, *key; } pressure[] = {
        {"MemoryPressure", "node.kubernetes.io/memory-pressure"},
        {"DiskPressure", "node.kubernetes.io/disk-pressure"},
        {"PIDPressure", "node.kubernetes.io/pid-pressure"},
        {"NetworkUnavailable", "node.kubernetes.io/network-unavailable"},
    };
    int n = 0;
    const char *ready = cond_status(node, "Ready");
    const char *key = streq(ready, "False") ? T_NOT_READY : streq(ready, "True") ? NULL : T_UNREACHABLE;
    if (!ready) key = NULL; /* a node that never reported has no verdict yet */
    if (key) {
        want[n][0] = key, want[n++][1] = "NoSchedule";
        pthread_mutex_lock(&c->mu);
        bool evict = !c->full_disruption;
        pthread_mutex_unlock(&c->mu);
        if (evict) want[n][0] = key, want[n++][1] = "NoExecute";
    }
    for (size_t i = 0; i < SK_ARRAY_LEN(pressure); i++)
        if (streq(cond_status(node, pressure[i].cond), "True"))
            want[n][0] = pressure[i].key, want[n++][1] = "NoSchedule";
    if (json_is_true(sk_json_path(node, "spec.unschedulable")))
        want[n][0] = "node.kubernetes.io/unschedulable", want[n++][1] = "NoSchedule";
    return n;
}

static int sync_taints(struct nlc *c, const json_t *node, const char *name)
{
    const char *want[8][2];
    int nwant = desired_taints(c, node, want);
    bool have[8] = {false}, changed = false;
    _sk_json_ json_t *out = json_array();
    json_t *t;
    size_t i;
    json_array_foreach(sk_json_path(node, "spec.taints"), i, t) {
        const char *k = sk_json_str(t, "key"), *e = sk_json_str(t, "effect");
        bool keep = !managed_key(k);
        for (int w = 0; w < nwant && !keep; w++)
            if (streq(k, want[w][0]) && streq(e, want[w][1]) && !have[w]) keep = have[w] = true;
        if (keep) json_array_append(out, t);
        else changed = true;
    }
    char now[40];
    now_rfc3339(now, sizeof now);
    for (int w = 0; w < nwant; w++) {
        if (have[w]) continue;
        json_t *nt = json_pack("{s:s,s:s}", "key", want[w][0], "effect", want[w][1]);
        if (!strcmp(want[w][1], "NoExecute")) json_object_set_new(nt, "timeAdded", json_string(now));
        json_array_append_new(out, nt);
        changed = true;
    }
    if (!changed) return 0;
    _sk_json_ json_t *copy = json_deep_copy(node);
    if (json_array_size(out)) json_object_set(sk_json_obj(copy, "spec"), "taints", out);
    else json_object_del(sk_json_obj(copy, "spec"), "taints");
    sk_err err = SK_ERR_INIT;
    json_t *res = sk_client_update(c->client, c->nodes_res, NULL, copy, NULL, &err);
    json_decref(res);
    if (!res) {
        sk_log(SK_DEBUG, TAG, "node %s: taints: %s", name, err.msg);
        int rc = err.code == SK_ENOTFOUND ? 0 : -1;
        sk_err_clear(&err);
        return rc;
    }
    return 0;
}

/* ---- node worker ------------------------------------------------------------------------------ */

static int sync_node(void *arg, const char *name)
{
    struct nlc *c = arg;
    _sk_json_ json_t *node = sk_informer_get(c->nodes, NULL, name);
    if (!node) return 0;
    if (sync_cidr(c, node, name) < 0) return -1;
    const char *ready = cond_status(node, "Ready");
    pthread_mutex_lock(&c->mu);
    struct health *h = health_get(c, name, true);
    observe(&h->heartbeat, sk_json_str(condition(node, "Ready"), "lastHeartbeatTime"), &h->probe_ms);
    bool stale = sk_now_ms() - h->probe_ms > c->grace_ms && !streq(ready, "Unknown");
    bool went_bad = streq(h->ready, "True") && !streq(ready, "True") && !stale;
    if (!stale) snprintf(h->ready, sizeof h->ready, "%s", ready ? ready : "");
    pthread_mutex_unlock(&c->mu);
    if (stale) return mark_unknown(c, node, name); /* the update brings us back here */
    if (went_bad) {
        sk_event(c->rec, node, "Normal", "NodeNotReady", "Node %s status is now: NodeNotReady", name);
        mark_pods_not_ready(c, name);
    }
    return sync_taints(c, node, name);
}

/* Every node is looked at periodically: staleness has no event of its own. */
static void *monitor_main(void *arg)
{
    struct nlc *c = arg;
    int64_t period = c->grace_ms / 10;
    if (period < 250) period = 250;
    if (period > 5000) period = 5000;
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        pthread_mutex_unlock(&c->mu);
        _sk_json_ json_t *nodes = sk_informer_list(c->nodes, NULL, NULL);
        size_t i, notready = 0;
        json_t *n;
        json_array_foreach(nodes, i, n) {
            if (!streq(cond_status(n, "Ready"), "True")) notready++;
            const char *name = sk_json_path_str(n, "metadata.name");
            if (name) sk_workqueue_add(c->nq, name);
        }
        pthread_mutex_lock(&c->mu);
        bool full = json_array_size(nodes) > 0 && notready == json_array_size(nodes);
        if (full != c->full_disruption)
            sk_log(SK_WARN, TAG, full ? "all nodes are not Ready: NoExecute evictions stop"
                                      : "some nodes are Ready again: NoExecute evictions resume");
        c->full_disruption = full;
        json_decref(nodes);
        nodes = NULL;
        if (!c->stop) sk_cond_wait_ms(&c->cond, &c->mu, CLOCK_MONOTONIC, period);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* ---- taint manager ------------------------------------------------------------------------------ */

/* -1: delete now; 0: tolerated forever; >0: tolerated for that many ms. */
static int64_t toleration_window(const json_t *pod, const json_t *node, bool *any)
{
    const json_t *tols = sk_json_path(pod, "spec.tolerations");
    int64_t min = 0;
    bool bounded = false;
    json_t *t;
    size_t i;
    *any = false;
    json_array_foreach(sk_json_path(node, "spec.taints"), i, t) {
        const char *k = sk_json_str(t, "key"), *e = sk_json_str(t, "effect");
        if (!k || !streq(e, "NoExecute")) continue;
        *any = true;
        const char *v = sk_json_str(t, "value");
        bool tolerated = false;
        json_t *tol;
        size_t j;
        json_array_foreach(tols, j, tol) {
            const char *tk = sk_json_str(tol, "key"), *op = sk_json_str(tol, "operator");
            const char *te = sk_json_str(tol, "effect"), *tv = sk_json_str(tol, "value");
            if (te && *te && strcmp(te, "NoExecute")) continue;
            bool exists = streq(op, "Exists");
            if ((!tk || !*tk) ? !exists : strcmp(tk, k)) continue;
            if (!exists && strcmp(tv ? tv : "", v ? v : "")) continue;
            tolerated = true;
            json_t *secs = json_object_get(tol, "tolerationSeconds");
            if (!json_is_integer(secs)) continue;
            int64_t ms = json_integer_value(secs) > 0 ? json_integer_value(secs) * 1000 : 0;
            if (!bounded || ms < min) min = ms;
            bounded = true;
        }
        if (!tolerated) return -1;
    }
    if (!bounded) return 0;
    return min > 0 ? min : -1;
}

static int evict(struct nlc *c, const json_t *pod, const char *key)
{
    const char *ns = sk_json_path_str(pod, "metadata.namespace");
    const char *name = sk_json_path_str(pod, "metadata.name");
    char now[40];
    now_rfc3339(now, sizeof now);
    sk_event(c->rec, pod, "Normal", "TaintManagerEviction", "Marking for deletion Pod %s", key);
    _sk_json_ json_t *patch = json_pack(
        "{s:{s:[{s:s,s:s,s:s,s:s,s:s}]}}", "status", "conditions", "type", "DisruptionTarget", "status",
        "True", "reason", "DeletionByTaintManager", "message",
        "Taint manager: deleting due to NoExecute taint", "lastTransitionTime", now);
    sk_err err = SK_ERR_INIT;
    json_decref(sk_client_patch(c->client, c->pods_res, ns, name,
                                "application/strategic-merge-patch+json", patch, "status", &err));
    sk_err_clear(&err);
    if (sk_client_delete(c->client, c->pods_res, ns, name, NULL, -1,
                         sk_json_path_str(pod, "metadata.uid"), &err) < 0 &&
        err.code != SK_ENOTFOUND && err.code != SK_ECONFLICT) {
        sk_log(SK_WARN, TAG, "evicting pod %s: %s", key, err.msg);
        sk_err_clear(&err);
        return -1;
    }
    sk_log(SK_INFO, TAG, "evicted pod %s from a NoExecute-tainted node", key);
    sk_err_clear(&err);
    return 0;
}

static int sync_pod(void *arg, const char *key)
{
    struct nlc *c = arg;
    char ns[256], name[256];
    sk_key_split(key, ns, sizeof ns, name, sizeof name);
    _sk_json_ json_t *pod = sk_informer_get(c->pods, ns, name);
    const char *node_name = sk_json_path_str(pod, "spec.nodeName");
    if (!pod || !node_name || !*node_name || sk_json_path(pod, "metadata.deletionTimestamp")) return 0;
    _sk_json_ json_t *node = sk_informer_get(c->nodes, NULL, node_name);
    const char *uid = sk_json_path_str(pod, "metadata.uid");
    bool any;
    int64_t window = node ? toleration_window(pod, node, &any) : 0;
    pthread_mutex_lock(&c->mu);
    json_t *since = json_object_get(c->evict_since, uid ? uid : "");
    int64_t start = since ? json_integer_value(since) : sk_now_ms();
    if (start < 0) { /* evicted already; the cache has not caught up */
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    if (window == 0 && since) json_object_del(c->evict_since, uid);
    else if (window > 0 && !since) json_object_set_new(c->evict_since, uid, json_integer(start));
    pthread_mutex_unlock(&c->mu);
    if (window == 0) {
        if (since) sk_event(c->rec, pod, "Normal", "TaintManagerEviction", "Cancelling deletion of Pod %s", key);
        return 0;
    }
    int64_t left = window < 0 ? 0 : start + window - sk_now_ms();
    if (left > 0) {
        sk_workqueue_add_after(c->pq, key, left);
        return 0;
    }
    if (evict(c, pod, key) < 0) return -1;
    pthread_mutex_lock(&c->mu);
    if (uid) json_object_set_new(c->evict_since, uid, json_integer(-1));
    pthread_mutex_unlock(&c->mu);
    return 0;
}

/* ---- handlers ------------------------------------------------------------------------------------ */

static void enqueue_pods_on(struct nlc *c, const char *node)
{
    _sk_json_ json_t *pods = sk_informer_list(c->pods, NULL, NULL);
    json_t *p;
    size_t i;
    json_array_foreach(pods, i, p) {
        if (!streq(sk_json_path_str(p, "spec.nodeName"), node)) continue;
        _sk_free_ char *key = sk_object_key(p);
        if (key) sk_workqueue_add(c->pq, key);
    }
}

static void node_changed(struct nlc *c, const json_t *old, const json_t *cur)
{
    const char *name = sk_json_path_str(cur, "metadata.name");
    if (!name) return;
    sk_workqueue_add(c->nq, name);
    const json_t *a = sk_json_path(old, "spec.taints"), *b = sk_json_path(cur, "spec.taints");
    if (!old || !((!a && !b) || (a && b && json_equal(a, b)))) enqueue_pods_on(c, name);
}

static void on_node_add(void *ud, const json_t *obj)
{
    struct nlc *c = ud;
    const char *name = sk_json_path_str(obj, "metadata.name");
    sk_event(c->rec, obj, "Normal", "RegisteredNode", "Node %s event: Registered Node %s in Controller",
             name ? name : "", name ? name : "");
    node_changed(ud, NULL, obj);
}

static void on_node_update(void *ud, const json_t *old, const json_t *cur) { node_changed(ud, old, cur); }

static void on_node_delete(void *ud, const json_t *obj)
{
    struct nlc *c = ud;
    const char *name = sk_json_path_str(obj, "metadata.name");
    if (!name) return;
    sk_event(c->rec, obj, "Normal", "RemovingNode", "Node %s event: Removing Node %s from Controller",
             name, name);
    pthread_mutex_lock(&c->mu);
    cidr_mark(c, obj, 0);
    json_t *a = json_object_get(c->assigned, name);
    if (a) {
        c->used[json_integer_value(a)] = 0;
        json_object_del(c->assigned, name);
    }
    health_del(c, name);
    pthread_mutex_unlock(&c->mu);
}

static void on_lease(void *ud, const json_t *obj)
{
    struct nlc *c = ud;
    const char *name = sk_json_path_str(obj, "metadata.name");
    if (!name || !streq(sk_json_path_str(obj, "metadata.namespace"), LEASE_NS)) return;
    pthread_mutex_lock(&c->mu);
    struct health *h = health_get(c, name, false);
    if (h) observe(&h->lease_renew, sk_json_path_str(obj, "spec.renewTime"), &h->probe_ms);
    pthread_mutex_unlock(&c->mu);
}

static void on_lease_update(void *ud, const json_t *old, const json_t *cur) { on_lease(ud, cur); }

/* Only pods on nodes with NoExecute taints, or already counting down, matter. */
static void on_pod(void *ud, const json_t *obj)
{
    struct nlc *c = ud;
    const char *node = sk_json_path_str(obj, "spec.nodeName");
    if (!node || !*node) return;
    _sk_json_ json_t *n = sk_informer_get(c->nodes, NULL, node);
    bool tainted = false;
    json_t *t;
    size_t i;
    json_array_foreach(sk_json_path(n, "spec.taints"), i, t) if (streq(sk_json_str(t, "effect"), "NoExecute")) tainted = true;
    if (!tainted) {
        pthread_mutex_lock(&c->mu);
        tainted = json_object_get(c->evict_since, sk_json_path_str(obj, "metadata.uid") ?: "") != NULL;
        pthread_mutex_unlock(&c->mu);
    }
    _sk_free_ char *key = tainted ? sk_object_key(obj) : NULL;
    if (key) sk_workqueue_add(c->pq, key);
}

static void on_pod_update(void *ud, const json_t *old, const json_t *cur) { on_pod(ud, cur); }

static void on_pod_delete(void *ud, const json_t *obj)
{
    struct nlc *c = ud;
    const char *uid = sk_json_path_str(obj, "metadata.uid");
    if (!uid) return;
    pthread_mutex_lock(&c->mu);
    json_object_del(c->evict_since, uid);
    pthread_mutex_unlock(&c->mu);
}

/* ---- lifecycle ------------------------------------------------------------------------------------- */

static void nlc_free(void *arg);

static void *nlc_new(struct sk_ctrl_ctx *ctx, sk_err *err)
{
    const struct sk_ctrlmgr_config *cfg = sk_ctx_config(ctx);
    struct nlc *c = sk_calloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    c->assigned = json_object();
    c->evict_since = json_object();
    if (cidr_parse(c, cfg->cluster_cidr ? cfg->cluster_cidr : "10.244.0.0/16", err) < 0) {
        nlc_free(c);
        return NULL;
    }
    c->client = sk_ctx_client(ctx);
    c->rec = sk_ctx_recorder(ctx, TAG);
    c->grace_ms = cfg->node_monitor_grace_ms > 0 ? cfg->node_monitor_grace_ms : 50000;
    c->workers = cfg->workers > 0 ? cfg->workers : 4;
    c->nodes_res = sk_ctx_res("", "nodes");
    c->pods_res = sk_ctx_res("", "pods");
    c->nodes = sk_ctx_informer(ctx, "", "nodes");
    c->leases = sk_ctx_informer(ctx, "coordination.k8s.io", "leases");
    c->pods = sk_ctx_informer(ctx, "", "pods");
    c->nq = sk_workqueue_new();
    c->pq = sk_workqueue_new();
    sk_informer_add_handlers(c->nodes, &(struct sk_informer_handlers){on_node_add, on_node_update,
                                                                      on_node_delete, c});
    sk_informer_add_handlers(c->leases, &(struct sk_informer_handlers){on_lease, on_lease_update, NULL, c});
    sk_informer_add_handlers(c->pods, &(struct sk_informer_handlers){on_pod, on_pod_update, on_pod_delete, c});
    return c;
}

static int nlc_start(void *arg, sk_err *err)
{
    struct nlc *c = arg;
    _sk_json_ json_t *nodes = sk_informer_list(c->nodes, NULL, NULL);
    json_t *n;
    size_t i;
    pthread_mutex_lock(&c->mu);
    json_array_foreach(nodes, i, n) cidr_mark(c, n, 1); /* allocations survive restarts */
    pthread_mutex_unlock(&c->mu);
    c->nw = sk_workers_start(c->nq, c->workers, sync_node, c);
    c->pw = sk_workers_start(c->pq, c->workers, sync_pod, c);
    if (pthread_create(&c->monitor, NULL, monitor_main, c) != 0)
        return sk_err_sys(err, "node lifecycle monitor");
    c->monitor_started = true;
    return 0;
}

static void nlc_stop(void *arg)
{
    struct nlc *c = arg;
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
    if (c->monitor_started) pthread_join(c->monitor, NULL);
    c->monitor_started = false;
    if (c->nq) sk_workqueue_shutdown(c->nq);
    if (c->pq) sk_workqueue_shutdown(c->pq);
    sk_workers_join(c->nw);
    sk_workers_join(c->pw);
    c->nw = c->pw = NULL;
}

static void nlc_free(void *arg)
{
    struct nlc *c = arg;
    if (!c) return;
    nlc_stop(c);
    if (c->nq) sk_workqueue_free(c->nq);
    if (c->pq) sk_workqueue_free(c->pq);
    while (c->nh) health_del(c, c->h[0].name);
    free(c->h);
    free(c->used);
    json_decref(c->assigned);
    json_decref(c->evict_since);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cond);
    free(c);
}

const struct sk_controller_ops sk_ctrl_nodelifecycle = {
    .name = "nodelifecycle",
    .new = nlc_new,
    .start = nlc_start,
    .stop = nlc_stop,
    .free = nlc_free,
};
