/* sk_dns against a real `skiff server` (path in $SKIFF; skipped with 77
 * when unset): kube-dns published (Service, Endpoints, EndpointSlice; kept
 * right across a restart with another address), services created through
 * sk_client answered over UDP and TCP (A, SRV, PTR, pods, ExternalName,
 * NXDOMAIN/NODATA with the SOA, TC on a big answer, FORMERR on garbage),
 * and other names forwarded to a fake upstream the test runs on loopback
 * (never the machine's resolvers): relayed, SERVFAIL when it is silent. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "network/dns/dns_int.h"
#include "unit/test.h"

#define REQUIRE_V(c) \
    do { if (!(c)) { fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #c); \
                     test_failures++; return; } } while (0)

static const char *skiff;
static char dir[256], kubeconfig[300];
static int api_port, dns_port;
static pid_t server = -1;

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f) { return remove(p); }

/* ---- the API server -------------------------------------------------------------- */

static void server_kill(void)
{
    if (server <= 0) return;
    kill(server, SIGKILL);
    waitpid(server, NULL, 0);
    server = -1;
}

/* Whether `skiff server` has a flag (it may grow --disable-dns: our own
 * sk_dns must be the only one publishing kube-dns here). */
static bool server_has_flag(const char *flag)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "'%s' server --help 2>&1", skiff);
    FILE *f = popen(cmd, "r");
    if (!f) return false;
    char line[512];
    bool found = false;
    while (fgets(line, sizeof line, f)) found = found || strstr(line, flag);
    pclose(f);
    return found;
}

static bool server_start(void)
{
    char portstr[16], logp[300], data[300];
    snprintf(portstr, sizeof portstr, "%d", api_port);
    snprintf(logp, sizeof logp, "%s/server.log", dir);
    snprintf(data, sizeof data, "%s/data", dir);
    bool no_dns = server_has_flag("--disable-dns");
    server = fork();
    if (server == 0) {
        int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(skiff, skiff, "server", "--data-dir", data, "--port", portstr, "--bind-address",
              "127.0.0.1", "--advertise-address", "127.0.0.1", "--disable-agent",
              "--disable-controllers", "all", "--disable-scheduler",
              no_dns ? "--disable-dns" : (char *)NULL, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 400; i++) {
        if (waitpid(server, NULL, WNOHANG) == server) {
            server = -1;
            return false;
        }
        sk_err err = SK_ERR_INIT;
        sk_client *c = access(kubeconfig, R_OK) == 0
                           ? sk_client_from_kubeconfig(kubeconfig, "test", &err) : NULL;
        long st = 0;
        json_t *r = c ? sk_client_request(c, "GET", "/readyz", NULL, NULL, &st, &err) : NULL;
        json_decref(r);
        sk_client_free(c);
        if (st == 200) return true;
        msleep(25);
    }
    return false;
}

/* ---- a fake upstream resolver on loopback ------------------------------------------ */

static int up_udp = -1, up_tcp = -1, up_port, up_stop[2] = {-1, -1};
static atomic_int up_queries;
static pthread_t up_thread;

/* example.org A -> 192.0.2.1; drop.example.org: silence; else NXDOMAIN. */
static uint8_t *up_answer(const uint8_t *q, size_t n, size_t *rlen)
{
    ldns_pkt *p = NULL;
    if (ldns_wire2pkt(&p, q, n) != LDNS_STATUS_OK) return NULL;
    atomic_fetch_add(&up_queries, 1);
    ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(p), 0);
    char *name = qr ? ldns_rdf2str(ldns_rr_owner(qr)) : NULL;
    uint8_t *w = NULL;
    if (name && strcasecmp(name, "drop.example.org.")) {
        ldns_pkt *r = ldns_pkt_new();
        ldns_pkt_set_id(r, ldns_pkt_id(p));
        ldns_pkt_set_qr(r, true);
        ldns_pkt_set_rd(r, true);
        ldns_pkt_set_ra(r, true);
        ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, ldns_rr_clone(qr));
        ldns_rr *a = NULL;
        if (!strcasecmp(name, "example.org.") && ldns_rr_get_type(qr) == LDNS_RR_TYPE_A &&
            ldns_rr_new_frm_str(&a, "example.org. 300 IN A 192.0.2.1", 0, NULL, NULL) ==
                LDNS_STATUS_OK)
            ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, a);
        else if (strcasecmp(name, "example.org."))
            ldns_pkt_set_rcode(r, LDNS_RCODE_NXDOMAIN);
        if (ldns_pkt2wire(&w, r, rlen) != LDNS_STATUS_OK) w = NULL;
        ldns_pkt_free(r);
    }
    free(name);
    ldns_pkt_free(p);
    return w;
}

