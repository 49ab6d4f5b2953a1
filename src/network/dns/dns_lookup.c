/* The resolver: what CoreDNS's kubernetes plugin (parse.go, kubernetes.go,
 * reverse.go, ns.go and plugin/backend_lookup.go) answers for a question,
 * computed from the index. Zones: the cluster domain, plus in-addr.arpa
 * and ip6.arpa with `fallthrough` (a reverse name we do not know goes to
 * the upstreams, as in the default kubeadm/k3s Corefile, `pods insecure`).
 *
 * Names are handled as lower-case text without the trailing dot; bytes
 * that cannot occur in Kubernetes names become '?', so they never match. */
#include "network/dns/dns_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <string.h>

#define MAX_LABELS 128
#define MAX_CHAIN 10 /* CoreDNS's maxCnameChainLength */

enum { K_OK = 0, K_NAMEERR = -1 };

struct ctx {
    const struct sk_dns_zone *z;
    sk_dns_index *ix;
    char zone[256]; /* the matched zone: the domain, in-addr.arpa or ip6.arpa */
    bool reverse;
    sk_dns_lookup_fn lookup;
    void *ud;
    bool defer; /* an upstream lookup was needed but not allowed */
};

/* One candidate answer, as CoreDNS's msg.Service: an IP or a name (host),
 * a port (-1: none), and the name records about it carry (key). */
struct rec {
    char host[256];
    int port;
    char key[300];
};

struct recs {
    struct rec *v;
    size_t n, cap;
};

static struct rec *recs_add(struct recs *r)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        r->v = sk_realloc(r->v, r->cap * sizeof *r->v);
    }
    struct rec *e = &r->v[r->n++];
    memset(e, 0, sizeof *e);
    e->port = -1;
    return e;
}

/* ---- names ----------------------------------------------------------------------- */

/* Presentation text of a wire name, lower case, no trailing dot. */
static void name_text(const ldns_rdf *d, char *out, size_t n)
{
    const uint8_t *p = ldns_rdf_data(d);
    size_t len = ldns_rdf_size(d), i = 0, o = 0;
    while (i < len && p[i] && o + 1 < n) {
        size_t l = p[i++];
        if (o && o + 1 < n) out[o++] = '.';
        for (size_t k = 0; k < l && i < len && o + 1 < n; k++, i++) {
            int c = tolower(p[i]);
            out[o++] = (char)(isalnum(c) || c == '-' || c == '_' ? c : '?');
        }
    }
    out[o] = 0;
}

static int split(const char *name, char *buf, size_t bn, char **lab)
{
    snprintf(buf, bn, "%s", name);
    int n = 0;
    for (char *s = buf; *s && n < MAX_LABELS;) {
        lab[n++] = s;
        char *dot = strchr(s, '.');
        if (!dot) break;
        *dot = 0;
        s = dot + 1;
    }
    return n;
}

/* name is zone or below it. */
static bool in_zone(const char *name, const char *zone)
{
    size_t ln = strlen(name), lz = strlen(zone);
    if (ln == lz) return !strcmp(name, zone);
    return ln > lz + 1 && name[ln - lz - 1] == '.' && !strcmp(name + ln - lz, zone);
}

static bool is_ip(const char *s, int *family)
{
    unsigned char b[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, s, b) == 1) return *family = AF_INET, true;
    if (inet_pton(AF_INET6, s, b) == 1) return *family = AF_INET6, true;
    return false;
}

static bool eqfold(const char *a, const char *b) { return !strcasecmp(a, b); }

/* ---- CoreDNS's parseRequest + Records ----------------------------------------------- */

struct req {
    const char *port, *proto, *endpoint, *service, *ns, *kind;
};

static int parse_request(const struct ctx *c, const char *name, char *buf, size_t bn,
                         struct req *r)
{
    *r = (struct req){"", "", "", "", "", ""};
    if (!in_zone(name, c->zone)) return K_NAMEERR;
    size_t blen = strlen(name) - strlen(c->zone);
    blen = blen ? blen - 1 : 0;
    char base[256];
    snprintf(base, sizeof base, "%.*s", (int)blen, name);
    if (!*base || !strcmp(base, "svc") || !strcmp(base, "pod")) return K_OK; /* NODATA */
    char *seg[MAX_LABELS];
    int last = split(base, buf, bn, seg) - 1;
    r->kind = seg[last];
    if (strcmp(r->kind, "svc") && strcmp(r->kind, "pod")) return K_NAMEERR;
    if (--last < 0) return K_OK;
    r->ns = seg[last];
    if (--last < 0) return K_OK;
    r->service = seg[last];
    if (--last < 0) return K_OK;
    if (last == 0) {
        r->endpoint = seg[0];
    } else if (last == 1) {
        r->proto = seg[1][0] == '_' ? seg[1] + 1 : seg[1];
        r->port = seg[0][0] == '_' ? seg[0] + 1 : seg[0];
    } else {
        return K_NAMEERR; /* too long */
    }
    return K_OK;
}

