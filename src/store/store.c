/* sk_store: public API, the writer thread and group commit.
 *
 * Writers (any thread) put an op on the queue and sleep on the op's own
 * condition variable. The writer thread takes every queued op (bounded by
 * SK_STORE_BATCH_*), applies them in one BEGIN IMMEDIATE ... COMMIT and
 * with synchronous=FULL the COMMIT returns only once the WAL is fsynced;
 * one fsync thus acknowledges the whole batch. After the commit it calls
 * the listener with the batch's events and only then wakes the callers,
 * so a write that returned has already been seen by the listener (and the
 * events may borrow the callers' values). If the batch transaction fails
 * (I/O error, disk full), each op is retried in its own transaction so a
 * single bad op fails alone.
 *
 * The same thread runs compaction every compact_interval_ms and on
 * sk_store_compact(), so compaction never races with writes. */
#include "store_int.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define DEFAULT_KEEP_SECONDS 300
#define DEFAULT_KEEP_REVISIONS 10000
#define DEFAULT_COMPACT_INTERVAL_MS 60000

int64_t sk_store_rev(sk_store *st) { return __atomic_load_n(&st->rev, __ATOMIC_ACQUIRE); }

int64_t sk_store_compact_rev(sk_store *st)
{
    return __atomic_load_n(&st->compacted, __ATOMIC_ACQUIRE);
}

void sk_store_set_listener(sk_store *st, sk_store_listener cb, void *ud)
{
    pthread_mutex_lock(&st->mu);
    st->listener = cb;
    st->listener_ud = ud;
    pthread_mutex_unlock(&st->mu);
}

/* ---- writer thread --------------------------------------------------------- */

static void notify_listener(sk_store *st, struct sk_store_op **ops, size_t n, sk_store_event *evs)
{
    pthread_mutex_lock(&st->mu);
    sk_store_listener cb = st->listener;
    void *ud = st->listener_ud;
    pthread_mutex_unlock(&st->mu);
    if (!cb) return;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        struct sk_store_op *op = ops[i];
        if (op->rc < 0 || op->kind == SK_OP_COMPACT) continue;
        bool del = op->kind == SK_OP_DELETE;
        bool stored = del && !op->value; /* delete without a caller value */
        evs[k++] = (sk_store_event){
            .type = del ? SK_EV_DELETE : SK_EV_PUT,
            .rev = op->rev,
            .create_rev = op->create_rev,
            .key = op->key,
            .value = stored ? op->old_value : op->value ? op->value : "",
            .value_len = stored ? op->old_len : op->len,
        };
    }
    if (k) cb(ud, evs, k);
}

static void fail_op(struct sk_store_op *op, const sk_err *why)
{
    op->rc = sk_err_set(&op->err, why->code, "%s", why->msg);
}

/* Commits the write ops of a batch; see the file comment for retries. */
static void commit_writes(sk_store *st, struct sk_store_op **ops, size_t n)
{
    sk_err err = SK_ERR_INIT;
    if (n == 0) return;
    if (sk_store_txn(st, ops, n, &err) == 0) return;
    if (n == 1) {
        fail_op(ops[0], &err);
        return;
    }
    sk_log(SK_WARN, "store", "group commit of %zu ops failed, retrying one by one: %s", n,
           err.msg);
    for (size_t i = 0; i < n; i++) {
        sk_err one = SK_ERR_INIT;
        if (sk_store_txn(st, &ops[i], 1, &one) < 0) fail_op(ops[i], &one);
    }
}

static void run_compaction(sk_store *st)
{
    sk_err err = SK_ERR_INIT;
    int64_t c = sk_store_do_compact(st, &err);
    if (c < 0) {
        sk_log(SK_WARN, "store", "compaction of %s failed: %s", st->path, err.msg);
        return;
    }
    if (c > st->compacted) __atomic_store_n(&st->compacted, c, __ATOMIC_RELEASE);
}

/* Handles one batch taken off the queue: writes first (in queue order),
 * then requested compactions, then the listener, then wakes callers. */
static void process_batch(sk_store *st, struct sk_store_op **ops, size_t n,
                          struct sk_store_op **writes, sk_store_event *evs)
{
    size_t nw = 0;
    bool compact = false;
    for (size_t i = 0; i < n; i++) {
        if (ops[i]->kind == SK_OP_COMPACT)
            compact = true;
        else
            writes[nw++] = ops[i];
    }
    commit_writes(st, writes, nw);
    __atomic_store_n(&st->rev, st->next_rev, __ATOMIC_RELEASE);
    if (compact) run_compaction(st);
    notify_listener(st, writes, nw, evs);

