/* Removal and garbage collection. GC marks every blob and layer dir that a
 * stored image reaches (manifest -> config + layers, config -> diff IDs)
 * and sweeps the rest, holding gc.lock exclusively so no load, pull or
 * unpack is half-way through writing something not yet referenced. */
#include "runtime/image/image_int.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

static void mark_entry(const sk_image_store *s, const json_t *e, json_t *blobs, json_t *layers)
{
    struct sk_image_loaded img;
    const char *dig = sk_json_str(e, "digest");
    sk_err err = SK_ERR_INIT;
    if (!sk_image_digest_valid(dig)) return;
    json_object_set_new(blobs, dig + 7, json_true());
    size_t n = 0;
    memset(&img, 0, sizeof img);
    _sk_free_ char *data = sk_blob_read(s, dig, SK_IMAGE_MANIFEST_MAX, &n, &err);
    if (!data || sk_image_manifest_parse(data, n, &img.m, &err) < 0) return;
    json_object_set_new(blobs, img.m.config.digest + 7, json_true());
    for (size_t i = 0; i < img.m.n_layers; i++)
        json_object_set_new(blobs, img.m.layers[i].digest + 7, json_true());
    img.config = sk_blob_read(s, img.m.config.digest, SK_IMAGE_CONFIG_MAX, &img.config_len, &err);
    sk_image_cfg *c = img.config ? sk_image_cfg_parse(img.config, img.config_len, "",
                                                      &img.diff_ids, &err)
                                 : NULL;
    sk_image_cfg_free(c);
    for (size_t i = 0; img.diff_ids && img.diff_ids[i]; i++)
        json_object_set_new(layers, img.diff_ids[i] + 7, json_true());
    sk_image_loaded_release(&img);
}

/* Removes every entry of dir that is not in keep (NULL: all of them). */
static int sweep(const char *dir, const json_t *keep, struct sk_image_gc_stats *st, bool blobs,
                 sk_err *err)
{
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : sk_err_sys(err, "open %s", dir);
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (keep && json_object_get(keep, de->d_name)) continue;
        struct stat sb;
        if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0) continue;
        rc = sk_fs_remove_at(dirfd(d), de->d_name, err);
        if (rc < 0 || !st) continue;
        if (blobs) {
            st->blobs_removed++;
            st->bytes_freed += sb.st_size;
        } else if (de->d_name[0] != '.') {
            st->layers_removed++;
        }
    }
    closedir(d);
    return rc;
}

static int gc_locked(const sk_image_store *s, struct sk_image_gc_stats *st, sk_err *err)
{
    _sk_json_ json_t *idx = sk_image_index_read(s, err);
    if (!idx) return -1;
    _sk_json_ json_t *blobs = json_object();
    _sk_json_ json_t *layers = json_object();
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(idx, "manifests"), i, e) mark_entry(s, e, blobs, layers);
    if (sweep(s->blobs, blobs, st, true, err) < 0 || sweep(s->layers, layers, st, false, err) < 0)
        return -1;
    return sweep(s->tmp, NULL, NULL, false, err);
}

int sk_image_gc(sk_image_store *s, struct sk_image_gc_stats *stats, sk_err *err)
{
    if (stats) memset(stats, 0, sizeof *stats);
    _sk_close_ int lk = sk_image_lock(s, SK_LOCK_GC, LOCK_EX, err);
    if (lk < 0) return -1;
    return gc_locked(s, stats, err);
}

struct rm_ctx {
    const sk_image_store *s;
    const char *ref;        /* by any reference form, or */
    const char *name;       /* exactly this name, or */
    const char *untagged;   /* the untagged entry with this manifest digest */
};

static bool same_entry(const json_t *e, const struct rm_ctx *c)
{
    const char *n = sk_image_ann(e, AN_NAME);
    if (c->name) return n && !strcmp(n, c->name);
    return !n && !strcmp(sk_json_str(e, "digest") ?: "", c->untagged);
}

