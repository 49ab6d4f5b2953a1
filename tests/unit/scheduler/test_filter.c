/* Scheduler filters, requests, quantities and the FailedScheduling text. */
#include "scheduler/scheduler_int.h"
#include "unit/test.h"

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v) fprintf(stderr, "bad test JSON: %s: %s\n", e.text, text);
    return v;
}

static json_t *mknode(const char *name, const char *extra_spec, const char *labels)
{
    char buf[2048];
    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"kubernetes.io/hostname\":\"%s\"%s%s}},"
             "\"spec\":{%s},\"status\":{\"allocatable\":{\"cpu\":\"4\",\"memory\":\"16Gi\","
             "\"pods\":\"110\",\"ephemeral-storage\":\"100Gi\",\"nvidia.com/gpu\":\"1\"}}}",
             name, name, labels ? "," : "", labels ? labels : "", extra_spec ? extra_spec : "");
    return J(buf);
}

static void node_init(struct sk_sched_node *n, json_t *obj)
{
    memset(n, 0, sizeof *n);
    n->name = sk_strdup(sk_json_path_str(obj, "metadata.name"));
    sk_sched_node_set(n, obj);
    json_decref(obj);
}

static int64_t q(const char *s, int64_t scale)
{
    int64_t v = -7;
    if (sk_sched_quantity(s, scale, &v) < 0) return -1;
    return v;
}

static void test_quantity(void)
{
    CHECK_INT(q("100m", 1000), 100);
    CHECK_INT(q("1", 1000), 1000);
    CHECK_INT(q("1.5", 1000), 1500);
    CHECK_INT(q("0.1", 1000), 100);
    CHECK_INT(q("16Gi", 1), 17179869184LL);
    CHECK_INT(q("128974848", 1), 128974848);
    CHECK_INT(q("129e6", 1), 129000000);
    CHECK_INT(q("129M", 1), 129000000);
    CHECK_INT(q("123Mi", 1), 128974848);
    CHECK_INT(q("1n", 1), 1);       /* rounds up */
    CHECK_INT(q("1500u", 1000), 2); /* 1.5m -> 2m */
    CHECK_INT(q("2k", 1), 2000);
    CHECK_INT(q("99999999999999999999Ei", 1), INT64_MAX);
    CHECK_INT(q("", 1), -1);
    CHECK_INT(q("abc", 1), -1);
    CHECK_INT(q("1x", 1), -1);
    CHECK_INT(q("1.2.3", 1), -1);
    CHECK_INT(q("1e", 1), -1);
}

static void test_requests(void)
{
    json_t *pod = J("{\"spec\":{\"containers\":["
                    "{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":\"200m\",\"memory\":\"1Gi\"}}},"
                    "{\"name\":\"b\",\"resources\":{\"requests\":{\"cpu\":\"100m\"}}}],"
                    "\"initContainers\":["
                    "{\"name\":\"side\",\"restartPolicy\":\"Always\",\"resources\":{\"requests\":{\"cpu\":\"50m\"}}},"
                    "{\"name\":\"init\",\"resources\":{\"requests\":{\"cpu\":\"1\",\"memory\":\"100Mi\"}}}],"
                    "\"overhead\":{\"cpu\":\"10m\"}}}");
    struct sk_sched_res r;
    sk_sched_pod_requests(pod, &r);
    /* containers 300m + sidecar 50m = 350m; init 1000m + sidecar 50m = 1050m wins; + 10m */
    CHECK_INT(r.cpu_m, 1060);
    CHECK_INT(r.mem, 1073741824LL);
    /* non-zero: container b has no memory -> 200Mi default; sidecar 200Mi too */
    CHECK_INT(r.nz_mem, 1073741824LL + 2 * SK_SCHED_DEFAULT_MEMORY);
    json_decref(pod);

    pod = J("{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}");
    sk_sched_pod_requests(pod, &r);
    CHECK_INT(r.cpu_m, 0);
    CHECK_INT(r.nz_cpu_m, 100);
    json_decref(pod);
}

static void test_tolerations(void)
{
    json_t *t = J("[{\"operator\":\"Exists\"}]");
    CHECK(sk_sched_tolerated(t, "any", "v", "NoSchedule"));
    json_decref(t);
    t = J("[{\"key\":\"k\",\"operator\":\"Equal\",\"value\":\"v\",\"effect\":\"NoSchedule\"}]");
    CHECK(sk_sched_tolerated(t, "k", "v", "NoSchedule"));
    CHECK(!sk_sched_tolerated(t, "k", "w", "NoSchedule"));
    CHECK(!sk_sched_tolerated(t, "k", "v", "NoExecute"));
    CHECK(!sk_sched_tolerated(t, "j", "v", "NoSchedule"));
    json_decref(t);
    t = J("[{\"key\":\"k\",\"operator\":\"Exists\"}]");
    CHECK(sk_sched_tolerated(t, "k", "whatever", "NoExecute"));
    json_decref(t);
    t = J("[{\"key\":\"k\",\"value\":\"\"}]"); /* operator defaults to Equal */
    CHECK(sk_sched_tolerated(t, "k", "", "NoSchedule"));
    CHECK(!sk_sched_tolerated(t, "k", "x", "NoSchedule"));
    json_decref(t);
}

