/* Container lifecycle: create (overlay rootfs + OCI bundle + shim), start,
 * stop and remove. A container's record is its directory under STATE, its
 * writable layer one under ROOT (see runtime_int.h); meta.json is written
 * first, so a create interrupted at any point is still found and removed by
 * sk_rt_container_remove. */
#include "runtime/runtime_int.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#define RT_CRUN_TIMEOUT_MS 60000
#define RT_KILL_WAIT_MS 10000
#define RT_SHIM_EXIT_WAIT_MS 5000
#define RT_OVERLAY_OPTS_MAX 4000 /* mount(2) data is one page */

static int check_config(const struct sk_rt_container_config *c, sk_err *err)
{
    if (!rt_id_ok(c->id)) return sk_err_set(err, SK_EINVALID, "container id \"%s\" is invalid", c->id ? c->id : "");
    if (!rt_id_ok(c->sandbox_id)) return sk_err_set(err, SK_EINVALID, "container %s: bad sandbox id", c->id);
    if (c->name && strlen(c->name) > 253) return sk_err_set(err, SK_EINVALID, "container %s: name too long", c->id);
    if (!c->log_path || c->log_path[0] != '/' || strlen(c->log_path) > 3000)
        return sk_err_set(err, SK_EINVALID, "container %s: log_path must be an absolute path", c->id);
    if (c->user_data && strlen(c->user_data) > RT_USER_DATA_MAX)
        return sk_err_set(err, SK_EINVALID, "container %s: user_data too large", c->id);
    if (c->n_lower == 0 || c->n_lower > 500) return sk_err_set(err, SK_EINVALID, "container %s: need 1-500 layers", c->id);
    for (size_t i = 0; i < c->n_lower; i++) {
        struct stat st;
        const char *l = c->lower_dirs[i];
        if (!l || l[0] != '/' || stat(l, &st) < 0 || !S_ISDIR(st.st_mode))
            return sk_err_set(err, SK_EINVALID, "container %s: layer %s is not a directory", c->id, l ? l : "(null)");
    }
    if (c->stop_signal < 0 || c->stop_signal >= NSIG) return sk_err_set(err, SK_EINVALID, "bad stop signal");
    return 0;
}

static int save_meta(const char *dir, const struct sk_rt_container_config *c, const char *cgpath, sk_err *err)
{
    _sk_json_ json_t *m = json_pack("{s:s, s:s, s:s?, s:s, s:s?, s:s, s:i, s:b, s:I}", "id", c->id, "sandbox_id",
                                    c->sandbox_id, "name", c->name, "log_path", c->log_path, "user_data",
                                    c->user_data, "cgroups_path", cgpath, "stop_signal",
                                    c->stop_signal ? c->stop_signal : SIGTERM, "terminal", c->terminal,
                                    "created_ms", (json_int_t)sk_wall_ms());
    _sk_free_ char *path = sk_printf("%s/meta.json", dir);
    return m ? rt_json_save(path, m, err) : sk_err_set(err, SK_EINTERNAL, "container %s: bad metadata", c->id);
}

static bool overlay_safe(const char *p)
{
    return !strpbrk(p, ",:\\ \t\n");
}

/* Classic mount(2) while the option string fits in a page; else, or for
 * awkward paths, the new mount API with one "lowerdir+" per layer (6.8+). */
