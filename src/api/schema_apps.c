/* Schema tables for apps/v1 (k8s.io/api v1.32): Deployment, ReplicaSet,
 * StatefulSet, DaemonSet, ControllerRevision. Field numbers are those of
 * apps/v1 generated.proto; descriptions are our own one-liners. */
#include "api/schema_types2.h"

#define COND_STATUS "Status of the condition: True, False or Unknown."
#define COND_REASON "Machine-readable CamelCase reason for the last transition."
#define COND_MESSAGE "Human-readable details about the last transition."
#define COND_LTT "When the condition last changed status."
#define TEMPLATE_DESC "Pod template from which the controller creates pods."
#define SELECTOR_DESC "Label query over pods; must match the template's labels. Immutable."
#define RHL_DESC "How many old revisions to keep for rollback."
#define MRS_DESC "Seconds a new pod must be ready, without crashing, to count as available."
#define COLL_DESC "Counter used to avoid name collisions of revisions."
#define OBSGEN_DESC "Most recent generation observed by the controller."

/* ---- Deployment ---------------------------------------------------------- */

static const struct sk_field rolling_update_deployment_fields[] = {
    SK2_F("maxUnavailable", 1, SK_F_INTORSTR, SK_FL_PTR, NULL,
          "Pods that may be unavailable during the update: a number or a percentage "
          "of desired pods (default 25%)."),
    SK2_F("maxSurge", 2, SK_F_INTORSTR, SK_FL_PTR, NULL,
          "Pods that may be created above the desired count during the update: a number "
          "or a percentage (default 25%)."),
};
static SK2_TYPE(rolling_update_deployment, "io.k8s.api.apps.v1.RollingUpdateDeployment",
                "Parameters of a rolling update.", rolling_update_deployment_fields);

static const struct sk_field deployment_strategy_fields[] = {
    SK2_F("type", 1, SK_F_STRING, 0, NULL,
          "Recreate or RollingUpdate (default).\n\nPossible enum values:\n"
          " - `\"Recreate\"` kills all existing pods before creating new ones.\n"
          " - `\"RollingUpdate\"` replaces the old ReplicaSet gradually."),
    SK2_F("rollingUpdate", 2, SK_F_MSG, SK_FL_PTR, &rolling_update_deployment,
          "Rolling update parameters; only with type RollingUpdate."),
};
static SK2_TYPE(deployment_strategy, "io.k8s.api.apps.v1.DeploymentStrategy",
                "How to replace existing pods with new ones.", deployment_strategy_fields);

static const struct sk_field deployment_spec_fields[] = {
    SK2_F("replicas", 1, SK_F_INT, SK_FL_PTR, NULL, "Number of desired pods (default 1)."),
    SK2_F("selector", 2, SK_F_MSG, SK_FL_PTR | SK_FL_REQUIRED, &sk_type_meta_v1_LabelSelector,
          SELECTOR_DESC),
    SK2_F("template", 3, SK_F_MSG, SK_FL_REQUIRED, &sk_type_core_v1_PodTemplateSpec,
          TEMPLATE_DESC " Its restartPolicy must be Always."),
    SK2_FM("strategy", 4, SK_F_MSG, 0, &deployment_strategy, NULL, "retainKeys",
           "Deployment strategy used to replace existing pods with new ones."),
    SK2_F("minReadySeconds", 5, SK_F_INT, 0, NULL, MRS_DESC),
    SK2_F("revisionHistoryLimit", 6, SK_F_INT, SK_FL_PTR, NULL, RHL_DESC " Defaults to 10."),
    SK2_F("paused", 7, SK_F_BOOL, 0, NULL, "Whether the deployment is paused."),
    SK2_F("progressDeadlineSeconds", 9, SK_F_INT, SK_FL_PTR, NULL,
          "Seconds before a stalled rollout is reported as failed (default 600)."),
};
static SK2_TYPE(deployment_spec, "io.k8s.api.apps.v1.DeploymentSpec",
                "Desired state of a Deployment.", deployment_spec_fields);

