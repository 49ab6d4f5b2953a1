/* Container configuration from pod + container + image (spec*.c): no
 * root, no server. ConfigMaps and Secrets come from a table through the
 * internal getter, or from a NULL client (nothing exists). */
#include "kubelet/spec_int.h"
#include "unit/test.h"

#include <signal.h>

/* REQUIRE for void helpers; every use has an sk_err named err in scope. */
#define REQUIRE_V(c) do { if (!(c)) { fprintf(stderr, "%s:%d: REQUIRE failed: %s (%s)\n", __FILE__, __LINE__, #c, err.msg); test_failures++; return; } } while (0)

static json_t *objects; /* "configmap/name" -> object */

static json_t *fake_get(void *ud, const char *kind, const char *ns, const char *name, sk_err *err)
{
    (void)ud;
    char key[256];
    snprintf(key, sizeof key, "%s/%s/%s", kind, ns, name);
    json_t *o = json_object_get(objects, key);
    if (!o) {
        sk_err_set(err, SK_ENOTFOUND, "%s \"%s\" not found", kind, name);
        return NULL;
    }
    return json_incref(o);
}

static json_t *load(const char *s)
{
    json_error_t je;
    json_t *j = json_loads(s, 0, &je);
    if (!j) fprintf(stderr, "bad test JSON: %s: %s\n", je.text, s);
    return j;
}

static char *img_ep[] = {"/bin/ep", "--flag", NULL};
static char *img_cmd[] = {"c1", "c2", NULL};
static char *img_env[] = {"PATH=/usr/bin:/bin", "FOO=image", "ONLY_IMAGE=1", NULL};
static sk_image_cfg image = {.entrypoint = img_ep, .cmd = img_cmd, .env = img_env,
                             .working_dir = "/srv/app", .user = NULL, .stop_signal = "SIGQUIT"};

static json_t *pod;

static struct sk_kl_spec_ctx base_ctx(void)
{
    static const char *lower[] = {"/layers/top", "/layers/base"};
    static const struct sk_rt_mount mounts[] = {{"/vol/a", "/data", true}};
    struct sk_kl_spec_ctx c = {
        .client = NULL, .pod = pod, .services = NULL, .node_name = "node-1", .node_ip = "192.0.2.10",
        .pod_ip = "10.244.1.7", .image = &image, .lower_dirs = lower, .n_lower = 2, .mounts = mounts,
        .n_mounts = 1, .sandbox_id = "sb1", .container_id = "ctr1", .log_path = "/logs/0.log"};
    return c;
}

/* Builds ctr (JSON text) with ctx; returns 0 or -1 with err. */
static int build(const struct sk_kl_spec_ctx *ctx, const char *ctr_json, struct sk_kl_ctr_spec *out, sk_err *err)
{
    json_t *ctr = load(ctr_json);
    int rc = sk_kl_ctr_spec_build_with(ctx, fake_get, NULL, ctr, out, err);
    json_decref(ctr);
    return rc;
}

static const char *env_of(const struct sk_kl_ctr_spec *s, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < s->cfg.n_env; i++)
        if (!strncmp(s->cfg.env[i], name, n) && s->cfg.env[i][n] == '=') return s->cfg.env[i] + n + 1;
    return NULL;
}

static long env_index(const struct sk_kl_ctr_spec *s, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < s->cfg.n_env; i++)
        if (!strncmp(s->cfg.env[i], name, n) && s->cfg.env[i][n] == '=') return (long)i;
    return -1;
}

static void args_are(const struct sk_kl_ctr_spec *s, const char *const *want)
{
    size_t n = 0;
    while (want[n]) n++;
    CHECK_INT(s->cfg.n_args, n);
    for (size_t i = 0; i < n && i < s->cfg.n_args; i++) CHECK_STR(s->cfg.args[i], want[i]);
}

