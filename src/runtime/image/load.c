/* `skiff image load`: docker save tarballs (manifest.json; legacy
 * <id>/layer.tar members or the OCI-layout members of docker 25+) and OCI
 * archives (oci-layout + index.json + blobs/sha256/...), possibly
 * compressed, with any number of images.
 *
 * Archive members come in any order, so one streaming pass stages every
 * regular file into images/tmp while hashing it; then manifest.json or
 * index.json says which staged files are configs and layers, and those are
 * hard-linked into blobs/ under the digest we computed. Names inside an OCI
 * archive must agree with those digests. */
#include "runtime/image/image_int.h"

#include <archive.h>
#include <archive_entry.h>
#include <string.h>
#include <sys/file.h>

#define LOAD_ENTRIES_MAX 100000
#define LOAD_IMAGES_MAX 1000
#define LOAD_JSON_MAX (16 << 20)
#define LINK_HOPS_MAX 8

struct load {
    const sk_image_store *s;
    const char *base;
    json_t *files;   /* member -> {"p": staged path, "d": digest, "s": size, "z": compression} */
    json_t *links;   /* member -> member it links to */
    json_t *pending; /* index entries to add: [name|null, media type, digest, size, index digest] */
    json_t *loaded;  /* names (or image IDs) to report */
};

/* Joins a symlink target to its directory, resolving ".."; NULL if it
 * climbs above the archive root. */
static char *resolve_link(const char *member, const char *target)
{
    _sk_free_ char *joined = NULL;
    if (target[0] == '/') {
        joined = sk_strdup(target);
    } else {
        const char *slash = strrchr(member, '/');
        joined = slash ? sk_printf("%.*s/%s", (int)(slash - member), member, target)
                       : sk_strdup(target);
    }
    const char *comps[256];
    size_t lens[256], n = 0;
    for (const char *p = joined; *p;) {
        while (*p == '/') p++;
        const char *e = strchrnul(p, '/');
        size_t len = (size_t)(e - p);
        if (len == 2 && !memcmp(p, "..", 2)) {
            if (n == 0) return NULL;
            n--;
        } else if (len && !(len == 1 && *p == '.')) {
            if (n == SK_ARRAY_LEN(comps)) return NULL;
            comps[n] = p;
            lens[n++] = len;
        }
        p = e;
    }
    sk_buf b = SK_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        if (i) sk_buf_add(&b, "/", 1);
        sk_buf_add(&b, comps[i], lens[i]);
    }
    if (!b.len) {
        sk_buf_release(&b);
        return NULL;
    }
    return sk_buf_take(&b);
}

static const char *compression(const unsigned char *m, size_t n)
{
    if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b) return "gzip";
    if (n >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) return "zstd";
    if (n >= 6 && !memcmp(m, "\xfd" "7zXZ\0", 6)) return "xz";
    if (n >= 3 && !memcmp(m, "BZh", 3)) return "bzip2";
    return "";
}

static void forget_file(json_t *files, const char *name)
{
    const char *p = sk_json_path_str(json_object_get(files, name), "p");
    if (p) unlink(p);
    json_object_del(files, name);
}

static int stage_file(struct load *l, struct archive *a, const char *name, sk_err *err)
{
    sk_blob_writer w;
    unsigned char magic[8];
    size_t nm = 0;
    char buf[65536];
    if (sk_blob_begin(l->s, &w, -1, err) < 0) return -1;
    for (;;) {
        la_ssize_t n = archive_read_data(a, buf, sizeof buf);
        if (n == 0) break;
        if (n < 0) {
            sk_blob_abort(&w);
            return sk_err_set(err, SK_EINVALID, "read %s: %s", name, archive_error_string(a));
        }
        if (nm < sizeof magic) {
            size_t k = (size_t)n < sizeof magic - nm ? (size_t)n : sizeof magic - nm;
            memcpy(magic + nm, buf, k);
            nm += k;
        }
        if (sk_blob_write(&w, buf, (size_t)n, err) < 0) {
            sk_blob_abort(&w);
            return -1;
        }
    }
    char dig[72];
    int64_t size = w.size;
    if (sk_blob_finish(&w, dig, err) < 0) return -1;
    forget_file(l->files, name);
    json_object_del(l->links, name);
    json_object_set_new(l->files, name,
                        json_pack("{s:s,s:s,s:I,s:s}", "p", w.tmp, "d", dig, "s", (json_int_t)size,
                                  "z", compression(magic, nm)));
    free(w.tmp);
    return 0;
}

