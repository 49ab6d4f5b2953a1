/* exec and attach over WebSocket, the channel.k8s.io protocols v5 and v4:
 * every binary message starts with a channel byte: 0 stdin (client to
 * server), 1 stdout, 2 stderr, 3 the final Status (JSON), 4 terminal
 * resize {"Width","Height"}, 255 (v5 only) "close channel", whose payload
 * byte 0 means stdin EOF. After the Status we close with 1000.
 *
 * exec runs the command with sk_rt_exec (a pty when tty) and pumps its fds
 * against the socket with poll() on the session thread.
 *
 * attach is partial: the runtime cannot reach a container's main process's
 * stdio (its stdin is /dev/null, its output goes to the shim's log), so
 * attach streams the container's log from now on (stdout lines on channel
 * 1, stderr on 2), ignores stdin and resize, and sends the container's exit
 * status when it stops.
 *
 * SPDY (the pre-1.30 kubectl transport, and its fallback after a failed
 * WebSocket upgrade) is not supported: such requests get a 400 Status. */
#include "kubelet/server_int.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MAX_ARGS 1024
#define MAX_ARGS_BYTES (256 << 10)
#define OUT_CHUNK (32 << 10)
#define WS_HIGH_WATER (1 << 20)  /* stop reading output while this much is queued */
#define STDIN_HIGH_WATER (1 << 20)
#define DRAIN_QUIET_MS 200       /* after the exit, output silent this long = done */
#define DRAIN_MAX_MS 5000        /* background processes may hold the pipes forever */
#define ALIVE_MS 1000

static const char *const ws_protocols[] = {"v5.channel.k8s.io", "v4.channel.k8s.io"};

struct stream_ctx {
    sk_kl_server *srv;
    bool attach, in, out, err, tty, v5;
    char **args;
    size_t nargs;
    char ns[256], pod[256], ctr[256], cid[80];
    char log_path[PATH_MAX];
    /* running state */
    struct kl_ws w;
    sk_rt_exec *e;
    sk_buf stdin_buf;
    size_t stdin_off;
    bool stdin_eof, stdin_closed;
};

static void ctx_free(void *p)
{
    struct stream_ctx *c = p;
    if (!c) return;
    for (size_t i = 0; i < c->nargs; i++) free(c->args[i]);
    free(c->args);
    sk_buf_release(&c->stdin_buf);
    free(c);
}

/* ---- the Status on channel 3 ---------------------------------------------------------- */

static void send_status(struct stream_ctx *c, int exit_code, const char *failure)
{
    json_t *st = json_pack("{s:{},s:s}", "metadata", "status",
                           exit_code == 0 && !failure ? "Success" : "Failure");
    if (failure) {
        json_object_set_new(st, "message", json_string(failure));
    } else if (exit_code != 0) {
        char msg[64], num[16];
        snprintf(num, sizeof num, "%d", exit_code);
        snprintf(msg, sizeof msg, "command terminated with non-zero exit code: exit status %d", exit_code);
        json_object_set_new(st, "message", json_string(msg));
        json_object_set_new(st, "reason", json_string("NonZeroExitCode"));
        json_object_set_new(st, "details", json_pack("{s:[{s:s,s:s}]}", "causes", "reason",
                                                     "ExitCode", "message", num));
    }
    char *s = json_dumps(st, JSON_COMPACT);
    json_decref(st);
    if (s) kl_ws_send(&c->w, 3, s, strlen(s));
    free(s);
    kl_ws_close(&c->w, 1000);
    kl_ws_drain(&c->w, 2000);
}

/* ---- client messages ------------------------------------------------------------------- */

/* EPIPE on a pipe raised SIGPIPE, blocked on session threads: collect it. */
static void sigpipe_clear(void)
{
    sigset_t set;
    struct timespec zero = {0, 0};
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    while (sigtimedwait(&set, NULL, &zero) > 0) {}
}

static void flush_stdin(struct stream_ctx *c)
{
    int fd = c->e && !c->stdin_closed ? sk_rt_exec_fd(c->e, 0) : -1;
    while (fd >= 0 && c->stdin_off < c->stdin_buf.len) {
        ssize_t n = write(fd, c->stdin_buf.data + c->stdin_off, c->stdin_buf.len - c->stdin_off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n < 0) { /* the process closed its stdin: drop the rest */
            if (errno == EPIPE) sigpipe_clear();
            c->stdin_closed = true;
            break;
        }
        c->stdin_off += (size_t)n;
    }
    c->stdin_buf.len = c->stdin_off = 0;
    if (c->stdin_eof && !c->stdin_closed && c->e) {
        sk_rt_exec_close_stdin(c->e);
        c->stdin_closed = true;
    }
}

