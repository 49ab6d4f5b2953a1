/* bench_scale_load: control-plane scale benchmark for skiff (bench/run.sh
 * scale). Against a server running hollow nodes it
 *   1. waits for --nodes Ready nodes and the namespace's default
 *      ServiceAccount,
 *   2. watches the pods of --ns (scale_watch.c) and probes the API with one
 *      GET of a ConfigMap every --probe-ms,
 *   3. POSTs --deployments Deployments of --replicas each from --conc
 *      threads as fast as it can, then waits until every pod is Running
 *      (or --timeout), and until every Deployment reports all replicas
 *      available (or --ready-timeout more),
 *   4. prints RESULT / TIMELINE lines (scale_report.c).
 * The server's CPU and memory are read from /proc with --pid. Exit status 0
 * when all pods ran within the timeout. */
#include "scale.h"
#include "kube.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int wait_nodes(const struct scale_opts *o, CURL *c)
{
    char url[512];
    snprintf(url, sizeof url, "%s/api/v1/nodes", o->url);
    double deadline = now() + o->node_timeout, last_print = 0;
    int ready = 0;
    while (now() < deadline) {
        long st;
        json_t *doc = get_json(c, url, &st);
        size_t i;
        json_t *n;
        ready = 0;
        json_array_foreach(json_object_get(doc, "items"), i, n) ready += node_ready(n);
        json_decref(doc);
        if (ready >= o->nodes) return 0;
        if (now() - last_print > 2) {
            fprintf(stderr, "bench_scale_load: %d/%d nodes Ready (HTTP %ld)\n", ready, o->nodes, st);
            last_print = now();
        }
        sleep_secs(0.2);
    }
    fprintf(stderr, "bench_scale_load: only %d/%d nodes Ready after %.0f s\n", ready, o->nodes,
            o->node_timeout);
    return -1;
}

static long post(CURL *c, struct buf *resp, const char *url, const struct buf *body)
{
    return request(c, resp, "POST", url, body->p, body->len);
}

/* Namespace, its default ServiceAccount (pods are refused without it), the
 * probe ConfigMap, and the resourceVersion the pod watch starts from. */
static int setup(struct scale *s, CURL *c)
{
    const struct scale_opts *o = s->o;
    struct buf body = {0}, resp = {0};
    char url[512];
    int rc = -1;
    snprintf(url, sizeof url, "%s/api/v1/namespaces", o->url);
    buf_printf(&body, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}",
               o->ns);
    long st = post(c, &resp, url, &body);
    if (st != 201 && st != 409) goto fail;
    snprintf(url, sizeof url, "%s/api/v1/namespaces/%s/serviceaccounts/default", o->url, o->ns);
    for (double end = now() + 10; (st = request(c, &resp, "GET", url, NULL, 0)) != 200;) {
        if (now() > end) goto fail;
        sleep_secs(0.05);
    }
    snprintf(url, sizeof url, "%s/api/v1/namespaces/%s/configmaps", o->url, o->ns);
    body.len = 0;
    buf_printf(&body, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                      "\"scale-probe\",\"namespace\":\"%s\"},\"data\":{\"k\":\"v\"}}", o->ns);
    if ((st = post(c, &resp, url, &body)) != 201 && st != 409) goto fail;
    snprintf(url, sizeof url, "%s/api/v1/namespaces/%s/pods?limit=1", o->url, o->ns);
    json_t *doc = get_json(c, url, &st);
    json_t *rv = json_object_get(json_object_get(doc, "metadata"), "resourceVersion");
    if (json_string_value(rv) && strlen(json_string_value(rv)) < sizeof s->rv) {
        snprintf(s->rv, sizeof s->rv, "%s", json_string_value(rv));
        rc = 0;
    }
    json_decref(doc);
    if (rc < 0) goto fail;
    free(body.p);
    free(resp.p);
    return 0;
fail:
    fprintf(stderr, "bench_scale_load: setup: %s: HTTP %ld: %.300s\n", url, st,
            resp.p ? resp.p : "");
    free(body.p);
    free(resp.p);
    return -1;
}

static void *probe_thread(void *arg)
{
    struct scale *s = arg;
    const struct scale_opts *o = s->o;
    struct curl_slist *hdr = std_headers();
    CURL *c = http_client(o->ca, o->cert, o->key, hdr);
    struct buf resp = {0};
    char url[512];
    snprintf(url, sizeof url, "%s/api/v1/namespaces/%s/configmaps/scale-probe", o->url, o->ns);
    double next = now();
    while (c && !atomic_load(&s->stop)) {
        double t = now();
        long st = request(c, &resp, "GET", url, NULL, 0);
        if (s->nprobes == s->capprobes) {
            s->capprobes = s->capprobes ? s->capprobes * 2 : 4096;
            s->probes = xrealloc(s->probes, s->capprobes * sizeof *s->probes);
        }
        s->probes[s->nprobes++] = (struct probe_sample){t, (now() - t) * 1e3, st == 200};
        /* A fixed schedule: a slow answer is followed at once by the next. */
        next += o->probe_ms / 1e3;
        if (next < now()) next = now();
        sleep_secs(next - now());
    }
    if (c) curl_easy_cleanup(c);
    curl_slist_free_all(hdr);
    free(resp.p);
    return NULL;
}

