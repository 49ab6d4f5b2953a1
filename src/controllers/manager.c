/* The controller manager: builds every enabled controller, shares one
 * informer per resource between them, starts the informers, waits for
 * their first lists, then starts the controllers' workers. With leader
 * election, all of that happens only while holding the Lease
 * kube-system/kube-controller-manager. */
#include "controllers/controllers_int.h"

#include <pthread.h>
#include <string.h>

/* csr_approve.c, csr_sign.c: the TLS bootstrap of joining nodes */
extern const struct sk_controller_ops sk_ctrl_csrapproving, sk_ctrl_csrsigning;
extern const struct sk_controller_ops sk_ctrl_servicelb; /* servicelb.c */

static const struct sk_controller_ops *const all_ops[] = {
    &sk_ctrl_replicaset,       &sk_ctrl_deployment,     &sk_ctrl_endpoints,
    &sk_ctrl_endpointslice,    &sk_ctrl_namespace,      &sk_ctrl_garbagecollector,
    &sk_ctrl_nodelifecycle,    &sk_ctrl_serviceaccount,
    &sk_ctrl_csrapproving,     &sk_ctrl_csrsigning,
    &sk_ctrl_servicelb,
};

#define NCTRL SK_ARRAY_LEN(all_ops)

struct shared_inf {
    const struct sk_resource *res;
    sk_informer *inf;
};

struct named_rec {
    char *component;
    sk_recorder *rec;
};

struct sk_ctrl_ctx {
    struct sk_ctrlmgr_config cfg;
    sk_client *client;
    struct shared_inf *infs;
    size_t ninfs;
    struct named_rec *recs;
    size_t nrecs;
    pthread_mutex_t lock;
};

struct sk_ctrlmgr {
    struct sk_ctrl_ctx ctx;
    void *ctrl[NCTRL];
    bool started[NCTRL];
    sk_leader *leader;
    bool running;
    pthread_mutex_t lock;
    char *disabled;
    char *cidr;
    char *identity;
};

const char *const *sk_ctrlmgr_names(void)
{
    static const char *names[NCTRL + 1];
    for (size_t i = 0; i < NCTRL; i++) names[i] = all_ops[i]->name;
    return names;
}

const struct sk_resource *sk_ctx_res(const char *group, const char *plural)
{
    size_t n;
    const struct sk_resource *const *all = sk_resources(&n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(all[i]->group, group) && !strcmp(all[i]->plural, plural)) return all[i];
    return NULL;
}

/* Controllers never read managedFields or the last-applied annotation:
 * leave them out of the shared caches (they can be most of an object). */
static json_t *copy_keys(const json_t *src, const char *const *keys)
{
    json_t *out = json_object();
    for (size_t i = 0; keys[i]; i++) {
        json_t *v = json_object_get(src, keys[i]);
        if (v) json_object_set(out, keys[i], v);
    }
    return out;
}

/* Replaces obj[key] by its process-wide shared copy (sk_json_intern): the
 * pods of one ReplicaSet repeat their labels, owner reference, tolerations
 * and containers. */
static void share_keys(json_t *obj, const char *const *keys)
{
    for (; *keys; keys++) {
        json_t *v = json_object_get(obj, *keys);
        if (v) json_object_set_new(obj, *keys, sk_json_intern(v));
    }
}

/* Pods are most of the cache: controllers read their metadata, status, and
 * from the spec only node placement, DNS names, tolerations (eviction),
 * grace period and container names and ports (endpoints). */
static json_t *trim_pod_spec(const json_t *spec)
{
    static const char *const keep[] = {"nodeName", "hostname", "subdomain", "tolerations",
                                       "terminationGracePeriodSeconds", "restartPolicy",
                                       "priority", NULL};
    static const char *const ckeep[] = {"name", "ports", "restartPolicy", NULL};
    json_t *out = copy_keys(spec, keep);
    const char *lists[] = {"containers", "initContainers"};
    for (size_t l = 0; l < 2; l++) {
        json_t *cs = json_object_get(spec, lists[l]);
        if (!json_is_array(cs)) continue;
        json_t *a = json_array();
        size_t i;
        json_t *c;
        json_array_foreach(cs, i, c) json_array_append_new(a, copy_keys(c, ckeep));
        json_object_set_new(out, lists[l], a);
    }
    share_keys(out, (const char *const[]){"tolerations", "containers", "initContainers", NULL});
    return out;
}

