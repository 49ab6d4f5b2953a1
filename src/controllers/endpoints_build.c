/* Building Endpoints subsets from pods, as upstream's endpoints controller
 * and pkg/api/v1/endpoints RepackSubsets do: one entry per (address, port),
 * then ports offered by exactly the same addresses (with the same
 * readiness) are grouped into one subset. Upstream orders subsets and
 * ports by hash; we order them by content, which is equally stable. */
#include "controllers/endpoints_int.h"
#include "controllers/podutil.h"

#include <math.h>
#include <string.h>

static bool streq(const char *a, const char *b) { return a && b && !strcmp(a, b); }

static bool nonempty(const char *s) { return s && *s; }

/* ---- services and pods -------------------------------------------------------- */

bool sk_ep_svc_managed(const json_t *svc)
{
    if (streq(sk_json_path_str(svc, "spec.type"), "ExternalName")) return false;
    json_t *sel = sk_json_path(svc, "spec.selector");
    return json_is_object(sel) && json_object_size(sel) > 0;
}

bool sk_ep_svc_has_ip(const json_t *svc)
{
    const char *ip = sk_json_path_str(svc, "spec.clusterIP");
    return nonempty(ip) && strcmp(ip, "None");
}

bool sk_ep_pod_included(const json_t *pod, bool include_terminating)
{
    const char *phase = sk_json_path_str(pod, "status.phase");
    if (streq(phase, "Succeeded") || streq(phase, "Failed")) return false;
    if (!nonempty(sk_json_path_str(pod, "status.podIP")) &&
        !json_array_size(sk_json_path(pod, "status.podIPs")))
        return false;
    json_t *dt = sk_json_path(pod, "metadata.deletionTimestamp");
    if (!include_terminating && dt && !json_is_null(dt)) return false;
    return true;
}

static int named_port(const json_t *containers, const char *name, const char *proto,
                      bool sidecars_only)
{
    size_t i, j;
    json_t *c, *p;
    json_array_foreach(containers, i, c) {
        if (sidecars_only && !streq(sk_json_str(c, "restartPolicy"), "Always")) continue;
        json_array_foreach(json_object_get(c, "ports"), j, p) {
            const char *pp = sk_json_str(p, "protocol");
            if (!pp || !*pp) pp = "TCP";
            json_t *cp = json_object_get(p, "containerPort");
            if (streq(sk_json_str(p, "name"), name) && !strcmp(pp, proto) && json_is_integer(cp))
                return (int)json_integer_value(cp);
        }
    }
    return -1;
}

int sk_ep_find_port(const json_t *pod, const json_t *svc_port)
{
    json_t *tp = json_object_get(svc_port, "targetPort");
    json_t *port = json_object_get(svc_port, "port");
    if (json_is_integer(tp) && json_integer_value(tp) > 0) return (int)json_integer_value(tp);
    if (!json_is_string(tp) || !*json_string_value(tp))
        return json_is_integer(port) ? (int)json_integer_value(port) : -1;
    const char *proto = sk_json_str(svc_port, "protocol");
    if (!proto || !*proto) proto = "TCP";
    const char *name = json_string_value(tp);
    int n = named_port(sk_json_path(pod, "spec.containers"), name, proto, false);
    if (n < 0) n = named_port(sk_json_path(pod, "spec.initContainers"), name, proto, true);
    return n;
}

const char *sk_ep_svc_family(const json_t *svc)
{
    const char *f = json_string_value(json_array_get(sk_json_path(svc, "spec.ipFamilies"), 0));
    if (f) return f;
    const char *ip = sk_json_path_str(svc, "spec.clusterIP");
    if (sk_ep_svc_has_ip(svc) && strchr(ip, ':')) return "IPv6";
    return "IPv4";
}

