/* Garbage collector graph: virtual owners, dependents queued when owners
 * go, foreground and orphan transitions, reference changes. */
#include "controllers/gc_int.h"
#include "unit/test.h"

static json_t *obj(const char *name, const char *uid, const char *owner_kind,
                   const char *owner_name, const char *owner_uid, bool block)
{
    json_t *o = json_pack("{s:{s:s,s:s,s:s}}", "metadata", "name", name, "namespace", "default",
                          "uid", uid);
    if (owner_uid) {
        json_t *ref = json_pack("{s:s,s:s,s:s,s:s,s:b,s:b}", "apiVersion", "apps/v1", "kind",
                                owner_kind, "name", owner_name, "uid", owner_uid, "controller", 1,
                                "blockOwnerDeletion", block);
        json_object_set_new(json_object_get(o, "metadata"), "ownerReferences", json_pack("[o]", ref));
    }
    return o;
}

static void feed(sk_gc_graph *g, enum sk_gc_ev_type t, const char *av, const char *kind,
                 const json_t *o, const json_t *old, struct sk_gc_actions *a)
{
    struct sk_gc_event ev;
    sk_gc_event_from_obj(&ev, t, av, kind, o, old);
    sk_gc_graph_process(g, &ev, a);
    sk_gc_event_release(&ev);
}

static bool has_uid(char **v, size_t n, const char *uid)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i], uid)) return true;
    return false;
}

static int test_virtual_owner(void)
{
    sk_gc_graph *g = sk_gc_graph_new();
    struct sk_gc_actions a = {0};
    json_t *pod = obj("web-abc", "pod1", "ReplicaSet", "web", "rs1", true);
    feed(g, SK_GC_ADD, "v1", "Pod", pod, NULL, &a);
    /* the owner is unknown: a virtual node, queued for verification */
    CHECK_INT(sk_gc_graph_len(g), 2);
    CHECK(has_uid(a.del, a.ndel, "rs1"));
    struct sk_gc_snap s;
    REQUIRE(sk_gc_graph_snapshot(g, "rs1", &s));
    CHECK(s.is_virtual);
    CHECK_STR(s.id.kind, "ReplicaSet");
    CHECK_STR(s.id.ns, "default");
    CHECK_INT(s.ndeps, 1);
    CHECK(s.deps[0].blocking);
    sk_gc_snap_release(&s);
    sk_gc_actions_release(&a);
    /* the real owner shows up: observed, nothing to do */
    json_t *rs = obj("web", "rs1", "Deployment", "web", "dep1", true);
    feed(g, SK_GC_ADD, "apps/v1", "ReplicaSet", rs, NULL, &a);
    REQUIRE(sk_gc_graph_snapshot(g, "rs1", &s));
    CHECK(!s.is_virtual);
    sk_gc_snap_release(&s);
    CHECK(has_uid(a.del, a.ndel, "dep1")); /* its own owner is virtual */
    CHECK(!has_uid(a.del, a.ndel, "pod1"));
    sk_gc_actions_release(&a);
    /* a worker found dep1 absent: dropped, its dependent queued */
    struct sk_gc_ident id = {"apps/v1", "Deployment", "default", "web", "dep1"};
    struct sk_gc_event ev;
    sk_gc_event_virtual_delete(&ev, &id);
    sk_gc_graph_process(g, &ev, &a);
    sk_gc_event_release(&ev);
    CHECK(!sk_gc_graph_snapshot(g, "dep1", &s));
    CHECK(has_uid(a.del, a.ndel, "rs1"));
    CHECK_INT(a.nabsent, 1);
    sk_gc_actions_release(&a);
    /* the ReplicaSet is deleted: its pod is queued, the owner recorded absent */
    feed(g, SK_GC_DELETE, "apps/v1", "ReplicaSet", rs, NULL, &a);
    CHECK(has_uid(a.del, a.ndel, "pod1"));
    CHECK_INT(a.nabsent, 1);
    CHECK_STR(a.absent[0].uid, "rs1");
    sk_gc_actions_release(&a);
    feed(g, SK_GC_DELETE, "v1", "Pod", pod, NULL, &a);
    CHECK_INT(sk_gc_graph_len(g), 0);
    sk_gc_actions_release(&a);
    json_decref(pod);
    json_decref(rs);
    sk_gc_graph_free(g);
    return 0;
}

