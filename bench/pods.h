/* Internal to bench_pods_load (pods_load.c, pods_watch.c, pods_raw.c):
 * options, the pod table filled from the pod watch, and the raw crun
 * floor. */
#ifndef BENCH_PODS_H
#define BENCH_PODS_H

#include "http.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define PODS_MAX 1000
#define PODS_MAX_CONC 32
#define PODS_MAX_LINE (4u << 20) /* one watch event; a pod is a few KB */
#define PODS_PREFIX "pods-bench-"

struct pods_opts {
    const char *url, *ca, *cert, *key, *ns, *node, *image;
    int count, conc, single_reps;
    bool schedule;          /* leave spec.nodeName to the scheduler */
    double timeout;         /* per phase, seconds */
    double settle;          /* seconds between all Ready and the RSS reading */
    long agent_pid, server_pid;
};

/* What this process saw of one pod, in now() seconds; 0 = not yet. Pod i
 * is named PODS_PREFIX<i>: 0 .. single_reps-1 are the single-pod runs,
 * the rest the load. */
struct pod_rec {
    double t_create, t_posted, t_running, t_ready, t_delete, t_gone;
    bool created;            /* POST answered 201 */
    char reason[96];         /* last waiting reason / phase, for messages */
};

struct pods {
    const struct pods_opts *o;
    struct pod_rec *pods;
    int npods;
    pthread_mutex_t mu; /* guards pods[], the counters and rv */
    pthread_cond_t cv;  /* signalled on every pod change */
    int nready, ngone;
    char rv[32];        /* where the watch resumes */
    atomic_int stop, watching;
    long events, watch_restarts, relists;
};

/* pods_watch.c */
void *pods_watch_thread(void *arg); /* arg: struct pods *; runs until stop */
/* Waits until count(field != 0) over pods [from, to) reaches to - from or
 * deadline (now() seconds) passes; returns the count. Takes the mutex. */
int pods_wait(struct pods *p, int from, int to, bool gone, double deadline);

/* pods_raw.c: `bench_pods_load layers ...` and `bench_pods_load raw ...`. */
int pods_layers_main(int argc, char **argv);
int pods_raw_main(int argc, char **argv);

#endif
