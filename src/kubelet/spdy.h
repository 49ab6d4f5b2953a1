/* SPDY/3.1 framing for port-forward (private to portfwd*.c, spdy*.c, their
 * tests and fuzzers).
 *
 * The subset kubectl (moby/spdystream) speaks: control frames SYN_STREAM,
 * SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE and
 * data frames. Header blocks are zlib streams primed with the SPDY/3
 * dictionary, one compression context per direction for the whole
 * connection, each block ended by a sync flush.
 *
 * The parser is incremental: feed it any slices of the byte stream and it
 * calls back once per control frame and once per piece of data-frame payload
 * as it arrives, so a 16 MiB data frame never sits in memory. Control frames
 * are buffered whole, capped at SK_SPDY_MAX_CTRL_LEN; decompressed header
 * blocks are capped too. Any error is fatal for the connection (a header
 * block that fails leaves the shared zlib context unusable).
 *
 * Not thread-safe: one parser and one deflater per connection, used by the
 * connection's thread. */
#ifndef SK_KUBELET_SPDY_H
#define SK_KUBELET_SPDY_H

#include "lib/lib.h"

enum sk_spdy_type {
    SK_SPDY_DATA = 0,
    SK_SPDY_SYN_STREAM = 1,
    SK_SPDY_SYN_REPLY = 2,
    SK_SPDY_RST_STREAM = 3,
    SK_SPDY_SETTINGS = 4,
    SK_SPDY_PING = 6,
    SK_SPDY_GOAWAY = 7,
    SK_SPDY_HEADERS = 8,
    SK_SPDY_WINDOW_UPDATE = 9,
};

#define SK_SPDY_FLAG_FIN 0x01
#define SK_SPDY_FLAG_UNIDIRECTIONAL 0x02

/* RST_STREAM status codes. */
enum {
    SK_SPDY_PROTOCOL_ERROR = 1,
    SK_SPDY_INVALID_STREAM = 2,
    SK_SPDY_REFUSED_STREAM = 3,
    SK_SPDY_CANCEL = 5,
    SK_SPDY_INTERNAL_ERROR = 6,
};

#define SK_SPDY_MAX_DATA_LEN 0xffffffu        /* 24-bit length field */
#define SK_SPDY_MAX_CTRL_LEN (256u * 1024)    /* our cap on a control frame */
#define SK_SPDY_MAX_HEADER_BLOCK (64u * 1024) /* decompressed */
#define SK_SPDY_MAX_HEADERS 64
#define SK_SPDY_INITIAL_WINDOW 65536

/* The SPDY/3 header dictionary (1423 bytes, adler32 0xe3c6a7c2). */
const uint8_t *sk_spdy_dictionary(size_t *len);

/* A header: both strings NUL-terminated. A value holding several values
 * joined by NUL (the SPDY encoding of repeated headers) reads as its first
 * value as a C string; value_len covers all of it. Names are lowercased. */
struct sk_spdy_header {
    const char *name, *value;
    size_t name_len, value_len;
};

/* One parser event; every pointer is valid only during the callback. */
struct sk_spdy_frame {
    uint16_t type;       /* enum sk_spdy_type */
    uint8_t flags;
    uint32_t stream_id;  /* DATA, SYN_*, RST_STREAM, HEADERS, WINDOW_UPDATE */
    /* DATA: one event per piece of payload (pieces follow the input slices);
     * frame_end marks the last piece. A FIN applies when frame_end is set. */
    const uint8_t *data;
    size_t len;
    bool frame_end;
    uint32_t assoc_id;   /* SYN_STREAM */
    uint8_t priority;    /* SYN_STREAM, 0..7 */
    uint8_t slot;        /* SYN_STREAM */
    uint32_t status;     /* RST_STREAM, GOAWAY */
    uint32_t ping_id;    /* PING */
    uint32_t last_good_id; /* GOAWAY */
    uint32_t delta;      /* WINDOW_UPDATE */
    const struct sk_spdy_header *headers; /* SYN_STREAM, SYN_REPLY, HEADERS */
    size_t n_headers;
    const uint8_t *settings; /* SETTINGS: n_settings entries of 8 raw bytes */
    size_t n_settings;
};

/* Returns 0 to go on, -1 (with err set) to stop the parser for good. */
typedef int (*sk_spdy_frame_fn)(void *ud, const struct sk_spdy_frame *f, sk_err *err);

typedef struct sk_spdy_parser sk_spdy_parser;

sk_spdy_parser *sk_spdy_parser_new(sk_err *err);
void sk_spdy_parser_free(sk_spdy_parser *p); /* NULL ok */
/* Consumes all of buf, calling fn for every complete control frame and
 * every piece of data payload. -1 with err on malformed input (the message
 * names the problem) or when fn fails; the parser then refuses more input. */
int sk_spdy_parser_feed(sk_spdy_parser *p, const void *buf, size_t len, sk_spdy_frame_fn fn,
                        void *ud, sk_err *err) SK_MUST_CHECK;
/* Value of header name (lowercase) in f, NULL if absent. */
const char *sk_spdy_frame_header(const struct sk_spdy_frame *f, const char *name);
/* Entry i (< f->n_settings) of a SETTINGS frame. */
void sk_spdy_setting(const struct sk_spdy_frame *f, size_t i, uint8_t *flags, uint32_t *id,
                     uint32_t *value);

/* ---- building frames (spdy_build.c) ---------------------------------------- */

/* The sending direction's header compressor. */
typedef struct sk_spdy_deflater sk_spdy_deflater;

sk_spdy_deflater *sk_spdy_deflater_new(sk_err *err);
void sk_spdy_deflater_free(sk_spdy_deflater *z); /* NULL ok */

/* Each appends one complete frame to out. Header names must be lowercase;
 * values are taken as C strings. Ids are 31-bit. */
int sk_spdy_put_syn_stream(sk_spdy_deflater *z, sk_buf *out, uint32_t id, uint32_t assoc_id,
                           uint8_t priority, uint8_t flags, const struct sk_spdy_header *h,
                           size_t n, sk_err *err) SK_MUST_CHECK;
int sk_spdy_put_syn_reply(sk_spdy_deflater *z, sk_buf *out, uint32_t id, uint8_t flags,
                          const struct sk_spdy_header *h, size_t n, sk_err *err) SK_MUST_CHECK;
int sk_spdy_put_headers(sk_spdy_deflater *z, sk_buf *out, uint32_t id, uint8_t flags,
                        const struct sk_spdy_header *h, size_t n, sk_err *err) SK_MUST_CHECK;
/* len must be <= SK_SPDY_MAX_DATA_LEN. */
void sk_spdy_put_data(sk_buf *out, uint32_t id, uint8_t flags, const void *data, size_t len);
void sk_spdy_put_rst_stream(sk_buf *out, uint32_t id, uint32_t status);
void sk_spdy_put_ping(sk_buf *out, uint32_t ping_id);
void sk_spdy_put_goaway(sk_buf *out, uint32_t last_good_id, uint32_t status);
void sk_spdy_put_window_update(sk_buf *out, uint32_t id, uint32_t delta);
/* One-entry SETTINGS frame. */
void sk_spdy_put_settings1(sk_buf *out, uint8_t flags, uint32_t id, uint32_t value);

#endif