static int stage_entry(struct load *l, struct archive *a, struct archive_entry *e, sk_err *err)
{
    const char *raw = archive_entry_pathname(e);
    _sk_free_ char *name = raw ? sk_image_clean_path(raw) : NULL;
    if (!name) return sk_err_set(err, SK_EINVALID, "bad archive member name \"%.200s\"", raw ?: "");
    if (!*name) return 0;
    const char *hard = archive_entry_hardlink(e);
    if (hard) {
        _sk_free_ char *t = sk_image_clean_path(hard);
        if (!t || !*t) return sk_err_set(err, SK_EINVALID, "bad hard link in archive");
        forget_file(l->files, name);
        json_object_set_new(l->links, name, json_string(t));
        return 0;
    }
    if (archive_entry_filetype(e) == AE_IFLNK) {
        const char *target = archive_entry_symlink(e);
        _sk_free_ char *t = target ? resolve_link(name, target) : NULL;
        forget_file(l->files, name);
        if (t) json_object_set_new(l->links, name, json_string(t));
        return 0;
    }
    if (archive_entry_filetype(e) != AE_IFREG) return 0;
    return stage_file(l, a, name, err);
}

static int stage_archive(struct load *l, const char *path, sk_err *err)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e;
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_filter_xz(a);
    archive_read_support_filter_bzip2(a);
    archive_read_support_format_tar(a);
    int rc = !strcmp(path, "-") ? archive_read_open_fd(a, 0, 65536)
                                : archive_read_open_filename(a, path, 65536);
    if (rc != ARCHIVE_OK) {
        sk_err_set(err, SK_EINVALID, "open %s: %s", path, archive_error_string(a));
        archive_read_free(a);
        return -1;
    }
    long count = 0;
    for (rc = 0; rc == 0;) {
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) {
            rc = sk_err_set(err, SK_EINVALID, "read %s: %s", path, archive_error_string(a));
        } else if (++count > LOAD_ENTRIES_MAX) {
            rc = sk_err_set(err, SK_EINVALID, "%s: more than %d members", path, LOAD_ENTRIES_MAX);
        } else {
            rc = stage_entry(l, a, e, err);
        }
    }
    archive_read_free(a);
    return rc;
}

static const json_t *lookup(const struct load *l, const char *name)
{
    for (int hop = 0; name && hop < LINK_HOPS_MAX; hop++) {
        const json_t *f = json_object_get(l->files, name);
        if (f) return f;
        name = json_string_value(json_object_get(l->links, name));
    }
    return NULL;
}

static char *read_member(const struct load *l, const char *name, size_t *len, sk_err *err)
{
    const json_t *f = lookup(l, name);
    if (!f) {
        sk_err_set(err, SK_EINVALID, "archive has no %.200s", name);
        return NULL;
    }
    if (json_integer_value(json_object_get(f, "s")) > LOAD_JSON_MAX) {
        sk_err_set(err, SK_ETOOLARGE, "%.200s is too large", name);
        return NULL;
    }
    return sk_read_file(sk_json_str(f, "p"), len, err);
}

static json_t *read_json(const struct load *l, const char *name, sk_err *err)
{
    size_t n = 0;
    _sk_free_ char *data = read_member(l, name, &n, err);
    if (!data) return NULL;
    json_error_t je;
    json_t *j = json_loadb(data, n, 0, &je);
    if (!j) sk_err_set(err, SK_EINVALID, "%.200s: %s", name, je.text);
    return j;
}

/* Files a staged member under its digest; expect (optional) must match. */
static int commit_member(struct load *l, const json_t *f, const char *name, const char *expect,
                         sk_err *err)
{
    const char *d = sk_json_str(f, "d");
    if (expect && strcmp(expect, d))
        return sk_err_set(err, SK_EINVALID, "%.200s does not match its digest %s", name, expect);
    return sk_blob_link(l->s, sk_json_str(f, "p"), d, err);
}

