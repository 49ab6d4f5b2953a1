/* Processes inside running containers, through `crun exec`, which joins the
 * container's namespaces, cgroup, capabilities and seccomp and inherits its
 * env and user, then waits and exits with the process's status. crun's own
 * errors (e.g. executable not found, status 255) arrive on its stderr,
 * which is the process's stderr pipe, or a separate pipe with a tty.
 * With a tty, crun sends the pty master over a unix socket given by a short
 * relative path (crun runs in ROOT/sock) so sun_path's 108 bytes suffice. */
#include "runtime/runtime_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>

#define RT_EXEC_ARGS_MAX 4096
#define RT_EXEC_CONSOLE_TIMEOUT_MS 30000

extern char **environ;

struct sk_rt_exec {
    pid_t pid; /* crun exec */
    int pidfd;
    int fds[3];
    bool tty, reaped;
    int status;
    char *pidfile;  /* the exec'd process's pid, written by crun */
    char *procfile; /* its OCI process spec */
};

static int take_fd(int *fd)
{
    int f = *fd;
    *fd = -1;
    return f;
}

static bool same_name(const char *a, const char *b)
{
    size_t n = strcspn(a, "=");
    return !strncmp(a, b, n) && b[n] == '=';
}

/* The container's process spec (user, capabilities, env, ...) with the
 * exec's args, terminal and size, extra env replacing same names, like
 * containerd builds exec processes. crun's --env would replace the whole
 * environment, and only a process file carries the initial console size
 * (set before the process starts, so its first TIOCGWINSZ is right). */
static json_t *exec_process(const sk_rt *rt, const char *id, const struct sk_rt_exec_config *c, sk_err *err)
{
    _sk_free_ char *path = rt_path(rt, "containers", id, "config.json");
    _sk_json_ json_t *oci = rt_json_load(path, err);
    json_t *base = oci ? json_object_get(oci, "process") : NULL;
    if (!json_is_object(base)) {
        if (oci) sk_err_set(err, SK_EINTERNAL, "container %s: config.json has no process", id);
        return NULL;
    }
    json_t *p = json_deep_copy(base), *env = json_array(), *args = json_array();
    json_t *old = json_object_get(base, "env");
    for (size_t i = 0; i < json_array_size(old); i++) {
        const char *kv = json_string_value(json_array_get(old, i));
        bool replaced = false;
        for (size_t j = 0; kv && j < c->n_env && !replaced; j++) replaced = same_name(c->env[j], kv);
        if (kv && !replaced) json_array_append_new(env, json_string(kv));
    }
    for (size_t j = 0; j < c->n_env; j++) json_array_append_new(env, json_string(c->env[j]));
    for (size_t i = 0; i < c->n_args; i++) json_array_append_new(args, json_string(c->args[i]));
    json_object_set_new(p, "env", env);
    json_object_set_new(p, "args", args);
    json_object_set_new(p, "terminal", json_boolean(c->tty));
    json_object_del(p, "consoleSize");
    if (c->tty && c->rows && c->cols)
        json_object_set_new(p, "consoleSize", json_pack("{s:i, s:i}", "height", c->rows, "width", c->cols));
    if (c->cwd) json_object_set_new(p, "cwd", json_string(c->cwd));
    return p;
}

static char **build_argv(const sk_rt *rt, const char *id, const struct sk_rt_exec_config *c,
                         const char *sock, const char *pidfile, const char *procfile)
{
    size_t n = 0;
    char **v = sk_calloc(16, sizeof *v);
    const char *head[] = {rt->crun, "--root", rt->crun_root, "exec", "--pid-file", pidfile, "--process", procfile};
    for (size_t i = 0; i < SK_ARRAY_LEN(head); i++) v[n++] = sk_strdup(head[i]);
    if (c->tty) v[n++] = sk_printf("--console-socket=%s", sock);
    v[n++] = sk_strdup(id);
    return v;
}

static void free_argv(char **v)
{
    for (size_t i = 0; v && v[i]; i++) free(v[i]);
    free(v);
}

