/* Named network namespaces, the way iproute2 pins them: an empty file under
 * /run/netns bind-mounted with the namespace. Namespaces are created and
 * entered on short-lived threads (a thread may unshare or setns its own
 * netns), so the caller's threads never move and nothing forks. */
#include "network/network.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#define NETNS_DIR "/run/netns"
#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

static bool netns_name_ok(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > 48 || !strcmp(name, ".") || !strcmp(name, "..")) return false;
    for (const char *p = name; *p; p++)
        if (*p == '/' || *p <= ' ' || *p == 0x7f) return false;
    return true;
}

/* /run/netns must be a shared mount so pins made here show up in mount
 * namespaces created later (crun's, `ip netns exec`'s). iproute2 bind-mounts
 * the directory onto itself when it is not yet a mount point. Returns the
 * directory fd holding an flock (close releases it), which keeps concurrent
 * creators from stacking two such mounts or racing on a pin file. */
static int netns_dir_lock(sk_err *err)
{
    if (sk_mkdir_p(NETNS_DIR, 0755, err) < 0) return -1;
    int dfd = open(NETNS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return sk_err_sys(err, "open %s", NETNS_DIR);
    if (flock(dfd, LOCK_EX) < 0) {
        close(dfd);
        return sk_err_sys(err, "lock %s", NETNS_DIR);
    }
    if (mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) == 0) return dfd;
    if (errno == EINVAL && mount(NETNS_DIR, NETNS_DIR, "none", MS_BIND | MS_REC, NULL) == 0 &&
        mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) == 0)
        return dfd;
    sk_err_sys(err, "make %s a shared mount", NETNS_DIR);
    close(dfd);
    return -1;
}

struct netns_job {
    const char *path; /* create: pin target; run: netns to join */
    bool lo_up;
    int (*fn)(void *);
    void *arg;
    int rc;
    sk_err err;
};

static int link_up(const char *ifname, sk_err *err)
{
    _sk_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return sk_err_sys(err, "socket");
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) return sk_err_sys(err, "get flags of %s", ifname);
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) return sk_err_sys(err, "set %s up", ifname);
    return 0;
}

static void *create_thread(void *p)
{
    struct netns_job *j = p;
    j->rc = -1;
    if (unshare(CLONE_NEWNET) < 0) {
        sk_err_sys(&j->err, "unshare(CLONE_NEWNET)");
        return NULL;
    }
    if (mount("/proc/thread-self/ns/net", j->path, "none", MS_BIND, NULL) < 0) {
        sk_err_sys(&j->err, "bind-mount netns on %s", j->path);
        return NULL;
    }
    if (j->lo_up && link_up("lo", &j->err) < 0) return NULL;
    j->rc = 0;
    return NULL;
}

static int run_job(void *(*thread_fn)(void *), struct netns_job *j, sk_err *err)
{
    pthread_t t;
    int e = pthread_create(&t, NULL, thread_fn, j);
    if (e) {
        errno = e;
        return sk_err_sys(err, "create netns thread");
    }
    pthread_join(t, NULL);
    return 0;
}

int sk_net_netns_create(const char *name, bool lo_up, char *path_out, size_t path_len,
                        sk_err *err)
{
    if (!netns_name_ok(name)) return sk_err_set(err, SK_EINVALID, "invalid netns name \"%s\"", name ? name : "");
    char path[128];
    snprintf(path, sizeof path, NETNS_DIR "/%s", name);
    if (path_out && path_len <= strlen(path))
        return sk_err_set(err, SK_EINVALID, "netns path buffer too small");
    _sk_close_ int lock = netns_dir_lock(err);
    if (lock < 0) return -1;
    /* /run is not always tmpfs: a pin file that survived a reboot is no
     * longer a mount and is reused. */
    if (access(path, F_OK) == 0 && !sk_net_netns_exists(path)) unlink(path);
    int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
    if (fd < 0) {
        if (errno == EEXIST) return sk_err_set(err, SK_EEXIST, "netns \"%s\" already exists", name);
        return sk_err_sys(err, "create %s", path);
    }
    close(fd);
    struct netns_job j = {.path = path, .lo_up = lo_up};
    if (run_job(create_thread, &j, err) < 0 || j.rc < 0) {
        if (j.rc < 0 && err) *err = j.err;
        umount2(path, MNT_DETACH);
        unlink(path);
        return sk_err_wrap(err, "create netns %s", name);
    }
    if (path_out) snprintf(path_out, path_len, "%s", path);
    return 0;
}

int sk_net_netns_delete(const char *name_or_path, sk_err *err)
{
    if (!name_or_path || !*name_or_path) return sk_err_set(err, SK_EINVALID, "empty netns name");
    char path[256];
    if (strchr(name_or_path, '/')) {
        snprintf(path, sizeof path, "%s", name_or_path);
    } else {
        if (!netns_name_ok(name_or_path))
            return sk_err_set(err, SK_EINVALID, "invalid netns name \"%s\"", name_or_path);
        snprintf(path, sizeof path, NETNS_DIR "/%s", name_or_path);
    }
    /* EINVAL: not a mount point (half-created or already unmounted). */
    if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        return sk_err_sys(err, "unmount %s", path);
    if (unlink(path) < 0 && errno != ENOENT) return sk_err_sys(err, "remove %s", path);
    return 0;
}

bool sk_net_netns_exists(const char *path)
{
    struct statfs st;
    return path && *path && statfs(path, &st) == 0 && (unsigned long)st.f_type == NSFS_MAGIC;
}

static void *enter_thread(void *p)
{
    struct netns_job *j = p;
    j->rc = -1;
    int fd = open(j->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        sk_err_sys(&j->err, "open netns %s", j->path);
        if (errno == ENOENT) j->err.code = SK_ENOTFOUND;
        return NULL;
    }
    int rc = setns(fd, CLONE_NEWNET);
    close(fd);
    if (rc < 0) {
        sk_err_sys(&j->err, "enter netns %s", j->path);
        return NULL;
    }
    /* This thread now lives in the other netns; it ends right after fn, so
     * the namespace switch cannot leak into unrelated work. */
    j->rc = j->fn(j->arg);
    j->err.code = SK_OK;
    return NULL;
}

int sk_net_netns_run(const char *path, int (*fn)(void *arg), void *arg, sk_err *err)
{
    if (!path || !fn) return sk_err_set(err, SK_EINVALID, "netns run: missing path or function");
    struct netns_job j = {.path = path, .fn = fn, .arg = arg};
    j.err.code = SK_EINTERNAL; /* stays set only when entering failed */
    if (run_job(enter_thread, &j, err) < 0) return -1;
    if (j.err.code != SK_OK) {
        if (err) *err = j.err;
        return -1;
    }
    return j.rc;
}
