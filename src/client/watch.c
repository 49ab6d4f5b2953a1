/* Watch streams: the body of a watch reply is one JSON event per line
 * ({"type":"ADDED","object":{...}}); each complete line is decoded and
 * handed to the callback while the transfer is still running. */
#include "client/client_int.h"

#include <string.h>

struct wctx {
    sk_watch_cb cb;
    void *ud;
    sk_buf line;
    bool bad;      /* stream broke the protocol: message in msg */
    char msg[160];
};

static int one_line(struct wctx *w, const char *p, size_t n)
{
    while (n && (p[n - 1] == '\r' || p[n - 1] == ' ')) n--;
    if (!n) return 0;
    json_error_t je;
    _sk_json_ json_t *ev = json_loadb(p, n, 0, &je);
    const char *type = sk_json_str(ev, "type");
    json_t *obj = json_object_get(ev, "object");
    if (!type || !json_is_object(obj)) {
        w->bad = true;
        snprintf(w->msg, sizeof w->msg, "invalid watch event%s%s", ev ? "" : ": ",
                 ev ? "" : je.text);
        return -1;
    }
    return w->cb(w->ud, type, obj) < 0 ? -1 : 0;
}

static int on_data(void *ud, const char *p, size_t n)
{
    struct wctx *w = ud;
    while (n) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        if (w->line.len + take > SK_CLIENT_MAX_LINE) {
            w->bad = true;
            snprintf(w->msg, sizeof w->msg, "watch event larger than %zu bytes",
                     SK_CLIENT_MAX_LINE);
            return -1;
        }
        if (!nl) {
            sk_buf_add(&w->line, p, take);
            return 0;
        }
        int rc;
        if (w->line.len) {
            sk_buf_add(&w->line, p, take);
            rc = one_line(w, w->line.data, w->line.len);
            w->line.len = 0;
        } else {
            rc = one_line(w, p, take);
        }
        if (rc < 0) return -1;
        p = nl + 1;
        n -= take + 1;
    }
    return 0;
}

int sk__watch(sk_client *c, const struct sk_resource *r, const char *ns, const char *rv,
              const char *ls, const char *fs, int timeout_s, sk_watch_cb cb, void *ud,
              const struct sk_abort *ab, sk_err *err)
{
    sk_buf b = SK_BUF_INIT;
    sk__res_path(&b, r, ns, NULL, NULL);
    sk_buf_adds(&b, "?watch=1&allowWatchBookmarks=true");
    sk__query(&b, "resourceVersion", rv);
    if (timeout_s > 0) sk_buf_addf(&b, "&timeoutSeconds=%d", timeout_s);
    sk__query(&b, "labelSelector", ls);
    sk__query(&b, "fieldSelector", fs);
    _sk_free_ char *path = sk_buf_take(&b);
    if (c->local.watch) return sk__local_watch(c, path, cb, ud, ab, err);

    struct wctx w = {.cb = cb, .ud = ud};
    /* the server ends the stream at timeoutSeconds; our limit only guards
     * against a server that stops talking */
    struct sk_call call = {.method = "GET", .path = path, .on_data = on_data, .data_ud = &w,
                           .abort = ab,
                           .timeout_s = timeout_s > 0 ? timeout_s + 30 : -1};
    int rc = sk__call(c, &call, err);
    if (rc == 0 && w.bad) {
        rc = sk_err_set(err, SK_EINTERNAL, "watch %s: %s", r->plural, w.msg);
    } else if (rc == 0 && !call.aborted && (call.status < 200 || call.status >= 300)) {
        rc = sk__status_err(&call, err);
    } else if (rc == 0 && !call.aborted && w.line.len) {
        /* a final event without its newline */
        if (one_line(&w, w.line.data, w.line.len) < 0 && w.bad)
            rc = sk_err_set(err, SK_EINTERNAL, "watch %s: %s", r->plural, w.msg);
    }
    sk_buf_release(&w.line);
    sk__call_release(&call);
    return rc;
}

static int stop_tick(void *ud)
{
    volatile int *stop = ud;
    /* the flag is set from another thread: read it atomically */
    return stop && __atomic_load_n(stop, __ATOMIC_ACQUIRE);
}

int sk_client_watch(sk_client *c, const struct sk_resource *r, const char *ns,
                    const char *resource_version, const char *label_selector,
                    const char *field_selector, int timeout_seconds, sk_watch_cb cb, void *ud,
                    volatile int *stop, sk_err *err)
{
    struct sk_abort ab = {stop_tick, (void *)stop, NULL};
    return sk__watch(c, r, ns, resource_version, label_selector, field_selector,
                     timeout_seconds, cb, ud, stop ? &ab : NULL, err);
}
