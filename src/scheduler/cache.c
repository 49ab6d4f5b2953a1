/* The scheduler's view of the cluster: a node table (slots, so per-node
 * arrays can be indexed), every live pod, and aggregates kept current as
 * pods are placed and removed, including pods the scheduler assumed on a
 * node before the API confirmed the binding. Also a small string hash map.
 * All of it is guarded by the scheduler lock. */
#include "scheduler/scheduler_int.h"

#include <string.h>

/* ---- string map ----------------------------------------------------------- */

struct sk_smap_ent {
    struct sk_smap_ent *next;
    uint64_t h;
    void *val;
    char key[];
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static struct sk_smap_ent **slot_of(const struct sk_smap *m, const char *key, uint64_t h)
{
    struct sk_smap_ent **e = &m->b[h & (m->nb - 1)];
    while (*e && ((*e)->h != h || strcmp((*e)->key, key))) e = &(*e)->next;
    return e;
}

void *sk_smap_get(const struct sk_smap *m, const char *key)
{
    if (!m->nb) return NULL;
    struct sk_smap_ent *e = *slot_of(m, key, hash(key));
    return e ? e->val : NULL;
}

static void grow(struct sk_smap *m)
{
    size_t nb = m->nb ? m->nb * 2 : 64;
    struct sk_smap_ent **b = sk_calloc(nb, sizeof *b);
    for (size_t i = 0; i < m->nb; i++)
        for (struct sk_smap_ent *e = m->b[i], *next; e; e = next) {
            next = e->next;
            e->next = b[e->h & (nb - 1)];
            b[e->h & (nb - 1)] = e;
        }
    free(m->b);
    m->b = b;
    m->nb = nb;
}

void sk_smap_put(struct sk_smap *m, const char *key, void *val)
{
    if (m->n >= m->nb) grow(m);
    uint64_t h = hash(key);
    struct sk_smap_ent **e = slot_of(m, key, h);
    if (*e) {
        (*e)->val = val;
        return;
    }
    size_t len = strlen(key) + 1;
    struct sk_smap_ent *n = sk_malloc(sizeof *n + len);
    memcpy(n->key, key, len);
    n->h = h;
    n->val = val;
    n->next = NULL;
    *e = n;
    m->n++;
}

void *sk_smap_del(struct sk_smap *m, const char *key)
{
    if (!m->nb) return NULL;
    struct sk_smap_ent **e = slot_of(m, key, hash(key)), *x = *e;
    if (!x) return NULL;
    void *val = x->val;
    *e = x->next;
    free(x);
    m->n--;
    return val;
}

void sk_smap_each(const struct sk_smap *m, void (*fn)(void *ud, const char *key, void *val),
                  void *ud)
{
    for (size_t i = 0; i < m->nb; i++)
        for (struct sk_smap_ent *e = m->b[i]; e; e = e->next) fn(ud, e->key, e->val);
}

void sk_smap_release(struct sk_smap *m)
{
    for (size_t i = 0; i < m->nb; i++)
        for (struct sk_smap_ent *e = m->b[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    free(m->b);
    memset(m, 0, sizeof *m);
}

/* ---- nodes ------------------------------------------------------------------ */

static struct sk_sched_node *node_new(struct sk_sched_cache *c, const char *name)
{
    struct sk_sched_node *n = sk_calloc(1, sizeof *n);
    n->name = sk_strdup(name);
    int s;
    for (s = 0; s < c->nslots && c->slots[s]; s++) {
    }
    if (s == c->nslots) {
        c->slots = sk_realloc(c->slots, (size_t)(c->nslots + 1) * sizeof *c->slots);
        c->nslots++;
    }
    c->slots[s] = n;
    n->slot = s;
    sk_smap_put(&c->nodes, name, n);
    return n;
}

static void node_free(struct sk_sched_cache *c, struct sk_sched_node *n)
{
    sk_smap_del(&c->nodes, n->name);
    c->slots[n->slot] = NULL;
    sk_sched_node_release(n);
    free(n);
}

static bool same(const json_t *a, const json_t *b, const char *path)
{
    const json_t *x = sk_json_path(a, path), *y = sk_json_path(b, path);
    return (!x && !y) || (x && y && json_equal(x, y));
}

bool sk_sched_cache_node_set(struct sk_sched_cache *c, json_t *node)
{
    const char *name = sk_json_path_str(node, "metadata.name");
    if (!name) return false;
    struct sk_sched_node *n = sk_smap_get(&c->nodes, name);
    if (!n) n = node_new(c, name);
    bool changed = !n->obj || !same(n->obj, node, "metadata.labels") ||
                   !same(n->obj, node, "spec.taints") ||
                   !same(n->obj, node, "spec.unschedulable") ||
                   !same(n->obj, node, "status.allocatable");
    if (!n->obj) c->nnodes++;
    sk_sched_node_set(n, node);
    return changed;
}

void sk_sched_cache_node_del(struct sk_sched_cache *c, const char *name)
{
    struct sk_sched_node *n = sk_smap_get(&c->nodes, name);
    if (!n || !n->obj) return;
    c->nnodes--;
    if (n->npods == 0) {
        node_free(c, n);
        return;
    }
    /* Pods still bound to it keep a placeholder until they go. */
    json_decref(n->obj);
    free(n->taints);
    n->obj = NULL;
    n->taints = NULL;
    n->ntaints = 0;
    n->labels = n->allocatable = NULL;
    n->alloc_cpu_m = n->alloc_mem = n->alloc_eph = n->alloc_pods = 0;
}

/* ---- pods ---------------------------------------------------------------------- */

static void owner_add(struct sk_sched_cache *c, const char *uid, int slot, int sign)
{
    struct sk_sched_owner *o = sk_smap_get(&c->owners, uid);
    if (!o) {
        if (sign < 0) return;
        o = sk_calloc(1, sizeof *o);
        sk_smap_put(&c->owners, uid, o);
    }
    if (slot >= o->cap) {
        int cap = slot + 16;
        o->count = sk_realloc(o->count, (size_t)cap * sizeof *o->count);
        memset(o->count + o->cap, 0, (size_t)(cap - o->cap) * sizeof *o->count);
        o->cap = cap;
    }
    o->count[slot] += sign;
    o->total += sign;
    if (o->total <= 0) {
        sk_smap_del(&c->owners, uid);
        free(o->count);
        free(o);
    }
}

const struct sk_sched_owner *sk_sched_cache_owner(const struct sk_sched_cache *c,
                                                  const char *owner_uid)
{
    return owner_uid ? sk_smap_get(&c->owners, owner_uid) : NULL;
}

static void unplace(struct sk_sched_cache *c, struct sk_sched_podstate *ps)
{
    struct sk_sched_node *n = ps->node;
    n->pods[ps->node_idx] = n->pods[n->npods - 1];
    n->pods[ps->node_idx]->node_idx = ps->node_idx;
    sk_sched_node_account(n, &ps->req, ps->ports, ps->nports, -1);
    if (ps->owner_uid) owner_add(c, ps->owner_uid, n->slot, -1);
    if (ps->anti) sk_smap_del(&c->anti, ps->key);
    ps->node = NULL;
    ps->assumed = false;
    if (!n->obj && n->npods == 0) node_free(c, n);
}

void sk_sched_cache_place(struct sk_sched_cache *c, struct sk_sched_podstate *ps,
                          const char *name)
{
    if (ps->node && name && !strcmp(ps->node->name, name)) return;
    if (ps->node) unplace(c, ps);
    if (!name) return;
    struct sk_sched_node *n = sk_smap_get(&c->nodes, name);
    if (!n) n = node_new(c, name);
    if (n->npods == n->cap_pods) {
        n->cap_pods = n->cap_pods ? 2 * n->cap_pods : 16;
        n->pods = sk_realloc(n->pods, (size_t)n->cap_pods * sizeof *n->pods);
    }
    ps->node_idx = n->npods;
    n->pods[n->npods] = ps; /* account() bumps npods */
    sk_sched_node_account(n, &ps->req, ps->ports, ps->nports, 1);
    ps->node = n;
    if (ps->owner_uid) owner_add(c, ps->owner_uid, n->slot, 1);
    if (ps->anti) sk_smap_put(&c->anti, ps->key, ps);
}

void sk_sched_podstate_load(struct sk_sched_podstate *ps, json_t *obj)
{
    struct sk_sched_port ports[SK_SCHED_MAX_PORTS];
    json_incref(obj);
    json_decref(ps->obj);
    ps->obj = obj;
    if (!ps->uid) ps->uid = sk_strdup(sk_json_path_str(obj, "metadata.uid"));
    sk_sched_pod_requests(obj, &ps->req);
    free(ps->ports);
    ps->ports = NULL;
    ps->nports = sk_sched_pod_ports(obj, ports, SK_SCHED_MAX_PORTS);
    if (ps->nports) {
        ps->ports = sk_malloc((size_t)ps->nports * sizeof *ps->ports);
        memcpy(ps->ports, ports, (size_t)ps->nports * sizeof *ps->ports);
    }
    free(ps->owner_uid);
    ps->owner_uid = NULL;
    json_t *ref;
    size_t i;
    json_array_foreach(sk_json_path(obj, "metadata.ownerReferences"), i, ref)
        if (json_is_true(json_object_get(ref, "controller")) && sk_json_str(ref, "uid")) {
            ps->owner_uid = sk_strdup(sk_json_str(ref, "uid"));
            break;
        }
    ps->anti = sk_sched_has_anti_affinity(obj);
    ps->priority = (int)json_integer_value(sk_json_path(obj, "spec.priority"));
}

void sk_sched_podstate_free(struct sk_sched_podstate *ps)
{
    if (!ps) return;
    json_decref(ps->obj);
    free(ps->key);
    free(ps->uid);
    free(ps->owner_uid);
    free(ps->ports);
    free(ps->last_msg);
    free(ps);
}

static void free_pod(void *ud, const char *key, void *val)
{
    sk_sched_podstate_free(val);
}

static void free_owner(void *ud, const char *key, void *val)
{
    struct sk_sched_owner *o = val;
    free(o->count);
    free(o);
}

void sk_sched_cache_release(struct sk_sched_cache *c)
{
    sk_smap_each(&c->pods, free_pod, NULL);
    sk_smap_each(&c->owners, free_owner, NULL);
    for (int i = 0; i < c->nslots; i++)
        if (c->slots[i]) {
            sk_sched_node_release(c->slots[i]);
            free(c->slots[i]);
        }
    free(c->slots);
    sk_smap_release(&c->pods);
    sk_smap_release(&c->nodes);
    sk_smap_release(&c->owners);
    sk_smap_release(&c->anti);
    memset(c, 0, sizeof *c);
}
