/* The node agent core's pure parts: back-off, Go durations, runtime ids and
 * user data, resolv.conf / hosts generation, registry credentials, pod
 * phase, conditions and container statuses. No root, no server. */
#include "kubelet/agent_core.h"
#include "unit/test.h"

#include <string.h>

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j) fprintf(stderr, "bad test JSON: %s: %s\n", e.text, text);
    return j;
}

static void test_backoff(void)
{
    struct sk_ag_backoff b = {0};
    int64_t t = 1000000, max = SK_AG_CRASH_MAX_MS;
    CHECK(!sk_ag_backoff_active(&b, t, t, max));
    sk_ag_backoff_next(&b, t, 10000, max); /* first restart right away, then 10 s */
    CHECK_INT(b.delay_ms, 10000);
    CHECK(sk_ag_backoff_active(&b, t + 5000, t + 1000, max));
    CHECK(!sk_ag_backoff_active(&b, t + 12000, t + 1000, max));
    sk_ag_backoff_next(&b, t + 12000, 10000, max);
    CHECK_INT(b.delay_ms, 20000);
    for (int i = 0; i < 10; i++) sk_ag_backoff_next(&b, t + 13000 + i, 10000, max);
    CHECK_INT(b.delay_ms, max);
    /* idle for more than 2*max (the container ran 10 minutes): reset */
    int64_t later = t + 13010 + 2 * max + 1;
    CHECK(!sk_ag_backoff_active(&b, later, later, max));
    sk_ag_backoff_next(&b, later, 10000, max);
    CHECK_INT(b.delay_ms, 10000);
}

static void test_durations(void)
{
    static const struct { int64_t ms; const char *s; } cases[] = {
        {0, "0s"}, {523, "523ms"}, {1000, "1s"}, {1200, "1.2s"}, {1234, "1.234s"}, {10000, "10s"},
        {80000, "1m20s"}, {160000, "2m40s"}, {300000, "5m0s"}, {3600000, "1h0m0s"}, {61250, "1m1.25s"}};
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) {
        char out[32];
        sk_ag_go_duration(cases[i].ms, out, sizeof out);
        CHECK_STR(out, cases[i].s);
    }
}

static void test_ids(void)
{
    char id[80], id2[80];
    const char *uid = "3f2a9c1e-55b4-4d1e-9a57-0e2f6f1a7b88";
    sk_ag_ctr_id(uid, "web", 0, id, sizeof id);
    sk_ag_ctr_id(uid, "web", 3, id2, sizeof id2);
    CHECK(strlen(id) <= 64);
    CHECK(!strncmp(id, "3f2a9c1e55b4", 12));
    CHECK(strcmp(id, id2) != 0);
    CHECK(!strcmp(id2 + strlen(id2) - 2, "-3"));
    for (const char *p = id; *p; p++) CHECK(strchr("abcdefghijklmnopqrstuvwxyz0123456789-", *p) != NULL);
    sk_ag_ctr_id(uid, "sidecar", 0, id2, sizeof id2);
    CHECK(strcmp(id, id2) != 0);

    struct sk_ag_udata u = {.restart = 7, .init = true}, v;
    snprintf(u.uid, sizeof u.uid, "%s", uid);
    snprintf(u.ns, sizeof u.ns, "default");
    snprintf(u.pod, sizeof u.pod, "web-1");
    snprintf(u.ctr, sizeof u.ctr, "init");
    snprintf(u.hash, sizeof u.hash, "00ff00ff00ff00ff");
    char *s = sk_ag_udata_encode(&u, true);
    if (!s) {
        CHECK(s);
        return;
    }
    CHECK_INT(sk_ag_udata_decode(s, &v), 0);
    CHECK_STR(v.uid, uid);
    CHECK_STR(v.pod, "web-1");
    CHECK_STR(v.ctr, "init");
    CHECK_INT(v.restart, 7);
    CHECK(v.init);
    CHECK_STR(v.hash, "00ff00ff00ff00ff");
    free(s);
    CHECK_INT(sk_ag_udata_decode("not json", &v), -1);
    CHECK_INT(sk_ag_udata_decode("{\"ns\":\"x\"}", &v), -1);
    CHECK_INT(sk_ag_udata_decode(NULL, &v), -1);

    json_t *c1 = J("{\"name\":\"a\",\"image\":\"x:1\"}"), *c2 = J("{\"image\":\"x:1\",\"name\":\"a\"}");
    json_t *c3 = J("{\"name\":\"a\",\"image\":\"x:2\"}");
    char h1[24], h2[24], h3[24];
    sk_ag_spec_hash(c1, h1);
    sk_ag_spec_hash(c2, h2);
    sk_ag_spec_hash(c3, h3);
    CHECK_STR(h1, h2);
    CHECK(strcmp(h1, h3) != 0);
    json_decref(c1);
    json_decref(c2);
    json_decref(c3);
}

