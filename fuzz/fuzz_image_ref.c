/* Fuzzes image reference parsing/normalisation (the normal form parses
 * back to itself) and the WWW-Authenticate challenge parser. The first
 * byte picks the target. */
#include <stdint.h>
#include <string.h>

#include "runtime/image/image_int.h"

static void ref(const char *s)
{
    sk_err err = SK_ERR_INIT;
    char *n = sk_image_normalize(s, &err);
    sk_image_ref_is_latest(s);
    if (!n) {
        if (err.code != SK_EINVALID || !err.msg[0]) __builtin_trap();
        return;
    }
    char *again = sk_image_normalize(n, &err);
    if (!again || strcmp(n, again)) __builtin_trap();
    free(again);
    free(n);
}

static void challenge(const char *s)
{
    struct sk_challenge c;
    if (sk_challenge_parse(s, &c) == 0) {
        if (!c.scheme) __builtin_trap();
        sk_challenge_release(&c);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192) return 0;
    char *s = sk_strndup((const char *)data + 1, size - 1);
    if (data[0] & 1) challenge(s);
    else ref(s);
    free(s);
    return 0;
}
