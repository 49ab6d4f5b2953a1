/* core/v1 containers: env, ports, probes, lifecycle, resources, security context, status.
 *
 * Field numbers, pointer-ness and patch tags follow k8s.io/api and
 * apimachinery v1.32 (types.go, generated.proto); descriptions are our own. */
#define SK_SCHEMA_TABLES
#include "api/schema_types.h"

static const struct sk_field core_Container_fields[] = {
    F("name", 1, STRING, REQ, "Name of the container, unique within the pod (DNS label)."),
    F("image", 2, STRING, 0, "Container image reference."),
    F("command", 3, STRING, REP,
      "Entrypoint array, replacing the image ENTRYPOINT; $(VAR) references are expanded."),
    F("args", 4, STRING, REP,
      "Arguments to the entrypoint, replacing the image CMD; $(VAR) references are expanded."),
    F("workingDir", 5, STRING, 0, "Working directory; defaults to the image's."),
    ML("ports", 6, CORE(ContainerPort), REP, "containerPort", "merge",
      "Ports the container exposes (informational; any listening port is reachable)."),
    M("envFrom", 19, CORE(EnvFromSource), REP,
      "Sources whose keys all become environment variables."),
    ML("env", 7, CORE(EnvVar), REP, "name", "merge", "Environment variables set in the container."),
    M("resources", 8, CORE(ResourceRequirements), 0,
      "Compute resources the container requests and is limited to."),
    M("resizePolicy", 23, CORE(ContainerResizePolicy), REP,
      "Per-resource policy for in-place resizing."),
    F("restartPolicy", 24, STRING, PTR,
      "For init containers only: Always makes it a sidecar that keeps running."),
    ML("volumeMounts", 9, CORE(VolumeMount), REP, "mountPath", "merge",
      "Pod volumes mounted into the container's filesystem."),
    ML("volumeDevices", 21, CORE(VolumeDevice), REP, "devicePath", "merge",
      "Block devices from pod volumes exposed to the container."),
    M("livenessProbe", 10, CORE(Probe), PTR,
      "Periodic check; the container is restarted when it fails."),
    M("readinessProbe", 11, CORE(Probe), PTR,
      "Periodic check; the pod is removed from service endpoints while it fails."),
    M("startupProbe", 22, CORE(Probe), PTR,
      "Check that must succeed before the other probes start."),
    M("lifecycle", 12, CORE(Lifecycle), PTR,
      "Hooks run after the container starts and before it stops."),
    F("terminationMessagePath", 13, STRING, 0,
      "File whose content becomes the termination message (default /dev/termination-log)."),
    F("terminationMessagePolicy", 20, STRING, 0, "File (default) or FallbackToLogsOnError."),
    F("imagePullPolicy", 14, STRING, 0,
      "Always, Never or IfNotPresent; defaults to Always for :latest, else IfNotPresent."),
    M("securityContext", 15, CORE(SecurityContext), PTR,
      "Security options for this container, overriding the pod's."),
    F("stdin", 16, BOOL, 0, "Keep a stdin buffer open for the container."),
    F("stdinOnce", 17, BOOL, 0, "Close stdin after the first attach session ends."),
    F("tty", 18, BOOL, 0, "Allocate a TTY for the container (needs stdin)."),
};
CORE_TYPE(Container, "A single container run within a pod.");

static const struct sk_field core_EphemeralContainer_fields[] = {
    INLINE(1, CORE(EphemeralContainerCommon)),
    F("targetContainerName", 2, STRING, 0,
      "Container whose namespaces (e.g. PID) the ephemeral container joins."),
};
CORE_TYPE(EphemeralContainer, "A temporary container added to a running pod for debugging.");

