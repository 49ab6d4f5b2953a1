/* sk_dns: configuration, informers feeding the index, and a keeper thread
 * that marks the index synced and keeps kube-system/kube-dns right (at
 * start, then every 30 s or as soon as one of its objects changes).
 * Partial, compared with CoreDNS in a kubeadm/k3s cluster: no answer cache
 * for forwarded names, no k3s NodeHosts, no `pods verified`, autopath,
 * multicluster or zonal names, no metrics/health/ready endpoints;
 * AXFR/IXFR are refused. */
#include "network/dns/dns_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#define REPUBLISH_MS 30000
#define SYNC_WAIT_MS 5000 /* CoreDNS waits this long for its caches before serving */

struct sk_dns {
    sk_client *client;
    char *bind, *advertise, *service_ip;
    int port;
    char **upstreams; /* NULL-terminated copy, or NULL */
    char *resolv_conf;
    sk_dns_index *ix;
    struct sk_dns_zone zone;
    struct sk_dns_upstreams ups;
    sk_dns_server *srv;
    sk_informer *svcs, *slices, *nss;
    pthread_t keeper;
    bool keeper_started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop, dirty;
};

static bool valid_ip(const char *s)
{
    unsigned char b[sizeof(struct in6_addr)];
    return s && (inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1);
}

sk_dns *sk_dns_new(const struct sk_dns_config *cfg, sk_err *err)
{
    if (!cfg->client) return sk_err_set(err, SK_EINVALID, "dns: no client"), NULL;
    if (!valid_ip(cfg->advertise_ip))
        return sk_err_set(err, SK_EINVALID, "dns: advertise address \"%s\" is not an IP address",
                          cfg->advertise_ip ? cfg->advertise_ip : ""), NULL;
    const char *svc_ip = cfg->service_ip ? cfg->service_ip : "10.96.0.10";
    if (!valid_ip(svc_ip))
        return sk_err_set(err, SK_EINVALID, "dns: service IP \"%s\" is not an IP address", svc_ip),
               NULL;
    const char *domain = cfg->domain ? cfg->domain : "cluster.local";
    size_t dl = strlen(domain);
    while (dl && domain[dl - 1] == '.') dl--;
    if (!dl || dl > 200) return sk_err_set(err, SK_EINVALID, "dns: bad domain \"%s\"", domain), NULL;
    if (cfg->port < -1 || cfg->port > 65535)
        return sk_err_set(err, SK_EINVALID, "dns: bad port %d", cfg->port), NULL;

    sk_dns *d = sk_calloc(1, sizeof *d);
    d->client = cfg->client;
    d->advertise = sk_strdup(cfg->advertise_ip);
    d->bind = sk_strdup(cfg->bind_address ? cfg->bind_address : cfg->advertise_ip);
    d->service_ip = sk_strdup(svc_ip);
    d->port = cfg->port == 0 ? 53 : cfg->port < 0 ? 0 : cfg->port;
    d->resolv_conf = sk_strdup(cfg->resolv_conf);
    if (cfg->upstreams) {
        size_t n = 0;
        while (cfg->upstreams[n]) n++;
        d->upstreams = sk_calloc(n + 1, sizeof *d->upstreams);
        for (size_t i = 0; i < n; i++) d->upstreams[i] = sk_strdup(cfg->upstreams[i]);
    }
    d->ix = sk_dns_index_new();
    d->zone.ix = d->ix;
    for (size_t i = 0; i < dl; i++) d->zone.domain[i] = (char)tolower((unsigned char)domain[i]);
    snprintf(d->zone.advertise, sizeof d->zone.advertise, "%s", d->advertise);
    d->zone.ttl = cfg->ttl > 0 ? (uint32_t)cfg->ttl : 5;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->cond, NULL);
    return d;
}

int sk_dns_port(const sk_dns *d) { return d->srv ? sk_dns_server_port(d->srv) : 0; }

/* ---- informer handlers ---------------------------------------------------------------- */

