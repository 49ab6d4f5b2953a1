/* Image references (docker/containerd normalisation), registries.yaml,
 * WWW-Authenticate challenges, manifest kinds and platform selection. */
#include "runtime/image/image_int.h"
#include "unit/test.h"

#include <string.h>

#define REQUIRE_VOID(c) do { if (!(c)) { CHECK(c); return; } } while (0)
#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_refs(void)
{
    static const struct {
        const char *in, *out;
    } ok[] = {
        {"busybox", "docker.io/library/busybox:latest"},
        {"busybox:1.36", "docker.io/library/busybox:1.36"},
        {"library/busybox", "docker.io/library/busybox:latest"},
        {"docker.io/busybox", "docker.io/library/busybox:latest"},
        {"index.docker.io/busybox:1", "docker.io/library/busybox:1"},
        {"gcr.io/google-samples/kubernetes-bootcamp:v1", "gcr.io/google-samples/kubernetes-bootcamp:v1"},
        {"jocatalin/kubernetes-bootcamp:v2", "docker.io/jocatalin/kubernetes-bootcamp:v2"},
        {"registry.k8s.io/e2e-test-images/agnhost:2.39", "registry.k8s.io/e2e-test-images/agnhost:2.39"},
        {"localhost:5000/x", "localhost:5000/x:latest"},
        {"localhost/x", "localhost/x:latest"},
        {"127.0.0.1:5000/a/b/c:Tag_1.0-x", "127.0.0.1:5000/a/b/c:Tag_1.0-x"},
        {"[::1]:5000/x:1", "[::1]:5000/x:1"},
        {"Example.COM/x", "Example.COM/x:latest"},
        {"a__b/c.d/e--f/g_h:1", "docker.io/a__b/c.d/e--f/g_h:1"},
        {"busybox@sha256:" HEX64, "docker.io/library/busybox@sha256:" HEX64},
        {"busybox:1.0@sha256:" HEX64, "docker.io/library/busybox@sha256:" HEX64},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(ok); i++) {
        sk_err err = SK_ERR_INIT;
        char *n = sk_image_normalize(ok[i].in, &err);
        if (!n) fprintf(stderr, "%s: %s\n", ok[i].in, err.msg);
        CHECK_STR(n, ok[i].out);
        free(n);
    }
    static const char *const bad[] = {
        "", "UPPER", "a:b:c", "busybox:", "busybox@sha256:abc", HEX64, "a//b", "-a", "a/b-",
        ("busybox@md5:" HEX64), "host:999999/x", "a b", "x/Y", "busybox:-x", "/x", "x/",
        "busybox:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(bad); i++) {
        sk_err err = SK_ERR_INIT;
        char *n = sk_image_normalize(bad[i], &err);
        if (n) fprintf(stderr, "accepted bad ref \"%s\" as %s\n", bad[i], n);
        CHECK(!n && err.code == SK_EINVALID && err.msg[0]);
        free(n);
    }
    sk_image_ref r;
    sk_err err = SK_ERR_INIT;
    REQUIRE_VOID(sk_image_ref_parse("localhost:5000/a/b:v1@sha256:" HEX64, &r, &err) == 0);
    CHECK_STR(r.domain, "localhost:5000");
    CHECK_STR(r.path, "a/b");
    CHECK_STR(r.tag, "v1");
    CHECK_STR(r.digest, "sha256:" HEX64);
    sk_image_ref_release(&r);
    CHECK(sk_image_ref_is_latest("busybox"));
    CHECK(sk_image_ref_is_latest("busybox:latest"));
    CHECK(!sk_image_ref_is_latest("busybox:1"));
    CHECK(!sk_image_ref_is_latest("busybox@sha256:" HEX64));
}

