/* bench_scale_load: the pod watch. One watch on the pods of --ns, started
 * from the resourceVersion of an empty list before anything is created, so
 * every ADDED / binding / Running transition is seen once, stamped with the
 * time this process observed it (as the upstream pod-startup SLI measures
 * "observed via watch"). A dropped stream resumes from the last
 * resourceVersion; 410 Gone falls back to one full list. */
#include "scale.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t hash_name(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static void pods_grow(struct pod_table *pt)
{
    struct pod_table old = *pt;
    pt->cap = old.cap ? old.cap * 2 : 32768;
    pt->slots = calloc(pt->cap, sizeof *pt->slots);
    if (!pt->slots) {
        fprintf(stderr, "bench_scale_load: out of memory\n");
        exit(1);
    }
    pt->n = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].name[0]) *pods_get(pt, old.slots[i].name) = old.slots[i];
    free(old.slots);
}

/* The record for name, created empty on first sight. */
struct pod_rec *pods_get(struct pod_table *pt, const char *name)
{
    if ((pt->n + 1) * 2 > pt->cap) pods_grow(pt);
    size_t i = hash_name(name) & (pt->cap - 1);
    while (pt->slots[i].name[0]) {
        if (!strcmp(pt->slots[i].name, name)) return &pt->slots[i];
        i = (i + 1) & (pt->cap - 1);
    }
    struct pod_rec *r = &pt->slots[i];
    snprintf(r->name, sizeof r->name, "%s", name);
    r->node = -1;
    pt->n++;
    return r;
}

void pods_free(struct pod_table *pt)
{
    free(pt->slots);
    free(pt->nodes);
    memset(pt, 0, sizeof *pt);
}

static int node_index(struct pod_table *pt, const char *name)
{
    if (pt->last_node < pt->nnodes && !strcmp(pt->nodes[pt->last_node], name))
        return pt->last_node;
    for (int i = 0; i < pt->nnodes; i++)
        if (!strcmp(pt->nodes[i], name)) return pt->last_node = i;
    if (pt->nnodes == pt->capnodes) {
        pt->capnodes = pt->capnodes ? pt->capnodes * 2 : 128;
        pt->nodes = xrealloc(pt->nodes, (size_t)pt->capnodes * sizeof *pt->nodes);
    }
    snprintf(pt->nodes[pt->nnodes], sizeof pt->nodes[0], "%s", name);
    return pt->last_node = pt->nnodes++;
}

static const char *jstr(json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(json_object_get(o, a), b);
    return json_string_value(v);
}

/* Applies one pod as seen at time t (a watch event or a relisted item). */
static void see_pod(struct scale *s, const char *type, json_t *pod, double t)
{
    const char *name = jstr(pod, "metadata", "name");
    const char *rv = jstr(pod, "metadata", "resourceVersion");
    if (rv && strlen(rv) < sizeof s->rv) snprintf(s->rv, sizeof s->rv, "%s", rv);
    if (!name) return;
    struct pod_rec *r = pods_get(&s->pods, name);
    if (!r->t_add) {
        r->t_add = t;
        atomic_fetch_add(&s->added, 1);
    }
    if (!strcmp(type, "DELETED")) {
        if (!r->deleted) atomic_fetch_add(&s->deleted, 1);
        r->deleted = true;
        return;
    }
    const char *node = jstr(pod, "spec", "nodeName");
    if (node && *node && !r->t_bound) {
        r->t_bound = t;
        r->node = node_index(&s->pods, node);
        atomic_fetch_add(&s->bound, 1);
    }
    const char *phase = jstr(pod, "status", "phase");
    if (phase && !strcmp(phase, "Running") && !r->t_run) {
        r->t_run = t;
        atomic_fetch_add(&s->running, 1);
    }
}

struct stream {
    struct scale *s;
    struct buf line;
    bool expired; /* the server answered 410 Gone: relist */
    bool failed;  /* an unparsable event or a line over the cap */
};

