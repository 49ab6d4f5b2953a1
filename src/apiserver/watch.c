/* Watch: a broadcaster fed by the store's commit listener keeps a ring of
 * recent events; each watch connection reads from the ring (or from store
 * history when it starts further back) and streams
 * {"type":…,"object":…}\n lines.
 *
 * Each event's plain JSON line is encoded once, by the first watcher that
 * needs it, and shared by all; its parsed form (for selectors and Tables)
 * is likewise built once. Watch connections run in their own
 * libmicrohttpd thread and block in the content reader. */
#include "apiserver/apiserver_int.h"

#include <string.h>
#include <time.h>

#define RING_CAP 8192
#define RING_MAX_BYTES (32u << 20)
/* Parsed objects are kept for the newest events only: in-process watchers
 * read at the head of the ring, while a parsed object costs 10-20x its
 * JSON text. Older events are parsed again for the rare watcher that
 * needs them, without keeping the result. */
#define PARSED_KEEP 256

struct sk_broadcaster;

struct wev {
    int refs; /* guarded by the broadcaster lock */
    struct sk_broadcaster *bc; /* to charge parsed memory to the ring's budget */
    int64_t rev;
    int type; /* 0 ADDED, 1 MODIFIED, 2 DELETED */
    char *key;
    char *value;
    size_t len;
    pthread_mutex_t lock; /* guards the lazily built fields */
    char *line;
    size_t line_len;
    json_t *parsed;
    uint64_t seq; /* position in the broadcaster's event sequence */
};

struct sk_broadcaster {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct wev *ring[RING_CAP];
    size_t head, count; /* oldest at head */
    size_t bytes;
    size_t parsed_bytes; /* atomic: estimate of parsed objects held by ring events */
    int64_t last_rev;
    uint64_t seq_next; /* atomic: seq of the next event */
    bool shutdown;
};

static const char *const type_names[] = {"ADDED", "MODIFIED", "DELETED"};

/* A parsed object costs about 8x its JSON text in jansson. */
#define PARSED_COST(len) ((len) * 8)

static void wev_unref_locked(struct wev *e)
{
    if (--e->refs) return;
    if (e->parsed && e->bc)
        __atomic_sub_fetch(&e->bc->parsed_bytes, PARSED_COST(e->len), __ATOMIC_RELAXED);
    pthread_mutex_destroy(&e->lock);
    free(e->key);
    free(e->value);
    free(e->line);
    json_decref(e->parsed);
    free(e);
}

/* The event left the window of parsed objects (watchers holding a
 * reference keep theirs). */
static void drop_parsed(struct wev *e)
{
    pthread_mutex_lock(&e->lock);
    json_t *p = e->parsed;
    e->parsed = NULL;
    pthread_mutex_unlock(&e->lock);
    if (p && e->bc)
        __atomic_sub_fetch(&e->bc->parsed_bytes, PARSED_COST(e->len), __ATOMIC_RELAXED);
    json_decref(p);
}

static void on_commit(void *ud, const sk_store_event *evs, size_t n)
{
    struct sk_broadcaster *bc = ud;
    pthread_mutex_lock(&bc->lock);
    for (size_t i = 0; i < n; i++) {
        struct wev *e = sk_calloc(1, sizeof *e);
        e->refs = 1;
        e->bc = bc;
        e->rev = evs[i].rev;
        e->type = evs[i].type == SK_EV_DELETE ? 2 : (evs[i].create_rev == evs[i].rev ? 0 : 1);
        e->key = sk_strdup(evs[i].key);
        e->value = sk_malloc(evs[i].value_len + 1);
        memcpy(e->value, evs[i].value, evs[i].value_len);
        e->value[evs[i].value_len] = 0;
        e->len = evs[i].value_len;
        pthread_mutex_init(&e->lock, NULL);
        while (bc->count &&
               (bc->count == RING_CAP ||
                bc->bytes + __atomic_load_n(&bc->parsed_bytes, __ATOMIC_RELAXED) + e->len >
                    RING_MAX_BYTES)) {
            struct wev *old = bc->ring[bc->head];
            bc->bytes -= old->len;
            wev_unref_locked(old);
            bc->head = (bc->head + 1) % RING_CAP;
            bc->count--;
        }
        e->seq = bc->seq_next;
        __atomic_store_n(&bc->seq_next, bc->seq_next + 1, __ATOMIC_RELAXED);
        bc->ring[(bc->head + bc->count) % RING_CAP] = e;
        bc->count++;
        bc->bytes += e->len;
        bc->last_rev = e->rev;
        if (bc->count > PARSED_KEEP)
            drop_parsed(bc->ring[(bc->head + bc->count - 1 - PARSED_KEEP) % RING_CAP]);
    }
    pthread_cond_broadcast(&bc->cond);
    pthread_mutex_unlock(&bc->lock);
}

