/* sk_store: a revisioned (MVCC) key-value store with watch, the only
 * durable state of the cluster. Modelled on etcd's data model so that an
 * etcd backend can implement the same interface.
 *
 * - One global revision counter; every successful write gets the next
 *   revision (= Kubernetes resourceVersion). Each key has create_rev and
 *   mod_rev.
 * - Writes are acknowledged (the call returns) only after they are durably
 *   committed. Concurrent writers are group-committed: one writer thread
 *   collects pending operations and commits them in one transaction.
 * - History of changes is kept for watches and compacted (older than
 *   keep_seconds AND more than keep_revisions behind); watching from a
 *   compacted revision fails with SK_EGONE.
 * - After each commit, the listener (if set) is called in the writer thread
 *   with the committed events in revision order.
 *
 * Threads: every function may be called from any thread, except that the
 * listener must not call back into write functions of the same store.
 * Values are opaque bytes (the API server stores JSON text). */
#ifndef SK_STORE_H
#define SK_STORE_H

#include "lib/lib.h"

typedef struct sk_store sk_store;

struct sk_store_config {
    const char *backend;     /* "sqlite" (default) */
    const char *path;        /* sqlite: database file */
    int64_t keep_seconds;    /* history retention, default 300 */
    int64_t keep_revisions;  /* history retention, default 10000 */
    int64_t compact_interval_ms; /* how often compaction runs, default 60000 */
};
/* In sk_store_config, 0 selects the default; a negative keep_seconds or
 * keep_revisions means "no retention" by that measure (tests use this).
 * Keys are at most 4096 bytes (else SK_EINVALID), values at most 8 MiB
 * (else SK_ETOOLARGE). */

/* Opens (creating if needed). Fails with a clear message when another
 * process holds the same database. Caller frees with sk_store_free. */
sk_store *sk_store_open(const struct sk_store_config *cfg, sk_err *err);
void sk_store_free(sk_store *st); /* flushes, stops threads; NULL ok */

/* One key-value at a revision. value is NUL-terminated for convenience. */
typedef struct sk_kv {
    char *key;
    char *value;
    size_t value_len;
    int64_t create_rev;
    int64_t mod_rev;
} sk_kv;
void sk_kv_release(sk_kv *kv); /* frees key and value */

/* Current revision (last committed). */
int64_t sk_store_rev(sk_store *st);
/* Oldest revision a watch may start after (compacted revision). */
int64_t sk_store_compact_rev(sk_store *st);

/* Reads the current value. SK_ENOTFOUND if absent. *out filled, caller
 * releases with sk_kv_release. */
int sk_store_get(sk_store *st, const char *key, sk_kv *out, sk_err *err) SK_MUST_CHECK;

/* Range over keys with the given prefix, in key order, starting strictly
 * after start_after (NULL/"" = from the beginning), at most limit entries
 * (0 = no limit). *more is set when entries remain. *rev receives the store
 * revision the range was read at. Caller frees each kv and the array. */
int sk_store_range(sk_store *st, const char *prefix, const char *start_after, size_t limit,
                   sk_kv **out, size_t *n, bool *more, int64_t *rev, sk_err *err) SK_MUST_CHECK;
/* Number of keys with the prefix; -1 on a database error. */
int64_t sk_store_count(sk_store *st, const char *prefix);

/* Creates key; SK_EEXIST if present. *rev receives the new revision. */
int sk_store_create(sk_store *st, const char *key, const char *value, size_t len, int64_t *rev,
                    sk_err *err) SK_MUST_CHECK;
/* Replaces key's value if its mod_rev == expect_rev (expect_rev 0 = any).
 * SK_ENOTFOUND if absent, SK_ECONFLICT if the revision differs. */
int sk_store_update(sk_store *st, const char *key, const char *value, size_t len,
                    int64_t expect_rev, int64_t *rev, sk_err *err) SK_MUST_CHECK;
/* Deletes key if its mod_rev == expect_rev (0 = any). The deleted value is
 * recorded in history (and given to watchers) as `value` if non-NULL, else
 * as the last stored value. */
int sk_store_delete(sk_store *st, const char *key, int64_t expect_rev, const char *value,
                    size_t len, int64_t *rev, sk_err *err) SK_MUST_CHECK;

/* ---- watch ---------------------------------------------------------------- */

enum sk_event_type { SK_EV_PUT = 1, SK_EV_DELETE = 2 };

typedef struct sk_store_event {
    enum sk_event_type type;
    int64_t rev;         /* revision of this change */
    int64_t create_rev;  /* of the key; for PUT with create_rev == rev it's a creation */
    const char *key;
    const char *value;   /* PUT: new value; DELETE: last value. value_len
                          * bytes, not necessarily NUL-terminated */
    size_t value_len;
} sk_store_event;

/* Called in the writer thread after each commit with the batch of events,
 * in revision order. Borrowed: valid only during the call. The writes of
 * the batch return to their callers only after the listener returned, and
 * sk_store_rev() already includes them; readers can see them a moment
 * before (from COMMIT on). Keep it short: it delays every writer. */
typedef void (*sk_store_listener)(void *ud, const sk_store_event *evs, size_t n);
void sk_store_set_listener(sk_store *st, sk_store_listener cb, void *ud);

/* Replays history: calls cb for every change with after_rev < rev <= until_rev
 * whose key starts with prefix, in revision order. SK_EGONE if after_rev is
 * older than the compacted revision. until_rev <= 0 means "up to the
 * current revision". cb runs inside a
 * read transaction on a pooled connection: it must not call the store. */
int sk_store_history(sk_store *st, const char *prefix, int64_t after_rev, int64_t until_rev,
                     void (*cb)(void *ud, const sk_store_event *ev), void *ud, sk_err *err)
    SK_MUST_CHECK;

/* Compacts history now (normally done by a timer); returns the new compacted rev. */
int64_t sk_store_compact(sk_store *st);

#endif