struct creator {
    struct scale *s;
    atomic_int *ticket;
    pthread_t th;
};

static void deployment_json(const struct scale_opts *o, struct buf *b, int i)
{
    b->len = 0;
    buf_printf(b,
               "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"
               "\"scale-%03d\",\"namespace\":\"%s\"},\"spec\":{\"replicas\":%d,\"selector\":"
               "{\"matchLabels\":{\"app\":\"scale-%03d\"}},\"template\":{\"metadata\":"
               "{\"labels\":{\"app\":\"scale-%03d\"}},\"spec\":{\"containers\":[{\"name\":"
               "\"pause\",\"image\":\"%s\",\"resources\":{\"requests\":{\"cpu\":\"%s\","
               "\"memory\":\"%s\"}}}]}}}}",
               i, o->ns, o->replicas, i, i, o->image, o->cpu, o->mem);
}

static void *creator_thread(void *arg)
{
    struct creator *cr = arg;
    struct scale *s = cr->s;
    const struct scale_opts *o = s->o;
    struct curl_slist *hdr = std_headers();
    CURL *c = http_client(o->ca, o->cert, o->key, hdr);
    struct buf body = {0}, resp = {0};
    char url[512];
    snprintf(url, sizeof url, "%s/apis/apps/v1/namespaces/%s/deployments", o->url, o->ns);
    for (int i; c && (i = atomic_fetch_add(cr->ticket, 1)) < o->deployments;) {
        deployment_json(o, &body, i);
        double t = now();
        long st = post(c, &resp, url, &body);
        long k = atomic_fetch_add(&s->ncreate, 1);
        if (k < (long)(sizeof s->create_ms / sizeof s->create_ms[0]))
            s->create_ms[k] = (now() - t) * 1e3;
        if (st != 201) {
            atomic_fetch_add(&s->create_errs, 1);
            if (atomic_fetch_add(&s->err_printed, 1) < 3)
                fprintf(stderr, "bench_scale_load: create deployment %d: HTTP %ld: %.300s\n", i,
                        st, resp.p);
        }
    }
    if (c) curl_easy_cleanup(c);
    curl_slist_free_all(hdr);
    free(body.p);
    free(resp.p);
    return NULL;
}

/* Handles are made (and TLS sessions set up on first use) inside each
 * thread; the POSTs themselves are the burst being measured. */
static void create_all(struct scale *s)
{
    struct creator cr[SCALE_MAX_CONC];
    atomic_int ticket = 0;
    int n = s->o->conc;
    for (int i = 0; i < n; i++) {
        cr[i] = (struct creator){.s = s, .ticket = &ticket};
        pthread_create(&cr[i].th, NULL, creator_thread, &cr[i]);
    }
    for (int i = 0; i < n; i++) pthread_join(cr[i].th, NULL);
}

/* Deployments whose status shows all replicas updated and available for
 * the current generation. */
static int deployments_ready(const struct scale_opts *o, CURL *c)
{
    char url[512];
    snprintf(url, sizeof url, "%s/apis/apps/v1/namespaces/%s/deployments", o->url, o->ns);
    json_t *doc = get_json(c, url, NULL), *d;
    size_t i;
    int ready = 0;
    json_array_foreach(json_object_get(doc, "items"), i, d) {
        json_t *st = json_object_get(d, "status");
        json_int_t gen = json_integer_value(json_object_get(json_object_get(d, "metadata"), "generation"));
        ready += json_integer_value(json_object_get(st, "availableReplicas")) == o->replicas &&
                 json_integer_value(json_object_get(st, "updatedReplicas")) == o->replicas &&
                 json_integer_value(json_object_get(st, "observedGeneration")) >= gen;
    }
    json_decref(doc);
    return ready;
}

/* Until every pod runs or the timeout; progress on stderr every second. */
static bool wait_running(struct scale *s)
{
    const struct scale_opts *o = s->o;
    long want = (long)o->deployments * o->replicas;
    double next_print = s->t0 + 1;
    while (atomic_load(&s->running) < want && now() < s->t0 + o->timeout) {
        sleep_secs(0.05);
        if (now() >= next_print) {
            fprintf(stderr, "  t=%4.1fs pods created %5ld bound %5ld running %5ld\n",
                    now() - s->t0, atomic_load(&s->added), atomic_load(&s->bound),
                    atomic_load(&s->running));
            next_print += 1;
        }
    }
    s->t_end = now();
    return atomic_load(&s->running) >= want;
}

static void wait_deployments(struct scale *s, CURL *c)
{
    double end = now() + s->o->ready_timeout;
    int ready;
    while ((ready = deployments_ready(s->o, c)) < s->o->deployments && now() < end)
        sleep_secs(0.5);
    if (ready >= s->o->deployments) s->t_deploy_ready = now();
    else fprintf(stderr, "bench_scale_load: %d/%d deployments available after %.0f s more\n",
                 ready, s->o->deployments, s->o->ready_timeout);
}

