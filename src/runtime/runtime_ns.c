/* Namespaces: the agent's own mount namespace, and the per-pod IPC, UTS and
 * network namespaces pinned by bind mounts.
 *
 * Why the agent has its own mount namespace: on cgroup "hybrid" hosts crun
 * refuses to run while cgroup2 is mounted at /sys/fs/cgroup/unified, so the
 * agent unmounts it in a private copy of the mount table (slave, not
 * private: with private propagation a netns pinned later by another process
 * shows up as an empty file). Overlay rootfs and namespace pins are then
 * mounted in that namespace too; crun, shims and CNI plugins inherit it.
 *
 * Why it is pinned: a restarted agent must see those mounts to unmount them
 * and to join the pinned pod namespaces. ROOT/ns/mnt is bind-mounted with
 * the namespace from the namespace the agent started in (a child setns()es
 * back there: a namespace cannot pin itself), and the next agent setns()es
 * into it instead of creating a new one. ROOT/ns is a private self-bind so
 * the pin never propagates into the pinned namespace (a loop the kernel
 * refuses). */
#include "runtime/runtime_int.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <linux/magic.h>
#include <linux/nsfs.h>

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

/* The namespace the process started in, kept to pin and unpin from there.
 * Set once by sk_rt_init before threads exist, read-only afterwards. */
static int g_origin_mntns = -1;

bool rt_ns_pinned(const char *path, int nstype)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct statfs sfs;
    bool ok = fstatfs(fd, &sfs) == 0 && sfs.f_type == NSFS_MAGIC &&
              ioctl(fd, NS_GET_NSTYPE) == nstype;
    close(fd);
    return ok;
}

static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static bool is_mountpoint(const char *path)
{
    struct statx stx;
    if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0) return false;
    return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
           (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* Runs in a forked child of a single-threaded or threaded parent: syscalls
 * only. Joins the origin namespace and (un)pins. Exit code = errno. */
static int origin_child(const char *dir, const char *pin, pid_t target, bool unpin)
{
    if (setns(g_origin_mntns, CLONE_NEWNS) < 0) return errno;
    if (unpin) {
        umount2(pin, MNT_DETACH);
        umount2(dir, MNT_DETACH);
        return 0;
    }
    if (!is_mountpoint(dir) && (mount(dir, dir, NULL, MS_BIND, NULL) < 0 ||
                                mount(NULL, dir, NULL, MS_PRIVATE, NULL) < 0))
        return errno;
    char src[64];
    snprintf(src, sizeof src, "/proc/%d/ns/mnt", (int)target);
    if (mount(src, pin, NULL, MS_BIND, NULL) < 0) return errno;
    return 0;
}

static int in_origin(const sk_rt *rt, bool unpin, sk_err *err)
{
    _sk_free_ char *dir = sk_printf("%s/ns", rt->root);
    _sk_free_ char *pin = sk_printf("%s/ns/mnt", rt->root);
    pid_t self = getpid();
    pid_t pid = fork();
    if (pid < 0) return sk_err_sys(err, "fork");
    if (pid == 0) _exit(origin_child(dir, pin, self, unpin));
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    if (!WIFEXITED(st) || WEXITSTATUS(st)) {
        errno = WIFEXITED(st) ? WEXITSTATUS(st) : EINTR;
        return sk_err_sys(err, "%s mount namespace at %s", unpin ? "unpin" : "pin", pin);
    }
    return 0;
}

static int enter_new_namespace(sk_err *err)
{
    if (unshare(CLONE_NEWNS) < 0) return sk_err_sys(err, "unshare mount namespace");
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) return sk_err_sys(err, "make / rslave");
    /* Hybrid hosts only: crun gives up while cgroup2 sits beside v1. */
    struct statfs sfs;
    if (statfs("/sys/fs/cgroup/unified", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC &&
        statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type != CGROUP2_SUPER_MAGIC &&
        umount2("/sys/fs/cgroup/unified", MNT_DETACH) < 0)
        return sk_err_sys(err, "umount /sys/fs/cgroup/unified");
    return 0;
}

int rt_ns_process_setup(const sk_rt *rt, bool *fresh, sk_err *err)
{
    _sk_free_ char *dir = sk_printf("%s/ns", rt->root);
    _sk_free_ char *pin = sk_printf("%s/ns/mnt", rt->root);
    *fresh = false;
    if (rt_ns_pinned(pin, CLONE_NEWNS)) {
        if (same_file(pin, "/proc/self/ns/mnt")) return 0;
        if (g_origin_mntns >= 0)
            return sk_err_set(err, SK_ECONFLICT, "process already joined another runtime namespace");
        g_origin_mntns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
        _sk_close_ int fd = open(pin, O_RDONLY | O_CLOEXEC);
        if (g_origin_mntns < 0 || fd < 0) return sk_err_sys(err, "open %s", pin);
        if (setns(fd, CLONE_NEWNS) < 0) return sk_err_sys(err, "join mount namespace %s", pin);
        if (chdir("/") < 0) return sk_err_sys(err, "chdir /");
        return 0;
    }
    *fresh = true;
    if (sk_mkdir_p(dir, 0700, err) < 0) return -1;
    int fd = open(pin, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return sk_err_sys(err, "create %s", pin);
    close(fd);
    if (g_origin_mntns < 0) {
        g_origin_mntns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
        if (g_origin_mntns < 0) return sk_err_sys(err, "open /proc/self/ns/mnt");
        if (enter_new_namespace(err) < 0) return -1;
    }
    return in_origin(rt, false, err);
}

int rt_ns_unpin(const sk_rt *rt, sk_err *err)
{
    _sk_free_ char *dir = sk_printf("%s/ns", rt->root);
    if (g_origin_mntns >= 0 && in_origin(rt, true, err) < 0) return -1;
    /* Our copy of the private self-bind, if any. */
    if (is_mountpoint(dir)) umount2(dir, MNT_DETACH);
    return 0;
}

/* ---- pod namespaces --------------------------------------------------------- */

struct ns_job {
    const struct rt_ns_request *req;
    int rc;
    sk_err err;
};

static int lo_up(sk_err *err)
{
    _sk_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return sk_err_sys(err, "socket");
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) return sk_err_sys(err, "get lo flags");
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) return sk_err_sys(err, "set lo up");
    return 0;
}

