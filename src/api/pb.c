/* Protobuf -> JSON for request bodies sent by typed clients (kubectl
 * `create deployment`, `auth can-i`, ...), driven by the sk_schema tables.
 *
 * Design: one recursive descent over the wire format. Each message is
 * decoded into a fresh JSON object; field numbers not in the table are
 * skipped. gogo-proto writes every non-pointer field, including zero values
 * (`12 00` = empty generateName), so zero values of non-pointer fields are
 * treated as unset and left out, exactly as `omitempty` JSON would. Pointer
 * fields (SK_FL_PTR) keep their zeros (`replicas: 0`, `emptyDir: {}`).
 *
 * Everything here reads untrusted bytes: lengths are checked before every
 * read, nesting is capped at PB_MAX_DEPTH and the body at PB_MAX_BODY.
 * Groups (wire types 3/4) are never used by Kubernetes and are rejected.
 *
 * Extension of the schema.h conventions: a field flagged both SK_FL_MAP and
 * SK_FL_REPEATED is a map of lists (SubjectAccessReviewSpec.extra, Go
 * map[string]ExtraValue); on the wire each value is a message
 * {1 repeated element}.
 *
 * meta/v1 Duration is {1 int64 nanoseconds} on the wire (not a string as
 * schema.h's summary says) and becomes Go's duration text ("1m30s"). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api/schema.h"
#include "api/schema_types.h"

#define PB_MAX_DEPTH 64
#define PB_MAX_BODY ((size_t)32 << 20)
/* Years 0001..9999, the range RFC 3339 can spell (Go refuses others too). */
#define PB_MIN_SECONDS (-62135596800LL)
#define PB_MAX_SECONDS 253402300799LL

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

struct pb_dec {
    char why[256]; /* first failure, becomes the error detail */
};

/* One field as read off the wire: varint/fixed value in v, or a slice. */
struct pb_val {
    uint32_t num;
    int wt;
    uint64_t v;
    const uint8_t *data;
    size_t len;
};

struct pb_rd {
    const uint8_t *p, *end;
};

static int pb_fail(struct pb_dec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int pb_fail(struct pb_dec *d, const char *fmt, ...)
{
    if (!d->why[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->why, sizeof d->why, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int rd_varint(struct pb_rd *r, uint64_t *out)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (r->p >= r->end) return -1;
        uint8_t b = *r->p++;
        if (shift < 64) x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = x;
            return 0;
        }
    }
    return -1; /* more than 10 bytes */
}

static uint64_t rd_le(const uint8_t *p, int n)
{
    uint64_t x = 0;
    for (int i = n - 1; i >= 0; i--) x = (x << 8) | p[i];
    return x;
}

/* Reads one key and its value; skipping an unknown field is just calling
 * this and ignoring the result. */
static int rd_field(struct pb_dec *d, struct pb_rd *r, struct pb_val *f)
{
    uint64_t key;
    if (rd_varint(r, &key) < 0) return pb_fail(d, "truncated or overlong varint in field key");
    f->num = (uint32_t)(key >> 3);
    f->wt = (int)(key & 7);
    f->v = 0;
    f->data = NULL;
    f->len = 0;
    if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff)
        return pb_fail(d, "invalid field number %llu", (unsigned long long)(key >> 3));
    size_t avail = (size_t)(r->end - r->p);
    switch (f->wt) {
    case WT_VARINT:
        if (rd_varint(r, &f->v) < 0) return pb_fail(d, "field %u: truncated varint", f->num);
        return 0;
    case WT_I64:
    case WT_I32: {
        size_t n = f->wt == WT_I64 ? 8 : 4;
        if (avail < n) return pb_fail(d, "field %u: truncated fixed-size value", f->num);
        f->data = r->p;
        f->len = n;
        f->v = rd_le(r->p, (int)n);
        r->p += n;
        return 0;
    }
    case WT_LEN: {
        uint64_t n;
        if (rd_varint(r, &n) < 0) return pb_fail(d, "field %u: truncated length", f->num);
        avail = (size_t)(r->end - r->p);
        if (n > avail)
            return pb_fail(d, "field %u: length %llu past end of buffer", f->num,
                           (unsigned long long)n);
        f->data = r->p;
        f->len = (size_t)n;
        r->p += n;
        return 0;
    }
    default:
        return pb_fail(d, "field %u: unsupported wire type %d", f->num, f->wt);
    }
}

