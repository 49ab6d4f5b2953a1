/* Event recorder: sk_event() formats the event and queues it (bounded;
 * drops and counts when full) for a background thread that writes core/v1
 * Events. As upstream's EventCorrelator does for exact repeats, an LRU
 * keyed by (involved object, type, reason, message) remembers the Event
 * written for each recent key: a repeat PATCHes that Event's count and
 * lastTimestamp instead of creating a new one.
 *
 * Optionally rate limited like a kubelet's event client (eventRecordQPS,
 * eventBurst): a token bucket; what is over it waits in the queue.
 *
 * Partial: upstream's EventAggregator (folding >10 similar events with
 * different messages into one "(combined from similar events)") and its
 * per-object spam filter are not implemented. */
#include "client/client_int.h"

#include <gnutls/crypto.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_CAP 1024
#define LRU_CAP 4096
#define MSG_MAX 4096
#define DRAIN_MS 2000
#define RECORDER_NICE 10

struct rec_item {
    json_t *involved;
    char *type, *reason, *message;
    int64_t wall_ms;
};

struct lru_ent {
    char *key;
    char *ev_ns, *ev_name;
    json_int_t count;
    char first_ts[40];
    int prev, next; /* -1 = none; head is most recent */
};

struct sk_recorder {
    sk_client *c;
    const struct sk_resource *events;
    char *component, *host;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct rec_item q[QUEUE_CAP];
    size_t qhead, qlen;
    bool stop;
    int64_t drain_until;
    atomic_ulong dropped;
    pthread_t thread;
    bool started;
    double qps, burst, tokens; /* qps 0: no limit */
    int64_t refilled_ms;

    /* background-thread state */
    struct lru_ent lru[LRU_CAP];
    int nlru, head, tail;
    json_t *index; /* key -> slot */
    struct sk_abort ab;
};

/* ---- LRU ------------------------------------------------------------------------ */

static void lru_unlink(sk_recorder *rec, int i)
{
    struct lru_ent *e = &rec->lru[i];
    if (e->prev >= 0) rec->lru[e->prev].next = e->next;
    else rec->head = e->next;
    if (e->next >= 0) rec->lru[e->next].prev = e->prev;
    else rec->tail = e->prev;
    e->prev = e->next = -1;
}

static void lru_front(sk_recorder *rec, int i)
{
    struct lru_ent *e = &rec->lru[i];
    e->prev = -1;
    e->next = rec->head;
    if (rec->head >= 0) rec->lru[rec->head].prev = i;
    rec->head = i;
    if (rec->tail < 0) rec->tail = i;
}

static struct lru_ent *lru_get(sk_recorder *rec, const char *key)
{
    json_t *slot = json_object_get(rec->index, key);
    if (!slot) return NULL;
    int i = (int)json_integer_value(slot);
    lru_unlink(rec, i);
    lru_front(rec, i);
    return &rec->lru[i];
}

static void ent_clear(struct lru_ent *e)
{
    free(e->key);
    free(e->ev_ns);
    free(e->ev_name);
    e->key = e->ev_ns = e->ev_name = NULL;
}

static struct lru_ent *lru_insert(sk_recorder *rec, const char *key)
{
    int i;
    if (rec->nlru < LRU_CAP) {
        i = rec->nlru++;
    } else {
        i = rec->tail;
        lru_unlink(rec, i);
        json_object_del(rec->index, rec->lru[i].key);
        ent_clear(&rec->lru[i]);
    }
    rec->lru[i].key = sk_strdup(key);
    rec->lru[i].count = 0;
    rec->lru[i].first_ts[0] = 0;
    json_object_set_new_nocheck(rec->index, key, json_integer(i));
    lru_front(rec, i);
    return &rec->lru[i];
}

/* ---- writing events ----------------------------------------------------------------- */

static int drain_tick(void *ud)
{
    sk_recorder *rec = ud;
    pthread_mutex_lock(&rec->lock);
    bool late = rec->stop && sk_now_ms() > rec->drain_until;
    pthread_mutex_unlock(&rec->lock);
    return late;
}

/* The LRU key: the first 128 bits of the SHA-256 of (involved object,
 * type, reason, message), as 32 hex digits. Upstream keys by the whole
 * string; a full LRU of those costs megabytes, which matters to a node
 * agent with a 30 MB budget. */
static char *agg_key(const struct rec_item *it)
{
    const json_t *o = it->involved;
    const char *f[] = {sk_json_str(o, "kind"), sk_json_str(o, "namespace"),
                       sk_json_str(o, "name"), sk_json_str(o, "uid"),
                       sk_json_str(o, "apiVersion"), it->type, it->reason, it->message};
    sk_buf b = SK_BUF_INIT;
    for (size_t i = 0; i < SK_ARRAY_LEN(f); i++) {
        sk_buf_adds(&b, f[i] ? f[i] : "");
        sk_buf_add(&b, "\x1f", 1);
    }
    unsigned char md[32];
    gnutls_hash_fast(GNUTLS_DIG_SHA256, b.data, b.len, md);
    sk_buf_release(&b);
    char *hex = sk_malloc(33);
    for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return hex;
}