static const struct sk_field deployment_condition_fields[] = {
    SK2_F("type", 1, SK_F_STRING, SK_FL_REQUIRED, NULL,
          "Type of condition: Available, Progressing or ReplicaFailure."),
    SK2_F("status", 2, SK_F_STRING, SK_FL_REQUIRED, NULL, COND_STATUS),
    SK2_F("reason", 4, SK_F_STRING, 0, NULL, COND_REASON),
    SK2_F("message", 5, SK_F_STRING, 0, NULL, COND_MESSAGE),
    SK2_F("lastUpdateTime", 6, SK_F_TIME, 0, NULL, "When the condition was last updated."),
    SK2_F("lastTransitionTime", 7, SK_F_TIME, 0, NULL, COND_LTT),
};
static SK2_TYPE(deployment_condition, "io.k8s.api.apps.v1.DeploymentCondition",
                "State of a deployment at a point in time.", deployment_condition_fields);

static const struct sk_field deployment_status_fields[] = {
    SK2_F("observedGeneration", 1, SK_F_INT, SK_FL_INT64, NULL, OBSGEN_DESC),
    SK2_F("replicas", 2, SK_F_INT, 0, NULL, "Non-terminated pods targeted by this deployment."),
    SK2_F("updatedReplicas", 3, SK_F_INT, 0, NULL,
          "Non-terminated pods that have the desired template."),
    SK2_F("availableReplicas", 4, SK_F_INT, 0, NULL,
          "Pods ready for at least minReadySeconds."),
    SK2_F("unavailableReplicas", 5, SK_F_INT, 0, NULL,
          "Pods still needed for the deployment to be fully available."),
    SK2_FM("conditions", 6, SK_F_MSG, SK_FL_REPEATED, &deployment_condition, "type", "merge",
           "Latest observations of the deployment's state."),
    SK2_F("readyReplicas", 7, SK_F_INT, 0, NULL, "Pods with a Ready condition."),
    SK2_F("collisionCount", 8, SK_F_INT, SK_FL_PTR, NULL, COLL_DESC),
};
static SK2_TYPE(deployment_status, "io.k8s.api.apps.v1.DeploymentStatus",
                "Most recently observed status of a Deployment.", deployment_status_fields);

static const struct sk_field deployment_fields[] = {
    SK2_TYPEMETA("Deployment"),
    SK2_METADATA,
    SK2_F("spec", 2, SK_F_MSG, 0, &deployment_spec, "Desired behaviour of the Deployment."),
    SK2_F("status", 3, SK_F_MSG, 0, &deployment_status,
          "Most recently observed status of the Deployment. Read-only."),
};
SK2_KIND(sk_type_apps_v1_Deployment, "io.k8s.api.apps.v1.Deployment",
         "Declarative updates for Pods and ReplicaSets.", deployment_fields, "apps", "v1",
         "Deployment");

/* ---- ReplicaSet ---------------------------------------------------------- */

static const struct sk_field replicaset_spec_fields[] = {
    SK2_F("replicas", 1, SK_F_INT, SK_FL_PTR, NULL, "Number of desired pods (default 1)."),
    SK2_F("selector", 2, SK_F_MSG, SK_FL_PTR | SK_FL_REQUIRED, &sk_type_meta_v1_LabelSelector,
          SELECTOR_DESC),
    SK2_F("template", 3, SK_F_MSG, 0, &sk_type_core_v1_PodTemplateSpec,
          TEMPLATE_DESC " Used when too few pods exist."),
    SK2_F("minReadySeconds", 4, SK_F_INT, 0, NULL, MRS_DESC),
};
static SK2_TYPE(replicaset_spec, "io.k8s.api.apps.v1.ReplicaSetSpec",
                "Desired state of a ReplicaSet.", replicaset_spec_fields);

