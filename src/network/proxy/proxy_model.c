/* From Services and EndpointSlices (as the API serves them) to the proxy's
 * model: one px_port per service port with its usable endpoints, every
 * string checked, so the generator can paste them into nft syntax. */
#include "network/proxy/proxy_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define SLICE_SVC_LABEL "kubernetes.io/service-name"
#define AFFINITY_DEFAULT_S 10800
#define AFFINITY_MAX_S 86400
#define MAX_CANDIDATES 65536 /* endpoints of one service port across its slices */

/* ---- trimming (informer transforms) ----------------------------------------------- */

static void copy_key(json_t *dst, const json_t *src, const char *key)
{
    json_t *v = json_object_get(src, key);
    if (v) json_object_set(dst, key, v);
}

static json_t *trim_meta(const json_t *obj, bool labels)
{
    const json_t *m = json_object_get(obj, "metadata");
    json_t *out = json_object();
    copy_key(out, m, "name");
    copy_key(out, m, "namespace");
    if (labels) {
        const char *svc = sk_json_str(json_object_get(m, "labels"), SLICE_SVC_LABEL);
        if (svc) json_object_set_new(out, "labels", json_pack("{s:s}", SLICE_SVC_LABEL, svc));
    }
    return out;
}

json_t *px_trim_service(const json_t *svc)
{
    static const char *const keep[] = {"type", "clusterIP", "ports", "externalIPs",
                                       "sessionAffinity", "sessionAffinityConfig",
                                       "externalTrafficPolicy", "internalTrafficPolicy", NULL};
    const json_t *spec = json_object_get(svc, "spec");
    json_t *s = json_object();
    for (size_t i = 0; keep[i]; i++) copy_key(s, spec, keep[i]);
    json_t *out = json_pack("{s:o,s:o}", "metadata", trim_meta(svc, false), "spec", s);
    json_t *ing = sk_json_path(svc, "status.loadBalancer.ingress");
    if (json_is_array(ing) && json_array_size(ing))
        json_object_set_new(out, "status", json_pack("{s:{s:O}}", "loadBalancer", "ingress", ing));
    return out;
}

/* Endpoints are most of a slice and most of the proxy's memory: each
 * becomes one line "address flags node" of one string (flags: r ready,
 * s serving, t terminating; "-" for none), instead of five JSON values.
 * Endpoints whose fields could not survive that (blanks) are dropped:
 * they would be invalid addresses or node names anyway. */
static void compact_endpoint(sk_buf *b, const json_t *e)
{
    const char *ip = json_string_value(json_array_get(json_object_get(e, "addresses"), 0));
    const char *node = sk_json_str(e, "nodeName");
    if (!ip || !*ip || strpbrk(ip, " \t\n") || (node && (!*node || strpbrk(node, " \t\n")))) return;
    const json_t *c = json_object_get(e, "conditions");
    json_t *ready = json_object_get(c, "ready"), *serving = json_object_get(c, "serving");
    bool r = json_is_boolean(ready) ? json_is_true(ready) : true; /* unset means ready */
    bool sv = json_is_boolean(serving) ? json_is_true(serving) : r;
    bool t = json_is_true(json_object_get(c, "terminating"));
    sk_buf_addf(b, "%s %s%s%s%s %s\n", ip, r ? "r" : "", sv ? "s" : "", t ? "t" : "",
                !r && !sv && !t ? "-" : "", node ? node : "-");
}

json_t *px_trim_slice(const json_t *slice)
{
    json_t *out = json_pack("{s:o}", "metadata", trim_meta(slice, true));
    copy_key(out, slice, "addressType");
    copy_key(out, slice, "ports");
    sk_buf b = SK_BUF_INIT;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(slice, "endpoints"), i, e) compact_endpoint(&b, e);
    json_object_set_new(out, "eps", json_stringn(b.data ? b.data : "", b.len));
    sk_buf_release(&b);
    return out;
}

