/* sk_rt handle: process setup, crun discovery, cgroup hierarchies, stale
 * state after a reboot, and purge. */
#include "runtime/runtime_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/magic.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

static char *find_in_path(const char *name)
{
    if (strchr(name, '/')) return access(name, X_OK) == 0 ? realpath(name, NULL) : NULL;
    const char *path = getenv("PATH");
    _sk_free_ char *copy = sk_strdup(path && *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        _sk_free_ char *cand = sk_printf("%s/%s", dir, name);
        if (access(cand, X_OK) == 0) return realpath(cand, NULL);
    }
    return NULL;
}

static int crun_version(sk_rt *rt, sk_err *err)
{
    const char *argv[] = {rt->crun, "--version", NULL};
    sk_buf out = SK_BUF_INIT;
    int st = rt_run(rt->crun, argv, 10000, &out, err);
    const char *v = out.len ? strstr(out.data, "crun version ") : NULL;
    if (st == 0 && v) {
        v += strlen("crun version ");
        size_t n = strcspn(v, " \n");
        snprintf(rt->version, sizeof rt->version, "%.*s", (int)(n < 31 ? n : 31), v);
    }
    sk_buf_release(&out);
    if (st < 0) return -1;
    if (!rt->version[0]) return sk_err_set(err, SK_EUNAVAILABLE, "%s --version: unexpected output", rt->crun);
    return 0;
}

/* Reads the cgroup hierarchies from mountinfo: "... mountpoint opts - fstype src superopts". */
static int cgroup_mounts(sk_rt *rt, sk_err *err)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f) return sk_err_sys(err, "open /proc/self/mountinfo");
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        char mnt[1024], fstype[64], super[1024];
        const char *dash = strstr(line, " - ");
        if (!dash || sscanf(line, "%*s %*s %*s %*s %1023s", mnt) != 1 ||
            sscanf(dash + 3, "%63s %*s %1023s", fstype, super) != 2)
            continue;
        bool v2 = !strcmp(fstype, "cgroup2");
        if (!v2 && strcmp(fstype, "cgroup")) continue;
        rt->cg_mounts = sk_realloc(rt->cg_mounts, (rt->n_cg_mounts + 1) * sizeof *rt->cg_mounts);
        rt->cg_mounts[rt->n_cg_mounts++] = sk_strdup(mnt);
        bool has_memory = false;
        for (char *save = NULL, *o = strtok_r(super, ",", &save); o; o = strtok_r(NULL, ",", &save))
            if (!strcmp(o, "memory")) has_memory = true;
        if (!rt->memcg && (has_memory || (v2 && !strcmp(mnt, "/sys/fs/cgroup")))) {
            rt->memcg = sk_strdup(mnt);
            rt->memcg_v2 = v2;
        }
    }
    fclose(f);
    /* On hybrid hosts crun still mkdirs (and writes cgroup.procs) below the
     * unmounted unified path, i.e. in the /sys/fs/cgroup tmpfs. Those ghost
     * dirs are plain files to us: removed with the cgroups. */
    struct statfs sfs;
    if (statfs("/sys/fs/cgroup/unified", &sfs) == 0 && sfs.f_type == TMPFS_MAGIC)
        rt->cg_ghost = sk_strdup("/sys/fs/cgroup/unified");
    return 0;
}

static int check_config(const struct sk_rt_config *cfg, sk_err *err)
{
    if (!cfg || !cfg->root_dir || cfg->root_dir[0] != '/')
        return sk_err_set(err, SK_EINVALID, "runtime root_dir must be an absolute path");
    if (strlen(cfg->root_dir) > 200) return sk_err_set(err, SK_EINVALID, "runtime root_dir too long");
    if (cfg->cgroup_parent && (cfg->cgroup_parent[0] != '/' || strstr(cfg->cgroup_parent, "..")))
        return sk_err_set(err, SK_EINVALID, "cgroup_parent must be an absolute cgroup path");
    if (cfg->netns_dir && cfg->netns_dir[0] != '/')
        return sk_err_set(err, SK_EINVALID, "netns_dir must be absolute");
    if (cfg->state_dir && (cfg->state_dir[0] != '/' || strlen(cfg->state_dir) > 200))
        return sk_err_set(err, SK_EINVALID, "runtime state_dir must be an absolute path of at most 200 bytes");
    return 0;
}

static char *strip_slash(const char *s)
{
    char *out = sk_strdup(s);
    size_t n = strlen(out);
    while (n > 1 && out[n - 1] == '/') out[--n] = 0;
    return out;
}

