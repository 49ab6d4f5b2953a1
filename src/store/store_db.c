/* SQLite setup for sk_store: the process lock, connections, schema,
 * recovery of the revision counters and the reader pool. */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY, create_rev INT NOT NULL,"
    " mod_rev INT NOT NULL, value BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS log(rev INTEGER PRIMARY KEY, key TEXT NOT NULL,"
    " create_rev INT NOT NULL, prev_rev INT NOT NULL, deleted INT NOT NULL,"
    " ts INT NOT NULL, value BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INT) WITHOUT ROWID;";

/* Stores made before kv was a rowid table kept whole rows (values of
 * kilobytes) in the key's b-tree, so every lookup compared keys through
 * overflow pages; they are converted once, in one transaction. */
static const char kv_rowid_sql[] =
    "BEGIN IMMEDIATE;"
    "CREATE TABLE kv_rowid(key TEXT PRIMARY KEY, create_rev INT NOT NULL,"
    " mod_rev INT NOT NULL, value BLOB NOT NULL);"
    "INSERT INTO kv_rowid SELECT key, create_rev, mod_rev, value FROM kv;"
    "DROP TABLE kv;"
    "ALTER TABLE kv_rowid RENAME TO kv;"
    "COMMIT;";

/* Current revision = newest history row, or the compacted revision when
 * compaction removed every row. Read in the caller's transaction. */
#define REV_SQL \
    "SELECT max(coalesce((SELECT max(rev) FROM log), 0)," \
    " coalesce((SELECT v FROM meta WHERE k = 'compact'), 0))"
#define COMPACT_REV_SQL "SELECT coalesce((SELECT v FROM meta WHERE k = 'compact'), 0)"

int sk_store_db_err(sqlite3 *db, sk_err *err, const char *what)
{
    return sk_err_set(err, SK_EINTERNAL, "store: %s: %s", what, sqlite3_errmsg(db));
}

int sk_store_prepare(sqlite3 *db, sqlite3_stmt **stmt, const char *sql, sk_err *err)
{
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL) != SQLITE_OK)
        return sk_store_db_err(db, err, "prepare");
    return 0;
}

/* SQLite's own locks let a second process open the database and wait; an
 * flock on a side file makes the second server fail at once instead. flock
 * (not fcntl) so a second open inside the same process is refused too. */
int sk_store_lock_file(sk_store *st, sk_err *err)
{
    _sk_free_ char *lock_path = sk_printf("%s.lock", st->path);
    st->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (st->lock_fd < 0) return sk_err_sys(err, "store: open %s", lock_path);
    if (flock(st->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK)
            return sk_err_set(err, SK_EUNAVAILABLE, "store %s is in use by another process",
                              st->path);
        return sk_err_sys(err, "store: lock %s", lock_path);
    }
    return 0;
}