static bool match_port(const struct req *r, const struct sk_dns_port *p)
{
    return (!*r->port || eqfold(r->port, p->name)) && (!*r->proto || eqfold(r->proto, p->proto));
}

static int find_pods(const struct ctx *c, const struct req *r, struct recs *out)
{
    (void)c;
    if (!*r->service) return K_OK;
    char ip[256];
    int dashes = 0;
    for (const char *p = r->service; *p; p++) dashes += *p == '-';
    bool v4 = dashes == 3 && !strstr(r->service, "--");
    snprintf(ip, sizeof ip, "%s", r->service);
    for (char *p = ip; *p; p++)
        if (*p == '-') *p = v4 ? '.' : ':';
    int fam;
    if (!is_ip(ip, &fam)) return K_NAMEERR;
    struct rec *e = recs_add(out);
    snprintf(e->host, sizeof e->host, "%s", ip);
    return K_OK;
}

static int find_endpoints(const struct ctx *c, const struct req *r, const struct sk_dns_svc *s,
                          struct recs *out)
{
    int err = K_NAMEERR;
    void *it = NULL;
    for (const struct sk_dns_slice *sl; (sl = sk_dns_index_slices(c->ix, s->ns, s->name, &it));) {
        for (size_t i = 0; i < sl->naddrs; i++) {
            char epn[256];
            sk_dns_endpoint_name(&sl->addrs[i], epn, sizeof epn);
            if (*r->endpoint && !eqfold(r->endpoint, epn)) continue;
            for (size_t p = 0; p < sl->nports; p++) {
                if (!match_port(r, &sl->ports[p])) continue;
                struct rec *e = recs_add(out);
                snprintf(e->host, sizeof e->host, "%s", sl->addrs[i].ip);
                e->port = sl->ports[p].port;
                snprintf(e->key, sizeof e->key, "%s.%s.%s.svc.%s.", epn, s->name, s->ns,
                         c->z->domain);
                err = K_OK;
            }
        }
    }
    return err;
}

static int find_services(const struct ctx *c, const struct req *r, struct recs *out)
{
    if (!*r->service) return K_OK; /* <ns>.svc: NODATA for an existing namespace */
    const struct sk_dns_svc *s = sk_dns_index_service(c->ix, r->ns, r->service);
    if (!s) return K_NAMEERR;
    if (s->kind == SK_DNS_EXTERNAL) {
        int fam;
        if (*r->endpoint || *r->port || *r->proto || !*s->external || is_ip(s->external, &fam))
            return K_NAMEERR;
        struct rec *e = recs_add(out);
        snprintf(e->host, sizeof e->host, "%s", s->external);
        snprintf(e->key, sizeof e->key, "%s.%s.svc.%s.", s->name, s->ns, c->z->domain);
        return K_OK;
    }
    if (s->kind == SK_DNS_HEADLESS || *r->endpoint) return find_endpoints(c, r, s, out);
    int err = K_NAMEERR;
    for (size_t p = 0; p < s->nports; p++) {
        if (!match_port(r, &s->ports[p])) continue;
        err = K_OK;
        for (size_t i = 0; i < s->nips; i++) {
            struct rec *e = recs_add(out);
            snprintf(e->host, sizeof e->host, "%s", s->ips[i]);
            e->port = s->ports[p].port;
            snprintf(e->key, sizeof e->key, "%s.%s.svc.%s.", s->name, s->ns, c->z->domain);
        }
    }
    return err;
}

static int records(const struct ctx *c, const char *name, struct recs *out)
{
    char buf[300];
    struct req r;
    if (parse_request(c, name, buf, sizeof buf, &r) < 0) return K_NAMEERR;
    if (!*r.kind) return K_OK;
    if (c->reverse) return K_NAMEERR;
    if (!sk_dns_index_has_namespace(c->ix, r.ns)) return K_NAMEERR;
    return !strcmp(r.kind, "pod") ? find_pods(c, &r, out) : find_services(c, &r, out);
}

