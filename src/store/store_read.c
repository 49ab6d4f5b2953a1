/* The read side of sk_store: a small pool of read-only SQLite connections
 * (WAL lets them read while the writer commits). Each call borrows one
 * connection exclusively; multi-statement reads run in one read
 * transaction so they see a single snapshot. */
#include "store_int.h"

#include <string.h>

static struct sk_reader *reader_get(sk_store *st)
{
    pthread_mutex_lock(&st->rmu);
    for (;;) {
        for (size_t i = 0; i < SK_STORE_READERS; i++) {
            struct sk_reader *r = &st->readers[i];
            if (!r->busy) {
                r->busy = true;
                pthread_mutex_unlock(&st->rmu);
                return r;
            }
        }
        pthread_cond_wait(&st->rfree, &st->rmu);
    }
}

static void reader_put(sk_store *st, struct sk_reader *r)
{
    pthread_mutex_lock(&st->rmu);
    r->busy = false;
    pthread_cond_signal(&st->rfree);
    pthread_mutex_unlock(&st->rmu);
}

static void stmt_done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

static char *dup_blob(sqlite3_stmt *s, int col, size_t *len)
{
    const void *v = sqlite3_column_blob(s, col);
    *len = (size_t)sqlite3_column_bytes(s, col);
    char *out = sk_malloc(*len + 1);
    if (*len) memcpy(out, v, *len);
    out[*len] = '\0';
    return out;
}

void sk_kv_release(sk_kv *kv)
{
    if (!kv) return;
    free(kv->key);
    free(kv->value);
    memset(kv, 0, sizeof *kv);
}

static int check_key(const char *key, sk_err *err)
{
    if (!key || !*key) return sk_err_set(err, SK_EINVALID, "store: empty key");
    if (strlen(key) > SK_STORE_MAX_KEY)
        return sk_err_set(err, SK_EINVALID, "store: key longer than %d bytes", SK_STORE_MAX_KEY);
    return 0;
}

int sk_store_get(sk_store *st, const char *key, sk_kv *out, sk_err *err)
{
    memset(out, 0, sizeof *out);
    if (check_key(key, err) < 0) return -1;
    struct sk_reader *r = reader_get(st);
    sqlite3_bind_text(r->get, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(r->get), ret = 0;
    if (rc == SQLITE_ROW) {
        out->key = sk_strdup(key);
        out->create_rev = sqlite3_column_int64(r->get, 0);
        out->mod_rev = sqlite3_column_int64(r->get, 1);
        out->value = dup_blob(r->get, 2, &out->value_len);
    } else if (rc == SQLITE_DONE) {
        ret = sk_err_set(err, SK_ENOTFOUND, "\"%s\" not found", key);
    } else {
        ret = sk_store_db_err(r->db, err, "get");
    }
    stmt_done(r->get);
    reader_put(st, r);
    return ret;
}

/* The smallest string greater than every string starting with prefix:
 * the prefix with trailing 0xff bytes dropped and the last byte
 * incremented. NULL when there is none (empty or all-0xff prefix). */
static char *prefix_end(const char *prefix, size_t *len)
{
    size_t n = strlen(prefix);
    while (n > 0 && (unsigned char)prefix[n - 1] == 0xff) n--;
    if (n == 0) return NULL;
    char *end = sk_strndup(prefix, n);
    end[n - 1] = (char)((unsigned char)end[n - 1] + 1);
    *len = n;
    return end;
}

static void bind_prefix_end(sqlite3_stmt *s, int idx, const char *end, size_t len)
{
    if (end)
        sqlite3_bind_text(s, idx, end, (int)len, SQLITE_STATIC);
    else
        sqlite3_bind_zeroblob(s, idx, 0); /* sorts after all TEXT: unbounded */
}

static int read_rev(struct sk_reader *r, sqlite3_stmt *s, int64_t *out, sk_err *err)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) *out = sqlite3_column_int64(s, 0);
    stmt_done(s);
    if (rc != SQLITE_ROW) return sk_store_db_err(r->db, err, "read revision");
    return 0;
}

static int txn_step(struct sk_reader *r, sqlite3_stmt *s, sk_err *err)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return sk_store_db_err(r->db, err, "read transaction");
    return 0;
}

static void kvs_free(sk_kv *kvs, size_t n)
{
    for (size_t i = 0; i < n; i++) sk_kv_release(&kvs[i]);
    free(kvs);
}

/* Collects rows of a prepared range statement. */
static int range_rows(struct sk_reader *r, sqlite3_stmt *s, size_t limit, sk_kv **out, size_t *n,
                      bool *more, sk_err *err)
{
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (limit && *n == limit) {
            *more = true;
            break;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = sk_realloc(*out, cap * sizeof **out);
        }
        sk_kv *kv = &(*out)[(*n)++];
        kv->key = sk_strdup((const char *)sqlite3_column_text(s, 0));
        kv->create_rev = sqlite3_column_int64(s, 1);
        kv->mod_rev = sqlite3_column_int64(s, 2);
        kv->value = dup_blob(s, 3, &kv->value_len);
    }
    stmt_done(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sk_store_db_err(r->db, err, "range");
    return 0;
}