static int exec(sqlite3 *db, const char *sql, sk_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        sk_err_set(err, SK_EINTERNAL, "store: %s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* Connections skip SQLite's per-connection mutex (NOMUTEX): the writer
 * connection belongs to one thread and readers are lent out exclusively. */
sqlite3 *sk_store_connect(const char *path, bool reader, sk_err *err)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (reader ? 0 : SQLITE_OPEN_CREATE);
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        sk_err_set(err, SK_EINTERNAL, "store: open %s: %s", path,
                   db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 5000);
    /* synchronous=FULL in WAL mode fsyncs the WAL on every COMMIT, which is
     * what makes an acknowledged write durable. journal_size_limit trims
     * the WAL file after a checkpoint following large values. */
    const char *pragmas = reader ? "PRAGMA query_only=1;"
                                 : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                   "PRAGMA journal_size_limit=67108864;";
    if (exec(db, pragmas, err) < 0) {
        sk_err_wrap(err, "open %s", path);
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

static int query_int(sqlite3 *db, const char *sql, int64_t *out, sk_err *err)
{
    sqlite3_stmt *s = NULL;
    if (sk_store_prepare(db, &s, sql, err) < 0) return -1;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) *out = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sk_store_db_err(db, err, "query");
    return 0;
}

static int check_wal(sqlite3 *db, const char *path, sk_err *err)
{
    sqlite3_stmt *s = NULL;
    if (sk_store_prepare(db, &s, "PRAGMA journal_mode", err) < 0) return -1;
    bool wal = sqlite3_step(s) == SQLITE_ROW &&
               strcmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
    sqlite3_finalize(s);
    if (!wal) return sk_err_set(err, SK_EINTERNAL, "store %s: cannot enable WAL mode", path);
    return 0;
}

static int migrate_kv(sqlite3 *db, sk_err *err)
{
    sqlite3_stmt *s = NULL;
    if (sk_store_prepare(db, &s, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'kv'",
                         err) < 0)
        return -1;
    bool old = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) &&
               strstr((const char *)sqlite3_column_text(s, 0), "WITHOUT ROWID");
    sqlite3_finalize(s);
    if (!old) return 0;
    if (exec(db, kv_rowid_sql, err) < 0) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    sk_log(SK_INFO, "store", "converted the kv table to a rowid table");
    return 0;
}

static int prepare_writer(struct sk_wdb *w, sk_err *err)
{
    static const struct { size_t off; const char *sql; } stmts[] = {
        {offsetof(struct sk_wdb, begin), "BEGIN IMMEDIATE"},
        {offsetof(struct sk_wdb, commit), "COMMIT"},
        {offsetof(struct sk_wdb, rollback), "ROLLBACK"},
        {offsetof(struct sk_wdb, kv_meta), "SELECT create_rev, mod_rev FROM kv WHERE key = ?1"},
        {offsetof(struct sk_wdb, kv_value), "SELECT value FROM kv WHERE key = ?1"},
        {offsetof(struct sk_wdb, kv_insert),
         "INSERT INTO kv(key, create_rev, mod_rev, value) VALUES(?1, ?2, ?2, ?3)"},
        {offsetof(struct sk_wdb, kv_update), "UPDATE kv SET mod_rev = ?2, value = ?3 WHERE key = ?1"},
        {offsetof(struct sk_wdb, kv_delete), "DELETE FROM kv WHERE key = ?1"},
        {offsetof(struct sk_wdb, log_insert),
         "INSERT INTO log(rev, key, create_rev, prev_rev, deleted, ts, value)"
         " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
        {offsetof(struct sk_wdb, log_find_old),
         "SELECT rev FROM log WHERE rev <= ?1 AND ts <= ?2 ORDER BY rev DESC LIMIT 1"},
        {offsetof(struct sk_wdb, log_compact), "DELETE FROM log WHERE rev <= ?1"},
        {offsetof(struct sk_wdb, meta_set), "INSERT OR REPLACE INTO meta(k, v) VALUES(?1, ?2)"},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(stmts); i++) {
        sqlite3_stmt **slot = (sqlite3_stmt **)((char *)w + stmts[i].off);
        if (sk_store_prepare(w->db, slot, stmts[i].sql, err) < 0) return -1;
    }
    return 0;
}

int sk_store_db_open(sk_store *st, sk_err *err)
{
    st->w.db = sk_store_connect(st->path, false, err);
    if (!st->w.db) return -1;
    if (check_wal(st->w.db, st->path, err) < 0) return -1;
    if (exec(st->w.db, schema_sql, err) < 0) return sk_err_wrap(err, "schema of %s", st->path);
    if (migrate_kv(st->w.db, err) < 0) return sk_err_wrap(err, "convert %s", st->path);
    int64_t rev = 0, compacted = 0;
    if (query_int(st->w.db, REV_SQL, &rev, err) < 0 ||
        query_int(st->w.db, COMPACT_REV_SQL, &compacted, err) < 0)
        return sk_err_wrap(err, "recover %s", st->path);
    st->next_rev = st->rev = rev;
    st->compacted = compacted;
    return prepare_writer(&st->w, err);
}

void sk_store_db_close(sk_store *st)
{
    struct sk_wdb *w = &st->w;
    sqlite3_stmt *all[] = {w->begin, w->commit, w->rollback, w->kv_meta, w->kv_value,
                           w->kv_insert, w->kv_update, w->kv_delete, w->log_insert,
                           w->log_find_old, w->log_compact, w->meta_set};
    for (size_t i = 0; i < SK_ARRAY_LEN(all); i++) sqlite3_finalize(all[i]);
    sqlite3_close(w->db);
    memset(w, 0, sizeof *w);
}

static int reader_open(struct sk_reader *r, const char *path, sk_err *err)
{
    static const struct { size_t off; const char *sql; } stmts[] = {
        {offsetof(struct sk_reader, begin), "BEGIN"},
        {offsetof(struct sk_reader, commit), "COMMIT"},
        {offsetof(struct sk_reader, get),
         "SELECT create_rev, mod_rev, value FROM kv WHERE key = ?1"},
        /* ?2 is the prefix's upper bound; a BLOB sorts after every TEXT
         * value, so binding an empty blob there means "no upper bound"
         * while the planner still uses it as an index range. */
        {offsetof(struct sk_reader, range_from),
         "SELECT key, create_rev, mod_rev, value FROM kv WHERE key >= ?1 AND key < ?2"
         " ORDER BY key LIMIT ?3"},
        {offsetof(struct sk_reader, range_after),
         "SELECT key, create_rev, mod_rev, value FROM kv WHERE key > ?1 AND key < ?2"
         " ORDER BY key LIMIT ?3"},
        {offsetof(struct sk_reader, count), "SELECT count(*) FROM kv WHERE key >= ?1 AND key < ?2"},
        {offsetof(struct sk_reader, rev), REV_SQL},
        {offsetof(struct sk_reader, compact_rev), COMPACT_REV_SQL},
        {offsetof(struct sk_reader, history),
         "SELECT rev, key, create_rev, deleted, value FROM log WHERE rev > ?1 AND rev <= ?2"
         " ORDER BY rev"},
    };
    r->db = sk_store_connect(path, true, err);
    if (!r->db) return -1;
    for (size_t i = 0; i < SK_ARRAY_LEN(stmts); i++) {
        sqlite3_stmt **slot = (sqlite3_stmt **)((char *)r + stmts[i].off);
        if (sk_store_prepare(r->db, slot, stmts[i].sql, err) < 0) return -1;
    }
    return 0;
}

int sk_store_readers_open(sk_store *st, sk_err *err)
{
    for (size_t i = 0; i < SK_STORE_READERS; i++)
        if (reader_open(&st->readers[i], st->path, err) < 0) return -1;
    return 0;
}

void sk_store_readers_close(sk_store *st)
{
    for (size_t i = 0; i < SK_STORE_READERS; i++) {
        struct sk_reader *r = &st->readers[i];
        sqlite3_stmt *all[] = {r->begin, r->commit, r->get, r->range_from, r->range_after,
                               r->count, r->rev, r->compact_rev, r->history};
        for (size_t j = 0; j < SK_ARRAY_LEN(all); j++) sqlite3_finalize(all[j]);
        sqlite3_close(r->db);
        memset(r, 0, sizeof *r);
    }
}