static int mount_overlay(sk_rt *rt, const char *dir, const struct sk_rt_container_config *c, sk_err *err)
{
    _sk_free_ char *layer = rt_layer_path(rt, c->id, NULL);
    _sk_free_ char *upper = sk_printf("%s/upper", layer), *work = sk_printf("%s/work", layer);
    _sk_free_ char *target = sk_printf("%s/rootfs", dir);
    if (mkdir(layer, 0711) < 0 || mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0 || mkdir(target, 0755) < 0)
        return sk_err_sys(err, "mkdir for the rootfs of %s", c->id);
    sk_buf o = SK_BUF_INIT;
    bool classic = overlay_safe(layer);
    sk_buf_adds(&o, "lowerdir=");
    for (size_t i = 0; i < c->n_lower; i++) {
        classic = classic && overlay_safe(c->lower_dirs[i]);
        sk_buf_addf(&o, "%s%s", i ? ":" : "", c->lower_dirs[i]);
    }
    sk_buf_addf(&o, ",upperdir=%s,workdir=%s", upper, work);
    int rc = 0;
    if (classic && o.len < RT_OVERLAY_OPTS_MAX) {
        if (mount("overlay", target, "overlay", 0, o.data) < 0) rc = sk_err_sys(err, "mount overlay rootfs of %s", c->id);
        sk_buf_release(&o);
        return rc;
    }
    sk_buf_release(&o);
    int fs = fsopen("overlay", FSOPEN_CLOEXEC), mnt = -1;
    if (fs < 0) return sk_err_sys(err, "fsopen overlay");
    for (size_t i = 0; i < c->n_lower && rc == 0; i++)
        if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", c->lower_dirs[i], 0) < 0)
            rc = sk_err_sys(err, "overlay layer %s", c->lower_dirs[i]);
    if (rc == 0 && (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
                    fsconfig(fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0 ||
                    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ||
                    (mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0)) < 0 ||
                    move_mount(mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0))
        rc = sk_err_sys(err, "mount overlay rootfs of %s", c->id);
    if (mnt >= 0) close(mnt);
    close(fs);
    return rc;
}

static int write_bundle(sk_rt *rt, const char *dir, const struct sk_rt_container_config *c,
                        const struct rt_sandbox *sb, const char *cgpath, sk_err *err)
{
    _sk_free_ char *rootfs = sk_printf("%s/rootfs", dir);
    _sk_close_ int rfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0) return sk_err_sys(err, "open %s", rootfs);
    struct rt_user u;
    if (rt_user_resolve(rfd, c, &u, err) < 0) return -1;
    _sk_json_ json_t *oci = rt_oci_config(c, sb, &u, rootfs, cgpath, err);
    if (!oci) return -1;
    _sk_free_ char *path = sk_printf("%s/config.json", dir);
    (void)rt;
    return rt_json_save(path, oci, err);
}

/* Recorded before the start so a fast exit never precedes it. */
static int write_started(sk_rt *rt, const char *id, sk_err *err)
{
    _sk_free_ char *path = rt_path(rt, "containers", id, "started");
    char text[64];
    snprintf(text, sizeof text, "started_ms=%lld\n", (long long)sk_wall_ms());
    if (rt_write_atomic(path, text, strlen(text)) < 0) return sk_err_sys(err, "write %s", path);
    return 0;
}

static int create_in(sk_rt *rt, const char *dir, const struct sk_rt_container_config *c,
                     const struct rt_sandbox *sb, sk_err *err)
{
    _sk_free_ char *cgpath = sk_printf("%s/%s/%s", rt->cgroup_parent, sb->pod_uid, c->id);
    if (save_meta(dir, c, cgpath, err) < 0 || mount_overlay(rt, dir, c, err) < 0 ||
        write_bundle(rt, dir, c, sb, cgpath, err) < 0)
        return -1;
    _sk_free_ char *logdir = sk_strdup(c->log_path);
    *strrchr(logdir, '/') = 0;
    if (logdir[0] && sk_mkdir_p(logdir, 0755, err) < 0) return -1;
    _sk_free_ char *oom = !rt->memcg ? NULL
                          : sk_printf("%s%s/%s", rt->memcg, cgpath, rt->memcg_v2 ? "memory.events" : "memory.oom_control");
    if (c->start && write_started(rt, c->id, err) < 0) return -1;
    struct rt_shim_args a = {.crun = rt->crun, .crun_exe = rt->crun_exe, .crun_root = rt->crun_root, .dir = dir, .id = c->id,
                             .log_path = c->log_path, .oom_file = oom, .terminal = c->terminal, .start = c->start,
                             .log_max_size = c->log_max_size > 0 ? c->log_max_size : 10 << 20,
                             .log_max_files = c->log_max_files > 0 ? c->log_max_files : 4};
    struct rt_shim_reply reply;
    return rt_shim_spawn(rt, &a, &reply, err);
}

int sk_rt_container_create(sk_rt *rt, const struct sk_rt_container_config *cfg, sk_err *err)
{
    if (check_config(cfg, err) < 0) return -1;
    struct rt_sandbox sb;
    if (rt_sandbox_load(rt, cfg->sandbox_id, &sb, err) < 0) return sk_err_wrap(err, "container %s", cfg->id);
    _sk_free_ char *dir = rt_path(rt, "containers", cfg->id, NULL);
    int rc = 0;
    if (mkdir(dir, 0711) < 0) {
        rc = errno == EEXIST ? sk_err_set(err, SK_EEXIST, "container %s already exists", cfg->id)
                             : sk_err_sys(err, "mkdir %s", dir);
    } else if (create_in(rt, dir, cfg, &sb, err) < 0) {
        sk_err e = SK_ERR_INIT;
        if (sk_rt_container_remove(rt, cfg->id, &e) < 0) rt_err_append(err, " (cleanup failed too: %s)", e.msg);
        sk_err_clear(&e);
        rc = sk_err_wrap(err, "create container %s", cfg->id);
    }
    rt_sandbox_release(&sb);
    return rc;
}

