/* sk_proxy: informers for Services and EndpointSlices feed an index and a
 * dirty set; one sync thread, which lives in the node's netns, turns the
 * dirty services into an nft script (proxy_gen.c) and applies it as one
 * transaction. Changes arriving within min_sync_ms of the first pending
 * one share a sync. After a failed transaction the next sync is full.
 *
 * Partial: no periodic full resync (rules someone else deletes come back
 * only with the next failure or restart); affinity sets are emptied by the
 * full sync at start; no health-check NodePorts for Local services; no
 * conntrack flush of stale UDP flows when endpoints go away. */
#include "network/proxy/proxy_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TAG "proxy"
#define SLICE_SVC_LABEL "kubernetes.io/service-name"
#define SYNC_WAIT_MS 60000
#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 30000

struct sk_proxy {
    sk_client *client;
    char *node_name, *cidr, *svc_cidr, *table, *netns;
    char **node_ips;
    int64_t min_sync_ms;
    sk_informer *svc_inf, *slice_inf;
    px_gen *gen;         /* sync thread only */
    struct nft_ctx *nft; /* sync thread only */

    pthread_mutex_t mu; /* everything below */
    pthread_cond_t cond;
    json_t *svcs;        /* "ns/name" -> Service */
    json_t *slices;      /* "ns/service" -> {slice name -> EndpointSlice} */
    json_t *slice_owner; /* "ns/slice" -> "ns/service" */
    json_t *dirty;       /* "ns/name" -> true */
    int64_t first_change_us; /* oldest change not applied yet, 0 = none */
    bool stop, first_done, thread_running;
    int first_rc;
    sk_err first_err;
    struct sk_proxy_stats stats;
    pthread_t thread;
};

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- informer handlers (informer threads) ---------------------------------------------- */

static void mark_dirty(sk_proxy *p, const char *key)
{
    json_object_set_new(p->dirty, key, json_true());
    if (!p->first_change_us) p->first_change_us = now_us();
    pthread_cond_broadcast(&p->cond);
}

static char *obj_key(const json_t *obj)
{
    const char *ns = sk_json_path_str(obj, "metadata.namespace");
    const char *name = sk_json_path_str(obj, "metadata.name");
    return ns && name ? sk_printf("%s/%s", ns, name) : NULL;
}

static void svc_set(void *ud, const json_t *obj)
{
    sk_proxy *p = ud;
    _sk_free_ char *key = obj_key(obj);
    if (!key) return;
    pthread_mutex_lock(&p->mu);
    json_object_set(p->svcs, key, (json_t *)obj);
    mark_dirty(p, key);
    pthread_mutex_unlock(&p->mu);
}

static void svc_update(void *ud, const json_t *old, const json_t *cur) { svc_set(ud, cur); }

static void svc_delete(void *ud, const json_t *obj)
{
    sk_proxy *p = ud;
    _sk_free_ char *key = obj_key(obj);
    if (!key) return;
    pthread_mutex_lock(&p->mu);
    json_object_del(p->svcs, key);
    mark_dirty(p, key);
    pthread_mutex_unlock(&p->mu);
}

/* Forgets a slice under the service it was filed under. Locked. */
static void slice_unfile(sk_proxy *p, const char *skey, const char *sname)
{
    const char *owner = json_string_value(json_object_get(p->slice_owner, skey));
    if (!owner) return;
    json_t *set = json_object_get(p->slices, owner);
    json_object_del(set, sname);
    mark_dirty(p, owner);
    if (!json_object_size(set)) json_object_del(p->slices, owner);
    json_object_del(p->slice_owner, skey);
}

static void slice_set(void *ud, const json_t *obj)
{
    sk_proxy *p = ud;
    const char *ns = sk_json_path_str(obj, "metadata.namespace");
    const char *name = sk_json_path_str(obj, "metadata.name");
    const char *svc = sk_json_str(sk_json_path(obj, "metadata.labels"), SLICE_SVC_LABEL);
    if (!ns || !name) return;
    _sk_free_ char *skey = sk_printf("%s/%s", ns, name);
    _sk_free_ char *owner = svc ? sk_printf("%s/%s", ns, svc) : NULL;
    pthread_mutex_lock(&p->mu);
    const char *was = json_string_value(json_object_get(p->slice_owner, skey));
    if (was && (!owner || strcmp(was, owner))) slice_unfile(p, skey, name);
    if (owner) {
        json_t *set = json_object_get(p->slices, owner);
        if (!set) json_object_set_new(p->slices, owner, set = json_object());
        json_object_set(set, name, (json_t *)obj);
        json_object_set_new(p->slice_owner, skey, json_string(owner));
        mark_dirty(p, owner);
    }
    pthread_mutex_unlock(&p->mu);
}

