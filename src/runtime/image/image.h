/* sk_image: the node's image store. A content-addressed store in OCI
 * image-layout form under DATA_DIR/images (blobs/sha256/<hex>, verified by
 * sha256 while written; index.json maps normalised references to manifest
 * digests and is replaced atomically), filled by loading `docker save` / OCI
 * archive tarballs or by pulling from OCI distribution registries (mirrors
 * and credentials from DATA_DIR/registries.yaml, k3s format). Layers are
 * unpacked once per layer (DATA_DIR/images/layers/<diffid hex>) for the
 * runtime to overlay-mount.
 *
 * Threads: an sk_image_store is immutable after open; every function may be
 * called from any thread at the same time, and several processes may share
 * one directory. Lookups never block; load, pull and unpack share a file
 * lock that rm and GC take exclusively, and index updates are serialised. */
#ifndef SK_IMAGE_H
#define SK_IMAGE_H

#include "lib/lib.h"

typedef struct sk_image_store sk_image_store;

/* Creates DATA_DIR/images if needed (DATA_DIR is made absolute). Open the
 * first store before starting threads: it initialises libcurl. Caller
 * frees with sk_image_store_free. */
sk_image_store *sk_image_store_open(const char *data_dir, sk_err *err);
void sk_image_store_free(sk_image_store *s); /* NULL ok */

/* ---- references (docker/containerd normalisation) ------------------------ */

/* "busybox" -> docker.io / library/busybox / latest. */
typedef struct sk_image_ref {
    char *domain; /* "docker.io", "localhost:5000" */
    char *path;   /* "library/busybox" */
    char *tag;    /* "latest"; NULL when only a digest was given */
    char *digest; /* "sha256:<64 hex>" or NULL */
} sk_image_ref;

int sk_image_ref_parse(const char *s, sk_image_ref *out, sk_err *err) SK_MUST_CHECK;
void sk_image_ref_release(sk_image_ref *r);
/* "docker.io/library/busybox:latest"; with a digest the tag is dropped, as
 * containerd stores it. Caller frees. */
char *sk_image_ref_string(const sk_image_ref *r);
/* Parse + format; NULL + err when invalid. Caller frees. */
char *sk_image_normalize(const char *s, sk_err *err);
/* Kubernetes' default pull policy: true when the tag is latest (or absent)
 * and there is no digest. */
bool sk_image_ref_is_latest(const char *s);

/* ---- listing and lookup --------------------------------------------------- */

typedef struct sk_image_info {
    char *ref;      /* normalised name, or NULL for an untagged image */
    char *manifest; /* "sha256:..." manifest digest */
    char *id;       /* "sha256:..." config digest (the image ID) */
    int64_t size;   /* bytes of config + layer blobs as stored */
    int64_t stored; /* unix seconds when loaded or pulled */
} sk_image_info;

/* Sorted by ref. Caller frees with sk_image_info_free(v, n). */
int sk_image_list(sk_image_store *s, sk_image_info **out, size_t *n, sk_err *err) SK_MUST_CHECK;
void sk_image_info_free(sk_image_info *v, size_t n);
/* 1 present, 0 absent, -1 error (invalid ref, unreadable store). REF may
 * also be an image ID ("sha256:<hex>" or a unique hex prefix >= 4). */
int sk_image_exists(sk_image_store *s, const char *ref, sk_err *err);

/* ---- image config ----------------------------------------------------------- */

typedef struct sk_image_cfg {
    char *id;                /* config digest */
    char *repo_digest;       /* "docker.io/library/busybox@sha256:..." (the index digest
                                when pulled through one), NULL for untagged images */
    char **entrypoint;       /* NULL-terminated; NULL when unset */
    char **cmd;              /* NULL-terminated; NULL when unset */
    char **env;              /* "K=V", NULL-terminated; NULL when unset */
    char *working_dir;       /* NULL when unset */
    char *user;              /* NULL when unset */
    char *stop_signal;       /* NULL when unset */
    char **exposed_ports;    /* "8080/tcp", NULL-terminated; NULL when none */
    char **labels;           /* key, value, key, value, ..., NULL; NULL when none */
    char *os, *architecture; /* NULL when unset */
} sk_image_cfg;

/* Caller frees with sk_image_cfg_free. ENOTFOUND when REF is not stored. */
sk_image_cfg *sk_image_config(sk_image_store *s, const char *ref, sk_err *err);
void sk_image_cfg_free(sk_image_cfg *c); /* NULL ok */
void sk_image_strv_free(char **v);       /* NULL-terminated string vector; NULL ok */

/* ---- load -------------------------------------------------------------------- */

