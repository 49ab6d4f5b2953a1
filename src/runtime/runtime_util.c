/* Small helpers of the runtime: ids and paths, careful removal of state
 * trees, /proc process identity, pidfds and cgroup directories.
 * rt_proc_starttime and rt_proc_alive avoid malloc: the shim calls them. */
#include "runtime/runtime_int.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

bool rt_id_ok(const char *id)
{
    size_t len = id ? strlen(id) : 0;
    if (len == 0 || len > RT_ID_MAX) return false;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-'))) return false;
    }
    return true;
}

void rt_err_append(sk_err *err, const char *fmt, ...)
{
    size_t len = strlen(err->msg);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg + len, sizeof err->msg - len, fmt, ap);
    va_end(ap);
}

char *rt_path(const sk_rt *rt, const char *kind, const char *id, const char *leaf)
{
    if (leaf) return sk_printf("%s/%s/%s/%s", rt->state, kind, id, leaf);
    return sk_printf("%s/%s/%s", rt->state, kind, id);
}

char *rt_layer_path(const sk_rt *rt, const char *id, const char *leaf)
{
    if (leaf) return sk_printf("%s/containers/%s/%s", rt->root, id, leaf);
    return sk_printf("%s/containers/%s", rt->root, id);
}

bool rt_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int rc = type == FTW_DP ? rmdir(path) : unlink(path);
    /* A mount point inside the tree (FTW_MOUNT skipped its content) stays. */
    if (rc < 0 && errno != ENOENT && errno != EBUSY) return -1;
    return 0;
}

int rt_rm_rf(const char *path, sk_err *err)
{
    struct stat st;
    if (lstat(path, &st) < 0) return errno == ENOENT ? 0 : sk_err_sys(err, "stat %s", path);
    if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
        return sk_err_sys(err, "remove %s", path);
    if (lstat(path, &st) == 0)
        return sk_err_set(err, SK_EINTERNAL, "remove %s: something is still mounted below", path);
    return 0;
}

int rt_umount(const char *path, sk_err *err)
{
    if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
        return sk_err_sys(err, "umount %s", path);
    return 0;
}

bool rt_kv_get(const char *text, const char *key, char sep, long long *val)
{
    size_t klen = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, klen) || p[klen] != sep) continue;
        char *end;
        errno = 0;
        long long v = strtoll(p + klen + 1, &end, 10);
        if (errno || end == p + klen + 1) return false;
        *val = v;
        return true;
    }
    return false;
}

/* Field 22 of /proc/PID/stat; the comm field may hold spaces and ')' so
 * parse after the last ')'. */
static unsigned long long stat_field22(const char *buf, char *state)
{
    const char *p = strrchr(buf, ')');
    if (!p) return 0;
    p += 2; /* ") " -> field 3, the state */
    *state = *p;
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p) return 0;
        p++;
    }
    unsigned long long v = 0;
    for (; *p >= '0' && *p <= '9'; p++) v = v * 10 + (unsigned)(*p - '0');
    return v;
}

static unsigned long long proc_stat(pid_t pid, char *state)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    return stat_field22(buf, state);
}

unsigned long long rt_proc_starttime(pid_t pid)
{
    char state = 0;
    return pid > 0 ? proc_stat(pid, &state) : 0;
}

bool rt_proc_alive(pid_t pid, unsigned long long start)
{
    char state = 0;
    if (pid <= 0) return false;
    unsigned long long st = proc_stat(pid, &state);
    if (!st || state == 'Z' || state == 'X') return false;
    return start == 0 || st == start;
}

int rt_pidfd_open(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int rt_pidfd_signal(int pidfd, int sig)
{
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int rt_wait_readable(int fd, int timeout_ms)
{
    int64_t deadline = sk_now_ms() + timeout_ms;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = timeout_ms < 0 ? -1 : (int)(deadline - sk_now_ms());
        if (timeout_ms >= 0 && left < 0) left = 0;
        int rc = poll(&p, 1, left);
        if (rc > 0) return 1;
        if (rc == 0) return 0;
        if (errno != EINTR) return 0;
    }
}

void rt_cgroup_rmdir(const sk_rt *rt, const char *cgpath)
{
    for (size_t i = 0; i < rt->n_cg_mounts; i++) {
        _sk_free_ char *dir = sk_printf("%s%s", rt->cg_mounts[i], cgpath);
        rmdir(dir); /* best effort: ENOENT or still busy */
    }
    if (rt->cg_ghost) {
        _sk_free_ char *dir = sk_printf("%s%s", rt->cg_ghost, cgpath);
        sk_err e = SK_ERR_INIT;
        rt_rm_rf(dir, &e); /* tmpfs, never a mount crossing (FTW_MOUNT) */
        sk_err_clear(&e);
    }
}

int rt_write_atomic(const char *path, const void *data, size_t len)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            errno = e;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    return 0;
}

json_t *rt_json_load(const char *path, sk_err *err)
{
    size_t len = 0;
    _sk_free_ char *text = sk_read_file(path, &len, err);
    if (!text) return NULL;
    if (len > RT_JSON_MAX) {
        sk_err_set(err, SK_EINTERNAL, "%s: too large", path);
        return NULL;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, 0, &jerr);
    if (!doc || !json_is_object(doc)) {
        json_decref(doc);
        sk_err_set(err, SK_EINTERNAL, "%s: bad JSON: %s", path, jerr.text);
        return NULL;
    }
    return doc;
}

int rt_json_save(const char *path, json_t *doc, sk_err *err)
{
    _sk_free_ char *text = json_dumps(doc, JSON_COMPACT);
    if (!text) return sk_err_set(err, SK_EINTERNAL, "%s: cannot encode JSON", path);
    /* No fsync: these records must survive an agent crash, not a power cut
     * (after a reboot every container is gone and the state is stale). */
    if (rt_write_atomic(path, text, strlen(text)) < 0) return sk_err_sys(err, "write %s", path);
    return 0;
}

void rt_strv_free(char **v, size_t n)
{
    if (!v) return;
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}
