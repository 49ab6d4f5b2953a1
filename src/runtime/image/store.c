/* The store on disk: OCI image layout (oci-layout, index.json,
 * blobs/sha256/<hex>) plus layers/ (unpacked layer cache) and tmp/.
 *
 * Blobs are written to tmp/ while hashed and renamed into place only when
 * the digest matches, so a blob path always holds verified content. The
 * index is rewritten whole (tmp + rename) under index.lock, so readers need
 * no lock. Anything that writes blobs or layer dirs holds gc.lock shared
 * for its whole run and GC takes it exclusive, so GC never deletes a blob
 * that a load or pull is about to reference. */
#include "runtime/image/image_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

sk_image_store *sk_image_store_open(const char *data_dir, sk_err *err)
{
    if (!data_dir || !*data_dir) {
        sk_err_set(err, SK_EINVALID, "image store: empty data dir");
        return NULL;
    }
    /* refcounted; early, before the caller's threads pull */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    sk_image_store *s = sk_calloc(1, sizeof *s);
    /* absolute, so layer dirs handed to the runtime work from any cwd */
    char cwd[4096];
    if (data_dir[0] == '/' || !getcwd(cwd, sizeof cwd)) s->data_dir = sk_strdup(data_dir);
    else s->data_dir = sk_printf("%s/%s", cwd, data_dir);
    data_dir = s->data_dir;
    s->root = sk_printf("%s/images", data_dir);
    s->blobs = sk_printf("%s/blobs/sha256", s->root);
    s->layers = sk_printf("%s/layers", s->root);
    s->tmp = sk_printf("%s/tmp", s->root);
    s->registries = sk_printf("%s/registries.yaml", data_dir);
    _sk_free_ char *layout = sk_printf("%s/oci-layout", s->root);
    _sk_free_ char *index = sk_printf("%s/index.json", s->root);
    static const char layout_json[] = "{\"imageLayoutVersion\":\"1.0.0\"}\n";
    static const char index_json[] =
        "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX "\",\"manifests\":[]}\n";
    /* private images may sit in the store: keep it to root */
    if (sk_mkdir_p(s->root, 0700, err) < 0 || sk_mkdir_p(s->blobs, 0755, err) < 0 ||
        sk_mkdir_p(s->layers, 0755, err) < 0 || sk_mkdir_p(s->tmp, 0700, err) < 0)
        goto fail;
    if (access(layout, F_OK) < 0 &&
        sk_write_file(layout, layout_json, sizeof layout_json - 1, 0644, err) < 0)
        goto fail;
    if (access(index, F_OK) < 0) {
        int lk = sk_image_lock(s, SK_LOCK_INDEX, LOCK_EX, err);
        if (lk < 0) goto fail;
        int rc = access(index, F_OK) < 0
                     ? sk_write_file(index, index_json, sizeof index_json - 1, 0644, err)
                     : 0;
        close(lk);
        if (rc < 0) goto fail;
    }
    return s;
fail:
    sk_err_wrap(err, "image store %s", s->root);
    sk_image_store_free(s);
    return NULL;
}

void sk_image_store_free(sk_image_store *s)
{
    if (!s) return;
    free(s->data_dir);
    free(s->root);
    free(s->blobs);
    free(s->layers);
    free(s->tmp);
    free(s->registries);
    free(s);
    curl_global_cleanup();
}

int sk_image_lock(const sk_image_store *s, const char *name, int op, sk_err *err)
{
    _sk_free_ char *path = sk_printf("%s/%s", s->root, name);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return sk_err_sys(err, "open %s", path);
    while (flock(fd, op) < 0) {
        if (errno == EINTR) continue;
        int e = errno;
        close(fd);
        errno = e;
        if (e == EWOULDBLOCK) return sk_err_set(err, SK_ECONFLICT, "image store is busy");
        return sk_err_sys(err, "lock %s", path);
    }
    return fd;
}

char *sk_image_blob_path(const sk_image_store *s, const char *digest)
{
    return sk_printf("%s/%s", s->blobs, digest + 7);
}

