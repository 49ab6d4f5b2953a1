/* sk_scheduler: assigns unscheduled pods (spec.schedulerName
 * default-scheduler, no spec.nodeName) to nodes through pods/binding, as a
 * client of the API. Filters: nodeName, nodeSelector, required node
 * affinity, taints/tolerations, resources against allocatable (incl. pod
 * count), unschedulable, host ports, required pod anti-affinity on
 * hostname. Scores: least allocated, spreading pods of one owner,
 * preferred affinity. Unschedulable pods get PodScheduled=False and a
 * FailedScheduling event, and are retried when nodes or pods change. */
#ifndef SK_SCHEDULER_H
#define SK_SCHEDULER_H

#include "client/client.h"

typedef struct sk_scheduler sk_scheduler;

struct sk_scheduler_config {
    sk_client *client;     /* borrowed; identity system:kube-scheduler */
    bool leader_elect;     /* Lease kube-system/kube-scheduler */
    const char *identity;
};

sk_scheduler *sk_scheduler_new(const struct sk_scheduler_config *cfg, sk_err *err);
int sk_scheduler_start(sk_scheduler *s, sk_err *err) SK_MUST_CHECK;
void sk_scheduler_free(sk_scheduler *s); /* NULL ok */

#endif
