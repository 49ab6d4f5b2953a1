/* The nftables script generator: the applied state (one fragment per
 * Service), full scripts that replace the table, and incremental scripts
 * that touch only the chains, sets and map elements of services whose
 * fragment changed. A script becomes the applied state only on commit, so
 * a failed transaction leaves the state as the kernel has it (and asks
 * for a full sync, since the kernel may hold anything after an error).
 *
 * Incremental script order, one transaction: new sets and chains first
 * (rules and elements refer to them), flush changed and doomed chains,
 * delete elements, add rules, add elements, and last delete chains and
 * sets nothing refers to any more. */
#include "network/proxy/proxy_int.h"

#include <string.h>

static const char *const shared_maps[] = {"service-ips",     "service-nodeports", "no-endpoint-services",
                                          "no-endpoint-nodeports", "endpoint-ips", "endpoint-ports",
                                          "hairpin"};
#define NMAPS SK_ARRAY_LEN(shared_maps)
#define EP_MAP 4 /* endpoint-ips: filled from the fragments' blocks */

struct px_gen {
    char *table, *cidr, *svc_cidr;
    char **node_ips; /* NULL: NodePorts on every local address (fib) */
    json_t *applied; /* svc key -> fragment */
    json_t *owners;  /* "map|key" -> svc key */
    json_t *refs;    /* "set|key" -> count */
    uint32_t next_block;
    uint32_t *free_blocks;
    size_t n_free;
    bool need_full;
    /* pending, until commit or abort */
    bool pending, pending_full;
    json_t *p_frags;  /* svc key -> fragment, null = removed */
    json_t *p_owners; /* "map|key" -> svc key, null = released */
    json_t *p_refs;   /* "set|key" -> new count */
    uint32_t *p_freed;
    size_t n_pfreed;
};

/* The sections of one incremental script. */
struct script {
    sk_buf add_sets, add_chains, flush, rules, del_objs;
    sk_buf del_elems[NMAPS], add_elems[NMAPS];
};

px_gen *px_gen_new(const struct px_gen_config *cfg)
{
    px_gen *g = sk_calloc(1, sizeof *g);
    g->table = sk_strdup(cfg->table && *cfg->table ? cfg->table : "skiff");
    g->cidr = cfg->cluster_cidr && *cfg->cluster_cidr ? sk_strdup(cfg->cluster_cidr) : NULL;
    g->svc_cidr = cfg->service_cidr && *cfg->service_cidr ? sk_strdup(cfg->service_cidr) : NULL;
    if (cfg->node_ips) {
        size_t n = 0, k = 0;
        while (cfg->node_ips[n]) n++;
        g->node_ips = sk_calloc(n + 1, sizeof *g->node_ips);
        for (size_t i = 0; i < n; i++) { /* a set declaration refuses duplicates */
            bool dup = false;
            for (size_t j = 0; j < k && !dup; j++) dup = !strcmp(g->node_ips[j], cfg->node_ips[i]);
            if (!dup) g->node_ips[k++] = sk_strdup(cfg->node_ips[i]);
        }
    }
    g->applied = json_object();
    g->owners = json_object();
    g->refs = json_object();
    g->need_full = true;
    return g;
}

static void drop_pending(px_gen *g)
{
    json_decref(g->p_frags);
    json_decref(g->p_owners);
    json_decref(g->p_refs);
    g->p_frags = g->p_owners = g->p_refs = NULL;
    free(g->p_freed);
    g->p_freed = NULL;
    g->n_pfreed = 0;
    g->pending = false;
}

void px_gen_free(px_gen *g)
{
    if (!g) return;
    drop_pending(g);
    for (size_t i = 0; g->node_ips && g->node_ips[i]; i++) free(g->node_ips[i]);
    free(g->node_ips);
    json_decref(g->applied);
    json_decref(g->owners);
    json_decref(g->refs);
    free(g->free_blocks);
    free(g->table);
    free(g->cidr);
    free(g->svc_cidr);
    free(g);
}

