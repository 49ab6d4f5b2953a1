/* bench_pods_load: the pod watch. One watch on the pods of --ns, started
 * from the resourceVersion of a list taken before anything is created, so
 * every transition is seen and stamped with the time this process
 * observed it (the upstream pod-startup SLI is "observed via watch"). A
 * dropped stream resumes from the last resourceVersion; 410 Gone falls
 * back to one full list. */
#include "pods.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *jstr(json_t *o, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(o, a), b));
}

/* Index of a pod this tool created, or -1. */
static int pod_index(const struct pods *p, const char *name)
{
    size_t n = strlen(PODS_PREFIX);
    if (!name || strncmp(name, PODS_PREFIX, n)) return -1;
    char *end;
    long i = strtol(name + n, &end, 10);
    if (*end || end == name + n || i < 0 || i >= p->npods) return -1;
    return (int)i;
}

static bool cond_true(json_t *status, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(status, "conditions"), i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        const char *s = json_string_value(json_object_get(c, "status"));
        if (t && s && !strcmp(t, type)) return !strcmp(s, "True");
    }
    return false;
}

/* The first waiting reason of a container, else the phase: shown when a
 * pod never gets Ready. */
static void note_reason(struct pod_rec *r, json_t *status)
{
    size_t i;
    json_t *cs;
    json_array_foreach(json_object_get(status, "containerStatuses"), i, cs) {
        json_t *w = json_object_get(json_object_get(cs, "state"), "waiting");
        const char *why = json_string_value(json_object_get(w, "reason"));
        const char *msg = json_string_value(json_object_get(w, "message"));
        if (why) {
            snprintf(r->reason, sizeof r->reason, "%s%s%s", why, msg ? ": " : "", msg ? msg : "");
            return;
        }
    }
    const char *phase = json_string_value(json_object_get(status, "phase"));
    if (phase) snprintf(r->reason, sizeof r->reason, "phase %s", phase);
}

/* Applies one pod as seen at time t; the caller holds the mutex. */
static void see_pod(struct pods *p, const char *type, json_t *pod, double t)
{
    const char *rv = jstr(pod, "metadata", "resourceVersion");
    if (rv && strlen(rv) < sizeof p->rv) snprintf(p->rv, sizeof p->rv, "%s", rv);
    int i = pod_index(p, jstr(pod, "metadata", "name"));
    if (i < 0) return;
    struct pod_rec *r = &p->pods[i];
    if (!strcmp(type, "DELETED")) {
        if (!r->t_gone) {
            r->t_gone = t;
            p->ngone++;
        }
        return;
    }
    json_t *status = json_object_get(pod, "status");
    const char *phase = json_string_value(json_object_get(status, "phase"));
    if (phase && !strcmp(phase, "Running") && !r->t_running) r->t_running = t;
    if (!r->t_ready && cond_true(status, "Ready")) {
        r->t_ready = t;
        p->nready++;
    }
    note_reason(r, status);
}

struct stream {
    struct pods *p;
    struct buf line;
    bool expired; /* the server answered 410 Gone: relist */
    bool failed;  /* an unparsable event or a line over the cap */
};

