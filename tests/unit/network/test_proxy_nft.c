/* Service proxy rules in a real kernel (root; else exit 77).
 *
 * Builds a throwaway "node" netns with two "pod" netns attached by veth
 * pairs (routed, 10.244.1.0/24 and 10.244.2.0/24) and a node address
 * 192.168.77.2 on a veth pair whose both ends stay inside the node netns.
 * Each pod runs a tiny TCP server (C sockets created inside the pod netns)
 * that answers with its name. Rules come from the generator, applied with
 * libnftables inside the node netns, full and incremental, then traffic
 * checks: ClusterIP spread, NodePort on 127.0.0.1 and the node address,
 * LoadBalancer ingress, reject without endpoints (ECONNREFUSED at once),
 * ClientIP affinity, hairpin, endpoint removal, and sk_proxy_cleanup
 * deleting the table and nothing else. Everything is removed at the end,
 * failures included. */
#include "network/network.h"
#include "network/proxy/proxy_int.h"
#include "unit/test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define CIP "10.96.0.10"
#define NODE_IP "192.168.77.2"

static struct {
    char node[32], pod[2][32];
    char node_path[64], pod_path[2][64];
    bool made[3];
    int lfd[2];
    pthread_t srv[2];
    bool srv_up[2];
} E = {.lfd = {-1, -1}};

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc != 0) fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
    return rc == 0 ? 0 : -1;
}

static char *capture(const char *cmd)
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

/* ---- pods: a listener per pod netns, served from a thread here ------------------------ */

static int ns_listen(void *arg)
{
    (void)arg;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(8080)};
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 64) < 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

static void *serve(void *arg)
{
    intptr_t i = (intptr_t)arg;
    char msg[16];
    snprintf(msg, sizeof msg, "pod%d\n", (int)i + 1);
    for (;;) {
        int c = accept4(E.lfd[i], NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return NULL; /* listener shut down */
        }
        ssize_t w = write(c, msg, strlen(msg));
        (void)w;
        close(c);
    }
}

/* ---- clients: connect from inside a netns --------------------------------------------- */

struct dial {
    const char *ip;
    int port;
    int timeout_ms;
    int result; /* 1 or 2: the pod that answered; -errno on failure */
    int64_t ms; /* time to the result */
};

static int ns_dial(void *arg)
{
    struct dial *d = arg;
    int64_t t0 = sk_now_ms();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)d->port)};
    inet_pton(AF_INET, d->ip, &a.sin_addr);
    d->result = -EIO;
    if (fd < 0) return 0;
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    struct pollfd p = {fd, POLLOUT, 0};
    if (rc < 0 && errno != EINPROGRESS) {
        d->result = -errno;
    } else if (poll(&p, 1, d->timeout_ms) != 1) {
        d->result = -ETIMEDOUT;
    } else {
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr) {
            d->result = -soerr;
        } else {
            char buf[16] = {0};
            p.events = POLLIN;
            if (poll(&p, 1, d->timeout_ms) == 1 && read(fd, buf, sizeof buf - 1) > 0 &&
                !strncmp(buf, "pod", 3))
                d->result = buf[3] - '0';
        }
    }
    d->ms = sk_now_ms() - t0;
    close(fd);
    return 0;
}

static int dial(const char *ns_path, const char *ip, int port, int64_t *ms)
{
    struct dial d = {ip, port, 2000, 0, 0};
    sk_err err = SK_ERR_INIT;
    if (sk_net_netns_run(ns_path, ns_dial, &d, &err) < 0) return -EIO;
    if (ms) *ms = d.ms;
    return d.result;
}

/* Dials n times; counts answers per pod; returns the failures. */
static int spread(const char *ns_path, const char *ip, int port, int n, int hits[3])
{
    int fails = 0;
    hits[0] = hits[1] = hits[2] = 0;
    for (int i = 0; i < n; i++) {
        int r = dial(ns_path, ip, port, NULL);
        if (r == 1 || r == 2) hits[r]++;
        else fails++;
    }
    return fails;
}

/* ---- rules ------------------------------------------------------------------------------ */

struct apply_arg {
    const char *script;
    sk_err *err;
};

