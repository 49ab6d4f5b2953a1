/* core/v1 Pod: spec, status, scheduling (affinity, tolerations, spread) and pod security.
 *
 * Field numbers, pointer-ness and patch tags follow k8s.io/api and
 * apimachinery v1.32 (types.go, generated.proto); descriptions are our own. */
#define SK_SCHEMA_TABLES
#include "api/schema_types.h"

static const struct sk_field core_Pod_fields[] = {
    F("apiVersion", 0, STRING, 0, "API version of this representation of the object."),
    F("kind", 0, STRING, 0, "Kind of object this is, in CamelCase."),
    M("metadata", 1, META(ObjectMeta), 0, "Standard object metadata."),
    M("spec", 2, CORE(PodSpec), 0, "Desired behaviour of the pod."),
    M("status", 3, CORE(PodStatus), 0,
      "Most recently observed state of the pod; written by the system."),
};
CORE_KIND(Pod,
          "A group of containers scheduled together on one node, sharing network and volumes.");

static const struct sk_field core_PodTemplateSpec_fields[] = {
    M("metadata", 1, META(ObjectMeta), 0, "Metadata given to pods created from this template."),
    M("spec", 2, CORE(PodSpec), 0, "Spec of pods created from this template."),
};
CORE_TYPE(PodTemplateSpec, "Template from which pods are created: metadata and spec.");

static const struct sk_field core_PodSpec_fields[] = {
    ML("volumes", 1, CORE(Volume), REP, "name", "merge,retainKeys",
      "Volumes that containers of the pod can mount."),
    ML("initContainers", 20, CORE(Container), REP, "name", "merge",
      "Containers run one after another to completion before the app containers start."),
    ML("containers", 2, CORE(Container), REP|REQ, "name", "merge",
      "Application containers of the pod; at least one is required."),
    ML("ephemeralContainers", 34, CORE(EphemeralContainer), REP, "name", "merge",
      "Debugging containers added to a running pod; only via the ephemeralcontainers subresource."),
    F("restartPolicy", 3, STRING, 0,
      "When containers are restarted: Always (default), OnFailure or Never."),
    F("terminationGracePeriodSeconds", 4, INT, PTR|I64,
      "Seconds between the stop signal and forced kill when the pod is deleted (default 30)."),
    F("activeDeadlineSeconds", 5, INT, PTR|I64,
      "Seconds the pod may be active, counted from start, before the system fails it."),
    F("dnsPolicy", 6, STRING, 0,
      "How DNS is configured: ClusterFirst (default), ClusterFirstWithHostNet, Default or None."),
    F("nodeSelector", 7, STRING, MAP,
      "Labels a node must carry for the pod to be scheduled there."),
    F("serviceAccountName", 8, STRING, 0, "Service account whose identity the pod runs with."),
    F("serviceAccount", 9, STRING, 0, "Deprecated alias of serviceAccountName."),
    F("automountServiceAccountToken", 21, BOOL, PTR,
      "Whether the service account token is mounted automatically."),
    F("nodeName", 10, STRING, 0,
      "Node the pod is bound to; set by the scheduler, or by the user to skip scheduling."),
    F("hostNetwork", 11, BOOL, 0, "Use the node's network namespace instead of a pod network."),
    F("hostPID", 12, BOOL, 0, "Use the node's PID namespace."),
    F("hostIPC", 13, BOOL, 0, "Use the node's IPC namespace."),
    F("shareProcessNamespace", 27, BOOL, PTR,
      "Share one PID namespace among all containers of the pod."),
    M("securityContext", 14, CORE(PodSecurityContext), PTR,
      "Pod-wide security settings and defaults for containers."),
    ML("imagePullSecrets", 15, CORE(LocalObjectReference), REP, "name", "merge",
      "Secrets in the same namespace used to pull the images."),
    F("hostname", 16, STRING, 0, "Hostname of the pod; defaults to the pod name."),
    F("subdomain", 17, STRING, 0,
      "Subdomain giving the pod the FQDN <hostname>.<subdomain>.<ns>.svc.<cluster domain>."),
    M("affinity", 18, CORE(Affinity), PTR,
      "Node affinity and pod (anti-)affinity scheduling rules."),
    F("schedulerName", 19, STRING, 0,
      "Scheduler that places the pod; defaults to the default scheduler."),
    M("tolerations", 22, CORE(Toleration), REP, "Taints the pod tolerates."),
    ML("hostAliases", 23, CORE(HostAlias), REP, "ip", "merge",
      "Extra entries written to the pod's /etc/hosts."),
    F("priorityClassName", 24, STRING, 0, "PriorityClass whose value becomes the pod priority."),
    F("priority", 25, INT, PTR, "Pod priority, resolved from priorityClassName by admission."),
    M("dnsConfig", 26, CORE(PodDNSConfig), PTR,
      "DNS settings merged with those produced by dnsPolicy."),
    M("readinessGates", 28, CORE(PodReadinessGate), REP,
      "Extra conditions that must be True for the pod to be ready."),
    F("runtimeClassName", 29, STRING, PTR, "RuntimeClass used to run the pod."),
    F("enableServiceLinks", 30, BOOL, PTR,
      "Whether service environment variables are injected (default true)."),
    F("preemptionPolicy", 31, STRING, PTR,
      "Whether the pod may preempt lower-priority pods: PreemptLowerPriority or Never."),
    F("overhead", 32, QUANTITY, MAP,
      "Resources consumed by the pod sandbox on top of its containers."),
    ML("topologySpreadConstraints", 33, CORE(TopologySpreadConstraint), REP, "topologyKey", "merge",
      "How pods should be spread across topology domains."),
    F("setHostnameAsFQDN", 35, BOOL, PTR,
      "Set the kernel hostname to the pod's fully qualified domain name."),
    M("os", 36, CORE(PodOS), PTR, "Operating system the pod's containers need."),
    F("hostUsers", 37, BOOL, PTR,
      "Use the host user namespace (default true); false enables a pod user namespace."),
    ML("schedulingGates", 38, CORE(PodSchedulingGate), REP, "name", "merge",
      "Scheduling is held back while any gate remains."),
    ML("resourceClaims", 39, CORE(PodResourceClaim), REP, "name", "merge,retainKeys",
      "Dynamic resource claims the pod needs."),
    M("resources", 40, CORE(ResourceRequirements), PTR,
      "Pod-level resource requests and limits shared by all containers."),
};
CORE_TYPE(PodSpec, "Desired state of a pod.");

