/* core/v1 Namespace, ConfigMap, Secret, Event, ServiceAccount, ResourceQuota, LimitRange and
 * references.
 *
 * Field numbers, pointer-ness and patch tags follow k8s.io/api and
 * apimachinery v1.32 (types.go, generated.proto); descriptions are our own. */
#define SK_SCHEMA_TABLES
#include "api/schema_types.h"

static const struct sk_field core_ConfigMap_fields[] = {
    F("apiVersion", 0, STRING, 0, "API version of this representation of the object."),
    F("kind", 0, STRING, 0, "Kind of object this is, in CamelCase."),
    M("metadata", 1, META(ObjectMeta), 0, "Standard object metadata."),
    F("immutable", 4, BOOL, PTR, "If true, data and binaryData can no longer be changed."),
    F("data", 2, STRING, MAP, "UTF-8 string entries."),
    F("binaryData", 3, BYTES, MAP,
      "Binary entries (base64 in JSON); keys must not overlap with data."),
};
CORE_KIND(ConfigMap, "Non-confidential configuration data consumed by pods.");

static const struct sk_field core_Event_fields[] = {
    F("apiVersion", 0, STRING, 0, "API version of this representation of the object."),
    F("kind", 0, STRING, 0, "Kind of object this is, in CamelCase."),
    M("metadata", 1, META(ObjectMeta), REQ, "Standard object metadata."),
    M("involvedObject", 2, CORE(ObjectReference), REQ, "Object this event is about."),
    F("reason", 3, STRING, 0, "Short machine-readable reason."),
    F("message", 4, STRING, 0, "Human readable description."),
    M("source", 5, CORE(EventSource), 0, "Component reporting the event."),
    F("firstTimestamp", 6, TIME, 0, "When the event was first recorded."),
    F("lastTimestamp", 7, TIME, 0, "When the most recent occurrence was recorded."),
    F("count", 8, INT, 0, "Times this event occurred."),
    F("type", 9, STRING, 0, "Normal or Warning."),
    F("eventTime", 10, MICROTIME, 0, "When the event was first observed, with microseconds."),
    M("series", 11, CORE(EventSeries), PTR, "Data about a series of repeated events."),
    F("action", 12, STRING, 0, "Action taken or failed regarding the object."),
    M("related", 13, CORE(ObjectReference), PTR, "Secondary object involved."),
    F("reportingComponent", 14, STRING, 0,
      "Controller that emitted the event, e.g. kubernetes.io/kubelet."),
    F("reportingInstance", 15, STRING, 0, "Instance of the controller, e.g. the node name."),
};
CORE_KIND(Event, "A report of something that happened to an object.");

static const struct sk_field core_EventSeries_fields[] = {
    F("count", 1, INT, 0, "Occurrences in the series so far."),
    F("lastObservedTime", 2, MICROTIME, 0, "Time of the last occurrence."),
};
CORE_TYPE(EventSeries, "Data about a series of repeated events.");

static const struct sk_field core_EventSource_fields[] = {
    F("component", 1, STRING, 0, "Component that generated the event."),
    F("host", 2, STRING, 0, "Node on which the event was generated."),
};
CORE_TYPE(EventSource, "Component that reported an event.");

static const struct sk_field core_LimitRange_fields[] = {
    F("apiVersion", 0, STRING, 0, "API version of this representation of the object."),
    F("kind", 0, STRING, 0, "Kind of object this is, in CamelCase."),
    M("metadata", 1, META(ObjectMeta), 0, "Standard object metadata."),
    M("spec", 2, CORE(LimitRangeSpec), 0, "Limits enforced."),
};
CORE_KIND(LimitRange, "Default and allowed resource bounds for objects in a namespace.");

static const struct sk_field core_LimitRangeItem_fields[] = {
    F("type", 1, STRING, REQ, "Container, Pod or PersistentVolumeClaim."),
    F("max", 2, QUANTITY, MAP, "Maximum usage per object."),
    F("min", 3, QUANTITY, MAP, "Minimum usage per object."),
    F("default", 4, QUANTITY, MAP, "Default limits when none are given."),
    F("defaultRequest", 5, QUANTITY, MAP, "Default requests when none are given."),
    F("maxLimitRequestRatio", 6, QUANTITY, MAP, "Maximum limit/request ratio."),
};
CORE_TYPE(LimitRangeItem, "Limits for one kind of object.");

static const struct sk_field core_LimitRangeSpec_fields[] = {
    M("limits", 1, CORE(LimitRangeItem), REP|REQ, "Limit rules."),
};
CORE_TYPE(LimitRangeSpec, "Limits enforced in a namespace.");

static const struct sk_field core_LocalObjectReference_fields[] = {
    F("name", 1, STRING, 0, "Name of the referenced object."),
};
CORE_TYPE(LocalObjectReference, "Names an object in the same namespace.");

static const struct sk_field core_Namespace_fields[] = {
    F("apiVersion", 0, STRING, 0, "API version of this representation of the object."),
    F("kind", 0, STRING, 0, "Kind of object this is, in CamelCase."),
    M("metadata", 1, META(ObjectMeta), 0, "Standard object metadata."),
    M("spec", 2, CORE(NamespaceSpec), 0, "Behaviour of the namespace."),
    M("status", 3, CORE(NamespaceStatus), 0, "Current state of the namespace."),
};
CORE_KIND(Namespace, "A scope for names and policies that groups namespaced objects.");

