/* The resource table: every served kind, in discovery order (groups in
 * upstream priority order, kinds alphabetical within a group version as
 * the real server lists them). Names, scopes, verbs, subresources and field
 * selectors follow upstream v1.32 discovery and registry strategies. */
#include "api/registry_int.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define V_ALL SK_V_ALL
/* Namespaces have no deletecollection upstream. */
#define V_NS (SK_V_ALL & ~SK_V_DELETECOLLECTION)

static const char *const fs_pod[] = {
    "spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
    "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName", NULL,
};
static const char *const fs_event[] = {
    "involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
    "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
    "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type", NULL,
};
static const char *const fs_secret[] = {"type", NULL};
static const char *const fs_node[] = {"spec.unschedulable", NULL};
static const char *const fs_ns[] = {"status.phase", NULL};
static const char *const fs_rs[] = {"status.replicas", NULL};
static const char *const fs_job[] = {"status.successful", NULL};
/* spec.clusterIP since 1.30, spec.type since 1.31. */
static const char *const fs_svc[] = {"spec.clusterIP", "spec.type", NULL};

static const struct sk_resource res_core[] = {
    {"", "v1", "Binding", "bindings", "binding", {0}, {0}, true, SK_V_CREATE},
    {"", "v1", "ConfigMap", "configmaps", "configmap", {"cm"}, {0}, true, V_ALL, 0, false,
     NULL, sk_cols_cm, SK_NCOLS_CM, sk_row_cm, NULL, sk_validate_cm},
    {"", "v1", "Endpoints", "endpoints", "endpoints", {"ep"}, {0}, true, V_ALL, 0, false,
     NULL, sk_cols_ep, SK_NCOLS_EP, sk_row_ep, sk_default_ep, NULL},
    {"", "v1", "Event", "events", "event", {"ev"}, {0}, true, V_ALL, 0, false, fs_event,
     sk_cols_event, SK_NCOLS_EVENT, sk_row_event, NULL, NULL},
    {"", "v1", "LimitRange", "limitranges", "limitrange", {"limits"}, {0}, true, V_ALL},
    {"", "v1", "Namespace", "namespaces", "namespace", {"ns"}, {0}, false, V_NS,
     SK_SUB_STATUS, false, fs_ns, sk_cols_ns, SK_NCOLS_NS, sk_row_ns, sk_default_ns,
     sk_validate_ns},
    {"", "v1", "Node", "nodes", "node", {"no"}, {0}, false, V_ALL,
     SK_SUB_STATUS | SK_SUB_PROXY, false, fs_node, sk_cols_node, SK_NCOLS_NODE, sk_row_node,
     sk_default_node, NULL},
    {"", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", "persistentvolumeclaim",
     {"pvc"}, {0}, true, V_ALL, SK_SUB_STATUS, false, NULL, sk_cols_pvc, SK_NCOLS_PVC,
     sk_row_pvc, sk_default_pvc, sk_validate_pvc},
    {"", "v1", "PersistentVolume", "persistentvolumes", "persistentvolume", {"pv"}, {0}, false,
     V_ALL, SK_SUB_STATUS, false, NULL, sk_cols_pv, SK_NCOLS_PV, sk_row_pv, sk_default_pv,
     NULL},
    {"", "v1", "Pod", "pods", "pod", {"po"}, {"all"}, true, V_ALL,
     SK_SUB_STATUS | SK_SUB_EXEC, false, fs_pod, sk_cols_pod, SK_NCOLS_POD, sk_row_pod,
     sk_default_pod, sk_validate_pod},
    {"", "v1", "ResourceQuota", "resourcequotas", "resourcequota", {"quota"}, {0}, true,
     V_ALL, SK_SUB_STATUS, false, NULL, sk_cols_quota, SK_NCOLS_QUOTA, sk_row_quota, NULL,
     NULL},
    {"", "v1", "Secret", "secrets", "secret", {0}, {0}, true, V_ALL, 0, false, fs_secret,
     sk_cols_secret, SK_NCOLS_SECRET, sk_row_secret, sk_default_secret, sk_validate_secret},
    {"", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", {"sa"}, {0}, true,
     V_ALL, 0, false, NULL, sk_cols_sa, SK_NCOLS_SA, sk_row_sa, NULL, NULL},
    {"", "v1", "Service", "services", "service", {"svc"}, {"all"}, true, V_ALL,
     SK_SUB_STATUS | SK_SUB_PROXY, false, fs_svc, sk_cols_svc, SK_NCOLS_SVC, sk_row_svc,
     sk_default_svc, sk_validate_svc},
};

