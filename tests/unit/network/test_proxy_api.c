/* sk_proxy end to end against a real `skiff server` (binary in $SKIFF, on a
 * loopback port; root for the network namespaces; else exit 77).
 *
 * A node netns (with an address on a veth pair kept inside it) and one pod
 * netns with a TCP server; the proxy runs with netns_path = the node netns
 * and reads Services and EndpointSlices made here through sk_client: the
 * first full sync at start, then incremental syncs for a new service, an
 * endpoint added and removed, a service without endpoints (refused), a
 * deleted service; stats and the sysctls; the table survives
 * sk_proxy_free and goes with sk_proxy_cleanup. The server runs its
 * controllers (no scheduler), so the servicelb controller is checked too:
 * a LoadBalancer service gets the Ready node's InternalIP as ingress and
 * the proxy answers there; a second one on the same port stays pending;
 * the ingress goes when the type changes. */
#include "network/network.h"
#include "network/proxy/proxy_int.h"
#include "unit/test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define POD_IP "10.244.1.2"
#define NODE_IP "192.168.78.2"

static struct {
    char dir[256], kubeconfig[300];
    pid_t server;
    char node[32], pod[32], node_path[64], pod_path[64];
    bool node_made, pod_made;
    int lfd;
    pthread_t srv;
    bool srv_up;
} E = {.server = -1, .lfd = -1};

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

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- the API server ---------------------------------------------------------------------- */

static bool server_start(const char *skiff, int port)
{
    char portstr[16], logp[300], data[300];
    snprintf(portstr, sizeof portstr, "%d", port);
    snprintf(logp, sizeof logp, "%s/server.log", E.dir);
    snprintf(data, sizeof data, "%s/data", E.dir);
    E.server = fork();
    if (E.server == 0) {
        int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(skiff, skiff, "server", "--data-dir", data, "--port", portstr, "--disable-agent",
              "--disable-scheduler", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 400; i++) {
        if (waitpid(E.server, NULL, WNOHANG) == E.server) {
            E.server = -1;
            return false;
        }
        sk_err err = SK_ERR_INIT;
        sk_client *c = access(E.kubeconfig, R_OK) == 0
                           ? sk_client_from_kubeconfig(E.kubeconfig, "test", &err) : NULL;
        long st = 0;
        json_t *r = c ? sk_client_request(c, "GET", "/readyz", NULL, NULL, &st, &err) : NULL;
        json_decref(r);
        sk_client_free(c);
        if (st == 200) return true;
        msleep(25);
    }
    return false;
}

static void server_kill(void)
{
    if (E.server <= 0) return;
    kill(E.server, SIGKILL);
    waitpid(E.server, NULL, 0);
    E.server = -1;
}

/* ---- netns: node and one pod with a TCP server ---------------------------------------------- */

static int ns_listen(void *arg)
{
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
    for (;;) {
        int c = accept4(E.lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return NULL;
        }
        ssize_t w = write(c, "pod1\n", 5);
        (void)w;
        close(c);
    }
}

struct dial {
    const char *ip;
    int port, result;
};

/* 1 when pod1 answered, else -errno. */
static int ns_dial(void *arg)
{
    struct dial *d = arg;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)d->port)};
    inet_pton(AF_INET, d->ip, &a.sin_addr);
    d->result = -EIO;
    if (fd < 0) return 0;
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    struct pollfd p = {fd, POLLOUT, 0};
    if (rc < 0 && errno != EINPROGRESS) {
        d->result = -errno;
    } else if (poll(&p, 1, 2000) != 1) {
        d->result = -ETIMEDOUT;
    } else {
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        char buf[8] = {0};
        p.events = POLLIN;
        if (soerr) d->result = -soerr;
        else if (poll(&p, 1, 2000) == 1 && read(fd, buf, sizeof buf - 1) > 0 && !strncmp(buf, "pod1", 4))
            d->result = 1;
    }
    close(fd);
    return 0;
}

static int dial(const char *ip, int port)
{
    struct dial d = {ip, port, 0};
    sk_err err = SK_ERR_INIT;
    if (sk_net_netns_run(E.node_path, ns_dial, &d, &err) < 0) return -EIO;
    return d.result;
}

