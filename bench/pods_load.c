/* bench_pods_load: pod-startup benchmark of one node agent (bench/run.sh
 * pods, bench/pods.sh). Against an API server whose node --node is Ready:
 *   1. watches the pods of --ns (pods_watch.c) from the resourceVersion of
 *      a list taken first,
 *   2. single: --single-reps times one pod alone, created, waited Ready,
 *      deleted and waited gone (the figure closest to a raw `crun run`),
 *   3. load: --count pods POSTed from --conc threads at once, each stamped
 *      before its POST and when the watch first shows Ready=True; with
 *      --agent-pid the agent's RSS is read once all are Ready (+ --settle),
 *   4. deletes them (same threads) and waits until the watch shows every
 *      one DELETED,
 * and prints `key value` lines on stdout. Pods get spec.nodeName = --node
 * (as the upstream kubelet density tests do, so the scheduler is not
 * measured) unless --schedule. Exit status 0 when every pod got Ready and
 * was deleted within --timeout per phase.
 *
 * Also `bench_pods_load layers ...` and `bench_pods_load raw ...`: the raw
 * crun floor (pods_raw.c). */
#include "pods.h"
#include "kube.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Namespace, its default ServiceAccount (pods are refused without it), the
 * node Ready, and the resourceVersion the pod watch starts from. */
static int setup(struct pods *p, CURL *c)
{
    const struct pods_opts *o = p->o;
    struct buf body = {0}, resp = {0};
    char url[512];
    long st;
    snprintf(url, sizeof url, "%s/api/v1/namespaces", o->url);
    buf_printf(&body, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}",
               o->ns);
    st = request(c, &resp, "POST", url, body.p, body.len);
    free(body.p);
    if (st != 201 && st != 409) goto fail;
    snprintf(url, sizeof url, "%s/api/v1/namespaces/%s/serviceaccounts/default", o->url, o->ns);
    for (double end = now() + 15; (st = request(c, &resp, "GET", url, NULL, 0)) != 200;) {
        if (now() > end) goto fail;
        sleep_secs(0.05);
    }
    snprintf(url, sizeof url, "%s/api/v1/nodes/%s", o->url, o->node);
    json_t *node = NULL;
    for (double end = now() + 60; !node_ready(node = get_json(c, url, &st)); json_decref(node)) {
        if (now() > end) {
            json_decref(node);
            fprintf(stderr, "bench_pods_load: node %s not Ready after 60 s\n", o->node);
            goto fail;
        }
        sleep_secs(0.2);
    }
    json_decref(node);
    snprintf(url, sizeof url, "%s/api/v1/namespaces/%s/pods", o->url, o->ns);
    json_t *doc = get_json(c, url, &st);
    const char *rv = json_string_value(json_object_get(json_object_get(doc, "metadata"),
                                                       "resourceVersion"));
    size_t stale = json_array_size(json_object_get(doc, "items"));
    if (rv && strlen(rv) < sizeof p->rv) snprintf(p->rv, sizeof p->rv, "%s", rv);
    json_decref(doc);
    if (!p->rv[0]) goto fail;
    if (stale) fprintf(stderr, "bench_pods_load: warning: %zu pods already in %s\n", stale, o->ns);
    free(resp.p);
    return 0;
fail:
    fprintf(stderr, "bench_pods_load: setup: %s: HTTP %ld: %.300s\n", url, st, resp.p ? resp.p : "");
    free(resp.p);
    return -1;
}

static void pod_json(const struct pods_opts *o, struct buf *b, int i)
{
    b->len = 0;
    buf_printf(b,
               "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"" PODS_PREFIX
               "%d\",\"namespace\":\"%s\",\"labels\":{\"app\":\"pods-bench\"}},\"spec\":{",
               i, o->ns);
    if (!o->schedule) buf_printf(b, "\"nodeName\":\"%s\",", o->node);
    buf_printf(b,
               "\"containers\":[{\"name\":\"hello\",\"image\":\"%s\",\"imagePullPolicy\":"
               "\"IfNotPresent\",\"ports\":[{\"containerPort\":8080}]}]}}",
               o->image);
}

/* Creates (or deletes) pods [from, to) from the calling thread, taking
 * indices from a shared ticket. */
struct worker {
    struct pods *p;
    atomic_int *ticket;
    int to;
    bool del;
    atomic_int *errs;
    pthread_t th;
};