const char *sk_ep_pod_ip(const json_t *pod, const char *family)
{
    bool v6 = streq(family, "IPv6");
    json_t *ips = sk_json_path(pod, "status.podIPs");
    size_t i;
    json_t *e;
    json_array_foreach(ips, i, e) {
        const char *ip = sk_json_str(e, "ip");
        if (nonempty(ip) && (strchr(ip, ':') != NULL) == v6) return ip;
    }
    if (json_array_size(ips)) return NULL;
    /* A pod with only status.podIP (agents that fill just that field). */
    const char *ip = sk_json_path_str(pod, "status.podIP");
    if (nonempty(ip) && (strchr(ip, ':') != NULL) == v6) return ip;
    return NULL;
}

json_t *sk_ep_target_ref(const json_t *pod)
{
    json_t *md = json_object_get(pod, "metadata");
    return json_pack("{s:s,s:s,s:s,s:s}", "kind", "Pod", "namespace",
                     sk_json_str(md, "namespace") ?: "", "name", sk_json_str(md, "name") ?: "",
                     "uid", sk_json_str(md, "uid") ?: "");
}

static bool json_same(const json_t *a, const json_t *b)
{
    if (!a || json_is_null(a)) return !b || json_is_null(b);
    return b && json_equal(a, b);
}

bool sk_ep_pod_changed(const json_t *old, const json_t *cur, bool *labels_changed)
{
    static const char *const spec_paths[] = {"spec.hostname", "spec.subdomain"};
    static const char *const paths[] = {
        "metadata.deletionTimestamp", "status.podIP", "status.podIPs", "spec.nodeName",
        "status.phase",
    };
    *labels_changed = !json_same(sk_json_path(old, "metadata.labels"),
                                 sk_json_path(cur, "metadata.labels"));
    for (size_t i = 0; i < SK_ARRAY_LEN(spec_paths); i++)
        if (!json_same(sk_json_path(old, spec_paths[i]), sk_json_path(cur, spec_paths[i])))
            *labels_changed = true;
    if (sk_pod_is_ready(old) != sk_pod_is_ready(cur)) return true;
    for (size_t i = 0; i < SK_ARRAY_LEN(paths); i++)
        if (!json_same(sk_json_path(old, paths[i]), sk_json_path(cur, paths[i]))) return true;
    return false;
}

bool sk_ep_set_hostname(const json_t *pod, const json_t *svc)
{
    return nonempty(sk_json_path_str(pod, "spec.hostname")) &&
           streq(sk_json_path_str(pod, "spec.subdomain"), sk_json_path_str(svc, "metadata.name")) &&
           streq(sk_json_path_str(pod, "metadata.namespace"),
                 sk_json_path_str(svc, "metadata.namespace"));
}

/* ---- repacking ------------------------------------------------------------------- */

struct addr {
    json_t *obj;     /* EndpointAddress */
    const char *ip;  /* borrowed from obj */
    const char *uid; /* borrowed from obj */
};

struct port {
    json_t *obj; /* EndpointPort, NULL for the "no ports" sentinel */
    char *key;
};

struct entry {
    size_t addr, port;
    bool ready;
};

struct repack {
    struct addr *addrs;
    size_t naddrs;
    struct port *ports;
    size_t nports;
    struct entry *entries;
    size_t nentries, capentries;
    json_t *addr_index, *port_index; /* key -> index */
};

static char *port_key(const json_t *p)
{
    if (!p) return sk_strdup("-");
    return sk_printf("%s\x1f%lld\x1f%s\x1f%s", sk_json_str(p, "name") ?: "",
                     (long long)json_integer_value(json_object_get(p, "port")),
                     sk_json_str(p, "protocol") ?: "", sk_json_str(p, "appProtocol") ?: "");
}

