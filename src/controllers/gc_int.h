/* The garbage collector's dependency graph (upstream
 * pkg/controller/garbagecollector GraphBuilder, v1.32): nodes by uid with
 * their ownerReferences and dependents; "virtual" nodes stand for owners
 * not yet observed. Processing an informer event updates the graph and
 * says which nodes the workers must look at (attemptToDelete,
 * attemptToOrphan) and which identities are now known to be absent.
 * Pure data; not thread-safe (gc.c serialises access). */
#ifndef SK_CONTROLLERS_GC_INT_H
#define SK_CONTROLLERS_GC_INT_H

#include "lib/lib.h"

#define SK_GC_FIN_ORPHAN "orphan"
#define SK_GC_FIN_FOREGROUND "foregroundDeletion"

/* Strings are owned by the containing struct. */
struct sk_gc_ident {
    char *api_version, *kind, *ns, *name, *uid;
};

struct sk_gc_ref {
    char *api_version, *kind, *name, *uid;
    bool controller, block;
};

enum sk_gc_ev_type { SK_GC_ADD, SK_GC_UPDATE, SK_GC_DELETE };

struct sk_gc_event {
    enum sk_gc_ev_type type;
    bool is_virtual; /* produced by a worker that found the object absent */
    struct sk_gc_ident id;
    struct sk_gc_ref *owners; /* deduplicated by uid */
    size_t nowners;
    bool being_deleted, has_orphan, has_fg; /* the object */
    bool old_present, old_deleted, old_orphan, old_fg; /* its previous state (updates) */
};

/* Fills ev from an informer object of the resource apiVersion/kind; old may be NULL. */
void sk_gc_event_from_obj(struct sk_gc_event *ev, enum sk_gc_ev_type type,
                          const char *api_version, const char *kind, const json_t *obj,
                          const json_t *old);
/* A virtual delete event for id (copied). */
void sk_gc_event_virtual_delete(struct sk_gc_event *ev, const struct sk_gc_ident *id);
void sk_gc_event_release(struct sk_gc_event *ev);

void sk_gc_ident_copy(struct sk_gc_ident *dst, const struct sk_gc_ident *src);
void sk_gc_ident_release(struct sk_gc_ident *id);
bool sk_gc_ident_equal(const struct sk_gc_ident *a, const struct sk_gc_ident *b);
/* "ns|apiVersion|kind|name|uid" (ns replaced by ns_override when not NULL); caller frees. */
char *sk_gc_ident_key(const struct sk_gc_ident *id, const char *ns_override);
/* Parses metadata.ownerReferences (deduplicated by uid); caller frees with sk_gc_refs_free. */
struct sk_gc_ref *sk_gc_refs_parse(const json_t *obj, size_t *n);
void sk_gc_refs_free(struct sk_gc_ref *refs, size_t n);

/* What the workers must do after an event. uids and identities owned. */
struct sk_gc_actions {
    char **del;
    size_t ndel;
    char **orphan;
    size_t norphan;
    struct sk_gc_ident *absent;
    size_t nabsent;
};
void sk_gc_actions_release(struct sk_gc_actions *a);

typedef struct sk_gc_graph sk_gc_graph;
sk_gc_graph *sk_gc_graph_new(void);
void sk_gc_graph_free(sk_gc_graph *g);
void sk_gc_graph_process(sk_gc_graph *g, const struct sk_gc_event *ev, struct sk_gc_actions *out);
size_t sk_gc_graph_len(const sk_gc_graph *g);

/* A copy of a node's state for a worker. */
struct sk_gc_dep {
    struct sk_gc_ident id;
    bool blocking;      /* its reference to the node has blockOwnerDeletion */
    bool deleting_deps; /* it is itself waiting for its dependents */
};
struct sk_gc_snap {
    struct sk_gc_ident id;
    bool is_virtual, being_deleted, deleting_deps;
    struct sk_gc_dep *deps;
    size_t ndeps;
};
/* False if uid is not in the graph. */
bool sk_gc_graph_snapshot(const sk_gc_graph *g, const char *uid, struct sk_gc_snap *out);
void sk_gc_snap_release(struct sk_gc_snap *s);

#endif