static int setup_net(void)
{
    sk_err err = SK_ERR_INIT;
    snprintf(E.node, sizeof E.node, "pxa-node-%d", (int)getpid());
    snprintf(E.pod, sizeof E.pod, "pxa-pod-%d", (int)getpid());
    if (sk_net_netns_create(E.node, true, E.node_path, sizeof E.node_path, &err) < 0) return -1;
    E.node_made = true;
    if (sk_net_netns_create(E.pod, true, E.pod_path, sizeof E.pod_path, &err) < 0) return -1;
    E.pod_made = true;
    if (sh("ip -n %s link add p1 type veth peer name eth0 netns %s", E.node, E.pod) ||
        sh("ip -n %s addr add 10.244.1.1/24 dev p1 && ip -n %s link set p1 up", E.node, E.node) ||
        sh("ip -n %s addr add " POD_IP "/24 dev eth0 && ip -n %s link set eth0 up", E.pod, E.pod) ||
        sh("ip -n %s route add default via 10.244.1.1", E.pod) ||
        sh("ip -n %s link add ext0 type veth peer name ext0-peer", E.node) ||
        sh("ip -n %s link set ext0-peer up && ip -n %s addr add " NODE_IP "/24 dev ext0", E.node, E.node) ||
        sh("ip -n %s link set ext0 up && ip -n %s route add default via 192.168.78.1 dev ext0 onlink",
           E.node, E.node))
        return -1;
    E.lfd = sk_net_netns_run(E.pod_path, ns_listen, NULL, &err);
    if (E.lfd < 0 || pthread_create(&E.srv, NULL, serve, NULL) != 0) return -1;
    E.srv_up = true;
    return 0;
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f) { return remove(p); }

static void teardown(void)
{
    if (E.lfd >= 0) shutdown(E.lfd, SHUT_RDWR);
    if (E.srv_up) pthread_join(E.srv, NULL);
    if (E.lfd >= 0) close(E.lfd);
    sk_err err = SK_ERR_INIT;
    if (E.node_made) {
        CHECK(sk_proxy_cleanup("pxapi", E.node_path, &err) == 0);
        CHECK(sk_net_netns_delete(E.node_path, &err) == 0);
    }
    if (E.pod_made) CHECK(sk_net_netns_delete(E.pod_path, &err) == 0);
    server_kill();
    if (!getenv("KEEP") && E.dir[0]) nftw(E.dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- objects ----------------------------------------------------------------------------------- */

static const struct sk_resource *res_svc(void) { return sk_resource_find("", "v1", "services"); }
static const struct sk_resource *res_es(void)
{
    return sk_resource_find("discovery.k8s.io", "v1", "endpointslices");
}

/* Creates a selector-less Service; returns its ClusterIP (static buffer). */
static const char *make_service(sk_client *c, const char *name, const char *type)
{
    static char cip[32];
    json_t *o = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s,s:[{s:s,s:s,s:i,s:i}]}}", "apiVersion", "v1",
                          "kind", "Service", "metadata", "name", name, "namespace", "default", "spec",
                          "type", type, "ports", "name", "http", "protocol", "TCP", "port", 80,
                          "targetPort", 8080);
    sk_err err = SK_ERR_INIT;
    json_t *r = sk_client_create(c, res_svc(), "default", o, &err);
    json_decref(o);
    cip[0] = 0;
    if (!r) fprintf(stderr, "create service %s: %s\n", name, err.msg);
    const char *ip = sk_json_path_str(r, "spec.clusterIP");
    snprintf(cip, sizeof cip, "%s", ip ? ip : "");
    json_decref(r);
    return cip;
}

static json_t *slice_obj(const char *svc, bool with_pod)
{
    json_t *eps = json_array();
    if (with_pod)
        json_array_append_new(eps, json_pack("{s:[s],s:{s:b},s:s}", "addresses", POD_IP, "conditions",
                                             "ready", 1, "nodeName", "node"));
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s}},s:s,s:[{s:s,s:s,s:i}],s:o}", "apiVersion",
                     "discovery.k8s.io/v1", "kind", "EndpointSlice", "metadata", "name", svc,
                     "namespace", "default", "labels", "kubernetes.io/service-name", svc, "addressType",
                     "IPv4", "ports", "name", "http", "protocol", "TCP", "port", 8080, "endpoints", eps);
}

static bool put_slice(sk_client *c, const char *svc, bool with_pod)
{
    sk_err err = SK_ERR_INIT;
    json_t *o = slice_obj(svc, with_pod);
    json_t *have = sk_client_get(c, res_es(), "default", svc, &err);
    json_t *r;
    if (have) {
        json_object_set(json_object_get(o, "metadata"), "resourceVersion",
                        sk_json_path(have, "metadata.resourceVersion"));
        r = sk_client_update(c, res_es(), "default", o, NULL, &err);
    } else {
        r = sk_client_create(c, res_es(), "default", o, &err);
    }
    if (!r) fprintf(stderr, "endpointslice %s: %s\n", svc, err.msg);
    json_decref(have);
    json_decref(o);
    json_decref(r);
    return r != NULL;
}

/* Waits until dialing ip:80 from the node gives want (up to 5 s). */
static bool wait_dial(const char *ip, int want)
{
    for (int i = 0; i < 100; i++) {
        if (dial(ip, 80) == want) return true;
        msleep(50);
    }
    return false;
}

