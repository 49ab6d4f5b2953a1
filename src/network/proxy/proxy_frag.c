/* What one Service contributes to the nftables table (see proxy_int.h for
 * the fragment format). Follows upstream kube-proxy's nftables proxier for
 * which chains exist and which verdicts the dispatch maps hold: internal
 * (ClusterIP) traffic goes to the policy chain of internalTrafficPolicy,
 * external traffic (NodePort, externalIPs, LoadBalancer ingress) through
 * an external- chain that masquerades (Cluster) or short-circuits pod and
 * node traffic (Local); no endpoints at all means reject, no endpoints for
 * one policy means drop. */
#include "network/proxy/proxy_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct frag {
    const struct px_frag_ctx *ctx;
    const json_t *old_blocks;
    json_t *out, *c, *s, *e, *r, *b, *x;
    /* chain bodies grow rule by rule: buffers, indexed by name */
    json_t *cidx;
    sk_buf *bodies;
    size_t nbodies;
};

static void add_chain_rule(struct frag *f, const char *chain, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_chain_rule(struct frag *f, const char *chain, const char *fmt, ...)
{
    json_t *ix = json_object_get(f->cidx, chain);
    size_t i;
    if (ix) {
        i = (size_t)json_integer_value(ix);
    } else {
        i = f->nbodies++;
        f->bodies = sk_realloc(f->bodies, f->nbodies * sizeof *f->bodies);
        f->bodies[i] = (sk_buf)SK_BUF_INIT;
        json_object_set_new(f->cidx, chain, json_integer((json_int_t)i));
    }
    sk_buf *b = &f->bodies[i];
    if (b->len) sk_buf_adds(b, "\n");
    va_list ap;
    va_start(ap, fmt);
    char *rule = NULL;
    if (vasprintf(&rule, fmt, ap) < 0) abort();
    va_end(ap);
    sk_buf_adds(b, rule);
    free(rule);
}

static void add_elem(struct frag *f, const char *map, const char *key, const char *value)
{
    _sk_free_ char *k = sk_printf("%s|%s", map, key);
    json_object_set_new(f->e, k, json_string(value));
}

static uint32_t block_for(struct frag *f, const char *name)
{
    json_t *have = json_object_get(f->old_blocks, name);
    uint32_t b = json_is_integer(have) ? (uint32_t)json_integer_value(have) : 0;
    if (!b) b = f->ctx->alloc_block(f->ctx->ud);
    if (b) json_object_set_new(f->b, name, json_integer(b));
    return b;
}

static char *ep_base(const struct px_port *p, const struct px_ep *ep, int salt)
{
    /* the hash-less part of base starts after "HASH-" */
    _sk_free_ char *raw = sk_printf("%s__%s/%u", p->base + 9, ep->ip, ep->port);
    _sk_free_ char *seed = sk_printf("%s#%d", raw, salt);
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    uint64_t h = 14695981039346656037ull;
    for (const char *s = seed; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    char hs[9];
    for (int i = 0; i < 8; i++) hs[i] = alpha[(h >> (5 * i)) & 31];
    hs[8] = 0;
    return sk_printf("%s-%s", hs, raw);
}

/* Endpoints of both policies, each once (local ones are a subset). */
static void each_reachable(const struct px_port *p, void (*fn)(struct frag *, const struct px_port *,
                                                                const struct px_ep *),
                           struct frag *f)
{
    for (size_t i = 0; i < p->n_cluster; i++) fn(f, p, &p->cluster[i]);
    for (size_t i = 0; i < p->n_local; i++) {
        bool seen = false;
        for (size_t k = 0; k < p->n_cluster && !seen; k++)
            seen = !strcmp(p->cluster[k].ip, p->local[i].ip) && p->cluster[k].port == p->local[i].port;
        if (!seen) fn(f, p, &p->local[i]);
    }
}

static void hairpin(struct frag *f, const struct px_port *p, const struct px_ep *ep)
{
    if (!ep->hairpin) return;
    _sk_free_ char *k = sk_printf("hairpin|%s . %s", ep->ip, ep->ip);
    json_object_set_new(f->r, k, json_integer(1));
}

/* Upstream's endpoint chain, and with ClientIP affinity its timed set. */
static void endpoint_chain(struct frag *f, const struct px_port *p, const struct px_ep *ep)
{
    _sk_free_ char *eb = ep_base(p, ep, 0);
    _sk_free_ char *chain = sk_printf("endpoint-%s", eb);
    add_chain_rule(f, chain, "ip saddr %s jump mark-for-masquerade", ep->ip);
    if (p->affinity_s) {
        _sk_free_ char *sb = ep_base(p, ep, p->affinity_s);
        _sk_free_ char *set = sk_printf("affinity-%s", sb);
        _sk_free_ char *decl = sk_printf("type ipv4_addr; flags dynamic,timeout; timeout %ds;",
                                         p->affinity_s);
        json_object_set_new(f->s, set, json_string(decl));
        add_chain_rule(f, chain, "update @%s { ip saddr }", set);
    }
    add_chain_rule(f, chain, "meta l4proto %s dnat ip to %s:%u", p->proto, ep->ip, ep->port);
}

static bool one_port(const struct px_ep *eps, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (eps[i].port != eps[0].port) return false;
    return true;
}

/* Endpoint chains are needed for affinity, and when the endpoints of a
 * port listen on different ports (a named targetPort resolving
 * differently): a key block has one port. */
static bool needs_endpoint_chains(const struct px_port *p)
{
    return p->affinity_s || !one_port(p->cluster, p->n_cluster) || !one_port(p->local, p->n_local);
}

/* The load-balancing rules of a policy chain (upstream's
 * writeServiceToEndpointRules). */
static void lb_rules(struct frag *f, const struct px_port *p, const char *chain,
                     const struct px_ep *eps, size_t n, const char *block_name)
{
    if (needs_endpoint_chains(p)) {
        sk_buf vm = SK_BUF_INIT;
        for (size_t i = 0; i < n; i++) {
            _sk_free_ char *eb = ep_base(p, &eps[i], 0);
            if (p->affinity_s) {
                _sk_free_ char *sb = ep_base(p, &eps[i], p->affinity_s);
                add_chain_rule(f, chain, "ip saddr @affinity-%s goto endpoint-%s", sb, eb);
            }
            sk_buf_addf(&vm, "%s%zu : goto endpoint-%s", i ? ", " : "", i, eb);
        }
        add_chain_rule(f, chain, "numgen random mod %zu vmap { %s }", n, vm.data);
        sk_buf_release(&vm);
        return;
    }
    _sk_free_ char *bname = sk_printf("%s|%s", p->base, block_name);
    uint32_t block = block_for(f, bname);
    if (!block) { /* key space exhausted: the service refuses, but its chain exists */
        add_chain_rule(f, chain, "goto reject-chain");
        return;
    }
    uint32_t off = block << PX_BLOCK_BITS;
    add_chain_rule(f, chain, "ct mark set numgen random mod %zu offset %u goto dnat-%s", n, off,
                   p->proto);
    /* the block's addresses, one line per key from off on; one port */
    sk_buf ips = SK_BUF_INIT;
    for (size_t i = 0; i < n; i++) sk_buf_addf(&ips, "%s\n", eps[i].ip);
    char key[16], port[8];
    snprintf(key, sizeof key, "%u", block);
    json_object_set_new(f->x, key, json_stringn(ips.data, ips.len));
    sk_buf_release(&ips);
    snprintf(key, sizeof key, "%u", off);
    snprintf(port, sizeof port, "%u", eps[0].port);
    add_elem(f, "endpoint-ports", key, port);
}

/* Where each destination of the port goes: service-ips/service-nodeports
 * when there is anything to DNAT to, no-endpoint-* for reject/drop. */
static void dispatch(struct frag *f, const struct px_port *p, const char *int_chain, bool has_int,
                     const char *int_v, const char *ext_chain, bool has_eps, bool has_ext,
                     const char *ext_v)
{
    char key[64];
    _sk_free_ char *go_int = sk_printf("goto %s", int_chain);
    _sk_free_ char *go_ext = sk_printf("goto %s", ext_chain);
    snprintf(key, sizeof key, "%s . %s . %u", p->cluster_ip, p->proto, p->port);
    add_elem(f, has_int ? "service-ips" : "no-endpoint-services", key, has_int ? go_int : int_v);
    for (size_t k = 0; k < p->n_ext + p->n_lb; k++) {
        const char *ip = k < p->n_ext ? p->ext_ips[k] : p->lb_ips[k - p->n_ext];
        snprintf(key, sizeof key, "%s . %s . %u", ip, p->proto, p->port);
        if (has_eps) add_elem(f, "service-ips", key, go_ext);
        if (!has_ext) add_elem(f, "no-endpoint-services", key, ext_v);
    }
    if (p->node_port) {
        snprintf(key, sizeof key, "%s . %u", p->proto, p->node_port);
        if (has_eps) add_elem(f, "service-nodeports", key, go_ext);
        if (!has_ext) add_elem(f, "no-endpoint-nodeports", key, ext_v);
    }
}

static void render_port(struct frag *f, const struct px_port *p)
{
    const char *cidr = f->ctx->cidr;
    _sk_free_ char *cl = sk_printf("service-%s", p->base);
    _sk_free_ char *lo = sk_printf("local-%s", p->base);
    _sk_free_ char *ex = sk_printf("external-%s", p->base);
    bool external = p->node_port || p->n_ext || p->n_lb;
    bool has_eps = p->n_cluster || p->n_local;
    bool uses_cluster = p->n_cluster && (!p->int_local || external);
    bool uses_local = p->n_local && (p->int_local || p->ext_local);
    bool has_int = has_eps && (!p->int_local || p->n_local);
    bool has_ext = has_eps && (!p->ext_local || p->n_local);
    const char *int_chain = p->int_local ? lo : cl;
    const char *int_v = has_eps ? "drop" : "goto reject-chain";
    const char *ext_v = has_eps ? "drop" : "goto reject-chain";

    dispatch(f, p, int_chain, has_int, int_v, ex, has_eps, has_ext, ext_v);
    if (has_int && cidr && f->ctx->svc_masq_rule)
        add_chain_rule(f, int_chain, "ip daddr %s %s dport %u ip saddr != %s jump mark-for-masquerade",
                       p->cluster_ip, p->proto, p->port, cidr);
    if (has_eps && external) {
        if (!p->ext_local) {
            add_chain_rule(f, ex, "jump mark-for-masquerade");
        } else {
            if (cidr) add_chain_rule(f, ex, "ip saddr %s goto %s", cidr, cl);
            add_chain_rule(f, ex, "fib saddr type local jump mark-for-masquerade");
            add_chain_rule(f, ex, "fib saddr type local goto %s", cl);
        }
        if (has_ext) add_chain_rule(f, ex, "goto %s", p->ext_local ? lo : cl);
    }
    if (uses_cluster) lb_rules(f, p, cl, p->cluster, p->n_cluster, "c");
    if (uses_local) lb_rules(f, p, lo, p->local, p->n_local, "l");
    if (needs_endpoint_chains(p)) each_reachable(p, endpoint_chain, f);
    each_reachable(p, hairpin, f);
}

json_t *px_frag_render(const struct px_frag_ctx *ctx, struct px_port *const *ports, size_t n,
                       const json_t *old)
{
    struct frag f = {.ctx = ctx, .old_blocks = json_object_get(old, "b")};
    f.out = json_object();
    f.cidx = json_object();
    json_object_set_new(f.out, "c", f.c = json_object());
    json_object_set_new(f.out, "s", f.s = json_object());
    json_object_set_new(f.out, "e", f.e = json_object());
    json_object_set_new(f.out, "r", f.r = json_object());
    json_object_set_new(f.out, "b", f.b = json_object());
    json_object_set_new(f.out, "x", f.x = json_object());
    size_t neps = 0;
    for (size_t i = 0; i < n; i++) {
        render_port(&f, ports[i]);
        neps += ports[i]->n_cluster;
    }
    json_object_set_new(f.out, "n", json_integer((json_int_t)neps));
    const char *name;
    json_t *ix;
    json_object_foreach(f.cidx, name, ix) {
        sk_buf *b = &f.bodies[json_integer_value(ix)];
        json_object_set_new(f.c, name, json_stringn(b->data ? b->data : "", b->len));
        sk_buf_release(b);
    }
    free(f.bodies);
    json_decref(f.cidx);
    return f.out;
}
