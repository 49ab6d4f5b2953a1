/* The garbage collector's graph: a uid -> node hash map; each node knows
 * its ownerReferences (as last observed) and points at its dependents.
 * Only owners point at dependents, and a node leaves its owners' lists
 * before it is freed, so no pointer outlives its node. Semantics follow
 * upstream's GraphBuilder.processGraphChanges, including virtual nodes
 * for owners not yet observed and the identity checks that keep a bad
 * ownerReference (wrong kind, name or namespace) from deleting dependents
 * of a real owner. */
#include "controllers/gc_int.h"

#include <string.h>

struct gnode {
    struct sk_gc_ident id;
    struct sk_gc_ref *owners;
    size_t nowners;
    struct gnode **deps;
    size_t ndeps, capdeps;
    bool is_virtual, being_deleted, deleting_deps;
};

struct sk_gc_graph {
    struct gnode **slots; /* open addressing; TOMB marks a removed entry */
    size_t cap, len, used;
};

static struct gnode tomb_node;
#define TOMB (&tomb_node)

static bool streq(const char *a, const char *b) { return !strcmp(a ? a : "", b ? b : ""); }

/* ---- identities and references ------------------------------------------------------ */

void sk_gc_ident_copy(struct sk_gc_ident *dst, const struct sk_gc_ident *src)
{
    dst->api_version = sk_strdup(src->api_version ? src->api_version : "");
    dst->kind = sk_strdup(src->kind ? src->kind : "");
    dst->ns = sk_strdup(src->ns ? src->ns : "");
    dst->name = sk_strdup(src->name ? src->name : "");
    dst->uid = sk_strdup(src->uid ? src->uid : "");
}

void sk_gc_ident_release(struct sk_gc_ident *id)
{
    free(id->api_version);
    free(id->kind);
    free(id->ns);
    free(id->name);
    free(id->uid);
    memset(id, 0, sizeof *id);
}

bool sk_gc_ident_equal(const struct sk_gc_ident *a, const struct sk_gc_ident *b)
{
    return streq(a->api_version, b->api_version) && streq(a->kind, b->kind) &&
           streq(a->ns, b->ns) && streq(a->name, b->name) && streq(a->uid, b->uid);
}

char *sk_gc_ident_key(const struct sk_gc_ident *id, const char *ns_override)
{
    return sk_printf("%s|%s|%s|%s|%s", ns_override ? ns_override : id->ns, id->api_version,
                     id->kind, id->name, id->uid);
}

struct sk_gc_ref *sk_gc_refs_parse(const json_t *obj, size_t *n)
{
    json_t *refs = sk_json_path(obj, "metadata.ownerReferences");
    struct sk_gc_ref *out = sk_calloc(json_array_size(refs) + 1, sizeof *out);
    size_t k = 0, i;
    json_t *r;
    json_array_foreach(refs, i, r) {
        const char *uid = sk_json_str(r, "uid");
        if (!uid || !*uid) continue;
        bool dup = false;
        for (size_t j = 0; j < k; j++) dup = dup || !strcmp(out[j].uid, uid);
        if (dup) continue;
        out[k].api_version = sk_strdup(sk_json_str(r, "apiVersion") ?: "");
        out[k].kind = sk_strdup(sk_json_str(r, "kind") ?: "");
        out[k].name = sk_strdup(sk_json_str(r, "name") ?: "");
        out[k].uid = sk_strdup(uid);
        out[k].controller = json_is_true(json_object_get(r, "controller"));
        out[k].block = json_is_true(json_object_get(r, "blockOwnerDeletion"));
        k++;
    }
    *n = k;
    return out;
}

static void ref_release(struct sk_gc_ref *r)
{
    free(r->api_version);
    free(r->kind);
    free(r->name);
    free(r->uid);
}

void sk_gc_refs_free(struct sk_gc_ref *refs, size_t n)
{
    for (size_t i = 0; i < n; i++) ref_release(&refs[i]);
    free(refs);
}