static void up_tcp_client(int fd)
{
    uint8_t hdr[2], buf[4096];
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 3000) <= 0 || recv(fd, hdr, 2, MSG_WAITALL) != 2) return;
    size_t n = (size_t)hdr[0] << 8 | hdr[1];
    if (n > sizeof buf || recv(fd, buf, n, MSG_WAITALL) != (ssize_t)n) return;
    size_t rlen = 0;
    uint8_t *r = up_answer(buf, n, &rlen);
    if (r) {
        uint8_t out[4098];
        out[0] = (uint8_t)(rlen >> 8);
        out[1] = (uint8_t)rlen;
        memcpy(out + 2, r, rlen);
        if (send(fd, out, rlen + 2, MSG_NOSIGNAL) < 0) perror("upstream send");
    }
    free(r);
}

static void *up_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct pollfd p[3] = {{up_udp, POLLIN, 0}, {up_tcp, POLLIN, 0}, {up_stop[0], POLLIN, 0}};
        if (poll(p, 3, -1) < 0 || p[2].revents) break;
        if (p[0].revents) {
            uint8_t buf[4096];
            struct sockaddr_storage from;
            socklen_t fl = sizeof from;
            ssize_t n = recvfrom(up_udp, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
            size_t rlen = 0;
            uint8_t *r = n > 0 ? up_answer(buf, (size_t)n, &rlen) : NULL;
            if (r) sendto(up_udp, r, rlen, 0, (struct sockaddr *)&from, fl);
            free(r);
        }
        if (p[1].revents) {
            int fd = accept(up_tcp, NULL, NULL);
            if (fd >= 0) {
                up_tcp_client(fd);
                close(fd);
            }
        }
    }
    return NULL;
}

static bool upstream_start(void)
{
    for (int tries = 0; tries < 20; tries++) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t al = sizeof a;
        up_udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        up_tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (bind(up_udp, (struct sockaddr *)&a, sizeof a) == 0 &&
            getsockname(up_udp, (struct sockaddr *)&a, &al) == 0 &&
            bind(up_tcp, (struct sockaddr *)&a, sizeof a) == 0 && listen(up_tcp, 16) == 0) {
            up_port = ntohs(a.sin_port);
            if (pipe(up_stop) < 0) return false;
            return pthread_create(&up_thread, NULL, up_main, NULL) == 0;
        }
        close(up_udp);
        close(up_tcp);
    }
    return false;
}

static void upstream_stop(void)
{
    if (up_stop[1] < 0) return;
    if (write(up_stop[1], "x", 1) < 0) perror("upstream stop");
    pthread_join(up_thread, NULL);
    close(up_udp);
    close(up_tcp);
    close(up_stop[0]);
    close(up_stop[1]);
}

/* ---- asking ------------------------------------------------------------------------ */

enum { UDP = 0, TCP = 1 };

