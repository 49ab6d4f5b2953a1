/* Internal to bench_api_load (api_load.c, api_watch.c): shared types and
 * the HTTP helpers both use. */
#ifndef BENCH_API_LOAD_H
#define BENCH_API_LOAD_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define MAX_CONC 256
#define MAX_WATCHERS 1000
#define MAX_BODY (256u << 20) /* cap on one response body (a full list) */

enum target { T_SKIFF, T_ETCD };

struct opts {
    enum target target;
    const char *url, *ca, *cert, *key, *op, *ns, *tag;
    int conc, reps, limit, watchers;
    long count, writes, max_ops, size, pid;
    double secs;
};

struct buf {
    char *p;
    size_t len, cap;
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

double now(void);
void *xrealloc(void *p, size_t n);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
struct curl_slist *std_headers(void);
/* A keep-alive HTTP/1.1 handle; for skiff it carries the client certificate. */
CURL *client_new(const struct opts *o, struct curl_slist *hdr);
/* One request; the body lands in resp. Returns the HTTP status, or -1 on a
 * transport error (message in resp). */
long request(CURL *c, struct buf *resp, const char *method, const char *url, const char *body,
             size_t blen);
bool json_field(const char *json, const char *field, char *out, size_t outlen);
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