int sk_rt_container_start(sk_rt *rt, const char *id, sk_err *err)
{
    struct sk_rt_status st;
    if (sk_rt_container_status(rt, id, &st, err) < 0) return -1;
    enum sk_rt_state state = st.state;
    sk_rt_status_release(&st);
    if (state != SK_RT_CREATED) return sk_err_set(err, SK_ECONFLICT, "container %s is not in created state", id);
    if (write_started(rt, id, err) < 0) return -1;
    if (rt_crun(rt, RT_CRUN_TIMEOUT_MS, err, "start", id, NULL) != 0) {
        _sk_free_ char *path = rt_path(rt, "containers", id, "started");
        unlink(path);
        return sk_err_wrap(err, "start container %s", id);
    }
    return 0;
}

struct rt_pids {
    pid_t pid, shim;
    unsigned long long pid_start, shim_start;
};

static bool read_pids(sk_rt *rt, const char *id, struct rt_pids *p)
{
    _sk_free_ char *path = rt_path(rt, "containers", id, "state");
    sk_err e = SK_ERR_INIT;
    _sk_free_ char *text = sk_read_file(path, NULL, &e);
    long long v[4];
    *p = (struct rt_pids){0};
    if (!text || !rt_kv_get(text, "pid", '=', &v[0]) || !rt_kv_get(text, "pid_start", '=', &v[1]) ||
        !rt_kv_get(text, "shim", '=', &v[2]) || !rt_kv_get(text, "shim_start", '=', &v[3]))
        return false;
    *p = (struct rt_pids){(pid_t)v[0], (pid_t)v[2], (unsigned long long)v[1], (unsigned long long)v[3]};
    return true;
}

/* A pidfd for pid if it still is the process that started at `start`. */
static int pidfd_checked(pid_t pid, unsigned long long start)
{
    if (pid <= 0) return -1;
    int fd = rt_pidfd_open(pid);
    if (fd >= 0 && !rt_proc_alive(pid, start)) {
        close(fd);
        return -1;
    }
    return fd;
}

int rt_shim_pidfd(sk_rt *rt, const char *id)
{
    struct rt_pids p;
    return read_pids(rt, id, &p) ? pidfd_checked(p.shim, p.shim_start) : -1;
}

int rt_container_kill_wait(sk_rt *rt, const char *id, int sig, int64_t grace_ms, sk_err *err)
{
    struct rt_pids p;
    if (!read_pids(rt, id, &p)) return 0; /* never got a process */
    _sk_free_ char *fifo = sk_printf("%s/%s/exec.fifo", rt->crun_root, id);
    if (rt_exists(fifo)) sig = SIGKILL; /* not started, blocked in crun's fifo: TERM is pointless */
    _sk_close_ int fd = pidfd_checked(p.pid, p.pid_start);
    if (fd >= 0) {
        if (rt_pidfd_signal(fd, sig) < 0 && errno != ESRCH) return sk_err_sys(err, "signal container %s", id);
        if (!rt_wait_readable(fd, sig == SIGKILL ? RT_KILL_WAIT_MS : (int)grace_ms)) {
            if (sig != SIGKILL && rt_pidfd_signal(fd, SIGKILL) < 0 && errno != ESRCH)
                return sk_err_sys(err, "kill container %s", id);
            if (!rt_wait_readable(fd, RT_KILL_WAIT_MS))
                return sk_err_set(err, SK_ETIMEOUT, "container %s survived SIGKILL", id);
        }
    }
    /* The shim exits right after recording the exit. */
    _sk_close_ int sfd = pidfd_checked(p.shim, p.shim_start);
    if (sfd >= 0) rt_wait_readable(sfd, RT_SHIM_EXIT_WAIT_MS);
    return 0;
}

int sk_rt_container_stop(sk_rt *rt, const char *id, int64_t grace_ms, sk_err *err)
{
    if (!rt_id_ok(id)) return sk_err_set(err, SK_EINVALID, "container id \"%s\" is invalid", id ? id : "");
    _sk_free_ char *path = rt_path(rt, "containers", id, "meta.json");
    _sk_json_ json_t *meta = rt_json_load(path, err);
    if (!meta) {
        if (!rt_exists(path)) err->code = SK_ENOTFOUND;
        return -1;
    }
    int sig = (int)json_integer_value(json_object_get(meta, "stop_signal"));
    if (grace_ms < 0) grace_ms = 0;
    if (grace_ms > INT32_MAX) grace_ms = INT32_MAX;
    return rt_container_kill_wait(rt, id, sig > 0 && sig < NSIG ? sig : SIGTERM, grace_ms, err);
}

