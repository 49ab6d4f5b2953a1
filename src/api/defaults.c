/* Defaulting as upstream applies it for the fields kubectl shows: the
 * generated defaulters of core/v1, apps/v1 and batch/v1, plus what the
 * ServiceAccount, Priority and DefaultTolerationSeconds admission plugins
 * and the create strategies add. Only absent fields are filled, so running
 * on update is harmless.
 *
 * Partial: the ServiceAccount admission's kube-api-access projected volume
 * and node allocation/IP allocation are the server's, not done here. */
#include "api/registry_int.h"

#include <string.h>

static bool absent(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return !v || json_is_null(v);
}

static void def_str(json_t *o, const char *k, const char *v)
{
    if (json_is_object(o) && absent(o, k)) json_object_set_new(o, k, json_string(v));
}

static void def_int(json_t *o, const char *k, json_int_t v)
{
    if (json_is_object(o) && absent(o, k)) json_object_set_new(o, k, json_integer(v));
}

static void def_bool(json_t *o, const char *k, bool v)
{
    if (json_is_object(o) && absent(o, k)) json_object_set_new(o, k, json_boolean(v));
}

/* obj[k] as an object, created when absent; NULL when present with another type. */
static json_t *def_obj(json_t *o, const char *k)
{
    if (!json_is_object(o)) return NULL;
    json_t *v = json_object_get(o, k);
    if (v && !json_is_null(v)) return json_is_object(v) ? v : NULL;
    v = json_object();
    json_object_set_new(o, k, v);
    return v;
}

/* ---- pod spec ------------------------------------------------------------- */

/* Always for ":latest" or an untagged, undigested image; else IfNotPresent. */
const char *sk_default_pull_policy(const char *image)
{
    if (!image) return "Always";
    if (strchr(image, '@')) return "IfNotPresent";
    const char *slash = strrchr(image, '/');
    const char *colon = strrchr(slash ? slash : image, ':');
    if (!colon) return "Always";
    return strcmp(colon + 1, "latest") ? "IfNotPresent" : "Always";
}

static void default_probe(json_t *p)
{
    if (!json_is_object(p)) return;
    def_int(p, "timeoutSeconds", 1);
    def_int(p, "periodSeconds", 10);
    def_int(p, "successThreshold", 1);
    def_int(p, "failureThreshold", 3);
    json_t *http = json_object_get(p, "httpGet");
    if (json_is_object(http)) {
        def_str(http, "path", "/");
        def_str(http, "scheme", "HTTP");
    }
}

static void default_container(json_t *c)
{
    size_t i;
    json_t *p, *e;
    if (!json_is_object(c)) return;
    def_str(c, "terminationMessagePath", "/dev/termination-log");
    def_str(c, "terminationMessagePolicy", "File");
    def_str(c, "imagePullPolicy", sk_default_pull_policy(sk_json_str(c, "image")));
    def_obj(c, "resources");
    json_array_foreach(json_object_get(c, "ports"), i, p)
        if (json_is_object(p)) def_str(p, "protocol", "TCP");
    json_array_foreach(json_object_get(c, "env"), i, e) {
        json_t *fr = sk_json_path(e, "valueFrom.fieldRef");
        if (json_is_object(fr)) def_str(fr, "apiVersion", "v1");
    }
    default_probe(json_object_get(c, "livenessProbe"));
    default_probe(json_object_get(c, "readinessProbe"));
    default_probe(json_object_get(c, "startupProbe"));
}

static void default_volume(json_t *v)
{
    static const char *const with_mode[] = {"secret", "configMap", "downwardAPI", "projected"};
    for (size_t i = 0; i < SK_ARRAY_LEN(with_mode); i++) {
        json_t *src = json_object_get(v, with_mode[i]);
        if (json_is_object(src)) def_int(src, "defaultMode", 420);
    }
    json_t *hp = json_object_get(v, "hostPath");
    if (json_is_object(hp)) def_str(hp, "type", "");
}

/* SetDefaults_PodSpec and its containers/volumes: what both pods and pod
 * templates get. */
static void default_pod_spec(json_t *spec)
{
    size_t i;
    json_t *c;
    if (!json_is_object(spec)) return;
    def_str(spec, "dnsPolicy", "ClusterFirst");
    def_str(spec, "restartPolicy", "Always");
    def_int(spec, "terminationGracePeriodSeconds", 30);
    def_obj(spec, "securityContext");
    def_str(spec, "schedulerName", "default-scheduler");
    json_array_foreach(json_object_get(spec, "containers"), i, c) default_container(c);
    json_array_foreach(json_object_get(spec, "initContainers"), i, c) default_container(c);
    json_array_foreach(json_object_get(spec, "volumes"), i, c) default_volume(c);
}