static uint32_t alloc_block(void *ud)
{
    px_gen *g = ud;
    if (g->n_free) return g->free_blocks[--g->n_free];
    if (g->next_block > PX_MAX_BLOCKS) return 0;
    return g->next_block++;
}

static size_t map_index(const char *map, size_t len)
{
    for (size_t i = 0; i < NMAPS; i++)
        if (strlen(shared_maps[i]) == len && !strncmp(shared_maps[i], map, len)) return i;
    return NMAPS;
}

/* ---- ownership of map keys and counts of shared set elements -------------------------- */

static const char *owner_of(px_gen *g, const char *k)
{
    json_t *p = json_object_get(g->p_owners, k);
    if (p) return json_string_value(p); /* null: released in this batch */
    return json_string_value(json_object_get(g->owners, k));
}

static json_int_t ref_count(px_gen *g, const char *k)
{
    json_t *p = json_object_get(g->p_refs, k);
    return json_integer_value(p ? p : json_object_get(g->refs, k));
}

static void ref_add(px_gen *g, const char *k, int d)
{
    json_object_set_new(g->p_refs, k, json_integer(ref_count(g, k) + d));
}

static void release(px_gen *g, const char *svc, const json_t *frag)
{
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(frag, "e"), k, v) {
        const char *o = owner_of(g, k);
        if (o && !strcmp(o, svc)) json_object_set_new(g->p_owners, k, json_null());
    }
    json_object_foreach(json_object_get(frag, "r"), k, v) ref_add(g, k, -1);
}

/* Takes the map keys of frag for svc; keys another service holds are
 * dropped from frag (two LoadBalancer services on one port, say). */
static void claim(px_gen *g, const char *svc, json_t *frag)
{
    json_t *e = json_object_get(frag, "e");
    const char *k;
    json_t *v;
    void *tmp;
    json_t *svc_str = json_string(svc);
    json_object_foreach_safe(e, tmp, k, v) {
        const char *o = owner_of(g, k);
        if (o && strcmp(o, svc)) {
            sk_log(SK_WARN, "proxy", "service %s: %s is taken by %s; skipped", svc, k, o);
            json_object_del(e, k);
            continue;
        }
        json_object_set(g->p_owners, k, svc_str);
    }
    json_decref(svc_str);
    json_object_foreach(json_object_get(frag, "r"), k, v) ref_add(g, k, 1);
}

static void begin(px_gen *g, bool full)
{
    drop_pending(g);
    g->pending = true;
    g->pending_full = full;
    g->p_frags = json_object();
    g->p_owners = json_object();
    g->p_refs = json_object();
    if (full) {
        /* keys and counts start from nothing; blocks are numbered afresh */
        json_object_clear(g->owners);
        json_object_clear(g->refs);
        g->next_block = 1;
        g->n_free = 0;
    }
}

/* ---- full scripts ---------------------------------------------------------------------- */