static const struct sk_field replicaset_condition_fields[] = {
    SK2_F("type", 1, SK_F_STRING, SK_FL_REQUIRED, NULL, "Type of condition, e.g. ReplicaFailure."),
    SK2_F("status", 2, SK_F_STRING, SK_FL_REQUIRED, NULL, COND_STATUS),
    SK2_F("lastTransitionTime", 3, SK_F_TIME, 0, NULL, COND_LTT),
    SK2_F("reason", 4, SK_F_STRING, 0, NULL, COND_REASON),
    SK2_F("message", 5, SK_F_STRING, 0, NULL, COND_MESSAGE),
};
static SK2_TYPE(replicaset_condition, "io.k8s.api.apps.v1.ReplicaSetCondition",
                "State of a replica set at a point in time.", replicaset_condition_fields);

static const struct sk_field replicaset_status_fields[] = {
    SK2_F("replicas", 1, SK_F_INT, SK_FL_REQUIRED, NULL, "Most recently observed number of pods."),
    SK2_F("fullyLabeledReplicas", 2, SK_F_INT, 0, NULL,
          "Pods whose labels match the template's labels."),
    SK2_F("observedGeneration", 3, SK_F_INT, SK_FL_INT64, NULL, OBSGEN_DESC),
    SK2_F("readyReplicas", 4, SK_F_INT, 0, NULL, "Pods with a Ready condition."),
    SK2_F("availableReplicas", 5, SK_F_INT, 0, NULL, "Pods ready for at least minReadySeconds."),
    SK2_FM("conditions", 6, SK_F_MSG, SK_FL_REPEATED, &replicaset_condition, "type", "merge",
           "Latest observations of the replica set's state."),
};
static SK2_TYPE(replicaset_status, "io.k8s.api.apps.v1.ReplicaSetStatus",
                "Most recently observed status of a ReplicaSet.", replicaset_status_fields);

static const struct sk_field replicaset_fields[] = {
    SK2_TYPEMETA("ReplicaSet"),
    SK2_METADATA,
    SK2_F("spec", 2, SK_F_MSG, 0, &replicaset_spec, "Desired behaviour of the ReplicaSet."),
    SK2_F("status", 3, SK_F_MSG, 0, &replicaset_status,
          "Most recently observed status of the ReplicaSet. Read-only."),
};
SK2_KIND(sk_type_apps_v1_ReplicaSet, "io.k8s.api.apps.v1.ReplicaSet",
         "Ensures that a given number of pod replicas is running at any time.", replicaset_fields,
         "apps", "v1", "ReplicaSet");

/* ---- StatefulSet --------------------------------------------------------- */

static const struct sk_field rolling_update_sts_fields[] = {
    SK2_F("partition", 1, SK_F_INT, SK_FL_PTR, NULL,
          "Only pods with an ordinal at or above this are updated (default 0)."),
    SK2_F("maxUnavailable", 2, SK_F_INTORSTR, SK_FL_PTR, NULL,
          "Pods that may be unavailable during the update: a number or a percentage "
          "(default 1)."),
};
static SK2_TYPE(rolling_update_sts, "io.k8s.api.apps.v1.RollingUpdateStatefulSetStrategy",
                "Parameters of a StatefulSet rolling update.", rolling_update_sts_fields);

static const struct sk_field sts_update_strategy_fields[] = {
    SK2_F("type", 1, SK_F_STRING, 0, NULL,
          "RollingUpdate (default) or OnDelete.\n\nPossible enum values:\n"
          " - `\"OnDelete\"` replaces pods only when they are deleted manually.\n"
          " - `\"RollingUpdate\"` replaces pods one by one, in reverse ordinal order."),
    SK2_F("rollingUpdate", 2, SK_F_MSG, SK_FL_PTR, &rolling_update_sts,
          "Rolling update parameters; only with type RollingUpdate."),
};
static SK2_TYPE(sts_update_strategy, "io.k8s.api.apps.v1.StatefulSetUpdateStrategy",
                "How the StatefulSet controller updates pods.", sts_update_strategy_fields);

static const struct sk_field sts_pvc_retention_fields[] = {
    SK2_F("whenDeleted", 1, SK_F_STRING, 0, NULL,
          "What happens to claims when the StatefulSet is deleted: Retain (default) or Delete."),
    SK2_F("whenScaled", 2, SK_F_STRING, 0, NULL,
          "What happens to claims when the StatefulSet scales down: Retain (default) or Delete."),
};
static SK2_TYPE(sts_pvc_retention,
                "io.k8s.api.apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicy",
                "Lifecycle of claims created from volumeClaimTemplates.",
                sts_pvc_retention_fields);

