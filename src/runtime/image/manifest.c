/* Manifests, indexes (manifest lists) and image configs: OCI image spec v1
 * and Docker image manifest v2 schema 2. All of it is untrusted input. */
#include "runtime/image/image_int.h"

#include <string.h>

#define INDEX_ENTRIES_MAX 4096
#define STRV_MAX 65536

bool sk_image_media_is_index(const char *mt)
{
    return mt && (!strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST));
}

bool sk_image_media_is_manifest(const char *mt)
{
    return mt && (!strcmp(mt, MT_OCI_MANIFEST) || !strcmp(mt, MT_DOCKER_MANIFEST));
}

static const char *known_type(const char *mt, size_t n)
{
    static const char *const types[] = {MT_OCI_MANIFEST, MT_OCI_INDEX, MT_DOCKER_MANIFEST,
                                        MT_DOCKER_LIST};
    for (size_t i = 0; i < SK_ARRAY_LEN(types); i++)
        if (strlen(types[i]) == n && !strncmp(types[i], mt, n)) return types[i];
    return NULL;
}

const char *sk_image_manifest_kind(const char *content_type, const json_t *body)
{
    if (content_type) {
        size_t n = strcspn(content_type, "; \t");
        const char *t = known_type(content_type, n);
        if (t) return t;
    }
    const char *mt = sk_json_str(body, "mediaType");
    if (mt) {
        const char *t = known_type(mt, strlen(mt));
        if (t) return t;
    }
    json_t *sv = json_object_get(body, "schemaVersion");
    if (!json_is_integer(sv) || json_integer_value(sv) != 2) return NULL;
    if (json_is_array(json_object_get(body, "manifests"))) return MT_OCI_INDEX;
    if (json_is_object(json_object_get(body, "config")) &&
        json_is_array(json_object_get(body, "layers")))
        return MT_OCI_MANIFEST;
    return NULL;
}

void sk_image_desc_release(struct sk_image_desc *d)
{
    free(d->media_type);
    free(d->digest);
    memset(d, 0, sizeof *d);
}

int sk_image_desc_parse(const json_t *j, const char *what, struct sk_image_desc *d, sk_err *err)
{
    memset(d, 0, sizeof *d);
    const char *dig = sk_json_str(j, "digest");
    json_t *size = json_object_get(j, "size");
    if (!json_is_object(j)) return sk_err_set(err, SK_EINVALID, "%s: not an object", what);
    if (!sk_image_digest_valid(dig))
        return sk_err_set(err, SK_EINVALID, "%s: missing or unsupported digest", what);
    if (!json_is_integer(size) || json_integer_value(size) < 0)
        return sk_err_set(err, SK_EINVALID, "%s: missing size", what);
    d->media_type = sk_strdup(sk_json_str(j, "mediaType") ?: "");
    d->digest = sk_strdup(dig);
    d->size = json_integer_value(size);
    return 0;
}

static bool layer_type_ok(const char *mt)
{
    /* media types only describe compression, which libarchive detects */
    return !*mt || !strncmp(mt, "application/vnd.oci.image.layer.", 32) ||
           !strncmp(mt, "application/vnd.docker.image.rootfs.", 36);
}

static int manifest_fields(const json_t *j, struct sk_image_manifest *m, sk_err *err)
{
    json_t *sv = json_object_get(j, "schemaVersion");
    if (json_is_integer(sv) && json_integer_value(sv) == 1)
        return sk_err_set(err, SK_EINVALID, "image manifest schema 1 is not supported");
    const char *mt = sk_json_str(j, "mediaType");
    if (sk_image_media_is_index(mt))
        return sk_err_set(err, SK_EINVALID, "expected an image manifest, got an index");
    if (sk_image_desc_parse(json_object_get(j, "config"), "manifest config", &m->config, err) < 0)
        return -1;
    const char *ct = m->config.media_type;
    if (*ct && strcmp(ct, MT_OCI_CONFIG) && strcmp(ct, MT_DOCKER_CONFIG))
        return sk_err_set(err, SK_EINVALID, "not a container image (config type %.100s)", ct);
    json_t *layers = json_object_get(j, "layers");
    if (!json_is_array(layers)) return sk_err_set(err, SK_EINVALID, "manifest has no layers");
    if (json_array_size(layers) > SK_IMAGE_LAYERS_MAX)
        return sk_err_set(err, SK_EINVALID, "manifest has more than %d layers",
                          SK_IMAGE_LAYERS_MAX);
    m->layers = sk_calloc(json_array_size(layers) + 1, sizeof *m->layers);
    size_t i;
    json_t *l;
    json_array_foreach(layers, i, l) {
        if (sk_image_desc_parse(l, "manifest layer", &m->layers[i], err) < 0) return -1;
        m->n_layers = i + 1;
        if (!layer_type_ok(m->layers[i].media_type))
            return sk_err_set(err, SK_EINVALID, "unsupported layer media type %.100s",
                              m->layers[i].media_type);
    }
    return 0;
}