static int ns_apply(void *arg)
{
    struct apply_arg *a = arg;
    struct nft_ctx *ctx = px_nft_new(a->err);
    if (!ctx) return -1;
    int rc = px_nft_run(ctx, a->script, a->err);
    px_nft_free(ctx);
    return rc;
}

static int ns_sysctls(void *arg)
{
    return px_sysctls(arg) ? -1 : 0;
}

static int apply(const char *script)
{
    sk_err err = SK_ERR_INIT;
    struct apply_arg a = {script, &err};
    int rc = sk_net_netns_run(E.node_path, ns_apply, &a, &err);
    if (rc < 0) fprintf(stderr, "apply failed: %s\n", err.msg);
    return rc;
}

static json_t *service(const char *name, const char *type, const char *cip, int port, int node_port)
{
    json_t *p = json_pack("{s:s,s:s,s:i}", "name", "http", "protocol", "TCP", "port", port);
    if (node_port) json_object_set_new(p, "nodePort", json_integer(node_port));
    return json_pack("{s:{s:s,s:s},s:{s:s,s:s,s:[o]}}", "metadata", "name", name, "namespace",
                     "default", "spec", "type", type, "clusterIP", cip, "ports", p);
}

static json_t *slice(const char *svc, int npods)
{
    static const char *const ips[] = {"10.244.1.2", "10.244.2.2"};
    json_t *eps = json_array();
    for (int i = 0; i < npods; i++)
        json_array_append_new(eps, json_pack("{s:[s],s:{s:b},s:s}", "addresses", ips[i], "conditions",
                                             "ready", 1, "nodeName", "node"));
    json_t *s = json_pack("{s:{s:s,s:s,s:{s:s}},s:s,s:[{s:s,s:s,s:i}],s:o}", "metadata", "name", svc,
                          "namespace", "default", "labels", "kubernetes.io/service-name", svc,
                          "addressType", "IPv4", "ports", "name", "http", "protocol", "TCP", "port",
                          8080, "endpoints", eps);
    json_t *all = json_object();
    json_object_set_new(all, "s", s);
    return all;
}

/* The model: web (NodePort + LoadBalancer ingress on the node address),
 * empty (no endpoints), sticky (ClientIP affinity). web_pods = 1 or 2. */
static void model(int web_pods, struct px_port ***ports, size_t *n)
{
    json_t *web = service("web", "LoadBalancer", CIP, 80, 30080);
    json_object_set_new(web, "status", json_pack("{s:{s:[{s:s}]}}", "loadBalancer", "ingress", "ip", NODE_IP));
    json_t *ws = slice("web", web_pods);
    json_t *empty = service("empty", "ClusterIP", "10.96.0.20", 81, 0);
    json_t *sticky = service("sticky", "ClusterIP", "10.96.0.30", 80, 0);
    json_object_set_new(json_object_get(sticky, "spec"), "sessionAffinity", json_string("ClientIP"));
    json_t *ss = slice("sticky", 2);
    px_build_ports(web, ws, "node", ports, n);
    px_build_ports(empty, NULL, "node", ports, n);
    px_build_ports(sticky, ss, "node", ports, n);
    json_t *all[] = {web, ws, empty, sticky, ss};
    for (size_t i = 0; i < SK_ARRAY_LEN(all); i++) json_decref(all[i]);
}

/* ---- setup and teardown ------------------------------------------------------------------ */

static void teardown(void)
{
    for (int i = 0; i < 2; i++) {
        if (E.lfd[i] >= 0) shutdown(E.lfd[i], SHUT_RDWR);
        if (E.srv_up[i]) pthread_join(E.srv[i], NULL);
        if (E.lfd[i] >= 0) close(E.lfd[i]);
        E.lfd[i] = -1;
        E.srv_up[i] = false;
    }
    sk_err err = SK_ERR_INIT;
    if (E.made[0]) CHECK(sk_net_netns_delete(E.node_path, &err) == 0);
    for (int i = 0; i < 2; i++)
        if (E.made[i + 1]) CHECK(sk_net_netns_delete(E.pod_path[i], &err) == 0);
}

