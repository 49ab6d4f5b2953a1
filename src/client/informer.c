/* Informers: one thread per informer runs list -> watch -> (re)list.
 *
 * A list replaces the cache and delivers the difference against the
 * previous contents (adds, updates where the resourceVersion moved,
 * deletes), so handlers see a consistent picture across relists. The watch
 * then starts from the list's resourceVersion with a randomised server-side
 * timeout (5-10 min) and is simply restarted from the last seen version
 * when it ends normally. A 410/ERROR event or a transport failure forces a
 * relist; failures back off 100 ms doubling to 5 s, reset by a watch that
 * stayed up. Handlers and resyncs run on the informer thread only; the
 * resync is driven from the watch's 100 ms poll so it fires while idle. */
#include "client/client_int.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define HEALTHY_WATCH_MS 1000

struct sk_informer {
    sk_client *c;
    const struct sk_resource *r;
    char *ns, *ls, *fs;
    int64_t resync_ms;
    struct sk_informer_handlers *h;
    size_t nh;
    json_t *(*transform)(void *ud, const json_t *obj);
    void *transform_ud;
    struct sk_icache cache;

    pthread_t thread;
    bool started, joined;
    atomic_int stop;
    struct sk_waker waker; /* interrupts a running list/watch on stop */
    pthread_mutex_t lock; /* synced, and sleeps that stop must interrupt */
    pthread_cond_t cond;
    bool synced;

    /* informer-thread state */
    char rv[64];
    int64_t next_resync;
    long watch_err; /* code of an ERROR event in the current watch */
    unsigned seed;
};

struct sk_icache *sk__informer_cache(sk_informer *inf) { return &inf->cache; }

sk_informer *sk_informer_new(sk_client *c, const struct sk_resource *r, const char *ns,
                             const char *label_selector, const char *field_selector,
                             int64_t resync_ms)
{
    struct sk_informer *inf = sk_calloc(1, sizeof *inf);
    inf->c = c;
    inf->r = r;
    inf->ns = ns && *ns && r->namespaced ? sk_strdup(ns) : NULL;
    inf->ls = label_selector && *label_selector ? sk_strdup(label_selector) : NULL;
    inf->fs = field_selector && *field_selector ? sk_strdup(field_selector) : NULL;
    inf->resync_ms = resync_ms > 0 ? resync_ms : 0;
    sk__icache_init(&inf->cache, r->namespaced);
    pthread_mutex_init(&inf->lock, NULL);
    sk__cond_init(&inf->cond);
    sk__waker_init(&inf->waker);
    inf->seed = (unsigned)sk_wall_ms() ^ (unsigned)(uintptr_t)inf;
    return inf;
}

void sk_informer_set_transform(sk_informer *inf, json_t *(*fn)(void *ud, const json_t *obj),
                               void *ud)
{
    inf->transform = fn;
    inf->transform_ud = ud;
}

/* New reference to what the cache keeps for obj. */
static json_t *transformed(sk_informer *inf, json_t *obj)
{
    if (!inf->transform) return json_incref(obj);
    json_t *t = inf->transform(inf->transform_ud, obj);
    return t ? t : json_incref(obj);
}

void sk_informer_add_handlers(sk_informer *inf, const struct sk_informer_handlers *h)
{
    inf->h = sk_realloc(inf->h, (inf->nh + 1) * sizeof *inf->h);
    inf->h[inf->nh++] = *h;
}

/* ---- delivery ------------------------------------------------------------------ */

static void emit_add(sk_informer *inf, const json_t *o)
{
    for (size_t i = 0; i < inf->nh; i++)
        if (inf->h[i].on_add) inf->h[i].on_add(inf->h[i].ud, o);
}

static void emit_update(sk_informer *inf, const json_t *old, const json_t *cur)
{
    for (size_t i = 0; i < inf->nh; i++)
        if (inf->h[i].on_update) inf->h[i].on_update(inf->h[i].ud, old, cur);
}

static void emit_delete(sk_informer *inf, const json_t *o)
{
    for (size_t i = 0; i < inf->nh; i++)
        if (inf->h[i].on_delete) inf->h[i].on_delete(inf->h[i].ud, o);
}

static bool stopping(sk_informer *inf) { return atomic_load(&inf->stop) != 0; }

static int stop_tick(void *ud) { return stopping(ud); }

static void resync(sk_informer *inf)
{
    json_t *all = sk__icache_all(&inf->cache);
    size_t i;
    json_t *o;
    json_array_foreach(all, i, o) {
        if (stopping(inf)) break;
        emit_update(inf, o, o);
    }
    json_decref(all);
}

static int watch_tick(void *ud)
{
    sk_informer *inf = ud;
    if (stopping(inf)) return 1;
    if (inf->resync_ms && sk_now_ms() >= inf->next_resync) {
        resync(inf);
        inf->next_resync = sk_now_ms() + inf->resync_ms;
    }
    return 0;
}

static int on_event(void *ud, const char *type, json_t *obj)
{
    sk_informer *inf = ud;
    if (!strcmp(type, "ERROR")) {
        json_int_t code = json_integer_value(json_object_get(obj, "code"));
        inf->watch_err = code ? (long)code : 500;
        return -1;
    }
    const char *rv = sk_json_path_str(obj, "metadata.resourceVersion");
    if (rv && *rv) snprintf(inf->rv, sizeof inf->rv, "%s", rv);
    if (!strcmp(type, "BOOKMARK")) return 0;
    sk__set_type(obj, inf->r);
    _sk_free_ char *key = sk_object_key(obj);
    _sk_json_ json_t *t = transformed(inf, obj);
    if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED")) {
        json_t *old = sk__icache_put(&inf->cache, key, t);
        if (old) emit_update(inf, old, t);
        else emit_add(inf, t);
        json_decref(old);
    } else if (!strcmp(type, "DELETED")) {
        json_t *old = sk__icache_del(&inf->cache, key);
        emit_delete(inf, t);
        json_decref(old);
    }
    return stopping(inf) ? -1 : 0;
}

