/* Pure functions of the deployment and replicaset controllers: template
 * hash (incl. the `kubectl rollout undo` round trip), fenceposts,
 * revisions, conditions, proportional scaling, status, pod ranking. */
#include "controllers/deployment_int.h"
#include "unit/test.h"

static json_t *J(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, 0, &e);
    if (!v) fprintf(stderr, "bad test json: %s: %s\n", e.text, s);
    return v;
}

/* ---- hashing ---------------------------------------------------------------- */

/* As `kubectl create deployment` sends it, before server defaulting. */
static const char *RAW_TMPL =
    "{\"metadata\":{\"labels\":{\"app\":\"kubernetes-bootcamp\"}},\"spec\":{\"containers\":"
    "[{\"name\":\"kubernetes-bootcamp\",\"image\":\"gcr.io/google-samples/kubernetes-bootcamp:v1\"}]}}";

/* As stored by the API server (defaults filled). */
static const char *STORED_TMPL =
    "{\"metadata\":{\"labels\":{\"app\":\"kubernetes-bootcamp\"}},\"spec\":{\"containers\":[{"
    "\"name\":\"kubernetes-bootcamp\",\"image\":\"gcr.io/google-samples/kubernetes-bootcamp:v1\","
    "\"resources\":{},\"terminationMessagePath\":\"/dev/termination-log\","
    "\"terminationMessagePolicy\":\"File\",\"imagePullPolicy\":\"IfNotPresent\"}],"
    "\"restartPolicy\":\"Always\",\"terminationGracePeriodSeconds\":30,\"dnsPolicy\":"
    "\"ClusterFirst\",\"securityContext\":{},\"schedulerName\":\"default-scheduler\"}}";

/* The value of kubectl's undo JSON patch: the old RS template without the
 * hash label, with creationTimestamp: null and resources: {}. */
static const char *UNDO_TMPL =
    "{\"metadata\":{\"creationTimestamp\":null,\"labels\":{\"app\":\"kubernetes-bootcamp\"}},"
    "\"spec\":{\"containers\":[{\"name\":\"kubernetes-bootcamp\",\"image\":"
    "\"gcr.io/google-samples/kubernetes-bootcamp:v1\",\"resources\":{},\"terminationMessagePath\":"
    "\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\",\"imagePullPolicy\":"
    "\"IfNotPresent\"}],\"restartPolicy\":\"Always\",\"terminationGracePeriodSeconds\":30,"
    "\"dnsPolicy\":\"ClusterFirst\",\"securityContext\":{},\"schedulerName\":\"default-scheduler\"}}";

static void test_fnv_and_encoding(void)
{
    CHECK_INT(sk_dep_fnv32a("", 0, 2166136261u), 2166136261u);
    CHECK_INT(sk_dep_fnv32a("a", 1, 2166136261u), 0xe40c292cu);
    CHECK_INT(sk_dep_fnv32a("foobar", 6, 2166136261u), 0xbf9cf968u);
    char out[16];
    sk_dep_safe_encode("2166136261", out, sizeof out);
    CHECK_STR(out, "65bb57b6b5");
    sk_dep_safe_encode("0123456789", out, sizeof out);
    CHECK_STR(out, "456789bcdf");
    sk_dep_safe_encode("12345", out, 3); /* truncates, stays terminated */
    CHECK_STR(out, "56");
}

static bool all_safe(const char *s)
{
    for (; *s; s++)
        if (!strchr("bcdfghjklmnpqrstvwxz2456789", *s)) return false;
    return true;
}

