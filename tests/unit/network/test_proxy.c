/* Service proxy, the pure parts: the model from Services/EndpointSlices
 * and the nft script generator, full and incremental (no root, no nft). */
#include "network/proxy/proxy_int.h"
#include "unit/test.h"

#include <stdio.h>

static json_t *service(const char *name, const char *type, const char *cip, int port, int node_port)
{
    json_t *p = json_pack("{s:s,s:s,s:i,s:i}", "name", "http", "protocol", "TCP", "port", port,
                          "targetPort", 8080);
    if (node_port) json_object_set_new(p, "nodePort", json_integer(node_port));
    return json_pack("{s:{s:s,s:s},s:{s:s,s:s,s:[o]}}", "metadata", "name", name, "namespace",
                     "default", "spec", "type", type, "clusterIP", cip, "ports", p);
}

/* An EndpointSlice for svc with ips[] (NULL-terminated), ready unless the
 * ip starts with '!'; endpoints on node n1 unless it starts with '@'. */
static json_t *slice(const char *svc, const char *name, const char *const *ips)
{
    json_t *eps = json_array();
    for (size_t i = 0; ips[i]; i++) {
        const char *ip = ips[i];
        bool ready = true, other = false;
        for (; *ip == '!' || *ip == '@'; ip++) {
            if (*ip == '!') ready = false;
            else other = true;
        }
        json_array_append_new(eps, json_pack("{s:[s],s:{s:b},s:s}", "addresses", ip, "conditions",
                                             "ready", ready, "nodeName", other ? "n2" : "n1"));
    }
    return json_pack("{s:{s:s,s:s,s:{s:s}},s:s,s:[{s:s,s:s,s:i}],s:o}", "metadata", "name", name,
                     "namespace", "default", "labels", "kubernetes.io/service-name", svc,
                     "addressType", "IPv4", "ports", "name", "http", "protocol", "TCP", "port", 8080,
                     "endpoints", eps);
}

struct model {
    struct px_port **ports;
    size_t n;
};

static void add_svc(struct model *m, const json_t *svc, const json_t *sl)
{
    json_t *t = px_trim_service(svc);
    json_t *slices = json_object();
    if (sl) json_object_set_new(slices, "s1", px_trim_slice(sl));
    px_build_ports(t, slices, "n1", &m->ports, &m->n);
    json_decref(t);
    json_decref(slices);
}

