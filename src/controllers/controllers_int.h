/* The contract between the manager and each controller. */
#ifndef SK_CONTROLLERS_INT_H
#define SK_CONTROLLERS_INT_H

#include "controllers/controllers.h"

struct sk_ctrl_ctx;

/* Shared informer for a resource (group "" = core), created on first use.
 * Only valid to call from a controller's new(); handlers added then. The
 * manager starts all informers after every controller's new(), and waits
 * for them to sync before calling the controllers' start(). */
sk_informer *sk_ctx_informer(struct sk_ctrl_ctx *ctx, const char *group, const char *plural);
/* Resource descriptor shorthand (group "" = core, version v1 assumed by group). */
const struct sk_resource *sk_ctx_res(const char *group, const char *plural);
/* Event recorder for a component name ("replicaset-controller"); owned by the ctx. */
sk_recorder *sk_ctx_recorder(struct sk_ctrl_ctx *ctx, const char *component);
sk_client *sk_ctx_client(struct sk_ctrl_ctx *ctx);
const struct sk_ctrlmgr_config *sk_ctx_config(struct sk_ctrl_ctx *ctx);

/* One controller. new() builds it and registers informer handlers (which
 * typically enqueue keys); start() launches its workers; stop() makes them
 * return (queue shutdown) and joins; free() releases. */
struct sk_controller_ops {
    const char *name;
    void *(*new)(struct sk_ctrl_ctx *ctx, sk_err *err);
    int (*start)(void *c, sk_err *err);
    void (*stop)(void *c);
    void (*free)(void *c);
};

extern const struct sk_controller_ops sk_ctrl_replicaset;
extern const struct sk_controller_ops sk_ctrl_deployment;
extern const struct sk_controller_ops sk_ctrl_endpoints;
extern const struct sk_controller_ops sk_ctrl_endpointslice;
extern const struct sk_controller_ops sk_ctrl_namespace;
extern const struct sk_controller_ops sk_ctrl_garbagecollector;
extern const struct sk_controller_ops sk_ctrl_nodelifecycle;
extern const struct sk_controller_ops sk_ctrl_serviceaccount;

/* Worker pool helper: runs fn(c, key) for keys from q on n threads until
 * the queue shuts down. fn returns 0 on success (key forgotten) or -1 to
 * retry with backoff. */
typedef struct sk_workers sk_workers;
sk_workers *sk_workers_start(sk_workqueue *q, int n, int (*fn)(void *c, const char *key),
                             void *c);
void sk_workers_join(sk_workers *w); /* after sk_workqueue_shutdown */

#endif