static const struct sk_field core_PodStatus_fields[] = {
    F("phase", 1, STRING, 0, "Pending, Running, Succeeded, Failed or Unknown."),
    ML("conditions", 2, CORE(PodCondition), REP, "type", "merge",
      "Current conditions, e.g. PodScheduled, Ready."),
    F("message", 3, STRING, 0, "Human readable detail about the pod's state."),
    F("reason", 4, STRING, 0, "Short CamelCase reason for the pod's state."),
    F("nominatedNodeName", 11, STRING, 0, "Node the pod may run on once preemption completes."),
    F("hostIP", 5, STRING, 0, "Primary IP of the node running the pod."),
    ML("hostIPs", 16, CORE(HostIP), REP, "ip", "merge", "IPs of the node running the pod."),
    F("podIP", 6, STRING, 0, "Primary IP of the pod."),
    ML("podIPs", 12, CORE(PodIP), REP, "ip", "merge", "IPs allocated to the pod."),
    F("startTime", 7, TIME, PTR, "When the kubelet acknowledged the pod."),
    M("initContainerStatuses", 10, CORE(ContainerStatus), REP, "Status of each init container."),
    M("containerStatuses", 8, CORE(ContainerStatus), REP, "Status of each app container."),
    F("qosClass", 9, STRING, 0, "Guaranteed, Burstable or BestEffort."),
    M("ephemeralContainerStatuses", 13, CORE(ContainerStatus), REP,
      "Status of each ephemeral container."),
    F("resize", 14, STRING, 0, "State of a requested in-place resize."),
    ML("resourceClaimStatuses", 15, CORE(PodResourceClaimStatus), REP, "name", "merge,retainKeys",
      "Names of the ResourceClaims generated for the pod."),
};
CORE_TYPE(PodStatus, "Observed state of a pod.");