static void resize(struct stream_ctx *c, const uint8_t *p, size_t n)
{
    if (!c->tty || !c->e || n > 1024) return;
    json_error_t je;
    json_t *j = json_loadb((const char *)p, n, 0, &je);
    json_int_t wd = json_integer_value(json_object_get(j, "Width"));
    json_int_t ht = json_integer_value(json_object_get(j, "Height"));
    json_decref(j);
    if (wd <= 0 || ht <= 0 || wd > 65535 || ht > 65535) return;
    sk_err err = SK_ERR_INIT;
    if (sk_rt_exec_resize(c->e, (unsigned short)ht, (unsigned short)wd, &err) < 0)
        sk_log(SK_DEBUG, "kubelet", "exec resize: %s", err.msg);
}

static void on_msg(void *ud, const uint8_t *p, size_t n)
{
    struct stream_ctx *c = ud;
    if (n == 0 || c->attach) return;
    switch (p[0]) {
    case 0:
        if (!c->in || c->stdin_closed || c->stdin_eof || n == 1) return;
        sk_buf_add(&c->stdin_buf, p + 1, n - 1);
        flush_stdin(c);
        break;
    case 4:
        resize(c, p + 1, n - 1);
        break;
    case 255:
        if (c->v5 && n >= 2 && p[1] == 0 && c->in) {
            c->stdin_eof = true;
            flush_stdin(c);
        }
        break;
    default:
        break;
    }
}

/* ---- exec -------------------------------------------------------------------------------- */

struct pump {
    int fd;
    uint8_t channel; /* 0 = discard */
};

/* Reads one chunk of fd to its channel; false at EOF (EIO for a pty whose
 * last slave closed) or error. */
static bool pump_out(struct stream_ctx *c, struct pump *pp, char *buf)
{
    ssize_t n;
    while ((n = read(pp->fd, buf, OUT_CHUNK)) < 0 && errno == EINTR) {}
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (n <= 0) return false;
    if (pp->channel) kl_ws_send(&c->w, pp->channel, buf, (size_t)n);
    return true;
}

/* Runs until the process exits and its output is drained (true), or the
 * client or the server goes away (false). */
static bool exec_loop(struct kl_session *s, struct stream_ctx *c)
{
    struct pump out[2] = {{sk_rt_exec_fd(c->e, 1), c->out ? 1 : 0},
                          /* with a tty, fd 2 only carries crun's own errors: show them */
                          {sk_rt_exec_fd(c->e, 2), c->tty ? (c->out ? 1 : 0) : (c->err ? 2 : 0)}};
    int pidfd = sk_rt_exec_pidfd(c->e);
    int64_t exit_ms = 0, last_out_ms = 0;
    char *buf = sk_malloc(OUT_CHUNK);
    bool done = false;
    while (!s->task.stop) {
        struct pollfd p[5];
        int np = 0, iws = -1, iout[2] = {-1, -1}, iin = -1, ipid = -1;
        short wev = kl_ws_events(&c->w);
        if (c->stdin_buf.len > STDIN_HIGH_WATER) wev &= (short)~POLLIN;
        p[iws = np++] = (struct pollfd){c->w.fd, wev, 0};
        for (int i = 0; i < 2; i++)
            if (out[i].fd >= 0 && kl_ws_queued(&c->w) < WS_HIGH_WATER)
                p[iout[i] = np++] = (struct pollfd){out[i].fd, POLLIN, 0};
        if (c->stdin_buf.len && !c->stdin_closed && sk_rt_exec_fd(c->e, 0) >= 0)
            p[iin = np++] = (struct pollfd){sk_rt_exec_fd(c->e, 0), POLLOUT, 0};
        if (!exit_ms && pidfd >= 0) p[ipid = np++] = (struct pollfd){pidfd, POLLIN, 0};
        int rc = poll(p, (nfds_t)np, exit_ms ? 50 : 200);
        if (rc < 0 && errno != EINTR) break;
        if (rc <= 0) memset(p, 0, sizeof p);
        if ((p[iws].revents || c->w.eof) && kl_ws_io(&c->w, p[iws].revents) < 0) break;
        for (int i = 0; i < 2; i++) {
            if (iout[i] < 0 || !p[iout[i]].revents) continue;
            last_out_ms = sk_now_ms();
            if (!pump_out(c, &out[i], buf)) out[i].fd = -1;
        }
        if (iin >= 0 && p[iin].revents) flush_stdin(c);
        if (ipid >= 0 && p[ipid].revents) exit_ms = last_out_ms = sk_now_ms();
        if (!exit_ms) continue;
        int64_t now = sk_now_ms();
        if ((out[0].fd < 0 && out[1].fd < 0) || now - last_out_ms > DRAIN_QUIET_MS ||
            now - exit_ms > DRAIN_MAX_MS) {
            done = true;
            break;
        }
    }
    free(buf);
    return done;
}

