/* Built-in sample images: build them into a temp store, look them up by
 * the tutorial names, check configs and the unpacked tree, and run the
 * sample servers directly on loopback ports (hello's reply line and
 * SIGTERM, netexec's /echo, /shell, UDP echo and /exit). Needs the sample
 * binaries (tools/samples, found via SKIFF_SAMPLES_DIR or BUILD/samples
 * above this executable) and /bin/busybox; exits 77 without them. */
#include "unit/test.h"
#include "unit/runtime/test_image_helpers.h"

#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *find_samples(void)
{
    const char *env = getenv("SKIFF_SAMPLES_DIR");
    if (env) return sk_strdup(env);
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return NULL;
    exe[n] = '\0';
    for (char *d = dirname(exe); strcmp(d, "/") && strcmp(d, "."); d = dirname(d)) {
        _sk_free_ char *p = sk_printf("%s/samples/hello", d);
        if (access(p, X_OK) == 0) return sk_printf("%s/samples", d);
    }
    return NULL;
}

static int free_port(int type)
{
    int s = socket(AF_INET, type, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(s, (struct sockaddr *)&a, &l) < 0) {
        if (s >= 0) close(s);
        return -1;
    }
    close(s);
    return ntohs(a.sin_port);
}

static pid_t spawn(char *const argv[], const char *version)
{
    pid_t pid = fork();
    if (pid == 0) {
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 1);
        if (version) setenv("VERSION", version, 1);
        else unsetenv("VERSION");
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* GET PATH from 127.0.0.1:PORT (retrying while the server starts);
 * returns the body or NULL. */
static char *http_get(int port, const char *path)
{
    for (int tries = 0; tries < 100; tries++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
            close(s);
            usleep(20000);
            continue;
        }
        struct timeval tmo = {3, 0};
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof tmo);
        _sk_free_ char *req = sk_printf("GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
        if (write(s, req, strlen(req)) != (ssize_t)strlen(req)) {
            close(s);
            return NULL;
        }
        sk_buf b = SK_BUF_INIT;
        char buf[4096];
        ssize_t r;
        while ((r = read(s, buf, sizeof buf)) > 0) sk_buf_add(&b, buf, (size_t)r);
        close(s);
        if (!b.data) return NULL;
        _sk_free_ char *all = sk_buf_take(&b);
        char *body = strstr(all, "\r\n\r\n");
        return body && !strncmp(all, "HTTP/1.1 200", 12) ? sk_strdup(body + 4) : NULL;
    }
    return NULL;
}