static const struct sk_field core_PodCondition_fields[] = {
    F("type", 1, STRING, REQ, "Condition type, e.g. Ready or PodScheduled."),
    F("status", 2, STRING, REQ, "True, False or Unknown."),
    F("lastProbeTime", 3, TIME, 0, "When the condition was last checked."),
    F("lastTransitionTime", 4, TIME, 0, "When the status last changed."),
    F("reason", 5, STRING, 0, "Short CamelCase reason for the last transition."),
    F("message", 6, STRING, 0, "Human readable detail of the last transition."),
};
CORE_TYPE(PodCondition, "One observed condition of a pod.");

static const struct sk_field core_PodIP_fields[] = {
    F("ip", 1, STRING, REQ, "The IP address."),
};
CORE_TYPE(PodIP, "An IP address of a pod.");

static const struct sk_field core_HostIP_fields[] = {
    F("ip", 1, STRING, REQ, "The IP address."),
};
CORE_TYPE(HostIP, "An IP address of the pod's node.");

static const struct sk_field core_PodDNSConfig_fields[] = {
    F("nameservers", 1, STRING, REP, "DNS server IPs."),
    F("searches", 2, STRING, REP, "Search domains."),
    M("options", 3, CORE(PodDNSConfigOption), REP, "Resolver options."),
};
CORE_TYPE(PodDNSConfig, "DNS settings of a pod.");

static const struct sk_field core_PodDNSConfigOption_fields[] = {
    F("name", 1, STRING, 0, "Option name, e.g. ndots."),
    F("value", 2, STRING, PTR, "Option value."),
};
CORE_TYPE(PodDNSConfigOption, "A resolver option.");

static const struct sk_field core_PodOS_fields[] = {
    F("name", 1, STRING, REQ, "linux or windows."),
};
CORE_TYPE(PodOS, "Operating system of a pod.");

static const struct sk_field core_PodReadinessGate_fields[] = {
    F("conditionType", 1, STRING, REQ, "Condition type in the pod's conditions."),
};
CORE_TYPE(PodReadinessGate, "An extra condition a pod needs for readiness.");

static const struct sk_field core_PodResourceClaim_fields[] = {
    F("name", 1, STRING, REQ, "Name the containers use to refer to the claim."),
    F("resourceClaimName", 3, STRING, PTR, "Existing ResourceClaim to use."),
    F("resourceClaimTemplateName", 4, STRING, PTR,
      "ResourceClaimTemplate to create a per-pod claim from."),
};
CORE_TYPE(PodResourceClaim, "A dynamic resource claim used by a pod.");

static const struct sk_field core_PodResourceClaimStatus_fields[] = {
    F("name", 1, STRING, REQ, "Name of the claim in the pod spec."),
    F("resourceClaimName", 2, STRING, PTR, "Name of the generated ResourceClaim."),
};
CORE_TYPE(PodResourceClaimStatus, "The ResourceClaim generated for a pod claim.");

static const struct sk_field core_PodSchedulingGate_fields[] = {
    F("name", 1, STRING, REQ, "Name of the gate."),
};
CORE_TYPE(PodSchedulingGate, "A gate that holds back scheduling.");

static const struct sk_field core_PodSecurityContext_fields[] = {
    M("seLinuxOptions", 1, CORE(SELinuxOptions), PTR, "SELinux context applied to all containers."),
    M("windowsOptions", 8, CORE(WindowsSecurityContextOptions), PTR,
      "Windows-specific settings; ignored on Linux."),
    F("runAsUser", 2, INT, PTR|I64, "Default UID of container processes."),
    F("runAsGroup", 6, INT, PTR|I64, "Default GID of container processes."),
    F("runAsNonRoot", 3, BOOL, PTR, "Refuse to start containers whose process would run as UID 0."),
    F("supplementalGroups", 4, INT, REP|I64, "Extra groups of every container process."),
    F("supplementalGroupsPolicy", 12, STRING, PTR,
      "Merge (default) or Strict: whether groups from the image are added."),
    F("fsGroup", 5, INT, PTR|I64, "Supplementary group owning mounted volumes."),
    M("sysctls", 7, CORE(Sysctl), REP, "Namespaced sysctls set for the pod."),
    F("fsGroupChangePolicy", 9, STRING, PTR,
      "OnRootMismatch or Always: when volume ownership is changed to fsGroup."),
    M("seccompProfile", 10, CORE(SeccompProfile), PTR,
      "Default seccomp profile of the containers."),
    M("appArmorProfile", 11, CORE(AppArmorProfile), PTR,
      "Default AppArmor profile of the containers."),
    F("seLinuxChangePolicy", 13, STRING, PTR,
      "How the SELinux label is applied to volumes: Recursive or MountOption."),
};
CORE_TYPE(PodSecurityContext, "Security settings for the whole pod.");

