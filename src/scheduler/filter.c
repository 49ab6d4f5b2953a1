/* Filter plugins, in upstream's default order (v1.32): NodeUnschedulable,
 * NodeName, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit,
 * InterPodAffinity. Reasons and codes (resolvable by preemption or not)
 * are upstream's, because the FailedScheduling text is built from them.
 *
 * Partial: a non-empty namespaceSelector in a pod (anti-)affinity term is
 * not evaluated (namespace labels are not watched); only the explicit
 * namespaces list counts then. */
#include "scheduler/scheduler_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char R_UNSCHEDULABLE[] = "node(s) were unschedulable";
static const char R_NODE_NAME[] = "node(s) didn't match the requested node name";
static const char R_AFFINITY[] = "node(s) didn't match Pod's node affinity/selector";
static const char R_PORTS[] = "node(s) didn't have free ports for the requested pod ports";
static const char R_POD_AFF[] = "node(s) didn't match pod affinity rules";
static const char R_POD_ANTI[] = "node(s) didn't match pod anti-affinity rules";
static const char R_EXISTING_ANTI[] = "node(s) didn't satisfy existing pods anti-affinity rules";

static void reason(struct sk_sched_status *st, bool unresolvable, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reason(struct sk_sched_status *st, bool unresolvable, const char *fmt, ...)
{
    if (unresolvable) st->unresolvable = true;
    if (st->n == SK_SCHED_MAX_REASONS) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->reasons[st->n++], sizeof st->reasons[0], fmt, ap);
    va_end(ap);
}

/* ---- tolerations ------------------------------------------------------------ */

bool sk_sched_tolerates(const json_t *tol, const char *key, const char *value, const char *effect)
{
    const char *te = sk_json_str(tol, "effect"), *tk = sk_json_str(tol, "key");
    const char *op = sk_json_str(tol, "operator"), *tv = sk_json_str(tol, "value");
    if (te && *te && strcmp(te, effect)) return false;
    bool exists = op && !strcmp(op, "Exists");
    if (!tk || !*tk) return exists; /* empty key tolerates everything, with Exists only */
    if (strcmp(tk, key)) return false;
    if (exists) return true;
    if (op && *op && strcmp(op, "Equal")) return false;
    return !strcmp(tv ? tv : "", value ? value : "");
}

bool sk_sched_tolerated(const json_t *tolerations, const char *key, const char *value,
                        const char *effect)
{
    json_t *t;
    size_t i;
    json_array_foreach(tolerations, i, t) if (sk_sched_tolerates(t, key, value, effect)) return true;
    return false;
}

/* ---- node affinity ------------------------------------------------------------- */

static bool parse_i64(const char *s, long long *out)
{
    char *end;
    if (!s || !*s) return false;
    errno = 0;
    *out = strtoll(s, &end, 10);
    return !errno && !*end;
}

static bool in_values(const json_t *vals, const char *v)
{
    json_t *x;
    size_t i;
    json_array_foreach(vals, i, x) if (json_is_string(x) && !strcmp(json_string_value(x), v)) return true;
    return false;
}

/* NodeSelectorRequirement against a value (NULL = label absent). */
static bool requirement_match(const json_t *req, const char *v)
{
    const char *op = sk_json_str(req, "operator");
    const json_t *vals = json_object_get(req, "values");
    long long a, b;
    if (!op) return false;
    if (!strcmp(op, "In")) return v && in_values(vals, v);
    if (!strcmp(op, "NotIn")) return !v || !in_values(vals, v);
    if (!strcmp(op, "Exists")) return v != NULL;
    if (!strcmp(op, "DoesNotExist")) return v == NULL;
    if (strcmp(op, "Gt") && strcmp(op, "Lt")) return false;
    if (!v || json_array_size(vals) != 1 || !parse_i64(v, &a) ||
        !parse_i64(json_string_value(json_array_get(vals, 0)), &b))
        return false;
    return op[0] == 'G' ? a > b : a < b;
}

bool sk_sched_term_match(const json_t *term, const json_t *labels, const char *node_name)
{
    const json_t *exprs = json_object_get(term, "matchExpressions");
    const json_t *fields = json_object_get(term, "matchFields");
    json_t *r;
    size_t i;
    /* An empty term selects nothing. */
    if (!json_array_size(exprs) && !json_array_size(fields)) return false;
    json_array_foreach(exprs, i, r) {
        const char *k = sk_json_str(r, "key");
        if (!k || !requirement_match(r, sk_json_str(labels, k))) return false;
    }
    json_array_foreach(fields, i, r) {
        const char *k = sk_json_str(r, "key"), *op = sk_json_str(r, "operator");
        /* Only metadata.name with In/NotIn is a valid field requirement. */
        if (!k || strcmp(k, "metadata.name") || !op || (strcmp(op, "In") && strcmp(op, "NotIn")))
            return false;
        if (!requirement_match(r, node_name)) return false;
    }
    return true;
}