static void reset(struct model *m)
{
    px_ports_free(m->ports, m->n);
    m->ports = NULL;
    m->n = 0;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

static char *full(px_gen *g, struct model *m)
{
    sk_buf b = SK_BUF_INIT;
    px_gen_full(g, m->ports, m->n, &b);
    px_gen_commit(g);
    if (!b.len) sk_buf_release(&b);
    return b.len ? sk_buf_take(&b) : sk_strdup("");
}

static char *update(px_gen *g, const char *key, struct model *m)
{
    sk_buf b = SK_BUF_INIT;
    const char *keys[] = {key};
    px_gen_update(g, keys, 1, m->ports, m->n, &b);
    px_gen_commit(g);
    if (!b.len) sk_buf_release(&b);
    return b.len ? sk_buf_take(&b) : sk_strdup("");
}

static int test_model(void)
{
    struct model m = {0};
    json_t *svc = service("web", "NodePort", "10.96.0.10", 80, 30080);
    const char *ips[] = {"10.244.1.3", "10.244.1.2", "!10.244.1.4", "@10.244.2.5", "fe80::1", NULL};
    json_t *sl = slice("web", "web-abc", ips);
    add_svc(&m, svc, sl);
    REQUIRE(m.n == 1);
    struct px_port *p = m.ports[0];
    CHECK_STR(p->svc_key, "default/web");
    CHECK_STR(p->proto, "tcp");
    CHECK_STR(p->cluster_ip, "10.96.0.10");
    CHECK_INT(p->node_port, 30080);
    CHECK_INT(p->n_cluster, 3); /* not ready and IPv6 left out */
    CHECK_STR(p->cluster[0].ip, "10.244.1.2"); /* sorted */
    CHECK_INT(p->cluster[0].port, 8080);
    CHECK_INT(p->n_local, 2);
    CHECK(strstr(p->base, "-default/web/tcp/http") == p->base + 8);
    reset(&m);

    /* only terminating-but-serving endpoints left: they are used */
    json_t *e = json_array_get(json_object_get(sl, "endpoints"), 2);
    json_object_set_new(json_object_get(e, "conditions"), "serving", json_true());
    json_object_set_new(json_object_get(e, "conditions"), "terminating", json_true());
    const char *none[] = {NULL};
    json_t *sl2 = slice("web", "web-abc", none);
    json_array_append(json_object_get(sl2, "endpoints"), e);
    add_svc(&m, svc, sl2);
    CHECK_INT(m.ports[0]->n_cluster, 1);
    reset(&m);

    /* headless and hostile names give nothing */
    json_t *hl = service("hl", "ClusterIP", "None", 80, 0);
    add_svc(&m, hl, NULL);
    json_t *bad = service("x;flush ruleset", "ClusterIP", "10.96.0.11", 80, 0);
    add_svc(&m, bad, NULL);
    json_t *badip = service("y", "ClusterIP", "10.96.0.11 } ; flush", 80, 0);
    add_svc(&m, badip, NULL);
    CHECK_INT(m.n, 0);
    json_decref(svc);
    json_decref(sl);
    json_decref(sl2);
    json_decref(hl);
    json_decref(bad);
    json_decref(badip);
    return 0;
}

static int test_generator(void)
{
    struct px_gen_config cfg = {.table = "skiff", .cluster_cidr = "10.244.0.0/16"};
    px_gen *g = px_gen_new(&cfg);
    CHECK(px_gen_need_full(g));
    struct model m = {0};
    json_t *svc = service("web", "NodePort", "10.96.0.10", 80, 30080);
    const char *ips[] = {"10.244.1.2", "10.244.1.3", NULL};
    json_t *sl = slice("web", "s1", ips);
    json_t *empty = service("empty", "ClusterIP", "10.96.0.20", 81, 0);
    add_svc(&m, svc, sl);
    add_svc(&m, empty, NULL);
    _sk_free_ char *f = full(g, &m);
    CHECK(!px_gen_need_full(g));
    CHECK(strncmp(f, "table inet skiff\ndelete table inet skiff\ntable inet skiff {\n", 60) == 0);
    _sk_free_ char *base = sk_strdup(m.ports[0]->base);
    _sk_free_ char *svc_el = sk_printf("10.96.0.10 . tcp . 80 : goto service-%s", base);
    CHECK(strstr(f, svc_el));
    _sk_free_ char *np_el = sk_printf("tcp . 30080 : goto external-%s", base);
    CHECK(strstr(f, np_el));
    CHECK(strstr(f, "ct mark set numgen random mod 2 offset 4096 goto dnat-tcp"));
    CHECK(strstr(f, "add element inet skiff endpoint-ips { 4096 : 10.244.1.2, 4097 : 10.244.1.3 }"));
    CHECK(strstr(f, "add element inet skiff endpoint-ports { 4096 : 8080 }"));
    CHECK(strstr(f, "ip daddr 10.96.0.10 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade"));
    CHECK(strstr(f, "10.244.1.2 . 10.244.1.2"));
    /* no endpoints: reject from the filter hooks */
    CHECK(strstr(f, "add element inet skiff no-endpoint-services { 10.96.0.20 . tcp . 81 : goto reject-chain }"));
    CHECK(strstr(f, "fib daddr type local meta l4proto . th dport vmap @service-nodeports"));
    int svcs, eps;
    px_gen_counts(g, &svcs, &eps);
    CHECK_INT(svcs, 2);
    CHECK_INT(eps, 2);

    /* nothing changed: nothing to write */
    _sk_free_ char *u0 = update(g, "default/web", &m);
    CHECK_STR(u0, "");

    /* one endpoint replaced: two element updates, no chain touched */
    reset(&m);
    const char *ips2[] = {"10.244.1.2", "10.244.1.9", NULL};
    json_t *sl2 = slice("web", "s1", ips2);
    add_svc(&m, svc, sl2);
    _sk_free_ char *u1 = update(g, "default/web", &m);
    CHECK(strstr(u1, "delete element inet skiff endpoint-ips { 4097 }\n"));
    CHECK(strstr(u1, "add element inet skiff endpoint-ips { 4097 : 10.244.1.9 }\n"));
    CHECK(strstr(u1, "delete element inet skiff hairpin { 10.244.1.3 . 10.244.1.3 }\n"));
    CHECK(strstr(u1, "add element inet skiff hairpin { 10.244.1.9 . 10.244.1.9 }\n"));
    CHECK_INT(count(u1, "chain"), 0);
    CHECK(strstr(u1, "delete element") < strstr(u1, "add element"));

    /* a third endpoint: the service chain is rewritten with mod 3 */
    reset(&m);
    const char *ips3[] = {"10.244.1.2", "10.244.1.9", "10.244.1.10", NULL};
    json_t *sl3 = slice("web", "s1", ips3);
    add_svc(&m, svc, sl3);
    _sk_free_ char *u2 = update(g, "default/web", &m);
    _sk_free_ char *flush = sk_printf("flush chain inet skiff service-%s\n", base);
    CHECK(strstr(u2, flush));
    CHECK(strstr(u2, "ct mark set numgen random mod 3 offset 4096 goto dnat-tcp"));
    CHECK(strstr(u2, "add element inet skiff endpoint-ips { 4098 : 10.244.1.10 }")); /* sorted by address */
    CHECK(!strstr(u2, "endpoint-ports"));

    /* no endpoints left: chains go, the NodePort and ClusterIP reject */
    reset(&m);
    add_svc(&m, svc, NULL);
    _sk_free_ char *u3 = update(g, "default/web", &m);
    _sk_free_ char *del = sk_printf("delete chain inet skiff service-%s\n", base);
    CHECK(strstr(u3, del));
    CHECK(strstr(u3, "add element inet skiff no-endpoint-nodeports { tcp . 30080 : goto reject-chain }"));
    CHECK(strstr(u3, "delete element inet skiff endpoint-ips { 4096, 4097, 4098 }"));
    CHECK(strstr(u3, "delete element inet skiff endpoint-ports { 4096 }"));
    CHECK(strstr(u3, del) > strstr(u3, "delete element inet skiff service-ips"));

    /* endpoints back: a block is reused (freed blocks return at commit) */
    reset(&m);
    add_svc(&m, svc, sl);
    _sk_free_ char *u4 = update(g, "default/web", &m);
    CHECK(strstr(u4, "add chain inet skiff service-"));
    CHECK(strstr(u4, "offset 4096 goto dnat-tcp"));

    /* service deleted: everything it had goes */
    reset(&m);
    _sk_free_ char *u5 = update(g, "default/web", &m);
    CHECK(strstr(u5, "delete element inet skiff service-ips"));
    CHECK(strstr(u5, "delete element inet skiff service-nodeports"));
    CHECK(!strstr(u5, "add "));
    px_gen_counts(g, &svcs, &eps);
    CHECK_INT(svcs, 1);

    /* a failed apply: the next sync must be full */
    add_svc(&m, svc, sl);
    sk_buf b = SK_BUF_INIT;
    const char *k[] = {"default/web"};
    px_gen_update(g, k, 1, m.ports, m.n, &b);
    CHECK(b.len > 0);
    px_gen_abort(g);
    CHECK(px_gen_need_full(g));
    sk_buf_release(&b);
    reset(&m);
    json_decref(svc);
    json_decref(sl);
    json_decref(sl2);
    json_decref(sl3);
    json_decref(empty);
    px_gen_free(g);
    return 0;
}

static int test_policies(void)
{
    static const char *const node_ips[] = {"192.168.1.2", NULL};
    struct px_gen_config cfg = {.table = "t1", .cluster_cidr = "10.244.0.0/16",
                                .service_cidr = "10.96.0.0/12", .node_ips = node_ips};
    px_gen *g = px_gen_new(&cfg);
    struct model m = {0};
    /* LoadBalancer, externalTrafficPolicy Local, one local endpoint */
    json_t *svc = service("lb", "LoadBalancer", "10.96.0.30", 80, 31000);
    json_object_set_new(json_object_get(svc, "spec"), "externalTrafficPolicy", json_string("Local"));
    json_object_set_new(svc, "status", json_pack("{s:{s:[{s:s,s:s}]}}", "loadBalancer", "ingress",
                                                 "ip", "192.168.1.2", "ipMode", "VIP"));
    const char *ips[] = {"10.244.1.2", "@10.244.2.2", NULL};
    json_t *sl = slice("lb", "s1", ips);
    add_svc(&m, svc, sl);
    /* same port on the same ingress IP: the first service keeps it */
    json_t *svc2 = service("lb2", "LoadBalancer", "10.96.0.31", 80, 31001);
    json_object_set(svc2, "status", json_object_get(svc, "status"));
    const char *ips2[] = {"10.244.1.7", NULL};
    json_t *sl2 = slice("lb2", "s1", ips2);
    add_svc(&m, svc2, sl2);
    /* ClientIP affinity: per-endpoint chains and timed sets */
    json_t *aff = service("aff", "ClusterIP", "10.96.0.40", 80, 0);
    json_object_set_new(json_object_get(aff, "spec"), "sessionAffinity", json_string("ClientIP"));
    json_t *sl3 = slice("aff", "s1", ips);
    add_svc(&m, aff, sl3);
    /* endpoints on different ports (two slices): endpoint chains, no block */
    json_t *mixed = service("mixed", "ClusterIP", "10.96.0.50", 80, 0);
    const char *mip1[] = {"10.244.1.20", NULL}, *mip2[] = {"10.244.1.21", NULL};
    json_t *ms1 = slice("mixed", "m1", mip1), *ms2 = slice("mixed", "m2", mip2);
    json_object_set_new(json_array_get(json_object_get(ms2, "ports"), 0), "port", json_integer(9090));
    json_t *mt = px_trim_service(mixed), *msl = json_object();
    json_object_set_new(msl, "m1", px_trim_slice(ms1));
    json_object_set_new(msl, "m2", ms2); /* untrimmed works too */
    px_build_ports(mt, msl, "n1", &m.ports, &m.n);
    json_decref(mt);
    json_decref(msl);
    json_decref(ms1);
    json_decref(mixed);
    _sk_free_ char *f = full(g, &m);
    CHECK(strstr(f, "meta l4proto tcp dnat ip to 10.244.1.20:8080"));
    CHECK(strstr(f, "meta l4proto tcp dnat ip to 10.244.1.21:9090"));
    _sk_free_ char *lb = sk_strdup(m.ports[0]->base);
    _sk_free_ char *ext = sk_printf("192.168.1.2 . tcp . 80 : goto external-%s", lb);
    CHECK(strstr(f, ext));
    CHECK_INT(count(f, "192.168.1.2 . tcp . 80 :"), 1);
    _sk_free_ char *sc = sk_printf("ip saddr 10.244.0.0/16 goto service-%s", lb);
    CHECK(strstr(f, sc));
    CHECK(strstr(f, "fib saddr type local jump mark-for-masquerade"));
    _sk_free_ char *gl = sk_printf("goto local-%s", lb);
    CHECK(strstr(f, gl));
    CHECK(strstr(f, "elements = { 127.0.0.1, 192.168.1.2 }"));
    CHECK(strstr(f, "ip daddr 10.96.0.0/12 ip saddr != 10.244.0.0/16 jump mark-for-masquerade"));
    CHECK(!strstr(f, "tcp dport 80 ip saddr != 10.244.0.0/16"));
    CHECK(strstr(f, "10.244.1.2 . 10.244.1.2"));
    CHECK(!strstr(f, "10.244.2.2 . 10.244.2.2")); /* other node's pods cannot hairpin here */
    CHECK(strstr(f, "ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports"));
    /* local chain: one endpoint, its own block */
    CHECK(strstr(f, "ct mark set numgen random mod 1 offset"));
    CHECK(strstr(f, "flags dynamic,timeout; timeout 10800s;"));
    CHECK(strstr(f, "update @affinity-"));
    CHECK(strstr(f, "numgen random mod 2 vmap { 0 : goto endpoint-"));
    CHECK(strstr(f, "meta l4proto tcp dnat ip to 10.244.1.2:8080"));

    /* the affinity timeout changes: new sets, the old ones deleted last */
    reset(&m);
    json_object_set_new(json_object_get(aff, "spec"), "sessionAffinityConfig",
                        json_pack("{s:{s:i}}", "clientIP", "timeoutSeconds", 60));
    add_svc(&m, aff, sl3);
    _sk_free_ char *u = update(g, "default/aff", &m);
    CHECK(strstr(u, "add set inet t1 affinity-"));
    CHECK(strstr(u, "timeout 60s;"));
    CHECK(strstr(u, "delete set inet t1 affinity-"));
    CHECK(strstr(u, "delete set") > strstr(u, "flush chain"));
    reset(&m);
    json_decref(svc);
    json_decref(svc2);
    json_decref(aff);
    json_decref(sl);
    json_decref(sl2);
    json_decref(sl3);
    px_gen_free(g);
    return 0;
}

/* Hostile or malformed objects: nothing crashes, and whatever reaches a
 * script is made of the characters names, addresses and numbers use. */
static int test_hostile(void)
{
    static const char *const bad[] = {
        "{\"metadata\":{\"name\":\"a\",\"namespace\":\"b\"},\"spec\":{\"clusterIP\":\"10.96.0.1\","
        "\"ports\":[{\"port\":99999},{\"port\":\"80\"},{\"port\":80,\"protocol\":\"ICMP\"},"
        "{\"port\":81,\"name\":\"x}y\"},{\"port\":82,\"nodePort\":-5}],\"externalIPs\":[1,\"::1\","
        "\"1.2.3.4; flush ruleset\"],\"sessionAffinity\":\"ClientIP\",\"sessionAffinityConfig\":"
        "{\"clientIP\":{\"timeoutSeconds\":-1}}},\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":7}]}}}",
        "{\"metadata\":{\"name\":[],\"namespace\":\"b\"},\"spec\":{}}",
        "{\"metadata\":{\"name\":\"UPPER\",\"namespace\":\"b\"},\"spec\":{\"clusterIP\":\"10.96.0.1\"}}",
        "{\"spec\":{\"clusterIP\":\"10.96.0.1\",\"ports\":\"all\"}}",
        "[]",
    };
    static const char *const slices[] = {
        "{\"addressType\":\"IPv4\",\"ports\":[{\"port\":80}],\"endpoints\":[{\"addresses\":[\"10.0.0.1 x\"]},"
        "{\"addresses\":[5]},{\"addresses\":[\"10.0.0.2\"],\"nodeName\":\"a b\"},{\"addresses\":[]},"
        "{\"addresses\":[\"10.0.0.3\"],\"conditions\":{\"ready\":\"yes\"}},7]}",
        "{\"addressType\":\"IPv4\",\"ports\":[{\"port\":80,\"name\":\"\"}],\"eps\":\"\\n\\n1.2.3.4\\nx y z w\\n10.0.0.9 r n1\"}",
        "{\"addressType\":\"FQDN\",\"endpoints\":[{\"addresses\":[\"example.com\"]}]}",
    };
    struct px_gen_config cfg = {.table = "skiff", .cluster_cidr = "10.244.0.0/16"};
    px_gen *g = px_gen_new(&cfg);
    struct model m = {0};
    for (size_t i = 0; i < SK_ARRAY_LEN(bad); i++) {
        json_t *svc = json_loads(bad[i], 0, NULL);
        REQUIRE(svc);
        json_t *sls = json_object();
        for (size_t k = 0; k < SK_ARRAY_LEN(slices); k++) {
            char name[8];
            snprintf(name, sizeof name, "s%zu", k);
            json_t *sl = json_loads(slices[k], 0, NULL);
            REQUIRE(sl);
            json_object_set_new(sls, name, k % 2 ? sl : px_trim_slice(sl));
            if (!(k % 2)) json_decref(sl);
        }
        json_t *t = px_trim_service(svc);
        px_build_ports(t, sls, "n1", &m.ports, &m.n);
        json_decref(t);
        json_decref(svc);
        json_decref(sls);
    }
    CHECK_INT(m.n, 1); /* only port 82 of the first service is valid */
    _sk_free_ char *f = full(g, &m);
    for (const char *p = f; *p; p++)
        CHECK(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \t\n{}:;,.-/_|@!=&^#*", *p));
    CHECK(!strstr(f, "flush ruleset") && !strstr(f, "x}y") && !strstr(f, "1.2.3.4;"));
    CHECK(strstr(f, "10.0.0.9") && strstr(f, "10.0.0.3") && !strstr(f, "10.0.0.1 "));
    reset(&m);
    px_gen_free(g);
    return 0;
}

