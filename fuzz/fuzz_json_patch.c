/* Fuzzes sk_json_patch. Input: document JSON, a NUL byte, operations JSON
 * (no NUL: the whole input is the operations over a fixed document). */
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
                      : json_loads("{\"metadata\":{\"name\":\"x\",\"annotations\":{\"a/b\":\"c\"}},"
                                   "\"spec\":{\"replicas\":1,\"list\":[1,{\"x\":[2]},3],\"~\":0}}",
                                   0, NULL);
    json_t *ops = sep ? load(sep + 1, size - (size_t)(sep - data) - 1) : load(data, size);
    if (ops) {
        char *before = json_dumps(doc, JSON_ENCODE_ANY | JSON_SORT_KEYS);
        sk_err err = SK_ERR_INIT;
        json_t *r = sk_json_patch(doc, ops, &err);
        char *after = json_dumps(doc, JSON_ENCODE_ANY | JSON_SORT_KEYS);
        if ((before || after) && (!before || !after || strcmp(before, after))) __builtin_trap();
        if (!r && err.code == SK_OK) __builtin_trap();
        free(before);
        free(after);
        free(json_dumps(r, JSON_ENCODE_ANY));
        json_decref(r);
        sk_err_clear(&err);
    }
    json_decref(doc);
    json_decref(ops);
    return 0;
}