bool sk_sched_node_affinity_ok(const struct sk_sched_pod *p, const struct sk_sched_node *n)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)p->node_selector, k, v) {
        const char *have = sk_json_str(n->labels, k);
        if (!have || !json_is_string(v) || strcmp(have, json_string_value(v))) return false;
    }
    const json_t *req = json_object_get(p->node_affinity, "requiredDuringSchedulingIgnoredDuringExecution");
    if (!json_is_object(req)) return true;
    json_t *t;
    size_t i;
    json_array_foreach(json_object_get(req, "nodeSelectorTerms"), i, t)
        if (sk_sched_term_match(t, n->labels, n->name)) return true;
    return false;
}

/* ---- pod (anti-)affinity ------------------------------------------------------- */

static bool term_namespace_ok(const json_t *term, const char *owner_ns, const char *ns)
{
    const json_t *nss = json_object_get(term, "namespaces");
    const json_t *nssel = json_object_get(term, "namespaceSelector");
    if (json_array_size(nss) && in_values(nss, ns ? ns : "")) return true;
    if (json_is_object(nssel)) return json_object_size(nssel) == 0; /* {} = all namespaces */
    if (json_array_size(nss)) return false;
    return owner_ns && ns && !strcmp(owner_ns, ns);
}

static bool term_match_sel(const json_t *term, const sk_selector *sel, const char *owner_ns,
                           const char *ns, const json_t *labels)
{
    return sel && term_namespace_ok(term, owner_ns, ns) && sk_selector_match(sel, labels);
}

static sk_selector *term_selector(const json_t *term)
{
    const json_t *ls = json_object_get(term, "labelSelector");
    sk_err err = SK_ERR_INIT;
    if (!json_is_object(ls)) return NULL; /* a nil selector matches no pods */
    sk_selector *sel = sk_selector_from_json(ls, &err);
    sk_err_clear(&err);
    return sel;
}

bool sk_sched_affinity_term_match(const json_t *term, const char *owner_ns, const char *ns,
                                  const json_t *labels)
{
    sk_selector *sel = term_selector(term);
    bool ok = term_match_sel(term, sel, owner_ns, ns, labels);
    sk_selector_free(sel);
    return ok;
}

static const json_t *required_terms(const json_t *pod, const char *kind)
{
    const json_t *aff = sk_json_path(pod, "spec.affinity");
    return json_object_get(json_object_get(aff, kind), "requiredDuringSchedulingIgnoredDuringExecution");
}

bool sk_sched_has_anti_affinity(const json_t *pod)
{
    return json_array_size(required_terms(pod, "podAntiAffinity")) > 0;
}

static int load_terms(const json_t *terms, struct sk_sched_topo *out)
{
    int n = 0;
    json_t *t;
    size_t i;
    json_array_foreach(terms, i, t) {
        const char *key = sk_json_str(t, "topologyKey");
        if (!key || !*key || n == SK_SCHED_MAX_TERMS) continue;
        out[n] = (struct sk_sched_topo){.topology_key = key, .term = t, .sel = term_selector(t),
                                        .values = json_object()};
        n++;
    }
    return n;
}

bool sk_sched_topo_begin(struct sk_sched_pod *p)
{
    sk_sched_pod_release(p);
    p->nanti = load_terms(required_terms(p->obj, "podAntiAffinity"), p->anti);
    p->naff = load_terms(required_terms(p->obj, "podAffinity"), p->aff);
    bool self = p->naff > 0;
    for (int i = 0; i < p->naff; i++)
        if (!term_match_sel(p->aff[i].term, p->aff[i].sel, p->ns, p->ns, p->labels)) self = false;
    for (int i = 0; i < p->naff; i++) p->aff[i].self_match = self;
    return p->nanti || p->naff;
}

static void topo_add(struct sk_sched_topo *t, const json_t *node_labels)
{
    const char *v = sk_json_str(node_labels, t->topology_key);
    if (v) json_object_set_new(t->values, v, json_true());
}

