/* Stores made before kv was a rowid table: a database written by hand with
 * the old schema (kv WITHOUT ROWID) opens through sk_store, is converted
 * once, keeps every value and revision, takes new writes and reopens. */
#include "store/store.h"
#include "unit/test.h"

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>

static char tmpdir[64];

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    return remove(p);
}

static void rm_tree(const char *dir) { nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS); }

/* The schema as the store wrote it before the conversion existed. */
static const char old_schema[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE kv(key TEXT PRIMARY KEY, create_rev INT NOT NULL,"
    " mod_rev INT NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE log(rev INTEGER PRIMARY KEY, key TEXT NOT NULL,"
    " create_rev INT NOT NULL, prev_rev INT NOT NULL, deleted INT NOT NULL,"
    " ts INT NOT NULL, value BLOB NOT NULL);"
    "CREATE TABLE meta(k TEXT PRIMARY KEY, v INT) WITHOUT ROWID;";

#define KEY_A "/registry/configmaps/default/a"
#define KEY_B "/registry/configmaps/default/b"
#define KEY_C "/registry/configmaps/default/c"
#define BIG_LEN 20000 /* several overflow pages: what made the old table slow */

static char big[BIG_LEN + 1];

static int exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "sql: %s\n", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int insert(sqlite3 *db, const char *sql, const char *key, const int64_t *ints, int nints,
                  const char *value)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) return -1;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    for (int i = 0; i < nints; i++) sqlite3_bind_int64(s, i + 2, ints[i]);
    sqlite3_bind_blob(s, nints + 2, value, (int)strlen(value), SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int kv_row(sqlite3 *db, const char *key, int64_t create_rev, int64_t mod_rev,
                  const char *value)
{
    int64_t v[] = {create_rev, mod_rev};
    return insert(db, "INSERT INTO kv(key, create_rev, mod_rev, value) VALUES(?1, ?2, ?3, ?4)",
                  key, v, 2, value);
}

static int log_row(sqlite3 *db, int64_t rev, const char *key, int64_t create_rev,
                   int64_t prev_rev, int deleted, const char *value)
{
    int64_t v[] = {rev, create_rev, prev_rev, deleted, 1700000000000LL + rev};
    return insert(db, "INSERT INTO log(key, rev, create_rev, prev_rev, deleted, ts, value)"
                      " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                  key, v, 5, value);
}

/* History: 1 create a, 2 create b (large), 3 update a, 4 create c, 5 delete c. */
static int make_old_db(const char *path, bool rows)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    int rc = exec_sql(db, old_schema);
    if (rc == 0 && rows) {
        rc |= exec_sql(db, "BEGIN");
        rc |= kv_row(db, KEY_A, 1, 3, "a2");
        rc |= kv_row(db, KEY_B, 2, 2, big);
        rc |= log_row(db, 1, KEY_A, 1, 0, 0, "a1");
        rc |= log_row(db, 2, KEY_B, 2, 0, 0, big);
        rc |= log_row(db, 3, KEY_A, 1, 1, 0, "a2");
        rc |= log_row(db, 4, KEY_C, 4, 0, 0, "c1");
        rc |= log_row(db, 5, KEY_C, 4, 4, 1, "c1");
        rc |= exec_sql(db, "INSERT INTO meta(k, v) VALUES('compact', 0); COMMIT");
    }
    sqlite3_close(db);
    return rc ? -1 : 0;
}

/* sqlite_master's sql for a table, or "" when absent; caller frees. */
static char *table_sql(const char *path, const char *name)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    char *out = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
                           -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW)
            out = sk_strdup((const char *)sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out ? out : sk_strdup("");
}

static char *integrity(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    char *out = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        out = sk_strdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out ? out : sk_strdup("(failed)");
}

static sk_store *open_store(const char *path, sk_err *err)
{
    struct sk_store_config cfg = {.path = path, .keep_seconds = -1, .keep_revisions = -1,
                                  .compact_interval_ms = 3600000};
    return sk_store_open(&cfg, err);
}

static void check_kv(sk_store *st, const char *key, const char *value, int64_t create_rev,
                     int64_t mod_rev)
{
    sk_err err = SK_ERR_INIT;
    sk_kv kv = {0};
    if (sk_store_get(st, key, &kv, &err) < 0) {
        fprintf(stderr, "get %s: %s\n", key, err.msg);
        test_failures++;
        return;
    }
    CHECK_STR(kv.key, key);
    CHECK_INT(kv.value_len, strlen(value));
    CHECK(kv.value && !strcmp(kv.value, value));
    CHECK_INT(kv.create_rev, create_rev);
    CHECK_INT(kv.mod_rev, mod_rev);
    sk_kv_release(&kv);
}

struct hist {
    int n;
    int64_t revs[16];
    int types[16];
};

static void on_hist(void *ud, const sk_store_event *ev)
{
    struct hist *h = ud;
    if (h->n < 16) {
        h->revs[h->n] = ev->rev;
        h->types[h->n] = ev->type;
    }
    h->n++;
}

static void check_schema_converted(const char *path)
{
    _sk_free_ char *sql = table_sql(path, "kv");
    CHECK(strstr(sql, "CREATE TABLE") != NULL);
    CHECK(strstr(sql, "WITHOUT ROWID") == NULL);
    _sk_free_ char *tmp = table_sql(path, "kv_rowid");
    CHECK_STR(tmp, ""); /* the conversion's scratch table is gone */
    _sk_free_ char *ok = integrity(path);
    CHECK_STR(ok, "ok");
}

static int test_convert(void)
{
    _sk_free_ char *path = sk_printf("%s/old.db", tmpdir);
    REQUIRE(make_old_db(path, true) == 0);
    {
        _sk_free_ char *sql = table_sql(path, "kv");
        REQUIRE(strstr(sql, "WITHOUT ROWID") != NULL); /* the fixture really is old */
    }
    sk_err err = SK_ERR_INIT;
    sk_store *st = open_store(path, &err);
    if (!st) fprintf(stderr, "open old store: %s\n", err.msg);
    REQUIRE(st);
    CHECK_INT(sk_store_rev(st), 5);
    CHECK_INT(sk_store_compact_rev(st), 0);
    check_kv(st, KEY_A, "a2", 1, 3);
    check_kv(st, KEY_B, big, 2, 2);
    sk_kv kv = {0};
    CHECK(sk_store_get(st, KEY_C, &kv, &err) < 0);
    CHECK_INT(err.code, SK_ENOTFOUND);
    sk_err_clear(&err);

    sk_kv *kvs = NULL;
    size_t n = 0;
    bool more = true;
    int64_t rev = 0;
    REQUIRE(sk_store_range(st, "/registry/configmaps/", NULL, 0, &kvs, &n, &more, &rev, &err) == 0);
    CHECK_INT(n, 2);
    CHECK(!more);
    CHECK_INT(rev, 5);
    if (n == 2) {
        CHECK_STR(kvs[0].key, KEY_A);
        CHECK_STR(kvs[1].key, KEY_B);
    }
    for (size_t i = 0; i < n; i++) sk_kv_release(&kvs[i]);
    free(kvs);
    CHECK_INT(sk_store_count(st, "/registry/configmaps/default/"), 2);

    struct hist h = {0};
    REQUIRE(sk_store_history(st, "/registry/", 0, 0, on_hist, &h, &err) == 0);
    CHECK_INT(h.n, 5);
    for (int i = 0; i < 5 && i < h.n; i++) CHECK_INT(h.revs[i], i + 1);
    CHECK_INT(h.types[0], SK_EV_PUT);
    CHECK_INT(h.types[4], SK_EV_DELETE);

    /* new writes continue the revision sequence, CAS still applies */
    int64_t r = 0;
    CHECK(sk_store_create(st, "/registry/configmaps/default/d", "d1", 2, &r, &err) == 0);
    CHECK_INT(r, 6);
    CHECK(sk_store_create(st, KEY_A, "x", 1, &r, &err) < 0);
    CHECK_INT(err.code, SK_EEXIST);
    sk_err_clear(&err);
    CHECK(sk_store_update(st, KEY_A, "a3", 2, 3, &r, &err) == 0);
    CHECK_INT(r, 7);
    CHECK(sk_store_update(st, KEY_A, "a4", 2, 3, &r, &err) < 0);
    CHECK_INT(err.code, SK_ECONFLICT);
    sk_err_clear(&err);
    CHECK(sk_store_delete(st, KEY_B, 2, NULL, 0, &r, &err) == 0);
    CHECK_INT(r, 8);
    check_kv(st, KEY_A, "a3", 1, 7);
    check_kv(st, "/registry/configmaps/default/d", "d1", 6, 6);
    sk_store_free(st);

    check_schema_converted(path);

    /* reopen: already converted, nothing lost */
    st = open_store(path, &err);
    if (!st) fprintf(stderr, "reopen: %s\n", err.msg);
    REQUIRE(st);
    CHECK_INT(sk_store_rev(st), 8);
    check_kv(st, KEY_A, "a3", 1, 7);
    check_kv(st, "/registry/configmaps/default/d", "d1", 6, 6);
    CHECK(sk_store_get(st, KEY_B, &kv, &err) < 0);
    CHECK_INT(err.code, SK_ENOTFOUND);
    sk_err_clear(&err);
    CHECK(sk_store_create(st, KEY_C, "c2", 2, &r, &err) == 0);
    CHECK_INT(r, 9);
    check_kv(st, KEY_C, "c2", 9, 9);
    sk_store_free(st);
    check_schema_converted(path);
    return 0;
}

/* An old store with no rows at all converts as well. */
static int test_convert_empty(void)
{
    _sk_free_ char *path = sk_printf("%s/empty.db", tmpdir);
    REQUIRE(make_old_db(path, false) == 0);
    sk_err err = SK_ERR_INIT;
    sk_store *st = open_store(path, &err);
    if (!st) fprintf(stderr, "open empty old store: %s\n", err.msg);
    REQUIRE(st);
    CHECK_INT(sk_store_rev(st), 0);
    int64_t r = 0;
    CHECK(sk_store_create(st, KEY_A, "a", 1, &r, &err) == 0);
    CHECK_INT(r, 1);
    check_kv(st, KEY_A, "a", 1, 1);
    sk_store_free(st);
    check_schema_converted(path);
    return 0;
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/skiff-migrate-XXXXXX");
    REQUIRE(mkdtemp(tmpdir));
    for (size_t i = 0; i < BIG_LEN; i++) big[i] = (char)('a' + i % 26);
    int rc = test_convert();
    rc |= test_convert_empty();
    rm_tree(tmpdir);
    return rc ? 1 : test_done();
}