static void exec_run(struct kl_session *s)
{
    struct stream_ctx *c = s->ctx;
    sk_err err = SK_ERR_INIT;
    struct sk_rt_exec_config cfg = {.args = (const char *const *)c->args, .n_args = c->nargs,
                                    .tty = c->tty, .stdin_open = c->in};
    if (s->srv->cfg.rt) c->e = sk_rt_exec_start(s->srv->cfg.rt, c->cid, &cfg, &err);
    else sk_err_set(&err, SK_EUNAVAILABLE, "this node has no container runtime");
    if (kl_ws_init(&c->w, s->task.fd, s->extra, s->nextra, on_msg, c) < 0) {
        sk_rt_exec_free(c->e);
        return;
    }
    if (!c->e) {
        char msg[600];
        snprintf(msg, sizeof msg, "failed to exec in container: %s", err.msg);
        send_status(c, -1, msg);
    } else if (exec_loop(s, c)) {
        int code = 255;
        sk_err werr = SK_ERR_INIT;
        if (sk_rt_exec_wait(c->e, 2000, &code, &werr) < 0) {
            send_status(c, -1, werr.msg);
        } else {
            send_status(c, code, NULL);
        }
    }
    sk_rt_exec_free(c->e); /* kills it if the client left early */
    c->e = NULL;
    kl_ws_release(&c->w);
}

/* ---- attach (partial: the log from now on) ------------------------------------------------- */

static int attach_line(void *ud, const struct kl_log_line *l)
{
    struct stream_ctx *c = ud;
    if (c->w.eof) return -1;
    uint8_t ch;
    if (l->stream == 0) ch = c->out ? 1 : 0;
    else ch = c->err ? 2 : c->tty && c->out ? 1 : 0; /* a terminal would have merged them */
    if (!ch) return 0;
    if (!l->newline) {
        kl_ws_send(&c->w, ch, l->data, l->len);
        return 0;
    }
    char *line = sk_malloc(l->len + 1);
    if (l->len) memcpy(line, l->data, l->len);
    line[l->len] = '\n';
    kl_ws_send(&c->w, ch, line, l->len + 1);
    free(line);
    return 0;
}

/* The container's exit code once stopped; -1 while it runs (or unknown). */
static int container_exit(struct kl_session *s, struct stream_ctx *c)
{
    struct sk_kl_ctr_ref ref;
    sk_err err = SK_ERR_INIT;
    memset(&ref, 0, sizeof ref);
    int rc = s->srv->cfg.lookup(s->srv->cfg.lookup_ud, c->ns, c->pod, c->ctr, &ref, &err);
    sk_err_clear(&err);
    if (rc == 0 && ref.running && !strcmp(ref.container_id, c->cid)) return -1;
    struct sk_rt_status st;
    if (!s->srv->cfg.rt || sk_rt_container_status(s->srv->cfg.rt, c->cid, &st, &err) < 0) return 0;
    int code = st.state == SK_RT_EXITED ? st.exit_code : 0;
    sk_rt_status_release(&st);
    return code;
}

static void attach_run(struct kl_session *s)
{
    struct stream_ctx *c = s->ctx;
    sk_err err = SK_ERR_INIT;
    struct sk_kl_log_opts o = {.follow = true, .tail_lines = 0};
    if (kl_ws_init(&c->w, s->task.fd, s->extra, s->nextra, on_msg, c) < 0) return;
    kl_logr *r = kl_logr_open(c->log_path, &o, &err);
    if (!r) {
        send_status(c, -1, err.msg);
        kl_ws_release(&c->w);
        return;
    }
    int64_t next_check = sk_now_ms() + ALIVE_MS;
    int code = -1;
    while (!s->task.stop) {
        struct pollfd p = {c->w.fd, kl_ws_events(&c->w), 0};
        int rc = poll(&p, 1, 100);
        if (rc < 0 && errno != EINTR) break;
        if (rc > 0 && kl_ws_io(&c->w, p.revents) < 0) break;
        if (kl_ws_queued(&c->w) < WS_HIGH_WATER &&
            kl_logr_pump(r, 256 << 10, attach_line, c, &err) < 0)
            break;
        if (c->w.eof) break;
        if (sk_now_ms() < next_check) continue;
        next_check = sk_now_ms() + ALIVE_MS;
        if ((code = container_exit(s, c)) < 0) continue;
        while (kl_logr_pump(r, 1 << 20, attach_line, c, &err) == 2) {}
        kl_logr_finish(r, attach_line, c);
        send_status(c, code, NULL);
        break;
    }
    kl_logr_free(r);
    kl_ws_release(&c->w);
}