static ldns_pkt *ask_edns(const char *name, ldns_rr_type t, int how, uint16_t edns)
{
    static uint16_t next_id = 1000;
    ldns_resolver *r = ldns_resolver_new();
    ldns_rdf *ns = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, "127.0.0.1");
    ldns_resolver_push_nameserver(r, ns);
    ldns_rdf_deep_free(ns);
    ldns_resolver_set_port(r, (uint16_t)dns_port);
    ldns_resolver_set_usevc(r, how == TCP);
    ldns_resolver_set_fallback(r, false);
    ldns_resolver_set_retry(r, 1);
    ldns_resolver_set_timeout(r, (struct timeval){8, 0});
    ldns_pkt *q = ldns_pkt_query_new(ldns_dname_new_frm_str(name), t, LDNS_RR_CLASS_IN, LDNS_RD);
    ldns_pkt_set_id(q, ++next_id);
    if (edns) ldns_pkt_set_edns_udp_size(q, edns);
    ldns_pkt *a = NULL;
    if (ldns_send(&a, r, q) != LDNS_STATUS_OK) {
        ldns_pkt_free(a);
        a = NULL;
    }
    if (a && ldns_pkt_id(a) != ldns_pkt_id(q)) {
        fprintf(stderr, "%s: reply id %u != %u\n", name, ldns_pkt_id(a), ldns_pkt_id(q));
        test_failures++;
    }
    ldns_pkt_free(q);
    ldns_resolver_deep_free(r);
    return a;
}

static ldns_pkt *ask(const char *name, ldns_rr_type t, int how)
{
    return ask_edns(name, t, how, 0);
}

static size_t nans(const ldns_pkt *p) { return p ? ldns_rr_list_rr_count(ldns_pkt_answer(p)) : 0; }

/* Whether the answer section holds a record of type t whose last field is want. */
static bool has(const ldns_pkt *p, ldns_rr_type t, const char *want)
{
    const ldns_rr_list *l = p ? ldns_pkt_answer(p) : NULL;
    for (size_t i = 0; l && i < ldns_rr_list_rr_count(l); i++) {
        ldns_rr *rr = ldns_rr_list_rr(l, i);
        if (ldns_rr_get_type(rr) != t) continue;
        char *s = ldns_rdf2str(ldns_rr_rdf(rr, ldns_rr_rd_count(rr) - 1));
        bool ok = s && !strcmp(s, want);
        free(s);
        if (ok) return true;
    }
    return false;
}

/* Polls until name answers with n records (or rcode NXDOMAIN when n < 0). */
static bool wait_answer(const char *name, ldns_rr_type t, int n, int how)
{
    for (int i = 0; i < 200; i++) {
        ldns_pkt *p = ask(name, t, how);
        bool ok = p && (n < 0 ? ldns_pkt_get_rcode(p) == LDNS_RCODE_NXDOMAIN
                              : ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR &&
                                    nans(p) == (size_t)n);
        ldns_pkt_free(p);
        if (ok) return true;
        msleep(50);
    }
    fprintf(stderr, "timeout waiting for %s\n", name);
    return false;
}

/* ---- fixtures ---------------------------------------------------------------------- */

static const struct sk_resource *res(const char *group, const char *plural)
{
    return sk_resource_find(group, "v1", plural);
}

static json_t *create(sk_client *c, const char *group, const char *plural, const char *ns,
                      json_t *obj)
{
    sk_err err = SK_ERR_INIT;
    json_t *made = sk_client_create(c, res(group, plural), ns, obj, &err);
    if (!made) {
        fprintf(stderr, "create %s: %s\n", plural, err.msg);
        test_failures++;
    }
    json_decref(obj);
    return made;
}

static json_t *service(const char *name, const char *ip, const char *ext)
{
    json_t *s = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:[{s:s,s:i,s:s},{s:s,s:i,s:s}]}}",
                          "apiVersion", "v1", "kind", "Service", "metadata", "name", name,
                          "namespace", "dnstest", "spec", "ports", "name", "http", "port", 80,
                          "protocol", "TCP", "name", "dns", "port", 53, "protocol", "UDP");
    json_t *spec = json_object_get(s, "spec");
    if (ip) json_object_set_new(spec, "clusterIP", json_string(ip));
    if (ext) {
        json_object_set_new(spec, "type", json_string("ExternalName"));
        json_object_set_new(spec, "externalName", json_string(ext));
        json_object_del(spec, "ports");
    }
    return s;
}

