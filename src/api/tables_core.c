/* Server-side Tables: the generic builder, shared cell helpers and the row
 * functions of core/v1 kinds. Columns and cell semantics follow upstream's
 * printers (pkg/printers/internalversion); the server always prints the
 * wide (priority 1) cells too and kubectl chooses what to show. */
#include "api/registry_int.h"

#include <stdio.h>
#include <string.h>

#define D_NAME "Name must be unique within a namespace."
#define D_AGE "CreationTimestamp is a timestamp representing the server time when this object was created."
#define NAME_COL {"Name", "string", "name", 0, D_NAME}
#define AGE_COL {"Age", "string", "", 0, D_AGE}

/* ---- cell helpers --------------------------------------------------------- */

void sk_cell_str(json_t *cells, const char *s) { json_array_append_new(cells, json_string(s ? s : "")); }

void sk_cell_int(json_t *cells, json_int_t v) { json_array_append_new(cells, json_integer(v)); }

json_int_t sk_path_int(const json_t *obj, const char *path, json_int_t dflt)
{
    json_t *v = sk_json_path(obj, path);
    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

void sk_age_of(const char *ts, int64_t now, char *out, size_t n)
{
    int64_t t = ts ? sk_time_parse(ts) : -1;
    if (t < 0) snprintf(out, n, "<unknown>");
    else sk_duration_human(now - t, out, n);
}

void sk_cell_age(json_t *cells, const json_t *obj, int64_t now)
{
    char age[32];
    sk_age_of(sk_json_path_str(obj, "metadata.creationTimestamp"), now, age, sizeof age);
    sk_cell_str(cells, age);
}

void sk_cell_containers(json_t *cells, const json_t *podspec)
{
    sk_buf names = SK_BUF_INIT, images = SK_BUF_INIT;
    json_t *cs = json_object_get(podspec, "containers");
    size_t i;
    json_t *c;
    json_array_foreach(cs, i, c) {
        const char *nm = sk_json_str(c, "name"), *im = sk_json_str(c, "image");
        if (i) { sk_buf_adds(&names, ","); sk_buf_adds(&images, ","); }
        sk_buf_adds(&names, nm ? nm : "");
        sk_buf_adds(&images, im ? im : "");
    }
    sk_cell_str(cells, names.data);
    sk_cell_str(cells, images.data);
    sk_buf_release(&names);
    sk_buf_release(&images);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keys of a JSON object, sorted (borrowed strings; caller frees the array). */
static const char **sorted_keys(const json_t *obj, size_t *n)
{
    *n = json_object_size(obj);
    const char **keys = sk_calloc(*n ? *n : 1, sizeof *keys);
    const char *k;
    json_t *v;
    size_t i = 0;
    json_object_foreach((json_t *)obj, k, v) keys[i++] = k;
    qsort(keys, *n, sizeof *keys, cmp_str);
    return keys;
}

char *sk_format_labels(const json_t *map)
{
    size_t n;
    if (!json_is_object(map) || !json_object_size(map)) return sk_strdup("<none>");
    _sk_free_ const char **keys = sorted_keys(map, &n);
    sk_buf b = SK_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        const char *v = sk_json_str(map, keys[i]);
        sk_buf_addf(&b, "%s%s=%s", i ? "," : "", keys[i], v ? v : "");
    }
    return sk_buf_take(&b);
}

/* One requirement of the selector, with the key it sorts by. */
struct req {
    const char *key;
    char *text;
};

static int cmp_req(const void *a, const void *b)
{
    return strcmp(((const struct req *)a)->key, ((const struct req *)b)->key);
}

static char *format_expr(const json_t *e)
{
    const char *key = sk_json_str(e, "key"), *op = sk_json_str(e, "operator");
    json_t *vals = json_object_get(e, "values");
    if (!key || !op) return NULL;
    if (!strcmp(op, "Exists")) return sk_strdup(key);
    if (!strcmp(op, "DoesNotExist")) return sk_printf("!%s", key);
    bool in = !strcmp(op, "In");
    if (!in && strcmp(op, "NotIn")) return NULL;
    size_t nv = json_array_size(vals), i;
    const char **vs = sk_calloc(nv ? nv : 1, sizeof *vs);
    json_t *v;
    json_array_foreach(vals, i, v) vs[i] = json_is_string(v) ? json_string_value(v) : "";
    qsort(vs, nv, sizeof *vs, cmp_str);
    sk_buf b = SK_BUF_INIT;
    sk_buf_addf(&b, "%s %s (", key, in ? "in" : "notin");
    for (i = 0; i < nv; i++) sk_buf_addf(&b, "%s%s", i ? "," : "", vs[i]);
    sk_buf_adds(&b, ")");
    free(vs);
    return sk_buf_take(&b);
}

char *sk_format_label_selector(const json_t *sel)
{
    json_t *ml = json_object_get(sel, "matchLabels"), *me = json_object_get(sel, "matchExpressions");
    size_t n = json_object_size(ml) + json_array_size(me), k = 0, i;
    if (!n) return sk_strdup("");
    struct req *rs = sk_calloc(n, sizeof *rs);
    const char *key;
    json_t *v;
    bool bad = false;
    json_object_foreach(ml, key, v) {
        rs[k].key = key;
        rs[k++].text = sk_printf("%s=%s", key, json_is_string(v) ? json_string_value(v) : "");
    }
    json_array_foreach(me, i, v) {
        char *t = format_expr(v);
        if (!t) { bad = true; continue; }
        rs[k].key = sk_json_str(v, "key");
        rs[k++].text = t;
    }
    qsort(rs, k, sizeof *rs, cmp_req);
    sk_buf b = SK_BUF_INIT;
    for (i = 0; i < k; i++) {
        sk_buf_addf(&b, "%s%s", i ? "," : "", rs[i].text);
        free(rs[i].text);
    }
    free(rs);
    if (bad) { sk_buf_release(&b); return sk_strdup("<error>"); }
    return b.data ? sk_buf_take(&b) : sk_strdup("");
}

/* ---- the Table ------------------------------------------------------------ */

static const struct sk_column default_cols[] = {
    NAME_COL,
    {"Created At", "date", "", 0, "CreationTimestamp is a timestamp representing the server time when this object was created."},
};

json_t *sk_table_columns(const struct sk_resource *r)
{
    const struct sk_column *cols = r->columns ? r->columns : default_cols;
    size_t n = r->columns ? r->ncolumns : SK_ARRAY_LEN(default_cols);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:i}", "name", cols[i].name,
                                             "type", cols[i].type, "format", cols[i].format,
                                             "description", cols[i].desc ? cols[i].desc : "",
                                             "priority", cols[i].priority));
    return arr;
}

