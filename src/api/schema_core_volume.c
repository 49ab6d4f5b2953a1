/* core/v1 pod volumes and their sources.
 *
 * Field numbers, pointer-ness and patch tags follow k8s.io/api and
 * apimachinery v1.32 (types.go, generated.proto); descriptions are our own. */
#define SK_SCHEMA_TABLES
#include "api/schema_types.h"

static const struct sk_field core_Volume_fields[] = {
    F("name", 1, STRING, REQ, "Volume name, unique within the pod (DNS label)."),
    INLINE(2, CORE(VolumeSource)),
};
CORE_TYPE(Volume, "A named volume that containers of the pod can mount.");

static const struct sk_field core_VolumeSource_fields[] = {
    M("hostPath", 1, CORE(HostPathVolumeSource), PTR, "File or directory on the node."),
    M("emptyDir", 2, CORE(EmptyDirVolumeSource), PTR,
      "Temporary directory that lives as long as the pod."),
    M("gcePersistentDisk", 3, CORE(GCEPersistentDiskVolumeSource), PTR, NULL),
    M("awsElasticBlockStore", 4, CORE(AWSElasticBlockStoreVolumeSource), PTR, NULL),
    M("gitRepo", 5, CORE(GitRepoVolumeSource), PTR, NULL),
    M("secret", 6, CORE(SecretVolumeSource), PTR, "Contents of a Secret."),
    M("nfs", 7, CORE(NFSVolumeSource), PTR, "An NFS export."),
    M("iscsi", 8, CORE(ISCSIVolumeSource), PTR, NULL),
    M("glusterfs", 9, CORE(GlusterfsVolumeSource), PTR, NULL),
    M("persistentVolumeClaim", 10, CORE(PersistentVolumeClaimVolumeSource), PTR,
      "A PersistentVolumeClaim in the same namespace."),
    M("rbd", 11, CORE(RBDVolumeSource), PTR, NULL),
    M("flexVolume", 12, CORE(FlexVolumeSource), PTR, NULL),
    M("cinder", 13, CORE(CinderVolumeSource), PTR, NULL),
    M("cephfs", 14, CORE(CephFSVolumeSource), PTR, NULL),
    M("flocker", 15, CORE(FlockerVolumeSource), PTR, NULL),
    M("downwardAPI", 16, CORE(DownwardAPIVolumeSource), PTR, "Pod information exposed as files."),
    M("fc", 17, CORE(FCVolumeSource), PTR, NULL),
    M("azureFile", 18, CORE(AzureFileVolumeSource), PTR, NULL),
    M("configMap", 19, CORE(ConfigMapVolumeSource), PTR, "Contents of a ConfigMap."),
    M("vsphereVolume", 20, CORE(VsphereVirtualDiskVolumeSource), PTR, NULL),
    M("quobyte", 21, CORE(QuobyteVolumeSource), PTR, NULL),
    M("azureDisk", 22, CORE(AzureDiskVolumeSource), PTR, NULL),
    M("photonPersistentDisk", 23, CORE(PhotonPersistentDiskVolumeSource), PTR, NULL),
    M("projected", 26, CORE(ProjectedVolumeSource), PTR,
      "Several sources projected into one directory."),
    M("portworxVolume", 24, CORE(PortworxVolumeSource), PTR, NULL),
    M("scaleIO", 25, CORE(ScaleIOVolumeSource), PTR, NULL),
    M("storageos", 27, CORE(StorageOSVolumeSource), PTR, NULL),
    M("csi", 28, CORE(CSIVolumeSource), PTR, "Ephemeral storage from a CSI driver."),
    M("ephemeral", 29, CORE(EphemeralVolumeSource), PTR,
      "Volume whose claim is created and deleted with the pod."),
    M("image", 30, CORE(ImageVolumeSource), PTR,
      "Contents of an OCI image or artifact, mounted read-only."),
};
CORE_TYPE(VolumeSource, "Where a volume's content comes from; exactly one source must be set.");

static const struct sk_field core_EmptyDirVolumeSource_fields[] = {
    F("medium", 1, STRING, 0, "Backing storage: \"\" (node disk) or Memory (tmpfs)."),
    F("sizeLimit", 2, QUANTITY, PTR, "Maximum size of the directory."),
};
CORE_TYPE(EmptyDirVolumeSource, "An initially empty directory that lives as long as the pod.");

