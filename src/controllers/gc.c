/* The garbage collector (upstream pkg/controller/garbagecollector, v1.32).
 *
 * Informer handlers turn events into sk_gc_event records on a FIFO; one
 * graph thread applies them to the dependency graph (gc_graph.c) and
 * feeds two work queues keyed by uid:
 *  - attemptToDelete: an object whose owners may be gone. Its owners are
 *    verified with live GETs (the graph may lag); when none is left it is
 *    deleted (Background, or Foreground when it has dependents and an owner
 *    waits in foreground deletion); dangling references next to a live
 *    owner are removed instead. An owner being deleted in the foreground
 *    has its blocking dependents deleted, then its foregroundDeletion
 *    finalizer removed, so the API server deletes it.
 *  - attemptToOrphan: an owner deleted with the orphan finalizer: its
 *    reference is removed from every dependent, then the finalizer.
 * Owners known to be absent are cached so deleting many dependents of one
 * owner costs one GET. Handlers never block on the API.
 * Partial: only the resources in `monitored` are watched (owners of other
 * kinds are still verified by GET); no events are recorded for invalid
 * cross-namespace ownerReferences. */
#include "controllers/controllers_int.h"
#include "controllers/gc_int.h"

#include <pthread.h>
#include <string.h>

#define ABSENT_CACHE_MAX 1024
#define FINALIZER_RETRIES 5
#define GC_WORKERS 20 /* upstream --concurrent-gc-syncs default */

static const struct {
    const char *group, *plural;
} monitored[] = {
    {"", "pods"}, {"", "services"}, {"", "endpoints"}, {"", "configmaps"}, {"", "secrets"},
    {"", "serviceaccounts"}, {"", "persistentvolumeclaims"}, {"", "persistentvolumes"},
    {"", "nodes"}, {"apps", "replicasets"}, {"apps", "deployments"}, {"apps", "statefulsets"},
    {"apps", "daemonsets"}, {"apps", "controllerrevisions"}, {"batch", "jobs"},
    {"batch", "cronjobs"}, {"discovery.k8s.io", "endpointslices"},
    {"coordination.k8s.io", "leases"},
};

struct gc;

struct gc_res {
    struct gc *gc;
    const struct sk_resource *r;
    char api_version[96];
};

struct change {
    struct change *next;
    struct sk_gc_event ev;
};

struct gc {
    sk_client *c;
    struct gc_res res[SK_ARRAY_LEN(monitored)];
    size_t nres;
    sk_gc_graph *graph;
    pthread_mutex_t glock;
    /* graph changes, filled by informer threads */
    pthread_mutex_t qlock;
    pthread_cond_t qcond;
    struct change *head, *tail;
    bool stopping, busy;
    pthread_t graph_thread;
    bool graph_running;
    sk_workqueue *del_q, *orphan_q;
    sk_workers *del_w, *orphan_w;
    int nworkers;
    pthread_mutex_t alock;
    json_t *absent; /* sk_gc_ident_key -> true */
};

/* ---- graph changes --------------------------------------------------------------------- */

static void push_change(struct gc *g, struct change *ch)
{
    pthread_mutex_lock(&g->qlock);
    if (g->tail) g->tail->next = ch;
    else g->head = ch;
    g->tail = ch;
    pthread_cond_broadcast(&g->qcond);
    pthread_mutex_unlock(&g->qlock);
}

static void on_event(struct gc_res *gr, enum sk_gc_ev_type type, const json_t *obj,
                     const json_t *old)
{
    struct change *ch = sk_calloc(1, sizeof *ch);
    sk_gc_event_from_obj(&ch->ev, type, gr->api_version, gr->r->kind, obj, old);
    push_change(gr->gc, ch);
}

static void h_add(void *ud, const json_t *obj) { on_event(ud, SK_GC_ADD, obj, NULL); }
static void h_update(void *ud, const json_t *old, const json_t *cur) { on_event(ud, SK_GC_UPDATE, cur, old); }
static void h_delete(void *ud, const json_t *obj) { on_event(ud, SK_GC_DELETE, obj, NULL); }

