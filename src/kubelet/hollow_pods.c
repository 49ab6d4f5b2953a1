/* The hollow node's pod worker: a pod bound to one of our nodes becomes
 * Running and Ready after pod_delay_ms, with an IP from the node's podCIDR
 * (.2 to .254, allocated in turn, freed when the pod goes); a pod being
 * deleted is finalized at once (grace 0), since nothing runs. Status is
 * written with a strategic merge patch of /status, as the kubelet's status
 * manager does. Workers run in parallel; one pod key is never handled by
 * two workers at once (work queue semantics). */
#include "kubelet/hollow_int.h"

#include <string.h>

/* ---- the pod map: key -> {uid, node, ip, seen} (h->mu held) ------------------- */

static void release_entry(struct sk_hollow *h, const char *key)
{
    json_t *e = json_object_get(h->pods, key);
    if (!e) return;
    int node = (int)json_integer_value(json_object_get(e, "node"));
    int ip = (int)json_integer_value(json_object_get(e, "ip"));
    if (node >= 0 && node < h->n && ip > 0 && ip < 256) h->nodes[node].used[ip] = 0;
    json_object_del(h->pods, key);
}

/* The entry for this incarnation of the pod (a new uid starts afresh). */
static json_t *entry(struct sk_hollow *h, const char *key, const char *uid, int node)
{
    json_t *e = json_object_get(h->pods, key);
    const char *have = sk_json_str(e, "uid");
    if (e && have && uid && !strcmp(have, uid)) return e;
    release_entry(h, key);
    e = json_pack("{s:s,s:i,s:i,s:I}", "uid", uid ? uid : "", "node", node, "ip", 0, "seen",
                  (json_int_t)sk_now_ms());
    json_object_set_new(h->pods, key, e);
    return e;
}

/* Host part of ip if it lies in the node's /24, else 0. */
static int host_part(const struct sk_hnode *n, const char *ip)
{
    unsigned a, b, c, d;
    if (!n->cidr_base || !ip || sscanf(ip, "%u.%u.%u.%u", &a, &b, &c, &d) != 4) return 0;
    if (((a << 24) | (b << 16) | (c << 8)) != n->cidr_base || d == 0 || d > 254) return 0;
    return (int)d;
}

static int allocate_ip(struct sk_hnode *n)
{
    for (int k = 0; k < 253; k++) {
        int ip = 2 + (n->next_ip - 2 + k) % 253;
        if (n->used[ip]) continue;
        n->used[ip] = 1;
        n->next_ip = ip + 1 > 254 ? 2 : ip + 1;
        return ip;
    }
    return 0;
}

/* ---- informer handlers ------------------------------------------------------------ */

static bool needs_work(const json_t *pod)
{
    const char *phase = sk_json_path_str(pod, "status.phase");
    return sk_json_path(pod, "metadata.deletionTimestamp") || !phase || !strcmp(phase, "Pending");
}

static void on_pod(void *ud, const json_t *pod)
{
    struct sk_hollow *h = ud;
    int idx = sk_hollow_node_index(h, sk_json_path_str(pod, "spec.nodeName"));
    if (idx < 0) return;
    _sk_free_ char *key = sk_object_key(pod);
    if (!key) return;
    /* Pods already running (a restarted agent) keep their IPs. */
    const char *ip = sk_json_path_str(pod, "status.podIP");
    if (ip) {
        pthread_mutex_lock(&h->mu);
        int hp = host_part(&h->nodes[idx], ip);
        json_t *e = entry(h, key, sk_json_path_str(pod, "metadata.uid"), idx);
        if (hp && !json_integer_value(json_object_get(e, "ip"))) {
            h->nodes[idx].used[hp] = 1;
            json_object_set_new(e, "ip", json_integer(hp));
        }
        pthread_mutex_unlock(&h->mu);
    }
    if (needs_work(pod)) sk_workqueue_add(h->q, key);
}

static void on_pod_update(void *ud, const json_t *old, const json_t *cur) { on_pod(ud, cur); }

static void on_pod_delete(void *ud, const json_t *pod)
{
    struct sk_hollow *h = ud;
    _sk_free_ char *key = sk_object_key(pod);
    if (!key) return;
    pthread_mutex_lock(&h->mu);
    json_t *e = json_object_get(h->pods, key);
    const char *uid = sk_json_path_str(pod, "metadata.uid");
    if (e && uid && !strcmp(sk_json_str(e, "uid") ?: "", uid)) release_entry(h, key);
    pthread_mutex_unlock(&h->mu);
}

void sk_hollow_pods_watch(struct sk_hollow *h)
{
    sk_informer_add_handlers(h->pods_inf,
                             &(struct sk_informer_handlers){on_pod, on_pod_update, on_pod_delete, h});
}

/* ---- status ------------------------------------------------------------------------ */