static void add_pending(struct load *l, const char *name, const char *mt, const char *digest,
                        int64_t size, const char *ix, const char *id)
{
    json_array_append_new(l->pending, json_pack("[s?,s,s,I,s?]", name, mt, digest,
                                                (json_int_t)size, ix));
    json_array_append_new(l->loaded, json_string(name ? name : id));
}


/* ---- docker save --------------------------------------------------------- */

static json_t *docker_layers(struct load *l, const json_t *names, char **diff_ids, sk_err *err)
{
    _sk_json_ json_t *out = json_array();
    size_t i;
    json_t *jn;
    json_array_foreach(names, i, jn) {
        const char *name = json_string_value(jn);
        const json_t *f = name ? lookup(l, name) : NULL;
        if (!f) {
            sk_err_set(err, SK_EINVALID, "manifest.json: layer %.200s is missing", name ?: "?");
            return NULL;
        }
        const char *z = sk_json_str(f, "z"), *mt = NULL;
        if (!*z) mt = MT_OCI_LAYER;
        else if (!strcmp(z, "gzip")) mt = MT_OCI_LAYER_GZ;
        else if (!strcmp(z, "zstd")) mt = MT_OCI_LAYER_ZSTD;
        if (!mt) {
            sk_err_set(err, SK_EINVALID, "layer %.200s: %s compression is not supported", name, z);
            return NULL;
        }
        /* a plain tar's digest is its diff ID: check it now */
        if (commit_member(l, f, name, *z ? NULL : diff_ids[i], err) < 0) return NULL;
        json_array_append_new(out, json_pack("{s:s,s:s,s:O}", "mediaType", mt, "digest",
                                             sk_json_str(f, "d"), "size", json_object_get(f, "s")));
    }
    return SK_TAKE(out);
}

static int docker_names(struct load *l, const json_t *tags, const char *mdig, int64_t msize,
                        const char *id, sk_err *err)
{
    size_t i, named = 0;
    json_t *t;
    json_array_foreach(tags, i, t) {
        if (!json_is_string(t)) continue;
        _sk_free_ char *name = sk_image_normalize(json_string_value(t), err);
        if (!name) return sk_err_wrap(err, "manifest.json: RepoTags");
        add_pending(l, name, MT_OCI_MANIFEST, mdig, msize, NULL, id);
        named++;
    }
    if (!named) add_pending(l, NULL, MT_OCI_MANIFEST, mdig, msize, NULL, id);
    return 0;
}

static int docker_image(struct load *l, const json_t *item, sk_err *err)
{
    const char *cfgname = sk_json_str(item, "Config");
    const json_t *names = json_object_get(item, "Layers");
    const json_t *cf = cfgname ? lookup(l, cfgname) : NULL;
    if (!cf || !json_is_array(names))
        return sk_err_set(err, SK_EINVALID, "manifest.json: entry without a Config or Layers");
    size_t n = 0, nd = 0;
    _sk_free_ char *data = read_member(l, cfgname, &n, err);
    char **diff_ids = NULL;
    sk_image_cfg *cfg = data ? sk_image_cfg_parse(data, n, "", &diff_ids, err) : NULL;
    if (!cfg) return sk_err_wrap(err, "config %.100s", cfgname);
    sk_image_cfg_free(cfg);
    while (diff_ids[nd]) nd++;
    _sk_json_ json_t *layers = NULL;
    if (nd != json_array_size(names)) {
        sk_err_set(err, SK_EINVALID, "config %.100s lists %zu diff_ids for %zu layers", cfgname,
                   nd, json_array_size(names));
    } else {
        layers = docker_layers(l, names, diff_ids, err);
    }
    sk_image_strv_free(diff_ids);
    if (!layers || commit_member(l, cf, cfgname, NULL, err) < 0) return -1;
    const char *cdig = sk_json_str(cf, "d");
    _sk_json_ json_t *m = json_pack("{s:i,s:s,s:{s:s,s:s,s:O},s:O}", "schemaVersion", 2,
                                    "mediaType", MT_OCI_MANIFEST, "config", "mediaType",
                                    MT_OCI_CONFIG, "digest", cdig, "size",
                                    json_object_get(cf, "s"), "layers", layers);
    _sk_free_ char *text = json_dumps(m, JSON_COMPACT);
    char mdig[72];
    if (sk_blob_put(l->s, text, strlen(text), NULL, mdig, err) < 0) return -1;
    return docker_names(l, json_object_get(item, "RepoTags"), mdig, (int64_t)strlen(text), cdig,
                        err);
}