static void virtual_delete(struct gc *g, const struct sk_gc_ident *id)
{
    struct change *ch = sk_calloc(1, sizeof *ch);
    sk_gc_event_virtual_delete(&ch->ev, id);
    push_change(g, ch);
}

static void absent_add(struct gc *g, const char *key)
{
    pthread_mutex_lock(&g->alock);
    if (json_object_size(g->absent) >= ABSENT_CACHE_MAX) json_object_clear(g->absent);
    json_object_set_new(g->absent, key, json_true());
    pthread_mutex_unlock(&g->alock);
}

static bool absent_has(struct gc *g, const char *key)
{
    pthread_mutex_lock(&g->alock);
    bool has = json_object_get(g->absent, key) != NULL;
    pthread_mutex_unlock(&g->alock);
    return has;
}

static void apply_actions(struct gc *g, struct sk_gc_actions *a)
{
    for (size_t i = 0; i < a->nabsent; i++) {
        _sk_free_ char *k = sk_gc_ident_key(&a->absent[i], NULL);
        absent_add(g, k);
    }
    for (size_t i = 0; i < a->ndel; i++) sk_workqueue_add(g->del_q, a->del[i]);
    for (size_t i = 0; i < a->norphan; i++) sk_workqueue_add(g->orphan_q, a->orphan[i]);
}

static void *graph_main(void *arg)
{
    struct gc *g = arg;
    pthread_mutex_lock(&g->qlock);
    for (;;) {
        while (!g->head && !g->stopping) {
            g->busy = false;
            pthread_cond_broadcast(&g->qcond);
            pthread_cond_wait(&g->qcond, &g->qlock);
        }
        if (g->stopping) break;
        struct change *ch = g->head;
        g->head = ch->next;
        if (!g->head) g->tail = NULL;
        g->busy = true;
        pthread_mutex_unlock(&g->qlock);
        struct sk_gc_actions a = {0};
        pthread_mutex_lock(&g->glock);
        sk_gc_graph_process(g->graph, &ch->ev, &a);
        pthread_mutex_unlock(&g->glock);
        apply_actions(g, &a);
        sk_gc_actions_release(&a);
        sk_gc_event_release(&ch->ev);
        free(ch);
        pthread_mutex_lock(&g->qlock);
    }
    pthread_mutex_unlock(&g->qlock);
    return NULL;
}

/* ---- API helpers --------------------------------------------------------------------------- */

static const struct sk_resource *resource_for(const char *api_version, const char *kind)
{
    char group[96] = "";
    const char *slash = strchr(api_version ? api_version : "", '/');
    if (slash) snprintf(group, sizeof group, "%.*s", (int)(slash - api_version), api_version);
    return sk_resource_by_kind(group, kind ? kind : "");
}

static bool has_finalizer(const json_t *obj, const char *f)
{
    size_t i;
    json_t *v;
    json_array_foreach(sk_json_path(obj, "metadata.finalizers"), i, v)
        if (json_is_string(v) && !strcmp(json_string_value(v), f)) return true;
    return false;
}

/* Live object for id; NULL + err (SK_ENOTFOUND when absent). */
static json_t *get_object(struct gc *g, const struct sk_gc_ident *id, sk_err *err)
{
    const struct sk_resource *r = resource_for(id->api_version, id->kind);
    if (!r) {
        sk_err_set(err, SK_EINTERNAL, "unable to find a resource for %s, Kind=%s", id->api_version, id->kind);
        return NULL;
    }
    return sk_client_get(g->c, r, r->namespaced ? id->ns : NULL, id->name, err);
}

