/* sk_client internals shared by the request, watch, informer, recorder and
 * leader-election files. Not for use outside src/client/. */
#ifndef SK_CLIENT_INT_H
#define SK_CLIENT_INT_H

#include <pthread.h>

#include "client/client.h"

/* Caps on what the server may send us: whole non-streamed replies and one
 * watch event line. */
#define SK_CLIENT_MAX_BODY ((size_t)512 << 20)
#define SK_CLIENT_MAX_LINE ((size_t)64 << 20)
/* Page size for lists, as client-go's pager. */
#define SK_CLIENT_PAGE 500

struct sk_conn;

struct sk_client {
    char *base;        /* server URL without a trailing '/' */
    /* PEM files for libcurl (its GnuTLS backend cannot take certificates
     * from memory): memfds, or files in the private tmpdir as a fallback */
    char *ca_path, *cert_path, *key_path;
    int fds[3], nfds;
    char *tmpdir;
    char *auth_header; /* "Authorization: Bearer ..." or NULL */
    char *user_agent;
    double qps, burst;

    /* Idle connections: a request takes one (or makes one) and puts it
     * back, so concurrent requests never share a connection and idle ones
     * keep their keep-alive socket. Freed with the client: nothing is tied
     * to a thread, so thread exit leaks nothing. */
    pthread_mutex_t lock;
    struct sk_conn **idle;
    size_t nidle;
    double tokens;     /* rate limiter bucket (guarded by lock) */
    int64_t refill_ms;
    struct sk_client_local local; /* in-process transport (local.call NULL = none) */
};

/* Lets another thread interrupt an exchange's 100 ms poll at once (a stop
 * then takes effect immediately instead of at the next poll). */
struct sk_waker {
    pthread_mutex_t lock;
    void *multi; /* CURLM of the running exchange, or NULL */
};
void sk__waker_init(struct sk_waker *w);
void sk__waker_release(struct sk_waker *w);
/* Set the stop condition first, then wake: the exchange re-checks it. */
void sk__wake(struct sk_waker *w);

/* How a caller stops an exchange early: tick is polled at least every
 * 100 ms (and right after sk__wake on waker); non-zero aborts. */
struct sk_abort {
    int (*tick)(void *ud);
    void *ud;
    struct sk_waker *waker; /* optional */
};

/* One HTTP exchange. Fill the inputs, call sk__call, read the results and
 * release with sk__call_release. */
struct sk_call {
    const char *method;       /* "GET", "POST", ... */
    const char *path;         /* "/api/v1/pods?limit=500" */
    const char *body;         /* NULL = none */
    size_t body_len;
    const char *content_type; /* NULL = application/json */
    long timeout_s;           /* whole-exchange limit; 0 = 120 s, < 0 = none */
    /* Streaming: with on_data, the body of a 2xx reply goes to it instead of
     * into `reply`; returning < 0 aborts (call.aborted). */
    int (*on_data)(void *ud, const char *p, size_t n);
    void *data_ud;
    const struct sk_abort *abort; /* optional */

    long status;    /* HTTP status, 0 if none was received */
    sk_buf reply;   /* body (non-streamed, or any non-2xx reply) */
    bool aborted;   /* stopped by abort->tick or on_data */
};

/* 0 when a reply was received (any status) or the call was aborted; -1 with
 * SK_EUNAVAILABLE and the transport error otherwise. */
int sk__call(sk_client *c, struct sk_call *call, sk_err *err);
void sk__call_release(struct sk_call *call);
/* Fills err from a non-2xx reply (Status reason/message when present);
 * returns -1. */
int sk__status_err(const struct sk_call *call, sk_err *err);

/* Request with a JSON body (may be NULL) and a JSON reply: the decoded
 * reply on 2xx (NULL and no error for an empty body), NULL + err
 * otherwise. With ab, the call aborts when ab->tick returns non-zero
 * (SK_EUNAVAILABLE "request aborted"). */