struct sk_broadcaster *sk_broadcaster_new(sk_store *st)
{
    struct sk_broadcaster *bc = sk_calloc(1, sizeof *bc);
    pthread_mutex_init(&bc->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&bc->cond, &ca);
    pthread_condattr_destroy(&ca);
    bc->last_rev = sk_store_rev(st);
    sk_store_set_listener(st, on_commit, bc);
    return bc;
}

void sk_broadcaster_shutdown(struct sk_broadcaster *bc)
{
    pthread_mutex_lock(&bc->lock);
    bc->shutdown = true;
    pthread_cond_broadcast(&bc->cond);
    pthread_mutex_unlock(&bc->lock);
}

void sk_broadcaster_free(struct sk_broadcaster *bc)
{
    if (!bc) return;
    pthread_mutex_lock(&bc->lock);
    while (bc->count) {
        wev_unref_locked(bc->ring[bc->head]);
        bc->head = (bc->head + 1) % RING_CAP;
        bc->count--;
    }
    pthread_mutex_unlock(&bc->lock);
    pthread_mutex_destroy(&bc->lock);
    pthread_cond_destroy(&bc->cond);
    free(bc);
}

/* ---- one watch stream ----------------------------------------------------- */

struct watcher {
    struct sk_apiserver *srv;
    const struct sk_resource *res;
    char *prefix;
    sk_selector *ls;
    sk_fieldsel *fs;
    bool table, table_cols_sent, bookmarks;
    int64_t last_rev;     /* events with rev > last_rev are still to send */
    int64_t deadline_ms;  /* monotonic; 0 = none */
    int64_t last_send_ms;
    sk_buf out;           /* encoded bytes not yet handed to MHD */
    size_t out_off;
    bool ended;
    struct wev **batch;   /* pending events taken from the ring or history */
    size_t nbatch, ibatch;
};

/* The parsed object (new reference; NULL if corrupt), built once while the
 * event is among the newest PARSED_KEEP of a broadcaster. */
static json_t *wev_parsed(struct wev *e)
{
    pthread_mutex_lock(&e->lock);
    json_t *o = json_incref(e->parsed);
    bool keep = e->bc && e->seq + PARSED_KEEP >= __atomic_load_n(&e->bc->seq_next, __ATOMIC_RELAXED);
    if (!o) {
        o = sk_obj_load(e->value, e->len, e->rev);
        if (o && !e->bc) {
            e->parsed = json_incref(o); /* a private event (history, initial state) */
        } else if (o && keep) {
            e->parsed = json_incref(o);
            __atomic_add_fetch(&e->bc->parsed_bytes, PARSED_COST(e->len), __ATOMIC_RELAXED);
        }
    }
    pthread_mutex_unlock(&e->lock);
    return o;
}

static void wev_line(struct wev *e, const char **line, size_t *len)
{
    pthread_mutex_lock(&e->lock);
    if (!e->line) {
        sk_buf b = SK_BUF_INIT;
        sk_buf_addf(&b, "{\"type\":\"%s\",\"object\":", type_names[e->type]);
        sk_obj_emit(&b, e->value, e->len, e->rev);
        sk_buf_adds(&b, "}\n");
        e->line_len = b.len;
        e->line = sk_buf_take(&b);
    }
    *line = e->line;
    *len = e->line_len;
    pthread_mutex_unlock(&e->lock);
}

static void emit_event(struct watcher *w, struct wev *e)
{
    if (strncmp(e->key, w->prefix, strlen(w->prefix))) return;
    if (w->ls || w->fs || w->table) {
        _sk_json_ json_t *o = wev_parsed(e);
        if (!o || !sk_obj_matches(o, w->ls, w->fs)) return;
        if (w->table) {
            const json_t *objs[1] = {o};
            json_t *t = sk_table(w->res, objs, 1, !w->table_cols_sent, sk_wall_ms() / 1000);
            w->table_cols_sent = true;
            char rv[32];
            snprintf(rv, sizeof rv, "%lld", (long long)e->rev);
            json_object_set_new(sk_json_obj(t, "metadata"), "resourceVersion", json_string(rv));
            json_t *ev = json_pack("{s:s,s:o}", "type", type_names[e->type], "object", t);
            char *s = json_dumps(ev, JSON_COMPACT);
            json_decref(ev);
            sk_buf_adds(&w->out, s);
            sk_buf_adds(&w->out, "\n");
            free(s);
            return;
        }
    }
    const char *line;
    size_t len;
    wev_line(e, &line, &len);
    sk_buf_add(&w->out, line, len);
}

