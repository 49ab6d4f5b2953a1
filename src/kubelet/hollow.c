/* Hollow nodes: Node registration with fixed capacity and a kubelet-like
 * status, Lease renewal in kube-node-lease, periodic Ready heartbeats, and
 * the lifecycle of the pod worker (hollow_pods.c). One heartbeat thread
 * serves all nodes of the process; stopping the process stops the
 * heartbeats, which is how node failure is simulated. */
#include "kubelet/hollow_int.h"
#include "kubelet/lease_int.h"

#include <string.h>
#include <sys/utsname.h>

#define LEASE_NS "kube-node-lease"
#define LEASE_SECONDS 40

static const struct {
    const char *type, *status, *reason, *message;
} node_conds[] = {
    {"MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"},
    {"DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"},
    {"PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"},
    {"Ready", "True", "KubeletReady", "kubelet is posting ready status"},
};

int sk_hollow_node_index(struct sk_hollow *h, const char *name)
{
    json_t *v = name ? json_object_get(h->by_name, name) : NULL;
    return v ? (int)json_integer_value(v) : -1;
}

/* ---- node objects ---------------------------------------------------------------- */

static json_t *resources(void)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "cpu", "4", "memory", "16Gi", "pods", "110",
                     "ephemeral-storage", "100Gi", "hugepages-1Gi", "0", "hugepages-2Mi", "0");
}

/* Conditions as the kubelet posts them; transition times kept from cur
 * (the node as last seen) unless the status changes. */
static json_t *conditions(const json_t *cur, const char *now, bool heartbeat_only)
{
    json_t *out = json_array();
    for (size_t i = 0; i < SK_ARRAY_LEN(node_conds); i++) {
        const char *since = NULL;
        bool same = false;
        json_t *c;
        size_t j;
        json_array_foreach(sk_json_path(cur, "status.conditions"), j, c) {
            const char *t = sk_json_str(c, "type"), *s = sk_json_str(c, "status");
            if (!t || strcmp(t, node_conds[i].type)) continue;
            same = s && !strcmp(s, node_conds[i].status);
            since = same ? sk_json_str(c, "lastTransitionTime") : NULL;
        }
        json_t *nc = json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", node_conds[i].type, "status",
                               node_conds[i].status, "lastHeartbeatTime", now, "reason",
                               node_conds[i].reason, "message", node_conds[i].message);
        if (!heartbeat_only || !same) json_object_set_new(nc, "lastTransitionTime", json_string(since ? since : now));
        json_array_append_new(out, nc);
    }
    return out;
}

static json_t *node_status(struct sk_hollow *h, int i, const json_t *cur, const char *now)
{
    struct sk_hnode *n = &h->nodes[i];
    char machine[37], boot[37], sysuuid[37];
    sk_uuid4(machine);
    sk_uuid4(boot);
    sk_uuid4(sysuuid);
    /* machine-id is 32 hex digits without dashes */
    char mid[33];
    size_t k = 0;
    for (const char *p = machine; *p && k < 32; p++)
        if (*p != '-') mid[k++] = *p;
    mid[k] = 0;
    return json_pack(
        "{s:o,s:o,s:o,s:[{s:s,s:s},{s:s,s:s}],s:{s:{s:i}},s:{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}}",
        "capacity", resources(), "allocatable", resources(), "conditions",
        conditions(cur, now, false), "addresses", "type", "InternalIP", "address", n->ip, "type",
        "Hostname", "address", n->name, "daemonEndpoints", "kubeletEndpoint", "Port", 10250,
        "nodeInfo", "machineID", mid, "systemUUID", sysuuid, "bootID", boot, "kernelVersion",
        h->kernel, "osImage", "skiff hollow node", "containerRuntimeVersion", "hollow://1.0",
        "kubeletVersion", "v1.32.0", "operatingSystem", "linux", "architecture", "amd64");
}

static json_t *node_object(struct sk_hnode *n)
{
    return json_pack("{s:s,s:s,s:{s:s,s:{s:s,s:s,s:s,s:s,s:s},s:{s:s,s:s}},s:{}}", "apiVersion",
                     "v1", "kind", "Node", "metadata", "name", n->name, "labels",
                     "beta.kubernetes.io/arch", "amd64", "beta.kubernetes.io/os", "linux",
                     "kubernetes.io/arch", "amd64", "kubernetes.io/hostname", n->name,
                     "kubernetes.io/os", "linux", "annotations", "node.alpha.kubernetes.io/ttl",
                     "0", "volumes.kubernetes.io/controller-managed-attach-detach", "true", "spec");
}