/* ---- validation -------------------------------------------------------------------- */

/* Lower-case DNS names (and port names): all the chain names carry. */
static bool valid_name(const char *s, size_t max, bool allow_empty)
{
    if (!s) return allow_empty;
    size_t n = strlen(s);
    if (n > max || (!n && !allow_empty)) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return false;
    }
    return true;
}

/* Canonical IPv4 text of s into out[16], or false (IPv6, junk). */
static bool ipv4(const char *s, char out[16])
{
    struct in_addr a;
    if (!s || inet_pton(AF_INET, s, &a) != 1) return false;
    return inet_ntop(AF_INET, &a, out, 16) != NULL;
}

static bool port_num(const json_t *v, uint16_t *out)
{
    if (!json_is_integer(v)) return false;
    json_int_t n = json_integer_value(v);
    if (n < 1 || n > 65535) return false;
    *out = (uint16_t)n;
    return true;
}

static const char *proto_name(const char *p)
{
    if (!p || !strcmp(p, "TCP")) return "tcp";
    if (!strcmp(p, "UDP")) return "udp";
    if (!strcmp(p, "SCTP")) return "sctp";
    return NULL;
}

/* ---- naming --------------------------------------------------------------------------- */

/* 8 base32 characters of a 64-bit FNV-1a: keeps names distinct and
 * visually different, as upstream's sha256 prefix does. */
static void hash8(const char *s, char out[9])
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    for (int i = 0; i < 8; i++) out[i] = alpha[(h >> (5 * i)) & 31];
    out[8] = 0;
}

static char *chain_base(const char *ns, const char *name, const char *proto, const char *pname)
{
    char h[9];
    _sk_free_ char *raw = sk_printf("%s/%s/%s/%s", ns, name, proto, pname);
    hash8(raw, h);
    return sk_printf("%s-%s", h, raw);
}

/* ---- endpoints -------------------------------------------------------------------------- */

struct cand {
    struct px_ep ep;
    uint32_t addr; /* host order, for sorting */
    bool ready, serving_terminating;
};

/* The slice's port number for (name, proto), or 0. */
static uint16_t slice_port(const json_t *slice, const char *pname, const char *proto)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(slice, "ports"), i, p) {
        const char *n = sk_json_str(p, "name");
        const char *pr = proto_name(sk_json_str(p, "protocol"));
        uint16_t num;
        if (strcmp(n ? n : "", pname) || !pr || strcmp(pr, proto)) continue;
        if (port_num(json_object_get(p, "port"), &num)) return num;
    }
    return 0;
}

static int cand_cmp(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->addr != y->addr) return x->addr < y->addr ? -1 : 1;
    if (x->ep.port != y->ep.port) return (int)x->ep.port - (int)y->ep.port;
    return (int)y->ready - (int)x->ready;
}

/* One candidate from a compact line "address flags node" (see
 * px_trim_slice). */
static bool parse_line(const char *line, size_t len, uint16_t port, const char *node_name, struct cand *c)
{
    const char *sp1 = memchr(line, ' ', len);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - line)) : NULL;
    if (!sp1 || !sp2 || sp1 - line >= 16) return false;
    char ip[16];
    memcpy(ip, line, (size_t)(sp1 - line));
    ip[sp1 - line] = 0;
    struct in_addr a;
    if (inet_pton(AF_INET, ip, &a) != 1) return false;
    c->addr = ntohl(a.s_addr);
    inet_ntop(AF_INET, &a, c->ep.ip, sizeof c->ep.ip);
    bool r = false, sv = false, t = false;
    for (const char *f = sp1 + 1; f < sp2; f++) {
        r |= *f == 'r';
        sv |= *f == 's';
        t |= *f == 't';
    }
    c->ready = r;
    c->serving_terminating = sv && t;
    c->ep.port = port;
    const char *node = sp2 + 1;
    size_t nlen = len - (size_t)(node - line);
    c->ep.local = node_name && strlen(node_name) == nlen && !memcmp(node, node_name, nlen);
    c->ep.hairpin = c->ep.local || !node_name;
    return true;
}