static struct sk_gc_ref *refs_dup(const struct sk_gc_ref *refs, size_t n)
{
    struct sk_gc_ref *out = sk_calloc(n + 1, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        out[i] = refs[i];
        out[i].api_version = sk_strdup(refs[i].api_version);
        out[i].kind = sk_strdup(refs[i].kind);
        out[i].name = sk_strdup(refs[i].name);
        out[i].uid = sk_strdup(refs[i].uid);
    }
    return out;
}

static bool ref_equal(const struct sk_gc_ref *a, const struct sk_gc_ref *b)
{
    return streq(a->api_version, b->api_version) && streq(a->kind, b->kind) &&
           streq(a->name, b->name) && streq(a->uid, b->uid) && a->controller == b->controller &&
           a->block == b->block;
}

/* upstream ownerReferenceMatchesCoordinates */
static bool ref_matches(const struct sk_gc_ref *r, const struct sk_gc_ident *id)
{
    return streq(r->uid, id->uid) && streq(r->name, id->name) && streq(r->kind, id->kind) &&
           streq(r->api_version, id->api_version);
}

static bool has_fin(const json_t *obj, const char *f)
{
    size_t i;
    json_t *v;
    json_array_foreach(sk_json_path(obj, "metadata.finalizers"), i, v)
        if (json_is_string(v) && !strcmp(json_string_value(v), f)) return true;
    return false;
}

static bool deleting(const json_t *obj)
{
    json_t *dt = sk_json_path(obj, "metadata.deletionTimestamp");
    return dt && !json_is_null(dt);
}

void sk_gc_event_from_obj(struct sk_gc_event *ev, enum sk_gc_ev_type type,
                          const char *api_version, const char *kind, const json_t *obj,
                          const json_t *old)
{
    memset(ev, 0, sizeof *ev);
    ev->type = type;
    struct sk_gc_ident id = {(char *)api_version, (char *)kind,
                             (char *)sk_json_path_str(obj, "metadata.namespace"),
                             (char *)sk_json_path_str(obj, "metadata.name"),
                             (char *)sk_json_path_str(obj, "metadata.uid")};
    sk_gc_ident_copy(&ev->id, &id);
    ev->owners = sk_gc_refs_parse(obj, &ev->nowners);
    ev->being_deleted = deleting(obj);
    ev->has_orphan = has_fin(obj, SK_GC_FIN_ORPHAN);
    ev->has_fg = has_fin(obj, SK_GC_FIN_FOREGROUND);
    if (old) {
        ev->old_present = true;
        ev->old_deleted = deleting(old);
        ev->old_orphan = has_fin(old, SK_GC_FIN_ORPHAN);
        ev->old_fg = has_fin(old, SK_GC_FIN_FOREGROUND);
    }
}

void sk_gc_event_virtual_delete(struct sk_gc_event *ev, const struct sk_gc_ident *id)
{
    memset(ev, 0, sizeof *ev);
    ev->type = SK_GC_DELETE;
    ev->is_virtual = true;
    sk_gc_ident_copy(&ev->id, id);
    ev->owners = sk_calloc(1, sizeof *ev->owners);
}

void sk_gc_event_release(struct sk_gc_event *ev)
{
    sk_gc_ident_release(&ev->id);
    sk_gc_refs_free(ev->owners, ev->nowners);
    memset(ev, 0, sizeof *ev);
}

/* ---- actions -------------------------------------------------------------------------- */

static void push_str(char ***v, size_t *n, const char *s)
{
    *v = sk_realloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = sk_strdup(s);
}

static void act_delete(struct sk_gc_actions *a, const struct gnode *n)
{
    push_str(&a->del, &a->ndel, n->id.uid);
}

static void act_absent(struct sk_gc_actions *a, const struct sk_gc_ident *id)
{
    a->absent = sk_realloc(a->absent, (a->nabsent + 1) * sizeof *a->absent);
    sk_gc_ident_copy(&a->absent[a->nabsent++], id);
}

