/* sk_scheduler: informers feed the cache and the queue; one scheduling
 * thread takes pods off the queue and, with the lock held, filters and
 * scores every node against cached per-node aggregates (O(nodes) per pod),
 * assumes the pod on the chosen node so the next decision sees it, and
 * hands the binding to a pool of binder threads. Binders POST
 * pods/binding, record Scheduled / FailedScheduling events and set
 * PodScheduled=False on unschedulable pods; a failed binding forgets the
 * assumed pod and requeues it.
 *
 * Threads: informer threads (handlers), the scheduling thread, binders.
 * s->mu guards the cache, the queue and the flags; binders hold no pod
 * pointers across the lock, only keys. */
#include "scheduler/scheduler_int.h"

#include <sched.h>
#include <string.h>

/* Upstream binds each pod in its own goroutine; binding latency is the
 * store's commit, so throughput needs many requests in flight. */
#define BINDERS 64
#define TICK_MS 100

struct job {
    struct job *next;
    bool bind;          /* else: unschedulable report */
    char *key, *uid, *node, *msg;
    json_t *pod;        /* for the event's involvedObject */
};

struct sk_scheduler {
    sk_client *client;
    bool leader_elect;
    char *identity;
    sk_recorder *rec;
    sk_informer *pods_inf, *nodes_inf;
    sk_leader *leader;
    const struct sk_resource *pods_res;

    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct sk_sched_cache cache;
    struct sk_sched_queue q;
    bool stop, active, loop_started;
    int waiting; /* threads waiting for mu */
    pthread_t loop;
    uint64_t seed;
    struct sk_sched_node **feasible; /* scratch, nslots long */
    int cap_feasible;

    pthread_mutex_t jmu; /* binder jobs */
    pthread_cond_t jcond;
    struct job *jhead, **jtail;
    bool jstop;
    int64_t burst_first, burst_last; /* bindings since the last report */
    long burst_n;
    int nbinders;
    pthread_t binders[BINDERS];
};

/* Handlers announce themselves so the scheduling thread, which otherwise
 * re-takes the lock at once, steps aside between two pods. */
static void lock_s(struct sk_scheduler *s)
{
    __atomic_add_fetch(&s->waiting, 1, __ATOMIC_ACQ_REL);
    pthread_mutex_lock(&s->mu);
    __atomic_sub_fetch(&s->waiting, 1, __ATOMIC_ACQ_REL);
}

/* ---- pods in the cache -------------------------------------------------------- */

static bool responsible(const json_t *pod)
{
    const char *sn = sk_json_path_str(pod, "spec.schedulerName");
    return !sn || !*sn || !strcmp(sn, "default-scheduler");
}

static bool terminal(const json_t *pod)
{
    const char *ph = sk_json_path_str(pod, "status.phase");
    return ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed"));
}

static void pod_remove(struct sk_scheduler *s, struct sk_sched_podstate *ps)
{
    bool freed = ps->node != NULL;
    sk_sched_cache_place(&s->cache, ps, NULL);
    sk_sched_queue_move(&s->q, ps, SK_Q_NONE);
    sk_smap_del(&s->cache.pods, ps->key);
    sk_sched_podstate_free(ps);
    if (freed) sk_sched_queue_move_all(&s->q, sk_now_ms());
}