static const struct sk_resource res_apps[] = {
    {"apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision", {0},
     {0}, true, V_ALL, 0, false, NULL, sk_cols_cr, SK_NCOLS_CR, sk_row_cr, NULL, NULL},
    {"apps", "v1", "DaemonSet", "daemonsets", "daemonset", {"ds"}, {"all"}, true, V_ALL,
     SK_SUB_STATUS, true, NULL, sk_cols_ds, SK_NCOLS_DS, sk_row_ds, sk_default_ds,
     sk_validate_ds},
    {"apps", "v1", "Deployment", "deployments", "deployment", {"deploy"}, {"all"}, true,
     V_ALL, SK_SUB_STATUS | SK_SUB_SCALE, true, NULL, sk_cols_deploy, SK_NCOLS_DEPLOY,
     sk_row_deploy, sk_default_deploy, sk_validate_deploy},
    {"apps", "v1", "ReplicaSet", "replicasets", "replicaset", {"rs"}, {"all"}, true, V_ALL,
     SK_SUB_STATUS | SK_SUB_SCALE, true, fs_rs, sk_cols_rs, SK_NCOLS_RS, sk_row_rs,
     sk_default_rs, sk_validate_rs},
    {"apps", "v1", "StatefulSet", "statefulsets", "statefulset", {"sts"}, {"all"}, true,
     V_ALL, SK_SUB_STATUS | SK_SUB_SCALE, true, NULL, sk_cols_sts, SK_NCOLS_STS, sk_row_sts,
     sk_default_sts, sk_validate_sts},
};

static const struct sk_resource res_events[] = {
    {"events.k8s.io", "v1", "Event", "events", "event", {"ev"}, {0}, true, V_ALL, 0, false,
     fs_event, sk_cols_event, SK_NCOLS_EVENT, sk_row_event, NULL, NULL},
};

static const struct sk_resource res_authz[] = {
    {"authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews",
     "selfsubjectaccessreview", {0}, {0}, false, SK_V_CREATE},
    {"authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews",
     "subjectaccessreview", {0}, {0}, false, SK_V_CREATE},
};

static const struct sk_resource res_batch[] = {
    {"batch", "v1", "CronJob", "cronjobs", "cronjob", {"cj"}, {"all"}, true, V_ALL,
     SK_SUB_STATUS, true, NULL, sk_cols_cj, SK_NCOLS_CJ, sk_row_cj, sk_default_cj,
     sk_validate_cj},
    {"batch", "v1", "Job", "jobs", "job", {0}, {"all"}, true, V_ALL, SK_SUB_STATUS, true,
     fs_job, sk_cols_job, SK_NCOLS_JOB, sk_row_job, sk_default_job, sk_validate_job},
};

static const struct sk_resource res_rbac[] = {
    {"rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings",
     "clusterrolebinding", {0}, {0}, false, V_ALL, 0, false, NULL, sk_cols_rb, SK_NCOLS_RB,
     sk_row_rb, NULL, sk_validate_crb},
    {"rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole", {0},
     {0}, false, V_ALL, 0, false, NULL, NULL, 0, NULL, NULL, sk_validate_role},
    {"rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding", {0},
     {0}, true, V_ALL, 0, false, NULL, sk_cols_rb, SK_NCOLS_RB, sk_row_rb, NULL,
     sk_validate_rb},
    {"rbac.authorization.k8s.io", "v1", "Role", "roles", "role", {0}, {0}, true, V_ALL, 0,
     false, NULL, NULL, 0, NULL, NULL, sk_validate_role},
};