static void *worker_thread(void *arg)
{
    struct worker *wk = arg;
    struct pods *p = wk->p;
    const struct pods_opts *o = p->o;
    struct curl_slist *hdr = std_headers();
    CURL *c = http_client(o->ca, o->cert, o->key, hdr);
    struct buf body = {0}, resp = {0};
    char url[512];
    for (int i; c && (i = atomic_fetch_add(wk->ticket, 1)) < wk->to;) {
        struct pod_rec *r = &p->pods[i];
        long st, want;
        double t = now();
        if (wk->del) {
            if (!r->created) continue;
            snprintf(url, sizeof url, "%s/api/v1/namespaces/%s/pods/" PODS_PREFIX "%d", o->url,
                     o->ns, i);
            pthread_mutex_lock(&p->mu);
            r->t_delete = t;
            pthread_mutex_unlock(&p->mu);
            st = request(c, &resp, "DELETE", url, NULL, 0);
            want = 200;
        } else {
            pod_json(o, &body, i);
            snprintf(url, sizeof url, "%s/api/v1/namespaces/%s/pods", o->url, o->ns);
            pthread_mutex_lock(&p->mu);
            r->t_create = t;
            pthread_mutex_unlock(&p->mu);
            st = request(c, &resp, "POST", url, body.p, body.len);
            want = 201;
        }
        pthread_mutex_lock(&p->mu);
        if (!wk->del) {
            r->t_posted = now();
            r->created = st == want;
        }
        pthread_mutex_unlock(&p->mu);
        if (st != want && !(wk->del && st == 404) && atomic_fetch_add(wk->errs, 1) < 3)
            fprintf(stderr, "bench_pods_load: %s pod %d: HTTP %ld: %.300s\n",
                    wk->del ? "delete" : "create", i, st, resp.p);
    }
    if (c) curl_easy_cleanup(c);
    curl_slist_free_all(hdr);
    free(body.p);
    free(resp.p);
    return NULL;
}

/* Runs conc workers over pods [from, to); returns the number of errors. */
static int run_workers(struct pods *p, int from, int to, bool del)
{
    int n = p->o->conc < to - from ? p->o->conc : to - from;
    atomic_int ticket = from, errs = 0;
    struct worker wk[PODS_MAX_CONC];
    for (int i = 0; i < n; i++) {
        wk[i] = (struct worker){.p = p, .ticket = &ticket, .to = to, .del = del, .errs = &errs};
        if (pthread_create(&wk[i].th, NULL, worker_thread, &wk[i]) != 0) {
            fprintf(stderr, "bench_pods_load: pthread_create failed\n");
            exit(1);
        }
    }
    for (int i = 0; i < n; i++) pthread_join(wk[i].th, NULL);
    return atomic_load(&errs);
}

static long vm_kb(long pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, kl) && line[kl] == ':') kb = strtol(line + kl + 1, NULL, 10);
    if (f) fclose(f);
    return kb;
}

/* Prints p50/p90/p99/max of v[0..n) (ms) as NAME_p50_ms ... lines. */
static void print_dist(const char *name, double *v, size_t n)
{
    if (!n) return;
    qsort(v, n, sizeof *v, cmp_double);
    printf("%s_p50_ms %.1f\n%s_p90_ms %.1f\n%s_p99_ms %.1f\n%s_max_ms %.1f\n", name,
           pct(v, n, 0.5), name, pct(v, n, 0.9), name, pct(v, n, 0.99), name, v[n - 1]);
}

/* Pods [from, to) that did not reach the goal: their last reason. */
static void report_missing(struct pods *p, int from, int to, bool gone)
{
    int shown = 0;
    pthread_mutex_lock(&p->mu);
    for (int i = from; i < to && shown < 5; i++) {
        struct pod_rec *r = &p->pods[i];
        if ((gone ? r->t_gone : r->t_ready) || !r->created) continue;
        fprintf(stderr, "bench_pods_load: pod %d not %s: %s\n", i, gone ? "gone" : "Ready",
                r->reason[0] ? r->reason : "no status seen");
        shown++;
    }
    pthread_mutex_unlock(&p->mu);
}