static void default_row(const json_t *obj, json_t *cells)
{
    const char *ts = sk_json_path_str(obj, "metadata.creationTimestamp");
    sk_cell_str(cells, sk_json_path_str(obj, "metadata.name"));
    /* A zero time formats as Go's zero time, as upstream does. */
    sk_cell_str(cells, ts && *ts ? ts : "0001-01-01T00:00:00Z");
}

static json_t *partial_metadata(const json_t *obj)
{
    json_t *md = json_object_get(obj, "metadata");
    json_t *copy = json_is_object(md) ? json_deep_copy(md) : json_object();
    json_object_del(copy, "managedFields");
    return json_pack("{s:s,s:s,s:o}", "kind", "PartialObjectMetadata", "apiVersion",
                     "meta.k8s.io/v1", "metadata", copy);
}

json_t *sk_table(const struct sk_resource *r, const json_t *const *objs, size_t n,
                 bool include_columns, int64_t now)
{
    json_t *rows = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *cells = json_array();
        if (r->row && r->columns) r->row(r, objs[i], cells, now);
        else default_row(objs[i], cells);
        json_array_append_new(rows, json_pack("{s:o,s:o}", "cells", cells, "object",
                                              partial_metadata(objs[i])));
    }
    return json_pack("{s:s,s:s,s:{},s:o,s:o}", "kind", "Table", "apiVersion", "meta.k8s.io/v1",
                     "metadata", "columnDefinitions",
                     include_columns ? sk_table_columns(r) : json_null(), "rows", rows);
}