static int delete_object(struct gc *g, const struct sk_gc_ident *id, const char *policy)
{
    const struct sk_resource *r = resource_for(id->api_version, id->kind);
    if (!r) return -1;
    sk_err err = SK_ERR_INIT;
    int rc = sk_client_delete(g->c, r, r->namespaced ? id->ns : NULL, id->name, policy, -1,
                              id->uid, &err);
    /* gone already, or a new object with the same name (uid precondition) */
    if (rc < 0 && (err.code == SK_ENOTFOUND || err.code == SK_ECONFLICT)) rc = 0;
    if (rc < 0)
        sk_log(SK_DEBUG, "garbagecollector", "delete %s %s/%s: %s", id->kind, id->ns, id->name,
               err.msg);
    else
        sk_log(SK_DEBUG, "garbagecollector", "deleting %s %s/%s (%s)", id->kind, id->ns, id->name,
               policy);
    sk_err_clear(&err);
    return rc;
}

/* Removes finalizer f from the object (merge patch guarded by
 * resourceVersion, retried on conflicts). */
static int remove_finalizer(struct gc *g, const struct sk_gc_ident *id, const char *f)
{
    const struct sk_resource *r = resource_for(id->api_version, id->kind);
    if (!r) return -1;
    for (int attempt = 0; attempt < FINALIZER_RETRIES; attempt++) {
        sk_err err = SK_ERR_INIT;
        json_t *cur = get_object(g, id, &err);
        if (!cur || strcmp(sk_json_path_str(cur, "metadata.uid") ?: "", id->uid) ||
            !has_finalizer(cur, f)) {
            int rc = (!cur && err.code != SK_ENOTFOUND) ? -1 : 0;
            json_decref(cur);
            sk_err_clear(&err);
            return rc;
        }
        json_t *kept = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(sk_json_path(cur, "metadata.finalizers"), i, v)
            if (!json_is_string(v) || strcmp(json_string_value(v), f)) json_array_append(kept, v);
        json_t *patch = json_pack("{s:{s:O,s:o}}", "metadata", "resourceVersion",
                                  sk_json_path(cur, "metadata.resourceVersion"), "finalizers",
                                  json_array_size(kept) ? kept : json_null());
        if (!json_array_size(kept)) json_decref(kept);
        json_t *res = sk_client_patch(g->c, r, r->namespaced ? id->ns : NULL, id->name,
                                      "application/merge-patch+json", patch, NULL, &err);
        json_decref(patch);
        json_decref(cur);
        json_decref(res);
        int code = err.code;
        sk_err_clear(&err);
        if (res || code == SK_ENOTFOUND) return 0;
        if (code != SK_ECONFLICT) return -1;
    }
    return -1;
}

/* Removes the ownerReferences with the given uids from obj's live
 * version: a JSON patch whose tests pin the uid and the positions, so a
 * concurrent change makes it fail (and be retried) instead of removing
 * the wrong entry. */
static int remove_owner_refs(struct gc *g, const struct sk_gc_ident *id, json_t *uids)
{
    const struct sk_resource *r = resource_for(id->api_version, id->kind);
    if (!r) return -1;
    for (int attempt = 0; attempt < FINALIZER_RETRIES; attempt++) {
        sk_err err = SK_ERR_INIT;
        json_t *cur = get_object(g, id, &err);
        if (!cur || strcmp(sk_json_path_str(cur, "metadata.uid") ?: "", id->uid)) {
            int rc = (!cur && err.code != SK_ENOTFOUND) ? -1 : 0;
            json_decref(cur);
            sk_err_clear(&err);
            return rc;
        }
        json_t *ops = json_array();
        json_array_append_new(ops, json_pack("{s:s,s:s,s:s}", "op", "test", "path", "/metadata/uid",
                                             "value", id->uid));
        json_t *refs = sk_json_path(cur, "metadata.ownerReferences");
        size_t nrefs = json_array_size(refs), nremoved = 0;
        for (size_t i = nrefs; i-- > 0;) {
            const char *u = sk_json_str(json_array_get(refs, i), "uid");
            if (!u || !json_object_get(uids, u)) continue;
            json_array_append_new(ops, json_pack("{s:s,s:o,s:s}", "op", "test", "path",
                                                 json_sprintf("/metadata/ownerReferences/%zu/uid", i),
                                                 "value", u));
            json_array_append_new(ops, json_pack("{s:s,s:o}", "op", "remove", "path",
                                                 json_sprintf("/metadata/ownerReferences/%zu", i)));
            nremoved++;
        }
        /* the last reference takes the field with it, as upstream's patch does */
        if (nremoved && nremoved == nrefs)
            json_array_append_new(ops, json_pack("{s:s,s:s}", "op", "remove", "path",
                                                 "/metadata/ownerReferences"));
        json_decref(cur);
        if (!nremoved) {
            json_decref(ops);
            return 0; /* nothing left to remove */
        }
        json_t *res = sk_client_patch(g->c, r, r->namespaced ? id->ns : NULL, id->name,
                                      "application/json-patch+json", ops, NULL, &err);
        json_decref(ops);
        json_decref(res);
        int code = err.code;
        sk_err_clear(&err);
        if (res || code == SK_ENOTFOUND) return 0;
        if (code != SK_EINVALID && code != SK_ECONFLICT) return -1;
    }
    return -1;
}

