/* The DNS server's view of the cluster: Services, EndpointSlices and
 * Namespaces as small C structs in string-keyed hash maps, written by the
 * informer handlers and read by the serving threads under one rwlock.
 * Slices are kept by their service-name label and every address is
 * indexed for reverse (PTR) lookups, as CoreDNS's SvcIndexReverse and
 * EpIndexReverse do. */
#include "network/dns/dns_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <time.h>

/* ---- a chained hash map; several entries may share a key ---------------- */

struct hent {
    struct hent *next;
    char *key;
    void *val;
};

struct hmap {
    struct hent **b;
    size_t nb, n;
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void hmap_grow(struct hmap *m)
{
    size_t nb = m->nb ? m->nb * 2 : 64;
    struct hent **b = sk_calloc(nb, sizeof *b);
    for (size_t i = 0; i < m->nb; i++) {
        for (struct hent *e = m->b[i], *nx; e; e = nx) {
            nx = e->next;
            size_t k = hash(e->key) & (nb - 1);
            e->next = b[k];
            b[k] = e;
        }
    }
    free(m->b);
    m->b = b;
    m->nb = nb;
}

static void hmap_add(struct hmap *m, const char *key, void *val)
{
    if (m->n >= m->nb) hmap_grow(m);
    struct hent *e = sk_malloc(sizeof *e);
    e->key = sk_strdup(key);
    e->val = val;
    size_t k = hash(key) & (m->nb - 1);
    e->next = m->b[k];
    m->b[k] = e;
    m->n++;
}

static struct hent *hmap_from(struct hent *e, const char *key)
{
    for (; e; e = e->next)
        if (!strcmp(e->key, key)) return e;
    return NULL;
}

static struct hent *hmap_first(const struct hmap *m, const char *key)
{
    if (!m->nb) return NULL;
    return hmap_from(m->b[hash(key) & (m->nb - 1)], key);
}

static void *hmap_get(const struct hmap *m, const char *key)
{
    struct hent *e = hmap_first(m, key);
    return e ? e->val : NULL;
}

static bool hmap_has(const struct hmap *m, const char *key, const void *val)
{
    for (struct hent *e = hmap_first(m, key); e; e = hmap_from(e->next, key))
        if (e->val == val) return true;
    return false;
}

/* Removes the entry (key, val); val NULL removes the first with key. */
static void *hmap_del(struct hmap *m, const char *key, const void *val)
{
    if (!m->nb) return NULL;
    for (struct hent **p = &m->b[hash(key) & (m->nb - 1)]; *p; p = &(*p)->next) {
        struct hent *e = *p;
        if (strcmp(e->key, key) || (val && e->val != val)) continue;
        void *v = e->val;
        *p = e->next;
        free(e->key);
        free(e);
        m->n--;
        return v;
    }
    return NULL;
}

static void hmap_release(struct hmap *m, void (*free_val)(void *))
{
    for (size_t i = 0; i < m->nb; i++) {
        for (struct hent *e = m->b[i], *nx; e; e = nx) {
            nx = e->next;
            if (free_val) free_val(e->val);
            free(e->key);
            free(e);
        }
    }
    free(m->b);
    memset(m, 0, sizeof *m);
}

/* ---- the index ------------------------------------------------------------------- */

struct sk_dns_index {
    pthread_rwlock_t lock;
    struct hmap svcs;      /* "ns/name" -> svc */
    struct hmap svc_ips;   /* cluster IP -> svc */
    struct hmap slices;    /* "ns/name" -> slice */
    struct hmap by_svc;    /* "ns/service" -> slice */
    struct hmap ep_ips;    /* endpoint IP -> slice (once per slice) */
    struct hmap nss;       /* namespace -> &present */
    atomic_bool synced;
    _Atomic uint32_t serial;
};

static char present;

sk_dns_index *sk_dns_index_new(void)
{
    sk_dns_index *ix = sk_calloc(1, sizeof *ix);
    pthread_rwlock_init(&ix->lock, NULL);
    atomic_store(&ix->serial, (uint32_t)time(NULL));
    return ix;
}

static void free_ports(struct sk_dns_port *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].name);
        free(p[i].proto);
    }
    free(p);
}

