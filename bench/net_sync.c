/* bench_net_sync: the service proxy's side of bench/net (bench/net.sh).
 * Runs in the bench network namespace (nsenter --net), so the proxy
 * programs that netns.
 *
 *   bench_net_sync sync --kubeconfig K [--services 1000] [--endpoints 10]
 *       [--conc 4] [--changes 10] [--table skiffbench]
 *     creates N selector-less Services and one EndpointSlice of E
 *     endpoints each (--conc client threads), then starts an sk_proxy:
 *     its first sync is the full sync of everything; then --changes times
 *     one endpoint address of one slice is replaced and timed until the
 *     proxy applied it; then a second proxy replaces the live table (the
 *     restart case). Prints `key value` lines; removes its table.
 *
 *   bench_net_sync proxy --kubeconfig K --node-name N
 *     runs the proxy (table "skiff") until SIGTERM, for when `skiff server`
 *     does not run one itself; removes its table on exit unless --keep.
 *
 * Endpoints are on a made-up other node (as most endpoints of a large
 * cluster are), in 10.250.0.0/16; nothing is sent to them. */
#include "client/client.h"
#include "network/proxy/proxy.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NS "net-bench"

struct opts {
    const char *kubeconfig, *table, *node, *cluster_cidr, *service_cidr;
    int services, endpoints, conc, changes;
    bool keep;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(double ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6)};
    nanosleep(&ts, NULL);
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kb = strtol(line + 6, NULL, 10);
    if (f) fclose(f);
    return kb;
}

/* ---- objects ---------------------------------------------------------------------------- */

static const struct sk_resource *r_svc(void) { return sk_resource_find("", "v1", "services"); }
static const struct sk_resource *r_es(void) { return sk_resource_find("discovery.k8s.io", "v1", "endpointslices"); }

static json_t *slice(int s, int e, int gen)
{
    char name[32];
    snprintf(name, sizeof name, "svc-%d", s);
    json_t *eps = json_array();
    for (int i = 0; i < e; i++) {
        int n = s * e + i;
        char ip[32];
        /* gen moves the first address: a single-endpoint change */
        if (i == 0 && gen) snprintf(ip, sizeof ip, "10.251.%d.%d", gen / 250 % 250, gen % 250 + 1);
        else snprintf(ip, sizeof ip, "10.250.%d.%d", (n / 250) % 250, n % 250 + 1);
        json_array_append_new(eps, json_pack("{s:[s],s:{s:b},s:s}", "addresses", ip, "conditions", "ready", 1,
                                             "nodeName", "bench-remote"));
    }
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s}},s:s,s:[{s:s,s:s,s:i}],s:o}", "apiVersion",
                     "discovery.k8s.io/v1", "kind", "EndpointSlice", "metadata", "name", name, "namespace", NS,
                     "labels", "kubernetes.io/service-name", name, "addressType", "IPv4", "ports", "name", "http",
                     "protocol", "TCP", "port", 8080, "endpoints", eps);
}

static json_t *service(int s)
{
    char name[32];
    snprintf(name, sizeof name, "svc-%d", s);
    return json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:[{s:s,s:s,s:i,s:i}]}}", "apiVersion", "v1", "kind", "Service",
                     "metadata", "name", name, "namespace", NS, "spec", "ports", "name", "http", "protocol", "TCP",
                     "port", 80, "targetPort", 8080);
}

struct creator {
    sk_client *c;
    const struct opts *o;
    int from, to;
    int errors;
};

static void *create_range(void *arg)
{
    struct creator *cr = arg;
    for (int s = cr->from; s < cr->to; s++) {
        sk_err err = SK_ERR_INIT;
        json_t *objs[2] = {service(s), slice(s, cr->o->endpoints, 0)};
        const struct sk_resource *rs[2] = {r_svc(), r_es()};
        for (int k = 0; k < 2; k++) {
            json_t *r = sk_client_create(cr->c, rs[k], NS, objs[k], &err);
            if (!r && err.code != SK_EEXIST) {
                if (!cr->errors++) fprintf(stderr, "create svc-%d: %s\n", s, err.msg);
            }
            json_decref(r);
            json_decref(objs[k]);
            sk_err_clear(&err);
        }
    }
    return NULL;
}

