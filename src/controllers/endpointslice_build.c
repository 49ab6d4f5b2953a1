/* The EndpointSlice reconcile plan, following upstream's
 * pkg/controller/endpointslice reconciler (v1.32): endpoints are grouped
 * by the ports their pod resolves; existing slices keep the endpoints
 * still desired (updated in place), slices left empty are deleted, the
 * rest are packed first into slices being updated anyway, then into the
 * unchanged slice that fits best, then into new slices of at most `max`
 * endpoints; a service with no endpoints keeps one placeholder slice, and
 * creates are turned into updates of slices that would be deleted.
 * Upstream pops desired endpoints in random order; we keep pod order. */
#include "controllers/endpoints_int.h"
#include "controllers/podutil.h"

#include <string.h>

static bool streq(const char *a, const char *b) { return a && b && !strcmp(a, b); }

static bool nonempty(const char *s) { return s && *s; }

/* ---- building blocks --------------------------------------------------------------- */

json_t *sk_eps_ports(const json_t *svc, const json_t *pod)
{
    json_t *out = json_array();
    json_t *ports = sk_json_path(svc, "spec.ports");
    if (!json_array_size(ports) && streq(sk_json_path_str(svc, "spec.clusterIP"), "None"))
        return out;
    size_t i;
    json_t *sp;
    json_array_foreach(ports, i, sp) {
        int num = sk_ep_find_port(pod, sp);
        if (num < 0) continue;
        json_t *p = json_pack("{s:s,s:i,s:s}", "name", sk_json_str(sp, "name") ?: "", "port", num,
                              "protocol", sk_json_str(sp, "protocol") ?: "TCP");
        const char *ap = sk_json_str(sp, "appProtocol");
        if (nonempty(ap)) json_object_set_new(p, "appProtocol", json_string(ap));
        json_array_append_new(out, p);
    }
    return out;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Joins strs sorted with sep; frees the strings. */
static char *join_sorted(char **strs, size_t n, char sep)
{
    qsort(strs, n, sizeof *strs, cmp_str);
    sk_buf b = SK_BUF_INIT;
    sk_buf_adds(&b, "");
    for (size_t i = 0; i < n; i++) {
        if (i) sk_buf_add(&b, &sep, 1);
        sk_buf_adds(&b, strs[i]);
        free(strs[i]);
    }
    return sk_buf_take(&b);
}

char *sk_eps_port_key(const json_t *ports)
{
    size_t n = json_array_size(ports), i;
    char **keys = sk_calloc(n + 1, sizeof *keys);
    json_t *p;
    json_array_foreach(ports, i, p) {
        keys[i] = sk_printf("%s\x1f%lld\x1f%s\x1f%s", sk_json_str(p, "name") ?: "",
                            (long long)json_integer_value(json_object_get(p, "port")),
                            sk_json_str(p, "protocol") ?: "TCP", sk_json_str(p, "appProtocol") ?: "");
    }
    char *k = join_sorted(keys, n, '\x1e');
    free(keys);
    return k;
}

char *sk_eps_endpoint_key(const json_t *ep)
{
    json_t *addrs = json_object_get(ep, "addresses");
    size_t n = json_array_size(addrs), i;
    char **a = sk_calloc(n + 1, sizeof *a);
    json_t *e;
    json_array_foreach(addrs, i, e) a[i] = sk_strdup(json_string_value(e) ?: "");
    _sk_free_ char *joined = join_sorted(a, n, ',');
    free(a);
    json_t *ref = json_object_get(ep, "targetRef");
    return sk_printf("%s|%s|%s/%s", joined, sk_json_str(ep, "hostname") ?: "",
                     sk_json_str(ref, "namespace") ?: "", sk_json_str(ref, "name") ?: "");
}

json_t *sk_eps_endpoint(const json_t *pod, const json_t *node, const json_t *svc,
                        const char *address_type)
{
    bool v6 = streq(address_type, "IPv6");
    json_t *addrs = json_array();
    json_t *ips = sk_json_path(pod, "status.podIPs");
    size_t i;
    json_t *e;
    json_array_foreach(ips, i, e) {
        const char *ip = sk_json_str(e, "ip");
        if (nonempty(ip) && (strchr(ip, ':') != NULL) == v6) json_array_append_new(addrs, json_string(ip));
    }
    const char *pip = sk_json_path_str(pod, "status.podIP");
    if (!json_array_size(ips) && nonempty(pip) && (strchr(pip, ':') != NULL) == v6)
        json_array_append_new(addrs, json_string(pip));
    bool serving = sk_pod_is_ready(pod);
    json_t *dt = sk_json_path(pod, "metadata.deletionTimestamp");
    bool terminating = dt && !json_is_null(dt);
    /* for compatibility, a terminating endpoint is never ready unless the
     * service publishes not-ready addresses */
    bool ready = json_is_true(sk_json_path(svc, "spec.publishNotReadyAddresses")) ||
                 (serving && !terminating);
    json_t *ep = json_pack("{s:o,s:{s:b,s:b,s:b}}", "addresses", addrs, "conditions", "ready",
                           ready, "serving", serving, "terminating", terminating);
    if (sk_ep_set_hostname(pod, svc))
        json_object_set_new(ep, "hostname", json_string(sk_json_path_str(pod, "spec.hostname")));
    const char *nn = sk_json_path_str(pod, "spec.nodeName");
    if (nonempty(nn)) json_object_set_new(ep, "nodeName", json_string(nn));
    json_object_set_new(ep, "targetRef", sk_ep_target_ref(pod));
    const char *zone = sk_json_str(sk_json_path(node, "metadata.labels"), "topology.kubernetes.io/zone");
    if (nonempty(zone)) json_object_set_new(ep, "zone", json_string(zone));
    return ep;
}

static bool same_str(const json_t *a, const json_t *b, const char *key)
{
    const char *x = sk_json_str(a, key), *y = sk_json_str(b, key);
    return (!x && !y) || (x && y && !strcmp(x, y));
}

static bool same_bool(const json_t *a, const json_t *b, const char *key)
{
    json_t *x = json_object_get(a, key), *y = json_object_get(b, key);
    bool nx = !x || json_is_null(x), ny = !y || json_is_null(y);
    if (nx || ny) return nx == ny;
    return json_is_true(x) == json_is_true(y);
}

/* Upstream EndpointsEqualBeyondHash. */
static bool endpoint_equal(const json_t *a, const json_t *b)
{
    if (!same_str(a, b, "nodeName") || !same_str(a, b, "zone")) return false;
    json_t *ca = json_object_get(a, "conditions"), *cb = json_object_get(b, "conditions");
    if (!same_bool(ca, cb, "ready") || !same_bool(ca, cb, "serving") ||
        !same_bool(ca, cb, "terminating"))
        return false;
    json_t *ra = json_object_get(a, "targetRef"), *rb = json_object_get(b, "targetRef");
    return same_str(ra, rb, "kind") && same_str(ra, rb, "namespace") &&
           same_str(ra, rb, "name") && same_str(ra, rb, "uid");
}

/* ---- slices and their labels -------------------------------------------------------- */

static bool reserved_label(const char *k)
{
    return !strcmp(k, SK_LABEL_SERVICE_NAME) || !strcmp(k, SK_LABEL_MANAGED_BY) ||
           !strcmp(k, SK_LABEL_HEADLESS);
}

static json_t *unreserved(const json_t *labels)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)labels, k, v) if (!reserved_label(k)) json_object_set(out, k, v);
    return out;
}