void sk_gc_actions_release(struct sk_gc_actions *a)
{
    for (size_t i = 0; i < a->ndel; i++) free(a->del[i]);
    for (size_t i = 0; i < a->norphan; i++) free(a->orphan[i]);
    for (size_t i = 0; i < a->nabsent; i++) sk_gc_ident_release(&a->absent[i]);
    free(a->del);
    free(a->orphan);
    free(a->absent);
    memset(a, 0, sizeof *a);
}

/* ---- uid -> node map -------------------------------------------------------------------- */

static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static struct gnode *map_get(const sk_gc_graph *g, const char *uid)
{
    if (!g->cap || !uid) return NULL;
    for (size_t i = hash_str(uid) & (g->cap - 1);; i = (i + 1) & (g->cap - 1)) {
        struct gnode *n = g->slots[i];
        if (!n) return NULL;
        if (n != TOMB && !strcmp(n->id.uid, uid)) return n;
    }
}

static void map_put(sk_gc_graph *g, struct gnode *n);

static void map_grow(sk_gc_graph *g)
{
    struct gnode **old = g->slots;
    size_t ocap = g->cap;
    g->cap = ocap ? (g->len * 4 > ocap ? ocap * 2 : ocap) : 64;
    g->slots = sk_calloc(g->cap, sizeof *g->slots);
    g->len = g->used = 0;
    for (size_t i = 0; i < ocap; i++)
        if (old[i] && old[i] != TOMB) map_put(g, old[i]);
    free(old);
}

static void map_put(sk_gc_graph *g, struct gnode *n)
{
    if ((g->used + 1) * 2 > g->cap) map_grow(g);
    size_t i = hash_str(n->id.uid) & (g->cap - 1);
    while (g->slots[i] && g->slots[i] != TOMB) i = (i + 1) & (g->cap - 1);
    if (!g->slots[i]) g->used++;
    g->slots[i] = n;
    g->len++;
}

static void map_del(sk_gc_graph *g, const struct gnode *n)
{
    if (!g->cap) return;
    for (size_t i = hash_str(n->id.uid) & (g->cap - 1);; i = (i + 1) & (g->cap - 1)) {
        if (!g->slots[i]) return;
        if (g->slots[i] == n) {
            g->slots[i] = TOMB;
            g->len--;
            return;
        }
    }
}

/* ---- nodes -------------------------------------------------------------------------------- */

static void node_free(struct gnode *n)
{
    sk_gc_ident_release(&n->id);
    sk_gc_refs_free(n->owners, n->nowners);
    free(n->deps);
    free(n);
}

static void add_dep(struct gnode *owner, struct gnode *dep)
{
    for (size_t i = 0; i < owner->ndeps; i++)
        if (owner->deps[i] == dep) return;
    if (owner->ndeps == owner->capdeps) {
        owner->capdeps = owner->capdeps ? owner->capdeps * 2 : 4;
        owner->deps = sk_realloc(owner->deps, owner->capdeps * sizeof *owner->deps);
    }
    owner->deps[owner->ndeps++] = dep;
}

static void remove_dep(struct gnode *owner, const struct gnode *dep)
{
    for (size_t i = 0; i < owner->ndeps; i++) {
        if (owner->deps[i] == dep) {
            owner->deps[i] = owner->deps[--owner->ndeps];
            return;
        }
    }
}

static const struct sk_gc_ref *ref_to(const struct gnode *dep, const char *owner_uid)
{
    for (size_t i = 0; i < dep->nowners; i++)
        if (!strcmp(dep->owners[i].uid, owner_uid)) return &dep->owners[i];
    return NULL;
}

/* upstream addDependentToOwners: virtual nodes for unknown owners (queued
 * so a worker verifies them), and n itself queued when one of its
 * references disagrees with an owner's observed identity. */