static bool wait_stats(sk_proxy *p, int64_t syncs_after, struct sk_proxy_stats *st)
{
    for (int i = 0; i < 200; i++) {
        sk_proxy_get_stats(p, st);
        if (st->syncs > syncs_after) return true;
        msleep(10);
    }
    return false;
}

/* ---- servicelb ------------------------------------------------------------------------------ */

static const struct sk_resource *res_node(void) { return sk_resource_find("", "v1", "nodes"); }

static bool make_ready_node(sk_client *c)
{
    sk_err err = SK_ERR_INIT;
    json_t *o = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Node", "metadata", "name", "node");
    json_t *r = sk_client_create(c, res_node(), NULL, o, &err);
    json_decref(o);
    json_decref(r);
    char now[32];
    sk_time_format(sk_wall_ms() / 1000, now, sizeof now);
    json_t *st = json_pack("{s:{s:[{s:s,s:s}],s:[{s:s,s:s,s:s,s:s,s:s,s:s}]}}", "status", "addresses", "type",
                           "InternalIP", "address", NODE_IP, "conditions", "type", "Ready", "status", "True",
                           "reason", "KubeletReady", "message", "ready", "lastHeartbeatTime", now,
                           "lastTransitionTime", now);
    r = sk_client_patch(c, res_node(), NULL, "node", "application/merge-patch+json", st, "status", &err);
    json_decref(st);
    if (!r) fprintf(stderr, "node status: %s\n", err.msg);
    json_decref(r);
    return r != NULL;
}

/* status.loadBalancer.ingress of a service, as compact JSON ("" if none). */
static char *ingress_of(sk_client *c, const char *name)
{
    sk_err err = SK_ERR_INIT;
    json_t *svc = sk_client_get(c, res_svc(), "default", name, &err);
    json_t *ing = sk_json_path(svc, "status.loadBalancer.ingress");
    char *out = ing && json_array_size(ing) ? json_dumps(ing, JSON_COMPACT) : sk_strdup("");
    json_decref(svc);
    return out;
}

static bool wait_ingress(sk_client *c, const char *name, const char *want)
{
    for (int i = 0; i < 200; i++) {
        _sk_free_ char *have = ingress_of(c, name);
        if (!strcmp(have, want)) return true;
        msleep(25);
    }
    _sk_free_ char *have = ingress_of(c, name);
    fprintf(stderr, "ingress of %s: [%s], want [%s]\n", name, have, want);
    return false;
}

static void check_servicelb(sk_client *c)
{
    const char *want = "[{\"ip\":\"" NODE_IP "\",\"ipMode\":\"VIP\"}]";
    CHECK(make_ready_node(c));
    make_service(c, "lb", "LoadBalancer");
    CHECK(put_slice(c, "lb", true));
    CHECK(wait_ingress(c, "lb", want));
    CHECK(wait_dial(NODE_IP, 1)); /* the proxy answers on the ingress address */
    msleep(300);
    make_service(c, "lb2", "LoadBalancer"); /* same port 80: pending */
    msleep(500);
    _sk_free_ char *two = ingress_of(c, "lb2");
    CHECK_STR(two, "");
    sk_err err = SK_ERR_INIT;
    CHECK(sk_client_delete(c, res_svc(), "default", "lb", NULL, -1, NULL, &err) == 0);
    CHECK(wait_ingress(c, "lb2", want)); /* the port is free now */
    make_service(c, "lb3", "LoadBalancer"); /* pending behind lb2 */
    msleep(500);
    _sk_free_ char *three = ingress_of(c, "lb3");
    CHECK_STR(three, "");
    /* the whole ports list: a ClusterIP service may not keep its nodePort */
    json_t *patch = json_pack("{s:{s:s,s:[{s:s,s:s,s:i,s:i}]}}", "spec", "type", "ClusterIP", "ports", "name",
                              "http", "protocol", "TCP", "port", 80, "targetPort", 8080);
    json_t *r = sk_client_patch(c, res_svc(), "default", "lb2", "application/merge-patch+json", patch, NULL, &err);
    if (!r) fprintf(stderr, "patch lb2: %s\n", err.msg);
    json_decref(patch);
    json_decref(r);
    CHECK(wait_ingress(c, "lb2", ""));
    CHECK(wait_ingress(c, "lb3", want)); /* lb2 no longer a LoadBalancer: the port is free */
}

