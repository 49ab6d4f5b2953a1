/* The per-container shim, our conmon. Forked (twice, in its own session) so
 * it survives the agent; a child subreaper so the container's init, which
 * `crun create` leaves behind, becomes its child and its exit status can be
 * collected with waitpid. It
 *   1. runs `crun create` (`crun run --detach` when asked to start it too)
 *      with the container's stdout/stderr on pipes it holds (or receives
 *      the pty master through --console-socket),
 *   2. writes ROOT/containers/ID/state (container and shim pid + start time)
 *      and reports to the agent over a pipe,
 *   3. copies the output into the CRI log until the container exits,
 *   4. writes ROOT/containers/ID/exit (code, signal, OOM kill, time), exits.
 *
 * Why a process and not an agent thread: the container must keep logging
 * and its exit code must be recorded while the agent restarts.
 * Why no exec of a helper binary: this is a library inside one binary whose
 * main() it does not own. Shims are forked by the zygote (runtime_zygote.c)
 * and, only if it is gone, by the possibly multi-threaded agent itself; so
 * the shim uses just syscalls and lock-free helpers (no malloc, stdio
 * streams or sk_log), resets signals, and closes every inherited fd first. */
#include "runtime/runtime_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#define SHIM_DRAIN_MS 2000 /* output still read after the exit, for grandchildren */
#define SHIM_REPLY_TIMEOUT_MS 120000

extern char **environ;

static struct rt_log g_log; /* 32 KiB of line buffers: static, not on the stack */

/* strerrordesc_np, not strerror: no gettext, so no locks. */
static void reply_fail(int sync_fd, struct rt_shim_reply *r, const char *what, const char *arg)
{
    if (!r->msg[0]) snprintf(r->msg, sizeof r->msg, "shim: %s %s: %s", what, arg, strerrordesc_np(errno));
    r->ok = 0;
    ssize_t w = write(sync_fd, r, sizeof *r);
    (void)w;
}

static void reset_process(int *sync_fd)
{
    if (*sync_fd != 3) {
        dup2(*sync_fd, 3);
        *sync_fd = 3;
    }
    close_range(4, ~0U, 0);
    int null = open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3; fd++) dup2(null, fd);
    if (null > 2) close(null);
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &dfl, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    prctl(PR_SET_NAME, "skiff-shim");
}

static int spawn_crun(const struct rt_shim_args *a, int out_w, int err_w, pid_t *pid)
{
    char pidfile[4096];
    snprintf(pidfile, sizeof pidfile, "%s/pid", a->dir);
    const char *argv[12] = {a->crun, "--root", a->crun_root, a->start ? "run" : "create", "--bundle", a->dir,
                            "--pid-file", pidfile};
    size_t n = 8;
    if (a->start) argv[n++] = "--detach";
    if (a->terminal) {
        argv[n++] = "--console-socket";
        argv[n++] = "console.sock";
    }
    argv[n++] = a->id;
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out_w, 1);
    posix_spawn_file_actions_adddup2(&fa, err_w, 2);
    rt_spawn_attr_init(&attr);
    int rc = posix_spawn(pid, a->crun_exe, &fa, &attr, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    errno = rc;
    return rc ? -1 : 0;
}

/* crun's error text: whatever it wrote to the container's stdio. */
static void read_msg(int fd, struct rt_shim_reply *r)
{
    size_t len = strlen(r->msg);
    while (len < sizeof r->msg - 1) {
        ssize_t n = read(fd, r->msg + len, sizeof r->msg - 1 - len);
        if (n <= 0) break;
        len += (size_t)n;
    }
    while (len && (r->msg[len - 1] == '\n' || r->msg[len - 1] == ' ')) len--;
    r->msg[len] = 0;
}

static int console_listen(void)
{
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX, .sun_path = "console.sock"};
    unlink("console.sock");
    if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(s, 1) < 0) return -1;
    return s;
}

/* The pty master crun sent (it connected during create; the connection
 * waits in the backlog). */
int rt_recv_fd(int listen_fd, int timeout_ms)
{
    if (!rt_wait_readable(listen_fd, timeout_ms)) {
        errno = ETIMEDOUT;
        return -1;
    }
    int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) return -1;
    char data[8], ctrl[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {data, sizeof data};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl, .msg_controllen = sizeof ctrl};
    rt_wait_readable(c, timeout_ms);
    ssize_t n = recvmsg(c, &mh, MSG_CMSG_CLOEXEC);
    close(c);
    struct cmsghdr *cm = n >= 0 ? CMSG_FIRSTHDR(&mh) : NULL;
    if (!cm || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(int))) {
        errno = EPROTO;
        return -1;
    }
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    return fd;
}

