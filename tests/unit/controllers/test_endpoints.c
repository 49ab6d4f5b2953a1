/* Endpoints and EndpointSlice building: port resolution, readiness,
 * subset repacking, slice plans. */
#include "controllers/endpoints_int.h"
#include "unit/test.h"

static json_t *J(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, 0, &e);
    if (!v) fprintf(stderr, "bad test JSON: %s: %s\n", e.text, s);
    return v;
}

/* A pod with one container port http=8080 (and metrics=9090/UDP). */
static json_t *pod(const char *name, const char *ip, bool ready, const char *node)
{
    json_t *p = json_pack(
        "{s:{s:s,s:s,s:s,s:{s:s}},s:{s:s,s:[{s:s,s:[{s:s,s:i},{s:s,s:i,s:s}]}]},"
        "s:{s:s,s:s,s:[{s:s}],s:[{s:s,s:s}]}}",
        "metadata", "name", name, "namespace", "default", "uid", name, "labels", "app", "web",
        "spec", "nodeName", node, "containers", "name", "c", "ports", "name", "http",
        "containerPort", 8080, "name", "metrics", "containerPort", 9090, "protocol", "UDP",
        "status", "phase", "Running", "podIP", ip, "podIPs", "ip", ip, "conditions", "type",
        "Ready", "status", ready ? "True" : "False");
    return p;
}

static json_t *svc(const char *ports)
{
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\",\"uid\":\"svc-uid\","
             "\"labels\":{\"app\":\"web\"}},\"spec\":{\"selector\":{\"app\":\"web\"},"
             "\"clusterIP\":\"10.96.0.10\",\"ipFamilies\":[\"IPv4\"],\"ports\":%s}}",
             ports);
    return J(buf);
}

static void test_find_port(void)
{
    json_t *p = pod("a", "10.244.0.5", true, "n1");
    json_t *sp = J("{\"port\":80,\"targetPort\":\"http\",\"protocol\":\"TCP\"}");
    CHECK_INT(sk_ep_find_port(p, sp), 8080);
    json_decref(sp);
    sp = J("{\"port\":80,\"targetPort\":\"metrics\",\"protocol\":\"TCP\"}");
    CHECK_INT(sk_ep_find_port(p, sp), -1); /* protocol must match */
    json_decref(sp);
    sp = J("{\"port\":80,\"targetPort\":\"metrics\",\"protocol\":\"UDP\"}");
    CHECK_INT(sk_ep_find_port(p, sp), 9090);
    json_decref(sp);
    sp = J("{\"port\":80,\"targetPort\":7000}");
    CHECK_INT(sk_ep_find_port(p, sp), 7000);
    json_decref(sp);
    sp = J("{\"port\":80}");
    CHECK_INT(sk_ep_find_port(p, sp), 80);
    json_decref(sp);
    sp = J("{\"port\":80,\"targetPort\":\"nosuch\"}");
    CHECK_INT(sk_ep_find_port(p, sp), -1);
    json_decref(sp);
    /* sidecars (restartable init containers) count, plain init containers don't */
    json_t *init = J("[{\"name\":\"i\",\"ports\":[{\"name\":\"side\",\"containerPort\":5000}]},"
                     "{\"name\":\"s\",\"restartPolicy\":\"Always\","
                     "\"ports\":[{\"name\":\"side2\",\"containerPort\":5001}]}]");
    json_object_set_new(json_object_get(p, "spec"), "initContainers", init);
    sp = J("{\"port\":80,\"targetPort\":\"side\"}");
    CHECK_INT(sk_ep_find_port(p, sp), -1);
    json_decref(sp);
    sp = J("{\"port\":80,\"targetPort\":\"side2\"}");
    CHECK_INT(sk_ep_find_port(p, sp), 5001);
    json_decref(sp);
    json_decref(p);
}

static void test_included(void)
{
    json_t *p = pod("a", "10.244.0.5", true, "n1");
    CHECK(sk_ep_pod_included(p, false));
    json_object_set_new(json_object_get(p, "metadata"), "deletionTimestamp",
                        json_string("2024-01-01T00:00:00Z"));
    CHECK(!sk_ep_pod_included(p, false));
    CHECK(sk_ep_pod_included(p, true));
    json_decref(p);
    p = pod("b", "", true, "n1");
    json_object_del(json_object_get(p, "status"), "podIPs");
    CHECK(!sk_ep_pod_included(p, true));
    json_decref(p);
    p = pod("c", "10.244.0.6", true, "n1");
    json_object_set_new(json_object_get(p, "status"), "phase", json_string("Succeeded"));
    CHECK(!sk_ep_pod_included(p, true));
    json_decref(p);
    json_t *s = svc("[]");
    CHECK(sk_ep_svc_managed(s));
    json_object_del(json_object_get(s, "spec"), "selector");
    CHECK(!sk_ep_svc_managed(s));
    json_object_set_new(json_object_get(s, "spec"), "selector", json_object());
    CHECK(!sk_ep_svc_managed(s));
    json_decref(s);
}