static void base_table(px_gen *g, sk_buf *o)
{
    const char *np = g->node_ips ? "ip daddr @nodeport-ips" : "fib daddr type local";
    sk_buf_adds(o, "\tmap service-ips {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n\t}\n"
                   "\tmap service-nodeports {\n\t\ttype inet_proto . inet_service : verdict\n\t}\n"
                   "\tmap no-endpoint-services {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n\t}\n"
                   "\tmap no-endpoint-nodeports {\n\t\ttype inet_proto . inet_service : verdict\n\t}\n"
                   "\tmap endpoint-ips {\n\t\ttype mark : ipv4_addr\n\t}\n"
                   "\tmap endpoint-ports {\n\t\ttype mark : inet_service\n\t}\n"
                   "\tset hairpin {\n\t\ttype ipv4_addr . ipv4_addr\n\t}\n");
    if (g->node_ips) {
        sk_buf_adds(o, "\tset nodeport-ips {\n\t\ttype ipv4_addr\n\t\telements = { 127.0.0.1");
        for (size_t i = 0; g->node_ips[i]; i++)
            if (strcmp(g->node_ips[i], "127.0.0.1")) sk_buf_addf(o, ", %s", g->node_ips[i]);
        sk_buf_adds(o, " }\n\t}\n");
    }
    static const char *const filt[] = {"input", "forward", "output"};
    for (size_t i = 0; i < 3; i++)
        sk_buf_addf(o, "\tchain filter-%s {\n\t\ttype filter hook %s priority -110; policy accept;\n"
                       "\t\tct state new jump endpoints-check\n\t}\n", filt[i], filt[i]);
    /* nft 1.0.6 refuses the dstnat keyword on the output hook */
    sk_buf_adds(o, "\tchain nat-prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
                   "\t\tjump services\n\t}\n"
                   "\tchain nat-output {\n\t\ttype nat hook output priority -100; policy accept;\n"
                   "\t\tjump services\n\t}\n"
                   "\tchain nat-postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
                   "\t\tjump masquerading\n\t}\n");
    sk_buf_addf(o, "\tchain endpoints-check {\n"
                   "\t\tip daddr . meta l4proto . th dport vmap @no-endpoint-services\n"
                   "\t\t%s meta l4proto . th dport vmap @no-endpoint-nodeports\n\t}\n", np);
    sk_buf_adds(o, "\tchain reject-chain {\n\t\tmeta l4proto tcp reject with tcp reset\n\t\treject\n\t}\n");
    sk_buf_adds(o, "\tchain mark-for-masquerade {\n\t\tmeta mark set meta mark | " PX_MASQ_MARK "\n\t}\n");
    sk_buf_adds(o, "\tchain masquerading {\n"
                   "\t\tmeta mark & " PX_MASQ_MARK " == " PX_MASQ_MARK " goto masquerade-marked\n"
                   "\t\tct status dnat ip saddr . ip daddr @hairpin masquerade fully-random\n");
    if (g->cidr)
        sk_buf_addf(o, "\t\tip saddr %s ip daddr != %s masquerade fully-random\n", g->cidr, g->cidr);
    sk_buf_adds(o, "\t}\n\tchain masquerade-marked {\n\t\tmeta mark set meta mark ^ " PX_MASQ_MARK
                   "\n\t\tmasquerade fully-random\n\t}\n");
    sk_buf_adds(o, "\tchain services {\n");
    /* what upstream writes into every service chain, once: off-cluster
     * clients of a ClusterIP are masqueraded */
    if (g->cidr && g->svc_cidr)
        sk_buf_addf(o, "\t\tip daddr %s ip saddr != %s jump mark-for-masquerade\n", g->svc_cidr, g->cidr);
    sk_buf_addf(o, "\t\tip daddr . meta l4proto . th dport vmap @service-ips\n"
                   "\t\t%s meta l4proto . th dport vmap @service-nodeports\n\t}\n", np);
    /* the key's block (its high bits) gives the port: a value of the
     * address alone makes 10,000 elements a third cheaper to load */
    static const char *const protos[] = {"tcp", "udp", "sctp"};
    for (size_t i = 0; i < 3; i++)
        sk_buf_addf(o, "\tchain dnat-%s {\n\t\tmeta l4proto %s dnat ip to ct mark map @endpoint-ips : "
                       "ct mark & 0x%08x map @endpoint-ports\n\t}\n",
                    protos[i], protos[i], ~((1u << PX_BLOCK_BITS) - 1));
}

static void indent_rules(sk_buf *o, const char *body, const char *pre)
{
    for (const char *p = body; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        sk_buf_adds(o, pre);
        sk_buf_add(o, p, len);
        sk_buf_adds(o, "\n");
        p += len + (nl ? 1 : 0);
    }
}

static void elem_line(sk_buf *o, const char *verb, const char *table, size_t map, sk_buf *items)
{
    if (!items->len) return;
    sk_buf_addf(o, "%s element inet %s %s { %s }\n", verb, table, shared_maps[map], items->data);
    sk_buf_release(items);
}