static const struct sk_field core_EphemeralContainerCommon_fields[] = {
    F("name", 1, STRING, REQ, "Name of the container, unique within the pod (DNS label)."),
    F("image", 2, STRING, 0, "Container image reference."),
    F("command", 3, STRING, REP,
      "Entrypoint array, replacing the image ENTRYPOINT; $(VAR) references are expanded."),
    F("args", 4, STRING, REP,
      "Arguments to the entrypoint, replacing the image CMD; $(VAR) references are expanded."),
    F("workingDir", 5, STRING, 0, "Working directory; defaults to the image's."),
    ML("ports", 6, CORE(ContainerPort), REP, "containerPort", "merge",
      "Ports the container exposes (informational; any listening port is reachable)."),
    M("envFrom", 19, CORE(EnvFromSource), REP,
      "Sources whose keys all become environment variables."),
    ML("env", 7, CORE(EnvVar), REP, "name", "merge", "Environment variables set in the container."),
    M("resources", 8, CORE(ResourceRequirements), 0,
      "Compute resources the container requests and is limited to."),
    M("resizePolicy", 23, CORE(ContainerResizePolicy), REP,
      "Per-resource policy for in-place resizing."),
    F("restartPolicy", 24, STRING, PTR,
      "For init containers only: Always makes it a sidecar that keeps running."),
    ML("volumeMounts", 9, CORE(VolumeMount), REP, "mountPath", "merge",
      "Pod volumes mounted into the container's filesystem."),
    ML("volumeDevices", 21, CORE(VolumeDevice), REP, "devicePath", "merge",
      "Block devices from pod volumes exposed to the container."),
    M("livenessProbe", 10, CORE(Probe), PTR,
      "Periodic check; the container is restarted when it fails."),
    M("readinessProbe", 11, CORE(Probe), PTR,
      "Periodic check; the pod is removed from service endpoints while it fails."),
    M("startupProbe", 22, CORE(Probe), PTR,
      "Check that must succeed before the other probes start."),
    M("lifecycle", 12, CORE(Lifecycle), PTR,
      "Hooks run after the container starts and before it stops."),
    F("terminationMessagePath", 13, STRING, 0,
      "File whose content becomes the termination message (default /dev/termination-log)."),
    F("terminationMessagePolicy", 20, STRING, 0, "File (default) or FallbackToLogsOnError."),
    F("imagePullPolicy", 14, STRING, 0,
      "Always, Never or IfNotPresent; defaults to Always for :latest, else IfNotPresent."),
    M("securityContext", 15, CORE(SecurityContext), PTR,
      "Security options for this container, overriding the pod's."),
    F("stdin", 16, BOOL, 0, "Keep a stdin buffer open for the container."),
    F("stdinOnce", 17, BOOL, 0, "Close stdin after the first attach session ends."),
    F("tty", 18, BOOL, 0, "Allocate a TTY for the container (needs stdin)."),
};
CORE_TYPE(EphemeralContainerCommon, NULL);

static const struct sk_field core_ContainerPort_fields[] = {
    F("name", 1, STRING, 0, "Port name (IANA_SVC_NAME) that services can refer to."),
    F("hostPort", 2, INT, 0, "Port on the node mapped to this container port."),
    F("containerPort", 3, INT, REQ, "Port number on the pod IP."),
    F("protocol", 4, STRING, 0, "TCP (default), UDP or SCTP."),
    F("hostIP", 5, STRING, 0, "Host IP to bind the hostPort to."),
};
CORE_TYPE(ContainerPort, "A network port of a container.");

static const struct sk_field core_EnvVar_fields[] = {
    F("name", 1, STRING, REQ, "Variable name."),
    F("value", 2, STRING, 0, "Value, with $(VAR) references expanded."),
    M("valueFrom", 3, CORE(EnvVarSource), PTR, "Source for the value when value is empty."),
};
CORE_TYPE(EnvVar, "An environment variable.");

static const struct sk_field core_EnvVarSource_fields[] = {
    M("fieldRef", 1, CORE(ObjectFieldSelector), PTR,
      "A field of the pod, e.g. metadata.name or status.podIP."),
    M("resourceFieldRef", 2, CORE(ResourceFieldSelector), PTR,
      "A resource limit or request of a container."),
    M("configMapKeyRef", 3, CORE(ConfigMapKeySelector), PTR, "A key of a ConfigMap."),
    M("secretKeyRef", 4, CORE(SecretKeySelector), PTR, "A key of a Secret."),
};
CORE_TYPE(EnvVarSource, "Where an environment variable value comes from.");

