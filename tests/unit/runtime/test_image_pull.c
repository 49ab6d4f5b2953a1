/* Pulls from a real registry: Debian's docker-registry started on
 * 127.0.0.1 inside a network namespace made for this test, filled with a
 * test image over plain HTTP (monolithic blob uploads, manifest PUTs), then
 * pulled directly, by digest, through a manifest list, as a docker schema 2
 * manifest, and through a registries.yaml mirror with a rewrite for a
 * made-up gcr.io name; plus the messages when nothing answers. Exits 77
 * without docker-registry or without a way to make the namespace. */
#include "unit/test.h"
#include "unit/runtime/test_image_helpers.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#define REQUIRE_VOID(c) do { if (!(c)) { CHECK(c); return; } } while (0)
#define REGISTRY_BIN "/usr/bin/docker-registry"
#define DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"

static pid_t registry_pids[2];
static char base[64]; /* http://127.0.0.1:PORT of the plain registry */
static char hostport[32];
static char tls_hostport[32];

static void stop_registries(void)
{
    for (int i = 0; i < 2; i++) {
        if (registry_pids[i] <= 0) continue;
        kill(registry_pids[i], SIGKILL);
        waitpid(registry_pids[i], NULL, 0);
        registry_pids[i] = 0;
    }
}

struct hdrs {
    char location[1024];
    long status;
};

static size_t on_hdr(char *line, size_t sz, size_t n, void *ctx)
{
    struct hdrs *h = ctx;
    size_t len = sz * n;
    if (len > 9 && !strncasecmp(line, "location:", 9)) {
        size_t k = len - 9;
        const char *v = line + 9;
        while (k && *v == ' ') v++, k--;
        while (k && (v[k - 1] == '\r' || v[k - 1] == '\n')) k--;
        snprintf(h->location, sizeof h->location, "%.*s", (int)k, v);
    }
    return len;
}

static size_t sink(char *p, size_t sz, size_t n, void *ctx) { return sz * n; }

/* One HTTP request to the registry; returns the status. */
static long http(const char *method, const char *url, const char *ctype, const void *body,
                 size_t len, struct hdrs *h)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hl = NULL;
    _sk_free_ char *ct = ctype ? sk_printf("Content-Type: %s", ctype) : NULL;
    if (ct) hl = curl_slist_append(hl, ct);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_hdr);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else if (!strcmp(method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    }
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return status;
}

static void spawn_registry(int i, const char *cfg, const char *log)
{
    registry_pids[i] = fork();
    if (registry_pids[i] == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) dup2(fd, 1), dup2(fd, 2);
        execl(REGISTRY_BIN, REGISTRY_BIN, "serve", cfg, (char *)NULL);
        _exit(127);
    }
}

static bool wait_ready(const char *url, const char *log)
{
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 2L);
    bool ok = false;
    for (int64_t end = sk_now_ms() + 10000; !ok && sk_now_ms() < end; usleep(20000)) {
        long status = 0;
        if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        ok = status == 200;
    }
    curl_easy_cleanup(c);
    if (!ok) fprintf(stderr, "registry %s did not start; see %s\n", url, log);
    return ok;
}

/* Two registries over one storage dir: plain HTTP, and HTTPS with a
 * self-signed certificate (dir/tls.crt). */
