/* The CRI log reader behind `kubectl logs` (no root): partial lines joined,
 * timestamps, tailLines over joined lines and rotated files, since,
 * limitBytes, malformed records, follow across a rotation with a writer
 * thread, a 10 MB file tailed quickly, and the RFC 3339 parser. */
#include "kubelet/server_int.h"
#include "unit/test.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static char dir[64];

#define T0 "2026-01-02T03:04:05.000000001Z"
#define T1 "2026-01-02T03:04:06.5Z"
#define T2 "2026-01-02T03:04:07.123456789Z"

static void put(const char *path, const char *text, const char *mode)
{
    FILE *f = fopen(path, mode);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static char *p_(const char *name)
{
    return sk_printf("%s/%s", dir, name);
}

static int collect(void *ud, const char *p, size_t n)
{
    sk_buf_add(ud, p, n);
    return 0;
}

/* Reads path with o into a string (caller frees); NULL on error. */
static char *read_log(const char *path, struct sk_kl_log_opts o)
{
    sk_buf b = SK_BUF_INIT;
    sk_err err = SK_ERR_INIT;
    sk_buf_adds(&b, "");
    if (sk_kl_log_stream(path, &o, collect, NULL, &b, NULL, &err) < 0) {
        fprintf(stderr, "log_stream: %s\n", err.msg);
        sk_buf_release(&b);
        return NULL;
    }
    return sk_buf_take(&b);
}

static struct sk_kl_log_opts all(void)
{
    return (struct sk_kl_log_opts){.tail_lines = -1};
}

static int test_basic_and_partials(void)
{
    _sk_free_ char *path = p_("basic.log");
    put(path,
        T0 " stdout F hello\n"
        T0 " stderr F oops\n"
        T1 " stdout P par\n"
        T1 " stderr F between\n"
        T2 " stdout P ti\n"
        T2 " stdout F al\n"
        T2 " stdout F \n"
        "garbage line\n"
        T2 " stdin F bad stream\n"
        "2026-13-02T03:04:05Z stdout F bad month\n"
        T2 " stdout F tabs\tand  spaces \n"
        T2 " stdout F:x tagged\n",
        "w");
    char *out = read_log(path, all());
    CHECK_STR(out, "hello\noops\nbetween\npartial\n\ntabs\tand  spaces \ntagged\n");
    free(out);

    struct sk_kl_log_opts o = all();
    o.timestamps = true;
    out = read_log(path, o);
    CHECK_STR(out, T0 " hello\n" T0 " oops\n"
                   "2026-01-02T03:04:06.500000000Z between\n"
                   "2026-01-02T03:04:06.500000000Z partial\n"
                   T2 " \n" T2 " tabs\tand  spaces \n" T2 " tagged\n");
    free(out);

    /* tailLines counts joined lines: "partial" is one line made of 3
     * records; its first fragment sits before the "between" line of the
     * other stream where this tail starts, so it is missed (documented). */
    o = all();
    o.tail_lines = 4;
    out = read_log(path, o);
    CHECK_STR(out, "tial\n\ntabs\tand  spaces \ntagged\n");
    free(out);
    o.tail_lines = 5;
    out = read_log(path, o);
    CHECK_STR(out, "between\npartial\n\ntabs\tand  spaces \ntagged\n");
    free(out);
    o.tail_lines = 0;
    out = read_log(path, o);
    CHECK_STR(out, "");
    free(out);
    o.tail_lines = 100;
    out = read_log(path, o);
    CHECK_STR(out, "hello\noops\nbetween\npartial\n\ntabs\tand  spaces \ntagged\n");
    free(out);
    o.tail_lines = INT64_MAX; /* ?tailLines=9223372036854775807: no overflow */
    out = read_log(path, o);
    CHECK_STR(out, "hello\noops\nbetween\npartial\n\ntabs\tand  spaces \ntagged\n");
    free(out);

    /* since: lines whose first fragment is older are skipped */
    o = all();
    REQUIRE(sk_time_parse_ns(T1, strlen(T1), &o.since_ns));
    out = read_log(path, o);
    CHECK_STR(out, "between\npartial\n\ntabs\tand  spaces \ntagged\n");
    free(out);

    /* limitBytes cuts anywhere, timestamps included */
    o = all();
    o.limit_bytes = 8;
    out = read_log(path, o);
    CHECK_STR(out, "hello\noo");
    free(out);
    o.timestamps = true;
    o.limit_bytes = 33;
    out = read_log(path, o);
    CHECK_STR(out, T0 " he");
    free(out);
    return 0;
}

static int test_unterminated_and_missing(void)
{
    _sk_free_ char *path = p_("unterminated.log");
    put(path, T0 " stdout F one\n" T0 " stdout P dangling", "w");
    char *out = read_log(path, all());
    CHECK_STR(out, "one\ndangling");
    free(out);
    put(path, T0 " stdout F one\n" T0 " stdout F no newline", "w");
    out = read_log(path, all());
    CHECK_STR(out, "one\nno newline");
    free(out);

    _sk_free_ char *none = p_("none.log");
    struct sk_kl_log_opts o = all();
    sk_err err = SK_ERR_INIT;
    CHECK(sk_kl_log_stream(none, &o, collect, NULL, NULL, NULL, &err) < 0);
    CHECK_INT(err.code, SK_ENOTFOUND);
    _sk_free_ char *empty = p_("empty.log");
    put(empty, "", "w");
    out = read_log(empty, all());
    CHECK_STR(out, "");
    free(out);
    o.tail_lines = 3;
    out = read_log(empty, o);
    CHECK_STR(out, "");
    free(out);
    return 0;
}

static int test_rotated(void)
{
    _sk_free_ char *path = p_("rot.log");
    _sk_free_ char *r1 = sk_printf("%s.1", path);
    _sk_free_ char *r2 = sk_printf("%s.2", path);
    put(r2, T0 " stdout F a1\n" T0 " stdout F a2\n", "w");
    put(r1, T1 " stdout F b1\n" T1 " stdout P b2-\n", "w");
    put(path, T2 " stdout F part\n" T2 " stdout F c1\n", "w");
    char *out = read_log(path, all());
    /* a line split across a rotation is still joined */
    CHECK_STR(out, "a1\na2\nb1\nb2-part\nc1\n");
    free(out);
    struct sk_kl_log_opts o = all();
    o.tail_lines = 3;
    out = read_log(path, o);
    CHECK_STR(out, "b1\nb2-part\nc1\n");
    free(out);
    o.tail_lines = 4;
    out = read_log(path, o);
    CHECK_STR(out, "a2\nb1\nb2-part\nc1\n");
    free(out);
    /* only rotated files (the live one being recreated); the last
     * complete line and the unfinished one */
    unlink(path);
    o.tail_lines = 1;
    out = read_log(path, o);
    CHECK_STR(out, "b1\nb2-");
    free(out);
    return 0;
}

static int test_long_line_pieces(void)
{
    _sk_free_ char *path = p_("long.log");
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    /* 80 P records of 16 KiB: 1.25 MiB in one line, over the join cap */
    char *chunk = sk_malloc(16384 + 1);
    memset(chunk, 'x', 16384);
    chunk[16384] = 0;
    for (int i = 0; i < 80; i++) fprintf(f, T0 " stdout P %s\n", chunk);
    fprintf(f, T0 " stdout F end\n" T1 " stdout F next\n");
    fclose(f);
    free(chunk);
    struct sk_kl_log_opts o = all();
    o.timestamps = true;
    char *out = read_log(path, o);
    REQUIRE(out);
    size_t n = strlen(out);
    /* one timestamp: the piece after the cap continues the line */
    const char *t1 = "2026-01-02T03:04:06.500000000Z next\n";
    CHECK_INT(n, strlen(T0) + 1 + 80 * 16384 + 4 + strlen(t1));
    CHECK(!strncmp(out, T0 " xxx", strlen(T0) + 4));
    CHECK(!strncmp(out + n - 4 - strlen(t1), "end\n", 4));
    CHECK(!strcmp(out + n - strlen(t1), t1));
    free(out);
    return 0;
}

static int test_big_file_tail(void)
{
    _sk_free_ char *path = p_("big.log");
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    for (int i = 0; i < 200000; i++) fprintf(f, T0 " stdout F line number %d padded to fifty\n", i);
    fclose(f);
    struct stat st;
    REQUIRE(stat(path, &st) == 0 && st.st_size > 10 * 1000 * 1000);
    struct sk_kl_log_opts o = all();
    o.tail_lines = 2;
    int64_t t0 = sk_now_ms();
    char *out = read_log(path, o);
    int64_t ms = sk_now_ms() - t0;
    CHECK_STR(out, "line number 199998 padded to fifty\nline number 199999 padded to fifty\n");
    CHECK(ms < 200);
    free(out);
    o.tail_lines = 150000;
    out = read_log(path, o);
    CHECK(out && !strncmp(out, "line number 50000 padded", 24));
    free(out);
    unlink(path);
    return 0;
}

/* ---- follow with a writer that rotates like the shim ---------------------------------- */

struct writer {
    char *path;
    volatile int done;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    _sk_free_ char *r1 = sk_printf("%s.1", w->path);
    for (int i = 0; i < 30; i++) {
        char line[128];
        snprintf(line, sizeof line, T1 " %s F w%d\n", i % 3 ? "stdout" : "stderr", i);
        if (i == 10 || i == 20) { /* rotate: rename, then a new file */
            rename(w->path, r1);
            usleep(30000);
            put(w->path, "", "w");
        }
        put(w->path, line, "a");
        usleep(i % 7 ? 5000 : 150000);
    }
    w->done = 1;
    return NULL;
}

struct follow_ud {
    sk_buf b; /* first: collect() writes here */
    struct writer *w;
};

static bool writer_alive(void *ud)
{
    struct follow_ud *f = ud;
    return !f->w->done;
}

static int test_follow(void)
{
    _sk_free_ char *path = p_("follow.log");
    put(path, T0 " stdout F before\n", "w");
    struct writer w = {path, 0};
    struct follow_ud ud = {SK_BUF_INIT, &w};
    sk_buf_adds(&ud.b, "");
    pthread_t th;
    struct sk_kl_log_opts o = {.follow = true, .tail_lines = -1};
    REQUIRE(pthread_create(&th, NULL, writer_main, &w) == 0);
    sk_err err = SK_ERR_INIT;
    int64_t t0 = sk_now_ms();
    int rc = sk_kl_log_stream(path, &o, collect, writer_alive, &ud, NULL, &err);
    pthread_join(th, NULL);
    CHECK_INT(rc, 0);
    CHECK(sk_now_ms() - t0 < 5000);
    sk_buf want = SK_BUF_INIT;
    sk_buf_adds(&want, "before\n");
    for (int i = 0; i < 30; i++) sk_buf_addf(&want, "w%d\n", i);
    CHECK_STR(ud.b.data, want.data);
    sk_buf_release(&want);
    sk_buf_release(&ud.b);

    /* stop ends a follow that has nothing more to read */
    volatile int stop = 1;
    struct writer idle = {path, 0};
    struct follow_ud ud2 = {SK_BUF_INIT, &idle};
    o.tail_lines = 1;
    rc = sk_kl_log_stream(path, &o, collect, writer_alive, &ud2, &stop, &err);
    CHECK_INT(rc, 0);
    CHECK_STR(ud2.b.data, "w29\n");
    sk_buf_release(&ud2.b);
    return 0;
}

static int stop_writes(void *ud, const char *p, size_t n)
{
    (void)p;
    (void)n;
    (*(int *)ud)++;
    return -1;
}

static int test_writer_stops(void)
{
    _sk_free_ char *path = p_("basic.log");
    struct sk_kl_log_opts o = all();
    int calls = 0;
    sk_err err = SK_ERR_INIT;
    CHECK_INT(sk_kl_log_stream(path, &o, stop_writes, NULL, &calls, NULL, &err), 0);
    CHECK_INT(calls, 1);
    return 0;
}

static int test_time(void)
{
    int64_t ns;
    CHECK(sk_time_parse_ns("1970-01-01T00:00:00Z", 20, &ns) && ns == 0);
    CHECK(!sk_time_parse_ns("1600-01-01T00:00:00Z", 20, &ns)); /* outside int64 ns */
    CHECK(sk_time_parse_ns("2026-01-02T03:04:05Z", 20, &ns) && ns == 1767323045LL * 1000000000);
    CHECK(sk_time_parse_ns("2026-01-02T04:04:05.25+01:00", 28, &ns) &&
          ns == 1767323045LL * 1000000000 + 250000000);
    CHECK(sk_time_parse_ns("2026-01-02T02:34:05-00:30", 25, &ns) && ns == 1767323045LL * 1000000000);
    CHECK(!sk_time_parse_ns("2026-01-02T03:04:05.Z", 21, &ns));
    CHECK(!sk_time_parse_ns("2026-01-02T03:04:05.1234567891Z", 31, &ns));
    CHECK(!sk_time_parse_ns("2026-01-02 03:04:05Z", 20, &ns));
    CHECK(!sk_time_parse_ns("2026-01-02T03:04:05", 19, &ns));
    CHECK(!sk_time_parse_ns("2026-01-02T03:04:05Zjunk", 24, &ns));
    CHECK(!sk_time_parse_ns("2026-01-02T24:04:05Z", 20, &ns));
    char out[40];
    sk_time_format_ns(1767323045LL * 1000000000 + 7, out);
    CHECK_STR(out, "2026-01-02T03:04:05.000000007Z");
    sk_time_format_ns(951782400LL * 1000000000, out); /* leap day */
    CHECK_STR(out, "2000-02-29T00:00:00.000000000Z");
    CHECK(sk_time_parse_ns("2000-02-29T00:00:00Z", 20, &ns) && ns == 951782400LL * 1000000000);
    return 0;
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/skcrilog-XXXXXX");
    REQUIRE(mkdtemp(dir));
    int rc = test_time() | test_basic_and_partials() | test_unterminated_and_missing() |
             test_rotated() | test_long_line_pieces() | test_big_file_tail() | test_follow() |
             test_writer_stops();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "cleanup of %s failed\n", dir);
    return rc ? rc : test_done();
}