static json_t *make_event(sk_recorder *rec, const struct rec_item *it, const char *ns,
                          const char *name, json_int_t count, const char *first, const char *last)
{
    json_t *ev = json_pack("{s:s,s:s,s:{s:s,s:s},s:O,s:s,s:s,s:s,s:{s:s},s:s,s:s,s:I,s:n,s:s}",
                           "apiVersion", "v1", "kind", "Event", "metadata", "name", name,
                           "namespace", ns, "involvedObject", it->involved, "reason", it->reason,
                           "message", it->message, "type", it->type, "source", "component",
                           rec->component, "firstTimestamp", first, "lastTimestamp", last,
                           "count", count, "eventTime", "reportingComponent", rec->component);
    if (!ev) return NULL;
    if (rec->host) {
        json_object_set_new(json_object_get(ev, "source"), "host", json_string(rec->host));
        json_object_set_new(ev, "reportingInstance", json_string(rec->host));
    } else {
        json_object_set_new(ev, "reportingInstance", json_string(""));
    }
    return ev;
}

static char *events_path(sk_recorder *rec, const char *ns, const char *name)
{
    sk_buf b = SK_BUF_INIT;
    sk__res_path(&b, rec->events, ns, name, NULL);
    return sk_buf_take(&b);
}

/* POSTs a new Event named <object>.<hex unix nanos>, as upstream names them. */
static void create_event(sk_recorder *rec, const struct rec_item *it, struct lru_ent *e,
                         const char *last)
{
    const char *obj_name = sk_json_str(it->involved, "name");
    const char *ns = sk_json_str(it->involved, "namespace");
    if (!ns || !*ns) ns = "default";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t nanos = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    _sk_free_ char *path = events_path(rec, ns, NULL);
    for (int attempt = 0; attempt < 3; attempt++) {
        char name[320];
        snprintf(name, sizeof name, "%s.%llx", obj_name ? obj_name : "",
                 (unsigned long long)(nanos + (uint64_t)attempt));
        _sk_json_ json_t *ev = make_event(rec, it, ns, name, e->count, e->first_ts, last);
        if (!ev) return; /* not valid UTF-8 */
        sk_err err = SK_ERR_INIT;
        json_t *made = sk__json(rec->c, "POST", path, ev, NULL, &rec->ab, &err);
        if (made) {
            json_decref(made);
            free(e->ev_ns);
            free(e->ev_name);
            e->ev_ns = sk_strdup(ns);
            e->ev_name = sk_strdup(name);
            return;
        }
        if (err.code != SK_EEXIST) {
            sk_log(SK_DEBUG, "events", "create event %s/%s: %s", ns, name, err.msg);
            return;
        }
    }
}

static void record(sk_recorder *rec, struct rec_item *it)
{
    char last[40];
    sk_time_format(it->wall_ms / 1000, last, sizeof last);
    _sk_free_ char *key = agg_key(it);
    struct lru_ent *e = lru_get(rec, key);
    if (!e) {
        e = lru_insert(rec, key);
        snprintf(e->first_ts, sizeof e->first_ts, "%s", last);
    }
    e->count++;
    if (e->ev_name) {
        _sk_json_ json_t *patch = json_pack("{s:I,s:s}", "count", e->count, "lastTimestamp", last);
        _sk_free_ char *path = events_path(rec, e->ev_ns, e->ev_name);
        sk_err err = SK_ERR_INIT;
        json_t *r = sk__json(rec->c, "PATCH", path, patch, "application/merge-patch+json",
                             &rec->ab, &err);
        if (r || err.code != SK_ENOTFOUND) {
            json_decref(r);
            return;
        }
        /* the Event expired or was deleted: write it again, count kept */
    }
    create_event(rec, it, e, last);
}

static void item_release(struct rec_item *it)
{
    json_decref(it->involved);
    free(it->type);
    free(it->reason);
    free(it->message);
}

/* Under rec->lock: ms until a token is there (0: take it now). While
 * draining at stop there is no limit. */
static int64_t token_wait(sk_recorder *rec)
{
    if (rec->qps <= 0 || rec->stop) return 0;
    int64_t now = sk_now_ms();
    rec->tokens += (double)(now - rec->refilled_ms) * rec->qps / 1000.0;
    if (rec->tokens > rec->burst) rec->tokens = rec->burst;
    rec->refilled_ms = now;
    if (rec->tokens >= 1) {
        rec->tokens -= 1;
        return 0;
    }
    return (int64_t)((1 - rec->tokens) * 1000.0 / rec->qps) + 1;
}

