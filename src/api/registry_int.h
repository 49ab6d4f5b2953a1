/* Private to sk_api's registry, tables, defaults and validation files:
 * the per-kind hooks the resource table in registry.c points at. */
#ifndef SK_API_REGISTRY_INT_H
#define SK_API_REGISTRY_INT_H

#include "api/api.h"

/* Column sets (tables_core.c, tables_apps.c). The counts are macros so the
 * registry's static table can hold them; each definition static-asserts its
 * length. */
#define SK_NCOLS_POD 9
#define SK_NCOLS_DEPLOY 8
#define SK_NCOLS_RS 8
#define SK_NCOLS_STS 5
#define SK_NCOLS_DS 11
#define SK_NCOLS_JOB 8
#define SK_NCOLS_CJ 10
#define SK_NCOLS_SVC 7
#define SK_NCOLS_EP 3
#define SK_NCOLS_EPS 5
#define SK_NCOLS_NODE 10
#define SK_NCOLS_NS 3
#define SK_NCOLS_EVENT 10
#define SK_NCOLS_CM 3
#define SK_NCOLS_SECRET 4
#define SK_NCOLS_SA 3
#define SK_NCOLS_LEASE 3
#define SK_NCOLS_PV 11
#define SK_NCOLS_PVC 9
#define SK_NCOLS_CR 4
#define SK_NCOLS_RB 6
#define SK_NCOLS_QUOTA 4
#define SK_NCOLS_CSR 6 /* tables_certs.c */

extern const struct sk_column sk_cols_pod[SK_NCOLS_POD];
extern const struct sk_column sk_cols_deploy[SK_NCOLS_DEPLOY];
extern const struct sk_column sk_cols_rs[SK_NCOLS_RS];
extern const struct sk_column sk_cols_sts[SK_NCOLS_STS];
extern const struct sk_column sk_cols_ds[SK_NCOLS_DS];
extern const struct sk_column sk_cols_job[SK_NCOLS_JOB];
extern const struct sk_column sk_cols_cj[SK_NCOLS_CJ];
extern const struct sk_column sk_cols_svc[SK_NCOLS_SVC];
extern const struct sk_column sk_cols_ep[SK_NCOLS_EP];
extern const struct sk_column sk_cols_eps[SK_NCOLS_EPS];
extern const struct sk_column sk_cols_node[SK_NCOLS_NODE];
extern const struct sk_column sk_cols_ns[SK_NCOLS_NS];
extern const struct sk_column sk_cols_event[SK_NCOLS_EVENT];
extern const struct sk_column sk_cols_cm[SK_NCOLS_CM];
extern const struct sk_column sk_cols_secret[SK_NCOLS_SECRET];
extern const struct sk_column sk_cols_sa[SK_NCOLS_SA];
extern const struct sk_column sk_cols_lease[SK_NCOLS_LEASE];
extern const struct sk_column sk_cols_pv[SK_NCOLS_PV];
extern const struct sk_column sk_cols_pvc[SK_NCOLS_PVC];
extern const struct sk_column sk_cols_cr[SK_NCOLS_CR];
extern const struct sk_column sk_cols_rb[SK_NCOLS_RB];
extern const struct sk_column sk_cols_quota[SK_NCOLS_QUOTA];
extern const struct sk_column sk_cols_csr[SK_NCOLS_CSR];

/* Row functions (same signature as sk_row_fn). */
#define SK_ROW(name) void name(const struct sk_resource *r, const json_t *obj, json_t *cells, \
                               int64_t now)
SK_ROW(sk_row_pod); SK_ROW(sk_row_deploy); SK_ROW(sk_row_rs); SK_ROW(sk_row_sts);
SK_ROW(sk_row_ds); SK_ROW(sk_row_job); SK_ROW(sk_row_cj); SK_ROW(sk_row_svc);
SK_ROW(sk_row_ep); SK_ROW(sk_row_eps); SK_ROW(sk_row_node); SK_ROW(sk_row_ns);
SK_ROW(sk_row_event); SK_ROW(sk_row_cm); SK_ROW(sk_row_secret); SK_ROW(sk_row_sa);
SK_ROW(sk_row_lease); SK_ROW(sk_row_pv); SK_ROW(sk_row_pvc); SK_ROW(sk_row_cr);
SK_ROW(sk_row_rb); SK_ROW(sk_row_quota); SK_ROW(sk_row_csr);
#undef SK_ROW