static void svc_free(void *v)
{
    struct sk_dns_svc *s = v;
    if (!s) return;
    for (size_t i = 0; i < s->nips; i++) free(s->ips[i]);
    free(s->ips);
    free_ports(s->ports, s->nports);
    free(s->ns);
    free(s->name);
    free(s->external);
    free(s);
}

static void slice_free(void *v)
{
    struct sk_dns_slice *s = v;
    if (!s) return;
    for (size_t i = 0; i < s->naddrs; i++) {
        free(s->addrs[i].ip);
        free(s->addrs[i].hostname);
    }
    free(s->addrs);
    free_ports(s->ports, s->nports);
    free(s->ns);
    free(s->name);
    free(s->svc);
    free(s);
}

void sk_dns_index_free(sk_dns_index *ix)
{
    if (!ix) return;
    hmap_release(&ix->svc_ips, NULL);
    hmap_release(&ix->by_svc, NULL);
    hmap_release(&ix->ep_ips, NULL);
    hmap_release(&ix->nss, NULL);
    hmap_release(&ix->svcs, svc_free);
    hmap_release(&ix->slices, slice_free);
    pthread_rwlock_destroy(&ix->lock);
    free(ix);
}

void sk_dns_index_set_synced(sk_dns_index *ix, bool synced) { atomic_store(&ix->synced, synced); }
bool sk_dns_index_synced(sk_dns_index *ix) { return atomic_load(&ix->synced); }
uint32_t sk_dns_index_serial(sk_dns_index *ix) { return atomic_load(&ix->serial); }
void sk_dns_index_rdlock(sk_dns_index *ix) { pthread_rwlock_rdlock(&ix->lock); }
void sk_dns_index_unlock(sk_dns_index *ix) { pthread_rwlock_unlock(&ix->lock); }

static void touched(sk_dns_index *ix) { atomic_store(&ix->serial, (uint32_t)time(NULL)); }

/* ---- building entries from JSON ----------------------------------------------------- */

static char *lower_dup(const char *s)
{
    char *d = sk_strdup(s ? s : "");
    for (char *p = d; *p; p++) *p = (char)tolower((unsigned char)*p);
    return d;
}

/* Canonical text of an IP address, or false when s is not one. */
static bool canon_ip(const char *s, char *out, size_t n)
{
    unsigned char buf[sizeof(struct in6_addr)];
    if (!s) return false;
    if (inet_pton(AF_INET, s, buf) == 1) return inet_ntop(AF_INET, buf, out, (socklen_t)n) != NULL;
    if (inet_pton(AF_INET6, s, buf) == 1)
        return inet_ntop(AF_INET6, buf, out, (socklen_t)n) != NULL;
    return false;
}

static struct sk_dns_port *parse_ports(const json_t *arr, size_t *n)
{
    size_t cnt = json_array_size(arr);
    struct sk_dns_port *p = sk_calloc(cnt ? cnt : 1, sizeof *p);
    for (size_t i = 0; i < cnt; i++) {
        const json_t *o = json_array_get(arr, i);
        p[i].name = lower_dup(sk_json_str(o, "name"));
        p[i].proto = sk_strdup(sk_json_str(o, "protocol") ?: "");
        json_t *port = json_object_get(o, "port");
        p[i].port = json_is_integer(port) ? (int)json_integer_value(port) : -1;
    }
    if (!cnt) { /* the sentinel: a port-less object still has addresses */
        p[0].name = sk_strdup("");
        p[0].proto = sk_strdup("");
        p[0].port = -1;
        cnt = 1;
    }
    *n = cnt;
    return p;
}

