/* SPDY/3.1 frame builders and the sending side's header compressor. */
#include "kubelet/spdy.h"

#include <string.h>
#include <zlib.h>

struct sk_spdy_deflater {
    z_stream z;
};

sk_spdy_deflater *sk_spdy_deflater_new(sk_err *err)
{
    sk_spdy_deflater *d = sk_calloc(1, sizeof *d);
    size_t dl;
    const uint8_t *dict = sk_spdy_dictionary(&dl);
    /* a small window and memLevel: header blocks are tiny, and every
     * session keeps its compressor for its whole life */
    if (deflateInit2(&d->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 11, 4, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(d);
        sk_err_set(err, SK_EINTERNAL, "spdy: deflateInit failed");
        return NULL;
    }
    if (deflateSetDictionary(&d->z, dict, (uInt)dl) != Z_OK) {
        deflateEnd(&d->z);
        free(d);
        sk_err_set(err, SK_EINTERNAL, "spdy: deflateSetDictionary failed");
        return NULL;
    }
    return d;
}

void sk_spdy_deflater_free(sk_spdy_deflater *d)
{
    if (!d) return;
    deflateEnd(&d->z);
    free(d);
}

static void put32(sk_buf *out, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    sk_buf_add(out, b, 4);
}

static void put_ctrl_head(sk_buf *out, uint16_t type, uint8_t flags, uint32_t len)
{
    uint8_t b[8] = {0x80, 3, (uint8_t)(type >> 8), (uint8_t)type, flags,
                    (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
    sk_buf_add(out, b, 8);
}

/* Appends the compressed block for h[0..n) to out, ended by a sync flush so
 * the peer can decode it without waiting for more. */
static int compress_block(sk_spdy_deflater *d, sk_buf *out, const struct sk_spdy_header *h,
                          size_t n, sk_err *err)
{
    sk_buf raw = SK_BUF_INIT;
    put32(&raw, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        size_t nl = strlen(h[i].name), vl = strlen(h[i].value);
        put32(&raw, (uint32_t)nl);
        sk_buf_add(&raw, h[i].name, nl);
        put32(&raw, (uint32_t)vl);
        sk_buf_add(&raw, h[i].value, vl);
    }
    d->z.next_in = (Bytef *)raw.data;
    d->z.avail_in = (uInt)raw.len;
    uint8_t chunk[1024];
    int rc;
    do {
        d->z.next_out = chunk;
        d->z.avail_out = sizeof chunk;
        rc = deflate(&d->z, Z_SYNC_FLUSH);
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            sk_buf_release(&raw);
            return sk_err_set(err, SK_EINTERNAL, "spdy: deflate failed (%d)", rc);
        }
        sk_buf_add(out, chunk, sizeof chunk - d->z.avail_out);
    } while (d->z.avail_out == 0);
    sk_buf_release(&raw);
    return 0;
}

/* A control frame whose payload is `fixed` bytes then a header block. */
static int put_with_headers(sk_spdy_deflater *d, sk_buf *out, uint16_t type, uint8_t flags,
                            const uint8_t *fixed, size_t fixed_len,
                            const struct sk_spdy_header *h, size_t n, sk_err *err)
{
    sk_buf blk = SK_BUF_INIT;
    if (compress_block(d, &blk, h, n, err) < 0) return -1;
    size_t len = fixed_len + blk.len;
    if (len > SK_SPDY_MAX_DATA_LEN) {
        sk_buf_release(&blk);
        return sk_err_set(err, SK_ETOOLARGE, "spdy: header block too large");
    }
    put_ctrl_head(out, type, flags, (uint32_t)len);
    sk_buf_add(out, fixed, fixed_len);
    sk_buf_add(out, blk.data, blk.len);
    sk_buf_release(&blk);
    return 0;
}

static void id_bytes(uint8_t *b, uint32_t id)
{
    id &= 0x7fffffff;
    b[0] = (uint8_t)(id >> 24);
    b[1] = (uint8_t)(id >> 16);
    b[2] = (uint8_t)(id >> 8);
    b[3] = (uint8_t)id;
}

int sk_spdy_put_syn_stream(sk_spdy_deflater *d, sk_buf *out, uint32_t id, uint32_t assoc_id,
                           uint8_t priority, uint8_t flags, const struct sk_spdy_header *h,
                           size_t n, sk_err *err)
{
    uint8_t fixed[10];
    id_bytes(fixed, id);
    id_bytes(fixed + 4, assoc_id);
    fixed[8] = (uint8_t)((priority & 7) << 5);
    fixed[9] = 0;
    return put_with_headers(d, out, SK_SPDY_SYN_STREAM, flags, fixed, sizeof fixed, h, n, err);
}

int sk_spdy_put_syn_reply(sk_spdy_deflater *d, sk_buf *out, uint32_t id, uint8_t flags,
                          const struct sk_spdy_header *h, size_t n, sk_err *err)
{
    uint8_t fixed[4];
    id_bytes(fixed, id);
    return put_with_headers(d, out, SK_SPDY_SYN_REPLY, flags, fixed, sizeof fixed, h, n, err);
}

int sk_spdy_put_headers(sk_spdy_deflater *d, sk_buf *out, uint32_t id, uint8_t flags,
                        const struct sk_spdy_header *h, size_t n, sk_err *err)
{
    uint8_t fixed[4];
    id_bytes(fixed, id);
    return put_with_headers(d, out, SK_SPDY_HEADERS, flags, fixed, sizeof fixed, h, n, err);
}

void sk_spdy_put_data(sk_buf *out, uint32_t id, uint8_t flags, const void *data, size_t len)
{
    uint8_t b[8];
    id_bytes(b, id);
    b[4] = flags;
    b[5] = (uint8_t)(len >> 16);
    b[6] = (uint8_t)(len >> 8);
    b[7] = (uint8_t)len;
    sk_buf_add(out, b, 8);
    if (len) sk_buf_add(out, data, len);
}

void sk_spdy_put_rst_stream(sk_buf *out, uint32_t id, uint32_t status)
{
    put_ctrl_head(out, SK_SPDY_RST_STREAM, 0, 8);
    put32(out, id & 0x7fffffff);
    put32(out, status);
}

void sk_spdy_put_ping(sk_buf *out, uint32_t ping_id)
{
    put_ctrl_head(out, SK_SPDY_PING, 0, 4);
    put32(out, ping_id);
}

void sk_spdy_put_goaway(sk_buf *out, uint32_t last_good_id, uint32_t status)
{
    put_ctrl_head(out, SK_SPDY_GOAWAY, 0, 8);
    put32(out, last_good_id & 0x7fffffff);
    put32(out, status);
}

void sk_spdy_put_window_update(sk_buf *out, uint32_t id, uint32_t delta)
{
    put_ctrl_head(out, SK_SPDY_WINDOW_UPDATE, 0, 8);
    put32(out, id & 0x7fffffff);
    put32(out, delta & 0x7fffffff);
}

void sk_spdy_put_settings1(sk_buf *out, uint8_t flags, uint32_t id, uint32_t value)
{
    put_ctrl_head(out, SK_SPDY_SETTINGS, 0, 12);
    put32(out, 1);
    put32(out, (uint32_t)flags << 24 | (id & 0xffffff));
    put32(out, value);
}