static const char yaml_block[] =
    "mirrors:\n"
    "  docker.io:\n"
    "    endpoint:\n"
    "      - \"http://127.0.0.1:5000\"\n"
    "      - https://mirror.example.com/v2\n"
    "    rewrite:\n"
    "      \"^library/(.*)\": \"mirror/$1\"\n"
    "      \"^other/(.*)\": \"x/${1}-y\"\n"
    "  \"*\":\n"
    "    endpoint: [\"http://any:1\"]\n"
    "configs:\n"
    "  \"mirror.example.com\":\n"
    "    auth: {username: user, password: pass}\n"
    "    tls:\n"
    "      insecure_skip_verify: true\n"
    "      ca_file: /etc/ca.pem\n"
    "  b64.example.com:\n"
    "    auth: {auth: dTE6cDE6eA==}\n"
    "  unknown: {foo: bar}\n";

static void test_registries(void)
{
    sk_err err = SK_ERR_INIT;
    sk_registries *r = sk_registries_parse(yaml_block, strlen(yaml_block), &err);
    if (!r) fprintf(stderr, "registries: %s\n", err.msg);
    REQUIRE_VOID(r);
    const struct sk_reg_mirror *m = sk_registries_mirror(r, "docker.io");
    REQUIRE_VOID(m && m->n_endpoints == 2);
    CHECK_STR(m->endpoints[1], "https://mirror.example.com/v2");
    char *out = sk_registries_rewrite(m, "library/busybox", &err);
    CHECK_STR(out, "mirror/busybox");
    free(out);
    out = sk_registries_rewrite(m, "other/app", &err);
    CHECK_STR(out, "x/app-y");
    free(out);
    out = sk_registries_rewrite(m, "jocatalin/app", &err);
    CHECK_STR(out, "jocatalin/app");
    free(out);
    const struct sk_reg_mirror *any = sk_registries_mirror(r, "quay.io");
    CHECK(any && !strcmp(any->host, "*"));
    const struct sk_reg_config *c = sk_registries_config(r, "mirror.example.com");
    REQUIRE_VOID(c);
    CHECK_STR(c->username, "user");
    CHECK_STR(c->password, "pass");
    CHECK(c->insecure_skip_verify);
    CHECK_STR(c->ca_file, "/etc/ca.pem");
    c = sk_registries_config(r, "b64.example.com");
    CHECK(c && c->username && !strcmp(c->username, "u1") && !strcmp(c->password, "p1:x"));
    CHECK(!sk_registries_config(r, "nope"));
    sk_registries_free(r);

    static const char flow[] = "mirrors: {\"gcr.io\": {endpoint: [\"http://127.0.0.1:5000\"], "
                               "rewrite: {\"^google-samples/(.*)\": \"test/$1\"}}}\n";
    r = sk_registries_parse(flow, strlen(flow), &err);
    REQUIRE_VOID(r);
    m = sk_registries_mirror(r, "gcr.io");
    CHECK(m && m->n_endpoints == 1 && !sk_registries_mirror(r, "docker.io"));
    out = m ? sk_registries_rewrite(m, "google-samples/kubernetes-bootcamp", &err) : NULL;
    CHECK_STR(out, "test/kubernetes-bootcamp");
    free(out);
    sk_registries_free(r);

    r = sk_registries_parse("", 0, &err);
    CHECK(r && r->n_mirrors == 0);
    sk_registries_free(r);
    static const char *const bad[] = {"mirrors: [1, 2\n", "- a\n- b\n",
                                      "mirrors: {x: {endpoint: [[1]]}}\n"};
    for (size_t i = 0; i < SK_ARRAY_LEN(bad); i++) {
        r = sk_registries_parse(bad[i], strlen(bad[i]), &err);
        CHECK(!r && err.msg[0]);
        sk_registries_free(r);
    }
    static const char badre[] = "mirrors: {x: {endpoint: [h], rewrite: {\"(\": y}}}";
    r = sk_registries_parse(badre, strlen(badre), &err);
    REQUIRE_VOID(r);
    CHECK(!sk_registries_rewrite(&r->mirrors[0], "a", &err) && strstr(err.msg, "rewrite"));
    sk_registries_free(r);
}