static pid_t read_pidfile(const char *dir)
{
    char path[4096], buf[32];
    snprintf(path, sizeof path, "%s/pid", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    long long v = 0;
    for (char *p = buf; *p >= '0' && *p <= '9'; p++) v = v * 10 + (*p - '0');
    return v > 0 && v < (1 << 22) ? (pid_t)v : -1;
}

static long long read_oom_kills(const char *path)
{
    char buf[2048];
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    long long v = 0;
    return rt_kv_get(buf, "oom_kill", ' ', &v) ? v : 0;
}

static void write_kv_file(const char *dir, const char *leaf, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, leaf);
    rt_write_atomic(path, text, strlen(text));
}

/* Copies output into the log until the container exited and its streams
 * closed (or SHIM_DRAIN_MS after the exit); returns the wait status. */
static int pump(int *fds, int sigfd, pid_t cpid)
{
    static char buf[65536];
    bool exited = false;
    int status = 0;
    int64_t deadline = 0;
    while (!exited || fds[0] >= 0 || fds[1] >= 0) {
        int timeout = -1;
        if (exited && (timeout = (int)(deadline - sk_now_ms())) <= 0) break;
        struct pollfd p[3] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}, {sigfd, POLLIN, 0}};
        if (poll(p, 3, timeout) < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; i++) {
            if (fds[i] < 0 || !p[i].revents) continue;
            ssize_t n = read(fds[i], buf, sizeof buf);
            if (n > 0) {
                rt_log_feed(&g_log, i, buf, (size_t)n, rt_wall_ns());
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) { /* EIO: pty slave closed */
                rt_log_flush(&g_log, i, rt_wall_ns());
                close(fds[i]);
                fds[i] = -1;
            }
        }
        if (p[2].revents) {
            struct signalfd_siginfo si;
            while (read(sigfd, &si, sizeof si) > 0) {}
            int st;
            for (pid_t w; (w = waitpid(-1, &st, WNOHANG)) > 0;)
                if (w == cpid) {
                    exited = true;
                    status = st;
                    deadline = sk_now_ms() + SHIM_DRAIN_MS;
                }
        }
    }
    return status;
}

static void finish(const struct rt_shim_args *a, int status)
{
    rt_log_flush(&g_log, 0, rt_wall_ns());
    rt_log_flush(&g_log, 1, rt_wall_ns());
    rt_log_close(&g_log);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    char text[256];
    snprintf(text, sizeof text, "exit_code=%d\nsignal=%d\noom_kills=%lld\nfinished_ms=%lld\n", code,
             WIFSIGNALED(status) ? WTERMSIG(status) : 0, read_oom_kills(a->oom_file),
             (long long)(rt_wall_ns() / 1000000));
    write_kv_file(a->dir, "exit", text);
}

static void cleanup_crun(const struct rt_shim_args *a)
{
    const char *argv[] = {a->crun, "--root", a->crun_root, "delete", "-f", a->id, NULL};
    posix_spawnattr_t attr;
    rt_spawn_attr_init(&attr);
    pid_t pid;
    if (posix_spawn(&pid, a->crun_exe, NULL, &attr, (char *const *)argv, environ) == 0)
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    posix_spawnattr_destroy(&attr);
}

/* Runs `crun create` (or `crun run --detach`); on success fds[] are the
 * container's output streams (stdout/stderr pipes, or the pty master and
 * -1) and r->pid its init. */