static bool start_registries(const char *dir)
{
    snprintf(hostport, sizeof hostport, "127.0.0.1:%d", th_free_port());
    snprintf(tls_hostport, sizeof tls_hostport, "127.0.0.1:%d", th_free_port());
    snprintf(base, sizeof base, "http://%s", hostport);
    _sk_free_ char *crt = sk_printf("%s/tls.crt", dir), *key = sk_printf("%s/tls.key", dir);
    if (!th_selfsigned(crt, key)) return false;
    atexit(stop_registries);
    for (int i = 0; i < 2; i++) {
        _sk_free_ char *cfg = sk_printf("%s/registry%d.yml", dir, i);
        _sk_free_ char *log = sk_printf("%s/registry%d.log", dir, i);
        _sk_free_ char *tls = i ? sk_printf(", tls: {certificate: %s, key: %s}", crt, key)
                                : sk_strdup("");
        _sk_free_ char *yml = sk_printf(
            "version: 0.1\nlog: {level: error}\nstorage:\n  filesystem: {rootdirectory: %s/registry-data}\n"
            "  delete: {enabled: true}\nhttp: {addr: \"%s\"%s}\n", dir, i ? tls_hostport : hostport, tls);
        th_write(cfg, yml);
        spawn_registry(i, cfg, log);
        _sk_free_ char *ping = sk_printf("%s://%s/v2/", i ? "https" : "http", i ? tls_hostport : hostport);
        if (!wait_ready(ping, log)) return false;
    }
    return true;
}

static bool push_blob(const char *repo, const void *data, size_t n, const char *digest)
{
    struct hdrs h = {0};
    _sk_free_ char *url = sk_printf("%s/v2/%s/blobs/uploads/", base, repo);
    if (http("POST", url, NULL, NULL, 0, &h) != 202 || !h.location[0]) return false;
    _sk_free_ char *put = sk_printf("%s%s%sdigest=%s", h.location[0] == '/' ? base : "",
                                    h.location, strchr(h.location, '?') ? "&" : "?", digest);
    return http("PUT", put, "application/octet-stream", data, n, &h) == 201;
}

static bool push_file(const char *repo, const char *path, const char *digest)
{
    size_t n = 0;
    _sk_free_ char *d = th_read(path, &n);
    return push_blob(repo, d, n, digest);
}

static bool push_manifest(const char *repo, const char *ref, const char *mt, const char *body)
{
    struct hdrs h = {0};
    _sk_free_ char *url = sk_printf("%s/v2/%s/manifests/%s", base, repo, ref);
    return http("PUT", url, mt, body, strlen(body), &h) == 201;
}