/* One pod at a time, each waited Ready then gone. */
static int phase_single(struct pods *p)
{
    const struct pods_opts *o = p->o;
    double ms[64];
    int n = 0, rc = 0;
    for (int i = 0; i < o->single_reps; i++) {
        run_workers(p, i, i + 1, false);
        if (!p->pods[i].created) return -1;
        if (pods_wait(p, i, i + 1, false, now() + o->timeout) < 1) {
            report_missing(p, i, i + 1, false);
            rc = -1;
        } else {
            ms[n++] = (p->pods[i].t_ready - p->pods[i].t_create) * 1e3;
            fprintf(stderr, "bench_pods_load: single pod %d Ready in %.1f ms\n", i, ms[n - 1]);
        }
        run_workers(p, i, i + 1, true);
        if (pods_wait(p, i, i + 1, true, now() + o->timeout) < 1) {
            report_missing(p, i, i + 1, true);
            return -1;
        }
        if (rc < 0) return -1;
    }
    qsort(ms, (size_t)n, sizeof *ms, cmp_double);
    printf("single_reps %d\nsingle_ready_median_ms %.1f\nsingle_ready_min_ms %.1f\n"
           "single_ready_max_ms %.1f\n", n, pct(ms, (size_t)n, 0.5), ms[0], ms[n - 1]);
    printf("single_delete_ms %.1f\n",
           (p->pods[n - 1].t_gone - p->pods[n - 1].t_delete) * 1e3);
    return 0;
}

static int phase_load(struct pods *p)
{
    const struct pods_opts *o = p->o;
    int from = o->single_reps, to = from + o->count, rc = 0;
    double a0 = proc_cpu_secs(o->agent_pid), s0 = proc_cpu_secs(o->server_pid), m0 = machine_busy_secs();
    double t0 = now();
    int errs = run_workers(p, from, to, false);
    double t_posted = now();
    int ready = pods_wait(p, from, to, false, t0 + o->timeout);
    double t_ready = now();
    double a1 = proc_cpu_secs(o->agent_pid), s1 = proc_cpu_secs(o->server_pid), m1 = machine_busy_secs();
    if (ready < o->count) {
        report_missing(p, from, to, false);
        rc = -1;
    }
    double *v = xrealloc(NULL, (size_t)o->count * sizeof *v);
    double *post = xrealloc(NULL, (size_t)o->count * sizeof *post);
    double *run = xrealloc(NULL, (size_t)o->count * sizeof *run);
    size_t n = 0, np = 0, nr = 0;
    double first = 0, last = 0;
    pthread_mutex_lock(&p->mu);
    for (int i = from; i < to; i++) {
        struct pod_rec *r = &p->pods[i];
        if (r->created) post[np++] = (r->t_posted - r->t_create) * 1e3;
        if (r->t_running) run[nr++] = (r->t_running - r->t_create) * 1e3;
        if (!first || (r->t_create && r->t_create < first)) first = r->t_create;
        if (!r->t_ready) continue;
        v[n++] = (r->t_ready - r->t_create) * 1e3;
        if (r->t_ready > last) last = r->t_ready;
    }
    pthread_mutex_unlock(&p->mu);
    printf("pods %d\npods_ready %zu\ncreate_errors %d\n", o->count, n, errs);
    print_dist("ready", v, n);
    print_dist("post", post, np);
    print_dist("running", run, nr); /* phase Running seen: for comparison with Ready */
    printf("create_span_s %.3f\n", t_posted - t0);
    if (n == (size_t)o->count) printf("total_s %.3f\n", last - first);
    printf("agent_cpu_s %.2f\nserver_cpu_s %.2f\nload_wall_s %.2f\n", a1 - a0, s1 - s0,
           t_ready - t0);
    printf("load_machine_cpu_ms_per_pod %.1f\n", (m1 - m0) * 1e3 / o->count);
    if (o->agent_pid > 0) {
        sleep_secs(o->settle);
        printf("agent_rss_pods_kb %ld\nagent_hwm_kb %ld\n", vm_kb(o->agent_pid, "VmRSS"),
               vm_kb(o->agent_pid, "VmHWM"));
    }
    fflush(stdout);
    /* Deletion: first DELETE to last DELETED seen. */
    double d0 = now();
    run_workers(p, from, to, true);
    int created = 0;
    for (int i = from; i < to; i++) created += p->pods[i].created;
    int gone = pods_wait(p, from, to, true, d0 + o->timeout);
    n = 0;
    last = 0;
    pthread_mutex_lock(&p->mu);
    for (int i = from; i < to; i++) {
        struct pod_rec *r = &p->pods[i];
        if (!r->t_gone || !r->t_delete) continue;
        v[n++] = (r->t_gone - r->t_delete) * 1e3;
        if (r->t_gone > last) last = r->t_gone;
    }
    pthread_mutex_unlock(&p->mu);
    printf("deleted %d\n", gone);
    print_dist("delete", v, n);
    if (gone >= created && last) printf("delete_total_s %.3f\n", last - d0);
    if (gone < created) {
        report_missing(p, from, to, true);
        rc = -1;
    }
    free(v);
    free(post);
    free(run);
    return rc;
}