static void handle_event(struct stream *w, json_t *ev)
{
    struct pods *p = w->p;
    const char *type = json_string_value(json_object_get(ev, "type"));
    json_t *obj = json_object_get(ev, "object");
    if (!type) return;
    if (!strcmp(type, "ERROR")) {
        json_int_t code = json_integer_value(json_object_get(obj, "code"));
        if (code == 410) w->expired = true;
        else fprintf(stderr, "bench_pods_load: watch: ERROR %lld: %s\n", (long long)code,
                     json_string_value(json_object_get(obj, "message")));
        w->failed = code != 410;
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->events++;
    if (!strcmp(type, "BOOKMARK")) {
        const char *rv = jstr(obj, "metadata", "resourceVersion");
        if (rv && strlen(rv) < sizeof p->rv) snprintf(p->rv, sizeof p->rv, "%s", rv);
    } else {
        see_pod(p, type, obj, now());
    }
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static size_t on_watch_data(char *ptr, size_t sz, size_t n, void *u)
{
    struct stream *w = u;
    size_t len = sz * n;
    if (atomic_load(&w->p->stop)) return 0;
    if (w->line.len + len > PODS_MAX_LINE) {
        fprintf(stderr, "bench_pods_load: watch: event over %u bytes\n", PODS_MAX_LINE);
        w->failed = true;
        return 0;
    }
    buf_reserve(&w->line, len);
    memcpy(w->line.p + w->line.len, ptr, len);
    w->line.len += len;
    char *start = w->line.p, *end = w->line.p + w->line.len, *nl;
    while ((nl = memchr(start, '\n', (size_t)(end - start)))) {
        size_t l = (size_t)(nl - start);
        if (l) {
            json_error_t jerr;
            json_t *ev = json_loadb(start, l, 0, &jerr);
            if (!ev) {
                fprintf(stderr, "bench_pods_load: watch: bad event: %s\n", jerr.text);
                w->failed = true;
                return 0;
            }
            handle_event(w, ev);
            json_decref(ev);
            if (w->expired || w->failed) return 0;
        }
        start = nl + 1;
    }
    w->line.len = (size_t)(end - start);
    memmove(w->line.p, start, w->line.len);
    return len;
}

static size_t on_watch_header(char *ptr, size_t sz, size_t n, void *u)
{
    struct stream *w = u;
    (void)ptr;
    atomic_store(&w->p->watching, 1);
    return sz * n;
}

/* Polled by libcurl about once a second even on an idle stream. */
static int on_progress(void *u, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    struct stream *w = u;
    (void)a, (void)b, (void)c, (void)d;
    return atomic_load(&w->p->stop) ? 1 : 0;
}

/* After 410 Gone: one full list; pods of ours missing from it are gone. */
static int relist(struct pods *p, CURL *c)
{
    const struct pods_opts *o = p->o;
    struct buf resp = {0};
    char url[512];
    snprintf(url, sizeof url, "%s/api/v1/namespaces/%s/pods", o->url, o->ns);
    long st = request(c, &resp, "GET", url, NULL, 0);
    json_t *doc = st == 200 ? json_loadb(resp.p, resp.len, 0, NULL) : NULL;
    free(resp.p);
    if (!doc) {
        fprintf(stderr, "bench_pods_load: relist: HTTP %ld\n", st);
        return -1;
    }
    double t = now();
    bool *seen = calloc((size_t)p->npods, sizeof *seen);
    if (!seen) exit(1);
    size_t i;
    json_t *item;
    pthread_mutex_lock(&p->mu);
    json_array_foreach(json_object_get(doc, "items"), i, item) {
        int k = pod_index(p, jstr(item, "metadata", "name"));
        if (k >= 0) seen[k] = true;
        see_pod(p, "MODIFIED", item, t);
    }
    for (int k = 0; k < p->npods; k++)
        if (p->pods[k].created && !seen[k] && !p->pods[k].t_gone) {
            p->pods[k].t_gone = t;
            p->ngone++;
        }
    const char *rv = jstr(doc, "metadata", "resourceVersion");
    if (rv && strlen(rv) < sizeof p->rv) snprintf(p->rv, sizeof p->rv, "%s", rv);
    p->relists++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    free(seen);
    json_decref(doc);
    return 0;
}

void *pods_watch_thread(void *arg)
{
    struct pods *p = arg;
    const struct pods_opts *o = p->o;
    struct curl_slist *hdr = std_headers();
    CURL *c = http_client(o->ca, o->cert, o->key, hdr);
    struct stream w = {.p = p};
    char url[512], rv[32];
    while (c && !atomic_load(&p->stop)) {
        pthread_mutex_lock(&p->mu);
        snprintf(rv, sizeof rv, "%s", p->rv);
        pthread_mutex_unlock(&p->mu);
        snprintf(url, sizeof url,
                 "%s/api/v1/namespaces/%s/pods?watch=1&resourceVersion=%s"
                 "&allowWatchBookmarks=true&timeoutSeconds=600",
                 o->url, o->ns, rv);
        w.line.len = 0;
        w.expired = w.failed = false;
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_watch_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &w);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_watch_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &w);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &w);
        CURLcode rc = curl_easy_perform(c);
        if (atomic_load(&p->stop)) break;
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 1L);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, NULL);
        p->watch_restarts++;
        if (w.expired || status == 410) {
            if (relist(p, c) < 0) usleep(200000);
            continue;
        }
        if (rc != CURLE_OK || status != 200 || w.failed)
            fprintf(stderr, "bench_pods_load: watch ended (%s, HTTP %ld); resuming at %s\n",
                    curl_easy_strerror(rc), status, rv);
        usleep(100000);
    }
    if (c) curl_easy_cleanup(c);
    curl_slist_free_all(hdr);
    free(w.line.p);
    return NULL;
}

int pods_wait(struct pods *p, int from, int to, bool gone, double deadline)
{
    int done = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        done = 0;
        for (int i = from; i < to; i++)
            done += gone ? p->pods[i].t_gone != 0 : p->pods[i].t_ready != 0;
        double left = deadline - now();
        if (done >= to - from || left <= 0) break;
        if (left > 0.5) left = 0.5; /* recount now and then even without events */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        long ns = ts.tv_nsec + (long)(left * 1e9);
        ts.tv_sec += ns / 1000000000L;
        ts.tv_nsec = ns % 1000000000L;
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    }
    pthread_mutex_unlock(&p->mu);
    return done;
}