/* Upstream setEndpointSliceLabels: the service's labels plus the reserved
 * ones. Upstream only notices labels the service dropped or changed; we
 * also notice added ones, which only avoids stale labels. */
static json_t *slice_labels(const json_t *slice, const json_t *svc, bool *changed)
{
    json_t *cur = sk_json_path(slice, "metadata.labels");
    json_t *want = unreserved(sk_json_path(svc, "metadata.labels"));
    json_t *have = unreserved(cur);
    if (changed) *changed = !json_equal(want, have);
    json_decref(have);
    if (!sk_ep_svc_has_ip(svc)) json_object_set_new(want, SK_LABEL_HEADLESS, json_string(""));
    json_object_set_new(want, SK_LABEL_SERVICE_NAME,
                        json_string(sk_json_path_str(svc, "metadata.name") ?: ""));
    json_object_set_new(want, SK_LABEL_MANAGED_BY, json_string(SK_EPS_MANAGED_BY));
    if (changed && cur && !*changed) {
        const char *k;
        json_t *v;
        json_object_foreach(want, k, v) {
            if (reserved_label(k) && !json_equal(v, json_object_get(cur, k))) *changed = true;
        }
        json_object_foreach(cur, k, v) {
            if (reserved_label(k) && !json_object_get(want, k)) *changed = true;
        }
    }
    return want;
}

