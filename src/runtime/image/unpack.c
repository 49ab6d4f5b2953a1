/* Layer extraction with libarchive.
 *
 * One pass per layer with two archive readers: the first decompresses the
 * blob as a raw stream, hashed on the way for the diff ID check; the second
 * parses that stream as tar. Entries go through archive_write_disk with
 * absolute paths under the real (symlink-free) destination, after our own
 * checks: names are cleaned and refused when they climb out with "..", the
 * parent directories are walked with O_NOFOLLOW (libarchive's
 * SECURE_SYMLINKS checks again), and whiteouts are applied with *at()
 * calls on descriptors opened that way. Symlink targets are written as
 * they are (absolute ones are fine inside a rootfs) and never followed;
 * neither is a symlink a lower layer left in a directory's place (such an
 * entry fails, where containerd would resolve it inside the root).
 *
 * Partial: in per-layer (overlay) mode a hard link must point into its own
 * layer; one to a lower layer's file fails (docker and BuildKit never make
 * those, as overlayfs copies the target up first). */
#include "runtime/image/image_int.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define LAYER_BYTES_MAX (64LL << 30)
#define LAYER_ENTRIES_MAX 4000000

struct layer_src {
    struct archive *raw;
    gnutls_hash_hd_t hash;
    int64_t total;
    bool eof;
    char buf[65536];
};

static la_ssize_t src_read(struct archive *a, void *ctx, const void **out)
{
    struct layer_src *s = ctx;
    if (s->eof) return 0;
    la_ssize_t n = archive_read_data(s->raw, s->buf, sizeof s->buf);
    if (n < 0) {
        if (a) archive_set_error(a, EIO, "%s", archive_error_string(s->raw) ?: "decompression failed");
        return -1;
    }
    if (n == 0) s->eof = true;
    s->total += n;
    if (s->total > LAYER_BYTES_MAX) {
        if (a) archive_set_error(a, EFBIG, "layer is larger than %lld bytes", LAYER_BYTES_MAX);
        return -1;
    }
    gnutls_hash(s->hash, s->buf, (size_t)n);
    *out = s->buf;
    return n;
}

struct extract {
    const char *root; /* realpath of the destination */
    int rootfd;
    bool overlay, is_root;
    struct archive *w;
    json_t *seen; /* flat mode: paths written by this layer (a set) */
};

static char *parent_of(const char *clean, const char **base)
{
    const char *slash = strrchr(clean, '/');
    *base = slash ? slash + 1 : clean;
    return slash ? sk_strndup(clean, (size_t)(slash - clean)) : sk_strdup("");
}

static int whiteout_file(struct extract *x, const char *target, sk_err *err)
{
    const char *base;
    _sk_free_ char *dir = parent_of(target, &base);
    if (!x->overlay) {
        /* a whiteout hides lower layers only, never its own layer's files */
        if (json_object_get(x->seen, target)) return 0;
        _sk_close_ int dfd = sk_fs_open_dir(x->rootfd, dir, false, err);
        if (dfd < 0) return err && err->code == SK_ENOTFOUND ? 0 : -1;
        return sk_fs_remove_at(dfd, base, err);
    }
    _sk_close_ int dfd = sk_fs_open_dir(x->rootfd, dir, true, err);
    if (dfd < 0) return -1;
    if (mknodat(dfd, base, S_IFCHR | 0, makedev(0, 0)) < 0 && errno != EEXIST) {
        if (errno == EPERM)
            return sk_err_set(err, SK_EFORBIDDEN, "whiteout %s: needs root (CAP_MKNOD)", target);
        return sk_err_sys(err, "whiteout %s", target);
    }
    return 0;
}

static int remove_unseen(struct extract *x, int dfd, const char *dir, sk_err *err)
{
    int dup = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
    DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
    if (!d) {
        if (dup >= 0) close(dup);
        return sk_err_sys(err, "opendir %s", dir);
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        _sk_free_ char *p = *dir ? sk_printf("%s/%s", dir, de->d_name) : sk_strdup(de->d_name);
        if (!json_object_get(x->seen, p)) rc = sk_fs_remove_at(dfd, de->d_name, err);
    }
    closedir(d);
    return rc;
}

static int whiteout_opaque(struct extract *x, const char *clean, sk_err *err)
{
    const char *base;
    _sk_free_ char *dir = parent_of(clean, &base);
    _sk_close_ int dfd = sk_fs_open_dir(x->rootfd, dir, true, err);
    if (dfd < 0) return -1;
    if (!x->overlay) return remove_unseen(x, dfd, dir, err);
    if (fsetxattr(dfd, "trusted.overlay.opaque", "y", 1, 0) < 0) {
        if (errno == EPERM)
            return sk_err_set(err, SK_EFORBIDDEN, "opaque dir %s: needs root", *dir ? dir : "/");
        return sk_err_sys(err, "opaque dir %s", *dir ? dir : "/");
    }
    return 0;
}

