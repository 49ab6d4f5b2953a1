/* Unit tests for sk_store (SQLite backend): CAS writes, range paging,
 * listener, history, compaction, reopen, process lock, concurrency. */
#include "store/store.h"
#include "unit/test.h"

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static char tmpdir[64];
static char dbpath[128];

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    return remove(p);
}

static void rm_tree(const char *dir) { nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS); }

static sk_store *open_store(int64_t keep_seconds, int64_t keep_revisions, sk_err *err)
{
    struct sk_store_config cfg = {.path = dbpath, .keep_seconds = keep_seconds,
                                  .keep_revisions = keep_revisions};
    return sk_store_open(&cfg, err);
}

static int put(sk_store *st, const char *key, const char *val)
{
    int64_t rev = 0;
    sk_err err = SK_ERR_INIT;
    if (sk_store_create(st, key, val, strlen(val), &rev, &err) < 0) {
        fprintf(stderr, "create %s: %s\n", key, err.msg);
        return -1;
    }
    return (int)rev;
}

static int test_crud(sk_store *st)
{
    sk_err err = SK_ERR_INIT;
    int64_t r1 = 0, r2 = 0, r3 = 0;
    sk_kv kv;
    REQUIRE(sk_store_create(st, "/a/x", "one", 3, &r1, &err) == 0);
    CHECK_INT(r1, sk_store_rev(st));
    CHECK(sk_store_create(st, "/a/x", "dup", 3, &r2, &err) < 0);
    CHECK_INT(err.code, SK_EEXIST);
    REQUIRE(sk_store_get(st, "/a/x", &kv, &err) == 0);
    CHECK_STR(kv.value, "one");
    CHECK_INT(kv.value_len, 3);
    CHECK_INT(kv.create_rev, r1);
    CHECK_INT(kv.mod_rev, r1);
    sk_kv_release(&kv);

    CHECK(sk_store_update(st, "/a/x", "two", 3, r1 + 100, &r2, &err) < 0);
    CHECK_INT(err.code, SK_ECONFLICT);
    REQUIRE(sk_store_update(st, "/a/x", "two", 3, r1, &r2, &err) == 0);
    CHECK(r2 > r1);
    CHECK(sk_store_update(st, "/a/x", "again", 5, r1, &r3, &err) < 0);
    CHECK_INT(err.code, SK_ECONFLICT);
    REQUIRE(sk_store_update(st, "/a/x", "three", 5, 0, &r3, &err) == 0);
    CHECK(r3 > r2);
    REQUIRE(sk_store_get(st, "/a/x", &kv, &err) == 0);
    CHECK_STR(kv.value, "three");
    CHECK_INT(kv.create_rev, r1);
    CHECK_INT(kv.mod_rev, r3);
    sk_kv_release(&kv);
    CHECK(sk_store_update(st, "/a/none", "v", 1, 0, &r2, &err) < 0);
    CHECK_INT(err.code, SK_ENOTFOUND);

    int64_t rd = 0;
    CHECK(sk_store_delete(st, "/a/x", r2, NULL, 0, &rd, &err) < 0);
    CHECK_INT(err.code, SK_ECONFLICT);
    REQUIRE(sk_store_delete(st, "/a/x", r3, NULL, 0, &rd, &err) == 0);
    CHECK(rd > r3);
    CHECK(sk_store_get(st, "/a/x", &kv, &err) < 0);
    CHECK_INT(err.code, SK_ENOTFOUND);
    CHECK(sk_store_delete(st, "/a/x", 0, NULL, 0, &rd, &err) < 0);
    CHECK_INT(err.code, SK_ENOTFOUND);

    /* empty values, bad keys, oversized values */
    REQUIRE(sk_store_create(st, "/a/empty", NULL, 0, &r1, &err) == 0);
    REQUIRE(sk_store_get(st, "/a/empty", &kv, &err) == 0);
    CHECK_STR(kv.value, "");
    CHECK_INT(kv.value_len, 0);
    sk_kv_release(&kv);
    REQUIRE(sk_store_delete(st, "/a/empty", 0, NULL, 0, &rd, &err) == 0);
    CHECK(sk_store_create(st, "", "v", 1, &r1, &err) < 0);
    CHECK_INT(err.code, SK_EINVALID);
    CHECK(sk_store_get(st, NULL, &kv, &err) < 0);
    CHECK(sk_store_create(st, "/a/big", "v", 64u << 20, &r1, &err) < 0);
    CHECK_INT(err.code, SK_ETOOLARGE);
    return 0;
}

