/* Fuzzes tar handling end to end: the input is loaded as a docker save /
 * OCI archive into a scratch store (member names, links, manifest.json,
 * index.json), every loaded image is unpacked flat and per layer, and the
 * input is also extracted directly as one layer (paths, whiteouts, links).
 * Everything happens under a scratch directory in /tmp. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/image/image_int.h"

static char *scratch;

static void remove_scratch(void)
{
    sk_err err = SK_ERR_INIT;
    sk_fs_remove_tree(scratch, &err);
}

static void reset(const char *path)
{
    sk_err err = SK_ERR_INIT;
    sk_fs_remove_tree(path, &err);
    mkdir(path, 0755);
}

static void load_and_unpack(const char *input, const char *data, const char *root)
{
    sk_err err = SK_ERR_INIT;
    sk_image_store *s = sk_image_store_open(data, &err);
    if (!s) return;
    char **refs = NULL;
    if (sk_image_load(s, input, "fuzz.local/base", &refs, &err) == 0) {
        for (char **r = refs; *r; r++) {
            char **dirs = NULL;
            if (sk_image_unpack(s, *r, root, &err) == 0) reset(root);
            if (sk_image_layers(s, *r, &dirs, &err) == 0) sk_image_strv_free(dirs);
            if (sk_image_remove(s, *r, &err) < 0 && err.code != SK_ENOTFOUND) __builtin_trap();
        }
        sk_image_strv_free(refs);
    }
    sk_image_store_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
    if (size > (1 << 20)) return 0;
    if (!scratch) {
        char tmpl[] = "/tmp/fuzz-image-XXXXXX";
        if (!mkdtemp(tmpl)) __builtin_trap();
        scratch = sk_strdup(tmpl);
        atexit(remove_scratch);
    }
    char *input = sk_printf("%s/input", scratch);
    char *data = sk_printf("%s/data", scratch);
    char *root = sk_printf("%s/root", scratch);
    sk_err err = SK_ERR_INIT;
    if (sk_write_file(input, bytes, size, 0644, &err) < 0) __builtin_trap();
    reset(data);
    reset(root);
    load_and_unpack(input, data, root);
    reset(root);
    if (sk_image_apply_layer(input, root, false, NULL, &err) < 0 && !err.msg[0]) __builtin_trap();
    reset(root);
    if (sk_image_apply_layer(input, root, true, NULL, &err) < 0 && !err.msg[0]) __builtin_trap();
    free(input);
    free(data);
    free(root);
    return 0;
}