/* test/app:v1 (OCI), test/app:multi (index), test/app:docker (schema 2). */
static bool push_image(const th_image *im, char mdig[72], char idig[72])
{
    _sk_free_ char *man = th_manifest(im);
    _sk_free_ char *dman = sk_printf(
        "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\",\"digest\":"
        "\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%lld},"
        "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%lld}]}",
        MT_DOCKER_MANIFEST, MT_DOCKER_CONFIG, im->cdig, strlen(im->config), DOCKER_LAYER, im->d1,
        (long long)th_file_size(im->l1), DOCKER_LAYER, im->d2gz, (long long)th_file_size(im->l2gz));
    sk_sha256_hex(man, strlen(man), mdig);
    _sk_free_ char *index = sk_printf(
        "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":["
        "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu,\"platform\":{\"os\":\"linux\",\"architecture\":\"ppc64le\"}},"
        "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu,\"platform\":{\"os\":\"linux\",\"architecture\":\"%s\"}}]}",
        MT_OCI_INDEX, MT_OCI_MANIFEST, mdig, strlen(man), MT_OCI_MANIFEST, mdig, strlen(man),
        sk_image_node_arch());
    sk_sha256_hex(index, strlen(index), idig);
    return push_blob("test/app", im->config, strlen(im->config), im->cdig) &&
           push_file("test/app", im->l1, im->d1) && push_file("test/app", im->l2gz, im->d2gz) &&
           push_manifest("test/app", "v1", MT_OCI_MANIFEST, man) &&
           push_manifest("test/app", "multi", MT_OCI_INDEX, index) &&
           push_manifest("test/app", "docker", MT_DOCKER_MANIFEST, dman);
}

static int pull(sk_image_store *s, const char *ref, sk_err *err)
{
    char *stored = NULL;
    int rc = sk_image_pull(s, ref, NULL, &stored, err);
    if (rc < 0) fprintf(stderr, "pull %s: %s\n", ref, err->msg);
    free(stored);
    return rc;
}

static void test_direct(sk_image_store *s, const char *dir, const char *mdig, const char *idig)
{
    sk_err err = SK_ERR_INIT;
    _sk_free_ char *ref = sk_printf("%s/test/app:v1", hostport);
    REQUIRE_VOID(pull(s, ref, &err) == 0);
    sk_image_cfg *c = sk_image_config(s, ref, &err);
    CHECK(c && c->entrypoint && !strcmp(c->entrypoint[0], "/bin/hello"));
    sk_image_cfg_free(c);
    _sk_free_ char *root = sk_printf("%s/rootfs", dir);
    CHECK(sk_image_unpack(s, ref, root, &err) == 0);
    _sk_free_ char *idx = sk_printf("%s/www/index.html", root);
    _sk_free_ char *txt = th_slurp(idx);
    CHECK_STR(txt, "v2\n");
    _sk_free_ char *multi = sk_printf("%s/test/app:multi", hostport);
    CHECK(pull(s, multi, &err) == 0);
    _sk_free_ char *by_index = sk_printf("%s/test/app@%s", hostport, idig);
    CHECK_INT(sk_image_exists(s, by_index, &err), 1); /* known by its list digest too */
    c = sk_image_config(s, multi, &err);
    CHECK(c && c->repo_digest && !strcmp(c->repo_digest, by_index));
    sk_image_cfg_free(c);
    _sk_free_ char *by_digest = sk_printf("%s/test/app@%s", hostport, mdig);
    CHECK(pull(s, by_digest, &err) == 0);
    _sk_free_ char *docker = sk_printf("%s/test/app:docker", hostport);
    CHECK(pull(s, docker, &err) == 0);
    c = sk_image_config(s, docker, &err);
    CHECK(c && c->cmd && !strcmp(c->cmd[1], "8080"));
    sk_image_cfg_free(c);
    _sk_free_ char *missing = sk_printf("%s/test/nope:v1", hostport);
    CHECK(sk_image_pull(s, missing, NULL, NULL, &err) < 0);
    CHECK(err.code == SK_ENOTFOUND && strstr(err.msg, "UNKNOWN"));
}

static void test_mirror(sk_image_store *s, const char *data)
{
    sk_err err = SK_ERR_INIT;
    _sk_free_ char *path = sk_printf("%s/registries.yaml", data);
    _sk_free_ char *yml = sk_printf(
        "mirrors:\n  gcr.io:\n    endpoint: [\"http://127.0.0.1:1\", \"%s\"]\n"
        "    rewrite: {\"^google-samples/(.*)\": \"test/$1\"}\n", base);
    th_write(path, yml);
    REQUIRE_VOID(pull(s, "gcr.io/google-samples/app:v1", &err) == 0);
    CHECK_INT(sk_image_exists(s, "gcr.io/google-samples/app:v1", &err), 1);
    /* nothing answers: the mirror refuses, gcr.io does not resolve here */
    int64_t t0 = sk_now_ms();
    CHECK(sk_image_pull(s, "gcr.io/google-samples/kubernetes-bootcamp:v9", NULL, NULL, &err) < 0);
    fprintf(stderr, "mirror failure (%lld ms): %s\n", (long long)(sk_now_ms() - t0), err.msg);
    CHECK(strstr(err.msg, "http://127.0.0.1:1 (mirror): "));
    CHECK(strstr(err.msg, "; gcr.io: "));
    CHECK(strstr(err.msg, "registries.yaml"));
    CHECK(sk_image_pull(s, "registry.k8s.io/e2e-test-images/agnhost:2.39", NULL, NULL, &err) < 0);
    fprintf(stderr, "no mirror: %s\n", err.msg);
    _sk_free_ char *want = sk_printf(
        "pull registry.k8s.io/e2e-test-images/agnhost:2.39: registry.k8s.io: ");
    _sk_free_ char *hint = sk_printf(
        "; no mirror configured for registry.k8s.io (add one to %s: mirrors: "
        "{\"registry.k8s.io\": {endpoint: [\"http://HOST:PORT\"]}})", path);
    CHECK(!strncmp(err.msg, want, strlen(want)));
    CHECK(strstr(err.msg, hint));
    CHECK(err.code == SK_EUNAVAILABLE);
    th_write(path, "mirrors: [oops\n");
    CHECK(sk_image_pull(s, "gcr.io/x:1", NULL, NULL, &err) < 0 && strstr(err.msg, "registries.yaml"));
    unlink(path);
}

static int pull_with(sk_image_store *s, const char *data, const char *yml, const char *ref,
                     sk_err *err)
{
    _sk_free_ char *path = sk_printf("%s/registries.yaml", data);
    th_write(path, yml);
    int rc = sk_image_pull(s, ref, NULL, NULL, err);
    sk_err rerr = SK_ERR_INIT;
    if (rc == 0 && sk_image_remove(s, ref, &rerr) < 0) rc = -1;
    unlink(path);
    return rc;
}

static void test_tls(sk_image_store *s, const char *dir, const char *data)
{
    sk_err err = SK_ERR_INIT;
    _sk_free_ char *mirror = sk_printf("mirrors: {tls.example: {endpoint: [\"https://%s\"]}}\n",
                                       tls_hostport);
    CHECK(pull_with(s, data, mirror, "tls.example/test/app:v1", &err) < 0);
    fprintf(stderr, "untrusted certificate: %s\n", err.msg);
    CHECK(strstr(err.msg, "certificate"));
    _sk_free_ char *skip = sk_printf("%sconfigs: {\"%s\": {tls: {insecure_skip_verify: true}}}\n",
                                     mirror, tls_hostport);
    int rc = pull_with(s, data, skip, "tls.example/test/app:v1", &err);
    if (rc < 0) fprintf(stderr, "insecure_skip_verify: %s\n", err.msg);
    CHECK(rc == 0);
    _sk_free_ char *ca = sk_printf("%sconfigs: {\"%s\": {tls: {ca_file: %s/tls.crt}}}\n", mirror,
                                   tls_hostport, dir);
    rc = pull_with(s, data, ca, "tls.example/test/app:v1", &err);
    if (rc < 0) fprintf(stderr, "ca_file: %s\n", err.msg);
    CHECK(rc == 0);
    /* an insecure registry that speaks plain HTTP behind an https:// endpoint */
    _sk_free_ char *plain = sk_printf("mirrors: {plain.example: {endpoint: [\"https://%s\"]}}\n"
                                      "configs: {\"%s\": {tls: {insecure_skip_verify: true}}}\n",
                                      hostport, hostport);
    rc = pull_with(s, data, plain, "plain.example/test/app:v1", &err);
    if (rc < 0) fprintf(stderr, "http fallback: %s\n", err.msg);
    CHECK(rc == 0);
}

int main(void)
{
    if (access(REGISTRY_BIN, X_OK) < 0) {
        fprintf(stderr, "skip: %s not installed\n", REGISTRY_BIN);
        return 77;
    }
    if (!th_netns()) {
        fprintf(stderr, "skip: cannot make a network namespace\n");
        return 77;
    }
    char *dir = th_tmpdir();
    REQUIRE(start_registries(dir));
    th_image im;
    th_image_build(&im, dir);
    char mdig[72], idig[72];
    REQUIRE(push_image(&im, mdig, idig));
    _sk_free_ char *data = sk_printf("%s/data", dir);
    sk_err err = SK_ERR_INIT;
    sk_image_store *s = sk_image_store_open(data, &err);
    REQUIRE(s);
    test_direct(s, dir, mdig, idig);
    test_mirror(s, data);
    test_tls(s, dir, data);
    sk_image_store_free(s);
    th_image_free(&im);
    stop_registries();
    return test_done();
}
