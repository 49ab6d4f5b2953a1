/* CNI driver tests.
 *
 * Part 1 (any user): parsers, the plugin runner and the ADD/DEL chain logic
 * against fake plugins (shell scripts that log their calls), with the
 * caller's own netns standing in for a pod's.
 *
 * Part 2 (root, Debian containernetworking-plugins): a node netns and pod
 * netns made here; real ADD/DEL/CHECK, pod-to-pod and node-to-pod traffic,
 * hostPort through portmap from a client netns, lease release, idempotent
 * DEL, DEL after the netns is gone, gc after a "restart". Everything it
 * creates is removed at the end, and the host's links and nftables ruleset
 * are compared before and after. Exits 77 when not root or plugins are
 * missing (after part 1 passed). */
#include "network/cni_int.h"
#include "unit/test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* ---- small helpers ------------------------------------------------------------ */

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    return remove(p) < 0 ? 0 : 0;
}

static void rm_rf(const char *dir)
{
    if (dir && *dir) nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_exec(const char *dir, const char *name, const char *body)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return;
    fputs(body, f);
    fclose(f);
    chmod(path, 0755);
}

static char *slurp(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *s = sk_read_file(path, NULL, NULL);
    return s ? s : sk_strdup("");
}

static bool exists_in(const char *dir, const char *rel)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    return access(path, F_OK) == 0;
}

/* Runs cmd (a shell line) and returns its stdout (caller frees). */
static char *run_capture(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    if (!p) return sk_strdup("");
    sk_buf b = SK_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) sk_buf_add(&b, chunk, n);
    pclose(p);
    return b.len ? sk_buf_take(&b) : sk_strdup("");
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- part 1: parsers ------------------------------------------------------------- */

static int test_parsers(void)
{
    struct sk_cni_cidr c;
    sk_err err = SK_ERR_INIT;
    CHECK(sk_cni_parse_cidr("10.244.1.0/24", &c, &err) == 0);
    CHECK_STR(c.network, "10.244.1.0");
    CHECK_STR(c.gateway, "10.244.1.1");
    CHECK_INT(c.prefix, 24);
    CHECK(sk_cni_parse_cidr("fd00:10:244:1::/64", &c, &err) == 0);
    CHECK_STR(c.gateway, "fd00:10:244:1::1");
    CHECK(sk_cni_parse_cidr("10.244.1.5/24", &c, &err) < 0 && strstr(err.msg, "host bits"));
    CHECK(sk_cni_parse_cidr("10.0.0.0/31", &c, &err) < 0);
    CHECK(sk_cni_parse_cidr("10.0.0.0/4", &c, &err) < 0);
    CHECK(sk_cni_parse_cidr("10.0.0.0/", &c, &err) < 0);
    CHECK(sk_cni_parse_cidr("10.0.0.0/24x", &c, &err) < 0);
    CHECK(sk_cni_parse_cidr("banana/24", &c, &err) < 0);
    CHECK(sk_cni_parse_cidr(NULL, &c, &err) < 0 && err.code == SK_EINVALID);

    CHECK(sk_cni_id_ok("abc-123_x.y"));
    CHECK(!sk_cni_id_ok("-abc"));
    CHECK(!sk_cni_id_ok("a/b"));
    CHECK(!sk_cni_id_ok(""));
    CHECK(!sk_cni_id_ok("a b"));

    const char *res_text =
        "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"cni0\",\"mac\":\"aa:bb:cc:dd:ee:01\"},"
        "{\"name\":\"veth1234\",\"mac\":\"aa:bb:cc:dd:ee:02\"},{\"name\":\"eth0\",\"mac\":"
        "\"aa:bb:cc:dd:ee:03\",\"sandbox\":\"/run/netns/p\"}],\"ips\":[{\"address\":\"bogus\"},"
        "{\"interface\":2,\"address\":\"10.244.1.7/24\",\"gateway\":\"10.244.1.1\"}]}";
    json_t *r = json_loads(res_text, 0, NULL);
    struct sk_net_result nr;
    CHECK(sk_cni_parse_result(r, "cni0", "eth0", &nr, &err) == 0);
    CHECK_STR(nr.ip, "10.244.1.7");
    CHECK_INT(nr.prefix_len, 24);
    CHECK_STR(nr.gateway, "10.244.1.1");
    CHECK_STR(nr.ifname, "eth0");
    CHECK_STR(nr.mac, "aa:bb:cc:dd:ee:03");
    CHECK_STR(nr.host_veth, "veth1234");
    json_decref(r);
    r = json_loads("{\"ips\":[],\"interfaces\":7}", 0, NULL);
    CHECK(sk_cni_parse_result(r, "cni0", "eth0", &nr, &err) < 0);
    json_decref(r);
    r = json_loads("{\"ips\":[{\"address\":\"10.1.2.3/8\",\"interface\":99}],"
                   "\"interfaces\":[{\"name\":\"an-interface-name-that-is-too-long\"}]}", 0, NULL);
    CHECK(sk_cni_parse_result(r, "cni0", "eth0", &nr, &err) == 0);
    CHECK_STR(nr.ip, "10.1.2.3");
    CHECK_STR(nr.ifname, "eth0");
    CHECK_STR(nr.host_veth, "");
    json_decref(r);

    const char *perr = "{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"busy\",\"details\":\"retry\"}";
    sk_cni_plugin_error("bridge", "ADD", 1 << 8, perr, strlen(perr), "", &err);
    CHECK(strstr(err.msg, "cni bridge ADD failed: busy: retry (code 11)") != NULL);
    CHECK_INT(err.code, SK_EUNAVAILABLE);
    sk_cni_plugin_error("portmap", "DEL", 3 << 8, "not json", 8, "line1\npanic: oops\n", &err);
    CHECK(strstr(err.msg, "exit status 3") && strstr(err.msg, "panic: oops"));
    sk_cni_plugin_error("x", "ADD", 9, NULL, 0, NULL, &err);
    CHECK(strstr(err.msg, "killed by signal 9") != NULL);
    return 0;
}