static const struct sk_field core_EnvFromSource_fields[] = {
    F("prefix", 1, STRING, 0, "Prefix added to every variable name."),
    M("configMapRef", 2, CORE(ConfigMapEnvSource), PTR, "ConfigMap to take variables from."),
    M("secretRef", 3, CORE(SecretEnvSource), PTR, "Secret to take variables from."),
};
CORE_TYPE(EnvFromSource, "A ConfigMap or Secret whose keys become environment variables.");

static const struct sk_field core_ConfigMapEnvSource_fields[] = {
    INLINE(1, CORE(LocalObjectReference)),
    F("optional", 2, BOOL, PTR, "Do not fail if the ConfigMap is missing."),
};
CORE_TYPE(ConfigMapEnvSource, NULL);

static const struct sk_field core_SecretEnvSource_fields[] = {
    INLINE(1, CORE(LocalObjectReference)),
    F("optional", 2, BOOL, PTR, "Do not fail if the Secret is missing."),
};
CORE_TYPE(SecretEnvSource, NULL);

static const struct sk_field core_ConfigMapKeySelector_fields[] = {
    INLINE(1, CORE(LocalObjectReference)),
    F("key", 2, STRING, REQ, "Key to read."),
    F("optional", 3, BOOL, PTR, "Do not fail if the ConfigMap or key is missing."),
};
CORE_TYPE(ConfigMapKeySelector, "Selects one key of a ConfigMap.");

static const struct sk_field core_SecretKeySelector_fields[] = {
    INLINE(1, CORE(LocalObjectReference)),
    F("key", 2, STRING, REQ, "Key to read."),
    F("optional", 3, BOOL, PTR, "Do not fail if the Secret or key is missing."),
};
CORE_TYPE(SecretKeySelector, "Selects one key of a Secret.");

static const struct sk_field core_ObjectFieldSelector_fields[] = {
    F("apiVersion", 1, STRING, 0, "Schema version the fieldPath is written in (default v1)."),
    F("fieldPath", 2, STRING, REQ, "Path of the field, e.g. metadata.name."),
};
CORE_TYPE(ObjectFieldSelector, "Selects a field of the pod.");

static const struct sk_field core_ResourceFieldSelector_fields[] = {
    F("containerName", 1, STRING, 0, "Container to read; required for volumes."),
    F("resource", 2, STRING, REQ, "Resource to read, e.g. limits.cpu."),
    F("divisor", 3, QUANTITY, 0, "Unit the value is divided by (default 1)."),
};
CORE_TYPE(ResourceFieldSelector, "Selects a container resource limit or request.");

static const struct sk_field core_ResourceRequirements_fields[] = {
    F("limits", 1, QUANTITY, MAP, "Maximum amount of each resource allowed."),
    F("requests", 2, QUANTITY, MAP, "Minimum amount of each resource needed; defaults to limits."),
    M("claims", 3, CORE(ResourceClaim), REP, "Names of pod resource claims this container uses."),
};
CORE_TYPE(ResourceRequirements, "Compute resource requests and limits.");

static const struct sk_field core_ResourceClaim_fields[] = {
    F("name", 1, STRING, REQ, "Name of an entry in pod.spec.resourceClaims."),
    F("request", 2, STRING, 0, "Request within the claim to use; empty means the whole claim."),
};
CORE_TYPE(ResourceClaim, "Reference to one of the pod's resource claims.");

static const struct sk_field core_ContainerResizePolicy_fields[] = {
    F("resourceName", 1, STRING, REQ, "Resource the policy applies to: cpu or memory."),
    F("restartPolicy", 2, STRING, REQ, "NotRequired (default) or RestartContainer."),
};
CORE_TYPE(ContainerResizePolicy, "How a resource is resized in place.");