int sk_image_manifest_parse(const char *data, size_t len, struct sk_image_manifest *m,
                            sk_err *err)
{
    memset(m, 0, sizeof *m);
    if (len > SK_IMAGE_MANIFEST_MAX) return sk_err_set(err, SK_ETOOLARGE, "manifest too large");
    json_error_t je;
    _sk_json_ json_t *j = json_loadb(data, len, 0, &je);
    if (!json_is_object(j))
        return sk_err_set(err, SK_EINVALID, "manifest is not a JSON object: %s", je.text);
    if (manifest_fields(j, m, err) < 0) {
        sk_image_manifest_release(m);
        return -1;
    }
    return 0;
}

void sk_image_manifest_release(struct sk_image_manifest *m)
{
    sk_image_desc_release(&m->config);
    for (size_t i = 0; i < m->n_layers; i++) sk_image_desc_release(&m->layers[i]);
    free(m->layers);
    memset(m, 0, sizeof *m);
}

const char *sk_image_node_arch(void)
{
#if defined(__x86_64__)
    return "amd64";
#elif defined(__aarch64__)
    return "arm64";
#elif defined(__arm__)
    return "arm";
#elif defined(__i386__)
    return "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return "ppc64le";
#elif defined(__s390x__)
    return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
    return "riscv64";
#else
    return "amd64";
#endif
}

int sk_image_index_pick(const json_t *index, struct sk_image_desc *out, sk_err *err)
{
    memset(out, 0, sizeof *out);
    json_t *arr = json_object_get(index, "manifests");
    const char *arch = sk_image_node_arch();
    if (!json_is_array(arr)) return sk_err_set(err, SK_EINVALID, "index has no manifests");
    if (json_array_size(arr) > INDEX_ENTRIES_MAX)
        return sk_err_set(err, SK_EINVALID, "index has too many manifests");
    sk_buf seen = SK_BUF_INIT;
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) {
        const char *os = sk_json_path_str(e, "platform.os");
        const char *ar = sk_json_path_str(e, "platform.architecture");
        const char *mt = sk_json_str(e, "mediaType");
        if (os && ar && seen.len < 200) sk_buf_addf(&seen, "%s%.20s/%.20s", seen.len ? ", " : "", os, ar);
        /* a lone entry without platform is what `docker save`-style OCI
         * indexes and single-arch archives carry */
        bool match = (os && ar && !strcmp(os, "linux") && !strcmp(ar, arch)) ||
                     (!os && !ar && json_array_size(arr) == 1);
        if (!match || (mt && *mt && !sk_image_media_is_manifest(mt) && !sk_image_media_is_index(mt)))
            continue;
        sk_buf_release(&seen);
        return sk_image_desc_parse(e, "index entry", out, err);
    }
    sk_err_set(err, SK_ENOTFOUND, "no image for platform linux/%s in the index (has: %s)", arch,
               seen.len ? seen.data : "none");
    sk_buf_release(&seen);
    return -1;
}

/* ---- config --------------------------------------------------------------- */

static char **strv_from(const json_t *a)
{
    if (!json_is_array(a) || json_array_size(a) > STRV_MAX) return NULL;
    char **v = sk_calloc(json_array_size(a) + 1, sizeof *v);
    size_t i, k = 0;
    json_t *x;
    json_array_foreach(a, i, x) if (json_is_string(x)) v[k++] = sk_strdup(json_string_value(x));
    return v;
}

static char **keys_from(const json_t *o, bool with_values)
{
    if (!json_is_object(o) || json_object_size(o) > STRV_MAX) return NULL;
    char **v = sk_calloc(2 * json_object_size(o) + 1, sizeof *v);
    size_t k = 0;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)o, key, val) {
        if (with_values && !json_is_string(val)) continue;
        v[k++] = sk_strdup(key);
        if (with_values) v[k++] = sk_strdup(json_string_value(val));
    }
    return v;
}

static char *str_or_null(const json_t *o, const char *key)
{
    const char *s = sk_json_str(o, key);
    return s && *s ? sk_strdup(s) : NULL;
}