static struct sk_dns_svc *svc_from_json(const json_t *o)
{
    const char *ns = sk_json_path_str(o, "metadata.namespace");
    const char *name = sk_json_path_str(o, "metadata.name");
    if (!ns || !name) return NULL;
    const json_t *spec = json_object_get(o, "spec");
    struct sk_dns_svc *s = sk_calloc(1, sizeof *s);
    s->ns = lower_dup(ns);
    s->name = lower_dup(name);
    s->ports = parse_ports(json_object_get(spec, "ports"), &s->nports);
    const char *type = sk_json_str(spec, "type");
    if (type && !strcmp(type, "ExternalName")) {
        s->kind = SK_DNS_EXTERNAL;
        const char *ext = sk_json_str(spec, "externalName");
        s->external = lower_dup(ext);
        size_t l = strlen(s->external);
        if (l && s->external[l - 1] == '.') s->external[l - 1] = 0;
        return s;
    }
    json_t *ips = json_object_get(spec, "clusterIPs");
    json_t *one = json_pack("[O?]", json_object_get(spec, "clusterIP"));
    if (!json_array_size(ips)) ips = one;
    const char *first = json_string_value(json_array_get(ips, 0));
    s->kind = first && !strcmp(first, "None") ? SK_DNS_HEADLESS : SK_DNS_CLUSTERIP;
    s->ips = sk_calloc(json_array_size(ips) + 1, sizeof *s->ips);
    size_t i;
    json_t *ip;
    json_array_foreach(ips, i, ip) {
        char c[INET6_ADDRSTRLEN];
        if (s->kind == SK_DNS_CLUSTERIP && canon_ip(json_string_value(ip), c, sizeof c))
            s->ips[s->nips++] = sk_strdup(c);
    }
    json_decref(one);
    return s;
}

static bool ready(const json_t *ep)
{
    json_t *r = sk_json_path(ep, "conditions.ready");
    return !r || json_is_null(r) || json_is_true(r);
}

static struct sk_dns_slice *slice_from_json(const json_t *o)
{
    const char *ns = sk_json_path_str(o, "metadata.namespace");
    const char *name = sk_json_path_str(o, "metadata.name");
    const char *svc = sk_json_str(sk_json_path(o, "metadata.labels"),
                                  "kubernetes.io/service-name");
    if (!ns || !name) return NULL;
    struct sk_dns_slice *s = sk_calloc(1, sizeof *s);
    s->ns = lower_dup(ns);
    s->name = sk_strdup(name);
    s->svc = svc ? lower_dup(svc) : NULL;
    s->ports = parse_ports(json_object_get(o, "ports"), &s->nports);
    size_t total = 0, i, j;
    json_t *ep, *a;
    json_array_foreach(json_object_get(o, "endpoints"), i, ep)
        total += json_array_size(json_object_get(ep, "addresses"));
    s->addrs = sk_calloc(total ? total : 1, sizeof *s->addrs);
    json_array_foreach(json_object_get(o, "endpoints"), i, ep) {
        if (!ready(ep)) continue;
        const char *host = sk_json_str(ep, "hostname");
        json_array_foreach(json_object_get(ep, "addresses"), j, a) {
            char c[INET6_ADDRSTRLEN];
            if (!canon_ip(json_string_value(a), c, sizeof c)) continue;
            s->addrs[s->naddrs].ip = sk_strdup(c);
            s->addrs[s->naddrs].hostname = host && *host ? lower_dup(host) : NULL;
            s->naddrs++;
        }
    }
    return s;
}

/* ---- writers ------------------------------------------------------------------------- */

static char *obj_key(const json_t *o)
{
    const char *ns = sk_json_path_str(o, "metadata.namespace");
    const char *name = sk_json_path_str(o, "metadata.name");
    if (!ns || !name) return NULL;
    char *k = sk_printf("%s/%s", ns, name);
    for (char *p = k; *p; p++) *p = (char)tolower((unsigned char)*p);
    return k;
}

/* Unlinks and returns the service stored under key (write lock held). */
static struct sk_dns_svc *svc_unlink(sk_dns_index *ix, const char *key)
{
    struct sk_dns_svc *old = hmap_del(&ix->svcs, key, NULL);
    if (old)
        for (size_t i = 0; i < old->nips; i++) hmap_del(&ix->svc_ips, old->ips[i], old);
    return old;
}