static int setup(void)
{
    sk_err err = SK_ERR_INIT;
    int pid = (int)getpid();
    snprintf(E.node, sizeof E.node, "pxt-node-%d", pid);
    if (sk_net_netns_create(E.node, true, E.node_path, sizeof E.node_path, &err) < 0) return -1;
    E.made[0] = true;
    for (int i = 0; i < 2; i++) {
        snprintf(E.pod[i], sizeof E.pod[i], "pxt-pod%d-%d", i + 1, pid);
        if (sk_net_netns_create(E.pod[i], true, E.pod_path[i], sizeof E.pod_path[i], &err) < 0) return -1;
        E.made[i + 1] = true;
        int s = i + 1;
        if (sh("ip -n %s link add p%d type veth peer name eth0 netns %s", E.node, s, E.pod[i]) ||
            sh("ip -n %s addr add 10.244.%d.1/24 dev p%d && ip -n %s link set p%d up", E.node, s, s, E.node, s) ||
            sh("ip -n %s addr add 10.244.%d.2/24 dev eth0 && ip -n %s link set eth0 up", E.pod[i], s, E.pod[i]) ||
            sh("ip -n %s route add default via 10.244.%d.1", E.pod[i], s))
            return -1;
    }
    /* the node's own address, on a link whose default route leads nowhere */
    if (sh("ip -n %s link add ext0 type veth peer name ext0-peer", E.node) ||
        sh("ip -n %s link set ext0-peer up && ip -n %s addr add " NODE_IP "/24 dev ext0", E.node, E.node) ||
        sh("ip -n %s link set ext0 up && ip -n %s route add default via 192.168.77.1 dev ext0 onlink",
           E.node, E.node))
        return -1;
    if (sk_net_netns_run(E.node_path, ns_sysctls, &err, &err) < 0) {
        fprintf(stderr, "sysctls: %s\n", err.msg);
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        E.lfd[i] = sk_net_netns_run(E.pod_path[i], ns_listen, NULL, &err);
        if (E.lfd[i] < 0) return -1;
        if (pthread_create(&E.srv[i], NULL, serve, (void *)(intptr_t)i) != 0) return -1;
        E.srv_up[i] = true;
    }
    return 0;
}

/* ---- the checks ---------------------------------------------------------------------------- */

static void check_traffic(void)
{
    int hits[3];
    int f = spread(E.node_path, CIP, 80, 40, hits);
    fprintf(stderr, "ClusterIP from the node: pod1 %d, pod2 %d, failed %d\n", hits[1], hits[2], f);
    CHECK_INT(f, 0);
    CHECK(hits[1] > 0 && hits[2] > 0);
    f = spread(E.pod_path[1], CIP, 80, 20, hits);
    CHECK_INT(f, 0); /* from a pod, across the node */
    f = spread(E.pod_path[0], CIP, 80, 20, hits);
    fprintf(stderr, "hairpin from pod1: pod1 %d, pod2 %d, failed %d\n", hits[1], hits[2], f);
    CHECK_INT(f, 0);
    CHECK(hits[1] > 0);
    const char *np[] = {"127.0.0.1", NODE_IP};
    for (int i = 0; i < 2; i++) {
        f = spread(E.node_path, np[i], 30080, 10, hits);
        fprintf(stderr, "NodePort %s:30080: pod1 %d, pod2 %d, failed %d\n", np[i], hits[1], hits[2], f);
        CHECK_INT(f, 0);
    }
    f = spread(E.pod_path[1], NODE_IP, 30080, 10, hits);
    CHECK_INT(f, 0);
    f = spread(E.node_path, NODE_IP, 80, 10, hits); /* LoadBalancer ingress */
    CHECK_INT(f, 0);
    int64_t ms = 0;
    int r = dial(E.node_path, "10.96.0.20", 81, &ms);
    fprintf(stderr, "no endpoints: %s after %lld ms\n", strerror(-r), (long long)ms);
    CHECK_INT(r, -ECONNREFUSED);
    CHECK(ms < 1000);
    r = dial(E.pod_path[0], "10.96.0.20", 81, &ms);
    CHECK_INT(r, -ECONNREFUSED);
    f = spread(E.node_path, "10.96.0.30", 80, 20, hits);
    fprintf(stderr, "affinity: pod1 %d, pod2 %d, failed %d\n", hits[1], hits[2], f);
    CHECK_INT(f, 0);
    CHECK(hits[1] == 20 || hits[2] == 20);
}

