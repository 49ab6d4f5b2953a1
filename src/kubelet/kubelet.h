/* sk_kubelet: the node agent. For now only hollow nodes: simulated nodes
 * (like kwok) that register a Node with capacity, renew their Lease in
 * kube-node-lease, post node status, and mark pods bound to them Running
 * and Ready with an IP from the node's podCIDR after a delay; pods being
 * deleted are finalized (deleted with grace 0). Real containers come later. */
#ifndef SK_KUBELET_H
#define SK_KUBELET_H

#include "client/client.h"

typedef struct sk_hollow sk_hollow;

struct sk_hollow_config {
    sk_client *client;      /* borrowed */
    const char *name_prefix; /* nodes are <prefix>-0 ... unless names given */
    const char *const *names; /* explicit node names (NULL-terminated) or NULL */
    int count;
    int64_t pod_delay_ms;   /* from bound to Running/Ready */
    int64_t lease_renew_ms; /* default 10000 */
};

sk_hollow *sk_hollow_new(const struct sk_hollow_config *cfg, sk_err *err);
int sk_hollow_start(sk_hollow *h, sk_err *err) SK_MUST_CHECK;
void sk_hollow_free(sk_hollow *h); /* stops heartbeats; NULL ok */

#endif