static void emit_error(struct watcher *w, enum sk_code code, const char *msg)
{
    json_t *ev = json_pack("{s:s,s:{s:s,s:s,s:{},s:s,s:s,s:s,s:i}}", "type", "ERROR", "object",
                           "kind", "Status", "apiVersion", "v1", "metadata", "status", "Failure",
                           "message", msg, "reason", sk_code_reason(code), "code",
                           sk_code_http(code));
    char *s = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    sk_buf_adds(&w->out, s);
    sk_buf_adds(&w->out, "\n");
    free(s);
    w->ended = true;
}

static void emit_bookmark(struct watcher *w, int64_t rev)
{
    char av[96];
    sk_resource_api_version(w->res, av, sizeof av);
    sk_buf_addf(&w->out,
                "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"%s\",\"apiVersion\":\"%s\","
                "\"metadata\":{\"resourceVersion\":\"%lld\"}}}\n",
                w->res->kind, av, (long long)rev);
}

static void free_batch(struct watcher *w)
{
    if (!w->nbatch) return;
    pthread_mutex_lock(&w->srv->bc->lock);
    for (size_t i = 0; i < w->nbatch; i++) wev_unref_locked(w->batch[i]);
    pthread_mutex_unlock(&w->srv->bc->lock);
    free(w->batch);
    w->batch = NULL;
    w->nbatch = w->ibatch = 0;
}

struct hist_ctx {
    struct watcher *w;
    struct wev **evs;
    size_t n, cap;
};

static void hist_cb(void *ud, const sk_store_event *ev)
{
    struct hist_ctx *h = ud;
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->evs = sk_realloc(h->evs, h->cap * sizeof *h->evs);
    }
    struct wev *e = sk_calloc(1, sizeof *e);
    e->refs = 1;
    e->rev = ev->rev;
    e->type = ev->type == SK_EV_DELETE ? 2 : (ev->create_rev == ev->rev ? 0 : 1);
    e->key = sk_strdup(ev->key);
    e->value = sk_strndup(ev->value, ev->value_len);
    e->len = ev->value_len;
    pthread_mutex_init(&e->lock, NULL);
    h->evs[h->n++] = e;
}

/* Fills w->batch with the next events after last_rev; waits up to wait_ms.
 * Returns false when the stream must end. */
static bool next_batch(struct watcher *w, int64_t wait_ms)
{
    struct sk_broadcaster *bc = w->srv->bc;
    pthread_mutex_lock(&bc->lock);
    for (;;) {
        if (bc->shutdown || w->srv->stopping) {
            pthread_mutex_unlock(&bc->lock);
            return false;
        }
        int64_t oldest = bc->count ? bc->ring[bc->head]->rev : bc->last_rev + 1;
        if (w->last_rev + 1 < oldest && w->last_rev < bc->last_rev) {
            /* Further back than the ring: replay from the store's history. */
            int64_t until = oldest - 1;
            pthread_mutex_unlock(&bc->lock);
            struct hist_ctx h = {w, NULL, 0, 0};
            sk_err err = SK_ERR_INIT;
            if (sk_store_history(w->srv->store, w->prefix, w->last_rev, until, hist_cb, &h, &err) < 0) {
                for (size_t i = 0; i < h.n; i++) wev_unref_locked(h.evs[i]);
                free(h.evs);
                emit_error(w, err.code == SK_EGONE ? SK_EGONE : SK_EINTERNAL, err.msg);
                sk_err_clear(&err);
                return true;
            }
            w->batch = h.evs;
            w->nbatch = h.n;
            w->ibatch = 0;
            w->last_rev = until;
            return true;
        }
        if (bc->last_rev > w->last_rev) {
            /* binary search the first ring entry with rev > last_rev */
            size_t lo = 0, hi = bc->count;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (bc->ring[(bc->head + mid) % RING_CAP]->rev <= w->last_rev) lo = mid + 1;
                else hi = mid;
            }
            size_t n = bc->count - lo;
            w->batch = sk_malloc(n * sizeof *w->batch);
            for (size_t i = 0; i < n; i++) {
                struct wev *e = bc->ring[(bc->head + lo + i) % RING_CAP];
                e->refs++;
                w->batch[i] = e;
            }
            w->nbatch = n;
            w->ibatch = 0;
            w->last_rev = bc->last_rev;
            pthread_mutex_unlock(&bc->lock);
            return true;
        }
        if (wait_ms <= 0) {
            pthread_mutex_unlock(&bc->lock);
            return true;
        }
        sk_cond_wait_ms(&bc->cond, &bc->lock, CLOCK_MONOTONIC, wait_ms);
        wait_ms = 0; /* one wait per call: let MHD notice closed sockets */
    }
}

