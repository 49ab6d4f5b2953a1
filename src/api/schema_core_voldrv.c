/* core/v1 in-tree volume drivers shared by pods and PersistentVolumes. Most are deprecated or
 * removed upstream, but they stay fully described so that protobuf bodies keep their data and
 * strict field validation accepts old manifests.
 *
 * Field numbers, pointer-ness and patch tags follow k8s.io/api and
 * apimachinery v1.32 (types.go, generated.proto); descriptions are our own. */
#define SK_SCHEMA_TABLES
#include "api/schema_types.h"

static const struct sk_field core_AWSElasticBlockStoreVolumeSource_fields[] = {
    F("volumeID", 1, STRING, REQ, NULL),
    F("fsType", 2, STRING, 0, NULL),
    F("partition", 3, INT, 0, NULL),
    F("readOnly", 4, BOOL, 0, NULL),
};
CORE_TYPE(AWSElasticBlockStoreVolumeSource, NULL);

static const struct sk_field core_AzureDiskVolumeSource_fields[] = {
    F("diskName", 1, STRING, REQ, NULL),
    F("diskURI", 2, STRING, REQ, NULL),
    F("cachingMode", 3, STRING, PTR, NULL),
    F("fsType", 4, STRING, PTR, NULL),
    F("readOnly", 5, BOOL, PTR, NULL),
    F("kind", 6, STRING, PTR, NULL),
};
CORE_TYPE(AzureDiskVolumeSource, NULL);

static const struct sk_field core_AzureFileVolumeSource_fields[] = {
    F("secretName", 1, STRING, REQ, NULL),
    F("shareName", 2, STRING, REQ, NULL),
    F("readOnly", 3, BOOL, 0, NULL),
};
CORE_TYPE(AzureFileVolumeSource, NULL);

static const struct sk_field core_AzureFilePersistentVolumeSource_fields[] = {
    F("secretName", 1, STRING, REQ, NULL),
    F("shareName", 2, STRING, REQ, NULL),
    F("readOnly", 3, BOOL, 0, NULL),
    F("secretNamespace", 4, STRING, PTR, NULL),
};
CORE_TYPE(AzureFilePersistentVolumeSource, NULL);

static const struct sk_field core_CephFSVolumeSource_fields[] = {
    F("monitors", 1, STRING, REP|REQ, NULL),
    F("path", 2, STRING, 0, NULL),
    F("user", 3, STRING, 0, NULL),
    F("secretFile", 4, STRING, 0, NULL),
    M("secretRef", 5, CORE(LocalObjectReference), PTR, NULL),
    F("readOnly", 6, BOOL, 0, NULL),
};
CORE_TYPE(CephFSVolumeSource, NULL);

static const struct sk_field core_CephFSPersistentVolumeSource_fields[] = {
    F("monitors", 1, STRING, REP|REQ, NULL),
    F("path", 2, STRING, 0, NULL),
    F("user", 3, STRING, 0, NULL),
    F("secretFile", 4, STRING, 0, NULL),
    M("secretRef", 5, CORE(SecretReference), PTR, NULL),
    F("readOnly", 6, BOOL, 0, NULL),
};
CORE_TYPE(CephFSPersistentVolumeSource, NULL);

static const struct sk_field core_CinderVolumeSource_fields[] = {
    F("volumeID", 1, STRING, REQ, NULL),
    F("fsType", 2, STRING, 0, NULL),
    F("readOnly", 3, BOOL, 0, NULL),
    M("secretRef", 4, CORE(LocalObjectReference), PTR, NULL),
};
CORE_TYPE(CinderVolumeSource, NULL);

static const struct sk_field core_CinderPersistentVolumeSource_fields[] = {
    F("volumeID", 1, STRING, REQ, NULL),
    F("fsType", 2, STRING, 0, NULL),
    F("readOnly", 3, BOOL, 0, NULL),
    M("secretRef", 4, CORE(SecretReference), PTR, NULL),
};
CORE_TYPE(CinderPersistentVolumeSource, NULL);

static const struct sk_field core_FCVolumeSource_fields[] = {
    F("targetWWNs", 1, STRING, REP, NULL),
    F("lun", 2, INT, PTR, NULL),
    F("fsType", 3, STRING, 0, NULL),
    F("readOnly", 4, BOOL, 0, NULL),
    F("wwids", 5, STRING, REP, NULL),
};
CORE_TYPE(FCVolumeSource, NULL);

