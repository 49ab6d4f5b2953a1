/* bench_scale_load: figures from the pod table and the probe samples.
 * Prints one "RESULT target=skiff op=scale conc=1 key=value ..." line for
 * bench/run.sh, then one "TIMELINE" line per second of the run (pods
 * created, bound and running in that second, cumulative totals and the
 * worst probe), which run.sh keeps in the saved results.
 *
 * Rates: "rate" is (n - 1) / (last - first) over the observations of one
 * transition; "peak" is the most observations within any 1 s window; e2e
 * for bindings is bound / (last binding - first Deployment POST), the
 * closest to scheduler_perf's average SchedulingThroughput. */
#include "scale.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct series {
    double *t; /* sorted, seconds since t0 */
    size_t n;
};

static struct series collect(const struct scale *s, size_t field)
{
    struct series r = {xrealloc(NULL, (s->pods.n + 1) * sizeof(double)), 0};
    for (size_t i = 0; i < s->pods.cap; i++) {
        const struct pod_rec *p = &s->pods.slots[i];
        if (!p->name[0]) continue;
        double v = *(const double *)((const char *)p + field);
        if (v) r.t[r.n++] = v - s->t0;
    }
    qsort(r.t, r.n, sizeof *r.t, cmp_double);
    return r;
}

static double first(const struct series *x) { return x->n ? x->t[0] : -1; }
static double last(const struct series *x) { return x->n ? x->t[x->n - 1] : -1; }

static double rate(const struct series *x)
{
    if (x->n < 2 || last(x) <= first(x)) return 0;
    return (double)(x->n - 1) / (last(x) - first(x));
}

/* Most observations within any window of win seconds. */
static size_t peak(const struct series *x, double win)
{
    size_t best = 0;
    for (size_t i = 0, j = 0; j < x->n; j++) {
        while (x->t[j] - x->t[i] >= win) i++;
        if (j - i + 1 > best) best = j - i + 1;
    }
    return best;
}

/* Percentiles of (b - a) over pods that have both, in ms. */
static void lat_pct(const struct scale *s, size_t fa, size_t fb, double *p50, double *p99)
{
    double *v = xrealloc(NULL, (s->pods.n + 1) * sizeof *v);
    size_t n = 0;
    for (size_t i = 0; i < s->pods.cap; i++) {
        const struct pod_rec *p = &s->pods.slots[i];
        double a = *(const double *)((const char *)p + fa), b = *(const double *)((const char *)p + fb);
        if (p->name[0] && a && b) v[n++] = (b - a) * 1e3;
    }
    qsort(v, n, sizeof *v, cmp_double);
    *p50 = pct(v, n, 0.50);
    *p99 = pct(v, n, 0.99);
    free(v);
}

struct probe_stats {
    size_t n, errs;
    double p50, p99, max;
};

static struct probe_stats probe_stats(const struct scale *s, double from, double to)
{
    struct probe_stats r = {0};
    double *v = xrealloc(NULL, (s->nprobes + 1) * sizeof *v);
    for (size_t i = 0; i < s->nprobes; i++) {
        const struct probe_sample *p = &s->probes[i];
        if (p->t < from || p->t >= to) continue;
        if (!p->ok) r.errs++;
        else v[r.n++] = p->ms;
    }
    qsort(v, r.n, sizeof *v, cmp_double);
    r.p50 = pct(v, r.n, 0.5);
    r.p99 = pct(v, r.n, 0.99);
    r.max = r.n ? v[r.n - 1] : 0;
    free(v);
    return r;
}

struct spread {
    int min, max, used, over;
};

static struct spread spread(const struct scale *s)
{
    struct spread r = {0};
    int n = s->pods.nnodes > s->o->nodes ? s->pods.nnodes : s->o->nodes;
    int *count = calloc((size_t)n + 1, sizeof *count);
    if (!count) return r;
    for (size_t i = 0; i < s->pods.cap; i++) {
        const struct pod_rec *p = &s->pods.slots[i];
        if (p->name[0] && p->node >= 0 && !p->deleted) count[p->node]++;
    }
    r.min = n ? count[0] : 0;
    for (int i = 0; i < n; i++) {
        if (count[i] < r.min) r.min = count[i];
        if (count[i] > r.max) r.max = count[i];
        r.used += count[i] > 0;
        r.over += count[i] > 110;
    }
    free(count);
    return r;
}

/* VmRSS, VmHWM (kB) and Threads of pid from /proc/PID/status. */
static void proc_mem(long pid, long *rss, long *hwm, long *threads)
{
    char path[64], line[256];
    *rss = *hwm = *threads = -1;
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = pid > 0 ? fopen(path, "r") : NULL;
    while (f && fgets(line, sizeof line, f)) {
        sscanf(line, "VmRSS: %ld", rss);
        sscanf(line, "VmHWM: %ld", hwm);
        sscanf(line, "Threads: %ld", threads);
    }
    if (f) fclose(f);
}

