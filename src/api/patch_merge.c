/* RFC 7386 JSON merge patch (application/merge-patch+json).
 *
 * Upstream (evanphx/json-patch v4 MergePatch) rejects a patch that is JSON
 * null; a patch that is not an object replaces the target, as the RFC says
 * (the API server then fails to decode a non-object result). */
#include "api/patch.h"

#define MERGE_MAX_DEPTH 128

/* merge(target, patch) of the RFC; takes ownership of target (may be NULL). */
static json_t *merge(json_t *target, const json_t *patch, int depth, sk_err *err)
{
    if (depth > MERGE_MAX_DEPTH) {
        json_decref(target);
        sk_err_set(err, SK_EBADREQUEST, "merge patch nested deeper than %d levels",
                   MERGE_MAX_DEPTH);
        return NULL;
    }
    if (!json_is_object(patch)) {
        json_decref(target);
        return json_deep_copy(patch);
    }
    if (!json_is_object(target)) {
        json_decref(target);
        target = json_object();
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)patch, k, v) {
        if (json_is_null(v)) {
            json_object_del(target, k);
            continue;
        }
        json_t *cur = json_object_get(target, k);
        json_t *m = merge(json_incref(cur), v, depth + 1, err);
        if (!m) {
            json_decref(target);
            return NULL;
        }
        /* cur was shared with target; merge() worked on it in place or
         * replaced it, so storing the result is correct either way. */
        json_object_set_new(target, k, m);
    }
    return target;
}

json_t *sk_merge_patch(const json_t *target, const json_t *patch, sk_err *err)
{
    if (!patch || json_is_null(patch)) {
        sk_err_set(err, SK_EBADREQUEST, "Invalid JSON Patch");
        return NULL;
    }
    json_t *copy = target ? json_deep_copy(target) : NULL;
    return merge(copy, patch, 0, err);
}