/* ---- part 1: plugin runner and chain with fake plugins ----------------------------- */

/* One script serves as every plugin: logs "name CMD ifname id" and its stdin,
 * fails when a marker file says so, answers ADD/CHECK with a fixed result. */
static const char fake_plugin[] =
    "#!/bin/sh\n"
    "conf=$(cat)\n"
    "name=${0##*/}\n"
    "echo \"$name $CNI_COMMAND $CNI_IFNAME $CNI_CONTAINERID\" >> \"$CNI_PATH/calls\"\n"
    "printf '%s\\n' \"$conf\" >> \"$CNI_PATH/stdin.$name.$CNI_COMMAND\"\n"
    "echo \"$CNI_ARGS\" > \"$CNI_PATH/args\"\n"
    "env | grep -v '^PWD=\\|^SHLVL=\\|^_=' | sort > \"$CNI_PATH/env\"\n"
    "if [ -e \"$CNI_PATH/fail-$name-$CNI_COMMAND\" ]; then\n"
    "  echo '{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"boom\",\"details\":\"fake\"}'; exit 1\n"
    "fi\n"
    "[ \"$CNI_COMMAND\" = ADD ] || exit 0\n"
    "echo '{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"cni0\"},{\"name\":\"vethf\"},"
    "{\"name\":\"eth0\",\"sandbox\":\"x\"}],\"ips\":[{\"interface\":2,\"address\":\"10.88.0.5/24\","
    "\"gateway\":\"10.88.0.1\"}]}'\n";

static int test_exec(const char *dir)
{
    write_exec(dir, "slow", "#!/bin/sh\nexec sleep 5\n");
    write_exec(dir, "big", "#!/bin/sh\nhead -c 3000000 /dev/zero | tr '\\0' a\n");
    write_exec(dir, "garbage", "#!/bin/sh\necho not-json\n");
    write_exec(dir, "stderr", "#!/bin/sh\necho oops >&2; exit 3\n");
    struct sk_cni_call c = {.plugin_dir = dir, .command = "ADD", .container_id = "x", .netns = "",
                            .ifname = "eth0", .netns_fd = -1, .timeout_ms = 300, .conf = "{}", .conf_len = 2};
    sk_err err = SK_ERR_INIT;
    json_t *res = NULL;
    int64_t t0 = sk_now_ms();
    c.type = "slow";
    CHECK(sk_cni_exec(&c, &res, &err) < 0 && err.code == SK_ETIMEOUT);
    CHECK(sk_now_ms() - t0 < 2000);
    c.type = "big";
    c.timeout_ms = 5000;
    CHECK(sk_cni_exec(&c, &res, &err) < 0 && strstr(err.msg, "too large"));
    c.type = "garbage";
    CHECK(sk_cni_exec(&c, &res, &err) < 0 && strstr(err.msg, "invalid result"));
    c.type = "stderr";
    CHECK(sk_cni_exec(&c, &res, &err) < 0 && strstr(err.msg, "exit status 3: oops"));
    c.type = "missing";
    CHECK(sk_cni_exec(&c, &res, &err) < 0 && err.code == SK_ENOTFOUND);
    c.type = "../slow";
    CHECK(sk_cni_exec(&c, &res, &err) < 0 && err.code == SK_EINVALID);
    CHECK(res == NULL);
    return 0;
}