/* Arrays of objects with only the given keys. */
static json_t *copy_each(const json_t *arr, const char *const *keys)
{
    json_t *a = json_array(), *o;
    size_t i;
    json_array_foreach(arr, i, o) json_array_append_new(a, copy_keys(o, keys));
    return a;
}

/* From the status: phase, addresses, start time, condition states (Ready
 * and its transition time drive availability) and restart counts (the
 * ReplicaSet's deletion order); not images, container states or messages. */
static json_t *trim_pod_status(const json_t *st)
{
    static const char *const keep[] = {"phase", "podIP", "podIPs", "hostIP", "startTime",
                                       "reason", NULL};
    static const char *const ckeep[] = {"type", "status", "lastTransitionTime", NULL};
    static const char *const skeep[] = {"name", "ready", "restartCount", NULL};
    json_t *out = copy_keys(st, keep);
    json_t *v;
    if ((v = json_object_get(st, "conditions")))
        json_object_set_new(out, "conditions", copy_each(v, ckeep));
    if ((v = json_object_get(st, "containerStatuses")))
        json_object_set_new(out, "containerStatuses", copy_each(v, skeep));
    if ((v = json_object_get(st, "initContainerStatuses")))
        json_object_set_new(out, "initContainerStatuses", copy_each(v, skeep));
    return out;
}

static json_t *trim_meta(void *ud, const json_t *obj)
{
    const char *kind = sk_json_str(obj, "kind");
    bool pod = kind && !strcmp(kind, "Pod") && json_is_object(json_object_get(obj, "spec"));
    const json_t *meta = json_object_get(obj, "metadata");
    const json_t *ann = json_object_get(meta, "annotations");
    bool lac = json_object_get(ann, "kubectl.kubernetes.io/last-applied-configuration") != NULL;
    if (!pod && !json_object_get(meta, "managedFields") && !lac) return json_incref((json_t *)obj);
    json_t *out = json_copy((json_t *)obj);
    if (pod) json_object_set_new(out, "spec", trim_pod_spec(json_object_get(obj, "spec")));
    if (pod && json_is_object(json_object_get(obj, "status")))
        json_object_set_new(out, "status", trim_pod_status(json_object_get(obj, "status")));
    json_t *m = json_copy((json_t *)meta);
    json_object_del(m, "managedFields");
    if (lac) {
        json_t *a = json_copy((json_t *)ann);
        json_object_del(a, "kubectl.kubernetes.io/last-applied-configuration");
        json_object_set_new(m, "annotations", a);
    }
    if (pod) share_keys(m, (const char *const[]){"labels", "ownerReferences", "annotations",
                                                  "finalizers", NULL});
    json_object_set_new(out, "metadata", m);
    return out;
}

sk_informer *sk_ctx_informer(struct sk_ctrl_ctx *ctx, const char *group, const char *plural)
{
    const struct sk_resource *r = sk_ctx_res(group, plural);
    if (!r) return NULL;
    pthread_mutex_lock(&ctx->lock);
    for (size_t i = 0; i < ctx->ninfs; i++) {
        if (ctx->infs[i].res == r) {
            pthread_mutex_unlock(&ctx->lock);
            return ctx->infs[i].inf;
        }
    }
    ctx->infs = sk_realloc(ctx->infs, (ctx->ninfs + 1) * sizeof *ctx->infs);
    /* resync every 10 minutes, like upstream's default informer resync */
    sk_informer *inf = sk_informer_new(ctx->client, r, NULL, NULL, NULL, 600000);
    sk_informer_set_transform(inf, trim_meta, NULL);
    ctx->infs[ctx->ninfs].res = r;
    ctx->infs[ctx->ninfs].inf = inf;
    ctx->ninfs++;
    pthread_mutex_unlock(&ctx->lock);
    return inf;
}