static void test_quantity(void)
{
    int64_t v;
    CHECK(sk_kl_quantity("100m", 3, &v) == 0 && v == 100);
    CHECK(sk_kl_quantity("100m", 0, &v) == 0 && v == 1); /* Value() rounds up */
    CHECK(sk_kl_quantity("1.5Gi", 0, &v) == 0 && v == 1610612736);
    CHECK(sk_kl_quantity("2e3", 0, &v) == 0 && v == 2000);
    CHECK(sk_kl_quantity("2E3", 0, &v) == 0 && v == 2000);
    CHECK(sk_kl_quantity("1E", 0, &v) == 0 && v == 1000000000000000000);
    CHECK(sk_kl_quantity("0.1", 3, &v) == 0 && v == 100);
    CHECK(sk_kl_quantity(".5", 3, &v) == 0 && v == 500);
    CHECK(sk_kl_quantity("64Mi", 0, &v) == 0 && v == 67108864);
    CHECK(sk_kl_quantity("128974848", 0, &v) == 0 && v == 128974848);
    CHECK(sk_kl_quantity("129e6", 0, &v) == 0 && v == 129000000);
    CHECK(sk_kl_quantity("123Mi", 0, &v) == 0 && v == 128974848);
    CHECK(sk_kl_quantity("1k", 0, &v) == 0 && v == 1000);
    CHECK(sk_kl_quantity("1Ki", 3, &v) == 0 && v == 1024000);
    CHECK(sk_kl_quantity("+2", 0, &v) == 0 && v == 2);
    CHECK(sk_kl_quantity("-1.5", 0, &v) == 0 && v == -1);
    CHECK(sk_kl_quantity("1n", 3, &v) == 0 && v == 1);
    CHECK(sk_kl_quantity("99999999999999999999Ei", 0, &v) == 0 && v == INT64_MAX);
    CHECK(sk_kl_quantity("1e999999", 0, &v) == 0 && v == INT64_MAX);
    CHECK(sk_kl_quantity("1e-999999", 3, &v) == 0 && v == 1);
    CHECK(sk_kl_quantity("0.000000000000000000000000000000000000000001", 0, &v) == 0 && v == 1);
    CHECK(sk_kl_quantity("0", 3, &v) == 0 && v == 0);
    CHECK(sk_kl_quantity("", 0, &v) < 0);
    CHECK(sk_kl_quantity("abc", 0, &v) < 0);
    CHECK(sk_kl_quantity("Ki", 0, &v) < 0);
    CHECK(sk_kl_quantity("1.2.3", 0, &v) < 0);
    CHECK(sk_kl_quantity("1Kb", 0, &v) < 0);
    CHECK(sk_kl_quantity("1e", 0, &v) < 0);
    CHECK(sk_kl_quantity(".", 0, &v) < 0);
}

static const char *map_lookup(void *ud, const char *name)
{
    return sk_json_str(ud, name);
}

static void test_expand(void)
{
    json_t *m = load("{\"A\":\"1\",\"EMPTY\":\"\"}");
    static const char *cases[][2] = {
        {"$(A)", "1"},         {"x$(A)y", "x1y"},   {"$$(A)", "$(A)"},   {"$(B)", "$(B)"},
        {"$(", "$("},          {"$(A", "$(A"},      {"x$", "x$"},        {"$$", "$"},
        {"$x", "$x"},          {"$(EMPTY)-", "-"},  {"$()", "$()"},      {"$$$(A)", "$1"},
        {"", ""},              {"a$(A)$(A)b", "a11b"},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) {
        char *s = sk_kl_expand(cases[i][0], map_lookup, m, 1024);
        CHECK_STR(s, cases[i][1]);
        free(s);
    }
    CHECK(sk_kl_expand("$(A)$(A)$(A)", map_lookup, m, 2) == NULL);
    json_decref(m);
}

static void test_args(void)
{
    struct sk_kl_spec_ctx ctx = base_ctx();
    struct sk_kl_ctr_spec s;
    sk_err err = SK_ERR_INIT;
    REQUIRE_V(build(&ctx, "{\"name\":\"c\"}", &s, &err) == 0);
    args_are(&s, (const char *[]){"/bin/ep", "--flag", "c1", "c2", NULL});
    sk_kl_ctr_spec_release(&s);

    REQUIRE_V(build(&ctx, "{\"name\":\"c\",\"args\":[\"a1\"]}", &s, &err) == 0);
    args_are(&s, (const char *[]){"/bin/ep", "--flag", "a1", NULL});
    sk_kl_ctr_spec_release(&s);

    REQUIRE_V(build(&ctx, "{\"name\":\"c\",\"command\":[\"/x\"]}", &s, &err) == 0);
    args_are(&s, (const char *[]){"/x", NULL}); /* the image CMD is dropped too */
    sk_kl_ctr_spec_release(&s);

    REQUIRE_V(build(&ctx, "{\"name\":\"c\",\"command\":[\"/x\"],\"args\":[\"y\"]}", &s, &err) == 0);
    args_are(&s, (const char *[]){"/x", "y", NULL});
    sk_kl_ctr_spec_release(&s);

    /* Expansion against the container's env, not the image's. */
    REQUIRE_V(build(&ctx,
                    "{\"name\":\"c\",\"command\":[\"sh\",\"-c\",\"echo $(MSG) $$(MSG) $(FOO) $(NOPE) $(\"],"
                    "\"env\":[{\"name\":\"MSG\",\"value\":\"hi\"}]}",
                    &s, &err) == 0);
    args_are(&s, (const char *[]){"sh", "-c", "echo hi $(MSG) $(FOO) $(NOPE) $(", NULL});
    sk_kl_ctr_spec_release(&s);

    sk_image_cfg bare = {0};
    ctx.image = &bare;
    CHECK(build(&ctx, "{\"name\":\"c\"}", &s, &err) < 0);
    CHECK_INT(err.code, SK_EINVALID);
    CHECK_STR(err.msg, "no command specified");
    CHECK(s.priv == NULL);
    ctx.image = NULL;
    REQUIRE_V(build(&ctx, "{\"name\":\"c\",\"args\":[\"/only\"]}", &s, &err) == 0);
    args_are(&s, (const char *[]){"/only", NULL});
    sk_kl_ctr_spec_release(&s);
    CHECK(build(&ctx, "{\"name\":\"c\",\"command\":[1]}", &s, &err) < 0);
    CHECK_INT(err.code, SK_EINVALID);
}

