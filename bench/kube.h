/* Small Kubernetes helpers shared by the bench tools that drive a cluster
 * (bench_scale_load, bench_pods_load). */
#ifndef BENCH_KUBE_H
#define BENCH_KUBE_H

#include "http.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>

void sleep_secs(double secs);
/* GET url and parse it; NULL unless HTTP 200 + JSON. *status (optional) gets the code. */
json_t *get_json(CURL *c, const char *url, long *status);
/* The node's Ready condition is True. */
bool node_ready(json_t *node);

/* A pod watch that resumes where it stopped: GET BASE?watch=1 from the
 * resourceVersion get_rv gives, one JSON event per line to on_event (with
 * the time it was read; types ADDED, MODIFIED, DELETED, BOOKMARK), relist
 * after 410 Gone, reconnect after anything else, until *stop. Shared by the
 * bench tools' watch threads. */
struct kube_watch {
    const char *tag;     /* program name for messages */
    const char *base;    /* ".../api/v1/namespaces/NS/pods" */
    size_t max_line;     /* cap on one event */
    atomic_int *stop;    /* non-zero ends it */
    atomic_int *watching; /* set once a stream has its response headers */
    long *restarts;      /* counts reconnections */
    size_t *bytes;       /* counts bytes read (may be NULL) */
    void (*get_rv)(void *ud, char *out, size_t n);
    void (*on_event)(void *ud, const char *type, json_t *obj, double t);
    int (*relist)(void *ud, CURL *c); /* after 410 Gone; < 0 = retry later */
    void *ud;
};
/* Runs on the calling thread until *stop. */
void kube_watch_run(struct kube_watch *kw, CURL *c);

#endif