static void slice_update(void *ud, const json_t *old, const json_t *cur) { slice_set(ud, cur); }

static void slice_delete(void *ud, const json_t *obj)
{
    sk_proxy *p = ud;
    const char *ns = sk_json_path_str(obj, "metadata.namespace");
    const char *name = sk_json_path_str(obj, "metadata.name");
    if (!ns || !name) return;
    _sk_free_ char *skey = sk_printf("%s/%s", ns, name);
    pthread_mutex_lock(&p->mu);
    slice_unfile(p, skey, name);
    pthread_mutex_unlock(&p->mu);
}

static json_t *trim_svc(void *ud, const json_t *obj) { return px_trim_service(obj); }
static json_t *trim_slice(void *ud, const json_t *obj) { return px_trim_slice(obj); }

/* ---- syncing (sync thread) ------------------------------------------------------------------ */

/* Ports of the given services from the index. Locked. */
static void build(sk_proxy *p, const char *const *keys, size_t nkeys, struct px_port ***ports,
                  size_t *n)
{
    for (size_t i = 0; i < nkeys; i++) {
        json_t *svc = json_object_get(p->svcs, keys[i]);
        if (svc) px_build_ports(svc, json_object_get(p->slices, keys[i]), p->node_name, ports, n);
    }
}

/* Takes the pending work: every service for a full sync, else the dirty
 * ones. Locked. The key strings live in *hold (caller decrefs it and
 * frees the array). */
static const char **take_keys(sk_proxy *p, bool full, json_t **hold, size_t *nkeys)
{
    if (full) {
        *hold = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(p->svcs, k, v) json_object_set_new(*hold, k, json_true());
        json_object_clear(p->dirty);
    } else {
        *hold = p->dirty;
        p->dirty = json_object();
    }
    const char **keys = sk_calloc(json_object_size(*hold) + 1, sizeof *keys);
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(*hold, k, v) keys[n++] = k;
    *nkeys = n;
    return keys;
}

/* A full sync leaves megabytes behind: libnftables keeps its parse of the
 * whole table as cache in the context, and the freed heap stays with the
 * process. Both are returned; the next sync reads the cache anew anyway. */
static void release_memory(sk_proxy *p)
{
    sk_err err = SK_ERR_INIT;
    struct nft_ctx *fresh = px_nft_new(&err);
    if (fresh) {
        px_nft_free(p->nft);
        p->nft = fresh;
    }
    sk_err_clear(&err);
    sk_mem_trim(true);
}

static int sync_once(sk_proxy *p, sk_err *err)
{
    int64_t t0 = now_us();
    pthread_mutex_lock(&p->mu);
    bool full = px_gen_need_full(p->gen);
    int64_t changed = p->first_change_us;
    p->first_change_us = 0;
    json_t *hold = NULL;
    size_t nkeys = 0, n = 0;
    const char **keys = take_keys(p, full, &hold, &nkeys);
    struct px_port **ports = NULL;
    build(p, keys, nkeys, &ports, &n);
    pthread_mutex_unlock(&p->mu);

    int64_t t_built = now_us();
    sk_buf script = SK_BUF_INIT;
    if (full) px_gen_full(p->gen, ports, n, &script);
    else px_gen_update(p->gen, keys, nkeys, ports, n, &script);
    px_ports_free(ports, n);
    free(keys);
    json_decref(hold);
    int64_t t_gen = now_us();
    int rc = script.len ? px_nft_run(p->nft, script.data, err) : 0;
    sk_buf_release(&script);
    if (rc < 0) {
        px_gen_abort(p->gen);
        return -1;
    }
    px_gen_commit(p->gen);
    int64_t t1 = now_us();
    if (full) release_memory(p);
    int svcs, eps;
    px_gen_counts(p->gen, &svcs, &eps);
    pthread_mutex_lock(&p->mu);
    p->stats.syncs++;
    p->stats.last_sync_us = t1 - t0;
    if (full) p->stats.last_full_sync_us = t1 - t0;
    if (changed) p->stats.last_change_to_applied_us = t1 - changed;
    p->stats.services = svcs;
    p->stats.endpoints = eps;
    pthread_mutex_unlock(&p->mu);
    sk_log(full ? SK_INFO : SK_DEBUG, TAG,
           "%s sync: %zu service(s) in %.1f ms (model %.1f, script %.1f, nft %.1f); %d services, %d endpoints",
           full ? "full" : "incremental", nkeys, (double)(t1 - t0) / 1000.0, (double)(t_built - t0) / 1000.0,
           (double)(t_gen - t_built) / 1000.0, (double)(t1 - t_gen) / 1000.0, svcs, eps);
    return 0;
}