static void add_to_owners(sk_gc_graph *g, struct gnode *n, const struct sk_gc_ref *refs,
                          size_t nrefs, struct sk_gc_actions *out)
{
    bool suspicious = false;
    for (size_t i = 0; i < nrefs; i++) {
        const struct sk_gc_ref *r = &refs[i];
        struct gnode *o = map_get(g, r->uid);
        if (!o) {
            o = sk_calloc(1, sizeof *o);
            struct sk_gc_ident id = {r->api_version, r->kind, n->id.ns, r->name, r->uid};
            sk_gc_ident_copy(&o->id, &id);
            o->owners = sk_calloc(1, sizeof *o->owners);
            o->is_virtual = true;
            map_put(g, o);
            add_dep(o, n);
            act_delete(out, o);
            continue;
        }
        add_dep(o, n);
        if (suspicious) continue;
        bool owner_namespaced = o->id.ns[0] != 0;
        if (owner_namespaced && strcmp(o->id.ns, n->id.ns)) suspicious = true;
        else if (!ref_matches(r, &o->id)) suspicious = true;
        else if (!owner_namespaced && strcmp(o->id.ns, n->id.ns) && o->is_virtual) suspicious = true;
    }
    if (suspicious) act_delete(out, n);
}

static void remove_from_owners(sk_gc_graph *g, struct gnode *n, const struct sk_gc_ref *refs,
                               size_t nrefs)
{
    for (size_t i = 0; i < nrefs; i++) {
        struct gnode *o = map_get(g, refs[i].uid);
        if (o) remove_dep(o, n);
    }
}

static void process_transitions(const struct sk_gc_event *ev, struct gnode *n,
                                 struct sk_gc_actions *out)
{
    bool old_had_orphan = ev->old_present && ev->old_deleted && ev->old_orphan;
    bool old_had_fg = ev->old_present && ev->old_deleted && ev->old_fg;
    if (ev->being_deleted && ev->has_orphan && !old_had_orphan) {
        push_str(&out->orphan, &out->norphan, n->id.uid);
        return;
    }
    if (ev->being_deleted && ev->has_fg && !old_had_fg) {
        n->deleting_deps = true;
        for (size_t i = 0; i < n->ndeps; i++) act_delete(out, n->deps[i]);
        act_delete(out, n);
    }
}

/* upstream addUnblockedOwnersToDeleteQueue + owner list update */
static void update_owners(sk_gc_graph *g, struct gnode *n, const struct sk_gc_event *ev,
                          struct sk_gc_actions *out)
{
    bool changed = n->nowners != ev->nowners;
    for (size_t i = 0; !changed && i < n->nowners; i++)
        changed = !ref_equal(&n->owners[i], &ev->owners[i]);
    if (!changed) return;
    struct sk_gc_ref *added = sk_calloc(ev->nowners + 1, sizeof *added);
    size_t nadded = 0;
    for (size_t i = 0; i < ev->nowners; i++) {
        const struct sk_gc_ref *old = ref_to(n, ev->owners[i].uid);
        if (!old) {
            added[nadded++] = ev->owners[i];
        } else if (old->block && !ev->owners[i].block) {
            struct gnode *o = map_get(g, old->uid);
            if (o) act_delete(out, o);
        }
    }
    for (size_t i = 0; i < n->nowners; i++) {
        bool kept = false;
        for (size_t j = 0; j < ev->nowners; j++) kept = kept || streq(n->owners[i].uid, ev->owners[j].uid);
        if (kept) continue;
        struct gnode *o = map_get(g, n->owners[i].uid);
        if (!o) continue;
        if (n->owners[i].block) act_delete(out, o);
        remove_dep(o, n);
    }
    sk_gc_refs_free(n->owners, n->nowners);
    n->owners = refs_dup(ev->owners, ev->nowners);
    n->nowners = ev->nowners;
    add_to_owners(g, n, added, nadded, out);
    free(added); /* the strings belong to ev */
}

/* upstream partitionDependents: dependents whose reference to n's uid
 * matches id's coordinates (and namespace), and those that don't. */