static void test_subsets_basic(void)
{
    json_t *s = svc("[{\"name\":\"web\",\"port\":80,\"targetPort\":\"http\",\"protocol\":\"TCP\"}]");
    json_t *pods = json_array();
    json_array_append_new(pods, pod("b", "10.244.1.2", true, "n2"));
    json_array_append_new(pods, pod("a", "10.244.0.5", true, "n1"));
    json_array_append_new(pods, pod("c", "10.244.0.7", false, "n1"));
    json_t *ss = sk_endpoints_subsets(s, pods);
    CHECK(json_array_size(ss) == 1);
    json_t *s0 = json_array_get(ss, 0);
    json_t *addrs = json_object_get(s0, "addresses");
    CHECK_INT(json_array_size(addrs), 2);
    CHECK_STR(sk_json_str(json_array_get(addrs, 0), "ip"), "10.244.0.5");
    CHECK_STR(sk_json_str(json_array_get(addrs, 1), "ip"), "10.244.1.2");
    CHECK_STR(sk_json_str(json_array_get(addrs, 0), "nodeName"), "n1");
    CHECK_STR(sk_json_path_str(json_array_get(addrs, 0), "targetRef.kind"), "Pod");
    CHECK_STR(sk_json_path_str(json_array_get(addrs, 0), "targetRef.name"), "a");
    CHECK_INT(json_array_size(json_object_get(s0, "notReadyAddresses")), 1);
    CHECK_STR(sk_json_str(json_array_get(json_object_get(s0, "notReadyAddresses"), 0), "ip"),
              "10.244.0.7");
    json_t *ports = json_object_get(s0, "ports");
    CHECK_INT(json_array_size(ports), 1);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(ports, 0), "port")), 8080);
    CHECK_STR(sk_json_str(json_array_get(ports, 0), "name"), "web");
    CHECK_STR(sk_json_str(json_array_get(ports, 0), "protocol"), "TCP");
    /* the same input gives equal subsets in any pod order */
    json_t *rev = json_array();
    for (size_t i = json_array_size(pods); i-- > 0;) json_array_append(rev, json_array_get(pods, i));
    json_t *ss2 = sk_endpoints_subsets(s, rev);
    CHECK(sk_subsets_equal(ss, ss2));
    /* publishNotReadyAddresses puts every pod in addresses */
    json_object_set_new(json_object_get(s, "spec"), "publishNotReadyAddresses", json_true());
    json_t *ss3 = sk_endpoints_subsets(s, pods);
    CHECK_INT(json_array_size(json_object_get(json_array_get(ss3, 0), "addresses")), 3);
    CHECK(!json_object_get(json_array_get(ss3, 0), "notReadyAddresses"));
    json_decref(ss);
    json_decref(ss2);
    json_decref(ss3);
    json_decref(rev);
    json_decref(pods);
    json_decref(s);
}