/* ---- pods ----------------------------------------------------------------- */

const struct sk_column sk_cols_pod[SK_NCOLS_POD] = {
    NAME_COL,
    {"Ready", "string", "", 0, "The aggregate readiness state of this pod for accepting traffic."},
    {"Status", "string", "", 0, "The aggregate status of the containers in this pod."},
    {"Restarts", "string", "", 0, "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."},
    AGE_COL,
    {"IP", "string", "", 1, "podIP address allocated to the pod. Routable at least within the cluster."},
    {"Node", "string", "", 1, "NodeName indicates in which node this pod is scheduled."},
    {"Nominated Node", "string", "", 1, "nominatedNodeName is set when this pod preempts other pods on the node."},
    {"Readiness Gates", "string", "", 1, "If specified, all readiness gates will be evaluated for pod readiness."},
};

static bool cond_true(const json_t *conds, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(conds, i, c) {
        const char *t = sk_json_str(c, "type"), *s = sk_json_str(c, "status");
        if (t && !strcmp(t, type)) return s && !strcmp(s, "True");
    }
    return false;
}

static bool str_eq(const char *a, const char *b) { return a && b && !strcmp(a, b); }
static bool nonempty(const char *s) { return s && *s; }

static bool restartable_init(const json_t *spec, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(spec, "initContainers"), i, c)
        if (str_eq(sk_json_str(c, "name"), name))
            return str_eq(sk_json_str(c, "restartPolicy"), "Always");
    return false;
}

/* Running state of the pod row being computed. */
struct podrow {
    char reason[128];
    json_int_t restarts, ready, total;
    int64_t last_restart; /* unix seconds, 0 = never */
};

static void note_restart(const json_t *cs, int64_t *last)
{
    const char *fin = sk_json_path_str(cs, "lastState.terminated.finishedAt");
    int64_t t = fin ? sk_time_parse(fin) : -1;
    if (t > *last) *last = t;
}

static void terminated_reason(const json_t *term, const char *prefix, char *out, size_t n)
{
    const char *reason = sk_json_str(term, "reason");
    json_int_t sig = sk_path_int(term, "signal", 0), code = sk_path_int(term, "exitCode", 0);
    if (nonempty(reason)) snprintf(out, n, "%s%s", prefix, reason);
    else if (sig) snprintf(out, n, "%sSignal:%lld", prefix, (long long)sig);
    else snprintf(out, n, "%sExitCode:%lld", prefix, (long long)code);
}

/* Walks init container statuses; returns true while the pod is still
 * initializing (reason then holds Init:...). */
static bool pod_init_status(const json_t *pod, struct podrow *pr, json_int_t *rir, int64_t *rilast)
{
    const json_t *spec = json_object_get(pod, "spec");
    json_t *ics = sk_json_path(pod, "status.initContainerStatuses"), *c;
    size_t i, ninit = json_array_size(json_object_get(spec, "initContainers"));
    json_array_foreach(ics, i, c) {
        bool restartable = restartable_init(spec, sk_json_str(c, "name"));
        json_t *term = sk_json_path(c, "state.terminated");
        const char *wreason = sk_json_path_str(c, "state.waiting.reason");
        pr->restarts += sk_path_int(c, "restartCount", 0);
        note_restart(c, &pr->last_restart);
        if (restartable) {
            *rir += sk_path_int(c, "restartCount", 0);
            note_restart(c, rilast);
        }
        if (json_is_object(term) && sk_path_int(term, "exitCode", 0) == 0) continue;
        if (restartable && json_is_true(json_object_get(c, "started"))) {
            if (json_is_true(json_object_get(c, "ready"))) pr->ready++;
            continue;
        }
        if (json_is_object(term))
            terminated_reason(term, "Init:", pr->reason, sizeof pr->reason);
        else if (nonempty(wreason) && strcmp(wreason, "PodInitializing"))
            snprintf(pr->reason, sizeof pr->reason, "Init:%s", wreason);
        else
            snprintf(pr->reason, sizeof pr->reason, "Init:%zu/%zu", i, ninit);
        return true;
    }
    return false;
}

