/* A container's volumeMounts -> bind mounts (kubelet_pods.go makeMounts).
 * Sources are the pod's volume directories or the hostPath; subPath and
 * subPathExpr select a path inside, created when missing as upstream, and
 * resolved (symlinks included) so it cannot leave the volume. configMap,
 * secret, downwardAPI and projected volumes are always read-only.
 *
 * Partial: mountPropagation is ignored (every mount is private); the
 * subPath check resolves then binds the result, without upstream's
 * fd-based pinning, so a container racing to swap a directory of a
 * writable volume for a symlink between the check and the bind could
 * escape; subPathExpr sees the container's env values and fieldRefs, not
 * values from ConfigMaps or Secrets. */
#include "kubelet/volumes_int.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

struct mnt {
    char *src, *dst;
    bool ro;
};

static const json_t *find_volume(const json_t *pod, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(sk_json_path(pod, "spec.volumes"), i, v) {
        const char *n = sk_json_str(v, "name");
        if (n && name && !strcmp(n, name)) return v;
    }
    return NULL;
}

/* subPathExpr, expanded with the container's environment; every reference
 * must have a non-empty value (ExpandContainerVolumeMounts). */
struct expr_ud {
    sk_kl_env *env;
    sk_buf missing;
};

static const char *expr_lookup(void *ud, const char *name)
{
    struct expr_ud *x = ud;
    const char *v = sk_kl_env_lookup(x->env, name);
    if (v && *v) return v;
    if (x->missing.len) sk_buf_add(&x->missing, ", ", 2);
    sk_buf_adds(&x->missing, name);
    return "";
}

static char *sub_path_expr(const json_t *pod, const json_t *ctr, const char *expr, sk_err *err)
{
    struct sk_kl_spec_ctx ctx = {.pod = pod,
                                 .node_ip = sk_json_path_str(pod, "status.hostIP"),
                                 .pod_ip = sk_json_path_str(pod, "status.podIP")};
    struct expr_ud x = {sk_kl_env_build(&ctx, sk_kl_client_get, NULL, ctr, true, err), SK_BUF_INIT};
    if (!x.env) return NULL;
    char *out = sk_kl_expand(expr, expr_lookup, &x, PATH_MAX);
    sk_kl_env_free(x.env);
    if (!out || x.missing.len) {
        if (!out) sk_err_set(err, SK_EINVALID, "subPathExpr too long");
        else sk_err_set(err, SK_EINVALID, "missing value for %s", x.missing.data);
        free(out);
        sk_buf_release(&x.missing);
        return NULL;
    }
    sk_buf_release(&x.missing);
    return out;
}

static bool within(const char *path, const char *base)
{
    size_t n = strlen(base);
    return !strncmp(path, base, n) && (path[n] == 0 || path[n] == '/' || !strcmp(base, "/"));
}

/* base/sub resolved inside base, creating missing directories with the
 * volume root's permissions (SafeMakeDir). New string. */
static char *resolve_sub(const char *base, const char *sub, sk_err *err)
{
    char rbase[PATH_MAX], path[PATH_MAX], real[PATH_MAX];
    if (!realpath(base, rbase)) {
        sk_err_sys(err, "volume path %s", base);
        return NULL;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/%s", rbase, sub) >= sizeof path) {
        sk_err_set(err, SK_EINVALID, "subPath %s too long", sub);
        return NULL;
    }
    if (!realpath(path, real)) {
        if (errno != ENOENT) {
            sk_err_sys(err, "resolve subPath %s", sub);
            return NULL;
        }
        /* The longest existing prefix must already be inside. */
        char pre[PATH_MAX];
        snprintf(pre, sizeof pre, "%s", path);
        snprintf(real, sizeof real, "%s", rbase);
        char *slash;
        while ((slash = strrchr(pre, '/')) && slash > pre) {
            *slash = 0;
            if (realpath(pre, real)) break;
        }
        if (!within(real, rbase)) {
            sk_err_set(err, SK_EINVALID, "subpath \"%s\" not within volume path \"%s\"", path, rbase);
            return NULL;
        }
        struct stat st;
        if (stat(rbase, &st) < 0 || sk_mkdir_p(path, (int)(st.st_mode & 07777), err) < 0) return NULL;
        /* mkdir honours the umask; the new dirs get the volume's mode. */
        for (size_t i = strlen(pre) + 1; i <= strlen(path); i++)
            if (path[i] == '/' || path[i] == 0) {
                char c = path[i];
                path[i] = 0;
                int rc = chmod(path, st.st_mode & 07777);
                path[i] = c;
                if (rc < 0) {
                    sk_err_sys(err, "chmod %s", path);
                    return NULL;
                }
            }
        if (!realpath(path, real)) {
            sk_err_sys(err, "resolve subPath %s", sub);
            return NULL;
        }
    }
    if (!within(real, rbase)) {
        sk_err_set(err, SK_EINVALID, "subpath \"%s\" not within volume path \"%s\"", real, rbase);
        return NULL;
    }
    return sk_strdup(real);
}