/* Pods lacking a named port are left out of that port's subset only. */
static void test_subsets_named_ports(void)
{
    json_t *s = svc("[{\"name\":\"a\",\"port\":80,\"targetPort\":\"http\"},"
                    "{\"name\":\"b\",\"port\":81,\"targetPort\":\"special\"}]");
    json_t *pods = json_array();
    json_array_append_new(pods, pod("p1", "10.0.0.1", true, "n1"));
    json_t *p2 = pod("p2", "10.0.0.2", true, "n1");
    json_t *c0 = json_array_get(sk_json_path(p2, "spec.containers"), 0);
    json_array_append_new(json_object_get(c0, "ports"),
                          json_pack("{s:s,s:i}", "name", "special", "containerPort", 9999));
    json_array_append_new(pods, p2);
    json_t *ss = sk_endpoints_subsets(s, pods);
    /* {p1,p2} x {a:8080} and {p2} x {b:9999} */
    CHECK(json_array_size(ss) == 2);
    json_t *first = json_array_get(ss, 0), *second = json_array_get(ss, 1);
    CHECK_INT(json_array_size(json_object_get(first, "addresses")), 2);
    CHECK_INT(json_integer_value(sk_json_path(json_array_get(json_object_get(first, "ports"), 0), "port")), 8080);
    CHECK_INT(json_array_size(json_object_get(second, "addresses")), 1);
    CHECK_STR(sk_json_str(json_array_get(json_object_get(second, "addresses"), 0), "ip"), "10.0.0.2");
    CHECK_INT(json_integer_value(json_object_get(json_array_get(json_object_get(second, "ports"), 0), "port")), 9999);
    json_decref(ss);
    /* two ports both served by the same pods share one subset */
    json_decref(s);
    s = svc("[{\"name\":\"a\",\"port\":80,\"targetPort\":\"http\"},{\"name\":\"b\",\"port\":81,\"targetPort\":7000}]");
    ss = sk_endpoints_subsets(s, pods);
    CHECK(json_array_size(ss) == 1);
    CHECK_INT(json_array_size(json_object_get(json_array_get(ss, 0), "ports")), 2);
    json_decref(ss);
    json_decref(s);
    json_decref(pods);
}

static void test_truncate(void)
{
    json_t *ss = json_array();
    json_t *a = json_array(), *n = json_array();
    for (int i = 0; i < 900; i++) json_array_append_new(a, json_pack("{s:s}", "ip", "1.1.1.1"));
    for (int i = 0; i < 300; i++) json_array_append_new(n, json_pack("{s:s}", "ip", "2.2.2.2"));
    json_array_append_new(ss, json_pack("{s:o,s:o}", "addresses", a, "notReadyAddresses", n));
    CHECK(sk_endpoints_truncate(ss));
    CHECK_INT(json_array_size(json_object_get(json_array_get(ss, 0), "addresses")), 900);
    CHECK_INT(json_array_size(json_object_get(json_array_get(ss, 0), "notReadyAddresses")), 100);
    CHECK(!sk_endpoints_truncate(ss));
    json_decref(ss);
}

static json_t *node_fn(void *ud, const char *name)
{
    (void)ud;
    if (!strcmp(name, "gone")) return NULL;
    return json_pack("{s:{s:s,s:{s:s}}}", "metadata", "name", name, "labels",
                     "topology.kubernetes.io/zone", "z1");
}

static void test_slice_endpoint(void)
{
    json_t *s = svc("[{\"port\":80,\"targetPort\":8080}]");
    json_t *p = pod("a", "10.244.0.5", true, "n1");
    json_t *n = node_fn(NULL, "n1");
    json_t *ep = sk_eps_endpoint(p, n, s, "IPv4");
    CHECK_STR(json_string_value(json_array_get(json_object_get(ep, "addresses"), 0)), "10.244.0.5");
    CHECK(json_is_true(sk_json_path(ep, "conditions.ready")));
    CHECK(json_is_true(sk_json_path(ep, "conditions.serving")));
    CHECK(json_is_false(sk_json_path(ep, "conditions.terminating")));
    CHECK_STR(sk_json_str(ep, "zone"), "z1");
    CHECK_STR(sk_json_str(ep, "nodeName"), "n1");
    CHECK_STR(sk_json_path_str(ep, "targetRef.uid"), "a");
    json_decref(ep);
    /* terminating: serving stays, ready drops */
    json_object_set_new(json_object_get(p, "metadata"), "deletionTimestamp", json_string("2024-01-01T00:00:00Z"));
    ep = sk_eps_endpoint(p, n, s, "IPv4");
    CHECK(json_is_false(sk_json_path(ep, "conditions.ready")));
    CHECK(json_is_true(sk_json_path(ep, "conditions.serving")));
    CHECK(json_is_true(sk_json_path(ep, "conditions.terminating")));
    json_decref(ep);
    ep = sk_eps_endpoint(p, n, s, "IPv6");
    CHECK_INT(json_array_size(json_object_get(ep, "addresses")), 0);
    json_decref(ep);
    json_t *ports = sk_eps_ports(s, p);
    CHECK_INT(json_array_size(ports), 1);
    CHECK_STR(sk_json_str(json_array_get(ports, 0), "name"), "");
    CHECK_INT(json_integer_value(json_object_get(json_array_get(ports, 0), "port")), 8080);
    json_decref(ports);
    json_decref(n);
    json_decref(p);
    json_decref(s);
}

