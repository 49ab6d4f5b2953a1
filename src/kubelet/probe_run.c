/* One run of a probe (exec, httpGet, tcpSocket) or of a lifecycle handler
 * (exec, httpGet, sleep), with upstream's results and messages
 * (pkg/kubelet/prober/prober.go, pkg/probe/{exec,http,tcp},
 * pkg/kubelet/lifecycle/handlers.go).
 *
 * Partial: gRPC probes are not supported; they fail with a message saying
 * so. Redirects to another host count as success without upstream's
 * ProbeWarning event. */
#include "kubelet/probe_int.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define EXEC_ARGS_MAX 1024

/* ---- ports and $(VAR) expansion ------------------------------------------------ */

int sk_kl_probe_port(const json_t *port, const json_t *ctr, char *msg, size_t msg_len)
{
    long long v;
    if (json_is_integer(port)) {
        v = json_integer_value(port);
    } else if (json_is_string(port)) {
        const char *name = json_string_value(port);
        const json_t *ports = json_object_get(ctr, "ports");
        for (size_t i = 0; i < json_array_size(ports); i++) {
            const json_t *cp = json_array_get(ports, i);
            const char *n = sk_json_str(cp, "name");
            if (n && !strcmp(n, name)) {
                v = json_integer_value(json_object_get(cp, "containerPort"));
                goto check;
            }
        }
        /* upstream's last resort: a number written as a string */
        char *end = NULL;
        errno = 0;
        v = strtoll(name, &end, 10);
        if (!*name || *end || errno) {
            snprintf(msg, msg_len, "strconv.Atoi: parsing \"%s\": invalid syntax", name);
            return -1;
        }
    } else {
        snprintf(msg, msg_len, "intOrString had no kind");
        return -1;
    }
check:
    if (v > 0 && v < 65536) return (int)v;
    snprintf(msg, msg_len, "invalid port number: %lld", v);
    return -1;
}

static const char *env_lookup(const json_t *env, const char *name, size_t n)
{
    const char *found = NULL;
    for (size_t i = 0; i < json_array_size(env); i++) {
        const json_t *e = json_array_get(env, i);
        const char *en = sk_json_str(e, "name");
        if (en && strlen(en) == n && !strncmp(en, name, n)) {
            const char *v = sk_json_str(e, "value");
            found = v ? v : ""; /* later entries win, as a Go map filled in order */
        }
    }
    return found;
}

char *sk_kl_probe_expand(const char *s, const json_t *env)
{
    sk_buf b = SK_BUF_INIT;
    sk_buf_adds(&b, "");
    for (const char *p = s; *p; p++) {
        if (*p != '$' || !p[1]) {
            sk_buf_add(&b, p, 1);
            continue;
        }
        if (p[1] == '$') { /* escaped operator */
            sk_buf_add(&b, "$", 1);
            p++;
        } else if (p[1] == '(' && strchr(p + 2, ')')) {
            const char *name = p + 2, *close = strchr(name, ')');
            const char *v = env_lookup(env, name, (size_t)(close - name));
            if (v) sk_buf_adds(&b, v);
            else sk_buf_add(&b, p, (size_t)(close - p + 1));
            p = close;
        } else { /* not a reference: keep "$" and the next byte */
            sk_buf_add(&b, p, 2);
            p++;
        }
    }
    return sk_buf_take(&b);
}

/* ---- exec in the container --------------------------------------------------------- */

struct exec_out {
    sk_buf out, err; /* stdout and stderr, SK_KL_PROBE_OUTPUT_MAX together */
    int code;
    bool timed_out;
};

static void drain(int *fd, sk_buf *into, size_t *total)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(*fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) *fd = -1; /* owned by the exec */
            return;
        }
        size_t keep = *total < SK_KL_PROBE_OUTPUT_MAX ? SK_KL_PROBE_OUTPUT_MAX - *total : 0;
        if ((size_t)n < keep) keep = (size_t)n;
        sk_buf_add(into, buf, keep);
        *total += keep;
    }
}