static void note_cidr(struct sk_hollow *h, const json_t *node)
{
    int i = sk_hollow_node_index(h, sk_json_path_str(node, "metadata.name"));
    const char *cidr = sk_json_path_str(node, "spec.podCIDR");
    unsigned a, b, c, d, p;
    if (i < 0 || !cidr || sscanf(cidr, "%u.%u.%u.%u/%u", &a, &b, &c, &d, &p) != 5 || a > 255 ||
        b > 255 || c > 255 || p != 24)
        return;
    pthread_mutex_lock(&h->mu);
    h->nodes[i].cidr_base = (a << 24) | (b << 16) | (c << 8);
    pthread_mutex_unlock(&h->mu);
}

/* Creates the Node (or adopts an existing one) and posts its status. */
static int register_node(struct sk_hollow *h, int i, sk_err *err)
{
    struct sk_hnode *n = &h->nodes[i];
    _sk_json_ json_t *body = node_object(n);
    json_t *cur = sk_client_create(h->client, h->nodes_res, NULL, body, err);
    if (!cur && err->code == SK_EEXIST) {
        sk_err_clear(err);
        _sk_json_ json_t *patch = json_pack("{s:O}", "metadata", json_object_get(body, "metadata"));
        cur = sk_client_patch(h->client, h->nodes_res, NULL, n->name, "application/merge-patch+json",
                              patch, NULL, err);
    }
    for (int attempt = 0; cur && attempt < 5; attempt++) {
        char now[40];
        sk_time_format(sk_wall_ms() / 1000, now, sizeof now);
        snprintf(n->uid, sizeof n->uid, "%s", sk_json_path_str(cur, "metadata.uid") ?: "");
        note_cidr(h, cur);
        json_object_set_new(cur, "status", node_status(h, i, cur, now));
        json_t *res = sk_client_update(h->client, h->nodes_res, NULL, cur, "status", err);
        json_decref(cur);
        if (res) {
            json_decref(res);
            return 0;
        }
        if (err->code != SK_ECONFLICT) break;
        sk_err_clear(err);
        cur = sk_client_get(h->client, h->nodes_res, NULL, n->name, err);
    }
    json_decref(cur);
    return sk_err_wrap(err, "register node %s", n->name);
}

static void node_events(struct sk_hollow *h, int i)
{
    static const char *const st[] = {"NodeHasSufficientMemory", "NodeHasNoDiskPressure",
                                     "NodeHasSufficientPID", "NodeReady"};
    struct sk_hnode *n = &h->nodes[i];
    _sk_json_ json_t *ref = json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", "v1", "kind", "Node",
                                      "metadata", "name", n->name, "uid", n->name);
    sk_event(h->rec, ref, "Normal", "Starting", "Starting kubelet.");
    for (size_t k = 0; k < SK_ARRAY_LEN(st); k++)
        sk_event(h->rec, ref, "Normal", st[k], "Node %s status is now: %s", n->name, st[k]);
}

/* ---- leases and heartbeats ------------------------------------------------------------- */

static int renew_lease(struct sk_hollow *h, int i, sk_err *err)
{
    struct sk_hnode *n = &h->nodes[i];
    return sk_kl_lease_renew(h->client, h->leases_res, n->name, n->uid, LEASE_SECONDS, &n->lease, err);
}

static void post_heartbeat(struct sk_hollow *h, int i)
{
    struct sk_hnode *n = &h->nodes[i];
    char now[40];
    sk_time_format(sk_wall_ms() / 1000, now, sizeof now);
    _sk_json_ json_t *cur = sk_informer_get(h->nodes_inf, NULL, n->name);
    _sk_json_ json_t *patch = json_pack("{s:{s:o}}", "status", "conditions", conditions(cur, now, true));
    sk_err err = SK_ERR_INIT;
    json_t *res = sk_client_patch(h->client, h->nodes_res, NULL, n->name,
                                  "application/strategic-merge-patch+json", patch, "status", &err);
    if (!res && err.code == SK_ENOTFOUND) {
        /* Deleted behind our back: register again, as the kubelet does. */
        sk_err_clear(&err);
        if (register_node(h, i, &err) == 0) node_events(h, i);
    }
    if (err.code) sk_log(SK_WARN, "hollow", "node %s: status: %s", n->name, err.msg);
    json_decref(res);
    sk_err_clear(&err);
}