static void hex_digest(const unsigned char bin[32], char out[72])
{
    static const char hx[] = "0123456789abcdef";
    memcpy(out, "sha256:", 7);
    for (int i = 0; i < 32; i++) {
        out[7 + 2 * i] = hx[bin[i] >> 4];
        out[8 + 2 * i] = hx[bin[i] & 15];
    }
    out[71] = 0;
}

void sk_sha256_hex(const void *p, size_t n, char out[72])
{
    unsigned char bin[32];
    gnutls_hash_fast(GNUTLS_DIG_SHA256, p, n, bin);
    hex_digest(bin, out);
}

bool sk_blob_exists(const sk_image_store *s, const char *digest)
{
    if (!sk_image_digest_valid(digest)) return false;
    _sk_free_ char *path = sk_image_blob_path(s, digest);
    return access(path, F_OK) == 0;
}

int sk_blob_begin(const sk_image_store *s, sk_blob_writer *w, int64_t limit, sk_err *err)
{
    char rnd[9];
    memset(w, 0, sizeof *w);
    w->fd = -1;
    w->limit = limit;
    sk_rand_suffix(rnd, sizeof rnd);
    w->tmp = sk_printf("%s/blob-%d-%s", s->tmp, (int)getpid(), rnd);
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        sk_err_sys(err, "create %s", w->tmp);
        free(SK_TAKE(w->tmp));
        return -1;
    }
    if (gnutls_hash_init(&w->hash, GNUTLS_DIG_SHA256) < 0) {
        sk_blob_abort(w);
        return sk_err_set(err, SK_EINTERNAL, "sha256 unavailable");
    }
    return 0;
}

