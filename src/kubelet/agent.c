/* The node agent: lifecycle, informers (pods bound to this node, services
 * for the service-link env vars, our Node for its podCIDR), the pod work
 * queue and its workers, the exit watcher and async jobs.
 *
 * Each pod key is synced by one worker at a time (work queue semantics),
 * which makes every runtime and CNI call of a pod serial. Container exits
 * are noticed through the runtime's exit descriptors (one epoll thread
 * re-queues the pod), probe flips through the prober's callback, and a
 * live pod is re-synced every SK_AG_RESYNC_MS for volume refreshes and as a
 * safety net. Slow stops (grace periods) run as async jobs that keep the
 * pod's key until they finish, so workers stay free for other pods.
 *
 * Partial: the maxPods admission check is not enforced; CrashLoopBackOff
 * and image pull back-off state is not kept across agent restarts (as
 * upstream); a sandbox removed behind the agent's back is not recreated
 * (containers then fail with RunContainerError); Unhealthy events are
 * emitted once per container instance and message, not once per failed
 * probe; pod-level reason/message (evictions) are not generated. */
#include "kubelet/agent_core.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>

struct sk_ag_watch {
    struct sk_ag_watch *next;
    int fd;
    char key[320];
};

/* ---- the pod table ------------------------------------------------------------------- */

static void ctrs_from_spec(struct sk_ag_pod *p, const json_t *pod)
{
    const json_t *inits = sk_json_path(pod, "spec.initContainers");
    const json_t *apps = sk_json_path(pod, "spec.containers");
    size_t n = json_array_size(inits) + json_array_size(apps);
    p->ctrs = sk_calloc(n ? n : 1, sizeof *p->ctrs);
    const json_t *lists[2] = {inits, apps};
    for (int l = 0; l < 2; l++) {
        size_t i;
        json_t *c;
        json_array_foreach(lists[l], i, c) {
            struct sk_ag_ctr *ct = &p->ctrs[p->nctrs++];
            snprintf(ct->name, sizeof ct->name, "%s", sk_json_str(c, "name") ?: "");
            ct->init = l == 0;
            ct->sidecar = ct->init && sk_ag_is_sidecar(c);
            ct->index = (int)i;
        }
    }
}

struct sk_ag_pod *sk_ag_pod_find(sk_agent *a, const char *key)
{
    struct sk_ag_pod *found = NULL;
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->npods && !found; i++)
        if (!strcmp(a->pods[i]->key, key)) found = a->pods[i];
    pthread_mutex_unlock(&a->mu);
    return found;
}

struct sk_ag_pod *sk_ag_pod_add(sk_agent *a, const json_t *pod)
{
    struct sk_ag_pod *p = sk_calloc(1, sizeof *p);
    snprintf(p->ns, sizeof p->ns, "%s", sk_json_path_str(pod, "metadata.namespace") ?: "");
    snprintf(p->name, sizeof p->name, "%s", sk_json_path_str(pod, "metadata.name") ?: "");
    snprintf(p->uid, sizeof p->uid, "%s", sk_json_path_str(pod, "metadata.uid") ?: "");
    snprintf(p->key, sizeof p->key, "%s/%s", p->ns, p->name);
    p->host_network = json_is_true(sk_json_path(pod, "spec.hostNetwork"));
    ctrs_from_spec(p, pod);
    pthread_mutex_lock(&a->mu);
    if (a->npods == a->cap_pods) {
        a->cap_pods = a->cap_pods ? a->cap_pods * 2 : 64;
        a->pods = sk_realloc(a->pods, a->cap_pods * sizeof *a->pods);
    }
    a->pods[a->npods++] = p;
    pthread_mutex_unlock(&a->mu);
    return p;
}

static void pod_free(struct sk_ag_pod *p)
{
    if (!p) return;
    json_decref(p->last_status);
    free(p->ctrs);
    free(p);
}

void sk_ag_pod_drop(sk_agent *a, struct sk_ag_pod *p)
{
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->npods; i++) {
        if (a->pods[i] != p) continue;
        a->pods[i] = a->pods[--a->npods];
        break;
    }
    pthread_mutex_unlock(&a->mu);
    pod_free(p);
}

void sk_ag_requeue_all(sk_agent *a)
{
    _sk_json_ json_t *pods = sk_informer_list(a->pods_inf, NULL, NULL);
    size_t i;
    json_t *pod;
    json_array_foreach(pods, i, pod) {
        _sk_free_ char *key = sk_object_key(pod);
        if (key) sk_workqueue_add(a->q, key);
    }
}