static const char *host_resolv = "# generated\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n"
                                 "search corp.example. lab.example\noptions rotate\n";

static void test_resolv(void)
{
    json_t *pod = J("{\"metadata\":{\"name\":\"p\",\"namespace\":\"team\"},\"spec\":{}}");
    char *r = sk_ag_resolv_conf(pod, "10.96.0.10", "cluster.local", host_resolv);
    CHECK_STR(r, "search team.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\n"
                 "nameserver 10.96.0.10\noptions ndots:5\n");
    free(r);
    /* no cluster DNS configured: the host's */
    r = sk_ag_resolv_conf(pod, NULL, NULL, host_resolv);
    CHECK_STR(r, "search corp.example lab.example\nnameserver 10.0.0.2\nnameserver 10.0.0.3\noptions rotate\n");
    free(r);
    json_decref(pod);

    /* host network + ClusterFirst = Default; ClusterFirstWithHostNet = cluster */
    pod = J("{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\"},\"spec\":{\"hostNetwork\":true}}");
    r = sk_ag_resolv_conf(pod, "10.96.0.10", "cluster.local", "nameserver 1.1.1.1\n");
    CHECK_STR(r, "nameserver 1.1.1.1\n");
    free(r);
    json_object_set_new(json_object_get(pod, "spec"), "dnsPolicy", json_string("ClusterFirstWithHostNet"));
    r = sk_ag_resolv_conf(pod, "10.96.0.10", "k8s.test", "nameserver 1.1.1.1\n");
    CHECK_STR(r, "search n.svc.k8s.test svc.k8s.test k8s.test\nnameserver 10.96.0.10\noptions ndots:5\n");
    free(r);
    json_decref(pod);

    pod = J("{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\"},\"spec\":{\"dnsPolicy\":\"None\",\"dnsConfig\":"
            "{\"nameservers\":[\"192.0.2.1\"],\"searches\":[\"a.example\"],\"options\":[{\"name\":\"ndots\",\"value\":\"2\"},"
            "{\"name\":\"edns0\"}]}}}");
    r = sk_ag_resolv_conf(pod, "10.96.0.10", "cluster.local", host_resolv);
    CHECK_STR(r, "search a.example\nnameserver 192.0.2.1\noptions ndots:2 edns0\n");
    free(r);
    /* dnsConfig merged into ClusterFirst: options override by name */
    json_object_set_new(json_object_get(pod, "spec"), "dnsPolicy", json_string("ClusterFirst"));
    r = sk_ag_resolv_conf(pod, "10.96.0.10", "cluster.local", NULL);
    CHECK_STR(r, "search n.svc.cluster.local svc.cluster.local cluster.local a.example\n"
                 "nameserver 10.96.0.10\nnameserver 192.0.2.1\noptions ndots:2 edns0\n");
    free(r);
    json_decref(pod);
}