/* Reads both streams until the exec ends or the deadline passes. Waiting
 * on the pidfd rather than on EOF: a background child of the command may
 * keep the pipes open long after the command itself exited. */
static void pump(sk_rt_exec *x, int64_t deadline, struct exec_out *o)
{
    int fds[2] = {sk_rt_exec_fd(x, 1), sk_rt_exec_fd(x, 2)};
    sk_buf *into[2] = {&o->out, &o->err};
    size_t total = 0;
    for (;;) {
        struct pollfd pf[3];
        int map[3], n = 0;
        for (int i = 0; i < 2; i++)
            if (fds[i] >= 0) pf[n] = (struct pollfd){fds[i], POLLIN, 0}, map[n++] = i;
        pf[n] = (struct pollfd){sk_rt_exec_pidfd(x), POLLIN, 0}, map[n++] = 2;
        int wait = -1;
        if (deadline != INT64_MAX) {
            int64_t left = deadline - sk_now_ms();
            if (left <= 0) {
                o->timed_out = true;
                return;
            }
            wait = left > 60000 ? 60000 : (int)left;
        }
        int rc = poll(pf, (nfds_t)n, wait);
        if (rc < 0 && errno == EINTR) continue;
        if (rc < 0) return;
        bool exited = false;
        for (int k = 0; k < n; k++) {
            if (!pf[k].revents) continue;
            if (map[k] == 2) exited = true;
            else drain(&fds[map[k]], into[map[k]], &total);
        }
        if (exited) {
            for (int i = 0; i < 2; i++)
                if (fds[i] >= 0) drain(&fds[i], into[i], &total);
            return;
        }
    }
}

/* 0 ran (o->code or o->timed_out), -1 could not start (msg). */
static int exec_run(sk_rt *rt, const char *id, const char *const *args, size_t n, int timeout_ms,
                    struct exec_out *o, char *msg, size_t msg_len)
{
    sk_err err = SK_ERR_INIT;
    struct sk_rt_exec_config cfg = {.args = args, .n_args = n};
    sk_rt_exec *x = sk_rt_exec_start(rt, id, &cfg, &err);
    if (!x) {
        snprintf(msg, msg_len, "%s", err.msg);
        sk_err_clear(&err);
        return -1;
    }
    int64_t deadline = timeout_ms > 0 ? sk_now_ms() + timeout_ms : INT64_MAX;
    pump(x, deadline, o);
    int rc = 0;
    if (!o->timed_out) {
        int wait_ms = -1;
        if (deadline != INT64_MAX) {
            int64_t left = deadline - sk_now_ms();
            wait_ms = left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
        }
        if (sk_rt_exec_wait(x, wait_ms, &o->code, &err) < 0) {
            if (err.code == SK_ETIMEOUT) {
                o->timed_out = true;
            } else {
                snprintf(msg, msg_len, "%s", err.msg);
                rc = -1;
            }
        }
    }
    if (o->timed_out) sk_rt_exec_kill(x, SIGKILL, &err);
    sk_err_clear(&err);
    sk_rt_exec_free(x); /* kills and reaps what is left */
    return rc;
}

static void exec_out_release(struct exec_out *o)
{
    sk_buf_release(&o->out);
    sk_buf_release(&o->err);
}

/* A Go %q of the command joined by spaces. */
static void go_quote_cmd(sk_buf *b, const char *const *args, size_t n)
{
    sk_buf_adds(b, "\"");
    for (size_t i = 0; i < n; i++) {
        if (i) sk_buf_adds(b, " ");
        for (const unsigned char *c = (const unsigned char *)args[i]; *c; c++) {
            if (*c == '"' || *c == '\\') sk_buf_addf(b, "\\%c", *c);
            else if (*c == '\n') sk_buf_adds(b, "\\n");
            else if (*c == '\t') sk_buf_adds(b, "\\t");
            else if (*c < 0x20 || *c == 0x7f) sk_buf_addf(b, "\\x%02x", *c);
            else sk_buf_add(b, c, 1);
        }
    }
    sk_buf_adds(b, "\"");
}