sk_recorder *sk_ctx_recorder(struct sk_ctrl_ctx *ctx, const char *component)
{
    pthread_mutex_lock(&ctx->lock);
    for (size_t i = 0; i < ctx->nrecs; i++) {
        if (!strcmp(ctx->recs[i].component, component)) {
            pthread_mutex_unlock(&ctx->lock);
            return ctx->recs[i].rec;
        }
    }
    ctx->recs = sk_realloc(ctx->recs, (ctx->nrecs + 1) * sizeof *ctx->recs);
    ctx->recs[ctx->nrecs].component = sk_strdup(component);
    sk_recorder *rec = sk_recorder_new(ctx->client, component, NULL);
    ctx->recs[ctx->nrecs].rec = rec;
    ctx->nrecs++;
    pthread_mutex_unlock(&ctx->lock);
    return rec;
}

sk_client *sk_ctx_client(struct sk_ctrl_ctx *ctx) { return ctx->client; }
const struct sk_ctrlmgr_config *sk_ctx_config(struct sk_ctrl_ctx *ctx) { return &ctx->cfg; }

/* ---- worker pool ------------------------------------------------------------ */

struct sk_workers {
    sk_workqueue *q;
    int (*fn)(void *c, const char *key);
    void *c;
    int n;
    pthread_t *threads;
};

static void *worker_main(void *arg)
{
    struct sk_workers *w = arg;
    char *key;
    while ((key = sk_workqueue_get(w->q))) {
        if (w->fn(w->c, key) == 0) sk_workqueue_forget(w->q, key);
        else sk_workqueue_add_rate_limited(w->q, key);
        sk_workqueue_done(w->q, key);
        free(key);
    }
    return NULL;
}

sk_workers *sk_workers_start(sk_workqueue *q, int n, int (*fn)(void *c, const char *key), void *c)
{
    struct sk_workers *w = sk_calloc(1, sizeof *w);
    w->q = q;
    w->fn = fn;
    w->c = c;
    w->threads = sk_calloc((size_t)n, sizeof *w->threads);
    for (int i = 0; i < n; i++) {
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setstacksize(&a, 512 * 1024);
        if (pthread_create(&w->threads[w->n], &a, worker_main, w) == 0) w->n++;
        pthread_attr_destroy(&a);
    }
    return w;
}

void sk_workers_join(sk_workers *w)
{
    if (!w) return;
    for (int i = 0; i < w->n; i++) pthread_join(w->threads[i], NULL);
    free(w->threads);
    free(w);
}

/* ---- manager ------------------------------------------------------------------ */

static bool disabled(const char *list, const char *name)
{
    if (!list) return false;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == n && !strncmp(p, name, n)) return true;
        if (!c) break;
        p = c + 1;
    }
    return false;
}

static int run_controllers(struct sk_ctrlmgr *m, sk_err *err)
{
    for (size_t i = 0; i < NCTRL; i++) {
        if (disabled(m->ctx.cfg.disabled, all_ops[i]->name)) continue;
        m->ctrl[i] = all_ops[i]->new(&m->ctx, err);
        if (!m->ctrl[i]) return sk_err_wrap(err, "controller %s", all_ops[i]->name);
    }
    for (size_t i = 0; i < m->ctx.ninfs; i++)
        if (sk_informer_start(m->ctx.infs[i].inf, err) < 0) return -1;
    for (size_t i = 0; i < m->ctx.ninfs; i++) {
        if (!sk_informer_wait_synced(m->ctx.infs[i].inf, 60000))
            return sk_err_set(err, SK_ETIMEOUT, "informer for %s did not sync",
                              m->ctx.infs[i].res->plural);
    }
    for (size_t i = 0; i < NCTRL; i++) {
        if (!m->ctrl[i]) continue;
        if (all_ops[i]->start(m->ctrl[i], err) < 0) return sk_err_wrap(err, "start %s", all_ops[i]->name);
        m->started[i] = true;
    }
    sk_log(SK_INFO, "controller-manager", "controllers running");
    return 0;
}

static void on_lead(void *ud)
{
    struct sk_ctrlmgr *m = ud;
    sk_err err = SK_ERR_INIT;
    pthread_mutex_lock(&m->lock);
    if (!m->running) {
        m->running = true;
        sk_log(SK_INFO, "controller-manager", "became leader");
        if (run_controllers(m, &err) < 0)
            sk_log(SK_ERROR, "controller-manager", "%s", err.msg);
    }
    pthread_mutex_unlock(&m->lock);
    sk_err_clear(&err);
}