static bool wait_until(struct sk_hollow *h, int64_t at)
{
    int64_t d = at - sk_now_ms();
    pthread_mutex_lock(&h->mu);
    if (d > 0 && !h->stop) sk_cond_wait_ms(&h->cond, &h->mu, CLOCK_MONOTONIC, d);
    bool stop = h->stop;
    pthread_mutex_unlock(&h->mu);
    return !stop;
}

static void *heartbeat_main(void *arg)
{
    struct sk_hollow *h = arg;
    int64_t *next_status = sk_calloc((size_t)h->n, sizeof *next_status);
    int64_t now = sk_now_ms(), next_lease = now + h->lease_renew_ms;
    for (int i = 0; i < h->n; i++) next_status[i] = now + h->status_ms * (i + 1) / h->n; /* staggered */
    int64_t due = next_lease;
    while (wait_until(h, due)) {
        now = sk_now_ms();
        if (now >= next_lease) {
            for (int i = 0; i < h->n; i++) {
                sk_err err = SK_ERR_INIT;
                if (renew_lease(h, i, &err) < 0)
                    sk_log(SK_WARN, "hollow", "node %s: lease: %s", h->nodes[i].name, err.msg);
                sk_err_clear(&err);
            }
            next_lease = now + h->lease_renew_ms;
        }
        due = next_lease;
        for (int i = 0; i < h->n; i++) {
            if (now >= next_status[i]) {
                post_heartbeat(h, i);
                next_status[i] = now + h->status_ms;
            }
            if (next_status[i] < due) due = next_status[i];
        }
    }
    free(next_status);
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static void on_node(void *ud, const json_t *obj) { note_cidr(ud, obj); }
static void on_node_update(void *ud, const json_t *old, const json_t *cur) { note_cidr(ud, cur); }

/* InternalIP 10.0.<x>.<y>: hollow-N gets 10.0.0.(N+10); other name
 * prefixes a third octet from their hash, so separate agents rarely
 * collide. Addresses are metadata only. */
static void assign_ip(struct sk_hnode *n, int i, const char *prefix)
{
    uint32_t base = 0;
    if (prefix && strcmp(prefix, "hollow")) {
        uint32_t hash = 2166136261u;
        for (const char *p = prefix; *p; p++) hash = (hash ^ (unsigned char)*p) * 16777619u;
        base = hash % 200 + 10;
    }
    uint32_t v = base * 256 + (uint32_t)i + 10;
    snprintf(n->ip, sizeof n->ip, "10.0.%u.%u", (v >> 8) & 255, v & 255);
}

/* Hollow nodes keep only what they act on. */
static json_t *trim_pod_cb(void *ud, const json_t *pod) { return sk_hollow_trim_pod(pod); }

sk_hollow *sk_hollow_new(const struct sk_hollow_config *cfg, sk_err *err)
{
    int n = 0;
    if (cfg->names)
        while (cfg->names[n]) n++;
    else n = cfg->count;
    if (!cfg->client || n <= 0 || n > 10000) {
        sk_err_set(err, SK_EINVALID, "hollow nodes: need a client and 1..10000 nodes");
        return NULL;
    }
    struct sk_hollow *h = sk_calloc(1, sizeof *h);
    h->client = cfg->client;
    h->n = n;
    h->nodes = sk_calloc((size_t)n, sizeof *h->nodes);
    h->by_name = json_object();
    h->pods = json_object();
    pthread_mutex_init(&h->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cond, &ca);
    pthread_condattr_destroy(&ca);
    const char *prefix = cfg->names ? cfg->names[0] : cfg->name_prefix ? cfg->name_prefix : "hollow";
    for (int i = 0; i < n; i++) {
        h->nodes[i].name = cfg->names ? sk_strdup(cfg->names[i]) : sk_printf("%s-%d", prefix, i);
        h->nodes[i].next_ip = 2;
        assign_ip(&h->nodes[i], i, prefix);
        const char *bad = sk_check_dns1123_subdomain(h->nodes[i].name);
        if (bad || json_object_get(h->by_name, h->nodes[i].name)) {
            sk_err_set(err, SK_EINVALID, "node name \"%s\": %s", h->nodes[i].name,
                       bad ? bad : "given twice");
            h->n = i + 1;
            sk_hollow_free(h);
            return NULL;
        }
        json_object_set_new(h->by_name, h->nodes[i].name, json_integer(i));
    }
    h->pod_delay_ms = cfg->pod_delay_ms > 0 ? cfg->pod_delay_ms : 0;
    h->lease_renew_ms = cfg->lease_renew_ms > 0 ? cfg->lease_renew_ms : 10000;
    h->status_ms = 5 * h->lease_renew_ms;
    struct utsname u;
    snprintf(h->kernel, sizeof h->kernel, "%s", uname(&u) == 0 ? u.release : "unknown");
    h->nodes_res = sk_resource_find("", "v1", "nodes");
    h->pods_res = sk_resource_find("", "v1", "pods");
    h->leases_res = sk_resource_find("coordination.k8s.io", "v1", "leases");
    h->rec = sk_recorder_new(h->client, "kubelet", n == 1 ? h->nodes[0].name : NULL);
    h->q = sk_workqueue_new();
    /* One informer for all nodes of the process: a field selector cannot
     * name a set, so several nodes watch all bound pods and filter here. */
    _sk_free_ char *pod_fs = n == 1 ? sk_printf("spec.nodeName=%s", h->nodes[0].name)
                                    : sk_strdup("spec.nodeName!=");
    _sk_free_ char *node_fs = n == 1 ? sk_printf("metadata.name=%s", h->nodes[0].name) : NULL;
    h->pods_inf = sk_informer_new(h->client, h->pods_res, NULL, NULL, pod_fs, 0);
    sk_informer_set_transform(h->pods_inf, trim_pod_cb, NULL);
    h->nodes_inf = sk_informer_new(h->client, h->nodes_res, NULL, NULL, node_fs, 0);
    sk_informer_add_handlers(h->nodes_inf, &(struct sk_informer_handlers){on_node, on_node_update, NULL, h});
    sk_hollow_pods_watch(h);
    return h;
}

int sk_hollow_start(sk_hollow *h, sk_err *err)
{
    for (int i = 0; i < h->n; i++) {
        if (register_node(h, i, err) < 0) return -1;
        if (renew_lease(h, i, err) < 0) return sk_err_wrap(err, "node %s: lease", h->nodes[i].name);
        node_events(h, i);
    }
    if (sk_informer_start(h->nodes_inf, err) < 0 || sk_informer_start(h->pods_inf, err) < 0)
        return sk_err_wrap(err, "hollow nodes");
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 256 * 1024);
    for (; h->nworkers < SK_HOLLOW_WORKERS; h->nworkers++)
        if (pthread_create(&h->workers[h->nworkers], &a, sk_hollow_pod_worker, h) != 0) break;
    pthread_attr_destroy(&a);
    if (h->nworkers < SK_HOLLOW_WORKERS) return sk_err_sys(err, "hollow nodes: worker thread");
    if (pthread_create(&h->hb, NULL, heartbeat_main, h) != 0)
        return sk_err_sys(err, "hollow nodes: heartbeat thread");
    h->hb_started = true;
    sk_log(SK_INFO, "hollow", "%d hollow node%s registered (%s%s)", h->n, h->n == 1 ? "" : "s",
           h->nodes[0].name, h->n > 1 ? ", ..." : "");
    return 0;
}

void sk_hollow_free(sk_hollow *h)
{
    if (!h) return;
    pthread_mutex_lock(&h->mu);
    h->stop = true;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->mu);
    if (h->hb_started) pthread_join(h->hb, NULL);
    if (h->q) sk_workqueue_shutdown(h->q);
    for (int i = 0; i < h->nworkers; i++) pthread_join(h->workers[i], NULL);
    sk_informer_free(h->pods_inf);
    sk_informer_free(h->nodes_inf);
    if (h->q) sk_workqueue_free(h->q);
    sk_recorder_free(h->rec);
    for (int i = 0; i < h->n; i++) {
        free(h->nodes[i].name);
        json_decref(h->nodes[i].lease);
    }
    free(h->nodes);
    json_decref(h->by_name);
    json_decref(h->pods);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cond);
    free(h);
}