static void test_terms(void)
{
    json_t *labels = J("{\"zone\":\"a\",\"gen\":\"5\"}");
    struct { const char *term; bool want; } cases[] = {
        {"{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"a\",\"b\"]}]}", true},
        {"{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"NotIn\",\"values\":[\"a\"]}]}", false},
        {"{\"matchExpressions\":[{\"key\":\"nope\",\"operator\":\"NotIn\",\"values\":[\"a\"]}]}", true},
        {"{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"Exists\"}]}", true},
        {"{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"DoesNotExist\"}]}", false},
        {"{\"matchExpressions\":[{\"key\":\"gen\",\"operator\":\"Gt\",\"values\":[\"4\"]}]}", true},
        {"{\"matchExpressions\":[{\"key\":\"gen\",\"operator\":\"Lt\",\"values\":[\"4\"]}]}", false},
        {"{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"Gt\",\"values\":[\"4\"]}]}", false},
        {"{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":[\"n1\"]}]}", true},
        {"{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":[\"n2\"]}]}", false},
        {"{\"matchFields\":[{\"key\":\"metadata.uid\",\"operator\":\"In\",\"values\":[\"n1\"]}]}", false},
        {"{}", false},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) {
        json_t *t = J(cases[i].term);
        if (sk_sched_term_match(t, labels, "n1") != cases[i].want) {
            fprintf(stderr, "term case %zu failed: %s\n", i, cases[i].term);
            test_failures++;
        }
        json_decref(t);
    }
    json_decref(labels);
}

static bool fits(json_t *pod, struct sk_sched_node *n, struct sk_sched_status *st)
{
    struct sk_sched_pod p;
    sk_sched_pod_init(&p, pod);
    sk_sched_topo_begin(&p);
    bool ok = sk_sched_filter(&p, n, st);
    sk_sched_pod_release(&p);
    return ok;
}

static void test_filter_chain(void)
{
    struct sk_sched_node n;
    struct sk_sched_status st;
    json_t *plain = J("{\"metadata\":{\"name\":\"p\",\"namespace\":\"d\"},\"spec\":{\"containers\":[{\"name\":\"c\"}]}}");

    node_init(&n, mknode("n1", "\"unschedulable\":true", NULL));
    CHECK(!fits(plain, &n, &st));
    CHECK_STR(st.reasons[0], "node(s) were unschedulable");
    CHECK(st.unresolvable);
    sk_sched_node_release(&n);

    node_init(&n, mknode("n1", "\"taints\":[{\"key\":\"dedicated\",\"value\":\"gpu\",\"effect\":\"NoSchedule\"},"
                               "{\"key\":\"soft\",\"effect\":\"PreferNoSchedule\"}]", NULL));
    CHECK(!fits(plain, &n, &st));
    CHECK_STR(st.reasons[0], "node(s) had untolerated taint {dedicated: gpu}");
    json_t *tol = J("{\"metadata\":{\"name\":\"p\",\"namespace\":\"d\"},\"spec\":{\"containers\":[{\"name\":\"c\"}],"
                    "\"tolerations\":[{\"key\":\"dedicated\",\"operator\":\"Exists\"}]}}");
    CHECK(fits(tol, &n, &st));
    json_decref(tol);
    sk_sched_node_release(&n);

    node_init(&n, mknode("n1", NULL, "\"disk\":\"ssd\""));
    json_t *sel = J("{\"metadata\":{\"name\":\"p\",\"namespace\":\"d\"},\"spec\":{\"containers\":[{\"name\":\"c\"}],"
                    "\"nodeSelector\":{\"disk\":\"hdd\"}}}");
    CHECK(!fits(sel, &n, &st));
    CHECK_STR(st.reasons[0], "node(s) didn't match Pod's node affinity/selector");
    json_decref(sel);
    sel = J("{\"metadata\":{\"name\":\"p\",\"namespace\":\"d\"},\"spec\":{\"containers\":[{\"name\":\"c\"}],"
            "\"nodeSelector\":{\"disk\":\"ssd\"},\"affinity\":{\"nodeAffinity\":{"
            "\"requiredDuringSchedulingIgnoredDuringExecution\":{\"nodeSelectorTerms\":["
            "{\"matchExpressions\":[{\"key\":\"disk\",\"operator\":\"In\",\"values\":[\"nvme\"]}]},"
            "{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":[\"n1\"]}]}]}}}}}");
    CHECK(fits(sel, &n, &st));
    json_decref(sel);

    /* resources: 3.5 cpu used, a 1-cpu pod does not fit; 5 cpu never fits */
    struct sk_sched_res used = {.cpu_m = 3500, .mem = 1 << 20};
    sk_sched_node_account(&n, &used, NULL, 0, 1);
    json_t *big = J("{\"metadata\":{\"name\":\"p\",\"namespace\":\"d\"},\"spec\":{\"containers\":[{\"name\":\"c\","
                    "\"resources\":{\"requests\":{\"cpu\":\"1\",\"nvidia.com/gpu\":\"2\"}}}]}}");
    CHECK(!fits(big, &n, &st));
    CHECK_INT(st.n, 2);
    CHECK_STR(st.reasons[0], "Insufficient cpu");
    CHECK_STR(st.reasons[1], "Insufficient nvidia.com/gpu");
    CHECK(st.unresolvable); /* 2 GPUs > 1 allocatable */
    json_decref(big);
    big = J("{\"metadata\":{\"name\":\"p\",\"namespace\":\"d\"},\"spec\":{\"containers\":[{\"name\":\"c\","
            "\"resources\":{\"requests\":{\"cpu\":\"1\"}}}]}}");
    CHECK(!fits(big, &n, &st));
    CHECK(!st.unresolvable);
    json_decref(big);
    for (int i = 0; i < 109; i++) sk_sched_node_account(&n, &(struct sk_sched_res){0}, NULL, 0, 1);
    CHECK(!fits(plain, &n, &st));
    CHECK_STR(st.reasons[0], "Too many pods");
    sk_sched_node_release(&n);

    /* host ports */
    node_init(&n, mknode("n1", NULL, NULL));
    struct sk_sched_port used_port = {"TCP", "0.0.0.0", 8080};
    sk_sched_node_account(&n, &(struct sk_sched_res){0}, &used_port, 1, 1);
    json_t *hp = J("{\"metadata\":{\"name\":\"p\",\"namespace\":\"d\"},\"spec\":{\"containers\":[{\"name\":\"c\","
                   "\"ports\":[{\"containerPort\":80,\"hostPort\":8080,\"hostIP\":\"10.0.0.1\"}]}]}}");
    CHECK(!fits(hp, &n, &st));
    CHECK_STR(st.reasons[0], "node(s) didn't have free ports for the requested pod ports");
    sk_sched_node_account(&n, &(struct sk_sched_res){0}, &used_port, 1, -1);
    CHECK(fits(hp, &n, &st));
    json_decref(hp);
    sk_sched_node_release(&n);
    json_decref(plain);
}

static void test_anti_affinity(void)
{
    struct sk_sched_node n1, n2;
    struct sk_sched_status st;
    node_init(&n1, mknode("n1", NULL, NULL));
    node_init(&n2, mknode("n2", NULL, NULL));
    json_t *pod = J("{\"metadata\":{\"name\":\"web-2\",\"namespace\":\"d\",\"labels\":{\"app\":\"web\"}},"
                    "\"spec\":{\"containers\":[{\"name\":\"c\"}],\"affinity\":{\"podAntiAffinity\":{"
                    "\"requiredDuringSchedulingIgnoredDuringExecution\":[{\"labelSelector\":"
                    "{\"matchLabels\":{\"app\":\"web\"}},\"topologyKey\":\"kubernetes.io/hostname\"}]}}}}");
    json_t *other = J("{\"metadata\":{\"name\":\"web-1\",\"namespace\":\"d\",\"labels\":{\"app\":\"web\"}}}");
    json_t *elsewhere = J("{\"metadata\":{\"name\":\"web-9\",\"namespace\":\"e\",\"labels\":{\"app\":\"web\"}}}");
    struct sk_sched_pod p;
    sk_sched_pod_init(&p, pod);
    CHECK(sk_sched_topo_begin(&p));
    sk_sched_topo_observe(&p, other, n1.labels);
    sk_sched_topo_observe(&p, elsewhere, n2.labels); /* other namespace: ignored */
    CHECK(!sk_sched_filter(&p, &n1, &st));
    CHECK_STR(st.reasons[0], "node(s) didn't match pod anti-affinity rules");
    CHECK(!st.unresolvable);
    CHECK(sk_sched_filter(&p, &n2, &st));
    sk_sched_pod_release(&p);

    /* symmetric: an existing pod's anti-affinity keeps a matching pod away */
    json_t *plain = J("{\"metadata\":{\"name\":\"x\",\"namespace\":\"d\",\"labels\":{\"app\":\"web\"}},"
                      "\"spec\":{\"containers\":[{\"name\":\"c\"}]}}");
    sk_sched_pod_init(&p, plain);
    CHECK(!sk_sched_topo_begin(&p));
    sk_sched_topo_observe(&p, pod, n2.labels);
    CHECK(sk_sched_filter(&p, &n1, &st));
    CHECK(!sk_sched_filter(&p, &n2, &st));
    CHECK_STR(st.reasons[0], "node(s) didn't satisfy existing pods anti-affinity rules");
    sk_sched_pod_release(&p);
    json_decref(plain);
    json_decref(pod);
    json_decref(other);
    json_decref(elsewhere);
    sk_sched_node_release(&n1);
    sk_sched_node_release(&n2);
}

static void test_diag(void)
{
    struct sk_sched_diag d = {.nnodes = 3};
    struct sk_sched_status cpu = {.n = 1, .unresolvable = true}, aff = {.n = 1, .unresolvable = true};
    snprintf(cpu.reasons[0], sizeof cpu.reasons[0], "Insufficient cpu");
    snprintf(aff.reasons[0], sizeof aff.reasons[0], "node(s) didn't match Pod's node affinity/selector");
    sk_sched_diag_add(&d, &aff);
    sk_sched_diag_add(&d, &cpu);
    sk_sched_diag_add(&d, &aff);
    char *m = sk_sched_diag_message(&d, false);
    CHECK_STR(m, "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node "
                 "affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not "
                 "helpful for scheduling.");
    free(m);

    struct sk_sched_diag d2 = {.nnodes = 2};
    cpu.unresolvable = false;
    sk_sched_diag_add(&d2, &cpu);
    sk_sched_diag_add(&d2, &cpu);
    m = sk_sched_diag_message(&d2, false);
    CHECK_STR(m, "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: "
                 "2 No preemption victims found for incoming pod.");
    free(m);
    m = sk_sched_diag_message(&d2, true);
    CHECK_STR(m, "0/2 nodes are available: 2 Insufficient cpu. preemption: not eligible due to "
                 "preemptionPolicy=Never.");
    free(m);
    struct sk_sched_diag d0 = {0};
    m = sk_sched_diag_message(&d0, false);
    CHECK_STR(m, "no nodes available to schedule pods");
    free(m);
}

static void test_trim(void)
{
    json_t *pod = J("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":\"d\","
                    "\"uid\":\"u1\",\"labels\":{\"a\":\"b\"},\"managedFields\":[{\"manager\":\"x\"}],"
                    "\"ownerReferences\":[{\"uid\":\"o\",\"controller\":true,\"kind\":\"ReplicaSet\",\"name\":\"rs\"}]},"
                    "\"spec\":{\"volumes\":[{\"name\":\"v\"}],\"tolerations\":[{\"operator\":\"Exists\"}],"
                    "\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"env\":[{\"name\":\"E\"}],"
                    "\"resources\":{\"requests\":{\"cpu\":\"250m\"},\"limits\":{\"cpu\":\"1\"}},"
                    "\"ports\":[{\"containerPort\":80,\"hostPort\":80}]}],"
                    "\"initContainers\":[{\"name\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"2\"}}}]},"
                    "\"status\":{\"phase\":\"Pending\",\"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"False\"},"
                    "{\"type\":\"Ready\",\"status\":\"False\"}]}}");
    json_t *t = sk_sched_trim_pod(pod);
    struct sk_sched_res a, b;
    sk_sched_pod_requests(pod, &a);
    sk_sched_pod_requests(t, &b);
    CHECK_INT(b.cpu_m, 2000);
    CHECK_INT(a.nz_mem, b.nz_mem);
    struct sk_sched_port ports[2];
    CHECK_INT(sk_sched_pod_ports(t, ports, 2), 1);
    CHECK(!sk_json_path(t, "metadata.managedFields"));
    CHECK(!sk_json_path(t, "spec.volumes"));
    CHECK_STR(sk_json_str(json_array_get(sk_json_path(t, "metadata.ownerReferences"), 0), "uid"), "o");
    CHECK(json_array_size(sk_json_path(t, "status.conditions")) == 1);
    CHECK(json_array_size(sk_json_path(t, "spec.tolerations")) == 1);
    json_decref(t);
    json_decref(pod);
}

int main(void)
{
    test_trim();
    test_quantity();
    test_requests();
    test_tolerations();
    test_terms();
    test_filter_chain();
    test_anti_affinity();
    test_diag();
    return test_done();
}