static void test_hosts(void)
{
    json_t *pod = J("{\"metadata\":{\"name\":\"web-0\",\"namespace\":\"default\"},\"spec\":{\"hostAliases\":"
                    "[{\"ip\":\"127.0.0.1\",\"hostnames\":[\"foo.local\",\"bar.local\"]}]}}");
    char *h = sk_ag_hosts_file(pod, "10.244.0.5", "cluster.local", NULL);
    CHECK_STR(h, "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                 "fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n"
                 "10.244.0.5\tweb-0\n\n# Entries added by HostAliases.\n127.0.0.1\tfoo.local\tbar.local\n");
    free(h);
    json_decref(pod);
    pod = J("{\"metadata\":{\"name\":\"x\",\"namespace\":\"db\"},\"spec\":{\"hostname\":\"pg-0\",\"subdomain\":\"pg\"}}");
    h = sk_ag_hosts_file(pod, "10.244.0.9", "cluster.local", NULL);
    CHECK(strstr(h, "\n10.244.0.9\tpg-0.pg.db.svc.cluster.local\tpg-0\n") != NULL);
    free(h);
    char name[64];
    sk_ag_pod_hostname(pod, name, sizeof name);
    CHECK_STR(name, "pg-0");
    json_decref(pod);
    pod = J("{\"metadata\":{\"name\":\"h\",\"namespace\":\"n\"},\"spec\":{\"hostNetwork\":true}}");
    h = sk_ag_hosts_file(pod, "192.0.2.10", "cluster.local", "127.0.0.1 localhost\n192.0.2.10 node1");
    CHECK_STR(h, "# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost\n192.0.2.10 node1\n");
    free(h);
    json_decref(pod);
    /* a 70-char pod name is cut to 63, trailing '-' dropped */
    pod = J("{\"metadata\":{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbbbb\"}}");
    sk_ag_pod_hostname(pod, name, sizeof name);
    CHECK_INT(strlen(name), 62);
    json_decref(pod);
}

static void test_docker_auth(void)
{
    /* "user:secret" */
    json_t *cfg = J("{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"dXNlcjpzZWNyZXQ=\"},"
                    "\"registry.example.com:5000\":{\"username\":\"u2\",\"password\":\"p2\"},"
                    "\"*.corp.example\":{\"username\":\"w\",\"password\":\"x\"}}}");
    char *u = NULL, *p = NULL;
    CHECK_INT(sk_ag_docker_auth(cfg, "docker.io", &u, &p), 0);
    CHECK_STR(u, "user");
    CHECK_STR(p, "secret");
    free(u);
    free(p);
    CHECK_INT(sk_ag_docker_auth(cfg, "registry.example.com:5000", &u, &p), 0);
    CHECK_STR(u, "u2");
    free(u);
    free(p);
    CHECK_INT(sk_ag_docker_auth(cfg, "reg.corp.example", &u, &p), 0);
    CHECK_STR(u, "w");
    free(u);
    free(p);
    CHECK_INT(sk_ag_docker_auth(cfg, "quay.io", &u, &p), -1);
    CHECK(!u && !p);
    json_decref(cfg);
    cfg = J("{\"localhost:5000\":{\"auth\":\"bm8tY29sb24=\"}}"); /* legacy .dockercfg, "no-colon" */
    CHECK_INT(sk_ag_docker_auth(cfg, "localhost:5000", &u, &p), -1);
    json_decref(cfg);
}

static const char *phase_of(const char *pod_json, const char *init_json, const char *app_json, bool terminal)
{
    static char out[16];
    json_t *pod = J(pod_json), *init = J(init_json), *app = J(app_json);
    snprintf(out, sizeof out, "%s", sk_ag_pod_phase(pod, init, app, terminal));
    json_decref(pod);
    json_decref(init);
    json_decref(app);
    return out;
}