static size_t add_addr(struct repack *rp, json_t *addr)
{
    const char *ip = sk_json_str(addr, "ip");
    const char *uid = sk_json_path_str(addr, "targetRef.uid") ?: "";
    _sk_free_ char *k = sk_printf("%s/%s", ip, uid);
    json_t *idx = json_object_get(rp->addr_index, k);
    if (idx) {
        json_decref(addr);
        return (size_t)json_integer_value(idx);
    }
    rp->addrs = sk_realloc(rp->addrs, (rp->naddrs + 1) * sizeof *rp->addrs);
    rp->addrs[rp->naddrs] = (struct addr){addr, ip, uid};
    json_object_set_new(rp->addr_index, k, json_integer((json_int_t)rp->naddrs));
    return rp->naddrs++;
}

static size_t add_port(struct repack *rp, json_t *port)
{
    char *k = port_key(port);
    json_t *idx = json_object_get(rp->port_index, k);
    if (idx) {
        free(k);
        json_decref(port);
        return (size_t)json_integer_value(idx);
    }
    rp->ports = sk_realloc(rp->ports, (rp->nports + 1) * sizeof *rp->ports);
    rp->ports[rp->nports] = (struct port){port, k};
    json_object_set_new(rp->port_index, k, json_integer((json_int_t)rp->nports));
    return rp->nports++;
}

static void add_entry(struct repack *rp, json_t *addr, json_t *port, bool ready)
{
    if (rp->nentries == rp->capentries) {
        rp->capentries = rp->capentries ? rp->capentries * 2 : 16;
        rp->entries = sk_realloc(rp->entries, rp->capentries * sizeof *rp->entries);
    }
    size_t a = add_addr(rp, addr);
    size_t p = add_port(rp, port);
    rp->entries[rp->nentries++] = (struct entry){a, p, ready};
}

static json_t *endpoint_port(const json_t *svc_port, int num)
{
    json_t *p = json_object();
    const char *name = sk_json_str(svc_port, "name");
    if (nonempty(name)) json_object_set_new(p, "name", json_string(name));
    json_object_set_new(p, "port", json_integer(num));
    json_object_set_new(p, "protocol", json_string(sk_json_str(svc_port, "protocol") ?: "TCP"));
    const char *ap = sk_json_str(svc_port, "appProtocol");
    if (nonempty(ap)) json_object_set_new(p, "appProtocol", json_string(ap));
    return p;
}

static json_t *endpoint_address(const json_t *svc, const json_t *pod, const char *ip)
{
    json_t *a = json_pack("{s:s}", "ip", ip);
    if (sk_ep_set_hostname(pod, svc))
        json_object_set_new(a, "hostname", json_string(sk_json_path_str(pod, "spec.hostname")));
    const char *node = sk_json_path_str(pod, "spec.nodeName");
    if (nonempty(node)) json_object_set_new(a, "nodeName", json_string(node));
    json_object_set_new(a, "targetRef", sk_ep_target_ref(pod));
    return a;
}

static void collect(struct repack *rp, const json_t *svc, const json_t *pods)
{
    bool pna = json_is_true(sk_json_path(svc, "spec.publishNotReadyAddresses"));
    const char *family = sk_ep_svc_family(svc);
    json_t *ports = sk_json_path(svc, "spec.ports");
    bool headless = streq(sk_json_path_str(svc, "spec.clusterIP"), "None");
    size_t i, j;
    json_t *pod, *sp;
    json_array_foreach(pods, i, pod) {
        if (!sk_ep_pod_included(pod, pna)) continue;
        const char *ip = sk_ep_pod_ip(pod, family);
        if (!ip) continue;
        bool ready = pna || sk_pod_is_ready(pod);
        if (!json_array_size(ports)) {
            /* headless services may have no ports */
            if (headless) add_entry(rp, endpoint_address(svc, pod, ip), NULL, ready);
            continue;
        }
        json_array_foreach(ports, j, sp) {
            int num = sk_ep_find_port(pod, sp);
            if (num < 0) continue;
            add_entry(rp, endpoint_address(svc, pod, ip), endpoint_port(sp, num), ready);
        }
    }
}

