/* core/v1 Node.
 *
 * Field numbers, pointer-ness and patch tags follow k8s.io/api and
 * apimachinery v1.32 (types.go, generated.proto); descriptions are our own. */
#define SK_SCHEMA_TABLES
#include "api/schema_types.h"

static const struct sk_field core_Node_fields[] = {
    F("apiVersion", 0, STRING, 0, "API version of this representation of the object."),
    F("kind", 0, STRING, 0, "Kind of object this is, in CamelCase."),
    M("metadata", 1, META(ObjectMeta), 0, "Standard object metadata."),
    M("spec", 2, CORE(NodeSpec), 0, "Configuration of the node."),
    M("status", 3, CORE(NodeStatus), 0, "Most recently observed state of the node."),
};
CORE_KIND(Node, "A worker machine that runs pods.");

static const struct sk_field core_NodeSpec_fields[] = {
    F("podCIDR", 1, STRING, 0, "Pod IP range assigned to the node."),
    FL("podCIDRs", 7, STRING, REP, NULL, "merge",
      "Pod IP ranges assigned to the node, one per IP family."),
    F("providerID", 3, STRING, 0, "Cloud provider identifier of the node."),
    F("unschedulable", 4, BOOL, 0, "Prevents new pods from being scheduled onto the node."),
    M("taints", 5, CORE(Taint), REP, "Taints applied to the node."),
    M("configSource", 6, CORE(NodeConfigSource), PTR, "Deprecated dynamic kubelet configuration."),
    F("externalID", 2, STRING, 0, "Deprecated."),
};
CORE_TYPE(NodeSpec, "Desired configuration of a node.");

static const struct sk_field core_NodeStatus_fields[] = {
    F("capacity", 1, QUANTITY, MAP, "Total resources of the node."),
    F("allocatable", 2, QUANTITY, MAP, "Resources available to pods."),
    F("phase", 3, STRING, 0, "Deprecated node lifecycle phase."),
    ML("conditions", 4, CORE(NodeCondition), REP, "type", "merge",
      "Current conditions, e.g. Ready."),
    ML("addresses", 5, CORE(NodeAddress), REP, "type", "merge",
      "Addresses the node is reachable at."),
    M("daemonEndpoints", 6, CORE(NodeDaemonEndpoints), 0,
      "Ports of daemons on the node, e.g. the kubelet."),
    M("nodeInfo", 7, CORE(NodeSystemInfo), 0, "Version and identity details of the node."),
    M("images", 8, CORE(ContainerImage), REP, "Container images present on the node."),
    F("volumesInUse", 9, STRING, REP, "Volumes in use (mounted) on the node."),
    M("volumesAttached", 10, CORE(AttachedVolume), REP, "Volumes attached to the node."),
    M("config", 11, CORE(NodeConfigStatus), PTR, "Deprecated dynamic configuration status."),
    M("runtimeHandlers", 12, CORE(NodeRuntimeHandler), REP,
      "Runtime handlers available on the node."),
    M("features", 13, CORE(NodeFeatures), PTR, "Features implemented by the node."),
};
CORE_TYPE(NodeStatus, "Observed state of a node.");

static const struct sk_field core_NodeCondition_fields[] = {
    F("type", 1, STRING, REQ, "Condition type, e.g. Ready or MemoryPressure."),
    F("status", 2, STRING, REQ, "True, False or Unknown."),
    F("lastHeartbeatTime", 3, TIME, 0, "When the condition was last reported."),
    F("lastTransitionTime", 4, TIME, 0, "When the status last changed."),
    F("reason", 5, STRING, 0, "Short CamelCase reason for the last transition."),
    F("message", 6, STRING, 0, "Human readable detail of the last transition."),
};
CORE_TYPE(NodeCondition, "One observed condition of a node.");

static const struct sk_field core_NodeAddress_fields[] = {
    F("type", 1, STRING, REQ, "Hostname, InternalIP, ExternalIP, InternalDNS or ExternalDNS."),
    F("address", 2, STRING, REQ, "The address."),
};
CORE_TYPE(NodeAddress, "An address of a node.");

static const struct sk_field core_NodeDaemonEndpoints_fields[] = {
    M("kubeletEndpoint", 1, CORE(DaemonEndpoint), 0, "Port of the kubelet."),
};
CORE_TYPE(NodeDaemonEndpoints, "Ports of daemons running on the node.");