static const struct sk_field core_FlexVolumeSource_fields[] = {
    F("driver", 1, STRING, REQ, NULL),
    F("fsType", 2, STRING, 0, NULL),
    M("secretRef", 3, CORE(LocalObjectReference), PTR, NULL),
    F("readOnly", 4, BOOL, 0, NULL),
    F("options", 5, STRING, MAP, NULL),
};
CORE_TYPE(FlexVolumeSource, NULL);

static const struct sk_field core_FlexPersistentVolumeSource_fields[] = {
    F("driver", 1, STRING, REQ, NULL),
    F("fsType", 2, STRING, 0, NULL),
    M("secretRef", 3, CORE(SecretReference), PTR, NULL),
    F("readOnly", 4, BOOL, 0, NULL),
    F("options", 5, STRING, MAP, NULL),
};
CORE_TYPE(FlexPersistentVolumeSource, NULL);

static const struct sk_field core_FlockerVolumeSource_fields[] = {
    F("datasetName", 1, STRING, 0, NULL),
    F("datasetUUID", 2, STRING, 0, NULL),
};
CORE_TYPE(FlockerVolumeSource, NULL);

static const struct sk_field core_GCEPersistentDiskVolumeSource_fields[] = {
    F("pdName", 1, STRING, REQ, NULL),
    F("fsType", 2, STRING, 0, NULL),
    F("partition", 3, INT, 0, NULL),
    F("readOnly", 4, BOOL, 0, NULL),
};
CORE_TYPE(GCEPersistentDiskVolumeSource, NULL);

static const struct sk_field core_GlusterfsVolumeSource_fields[] = {
    F("endpoints", 1, STRING, REQ, NULL),
    F("path", 2, STRING, REQ, NULL),
    F("readOnly", 3, BOOL, 0, NULL),
};
CORE_TYPE(GlusterfsVolumeSource, NULL);

static const struct sk_field core_GlusterfsPersistentVolumeSource_fields[] = {
    F("endpoints", 1, STRING, REQ, NULL),
    F("path", 2, STRING, REQ, NULL),
    F("readOnly", 3, BOOL, 0, NULL),
    F("endpointsNamespace", 4, STRING, PTR, NULL),
};
CORE_TYPE(GlusterfsPersistentVolumeSource, NULL);

static const struct sk_field core_ISCSIVolumeSource_fields[] = {
    F("targetPortal", 1, STRING, REQ, NULL),
    F("iqn", 2, STRING, REQ, NULL),
    F("lun", 3, INT, REQ, NULL),
    F("iscsiInterface", 4, STRING, 0, NULL),
    F("fsType", 5, STRING, 0, NULL),
    F("readOnly", 6, BOOL, 0, NULL),
    F("portals", 7, STRING, REP, NULL),
    F("chapAuthDiscovery", 8, BOOL, 0, NULL),
    F("chapAuthSession", 11, BOOL, 0, NULL),
    M("secretRef", 10, CORE(LocalObjectReference), PTR, NULL),
    F("initiatorName", 12, STRING, PTR, NULL),
};
CORE_TYPE(ISCSIVolumeSource, NULL);

static const struct sk_field core_ISCSIPersistentVolumeSource_fields[] = {
    F("targetPortal", 1, STRING, REQ, NULL),
    F("iqn", 2, STRING, REQ, NULL),
    F("lun", 3, INT, REQ, NULL),
    F("iscsiInterface", 4, STRING, 0, NULL),
    F("fsType", 5, STRING, 0, NULL),
    F("readOnly", 6, BOOL, 0, NULL),
    F("portals", 7, STRING, REP, NULL),
    F("chapAuthDiscovery", 8, BOOL, 0, NULL),
    F("chapAuthSession", 11, BOOL, 0, NULL),
    M("secretRef", 10, CORE(SecretReference), PTR, NULL),
    F("initiatorName", 12, STRING, PTR, NULL),
};
CORE_TYPE(ISCSIPersistentVolumeSource, NULL);

static const struct sk_field core_PhotonPersistentDiskVolumeSource_fields[] = {
    F("pdID", 1, STRING, REQ, NULL),
    F("fsType", 2, STRING, 0, NULL),
};
CORE_TYPE(PhotonPersistentDiskVolumeSource, NULL);

static const struct sk_field core_PortworxVolumeSource_fields[] = {
    F("volumeID", 1, STRING, REQ, NULL),
    F("fsType", 2, STRING, 0, NULL),
    F("readOnly", 3, BOOL, 0, NULL),
};
CORE_TYPE(PortworxVolumeSource, NULL);