/* The command of an exec action as a NULL-terminated array (strings
 * borrowed from action or owned by keep when expanded). */
static int exec_args(const json_t *action, const json_t *env, bool expand, const char **args, char **keep,
                     size_t *n, char *msg, size_t msg_len)
{
    const json_t *cmd = json_object_get(action, "command");
    size_t count = json_array_size(cmd);
    if (count == 0) return snprintf(msg, msg_len, "exec: no command"), -1;
    if (count > EXEC_ARGS_MAX) return snprintf(msg, msg_len, "exec: too many arguments"), -1;
    for (size_t i = 0; i < count; i++) {
        const char *a = json_string_value(json_array_get(cmd, i));
        if (!a) {
            for (size_t j = 0; j < i; j++) free(keep[j]); /* the caller frees only on success */
            return snprintf(msg, msg_len, "exec: command[%zu] is not a string", i), -1;
        }
        keep[i] = expand ? sk_kl_probe_expand(a, env) : NULL;
        args[i] = keep[i] ? keep[i] : a;
    }
    *n = count;
    return 0;
}

static void free_keep(char **keep, size_t n)
{
    for (size_t i = 0; i < n; i++) free(keep[i]);
}

/* Combined output as upstream's RunInContainer: stdout, then stderr. */
static void combined(const struct exec_out *o, char *msg, size_t msg_len)
{
    snprintf(msg, msg_len, "%.*s%.*s", (int)o->out.len, o->out.len ? o->out.data : "", (int)o->err.len,
             o->err.len ? o->err.data : "");
}

static int probe_exec(sk_rt *rt, const json_t *action, const json_t *ctr, const char *id, int timeout_ms,
                      char *msg, size_t msg_len)
{
    const char *args[EXEC_ARGS_MAX + 1];
    char *keep[EXEC_ARGS_MAX + 1];
    size_t n = 0;
    if (!rt || !id || !*id) return snprintf(msg, msg_len, "exec probe: no container"), -1;
    if (exec_args(action, json_object_get(ctr, "env"), true, args, keep, &n, msg, msg_len) < 0) return -1;
    struct exec_out o = {SK_BUF_INIT, SK_BUF_INIT, 0, false};
    int rc = exec_run(rt, id, args, n, timeout_ms, &o, msg, msg_len);
    if (rc == 0 && o.timed_out) {
        sk_buf q = SK_BUF_INIT;
        go_quote_cmd(&q, args, n);
        snprintf(msg, msg_len, "command %s timed out", q.data);
        sk_buf_release(&q);
        rc = 1;
    } else if (rc == 0) {
        combined(&o, msg, msg_len);
        rc = o.code == 0 ? 0 : 1;
    }
    exec_out_release(&o);
    free_keep(keep, n);
    return rc;
}

/* ---- httpGet and tcpSocket ------------------------------------------------------------ */

static int probe_http(const json_t *action, const json_t *ctr, const char *pod_ip, int timeout_ms, char *msg,
                      size_t msg_len)
{
    int port = sk_kl_probe_port(json_object_get(action, "port"), ctr, msg, msg_len);
    if (port < 0) return -1;
    const char *scheme = sk_json_str(action, "scheme"), *host = sk_json_str(action, "host");
    struct sk_kl_http_get r = {
        .scheme = scheme && !strcasecmp(scheme, "HTTPS") ? "https" : "http",
        .host = host && *host ? host : pod_ip && *pod_ip ? pod_ip : "127.0.0.1",
        .port = port,
        .path = sk_json_str(action, "path"),
        .headers = json_object_get(action, "httpHeaders"),
        .user_agent = SK_KL_PROBE_UA,
        .timeout_ms = timeout_ms,
    };
    long status = 0;
    if (sk_kl_http_get(&r, &status, NULL, msg, msg_len) < 0) return 1; /* transport errors fail */
    if (status >= 200 && status < 400) {
        msg[0] = 0;
        return 0;
    }
    snprintf(msg, msg_len, "HTTP probe failed with statuscode: %ld", status);
    return 1;
}

