/* bench_api_load list and watch phases (skiff only).
 *
 * list: one warm client times --reps full GETs of the pods in --ns and, with
 * --limit, --reps paged walks following metadata.continue. Only request
 * time counts; parsing each page to find the token happens between requests.
 *
 * watch: --watchers threads each hold one watch on the ConfigMaps of --ns
 * from a known resourceVersion (so a watch that connects late still sees
 * every event), then --conc writers create --writes ConfigMaps. The figure
 * is the time from the first write until the last watcher has its last
 * ADDED event. */
#include "api_load.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Items in one list response and its continue token (caller frees). */
static long list_page_info(const struct buf *resp, char **cont)
{
    json_error_t jerr;
    json_t *doc = json_loadb(resp->p, resp->len, 0, &jerr);
    *cont = NULL;
    if (!doc) return -1;
    json_t *meta = json_object_get(doc, "metadata");
    const char *c = json_string_value(json_object_get(meta, "continue"));
    if (c && *c) *cont = strdup(c);
    long n = (long)json_array_size(json_object_get(doc, "items"));
    json_decref(doc);
    return n;
}

/* One paged walk; returns the request time in seconds or -1. */
static double paged_walk(CURL *c, struct buf *resp, const struct opts *o, long *items, int *pages)
{
    char *cont = NULL;
    double total = 0;
    *items = 0;
    *pages = 0;
    do {
        char url[4096];
        char *esc = cont ? curl_easy_escape(c, cont, 0) : NULL;
        snprintf(url, sizeof url, "%s/api/v1/namespaces/%s/pods?limit=%d%s%s", o->url, o->ns,
                 o->limit, esc ? "&continue=" : "", esc ? esc : "");
        curl_free(esc);
        free(cont);
        cont = NULL;
        double t0 = now();
        long st = request(c, resp, "GET", url, NULL, 0);
        total += now() - t0;
        if (st != 200) {
            fprintf(stderr, "bench_api_load: paged list: HTTP %ld: %.400s\n", st, resp->p);
            return -1;
        }
        long n = list_page_info(resp, &cont);
        if (n < 0) return -1;
        *items += n;
        ++*pages;
    } while (cont && *pages < 100000);
    free(cont);
    return total;
}

static void print_list(const char *op, const double *ms, int reps, long items, size_t bytes,
                       int pages)
{
    double sorted[64];
    int n = reps < 64 ? reps : 64;
    memcpy(sorted, ms, (size_t)n * sizeof *ms);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_double);
    printf("RESULT target=skiff op=%s conc=1 items=%ld bytes=%zu pages=%d median_ms=%.1f "
           "min_ms=%.1f max_ms=%.1f\n",
           op, items, bytes, pages, sorted[n / 2], sorted[0], sorted[n - 1]);
    fflush(stdout);
}

int bench_list(struct bench *b)
{
    const struct opts *o = b->o;
    char url[512];
    double ms[64];
    int reps = o->reps < 64 ? o->reps : 64, pages = 0;
    long items = -1;
    size_t bytes = 0;
    if (workers_start(b, 1) < 0) return -1;
    struct worker *w = &b->w[0];
    snprintf(url, sizeof url, "%s/api/v1/namespaces/%s/pods", o->url, o->ns);
    for (int i = 0; i < reps; i++) {
        double t0 = now();
        long st = request(w->c, &w->resp, "GET", url, NULL, 0);
        ms[i] = (now() - t0) * 1e3;
        if (st != 200) {
            fprintf(stderr, "bench_api_load: list: HTTP %ld: %.400s\n", st, w->resp.p);
            workers_free(b);
            return -1;
        }
    }
    char *cont = NULL;
    items = list_page_info(&w->resp, &cont);
    bytes = w->resp.len;
    free(cont);
    print_list("list", ms, reps, items, bytes, 1);
    if (o->limit > 0) {
        for (int i = 0; i < reps; i++) {
            double s = paged_walk(w->c, &w->resp, o, &items, &pages);
            if (s < 0) {
                workers_free(b);
                return -1;
            }
            ms[i] = s * 1e3;
        }
        print_list("list-paged", ms, reps, items, 0, pages);
    }
    workers_free(b);
    return 0;
}

struct watcher {
    const struct opts *o;
    CURL *c;
    struct curl_slist *hdr;
    char url[512];
    char pre[24]; /* start of the current event line, enough to see its type */
    size_t npre;
    long added, other;
    atomic_int ready, finished;
    double t_done;
    atomic_int *stop;
    pthread_t th;
};

static void on_line(struct watcher *w)
{
    w->pre[w->npre] = 0;
    if (!strncmp(w->pre, "{\"type\":\"ADDED\"", 15)) w->added++;
    else if (strncmp(w->pre, "{\"type\":\"BOOKMARK\"", 18)) w->other++;
    w->npre = 0;
}

/* Counts newline-terminated events; aborts the transfer once all arrived. */
static size_t on_watch_data(char *p, size_t sz, size_t nm, void *u)
{
    struct watcher *w = u;
    size_t n = sz * nm, total = n;
    while (n) {
        char *nl = memchr(p, '\n', n);
        size_t seg = nl ? (size_t)(nl - p) : n, room = sizeof w->pre - 1 - w->npre;
        size_t take = seg < room ? seg : room;
        memcpy(w->pre + w->npre, p, take);
        w->npre += take;
        if (!nl) break;
        on_line(w);
        p = nl + 1;
        n -= seg + 1;
    }
    if (w->added >= w->o->writes) {
        w->t_done = now();
        return 0;
    }
    return total;
}

