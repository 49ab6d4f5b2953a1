/* Fuzzes the registries.yaml loader (libyaml document walk) and mirror
 * lookups; rewrites run only for short patterns, since glibc's regcomp
 * cost on hostile patterns is not ours to fuzz. */
#include <stdint.h>
#include <string.h>

#include "runtime/image/image_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sk_err err = SK_ERR_INIT;
    sk_registries *r = sk_registries_parse((const char *)data, size, &err);
    if (!r) {
        if (!err.msg[0]) __builtin_trap();
        return 0;
    }
    for (size_t i = 0; i < r->n_mirrors; i++) {
        const struct sk_reg_mirror *m = &r->mirrors[i];
        if (sk_registries_mirror(r, m->host) == NULL) __builtin_trap();
        bool short_patterns = m->n_rewrites <= 4;
        for (size_t k = 0; k < m->n_rewrites; k++)
            short_patterns = short_patterns && strlen(m->rewrites[k].pattern) <= 24 &&
                             !strpbrk(m->rewrites[k].pattern, "{*+");
        if (short_patterns) free(sk_registries_rewrite(m, "library/busybox", &err));
    }
    for (size_t i = 0; i < r->n_configs; i++)
        if (!sk_registries_config(r, r->configs[i].host)) __builtin_trap();
    sk_registries_free(r);
    return 0;
}