static int shim_create(const struct rt_shim_args *a, struct rt_shim_reply *r, int fds[2])
{
    int out[2] = {-1, -1}, errp[2] = {-1, -1}, lsock = -1, st = 0;
    pid_t crun_pid;
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || (a->terminal && (lsock = console_listen()) < 0) ||
        spawn_crun(a, out[1], errp[1], &crun_pid) < 0) {
        snprintf(r->msg, sizeof r->msg, "shim: start %s: %s", a->crun, strerrordesc_np(errno));
        return -1;
    }
    close(out[1]);
    close(errp[1]);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(errp[0], F_SETFL, O_NONBLOCK);
    while (waitpid(crun_pid, &st, 0) < 0 && errno == EINTR) {}
    bool failed = !WIFEXITED(st) || WEXITSTATUS(st);
    /* A created container cannot print before its start: what is there is
     * crun's chatter. A started one may have: that stays for the log. */
    if (failed || !a->start) {
        read_msg(errp[0], r);
        read_msg(out[0], r);
    }
    if (failed) {
        if (!r->msg[0]) snprintf(r->msg, sizeof r->msg, "crun %s failed with status %d", a->start ? "run" : "create", st);
        return -1;
    }
    r->msg[0] = 0;
    fds[0] = out[0];
    fds[1] = errp[0];
    if (a->terminal) {
        fds[0] = rt_recv_fd(lsock, 5000);
        close(out[0]); /* crun's own stdio, not the container's */
        close(errp[0]);
        close(lsock);
        unlink("console.sock");
        fds[1] = -1;
        if (fds[0] < 0) {
            snprintf(r->msg, sizeof r->msg, "shim: no terminal from crun: %s", strerrordesc_np(errno));
            return -1;
        }
        fcntl(fds[0], F_SETFL, O_NONBLOCK);
        g_log.strip_cr = true;
    }
    r->pid = read_pidfile(a->dir);
    if (r->pid <= 0) {
        snprintf(r->msg, sizeof r->msg, "shim: no pid file from crun");
        return -1;
    }
    return 0;
}

static void __attribute__((noreturn)) shim_main(const struct rt_shim_args *a, int sync_fd)
{
    struct rt_shim_reply r = {0};
    int fds[2];
    /* SIGCHLD stays blocked from here on (crun gets a clean mask) so no
     * exit can slip by before the signalfd exists. */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    reset_process(&sync_fd);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sigfd < 0 || chdir(a->dir) < 0) {
        reply_fail(sync_fd, &r, "set up in", a->dir);
        _exit(1);
    }
    if (shim_create(a, &r, fds) < 0) goto fail;
    if (rt_log_open(&g_log, a->log_path, a->log_max_size, a->log_max_files) < 0) {
        snprintf(r.msg, sizeof r.msg, "open log %s: %s", a->log_path, strerrordesc_np(errno));
        goto fail;
    }
    char state[256];
    snprintf(state, sizeof state, "pid=%d\npid_start=%llu\nshim=%d\nshim_start=%llu\n", (int)r.pid,
             rt_proc_starttime(r.pid), (int)getpid(), rt_proc_starttime(getpid()));
    write_kv_file(a->dir, "state", state);
    r.ok = 1;
    ssize_t w = write(sync_fd, &r, sizeof r); /* fails if the agent died: keep running */
    (void)w;
    close(sync_fd);
    finish(a, pump(fds, sigfd, r.pid));
    _exit(0);
fail:
    reply_fail(sync_fd, &r, "", "");
    cleanup_crun(a);
    _exit(1);
}

void rt_shim_fork_once(const struct rt_shim_args *a, int sync_w)
{
    if (fork() == 0) {
        setsid();
        shim_main(a, sync_w);
    }
}

void rt_shim_fork(const struct rt_shim_args *a, int sync_w)
{
    pid_t c1 = fork();
    if (c1 == 0) {
        setsid();
        pid_t c2 = fork();
        if (c2 != 0) _exit(c2 < 0);
        shim_main(a, sync_w);
    }
    while (c1 > 0 && waitpid(c1, NULL, 0) < 0 && errno == EINTR) {}
}

int rt_shim_spawn(const sk_rt *rt, const struct rt_shim_args *a, struct rt_shim_reply *reply, sk_err *err)
{
    int sp[2];
    if (pipe2(sp, O_CLOEXEC) < 0) return sk_err_sys(err, "pipe");
    if (rt_zygote_fork_shim(rt, a, sp[1]) < 0) rt_shim_fork(a, sp[1]);
    close(sp[1]);
    *reply = (struct rt_shim_reply){0};
    size_t got = 0;
    while (got < sizeof *reply && rt_wait_readable(sp[0], SHIM_REPLY_TIMEOUT_MS)) {
        ssize_t n = read(sp[0], (char *)reply + got, sizeof *reply - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(sp[0]);
    if (got != sizeof *reply) return sk_err_set(err, SK_EINTERNAL, "container %s: shim died before reporting", a->id);
    reply->msg[sizeof reply->msg - 1] = 0;
    if (!reply->ok) return sk_err_set(err, SK_EINTERNAL, "%s", reply->msg);
    return 0;
}
