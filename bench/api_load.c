/* bench_api_load: load generator for skiff's API server and, as a baseline,
 * etcd's v3 HTTP/JSON gateway. Driven by bench/run.sh; prints one
 * "RESULT key=value ..." line per measurement for run.sh to tabulate.
 *
 * Each client thread owns one CURL easy handle (keep-alive, HTTP/1.1, client
 * certificate for skiff) that is warmed up before timing starts, so TLS
 * handshakes do not land in the latency figures. Phases are bounded both in
 * operations and in seconds so a slow server cannot stretch the run.
 *
 * Ops:
 *   crud   create / get / update ConfigMaps (skiff) or put / range / CAS txn
 *          (etcd) with --conc clients, --secs each
 *   fill   create --count small pods in --ns (skiff)
 *   list   --reps full lists of pods in --ns (and paged with --limit)
 *   watch  --watchers watches on one collection, --writes creates into it */
#include "api_load.h"

#include <gnutls/gnutls.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

CURL *client_new(const struct opts *o, struct curl_slist *hdr)
{
    if (o->target == T_SKIFF) return http_client(o->ca, o->cert, o->key, hdr);
    return http_client(NULL, NULL, NULL, hdr);
}

static char *b64(const char *s, size_t n)
{
    gnutls_datum_t in = {(unsigned char *)s, (unsigned)n}, out = {NULL, 0};
    if (gnutls_base64_encode2(&in, &out) < 0) {
        fprintf(stderr, "bench_api_load: base64 failed\n");
        exit(1);
    }
    char *r = xrealloc(NULL, out.size + 1);
    memcpy(r, out.data, out.size);
    r[out.size] = 0;
    gnutls_free(out.data);
    return r;
}

static void record(struct worker *w, double t0, long status, long want)
{
    struct bench *b = w->b;
    if (status != want) {
        w->errs++;
        if (atomic_fetch_add(&b->err_printed, 1) < 3)
            fprintf(stderr, "bench_api_load: %s: HTTP %ld (want %ld): %.400s\n", b->phase, status,
                    want, w->resp.p);
        return;
    }
    if (w->nlat == w->caplat) {
        w->caplat = w->caplat ? w->caplat * 2 : 4096;
        w->lat = xrealloc(w->lat, w->caplat * sizeof *w->lat);
    }
    w->lat[w->nlat++] = (now() - t0) * 1e3;
}

static void add_obj(struct worker *w, const char *name, const char *rv)
{
    if (w->nobj == w->capobj) {
        w->capobj = w->capobj ? w->capobj * 2 : 1024;
        w->objs = xrealloc(w->objs, w->capobj * sizeof *w->objs);
    }
    struct obj *ob = &w->objs[w->nobj++];
    snprintf(ob->name, sizeof ob->name, "%s", name);
    snprintf(ob->rv, sizeof ob->rv, "%s", rv);
}

/* The ConfigMap we write, used verbatim as the etcd value too so both
 * stores see values of the same size. */
static void cm_json(struct bench *b, struct buf *out, const char *name, const char *rv, long gen)
{
    const struct opts *o = b->o;
    out->len = 0;
    buf_printf(out,
               "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\","
               "\"namespace\":\"%s\"%s%s%s},\"data\":{\"gen\":\"%ld\",\"v\":\"%.*s\"}}",
               name, o->ns, rv ? ",\"resourceVersion\":\"" : "", rv ? rv : "", rv ? "\"" : "", gen,
               (int)o->size, b->pad);
}

static void etcd_key(const struct opts *o, char *out, size_t n, const char *name)
{
    snprintf(out, n, "/registry/configmaps/%s/%s", o->ns, name);
}

void op_create(struct worker *w, long seq)
{
    struct bench *b = w->b;
    const struct opts *o = b->o;
    char name[64], url[512], key[160], rv[24] = "";
    snprintf(name, sizeof name, "cm-%s-%d-%ld", o->tag, w->id, seq);
    cm_json(b, &w->body, name, NULL, 0);
    double t0 = now();
    long st;
    if (o->target == T_SKIFF) {
        snprintf(url, sizeof url, "%s/api/v1/namespaces/%s/configmaps", o->url, o->ns);
        st = request(w->c, &w->resp, "POST", url, w->body.p, w->body.len);
        record(w, t0, st, 201);
        if (st == 201 && json_field(w->resp.p, "resourceVersion", rv, sizeof rv))
            add_obj(w, name, rv);
        return;
    }
    etcd_key(o, key, sizeof key, name);
    char *k = b64(key, strlen(key)), *v = b64(w->body.p, w->body.len);
    struct buf req = {0};
    buf_printf(&req, "{\"key\":\"%s\",\"value\":\"%s\"}", k, v);
    t0 = now(); /* encoding is client work, keep it out of the latency */
    snprintf(url, sizeof url, "%s/v3/kv/put", o->url);
    st = request(w->c, &w->resp, "POST", url, req.p, req.len);
    record(w, t0, st, 200);
    if (st == 200 && json_field(w->resp.p, "revision", rv, sizeof rv)) add_obj(w, name, rv);
    free(k);
    free(v);
    free(req.p);
}