int sk_store_range(sk_store *st, const char *prefix, const char *start_after, size_t limit,
                   sk_kv **out, size_t *n, bool *more, int64_t *rev, sk_err *err)
{
    *out = NULL;
    *n = 0;
    *more = false;
    int64_t at = 0;
    if (!prefix) prefix = "";
    size_t end_len = 0;
    _sk_free_ char *end = prefix_end(prefix, &end_len);
    /* Paging must seek to start_after, not scan from the prefix. */
    bool after = start_after && *start_after && strcmp(start_after, prefix) >= 0;
    struct sk_reader *r = reader_get(st);
    sqlite3_stmt *s = after ? r->range_after : r->range_from;
    int ret = txn_step(r, r->begin, err);
    if (ret == 0) ret = read_rev(r, r->rev, &at, err);
    if (ret == 0) {
        sqlite3_bind_text(s, 1, after ? start_after : prefix, -1, SQLITE_STATIC);
        bind_prefix_end(s, 2, end, end_len);
        sqlite3_bind_int64(s, 3, limit ? (int64_t)limit + 1 : -1);
        ret = range_rows(r, s, limit, out, n, more, err);
    }
    if (txn_step(r, r->commit, ret < 0 ? NULL : err) < 0) ret = -1;
    reader_put(st, r);
    if (ret < 0) {
        kvs_free(*out, *n);
        *out = NULL;
        *n = 0;
        *more = false;
        return -1;
    }
    if (rev) *rev = at;
    return 0;
}

int64_t sk_store_count(sk_store *st, const char *prefix)
{
    if (!prefix) prefix = "";
    size_t end_len = 0;
    _sk_free_ char *end = prefix_end(prefix, &end_len);
    struct sk_reader *r = reader_get(st);
    sqlite3_bind_text(r->count, 1, prefix, -1, SQLITE_STATIC);
    bind_prefix_end(r->count, 2, end, end_len);
    int64_t count = -1;
    if (sqlite3_step(r->count) == SQLITE_ROW) count = sqlite3_column_int64(r->count, 0);
    stmt_done(r->count);
    reader_put(st, r);
    return count;
}

/* Partial: log has no index on key, so a replay reads every change after
 * after_rev and filters by prefix here; fine for watch resumes within the
 * retention window, linear in it otherwise. */
static int replay(struct sk_reader *r, const char *prefix, int64_t after_rev, int64_t until_rev,
                  void (*cb)(void *ud, const sk_store_event *ev), void *ud, sk_err *err)
{
    sqlite3_stmt *s = r->history;
    size_t plen = strlen(prefix);
    sqlite3_bind_int64(s, 1, after_rev);
    sqlite3_bind_int64(s, 2, until_rev > 0 ? until_rev : INT64_MAX);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(s, 1);
        if (!key || strncmp(key, prefix, plen) != 0) continue;
        const char *value = sqlite3_column_blob(s, 4);
        sk_store_event ev = {
            .type = sqlite3_column_int(s, 3) ? SK_EV_DELETE : SK_EV_PUT,
            .rev = sqlite3_column_int64(s, 0),
            .create_rev = sqlite3_column_int64(s, 2),
            .key = key,
            .value = value ? value : "",
            .value_len = (size_t)sqlite3_column_bytes(s, 4),
        };
        cb(ud, &ev);
    }
    stmt_done(s);
    if (rc != SQLITE_DONE) return sk_store_db_err(r->db, err, "history");
    return 0;
}

int sk_store_history(sk_store *st, const char *prefix, int64_t after_rev, int64_t until_rev,
                     void (*cb)(void *ud, const sk_store_event *ev), void *ud, sk_err *err)
{
    if (!prefix) prefix = "";
    int64_t compacted = 0;
    struct sk_reader *r = reader_get(st);
    int ret = txn_step(r, r->begin, err);
    if (ret == 0) ret = read_rev(r, r->compact_rev, &compacted, err);
    /* Same message and numbers as the Kubernetes watch cache: the second
     * is the oldest revision a watch may start after. */
    if (ret == 0 && after_rev < compacted)
        ret = sk_err_set(err, SK_EGONE, "too old resource version: %lld (%lld)",
                         (long long)after_rev, (long long)compacted);
    if (ret == 0) ret = replay(r, prefix, after_rev, until_rev, cb, ud, err);
    if (txn_step(r, r->commit, ret < 0 ? NULL : err) < 0) ret = -1;
    reader_put(st, r);
    return ret;
}
