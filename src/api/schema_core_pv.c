/* core/v1 PersistentVolume and PersistentVolumeClaim.
 *
 * Field numbers, pointer-ness and patch tags follow k8s.io/api and
 * apimachinery v1.32 (types.go, generated.proto); descriptions are our own. */
#define SK_SCHEMA_TABLES
#include "api/schema_types.h"

static const struct sk_field core_PersistentVolume_fields[] = {
    F("apiVersion", 0, STRING, 0, "API version of this representation of the object."),
    F("kind", 0, STRING, 0, "Kind of object this is, in CamelCase."),
    M("metadata", 1, META(ObjectMeta), 0, "Standard object metadata."),
    M("spec", 2, CORE(PersistentVolumeSpec), 0, "Characteristics of the volume."),
    M("status", 3, CORE(PersistentVolumeStatus), 0, "Current state of the volume."),
};
CORE_KIND(PersistentVolume,
          "A piece of storage provisioned in the cluster by an administrator or dynamically.");

static const struct sk_field core_PersistentVolumeSpec_fields[] = {
    F("capacity", 1, QUANTITY, MAP, "Size and other resources of the volume."),
    INLINE(2, CORE(PersistentVolumeSource)),
    F("accessModes", 3, STRING, REP, "Ways the volume can be mounted, e.g. ReadWriteOnce."),
    M("claimRef", 4, CORE(ObjectReference), PTR, "Claim bound to this volume."),
    F("persistentVolumeReclaimPolicy", 5, STRING, 0,
      "What happens after release: Retain, Delete or Recycle."),
    F("storageClassName", 6, STRING, 0, "StorageClass the volume belongs to."),
    F("mountOptions", 7, STRING, REP, "Mount options used when mounting the volume."),
    F("volumeMode", 8, STRING, PTR, "Filesystem (default) or Block."),
    M("nodeAffinity", 9, CORE(VolumeNodeAffinity), PTR, "Nodes the volume can be used from."),
    F("volumeAttributesClassName", 10, STRING, PTR, "VolumeAttributesClass of the volume."),
};
CORE_TYPE(PersistentVolumeSpec, "Desired characteristics of a volume.");

static const struct sk_field core_PersistentVolumeSource_fields[] = {
    M("gcePersistentDisk", 1, CORE(GCEPersistentDiskVolumeSource), PTR, NULL),
    M("awsElasticBlockStore", 2, CORE(AWSElasticBlockStoreVolumeSource), PTR, NULL),
    M("hostPath", 3, CORE(HostPathVolumeSource), PTR,
      "Directory on a node (single-node testing only)."),
    M("glusterfs", 4, CORE(GlusterfsPersistentVolumeSource), PTR, NULL),
    M("nfs", 5, CORE(NFSVolumeSource), PTR, "An NFS export."),
    M("rbd", 6, CORE(RBDPersistentVolumeSource), PTR, NULL),
    M("iscsi", 7, CORE(ISCSIPersistentVolumeSource), PTR, NULL),
    M("cinder", 8, CORE(CinderPersistentVolumeSource), PTR, NULL),
    M("cephfs", 9, CORE(CephFSPersistentVolumeSource), PTR, NULL),
    M("fc", 10, CORE(FCVolumeSource), PTR, NULL),
    M("flocker", 11, CORE(FlockerVolumeSource), PTR, NULL),
    M("flexVolume", 12, CORE(FlexPersistentVolumeSource), PTR, NULL),
    M("azureFile", 13, CORE(AzureFilePersistentVolumeSource), PTR, NULL),
    M("vsphereVolume", 14, CORE(VsphereVirtualDiskVolumeSource), PTR, NULL),
    M("quobyte", 15, CORE(QuobyteVolumeSource), PTR, NULL),
    M("azureDisk", 16, CORE(AzureDiskVolumeSource), PTR, NULL),
    M("photonPersistentDisk", 17, CORE(PhotonPersistentDiskVolumeSource), PTR, NULL),
    M("portworxVolume", 18, CORE(PortworxVolumeSource), PTR, NULL),
    M("scaleIO", 19, CORE(ScaleIOPersistentVolumeSource), PTR, NULL),
    M("local", 20, CORE(LocalVolumeSource), PTR, "A local disk or directory of a node."),
    M("storageos", 21, CORE(StorageOSPersistentVolumeSource), PTR, NULL),
    M("csi", 22, CORE(CSIPersistentVolumeSource), PTR, "Storage managed by a CSI driver."),
};
CORE_TYPE(PersistentVolumeSource,
          "Where a persistent volume's storage is; exactly one source must be set.");