static void partition(const struct gnode *n, const struct sk_gc_ident *id, struct gnode ***match,
                      size_t *nmatch, struct gnode ***miss, size_t *nmiss)
{
    *match = sk_calloc(n->ndeps + 1, sizeof **match);
    *miss = sk_calloc(n->ndeps + 1, sizeof **miss);
    *nmatch = *nmiss = 0;
    bool namespaced = id->ns && id->ns[0];
    for (size_t i = 0; i < n->ndeps; i++) {
        struct gnode *d = n->deps[i];
        bool found = false, mismatch = false;
        if (namespaced && strcmp(id->ns, d->id.ns)) {
            mismatch = true;
        } else {
            for (size_t k = 0; k < d->nowners; k++) {
                if (strcmp(d->owners[k].uid, id->uid)) continue;
                if (ref_matches(&d->owners[k], id)) found = true;
                else mismatch = true;
            }
        }
        if (found) (*match)[(*nmatch)++] = d;
        if (mismatch) (*miss)[(*nmiss)++] = d;
    }
}

static int ident_cmp(const struct sk_gc_ident *a, const struct sk_gc_ident *b)
{
    int c = strcmp(a->kind, b->kind);
    if (!c) c = strcmp(a->api_version, b->api_version);
    if (!c) c = strcmp(a->ns, b->ns);
    if (!c) c = strcmp(a->name, b->name);
    if (!c) c = strcmp(a->uid, b->uid);
    return c;
}

/* upstream getAlternateOwnerIdentity: the next coordinates (in sort
 * order after the absent one, else the first) dependents use for uid. */
static bool alternate_identity(struct gnode *const *deps, size_t ndeps,
                               const struct sk_gc_ident *absent, struct sk_gc_ident *out)
{
    bool cluster = !absent->ns[0];
    struct sk_gc_ident first = {0}, follow = {0};
    bool have_first = false, have_follow = false;
    for (size_t i = 0; i < ndeps; i++) {
        for (size_t k = 0; k < deps[i]->nowners; k++) {
            const struct sk_gc_ref *r = &deps[i]->owners[k];
            if (strcmp(r->uid, absent->uid)) continue;
            if (ref_matches(r, absent) && (cluster || !strcmp(absent->ns, deps[i]->id.ns))) continue;
            struct sk_gc_ident c = {r->api_version, r->kind, deps[i]->id.ns, r->name, r->uid};
            if (cluster && streq(r->api_version, absent->api_version) && streq(r->kind, absent->kind))
                c.ns = "";
            if (sk_gc_ident_equal(&c, absent)) continue;
            if (!have_first) {
                first = c;
                have_first = true;
            }
            if (ident_cmp(absent, &c) < 0 && (!have_follow || ident_cmp(&c, &follow) < 0)) {
                follow = c;
                have_follow = true;
            }
        }
    }
    if (!have_first) return false;
    sk_gc_ident_copy(out, have_follow ? &follow : &first);
    return true;
}

static void remove_node(sk_gc_graph *g, struct gnode *n, const struct sk_gc_ident *seen,
                        struct sk_gc_actions *out)
{
    map_del(g, n);
    remove_from_owners(g, n, n->owners, n->nowners);
    if (n->ndeps) act_absent(out, seen);
    for (size_t i = 0; i < n->ndeps; i++) act_delete(out, n->deps[i]);
    /* an owner waiting for its dependents may now be free to go */
    for (size_t i = 0; i < n->nowners; i++) {
        struct gnode *o = map_get(g, n->owners[i].uid);
        if (o && o->deleting_deps) act_delete(out, o);
    }
    node_free(n);
}

/* A worker verified that ev->id does not exist: drop the node unless
 * some dependents refer to it by other coordinates. */
static void virtual_delete(sk_gc_graph *g, struct gnode *n, const struct sk_gc_event *ev,
                           struct sk_gc_actions *out)
{
    struct gnode **match, **miss;
    size_t nmatch, nmiss;
    partition(n, &ev->id, &match, &nmatch, &miss, &nmiss);
    bool remove = true;
    if (n->is_virtual && nmiss > 0) {
        remove = false;
        if (nmatch > 0) {
            act_absent(out, &ev->id);
            for (size_t i = 0; i < nmatch; i++) act_delete(out, match[i]);
        }
        struct sk_gc_ident alt;
        if (sk_gc_ident_equal(&n->id, &ev->id) && alternate_identity(miss, nmiss, &ev->id, &alt)) {
            sk_gc_ident_release(&n->id);
            n->id = alt;
            act_delete(out, n);
        }
    } else if (!n->is_virtual && !sk_gc_ident_equal(&n->id, &ev->id)) {
        remove = false;
        if (nmatch > 0) {
            act_absent(out, &ev->id);
            for (size_t i = 0; i < nmatch; i++) act_delete(out, match[i]);
        }
    }
    free(match);
    free(miss);
    if (remove) remove_node(g, n, &ev->id, out);
}