/* Returns false to end the stream. */
static bool handle_line(struct stream *w, const char *p, size_t n)
{
    struct scale *s = w->s;
    if (!n) return true;
    json_error_t jerr;
    json_t *ev = json_loadb(p, n, 0, &jerr);
    if (!ev) {
        fprintf(stderr, "bench_scale_load: watch: bad event: %s\n", jerr.text);
        w->failed = true;
        return false;
    }
    s->events++;
    const char *type = json_string_value(json_object_get(ev, "type"));
    json_t *obj = json_object_get(ev, "object");
    bool go = true;
    if (type && !strcmp(type, "ERROR")) {
        json_int_t code = json_integer_value(json_object_get(obj, "code"));
        if (code == 410) w->expired = true;
        else fprintf(stderr, "bench_scale_load: watch: ERROR %lld: %s\n", (long long)code,
                     json_string_value(json_object_get(obj, "message")));
        w->failed = code != 410;
        go = false;
    } else if (type && !strcmp(type, "BOOKMARK")) {
        const char *rv = jstr(obj, "metadata", "resourceVersion");
        if (rv && strlen(rv) < sizeof s->rv) snprintf(s->rv, sizeof s->rv, "%s", rv);
    } else if (type) {
        see_pod(s, type, obj, now());
    }
    json_decref(ev);
    return go;
}

static size_t on_watch_data(char *p, size_t sz, size_t n, void *u)
{
    struct stream *w = u;
    size_t len = sz * n;
    if (atomic_load(&w->s->stop)) return 0;
    w->s->watch_bytes += len;
    if (w->line.len + len > SCALE_MAX_LINE) {
        fprintf(stderr, "bench_scale_load: watch: event over %u bytes\n", SCALE_MAX_LINE);
        w->failed = true;
        return 0;
    }
    buf_reserve(&w->line, len);
    memcpy(w->line.p + w->line.len, p, len);
    w->line.len += len;
    char *start = w->line.p, *end = w->line.p + w->line.len, *nl;
    while ((nl = memchr(start, '\n', (size_t)(end - start)))) {
        if (!handle_line(w, start, (size_t)(nl - start))) return 0;
        start = nl + 1;
    }
    w->line.len = (size_t)(end - start);
    memmove(w->line.p, start, w->line.len);
    return len;
}

static size_t on_watch_header(char *p, size_t sz, size_t n, void *u)
{
    struct stream *w = u;
    atomic_store(&w->s->watching, 1);
    (void)p;
    return sz * n;
}

/* Polled by libcurl about once a second even on an idle stream. */
static int on_progress(void *u, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    struct stream *w = u;
    (void)a, (void)b, (void)c, (void)d;
    return atomic_load(&w->s->stop) ? 1 : 0;
}

/* After 410 Gone: one full list, every item applied at the current time. */
static int relist(struct scale *s, CURL *c)
{
    const struct scale_opts *o = s->o;
    struct buf resp = {0};
    char url[512];
    snprintf(url, sizeof url, "%s/api/v1/namespaces/%s/pods", o->url, o->ns);
    long st = request(c, &resp, "GET", url, NULL, 0);
    json_t *doc = st == 200 ? json_loadb(resp.p, resp.len, 0, NULL) : NULL;
    free(resp.p);
    if (!doc) {
        fprintf(stderr, "bench_scale_load: relist: HTTP %ld\n", st);
        return -1;
    }
    double t = now();
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(doc, "items"), i, item) see_pod(s, "MODIFIED", item, t);
    const char *rv = jstr(doc, "metadata", "resourceVersion");
    if (rv && strlen(rv) < sizeof s->rv) snprintf(s->rv, sizeof s->rv, "%s", rv);
    json_decref(doc);
    s->relists++;
    return 0;
}

void *watch_thread(void *arg)
{
    struct scale *s = arg;
    const struct scale_opts *o = s->o;
    struct curl_slist *hdr = std_headers();
    CURL *c = http_client(o->ca, o->cert, o->key, hdr);
    struct stream w = {.s = s};
    char url[512];
    while (c && !atomic_load(&s->stop)) {
        snprintf(url, sizeof url,
                 "%s/api/v1/namespaces/%s/pods?watch=1&resourceVersion=%s"
                 "&allowWatchBookmarks=true&timeoutSeconds=600",
                 o->url, o->ns, s->rv);
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
        if (atomic_load(&s->stop)) break;
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 1L);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, NULL);
        s->watch_restarts++;
        if (w.expired || status == 410) {
            if (relist(s, c) < 0) usleep(200000);
            continue;
        }
        if (rc != CURLE_OK || status != 200 || w.failed)
            fprintf(stderr, "bench_scale_load: watch ended (%s, HTTP %ld); resuming at %s\n",
                    curl_easy_strerror(rc), status, s->rv);
        usleep(100000);
    }
    if (c) curl_easy_cleanup(c);
    curl_slist_free_all(hdr);
    free(w.line.p);
    return NULL;
}