/* Only user.* and file capabilities survive: trusted.overlay.* or
 * security.* from a layer could change how overlayfs or an LSM treats it. */
static void filter_xattrs(struct archive_entry *e)
{
    if (archive_entry_xattr_count(e) == 0) return;
    struct kept {
        char *name;
        void *val;
        size_t len;
    } keep[64];
    int n = 0;
    const char *name;
    const void *val;
    size_t len;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &name, &val, &len) == ARCHIVE_OK && n < 64) {
        if (strncmp(name, "user.", 5) && strcmp(name, "security.capability")) continue;
        keep[n].name = sk_strdup(name);
        keep[n].val = sk_malloc(len ? len : 1);
        memcpy(keep[n].val, val, len);
        keep[n++].len = len;
    }
    archive_entry_xattr_clear(e);
    for (int i = 0; i < n; i++) {
        archive_entry_xattr_add_entry(e, keep[i].name, keep[i].val, keep[i].len);
        free(keep[i].name);
        free(keep[i].val);
    }
}

/* Flat mode: a file replacing a directory (or the reverse) from a lower
 * layer removes it first, as docker's applier does. */
static int replace_lower(struct extract *x, const char *clean, mode_t type, sk_err *err)
{
    const char *base;
    _sk_free_ char *dir = parent_of(clean, &base);
    _sk_close_ int dfd = sk_fs_open_dir(x->rootfd, dir, false, err);
    if (dfd < 0) return err && err->code == SK_ENOTFOUND ? 0 : -1;
    struct stat st;
    if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) return 0;
    if (S_ISDIR(st.st_mode) == (type == AE_IFDIR)) return 0;
    return sk_fs_remove_at(dfd, base, err);
}

static int check_parent(struct extract *x, const char *clean, sk_err *err)
{
    const char *base;
    _sk_free_ char *dir = parent_of(clean, &base);
    int fd = sk_fs_open_dir(x->rootfd, dir, false, err);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    return err && err->code == SK_ENOTFOUND ? 0 : -1;
}

static int copy_data(struct archive *r, struct archive *w, sk_err *err)
{
    const void *buf;
    size_t size;
    la_int64_t off;
    for (;;) {
        int rc = archive_read_data_block(r, &buf, &size, &off);
        if (rc == ARCHIVE_EOF) return 0;
        if (rc < ARCHIVE_WARN)
            return sk_err_set(err, SK_EINVALID, "read layer: %s", archive_error_string(r));
        if (archive_write_data_block(w, buf, size, off) < ARCHIVE_WARN)
            return sk_err_set(err, SK_EINTERNAL, "write: %s", archive_error_string(w));
    }
}

static int extract_entry(struct extract *x, struct archive *r, struct archive_entry *e,
                         sk_err *err)
{
    const char *name = archive_entry_pathname(e);
    if (!name) return sk_err_set(err, SK_EINVALID, "layer entry without a name");
    _sk_free_ char *clean = sk_image_clean_path(name);
    if (!clean) return sk_err_set(err, SK_EINVALID, "layer entry \"%.200s\" escapes the root", name);
    if (!*clean) return 0; /* "./": the root keeps our mode */
    _sk_free_ char *target = NULL;
    switch (sk_image_whiteout(clean, &target)) {
    case SK_WH_FILE: return whiteout_file(x, target, err);
    case SK_WH_OPAQUE: return whiteout_opaque(x, clean, err);
    case SK_WH_META: return 0;
    case SK_WH_NONE: break;
    }
    mode_t type = archive_entry_filetype(e);
    if ((type == AE_IFCHR || type == AE_IFBLK) && !x->is_root) return 0;
    if (check_parent(x, clean, err) < 0) return -1;
    const char *link = archive_entry_hardlink(e);
    _sk_free_ char *abs_link = NULL;
    if (link) {
        _sk_free_ char *cl = sk_image_clean_path(link);
        if (!cl || !*cl)
            return sk_err_set(err, SK_EINVALID, "hard link \"%.200s\" escapes the root", link);
        if (check_parent(x, cl, err) < 0) return -1;
        abs_link = sk_printf("%s/%s", x->root, cl);
        archive_entry_set_hardlink(e, abs_link);
    }
    if (!x->overlay && !link && replace_lower(x, clean, type, err) < 0) return -1;
    filter_xattrs(e);
    _sk_free_ char *abs = sk_printf("%s/%s", x->root, clean);
    archive_entry_set_pathname(e, abs);
    if (archive_write_header(x->w, e) < ARCHIVE_WARN)
        return sk_err_set(err, SK_EINVALID, "extract %.200s: %s", clean,
                          archive_error_string(x->w));
    if (archive_entry_size(e) > 0 && copy_data(r, x->w, err) < 0) return -1;
    if (archive_write_finish_entry(x->w) < ARCHIVE_WARN)
        return sk_err_set(err, SK_EINTERNAL, "extract %.200s: %s", clean,
                          archive_error_string(x->w));
    if (x->seen) json_object_set_new(x->seen, clean, json_true());
    return 0;
}

