/* Running short-lived helper processes (crun start/delete/kill/--version).
 * posix_spawn (vfork-like, safe in a threaded agent) with every signal
 * reset to default and unblocked, since the agent may ignore SIGPIPE or
 * block signals for a signalfd and children would inherit that. */
#include "runtime/runtime_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>

#define RT_OUTPUT_MAX (64 * 1024)

extern char **environ;

void rt_spawn_attr_init(posix_spawnattr_t *attr)
{
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_init(attr);
    posix_spawnattr_setsigmask(attr, &none);
    posix_spawnattr_setsigdefault(attr, &all);
    posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
}

static void drain(int fd, sk_buf *out)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        if (out && out->len < RT_OUTPUT_MAX) sk_buf_add(out, buf, (size_t)n);
    }
}

/* Reads output until the child exits or the deadline passes. The pipe may
 * never see EOF (a container inherits crun's stdio), so the child's exit,
 * not EOF, ends the wait. Returns 0, or -1 on timeout. */
static int collect(int rfd, int pidfd, int timeout_ms, sk_buf *out)
{
    int64_t deadline = sk_now_ms() + timeout_ms;
    bool eof = false;
    for (;;) {
        struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN}, {.fd = eof ? -1 : rfd, .events = POLLIN}};
        int left = (int)(deadline - sk_now_ms());
        if (left <= 0) return -1;
        int rc = poll(p, 2, left);
        if (rc < 0 && errno != EINTR) return -1;
        if (rc <= 0) continue;
        if (p[1].revents) {
            char buf[4096];
            ssize_t n = read(rfd, buf, sizeof buf);
            if (n > 0 && out && out->len < RT_OUTPUT_MAX) sk_buf_add(out, buf, (size_t)n);
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) eof = true;
        }
        if (p[0].revents) {
            drain(rfd, out);
            return 0;
        }
    }
}

int rt_run(const char *path, const char *const *argv, int timeout_ms, sk_buf *out, sk_err *err)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) < 0) return sk_err_sys(err, "pipe");
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
    rt_spawn_attr_init(&attr);
    pid_t pid;
    int rc = posix_spawn(&pid, path, &fa, &attr, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(pfd[1]);
    if (rc != 0) {
        close(pfd[0]);
        errno = rc;
        return sk_err_sys(err, "spawn %s", argv[0]);
    }
    int pidfd = rt_pidfd_open(pid);
    bool timed_out = pidfd >= 0 && collect(pfd[0], pidfd, timeout_ms, out) < 0;
    if (timed_out) rt_pidfd_signal(pidfd, SIGKILL);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    if (pidfd < 0) drain(pfd[0], out); /* no pidfd: the exit was awaited above */
    if (pidfd >= 0) close(pidfd);
    close(pfd[0]);
    if (timed_out)
        return sk_err_set(err, SK_ETIMEOUT, "%s: no exit after %d ms, killed", argv[0], timeout_ms);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void trim(sk_buf *b)
{
    while (b->len && (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == ' ')) b->data[--b->len] = 0;
}

int rt_crun(const sk_rt *rt, int timeout_ms, sk_err *err, ...)
{
    const char *argv[16] = {rt->crun, "--root", rt->crun_root};
    size_t n = 3;
    va_list ap;
    va_start(ap, err);
    for (const char *a; (a = va_arg(ap, const char *)) && n < SK_ARRAY_LEN(argv) - 1;) argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    sk_buf out = SK_BUF_INIT;
    int st = rt_run(rt->crun_exe, argv, timeout_ms, &out, err);
    if (st > 0) {
        trim(&out);
        sk_err_set(err, SK_EINTERNAL, "crun %s: exit %d: %s", argv[3], st, out.len ? out.data : "");
    }
    sk_buf_release(&out);
    return st;
}