sk_net *sk_ag_net(sk_agent *a)
{
    pthread_mutex_lock(&a->mu);
    sk_net *n = a->net;
    pthread_mutex_unlock(&a->mu);
    return n;
}

json_t *sk_ag_event_ref(const json_t *pod)
{
    json_t *meta = json_pack("{s:s,s:s,s:s}", "name", sk_json_path_str(pod, "metadata.name") ?: "",
                             "namespace", sk_json_path_str(pod, "metadata.namespace") ?: "", "uid",
                             sk_json_path_str(pod, "metadata.uid") ?: "");
    const char *rv = sk_json_path_str(pod, "metadata.resourceVersion");
    if (rv) json_object_set_new(meta, "resourceVersion", json_string(rv));
    return json_pack("{s:s,s:s,s:o}", "kind", "Pod", "apiVersion", "v1", "metadata", meta);
}

/* ---- exit watcher ------------------------------------------------------------------------ */

bool sk_ag_watch_exit(sk_agent *a, const char *key, const char *id)
{
    sk_err err = SK_ERR_INIT;
    int fd = sk_rt_container_exit_fd(a->rt, id, &err);
    if (fd < 0) {
        /* gone already: let the next sync see it */
        sk_err_clear(&err);
        sk_workqueue_add_after(a->q, key, 100);
        return false;
    }
    struct sk_ag_watch *w = sk_calloc(1, sizeof *w);
    w->fd = fd;
    snprintf(w->key, sizeof w->key, "%s", key);
    pthread_mutex_lock(&a->watch_mu);
    w->next = a->watches;
    a->watches = w;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = w};
    bool ok = epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev) == 0;
    if (!ok) {
        sk_log(SK_WARN, "agent", "pod %s: watch container %s: %s", key, id, strerror(errno));
        a->watches = w->next;
        close(fd);
        free(w);
    }
    pthread_mutex_unlock(&a->watch_mu);
    return ok;
}

static void watch_unlink(sk_agent *a, struct sk_ag_watch *w)
{
    pthread_mutex_lock(&a->watch_mu);
    for (struct sk_ag_watch **pp = &a->watches; *pp; pp = &(*pp)->next) {
        if (*pp != w) continue;
        *pp = w->next;
        break;
    }
    epoll_ctl(a->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    pthread_mutex_unlock(&a->watch_mu);
    close(w->fd);
}

static void *exit_main(void *arg)
{
    sk_agent *a = arg;
    struct epoll_event evs[32];
    for (;;) {
        int n = epoll_wait(a->epfd, evs, (int)SK_ARRAY_LEN(evs), -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        bool stop = false;
        for (int i = 0; i < n; i++) {
            if (!evs[i].data.ptr) {
                stop = true;
                continue;
            }
            struct sk_ag_watch *w = evs[i].data.ptr;
            watch_unlink(a, w);
            sk_workqueue_add(a->q, w->key);
            free(w);
        }
        if (stop) break;
    }
    return NULL;
}

/* ---- async jobs --------------------------------------------------------------------------- */

struct ag_job {
    sk_agent *a;
    char key[320];
    struct sk_ag_pod *p;
    void (*fn)(sk_agent *a, struct sk_ag_pod *p, void *arg);
    void *arg;
};

static void *job_main(void *x)
{
    sk_mem_thread_nocache();
    struct ag_job *j = x;
    sk_agent *a = j->a;
    j->fn(a, j->p, j->arg);
    sk_workqueue_add(a->q, j->key);
    sk_workqueue_done(a->q, j->key);
    pthread_mutex_lock(&a->mu);
    a->async_jobs--;
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->mu);
    free(j);
    return NULL;
}

int sk_ag_async(sk_agent *a, const char *key, struct sk_ag_pod *p,
                void (*fn)(sk_agent *a, struct sk_ag_pod *p, void *arg), void *arg)
{
    struct ag_job *j = sk_calloc(1, sizeof *j);
    *j = (struct ag_job){.a = a, .p = p, .fn = fn, .arg = arg};
    snprintf(j->key, sizeof j->key, "%s", key);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 512 * 1024);
    pthread_mutex_lock(&a->mu);
    a->async_jobs++;
    pthread_mutex_unlock(&a->mu);
    pthread_t t;
    int rc = pthread_create(&t, &at, job_main, j);
    pthread_attr_destroy(&at);
    if (rc == 0) return 0;
    pthread_mutex_lock(&a->mu);
    a->async_jobs--;
    pthread_mutex_unlock(&a->mu);
    free(j);
    return -1;
}

/* ---- workers and informer handlers --------------------------------------------------------- */

