/* File payloads of the API-backed volumes and the atomic writer that
 * projects them, as pkg/volume/util/atomic_writer.go: files live in a
 * hidden `..2026_11_28_20_34_17.XXXXXX` directory, `..data` is a symlink to
 * it replaced with rename(2), and each top-level name is a symlink
 * `name -> ..data/name`. A container therefore sees either the old or the
 * new set of files, never a mix, and running containers see updates. */
#include "kubelet/volumes_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_FILE_NAME 255
#define MAX_PATH_LEN 4096

/* ---- payloads ------------------------------------------------------------------ */

void sk_kl_payload_release(struct sk_kl_payload *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].path);
        free(p->v[i].data);
    }
    free(p->v);
    memset(p, 0, sizeof *p);
}

/* validatePath, then filepath.Clean of a relative path into a new string. */
static char *clean_rel_path(const char *path, sk_err *err)
{
    if (!path || !*path) {
        sk_err_set(err, SK_EINVALID, "invalid path: must not be empty: \"\"");
        return NULL;
    }
    if (path[0] == '/') {
        sk_err_set(err, SK_EINVALID, "invalid path: must be relative path: %s", path);
        return NULL;
    }
    if (strlen(path) > MAX_PATH_LEN) {
        sk_err_set(err, SK_EINVALID, "invalid path: must be less than or equal to %d characters", MAX_PATH_LEN);
        return NULL;
    }
    sk_buf b = SK_BUF_INIT;
    for (const char *s = path; *s;) {
        size_t len = strcspn(s, "/");
        if (len == 2 && s[0] == '.' && s[1] == '.') {
            sk_buf_release(&b);
            sk_err_set(err, SK_EINVALID, "invalid path: must not contain '..': %s", path);
            return NULL;
        }
        if (len > MAX_FILE_NAME) {
            sk_buf_release(&b);
            sk_err_set(err, SK_EINVALID, "invalid path: filenames must be less than or equal to %d characters",
                       MAX_FILE_NAME);
            return NULL;
        }
        if (s == path && len > 2 && !strncmp(s, "..", 2)) {
            sk_buf_release(&b);
            sk_err_set(err, SK_EINVALID, "invalid path: must not start with '..': %s", path);
            return NULL;
        }
        if (len && !(len == 1 && s[0] == '.')) {
            if (b.len) sk_buf_add(&b, "/", 1);
            sk_buf_add(&b, s, len);
        }
        s += len;
        if (*s) s++;
    }
    if (!b.len) {
        sk_err_set(err, SK_EINVALID, "invalid path: must not be empty: \"%s\"", path);
        return NULL;
    }
    return sk_buf_take(&b);
}

int sk_kl_payload_put(struct sk_kl_payload *p, const char *path, char *data, size_t len, int mode,
                      sk_err *err)
{
    _sk_free_ char *owned = data;
    _sk_free_ char *clean = clean_rel_path(path, err);
    if (!clean) return -1;
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->v[i].path, clean)) { /* a later source wins, as in a Go map */
            p->bytes -= p->v[i].len;
            free(p->v[i].data);
            p->v[i].data = SK_TAKE(owned);
            p->v[i].len = len;
            p->v[i].mode = mode & 07777;
            p->bytes += len;
            return 0;
        }
    if (p->n >= SK_KL_PAYLOAD_FILES_MAX)
        return sk_err_set(err, SK_EINVALID, "volume has more than %d files", SK_KL_PAYLOAD_FILES_MAX);
    if (p->bytes + len > SK_KL_PAYLOAD_BYTES_MAX)
        return sk_err_set(err, SK_EINVALID, "volume content exceeds %u bytes", SK_KL_PAYLOAD_BYTES_MAX);
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->v = sk_realloc(p->v, p->cap * sizeof *p->v);
    }
    p->v[p->n++] = (struct sk_kl_file){SK_TAKE(clean), SK_TAKE(owned), len, mode & 07777};
    p->bytes += len;
    return 0;
}

static int mode_of(const json_t *m, int def)
{
    return json_is_integer(m) ? (int)(json_integer_value(m) & 0777) : def;
}