json_t *sk__json(sk_client *c, const char *method, const char *path, const json_t *body,
                 const char *content_type, const struct sk_abort *ab, sk_err *err);

/* In-process transport (local.c): the same contract as sk__json (and, for
 * sk_client_request, raw non-JSON replies as a string) over c->local. */
json_t *sk__local_json(sk_client *c, const char *method, const char *path, const json_t *body,
                       const char *content_type, bool any_reply, long *status, sk_err *err);
int sk__local_watch(sk_client *c, const char *path, sk_watch_cb cb, void *ud,
                    const struct sk_abort *ab, sk_err *err);
/* Throttles like an HTTP request (client-side QPS); -1 if ab aborted. */
int sk__throttle(sk_client *c, const struct sk_abort *ab);
/* Fills err from a non-2xx status and its decoded body (NULL ok): the
 * Status reason and message when present; returns -1. */
int sk__status_json(long status, const json_t *st, const char *method, const char *path,
                    sk_err *err);

/* "/api/v1[/namespaces/NS]/PLURAL[/NAME[/SUB]]" or "/apis/G/V/...". */
void sk__res_path(sk_buf *b, const struct sk_resource *r, const char *ns, const char *name,
                  const char *sub);
/* Appends "?k=v" or "&k=v" with v percent-encoded; v NULL/"" = nothing. */
void sk__query(sk_buf *b, const char *k, const char *v);
/* Percent-encodes everything but RFC 3986 unreserved characters. */
void sk__pct(sk_buf *b, const char *s);

/* sk_client_list with an abort hook. */
json_t *sk__list(sk_client *c, const struct sk_resource *r, const char *ns, const char *ls,
                 const char *fs, const struct sk_abort *ab, sk_err *err);
/* sk_client_watch with an abort hook instead of a stop flag. */
int sk__watch(sk_client *c, const struct sk_resource *r, const char *ns, const char *rv,
              const char *ls, const char *fs, int timeout_s, sk_watch_cb cb, void *ud,
              const struct sk_abort *ab, sk_err *err);

/* ---- informer cache (informer_cache.c) ----------------------------------- */

/* Objects by key ("ns/name") with indexes by namespace and by controller
 * owner uid. Values are shared and never modified once stored. */
struct sk_icache {
    pthread_rwlock_t rw;
    bool namespaced;
    json_t *objs;     /* key -> obj */
    json_t *by_ns;    /* ns -> {key -> obj} */
    json_t *by_owner; /* controller owner uid -> {key -> obj} */
};
void sk__icache_init(struct sk_icache *ic, bool namespaced);
void sk__icache_release(struct sk_icache *ic);
/* Stores obj (adds a reference); returns the previous value (caller
 * releases) or NULL. */
json_t *sk__icache_put(struct sk_icache *ic, const char *key, json_t *obj);
/* Removes key; returns the removed value (caller releases) or NULL. */
json_t *sk__icache_del(struct sk_icache *ic, const char *key);
/* Replaces everything with `fresh` (key -> obj; takes ownership) and
 * appends the differences: added objects, updated [old, new] pairs (only
 * where resourceVersion changed) and deleted (old) objects. */
void sk__icache_replace(struct sk_icache *ic, json_t *fresh, json_t *added, json_t *updated,
                        json_t *deleted);
/* Array of every cached object (new reference). */
json_t *sk__icache_all(struct sk_icache *ic);
struct sk_icache *sk__informer_cache(sk_informer *inf);

/* Sets kind/apiVersion on obj when missing (list items may lack them). */
void sk__set_type(json_t *obj, const struct sk_resource *r);
/* "2026-01-02T03:04:05.000000Z" (metav1.MicroTime) for wall-clock ms. */
void sk__micro_time(int64_t wall_ms, char *out, size_t n);
/* Absolute CLOCK_MONOTONIC deadline for pthread_cond_timedwait. */
struct timespec sk__deadline(int64_t ms_from_now);
/* Condition variable on CLOCK_MONOTONIC. */
void sk__cond_init(pthread_cond_t *cv);

#endif