sk_image_cfg *sk_image_cfg_parse(const char *data, size_t len, const char *id, char ***diff_ids,
                                 sk_err *err)
{
    json_error_t je;
    _sk_json_ json_t *j = len <= SK_IMAGE_CONFIG_MAX ? json_loadb(data, len, 0, &je) : NULL;
    if (!json_is_object(j)) {
        sk_err_set(err, SK_EINVALID, "image config is not a JSON object");
        return NULL;
    }
    if (diff_ids) {
        json_t *ids = sk_json_path(j, "rootfs.diff_ids");
        size_t i;
        json_t *x;
        if (!json_is_array(ids) || json_array_size(ids) > SK_IMAGE_LAYERS_MAX) {
            sk_err_set(err, SK_EINVALID, "image config has no valid rootfs.diff_ids");
            return NULL;
        }
        json_array_foreach(ids, i, x) {
            if (!sk_image_digest_valid(json_string_value(x))) {
                sk_err_set(err, SK_EINVALID, "image config: bad diff_id");
                return NULL;
            }
        }
        *diff_ids = strv_from(ids);
    }
    sk_image_cfg *c = sk_calloc(1, sizeof *c);
    const json_t *cf = json_object_get(j, "config");
    c->id = sk_strdup(id);
    c->entrypoint = strv_from(json_object_get(cf, "Entrypoint"));
    c->cmd = strv_from(json_object_get(cf, "Cmd"));
    c->env = strv_from(json_object_get(cf, "Env"));
    c->working_dir = str_or_null(cf, "WorkingDir");
    c->user = str_or_null(cf, "User");
    c->stop_signal = str_or_null(cf, "StopSignal");
    c->exposed_ports = keys_from(json_object_get(cf, "ExposedPorts"), false);
    c->labels = keys_from(json_object_get(cf, "Labels"), true);
    c->os = str_or_null(j, "os");
    c->architecture = str_or_null(j, "architecture");
    return c;
}

void sk_image_cfg_free(sk_image_cfg *c)
{
    if (!c) return;
    free(c->id);
    free(c->repo_digest);
    sk_image_strv_free(c->entrypoint);
    sk_image_strv_free(c->cmd);
    sk_image_strv_free(c->env);
    free(c->working_dir);
    free(c->user);
    free(c->stop_signal);
    sk_image_strv_free(c->exposed_ports);
    sk_image_strv_free(c->labels);
    free(c->os);
    free(c->architecture);
    free(c);
}

/* ---- images in the store ------------------------------------------------------ */

static int open_entry(const sk_image_store *s, const json_t *e, struct sk_image_loaded *img,
                      sk_err *err)
{
    size_t n = 0;
    img->name = sk_strdup(sk_image_ann(e, AN_NAME));
    img->manifest_digest = sk_strdup(sk_json_str(e, "digest"));
    img->index_digest = sk_strdup(sk_image_ann(e, AN_INDEX_DIGEST));
    _sk_free_ char *data =
        sk_blob_read(s, img->manifest_digest, SK_IMAGE_MANIFEST_MAX, &n, err);
    if (!data || sk_image_manifest_parse(data, n, &img->m, err) < 0) return -1;
    img->config = sk_blob_read(s, img->m.config.digest, SK_IMAGE_CONFIG_MAX, &img->config_len, err);
    if (!img->config) return -1;
    sk_image_cfg *c = sk_image_cfg_parse(img->config, img->config_len, img->m.config.digest,
                                         &img->diff_ids, err);
    if (!c) return -1;
    sk_image_cfg_free(c);
    size_t nd = 0;
    while (img->diff_ids[nd]) nd++;
    if (nd != img->m.n_layers)
        return sk_err_set(err, SK_EINVALID, "image config lists %zu diff_ids for %zu layers", nd,
                          img->m.n_layers);
    return 0;
}

int sk_image_open(const sk_image_store *s, const char *ref, struct sk_image_loaded *img,
                  sk_err *err)
{
    memset(img, 0, sizeof *img);
    _sk_json_ json_t *idx = sk_image_index_read(s, err);
    if (!idx) return -1;
    _sk_json_ json_t *found = sk_image_index_find(s, idx, ref, err);
    if (!found) return -1;
    if (open_entry(s, json_array_get(found, 0), img, err) < 0) {
        sk_image_loaded_release(img);
        return sk_err_wrap(err, "image %s", ref);
    }
    return 0;
}

void sk_image_loaded_release(struct sk_image_loaded *img)
{
    free(img->name);
    free(img->manifest_digest);
    free(img->index_digest);
    sk_image_manifest_release(&img->m);
    free(img->config);
    sk_image_strv_free(img->diff_ids);
    memset(img, 0, sizeof *img);
}

sk_image_cfg *sk_image_config(sk_image_store *s, const char *ref, sk_err *err)
{
    struct sk_image_loaded img;
    if (sk_image_open(s, ref, &img, err) < 0) return NULL;
    sk_image_cfg *c = sk_image_cfg_parse(img.config, img.config_len, img.m.config.digest, NULL, err);
    sk_image_ref r;
    sk_err perr = SK_ERR_INIT;
    if (c && img.name && sk_image_ref_parse(img.name, &r, &perr) == 0) {
        c->repo_digest = sk_printf("%s/%s@%s", r.domain, r.path,
                                   img.index_digest ? img.index_digest : img.manifest_digest);
        sk_image_ref_release(&r);
    }
    sk_image_loaded_release(&img);
    return c;
}