/* Cell helpers shared by the row functions (tables_core.c). */
/* Appends the AGE cell: human duration since metadata.creationTimestamp, or
 * "<unknown>". */
void sk_cell_age(json_t *cells, const json_t *obj, int64_t now);
/* Age of an RFC 3339 timestamp string (NULL/unparsable -> "<unknown>"). */
void sk_age_of(const char *ts, int64_t now, char *out, size_t n);
/* Appends a string cell (NULL -> ""). */
void sk_cell_str(json_t *cells, const char *s);
void sk_cell_int(json_t *cells, json_int_t v);
/* Integer at a dotted path, or dflt. */
json_int_t sk_path_int(const json_t *obj, const char *path, json_int_t dflt);
/* Appends the Containers and Images cells for a pod spec. */
void sk_cell_containers(json_t *cells, const json_t *podspec);
/* metav1.LabelSelector formatted as labels.Selector.String() ("" when empty,
 * "<error>" when malformed). Caller frees. */
char *sk_format_label_selector(const json_t *sel);
/* A string map as "k=v,k2=v2" sorted by key, or "<none>". Caller frees. */
char *sk_format_labels(const json_t *map);

/* Defaulting hooks (defaults.c). */
void sk_default_pod(json_t *obj);
void sk_default_deploy(json_t *obj);
void sk_default_rs(json_t *obj);
void sk_default_sts(json_t *obj);
void sk_default_ds(json_t *obj);
void sk_default_job(json_t *obj);
void sk_default_cj(json_t *obj);
void sk_default_svc(json_t *obj);
void sk_default_ns(json_t *obj);
void sk_default_secret(json_t *obj);
void sk_default_pvc(json_t *obj);
void sk_default_pv(json_t *obj);
void sk_default_node(json_t *obj);
void sk_default_ep(json_t *obj);
void sk_default_eps(json_t *obj);

/* Validation hooks (validate_*.c). */
#define SK_VAL(name) void name(const json_t *obj, const json_t *old, sk_err *err)
SK_VAL(sk_validate_pod); SK_VAL(sk_validate_deploy); SK_VAL(sk_validate_rs);
SK_VAL(sk_validate_sts); SK_VAL(sk_validate_ds); SK_VAL(sk_validate_job);
SK_VAL(sk_validate_cj); SK_VAL(sk_validate_svc); SK_VAL(sk_validate_cm);
SK_VAL(sk_validate_secret); SK_VAL(sk_validate_ns); SK_VAL(sk_validate_lease);
SK_VAL(sk_validate_role); SK_VAL(sk_validate_rb); SK_VAL(sk_validate_crb);
SK_VAL(sk_validate_eps); SK_VAL(sk_validate_pvc); SK_VAL(sk_validate_csr);
#undef SK_VAL

/* Cause builders (validate.c): the cause message is upstream's
 * field.Error.ErrorBody(), e.g. `Invalid value: -1: must be greater than or
 * equal to 0`; the Status message is assembled by sk_validate_object. */
/* Go's %q of s (caller frees). */
char *sk_go_quote(const char *s);
/* Go's %#v of a map[string]string given as a JSON object (NULL = nil map). */
char *sk_go_string_map(const json_t *map);
void sk_verr_invalid(sk_err *err, const char *field, const char *repr, const char *detail);
void sk_verr_invalid_str(sk_err *err, const char *field, const char *value, const char *detail);
void sk_verr_invalid_int(sk_err *err, const char *field, json_int_t v, const char *detail);
void sk_verr_required(sk_err *err, const char *field, const char *detail);
void sk_verr_forbidden(sk_err *err, const char *field, const char *detail);
/* valid: NULL-terminated list of supported values. */
void sk_verr_unsupported(sk_err *err, const char *field, const char *value,
                         const char *const *valid);
void sk_verr_duplicate(sk_err *err, const char *field, const char *value);
/* Validates a pod spec at prefix ("spec" or "spec.template.spec"). */
void sk_validate_pod_spec(const json_t *spec, const char *prefix, sk_err *err);
/* Invalid if v (an integer at path) is negative. */
void sk_validate_nonneg(const json_t *obj, const char *path, sk_err *err);

#endif