static bool is_kube_dns(const json_t *o)
{
    const char *ns = sk_json_path_str(o, "metadata.namespace");
    const char *name = sk_json_path_str(o, "metadata.name");
    return ns && name && !strcmp(ns, "kube-system") && !strcmp(name, "kube-dns");
}

/* Someone touched our kube-dns objects: let the keeper check them. */
static void poke(sk_dns *d, const json_t *o)
{
    if (!is_kube_dns(o)) return;
    pthread_mutex_lock(&d->lock);
    d->dirty = true;
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->lock);
}

static void svc_put(void *ud, const json_t *o)
{
    sk_dns *d = ud;
    sk_dns_index_put_service(d->ix, o);
    poke(d, o);
}
static void svc_upd(void *ud, const json_t *old, const json_t *cur) { (void)old; svc_put(ud, cur); }
static void svc_del(void *ud, const json_t *o)
{
    sk_dns *d = ud;
    sk_dns_index_del_service(d->ix, o);
    poke(d, o);
}
static void slice_put(void *ud, const json_t *o)
{
    sk_dns *d = ud;
    sk_dns_index_put_slice(d->ix, o);
    poke(d, o);
}
static void slice_upd(void *ud, const json_t *old, const json_t *cur) { (void)old; slice_put(ud, cur); }
static void slice_del(void *ud, const json_t *o)
{
    sk_dns *d = ud;
    sk_dns_index_del_slice(d->ix, o);
    poke(d, o);
}
static void ns_put(void *ud, const json_t *o) { sk_dns_index_put_namespace(((sk_dns *)ud)->ix, o); }
static void ns_upd(void *ud, const json_t *old, const json_t *cur) { (void)old; ns_put(ud, cur); }
static void ns_del(void *ud, const json_t *o) { sk_dns_index_del_namespace(((sk_dns *)ud)->ix, o); }

static sk_informer *informer(sk_dns *d, const char *group, const char *plural,
                             json_t *(*trim)(void *, const json_t *),
                             const struct sk_informer_handlers *h, sk_err *err)
{
    const struct sk_resource *r = sk_resource_find(group, "v1", plural);
    if (!r) return sk_err_set(err, SK_EINTERNAL, "dns: %s not registered", plural), NULL;
    sk_informer *inf = sk_informer_new(d->client, r, NULL, NULL, NULL, 0);
    sk_informer_set_transform(inf, trim, NULL);
    sk_informer_add_handlers(inf, h);
    if (sk_informer_start(inf, err) < 0) {
        sk_informer_free(inf);
        return NULL;
    }
    return inf;
}

/* ---- the keeper --------------------------------------------------------------------------- */

static bool all_synced(sk_dns *d, int64_t ms)
{
    return sk_informer_wait_synced(d->svcs, ms) && sk_informer_wait_synced(d->slices, ms) &&
           sk_informer_wait_synced(d->nss, ms);
}

/* Publishes; a failure is retried at the next round. */
static void republish(sk_dns *d, bool *warned)
{
    sk_err err = SK_ERR_INIT;
    if (sk_dns_publish(d->client, d->service_ip, d->advertise, sk_dns_server_port(d->srv),
                       &err) < 0) {
        if (!*warned) sk_log(SK_WARN, "dns", "publishing kube-dns: %s", err.msg);
        *warned = true;
    } else {
        *warned = false;
    }
    sk_err_clear(&err);
}

/* Publishes when poked (at most once a second, so a field the API server
 * rewrites can never make us chase our own writes), every REPUBLISH_MS,
 * and every 2 s while failing. */
