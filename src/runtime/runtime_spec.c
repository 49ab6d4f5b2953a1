/* The OCI runtime config (config.json) of a container, from the plain C
 * spec, the sandbox record and the resolved user. Pure: no filesystem
 * access, so it is unit-tested without root. Defaults follow containerd's
 * CRI plugin: its mounts, masked and read-only paths, capability set, env
 * additions (PATH, HOSTNAME, TERM), unprivileged ports and ping.
 * Partial: privileged containers get every capability, no seccomp or
 * masked paths, rw /sys and an allow-all device cgroup, but the host's
 * device nodes are not added to their /dev. No AppArmor/SELinux, user
 * namespaces, hugepages, rlimits or mount propagation modes yet. */
#include "runtime/runtime_int.h"

#include <string.h>

#define RT_ARGS_MAX 4096
#define RT_ENV_MAX 4096
#define RT_MOUNTS_MAX 256
#define RT_STRINGS_BYTES (1 << 20)

static const char *const masked_paths[] = {
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi", "/sys/devices/virtual/powercap"};
static const char *const readonly_paths[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                             "/proc/sysrq-trigger"};

static bool abs_clean(const char *p)
{
    if (!p || p[0] != '/' || strlen(p) >= 4096) return false;
    for (const char *s = p; (s = strstr(s, "..")); s += 2)
        if (s[-1] == '/' && (s[2] == '/' || s[2] == 0)) return false;
    return true;
}

static int check_strings(const char *what, const char *const *v, size_t n, size_t max, bool env,
                         size_t *bytes, sk_err *err)
{
    if (n > max) return sk_err_set(err, SK_EINVALID, "too many %s (%zu > %zu)", what, n, max);
    for (size_t i = 0; i < n; i++) {
        if (!v[i]) return sk_err_set(err, SK_EINVALID, "%s[%zu] is NULL", what, i);
        if (env && (v[i][0] == '=' || !strchr(v[i], '=')))
            return sk_err_set(err, SK_EINVALID, "env \"%.64s\": want NAME=value", v[i]);
        *bytes += strlen(v[i]);
    }
    if (*bytes > RT_STRINGS_BYTES) return sk_err_set(err, SK_EINVALID, "args and env too large");
    return 0;
}

static int check_config(const struct sk_rt_container_config *c, sk_err *err)
{
    size_t bytes = 0;
    if (c->n_args == 0 || !c->args || !c->args[0] || !c->args[0][0])
        return sk_err_set(err, SK_EINVALID, "container %s: no command", c->id);
    if (check_strings("args", c->args, c->n_args, RT_ARGS_MAX, false, &bytes, err) < 0 ||
        check_strings("env", c->env, c->n_env, RT_ENV_MAX, true, &bytes, err) < 0)
        return -1;
    if (c->cwd && !abs_clean(c->cwd)) return sk_err_set(err, SK_EINVALID, "working dir \"%s\" must be absolute", c->cwd);
    if (c->n_mounts > RT_MOUNTS_MAX) return sk_err_set(err, SK_EINVALID, "too many mounts");
    for (size_t i = 0; i < c->n_mounts; i++) {
        const struct sk_rt_mount *m = &c->mounts[i];
        if (!abs_clean(m->source) || !abs_clean(m->destination) || !strcmp(m->destination, "/"))
            return sk_err_set(err, SK_EINVALID, "mount %zu: source and destination must be clean absolute paths", i);
    }
    if (c->memory_limit < 0 || c->cpu_quota < 0 || c->pids_limit < 0)
        return sk_err_set(err, SK_EINVALID, "negative resource limit");
    return 0;
}

static bool env_has(const struct sk_rt_container_config *c, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < c->n_env; i++)
        if (!strncmp(c->env[i], name, n) && c->env[i][n] == '=') return true;
    return false;
}

