/* SPDY/3.1 framer: dictionary, builders <-> parser round trips, header
 * blocks from an independent compressor (Python's zlib with the SPDY/3
 * dictionary), byte-by-byte parsing, and the caps on malformed input. */
#include "kubelet/spdy.h"
#include "unit/test.h"

#include <zlib.h>

#define REQUIRE_V(c) do { if (!(c)) { CHECK(c); return; } } while (0)

#define MAX_EV 64

struct ev {
    uint16_t type;
    uint8_t flags;
    uint32_t id, status, ping_id, last_good, delta, assoc;
    uint8_t prio;
    sk_buf data;
    bool frame_end;
    int n_headers;
    char hdr[8][2][64];
    size_t n_settings;
    uint32_t set_id, set_val;
};

struct rec {
    struct ev ev[MAX_EV];
    int n;
};

static int on_frame(void *ud, const struct sk_spdy_frame *f, sk_err *err)
{
    struct rec *r = ud;
    /* data pieces of one frame are merged into one record */
    if (f->type == SK_SPDY_DATA && r->n > 0 && r->ev[r->n - 1].type == SK_SPDY_DATA &&
        !r->ev[r->n - 1].frame_end && r->ev[r->n - 1].id == f->stream_id) {
        struct ev *e = &r->ev[r->n - 1];
        sk_buf_add(&e->data, f->data, f->len);
        e->frame_end = f->frame_end;
        return 0;
    }
    if (r->n == MAX_EV) return sk_err_set(err, SK_EINTERNAL, "too many events");
    struct ev *e = &r->ev[r->n++];
    memset(e, 0, sizeof *e);
    e->type = f->type;
    e->flags = f->flags;
    e->id = f->stream_id;
    e->status = f->status;
    e->ping_id = f->ping_id;
    e->last_good = f->last_good_id;
    e->delta = f->delta;
    e->assoc = f->assoc_id;
    e->prio = f->priority;
    e->frame_end = f->frame_end;
    if (f->len) sk_buf_add(&e->data, f->data, f->len);
    e->n_headers = (int)f->n_headers;
    for (size_t i = 0; i < f->n_headers && i < 8; i++) {
        snprintf(e->hdr[i][0], 64, "%s", f->headers[i].name);
        snprintf(e->hdr[i][1], 64, "%s", f->headers[i].value);
    }
    e->n_settings = f->n_settings;
    if (f->n_settings) {
        uint8_t fl;
        sk_spdy_setting(f, 0, &fl, &e->set_id, &e->set_val);
    }
    return 0;
}

static void rec_reset(struct rec *r)
{
    for (int i = 0; i < r->n; i++) sk_buf_release(&r->ev[i].data);
    r->n = 0;
}

static const char *hval(const struct ev *e, const char *name)
{
    for (int i = 0; i < e->n_headers && i < 8; i++)
        if (!strcmp(e->hdr[i][0], name)) return e->hdr[i][1];
    return NULL;
}

static void test_dictionary(void)
{
    size_t n;
    const uint8_t *d = sk_spdy_dictionary(&n);
    CHECK_INT(n, 1423);
    CHECK_INT(adler32(adler32(0, NULL, 0), d, (uInt)n), 0xe3c6a7c2u);
}