void sk_dns_index_put_service(sk_dns_index *ix, const json_t *svc)
{
    _sk_free_ char *key = obj_key(svc);
    struct sk_dns_svc *s = svc_from_json(svc);
    if (!key || !s) {
        svc_free(s);
        return;
    }
    pthread_rwlock_wrlock(&ix->lock);
    struct sk_dns_svc *old = svc_unlink(ix, key);
    hmap_add(&ix->svcs, key, s);
    for (size_t i = 0; i < s->nips; i++) hmap_add(&ix->svc_ips, s->ips[i], s);
    pthread_rwlock_unlock(&ix->lock);
    svc_free(old);
    touched(ix);
}

void sk_dns_index_del_service(sk_dns_index *ix, const json_t *svc)
{
    _sk_free_ char *key = obj_key(svc);
    if (!key) return;
    pthread_rwlock_wrlock(&ix->lock);
    struct sk_dns_svc *old = svc_unlink(ix, key);
    pthread_rwlock_unlock(&ix->lock);
    svc_free(old);
    touched(ix);
}

static struct sk_dns_slice *slice_unlink(sk_dns_index *ix, const char *key)
{
    struct sk_dns_slice *old = hmap_del(&ix->slices, key, NULL);
    if (!old) return NULL;
    if (old->svc) {
        _sk_free_ char *sk = sk_printf("%s/%s", old->ns, old->svc);
        hmap_del(&ix->by_svc, sk, old);
    }
    for (size_t i = 0; i < old->naddrs; i++)
        while (hmap_del(&ix->ep_ips, old->addrs[i].ip, old)) {
        }
    return old;
}

void sk_dns_index_put_slice(sk_dns_index *ix, const json_t *slice)
{
    _sk_free_ char *key = obj_key(slice);
    struct sk_dns_slice *s = slice_from_json(slice);
    if (!key || !s) {
        slice_free(s);
        return;
    }
    _sk_free_ char *sk = s->svc ? sk_printf("%s/%s", s->ns, s->svc) : NULL;
    pthread_rwlock_wrlock(&ix->lock);
    struct sk_dns_slice *old = slice_unlink(ix, key);
    hmap_add(&ix->slices, key, s);
    if (sk) hmap_add(&ix->by_svc, sk, s);
    for (size_t i = 0; i < s->naddrs; i++)
        if (!hmap_has(&ix->ep_ips, s->addrs[i].ip, s)) hmap_add(&ix->ep_ips, s->addrs[i].ip, s);
    pthread_rwlock_unlock(&ix->lock);
    slice_free(old);
    touched(ix);
}

void sk_dns_index_del_slice(sk_dns_index *ix, const json_t *slice)
{
    _sk_free_ char *key = obj_key(slice);
    if (!key) return;
    pthread_rwlock_wrlock(&ix->lock);
    struct sk_dns_slice *old = slice_unlink(ix, key);
    pthread_rwlock_unlock(&ix->lock);
    slice_free(old);
    touched(ix);
}

void sk_dns_index_put_namespace(sk_dns_index *ix, const json_t *ns)
{
    _sk_free_ char *name = lower_dup(sk_json_path_str(ns, "metadata.name"));
    if (!*name) return;
    pthread_rwlock_wrlock(&ix->lock);
    if (!hmap_get(&ix->nss, name)) hmap_add(&ix->nss, name, &present);
    pthread_rwlock_unlock(&ix->lock);
    touched(ix);
}

void sk_dns_index_del_namespace(sk_dns_index *ix, const json_t *ns)
{
    _sk_free_ char *name = lower_dup(sk_json_path_str(ns, "metadata.name"));
    pthread_rwlock_wrlock(&ix->lock);
    hmap_del(&ix->nss, name, NULL);
    pthread_rwlock_unlock(&ix->lock);
    touched(ix);
}

/* ---- readers (caller holds the read lock) --------------------------------------------- */

bool sk_dns_index_has_namespace(sk_dns_index *ix, const char *ns)
{
    return hmap_get(&ix->nss, ns) != NULL;
}

const struct sk_dns_svc *sk_dns_index_service(sk_dns_index *ix, const char *ns, const char *name)
{
    char key[512];
    snprintf(key, sizeof key, "%s/%s", ns, name);
    return hmap_get(&ix->svcs, key);
}