/* Sends queued events; on stop, drains what is queued for up to DRAIN_MS. */
static void *recorder_main(void *arg)
{
    sk_recorder *rec = arg;
    /* Events are best effort and already asynchronous: when the CPU is
     * short (a node starting many pods) the work they report comes first.
     * Nice applies per thread on Linux; in-process the API server's share
     * of each write runs on this thread too. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), RECORDER_NICE) < 0)
        sk_log(SK_DEBUG, "events", "cannot lower the recorder's priority");
    pthread_mutex_lock(&rec->lock);
    for (;;) {
        while (!rec->qlen && !rec->stop) pthread_cond_wait(&rec->cond, &rec->lock);
        if (!rec->qlen || (rec->stop && sk_now_ms() > rec->drain_until)) break;
        int64_t wait = token_wait(rec);
        if (wait > 0) {
            sk_cond_wait_ms(&rec->cond, &rec->lock, CLOCK_REALTIME, wait);
            continue;
        }
        struct rec_item it = rec->q[rec->qhead];
        rec->qhead = (rec->qhead + 1) % QUEUE_CAP;
        rec->qlen--;
        pthread_mutex_unlock(&rec->lock);
        record(rec, &it);
        item_release(&it);
        pthread_mutex_lock(&rec->lock);
    }
    pthread_mutex_unlock(&rec->lock);
    return NULL;
}

sk_recorder *sk_recorder_new(sk_client *c, const char *component, const char *host)
{
    sk_recorder *rec = sk_calloc(1, sizeof *rec);
    rec->c = c;
    rec->events = sk_resource_find("", "v1", "events");
    rec->component = sk_strdup(component ? component : "");
    rec->host = host && *host ? sk_strdup(host) : NULL;
    pthread_mutex_init(&rec->lock, NULL);
    pthread_cond_init(&rec->cond, NULL);
    rec->head = rec->tail = -1;
    rec->index = json_object();
    rec->ab = (struct sk_abort){drain_tick, rec, NULL};
    /* Without its thread the recorder still accepts and counts events as
     * dropped: recording must never fail the caller. */
    rec->started = rec->events && pthread_create(&rec->thread, NULL, recorder_main, rec) == 0;
    return rec;
}

void sk_recorder_set_rate(sk_recorder *rec, double qps, int burst)
{
    pthread_mutex_lock(&rec->lock);
    rec->qps = qps > 0 ? qps : 0;
    rec->burst = rec->tokens = burst > 0 ? burst : 1;
    rec->refilled_ms = sk_now_ms();
    pthread_mutex_unlock(&rec->lock);
}

void sk_recorder_free(sk_recorder *rec)
{
    if (!rec) return;
    pthread_mutex_lock(&rec->lock);
    rec->stop = true;
    rec->drain_until = sk_now_ms() + DRAIN_MS;
    pthread_cond_broadcast(&rec->cond);
    pthread_mutex_unlock(&rec->lock);
    if (rec->started) pthread_join(rec->thread, NULL);
    unsigned long dropped = atomic_load(&rec->dropped);
    if (dropped)
        sk_log(SK_WARN, "events", "%s: %lu event(s) dropped (queue full or recorder stopped)",
               rec->component, dropped);
    while (rec->qlen) {
        item_release(&rec->q[rec->qhead]);
        rec->qhead = (rec->qhead + 1) % QUEUE_CAP;
        rec->qlen--;
    }
    for (int i = 0; i < rec->nlru; i++) ent_clear(&rec->lru[i]);
    json_decref(rec->index);
    pthread_cond_destroy(&rec->cond);
    pthread_mutex_destroy(&rec->lock);
    free(rec->component);
    free(rec->host);
    free(rec);
}

/* involvedObject as upstream's ObjectReference for obj */
static json_t *involved(const json_t *obj)
{
    json_t *ref = json_object();
    static const char *const fields[][2] = {
        {"kind", "kind"},
        {"metadata.namespace", "namespace"},
        {"metadata.name", "name"},
        {"metadata.uid", "uid"},
        {"apiVersion", "apiVersion"},
        {"metadata.resourceVersion", "resourceVersion"},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(fields); i++) {
        const char *v = sk_json_path_str(obj, fields[i][0]);
        if (v && *v) json_object_set_new(ref, fields[i][1], json_string(v));
    }
    return ref;
}

void sk_event(sk_recorder *rec, const json_t *obj, const char *type, const char *reason,
              const char *fmt, ...)
{
    if (!rec || !obj) return;
    char msg[MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&rec->lock);
    if (rec->stop || !rec->started || rec->qlen == QUEUE_CAP) {
        pthread_mutex_unlock(&rec->lock);
        atomic_fetch_add(&rec->dropped, 1);
        return;
    }
    struct rec_item *it = &rec->q[(rec->qhead + rec->qlen) % QUEUE_CAP];
    it->involved = involved(obj);
    it->type = sk_strdup(type ? type : "Normal");
    it->reason = sk_strdup(reason ? reason : "");
    it->message = sk_strdup(msg);
    it->wall_ms = sk_wall_ms();
    rec->qlen++;
    pthread_cond_signal(&rec->cond);
    pthread_mutex_unlock(&rec->lock);
}
