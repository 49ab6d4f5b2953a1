/* Scheduler internals: the pure parts (pod and node summaries, filter
 * plugins, scores, the FitError message) used by the scheduling loop and
 * unit-tested on their own, and the cache shared by scheduler.c and
 * cache.c. Everything here is called with the scheduler lock held or on
 * private data; nothing does I/O. */
#ifndef SK_SCHEDULER_INT_H
#define SK_SCHEDULER_INT_H

#include "scheduler/scheduler.h"

#include <pthread.h>

/* ---- quantities and resources --------------------------------------------- */

/* Parses a resource.Quantity ("100m", "1.5", "16Gi", "1e3") and returns
 * value * scale rounded up (scale 1000 gives milli units), saturating at
 * INT64_MAX. -1 on a malformed quantity. */
int sk_sched_quantity(const char *s, int64_t scale, int64_t *out);

#define SK_SCHED_MAX_SCALAR 8
#define SK_SCHED_DEFAULT_MILLI_CPU 100             /* non-zero request for scoring */
#define SK_SCHED_DEFAULT_MEMORY (200LL * 1024 * 1024)

struct sk_sched_scalar {
    char name[64];
    int64_t v;
};

struct sk_sched_res {
    int64_t cpu_m, mem, eph;  /* requests */
    int64_t nz_cpu_m, nz_mem; /* requests with upstream's non-zero defaults, for scores */
    int nscalar;              /* extended resources (nvidia.com/gpu, hugepages-2Mi...) */
    struct sk_sched_scalar scalar[SK_SCHED_MAX_SCALAR];
};

/* Effective requests of a pod: containers and sidecars summed, the max of
 * each regular init container (plus the sidecars started before it), plus
 * spec.overhead. */
void sk_sched_pod_requests(const json_t *pod, struct sk_sched_res *r);
void sk_sched_res_add(struct sk_sched_res *a, const struct sk_sched_res *b, int sign);

struct sk_sched_port {
    char proto[8];
    char ip[48]; /* "0.0.0.0" when unset */
    int port;
};
/* Host ports a pod asks for; returns the count (at most max). */
int sk_sched_pod_ports(const json_t *pod, struct sk_sched_port *out, int max);

/* ---- pod summary (one per scheduling attempt) ------------------------------ */

#define SK_SCHED_MAX_PORTS 16
#define SK_SCHED_MAX_TERMS 8

/* A topology term resolved against the cluster for one attempt: the values
 * of topology_key whose domains hold matching pods (JSON object used as a
 * set). */
struct sk_sched_topo {
    const char *topology_key; /* borrowed from the pod */
    const json_t *term;       /* borrowed PodAffinityTerm */
    sk_selector *sel;         /* owned; NULL = the term selects nothing */
    json_t *values;           /* owned */
    bool any;                 /* affinity: some pod anywhere matched */
    bool self_match;          /* affinity: the pod matches its own term */
};

struct sk_sched_pod {
    const json_t *obj;        /* borrowed */
    const char *ns, *name, *node_name, *owner_uid;
    const json_t *labels, *tolerations, *node_selector, *node_affinity;
    struct sk_sched_res req;
    int nports;
    struct sk_sched_port ports[SK_SCHED_MAX_PORTS];
    /* Filled by the caller from the cluster state (sk_sched_topo_*). */
    int nanti, naff, nexisting;
    struct sk_sched_topo anti[SK_SCHED_MAX_TERMS];     /* pod's required anti-affinity */
    struct sk_sched_topo aff[SK_SCHED_MAX_TERMS];      /* pod's required affinity */
    struct sk_sched_topo existing[SK_SCHED_MAX_TERMS]; /* other pods' anti-affinity vs us */
    bool preempt_never;
};

void sk_sched_pod_init(struct sk_sched_pod *p, const json_t *pod);
/* A copy of pod with only what scheduling, events and the PodScheduled
 * condition need (about a fifth of the memory of a full pod): for an
 * informer transform hook. Caller frees. */
json_t *sk_sched_trim_pod(const json_t *pod);
void sk_sched_pod_release(struct sk_sched_pod *p); /* frees the topo sets */

/* ---- node summary and aggregates ------------------------------------------ */

struct sk_sched_taint {
    const char *key, *value, *effect; /* borrowed from the node object */
};

struct sk_sched_podstate;

