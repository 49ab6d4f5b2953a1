/* Work queue semantics (client-go's): dedupe, processing set, delayed adds,
 * backoff growth, shutdown; and the key helpers. No server needed. */
#include <pthread.h>
#include <string.h>

#include "client/client.h"
#include "unit/test.h"

static void test_dedupe_and_processing(void)
{
    sk_workqueue *q = sk_workqueue_new();
    sk_workqueue_add(q, "a");
    sk_workqueue_add(q, "b");
    sk_workqueue_add(q, "a");
    CHECK_INT(sk_workqueue_len(q), 2);
    char *k = sk_workqueue_get(q);
    CHECK_STR(k, "a");
    /* re-added while processing: not handed out again until done() */
    sk_workqueue_add(q, "a");
    CHECK_INT(sk_workqueue_len(q), 1);
    char *k2 = sk_workqueue_get(q);
    CHECK_STR(k2, "b");
    CHECK_INT(sk_workqueue_len(q), 0);
    sk_workqueue_done(q, k);
    CHECK_INT(sk_workqueue_len(q), 1);
    char *k3 = sk_workqueue_get(q);
    CHECK_STR(k3, "a");
    sk_workqueue_done(q, k2);
    sk_workqueue_done(q, k3);
    CHECK_INT(sk_workqueue_len(q), 0);
    free(k);
    free(k2);
    free(k3);
    sk_workqueue_free(q);
}

static void test_add_after_order(void)
{
    sk_workqueue *q = sk_workqueue_new();
    int64_t t0 = sk_now_ms();
    sk_workqueue_add_after(q, "late", 120);
    sk_workqueue_add_after(q, "early", 40);
    sk_workqueue_add_after(q, "late", 500); /* later time: the earlier one stays */
    CHECK_INT(sk_workqueue_len(q), 0);
    char *k = sk_workqueue_get(q);
    CHECK_STR(k, "early");
    CHECK(sk_now_ms() - t0 >= 40);
    sk_workqueue_done(q, k);
    free(k);
    k = sk_workqueue_get(q);
    CHECK_STR(k, "late");
    int64_t dt = sk_now_ms() - t0;
    CHECK(dt >= 120 && dt < 450);
    sk_workqueue_done(q, k);
    free(k);
    /* an earlier re-add replaces a later pending one */
    t0 = sk_now_ms();
    sk_workqueue_add_after(q, "x", 5000);
    sk_workqueue_add_after(q, "x", 30);
    k = sk_workqueue_get(q);
    CHECK_STR(k, "x");
    CHECK(sk_now_ms() - t0 < 1000);
    sk_workqueue_done(q, k);
    free(k);
    CHECK_INT(sk_workqueue_len(q), 0);
    sk_workqueue_free(q);
}

static void test_backoff(void)
{
    sk_workqueue *q = sk_workqueue_new();
    CHECK_INT(sk_workqueue_retries(q, "k"), 0);
    int64_t waits[4];
    for (int i = 0; i < 4; i++) {
        int64_t t0 = sk_now_ms();
        sk_workqueue_add_rate_limited(q, "k");
        char *k = sk_workqueue_get(q);
        waits[i] = sk_now_ms() - t0;
        CHECK_STR(k, "k");
        sk_workqueue_done(q, k);
        free(k);
    }
    CHECK_INT(sk_workqueue_retries(q, "k"), 4);
    /* 5, 10, 20, 40 ms */
    CHECK(waits[0] >= 5);
    CHECK(waits[3] >= 40);
    CHECK(waits[3] > waits[0]);
    sk_workqueue_forget(q, "k");
    CHECK_INT(sk_workqueue_retries(q, "k"), 0);
    /* the cap: after many failures the delay is 1000 s, so nothing comes */
    for (int i = 0; i < 40; i++) sk_workqueue_add_rate_limited(q, "slow");
    CHECK_INT(sk_workqueue_retries(q, "slow"), 40);
    sk_workqueue_free(q);
}

static void *getter(void *arg)
{
    return sk_workqueue_get(arg);
}

static void test_shutdown(void)
{
    sk_workqueue *q = sk_workqueue_new();
    pthread_t t[3];
    for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, getter, q);
    struct timespec ts = {0, 50 * 1000000};
    nanosleep(&ts, NULL);
    sk_workqueue_add_after(q, "never", 100000);
    sk_workqueue_shutdown(q);
    for (int i = 0; i < 3; i++) {
        void *r;
        pthread_join(t[i], &r);
        CHECK(r == NULL);
    }
    sk_workqueue_add(q, "ignored");
    CHECK_INT(sk_workqueue_len(q), 0);
    CHECK(sk_workqueue_get(q) == NULL);
    sk_workqueue_free(q);
}

/* Many workers, many adds: each key is processed by one worker at a time. */
struct stress {
    sk_workqueue *q;
    pthread_mutex_t lock;
    int busy[16];
    int bad, processed;
};

static void *worker(void *arg)
{
    struct stress *s = arg;
    char *k;
    while ((k = sk_workqueue_get(s->q))) {
        int i = (int)strtol(k, NULL, 10);
        pthread_mutex_lock(&s->lock);
        if (s->busy[i]++) s->bad++;
        s->processed++;
        pthread_mutex_unlock(&s->lock);
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&s->lock);
        s->busy[i]--;
        pthread_mutex_unlock(&s->lock);
        sk_workqueue_done(s->q, k);
        free(k);
    }
    return NULL;
}

static void test_concurrency(void)
{
    struct stress s = {.q = sk_workqueue_new()};
    pthread_mutex_init(&s.lock, NULL);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, worker, &s);
    for (int n = 0; n < 2000; n++) {
        char key[8];
        snprintf(key, sizeof key, "%d", n % 16);
        sk_workqueue_add(s.q, key);
    }
    int64_t until = sk_now_ms() + 5000;
    while (sk_workqueue_len(s.q) && sk_now_ms() < until) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    struct timespec ts = {0, 20 * 1000000};
    nanosleep(&ts, NULL);
    sk_workqueue_shutdown(s.q);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    CHECK_INT(s.bad, 0);
    CHECK(s.processed >= 16);
    sk_workqueue_free(s.q);
    pthread_mutex_destroy(&s.lock);
}

static void test_keys(void)
{
    json_t *o = json_pack("{s:{s:s,s:s}}", "metadata", "namespace", "ns1", "name", "web");
    char *k = sk_object_key(o);
    CHECK_STR(k, "ns1/web");
    char ns[64], name[64];
    sk_key_split(k, ns, sizeof ns, name, sizeof name);
    CHECK_STR(ns, "ns1");
    CHECK_STR(name, "web");
    free(k);
    json_decref(o);
    o = json_pack("{s:{s:s}}", "metadata", "name", "node1");
    k = sk_object_key(o);
    CHECK_STR(k, "node1");
    sk_key_split(k, ns, sizeof ns, name, sizeof name);
    CHECK_STR(ns, "");
    CHECK_STR(name, "node1");
    free(k);
    json_decref(o);
    char small[4];
    sk_key_split("longnamespace/x", small, sizeof small, name, sizeof name);
    CHECK_STR(small, "lon");
    CHECK_STR(name, "x");
}

int main(void)
{
    test_dedupe_and_processing();
    test_add_after_order();
    test_backoff();
    test_shutdown();
    test_concurrency();
    test_keys();
    return test_done();
}