/* ---- ns.dns.<zone>: our own addresses ------------------------------------------------- */

/* CoreDNS's nsAddrs: the services whose endpoints are our address (the
 * kube-dns ClusterIP), else our address itself as ns.dns.<zone>. */
static void ns_addrs(const struct ctx *c, struct recs *out)
{
    void *it = NULL;
    for (const struct sk_dns_slice *sl;
         (sl = sk_dns_index_slices_by_ip(c->ix, c->z->advertise, &it));) {
        const struct sk_dns_svc *s = sl->svc ? sk_dns_index_service(c->ix, sl->ns, sl->svc) : NULL;
        if (!s || s->kind == SK_DNS_EXTERNAL) continue;
        for (size_t i = 0; s->kind == SK_DNS_CLUSTERIP && i < s->nips; i++) {
            struct rec *e = recs_add(out);
            snprintf(e->host, sizeof e->host, "%s", s->ips[i]);
            snprintf(e->key, sizeof e->key, "%s.%s.svc.%s.", s->name, s->ns, c->zone);
        }
        for (size_t i = 0; s->kind == SK_DNS_HEADLESS && i < sl->naddrs; i++) {
            char epn[256];
            sk_dns_endpoint_name(&sl->addrs[i], epn, sizeof epn);
            struct rec *e = recs_add(out);
            snprintf(e->host, sizeof e->host, "%s", sl->addrs[i].ip);
            snprintf(e->key, sizeof e->key, "%s.%s.%s.svc.%s.", epn, s->name, s->ns, c->zone);
        }
    }
    if (out->n) return;
    struct rec *e = recs_add(out);
    snprintf(e->host, sizeof e->host, "%s", c->z->advertise);
    snprintf(e->key, sizeof e->key, "ns.dns.%s.", c->zone);
}

static bool is_default_ns(const struct ctx *c, const char *name)
{
    char want[300];
    snprintf(want, sizeof want, "ns.dns.%s", c->zone);
    return !strcmp(name, want);
}

/* CoreDNS's Services(): Records plus the ns.dns special; SRV drops names. */
static int services(const struct ctx *c, const char *name, ldns_rr_type t, struct recs *out)
{
    if (is_default_ns(c, name)) {
        struct recs all = {0};
        ns_addrs(c, &all);
        for (size_t i = 0; i < all.n; i++) {
            int fam;
            if (!is_ip(all.v[i].host, &fam)) continue;
            if ((fam == AF_INET && t == LDNS_RR_TYPE_A) ||
                (fam == AF_INET6 && t == LDNS_RR_TYPE_AAAA)) {
                *recs_add(out) = all.v[i];
                snprintf(out->v[out->n - 1].key, sizeof all.v[i].key, "%s.", name);
            }
        }
        free(all.v);
        return K_OK;
    }
    int err = records(c, name, out);
    if (t == LDNS_RR_TYPE_SRV) {
        size_t k = 0;
        for (size_t i = 0; i < out->n; i++) {
            int fam;
            if (is_ip(out->v[i].host, &fam)) out->v[k++] = out->v[i];
        }
        out->n = k;
    }
    return err;
}

/* ---- record builders ---------------------------------------------------------------------- */

static void push(ldns_rr_list *l, ldns_rr *rr)
{
    if (rr && !ldns_rr_list_push_rr(l, rr)) ldns_rr_free(rr);
}

/* An earlier candidate has the same host (CoreDNS's dup map). */
static bool seen_host(const struct recs *rs, size_t i)
{
    for (size_t k = 0; k < i; k++)
        if (!strcmp(rs->v[k].host, rs->v[i].host)) return true;
    return false;
}

static bool in_list(char seen[][256], size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(seen[i], s)) return true;
    return false;
}

/* plugin.A / plugin.AAAA: address records for name (owner: its wire form),
 * following CNAMEs inside the zone and asking upstream outside it. chain
 * holds the CNAME targets so far (loop and length guard). */
