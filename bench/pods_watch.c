/* bench_pods_load: the pod watch. One watch on the pods of --ns, started
 * from the resourceVersion of a list taken before anything is created, so
 * every transition is seen and stamped with the time this process
 * observed it (the upstream pod-startup SLI is "observed via watch"). A
 * dropped stream resumes from the last resourceVersion; 410 Gone falls
 * back to one full list. */
#include "pods.h"
#include "kube.h"

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

/* Every event of the watch (kube_watch_run), under the table lock. */
static void on_event(void *ud, const char *type, json_t *obj, double t)
{
    struct pods *p = ud;
    pthread_mutex_lock(&p->mu);
    p->events++;
    if (!strcmp(type, "BOOKMARK")) {
        const char *rv = jstr(obj, "metadata", "resourceVersion");
        if (rv && strlen(rv) < sizeof p->rv) snprintf(p->rv, sizeof p->rv, "%s", rv);
    } else {
        see_pod(p, type, obj, t);
    }
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void get_rv(void *ud, char *out, size_t n)
{
    struct pods *p = ud;
    pthread_mutex_lock(&p->mu);
    snprintf(out, n, "%s", p->rv);
    pthread_mutex_unlock(&p->mu);
}

/* After 410 Gone: one full list; pods of ours missing from it are gone. */
static int relist(void *ud, CURL *c)
{
    struct pods *p = ud;
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
    char base[512];
    snprintf(base, sizeof base, "%s/api/v1/namespaces/%s/pods", o->url, o->ns);
    struct kube_watch kw = {.tag = "bench_pods_load", .base = base, .max_line = PODS_MAX_LINE,
                            .stop = &p->stop, .watching = &p->watching,
                            .restarts = &p->watch_restarts, .get_rv = get_rv,
                            .on_event = on_event, .relist = relist, .ud = p};
    kube_watch_run(&kw, c);
    if (c) curl_easy_cleanup(c);
    curl_slist_free_all(hdr);
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