static void check_cleanup(void)
{
    CHECK(sh("ip netns exec %s nft add table inet other", E.node) == 0);
    _sk_free_ char *cmd = sk_printf("ip netns exec %s nft list tables", E.node);
    _sk_free_ char *before = capture(cmd);
    CHECK(strstr(before, "table inet pxtest") && strstr(before, "table inet other"));
    sk_err err = SK_ERR_INIT;
    CHECK(sk_proxy_cleanup("pxtest", E.node_path, &err) == 0);
    _sk_free_ char *after = capture(cmd);
    CHECK_STR(after, "table inet other\n");
    CHECK(sk_proxy_cleanup("pxtest", E.node_path, &err) == 0); /* absent: fine */
    CHECK(sk_proxy_cleanup("bad name;", E.node_path, &err) < 0);
}

static void run(void)
{
    struct px_gen_config cfg = {.table = "pxtest", .cluster_cidr = "10.244.0.0/16",
                                .service_cidr = "10.96.0.0/12"};
    px_gen *g = px_gen_new(&cfg);
    struct px_port **ports = NULL;
    size_t n = 0;
    model(2, &ports, &n);
    sk_buf b = SK_BUF_INIT;
    px_gen_full(g, ports, n, &b);
    if (apply(b.data) < 0) {
        fprintf(stderr, "%s", b.data);
        CHECK(!"full script applied");
    }
    px_gen_commit(g);
    sk_buf_release(&b);
    check_traffic();

    /* pod2 leaves web: an incremental transaction, then only pod1 answers */
    px_ports_free(ports, n);
    ports = NULL;
    n = 0;
    model(1, &ports, &n);
    const char *keys[] = {"default/web", "default/empty", "default/sticky"};
    px_gen_update(g, keys, 3, ports, n, &b);
    CHECK(b.len > 0 && apply(b.data) == 0);
    px_gen_commit(g);
    sk_buf_release(&b);
    int hits[3];
    CHECK_INT(spread(E.node_path, CIP, 80, 20, hits), 0);
    CHECK_INT(hits[2], 0);
    CHECK_INT(spread(E.node_path, "127.0.0.1", 30080, 5, hits), 0);

    /* web without endpoints: the NodePort refuses; back again: answers */
    px_ports_free(ports, n);
    ports = NULL;
    n = 0;
    model(0, &ports, &n);
    px_gen_update(g, keys, 1, ports, n, &b);
    CHECK(apply(b.data) == 0);
    px_gen_commit(g);
    sk_buf_release(&b);
    CHECK_INT(dial(E.node_path, "127.0.0.1", 30080, NULL), -ECONNREFUSED);
    CHECK_INT(dial(E.node_path, CIP, 80, NULL), -ECONNREFUSED);
    px_ports_free(ports, n);
    ports = NULL;
    n = 0;
    model(2, &ports, &n);
    px_gen_update(g, keys, 1, ports, n, &b);
    CHECK(apply(b.data) == 0);
    px_gen_commit(g);
    sk_buf_release(&b);
    CHECK_INT(spread(E.node_path, NODE_IP, 30080, 10, hits), 0);

    /* a service deleted, then the full script again over the live table */
    px_ports_free(ports, n);
    ports = NULL;
    n = 0;
    const char *sticky[] = {"default/sticky"};
    px_gen_update(g, sticky, 1, ports, 0, &b);
    CHECK(apply(b.data) == 0);
    px_gen_commit(g);
    sk_buf_release(&b);
    model(2, &ports, &n);
    px_gen_full(g, ports, n, &b);
    CHECK(apply(b.data) == 0);
    px_gen_commit(g);
    sk_buf_release(&b);
    CHECK_INT(spread(E.node_path, "10.96.0.30", 80, 5, hits), 0);
    px_ports_free(ports, n);
    px_gen_free(g);
    check_cleanup();
}

int main(void)
{
    sk_log_level = SK_ERROR;
    if (geteuid() != 0) {
        fprintf(stderr, "skipped: needs root\n");
        return 77;
    }
    if (system("command -v ip >/dev/null && command -v nft >/dev/null") != 0) {
        fprintf(stderr, "skipped: needs ip and nft\n");
        return 77;
    }
    if (setup() == 0) run();
    else CHECK(!"setup");
    teardown();
    return test_done();
}