static int test_fake_chain(const char *dir)
{
    const char *names[] = {"loopback", "bridge", "host-local", "portmap"};
    for (size_t i = 0; i < 4; i++) write_exec(dir, names[i], fake_plugin);
    char data[512];
    snprintf(data, sizeof data, "%s/data", dir);
    setenv("SKIFF_TEST_SECRET", "leak", 1); /* must not reach plugins */
    sk_err err = SK_ERR_INIT;
    struct sk_net_config cfg = {.pod_cidr = "10.88.0.0/24", .data_dir = data, .plugin_dir = dir};
    sk_net *n = sk_net_new(&cfg, &err);
    REQUIRE(n);
    CHECK(exists_in(data, "cni/net.d/10-skiff.conflist"));
    const char *self_ns = "/proc/self/ns/net"; /* stands in for a pod netns */
    struct sk_net_port ports[] = {{8080, 80, "tcp", NULL}, {5353, 53, "udp", "127.0.0.1"}};
    struct sk_net_pod_opts o = {.k8s_namespace = "default", .k8s_name = "web-1", .ports = ports, .n_ports = 2};
    struct sk_net_result r;
    CHECK(sk_net_pod_add(n, "pod-a", self_ns, &o, &r, &err) == 0);
    CHECK_STR(r.ip, "10.88.0.5");
    CHECK_STR(r.host_veth, "vethf");
    _sk_free_ char *calls = slurp(dir, "calls");
    CHECK_STR(calls, "loopback ADD lo pod-a\nbridge ADD eth0 pod-a\nportmap ADD eth0 pod-a\n");
    _sk_free_ char *pm = slurp(dir, "stdin.portmap.ADD");
    CHECK(strstr(pm, "\"prevResult\":{") && strstr(pm, "\"runtimeConfig\":{\"portMappings\":["));
    CHECK(strstr(pm, "\"hostIP\":\"127.0.0.1\"") && strstr(pm, "\"name\":\"skiff\""));
    _sk_free_ char *br = slurp(dir, "stdin.bridge.ADD");
    CHECK(!strstr(br, "prevResult") && !strstr(br, "runtimeConfig"));
    CHECK(strstr(br, "\"ipMasq\":false") && strstr(br, "\"subnet\":\"10.88.0.0/24\""));
    _sk_free_ char *args = slurp(dir, "args");
    CHECK(strstr(args, "K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-1;") != NULL);
    _sk_free_ char *env = slurp(dir, "env");
    CHECK(!strstr(env, "SKIFF_TEST_SECRET") && !strstr(env, "HOME="));
    CHECK(strstr(env, "CNI_COMMAND=ADD") && strstr(env, "PATH=/usr/local/sbin"));

    /* A second ADD of a live pod is refused without running plugins. */
    CHECK(sk_net_pod_add(n, "pod-a", self_ns, &o, &r, &err) < 0 && err.code == SK_EEXIST);
    CHECK(sk_net_pod_check(n, "pod-a", NULL, &err) == 0);
    struct sk_net_result r2;
    CHECK(sk_net_pod_result(n, "pod-a", &r2, &err) == 0 && !strcmp(r2.ip, "10.88.0.5"));

    /* DEL: reverse order, cached prevResult and port mappings. */
    write_exec(dir, "calls", "");
    CHECK(sk_net_pod_del(n, "pod-a", NULL, &err) == 0);
    free(calls);
    calls = slurp(dir, "calls");
    CHECK_STR(calls, "portmap DEL eth0 pod-a\nbridge DEL eth0 pod-a\nloopback DEL lo pod-a\n");
    free(pm);
    pm = slurp(dir, "stdin.portmap.DEL");
    CHECK(strstr(pm, "\"prevResult\":{") && strstr(pm, "\"containerPort\":53"));
    CHECK(!exists_in(data, "cni/results/pod-a"));
    write_exec(dir, "calls", "");
    CHECK(sk_net_pod_del(n, "pod-a", NULL, &err) == 0); /* unknown now: no plugin runs */
    free(calls);
    calls = slurp(dir, "calls");
    CHECK_STR(calls, "");

    /* A failing plugin: error names it, the partial attachment is undone. */
    write_exec(dir, "fail-portmap-ADD", "");
    CHECK(sk_net_pod_add(n, "pod-b", self_ns, &o, &r, &err) < 0);
    CHECK(strstr(err.msg, "cni portmap ADD failed: boom: fake (code 7)") != NULL);
    CHECK(strstr(err.msg, "pod pod-b") != NULL);
    free(calls);
    calls = slurp(dir, "calls");
    CHECK(strstr(calls, "portmap DEL eth0 pod-b\nbridge DEL eth0 pod-b\nloopback DEL lo pod-b\n"));
    CHECK(!exists_in(data, "cni/results/pod-b"));

    /* No hostPorts and lo already up: only the bridge runs, ADD and DEL. */
    _sk_free_ char *failer = sk_printf("%s/fail-portmap-ADD", dir);
    unlink(failer);
    write_exec(dir, "calls", "");
    struct sk_net_pod_opts plain = {.lo_up = true};
    CHECK(sk_net_pod_add(n, "pod-d", self_ns, &plain, &r, &err) == 0);
    CHECK(sk_net_pod_del(n, "pod-d", NULL, &err) == 0);
    free(calls);
    calls = slurp(dir, "calls");
    CHECK_STR(calls, "bridge ADD eth0 pod-d\nbridge DEL eth0 pod-d\n");

    /* Bad inputs. */
    CHECK(sk_net_pod_add(n, "../x", self_ns, NULL, &r, &err) < 0 && err.code == SK_EINVALID);
    CHECK(sk_net_pod_add(n, "pod-c", "/tmp", NULL, &r, &err) < 0 && err.code == SK_EINVALID);
    struct sk_net_port bad = {0, 80, "tcp", NULL};
    struct sk_net_pod_opts ob = {.ports = &bad, .n_ports = 1};
    CHECK(sk_net_pod_add(n, "pod-c", self_ns, &ob, &r, &err) < 0 && err.code == SK_EINVALID);
    struct sk_net_pod_opts oc = {.k8s_name = "a;b=c"};
    CHECK(sk_net_pod_add(n, "pod-c", self_ns, &oc, &r, &err) < 0 && err.code == SK_EINVALID);
    CHECK(sk_net_pod_check(n, "pod-c", NULL, &err) < 0 && err.code == SK_ENOTFOUND);
    sk_net_free(n);

    struct sk_net_config bad_cfg = {.pod_cidr = "10.88.0.0/24", .data_dir = data, .plugin_dir = "/nonexistent"};
    CHECK(!sk_net_new(&bad_cfg, &err) && err.code == SK_ENOTFOUND);
    bad_cfg.plugin_dir = dir;
    bad_cfg.pod_cidr = "10.88.0.1/24";
    CHECK(!sk_net_new(&bad_cfg, &err) && err.code == SK_EINVALID);
    bad_cfg.pod_cidr = "10.88.0.0/24";
    bad_cfg.netns_path = "/tmp";
    CHECK(!sk_net_new(&bad_cfg, &err) && err.code == SK_EINVALID);
    unsetenv("SKIFF_TEST_SECRET");
    return 0;
}

