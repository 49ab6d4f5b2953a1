/* Internals of volumes*.c, shared with their unit tests only: the file
 * payloads of configMap / secret / downwardAPI / projected volumes and the
 * atomic writer that projects them (pkg/volume/util/atomic_writer.go). */
#ifndef SK_KL_VOLUMES_INT_H
#define SK_KL_VOLUMES_INT_H

#include "kubelet/spec_int.h"

#define SK_KL_PAYLOAD_FILES_MAX 4096
#define SK_KL_PAYLOAD_BYTES_MAX (64u << 20)

struct sk_kl_file {
    char *path; /* relative, cleaned */
    char *data;
    size_t len;
    int mode;   /* permission bits */
};

struct sk_kl_payload {
    struct sk_kl_file *v;
    size_t n, cap;
    size_t bytes;
};

void sk_kl_payload_release(struct sk_kl_payload *p);
/* Adds or replaces path (takes data, a sk_malloc'd buffer). */
int sk_kl_payload_put(struct sk_kl_payload *p, const char *path, char *data, size_t len, int mode,
                      sk_err *err) SK_MUST_CHECK;

/* MakePayload of a configMap (secret = false: data + binaryData) or secret
 * (data, base64) volume source: obj NULL = an optional object that does
 * not exist; items (may be NULL) select keys to paths with their modes. */
int sk_kl_payload_keys(const json_t *obj, bool secret, const json_t *items, int default_mode,
                       bool optional, struct sk_kl_payload *p, sk_err *err) SK_MUST_CHECK;
/* CollectData of a downwardAPI volume source's items. */
int sk_kl_payload_downward(const json_t *pod, const json_t *items, int default_mode,
                           struct sk_kl_payload *p, sk_err *err) SK_MUST_CHECK;

/* Projects p into dir (created if missing): a `..<timestamp>` directory
 * holding the files, `..data` pointing at it (swapped by rename), and one
 * symlink per top-level name into ..data. Writes nothing when the content
 * and modes on disk already match (*changed = false). fs_group >= 0 makes
 * the files group-owned by it. */
int sk_kl_atomic_write(const char *dir, const struct sk_kl_payload *p, int64_t fs_group,
                       bool *changed, sk_err *err) SK_MUST_CHECK;

/* rm -rf that never follows symlinks nor descends into mounts (EBUSY). */
int sk_kl_rm_tree(const char *path, sk_err *err) SK_MUST_CHECK;

/* sk_kl_volumes_setup with another getter (tests). */
int sk_kl_volumes_setup_with(sk_kl_getter_fn get, void *ud, const char *data_dir, const json_t *pod,
                             sk_err *err) SK_MUST_CHECK;

/* DIR/pods/<uid>/volumes/<name> into buf; -1 + SK_EINVALID for a uid or
 * name that is not a plain file name. */
int sk_kl_volume_dir(const char *data_dir, const char *uid, const char *name, char *buf, size_t n,
                     sk_err *err) SK_MUST_CHECK;

#endif