static const struct sk_field core_PersistentVolumeStatus_fields[] = {
    F("phase", 1, STRING, 0, "Pending, Available, Bound, Released or Failed."),
    F("message", 2, STRING, 0, "Human readable detail of the state."),
    F("reason", 3, STRING, 0, "Short CamelCase reason for the state."),
    F("lastPhaseTransitionTime", 4, TIME, PTR, "When the phase last changed."),
};
CORE_TYPE(PersistentVolumeStatus, "Current state of a persistent volume.");

static const struct sk_field core_LocalVolumeSource_fields[] = {
    F("path", 1, STRING, REQ, "Path on the node."),
    F("fsType", 2, STRING, PTR, "Filesystem type when path is a block device."),
};
CORE_TYPE(LocalVolumeSource, "A local disk, partition or directory of a node.");

static const struct sk_field core_CSIPersistentVolumeSource_fields[] = {
    F("driver", 1, STRING, REQ, "Name of the CSI driver."),
    F("volumeHandle", 2, STRING, REQ, "Driver's identifier of the volume."),
    F("readOnly", 3, BOOL, 0, "Mount read-only."),
    F("fsType", 4, STRING, 0, "Filesystem type to mount."),
    F("volumeAttributes", 5, STRING, MAP, "Driver-specific attributes."),
    M("controllerPublishSecretRef", 6, CORE(SecretReference), PTR, NULL),
    M("nodeStageSecretRef", 7, CORE(SecretReference), PTR, NULL),
    M("nodePublishSecretRef", 8, CORE(SecretReference), PTR, NULL),
    M("controllerExpandSecretRef", 9, CORE(SecretReference), PTR, NULL),
    M("nodeExpandSecretRef", 10, CORE(SecretReference), PTR, NULL),
};
CORE_TYPE(CSIPersistentVolumeSource, "Persistent storage managed by a CSI driver.");

static const struct sk_field core_VolumeNodeAffinity_fields[] = {
    M("required", 1, CORE(NodeSelector), PTR, "Nodes that can access the volume."),
};
CORE_TYPE(VolumeNodeAffinity, "Nodes from which a volume is reachable.");

static const struct sk_field core_PersistentVolumeClaim_fields[] = {
    F("apiVersion", 0, STRING, 0, "API version of this representation of the object."),
    F("kind", 0, STRING, 0, "Kind of object this is, in CamelCase."),
    M("metadata", 1, META(ObjectMeta), 0, "Standard object metadata."),
    M("spec", 2, CORE(PersistentVolumeClaimSpec), 0, "Volume requested by the claim."),
    M("status", 3, CORE(PersistentVolumeClaimStatus), 0, "Current state of the claim."),
};
CORE_KIND(PersistentVolumeClaim, "A user's request for, and binding to, a persistent volume.");

static const struct sk_field core_PersistentVolumeClaimSpec_fields[] = {
    F("accessModes", 1, STRING, REP, "Access modes the volume must support."),
    M("selector", 4, META(LabelSelector), PTR, "Label query over volumes to bind to."),
    M("resources", 2, CORE(VolumeResourceRequirements), 0,
      "Minimum (and maximum) resources the volume must have."),
    F("volumeName", 3, STRING, 0, "Bind to this specific volume."),
    F("storageClassName", 5, STRING, PTR, "StorageClass to bind or provision from."),
    F("volumeMode", 6, STRING, PTR, "Filesystem (default) or Block."),
    M("dataSource", 7, CORE(TypedLocalObjectReference), PTR,
      "Existing snapshot or claim to populate the volume from."),
    M("dataSourceRef", 8, CORE(TypedObjectReference), PTR,
      "Object to populate the volume from, possibly of any kind or namespace."),
    F("volumeAttributesClassName", 9, STRING, PTR, "VolumeAttributesClass the volume should use."),
};
CORE_TYPE(PersistentVolumeClaimSpec, "Desired characteristics of a volume requested by a claim.");

