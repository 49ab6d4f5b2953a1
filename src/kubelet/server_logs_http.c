/* GET /containerLogs/{ns}/{pod}/{container}: the CRI log of a container as
 * text/plain, chunked and flushed as lines come. libmicrohttpd pulls the
 * body through a content callback that runs on the connection's own thread
 * (thread per connection), so the callback may block: it decodes from the
 * file, and while following it polls the file every 100 ms and the core
 * (lookup) every second until the container stops or is replaced, watching
 * the client socket for hang-ups in between. */
#include "kubelet/server_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#define LOG_POLL_MS 100
#define LOG_ALIVE_MS 1000
#define LOG_PUMP_BUDGET (64 << 10)

struct logstream {
    sk_kl_server *srv;
    kl_logr *r;
    struct kl_logfmt fmt;
    size_t off;          /* bytes of fmt.out already handed to MHD */
    bool follow, dying, done, full;
    int conn_fd;
    char ns[256], pod[256], ctr[256], cid[80];
    int64_t next_check_ms;
};

static bool parse_int(const char *s, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end) return false;
    *out = v;
    return true;
}

/* The query as upstream's PodLogOptions. */
static int parse_opts(struct kl_req *q, struct sk_kl_log_opts *o, bool *previous, sk_err *err)
{
    const char *v;
    int64_t n;
    memset(o, 0, sizeof *o);
    o->tail_lines = -1;
    o->follow = kl_arg_true(q, "follow");
    o->timestamps = kl_arg_true(q, "timestamps");
    *previous = kl_arg_true(q, "previous");
    if ((v = kl_arg(q, "tailLines"))) {
        if (!parse_int(v, &n) || n < 0)
            return sk_err_set(err, SK_EBADREQUEST, "invalid tailLines %s: must be an integer >= 0", v);
        o->tail_lines = n;
    }
    if ((v = kl_arg(q, "limitBytes"))) {
        if (!parse_int(v, &n) || n < 1)
            return sk_err_set(err, SK_EBADREQUEST, "invalid limitBytes %s: must be an integer >= 1", v);
        o->limit_bytes = n;
    }
    if ((v = kl_arg(q, "sinceSeconds"))) {
        if (!parse_int(v, &n) || n < 1 || n > INT64_MAX / 1000000000)
            return sk_err_set(err, SK_EBADREQUEST, "invalid sinceSeconds %s: must be an integer >= 1", v);
        o->since_ns = sk_wall_ms() * 1000000 - n * 1000000000;
    }
    if ((v = kl_arg(q, "sinceTime"))) {
        if (!sk_time_parse_ns(v, strlen(v), &n))
            return sk_err_set(err, SK_EBADREQUEST, "invalid sinceTime %s: must be RFC 3339", v);
        if (n > o->since_ns) o->since_ns = n; /* the later one wins, as upstream */
    }
    return 0;
}

static int line_cb(void *ud, const struct kl_log_line *l)
{
    struct logstream *ls = ud;
    if (kl_logfmt_line(&ls->fmt, l)) {
        ls->full = true;
        return -1;
    }
    return 0;
}

/* Still the same running instance? Asks the core at most once a second. */
static bool still_running(struct logstream *ls)
{
    int64_t now = sk_now_ms();
    if (now < ls->next_check_ms) return true;
    ls->next_check_ms = now + LOG_ALIVE_MS;
    struct sk_kl_ctr_ref ref;
    sk_err err = SK_ERR_INIT;
    memset(&ref, 0, sizeof ref);
    bool ok = ls->srv->cfg.lookup(ls->srv->cfg.lookup_ud, ls->ns, ls->pod,
                                  ls->ctr[0] ? ls->ctr : NULL, &ref, &err) == 0;
    sk_err_clear(&err);
    return ok && ref.running && !strcmp(ref.container_id, ls->cid);
}