/* A hand-made EndpointSlice (the services have no selector). */
static json_t *slice(const char *svc, int n, bool hostnames)
{
    json_t *eps = json_array();
    for (int i = 0; i < n; i++) {
        char ip[32], host[32];
        snprintf(ip, sizeof ip, "10.244.%d.%d", n > 10 ? 1 : 0, 11 + i);
        snprintf(host, sizeof host, "web-%d", i);
        json_t *e = json_pack("{s:[s],s:{s:b}}", "addresses", ip, "conditions", "ready", 1);
        if (hostnames && i < 2) json_object_set_new(e, "hostname", json_string(host));
        json_array_append_new(eps, e);
    }
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s}},s:s,s:o,s:[{s:s,s:i,s:s}]}", "apiVersion",
                     "discovery.k8s.io/v1", "kind", "EndpointSlice", "metadata", "name", svc,
                     "namespace", "dnstest", "labels", "kubernetes.io/service-name", svc,
                     "addressType", "IPv4", "endpoints", eps, "ports", "name", "http", "port",
                     8080, "protocol", "TCP");
}

static sk_dns *dns_start(sk_client *c, const char *advertise)
{
    char up[64];
    snprintf(up, sizeof up, "127.0.0.1:%d", up_port);
    const char *ups[] = {up, NULL};
    struct sk_dns_config cfg = {.client = c, .bind_address = "127.0.0.1",
                                .advertise_ip = advertise, .port = -1, .upstreams = ups};
    sk_err err = SK_ERR_INIT;
    sk_dns *d = sk_dns_new(&cfg, &err);
    if (d && sk_dns_start(d, &err) < 0) {
        sk_dns_free(d);
        d = NULL;
    }
    if (!d) fprintf(stderr, "dns: %s\n", err.msg);
    dns_port = d ? sk_dns_port(d) : 0;
    return d;
}

/* ---- tests ------------------------------------------------------------------------- */

static void check_published(sk_client *c, const char *adv)
{
    sk_err err = SK_ERR_INIT;
    json_t *svc = sk_client_get(c, res("", "services"), "kube-system", "kube-dns", &err);
    REQUIRE_V(svc);
    CHECK_STR(sk_json_path_str(svc, "spec.clusterIP"), "10.96.0.10");
    CHECK_STR(sk_json_path_str(svc, "metadata.labels.k8s-app"), "kube-dns");
    CHECK_STR(sk_json_str(sk_json_path(svc, "metadata.labels"), "kubernetes.io/name"), "CoreDNS");
    CHECK(!sk_json_path(svc, "spec.selector"));
    json_t *p0 = json_array_get(sk_json_path(svc, "spec.ports"), 0);
    json_t *p1 = json_array_get(sk_json_path(svc, "spec.ports"), 1);
    CHECK_STR(sk_json_str(p0, "name"), "dns");
    CHECK_STR(sk_json_str(p0, "protocol"), "UDP");
    CHECK_INT(json_integer_value(json_object_get(p0, "port")), 53);
    CHECK_INT(json_integer_value(json_object_get(p0, "targetPort")), dns_port);
    CHECK_STR(sk_json_str(p1, "name"), "dns-tcp");
    CHECK_STR(sk_json_str(p1, "protocol"), "TCP");
    CHECK_INT(json_integer_value(json_object_get(p1, "targetPort")), dns_port);
    json_decref(svc);

    json_t *ep = sk_client_get(c, res("", "endpoints"), "kube-system", "kube-dns", &err);
    REQUIRE_V(ep);
    json_t *ss = json_array_get(json_object_get(ep, "subsets"), 0);
    CHECK_STR(sk_json_str(json_array_get(json_object_get(ss, "addresses"), 0), "ip"), adv);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(json_object_get(ss, "ports"), 0),
                                                 "port")), dns_port);
    json_decref(ep);

    json_t *sl = sk_client_get(c, res("discovery.k8s.io", "endpointslices"), "kube-system",
                               "kube-dns", &err);
    REQUIRE_V(sl);
    json_t *labels = sk_json_path(sl, "metadata.labels");
    CHECK_STR(sk_json_str(labels, "kubernetes.io/service-name"), "kube-dns");
    CHECK_STR(sk_json_str(labels, "endpointslice.kubernetes.io/managed-by"), "skiff-dns");
    json_t *e0 = json_array_get(json_object_get(sl, "endpoints"), 0);
    CHECK_STR(json_string_value(json_array_get(json_object_get(e0, "addresses"), 0)), adv);
    CHECK(json_is_true(sk_json_path(e0, "conditions.ready")));
    CHECK_INT(json_integer_value(json_object_get(json_array_get(json_object_get(sl, "ports"), 1),
                                                 "port")), dns_port);
    json_decref(sl);
}

