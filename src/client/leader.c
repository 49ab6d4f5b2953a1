/* Lease leader election, after client-go's LeaderElector: candidates try
 * every retry period (jittered) to create the Lease or take it over once
 * the holder has not renewed it for a lease duration; the leader renews
 * every retry period and gives up (on_stop) when it could not renew for
 * the renew deadline. Expiry is judged by when *we* last saw the lease
 * record change (monotonic clock), not by the holder's renewTime, so clock
 * skew between candidates does not matter. Updates are compare-and-swap on
 * resourceVersion. Freeing a leader releases the Lease (holder "",
 * duration 1 s) so a peer takes over at once, like ReleaseOnCancel.
 *
 * As upstream's Run, a candidate that lost leadership does not try again:
 * the process is expected to stop its work (and usually exit). */
#include "client/client_int.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

struct sk_leader {
    sk_client *c;
    const struct sk_resource *res;
    char *ns, *name, *id;
    int64_t lease_ms, renew_ms, retry_ms;
    void (*on_start)(void *ud);
    void (*on_stop)(void *ud);
    void *ud;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
    struct sk_waker waker;
    struct sk_abort ab; /* stop_tick + waker, for the election thread */
    atomic_bool leader;
    pthread_t thread, start_thread;
    bool started, start_started;

    /* election-thread state */
    char *observed;       /* holder|acquire|renew|duration|transitions last seen */
    int64_t observed_at;  /* monotonic ms when it was first seen */
    unsigned seed;
};

static int stop_tick(void *ud)
{
    sk_leader *l = ud;
    pthread_mutex_lock(&l->lock);
    bool s = l->stop;
    pthread_mutex_unlock(&l->lock);
    return s;
}

sk_leader *sk_leader_new(sk_client *c, const char *ns, const char *name, const char *identity,
                         int64_t lease_ms, int64_t renew_ms, int64_t retry_ms,
                         void (*on_start)(void *ud), void (*on_stop)(void *ud), void *ud)
{
    sk_leader *l = sk_calloc(1, sizeof *l);
    l->c = c;
    l->res = sk_resource_find("coordination.k8s.io", "v1", "leases");
    l->ns = sk_strdup(ns ? ns : "kube-system");
    l->name = sk_strdup(name);
    l->id = sk_strdup(identity);
    l->lease_ms = lease_ms > 0 ? lease_ms : 15000;
    l->renew_ms = renew_ms > 0 ? renew_ms : 10000;
    l->retry_ms = retry_ms > 0 ? retry_ms : 2000;
    l->on_start = on_start;
    l->on_stop = on_stop;
    l->ud = ud;
    pthread_mutex_init(&l->lock, NULL);
    sk__cond_init(&l->cond);
    sk__waker_init(&l->waker);
    l->ab = (struct sk_abort){stop_tick, l, &l->waker};
    l->seed = (unsigned)sk_wall_ms() ^ (unsigned)(uintptr_t)l;
    return l;
}

bool sk_leader_is_leader(sk_leader *l) { return l && atomic_load(&l->leader); }

static char *lease_path(sk_leader *l, bool named)
{
    sk_buf b = SK_BUF_INIT;
    sk__res_path(&b, l->res, l->ns, named ? l->name : NULL, NULL);
    return sk_buf_take(&b);
}

static json_t *spec_for(const char *holder, int64_t dur_s, const char *acquire,
                        const char *renew, json_int_t transitions)
{
    return json_pack("{s:s,s:I,s:s,s:s,s:I}", "holderIdentity", holder, "leaseDurationSeconds",
                     (json_int_t)dur_s, "acquireTime", acquire, "renewTime", renew,
                     "leaseTransitions", transitions);
}

/* Remembers when the lease record last changed, as seen from here. */
static void observe(sk_leader *l, const json_t *spec)
{
    _sk_free_ char *rec = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
    if (!rec) rec = sk_strdup("");
    if (!l->observed || strcmp(l->observed, rec)) {
        free(l->observed);
        l->observed = SK_TAKE(rec);
        l->observed_at = sk_now_ms();
    }
}

static bool try_create(sk_leader *l, const char *now)
{
    int64_t dur = (l->lease_ms + 999) / 1000;
    _sk_json_ json_t *lease = json_pack("{s:s,s:s,s:{s:s,s:s},s:o}", "apiVersion",
                                        "coordination.k8s.io/v1", "kind", "Lease", "metadata",
                                        "name", l->name, "namespace", l->ns, "spec",
                                        spec_for(l->id, dur, now, now, 0));
    _sk_free_ char *path = lease_path(l, false);
    sk_err err = SK_ERR_INIT;
    _sk_json_ json_t *made = sk__json(l->c, "POST", path, lease, NULL, &l->ab, &err);
    if (!made) return false;
    observe(l, json_object_get(made, "spec"));
    return true;
}