static const struct sk_field core_QuobyteVolumeSource_fields[] = {
    F("registry", 1, STRING, REQ, NULL),
    F("volume", 2, STRING, REQ, NULL),
    F("readOnly", 3, BOOL, 0, NULL),
    F("user", 4, STRING, 0, NULL),
    F("group", 5, STRING, 0, NULL),
    F("tenant", 6, STRING, 0, NULL),
};
CORE_TYPE(QuobyteVolumeSource, NULL);

static const struct sk_field core_RBDVolumeSource_fields[] = {
    F("monitors", 1, STRING, REP|REQ, NULL),
    F("image", 2, STRING, REQ, NULL),
    F("fsType", 3, STRING, 0, NULL),
    F("pool", 4, STRING, 0, NULL),
    F("user", 5, STRING, 0, NULL),
    F("keyring", 6, STRING, 0, NULL),
    M("secretRef", 7, CORE(LocalObjectReference), PTR, NULL),
    F("readOnly", 8, BOOL, 0, NULL),
};
CORE_TYPE(RBDVolumeSource, NULL);

static const struct sk_field core_RBDPersistentVolumeSource_fields[] = {
    F("monitors", 1, STRING, REP|REQ, NULL),
    F("image", 2, STRING, REQ, NULL),
    F("fsType", 3, STRING, 0, NULL),
    F("pool", 4, STRING, 0, NULL),
    F("user", 5, STRING, 0, NULL),
    F("keyring", 6, STRING, 0, NULL),
    M("secretRef", 7, CORE(SecretReference), PTR, NULL),
    F("readOnly", 8, BOOL, 0, NULL),
};
CORE_TYPE(RBDPersistentVolumeSource, NULL);

static const struct sk_field core_ScaleIOVolumeSource_fields[] = {
    F("gateway", 1, STRING, REQ, NULL),
    F("system", 2, STRING, REQ, NULL),
    M("secretRef", 3, CORE(LocalObjectReference), PTR, NULL),
    F("sslEnabled", 4, BOOL, 0, NULL),
    F("protectionDomain", 5, STRING, 0, NULL),
    F("storagePool", 6, STRING, 0, NULL),
    F("storageMode", 7, STRING, 0, NULL),
    F("volumeName", 8, STRING, 0, NULL),
    F("fsType", 9, STRING, 0, NULL),
    F("readOnly", 10, BOOL, 0, NULL),
};
CORE_TYPE(ScaleIOVolumeSource, NULL);

static const struct sk_field core_ScaleIOPersistentVolumeSource_fields[] = {
    F("gateway", 1, STRING, REQ, NULL),
    F("system", 2, STRING, REQ, NULL),
    M("secretRef", 3, CORE(SecretReference), PTR, NULL),
    F("sslEnabled", 4, BOOL, 0, NULL),
    F("protectionDomain", 5, STRING, 0, NULL),
    F("storagePool", 6, STRING, 0, NULL),
    F("storageMode", 7, STRING, 0, NULL),
    F("volumeName", 8, STRING, 0, NULL),
    F("fsType", 9, STRING, 0, NULL),
    F("readOnly", 10, BOOL, 0, NULL),
};
CORE_TYPE(ScaleIOPersistentVolumeSource, NULL);

static const struct sk_field core_StorageOSVolumeSource_fields[] = {
    F("volumeName", 1, STRING, 0, NULL),
    F("volumeNamespace", 2, STRING, 0, NULL),
    F("fsType", 3, STRING, 0, NULL),
    F("readOnly", 4, BOOL, 0, NULL),
    M("secretRef", 5, CORE(LocalObjectReference), PTR, NULL),
};
CORE_TYPE(StorageOSVolumeSource, NULL);

static const struct sk_field core_StorageOSPersistentVolumeSource_fields[] = {
    F("volumeName", 1, STRING, 0, NULL),
    F("volumeNamespace", 2, STRING, 0, NULL),
    F("fsType", 3, STRING, 0, NULL),
    F("readOnly", 4, BOOL, 0, NULL),
    M("secretRef", 5, CORE(ObjectReference), PTR, NULL),
};
CORE_TYPE(StorageOSPersistentVolumeSource, NULL);

static const struct sk_field core_VsphereVirtualDiskVolumeSource_fields[] = {
    F("volumePath", 1, STRING, REQ, NULL),
    F("fsType", 2, STRING, 0, NULL),
    F("storagePolicyName", 3, STRING, 0, NULL),
    F("storagePolicyID", 4, STRING, 0, NULL),
};
CORE_TYPE(VsphereVirtualDiskVolumeSource, NULL);