static const struct sk_field core_DaemonEndpoint_fields[] = {
    F("Port", 1, INT, REQ, "Port number."),
};
CORE_TYPE(DaemonEndpoint, "A daemon's port.");

static const struct sk_field core_NodeSystemInfo_fields[] = {
    F("machineID", 1, STRING, REQ, "Contents of /etc/machine-id."),
    F("systemUUID", 2, STRING, REQ, "Hardware UUID."),
    F("bootID", 3, STRING, REQ, "ID of the current boot."),
    F("kernelVersion", 4, STRING, REQ, "Kernel version (uname -r)."),
    F("osImage", 5, STRING, REQ, "Operating system name from /etc/os-release."),
    F("containerRuntimeVersion", 6, STRING, REQ, "Container runtime, as <name>://<version>."),
    F("kubeletVersion", 7, STRING, REQ, "Kubelet version."),
    F("kubeProxyVersion", 8, STRING, REQ, "Deprecated kube-proxy version."),
    F("operatingSystem", 9, STRING, REQ, "Operating system, e.g. linux."),
    F("architecture", 10, STRING, REQ, "CPU architecture, e.g. amd64."),
};
CORE_TYPE(NodeSystemInfo, "Identity and software versions of a node.");

static const struct sk_field core_ContainerImage_fields[] = {
    F("names", 1, STRING, REP, "Names of the image."),
    F("sizeBytes", 2, INT, I64, "Size of the image in bytes."),
};
CORE_TYPE(ContainerImage, "An image present on a node.");

static const struct sk_field core_AttachedVolume_fields[] = {
    F("name", 1, STRING, REQ, "Name of the volume."),
    F("devicePath", 2, STRING, REQ, "Device path where it is available."),
};
CORE_TYPE(AttachedVolume, "A volume attached to a node.");

static const struct sk_field core_NodeConfigSource_fields[] = {
    M("configMap", 2, CORE(ConfigMapNodeConfigSource), PTR, NULL),
};
CORE_TYPE(NodeConfigSource, NULL);

static const struct sk_field core_ConfigMapNodeConfigSource_fields[] = {
    F("namespace", 1, STRING, REQ, NULL),
    F("name", 2, STRING, REQ, NULL),
    F("uid", 3, STRING, 0, NULL),
    F("resourceVersion", 4, STRING, 0, NULL),
    F("kubeletConfigKey", 5, STRING, REQ, NULL),
};
CORE_TYPE(ConfigMapNodeConfigSource, NULL);

static const struct sk_field core_NodeConfigStatus_fields[] = {
    M("assigned", 1, CORE(NodeConfigSource), PTR, NULL),
    M("active", 2, CORE(NodeConfigSource), PTR, NULL),
    M("lastKnownGood", 3, CORE(NodeConfigSource), PTR, NULL),
    F("error", 4, STRING, 0, NULL),
};
CORE_TYPE(NodeConfigStatus, NULL);

static const struct sk_field core_NodeRuntimeHandler_fields[] = {
    F("name", 1, STRING, 0, "Handler name; empty for the default."),
    M("features", 2, CORE(NodeRuntimeHandlerFeatures), PTR, "Features the handler supports."),
};
CORE_TYPE(NodeRuntimeHandler, "A runtime handler available on a node.");

static const struct sk_field core_NodeRuntimeHandlerFeatures_fields[] = {
    F("recursiveReadOnlyMounts", 1, BOOL, PTR, "Supports recursive read-only mounts."),
    F("userNamespaces", 2, BOOL, PTR, "Supports user namespaces."),
};
CORE_TYPE(NodeRuntimeHandlerFeatures, "Features of a runtime handler.");

static const struct sk_field core_NodeFeatures_fields[] = {
    F("supplementalGroupsPolicy", 1, BOOL, PTR, "Supports the supplementalGroupsPolicy pod field."),
};
CORE_TYPE(NodeFeatures, "Features implemented by a node.");

static const struct sk_field core_Taint_fields[] = {
    F("key", 1, STRING, REQ, "Taint key."),
    F("value", 2, STRING, 0, "Taint value."),
    F("effect", 3, STRING, REQ, "NoSchedule, PreferNoSchedule or NoExecute."),
    F("timeAdded", 4, TIME, PTR, "When a NoExecute taint was added."),
};
CORE_TYPE(Taint, "A mark on a node that repels pods lacking a matching toleration.");