/* ---- part 2: real plugins in test netns ------------------------------------------- */

#define NPODS 11 /* 0-1 traffic, 3-4 gc, 5-9 bench, 10 helper test */
static struct {
    char tag[8];
    int octet;
    char node[32], client[32], pod[NPODS][32];
    char node_path[64], client_path[64], pod_path[NPODS][64];
    char data[256];
    char net[32];     /* "10.99.R." */
    char node_ip[32]; /* node's address on the client link */
} E;

static void real_cleanup(void)
{
    sk_err err = SK_ERR_INIT;
    for (int i = 0; i < NPODS; i++)
        if (E.pod[i][0] && sk_net_netns_delete(E.pod[i], &err) < 0) fprintf(stderr, "cleanup: %s\n", err.msg);
    if (E.client[0] && sk_net_netns_delete(E.client, &err) < 0) fprintf(stderr, "cleanup: %s\n", err.msg);
    if (E.node[0] && sk_net_netns_delete(E.node, &err) < 0) fprintf(stderr, "cleanup: %s\n", err.msg);
    rm_rf(E.data);
}

static int make_pod_ns(int i)
{
    sk_err err = SK_ERR_INIT;
    char tag[sizeof E.tag];
    memcpy(tag, E.tag, sizeof tag);
    snprintf(E.pod[i], sizeof E.pod[i], "sknt-%s-p%d", tag, i);
    if (sk_net_netns_create(E.pod[i], false, E.pod_path[i], sizeof E.pod_path[i], &err) < 0) {
        fprintf(stderr, "netns %s: %s\n", E.pod[i], err.msg);
        E.pod[i][0] = 0;
        return -1;
    }
    return 0;
}

