/* SPDY/3.1 incremental frame parser with header-block decompression. */
#include "kubelet/spdy.h"

#include <string.h>
#include <zlib.h>

enum pstate { ST_HEAD, ST_CTRL, ST_DATA, ST_SKIP, ST_DEAD };

struct sk_spdy_parser {
    enum pstate st;
    uint8_t head[8];
    size_t head_len;
    /* the frame being read */
    uint16_t type;
    uint8_t flags;
    uint32_t len, remaining, stream_id;
    uint8_t *cbuf;                 /* control payload, SK_SPDY_MAX_CTRL_LEN bytes */
    z_stream zin;
    uint8_t *hbuf;                 /* decompressed block, cap + 1 to detect overflow */
    char *strs;                    /* NUL-terminated header names and values */
    struct sk_spdy_header hdrs[SK_SPDY_MAX_HEADERS];
};

static uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static int proto_err(sk_err *err, const char *what)
{
    return sk_err_set(err, SK_EBADREQUEST, "spdy: %s", what);
}

sk_spdy_parser *sk_spdy_parser_new(sk_err *err)
{
    sk_spdy_parser *p = sk_calloc(1, sizeof *p);
    if (inflateInit(&p->zin) != Z_OK) {
        free(p);
        sk_err_set(err, SK_EINTERNAL, "spdy: inflateInit failed");
        return NULL;
    }
    p->cbuf = sk_malloc(SK_SPDY_MAX_CTRL_LEN);
    p->hbuf = sk_malloc(SK_SPDY_MAX_HEADER_BLOCK + 1);
    p->strs = sk_malloc(SK_SPDY_MAX_HEADER_BLOCK + 1);
    return p;
}

void sk_spdy_parser_free(sk_spdy_parser *p)
{
    if (!p) return;
    inflateEnd(&p->zin);
    free(p->cbuf);
    free(p->hbuf);
    free(p->strs);
    free(p);
}

/* Inflates one header block through the connection's shared context. The
 * sender ends every block with a sync flush, so consuming all input yields
 * exactly the block; anything left inside zlib would desynchronise every
 * later block, hence the strict size checks. */
static int inflate_block(sk_spdy_parser *p, const uint8_t *in, size_t n, size_t *out_len,
                         sk_err *err)
{
    if (n == 0) return proto_err(err, "empty compressed header block");
    p->zin.next_in = (Bytef *)in;
    p->zin.avail_in = (uInt)n;
    p->zin.next_out = p->hbuf;
    p->zin.avail_out = SK_SPDY_MAX_HEADER_BLOCK + 1;
    for (int guard = 0; guard < 64; guard++) {
        int rc = inflate(&p->zin, Z_SYNC_FLUSH);
        size_t produced = SK_SPDY_MAX_HEADER_BLOCK + 1 - p->zin.avail_out;
        if (produced > SK_SPDY_MAX_HEADER_BLOCK)
            return proto_err(err, "header block too large");
        if (rc == Z_NEED_DICT) {
            size_t dl;
            const uint8_t *d = sk_spdy_dictionary(&dl);
            if (inflateSetDictionary(&p->zin, d, (uInt)dl) != Z_OK)
                return proto_err(err, "header block needs an unknown zlib dictionary");
            continue;
        }
        if (rc == Z_STREAM_END) return proto_err(err, "header compression stream ended");
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return sk_err_set(err, SK_EBADREQUEST, "spdy: header block: %s",
                              p->zin.msg ? p->zin.msg : "zlib error");
        if (p->zin.avail_in == 0) {
            *out_len = produced;
            return 0;
        }
        if (rc == Z_BUF_ERROR) return proto_err(err, "header block: no progress");
    }
    return proto_err(err, "header block: inflate loops");
}