static json_t *pods_n(int n, int first)
{
    json_t *pods = json_array();
    for (int i = 0; i < n; i++) {
        char name[32], ip[32];
        snprintf(name, sizeof name, "p%03d", first + i);
        snprintf(ip, sizeof ip, "10.1.%d.%d", (first + i) / 200, (first + i) % 200 + 1);
        json_array_append_new(pods, pod(name, ip, true, "n1"));
    }
    return pods;
}

/* Gives the slices of a plan names and uids, as the server would. */
static json_t *apply_plan(struct sk_eps_plan *pl, const json_t *old)
{
    static int seq;
    json_t *out = json_array();
    size_t i, j;
    json_t *s, *u;
    json_array_foreach(old, i, s) {
        bool gone = false;
        json_array_foreach(pl->del, j, u) if (!strcmp(sk_json_path_str(u, "metadata.name"), sk_json_path_str(s, "metadata.name"))) gone = true;
        json_array_foreach(pl->update, j, u) if (!strcmp(sk_json_path_str(u, "metadata.name"), sk_json_path_str(s, "metadata.name"))) gone = true;
        if (!gone) json_array_append(out, s);
    }
    json_array_foreach(pl->update, i, s) json_array_append_new(out, json_deep_copy(s));
    json_array_foreach(pl->create, i, s) {
        json_t *c = json_deep_copy(s);
        char name[32];
        snprintf(name, sizeof name, "web-%05d", ++seq);
        json_object_set_new(json_object_get(c, "metadata"), "name", json_string(name));
        json_array_append_new(out, c);
    }
    return out;
}

static size_t total_endpoints(const json_t *slices)
{
    size_t n = 0, i;
    json_t *s;
    json_array_foreach(slices, i, s) n += json_array_size(json_object_get(s, "endpoints"));
    return n;
}

static void test_slice_plan(void)
{
    json_t *s = svc("[{\"name\":\"http\",\"port\":80,\"targetPort\":\"http\"}]");
    struct sk_eps_plan pl;
    /* no pods: one placeholder, then nothing to do */
    json_t *none = json_array();
    sk_eps_reconcile(s, none, none, node_fn, NULL, 100, &pl);
    CHECK_INT(json_array_size(pl.create), 1);
    json_t *ph = json_array_get(pl.create, 0);
    CHECK_STR(sk_json_path_str(ph, "metadata.generateName"), "web-");
    CHECK_STR(sk_json_str(sk_json_path(ph, "metadata.labels"), "kubernetes.io/service-name"), "web");
    CHECK_STR(sk_json_str(sk_json_path(ph, "metadata.labels"), "endpointslice.kubernetes.io/managed-by"),
              "endpointslice-controller.k8s.io");
    CHECK_STR(sk_json_str(sk_json_path(ph, "metadata.labels"), "app"), "web");
    CHECK(json_is_true(sk_json_path(json_array_get(sk_json_path(ph, "metadata.ownerReferences"), 0), "controller")));
    CHECK_STR(sk_json_str(ph, "addressType"), "IPv4");
    json_t *cur = apply_plan(&pl, none);
    sk_eps_plan_release(&pl);
    sk_eps_reconcile(s, none, cur, node_fn, NULL, 100, &pl);
    CHECK_INT(json_array_size(pl.create) + json_array_size(pl.update) + json_array_size(pl.del), 0);
    sk_eps_plan_release(&pl);

    /* 250 pods: the placeholder is reused, 3 slices of at most 100 */
    json_t *pods = pods_n(250, 0);
    sk_eps_reconcile(s, pods, cur, node_fn, NULL, 100, &pl);
    CHECK_INT(json_array_size(pl.update), 1);
    CHECK_INT(json_array_size(pl.create), 2);
    CHECK_INT(json_array_size(pl.del), 0);
    json_t *next = apply_plan(&pl, cur);
    json_decref(cur);
    cur = next;
    sk_eps_plan_release(&pl);
    CHECK_INT(json_array_size(cur), 3);
    CHECK_INT(total_endpoints(cur), 250);
    json_t *sl0 = json_array_get(cur, 0);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(json_object_get(sl0, "ports"), 0), "port")), 8080);
    CHECK_STR(sk_json_str(json_array_get(json_object_get(sl0, "ports"), 0), "name"), "http");
    /* steady state */
    sk_eps_reconcile(s, pods, cur, node_fn, NULL, 100, &pl);
    CHECK_INT(json_array_size(pl.create) + json_array_size(pl.update) + json_array_size(pl.del), 0);
    sk_eps_plan_release(&pl);
    /* one pod goes not-ready: a single slice is updated */
    json_t *p7 = json_array_get(pods, 7);
    json_object_set_new(json_array_get(sk_json_path(p7, "status.conditions"), 0), "status", json_string("False"));
    sk_eps_reconcile(s, pods, cur, node_fn, NULL, 100, &pl);
    CHECK_INT(json_array_size(pl.update), 1);
    CHECK_INT(json_array_size(pl.create) + json_array_size(pl.del), 0);
    next = apply_plan(&pl, cur);
    json_decref(cur);
    cur = next;
    sk_eps_plan_release(&pl);
    CHECK_INT(total_endpoints(cur), 250);
    /* 20 more pods fit into the slice with room (50 free), nothing new */
    json_t *more = pods_n(20, 250);
    json_array_extend(pods, more);
    json_decref(more);
    sk_eps_reconcile(s, pods, cur, node_fn, NULL, 100, &pl);
    CHECK_INT(json_array_size(pl.create), 0);
    CHECK_INT(json_array_size(pl.update), 1);
    next = apply_plan(&pl, cur);
    json_decref(cur);
    cur = next;
    sk_eps_plan_release(&pl);
    CHECK_INT(total_endpoints(cur), 270);
    /* all pods gone: slices deleted but one is kept as the placeholder */
    sk_eps_reconcile(s, none, cur, node_fn, NULL, 100, &pl);
    CHECK_INT(json_array_size(pl.create), 0);
    CHECK_INT(json_array_size(pl.update), 1);
    CHECK_INT(json_array_size(pl.del), 2);
    CHECK_INT(json_array_size(json_object_get(json_array_get(pl.update, 0), "endpoints")), 0);
    sk_eps_plan_release(&pl);
    json_decref(cur);
    json_decref(pods);
    json_decref(none);
    json_decref(s);
}

