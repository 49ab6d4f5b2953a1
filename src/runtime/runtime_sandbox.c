/* Pod sandboxes without a pause process: the IPC and UTS namespaces (and a
 * netns unless the caller brings one) are created by a short-lived thread
 * and kept alive by bind mounts; every container of the pod joins them by
 * path. The record (sandbox.json) is written before anything is mounted so
 * a half-created sandbox can always be removed. */
#include "runtime/runtime_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

#define RT_SYSCTL_MAX 64

static int check_sysctl(const char *s, sk_err *err)
{
    const char *eq = s ? strchr(s, '=') : NULL;
    if (!eq || eq == s || strlen(s) > 512 || strchr(s, '\n'))
        return sk_err_set(err, SK_EINVALID, "sysctl \"%s\": want name=value", s ? s : "");
    for (const char *p = s; p < eq; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/", *p))
            return sk_err_set(err, SK_EINVALID, "sysctl \"%s\": bad name", s);
    return 0;
}

static int check_config(const struct sk_rt_sandbox_config *c, sk_err *err)
{
    if (!rt_id_ok(c->id)) return sk_err_set(err, SK_EINVALID, "sandbox id \"%s\" is invalid", c->id ? c->id : "");
    size_t hl = c->hostname ? strlen(c->hostname) : 0;
    if (hl == 0 || hl > 63) return sk_err_set(err, SK_EINVALID, "sandbox hostname must be 1-63 chars");
    for (const char *p = c->hostname; *p; p++)
        if (*p <= ' ' || *p == '/' || *p == 0x7f)
            return sk_err_set(err, SK_EINVALID, "sandbox hostname \"%s\" is invalid", c->hostname);
    if (c->pod_uid && !rt_id_ok(c->pod_uid))
        return sk_err_set(err, SK_EINVALID, "pod uid \"%s\" is invalid", c->pod_uid);
    if (c->netns_path && (c->netns_path[0] != '/' || !rt_exists(c->netns_path)))
        return sk_err_set(err, SK_EINVALID, "netns %s does not exist", c->netns_path);
    if (c->user_data && strlen(c->user_data) > RT_USER_DATA_MAX)
        return sk_err_set(err, SK_EINVALID, "sandbox user_data too large");
    if (c->n_sysctls > RT_SYSCTL_MAX) return sk_err_set(err, SK_EINVALID, "too many sysctls");
    for (size_t i = 0; i < c->n_sysctls; i++)
        if (check_sysctl(c->sysctls[i], err) < 0) return -1;
    return 0;
}

static json_t *record(const sk_rt *rt, const struct sk_rt_sandbox_config *c)
{
    bool own_net = !c->host_network && !c->netns_path;
    _sk_free_ char *netns = own_net ? sk_printf("%s/%s", rt->netns_dir, c->id) : NULL;
    json_t *sysctls = json_array();
    for (size_t i = 0; i < c->n_sysctls; i++) json_array_append_new(sysctls, json_string(c->sysctls[i]));
    return json_pack("{s:s, s:s, s:s, s:s?, s:b, s:b, s:b, s:b, s:o, s:s?, s:I}", "id", c->id, "hostname",
                     c->hostname, "pod_uid", c->pod_uid ? c->pod_uid : c->id, "netns_path",
                     c->host_network ? NULL : own_net ? netns : c->netns_path, "netns_owned", own_net,
                     "host_network", c->host_network, "host_ipc", c->host_ipc, "host_pid", c->host_pid,
                     "sysctls", sysctls, "user_data", c->user_data, "created_ms", (json_int_t)sk_wall_ms());
}

static int write_text(const char *dir, const char *leaf, const char *text, sk_err *err)
{
    _sk_free_ char *path = sk_printf("%s/%s", dir, leaf);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return sk_err_sys(err, "create %s", path);
    size_t len = strlen(text);
    bool ok = write(fd, text, len) == (ssize_t)len;
    close(fd);
    return ok ? 0 : sk_err_sys(err, "write %s", path);
}

static int write_files(const char *dir, const struct sk_rt_sandbox_config *c, sk_err *err)
{
    _sk_free_ char *hostname = sk_printf("%s\n", c->hostname);
    _sk_free_ char *hosts = c->hosts ? NULL
                                     : sk_printf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    _sk_free_ char *resolv = NULL;
    if (!c->resolv_conf) {
        sk_err e = SK_ERR_INIT;
        resolv = sk_read_file("/etc/resolv.conf", NULL, &e);
        if (!resolv) resolv = sk_strdup("");
    }
    if (write_text(dir, "hostname", hostname, err) < 0 ||
        write_text(dir, "hosts", c->hosts ? c->hosts : hosts, err) < 0 ||
        write_text(dir, "resolv.conf", c->resolv_conf ? c->resolv_conf : resolv, err) < 0)
        return -1;
    return 0;
}

static int mount_shm(const char *dir, const struct sk_rt_sandbox_config *c, sk_err *err)
{
    _sk_free_ char *shm = sk_printf("%s/shm", dir);
    if (mkdir(shm, 0755) < 0) return sk_err_sys(err, "mkdir %s", shm);
    if (c->host_ipc) return 0;
    int64_t size = c->shm_size > 0 ? c->shm_size : 64 << 20;
    char opts[64];
    snprintf(opts, sizeof opts, "mode=1777,size=%lld", (long long)size);
    if (mount("shm", shm, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
        return sk_err_sys(err, "mount /dev/shm tmpfs of sandbox %s", c->id);
    return 0;
}

static void info_from(struct sk_rt_sandbox_info *out, const struct rt_sandbox *sb)
{
    *out = (struct sk_rt_sandbox_info){
        .id = sk_strdup(sb->id), .hostname = sk_strdup(sb->hostname), .pod_uid = sk_strdup(sb->pod_uid),
        .netns_path = sk_strdup(sb->netns_path), .user_data = sk_strdup(sb->user_data),
        .netns_owned = sb->netns_owned, .host_network = sb->host_network, .host_ipc = sb->host_ipc,
        .host_pid = sb->host_pid, .created_ms = sb->created_ms};
}

static int create_in(sk_rt *rt, const char *dir, const struct sk_rt_sandbox_config *c, sk_err *err)
{
    _sk_json_ json_t *rec = record(rt, c);
    _sk_free_ char *recpath = sk_printf("%s/sandbox.json", dir);
    if (rt_json_save(recpath, rec, err) < 0 || write_files(dir, c, err) < 0 || mount_shm(dir, c, err) < 0)
        return -1;
    _sk_free_ char *ipc = sk_printf("%s/ipc", dir);
    _sk_free_ char *uts = sk_printf("%s/uts", dir);
    struct rt_ns_request req = {
        .ipc = !c->host_ipc, .uts = !c->host_network, .net = json_is_true(json_object_get(rec, "netns_owned")),
        .hostname = c->hostname, .ipc_pin = ipc, .uts_pin = uts, .net_pin = sk_json_str(rec, "netns_path")};
    if (req.net && sk_mkdir_p(rt->netns_dir, 0755, err) < 0) return -1;
    return rt_ns_create(&req, err);
}

int sk_rt_sandbox_create(sk_rt *rt, const struct sk_rt_sandbox_config *cfg,
                         struct sk_rt_sandbox_info *out, sk_err *err)
{
    if (out) *out = (struct sk_rt_sandbox_info){0};
    if (check_config(cfg, err) < 0) return -1;
    _sk_free_ char *dir = rt_path(rt, "pods", cfg->id, NULL);
    if (mkdir(dir, 0711) < 0) {
        if (errno == EEXIST) return sk_err_set(err, SK_EEXIST, "sandbox %s already exists", cfg->id);
        return sk_err_sys(err, "mkdir %s", dir);
    }
    if (create_in(rt, dir, cfg, err) < 0) {
        sk_err e = SK_ERR_INIT;
        if (sk_rt_sandbox_remove(rt, cfg->id, &e) < 0) rt_err_append(err, " (cleanup failed too: %s)", e.msg);
        sk_err_clear(&e);
        return sk_err_wrap(err, "create sandbox %s", cfg->id);
    }
    return out ? sk_rt_sandbox_get(rt, cfg->id, out, err) : 0;
}

int rt_sandbox_load(const sk_rt *rt, const char *id, struct rt_sandbox *sb, sk_err *err)
{
    *sb = (struct rt_sandbox){0};
    if (!rt_id_ok(id)) return sk_err_set(err, SK_EINVALID, "sandbox id \"%s\" is invalid", id ? id : "");
    _sk_free_ char *path = rt_path(rt, "pods", id, "sandbox.json");
    if (!rt_exists(path)) return sk_err_set(err, SK_ENOTFOUND, "sandbox %s not found", id);
    _sk_json_ json_t *doc = rt_json_load(path, err);
    if (!doc) return -1;
    sb->dir = rt_path(rt, "pods", id, NULL);
    sb->id = sk_strdup(id);
    sb->hostname = sk_strdup(sk_json_str(doc, "hostname") ? sk_json_str(doc, "hostname") : id);
    sb->pod_uid = sk_strdup(sk_json_str(doc, "pod_uid") ? sk_json_str(doc, "pod_uid") : id);
    sb->netns_path = sk_strdup(sk_json_str(doc, "netns_path"));
    sb->user_data = sk_strdup(sk_json_str(doc, "user_data"));
    sb->netns_owned = json_is_true(json_object_get(doc, "netns_owned"));
    sb->host_network = json_is_true(json_object_get(doc, "host_network"));
    sb->host_ipc = json_is_true(json_object_get(doc, "host_ipc"));
    sb->host_pid = json_is_true(json_object_get(doc, "host_pid"));
    sb->created_ms = json_integer_value(json_object_get(doc, "created_ms"));
    json_t *sys = json_object_get(doc, "sysctls");
    size_t n = json_array_size(sys);
    sb->sysctls = sk_calloc(n + 1, sizeof *sb->sysctls);
    for (size_t i = 0; i < n && i < RT_SYSCTL_MAX; i++)
        if (json_is_string(json_array_get(sys, i)))
            sb->sysctls[sb->n_sysctls++] = sk_strdup(json_string_value(json_array_get(sys, i)));
    return 0;
}

void rt_sandbox_release(struct rt_sandbox *sb)
{
    free(sb->id);
    free(sb->hostname);
    free(sb->pod_uid);
    free(sb->netns_path);
    free(sb->user_data);
    free(sb->dir);
    rt_strv_free(sb->sysctls, sb->n_sysctls);
    *sb = (struct rt_sandbox){0};
}

static int remove_containers(sk_rt *rt, const char *id, sk_err *err)
{
    char **ids = NULL;
    size_t n = 0;
    if (rt_containers_of(rt, id, &ids, &n, err) < 0) return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (sk_rt_container_remove(rt, ids[i], err) < 0 && err->code != SK_ENOTFOUND) rc = -1;
        if (rc == 0) sk_err_clear(err);
    }
    rt_strv_free(ids, n);
    return rc;
}

int sk_rt_sandbox_remove(sk_rt *rt, const char *id, sk_err *err)
{
    if (!rt_id_ok(id)) return sk_err_set(err, SK_EINVALID, "sandbox id \"%s\" is invalid", id ? id : "");
    _sk_free_ char *dir = rt_path(rt, "pods", id, NULL);
    if (!rt_exists(dir)) return 0;
    if (remove_containers(rt, id, err) < 0) return sk_err_wrap(err, "remove sandbox %s", id);
    struct rt_sandbox sb;
    sk_err lerr = SK_ERR_INIT;
    bool have = rt_sandbox_load(rt, id, &sb, &lerr) == 0;
    sk_err_clear(&lerr);
    const char *leaves[] = {"ipc", "uts", "shm"};
    for (size_t i = 0; i < SK_ARRAY_LEN(leaves); i++) {
        _sk_free_ char *p = sk_printf("%s/%s", dir, leaves[i]);
        if (rt_umount(p, err) < 0) goto fail;
    }
    if (have && sb.netns_owned && sb.netns_path) {
        if (rt_umount(sb.netns_path, err) < 0) goto fail;
        if (unlink(sb.netns_path) < 0 && errno != ENOENT) {
            sk_err_sys(err, "remove %s", sb.netns_path);
            goto fail;
        }
    }
    if (rt_rm_rf(dir, err) < 0) goto fail;
    if (have) {
        _sk_free_ char *cg = sk_printf("%s/%s", rt->cgroup_parent, sb.pod_uid);
        rt_cgroup_rmdir(rt, cg);
        rt_sandbox_release(&sb);
    }
    return 0;
fail:
    if (have) rt_sandbox_release(&sb);
    return sk_err_wrap(err, "remove sandbox %s", id);
}

int sk_rt_sandbox_get(sk_rt *rt, const char *id, struct sk_rt_sandbox_info *out, sk_err *err)
{
    struct rt_sandbox sb;
    *out = (struct sk_rt_sandbox_info){0};
    if (rt_sandbox_load(rt, id, &sb, err) < 0) return -1;
    info_from(out, &sb);
    rt_sandbox_release(&sb);
    return 0;
}

int sk_rt_sandbox_list(sk_rt *rt, struct sk_rt_sandbox_info **out, size_t *n, sk_err *err)
{
    char **ids = NULL;
    size_t nids = 0;
    *out = NULL;
    *n = 0;
    if (rt_list_ids(rt, "pods", &ids, &nids, err) < 0) return -1;
    *out = sk_calloc(nids + 1, sizeof **out);
    for (size_t i = 0; i < nids; i++) {
        sk_err e = SK_ERR_INIT;
        if (sk_rt_sandbox_get(rt, ids[i], &(*out)[*n], &e) == 0) (*n)++;
        sk_err_clear(&e); /* a half-created sandbox: only remove finds it */
    }
    rt_strv_free(ids, nids);
    return 0;
}

void sk_rt_sandbox_info_release(struct sk_rt_sandbox_info *info)
{
    if (!info) return;
    free(info->id);
    free(info->hostname);
    free(info->pod_uid);
    free(info->netns_path);
    free(info->user_data);
    *info = (struct sk_rt_sandbox_info){0};
}

void sk_rt_sandbox_list_free(struct sk_rt_sandbox_info *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++) sk_rt_sandbox_info_release(&list[i]);
    free(list);
}