static const struct sk_field core_VolumeMount_fields[] = {
    F("name", 1, STRING, REQ, "Name of the pod volume."),
    F("readOnly", 2, BOOL, 0, "Mount read-only."),
    F("recursiveReadOnly", 7, STRING, PTR,
      "Whether read-only applies recursively: Disabled, IfPossible or Enabled."),
    F("mountPath", 3, STRING, REQ, "Path inside the container."),
    F("subPath", 4, STRING, 0, "Sub-path of the volume to mount instead of its root."),
    F("mountPropagation", 5, STRING, PTR, "None, HostToContainer or Bidirectional."),
    F("subPathExpr", 6, STRING, 0, "Like subPath, with $(VAR) expansion from the environment."),
};
CORE_TYPE(VolumeMount, "Mounts a pod volume into a container.");

static const struct sk_field core_VolumeDevice_fields[] = {
    F("name", 1, STRING, REQ, "Name of the pod volume (a PersistentVolumeClaim)."),
    F("devicePath", 2, STRING, REQ, "Device path inside the container."),
};
CORE_TYPE(VolumeDevice, "Maps a raw block volume into a container.");

static const struct sk_field core_Probe_fields[] = {
    INLINE(1, CORE(ProbeHandler)),
    F("initialDelaySeconds", 2, INT, 0, "Seconds after start before the first probe."),
    F("timeoutSeconds", 3, INT, 0, "Seconds after which a probe times out (default 1)."),
    F("periodSeconds", 4, INT, 0, "Seconds between probes (default 10)."),
    F("successThreshold", 5, INT, 0, "Consecutive successes needed after a failure (default 1)."),
    F("failureThreshold", 6, INT, 0, "Consecutive failures before giving up (default 3)."),
    F("terminationGracePeriodSeconds", 7, INT, PTR|I64,
      "Grace period used when a failed probe kills the container."),
};
CORE_TYPE(Probe, "A health check performed on a container.");

static const struct sk_field core_ProbeHandler_fields[] = {
    M("exec", 1, CORE(ExecAction), PTR,
      "Run a command in the container; exit status 0 is success."),
    M("httpGet", 2, CORE(HTTPGetAction), PTR, "HTTP GET; a 2xx or 3xx status is success."),
    M("tcpSocket", 3, CORE(TCPSocketAction), PTR, "Open a TCP connection; success if it connects."),
    M("grpc", 4, CORE(GRPCAction), PTR, "gRPC health check."),
};
CORE_TYPE(ProbeHandler, "The action a probe performs; exactly one must be set.");

static const struct sk_field core_ExecAction_fields[] = {
    F("command", 1, STRING, REP, "Command line run in the container, not through a shell."),
};
CORE_TYPE(ExecAction, "Runs a command in the container.");

static const struct sk_field core_HTTPGetAction_fields[] = {
    F("path", 1, STRING, 0, "Path to request."),
    F("port", 2, INTORSTR, REQ, "Port number or name."),
    F("host", 3, STRING, 0, "Host to connect to; defaults to the pod IP."),
    F("scheme", 4, STRING, 0, "HTTP (default) or HTTPS."),
    M("httpHeaders", 5, CORE(HTTPHeader), REP, "Extra request headers."),
};
CORE_TYPE(HTTPGetAction, "An HTTP GET request.");

static const struct sk_field core_HTTPHeader_fields[] = {
    F("name", 1, STRING, REQ, "Header name."),
    F("value", 2, STRING, REQ, "Header value."),
};
CORE_TYPE(HTTPHeader, "A custom HTTP header.");

static const struct sk_field core_TCPSocketAction_fields[] = {
    F("port", 1, INTORSTR, REQ, "Port number or name."),
    F("host", 2, STRING, 0, "Host to connect to; defaults to the pod IP."),
};
CORE_TYPE(TCPSocketAction, "A TCP connection attempt.");