static bool client_gone(int fd, int timeout_ms)
{
    struct pollfd p = {fd, POLLRDHUP, 0};
    if (fd < 0) {
        poll(NULL, 0, timeout_ms);
        return false;
    }
    return poll(&p, 1, timeout_ms) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

static ssize_t read_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct logstream *ls = cls;
    for (;;) {
        if (ls->off < ls->fmt.out.len) {
            size_t n = ls->fmt.out.len - ls->off;
            if (n > max) n = max;
            memcpy(buf, ls->fmt.out.data + ls->off, n);
            ls->off += n;
            if (ls->off == ls->fmt.out.len) ls->off = ls->fmt.out.len = 0;
            return (ssize_t)n;
        }
        if (ls->done || ls->full) return MHD_CONTENT_READER_END_OF_STREAM;
        if (ls->srv->stopping) return MHD_CONTENT_READER_END_WITH_ERROR;
        sk_err err = SK_ERR_INIT;
        int rc = kl_logr_pump(ls->r, LOG_PUMP_BUDGET, line_cb, ls, &err);
        if (rc < 0) {
            sk_log(SK_WARN, "kubelet", "logs %s/%s: %s", ls->ns, ls->pod, err.msg);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (rc == 0) ls->done = true;
        if (rc != 1 || ls->fmt.out.len) continue;
        if (!ls->follow || ls->dying) {
            kl_logr_finish(ls->r, line_cb, ls);
            ls->done = true;
        } else if (!still_running(ls)) {
            ls->dying = true; /* one more pass reads its last lines */
        } else if (client_gone(ls->conn_fd, LOG_POLL_MS)) {
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
}

static void free_cb(void *cls)
{
    struct logstream *ls = cls;
    kl_logr_free(ls->r);
    sk_buf_release(&ls->fmt.out);
    free(ls);
}

void kl_handle_logs(struct kl_req *q, const char *ns, const char *pod, const char *ctr)
{
    struct sk_kl_log_opts o;
    bool previous;
    sk_err err = SK_ERR_INIT;
    if (parse_opts(q, &o, &previous, &err) < 0) {
        kl_reply_err(q, &err);
        return;
    }
    struct sk_kl_ctr_ref ref;
    if (kl_lookup(q, ns, pod, ctr, &ref) < 0) return;
    const char *name = ctr ? ctr : "";
    const char *path = previous ? ref.prev_log_path : ref.log_path;
    if (previous && !path[0]) {
        kl_reply_status(q, SK_EBADREQUEST, "previous terminated container \"%s\" in pod \"%s\" not found",
                        name, pod);
        return;
    }
    if (!previous && (!path[0] || !ref.container_id[0])) {
        kl_reply_status(q, SK_EBADREQUEST,
                        "container \"%s\" in pod \"%s\" is waiting to start: ContainerCreating", name,
                        pod);
        return;
    }
    /* A previous instance has ended: nothing to follow. */
    if (previous || !ref.running) o.follow = false;
    kl_logr *r = kl_logr_open(path, &o, &err);
    if (!r) {
        kl_reply_err(q, &err);
        return;
    }
    struct logstream *ls = sk_calloc(1, sizeof *ls);
    ls->srv = q->srv;
    ls->r = r;
    ls->follow = o.follow;
    kl_logfmt_init(&ls->fmt, &o);
    snprintf(ls->ns, sizeof ls->ns, "%s", ns);
    snprintf(ls->pod, sizeof ls->pod, "%s", pod);
    snprintf(ls->ctr, sizeof ls->ctr, "%s", name);
    snprintf(ls->cid, sizeof ls->cid, "%s", ref.container_id);
    ls->next_check_ms = sk_now_ms() + LOG_ALIVE_MS;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(q->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    ls->conn_fd = ci ? ci->connect_fd : -1;
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 << 10, read_cb, ls, free_cb);
    if (!resp) {
        free_cb(ls);
        kl_reply_status(q, SK_EINTERNAL, "cannot create the response");
        return;
    }
    if (q->resp) MHD_destroy_response(q->resp);
    q->resp = resp;
    q->status = 200;
    MHD_add_response_header(resp, "Content-Type", "text/plain");
    MHD_add_response_header(resp, "Cache-Control", "no-cache, private");
}
