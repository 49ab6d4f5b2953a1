/* Shared fixture of the root-only runtime tests: a busybox layer, a runtime
 * root under a temp dir, helpers to run containers, and a leak check
 * (mounts, cgroups, crun state, processes) after sk_rt_purge. */
#ifndef TEST_RUNTIME_FIXTURE_H
#define TEST_RUNTIME_FIXTURE_H

#include "runtime/runtime.h"
#include "unit/test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define BUSYBOX "/bin/busybox"

struct fx {
    char tmp[64];      /* /tmp/skrt-XXXXXX */
    char root[128];    /* tmp/rt */
    char layer[128];   /* tmp/layer: busybox rootfs */
    char logs[128];    /* tmp/logs */
    char netns[128];   /* tmp/netns */
    char cgparent[64]; /* /skiff-test-PID */
    sk_rt *rt;
};

static const char *fx_applets[] = {"sh", "sleep", "echo", "cat", "hostname", "id", "pwd", "readlink", "env",
                                   "dd", "tail", "ls", "touch", "true", "grep", "head", "tr", "stty", "tty",
                                   "unshare", "mkdir", "seq", "wc", "kill"};

static inline int fx_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

static inline int fx_build_layer(const char *dir)
{
    char p[512];
    const char *dirs[] = {"bin", "etc", "tmp", "proc", "sys", "dev", "home", "home/app"};
    if (mkdir(dir, 0755) < 0) return -1;
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, dirs[i]);
        if (mkdir(p, 0755) < 0) return -1;
    }
    snprintf(p, sizeof p, "%s/tmp", dir);
    chmod(p, 01777);
    snprintf(p, sizeof p, "/bin/cp %s %s/bin/busybox", BUSYBOX, dir);
    if (system(p) != 0) return -1;
    for (size_t i = 0; i < sizeof fx_applets / sizeof *fx_applets; i++) {
        snprintf(p, sizeof p, "%s/bin/%s", dir, fx_applets[i]);
        if (symlink("busybox", p) < 0) return -1;
    }
    snprintf(p, sizeof p, "%s/etc/passwd", dir);
    fx_write(p, "root:x:0:0:root:/root:/bin/sh\napp:x:1001:1001:app:/home/app:/bin/sh\n");
    snprintf(p, sizeof p, "%s/etc/group", dir);
    fx_write(p, "root:x:0:\napp:x:1001:\nextra:x:2000:app,other\n");
    return 0;
}

/* Exits 77 (skip) unless root with crun and busybox. */
static inline void fx_require(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "skip: needs root\n");
        exit(77);
    }
    if (access(BUSYBOX, X_OK) != 0 || system("command -v crun >/dev/null 2>&1") != 0) {
        fprintf(stderr, "skip: needs crun and %s\n", BUSYBOX);
        exit(77);
    }
}

/* Paths below an existing temp dir (agents in child processes share it). */
static inline void fx_paths(struct fx *f, const char *tmp)
{
    memset(f, 0, sizeof *f);
    snprintf(f->tmp, sizeof f->tmp, "%s", tmp);
    snprintf(f->root, sizeof f->root, "%s/rt", f->tmp);
    snprintf(f->layer, sizeof f->layer, "%s/layer", f->tmp);
    snprintf(f->logs, sizeof f->logs, "%s/logs", f->tmp);
    snprintf(f->netns, sizeof f->netns, "%s/netns", f->tmp);
    snprintf(f->cgparent, sizeof f->cgparent, "/skiff-test-%s", strrchr(f->tmp, '/') + 1);
}

/* A new temp dir with the busybox layer; no runtime yet. */
static inline int fx_prepare(struct fx *f)
{
    char tmp[] = "/tmp/skrt-XXXXXX";
    if (!mkdtemp(tmp)) return -1;
    fx_paths(f, tmp);
    return fx_build_layer(f->layer);
}

static inline sk_rt *fx_init(struct fx *f, sk_err *err)
{
    struct sk_rt_config c = {.root_dir = f->root, .netns_dir = f->netns, .cgroup_parent = f->cgparent};
    return sk_rt_init(&c, err);
}

