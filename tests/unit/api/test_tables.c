/* Server-side Tables: exact cells for sample objects, column definitions,
 * and the PartialObjectMetadata rows. */
#include "api/api.h"
#include "unit/test.h"

/* 2026-01-01T00:00:00Z */
#define T0 1767225600LL

static json_t *load(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    if (!j) fprintf(stderr, "bad test JSON: %s (line %d)\n", e.text, e.line);
    return j;
}

/* Cells of a one-row table as a compact JSON string (caller frees). */
static char *cells_of(const char *group, const char *plural, const char *obj, int64_t now)
{
    const struct sk_resource *r = sk_resource_find(group, "v1", plural);
    json_t *o = load(obj);
    if (!r || !o) { json_decref(o); return strdup("(none)"); }
    const json_t *objs[] = {o};
    json_t *t = sk_table(r, objs, 1, true, now);
    json_t *cells = json_object_get(json_array_get(json_object_get(t, "rows"), 0), "cells");
    size_t ncols = json_array_size(json_object_get(t, "columnDefinitions"));
    if (ncols != json_array_size(cells))
        fprintf(stderr, "%s: %zu columns but %zu cells\n", plural, ncols, json_array_size(cells));
    char *s = json_dumps(cells, JSON_COMPACT);
    json_decref(t);
    json_decref(o);
    return s;
}

#define CHECK_CELLS(group, plural, obj, now, want) do { \
    char *_c = cells_of(group, plural, obj, now); CHECK_STR(_c, want); free(_c); } while (0)

