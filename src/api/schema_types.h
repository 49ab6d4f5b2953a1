/* Schema tables for apimachinery meta/v1 and core/v1 (k8s.io/api v1.32),
 * defined in schema_meta.c and schema_core_*.c. Other tables (apps, batch,
 * ...) reference these by name; sk_schema_kind() maps kinds to them.
 *
 * Inline embedding: Go structs embedded with `json:",inline"` that protobuf
 * still nests as a sub-message (Volume.volumeSource = 2,
 * PersistentVolumeSpec.persistentVolumeSource = 2, Probe.handler = 1,
 * EphemeralContainer = 1 and the LocalObjectReference embedded in
 * ConfigMapKeySelector, SecretKeySelector, ConfigMapEnvSource, ...) appear
 * as a field whose JSON name is "" and type SK_F_MSG. In JSON the fields of
 * .msg sit directly in the parent object; on the wire they are inside the
 * nested message numbered .num. Field lookup, unknown-field detection,
 * OpenAPI and the protobuf decoder must descend into such fields.
 *
 * Fields numbered 0 (apiVersion, kind) exist only in JSON. Strategies are
 * copied verbatim from the Go patchStrategy tag, so volumes carry
 * "merge,retainKeys". Every type reachable from these kinds is described
 * completely, so none is marked open. */
#ifndef SK_API_SCHEMA_TYPES_H
#define SK_API_SCHEMA_TYPES_H

#include "api/schema.h"

#define SK_FIELD_IS_INLINE(f) ((f)->type == SK_F_MSG && (f)->name[0] == '\0')

/* Shorthands for the table files only (they define SK_SCHEMA_TABLES). */
#ifdef SK_SCHEMA_TABLES
#define REP SK_FL_REPEATED
#define MAP SK_FL_MAP
#define PTR SK_FL_PTR
#define REQ SK_FL_REQUIRED
#define I64 SK_FL_INT64
#define CORE(T) (&sk_type_core_v1_##T)
#define META(T) (&sk_type_meta_v1_##T)
/* scalar field; t is the sk_ftype suffix (STRING, INT, ...) */
#define F(n, num, t, fl, d) {(n), (num), SK_F_##t, (fl), NULL, NULL, NULL, (d)}
/* scalar list with a strategic-merge strategy (finalizers) */
#define FL(n, num, t, fl, mk, st, d) {(n), (num), SK_F_##t, (fl), NULL, (mk), (st), (d)}
/* message field */
#define M(n, num, T, fl, d) {(n), (num), SK_F_MSG, (fl), (T), NULL, NULL, (d)}
/* list of messages with merge key / strategy from the Go patch tags */
#define ML(n, num, T, fl, mk, st, d) {(n), (num), SK_F_MSG, (fl), (T), (mk), (st), (d)}
/* inline embedded struct, see above */
#define INLINE(num, T) {"", (num), SK_F_MSG, 0, (T), NULL, NULL, NULL}
/* defines sk_type_<core|meta>_v1_T from the array <core|meta>_T_fields */
#define SK_TABLE_(var, oname, fields, g, v, k, d) \
    const struct sk_type var = {(oname), (d), (fields), SK_ARRAY_LEN(fields), (g), (v), (k), false}