/* Candidates of one slice, from its compact form or (untrimmed) JSON. */
static size_t slice_cands(const json_t *sl, uint16_t port, const char *node_name, struct cand *out, size_t room)
{
    size_t n = 0;
    const char *eps = sk_json_str(sl, "eps");
    if (!eps) { /* not trimmed: compact it first */
        json_t *t = px_trim_slice(sl);
        n = slice_cands(t, port, node_name, out, room);
        json_decref(t);
        return n;
    }
    while (*eps && n < room) {
        const char *nl = strchr(eps, '\n');
        size_t len = nl ? (size_t)(nl - eps) : strlen(eps);
        if (parse_line(eps, len, port, node_name, &out[n])) n++;
        eps += len + (nl ? 1 : 0);
    }
    return n;
}

static size_t count_lines(const json_t *sl)
{
    const char *eps = sk_json_str(sl, "eps");
    if (!eps) return json_array_size(json_object_get(sl, "endpoints"));
    size_t n = 0;
    for (; *eps; eps++) n += *eps == '\n';
    return n + 1;
}

/* Every endpoint of the service port across its slices, deduplicated
 * (a ready copy wins), sorted. */
static struct cand *collect(const json_t *slices, const char *pname, const char *proto,
                            const char *node_name, size_t *n_out)
{
    size_t cap = 0, n = 0;
    const char *sname;
    json_t *sl;
    json_object_foreach((json_t *)slices, sname, sl) cap += count_lines(sl);
    if (cap > MAX_CANDIDATES) cap = MAX_CANDIDATES;
    struct cand *v = sk_calloc(cap ? cap : 1, sizeof *v);
    json_object_foreach((json_t *)slices, sname, sl) {
        const char *at = sk_json_str(sl, "addressType");
        uint16_t port = slice_port(sl, pname, proto);
        if (!at || strcmp(at, "IPv4") || !port) continue;
        n += slice_cands(sl, port, node_name, v + n, cap - n);
    }
    if (n > 1) qsort(v, n, sizeof *v, cand_cmp);
    size_t k = 0; /* duplicates are adjacent now, a ready copy first */
    for (size_t i = 0; i < n; i++)
        if (!k || strcmp(v[k - 1].ep.ip, v[i].ep.ip) || v[k - 1].ep.port != v[i].ep.port)
            v[k++] = v[i];
    *n_out = k;
    return v;
}

/* Ready endpoints (only_local: on this node); when there are none,
 * serving-and-terminating ones, as upstream's CategorizeEndpoints. */
static struct px_ep *pick(const struct cand *c, size_t n, bool only_local, size_t *n_out)
{
    struct px_ep *out = sk_calloc(n ? n : 1, sizeof *out);
    size_t k = 0;
    for (int pass = 0; pass < 2 && !k; pass++) {
        for (size_t i = 0; i < n && k < PX_MAX_EPS; i++) {
            if (only_local && !c[i].ep.local) continue;
            if (pass == 0 ? c[i].ready : c[i].serving_terminating) out[k++] = c[i].ep;
        }
    }
    *n_out = k;
    return out;
}

/* ---- services ------------------------------------------------------------------------------- */

static size_t ip_list(const json_t *arr, const char *field, char (**out)[16])
{
    size_t n = json_array_size(arr), k = 0;
    *out = n ? sk_calloc(n, 16) : NULL;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        const char *s = field ? sk_json_str(v, field) : json_string_value(v);
        if (field) {
            const char *mode = sk_json_str(v, "ipMode");
            if (mode && !strcmp(mode, "Proxy")) continue; /* the LB proxies it itself */
        }
        if (ipv4(s, (*out)[k])) k++;
    }
    return k;
}