static void pod_upsert(struct sk_scheduler *s, const json_t *cpod)
{
    json_t *pod = (json_t *)cpod; /* only referenced, never modified */
    _sk_free_ char *key = sk_object_key(pod);
    const char *uid = sk_json_path_str(pod, "metadata.uid");
    if (!key || !uid) return;
    struct sk_sched_podstate *ps = sk_smap_get(&s->cache.pods, key);
    if (ps && strcmp(ps->uid, uid)) { /* a new pod under the same name */
        pod_remove(s, ps);
        ps = NULL;
    }
    if (terminal(pod)) { /* terminal pods hold no resources */
        if (ps) pod_remove(s, ps);
        return;
    }
    bool spec_changed = !ps || !json_equal(sk_json_path(ps->obj, "spec"), sk_json_path(pod, "spec")) ||
                        !json_equal(sk_json_path(ps->obj, "metadata.labels") ?: json_null(),
                                    sk_json_path(pod, "metadata.labels") ?: json_null());
    if (!ps) {
        ps = sk_calloc(1, sizeof *ps);
        ps->key = SK_TAKE(key);
        sk_smap_put(&s->cache.pods, ps->key, ps);
    }
    const char *node = sk_json_path_str(pod, "spec.nodeName");
    bool assumed = ps->assumed;
    _sk_free_ char *was = ps->node ? sk_strdup(ps->node->name) : NULL;
    if (spec_changed && was) sk_sched_cache_place(&s->cache, ps, NULL);
    if (spec_changed) sk_sched_podstate_load(ps, pod);
    else {
        json_incref(pod);
        json_decref(ps->obj);
        ps->obj = pod;
    }
    if (node && *node) {
        sk_sched_cache_place(&s->cache, ps, node);
        ps->assumed = false; /* observed: confirmed (or bound by someone else) */
        if (ps->q != SK_Q_INFLIGHT) sk_sched_queue_move(&s->q, ps, SK_Q_NONE);
        return;
    }
    if (assumed && was) { /* binding in flight, not observed yet */
        if (spec_changed) sk_sched_cache_place(&s->cache, ps, was);
        ps->assumed = true;
        return;
    }
    bool want = responsible(pod) && !sk_json_path(pod, "metadata.deletionTimestamp");
    if (!want) {
        if (ps->q != SK_Q_INFLIGHT) sk_sched_queue_move(&s->q, ps, SK_Q_NONE);
    } else if (ps->q == SK_Q_NONE || (ps->q == SK_Q_UNSCHED && spec_changed)) {
        sk_sched_queue_move(&s->q, ps, SK_Q_ACTIVE);
        pthread_cond_signal(&s->cond);
    }
}

static void on_pod_add(void *ud, const json_t *obj)
{
    struct sk_scheduler *s = ud;
    lock_s(s);
    pod_upsert(s, obj);
    pthread_mutex_unlock(&s->mu);
}

static void on_pod_update(void *ud, const json_t *old, const json_t *cur)
{
    on_pod_add(ud, cur);
}

static void on_pod_delete(void *ud, const json_t *obj)
{
    struct sk_scheduler *s = ud;
    _sk_free_ char *key = sk_object_key(obj);
    if (!key) return;
    lock_s(s);
    struct sk_sched_podstate *ps = sk_smap_get(&s->cache.pods, key);
    const char *uid = sk_json_path_str(obj, "metadata.uid");
    if (ps && (!uid || !strcmp(uid, ps->uid))) {
        pod_remove(s, ps);
        pthread_cond_signal(&s->cond);
    }
    pthread_mutex_unlock(&s->mu);
}

static void on_node_add(void *ud, const json_t *obj)
{
    struct sk_scheduler *s = ud;
    lock_s(s);
    if (sk_sched_cache_node_set(&s->cache, (json_t *)obj)) {
        sk_sched_queue_move_all(&s->q, sk_now_ms());
        pthread_cond_signal(&s->cond);
    }
    pthread_mutex_unlock(&s->mu);
}

static void on_node_update(void *ud, const json_t *old, const json_t *cur)
{
    on_node_add(ud, cur);
}

static void on_node_delete(void *ud, const json_t *obj)
{
    struct sk_scheduler *s = ud;
    const char *name = sk_json_path_str(obj, "metadata.name");
    if (!name) return;
    lock_s(s);
    sk_sched_cache_node_del(&s->cache, name);
    pthread_mutex_unlock(&s->mu);
}

/* ---- binder jobs ---------------------------------------------------------------- */

static void job_free(struct job *j)
{
    free(j->key);
    free(j->uid);
    free(j->node);
    free(j->msg);
    json_decref(j->pod);
    free(j);
}