static const struct sk_field core_GRPCAction_fields[] = {
    F("port", 1, INT, REQ, "Port of the gRPC service."),
    F("service", 2, STRING, PTR, "Service name sent in the health check request."),
};
CORE_TYPE(GRPCAction, "A gRPC health check.");

static const struct sk_field core_Lifecycle_fields[] = {
    M("postStart", 1, CORE(LifecycleHandler), PTR, "Run right after the container is created."),
    M("preStop", 2, CORE(LifecycleHandler), PTR, "Run before the container is stopped."),
};
CORE_TYPE(Lifecycle, "Actions run around the container's lifetime.");

static const struct sk_field core_LifecycleHandler_fields[] = {
    M("exec", 1, CORE(ExecAction), PTR, "Run a command in the container."),
    M("httpGet", 2, CORE(HTTPGetAction), PTR, "Send an HTTP GET request."),
    M("tcpSocket", 3, CORE(TCPSocketAction), PTR, "Deprecated; not supported."),
    M("sleep", 4, CORE(SleepAction), PTR, "Sleep for a number of seconds."),
};
CORE_TYPE(LifecycleHandler, "Action run by a lifecycle hook; exactly one must be set.");

static const struct sk_field core_SleepAction_fields[] = {
    F("seconds", 1, INT, I64|REQ, "Seconds to sleep."),
};
CORE_TYPE(SleepAction, NULL);

static const struct sk_field core_SecurityContext_fields[] = {
    M("capabilities", 1, CORE(Capabilities), PTR, "Linux capabilities to add or drop."),
    F("privileged", 2, BOOL, PTR, "Run with full host privileges."),
    M("seLinuxOptions", 3, CORE(SELinuxOptions), PTR, "SELinux context of the container."),
    M("windowsOptions", 10, CORE(WindowsSecurityContextOptions), PTR,
      "Windows-specific settings; ignored on Linux."),
    F("runAsUser", 4, INT, PTR|I64, "UID of the container process."),
    F("runAsGroup", 8, INT, PTR|I64, "GID of the container process."),
    F("runAsNonRoot", 5, BOOL, PTR, "Refuse to start if the process would run as UID 0."),
    F("readOnlyRootFilesystem", 6, BOOL, PTR, "Mount the root filesystem read-only."),
    F("allowPrivilegeEscalation", 7, BOOL, PTR,
      "Whether a process may gain more privileges than its parent (no_new_privs)."),
    F("procMount", 9, STRING, PTR, "Default or Unmasked /proc mount."),
    M("seccompProfile", 11, CORE(SeccompProfile), PTR, "Seccomp profile of the container."),
    M("appArmorProfile", 12, CORE(AppArmorProfile), PTR, "AppArmor profile of the container."),
};
CORE_TYPE(SecurityContext, "Security settings applied to one container.");

static const struct sk_field core_Capabilities_fields[] = {
    F("add", 1, STRING, REP, "Capabilities to add."),
    F("drop", 2, STRING, REP, "Capabilities to remove."),
};
CORE_TYPE(Capabilities, "Linux capabilities added to or dropped from the runtime default set.");

static const struct sk_field core_ContainerStatus_fields[] = {
    F("name", 1, STRING, REQ, "Name of the container, as in the spec."),
    M("state", 2, CORE(ContainerState), 0, "Current state: waiting, running or terminated."),
    M("lastState", 3, CORE(ContainerState), 0, "State of the previous run of the container."),
    F("ready", 4, BOOL, REQ, "Whether the container passes its readiness probe."),
    F("restartCount", 5, INT, REQ, "Times the container has been restarted."),
    F("image", 6, STRING, REQ, "Image the container runs."),
    F("imageID", 7, STRING, REQ, "Resolved image ID."),
    F("containerID", 8, STRING, 0, "Runtime ID of the container, as <type>://<id>."),
    F("started", 9, BOOL, PTR, "Whether the container has passed its startup probe."),
    F("allocatedResources", 10, QUANTITY, MAP, "Resources allocated to the container by the node."),
    M("resources", 11, CORE(ResourceRequirements), PTR,
      "Resources actually configured on the running container."),
    ML("volumeMounts", 12, CORE(VolumeMountStatus), REP, "mountPath", "merge",
      "Status of the container's volume mounts."),
    M("user", 13, CORE(ContainerUser), PTR, "Identity the first process runs with."),
    ML("allocatedResourcesStatus", 14, CORE(ResourceStatus), REP, "name", "merge",
      "Health of resources allocated to the container."),
};
CORE_TYPE(ContainerStatus, "Observed state of one container.");