static void observe_existing(struct sk_sched_pod *p, const json_t *other, const json_t *node_labels)
{
    const char *ons = sk_json_path_str(other, "metadata.namespace");
    json_t *t;
    size_t i;
    json_array_foreach(required_terms(other, "podAntiAffinity"), i, t) {
        const char *key = sk_json_str(t, "topologyKey");
        if (!key || !*key || !sk_sched_affinity_term_match(t, ons, p->ns, p->labels)) continue;
        int j;
        for (j = 0; j < p->nexisting; j++)
            if (!strcmp(p->existing[j].topology_key, key)) break;
        if (j == p->nexisting) {
            if (j == SK_SCHED_MAX_TERMS) continue;
            p->existing[p->nexisting++] = (struct sk_sched_topo){.topology_key = key, .term = t,
                                                                 .values = json_object()};
        }
        topo_add(&p->existing[j], node_labels);
    }
}

void sk_sched_topo_observe(struct sk_sched_pod *p, const json_t *other, const json_t *node_labels)
{
    const char *ons = sk_json_path_str(other, "metadata.namespace");
    const json_t *olabels = sk_json_path(other, "metadata.labels");
    for (int i = 0; i < p->nanti; i++)
        if (term_match_sel(p->anti[i].term, p->anti[i].sel, p->ns, ons, olabels))
            topo_add(&p->anti[i], node_labels);
    bool all = p->naff > 0;
    for (int i = 0; i < p->naff && all; i++)
        if (!term_match_sel(p->aff[i].term, p->aff[i].sel, p->ns, ons, olabels)) all = false;
    for (int i = 0; all && i < p->naff; i++) {
        p->aff[i].any = true;
        topo_add(&p->aff[i], node_labels);
    }
    observe_existing(p, other, node_labels);
}

static bool in_domain(const struct sk_sched_topo *t, const json_t *labels)
{
    const char *v = sk_json_str(labels, t->topology_key);
    return v && json_object_get(t->values, v);
}

static void inter_pod_affinity(const struct sk_sched_pod *p, const struct sk_sched_node *n,
                               struct sk_sched_status *st)
{
    bool exist = true;
    for (int i = 0; i < p->naff; i++) {
        if (!sk_json_str(n->labels, p->aff[i].topology_key)) {
            reason(st, true, "%s", R_POD_AFF); /* every topology label must exist */
            return;
        }
        if (!in_domain(&p->aff[i], n->labels)) exist = false;
    }
    /* The first pod of a group with affinity to itself may go anywhere. */
    if (!exist && !(p->naff && !p->aff[0].any && p->aff[0].self_match)) {
        reason(st, true, "%s", R_POD_AFF);
        return;
    }
    for (int i = 0; i < p->nanti; i++)
        if (in_domain(&p->anti[i], n->labels)) {
            reason(st, false, "%s", R_POD_ANTI);
            return;
        }
    for (int i = 0; i < p->nexisting; i++)
        if (in_domain(&p->existing[i], n->labels)) {
            reason(st, false, "%s", R_EXISTING_ANTI);
            return;
        }
}

/* ---- resources and ports ---------------------------------------------------------- */

static void check_res(struct sk_sched_status *st, const char *name, int64_t req, int64_t alloc,
                      int64_t used)
{
    if (req > 0 && req > alloc - used) reason(st, req > alloc, "Insufficient %s", name);
}

static void resources_fit(const struct sk_sched_pod *p, const struct sk_sched_node *n,
                          struct sk_sched_status *st)
{
    const struct sk_sched_res *r = &p->req;
    if (n->npods + 1 > n->alloc_pods) reason(st, false, "Too many pods");
    if (!r->cpu_m && !r->mem && !r->eph && !r->nscalar) return;
    check_res(st, "cpu", r->cpu_m, n->alloc_cpu_m, n->used.cpu_m);
    check_res(st, "memory", r->mem, n->alloc_mem, n->used.mem);
    check_res(st, "ephemeral-storage", r->eph, n->alloc_eph, n->used.eph);
    for (int i = 0; i < r->nscalar; i++) {
        int64_t alloc = 0, used = 0;
        const char *a = sk_json_str(n->allocatable, r->scalar[i].name);
        if (a && sk_sched_quantity(a, 1, &alloc) < 0) alloc = 0;
        for (int j = 0; j < n->used.nscalar; j++)
            if (!strcmp(n->used.scalar[j].name, r->scalar[i].name)) used = n->used.scalar[j].v;
        check_res(st, r->scalar[i].name, r->scalar[i].v, alloc, used);
    }
}