#define RUNNING "{\"running\":{\"startedAt\":\"2025-01-01T00:00:00Z\"}}"
#define EXIT(n) "{\"terminated\":{\"exitCode\":" #n "}}"
#define WAITING "{\"waiting\":{\"reason\":\"ContainerCreating\"}}"

static void test_phase(void)
{
    const char *one = "{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}";
    const char *never = "{\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"a\"}]}}";
    const char *onf = "{\"spec\":{\"restartPolicy\":\"OnFailure\",\"containers\":[{\"name\":\"a\"}]}}";
    const char *init = "{\"spec\":{\"initContainers\":[{\"name\":\"i\"}],\"containers\":[{\"name\":\"a\"}]}}";
    const char *init_never = "{\"spec\":{\"restartPolicy\":\"Never\",\"initContainers\":[{\"name\":\"i\"}],"
                             "\"containers\":[{\"name\":\"a\"}]}}";
    CHECK_STR(phase_of(one, "[]", "[]", false), "Pending");
    CHECK_STR(phase_of(one, "[]", "[{\"name\":\"a\",\"state\":" WAITING "}]", false), "Pending");
    CHECK_STR(phase_of(one, "[]", "[{\"name\":\"a\",\"state\":" RUNNING "}]", false), "Running");
    CHECK_STR(phase_of(one, "[]", "[{\"name\":\"a\",\"state\":" EXIT(1) "}]", false), "Running");
    /* CrashLoopBackOff: waiting with a last termination counts as stopped */
    CHECK_STR(phase_of(one, "[]", "[{\"name\":\"a\",\"state\":" WAITING ",\"lastState\":" EXIT(1) "}]", false),
              "Running");
    CHECK_STR(phase_of(never, "[]", "[{\"name\":\"a\",\"state\":" EXIT(0) "}]", false), "Succeeded");
    CHECK_STR(phase_of(never, "[]", "[{\"name\":\"a\",\"state\":" EXIT(2) "}]", false), "Failed");
    CHECK_STR(phase_of(onf, "[]", "[{\"name\":\"a\",\"state\":" EXIT(2) "}]", false), "Running");
    CHECK_STR(phase_of(onf, "[]", "[{\"name\":\"a\",\"state\":" EXIT(0) "}]", false), "Succeeded");
    CHECK_STR(phase_of(one, "[]", "[{\"name\":\"a\",\"state\":" EXIT(0) "}]", true), "Succeeded");
    CHECK_STR(phase_of(one, "[]", "[{\"name\":\"a\",\"state\":" EXIT(3) "}]", true), "Failed");
    CHECK_STR(phase_of(init, "[{\"name\":\"i\",\"state\":" RUNNING "}]", "[{\"name\":\"a\",\"state\":" WAITING "}]",
                       false), "Pending");
    CHECK_STR(phase_of(init, "[{\"name\":\"i\",\"state\":" EXIT(0) "}]", "[{\"name\":\"a\",\"state\":" RUNNING "}]",
                       false), "Running");
    CHECK_STR(phase_of(init_never, "[{\"name\":\"i\",\"state\":" EXIT(1) "}]",
                       "[{\"name\":\"a\",\"state\":" WAITING "}]", false), "Failed");
    CHECK_STR(phase_of(init, "[{\"name\":\"i\",\"state\":" WAITING ",\"lastState\":" EXIT(1) "}]",
                       "[{\"name\":\"a\",\"state\":" WAITING "}]", false), "Pending");
}

static const json_t *cond_of(const json_t *conds, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(conds, i, c) if (!strcmp(sk_json_str(c, "type"), type)) return c;
    return NULL;
}