static const struct sk_field core_PersistentVolumeClaimStatus_fields[] = {
    F("phase", 1, STRING, 0, "Pending, Bound or Lost."),
    F("accessModes", 2, STRING, REP, "Access modes of the bound volume."),
    F("capacity", 3, QUANTITY, MAP, "Resources of the bound volume."),
    ML("conditions", 4, CORE(PersistentVolumeClaimCondition), REP, "type", "merge",
      "Current conditions of the claim."),
    F("allocatedResources", 5, QUANTITY, MAP,
      "Resources allocated to the claim, including pending resizes."),
    F("allocatedResourceStatuses", 7, STRING, MAP, "State of resize operations per resource."),
    F("currentVolumeAttributesClassName", 8, STRING, PTR,
      "VolumeAttributesClass currently in effect."),
    M("modifyVolumeStatus", 9, CORE(ModifyVolumeStatus), PTR,
      "State of a pending volume modification."),
};
CORE_TYPE(PersistentVolumeClaimStatus, "Current state of a claim.");

static const struct sk_field core_PersistentVolumeClaimCondition_fields[] = {
    F("type", 1, STRING, REQ, NULL),
    F("status", 2, STRING, REQ, NULL),
    F("lastProbeTime", 3, TIME, 0, NULL),
    F("lastTransitionTime", 4, TIME, 0, NULL),
    F("reason", 5, STRING, 0, NULL),
    F("message", 6, STRING, 0, NULL),
};
CORE_TYPE(PersistentVolumeClaimCondition, "One observed condition of a claim.");

static const struct sk_field core_VolumeResourceRequirements_fields[] = {
    F("limits", 1, QUANTITY, MAP, "Maximum amount of each resource."),
    F("requests", 2, QUANTITY, MAP, "Minimum amount of each resource."),
};
CORE_TYPE(VolumeResourceRequirements, "Storage requests and limits of a claim.");

static const struct sk_field core_ModifyVolumeStatus_fields[] = {
    F("targetVolumeAttributesClassName", 1, STRING, 0, "Class being applied."),
    F("status", 2, STRING, REQ, "Pending, InProgress or Infeasible."),
};
CORE_TYPE(ModifyVolumeStatus, "State of a volume attributes modification.");

static const struct sk_field core_TypedLocalObjectReference_fields[] = {
    F("apiGroup", 1, STRING, PTR, "API group of the referent; empty for core."),
    F("kind", 2, STRING, REQ, "Kind of the referent."),
    F("name", 3, STRING, REQ, "Name of the referent."),
};
CORE_TYPE(TypedLocalObjectReference, "Reference to an object of some kind in the same namespace.");

static const struct sk_field core_TypedObjectReference_fields[] = {
    F("apiGroup", 1, STRING, PTR, "API group of the referent; empty for core."),
    F("kind", 2, STRING, REQ, "Kind of the referent."),
    F("name", 3, STRING, REQ, "Name of the referent."),
    F("namespace", 4, STRING, PTR, "Namespace of the referent."),
};
CORE_TYPE(TypedObjectReference,
          "Reference to an object of some kind, possibly in another namespace.");

static const struct sk_field core_SecretReference_fields[] = {
    F("name", 1, STRING, 0, "Name of the Secret."),
    F("namespace", 2, STRING, 0, "Namespace of the Secret."),
};
CORE_TYPE(SecretReference, "Names a Secret, possibly in another namespace.");