static const struct sk_resource res_coord[] = {
    {"coordination.k8s.io", "v1", "Lease", "leases", "lease", {0}, {0}, true, V_ALL, 0,
     false, NULL, sk_cols_lease, SK_NCOLS_LEASE, sk_row_lease, NULL, sk_validate_lease},
};

/* EndpointSlice's strategy bumps generation on any non-metadata change. */
static const struct sk_resource res_discovery[] = {
    {"discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", {0}, {0},
     true, V_ALL, 0, true, NULL, sk_cols_eps, SK_NCOLS_EPS, sk_row_eps, sk_default_eps,
     sk_validate_eps},
};

/* certificates.k8s.io: the TLS bootstrap (src/apiserver/bootstrap_token_csr.c
 * serves /approval and /status with the upstream strategies). */
static const char *const fs_csr[] = {"spec.signerName", NULL};
static const struct sk_resource res_certs[] = {
    {"certificates.k8s.io", "v1", "CertificateSigningRequest", "certificatesigningrequests",
     "certificatesigningrequest", {"csr"}, {0}, false, V_ALL, SK_SUB_STATUS, false, fs_csr,
     sk_cols_csr, SK_NCOLS_CSR, sk_row_csr, NULL, sk_validate_csr},
};

/* Group priority as the upstream aggregator orders them (autoscaling is
 * served only as the Scale subresource, so it has no group here). */
static const char *const groups[] = {
    "", "apps", "events.k8s.io", "authorization.k8s.io", "batch", "certificates.k8s.io",
    "rbac.authorization.k8s.io", "coordination.k8s.io", "discovery.k8s.io", NULL,
};

#define ALL_RES(X) X(res_core) X(res_apps) X(res_events) X(res_authz) X(res_batch) \
    X(res_certs) X(res_rbac) X(res_coord) X(res_discovery)
#define COUNT(a) + SK_ARRAY_LEN(a)
#define NRES (0 ALL_RES(COUNT))

static const struct sk_resource *all_res[NRES];
static size_t nall;

static void build_index(void)
{
#define ADD(a) for (size_t i = 0; i < SK_ARRAY_LEN(a); i++) all_res[nall++] = &a[i];
    ALL_RES(ADD)
#undef ADD
}

static pthread_once_t index_once = PTHREAD_ONCE_INIT;

const struct sk_resource *const *sk_resources(size_t *n)
{
    pthread_once(&index_once, build_index);
    if (n) *n = nall;
    return all_res;
}

const struct sk_resource *sk_resource_find(const char *group, const char *version,
                                           const char *plural)
{
    size_t n;
    const struct sk_resource *const *rs = sk_resources(&n);
    if (!group || !version || !plural) return NULL;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(rs[i]->group, group) && !strcmp(rs[i]->version, version) &&
            !strcmp(rs[i]->plural, plural))
            return rs[i];
    return NULL;
}

const struct sk_resource *sk_resource_by_kind(const char *group, const char *kind)
{
    size_t n;
    const struct sk_resource *const *rs = sk_resources(&n);
    if (!group || !kind) return NULL;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(rs[i]->group, group) && !strcmp(rs[i]->kind, kind)) return rs[i];
    return NULL;
}

const char *sk_resource_api_version(const struct sk_resource *r, char *buf, size_t n)
{
    if (r->group[0]) snprintf(buf, n, "%s/%s", r->group, r->version);
    else snprintf(buf, n, "%s", r->version);
    return buf;
}

const struct sk_type *sk_resource_schema(const struct sk_resource *r)
{
    return sk_schema_kind(r->group, r->version, r->kind);
}

const char *const *sk_groups(void) { return groups; }

void sk_default_object(const struct sk_resource *r, json_t *obj)
{
    if (r && r->defaults && json_is_object(obj)) r->defaults(obj);
}