#define CORE_TYPE(T, d) \
    SK_TABLE_(sk_type_core_v1_##T, "io.k8s.api.core.v1." #T, core_##T##_fields, NULL, NULL, NULL, d)
#define CORE_KIND(T, d) \
    SK_TABLE_(sk_type_core_v1_##T, "io.k8s.api.core.v1." #T, core_##T##_fields, "", "v1", #T, d)
#define META_TYPE(T, d)                                                                          \
    SK_TABLE_(sk_type_meta_v1_##T, "io.k8s.apimachinery.pkg.apis.meta.v1." #T, meta_##T##_fields, \
              NULL, NULL, NULL, d)
#endif

/* apimachinery pkg/apis/meta/v1 */
extern const struct sk_type sk_type_meta_v1_Condition;
extern const struct sk_type sk_type_meta_v1_LabelSelector;
extern const struct sk_type sk_type_meta_v1_LabelSelectorRequirement;
extern const struct sk_type sk_type_meta_v1_ListMeta;
extern const struct sk_type sk_type_meta_v1_ManagedFieldsEntry;
extern const struct sk_type sk_type_meta_v1_ObjectMeta;
extern const struct sk_type sk_type_meta_v1_OwnerReference;
extern const struct sk_type sk_type_meta_v1_Status;
extern const struct sk_type sk_type_meta_v1_StatusCause;
extern const struct sk_type sk_type_meta_v1_StatusDetails;

/* core/v1 */
extern const struct sk_type sk_type_core_v1_AWSElasticBlockStoreVolumeSource;
extern const struct sk_type sk_type_core_v1_Affinity;
extern const struct sk_type sk_type_core_v1_AppArmorProfile;
extern const struct sk_type sk_type_core_v1_AttachedVolume;
extern const struct sk_type sk_type_core_v1_AzureDiskVolumeSource;
extern const struct sk_type sk_type_core_v1_AzureFilePersistentVolumeSource;
extern const struct sk_type sk_type_core_v1_AzureFileVolumeSource;
extern const struct sk_type sk_type_core_v1_CSIPersistentVolumeSource;
extern const struct sk_type sk_type_core_v1_CSIVolumeSource;
extern const struct sk_type sk_type_core_v1_Capabilities;
extern const struct sk_type sk_type_core_v1_CephFSPersistentVolumeSource;
extern const struct sk_type sk_type_core_v1_CephFSVolumeSource;
extern const struct sk_type sk_type_core_v1_CinderPersistentVolumeSource;
extern const struct sk_type sk_type_core_v1_CinderVolumeSource;
extern const struct sk_type sk_type_core_v1_ClientIPConfig;
extern const struct sk_type sk_type_core_v1_ClusterTrustBundleProjection;
extern const struct sk_type sk_type_core_v1_ConfigMap;
extern const struct sk_type sk_type_core_v1_ConfigMapEnvSource;
extern const struct sk_type sk_type_core_v1_ConfigMapKeySelector;
extern const struct sk_type sk_type_core_v1_ConfigMapNodeConfigSource;
extern const struct sk_type sk_type_core_v1_ConfigMapProjection;
extern const struct sk_type sk_type_core_v1_ConfigMapVolumeSource;
extern const struct sk_type sk_type_core_v1_Container;
extern const struct sk_type sk_type_core_v1_ContainerImage;
extern const struct sk_type sk_type_core_v1_ContainerPort;
extern const struct sk_type sk_type_core_v1_ContainerResizePolicy;
extern const struct sk_type sk_type_core_v1_ContainerState;
extern const struct sk_type sk_type_core_v1_ContainerStateRunning;
extern const struct sk_type sk_type_core_v1_ContainerStateTerminated;
extern const struct sk_type sk_type_core_v1_ContainerStateWaiting;
extern const struct sk_type sk_type_core_v1_ContainerStatus;
extern const struct sk_type sk_type_core_v1_ContainerUser;
extern const struct sk_type sk_type_core_v1_DaemonEndpoint;
extern const struct sk_type sk_type_core_v1_DownwardAPIProjection;
extern const struct sk_type sk_type_core_v1_DownwardAPIVolumeFile;
extern const struct sk_type sk_type_core_v1_DownwardAPIVolumeSource;
extern const struct sk_type sk_type_core_v1_EmptyDirVolumeSource;
extern const struct sk_type sk_type_core_v1_EndpointAddress;
extern const struct sk_type sk_type_core_v1_EndpointPort;
extern const struct sk_type sk_type_core_v1_EndpointSubset;
extern const struct sk_type sk_type_core_v1_Endpoints;
extern const struct sk_type sk_type_core_v1_EnvFromSource;
extern const struct sk_type sk_type_core_v1_EnvVar;
extern const struct sk_type sk_type_core_v1_EnvVarSource;
extern const struct sk_type sk_type_core_v1_EphemeralContainer;
extern const struct sk_type sk_type_core_v1_EphemeralContainerCommon;
extern const struct sk_type sk_type_core_v1_EphemeralVolumeSource;
extern const struct sk_type sk_type_core_v1_Event;
extern const struct sk_type sk_type_core_v1_EventSeries;
extern const struct sk_type sk_type_core_v1_EventSource;
extern const struct sk_type sk_type_core_v1_ExecAction;
extern const struct sk_type sk_type_core_v1_FCVolumeSource;
extern const struct sk_type sk_type_core_v1_FlexPersistentVolumeSource;
extern const struct sk_type sk_type_core_v1_FlexVolumeSource;
extern const struct sk_type sk_type_core_v1_FlockerVolumeSource;
extern const struct sk_type sk_type_core_v1_GCEPersistentDiskVolumeSource;
extern const struct sk_type sk_type_core_v1_GRPCAction;
extern const struct sk_type sk_type_core_v1_GitRepoVolumeSource;
extern const struct sk_type sk_type_core_v1_GlusterfsPersistentVolumeSource;
extern const struct sk_type sk_type_core_v1_GlusterfsVolumeSource;
extern const struct sk_type sk_type_core_v1_HTTPGetAction;
extern const struct sk_type sk_type_core_v1_HTTPHeader;
extern const struct sk_type sk_type_core_v1_HostAlias;
extern const struct sk_type sk_type_core_v1_HostIP;
extern const struct sk_type sk_type_core_v1_HostPathVolumeSource;
extern const struct sk_type sk_type_core_v1_ISCSIPersistentVolumeSource;
extern const struct sk_type sk_type_core_v1_ISCSIVolumeSource;
extern const struct sk_type sk_type_core_v1_ImageVolumeSource;
extern const struct sk_type sk_type_core_v1_KeyToPath;
extern const struct sk_type sk_type_core_v1_Lifecycle;
extern const struct sk_type sk_type_core_v1_LifecycleHandler;
extern const struct sk_type sk_type_core_v1_LimitRange;
extern const struct sk_type sk_type_core_v1_LimitRangeItem;
extern const struct sk_type sk_type_core_v1_LimitRangeSpec;
extern const struct sk_type sk_type_core_v1_LinuxContainerUser;
extern const struct sk_type sk_type_core_v1_LoadBalancerIngress;
extern const struct sk_type sk_type_core_v1_LoadBalancerStatus;
extern const struct sk_type sk_type_core_v1_LocalObjectReference;
extern const struct sk_type sk_type_core_v1_LocalVolumeSource;
extern const struct sk_type sk_type_core_v1_ModifyVolumeStatus;
extern const struct sk_type sk_type_core_v1_NFSVolumeSource;
extern const struct sk_type sk_type_core_v1_Namespace;
extern const struct sk_type sk_type_core_v1_NamespaceCondition;
extern const struct sk_type sk_type_core_v1_NamespaceSpec;
extern const struct sk_type sk_type_core_v1_NamespaceStatus;
extern const struct sk_type sk_type_core_v1_Node;
extern const struct sk_type sk_type_core_v1_NodeAddress;
extern const struct sk_type sk_type_core_v1_NodeAffinity;
extern const struct sk_type sk_type_core_v1_NodeCondition;
extern const struct sk_type sk_type_core_v1_NodeConfigSource;
extern const struct sk_type sk_type_core_v1_NodeConfigStatus;
extern const struct sk_type sk_type_core_v1_NodeDaemonEndpoints;
extern const struct sk_type sk_type_core_v1_NodeFeatures;
extern const struct sk_type sk_type_core_v1_NodeRuntimeHandler;
extern const struct sk_type sk_type_core_v1_NodeRuntimeHandlerFeatures;
extern const struct sk_type sk_type_core_v1_NodeSelector;
extern const struct sk_type sk_type_core_v1_NodeSelectorRequirement;
extern const struct sk_type sk_type_core_v1_NodeSelectorTerm;
extern const struct sk_type sk_type_core_v1_NodeSpec;
extern const struct sk_type sk_type_core_v1_NodeStatus;
extern const struct sk_type sk_type_core_v1_NodeSystemInfo;
extern const struct sk_type sk_type_core_v1_ObjectFieldSelector;
extern const struct sk_type sk_type_core_v1_ObjectReference;
extern const struct sk_type sk_type_core_v1_PersistentVolume;
extern const struct sk_type sk_type_core_v1_PersistentVolumeClaim;
extern const struct sk_type sk_type_core_v1_PersistentVolumeClaimCondition;
extern const struct sk_type sk_type_core_v1_PersistentVolumeClaimSpec;
extern const struct sk_type sk_type_core_v1_PersistentVolumeClaimStatus;
extern const struct sk_type sk_type_core_v1_PersistentVolumeClaimTemplate;
extern const struct sk_type sk_type_core_v1_PersistentVolumeClaimVolumeSource;
extern const struct sk_type sk_type_core_v1_PersistentVolumeSource;
extern const struct sk_type sk_type_core_v1_PersistentVolumeSpec;
extern const struct sk_type sk_type_core_v1_PersistentVolumeStatus;
extern const struct sk_type sk_type_core_v1_PhotonPersistentDiskVolumeSource;
extern const struct sk_type sk_type_core_v1_Pod;
extern const struct sk_type sk_type_core_v1_PodAffinity;
extern const struct sk_type sk_type_core_v1_PodAffinityTerm;
extern const struct sk_type sk_type_core_v1_PodAntiAffinity;
extern const struct sk_type sk_type_core_v1_PodCondition;
extern const struct sk_type sk_type_core_v1_PodDNSConfig;
extern const struct sk_type sk_type_core_v1_PodDNSConfigOption;
extern const struct sk_type sk_type_core_v1_PodIP;
extern const struct sk_type sk_type_core_v1_PodOS;
extern const struct sk_type sk_type_core_v1_PodReadinessGate;
extern const struct sk_type sk_type_core_v1_PodResourceClaim;
extern const struct sk_type sk_type_core_v1_PodResourceClaimStatus;
extern const struct sk_type sk_type_core_v1_PodSchedulingGate;
extern const struct sk_type sk_type_core_v1_PodSecurityContext;
extern const struct sk_type sk_type_core_v1_PodSpec;
extern const struct sk_type sk_type_core_v1_PodStatus;
extern const struct sk_type sk_type_core_v1_PodTemplateSpec;
extern const struct sk_type sk_type_core_v1_PortStatus;
extern const struct sk_type sk_type_core_v1_PortworxVolumeSource;
extern const struct sk_type sk_type_core_v1_PreferredSchedulingTerm;
extern const struct sk_type sk_type_core_v1_Probe;
extern const struct sk_type sk_type_core_v1_ProbeHandler;
extern const struct sk_type sk_type_core_v1_ProjectedVolumeSource;
extern const struct sk_type sk_type_core_v1_QuobyteVolumeSource;
extern const struct sk_type sk_type_core_v1_RBDPersistentVolumeSource;
extern const struct sk_type sk_type_core_v1_RBDVolumeSource;
extern const struct sk_type sk_type_core_v1_ResourceClaim;
extern const struct sk_type sk_type_core_v1_ResourceFieldSelector;
extern const struct sk_type sk_type_core_v1_ResourceHealth;
extern const struct sk_type sk_type_core_v1_ResourceQuota;
extern const struct sk_type sk_type_core_v1_ResourceQuotaSpec;
extern const struct sk_type sk_type_core_v1_ResourceQuotaStatus;
extern const struct sk_type sk_type_core_v1_ResourceRequirements;
extern const struct sk_type sk_type_core_v1_ResourceStatus;
extern const struct sk_type sk_type_core_v1_SELinuxOptions;
extern const struct sk_type sk_type_core_v1_ScaleIOPersistentVolumeSource;
extern const struct sk_type sk_type_core_v1_ScaleIOVolumeSource;
extern const struct sk_type sk_type_core_v1_ScopeSelector;
extern const struct sk_type sk_type_core_v1_ScopedResourceSelectorRequirement;
extern const struct sk_type sk_type_core_v1_SeccompProfile;
extern const struct sk_type sk_type_core_v1_Secret;
extern const struct sk_type sk_type_core_v1_SecretEnvSource;
extern const struct sk_type sk_type_core_v1_SecretKeySelector;
extern const struct sk_type sk_type_core_v1_SecretProjection;
extern const struct sk_type sk_type_core_v1_SecretReference;
extern const struct sk_type sk_type_core_v1_SecretVolumeSource;
extern const struct sk_type sk_type_core_v1_SecurityContext;
extern const struct sk_type sk_type_core_v1_Service;
extern const struct sk_type sk_type_core_v1_ServiceAccount;
extern const struct sk_type sk_type_core_v1_ServiceAccountTokenProjection;
extern const struct sk_type sk_type_core_v1_ServicePort;
extern const struct sk_type sk_type_core_v1_ServiceSpec;
extern const struct sk_type sk_type_core_v1_ServiceStatus;
extern const struct sk_type sk_type_core_v1_SessionAffinityConfig;
extern const struct sk_type sk_type_core_v1_SleepAction;
extern const struct sk_type sk_type_core_v1_StorageOSPersistentVolumeSource;
extern const struct sk_type sk_type_core_v1_StorageOSVolumeSource;
extern const struct sk_type sk_type_core_v1_Sysctl;
extern const struct sk_type sk_type_core_v1_TCPSocketAction;
extern const struct sk_type sk_type_core_v1_Taint;
extern const struct sk_type sk_type_core_v1_Toleration;
extern const struct sk_type sk_type_core_v1_TopologySpreadConstraint;
extern const struct sk_type sk_type_core_v1_TypedLocalObjectReference;
extern const struct sk_type sk_type_core_v1_TypedObjectReference;
extern const struct sk_type sk_type_core_v1_Volume;
extern const struct sk_type sk_type_core_v1_VolumeDevice;
extern const struct sk_type sk_type_core_v1_VolumeMount;
extern const struct sk_type sk_type_core_v1_VolumeMountStatus;
extern const struct sk_type sk_type_core_v1_VolumeNodeAffinity;
extern const struct sk_type sk_type_core_v1_VolumeProjection;
extern const struct sk_type sk_type_core_v1_VolumeResourceRequirements;
extern const struct sk_type sk_type_core_v1_VolumeSource;
extern const struct sk_type sk_type_core_v1_VsphereVirtualDiskVolumeSource;
extern const struct sk_type sk_type_core_v1_WeightedPodAffinityTerm;
extern const struct sk_type sk_type_core_v1_WindowsSecurityContextOptions;

#endif