static inline int fx_sandbox(struct fx *f, const char *id, const char *hostname)
{
    sk_err err = SK_ERR_INIT;
    struct sk_rt_sandbox_config c = {.id = id, .hostname = hostname, .hosts = "127.0.0.1 localhost\n",
                                     .resolv_conf = "nameserver 10.96.0.10\n"};
    if (sk_rt_sandbox_create(f->rt, &c, NULL, &err) < 0) {
        fprintf(stderr, "sandbox %s: %s\n", id, err.msg);
        return -1;
    }
    return 0;
}

static inline struct sk_rt_container_config fx_config(struct fx *f, const char *sandbox, const char *id,
                                               const char *const *args, size_t n_args, char *logpath, size_t loglen)
{
    static const char *lowers[1];
    lowers[0] = f->layer;
    snprintf(logpath, loglen, "%s/%s/0.log", f->logs, id);
    return (struct sk_rt_container_config){.id = id, .sandbox_id = sandbox, .name = id, .lower_dirs = lowers,
                                           .n_lower = 1, .args = args, .n_args = n_args, .run_as_user = -1,
                                           .run_as_group = -1, .log_path = logpath};
}

static inline int fx_create_start(struct fx *f, const struct sk_rt_container_config *c)
{
    sk_err err = SK_ERR_INIT;
    if (sk_rt_container_create(f->rt, c, &err) < 0) {
        fprintf(stderr, "create %s: %s\n", c->id, err.msg);
        return -1;
    }
    if (sk_rt_container_start(f->rt, c->id, &err) < 0) {
        fprintf(stderr, "start %s: %s\n", c->id, err.msg);
        return -1;
    }
    return 0;
}

/* Waits for the recorded exit; fills st (caller releases). */
static inline int fx_wait_exit(struct fx *f, const char *id, int timeout_ms, struct sk_rt_status *st)
{
    sk_err err = SK_ERR_INIT;
    int fd = sk_rt_container_exit_fd(f->rt, id, &err);
    if (fd < 0) return -1;
    struct pollfd p = {fd, POLLIN, 0};
    int rc = poll(&p, 1, timeout_ms);
    close(fd);
    if (rc != 1) {
        fprintf(stderr, "container %s did not exit in %d ms\n", id, timeout_ms);
        return -1;
    }
    return sk_rt_container_status(f->rt, id, st, &err);
}

static inline char *fx_slurp(const char *path)
{
    sk_err err = SK_ERR_INIT;
    return sk_read_file(path, NULL, &err);
}

/* Collects the text of the CRI lines of one stream ("stdout"), each
 * checked for the exact format; NULL if a line is malformed. */
static inline char *fx_log_text(const char *path, const char *stream)
{
    char *raw = fx_slurp(path);
    if (!raw) return NULL;
    sk_buf out = SK_BUF_INIT;
    sk_buf_adds(&out, "");
    for (char *save = NULL, *l = strtok_r(raw, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        int y, mo, d, h, mi, s, ns = 0;
        char str[16], tag[4];
        int off = 0;
        if (strlen(l) < 31 || l[19] != '.' || l[29] != 'Z' ||
            sscanf(l, "%4d-%2d-%2dT%2d:%2d:%2d.%9d", &y, &mo, &d, &h, &mi, &s, &ns) != 7 ||
            sscanf(l + 30, "%15s %3s %n", str, tag, &off) != 2 || (strcmp(tag, "F") && strcmp(tag, "P"))) {
            fprintf(stderr, "bad CRI line: %s\n", l);
            free(raw);
            sk_buf_release(&out);
            return NULL;
        }
        if (strcmp(str, stream)) continue;
        sk_buf_adds(&out, l + 30 + off);
        if (!strcmp(tag, "F")) sk_buf_adds(&out, "\n");
    }
    free(raw);
    return sk_buf_take(&out);
}

/* Runs an exec to completion, collecting stdout. */
static inline int fx_exec(struct fx *f, const char *id, const struct sk_rt_exec_config *c, char *out, size_t outlen,
                   int *code)
{
    sk_err err = SK_ERR_INIT;
    sk_rt_exec *e = sk_rt_exec_start(f->rt, id, c, &err);
    if (!e) {
        fprintf(stderr, "exec in %s: %s\n", id, err.msg);
        return -1;
    }
    size_t len = 0;
    int fd = sk_rt_exec_fd(e, 1);
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 10000) != 1) break;
        ssize_t n = read(fd, out + len, outlen - 1 - len);
        if (n <= 0) break;
        len += (size_t)n;
        if (len >= outlen - 1) break;
    }
    out[len] = 0;
    int rc = sk_rt_exec_wait(e, 10000, code, &err);
    if (rc < 0) fprintf(stderr, "exec wait: %s\n", err.msg);
    sk_rt_exec_free(e);
    return rc;
}

