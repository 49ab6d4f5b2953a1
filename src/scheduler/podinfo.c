/* Pod and node summaries for the scheduler: resource quantities, effective
 * pod requests (as upstream's resource helpers compute them), host ports,
 * and the per-node aggregates kept up to date as pods come and go so that
 * one scheduling decision costs O(nodes). */
#include "scheduler/scheduler_int.h"

#include <ctype.h>
#include <string.h>

/* ---- quantities ----------------------------------------------------------- */

#define Q_MAX_DIGITS 18
#define Q_LIMIT ((__int128)1 << 100)

static int suffix_exp(const char *s, int *e10, int *e2)
{
    static const struct { const char *s; int e10, e2; } tab[] = {
        {"", 0, 0},   {"n", -9, 0}, {"u", -6, 0}, {"m", -3, 0},  {"k", 3, 0},
        {"M", 6, 0},  {"G", 9, 0},  {"T", 12, 0}, {"P", 15, 0},  {"E", 18, 0},
        {"Ki", 0, 10}, {"Mi", 0, 20}, {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50},
        {"Ei", 0, 60},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(tab); i++)
        if (!strcmp(s, tab[i].s)) {
            *e10 = tab[i].e10;
            *e2 = tab[i].e2;
            return 0;
        }
    if (*s != 'e' && *s != 'E') return -1;
    s++;
    int sign = 1, v = 0, nd = 0;
    if (*s == '+' || *s == '-') sign = *s++ == '-' ? -1 : 1;
    for (; isdigit((unsigned char)*s) && nd < 4; s++, nd++) v = v * 10 + (*s - '0');
    if (!nd || *s) return -1;
    *e10 = sign * v;
    *e2 = 0;
    return 0;
}

int sk_sched_quantity(const char *s, int64_t scale, int64_t *out)
{
    if (!s || !*s || strlen(s) > 64 || scale <= 0) return -1;
    bool neg = false;
    if (*s == '+' || *s == '-') neg = *s++ == '-';
    __int128 m = 0;
    int frac = 0, digits = 0, nd = 0;
    bool dot = false;
    for (; *s; s++) {
        if (*s == '.' && !dot) { dot = true; continue; }
        if (!isdigit((unsigned char)*s)) break;
        nd++;
        if (m == 0 && *s == '0') { if (dot) frac++; continue; }
        if (digits >= Q_MAX_DIGITS) { if (!dot) frac--; continue; } /* keep magnitude only */
        m = m * 10 + (*s - '0');
        digits++;
        if (dot) frac++;
    }
    int e10, e2;
    if (!nd || suffix_exp(s, &e10, &e2) < 0) return -1;
    e10 -= frac;
    __int128 num = m * scale, den = 1;
    for (; e2 > 0 && num < Q_LIMIT; e2--) num *= 2;
    for (; e10 > 0 && num < Q_LIMIT; e10--) num *= 10;
    for (; e10 < 0 && den < Q_LIMIT; e10++) den *= 10;
    __int128 v = num >= Q_LIMIT ? Q_LIMIT : (num + den - 1) / den;
    if (e10 < 0 && m) v = 1; /* smaller than the smallest unit: rounds up to 1 */
    if (v > INT64_MAX) v = INT64_MAX;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

/* ---- requests --------------------------------------------------------------- */

static void scalar_add(struct sk_sched_res *r, const char *name, int64_t v, bool max)
{
    for (int i = 0; i < r->nscalar; i++)
        if (!strcmp(r->scalar[i].name, name)) {
            if (max) { if (v > r->scalar[i].v) r->scalar[i].v = v; }
            else r->scalar[i].v += v;
            return;
        }
    if (r->nscalar == SK_SCHED_MAX_SCALAR || strlen(name) >= sizeof r->scalar[0].name) return;
    snprintf(r->scalar[r->nscalar].name, sizeof r->scalar[0].name, "%s", name);
    r->scalar[r->nscalar++].v = v;
}

/* Requests of one container (or of spec.overhead when nz_defaults false). */
static void container_requests(const json_t *reqs, struct sk_sched_res *r, bool nz_defaults)
{
    memset(r, 0, sizeof *r);
    bool have_cpu = false, have_mem = false;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)reqs, k, v) {
        int64_t q;
        if (!json_is_string(v) || sk_sched_quantity(json_string_value(v), 1, &q) < 0) continue;
        if (!strcmp(k, "cpu")) {
            if (sk_sched_quantity(json_string_value(v), 1000, &r->cpu_m) < 0) continue;
            have_cpu = true;
        } else if (!strcmp(k, "memory")) {
            r->mem = q;
            have_mem = true;
        } else if (!strcmp(k, "ephemeral-storage")) {
            r->eph = q;
        } else {
            scalar_add(r, k, q, false);
        }
    }
    r->nz_cpu_m = have_cpu || !nz_defaults ? r->cpu_m : SK_SCHED_DEFAULT_MILLI_CPU;
    r->nz_mem = have_mem || !nz_defaults ? r->mem : SK_SCHED_DEFAULT_MEMORY;
}

