/* Schema tables beyond meta/v1 and core/v1 (k8s.io/api v1.32): apps/v1
 * (schema_apps.c) and batch, coordination, discovery, events, rbac,
 * authorization, autoscaling plus core/v1 Binding (schema_misc.c).
 * Private to sk_api; conventions as in schema_types.h. Only the types
 * referenced from other files are exported. */
#ifndef SK_API_SCHEMA_TYPES2_H
#define SK_API_SCHEMA_TYPES2_H

#include "api/schema_types.h"

/* Table-writing helpers for schema_apps.c / schema_misc.c.
 * SK2_F: plain field; SK2_FM: list merged by key with a patch strategy. */
#define SK2_F(name, num, type, flags, msg, desc) {name, num, type, flags, msg, NULL, NULL, desc}
#define SK2_FM(name, num, type, flags, msg, key, strategy, desc) \
    {name, num, type, flags, msg, key, strategy, desc}
#define SK2_TYPEMETA(kind_desc) \
    SK2_F("apiVersion", 0, SK_F_STRING, 0, NULL, \
          "Versioned schema of this representation of the object, e.g. \"apps/v1\"."), \
    SK2_F("kind", 0, SK_F_STRING, 0, NULL, "REST resource this object represents: " kind_desc ".")
#define SK2_METADATA \
    SK2_F("metadata", 1, SK_F_MSG, 0, &sk_type_meta_v1_ObjectMeta, \
          "Standard object metadata: name, namespace, labels, annotations, owners.")
#define SK2_TYPE(var, oname, desc, flds) \
    const struct sk_type var = {oname, desc, flds, SK_ARRAY_LEN(flds), NULL, NULL, NULL, false}
#define SK2_KIND(var, oname, desc, flds, g, v, k) \
    const struct sk_type var = {oname, desc, flds, SK_ARRAY_LEN(flds), g, v, k, false}

/* apps/v1 */
extern const struct sk_type sk_type_apps_v1_ControllerRevision;
extern const struct sk_type sk_type_apps_v1_DaemonSet;
extern const struct sk_type sk_type_apps_v1_Deployment;
extern const struct sk_type sk_type_apps_v1_ReplicaSet;
extern const struct sk_type sk_type_apps_v1_StatefulSet;

/* batch/v1 */
extern const struct sk_type sk_type_batch_v1_CronJob;
extern const struct sk_type sk_type_batch_v1_Job;

/* coordination.k8s.io/v1 */
extern const struct sk_type sk_type_coordination_v1_Lease;

/* discovery.k8s.io/v1 */
extern const struct sk_type sk_type_discovery_v1_EndpointSlice;

/* events.k8s.io/v1 */
extern const struct sk_type sk_type_events_v1_Event;

/* rbac.authorization.k8s.io/v1 */
extern const struct sk_type sk_type_rbac_v1_ClusterRole;
extern const struct sk_type sk_type_rbac_v1_ClusterRoleBinding;
extern const struct sk_type sk_type_rbac_v1_Role;
extern const struct sk_type sk_type_rbac_v1_RoleBinding;

/* authorization.k8s.io/v1 */
extern const struct sk_type sk_type_authorization_v1_SelfSubjectAccessReview;
extern const struct sk_type sk_type_authorization_v1_SubjectAccessReview;

/* certificates.k8s.io/v1 (schema_certs.c) */
extern const struct sk_type sk_type_certificates_v1_CertificateSigningRequest;

/* autoscaling/v1 */
extern const struct sk_type sk_type_autoscaling_v1_Scale;

/* core/v1 (pods/binding) */
extern const struct sk_type sk_type_core_v1_Binding;

#endif
