/* The prober: periodic startup, liveness and readiness probes of running
 * container instances, with upstream's worker semantics
 * (pkg/kubelet/prober/worker.go):
 *   - a probe runs first once initialDelaySeconds have passed since the
 *     container started (wall clock), then every periodSeconds;
 *   - a result counts only after successThreshold / failureThreshold equal
 *     results in a row; errors (e.g. an unknown named port, an exec that
 *     cannot start) are retried 3 times and then discarded;
 *   - liveness and readiness wait for the startup probe to succeed; once it
 *     has, the startup probe stops;
 *   - readiness starts false; a container without a readiness probe is
 *     ready once started;
 *   - a liveness or startup probe reaching failureThreshold marks the
 *     instance for restart (liveness_failed, sticky) and holds that probe
 *     until a new instance is added, as upstream's onHold.
 *
 * Threads: a small pool (POOL_MIN, growing to POOL_MAX while every thread
 * is busy) takes the earliest due probe from one list under one mutex and
 * runs it unlocked, so a slow probe delays nothing else. One mutex guards
 * all state; on_change runs on a pool thread without it. Timers use the
 * monotonic clock. */
#include "kubelet/probe_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define POOL_MIN 2
#define POOL_MAX 16
#define MAX_RETRIES 3
#define MAX_SECONDS 86400

enum { PT_STARTUP, PT_LIVENESS, PT_READINESS, PT_N };
static const char *const pt_key[PT_N] = {"startupProbe", "livenessProbe", "readinessProbe"};
static const char *const pt_name[PT_N] = {"Startup", "Liveness", "Readiness"};

struct slot {
    const json_t *spec; /* borrowed from the entry's ctr; NULL = no such probe */
    int64_t period_ms, timeout_ms, due;
    int success_thr, failure_thr;
    bool inflight, hold;
    int last, run;      /* last counted result (0/1, -1 none) and its run length */
};

struct entry {
    struct entry *next;
    char *pod_key, *ctr_name, *container_id;
    char pod_ip[64];
    json_t *ctr;        /* owned copy of the container spec */
    int refs;           /* the list's and each running probe's */
    bool removed;
    struct slot s[PT_N];
    bool started, ready_result, liveness_failed;
    char message[256];
};

struct sk_kl_prober {
    sk_rt *rt;
    void (*on_change)(void *ud, const char *pod_key);
    void *ud;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct entry *head;
    bool stopping;
    int ms_per_sec;
    pthread_t threads[POOL_MAX];
    int nthreads, idle;
};

static void *pool_main(void *arg);

/* ---- entries --------------------------------------------------------------------- */

static int64_t field(const json_t *probe, const char *key, int64_t dflt, int64_t min)
{
    const json_t *v = json_object_get(probe, key);
    int64_t n = json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
    if (n < min) n = dflt < min ? min : dflt;
    return n > MAX_SECONDS ? MAX_SECONDS : n;
}

static void slot_init(struct slot *s, const json_t *spec, int64_t start_mono, int ms_per_sec)
{
    *s = (struct slot){.last = -1};
    if (!json_is_object(spec)) return;
    s->spec = spec;
    s->period_ms = field(spec, "periodSeconds", 10, 1) * ms_per_sec;
    s->timeout_ms = field(spec, "timeoutSeconds", 1, 1) * ms_per_sec;
    s->success_thr = (int)field(spec, "successThreshold", 1, 1);
    s->failure_thr = (int)field(spec, "failureThreshold", 3, 1);
    s->due = start_mono + field(spec, "initialDelaySeconds", 0, 0) * ms_per_sec;
}

static void entry_unref(struct entry *e)
{
    if (--e->refs > 0) return;
    free(e->pod_key);
    free(e->ctr_name);
    free(e->container_id);
    json_decref(e->ctr);
    free(e);
}

static bool entry_ready(const struct entry *e)
{
    return e->started && (!e->s[PT_READINESS].spec || e->ready_result);
}

static struct entry **find(sk_kl_prober *p, const char *pod_key, const char *ctr_name)
{
    for (struct entry **pe = &p->head; *pe; pe = &(*pe)->next)
        if (!strcmp((*pe)->pod_key, pod_key) && !strcmp((*pe)->ctr_name, ctr_name)) return pe;
    return NULL;
}

static void unlink_entry(struct entry **pe)
{
    struct entry *e = *pe;
    *pe = e->next;
    e->next = NULL;
    e->removed = true;
    entry_unref(e);
}