static void test_env(void)
{
    struct sk_kl_spec_ctx ctx = base_ctx();
    struct sk_kl_ctr_spec s;
    sk_err err = SK_ERR_INIT;
    json_t *svcs = load("[{\"metadata\":{\"name\":\"kubernetes\",\"namespace\":\"default\"},"
                        "  \"spec\":{\"clusterIP\":\"10.96.0.1\",\"ports\":[{\"name\":\"https\",\"port\":443}]}},"
                        " {\"metadata\":{\"name\":\"cfg-src\",\"namespace\":\"web\"},"
                        "  \"spec\":{\"clusterIP\":\"10.96.0.9\",\"ports\":[{\"port\":80}]}}]");
    ctx.services = svcs;
    REQUIRE_V(build(&ctx,
                    "{\"name\":\"c\","
                    " \"envFrom\":[{\"configMapRef\":{\"name\":\"cm\"}},"
                    "              {\"prefix\":\"S_\",\"secretRef\":{\"name\":\"sec\"}},"
                    "              {\"configMapRef\":{\"name\":\"absent\",\"optional\":true}}],"
                    " \"env\":[{\"name\":\"FOO\",\"value\":\"env\"},"
                    "          {\"name\":\"REF\",\"value\":\"$(BAR)-$(CFG_SRC_SERVICE_HOST)-$(LATER)-$(ONLY_IMAGE)\"},"
                    "          {\"name\":\"LATER\",\"value\":\"l\"},"
                    "          {\"name\":\"EMPTY\"},"
                    "          {\"name\":\"K\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cm\",\"key\":\"BAR\"}}},"
                    "          {\"name\":\"PW\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"sec\",\"key\":\"pw\"}}},"
                    "          {\"name\":\"OPT\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cm\",\"key\":\"no\",\"optional\":true}}},"
                    "          {\"name\":\"OPT2\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"nosec\",\"key\":\"x\",\"optional\":true}}},"
                    "          {\"name\":\"CFG_SRC_SERVICE_PORT\",\"value\":\"override\"}]}",
                    &s, &err) == 0);
    CHECK_STR(env_of(&s, "HOSTNAME"), "web-0");
    CHECK_STR(env_of(&s, "PATH"), "/usr/bin:/bin");
    CHECK_STR(env_of(&s, "ONLY_IMAGE"), "1");
    CHECK_STR(env_of(&s, "FOO"), "env");   /* env > envFrom > image */
    CHECK_STR(env_of(&s, "BAR"), "from-cm");
    CHECK_STR(env_of(&s, "S_pw"), "s3cr3t"); /* prefix; base64 decoded */
    CHECK(env_of(&s, "bad=key") == NULL && env_of(&s, "bad") == NULL); /* invalid name skipped */
    CHECK_STR(env_of(&s, "1st"), "ok");      /* relaxed names (KEP-4369) */
    CHECK_STR(env_of(&s, "REF"), "from-cm-10.96.0.9-$(LATER)-$(ONLY_IMAGE)");
    CHECK_STR(env_of(&s, "EMPTY"), "");
    CHECK_STR(env_of(&s, "K"), "from-cm");
    CHECK_STR(env_of(&s, "PW"), "s3cr3t");
    CHECK(env_of(&s, "OPT") == NULL && env_of(&s, "OPT2") == NULL);
    CHECK_STR(env_of(&s, "CFG_SRC_SERVICE_PORT"), "override");
    CHECK_STR(env_of(&s, "KUBERNETES_SERVICE_HOST"), "10.96.0.1");
    /* Upstream order: HOSTNAME, image, then the container config's. */
    CHECK(env_index(&s, "HOSTNAME") == 0);
    CHECK(env_index(&s, "PATH") < env_index(&s, "KUBERNETES_SERVICE_HOST"));
    CHECK(env_index(&s, "KUBERNETES_SERVICE_HOST") < env_index(&s, "BAR"));
    CHECK(env_index(&s, "BAR") < env_index(&s, "REF"));
    sk_kl_ctr_spec_release(&s);

    /* HOSTNAME from spec.hostname, replaceable by env. */
    json_object_set_new(sk_json_path(pod, "spec"), "hostname", json_string("custom"));
    REQUIRE_V(build(&ctx, "{\"name\":\"c\"}", &s, &err) == 0);
    CHECK_STR(env_of(&s, "HOSTNAME"), "custom");
    sk_kl_ctr_spec_release(&s);
    REQUIRE_V(build(&ctx, "{\"name\":\"c\",\"env\":[{\"name\":\"HOSTNAME\",\"value\":\"mine\"}]}", &s, &err) == 0);
    CHECK_STR(env_of(&s, "HOSTNAME"), "mine");
    CHECK_INT(env_index(&s, "HOSTNAME"), 0);
    sk_kl_ctr_spec_release(&s);
    json_object_del(sk_json_path(pod, "spec"), "hostname");

    /* Errors, with the kubelet's messages, as configuration errors. */
    CHECK(build(&ctx, "{\"name\":\"c\",\"env\":[{\"name\":\"X\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"nope\",\"key\":\"k\"}}}]}", &s, &err) < 0);
    CHECK_INT(err.code, SK_EINVALID);
    CHECK_STR(err.msg, "configmap \"nope\" not found");
    CHECK(build(&ctx, "{\"name\":\"c\",\"env\":[{\"name\":\"X\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cm\",\"key\":\"k\"}}}]}", &s, &err) < 0);
    CHECK_STR(err.msg, "couldn't find key k in ConfigMap web/cm");
    CHECK(build(&ctx, "{\"name\":\"c\",\"env\":[{\"name\":\"X\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"nosec\",\"key\":\"k\"}}}]}", &s, &err) < 0);
    CHECK_STR(err.msg, "secret \"nosec\" not found");
    CHECK_INT(err.code, SK_EINVALID);
    CHECK(build(&ctx, "{\"name\":\"c\",\"env\":[{\"name\":\"X\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"sec\",\"key\":\"k\"}}}]}", &s, &err) < 0);
    CHECK_STR(err.msg, "couldn't find key k in Secret web/sec");
    CHECK(build(&ctx, "{\"name\":\"c\",\"envFrom\":[{\"secretRef\":{\"name\":\"nosec\"}}]}", &s, &err) < 0);
    CHECK_STR(err.msg, "secret \"nosec\" not found");

    /* A NULL client: the public entry point finds nothing. */
    json_t *ctr = load("{\"name\":\"c\",\"env\":[{\"name\":\"X\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cm\",\"key\":\"BAR\"}}}]}");
    CHECK(sk_kl_ctr_spec_build(&ctx, ctr, &s, &err) < 0);
    CHECK_INT(err.code, SK_EINVALID);
    CHECK_STR(err.msg, "configmap \"cm\" not found");
    json_decref(ctr);
    json_decref(svcs);
}