static void test_conditions(void)
{
    json_t *pod = J("{\"spec\":{\"initContainers\":[{\"name\":\"i\"}],\"containers\":[{\"name\":\"b\"},{\"name\":\"a\"}]},"
                    "\"status\":{\"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"True\","
                    "\"lastTransitionTime\":\"2025-01-01T00:00:00Z\"},{\"type\":\"PodReadyToStartContainers\","
                    "\"status\":\"True\",\"lastTransitionTime\":\"2025-01-01T00:00:01Z\"}]}}");
    json_t *init = J("[{\"name\":\"i\",\"ready\":false,\"state\":" RUNNING "}]");
    json_t *app = J("[{\"name\":\"a\",\"ready\":false,\"state\":" WAITING "},{\"name\":\"b\",\"ready\":false,\"state\":" WAITING "}]");
    json_t *cs = sk_ag_pod_conditions(pod, init, app, "Pending", true, "2025-02-02T00:00:00Z");
    CHECK_INT(json_array_size(cs), 5);
    CHECK_STR(sk_json_str(json_array_get(cs, 0), "type"), "PodReadyToStartContainers");
    CHECK_STR(sk_json_str(json_array_get(cs, 1), "type"), "Initialized");
    CHECK_STR(sk_json_str(json_array_get(cs, 2), "type"), "Ready");
    CHECK_STR(sk_json_str(json_array_get(cs, 3), "type"), "ContainersReady");
    CHECK_STR(sk_json_str(json_array_get(cs, 4), "type"), "PodScheduled");
    /* unchanged status keeps its transition time */
    CHECK_STR(sk_json_str(cond_of(cs, "PodReadyToStartContainers"), "lastTransitionTime"), "2025-01-01T00:00:01Z");
    CHECK_STR(sk_json_str(cond_of(cs, "PodScheduled"), "lastTransitionTime"), "2025-01-01T00:00:00Z");
    const json_t *ini = cond_of(cs, "Initialized");
    CHECK_STR(sk_json_str(ini, "status"), "False");
    CHECK_STR(sk_json_str(ini, "reason"), "ContainersNotInitialized");
    CHECK_STR(sk_json_str(ini, "message"), "containers with incomplete status: [i]");
    CHECK_STR(sk_json_str(ini, "lastTransitionTime"), "2025-02-02T00:00:00Z");
    const json_t *rdy = cond_of(cs, "Ready");
    CHECK_STR(sk_json_str(rdy, "reason"), "ContainersNotReady");
    CHECK_STR(sk_json_str(rdy, "message"), "containers with unready status: [b a]");
    CHECK(json_is_null(json_object_get(rdy, "lastProbeTime")));
    json_decref(cs);
    json_decref(app);
    app = J("[{\"name\":\"a\",\"ready\":true,\"state\":" RUNNING "}]");
    cs = sk_ag_pod_conditions(pod, init, app, "Running", true, "2025-02-02T00:00:00Z");
    CHECK_STR(sk_json_str(cond_of(cs, "ContainersReady"), "message"),
              "containers with unknown status: [b]");
    CHECK_STR(sk_json_str(cond_of(cs, "Initialized"), "status"), "True"); /* a regular container started */
    json_decref(cs);
    cs = sk_ag_pod_conditions(pod, init, app, "Succeeded", false, "2025-02-02T00:00:00Z");
    CHECK_STR(sk_json_str(cond_of(cs, "PodReadyToStartContainers"), "status"), "False");
    CHECK_STR(sk_json_str(cond_of(cs, "Ready"), "reason"), "ContainersNotReady"); /* b unknown */
    json_decref(cs);
    json_decref(init);
    json_decref(app);
    json_decref(pod);
}