static int affinity_seconds(const json_t *spec)
{
    const char *a = sk_json_str(spec, "sessionAffinity");
    if (!a || strcmp(a, "ClientIP")) return 0;
    json_t *t = sk_json_path(spec, "sessionAffinityConfig.clientIP.timeoutSeconds");
    json_int_t s = json_is_integer(t) ? json_integer_value(t) : AFFINITY_DEFAULT_S;
    return s >= 1 && s <= AFFINITY_MAX_S ? (int)s : AFFINITY_DEFAULT_S;
}

static void push(struct px_port ***out, size_t *n, struct px_port *p)
{
    *out = sk_realloc(*out, (*n + 1) * sizeof **out);
    (*out)[(*n)++] = p;
}

size_t px_build_ports(const json_t *svc, const json_t *slices, const char *node_name,
                      struct px_port ***out, size_t *n_out)
{
    const char *ns = sk_json_path_str(svc, "metadata.namespace");
    const char *name = sk_json_path_str(svc, "metadata.name");
    const json_t *spec = json_object_get(svc, "spec");
    const char *type = sk_json_str(spec, "type");
    const char *cip = sk_json_str(spec, "clusterIP");
    char cluster_ip[16] = "";
    /* DNS labels: chain names built from them stay under nft's 256 */
    if (!valid_name(ns, 63, false) || !valid_name(name, 63, false)) return 0;
    if (type && !strcmp(type, "ExternalName")) return 0;
    if (!cip || !strcmp(cip, "None") || !ipv4(cip, cluster_ip)) return 0;
    const char *etp = sk_json_str(spec, "externalTrafficPolicy");
    const char *itp = sk_json_str(spec, "internalTrafficPolicy");
    size_t added = 0, i;
    json_t *sp;
    json_array_foreach(json_object_get(spec, "ports"), i, sp) {
        const char *pname = sk_json_str(sp, "name");
        const char *proto = proto_name(sk_json_str(sp, "protocol"));
        uint16_t port, np = 0;
        if (!proto || !valid_name(pname, 15, true) || !port_num(json_object_get(sp, "port"), &port))
            continue;
        port_num(json_object_get(sp, "nodePort"), &np);
        struct px_port *p = sk_calloc(1, sizeof *p);
        p->svc_key = sk_printf("%s/%s", ns, name);
        p->base = chain_base(ns, name, proto, pname ? pname : "");
        snprintf(p->proto, sizeof p->proto, "%s", proto);
        memcpy(p->cluster_ip, cluster_ip, sizeof cluster_ip);
        p->port = port;
        p->node_port = np;
        p->n_ext = ip_list(json_object_get(spec, "externalIPs"), NULL, &p->ext_ips);
        p->n_lb = ip_list(sk_json_path(svc, "status.loadBalancer.ingress"), "ip", &p->lb_ips);
        bool external = p->node_port || p->n_ext || p->n_lb;
        p->ext_local = external && etp && !strcmp(etp, "Local");
        p->int_local = itp && !strcmp(itp, "Local");
        p->affinity_s = affinity_seconds(spec);
        size_t nc = 0;
        _sk_free_ struct cand *c = slices ? collect(slices, pname ? pname : "", proto, node_name, &nc)
                                          : NULL;
        p->cluster = pick(c, nc, false, &p->n_cluster);
        p->local = pick(c, nc, true, &p->n_local);
        push(out, n_out, p);
        added++;
    }
    return added;
}

void px_port_free(struct px_port *p)
{
    if (!p) return;
    free(p->svc_key);
    free(p->base);
    free(p->ext_ips);
    free(p->lb_ips);
    free(p->cluster);
    free(p->local);
    free(p);
}

void px_ports_free(struct px_port **v, size_t n)
{
    for (size_t i = 0; i < n; i++) px_port_free(v[i]);
    free(v);
}
