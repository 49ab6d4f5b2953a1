/* Internal to bench_api_load (api_load.c, api_watch.c): shared types. The
 * HTTP helpers are in http.h, shared with bench_scale_load. */
#ifndef BENCH_API_LOAD_H
#define BENCH_API_LOAD_H

#include "http.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define MAX_CONC 256
#define MAX_WATCHERS 1000

enum target { T_SKIFF, T_ETCD };

struct opts {
    enum target target;
    const char *url, *ca, *cert, *key, *op, *ns, *tag;
    int conc, reps, limit, watchers;
    long count, writes, max_ops, size, pid;
    double secs;
};

struct obj {
    char name[64];
    char rv[24]; /* skiff resourceVersion / etcd mod_revision */
};

struct worker {
    int id;
    CURL *c;
    struct curl_slist *hdr;
    struct buf resp, body;
    double *lat;
    size_t nlat, caplat;
    struct obj *objs;
    size_t nobj, capobj, cursor;
    long errs;
    bool idle; /* nothing left for this thread in the current phase */
    unsigned seed;
    struct bench *b;
    pthread_t th;
};

struct bench {
    const struct opts *o;
    struct worker *w;
    int nw;
    pthread_barrier_t bar;
    double deadline;
    long max_ops;
    atomic_long tickets;
    atomic_int err_printed;
    const char *phase;
    struct obj **all; /* every created object, for random gets */
    size_t nall;
    char pad[8192];    /* ConfigMap payload: --size bytes of 'x' */
};

/* A keep-alive handle; for skiff it carries the client certificate. */
CURL *client_new(const struct opts *o, struct curl_slist *hdr);
typedef void (*op_fn)(struct worker *w, long seq);
/* POSTs one ConfigMap named after the worker and seq into --ns. */
void op_create(struct worker *w, long seq);
int workers_start(struct bench *b, int n);
void workers_free(struct bench *b);
/* Runs fn on all workers until max_ops tickets or secs; prints RESULT. */
void run_phase(struct bench *b, const char *name, op_fn fn, long max_ops, double secs);
/* Phases in api_watch.c; each prints RESULT lines, returns 0 or -1. */
int bench_list(struct bench *b);
int bench_watch(struct bench *b);

#endif