static int run(struct pods *p)
{
    const struct pods_opts *o = p->o;
    struct curl_slist *hdr = std_headers();
    CURL *c = http_client(o->ca, o->cert, o->key, hdr);
    pthread_t wt;
    int rc = -1;
    if (!c || setup(p, c) < 0) goto out;
    if (pthread_create(&wt, NULL, pods_watch_thread, p) != 0) goto out;
    for (double end = now() + 10; !atomic_load(&p->watching) && now() < end;) sleep_secs(0.01);
    printf("scheduling %s\n", o->schedule ? "scheduler" : "nodeName");
    rc = 0;
    if (o->single_reps > 0 && phase_single(p) < 0) rc = -1;
    if (rc == 0 && o->count > 0 && phase_load(p) < 0) rc = -1;
    atomic_store(&p->stop, 1);
    pthread_join(wt, NULL);
    printf("watch_events %ld\nwatch_restarts %ld\nrelists %ld\n", p->events,
           p->watch_restarts, p->relists);
out:
    if (c) curl_easy_cleanup(c);
    curl_slist_free_all(hdr);
    return rc;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_pods_load --url URL --ca F --cert F --key F --node NAME\n"
            "  [--ns NS] [--count N] [--conc N] [--single-reps N] [--image IMG]\n"
            "  [--schedule] [--timeout S] [--settle S] [--agent-pid PID] [--server-pid PID]\n"
            "   or: bench_pods_load layers --images DIR --ref REF\n"
            "   or: bench_pods_load raw --lower DIRS --dir DIR [--reps N] [--port P] ...\n");
}

static int parse_opts(int argc, char **argv, struct pods_opts *o)
{
    static const struct option lo[] = {
        {"url", 1, 0, 'u'},      {"ca", 1, 0, 'A'},          {"cert", 1, 0, 'C'},
        {"key", 1, 0, 'K'},      {"ns", 1, 0, 'n'},          {"node", 1, 0, 'N'},
        {"count", 1, 0, 'c'},    {"conc", 1, 0, 'j'},        {"single-reps", 1, 0, 's'},
        {"image", 1, 0, 'i'},    {"schedule", 0, 0, 'S'},    {"timeout", 1, 0, 't'},
        {"settle", 1, 0, 'w'},   {"agent-pid", 1, 0, 'a'},   {"server-pid", 1, 0, 'p'},
        {0, 0, 0, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'u': o->url = optarg; break;
        case 'A': o->ca = optarg; break;
        case 'C': o->cert = optarg; break;
        case 'K': o->key = optarg; break;
        case 'n': o->ns = optarg; break;
        case 'N': o->node = optarg; break;
        case 'c': o->count = (int)strtol(optarg, NULL, 10); break;
        case 'j': o->conc = (int)strtol(optarg, NULL, 10); break;
        case 's': o->single_reps = (int)strtol(optarg, NULL, 10); break;
        case 'i': o->image = optarg; break;
        case 'S': o->schedule = true; break;
        case 't': o->timeout = strtod(optarg, NULL); break;
        case 'w': o->settle = strtod(optarg, NULL); break;
        case 'a': o->agent_pid = strtol(optarg, NULL, 10); break;
        case 'p': o->server_pid = strtol(optarg, NULL, 10); break;
        default: return -1;
        }
    }
    if (!o->url || !o->ca || !o->cert || !o->key || !o->node || o->count < 0 ||
        o->count > PODS_MAX || o->single_reps < 0 || o->single_reps > 63 || o->conc < 1 ||
        o->conc > PODS_MAX_CONC || o->timeout <= 0 || o->settle < 0 || optind < argc)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "layers")) return pods_layers_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "raw")) return pods_raw_main(argc - 1, argv + 1);
    struct pods_opts o = {.ns = "pods-bench", .image = "gcr.io/google-samples/kubernetes-bootcamp:v1",
                          .count = 100, .conc = 4, .single_reps = 5, .timeout = 120,
                          .settle = 2};
    if (parse_opts(argc, argv, &o) < 0) {
        usage();
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    static struct pods p;
    p.o = &o;
    p.npods = o.single_reps + o.count;
    p.pods = calloc((size_t)p.npods, sizeof *p.pods);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p.cv, &ca);
    pthread_mutex_init(&p.mu, NULL);
    int rc = p.pods ? run(&p) : -1;
    free(p.pods);
    curl_global_cleanup();
    return rc < 0 ? 1 : 0;
}