static ssize_t watch_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct watcher *w = cls;
    for (;;) {
        if (w->out_off < w->out.len) {
            size_t n = w->out.len - w->out_off;
            if (n > max) n = max;
            memcpy(buf, w->out.data + w->out_off, n);
            w->out_off += n;
            if (w->out_off == w->out.len) {
                w->out.len = 0;
                w->out_off = 0;
                /* a burst (history replay, a big initial state) leaves a
                 * large buffer behind: give it back */
                if (w->out.cap > (1u << 20)) sk_buf_release(&w->out);
            }
            w->last_send_ms = sk_now_ms();
            return (ssize_t)n;
        }
        if (w->ended) return MHD_CONTENT_READER_END_OF_STREAM;
        if (w->ibatch < w->nbatch) {
            /* encode a bounded chunk of events at a time */
            size_t stop = w->ibatch + 256 < w->nbatch ? w->ibatch + 256 : w->nbatch;
            for (; w->ibatch < stop; w->ibatch++) emit_event(w, w->batch[w->ibatch]);
            if (w->ibatch == w->nbatch) free_batch(w); /* drops our references */
            continue;
        }
        int64_t now = sk_now_ms();
        if (w->deadline_ms && now >= w->deadline_ms) return MHD_CONTENT_READER_END_OF_STREAM;
        int64_t wait = 1000;
        if (w->deadline_ms && w->deadline_ms - now < wait) wait = w->deadline_ms - now;
        if (!next_batch(w, wait)) return MHD_CONTENT_READER_END_OF_STREAM;
        if (w->nbatch == 0 && w->out.len == 0) {
            if (w->bookmarks && sk_now_ms() - w->last_send_ms > 60000) {
                emit_bookmark(w, w->last_rev);
                continue;
            }
            return 0; /* nothing yet: MHD calls again */
        }
    }
}

static void watch_free(void *cls)
{
    struct watcher *w = cls;
    free_batch(w);
    sk_buf_release(&w->out);
    sk_selector_free(w->ls);
    sk_fieldsel_free(w->fs);
    free(w->prefix);
    free(w);
}

/* ---- in-process watches -------------------------------------------------- */

/* One event to an in-process watcher: the parsed object, shared with every
 * other watcher of the event, is handed over as is. */
static int local_event(struct watcher *w, struct sk_local *l, struct wev *e)
{
    if (strncmp(e->key, w->prefix, strlen(w->prefix))) return 0;
    _sk_json_ json_t *o = wev_parsed(e);
    if (!o || ((w->ls || w->fs) && !sk_obj_matches(o, w->ls, w->fs))) return 0;
    if (json_is_string(json_object_get(o, "kind")) && json_is_string(json_object_get(o, "apiVersion")))
        return l->cb(l->cb_ud, type_names[e->type], o);
    /* every write sets both; a value from elsewhere gets them on a copy */
    _sk_json_ json_t *c = json_deep_copy(o);
    char av[96];
    json_object_set_new(c, "kind", json_string(w->res->kind));
    json_object_set_new(c, "apiVersion", json_string(sk_resource_api_version(w->res, av, sizeof av)));
    return l->cb(l->cb_ud, type_names[e->type], c);
}

/* The watcher's pending output (an ERROR or a BOOKMARK line) as events. */
static int local_flush(struct watcher *w, struct sk_local *l)
{
    int rc = 0;
    char *p = w->out.data, *end = w->out.data + w->out.len;
    while (rc == 0 && p && p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        _sk_json_ json_t *ev = json_loadb(p, n, 0, NULL);
        const char *type = sk_json_str(ev, "type");
        json_t *obj = json_object_get(ev, "object");
        if (type && json_is_object(obj)) rc = l->cb(l->cb_ud, type, obj);
        p = nl ? nl + 1 : NULL;
    }
    w->out.len = 0;
    w->out_off = 0;
    return rc;
}