struct sk_sched_node {
    char *name;
    json_t *obj; /* Node (reference) or NULL: placeholder for pods bound to an unknown node */
    const json_t *labels, *allocatable;
    bool unschedulable;
    int64_t alloc_cpu_m, alloc_mem, alloc_eph, alloc_pods;
    int ntaints;
    struct sk_sched_taint *taints;
    /* aggregates of the pods on it, assumed ones included */
    struct sk_sched_res used;
    int npods;
    int nports, cap_ports;
    struct sk_sched_port *ports;
    struct sk_sched_podstate **pods;
    int cap_pods;
    int slot; /* index in the cache's node table */
};

/* (Re)reads obj (takes a new reference) keeping the aggregates. */
void sk_sched_node_set(struct sk_sched_node *n, json_t *obj);
void sk_sched_node_release(struct sk_sched_node *n);
void sk_sched_node_account(struct sk_sched_node *n, const struct sk_sched_res *r,
                           const struct sk_sched_port *ports, int nports, int sign);

/* ---- filters ---------------------------------------------------------------- */

#define SK_SCHED_MAX_REASONS 6
struct sk_sched_status {
    int n;             /* 0 = the node fits */
    bool unresolvable; /* preemption cannot help */
    char reasons[SK_SCHED_MAX_REASONS][160];
};

/* toleration.ToleratesTaint: effect, key (empty key + Exists = all) and
 * value (Equal) must match. */
bool sk_sched_tolerates(const json_t *tol, const char *key, const char *value, const char *effect);
bool sk_sched_tolerated(const json_t *tolerations, const char *key, const char *value,
                        const char *effect);
/* One NodeSelectorTerm against a node (labels + metadata.name). */
bool sk_sched_term_match(const json_t *term, const json_t *labels, const char *node_name);
/* nodeSelector and required node affinity. */
bool sk_sched_node_affinity_ok(const struct sk_sched_pod *p, const struct sk_sched_node *n);
/* Runs the filter plugins in upstream order, stopping at the first that
 * rejects. Returns true if the node fits; otherwise st says why. */
bool sk_sched_filter(const struct sk_sched_pod *p, const struct sk_sched_node *n,
                     struct sk_sched_status *st);

/* Pod (anti-)affinity terms: does `other` (namespace ns, labels) match a
 * PodAffinityTerm declared by a pod in namespace owner_ns? */
bool sk_sched_affinity_term_match(const json_t *term, const char *owner_ns, const char *ns,
                                  const json_t *labels);
/* Resolves p's required (anti-)affinity and the existing pods' required
 * anti-affinity for one attempt: the caller passes placed pods to
 * sk_sched_topo_observe, then sk_sched_filter uses the sets. Returns true
 * if every placed pod must be observed (p has affinity terms); otherwise
 * only pods that declare required anti-affinity matter. */
bool sk_sched_topo_begin(struct sk_sched_pod *p);
/* Does the pod declare required pod anti-affinity? */
bool sk_sched_has_anti_affinity(const json_t *pod);
void sk_sched_topo_observe(struct sk_sched_pod *p, const json_t *other, const json_t *node_labels);

/* ---- diagnosis: upstream's FitError text --------------------------------------- */

struct sk_sched_diag {
    int nnodes;
    int resolvable_nodes; /* nodes where preemption might help */
    int nreasons;
    struct {
        char reason[160];
        int count;
    } r[32];
};
void sk_sched_diag_add(struct sk_sched_diag *d, const struct sk_sched_status *st);
/* "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) ... preemption: ..."
 * (or "no nodes available to schedule pods"); caller frees. */
char *sk_sched_diag_message(const struct sk_sched_diag *d, bool preempt_never);

/* ---- scores ---------------------------------------------------------------- */

struct sk_sched_scorer {
    int n;
    int64_t *fit, *balanced, *spread, *affinity, *taint; /* raw, per feasible node */
};
/* Raw per-plugin scores of node n for pod p; owner_count = pods of the
 * same controller already on n. */
void sk_sched_score_node(const struct sk_sched_pod *p, const struct sk_sched_node *n,
                         int owner_count, struct sk_sched_scorer *sc, int i);
/* Normalizes and weights the raw scores into total[i] (as upstream: each
 * plugin 0..100, weights TaintToleration 3, NodeAffinity 2, spreading 2,
 * NodeResourcesFit 1, BalancedAllocation 1). */
void sk_sched_score_finish(struct sk_sched_scorer *sc, int64_t *total);
void sk_sched_scorer_init(struct sk_sched_scorer *sc, int n);
void sk_sched_scorer_release(struct sk_sched_scorer *sc);
/* Index of the best total, ties broken by *seed (xorshift). -1 if n == 0. */
int sk_sched_pick(const int64_t *total, int n, uint64_t *seed);

/* ---- string map (cache.c) -------------------------------------------------- */

