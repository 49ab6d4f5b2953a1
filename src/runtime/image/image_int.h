/* Internals of sk_image shared by its .c files and the fuzz targets. */
#ifndef SK_IMAGE_INT_H
#define SK_IMAGE_INT_H

#include "runtime/image/image.h"

#include <gnutls/crypto.h>

#define SK_IMAGE_DEFAULT_DOMAIN "docker.io"

/* Caps on untrusted input. */
#define SK_IMAGE_MANIFEST_MAX (4 << 20) /* as containerd */
#define SK_IMAGE_CONFIG_MAX (16 << 20)
#define SK_IMAGE_INDEX_MAX (64 << 20)   /* our own index.json */
#define SK_IMAGE_LAYERS_MAX 127
#define SK_IMAGE_NESTED_INDEX_MAX 4

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZ "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define AN_NAME "io.containerd.image.name"
#define AN_REF_NAME "org.opencontainers.image.ref.name"
#define AN_STORED "io.skiff.image.stored"
#define AN_INDEX_DIGEST "io.skiff.image.index-digest"

struct sk_image_store {
    char *data_dir;
    char *root;       /* DATA_DIR/images */
    char *blobs;      /* root/blobs/sha256 */
    char *layers;     /* root/layers */
    char *tmp;        /* root/tmp */
    char *registries; /* DATA_DIR/registries.yaml */
};

/* ---- ref.c ---- */
bool sk_image_digest_valid(const char *d); /* "sha256:<64 lower hex>" */
char *sk_image_ref_repo(const sk_image_ref *r);

/* ---- store.c ---- */
char *sk_image_blob_path(const sk_image_store *s, const char *digest);
/* flock()ed lock file root/<name>; returns the fd (close to unlock). */
int sk_image_lock(const sk_image_store *s, const char *name, int op, sk_err *err);
#define SK_LOCK_GC "gc.lock"       /* shared: writers of blobs/layers; exclusive: GC */
#define SK_LOCK_INDEX "index.lock" /* exclusive around index read-modify-write */

/* A blob being written: hashed as it goes, renamed into place on commit. */
typedef struct sk_blob_writer {
    int fd;
    char *tmp;
    gnutls_hash_hd_t hash;
    int64_t size, limit; /* limit < 0: none */
} sk_blob_writer;
int sk_blob_begin(const sk_image_store *s, sk_blob_writer *w, int64_t limit, sk_err *err);
int sk_blob_write(sk_blob_writer *w, const void *p, size_t n, sk_err *err);
/* Verifies against expect (NULL: accept any) and moves the blob into place;
 * out (>= 72 bytes, optional) gets the digest. Always releases w. */
int sk_blob_commit(const sk_image_store *s, sk_blob_writer *w, const char *expect, char *out,
                   sk_err *err);
void sk_blob_abort(sk_blob_writer *w);
/* Finishes a staged file: out gets its digest, w->tmp stays (caller
 * unlinks and frees it); sk_blob_link then files it under its digest. */
int sk_blob_finish(sk_blob_writer *w, char out[72], sk_err *err);
int sk_blob_link(const sk_image_store *s, const char *path, const char *digest, sk_err *err);
int sk_blob_put(const sk_image_store *s, const void *p, size_t n, const char *expect, char *out,
                sk_err *err);
bool sk_blob_exists(const sk_image_store *s, const char *digest);
/* Reads a blob of at most max bytes and verifies its digest. */
char *sk_blob_read(const sk_image_store *s, const char *digest, size_t max, size_t *len,
                   sk_err *err);
void sk_sha256_hex(const void *p, size_t n, char out[72]); /* "sha256:<hex>" */

/* An index entry's annotation (keys contain dots, so no sk_json_path). */
const char *sk_image_ann(const json_t *entry, const char *key);
json_t *sk_image_index_read(const sk_image_store *s, sk_err *err);
typedef int (*sk_index_edit_fn)(json_t *index, void *ctx, sk_err *err);
int sk_image_index_update(const sk_image_store *s, sk_index_edit_fn fn, void *ctx, sk_err *err);
/* Adds or replaces the entry for NAME (NULL: untagged, deduplicated by
 * digest) in an index being edited. */
void sk_image_index_put(json_t *index, const char *name, const char *media_type,
                        const char *digest, int64_t size, const char *index_digest);
/* Index entries matching REF (by name, by repo@digest, or by image ID);
 * returns a new array of borrowed entries, NULL + ENOTFOUND if none. */
json_t *sk_image_index_find(const sk_image_store *s, json_t *index, const char *ref, sk_err *err);

/* ---- manifest.c ---- */
struct sk_image_desc {
    char *media_type;
    char *digest;
    int64_t size;
};
struct sk_image_manifest {
    struct sk_image_desc config;
    struct sk_image_desc *layers;
    size_t n_layers;
};
/* Parses an image manifest (OCI or docker schema 2). */
int sk_image_manifest_parse(const char *data, size_t len, struct sk_image_manifest *m,
                            sk_err *err) SK_MUST_CHECK;
void sk_image_manifest_release(struct sk_image_manifest *m);
bool sk_image_media_is_index(const char *mt);
bool sk_image_media_is_manifest(const char *mt);
/* Media type of a manifest body: content_type when specific, else the
 * body's mediaType, else guessed from its fields; NULL for schema 1 or junk. */