static const struct sk_field core_ContainerState_fields[] = {
    M("waiting", 1, CORE(ContainerStateWaiting), PTR, "Details if the container is waiting."),
    M("running", 2, CORE(ContainerStateRunning), PTR, "Details if the container is running."),
    M("terminated", 3, CORE(ContainerStateTerminated), PTR,
      "Details if the container has terminated."),
};
CORE_TYPE(ContainerState, "One of waiting, running or terminated.");

static const struct sk_field core_ContainerStateWaiting_fields[] = {
    F("reason", 1, STRING, 0, "Why the container is not yet running."),
    F("message", 2, STRING, 0, "Why the container is not yet running, in words."),
};
CORE_TYPE(ContainerStateWaiting, "The container is not yet running.");

static const struct sk_field core_ContainerStateRunning_fields[] = {
    F("startedAt", 1, TIME, 0, "When the container started."),
};
CORE_TYPE(ContainerStateRunning, "The container is running.");

static const struct sk_field core_ContainerStateTerminated_fields[] = {
    F("exitCode", 1, INT, REQ, "Exit status of the last run."),
    F("signal", 2, INT, 0, "Signal that ended the container, if any."),
    F("reason", 3, STRING, 0, "Why the container terminated."),
    F("message", 4, STRING, 0, "Termination message of the container."),
    F("startedAt", 5, TIME, 0, "When the last run started."),
    F("finishedAt", 6, TIME, 0, "When the last run ended."),
    F("containerID", 7, STRING, 0, "Runtime ID of the container, as <type>://<id>."),
};
CORE_TYPE(ContainerStateTerminated, "The container has finished.");

static const struct sk_field core_ContainerUser_fields[] = {
    M("linux", 1, CORE(LinuxContainerUser), PTR, "Linux UID, GID and groups."),
};
CORE_TYPE(ContainerUser, "Identity of a container process.");

static const struct sk_field core_LinuxContainerUser_fields[] = {
    F("uid", 1, INT, I64|REQ, "User ID."),
    F("gid", 2, INT, I64|REQ, "Primary group ID."),
    F("supplementalGroups", 3, INT, REP|I64, "Supplementary group IDs."),
};
CORE_TYPE(LinuxContainerUser, "Linux identity of the first container process.");

static const struct sk_field core_ResourceStatus_fields[] = {
    F("name", 1, STRING, REQ, "Resource name."),
    M("resources", 2, CORE(ResourceHealth), REP, "Health of each device."),
};
CORE_TYPE(ResourceStatus, "Health of the devices backing one resource.");

static const struct sk_field core_ResourceHealth_fields[] = {
    F("resourceID", 1, STRING, REQ, "Device identifier."),
    F("health", 2, STRING, 0, "Healthy, Unhealthy or Unknown."),
};
CORE_TYPE(ResourceHealth, "Health of one device.");

static const struct sk_field core_VolumeMountStatus_fields[] = {
    F("name", 1, STRING, REQ, "Name of the volume mount."),
    F("mountPath", 2, STRING, REQ, "Path inside the container."),
    F("readOnly", 3, BOOL, 0, "Whether the mount is read-only."),
    F("recursiveReadOnly", 4, STRING, PTR, "Effective recursive read-only mode."),
};
CORE_TYPE(VolumeMountStatus, "Status of one volume mount.");