/* "map|key" and value to the items of that map ("key" or "key : value"). */
static void add_item(sk_buf *items, const char *k, const char *value)
{
    const char *bar = strchr(k, '|');
    size_t m = bar ? map_index(k, (size_t)(bar - k)) : NMAPS;
    if (m == NMAPS) return;
    sk_buf *b = &items[m];
    if (b->len) sk_buf_adds(b, ", ");
    sk_buf_adds(b, bar + 1);
    if (value) sk_buf_addf(b, " : %s", value);
}

/* Endpoints-map items of one block: keys whose line differs between old
 * and new (either may be NULL). add: the new values; else: the keys. */
static void block_diff(sk_buf *items, const char *block, const json_t *old, const json_t *new, bool add)
{
    uint32_t base = (uint32_t)strtoul(block, NULL, 10) << PX_BLOCK_BITS;
    const char *o = old ? json_string_value(old) : "", *n = new ? json_string_value(new) : "";
    for (uint32_t i = 0; *o || *n; i++) {
        const char *oe = strchr(o, '\n'), *ne = strchr(n, '\n');
        size_t ol = oe ? (size_t)(oe - o) : strlen(o), nl = ne ? (size_t)(ne - n) : strlen(n);
        bool same = ol == nl && !memcmp(o, n, ol);
        if (!same && (add ? nl : ol)) {
            if (items->len) sk_buf_adds(items, ", ");
            sk_buf_addf(items, "%u", base + i);
            if (add) {
                sk_buf_adds(items, " : ");
                sk_buf_add(items, n, nl);
            }
        }
        o += ol + (oe ? 1 : 0);
        n += nl + (ne ? 1 : 0);
    }
}

static int port_cmp(const void *a, const void *b)
{
    return strcmp((*(struct px_port *const *)a)->svc_key, (*(struct px_port *const *)b)->svc_key);
}

void px_gen_full(px_gen *g, struct px_port *const *ports, size_t n, sk_buf *out)
{
    begin(g, true);
    struct px_frag_ctx ctx = {g->cidr, !g->svc_cidr, alloc_block, g};
    struct px_port **sorted = sk_calloc(n ? n : 1, sizeof *sorted);
    memcpy(sorted, ports, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, port_cmp); /* a service's ports become adjacent */
    const char *t = g->table;
    sk_buf_addf(out, "table inet %s\ndelete table inet %s\ntable inet %s {\n", t, t, t);
    base_table(g, out);
    sk_buf items[NMAPS] = {0};
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && !strcmp(sorted[j]->svc_key, sorted[i]->svc_key)) j++;
        json_t *frag = px_frag_render(&ctx, sorted + i, j - i, NULL);
        claim(g, sorted[i]->svc_key, frag);
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(frag, "s"), k, v)
            sk_buf_addf(out, "\tset %s {\n\t\t%s\n\t}\n", k, json_string_value(v));
        json_object_foreach(json_object_get(frag, "c"), k, v) {
            sk_buf_addf(out, "\tchain %s {\n", k);
            indent_rules(out, json_string_value(v), "\t\t");
            sk_buf_adds(out, "\t}\n");
        }
        json_object_foreach(json_object_get(frag, "e"), k, v) add_item(items, k, json_string_value(v));
        json_object_foreach(json_object_get(frag, "x"), k, v) block_diff(&items[EP_MAP], k, NULL, v, true);
        json_object_set_new(g->p_frags, sorted[i]->svc_key, frag);
        i = j;
    }
    sk_buf_adds(out, "}\n");
    const char *k;
    json_t *v;
    json_object_foreach(g->p_refs, k, v)
        if (json_integer_value(v) > 0) add_item(items, k, NULL);
    for (size_t m = 0; m < NMAPS; m++) elem_line(out, "add", t, m, &items[m]);
    free(sorted);
}

/* ---- incremental scripts -------------------------------------------------------------- */