/* ---- attemptToDelete ------------------------------------------------------------------------ */

enum owner_state { OWNER_SOLID, OWNER_DANGLING, OWNER_WAITING };

/* upstream isDangling + classifyReferences for one reference of item. */
static int classify(struct gc *g, const struct sk_gc_ident *item, const struct sk_gc_ref *ref,
                    enum owner_state *st)
{
    struct sk_gc_ident oid = {ref->api_version, ref->kind, item->ns, ref->name, ref->uid};
    _sk_free_ char *k_cluster = sk_gc_ident_key(&oid, "");
    _sk_free_ char *k_ns = sk_gc_ident_key(&oid, NULL);
    if (absent_has(g, k_cluster) || absent_has(g, k_ns)) {
        *st = OWNER_DANGLING;
        return 0;
    }
    const struct sk_resource *r = resource_for(ref->api_version, ref->kind);
    if (!r) return -1; /* unknown kind: retried, as upstream's rest mapping errors */
    if (r->namespaced && !item->ns[0]) return 1; /* cluster-scoped item, namespaced owner: never valid */
    sk_err err = SK_ERR_INIT;
    json_t *owner = sk_client_get(g->c, r, r->namespaced ? item->ns : NULL, ref->name, &err);
    if (!owner) {
        int code = err.code;
        sk_err_clear(&err);
        if (code != SK_ENOTFOUND) return -1;
        absent_add(g, r->namespaced ? k_ns : k_cluster);
        *st = OWNER_DANGLING;
        return 0;
    }
    if (strcmp(sk_json_path_str(owner, "metadata.uid") ?: "", ref->uid)) {
        absent_add(g, r->namespaced ? k_ns : k_cluster);
        *st = OWNER_DANGLING;
    } else {
        json_t *dt = sk_json_path(owner, "metadata.deletionTimestamp");
        bool waiting = dt && !json_is_null(dt) && has_finalizer(owner, SK_GC_FIN_FOREGROUND);
        *st = waiting ? OWNER_WAITING : OWNER_SOLID;
    }
    json_decref(owner);
    return 0;
}

/* An owner in foreground deletion: wait for its blocking dependents, then
 * drop the finalizer. */
static int process_deleting_dependents(struct gc *g, const struct sk_gc_snap *s)
{
    bool blocked = false;
    for (size_t i = 0; i < s->ndeps; i++) {
        if (!s->deps[i].blocking) continue;
        blocked = true;
        if (!s->deps[i].deleting_deps) sk_workqueue_add(g->del_q, s->deps[i].id.uid);
    }
    if (blocked) return 0;
    return remove_finalizer(g, &s->id, SK_GC_FIN_FOREGROUND);
}

