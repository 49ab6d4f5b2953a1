/* Defaulting of kubectl-created objects and validation messages exactly as
 * the API server words them. */
#include "api/api.h"
#include "unit/test.h"

static json_t *load(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    if (!j) fprintf(stderr, "bad test JSON: %s (line %d)\n", e.text, e.line);
    return j;
}

#define CHECK_PREFIX(s, p) do { \
    if (strncmp((s), (p), strlen(p))) { fprintf(stderr, "got: %s\n", (s)); CHECK(!"prefix"); } } while (0)

static const struct sk_resource *res(const char *group, const char *plural)
{
    return sk_resource_find(group, "v1", plural);
}

/* Defaults obj, validates it (old may be NULL) and returns the message, or
 * "OK" (static buffer). */
static const char *check(const char *group, const char *plural, const char *obj, const char *old)
{
    static char out[1024];
    const struct sk_resource *r = res(group, plural);
    json_t *o = load(obj), *po = old ? load(old) : NULL;
    sk_err err = SK_ERR_INIT;
    if (!r || !o) return "bad test";
    sk_default_object(r, o);
    if (po) sk_default_object(r, po);
    if (sk_validate_object(r, o, po, &err) == 0) {
        snprintf(out, sizeof out, "OK");
    } else {
        snprintf(out, sizeof out, "%s", err.msg);
        if (err.code != SK_EINVALID) snprintf(out, sizeof out, "wrong code %d", err.code);
    }
    sk_err_clear(&err);
    json_decref(o);
    json_decref(po);
    return out;
}

#define DEPLOY(replicas, sel, tmpl_labels, image) \
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\",\"labels\":{\"app\":\"web\"}}," \
    "\"spec\":{\"replicas\":" replicas ",\"selector\":" sel "," \
    "\"template\":{\"metadata\":{\"labels\":" tmpl_labels "}," \
    "\"spec\":{\"containers\":[{\"name\":\"nginx\",\"image\":" image "}]}}}}"
#define SEL_WEB "{\"matchLabels\":{\"app\":\"web\"}}"
#define LBL_WEB "{\"app\":\"web\"}"