/* Functions run inside a netns through sk_net_netns_run. */
static int ns_listen(void *arg)
{
    int port = *(int *)arg;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

struct conn_req {
    const char *ip;
    int port;
    int timeout_ms;
};

static int ns_connect(void *arg)
{
    const struct conn_req *c = arg;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
    inet_pton(AF_INET, c->ip, &a.sin_addr);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) goto fail;
    struct pollfd p = {fd, POLLOUT, 0};
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (poll(&p, 1, c->timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr)
        goto fail;
    fcntl(fd, F_SETFL, 0);
    return fd;
fail:
    close(fd);
    return -1;
}

static int ns_has_eth0(void *arg) { return if_nametoindex("eth0") > 0; }

static int ns_lo_up(void *arg)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    int up = s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
    if (s >= 0) close(s);
    return up;
}

/* Connects from netns `from` to ip:port, where listener lfd must accept it;
 * a byte goes each way. Writes the peer address seen by the server. */
static bool reach(const char *from, const char *ip, int port, int lfd, char *peer, size_t peer_len)
{
    struct conn_req c = {ip, port, 2000};
    sk_err err = SK_ERR_INIT;
    int cfd = sk_net_netns_run(from, ns_connect, &c, &err);
    if (cfd < 0) return false;
    bool ok = false;
    struct pollfd p = {lfd, POLLIN, 0};
    struct sockaddr_in pa;
    socklen_t pl = sizeof pa;
    int sfd = poll(&p, 1, 2000) == 1 ? accept4(lfd, (struct sockaddr *)&pa, &pl, SOCK_CLOEXEC) : -1;
    char b = 0;
    if (sfd >= 0 && write(cfd, "x", 1) == 1 && read(sfd, &b, 1) == 1 && b == 'x' &&
        write(sfd, "y", 1) == 1 && read(cfd, &b, 1) == 1 && b == 'y') {
        ok = true;
        if (peer) inet_ntop(AF_INET, &pa.sin_addr, peer, (socklen_t)peer_len);
    }
    if (sfd >= 0) close(sfd);
    close(cfd);
    return ok;
}

static bool refused(const char *from, const char *ip, int port)
{
    struct conn_req c = {ip, port, 500};
    sk_err err = SK_ERR_INIT;
    int cfd = sk_net_netns_run(from, ns_connect, &c, &err);
    if (cfd >= 0) close(cfd);
    return cfd < 0;
}

static bool ping(const char *ns_name, const char *ip)
{
    return sh("ip netns exec %s busybox ping -c1 -W1 %s >/dev/null 2>&1", ns_name, ip) == 0;
}

static char *host_links(void)
{
    struct if_nameindex *ifs = if_nameindex();
    sk_buf b = SK_BUF_INIT;
    for (struct if_nameindex *i = ifs; i && i->if_index; i++) sk_buf_addf(&b, "%s ", i->if_name);
    if_freenameindex(ifs);
    return b.len ? sk_buf_take(&b) : sk_strdup("");
}