/* First informer event for a node known only virtually. */
static void observe(struct gnode *n, const struct sk_gc_event *ev, struct sk_gc_actions *out)
{
    if (!sk_gc_ident_equal(&n->id, &ev->id)) {
        struct gnode **match, **miss;
        size_t nmatch, nmiss;
        partition(n, &ev->id, &match, &nmatch, &miss, &nmiss);
        /* dependents naming it wrongly are verified by a worker */
        for (size_t i = 0; i < nmiss; i++) act_delete(out, miss[i]);
        free(match);
        free(miss);
        sk_gc_ident_release(&n->id);
        sk_gc_ident_copy(&n->id, &ev->id);
    }
    n->is_virtual = false;
}

void sk_gc_graph_process(sk_gc_graph *g, const struct sk_gc_event *ev, struct sk_gc_actions *out)
{
    if (!ev->id.uid || !ev->id.uid[0]) return;
    struct gnode *n = map_get(g, ev->id.uid);
    if (n && !ev->is_virtual && n->is_virtual) observe(n, ev, out);
    if (ev->type == SK_GC_DELETE) {
        if (!n) return;
        if (ev->is_virtual) virtual_delete(g, n, ev, out);
        else remove_node(g, n, &ev->id, out);
        return;
    }
    if (!n) {
        n = sk_calloc(1, sizeof *n);
        sk_gc_ident_copy(&n->id, &ev->id);
        n->owners = refs_dup(ev->owners, ev->nowners);
        n->nowners = ev->nowners;
        n->being_deleted = ev->being_deleted;
        n->deleting_deps = ev->being_deleted && ev->has_fg;
        map_put(g, n);
        add_to_owners(g, n, n->owners, n->nowners, out);
    } else {
        update_owners(g, n, ev, out);
        if (ev->being_deleted) n->being_deleted = true;
    }
    process_transitions(ev, n, out);
}

/* ---- graph ---------------------------------------------------------------------------------- */

sk_gc_graph *sk_gc_graph_new(void) { return sk_calloc(1, sizeof(sk_gc_graph)); }

void sk_gc_graph_free(sk_gc_graph *g)
{
    if (!g) return;
    for (size_t i = 0; i < g->cap; i++)
        if (g->slots[i] && g->slots[i] != TOMB) node_free(g->slots[i]);
    free(g->slots);
    free(g);
}

size_t sk_gc_graph_len(const sk_gc_graph *g) { return g->len; }

bool sk_gc_graph_snapshot(const sk_gc_graph *g, const char *uid, struct sk_gc_snap *out)
{
    memset(out, 0, sizeof *out);
    const struct gnode *n = map_get(g, uid);
    if (!n) return false;
    sk_gc_ident_copy(&out->id, &n->id);
    out->is_virtual = n->is_virtual;
    out->being_deleted = n->being_deleted;
    out->deleting_deps = n->deleting_deps;
    out->deps = sk_calloc(n->ndeps + 1, sizeof *out->deps);
    out->ndeps = n->ndeps;
    for (size_t i = 0; i < n->ndeps; i++) {
        const struct gnode *d = n->deps[i];
        sk_gc_ident_copy(&out->deps[i].id, &d->id);
        const struct sk_gc_ref *r = ref_to(d, n->id.uid);
        out->deps[i].blocking = r && r->block;
        out->deps[i].deleting_deps = d->deleting_deps;
    }
    return true;
}

void sk_gc_snap_release(struct sk_gc_snap *s)
{
    sk_gc_ident_release(&s->id);
    for (size_t i = 0; i < s->ndeps; i++) sk_gc_ident_release(&s->deps[i].id);
    free(s->deps);
    memset(s, 0, sizeof *s);
}
