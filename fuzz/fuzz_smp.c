/* Fuzzes sk_strategic_merge_patch and sk_apply_patch with the real schema
 * tables. Input: one selector byte (kind, force), live JSON, a NUL byte,
 * patch JSON (no NUL: the rest is the patch over a fixed Deployment). */
#include <string.h>

#include "api/patch.h"

static const char live_deploy[] =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
    "\"labels\":{\"app\":\"web\"},\"finalizers\":[\"a\"],\"managedFields\":[{\"manager\":\"m\","
    "\"operation\":\"Apply\",\"fieldsV1\":{\"f:spec\":{\"f:replicas\":{},\"f:template\":{\"f:spec\":"
    "{\"f:containers\":{\"k:{\\\"name\\\":\\\"web\\\"}\":{\".\":{},\"f:image\":{}}}}}}}}]},"
    "\"spec\":{\"replicas\":1,\"template\":{\"spec\":{\"containers\":[{\"name\":\"web\","
    "\"image\":\"nginx\",\"ports\":[{\"containerPort\":80}],\"env\":[{\"name\":\"A\",\"value\":\"1\"}]}]}}}}";

static json_t *load(const uint8_t *p, size_t n)
{
    return json_loadb((const char *)p, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
}

static bool has_directive(const json_t *v)
{
    const char *k;
    json_t *c;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, c) {
            if (!strcmp(k, "$patch") || !strcmp(k, "$retainKeys") ||
                !strncmp(k, "$setElementOrder/", 17) || !strncmp(k, "$deleteFromPrimitiveList/", 25) ||
                has_directive(c))
                return true;
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, c) {
            if (has_directive(c)) return true;
        }
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 64 * 1024) return 0;
    static const char *const kinds[][3] = {
        {"apps", "v1", "Deployment"}, {"", "v1", "Pod"}, {"", "v1", "Service"}, {"", "v1", "Nope"},
    };
    uint8_t sel = data[0];
    data++, size--;
    const struct sk_type *t = sk_schema_kind(kinds[sel & 3][0], kinds[sel & 3][1], kinds[sel & 3][2]);
    const uint8_t *sep = memchr(data, 0, size);
    json_t *doc = sep ? load(data, (size_t)(sep - data)) : json_loads(live_deploy, 0, NULL);
    json_t *patch = sep ? load(sep + 1, size - (size_t)(sep - data) - 1) : load(data, size);
    if (patch) {
        char *before = json_dumps(doc, JSON_ENCODE_ANY | JSON_SORT_KEYS);
        sk_err err = SK_ERR_INIT;
        json_t *r = sk_strategic_merge_patch(doc, patch, t, &err);
        if (r && has_directive(r) && !has_directive(doc)) __builtin_trap();
        if (!r && err.code == SK_OK) __builtin_trap();
        free(json_dumps(r, JSON_ENCODE_ANY));
        json_decref(r);
        sk_err_clear(&err);
        r = sk_apply_patch(json_is_object(doc) && (sel & 4) ? doc : NULL, patch, t,
                           (sel & 8) ? "m" : "fuzz", sel & 16, &err);
        if (!r && err.code == SK_OK) __builtin_trap();
        free(json_dumps(r, JSON_ENCODE_ANY));
        json_decref(r);
        sk_err_clear(&err);
        char *after = json_dumps(doc, JSON_ENCODE_ANY | JSON_SORT_KEYS);
        if ((before || after) && (!before || !after || strcmp(before, after))) __builtin_trap();
        free(before);
        free(after);
    }
    json_decref(doc);
    json_decref(patch);
    return 0;
}