static int probe_tcp(const json_t *action, const json_t *ctr, const char *pod_ip, int timeout_ms, char *msg,
                     size_t msg_len)
{
    int port = sk_kl_probe_port(json_object_get(action, "port"), ctr, msg, msg_len);
    if (port < 0) return -1;
    const char *host = sk_json_str(action, "host");
    int rc = sk_kl_tcp_check(host && *host ? host : pod_ip, port, timeout_ms, msg, msg_len);
    if (rc == 0) msg[0] = 0;
    return rc;
}

int sk_kl_probe_run(sk_rt *rt, const json_t *probe, const json_t *ctr, const char *container_id,
                    const char *pod_ip, int timeout_ms, char *msg, size_t msg_len)
{
    const json_t *a;
    if (msg_len) msg[0] = 0;
    if (!json_is_object(probe)) return snprintf(msg, msg_len, "probe is not an object"), -1;
    if (timeout_ms <= 0) timeout_ms = 1000;
    if ((a = json_object_get(probe, "exec"))) return probe_exec(rt, a, ctr, container_id, timeout_ms, msg, msg_len);
    if ((a = json_object_get(probe, "httpGet"))) return probe_http(a, ctr, pod_ip, timeout_ms, msg, msg_len);
    if ((a = json_object_get(probe, "tcpSocket"))) return probe_tcp(a, ctr, pod_ip, timeout_ms, msg, msg_len);
    if (json_object_get(probe, "grpc")) {
        snprintf(msg, msg_len, "gRPC probes are not supported by this node agent");
        return 1;
    }
    snprintf(msg, msg_len, "missing probe handler");
    return -1;
}

int sk_kl_probe_once(sk_rt *rt, const json_t *probe, const char *container_id, const char *pod_ip, char *msg,
                     size_t msg_len)
{
    json_int_t secs = json_integer_value(json_object_get(probe, "timeoutSeconds"));
    if (secs <= 0) secs = 1;
    if (secs > 86400) secs = 86400;
    return sk_kl_probe_run(rt, probe, NULL, container_id, pod_ip, (int)(secs * 1000), msg, msg_len);
}

/* ---- lifecycle handlers ------------------------------------------------------------------- */

static int handler_exec(sk_rt *rt, const json_t *action, const char *id, int timeout_ms, char *msg, size_t msg_len)
{
    const char *args[EXEC_ARGS_MAX + 1];
    char *keep[EXEC_ARGS_MAX + 1];
    size_t n = 0;
    char why[512];
    if (!rt || !id || !*id) return snprintf(msg, msg_len, "Cannot run handler: no container"), -1;
    if (exec_args(action, NULL, false, args, keep, &n, why, sizeof why) < 0)
        return snprintf(msg, msg_len, "Cannot run handler: %s", why), -1;
    struct exec_out o = {SK_BUF_INIT, SK_BUF_INIT, 0, false};
    int rc = exec_run(rt, id, args, n, timeout_ms, &o, why, sizeof why);
    sk_buf text = SK_BUF_INIT, cmd = SK_BUF_INIT;
    for (size_t i = 0; i < n; i++) sk_buf_addf(&cmd, "%s%s", i ? " " : "", args[i]);
    if (rc == 0 && o.timed_out) {
        go_quote_cmd(&text, args, n);
        snprintf(why, sizeof why, "command %s timed out", text.data);
        rc = 1;
    } else if (rc == 0 && o.code != 0) {
        snprintf(why, sizeof why, "command '%s' exited with %d: %.*s", cmd.data, o.code, (int)o.err.len,
                 o.err.len ? o.err.data : "");
        rc = 1;
    } else if (rc < 0) {
        rc = 1; /* upstream reports a failed exec as a failed hook */
    }
    if (rc) {
        char out[1024];
        combined(&o, out, sizeof out);
        sk_buf_release(&text);
        sk_buf_adds(&text, "");
        for (const char *c = out; *c; c++) {
            if (*c == '"' || *c == '\\') sk_buf_addf(&text, "\\%c", *c);
            else if (*c == '\n') sk_buf_adds(&text, "\\n");
            else sk_buf_add(&text, c, 1);
        }
        snprintf(msg, msg_len, "Exec lifecycle hook ([%s]) failed - error: %s, message: \"%s\"", cmd.data, why,
                 text.data);
    }
    sk_buf_release(&text);
    sk_buf_release(&cmd);
    exec_out_release(&o);
    return rc;
}