static void test_service_links(void)
{
    struct sk_kl_spec_ctx ctx = base_ctx();
    struct sk_kl_ctr_spec s;
    sk_err err = SK_ERR_INIT;
    json_t *svcs = load(
        "[{\"metadata\":{\"name\":\"kubernetes\",\"namespace\":\"default\"},"
        "  \"spec\":{\"clusterIP\":\"10.96.0.1\",\"ports\":[{\"name\":\"https\",\"port\":443,\"protocol\":\"TCP\"}]}},"
        " {\"metadata\":{\"name\":\"my-svc\",\"namespace\":\"web\"},"
        "  \"spec\":{\"clusterIP\":\"10.96.0.5\",\"ports\":[{\"name\":\"http\",\"port\":80},"
        "    {\"name\":\"dns-udp\",\"port\":53,\"protocol\":\"UDP\"}]}},"
        " {\"metadata\":{\"name\":\"headless\",\"namespace\":\"web\"},"
        "  \"spec\":{\"clusterIP\":\"None\",\"ports\":[{\"port\":80}]}},"
        " {\"metadata\":{\"name\":\"noip\",\"namespace\":\"web\"},\"spec\":{\"ports\":[{\"port\":80}]}},"
        " {\"metadata\":{\"name\":\"v6\",\"namespace\":\"web\"},"
        "  \"spec\":{\"clusterIP\":\"fd00::5\",\"ports\":[{\"port\":8080}]}},"
        " {\"metadata\":{\"name\":\"elsewhere\",\"namespace\":\"other\"},"
        "  \"spec\":{\"clusterIP\":\"10.96.0.7\",\"ports\":[{\"port\":80}]}}]");
    ctx.services = svcs;
    REQUIRE_V(build(&ctx, "{\"name\":\"c\"}", &s, &err) == 0);
    static const char *want[][2] = {
        {"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
        {"KUBERNETES_SERVICE_PORT", "443"},
        {"KUBERNETES_SERVICE_PORT_HTTPS", "443"},
        {"KUBERNETES_PORT", "tcp://10.96.0.1:443"},
        {"KUBERNETES_PORT_443_TCP", "tcp://10.96.0.1:443"},
        {"KUBERNETES_PORT_443_TCP_PROTO", "tcp"},
        {"KUBERNETES_PORT_443_TCP_PORT", "443"},
        {"KUBERNETES_PORT_443_TCP_ADDR", "10.96.0.1"},
        {"MY_SVC_SERVICE_HOST", "10.96.0.5"},
        {"MY_SVC_SERVICE_PORT", "80"},
        {"MY_SVC_SERVICE_PORT_HTTP", "80"},
        {"MY_SVC_SERVICE_PORT_DNS_UDP", "53"},
        {"MY_SVC_PORT", "tcp://10.96.0.5:80"},
        {"MY_SVC_PORT_53_UDP", "udp://10.96.0.5:53"},
        {"MY_SVC_PORT_53_UDP_PROTO", "udp"},
        {"MY_SVC_PORT_53_UDP_ADDR", "10.96.0.5"},
        {"V6_PORT", "tcp://[fd00::5]:8080"},
        {"V6_SERVICE_HOST", "fd00::5"},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(want); i++) CHECK_STR(env_of(&s, want[i][0]), want[i][1]);
    CHECK(env_of(&s, "HEADLESS_SERVICE_HOST") == NULL);
    CHECK(env_of(&s, "NOIP_SERVICE_HOST") == NULL);
    CHECK(env_of(&s, "ELSEWHERE_SERVICE_HOST") == NULL);
    sk_kl_ctr_spec_release(&s);

    /* enableServiceLinks false keeps only the master service, as upstream. */
    json_object_set_new(sk_json_path(pod, "spec"), "enableServiceLinks", json_false());
    REQUIRE_V(build(&ctx, "{\"name\":\"c\"}", &s, &err) == 0);
    CHECK_STR(env_of(&s, "KUBERNETES_SERVICE_HOST"), "10.96.0.1");
    CHECK(env_of(&s, "MY_SVC_SERVICE_HOST") == NULL);
    sk_kl_ctr_spec_release(&s);
    json_object_del(sk_json_path(pod, "spec"), "enableServiceLinks");
    json_decref(svcs);
}

static void test_downward_env(void)
{
    struct sk_kl_spec_ctx ctx = base_ctx();
    struct sk_kl_ctr_spec s;
    sk_err err = SK_ERR_INIT;
#define FR(n, p) "{\"name\":\"" n "\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"" p "\"}}}"
#define RR(n, r, d) "{\"name\":\"" n "\",\"valueFrom\":{\"resourceFieldRef\":{\"resource\":\"" r "\"" d "}}}"
    REQUIRE_V(build(&ctx,
                    "{\"name\":\"c\",\"resources\":{\"limits\":{\"cpu\":\"500m\",\"memory\":\"64Mi\"},"
                    "  \"requests\":{\"memory\":\"32Mi\"}},\"env\":["
                    FR("N", "metadata.name") "," FR("NS", "metadata.namespace") "," FR("U", "metadata.uid") ","
                    FR("L", "metadata.labels['app']") "," FR("LS", "metadata.labels") ","
                    FR("AN", "metadata.annotations") "," FR("A1", "metadata.annotations['note']") ","
                    FR("NODE", "spec.nodeName") "," FR("SA", "spec.serviceAccountName") ","
                    FR("IP", "status.podIP") "," FR("IPS", "status.podIPs") "," FR("HIP", "status.hostIP") ","
                    FR("HIPS", "status.hostIPs") ","
                    RR("LCPU", "limits.cpu", ",\"divisor\":\"1m\"") "," RR("LCPU1", "limits.cpu", "") ","
                    RR("LMEM", "limits.memory", ",\"divisor\":\"1Mi\"") "," RR("RMEM", "requests.memory", "") ","
                    RR("RCPU", "requests.cpu", ",\"divisor\":\"1m\"") "," RR("LES", "limits.ephemeral-storage", "") ","
                    RR("OTHER", "limits.memory", ",\"containerName\":\"side\",\"divisor\":\"1Ki\"") "]}",
                    &s, &err) == 0);
    CHECK_STR(env_of(&s, "N"), "web-0");
    CHECK_STR(env_of(&s, "NS"), "web");
    CHECK_STR(env_of(&s, "U"), "uid-123");
    CHECK_STR(env_of(&s, "L"), "web");
    CHECK_STR(env_of(&s, "LS"), "app=\"web\"\ntier=\"front\\\"end\"");
    CHECK_STR(env_of(&s, "AN"), "note=\"line1\\nline2\\t\\u00a0é\"");
    CHECK_STR(env_of(&s, "A1"), "line1\nline2\t\xc2\xa0\xc3\xa9");
    CHECK_STR(env_of(&s, "NODE"), "node-1");
    CHECK_STR(env_of(&s, "SA"), "default");
    CHECK_STR(env_of(&s, "IP"), "10.244.1.7");
    CHECK_STR(env_of(&s, "IPS"), "10.244.1.7,fd00::7");
    CHECK_STR(env_of(&s, "HIP"), "192.0.2.10");
    CHECK_STR(env_of(&s, "HIPS"), "192.0.2.10");
    CHECK_STR(env_of(&s, "LCPU"), "500");
    CHECK_STR(env_of(&s, "LCPU1"), "1"); /* ceil(0.5) */
    CHECK_STR(env_of(&s, "LMEM"), "64");
    CHECK_STR(env_of(&s, "RMEM"), "33554432");
    CHECK_STR(env_of(&s, "RCPU"), "500"); /* an unset request is the limit */
    struct sk_kl_alloc a;
    sk_kl_node_allocatable(&a);
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)a.ephemeral);
    CHECK_STR(env_of(&s, "LES"), buf); /* unset limit: the node's allocatable */
    snprintf(buf, sizeof buf, "%lld", (long long)((a.memory + 1023) / 1024));
    CHECK_STR(env_of(&s, "OTHER"), buf);
    sk_kl_ctr_spec_release(&s);

    CHECK(build(&ctx, "{\"name\":\"c\",\"env\":[" FR("X", "spec.bogus") "]}", &s, &err) < 0);
    CHECK_STR(err.msg, "field label not supported: spec.bogus");
    CHECK(build(&ctx, "{\"name\":\"c\",\"env\":[" FR("X", "status.phase") "]}", &s, &err) < 0);
    CHECK_STR(err.msg, "unsupported fieldPath: status.phase");
    CHECK(build(&ctx, "{\"name\":\"c\",\"env\":[" FR("X", "spec.nodeName['x']") "]}", &s, &err) < 0);
    CHECK(build(&ctx, "{\"name\":\"c\",\"env\":[" FR("X", "metadata.labels['-bad-']") "]}", &s, &err) < 0);
    CHECK(strstr(err.msg, "invalid key subscript in metadata.labels['-bad-']") == err.msg);
    CHECK(build(&ctx, "{\"name\":\"c\",\"env\":[" RR("X", "limits.gpu", "") "]}", &s, &err) < 0);
    CHECK_STR(err.msg, "unsupported container resource : limits.gpu");
    CHECK(build(&ctx, "{\"name\":\"c\",\"env\":[" RR("X", "limits.cpu", ",\"containerName\":\"zz\"") "]}", &s, &err) < 0);
    CHECK_STR(err.msg, "container zz not found");
    CHECK(build(&ctx, "{\"name\":\"c\",\"env\":[{\"name\":\"X\",\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v2\",\"fieldPath\":\"metadata.name\"}}}]}", &s, &err) < 0);
    CHECK_STR(err.msg, "unsupported pod version: v2");