static bool lease_exists(const char *ip)
{
    char path[512];
    snprintf(path, sizeof path, "%s/cni/ipam/skiff/%s", E.data, ip);
    return access(path, F_OK) == 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int setup_node(void)
{
    sk_err err = SK_ERR_INIT;
    snprintf(E.node, sizeof E.node, "sknt-%s", E.tag);
    if (sk_net_netns_create(E.node, true, E.node_path, sizeof E.node_path, &err) < 0) {
        fprintf(stderr, "node netns: %s\n", err.msg);
        E.node[0] = 0;
        return -1;
    }
    snprintf(E.client, sizeof E.client, "sknt-%s-c", E.tag);
    if (sk_net_netns_create(E.client, true, E.client_path, sizeof E.client_path, &err) < 0) {
        fprintf(stderr, "client netns: %s\n", err.msg);
        E.client[0] = 0;
        return -1;
    }
    snprintf(E.net, sizeof E.net, "10.99.%d.", E.octet);
    snprintf(E.node_ip, sizeof E.node_ip, "172.31.%d.1", E.octet);
    /* The node's "physical" link: a veth to the client netns. */
    return sh("ip -n %s link add ext0 type veth peer name eth0 netns %s && "
              "ip -n %s addr add %s/24 dev ext0 && ip -n %s link set ext0 up && "
              "ip -n %s addr add 172.31.%d.2/24 dev eth0 && ip -n %s link set eth0 up",
              E.node, E.client, E.node, E.node_ip, E.node, E.client, E.octet, E.client) == 0 ? 0 : -1;
}

static int test_traffic(sk_net *n, struct sk_net_result r[2])
{
    /* pod1 -> pod2 and node -> pod by ICMP and TCP. */
    CHECK(ping(E.pod[0], r[1].ip));
    CHECK(ping(E.node, r[0].ip));
    int port = 9000;
    int l2 = sk_net_netns_run(E.pod_path[1], ns_listen, &port, NULL);
    REQUIRE(l2 >= 0);
    char peer[64] = "";
    CHECK(reach(E.pod_path[0], r[1].ip, 9000, l2, peer, sizeof peer));
    CHECK_STR(peer, r[0].ip); /* no masquerade on the pod network */
    CHECK(reach(E.node_path, r[1].ip, 9000, l2, peer, sizeof peer));
    CHECK_STR(peer, r[0].gateway); /* the node speaks from cni0 */
    close(l2);

    /* hostPort 8080 -> pod1:8080 via portmap, from outside and from the node. */
    port = 8080;
    int l1 = sk_net_netns_run(E.pod_path[0], ns_listen, &port, NULL);
    REQUIRE(l1 >= 0);
    CHECK(reach(E.client_path, E.node_ip, 8080, l1, peer, sizeof peer));
    CHECK(!strncmp(peer, "172.31.", 7)); /* client address kept */
    CHECK(reach(E.node_path, E.node_ip, 8080, l1, NULL, 0));
    CHECK(reach(E.pod_path[1], E.node_ip, 8080, l1, NULL, 0));
    CHECK(reach(E.pod_path[0], E.node_ip, 8080, l1, NULL, 0)); /* hairpin */
    CHECK(reach(E.node_path, "127.0.0.1", 8080, l1, NULL, 0)); /* route_localnet + masq */
    close(l1);
    return 0;
}

static int test_del(sk_net *n, struct sk_net_result r[2], int64_t *del_ms)
{
    sk_err err = SK_ERR_INIT;
    int64_t t0 = sk_now_ms();
    CHECK(sk_net_pod_del(n, "p0", E.pod_path[0], &err) == 0);
    del_ms[0] = sk_now_ms() - t0;
    CHECK(!lease_exists(r[0].ip));
    CHECK(!exists_in(E.data, "cni/results/p0"));
    CHECK(sk_net_netns_run(E.pod_path[0], ns_has_eth0, NULL, &err) == 0);
    CHECK(refused(E.client_path, E.node_ip, 8080)); /* DNAT rule gone */
    CHECK(sk_net_pod_del(n, "p0", E.pod_path[0], &err) == 0);
    CHECK(sk_net_pod_del(n, "p0", NULL, &err) == 0);

    /* DEL after the pod netns is gone. */
    REQUIRE(sk_net_netns_delete(E.pod[1], &err) == 0);
    E.pod[1][0] = 0;
    CHECK(!sk_net_netns_exists(E.pod_path[1]));
    t0 = sk_now_ms();
    CHECK(sk_net_pod_del(n, "p1", E.pod_path[1], &err) == 0);
    if (err.code) fprintf(stderr, "del p1: %s\n", err.msg);
    del_ms[1] = sk_now_ms() - t0;
    CHECK(!lease_exists(r[1].ip));
    CHECK(sk_net_pod_del(n, "p1", E.pod_path[1], &err) == 0);
    return 0;
}

/* Agent restart: a fresh sk_net over the same data dir cleans up pods that
 * are gone, from the result cache and, when that was lost, from leases. */
static int test_gc(const struct sk_net_config *cfg)
{
    sk_err err = SK_ERR_INIT;
    sk_net *n = sk_net_new(cfg, &err);
    REQUIRE(n);
    struct sk_net_result r3, r4;
    REQUIRE(make_pod_ns(3) == 0 && make_pod_ns(4) == 0);
    CHECK(sk_net_pod_add(n, "p3", E.pod_path[3], NULL, &r3, &err) == 0);
    CHECK(sk_net_pod_add(n, "p4", E.pod_path[4], NULL, &r4, &err) == 0);
    sk_net_free(n);
    n = sk_net_new(cfg, &err);
    REQUIRE(n);
    const char *live[] = {"p4", "unrelated"};
    size_t removed = 0;
    CHECK(sk_net_gc(n, live, 2, &removed, &err) == 0);
    CHECK_INT(removed, 1);
    CHECK(!lease_exists(r3.ip) && lease_exists(r4.ip));
    CHECK(sk_net_netns_run(E.pod_path[3], ns_has_eth0, NULL, &err) == 0);
    char path[512];
    snprintf(path, sizeof path, "%s/cni/results/p4", E.data);
    CHECK(unlink(path) == 0);
    CHECK(sk_net_gc(n, NULL, 0, &removed, &err) == 0);
    CHECK_INT(removed, 1);
    /* Without the cache the pod's netns is unknown: the IP is released, the
     * veth goes when the runtime deletes the netns. */
    CHECK(!lease_exists(r4.ip));
    CHECK(sk_net_gc(n, NULL, 0, &removed, &err) == 0 && removed == 0);
    sk_net_free(n);
    return 0;
}

/* Latency of ADD and DEL on fresh pod netns, and of the netns pins. */
static int bench(sk_net *n, int64_t *first_del)
{
    enum { N = 5 };
    int64_t add[N], del[N], mk[N];
    sk_err err = SK_ERR_INIT;
    for (int i = 0; i < N; i++) {
        struct sk_net_result r;
        char id[16];
        snprintf(id, sizeof id, "b%d", i);
        int64_t t0 = sk_now_ms();
        REQUIRE(make_pod_ns(5 + i) == 0);
        mk[i] = sk_now_ms() - t0;
        t0 = sk_now_ms();
        CHECK(sk_net_pod_add(n, id, E.pod_path[5 + i], NULL, &r, &err) == 0);
        add[i] = sk_now_ms() - t0;
    }
    for (int i = 0; i < N; i++) {
        char id[16];
        snprintf(id, sizeof id, "b%d", i);
        int64_t t0 = sk_now_ms();
        CHECK(sk_net_pod_del(n, id, E.pod_path[5 + i], &err) == 0);
        del[i] = sk_now_ms() - t0;
        CHECK(sk_net_netns_delete(E.pod[5 + i], &err) == 0);
        E.pod[5 + i][0] = 0;
    }
    qsort(add, N, sizeof add[0], cmp_i64);
    qsort(del, N, sizeof del[0], cmp_i64);
    qsort(mk, N, sizeof mk[0], cmp_i64);
    fprintf(stderr, "latency (median of %d, max): ADD %lld ms (%lld), DEL %lld ms (%lld), "
            "netns create %lld ms; DEL of a pod with a gone netns %lld ms\n", N,
            (long long)add[N / 2], (long long)add[N - 1], (long long)del[N / 2],
            (long long)del[N - 1], (long long)mk[N / 2], (long long)first_del[1]);
    return 0;
}

/* The netns helpers on their own: duplicate names, stale pins, idempotent
 * delete, entering a missing netns. */
static int test_netns_helpers(void)
{
    sk_err err = SK_ERR_INIT;
    char name[40], path[64];
    char tag[sizeof E.tag];
    memcpy(tag, E.tag, sizeof tag);
    snprintf(name, sizeof name, "sknt-%s-s", tag);
    snprintf(E.pod[NPODS - 1], sizeof E.pod[0], "%s", name); /* cleaned up on failure */
    snprintf(path, sizeof path, "/run/netns/%s", name);
    REQUIRE(sk_net_netns_create(name, false, path, sizeof path, &err) == 0);
    CHECK(sk_net_netns_exists(path));
    CHECK(sk_net_netns_create(name, false, NULL, 0, &err) < 0 && err.code == SK_EEXIST);
    CHECK(sk_net_netns_run(path, ns_lo_up, NULL, &err) == 0); /* lo stays down */
    CHECK(sk_net_netns_delete(name, &err) == 0);
    CHECK(!sk_net_netns_exists(path) && access(path, F_OK) < 0);
    CHECK(sk_net_netns_delete(name, &err) == 0);
    CHECK(sk_net_netns_run(path, ns_lo_up, NULL, &err) < 0 && err.code == SK_ENOTFOUND);
    int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600); /* a pin left by a reboot */
    if (fd >= 0) close(fd);
    CHECK(sk_net_netns_create(name, true, NULL, 0, &err) == 0 && sk_net_netns_exists(path));
    CHECK(sk_net_netns_run(path, ns_lo_up, NULL, &err) == 1);
    CHECK(sk_net_netns_delete(path, &err) == 0);
    CHECK(sk_net_netns_create("a/b", false, NULL, 0, &err) < 0 && err.code == SK_EINVALID);
    CHECK(sk_net_netns_create("..", false, NULL, 0, &err) < 0 && err.code == SK_EINVALID);
    E.pod[NPODS - 1][0] = 0;
    return 0;
}

