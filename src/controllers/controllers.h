/* sk_ctrlmgr: the controller manager. Runs the controllers (replicaset,
 * deployment, endpoints, endpointslice, namespace, garbagecollector,
 * nodelifecycle, serviceaccount) as clients of the API, sharing one
 * informer per resource, optionally behind Lease leader election.
 * new/start/free from one thread. */
#ifndef SK_CONTROLLERS_H
#define SK_CONTROLLERS_H

#include "client/client.h"

typedef struct sk_ctrlmgr sk_ctrlmgr;

struct sk_ctrlmgr_config {
    sk_client *client;              /* borrowed; identity system:kube-controller-manager */
    const char *disabled;           /* "name,name" of controllers to skip, or NULL */
    const char *cluster_cidr;       /* "10.244.0.0/16": one /24 per node */
    int64_t node_monitor_grace_ms;  /* 50000 */
    int workers;                    /* per controller, default 4 */
    bool leader_elect;              /* Lease kube-system/kube-controller-manager */
    const char *identity;           /* leader identity, e.g. hostname_uuid */
    /* csrsigning: the cluster CA (PEM, copied at new); NULL = no signer. */
    const char *ca_cert_pem, *ca_key_pem;
    int64_t cluster_signing_duration_s; /* 0 = one year */
};

sk_ctrlmgr *sk_ctrlmgr_new(const struct sk_ctrlmgr_config *cfg, sk_err *err);
int sk_ctrlmgr_start(sk_ctrlmgr *m, sk_err *err) SK_MUST_CHECK;
bool sk_ctrlmgr_is_leader(sk_ctrlmgr *m);
void sk_ctrlmgr_free(sk_ctrlmgr *m); /* stops everything; NULL ok */

/* Names of all controllers, NULL-terminated (for --disable-controllers). */
const char *const *sk_ctrlmgr_names(void);

#endif