static int check(sk_rt *rt, const char *id, const struct sk_rt_exec_config *c, sk_err *err)
{
    if (!c || c->n_args == 0 || !c->args || !c->args[0] || !c->args[0][0])
        return sk_err_set(err, SK_EINVALID, "exec: no command");
    if (c->n_args > RT_EXEC_ARGS_MAX || c->n_env > RT_EXEC_ARGS_MAX) return sk_err_set(err, SK_EINVALID, "exec: too many args");
    for (size_t i = 0; i < c->n_args; i++)
        if (!c->args[i]) return sk_err_set(err, SK_EINVALID, "exec: NULL argument");
    for (size_t i = 0; i < c->n_env; i++)
        if (!c->env[i] || !strchr(c->env[i], '=') || c->env[i][0] == '=')
            return sk_err_set(err, SK_EINVALID, "exec: env must be NAME=value");
    if (c->cwd && c->cwd[0] != '/') return sk_err_set(err, SK_EINVALID, "exec: cwd must be absolute");
    struct sk_rt_status st;
    if (sk_rt_container_status(rt, id, &st, err) < 0) return -1;
    enum sk_rt_state s = st.state;
    sk_rt_status_release(&st);
    if (s != SK_RT_RUNNING) return sk_err_set(err, SK_ECONFLICT, "container %s is not running", id);
    return 0;
}

/* Waits for crun to connect to the console socket, or to die trying. */
static int recv_master(sk_rt_exec *e, int lsock, sk_err *err)
{
    struct pollfd p[2] = {{lsock, POLLIN, 0}, {e->pidfd, POLLIN, 0}};
    int rc;
    while ((rc = poll(p, 2, RT_EXEC_CONSOLE_TIMEOUT_MS)) < 0 && errno == EINTR) {}
    if (rc <= 0 || !(p[0].revents & POLLIN)) {
        char msg[512] = "";
        ssize_t n = e->fds[2] >= 0 ? read(e->fds[2], msg, sizeof msg - 1) : 0;
        msg[n > 0 ? n : 0] = 0;
        return sk_err_set(err, SK_EINTERNAL, "exec: crun gave no terminal: %s", msg[0] ? msg : "timeout");
    }
    int m = rt_recv_fd(lsock, 1000);
    if (m < 0) return sk_err_sys(err, "exec: receive the terminal");
    e->fds[0] = m;
    e->fds[1] = fcntl(m, F_DUPFD_CLOEXEC, 3);
    return 0;
}

static int spawn(sk_rt_exec *e, const char *exe, char **argv, const char *sockdir, int in, int out, int errfd,
                 sk_err *err)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addchdir_np(&fa, sockdir);
    if (in >= 0) posix_spawn_file_actions_adddup2(&fa, in, 0);
    else posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (out >= 0) posix_spawn_file_actions_adddup2(&fa, out, 1);
    else posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, errfd, 2);
    rt_spawn_attr_init(&attr);
    int rc = posix_spawn(&e->pid, exe, &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc) {
        errno = rc;
        return sk_err_sys(err, "exec: spawn crun");
    }
    e->pidfd = rt_pidfd_open(e->pid);
    return 0;
}

static int console_socket(const char *path, sk_err *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) return sk_err_set(err, SK_EINTERNAL, "socket path too long: %s", path);
    memcpy(sa.sun_path, path, strlen(path));
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(s, 1) < 0) {
        if (s >= 0) close(s);
        return sk_err_sys(err, "exec: console socket %s", path);
    }
    return s;
}

static int start(sk_rt *rt, sk_rt_exec *e, const char *id, const struct sk_rt_exec_config *c, sk_err *err)
{
    char rnd[17];
    sk_rand_suffix(rnd, sizeof rnd);
    _sk_free_ char *sockdir = sk_printf("%s/sock", rt->state);
    _sk_free_ char *sockname = sk_printf("%s.sock", rnd);
    _sk_free_ char *sockpath = sk_printf("%s/%s", sockdir, sockname);
    e->pidfile = sk_printf("%s/%s.pid", sockdir, rnd);
    e->procfile = sk_printf("%s/%s.json", sockdir, rnd);
    _sk_json_ json_t *proc = exec_process(rt, id, c, err);
    if (!proc || rt_json_save(e->procfile, proc, err) < 0) return -1;
    int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1}, lsock = -1, rc = -1;
    if ((c->stdin_open && !c->tty && pipe2(in, O_CLOEXEC) < 0) || (!c->tty && pipe2(out, O_CLOEXEC) < 0) ||
        pipe2(er, O_CLOEXEC) < 0) {
        sk_err_sys(err, "exec: pipe");
        goto out;
    }
    /* The chdir happens in the child: the socket path is relative to ROOT/sock. */
    if (c->tty && (lsock = console_socket(sockpath, err)) < 0) goto out;
    char **argv = build_argv(rt, id, c, sockname, e->pidfile, e->procfile);
    rc = spawn(e, rt->crun_exe, argv, sockdir, in[0], out[1], er[1], err);
    free_argv(argv);
    if (rc < 0) goto out;
    close(take_fd(&in[0])); /* the child's ends: crun's death must read as EOF */
    close(take_fd(&out[1]));
    close(take_fd(&er[1]));
    e->fds[0] = take_fd(&in[1]);
    e->fds[1] = take_fd(&out[0]);
    e->fds[2] = take_fd(&er[0]);
    if (c->tty && (rc = recv_master(e, lsock, err)) < 0) goto out;