#undef FR
#undef RR
}

static void test_security(void)
{
    struct sk_kl_spec_ctx ctx = base_ctx();
    struct sk_kl_ctr_spec s;
    sk_err err = SK_ERR_INIT;
    REQUIRE_V(build(&ctx, "{\"name\":\"c\"}", &s, &err) == 0);
    CHECK_INT(s.cfg.run_as_user, -1);
    CHECK_INT(s.cfg.run_as_group, -1);
    CHECK_INT(s.cfg.n_supplemental_gids, 0);
    CHECK(s.cfg.seccomp == SK_RT_SECCOMP_DEFAULT);
    CHECK(!s.cfg.privileged && !s.cfg.no_new_privileges && !s.cfg.readonly_rootfs && !s.cfg.terminal);
    sk_kl_ctr_spec_release(&s);

    json_t *psc = load("{\"runAsUser\":1000,\"runAsGroup\":3000,\"fsGroup\":2000,\"supplementalGroups\":[4000,5000],"
                       "\"seccompProfile\":{\"type\":\"Unconfined\"}}");
    json_object_set_new(sk_json_path(pod, "spec"), "securityContext", psc);
    REQUIRE_V(build(&ctx,
                    "{\"name\":\"c\",\"securityContext\":{\"runAsUser\":2000,\"capabilities\":{\"add\":[\"NET_ADMIN\"],"
                    "\"drop\":[\"ALL\"]},\"readOnlyRootFilesystem\":true,\"allowPrivilegeEscalation\":false}}",
                    &s, &err) == 0);
    CHECK_INT(s.cfg.run_as_user, 2000);
    CHECK_INT(s.cfg.run_as_group, 3000);
    REQUIRE_V(s.cfg.n_supplemental_gids == 3);
    CHECK_INT(s.cfg.supplemental_gids[0], 2000);
    CHECK_INT(s.cfg.supplemental_gids[1], 4000);
    CHECK_INT(s.cfg.supplemental_gids[2], 5000);
    CHECK(s.cfg.n_cap_add == 1 && !strcmp(s.cfg.cap_add[0], "NET_ADMIN"));
    CHECK(s.cfg.n_cap_drop == 1 && !strcmp(s.cfg.cap_drop[0], "ALL"));
    CHECK(s.cfg.readonly_rootfs && s.cfg.no_new_privileges);
    CHECK(s.cfg.seccomp == SK_RT_SECCOMP_UNCONFINED);
    sk_kl_ctr_spec_release(&s);
    REQUIRE_V(build(&ctx, "{\"name\":\"c\",\"securityContext\":{\"seccompProfile\":{\"type\":\"RuntimeDefault\"},"
                          "\"allowPrivilegeEscalation\":true}}", &s, &err) == 0);
    CHECK(s.cfg.seccomp == SK_RT_SECCOMP_DEFAULT && !s.cfg.no_new_privileges);
    sk_kl_ctr_spec_release(&s);
    REQUIRE_V(build(&ctx, "{\"name\":\"c\",\"securityContext\":{\"privileged\":true,\"seccompProfile\":{\"type\":\"RuntimeDefault\"}}}", &s, &err) == 0);
    CHECK(s.cfg.privileged && s.cfg.seccomp == SK_RT_SECCOMP_UNCONFINED);
    sk_kl_ctr_spec_release(&s);
    CHECK(build(&ctx, "{\"name\":\"c\",\"securityContext\":{\"seccompProfile\":{\"type\":\"Localhost\"}}}", &s, &err) < 0);
    CHECK(build(&ctx, "{\"name\":\"c\",\"securityContext\":{\"runAsUser\":-5}}", &s, &err) < 0);
    CHECK_INT(err.code, SK_EINVALID);

    /* runAsNonRoot against the image user. */
    json_object_set_new(sk_json_path(pod, "spec"), "securityContext", load("{\"runAsNonRoot\":true}"));
    CHECK(build(&ctx, "{\"name\":\"c\"}", &s, &err) < 0);
    CHECK_INT(err.code, SK_EINVALID);
    CHECK(strstr(err.msg, "container has runAsNonRoot and image will run as root") == err.msg);
    CHECK(strstr(err.msg, "(pod: \"web-0_web(uid-123)\", container: c)") != NULL);
    image.user = "0:0";
    CHECK(build(&ctx, "{\"name\":\"c\"}", &s, &err) < 0);
    image.user = "nobody";
    CHECK(build(&ctx, "{\"name\":\"c\"}", &s, &err) < 0);
    CHECK(strstr(err.msg, "image has non-numeric user (nobody)") != NULL);
    image.user = "1000:1000";
    REQUIRE_V(build(&ctx, "{\"name\":\"c\"}", &s, &err) == 0);
    CHECK_STR(s.cfg.image_user, "1000:1000");
    sk_kl_ctr_spec_release(&s);
    image.user = NULL;
    REQUIRE_V(build(&ctx, "{\"name\":\"c\",\"securityContext\":{\"runAsUser\":10}}", &s, &err) == 0);
    sk_kl_ctr_spec_release(&s);
    CHECK(build(&ctx, "{\"name\":\"c\",\"securityContext\":{\"runAsUser\":0}}", &s, &err) < 0);
    CHECK(strstr(err.msg, "container's runAsUser breaks non-root policy") == err.msg);
    REQUIRE_V(build(&ctx, "{\"name\":\"c\",\"securityContext\":{\"runAsNonRoot\":false}}", &s, &err) == 0);
    sk_kl_ctr_spec_release(&s);
    json_object_del(sk_json_path(pod, "spec"), "securityContext");
}