static const struct sk_field core_NamespaceCondition_fields[] = {
    F("type", 1, STRING, REQ, NULL),
    F("status", 2, STRING, REQ, NULL),
    F("lastTransitionTime", 4, TIME, 0, NULL),
    F("reason", 5, STRING, 0, NULL),
    F("message", 6, STRING, 0, NULL),
};
CORE_TYPE(NamespaceCondition, "One observed condition of a namespace.");

static const struct sk_field core_NamespaceSpec_fields[] = {
    F("finalizers", 1, STRING, REP,
      "Finalizers that must be cleared before the namespace is removed."),
};
CORE_TYPE(NamespaceSpec, "Behaviour of a namespace.");

static const struct sk_field core_NamespaceStatus_fields[] = {
    F("phase", 1, STRING, 0, "Active or Terminating."),
    ML("conditions", 2, CORE(NamespaceCondition), REP, "type", "merge",
      "Current conditions of the namespace."),
};
CORE_TYPE(NamespaceStatus, "Current state of a namespace.");

static const struct sk_field core_ObjectReference_fields[] = {
    F("kind", 1, STRING, 0, "Kind of the referent."),
    F("namespace", 2, STRING, 0, "Namespace of the referent."),
    F("name", 3, STRING, 0, "Name of the referent."),
    F("uid", 4, STRING, 0, "UID of the referent."),
    F("apiVersion", 5, STRING, 0, "API version of the referent."),
    F("resourceVersion", 6, STRING, 0, "Specific resourceVersion referred to, if any."),
    F("fieldPath", 7, STRING, 0, "Part of the object referred to, e.g. spec.containers{name}."),
};
CORE_TYPE(ObjectReference, "Reference to any object, possibly a field within it.");

static const struct sk_field core_ResourceQuota_fields[] = {
    F("apiVersion", 0, STRING, 0, "API version of this representation of the object."),
    F("kind", 0, STRING, 0, "Kind of object this is, in CamelCase."),
    M("metadata", 1, META(ObjectMeta), 0, "Standard object metadata."),
    M("spec", 2, CORE(ResourceQuotaSpec), 0, "Desired limits."),
    M("status", 3, CORE(ResourceQuotaStatus), 0, "Enforced limits and current usage."),
};
CORE_KIND(ResourceQuota, "Limits on aggregate resource consumption within a namespace.");

static const struct sk_field core_ResourceQuotaSpec_fields[] = {
    F("hard", 1, QUANTITY, MAP, "Limits per named resource."),
    F("scopes", 2, STRING, REP, "Filters on the objects counted."),
    M("scopeSelector", 3, CORE(ScopeSelector), PTR,
      "Filters on the objects counted, as expressions."),
};
CORE_TYPE(ResourceQuotaSpec, "Desired quota limits.");

static const struct sk_field core_ResourceQuotaStatus_fields[] = {
    F("hard", 1, QUANTITY, MAP, "Enforced limits."),
    F("used", 2, QUANTITY, MAP, "Current usage."),
};
CORE_TYPE(ResourceQuotaStatus, "Enforced quota and observed usage.");

static const struct sk_field core_ScopeSelector_fields[] = {
    M("matchExpressions", 1, CORE(ScopedResourceSelectorRequirement), REP,
      "Requirements ANDed together."),
};
CORE_TYPE(ScopeSelector, "Expressions selecting the objects a quota covers.");

static const struct sk_field core_ScopedResourceSelectorRequirement_fields[] = {
    F("scopeName", 1, STRING, REQ, "Scope the requirement applies to."),
    F("operator", 2, STRING, REQ, "In, NotIn, Exists or DoesNotExist."),
    F("values", 3, STRING, REP, "Values for In/NotIn."),
};
CORE_TYPE(ScopedResourceSelectorRequirement, "One requirement on a quota scope.");

static const struct sk_field core_Secret_fields[] = {
    F("apiVersion", 0, STRING, 0, "API version of this representation of the object."),
    F("kind", 0, STRING, 0, "Kind of object this is, in CamelCase."),
    M("metadata", 1, META(ObjectMeta), 0, "Standard object metadata."),
    F("immutable", 5, BOOL, PTR, "If true, the data can no longer be changed."),
    F("data", 2, BYTES, MAP, "Secret entries as bytes (base64 in JSON)."),
    F("stringData", 4, STRING, MAP,
      "Write-only convenience: plain string entries merged into data on write."),
    F("type", 3, STRING, 0,
      "Type used to validate and interpret the secret, e.g. Opaque or kubernetes.io/tls."),
};
CORE_KIND(Secret, "Confidential data such as passwords, tokens or keys.");

static const struct sk_field core_ServiceAccount_fields[] = {
    F("apiVersion", 0, STRING, 0, "API version of this representation of the object."),
    F("kind", 0, STRING, 0, "Kind of object this is, in CamelCase."),
    M("metadata", 1, META(ObjectMeta), 0, "Standard object metadata."),
    ML("secrets", 2, CORE(ObjectReference), REP, "name", "merge",
      "Deprecated: secrets pods of this account may use."),
    M("imagePullSecrets", 3, CORE(LocalObjectReference), REP,
      "Secrets added to the imagePullSecrets of pods using this account."),
    F("automountServiceAccountToken", 4, BOOL, PTR,
      "Whether pods mount a token of this account automatically."),
};
CORE_KIND(ServiceAccount, "An identity for processes running in pods.");