static void test_hash_undo_roundtrip(void)
{
    json_t *raw = J(RAW_TMPL), *stored = J(STORED_TMPL), *undo = J(UNDO_TMPL);
    char *h1 = sk_dep_template_hash(stored, NULL);
    char *h2 = sk_dep_template_hash(undo, NULL);
    char *h3 = sk_dep_template_hash(raw, NULL);
    CHECK_STR(h1, h2);
    CHECK_STR(h1, h3);
    CHECK(strlen(h1) >= 1 && strlen(h1) <= 10);
    CHECK(all_safe(h1));
    /* stable across runs and builds: this value is part of RS names
     * (kubernetes-bootcamp-79d5d59bf7), so normalisation changes show here */
    char *again = sk_dep_template_hash(stored, NULL);
    CHECK_STR(h1, again);
    CHECK_STR(h1, "79d5d59bf7");
    /* the RS's template carries the hash label: still the same template */
    json_t *rs_tmpl = json_deep_copy(stored);
    json_object_set_new(sk_json_path(rs_tmpl, "metadata.labels"), SK_DEP_HASH_LABEL,
                        json_string(h1));
    char *h4 = sk_dep_template_hash(rs_tmpl, NULL);
    CHECK_STR(h1, h4);
    CHECK(sk_dep_templates_equal(rs_tmpl, undo));
    CHECK(sk_dep_templates_equal(stored, raw));
    free(h1), free(h2), free(h3), free(h4), free(again);
    json_decref(raw), json_decref(stored), json_decref(undo), json_decref(rs_tmpl);
}

static void test_hash_differences(void)
{
    json_t *a = J(STORED_TMPL), *b = J(STORED_TMPL);
    json_object_set_new(json_array_get(sk_json_path(b, "spec.containers"), 0), "image",
                        json_string("jocatalin/kubernetes-bootcamp:v2"));
    char *ha = sk_dep_template_hash(a, NULL), *hb = sk_dep_template_hash(b, NULL);
    CHECK(strcmp(ha, hb) != 0);
    CHECK(!sk_dep_templates_equal(a, b));
    json_t *c0 = json_integer(0), *c1 = json_integer(1);
    char *h0 = sk_dep_template_hash(a, c0), *h1 = sk_dep_template_hash(a, c1);
    CHECK(strcmp(ha, h0) != 0); /* a collision count of 0 still salts */
    CHECK(strcmp(h0, h1) != 0);
    /* a non-default value is significant */
    json_t *d = J(STORED_TMPL);
    json_object_set_new(json_object_get(d, "spec"), "terminationGracePeriodSeconds",
                        json_integer(5));
    char *hd = sk_dep_template_hash(d, NULL);
    CHECK(strcmp(ha, hd) != 0);
    /* an empty label value is not an absent label */
    json_t *e1 = J("{\"metadata\":{\"labels\":{\"app\":\"x\",\"tier\":\"\"}}}");
    json_t *e2 = J("{\"metadata\":{\"labels\":{\"app\":\"x\"}}}");
    CHECK(!sk_dep_templates_equal(e1, e2));
    /* key order does not matter */
    json_t *o1 = J("{\"spec\":{\"containers\":[{\"name\":\"n\",\"image\":\"i:1\"}]},"
                   "\"metadata\":{\"labels\":{\"b\":\"2\",\"a\":\"1\"}}}");
    json_t *o2 = J("{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"2\"}},"
                   "\"spec\":{\"containers\":[{\"image\":\"i:1\",\"name\":\"n\"}]}}");
    char *ho1 = sk_dep_template_hash(o1, NULL), *ho2 = sk_dep_template_hash(o2, NULL);
    CHECK_STR(ho1, ho2);
    free(ha), free(hb), free(h0), free(h1), free(hd), free(ho1), free(ho2);
    json_decref(a), json_decref(b), json_decref(c0), json_decref(c1), json_decref(d);
    json_decref(e1), json_decref(e2), json_decref(o1), json_decref(o2);
}

/* ---- fenceposts ----------------------------------------------------------------- */

/* "#3" = the integer 3, anything else a string */
static json_t *intstr(const char *v)
{
    return v[0] == '#' ? json_integer(strtol(v + 1, NULL, 10)) : json_string(v);
}

static json_t *deploy(int replicas, const char *surge, const char *unavail)
{
    json_t *d = json_pack("{s:{s:s,s:s,s:i},s:{s:i,s:{s:s,s:{}}}}", "metadata", "name", "web",
                          "namespace", "default", "generation", 1, "spec", "replicas", replicas,
                          "strategy", "type", "RollingUpdate", "rollingUpdate");
    json_t *ru = sk_json_path(d, "spec.strategy.rollingUpdate");
    if (surge) json_object_set_new(ru, "maxSurge", intstr(surge));
    if (unavail) json_object_set_new(ru, "maxUnavailable", intstr(unavail));
    return d;
}