static void op_get(struct worker *w, long seq)
{
    struct bench *b = w->b;
    const struct opts *o = b->o;
    char url[512], key[160];
    const struct obj *ob = b->all[rand_r(&w->seed) % b->nall];
    double t0 = now();
    if (o->target == T_SKIFF) {
        snprintf(url, sizeof url, "%s/api/v1/namespaces/%s/configmaps/%s", o->url, o->ns, ob->name);
        record(w, t0, request(w->c, &w->resp, "GET", url, NULL, 0), 200);
        return;
    }
    etcd_key(o, key, sizeof key, ob->name);
    char *k = b64(key, strlen(key));
    struct buf req = {0};
    buf_printf(&req, "{\"key\":\"%s\"}", k);
    snprintf(url, sizeof url, "%s/v3/kv/range", o->url);
    t0 = now();
    long st = request(w->c, &w->resp, "POST", url, req.p, req.len);
    if (st == 200 && !strstr(w->resp.p, "\"kvs\"")) st = 404;
    record(w, t0, st, 200);
    free(k);
    free(req.p);
}

/* Update with optimistic concurrency: PUT carrying the resourceVersion we
 * last saw (skiff) or a txn comparing mod_revision (etcd, as kube-apiserver
 * does its updates). Each thread updates only objects it created. */
static void op_update(struct worker *w, long seq)
{
    struct bench *b = w->b;
    const struct opts *o = b->o;
    char url[512], key[160], rv[24];
    if (!w->nobj) { /* created nothing: has nothing of its own to update */
        w->idle = true;
        return;
    }
    struct obj *ob = &w->objs[w->cursor++ % w->nobj];
    cm_json(b, &w->body, ob->name, o->target == T_SKIFF ? ob->rv : NULL, seq + 1);
    double t0 = now();
    long st;
    if (o->target == T_SKIFF) {
        snprintf(url, sizeof url, "%s/api/v1/namespaces/%s/configmaps/%s", o->url, o->ns, ob->name);
        st = request(w->c, &w->resp, "PUT", url, w->body.p, w->body.len);
        if (st == 200 && json_field(w->resp.p, "resourceVersion", rv, sizeof rv))
            snprintf(ob->rv, sizeof ob->rv, "%s", rv);
        record(w, t0, st, 200);
        return;
    }
    etcd_key(o, key, sizeof key, ob->name);
    char *k = b64(key, strlen(key)), *v = b64(w->body.p, w->body.len);
    struct buf req = {0};
    buf_printf(&req,
               "{\"compare\":[{\"key\":\"%s\",\"result\":\"EQUAL\",\"target\":\"MOD\","
               "\"mod_revision\":\"%s\"}],\"success\":[{\"request_put\":{\"key\":\"%s\","
               "\"value\":\"%s\"}}]}",
               k, ob->rv, k, v);
    snprintf(url, sizeof url, "%s/v3/kv/txn", o->url);
    t0 = now();
    st = request(w->c, &w->resp, "POST", url, req.p, req.len);
    if (st == 200 && !strstr(w->resp.p, "\"succeeded\":true")) st = 409;
    if (st == 200 && json_field(w->resp.p, "revision", rv, sizeof rv))
        snprintf(ob->rv, sizeof ob->rv, "%s", rv);
    record(w, t0, st, 200);
    free(k);
    free(v);
    free(req.p);
}

static void op_fill_pod(struct worker *w, long seq)
{
    const struct opts *o = w->b->o;
    char url[512];
    w->body.len = 0;
    buf_printf(&w->body,
               "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p-%06ld\","
               "\"namespace\":\"%s\",\"labels\":{\"app\":\"bench\"}},\"spec\":{\"containers\":"
               "[{\"name\":\"c\",\"image\":\"registry.k8s.io/pause:3.9\"}]}}",
               seq, o->ns);
    snprintf(url, sizeof url, "%s/api/v1/namespaces/%s/pods", o->url, o->ns);
    double t0 = now();
    record(w, t0, request(w->c, &w->resp, "POST", url, w->body.p, w->body.len), 201);
}

struct phase_arg {
    struct worker *w;
    op_fn fn;
};

static void *phase_thread(void *arg)
{
    struct phase_arg *pa = arg;
    struct worker *w = pa->w;
    struct bench *b = w->b;
    pthread_barrier_wait(&b->bar);
    while (!w->idle) {
        long t = atomic_fetch_add(&b->tickets, 1);
        if (t >= b->max_ops || now() >= b->deadline) break;
        pa->fn(w, t);
    }
    return NULL;
}

