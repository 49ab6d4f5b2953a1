/* Fuzzes the JSON and YAML body decoders and everything an object meets on
 * its way into the store: strict unknown-field detection, defaulting,
 * validation (create and update), the stored encoding round trip and the
 * server-side Table row. The first byte picks the kind and the syntax. */
#include "apiserver/apiserver_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t nres;
    const struct sk_resource *const *all = sk_resources(&nres);
    const struct sk_resource *r = all[(data[0] >> 1) % nres];
    bool yaml = data[0] & 1;
    sk_err err = SK_ERR_INIT;
    json_t *obj = yaml ? sk_yaml_parse((const char *)data + 1, size - 1, &err)
                       : json_loadb((const char *)data + 1, size - 1, 0, NULL);
    sk_err_clear(&err);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return 0;
    }
    json_t *paths = NULL;
    const struct sk_type *t = sk_resource_schema(r);
    if (t) sk_schema_unknown_fields(t, obj, &paths);
    json_decref(paths);

    json_t *old = json_deep_copy(obj);
    sk_default_object(r, obj);
    if (sk_validate_object(r, obj, NULL, &err) < 0) sk_err_clear(&err);
    if (sk_validate_object(r, obj, old, &err) < 0) sk_err_clear(&err);

    size_t len;
    char *val = sk_obj_encode(obj, &len);
    json_t *back = sk_obj_load(val, len, 42);
    sk_buf b = SK_BUF_INIT;
    sk_obj_emit(&b, val, len, 42);
    json_t *emitted = json_loadb(b.data, b.len, 0, NULL);
    /* the spliced form must always be valid JSON carrying the revision */
    if (!emitted || !back) __builtin_trap();
    sk_buf_release(&b);
    free(val);

    const json_t *objs[1] = {back};
    json_decref(sk_table(r, objs, 1, true, 1800000000));
    json_decref(emitted);
    json_decref(back);
    json_decref(old);
    json_decref(obj);
    return 0;
}