static int test_real_body(void)
{
    sk_err err = SK_ERR_INIT;
    REQUIRE(test_netns_helpers() == 0);
    REQUIRE(setup_node() == 0);
    char cidr[32];
    snprintf(cidr, sizeof cidr, "%s0/24", E.net);
    struct sk_net_config cfg = {.pod_cidr = cidr, .data_dir = E.data, .netns_path = E.node_path,
                                .timeout_ms = 10000};
    sk_net *n = sk_net_new(&cfg, &err);
    if (!n) fprintf(stderr, "sk_net_new: %s\n", err.msg);
    REQUIRE(n);
    REQUIRE(make_pod_ns(0) == 0 && make_pod_ns(1) == 0);
    struct sk_net_result r[2];
    struct sk_net_port hp = {8080, 8080, "tcp", NULL};
    struct sk_net_pod_opts o = {.k8s_namespace = "default", .k8s_name = "web-0", .ports = &hp, .n_ports = 1};
    int64_t t0 = sk_now_ms();
    int rc = sk_net_pod_add(n, "p0", E.pod_path[0], &o, &r[0], &err);
    int64_t add0 = sk_now_ms() - t0;
    if (rc < 0) fprintf(stderr, "ADD p0: %s\n", err.msg);
    rc |= sk_net_pod_add(n, "p1", E.pod_path[1], NULL, &r[1], &err);
    if (rc < 0) {
        fprintf(stderr, "ADD: %s\n", err.msg);
        sk_net_free(n);
        return 1;
    }
    fprintf(stderr, "pods: %s (veth %s, mac %s), %s; first ADD (creates cni0) %lld ms\n", r[0].ip,
            r[0].host_veth, r[0].mac, r[1].ip, (long long)add0);
    CHECK(strcmp(r[0].ip, r[1].ip) != 0);
    CHECK(!strncmp(r[0].ip, E.net, strlen(E.net)) && !strncmp(r[1].ip, E.net, strlen(E.net)));
    char gw[32];
    snprintf(gw, sizeof gw, "%s1", E.net);
    CHECK_STR(r[0].gateway, gw);
    CHECK_INT(r[0].prefix_len, 24);
    CHECK_STR(r[0].ifname, "eth0");
    CHECK(r[0].host_veth[0] && r[0].mac[0]);
    CHECK(lease_exists(r[0].ip) && lease_exists(r[1].ip));
    CHECK(sk_net_netns_run(E.pod_path[0], ns_lo_up, NULL, &err) == 1);
    CHECK(sk_net_pod_add(n, "p0", E.pod_path[0], NULL, &r[0], &err) < 0 && err.code == SK_EEXIST);
    err.code = SK_OK;
    CHECK(sk_net_pod_check(n, "p0", E.pod_path[0], &err) == 0);
    if (err.code) fprintf(stderr, "CHECK p0: %s\n", err.msg);

    rc = test_traffic(n, r);
    int64_t del_ms[2] = {0, 0};
    if (rc == 0) rc = test_del(n, r, del_ms);
    if (rc == 0) rc = bench(n, del_ms);
    sk_net_free(n);
    if (rc == 0) rc = test_gc(&cfg);
    return rc;
}