static json_t *process(const struct sk_rt_container_config *c, const struct rt_sandbox *sb,
                       const struct rt_user *u, uint64_t caps)
{
    json_t *args = json_array(), *env = json_array(), *gids = json_array(), *capset = json_array();
    for (size_t i = 0; i < c->n_args; i++) json_array_append_new(args, json_string(c->args[i]));
    if (!env_has(c, "PATH"))
        json_array_append_new(env, json_string("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
    if (!env_has(c, "HOSTNAME")) json_array_append_new(env, json_sprintf("HOSTNAME=%s", sb->hostname));
    if (c->terminal && !env_has(c, "TERM")) json_array_append_new(env, json_string("TERM=xterm"));
    for (size_t i = 0; i < c->n_env; i++) json_array_append_new(env, json_string(c->env[i]));
    for (size_t i = 0; i < u->n_gids; i++) json_array_append_new(gids, json_integer(u->gids[i]));
    for (int cap = 0; rt_cap_name(cap); cap++)
        if (caps & (1ULL << cap)) json_array_append_new(capset, json_string(rt_cap_name(cap)));
    json_t *p = json_pack("{s:b, s:{s:I, s:I, s:o}, s:o, s:o, s:s, s:{s:O, s:O, s:O}, s:b, s:i}",
                          "terminal", c->terminal, "user", "uid", (json_int_t)u->uid, "gid",
                          (json_int_t)u->gid, "additionalGids", gids, "args", args, "env", env, "cwd",
                          c->cwd ? c->cwd : "/", "capabilities", "bounding", capset, "effective", capset,
                          "permitted", capset, "noNewPrivileges", c->no_new_privileges && !c->privileged,
                          "oomScoreAdj", c->oom_score_adj);
    json_decref(capset);
    return p;
}

static json_t *mount_entry(const char *dst, const char *type, const char *src, const char *opts)
{
    json_t *o = json_array();
    for (const char *p = opts; p && *p;) {
        size_t n = strcspn(p, ",");
        json_array_append_new(o, json_stringn(p, n));
        p += n + (p[n] == ',');
    }
    return json_pack("{s:s, s:s, s:s, s:o}", "destination", dst, "type", type, "source", src, "options", o);
}

static bool shadowed(const struct sk_rt_container_config *c, const char *dst)
{
    for (size_t i = 0; i < c->n_mounts; i++)
        if (!strcmp(c->mounts[i].destination, dst)) return true;
    return false;
}

static size_t depth(const char *p)
{
    size_t d = 0;
    for (; *p; p++) d += *p == '/';
    return d;
}

static json_t *mounts(const struct sk_rt_container_config *c, const struct rt_sandbox *sb)
{
    bool priv = c->privileged;
    const char *ro = c->readonly_rootfs ? "ro" : "rw";
    _sk_free_ char *shm = sb->host_ipc ? sk_strdup("/dev/shm") : sk_printf("%s/shm", sb->dir);
    _sk_free_ char *hosts = sk_printf("%s/hosts", sb->dir);
    _sk_free_ char *hostname = sk_printf("%s/hostname", sb->dir);
    _sk_free_ char *resolv = sk_printf("%s/resolv.conf", sb->dir);
    _sk_free_ char *file_opts = sk_printf("rbind,rprivate,%s", ro);
    struct { const char *dst, *type, *src, *opts; } defs[] = {
        {"/proc", "proc", "proc", "nosuid,noexec,nodev"},
        {"/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k"},
        {"/dev/pts", "devpts", "devpts", "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"},
        {"/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"},
        {"/sys", "sysfs", "sysfs", priv ? "nosuid,noexec,nodev,rw" : "nosuid,noexec,nodev,ro"},
        {"/sys/fs/cgroup", "cgroup", "cgroup", priv ? "nosuid,noexec,nodev,relatime,rw" : "nosuid,noexec,nodev,relatime,ro"},
        {"/dev/shm", "bind", shm, "rbind,rprivate,rw"},
        {"/etc/hosts", "bind", hosts, file_opts},
        {"/etc/hostname", "bind", hostname, file_opts},
        {"/etc/resolv.conf", "bind", resolv, file_opts},
    };
    json_t *arr = json_array();
    for (size_t i = 0; i < SK_ARRAY_LEN(defs); i++)
        if (!shadowed(c, defs[i].dst))
            json_array_append_new(arr, mount_entry(defs[i].dst, defs[i].type, defs[i].src, defs[i].opts));
    /* Parents before children, as containerd sorts them; stable otherwise. */
    size_t maxd = 0;
    for (size_t i = 0; i < c->n_mounts; i++) maxd = depth(c->mounts[i].destination) > maxd ? depth(c->mounts[i].destination) : maxd;
    for (size_t d = 0; d <= maxd; d++)
        for (size_t i = 0; i < c->n_mounts; i++) {
            const struct sk_rt_mount *m = &c->mounts[i];
            if (depth(m->destination) != d) continue;
            json_array_append_new(arr, mount_entry(m->destination, "bind", m->source,
                                                   m->readonly ? "rbind,rprivate,ro" : "rbind,rprivate,rw"));
        }
    return arr;
}

static json_t *namespaces(const struct rt_sandbox *sb)
{
    json_t *ns = json_array();
    _sk_free_ char *ipc = sk_printf("%s/ipc", sb->dir);
    _sk_free_ char *uts = sk_printf("%s/uts", sb->dir);
    json_array_append_new(ns, json_pack("{s:s}", "type", "mount"));
    if (!sb->host_pid) json_array_append_new(ns, json_pack("{s:s}", "type", "pid"));
    if (!sb->host_ipc) json_array_append_new(ns, json_pack("{s:s, s:s}", "type", "ipc", "path", ipc));
    if (!sb->host_network) {
        json_array_append_new(ns, json_pack("{s:s, s:s}", "type", "uts", "path", uts));
        json_array_append_new(ns, json_pack("{s:s, s:s}", "type", "network", "path", sb->netns_path));
    }
    return ns;
}

static json_t *resources(const struct sk_rt_container_config *c)
{
    json_t *r = json_object();
    json_object_set_new(r, "devices", json_pack("[{s:b, s:s}]", "allow", c->privileged, "access", "rwm"));
    if (c->memory_limit) json_object_set_new(r, "memory", json_pack("{s:I}", "limit", (json_int_t)c->memory_limit));
    if (c->cpu_shares || c->cpu_quota) {
        json_t *cpu = json_object();
        if (c->cpu_shares) json_object_set_new(cpu, "shares", json_integer((json_int_t)c->cpu_shares));
        if (c->cpu_quota) {
            json_object_set_new(cpu, "quota", json_integer(c->cpu_quota));
            json_object_set_new(cpu, "period", json_integer((json_int_t)(c->cpu_period ? c->cpu_period : 100000)));
        }
        json_object_set_new(r, "cpu", cpu);
    }
    if (c->pids_limit) json_object_set_new(r, "pids", json_pack("{s:I}", "limit", (json_int_t)c->pids_limit));
    return r;
}

/* Pods with their own netns may bind low ports and ping without
 * capabilities (containerd 2 defaults); pod sysctls follow and win. Net
 * sysctls are dropped for host-network pods: they would change the node. */
static json_t *sysctls(const struct rt_sandbox *sb)
{
    json_t *s = json_object();
    if (!sb->host_network) {
        json_object_set_new(s, "net.ipv4.ip_unprivileged_port_start", json_string("0"));
        json_object_set_new(s, "net.ipv4.ping_group_range", json_string("0 2147483647"));
    }
    for (size_t i = 0; i < sb->n_sysctls; i++) {
        const char *eq = strchr(sb->sysctls[i], '=');
        if (!eq || (sb->host_network && !strncmp(sb->sysctls[i], "net.", 4))) continue;
        _sk_free_ char *key = sk_strndup(sb->sysctls[i], (size_t)(eq - sb->sysctls[i]));
        json_object_set_new(s, key, json_string(eq + 1));
    }
    return s;
}

static json_t *string_array(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(a, json_string(v[i]));
    return a;
}

json_t *rt_oci_config(const struct sk_rt_container_config *cfg, const struct rt_sandbox *sb,
                      const struct rt_user *u, const char *rootfs, const char *cgroups_path, sk_err *err)
{
    uint64_t caps = 0;
    if (check_config(cfg, err) < 0 || rt_caps_compute(cfg, &caps, err) < 0) return NULL;
    json_t *lx = json_pack("{s:o, s:s, s:o, s:o}", "namespaces", namespaces(sb), "cgroupsPath", cgroups_path,
                              "resources", resources(cfg), "sysctl", sysctls(sb));
    if (!cfg->privileged) {
        json_object_set_new(lx, "maskedPaths", string_array(masked_paths, SK_ARRAY_LEN(masked_paths)));
        json_object_set_new(lx, "readonlyPaths", string_array(readonly_paths, SK_ARRAY_LEN(readonly_paths)));
        if (cfg->seccomp == SK_RT_SECCOMP_DEFAULT) json_object_set_new(lx, "seccomp", rt_seccomp_profile(caps));
    }
    json_t *doc = json_pack("{s:s, s:o, s:{s:s, s:b}, s:o, s:o}", "ociVersion", "1.0.2", "process",
                            process(cfg, sb, u, caps), "root", "path", rootfs, "readonly", cfg->readonly_rootfs,
                            "mounts", mounts(cfg, sb), "linux", lx);
    if (!doc) sk_err_set(err, SK_EINTERNAL, "container %s: cannot build the OCI config", cfg->id);
    return doc;
}