/* waitpid with a deadline; returns the status or -1 (then kills). */
static int wait_for(pid_t pid, int ms)
{
    int st;
    for (int i = 0; i < ms / 10; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid) return st;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

static bool has_label(const sk_image_cfg *c, const char *k, const char *v)
{
    for (size_t i = 0; c->labels && c->labels[i]; i += 2)
        if (!strcmp(c->labels[i], k) && (!v || !strcmp(c->labels[i + 1], v))) return true;
    return false;
}

static bool has_str(char **v, const char *s)
{
    for (size_t i = 0; v && v[i]; i++)
        if (!strcmp(v[i], s)) return true;
    return false;
}

static void check_images(sk_image_store *s)
{
    sk_err err = SK_ERR_INIT;
    const char *const *refs = sk_image_builtin_refs();
    for (int i = 0; refs[i]; i++) CHECK_INT(sk_image_exists(s, refs[i], &err), 1);
    sk_image_cfg *v1 = sk_image_config(s, "gcr.io/google-samples/kubernetes-bootcamp:v1", &err);
    sk_image_cfg *v2 = sk_image_config(s, "docker.io/jocatalin/kubernetes-bootcamp:v2", &err);
    sk_image_cfg *ag = sk_image_config(s, "registry.k8s.io/e2e-test-images/agnhost:2.39", &err);
    CHECK(v1 && v2 && ag);
    if (v1 && v2 && ag) {
        CHECK_STR(v1->entrypoint ? v1->entrypoint[0] : NULL, "/hello");
        CHECK_STR(ag->entrypoint ? ag->entrypoint[0] : NULL, "/agnhost");
        CHECK_STR(ag->cmd ? ag->cmd[0] : NULL, "netexec");
        CHECK(has_str(v2->env, "VERSION=2") && !has_str(v1->env, "VERSION=2"));
        CHECK(has_str(v1->exposed_ports, "8080/tcp"));
        CHECK_STR(v1->working_dir, "/");
        CHECK(has_label(v1, "io.skiff.builtin", "true"));
        CHECK(has_label(ag, "org.opencontainers.image.description", NULL));
        CHECK(strcmp(v1->id, v2->id) != 0);
    }
    sk_image_cfg_free(v1);
    sk_image_cfg_free(v2);
    sk_image_cfg_free(ag);
}

static void check_unpack(sk_image_store *s, const char *dir)
{
    sk_err err = SK_ERR_INIT;
    _sk_free_ char *root = sk_printf("%s/rootfs", dir);
    CHECK_INT(sk_image_unpack(s, "gcr.io/google-samples/kubernetes-bootcamp:v1", root, &err), 0);
    _sk_free_ char *hello = sk_printf("%s/hello", root);
    _sk_free_ char *sh = sk_printf("%s/bin/sh", root);
    _sk_free_ char *bb = sk_printf("%s/bin/busybox", root);
    struct stat st;
    CHECK(stat(hello, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) == 0111);
    CHECK(stat(bb, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0100));
    char link[256] = "";
    ssize_t n = readlink(sh, link, sizeof link - 1);
    if (n > 0) link[n] = '\0';
    CHECK_STR(link, "/bin/busybox");
    /* curl and the libraries it links: run it with the image's own loader
     * and library directory only (no chroot needed). */
    if (access("/usr/bin/curl", X_OK) == 0) {
        _sk_free_ char *cmd = sk_printf(
            "%s/lib64/ld-linux-x86-64.so.2 --inhibit-cache --library-path %s/lib/x86_64-linux-gnu "
            "%s/usr/bin/curl --version 2>&1", root, root, root);
        FILE *f = access("/lib64/ld-linux-x86-64.so.2", X_OK) == 0 ? popen(cmd, "r") : NULL;
        char line[256] = "";
        if (f) {
            if (!fgets(line, sizeof line, f)) line[0] = 0;
            pclose(f);
            CHECK(!strncmp(line, "curl ", 5));
        }
    }
}

static void check_hello(const char *samples, const char *version, const char *want_v)
{
    int port = free_port(SOCK_STREAM);
    _sk_free_ char *bin = sk_printf("%s/hello", samples);
    _sk_free_ char *ps = sk_printf("%d", port);
    char *argv[] = {bin, "--port", ps, NULL};
    pid_t pid = spawn(argv, version);
    CHECK(pid > 0 && port > 0);
    if (pid <= 0) return;
    _sk_free_ char *body = http_get(port, "/");
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    _sk_free_ char *want = sk_printf("Hello Kubernetes bootcamp! | Running on: %s | v=%s\n",
                                     host, want_v);
    CHECK_STR(body, want);
    kill(pid, SIGTERM);
    int st = wait_for(pid, 2000); /* SIGTERM must end it promptly */
    CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static char *udp_echo(int port, const char *msg)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    char buf[256];
    for (int i = 0; i < 20; i++) {
        sendto(s, msg, strlen(msg), 0, (struct sockaddr *)&a, sizeof a);
        struct pollfd p = {s, POLLIN, 0};
        if (poll(&p, 1, 100) == 1) {
            ssize_t n = recv(s, buf, sizeof buf - 1, 0);
            close(s);
            if (n < 0) return NULL;
            buf[n] = '\0';
            return sk_strdup(buf);
        }
    }
    close(s);
    return NULL;
}

static void check_netexec(const char *samples)
{
    int hp = free_port(SOCK_STREAM), up = free_port(SOCK_DGRAM);
    _sk_free_ char *bin = sk_printf("%s/netexec", samples);
    _sk_free_ char *hs = sk_printf("--http-port=%d", hp);
    _sk_free_ char *us = sk_printf("--udp-port=%d", up);
    char *argv[] = {bin, "netexec", hs, us, NULL};
    pid_t pid = spawn(argv, NULL);
    CHECK(pid > 0 && hp > 0 && up > 0);
    if (pid <= 0) return;
    _sk_free_ char *echo = http_get(hp, "/echo?msg=hello%20world");
    CHECK_STR(echo, "hello world");
    _sk_free_ char *shell = http_get(hp, "/shell?cmd=echo+%27%22hi%22%27");
    CHECK_STR(shell, "{\"output\":\"\\\"hi\\\"\\n\"}");
    _sk_free_ char *ip = http_get(hp, "/clientip");
    CHECK(ip && !strncmp(ip, "127.0.0.1:", 10));
    _sk_free_ char *u = udp_echo(up, "echo abc");
    CHECK_STR(u, "abc");
    free(http_get(hp, "/exit?code=3")); /* the server exits before it answers */
    int st = wait_for(pid, 2000);
    CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 3);
}

int main(void)
{
    _sk_free_ char *samples = find_samples();
    if (!samples || access("/bin/busybox", X_OK) != 0) {
        fprintf(stderr, "skip: sample binaries or /bin/busybox missing\n");
        return 77;
    }
    char *dir = th_tmpdir();
    sk_err err = SK_ERR_INIT;
    sk_image_store *s = sk_image_store_open(dir, &err);
    REQUIRE(s);
    REQUIRE(sk_image_builtin_load(s, samples, NULL, &err) == 0);
    sk_image_info *v1 = NULL, *v2 = NULL;
    size_t n1 = 0, n2 = 0;
    CHECK_INT(sk_image_list(s, &v1, &n1, &err), 0);
    /* Reloading is idempotent: same digests, no new images. */
    CHECK_INT(sk_image_builtin_load(s, samples, NULL, &err), 0);
    CHECK_INT(sk_image_list(s, &v2, &n2, &err), 0);
    CHECK_INT(n1, 3);
    CHECK_INT(n2, 3);
    for (size_t i = 0; i < n1 && i < n2; i++) CHECK_STR(v1[i].manifest, v2[i].manifest);
    sk_image_info_free(v1, n1);
    sk_image_info_free(v2, n2);

    sk_err bad = SK_ERR_INIT;
    CHECK_INT(sk_image_builtin_load(s, dir, NULL, &bad), -1); /* no binaries there */
    CHECK(bad.msg[0] != '\0');

    check_images(s);
    check_unpack(s, dir);
    sk_image_store_free(s);
    check_hello(samples, NULL, "1");
    check_hello(samples, "2", "2");
    check_netexec(samples);
    return test_done();
}
