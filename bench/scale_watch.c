/* bench_scale_load: the pod watch. One watch on the pods of --ns, started
 * from the resourceVersion of an empty list before anything is created, so
 * every ADDED / binding / Running transition is seen once, stamped with the
 * time this process observed it (as the upstream pod-startup SLI measures
 * "observed via watch"). A dropped stream resumes from the last
 * resourceVersion; 410 Gone falls back to one full list. */
#include "scale.h"
#include "kube.h"

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

/* Every event of the watch (kube_watch_run); only this thread writes. */
static void on_event(void *ud, const char *type, json_t *obj, double t)
{
    struct scale *s = ud;
    s->events++;
    if (!strcmp(type, "BOOKMARK")) {
        const char *rv = jstr(obj, "metadata", "resourceVersion");
        if (rv && strlen(rv) < sizeof s->rv) snprintf(s->rv, sizeof s->rv, "%s", rv);
    } else {
        see_pod(s, type, obj, t);
    }
}

static void get_rv(void *ud, char *out, size_t n)
{
    snprintf(out, n, "%s", ((struct scale *)ud)->rv);
}

/* After 410 Gone: one full list, every item applied at the current time. */
static int relist(void *ud, CURL *c)
{
    struct scale *s = ud;
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
    char base[512];
    snprintf(base, sizeof base, "%s/api/v1/namespaces/%s/pods", o->url, o->ns);
    struct kube_watch kw = {.tag = "bench_scale_load", .base = base, .max_line = SCALE_MAX_LINE,
                            .stop = &s->stop, .watching = &s->watching,
                            .restarts = &s->watch_restarts, .bytes = &s->watch_bytes,
                            .get_rv = get_rv, .on_event = on_event, .relist = relist, .ud = s};
    kube_watch_run(&kw, c);
    if (c) curl_easy_cleanup(c);
    curl_slist_free_all(hdr);
    return NULL;
}