static void job_push(struct sk_scheduler *s, struct sk_sched_podstate *ps, const char *node,
                     char *msg)
{
    struct job *j = sk_calloc(1, sizeof *j);
    j->bind = node != NULL;
    j->key = sk_strdup(ps->key);
    j->uid = sk_strdup(ps->uid);
    j->node = sk_strdup(node);
    j->msg = msg;
    j->pod = json_incref(ps->obj);
    pthread_mutex_lock(&s->jmu);
    *s->jtail = j;
    s->jtail = &j->next;
    pthread_cond_signal(&s->jcond);
    pthread_mutex_unlock(&s->jmu);
}

static struct job *job_pop(struct sk_scheduler *s)
{
    pthread_mutex_lock(&s->jmu);
    while (!s->jhead && !s->jstop) pthread_cond_wait(&s->jcond, &s->jmu);
    struct job *j = s->jhead;
    if (j && !s->jstop) {
        s->jhead = j->next;
        if (!s->jhead) s->jtail = &s->jhead;
    } else {
        j = NULL;
    }
    pthread_mutex_unlock(&s->jmu);
    return j;
}

/* The binding was refused or failed: forget the assumption and retry. */
static void bind_failed(struct sk_scheduler *s, struct job *j, const sk_err *err)
{
    lock_s(s);
    struct sk_sched_podstate *ps = sk_smap_get(&s->cache.pods, j->key);
    bool ours = ps && !strcmp(ps->uid, j->uid) && ps->assumed && ps->node &&
                !strcmp(ps->node->name, j->node);
    if (ours) {
        sk_sched_cache_place(&s->cache, ps, NULL);
        /* Conflict: already bound; the informer will show where. */
        if (err->code != SK_ECONFLICT && err->code != SK_ENOTFOUND)
            sk_sched_queue_failed(&s->q, ps, sk_now_ms());
        sk_sched_queue_move_all(&s->q, sk_now_ms());
        pthread_cond_signal(&s->cond);
    }
    pthread_mutex_unlock(&s->mu);
    if (ours && err->code != SK_ECONFLICT && err->code != SK_ENOTFOUND)
        sk_event(s->rec, j->pod, "Warning", "FailedScheduling", "Binding rejected: %s", err->msg);
}

static void do_bind(struct sk_scheduler *s, struct job *j)
{
    char ns[256], name[256];
    sk_key_split(j->key, ns, sizeof ns, name, sizeof name);
    _sk_free_ char *path = sk_printf("/api/v1/namespaces/%s/pods/%s/binding", ns, name);
    _sk_json_ json_t *body = json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:{s:s,s:s,s:s}}", "apiVersion",
                                       "v1", "kind", "Binding", "metadata", "name", name,
                                       "namespace", ns, "uid", j->uid, "target", "apiVersion",
                                       "v1", "kind", "Node", "name", j->node);
    sk_err err = SK_ERR_INIT;
    long status = 0;
    json_t *res = sk_client_request(s->client, "POST", path, body, "application/json", &status, &err);
    json_decref(res);
    if (status >= 200 && status < 300) {
        sk_event(s->rec, j->pod, "Normal", "Scheduled", "Successfully assigned %s/%s to %s", ns,
                 name, j->node);
        pthread_mutex_lock(&s->jmu);
        s->burst_last = sk_now_ms();
        if (!s->burst_n++) s->burst_first = s->burst_last;
        pthread_mutex_unlock(&s->jmu);
    } else {
        if (!err.code) sk_err_set(&err, SK_EINTERNAL, "binding: HTTP %ld", status);
        sk_log(SK_DEBUG, "scheduler", "bind %s to %s: %s", j->key, j->node, err.msg);
        bind_failed(s, j, &err);
    }
    sk_err_clear(&err);
}

