/* sk_schema: one table per API type describing its fields. The same table
 * drives the protobuf -> JSON decoder, strict unknown-field detection,
 * strategic-merge-patch list semantics and the OpenAPI v3 document
 * (kubectl apply/edit/explain).
 *
 * Field numbers and names are facts of the Kubernetes API (see
 * k8s.io/api/<group>/<version> and apimachinery meta/v1). Tables are
 * const data, safe to read from any thread. */
#ifndef SK_API_SCHEMA_H
#define SK_API_SCHEMA_H

#include "lib/lib.h"

enum sk_ftype {
    SK_F_STRING = 1, /* proto string; JSON string */
    SK_F_INT,        /* proto int32/int64 varint; JSON integer */
    SK_F_BOOL,       /* proto bool varint; JSON true/false */
    SK_F_DOUBLE,     /* proto fixed64 double; JSON number */
    SK_F_BYTES,      /* proto bytes; JSON base64 string (Secret.data) */
    SK_F_MSG,        /* nested message described by .msg */
    SK_F_QUANTITY,   /* resource.Quantity {1 string} -> JSON string "100m" */
    SK_F_TIME,       /* meta.v1.Time {1 seconds, 2 nanos} -> "2026-01-02T03:04:05Z" */
    SK_F_MICROTIME,  /* meta.v1.MicroTime -> "2026-01-02T03:04:05.000000Z" */
    SK_F_INTORSTR,   /* intstr.IntOrString {1 type, 2 intVal, 3 strVal} -> 8080 | "http" */
    SK_F_RAW,        /* runtime.RawExtension {1 raw bytes = JSON} -> embedded JSON */
    SK_F_DURATION,   /* meta.v1.Duration {1 string} -> "5m0s" */
    SK_F_FIELDSV1,   /* meta.v1.FieldsV1 {1 raw bytes = JSON} -> embedded JSON */
};

enum sk_fflags {
    SK_FL_REPEATED = 1 << 0, /* JSON array of the element type */
    SK_FL_MAP = 1 << 1,      /* map<string, element>; proto repeated {1 key, 2 value} */
    SK_FL_PTR = 1 << 2,      /* optional/pointer: zero values are meaningful */
    SK_FL_REQUIRED = 1 << 3, /* documented as required (OpenAPI "required") */
    SK_FL_INT64 = 1 << 4,    /* int64 rather than int32 (OpenAPI format) */
};

struct sk_type;

struct sk_field {
    const char *name;            /* JSON name */
    int num;                     /* protobuf field number */
    enum sk_ftype type;          /* element type for REPEATED / MAP */
    unsigned flags;              /* enum sk_fflags */
    const struct sk_type *msg;   /* for SK_F_MSG */
    const char *merge_key;       /* strategic merge: list merged by this key (e.g. "name") */
    const char *strategy;        /* strategic merge: "merge", "replace", "retainKeys" or NULL */
    const char *desc;            /* one-line description for explain, may be NULL */
};

struct sk_type {
    const char *name;            /* OpenAPI name: "io.k8s.api.core.v1.Container" */
    const char *desc;
    const struct sk_field *fields;
    size_t nfields;
    const char *group, *version, *kind; /* set for top-level kinds, else NULL */
    bool open; /* fields not listed are allowed (incompletely described type) */
};

/* Top-level type of a kind ("" group = core); NULL if unknown. */
const struct sk_type *sk_schema_kind(const char *group, const char *version, const char *kind);
/* Field by JSON name; NULL if absent. */
const struct sk_field *sk_schema_field(const struct sk_type *t, const char *name);
/* Every type reachable from registered kinds, for OpenAPI; n set to count. */
const struct sk_type *const *sk_schema_all(size_t *n);

/* Appends to *paths (a JSON array, created if NULL) the dotted paths of
 * fields of obj not in the schema ("spec.bogus", "spec.template.spec.containers[0].foo").
 * apiVersion/kind/metadata/status handled like upstream. Returns count found. */
size_t sk_schema_unknown_fields(const struct sk_type *t, const json_t *obj, json_t **paths);

/* ---- protobuf ------------------------------------------------------------ */

/* Unwraps the "k8s\0" + runtime.Unknown envelope. Pointers borrow from body.
 * api_version/kind are copied into the caller's buffers. */
int sk_pb_unwrap(const uint8_t *body, size_t len, char *api_version, size_t av_n, char *kind,
                 size_t kind_n, const uint8_t **raw, size_t *raw_len, sk_err *err) SK_MUST_CHECK;
/* Decodes a message of type t to JSON (new reference). Zero values of
 * non-pointer scalar fields and empty non-pointer messages are left out,
 * as gogo-proto writes every non-pointer field. Unknown field numbers are
 * skipped. Malformed input -> NULL + SK_EBADREQUEST. Depth is capped. */
json_t *sk_pb_decode(const struct sk_type *t, const uint8_t *buf, size_t len, sk_err *err);

/* ---- OpenAPI ------------------------------------------------------------- */

/* /openapi/v3 index and /openapi/v3/<api/v1 | apis/G/V> documents.
 * New references. gv_path is "api/v1" or "apis/apps/v1"; NULL if unknown. */
json_t *sk_openapi_v3_index(void);
json_t *sk_openapi_v3_doc(const char *gv_path);

#endif