/* Fields 1..3 of a small helper message (Time, IntOrString, Quantity...),
 * last occurrence wins as in protobuf; others skipped. */
struct pb_small {
    bool has[4];
    struct pb_val v[4];
};

static int rd_small(struct pb_dec *d, const uint8_t *p, size_t n, struct pb_small *s)
{
    memset(s, 0, sizeof *s);
    struct pb_rd r = {p, p + n};
    while (r.p < r.end) {
        struct pb_val f;
        if (rd_field(d, &r, &f) < 0) return -1;
        if (f.num <= 3) {
            s->has[f.num] = true;
            s->v[f.num] = f;
        }
    }
    return 0;
}

static int small_wt(struct pb_dec *d, const struct pb_small *s, int num, int wt, const char *what)
{
    if (s->has[num] && s->v[num].wt != wt)
        return pb_fail(d, "%s: wrong wire type %d for field %d", what, s->v[num].wt, num);
    return 0;
}

static json_t *pb_string(struct pb_dec *d, const uint8_t *p, size_t n, const char *name)
{
    json_t *s = json_stringn(n ? (const char *)p : "", n);
    if (!s) pb_fail(d, "field %s: string is not valid UTF-8", name);
    return s;
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Standard base64 with padding, as Go's encoding/json writes []byte.
 * (sk_api links no crypto library, hence this small encoder.) */
static json_t *pb_base64(const uint8_t *p, size_t n)
{
    size_t out_n = 4 * ((n + 2) / 3);
    char *out = sk_malloc(out_n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)p[i] << 16;
        if (i + 1 < n) w |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n) w |= p[i + 2];
        out[o++] = b64_alphabet[(w >> 18) & 63];
        out[o++] = b64_alphabet[(w >> 12) & 63];
        out[o++] = i + 1 < n ? b64_alphabet[(w >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? b64_alphabet[w & 63] : '=';
    }
    json_t *s = json_stringn(out, o);
    free(out);
    return s;
}

static json_t *dec_time(struct pb_dec *d, const struct pb_val *v, bool micro, const char *name,
                        bool *zero)
{
    struct pb_small s;
    if (rd_small(d, v->data, v->len, &s) < 0 || small_wt(d, &s, 1, WT_VARINT, name) < 0 ||
        small_wt(d, &s, 2, WT_VARINT, name) < 0)
        return NULL;
    int64_t sec = (int64_t)s.v[1].v;
    int32_t nanos = (int32_t)s.v[2].v;
    *zero = sec == 0 && nanos == 0;
    if (sec < PB_MIN_SECONDS || sec > PB_MAX_SECONDS || nanos < 0 || nanos > 999999999) {
        pb_fail(d, "field %s: timestamp out of range", name);
        return NULL;
    }
    char buf[64];
    sk_time_format(sec, buf, sizeof buf);
    if (micro) {
        /* "…:05Z" -> "…:05.123456Z" (metav1.MicroTime's RFC3339Micro). */
        size_t n = strlen(buf);
        if (n > 0) buf[n - 1] = '\0';
        char tmp[80];
        snprintf(tmp, sizeof tmp, "%s.%06dZ", buf, nanos / 1000);
        return json_string(tmp);
    }
    return json_string(buf);
}

static json_t *dec_intorstr(struct pb_dec *d, const struct pb_val *v, const char *name, bool *zero)
{
    struct pb_small s;
    if (rd_small(d, v->data, v->len, &s) < 0 || small_wt(d, &s, 1, WT_VARINT, name) < 0 ||
        small_wt(d, &s, 2, WT_VARINT, name) < 0 || small_wt(d, &s, 3, WT_LEN, name) < 0)
        return NULL;
    if (s.v[1].v == 0) {
        int32_t i = (int32_t)s.v[2].v;
        *zero = i == 0;
        return json_integer(i);
    }
    if (s.v[1].v == 1) {
        *zero = s.v[3].len == 0;
        return pb_string(d, s.v[3].data, s.v[3].len, name);
    }
    pb_fail(d, "field %s: invalid IntOrString type %llu", name, (unsigned long long)s.v[1].v);
    return NULL;
}

/* Quantity: {1 string}. */
static json_t *dec_strmsg(struct pb_dec *d, const struct pb_val *v, const char *name, bool *zero)
{
    struct pb_small s;
    if (rd_small(d, v->data, v->len, &s) < 0 || small_wt(d, &s, 1, WT_LEN, name) < 0) return NULL;
    *zero = s.v[1].len == 0;
    return pb_string(d, s.v[1].data, s.v[1].len, name);
}

/* Fraction digits of rem (out of `digits`), trailing zeros dropped. */
static void add_fraction(char *out, size_t n, uint64_t rem, int digits)
{
    char f[16];
    snprintf(f, sizeof f, "%0*llu", digits, (unsigned long long)rem);
    for (int i = digits - 1; i >= 0 && f[i] == '0'; i--) f[i] = '\0';
    if (f[0]) {
        size_t l = strlen(out);
        snprintf(out + l, n - l, ".%s", f);
    }
}

/* time.Duration.String(): "1h2m3.5s", "1.5ms", "0s". */
static void go_duration(int64_t d, char *out, size_t n)
{
    uint64_t u = d < 0 ? (uint64_t)0 - (uint64_t)d : (uint64_t)d;
    const char *sign = d < 0 ? "-" : "";
    if (u == 0) {
        snprintf(out, n, "0s");
    } else if (u < 1000) {
        snprintf(out, n, "%s%lluns", sign, (unsigned long long)u);
    } else if (u < 1000000000) {
        bool micro = u < 1000000;
        uint64_t unit = micro ? 1000 : 1000000;
        snprintf(out, n, "%s%llu", sign, (unsigned long long)(u / unit));
        add_fraction(out, n, u % unit, micro ? 3 : 6);
        size_t l = strlen(out);
        snprintf(out + l, n - l, "%s", micro ? "\xc2\xb5s" : "ms");
    } else {
        uint64_t secs = u / 1000000000, h = secs / 3600, m = secs / 60 % 60;
        size_t l;
        snprintf(out, n, "%s", sign);
        l = strlen(out);
        if (h) snprintf(out + l, n - l, "%lluh", (unsigned long long)h);
        l = strlen(out);
        if (secs >= 60) snprintf(out + l, n - l, "%llum", (unsigned long long)m);
        l = strlen(out);
        snprintf(out + l, n - l, "%llu", (unsigned long long)(secs % 60));
        add_fraction(out, n, u % 1000000000, 9);
        l = strlen(out);
        snprintf(out + l, n - l, "s");
    }
}

/* meta.v1.Duration: {1 int64 nanoseconds} -> Go duration string. */
static json_t *dec_duration(struct pb_dec *d, const struct pb_val *v, const char *name, bool *zero)
{
    struct pb_small s;
    if (rd_small(d, v->data, v->len, &s) < 0 || small_wt(d, &s, 1, WT_VARINT, name) < 0)
        return NULL;
    int64_t ns = (int64_t)s.v[1].v;
    *zero = ns == 0;
    char buf[64];
    go_duration(ns, buf, sizeof buf);
    return json_string(buf);
}

/* RawExtension and FieldsV1: {1 raw bytes}, which hold JSON here. */
static json_t *dec_rawjson(struct pb_dec *d, const struct pb_val *v, const char *name, bool *zero)
{
    struct pb_small s;
    if (rd_small(d, v->data, v->len, &s) < 0 || small_wt(d, &s, 1, WT_LEN, name) < 0) return NULL;
    if (s.v[1].len == 0) {
        *zero = true;
        return json_null();
    }
    json_error_t je;
    json_t *j = json_loadb((const char *)s.v[1].data, s.v[1].len, JSON_DECODE_ANY, &je);
    if (!j) pb_fail(d, "field %s: embedded JSON: %s", name, je.text);
    return j;
}

static json_t *dec_msg(struct pb_dec *d, const struct sk_type *t, const uint8_t *p, size_t n,
                       int depth);

static int expected_wt(enum sk_ftype ft)
{
    switch (ft) {
    case SK_F_INT:
    case SK_F_BOOL: return WT_VARINT;
    case SK_F_DOUBLE: return WT_I64;
    default: return WT_LEN;
    }
}

/* Decodes one value of element type f->type; *zero tells whether it is
 * the Go zero value (for omission of non-pointer fields). */
static json_t *dec_value(struct pb_dec *d, const struct sk_field *f, const struct pb_val *v,
                         int depth, bool *zero)
{
    *zero = false;
    if (v->wt != expected_wt(f->type)) {
        pb_fail(d, "field %s: wrong wire type %d", f->name, v->wt);
        return NULL;
    }
    switch (f->type) {
    case SK_F_STRING:
        *zero = v->len == 0;
        return pb_string(d, v->data, v->len, f->name);
    case SK_F_INT: {
        int64_t i = (f->flags & SK_FL_INT64) ? (int64_t)v->v : (int64_t)(int32_t)v->v;
        *zero = i == 0;
        return json_integer(i);
    }
    case SK_F_BOOL:
        *zero = v->v == 0;
        return json_boolean(v->v != 0);
    case SK_F_DOUBLE: {
        double x;
        memcpy(&x, &v->v, sizeof x);
        *zero = x == 0;
        json_t *j = json_real(x);
        if (!j) pb_fail(d, "field %s: non-finite number", f->name);
        return j;
    }
    case SK_F_BYTES:
        *zero = v->len == 0;
        return pb_base64(v->data, v->len);
    case SK_F_MSG: {
        if (!f->msg) {
            pb_fail(d, "field %s: no schema", f->name);
            return NULL;
        }
        json_t *o = dec_msg(d, f->msg, v->data, v->len, depth + 1);
        *zero = o && json_object_size(o) == 0;
        return o;
    }
    case SK_F_QUANTITY: return dec_strmsg(d, v, f->name, zero);
    case SK_F_DURATION: return dec_duration(d, v, f->name, zero);
    case SK_F_TIME: return dec_time(d, v, false, f->name, zero);
    case SK_F_MICROTIME: return dec_time(d, v, true, f->name, zero);
    case SK_F_INTORSTR: return dec_intorstr(d, v, f->name, zero);
    case SK_F_RAW:
    case SK_F_FIELDSV1: return dec_rawjson(d, v, f->name, zero);
    }
    pb_fail(d, "field %s: bad schema type %d", f->name, (int)f->type);
    return NULL;
}

static bool packable(enum sk_ftype ft)
{
    return ft == SK_F_INT || ft == SK_F_BOOL || ft == SK_F_DOUBLE;
}

/* Elements of a packed repeated scalar: the payload is a run of varints or
 * fixed64 values without keys. */
static int dec_packed(struct pb_dec *d, const struct sk_field *f, const struct pb_val *v,
                      json_t *arr)
{
    struct pb_rd r = {v->data, v->data + v->len};
    while (r.p < r.end) {
        struct pb_val e = {v->num, expected_wt(f->type), 0, NULL, 0};
        if (e.wt == WT_I64) {
            if (r.end - r.p < 8) return pb_fail(d, "field %s: truncated packed value", f->name);
            e.v = rd_le(r.p, 8);
            r.p += 8;
        } else if (rd_varint(&r, &e.v) < 0) {
            return pb_fail(d, "field %s: truncated packed varint", f->name);
        }
        bool zero;
        json_t *j = dec_value(d, f, &e, 0, &zero);
        if (!j) return -1;
        json_array_append_new(arr, j);
    }
    return 0;
}

static json_t *child(json_t *obj, const char *name, bool array)
{
    json_t *c = json_object_get(obj, name);
    if (c && (array ? json_is_array(c) : json_is_object(c))) return c;
    c = array ? json_array() : json_object();
    json_object_set_new(obj, name, c);
    return c;
}

static int dec_repeated(struct pb_dec *d, const struct sk_field *f, const struct pb_val *v,
                        json_t *obj, int depth)
{
    json_t *arr = child(obj, f->name, true);
    if (packable(f->type) && v->wt == WT_LEN) return dec_packed(d, f, v, arr);
    bool zero;
    json_t *j = dec_value(d, f, v, depth, &zero);
    if (!j) return -1;
    json_array_append_new(arr, j);
    return 0;
}

/* A value absent from a map entry is the zero value of its type. */
static json_t *map_value(struct pb_dec *d, const struct sk_field *f, const struct pb_small *s,
                         int depth)
{
    struct pb_val v = {2, expected_wt(f->type), 0, (const uint8_t *)"", 0};
    if (s->has[2]) v = s->v[2];
    bool zero;
    if (!(f->flags & SK_FL_REPEATED)) return dec_value(d, f, &v, depth + 1, &zero);

    /* map of lists: value is {1 repeated element} */
    if (v.wt != WT_LEN) {
        pb_fail(d, "field %s: wrong wire type %d for map value", f->name, v.wt);
        return NULL;
    }
    json_t *arr = json_array();
    struct pb_rd r = {v.data, v.data + v.len};
    while (r.p < r.end) {
        struct pb_val e;
        json_t *j = NULL;
        if (rd_field(d, &r, &e) < 0) goto fail;
        if (e.num != 1) continue;
        if (!(j = dec_value(d, f, &e, depth + 1, &zero))) goto fail;
        json_array_append_new(arr, j);
    }
    return arr;
fail:
    json_decref(arr);
    return NULL;
}

static int dec_map_entry(struct pb_dec *d, const struct sk_field *f, const struct pb_val *v,
                         json_t *obj, int depth)
{
    if (v->wt != WT_LEN) return pb_fail(d, "field %s: wrong wire type %d for map", f->name, v->wt);
    if (depth + 1 > PB_MAX_DEPTH) return pb_fail(d, "nesting deeper than %d", PB_MAX_DEPTH);
    struct pb_small s;
    if (rd_small(d, v->data, v->len, &s) < 0 || small_wt(d, &s, 1, WT_LEN, f->name) < 0)
        return -1;
    char *key = sk_strndup(s.has[1] ? (const char *)s.v[1].data : "", s.v[1].len);
    if (strlen(key) != s.v[1].len) {
        free(key);
        return pb_fail(d, "field %s: map key contains NUL", f->name);
    }
    json_t *val = map_value(d, f, &s, depth);
    if (!val) {
        free(key);
        return -1;
    }
    json_t *m = child(obj, f->name, false);
    int rc = json_object_set_new(m, key, val);
    free(key);
    return rc < 0 ? pb_fail(d, "field %s: map key is not valid UTF-8", f->name) : 0;
}

static int dec_single(struct pb_dec *d, const struct sk_field *f, const struct pb_val *v,
                      json_t *obj, int depth)
{
    bool zero;
    json_t *j = dec_value(d, f, v, depth, &zero);
    if (!j) return -1;
    /* Time{0,0} and empty raw JSON are null in Go's JSON even behind a
     * pointer; other zeros only mean "unset" for non-pointer fields. */
    bool drop = zero && (!(f->flags & SK_FL_PTR) || json_is_null(j));
    if (drop) {
        json_decref(j);
        json_object_del(obj, f->name);
        return 0;
    }
    json_t *old = json_object_get(obj, f->name);
    if (f->type == SK_F_MSG && json_is_object(old)) {
        /* protobuf merges repeated occurrences of a message field */
        json_object_update(old, j);
        json_decref(j);
        return 0;
    }
    json_object_set_new(obj, f->name, j);
    return 0;
}

/* Go-embedded structs that protobuf nests (Volume.volumeSource): the
 * nested fields land directly in the parent JSON object. */
static int dec_inline(struct pb_dec *d, const struct sk_field *f, const struct pb_val *v,
                      json_t *obj, int depth)
{
    bool zero;
    json_t *j = dec_value(d, f, v, depth, &zero);
    if (!j) return -1;
    json_object_update(obj, j);
    json_decref(j);
    return 0;
}

static const struct sk_field *field_by_num(const struct sk_type *t, uint32_t num)
{
    for (size_t i = 0; i < t->nfields; i++)
        if (t->fields[i].num > 0 && (uint32_t)t->fields[i].num == num) return &t->fields[i];
    return NULL;
}

static json_t *dec_msg(struct pb_dec *d, const struct sk_type *t, const uint8_t *p, size_t n,
                       int depth)
{
    if (depth > PB_MAX_DEPTH) {
        pb_fail(d, "nesting deeper than %d", PB_MAX_DEPTH);
        return NULL;
    }
    json_t *obj = json_object();
    struct pb_rd r = {p, p + n};
    while (r.p < r.end) {
        struct pb_val v;
        if (rd_field(d, &r, &v) < 0) goto fail;
        const struct sk_field *f = field_by_num(t, v.num);
        if (!f) continue;
        int rc;
        if (SK_FIELD_IS_INLINE(f))
            rc = dec_inline(d, f, &v, obj, depth);
        else if (f->flags & SK_FL_MAP)
            rc = dec_map_entry(d, f, &v, obj, depth);
        else if (f->flags & SK_FL_REPEATED)
            rc = dec_repeated(d, f, &v, obj, depth);
        else
            rc = dec_single(d, f, &v, obj, depth);
        if (rc < 0) goto fail;
    }
    return obj;
fail:
    json_decref(obj);
    return NULL;
}

json_t *sk_pb_decode(const struct sk_type *t, const uint8_t *buf, size_t len, sk_err *err)
{
    if (!t) {
        sk_err_set(err, SK_EINTERNAL, "no protobuf schema for this type");
        return NULL;
    }
    if (len > PB_MAX_BODY) {
        sk_err_set(err, SK_ETOOLARGE, "failed to decode protobuf body: %zu bytes is too large",
                   len);
        return NULL;
    }
    static const uint8_t empty[1];
    struct pb_dec d = {{0}};
    json_t *obj = dec_msg(&d, t, len ? buf : empty, len, 0);
    if (!obj) {
        sk_err_set(err, SK_EBADREQUEST, "failed to decode protobuf body: %s", d.why);
        return NULL;
    }
    if (!t->kind) return obj;
    /* Top-level kinds read like a JSON request: apiVersion and kind first. */
    json_t *out = json_object();
    char av[128];
    if (t->group && t->group[0])
        snprintf(av, sizeof av, "%s/%s", t->group, t->version);
    else
        snprintf(av, sizeof av, "%s", t->version ? t->version : "v1");
    json_object_set_new(out, "apiVersion", json_string(av));
    json_object_set_new(out, "kind", json_string(t->kind));
    json_object_update(out, obj);
    json_decref(obj);
    return out;
}

/* ---- envelope ----------------------------------------------------------- */

static int copy_out(struct pb_dec *d, const struct pb_val *v, char *out, size_t n, const char *what)
{
    if (!out || n == 0) return 0;
    if (v->len >= n) return pb_fail(d, "%s too long", what);
    if (v->len) memcpy(out, v->data, v->len);
    out[v->len] = '\0';
    if (strlen(out) != v->len) return pb_fail(d, "%s contains NUL", what);
    return 0;
}

static int unwrap_typemeta(struct pb_dec *d, const struct pb_val *tm, char *api_version,
                           size_t av_n, char *kind, size_t kind_n)
{
    struct pb_small s;
    if (tm->wt != WT_LEN) return pb_fail(d, "typeMeta: wrong wire type %d", tm->wt);
    if (rd_small(d, tm->data, tm->len, &s) < 0 || small_wt(d, &s, 1, WT_LEN, "apiVersion") < 0 ||
        small_wt(d, &s, 2, WT_LEN, "kind") < 0)
        return -1;
    if (copy_out(d, &s.v[1], api_version, av_n, "apiVersion") < 0) return -1;
    return copy_out(d, &s.v[2], kind, kind_n, "kind");
}

int sk_pb_unwrap(const uint8_t *body, size_t len, char *api_version, size_t av_n, char *kind,
                 size_t kind_n, const uint8_t **raw, size_t *raw_len, sk_err *err)
{
    static const uint8_t magic[4] = {'k', '8', 's', 0};
    struct pb_dec d = {{0}};
    if (api_version && av_n) api_version[0] = '\0';
    if (kind && kind_n) kind[0] = '\0';
    *raw = body;
    *raw_len = 0;
    if (!body || len < sizeof magic || memcmp(body, magic, sizeof magic) != 0)
        return sk_err_set(err, SK_EBADREQUEST,
                          "failed to decode protobuf body: missing \"k8s\\x00\" prefix");
    if (len > PB_MAX_BODY)
        return sk_err_set(err, SK_ETOOLARGE, "failed to decode protobuf body: too large");
    struct pb_rd r = {body + sizeof magic, body + len};
    *raw = r.end;
    while (r.p < r.end) {
        struct pb_val v;
        if (rd_field(&d, &r, &v) < 0) goto fail;
        if (v.num == 1) {
            if (unwrap_typemeta(&d, &v, api_version, av_n, kind, kind_n) < 0) goto fail;
        } else if (v.num == 2 || v.num == 3) {
            if (v.wt != WT_LEN) {
                pb_fail(&d, "envelope field %u: wrong wire type %d", v.num, v.wt);
                goto fail;
            }
            if (v.num == 2) {
                *raw = v.data;
                *raw_len = v.len;
            } else if (v.len) {
                return sk_err_set(err, SK_EMEDIATYPE,
                                  "failed to decode protobuf body: unsupported content "
                                  "encoding %.*s", (int)(v.len > 32 ? 32 : v.len),
                                  (const char *)v.data);
            }
        }
    }
    return 0;
fail:
    *raw = body;
    *raw_len = 0;
    return sk_err_set(err, SK_EBADREQUEST, "failed to decode protobuf body: %s", d.why);
}