const char *sk_image_manifest_kind(const char *content_type, const json_t *body);
/* From an index/manifest list: the descriptor for linux/<node arch>. */
int sk_image_index_pick(const json_t *index, struct sk_image_desc *out, sk_err *err) SK_MUST_CHECK;
void sk_image_desc_release(struct sk_image_desc *d);
int sk_image_desc_parse(const json_t *j, const char *what, struct sk_image_desc *d, sk_err *err);
const char *sk_image_node_arch(void);
/* Parses an image config; diff_ids (optional) gets rootfs.diff_ids. */
sk_image_cfg *sk_image_cfg_parse(const char *data, size_t len, const char *id, char ***diff_ids,
                                 sk_err *err);

/* An image read from the store: manifest, config and diff IDs. */
struct sk_image_loaded {
    char *name; /* the index entry's name or NULL */
    char *manifest_digest;
    char *index_digest; /* or NULL */
    struct sk_image_manifest m;
    char *config;   /* raw config JSON */
    size_t config_len;
    char **diff_ids;
};
int sk_image_open(const sk_image_store *s, const char *ref, struct sk_image_loaded *img,
                  sk_err *err) SK_MUST_CHECK;
void sk_image_loaded_release(struct sk_image_loaded *img);

/* ---- unpack.c / fsutil.c ---- */
/* Cleans a tar member name: strips "./" and leading '/', folds "//" and
 * "."; returns NULL for "..", empty names or names over PATH_MAX. */
char *sk_image_clean_path(const char *name);
enum sk_wh_kind { SK_WH_NONE, SK_WH_FILE, SK_WH_OPAQUE, SK_WH_META };
/* Classifies a cleaned path; for SK_WH_FILE, *target gets the hidden path. */
enum sk_wh_kind sk_image_whiteout(const char *clean, char **target);
/* Opens (mkdir -p with mkdir) directory REL beneath root fd without following
 * symlinks; REL "" is the root itself. */
int sk_fs_open_dir(int rootfd, const char *rel, bool create, sk_err *err);
/* Removes NAME in dirfd recursively, never following symlinks. */
int sk_fs_remove_at(int dirfd, const char *name, sk_err *err);
int sk_fs_remove_tree(const char *path, sk_err *err); /* ENOENT is fine */

/* Extracts one layer blob into an existing directory. overlay: whiteouts as
 * overlay markers; else applied by deletion. Checks the uncompressed
 * stream's sha256 against diff_id when given. */
int sk_image_apply_layer(const char *blob_path, const char *dest, bool overlay,
                         const char *diff_id, sk_err *err) SK_MUST_CHECK;

/* ---- registries.c ---- */
struct sk_reg_rewrite {
    char *pattern, *replace;
};
struct sk_reg_mirror {
    char *host; /* "docker.io", "*" */
    char **endpoints;
    size_t n_endpoints;
    struct sk_reg_rewrite *rewrites;
    size_t n_rewrites;
};
struct sk_reg_config {
    char *host;
    char *username, *password;
    bool insecure_skip_verify;
    char *ca_file, *cert_file, *key_file;
};
typedef struct sk_registries {
    struct sk_reg_mirror *mirrors;
    size_t n_mirrors;
    struct sk_reg_config *configs;
    size_t n_configs;
} sk_registries;
sk_registries *sk_registries_parse(const char *text, size_t len, sk_err *err);
/* Missing file -> empty config. */
sk_registries *sk_registries_load(const char *path, sk_err *err);
void sk_registries_free(sk_registries *r);
const struct sk_reg_mirror *sk_registries_mirror(const sk_registries *r, const char *host);
const struct sk_reg_config *sk_registries_config(const sk_registries *r, const char *host);
/* Applies the first matching rewrite rule to repo; caller frees; NULL + err
 * when a pattern does not compile. */
char *sk_registries_rewrite(const struct sk_reg_mirror *m, const char *repo, sk_err *err);

/* ---- http.c ---- */
struct sk_challenge {
    char *scheme; /* "bearer", "basic" (lower-cased) */
    char *realm, *service, *scope;
};
int sk_challenge_parse(const char *header, struct sk_challenge *c) SK_MUST_CHECK;
void sk_challenge_release(struct sk_challenge *c);

/* One registry endpoint as seen by a pull; all fields borrowed. */
struct sk_reg_target {
    const char *base; /* "https://host:port/v2" */
    const char *repo; /* repository path on this endpoint (after rewrites) */
    const struct sk_reg_config *cfg; /* TLS settings, may be NULL */
    const char *username, *password; /* may be NULL */
    int connect_timeout_s;
};
typedef struct sk_reg_client sk_reg_client;
sk_reg_client *sk_reg_client_new(const struct sk_reg_target *t, sk_err *err);
void sk_reg_client_free(sk_reg_client *c);
/* The last request failed below HTTP (connect, TLS, DNS). */
bool sk_reg_transport_failed(const sk_reg_client *c);
/* The manifest body (caller frees; *len bytes), its Content-Type and
 * Docker-Content-Digest header (caller frees; NULL when absent). */
char *sk_reg_get_manifest(sk_reg_client *c, const char *ref, size_t *len, char **content_type,
                          char **digest, sk_err *err);
/* Streams a blob into the store, verified against d->digest and d->size. */
int sk_reg_get_blob(sk_reg_client *c, const sk_image_store *s, const struct sk_image_desc *d,
                    sk_err *err) SK_MUST_CHECK;

/* elfdeps.c: absolute host paths of the shared libraries ELF64 binary PATH
 * needs (recursively) and its interpreter, NULL-terminated (free with
 * sk_image_strv_free); empty for a static binary. */
int sk_elf_deps(const char *path, char ***out, sk_err *err) SK_MUST_CHECK;

#endif