/* ---- the request ----------------------------------------------------------------------------- */

struct args_acc {
    struct stream_ctx *c;
    size_t bytes;
    bool too_many;
};

static enum MHD_Result collect_command(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value)
{
    (void)kind;
    struct args_acc *a = cls;
    if (strcmp(key, "command") != 0) return MHD_YES;
    const char *v = value ? value : "";
    a->bytes += strlen(v) + 1;
    if (a->c->nargs >= MAX_ARGS || a->bytes > MAX_ARGS_BYTES) {
        a->too_many = true;
        return MHD_NO;
    }
    a->c->args = sk_realloc(a->c->args, (a->c->nargs + 1) * sizeof *a->c->args);
    a->c->args[a->c->nargs++] = sk_strdup(v);
    return MHD_YES;
}

static struct stream_ctx *parse_request(struct kl_req *q, bool attach, sk_err *err)
{
    struct stream_ctx *c = sk_calloc(1, sizeof *c);
    c->srv = q->srv;
    c->attach = attach;
    c->in = kl_arg_true(q, "stdin");
    c->out = kl_arg_true(q, "stdout");
    c->err = kl_arg_true(q, "stderr");
    c->tty = kl_arg_true(q, "tty");
    if (c->tty) c->err = false; /* a terminal merges stderr into stdout, as upstream */
    if (!c->in && !c->out && !kl_arg_true(q, "stderr")) {
        sk_err_set(err, SK_EBADREQUEST, "you must specify at least 1 of stdin, stdout, stderr");
        ctx_free(c);
        return NULL;
    }
    if (!attach) {
        struct args_acc a = {c, 0, false};
        MHD_get_connection_values(q->conn, MHD_GET_ARGUMENT_KIND, collect_command, &a);
        if (a.too_many || c->nargs == 0) {
            sk_err_set(err, SK_EBADREQUEST, a.too_many ? "command too long"
                                                       : "you must specify at least one command for the container");
            ctx_free(c);
            return NULL;
        }
    }
    return c;
}

void kl_handle_exec(struct kl_req *q, const char *ns, const char *pod, const char *ctr, bool attach)
{
    sk_err err = SK_ERR_INIT;
    struct stream_ctx *c = parse_request(q, attach, &err);
    if (!c) {
        kl_reply_err(q, &err);
        return;
    }
    struct sk_kl_ctr_ref ref;
    if (kl_lookup(q, ns, pod, ctr, &ref) < 0) {
        ctx_free(c);
        return;
    }
    if (!ref.container_id[0] || !ref.running) {
        kl_reply_status(q, SK_EBADREQUEST, ref.container_id[0]
                            ? "container \"%s\" in pod \"%s\" is not running"
                            : "container \"%s\" in pod \"%s\" is waiting to start: ContainerCreating",
                        ctr, pod);
        ctx_free(c);
        return;
    }
    const char *proto = NULL;
    if (!kl_ws_requested(q)) {
        kl_reply_status(q, SK_EBADREQUEST, "%s over SPDY is not supported by this node: use a client that speaks WebSocket (v5.channel.k8s.io, kubectl 1.30 or later)",
                        attach ? "attach" : "exec");
    } else if (!(proto = kl_ws_pick_protocol(q, ws_protocols, SK_ARRAY_LEN(ws_protocols)))) {
        kl_reply_status(q, SK_EBADREQUEST, "unsupported WebSocket subprotocol: this node speaks v5.channel.k8s.io and v4.channel.k8s.io");
    }
    if (!proto) {
        ctx_free(c);
        return;
    }
    c->v5 = proto == ws_protocols[0];
    snprintf(c->ns, sizeof c->ns, "%s", ns);
    snprintf(c->pod, sizeof c->pod, "%s", pod);
    snprintf(c->ctr, sizeof c->ctr, "%s", ctr);
    snprintf(c->cid, sizeof c->cid, "%s", ref.container_id);
    snprintf(c->log_path, sizeof c->log_path, "%s", ref.log_path);
    kl_session_new(q, attach ? attach_run : exec_run, c, ctx_free);
    kl_ws_accept(q, proto);
}