static void run(sk_client *c)
{
    const char *cip0 = make_service(c, "early", "ClusterIP");
    _sk_free_ char *early = sk_strdup(cip0);
    CHECK(early[0] && put_slice(c, "early", true));
    struct sk_proxy_config cfg = {.client = c, .node_name = "node", .cluster_cidr = "10.244.0.0/16",
                                  .service_cidr = "10.96.0.0/12", .table = "pxapi",
                                  .netns_path = E.node_path};
    sk_err err = SK_ERR_INIT;
    sk_proxy *p = sk_proxy_new(&cfg, &err);
    if (!p) {
        fprintf(stderr, "new: %s\n", err.msg);
        CHECK(!"proxy created");
        return;
    }
    if (sk_proxy_start(p, &err) < 0) {
        fprintf(stderr, "start: %s\n", err.msg);
        CHECK(!"proxy started");
        sk_proxy_free(p);
        return;
    }
    struct sk_proxy_stats st;
    sk_proxy_get_stats(p, &st);
    CHECK(st.syncs >= 1 && st.services >= 1 && st.endpoints >= 1);
    fprintf(stderr, "first (full) sync: %lld us\n", (long long)st.last_full_sync_us);
    CHECK_INT(dial(early, 80), 1); /* programmed before start returned */
    _sk_free_ char *rl = sk_printf("ip netns exec %s cat /proc/sys/net/ipv4/conf/all/route_localnet", E.node);
    _sk_free_ char *rlv = capture(rl);
    CHECK_STR(rlv, "1\n");

    /* a new service without endpoints: refused */
    _sk_free_ char *web = sk_strdup(make_service(c, "web", "NodePort"));
    CHECK(put_slice(c, "web", false));
    CHECK(wait_dial(web, -ECONNREFUSED));
    /* its endpoint appears: answered; timed from the update */
    sk_proxy_get_stats(p, &st);
    int64_t before = st.syncs;
    CHECK(put_slice(c, "web", true));
    CHECK(wait_stats(p, before, &st));
    CHECK(wait_dial(web, 1));
    sk_proxy_get_stats(p, &st);
    fprintf(stderr, "endpoint added: change -> applied %lld us, last sync %lld us\n",
            (long long)st.last_change_to_applied_us, (long long)st.last_sync_us);
    CHECK(st.last_change_to_applied_us > 0 && st.last_change_to_applied_us < 1000000);
    /* and gone again */
    CHECK(put_slice(c, "web", false));
    CHECK(wait_dial(web, -ECONNREFUSED));
    /* the service deleted: nothing left for its ClusterIP */
    CHECK(sk_client_delete(c, res_svc(), "default", "web", NULL, -1, NULL, &err) == 0);
    _sk_free_ char *cmd = sk_printf("ip netns exec %s nft list map inet pxapi no-endpoint-services", E.node);
    _sk_free_ char *want = sk_printf("%s . tcp . 80", web);
    bool gone = false;
    for (int i = 0; i < 100 && !gone; i++) {
        _sk_free_ char *out = capture(cmd);
        gone = !strstr(out, want);
        if (!gone) msleep(50);
    }
    CHECK(gone);
    CHECK_INT(dial(early, 80), 1);
    check_servicelb(c);
    sk_proxy_free(p);
    /* rules stay after the proxy stops */
    CHECK_INT(dial(early, 80), 1);
    CHECK(sk_proxy_cleanup("pxapi", E.node_path, &err) == 0);
    _sk_free_ char *lt = sk_printf("ip netns exec %s nft list tables", E.node);
    _sk_free_ char *tables = capture(lt);
    CHECK(!strstr(tables, "pxapi"));
}

int main(void)
{
    sk_log_level = SK_ERROR;
    const char *skiff = getenv("SKIFF");
    if (!skiff || !*skiff || geteuid() != 0 || system("command -v ip >/dev/null") != 0) {
        fprintf(stderr, "skipped: needs root, ip and $SKIFF\n");
        return 77;
    }
    snprintf(E.dir, sizeof E.dir, "%s/skiff-proxy-test-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    REQUIRE(mkdtemp(E.dir));
    snprintf(E.kubeconfig, sizeof E.kubeconfig, "%s/data/kubeconfig", E.dir);
    srand((unsigned)(getpid() ^ time(NULL)));
    bool up = false;
    for (int tries = 0; tries < 5 && !up; tries++)
        if (!(up = server_start(skiff, 20000 + rand() % 10000))) server_kill();
    sk_client *c = NULL;
    sk_err err = SK_ERR_INIT;
    if (!up) fprintf(stderr, "server did not start (see %s/server.log)\n", E.dir);
    else if (!(c = sk_client_from_kubeconfig(E.kubeconfig, "proxy-test", &err)))
        fprintf(stderr, "client: %s\n", err.msg);
    if (c && setup_net() == 0) run(c);
    else CHECK(!"setup");
    sk_client_free(c);
    teardown();
    return test_done();
}