static int delete_item(struct gc *g, const struct sk_gc_snap *s, const json_t *latest)
{
    size_t nrefs;
    struct sk_gc_ref *refs = sk_gc_refs_parse(latest, &nrefs);
    if (!nrefs) {
        sk_gc_refs_free(refs, nrefs);
        return 0;
    }
    size_t nsolid = 0, nwaiting = 0;
    json_t *drop = json_object(); /* uids of dangling and waiting references */
    int rc = 0;
    for (size_t i = 0; i < nrefs && rc == 0; i++) {
        enum owner_state st;
        rc = classify(g, &s->id, &refs[i], &st);
        if (rc) break;
        if (st == OWNER_SOLID) nsolid++;
        else json_object_set_new(drop, refs[i].uid, json_true());
        if (st == OWNER_WAITING) nwaiting++;
    }
    sk_gc_refs_free(refs, nrefs);
    if (rc > 0) rc = 0; /* invalid reference: nothing will ever change */
    else if (rc == 0 && nsolid) {
        /* a live owner keeps it; references to dead or foreground-deleting
         * owners would block those owners forever, so they go */
        if (json_object_size(drop)) rc = remove_owner_refs(g, &s->id, drop);
    } else if (rc == 0) {
        const char *policy = "Background";
        if (nwaiting && s->ndeps) policy = "Foreground";
        else if (has_finalizer(latest, SK_GC_FIN_ORPHAN)) policy = "Orphan";
        else if (has_finalizer(latest, SK_GC_FIN_FOREGROUND)) policy = "Foreground";
        rc = delete_object(g, &s->id, policy);
    }
    json_decref(drop);
    return rc;
}

static bool still_virtual(struct gc *g, const char *uid)
{
    struct sk_gc_snap s;
    pthread_mutex_lock(&g->glock);
    bool found = sk_gc_graph_snapshot(g->graph, uid, &s);
    pthread_mutex_unlock(&g->glock);
    bool v = found && s.is_virtual;
    if (found) sk_gc_snap_release(&s);
    return v;
}

static int attempt_to_delete(void *ud, const char *uid)
{
    struct gc *g = ud;
    struct sk_gc_snap s;
    pthread_mutex_lock(&g->glock);
    bool found = sk_gc_graph_snapshot(g->graph, uid, &s);
    pthread_mutex_unlock(&g->glock);
    if (!found) return 0;
    int rc = 0;
    /* being deleted is a one-way trip: its dependents are handled when it goes */
    if (s.being_deleted && !s.deleting_deps) goto out;
    sk_err err = SK_ERR_INIT;
    json_t *latest = get_object(g, &s.id, &err);
    if (!latest || strcmp(sk_json_path_str(latest, "metadata.uid") ?: "", s.id.uid)) {
        if (latest || err.code == SK_ENOTFOUND) virtual_delete(g, &s.id);
        else rc = -1;
        json_decref(latest);
        sk_err_clear(&err);
        goto out;
    }
    if (s.deleting_deps) rc = process_deleting_dependents(g, &s);
    else rc = delete_item(g, &s, latest);
    json_decref(latest);
    /* not yet seen by an informer: look again later (upstream issue 56121) */
    if (rc == 0 && still_virtual(g, uid)) rc = -1;
out:
    sk_gc_snap_release(&s);
    return rc;
}

/* ---- attemptToOrphan ------------------------------------------------------------------------ */

static int attempt_to_orphan(void *ud, const char *uid)
{
    struct gc *g = ud;
    struct sk_gc_snap s;
    pthread_mutex_lock(&g->glock);
    bool found = sk_gc_graph_snapshot(g->graph, uid, &s);
    pthread_mutex_unlock(&g->glock);
    if (!found) return 0;
    json_t *drop = json_pack("{s:b}", s.id.uid, 1);
    int rc = 0;
    for (size_t i = 0; i < s.ndeps; i++)
        if (remove_owner_refs(g, &s.deps[i].id, drop) < 0) rc = -1;
    json_decref(drop);
    if (rc == 0) rc = remove_finalizer(g, &s.id, SK_GC_FIN_ORPHAN);
    sk_gc_snap_release(&s);
    return rc;
}