static int test_large_value(sk_store *st)
{
    sk_err err = SK_ERR_INIT;
    size_t n = 3u << 20;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++) big[i] = (char)('a' + i % 26);
    int64_t rev = 0;
    sk_kv kv;
    REQUIRE(sk_store_create(st, "/big/1", big, n, &rev, &err) == 0);
    REQUIRE(sk_store_get(st, "/big/1", &kv, &err) == 0);
    CHECK_INT(kv.value_len, n);
    CHECK(memcmp(kv.value, big, n) == 0);
    sk_kv_release(&kv);
    REQUIRE(sk_store_delete(st, "/big/1", 0, NULL, 0, &rev, &err) == 0);
    free(big);
    return 0;
}

static void free_kvs(sk_kv *kvs, size_t n)
{
    for (size_t i = 0; i < n; i++) sk_kv_release(&kvs[i]);
    free(kvs);
}

static int test_range(sk_store *st)
{
    sk_err err = SK_ERR_INIT;
    char key[32];
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "/r/ns/k%02d", i);
        REQUIRE(put(st, key, key) > 0);
    }
    REQUIRE(put(st, "/r/nt", "outside") > 0);
    REQUIRE(put(st, "/r/ns", "outside-exact-parent") > 0);
    REQUIRE(put(st, "/r0", "outside") > 0);
    CHECK_INT(sk_store_count(st, "/r/ns/"), 10);
    CHECK_INT(sk_store_count(st, "/r/"), 12);
    CHECK_INT(sk_store_count(st, "/zzz"), 0);

    /* pages of 4: 4 + 4 + 2 */
    const char *after = NULL;
    char last[32] = "";
    int total = 0, pages = 0;
    bool more = true;
    while (more) {
        sk_kv *kvs = NULL;
        size_t n = 0;
        int64_t rev = 0;
        REQUIRE(sk_store_range(st, "/r/ns/", after, 4, &kvs, &n, &more, &rev, &err) == 0);
        CHECK_INT(rev, sk_store_rev(st));
        pages++;
        for (size_t i = 0; i < n; i++) {
            snprintf(key, sizeof key, "/r/ns/k%02d", total++);
            CHECK_STR(kvs[i].key, key);
            CHECK_STR(kvs[i].value, key);
        }
        if (n) snprintf(last, sizeof last, "%s", kvs[n - 1].key);
        after = last;
        free_kvs(kvs, n);
        REQUIRE(pages < 10);
    }
    CHECK_INT(total, 10);
    CHECK_INT(pages, 3);

    sk_kv *kvs = NULL;
    size_t n = 0;
    int64_t rev = 0;
    REQUIRE(sk_store_range(st, "/r/ns/", NULL, 0, &kvs, &n, &more, &rev, &err) == 0);
    CHECK_INT(n, 10);
    CHECK(!more);
    free_kvs(kvs, n);
    /* limit equal to the count: no more */
    REQUIRE(sk_store_range(st, "/r/ns/", "", 10, &kvs, &n, &more, &rev, &err) == 0);
    CHECK_INT(n, 10);
    CHECK(!more);
    free_kvs(kvs, n);
    /* start_after before the prefix is ignored; after the last key: empty */
    REQUIRE(sk_store_range(st, "/r/ns/", "/a", 2, &kvs, &n, &more, &rev, &err) == 0);
    CHECK_INT(n, 2);
    CHECK(more);
    if (n) CHECK_STR(kvs[0].key, "/r/ns/k00");
    free_kvs(kvs, n);
    REQUIRE(sk_store_range(st, "/r/ns/", "/r/ns/k09", 0, &kvs, &n, &more, &rev, &err) == 0);
    CHECK_INT(n, 0);
    CHECK(!more);
    free_kvs(kvs, n);
    /* empty prefix = everything (no upper bound) */
    REQUIRE(sk_store_range(st, "", NULL, 0, &kvs, &n, &more, &rev, &err) == 0);
    CHECK_INT(n, sk_store_count(st, ""));
    CHECK(n >= 13);
    for (size_t i = 1; i < n; i++) CHECK(strcmp(kvs[i - 1].key, kvs[i].key) < 0);
    free_kvs(kvs, n);
    return 0;
}

