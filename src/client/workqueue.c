/* Work queues with client-go's semantics: a FIFO of keys plus a dirty set
 * (queued or re-added while processing) and a processing set, so a key is
 * queued at most once and never handed to two workers at the same time.
 * Delayed adds wait in a min-heap; getters promote ready entries and sleep
 * on a timed condition until the earliest one, so no timer thread is
 * needed. Per-key failure counts drive the exponential backoff. */
#include "client/client_int.h"

#include <string.h>

#define BASE_DELAY_MS 5
#define MAX_DELAY_MS 1000000

struct delayed {
    int64_t at; /* monotonic ms */
    char *key;
};

struct sk_workqueue {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char **fifo; /* ring buffer */
    size_t head, len, cap;
    json_t *dirty;      /* key -> true */
    json_t *processing; /* key -> true */
    json_t *waiting;    /* key -> ready time of its live heap entry */
    json_t *failures;   /* key -> count */
    struct delayed *heap;
    size_t nheap, capheap;
    bool shutdown;
};

sk_workqueue *sk_workqueue_new(void)
{
    struct sk_workqueue *q = sk_calloc(1, sizeof *q);
    pthread_mutex_init(&q->lock, NULL);
    sk__cond_init(&q->cond);
    q->dirty = json_object();
    q->processing = json_object();
    q->waiting = json_object();
    q->failures = json_object();
    return q;
}

void sk_workqueue_free(sk_workqueue *q)
{
    if (!q) return;
    for (size_t i = 0; i < q->len; i++) free(q->fifo[(q->head + i) % q->cap]);
    free(q->fifo);
    for (size_t i = 0; i < q->nheap; i++) free(q->heap[i].key);
    free(q->heap);
    json_decref(q->dirty);
    json_decref(q->processing);
    json_decref(q->waiting);
    json_decref(q->failures);
    pthread_cond_destroy(&q->cond);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

static void fifo_push(struct sk_workqueue *q, const char *key)
{
    if (q->len == q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : 64;
        char **n = sk_malloc(ncap * sizeof *n);
        for (size_t i = 0; i < q->len; i++) n[i] = q->fifo[(q->head + i) % q->cap];
        free(q->fifo);
        q->fifo = n;
        q->cap = ncap;
        q->head = 0;
    }
    q->fifo[(q->head + q->len) % q->cap] = sk_strdup(key);
    q->len++;
}

static char *fifo_pop(struct sk_workqueue *q)
{
    char *k = q->fifo[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    return k;
}

static void add_locked(struct sk_workqueue *q, const char *key)
{
    if (q->shutdown || json_object_get(q->dirty, key)) return;
    json_object_set_new_nocheck(q->dirty, key, json_true());
    if (json_object_get(q->processing, key)) return; /* re-queued by done() */
    fifo_push(q, key);
    pthread_cond_signal(&q->cond);
}

void sk_workqueue_add(sk_workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->lock);
    add_locked(q, key);
    pthread_mutex_unlock(&q->lock);
}

/* ---- delayed adds ------------------------------------------------------------ */

static void heap_swap(struct delayed *h, size_t a, size_t b)
{
    struct delayed t = h[a];
    h[a] = h[b];
    h[b] = t;
}

static void heap_push(struct sk_workqueue *q, int64_t at, const char *key)
{
    if (q->nheap == q->capheap) {
        q->capheap = q->capheap ? q->capheap * 2 : 32;
        q->heap = sk_realloc(q->heap, q->capheap * sizeof *q->heap);
    }
    size_t i = q->nheap++;
    q->heap[i] = (struct delayed){at, sk_strdup(key)};
    while (i && q->heap[(i - 1) / 2].at > q->heap[i].at) {
        heap_swap(q->heap, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static struct delayed heap_pop(struct sk_workqueue *q)
{
    struct delayed top = q->heap[0];
    q->heap[0] = q->heap[--q->nheap];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->nheap && q->heap[l].at < q->heap[m].at) m = l;
        if (r < q->nheap && q->heap[r].at < q->heap[m].at) m = r;
        if (m == i) break;
        heap_swap(q->heap, i, m);
        i = m;
    }
    return top;
}

/* Moves due entries to the FIFO. A key re-added with an earlier time
 * leaves a stale heap entry behind; `waiting` tells the live one. */
static void promote(struct sk_workqueue *q, int64_t now)
{
    while (q->nheap && q->heap[0].at <= now) {
        struct delayed d = heap_pop(q);
        json_t *w = json_object_get(q->waiting, d.key);
        if (w && json_integer_value(w) == d.at) {
            json_object_del(q->waiting, d.key);
            add_locked(q, d.key);
        }
        free(d.key);
    }
}

void sk_workqueue_add_after(sk_workqueue *q, const char *key, int64_t delay_ms)
{
    if (delay_ms <= 0) {
        sk_workqueue_add(q, key);
        return;
    }
    pthread_mutex_lock(&q->lock);
    if (!q->shutdown) {
        int64_t at = sk_now_ms() + delay_ms;
        json_t *w = json_object_get(q->waiting, key);
        if (!w || json_integer_value(w) > at) {
            json_object_set_new_nocheck(q->waiting, key, json_integer(at));
            heap_push(q, at, key);
            /* sleeping getters must recompute their deadline */
            pthread_cond_broadcast(&q->cond);
        }
    }
    pthread_mutex_unlock(&q->lock);
}

void sk_workqueue_add_rate_limited(sk_workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->lock);
    json_int_t n = json_integer_value(json_object_get(q->failures, key));
    json_object_set_new_nocheck(q->failures, key, json_integer(n + 1));
    pthread_mutex_unlock(&q->lock);
    int64_t delay = n >= 30 ? MAX_DELAY_MS : (int64_t)BASE_DELAY_MS << n;
    if (delay > MAX_DELAY_MS) delay = MAX_DELAY_MS;
    sk_workqueue_add_after(q, key, delay);
}

void sk_workqueue_forget(sk_workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->lock);
    json_object_del(q->failures, key);
    pthread_mutex_unlock(&q->lock);
}