void sk_sched_res_add(struct sk_sched_res *a, const struct sk_sched_res *b, int sign)
{
    a->cpu_m += sign * b->cpu_m;
    a->mem += sign * b->mem;
    a->eph += sign * b->eph;
    a->nz_cpu_m += sign * b->nz_cpu_m;
    a->nz_mem += sign * b->nz_mem;
    for (int i = 0; i < b->nscalar; i++) scalar_add(a, b->scalar[i].name, sign * b->scalar[i].v, false);
}

static void res_max(struct sk_sched_res *a, const struct sk_sched_res *b)
{
#define MAXF(f) if (b->f > a->f) a->f = b->f
    MAXF(cpu_m); MAXF(mem); MAXF(eph); MAXF(nz_cpu_m); MAXF(nz_mem);
#undef MAXF
    for (int i = 0; i < b->nscalar; i++) scalar_add(a, b->scalar[i].name, b->scalar[i].v, true);
}

void sk_sched_pod_requests(const json_t *pod, struct sk_sched_res *r)
{
    const json_t *spec = json_object_get(pod, "spec");
    struct sk_sched_res c, sidecars = {0}, init_max = {0};
    json_t *ct;
    size_t i;
    memset(r, 0, sizeof *r);
    json_array_foreach(json_object_get(spec, "containers"), i, ct) {
        container_requests(sk_json_path(ct, "resources.requests"), &c, true);
        sk_sched_res_add(r, &c, 1);
    }
    /* Init containers run one at a time, each next to the sidecars
     * (restartPolicy Always) started before it; sidecars keep running. */
    json_array_foreach(json_object_get(spec, "initContainers"), i, ct) {
        container_requests(sk_json_path(ct, "resources.requests"), &c, true);
        const char *rp = sk_json_str(ct, "restartPolicy");
        if (rp && !strcmp(rp, "Always")) {
            sk_sched_res_add(r, &c, 1);
            sk_sched_res_add(&sidecars, &c, 1);
        } else {
            sk_sched_res_add(&c, &sidecars, 1);
            res_max(&init_max, &c);
        }
    }
    res_max(r, &init_max);
    const json_t *oh = json_object_get(spec, "overhead");
    if (json_is_object(oh)) {
        container_requests(oh, &c, false);
        sk_sched_res_add(r, &c, 1);
    }
}

int sk_sched_pod_ports(const json_t *pod, struct sk_sched_port *out, int max)
{
    int n = 0;
    json_t *ct, *p;
    size_t i, j;
    json_array_foreach(sk_json_path(pod, "spec.containers"), i, ct) {
        json_array_foreach(json_object_get(ct, "ports"), j, p) {
            json_int_t hp = json_integer_value(json_object_get(p, "hostPort"));
            if (hp <= 0 || hp > 65535 || n == max) continue;
            const char *proto = sk_json_str(p, "protocol"), *ip = sk_json_str(p, "hostIP");
            snprintf(out[n].proto, sizeof out[n].proto, "%s", proto && *proto ? proto : "TCP");
            snprintf(out[n].ip, sizeof out[n].ip, "%s", ip && *ip ? ip : "0.0.0.0");
            out[n++].port = (int)hp;
        }
    }
    return n;
}

/* ---- pod summary -------------------------------------------------------------- */

