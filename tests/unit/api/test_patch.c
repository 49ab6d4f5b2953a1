/* Merge patch, JSON patch, strategic merge patch and server-side apply.
 * SMP/apply use a small schema built here (containers by name, env by
 * name, ports by containerPort) so they don't depend on the real tables. */
#include "api/patch.h"
#include "unit/test.h"

static json_t *J(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, JSON_DECODE_ANY, &e);
    if (!j) fprintf(stderr, "bad test JSON (%s): %s\n", e.text, s);
    return j;
}

static int check_json_(const char *file, int line, json_t *got, const char *want)
{
    json_t *w = J(want);
    int ok = got && w && json_equal(got, w);
    if (!ok) {
        char *g = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
        fprintf(stderr, "%s:%d: JSON mismatch\n  got:  %s\n  want: %s\n", file, line,
                g ? g : "(null)", want);
        free(g);
        test_failures++;
    }
    json_decref(w);
    return ok;
}
#define CHECK_JSON(got, want) check_json_(__FILE__, __LINE__, (got), (want))
#define REQUIRE_VOID(c)                                                               \
    do {                                                                              \
        if (!(c)) {                                                                   \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #c); \
            test_failures++;                                                          \
            return;                                                                   \
        }                                                                             \
    } while (0)

/* Same, but order-sensitive for arrays is inherent in json_equal; this
 * also checks no "$" keys survived anywhere. */
static bool has_dollar(const json_t *v)
{
    const char *k;
    json_t *c;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, c) {
            if (k[0] == '$' || has_dollar(c)) return true;
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, c) {
            if (has_dollar(c)) return true;
        }
    }
    return false;
}

/* ---- merge patch ---------------------------------------------------------- */