out:;
    int all[] = {in[0], in[1], out[0], out[1], er[0], er[1], lsock};
    for (size_t i = 0; i < SK_ARRAY_LEN(all); i++)
        if (all[i] >= 0) close(all[i]);
    if (lsock >= 0) unlink(sockpath);
    return rc;
}

sk_rt_exec *sk_rt_exec_start(sk_rt *rt, const char *id, const struct sk_rt_exec_config *cfg, sk_err *err)
{
    if (check(rt, id, cfg, err) < 0) return NULL;
    sk_rt_exec *e = sk_calloc(1, sizeof *e);
    *e = (sk_rt_exec){.pid = -1, .pidfd = -1, .fds = {-1, -1, -1}, .tty = cfg->tty};
    if (start(rt, e, id, cfg, err) < 0) {
        sk_rt_exec_free(e);
        return NULL;
    }
    for (int i = 0; i < 3; i++)
        if (e->fds[i] >= 0) fcntl(e->fds[i], F_SETFL, fcntl(e->fds[i], F_GETFL) | O_NONBLOCK);
    return e;
}

int sk_rt_exec_fd(const sk_rt_exec *e, int which)
{
    return which >= 0 && which < 3 ? e->fds[which] : -1;
}

int sk_rt_exec_pidfd(const sk_rt_exec *e)
{
    return e->pidfd;
}

void sk_rt_exec_close_stdin(sk_rt_exec *e)
{
    if (e->tty && e->fds[0] >= 0) {
        ssize_t w = write(e->fds[0], "\x04", 1); /* VEOF at the start of a line */
        (void)w;
        return;
    }
    if (e->fds[0] >= 0) close(e->fds[0]);
    e->fds[0] = -1;
}

int sk_rt_exec_resize(sk_rt_exec *e, unsigned short rows, unsigned short cols, sk_err *err)
{
    if (!e->tty) return sk_err_set(err, SK_EBADREQUEST, "exec has no terminal");
    struct winsize ws = {.ws_row = rows, .ws_col = cols};
    if (ioctl(e->fds[1], TIOCSWINSZ, &ws) < 0) return sk_err_sys(err, "resize terminal");
    return 0;
}

int sk_rt_exec_wait(sk_rt_exec *e, int timeout_ms, int *exit_code, sk_err *err)
{
    if (!e->reaped) {
        if (e->pidfd >= 0 && !rt_wait_readable(e->pidfd, timeout_ms))
            return sk_err_set(err, SK_ETIMEOUT, "exec still running after %d ms", timeout_ms);
        int st;
        while (waitpid(e->pid, &st, 0) < 0)
            if (errno != EINTR) return sk_err_sys(err, "wait for crun exec");
        e->reaped = true;
        e->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    *exit_code = e->status;
    return 0;
}

int sk_rt_exec_kill(sk_rt_exec *e, int sig, sk_err *err)
{
    if (e->reaped) return 0;
    sk_err ignore = SK_ERR_INIT;
    _sk_free_ char *text = sk_read_file(e->pidfile, NULL, &ignore);
    sk_err_clear(&ignore);
    char *end = NULL;
    long pid = text ? strtol(text, &end, 10) : 0;
    /* Before crun wrote the pid file the process does not exist yet: stop crun. */
    if (pid > 0 && end != text) {
        if (kill((pid_t)pid, sig) < 0 && errno != ESRCH) return sk_err_sys(err, "signal exec process %ld", pid);
    } else if (rt_pidfd_signal(e->pidfd, sig) < 0 && errno != ESRCH) {
        return sk_err_sys(err, "signal crun exec");
    }
    return 0;
}

void sk_rt_exec_free(sk_rt_exec *e)
{
    if (!e) return;
    if (e->pid > 0 && !e->reaped) {
        sk_err ignore = SK_ERR_INIT;
        int code;
        if (sk_rt_exec_kill(e, SIGKILL, &ignore) < 0 || sk_rt_exec_wait(e, 2000, &code, &ignore) < 0) {
            rt_pidfd_signal(e->pidfd, SIGKILL);
            while (waitpid(e->pid, NULL, 0) < 0 && errno == EINTR) {}
        }
        sk_err_clear(&ignore);
    }
    for (int i = 0; i < 3; i++)
        if (e->fds[i] >= 0) close(e->fds[i]);
    if (e->pidfd >= 0) close(e->pidfd);
    if (e->pidfile) unlink(e->pidfile);
    if (e->procfile) unlink(e->procfile);
    free(e->pidfile);
    free(e->procfile);
    free(e);
}
