/* Fuzzes the protobuf envelope and the schema-driven decoder: the input is
 * unwrapped and decoded as a Deployment, and also decoded raw as a Pod;
 * whatever decodes is then checked for unknown fields. */
#include "api/schema.h"

static void decode(const struct sk_type *t, const uint8_t *p, size_t n)
{
    sk_err err = SK_ERR_INIT;
    json_t *j = sk_pb_decode(t, p, n, &err);
    if (j) {
        json_t *paths = NULL;
        sk_schema_unknown_fields(t, j, &paths);
        json_decref(paths);
        char *s = json_dumps(j, JSON_COMPACT);
        free(s);
    }
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sk_err err = SK_ERR_INIT;
    char av[64], kind[64];
    const uint8_t *raw;
    size_t n;
    if (sk_pb_unwrap(data, size, av, sizeof av, kind, sizeof kind, &raw, &n, &err) == 0)
        decode(sk_schema_kind("apps", "v1", "Deployment"), raw, n);
    decode(sk_schema_kind("", "v1", "Pod"), data, size);
    return 0;
}
