/* apimachinery meta/v1: object metadata, selectors, Status.
 *
 * Field numbers, pointer-ness and patch tags follow k8s.io/api and
 * apimachinery v1.32 (types.go, generated.proto); descriptions are our own. */
#define SK_SCHEMA_TABLES
#include "api/schema_types.h"

static const struct sk_field meta_Condition_fields[] = {
    F("type", 1, STRING, REQ, "Condition type in CamelCase."),
    F("status", 2, STRING, REQ, "True, False or Unknown."),
    F("observedGeneration", 3, INT, I64, "Generation the condition was computed for."),
    F("lastTransitionTime", 4, TIME, REQ, "When the status last changed."),
    F("reason", 5, STRING, REQ, "Short CamelCase reason for the last transition."),
    F("message", 6, STRING, REQ, "Human readable detail of the last transition."),
};
META_TYPE(Condition, "Standard observation of one aspect of an object's current state.");

static const struct sk_field meta_Status_fields[] = {
    F("apiVersion", 0, STRING, 0, "API version of this representation of the object."),
    F("kind", 0, STRING, 0, "Kind of object this is, in CamelCase."),
    M("metadata", 1, META(ListMeta), 0, "Standard list metadata."),
    F("status", 2, STRING, 0, "Success or Failure."),
    F("message", 3, STRING, 0, "Human readable description of the outcome."),
    F("reason", 4, STRING, 0, "Machine-readable reason, e.g. NotFound."),
    M("details", 5, META(StatusDetails), PTR, "Extra data depending on the reason."),
    F("code", 6, INT, 0, "HTTP status code."),
};
META_TYPE(Status, "Result of an API call that did not return an object, usually an error.");

static const struct sk_field meta_StatusDetails_fields[] = {
    F("name", 1, STRING, 0, "Name of the object concerned."),
    F("group", 2, STRING, 0, "API group of the object."),
    F("kind", 3, STRING, 0, "Kind of the object."),
    F("uid", 6, STRING, 0, "UID of the object."),
    M("causes", 4, META(StatusCause), REP, "Detailed causes."),
    F("retryAfterSeconds", 5, INT, 0, "Seconds to wait before retrying."),
};
META_TYPE(StatusDetails, "Extra data about the object an error refers to.");

static const struct sk_field meta_StatusCause_fields[] = {
    F("reason", 1, STRING, 0, "Machine-readable cause."),
    F("message", 2, STRING, 0, "Human readable cause."),
    F("field", 3, STRING, 0, "Field that caused the error, e.g. spec.containers[0].name."),
};
META_TYPE(StatusCause, "One cause of an error, such as an invalid field.");

static const struct sk_field meta_ListMeta_fields[] = {
    F("selfLink", 1, STRING, 0, "Deprecated; no longer filled."),
    F("resourceVersion", 2, STRING, 0, "Version of the collection, usable to start a watch."),
    F("continue", 3, STRING, 0, "Token to fetch the next page, if more items exist."),
    F("remainingItemCount", 4, INT, PTR|I64, "Number of items after this page, if known."),
};
META_TYPE(ListMeta, "Metadata of a list response: resourceVersion and paging token.");

static const struct sk_field meta_LabelSelector_fields[] = {
    F("matchLabels", 1, STRING, MAP, "Labels that must be present with exactly these values."),
    M("matchExpressions", 2, META(LabelSelectorRequirement), REP,
      "Set-based requirements on labels."),
};
META_TYPE(LabelSelector,
          "Label query; all matchLabels and matchExpressions must hold. An empty selector matches "
          "everything.");

static const struct sk_field meta_LabelSelectorRequirement_fields[] = {
    F("key", 1, STRING, REQ, "Label key the requirement applies to."),
    F("operator", 2, STRING, REQ, "In, NotIn, Exists or DoesNotExist."),
    F("values", 3, STRING, REP, "Values for In/NotIn; must be empty for Exists/DoesNotExist."),
};
META_TYPE(LabelSelectorRequirement, "One set-based requirement: key, operator and values.");

static const struct sk_field meta_ObjectMeta_fields[] = {
    F("name", 1, STRING, 0,
      "Name unique within the namespace (or cluster for cluster-scoped kinds); cannot be changed "
      "after creation."),
    F("generateName", 2, STRING, 0,
      "Prefix from which the server builds a unique name when name is empty."),
    F("namespace", 3, STRING, 0,
      "Namespace the object lives in; empty means \"default\" for namespaced kinds and nothing "
      "for cluster-scoped ones."),
    F("selfLink", 4, STRING, 0, "Deprecated; no longer filled by the server."),
    F("uid", 5, STRING, 0, "Unique identifier assigned by the server at creation; never reused."),
    F("resourceVersion", 6, STRING, 0,
      "Opaque version of this object used for optimistic concurrency and watches."),
    F("generation", 7, INT, I64,
      "Sequence number of the desired state (spec); bumped by the server on each spec change."),
    F("creationTimestamp", 8, TIME, 0, "Server time (UTC) at which the object was created."),
    F("deletionTimestamp", 9, TIME, PTR,
      "Time after which the object will be removed; set when a graceful deletion is requested."),
    F("deletionGracePeriodSeconds", 10, INT, PTR|I64,
      "Seconds allowed for graceful termination before the object is removed."),
    F("labels", 11, STRING, MAP, "Key/value pairs used to organise and select objects."),
    F("annotations", 12, STRING, MAP,
      "Arbitrary non-identifying key/value metadata stored with the object."),
    ML("ownerReferences", 13, META(OwnerReference), REP, "uid", "merge",
      "Objects this one depends on; garbage collection deletes it once all owners are gone."),
    FL("finalizers", 14, STRING, REP, NULL, "merge",
      "Tokens that must all be removed before the object is deleted from storage."),
    M("managedFields", 17, META(ManagedFieldsEntry), REP,
      "Per-manager record of which fields each field manager owns (server-side apply)."),
};
META_TYPE(ObjectMeta,
          "Metadata every persisted object carries: identity, labels, annotations, ownership and "
          "lifecycle bookkeeping.");

static const struct sk_field meta_ManagedFieldsEntry_fields[] = {
    F("manager", 1, STRING, 0, "Name of the field manager (the client that made the change)."),
    F("operation", 2, STRING, 0, "Operation that produced the entry: Apply or Update."),
    F("apiVersion", 3, STRING, 0, "API version the fieldset is expressed in."),
    F("time", 4, TIME, PTR, "When the manager last changed these fields."),
    F("fieldsType", 6, STRING, 0, "Format of fieldsV1; always FieldsV1."),
    F("fieldsV1", 7, FIELDSV1, PTR, "The owned fields, encoded as a nested JSON set."),
    F("subresource", 8, STRING, 0, "Subresource the change was made through, if any."),
};
META_TYPE(ManagedFieldsEntry,
          "Set of fields owned by one field manager, for one operation and API version.");

static const struct sk_field meta_OwnerReference_fields[] = {
    F("apiVersion", 5, STRING, REQ, "API version of the owner."),
    F("kind", 1, STRING, REQ, "Kind of the owner."),
    F("name", 3, STRING, REQ, "Name of the owner."),
    F("uid", 4, STRING, REQ, "UID of the owner."),
    F("controller", 6, BOOL, PTR,
      "True if the owner is the managing controller; at most one owner may say so."),
    F("blockOwnerDeletion", 7, BOOL, PTR,
      "If true, foreground deletion of the owner waits for this object to be removed."),
};
META_TYPE(OwnerReference, "Points to an owning object in the same namespace.");