static int run(struct scale *s)
{
    const struct scale_opts *o = s->o;
    struct curl_slist *hdr = std_headers();
    CURL *c = http_client(o->ca, o->cert, o->key, hdr);
    pthread_t wt, pt;
    int rc = 1;
    if (!c || wait_nodes(o, c) < 0 || setup(s, c) < 0) goto out;
    s->t_ready = now();
    pthread_create(&wt, NULL, watch_thread, s);
    for (double end = now() + 10; !atomic_load(&s->watching) && now() < end;) sleep_secs(0.01);
    pthread_create(&pt, NULL, probe_thread, s);
    sleep_secs(1); /* idle probe baseline */
    fprintf(stderr, "bench_scale_load: %d nodes Ready; creating %d deployments x %d replicas\n",
                    o->nodes, o->deployments, o->replicas);
    double cpu0 = self_cpu_secs(), srv0 = proc_cpu_secs(o->pid);
    s->t0 = now();
    create_all(s);
    s->t_posted = now();
    bool all = wait_running(s);
    s->srv_cpu = proc_cpu_secs(o->pid) - srv0;
    s->cli_cpu = self_cpu_secs() - cpu0;
    if (all) wait_deployments(s, c);
    sleep_secs(0.3); /* probes after the burst, for the record */
    atomic_store(&s->stop, 1);
    pthread_join(pt, NULL);
    pthread_join(wt, NULL);
    scale_report(s);
    rc = all ? 0 : 1;
out:
    if (c) curl_easy_cleanup(c);
    curl_slist_free_all(hdr);
    return rc;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_scale_load --url URL --ca F --cert F --key F [--pid SERVER_PID]\n"
            "  [--ns NS] [--nodes N] [--deployments N] [--replicas N] [--conc N]\n"
            "  [--probe-ms MS] [--timeout S] [--node-timeout S] [--ready-timeout S]\n"
            "  [--cpu Q] [--memory Q] [--image IMG]\n");
}

static int parse_opts(int argc, char **argv, struct scale_opts *o)
{
    static const struct option lo[] = {
        {"url", 1, 0, 'u'},         {"ca", 1, 0, 'A'},           {"cert", 1, 0, 'C'},
        {"key", 1, 0, 'K'},         {"pid", 1, 0, 'p'},          {"ns", 1, 0, 'n'},
        {"nodes", 1, 0, 'N'},       {"deployments", 1, 0, 'd'},  {"replicas", 1, 0, 'r'},
        {"conc", 1, 0, 'c'},        {"probe-ms", 1, 0, 'P'},     {"timeout", 1, 0, 't'},
        {"node-timeout", 1, 0, 'T'}, {"ready-timeout", 1, 0, 'R'}, {"cpu", 1, 0, 'x'},
        {"memory", 1, 0, 'm'},      {"image", 1, 0, 'i'},        {0, 0, 0, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'u': o->url = optarg; break;
        case 'A': o->ca = optarg; break;
        case 'C': o->cert = optarg; break;
        case 'K': o->key = optarg; break;
        case 'p': o->pid = strtol(optarg, NULL, 10); break;
        case 'n': o->ns = optarg; break;
        case 'N': o->nodes = (int)strtol(optarg, NULL, 10); break;
        case 'd': o->deployments = (int)strtol(optarg, NULL, 10); break;
        case 'r': o->replicas = (int)strtol(optarg, NULL, 10); break;
        case 'c': o->conc = (int)strtol(optarg, NULL, 10); break;
        case 'P': o->probe_ms = (int)strtol(optarg, NULL, 10); break;
        case 't': o->timeout = strtod(optarg, NULL); break;
        case 'T': o->node_timeout = strtod(optarg, NULL); break;
        case 'R': o->ready_timeout = strtod(optarg, NULL); break;
        case 'x': o->cpu = optarg; break;
        case 'm': o->mem = optarg; break;
        case 'i': o->image = optarg; break;
        default: return -1;
        }
    }
    if (!o->url || !o->ca || !o->cert || !o->key || o->nodes < 0 || o->deployments < 1 ||
        o->deployments > 999 || o->replicas < 1 || o->replicas > 100000 || o->conc < 1 ||
        o->conc > SCALE_MAX_CONC || o->probe_ms < 1 || o->timeout <= 0)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    struct scale_opts o = {.ns = "scale", .cpu = "10m", .mem = "32Mi",
                           .image = "registry.k8s.io/pause:3.10", .nodes = 100,
                           .deployments = 100, .replicas = 100, .conc = 4, .probe_ms = 50,
                           .timeout = 60, .node_timeout = 60, .ready_timeout = 15};
    if (parse_opts(argc, argv, &o) < 0) {
        usage();
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    static struct scale s;
    s.o = &o;
    int rc = run(&s);
    pods_free(&s.pods);
    free(s.probes);
    curl_global_cleanup();
    return rc;
}