static void pod_container_status(const json_t *pod, struct podrow *pr)
{
    json_t *cs = sk_json_path(pod, "status.containerStatuses");
    bool has_running = false;
    for (size_t i = json_array_size(cs); i-- > 0;) {
        json_t *c = json_array_get(cs, i), *term = sk_json_path(c, "state.terminated");
        const char *wreason = sk_json_path_str(c, "state.waiting.reason");
        pr->restarts += sk_path_int(c, "restartCount", 0);
        note_restart(c, &pr->last_restart);
        if (nonempty(wreason))
            snprintf(pr->reason, sizeof pr->reason, "%s", wreason);
        else if (json_is_object(term))
            terminated_reason(term, "", pr->reason, sizeof pr->reason);
        else if (json_is_true(json_object_get(c, "ready")) &&
                 json_is_object(sk_json_path(c, "state.running"))) {
            has_running = true;
            pr->ready++;
        }
    }
    /* A pod with a container still running is not "Completed". */
    if (!strcmp(pr->reason, "Completed") && has_running)
        snprintf(pr->reason, sizeof pr->reason, "%s",
                 cond_true(sk_json_path(pod, "status.conditions"), "Ready") ? "Running"
                                                                             : "NotReady");
}

static void pod_reason_init(const json_t *pod, struct podrow *pr)
{
    const char *phase = sk_json_path_str(pod, "status.phase");
    const char *reason = sk_json_path_str(pod, "status.reason");
    size_t i;
    json_t *c;
    snprintf(pr->reason, sizeof pr->reason, "%s", nonempty(reason) ? reason : phase ? phase : "");
    json_array_foreach(sk_json_path(pod, "status.conditions"), i, c)
        if (str_eq(sk_json_str(c, "type"), "PodScheduled") &&
            str_eq(sk_json_str(c, "reason"), "SchedulingGated"))
            snprintf(pr->reason, sizeof pr->reason, "SchedulingGated");
}

static void pod_readiness_gates(const json_t *pod, char *out, size_t n)
{
    json_t *gates = sk_json_path(pod, "spec.readinessGates"), *g, *c;
    json_t *conds = sk_json_path(pod, "status.conditions");
    size_t i, j, ok = 0;
    if (!json_array_size(gates)) { snprintf(out, n, "<none>"); return; }
    json_array_foreach(gates, i, g) {
        const char *want = sk_json_str(g, "conditionType");
        json_array_foreach(conds, j, c) {
            if (!str_eq(sk_json_str(c, "type"), want)) continue;
            if (str_eq(sk_json_str(c, "status"), "True")) ok++;
            break;
        }
    }
    snprintf(out, n, "%zu/%zu", ok, json_array_size(gates));
}

static const char *or_none(const char *s) { return nonempty(s) ? s : "<none>"; }