static void test_intstr_and_fenceposts(void)
{
    int32_t v, s, u;
    json_t *p25 = json_string("25%"), *i1 = json_integer(1), *bad = json_string("5");
    CHECK_INT(sk_dep_intstr(p25, 10, true, &v), 0);
    CHECK_INT(v, 3);
    CHECK_INT(sk_dep_intstr(p25, 10, false, &v), 0);
    CHECK_INT(v, 2);
    CHECK_INT(sk_dep_intstr(i1, 10, false, &v), 0);
    CHECK_INT(v, 1);
    CHECK_INT(sk_dep_intstr(NULL, 10, true, &v), 0);
    CHECK_INT(v, 0);
    CHECK_INT(sk_dep_intstr(bad, 10, true, &v), -1);
    CHECK_INT(sk_dep_fenceposts(p25, p25, 4, &s, &u), 0);
    CHECK_INT(s, 1);
    CHECK_INT(u, 1);
    json_t *z = json_string("0%"), *one = json_string("1%");
    CHECK_INT(sk_dep_fenceposts(z, one, 2, &s, &u), 0); /* both round to 0 */
    CHECK_INT(s, 0);
    CHECK_INT(u, 1);
    CHECK_INT(sk_dep_fenceposts(one, p25, 1, &s, &u), 0);
    CHECK_INT(s, 1);
    CHECK_INT(u, 0);
    json_t *d = deploy(10, "25%", "25%");
    CHECK_INT(sk_dep_max_surge(d), 3);
    CHECK_INT(sk_dep_max_unavailable(d), 2);
    json_t *d2 = deploy(3, "#0", "200%");
    CHECK_INT(sk_dep_max_unavailable(d2), 3); /* capped at replicas */
    json_t *d3 = deploy(0, "25%", "25%");
    CHECK_INT(sk_dep_max_unavailable(d3), 0);
    json_object_set_new(sk_json_path(d, "spec.strategy"), "type", json_string("Recreate"));
    CHECK_INT(sk_dep_max_surge(d), 0);
    CHECK_INT(sk_dep_max_unavailable(d), 0);
    json_decref(p25), json_decref(i1), json_decref(bad), json_decref(z), json_decref(one);
    json_decref(d), json_decref(d2), json_decref(d3);
}

/* ---- revisions ---------------------------------------------------------------------- */

static json_t *rs_with(const char *name, int replicas, const char *rev, const char *created)
{
    json_t *rs = json_pack("{s:{s:s,s:s,s:s,s:{}},s:{s:i},s:{}}", "metadata", "name", name,
                           "namespace", "default", "creationTimestamp", created, "annotations",
                           "spec", "replicas", replicas, "status");
    if (rev)
        json_object_set_new(sk_json_path(rs, "metadata.annotations"), SK_DEP_REVISION_ANN,
                            json_string(rev));
    return rs;
}

static const char *ann(const json_t *o, const char *k)
{
    return sk_json_str(sk_json_path(o, "metadata.annotations"), k);
}