struct rec {
    int n;
    sk_store_event ev[64];
    char val[64][16];
};

static void record(struct rec *r, const sk_store_event *e)
{
    if (r->n >= 64) return;
    r->ev[r->n] = *e;
    r->ev[r->n].key = NULL; /* borrowed; keep the value only */
    snprintf(r->val[r->n], sizeof r->val[0], "%.*s", (int)e->value_len, e->value);
    r->n++;
}

static void on_events(void *ud, const sk_store_event *evs, size_t n)
{
    for (size_t i = 0; i < n; i++) record(ud, &evs[i]);
}

static void on_history(void *ud, const sk_store_event *ev) { record(ud, ev); }

static int test_listener_history(sk_store *st)
{
    sk_err err = SK_ERR_INIT;
    struct rec got = {0};
    int64_t start = sk_store_rev(st), r1, r2, r3, r4;
    sk_store_set_listener(st, on_events, &got);
    REQUIRE(sk_store_create(st, "/w/a", "a1", 2, &r1, &err) == 0);
    REQUIRE(sk_store_update(st, "/w/a", "a2", 2, r1, &r2, &err) == 0);
    REQUIRE(sk_store_create(st, "/x/b", "b1", 2, &r3, &err) == 0);
    REQUIRE(sk_store_delete(st, "/w/a", 0, NULL, 0, &r4, &err) == 0);
    CHECK(sk_store_update(st, "/w/a", "no", 2, 0, NULL, &err) < 0); /* no event */
    sk_store_set_listener(st, NULL, NULL);
    REQUIRE(got.n == 4);
    CHECK_INT(got.ev[0].type, SK_EV_PUT);
    CHECK_INT(got.ev[0].rev, r1);
    CHECK_INT(got.ev[0].create_rev, r1);
    CHECK_STR(got.val[0], "a1");
    CHECK_INT(got.ev[1].type, SK_EV_PUT);
    CHECK_INT(got.ev[1].rev, r2);
    CHECK_INT(got.ev[1].create_rev, r1);
    CHECK_STR(got.val[1], "a2");
    CHECK_INT(got.ev[2].create_rev, r3);
    CHECK_INT(got.ev[3].type, SK_EV_DELETE);
    CHECK_INT(got.ev[3].rev, r4);
    CHECK_INT(got.ev[3].create_rev, r1);
    CHECK_STR(got.val[3], "a2"); /* last stored value */
    for (int i = 1; i < got.n; i++) CHECK(got.ev[i].rev > got.ev[i - 1].rev);

    struct rec h = {0};
    REQUIRE(sk_store_history(st, "/w/", start, 0, on_history, &h, &err) == 0);
    REQUIRE(h.n == 3);
    CHECK_INT(h.ev[0].rev, r1);
    CHECK_INT(h.ev[0].type, SK_EV_PUT);
    CHECK_INT(h.ev[1].rev, r2);
    CHECK_STR(h.val[1], "a2");
    CHECK_INT(h.ev[2].type, SK_EV_DELETE);
    CHECK_INT(h.ev[2].create_rev, r1);
    CHECK_STR(h.val[2], "a2");
    memset(&h, 0, sizeof h);
    REQUIRE(sk_store_history(st, "", r1, r3, on_history, &h, &err) == 0);
    CHECK_INT(h.n, 2);

    /* a caller-supplied delete value is what history and watchers see */
    memset(&got, 0, sizeof got);
    sk_store_set_listener(st, on_events, &got);
    REQUIRE(sk_store_delete(st, "/x/b", r3, "final", 5, &r4, &err) == 0);
    sk_store_set_listener(st, NULL, NULL);
    CHECK_INT(got.n, 1);
    CHECK_STR(got.val[0], "final");
    memset(&h, 0, sizeof h);
    REQUIRE(sk_store_history(st, "/x/", r4 - 1, 0, on_history, &h, &err) == 0);
    CHECK_INT(h.n, 1);
    CHECK_STR(h.val[0], "final");
    return 0;
}

