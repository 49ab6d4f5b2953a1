/* Scheduler scores and the choice among feasible nodes. */
#include "scheduler/scheduler_int.h"
#include "unit/test.h"

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v) fprintf(stderr, "bad test JSON: %s: %s\n", e.text, text);
    return v;
}

static void node_init(struct sk_sched_node *n, const char *name, const char *labels, const char *taints)
{
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"%s\",\"labels\":{%s}},\"spec\":{\"taints\":[%s]},"
             "\"status\":{\"allocatable\":{\"cpu\":\"4\",\"memory\":\"16Gi\",\"pods\":\"110\"}}}",
             name, labels ? labels : "", taints ? taints : "");
    json_t *obj = J(buf);
    memset(n, 0, sizeof *n);
    n->name = sk_strdup(name);
    sk_sched_node_set(n, obj);
    json_decref(obj);
}

/* Scores pod against nodes with the given owner counts; returns totals. */
static void run(json_t *pod, struct sk_sched_node *nodes, const int *owner, int n, int64_t *total)
{
    struct sk_sched_pod p;
    struct sk_sched_scorer sc;
    sk_sched_pod_init(&p, pod);
    sk_sched_scorer_init(&sc, n);
    for (int i = 0; i < n; i++) sk_sched_score_node(&p, &nodes[i], owner ? owner[i] : 0, &sc, i);
    sk_sched_score_finish(&sc, total);
    sk_sched_scorer_release(&sc);
    sk_sched_pod_release(&p);
}

static void test_least_allocated(void)
{
    struct sk_sched_node n[2];
    node_init(&n[0], "a", NULL, NULL);
    node_init(&n[1], "b", NULL, NULL);
    struct sk_sched_res used = {.cpu_m = 2000, .mem = 8LL << 30, .nz_cpu_m = 2000, .nz_mem = 8LL << 30};
    sk_sched_node_account(&n[0], &used, NULL, 0, 1);
    json_t *pod = J("{\"metadata\":{\"name\":\"p\",\"namespace\":\"d\"},\"spec\":{\"containers\":[{\"name\":\"c\"}]}}");
    int64_t t[2];
    run(pod, n, NULL, 2, t);
    CHECK(t[1] > t[0]);
    /* best-effort pods count as 100m/200Mi each, so they still spread */
    struct sk_sched_res be = {.nz_cpu_m = 100, .nz_mem = SK_SCHED_DEFAULT_MEMORY};
    sk_sched_node_account(&n[0], &used, NULL, 0, -1);
    sk_sched_node_account(&n[1], &be, NULL, 0, 1);
    run(pod, n, NULL, 2, t);
    CHECK(t[0] > t[1]);
    json_decref(pod);
    sk_sched_node_release(&n[0]);
    sk_sched_node_release(&n[1]);
}

static void test_spread(void)
{
    struct sk_sched_node n[3];
    node_init(&n[0], "a", NULL, NULL);
    node_init(&n[1], "b", NULL, NULL);
    node_init(&n[2], "c", NULL, NULL);
    json_t *pod = J("{\"metadata\":{\"name\":\"p\",\"namespace\":\"d\",\"ownerReferences\":[{\"uid\":\"rs1\","
                    "\"controller\":true,\"kind\":\"ReplicaSet\",\"name\":\"rs\",\"apiVersion\":\"apps/v1\"}]},"
                    "\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"requests\":{\"cpu\":\"1m\"}}}]}}");
    int owner[3] = {2, 0, 1};
    int64_t t[3];
    run(pod, n, owner, 3, t);
    CHECK(t[1] > t[2]);
    CHECK(t[2] > t[0]);
    json_decref(pod);
    for (int i = 0; i < 3; i++) sk_sched_node_release(&n[i]);
}

static void test_preferred_affinity_and_taints(void)
{
    struct sk_sched_node n[3];
    node_init(&n[0], "a", "\"zone\":\"x\"", NULL);
    node_init(&n[1], "b", "\"zone\":\"y\"", NULL);
    node_init(&n[2], "c", "\"zone\":\"y\"", "{\"key\":\"soft\",\"effect\":\"PreferNoSchedule\"}");
    json_t *pod = J("{\"metadata\":{\"name\":\"p\",\"namespace\":\"d\"},\"spec\":{\"containers\":[{\"name\":\"c\"}],"
                    "\"affinity\":{\"nodeAffinity\":{\"preferredDuringSchedulingIgnoredDuringExecution\":["
                    "{\"weight\":50,\"preference\":{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\","
                    "\"values\":[\"y\"]}]}}]}}}}");
    int64_t t[3];
    run(pod, n, NULL, 3, t);
    CHECK(t[1] > t[0]);
    CHECK(t[1] > t[2]); /* same affinity, but c has an untolerated PreferNoSchedule taint */
    json_decref(pod);
    for (int i = 0; i < 3; i++) sk_sched_node_release(&n[i]);
}

static void test_pick(void)
{
    int64_t t[4] = {5, 9, 9, 1};
    uint64_t seed = 42;
    int hits[4] = {0};
    for (int i = 0; i < 1000; i++) hits[sk_sched_pick(t, 4, &seed)]++;
    CHECK_INT(hits[0], 0);
    CHECK_INT(hits[3], 0);
    CHECK(hits[1] > 350 && hits[2] > 350); /* ties broken at random */
    CHECK_INT(sk_sched_pick(t, 0, &seed), -1);
}

int main(void)
{
    test_least_allocated();
    test_spread();
    test_preferred_affinity_and_taints();
    test_pick();
    return test_done();
}