static int addr_records(struct ctx *c, const char *name, const ldns_rdf *owner, ldns_rr_type t,
                        char chain[][256], size_t depth, ldns_rr_list *out)
{
    struct recs rs = {0};
    int err = services(c, name, t, &rs);
    for (size_t i = 0; err == K_OK && i < rs.n; i++) {
        const struct rec *e = &rs.v[i];
        int fam;
        if (is_ip(e->host, &fam)) {
            bool want = (fam == AF_INET) == (t == LDNS_RR_TYPE_A);
            if (want && !seen_host(&rs, i))
                push(out, sk_dns_rr_addr(ldns_rdf_clone(owner), c->z->ttl, e->host));
            continue;
        }
        if (!strcmp(e->host, name) || depth >= MAX_CHAIN || in_list(chain, depth, e->host))
            continue;
        ldns_rr *cname = sk_dns_rr_name(ldns_rdf_clone(owner), c->z->ttl, LDNS_RR_TYPE_CNAME,
                                        e->host);
        ldns_rdf *target = sk_dns_dname(e->host);
        if (!cname || !target) {
            ldns_rr_free(cname);
            ldns_rdf_deep_free(target);
            continue;
        }
        snprintf(chain[depth], 256, "%s", e->host);
        if (in_zone(e->host, c->zone)) {
            ldns_rr_list *sub = ldns_rr_list_new();
            if (addr_records(c, e->host, target, t, chain, depth + 1, sub) == K_OK &&
                ldns_rr_list_rr_count(sub)) {
                push(out, cname);
                cname = NULL;
                for (size_t k = 0; k < ldns_rr_list_rr_count(sub); k++)
                    push(out, ldns_rr_list_rr(sub, k));
                ldns_rr_list_free(sub);
                sub = NULL;
            }
            ldns_rr_list_deep_free(sub);
        } else if (!c->lookup) {
            c->defer = true;
        } else {
            /* rs holds copies: the index need not stay locked while we wait */
            sk_dns_index_unlock(c->ix);
            ldns_pkt *m = c->lookup(c->ud, e->host, t);
            sk_dns_index_rdlock(c->ix);
            if (m) {
                push(out, cname);
                cname = NULL;
                const ldns_rr_list *an = ldns_pkt_answer(m);
                for (size_t k = 0; k < ldns_rr_list_rr_count(an); k++)
                    push(out, ldns_rr_clone(ldns_rr_list_rr(an, k)));
                ldns_pkt_free(m);
            }
        }
        ldns_rr_free(cname);
        ldns_rdf_deep_free(target);
    }
    free(rs.v);
    return err;
}

/* plugin.SRV: one record per (target, port), weights splitting 100 over
 * the candidates, the targets' addresses as additional records. */
static int srv_records(struct ctx *c, const char *name, const ldns_rdf *owner,
                       struct sk_dns_answer *a)
{
    struct recs rs = {0};
    int err = services(c, name, LDNS_RR_TYPE_SRV, &rs);
    double total = 100.0 * (double)rs.n;
    for (size_t i = 0; err == K_OK && i < rs.n; i++) {
        const struct rec *e = &rs.v[i];
        if (e->port < 0) continue;
        double w = floor(100.0 / total * 100.0);
        uint16_t weight = w < 1 ? 1 : (uint16_t)w;
        bool dup_srv = false, dup_addr = false;
        for (size_t k = 0; k < i; k++) {
            const struct rec *o = &rs.v[k];
            if (o->port < 0 || strcmp(o->key, e->key)) continue;
            dup_srv = dup_srv || o->port == e->port;
            dup_addr = dup_addr || !strcmp(o->host, e->host);
        }
        if (!dup_srv)
            push(a->an, sk_dns_rr_srv(ldns_rdf_clone(owner), c->z->ttl, weight,
                                      (uint16_t)e->port, e->key));
        if (!dup_addr) push(a->ar, sk_dns_rr_addr(sk_dns_dname(e->key), c->z->ttl, e->host));
    }
    free(rs.v);
    return err;
}

/* dnsutil.ExtractAddressFromReverse: the canonical IP a reverse name
 * spells, or false. */
static bool reverse_ip(const char *name, char *out, size_t n)
{
    char buf[300], *lab[MAX_LABELS], text[80];
    int nl = split(name, buf, sizeof buf, lab);
    unsigned char bin[sizeof(struct in6_addr)];
    size_t o = 0;
    if (nl == 6 && !strcmp(lab[4], "in-addr") && !strcmp(lab[5], "arpa")) {
        snprintf(text, sizeof text, "%s.%s.%s.%s", lab[3], lab[2], lab[1], lab[0]);
        return inet_pton(AF_INET, text, bin) == 1 && inet_ntop(AF_INET, bin, out, (socklen_t)n);
    }
    if (nl != 34 || strcmp(lab[32], "ip6") || strcmp(lab[33], "arpa")) return false;
    for (int i = 31; i >= 0; i--) {
        if (strlen(lab[i]) != 1 || !isxdigit((unsigned char)lab[i][0])) return false;
        text[o++] = lab[i][0];
        if (i % 4 == 0 && i) text[o++] = ':';
    }
    text[o] = 0;
    return inet_pton(AF_INET6, text, bin) == 1 && inet_ntop(AF_INET6, bin, out, (socklen_t)n);
}