static int handler_http(const json_t *action, const char *pod_ip, int timeout_ms, char *msg, size_t msg_len)
{
    char why[768];
    const char *path = sk_json_str(action, "path");
    int port = sk_kl_probe_port(json_object_get(action, "port"), NULL, why, sizeof why);
    const char *scheme = sk_json_str(action, "scheme"), *host = sk_json_str(action, "host");
    struct sk_kl_http_get r = {
        .scheme = scheme && !strcasecmp(scheme, "HTTPS") ? "https" : "http",
        .host = host && *host ? host : pod_ip && *pod_ip ? pod_ip : "127.0.0.1",
        .port = port,
        .path = path,
        .headers = json_object_get(action, "httpHeaders"),
        .user_agent = SK_KL_LIFECYCLE_UA,
        .timeout_ms = timeout_ms > 0 ? timeout_ms : 30000,
    };
    long status = 0;
    bool tls_mismatch = false;
    int rc = port < 0 ? -1 : sk_kl_http_get(&r, &status, &tls_mismatch, why, sizeof why);
    if (rc < 0 && tls_mismatch) {
        /* upstream retries over http when an https hook got a plain answer */
        char ignore[256];
        r.scheme = "http";
        if (sk_kl_http_get(&r, &status, NULL, ignore, sizeof ignore) == 0) rc = 0;
    }
    /* the status code is not checked for hooks, as upstream */
    if (rc == 0) return 0;
    snprintf(msg, msg_len, "HTTP lifecycle hook (%s) failed - error: %s", path ? path : "", why);
    return 1;
}

static int handler_sleep(const json_t *action, int timeout_ms, char *msg, size_t msg_len)
{
    json_int_t secs = json_integer_value(json_object_get(action, "seconds"));
    int64_t want = secs > 0 ? (secs > 86400 ? 86400 : secs) * 1000 : 0;
    bool cut = timeout_ms > 0 && timeout_ms < want;
    int64_t ms = cut ? timeout_ms : want;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
    if (!cut) return 0;
    snprintf(msg, msg_len,
             "Sleep lifecycle hook (%lld) failed - error: container terminated before sleep hook finished",
             (long long)secs);
    return 1;
}

int sk_kl_handler_run(sk_rt *rt, const json_t *handler, const char *container_id, const char *pod_ip,
                      int timeout_ms, char *msg, size_t msg_len)
{
    const json_t *a;
    if (msg_len) msg[0] = 0;
    if ((a = json_object_get(handler, "exec"))) return handler_exec(rt, a, container_id, timeout_ms, msg, msg_len);
    if ((a = json_object_get(handler, "httpGet"))) return handler_http(a, pod_ip, timeout_ms, msg, msg_len);
    if ((a = json_object_get(handler, "sleep"))) return handler_sleep(a, timeout_ms, msg, msg_len);
    snprintf(msg, msg_len, "Cannot run handler: invalid handler");
    return -1;
}
