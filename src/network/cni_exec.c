/* Running one CNI plugin: fork, enter the node netns, exec with a clean
 * environment, feed the config on stdin, collect stdout/stderr under caps and
 * a deadline. The child only makes system calls between fork and exec
 * (everything it needs is built before fork), so this is safe in a threaded
 * agent. */
#include "network/cni_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

struct child_io {
    int in;  /* our end of the stdin socket */
    int out; /* read end of stdout */
    int err; /* read end of stderr */
};

static void close_fd(int *fd)
{
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

/* Child side: only async-signal-safe calls. Moves the three ends above 2
 * first so dup2 cannot clobber one of them when the agent runs with a closed
 * standard fd. */
static void child_exec(int netns_fd, int fds[3], const char *path, char *const argv[],
                       char *const envp[])
{
    if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) < 0) _exit(126);
    int hi[3];
    for (int i = 0; i < 3; i++)
        if ((hi[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)) < 0) _exit(126);
    for (int i = 0; i < 3; i++)
        if (dup2(hi[i], i) < 0) _exit(126);
    close_range(3, ~0u, 0);
    /* Handlers first, then the mask: the parent blocked every signal
     * around the clone, so none can run a handler in shared memory. */
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int s = 1; s < 32; s++)
        if (s != SIGKILL && s != SIGSTOP) sigaction(s, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(path, argv, envp);
    _exit(127);
}

struct child_args {
    int netns_fd;
    int *fds;
    const char *path;
    char *const *argv, *const *envp;
};

static int child_main(void *arg)
{
    struct child_args *a = arg;
    child_exec(a->netns_fd, a->fds, a->path, a->argv, a->envp);
    return 127;
}

/* fork() of a large, many-threaded agent copies its page tables; a
 * vfork-style child sharing the memory (CLONE_VM | CLONE_VFORK) only runs
 * async-signal-safe calls on its own stack until execve, like posix_spawn,
 * which cannot setns(). */
static pid_t spawn_child(struct child_args *a)
{
    enum { STACK = 64 * 1024 };
    void *stack = mmap(NULL, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                       -1, 0);
    if (stack == MAP_FAILED) return -1;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = clone(child_main, (char *)stack + STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, a);
    int e = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    munmap(stack, STACK);
    errno = e;
    return pid;
}

static int spawn(const struct sk_cni_call *c, const char *path, struct child_io *io,
                 pid_t *pid, sk_err *err)
{
    _sk_free_ char *e_cmd = sk_printf("CNI_COMMAND=%s", c->command);
    _sk_free_ char *e_id = sk_printf("CNI_CONTAINERID=%s", c->container_id ? c->container_id : "");
    _sk_free_ char *e_ns = sk_printf("CNI_NETNS=%s", c->netns ? c->netns : "");
    _sk_free_ char *e_if = sk_printf("CNI_IFNAME=%s", c->ifname ? c->ifname : "");
    _sk_free_ char *e_path = sk_printf("CNI_PATH=%s", c->plugin_dir);
    _sk_free_ char *e_args = sk_printf("CNI_ARGS=%s", c->args ? c->args : "");
    /* portmap runs iptables; Go's exec looks it up in PATH. */
    char *envp[] = {e_cmd, e_id, e_ns, e_if, e_path, e_args,
                    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    char *argv[] = {(char *)path, NULL};

    int sv[2] = {-1, -1}, po[2] = {-1, -1}, pe[2] = {-1, -1};
    /* A socket for stdin so a plugin exiting early yields EPIPE to send(),
     * not SIGPIPE to the agent. */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 || pipe2(po, O_CLOEXEC) < 0 ||
        pipe2(pe, O_CLOEXEC) < 0) {
        sk_err_sys(err, "cni %s: pipes", c->type);
        goto fail;
    }
    shutdown(sv[1], SHUT_WR);
    int child_fds[3] = {sv[1], po[1], pe[1]};
    struct child_args ca = {c->netns_fd, child_fds, path, argv, envp};
    *pid = spawn_child(&ca);
    if (*pid < 0) {
        sk_err_sys(err, "cni %s: spawn", c->type);
        goto fail;
    }
    close_fd(&sv[1]);
    close_fd(&po[1]);
    close_fd(&pe[1]);
    io->in = sv[0];
    io->out = po[0];
    io->err = pe[0];
    fcntl(io->in, F_SETFL, O_NONBLOCK);
    fcntl(io->out, F_SETFL, O_NONBLOCK);
    fcntl(io->err, F_SETFL, O_NONBLOCK);
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        close_fd(&sv[i]);
        close_fd(&po[i]);
        close_fd(&pe[i]);
    }
    return -1;
}