static const struct sk_field sts_ordinals_fields[] = {
    SK2_F("start", 1, SK_F_INT, 0, NULL, "Number given to the first replica's index (default 0)."),
};
static SK2_TYPE(sts_ordinals, "io.k8s.api.apps.v1.StatefulSetOrdinals",
                "Numbering of replica indices.", sts_ordinals_fields);

static const struct sk_field sts_spec_fields[] = {
    SK2_F("replicas", 1, SK_F_INT, SK_FL_PTR, NULL, "Number of desired pods (default 1)."),
    SK2_F("selector", 2, SK_F_MSG, SK_FL_PTR | SK_FL_REQUIRED, &sk_type_meta_v1_LabelSelector,
          SELECTOR_DESC),
    SK2_F("template", 3, SK_F_MSG, SK_FL_REQUIRED, &sk_type_core_v1_PodTemplateSpec,
          TEMPLATE_DESC " Each pod gets a unique, stable identity."),
    SK2_F("volumeClaimTemplates", 4, SK_F_MSG, SK_FL_REPEATED,
          &sk_type_core_v1_PersistentVolumeClaim,
          "Claims each pod may reference; one claim per pod and template, named "
          "<template>-<pod>."),
    SK2_F("serviceName", 5, SK_F_STRING, 0, NULL,
          "Headless service that gives the pods their network identity."),
    SK2_F("podManagementPolicy", 6, SK_F_STRING, 0, NULL,
          "OrderedReady (default) or Parallel.\n\nPossible enum values:\n"
          " - `\"OrderedReady\"` creates pods in order, each after the previous is ready.\n"
          " - `\"Parallel\"` creates and deletes pods all at once."),
    SK2_FM("updateStrategy", 7, SK_F_MSG, 0, &sts_update_strategy, NULL, NULL,
           "How pods are updated when the template changes."),
    SK2_F("revisionHistoryLimit", 8, SK_F_INT, SK_FL_PTR, NULL, RHL_DESC " Defaults to 10."),
    SK2_F("minReadySeconds", 9, SK_F_INT, 0, NULL, MRS_DESC),
    SK2_F("persistentVolumeClaimRetentionPolicy", 10, SK_F_MSG, SK_FL_PTR, &sts_pvc_retention,
          "Whether claims from volumeClaimTemplates are deleted with the pods."),
    SK2_F("ordinals", 11, SK_F_MSG, SK_FL_PTR, &sts_ordinals,
          "Numbering of replica indices."),
};
static SK2_TYPE(sts_spec, "io.k8s.api.apps.v1.StatefulSetSpec",
                "Desired state of a StatefulSet.", sts_spec_fields);

static const struct sk_field sts_condition_fields[] = {
    SK2_F("type", 1, SK_F_STRING, SK_FL_REQUIRED, NULL, "Type of condition."),
    SK2_F("status", 2, SK_F_STRING, SK_FL_REQUIRED, NULL, COND_STATUS),
    SK2_F("lastTransitionTime", 3, SK_F_TIME, 0, NULL, COND_LTT),
    SK2_F("reason", 4, SK_F_STRING, 0, NULL, COND_REASON),
    SK2_F("message", 5, SK_F_STRING, 0, NULL, COND_MESSAGE),
};
static SK2_TYPE(sts_condition, "io.k8s.api.apps.v1.StatefulSetCondition",
                "State of a statefulset at a point in time.", sts_condition_fields);