static void diff_chains(px_gen *g, struct script *s, const json_t *oc, const json_t *nc)
{
    const char *t = g->table, *k;
    json_t *v;
    json_object_foreach((json_t *)nc, k, v) {
        json_t *was = json_object_get(oc, k);
        if (was && json_equal(was, v)) continue;
        if (!was) sk_buf_addf(&s->add_chains, "add chain inet %s %s\n", t, k);
        else sk_buf_addf(&s->flush, "flush chain inet %s %s\n", t, k);
        _sk_free_ char *pre = sk_printf("add rule inet %s %s ", t, k);
        indent_rules(&s->rules, json_string_value(v), pre);
    }
    json_object_foreach((json_t *)oc, k, v) {
        if (json_object_get(nc, k)) continue;
        sk_buf_addf(&s->flush, "flush chain inet %s %s\n", t, k);
        sk_buf_addf(&s->del_objs, "delete chain inet %s %s\n", t, k);
    }
}

static void diff_sets(px_gen *g, struct script *s, const json_t *os, const json_t *ns)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)ns, k, v)
        if (!json_object_get(os, k))
            sk_buf_addf(&s->add_sets, "add set inet %s %s { %s }\n", g->table, k, json_string_value(v));
    json_object_foreach((json_t *)os, k, v)
        if (!json_object_get(ns, k)) sk_buf_addf(&s->del_objs, "delete set inet %s %s\n", g->table, k);
}

static void diff_elems(struct script *s, const json_t *oe, const json_t *ne)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)oe, k, v) {
        json_t *now = json_object_get(ne, k);
        if (now && json_equal(now, v)) continue;
        add_item(s->del_elems, k, NULL); /* changed values: delete, then add */
    }
    json_object_foreach((json_t *)ne, k, v) {
        json_t *was = json_object_get(oe, k);
        if (!was || !json_equal(was, v)) add_item(s->add_elems, k, json_string_value(v));
    }
}

static void diff_blocks(struct script *s, const json_t *ox, const json_t *nx)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)ox, k, v) {
        json_t *now = json_object_get(nx, k);
        if (!now || !json_equal(now, v)) block_diff(&s->del_elems[EP_MAP], k, v, now, false);
    }
    json_object_foreach((json_t *)nx, k, v) {
        json_t *was = json_object_get(ox, k);
        if (!was || !json_equal(was, v)) block_diff(&s->add_elems[EP_MAP], k, was, v, true);
    }
}

static void release_blocks(px_gen *g, const json_t *old, const json_t *new)
{
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(old, "b"), k, v) {
        if (json_object_get(json_object_get(new, "b"), k)) continue;
        g->p_freed = sk_realloc(g->p_freed, (g->n_pfreed + 1) * sizeof *g->p_freed);
        g->p_freed[g->n_pfreed++] = (uint32_t)json_integer_value(v);
    }
}

static bool empty_frag(const json_t *f)
{
    static const char *const parts[] = {"c", "s", "e", "r", "x"};
    for (size_t i = 0; i < SK_ARRAY_LEN(parts); i++)
        if (json_object_size(json_object_get(f, parts[i]))) return false;
    return true;
}

static void emit(px_gen *g, struct script *s, sk_buf *out)
{
    const char *k;
    json_t *v;
    json_object_foreach(g->p_refs, k, v) {
        json_int_t before = json_integer_value(json_object_get(g->refs, k));
        json_int_t after = json_integer_value(v);
        if (!before && after > 0) add_item(s->add_elems, k, NULL);
        if (before > 0 && after <= 0) add_item(s->del_elems, k, NULL);
    }
    sk_buf *parts[] = {&s->add_sets, &s->add_chains, &s->flush};
    for (size_t i = 0; i < 3; i++)
        if (parts[i]->len) sk_buf_add(out, parts[i]->data, parts[i]->len);
    for (size_t m = 0; m < NMAPS; m++) elem_line(out, "delete", g->table, m, &s->del_elems[m]);
    if (s->rules.len) sk_buf_add(out, s->rules.data, s->rules.len);
    for (size_t m = 0; m < NMAPS; m++) elem_line(out, "add", g->table, m, &s->add_elems[m]);
    if (s->del_objs.len) sk_buf_add(out, s->del_objs.data, s->del_objs.len);
    sk_buf *all[] = {&s->add_sets, &s->add_chains, &s->flush, &s->rules, &s->del_objs};
    for (size_t i = 0; i < 5; i++) sk_buf_release(all[i]);
}