static json_t *new_slice(const json_t *svc, const json_t *ports, const char *type)
{
    const char *name = sk_json_path_str(svc, "metadata.name") ?: "";
    /* upstream falls back to the bare name when "<name>-" is not valid */
    _sk_free_ char *prefix = strlen(name) < 253 ? sk_printf("%s-", name) : sk_strdup(name);
    json_t *ref = json_pack("{s:s,s:s,s:s,s:s,s:b,s:b}", "apiVersion", "v1", "kind", "Service",
                            "name", name, "uid", sk_json_path_str(svc, "metadata.uid") ?: "",
                            "controller", 1, "blockOwnerDeletion", 1);
    json_t *md = json_pack("{s:s,s:s,s:o,s:[o]}", "generateName", prefix, "namespace",
                           sk_json_path_str(svc, "metadata.namespace") ?: "", "labels",
                           slice_labels(NULL, svc, NULL), "ownerReferences", ref);
    return json_pack("{s:s,s:s,s:o,s:s,s:[],s:o}", "apiVersion", "discovery.k8s.io/v1", "kind",
                     "EndpointSlice", "metadata", md, "addressType", type, "endpoints",
                     "ports", json_array_size(ports) ? json_deep_copy(ports) : json_null());
}

static bool owned_by(const json_t *slice, const json_t *svc)
{
    const char *uid = sk_json_path_str(svc, "metadata.uid");
    size_t i;
    json_t *r;
    json_array_foreach(sk_json_path(slice, "metadata.ownerReferences"), i, r) {
        if (streq(sk_json_str(r, "uid"), uid) && streq(sk_json_str(r, "kind"), "Service") &&
            streq(sk_json_str(r, "apiVersion"), "v1"))
            return true;
    }
    return false;
}

/* upstream placeholderSliceCompare: namespace, labels, addressType, and
 * no endpoints nor ports */
static bool same_placeholder(const json_t *a, const json_t *b)
{
    json_t *la = sk_json_path(a, "metadata.labels"), *lb = sk_json_path(b, "metadata.labels");
    bool labels = (!json_object_size(la) && !json_object_size(lb)) || (la && lb && json_equal(la, lb));
    return labels &&
           streq(sk_json_path_str(a, "metadata.namespace") ?: "",
                 sk_json_path_str(b, "metadata.namespace") ?: "") &&
           same_str(a, b, "addressType") &&
           !json_array_size(json_object_get(a, "endpoints")) &&
           !json_array_size(json_object_get(b, "endpoints")) &&
           !json_array_size(json_object_get(a, "ports")) && !json_array_size(json_object_get(b, "ports"));
}

/* ---- per port-set reconciliation ----------------------------------------------------- */

struct group {
    char *key;
    json_t *ports;    /* resolved ports of the first pod with this key */
    json_t *desired;  /* array of endpoints */
    json_t *index;    /* endpoint key -> index in desired */
    bool *taken;
    size_t remaining, cursor;
    json_t *existing; /* array of slices */
};

struct lists {
    json_t *create, *update, *del; /* for one address type */
};