static inline bool fx_file_mentions(const char *path, const char *needle)
{
    char *text = fx_slurp(path);
    bool found = text && strstr(text, needle);
    free(text);
    return found;
}

/* Any process whose cwd is below our temp dir (shims chdir there) or that
 * sits in our cgroups (container processes). */
static inline int fx_processes_below(const char *dir, const char *cgparent)
{
    int count = 0;
    DIR *d = opendir("/proc");
    for (struct dirent *de; d && (de = readdir(d));) {
        char link[64], target[512];
        if (de->d_name[0] < '0' || de->d_name[0] > '9') continue;
        snprintf(link, sizeof link, "/proc/%s/cwd", de->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n <= 0) continue;
        target[n] = 0;
        snprintf(link, sizeof link, "/proc/%s/cgroup", de->d_name);
        bool in_cg = fx_file_mentions(link, cgparent);
        if (!strncmp(target, dir, strlen(dir)) || in_cg) {
            fprintf(stderr, "leftover process %s (cwd %s%s)\n", de->d_name, target, in_cg ? ", in our cgroup" : "");
            count++;
        }
    }
    if (d) closedir(d);
    return count;
}

/* The tests remove what they create, so crun must know no container by
 * now; then purge, and check nothing is left anywhere; removes the temp dir. */
static inline int fx_teardown(struct fx *f, pid_t origin_pid)
{
    int bad = 0;
    sk_err err = SK_ERR_INIT;
    if (f->rt) {
        char cmd[512], out[4096] = "";
        snprintf(cmd, sizeof cmd, "crun --root %s/run/crun list -q 2>&1", f->root);
        FILE *p = popen(cmd, "r");
        size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
        out[n] = 0;
        if (p) pclose(p);
        if (n) {
            fprintf(stderr, "crun state left: %s\n", out);
            bad++;
        }
        if (sk_rt_purge(f->rt, &err) < 0) {
            fprintf(stderr, "purge: %s\n", err.msg);
            bad++;
        }
        sk_rt_free(f->rt);
        f->rt = NULL;
    }
    char path[256];
    snprintf(path, sizeof path, "/proc/%d/mountinfo", (int)origin_pid);
    if (fx_file_mentions("/proc/self/mountinfo", f->tmp) || fx_file_mentions(path, f->tmp)) {
        fprintf(stderr, "mounts left below %s\n", f->tmp);
        bad++;
    }
    const char *hier[] = {"memory", "cpu", "pids", "cpuacct", "devices", "freezer", "blkio", "cpuset", "systemd", "unified"};
    for (size_t i = 0; i < sizeof hier / sizeof *hier; i++) {
        struct stat st;
        snprintf(path, sizeof path, "/sys/fs/cgroup/%s%s", hier[i], f->cgparent);
        if (stat(path, &st) == 0) {
            fprintf(stderr, "cgroup left: %s\n", path);
            bad++;
        }
    }
    for (int tries = 0; fx_processes_below(f->tmp, f->cgparent) && tries < 20; tries++) usleep(100000);
    if (fx_processes_below(f->tmp, f->cgparent)) bad++;
    snprintf(path, sizeof path, "rm -rf %s", f->tmp);
    if (!bad && system(path) != 0) bad++;
    return bad;
}

static inline double fx_ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

#endif