static int load_docker(struct load *l, sk_err *err)
{
    _sk_json_ json_t *man = read_json(l, "manifest.json", err);
    if (!man) return -1;
    if (!json_is_array(man) || json_array_size(man) > LOAD_IMAGES_MAX)
        return sk_err_set(err, SK_EINVALID, "manifest.json: not a list of images");
    size_t i;
    json_t *item;
    json_array_foreach(man, i, item) if (docker_image(l, item, err) < 0) return -1;
    return 0;
}

/* ---- OCI archive ---------------------------------------------------------- */

static const json_t *oci_blob(struct load *l, const struct sk_image_desc *d, sk_err *err)
{
    _sk_free_ char *name = sk_printf("blobs/sha256/%s", d->digest + 7);
    const json_t *f = lookup(l, name);
    if (!f) {
        sk_err_set(err, SK_EINVALID, "archive has no blob %s", d->digest);
        return NULL;
    }
    if (strcmp(sk_json_str(f, "d"), d->digest) ||
        json_integer_value(json_object_get(f, "s")) != d->size) {
        sk_err_set(err, SK_EINVALID, "archive blob %s does not match its digest or size",
                   d->digest);
        return NULL;
    }
    return f;
}

static int oci_manifest(struct load *l, const struct sk_image_desc *d, const json_t *f,
                        const char *name, const char *ix, sk_err *err)
{
    _sk_free_ char *mname = sk_printf("blobs/sha256/%s", d->digest + 7);
    size_t n = 0;
    _sk_free_ char *data = read_member(l, mname, &n, err);
    struct sk_image_manifest m;
    if (!data || sk_image_manifest_parse(data, n, &m, err) < 0) return -1;
    int rc = 0;
    for (size_t i = 0; i <= m.n_layers && rc == 0; i++) {
        const struct sk_image_desc *b = i < m.n_layers ? &m.layers[i] : &m.config;
        const json_t *bf = oci_blob(l, b, err);
        rc = bf ? commit_member(l, bf, b->digest, NULL, err) : -1;
    }
    if (rc == 0) rc = commit_member(l, f, d->digest, NULL, err);
    if (rc == 0) add_pending(l, name, MT_OCI_MANIFEST, d->digest, d->size, ix, m.config.digest);
    sk_image_manifest_release(&m);
    return rc;
}

static int oci_entry(struct load *l, const json_t *desc, const char *name, const char *ix,
                     int depth, sk_err *err)
{
    struct sk_image_desc d;
    if (sk_image_desc_parse(desc, "index.json entry", &d, err) < 0) return -1;
    int rc = -1;
    const json_t *f = oci_blob(l, &d, err);
    _sk_free_ char *mname = sk_printf("blobs/sha256/%s", d.digest + 7);
    _sk_json_ json_t *body = f ? read_json(l, mname, err) : NULL;
    const char *kind = body ? sk_image_manifest_kind(d.media_type, body) : NULL;
    if (body && !kind) {
        sk_err_set(err, SK_EINVALID, "blob %s is not an image manifest or index", d.digest);
    } else if (kind && sk_image_media_is_index(kind)) {
        struct sk_image_desc pick;
        if (depth >= SK_IMAGE_NESTED_INDEX_MAX) {
            sk_err_set(err, SK_EINVALID, "indexes nested too deep");
        } else if (sk_image_index_pick(body, &pick, err) == 0) {
            _sk_json_ json_t *pj = json_pack("{s:s,s:s,s:I}", "mediaType", pick.media_type,
                                             "digest", pick.digest, "size", (json_int_t)pick.size);
            rc = oci_entry(l, pj, name, ix ? ix : d.digest, depth + 1, err);
            sk_image_desc_release(&pick);
        }
    } else if (kind) {
        rc = oci_manifest(l, &d, f, name, ix, err);
    }
    sk_image_desc_release(&d);
    return rc;
}