static void test_defaults(void)
{
    /* What `kubectl create deployment web --image=nginx:1.27` sends. */
    json_t *d = load(DEPLOY("1", SEL_WEB, LBL_WEB, "\"nginx:1.27\""));
    sk_default_object(res("apps", "deployments"), d);
    CHECK_INT(json_integer_value(sk_json_path(d, "spec.replicas")), 1);
    CHECK_STR(sk_json_path_str(d, "spec.strategy.type"), "RollingUpdate");
    CHECK_STR(sk_json_path_str(d, "spec.strategy.rollingUpdate.maxSurge"), "25%");
    CHECK_STR(sk_json_path_str(d, "spec.strategy.rollingUpdate.maxUnavailable"), "25%");
    CHECK_INT(json_integer_value(sk_json_path(d, "spec.revisionHistoryLimit")), 10);
    CHECK_INT(json_integer_value(sk_json_path(d, "spec.progressDeadlineSeconds")), 600);
    json_t *ps = sk_json_path(d, "spec.template.spec");
    CHECK_STR(sk_json_str(ps, "restartPolicy"), "Always");
    CHECK_STR(sk_json_str(ps, "dnsPolicy"), "ClusterFirst");
    CHECK_STR(sk_json_str(ps, "schedulerName"), "default-scheduler");
    CHECK_INT(json_integer_value(json_object_get(ps, "terminationGracePeriodSeconds")), 30);
    CHECK(json_is_object(json_object_get(ps, "securityContext")));
    /* Admission-only fields stay off templates. */
    CHECK(!json_object_get(ps, "serviceAccountName"));
    CHECK(!json_object_get(ps, "enableServiceLinks"));
    json_t *c = json_array_get(json_object_get(ps, "containers"), 0);
    CHECK_STR(sk_json_str(c, "imagePullPolicy"), "IfNotPresent");
    CHECK_STR(sk_json_str(c, "terminationMessagePath"), "/dev/termination-log");
    CHECK_STR(sk_json_str(c, "terminationMessagePolicy"), "File");
    CHECK(json_is_object(json_object_get(c, "resources")));
    json_decref(d);

    /* What `kubectl run p --image=busybox --port 80` sends. */
    json_t *p = load("{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\"},\"spec\":{\"containers\":["
                     "{\"name\":\"p\",\"image\":\"busybox\",\"ports\":[{\"containerPort\":80}],"
                     "\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}}]}}");
    sk_default_object(res("", "pods"), p);
    ps = json_object_get(p, "spec");
    c = json_array_get(json_object_get(ps, "containers"), 0);
    CHECK_STR(sk_json_str(c, "imagePullPolicy"), "Always");
    CHECK_STR(sk_json_path_str(json_array_get(json_object_get(c, "ports"), 0), "protocol"), "TCP");
    CHECK_STR(sk_json_path_str(c, "resources.requests.memory"), "1Gi");
    CHECK_STR(sk_json_str(ps, "serviceAccountName"), "default");
    CHECK_STR(sk_json_str(ps, "serviceAccount"), "default");
    CHECK_STR(sk_json_str(ps, "preemptionPolicy"), "PreemptLowerPriority");
    CHECK(json_is_true(json_object_get(ps, "enableServiceLinks")));
    CHECK_INT(json_integer_value(json_object_get(ps, "priority")), 0);
    json_t *tols = json_object_get(ps, "tolerations");
    CHECK_INT(json_array_size(tols), 2);
    CHECK_STR(sk_json_str(json_array_get(tols, 0), "key"), "node.kubernetes.io/not-ready");
    CHECK_INT(json_integer_value(json_object_get(json_array_get(tols, 1), "tolerationSeconds")), 300);
    CHECK_STR(sk_json_path_str(p, "status.phase"), "Pending");
    CHECK_STR(sk_json_path_str(p, "status.qosClass"), "Guaranteed");
    /* Idempotent: a second pass (update) adds nothing. */
    json_t *again = json_deep_copy(p);
    sk_default_object(res("", "pods"), again);
    CHECK(json_equal(again, p));
    json_decref(again);
    json_decref(p);

    json_t *s = load("{\"metadata\":{\"name\":\"web\"},\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":8080}]}}");
    sk_default_object(res("", "services"), s);
    CHECK_INT(json_integer_value(sk_json_path(s, "spec.ports")->type == JSON_ARRAY
              ? json_object_get(json_array_get(sk_json_path(s, "spec.ports"), 0), "targetPort") : NULL), 8080);
    CHECK_STR(sk_json_path_str(s, "spec.sessionAffinity"), "None");
    CHECK_STR(sk_json_path_str(s, "spec.externalTrafficPolicy"), "Cluster");
    CHECK_STR(sk_json_path_str(s, "spec.internalTrafficPolicy"), "Cluster");
    CHECK_STR(sk_json_path_str(s, "spec.ipFamilyPolicy"), "SingleStack");
    json_decref(s);

    json_t *ns = load("{\"metadata\":{\"name\":\"dev\"}}");
    sk_default_object(res("", "namespaces"), ns);
    CHECK_STR(sk_json_path_str(ns, "status.phase"), "Active");
    CHECK_STR(json_string_value(json_array_get(sk_json_path(ns, "spec.finalizers"), 0)), "kubernetes");
    CHECK_STR(sk_json_str(sk_json_path(ns, "metadata.labels"), "kubernetes.io/metadata.name"), "dev");
    json_decref(ns);

    json_t *job = load("{\"metadata\":{\"name\":\"pi\",\"uid\":\"u-1\"},\"spec\":{\"template\":{\"spec\":"
                       "{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"pi\",\"image\":\"perl\"}]}}}}");
    sk_default_object(res("batch", "jobs"), job);
    CHECK_INT(json_integer_value(sk_json_path(job, "spec.completions")), 1);
    CHECK_INT(json_integer_value(sk_json_path(job, "spec.backoffLimit")), 6);
    CHECK_STR(sk_json_path_str(job, "spec.completionMode"), "NonIndexed");
    CHECK_STR(sk_json_str(sk_json_path(job, "spec.selector.matchLabels"), "batch.kubernetes.io/controller-uid"), "u-1");
    CHECK_STR(sk_json_str(sk_json_path(job, "spec.template.metadata.labels"), "job-name"), "pi");
    CHECK_STR(sk_json_str(sk_json_path(job, "metadata.labels"), "batch.kubernetes.io/job-name"), "pi");
    json_decref(job);
}