static size_t count_before(const struct series *x, double t)
{
    size_t lo = 0, hi = x->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (x->t[mid] < t) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static void timeline(const struct scale *s, const struct series *c, const struct series *b,
                     const struct series *r)
{
    double end = s->t_end - s->t0;
    for (int sec = 0; sec < (int)end + 1 && sec < 600; sec++) {
        double lo = sec, hi = sec + 1;
        struct probe_stats ps = probe_stats(s, s->t0 + lo, s->t0 + hi);
        printf("TIMELINE t=%d created=%zu bound=%zu running=%zu total_created=%zu "
               "total_bound=%zu total_running=%zu probe_max_ms=%.1f\n",
               sec + 1, count_before(c, hi) - count_before(c, lo),
               count_before(b, hi) - count_before(b, lo), count_before(r, hi) - count_before(r, lo),
               count_before(c, hi), count_before(b, hi), count_before(r, hi), ps.max);
    }
}

void scale_report(struct scale *s)
{
    const struct scale_opts *o = s->o;
    struct series c = collect(s, offsetof(struct pod_rec, t_add));
    struct series b = collect(s, offsetof(struct pod_rec, t_bound));
    struct series r = collect(s, offsetof(struct pod_rec, t_run));
    double sched50, sched99, start50, start99;
    lat_pct(s, offsetof(struct pod_rec, t_add), offsetof(struct pod_rec, t_bound), &sched50, &sched99);
    lat_pct(s, offsetof(struct pod_rec, t_add), offsetof(struct pod_rec, t_run), &start50, &start99);
    struct probe_stats run = probe_stats(s, s->t0, s->t_end);
    struct probe_stats idle = probe_stats(s, 0, s->t0);
    long nposts = atomic_load(&s->ncreate);
    size_t np = (size_t)(nposts < 4096 ? nposts : 4096);
    qsort(s->create_ms, np, sizeof s->create_ms[0], cmp_double);
    struct spread sp = spread(s);
    long rss, hwm, threads;
    proc_mem(o->pid, &rss, &hwm, &threads);
    double wall = s->t_end - s->t0;
    printf("RESULT target=skiff op=scale conc=1 nodes=%d deployments=%d replicas=%d want=%ld "
           "created=%zu bound=%zu running=%zu deleted=%ld secs_post=%.3f "
           "secs_all_created=%.3f create_rate=%.0f create_peak=%zu "
           "secs_first_bound=%.3f secs_all_bound=%.3f bind_rate=%.0f bind_peak=%zu bind_e2e=%.0f "
           "secs_all_running=%.3f run_rate=%.0f run_peak=%zu "
           "sched_p50_ms=%.0f sched_p99_ms=%.0f start_p50_ms=%.0f start_p99_ms=%.0f "
           "probe_n=%zu probe_errs=%zu probe_p50_ms=%.2f probe_p99_ms=%.2f probe_max_ms=%.1f "
           "probe_idle_p50_ms=%.2f post_p50_ms=%.1f post_p99_ms=%.1f post_errs=%ld "
           "secs_deploy_ready=%.3f node_min=%d node_max=%d nodes_used=%d nodes_over_110=%d "
           "rss_kb=%ld hwm_kb=%ld threads=%ld srv_cores=%.2f cli_cores=%.2f "
           "events=%ld watch_mb=%.1f watch_restarts=%ld relists=%ld\n",
           o->nodes, o->deployments, o->replicas, (long)o->deployments * o->replicas, c.n, b.n,
           r.n, atomic_load(&s->deleted), s->t_posted - s->t0, last(&c), rate(&c), peak(&c, 1.0),
           first(&b), last(&b), rate(&b), peak(&b, 1.0), b.n && last(&b) > 0 ? (double)b.n / last(&b) : 0,
           r.n == (size_t)o->deployments * (size_t)o->replicas ? last(&r) : -1, rate(&r),
           peak(&r, 1.0), sched50, sched99, start50, start99, run.n, run.errs, run.p50, run.p99,
           run.max, idle.p50, pct(s->create_ms, np, 0.5), pct(s->create_ms, np, 0.99),
           atomic_load(&s->create_errs), s->t_deploy_ready ? s->t_deploy_ready - s->t0 : -1,
           sp.min, sp.max, sp.used, sp.over, rss, hwm, threads, wall > 0 ? s->srv_cpu / wall : 0,
           wall > 0 ? s->cli_cpu / wall : 0, s->events, (double)s->watch_bytes / 1048576.0,
           s->watch_restarts, s->relists);
    timeline(s, &c, &b, &r);
    fflush(stdout);
    free(c.t);
    free(b.t);
    free(r.t);
}
