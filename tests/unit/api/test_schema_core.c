/* Checks the meta/v1 and core/v1 schema tables: sampled field numbers and
 * flags against k8s.io/api v1.32, and structural invariants over every type
 * reachable from the core kinds. */
#include "api/schema_types.h"
#include "unit/test.h"

#define MAX_TYPES 512

static const struct sk_type *seen[MAX_TYPES];
static size_t nseen;

static const struct sk_field *field(const struct sk_type *t, const char *name)
{
    for (size_t i = 0; i < t->nfields; i++) {
        const struct sk_field *f = &t->fields[i];
        if (!strcmp(f->name, name))
            return f;
        if (SK_FIELD_IS_INLINE(f)) {
            const struct sk_field *g = field(f->msg, name);
            if (g)
                return g;
        }
    }
    return NULL;
}

static void expect(const struct sk_type *t, const char *name, int num, enum sk_ftype type,
                   unsigned flags, const char *mkey, const char *strat, int line)
{
    const struct sk_field *f = field(t, name);
    if (!f) {
        fprintf(stderr, "line %d: %s has no field %s\n", line, t->name, name);
        test_failures++;
        return;
    }
    if (f->num != num || f->type != type || f->flags != flags ||
        (mkey ? !f->merge_key || strcmp(f->merge_key, mkey) : f->merge_key != NULL) ||
        (strat ? !f->strategy || strcmp(f->strategy, strat) : f->strategy != NULL)) {
        fprintf(stderr, "line %d: %s.%s = {%d, %d, %#x, %s, %s}\n", line, t->name, name, f->num,
                f->type, f->flags, f->merge_key ? f->merge_key : "-",
                f->strategy ? f->strategy : "-");
        test_failures++;
    }
}
#define EXPECT(t, n, num, ty, fl, mk, st) expect(&(t), n, num, SK_F_##ty, fl, mk, st, __LINE__)