static void test_names_labels(void)
{
    CHECK_STR(check("", "configmaps", "{\"metadata\":{\"name\":\"ok\",\"namespace\":\"default\"}}", NULL), "OK");
    CHECK_STR(check("", "configmaps", "{\"metadata\":{\"namespace\":\"default\"}}", NULL),
              "ConfigMap \"\" is invalid: metadata.name: Required value: name or generateName is required");
    CHECK_STR(check("", "configmaps", "{\"metadata\":{\"generateName\":\"x-\",\"namespace\":\"default\"}}", NULL), "OK");
    const char *m = check("", "pods", "{\"metadata\":{\"name\":\"Bad_Name\",\"namespace\":\"default\"},"
                          "\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"i\"}]}}", NULL);
    CHECK_PREFIX(m, "Pod \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain");
    /* Services use DNS-1035 labels: no leading digit. */
    m = check("", "services", "{\"metadata\":{\"name\":\"1web\",\"namespace\":\"default\"},"
              "\"spec\":{\"ports\":[{\"port\":80}]}}", NULL);
    CHECK_PREFIX(m, "Service \"1web\" is invalid: metadata.name: Invalid value: \"1web\": a DNS-1035 label");
    /* RBAC names only need to be path segments. */
    CHECK_STR(check("rbac.authorization.k8s.io", "clusterroles",
                    "{\"metadata\":{\"name\":\"system:controller:x\"}}", NULL), "OK");
    CHECK_STR(check("rbac.authorization.k8s.io", "clusterroles", "{\"metadata\":{\"name\":\"a/b\"}}", NULL),
              "ClusterRole.rbac.authorization.k8s.io \"a/b\" is invalid: metadata.name: Invalid value: \"a/b\": may not contain '/'");
    /* Two upstream messages for one value become two causes. */
    m = check("", "configmaps", "{\"metadata\":{\"name\":\"c\",\"namespace\":\"default\",\"labels\":{\"ok\":"
              "\"-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}}", NULL);
    CHECK_PREFIX(m, "ConfigMap \"c\" is invalid: [metadata.labels: Invalid value: \"-aaaa");
    CHECK(strstr(m, "must be no more than 63 characters, metadata.labels: Invalid value: \"-aaa") != NULL);
    m = check("", "configmaps", "{\"metadata\":{\"name\":\"c\",\"namespace\":\"default\",\"labels\":{\"ok\":\"bad value!\"}}}", NULL);
    CHECK_PREFIX(m, "ConfigMap \"c\" is invalid: metadata.labels: Invalid value: \"bad value!\": a valid label must be");
}