void sk_row_pod(const struct sk_resource *r, const json_t *pod, json_t *cells, int64_t now)
{
    struct podrow pr = {0};
    const json_t *spec = json_object_get(pod, "spec");
    const char *phase = sk_json_path_str(pod, "status.phase");
    json_int_t rir = 0;
    int64_t rilast = 0;
    size_t i;
    json_t *c;
    pr.total = json_array_size(json_object_get(spec, "containers"));
    json_array_foreach(json_object_get(spec, "initContainers"), i, c)
        if (str_eq(sk_json_str(c, "restartPolicy"), "Always")) pr.total++;
    pod_reason_init(pod, &pr);
    bool initializing = pod_init_status(pod, &pr, &rir, &rilast);
    if (!initializing || cond_true(sk_json_path(pod, "status.conditions"), "Initialized")) {
        pr.restarts = rir;
        pr.last_restart = rilast;
        pod_container_status(pod, &pr);
    }
    if (sk_json_path_str(pod, "metadata.deletionTimestamp")) {
        if (str_eq(sk_json_path_str(pod, "status.reason"), "NodeLost"))
            snprintf(pr.reason, sizeof pr.reason, "Unknown");
        else if (!str_eq(phase, "Succeeded") && !str_eq(phase, "Failed"))
            snprintf(pr.reason, sizeof pr.reason, "Terminating");
    }
    char buf[96], age[32];
    sk_cell_str(cells, sk_json_path_str(pod, "metadata.name"));
    snprintf(buf, sizeof buf, "%lld/%lld", (long long)pr.ready, (long long)pr.total);
    sk_cell_str(cells, buf);
    sk_cell_str(cells, pr.reason);
    if (pr.restarts && pr.last_restart > 0) {
        sk_duration_human(now - pr.last_restart, age, sizeof age);
        snprintf(buf, sizeof buf, "%lld (%s ago)", (long long)pr.restarts, age);
    } else {
        snprintf(buf, sizeof buf, "%lld", (long long)pr.restarts);
    }
    sk_cell_str(cells, buf);
    sk_cell_age(cells, pod, now);
    json_t *ips = sk_json_path(pod, "status.podIPs");
    const char *ip = sk_json_str(json_array_get(ips, 0), "ip");
    /* Upstream's internal object always mirrors podIP into podIPs. */
    if (!nonempty(ip)) ip = sk_json_path_str(pod, "status.podIP");
    sk_cell_str(cells, or_none(ip));
    sk_cell_str(cells, or_none(sk_json_str(spec, "nodeName")));
    sk_cell_str(cells, or_none(sk_json_path_str(pod, "status.nominatedNodeName")));
    pod_readiness_gates(pod, buf, sizeof buf);
    sk_cell_str(cells, buf);
}

/* ---- services and endpoints ----------------------------------------------- */

const struct sk_column sk_cols_svc[SK_NCOLS_SVC] = {
    NAME_COL,
    {"Type", "string", "", 0, "type determines how the Service is exposed."},
    {"Cluster-IP", "string", "", 0, "clusterIP is the IP address of the service."},
    {"External-IP", "string", "", 0, "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service."},
    {"Port(s)", "string", "", 0, "The list of ports that are exposed by this service."},
    AGE_COL,
    {"Selector", "string", "", 1, "Route service traffic to pods with label keys and values matching this selector."},
};

static void join_strings(sk_buf *b, const json_t *arr)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (!json_is_string(v)) continue;
        if (b->len) sk_buf_adds(b, ",");
        sk_buf_adds(b, json_string_value(v));
    }
}

/* Load-balancer ingress IPs/hostnames, sorted and de-duplicated. */
static void lb_ingress(const json_t *svc, sk_buf *b)
{
    json_t *ing = sk_json_path(svc, "status.loadBalancer.ingress"), *e;
    size_t n = json_array_size(ing), k = 0, i;
    const char **vals = sk_calloc(n ? n : 1, sizeof *vals);
    json_array_foreach(ing, i, e) {
        const char *ip = sk_json_str(e, "ip"), *host = sk_json_str(e, "hostname");
        if (nonempty(ip)) vals[k++] = ip;
        else if (nonempty(host)) vals[k++] = host;
    }
    qsort(vals, k, sizeof *vals, cmp_str);
    for (i = 0; i < k; i++) {
        if (i && !strcmp(vals[i], vals[i - 1])) continue;
        if (b->len) sk_buf_adds(b, ",");
        sk_buf_adds(b, vals[i]);
    }
    free(vals);
}

static char *svc_external_ip(const json_t *svc)
{
    const char *type = sk_json_path_str(svc, "spec.type");
    json_t *ext = sk_json_path(svc, "spec.externalIPs");
    sk_buf b = SK_BUF_INIT;
    if (!type) type = "ClusterIP";
    if (!strcmp(type, "ClusterIP") || !strcmp(type, "NodePort")) {
        join_strings(&b, ext);
        return b.len ? sk_buf_take(&b) : sk_strdup("<none>");
    }
    if (!strcmp(type, "LoadBalancer")) {
        lb_ingress(svc, &b);
        join_strings(&b, ext);
        return b.len ? sk_buf_take(&b) : sk_strdup("<pending>");
    }
    if (!strcmp(type, "ExternalName"))
        return sk_strdup(sk_json_path_str(svc, "spec.externalName") ?: "");
    return sk_strdup("<unknown>");
}