/* Runs fn on every worker at once until max_ops or secs, then prints one
 * RESULT line. */
void run_phase(struct bench *b, const char *name, op_fn fn, long max_ops, double secs)
{
    struct phase_arg pa[MAX_CONC];
    b->phase = name;
    b->max_ops = max_ops;
    atomic_store(&b->tickets, 0);
    pthread_barrier_init(&b->bar, NULL, (unsigned)b->nw + 1);
    for (int i = 0; i < b->nw; i++) {
        b->w[i].nlat = 0;
        b->w[i].errs = 0;
        b->w[i].idle = false;
        pa[i] = (struct phase_arg){&b->w[i], fn};
        pthread_create(&b->w[i].th, NULL, phase_thread, &pa[i]);
    }
    double t0 = now(), cpu0 = self_cpu_secs(), srv0 = proc_cpu_secs(b->o->pid);
    b->deadline = t0 + secs;
    pthread_barrier_wait(&b->bar);
    for (int i = 0; i < b->nw; i++) pthread_join(b->w[i].th, NULL);
    double wall = now() - t0, cpu = self_cpu_secs() - cpu0, srv = proc_cpu_secs(b->o->pid) - srv0;
    pthread_barrier_destroy(&b->bar);

    size_t n = 0;
    long errs = 0;
    for (int i = 0; i < b->nw; i++) n += b->w[i].nlat, errs += b->w[i].errs;
    double *all = xrealloc(NULL, (n ? n : 1) * sizeof *all), sum = 0;
    for (int i = 0, k = 0; i < b->nw; i++)
        for (size_t j = 0; j < b->w[i].nlat; j++) all[k++] = b->w[i].lat[j];
    qsort(all, n, sizeof *all, cmp_double);
    for (size_t i = 0; i < n; i++) sum += all[i];
    printf("RESULT target=%s op=%s conc=%d ops=%zu errors=%ld secs=%.3f rate=%.0f "
           "p50_ms=%.3f p99_ms=%.3f mean_ms=%.3f client_cpu=%.2f server_cpu=%.2f\n",
           b->o->target == T_SKIFF ? "skiff" : "etcd", name, b->nw, n, errs, wall,
           (double)n / wall, pct(all, n, 0.50), pct(all, n, 0.99), n ? sum / (double)n : 0,
           cpu / wall, srv / wall);
    fflush(stdout);
    free(all);
}

static long create_ns(struct worker *w)
{
    const struct opts *o = w->b->o;
    char url[512];
    w->body.len = 0;
    buf_printf(&w->body,
               "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}",
               o->ns);
    snprintf(url, sizeof url, "%s/api/v1/namespaces", o->url);
    long st = request(w->c, &w->resp, "POST", url, w->body.p, w->body.len);
    return st == 201 || st == 409 ? 200 : st;
}

/* Creates the handles and spends one request per handle on the TLS
 * handshake, so timed phases start on warm connections. Creates --ns on
 * skiff if it does not exist yet. */
int workers_start(struct bench *b, int n)
{
    const struct opts *o = b->o;
    char url[512];
    b->nw = n;
    b->w = calloc((size_t)n, sizeof *b->w);
    if (!b->w) return -1;
    if (o->target == T_SKIFF) snprintf(url, sizeof url, "%s/api/v1/namespaces/%s", o->url, o->ns);
    else snprintf(url, sizeof url, "%s/version", o->url);
    for (int i = 0; i < n; i++) {
        struct worker *w = &b->w[i];
        w->id = i;
        w->b = b;
        w->seed = (unsigned)(i * 7919 + 1);
        w->hdr = std_headers();
        w->c = client_new(o, w->hdr);
        if (!w->c) return -1;
        long st = request(w->c, &w->resp, "GET", url, NULL, 0);
        if (st == 404 && o->target == T_SKIFF) st = create_ns(w);
        if (st != 200) {
            fprintf(stderr, "bench_api_load: warm-up GET %s: HTTP %ld: %.400s\n", url, st,
                    w->resp.p);
            return -1;
        }
    }
    return 0;
}

void workers_free(struct bench *b)
{
    for (int i = 0; i < b->nw; i++) {
        struct worker *w = &b->w[i];
        curl_easy_cleanup(w->c);
        curl_slist_free_all(w->hdr);
        free(w->resp.p);
        free(w->body.p);
        free(w->lat);
        free(w->objs);
    }
    free(b->w);
    free(b->all);
    b->w = NULL;
    b->all = NULL;
}