static void test_resources_misc(void)
{
    struct sk_kl_spec_ctx ctx = base_ctx();
    struct sk_kl_ctr_spec s;
    sk_err err = SK_ERR_INIT;
    REQUIRE_V(build(&ctx,
                    "{\"name\":\"c\",\"tty\":true,\"stdin\":true,\"resources\":{\"limits\":{\"cpu\":\"500m\","
                    "\"memory\":\"64Mi\"},\"requests\":{\"cpu\":\"250m\",\"memory\":\"32Mi\"}}}",
                    &s, &err) == 0);
    CHECK_INT(s.cfg.memory_limit, 67108864);
    CHECK_INT(s.cfg.cpu_quota, 50000);
    CHECK_INT(s.cfg.cpu_period, 100000);
    CHECK_INT(s.cfg.cpu_shares, 256);
    CHECK(s.cfg.terminal);
    CHECK_INT(s.cfg.oom_score_adj, 1000); /* the pod's containers have no resources: BestEffort */
    CHECK_STR(s.cfg.cwd, "/srv/app");
    CHECK_INT(s.cfg.stop_signal, SIGQUIT);
    CHECK_STR(s.cfg.id, "ctr1");
    CHECK_STR(s.cfg.name, "c");
    CHECK_STR(s.cfg.sandbox_id, "sb1");
    CHECK_STR(s.cfg.log_path, "/logs/0.log");
    CHECK(s.cfg.n_lower == 2 && !strcmp(s.cfg.lower_dirs[1], "/layers/base"));
    CHECK(s.cfg.n_mounts == 1 && !strcmp(s.cfg.mounts[0].destination, "/data") && s.cfg.mounts[0].readonly);
    CHECK(s.cfg.user_data == NULL);
    sk_kl_ctr_spec_release(&s);

    REQUIRE_V(build(&ctx, "{\"name\":\"c\",\"workingDir\":\"/w/./x/\",\"resources\":{\"limits\":{\"cpu\":\"1.5\"}}}",
                    &s, &err) == 0);
    CHECK_INT(s.cfg.cpu_quota, 150000);
    CHECK_INT(s.cfg.cpu_shares, 1536); /* the request defaults to the limit */
    CHECK_INT(s.cfg.memory_limit, 0);
    CHECK_STR(s.cfg.cwd, "/w/x");
    sk_kl_ctr_spec_release(&s);

    REQUIRE_V(build(&ctx, "{\"name\":\"c\",\"resources\":{\"limits\":{\"cpu\":\"1m\"},\"requests\":{\"cpu\":\"1m\"}}}", &s, &err) == 0);
    CHECK_INT(s.cfg.cpu_quota, 1000); /* minimum quota */
    CHECK_INT(s.cfg.cpu_shares, 2);
    sk_kl_ctr_spec_release(&s);

    REQUIRE_V(build(&ctx, "{\"name\":\"c\"}", &s, &err) == 0);
    CHECK_INT(s.cfg.cpu_quota, 0);
    CHECK_INT(s.cfg.cpu_shares, 2);
    CHECK_INT(s.cfg.oom_score_adj, 1000); /* BestEffort */
    sk_kl_ctr_spec_release(&s);

    json_t *g = load("{\"name\":\"c\",\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}}");
    json_t *saved = json_incref(sk_json_path(pod, "spec.containers"));
    json_object_set_new(sk_json_path(pod, "spec"), "containers", json_pack("[O]", g));
    REQUIRE_V(sk_kl_ctr_spec_build_with(&ctx, fake_get, NULL, g, &s, &err) == 0);
    CHECK_INT(s.cfg.oom_score_adj, -997); /* Guaranteed */
    sk_kl_ctr_spec_release(&s);
    json_object_set_new(json_object_get(g, "resources"), "requests", load("{\"memory\":\"512Mi\"}"));
    struct sk_kl_alloc a;
    sk_kl_node_allocatable(&a);
    REQUIRE_V(sk_kl_ctr_spec_build_with(&ctx, fake_get, NULL, g, &s, &err) == 0);
    int64_t want = 1000 - (1000 * (int64_t)536870912) / a.memory;
    CHECK_INT(s.cfg.oom_score_adj, want < 3 ? 3 : want); /* Burstable */
    sk_kl_ctr_spec_release(&s);
    json_object_set_new(sk_json_path(pod, "spec"), "containers", saved);
    json_decref(g);

    CHECK(build(&ctx, "{\"name\":\"c\",\"workingDir\":\"rel\"}", &s, &err) < 0);
    sk_kl_ctr_spec_release(&s); /* release after a failure is harmless */
    sk_kl_ctr_spec_release(NULL);
}