static void test_challenge(void)
{
    struct sk_challenge c;
    REQUIRE_VOID(sk_challenge_parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:library/busybox:pull\"", &c) == 0);
    CHECK_STR(c.scheme, "bearer");
    CHECK_STR(c.realm, "https://auth.docker.io/token");
    CHECK_STR(c.service, "registry.docker.io");
    CHECK_STR(c.scope, "repository:library/busybox:pull");
    sk_challenge_release(&c);
    REQUIRE_VOID(sk_challenge_parse("Basic realm=\"Registry \\\"x\\\"\"", &c) == 0);
    CHECK_STR(c.scheme, "basic");
    CHECK_STR(c.realm, "Registry \"x\"");
    sk_challenge_release(&c);
    REQUIRE_VOID(sk_challenge_parse("BEARER realm=http://h/t , scope=a", &c) == 0);
    CHECK_STR(c.realm, "http://h/t");
    CHECK_STR(c.scope, "a");
    sk_challenge_release(&c);
    CHECK(sk_challenge_parse("", &c) < 0);
}

static void test_manifests(void)
{
    json_t *j = json_loads("{\"schemaVersion\":2,\"manifests\":["
                           "{\"digest\":\"sha256:" HEX64 "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"s390x\"}},"
                           "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"sha256:" HEX64 "\",\"size\":7,"
                           "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}", 0, NULL);
    CHECK_STR(sk_image_manifest_kind(NULL, j), MT_OCI_INDEX);
    CHECK_STR(sk_image_manifest_kind(MT_DOCKER_LIST "; charset=utf-8", j), MT_DOCKER_LIST);
    struct sk_image_desc d;
    sk_err err = SK_ERR_INIT;
    if (!strcmp(sk_image_node_arch(), "amd64")) {
        CHECK(sk_image_index_pick(j, &d, &err) == 0 && d.size == 7);
        sk_image_desc_release(&d);
    }
    json_array_remove(json_object_get(j, "manifests"), 1);
    CHECK(sk_image_index_pick(j, &d, &err) < 0 && strstr(err.msg, "linux/s390x"));
    json_decref(j);
    j = json_loads("{\"schemaVersion\":1,\"fsLayers\":[]}", 0, NULL);
    CHECK(!sk_image_manifest_kind("application/json", j));
    json_decref(j);
    struct sk_image_manifest m;
    static const char s1[] = "{\"schemaVersion\":1}";
    CHECK(sk_image_manifest_parse(s1, strlen(s1), &m, &err) < 0 && strstr(err.msg, "schema 1"));
    static const char helm[] = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.cncf.helm.config.v1+json\",\"digest\":\"sha256:" HEX64 "\",\"size\":1},\"layers\":[]}";
    CHECK(sk_image_manifest_parse(helm, strlen(helm), &m, &err) < 0 && strstr(err.msg, "not a container image"));
}

static void test_paths(void)
{
    static const struct {
        const char *in, *out;
    } c[] = {{"./a/b", "a/b"}, {"/a//b/", "a/b"}, {"a/./b", "a/b"}, {"./", ""}, {".", ""},
             {"../a", NULL}, {"a/../../b", NULL}, {"a/..", NULL}, {"..a/b", "..a/b"}};
    for (size_t i = 0; i < SK_ARRAY_LEN(c); i++) {
        char *o = sk_image_clean_path(c[i].in);
        if (c[i].out) CHECK_STR(o, c[i].out);
        else CHECK(!o);
        free(o);
    }
    char *t = NULL;
    CHECK(sk_image_whiteout("a/.wh.b", &t) == SK_WH_FILE && !strcmp(t, "a/b"));
    free(t);
    CHECK(sk_image_whiteout("a/.wh..wh..opq", NULL) == SK_WH_OPAQUE);
    CHECK(sk_image_whiteout(".wh..wh.plnk", NULL) == SK_WH_META);
    CHECK(sk_image_whiteout("a/b.wh.c", NULL) == SK_WH_NONE);
}

int main(void)
{
    test_refs();
    test_registries();
    test_challenge();
    test_manifests();
    test_paths();
    return test_done();
}