static const char *controller_uid(const json_t *pod)
{
    json_t *ref;
    size_t i;
    json_array_foreach(sk_json_path(pod, "metadata.ownerReferences"), i, ref)
        if (json_is_true(json_object_get(ref, "controller"))) return sk_json_str(ref, "uid");
    return NULL;
}

void sk_sched_pod_init(struct sk_sched_pod *p, const json_t *pod)
{
    memset(p, 0, sizeof *p);
    const json_t *spec = json_object_get(pod, "spec");
    p->obj = pod;
    p->ns = sk_json_path_str(pod, "metadata.namespace");
    p->name = sk_json_path_str(pod, "metadata.name");
    p->node_name = sk_json_str(spec, "nodeName");
    p->owner_uid = controller_uid(pod);
    p->labels = sk_json_path(pod, "metadata.labels");
    p->tolerations = json_object_get(spec, "tolerations");
    p->node_selector = json_object_get(spec, "nodeSelector");
    p->node_affinity = sk_json_path(spec, "affinity.nodeAffinity");
    const char *pp = sk_json_str(spec, "preemptionPolicy");
    p->preempt_never = pp && !strcmp(pp, "Never");
    sk_sched_pod_requests(pod, &p->req);
    p->nports = sk_sched_pod_ports(pod, p->ports, SK_SCHED_MAX_PORTS);
}

void sk_sched_pod_release(struct sk_sched_pod *p)
{
    struct sk_sched_topo *sets[] = {p->anti, p->aff, p->existing};
    int counts[] = {p->nanti, p->naff, p->nexisting};
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < counts[s]; i++) {
            json_decref(sets[s][i].values);
            sk_selector_free(sets[s][i].sel);
        }
    p->nanti = p->naff = p->nexisting = 0;
}

/* ---- node summary ------------------------------------------------------------- */

static int64_t alloc_value(const json_t *alloc, const char *name, int64_t scale)
{
    int64_t v = 0;
    const char *s = sk_json_str(alloc, name);
    if (!s || sk_sched_quantity(s, scale, &v) < 0) return 0;
    return v;
}

void sk_sched_node_set(struct sk_sched_node *n, json_t *obj)
{
    json_incref(obj);
    json_decref(n->obj);
    free(n->taints);
    n->obj = obj;
    n->taints = NULL;
    n->ntaints = 0;
    n->labels = sk_json_path(obj, "metadata.labels");
    const json_t *alloc = sk_json_path(obj, "status.allocatable");
    if (!json_is_object(alloc)) alloc = sk_json_path(obj, "status.capacity");
    n->allocatable = alloc;
    n->alloc_cpu_m = alloc_value(alloc, "cpu", 1000);
    n->alloc_mem = alloc_value(alloc, "memory", 1);
    n->alloc_eph = alloc_value(alloc, "ephemeral-storage", 1);
    n->alloc_pods = alloc_value(alloc, "pods", 1);
    n->unschedulable = json_is_true(sk_json_path(obj, "spec.unschedulable"));
    const json_t *taints = sk_json_path(obj, "spec.taints");
    size_t nt = json_array_size(taints), i;
    json_t *t;
    if (nt) n->taints = sk_calloc(nt, sizeof *n->taints);
    json_array_foreach(taints, i, t) {
        const char *k = sk_json_str(t, "key"), *e = sk_json_str(t, "effect");
        if (!k || !e) continue;
        const char *v = sk_json_str(t, "value");
        n->taints[n->ntaints++] = (struct sk_sched_taint){k, v ? v : "", e};
    }
}

void sk_sched_node_release(struct sk_sched_node *n)
{
    json_decref(n->obj);
    free(n->taints);
    free(n->ports);
    free(n->pods);
    free(n->name);
    memset(n, 0, sizeof *n);
}