static void samples(void)
{
    const unsigned R = SK_FL_REPEATED, M = SK_FL_MAP, P = SK_FL_PTR, Q = SK_FL_REQUIRED,
                   I = SK_FL_INT64;

    EXPECT(sk_type_meta_v1_ObjectMeta, "name", 1, STRING, 0, NULL, NULL);
    EXPECT(sk_type_meta_v1_ObjectMeta, "generation", 7, INT, I, NULL, NULL);
    EXPECT(sk_type_meta_v1_ObjectMeta, "creationTimestamp", 8, TIME, 0, NULL, NULL);
    EXPECT(sk_type_meta_v1_ObjectMeta, "deletionTimestamp", 9, TIME, P, NULL, NULL);
    EXPECT(sk_type_meta_v1_ObjectMeta, "deletionGracePeriodSeconds", 10, INT, P | I, NULL, NULL);
    EXPECT(sk_type_meta_v1_ObjectMeta, "labels", 11, STRING, M, NULL, NULL);
    EXPECT(sk_type_meta_v1_ObjectMeta, "annotations", 12, STRING, M, NULL, NULL);
    EXPECT(sk_type_meta_v1_ObjectMeta, "ownerReferences", 13, MSG, R, "uid", "merge");
    EXPECT(sk_type_meta_v1_ObjectMeta, "finalizers", 14, STRING, R, NULL, "merge");
    EXPECT(sk_type_meta_v1_ObjectMeta, "managedFields", 17, MSG, R, NULL, NULL);
    EXPECT(sk_type_meta_v1_ManagedFieldsEntry, "fieldsV1", 7, FIELDSV1, P, NULL, NULL);
    EXPECT(sk_type_meta_v1_ManagedFieldsEntry, "time", 4, TIME, P, NULL, NULL);
    EXPECT(sk_type_meta_v1_LabelSelector, "matchLabels", 1, STRING, M, NULL, NULL);
    EXPECT(sk_type_meta_v1_LabelSelector, "matchExpressions", 2, MSG, R, NULL, NULL);
    EXPECT(sk_type_meta_v1_OwnerReference, "controller", 6, BOOL, P, NULL, NULL);

    EXPECT(sk_type_core_v1_Pod, "apiVersion", 0, STRING, 0, NULL, NULL);
    EXPECT(sk_type_core_v1_Pod, "spec", 2, MSG, 0, NULL, NULL);
    EXPECT(sk_type_core_v1_PodSpec, "containers", 2, MSG, R | Q, "name", "merge");
    EXPECT(sk_type_core_v1_PodSpec, "initContainers", 20, MSG, R, "name", "merge");
    EXPECT(sk_type_core_v1_PodSpec, "ephemeralContainers", 34, MSG, R, "name", "merge");
    EXPECT(sk_type_core_v1_PodSpec, "volumes", 1, MSG, R, "name", "merge,retainKeys");
    EXPECT(sk_type_core_v1_PodSpec, "terminationGracePeriodSeconds", 4, INT, P | I, NULL, NULL);
    EXPECT(sk_type_core_v1_PodSpec, "tolerations", 22, MSG, R, NULL, NULL);
    EXPECT(sk_type_core_v1_PodSpec, "hostAliases", 23, MSG, R, "ip", "merge");
    EXPECT(sk_type_core_v1_PodSpec, "imagePullSecrets", 15, MSG, R, "name", "merge");
    EXPECT(sk_type_core_v1_PodSpec, "overhead", 32, QUANTITY, M, NULL, NULL);
    EXPECT(sk_type_core_v1_PodSpec, "resources", 40, MSG, P, NULL, NULL);
    EXPECT(sk_type_core_v1_PodSpec, "schedulingGates", 38, MSG, R, "name", "merge");
    EXPECT(sk_type_core_v1_Container, "image", 2, STRING, 0, NULL, NULL);
    EXPECT(sk_type_core_v1_Container, "name", 1, STRING, Q, NULL, NULL);
    EXPECT(sk_type_core_v1_Container, "env", 7, MSG, R, "name", "merge");
    EXPECT(sk_type_core_v1_Container, "ports", 6, MSG, R, "containerPort", "merge");
    EXPECT(sk_type_core_v1_Container, "volumeMounts", 9, MSG, R, "mountPath", "merge");
    EXPECT(sk_type_core_v1_Container, "restartPolicy", 24, STRING, P, NULL, NULL);
    EXPECT(sk_type_core_v1_Container, "livenessProbe", 10, MSG, P, NULL, NULL);
    EXPECT(sk_type_core_v1_EphemeralContainer, "targetContainerName", 2, STRING, 0, NULL, NULL);
    EXPECT(sk_type_core_v1_EphemeralContainer, "image", 2, STRING, 0, NULL, NULL);
    EXPECT(sk_type_core_v1_ResourceRequirements, "limits", 1, QUANTITY, M, NULL, NULL);
    EXPECT(sk_type_core_v1_Probe, "httpGet", 2, MSG, P, NULL, NULL);
    EXPECT(sk_type_core_v1_Probe, "periodSeconds", 4, INT, 0, NULL, NULL);
    EXPECT(sk_type_core_v1_HTTPGetAction, "port", 2, INTORSTR, Q, NULL, NULL);
    EXPECT(sk_type_core_v1_SecurityContext, "runAsUser", 4, INT, P | I, NULL, NULL);
    EXPECT(sk_type_core_v1_SecurityContext, "privileged", 2, BOOL, P, NULL, NULL);
    EXPECT(sk_type_core_v1_Volume, "emptyDir", 2, MSG, P, NULL, NULL);
    EXPECT(sk_type_core_v1_VolumeSource, "image", 30, MSG, P, NULL, NULL);
    EXPECT(sk_type_core_v1_ConfigMapKeySelector, "name", 1, STRING, 0, NULL, NULL);
    EXPECT(sk_type_core_v1_PodStatus, "conditions", 2, MSG, R, "type", "merge");
    EXPECT(sk_type_core_v1_PodStatus, "podIPs", 12, MSG, R, "ip", "merge");
    EXPECT(sk_type_core_v1_PodStatus, "startTime", 7, TIME, P, NULL, NULL);

    EXPECT(sk_type_core_v1_ServiceSpec, "ports", 1, MSG, R, "port", "merge");
    EXPECT(sk_type_core_v1_ServiceSpec, "clusterIPs", 18, STRING, R, NULL, NULL);
    EXPECT(sk_type_core_v1_ServiceSpec, "trafficDistribution", 23, STRING, P, NULL, NULL);
    EXPECT(sk_type_core_v1_ServicePort, "targetPort", 4, INTORSTR, 0, NULL, NULL);
    EXPECT(sk_type_core_v1_ServicePort, "port", 3, INT, Q, NULL, NULL);
    EXPECT(sk_type_core_v1_NodeSpec, "taints", 5, MSG, R, NULL, NULL);
    EXPECT(sk_type_core_v1_NodeStatus, "capacity", 1, QUANTITY, M, NULL, NULL);
    EXPECT(sk_type_core_v1_NodeStatus, "conditions", 4, MSG, R, "type", "merge");
    EXPECT(sk_type_core_v1_NodeStatus, "addresses", 5, MSG, R, "type", "merge");
    EXPECT(sk_type_core_v1_Event, "eventTime", 10, MICROTIME, 0, NULL, NULL);
    EXPECT(sk_type_core_v1_ConfigMap, "binaryData", 3, BYTES, M, NULL, NULL);
    EXPECT(sk_type_core_v1_ConfigMap, "immutable", 4, BOOL, P, NULL, NULL);
    EXPECT(sk_type_core_v1_Secret, "data", 2, BYTES, M, NULL, NULL);
    EXPECT(sk_type_core_v1_Secret, "stringData", 4, STRING, M, NULL, NULL);
    EXPECT(sk_type_core_v1_PersistentVolume, "spec", 2, MSG, 0, NULL, NULL);
    EXPECT(sk_type_core_v1_PersistentVolumeSpec, "hostPath", 3, MSG, P, NULL, NULL);
    EXPECT(sk_type_core_v1_PersistentVolumeSpec, "capacity", 1, QUANTITY, M, NULL, NULL);

    CHECK_STR(sk_type_core_v1_Pod.kind, "Pod");
    CHECK_STR(sk_type_core_v1_Pod.group, "");
    CHECK_STR(sk_type_core_v1_Pod.version, "v1");
    CHECK_STR(sk_type_core_v1_Container.name, "io.k8s.api.core.v1.Container");
    CHECK_STR(sk_type_meta_v1_ObjectMeta.name, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
    CHECK(sk_type_core_v1_Container.kind == NULL);
}

static bool visited(const struct sk_type *t)
{
    for (size_t i = 0; i < nseen; i++)
        if (seen[i] == t)
            return true;
    return false;
}

/* JSON names must be unique across a type and its inline parts. */
static void check_names(const struct sk_type *root, const struct sk_type *t, const char **names,
                        size_t *n)
{
    for (size_t i = 0; i < t->nfields; i++) {
        const struct sk_field *f = &t->fields[i];
        if (SK_FIELD_IS_INLINE(f)) {
            check_names(root, f->msg, names, n);
            continue;
        }
        for (size_t j = 0; j < *n; j++)
            if (!strcmp(names[j], f->name)) {
                fprintf(stderr, "%s: duplicate JSON name %s\n", root->name, f->name);
                test_failures++;
            }
        if (*n < 256)
            names[(*n)++] = f->name;
    }
}

static void walk(const struct sk_type *t)
{
    if (visited(t))
        return;
    if (nseen >= MAX_TYPES) {
        CHECK(nseen < MAX_TYPES);
        return;
    }
    seen[nseen++] = t;
    CHECK(t->name && !strncmp(t->name, "io.k8s.", 7));
    CHECK(t->fields != NULL && t->nfields > 0);
    CHECK(!t->open);
    for (size_t i = 0; i < t->nfields; i++) {
        const struct sk_field *f = &t->fields[i];
        CHECK(f->name != NULL);
        if (!f->name)
            continue;
        if (f->type == SK_F_MSG && !f->msg) {
            fprintf(stderr, "%s.%s: message field without type\n", t->name, f->name);
            test_failures++;
            continue;
        }
        CHECK(f->type == SK_F_MSG || f->msg == NULL);
        CHECK(!((f->flags & SK_FL_REPEATED) && (f->flags & SK_FL_MAP)));
        CHECK(f->num >= 0);
        if (f->num == 0)
            CHECK(t->kind || !strcmp(f->name, "apiVersion") || !strcmp(f->name, "kind"));
        if (f->merge_key)
            CHECK((f->flags & SK_FL_REPEATED) && f->type == SK_F_MSG && field(f->msg, f->merge_key));
        for (size_t j = 0; j < i; j++)
            if (f->num && t->fields[j].num == f->num) {
                fprintf(stderr, "%s: duplicate field number %d\n", t->name, f->num);
                test_failures++;
            }
        if (f->msg)
            walk(f->msg);
    }
    const char *names[256];
    size_t n = 0;
    check_names(t, t, names, &n);
}

static void check_kind(const struct sk_type *t, const char *kind)
{
    CHECK_STR(t->kind, kind);
    CHECK_STR(t->group, "");
    CHECK_STR(t->version, "v1");
    const struct sk_field *av = field(t, "apiVersion"), *k = field(t, "kind");
    CHECK(av && av->num == 0 && av->type == SK_F_STRING);
    CHECK(k && k->num == 0 && k->type == SK_F_STRING);
    const struct sk_field *md = field(t, "metadata");
    CHECK(md && md->num == 1 && md->msg == &sk_type_meta_v1_ObjectMeta);
    walk(t);
}

int main(void)
{
    samples();
#define K(name) check_kind(&sk_type_core_v1_##name, #name)
    K(Namespace);
    K(Pod);
    K(Service);
    K(Endpoints);
    K(ConfigMap);
    K(Secret);
    K(Event);
    K(Node);
    K(ServiceAccount);
    K(ResourceQuota);
    K(LimitRange);
    K(PersistentVolume);
    K(PersistentVolumeClaim);
    walk(&sk_type_core_v1_PodTemplateSpec);
    walk(&sk_type_meta_v1_LabelSelector);
    walk(&sk_type_meta_v1_Status);
    walk(&sk_type_meta_v1_Condition);
    CHECK(nseen > 190);
    return test_done();
}