/* Publishing again changes nothing (no write, same resourceVersions). */
static void check_publish_idempotent(sk_client *c)
{
    sk_err err = SK_ERR_INIT;
    json_t *a = sk_client_get(c, res("", "endpoints"), "kube-system", "kube-dns", &err);
    json_t *b = sk_client_get(c, res("", "services"), "kube-system", "kube-dns", &err);
    json_t *s = sk_client_get(c, res("discovery.k8s.io", "endpointslices"), "kube-system",
                              "kube-dns", &err);
    CHECK(sk_dns_publish(c, "10.96.0.10", "127.0.0.1", dns_port, &err) == 0);
    json_t *a2 = sk_client_get(c, res("", "endpoints"), "kube-system", "kube-dns", &err);
    json_t *b2 = sk_client_get(c, res("", "services"), "kube-system", "kube-dns", &err);
    json_t *s2 = sk_client_get(c, res("discovery.k8s.io", "endpointslices"), "kube-system",
                               "kube-dns", &err);
    CHECK_STR(sk_json_path_str(a2, "metadata.resourceVersion"),
              sk_json_path_str(a, "metadata.resourceVersion"));
    CHECK_STR(sk_json_path_str(b2, "metadata.resourceVersion"),
              sk_json_path_str(b, "metadata.resourceVersion"));
    CHECK_STR(sk_json_path_str(s2, "metadata.resourceVersion"),
              sk_json_path_str(s, "metadata.resourceVersion"));
    json_decref(a);
    json_decref(b);
    json_decref(s);
    json_decref(a2);
    json_decref(b2);
    json_decref(s2);
}