int sk_blob_write(sk_blob_writer *w, const void *p, size_t n, sk_err *err)
{
    if (w->limit >= 0 && w->size + (int64_t)n > w->limit)
        return sk_err_set(err, SK_ETOOLARGE, "blob is larger than its %lld bytes",
                          (long long)w->limit);
    gnutls_hash(w->hash, p, n);
    w->size += (int64_t)n;
    const char *c = p;
    while (n) {
        ssize_t k = write(w->fd, c, n);
        if (k < 0) {
            if (errno == EINTR) continue;
            return sk_err_sys(err, "write blob");
        }
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

void sk_blob_abort(sk_blob_writer *w)
{
    if (w->fd >= 0) close(w->fd);
    w->fd = -1;
    if (w->hash) {
        unsigned char bin[32];
        gnutls_hash_deinit(w->hash, bin);
        w->hash = NULL;
    }
    if (w->tmp) unlink(w->tmp);
    free(SK_TAKE(w->tmp));
}

int sk_blob_commit(const sk_image_store *s, sk_blob_writer *w, const char *expect, char *out,
                   sk_err *err)
{
    unsigned char bin[32];
    char dig[72];
    gnutls_hash_deinit(w->hash, bin);
    w->hash = NULL;
    hex_digest(bin, dig);
    if (expect && strcmp(expect, dig)) {
        sk_blob_abort(w);
        return sk_err_set(err, SK_EINVALID, "digest mismatch: expected %s, got %s", expect, dig);
    }
    if (fdatasync(w->fd) < 0 || close(w->fd) < 0) {
        w->fd = -1;
        sk_blob_abort(w);
        return sk_err_sys(err, "sync blob");
    }
    w->fd = -1;
    _sk_free_ char *path = sk_image_blob_path(s, dig);
    if (rename(w->tmp, path) < 0) {
        sk_blob_abort(w);
        return sk_err_sys(err, "store blob %s", dig);
    }
    free(SK_TAKE(w->tmp));
    if (out) memcpy(out, dig, 72);
    return 0;
}

int sk_blob_finish(sk_blob_writer *w, char out[72], sk_err *err)
{
    unsigned char bin[32];
    gnutls_hash_deinit(w->hash, bin);
    w->hash = NULL;
    hex_digest(bin, out);
    int rc = fdatasync(w->fd);
    if (close(w->fd) < 0) rc = -1;
    w->fd = -1;
    if (rc < 0) {
        sk_blob_abort(w);
        return sk_err_sys(err, "sync blob");
    }
    return 0;
}

int sk_blob_link(const sk_image_store *s, const char *path, const char *digest, sk_err *err)
{
    _sk_free_ char *final = sk_image_blob_path(s, digest);
    if (link(path, final) < 0 && errno != EEXIST) return sk_err_sys(err, "store blob %s", digest);
    return 0;
}

int sk_blob_put(const sk_image_store *s, const void *p, size_t n, const char *expect, char *out,
                sk_err *err)
{
    char dig[72];
    sk_sha256_hex(p, n, dig);
    if (expect && strcmp(expect, dig))
        return sk_err_set(err, SK_EINVALID, "digest mismatch: expected %s, got %s", expect, dig);
    if (out) memcpy(out, dig, 72);
    if (sk_blob_exists(s, dig)) return 0;
    sk_blob_writer w;
    if (sk_blob_begin(s, &w, -1, err) < 0) return -1;
    if (sk_blob_write(&w, p, n, err) < 0) {
        sk_blob_abort(&w);
        return -1;
    }
    return sk_blob_commit(s, &w, dig, NULL, err);
}

char *sk_blob_read(const sk_image_store *s, const char *digest, size_t max, size_t *len,
                   sk_err *err)
{
    if (!sk_image_digest_valid(digest)) {
        sk_err_set(err, SK_EINVALID, "invalid digest \"%s\"", digest ? digest : "");
        return NULL;
    }
    _sk_free_ char *path = sk_image_blob_path(s, digest);
    struct stat st;
    if (stat(path, &st) < 0) {
        sk_err_set(err, SK_ENOTFOUND, "blob %s is missing", digest);
        return NULL;
    }
    if ((uint64_t)st.st_size > max) {
        sk_err_set(err, SK_ETOOLARGE, "blob %s is too large (%lld bytes)", digest,
                   (long long)st.st_size);
        return NULL;
    }
    size_t n = 0;
    char *data = sk_read_file(path, &n, err);
    if (!data) return NULL;
    char dig[72];
    sk_sha256_hex(data, n, dig);
    if (strcmp(dig, digest)) {
        free(data);
        sk_err_set(err, SK_EINTERNAL, "blob %s is corrupt (sha256 %s)", digest, dig);
        return NULL;
    }
    if (len) *len = n;
    return data;
}

/* ---- index ---------------------------------------------------------------- */

const char *sk_image_ann(const json_t *entry, const char *key)
{
    return sk_json_str(json_object_get(entry, "annotations"), key);
}

json_t *sk_image_index_read(const sk_image_store *s, sk_err *err)
{
    _sk_free_ char *path = sk_printf("%s/index.json", s->root);
    struct stat st;
    if (stat(path, &st) == 0 && st.st_size > SK_IMAGE_INDEX_MAX) {
        sk_err_set(err, SK_ETOOLARGE, "%s is too large", path);
        return NULL;
    }
    size_t n = 0;
    _sk_free_ char *data = sk_read_file(path, &n, err);
    if (!data) return NULL;
    json_error_t je;
    json_t *idx = json_loadb(data, n, 0, &je);
    if (!idx || !json_is_array(json_object_get(idx, "manifests"))) {
        json_decref(idx);
        sk_err_set(err, SK_EINTERNAL, "%s is corrupt: %s", path, je.text);
        return NULL;
    }
    return idx;
}

int sk_image_index_update(const sk_image_store *s, sk_index_edit_fn fn, void *ctx, sk_err *err)
{
    _sk_close_ int lk = sk_image_lock(s, SK_LOCK_INDEX, LOCK_EX, err);
    if (lk < 0) return -1;
    _sk_json_ json_t *idx = sk_image_index_read(s, err);
    if (!idx) return -1;
    if (fn(idx, ctx, err) < 0) return -1;
    _sk_free_ char *text = json_dumps(idx, JSON_INDENT(1) | JSON_SORT_KEYS);
    if (!text) return sk_err_set(err, SK_EINTERNAL, "encode index");
    _sk_free_ char *path = sk_printf("%s/index.json", s->root);
    return sk_write_file(path, text, strlen(text), 0644, err);
}

void sk_image_index_put(json_t *index, const char *name, const char *media_type,
                        const char *digest, int64_t size, const char *index_digest)
{
    json_t *arr = json_object_get(index, "manifests");
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) {
        const char *n = sk_image_ann(e, AN_NAME);
        bool same = name ? n && !strcmp(n, name)
                         : !n && !strcmp(sk_json_str(e, "digest") ?: "", digest);
        if (same) {
            json_array_remove(arr, i);
            break;
        }
    }
    json_t *an = json_object();
    char now[32];
    snprintf(now, sizeof now, "%lld", (long long)(sk_wall_ms() / 1000));
    json_object_set_new(an, AN_STORED, json_string(now));
    if (name) {
        json_object_set_new(an, AN_NAME, json_string(name));
        const char *tag = strrchr(name, ':');
        const char *slash = strrchr(name, '/');
        if (!strchr(name, '@') && tag && slash && tag > slash)
            json_object_set_new(an, AN_REF_NAME, json_string(tag + 1));
    }
    if (index_digest) json_object_set_new(an, AN_INDEX_DIGEST, json_string(index_digest));
    json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:o}", "mediaType", media_type, "digest",
                                         digest, "size", (json_int_t)size, "annotations", an));
}