struct sk_smap_ent;
struct sk_smap {
    struct sk_smap_ent **b;
    size_t nb, n;
};
void *sk_smap_get(const struct sk_smap *m, const char *key);
void sk_smap_put(struct sk_smap *m, const char *key, void *val); /* replaces */
void *sk_smap_del(struct sk_smap *m, const char *key);           /* returns the value */
/* Calls fn for every entry; fn must not modify the map. */
void sk_smap_each(const struct sk_smap *m, void (*fn)(void *ud, const char *key, void *val),
                  void *ud);
void sk_smap_release(struct sk_smap *m); /* values are not freed */

/* ---- cache (cache.c): nodes, placed pods, per-controller counts ------------- */

enum sk_sched_q { SK_Q_NONE, SK_Q_ACTIVE, SK_Q_BACKOFF, SK_Q_UNSCHED, SK_Q_INFLIGHT };

struct sk_sched_podstate {
    char *key;                   /* "ns/name" */
    char *uid;
    json_t *obj;                 /* latest object seen (reference) */
    struct sk_sched_node *node;  /* node it is accounted on, or NULL */
    int node_idx;                /* index in node->pods */
    bool assumed;                /* placed by us; the binding is not observed yet */
    bool anti;                   /* declares required pod anti-affinity */
    char *owner_uid;             /* controller owner, for spreading */
    struct sk_sched_res req;
    int nports;
    struct sk_sched_port *ports;
    /* scheduling queue */
    enum sk_sched_q q;
    struct sk_sched_podstate *prev, *next;
    int priority, attempts;
    int64_t backoff_until, unsched_since; /* monotonic ms */
    char *last_msg;              /* last FailedScheduling message sent */
};

struct sk_sched_owner {
    int *count; /* by node slot */
    int cap;
    int total;
};

struct sk_sched_cache {
    struct sk_smap pods;   /* key -> podstate (every live pod) */
    struct sk_smap nodes;  /* name -> node (real and placeholders) */
    struct sk_smap owners; /* controller uid -> sk_sched_owner */
    struct sk_smap anti;   /* key -> podstate placed with required anti-affinity */
    struct sk_sched_node **slots; /* node table; NULL = free slot */
    int nslots;
    int nnodes;            /* slots holding a real Node */
};

/* Adds or refreshes a Node; returns true if something that can make a pod
 * fit changed (new node, labels, taints, allocatable, unschedulable). */
bool sk_sched_cache_node_set(struct sk_sched_cache *c, json_t *node);
void sk_sched_cache_node_del(struct sk_sched_cache *c, const char *name);
/* Accounts ps on node `name` (creating a placeholder if unknown), or
 * removes it from its node with name NULL. */
void sk_sched_cache_place(struct sk_sched_cache *c, struct sk_sched_podstate *ps,
                          const char *name);
/* Pods of controller owner_uid per slot (NULL if none). */
const struct sk_sched_owner *sk_sched_cache_owner(const struct sk_sched_cache *c,
                                                  const char *owner_uid);
/* Refreshes ps's summary (requests, ports, owner) from obj; ps must not be placed. */
void sk_sched_podstate_load(struct sk_sched_podstate *ps, json_t *obj);
void sk_sched_podstate_free(struct sk_sched_podstate *ps);
void sk_sched_cache_release(struct sk_sched_cache *c);

/* ---- queue (queue.c); all calls with the scheduler lock held ------------------ */

struct sk_sched_queue {
    struct sk_sched_podstate active, backoff, unsched; /* list heads */
    int nactive;
};
void sk_sched_queue_init(struct sk_sched_queue *q);
/* Moves ps to list `to` (active lists keep priority order, FIFO within). */
void sk_sched_queue_move(struct sk_sched_queue *q, struct sk_sched_podstate *ps, enum sk_sched_q to);
struct sk_sched_podstate *sk_sched_queue_pop(struct sk_sched_queue *q); /* -> INFLIGHT */
/* After a failed attempt: unschedulable list with backoff 1 s * 2^(n-1), max 10 s. */
void sk_sched_queue_failed(struct sk_sched_queue *q, struct sk_sched_podstate *ps, int64_t now);
/* A cluster change may make pods fit: unschedulable pods go to backoff or active. */
void sk_sched_queue_move_all(struct sk_sched_queue *q, int64_t now);
/* Promotes due backoff pods and unschedulable pods older than 30 s;
 * returns ms until the next due time (or max_wait). */
int64_t sk_sched_queue_tick(struct sk_sched_queue *q, int64_t now, int64_t max_wait);

#endif