static bool ports_conflict(const struct sk_sched_pod *p, const struct sk_sched_node *n)
{
    for (int i = 0; i < p->nports; i++)
        for (int j = 0; j < n->nports; j++) {
            const struct sk_sched_port *a = &p->ports[i], *b = &n->ports[j];
            if (a->port != b->port || strcmp(a->proto, b->proto)) continue;
            if (!strcmp(a->ip, "0.0.0.0") || !strcmp(b->ip, "0.0.0.0") || !strcmp(a->ip, b->ip))
                return true;
        }
    return false;
}

/* ---- the chain ------------------------------------------------------------------------ */

bool sk_sched_filter(const struct sk_sched_pod *p, const struct sk_sched_node *n,
                     struct sk_sched_status *st)
{
    memset(st, 0, sizeof *st);
    if (n->unschedulable &&
        !sk_sched_tolerated(p->tolerations, "node.kubernetes.io/unschedulable", "", "NoSchedule")) {
        reason(st, true, "%s", R_UNSCHEDULABLE);
        return false;
    }
    if (p->node_name && *p->node_name && strcmp(p->node_name, n->name)) {
        reason(st, true, "%s", R_NODE_NAME);
        return false;
    }
    for (int i = 0; i < n->ntaints; i++) {
        const struct sk_sched_taint *t = &n->taints[i];
        if (strcmp(t->effect, "NoSchedule") && strcmp(t->effect, "NoExecute")) continue;
        if (!sk_sched_tolerated(p->tolerations, t->key, t->value, t->effect)) {
            reason(st, true, "node(s) had untolerated taint {%s: %s}", t->key, t->value);
            return false;
        }
    }
    if (!sk_sched_node_affinity_ok(p, n)) {
        reason(st, true, "%s", R_AFFINITY);
        return false;
    }
    if (ports_conflict(p, n)) {
        reason(st, false, "%s", R_PORTS);
        return false;
    }
    resources_fit(p, n, st);
    if (st->n) return false;
    inter_pod_affinity(p, n, st);
    return st->n == 0;
}

/* ---- FitError ----------------------------------------------------------------------------- */

void sk_sched_diag_add(struct sk_sched_diag *d, const struct sk_sched_status *st)
{
    if (!st->unresolvable) d->resolvable_nodes++;
    for (int i = 0; i < st->n; i++) {
        int j;
        for (j = 0; j < d->nreasons; j++)
            if (!strcmp(d->r[j].reason, st->reasons[i])) break;
        if (j == d->nreasons) {
            if (j == (int)SK_ARRAY_LEN(d->r)) continue;
            snprintf(d->r[j].reason, sizeof d->r[j].reason, "%s", st->reasons[i]);
            d->r[j].count = 0;
            d->nreasons++;
        }
        d->r[j].count++;
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "N reason" strings sorted as strings, as Go's sort.Strings does. */
static void add_histogram(sk_buf *b, char **items, int n)
{
    qsort(items, n, sizeof *items, cmp_str);
    for (int i = 0; i < n; i++) {
        sk_buf_addf(b, "%s%s", i ? ", " : " ", items[i]);
        free(items[i]);
    }
    sk_buf_adds(b, ".");
}

char *sk_sched_diag_message(const struct sk_sched_diag *d, bool preempt_never)
{
    if (d->nnodes == 0) return sk_strdup("no nodes available to schedule pods");
    sk_buf b = SK_BUF_INIT;
    char *items[SK_ARRAY_LEN(d->r)];
    sk_buf_addf(&b, "0/%d nodes are available:", d->nnodes);
    for (int i = 0; i < d->nreasons; i++) items[i] = sk_printf("%d %s", d->r[i].count, d->r[i].reason);
    add_histogram(&b, items, d->nreasons);
    /* No preemption is implemented: nodes where it might help report that
     * no victims were found, as upstream does when no pod has a lower
     * priority. */
    if (preempt_never) {
        sk_buf_adds(&b, " preemption: not eligible due to preemptionPolicy=Never.");
        return sk_buf_take(&b);
    }
    int n = 0, unres = d->nnodes - d->resolvable_nodes;
    sk_buf_addf(&b, " preemption: 0/%d nodes are available:", d->nnodes);
    if (d->resolvable_nodes > 0)
        items[n++] = sk_printf("%d No preemption victims found for incoming pod", d->resolvable_nodes);
    if (unres > 0) items[n++] = sk_printf("%d Preemption is not helpful for scheduling", unres);
    add_histogram(&b, items, n);
    return sk_buf_take(&b);
}
