/* File-system helpers for layer extraction and GC. Layer contents are
 * untrusted: every walk below a root goes component by component with
 * O_NOFOLLOW, so a symlink planted by a layer can never redirect a
 * whiteout deletion or a directory creation outside the root. */
#include "runtime/image/image_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#define WALK_DEPTH_MAX 1024

char *sk_image_clean_path(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= PATH_MAX) return NULL;
    sk_buf b = SK_BUF_INIT;
    const char *p = name;
    while (*p) {
        while (*p == '/') p++;
        const char *e = strchrnul(p, '/');
        size_t len = (size_t)(e - p);
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            sk_buf_release(&b);
            return NULL;
        }
        if (len && !(len == 1 && p[0] == '.')) {
            if (b.len) sk_buf_add(&b, "/", 1);
            sk_buf_add(&b, p, len);
        }
        p = e;
    }
    if (!b.len) return sk_strdup(""); /* the root itself ("./") */
    return sk_buf_take(&b);
}

enum sk_wh_kind sk_image_whiteout(const char *clean, char **target)
{
    const char *base = strrchr(clean, '/');
    base = base ? base + 1 : clean;
    if (strncmp(base, ".wh.", 4)) return SK_WH_NONE;
    if (!strcmp(base, ".wh..wh..opq")) return SK_WH_OPAQUE;
    /* other .wh..wh. names are aufs bookkeeping (hard-link dirs): skip */
    if (!strncmp(base, ".wh..wh.", 8) || !base[4]) return SK_WH_META;
    if (target) {
        size_t dl = (size_t)(base - clean);
        *target = sk_printf("%.*s%s", (int)dl, clean, base + 4);
    }
    return SK_WH_FILE;
}

int sk_fs_open_dir(int rootfd, const char *rel, bool create, sk_err *err)
{
    int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) return sk_err_sys(err, "dup");
    const char *p = rel;
    char comp[NAME_MAX + 1];
    while (*p) {
        const char *e = strchrnul(p, '/');
        size_t len = (size_t)(e - p);
        if (len > NAME_MAX || (len == 2 && !memcmp(p, "..", 2))) {
            close(fd);
            return sk_err_set(err, SK_EINVALID, "bad path %s", rel);
        }
        if (len && !(len == 1 && *p == '.')) {
            memcpy(comp, p, len);
            comp[len] = 0;
            int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (nfd < 0 && errno == ENOENT && create) {
                if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
                    sk_err_sys(err, "mkdir %s", rel);
                    close(fd);
                    return -1;
                }
                nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            }
            if (nfd < 0) {
                int e2 = errno;
                close(fd);
                errno = e2;
                if (e2 == ENOTDIR || e2 == ELOOP)
                    return sk_err_set(err, SK_EINVALID, "%s: not a directory (or a symlink)", rel);
                sk_err_sys(err, "open %s", rel);
                if (e2 == ENOENT && err) err->code = SK_ENOTFOUND;
                return -1;
            }
            close(fd);
            fd = nfd;
        }
        p = *e ? e + 1 : e;
    }
    return fd;
}

static int remove_children(int dfd, int depth, sk_err *err);

static int remove_entry(int dirfd, const char *name, int depth, sk_err *err)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : sk_err_sys(err, "stat %s", name);
    if (S_ISDIR(st.st_mode)) {
        if (depth > WALK_DEPTH_MAX) return sk_err_set(err, SK_EINVALID, "directory tree too deep");
        int dfd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0 && errno == EACCES) {
            /* layers may hold 0000 dirs; as non-root we own them */
            fchmodat(dirfd, name, 0700, 0);
            dfd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (dfd < 0) return sk_err_sys(err, "open %s", name);
        if ((st.st_mode & 0700) != 0700) fchmod(dfd, st.st_mode | 0700);
        int rc = remove_children(dfd, depth + 1, err);
        close(dfd);
        if (rc < 0) return -1;
        if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
            return sk_err_sys(err, "rmdir %s", name);
        return 0;
    }
    if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT) return sk_err_sys(err, "unlink %s", name);
    return 0;
}

static int remove_children(int dfd, int depth, sk_err *err)
{
    int dup = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
    DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
    if (!d) {
        if (dup >= 0) close(dup);
        return sk_err_sys(err, "opendir");
    }
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        rc = remove_entry(dfd, de->d_name, depth, err);
    }
    closedir(d);
    return rc;
}

int sk_fs_remove_at(int dirfd, const char *name, sk_err *err)
{
    return remove_entry(dirfd, name, 0, err);
}

int sk_fs_remove_tree(const char *path, sk_err *err)
{
    _sk_free_ char *copy = sk_strdup(path);
    char *slash = strrchr(copy, '/');
    const char *dir = "/", *base = copy;
    if (slash && slash != copy) {
        *slash = 0;
        dir = copy;
        base = slash + 1;
    } else if (slash) {
        base = slash + 1;
    } else {
        dir = ".";
    }
    _sk_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return errno == ENOENT ? 0 : sk_err_sys(err, "open %s", dir);
    return sk_fs_remove_at(dfd, base, err);
}