static void *worker_main(void *arg)
{
    sk_mem_thread_nocache();
    sk_agent *a = arg;
    char *key;
    while ((key = sk_workqueue_get(a->q))) {
        enum sk_ag_sync r = sk_ag_sync_pod(a, key);
        if (r == SK_AG_SYNC_OK) {
            sk_workqueue_forget(a->q, key);
        } else if (r == SK_AG_SYNC_RETRY) {
            /* quick retries first, then every 10 s as the kubelet's backOffPeriod */
            if (sk_workqueue_retries(a->q, key) < 11) sk_workqueue_add_rate_limited(a->q, key);
            else sk_workqueue_add_after(a->q, key, 10000);
        }
        if (r != SK_AG_SYNC_ASYNC) sk_workqueue_done(a->q, key);
        free(key);
    }
    return NULL;
}

static void on_pod(void *ud, const json_t *pod)
{
    sk_agent *a = ud;
    _sk_free_ char *key = sk_object_key(pod);
    if (key) sk_workqueue_add(a->q, key);
}
static void on_pod_update(void *ud, const json_t *old, const json_t *cur)
{
    (void)old;
    on_pod(ud, cur);
}
/* Every node: our own drives registration and the pod network, the others
 * the routes to their pods. */
static void on_node(void *ud, const json_t *node)
{
    sk_agent *a = ud;
    if (!strcmp(sk_json_path_str(node, "metadata.name") ?: "", a->node_name)) sk_ag_node_seen(a, node);
    else sk_ag_route_node(a, node, false);
}
static void on_node_update(void *ud, const json_t *old, const json_t *cur)
{
    (void)old;
    on_node(ud, cur);
}
static void on_node_delete(void *ud, const json_t *node) { sk_ag_route_node(ud, node, true); }