/* Decodes an uncompressed block into p->hdrs / p->strs. */
static int parse_block(sk_spdy_parser *p, const uint8_t *b, size_t n, size_t *n_hdrs,
                       sk_err *err)
{
    if (n < 4) return proto_err(err, "truncated header block");
    uint32_t count = be32(b);
    if (count > SK_SPDY_MAX_HEADERS) return proto_err(err, "too many headers");
    size_t pos = 4;
    char *w = p->strs;
    for (uint32_t i = 0; i < count; i++) {
        const char *s[2];
        size_t l[2];
        for (int k = 0; k < 2; k++) {
            if (n - pos < 4) return proto_err(err, "truncated header block");
            size_t sl = be32(b + pos);
            pos += 4;
            if (sl > n - pos) return proto_err(err, "truncated header block");
            if (k == 0 && sl == 0) return proto_err(err, "empty header name");
            for (size_t j = 0; j < sl; j++) {
                char c = (char)b[pos + j];
                /* spdystream lowercases names too; values stay as sent */
                w[j] = (k == 0 && c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
            }
            w[sl] = '\0';
            s[k] = w;
            l[k] = sl;
            w += sl + 1;
            pos += sl;
        }
        for (uint32_t j = 0; j < i; j++)
            if (p->hdrs[j].name_len == l[0] && !memcmp(p->hdrs[j].name, s[0], l[0]))
                return proto_err(err, "duplicate header name");
        p->hdrs[i] = (struct sk_spdy_header){s[0], s[1], l[0], l[1]};
    }
    if (pos != n) return proto_err(err, "trailing bytes after header block");
    *n_hdrs = count;
    return 0;
}

static int read_headers(sk_spdy_parser *p, const uint8_t *in, size_t n,
                        struct sk_spdy_frame *f, sk_err *err)
{
    size_t blen;
    if (inflate_block(p, in, n, &blen, err) < 0) return -1;
    if (parse_block(p, p->hbuf, blen, &f->n_headers, err) < 0) return -1;
    f->headers = p->hdrs;
    return 0;
}

/* Length rules per known control type, checked before buffering. */
static int check_ctrl_len(uint16_t type, uint32_t len, sk_err *err)
{
    bool ok = true;
    switch (type) {
    case SK_SPDY_SYN_STREAM: ok = len >= 10; break;
    case SK_SPDY_SYN_REPLY:
    case SK_SPDY_HEADERS: ok = len >= 4; break;
    case SK_SPDY_RST_STREAM:
    case SK_SPDY_GOAWAY:
    case SK_SPDY_WINDOW_UPDATE: ok = len == 8; break;
    case SK_SPDY_PING: ok = len == 4; break;
    case SK_SPDY_SETTINGS: ok = len >= 4 && (len - 4) % 8 == 0; break;
    default: return 0; /* unknown types are skipped, whatever their length */
    }
    if (!ok) return sk_err_set(err, SK_EBADREQUEST, "spdy: bad length %u for control frame type %u",
                               len, type);
    if (len > SK_SPDY_MAX_CTRL_LEN)
        return sk_err_set(err, SK_EBADREQUEST, "spdy: control frame of %u bytes is too large", len);
    return 0;
}

static bool known_type(uint16_t t)
{
    return t >= SK_SPDY_SYN_STREAM && t <= SK_SPDY_WINDOW_UPDATE && t != 5;
}

static int decode_ctrl(sk_spdy_parser *p, struct sk_spdy_frame *f, sk_err *err)
{
    const uint8_t *b = p->cbuf;
    size_t n = p->len;
    switch (p->type) {
    case SK_SPDY_SYN_STREAM:
        f->stream_id = be32(b) & 0x7fffffff;
        f->assoc_id = be32(b + 4) & 0x7fffffff;
        f->priority = b[8] >> 5;
        f->slot = b[9];
        if (read_headers(p, b + 10, n - 10, f, err) < 0) return -1;
        break;
    case SK_SPDY_SYN_REPLY:
    case SK_SPDY_HEADERS:
        f->stream_id = be32(b) & 0x7fffffff;
        if (read_headers(p, b + 4, n - 4, f, err) < 0) return -1;
        break;
    case SK_SPDY_RST_STREAM:
        f->stream_id = be32(b) & 0x7fffffff;
        f->status = be32(b + 4);
        if (f->status == 0) return proto_err(err, "RST_STREAM with status 0");
        break;
    case SK_SPDY_SETTINGS:
        f->n_settings = be32(b);
        if (f->n_settings != (n - 4) / 8) return proto_err(err, "SETTINGS count mismatch");
        f->settings = b + 4;
        break;
    case SK_SPDY_PING:
        f->ping_id = be32(b);
        break;
    case SK_SPDY_GOAWAY:
        f->last_good_id = be32(b) & 0x7fffffff;
        f->status = be32(b + 4);
        break;
    case SK_SPDY_WINDOW_UPDATE:
        f->stream_id = be32(b) & 0x7fffffff;
        f->delta = be32(b + 4) & 0x7fffffff;
        break;
    }
    bool needs_id = p->type != SK_SPDY_SETTINGS && p->type != SK_SPDY_PING &&
                    p->type != SK_SPDY_GOAWAY && p->type != SK_SPDY_WINDOW_UPDATE;
    if (needs_id && f->stream_id == 0) return proto_err(err, "control frame for stream 0");
    return 0;
}

/* The 8-byte frame header is complete: set up the body state. */
static int start_frame(sk_spdy_parser *p, sk_spdy_frame_fn fn, void *ud, sk_err *err)
{
    const uint8_t *h = p->head;
    p->head_len = 0;
    p->flags = h[4];
    p->len = (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
    p->remaining = p->len;
    if (h[0] & 0x80) {
        uint16_t version = (uint16_t)((h[0] & 0x7f) << 8 | h[1]);
        if (version != 3)
            return sk_err_set(err, SK_EBADREQUEST, "spdy: unsupported version %u", version);
        p->type = (uint16_t)(h[2] << 8 | h[3]);
        if (check_ctrl_len(p->type, p->len, err) < 0) return -1;
        p->st = known_type(p->type) ? ST_CTRL : ST_SKIP;
        if (p->st == ST_SKIP && p->len == 0) p->st = ST_HEAD;
        return 0;
    }
    p->type = SK_SPDY_DATA;
    p->stream_id = be32(h) & 0x7fffffff;
    if (p->stream_id == 0) return proto_err(err, "data frame for stream 0");
    if (p->len > 0) {
        p->st = ST_DATA;
        return 0;
    }
    p->st = ST_HEAD;
    struct sk_spdy_frame f = {.type = SK_SPDY_DATA, .flags = p->flags,
                              .stream_id = p->stream_id, .frame_end = true};
    return fn(ud, &f, err);
}

static size_t take(size_t want, size_t have)
{
    return want < have ? want : have;
}

int sk_spdy_parser_feed(sk_spdy_parser *p, const void *buf, size_t len, sk_spdy_frame_fn fn,
                        void *ud, sk_err *err)
{
    const uint8_t *in = buf;
    if (p->st == ST_DEAD) return sk_err_set(err, SK_EBADREQUEST, "spdy: connection already failed");
    while (len > 0) {
        int rc = 0;
        size_t n;
        switch (p->st) {
        case ST_HEAD:
            n = take(8 - p->head_len, len);
            memcpy(p->head + p->head_len, in, n);
            p->head_len += n;
            if (p->head_len == 8) rc = start_frame(p, fn, ud, err);
            break;
        case ST_CTRL:
            n = take(p->remaining, len);
            memcpy(p->cbuf + (p->len - p->remaining), in, n);
            p->remaining -= (uint32_t)n;
            if (p->remaining == 0) {
                struct sk_spdy_frame f = {.type = p->type, .flags = p->flags};
                p->st = ST_HEAD;
                rc = decode_ctrl(p, &f, err);
                if (rc == 0) rc = fn(ud, &f, err);
            }
            break;
        case ST_DATA: {
            n = take(p->remaining, len);
            p->remaining -= (uint32_t)n;
            struct sk_spdy_frame f = {.type = SK_SPDY_DATA, .flags = p->flags,
                                      .stream_id = p->stream_id, .data = in, .len = n,
                                      .frame_end = p->remaining == 0};
            if (p->remaining == 0) p->st = ST_HEAD;
            rc = fn(ud, &f, err);
            break;
        }
        case ST_SKIP:
            n = take(p->remaining, len);
            p->remaining -= (uint32_t)n;
            if (p->remaining == 0) p->st = ST_HEAD;
            break;
        default:
            return -1;
        }
        if (rc < 0) {
            p->st = ST_DEAD;
            return -1;
        }
        in += n;
        len -= n;
    }
    return 0;
}

const char *sk_spdy_frame_header(const struct sk_spdy_frame *f, const char *name)
{
    for (size_t i = 0; i < f->n_headers; i++)
        if (!strcmp(f->headers[i].name, name)) return f->headers[i].value;
    return NULL;
}

void sk_spdy_setting(const struct sk_spdy_frame *f, size_t i, uint8_t *flags, uint32_t *id,
                     uint32_t *value)
{
    const uint8_t *e = f->settings + 8 * i;
    *flags = e[0];
    *id = (uint32_t)e[1] << 16 | (uint32_t)e[2] << 8 | e[3];
    *value = be32(e + 4);
}