/* Before anything else, crun makes sure a container cannot overwrite it
 * through /proc/self/exe (CVE-2019-5736): unless it already runs from a
 * sealed memfd, or (with _LIBCONTAINER_CLONED_BINARY=1 set by whoever
 * started it) from a read-only mount, it bind-mounts itself read-only,
 * remounts, unmounts and re-executes the result. A second exec with its
 * dynamic linking and three mount calls, at every call: about 1.6 of the
 * 8-10 ms of CPU a container start costs crun. So crun is run from one
 * read-only bind mount of itself, STATE/bin/crun, made here (again at each
 * agent start, so an upgraded crun is picked up), with that variable set
 * for every process started from here on. Where the mount fails, crun
 * itself is run and protects itself as usual. */
static void ro_crun(sk_rt *rt)
{
    rt->crun_exe = sk_strdup(rt->crun);
    _sk_free_ char *dir = sk_printf("%s/bin", rt->state);
    _sk_free_ char *target = sk_printf("%s/crun", dir);
    umount2(target, MNT_DETACH); /* an earlier agent's */
    int t = mkdir(dir, 0700) == 0 || errno == EEXIST ? open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0700) : -1;
    if (t >= 0) close(t);
    if (t < 0 || mount(rt->crun, target, NULL, MS_BIND, NULL) < 0) {
        sk_log(SK_DEBUG, "runtime", "crun runs from %s: bind mount: %s", rt->crun, strerror(errno));
        return;
    }
    if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0 ||
        setenv("_LIBCONTAINER_CLONED_BINARY", "1", 1) < 0) {
        sk_log(SK_DEBUG, "runtime", "crun runs from %s: read-only remount: %s", rt->crun, strerror(errno));
        umount2(target, MNT_DETACH);
        return;
    }
    free(rt->crun_exe);
    rt->crun_exe = sk_strdup(target);
}

/* The state tmpfs (see runtime_int.h) in the agent's mount namespace:
 * restarted agents rejoin it, a reboot starts empty, which is also when
 * its records would be stale. Sized for bundles of many containers; a
 * tmpfs only uses the memory of what it holds. */