static json_t *condition(const char *type, const char *now)
{
    return json_pack("{s:s,s:s,s:n,s:s}", "type", type, "status", "True", "lastProbeTime",
                     "lastTransitionTime", now);
}

static json_t *container_statuses(const json_t *containers, const char *uid, const char *now,
                                  bool init)
{
    json_t *out = json_array(), *c;
    size_t i;
    json_array_foreach(containers, i, c) {
        const char *name = sk_json_str(c, "name") ?: "", *image = sk_json_str(c, "image") ?: "";
        const char *rp = sk_json_str(c, "restartPolicy");
        bool done = init && !(rp && !strcmp(rp, "Always")); /* sidecars keep running */
        json_t *state = done ? json_pack("{s:{s:i,s:s,s:s,s:s,s:s}}", "terminated", "exitCode", 0,
                                         "reason", "Completed", "startedAt", now, "finishedAt", now,
                                         "containerID", "")
                             : json_pack("{s:{s:s}}", "running", "startedAt", now);
        _sk_free_ char *cid = sk_printf("hollow://%s/%s", uid, name);
        if (done) json_object_set_new(json_object_get(state, "terminated"), "containerID", json_string(cid));
        json_array_append_new(out, json_pack("{s:s,s:o,s:{},s:b,s:i,s:s,s:s,s:s,s:b}", "name", name,
                                             "state", state, "lastState", "ready", 1,
                                             "restartCount", 0, "image", image, "imageID", image,
                                             "containerID", cid, "started", !done));
    }
    return out;
}

static json_t *running_status(const json_t *pod, const struct sk_hnode *n, int ip)
{
    char now[40], podip[32];
    sk_time_format(sk_wall_ms() / 1000, now, sizeof now);
    snprintf(podip, sizeof podip, "%u.%u.%u.%d", n->cidr_base >> 24, (n->cidr_base >> 16) & 255,
             (n->cidr_base >> 8) & 255, ip);
    const char *uid = sk_json_path_str(pod, "metadata.uid") ?: "";
    const json_t *spec = json_object_get(pod, "spec");
    json_t *st = json_pack("{s:s,s:[o,o,o,o,o],s:s,s:[{s:s}],s:s,s:[{s:s}],s:s,s:o}", "phase",
                           "Running", "conditions", condition("PodReadyToStartContainers", now),
                           condition("Initialized", now), condition("Ready", now),
                           condition("ContainersReady", now), condition("PodScheduled", now),
                           "hostIP", n->ip, "hostIPs", "ip", n->ip, "podIP", podip, "podIPs", "ip",
                           podip, "startTime", now, "containerStatuses",
                           container_statuses(json_object_get(spec, "containers"), uid, now, false));
    if (json_array_size(json_object_get(spec, "initContainers")))
        json_object_set_new(st, "initContainerStatuses",
                            container_statuses(json_object_get(spec, "initContainers"), uid, now, true));
    /* The scheduler's PodScheduled transition time stays as it was. */
    json_t *c;
    size_t i;
    json_array_foreach(sk_json_path(pod, "status.conditions"), i, c) {
        const char *t = sk_json_str(c, "type"), *s = sk_json_str(c, "status");
        if (t && !strcmp(t, "PodScheduled") && s && !strcmp(s, "True") && sk_json_str(c, "lastTransitionTime"))
            json_object_set(json_array_get(json_object_get(st, "conditions"), 4), "lastTransitionTime",
                            json_object_get(c, "lastTransitionTime"));
    }
    return json_pack("{s:o}", "status", st);
}

/* ---- the worker ------------------------------------------------------------------------ */

static int finalize(struct sk_hollow *h, const char *key, const json_t *pod)
{
    sk_err err = SK_ERR_INIT;
    int rc = sk_client_delete(h->client, h->pods_res, sk_json_path_str(pod, "metadata.namespace"),
                              sk_json_path_str(pod, "metadata.name"), NULL, 0,
                              sk_json_path_str(pod, "metadata.uid"), &err);
    if (rc < 0 && err.code != SK_ENOTFOUND && err.code != SK_ECONFLICT) {
        sk_log(SK_DEBUG, "hollow", "pod %s: delete: %s", key, err.msg);
        sk_err_clear(&err);
        return -1;
    }
    sk_err_clear(&err);
    pthread_mutex_lock(&h->mu);
    release_entry(h, key);
    pthread_mutex_unlock(&h->mu);
    return 0;
}

