/* Patches, selectors and name/label validation: pure functions over jansson
 * values, safe from any thread. Every parser here takes untrusted input and
 * has a fuzz target. */
#ifndef SK_API_PATCH_H
#define SK_API_PATCH_H

#include "api/schema.h"
#include "lib/lib.h"

/* RFC 7386 JSON merge patch. Returns a new value; NULL + SK_EBADREQUEST on error. */
json_t *sk_merge_patch(const json_t *target, const json_t *patch, sk_err *err);

/* RFC 6902 JSON patch (add, remove, replace, move, copy, test; ~0 ~1 escapes).
 * Returns a new value; NULL + error (SK_EBADREQUEST for malformed ops,
 * SK_EINVALID for a failed test or missing path, as upstream). */
json_t *sk_json_patch(const json_t *doc, const json_t *ops, sk_err *err);

/* Kubernetes strategic merge patch. t describes doc's type (may be NULL:
 * then lists are replaced, like merge patch). Lists whose field has a
 * merge_key are merged by key; $patch (replace|delete|merge),
 * $setElementOrder/<list>, $retainKeys, $deleteFromPrimitiveList/<f> are
 * honoured. Returns a new value. */
json_t *sk_strategic_merge_patch(const json_t *doc, const json_t *patch, const struct sk_type *t,
                                 sk_err *err);

/* Server-side apply, create-or-update: merges `applied` into `live`
 * (live NULL = create) with strategic-merge list semantics, and records
 * `manager` in metadata.managedFields (operation Apply; one small entry per
 * manager, fieldsV1 listing the top-level field paths it set). With
 * force=false, a field owned by another Apply manager with a different
 * value is SK_ECONFLICT. Returns a new value. */
json_t *sk_apply_patch(const json_t *live, const json_t *applied, const struct sk_type *t,
                       const char *manager, bool force, sk_err *err);

/* ---- label selectors ----------------------------------------------------- */

typedef struct sk_selector sk_selector;
/* Parses "a=b,c!=d,e in (f,g),h notin (i),j,!k" (also "=="). Empty string
 * = everything. Invalid -> NULL + SK_EBADREQUEST. Caller frees. */
sk_selector *sk_selector_parse(const char *s, sk_err *err);
/* From a metav1.LabelSelector object {matchLabels, matchExpressions}.
 * NULL json = matches nothing? No: NULL json -> selector matching everything. */
sk_selector *sk_selector_from_json(const json_t *ls, sk_err *err);
/* labels: JSON object of strings, or NULL (= no labels). */
bool sk_selector_match(const sk_selector *sel, const json_t *labels);
bool sk_selector_empty(const sk_selector *sel);
/* Canonical string form ("app=web,tier in (a,b)"), caller frees. */
char *sk_selector_string(const sk_selector *sel);
void sk_selector_free(sk_selector *sel);

/* ---- field selectors ----------------------------------------------------- */

typedef struct sk_fieldsel sk_fieldsel;
/* Parses "metadata.name=x,spec.nodeName!=y" (=, ==, !=). allowed is a
 * NULL-terminated list of supported field paths (NULL = any); an
 * unsupported field -> SK_EBADREQUEST `field label not supported: f`. */
sk_fieldsel *sk_fieldsel_parse(const char *s, const char *const *allowed, sk_err *err);
/* Matches against obj, looking fields up by dotted path (missing = ""). */
bool sk_fieldsel_match(const sk_fieldsel *fs, const json_t *obj);
/* If the selector pins metadata.name (or metadata.namespace) with '=',
 * returns that value (borrowed), else NULL. Lets the server narrow ranges. */
const char *sk_fieldsel_pinned(const sk_fieldsel *fs, const char *field);
void sk_fieldsel_free(sk_fieldsel *fs);

/* ---- validation of names and labels (messages as upstream) --------------- */

/* Return NULL when valid, else a static/thread-local message such as
 * "a lowercase RFC 1123 label must consist of lower case alphanumeric
 * characters or '-', and must start and end with an alphanumeric character
 * (e.g. 'my-name',  or '123-abc', regex used for validation is
 * '[a-z0-9]([-a-z0-9]*[a-z0-9])?')". */
const char *sk_check_dns1123_label(const char *s);
const char *sk_check_dns1123_subdomain(const char *s);
const char *sk_check_label_key(const char *s);   /* qualified name */
const char *sk_check_label_value(const char *s);

#endif