static const struct sk_field sts_status_fields[] = {
    SK2_F("observedGeneration", 1, SK_F_INT, SK_FL_INT64, NULL, OBSGEN_DESC),
    SK2_F("replicas", 2, SK_F_INT, SK_FL_REQUIRED, NULL, "Pods created by the controller."),
    SK2_F("readyReplicas", 3, SK_F_INT, 0, NULL, "Pods with a Ready condition."),
    SK2_F("currentReplicas", 4, SK_F_INT, 0, NULL, "Pods at currentRevision."),
    SK2_F("updatedReplicas", 5, SK_F_INT, 0, NULL, "Pods at updateRevision."),
    SK2_F("currentRevision", 6, SK_F_STRING, 0, NULL,
          "Revision used for pods 0..currentReplicas-1."),
    SK2_F("updateRevision", 7, SK_F_STRING, 0, NULL,
          "Revision used for pods replicas-updatedReplicas..replicas-1."),
    SK2_F("collisionCount", 9, SK_F_INT, SK_FL_PTR, NULL, COLL_DESC),
    SK2_FM("conditions", 10, SK_F_MSG, SK_FL_REPEATED, &sts_condition, "type", "merge",
           "Latest observations of the statefulset's state."),
    SK2_F("availableReplicas", 11, SK_F_INT, 0, NULL, "Pods ready for at least minReadySeconds."),
};
static SK2_TYPE(sts_status, "io.k8s.api.apps.v1.StatefulSetStatus",
                "Most recently observed status of a StatefulSet.", sts_status_fields);

static const struct sk_field sts_fields[] = {
    SK2_TYPEMETA("StatefulSet"),
    SK2_METADATA,
    SK2_F("spec", 2, SK_F_MSG, 0, &sts_spec, "Desired identities of pods in this set."),
    SK2_F("status", 3, SK_F_MSG, 0, &sts_status,
          "Current status of the pods in this set. Read-only."),
};
SK2_KIND(sk_type_apps_v1_StatefulSet, "io.k8s.api.apps.v1.StatefulSet",
         "Manages pods with stable network identities and per-pod storage.", sts_fields, "apps",
         "v1", "StatefulSet");

/* ---- DaemonSet ----------------------------------------------------------- */

static const struct sk_field rolling_update_ds_fields[] = {
    SK2_F("maxUnavailable", 1, SK_F_INTORSTR, SK_FL_PTR, NULL,
          "Nodes whose daemon pod may be unavailable during the update: a number or a "
          "percentage (default 1)."),
    SK2_F("maxSurge", 2, SK_F_INTORSTR, SK_FL_PTR, NULL,
          "Nodes that may run an extra updated pod during the update (default 0)."),
};
static SK2_TYPE(rolling_update_ds, "io.k8s.api.apps.v1.RollingUpdateDaemonSet",
                "Parameters of a DaemonSet rolling update.", rolling_update_ds_fields);

static const struct sk_field ds_update_strategy_fields[] = {
    SK2_F("type", 1, SK_F_STRING, 0, NULL,
          "RollingUpdate (default) or OnDelete.\n\nPossible enum values:\n"
          " - `\"OnDelete\"` replaces pods only when they are deleted manually.\n"
          " - `\"RollingUpdate\"` replaces old daemon pods gradually."),
    SK2_F("rollingUpdate", 2, SK_F_MSG, SK_FL_PTR, &rolling_update_ds,
          "Rolling update parameters; only with type RollingUpdate."),
};
static SK2_TYPE(ds_update_strategy, "io.k8s.api.apps.v1.DaemonSetUpdateStrategy",
                "How daemon pods are replaced.", ds_update_strategy_fields);

static const struct sk_field ds_spec_fields[] = {
    SK2_F("selector", 1, SK_F_MSG, SK_FL_PTR | SK_FL_REQUIRED, &sk_type_meta_v1_LabelSelector,
          SELECTOR_DESC),
    SK2_F("template", 2, SK_F_MSG, SK_FL_REQUIRED, &sk_type_core_v1_PodTemplateSpec,
          TEMPLATE_DESC " One pod runs on every eligible node."),
    SK2_F("updateStrategy", 3, SK_F_MSG, 0, &ds_update_strategy,
          "How daemon pods are replaced when the template changes."),
    SK2_F("minReadySeconds", 4, SK_F_INT, 0, NULL, MRS_DESC),
    SK2_F("revisionHistoryLimit", 6, SK_F_INT, SK_FL_PTR, NULL, RHL_DESC " Defaults to 10."),
};
static SK2_TYPE(ds_spec, "io.k8s.api.apps.v1.DaemonSetSpec", "Desired state of a DaemonSet.",
                ds_spec_fields);