    pthread_mutex_lock(&st->mu);
    for (size_t i = 0; i < n; i++) {
        struct sk_store_op *op = ops[i];
        if (op->kind == SK_OP_COMPACT) op->rev = sk_store_compact_rev(st);
        free(op->old_value); /* the event borrowed it; callers don't need it */
        op->old_value = NULL;
        op->done = true;
        pthread_cond_signal(&op->cv);
    }
    pthread_mutex_unlock(&st->mu);
}

/* Pops up to the batch limits off the queue; called with mu held. */
static size_t take_batch(sk_store *st, struct sk_store_op **ops)
{
    size_t n = 0, bytes = 0;
    while (st->head && n < SK_STORE_BATCH_OPS) {
        struct sk_store_op *op = st->head;
        if (n > 0 && bytes + op->len > SK_STORE_BATCH_BYTES) break;
        bytes += op->len;
        st->head = op->next;
        ops[n++] = op;
    }
    if (!st->head) st->tail = NULL;
    return n;
}

static void deadline_after(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

static bool passed(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > deadline->tv_sec ||
           (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

static void *writer_main(void *arg)
{
    sk_store *st = arg;
    struct sk_store_op **ops = sk_calloc(SK_STORE_BATCH_OPS, sizeof *ops);
    struct sk_store_op **writes = sk_calloc(SK_STORE_BATCH_OPS, sizeof *writes);
    sk_store_event *evs = sk_calloc(SK_STORE_BATCH_OPS, sizeof *evs);
    struct timespec next_compact;
    deadline_after(&next_compact, st->compact_interval_ms);

    pthread_mutex_lock(&st->mu);
    for (;;) {
        if (st->head) {
            size_t n = take_batch(st, ops);
            pthread_mutex_unlock(&st->mu);
            process_batch(st, ops, n, writes, evs);
            pthread_mutex_lock(&st->mu);
        } else if (st->stopping) {
            break; /* only once the queue is drained */
        } else {
            pthread_cond_timedwait(&st->wake, &st->mu, &next_compact);
        }
        /* Checked after batches too, so steady write load can't starve it. */
        if (passed(&next_compact)) {
            pthread_mutex_unlock(&st->mu);
            run_compaction(st);
            deadline_after(&next_compact, st->compact_interval_ms);
            pthread_mutex_lock(&st->mu);
        }
    }
    pthread_mutex_unlock(&st->mu);
    free(ops);
    free(writes);
    free(evs);
    return NULL;
}

/* Queues op and blocks until the writer has committed (or failed) it. */
static int submit(sk_store *st, struct sk_store_op *op, sk_err *err)
{
    pthread_mutex_lock(&st->mu);
    if (st->stopping || pthread_equal(pthread_self(), st->thread)) {
        pthread_mutex_unlock(&st->mu);
        if (st->stopping) return sk_err_set(err, SK_EUNAVAILABLE, "store is shutting down");
        return sk_err_set(err, SK_EINTERNAL, "store: write from the listener would deadlock");
    }
    pthread_cond_init(&op->cv, NULL);
    op->next = NULL;
    if (st->tail)
        st->tail->next = op;
    else
        st->head = op;
    st->tail = op;
    pthread_cond_signal(&st->wake);
    while (!op->done) pthread_cond_wait(&op->cv, &st->mu);
    pthread_mutex_unlock(&st->mu);
    pthread_cond_destroy(&op->cv);
    if (op->rc < 0) {
        if (err) {
            sk_err_clear(err);
            *err = op->err;
        } else {
            sk_err_clear(&op->err);
        }
        return -1;
    }
    return 0;
}

/* ---- public writes -------------------------------------------------------- */

static int check_write(const char *key, const char *value, size_t len, sk_err *err)
{
    if (!key || !*key) return sk_err_set(err, SK_EINVALID, "store: empty key");
    if (strlen(key) > SK_STORE_MAX_KEY)
        return sk_err_set(err, SK_EINVALID, "store: key longer than %d bytes", SK_STORE_MAX_KEY);
    if (len > SK_STORE_MAX_VALUE)
        return sk_err_set(err, SK_ETOOLARGE, "store: value of %zu bytes exceeds %u", len,
                          SK_STORE_MAX_VALUE);
    if (len && !value) return sk_err_set(err, SK_EINVALID, "store: NULL value");
    return 0;
}

static int write_op(sk_store *st, enum sk_op_kind kind, const char *key, const char *value,
                    size_t len, int64_t expect_rev, int64_t *rev, sk_err *err)
{
    if (check_write(key, value, len, err) < 0) return -1;
    struct sk_store_op op = {.kind = kind, .key = key, .value = value, .len = len,
                             .expect_rev = expect_rev};
    if (submit(st, &op, err) < 0) return -1;
    if (rev) *rev = op.rev;
    return 0;
}

int sk_store_create(sk_store *st, const char *key, const char *value, size_t len, int64_t *rev,
                    sk_err *err)
{
    return write_op(st, SK_OP_CREATE, key, value, len, 0, rev, err);
}

int sk_store_update(sk_store *st, const char *key, const char *value, size_t len,
                    int64_t expect_rev, int64_t *rev, sk_err *err)
{
    return write_op(st, SK_OP_UPDATE, key, value, len, expect_rev, rev, err);
}

int sk_store_delete(sk_store *st, const char *key, int64_t expect_rev, const char *value,
                    size_t len, int64_t *rev, sk_err *err)
{
    return write_op(st, SK_OP_DELETE, key, value, value ? len : 0, expect_rev, rev, err);
}

int64_t sk_store_compact(sk_store *st)
{
    struct sk_store_op op = {.kind = SK_OP_COMPACT};
    if (submit(st, &op, NULL) < 0) return sk_store_compact_rev(st);
    return op.rev;
}

/* ---- lifecycle ------------------------------------------------------------- */

static void apply_config(sk_store *st, const struct sk_store_config *cfg)
{
    /* 0 selects the default; a negative retention means "keep none". */
    st->keep_seconds = cfg->keep_seconds ? cfg->keep_seconds : DEFAULT_KEEP_SECONDS;
    st->keep_revisions = cfg->keep_revisions ? cfg->keep_revisions : DEFAULT_KEEP_REVISIONS;
    if (st->keep_seconds < 0) st->keep_seconds = 0;
    if (st->keep_revisions < 0) st->keep_revisions = 0;
    st->compact_interval_ms =
        cfg->compact_interval_ms > 0 ? cfg->compact_interval_ms : DEFAULT_COMPACT_INTERVAL_MS;
}

static void init_sync(sk_store *st)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&st->rmu, NULL);
    pthread_cond_init(&st->rfree, NULL);
}

sk_store *sk_store_open(const struct sk_store_config *cfg, sk_err *err)
{
    if (!cfg || !cfg->path || !*cfg->path) {
        sk_err_set(err, SK_EINVALID, "store: no database path");
        return NULL;
    }
    if (cfg->backend && *cfg->backend && strcmp(cfg->backend, "sqlite") != 0) {
        sk_err_set(err, SK_EINVALID, "store: unknown backend \"%s\"", cfg->backend);
        return NULL;
    }
    sk_store *st = sk_calloc(1, sizeof *st);
    st->path = sk_strdup(cfg->path);
    st->lock_fd = -1;
    apply_config(st, cfg);
    init_sync(st);
    if (sk_store_lock_file(st, err) < 0 || sk_store_db_open(st, err) < 0 ||
        sk_store_readers_open(st, err) < 0)
        goto fail;
    int rc = pthread_create(&st->thread, NULL, writer_main, st);
    if (rc != 0) {
        errno = rc;
        sk_err_sys(err, "store: start writer thread");
        goto fail;
    }
    st->thread_started = true;
    return st;
fail:
    sk_store_free(st);
    return NULL;
}

void sk_store_free(sk_store *st)
{
    if (!st) return;
    if (st->thread_started) {
        pthread_mutex_lock(&st->mu);
        st->stopping = true;
        pthread_cond_signal(&st->wake);
        pthread_mutex_unlock(&st->mu);
        pthread_join(st->thread, NULL);
    }
    sk_store_readers_close(st);
    sk_store_db_close(st);
    if (st->lock_fd >= 0) close(st->lock_fd); /* releases the flock */
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->wake);
    pthread_mutex_destroy(&st->rmu);
    pthread_cond_destroy(&st->rfree);
    free(st->path);
    free(st);
}