static void default_template(json_t *obj, const char *path)
{
    default_pod_spec(sk_json_path(obj, path));
}

/* Requests default to limits (SetDefaults_Pod). */
static void requests_from_limits(json_t *c)
{
    json_t *res = json_object_get(c, "resources");
    json_t *lim = json_object_get(res, "limits"), *v;
    const char *k;
    if (!json_is_object(lim) || !json_object_size(lim)) return;
    json_t *req = def_obj(res, "requests");
    if (!req) return;
    json_object_foreach(lim, k, v)
        if (!json_object_get(req, k)) json_object_set(req, k, v);
}

static bool qty_nonzero(const json_t *q)
{
    return json_is_string(q) ? strcmp(json_string_value(q), "0") != 0 : json_is_number(q);
}

/* Simplified qos.GetPodQOS over cpu and memory. */
static const char *pod_qos(const json_t *spec)
{
    bool any = false, guaranteed = true;
    static const char *const lists[] = {"containers", "initContainers"};
    static const char *const names[] = {"cpu", "memory"};
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(spec, lists[l]), i, c) {
            json_t *req = sk_json_path(c, "resources.requests"), *lim = sk_json_path(c, "resources.limits");
            for (size_t n = 0; n < 2; n++) {
                json_t *rq = json_object_get(req, names[n]), *lm = json_object_get(lim, names[n]);
                if (qty_nonzero(rq) || qty_nonzero(lm)) any = true;
                if (!qty_nonzero(lm) || (rq && !json_equal(rq, lm))) guaranteed = false;
            }
        }
    }
    if (!any) return "BestEffort";
    return guaranteed ? "Guaranteed" : "Burstable";
}

static bool tolerates(const json_t *tols, const char *key)
{
    size_t i;
    json_t *t;
    json_array_foreach(tols, i, t) {
        const char *k = sk_json_str(t, "key"), *eff = sk_json_str(t, "effect");
        const char *op = sk_json_str(t, "operator");
        bool key_ok = (k && !strcmp(k, key)) || ((!k || !*k) && op && !strcmp(op, "Exists"));
        if (key_ok && (!eff || !*eff || !strcmp(eff, "NoExecute"))) return true;
    }
    return false;
}

/* DefaultTolerationSeconds admission: 300 s for not-ready/unreachable. */
static void default_tolerations(json_t *spec)
{
    static const char *const keys[] = {"node.kubernetes.io/not-ready",
                                       "node.kubernetes.io/unreachable"};
    json_t *tols = json_object_get(spec, "tolerations");
    if (tols && !json_is_array(tols)) return;
    for (size_t i = 0; i < 2; i++) {
        if (tolerates(tols, keys[i])) continue;
        if (!tols) {
            tols = json_array();
            json_object_set_new(spec, "tolerations", tols);
        }
        json_array_append_new(tols, json_pack("{s:s,s:s,s:s,s:I}", "key", keys[i], "operator",
                                              "Exists", "effect", "NoExecute",
                                              "tolerationSeconds", (json_int_t)300));
    }
}

void sk_default_pod(json_t *pod)
{
    json_t *spec = json_object_get(pod, "spec"), *c;
    size_t i;
    if (!json_is_object(spec)) return;
    json_array_foreach(json_object_get(spec, "containers"), i, c) requests_from_limits(c);
    json_array_foreach(json_object_get(spec, "initContainers"), i, c) requests_from_limits(c);
    default_pod_spec(spec);
    def_bool(spec, "enableServiceLinks", true);
    /* Admission plugins: ServiceAccount, Priority, DefaultTolerationSeconds. */
    def_str(spec, "serviceAccountName", "default");
    def_str(spec, "serviceAccount", sk_json_str(spec, "serviceAccountName"));
    def_int(spec, "priority", 0);
    def_str(spec, "preemptionPolicy", "PreemptLowerPriority");
    default_tolerations(spec);
    json_t *status = def_obj(pod, "status");
    def_str(status, "phase", "Pending");
    def_str(status, "qosClass", pod_qos(spec));
}

/* ---- workloads ------------------------------------------------------------ */