static json_t *pop_desired(struct group *g)
{
    while (g->cursor < json_array_size(g->desired) && g->taken[g->cursor]) g->cursor++;
    if (g->cursor >= json_array_size(g->desired)) return NULL;
    g->taken[g->cursor] = true;
    g->remaining--;
    return json_array_get(g->desired, g->cursor++);
}

static void fill(json_t *slice, struct group *g, int max)
{
    json_t *eps = json_object_get(slice, "endpoints");
    if (!json_is_array(eps)) {
        eps = json_array();
        json_object_set_new(slice, "endpoints", eps);
    }
    json_t *ep;
    while (g->remaining > 0 && json_array_size(eps) < (size_t)max && (ep = pop_desired(g)))
        json_array_append(eps, ep);
}

static int cmp_fullest(const void *a, const void *b)
{
    size_t x = json_array_size(json_object_get(*(json_t *const *)a, "endpoints"));
    size_t y = json_array_size(json_object_get(*(json_t *const *)b, "endpoints"));
    return x > y ? -1 : x < y ? 1 : 0;
}

enum trim { TRIM_KEEP, TRIM_UPDATE, TRIM_DELETE };

/* Keeps the endpoints of s still desired; on TRIM_UPDATE *copy is the
 * rewritten slice (new ref). */
static enum trim trim_slice(const json_t *s, struct group *g, const json_t *svc, json_t **copy)
{
    json_t *kept = json_array();
    json_t *eps = json_object_get(s, "endpoints");
    bool updated = false;
    size_t i;
    json_t *ep;
    json_array_foreach(eps, i, ep) {
        _sk_free_ char *k = sk_eps_endpoint_key(ep);
        json_t *idx = json_object_get(g->index, k);
        if (!idx || g->taken[json_integer_value(idx)]) continue;
        json_t *want = json_array_get(g->desired, (size_t)json_integer_value(idx));
        json_array_append(kept, want);
        if (!endpoint_equal(want, ep)) updated = true;
        g->taken[json_integer_value(idx)] = true;
        g->remaining--;
    }
    bool labels_changed;
    json_t *labels = slice_labels(s, svc, &labels_changed);
    enum trim res = TRIM_KEEP;
    *copy = NULL;
    if (updated || json_array_size(eps) != json_array_size(kept)) {
        res = json_array_size(kept) ? TRIM_UPDATE : TRIM_DELETE;
    } else if (labels_changed) {
        res = TRIM_UPDATE;
    }
    if (res == TRIM_UPDATE) {
        *copy = json_deep_copy(s);
        json_object_set(*copy, "endpoints", kept);
        json_object_set(sk_json_obj(*copy, "metadata"), "labels", labels);
    }
    json_decref(labels);
    json_decref(kept);
    return res;
}

/* Unchanged slice with the least room that still fits n more endpoints. */
static size_t best_fit(json_t *unchanged, size_t n, int max)
{
    size_t best = (size_t)-1, i;
    long closest = max;
    json_t *s;
    json_array_foreach(unchanged, i, s) {
        long diff = (long)max - (long)(n + json_array_size(json_object_get(s, "endpoints")));
        if (diff >= 0 && diff < closest) {
            closest = diff;
            best = i;
            if (!diff) break;
        }
    }
    return best;
}

static void by_port_mapping(struct group *g, const json_t *svc, const char *type, int max,
                            struct lists *out)
{
    json_t *unchanged = json_array(), *upd = json_array();
    size_t i;
    json_t *s;
    json_array_foreach(g->existing, i, s) {
        json_t *copy;
        switch (trim_slice(s, g, svc, &copy)) {
        case TRIM_UPDATE: json_array_append_new(upd, copy); break;
        case TRIM_DELETE: json_array_append(out->del, s); break;
        case TRIM_KEEP: json_array_append(unchanged, s); break;
        }
    }
    /* fill the slices being written anyway, fullest first */
    if (g->remaining && json_array_size(upd)) {
        size_t n = json_array_size(upd);
        json_t **v = sk_calloc(n, sizeof *v);
        for (i = 0; i < n; i++) v[i] = json_array_get(upd, i);
        qsort(v, n, sizeof *v, cmp_fullest);
        for (i = 0; i < n; i++) fill(v[i], g, max);
        free(v);
    }
    while (g->remaining) {
        size_t pick = (size_t)-1;
        if (g->remaining < (size_t)max && json_array_size(unchanged))
            pick = best_fit(unchanged, g->remaining, max);
        json_t *target;
        if (pick == (size_t)-1) {
            target = new_slice(svc, g->ports, type);
            fill(target, g, max);
            json_array_append_new(out->create, target);
            continue;
        }
        target = json_deep_copy(json_array_get(unchanged, pick));
        json_array_remove(unchanged, pick);
        fill(target, g, max);
        json_array_append_new(upd, target);
    }
    json_array_extend(out->update, upd);
    json_decref(upd);
    json_decref(unchanged);
}