static size_t on_watch_header(char *p, size_t sz, size_t n, void *u)
{
    struct watcher *w = u;
    if (sz * n > 12 && !strncmp(p, "HTTP/", 5)) atomic_store(&w->ready, 1);
    return sz * n;
}

static int on_watch_progress(void *u, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    struct watcher *w = u;
    return atomic_load(w->stop);
}

static void *watch_thread(void *arg)
{
    struct watcher *w = arg;
    curl_easy_setopt(w->c, CURLOPT_URL, w->url);
    curl_easy_setopt(w->c, CURLOPT_WRITEFUNCTION, on_watch_data);
    curl_easy_setopt(w->c, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(w->c, CURLOPT_HEADERFUNCTION, on_watch_header);
    curl_easy_setopt(w->c, CURLOPT_HEADERDATA, w);
    curl_easy_setopt(w->c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(w->c, CURLOPT_XFERINFOFUNCTION, on_watch_progress);
    curl_easy_setopt(w->c, CURLOPT_XFERINFODATA, w);
    curl_easy_setopt(w->c, CURLOPT_TIMEOUT, 180L);
    CURLcode rc = curl_easy_perform(w->c);
    if (rc != CURLE_OK && rc != CURLE_WRITE_ERROR && rc != CURLE_ABORTED_BY_CALLBACK)
        fprintf(stderr, "bench_api_load: watch: %s\n", curl_easy_strerror(rc));
    atomic_store(&w->ready, 1);
    atomic_store(&w->finished, 1);
    return NULL;
}

static bool wait_all(struct watcher *ws, int n, size_t field_off, double deadline)
{
    for (;;) {
        int k = 0;
        for (int i = 0; i < n; i++) k += atomic_load((atomic_int *)((char *)&ws[i] + field_off));
        if (k == n) return true;
        if (now() >= deadline) return false;
        usleep(2000);
    }
}

static void watch_report(const struct opts *o, struct watcher *ws, int n, double t0, double t_end)
{
    long delivered = 0, other = 0;
    int complete = 0;
    double last = t0;
    for (int i = 0; i < n; i++) {
        delivered += ws[i].added < o->writes ? ws[i].added : o->writes;
        other += ws[i].other;
        if (ws[i].added >= o->writes) {
            complete++;
            if (ws[i].t_done > last) last = ws[i].t_done;
        }
    }
    double secs = (complete == n ? last : t_end) - t0;
    printf("RESULT target=skiff op=watch conc=%d watchers=%d writes=%ld complete=%d "
           "delivered=%ld other_events=%ld secs=%.3f rate=%.0f\n",
           o->conc, n, o->writes, complete, delivered, other, secs,
           secs > 0 ? (double)delivered / secs : 0);
    fflush(stdout);
}

int bench_watch(struct bench *b)
{
    const struct opts *o = b->o;
    static atomic_int stop;
    char url[512], rv[32];
    int n = o->watchers, rc = -1;
    if (workers_start(b, o->conc) < 0) return -1;
    snprintf(url, sizeof url, "%s/api/v1/namespaces/%s/configmaps?limit=1", o->url, o->ns);
    long st = request(b->w[0].c, &b->w[0].resp, "GET", url, NULL, 0);
    if (st != 200 || !json_field(b->w[0].resp.p, "resourceVersion", rv, sizeof rv)) {
        fprintf(stderr, "bench_api_load: watch: list for resourceVersion: HTTP %ld: %.400s\n", st,
                b->w[0].resp.p);
        workers_free(b);
        return -1;
    }
    struct watcher *ws = calloc((size_t)n, sizeof *ws);
    int started = 0;
    for (; ws && started < n; started++) {
        struct watcher *w = &ws[started];
        w->o = o;
        w->stop = &stop;
        w->hdr = std_headers();
        w->c = client_new(o, w->hdr);
        snprintf(w->url, sizeof w->url,
                 "%s/api/v1/namespaces/%s/configmaps?watch=1&resourceVersion=%s&timeoutSeconds=170",
                 o->url, o->ns, rv);
        if (!w->c || pthread_create(&w->th, NULL, watch_thread, w)) break;
    }
    if (started < n) goto out;
    if (!wait_all(ws, n, offsetof(struct watcher, ready), now() + 15))
        fprintf(stderr, "bench_api_load: watch: not every watch answered within 15 s\n");
    double t0 = now();
    run_phase(b, "watch-writes", op_create, o->writes, 60);
    wait_all(ws, n, offsetof(struct watcher, finished), now() + 30);
    double t_end = now();
    watch_report(o, ws, n, t0, t_end);
    rc = 0;
out:
    atomic_store(&stop, 1);
    for (int i = 0; i < started; i++) pthread_join(ws[i].th, NULL);
    for (int i = 0; ws && i < n; i++) {
        curl_easy_cleanup(ws[i].c);
        curl_slist_free_all(ws[i].hdr);
    }
    free(ws);
    workers_free(b);
    return rc;
}