/* obj[field][key] decoded (binaryData and secrets are base64): 1, 0 absent, -1. */
static int key_data(const json_t *obj, const char *field, bool b64, const char *key, char **out,
                    size_t *len, sk_err *err)
{
    const char *v = sk_json_str(json_object_get(obj, field), key);
    if (!v) return 0;
    if (!b64) {
        *out = sk_strdup(v);
        *len = strlen(v);
        return 1;
    }
    if (sk_kl_base64_decode(v, out, len) < 0)
        return sk_err_set(err, SK_EINVALID, "%s %s: key %s is not valid base64", field,
                          sk_json_path_str(obj, "metadata.name") ?: "", key);
    return 1;
}

static int put_all(struct sk_kl_payload *p, const json_t *obj, const char *field, bool b64, int mode,
                   sk_err *err)
{
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(obj, field), k, v) {
        char *data = NULL;
        size_t len = 0;
        int rc = key_data(obj, field, b64, k, &data, &len, err);
        if (rc < 0) return -1;
        if (rc && sk_kl_payload_put(p, k, data, len, mode, err) < 0) return -1;
    }
    return 0;
}

int sk_kl_payload_keys(const json_t *obj, bool secret, const json_t *items, int default_mode,
                       bool optional, struct sk_kl_payload *p, sk_err *err)
{
    if (!obj) return 0; /* optional and missing: an empty volume */
    if (!json_array_size(items)) {
        if (put_all(p, obj, "data", secret, default_mode, err) < 0) return -1;
        return secret ? 0 : put_all(p, obj, "binaryData", true, default_mode, err);
    }
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        const char *key = sk_json_str(it, "key"), *path = sk_json_str(it, "path");
        char *data = NULL;
        size_t len = 0;
        int rc = key ? key_data(obj, "data", secret, key, &data, &len, err) : 0;
        if (rc == 0 && key && !secret) rc = key_data(obj, "binaryData", true, key, &data, &len, err);
        if (rc < 0) return -1;
        if (rc == 0) {
            if (optional) continue;
            return sk_err_set(err, SK_EINVALID, secret ? "references non-existent secret key: %s"
                                                       : "configmap references non-existent config key: %s",
                              key ? key : "");
        }
        if (sk_kl_payload_put(p, path, data, len, mode_of(json_object_get(it, "mode"), default_mode), err) < 0)
            return -1;
    }
    return 0;
}

int sk_kl_payload_downward(const json_t *pod, const json_t *items, int default_mode,
                           struct sk_kl_payload *p, sk_err *err)
{
    size_t i;
    json_t *it, *r;
    json_array_foreach(items, i, it) {
        char *v = NULL;
        if ((r = json_object_get(it, "fieldRef"))) v = sk_kl_fieldref(pod, r, NULL, err);
        else if ((r = json_object_get(it, "resourceFieldRef"))) v = sk_kl_resource_fieldref(pod, NULL, r, err);
        else v = sk_strdup("");
        if (!v) return -1;
        size_t len = strlen(v);
        if (sk_kl_payload_put(p, sk_json_str(it, "path"), v, len, mode_of(json_object_get(it, "mode"), default_mode),
                              err) < 0)
            return -1;
    }
    return 0;
}

/* ---- removal --------------------------------------------------------------------- */

/* Removes name under dirfd recursively, staying on device dev (never
 * descends into a mount). */
static int rm_at(int dirfd, const char *name, dev_t dev, int depth)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode)) return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
    if (st.st_dev != dev || depth > 64) {
        errno = st.st_dev != dev ? EBUSY : ELOOP;
        return -1;
    }
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (rm_at(fd, e->d_name, dev, depth + 1) < 0) rc = -1;
    }
    closedir(d);
    if (rc == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT) rc = -1;
    return rc;
}

int sk_kl_rm_tree(const char *path, sk_err *err)
{
    struct stat st;
    if (lstat(path, &st) < 0) return errno == ENOENT ? 0 : sk_err_sys(err, "stat %s", path);
    if (rm_at(AT_FDCWD, path, st.st_dev, 0) < 0) return sk_err_sys(err, "remove %s", path);
    return 0;
}

