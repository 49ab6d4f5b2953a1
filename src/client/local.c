/* In-process transport: requests and watches handed to the API server's
 * handlers through the sk_client_local hooks (see client.h). Replies and
 * errors keep the HTTP transport's contract: 2xx replies are returned,
 * anything else becomes an sk_err from the Status body. */
#include "client/client_int.h"

#include <string.h>

/* err from a non-2xx reply, as the value or as bytes. */
static void status_err(long status, const json_t *reply, const sk_buf *raw, const char *method,
                       const char *path, sk_err *err)
{
    _sk_json_ json_t *parsed = NULL;
    if (!reply && raw->len) parsed = json_loadb(raw->data, raw->len, 0, NULL);
    sk__status_json(status, reply ? reply : parsed, method, path, err);
}

json_t *sk__local_json(sk_client *c, const char *method, const char *path, const json_t *body,
                       const char *content_type, bool any_reply, long *status, sk_err *err)
{
    long st = 0;
    json_t *reply = NULL;
    sk_buf raw = SK_BUF_INIT;
    if (status) *status = 0;
    if (c->local.call(c->local.ud, method, path, body, content_type, &st, &reply, &raw) < 0) {
        sk_buf_release(&raw);
        json_decref(reply);
        sk_err_set(err, SK_EUNAVAILABLE, "%s %s: the in-process API server is not available",
                   method, path);
        return NULL;
    }
    if (status) *status = st;
    bool ok = st >= 200 && st < 300;
    if (!ok) status_err(st, reply, &raw, method, path, err);
    if (!ok && !any_reply) {
        json_decref(reply);
        sk_buf_release(&raw);
        return NULL;
    }
    if (!reply && raw.len) {
        json_error_t je;
        reply = json_loadb(raw.data, raw.len, 0, &je);
        if (!reply && any_reply) {
            reply = json_stringn(raw.data, raw.len);
        } else if (!reply) {
            sk_err_set(err, SK_EINTERNAL, "%s %s: invalid JSON reply: %s", method, path, je.text);
        }
    }
    sk_buf_release(&raw);
    return reply;
}

int sk__local_watch(sk_client *c, const char *path, sk_watch_cb cb, void *ud,
                    const struct sk_abort *ab, sk_err *err)
{
    if (sk__throttle(c, ab) < 0) return 0;
    long st = 0;
    json_t *reply = NULL;
    int rc = c->local.watch(c->local.ud, path, cb, ud, ab ? ab->tick : NULL, ab ? ab->ud : NULL,
                            &st, &reply);
    if (rc < 0) {
        json_decref(reply);
        return sk_err_set(err, SK_EUNAVAILABLE, "GET %s: the in-process API server is not available",
                          path);
    }
    if (st && (st < 200 || st >= 300)) {
        sk_buf none = SK_BUF_INIT;
        status_err(st, reply, &none, "GET", path, err);
        json_decref(reply);
        return -1;
    }
    json_decref(reply);
    return 0;
}