static bool is_hex(const char *s, size_t min)
{
    size_t n = strlen(s);
    if (n < min || n > 64) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}

static char *entry_config_digest(const sk_image_store *s, const json_t *e)
{
    sk_err err = SK_ERR_INIT;
    size_t n = 0;
    _sk_free_ char *data =
        sk_blob_read(s, sk_json_str(e, "digest"), SK_IMAGE_MANIFEST_MAX, &n, &err);
    if (!data) return NULL;
    struct sk_image_manifest m;
    if (sk_image_manifest_parse(data, n, &m, &err) < 0) return NULL;
    char *id = SK_TAKE(m.config.digest);
    sk_image_manifest_release(&m);
    return id;
}

/* By image ID: a full "sha256:<hex>" or a unique hex prefix. */
static json_t *find_by_id(const sk_image_store *s, json_t *index, const char *id, sk_err *err)
{
    const char *hex = strncmp(id, "sha256:", 7) ? id : id + 7;
    json_t *out = json_array();
    _sk_free_ char *first = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(index, "manifests"), i, e) {
        _sk_free_ char *cfg = entry_config_digest(s, e);
        if (!cfg || strncmp(cfg + 7, hex, strlen(hex))) continue;
        if (first && strcmp(first, cfg)) {
            json_decref(out);
            sk_err_set(err, SK_EINVALID, "image ID prefix \"%s\" is ambiguous", id);
            return NULL;
        }
        if (!first) first = sk_strdup(cfg);
        json_array_append(out, e);
    }
    if (!json_array_size(out)) {
        json_decref(out);
        sk_err_set(err, SK_ENOTFOUND, "image \"%s\" not found", id);
        return NULL;
    }
    return out;
}

static bool digest_matches(const json_t *e, const sk_image_ref *r, const char *repo)
{
    const char *n = sk_image_ann(e, AN_NAME);
    size_t rl = strlen(repo);
    if (!n || strncmp(n, repo, rl) || (n[rl] != ':' && n[rl] != '@')) return false;
    const char *d = sk_json_str(e, "digest");
    const char *ix = sk_image_ann(e, AN_INDEX_DIGEST);
    return (d && !strcmp(d, r->digest)) || (ix && !strcmp(ix, r->digest));
}