static const struct sk_field ds_condition_fields[] = {
    SK2_F("type", 1, SK_F_STRING, SK_FL_REQUIRED, NULL, "Type of condition."),
    SK2_F("status", 2, SK_F_STRING, SK_FL_REQUIRED, NULL, COND_STATUS),
    SK2_F("lastTransitionTime", 3, SK_F_TIME, 0, NULL, COND_LTT),
    SK2_F("reason", 4, SK_F_STRING, 0, NULL, COND_REASON),
    SK2_F("message", 5, SK_F_STRING, 0, NULL, COND_MESSAGE),
};
static SK2_TYPE(ds_condition, "io.k8s.api.apps.v1.DaemonSetCondition",
                "State of a daemon set at a point in time.", ds_condition_fields);

static const struct sk_field ds_status_fields[] = {
    SK2_F("currentNumberScheduled", 1, SK_F_INT, SK_FL_REQUIRED, NULL,
          "Nodes running at least one daemon pod that should."),
    SK2_F("numberMisscheduled", 2, SK_F_INT, SK_FL_REQUIRED, NULL,
          "Nodes running a daemon pod that should not."),
    SK2_F("desiredNumberScheduled", 3, SK_F_INT, SK_FL_REQUIRED, NULL,
          "Nodes that should run the daemon pod."),
    SK2_F("numberReady", 4, SK_F_INT, SK_FL_REQUIRED, NULL,
          "Nodes whose daemon pod is ready."),
    SK2_F("observedGeneration", 5, SK_F_INT, SK_FL_INT64, NULL, OBSGEN_DESC),
    SK2_F("updatedNumberScheduled", 6, SK_F_INT, 0, NULL, "Nodes running the updated daemon pod."),
    SK2_F("numberAvailable", 7, SK_F_INT, 0, NULL,
          "Nodes whose daemon pod is available (ready for minReadySeconds)."),
    SK2_F("numberUnavailable", 8, SK_F_INT, 0, NULL,
          "Nodes that should run an available daemon pod but do not."),
    SK2_F("collisionCount", 9, SK_F_INT, SK_FL_PTR, NULL, COLL_DESC),
    SK2_FM("conditions", 10, SK_F_MSG, SK_FL_REPEATED, &ds_condition, "type", "merge",
           "Latest observations of the daemon set's state."),
};
static SK2_TYPE(ds_status, "io.k8s.api.apps.v1.DaemonSetStatus",
                "Most recently observed status of a DaemonSet.", ds_status_fields);

static const struct sk_field ds_fields[] = {
    SK2_TYPEMETA("DaemonSet"),
    SK2_METADATA,
    SK2_F("spec", 2, SK_F_MSG, 0, &ds_spec, "Desired behaviour of this daemon set."),
    SK2_F("status", 3, SK_F_MSG, 0, &ds_status,
          "Most recently observed status of the daemon set. Read-only."),
};
SK2_KIND(sk_type_apps_v1_DaemonSet, "io.k8s.api.apps.v1.DaemonSet",
         "Runs a copy of a pod on every eligible node.", ds_fields, "apps", "v1", "DaemonSet");

/* ---- ControllerRevision -------------------------------------------------- */

static const struct sk_field controller_revision_fields[] = {
    SK2_TYPEMETA("ControllerRevision"),
    SK2_METADATA,
    SK2_F("data", 2, SK_F_RAW, 0, NULL, "Serialized state (a patch of the owner's template)."),
    SK2_F("revision", 3, SK_F_INT, SK_FL_INT64 | SK_FL_REQUIRED, NULL,
          "Revision number of this state."),
};
SK2_KIND(sk_type_apps_v1_ControllerRevision, "io.k8s.api.apps.v1.ControllerRevision",
         "Immutable snapshot of state data, used by StatefulSet and DaemonSet for rollback.",
         controller_revision_fields, "apps", "v1", "ControllerRevision");