/* ---- lifecycle ------------------------------------------------------------------- */

sk_kl_prober *sk_kl_prober_new(sk_rt *rt, void (*on_change)(void *ud, const char *pod_key), void *ud, sk_err *err)
{
    sk_kl_prober *p = sk_calloc(1, sizeof *p);
    p->rt = rt;
    p->on_change = on_change;
    p->ud = ud;
    p->ms_per_sec = 1000;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < POOL_MIN; i++) {
        int rc = pthread_create(&p->threads[p->nthreads], NULL, pool_main, p);
        if (rc) {
            pthread_mutex_unlock(&p->mu);
            sk_kl_prober_free(p);
            errno = rc;
            sk_err_sys(err, "prober: start thread");
            return NULL;
        }
        p->nthreads++;
        p->idle++;
    }
    pthread_mutex_unlock(&p->mu);
    return p;
}

void sk_kl_prober_free(sk_kl_prober *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    /* threads are only added under the lock while not stopping: the count is final */
    for (int i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
    while (p->head) unlink_entry(&p->head);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void sk_kl_prober_set_time_scale(sk_kl_prober *p, int ms_per_sec)
{
    pthread_mutex_lock(&p->mu);
    p->ms_per_sec = ms_per_sec > 0 ? ms_per_sec : 1000;
    pthread_mutex_unlock(&p->mu);
}

void sk_kl_prober_add(sk_kl_prober *p, const char *pod_key, const char *ctr_name, const char *container_id,
                      const json_t *ctr_spec, const char *pod_ip, int64_t started_wall_ms)
{
    if (!p || !pod_key || !ctr_name || !container_id) return;
    pthread_mutex_lock(&p->mu);
    struct entry **pe = find(p, pod_key, ctr_name);
    /* The core may add on every sync: the same instance keeps its results. */
    if (pe && !strcmp((*pe)->container_id, container_id)) {
        snprintf((*pe)->pod_ip, sizeof (*pe)->pod_ip, "%s", pod_ip ? pod_ip : "");
        pthread_mutex_unlock(&p->mu);
        return;
    }
    if (pe) unlink_entry(pe);
    struct entry *e = sk_calloc(1, sizeof *e);
    e->pod_key = sk_strdup(pod_key);
    e->ctr_name = sk_strdup(ctr_name);
    e->container_id = sk_strdup(container_id);
    snprintf(e->pod_ip, sizeof e->pod_ip, "%s", pod_ip ? pod_ip : "");
    e->ctr = json_is_object(ctr_spec) ? json_deep_copy(ctr_spec) : json_object();
    e->refs = 1;
    int64_t now = sk_now_ms(), since = sk_wall_ms() - started_wall_ms;
    int64_t start_mono = started_wall_ms > 0 && since > 0 ? now - since : now;
    for (int t = 0; t < PT_N; t++) slot_init(&e->s[t], json_object_get(e->ctr, pt_key[t]), start_mono, p->ms_per_sec);
    e->started = !e->s[PT_STARTUP].spec;
    e->next = p->head;
    p->head = e;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void sk_kl_prober_remove(sk_kl_prober *p, const char *pod_key, const char *ctr_name)
{
    if (!p || !pod_key) return;
    pthread_mutex_lock(&p->mu);
    for (struct entry **pe = &p->head; *pe;) {
        if (!strcmp((*pe)->pod_key, pod_key) && (!ctr_name || !strcmp((*pe)->ctr_name, ctr_name)))
            unlink_entry(pe);
        else
            pe = &(*pe)->next;
    }
    pthread_mutex_unlock(&p->mu);
}

bool sk_kl_prober_get(sk_kl_prober *p, const char *pod_key, const char *ctr_name, const char *container_id,
                      struct sk_kl_probe_state *out)
{
    if (!p || !pod_key || !ctr_name) return false;
    pthread_mutex_lock(&p->mu);
    struct entry **pe = find(p, pod_key, ctr_name);
    bool ok = pe && (!container_id || !strcmp((*pe)->container_id, container_id));
    if (ok && out) {
        const struct entry *e = *pe;
        *out = (struct sk_kl_probe_state){.ready = entry_ready(e), .started = e->started,
                                          .liveness_failed = e->liveness_failed};
        snprintf(out->message, sizeof out->message, "%s", e->message);
    }
    pthread_mutex_unlock(&p->mu);
    return ok;
}

/* ---- the pool -------------------------------------------------------------------- */

static bool runnable(const struct entry *e, int t)
{
    const struct slot *s = &e->s[t];
    if (!s->spec || s->inflight || s->hold) return false;
    return t == PT_STARTUP ? !e->started : e->started;
}

/* The earliest runnable probe; *due gets its time (INT64_MAX if none). */
static struct entry *earliest(sk_kl_prober *p, int *type, int64_t *due)
{
    struct entry *best = NULL;
    *due = INT64_MAX;
    for (struct entry *e = p->head; e; e = e->next)
        for (int t = 0; t < PT_N; t++)
            if (runnable(e, t) && e->s[t].due < *due) {
                best = e;
                *type = t;
                *due = e->s[t].due;
            }
    return best;
}

static void wait_until(sk_kl_prober *p, int64_t due)
{
    if (due == INT64_MAX) {
        pthread_cond_wait(&p->cv, &p->mu);
        return;
    }
    int64_t left = due - sk_now_ms();
    if (left > 0) sk_cond_wait_ms(&p->cv, &p->mu, CLOCK_MONOTONIC, left);
}

/* Records one result as upstream's doProbe; true when the pod must be
 * re-synced (ready or started flipped, or a restart is due). */
static bool apply(struct entry *e, int t, int rc, const char *msg, int64_t ran_at)
{
    struct slot *s = &e->s[t];
    s->inflight = false;
    if (e->removed) return false;
    int64_t now = sk_now_ms();
    s->due = ran_at + s->period_ms > now ? ran_at + s->period_ms : now;
    bool was_ready = entry_ready(e), was_started = e->started, was_failed = e->liveness_failed;
    /* once a restart is due, the message explains it and stays */
    if (rc < 0 && !was_failed)
        snprintf(e->message, sizeof e->message, "%s probe errored and resulted in unknown state: %s", pt_name[t], msg);
    if (rc < 0) return false;
    if (rc == 1 && !was_failed) snprintf(e->message, sizeof e->message, "%s probe failed: %s", pt_name[t], msg);
    if (s->last == rc) {
        s->run++;
    } else {
        s->last = rc;
        s->run = 1;
    }
    if ((rc == 1 && s->run < s->failure_thr) || (rc == 0 && s->run < s->success_thr)) return false;
    if (t == PT_READINESS) {
        e->ready_result = rc == 0;
    } else if (rc == 0) {
        if (t == PT_STARTUP) e->started = true;
    } else { /* liveness or startup failed: restart, and wait for a new instance */
        e->liveness_failed = true;
        s->hold = true;
        s->run = 0;
    }
    return entry_ready(e) != was_ready || e->started != was_started || e->liveness_failed != was_failed;
}

static void maybe_grow(sk_kl_prober *p)
{
    if (p->idle > 0 || p->nthreads >= POOL_MAX || p->stopping) return;
    if (pthread_create(&p->threads[p->nthreads], NULL, pool_main, p) == 0) {
        p->nthreads++;
        p->idle++;
    }
}

static void *pool_main(void *arg)
{
    sk_kl_prober *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stopping) {
        int t = 0;
        int64_t due, now = sk_now_ms();
        struct entry *e = earliest(p, &t, &due);
        if (!e || due > now) {
            wait_until(p, due);
            continue;
        }
        struct slot *s = &e->s[t];
        s->inflight = true;
        e->refs++;
        p->idle--;
        maybe_grow(p);
        char ip[sizeof e->pod_ip], msg[1024];
        memcpy(ip, e->pod_ip, sizeof ip);
        int timeout_ms = (int)s->timeout_ms, rc = -1;
        pthread_mutex_unlock(&p->mu);

        for (int i = 0; i < MAX_RETRIES && rc < 0; i++)
            rc = sk_kl_probe_run(p->rt, s->spec, e->ctr, e->container_id, ip, timeout_ms, msg, sizeof msg);

        pthread_mutex_lock(&p->mu);
        p->idle++;
        char *notify = apply(e, t, rc, msg, now) && p->on_change ? sk_strdup(e->pod_key) : NULL;
        entry_unref(e);
        if (notify) {
            pthread_mutex_unlock(&p->mu);
            p->on_change(p->ud, notify);
            free(notify);
            pthread_mutex_lock(&p->mu);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}