static void test_revisions(void)
{
    json_t *d = deploy(4, "25%", "25%");
    json_object_set_new(json_object_get(d, "metadata"), "annotations",
                        json_pack("{s:s,s:s,s:s}", "kubernetes.io/change-cause", "v1",
                                  "kubectl.kubernetes.io/last-applied-configuration", "{}",
                                  SK_DEP_REVISION_ANN, "7"));
    json_t *rs = rs_with("web-1", 0, NULL, "2024-01-01T00:00:00Z");
    CHECK(sk_dep_set_new_rs_annotations(d, rs, "1", false));
    CHECK_STR(ann(rs, SK_DEP_REVISION_ANN), "1");
    CHECK_STR(ann(rs, "kubernetes.io/change-cause"), "v1");
    CHECK(!ann(rs, "kubectl.kubernetes.io/last-applied-configuration"));
    CHECK_STR(ann(rs, SK_DEP_DESIRED_ANN), "4");
    CHECK_STR(ann(rs, SK_DEP_MAX_ANN), "5");
    CHECK(!ann(rs, SK_DEP_HISTORY_ANN));
    CHECK(!sk_dep_set_new_rs_annotations(d, rs, "1", true)); /* nothing new */
    /* rollback onto this RS: revision 3, history keeps 1 */
    CHECK(sk_dep_set_new_rs_annotations(d, rs, "3", true));
    CHECK_STR(ann(rs, SK_DEP_REVISION_ANN), "3");
    CHECK_STR(ann(rs, SK_DEP_HISTORY_ANN), "1");
    CHECK(sk_dep_set_new_rs_annotations(d, rs, "5", true));
    CHECK_STR(ann(rs, SK_DEP_HISTORY_ANN), "1,3");
    CHECK(!sk_dep_set_new_rs_annotations(d, rs, "4", true)); /* never lowered */
    CHECK_STR(ann(rs, SK_DEP_REVISION_ANN), "5");
    json_t *a = rs_with("a", 0, "2", "2024-01-01T00:00:00Z");
    json_t *b = rs_with("b", 0, "junk", "2024-01-01T00:00:01Z");
    json_t *c = rs_with("c", 0, "9", "2024-01-01T00:00:02Z");
    json_t *v[] = {a, b, c};
    CHECK_INT(sk_dep_max_revision(v, 3), 9);
    CHECK_INT(sk_dep_revision(b), -1);
    json_t *order[] = {c, b, a};
    sk_rs_sort_by_revision(order, 3);
    CHECK_STR(sk_json_path_str(order[2], "metadata.name"), "c");
    json_decref(d), json_decref(rs), json_decref(a), json_decref(b), json_decref(c);
}

static void test_conditions(void)
{
    json_t *st = json_object();
    sk_dep_set_condition(st, "Progressing", "True", "NewReplicaSetCreated", "m1", 1000);
    json_t *c = sk_dep_condition(st, "Progressing");
    if (!c) {
        CHECK(c);
        json_decref(st);
        return;
    }
    CHECK_STR(sk_json_str(c, "lastUpdateTime"), "1970-01-01T00:16:40Z");
    sk_dep_set_condition(st, "Progressing", "True", "NewReplicaSetCreated", "m2", 2000);
    c = sk_dep_condition(st, "Progressing");
    CHECK_STR(sk_json_str(c, "message"), "m1"); /* same status and reason: untouched */
    sk_dep_set_condition(st, "Progressing", "True", "NewReplicaSetAvailable", "m3", 2000);
    c = sk_dep_condition(st, "Progressing");
    CHECK_STR(sk_json_str(c, "reason"), "NewReplicaSetAvailable");
    CHECK_STR(sk_json_str(c, "lastTransitionTime"), "1970-01-01T00:16:40Z");
    CHECK_STR(sk_json_str(c, "lastUpdateTime"), "1970-01-01T00:33:20Z");
    sk_dep_set_condition(st, "Progressing", "False", "ProgressDeadlineExceeded", "m4", 3000);
    c = sk_dep_condition(st, "Progressing");
    CHECK_STR(sk_json_str(c, "lastTransitionTime"), "1970-01-01T00:50:00Z");
    CHECK_INT(json_array_size(json_object_get(st, "conditions")), 1);
    sk_dep_remove_condition(st, "Progressing");
    CHECK(!json_object_get(st, "conditions"));
    json_decref(st);
}

/* ---- scaling ---------------------------------------------------------------------------- */

static void set_max_ann(json_t *rs, int max)
{
    char b[16];
    snprintf(b, sizeof b, "%d", max);
    json_object_set_new(sk_json_path(rs, "metadata.annotations"), SK_DEP_MAX_ANN, json_string(b));
}