static int test_real(void)
{
    if (geteuid() != 0 || access("/usr/lib/cni/bridge", X_OK) < 0 || access("/usr/bin/busybox", X_OK) < 0 ||
        sh("ip -V >/dev/null 2>&1") != 0)
        return 77;
    char tag[8];
    sk_rand_suffix(tag, 6);
    snprintf(E.tag, sizeof E.tag, "%s", tag);
    unsigned char rnd;
    getentropy(&rnd, 1);
    E.octet = 1 + rnd % 250;
    snprintf(E.data, sizeof E.data, "/tmp/skcni-%s", E.tag);
    _sk_free_ char *links0 = host_links();
    _sk_free_ char *nft0 = run_capture("nft list ruleset 2>&1");
    _sk_free_ char *fwd0 = sk_read_file("/proc/sys/net/ipv4/ip_forward", NULL, NULL);

    int rc = test_real_body();
    real_cleanup();

    _sk_free_ char *links1 = host_links();
    _sk_free_ char *nft1 = run_capture("nft list ruleset 2>&1");
    _sk_free_ char *fwd1 = sk_read_file("/proc/sys/net/ipv4/ip_forward", NULL, NULL);
    CHECK_STR(links1, links0);
    CHECK_STR(nft1, nft0);
    CHECK_STR(fwd1, fwd0);
    _sk_free_ char *left = run_capture("ls /run/netns");
    CHECK(!strstr(left, E.tag));
    CHECK(access(E.data, F_OK) < 0);
    return rc;
}

int main(void)
{
    char dir[] = "/tmp/skcni-fake-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    int rc = test_parsers();
    if (rc == 0) rc = test_exec(dir);
    if (rc == 0) rc = test_fake_chain(dir);
    rm_rf(dir);
    if (rc || test_failures) return rc ? rc : test_done();
    rc = test_real();
    if (rc == 77) {
        fprintf(stderr, "skip: real CNI part needs root, /usr/lib/cni, busybox and ip\n");
        return 77;
    }
    return rc ? rc : test_done();
}