/* ---- the whole reconcile ------------------------------------------------------------- */

struct groups {
    struct group *v;
    size_t n;
    json_t *by_key; /* key -> index */
};

static struct group *group_for(struct groups *gs, const json_t *ports)
{
    _sk_free_ char *k = sk_eps_port_key(ports);
    json_t *idx = json_object_get(gs->by_key, k);
    if (idx) return &gs->v[json_integer_value(idx)];
    gs->v = sk_realloc(gs->v, (gs->n + 1) * sizeof *gs->v);
    struct group *g = &gs->v[gs->n];
    *g = (struct group){.key = sk_strdup(k), .ports = json_deep_copy(ports),
                        .desired = json_array(), .index = json_object(), .existing = json_array()};
    json_object_set_new(gs->by_key, k, json_integer((json_int_t)gs->n));
    gs->n++;
    return g;
}

static void add_desired(struct group *g, json_t *ep)
{
    _sk_free_ char *k = sk_eps_endpoint_key(ep);
    if (json_object_get(g->index, k)) {
        json_decref(ep);
        return;
    }
    json_object_set_new(g->index, k, json_integer((json_int_t)json_array_size(g->desired)));
    json_array_append_new(g->desired, ep);
}

static void desired_from_pods(struct groups *gs, const json_t *svc, const json_t *pods,
                              const char *type, sk_eps_node_fn node_fn, void *ud,
                              struct sk_eps_plan *plan)
{
    bool pna = json_is_true(sk_json_path(svc, "spec.publishNotReadyAddresses"));
    size_t i;
    json_t *pod;
    json_array_foreach(pods, i, pod) {
        if (!sk_ep_pod_included(pod, true)) continue;
        json_t *ports = sk_eps_ports(svc, pod);
        struct group *g = group_for(gs, ports);
        json_decref(ports);
        const char *nn = sk_json_path_str(pod, "spec.nodeName");
        json_t *node = node_fn && nn ? node_fn(ud, nn) : NULL;
        /* a pod on an unknown node is left out (and retried) unless the
         * service publishes not-ready addresses */
        if (!node && !pna) {
            plan->node_missing = true;
            continue;
        }
        json_t *ep = sk_eps_endpoint(pod, node, svc, type);
        json_decref(node);
        if (json_array_size(json_object_get(ep, "addresses"))) add_desired(g, ep);
        else json_decref(ep);
    }
}