/* managedFields are never read here and are the bulk of a pod. */
static json_t *trim_pod(void *ud, const json_t *pod)
{
    (void)ud;
    json_t *out = json_copy((json_t *)pod);
    json_t *meta = json_copy(json_object_get(pod, "metadata"));
    if (meta) {
        json_object_del(meta, "managedFields");
        json_object_set_new(out, "metadata", meta);
    }
    return out;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

static char *dup_or(const char *s, const char *def) { return sk_strdup(s && *s ? s : def); }

sk_agent *sk_agent_new(const struct sk_agent_config *cfg, sk_err *err)
{
    if (!cfg->client || !cfg->rt || !cfg->images || !cfg->node_name || !*cfg->node_name ||
        !cfg->data_dir || !*cfg->data_dir) {
        sk_err_set(err, SK_EINVALID, "agent: client, runtime, image store, node name and data dir are required");
        return NULL;
    }
    if (cfg->port != -1 && (!cfg->serving_cert_pem || !cfg->serving_key_pem)) {
        sk_err_set(err, SK_EINVALID, "agent: a serving certificate and key are required for the HTTPS API");
        return NULL;
    }
    sk_agent *a = sk_calloc(1, sizeof *a);
    a->epfd = a->wakefd = -1;
    a->client = cfg->client;
    a->rt = cfg->rt;
    a->images = cfg->images;
    a->node_name = sk_strdup(cfg->node_name);
    a->data_dir = sk_strdup(cfg->data_dir);
    a->run_dir = a->rt ? sk_printf("%s/kubelet", sk_rt_state_dir(a->rt)) : sk_strdup(cfg->data_dir);
    a->node_ip = cfg->node_ip && *cfg->node_ip ? sk_strdup(cfg->node_ip) : NULL;
    a->node_netns = cfg->node_netns && *cfg->node_netns ? sk_strdup(cfg->node_netns) : NULL;
    a->cni_plugin_dir = dup_or(cfg->cni_plugin_dir, "/usr/lib/cni");
    a->cni_bridge = dup_or(cfg->cni_bridge, "cni0");
    a->samples_dir = cfg->samples_dir ? sk_strdup(cfg->samples_dir) : NULL;
    a->busybox_path = cfg->busybox_path ? sk_strdup(cfg->busybox_path) : NULL;
    a->bind_address = dup_or(cfg->bind_address, "0.0.0.0");
    a->cert_pem = sk_strdup(cfg->serving_cert_pem);
    a->key_pem = sk_strdup(cfg->serving_key_pem);
    a->client_ca_pem = sk_strdup(cfg->client_ca_pem);
    a->api_client_cn = dup_or(cfg->api_client_cn, "kube-apiserver-kubelet-client");
    a->cluster_dns = cfg->cluster_dns && *cfg->cluster_dns ? sk_strdup(cfg->cluster_dns) : NULL;
    a->cluster_domain = dup_or(cfg->cluster_domain, "cluster.local");
    /* 0 is the kubelet's 10250; -1 no server; any other value as given
     * (tests: -2 asks for an ephemeral port) */
    a->port = cfg->port == 0 ? 10250 : cfg->port < -1 ? 0 : cfg->port;
    a->server_port = -1;
    if (cfg->port == -1) a->port = -1;
    a->max_pods = cfg->max_pods > 0 ? cfg->max_pods : 110;
    a->control_plane = cfg->control_plane;
    a->lease_renew_ms = cfg->lease_renew_ms > 0 ? cfg->lease_renew_ms : 10000;
    a->status_ms = cfg->status_ms > 0 ? cfg->status_ms : 10000;
    a->gc_high_pct = cfg->image_gc_high_pct > 0 ? cfg->image_gc_high_pct : 85;
    a->gc_low_pct = cfg->image_gc_low_pct > 0 ? cfg->image_gc_low_pct : 80;

    a->pods_res = sk_resource_find("", "v1", "pods");
    a->nodes_res = sk_resource_find("", "v1", "nodes");
    a->leases_res = sk_resource_find("coordination.k8s.io", "v1", "leases");
    a->secrets_res = sk_resource_find("", "v1", "secrets");
    a->services_res = sk_resource_find("", "v1", "services");
    pthread_mutex_init(&a->mu, NULL);
    pthread_mutex_init(&a->watch_mu, NULL);
    pthread_mutex_init(&a->routes_mu, NULL);
    a->routes = json_object();
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->cond, &ca);
    pthread_condattr_destroy(&ca);
    a->epfd = epoll_create1(EPOLL_CLOEXEC);
    a->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (a->epfd < 0 || a->wakefd < 0) {
        sk_err_sys(err, "agent: epoll");
        sk_agent_free(a);
        return NULL;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(a->epfd, EPOLL_CTL_ADD, a->wakefd, &ev);

    a->rec = sk_recorder_new(a->client, "kubelet", a->node_name);
    /* a kubelet's defaults (eventRecordQPS 50, eventBurst 100): a hundred
     * pods starting at once report at once, the rest follows at 50/s
     * instead of competing with the pods for the CPU */
    sk_recorder_set_rate(a->rec, 50, 100);
    a->q = sk_workqueue_new();
    _sk_free_ char *pod_fs = sk_printf("spec.nodeName=%s", a->node_name);
    a->pods_inf = sk_informer_new(a->client, a->pods_res, NULL, NULL, pod_fs, 0);
    sk_informer_set_transform(a->pods_inf, trim_pod, NULL);
    sk_informer_add_handlers(a->pods_inf, &(struct sk_informer_handlers){on_pod, on_pod_update, on_pod, a});
    a->svc_inf = sk_informer_new(a->client, a->services_res, NULL, NULL, NULL, 0);
    a->node_inf = sk_informer_new(a->client, a->nodes_res, NULL, NULL, NULL, 0);
    sk_informer_add_handlers(a->node_inf,
                             &(struct sk_informer_handlers){on_node, on_node_update, on_node_delete, a});
    return a;
}

static int make_dirs(sk_agent *a, sk_err *err)
{
    static const char *const sub[] = {"pods", "logs", "cni"};
    for (size_t i = 0; i < SK_ARRAY_LEN(sub); i++) {
        _sk_free_ char *d = sk_printf("%s/%s", a->data_dir, sub[i]);
        if (sk_mkdir_p(d, 0755, err) < 0) return -1;
    }
    return 0;
}

static void on_probe_change(void *ud, const char *pod_key)
{
    sk_agent *a = ud;
    sk_workqueue_add(a->q, pod_key);
}

static int start_server(sk_agent *a, sk_err *err)
{
    if (a->port < 0) return 0;
    struct sk_kl_server_config sc = {.bind_address = a->bind_address, .port = a->port,
                                     .cert_pem = a->cert_pem, .key_pem = a->key_pem,
                                     .client_ca_pem = a->client_ca_pem,
                                     .allowed_cn = a->api_client_cn, .rt = a->rt,
                                     .lookup = sk_ag_lookup, .lookup_ud = a};
    a->server = sk_kl_server_new(&sc, err);
    if (!a->server) return sk_err_wrap(err, "agent HTTPS API");
    a->server_port = sk_kl_server_port(a->server);
    return 0;
}

static int start_threads(sk_agent *a, sk_err *err)
{
    if (pthread_create(&a->exit_thread, NULL, exit_main, a) != 0) return sk_err_sys(err, "agent: exit watcher");
    a->exit_thread_started = true;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 512 * 1024);
    for (; a->nworkers < SK_AG_WORKERS; a->nworkers++)
        if (pthread_create(&a->workers[a->nworkers], &at, worker_main, a) != 0) break;
    pthread_attr_destroy(&at);
    if (a->nworkers < SK_AG_WORKERS) return sk_err_sys(err, "agent: worker threads");
    return 0;
}