static void *iter(const struct hmap *m, const char *key, void **it)
{
    struct hent *e = *it ? hmap_from(((struct hent *)*it)->next, key) : hmap_first(m, key);
    *it = e;
    return e ? e->val : NULL;
}

const struct sk_dns_slice *sk_dns_index_slices(sk_dns_index *ix, const char *ns, const char *svc,
                                               void **it)
{
    char key[512];
    snprintf(key, sizeof key, "%s/%s", ns, svc);
    return iter(&ix->by_svc, key, it);
}

const struct sk_dns_svc *sk_dns_index_services_by_ip(sk_dns_index *ix, const char *ip, void **it)
{
    return iter(&ix->svc_ips, ip, it);
}

const struct sk_dns_slice *sk_dns_index_slices_by_ip(sk_dns_index *ix, const char *ip, void **it)
{
    return iter(&ix->ep_ips, ip, it);
}

void sk_dns_endpoint_name(const struct sk_dns_addr *a, char *out, size_t n)
{
    if (a->hostname) {
        snprintf(out, n, "%s", a->hostname);
        return;
    }
    snprintf(out, n, "%s", a->ip);
    for (char *p = out; *p; p++)
        if (*p == '.' || *p == ':') *p = '-';
    size_t l = strlen(out);
    /* "fd00::" -> "fd00--0": a label cannot end in a dash */
    if (l && out[l - 1] == '-' && l + 1 < n) {
        out[l] = '0';
        out[l + 1] = 0;
    }
}

/* ---- informer transforms ------------------------------------------------------------- */

static json_t *trim_meta(const json_t *obj, bool labels)
{
    json_t *m = json_object_get(obj, "metadata");
    json_t *out = json_pack("{s:{s:O*,s:O*,s:O*}}", "metadata", "name", json_object_get(m, "name"),
                            "namespace", json_object_get(m, "namespace"), "resourceVersion",
                            json_object_get(m, "resourceVersion"));
    const char *svc = sk_json_str(json_object_get(m, "labels"), "kubernetes.io/service-name");
    if (labels && svc)
        json_object_set_new(json_object_get(out, "metadata"), "labels",
                            json_pack("{s:s}", "kubernetes.io/service-name", svc));
    return out;
}

static json_t *trim_ports(const json_t *ports)
{
    json_t *out = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(ports, i, p)
        json_array_append_new(out, json_pack("{s:O*,s:O*,s:O*}", "name",
                                             json_object_get(p, "name"), "protocol",
                                             json_object_get(p, "protocol"), "port",
                                             json_object_get(p, "port")));
    return out;
}

json_t *sk_dns_trim_service(void *ud, const json_t *obj)
{
    (void)ud;
    json_t *out = trim_meta(obj, false);
    json_t *spec = json_object_get(obj, "spec");
    json_object_set_new(out, "spec",
                        json_pack("{s:O*,s:O*,s:O*,s:O*,s:o}", "type",
                                  json_object_get(spec, "type"), "clusterIP",
                                  json_object_get(spec, "clusterIP"), "clusterIPs",
                                  json_object_get(spec, "clusterIPs"), "externalName",
                                  json_object_get(spec, "externalName"), "ports",
                                  trim_ports(json_object_get(spec, "ports"))));
    return out;
}

json_t *sk_dns_trim_slice(void *ud, const json_t *obj)
{
    (void)ud;
    json_t *out = trim_meta(obj, true);
    json_t *eps = json_array();
    size_t i;
    json_t *ep;
    json_array_foreach(json_object_get(obj, "endpoints"), i, ep) {
        json_t *e = json_pack("{s:O*,s:O*}", "addresses", json_object_get(ep, "addresses"),
                              "hostname", json_object_get(ep, "hostname"));
        json_t *r = sk_json_path(ep, "conditions.ready");
        if (r) json_object_set_new(e, "conditions", json_pack("{s:O}", "ready", r));
        json_array_append_new(eps, e);
    }
    json_object_set_new(out, "endpoints", eps);
    json_object_set_new(out, "ports", trim_ports(json_object_get(obj, "ports")));
    return out;
}

json_t *sk_dns_trim_namespace(void *ud, const json_t *obj)
{
    (void)ud;
    return trim_meta(obj, false);
}