/* ---- list / watch loop ----------------------------------------------------------- */

static int relist(sk_informer *inf, sk_err *err)
{
    struct sk_abort ab = {stop_tick, inf, &inf->waker};
    _sk_json_ json_t *list = sk__list(inf->c, inf->r, inf->ns, inf->ls, inf->fs, &ab, err);
    if (!list) return -1;
    const char *rv = sk_json_path_str(list, "metadata.resourceVersion");
    snprintf(inf->rv, sizeof inf->rv, "%s", rv ? rv : "");
    json_t *fresh = json_object();
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(list, "items"), i, o) {
        _sk_free_ char *key = sk_object_key(o);
        json_object_set_new_nocheck(fresh, key, transformed(inf, o));
    }
    _sk_json_ json_t *added = json_array(), *updated = json_array(), *deleted = json_array();
    sk__icache_replace(&inf->cache, fresh, added, updated, deleted);
    json_array_foreach(added, i, o) emit_add(inf, o);
    json_array_foreach(updated, i, o)
        emit_update(inf, json_array_get(o, 0), json_array_get(o, 1));
    json_array_foreach(deleted, i, o) emit_delete(inf, o);

    pthread_mutex_lock(&inf->lock);
    if (!inf->synced && inf->resync_ms) inf->next_resync = sk_now_ms() + inf->resync_ms;
    inf->synced = true;
    pthread_cond_broadcast(&inf->cond);
    pthread_mutex_unlock(&inf->lock);
    return 0;
}

static void sleep_ms(sk_informer *inf, int64_t ms)
{
    struct timespec ts = sk__deadline(ms);
    pthread_mutex_lock(&inf->lock);
    while (!stopping(inf) && pthread_cond_timedwait(&inf->cond, &inf->lock, &ts) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&inf->lock);
}

static int64_t grow(int64_t b)
{
    b = b ? b * 2 : BACKOFF_MIN_MS;
    return b > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : b;
}

static void *informer_main(void *arg)
{
    sk_informer *inf = arg;
    int64_t backoff = 0;
    bool need_list = true, warned = false;
    while (!stopping(inf)) {
        sk_err err = SK_ERR_INIT;
        if (need_list && relist(inf, &err) < 0) {
            if (stopping(inf)) break;
            if (!warned)
                sk_log(SK_WARN, "informer", "list %s: %s", inf->r->plural, err.msg);
            warned = true;
            sleep_ms(inf, backoff = grow(backoff));
            continue;
        }
        need_list = false;
        inf->watch_err = 0;
        int timeout = 300 + (int)(rand_r(&inf->seed) % 301);
        int64_t t0 = sk_now_ms();
        struct sk_abort ab = {watch_tick, inf, &inf->waker};
        int rc = sk__watch(inf->c, inf->r, inf->ns, inf->rv, inf->ls, inf->fs, timeout, on_event,
                           inf, &ab, &err);
        if (stopping(inf)) break;
        if (rc < 0 || inf->watch_err) need_list = true;
        if (rc < 0 && !warned)
            sk_log(SK_WARN, "informer", "watch %s: %s", inf->r->plural, err.msg);
        if (sk_now_ms() - t0 >= HEALTHY_WATCH_MS) {
            backoff = 0;
            warned = rc < 0;
            continue;
        }
        warned = warned || rc < 0;
        sleep_ms(inf, backoff = grow(backoff));
    }
    return NULL;
}

int sk_informer_start(sk_informer *inf, sk_err *err)
{
    if (inf->started) return sk_err_set(err, SK_EINVALID, "informer already started");
    if (pthread_create(&inf->thread, NULL, informer_main, inf))
        return sk_err_sys(err, "informer %s: pthread_create", inf->r->plural);
    inf->started = true;
    return 0;
}

bool sk_informer_wait_synced(sk_informer *inf, int64_t timeout_ms)
{
    struct timespec ts = sk__deadline(timeout_ms);
    pthread_mutex_lock(&inf->lock);
    while (!inf->synced && !stopping(inf)) {
        if (pthread_cond_timedwait(&inf->cond, &inf->lock, &ts) == ETIMEDOUT) break;
    }
    bool ok = inf->synced && !stopping(inf);
    pthread_mutex_unlock(&inf->lock);
    return ok;
}

void sk_informer_stop(sk_informer *inf)
{
    if (!inf) return;
    pthread_mutex_lock(&inf->lock);
    atomic_store(&inf->stop, 1);
    pthread_cond_broadcast(&inf->cond);
    pthread_mutex_unlock(&inf->lock);
    sk__wake(&inf->waker);
    if (inf->started && !inf->joined) {
        pthread_join(inf->thread, NULL);
        inf->joined = true;
    }
}

void sk_informer_free(sk_informer *inf)
{
    if (!inf) return;
    sk_informer_stop(inf);
    sk__icache_release(&inf->cache);
    pthread_cond_destroy(&inf->cond);
    pthread_mutex_destroy(&inf->lock);
    sk__waker_release(&inf->waker);
    free(inf->h);
    free(inf->ns);
    free(inf->ls);
    free(inf->fs);
    free(inf);
}
