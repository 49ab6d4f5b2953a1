/* One pod's sync, level-triggered like the kubelet's SyncPod: from the pod
 * as the API has it and what runs here, do the next steps. Sandbox
 * (namespaces, resolv.conf), CNI attachment, the managed /etc/hosts,
 * volumes (refreshed while the pod lives), init containers one at a time,
 * then the app containers with restarts, probes and back-off; a pod whose
 * containers are all done for good becomes terminal (its IP is released,
 * its stopped containers stay until deletion). A pod being deleted is
 * stopped with its grace period and removed, then deleted from the API
 * with grace 0 (the kubelet's final delete); a pod that vanished from the
 * API is removed without that delete. */
#include "kubelet/agent_core.h"

#include <ftw.h>
#include <stdio.h>
#include <string.h>

#define NET_WAIT_EVENT_MS 2000

static void publish_net(sk_agent *a, struct sk_ag_pod *p, const char *sandbox, const char *netns,
                        const char *ip, bool running)
{
    pthread_mutex_lock(&a->mu);
    if (sandbox) snprintf(p->sandbox_id, sizeof p->sandbox_id, "%s", sandbox);
    if (netns) snprintf(p->netns, sizeof p->netns, "%s", netns);
    if (ip) snprintf(p->ip, sizeof p->ip, "%s", ip);
    p->running_here = running;
    pthread_mutex_unlock(&a->mu);
}

static int64_t grace_of(const json_t *g, int64_t def_s)
{
    int64_t s = json_is_integer(g) ? json_integer_value(g) : def_s;
    if (s < 0) s = 0;
    if (s > 7 * 86400) s = 7 * 86400;
    return s * 1000;
}

int64_t sk_ag_grace_ms(const json_t *pod)
{
    const json_t *g = sk_json_path(pod, "metadata.deletionGracePeriodSeconds");
    if (!json_is_integer(g)) g = sk_json_path(pod, "spec.terminationGracePeriodSeconds");
    return grace_of(g, SK_AG_DEFAULT_GRACE_S);
}

/* ---- stopping and removing ------------------------------------------------------------ */

struct stop_arg {
    sk_agent *a;
    struct sk_ag_pod *p;
    struct sk_ag_ctr *c;
    const json_t *pod;
    int64_t grace;
};

static void *stop_thread(void *x)
{
    sk_mem_thread_nocache();
    struct stop_arg *s = x;
    sk_ag_ctr_kill(s->a, s->p, s->c, s->pod, s->grace);
    return NULL;
}