static int32_t size_of(json_t **v, int32_t *sizes, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(sk_json_path_str(v[i], "metadata.name"), name)) return sizes[i];
    return -1;
}

static void test_proportional(void)
{
    /* 10 -> 15 replicas mid-rollout (surge 25%: 3 then 4) */
    json_t *d = deploy(15, "25%", "25%");
    json_t *old = rs_with("old", 8, "1", "2024-01-01T00:00:00Z");
    json_t *nrs = rs_with("new", 5, "2", "2024-01-01T00:01:00Z");
    set_max_ann(old, 13);
    set_max_ann(nrs, 13);
    json_t *v[] = {nrs, old};
    int32_t sizes[2];
    CHECK_STR(sk_dep_proportional(d, v, 2, sizes), "up");
    CHECK_INT(size_of(v, sizes, 2, "old"), 12);
    CHECK_INT(size_of(v, sizes, 2, "new"), 7);
    CHECK_STR(sk_json_path_str(v[0], "metadata.name"), "old"); /* largest first */
    /* 10 -> 5: surge 2, allowed 7 */
    json_object_set_new(json_object_get(d, "spec"), "replicas", json_integer(5));
    CHECK_STR(sk_dep_proportional(d, v, 2, sizes), "down");
    CHECK_INT(size_of(v, sizes, 2, "old"), 4);
    CHECK_INT(size_of(v, sizes, 2, "new"), 3);
    /* to zero */
    json_object_set_new(json_object_get(d, "spec"), "replicas", json_integer(0));
    CHECK_STR(sk_dep_proportional(d, v, 2, sizes), "down");
    CHECK_INT(sizes[0] + sizes[1], 0);
    /* equal sizes: scaling up favours the newer RS with the leftover */
    json_t *a = rs_with("a", 2, "1", "2024-01-01T00:00:00Z");
    json_t *b = rs_with("b", 2, "2", "2024-01-01T00:01:00Z");
    set_max_ann(a, 4);
    set_max_ann(b, 4);
    json_t *d2 = deploy(4, "#1", "#0");
    json_t *w[] = {a, b};
    CHECK_STR(sk_dep_proportional(d2, w, 2, sizes), "up"); /* allowed 5, have 4 */
    CHECK_STR(sk_json_path_str(w[0], "metadata.name"), "b");
    CHECK_INT(size_of(w, sizes, 2, "b"), 3);
    CHECK_INT(size_of(w, sizes, 2, "a"), 2);
    /* nothing to add: sizes unchanged */
    json_object_set_new(json_object_get(d2, "spec"), "replicas", json_integer(3));
    CHECK_STR(sk_dep_proportional(d2, w, 2, sizes), "");
    CHECK_INT(sizes[0] + sizes[1], 4);
    json_decref(d), json_decref(old), json_decref(nrs), json_decref(a), json_decref(b);
    json_decref(d2);
}

static void test_new_rs_replicas(void)
{
    json_t *d = deploy(4, "25%", "25%");
    json_t *old = rs_with("old", 4, "1", "2024-01-01T00:00:00Z");
    json_t *nrs = rs_with("new", 0, NULL, "2024-01-01T00:01:00Z");
    json_t *all[] = {old, nrs};
    CHECK_INT(sk_dep_new_rs_replicas(d, all, 2, nrs), 1); /* 4 + surge 1 */
    json_object_set_new(json_object_get(old, "spec"), "replicas", json_integer(2));
    CHECK_INT(sk_dep_new_rs_replicas(d, all, 2, nrs), 3);
    json_object_set_new(json_object_get(old, "spec"), "replicas", json_integer(0));
    CHECK_INT(sk_dep_new_rs_replicas(d, all, 2, nrs), 4); /* never above replicas */
    json_object_set_new(sk_json_path(d, "spec.strategy"), "type", json_string("Recreate"));
    CHECK_INT(sk_dep_new_rs_replicas(d, all, 2, nrs), 4);
    json_decref(d), json_decref(old), json_decref(nrs);
}