/* Reads what is there into b; returns 1 at EOF, 0 otherwise. Beyond cap the
 * bytes are counted but dropped so the child never blocks on a full pipe. */
static int drain(int fd, sk_buf *b, size_t cap, size_t *total)
{
    char chunk[16384];
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return errno == EAGAIN ? 0 : 1;
        if (r == 0) return 1;
        *total += (size_t)r;
        if (b->len < cap) sk_buf_add(b, chunk, (size_t)r < cap - b->len ? (size_t)r : cap - b->len);
    }
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Releasing an exited plugin (the kernel's release_task and its walk of
 * the /proc dentry cache) cost about 1.3 ms of a pod worker's CPU per pod
 * when 100 pods start at once, 25 times what it costs on an idle node, and
 * nothing waits on it. So reap() reads the status with WNOWAIT and hands
 * the zombie to one thread at nice 19, which releases it when the CPUs have
 * time. The thread starts with the first plugin call: after the runtime
 * has set up its mount namespace, which needs a single-threaded process. */
static pthread_mutex_t zlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t zcond = PTHREAD_COND_INITIALIZER;
static pid_t *zombies;
static size_t nzombies, capzombies;
static bool zreaper_up;

static void *zreaper_main(void *arg)
{
    (void)arg;
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
    pthread_mutex_lock(&zlock);
    for (;;) {
        while (nzombies == 0) pthread_cond_wait(&zcond, &zlock);
        pid_t pid = zombies[--nzombies];
        pthread_mutex_unlock(&zlock);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
        pthread_mutex_lock(&zlock);
    }
    return NULL;
}

/* Returns false when the zombie could not be handed over (then the caller
 * reaps it itself). */
static bool defer_reap(pid_t pid)
{
    bool ok = false;
    pthread_mutex_lock(&zlock);
    if (!zreaper_up) {
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&at, 64 * 1024);
        zreaper_up = pthread_create(&t, &at, zreaper_main, NULL) == 0;
        pthread_attr_destroy(&at);
    }
    if (zreaper_up && nzombies == capzombies) {
        size_t cap = capzombies ? capzombies * 2 : 64;
        pid_t *z = realloc(zombies, cap * sizeof *z);
        if (z) zombies = z, capzombies = cap;
    }
    if (zreaper_up && nzombies < capzombies) {
        zombies[nzombies++] = pid;
        pthread_cond_signal(&zcond);
        ok = true;
    }
    pthread_mutex_unlock(&zlock);
    return ok;
}

/* The wait status waitid() reports, as waitpid() would have. */
static int wait_status(const siginfo_t *si)
{
    if (si->si_code == CLD_EXITED) return (si->si_status & 0xff) << 8;
    return (si->si_status & 0x7f) | (si->si_code == CLD_DUMPED ? 0x80 : 0);
}

/* Waits for the child until the deadline; kills it past that. Returns the
 * wait status, or -1 on timeout. The status is read without reaping; the
 * zombie goes to the reaper thread. */
static int reap(pid_t pid, int64_t deadline)
{
    int st;
    for (;;) {
        siginfo_t si = {0};
        int r = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT);
        if (r < 0 && errno == ECHILD) return 0; /* reaped elsewhere: assume success */
        if (r == 0 && si.si_pid == pid) {
            st = wait_status(&si);
            if (!defer_reap(pid))
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
                }
            return st;
        }
        if (sk_now_ms() >= deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
            }
            return -1;
        }
        sleep_ms(1);
    }
}

/* Feeds stdin and collects output until both pipes close or time runs out.
 * Returns 0, or -1 on timeout / overflow (reason in *why). */
