/* sk_api: the object model. A table-driven registry of resource kinds
 * (group, version, kind, names, scope, verbs, subresources, table columns,
 * defaulting and validation hooks): adding a kind is one table entry plus
 * its hooks. Pure data and functions over jansson values; no I/O; safe from
 * any thread (the registry is const after start). */
#ifndef SK_API_H
#define SK_API_H

#include "api/patch.h"
#include "api/schema.h"
#include "lib/lib.h"

enum sk_verb {
    SK_V_GET = 1 << 0, SK_V_LIST = 1 << 1, SK_V_WATCH = 1 << 2, SK_V_CREATE = 1 << 3,
    SK_V_UPDATE = 1 << 4, SK_V_PATCH = 1 << 5, SK_V_DELETE = 1 << 6,
    SK_V_DELETECOLLECTION = 1 << 7,
};
#define SK_V_ALL 0xff
#define SK_V_CREATEONLY SK_V_CREATE

enum sk_subres {
    SK_SUB_STATUS = 1 << 0, /* /status: writes only .status */
    SK_SUB_SCALE = 1 << 1,  /* /scale: autoscaling/v1 Scale over spec.replicas */
    SK_SUB_EXEC = 1 << 2,   /* pods: exec, attach, log, portforward, proxy, binding, eviction */
    SK_SUB_PROXY = 1 << 3,  /* services, nodes: proxy */
};

/* A Table column as in meta.k8s.io/v1 TableColumnDefinition. */
struct sk_column {
    const char *name;   /* "Name", "Ready", ... */
    const char *type;   /* "string", "integer", "date", ... */
    const char *format; /* "name" or "" */
    int priority;       /* 0 default, 1 = -o wide */
    const char *desc;
};

struct sk_resource;

/* Appends one cell per column to `cells` (a JSON array) for obj. `now` is
 * unix seconds (for ages). */
typedef void (*sk_row_fn)(const struct sk_resource *r, const json_t *obj, json_t *cells,
                          int64_t now);
/* Fills defaults in place on create and update (as upstream defaulting does
 * for the fields kubectl shows). */
typedef void (*sk_default_fn)(json_t *obj);
/* Validates obj (old = current object on update, NULL on create). Adds
 * causes with sk_err_cause(err, "FieldValueInvalid"|"FieldValueRequired"|
 * "FieldValueForbidden"|..., "spec.x", "msg"). Names/labels/annotations of
 * metadata are checked generically by sk_validate_object; hooks do spec. */
typedef void (*sk_validate_fn)(const json_t *obj, const json_t *old, sk_err *err);

struct sk_resource {
    const char *group;     /* "" for core */
    const char *version;   /* "v1" */
    const char *kind;      /* "Pod" */
    const char *plural;    /* "pods" */
    const char *singular;  /* "pod" */
    const char *short_names[4];
    const char *categories[3];
    bool namespaced;
    unsigned verbs;        /* enum sk_verb */
    unsigned subresources; /* enum sk_subres */
    bool spec_generation;  /* metadata.generation tracks spec (everything but metadata/status) */
    const char *const *field_selectors; /* extra supported field selector paths, NULL-terminated */
    const struct sk_column *columns;    /* NULL = Name, Created At */
    size_t ncolumns;
    sk_row_fn row;
    sk_default_fn defaults;
    sk_validate_fn validate;
};

/* ---- registry lookup ------------------------------------------------------ */

/* All resources in discovery order (group priority, then table order). */
const struct sk_resource *const *sk_resources(size_t *n);
/* By group (""=core), version and plural; NULL if unknown. */
const struct sk_resource *sk_resource_find(const char *group, const char *version,
                                           const char *plural);
const struct sk_resource *sk_resource_by_kind(const char *group, const char *kind);
/* "apps/v1" or "v1" into buf. */
const char *sk_resource_api_version(const struct sk_resource *r, char *buf, size_t n);
/* Schema of the kind (may be NULL). */
const struct sk_type *sk_resource_schema(const struct sk_resource *r);
/* The API groups in priority order: each entry "" (core) or "apps", ...;
 * NULL-terminated, with their versions via sk_group_versions. */
const char *const *sk_groups(void);

/* ---- generic object rules ------------------------------------------------- */

/* Validates metadata (name per kind: DNS-1123 subdomain, or label for
 * namespaces/services; labels; annotations size) and then calls r->validate.
 * Returns 0, or -1 with SK_EINVALID and causes set, message formatted as
 * upstream: `Deployment.apps "x" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0, ...]`. */
int sk_validate_object(const struct sk_resource *r, const json_t *obj, const json_t *old,
                       sk_err *err) SK_MUST_CHECK;
/* The imagePullPolicy upstream defaults a container with `image` to. */
const char *sk_default_pull_policy(const char *image);
/* Runs r->defaults. */
void sk_default_object(const struct sk_resource *r, json_t *obj);

/* Server-side Table for a list of objects (borrowed), as meta.k8s.io/v1
 * Table; rows carry PartialObjectMetadata. include_columns=false gives
 * columnDefinitions null (watch events after the first). New reference. */
json_t *sk_table(const struct sk_resource *r, const json_t *const *objs, size_t n,
                 bool include_columns, int64_t now);
/* Column definitions (new reference). */
json_t *sk_table_columns(const struct sk_resource *r);

/* YAML (or JSON) text -> JSON value (first document); NULL + SK_EBADREQUEST. */
json_t *sk_yaml_parse(const char *text, size_t len, sk_err *err);

#endif