static int cmp_addr(const void *a, const void *b)
{
    const struct addr *x = *(const struct addr *const *)a, *y = *(const struct addr *const *)b;
    int c = strcmp(x->ip, y->ip);
    return c ? c : strcmp(x->uid, y->uid);
}

static int cmp_port(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
    json_int_t px = json_integer_value(json_object_get(x, "port"));
    json_int_t py = json_integer_value(json_object_get(y, "port"));
    if (px != py) return px < py ? -1 : 1;
    int c = strcmp(sk_json_str(x, "name") ?: "", sk_json_str(y, "name") ?: "");
    return c ? c : strcmp(sk_json_str(x, "protocol") ?: "", sk_json_str(y, "protocol") ?: "");
}

/* One subset from the ports in group (indices) sharing state row st. */
static json_t *make_subset(struct repack *rp, const signed char *st, const size_t *group,
                           size_t ng)
{
    json_t *ss = json_object();
    const struct addr **ready = sk_calloc(rp->naddrs + 1, sizeof *ready);
    const struct addr **nready = sk_calloc(rp->naddrs + 1, sizeof *nready);
    size_t nr = 0, nn = 0;
    for (size_t a = 0; a < rp->naddrs; a++) {
        if (st[a] == 1) ready[nr++] = &rp->addrs[a];
        else if (st[a] == 0) nready[nn++] = &rp->addrs[a];
    }
    qsort(ready, nr, sizeof *ready, cmp_addr);
    qsort(nready, nn, sizeof *nready, cmp_addr);
    if (nr) {
        json_t *arr = json_array();
        for (size_t k = 0; k < nr; k++) json_array_append(arr, ready[k]->obj);
        json_object_set_new(ss, "addresses", arr);
    }
    if (nn) {
        json_t *arr = json_array();
        for (size_t k = 0; k < nn; k++) json_array_append(arr, nready[k]->obj);
        json_object_set_new(ss, "notReadyAddresses", arr);
    }
    const json_t **ps = sk_calloc(ng + 1, sizeof *ps);
    size_t np = 0;
    for (size_t k = 0; k < ng; k++)
        if (rp->ports[group[k]].obj) ps[np++] = rp->ports[group[k]].obj;
    qsort(ps, np, sizeof *ps, cmp_port);
    if (np) {
        json_t *arr = json_array();
        for (size_t k = 0; k < np; k++) json_array_append(arr, (json_t *)ps[k]);
        json_object_set_new(ss, "ports", arr);
    }
    free(ready);
    free(nready);
    free(ps);
    return ss;
}

static const char *subset_first(const json_t *ss, const char *list)
{
    return sk_json_str(json_array_get(json_object_get(ss, list), 0), "ip") ?: "";
}

static int cmp_subset(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
    int c = strcmp(subset_first(x, "addresses"), subset_first(y, "addresses"));
    if (c) return c;
    c = strcmp(subset_first(x, "notReadyAddresses"), subset_first(y, "notReadyAddresses"));
    if (c) return c;
    const json_t *px = json_array_get(json_object_get(x, "ports"), 0);
    const json_t *py = json_array_get(json_object_get(y, "ports"), 0);
    if (!px || !py) return px ? 1 : py ? -1 : 0;
    return cmp_port(&px, &py);
}

