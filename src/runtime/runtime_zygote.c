/* The shim zygote: a small process forked by sk_rt_init, before the agent
 * has threads or a large heap, that forks every shim on request.
 *
 * Why not fork shims from the agent directly: a forked child keeps a
 * copy-on-write snapshot of its parent's memory, and as the agent keeps
 * writing its heap each shim would end up owning a private copy of the
 * agent's heap as of its birth (100 pods x agent RSS). Forking from an idle
 * zygote shares almost everything, needs no exec of a helper binary, and
 * the child starts single-threaded with a consistent heap.
 *
 * Protocol: one SOCK_SEQPACKET datagram per shim, a struct rt_shim_req
 * with the write end of the reply pipe attached (SCM_RIGHTS); the shim
 * answers the agent on that pipe directly. The zygote exits when the agent
 * closes its end or dies. If it is gone, the agent falls back to forking
 * the shim itself (correct, only heavier on memory). */
#include "runtime/runtime_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

struct rt_shim_req {
    char dir[512];
    char id[RT_ID_MAX + 1];
    char log_path[3072];
    char oom_file[512];
    int32_t terminal;
    int32_t start;
    int32_t log_max_files;
    int64_t log_max_size;
};

static void __attribute__((noreturn)) zygote_main(const sk_rt *rt, int sock)
{
    if (sock != 3) {
        dup2(sock, 3);
        sock = 3;
    }
    close_range(4, ~0U, 0);
    int null = open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3; fd++) dup2(null, fd);
    if (null > 2) close(null);
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &dfl, NULL);
    signal(SIGCHLD, SIG_IGN); /* shims need no reaping by us: one fork each */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    prctl(PR_SET_NAME, "skiff-zygote");
    if (chdir("/") < 0) _exit(1);
    for (;;) {
        struct rt_shim_req req;
        char ctrl[CMSG_SPACE(sizeof(int))];
        struct iovec iov = {&req, sizeof req};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl, .msg_controllen = sizeof ctrl};
        ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) _exit(0); /* the agent is gone */
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        int fd = -1;
        if (cm && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(&fd, CMSG_DATA(cm), sizeof fd);
        if (fd < 0) continue;
        if (n == (ssize_t)sizeof req) {
            req.dir[sizeof req.dir - 1] = req.id[sizeof req.id - 1] = 0;
            req.log_path[sizeof req.log_path - 1] = req.oom_file[sizeof req.oom_file - 1] = 0;
            struct rt_shim_args a = {.crun = rt->crun, .crun_exe = rt->crun_exe, .crun_root = rt->crun_root, .dir = req.dir, .id = req.id,
                                     .log_path = req.log_path, .oom_file = req.oom_file[0] ? req.oom_file : NULL,
                                     .terminal = req.terminal != 0, .start = req.start != 0,
                                     .log_max_size = req.log_max_size,
                                     .log_max_files = req.log_max_files};
            rt_shim_fork_once(&a, fd);
        }
        close(fd);
    }
}

int rt_zygote_start(sk_rt *rt, sk_err *err)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return sk_err_sys(err, "socketpair");
    pid_t pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return sk_err_sys(err, "fork the shim zygote");
    }
    if (pid == 0) {
        close(sv[0]);
        zygote_main(rt, sv[1]);
    }
    close(sv[1]);
    rt->zygote_fd = sv[0];
    rt->zygote_pid = pid;
    return 0;
}

void rt_zygote_stop(sk_rt *rt)
{
    if (rt->zygote_fd < 0) return;
    close(rt->zygote_fd);
    rt->zygote_fd = -1;
    while (waitpid(rt->zygote_pid, NULL, 0) < 0 && errno == EINTR) {}
}

/* Hands a shim request to the zygote; -1 if it is unavailable. */
int rt_zygote_fork_shim(const sk_rt *rt, const struct rt_shim_args *a, int sync_w)
{
    struct rt_shim_req req = {.terminal = a->terminal, .start = a->start, .log_max_files = a->log_max_files,
                              .log_max_size = a->log_max_size};
    if (rt->zygote_fd < 0 || strlen(a->dir) >= sizeof req.dir || strlen(a->log_path) >= sizeof req.log_path ||
        (a->oom_file && strlen(a->oom_file) >= sizeof req.oom_file))
        return -1;
    snprintf(req.dir, sizeof req.dir, "%s", a->dir);
    snprintf(req.id, sizeof req.id, "%s", a->id);
    snprintf(req.log_path, sizeof req.log_path, "%s", a->log_path);
    snprintf(req.oom_file, sizeof req.oom_file, "%s", a->oom_file ? a->oom_file : "");
    char ctrl[CMSG_SPACE(sizeof(int))] = {0};
    struct iovec iov = {&req, sizeof req};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl, .msg_controllen = sizeof ctrl};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &sync_w, sizeof sync_w);
    ssize_t n;
    while ((n = sendmsg(rt->zygote_fd, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR) {}
    return n == (ssize_t)sizeof req ? 0 : -1;
}