static int create_all(sk_client *c, const struct opts *o)
{
    sk_err err = SK_ERR_INIT;
    json_t *ns = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name", NS);
    json_decref(sk_client_create(c, sk_resource_find("", "v1", "namespaces"), NULL, ns, &err));
    json_decref(ns);
    sk_err_clear(&err);
    struct creator cr[64];
    pthread_t th[64];
    int conc = o->conc < 1 ? 1 : o->conc > 64 ? 64 : o->conc;
    double t0 = now_ms();
    for (int i = 0; i < conc; i++) {
        cr[i] = (struct creator){c, o, o->services * i / conc, o->services * (i + 1) / conc, 0};
        pthread_create(&th[i], NULL, create_range, &cr[i]);
    }
    int errors = 0;
    for (int i = 0; i < conc; i++) {
        pthread_join(th[i], NULL);
        errors += cr[i].errors;
    }
    printf("create_s %.2f\ncreate_errors %d\n", (now_ms() - t0) / 1000, errors);
    return errors ? -1 : 0;
}

/* ---- measurements -------------------------------------------------------------------------- */

static sk_proxy *start_proxy(sk_client *c, const struct opts *o, double *start_ms)
{
    struct sk_proxy_config cfg = {.client = c, .node_name = o->node, .cluster_cidr = o->cluster_cidr,
                                  .service_cidr = o->service_cidr, .table = o->table};
    sk_err err = SK_ERR_INIT;
    double t0 = now_ms();
    sk_proxy *p = sk_proxy_new(&cfg, &err);
    if (p && sk_proxy_start(p, &err) < 0) {
        sk_proxy_free(p);
        p = NULL;
    }
    if (!p) fprintf(stderr, "proxy: %s\n", err.msg);
    *start_ms = now_ms() - t0;
    return p;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    if (n <= 0) return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

/* One endpoint address of one slice replaced, timed from before the PUT
 * until the proxy's sync count moves (and by the proxy's own clock). */
static int changes(sk_client *c, sk_proxy *p, const struct opts *o)
{
    int n = o->changes;
    double *wall = calloc((size_t)n + 1, sizeof *wall), *evt = calloc((size_t)n + 1, sizeof *evt);
    double *txn = calloc((size_t)n + 1, sizeof *txn);
    int done = 0;
    for (int i = 0; i < n; i++) {
        int s = (i * 7919) % o->services;
        sk_err err = SK_ERR_INIT;
        char name[32];
        snprintf(name, sizeof name, "svc-%d", s);
        json_t *have = sk_client_get(c, r_es(), NS, name, &err);
        json_t *next = slice(s, o->endpoints, i + 1);
        json_object_set(json_object_get(next, "metadata"), "resourceVersion",
                        json_object_get(json_object_get(have, "metadata"), "resourceVersion"));
        struct sk_proxy_stats st;
        sk_proxy_get_stats(p, &st);
        int64_t syncs = st.syncs;
        double t0 = now_ms();
        json_t *r = sk_client_update(c, r_es(), NS, next, NULL, &err);
        bool ok = r != NULL;
        if (!ok) fprintf(stderr, "update %s: %s\n", name, err.msg);
        while (ok && now_ms() - t0 < 5000) {
            sk_proxy_get_stats(p, &st);
            if (st.syncs > syncs) break;
            sleep_ms(0.2);
        }
        if (ok && st.syncs > syncs) {
            wall[done] = now_ms() - t0;
            evt[done] = (double)st.last_change_to_applied_us / 1000;
            txn[done] = (double)st.last_sync_us / 1000;
            done++;
        }
        json_decref(have);
        json_decref(next);
        json_decref(r);
        sk_err_clear(&err);
        sleep_ms(50); /* apart, so no two changes share a sync */
    }
    printf("change_n %d\n", done);
    printf("change_wall_p50_ms %.2f\nchange_wall_max_ms %.2f\n", pct(wall, done, 0.5), pct(wall, done, 1));
    printf("change_event_p50_ms %.2f\nchange_event_max_ms %.2f\n", pct(evt, done, 0.5), pct(evt, done, 1));
    printf("change_sync_p50_ms %.2f\n", pct(txn, done, 0.5));
    free(wall);
    free(evt);
    free(txn);
    return done == n ? 0 : -1;
}

static int cmd_sync(const struct opts *o)
{
    sk_err err = SK_ERR_INIT;
    sk_client *c = sk_client_from_kubeconfig(o->kubeconfig, "bench-net-sync", &err);
    if (!c) {
        fprintf(stderr, "client: %s\n", err.msg);
        return 1;
    }
    int rc = create_all(c, o);
    printf("services %d\nendpoints_per_service %d\n", o->services, o->endpoints);
    long rss0 = rss_kb();
    double start_ms = 0;
    sk_proxy *p = rc == 0 ? start_proxy(c, o, &start_ms) : NULL;
    if (p) {
        struct sk_proxy_stats st;
        sk_proxy_get_stats(p, &st);
        printf("full_sync_ms %.1f\nstart_ms %.1f\nprogrammed_services %d\nprogrammed_endpoints %d\n",
               (double)st.last_full_sync_us / 1000, start_ms, st.services, st.endpoints);
        printf("rss_proxy_kb %ld\n", rss_kb() - rss0);
        /* the API server's own "kubernetes" service counts too */
        if (st.services < o->services || st.endpoints < o->services * o->endpoints) rc = -1;
        if (changes(c, p, o) < 0) rc = -1;
        sk_proxy_free(p); /* the table stays, as on a restart */
        p = start_proxy(c, o, &start_ms);
        if (p) {
            sk_proxy_get_stats(p, &st);
            printf("full_sync_restart_ms %.1f\n", (double)st.last_full_sync_us / 1000);
            sk_proxy_free(p);
        } else {
            rc = -1;
        }
    } else {
        rc = -1;
    }
    if (sk_proxy_cleanup(o->table, NULL, &err) < 0) fprintf(stderr, "cleanup: %s\n", err.msg);
    sk_client_free(c);
    return rc == 0 ? 0 : 1;
}

static volatile sig_atomic_t stop;
static void on_signal(int sig) { stop = 1; }

static int cmd_proxy(const struct opts *o)
{
    sk_err err = SK_ERR_INIT;
    sk_client *c = sk_client_from_kubeconfig(o->kubeconfig, "bench-net-proxy", &err);
    if (!c) {
        fprintf(stderr, "client: %s\n", err.msg);
        return 1;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    double start_ms;
    sk_proxy *p = start_proxy(c, o, &start_ms);
    if (p) {
        fprintf(stderr, "proxy running (table %s)\n", o->table);
        while (!stop) sleep_ms(100);
        struct sk_proxy_stats st;
        sk_proxy_get_stats(p, &st);
        printf("proxy_syncs %lld\nproxy_services %d\n", (long long)st.syncs, st.services);
        sk_proxy_free(p);
    }
    if (!o->keep && sk_proxy_cleanup(o->table, NULL, &err) < 0) fprintf(stderr, "cleanup: %s\n", err.msg);
    sk_client_free(c);
    return p ? 0 : 1;
}

int main(int argc, char **argv)
{
    sk_log_level = SK_INFO; /* before any thread; the proxy logs each full sync */
    struct opts o = {.table = NULL, .node = "bench-node", .cluster_cidr = "10.244.0.0/16",
                     .service_cidr = "10.96.0.0/12", .services = 1000, .endpoints = 10, .conc = 4,
                     .changes = 10};
    if (argc < 2 || (strcmp(argv[1], "sync") && strcmp(argv[1], "proxy"))) {
        fprintf(stderr, "usage: bench_net_sync sync|proxy --kubeconfig K [options]\n");
        return 2;
    }
    bool sync = !strcmp(argv[1], "sync");
    static const struct option lo[] = {
        {"kubeconfig", 1, 0, 'k'}, {"services", 1, 0, 's'}, {"endpoints", 1, 0, 'e'}, {"conc", 1, 0, 'c'},
        {"changes", 1, 0, 'n'},    {"table", 1, 0, 't'},    {"node-name", 1, 0, 'N'}, {"cluster-cidr", 1, 0, 'C'},
        {"service-cidr", 1, 0, 'S'}, {"keep", 0, 0, 'K'},   {0, 0, 0, 0}};
    int ch;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'k': o.kubeconfig = optarg; break;
        case 's': o.services = (int)strtol(optarg, NULL, 10); break;
        case 'e': o.endpoints = (int)strtol(optarg, NULL, 10); break;
        case 'c': o.conc = (int)strtol(optarg, NULL, 10); break;
        case 'n': o.changes = (int)strtol(optarg, NULL, 10); break;
        case 't': o.table = optarg; break;
        case 'N': o.node = optarg; break;
        case 'C': o.cluster_cidr = optarg; break;
        case 'S': o.service_cidr = optarg; break;
        case 'K': o.keep = true; break;
        default: return 2;
        }
    }
    if (!o.kubeconfig || o.services < 1 || o.services > 20000 || o.endpoints < 1 || o.endpoints > 100) {
        fprintf(stderr, "bench_net_sync: --kubeconfig is required; 1..20000 services, 1..100 endpoints\n");
        return 2;
    }
    if (!o.table) o.table = sync ? "skiffbench" : "skiff";
    setvbuf(stdout, NULL, _IOLBF, 0);
    return sync ? cmd_sync(&o) : cmd_proxy(&o);
}
