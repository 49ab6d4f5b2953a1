/* Hollow node internals shared by hollow.c (nodes, leases, lifecycle) and
 * hollow_pods.c (the pod worker). h->mu guards the node table's mutable
 * parts (podCIDR, IP allocation) and the pod map. */
#ifndef SK_HOLLOW_INT_H
#define SK_HOLLOW_INT_H

#include "kubelet/kubelet.h"

#include <pthread.h>

/* Status writes are latency-bound (the store's commit): keep many in flight. */
#define SK_HOLLOW_WORKERS 32

struct sk_hnode {
    char *name;
    char ip[32];         /* InternalIP: metadata only, never routed to */
    char uid[64];        /* Node uid, for the Lease's ownerReference */
    json_t *lease;       /* last Lease written (resourceVersion for the next PUT) */
    uint32_t cidr_base;  /* network of spec.podCIDR (host order), 0 = not assigned yet */
    uint8_t used[256];   /* pod IPs in use by host part */
    int next_ip;
};

struct sk_hollow {
    sk_client *client;
    sk_recorder *rec;
    const struct sk_resource *nodes_res, *pods_res, *leases_res;
    int n;
    struct sk_hnode *nodes;
    json_t *by_name; /* node name -> index */
    int64_t pod_delay_ms, lease_renew_ms, status_ms;
    sk_informer *pods_inf, *nodes_inf;
    sk_workqueue *q;
    int nworkers;
    pthread_t workers[SK_HOLLOW_WORKERS];
    pthread_t hb;
    bool hb_started;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop;
    /* pod key -> {"uid", "node", "ip" (host part or 0), "seen" (monotonic ms)} */
    json_t *pods;
    char kernel[128];
};

/* Index of a node run by this process, or -1. */
int sk_hollow_node_index(struct sk_hollow *h, const char *name);
/* Pod handling (hollow_pods.c). */
void sk_hollow_pods_watch(struct sk_hollow *h); /* adds informer handlers */
void *sk_hollow_pod_worker(void *arg);
/* A copy of pod with only what the hollow pod worker reads, for an
 * informer transform hook. Caller frees. */
json_t *sk_hollow_trim_pod(const json_t *pod);

#endif
