/* The container's uid, gid and additional groups, resolved like containerd:
 * runAsUser/runAsGroup win, else the image USER ("name", "uid",
 * "name:group", "uid:gid"), names looked up in the image's /etc/passwd and
 * /etc/group. Those files come from the image: they are opened with
 * RESOLVE_IN_ROOT (symlinks stay inside the rootfs), size-capped, and
 * parsed without trusting their shape. */
#include "runtime/runtime_int.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

#define RT_ETC_MAX (1 << 20)

/* Splits one line into up to max ':' fields (pointers into line, which is
 * modified). Returns the field count. */
static size_t split_fields(char *line, char **f, size_t max)
{
    size_t n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == ':') {
            *p = 0;
            f[n++] = p + 1;
        }
    return n;
}

static bool parse_id(const char *s, uint32_t *out)
{
    if (!s || !*s || strlen(s) > 10) return false;
    unsigned long long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return false;
        v = v * 10 + (unsigned)(*p - '0');
    }
    if (v > UINT32_MAX) return false;
    *out = (uint32_t)v;
    return true;
}

/* Copies the next line into line; over-long and comment lines are skipped. */
static bool next_line(const char **p, char *line, size_t cap)
{
    while (*p && **p) {
        const char *s = *p, *e = strchr(s, '\n');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        *p = s + n + (e ? 1 : 0);
        if (n >= cap || s[0] == '#') continue;
        memcpy(line, s, n);
        line[n] = 0;
        return true;
    }
    return false;
}

int rt_passwd_find(const char *passwd, const char *name, long long uid, uint32_t *uid_out,
                   uint32_t *gid_out, char *name_out, size_t name_len)
{
    char line[1024];
    for (const char *p = passwd; next_line(&p, line, sizeof line);) {
        char *f[7];
        uint32_t u, g;
        if (split_fields(line, f, 7) < 4 || !parse_id(f[2], &u) || !parse_id(f[3], &g)) continue;
        if (name ? strcmp(f[0], name) != 0 : (long long)u != uid) continue;
        *uid_out = u;
        *gid_out = g;
        if (name_out) snprintf(name_out, name_len, "%s", f[0]);
        return 0;
    }
    return -1;
}

int rt_group_find(const char *group, const char *name, uint32_t *gid_out)
{
    char line[4096];
    for (const char *p = group; next_line(&p, line, sizeof line);) {
        char *f[4];
        uint32_t g;
        if (split_fields(line, f, 4) < 3 || !parse_id(f[2], &g) || strcmp(f[0], name)) continue;
        *gid_out = g;
        return 0;
    }
    return -1;
}

size_t rt_group_member_gids(const char *group, const char *user, uint32_t primary, uint32_t *out,
                            size_t max)
{
    char line[4096];
    size_t n = 0;
    for (const char *p = group; next_line(&p, line, sizeof line);) {
        char *f[4];
        uint32_t g;
        if (n >= max || split_fields(line, f, 4) < 4 || !parse_id(f[2], &g) || g == primary) continue;
        for (char *save = NULL, *m = strtok_r(f[3], ",", &save); m; m = strtok_r(NULL, ",", &save))
            if (!strcmp(m, user)) {
                out[n++] = g;
                break;
            }
    }
    return n;
}

/* Reads ROOTFS/etc/<name> (NULL if absent or unreadable: an image may lack it). */
static char *read_etc(int rootfs_fd, const char *name)
{
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    char path[64];
    snprintf(path, sizeof path, "etc/%s", name);
    int fd = (int)syscall(SYS_openat2, rootfs_fd, path, &how, sizeof how);
    if (fd < 0) return NULL;
    char *buf = sk_malloc(RT_ETC_MAX + 1);
    size_t len = 0;
    for (ssize_t n; len < RT_ETC_MAX && (n = read(fd, buf + len, RT_ETC_MAX - len)) != 0;) {
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        len += (size_t)n;
    }
    close(fd);
    buf[len] = 0;
    return buf;
}

static void add_gid(struct rt_user *u, uint32_t g)
{
    for (size_t i = 0; i < u->n_gids; i++)
        if (u->gids[i] == g) return;
    if (u->n_gids < RT_MAX_GIDS) u->gids[u->n_gids++] = g;
}

int rt_user_resolve(int rootfs_fd, const struct sk_rt_container_config *cfg, struct rt_user *u,
                    sk_err *err)
{
    *u = (struct rt_user){0};
    char spec[256] = "", *grp = NULL, name[256] = "";
    if (cfg->image_user && strlen(cfg->image_user) >= sizeof spec)
        return sk_err_set(err, SK_EINVALID, "image user too long");
    snprintf(spec, sizeof spec, "%s", cfg->image_user ? cfg->image_user : "");
    if ((grp = strchr(spec, ':'))) *grp++ = 0;
    _sk_free_ char *passwd = read_etc(rootfs_fd, "passwd");
    _sk_free_ char *group = read_etc(rootfs_fd, "group");
    bool from_passwd = false;
    uint32_t pw_gid = 0;
    if (cfg->run_as_user >= 0 || !spec[0] || parse_id(spec, &u->uid)) {
        if (cfg->run_as_user > UINT32_MAX) return sk_err_set(err, SK_EINVALID, "runAsUser out of range");
        if (cfg->run_as_user >= 0) u->uid = (uint32_t)cfg->run_as_user;
        uint32_t found_uid;
        from_passwd = passwd && rt_passwd_find(passwd, NULL, u->uid, &found_uid, &pw_gid, name, sizeof name) == 0;
    } else {
        if (!passwd || rt_passwd_find(passwd, spec, -1, &u->uid, &pw_gid, name, sizeof name) < 0)
            return sk_err_set(err, SK_EINVALID, "unable to find user %s: no matching entries in passwd file", spec);
        from_passwd = true;
    }
    if (cfg->run_as_group >= 0) {
        if (cfg->run_as_group > UINT32_MAX) return sk_err_set(err, SK_EINVALID, "runAsGroup out of range");
        u->gid = (uint32_t)cfg->run_as_group;
    } else if (grp && *grp && cfg->run_as_user < 0) {
        if (!parse_id(grp, &u->gid) && (!group || rt_group_find(group, grp, &u->gid) < 0))
            return sk_err_set(err, SK_EINVALID, "unable to find group %s: no matching entries in group file", grp);
    } else {
        u->gid = from_passwd ? pw_gid : 0;
    }
    if (from_passwd && group) u->n_gids = rt_group_member_gids(group, name, u->gid, u->gids, RT_MAX_GIDS);
    for (size_t i = 0; i < cfg->n_supplemental_gids; i++) add_gid(u, cfg->supplemental_gids[i]);
    return 0;
}