static int drop_entries(json_t *index, void *ctx, sk_err *err)
{
    struct rm_ctx *c = ctx;
    json_t *arr = json_object_get(index, "manifests");
    _sk_json_ json_t *found = c->ref ? sk_image_index_find(c->s, index, c->ref, err) : NULL;
    if (c->ref && !found) return -1;
    for (size_t i = json_array_size(arr); i-- > 0;) {
        json_t *e = json_array_get(arr, i);
        bool hit = false;
        for (size_t k = 0; found && k < json_array_size(found); k++)
            hit = hit || json_array_get(found, k) == e;
        if (hit || (!c->ref && same_entry(e, c))) json_array_remove(arr, i);
    }
    return 0;
}

static int remove_locked(const sk_image_store *s, struct rm_ctx *c, sk_err *err)
{
    if (sk_image_index_update(s, drop_entries, c, err) < 0) return -1;
    return gc_locked(s, NULL, err);
}

int sk_image_remove(sk_image_store *s, const char *ref, sk_err *err)
{
    _sk_close_ int lk = sk_image_lock(s, SK_LOCK_GC, LOCK_EX, err);
    if (lk < 0) return -1;
    struct rm_ctx c = {.s = s, .ref = ref};
    return remove_locked(s, &c, err);
}

static int used_pct(const char *path, int *pct, sk_err *err)
{
    struct statvfs v;
    if (statvfs(path, &v) < 0) return sk_err_sys(err, "statvfs %s", path);
    uint64_t used = (uint64_t)(v.f_blocks - v.f_bfree);
    uint64_t total = used + v.f_bavail;
    *pct = total ? (int)((used * 100 + total - 1) / total) : 0;
    return 0;
}

/* Manifest digests of the images the caller still runs. */
static json_t *in_use_set(const sk_image_store *s, const char *const *in_use, sk_err *err)
{
    _sk_json_ json_t *idx = sk_image_index_read(s, err);
    if (!idx) return NULL;
    json_t *set = json_object();
    for (size_t i = 0; in_use && in_use[i]; i++) {
        sk_err ferr = SK_ERR_INIT;
        _sk_json_ json_t *found = sk_image_index_find(s, idx, in_use[i], &ferr);
        size_t k;
        json_t *e;
        json_array_foreach(found, k, e)
            json_object_set_new(set, sk_json_str(e, "digest") ?: "", json_true());
    }
    return set;
}

static int info_age_cmp(const void *a, const void *b)
{
    const sk_image_info *x = a, *y = b;
    return (x->stored > y->stored) - (x->stored < y->stored);
}

int sk_image_gc_disk(sk_image_store *s, const char *const *in_use, int high_pct, int low_pct,
                     char ***removed, sk_err *err)
{
    if (removed) *removed = NULL;
    int pct;
    if (used_pct(s->root, &pct, err) < 0) return -1;
    if (pct <= high_pct) return 0;
    _sk_close_ int lk = sk_image_lock(s, SK_LOCK_GC, LOCK_EX, err);
    if (lk < 0) return -1;
    _sk_json_ json_t *keep = in_use_set(s, in_use, err);
    sk_image_info *v = NULL;
    size_t n = 0, k = 0;
    if (!keep || sk_image_list(s, &v, &n, err) < 0) return -1;
    qsort(v, n, sizeof *v, info_age_cmp);
    char **out = sk_calloc(n + 1, sizeof *out);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0 && pct >= low_pct; i++) {
        if (json_object_get(keep, v[i].manifest)) continue;
        struct rm_ctx c = {.s = s, .name = v[i].ref, .untagged = v[i].manifest};
        rc = remove_locked(s, &c, err);
        if (rc == 0) out[k++] = sk_strdup(v[i].ref ? v[i].ref : v[i].id);
        if (rc == 0) rc = used_pct(s->root, &pct, err);
    }
    sk_image_info_free(v, n);
    if (removed && rc == 0) *removed = out;
    else sk_image_strv_free(out);
    return rc;
}