static void t_merge(void)
{
    static const char *const rfc[][3] = {
        {"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
        {"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
        {"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
        {"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}"},
        {"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
        {"[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"},
        {"{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"},
        {"{\"a\":\"foo\"}", "\"bar\"", "\"bar\""},
        {"{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
        {"[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
        {"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(rfc); i++) {
        json_t *t = J(rfc[i][0]), *p = J(rfc[i][1]);
        char *before = json_dumps(t, JSON_ENCODE_ANY);
        sk_err err = SK_ERR_INIT;
        json_t *r = sk_merge_patch(t, p, &err);
        CHECK_JSON(r, rfc[i][2]);
        char *after = json_dumps(t, JSON_ENCODE_ANY);
        CHECK_STR(before, after); /* input untouched */
        free(before);
        free(after);
        json_decref(r);
        json_decref(t);
        json_decref(p);
    }
    /* kubectl label / scale bodies */
    json_t *pod = J("{\"metadata\":{\"name\":\"p\",\"labels\":{\"app\":\"web\"}},\"spec\":{\"replicas\":1}}");
    json_t *p = J("{\"metadata\":{\"labels\":{\"version\":\"v1\"}}}");
    json_t *r = sk_merge_patch(pod, p, NULL);
    CHECK_JSON(r, "{\"metadata\":{\"name\":\"p\",\"labels\":{\"app\":\"web\",\"version\":\"v1\"}},"
                  "\"spec\":{\"replicas\":1}}");
    json_decref(r);
    json_decref(p);
    p = J("{\"spec\":{\"replicas\":4}}");
    r = sk_merge_patch(pod, p, NULL);
    CHECK_INT(json_integer_value(sk_json_path(r, "spec.replicas")), 4);
    json_decref(r);
    json_decref(p);
    /* null patch is rejected as upstream; NULL target is fine */
    sk_err err = SK_ERR_INIT;
    json_t *jn = json_null();
    CHECK(sk_merge_patch(pod, jn, &err) == NULL);
    CHECK_INT(err.code, SK_EBADREQUEST);
    CHECK_STR(err.msg, "Invalid JSON Patch");
    p = J("{\"a\":{\"b\":null,\"c\":1}}");
    r = sk_merge_patch(NULL, p, NULL);
    CHECK_JSON(r, "{\"a\":{\"c\":1}}");
    json_decref(r);
    json_decref(p);
    json_decref(pod);
}

/* ---- JSON patch ----------------------------------------------------------- */

static json_t *jp(const char *doc, const char *ops, sk_err *err)
{
    json_t *d = J(doc), *o = J(ops);
    json_t *r = sk_json_patch(d, o, err);
    json_decref(d);
    json_decref(o);
    return r;
}

#define JP_OK(doc, ops, want)                            \
    do {                                                 \
        sk_err e_ = SK_ERR_INIT;                         \
        json_t *r_ = jp(doc, ops, &e_);                  \
        if (!r_) fprintf(stderr, "  err: %s\n", e_.msg); \
        CHECK_JSON(r_, want);                            \
        json_decref(r_);                                 \
    } while (0)

#define JP_ERR(doc, ops, ecode, emsg)           \
    do {                                      \
        sk_err e_ = SK_ERR_INIT;              \
        json_t *r_ = jp(doc, ops, &e_);       \
        CHECK(r_ == NULL);                    \
        json_decref(r_);                      \
        CHECK_INT(e_.code, ecode);             \
        if (emsg) CHECK_STR(e_.msg, emsg);      \
        sk_err_clear(&e_);                    \
    } while (0)

static void t_json_patch_rfc(void)
{
    /* RFC 6902 appendix A */
    JP_OK("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
          "{\"baz\":\"qux\",\"foo\":\"bar\"}");
    JP_OK("{\"foo\":[\"bar\",\"baz\"]}", "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
          "{\"foo\":[\"bar\",\"qux\",\"baz\"]}");
    JP_OK("{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]",
          "{\"foo\":\"bar\"}");
    JP_OK("{\"foo\":[\"bar\",\"qux\",\"baz\"]}", "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]",
          "{\"foo\":[\"bar\",\"baz\"]}");
    JP_OK("{\"baz\":\"qux\",\"foo\":\"bar\"}",
          "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
          "{\"baz\":\"boo\",\"foo\":\"bar\"}");
    JP_OK("{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
          "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
          "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}");
    JP_OK("{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
          "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
          "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}");
    JP_OK("{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
          "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},"
          "{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
          "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}");
    JP_ERR("{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]",
           SK_EINVALID, "testing value /baz failed: test failed");
    JP_OK("{\"foo\":\"bar\"}",
          "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
          "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}");
    JP_OK("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"xyz\":123}]",
          "{\"foo\":\"bar\",\"baz\":\"qux\"}");
    JP_ERR("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]",
           SK_EINVALID,
           "add operation does not apply: doc is missing path: \"/baz/bat\": missing value");
    JP_OK("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]",
          "{\"/\":9,\"~1\":10}");
    JP_ERR("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]",
           SK_EINVALID, NULL);
    JP_OK("{\"foo\":[\"bar\"]}", "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
          "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}");
    JP_OK("{\"a/b\":1,\"m~n\":2}",
          "[{\"op\":\"replace\",\"path\":\"/a~1b\",\"value\":3},{\"op\":\"remove\",\"path\":\"/m~0n\"}]",
          "{\"a/b\":3}");
}

static void t_json_patch_more(void)
{
    /* kubectl rollout undo */
    JP_OK("{\"metadata\":{\"annotations\":{\"deployment.kubernetes.io/revision\":\"2\"}},"
          "\"spec\":{\"replicas\":2,\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"v2\"}]}}}}",
          "[{\"op\":\"replace\",\"path\":\"/spec/template\",\"value\":{\"metadata\":{\"creationTimestamp\":null,"
          "\"labels\":{\"app\":\"w\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"v1\",\"resources\":{}}]}}},"
          "{\"op\":\"replace\",\"path\":\"/metadata/annotations\",\"value\":{\"deployment.kubernetes.io/revision\":\"1\"}}]",
          "{\"metadata\":{\"annotations\":{\"deployment.kubernetes.io/revision\":\"1\"}},"
          "\"spec\":{\"replicas\":2,\"template\":{\"metadata\":{\"creationTimestamp\":null,\"labels\":{\"app\":\"w\"}},"
          "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"v1\",\"resources\":{}}]}}}}");
    /* upstream v4: replace of a missing member adds it */
    JP_OK("{\"spec\":{}}", "[{\"op\":\"replace\",\"path\":\"/spec/x\",\"value\":1}]", "{\"spec\":{\"x\":1}}");
    JP_ERR("{\"spec\":{}}", "[{\"op\":\"replace\",\"path\":\"/spec/foo/bar\",\"value\":1}]", SK_EINVALID,
           "replace operation does not apply: doc is missing path: /spec/foo/bar: missing value");
    JP_ERR("{\"a\":[1]}", "[{\"op\":\"replace\",\"path\":\"/a/5\",\"value\":1}]", SK_EINVALID,
           "replace operation does not apply: doc is missing key: /a/5: missing value");
    JP_ERR("{\"a\":{}}", "[{\"op\":\"remove\",\"path\":\"/a/x\"}]", SK_EINVALID,
           "error in remove for path: '/a/x': Unable to remove nonexistent key: x: missing value");
    JP_ERR("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/3\",\"value\":1}]", SK_EINVALID,
           "error in add for path: '/a/3': Unable to access invalid index: 3: invalid index referenced");
    JP_ERR("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/x\",\"value\":1}]", SK_EINVALID, NULL);
    JP_ERR("{\"a\":[1]}", "[{\"op\":\"remove\",\"path\":\"/a/-1\"}]", SK_EINVALID, NULL);
    JP_OK("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/1\",\"value\":2},{\"op\":\"add\",\"path\":\"/a/0\",\"value\":0}]",
          "{\"a\":[0,1,2]}");
    JP_OK("{\"a\":{\"b\":[1,{\"c\":2}]}}", "[{\"op\":\"copy\",\"from\":\"/a/b/1\",\"path\":\"/d\"}]",
          "{\"a\":{\"b\":[1,{\"c\":2}]},\"d\":{\"c\":2}}");
    JP_OK("{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a\"}]", "{\"a\":1}");
    JP_ERR("{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b/c\"}]", SK_EINVALID, NULL);
    JP_OK("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"\",\"value\":{\"b\":2}}]", "{\"b\":2}");
    JP_OK("{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/missing\",\"value\":null}]", "{\"a\":1}");
    JP_OK("{\"a\":1}", "[]", "{\"a\":1}");
    /* malformed patches are 400 */
    JP_ERR("{}", "{\"op\":\"add\"}", SK_EBADREQUEST,
           "json: cannot unmarshal object into Go value of type jsonpatch.Patch");
    JP_ERR("{}", "[1]", SK_EBADREQUEST, NULL);
    JP_ERR("{}", "[{\"op\":\"frob\",\"path\":\"/a\"}]", SK_EBADREQUEST, "Unexpected kind: frob");
    JP_ERR("{}", "[{\"path\":\"/a\"}]", SK_EBADREQUEST, "Unexpected kind: unknown");
    JP_ERR("{}", "[{\"op\":\"add\",\"value\":1}]", SK_EBADREQUEST, NULL);
    JP_ERR("{}", "[{\"op\":\"add\",\"path\":\"/a\"}]", SK_EBADREQUEST, NULL);
    JP_ERR("{}", "[{\"op\":\"move\",\"path\":\"/a\"}]", SK_EBADREQUEST, NULL);
    JP_ERR("{}", "[{\"op\":\"add\",\"path\":\"a\",\"value\":1}]", SK_EINVALID, NULL);
    /* a failing op leaves no partial result and the input untouched */
    json_t *doc = J("{\"a\":1}");
    json_t *ops = J("[{\"op\":\"add\",\"path\":\"/b\",\"value\":2},{\"op\":\"remove\",\"path\":\"/zz\"}]");
    CHECK(sk_json_patch(doc, ops, NULL) == NULL);
    CHECK_JSON(doc, "{\"a\":1}");
    json_decref(ops);
    /* caps: operation count, copy growth, depth */
    ops = json_array();
    for (int i = 0; i < 10001; i++)
        json_array_append_new(ops, json_pack("{ss ss}", "op", "test", "path", "/a"));
    sk_err err = SK_ERR_INIT;
    CHECK(sk_json_patch(doc, ops, &err) == NULL);
    CHECK_INT(err.code, SK_ETOOLARGE);
    CHECK_STR(err.msg, "The allowed maximum operations in a JSON patch is 10000, got 10001");
    json_decref(ops);
    ops = json_array();
    json_array_append_new(ops, J("{\"op\":\"add\",\"path\":\"/x\",\"value\":[1,2,3,4,5,6,7,8]}"));
    for (int i = 0; i < 40; i++)
        json_array_append_new(ops, J("{\"op\":\"copy\",\"from\":\"/x\",\"path\":\"/x/0\"}"));
    err = (sk_err)SK_ERR_INIT;
    CHECK(sk_json_patch(doc, ops, &err) == NULL);
    CHECK_INT(err.code, SK_EINVALID);
    json_decref(ops);
    json_decref(doc);
}

/* ---- strategic merge patch ------------------------------------------------ */

static const struct sk_field env_fields[] = {
    {"name", 1, SK_F_STRING, 0, NULL, NULL, NULL, NULL},
    {"value", 2, SK_F_STRING, 0, NULL, NULL, NULL, NULL},
};
static const struct sk_type env_t = {"EnvVar", NULL, env_fields, 2, NULL, NULL, NULL, false};
static const struct sk_field port_fields[] = {
    {"name", 1, SK_F_STRING, 0, NULL, NULL, NULL, NULL},
    {"containerPort", 3, SK_F_INT, 0, NULL, NULL, NULL, NULL},
    {"protocol", 4, SK_F_STRING, 0, NULL, NULL, NULL, NULL},
};
static const struct sk_type port_t = {"ContainerPort", NULL, port_fields, 3, NULL, NULL, NULL, false};
static const struct sk_field ctr_fields[] = {
    {"name", 1, SK_F_STRING, 0, NULL, NULL, NULL, NULL},
    {"image", 2, SK_F_STRING, 0, NULL, NULL, NULL, NULL},
    {"args", 4, SK_F_STRING, SK_FL_REPEATED, NULL, NULL, NULL, NULL},
    {"ports", 6, SK_F_MSG, SK_FL_REPEATED, &port_t, "containerPort", "merge", NULL},
    {"env", 7, SK_F_MSG, SK_FL_REPEATED, &env_t, "name", "merge", NULL},
};
static const struct sk_type ctr_t = {"Container", NULL, ctr_fields, 5, NULL, NULL, NULL, false};
static const struct sk_field vol_fields[] = {
    {"name", 1, SK_F_STRING, 0, NULL, NULL, NULL, NULL},
    {"hostPath", 2, SK_F_RAW, 0, NULL, NULL, NULL, NULL},
    {"emptyDir", 3, SK_F_RAW, 0, NULL, NULL, NULL, NULL},
};
static const struct sk_type vol_t = {"Volume", NULL, vol_fields, 3, NULL, NULL, NULL, false};
static const struct sk_field podspec_fields[] = {
    {"volumes", 1, SK_F_MSG, SK_FL_REPEATED, &vol_t, "name", "merge,retainKeys", NULL},
    {"containers", 2, SK_F_MSG, SK_FL_REPEATED, &ctr_t, "name", "merge", NULL},
    {"nodeSelector", 7, SK_F_STRING, SK_FL_MAP, NULL, NULL, NULL, NULL},
};
static const struct sk_type podspec_t = {"PodSpec", NULL, podspec_fields, 3, NULL, NULL, NULL, false};
static const struct sk_field meta_fields[] = {
    {"name", 1, SK_F_STRING, 0, NULL, NULL, NULL, NULL},
    {"labels", 11, SK_F_STRING, SK_FL_MAP, NULL, NULL, NULL, NULL},
    {"annotations", 12, SK_F_STRING, SK_FL_MAP, NULL, NULL, NULL, NULL},
    {"finalizers", 14, SK_F_STRING, SK_FL_REPEATED, NULL, NULL, "merge", NULL},
};
static const struct sk_type meta_t = {"ObjectMeta", NULL, meta_fields, 4, NULL, NULL, NULL, false};
static const struct sk_field tmpl_fields[] = {
    {"metadata", 1, SK_F_MSG, 0, &meta_t, NULL, NULL, NULL},
    {"spec", 2, SK_F_MSG, 0, &podspec_t, NULL, NULL, NULL},
};
static const struct sk_type tmpl_t = {"PodTemplateSpec", NULL, tmpl_fields, 2, NULL, NULL, NULL, false};
static const struct sk_field strat_fields[] = {
    {"type", 1, SK_F_STRING, 0, NULL, NULL, NULL, NULL},
    {"rollingUpdate", 2, SK_F_RAW, 0, NULL, NULL, NULL, NULL},
};
static const struct sk_type strat_t = {"DeploymentStrategy", NULL, strat_fields, 2, NULL, NULL, NULL, false};
static const struct sk_field dspec_fields[] = {
    {"replicas", 1, SK_F_INT, 0, NULL, NULL, NULL, NULL},
    {"template", 3, SK_F_MSG, 0, &tmpl_t, NULL, NULL, NULL},
    {"strategy", 4, SK_F_MSG, 0, &strat_t, NULL, "retainKeys", NULL},
};
static const struct sk_type dspec_t = {"DeploymentSpec", NULL, dspec_fields, 3, NULL, NULL, NULL, false};
static const struct sk_field deploy_fields[] = {
    {"metadata", 1, SK_F_MSG, 0, &meta_t, NULL, NULL, NULL},
    {"spec", 2, SK_F_MSG, 0, &dspec_t, NULL, NULL, NULL},
};
static const struct sk_type deploy_t = {"Deployment", NULL, deploy_fields, 2, "apps", "v1", "Deployment", false};

static const char *const live_deploy =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
    "\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"web\"},\"finalizers\":[\"a\",\"b\"]},"
    "\"spec\":{\"replicas\":1,\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":1}},"
    "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
    "\"volumes\":[{\"name\":\"v1\",\"emptyDir\":{}}],"
    "\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1\",\"args\":[\"x\",\"y\"],"
    "\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"},{\"containerPort\":443}],"
    "\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"}]},"
    "{\"name\":\"side\",\"image\":\"busybox\"}]}}}}";

static json_t *smp(const char *patch, sk_err *err)
{
    json_t *d = J(live_deploy), *p = J(patch);
    char *before = json_dumps(d, JSON_SORT_KEYS), *pbefore = json_dumps(p, JSON_SORT_KEYS);
    json_t *r = sk_strategic_merge_patch(d, p, &deploy_t, err);
    char *after = json_dumps(d, JSON_SORT_KEYS), *pafter = json_dumps(p, JSON_SORT_KEYS);
    CHECK_STR(before, after);
    CHECK_STR(pbefore, pafter);
    if (r) CHECK(!has_dollar(r));
    free(before);
    free(after);
    free(pbefore);
    free(pafter);
    json_decref(d);
    json_decref(p);
    return r;
}

static json_t *at(json_t *r, const char *path) { return sk_json_path(r, path); }

static void t_smp_kubectl(void)
{
    /* kubectl set image */
    json_t *r = smp("{\"spec\":{\"template\":{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"web\"}],"
                    "\"containers\":[{\"image\":\"nginx:2\",\"name\":\"web\"}]}}}}", NULL);
    REQUIRE_VOID(r);
    json_t *c = at(r, "spec.template.spec.containers");
    CHECK_INT(json_array_size(c), 2);
    CHECK_STR(sk_json_str(json_array_get(c, 0), "image"), "nginx:2");
    CHECK_STR(sk_json_str(json_array_get(c, 0), "name"), "web");
    CHECK_INT(json_array_size(json_object_get(json_array_get(c, 0), "env")), 2);
    CHECK_STR(sk_json_str(json_array_get(c, 1), "name"), "side");
    json_decref(r);
    /* kubectl edit */
    r = smp("{\"spec\":{\"replicas\":5}}", NULL);
    CHECK_INT(json_integer_value(at(r, "spec.replicas")), 5);
    CHECK_STR(sk_json_path_str(r, "spec.strategy.type"), "RollingUpdate");
    json_decref(r);
    /* kubectl apply (client side): diff + setElementOrder + last-applied */
    r = smp("{\"metadata\":{\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"{}\\n\"}},"
            "\"spec\":{\"replicas\":3,\"template\":{\"spec\":{\"$setElementOrder/containers\":"
            "[{\"name\":\"side\"},{\"name\":\"web\"}],\"containers\":[{\"env\":[{\"name\":\"C\",\"value\":\"3\"}],"
            "\"$setElementOrder/env\":[{\"name\":\"A\"},{\"name\":\"C\"}],\"name\":\"web\"},{\"$patch\":\"delete\",\"name\":\"nope\"}]}}}}",
            NULL);
    REQUIRE_VOID(r);
    c = at(r, "spec.template.spec.containers");
    CHECK_STR(sk_json_str(json_array_get(c, 0), "name"), "side");
    CHECK_STR(sk_json_str(json_array_get(c, 1), "name"), "web");
    CHECK_JSON(json_object_get(json_array_get(c, 1), "env"),
               "[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"C\",\"value\":\"3\"},{\"name\":\"B\",\"value\":\"2\"}]");
    CHECK(json_object_get(at(r, "metadata.annotations"), "kubectl.kubernetes.io/last-applied-configuration"));
    CHECK_INT(json_integer_value(at(r, "spec.replicas")), 3);
    json_decref(r);
    /* kubectl apply removing an env var and a container */
    r = smp("{\"spec\":{\"template\":{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"web\"}],"
            "\"containers\":[{\"$setElementOrder/env\":[{\"name\":\"A\"}],\"env\":[{\"$patch\":\"delete\","
            "\"name\":\"B\"}],\"name\":\"web\"},{\"$patch\":\"delete\",\"name\":\"side\"}]}}}}", NULL);
    REQUIRE_VOID(r);
    c = at(r, "spec.template.spec.containers");
    CHECK_INT(json_array_size(c), 1);
    CHECK_JSON(json_object_get(json_array_get(c, 0), "env"), "[{\"name\":\"A\",\"value\":\"1\"}]");
    json_decref(r);
    /* kubectl apply changing a volume source: $retainKeys inside the element */
    r = smp("{\"spec\":{\"template\":{\"spec\":{\"$setElementOrder/volumes\":[{\"name\":\"v1\"}],"
            "\"volumes\":[{\"$retainKeys\":[\"hostPath\",\"name\"],\"hostPath\":{\"path\":\"/d\"},"
            "\"name\":\"v1\"}]}}}}", NULL);
    CHECK_JSON(at(r, "spec.template.spec.volumes"), "[{\"name\":\"v1\",\"hostPath\":{\"path\":\"/d\"}}]");
    json_decref(r);
}

static void t_smp_lists(void)
{
    /* merge by key, new appended, order: patch order with server-only interleaved */
    json_t *r = smp("{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"web\",\"env\":"
                    "[{\"name\":\"B\",\"value\":\"3\"},{\"name\":\"C\",\"value\":\"4\"}],"
                    "\"ports\":[{\"containerPort\":80,\"name\":\"http\"}]}]}}}}", NULL);
    json_t *web = json_array_get(at(r, "spec.template.spec.containers"), 0);
    CHECK_JSON(json_object_get(web, "env"),
               "[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"3\"},{\"name\":\"C\",\"value\":\"4\"}]");
    CHECK_JSON(json_object_get(web, "ports"),
               "[{\"containerPort\":80,\"protocol\":\"TCP\",\"name\":\"http\"},{\"containerPort\":443}]");
    CHECK_INT(json_array_size(at(r, "spec.template.spec.containers")), 2);
    json_decref(r);
    /* list without merge key: replaced */
    r = smp("{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"web\",\"args\":[\"z\"]}]}}}}", NULL);
    CHECK_JSON(json_object_get(json_array_get(at(r, "spec.template.spec.containers"), 0), "args"), "[\"z\"]");
    json_decref(r);
    /* $patch: delete element, $patch: replace list */
    r = smp("{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"side\",\"$patch\":\"delete\"}]}}}}", NULL);
    CHECK_INT(json_array_size(at(r, "spec.template.spec.containers")), 1);
    CHECK_STR(sk_json_str(json_array_get(at(r, "spec.template.spec.containers"), 0), "name"), "web");
    json_decref(r);
    r = smp("{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"only\",\"image\":\"i\",\"env\":null},"
            "{\"$patch\":\"replace\"}]}}}}", NULL);
    CHECK_JSON(at(r, "spec.template.spec.containers"), "[{\"name\":\"only\",\"image\":\"i\"}]");
    json_decref(r);
    /* primitive merge list: union, $deleteFromPrimitiveList */
    r = smp("{\"metadata\":{\"finalizers\":[\"c\",\"a\"]}}", NULL);
    CHECK_JSON(at(r, "metadata.finalizers"), "[\"c\",\"a\",\"b\"]");
    json_decref(r);
    r = smp("{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"a\",\"zz\"]}}", NULL);
    CHECK_JSON(at(r, "metadata.finalizers"), "[\"b\"]");
    json_decref(r);
    r = smp("{\"metadata\":{\"$setElementOrder/finalizers\":[\"b\",\"a\",\"c\"],\"finalizers\":[\"c\"]}}", NULL);
    CHECK_JSON(at(r, "metadata.finalizers"), "[\"b\",\"a\",\"c\"]");
    json_decref(r);
    /* $setElementOrder alone reorders */
    r = smp("{\"spec\":{\"template\":{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"side\"},{\"name\":\"web\"}]}}}}", NULL);
    CHECK_STR(sk_json_str(json_array_get(at(r, "spec.template.spec.containers"), 0), "name"), "side");
    json_decref(r);
    /* new list field when absent */
    r = smp("{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"side\",\"env\":[{\"name\":\"X\",\"value\":null}]}]}}}}", NULL);
    CHECK_JSON(json_object_get(json_array_get(at(r, "spec.template.spec.containers"), 1), "env"), "[{\"name\":\"X\"}]");
    json_decref(r);
}

/* Upstream orders a $setElementOrder list by the live list's array as
 * left behind by deletions and appends (Go slice aliasing). */
static void t_smp_order_quirk(void)
{
    json_t *d = J("{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"web\",\"env\":"
                  "[{\"name\":\"X\"},{\"name\":\"Y\",\"value\":\"1\"},{\"name\":\"Z\",\"value\":\"2\"}]}]}}}}");
    json_t *p = J("{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"web\",\"$setElementOrder/env\":"
                  "[{\"name\":\"Y\"},{\"name\":\"W\"}],\"env\":[{\"name\":\"W\"},{\"name\":\"X\",\"$patch\":\"delete\"}]}]}}}}");
    json_t *r = sk_strategic_merge_patch(d, p, &deploy_t, NULL);
    CHECK_JSON(json_object_get(json_array_get(at(r, "spec.template.spec.containers"), 0), "env"),
               "[{\"name\":\"Y\",\"value\":\"1\"},{\"name\":\"Z\",\"value\":\"2\"},{\"name\":\"W\"}]");
    json_decref(r);
    json_decref(p);
    json_decref(d);
}

static void t_smp_maps(void)
{
    json_t *r = smp("{\"spec\":{\"template\":{\"metadata\":{\"labels\":{\"$patch\":\"replace\",\"new\":\"x\"}}}}}", NULL);
    CHECK_JSON(at(r, "spec.template.metadata.labels"), "{\"new\":\"x\"}");
    json_decref(r);
    r = smp("{\"spec\":{\"strategy\":{\"$patch\":\"delete\"}}}", NULL);
    CHECK_JSON(at(r, "spec.strategy"), "{}");
    json_decref(r);
    r = smp("{\"spec\":{\"strategy\":{\"$retainKeys\":[\"type\"],\"type\":\"Recreate\"}}}", NULL);
    CHECK_JSON(at(r, "spec.strategy"), "{\"type\":\"Recreate\"}");
    json_decref(r);
    r = smp("{\"spec\":{\"template\":{\"spec\":{\"volumes\":[{\"name\":\"v1\",\"$retainKeys\":[\"name\",\"hostPath\"],"
            "\"hostPath\":{\"path\":\"/x\"}}]}}}}", NULL);
    CHECK_JSON(at(r, "spec.template.spec.volumes"), "[{\"name\":\"v1\",\"hostPath\":{\"path\":\"/x\"}}]");
    json_decref(r);
    r = smp("{\"metadata\":{\"labels\":{\"app\":null,\"tier\":\"fe\"}},\"spec\":{\"replicas\":null,"
            "\"new\":{\"x\":null,\"y\":[1,null]}}}", NULL);
    CHECK_JSON(at(r, "metadata.labels"), "{\"tier\":\"fe\"}");
    CHECK(at(r, "spec.replicas") == NULL);
    CHECK_JSON(at(r, "spec.new"), "{\"y\":[1,null]}");
    json_decref(r);
    /* unknown type: merge patch semantics */
    json_t *d = J("{\"a\":[1,2],\"b\":{\"c\":1}}"), *p = J("{\"a\":[3],\"b\":{\"d\":2}}");
    r = sk_strategic_merge_patch(d, p, NULL, NULL);
    CHECK_JSON(r, "{\"a\":[3],\"b\":{\"c\":1,\"d\":2}}");
    json_decref(r);
    json_decref(p);
    json_decref(d);
    r = sk_strategic_merge_patch(NULL, (p = J("{\"a\":{\"$patch\":\"delete\"},\"b\":1}")), &deploy_t, NULL);
    CHECK_JSON(r, "{\"b\":1}");
    json_decref(r);
    json_decref(p);
}

#define SMP_ERR(patch, ecode, emsg)                 \
    do {                                          \
        sk_err e_ = SK_ERR_INIT;                  \
        json_t *r_ = smp(patch, &e_);             \
        CHECK(r_ == NULL);                        \
        json_decref(r_);                          \
        CHECK_INT(e_.code, ecode);                 \
        if (emsg) CHECK_STR(e_.msg, emsg);          \
    } while (0)

static void t_smp_errors(void)
{
    SMP_ERR("{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"image\":\"x\"}]}}}}", SK_EBADREQUEST,
            "map: {\"image\":\"x\"} does not contain declared merge key: name");
    SMP_ERR("{\"spec\":{\"strategy\":{\"$patch\":\"frob\"}}}", SK_EBADREQUEST,
            "unknown patch type: \"frob\" in map: {\"$patch\":\"frob\"}");
    SMP_ERR("{\"spec\":{\"strategy\":{\"$retainKeys\":[\"type\"],\"rollingUpdate\":{}}}}", SK_EBADREQUEST,
            "invalid patch format of retainKeys");
    SMP_ERR("{\"spec\":{\"strategy\":{\"$retainKeys\":\"type\"}}}", SK_EBADREQUEST, NULL);
    SMP_ERR("{\"spec\":{\"template\":{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"web\"},{\"name\":\"side\"}],"
            "\"containers\":[{\"name\":\"side\"},{\"name\":\"web\"}]}}}}", SK_EBADREQUEST, NULL);
    SMP_ERR("{\"spec\":{\"template\":{\"spec\":{\"$setElementOrder/containers\":{}}}}}", SK_EBADREQUEST,
            "invalid patch format of setElementOrder list");
    SMP_ERR("{\"metadata\":{\"finalizers\":[[\"x\"]]}}", SK_EINVALID, "lists of lists are not supported");
    SMP_ERR("{\"metadata\":{\"finalizers\":[1]}}", SK_EBADREQUEST, "list element types are not identical");
    json_t *d = J("{}"), *p = J("[]");
    sk_err err = SK_ERR_INIT;
    CHECK(sk_strategic_merge_patch(d, p, &deploy_t, &err) == NULL);
    CHECK_INT(err.code, SK_EBADREQUEST);
    json_decref(p);
    /* depth cap */
    sk_buf b = SK_BUF_INIT;
    for (int i = 0; i < 300; i++) sk_buf_adds(&b, "{\"a\":");
    sk_buf_adds(&b, "1");
    for (int i = 0; i < 300; i++) sk_buf_adds(&b, "}");
    p = J(b.data);
    CHECK(sk_strategic_merge_patch(d, p, NULL, NULL) == NULL);
    json_decref(p);
    sk_buf_release(&b);
    json_decref(d);
}

/* ---- server-side apply ---------------------------------------------------- */

static json_t *entry_of(json_t *obj, const char *mgr)
{
    size_t i;
    json_t *e;
    json_array_foreach(sk_json_path(obj, "metadata.managedFields"), i, e) {
        if (!strcmp(sk_json_str(e, "manager"), mgr)) return e;
    }
    return NULL;
}

static void t_apply(void)
{
    sk_err err = SK_ERR_INIT;
    json_t *cfg = J("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
                    "\"labels\":{\"app\":\"web\"}},\"spec\":{\"replicas\":2,\"template\":{\"spec\":{\"containers\":"
                    "[{\"name\":\"web\",\"image\":\"nginx:1\",\"env\":[{\"name\":\"A\",\"value\":\"1\"}]}]}}}}");
    /* create */
    json_t *o1 = sk_apply_patch(NULL, cfg, &deploy_t, "kubectl", false, &err);
    REQUIRE_VOID(o1);
    json_t *e = entry_of(o1, "kubectl");
    REQUIRE_VOID(e);
    CHECK_STR(sk_json_str(e, "operation"), "Apply");
    CHECK_STR(sk_json_str(e, "apiVersion"), "apps/v1");
    CHECK_STR(sk_json_str(e, "fieldsType"), "FieldsV1");
    CHECK(sk_json_str(e, "time") != NULL);
    CHECK_JSON(json_object_get(e, "fieldsV1"),
               "{\"f:metadata\":{\"f:labels\":{\".\":{},\"f:app\":{}}},\"f:spec\":{\"f:replicas\":{},"
               "\"f:template\":{\"f:spec\":{\"f:containers\":{\"k:{\\\"name\\\":\\\"web\\\"}\":{\".\":{},"
               "\"f:name\":{},\"f:image\":{},\"f:env\":{\"k:{\\\"name\\\":\\\"A\\\"}\":{\".\":{},\"f:name\":{},"
               "\"f:value\":{}}}}}}}}}");
    CHECK_INT(json_integer_value(at(o1, "spec.replicas")), 2);

    /* another Apply manager changing replicas: conflict, then force */
    json_t *cfg2 = J("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"},"
                     "\"spec\":{\"replicas\":5}}");
    CHECK(sk_apply_patch(o1, cfg2, &deploy_t, "other-manager", false, &err) == NULL);
    CHECK_INT(err.code, SK_ECONFLICT);
    CHECK_STR(err.msg, "Apply failed with 1 conflict: conflict with \"kubectl\": .spec.replicas");
    CHECK_INT(json_array_size(err.causes), 1);
    CHECK_STR(sk_json_str(json_array_get(err.causes, 0), "field"), ".spec.replicas");
    sk_err_clear(&err);
    /* same value: shared, no conflict */
    json_t *cfg3 = J("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"},"
                     "\"spec\":{\"replicas\":2}}");
    json_t *o2 = sk_apply_patch(o1, cfg3, &deploy_t, "other-manager", false, &err);
    CHECK(o2 != NULL);
    CHECK_INT(json_array_size(at(o2, "metadata.managedFields")), 2);
    json_decref(o2);
    o2 = sk_apply_patch(o1, cfg2, &deploy_t, "other-manager", true, &err);
    REQUIRE_VOID(o2);
    CHECK_INT(json_integer_value(at(o2, "spec.replicas")), 5);
    CHECK(sk_json_path(json_object_get(entry_of(o2, "kubectl"), "fieldsV1"), "f:spec.f:replicas") == NULL);
    CHECK(sk_json_path(json_object_get(entry_of(o2, "other-manager"), "fieldsV1"), "f:spec.f:replicas"));

    /* kubectl re-applies without env and with a new image: env A removed */
    json_t *cfg4 = J("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
                     "\"labels\":{\"app\":\"web\"}},\"spec\":{\"template\":{\"spec\":{\"containers\":"
                     "[{\"name\":\"web\",\"image\":\"nginx:2\"}]}}}}");
    json_t *o3 = sk_apply_patch(o2, cfg4, &deploy_t, "kubectl", false, &err);
    REQUIRE_VOID(o3);
    json_t *web = json_array_get(at(o3, "spec.template.spec.containers"), 0);
    CHECK_STR(sk_json_str(web, "image"), "nginx:2");
    CHECK(json_object_get(web, "env") == NULL);
    CHECK_INT(json_integer_value(at(o3, "spec.replicas")), 5); /* owned by other-manager */
    CHECK_INT(json_array_size(at(o3, "metadata.managedFields")), 2);
    /* other-manager stops applying replicas: removed */
    json_t *cfg5 = J("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
                     "\"annotations\":{\"x\":\"y\"}}}");
    json_t *o4 = sk_apply_patch(o3, cfg5, &deploy_t, "other-manager", false, &err);
    REQUIRE_VOID(o4);
    CHECK(at(o4, "spec.replicas") == NULL);
    CHECK_STR(sk_json_str(at(o4, "metadata.annotations"), "x"), "y");
    /* several conflicts are grouped by manager */
    json_t *cfg6 = J("{\"metadata\":{\"labels\":{\"app\":\"x\"},\"annotations\":{\"x\":\"z\"}}}");
    CHECK(sk_apply_patch(o4, cfg6, &deploy_t, "third", false, &err) == NULL);
    CHECK_STR(err.msg, "Apply failed with 2 conflicts: conflicts with \"kubectl\":\n- .metadata.labels.app\n"
                       "conflicts with \"other-manager\":\n- .metadata.annotations.x");
    sk_err_clear(&err);
    /* re-applying the same configuration changes nothing, time included */
    json_t *mf = at(o4, "metadata.managedFields");
    json_object_set_new(json_array_get(mf, 0), "time", json_string("2000-01-01T00:00:00Z"));
    json_object_set_new(json_array_get(mf, 1), "time", json_string("2000-01-01T00:00:00Z"));
    json_t *o5 = sk_apply_patch(o4, cfg5, &deploy_t, "other-manager", false, &err);
    CHECK(o5 && json_equal(o4, o5));
    json_decref(o5);
    /* errors */
    CHECK(sk_apply_patch(o4, cfg6, &deploy_t, "", false, &err) == NULL);
    CHECK_INT(err.code, SK_EINVALID);
    json_t *arr = json_array();
    CHECK(sk_apply_patch(o4, arr, &deploy_t, "m", false, &err) == NULL);
    CHECK_INT(err.code, SK_EBADREQUEST);
    json_decref(arr);
    json_t *objs[] = {cfg, o1, cfg2, cfg3, o2, cfg4, o3, cfg5, o4, cfg6};
    for (size_t i = 0; i < SK_ARRAY_LEN(objs); i++) json_decref(objs[i]);
}

int main(void)
{
    t_merge();
    t_json_patch_rfc();
    t_json_patch_more();
    t_smp_kubectl();
    t_smp_lists();
    t_smp_order_quirk();
    t_smp_maps();
    t_smp_errors();
    t_apply();
    return test_done();
}