static void test_slice_missing_node(void)
{
    json_t *s = svc("[{\"port\":80,\"targetPort\":8080}]");
    json_t *pods = json_array();
    json_array_append_new(pods, pod("a", "10.0.0.1", true, "n1"));
    json_array_append_new(pods, pod("b", "10.0.0.2", true, "gone"));
    json_t *none = json_array();
    struct sk_eps_plan pl;
    sk_eps_reconcile(s, pods, none, node_fn, NULL, 100, &pl);
    CHECK(pl.node_missing);
    CHECK_INT(json_array_size(pl.create), 1);
    CHECK_INT(total_endpoints(pl.create), 1);
    sk_eps_plan_release(&pl);
    /* slices of another service (same name, old uid) are deleted */
    json_t *stale = J("{\"metadata\":{\"name\":\"web-old\",\"namespace\":\"default\","
                      "\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"name\":\"web\",\"uid\":\"old\"}]},"
                      "\"addressType\":\"IPv4\",\"endpoints\":[],\"ports\":null}");
    json_array_append_new(none, stale);
    sk_eps_reconcile(s, json_array_get(none, 99), none, node_fn, NULL, 100, &pl);
    CHECK_INT(json_array_size(pl.del), 1);
    CHECK_INT(json_array_size(pl.create), 1);
    sk_eps_plan_release(&pl);
    json_decref(none);
    json_decref(pods);
    json_decref(s);
}

static void test_pod_changed(void)
{
    json_t *a = pod("a", "10.0.0.1", false, "n1");
    json_t *b = json_deep_copy(a);
    bool lc;
    CHECK(!sk_ep_pod_changed(a, b, &lc));
    CHECK(!lc);
    json_object_set_new(json_array_get(sk_json_path(b, "status.conditions"), 0), "status", json_string("True"));
    CHECK(sk_ep_pod_changed(a, b, &lc));
    json_decref(b);
    b = json_deep_copy(a);
    json_object_set_new(sk_json_path(b, "metadata.labels"), "x", json_string("y"));
    CHECK(!sk_ep_pod_changed(a, b, &lc));
    CHECK(lc);
    json_decref(b);
    json_decref(a);
}

int main(void)
{
    test_find_port();
    test_included();
    test_subsets_basic();
    test_subsets_named_ports();
    test_truncate();
    test_slice_endpoint();
    test_slice_plan();
    test_slice_missing_node();
    test_pod_changed();
    return test_done();
}