/* 1,000 services x 10 endpoints: rendering is a small part of the 200 ms
 * sync budget (about 15 ms optimized; the bound only catches blowups, and
 * holds under sanitizers). */
static int test_scale(void)
{
    struct px_gen_config cfg = {.table = "skiff", .cluster_cidr = "10.244.0.0/16"};
    px_gen *g = px_gen_new(&cfg);
    struct model m = {0};
    int64_t t0 = sk_now_ms();
    for (int s = 0; s < 1000; s++) {
        char name[32], cip[32], ipb[10][32];
        const char *ips[11];
        snprintf(name, sizeof name, "svc-%d", s);
        snprintf(cip, sizeof cip, "10.96.%d.%d", s / 250, s % 250 + 1);
        for (int e = 0; e < 10; e++) {
            snprintf(ipb[e], sizeof ipb[e], "10.244.%d.%d", (s * 10 + e) / 250, (s * 10 + e) % 250 + 1);
            ips[e] = ipb[e];
        }
        ips[10] = NULL;
        json_t *svc = service(name, "ClusterIP", cip, 80, 0);
        json_t *sl = slice(name, "s1", ips);
        add_svc(&m, svc, sl);
        json_decref(svc);
        json_decref(sl);
    }
    int64_t t1 = sk_now_ms();
    _sk_free_ char *f = full(g, &m);
    int64_t t2 = sk_now_ms();
    fprintf(stderr, "scale: model %lld ms, full script %zu KB in %lld ms\n", (long long)(t1 - t0),
            strlen(f) / 1024, (long long)(t2 - t1));
    CHECK(t2 - t1 < 2000);
    int svcs, eps;
    px_gen_counts(g, &svcs, &eps);
    CHECK_INT(svcs, 1000);
    CHECK_INT(eps, 10000);
    reset(&m);
    px_gen_free(g);
    return 0;
}

int main(void)
{
    sk_log_level = SK_ERROR;
    if (test_model()) return 1;
    if (test_generator()) return 1;
    if (test_policies()) return 1;
    if (test_hostile()) return 1;
    if (test_scale()) return 1;
    return test_done();
}
