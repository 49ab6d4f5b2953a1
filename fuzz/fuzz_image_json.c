/* Fuzzes the untrusted JSON of images: manifests, indexes (kind detection
 * and platform selection) and image configs. The first byte picks the
 * target. */
#include <stdint.h>
#include <string.h>

#include "runtime/image/image_int.h"

static void manifest(const char *p, size_t n)
{
    struct sk_image_manifest m;
    sk_err err = SK_ERR_INIT;
    if (sk_image_manifest_parse(p, n, &m, &err) < 0) return;
    if (!sk_image_digest_valid(m.config.digest) || m.n_layers > SK_IMAGE_LAYERS_MAX)
        __builtin_trap();
    for (size_t i = 0; i < m.n_layers; i++)
        if (!sk_image_digest_valid(m.layers[i].digest) || m.layers[i].size < 0) __builtin_trap();
    sk_image_manifest_release(&m);
}

static void index_pick(const char *p, size_t n)
{
    json_t *j = json_loadb(p, n, 0, NULL);
    if (!j) return;
    sk_image_manifest_kind("application/json", j);
    sk_image_manifest_kind(NULL, j);
    struct sk_image_desc d;
    sk_err err = SK_ERR_INIT;
    if (sk_image_index_pick(j, &d, &err) == 0) {
        if (!sk_image_digest_valid(d.digest)) __builtin_trap();
        sk_image_desc_release(&d);
    }
    json_decref(j);
}

static void config(const char *p, size_t n)
{
    sk_err err = SK_ERR_INIT;
    char **ids = NULL;
    sk_image_cfg *c = sk_image_cfg_parse(p, n, "sha256:x", &ids, &err);
    if (!c) return;
    for (size_t i = 0; ids && ids[i]; i++)
        if (!sk_image_digest_valid(ids[i])) __builtin_trap();
    for (size_t i = 0; c->labels && c->labels[i]; i += 2)
        if (!c->labels[i + 1]) __builtin_trap();
    sk_image_strv_free(ids);
    sk_image_cfg_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1 << 20)) return 0;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] % 3) {
    case 0: manifest(p, n); break;
    case 1: index_pick(p, n); break;
    default: config(p, n); break;
    }
    return 0;
}