static void test_records(const char *web_ip)
{
    for (int how = UDP; how <= TCP; how++) {
        ldns_pkt *p = ask("web.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, how);
        CHECK(p && ldns_pkt_aa(p) && nans(p) == 1 && has(p, LDNS_RR_TYPE_A, web_ip));
        ldns_pkt_free(p);
    }
    ldns_pkt *p = ask("hl.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, UDP);
    CHECK(nans(p) == 3 && has(p, LDNS_RR_TYPE_A, "10.244.0.11") &&
          has(p, LDNS_RR_TYPE_A, "10.244.0.13"));
    ldns_pkt_free(p);
    p = ask("web-1.hl.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, TCP);
    CHECK(nans(p) == 1 && has(p, LDNS_RR_TYPE_A, "10.244.0.12"));
    ldns_pkt_free(p);

    p = ask("_http._tcp.web.dnstest.svc.cluster.local.", LDNS_RR_TYPE_SRV, UDP);
    CHECK(nans(p) == 1 && has(p, LDNS_RR_TYPE_SRV, "web.dnstest.svc.cluster.local."));
    CHECK(p && ldns_rr_list_rr_count(ldns_pkt_additional(p)) == 1);
    ldns_pkt_free(p);
    p = ask("_http._tcp.hl.dnstest.svc.cluster.local.", LDNS_RR_TYPE_SRV, TCP);
    CHECK(nans(p) == 3 && has(p, LDNS_RR_TYPE_SRV, "web-0.hl.dnstest.svc.cluster.local.") &&
          has(p, LDNS_RR_TYPE_SRV, "10-244-0-13.hl.dnstest.svc.cluster.local."));
    ldns_pkt_free(p);

    char rev[80];
    unsigned a, b, c2, d;
    if (sscanf(web_ip, "%u.%u.%u.%u", &a, &b, &c2, &d) == 4) {
        snprintf(rev, sizeof rev, "%u.%u.%u.%u.in-addr.arpa.", d, c2, b, a);
        p = ask(rev, LDNS_RR_TYPE_PTR, UDP);
        CHECK(nans(p) == 1 && has(p, LDNS_RR_TYPE_PTR, "web.dnstest.svc.cluster.local."));
        ldns_pkt_free(p);
    }
    p = ask("11.0.244.10.in-addr.arpa.", LDNS_RR_TYPE_PTR, UDP);
    CHECK(nans(p) == 1 && has(p, LDNS_RR_TYPE_PTR, "web-0.hl.dnstest.svc.cluster.local."));
    ldns_pkt_free(p);

    p = ask("10-1-2-3.dnstest.pod.cluster.local.", LDNS_RR_TYPE_A, UDP);
    CHECK(nans(p) == 1 && has(p, LDNS_RR_TYPE_A, "10.1.2.3"));
    ldns_pkt_free(p);

    p = ask("nope.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, UDP);
    CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_NXDOMAIN && nans(p) == 0);
    const ldns_rr_list *auth = p ? ldns_pkt_authority(p) : NULL;
    CHECK(auth && ldns_rr_list_rr_count(auth) == 1 &&
          ldns_rr_get_type(ldns_rr_list_rr(auth, 0)) == LDNS_RR_TYPE_SOA);
    ldns_pkt_free(p);
    p = ask("web.dnstest.svc.cluster.local.", LDNS_RR_TYPE_AAAA, TCP);
    CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR && nans(p) == 0 &&
          ldns_rr_list_rr_count(ldns_pkt_authority(p)) == 1);
    ldns_pkt_free(p);
    p = ask("kube-dns.kube-system.svc.cluster.local.", LDNS_RR_TYPE_A, UDP);
    CHECK(nans(p) == 1 && has(p, LDNS_RR_TYPE_A, "10.96.0.10"));
    ldns_pkt_free(p);
}

static void test_big_and_garbage(void)
{
    ldns_pkt *p = ask("big.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, UDP);
    CHECK(p && ldns_pkt_tc(p) && nans(p) < 60);
    ldns_pkt_free(p);
    p = ask("big.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, TCP);
    CHECK(p && !ldns_pkt_tc(p) && nans(p) == 60);
    ldns_pkt_free(p);
    p = ask_edns("big.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, UDP, 4096);
    CHECK(p && !ldns_pkt_tc(p) && nans(p) == 60);
    ldns_pkt_free(p);

    /* garbage over UDP and TCP: FORMERR carrying the id */
    static const uint8_t junk[] = {0x77, 0x66, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00,
                                   0x00, 0x00, 0x00, 0x00, 0xff, 0xfe, 0xfd};
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)dns_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    uint8_t buf[512];
    ssize_t n = -1;
    if (connect(fd, (struct sockaddr *)&to, sizeof to) == 0 && send(fd, junk, sizeof junk, 0) > 0) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 3000) > 0) n = recv(fd, buf, sizeof buf, 0);
    }
    CHECK(n == 12 && buf[0] == 0x77 && buf[1] == 0x66 && (buf[2] & 0x80) &&
          (buf[3] & 0xf) == LDNS_RCODE_FORMERR);
    close(fd);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    uint8_t msg[2 + sizeof junk] = {0, sizeof junk};
    memcpy(msg + 2, junk, sizeof junk);
    n = -1;
    if (connect(fd, (struct sockaddr *)&to, sizeof to) == 0 &&
        send(fd, msg, sizeof msg, MSG_NOSIGNAL) == (ssize_t)sizeof msg) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 3000) > 0) n = recv(fd, buf, 14, MSG_WAITALL);
    }
    CHECK(n == 14 && buf[0] == 0 && buf[1] == 12 && buf[2] == 0x77 &&
          (buf[5] & 0xf) == LDNS_RCODE_FORMERR);
    close(fd);
}