static const struct sk_field core_Sysctl_fields[] = {
    F("name", 1, STRING, REQ, "Name of the sysctl."),
    F("value", 2, STRING, REQ, "Value to set."),
};
CORE_TYPE(Sysctl, "A kernel parameter to set.");

static const struct sk_field core_SELinuxOptions_fields[] = {
    F("user", 1, STRING, 0, "SELinux user of the label."),
    F("role", 2, STRING, 0, "SELinux role of the label."),
    F("type", 3, STRING, 0, "SELinux type of the label."),
    F("level", 4, STRING, 0, "SELinux level of the label."),
};
CORE_TYPE(SELinuxOptions, "SELinux label applied to a container.");

static const struct sk_field core_SeccompProfile_fields[] = {
    F("type", 1, STRING, REQ, "RuntimeDefault, Localhost or Unconfined."),
    F("localhostProfile", 2, STRING, PTR,
      "Profile file relative to the kubelet seccomp directory; only for type Localhost."),
};
CORE_TYPE(SeccompProfile, "Seccomp filter applied to a container.");

static const struct sk_field core_AppArmorProfile_fields[] = {
    F("type", 1, STRING, REQ, "RuntimeDefault, Localhost or Unconfined."),
    F("localhostProfile", 2, STRING, PTR,
      "Name of a profile loaded on the node; only for type Localhost."),
};
CORE_TYPE(AppArmorProfile, "AppArmor profile to confine a container with.");

static const struct sk_field core_WindowsSecurityContextOptions_fields[] = {
    F("gmsaCredentialSpecName", 1, STRING, PTR, NULL),
    F("gmsaCredentialSpec", 2, STRING, PTR, NULL),
    F("runAsUserName", 3, STRING, PTR, NULL),
    F("hostProcess", 4, BOOL, PTR, NULL),
};
CORE_TYPE(WindowsSecurityContextOptions, "Windows-specific security settings.");

static const struct sk_field core_Affinity_fields[] = {
    M("nodeAffinity", 1, CORE(NodeAffinity), PTR,
      "Rules about which nodes the pod may or should run on."),
    M("podAffinity", 2, CORE(PodAffinity), PTR, "Rules to co-locate the pod with other pods."),
    M("podAntiAffinity", 3, CORE(PodAntiAffinity), PTR,
      "Rules to keep the pod away from other pods."),
};
CORE_TYPE(Affinity, "Scheduling constraints relative to nodes and other pods.");

static const struct sk_field core_NodeAffinity_fields[] = {
    M("requiredDuringSchedulingIgnoredDuringExecution", 1, CORE(NodeSelector), PTR,
      "Nodes the pod may be scheduled on; not re-checked later."),
    M("preferredDuringSchedulingIgnoredDuringExecution", 2, CORE(PreferredSchedulingTerm), REP,
      "Weighted node preferences."),
};
CORE_TYPE(NodeAffinity, "Node selection rules for a pod.");

static const struct sk_field core_PodAffinity_fields[] = {
    M("requiredDuringSchedulingIgnoredDuringExecution", 1, CORE(PodAffinityTerm), REP,
      "Terms that must hold at scheduling time."),
    M("preferredDuringSchedulingIgnoredDuringExecution", 2, CORE(WeightedPodAffinityTerm), REP,
      "Weighted terms the scheduler tries to satisfy."),
};
CORE_TYPE(PodAffinity, "Rules to place a pod near other pods.");

static const struct sk_field core_PodAntiAffinity_fields[] = {
    M("requiredDuringSchedulingIgnoredDuringExecution", 1, CORE(PodAffinityTerm), REP,
      "Terms that must hold at scheduling time."),
    M("preferredDuringSchedulingIgnoredDuringExecution", 2, CORE(WeightedPodAffinityTerm), REP,
      "Weighted terms the scheduler tries to satisfy."),
};
CORE_TYPE(PodAntiAffinity, "Rules to keep a pod away from other pods.");

