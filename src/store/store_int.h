/* Module-private declarations of sk_store.
 *
 * Layout: store.c (public API, writer thread, group commit, compaction
 * timer), store_db.c (opening SQLite, schema, locking, recovery),
 * store_write.c (one write transaction: CAS checks, revisions, history,
 * compaction), store_read.c (reader pool: get, range, count, history). */
#ifndef SK_STORE_INT_H
#define SK_STORE_INT_H

#include "store/store.h"

#include <pthread.h>
#include <sqlite3.h>

/* Limits on caller-supplied sizes: the API server caps request bodies at
 * 3 MiB, keys are /registry/<resource>/<ns>/<name> paths. */
#define SK_STORE_MAX_KEY 4096
#define SK_STORE_MAX_VALUE (8u << 20)
/* A group commit takes at most this many ops / bytes, so one transaction
 * (and the WAL it writes) stays bounded when many large values queue up. */
#define SK_STORE_BATCH_OPS 1024
#define SK_STORE_BATCH_BYTES (64u << 20)
#define SK_STORE_READERS 4

enum sk_op_kind { SK_OP_CREATE, SK_OP_UPDATE, SK_OP_DELETE, SK_OP_COMPACT };

/* One queued request. Lives on the calling thread's stack; the caller
 * blocks until `done`, so borrowed key/value stay valid for the writer. */
struct sk_store_op {
    enum sk_op_kind kind;
    const char *key;   /* borrowed */
    const char *value; /* borrowed; delete: NULL = record the stored value */
    size_t len;
    int64_t expect_rev;
    /* results, written by the writer thread */
    int rc;
    sk_err err;
    int64_t rev;
    int64_t create_rev;
    char *old_value; /* delete: last stored value, owned by the writer */
    size_t old_len;
    bool done;
    pthread_cond_t cv;
    struct sk_store_op *next;
};

/* The writer connection and its prepared statements; used only by the
 * writer thread (and by open/free before/after it runs). */
struct sk_wdb {
    sqlite3 *db;
    sqlite3_stmt *begin, *commit, *rollback;
    sqlite3_stmt *kv_meta;   /* create_rev, mod_rev of key */
    sqlite3_stmt *kv_value;  /* value of key */
    sqlite3_stmt *kv_insert, *kv_update, *kv_delete;
    sqlite3_stmt *log_insert;
    sqlite3_stmt *log_find_old; /* newest rev <= ? with ts <= ? */
    sqlite3_stmt *log_compact;  /* delete rev <= ? */
    sqlite3_stmt *meta_set;
};

/* One read connection; taken exclusively from the pool per call. */
struct sk_reader {
    sqlite3 *db;
    sqlite3_stmt *begin, *commit;
    sqlite3_stmt *get, *range_from, *range_after, *count, *rev, *compact_rev, *history;
    bool busy;
};

struct sk_store {
    char *path;
    int lock_fd;
    int64_t keep_seconds, keep_revisions, compact_interval_ms;

    struct sk_wdb w;
    int64_t next_rev;  /* writer thread: last assigned revision */
    int64_t rev;       /* last committed, atomic */
    int64_t compacted; /* compacted revision, atomic */

    pthread_mutex_t mu; /* queue, stopping, listener */
    pthread_cond_t wake; /* writer waits here */
    struct sk_store_op *head, *tail;
    bool stopping;
    bool thread_started;
    pthread_t thread;
    sk_store_listener listener;
    void *listener_ud;

    pthread_mutex_t rmu; /* reader pool */
    pthread_cond_t rfree;
    struct sk_reader readers[SK_STORE_READERS];
};

/* store_db.c */
int sk_store_lock_file(sk_store *st, sk_err *err);
int sk_store_db_open(sk_store *st, sk_err *err);
void sk_store_db_close(sk_store *st);
int sk_store_readers_open(sk_store *st, sk_err *err);
void sk_store_readers_close(sk_store *st);
sqlite3 *sk_store_connect(const char *path, bool reader, sk_err *err);
int sk_store_prepare(sqlite3 *db, sqlite3_stmt **stmt, const char *sql, sk_err *err);
int sk_store_db_err(sqlite3 *db, sk_err *err, const char *what);

/* store_write.c: runs ops[0..n) in one transaction. Returns 0 when it
 * committed (individual ops may still have failed CAS checks, see op->rc),
 * -1 with err when the transaction as a whole failed and was rolled back. */
int sk_store_txn(sk_store *st, struct sk_store_op **ops, size_t n, sk_err *err);
/* Deletes history up to the retention target; returns the compacted rev. */
int64_t sk_store_do_compact(sk_store *st, sk_err *err);

#endif
