/* Internal to bench_scale_load (scale_load.c, scale_watch.c,
 * scale_report.c): options, the pod table filled from the pod watch, and
 * the probe samples. */
#ifndef BENCH_SCALE_H
#define BENCH_SCALE_H

#include "http.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define SCALE_MAX_CONC 64
#define SCALE_MAX_LINE (8u << 20) /* one watch event; a pod is a few KB */

struct scale_opts {
    const char *url, *ca, *cert, *key, *ns, *cpu, *mem, *image;
    int nodes, deployments, replicas, conc, probe_ms;
    double timeout, node_timeout, ready_timeout;
    long pid;
};

/* What the watch saw of one pod, in now() seconds; 0 = not yet. */
struct pod_rec {
    char name[64]; /* "" = free slot */
    double t_add, t_bound, t_run;
    int node; /* index into pod_table.nodes, -1 until bound */
    bool deleted;
};

/* Open-addressing table keyed by pod name; written only by the watch
 * thread, read by the report after that thread has been joined. */
struct pod_table {
    struct pod_rec *slots;
    size_t cap, n;
    char (*nodes)[64];
    int nnodes, capnodes, last_node;
};

struct probe_sample {
    double t, ms;
    bool ok;
};

struct scale {
    const struct scale_opts *o;
    struct pod_table pods;
    /* Progress counters, bumped by the watch thread, read by main. */
    atomic_long added, bound, running, deleted;
    atomic_int stop;      /* tells the watch and probe threads to finish */
    atomic_int watching;  /* the watch has its response headers */
    char rv[32];          /* where the watch resumes */
    long events, watch_restarts, relists;
    size_t watch_bytes;
    /* probe thread */
    struct probe_sample *probes;
    size_t nprobes, capprobes;
    /* deployment POSTs */
    double create_ms[4096];
    atomic_long ncreate, create_errs;
    atomic_int err_printed;
    /* timeline, in now() seconds */
    double t_ready, t0, t_posted, t_end, t_deploy_ready;
    double srv_cpu, cli_cpu; /* CPU seconds over [t0, t_end] */
};

/* scale_watch.c */
struct pod_rec *pods_get(struct pod_table *pt, const char *name);
void pods_free(struct pod_table *pt);
void *watch_thread(void *arg); /* arg: struct scale *; runs until stop */

/* scale_report.c: prints RESULT / TIMELINE lines on stdout. */
void scale_report(struct scale *s);

#endif