static json_t *repack(struct repack *rp)
{
    /* st[p][a]: -1 absent, 0 not ready, 1 ready; not ready trumps ready. */
    size_t na = rp->naddrs ? rp->naddrs : 1;
    signed char *st = sk_malloc(rp->nports * na + 1);
    memset(st, -1, rp->nports * na + 1);
    for (size_t i = 0; i < rp->nentries; i++) {
        signed char *s = &st[rp->entries[i].port * na + rp->entries[i].addr];
        if (*s != 0) *s = rp->entries[i].ready ? 1 : 0;
    }
    bool *done = sk_calloc(rp->nports + 1, sizeof *done);
    size_t *group = sk_calloc(rp->nports + 1, sizeof *group);
    json_t **subsets = sk_calloc(rp->nports + 1, sizeof *subsets);
    size_t nsub = 0;
    for (size_t p = 0; p < rp->nports; p++) {
        if (done[p]) continue;
        size_t ng = 0;
        for (size_t q = p; q < rp->nports; q++) {
            if (done[q] || memcmp(&st[p * na], &st[q * na], rp->naddrs)) continue;
            done[q] = true;
            group[ng++] = q;
        }
        subsets[nsub++] = make_subset(rp, &st[p * na], group, ng);
    }
    qsort(subsets, nsub, sizeof *subsets, cmp_subset);
    json_t *out = json_array();
    for (size_t i = 0; i < nsub; i++) json_array_append_new(out, subsets[i]);
    free(subsets);
    free(group);
    free(done);
    free(st);
    return out;
}

json_t *sk_endpoints_subsets(const json_t *svc, const json_t *pods)
{
    struct repack rp = {0};
    rp.addr_index = json_object();
    rp.port_index = json_object();
    collect(&rp, svc, pods);
    json_t *out = repack(&rp);
    for (size_t i = 0; i < rp.naddrs; i++) json_decref(rp.addrs[i].obj);
    for (size_t i = 0; i < rp.nports; i++) {
        json_decref(rp.ports[i].obj);
        free(rp.ports[i].key);
    }
    free(rp.addrs);
    free(rp.ports);
    free(rp.entries);
    json_decref(rp.addr_index);
    json_decref(rp.port_index);
    return out;
}

/* ---- capacity and comparison ------------------------------------------------------- */

static void keep_first(json_t *ss, const char *list, size_t n)
{
    json_t *arr = json_object_get(ss, list);
    while (json_array_size(arr) > n) json_array_remove(arr, json_array_size(arr) - 1);
    if (arr && !json_array_size(arr)) json_object_del(ss, list);
}

bool sk_endpoints_truncate(json_t *subsets)
{
    size_t ready = 0, nready = 0, i;
    json_t *ss;
    json_array_foreach(subsets, i, ss) {
        ready += json_array_size(json_object_get(ss, "addresses"));
        nready += json_array_size(json_object_get(ss, "notReadyAddresses"));
    }
    if (ready + nready <= SK_EP_MAX_CAPACITY) return false;
    /* Each subset keeps a share proportional to its size, rounded up;
     * not-ready addresses go first. */
    bool trunc_ready = ready > SK_EP_MAX_CAPACITY;
    size_t max = trunc_ready ? SK_EP_MAX_CAPACITY : SK_EP_MAX_CAPACITY - ready;
    size_t total = trunc_ready ? ready : nready;
    size_t left = max;
    const char *list = trunc_ready ? "addresses" : "notReadyAddresses";
    json_array_foreach(subsets, i, ss) {
        size_t in = json_array_size(json_object_get(ss, list));
        size_t add = (size_t)ceil((double)in / (double)total * (double)max);
        if (add > left) add = left;
        keep_first(ss, list, add);
        if (trunc_ready) json_object_del(ss, "notReadyAddresses");
        left -= json_array_size(json_object_get(ss, list));
    }
    return true;
}

static json_t *strip_rv(const json_t *subsets)
{
    json_t *c = json_deep_copy(subsets);
    static const char *const lists[] = {"addresses", "notReadyAddresses"};
    size_t i, j;
    json_t *ss, *a;
    json_array_foreach(c, i, ss) for (size_t l = 0; l < 2; l++) {
        json_array_foreach(json_object_get(ss, lists[l]), j, a)
            json_object_del(json_object_get(a, "targetRef"), "resourceVersion");
    }
    return c;
}

bool sk_subsets_equal(const json_t *a, const json_t *b)
{
    size_t na = json_array_size(a), nb = json_array_size(b);
    if (!na || !nb) return na == nb;
    json_t *x = strip_rv(a), *y = strip_rv(b);
    bool eq = json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return eq;
}