/* Loads every image of a `docker save` tarball (manifest.json) or OCI
 * archive (oci-layout + index.json), optionally gzip/zstd compressed. PATH
 * "-" reads stdin. *refs (optional) gets the stored names, NULL-terminated,
 * free with sk_image_strv_free. OCI entries named only by a tag
 * ("org.opencontainers.image.ref.name": "v1") are named BASE:v1 when base
 * is given (e.g. "example.com/app"), else stored untagged. */
int sk_image_load(sk_image_store *s, const char *path, const char *base, char ***refs,
                  sk_err *err) SK_MUST_CHECK;

/* ---- pull -------------------------------------------------------------------- */

struct sk_image_pull_opts {
    /* Basic credentials for the image's own registry (the kubelet maps
     * imagePullSecrets); borrowed, may be NULL. Mirrors use their
     * registries.yaml `configs` entry instead. */
    const char *username;
    const char *password;
    int connect_timeout_s; /* per endpoint; 0 = 10 s */
};

/* Pulls REF for the node's platform (linux/<arch>): each mirror endpoint of
 * DATA_DIR/registries.yaml in order, then the registry itself. On success
 * *stored (optional) gets the normalised name (caller frees). On failure
 * err names every registry tried, its error, and the mirror to configure;
 * code ENOTFOUND when every endpoint said the image does not exist,
 * EUNAUTHORIZED when refused, EUNAVAILABLE otherwise. */
int sk_image_pull(sk_image_store *s, const char *ref, const struct sk_image_pull_opts *opts,
                  char **stored, sk_err *err) SK_MUST_CHECK;

/* ---- unpack ---------------------------------------------------------------- */

/* Unpacks (once, cached) every layer of REF for overlayfs: whiteouts become
 * 0:0 character devices and opaque dirs get trusted.overlay.opaque=y (both
 * need root). *dirs gets absolute layer dirs, bottom layer first,
 * NULL-terminated; free with sk_image_strv_free. The dirs stay until the
 * image is removed; do not remove images that running containers use. */
int sk_image_layers(sk_image_store *s, const char *ref, char ***dirs, sk_err *err) SK_MUST_CHECK;

/* Extracts REF's layers in order into DEST (created if missing) as one
 * plain tree, applying whiteouts by deletion. */
int sk_image_unpack(sk_image_store *s, const char *ref, const char *dest,
                    sk_err *err) SK_MUST_CHECK;

/* ---- removal and garbage collection ---------------------------------------- */

/* Removes one name (or every name of an image ID), then collects garbage. */
int sk_image_remove(sk_image_store *s, const char *ref, sk_err *err) SK_MUST_CHECK;

struct sk_image_gc_stats {
    int blobs_removed;
    int layers_removed;
    int64_t bytes_freed; /* blob bytes */
};
/* Deletes blobs and unpacked layers no stored image references, and stale
 * temporary files. stats may be NULL. */
int sk_image_gc(sk_image_store *s, struct sk_image_gc_stats *stats, sk_err *err) SK_MUST_CHECK;

/* Disk-pressure hook: when the file system holding the store is more than
 * high_pct percent full, removes images whose names (or IDs) are not in
 * IN_USE (NULL-terminated, any reference form), oldest first, until usage
 * is below low_pct. *removed (optional) gets the removed names; free with
 * sk_image_strv_free. */
int sk_image_gc_disk(sk_image_store *s, const char *const *in_use, int high_pct, int low_pct,
                     char ***removed, sk_err *err) SK_MUST_CHECK;

/* ---- built-in sample images (builtin.c) ------------------------------------ */

/* Builds and stores skiff's equivalents of the tutorial images, named by
 * sk_image_builtin_refs(): gcr.io/google-samples/kubernetes-bootcamp:v1
 * (/hello, v=1), jocatalin/kubernetes-bootcamp:v2 (VERSION=2) and
 * registry.k8s.io/e2e-test-images/agnhost:2.39 (/agnhost = netexec). Each is
 * one layer: the static sample from SAMPLES_DIR (files "hello", "netexec",
 * built by tools/samples), BUSYBOX_PATH (NULL: /bin/busybox; must be a
 * static busybox) at /bin/busybox with applet symlinks (/bin/sh, ...), and
 * bash-static at /bin/bash when installed. Configs carry the label
 * io.skiff.builtin=true. Digests are stable, so reloading at every start
 * is cheap and idempotent. No curl in the images yet (partial). */
int sk_image_builtin_load(sk_image_store *s, const char *samples_dir, const char *busybox_path,
                          sk_err *err) SK_MUST_CHECK;
/* The names above, NULL-terminated, static. */
const char *const *sk_image_builtin_refs(void);

#endif