/* FailedScheduling event and PodScheduled=False with the same message. */
static void do_report(struct sk_scheduler *s, struct job *j)
{
    char ns[256], name[256], now[40];
    sk_key_split(j->key, ns, sizeof ns, name, sizeof name);
    sk_event(s->rec, j->pod, "Warning", "FailedScheduling", "%s", j->msg);
    const char *since = NULL;
    json_t *c;
    size_t i;
    json_array_foreach(sk_json_path(j->pod, "status.conditions"), i, c) {
        const char *t = sk_json_str(c, "type"), *st = sk_json_str(c, "status");
        if (t && !strcmp(t, "PodScheduled") && st && !strcmp(st, "False")) {
            const char *m = sk_json_str(c, "message");
            if (m && !strcmp(m, j->msg)) return; /* already says so */
            since = sk_json_str(c, "lastTransitionTime");
        }
    }
    sk_time_format(sk_wall_ms() / 1000, now, sizeof now);
    _sk_json_ json_t *patch = json_pack(
        "{s:{s:[{s:s,s:s,s:s,s:s,s:n,s:s}]}}", "status", "conditions", "type", "PodScheduled",
        "status", "False", "reason", "Unschedulable", "message", j->msg, "lastProbeTime",
        "lastTransitionTime", since ? since : now);
    sk_err err = SK_ERR_INIT;
    json_t *res = sk_client_patch(s->client, s->pods_res, ns, name,
                                  "application/strategic-merge-patch+json", patch, "status", &err);
    if (!res && err.code != SK_ENOTFOUND)
        sk_log(SK_DEBUG, "scheduler", "pod %s: PodScheduled condition: %s", j->key, err.msg);
    json_decref(res);
    sk_err_clear(&err);
}

static void *binder_main(void *arg)
{
    struct sk_scheduler *s = arg;
    struct job *j;
    while ((j = job_pop(s))) {
        if (j->bind) do_bind(s, j);
        else do_report(s, j);
        job_free(j);
    }
    return NULL;
}

/* ---- one scheduling attempt (lock held) ----------------------------------------------- */

struct observe_ctx {
    struct sk_sched_pod *p;
};

static void observe_anti(void *ud, const char *key, void *val)
{
    struct sk_sched_podstate *o = val;
    struct observe_ctx *oc = ud;
    if (o->node) sk_sched_topo_observe(oc->p, o->obj, o->node->labels);
}

static void resolve_topology(struct sk_scheduler *s, struct sk_sched_pod *p)
{
    struct observe_ctx oc = {p};
    if (!sk_sched_topo_begin(p)) {
        sk_smap_each(&s->cache.anti, observe_anti, &oc);
        return;
    }
    for (int i = 0; i < s->cache.nslots; i++) {
        struct sk_sched_node *n = s->cache.slots[i];
        for (int k = 0; n && k < n->npods; k++) sk_sched_topo_observe(p, n->pods[k]->obj, n->labels);
    }
}

static void schedule_failed(struct sk_scheduler *s, struct sk_sched_podstate *ps, char *msg)
{
    sk_sched_queue_failed(&s->q, ps, sk_now_ms());
    sk_log(SK_DEBUG, "scheduler", "pod %s: %s", ps->key, msg);
    free(ps->last_msg);
    ps->last_msg = sk_strdup(msg);
    job_push(s, ps, NULL, msg);
}

