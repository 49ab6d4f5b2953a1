/* Node heartbeat Leases, shared by the agent (agent_node.c) and hollow
 * nodes (hollow.c). */
#ifndef SK_KL_LEASE_INT_H
#define SK_KL_LEASE_INT_H

#include "client/client.h"

/* metav1.MicroTime of now: "2024-05-01T12:00:00.123456Z". */
void sk_kl_microtime(char *out, size_t n);
/* Renews (or creates) kube-node-lease/<node>; *lease is the last written
 * Lease (new reference kept there, NULL when none yet). */
int sk_kl_lease_renew(sk_client *c, const struct sk_resource *leases, const char *node,
                      const char *node_uid, int duration_s, json_t **lease,
                      sk_err *err) SK_MUST_CHECK;

#endif