static int do_crud(struct bench *b)
{
    const struct opts *o = b->o;
    if (workers_start(b, o->conc) < 0) return -1;
    run_phase(b, "create", op_create, o->max_ops, o->secs);
    size_t n = 0;
    for (int i = 0; i < b->nw; i++) n += b->w[i].nobj;
    if (!n) {
        fprintf(stderr, "bench_api_load: nothing was created; skipping get/update\n");
        workers_free(b);
        return -1;
    }
    b->all = xrealloc(NULL, n * sizeof *b->all);
    b->nall = 0;
    for (int i = 0; i < b->nw; i++)
        for (size_t j = 0; j < b->w[i].nobj; j++) b->all[b->nall++] = &b->w[i].objs[j];
    run_phase(b, "get", op_get, o->max_ops, o->secs);
    run_phase(b, "update", op_update, o->max_ops, o->secs);
    workers_free(b);
    return 0;
}

static int do_fill(struct bench *b)
{
    if (workers_start(b, b->o->conc) < 0) return -1;
    run_phase(b, "fill-pods", op_fill_pod, b->o->count, b->o->secs);
    workers_free(b);
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_api_load --target skiff|etcd --url URL --op crud|fill|list|watch\n"
            "  [--ca F --cert F --key F] [--ns NS] [--conc N] [--secs S] [--max-ops N]\n"
            "  [--count N] [--reps N] [--limit N] [--watchers N] [--writes N] [--size BYTES]\n"
            "  [--tag STR] [--pid SERVER_PID (reports its CPU use per phase)]\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        {"target", 1, 0, 't'}, {"url", 1, 0, 'u'},     {"ca", 1, 0, 'A'},
        {"cert", 1, 0, 'C'},   {"key", 1, 0, 'K'},     {"op", 1, 0, 'o'},
        {"ns", 1, 0, 'n'},     {"conc", 1, 0, 'c'},    {"secs", 1, 0, 's'},
        {"max-ops", 1, 0, 'm'}, {"count", 1, 0, 'N'},  {"reps", 1, 0, 'r'},
        {"limit", 1, 0, 'l'},  {"watchers", 1, 0, 'w'}, {"writes", 1, 0, 'W'},
        {"size", 1, 0, 'z'},   {"tag", 1, 0, 'g'},     {"pid", 1, 0, 'p'},
        {0, 0, 0, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 't': o->target = strcmp(optarg, "etcd") ? T_SKIFF : T_ETCD; break;
        case 'u': o->url = optarg; break;
        case 'A': o->ca = optarg; break;
        case 'C': o->cert = optarg; break;
        case 'K': o->key = optarg; break;
        case 'o': o->op = optarg; break;
        case 'n': o->ns = optarg; break;
        case 'c': o->conc = (int)strtol(optarg, NULL, 10); break;
        case 's': o->secs = strtod(optarg, NULL); break;
        case 'm': o->max_ops = strtol(optarg, NULL, 10); break;
        case 'N': o->count = strtol(optarg, NULL, 10); break;
        case 'r': o->reps = (int)strtol(optarg, NULL, 10); break;
        case 'l': o->limit = (int)strtol(optarg, NULL, 10); break;
        case 'w': o->watchers = (int)strtol(optarg, NULL, 10); break;
        case 'W': o->writes = strtol(optarg, NULL, 10); break;
        case 'z': o->size = strtol(optarg, NULL, 10); break;
        case 'g': o->tag = optarg; break;
        case 'p': o->pid = strtol(optarg, NULL, 10); break;
        default: return -1;
        }
    }
    if (!o->url || !o->op || o->conc < 1 || o->conc > MAX_CONC || o->secs <= 0 || o->size < 0 ||
        o->size > 8000 || o->watchers < 1 || o->watchers > MAX_WATCHERS || o->reps < 1)
        return -1;
    if (o->target == T_SKIFF && (!o->ca || !o->cert || !o->key)) return -1;
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = {.ns = "bench", .tag = "x", .conc = 1, .secs = 2, .max_ops = 1000000,
                     .count = 10000, .reps = 5, .watchers = 100, .writes = 1000, .size = 1000};
    if (parse_opts(argc, argv, &o) < 0) {
        usage();
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    static struct bench b;
    b.o = &o;
    memset(b.pad, 'x', sizeof b.pad);
    int rc;
    if (!strcmp(o.op, "crud")) rc = do_crud(&b);
    else if (!strcmp(o.op, "fill") && o.target == T_SKIFF) rc = do_fill(&b);
    else if (!strcmp(o.op, "list") && o.target == T_SKIFF) rc = bench_list(&b);
    else if (!strcmp(o.op, "watch") && o.target == T_SKIFF) rc = bench_watch(&b);
    else {
        usage();
        rc = -1;
    }
    curl_global_cleanup();
    return rc < 0 ? 1 : 0;
}