void sk_default_deploy(json_t *d)
{
    json_t *spec = json_object_get(d, "spec");
    if (!json_is_object(spec)) return;
    def_int(spec, "replicas", 1);
    json_t *st = def_obj(spec, "strategy");
    def_str(st, "type", "RollingUpdate");
    if (st && !strcmp(sk_json_str(st, "type") ?: "", "RollingUpdate")) {
        json_t *ru = def_obj(st, "rollingUpdate");
        def_str(ru, "maxUnavailable", "25%");
        def_str(ru, "maxSurge", "25%");
    }
    def_int(spec, "revisionHistoryLimit", 10);
    def_int(spec, "progressDeadlineSeconds", 600);
    default_template(d, "spec.template.spec");
}

void sk_default_rs(json_t *rs)
{
    json_t *spec = json_object_get(rs, "spec");
    if (!json_is_object(spec)) return;
    def_int(spec, "replicas", 1);
    default_template(rs, "spec.template.spec");
}

void sk_default_sts(json_t *s)
{
    json_t *spec = json_object_get(s, "spec");
    if (!json_is_object(spec)) return;
    def_int(spec, "replicas", 1);
    def_str(spec, "podManagementPolicy", "OrderedReady");
    json_t *us = def_obj(spec, "updateStrategy");
    def_str(us, "type", "RollingUpdate");
    if (us && !strcmp(sk_json_str(us, "type") ?: "", "RollingUpdate"))
        def_int(def_obj(us, "rollingUpdate"), "partition", 0);
    def_int(spec, "revisionHistoryLimit", 10);
    json_t *ret = def_obj(spec, "persistentVolumeClaimRetentionPolicy");
    def_str(ret, "whenDeleted", "Retain");
    def_str(ret, "whenScaled", "Retain");
    default_template(s, "spec.template.spec");
}

void sk_default_ds(json_t *ds)
{
    json_t *spec = json_object_get(ds, "spec");
    if (!json_is_object(spec)) return;
    json_t *us = def_obj(spec, "updateStrategy");
    def_str(us, "type", "RollingUpdate");
    if (us && !strcmp(sk_json_str(us, "type") ?: "", "RollingUpdate")) {
        json_t *ru = def_obj(us, "rollingUpdate");
        def_int(ru, "maxUnavailable", 1);
        def_int(ru, "maxSurge", 0);
    }
    def_int(spec, "revisionHistoryLimit", 10);
    default_template(ds, "spec.template.spec");
}

/* The job strategy's generated selector: the controller-uid label on both
 * the selector and the template (needs metadata.uid, set by the server
 * before defaulting). */
static void job_selector(json_t *job, json_t *spec)
{
    const char *uid = sk_json_path_str(job, "metadata.uid");
    const char *name = sk_json_path_str(job, "metadata.name");
    if (!uid || !*uid || json_is_true(json_object_get(spec, "manualSelector"))) return;
    if (!absent(spec, "selector")) return;
    json_t *labels = def_obj(def_obj(def_obj(spec, "template"), "metadata"), "labels");
    if (labels) {
        def_str(labels, "batch.kubernetes.io/controller-uid", uid);
        def_str(labels, "controller-uid", uid);
        if (name) {
            def_str(labels, "batch.kubernetes.io/job-name", name);
            def_str(labels, "job-name", name);
        }
    }
    json_object_set_new(spec, "selector", json_pack("{s:{s:s}}", "matchLabels",
                                                    "batch.kubernetes.io/controller-uid", uid));
}

void sk_default_job(json_t *job)
{
    json_t *spec = json_object_get(job, "spec");
    if (!json_is_object(spec)) return;
    if (absent(spec, "completions") && absent(spec, "parallelism")) {
        json_object_set_new(spec, "completions", json_integer(1));
        json_object_set_new(spec, "parallelism", json_integer(1));
    }
    def_int(spec, "parallelism", 1);
    def_int(spec, "backoffLimit", absent(spec, "backoffLimitPerIndex") ? 6 : 2147483647);
    def_str(spec, "completionMode", "NonIndexed");
    def_bool(spec, "suspend", false);
    def_str(spec, "podReplacementPolicy",
            absent(spec, "podFailurePolicy") ? "TerminatingOrFailed" : "Failed");
    def_bool(spec, "manualSelector", false);
    /* Upstream copies the template labels when decoding from storage too,
     * so the generated selector labels end up on the Job itself. */
    job_selector(job, spec);
    json_t *md = def_obj(job, "metadata");
    json_t *tl = sk_json_path(job, "spec.template.metadata.labels");
    if (md && json_is_object(tl) && !json_object_size(json_object_get(md, "labels")))
        json_object_set_new(md, "labels", json_deep_copy(tl));
    default_template(job, "spec.template.spec");
}