static int pump(const struct sk_cni_call *c, struct child_io *io, int64_t deadline, sk_buf *out,
                sk_buf *errb, const char **why)
{
    size_t sent = 0, out_total = 0, err_total = 0;
    bool out_eof = false, err_eof = false;
    if (c->conf_len == 0) close_fd(&io->in);
    while (!out_eof || !err_eof) {
        struct pollfd p[3] = {{out_eof ? -1 : io->out, POLLIN, 0},
                              {err_eof ? -1 : io->err, POLLIN, 0},
                              {io->in, POLLOUT, 0}};
        int left = (int)(deadline - sk_now_ms());
        if (left <= 0) return *why = "timed out", -1;
        if (poll(p, io->in >= 0 ? 3 : 2, left) < 0 && errno != EINTR) return *why = "poll failed", -1;
        if (!out_eof && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
            out_eof = drain(io->out, out, SK_CNI_MAX_STDOUT, &out_total);
        if (!err_eof && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
            err_eof = drain(io->err, errb, SK_CNI_MAX_STDERR, &err_total);
        if (out_total > SK_CNI_MAX_STDOUT) return *why = "output too large", -1;
        if (io->in >= 0 && (p[2].revents & (POLLOUT | POLLHUP | POLLERR))) {
            ssize_t w = send(io->in, c->conf + sent, c->conf_len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0) sent += (size_t)w;
            /* EPIPE: the plugin quit without reading; its exit says why. */
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || sent == c->conf_len) close_fd(&io->in);
        }
    }
    return 0;
}

int sk_cni_exec(const struct sk_cni_call *c, json_t **result, sk_err *err)
{
    *result = NULL;
    if (!c->type || !*c->type || strchr(c->type, '/') || c->type[0] == '.')
        return sk_err_set(err, SK_EINVALID, "invalid cni plugin type \"%s\"", c->type ? c->type : "");
    _sk_free_ char *path = sk_printf("%s/%s", c->plugin_dir, c->type);
    if (access(path, X_OK) < 0)
        return sk_err_set(err, SK_ENOTFOUND, "cni plugin \"%s\" not found in %s", c->type, c->plugin_dir);
    int timeout = c->timeout_ms > 0 ? c->timeout_ms : 30000;
    int64_t deadline = sk_now_ms() + timeout;
    struct child_io io = {-1, -1, -1};
    pid_t pid;
    if (spawn(c, path, &io, &pid, err) < 0) return -1;

    sk_buf out = SK_BUF_INIT, errb = SK_BUF_INIT;
    const char *why = NULL;
    int rc = pump(c, &io, deadline, &out, &errb, &why);
    close_fd(&io.in);
    close_fd(&io.out);
    close_fd(&io.err);
    int st = reap(pid, rc < 0 ? 0 : deadline); /* deadline 0: kill at once */
    if (rc < 0 || st < 0) {
        bool late = !why || !strcmp(why, "timed out");
        rc = sk_err_set(err, late ? SK_ETIMEOUT : SK_EINTERNAL, "cni %s %s: %s (limit %d ms)",
                        c->type, c->command, why ? why : "timed out", timeout);
    } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        rc = sk_cni_plugin_error(c->type, c->command, st, out.data, out.len, errb.data, err);
    } else if (out.len > 0) {
        json_error_t je;
        *result = json_loadb(out.data, out.len, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(*result)) {
            json_decref(*result);
            *result = NULL;
            rc = sk_err_set(err, SK_EINTERNAL, "cni %s %s: invalid result: %s", c->type, c->command,
                            je.text[0] ? je.text : "not an object");
        }
    }
    sk_buf_release(&out);
    sk_buf_release(&errb);
    return rc;
}

/* Plugin error codes from the spec; 11 means "try again later". */
int sk_cni_plugin_error(const char *type, const char *command, int status, const char *out,
                        size_t out_len, const char *errout, sk_err *err)
{
    json_error_t je;
    _sk_json_ json_t *j = out && out_len ? json_loadb(out, out_len, 0, &je) : NULL;
    json_t *code = json_is_object(j) ? json_object_get(j, "code") : NULL;
    const char *msg = sk_json_str(j, "msg");
    const char *details = sk_json_str(j, "details");
    if (json_is_integer(code) || msg) {
        long long n = json_is_integer(code) ? json_integer_value(code) : 0;
        enum sk_code kc = n == 11 ? SK_EUNAVAILABLE : SK_EINTERNAL;
        return sk_err_set(err, kc, "cni %s %s failed: %s%s%s (code %lld)", type, command,
                          msg ? msg : "(no message)", details && *details ? ": " : "",
                          details ? details : "", n);
    }
    char how[48];
    if (WIFEXITED(status)) snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) snprintf(how, sizeof how, "killed by signal %d", WTERMSIG(status));
    else snprintf(how, sizeof how, "status 0x%x", (unsigned)status);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 126)
        snprintf(how, sizeof how, "could not enter the node netns");
    /* The tail of stderr is where Go panics and shell errors end up. */
    size_t elen = errout ? strlen(errout) : 0;
    while (elen && (errout[elen - 1] == '\n' || errout[elen - 1] == ' ')) elen--;
    size_t from = elen > 300 ? elen - 300 : 0;
    return sk_err_set(err, SK_EINTERNAL, "cni %s %s failed: %s%s%.*s", type, command, how,
                      elen ? ": " : "", (int)(elen - from), elen ? errout + from : "");
}
