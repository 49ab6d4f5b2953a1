/* Fuzzes sk_merge_patch. Input: target JSON, a NUL byte, patch JSON (no
 * NUL: the whole input is the patch over a fixed target). */
#include <string.h>

#include "api/patch.h"

static json_t *load(const uint8_t *p, size_t n)
{
    return json_loadb((const char *)p, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024) return 0;
    const uint8_t *sep = memchr(data, 0, size);
    json_t *doc = sep ? load(data, (size_t)(sep - data))
                      : json_loads("{\"metadata\":{\"name\":\"x\",\"labels\":{\"a\":\"b\"}},"
                                   "\"spec\":{\"replicas\":1,\"list\":[1,2]}}", 0, NULL);
    json_t *patch = sep ? load(sep + 1, size - (size_t)(sep - data) - 1) : load(data, size);
    if (patch) {
        char *before = json_dumps(doc, JSON_ENCODE_ANY | JSON_SORT_KEYS);
        sk_err err = SK_ERR_INIT;
        json_t *r = sk_merge_patch(doc, patch, &err);
        char *after = json_dumps(doc, JSON_ENCODE_ANY | JSON_SORT_KEYS);
        if ((before || after) && (!before || !after || strcmp(before, after))) __builtin_trap();
        /* Merge patches are idempotent. */
        if (r) {
            json_t *r2 = sk_merge_patch(r, patch, NULL);
            if (!r2 || !json_equal(r, r2)) __builtin_trap();
            json_decref(r2);
        }
        free(before);
        free(after);
        free(json_dumps(r, JSON_ENCODE_ANY));
        json_decref(r);
    }
    json_decref(doc);
    json_decref(patch);
    return 0;
}