static void local_loop(struct watcher *w, struct sk_local *l)
{
    for (;;) {
        if (local_flush(w, l) < 0 || w->ended) return;
        if (l->tick && l->tick(l->tick_ud)) return;
        for (; w->ibatch < w->nbatch; w->ibatch++) {
            if (local_event(w, l, w->batch[w->ibatch]) < 0) return; /* watch_free drops the rest */
            if ((w->ibatch & 255) == 255 && l->tick && l->tick(l->tick_ud)) return;
        }
        free_batch(w);
        int64_t now = sk_now_ms();
        if (w->deadline_ms && now >= w->deadline_ms) return;
        int64_t wait = 100; /* the tick is polled at least this often */
        if (w->deadline_ms && w->deadline_ms - now < wait) wait = w->deadline_ms - now;
        if (!next_batch(w, wait)) return;
        if (w->nbatch == 0 && w->bookmarks && sk_now_ms() - w->last_send_ms > 60000) {
            emit_bookmark(w, w->last_rev);
            w->last_send_ms = sk_now_ms();
        } else if (w->nbatch) {
            w->last_send_ms = sk_now_ms();
        }
    }
}

void sk_rest_watch(struct sk_req *q, struct sk_route *rt, sk_selector *ls, sk_fieldsel *fs)
{
    if (q->local && !q->local->cb) {
        sk_selector_free(ls);
        sk_fieldsel_free(fs);
        sk_reply_status(q, SK_EBADREQUEST, "watch requests need the watch entry point");
        return;
    }
    struct watcher *w = sk_calloc(1, sizeof *w);
    w->srv = q->srv;
    w->res = rt->res;
    w->ls = ls;
    w->fs = fs;
    w->table = sk_req_wants_table(q);
    w->bookmarks = sk_req_arg_true(q, "allowWatchBookmarks");
    const char *ns = rt->has_ns ? rt->ns : NULL;
    if (!ns && fs && rt->res->namespaced) ns = sk_fieldsel_pinned(fs, "metadata.namespace");
    if (rt->has_name) {
        /* GET .../pods/NAME?watch=1 (legacy form): watch one object */
        w->prefix = sk_key(rt->res, rt->ns, rt->name);
    } else {
        w->prefix = sk_key_prefix(rt->res, ns);
    }
    const char *to = sk_req_arg(q, "timeoutSeconds");
    if (to && *to) {
        long long t = strtoll(to, NULL, 10);
        if (t > 0) w->deadline_ms = sk_now_ms() + t * 1000;
    }
    w->last_send_ms = sk_now_ms();
    const char *rvs = sk_req_arg(q, "resourceVersion");
    sk_err err = SK_ERR_INIT;
    if (rvs && *rvs && strcmp(rvs, "0")) {
        char *end;
        long long rv = strtoll(rvs, &end, 10);
        if (*end || rv < 0) {
            watch_free(w);
            sk_reply_status(q, SK_EBADREQUEST, "invalid resourceVersion \"%s\"", rvs);
            return;
        }
        w->last_rev = rv;
        if (rv < sk_store_compact_rev(q->srv->store)) {
            char m[128];
            snprintf(m, sizeof m, "too old resource version: %lld (%lld)", rv,
                     (long long)sk_store_compact_rev(q->srv->store));
            emit_error(w, SK_EGONE, m);
        }
    } else {
        /* No RV or "0": synthetic ADDED events for the current state, then changes. */
        sk_kv *kvs = NULL;
        size_t n = 0;
        bool more;
        int64_t rev;
        if (sk_store_range(q->srv->store, w->prefix, NULL, 0, &kvs, &n, &more, &rev, &err) < 0) {
            watch_free(w);
            sk_reply_err(q, &err, rt);
            sk_err_clear(&err);
            return;
        }
        bool stop = false;
        for (size_t i = 0; i < n; i++) {
            struct wev e = {.refs = 1, .rev = kvs[i].mod_rev, .type = 0, .key = kvs[i].key,
                            .value = kvs[i].value, .len = kvs[i].value_len};
            pthread_mutex_init(&e.lock, NULL);
            if (!q->local) emit_event(w, &e);
            else if (!stop) stop = local_event(w, q->local, &e) < 0;
            pthread_mutex_destroy(&e.lock);
            free(e.line);
            json_decref(e.parsed);
            sk_kv_release(&kvs[i]);
        }
        free(kvs);
        w->last_rev = rev;
        if (stop) w->ended = true;
    }
    if (q->local) {
        q->status = 200;
        if (!w->ended) local_loop(w, q->local);
        else local_flush(w, q->local);
        watch_free(w);
        return;
    }
    if (q->resp) MHD_destroy_response(q->resp);
    q->resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, watch_reader, w,
                                                watch_free);
    MHD_add_response_header(q->resp, "Content-Type",
                            w->table ? "application/json;as=Table;v=v1;g=meta.k8s.io"
                                     : "application/json");
    MHD_add_response_header(q->resp, "Cache-Control", "no-cache, private");
    q->status = 200;
}