void sk_default_cj(json_t *cj)
{
    json_t *spec = json_object_get(cj, "spec");
    if (!json_is_object(spec)) return;
    def_str(spec, "concurrencyPolicy", "Allow");
    def_bool(spec, "suspend", false);
    def_int(spec, "successfulJobsHistoryLimit", 3);
    def_int(spec, "failedJobsHistoryLimit", 1);
    default_template(cj, "spec.jobTemplate.spec.template.spec");
}

/* ---- services and networking ---------------------------------------------- */

void sk_default_svc(json_t *svc)
{
    json_t *spec = json_object_get(svc, "spec"), *p;
    size_t i;
    if (!json_is_object(spec)) return;
    def_str(spec, "type", "ClusterIP");
    def_str(spec, "sessionAffinity", "None");
    const char *type = sk_json_str(spec, "type") ?: "";
    json_array_foreach(json_object_get(spec, "ports"), i, p) {
        if (!json_is_object(p)) continue;
        def_str(p, "protocol", "TCP");
        json_t *tp = json_object_get(p, "targetPort");
        bool unset = !tp || json_is_null(tp) || (json_is_integer(tp) && !json_integer_value(tp)) ||
                     (json_is_string(tp) && !*json_string_value(tp));
        json_t *port = json_object_get(p, "port");
        if (unset && json_is_integer(port)) json_object_set(p, "targetPort", port);
    }
    bool external = !strcmp(type, "ExternalName");
    if (!strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer"))
        def_str(spec, "externalTrafficPolicy", "Cluster");
    if (!strcmp(type, "LoadBalancer")) def_bool(spec, "allocateLoadBalancerNodePorts", true);
    if (!external) {
        def_str(spec, "internalTrafficPolicy", "Cluster");
        if (absent(spec, "ipFamilies"))
            json_object_set_new(spec, "ipFamilies", json_pack("[s]", "IPv4"));
        def_str(spec, "ipFamilyPolicy", "SingleStack");
    }
    json_t *st = def_obj(svc, "status");
    def_obj(st, "loadBalancer");
}

void sk_default_ep(json_t *ep)
{
    size_t i, j;
    json_t *ss, *p;
    json_array_foreach(json_object_get(ep, "subsets"), i, ss)
        json_array_foreach(json_object_get(ss, "ports"), j, p) def_str(p, "protocol", "TCP");
}

void sk_default_eps(json_t *eps)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(eps, "ports"), i, p) {
        def_str(p, "name", "");
        def_str(p, "protocol", "TCP");
    }
}

/* ---- cluster objects ------------------------------------------------------ */

void sk_default_ns(json_t *ns)
{
    json_t *spec = def_obj(ns, "spec");
    if (spec && absent(spec, "finalizers"))
        json_object_set_new(spec, "finalizers", json_pack("[s]", "kubernetes"));
    def_str(def_obj(ns, "status"), "phase", "Active");
    /* Every namespace carries its own name as a label (since 1.21). */
    const char *name = sk_json_path_str(ns, "metadata.name");
    json_t *md = def_obj(ns, "metadata");
    if (name && *name && md)
        json_object_set_new(def_obj(md, "labels"), "kubernetes.io/metadata.name",
                            json_string(name));
}

void sk_default_secret(json_t *s) { def_str(s, "type", "Opaque"); }

void sk_default_pvc(json_t *pvc)
{
    def_str(json_object_get(pvc, "spec"), "volumeMode", "Filesystem");
    def_str(def_obj(pvc, "status"), "phase", "Pending");
}

void sk_default_pv(json_t *pv)
{
    json_t *spec = json_object_get(pv, "spec");
    def_str(spec, "persistentVolumeReclaimPolicy", "Retain");
    def_str(spec, "volumeMode", "Filesystem");
    def_str(def_obj(pv, "status"), "phase", "Pending");
}

void sk_default_node(json_t *node)
{
    json_t *st = json_object_get(node, "status");
    json_t *cap = json_object_get(st, "capacity");
    if (json_is_object(st) && json_is_object(cap) && absent(st, "allocatable"))
        json_object_set_new(st, "allocatable", json_deep_copy(cap));
}