static void *keeper_main(void *arg)
{
    sk_dns *d = arg;
    bool warned = false, synced = sk_dns_index_synced(d->ix);
    int64_t last = 0;
    pthread_mutex_lock(&d->lock);
    while (!d->stop) {
        if (!synced && (synced = all_synced(d, 0))) sk_dns_index_set_synced(d->ix, true);
        int64_t since = sk_now_ms() - last;
        if ((d->dirty || warned) && since >= 1000) {
            d->dirty = false;
            pthread_mutex_unlock(&d->lock);
            republish(d, &warned);
            pthread_mutex_lock(&d->lock);
            last = sk_now_ms();
            continue;
        }
        int64_t wait = d->dirty   ? 1000 - since
                       : !synced ? 100
                       : warned  ? 2000
                                 : REPUBLISH_MS;
        if (!d->stop && sk_cond_wait_ms(&d->cond, &d->lock, CLOCK_REALTIME, wait > 0 ? wait : 1) == ETIMEDOUT && synced &&
            !d->dirty && sk_now_ms() - last >= REPUBLISH_MS)
            d->dirty = true; /* the periodic check */
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

int sk_dns_start(sk_dns *d, sk_err *err)
{
    if (d->srv) return sk_err_set(err, SK_EINVALID, "dns: already started");
    d->srv = sk_dns_server_new(d->bind, d->port, err);
    if (!d->srv) return -1;
    struct sockaddr_storage self;
    sk_dns_server_self(d->srv, &self);
    if (sk_dns_upstreams_init(&d->ups, (const char *const *)d->upstreams, d->resolv_conf, &self,
                              d->advertise, d->service_ip, err) < 0)
        return -1;
    if (!d->ups.n) sk_log(SK_WARN, "dns", "no usable upstream resolvers: other names get SERVFAIL");
    const struct sk_informer_handlers hs = {svc_put, svc_upd, svc_del, d};
    const struct sk_informer_handlers hl = {slice_put, slice_upd, slice_del, d};
    const struct sk_informer_handlers hn = {ns_put, ns_upd, ns_del, d};
    if (!(d->svcs = informer(d, "", "services", sk_dns_trim_service, &hs, err)) ||
        !(d->slices = informer(d, "discovery.k8s.io", "endpointslices", sk_dns_trim_slice, &hl,
                               err)) ||
        !(d->nss = informer(d, "", "namespaces", sk_dns_trim_namespace, &hn, err)))
        return -1;
    /* Publication mistakes that retrying cannot fix (an IP outside the
     * service range, no permission) fail the start; others are retried. */
    if (sk_dns_publish(d->client, d->service_ip, d->advertise, sk_dns_server_port(d->srv), err) <
        0) {
        if (err->code == SK_EINVALID || err->code == SK_EFORBIDDEN ||
            err->code == SK_EUNAUTHORIZED)
            return -1;
        sk_log(SK_WARN, "dns", "publishing kube-dns (will retry): %s", err->msg);
        sk_err_clear(err);
        d->dirty = true;
    }
    if (all_synced(d, SYNC_WAIT_MS)) sk_dns_index_set_synced(d->ix, true);
    else sk_log(SK_WARN, "dns", "serving before the service caches synced");
    if (sk_dns_server_start(d->srv, &d->zone, &d->ups, err) < 0) return -1;
    if (pthread_create(&d->keeper, NULL, keeper_main, d))
        return sk_err_sys(err, "dns: pthread_create");
    d->keeper_started = true;
    sk_log(SK_INFO, "dns", "serving %s on %s port %d (udp, tcp), %zu upstream(s)", d->zone.domain,
           d->bind, sk_dns_server_port(d->srv), d->ups.n);
    return 0;
}

void sk_dns_free(sk_dns *d)
{
    if (!d) return;
    if (d->keeper_started) {
        pthread_mutex_lock(&d->lock);
        d->stop = true;
        pthread_cond_signal(&d->cond);
        pthread_mutex_unlock(&d->lock);
        pthread_join(d->keeper, NULL);
    }
    /* serving threads read the index: stop them first */
    sk_dns_server_free(d->srv);
    sk_informer_free(d->svcs);
    sk_informer_free(d->slices);
    sk_informer_free(d->nss);
    sk_dns_index_free(d->ix);
    if (d->upstreams)
        for (size_t i = 0; d->upstreams[i]; i++) free(d->upstreams[i]);
    free(d->upstreams);
    free(d->bind);
    free(d->advertise);
    free(d->service_ip);
    free(d->resolv_conf);
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->lock);
    free(d);
}