static void set_deleting(json_t *o, const char *fin)
{
    json_t *md = json_object_get(o, "metadata");
    json_object_set_new(md, "deletionTimestamp", json_string("2024-01-01T00:00:00Z"));
    json_object_set_new(md, "finalizers", json_pack("[s]", fin));
}

static int test_foreground(void)
{
    sk_gc_graph *g = sk_gc_graph_new();
    struct sk_gc_actions a = {0};
    json_t *d = obj("web", "dep1", NULL, NULL, NULL, false);
    json_t *rs = obj("web-1", "rs1", "Deployment", "web", "dep1", true);
    json_t *rs2 = obj("web-2", "rs2", "Deployment", "web", "dep1", false);
    feed(g, SK_GC_ADD, "apps/v1", "Deployment", d, NULL, &a);
    feed(g, SK_GC_ADD, "apps/v1", "ReplicaSet", rs, NULL, &a);
    feed(g, SK_GC_ADD, "apps/v1", "ReplicaSet", rs2, NULL, &a);
    CHECK_INT(a.ndel, 0);
    json_t *d2 = json_deep_copy(d);
    set_deleting(d2, "foregroundDeletion");
    feed(g, SK_GC_UPDATE, "apps/v1", "Deployment", d2, d, &a);
    CHECK(has_uid(a.del, a.ndel, "dep1"));
    CHECK(has_uid(a.del, a.ndel, "rs1"));
    CHECK(has_uid(a.del, a.ndel, "rs2"));
    sk_gc_actions_release(&a);
    struct sk_gc_snap s;
    REQUIRE(sk_gc_graph_snapshot(g, "dep1", &s));
    CHECK(s.deleting_deps);
    CHECK(s.being_deleted);
    CHECK_INT(s.ndeps, 2);
    int blocking = 0;
    for (size_t i = 0; i < s.ndeps; i++) blocking += s.deps[i].blocking;
    CHECK_INT(blocking, 1);
    sk_gc_snap_release(&s);
    /* a resync (same object twice) is not a new transition */
    feed(g, SK_GC_UPDATE, "apps/v1", "Deployment", d2, d2, &a);
    CHECK_INT(a.ndel, 0);
    /* the blocking dependent goes: the owner is looked at again */
    feed(g, SK_GC_DELETE, "apps/v1", "ReplicaSet", rs, NULL, &a);
    CHECK(has_uid(a.del, a.ndel, "dep1"));
    sk_gc_actions_release(&a);
    /* dropping blockOwnerDeletion on rs2's reference also wakes the owner */
    json_t *rs2b = obj("web-2", "rs2", "Deployment", "web", "dep1", true);
    feed(g, SK_GC_UPDATE, "apps/v1", "ReplicaSet", rs2b, rs2, &a);
    CHECK_INT(a.ndel, 0);
    feed(g, SK_GC_UPDATE, "apps/v1", "ReplicaSet", rs2, rs2b, &a);
    CHECK(has_uid(a.del, a.ndel, "dep1"));
    sk_gc_actions_release(&a);
    json_decref(d);
    json_decref(d2);
    json_decref(rs);
    json_decref(rs2);
    json_decref(rs2b);
    sk_gc_graph_free(g);
    return 0;
}

static int test_orphan(void)
{
    sk_gc_graph *g = sk_gc_graph_new();
    struct sk_gc_actions a = {0};
    json_t *d = obj("web", "dep1", NULL, NULL, NULL, false);
    json_t *rs = obj("web-1", "rs1", "Deployment", "web", "dep1", true);
    feed(g, SK_GC_ADD, "apps/v1", "Deployment", d, NULL, &a);
    feed(g, SK_GC_ADD, "apps/v1", "ReplicaSet", rs, NULL, &a);
    json_t *d2 = json_deep_copy(d);
    set_deleting(d2, "orphan");
    feed(g, SK_GC_UPDATE, "apps/v1", "Deployment", d2, d, &a);
    CHECK_INT(a.norphan, 1);
    CHECK_STR(a.orphan[0], "dep1");
    CHECK_INT(a.ndel, 0);
    sk_gc_actions_release(&a);
    /* the reference is removed from the dependent: edge gone */
    json_t *rs2 = obj("web-1", "rs1", NULL, NULL, NULL, false);
    feed(g, SK_GC_UPDATE, "apps/v1", "ReplicaSet", rs2, rs, &a);
    CHECK(has_uid(a.del, a.ndel, "dep1")); /* a blocking reference went away */
    sk_gc_actions_release(&a);
    struct sk_gc_snap s;
    REQUIRE(sk_gc_graph_snapshot(g, "dep1", &s));
    CHECK_INT(s.ndeps, 0);
    sk_gc_snap_release(&s);
    /* the owner is gone: nothing to delete */
    feed(g, SK_GC_DELETE, "apps/v1", "Deployment", d2, NULL, &a);
    CHECK_INT(a.ndel, 0);
    CHECK_INT(a.nabsent, 0);
    sk_gc_actions_release(&a);
    /* an object first seen already being deleted in the foreground */
    json_t *d3 = obj("x", "dep3", NULL, NULL, NULL, false);
    set_deleting(d3, "foregroundDeletion");
    feed(g, SK_GC_ADD, "apps/v1", "Deployment", d3, NULL, &a);
    CHECK(has_uid(a.del, a.ndel, "dep3"));
    sk_gc_actions_release(&a);
    json_decref(d);
    json_decref(d2);
    json_decref(d3);
    json_decref(rs);
    json_decref(rs2);
    sk_gc_graph_free(g);
    return 0;
}