static void wait_until_us(sk_proxy *p, int64_t deadline_us)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t left = deadline_us - now_us();
    if (left <= 0) return;
    ts.tv_sec += left / 1000000;
    ts.tv_nsec += (left % 1000000) * 1000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&p->cond, &p->mu, &ts);
}

static void first_result(sk_proxy *p, int rc, const sk_err *err)
{
    pthread_mutex_lock(&p->mu);
    if (!p->first_done) {
        p->first_done = true;
        p->first_rc = rc;
        if (rc < 0) sk_err_set(&p->first_err, err->code ? err->code : SK_EINTERNAL, "%s", err->msg);
        pthread_cond_broadcast(&p->cond);
    }
    pthread_mutex_unlock(&p->mu);
}

static int setup_thread(sk_proxy *p, sk_err *err)
{
    if (px_enter_netns(p->netns, err) < 0) return -1;
    sk_err serr = SK_ERR_INIT;
    if (px_sysctls(&serr)) sk_log(SK_WARN, TAG, "sysctl: %s", serr.msg);
    sk_err_clear(&serr);
    p->nft = px_nft_new(err);
    return p->nft ? 0 : -1;
}

static void *sync_main(void *arg)
{
    sk_proxy *p = arg;
    sk_err err = SK_ERR_INIT;
    if (setup_thread(p, &err) < 0) {
        first_result(p, -1, &err);
        sk_err_clear(&err);
        return NULL;
    }
    int64_t retry_ms = 0, last_fail_us = 0;
    bool first = true;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        for (;;) {
            if (p->stop) break;
            int64_t due = 0;
            if (retry_ms) due = last_fail_us + retry_ms * 1000;
            else if (p->first_change_us) due = p->first_change_us + p->min_sync_ms * 1000;
            else if (first) due = 1;
            if (due && now_us() >= due) break;
            if (due) wait_until_us(p, due);
            else pthread_cond_wait(&p->cond, &p->mu);
        }
        bool stop = p->stop;
        pthread_mutex_unlock(&p->mu);
        if (stop) break;
        int rc = sync_once(p, &err);
        if (first) first_result(p, rc, &err);
        first = false;
        if (rc < 0) {
            sk_log(SK_ERROR, TAG, "sync failed (next one is full): %s", err.msg);
            retry_ms = retry_ms ? (retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : retry_ms * 2)
                                : RETRY_MIN_MS;
            last_fail_us = now_us();
        } else {
            retry_ms = 0;
        }
        sk_err_clear(&err);
    }
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

static bool valid_cidr4(const char *s)
{
    char ip[32];
    const char *slash = s ? strchr(s, '/') : NULL;
    if (!slash || (size_t)(slash - s) >= sizeof ip) return false;
    memcpy(ip, s, (size_t)(slash - s));
    ip[slash - s] = 0;
    struct in_addr a;
    char *end = NULL;
    errno = 0;
    long len = strtol(slash + 1, &end, 10);
    return inet_pton(AF_INET, ip, &a) == 1 && end && !*end && end != slash + 1 && !errno &&
           len >= 0 && len <= 32;
}