static void schedule_one(struct sk_scheduler *s, struct sk_sched_podstate *ps)
{
    if (ps->node || sk_json_path(ps->obj, "metadata.deletionTimestamp") || !responsible(ps->obj)) {
        sk_sched_queue_move(&s->q, ps, SK_Q_NONE);
        return;
    }
    struct sk_sched_pod p;
    sk_sched_pod_init(&p, ps->obj);
    resolve_topology(s, &p);
    if (s->cap_feasible < s->cache.nslots) {
        s->cap_feasible = s->cache.nslots + 16;
        s->feasible = sk_realloc(s->feasible, (size_t)s->cap_feasible * sizeof *s->feasible);
    }
    struct sk_sched_diag diag = {.nnodes = s->cache.nnodes};
    struct sk_sched_status st;
    int nf = 0;
    for (int i = 0; i < s->cache.nslots; i++) {
        struct sk_sched_node *n = s->cache.slots[i];
        if (!n || !n->obj) continue;
        if (sk_sched_filter(&p, n, &st)) s->feasible[nf++] = n;
        else sk_sched_diag_add(&diag, &st);
    }
    if (nf == 0) {
        schedule_failed(s, ps, sk_sched_diag_message(&diag, p.preempt_never));
        sk_sched_pod_release(&p);
        return;
    }
    struct sk_sched_scorer sc;
    int64_t *total = sk_calloc((size_t)nf, sizeof *total);
    const struct sk_sched_owner *own = sk_sched_cache_owner(&s->cache, p.owner_uid);
    sk_sched_scorer_init(&sc, nf);
    for (int i = 0; i < nf; i++) {
        int slot = s->feasible[i]->slot;
        sk_sched_score_node(&p, s->feasible[i], own && slot < own->cap ? own->count[slot] : 0, &sc, i);
    }
    sk_sched_score_finish(&sc, total);
    struct sk_sched_node *best = s->feasible[sk_sched_pick(total, nf, &s->seed)];
    sk_sched_scorer_release(&sc);
    free(total);
    sk_sched_pod_release(&p);
    /* Assume: later decisions see the pod there before the API confirms. */
    sk_sched_queue_move(&s->q, ps, SK_Q_NONE);
    sk_sched_cache_place(&s->cache, ps, best->name);
    ps->assumed = true;
    ps->attempts = 0;
    job_push(s, ps, best->name, NULL);
}

/* One line per burst of bindings (quiet for 2 s), for operators and benchmarks. */
static void report_burst(struct sk_scheduler *s, int64_t now)
{
    pthread_mutex_lock(&s->jmu);
    long n = s->burst_n;
    int64_t dt = s->burst_last - s->burst_first;
    bool quiet = n && now - s->burst_last > 2000;
    if (quiet) s->burst_n = 0;
    pthread_mutex_unlock(&s->jmu);
    if (quiet && n >= 100)
        sk_log(SK_INFO, "scheduler", "bound %ld pods in %lld ms (%.0f pods/s)", n, (long long)dt,
               dt > 0 ? n * 1000.0 / dt : (double)n);
}

static void *loop_main(void *arg)
{
    struct sk_scheduler *s = arg;
    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE) &&
           !(sk_informer_wait_synced(s->nodes_inf, 1000) && sk_informer_wait_synced(s->pods_inf, 1000))) {
    }
    pthread_mutex_lock(&s->mu);
    int64_t next_tick = 0, wait = TICK_MS;
    while (!s->stop) {
        int64_t now = sk_now_ms();
        if (now >= next_tick || s->q.nactive == 0) {
            wait = sk_sched_queue_tick(&s->q, now, 1000);
            next_tick = now + TICK_MS;
            report_burst(s, now);
        }
        struct sk_sched_podstate *ps = s->active ? sk_sched_queue_pop(&s->q) : NULL;
        if (ps) {
            schedule_one(s, ps);
            if (__atomic_load_n(&s->waiting, __ATOMIC_ACQUIRE)) {
                pthread_mutex_unlock(&s->mu);
                while (__atomic_load_n(&s->waiting, __ATOMIC_ACQUIRE)) sched_yield();
                pthread_mutex_lock(&s->mu);
            }
            continue;
        }
        sk_cond_wait_ms(&s->cond, &s->mu, CLOCK_MONOTONIC, wait > 0 ? wait : 1);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- lifecycle -------------------------------------------------------------------------- */

static void set_active(struct sk_scheduler *s, bool on)
{
    lock_s(s);
    s->active = on;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->mu);
    sk_log(SK_INFO, "scheduler", on ? "leading: scheduling pods" : "lost leadership: paused");
}

static void leader_start(void *ud) { set_active(ud, true); }
static void leader_stop(void *ud) { set_active(ud, false); }

/* The scheduler keeps only what filters and scores read (~3 KB a pod). */
static json_t *trim_pod_cb(void *ud, const json_t *pod) { return sk_sched_trim_pod(pod); }

