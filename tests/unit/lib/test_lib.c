#include "lib/lib.h"
#include "unit/test.h"

#include <errno.h>

/* A timed wait with nobody signalling lasts the time asked, on either clock. */
static void test_cond_wait(clockid_t clock, int64_t ms)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, clock);
    pthread_cond_t cv;
    pthread_cond_init(&cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&mu);
    int64_t t0 = sk_now_ms();
    CHECK_INT(sk_cond_wait_ms(&cv, &mu, clock, ms), ETIMEDOUT);
    int64_t took = sk_now_ms() - t0;
    CHECK(took >= ms - 1 && took < ms + 1000);
    pthread_mutex_unlock(&mu);
    pthread_cond_destroy(&cv);
}

int main(void)
{
    test_cond_wait(CLOCK_MONOTONIC, 30);
    test_cond_wait(CLOCK_REALTIME, 1050);
    test_cond_wait(CLOCK_MONOTONIC, 0);
    char buf[64];
    sk_duration_human(5, buf, sizeof buf);
    CHECK_STR(buf, "5s");
    sk_duration_human(192, buf, sizeof buf);
    CHECK_STR(buf, "3m12s");
    sk_duration_human(3 * 3600, buf, sizeof buf);
    CHECK_STR(buf, "3h");
    sk_duration_human(50 * 3600, buf, sizeof buf);
    CHECK_STR(buf, "2d2h");
    sk_time_format(0, buf, sizeof buf);
    CHECK_STR(buf, "1970-01-01T00:00:00Z");
    CHECK_INT(sk_time_parse("2026-11-28T20:34:17Z"), 1795898057);
    CHECK_INT(sk_time_parse("2026-11-28T21:34:17.123+01:00"), 1795898057);
    CHECK_INT(sk_time_parse("garbage"), -1);

    sk_err err = SK_ERR_INIT;
    CHECK_INT(sk_err_set(&err, SK_ENOTFOUND, "pods \"%s\" not found", "x"), -1);
    CHECK_STR(err.msg, "pods \"x\" not found");
    CHECK_INT(sk_code_http(err.code), 404);
    CHECK_STR(sk_code_reason(SK_EGONE), "Expired");
    sk_err_wrap(&err, "get");
    CHECK_STR(err.msg, "get: pods \"x\" not found");
    sk_err_cause(&err, "FieldValueInvalid", "spec.replicas", "bad %d", 1);
    CHECK_INT(json_array_size(err.causes), 1);
    sk_err_clear(&err);

    sk_buf b = SK_BUF_INIT;
    sk_buf_addf(&b, "%d-%s", 7, "x");
    sk_buf_adds(&b, "!");
    CHECK_STR(b.data, "7-x!");
    sk_buf_release(&b);

    char s[6];
    sk_rand_suffix(s, sizeof s);
    CHECK_INT(strlen(s), 5);
    char u[37];
    sk_uuid4(u);
    CHECK_INT(strlen(u), 36);
    CHECK(u[14] == '4');

    json_t *o = json_loads("{\"metadata\":{\"name\":\"a\"}}", 0, NULL);
    CHECK_STR(sk_json_path_str(o, "metadata.name"), "a");
    CHECK(sk_json_path(o, "metadata.nope") == NULL);
    json_decref(o);
    return test_done();
}