/* Builds a stream of every frame kind; parses it whole and byte by byte. */
static void test_round_trip(void)
{
    sk_err err = SK_ERR_INIT;
    sk_spdy_deflater *z = sk_spdy_deflater_new(&err);
    REQUIRE_V(z);
    sk_buf b = SK_BUF_INIT;
    struct sk_spdy_header h1[] = {{"streamtype", "error", 0, 0}, {"port", "8080", 0, 0},
                                  {"requestid", "0", 0, 0}};
    struct sk_spdy_header h2[] = {{"streamtype", "data", 0, 0}, {"port", "8080", 0, 0},
                                  {"requestid", "0", 0, 0}};
    CHECK(sk_spdy_put_syn_stream(z, &b, 1, 0, 2, 0, h1, 3, &err) == 0);
    CHECK(sk_spdy_put_syn_stream(z, &b, 3, 0, 0, SK_SPDY_FLAG_FIN, h2, 3, &err) == 0);
    CHECK(sk_spdy_put_syn_reply(z, &b, 1, 0, NULL, 0, &err) == 0);
    CHECK(sk_spdy_put_headers(z, &b, 3, 0, h1, 1, &err) == 0);
    sk_spdy_put_data(&b, 3, 0, "hello", 5);
    sk_spdy_put_data(&b, 3, SK_SPDY_FLAG_FIN, NULL, 0);
    sk_spdy_put_rst_stream(&b, 5, SK_SPDY_CANCEL);
    sk_spdy_put_ping(&b, 7);
    sk_spdy_put_window_update(&b, 3, 4096);
    sk_spdy_put_settings1(&b, 0, 7, 65536);
    sk_spdy_put_goaway(&b, 3, 0);
    size_t total = b.len;

    for (int mode = 0; mode < 2; mode++) {
        struct rec r = {0};
        sk_spdy_parser *p = sk_spdy_parser_new(&err);
        REQUIRE_V(p);
        if (mode == 0) {
            CHECK(sk_spdy_parser_feed(p, b.data, total, on_frame, &r, &err) == 0);
        } else {
            for (size_t i = 0; i < total; i++)
                CHECK(sk_spdy_parser_feed(p, b.data + i, 1, on_frame, &r, &err) == 0);
        }
        CHECK_INT(r.n, 11);
        CHECK_INT(r.ev[0].type, SK_SPDY_SYN_STREAM);
        CHECK_INT(r.ev[0].id, 1);
        CHECK_INT(r.ev[0].prio, 2);
        CHECK_INT(r.ev[0].n_headers, 3);
        CHECK_STR(hval(&r.ev[0], "streamtype"), "error");
        CHECK_STR(hval(&r.ev[0], "port"), "8080");
        CHECK_STR(hval(&r.ev[0], "requestid"), "0");
        CHECK_INT(r.ev[1].id, 3);
        CHECK_INT(r.ev[1].flags, SK_SPDY_FLAG_FIN);
        CHECK_STR(hval(&r.ev[1], "streamtype"), "data");
        CHECK_INT(r.ev[2].type, SK_SPDY_SYN_REPLY);
        CHECK_INT(r.ev[2].n_headers, 0);
        CHECK_INT(r.ev[3].type, SK_SPDY_HEADERS);
        CHECK_INT(r.ev[3].n_headers, 1);
        CHECK_INT(r.ev[4].type, SK_SPDY_DATA);
        CHECK_INT(r.ev[4].data.len, 5);
        CHECK(r.ev[4].data.len == 5 && !memcmp(r.ev[4].data.data, "hello", 5));
        CHECK(r.ev[4].frame_end);
        CHECK_INT(r.ev[5].type, SK_SPDY_DATA);
        CHECK_INT(r.ev[5].data.len, 0);
        CHECK_INT(r.ev[5].flags, SK_SPDY_FLAG_FIN);
        CHECK(r.ev[5].frame_end);
        CHECK_INT(r.ev[6].type, SK_SPDY_RST_STREAM);
        CHECK_INT(r.ev[6].id, 5);
        CHECK_INT(r.ev[6].status, SK_SPDY_CANCEL);
        CHECK_INT(r.ev[7].ping_id, 7);
        CHECK_INT(r.ev[8].type, SK_SPDY_WINDOW_UPDATE);
        CHECK_INT(r.ev[8].delta, 4096);
        CHECK_INT(r.ev[9].type, SK_SPDY_SETTINGS);
        CHECK_INT(r.ev[9].n_settings, 1);
        CHECK_INT(r.ev[9].set_id, 7);
        CHECK_INT(r.ev[9].set_val, 65536);
        CHECK_INT(r.ev[10].type, SK_SPDY_GOAWAY);
        CHECK_INT(r.ev[10].last_good, 3);
        rec_reset(&r);
        sk_spdy_parser_free(p);
    }
    sk_buf_release(&b);
    sk_spdy_deflater_free(z);
}