json_t *sk_image_index_find(const sk_image_store *s, json_t *index, const char *ref, sk_err *err)
{
    if (!strncmp(ref, "sha256:", 7)) {
        if (!is_hex(ref + 7, 4)) {
            sk_err_set(err, SK_EINVALID, "invalid image ID \"%s\"", ref);
            return NULL;
        }
        return find_by_id(s, index, ref, err);
    }
    sk_image_ref r;
    sk_err perr = SK_ERR_INIT;
    if (sk_image_ref_parse(ref, &r, &perr) < 0) {
        if (is_hex(ref, 4)) return find_by_id(s, index, ref, err);
        if (err) *err = perr;
        return NULL;
    }
    _sk_free_ char *name = sk_image_ref_string(&r);
    _sk_free_ char *repo = sk_image_ref_repo(&r);
    json_t *out = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(index, "manifests"), i, e) {
        const char *n = sk_image_ann(e, AN_NAME);
        if ((n && !strcmp(n, name)) || (r.digest && digest_matches(e, &r, repo)))
            json_array_append(out, e);
    }
    sk_image_ref_release(&r);
    if (json_array_size(out)) return out;
    json_decref(out);
    if (is_hex(ref, 4)) return find_by_id(s, index, ref, err);
    sk_err_set(err, SK_ENOTFOUND, "image \"%s\" not found", name);
    return NULL;
}

int sk_image_exists(sk_image_store *s, const char *ref, sk_err *err)
{
    _sk_json_ json_t *idx = sk_image_index_read(s, err);
    if (!idx) return -1;
    sk_err ferr = SK_ERR_INIT;
    _sk_json_ json_t *found = sk_image_index_find(s, idx, ref, &ferr);
    if (found) return 1;
    if (ferr.code == SK_ENOTFOUND) return 0;
    if (err) *err = ferr;
    return -1;
}

/* ---- listing -------------------------------------------------------------- */

static int info_cmp(const void *a, const void *b)
{
    const sk_image_info *x = a, *y = b;
    if (!x->ref || !y->ref) return (x->ref == NULL) - (y->ref == NULL);
    return strcmp(x->ref, y->ref);
}

int sk_image_list(sk_image_store *s, sk_image_info **out, size_t *n, sk_err *err)
{
    *out = NULL;
    *n = 0;
    _sk_json_ json_t *idx = sk_image_index_read(s, err);
    if (!idx) return -1;
    json_t *arr = json_object_get(idx, "manifests");
    sk_image_info *v = sk_calloc(json_array_size(arr) + 1, sizeof *v);
    size_t k = 0, i;
    json_t *e;
    json_array_foreach(arr, i, e) {
        sk_err berr = SK_ERR_INIT;
        size_t len = 0;
        const char *dig = sk_json_str(e, "digest");
        _sk_free_ char *data = sk_blob_read(s, dig, SK_IMAGE_MANIFEST_MAX, &len, &berr);
        struct sk_image_manifest m;
        if (!data || sk_image_manifest_parse(data, len, &m, &berr) < 0) continue;
        sk_image_info *it = &v[k++];
        it->ref = sk_strdup(sk_image_ann(e, AN_NAME));
        it->manifest = sk_strdup(dig);
        it->id = sk_strdup(m.config.digest);
        it->size = m.config.size;
        for (size_t j = 0; j < m.n_layers; j++) it->size += m.layers[j].size;
        const char *st = sk_image_ann(e, AN_STORED);
        it->stored = st ? strtoll(st, NULL, 10) : 0;
        sk_image_manifest_release(&m);
    }
    qsort(v, k, sizeof *v, info_cmp);
    *out = v;
    *n = k;
    return 0;
}

void sk_image_info_free(sk_image_info *v, size_t n)
{
    if (!v) return;
    for (size_t i = 0; i < n; i++) {
        free(v[i].ref);
        free(v[i].manifest);
        free(v[i].id);
    }
    free(v);
}

void sk_image_strv_free(char **v)
{
    if (!v) return;
    for (char **p = v; *p; p++) free(*p);
    free(v);
}