int sk_workqueue_retries(sk_workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->lock);
    int n = (int)json_integer_value(json_object_get(q->failures, key));
    pthread_mutex_unlock(&q->lock);
    return n;
}

/* ---- consumers ------------------------------------------------------------------ */

char *sk_workqueue_get(sk_workqueue *q)
{
    char *key = NULL;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        if (q->shutdown) break;
        promote(q, sk_now_ms());
        if (q->len) {
            key = fifo_pop(q);
            json_object_set_new_nocheck(q->processing, key, json_true());
            json_object_del(q->dirty, key);
            break;
        }
        if (q->nheap) {
            struct timespec ts = sk__deadline(q->heap[0].at - sk_now_ms());
            pthread_cond_timedwait(&q->cond, &q->lock, &ts);
        } else {
            pthread_cond_wait(&q->cond, &q->lock);
        }
    }
    pthread_mutex_unlock(&q->lock);
    return key;
}

void sk_workqueue_done(sk_workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->lock);
    json_object_del(q->processing, key);
    if (json_object_get(q->dirty, key) && !q->shutdown) {
        fifo_push(q, key);
        pthread_cond_signal(&q->cond);
    }
    pthread_mutex_unlock(&q->lock);
}

size_t sk_workqueue_len(sk_workqueue *q)
{
    pthread_mutex_lock(&q->lock);
    promote(q, sk_now_ms());
    size_t n = q->len;
    pthread_mutex_unlock(&q->lock);
    return n;
}

void sk_workqueue_shutdown(sk_workqueue *q)
{
    pthread_mutex_lock(&q->lock);
    q->shutdown = true;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
}

/* ---- keys --------------------------------------------------------------------------- */

char *sk_object_key(const json_t *obj)
{
    const char *ns = sk_json_path_str(obj, "metadata.namespace");
    const char *name = sk_json_path_str(obj, "metadata.name");
    if (!name) name = "";
    return ns && *ns ? sk_printf("%s/%s", ns, name) : sk_strdup(name);
}

void sk_key_split(const char *key, char *ns, size_t nsn, char *name, size_t namen)
{
    const char *sl = key ? strchr(key, '/') : NULL;
    if (!key) key = "";
    if (sl) {
        if (nsn) snprintf(ns, nsn, "%.*s", (int)(sl - key), key);
        if (namen) snprintf(name, namen, "%s", sl + 1);
    } else {
        if (nsn) ns[0] = 0;
        if (namen) snprintf(name, namen, "%s", key);
    }
}
