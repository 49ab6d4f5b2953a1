/* Schema lookup: top-level kinds by group/version/kind, fields by JSON
 * name (descending into inline-embedded structs), and the closure of all
 * types reachable from the kinds (for OpenAPI), computed once. */
#include <pthread.h>
#include <string.h>

#include "api/schema_types2.h"

struct kind_entry {
    const char *group, *version, *kind;
    const struct sk_type *t;
};

static const struct kind_entry kinds[] = {
    {"", "v1", "Namespace", &sk_type_core_v1_Namespace},
    {"", "v1", "Pod", &sk_type_core_v1_Pod},
    {"", "v1", "Service", &sk_type_core_v1_Service},
    {"", "v1", "Endpoints", &sk_type_core_v1_Endpoints},
    {"", "v1", "ConfigMap", &sk_type_core_v1_ConfigMap},
    {"", "v1", "Secret", &sk_type_core_v1_Secret},
    {"", "v1", "Event", &sk_type_core_v1_Event},
    {"", "v1", "Node", &sk_type_core_v1_Node},
    {"", "v1", "ServiceAccount", &sk_type_core_v1_ServiceAccount},
    {"", "v1", "ResourceQuota", &sk_type_core_v1_ResourceQuota},
    {"", "v1", "LimitRange", &sk_type_core_v1_LimitRange},
    {"", "v1", "PersistentVolume", &sk_type_core_v1_PersistentVolume},
    {"", "v1", "PersistentVolumeClaim", &sk_type_core_v1_PersistentVolumeClaim},
    {"", "v1", "Binding", &sk_type_core_v1_Binding},
    {"apps", "v1", "Deployment", &sk_type_apps_v1_Deployment},
    {"apps", "v1", "ReplicaSet", &sk_type_apps_v1_ReplicaSet},
    {"apps", "v1", "StatefulSet", &sk_type_apps_v1_StatefulSet},
    {"apps", "v1", "DaemonSet", &sk_type_apps_v1_DaemonSet},
    {"apps", "v1", "ControllerRevision", &sk_type_apps_v1_ControllerRevision},
    {"batch", "v1", "Job", &sk_type_batch_v1_Job},
    {"batch", "v1", "CronJob", &sk_type_batch_v1_CronJob},
    {"coordination.k8s.io", "v1", "Lease", &sk_type_coordination_v1_Lease},
    {"discovery.k8s.io", "v1", "EndpointSlice", &sk_type_discovery_v1_EndpointSlice},
    {"events.k8s.io", "v1", "Event", &sk_type_events_v1_Event},
    {"rbac.authorization.k8s.io", "v1", "Role", &sk_type_rbac_v1_Role},
    {"rbac.authorization.k8s.io", "v1", "ClusterRole", &sk_type_rbac_v1_ClusterRole},
    {"rbac.authorization.k8s.io", "v1", "RoleBinding", &sk_type_rbac_v1_RoleBinding},
    {"rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", &sk_type_rbac_v1_ClusterRoleBinding},
    {"authorization.k8s.io", "v1", "SelfSubjectAccessReview",
     &sk_type_authorization_v1_SelfSubjectAccessReview},
    {"authorization.k8s.io", "v1", "SubjectAccessReview",
     &sk_type_authorization_v1_SubjectAccessReview},
    {"autoscaling", "v1", "Scale", &sk_type_autoscaling_v1_Scale},
    {"certificates.k8s.io", "v1", "CertificateSigningRequest",
     &sk_type_certificates_v1_CertificateSigningRequest},
};

const struct sk_type *sk_schema_kind(const char *group, const char *version, const char *kind)
{
    if (!version || !kind) return NULL;
    if (!group) group = "";
    for (size_t i = 0; i < SK_ARRAY_LEN(kinds); i++) {
        const struct kind_entry *k = &kinds[i];
        if (!strcmp(k->kind, kind) && !strcmp(k->version, version) && !strcmp(k->group, group))
            return k->t;
    }
    return NULL;
}

/* Inline-embedded structs nest at most a couple of levels; the cap only
 * guards against a cyclic table. */
static const struct sk_field *field_in(const struct sk_type *t, const char *name, int depth)
{
    if (!t || depth > 8) return NULL;
    for (size_t i = 0; i < t->nfields; i++) {
        const struct sk_field *f = &t->fields[i];
        if (SK_FIELD_IS_INLINE(f)) {
            const struct sk_field *g = field_in(f->msg, name, depth + 1);
            if (g) return g;
        } else if (!strcmp(f->name, name)) {
            return f;
        }
    }
    return NULL;
}

const struct sk_field *sk_schema_field(const struct sk_type *t, const char *name)
{
    return name ? field_in(t, name, 0) : NULL;
}

/* ---- closure of reachable types ------------------------------------------ */

static struct {
    const struct sk_type **v;
    size_t n, cap;
} all;
static pthread_once_t all_once = PTHREAD_ONCE_INIT;

static bool all_has(const struct sk_type *t)
{
    for (size_t i = 0; i < all.n; i++)
        if (all.v[i] == t || !strcmp(all.v[i]->name, t->name)) return true;
    return false;
}

static void all_add(const struct sk_type *t)
{
    if (!t || all_has(t)) return;
    if (all.n == all.cap) {
        all.cap = all.cap ? all.cap * 2 : 256;
        all.v = sk_realloc(all.v, all.cap * sizeof *all.v);
    }
    all.v[all.n++] = t;
}

static void all_build(void)
{
    for (size_t i = 0; i < SK_ARRAY_LEN(kinds); i++) all_add(kinds[i].t);
    /* Breadth-first: all.v grows while we walk it. */
    for (size_t i = 0; i < all.n; i++) {
        const struct sk_type *t = all.v[i];
        for (size_t j = 0; j < t->nfields; j++)
            if (t->fields[j].type == SK_F_MSG) all_add(t->fields[j].msg);
    }
}

const struct sk_type *const *sk_schema_all(size_t *n)
{
    pthread_once(&all_once, all_build);
    if (n) *n = all.n;
    return all.v;
}
