/* sk_proxy: the node's service proxy (our kube-proxy, nftables mode).
 *
 * Watches Services and EndpointSlices through sk_client informers and
 * programs ONE nftables table of its own (family inet, default name
 * "skiff") through libnftables, one atomic transaction per sync:
 *   - ClusterIP: DNAT to the ready endpoints (random spread via numgen,
 *     sessionAffinity ClientIP via a timed set), reject (not drop) when a
 *     service has no ready endpoints;
 *   - NodePort on every node address including 127.0.0.1 (route_localnet
 *     turned on where needed), externalTrafficPolicy Local/Cluster;
 *   - LoadBalancer ingress IPs (status.loadBalancer.ingress) like NodePort
 *     addresses for the service port;
 *   - masquerade: hairpin (a pod reaching its own service), traffic from
 *     outside the pod network to endpoints, and pod traffic leaving the
 *     cluster network (cluster_cidr) for other destinations.
 * Incremental syncs on change (coalesced), a full resync at start; nothing
 * outside its table is touched. Runs in the node's network namespace
 * (netns_path, or the caller's). */
#ifndef SK_PROXY_H
#define SK_PROXY_H

#include "client/client.h"

typedef struct sk_proxy sk_proxy;

struct sk_proxy_config {
    sk_client *client;          /* borrowed */
    const char *node_name;      /* for externalTrafficPolicy Local (endpoints' nodeName) */
    const char *const *node_ips; /* NULL-terminated: addresses NodePorts answer on
                                  * (127.0.0.1 is always added); NULL = detect */
    const char *cluster_cidr;   /* pod network, "10.244.0.0/16" */
    const char *service_cidr;   /* "10.96.0.0/12" */
    const char *table;          /* nft table name; NULL = "skiff" */
    const char *netns_path;     /* node netns; NULL = the caller's */
    int64_t min_sync_ms;        /* coalescing window for incremental syncs; 0 = 5 ms */
};

sk_proxy *sk_proxy_new(const struct sk_proxy_config *cfg, sk_err *err);
/* Informers, then a full sync; returns once the first sync is applied. */
int sk_proxy_start(sk_proxy *p, sk_err *err) SK_MUST_CHECK;
/* Stops syncing; the rules stay (traffic keeps flowing across restarts). NULL ok. */
void sk_proxy_free(sk_proxy *p);
/* Deletes the table (skiff server --cleanup, skiff cleanup, tests). 0 if absent. */
int sk_proxy_cleanup(const char *table, const char *netns_path, sk_err *err) SK_MUST_CHECK;

struct sk_proxy_stats {
    int64_t syncs;              /* transactions applied */
    int64_t last_sync_us;       /* duration of the last transaction */
    int64_t last_full_sync_us;  /* of the last full sync */
    int64_t last_change_to_applied_us; /* informer event -> rules applied, last change */
    int services, endpoints;    /* programmed now */
};
void sk_proxy_get_stats(sk_proxy *p, struct sk_proxy_stats *out);

#endif