static void test_workloads(void)
{
    CHECK_STR(check("apps", "deployments", DEPLOY("1", SEL_WEB, LBL_WEB, "\"nginx\""), NULL), "OK");
    CHECK_STR(check("apps", "deployments", DEPLOY("-1", SEL_WEB, LBL_WEB, "\"nginx\""), NULL),
              "Deployment.apps \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0");
    CHECK_STR(check("apps", "deployments", DEPLOY("1", SEL_WEB, "{\"app\":\"other\"}", "\"nginx\""), NULL),
              "Deployment.apps \"web\" is invalid: spec.template.metadata.labels: Invalid value: "
              "map[string]string{\"app\":\"other\"}: `selector` does not match template `labels`");
    CHECK_STR(check("apps", "deployments", DEPLOY("-2", SEL_WEB, LBL_WEB, "\"\""), NULL),
              "Deployment.apps \"web\" is invalid: [spec.replicas: Invalid value: -2: must be greater than or equal to 0, "
              "spec.template.spec.containers[0].image: Required value]");
    CHECK_STR(check("apps", "deployments", DEPLOY("1", "{}", LBL_WEB, "\"nginx\""), NULL),
              "Deployment.apps \"web\" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:"
              "map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment");
    CHECK_STR(check("apps", "deployments", DEPLOY("1", "{\"matchLabels\":{\"app\":\"web\",\"v\":\"2\"}}",
                                                  "{\"app\":\"web\",\"v\":\"2\"}", "\"nginx\""),
                    DEPLOY("1", SEL_WEB, LBL_WEB, "\"nginx\"")),
              "Deployment.apps \"web\" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:"
              "map[string]string{\"app\":\"web\", \"v\":\"2\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable");
    CHECK_STR(check("apps", "replicasets",
                    "{\"metadata\":{\"name\":\"rs\",\"namespace\":\"default\"},\"spec\":{\"selector\":" SEL_WEB ","
                    "\"template\":{\"metadata\":{\"labels\":" LBL_WEB "},\"spec\":{\"restartPolicy\":\"Never\","
                    "\"containers\":[{\"name\":\"a\",\"image\":\"i\"}]}}}}", NULL),
              "ReplicaSet.apps \"rs\" is invalid: spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"");
    CHECK_STR(check("batch", "jobs",
                    "{\"metadata\":{\"name\":\"j\",\"namespace\":\"default\"},\"spec\":{\"template\":{\"spec\":{"
                    "\"containers\":[{\"name\":\"a\",\"image\":\"i\"}]}}}}", NULL),
              "Job.batch \"j\" is invalid: spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\"");
    CHECK_STR(check("batch", "cronjobs",
                    "{\"metadata\":{\"name\":\"cj\",\"namespace\":\"default\"},\"spec\":{\"schedule\":\"* * *\","
                    "\"jobTemplate\":{\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"OnFailure\","
                    "\"containers\":[{\"name\":\"a\",\"image\":\"i\"}]}}}}}}", NULL),
              "CronJob.batch \"cj\" is invalid: spec.schedule: Invalid value: \"* * *\": Expected exactly 5 fields, found 3: * * *");
}

static void test_pods(void)
{
#define POD(extra, containers) "{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\"},\"spec\":{" extra "\"containers\":" containers "}}"
    CHECK_STR(check("", "pods", POD("", "[]"), NULL), "Pod \"p\" is invalid: spec.containers: Required value");
    CHECK_STR(check("", "pods", POD("\"restartPolicy\":\"Sometimes\",",
                                    "[{\"name\":\"a\",\"image\":\"i\",\"ports\":[{\"containerPort\":70000}]},{\"name\":\"a\",\"image\":\"i\"}]"), NULL),
              "Pod \"p\" is invalid: [spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive, "
              "spec.containers[1].name: Duplicate value: \"a\", "
              "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"]");
    const char *old = POD("", "[{\"name\":\"a\",\"image\":\"i:1\"}]");
    CHECK_STR(check("", "pods", POD("", "[{\"name\":\"a\",\"image\":\"i:2\"}]"), old), "OK");
    const char *m = check("", "pods", POD("\"nodeName\":\"n2\",", "[{\"name\":\"a\",\"image\":\"i:1\"}]"), old);
    CHECK_PREFIX(m, "Pod \"p\" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`");
}

static void test_other_kinds(void)
{
    CHECK_STR(check("", "services", "{\"metadata\":{\"name\":\"s\",\"namespace\":\"default\"},"
                    "\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":80}]}}", NULL),
              "Service \"s\" is invalid: spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767");
    CHECK_STR(check("", "services", "{\"metadata\":{\"name\":\"s\",\"namespace\":\"default\"},\"spec\":{\"type\":\"Bogus\"}}", NULL),
              "Service \"s\" is invalid: [spec.type: Unsupported value: \"Bogus\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\", "
              "spec.ports: Required value]");
    CHECK_STR(check("", "services", "{\"metadata\":{\"name\":\"s\",\"namespace\":\"default\"},\"spec\":{\"clusterIP\":\"10.0.0.2\",\"ports\":[{\"port\":80}]}}",
                    "{\"metadata\":{\"name\":\"s\",\"namespace\":\"default\"},\"spec\":{\"clusterIP\":\"10.0.0.1\",\"clusterIPs\":[\"10.0.0.1\"],\"ports\":[{\"port\":80}]}}"),
              "Service \"s\" is invalid: spec.clusterIPs[0]: Invalid value: []string{\"10.0.0.2\"}: may not change once set");
    CHECK_STR(check("", "configmaps", "{\"metadata\":{\"name\":\"c\",\"namespace\":\"default\"},\"data\":{\"bad key\":\"v\"}}", NULL),
              "ConfigMap \"c\" is invalid: data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, "
              "'-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')");
    CHECK_STR(check("", "configmaps", "{\"metadata\":{\"name\":\"c\",\"namespace\":\"default\"},\"immutable\":true,\"data\":{\"k\":\"2\"}}",
                    "{\"metadata\":{\"name\":\"c\",\"namespace\":\"default\"},\"immutable\":true,\"data\":{\"k\":\"1\"}}"),
              "ConfigMap \"c\" is invalid: data: Forbidden: field is immutable when `immutable` is set");
    CHECK_STR(check("rbac.authorization.k8s.io", "rolebindings",
                    "{\"metadata\":{\"name\":\"rb\",\"namespace\":\"default\"},\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Role\",\"name\":\"b\"}}",
                    "{\"metadata\":{\"name\":\"rb\",\"namespace\":\"default\"},\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Role\",\"name\":\"a\"}}"),
              "RoleBinding.rbac.authorization.k8s.io \"rb\" is invalid: roleRef: Invalid value: rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", Kind:\"Role\", Name:\"b\"}: cannot change roleRef");
    /* Causes carry reason, field and the body without the field. */
    const struct sk_resource *r = res("apps", "deployments");
    json_t *d = load(DEPLOY("-1", SEL_WEB, LBL_WEB, "\"nginx\""));
    sk_err err = SK_ERR_INIT;
    CHECK(sk_validate_object(r, d, NULL, &err) == -1);
    json_t *c0 = json_array_get(err.causes, 0);
    CHECK_STR(sk_json_str(c0, "reason"), "FieldValueInvalid");
    CHECK_STR(sk_json_str(c0, "field"), "spec.replicas");
    CHECK_STR(sk_json_str(c0, "message"), "Invalid value: -1: must be greater than or equal to 0");
    sk_err_clear(&err);
    /* NULL err and non-object input are safe. */
    CHECK(sk_validate_object(r, d, NULL, NULL) == -1);
    json_t *bad = json_string("x");
    CHECK(sk_validate_object(r, bad, NULL, &err) == -1 && err.code == SK_EBADREQUEST);
    sk_err_clear(&err);
    json_decref(bad);
    json_decref(d);
}

int main(void)
{
    test_defaults();
    test_names_labels();
    test_workloads();
    test_pods();
    test_other_kinds();
    return test_done();
}
