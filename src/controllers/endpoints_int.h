/* Pure helpers of the Endpoints and EndpointSlice controllers: which pods
 * back a Service, port resolution (numeric and named targetPorts), the
 * Endpoints subsets (upstream's RepackSubsets grouping) and the
 * EndpointSlice reconcile plan (upstream's reconciler: reuse, fill,
 * placeholder, max endpoints per slice). Functions over jansson values
 * only; no I/O except the pod -> services helpers; thread-safe. Objects
 * passed in are borrowed. */
#ifndef SK_CONTROLLERS_ENDPOINTS_INT_H
#define SK_CONTROLLERS_ENDPOINTS_INT_H

#include "client/client.h"

#define SK_EP_MAX_CAPACITY 1000 /* addresses per Endpoints object */
#define SK_EPS_MAX_PER_SLICE 100
#define SK_EPS_MANAGED_BY "endpointslice-controller.k8s.io"
#define SK_LABEL_SERVICE_NAME "kubernetes.io/service-name"
#define SK_LABEL_MANAGED_BY "endpointslice.kubernetes.io/managed-by"
#define SK_LABEL_HEADLESS "service.kubernetes.io/headless"
#define SK_ANN_OVER_CAPACITY "endpoints.kubernetes.io/over-capacity"

/* ---- services and pods -------------------------------------------------------- */

/* Upstream leaves services with a nil selector (and ExternalName
 * services) to others; the server drops empty maps, so {} counts as nil. */
bool sk_ep_svc_managed(const json_t *svc);
/* clusterIP set and not "None". */
bool sk_ep_svc_has_ip(const json_t *svc);
/* Upstream ShouldPodBeInEndpoints: not terminal, has an IP, and not being
 * deleted unless include_terminating. */
bool sk_ep_pod_included(const json_t *pod, bool include_terminating);
/* Upstream podutil.FindPort: targetPort as a number, or the named port
 * (same protocol) of a container or restartable init container; a missing
 * targetPort means port. -1 when the pod has no such port. */
int sk_ep_find_port(const json_t *pod, const json_t *svc_port);
/* The pod's IP of the given family ("IPv4"/"IPv6"), borrowed, or NULL. */
const char *sk_ep_pod_ip(const json_t *pod, const char *family);
/* The service's first IP family ("IPv4" unless spec.ipFamilies says so). */
const char *sk_ep_svc_family(const json_t *svc);
/* Upstream ShouldSetHostname: spec.hostname set and spec.subdomain = the
 * service's name in the same namespace. */
bool sk_ep_set_hostname(const json_t *pod, const json_t *svc);
/* {kind: Pod, namespace, name, uid}; caller frees. */
json_t *sk_ep_target_ref(const json_t *pod);
/* Whether an update of a pod can change any Endpoints/EndpointSlice;
 * *labels_changed says the set of selecting services may differ. */
bool sk_ep_pod_changed(const json_t *old, const json_t *cur, bool *labels_changed);

/* ---- Endpoints ------------------------------------------------------------------- */

/* Subsets (new array, sorted) for svc from candidate pods (array, already
 * selected by the service's selector). */
json_t *sk_endpoints_subsets(const json_t *svc, const json_t *pods);
/* Upstream truncateEndpoints: caps subsets at SK_EP_MAX_CAPACITY addresses
 * in place; true if it had to. */
bool sk_endpoints_truncate(json_t *subsets);
/* Subsets equal, ignoring targetRef.resourceVersion. */
bool sk_subsets_equal(const json_t *a, const json_t *b);

/* ---- EndpointSlices ---------------------------------------------------------------- */

/* Looks a Node up by name; returns a new reference or NULL if unknown. */
typedef json_t *(*sk_eps_node_fn)(void *ud, const char *name);

/* What to write: arrays of EndpointSlice objects (owned). Creates have
 * generateName; updates carry name (and resourceVersion when based on the
 * cached slice); deletes are the cached slices. */
struct sk_eps_plan {
    json_t *create, *update, *del;
    bool node_missing; /* a pod was skipped because its Node is unknown: retry */
};

/* Upstream Reconciler.Reconcile for one service. slices: the service's
 * managed slices (array) not pending deletion. max: endpoints per slice. */
void sk_eps_reconcile(const json_t *svc, const json_t *pods, const json_t *slices,
                      sk_eps_node_fn node, void *ud, int max, struct sk_eps_plan *plan);
void sk_eps_plan_release(struct sk_eps_plan *plan);

/* ---- pod -> services (endpoints.c; uses the services informer) ------------------------ */

/* Selector of a managed service's spec.selector (caller frees), or NULL. */
sk_selector *sk_ep_svc_selector(const json_t *svc);
/* Adds to q the keys of the services in pod's namespace selecting it. */
void sk_ep_enqueue_pod_services(sk_informer *svcs, sk_workqueue *q, const json_t *pod);
/* Pod update: enqueues the services of cur (and of old when the labels
 * changed) if anything endpoints depend on changed. */
void sk_ep_pod_updated(sk_informer *svcs, sk_workqueue *q, const json_t *old, const json_t *cur);

/* Both controllers keep objects per Service: they enqueue a service's key
 * on its own events and on events of the pods it selects. Embedded in each
 * controller; registers handlers on svcs and pods with itself as ud. */
struct sk_ep_watch {
    sk_informer *svcs;
    sk_workqueue *q;
};
void sk_ep_watch_start(struct sk_ep_watch *w, sk_informer *svcs, sk_informer *pods,
                       sk_workqueue *q);

/* ---- exposed for tests -------------------------------------------------------------- */

/* Canonical key of a port list (order-insensitive); caller frees. */
char *sk_eps_port_key(const json_t *ports);
/* Identity of an endpoint (addresses, hostname, targetRef ns/name); caller frees. */
char *sk_eps_endpoint_key(const json_t *ep);
/* The endpoint pod contributes to a slice of addressType for svc (caller
 * frees), zone from node (may be NULL). Addresses may be empty. */
json_t *sk_eps_endpoint(const json_t *pod, const json_t *node, const json_t *svc,
                        const char *address_type);
/* The ports pod resolves for svc, in service order (caller frees). */
json_t *sk_eps_ports(const json_t *svc, const json_t *pod);

#endif
