/* Registry authentication against a small fake registry served by a
 * thread of this test on 127.0.0.1 (inside a network namespace made for
 * the test): Bearer challenges answered by a token endpoint (anonymous, or
 * needing basic credentials), plain Basic auth, credentials from the
 * caller and from registries.yaml `configs`. */
#include "unit/test.h"
#include "unit/runtime/test_image_helpers.h"

#include <poll.h>
#include <pthread.h>

#define REQUIRE_VOID(c) do { if (!(c)) { CHECK(c); return; } } while (0)
#define CREDS "Basic dXNlcjpwYXNz" /* user:pass */

enum { BEARER, BEARER_CREDS, BASIC };

struct route {
    char *path, *ctype, *body;
    size_t len;
};

static struct fake {
    int lfd, port, mode, token_calls;
    volatile int stop;
    pthread_t th;
    struct route routes[8];
    int nroutes;
    char last_token_query[1024];
} fk;

static void reply(int fd, int status, const char *extra, const char *ctype, const char *body,
                  size_t len)
{
    _sk_free_ char *h = sk_printf("HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n"
                                  "Content-Type: %s\r\n%s\r\n",
                                  status, len, ctype, extra ? extra : "");
    if (write(fd, h, strlen(h)) < 0 || (len && write(fd, body, len) < 0)) return;
}

static void serve(int fd)
{
    char req[16384] = "";
    size_t n = 0;
    while (n < sizeof req - 1 && !strstr(req, "\r\n\r\n")) {
        ssize_t k = read(fd, req + n, sizeof req - 1 - n);
        if (k <= 0) break;
        n += (size_t)k;
        req[n] = 0;
    }
    req[n] = 0;
    char path[1024] = "";
    if (sscanf(req, "GET %1023s ", path) != 1) return reply(fd, 400, NULL, "text/plain", "", 0);
    const char *authz = strcasestr(req, "\r\nAuthorization: ");
    char auth[256] = "";
    if (authz) sscanf(authz + 17, "%255[^\r]", auth);
    if (!strncmp(path, "/token", 6)) {
        fk.token_calls++;
        snprintf(fk.last_token_query, sizeof fk.last_token_query, "%s", path);
        if (fk.mode == BEARER_CREDS && strcmp(auth, CREDS))
            return reply(fd, 401, NULL, "application/json", "{}", 2);
        static const char tok[] = "{\"token\":\"tok123\"}";
        return reply(fd, 200, NULL, "application/json", tok, strlen(tok));
    }
    bool ok = fk.mode == BASIC ? !strcmp(auth, CREDS) : !strcmp(auth, "Bearer tok123");
    if (!ok) {
        _sk_free_ char *ch =
            fk.mode == BASIC
                ? sk_printf("WWW-Authenticate: Basic realm=\"fake\"\r\n")
                : sk_printf("WWW-Authenticate: Bearer realm=\"http://127.0.0.1:%d/token\","
                            "service=\"fake\",scope=\"repository:auth/app:pull\"\r\n", fk.port);
        static const char e[] = "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}";
        return reply(fd, 401, ch, "application/json", e, strlen(e));
    }
    for (int i = 0; i < fk.nroutes; i++)
        if (!strcmp(path, fk.routes[i].path))
            return reply(fd, 200, NULL, fk.routes[i].ctype, fk.routes[i].body, fk.routes[i].len);
    static const char nf[] = "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}";
    reply(fd, 404, NULL, "application/json", nf, strlen(nf));
}

static void *server(void *arg)
{
    while (!fk.stop) {
        struct pollfd p = {.fd = fk.lfd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0) continue;
        int fd = accept4(fk.lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) continue;
        serve(fd);
        close(fd);
    }
    return NULL;
}

static void add_route(const char *path, const char *ctype, char *body, size_t len)
{
    struct route *r = &fk.routes[fk.nroutes++];
    r->path = sk_strdup(path);
    r->ctype = sk_strdup(ctype);
    r->body = body;
    r->len = len;
}

static void add_blob(const char *digest, const char *file)
{
    size_t n = 0;
    char *d = th_read(file, &n);
    _sk_free_ char *p = sk_printf("/v2/auth/app/blobs/%s", digest);
    add_route(p, "application/octet-stream", d, n);
}