static const struct sk_field core_PodAffinityTerm_fields[] = {
    M("labelSelector", 1, META(LabelSelector), PTR, "Pods this term refers to."),
    F("namespaces", 2, STRING, REP, "Namespaces to look in; empty means the pod's own."),
    F("topologyKey", 3, STRING, REQ, "Node label whose value defines the topology domain."),
    M("namespaceSelector", 4, META(LabelSelector), PTR, "Namespaces to look in, by label."),
    F("matchLabelKeys", 5, STRING, REP,
      "Label keys whose values from this pod are added to the selector."),
    F("mismatchLabelKeys", 6, STRING, REP,
      "Label keys whose values from this pod are excluded by the selector."),
};
CORE_TYPE(PodAffinityTerm,
          "Pods matched by a selector in some namespaces, relative to a topology domain.");

static const struct sk_field core_WeightedPodAffinityTerm_fields[] = {
    F("weight", 1, INT, REQ, "Weight from 1 to 100."),
    M("podAffinityTerm", 2, CORE(PodAffinityTerm), REQ, "The term."),
};
CORE_TYPE(WeightedPodAffinityTerm, "A pod affinity term with a weight.");

static const struct sk_field core_PreferredSchedulingTerm_fields[] = {
    F("weight", 1, INT, REQ, "Weight from 1 to 100."),
    M("preference", 2, CORE(NodeSelectorTerm), REQ, "The node selector term."),
};
CORE_TYPE(PreferredSchedulingTerm, "A node selector term with a weight.");

static const struct sk_field core_NodeSelector_fields[] = {
    M("nodeSelectorTerms", 1, CORE(NodeSelectorTerm), REP|REQ, "Terms ORed together."),
};
CORE_TYPE(NodeSelector, "Nodes matching any of the terms.");

static const struct sk_field core_NodeSelectorTerm_fields[] = {
    M("matchExpressions", 1, CORE(NodeSelectorRequirement), REP, "Requirements on node labels."),
    M("matchFields", 2, CORE(NodeSelectorRequirement), REP, "Requirements on node fields."),
};
CORE_TYPE(NodeSelectorTerm, "Requirements ANDed together.");

static const struct sk_field core_NodeSelectorRequirement_fields[] = {
    F("key", 1, STRING, REQ, "Label key or field name."),
    F("operator", 2, STRING, REQ, "In, NotIn, Exists, DoesNotExist, Gt or Lt."),
    F("values", 3, STRING, REP, "Values compared against."),
};
CORE_TYPE(NodeSelectorRequirement, "One requirement on a node label or field.");

static const struct sk_field core_Toleration_fields[] = {
    F("key", 1, STRING, 0, "Taint key; empty with operator Exists matches every taint."),
    F("operator", 2, STRING, 0, "Exists or Equal (default)."),
    F("value", 3, STRING, 0, "Taint value for operator Equal."),
    F("effect", 4, STRING, 0, "Taint effect to match; empty matches all effects."),
    F("tolerationSeconds", 5, INT, PTR|I64,
      "For NoExecute: how long the pod stays bound after the taint appears."),
};
CORE_TYPE(Toleration, "Lets the pod be scheduled onto nodes with a matching taint.");

static const struct sk_field core_HostAlias_fields[] = {
    F("ip", 1, STRING, REQ, "IP address of the entry."),
    F("hostnames", 2, STRING, REP, "Hostnames for the IP."),
};
CORE_TYPE(HostAlias, "An /etc/hosts entry.");

static const struct sk_field core_TopologySpreadConstraint_fields[] = {
    F("maxSkew", 1, INT, REQ, "Largest allowed difference in matching pods between two domains."),
    F("topologyKey", 2, STRING, REQ, "Node label whose value defines the domain."),
    F("whenUnsatisfiable", 3, STRING, REQ, "DoNotSchedule (default) or ScheduleAnyway."),
    M("labelSelector", 4, META(LabelSelector), PTR, "Pods counted in each domain."),
    F("minDomains", 5, INT, PTR, "Minimum number of eligible domains."),
    F("nodeAffinityPolicy", 6, STRING, PTR,
      "Honor (default) or Ignore node affinity when counting."),
    F("nodeTaintsPolicy", 7, STRING, PTR, "Honor or Ignore (default) node taints when counting."),
    F("matchLabelKeys", 8, STRING, REP,
      "Label keys whose values from this pod narrow the selector."),
};
CORE_TYPE(TopologySpreadConstraint, "How to spread matching pods across a topology.");