static bool try_acquire_or_renew(sk_leader *l)
{
    char now[48];
    sk__micro_time(sk_wall_ms(), now, sizeof now);
    _sk_free_ char *path = lease_path(l, true);
    sk_err err = SK_ERR_INIT;
    _sk_json_ json_t *lease = sk__json(l->c, "GET", path, NULL, NULL, &l->ab, &err);
    if (!lease) return err.code == SK_ENOTFOUND ? try_create(l, now) : false;
    json_t *spec = json_object_get(lease, "spec");
    observe(l, spec);
    const char *holder = sk_json_str(spec, "holderIdentity");
    json_int_t dur = json_integer_value(json_object_get(spec, "leaseDurationSeconds"));
    json_int_t trans = json_integer_value(json_object_get(spec, "leaseTransitions"));
    bool ours = holder && !strcmp(holder, l->id);
    if (holder && *holder && !ours && l->observed_at + dur * 1000 > sk_now_ms())
        return false; /* held by a live peer */
    const char *acq = ours ? sk_json_str(spec, "acquireTime") : NULL;
    json_object_set_new(lease, "spec",
                        spec_for(l->id, (l->lease_ms + 999) / 1000, acq ? acq : now, now,
                                 ours ? trans : trans + 1));
    json_t *upd = sk__json(l->c, "PUT", path, lease, NULL, &l->ab, &err);
    if (!upd) return false; /* Conflict: someone else wrote first */
    observe(l, json_object_get(upd, "spec"));
    json_decref(upd);
    return true;
}

/* ---- the election thread ------------------------------------------------------- */

static bool wait_ms(sk_leader *l, int64_t ms)
{
    struct timespec ts = sk__deadline(ms);
    pthread_mutex_lock(&l->lock);
    while (!l->stop && pthread_cond_timedwait(&l->cond, &l->lock, &ts) != ETIMEDOUT) {
    }
    bool s = l->stop;
    pthread_mutex_unlock(&l->lock);
    return !s;
}

static void *start_main(void *arg)
{
    sk_leader *l = arg;
    l->on_start(l->ud);
    return NULL;
}

static void became_leader(sk_leader *l)
{
    atomic_store(&l->leader, true);
    sk_log(SK_INFO, "leader", "%s: acquired lease %s/%s", l->id, l->ns, l->name);
    if (!l->on_start) return;
    pthread_mutex_lock(&l->lock);
    if (!l->stop)
        l->start_started = pthread_create(&l->start_thread, NULL, start_main, l) == 0;
    pthread_mutex_unlock(&l->lock);
}

static void *leader_main(void *arg)
{
    sk_leader *l = arg;
    /* acquire: retry period plus up to 20% jitter, as wait.JitterUntil(1.2) */
    while (!atomic_load(&l->leader)) {
        if (try_acquire_or_renew(l)) {
            became_leader(l);
            break;
        }
        int64_t jitter = (int64_t)(rand_r(&l->seed) % 1000) * l->retry_ms / 5000;
        if (!wait_ms(l, l->retry_ms + jitter)) return NULL;
    }
    int64_t last_ok = sk_now_ms();
    while (wait_ms(l, l->retry_ms)) {
        if (try_acquire_or_renew(l)) {
            last_ok = sk_now_ms();
        } else if (stop_tick(l)) {
            break;
        } else if (sk_now_ms() - last_ok >= l->renew_ms) {
            atomic_store(&l->leader, false);
            sk_log(SK_WARN, "leader", "%s: failed to renew lease %s/%s", l->id, l->ns, l->name);
            if (l->on_stop) l->on_stop(l->ud);
            break;
        }
    }
    return NULL;
}

int sk_leader_start(sk_leader *l, sk_err *err)
{
    if (!l->res) return sk_err_set(err, SK_EINTERNAL, "leases resource not registered");
    if (!l->name || !*l->name || !l->id || !*l->id)
        return sk_err_set(err, SK_EINVALID, "leader election needs a lease name and identity");
    if (l->started) return sk_err_set(err, SK_EINVALID, "leader election already started");
    if (pthread_create(&l->thread, NULL, leader_main, l))
        return sk_err_sys(err, "leader election: pthread_create");
    l->started = true;
    return 0;
}

static int deadline_tick(void *ud) { return sk_now_ms() > *(const int64_t *)ud; }

/* Hands the lease back so a peer need not wait for it to expire; bounded
 * by the renew deadline so a dead server cannot hold up shutdown. A renew
 * aborted by the stop may still land after our read, hence the retries on
 * Conflict. */
static void release(sk_leader *l)
{
    int64_t until = sk_now_ms() + l->renew_ms;
    struct sk_abort ab = {deadline_tick, &until, NULL};
    _sk_free_ char *path = lease_path(l, true);
    for (int attempt = 0; attempt < 3; attempt++) {
        char now[48];
        sk__micro_time(sk_wall_ms(), now, sizeof now);
        sk_err err = SK_ERR_INIT;
        _sk_json_ json_t *lease = sk__json(l->c, "GET", path, NULL, NULL, &ab, &err);
        json_t *spec = json_object_get(lease, "spec");
        const char *holder = sk_json_str(spec, "holderIdentity");
        if (!holder || strcmp(holder, l->id)) return;
        json_int_t trans = json_integer_value(json_object_get(spec, "leaseTransitions"));
        json_object_set_new(lease, "spec", spec_for("", 1, now, now, trans));
        json_t *r = sk__json(l->c, "PUT", path, lease, NULL, &ab, &err);
        json_decref(r);
        if (r || err.code != SK_ECONFLICT) return;
    }
}

void sk_leader_free(sk_leader *l)
{
    if (!l) return;
    pthread_mutex_lock(&l->lock);
    l->stop = true;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->lock);
    sk__wake(&l->waker);
    if (l->started) pthread_join(l->thread, NULL);
    if (l->start_started) pthread_join(l->start_thread, NULL);
    if (atomic_load(&l->leader)) {
        release(l);
        atomic_store(&l->leader, false);
    }
    pthread_cond_destroy(&l->cond);
    pthread_mutex_destroy(&l->lock);
    sk__waker_release(&l->waker);
    free(l->observed);
    free(l->ns);
    free(l->name);
    free(l->id);
    free(l);
}