static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = 0;
    for (; hex[0] && hex[1]; hex += 2) {
        unsigned v;
        sscanf(hex, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

/* Header blocks compressed by Python's zlib (level 9, zdict = the SPDY/3
 * dictionary, Z_SYNC_FLUSH after each) from one compressor, as kubectl's
 * spdystream sends them: the second block only decodes with the first's
 * context. The first starts 78 f9 + dictionary id e3c6a7c2. */
static const char *py_block1 =
    "78f9e3c6a7c202253a48f95b044eea16061606409ab308125f99a074cc68004e892545a989b9d0c2863515141500"
    "000000ffff";
static const char *py_block2 = "225333a8a44a04000000ffff";

static void put_syn(sk_buf *b, uint32_t id, const uint8_t *blk, size_t n)
{
    uint32_t len = (uint32_t)n + 10;
    uint8_t h[18] = {0x80, 3, 0, 1, 0, (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len,
                     0, 0, 0, (uint8_t)id, 0, 0, 0, 0, 0, 0};
    sk_buf_add(b, h, sizeof h);
    sk_buf_add(b, blk, n);
}

static void test_known_good_blocks(void)
{
    uint8_t b1[128], b2[64];
    size_t n1 = unhex(py_block1, b1), n2 = unhex(py_block2, b2);
    CHECK(b1[0] == 0x78 && b1[1] == 0xf9);
    sk_buf b = SK_BUF_INIT;
    put_syn(&b, 1, b1, n1);
    put_syn(&b, 3, b2, n2);
    sk_err err = SK_ERR_INIT;
    sk_spdy_parser *p = sk_spdy_parser_new(&err);
    struct rec r = {0};
    CHECK(sk_spdy_parser_feed(p, b.data, b.len, on_frame, &r, &err) == 0);
    CHECK_INT(r.n, 2);
    CHECK_STR(hval(&r.ev[0], "streamtype"), "error");
    CHECK_STR(hval(&r.ev[0], "port"), "8080");
    CHECK_STR(hval(&r.ev[0], "requestid"), "0");
    CHECK_STR(hval(&r.ev[1], "streamtype"), "data");
    CHECK_INT(r.ev[1].id, 3);
    rec_reset(&r);
    sk_spdy_parser_free(p);

    /* the second block alone lacks the first's context */
    p = sk_spdy_parser_new(&err);
    b.len = 0;
    put_syn(&b, 3, b2, n2);
    CHECK(sk_spdy_parser_feed(p, b.data, b.len, on_frame, &r, &err) < 0);
    CHECK_INT(r.n, 0);
    sk_spdy_parser_free(p);
    sk_buf_release(&b);
    sk_err_clear(&err);
}

/* Our deflater's output decodes with plain zlib + the dictionary too. */
static void test_deflater_with_zlib(void)
{
    sk_err err = SK_ERR_INIT;
    sk_spdy_deflater *z = sk_spdy_deflater_new(&err);
    sk_buf b = SK_BUF_INIT;
    struct sk_spdy_header h[] = {{"port", "80", 0, 0}};
    CHECK(sk_spdy_put_syn_reply(z, &b, 1, 0, h, 1, &err) == 0);
    REQUIRE_V(b.len > 12);
    z_stream zs = {0};
    inflateInit(&zs);
    uint8_t out[256];
    zs.next_in = (Bytef *)b.data + 12;
    zs.avail_in = (uInt)(b.len - 12);
    zs.next_out = out;
    zs.avail_out = sizeof out;
    int rc = inflate(&zs, Z_SYNC_FLUSH);
    CHECK_INT(rc, Z_NEED_DICT);
    size_t dl;
    const uint8_t *d = sk_spdy_dictionary(&dl);
    CHECK_INT(inflateSetDictionary(&zs, d, (uInt)dl), Z_OK);
    rc = inflate(&zs, Z_SYNC_FLUSH);
    CHECK(rc == Z_OK || rc == Z_BUF_ERROR);
    static const uint8_t want[] = {0, 0, 0, 1, 0, 0, 0, 4, 'p', 'o', 'r', 't', 0, 0, 0, 2, '8', '0'};
    CHECK_INT(sizeof out - zs.avail_out, sizeof want);
    CHECK(!memcmp(out, want, sizeof want));
    inflateEnd(&zs);
    sk_buf_release(&b);
    sk_spdy_deflater_free(z);
}

/* A large data frame arrives in pieces and is never buffered whole. */
static void test_data_streaming(void)
{
    sk_err err = SK_ERR_INIT;
    size_t n = 1 << 20;
    uint8_t *payload = sk_malloc(n);
    for (size_t i = 0; i < n; i++) payload[i] = (uint8_t)(i * 7);
    sk_buf b = SK_BUF_INIT;
    sk_spdy_put_data(&b, 9, SK_SPDY_FLAG_FIN, payload, n);
    sk_spdy_parser *p = sk_spdy_parser_new(&err);
    struct rec r = {0};
    for (size_t off = 0; off < b.len; off += 4000) {
        size_t k = b.len - off < 4000 ? b.len - off : 4000;
        CHECK(sk_spdy_parser_feed(p, b.data + off, k, on_frame, &r, &err) == 0);
    }
    CHECK_INT(r.n, 1);
    CHECK_INT(r.ev[0].data.len, n);
    CHECK(r.ev[0].data.len == n && !memcmp(r.ev[0].data.data, payload, n));
    CHECK(r.ev[0].frame_end);
    CHECK_INT(r.ev[0].flags, SK_SPDY_FLAG_FIN);
    rec_reset(&r);
    sk_spdy_parser_free(p);
    sk_buf_release(&b);
    free(payload);
}

/* Feeds raw bytes to a fresh parser; returns the feed result. */
static int feed_raw(const uint8_t *d, size_t n, sk_err *err)
{
    sk_spdy_parser *p = sk_spdy_parser_new(err);
    struct rec r = {0};
    int rc = sk_spdy_parser_feed(p, d, n, on_frame, &r, err);
    rec_reset(&r);
    sk_spdy_parser_free(p);
    return rc;
}

/* Compresses raw (an uncompressed block) like a peer would. */
static size_t compress_raw(const uint8_t *raw, size_t n, uint8_t *out, size_t cap)
{
    z_stream zs = {0};
    deflateInit(&zs, 9);
    size_t dl;
    const uint8_t *d = sk_spdy_dictionary(&dl);
    deflateSetDictionary(&zs, d, (uInt)dl);
    zs.next_in = (Bytef *)raw;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    deflate(&zs, Z_SYNC_FLUSH);
    size_t len = cap - zs.avail_out;
    deflateEnd(&zs);
    return len;
}

static int feed_block(const uint8_t *raw, size_t n, sk_err *err)
{
    uint8_t *c = sk_malloc(n + 1024);
    size_t cl = compress_raw(raw, n, c, n + 1024);
    sk_buf b = SK_BUF_INIT;
    put_syn(&b, 1, c, cl);
    int rc = feed_raw((uint8_t *)b.data, b.len, err);
    sk_buf_release(&b);
    free(c);
    return rc;
}

static void test_malformed(void)
{
    sk_err err = SK_ERR_INIT;
    static const uint8_t v2[] = {0x80, 2, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1};
    CHECK(feed_raw(v2, sizeof v2, &err) < 0);
    CHECK(strstr(err.msg, "version") != NULL);
    static const uint8_t huge[] = {0x80, 3, 0, 1, 0, 0xff, 0xff, 0xff};
    CHECK(feed_raw(huge, sizeof huge, &err) < 0);
    CHECK(strstr(err.msg, "too large") != NULL);
    static const uint8_t rst_len[] = {0x80, 3, 0, 3, 0, 0, 0, 4, 0, 0, 0, 1};
    CHECK(feed_raw(rst_len, sizeof rst_len, &err) < 0);
    static const uint8_t rst_zero[] = {0x80, 3, 0, 3, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0};
    CHECK(feed_raw(rst_zero, sizeof rst_zero, &err) < 0);
    static const uint8_t data0[] = {0, 0, 0, 0, 0, 0, 0, 1, 'x'};
    CHECK(feed_raw(data0, sizeof data0, &err) < 0);
    static const uint8_t settings_bad[] = {0x80, 3, 0, 4, 0, 0, 0, 12, 0, 0, 0, 5,
                                           0, 0, 0, 7, 0, 0, 0, 1};
    CHECK(feed_raw(settings_bad, sizeof settings_bad, &err) < 0);
    /* garbage where the zlib stream should be */
    static const uint8_t junk[] = {0x80, 3, 0, 2, 0, 0, 0, 10, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6};
    CHECK(feed_raw(junk, sizeof junk, &err) < 0);
    /* an unknown control type is skipped, then parsing goes on */
    static const uint8_t unknown[] = {0x80, 3, 0, 0x42, 0, 0, 0, 3, 1, 2, 3,
                                      0x80, 3, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1};
    CHECK(feed_raw(unknown, sizeof unknown, &err) == 0);

    /* header blocks: too many, truncated, empty name, duplicate, trailing */
    uint8_t raw[64] = {0, 0, 0x10, 0};
    CHECK(feed_block(raw, 4, &err) < 0);
    CHECK(strstr(err.msg, "too many headers") != NULL);
    uint8_t trunc[] = {0, 0, 0, 1, 0, 0, 0, 9, 'a'};
    CHECK(feed_block(trunc, sizeof trunc, &err) < 0);
    CHECK(strstr(err.msg, "truncated") != NULL);
    uint8_t empty_name[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK(feed_block(empty_name, sizeof empty_name, &err) < 0);
    uint8_t dup[] = {0, 0, 0, 2, 0, 0, 0, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 0, 0};
    CHECK(feed_block(dup, sizeof dup, &err) < 0);
    CHECK(strstr(err.msg, "duplicate") != NULL);
    uint8_t trailing[] = {0, 0, 0, 0, 9};
    CHECK(feed_block(trailing, sizeof trailing, &err) < 0);
    uint8_t upper[] = {0, 0, 0, 1, 0, 0, 0, 4, 'P', 'o', 'R', 't', 0, 0, 0, 1, '1'};
    CHECK(feed_block(upper, sizeof upper, &err) == 0);
    /* a decompression bomb stops at the cap */
    size_t big = SK_SPDY_MAX_HEADER_BLOCK + 100;
    uint8_t *bomb = sk_calloc(1, big);
    bomb[3] = 1;
    bomb[6] = (uint8_t)((big - 8) >> 8);
    bomb[7] = (uint8_t)(big - 8);
    CHECK(feed_block(bomb, big, &err) < 0);
    CHECK(strstr(err.msg, "too large") != NULL || strstr(err.msg, "truncated") != NULL);
    free(bomb);

    /* after an error the parser refuses more input */
    sk_spdy_parser *p = sk_spdy_parser_new(&err);
    struct rec r = {0};
    CHECK(sk_spdy_parser_feed(p, v2, sizeof v2, on_frame, &r, &err) < 0);
    CHECK(sk_spdy_parser_feed(p, unknown, sizeof unknown, on_frame, &r, &err) < 0);
    sk_spdy_parser_free(p);
    sk_err_clear(&err);
}

int main(void)
{
    test_dictionary();
    test_round_trip();
    test_known_good_blocks();
    test_deflater_with_zlib();
    test_data_streaming();
    test_malformed();
    return test_done();
}