static void test_status(void)
{
    json_t *d = deploy(4, "25%", "25%");
    json_object_set_new(json_object_get(d, "metadata"), "generation", json_integer(3));
    json_t *old = rs_with("old", 1, "1", "2024-01-01T00:00:00Z");
    json_t *nrs = rs_with("new", 4, "2", "2024-01-01T00:01:00Z");
    json_object_set_new(old, "status", json_pack("{s:i,s:i,s:i}", "replicas", 1,
                                                 "readyReplicas", 1, "availableReplicas", 1));
    json_object_set_new(nrs, "status", json_pack("{s:i,s:i,s:i}", "replicas", 4,
                                                 "readyReplicas", 2, "availableReplicas", 2));
    json_t *all[] = {old, nrs};
    json_t *st = sk_dep_calc_status(d, all, 2, nrs, 100);
    CHECK_INT(sk_jint(st, "observedGeneration", 0), 3);
    CHECK_INT(sk_jint(st, "replicas", 0), 5);
    CHECK_INT(sk_jint(st, "updatedReplicas", 0), 4);
    CHECK_INT(sk_jint(st, "readyReplicas", 0), 3);
    CHECK_INT(sk_jint(st, "availableReplicas", 0), 3);
    CHECK_INT(sk_jint(st, "unavailableReplicas", 0), 2);
    CHECK_STR(sk_json_str(sk_dep_condition(st, "Available"), "reason"), "MinimumReplicasAvailable");
    CHECK(!sk_dep_complete(d, st));
    CHECK(sk_dep_progressing(d, st)); /* old status was empty */
    json_t *st2 = json_deep_copy(st);
    json_object_set_new(st2, "readyReplicas", json_integer(3));
    CHECK(sk_dep_status_equal(st, st2));
    json_object_set_new(st2, "extra", json_integer(0)); /* zero = omitted */
    CHECK(sk_dep_status_equal(st, st2));
    json_object_set_new(st2, "readyReplicas", json_integer(4));
    CHECK(!sk_dep_status_equal(st, st2));
    /* availability below replicas - maxUnavailable */
    json_object_set_new(json_object_get(nrs, "status"), "availableReplicas", json_integer(0));
    json_t *st3 = sk_dep_calc_status(d, all, 2, nrs, 100);
    CHECK_STR(sk_json_str(sk_dep_condition(st3, "Available"), "status"), "False");
    json_decref(d), json_decref(old), json_decref(nrs), json_decref(st), json_decref(st2);
    json_decref(st3);
}

static void test_timeout(void)
{
    json_t *d = deploy(2, "25%", "25%");
    json_object_set_new(json_object_get(d, "spec"), "progressDeadlineSeconds", json_integer(600));
    json_t *st = json_object();
    CHECK(!sk_dep_timed_out(d, st, 5000)); /* no condition: no base */
    sk_dep_set_condition(st, "Progressing", "True", "ReplicaSetUpdated", "m", 1000);
    CHECK(!sk_dep_timed_out(d, st, 1600));
    CHECK(sk_dep_timed_out(d, st, 1601));
    sk_dep_set_condition(st, "Progressing", "True", "NewReplicaSetAvailable", "m", 1000);
    CHECK(!sk_dep_timed_out(d, st, 99999));
    json_object_set_new(json_object_get(d, "spec"), "progressDeadlineSeconds",
                        json_integer(2147483647));
    CHECK(!sk_dep_has_progress_deadline(d));
    json_decref(d), json_decref(st);
}

/* ---- pods ------------------------------------------------------------------------------- */

static json_t *pod(const char *name, const char *node, const char *phase, bool ready,
                   const char *created)
{
    return json_pack("{s:{s:s,s:s,s:s},s:{s:s},s:{s:s,s:[{s:s,s:s,s:s}]}}", "metadata", "name",
                     name, "uid", name, "creationTimestamp", created, "spec", "nodeName", node,
                     "status", "phase", phase, "conditions", "type", "Ready", "status",
                     ready ? "True" : "False", "lastTransitionTime", created);
}