/* ---- the writer -------------------------------------------------------------------- */

/* Best effort: a half-written ts dir is unreferenced, the next write retries. */
static void discard(const char *ts)
{
    sk_err e = SK_ERR_INIT;
    if (sk_kl_rm_tree(ts, &e) < 0) sk_log(SK_DEBUG, "kubelet", "%s", e.msg);
}

/* True when dir/rel holds exactly data with mode (and group). */
static bool same_file(int dirfd, const struct sk_kl_file *f, int64_t gid)
{
    int fd = openat(dirfd, f->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st;
    bool same = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == f->len &&
                (int)(st.st_mode & 07777) == f->mode && (gid < 0 || st.st_gid == (gid_t)gid);
    char buf[8192];
    for (size_t off = 0; same && off < f->len;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0 || (size_t)n > f->len - off || memcmp(buf, f->data + off, (size_t)n)) same = false;
        off += n > 0 ? (size_t)n : 0;
    }
    close(fd);
    return same;
}

static size_t top_len(const char *path)
{
    return strcspn(path, "/");
}

static bool is_top_name(const struct sk_kl_payload *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (top_len(p->v[i].path) == strlen(name) && !strncmp(p->v[i].path, name, strlen(name))) return true;
    return false;
}

/* Regular files below dirfd/name (SIZE_MAX when unreadable or too deep). */
static size_t count_files(int dirfd, const char *name, int depth)
{
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0) close(fd);
        return SIZE_MAX;
    }
    size_t n = 0;
    struct dirent *e;
    while (n != SIZE_MAX && (e = readdir(d))) {
        struct stat st;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) n = SIZE_MAX;
        else if (S_ISDIR(st.st_mode)) {
            size_t sub = depth < 64 ? count_files(fd, e->d_name, depth + 1) : SIZE_MAX;
            n = sub == SIZE_MAX ? SIZE_MAX : n + sub;
        } else n++;
    }
    closedir(d);
    return n;
}

/* Whether the old ts dir must be replaced (pathsToRemove + shouldWritePayload):
 * a file differs, or the old tree has files the payload lacks. *stale gets
 * the old top-level names the payload no longer has (a JSON array). */
static bool needs_write(int dirfd, const char *old, const struct sk_kl_payload *p, int64_t gid, json_t *stale)
{
    int fd = openat(dirfd, old, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return true;
    bool write = false;
    for (size_t i = 0; i < p->n && !write; i++) write = !same_file(fd, &p->v[i], gid);
    if (!write) write = count_files(fd, ".", 0) != p->n; /* every payload file matched one */
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return true;
    }
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && !is_top_name(p, e->d_name))
            json_array_append_new(stale, json_string(e->d_name));
    closedir(d);
    return write || json_array_size(stale) > 0;
}