static void reconcile_type(const json_t *svc, const json_t *pods, const json_t *slices,
                           const char *type, sk_eps_node_fn node_fn, void *ud, int max,
                           struct sk_eps_plan *plan)
{
    struct groups gs = {.by_key = json_object()};
    struct lists out = {json_array(), json_array(), json_array()};
    size_t nexisting = 0, i;
    json_t *s;
    json_array_foreach(slices, i, s) {
        if (!streq(sk_json_str(s, "addressType"), type)) continue;
        nexisting++;
        if (!owned_by(s, svc)) json_array_append(out.del, s);
        else json_array_append(group_for(&gs, json_object_get(s, "ports"))->existing, s);
    }
    desired_from_pods(&gs, svc, pods, type, node_fn, ud, plan);
    for (i = 0; i < gs.n; i++) {
        struct group *g = &gs.v[i];
        g->remaining = json_array_size(g->desired);
        g->taken = sk_calloc(g->remaining + 1, sizeof *g->taken);
        if (g->remaining) by_port_mapping(g, svc, type, max, &out);
        else json_array_extend(out.del, g->existing);
    }
    /* a service without endpoints keeps exactly one placeholder slice */
    if (nexisting == json_array_size(out.del) && !json_array_size(out.create)) {
        json_t *ph = new_slice(svc, NULL, type);
        if (json_array_size(out.del) == 1 && same_placeholder(json_array_get(out.del, 0), ph)) {
            json_array_clear(out.del);
            json_decref(ph);
        } else {
            json_array_append_new(out.create, ph);
        }
    }
    json_array_extend(plan->create, out.create);
    json_array_extend(plan->update, out.update);
    json_array_extend(plan->del, out.del);
    json_decref(out.create);
    json_decref(out.update);
    json_decref(out.del);
    for (i = 0; i < gs.n; i++) {
        free(gs.v[i].key);
        free(gs.v[i].taken);
        json_decref(gs.v[i].ports);
        json_decref(gs.v[i].desired);
        json_decref(gs.v[i].index);
        json_decref(gs.v[i].existing);
    }
    free(gs.v);
    json_decref(gs.by_key);
}

static json_t *address_types(const json_t *svc)
{
    json_t *out = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(sk_json_path(svc, "spec.ipFamilies"), i, f) {
        if (streq(json_string_value(f), "IPv4") || streq(json_string_value(f), "IPv6"))
            json_array_append(out, f);
    }
    if (!json_array_size(out)) json_array_append_new(out, json_string(sk_ep_svc_family(svc)));
    return out;
}

static bool has_type(const json_t *types, const char *t)
{
    size_t i;
    json_t *v;
    json_array_foreach(types, i, v) if (streq(json_string_value(v), t)) return true;
    return false;
}

/* Upstream finalize: a slice that would be deleted is rewritten with the
 * content of one that would be created, when owned and of the same type. */
static void reuse_deletes(const json_t *svc, struct sk_eps_plan *plan)
{
    for (size_t i = 0; i < json_array_size(plan->del) && json_array_size(plan->create);) {
        json_t *del = json_array_get(plan->del, i);
        size_t last = json_array_size(plan->create) - 1;
        json_t *cr = json_array_get(plan->create, last);
        if (!same_str(del, cr, "addressType") || !owned_by(del, svc)) {
            i++;
            continue;
        }
        json_t *md = json_object_get(cr, "metadata");
        json_object_set(md, "name", sk_json_path(del, "metadata.name"));
        json_object_del(md, "generateName");
        json_array_append(plan->update, cr);
        json_array_remove(plan->create, last);
        json_array_remove(plan->del, i);
    }
}

void sk_eps_reconcile(const json_t *svc, const json_t *pods, const json_t *slices,
                      sk_eps_node_fn node, void *ud, int max, struct sk_eps_plan *plan)
{
    if (max <= 0) max = SK_EPS_MAX_PER_SLICE;
    *plan = (struct sk_eps_plan){json_array(), json_array(), json_array(), false};
    json_t *types = address_types(svc);
    size_t i;
    json_t *s, *t;
    json_array_foreach(slices, i, s)
        if (!has_type(types, sk_json_str(s, "addressType"))) json_array_append(plan->del, s);
    json_array_foreach(types, i, t)
        reconcile_type(svc, pods, slices, json_string_value(t), node, ud, max, plan);
    json_decref(types);
    reuse_deletes(svc, plan);
    /* no new slices for a service being deleted: they would race the
     * garbage collector */
    json_t *dt = sk_json_path(svc, "metadata.deletionTimestamp");
    if (dt && !json_is_null(dt)) json_array_clear(plan->create);
}

void sk_eps_plan_release(struct sk_eps_plan *plan)
{
    json_decref(plan->create);
    json_decref(plan->update);
    json_decref(plan->del);
    *plan = (struct sk_eps_plan){0};
}