/* reverse.go: the service with this ClusterIP, else every endpoint name
 * with this address. */
static int ptr_records(struct ctx *c, const char *name, const ldns_rdf *owner, ldns_rr_list *out)
{
    char ip[INET6_ADDRSTRLEN];
    if (!reverse_ip(name, ip, sizeof ip)) {
        struct recs rs = {0};
        int err = records(c, name, &rs);
        free(rs.v);
        return err;
    }
    char t[300];
    void *it = NULL;
    const struct sk_dns_svc *s = sk_dns_index_services_by_ip(c->ix, ip, &it);
    it = NULL;
    if (s) {
        snprintf(t, sizeof t, "%s.%s.svc.%s.", s->name, s->ns, c->z->domain);
        push(out, sk_dns_rr_name(ldns_rdf_clone(owner), c->z->ttl, LDNS_RR_TYPE_PTR, t));
        return K_OK;
    }
    struct recs seen = {0};
    for (const struct sk_dns_slice *sl; (sl = sk_dns_index_slices_by_ip(c->ix, ip, &it));) {
        for (size_t i = 0; sl->svc && i < sl->naddrs; i++) {
            if (strcmp(sl->addrs[i].ip, ip)) continue;
            char epn[256];
            sk_dns_endpoint_name(&sl->addrs[i], epn, sizeof epn);
            struct rec *e = recs_add(&seen);
            snprintf(e->host, sizeof e->host, "%s.%s.%s.svc.%s.", epn, sl->svc, sl->ns,
                     c->z->domain);
            if (seen_host(&seen, seen.n - 1)) continue;
            push(out, sk_dns_rr_name(ldns_rdf_clone(owner), c->z->ttl, LDNS_RR_TYPE_PTR,
                                     e->host));
        }
    }
    free(seen.v);
    return ldns_rr_list_rr_count(out) ? K_OK : K_NAMEERR;
}

/* ---- the handler (kubernetes plugin ServeDNS) ------------------------------------------- */

static int txt_records(struct ctx *c, const char *name, const ldns_rdf *owner, ldns_rr_list *out)
{
    size_t ln = strlen(name), lz = strlen(c->zone);
    if (ln == lz + 12 && !strncmp(name, "dns-version.", 12)) {
        push(out, sk_dns_rr_txt(ldns_rdf_clone(owner), 28800, SK_DNS_DNS_VERSION));
        return K_OK;
    }
    /* an existing name of another type answers NODATA, anything else
     * (even a namespace) NXDOMAIN, as CoreDNS does */
    struct recs rs = {0};
    records(c, name, &rs);
    size_t n = rs.n;
    free(rs.v);
    return n ? K_OK : K_NAMEERR;
}

static int cname_records(struct ctx *c, const char *name, const ldns_rdf *owner,
                         ldns_rr_list *out)
{
    struct recs rs = {0};
    int err = services(c, name, LDNS_RR_TYPE_CNAME, &rs), fam;
    if (err == K_OK && rs.n && !is_ip(rs.v[0].host, &fam))
        push(out, sk_dns_rr_name(ldns_rdf_clone(owner), c->z->ttl, LDNS_RR_TYPE_CNAME,
                                 rs.v[0].host));
    free(rs.v);
    return err;
}

/* plugin.NS at the apex: the names of our own addresses, with glue. */
static void ns_records(struct ctx *c, const ldns_rdf *owner, struct sk_dns_answer *a)
{
    struct recs rs = {0};
    ns_addrs(c, &rs);
    for (size_t i = 0; i < rs.n; i++) {
        push(a->ar, sk_dns_rr_addr(sk_dns_dname(rs.v[i].key), c->z->ttl, rs.v[i].host));
        bool dup = false;
        for (size_t k = 0; k < i; k++) dup = dup || !strcmp(rs.v[k].key, rs.v[i].key);
        if (!dup)
            push(a->an, sk_dns_rr_name(ldns_rdf_clone(owner), c->z->ttl, LDNS_RR_TYPE_NS,
                                       rs.v[i].key));
    }
    free(rs.v);
}