void px_gen_update(px_gen *g, const char *const *svc_keys, size_t nkeys,
                   struct px_port *const *ports, size_t n, sk_buf *out)
{
    if (g->need_full) return;
    begin(g, false);
    struct px_frag_ctx ctx = {g->cidr, !g->svc_cidr, alloc_block, g};
    json_t *seen = json_object();
    for (size_t i = 0; i < nkeys; i++) {
        json_t *old = json_object_get(g->applied, svc_keys[i]);
        if (json_object_get(seen, svc_keys[i])) continue;
        json_object_set_new(seen, svc_keys[i], json_true());
        if (old) release(g, svc_keys[i], old);
    }
    json_decref(seen);
    struct script s = {0};
    struct px_port **mine = sk_calloc(n ? n : 1, sizeof *mine);
    for (size_t i = 0; i < nkeys; i++) {
        const char *key = svc_keys[i];
        if (json_object_get(g->p_frags, key)) continue; /* listed twice */
        size_t m = 0;
        for (size_t j = 0; j < n; j++)
            if (!strcmp(ports[j]->svc_key, key)) mine[m++] = ports[j];
        json_t *old = json_object_get(g->applied, key);
        json_t *frag = px_frag_render(&ctx, mine, m, old);
        claim(g, key, frag);
        if (empty_frag(frag)) {
            json_decref(frag);
            frag = json_null();
        }
        if (old ? json_equal(old, frag) : json_is_null(frag)) {
            json_object_set_new(g->p_frags, key, frag); /* unchanged: nothing to write */
            continue;
        }
        diff_chains(g, &s, json_object_get(old, "c"), json_object_get(frag, "c"));
        diff_sets(g, &s, json_object_get(old, "s"), json_object_get(frag, "s"));
        diff_elems(&s, json_object_get(old, "e"), json_object_get(frag, "e"));
        diff_blocks(&s, json_object_get(old, "x"), json_object_get(frag, "x"));
        release_blocks(g, old, frag);
        json_object_set_new(g->p_frags, key, frag);
    }
    free(mine);
    emit(g, &s, out);
}

/* dst gets src's entries; null (or a count of 0) deletes. */
static void merge(json_t *dst, json_t *src)
{
    const char *k;
    json_t *v;
    json_object_foreach(src, k, v) {
        if (json_is_null(v) || (json_is_integer(v) && json_integer_value(v) <= 0)) json_object_del(dst, k);
        else json_object_set(dst, k, v);
    }
}

static void swap(json_t **a, json_t **b)
{
    json_t *t = *a;
    *a = *b;
    *b = t;
}

void px_gen_commit(px_gen *g)
{
    if (!g->pending) return;
    if (g->pending_full) {
        /* nothing pending is null or zero after a full render */
        swap(&g->applied, &g->p_frags);
        swap(&g->owners, &g->p_owners);
        swap(&g->refs, &g->p_refs);
    } else {
        merge(g->applied, g->p_frags);
        merge(g->owners, g->p_owners);
        merge(g->refs, g->p_refs);
    }
    g->free_blocks = sk_realloc(g->free_blocks, (g->n_free + g->n_pfreed + 1) * sizeof *g->free_blocks);
    if (g->n_pfreed) memcpy(g->free_blocks + g->n_free, g->p_freed, g->n_pfreed * sizeof *g->p_freed);
    g->n_free += g->n_pfreed;
    g->need_full = false;
    drop_pending(g);
}

void px_gen_abort(px_gen *g)
{
    drop_pending(g);
    g->need_full = true;
}

bool px_gen_need_full(const px_gen *g) { return g->need_full; }

void px_gen_counts(const px_gen *g, int *services, int *endpoints)
{
    const char *k;
    json_t *v;
    int s = 0, e = 0;
    json_object_foreach(g->applied, k, v) {
        s++;
        e += (int)json_integer_value(json_object_get(v, "n"));
    }
    if (services) *services = s;
    if (endpoints) *endpoints = e;
}
