/* The unpacked-layer cache (images/layers/<diff id hex>) and flat unpack.
 * A layer is extracted into a private temp dir and renamed into place, so
 * a cache dir is always complete; two unpackers racing on one layer both
 * extract and the loser throws its copy away. */
#include "runtime/image/image_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

static char *layer_dir(const sk_image_store *s, const char *diff_id)
{
    return sk_printf("%s/%s", s->layers, diff_id + 7);
}

static int unpack_layer(const sk_image_store *s, const char *blob_digest, const char *diff_id,
                        const char *final, sk_err *err)
{
    char rnd[9];
    sk_rand_suffix(rnd, sizeof rnd);
    _sk_free_ char *tmp = sk_printf("%s/.tmp-%.12s-%s", s->layers, diff_id + 7, rnd);
    _sk_free_ char *blob = sk_image_blob_path(s, blob_digest);
    sk_err ign = SK_ERR_INIT;
    if (access(blob, R_OK) < 0)
        return sk_err_set(err, SK_ENOTFOUND, "layer blob %s is missing", blob_digest);
    if (mkdir(tmp, 0755) < 0) return sk_err_sys(err, "mkdir %s", tmp);
    if (sk_image_apply_layer(blob, tmp, true, diff_id, err) < 0) {
        sk_fs_remove_tree(tmp, &ign);
        return sk_err_wrap(err, "layer %.19s", blob_digest);
    }
    if (rename(tmp, final) < 0) {
        int e = errno;
        sk_fs_remove_tree(tmp, &ign);
        errno = e;
        if (e != EEXIST && e != ENOTEMPTY) return sk_err_sys(err, "rename %s", final);
    }
    return 0;
}

int sk_image_layers(sk_image_store *s, const char *ref, char ***dirs, sk_err *err)
{
    *dirs = NULL;
    _sk_close_ int gc = sk_image_lock(s, SK_LOCK_GC, LOCK_SH, err);
    if (gc < 0) return -1;
    struct sk_image_loaded img;
    if (sk_image_open(s, ref, &img, err) < 0) return -1;
    char **v = sk_calloc(img.m.n_layers + 1, sizeof *v);
    int rc = 0;
    for (size_t i = 0; i < img.m.n_layers && rc == 0; i++) {
        v[i] = layer_dir(s, img.diff_ids[i]);
        struct stat st;
        if (stat(v[i], &st) == 0 && S_ISDIR(st.st_mode)) continue;
        /* One unpacker per layer: pods of a new image start together, and
         * a dozen concurrent extractions of the same layer cost a dozen
         * times the file creations. The others wait, then find it done. */
        _sk_free_ char *lock = sk_printf("%s/.%.64s.lock", s->layers, img.diff_ids[i] + 7);
        _sk_close_ int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lfd >= 0) while (flock(lfd, LOCK_EX) < 0 && errno == EINTR) {}
        if (stat(v[i], &st) == 0 && S_ISDIR(st.st_mode)) continue;
        rc = unpack_layer(s, img.m.layers[i].digest, img.diff_ids[i], v[i], err);
    }
    sk_image_loaded_release(&img);
    if (rc < 0) {
        sk_image_strv_free(v);
        return -1;
    }
    *dirs = v;
    return 0;
}

int sk_image_unpack(sk_image_store *s, const char *ref, const char *dest, sk_err *err)
{
    _sk_close_ int gc = sk_image_lock(s, SK_LOCK_GC, LOCK_SH, err);
    if (gc < 0) return -1;
    struct sk_image_loaded img;
    if (sk_image_open(s, ref, &img, err) < 0) return -1;
    int rc = sk_mkdir_p(dest, 0755, err);
    for (size_t i = 0; i < img.m.n_layers && rc == 0; i++) {
        _sk_free_ char *blob = sk_image_blob_path(s, img.m.layers[i].digest);
        rc = sk_image_apply_layer(blob, dest, false, img.diff_ids[i], err);
        if (rc < 0) sk_err_wrap(err, "unpack %s: layer %.19s", ref, img.m.layers[i].digest);
    }
    sk_image_loaded_release(&img);
    return rc;
}
