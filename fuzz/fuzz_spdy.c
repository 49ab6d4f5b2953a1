/* Fuzzes the SPDY/3.1 parser with its header decompression. Byte 0 picks
 * the mode: even = the rest is a raw SPDY byte stream; odd = the rest is an
 * uncompressed header block, compressed here with the SPDY/3 dictionary and
 * wrapped in a SYN_STREAM, so the block decoder gets exercised without the
 * fuzzer having to discover zlib. Byte 1 sets the slice size the stream is
 * fed in, to exercise the incremental paths. */
#include "kubelet/spdy.h"

#include <string.h>
#include <zlib.h>

static int on_frame(void *ud, const struct sk_spdy_frame *f, sk_err *err)
{
    (void)err;
    size_t *sum = ud;
    for (size_t i = 0; i < f->n_headers; i++)
        *sum += f->headers[i].name_len + f->headers[i].value_len + strlen(f->headers[i].value);
    if (sk_spdy_frame_header(f, "port")) (*sum)++;
    for (size_t i = 0; i < f->n_settings; i++) {
        uint8_t fl;
        uint32_t id, v;
        sk_spdy_setting(f, i, &fl, &id, &v);
        *sum += v;
    }
    for (size_t i = 0; i < f->len; i++) *sum += f->data[i];
    return 0;
}

static void wrap_block(const uint8_t *raw, size_t n, sk_buf *out)
{
    z_stream zs = {0};
    if (deflateInit(&zs, 6) != Z_OK) return;
    size_t dl;
    const uint8_t *d = sk_spdy_dictionary(&dl);
    deflateSetDictionary(&zs, d, (uInt)dl);
    size_t cap = deflateBound(&zs, (uLong)n) + 64;
    uint8_t *c = sk_malloc(cap);
    zs.next_in = (Bytef *)raw;
    zs.avail_in = (uInt)n;
    zs.next_out = c;
    zs.avail_out = (uInt)cap;
    deflate(&zs, Z_SYNC_FLUSH);
    size_t cl = cap - zs.avail_out;
    deflateEnd(&zs);
    uint32_t len = (uint32_t)(cl + 10);
    uint8_t h[18] = {0x80, 3, 0, 1, 0, (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len,
                     0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
    sk_buf_add(out, h, sizeof h);
    sk_buf_add(out, c, cl);
    free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    sk_err err = SK_ERR_INIT;
    sk_spdy_parser *p = sk_spdy_parser_new(&err);
    if (!p) return 0;
    size_t slice = (size_t)data[1] + 1, sum = 0;
    sk_buf wrapped = SK_BUF_INIT;
    const uint8_t *in = data + 2;
    size_t n = size - 2;
    if (data[0] & 1) {
        wrap_block(in, n, &wrapped);
        in = (const uint8_t *)wrapped.data;
        n = wrapped.len;
    }
    for (size_t off = 0; off < n; off += slice) {
        size_t k = n - off < slice ? n - off : slice;
        if (sk_spdy_parser_feed(p, in + off, k, on_frame, &sum, &err) < 0) break;
    }
    sk_buf_release(&wrapped);
    sk_spdy_parser_free(p);
    sk_err_clear(&err);
    return 0;
}