/* A dependent naming its owner with the wrong kind does not get the real
 * owner's dependents deleted, and is itself verified. */
static int test_bad_reference(void)
{
    sk_gc_graph *g = sk_gc_graph_new();
    struct sk_gc_actions a = {0};
    json_t *good = obj("p1", "pod1", "ReplicaSet", "web", "rs1", false);
    json_t *bad = obj("p2", "pod2", "StatefulSet", "web", "rs1", false);
    feed(g, SK_GC_ADD, "v1", "Pod", good, NULL, &a);
    feed(g, SK_GC_ADD, "v1", "Pod", bad, NULL, &a);
    CHECK(has_uid(a.del, a.ndel, "pod2")); /* disagrees with the virtual owner */
    sk_gc_actions_release(&a);
    /* the StatefulSet coordinates are verified absent: the node stays (pod1
     * names it differently), only pod2 is queued */
    struct sk_gc_ident id = {"apps/v1", "StatefulSet", "default", "web", "rs1"};
    struct sk_gc_event ev;
    sk_gc_event_virtual_delete(&ev, &id);
    sk_gc_graph_process(g, &ev, &a);
    sk_gc_event_release(&ev);
    struct sk_gc_snap s;
    REQUIRE(sk_gc_graph_snapshot(g, "rs1", &s));
    CHECK_STR(s.id.kind, "ReplicaSet");
    sk_gc_snap_release(&s);
    CHECK(has_uid(a.del, a.ndel, "pod2"));
    CHECK(!has_uid(a.del, a.ndel, "pod1"));
    sk_gc_actions_release(&a);
    json_decref(good);
    json_decref(bad);
    sk_gc_graph_free(g);
    return 0;
}

static int test_many(void)
{
    sk_gc_graph *g = sk_gc_graph_new();
    struct sk_gc_actions a = {0};
    json_t *rs = obj("web", "rs1", NULL, NULL, NULL, false);
    feed(g, SK_GC_ADD, "apps/v1", "ReplicaSet", rs, NULL, &a);
    json_t *pods[2000];
    for (int i = 0; i < 2000; i++) {
        char name[32], uid[32];
        snprintf(name, sizeof name, "p%d", i);
        snprintf(uid, sizeof uid, "u%d", i);
        pods[i] = obj(name, uid, "ReplicaSet", "web", "rs1", true);
        feed(g, SK_GC_ADD, "v1", "Pod", pods[i], NULL, &a);
    }
    CHECK_INT(sk_gc_graph_len(g), 2001);
    CHECK_INT(a.ndel, 0);
    for (int i = 0; i < 2000; i += 2) {
        feed(g, SK_GC_DELETE, "v1", "Pod", pods[i], NULL, &a);
        json_decref(pods[i]);
    }
    CHECK_INT(sk_gc_graph_len(g), 1001);
    feed(g, SK_GC_DELETE, "apps/v1", "ReplicaSet", rs, NULL, &a);
    CHECK_INT(a.ndel, 1000);
    sk_gc_actions_release(&a);
    for (int i = 1; i < 2000; i += 2) json_decref(pods[i]);
    json_decref(rs);
    sk_gc_graph_free(g);
    return 0;
}

int main(void)
{
    int r = test_virtual_owner() | test_foreground() | test_orphan() | test_bad_reference() |
            test_many();
    if (r) return 1;
    return test_done();
}