sk_scheduler *sk_scheduler_new(const struct sk_scheduler_config *cfg, sk_err *err)
{
    if (!cfg || !cfg->client) {
        sk_err_set(err, SK_EINVALID, "scheduler: a client is required");
        return NULL;
    }
    struct sk_scheduler *s = sk_calloc(1, sizeof *s);
    s->client = cfg->client;
    s->leader_elect = cfg->leader_elect;
    char host[128] = "skiff", uuid[37];
    gethostname(host, sizeof host - 1);
    sk_uuid4(uuid);
    s->identity = cfg->identity ? sk_strdup(cfg->identity) : sk_printf("%s_%s", host, uuid);
    s->pods_res = sk_resource_find("", "v1", "pods");
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&s->jmu, NULL);
    pthread_cond_init(&s->jcond, NULL);
    s->jtail = &s->jhead;
    sk_sched_queue_init(&s->q);
    s->seed = (uint64_t)sk_wall_ms() * 2654435761ULL + 1;
    s->rec = sk_recorder_new(s->client, "default-scheduler", NULL);
    s->pods_inf = sk_informer_new(s->client, s->pods_res, NULL, NULL, NULL, 0);
    sk_informer_set_transform(s->pods_inf, trim_pod_cb, NULL);
    s->nodes_inf = sk_informer_new(s->client, sk_resource_find("", "v1", "nodes"), NULL, NULL, NULL, 0);
    struct sk_informer_handlers ph = {on_pod_add, on_pod_update, on_pod_delete, s};
    struct sk_informer_handlers nh = {on_node_add, on_node_update, on_node_delete, s};
    sk_informer_add_handlers(s->pods_inf, &ph);
    sk_informer_add_handlers(s->nodes_inf, &nh);
    return s;
}

int sk_scheduler_start(sk_scheduler *s, sk_err *err)
{
    if (sk_informer_start(s->nodes_inf, err) < 0 || sk_informer_start(s->pods_inf, err) < 0)
        return sk_err_wrap(err, "scheduler");
    s->active = !s->leader_elect;
    if (pthread_create(&s->loop, NULL, loop_main, s) != 0)
        return sk_err_sys(err, "scheduler: thread");
    s->loop_started = true;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 256 * 1024);
    for (; s->nbinders < BINDERS; s->nbinders++)
        if (pthread_create(&s->binders[s->nbinders], &a, binder_main, s) != 0) break;
    pthread_attr_destroy(&a);
    if (s->nbinders < BINDERS) return sk_err_sys(err, "scheduler: binder thread");
    if (s->leader_elect) {
        s->leader = sk_leader_new(s->client, "kube-system", "kube-scheduler", s->identity, 0, 0, 0,
                                  leader_start, leader_stop, s);
        if (sk_leader_start(s->leader, err) < 0) return sk_err_wrap(err, "scheduler: leader election");
    }
    sk_log(SK_INFO, "scheduler", "started (identity %s%s)", s->identity,
           s->leader_elect ? ", leader election" : "");
    return 0;
}

void sk_scheduler_free(sk_scheduler *s)
{
    if (!s) return;
    lock_s(s);
    __atomic_store_n(&s->stop, true, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    if (s->loop_started) pthread_join(s->loop, NULL);
    pthread_mutex_lock(&s->jmu);
    s->jstop = true;
    pthread_cond_broadcast(&s->jcond);
    pthread_mutex_unlock(&s->jmu);
    for (int i = 0; i < s->nbinders; i++) pthread_join(s->binders[i], NULL);
    for (struct job *j = s->jhead, *next; j; j = next) {
        next = j->next;
        job_free(j);
    }
    sk_leader_free(s->leader);
    sk_informer_free(s->pods_inf);
    sk_informer_free(s->nodes_inf);
    sk_recorder_free(s->rec);
    sk_sched_cache_release(&s->cache);
    free(s->feasible);
    free(s->identity);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->jmu);
    pthread_cond_destroy(&s->jcond);
    free(s);
}