/* 0 done, 1 retry later (requeued), -1 failed (backoff). */
static int start_pod(struct sk_hollow *h, const char *key, const json_t *pod, int idx)
{
    const char *uid = sk_json_path_str(pod, "metadata.uid");
    pthread_mutex_lock(&h->mu);
    json_t *e = entry(h, key, uid, idx);
    int64_t left = json_integer_value(json_object_get(e, "seen")) + h->pod_delay_ms - sk_now_ms();
    struct sk_hnode *n = &h->nodes[idx];
    int ip = (int)json_integer_value(json_object_get(e, "ip"));
    if (left <= 0 && n->cidr_base && !ip) {
        ip = allocate_ip(n);
        json_object_set_new(e, "ip", json_integer(ip));
    }
    _sk_json_ json_t *patch = left <= 0 && ip ? running_status(pod, n, ip) : NULL;
    pthread_mutex_unlock(&h->mu);
    if (left > 0 || !n->cidr_base || !ip) {
        /* waiting out the delay, for the node's podCIDR, or for a free IP */
        sk_workqueue_add_after(h->q, key, left > 0 ? left : !n->cidr_base ? 250 : 1000);
        return 1;
    }
    sk_err err = SK_ERR_INIT;
    /* The patch carries every condition (PodScheduled included) and every
     * container status, so a JSON merge patch, which replaces lists whole,
     * says the same as a strategic one and costs the server less. */
    json_t *res = sk_client_patch(h->client, h->pods_res, sk_json_path_str(pod, "metadata.namespace"),
                                  sk_json_path_str(pod, "metadata.name"),
                                  "application/merge-patch+json", patch, "status", &err);
    json_decref(res);
    int rc = res || err.code == SK_ENOTFOUND ? 0 : -1;
    if (rc < 0) sk_log(SK_DEBUG, "hollow", "pod %s: status: %s", key, err.msg);
    sk_err_clear(&err);
    return rc;
}

static int sync_pod(struct sk_hollow *h, const char *key)
{
    char ns[256], name[256];
    sk_key_split(key, ns, sizeof ns, name, sizeof name);
    _sk_json_ json_t *pod = sk_informer_get(h->pods_inf, ns, name);
    int idx = pod ? sk_hollow_node_index(h, sk_json_path_str(pod, "spec.nodeName")) : -1;
    if (idx < 0) return 0;
    if (sk_json_path(pod, "metadata.deletionTimestamp")) return finalize(h, key, pod);
    if (!needs_work(pod)) return 0;
    return start_pod(h, key, pod, idx) < 0 ? -1 : 0;
}

void *sk_hollow_pod_worker(void *arg)
{
    struct sk_hollow *h = arg;
    char *key;
    while ((key = sk_workqueue_get(h->q))) {
        if (sync_pod(h, key) == 0) sk_workqueue_forget(h->q, key);
        else sk_workqueue_add_rate_limited(h->q, key);
        sk_workqueue_done(h->q, key);
        free(key);
    }
    return NULL;
}

/* ---- trimming for the informer cache ---------------------------------------------- */

static void copy_keys(json_t *dst, const json_t *src, const char *const *keys)
{
    for (; *keys; keys++) {
        json_t *v = json_object_get(src, *keys);
        if (v) json_object_set(dst, *keys, v);
    }
}

static json_t *trim_containers(const json_t *cs)
{
    static const char *const keys[] = {"name", "image", "restartPolicy", NULL};
    json_t *out = json_array(), *c;
    size_t i;
    json_array_foreach(cs, i, c) {
        json_t *t = json_object();
        copy_keys(t, c, keys);
        json_array_append_new(out, t);
    }
    return out;
}

json_t *sk_hollow_trim_pod(const json_t *pod)
{
    static const char *const top[] = {"apiVersion", "kind", NULL};
    static const char *const meta[] = {"name", "namespace", "uid", "resourceVersion",
                                       "deletionTimestamp", NULL};
    static const char *const status[] = {"phase", "podIP", NULL};
    json_t *out = json_object(), *m = json_object(), *s = json_object(), *st = json_object(), *c;
    size_t i;
    copy_keys(out, pod, top);
    copy_keys(m, json_object_get(pod, "metadata"), meta);
    const json_t *spec = json_object_get(pod, "spec");
    json_t *node = json_object_get(spec, "nodeName");
    if (node) json_object_set(s, "nodeName", node);
    /* the pods of one owner have the same containers: one shared copy */
    json_t *cs = trim_containers(json_object_get(spec, "containers"));
    json_object_set_new(s, "containers", sk_json_intern(cs));
    json_decref(cs);
    if (json_object_get(spec, "initContainers")) {
        cs = trim_containers(json_object_get(spec, "initContainers"));
        json_object_set_new(s, "initContainers", sk_json_intern(cs));
        json_decref(cs);
    }
    copy_keys(st, json_object_get(pod, "status"), status);
    json_array_foreach(sk_json_path(pod, "status.conditions"), i, c) {
        const char *t = sk_json_str(c, "type");
        if (t && !strcmp(t, "PodScheduled")) json_object_set_new(st, "conditions", json_pack("[O]", c));
    }
    json_object_set_new(out, "metadata", m);
    json_object_set_new(out, "spec", s);
    json_object_set_new(out, "status", st);
    return out;
}
