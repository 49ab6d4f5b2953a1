/* The write side of sk_store, run only by the writer thread: one
 * transaction applying a batch of create/update/delete operations with
 * their compare-and-swap checks, and history compaction. */
#include "store_int.h"

#include <string.h>

static int step_done(sqlite3 *db, sqlite3_stmt *s, sk_err *err, const char *what)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE) return sk_store_db_err(db, err, what);
    return 0;
}

/* Looks up the key's revisions: 1 found, 0 absent, -1 database error. */
static int kv_lookup(struct sk_wdb *w, const char *key, int64_t *create_rev, int64_t *mod_rev,
                     sk_err *err)
{
    sqlite3_bind_text(w->kv_meta, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(w->kv_meta);
    if (rc == SQLITE_ROW) {
        *create_rev = sqlite3_column_int64(w->kv_meta, 0);
        *mod_rev = sqlite3_column_int64(w->kv_meta, 1);
    }
    sqlite3_reset(w->kv_meta);
    sqlite3_clear_bindings(w->kv_meta);
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    return sk_store_db_err(w->db, err, "read kv");
}

static int log_append(sk_store *st, struct sk_store_op *op, int64_t prev_rev, bool deleted,
                      const char *value, size_t len, sk_err *err)
{
    sqlite3_stmt *s = st->w.log_insert;
    sqlite3_bind_int64(s, 1, op->rev);
    sqlite3_bind_text(s, 2, op->key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, op->create_rev);
    sqlite3_bind_int64(s, 4, prev_rev);
    sqlite3_bind_int(s, 5, deleted);
    sqlite3_bind_int64(s, 6, sk_wall_ms());
    /* A NULL pointer would bind SQL NULL; "" binds an empty blob. */
    sqlite3_bind_blob64(s, 7, value ? value : "", len, SQLITE_STATIC);
    return step_done(st->w.db, s, err, "append history");
}

static int kv_write(sk_store *st, sqlite3_stmt *s, struct sk_store_op *op, sk_err *err)
{
    sqlite3_bind_text(s, 1, op->key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, op->rev);
    sqlite3_bind_blob64(s, 3, op->value ? op->value : "", op->len, SQLITE_STATIC);
    return step_done(st->w.db, s, err, "write kv");
}

static int apply_create(sk_store *st, struct sk_store_op *op, sk_err *err)
{
    int64_t cr, mr;
    int found = kv_lookup(&st->w, op->key, &cr, &mr, err);
    if (found < 0) return -1;
    if (found) {
        op->rc = sk_err_set(&op->err, SK_EEXIST, "\"%s\" already exists", op->key);
        return 0;
    }
    op->rev = op->create_rev = ++st->next_rev;
    if (kv_write(st, st->w.kv_insert, op, err) < 0) return -1;
    return log_append(st, op, 0, false, op->value, op->len, err);
}

/* A failed check is the caller's error (op->rc); the transaction goes on
 * with the other ops. */
static int check_cas(struct sk_store_op *op, int found, int64_t mod_rev)
{
    if (!found)
        op->rc = sk_err_set(&op->err, SK_ENOTFOUND, "\"%s\" not found", op->key);
    else if (op->expect_rev && op->expect_rev != mod_rev)
        op->rc = sk_err_set(&op->err, SK_ECONFLICT, "\"%s\": revision is %lld, expected %lld",
                            op->key, (long long)mod_rev, (long long)op->expect_rev);
    return op->rc;
}

static int apply_update(sk_store *st, struct sk_store_op *op, sk_err *err)
{
    int64_t cr = 0, mr = 0;
    int found = kv_lookup(&st->w, op->key, &cr, &mr, err);
    if (found < 0) return -1;
    if (check_cas(op, found, mr) < 0) return 0;
    op->create_rev = cr;
    op->rev = ++st->next_rev;
    if (kv_write(st, st->w.kv_update, op, err) < 0) return -1;
    return log_append(st, op, mr, false, op->value, op->len, err);
}

/* Copies the stored value for the history row and the watch event. */
static int load_old_value(sk_store *st, struct sk_store_op *op, sk_err *err)
{
    sqlite3_stmt *s = st->w.kv_value;
    sqlite3_bind_text(s, 1, op->key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const void *v = sqlite3_column_blob(s, 0);
        op->old_len = (size_t)sqlite3_column_bytes(s, 0);
        op->old_value = sk_malloc(op->old_len + 1);
        if (op->old_len) memcpy(op->old_value, v, op->old_len);
        op->old_value[op->old_len] = '\0';
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_ROW) return sk_store_db_err(st->w.db, err, "read value");
    return 0;
}

static int apply_delete(sk_store *st, struct sk_store_op *op, sk_err *err)
{
    int64_t cr = 0, mr = 0;
    int found = kv_lookup(&st->w, op->key, &cr, &mr, err);
    if (found < 0) return -1;
    if (check_cas(op, found, mr) < 0) return 0;
    if (!op->value && load_old_value(st, op, err) < 0) return -1;
    op->create_rev = cr;
    op->rev = ++st->next_rev;
    sqlite3_bind_text(st->w.kv_delete, 1, op->key, -1, SQLITE_STATIC);
    if (step_done(st->w.db, st->w.kv_delete, err, "delete kv") < 0) return -1;
    if (op->value) return log_append(st, op, mr, true, op->value, op->len, err);
    return log_append(st, op, mr, true, op->old_value, op->old_len, err);
}

static void op_reset(struct sk_store_op *op)
{
    op->rc = 0;
    op->rev = op->create_rev = 0;
    free(op->old_value);
    op->old_value = NULL;
    op->old_len = 0;
    sk_err_clear(&op->err);
}

static void rollback(sk_store *st)
{
    sqlite3_step(st->w.rollback);
    sqlite3_reset(st->w.rollback);
}

int sk_store_txn(sk_store *st, struct sk_store_op **ops, size_t n, sk_err *err)
{
    int64_t saved_rev = st->next_rev;
    if (step_done(st->w.db, st->w.begin, err, "begin") < 0) return -1;
    for (size_t i = 0; i < n; i++) {
        struct sk_store_op *op = ops[i];
        op_reset(op);
        int rc = op->kind == SK_OP_CREATE   ? apply_create(st, op, err)
                 : op->kind == SK_OP_UPDATE ? apply_update(st, op, err)
                                            : apply_delete(st, op, err);
        if (rc < 0) goto fail;
    }
    if (step_done(st->w.db, st->w.commit, err, "commit") < 0) goto fail;
    return 0;
fail:
    /* A failed COMMIT may leave the transaction open; ROLLBACK either
     * undoes it or reports "no transaction is active", both fine. */
    rollback(st);
    st->next_rev = saved_rev;
    return -1;
}

/* The compaction target C: the newest revision that is both older than
 * keep_seconds and at least keep_revisions behind the current one, so
 * history keeps the last keep_revisions changes and watchers may start
 * after C. 0 when there is nothing to compact. */
static int64_t compact_target(sk_store *st, sk_err *err)
{
    int64_t target = st->next_rev - st->keep_revisions;
    if (target <= st->compacted) return 0;
    if (st->keep_seconds <= 0) return target;
    sqlite3_stmt *s = st->w.log_find_old;
    sqlite3_bind_int64(s, 1, target);
    sqlite3_bind_int64(s, 2, sk_wall_ms() - st->keep_seconds * 1000);
    int rc = sqlite3_step(s);
    target = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sk_store_db_err(st->w.db, err, "compact");
    return target > st->compacted ? target : 0;
}

/* Partial: the whole range is deleted in one transaction, so the first
 * compaction over a large backlog (e.g. after long downtime) holds up
 * writers for its duration; chunking it is left for later. */
int64_t sk_store_do_compact(sk_store *st, sk_err *err)
{
    int64_t target = compact_target(st, err);
    if (target <= 0) return target < 0 ? -1 : st->compacted;
    if (step_done(st->w.db, st->w.begin, err, "begin") < 0) return -1;
    sqlite3_bind_int64(st->w.log_compact, 1, target);
    if (step_done(st->w.db, st->w.log_compact, err, "compact") < 0) goto fail;
    sqlite3_bind_text(st->w.meta_set, 1, "compact", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st->w.meta_set, 2, target);
    if (step_done(st->w.db, st->w.meta_set, err, "compact") < 0) goto fail;
    if (step_done(st->w.db, st->w.commit, err, "commit") < 0) goto fail;
    return target;
fail:
    rollback(st);
    return -1;
}