int sk_agent_start(sk_agent *a, sk_err *err)
{
    int64_t t0 = sk_now_ms();
    if (make_dirs(a, err) < 0) return -1;
    if (a->samples_dir) {
        sk_err e = SK_ERR_INIT;
        if (sk_image_builtin_load(a->images, a->samples_dir, a->busybox_path, &e) < 0)
            sk_log(SK_WARN, "agent", "built-in images not loaded: %s", e.msg);
        sk_err_clear(&e);
        sk_mem_trim(true); /* the unpacking's buffers are not needed again */
    }
    if (start_server(a, err) < 0) return -1;
    if (sk_ag_node_start(a, err) < 0) return -1;
    if (sk_informer_start(a->node_inf, err) < 0 || sk_informer_start(a->svc_inf, err) < 0 ||
        sk_informer_start(a->pods_inf, err) < 0)
        return sk_err_wrap(err, "agent");
    if (!sk_informer_wait_synced(a->pods_inf, 60000) || !sk_informer_wait_synced(a->node_inf, 60000))
        return sk_err_set(err, SK_ETIMEOUT, "agent: pod and node informers did not sync");
    sk_informer_wait_synced(a->svc_inf, 10000);
    a->prober = sk_kl_prober_new(a->rt, on_probe_change, a, err);
    if (!a->prober) return sk_err_wrap(err, "agent: prober");
    sk_ag_adopt(a);
    if (start_threads(a, err) < 0) return -1;
    a->started = true;
    sk_ag_requeue_all(a);
    sk_log(SK_INFO, "agent", "node %s: agent started in %lld ms (runtime crun %s, API port %d)",
           a->node_name, (long long)(sk_now_ms() - t0), sk_rt_version(a->rt), a->server_port);
    return 0;
}

void sk_agent_free(sk_agent *a)
{
    if (!a) return;
    pthread_mutex_lock(&a->mu);
    a->stop = true;
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->mu);
    sk_kl_server_free(a->server);
    sk_ag_node_stop(a);
    pthread_mutex_lock(&a->mu);
    while (a->async_jobs > 0) pthread_cond_wait(&a->cond, &a->mu);
    pthread_mutex_unlock(&a->mu);
    if (a->q) sk_workqueue_shutdown(a->q);
    for (int i = 0; i < a->nworkers; i++) pthread_join(a->workers[i], NULL);
    /* a worker still syncing at the first wait may have started another job */
    pthread_mutex_lock(&a->mu);
    while (a->async_jobs > 0) pthread_cond_wait(&a->cond, &a->mu);
    pthread_mutex_unlock(&a->mu);
    sk_informer_free(a->pods_inf);
    sk_informer_free(a->svc_inf);
    sk_informer_free(a->node_inf);
    if (a->exit_thread_started) {
        uint64_t one = 1;
        if (write(a->wakefd, &one, sizeof one) < 0) sk_log(SK_WARN, "agent", "wake exit watcher: %s", strerror(errno));
        pthread_join(a->exit_thread, NULL);
    }
    sk_kl_prober_free(a->prober);
    for (struct sk_ag_watch *w = a->watches, *next; w; w = next) {
        next = w->next;
        close(w->fd);
        free(w);
    }
    if (a->epfd >= 0) close(a->epfd);
    if (a->wakefd >= 0) close(a->wakefd);
    if (a->q) sk_workqueue_free(a->q);
    sk_recorder_free(a->rec);
    sk_ag_node_free(a);
    for (size_t i = 0; i < a->npods; i++) pod_free(a->pods[i]);
    free(a->pods);
    sk_net_free(a->net);
    char *strs[] = {a->node_name, a->data_dir, a->run_dir, a->node_ip, a->node_netns, a->cni_plugin_dir,
                    a->cni_bridge, a->samples_dir, a->busybox_path, a->bind_address, a->cert_pem,
                    a->key_pem, a->client_ca_pem, a->api_client_cn, a->cluster_dns, a->cluster_domain};
    for (size_t i = 0; i < SK_ARRAY_LEN(strs); i++) free(strs[i]);
    pthread_mutex_destroy(&a->mu);
    pthread_mutex_destroy(&a->watch_mu);
    pthread_mutex_destroy(&a->routes_mu);
    json_decref(a->routes);
    pthread_cond_destroy(&a->cond);
    free(a);
}