static const struct sk_field core_HostPathVolumeSource_fields[] = {
    F("path", 1, STRING, REQ, "Path on the node."),
    F("type", 2, STRING, PTR, "Expected kind of path, e.g. Directory, DirectoryOrCreate or File."),
};
CORE_TYPE(HostPathVolumeSource, "A path on the node.");

static const struct sk_field core_ConfigMapVolumeSource_fields[] = {
    INLINE(1, CORE(LocalObjectReference)),
    M("items", 2, CORE(KeyToPath), REP, "Keys to project and their paths; default is every key."),
    F("defaultMode", 3, INT, PTR, "Mode bits of the files (default 0644)."),
    F("optional", 4, BOOL, PTR, "Do not fail if the ConfigMap is missing."),
};
CORE_TYPE(ConfigMapVolumeSource, "Projects a ConfigMap's keys as files.");

static const struct sk_field core_SecretVolumeSource_fields[] = {
    F("secretName", 1, STRING, 0, "Name of the Secret."),
    M("items", 2, CORE(KeyToPath), REP, "Keys to project and their paths; default is every key."),
    F("defaultMode", 3, INT, PTR, "Mode bits of the files (default 0644)."),
    F("optional", 4, BOOL, PTR, "Do not fail if the Secret is missing."),
};
CORE_TYPE(SecretVolumeSource, "Projects a Secret's keys as files.");

static const struct sk_field core_KeyToPath_fields[] = {
    F("key", 1, STRING, REQ, "Key to project."),
    F("path", 2, STRING, REQ, "Relative file path to write it to."),
    F("mode", 3, INT, PTR, "File mode bits."),
};
CORE_TYPE(KeyToPath, "Maps a key to a file path.");

static const struct sk_field core_DownwardAPIVolumeSource_fields[] = {
    M("items", 1, CORE(DownwardAPIVolumeFile), REP, "Files to create."),
    F("defaultMode", 2, INT, PTR, "Mode bits of the files (default 0644)."),
};
CORE_TYPE(DownwardAPIVolumeSource, "Pod fields and resources exposed as files.");

static const struct sk_field core_DownwardAPIVolumeFile_fields[] = {
    F("path", 1, STRING, REQ, "Relative file path."),
    M("fieldRef", 2, CORE(ObjectFieldSelector), PTR, "Pod field to write."),
    M("resourceFieldRef", 3, CORE(ResourceFieldSelector), PTR, "Container resource to write."),
    F("mode", 4, INT, PTR, "Mode bits of the file."),
};
CORE_TYPE(DownwardAPIVolumeFile, "One downward API file.");

static const struct sk_field core_ProjectedVolumeSource_fields[] = {
    M("sources", 1, CORE(VolumeProjection), REP, "The sources."),
    F("defaultMode", 2, INT, PTR, "Mode bits of the files (default 0644)."),
};
CORE_TYPE(ProjectedVolumeSource, "Several sources projected into one directory.");

static const struct sk_field core_VolumeProjection_fields[] = {
    M("secret", 1, CORE(SecretProjection), PTR, "Keys of a Secret."),
    M("downwardAPI", 2, CORE(DownwardAPIProjection), PTR, "Pod fields and resources."),
    M("configMap", 3, CORE(ConfigMapProjection), PTR, "Keys of a ConfigMap."),
    M("serviceAccountToken", 4, CORE(ServiceAccountTokenProjection), PTR,
      "A service account token."),
    M("clusterTrustBundle", 5, CORE(ClusterTrustBundleProjection), PTR,
      "Certificates from ClusterTrustBundle objects."),
};
CORE_TYPE(VolumeProjection, "One source of a projected volume.");

static const struct sk_field core_ServiceAccountTokenProjection_fields[] = {
    F("audience", 1, STRING, 0, "Intended audience of the token; defaults to the API server."),
    F("expirationSeconds", 2, INT, PTR|I64, "Requested lifetime of the token (default 1h)."),
    F("path", 3, STRING, REQ, "Relative file path."),
};
CORE_TYPE(ServiceAccountTokenProjection, "A bound service account token written to a file.");