static void test_pods(void)
{
    CHECK_CELLS("", "pods",
        "{\"metadata\":{\"name\":\"web-1\",\"namespace\":\"default\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
        "\"spec\":{\"nodeName\":\"node1\",\"containers\":[{\"name\":\"a\"}]},"
        "\"status\":{\"phase\":\"Running\",\"podIPs\":[{\"ip\":\"10.244.0.5\"}],"
        "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],"
        "\"containerStatuses\":[{\"name\":\"a\",\"ready\":true,\"restartCount\":0,\"state\":{\"running\":{}}}]}}",
        T0 + 300,
        "[\"web-1\",\"1/1\",\"Running\",\"0\",\"5m\",\"10.244.0.5\",\"node1\",\"<none>\",\"<none>\"]");
    /* Pending pod, nothing scheduled yet. */
    CHECK_CELLS("", "pods",
        "{\"metadata\":{\"name\":\"p\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
        "\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]},\"status\":{\"phase\":\"Pending\"}}",
        T0 + 7,
        "[\"p\",\"0/2\",\"Pending\",\"0\",\"7s\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
    /* ContainerCreating wait reason; CrashLoopBackOff with restarts and last restart time. */
    CHECK_CELLS("", "pods",
        "{\"metadata\":{\"name\":\"p\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
        "\"spec\":{\"containers\":[{\"name\":\"a\"}]},\"status\":{\"phase\":\"Pending\","
        "\"containerStatuses\":[{\"name\":\"a\",\"state\":{\"waiting\":{\"reason\":\"ContainerCreating\"}}}]}}",
        T0 + 3, "[\"p\",\"0/1\",\"ContainerCreating\",\"0\",\"3s\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
    CHECK_CELLS("", "pods",
        "{\"metadata\":{\"name\":\"p\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
        "\"spec\":{\"containers\":[{\"name\":\"a\"}]},\"status\":{\"phase\":\"Running\","
        "\"containerStatuses\":[{\"name\":\"a\",\"restartCount\":3,"
        "\"lastState\":{\"terminated\":{\"exitCode\":1,\"finishedAt\":\"2026-01-01T00:10:00Z\"}},"
        "\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}}}]}}",
        T0 + 900, "[\"p\",\"0/1\",\"CrashLoopBackOff\",\"3 (5m ago)\",\"15m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
    /* Completed, terminating, init progress. */
    CHECK_CELLS("", "pods",
        "{\"metadata\":{\"name\":\"p\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
        "\"spec\":{\"containers\":[{\"name\":\"a\"}]},\"status\":{\"phase\":\"Succeeded\","
        "\"containerStatuses\":[{\"name\":\"a\",\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}}}]}}",
        T0 + 60, "[\"p\",\"0/1\",\"Completed\",\"0\",\"60s\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
    CHECK_CELLS("", "pods",
        "{\"metadata\":{\"name\":\"p\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\",\"deletionTimestamp\":\"2026-01-01T00:01:00Z\"},"
        "\"spec\":{\"containers\":[{\"name\":\"a\"}]},\"status\":{\"phase\":\"Running\","
        "\"containerStatuses\":[{\"name\":\"a\",\"ready\":true,\"state\":{\"running\":{}}}]}}",
        T0 + 60, "[\"p\",\"1/1\",\"Terminating\",\"0\",\"60s\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
    CHECK_CELLS("", "pods",
        "{\"metadata\":{\"name\":\"p\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
        "\"spec\":{\"initContainers\":[{\"name\":\"i1\"},{\"name\":\"i2\"}],\"containers\":[{\"name\":\"a\"}],"
        "\"readinessGates\":[{\"conditionType\":\"x\"}]},"
        "\"status\":{\"phase\":\"Pending\",\"initContainerStatuses\":["
        "{\"name\":\"i1\",\"state\":{\"terminated\":{\"exitCode\":0}}},"
        "{\"name\":\"i2\",\"state\":{\"running\":{}}}]}}",
        T0 + 1, "[\"p\",\"0/1\",\"Init:1/2\",\"0\",\"1s\",\"<none>\",\"<none>\",\"<none>\",\"0/1\"]");
    /* No creation timestamp. */
    CHECK_CELLS("", "pods", "{\"metadata\":{\"name\":\"p\"},\"spec\":{}}", T0,
                "[\"p\",\"0/0\",\"\",\"0\",\"<unknown>\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
}

static void test_workloads(void)
{
    CHECK_CELLS("apps", "deployments",
        "{\"metadata\":{\"name\":\"web\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
        "\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{\"app\":\"web\",\"tier\":\"fe\"}},"
        "\"template\":{\"spec\":{\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx:1.27\"},{\"name\":\"side\",\"image\":\"busybox\"}]}}},"
        "\"status\":{\"readyReplicas\":2,\"updatedReplicas\":3,\"availableReplicas\":2}}",
        T0 + 3 * 3600 + 60,
        "[\"web\",\"2/3\",3,2,\"3h1m\",\"nginx,side\",\"nginx:1.27,busybox\",\"app=web,tier=fe\"]");
    CHECK_CELLS("apps", "replicasets",
        "{\"metadata\":{\"name\":\"web-5d8\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
        "\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":\"web\"},"
        "\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"In\",\"values\":[\"prod\",\"dev\"]}]},"
        "\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}},\"status\":{\"replicas\":1}}",
        T0 + 86400 * 3,
        "[\"web-5d8\",1,1,0,\"3d\",\"c\",\"i\",\"app=web,env in (dev,prod)\"]");
    CHECK_CELLS("batch", "jobs",
        "{\"metadata\":{\"name\":\"pi\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
        "\"spec\":{\"completions\":1,\"template\":{\"spec\":{\"containers\":[{\"name\":\"pi\",\"image\":\"perl\"}]}}},"
        "\"status\":{\"succeeded\":1,\"startTime\":\"2026-01-01T00:00:01Z\",\"completionTime\":\"2026-01-01T00:00:31Z\","
        "\"conditions\":[{\"type\":\"Complete\",\"status\":\"True\"}]}}",
        T0 + 120, "[\"pi\",\"Complete\",\"1/1\",\"30s\",\"2m\",\"pi\",\"perl\",\"<none>\"]");
}

static void test_services(void)
{
    CHECK_CELLS("", "services",
        "{\"metadata\":{\"name\":\"web\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
        "\"spec\":{\"type\":\"NodePort\",\"clusterIPs\":[\"10.96.0.12\"],\"selector\":{\"app\":\"web\"},"
        "\"ports\":[{\"port\":8080,\"nodePort\":31001,\"protocol\":\"TCP\"}]}}",
        T0 + 10, "[\"web\",\"NodePort\",\"10.96.0.12\",\"<none>\",\"8080:31001/TCP\",\"10s\",\"app=web\"]");
    CHECK_CELLS("", "services",
        "{\"metadata\":{\"name\":\"lb\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
        "\"spec\":{\"type\":\"LoadBalancer\",\"clusterIPs\":[\"10.96.0.13\"],"
        "\"ports\":[{\"port\":80,\"protocol\":\"TCP\"},{\"port\":53,\"protocol\":\"UDP\"}]}}",
        T0 + 10, "[\"lb\",\"LoadBalancer\",\"10.96.0.13\",\"<pending>\",\"80/TCP,53/UDP\",\"10s\",\"<none>\"]");
    CHECK_CELLS("", "services",
        "{\"metadata\":{\"name\":\"h\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
        "\"spec\":{\"type\":\"ClusterIP\",\"clusterIPs\":[\"None\"]}}",
        T0 + 10, "[\"h\",\"ClusterIP\",\"None\",\"<none>\",\"<none>\",\"10s\",\"<none>\"]");
    CHECK_CELLS("", "endpoints",
        "{\"metadata\":{\"name\":\"web\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
        "\"subsets\":[{\"addresses\":[{\"ip\":\"10.0.0.1\"},{\"ip\":\"10.0.0.2\"}],\"ports\":[{\"port\":80},{\"port\":443}]}]}",
        T0 + 10, "[\"web\",\"10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...\",\"10s\"]");
    CHECK_CELLS("", "endpoints", "{\"metadata\":{\"name\":\"e\"}}", T0, "[\"e\",\"<none>\",\"<unknown>\"]");
}

static void test_nodes_events(void)
{
    CHECK_CELLS("", "nodes",
        "{\"metadata\":{\"name\":\"node1\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\","
        "\"labels\":{\"node-role.kubernetes.io/control-plane\":\"\",\"kubernetes.io/role\":\"worker\"}},"
        "\"spec\":{\"unschedulable\":true},"
        "\"status\":{\"conditions\":[{\"type\":\"MemoryPressure\",\"status\":\"False\"},{\"type\":\"Ready\",\"status\":\"True\"}],"
        "\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"192.168.1.5\"},{\"type\":\"Hostname\",\"address\":\"node1\"}],"
        "\"nodeInfo\":{\"kubeletVersion\":\"v1.32.4\",\"osImage\":\"Debian GNU/Linux 12 (bookworm)\","
        "\"kernelVersion\":\"6.1.0\",\"containerRuntimeVersion\":\"crun://1.19\"}}}",
        T0 + 50 * 3600,
        "[\"node1\",\"Ready,SchedulingDisabled\",\"control-plane,worker\",\"2d2h\",\"v1.32.4\","
        "\"192.168.1.5\",\"<none>\",\"Debian GNU/Linux 12 (bookworm)\",\"6.1.0\",\"crun://1.19\"]");
    CHECK_CELLS("", "nodes", "{\"metadata\":{\"name\":\"n\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"Unknown\"}]}}",
        T0, "[\"n\",\"NotReady\",\"<none>\",\"<unknown>\",\"\",\"<none>\",\"<none>\",\"<unknown>\",\"<unknown>\",\"<unknown>\"]");
    CHECK_CELLS("", "events",
        "{\"metadata\":{\"name\":\"web-1.181\",\"namespace\":\"default\"},"
        "\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"web-1\",\"fieldPath\":\"spec.containers{nginx}\"},"
        "\"reason\":\"Pulled\",\"message\":\"Successfully pulled image \\\"nginx\\\"\\n\",\"type\":\"Normal\","
        "\"source\":{\"component\":\"kubelet\",\"host\":\"node1\"},\"count\":2,"
        "\"firstTimestamp\":\"2026-01-01T00:00:00Z\",\"lastTimestamp\":\"2026-01-01T00:01:00Z\"}",
        T0 + 120,
        "[\"60s\",\"Normal\",\"Pulled\",\"pod/web-1\",\"spec.containers{nginx}\",\"kubelet, node1\","
        "\"Successfully pulled image \\\"nginx\\\"\",\"2m\",2,\"web-1.181\"]");
    CHECK_CELLS("events.k8s.io", "events",
        "{\"metadata\":{\"name\":\"e\"},\"regarding\":{\"kind\":\"Node\",\"name\":\"n1\"},\"reason\":\"R\","
        "\"note\":\"hi\",\"type\":\"Warning\",\"reportingController\":\"ctl\",\"eventTime\":\"2026-01-01T00:00:00.000000Z\"}",
        T0 + 5, "[\"5s\",\"Warning\",\"R\",\"node/n1\",\"\",\"ctl\",\"hi\",\"5s\",1,\"e\"]");
}

static void test_misc(void)
{
    CHECK_CELLS("", "namespaces",
        "{\"metadata\":{\"name\":\"kube-system\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},\"status\":{\"phase\":\"Active\"}}",
        T0 + 400 * 86400, "[\"kube-system\",\"Active\",\"400d\"]");
    CHECK_CELLS("", "configmaps",
        "{\"metadata\":{\"name\":\"c\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},\"data\":{\"a\":\"1\",\"b\":\"2\"},\"binaryData\":{\"c\":\"AA==\"}}",
        T0 + 1, "[\"c\",3,\"1s\"]");
    CHECK_CELLS("", "secrets",
        "{\"metadata\":{\"name\":\"s\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},\"type\":\"Opaque\",\"data\":{\"a\":\"MQ==\"}}",
        T0 + 1, "[\"s\",\"Opaque\",1,\"1s\"]");
    /* Kinds without a printer: Name and Created At. */
    const struct sk_resource *r = sk_resource_find("rbac.authorization.k8s.io", "v1", "clusterroles");
    json_t *o = load("{\"metadata\":{\"name\":\"system:x\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\","
                     "\"managedFields\":[{}],\"labels\":{\"a\":\"b\"}}}");
    const json_t *objs[] = {o};
    json_t *t = sk_table(r, objs, 1, true, T0);
    char *s = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK_STR(s, "{\"apiVersion\":\"meta.k8s.io/v1\",\"columnDefinitions\":["
                 "{\"description\":\"Name must be unique within a namespace.\",\"format\":\"name\",\"name\":\"Name\",\"priority\":0,\"type\":\"string\"},"
                 "{\"description\":\"CreationTimestamp is a timestamp representing the server time when this object was created.\",\"format\":\"\",\"name\":\"Created At\",\"priority\":0,\"type\":\"date\"}],"
                 "\"kind\":\"Table\",\"metadata\":{},\"rows\":[{\"cells\":[\"system:x\",\"2026-01-01T00:00:00Z\"],"
                 "\"object\":{\"apiVersion\":\"meta.k8s.io/v1\",\"kind\":\"PartialObjectMetadata\","
                 "\"metadata\":{\"creationTimestamp\":\"2026-01-01T00:00:00Z\",\"labels\":{\"a\":\"b\"},\"name\":\"system:x\"}}}]}");
    free(s);
    json_decref(t);
    /* Watch tables after the first event carry null column definitions. */
    t = sk_table(sk_resource_find("", "v1", "pods"), objs, 1, false, T0);
    CHECK(json_is_null(json_object_get(t, "columnDefinitions")));
    json_decref(t);
    json_decref(o);
    /* Column definitions: pods have 5 default + 4 wide columns. */
    json_t *cols = sk_table_columns(sk_resource_find("", "v1", "pods"));
    CHECK_INT(json_array_size(cols), 9);
    CHECK_STR(sk_json_str(json_array_get(cols, 5), "name"), "IP");
    CHECK_INT(json_integer_value(json_object_get(json_array_get(cols, 5), "priority")), 1);
    json_decref(cols);
    /* Every printed kind yields as many cells as columns, even for an empty object. */
    size_t n;
    const struct sk_resource *const *rs = sk_resources(&n);
    json_t *empty = json_object();
    for (size_t i = 0; i < n; i++) {
        const json_t *e[] = {empty};
        t = sk_table(rs[i], e, 1, true, T0);
        json_t *cells = json_object_get(json_array_get(json_object_get(t, "rows"), 0), "cells");
        CHECK_INT(json_array_size(cells), json_array_size(json_object_get(t, "columnDefinitions")));
        json_decref(t);
    }
    json_decref(empty);
}

int main(void)
{
    test_pods();
    test_workloads();
    test_services();
    test_nodes_events();
    test_misc();
    return test_done();
}