static void count_event(void *ud, const sk_store_event *ev) { (*(int *)ud)++; }

static int test_compaction(sk_store *st)
{
    sk_err err = SK_ERR_INIT;
    int64_t before = sk_store_rev(st);
    for (int i = 0; i < 5; i++) {
        char key[32];
        snprintf(key, sizeof key, "/c/%d", i);
        REQUIRE(put(st, key, "v") > 0);
    }
    int64_t cur = sk_store_rev(st);
    /* the store under test keeps 3 revisions and no time window */
    int64_t c = sk_store_compact(st);
    CHECK_INT(c, cur - 3);
    CHECK_INT(sk_store_compact_rev(st), c);
    int seen = 0;
    CHECK(sk_store_history(st, "", before, 0, count_event, &seen, &err) < 0);
    CHECK_INT(err.code, SK_EGONE);
    char want[128];
    snprintf(want, sizeof want, "too old resource version: %lld (%lld)", (long long)before,
             (long long)c);
    CHECK_STR(err.msg, want);
    REQUIRE(sk_store_history(st, "", c, 0, count_event, &seen, &err) == 0);
    CHECK_INT(seen, 3);
    CHECK_INT(sk_store_compact(st), c); /* nothing new to compact */
    CHECK_INT(sk_store_rev(st), cur);  /* compaction is not a revision */
    return 0;
}

static int test_time_retention(void)
{
    sk_err err = SK_ERR_INIT;
    /* a one-hour window keeps everything however few revisions are kept */
    sk_store *st = open_store(3600, -1, &err);
    REQUIRE(st);
    int64_t c = sk_store_compact_rev(st);
    REQUIRE(put(st, "/t/1", "v") > 0);
    CHECK_INT(sk_store_compact(st), c);
    sk_store_free(st);
    return 0;
}

static int test_reopen_and_lock(void)
{
    sk_err err = SK_ERR_INIT;
    sk_store *st = open_store(-1, 3, &err);
    REQUIRE(st);
    int64_t rev = sk_store_rev(st), compacted = sk_store_compact_rev(st);
    CHECK(rev > 0);
    sk_store *second = open_store(-1, 3, &err);
    CHECK(second == NULL);
    CHECK(strstr(err.msg, "is in use by another process") != NULL);
    CHECK(strstr(err.msg, dbpath) != NULL);
    sk_store_free(second);
    sk_store_free(st);

    st = open_store(-1, 3, &err);
    REQUIRE(st);
    CHECK_INT(sk_store_rev(st), rev);
    CHECK_INT(sk_store_compact_rev(st), compacted);
    sk_kv kv;
    REQUIRE(sk_store_get(st, "/r/ns/k03", &kv, &err) == 0);
    CHECK_STR(kv.value, "/r/ns/k03");
    sk_kv_release(&kv);
    int64_t r = put(st, "/after/reopen", "v");
    CHECK_INT(r, rev + 1);
    sk_store_free(st);

    /* everything compacted away: the revision survives through meta */
    st = open_store(-1, -1, &err);
    REQUIRE(st);
    CHECK_INT(sk_store_compact(st), rev + 1);
    sk_store_free(st);
    st = open_store(-1, -1, &err);
    REQUIRE(st);
    CHECK_INT(sk_store_rev(st), rev + 1);
    CHECK_INT(put(st, "/after/compact", "v"), rev + 2);
    sk_store_free(st);
    return 0;
}

struct worker {
    sk_store *st;
    int run, id, n, failures;
    int64_t *revs;
};