static int state_tmpfs(sk_rt *rt, sk_err *err)
{
    struct stat st, parent;
    _sk_free_ char *up = sk_printf("%s/..", rt->state);
    if (sk_mkdir_p(rt->state, 0700, err) < 0) return -1;
    if (stat(rt->state, &st) == 0 && stat(up, &parent) == 0 && st.st_dev != parent.st_dev)
        return 0; /* mounted by an earlier agent in this namespace */
    if (mount("tmpfs", rt->state, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700,size=256m") < 0)
        return sk_err_sys(err, "mount tmpfs for runtime state at %s", rt->state);
    return 0;
}

sk_rt *sk_rt_init(const struct sk_rt_config *cfg, sk_err *err)
{
    if (check_config(cfg, err) < 0) return NULL;
    if (geteuid() != 0) {
        sk_err_set(err, SK_EFORBIDDEN, "the container runtime needs root");
        return NULL;
    }
    sk_rt *rt = sk_calloc(1, sizeof *rt);
    rt->zygote_fd = -1;
    rt->root = strip_slash(cfg->root_dir);
    rt->state = cfg->state_dir ? strip_slash(cfg->state_dir) : sk_printf("%s/run", rt->root);
    rt->crun_root = sk_printf("%s/crun", rt->state);
    rt->netns_dir = strip_slash(cfg->netns_dir ? cfg->netns_dir : "/run/netns");
    rt->cgroup_parent = strip_slash(cfg->cgroup_parent ? cfg->cgroup_parent : "/kubepods");
    rt->crun = find_in_path(cfg->crun_path ? cfg->crun_path : "crun");
    bool fresh = false;
    if (!rt->crun) {
        sk_err_set(err, SK_EUNAVAILABLE, "crun not found (install the crun package)");
        goto fail;
    }
    if (crun_version(rt, err) < 0 || sk_mkdir_p(rt->root, 0700, err) < 0 ||
        rt_ns_process_setup(rt, &fresh, err) < 0 || cgroup_mounts(rt, err) < 0 || state_tmpfs(rt, err) < 0)
        goto fail;
    /* sock/ only holds files of exec sessions, which end with their agent. */
    const char *dirs[] = {"crun", "pods", "containers", "sock"};
    for (size_t i = 0; i < SK_ARRAY_LEN(dirs); i++) {
        _sk_free_ char *d = sk_printf("%s/%s", rt->state, dirs[i]);
        if ((i == 3 && rt_rm_rf(d, err) < 0) || sk_mkdir_p(d, 0700, err) < 0) goto fail;
    }
    ro_crun(rt);
    char *layers = sk_printf("%s/containers", rt->root);
    int lrc = sk_mkdir_p(layers, 0700, err);
    free(layers);
    if (lrc < 0) goto fail;
    /* A new namespace means the previous agent's mounts, pins and (after a
     * reboot) containers are gone: what is on disk is stale. */
    if (fresh) {
        sk_err e = SK_ERR_INIT;
        if (rt_purge_state(rt, &e) < 0) snprintf(rt->warning, sizeof rt->warning, "stale state: %s", e.msg);
        sk_err_clear(&e);
    }
    if (rt_zygote_start(rt, err) < 0) goto fail;
    return rt;
fail:
    sk_rt_free(rt);
    return NULL;
}

void sk_rt_free(sk_rt *rt)
{
    if (!rt) return;
    rt_zygote_stop(rt);
    for (size_t i = 0; i < rt->n_cg_mounts; i++) free(rt->cg_mounts[i]);
    free(rt->cg_mounts);
    free(rt->memcg);
    free(rt->cg_ghost);
    free(rt->root);
    free(rt->state);
    free(rt->crun);
    free(rt->crun_exe);
    free(rt->crun_root);
    free(rt->netns_dir);
    free(rt->cgroup_parent);
    free(rt);
}

const char *sk_rt_version(const sk_rt *rt)
{
    return rt->version;
}

const char *sk_rt_state_dir(const sk_rt *rt)
{
    return rt->state;
}

const char *sk_rt_warning(const sk_rt *rt)
{
    return rt->warning;
}

static int list_dir(const char *path, char ***names, size_t *n, sk_err *err)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(path);
    if (!d) return errno == ENOENT ? 0 : sk_err_sys(err, "open %s", path);
    for (struct dirent *de; (de = readdir(d));) {
        if (de->d_name[0] == '.' || !rt_id_ok(de->d_name)) continue;
        *names = sk_realloc(*names, (*n + 1) * sizeof **names);
        (*names)[(*n)++] = sk_strdup(de->d_name);
    }
    closedir(d);
    return 0;
}

int rt_list_ids(const sk_rt *rt, const char *kind, char ***ids, size_t *n, sk_err *err)
{
    _sk_free_ char *dir = sk_printf("%s/%s", rt->state, kind);
    return list_dir(dir, ids, n, err);
}

/* Removes every sandbox, container and crun record, and writable layers
 * left without one (after a reboot); keeps going past failures and reports
 * the first. */
int rt_purge_state(sk_rt *rt, sk_err *err)
{
    int rc = 0;
    _sk_free_ char *layers = sk_printf("%s/containers", rt->root);
    const char *kinds[] = {"pods", "containers", "crun", NULL}; /* NULL: the layers on disk */
    for (size_t k = 0; k < SK_ARRAY_LEN(kinds); k++) {
        char **ids = NULL;
        size_t n = 0;
        if ((kinds[k] ? rt_list_ids(rt, kinds[k], &ids, &n, err) : list_dir(layers, &ids, &n, err)) < 0) return -1;
        for (size_t i = 0; i < n; i++) {
            sk_err e = SK_ERR_INIT;
            int r = k == 0 ? sk_rt_sandbox_remove(rt, ids[i], &e) : sk_rt_container_remove(rt, ids[i], &e);
            if (r < 0 && e.code != SK_ENOTFOUND && rc == 0) {
                rc = -1;
                *err = e;
            } else {
                sk_err_clear(&e);
            }
        }
        rt_strv_free(ids, n);
    }
    rt_cgroup_rmdir(rt, rt->cgroup_parent);
    return rc;
}

int sk_rt_purge(sk_rt *rt, sk_err *err)
{
    if (rt_purge_state(rt, err) < 0) return -1;
    if (rt_ns_unpin(rt, err) < 0) return -1;
    umount2(rt->state, MNT_DETACH);
    if (rt_rm_rf(rt->state, err) < 0) return -1;
    /* crun, pods and sock lived under ROOT in earlier versions */
    const char *dirs[] = {"crun", "pods", "containers", "sock", "ns"};
    for (size_t i = 0; i < SK_ARRAY_LEN(dirs); i++) {
        _sk_free_ char *d = sk_printf("%s/%s", rt->root, dirs[i]);
        if (i == 0) umount2(d, MNT_DETACH);
        if (rt_rm_rf(d, err) < 0) return -1;
    }
    return 0;
}