static void on_lose(void *ud)
{
    /* Upstream exits when leadership is lost; here the controllers keep
     * their state stopped by the process owner. Log loudly. */
    sk_log(SK_WARN, "controller-manager", "lost leadership");
}

sk_ctrlmgr *sk_ctrlmgr_new(const struct sk_ctrlmgr_config *cfg, sk_err *err)
{
    if (!cfg->client) {
        sk_err_set(err, SK_EINVALID, "controller manager needs a client");
        return NULL;
    }
    struct sk_ctrlmgr *m = sk_calloc(1, sizeof *m);
    m->ctx.cfg = *cfg;
    m->disabled = sk_strdup(cfg->disabled);
    m->cidr = sk_strdup(cfg->cluster_cidr ? cfg->cluster_cidr : "10.244.0.0/16");
    m->identity = sk_strdup(cfg->identity ? cfg->identity : "skiff");
    m->ctx.cfg.disabled = m->disabled;
    m->ctx.cfg.cluster_cidr = m->cidr;
    m->ctx.cfg.identity = m->identity;
    if (!m->ctx.cfg.node_monitor_grace_ms) m->ctx.cfg.node_monitor_grace_ms = 50000;
    if (!m->ctx.cfg.workers) m->ctx.cfg.workers = 4;
    m->ctx.client = cfg->client;
    pthread_mutex_init(&m->ctx.lock, NULL);
    pthread_mutex_init(&m->lock, NULL);
    if (m->disabled) {
        /* reject unknown names early: a typo would silently run everything */
        const char *p = m->disabled;
        while (*p) {
            const char *c = strchr(p, ',');
            size_t len = c ? (size_t)(c - p) : strlen(p);
            bool known = len == 0;
            for (size_t k = 0; k < NCTRL; k++)
                if (strlen(all_ops[k]->name) == len && !strncmp(all_ops[k]->name, p, len)) known = true;
            if (!known) {
                sk_err_set(err, SK_EINVALID, "unknown controller \"%.*s\" in --disable-controllers",
                           (int)len, p);
                sk_ctrlmgr_free(m);
                return NULL;
            }
            if (!c) break;
            p = c + 1;
        }
    }
    return m;
}

int sk_ctrlmgr_start(sk_ctrlmgr *m, sk_err *err)
{
    if (m->ctx.cfg.leader_elect) {
        m->leader = sk_leader_new(m->ctx.client, "kube-system", "kube-controller-manager",
                                  m->identity, 0, 0, 0, on_lead, on_lose, m);
        return sk_leader_start(m->leader, err);
    }
    pthread_mutex_lock(&m->lock);
    m->running = true;
    int rc = run_controllers(m, err);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

bool sk_ctrlmgr_is_leader(sk_ctrlmgr *m)
{
    return m->leader ? sk_leader_is_leader(m->leader) : m->running;
}

void sk_ctrlmgr_free(sk_ctrlmgr *m)
{
    if (!m) return;
    sk_leader_free(m->leader); /* releases the lease first so a peer can take over */
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < NCTRL; i++)
        if (m->ctrl[i] && m->started[i]) all_ops[i]->stop(m->ctrl[i]);
    for (size_t i = 0; i < m->ctx.ninfs; i++) sk_informer_stop(m->ctx.infs[i].inf);
    for (size_t i = 0; i < NCTRL; i++)
        if (m->ctrl[i]) all_ops[i]->free(m->ctrl[i]);
    for (size_t i = 0; i < m->ctx.ninfs; i++) sk_informer_free(m->ctx.infs[i].inf);
    for (size_t i = 0; i < m->ctx.nrecs; i++) {
        sk_recorder_free(m->ctx.recs[i].rec);
        free(m->ctx.recs[i].component);
    }
    pthread_mutex_unlock(&m->lock);
    free(m->ctx.infs);
    free(m->ctx.recs);
    pthread_mutex_destroy(&m->ctx.lock);
    pthread_mutex_destroy(&m->lock);
    free(m->disabled);
    free(m->cidr);
    free(m->identity);
    free(m);
}