void sk_row_svc(const struct sk_resource *r, const json_t *svc, json_t *cells, int64_t now)
{
    json_t *ips = sk_json_path(svc, "spec.clusterIPs"), *p;
    const char *cip = json_string_value(json_array_get(ips, 0));
    if (!cip || !*cip) cip = sk_json_path_str(svc, "spec.clusterIP");
    if (cip && !*cip) cip = NULL;
    sk_buf ports = SK_BUF_INIT;
    size_t i;
    json_array_foreach(sk_json_path(svc, "spec.ports"), i, p) {
        const char *proto = sk_json_str(p, "protocol");
        json_int_t np = sk_path_int(p, "nodePort", 0);
        if (i) sk_buf_adds(&ports, ",");
        sk_buf_addf(&ports, "%lld", (long long)sk_path_int(p, "port", 0));
        if (np > 0) sk_buf_addf(&ports, ":%lld", (long long)np);
        sk_buf_addf(&ports, "/%s", proto ? proto : "");
    }
    _sk_free_ char *ext = svc_external_ip(svc);
    _sk_free_ char *sel = sk_format_labels(sk_json_path(svc, "spec.selector"));
    sk_cell_str(cells, sk_json_path_str(svc, "metadata.name"));
    sk_cell_str(cells, sk_json_path_str(svc, "spec.type"));
    sk_cell_str(cells, cip ? cip : "<none>");
    sk_cell_str(cells, ext);
    sk_cell_str(cells, ports.len ? ports.data : "<none>");
    sk_cell_age(cells, svc, now);
    sk_cell_str(cells, sel);
    sk_buf_release(&ports);
}

const struct sk_column sk_cols_ep[SK_NCOLS_EP] = {
    NAME_COL,
    {"Endpoints", "string", "", 0, "The set of all endpoints is the union of all subsets."},
    AGE_COL,
};

/* At most three addresses, then " + N more...", as upstream. */
static void add_limited(sk_buf *b, int *shown, int *count, const char *s)
{
    (*count)++;
    if (*shown >= 3) return;
    if (b->len) sk_buf_adds(b, ",");
    sk_buf_adds(b, s);
    (*shown)++;
}

void sk_row_ep(const struct sk_resource *r, const json_t *ep, json_t *cells, int64_t now)
{
    json_t *subsets = json_object_get(ep, "subsets"), *ss, *a, *p;
    sk_buf b = SK_BUF_INIT;
    int shown = 0, count = 0;
    size_t i, j, k;
    json_array_foreach(subsets, i, ss) {
        json_t *addrs = json_object_get(ss, "addresses"), *ports = json_object_get(ss, "ports");
        if (!json_array_size(ports)) {
            json_array_foreach(addrs, j, a) add_limited(&b, &shown, &count, sk_json_str(a, "ip") ?: "");
            continue;
        }
        json_array_foreach(ports, k, p) json_array_foreach(addrs, j, a) {
            const char *ip = sk_json_str(a, "ip") ?: "";
            char hp[96];
            /* net.JoinHostPort brackets IPv6 addresses. */
            snprintf(hp, sizeof hp, strchr(ip, ':') ? "[%s]:%lld" : "%s:%lld", ip,
                     (long long)sk_path_int(p, "port", 0));
            add_limited(&b, &shown, &count, hp);
        }
    }
    if (count > shown) sk_buf_addf(&b, " + %d more...", count - shown);
    sk_cell_str(cells, sk_json_path_str(ep, "metadata.name"));
    sk_cell_str(cells, json_array_size(subsets) ? (b.data ? b.data : "") : "<none>");
    sk_cell_age(cells, ep, now);
    sk_buf_release(&b);
}