static int write_one(int root, const struct sk_kl_file *f, int64_t gid)
{
    _sk_free_ char *rel = sk_strdup(f->path);
    int dfd = dup(root);
    char *s = rel, *slash;
    while (dfd >= 0 && (slash = strchr(s, '/'))) {
        *slash = 0;
        if (mkdirat(dfd, s, 0755) < 0 && errno != EEXIST) break;
        if (gid >= 0) (void)fchownat(dfd, s, (uid_t)-1, (gid_t)gid, AT_SYMLINK_NOFOLLOW);
        int next = openat(dfd, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(dfd);
        dfd = next;
        s = slash + 1;
    }
    if (dfd < 0 || strchr(s, '/')) {
        if (dfd >= 0) close(dfd);
        return -1;
    }
    int fd = openat(dfd, s, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    close(dfd);
    if (fd < 0) return -1;
    int rc = 0;
    for (size_t off = 0; off < f->len && rc == 0;) {
        ssize_t n = write(fd, f->data + off, f->len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) rc = -1;
        else off += (size_t)n;
    }
    if (rc == 0 && gid >= 0 && fchown(fd, (uid_t)-1, (gid_t)gid) < 0 && geteuid() == 0) rc = -1;
    if (rc == 0 && fchmod(fd, (mode_t)f->mode) < 0) rc = -1; /* after chown, which clears setgid */
    if (close(fd) < 0) rc = -1;
    return rc;
}

/* A new `..<UTC timestamp>.XXXXXX` dir in dir; its name into name. */
static int new_ts_dir(const char *dir, int64_t gid, char *name, size_t n, sk_err *err)
{
    time_t now = (time_t)(sk_wall_ms() / 1000);
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[64], path[PATH_MAX];
    strftime(stamp, sizeof stamp, "..%Y_%m_%d_%H_%M_%S.", &tm);
    if ((size_t)snprintf(path, sizeof path, "%s/%sXXXXXX", dir, stamp) >= sizeof path)
        return sk_err_set(err, SK_EINVALID, "path too long: %s", dir);
    if (!mkdtemp(path)) return sk_err_sys(err, "mkdir in %s", dir);
    if ((gid >= 0 && chown(path, (uid_t)-1, (gid_t)gid) < 0 && geteuid() == 0) ||
        chmod(path, gid >= 0 ? 02755 : 0755) < 0)
        return sk_err_sys(err, "chmod %s", path);
    snprintf(name, n, "%s", strrchr(path, '/') + 1);
    return 0;
}

static int visible_links(const char *dir, const struct sk_kl_payload *p, sk_err *err)
{
    for (size_t i = 0; i < p->n; i++) {
        char name[MAX_FILE_NAME + 1], link[PATH_MAX], target[MAX_FILE_NAME + 16], cur[8];
        snprintf(name, sizeof name, "%.*s", (int)top_len(p->v[i].path), p->v[i].path);
        snprintf(link, sizeof link, "%s/%s", dir, name);
        if (readlink(link, cur, sizeof cur) >= 0 || errno != ENOENT) continue;
        snprintf(target, sizeof target, "..data/%s", name);
        if (symlink(target, link) < 0 && errno != EEXIST) return sk_err_sys(err, "symlink %s", link);
    }
    return 0;
}

int sk_kl_atomic_write(const char *dir, const struct sk_kl_payload *p, int64_t fs_group, bool *changed,
                       sk_err *err)
{
    *changed = false;
    if (sk_mkdir_p(dir, 0755, err) < 0) return -1;
    char data[PATH_MAX], old[PATH_MAX] = "", ts[PATH_MAX], tmp[PATH_MAX];
    snprintf(data, sizeof data, "%s/..data", dir);
    ssize_t ol = readlink(data, old, sizeof old - 1);
    if (ol < 0 && errno != ENOENT) return sk_err_sys(err, "readlink %s", data);
    old[ol > 0 ? ol : 0] = 0;
    if (strchr(old, '/') || strncmp(old, "..", 2)) old[0] = 0; /* not ours: replace it */
    _sk_json_ json_t *stale = json_array();
    _sk_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return sk_err_sys(err, "open %s", dir);
    if (old[0] && !needs_write(dfd, old, p, fs_group, stale)) return visible_links(dir, p, err);
    char name[128];
    if (new_ts_dir(dir, fs_group, name, sizeof name, err) < 0) return -1;
    snprintf(ts, sizeof ts, "%s/%s", dir, name);
    _sk_close_ int tfd = open(ts, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    for (size_t i = 0; i < p->n; i++)
        if (tfd < 0 || write_one(tfd, &p->v[i], fs_group) < 0) {
            sk_err_sys(err, "write %s/%s", ts, p->v[i].path);
            discard(ts);
            return -1;
        }
    if (visible_links(dir, p, err) < 0) return -1;
    snprintf(tmp, sizeof tmp, "%s/..data_tmp", dir);
    (void)unlink(tmp);
    if (symlink(name, tmp) < 0 || rename(tmp, data) < 0) {
        sk_err_sys(err, "swap %s", data);
        (void)unlink(tmp);
        discard(ts);
        return -1;
    }
    *changed = true;
    size_t i;
    json_t *s;
    json_array_foreach(stale, i, s) (void)unlinkat(dfd, json_string_value(s), 0);
    if (old[0]) {
        snprintf(ts, sizeof ts, "%s/%s", dir, old);
        return sk_kl_rm_tree(ts, err);
    }
    return 0;
}