static int crun_delete(sk_rt *rt, const char *id, sk_err *err)
{
    _sk_free_ char *state = sk_printf("%s/%s", rt->crun_root, id);
    if (!rt_exists(state)) return 0;
    if (rt_crun(rt, RT_CRUN_TIMEOUT_MS, err, "delete", "-f", id, NULL) == 0 || !rt_exists(state)) {
        sk_err_clear(err); /* crun failed but the state is gone anyway */
        return 0;
    }
    return -1;
}

/* A writable layer without a record: its record was on a state tmpfs that
 * is gone (a reboot, or a namespace pin that was lost). After a reboot its
 * cgroups are gone too; after a lost pin its processes may still run in
 * PARENT/<pod>/<id>: killed, and the cgroups removed. Best effort. */
static void kill_orphan(sk_rt *rt, const char *id)
{
    if (!rt->memcg) return;
    _sk_free_ char *pattern = sk_printf("%s%s/*/%s", rt->memcg, rt->cgroup_parent, id);
    glob_t g;
    if (glob(pattern, GLOB_ONLYDIR | GLOB_NOSORT, NULL, &g) != 0) return;
    size_t skip = strlen(rt->memcg);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        _sk_free_ char *procs = sk_printf("%s/cgroup.procs", g.gl_pathv[i]);
        for (int round = 0; round < 100; round++) { /* 1 s */
            sk_err e = SK_ERR_INIT;
            _sk_free_ char *text = sk_read_file(procs, NULL, &e);
            sk_err_clear(&e);
            if (!text || !*text) break;
            for (char *save = NULL, *t = strtok_r(text, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
                int pid = atoi(t);
                if (pid > 1) kill(pid, SIGKILL);
            }
            usleep(10000);
        }
        const char *cg = g.gl_pathv[i] + skip;
        rt_cgroup_rmdir(rt, cg);
        _sk_free_ char *pod = sk_strdup(cg);
        *strrchr(pod, '/') = 0;
        rt_cgroup_rmdir(rt, pod); /* when it was the pod's last */
    }
    globfree(&g);
}

int sk_rt_container_remove(sk_rt *rt, const char *id, sk_err *err)
{
    if (!rt_id_ok(id)) return sk_err_set(err, SK_EINVALID, "container id \"%s\" is invalid", id ? id : "");
    _sk_free_ char *dir = rt_path(rt, "containers", id, NULL);
    _sk_free_ char *layer = rt_layer_path(rt, id, NULL);
    _sk_free_ char *crun_state = sk_printf("%s/%s", rt->crun_root, id);
    if (!rt_exists(dir) && !rt_exists(crun_state)) {
        if (!rt_exists(layer)) return sk_err_set(err, SK_ENOTFOUND, "container %s not found", id);
        kill_orphan(rt, id);
    }
    if (rt_container_kill_wait(rt, id, SIGKILL, 0, err) < 0 || crun_delete(rt, id, err) < 0)
        return sk_err_wrap(err, "remove container %s", id);
    struct rt_pids p;
    if (read_pids(rt, id, &p)) { /* a shim that outlived its container (e.g. stuck draining) */
        _sk_close_ int sfd = pidfd_checked(p.shim, p.shim_start);
        if (sfd >= 0) rt_pidfd_signal(sfd, SIGKILL);
    }
    _sk_free_ char *meta_path = rt_path(rt, "containers", id, "meta.json");
    sk_err e = SK_ERR_INIT;
    _sk_json_ json_t *meta = rt_exists(meta_path) ? rt_json_load(meta_path, &e) : NULL;
    sk_err_clear(&e);
    _sk_free_ char *rootfs = sk_printf("%s/rootfs", dir);
    if (rt_umount(rootfs, err) < 0 || rt_rm_rf(dir, err) < 0 || rt_rm_rf(layer, err) < 0)
        return sk_err_wrap(err, "remove container %s", id);
    const char *cg = sk_json_str(meta, "cgroups_path");
    if (cg) rt_cgroup_rmdir(rt, cg); /* crun deletes it; this covers a failed create */
    return 0;
}