int main(void)
{
    objects = load("{\"configmap/web/cm\":{\"metadata\":{\"name\":\"cm\"},\"data\":{\"FOO\":\"from-cm\",\"BAR\":\"from-cm\","
                   "\"bad=key\":\"x\",\"1st\":\"ok\"}},"
                   "\"secret/web/sec\":{\"metadata\":{\"name\":\"sec\"},\"data\":{\"pw\":\"czNjcjN0\"}}}");
    pod = load("{\"metadata\":{\"name\":\"web-0\",\"namespace\":\"web\",\"uid\":\"uid-123\","
               "  \"labels\":{\"tier\":\"front\\\"end\",\"app\":\"web\"},"
               "  \"annotations\":{\"note\":\"line1\\nline2\\t\\u00a0\\u00e9\"}},"
               " \"spec\":{\"nodeName\":\"node-1\",\"serviceAccountName\":\"default\","
               "  \"containers\":[{\"name\":\"c\"},{\"name\":\"side\"}]},"
               " \"status\":{\"podIP\":\"10.244.1.7\",\"podIPs\":[{\"ip\":\"10.244.1.7\"},{\"ip\":\"fd00::7\"}]}}");
    REQUIRE(objects && pod);
    test_quantity();
    test_expand();
    test_args();
    test_env();
    test_service_links();
    test_downward_env();
    test_security();
    test_resources_misc();
    json_decref(pod);
    json_decref(objects);
    return test_done();
}