/* io.containerd.image.name, else a full org.opencontainers.image.ref.name,
 * else BASE:<ref.name>; *name stays NULL for an untagged image. */
static int oci_name(const struct load *l, const json_t *desc, char **name, sk_err *err)
{
    const json_t *an = json_object_get(desc, "annotations");
    const char *full = sk_json_str(an, AN_NAME);
    const char *ref = sk_json_str(an, AN_REF_NAME);
    *name = NULL;
    if (!full && ref && (strchr(ref, '/') || strchr(ref, ':'))) full = ref;
    if (full) {
        *name = sk_image_normalize(full, err);
        return *name ? 0 : sk_err_wrap(err, "index.json: image name");
    }
    if (!ref || !l->base) return 0;
    _sk_free_ char *joined = sk_printf("%s:%s", l->base, ref);
    *name = sk_image_normalize(joined, err);
    return *name ? 0 : sk_err_wrap(err, "index.json: image name");
}

static int load_oci(struct load *l, sk_err *err)
{
    _sk_json_ json_t *idx = read_json(l, "index.json", err);
    if (!idx) return -1;
    json_t *arr = json_object_get(idx, "manifests");
    if (!json_is_array(arr) || json_array_size(arr) > LOAD_IMAGES_MAX)
        return sk_err_set(err, SK_EINVALID, "index.json: no manifests");
    size_t i;
    json_t *desc;
    json_array_foreach(arr, i, desc) {
        _sk_free_ char *name = NULL;
        if (oci_name(l, desc, &name, err) < 0 || oci_entry(l, desc, name, NULL, 0, err) < 0)
            return -1;
    }
    return 0;
}

/* ---- driver ------------------------------------------------------------------ */

static int add_all(json_t *index, void *ctx, sk_err *err)
{
    struct load *l = ctx;
    size_t i;
    json_t *p;
    json_array_foreach(l->pending, i, p) {
        sk_image_index_put(index, json_string_value(json_array_get(p, 0)),
                           json_string_value(json_array_get(p, 1)),
                           json_string_value(json_array_get(p, 2)),
                           json_integer_value(json_array_get(p, 3)),
                           json_string_value(json_array_get(p, 4)));
    }
    return 0;
}

static int load_staged(struct load *l, const char *path, sk_err *err)
{
    if (stage_archive(l, path, err) < 0) return -1;
    int rc;
    if (lookup(l, "manifest.json")) rc = load_docker(l, err);
    else if (lookup(l, "index.json")) rc = load_oci(l, err);
    else return sk_err_set(err, SK_EINVALID, "%s: not a docker save or OCI archive (no manifest.json or index.json)", path);
    if (rc < 0) return -1;
    if (!json_array_size(l->pending)) return sk_err_set(err, SK_EINVALID, "%s: no images", path);
    return sk_image_index_update(l->s, add_all, l, err);
}

int sk_image_load(sk_image_store *s, const char *path, const char *base, char ***refs,
                  sk_err *err)
{
    if (refs) *refs = NULL;
    _sk_close_ int gc = sk_image_lock(s, SK_LOCK_GC, LOCK_SH, err);
    if (gc < 0) return -1;
    struct load l = {.s = s, .base = base, .files = json_object(), .links = json_object(),
                     .pending = json_array(), .loaded = json_array()};
    int rc = load_staged(&l, path, err);
    const char *k;
    json_t *f;
    json_object_foreach(l.files, k, f) unlink(sk_json_str(f, "p"));
    if (rc == 0 && refs) {
        char **v = sk_calloc(json_array_size(l.loaded) + 1, sizeof *v);
        size_t i;
        json_t *n;
        json_array_foreach(l.loaded, i, n) v[i] = sk_strdup(json_string_value(n));
        *refs = v;
    }
    json_decref(l.files);
    json_decref(l.links);
    json_decref(l.pending);
    json_decref(l.loaded);
    if (rc < 0) sk_err_wrap(err, "load %s", path);
    return rc;
}