static void test_pod_ranking(void)
{
    json_t *ready_old = pod("ready-old", "n1", "Running", true, "2024-01-01T00:00:00Z");
    json_t *ready_new = pod("ready-new", "n1", "Running", true, "2024-01-01T05:00:00Z");
    json_t *notready = pod("notready", "n1", "Running", false, "2024-01-01T00:00:00Z");
    json_t *pending = pod("pending", "n1", "Pending", false, "2024-01-01T00:00:00Z");
    json_t *unsched = pod("unsched", "", "Pending", false, "2024-01-01T00:00:00Z");
    const json_t *v[] = {ready_old, ready_new, notready, pending, unsched};
    sk_pods_sort_for_deletion(v, 5, NULL, sk_time_parse("2024-01-02T00:00:00Z"));
    CHECK_STR(sk_json_path_str(v[0], "metadata.name"), "unsched");
    CHECK_STR(sk_json_path_str(v[1], "metadata.name"), "pending");
    CHECK_STR(sk_json_path_str(v[2], "metadata.name"), "notready");
    CHECK_STR(sk_json_path_str(v[3], "metadata.name"), "ready-new");
    CHECK_STR(sk_json_path_str(v[4], "metadata.name"), "ready-old");
    /* doubled-up pods go first */
    json_t *a = pod("a", "n1", "Running", true, "2024-01-01T00:00:00Z");
    json_t *b = pod("b", "n2", "Running", true, "2024-01-01T00:00:00Z");
    json_t *c = pod("c", "n2", "Running", true, "2024-01-01T00:00:00Z");
    json_t *related = json_pack("[O,O,O]", a, b, c);
    const json_t *w[] = {a, b};
    int rank[2];
    sk_pods_rank_by_node(w, 2, related, rank);
    CHECK_INT(rank[0], 1);
    CHECK_INT(rank[1], 2);
    sk_pods_sort_for_deletion(w, 2, rank, 0);
    CHECK_STR(sk_json_path_str(w[0], "metadata.name"), "b");
    CHECK(sk_pod_is_available(a, 0, 0));
    CHECK(!sk_pod_is_available(a, 10, sk_time_parse("2024-01-01T00:00:10Z")));
    CHECK(sk_pod_is_available(a, 10, sk_time_parse("2024-01-01T00:00:11Z")));
    CHECK(!sk_pod_is_available(notready, 0, 0));
    json_decref(ready_old), json_decref(ready_new), json_decref(notready);
    json_decref(pending), json_decref(unsched), json_decref(a), json_decref(b), json_decref(c);
    json_decref(related);
}

static void test_pod_from_template(void)
{
    json_t *t = J(STORED_TMPL);
    json_object_set_new(sk_json_path(t, "metadata.labels"), SK_DEP_HASH_LABEL, json_string("h"));
    json_t *owner = json_pack("{s:{s:s,s:s}}", "metadata", "name", "web-h", "uid", "u1");
    json_t *ref = sk_controller_ref_new(owner, "apps/v1", "ReplicaSet");
    json_t *p = sk_pod_from_template(t, "web-h", "default", ref);
    CHECK_STR(sk_json_path_str(p, "metadata.generateName"), "web-h-");
    CHECK_STR(sk_json_path_str(p, "metadata.labels.pod-template-hash"), "h");
    CHECK(sk_controlled_by(p, "u1"));
    json_t *r = json_array_get(sk_json_path(p, "metadata.ownerReferences"), 0);
    CHECK_STR(sk_json_str(r, "kind"), "ReplicaSet");
    CHECK(json_is_true(json_object_get(r, "blockOwnerDeletion")));
    CHECK_STR(sk_json_path_str(p, "spec.dnsPolicy"), "ClusterFirst");
    json_decref(t), json_decref(owner), json_decref(ref), json_decref(p);
}

int main(void)
{
    test_fnv_and_encoding();
    test_hash_undo_roundtrip();
    test_hash_differences();
    test_intstr_and_fenceposts();
    test_revisions();
    test_conditions();
    test_proportional();
    test_new_rs_replicas();
    test_status();
    test_timeout();
    test_pod_ranking();
    test_pod_from_template();
    return test_done();
}