void sk_sched_node_account(struct sk_sched_node *n, const struct sk_sched_res *r,
                           const struct sk_sched_port *ports, int nports, int sign)
{
    sk_sched_res_add(&n->used, r, sign);
    n->npods += sign;
    for (int i = 0; i < nports; i++) {
        if (sign > 0) {
            if (n->nports == n->cap_ports) {
                n->cap_ports = n->cap_ports ? 2 * n->cap_ports : 8;
                n->ports = sk_realloc(n->ports, n->cap_ports * sizeof *n->ports);
            }
            n->ports[n->nports++] = ports[i];
            continue;
        }
        for (int j = 0; j < n->nports; j++)
            if (n->ports[j].port == ports[i].port && !strcmp(n->ports[j].proto, ports[i].proto) &&
                !strcmp(n->ports[j].ip, ports[i].ip)) {
                n->ports[j] = n->ports[--n->nports];
                break;
            }
    }
}

/* ---- trimming for the informer cache -------------------------------------------- */

static void copy_keys(json_t *dst, const json_t *src, const char *const *keys)
{
    for (; *keys; keys++) {
        json_t *v = json_object_get(src, *keys);
        if (v) json_object_set(dst, *keys, v);
    }
}

/* dst[key] = the shared copy of v (taken). */
static void set_shared(json_t *dst, const char *key, json_t *v)
{
    json_object_set_new(dst, key, sk_json_intern(v));
    json_decref(v);
}

static json_t *trim_containers(const json_t *cs, bool init)
{
    json_t *out = json_array(), *c;
    size_t i;
    json_array_foreach(cs, i, c) {
        json_t *t = json_object();
        static const char *const keys[] = {"name", "image", "restartPolicy", NULL};
        copy_keys(t, c, keys);
        json_t *req = sk_json_path(c, "resources.requests");
        if (req) json_object_set_new(t, "resources", json_pack("{s:O}", "requests", req));
        json_t *ports = json_object_get(c, "ports");
        if (!init && json_array_size(ports)) json_object_set(t, "ports", ports);
        json_array_append_new(out, t);
    }
    return out;
}

json_t *sk_sched_trim_pod(const json_t *pod)
{
    static const char *const top[] = {"apiVersion", "kind", NULL};
    static const char *const meta[] = {"name", "namespace", "uid", "resourceVersion", "labels",
                                       "creationTimestamp", "deletionTimestamp", NULL};
    static const char *const spec[] = {"nodeName", "schedulerName", "priority", "preemptionPolicy",
                                       "tolerations", "nodeSelector", "affinity", "overhead", NULL};
    json_t *out = json_object(), *m = json_object(), *s = json_object(), *st = json_object();
    const json_t *pm = json_object_get(pod, "metadata"), *ps = json_object_get(pod, "spec");
    copy_keys(out, pod, top);
    copy_keys(m, pm, meta);
    const json_t *ref = NULL;
    json_t *r;
    size_t i;
    json_array_foreach(json_object_get(pm, "ownerReferences"), i, r)
        if (json_is_true(json_object_get(r, "controller"))) ref = r;
    if (ref) set_shared(m, "ownerReferences", json_pack("[O]", ref));
    copy_keys(s, ps, spec);
    set_shared(s, "containers", trim_containers(json_object_get(ps, "containers"), false));
    if (json_object_get(ps, "initContainers"))
        set_shared(s, "initContainers", trim_containers(json_object_get(ps, "initContainers"), true));
    /* the pods of one owner repeat these: one shared copy (sk_json_intern) */
    static const char *const shared_meta[] = {"labels", NULL};
    static const char *const shared_spec[] = {"tolerations", "nodeSelector", "affinity", NULL};
    for (const char *const *k = shared_meta; *k; k++)
        if (json_object_get(m, *k)) set_shared(m, *k, json_incref(json_object_get(m, *k)));
    for (const char *const *k = shared_spec; *k; k++)
        if (json_object_get(s, *k)) set_shared(s, *k, json_incref(json_object_get(s, *k)));
    json_t *phase = sk_json_path(pod, "status.phase"), *c;
    if (phase) json_object_set(st, "phase", phase);
    json_array_foreach(sk_json_path(pod, "status.conditions"), i, c) {
        const char *t = sk_json_str(c, "type");
        if (t && !strcmp(t, "PodScheduled")) json_object_set_new(st, "conditions", json_pack("[O]", c));
    }
    json_object_set_new(out, "metadata", m);
    json_object_set_new(out, "spec", s);
    json_object_set_new(out, "status", st);
    return out;
}