static void *create_many(void *arg)
{
    struct worker *w = arg;
    char key[64];
    for (int i = 0; i < w->n; i++) {
        sk_err err = SK_ERR_INIT;
        snprintf(key, sizeof key, "/conc/%d/%03d/%05d", w->run, w->id, i);
        if (sk_store_create(w->st, key, key, strlen(key), &w->revs[i], &err) < 0 && !w->failures++)
            fprintf(stderr, "create %s: %s\n", key, err.msg);
    }
    return NULL;
}

static int cmp_rev(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Runs threads x per creates; returns creates/s or -1 on failure. */
static double run_concurrent(sk_store *st, int threads, int per)
{
    static int run;
    run++;
    pthread_t tid[64];
    struct worker w[64];
    int64_t *revs = calloc((size_t)threads * per, sizeof *revs);
    int64_t t0 = sk_now_ms();
    for (int i = 0; i < threads; i++) {
        w[i] = (struct worker){st, run, i, per, 0, revs + (size_t)i * per};
        pthread_create(&tid[i], NULL, create_many, &w[i]);
    }
    int failures = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        failures += w[i].failures;
    }
    int64_t ms = sk_now_ms() - t0;
    size_t total = (size_t)threads * per;
    qsort(revs, total, sizeof *revs, cmp_rev);
    int dup = 0;
    for (size_t i = 1; i < total; i++) dup += revs[i] == revs[i - 1];
    free(revs);
    CHECK_INT(failures, 0);
    CHECK_INT(dup, 0);
    if (failures || dup) return -1;
    return (double)total * 1000.0 / (double)(ms ? ms : 1);
}

struct order {
    sk_store *st;
    int64_t last;
    int events, out_of_order, write_rc;
};

/* Also checks that a write from the listener is refused, not deadlocked. */
static void check_order(void *ud, const sk_store_event *evs, size_t n)
{
    struct order *o = ud;
    for (size_t i = 0; i < n; i++) {
        o->out_of_order += evs[i].rev != o->last + 1;
        o->last = evs[i].rev;
        o->events++;
    }
    sk_err err = SK_ERR_INIT;
    if (o->write_rc == 0) o->write_rc = sk_store_create(o->st, "/conc/x", "", 0, NULL, &err);
}

static int test_concurrent(sk_store *st)
{
    int64_t before = sk_store_count(st, "/conc/");
    struct order ord = {.last = sk_store_rev(st), .st = st};
    sk_store_set_listener(st, check_order, &ord);
    REQUIRE(run_concurrent(st, 16, 50) > 0);
    sk_store_set_listener(st, NULL, NULL);
    CHECK_INT(ord.events, 16 * 50);
    CHECK_INT(ord.out_of_order, 0);
    CHECK_INT(ord.write_rc, -1);
    CHECK_INT(sk_store_count(st, "/conc/") - before, 16 * 50);
    sk_kv kv;
    sk_err err = SK_ERR_INIT;
    REQUIRE(sk_store_get(st, "/conc/1/015/00049", &kv, &err) == 0);
    sk_kv_release(&kv);

    double rate = run_concurrent(st, 64, 80);
    REQUIRE(rate > 0);
    printf("store throughput: %.0f durable creates/s (64 threads x 80)\n", rate);
    return 0;
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/skiff-store-XXXXXX");
    REQUIRE(mkdtemp(tmpdir));
    snprintf(dbpath, sizeof dbpath, "%s/skiff.db", tmpdir);
    sk_err err = SK_ERR_INIT;
    sk_store *st = open_store(-1, 3, &err);
    if (!st) fprintf(stderr, "open: %s\n", err.msg);
    int rc = !st;
    if (st) {
        rc |= test_crud(st);
        rc |= test_large_value(st);
        rc |= test_range(st);
        rc |= test_listener_history(st);
        rc |= test_compaction(st);
        rc |= test_concurrent(st);
        sk_store_free(st);
        rc |= test_reopen_and_lock();
        rc |= test_time_retention();
    }
    rm_tree(tmpdir);
    return rc ? 1 : test_done();
}