static struct archive *open_raw(const char *path, sk_err *err)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e;
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_filter_xz(a);
    archive_read_support_filter_bzip2(a);
    archive_read_support_format_raw(a);
    if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK ||
        archive_read_next_header(a, &e) != ARCHIVE_OK) {
        sk_err_set(err, SK_EINVALID, "open layer %s: %s", path,
                   archive_error_string(a) ?: "empty blob");
        archive_read_free(a);
        return NULL;
    }
    return a;
}

static int extract_all(struct extract *x, struct archive *tar, sk_err *err)
{
    struct archive_entry *e;
    long entries = 0;
    for (;;) {
        int rc = archive_read_next_header(tar, &e);
        if (rc == ARCHIVE_EOF) return 0;
        if (rc < ARCHIVE_WARN)
            return sk_err_set(err, SK_EINVALID, "read layer: %s", archive_error_string(tar));
        if (++entries > LAYER_ENTRIES_MAX)
            return sk_err_set(err, SK_EINVALID, "layer has too many entries");
        if (extract_entry(x, tar, e, err) < 0) return -1;
    }
}

static int finish_digest(struct layer_src *src, const char *diff_id, sk_err *err)
{
    const void *p;
    /* the tar reader stops at the end-of-archive marker; the diff ID
     * covers the padding after it too */
    while (!src->eof)
        if (src_read(NULL, src, &p) < 0)
            return sk_err_set(err, SK_EINVALID, "read layer: %s",
                              archive_error_string(src->raw) ?: "too large");
    unsigned char bin[32];
    gnutls_hash_deinit(src->hash, bin);
    src->hash = NULL;
    if (!diff_id) return 0;
    char hex[65];
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", bin[i]);
    if (strcmp(diff_id + 7, hex))
        return sk_err_set(err, SK_EINVALID, "layer content does not match diff_id %s (sha256:%s)",
                          diff_id, hex);
    return 0;
}

int sk_image_apply_layer(const char *blob_path, const char *dest, bool overlay,
                         const char *diff_id, sk_err *err)
{
    _sk_free_ char *root = realpath(dest, NULL);
    if (!root) return sk_err_sys(err, "resolve %s", dest);
    struct layer_src *src = sk_calloc(1, sizeof *src);
    struct extract x = {.root = root, .overlay = overlay, .is_root = geteuid() == 0};
    struct archive *tar = NULL;
    int rc = -1;
    x.rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (x.rootfd < 0) {
        sk_err_sys(err, "open %s", root);
        goto out;
    }
    if (!(src->raw = open_raw(blob_path, err))) goto out;
    gnutls_hash_init(&src->hash, GNUTLS_DIG_SHA256);
    tar = archive_read_new();
    archive_read_support_format_tar(tar);
    if (archive_read_open(tar, src, NULL, src_read, NULL) != ARCHIVE_OK) {
        sk_err_set(err, SK_EINVALID, "layer is not a tar archive: %s", archive_error_string(tar));
        goto out;
    }
    x.w = archive_write_disk_new();
    int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_UNLINK |
                ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                ARCHIVE_EXTRACT_SECURE_SYMLINKS;
    if (x.is_root) flags |= ARCHIVE_EXTRACT_OWNER;
    archive_write_disk_set_options(x.w, flags);
    if (!overlay) x.seen = json_object();
    if (extract_all(&x, tar, err) < 0) goto out;
    /* applies the deferred directory modes and times */
    if (archive_write_close(x.w) != ARCHIVE_OK) {
        sk_err_set(err, SK_EINTERNAL, "finish layer: %s", archive_error_string(x.w));
        goto out;
    }
    rc = finish_digest(src, diff_id, err);
out:
    if (x.w) archive_write_free(x.w);
    if (tar) archive_read_free(tar);
    if (src->raw) archive_read_free(src->raw);
    if (src->hash) gnutls_hash_deinit(src->hash, NULL);
    free(src);
    json_decref(x.seen);
    if (x.rootfd >= 0) close(x.rootfd);
    return rc;
}