static bool start_fake(const th_image *im)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    fk.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fk.lfd < 0 || bind(fk.lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fk.lfd, 16) < 0 ||
        getsockname(fk.lfd, (struct sockaddr *)&a, &len) < 0)
        return false;
    fk.port = ntohs(a.sin_port);
    char *man = th_manifest(im);
    add_route("/v2/auth/app/manifests/v1", MT_OCI_MANIFEST, man, strlen(man));
    _sk_free_ char *cp = sk_printf("/v2/auth/app/blobs/%s", im->cdig);
    add_route(cp, "application/octet-stream", sk_strdup(im->config), strlen(im->config));
    add_blob(im->d1, im->l1);
    add_blob(im->d2gz, im->l2gz);
    return pthread_create(&fk.th, NULL, server, NULL) == 0;
}

static void stop_fake(void)
{
    fk.stop = 1;
    pthread_join(fk.th, NULL);
    close(fk.lfd);
    for (int i = 0; i < fk.nroutes; i++) {
        free(fk.routes[i].path);
        free(fk.routes[i].ctype);
        free(fk.routes[i].body);
    }
}

static int pull_as(const char *data, const char *user, const char *pass, sk_err *err)
{
    sk_image_store *s = sk_image_store_open(data, err);
    if (!s) return -1;
    _sk_free_ char *ref = sk_printf("127.0.0.1:%d/auth/app:v1", fk.port);
    struct sk_image_pull_opts o = {.username = user, .password = pass};
    int rc = sk_image_pull(s, ref, &o, NULL, err);
    sk_err rerr = SK_ERR_INIT;
    if (rc == 0 && sk_image_remove(s, ref, &rerr) < 0) rc = -1; /* next case pulls again */
    sk_image_store_free(s);
    return rc;
}

static void test_bearer(const char *data)
{
    sk_err err = SK_ERR_INIT;
    fk.mode = BEARER;
    int rc = pull_as(data, NULL, NULL, &err);
    if (rc < 0) fprintf(stderr, "anonymous bearer: %s\n", err.msg);
    CHECK(rc == 0);
    CHECK(fk.token_calls >= 1);
    CHECK(strstr(fk.last_token_query, "service=fake"));
    CHECK(strstr(fk.last_token_query, "scope=repository%3Aauth%2Fapp%3Apull"));
    fk.mode = BEARER_CREDS;
    CHECK(pull_as(data, NULL, NULL, &err) < 0);
    CHECK(err.code == SK_EUNAUTHORIZED && strstr(err.msg, "token endpoint: HTTP 401"));
    CHECK(pull_as(data, "user", "wrong", &err) < 0 && strstr(err.msg, "credentials refused"));
    rc = pull_as(data, "user", "pass", &err);
    if (rc < 0) fprintf(stderr, "bearer with credentials: %s\n", err.msg);
    CHECK(rc == 0);
}

static void test_basic(const char *data)
{
    sk_err err = SK_ERR_INIT;
    fk.mode = BASIC;
    CHECK(pull_as(data, NULL, NULL, &err) < 0);
    CHECK(err.code == SK_EUNAUTHORIZED && strstr(err.msg, "no credentials configured"));
    CHECK(pull_as(data, "user", "pass", &err) == 0);
    _sk_free_ char *path = sk_printf("%s/registries.yaml", data);
    _sk_free_ char *yml = sk_printf("configs:\n  \"127.0.0.1:%d\":\n    auth:\n"
                                    "      username: user\n      password: pass\n", fk.port);
    th_write(path, yml);
    int rc = pull_as(data, NULL, NULL, &err);
    if (rc < 0) fprintf(stderr, "basic from registries.yaml: %s\n", err.msg);
    CHECK(rc == 0);
    unlink(path);
}

int main(void)
{
    if (!th_netns()) {
        fprintf(stderr, "skip: cannot make a network namespace\n");
        return 77;
    }
    char *dir = th_tmpdir();
    th_image im;
    th_image_build(&im, dir);
    REQUIRE(start_fake(&im));
    _sk_free_ char *data = sk_printf("%s/data", dir);
    test_bearer(data);
    test_basic(data);
    stop_fake();
    th_image_free(&im);
    return test_done();
}