static int pin(const char *kind, const char *target, sk_err *err)
{
    char src[64];
    snprintf(src, sizeof src, "/proc/thread-self/ns/%s", kind);
    int fd = open(target, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (fd < 0) return sk_err_sys(err, "create %s", target);
    close(fd);
    if (mount(src, target, NULL, MS_BIND, NULL) < 0) {
        sk_err_sys(err, "pin %s namespace at %s", kind, target);
        unlink(target);
        return -1;
    }
    return 0;
}

/* A thread may unshare its own IPC, UTS and network namespaces; the rest of
 * the process never moves, and the namespaces outlive the thread through
 * their pins. */
static void *ns_thread(void *arg)
{
    sk_mem_thread_nocache();
    struct ns_job *job = arg;
    const struct rt_ns_request *r = job->req;
    int flags = (r->ipc ? CLONE_NEWIPC : 0) | (r->uts ? CLONE_NEWUTS : 0) | (r->net ? CLONE_NEWNET : 0);
    job->rc = -1;
    if (unshare(flags) < 0) {
        sk_err_sys(&job->err, "unshare pod namespaces");
        return NULL;
    }
    if (r->uts && sethostname(r->hostname, strlen(r->hostname)) < 0) {
        sk_err_sys(&job->err, "sethostname %s", r->hostname);
        return NULL;
    }
    if (r->net && lo_up(&job->err) < 0) return NULL;
    if (r->ipc && pin("ipc", r->ipc_pin, &job->err) < 0) return NULL;
    if (r->uts && pin("uts", r->uts_pin, &job->err) < 0) return NULL;
    if (r->net && pin("net", r->net_pin, &job->err) < 0) return NULL;
    job->rc = 0;
    return NULL;
}

int rt_ns_create(const struct rt_ns_request *req, sk_err *err)
{
    if (!req->ipc && !req->uts && !req->net) return 0;
    struct ns_job job = {.req = req, .err = SK_ERR_INIT};
    pthread_t t;
    int rc = pthread_create(&t, NULL, ns_thread, &job);
    if (rc) {
        errno = rc;
        return sk_err_sys(err, "thread");
    }
    pthread_join(t, NULL);
    if (job.rc < 0) {
        *err = job.err;
        return -1;
    }
    return 0;
}