static const struct sk_field core_ConfigMapProjection_fields[] = {
    INLINE(1, CORE(LocalObjectReference)),
    M("items", 2, CORE(KeyToPath), REP, "Keys to project and their paths."),
    F("optional", 4, BOOL, PTR, "Do not fail if the ConfigMap is missing."),
};
CORE_TYPE(ConfigMapProjection, "Keys of a ConfigMap in a projected volume.");

static const struct sk_field core_SecretProjection_fields[] = {
    INLINE(1, CORE(LocalObjectReference)),
    M("items", 2, CORE(KeyToPath), REP, "Keys to project and their paths."),
    F("optional", 4, BOOL, PTR, "Do not fail if the Secret is missing."),
};
CORE_TYPE(SecretProjection, "Keys of a Secret in a projected volume.");

static const struct sk_field core_DownwardAPIProjection_fields[] = {
    M("items", 1, CORE(DownwardAPIVolumeFile), REP, "Files to create."),
};
CORE_TYPE(DownwardAPIProjection, "Pod fields and resources in a projected volume.");

static const struct sk_field core_ClusterTrustBundleProjection_fields[] = {
    F("name", 1, STRING, PTR, "Single bundle to use, by name."),
    F("signerName", 2, STRING, PTR, "Use bundles of this signer."),
    M("labelSelector", 3, META(LabelSelector), PTR, "Restrict the signer's bundles by label."),
    F("optional", 5, BOOL, PTR, "Do not fail if no bundle is found."),
    F("path", 4, STRING, REQ, "Relative file path."),
};
CORE_TYPE(ClusterTrustBundleProjection,
          "Certificates from ClusterTrustBundle objects written to a file.");

static const struct sk_field core_PersistentVolumeClaimVolumeSource_fields[] = {
    F("claimName", 1, STRING, REQ, "Name of the PersistentVolumeClaim."),
    F("readOnly", 2, BOOL, 0, "Mount read-only."),
};
CORE_TYPE(PersistentVolumeClaimVolumeSource, "Mounts the volume bound to a claim.");

static const struct sk_field core_NFSVolumeSource_fields[] = {
    F("server", 1, STRING, REQ, "Host name or IP of the NFS server."),
    F("path", 2, STRING, REQ, "Exported path."),
    F("readOnly", 3, BOOL, 0, "Mount read-only."),
};
CORE_TYPE(NFSVolumeSource, "An NFS export.");

static const struct sk_field core_CSIVolumeSource_fields[] = {
    F("driver", 1, STRING, REQ, "Name of the CSI driver."),
    F("readOnly", 2, BOOL, PTR, "Mount read-only."),
    F("fsType", 3, STRING, PTR, "Filesystem type to mount."),
    F("volumeAttributes", 4, STRING, MAP, "Driver-specific attributes."),
    M("nodePublishSecretRef", 5, CORE(LocalObjectReference), PTR,
      "Secret passed to the driver when publishing."),
};
CORE_TYPE(CSIVolumeSource, "Ephemeral volume provided by a CSI driver.");

static const struct sk_field core_EphemeralVolumeSource_fields[] = {
    M("volumeClaimTemplate", 1, CORE(PersistentVolumeClaimTemplate), PTR,
      "Template of the per-pod PersistentVolumeClaim."),
};
CORE_TYPE(EphemeralVolumeSource, "A volume backed by a claim created with the pod.");

static const struct sk_field core_PersistentVolumeClaimTemplate_fields[] = {
    M("metadata", 1, META(ObjectMeta), 0, "Labels and annotations copied to the claim."),
    M("spec", 2, CORE(PersistentVolumeClaimSpec), REQ, "Spec of the claim."),
};
CORE_TYPE(PersistentVolumeClaimTemplate, "Template of a PersistentVolumeClaim.");

static const struct sk_field core_ImageVolumeSource_fields[] = {
    F("reference", 1, STRING, 0, "Image or artifact reference."),
    F("pullPolicy", 2, STRING, 0, "Always, Never or IfNotPresent."),
};
CORE_TYPE(ImageVolumeSource, "An OCI image or artifact mounted read-only.");

static const struct sk_field core_GitRepoVolumeSource_fields[] = {
    F("repository", 1, STRING, REQ, NULL),
    F("revision", 2, STRING, 0, NULL),
    F("directory", 3, STRING, 0, NULL),
};
CORE_TYPE(GitRepoVolumeSource, "Deprecated: a git repository cloned into a directory.");
