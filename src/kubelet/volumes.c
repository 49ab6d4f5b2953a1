/* Per-pod volumes under DIR/pods/<uid>/volumes/<name>, as the v1.32
 * kubelet's volume plugins set them up:
 *   emptyDir     a 0777 directory; medium Memory is a tmpfs (size =
 *                sizeLimit, else the sum of the containers' memory limits
 *                when all have one, else the tmpfs default)
 *   hostPath     no directory of ours; the type checks with upstream's
 *                messages, DirectoryOrCreate / FileOrCreate create
 *   configMap    files through the atomic writer (volumes_writer.c)
 *   secret, downwardAPI, projected
 *                the same on a tmpfs, as upstream's memory-backed wrapper,
 *                so Secret data never reaches the disk
 * Mounts are made in the agent's mount namespace (sk_rt_init), which the
 * containers' bind mounts come from. fsGroup makes volume roots and files
 * group-owned (setgid dirs, files readable by the group), as
 * SetVolumeOwnership; fsGroupChangePolicy is not needed (we own every
 * file). Not supported: persistent volumes and every other source (the pod
 * fails with a clear message). */
#include "kubelet/volumes_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

static bool plain_name(const char *s)
{
    return s && *s && strlen(s) <= 253 && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

int sk_kl_volume_dir(const char *data_dir, const char *uid, const char *name, char *buf, size_t n,
                     sk_err *err)
{
    if (!plain_name(uid)) return sk_err_set(err, SK_EINVALID, "invalid pod uid \"%s\"", uid ? uid : "");
    if (!plain_name(name)) return sk_err_set(err, SK_EINVALID, "invalid volume name \"%s\"", name ? name : "");
    if ((size_t)snprintf(buf, n, "%s/pods/%s/volumes/%s", data_dir, uid, name) >= n)
        return sk_err_set(err, SK_EINVALID, "volume path too long");
    return 0;
}

static bool is_mount_point(const char *dir)
{
    struct stat a, b;
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s/..", dir);
    return stat(dir, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

/* emptyDir's setupDir: the directory with exactly 0777. */
static int setup_dir(const char *dir, sk_err *err)
{
    if (sk_mkdir_p(dir, 0777, err) < 0) return -1;
    struct stat st;
    if (stat(dir, &st) < 0) return sk_err_sys(err, "stat %s", dir);
    if ((st.st_mode & 0777) != 0777 && !is_mount_point(dir) && chmod(dir, 0777) < 0)
        return sk_err_sys(err, "chmod %s", dir);
    return 0;
}

/* A tmpfs on dir unless one is there. size 0 = the tmpfs default. */
static int setup_tmpfs(const char *dir, int64_t size, bool fallback, sk_err *err)
{
    if (setup_dir(dir, err) < 0) return -1;
    if (is_mount_point(dir)) return 0;
    char opts[64] = "";
    if (size > 0) snprintf(opts, sizeof opts, "size=%lld", (long long)size);
    if (mount("tmpfs", dir, "tmpfs", 0, opts[0] ? opts : NULL) == 0) return 0;
    if (fallback && errno == EPERM) return 0; /* unprivileged tests: a plain directory */
    return sk_err_sys(err, "mount tmpfs on %s", dir);
}

/* SetVolumeOwnership for the volume root. */
static int own_root(const char *dir, int64_t gid, sk_err *err)
{
    struct stat st;
    if (gid < 0) return 0;
    if (chown(dir, (uid_t)-1, (gid_t)gid) < 0 && geteuid() == 0) return sk_err_sys(err, "chown %s", dir);
    if (stat(dir, &st) < 0 || chmod(dir, (st.st_mode & 07777) | S_ISGID | 0770) < 0)
        return sk_err_sys(err, "chmod %s", dir);
    return 0;
}

/* Pod-level sizing of a Memory emptyDir without sizeLimit. */
static int64_t pod_memory_limit(const json_t *pod)
{
    int64_t sum = 0, v;
    size_t i;
    json_t *c;
    json_array_foreach(sk_json_path(pod, "spec.containers"), i, c) {
        json_t *q = sk_json_path(json_object_get(c, "resources"), "limits");
        if (sk_kl_quantity_json(json_object_get(q, "memory"), 0, &v) < 0 || v <= 0) return 0;
        sum = sum > INT64_MAX - v ? INT64_MAX : sum + v;
    }
    return sum;
}

static int setup_empty_dir(const char *dir, const json_t *src, const json_t *pod, int64_t gid, sk_err *err)
{
    const char *medium = sk_json_str(src, "medium");
    if (!medium || !*medium) return setup_dir(dir, err) < 0 ? -1 : own_root(dir, gid, err);
    if (strcmp(medium, "Memory"))
        return sk_err_set(err, SK_EINVALID, "emptyDir medium \"%s\" is not supported", medium);
    int64_t size = 0;
    json_t *lim = json_object_get(src, "sizeLimit");
    if (lim && !json_is_null(lim) && sk_kl_quantity_json(lim, 0, &size) < 0)
        return sk_err_set(err, SK_EINVALID, "emptyDir sizeLimit: invalid quantity");
    if (size <= 0) size = pod_memory_limit(pod);
    return setup_tmpfs(dir, size, false, err) < 0 ? -1 : own_root(dir, gid, err);
}

/* ---- hostPath ---------------------------------------------------------------------- */

static int check_host_path(const json_t *src, sk_err *err)
{
    const char *path = sk_json_str(src, "path"), *type = sk_json_str(src, "type");
    if (!path || path[0] != '/') return sk_err_set(err, SK_EINVALID, "hostPath path must be absolute");
    if (!type) type = "";
    struct stat st;
    bool exists = stat(path, &st) == 0;
    if (!*type) return 0;
    if (!strcmp(type, "DirectoryOrCreate") || !strcmp(type, "Directory")) {
        if (!exists && type[9]) {
            if (sk_mkdir_p(path, 0755, err) < 0) return -1;
            exists = stat(path, &st) == 0;
        }
        if (!exists || !S_ISDIR(st.st_mode))
            return sk_err_set(err, SK_EINVALID, "hostPath type check failed: %s is not a directory", path);
        return 0;
    }
    if (!strcmp(type, "FileOrCreate") || !strcmp(type, "File")) {
        if (!exists && type[4]) {
            int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
            if (fd < 0) return sk_err_sys(err, "create %s", path);
            close(fd);
            exists = stat(path, &st) == 0;
        }
        if (!exists || !S_ISREG(st.st_mode))
            return sk_err_set(err, SK_EINVALID, "hostPath type check failed: %s is not a file", path);
        return 0;
    }
    static const struct { const char *type; mode_t fmt; const char *what; } chk[] = {
        {"Socket", S_IFSOCK, "a socket file"},
        {"CharDevice", S_IFCHR, "a character device"},
        {"BlockDevice", S_IFBLK, "a block device"},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(chk); i++)
        if (!strcmp(type, chk[i].type)) {
            if (!exists || (st.st_mode & S_IFMT) != chk[i].fmt)
                return sk_err_set(err, SK_EINVALID, "hostPath type check failed: %s is not %s", path, chk[i].what);
            return 0;
        }
    return sk_err_set(err, SK_EINVALID, "%s is an invalid volume type", type);
}

/* ---- API-backed volumes ------------------------------------------------------------ */

struct setup {
    sk_kl_getter_fn get;
    void *ud;
    const json_t *pod;
    const char *ns;
    int64_t gid;
};

/* Fetches a ConfigMap/Secret: 1 = *obj, 0 = optional and missing, -1. */
static int fetch(struct setup *s, const char *kind, const char *name, bool optional, json_t **obj, sk_err *err)
{
    *obj = s->get(s->ud, kind, s->ns, name ? name : "", err);
    if (*obj) return 1;
    return err->code == SK_ENOTFOUND && optional ? 0 : -1;
}

static int add_keys(struct setup *s, const json_t *src, bool secret, int mode, struct sk_kl_payload *p,
                    sk_err *err)
{
    bool optional = json_is_true(json_object_get(src, "optional"));
    const char *name = sk_json_str(src, secret && json_object_get(src, "secretName") ? "secretName" : "name");
    _sk_json_ json_t *obj = NULL;
    if (fetch(s, secret ? "secret" : "configmap", name, optional, &obj, err) < 0) return -1;
    return sk_kl_payload_keys(obj, secret, json_object_get(src, "items"), mode, optional, p, err);
}

/* Projected sources merge in order; a later file replaces an earlier one. */
static int add_projected(struct setup *s, const json_t *src, int mode, struct sk_kl_payload *p, sk_err *err)
{
    size_t i;
    json_t *x, *v;
    json_array_foreach(json_object_get(src, "sources"), i, x) {
        int rc = 0;
        if ((v = json_object_get(x, "configMap"))) rc = add_keys(s, v, false, mode, p, err);
        else if ((v = json_object_get(x, "secret"))) rc = add_keys(s, v, true, mode, p, err);
        else if ((v = json_object_get(x, "downwardAPI")))
            rc = sk_kl_payload_downward(s->pod, json_object_get(v, "items"), mode, p, err);
        /* serviceAccountToken: added with the security work (token requests);
         * clusterTrustBundle: not supported. Both are skipped for now. */
        if (rc < 0) return -1;
    }
    return 0;
}

static int setup_api_volume(struct setup *s, const char *dir, const char *kind, const json_t *src, sk_err *err)
{
    int mode = json_is_integer(json_object_get(src, "defaultMode")) ?
                   (int)(json_integer_value(json_object_get(src, "defaultMode")) & 0777) : 0644;
    struct sk_kl_payload p = {0};
    int rc;
    if (!strcmp(kind, "configMap")) rc = add_keys(s, src, false, mode, &p, err);
    else if (!strcmp(kind, "secret")) rc = add_keys(s, src, true, mode, &p, err);
    else if (!strcmp(kind, "downwardAPI"))
        rc = sk_kl_payload_downward(s->pod, json_object_get(src, "items"), mode, &p, err);
    else rc = add_projected(s, src, mode, &p, err);
    if (rc == 0 && s->gid >= 0)
        for (size_t i = 0; i < p.n; i++) p.v[i].mode |= 0440; /* read-only volumes: group can read */
    bool changed;
    if (rc == 0) rc = strcmp(kind, "configMap") ? setup_tmpfs(dir, 0, true, err) : setup_dir(dir, err);
    if (rc == 0) rc = own_root(dir, s->gid, err);
    if (rc == 0) rc = sk_kl_atomic_write(dir, &p, s->gid, &changed, err);
    sk_kl_payload_release(&p);
    return rc;
}

int sk_kl_volumes_setup_with(sk_kl_getter_fn get, void *ud, const char *data_dir, const json_t *pod,
                             sk_err *err)
{
    static const char *const api_kinds[] = {"configMap", "secret", "downwardAPI", "projected"};
    const char *uid = sk_json_path_str(pod, "metadata.uid");
    json_t *fsg = sk_json_path(pod, "spec.securityContext.fsGroup");
    struct setup s = {get, ud, pod, sk_json_path_str(pod, "metadata.namespace"), -1};
    if (!s.ns) s.ns = "";
    if (json_is_integer(fsg) && json_integer_value(fsg) >= 0 && json_integer_value(fsg) < UINT32_MAX)
        s.gid = json_integer_value(fsg);
    size_t i;
    json_t *vol, *src;
    json_array_foreach(sk_json_path(pod, "spec.volumes"), i, vol) {
        const char *name = sk_json_str(vol, "name");
        char dir[PATH_MAX];
        if (sk_kl_volume_dir(data_dir, uid, name, dir, sizeof dir, err) < 0) return -1;
        int rc = 1;
        if ((src = json_object_get(vol, "emptyDir"))) rc = setup_empty_dir(dir, src, pod, s.gid, err);
        else if ((src = json_object_get(vol, "hostPath"))) rc = check_host_path(src, err);
        for (size_t k = 0; rc == 1 && k < SK_ARRAY_LEN(api_kinds); k++)
            if ((src = json_object_get(vol, api_kinds[k]))) rc = setup_api_volume(&s, dir, api_kinds[k], src, err);
        if (rc == 1)
            return sk_err_set(err, SK_EINVALID,
                              "volume \"%s\": unsupported volume source (supported: emptyDir, hostPath, "
                              "configMap, secret, downwardAPI, projected)", name);
        if (rc < 0) return -1;
    }
    return 0;
}

int sk_kl_volumes_setup(sk_client *client, const char *data_dir, const json_t *pod, const char *node_name,
                        sk_err *err)
{
    (void)node_name;
    return sk_kl_volumes_setup_with(sk_kl_client_get, client, data_dir, pod, err);
}

bool sk_kl_volumes_dynamic(const json_t *pod)
{
    size_t i;
    json_t *vol;
    json_array_foreach(sk_json_path(pod, "spec.volumes"), i, vol)
        if (json_object_get(vol, "configMap") || json_object_get(vol, "secret") ||
            json_object_get(vol, "downwardAPI") || json_object_get(vol, "projected"))
            return true;
    return false;
}

/* ---- teardown ------------------------------------------------------------------------ */

/* Mount points at or below dir in /proc/self/mountinfo (octal escapes decoded). */
static json_t *mounts_under(const char *dir)
{
    json_t *out = json_array();
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f) return out;
    size_t dl = strlen(dir);
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        char *mp = line;
        for (int field = 0; field < 4 && mp; field++) mp = strchr(mp, ' ') ? strchr(mp, ' ') + 1 : NULL;
        if (!mp) continue;
        mp[strcspn(mp, " ")] = 0;
        char *o = mp;
        for (char *c = mp; *c; c++) {
            if (c[0] == '\\' && c[1] >= '0' && c[1] <= '3' && c[2] >= '0' && c[2] <= '7' && c[3] >= '0' && c[3] <= '7') {
                *o++ = (char)((c[1] - '0') * 64 + (c[2] - '0') * 8 + (c[3] - '0'));
                c += 3;
            } else {
                *o++ = *c;
            }
        }
        *o = 0;
        if (!strncmp(mp, dir, dl) && (mp[dl] == 0 || mp[dl] == '/')) json_array_append_new(out, json_string(mp));
    }
    fclose(f);
    return out;
}

int sk_kl_volumes_teardown(const char *data_dir, const char *pod_uid, sk_err *err)
{
    if (!plain_name(pod_uid)) return sk_err_set(err, SK_EINVALID, "invalid pod uid \"%s\"", pod_uid ? pod_uid : "");
    char path[PATH_MAX], real[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/pods/%s", data_dir, pod_uid) >= sizeof path)
        return sk_err_set(err, SK_EINVALID, "pod path too long");
    if (!realpath(path, real)) return errno == ENOENT ? 0 : sk_err_sys(err, "resolve %s", path);
    /* Deepest first; a few passes for mounts stacked on one another. */
    for (int pass = 0; pass < 8; pass++) {
        _sk_json_ json_t *mps = mounts_under(real);
        if (!json_array_size(mps)) break;
        for (size_t i = json_array_size(mps); i-- > 0;)
            if (umount2(json_string_value(json_array_get(mps, i)), MNT_DETACH) < 0 && errno != EINVAL &&
                errno != ENOENT)
                return sk_err_sys(err, "unmount %s", json_string_value(json_array_get(mps, i)));
    }
    return sk_kl_rm_tree(real, err);
}