static void test_forwarding(void)
{
    int before = atomic_load(&up_queries);
    for (int how = UDP; how <= TCP; how++) {
        ldns_pkt *p = ask("example.org.", LDNS_RR_TYPE_A, how);
        CHECK(p && !ldns_pkt_aa(p) && nans(p) == 1 && has(p, LDNS_RR_TYPE_A, "192.0.2.1"));
        ldns_pkt_free(p);
    }
    CHECK(atomic_load(&up_queries) >= before + 2);
    ldns_pkt *p = ask("nx.example.org.", LDNS_RR_TYPE_A, UDP);
    CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_NXDOMAIN);
    ldns_pkt_free(p);
    /* ExternalName: the CNAME and the upstream's answer for its target */
    p = ask("ext.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, UDP);
    CHECK(nans(p) == 2 && has(p, LDNS_RR_TYPE_CNAME, "example.org.") &&
          has(p, LDNS_RR_TYPE_A, "192.0.2.1"));
    ldns_pkt_free(p);
    /* a silent upstream: SERVFAIL after the timeout and one retry */
    int64_t t0 = sk_now_ms();
    p = ask("drop.example.org.", LDNS_RR_TYPE_A, UDP);
    CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_SERVFAIL);
    CHECK(sk_now_ms() - t0 < 7000);
    ldns_pkt_free(p);
    /* cluster names still answer while a forward is stuck */
    p = ask("web.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, UDP);
    CHECK(nans(p) == 1);
    ldns_pkt_free(p);
}

static void run(sk_client *c)
{
    json_t *nsobj = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
                              "metadata", "name", "dnstest");
    json_decref(create(c, "", "namespaces", NULL, nsobj));
    sk_dns *d = dns_start(c, "127.0.0.1");
    REQUIRE_V(d);
    check_published(c, "127.0.0.1");
    check_publish_idempotent(c);

    json_t *web = create(c, "", "services", "dnstest", service("web", NULL, NULL));
    json_decref(create(c, "", "services", "dnstest", service("hl", "None", NULL)));
    json_decref(create(c, "", "services", "dnstest", service("big", "None", NULL)));
    json_decref(create(c, "", "services", "dnstest", service("ext", NULL, "example.org")));
    json_decref(create(c, "discovery.k8s.io", "endpointslices", "dnstest", slice("hl", 3, true)));
    json_decref(create(c, "discovery.k8s.io", "endpointslices", "dnstest", slice("big", 60, false)));
    const char *web_ip = sk_json_path_str(web, "spec.clusterIP");
    CHECK(web_ip != NULL);
    CHECK(wait_answer("web.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, 1, UDP));
    CHECK(wait_answer("big.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, 60, TCP));
    CHECK(wait_answer("hl.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, 3, UDP));
    CHECK(wait_answer("ext.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, 2, UDP));
    if (web_ip) test_records(web_ip);
    test_big_and_garbage();
    test_forwarding();

    /* changes reach the answers */
    sk_err err = SK_ERR_INIT;
    CHECK(sk_client_delete(c, res("", "services"), "dnstest", "web", NULL, 0, NULL, &err) == 0);
    CHECK(wait_answer("web.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, -1, UDP));
    json_decref(web);

    /* a restart on another address and port repairs the publication */
    sk_dns_free(d);
    d = dns_start(c, "127.0.0.2");
    REQUIRE_V(d);
    check_published(c, "127.0.0.2");
    CHECK(wait_answer("hl.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, 3, TCP));
    sk_dns_free(d);
}

int main(void)
{
    skiff = getenv("SKIFF");
    if (!skiff || !*skiff) {
        fprintf(stderr, "SKIFF not set: skipping\n");
        return 77;
    }
    signal(SIGPIPE, SIG_IGN);
    snprintf(dir, sizeof dir, "%s/skiff-dns-test-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    REQUIRE(mkdtemp(dir));
    snprintf(kubeconfig, sizeof kubeconfig, "%s/data/kubeconfig", dir);
    srand((unsigned)(getpid() ^ time(NULL)));
    bool up = false;
    for (int tries = 0; tries < 5 && !up; tries++) {
        api_port = 20000 + rand() % 10000;
        if (!(up = server_start())) server_kill();
    }
    if (!up) {
        fprintf(stderr, "server did not start (see %s/server.log)\n", dir);
        return 1;
    }
    sk_err err = SK_ERR_INIT;
    sk_client *c = sk_client_from_kubeconfig(kubeconfig, "skiff-dns-test", &err);
    if (c && upstream_start()) {
        run(c);
    } else {
        fprintf(stderr, "setup: %s\n", c ? "upstream" : err.msg);
        test_failures++;
    }
    upstream_stop();
    sk_client_free(c);
    server_kill();
    if (!getenv("KEEP")) nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return test_done();
}