sk_proxy *sk_proxy_new(const struct sk_proxy_config *cfg, sk_err *err)
{
    const struct sk_resource *rs = sk_resource_find("", "v1", "services");
    const struct sk_resource *re = sk_resource_find("discovery.k8s.io", "v1", "endpointslices");
    if (!cfg->client || !rs || !re) {
        sk_err_set(err, SK_EINVALID, "proxy: a client is required");
        return NULL;
    }
    const char *table = cfg->table ? cfg->table : "skiff";
    if (!px_valid_table(table)) {
        sk_err_set(err, SK_EINVALID, "proxy: invalid nftables table name \"%s\"", table);
        return NULL;
    }
    const char *cidrs[] = {cfg->cluster_cidr, cfg->service_cidr};
    for (size_t i = 0; i < 2; i++) {
        if (cidrs[i] && *cidrs[i] && !valid_cidr4(cidrs[i])) {
            sk_err_set(err, SK_EINVALID, "proxy: \"%s\" is not an IPv4 CIDR", cidrs[i]);
            return NULL;
        }
    }
    size_t nips = 0;
    for (; cfg->node_ips && cfg->node_ips[nips]; nips++) {
        struct in_addr a;
        if (inet_pton(AF_INET, cfg->node_ips[nips], &a) != 1) {
            sk_err_set(err, SK_EINVALID, "proxy: node address \"%s\" is not IPv4", cfg->node_ips[nips]);
            return NULL;
        }
    }
    sk_proxy *p = sk_calloc(1, sizeof *p);
    p->client = cfg->client;
    p->node_name = sk_strdup(cfg->node_name);
    p->cidr = cfg->cluster_cidr && *cfg->cluster_cidr ? sk_strdup(cfg->cluster_cidr) : NULL;
    p->svc_cidr = cfg->service_cidr && *cfg->service_cidr ? sk_strdup(cfg->service_cidr) : NULL;
    p->table = sk_strdup(table);
    p->netns = cfg->netns_path && *cfg->netns_path ? sk_strdup(cfg->netns_path) : NULL;
    if (cfg->node_ips) {
        p->node_ips = sk_calloc(nips + 1, sizeof *p->node_ips);
        for (size_t i = 0; i < nips; i++) p->node_ips[i] = sk_strdup(cfg->node_ips[i]);
    }
    p->min_sync_ms = cfg->min_sync_ms > 0 ? cfg->min_sync_ms : 5;
    struct px_gen_config gc = {.table = p->table, .cluster_cidr = p->cidr, .service_cidr = p->svc_cidr,
                               .node_ips = (const char *const *)p->node_ips};
    p->gen = px_gen_new(&gc);
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cond, &ca);
    pthread_condattr_destroy(&ca);
    p->svcs = json_object();
    p->slices = json_object();
    p->slice_owner = json_object();
    p->dirty = json_object();
    p->svc_inf = sk_informer_new(p->client, rs, NULL, NULL, NULL, 0);
    p->slice_inf = sk_informer_new(p->client, re, NULL, NULL, NULL, 0);
    sk_informer_set_transform(p->svc_inf, trim_svc, NULL);
    sk_informer_set_transform(p->slice_inf, trim_slice, NULL);
    sk_informer_add_handlers(p->svc_inf, &(struct sk_informer_handlers){svc_set, svc_update, svc_delete, p});
    sk_informer_add_handlers(p->slice_inf,
                             &(struct sk_informer_handlers){slice_set, slice_update, slice_delete, p});
    return p;
}

static void stop_thread(sk_proxy *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cond);
    bool running = p->thread_running;
    p->thread_running = false;
    pthread_mutex_unlock(&p->mu);
    if (running) pthread_join(p->thread, NULL);
}

int sk_proxy_start(sk_proxy *p, sk_err *err)
{
    if (sk_informer_start(p->svc_inf, err) < 0 || sk_informer_start(p->slice_inf, err) < 0) return -1;
    if (!sk_informer_wait_synced(p->svc_inf, SYNC_WAIT_MS) ||
        !sk_informer_wait_synced(p->slice_inf, SYNC_WAIT_MS))
        return sk_err_set(err, SK_ETIMEOUT, "proxy: services and endpointslices did not sync");
    if (pthread_create(&p->thread, NULL, sync_main, p) != 0)
        return sk_err_sys(err, "proxy: cannot start the sync thread");
    pthread_mutex_lock(&p->mu);
    p->thread_running = true;
    while (!p->first_done) pthread_cond_wait(&p->cond, &p->mu);
    int rc = p->first_rc;
    if (rc < 0) sk_err_set(err, p->first_err.code, "proxy: first sync: %s", p->first_err.msg);
    pthread_mutex_unlock(&p->mu);
    if (rc < 0) stop_thread(p);
    return rc;
}

void sk_proxy_free(sk_proxy *p)
{
    if (!p) return;
    stop_thread(p);
    sk_informer_free(p->svc_inf);
    sk_informer_free(p->slice_inf);
    px_nft_free(p->nft);
    px_gen_free(p->gen);
    json_decref(p->svcs);
    json_decref(p->slices);
    json_decref(p->slice_owner);
    json_decref(p->dirty);
    sk_err_clear(&p->first_err);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->mu);
    for (size_t i = 0; p->node_ips && p->node_ips[i]; i++) free(p->node_ips[i]);
    free(p->node_ips);
    free(p->node_name);
    free(p->cidr);
    free(p->svc_cidr);
    free(p->table);
    free(p->netns);
    free(p);
}

void sk_proxy_get_stats(sk_proxy *p, struct sk_proxy_stats *out)
{
    pthread_mutex_lock(&p->mu);
    *out = p->stats;
    pthread_mutex_unlock(&p->mu);
}