static bool has_backstep(const char *p)
{
    for (const char *s = p; *s;) {
        size_t len = strcspn(s, "/");
        if (len == 2 && s[0] == '.' && s[1] == '.') return true;
        s += len;
        if (*s) s++;
    }
    return false;
}

static int one_mount(const char *data_dir, const json_t *pod, const json_t *ctr, const json_t *vm, struct mnt *m,
                     sk_err *err)
{
    const char *name = sk_json_str(vm, "name"), *mp = sk_json_str(vm, "mountPath");
    const json_t *vol = find_volume(pod, name);
    if (!vol)
        return sk_err_set(err, SK_EINVALID, "cannot find volume \"%s\" to mount into container \"%s\"",
                          name ? name : "", sk_json_str(ctr, "name") ?: "");
    if (!mp || !*mp) return sk_err_set(err, SK_EINVALID, "volume \"%s\": mountPath is required", name);
    _sk_free_ char *rel = mp[0] == '/' ? NULL : sk_printf("/%s", mp);
    m->dst = sk_kl_path_clean(rel ? rel : mp);
    if (!strcmp(m->dst, "/")) return sk_err_set(err, SK_EINVALID, "volume \"%s\": cannot mount over /", name);
    char base[PATH_MAX];
    const json_t *hp = json_object_get(vol, "hostPath");
    if (hp) {
        const char *p = sk_json_str(hp, "path");
        if (!p || p[0] != '/') return sk_err_set(err, SK_EINVALID, "volume \"%s\": hostPath must be absolute", name);
        _sk_free_ char *c = sk_kl_path_clean(p);
        snprintf(base, sizeof base, "%s", c);
    } else if (sk_kl_volume_dir(data_dir, sk_json_path_str(pod, "metadata.uid"), name, base, sizeof base, err) < 0) {
        return -1;
    }
    m->ro = json_is_true(json_object_get(vm, "readOnly")) || json_object_get(vol, "configMap") ||
            json_object_get(vol, "secret") || json_object_get(vol, "downwardAPI") ||
            json_object_get(vol, "projected");
    const char *sub = sk_json_str(vm, "subPath"), *expr = sk_json_str(vm, "subPathExpr");
    _sk_free_ char *expanded = NULL;
    if ((!sub || !*sub) && expr && *expr) {
        if (!(expanded = sub_path_expr(pod, ctr, expr, err))) return -1;
        sub = expanded;
    }
    if (!sub || !*sub) {
        m->src = sk_strdup(base);
        return 0;
    }
    if (sub[0] == '/') return sk_err_set(err, SK_EINVALID, "error SubPath `%s` must not be an absolute path", sub);
    if (has_backstep(sub))
        return sk_err_set(err, SK_EINVALID, "unable to provision SubPath `%s`: must not contain '..'", sub);
    m->src = resolve_sub(base, sub, err);
    return m->src ? 0 : -1;
}

int sk_kl_volume_mounts(const char *data_dir, const json_t *pod, const json_t *ctr, struct sk_rt_mount **out,
                        size_t *n, sk_err *err)
{
    json_t *vms = json_object_get(ctr, "volumeMounts");
    size_t cnt = json_array_size(vms), i, bytes = 0;
    *out = NULL;
    *n = 0;
    if (cnt > 256) return sk_err_set(err, SK_EINVALID, "too many volumeMounts (%zu > 256)", cnt);
    struct mnt *ms = sk_calloc(cnt + 1, sizeof *ms);
    json_t *vm;
    int rc = 0;
    json_array_foreach(vms, i, vm) {
        if ((rc = one_mount(data_dir, pod, ctr, vm, &ms[i], err)) < 0) break;
        bytes += strlen(ms[i].src) + strlen(ms[i].dst) + 2;
    }
    if (rc == 0) {
        /* One allocation: the array, then its strings. */
        struct sk_rt_mount *arr = sk_malloc(cnt * sizeof *arr + bytes + 1);
        char *s = (char *)(arr + cnt);
        for (i = 0; i < cnt; i++) {
            size_t a = strlen(ms[i].src) + 1, b = strlen(ms[i].dst) + 1;
            arr[i] = (struct sk_rt_mount){memcpy(s, ms[i].src, a), memcpy(s + a, ms[i].dst, b), ms[i].ro};
            s += a + b;
        }
        *out = arr;
        *n = cnt;
    }
    for (i = 0; i < cnt; i++) {
        free(ms[i].src);
        free(ms[i].dst);
    }
    free(ms);
    return rc;
}