static void test_ctr_status(void)
{
    json_t *spec = J("{\"name\":\"web\",\"image\":\"nginx\",\"volumeMounts\":[{\"name\":\"cfg\",\"mountPath\":\"/etc/x\","
                     "\"readOnly\":true}]}");
    struct sk_ag_ctr c = {0};
    snprintf(c.name, sizeof c.name, "web");
    json_t *st = sk_ag_ctr_status_json(&c, spec, false);
    CHECK_STR(sk_json_path_str(st, "state.waiting.reason"), "ContainerCreating");
    CHECK_STR(sk_json_str(st, "image"), "nginx");
    CHECK_STR(sk_json_str(st, "imageID"), "");
    CHECK(!json_object_get(st, "containerID"));
    CHECK_STR(sk_json_str(json_array_get(json_object_get(st, "volumeMounts"), 0), "recursiveReadOnly"), "Disabled");
    json_decref(st);
    st = sk_ag_ctr_status_json(&c, spec, true);
    CHECK_STR(sk_json_path_str(st, "state.waiting.reason"), "PodInitializing");
    json_decref(st);

    /* running after one crash: lastState keeps the previous instance */
    c.have_cur = c.have_prev = true;
    c.cur = (struct sk_ag_inst){.id = "abc-1", .state = SK_RT_RUNNING, .restart = 1, .started_ms = 1735689600000};
    c.prev = (struct sk_ag_inst){.id = "abc-0", .state = SK_RT_EXITED, .exit_code = 137, .oom = true,
                                 .restart = 0, .started_ms = 1735689500000, .finished_ms = 1735689590000};
    c.ready = c.started = true;
    snprintf(c.image_id, sizeof c.image_id, "docker.io/library/nginx@sha256:00");
    st = sk_ag_ctr_status_json(&c, spec, false);
    CHECK_STR(sk_json_path_str(st, "state.running.startedAt"), "2025-01-01T00:00:00Z");
    CHECK_STR(sk_json_path_str(st, "lastState.terminated.reason"), "OOMKilled");
    CHECK_INT(json_integer_value(sk_json_path(st, "lastState.terminated.exitCode")), 137);
    CHECK_STR(sk_json_path_str(st, "lastState.terminated.containerID"), "crun://abc-0");
    CHECK_STR(sk_json_str(st, "containerID"), "crun://abc-1");
    CHECK_INT(json_integer_value(json_object_get(st, "restartCount")), 1);
    CHECK(json_is_true(json_object_get(st, "ready")));
    CHECK(json_is_true(json_object_get(st, "started")));
    json_decref(st);

    /* exited again, in back-off: waiting CrashLoopBackOff, lastState = that exit */
    c.cur.state = SK_RT_EXITED;
    c.cur.exit_code = 1;
    c.cur.finished_ms = 1735689610000;
    snprintf(c.wait_reason, sizeof c.wait_reason, "CrashLoopBackOff");
    snprintf(c.wait_msg, sizeof c.wait_msg, "back-off 10s restarting failed container=web pod=p_ns(u)");
    st = sk_ag_ctr_status_json(&c, spec, false);
    CHECK_STR(sk_json_path_str(st, "state.waiting.reason"), "CrashLoopBackOff");
    CHECK_STR(sk_json_path_str(st, "lastState.terminated.reason"), "Error");
    CHECK_STR(sk_json_path_str(st, "lastState.terminated.finishedAt"), "2025-01-01T00:00:10Z");
    CHECK(json_is_false(json_object_get(st, "ready")));
    CHECK(json_is_false(json_object_get(st, "started")));
    json_decref(st);

    /* init container done: terminated Completed and ready */
    struct sk_ag_ctr i = {.init = true, .have_cur = true};
    snprintf(i.name, sizeof i.name, "init");
    i.cur = (struct sk_ag_inst){.id = "x-0", .state = SK_RT_EXITED, .exit_code = 0, .finished_ms = 1735689600000};
    st = sk_ag_ctr_status_json(&i, spec, true);
    CHECK_STR(sk_json_path_str(st, "state.terminated.reason"), "Completed");
    CHECK(json_is_true(json_object_get(st, "ready")));
    json_decref(st);
    json_decref(spec);
}

int main(void)
{
    test_backoff();
    test_durations();
    test_ids();
    test_resolv();
    test_hosts();
    test_docker_auth();
    test_phase();
    test_conditions();
    test_ctr_status();
    return test_done();
}