void sk_ag_stop_all(sk_agent *a, struct sk_ag_pod *p, const json_t *pod, int64_t grace_ms, bool events)
{
    struct stop_arg args[64];
    pthread_t th[64];
    bool spawned[64] = {0};
    size_t n = 0;
    _sk_json_ json_t *ref = sk_ag_event_ref(pod);
    for (size_t i = 0; i < p->nctrs && n < SK_ARRAY_LEN(args); i++) {
        struct sk_ag_ctr *c = &p->ctrs[i];
        sk_ag_ctr_refresh(a, p, c, pod);
        if (!c->have_cur || !c->cur.id[0] || c->cur.state == SK_RT_EXITED) continue;
        if (events) sk_event(a->rec, ref, "Normal", "Killing", "Stopping container %s", c->name);
        args[n++] = (struct stop_arg){a, p, c, pod, grace_ms};
    }
    /* in parallel, as the kubelet kills containers: n grace periods would add up */
    for (size_t i = 0; n > 1 && i < n; i++) spawned[i] = pthread_create(&th[i], NULL, stop_thread, &args[i]) == 0;
    for (size_t i = 0; i < n; i++) {
        if (spawned[i]) pthread_join(th[i], NULL);
        else stop_thread(&args[i]);
    }
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void sk_ag_pod_run_path(const sk_agent *a, const char *uid, const char *leaf, char *out, size_t n)
{
    snprintf(out, n, "%s/pods/%s%s%s", a->run_dir, uid, leaf ? "/" : "", leaf ? leaf : "");
}

void sk_ag_pod_run_remove(const sk_agent *a, const char *uid)
{
    char dir[PATH_MAX];
    sk_ag_pod_run_path(a, uid, NULL, dir, sizeof dir);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void sk_ag_teardown(sk_agent *a, struct sk_ag_pod *p)
{
    if (p->torn_down) return;
    sk_err err = SK_ERR_INIT;
    sk_kl_prober_remove(a->prober, p->key, NULL);
    publish_net(a, p, NULL, NULL, NULL, false);
    for (size_t i = 0; i < p->nctrs; i++) {
        struct sk_ag_ctr *c = &p->ctrs[i];
        if (c->have_cur) sk_ag_inst_remove(a, p, c, &c->cur);
        if (c->have_prev) sk_ag_inst_remove(a, p, c, &c->prev);
        c->probing = false;
    }
    sk_net *net = sk_ag_net(a);
    if (p->sandbox_id[0] && !p->host_network && net &&
        sk_net_pod_del(net, p->sandbox_id, p->netns[0] ? p->netns : NULL, &err) < 0) {
        sk_log(SK_WARN, "agent", "pod %s: network teardown: %s", p->key, err.msg);
        sk_err_clear(&err);
    }
    if (p->sandbox_id[0] && sk_rt_sandbox_remove(a->rt, p->sandbox_id, &err) < 0) {
        sk_log(SK_WARN, "agent", "pod %s: remove sandbox: %s", p->key, err.msg);
        sk_err_clear(&err);
    }
    if (sk_kl_volumes_teardown(a->data_dir, p->uid, &err) < 0) {
        sk_log(SK_WARN, "agent", "pod %s: volumes: %s", p->key, err.msg);
        sk_err_clear(&err);
    }
    _sk_free_ char *logs = sk_printf("%s/logs/%s_%s_%s", a->data_dir, p->ns, p->name, p->uid);
    nftw(logs, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    sk_ag_pod_run_remove(a, p->uid);
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < p->nctrs; i++) p->ctrs[i].have_cur = p->ctrs[i].have_prev = false;
    p->sandbox_id[0] = p->netns[0] = 0;
    pthread_mutex_unlock(&a->mu);
    p->net_attached = false;
    p->torn_down = true;
    sk_log(SK_DEBUG, "agent", "pod %s: removed from the node", p->key);
}

static void final_delete(sk_agent *a, struct sk_ag_pod *p)
{
    sk_ag_teardown(a, p);
    if (p->deleted) return;
    sk_err err = SK_ERR_INIT;
    int rc = sk_client_delete(a->client, a->pods_res, p->ns, p->name, NULL, 0, p->uid, &err);
    if (rc == 0 || err.code == SK_ENOTFOUND || err.code == SK_ECONFLICT) p->deleted = true;
    else sk_log(SK_WARN, "agent", "pod %s: delete: %s", p->key, err.msg);
    sk_err_clear(&err);
}

struct term_arg {
    json_t *pod;
    int64_t grace;
};

static void term_job(sk_agent *a, struct sk_ag_pod *p, void *arg)
{
    struct term_arg *t = arg;
    sk_ag_stop_all(a, p, t->pod, t->grace, true);
    final_delete(a, p);
    json_decref(t->pod);
    free(t);
}

static bool any_running(sk_agent *a, struct sk_ag_pod *p, const json_t *pod)
{
    bool running = false;
    for (size_t i = 0; i < p->nctrs; i++) {
        struct sk_ag_ctr *c = &p->ctrs[i];
        sk_ag_ctr_refresh(a, p, c, pod);
        if (c->have_cur && c->cur.id[0] && c->cur.state != SK_RT_EXITED) running = true;
    }
    return running;
}

static enum sk_ag_sync terminate(sk_agent *a, struct sk_ag_pod *p, const json_t *pod)
{
    if (p->deleted) return SK_AG_SYNC_OK;
    int64_t grace = sk_ag_grace_ms(pod);
    if (any_running(a, p, pod) && grace > 0) {
        struct term_arg *t = sk_calloc(1, sizeof *t);
        t->pod = json_incref((json_t *)pod);
        t->grace = grace;
        if (sk_ag_async(a, p->key, p, term_job, t) == 0) return SK_AG_SYNC_ASYNC;
        json_decref(t->pod);
        free(t);
    }
    sk_ag_stop_all(a, p, pod, grace, true);
    final_delete(a, p);
    return p->deleted ? SK_AG_SYNC_OK : SK_AG_SYNC_RETRY;
}

/* ---- sandbox and network ------------------------------------------------------------------ */

static char *read_host_file(const char *path)
{
    sk_err e = SK_ERR_INIT;
    char *text = sk_read_file(path, NULL, &e);
    sk_err_clear(&e);
    return text;
}

static void write_hosts(sk_agent *a, struct sk_ag_pod *p, const json_t *pod)
{
    _sk_free_ char *host = p->host_network ? read_host_file("/etc/hosts") : NULL;
    _sk_free_ char *text = sk_ag_hosts_file(pod, p->ip, a->cluster_domain, host);
    char dir[PATH_MAX], path[PATH_MAX];
    sk_ag_pod_run_path(a, p->uid, NULL, dir, sizeof dir);
    sk_ag_pod_run_path(a, p->uid, "etc-hosts", path, sizeof path);
    sk_err err = SK_ERR_INIT;
    if (sk_mkdir_p(dir, 0755, &err) < 0 || sk_write_file(path, text, strlen(text), 0644, &err) < 0)
        sk_log(SK_WARN, "agent", "pod %s: hosts file: %s", p->key, err.msg);
    sk_err_clear(&err);
}

static void sandbox_event(sk_agent *a, const json_t *pod, const char *msg)
{
    _sk_json_ json_t *ref = sk_ag_event_ref(pod);
    sk_event(a->rec, ref, "Warning", "FailedCreatePodSandBox", "Failed to create pod sandbox: %s", msg);
}

static int ensure_sandbox(sk_agent *a, struct sk_ag_pod *p, const json_t *pod)
{
    char hostname[64];
    if (p->host_network) snprintf(hostname, sizeof hostname, "%.63s", a->node_name);
    else sk_ag_pod_hostname(pod, hostname, sizeof hostname);
    _sk_free_ char *host_resolv = read_host_file("/etc/resolv.conf");
    _sk_free_ char *resolv = sk_ag_resolv_conf(pod, a->cluster_dns, a->cluster_domain, host_resolv);
    const char *sysctls[32];
    char *owned[32];
    size_t ns = 0, i;
    json_t *sc;
    json_array_foreach(sk_json_path(pod, "spec.securityContext.sysctls"), i, sc) {
        if (ns == SK_ARRAY_LEN(sysctls)) break;
        owned[ns] = sk_printf("%s=%s", sk_json_str(sc, "name") ?: "", sk_json_str(sc, "value") ?: "");
        sysctls[ns] = owned[ns];
        ns++;
    }
    struct sk_ag_udata u = {0};
    snprintf(u.uid, sizeof u.uid, "%s", p->uid);
    snprintf(u.ns, sizeof u.ns, "%s", p->ns);
    snprintf(u.pod, sizeof u.pod, "%s", p->name);
    _sk_free_ char *udata = sk_ag_udata_encode(&u, false);
    /* A host-network pod of a node that lives in its own netns joins that one. */
    bool host_ns = p->host_network && !a->node_netns;
    struct sk_rt_sandbox_config cfg = {
        .id = p->uid, .hostname = hostname, .pod_uid = p->uid,
        .netns_path = p->host_network && a->node_netns ? a->node_netns : NULL, .host_network = host_ns,
        .host_ipc = json_is_true(sk_json_path(pod, "spec.hostIPC")),
        .host_pid = json_is_true(sk_json_path(pod, "spec.hostPID")), .resolv_conf = resolv,
        .sysctls = sysctls, .n_sysctls = ns, .user_data = udata};
    struct sk_rt_sandbox_info info = {0};
    sk_err err = SK_ERR_INIT;
    int64_t t0 = sk_now_ms();
    int rc = sk_rt_sandbox_create(a->rt, &cfg, &info, &err);
    sk_log(SK_DEBUG, "agent", "pod %s: sandbox in %lld ms", p->key, (long long)(sk_now_ms() - t0));
    if (rc < 0 && err.code == SK_EEXIST) { /* half-made by a crashed agent */
        sk_err_clear(&err);
        if (sk_rt_sandbox_remove(a->rt, p->uid, &err) == 0) rc = sk_rt_sandbox_create(a->rt, &cfg, &info, &err);
    }
    for (size_t k = 0; k < ns; k++) free(owned[k]);
    if (rc < 0) {
        sandbox_event(a, pod, err.msg);
        sk_log(SK_WARN, "agent", "pod %s: sandbox: %s", p->key, err.msg);
        sk_err_clear(&err);
        return -1;
    }
    const char *netns = info.netns_path ? info.netns_path : a->node_netns ? a->node_netns : "/proc/self/ns/net";
    publish_net(a, p, p->uid, netns, p->host_network ? sk_ag_node_ip(a) : NULL, p->host_network);
    sk_rt_sandbox_info_release(&info);
    if (p->host_network) write_hosts(a, p, pod);
    return 0;
}

static int attach_net(sk_agent *a, struct sk_ag_pod *p, const json_t *pod)
{
    struct sk_net_port ports[64];
    char protos[64][8];
    size_t np = 0, i, j;
    json_t *c, *port;
    json_array_foreach(sk_json_path(pod, "spec.containers"), i, c) {
        json_array_foreach(json_object_get(c, "ports"), j, port) {
            json_int_t hp = json_integer_value(json_object_get(port, "hostPort"));
            json_int_t cp = json_integer_value(json_object_get(port, "containerPort"));
            if (hp <= 0 || hp > 65535 || cp <= 0 || cp > 65535 || np == SK_ARRAY_LEN(ports)) continue;
            const char *proto = sk_json_str(port, "protocol") ?: "TCP";
            size_t k = 0;
            for (; proto[k] && k < sizeof protos[np] - 1; k++) protos[np][k] = (char)(proto[k] | 0x20);
            protos[np][k] = 0;
            ports[np] = (struct sk_net_port){(uint16_t)hp, (uint16_t)cp, protos[np], sk_json_str(port, "hostIP")};
            np++;
        }
    }
    /* the runtime's sandboxes bring lo up themselves */
    struct sk_net_pod_opts opts = {.k8s_namespace = p->ns, .k8s_name = p->name, .k8s_uid = p->uid,
                                   .ports = ports, .n_ports = np, .lo_up = true};
    struct sk_net_result res;
    sk_err err = SK_ERR_INIT;
    sk_net *net = sk_ag_net(a);
    int64_t t0 = sk_now_ms();
    int rc = sk_net_pod_add(net, p->sandbox_id, p->netns, &opts, &res, &err);
    sk_log(SK_DEBUG, "agent", "pod %s: CNI ADD in %lld ms", p->key, (long long)(sk_now_ms() - t0));
    if (rc < 0 && err.code == SK_EEXIST) {
        sk_err_clear(&err);
        rc = sk_net_pod_result(net, p->sandbox_id, &res, &err);
    }
    if (rc < 0) {
        sandbox_event(a, pod, err.msg);
        sk_log(SK_WARN, "agent", "pod %s: network: %s", p->key, err.msg);
        sk_err_clear(&err);
        if (sk_rt_sandbox_remove(a->rt, p->sandbox_id, &err) < 0) sk_err_clear(&err);
        publish_net(a, p, "", "", NULL, false);
        return -1;
    }
    p->net_attached = true;
    publish_net(a, p, NULL, NULL, res.ip, true);
    write_hosts(a, p, pod);
    return 0;
}

/* ---- containers -------------------------------------------------------------------------------- */

/* The Services of ns plus default/kubernetes, for service-link env vars. */
static json_t *services_for(sk_agent *a, const char *ns)
{
    json_t *list = sk_informer_list(a->svc_inf, ns, NULL);
    if (!list) list = json_array();
    if (strcmp(ns, "default")) {
        json_t *k = sk_informer_get(a->svc_inf, "default", "kubernetes");
        if (k) json_array_append_new(list, k);
    }
    return list;
}

static void kill_job(sk_agent *a, struct sk_ag_pod *p, void *arg)
{
    struct term_arg *t = arg;
    for (size_t i = 0; i < p->nctrs; i++)
        if (p->ctrs[i].kill_pending) {
            p->ctrs[i].kill_pending = false;
            sk_ag_ctr_kill(a, p, &p->ctrs[i], t->pod, t->grace);
        }
    json_decref(t->pod);
    free(t);
}

/* A running container whose liveness/startup probe failed or whose spec
 * changed is marked for the kill job. */
static bool needs_kill(sk_agent *a, struct sk_ag_pod *p, struct sk_ag_ctr *c, const json_t *pod)
{
    char msg[256];
    bool live_failed = sk_ag_ctr_probe_state(a, p, c, msg, sizeof msg);
    _sk_json_ json_t *ref = sk_ag_event_ref(pod);
    if (msg[0] && (live_failed || !c->ready) && strcmp(msg, c->probe_msg)) {
        sk_event(a->rec, ref, "Warning", "Unhealthy", "%s", msg);
        snprintf(c->probe_msg, sizeof c->probe_msg, "%s", msg);
    }
    char hash[24];
    sk_ag_spec_hash(sk_ag_ctr_spec(pod, c), hash);
    bool changed = c->cur.hash[0] && strcmp(hash, c->cur.hash);
    if (!live_failed && !changed) return false;
    if (changed)
        sk_event(a->rec, ref, "Normal", "Killing", "Container %s definition changed, will be restarted", c->name);
    else
        sk_event(a->rec, ref, "Normal", "Killing", "Container %s failed %s probe, will be restarted", c->name,
                 !strncmp(msg, "Startup", 7) ? "startup" : "liveness");
    c->kill_pending = true;
    return true;
}

/* Runs one container that restarts under the policy. True when it runs
 * (and has started, which sidecars must before the next init container). */
static bool run_one(sk_agent *a, struct sk_ag_pod *p, struct sk_ag_ctr *c, const json_t *pod,
                    const json_t *services, bool *kill)
{
    if (c->have_cur && c->cur.state == SK_RT_RUNNING) {
        if (!c->watching) c->watching = sk_ag_watch_exit(a, p->key, c->cur.id);
        if (needs_kill(a, p, c, pod)) {
            *kill = true;
            return false;
        }
        return c->started;
    }
    if (c->have_cur && c->cur.state == SK_RT_CREATED) return false; /* its start is in progress elsewhere */
    if (c->have_cur) {
        if (!sk_ag_ctr_should_restart(pod, c)) {
            pthread_mutex_lock(&a->mu); /* read by the HTTPS server's lookups */
            c->wait_reason[0] = 0;
            pthread_mutex_unlock(&a->mu);
            return false;
        }
        int64_t left = sk_ag_ctr_crash_wait(a, p, c, pod);
        if (left > 0) {
            sk_workqueue_add_after(a->q, p->key, left);
            return false;
        }
    }
    if (sk_ag_ctr_start(a, p, c, pod, services)) p->known = true;
    return false;
}

/* Init containers in order; true once all are done (sidecars started). */
static bool run_init(sk_agent *a, struct sk_ag_pod *p, const json_t *pod, const json_t *services, bool *kill)
{
    for (size_t i = 0; i < p->nctrs; i++) {
        struct sk_ag_ctr *c = &p->ctrs[i];
        if (!c->init) continue;
        if (c->sidecar) {
            if (!run_one(a, p, c, pod, services, kill)) return false;
            continue;
        }
        if (c->have_cur && c->cur.state == SK_RT_EXITED && c->cur.exit_code == 0 && !c->cur.reason[0]) continue;
        if (c->have_cur && c->cur.state != SK_RT_EXITED) return false; /* running: wait for its exit */
        if (c->have_cur && !sk_ag_ctr_should_restart(pod, c)) {
            p->terminal = true; /* failed with restartPolicy Never */
            return false;
        }
        run_one(a, p, c, pod, services, kill);
        return false;
    }
    return true;
}

/* All app containers exited for good. */
static bool finished(const json_t *pod, struct sk_ag_pod *p)
{
    size_t apps = 0;
    for (size_t i = 0; i < p->nctrs; i++) {
        struct sk_ag_ctr *c = &p->ctrs[i];
        if (c->init) continue;
        apps++;
        if (!c->have_cur || c->cur.state != SK_RT_EXITED || sk_ag_ctr_should_restart(pod, c)) return false;
    }
    return apps > 0;
}

/* ---- the sync ---------------------------------------------------------------------------------- */

static void release_net(sk_agent *a, struct sk_ag_pod *p)
{
    sk_net *net = sk_ag_net(a);
    sk_err err = SK_ERR_INIT;
    if (!p->net_attached || !net) return;
    if (sk_net_pod_del(net, p->sandbox_id, p->netns, &err) < 0) {
        sk_log(SK_WARN, "agent", "pod %s: release network: %s", p->key, err.msg);
        sk_err_clear(&err);
        return;
    }
    p->net_attached = false;
}

static enum sk_ag_sync run_terminal(sk_agent *a, struct sk_ag_pod *p, const json_t *pod)
{
    if (any_running(a, p, pod)) {
        struct term_arg *t = sk_calloc(1, sizeof *t);
        t->pod = json_incref((json_t *)pod);
        t->grace = grace_of(sk_json_path(pod, "spec.terminationGracePeriodSeconds"), SK_AG_DEFAULT_GRACE_S);
        for (size_t i = 0; i < p->nctrs; i++)
            if (p->ctrs[i].have_cur && p->ctrs[i].cur.state != SK_RT_EXITED) p->ctrs[i].kill_pending = true;
        if (sk_ag_async(a, p->key, p, kill_job, t) == 0) return SK_AG_SYNC_ASYNC;
        json_decref(t->pod);
        free(t);
        return SK_AG_SYNC_RETRY;
    }
    sk_kl_prober_remove(a->prober, p->key, NULL);
    release_net(a, p);
    if (p->known && sk_ag_status_sync(a, p, pod) < 0) return SK_AG_SYNC_RETRY;
    return SK_AG_SYNC_OK;
}

/* 0 ready, 1 waiting for the node's podCIDR, -1 failed. */
static int ensure_network(sk_agent *a, struct sk_ag_pod *p, const json_t *pod)
{
    if (!p->host_network && !sk_ag_net(a)) {
        int64_t now = sk_now_ms();
        if (!p->net_wait_since) p->net_wait_since = now;
        if (p->net_wait_since > 0 && now - p->net_wait_since >= NET_WAIT_EVENT_MS) {
            _sk_json_ json_t *ref = sk_ag_event_ref(pod);
            sk_event(a->rec, ref, "Warning", "NetworkNotReady",
                     "network is not ready: container runtime network not ready: NetworkReady=false "
                     "reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized");
            p->net_wait_since = -1; /* once */
        }
        sk_workqueue_add_after(a->q, p->key, 500);
        return 1;
    }
    if (!p->sandbox_id[0] && ensure_sandbox(a, p, pod) < 0) return -1;
    if (!p->host_network && !p->net_attached && attach_net(a, p, pod) < 0) return -1;
    return 0;
}

static int ensure_volumes(sk_agent *a, struct sk_ag_pod *p, const json_t *pod)
{
    int64_t now = sk_now_ms();
    if (p->volumes_ok && !(sk_kl_volumes_dynamic(pod) && now - p->volumes_at >= SK_AG_RESYNC_MS - 500)) return 0;
    sk_err err = SK_ERR_INIT;
    if (sk_kl_volumes_setup(a->client, a->data_dir, pod, a->node_name, &err) < 0) {
        if (!p->volumes_ok) {
            _sk_json_ json_t *ref = sk_ag_event_ref(pod);
            sk_event(a->rec, ref, "Warning", "FailedMount", "%s%s",
                     strncmp(err.msg, "MountVolume", 11) ? "MountVolume.SetUp failed: " : "", err.msg);
        }
        sk_log(SK_DEBUG, "agent", "pod %s: volumes: %s", p->key, err.msg);
        sk_err_clear(&err);
        return p->volumes_ok ? 0 : -1;
    }
    p->volumes_ok = true;
    p->volumes_at = now;
    return 0;
}

static enum sk_ag_sync run(sk_agent *a, struct sk_ag_pod *p, const json_t *pod)
{
    for (size_t i = 0; i < p->nctrs; i++) sk_ag_ctr_refresh(a, p, &p->ctrs[i], pod);
    if (p->terminal) return run_terminal(a, p, pod);
    if (!p->start_wall_ms) {
        int64_t t = sk_time_parse(sk_json_path_str(pod, "status.startTime") ?: "");
        p->start_wall_ms = t > 0 ? t * 1000 : sk_wall_ms();
    }
    int rc = ensure_network(a, p, pod);
    if (rc == 0) rc = ensure_volumes(a, p, pod);
    if (rc != 0) {
        sk_ag_status_sync(a, p, pod);
        return rc < 0 ? SK_AG_SYNC_RETRY : SK_AG_SYNC_OK;
    }
    _sk_json_ json_t *services = services_for(a, p->ns);
    bool kill = false;
    if (run_init(a, p, pod, services, &kill))
        for (size_t i = 0; i < p->nctrs; i++)
            if (!p->ctrs[i].init) run_one(a, p, &p->ctrs[i], pod, services, &kill);
    if (!p->terminal && finished(pod, p)) p->terminal = true;
    if (kill) {
        struct term_arg *t = sk_calloc(1, sizeof *t);
        t->pod = json_incref((json_t *)pod);
        t->grace = grace_of(sk_json_path(pod, "spec.terminationGracePeriodSeconds"), SK_AG_DEFAULT_GRACE_S);
        if (sk_ag_async(a, p->key, p, kill_job, t) == 0) return SK_AG_SYNC_ASYNC;
        json_decref(t->pod);
        free(t);
    }
    if (p->terminal) return run_terminal(a, p, pod);
    int src = sk_ag_status_sync(a, p, pod);
    sk_workqueue_add_after(a->q, p->key, SK_AG_RESYNC_MS);
    return src < 0 ? SK_AG_SYNC_RETRY : SK_AG_SYNC_OK;
}

enum sk_ag_sync sk_ag_sync_pod(sk_agent *a, const char *key)
{
    char ns[256], name[256];
    sk_key_split(key, ns, sizeof ns, name, sizeof name);
    _sk_json_ json_t *pod = sk_informer_get(a->pods_inf, ns, name);
    const char *uid = sk_json_path_str(pod, "metadata.uid");
    struct sk_ag_pod *p = sk_ag_pod_find(a, key);
    if (p && (!uid || strcmp(p->uid, uid))) {
        sk_log(SK_DEBUG, "agent", "pod %s (uid %s) is gone: removing it", key, p->uid);
        sk_ag_teardown(a, p);
        sk_ag_pod_drop(a, p);
        p = NULL;
    }
    if (!uid) return SK_AG_SYNC_OK;
    if (!p) {
        const char *phase = sk_json_path_str(pod, "status.phase") ?: "";
        bool api_terminal = !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
        if (api_terminal && !sk_json_path(pod, "metadata.deletionTimestamp")) return SK_AG_SYNC_OK;
        p = sk_ag_pod_add(a, pod);
        p->terminal = api_terminal;
    }
    if (sk_json_path(pod, "metadata.deletionTimestamp")) return terminate(a, p, pod);
    return run(a, p, pod);
}