/* ---- lifecycle ---------------------------------------------------------------------------------- */

static void *gc_new(struct sk_ctrl_ctx *ctx, sk_err *err)
{
    struct gc *g = sk_calloc(1, sizeof *g);
    g->c = sk_ctx_client(ctx);
    g->graph = sk_gc_graph_new();
    g->absent = json_object();
    g->del_q = sk_workqueue_new();
    g->orphan_q = sk_workqueue_new();
    /* GC work is mostly waiting on the API: as many workers as upstream */
    g->nworkers = sk_ctx_config(ctx)->workers > GC_WORKERS ? sk_ctx_config(ctx)->workers : GC_WORKERS;
    pthread_mutex_init(&g->glock, NULL);
    pthread_mutex_init(&g->qlock, NULL);
    pthread_mutex_init(&g->alock, NULL);
    pthread_cond_init(&g->qcond, NULL);
    for (size_t i = 0; i < SK_ARRAY_LEN(monitored); i++) {
        const struct sk_resource *r = sk_ctx_res(monitored[i].group, monitored[i].plural);
        if (!r || !(r->verbs & SK_V_WATCH)) continue;
        sk_informer *inf = sk_ctx_informer(ctx, monitored[i].group, monitored[i].plural);
        if (!inf) continue;
        struct gc_res *gr = &g->res[g->nres++];
        gr->gc = g;
        gr->r = r;
        sk_resource_api_version(r, gr->api_version, sizeof gr->api_version);
        sk_informer_add_handlers(inf, &(struct sk_informer_handlers){h_add, h_update, h_delete, gr});
    }
    return g;
}

static int gc_start(void *c, sk_err *err)
{
    struct gc *g = c;
    if (pthread_create(&g->graph_thread, NULL, graph_main, g) != 0)
        return sk_err_sys(err, "garbage collector graph thread");
    g->graph_running = true;
    /* like upstream, act only once the initial lists are in the graph */
    pthread_mutex_lock(&g->qlock);
    while (g->head || g->busy) pthread_cond_wait(&g->qcond, &g->qlock);
    pthread_mutex_unlock(&g->qlock);
    sk_log(SK_INFO, "garbagecollector", "graph synced: %zu objects", sk_gc_graph_len(g->graph));
    g->del_w = sk_workers_start(g->del_q, g->nworkers, attempt_to_delete, g);
    g->orphan_w = sk_workers_start(g->orphan_q, 4, attempt_to_orphan, g);
    return 0;
}

static void gc_stop(void *c)
{
    struct gc *g = c;
    sk_workqueue_shutdown(g->del_q);
    sk_workqueue_shutdown(g->orphan_q);
    sk_workers_join(g->del_w);
    sk_workers_join(g->orphan_w);
    g->del_w = g->orphan_w = NULL;
    if (g->graph_running) {
        pthread_mutex_lock(&g->qlock);
        g->stopping = true;
        pthread_cond_broadcast(&g->qcond);
        pthread_mutex_unlock(&g->qlock);
        pthread_join(g->graph_thread, NULL);
        g->graph_running = false;
    }
}

static void gc_free(void *c)
{
    struct gc *g = c;
    if (!g) return;
    while (g->head) {
        struct change *ch = g->head;
        g->head = ch->next;
        sk_gc_event_release(&ch->ev);
        free(ch);
    }
    sk_workqueue_free(g->del_q);
    sk_workqueue_free(g->orphan_q);
    sk_gc_graph_free(g->graph);
    json_decref(g->absent);
    pthread_mutex_destroy(&g->glock);
    pthread_mutex_destroy(&g->qlock);
    pthread_mutex_destroy(&g->alock);
    pthread_cond_destroy(&g->qcond);
    free(g);
}

const struct sk_controller_ops sk_ctrl_garbagecollector = {
    .name = "garbagecollector",
    .new = gc_new,
    .start = gc_start,
    .stop = gc_stop,
    .free = gc_free,
};
