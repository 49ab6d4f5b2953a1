/* Fuzzes the label selector parser (and its canonical string), the
 * LabelSelector JSON form, the field selector parser and the name/label
 * checks. The first byte picks the target. */
#include <string.h>

#include "api/patch.h"

static void label(const char *s)
{
    sk_err err = SK_ERR_INIT;
    sk_selector *sel = sk_selector_parse(s, &err);
    if (!sel) {
        if (err.code != SK_EBADREQUEST) __builtin_trap();
        return;
    }
    json_t *labels = json_pack("{ss ss ss}", "app", "web", "tier", "fe", "n", "5");
    sk_selector_match(sel, labels);
    sk_selector_match(sel, NULL);
    /* The canonical form parses back to itself. */
    char *str = sk_selector_string(sel);
    sk_selector *again = sk_selector_parse(str, &err);
    if (!again) __builtin_trap();
    char *str2 = sk_selector_string(again);
    if (strcmp(str, str2)) __builtin_trap();
    if (sk_selector_match(sel, labels) != sk_selector_match(again, labels)) __builtin_trap();
    free(str);
    free(str2);
    sk_selector_free(again);
    sk_selector_free(sel);
    json_decref(labels);
}

static void label_json(const char *s, size_t n)
{
    json_t *j = json_loadb(s, n, JSON_DECODE_ANY, NULL);
    if (!j) return;
    sk_selector *sel = sk_selector_from_json(j, NULL);
    if (sel) {
        char *str = sk_selector_string(sel);
        sk_selector_match(sel, j);
        free(str);
    }
    sk_selector_free(sel);
    json_decref(j);
}

static void field(const char *s)
{
    static const char *const allowed[] = {"metadata.name", "metadata.namespace", "a", "a.b", NULL};
    json_t *obj = json_pack("{s{ss}sb si sf}", "metadata", "name", "x", "a", 1, "n", 3, "f", 0.5);
    for (int i = 0; i < 2; i++) {
        sk_fieldsel *fs = sk_fieldsel_parse(s, i ? allowed : NULL, NULL);
        if (fs) {
            sk_fieldsel_match(fs, obj);
            sk_fieldsel_pinned(fs, "metadata.name");
        }
        sk_fieldsel_free(fs);
    }
    json_decref(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 80 * 1024) return 0;
    char *s = malloc(size);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = 0;
    switch (data[0] & 3) {
    case 0: label(s); break;
    case 1: label_json(s, size - 1); break;
    case 2: field(s); break;
    default:
        sk_check_dns1123_label(s);
        sk_check_dns1123_subdomain(s);
        sk_check_label_key(s);
        sk_check_label_value(s);
        label(s);
        break;
    }
    free(s);
    return 0;
}