/* The zone's SOA with the owner spelled as in the question. */
static ldns_rr *soa(const struct ctx *c, const ldns_rdf *qname)
{
    size_t zl = 1;
    for (const char *p = c->zone; *p; p++) zl += *p == '.';
    size_t nl = ldns_dname_label_count(qname);
    ldns_rdf *owner = nl >= zl ? ldns_dname_clone_from(qname, (uint16_t)(nl - zl)) : NULL;
    return sk_dns_rr_soa(owner, c->z->ttl, c->zone, sk_dns_index_serial(c->ix));
}

static int dispatch(struct ctx *c, const char *name, const ldns_rdf *qname, ldns_rr_type qtype,
                    struct sk_dns_answer *a)
{
    char chain[MAX_CHAIN][256];
    struct recs rs = {0};
    int err = K_OK;
    bool apex = !strcmp(name, c->zone);
    switch (qtype) {
    case LDNS_RR_TYPE_A:
    case LDNS_RR_TYPE_AAAA:
        return addr_records(c, name, qname, qtype, chain, 0, a->an);
    case LDNS_RR_TYPE_TXT:
        return txt_records(c, name, qname, a->an);
    case LDNS_RR_TYPE_CNAME:
        return cname_records(c, name, qname, a->an);
    case LDNS_RR_TYPE_PTR:
        return ptr_records(c, name, qname, a->an);
    case LDNS_RR_TYPE_SRV:
        return srv_records(c, name, qname, a);
    case LDNS_RR_TYPE_SOA:
        if (apex) push(a->an, soa(c, qname));
        return K_OK;
    case LDNS_RR_TYPE_NS:
        if (apex) {
            ns_records(c, qname, a);
            return K_OK;
        }
        /* fall through */
    default:
        /* MX and the rest: never any records, but NODATA vs NXDOMAIN as
         * for an A question (CoreDNS's "fake A lookup") */
        err = services(c, name, LDNS_RR_TYPE_A, &rs);
        free(rs.v);
        return err;
    }
}

enum sk_dns_verdict sk_dns_resolve(const struct sk_dns_zone *z, const ldns_rdf *qname,
                                   ldns_rr_type qtype, sk_dns_lookup_fn lookup, void *ud,
                                   struct sk_dns_answer *a)
{
    struct ctx c = {.z = z, .ix = z->ix, .lookup = lookup, .ud = ud};
    char name[300];
    name_text(qname, name, sizeof name);
    if (in_zone(name, z->domain)) {
        snprintf(c.zone, sizeof c.zone, "%s", z->domain);
    } else if (in_zone(name, "in-addr.arpa") || in_zone(name, "ip6.arpa")) {
        snprintf(c.zone, sizeof c.zone, "%s",
                 in_zone(name, "in-addr.arpa") ? "in-addr.arpa" : "ip6.arpa");
        c.reverse = true;
    } else {
        return SK_DNS_FORWARD;
    }
    if (qtype == LDNS_RR_TYPE_AXFR || qtype == LDNS_RR_TYPE_IXFR) {
        if (c.reverse) return SK_DNS_FORWARD;
        a->rcode = LDNS_RCODE_REFUSED;
        return SK_DNS_REPLY;
    }
    sk_dns_index_rdlock(c.ix);
    int err = dispatch(&c, name, qname, qtype, a);
    bool synced = sk_dns_index_synced(c.ix);
    if (err == K_NAMEERR || !ldns_rr_list_rr_count(a->an)) {
        ldns_rr_list_deep_free(a->an);
        ldns_rr_list_deep_free(a->ar);
        a->an = ldns_rr_list_new();
        a->ar = ldns_rr_list_new();
        if (!(err == K_NAMEERR && c.reverse)) push(a->ns, soa(&c, qname));
    }
    sk_dns_index_unlock(c.ix);
    if (c.defer) return SK_DNS_DEFER;
    if (err == K_NAMEERR) {
        /* `fallthrough in-addr.arpa ip6.arpa`: unknown reverse names go upstream */
        if (c.reverse) return SK_DNS_FORWARD;
        a->rcode = synced ? LDNS_RCODE_NXDOMAIN : LDNS_RCODE_SERVFAIL;
    }
    a->aa = true;
    return SK_DNS_REPLY;
}
