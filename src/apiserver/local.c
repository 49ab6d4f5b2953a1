/* In-process requests: components running in the server's own process
 * (controllers, scheduler, hollow nodes, the node agent of `skiff server`)
 * reach the same handlers as HTTPS clients, with the identity their
 * certificate would carry, but hand over JSON values instead of TLS
 * records and JSON text. An sk_req with `local` set stands in for the
 * connection: query arguments come from the path, replies are kept as a
 * value or as bytes, and watches run on the caller's thread. */
#include "apiserver/apiserver_int.h"
#include "apiserver/bootstrap_token.h" /* sk_bootstrap_token_permit */

#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) ('+' is a space in a query, as MHD decodes). */
static char *pct_decode(const char *s, size_t n)
{
    char *out = sk_malloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            *o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            *o++ = s[i] == '+' ? ' ' : s[i];
        }
    }
    *o = 0;
    return out;
}

static void parse_query(struct sk_local *l, const char *qs)
{
    while (qs && *qs) {
        const char *amp = strchr(qs, '&');
        size_t n = amp ? (size_t)(amp - qs) : strlen(qs);
        if (n) {
            const char *eq = memchr(qs, '=', n);
            size_t kn = eq ? (size_t)(eq - qs) : n;
            l->args = sk_realloc(l->args, (l->nargs + 2) * sizeof *l->args);
            l->args[l->nargs++] = pct_decode(qs, kn);
            l->args[l->nargs++] = eq ? pct_decode(eq + 1, n - kn - 1) : sk_strdup("");
        }
        qs = amp ? amp + 1 : NULL;
    }
}

const char *sk_local_arg(const struct sk_local *l, const char *name)
{
    for (size_t i = 0; i + 1 < l->nargs; i += 2)
        if (!strcmp(l->args[i], name)) return l->args[i + 1];
    return NULL;
}

static void local_release(struct sk_local *l)
{
    for (size_t i = 0; i < l->nargs; i++) free(l->args[i]);
    free(l->args);
    json_decref(l->reply);
    sk_buf_release(&l->raw);
}

/* Runs q (path with query) for id; fills status and reply. */
static int run(struct sk_apiserver *s, const sk_identity *id, const char *method,
               const char *path, struct sk_local *l, long *status, json_t **reply, sk_buf *raw)
{
    *status = 0;
    if (reply) *reply = NULL;
    if (s->stopping || !path || path[0] != '/') return -1;
    const char *qm = strchr(path, '?');
    _sk_free_ char *url = qm ? sk_strndup(path, (size_t)(qm - path)) : sk_strdup(path);
    parse_query(l, qm ? qm + 1 : NULL);
    struct sk_req q = {.srv = s, .local = l, .method = method, .url = url, .id = *id};
    if (!sk_bootstrap_token_permit(&q)) {
        /* replied 403: bootstrap identities only create and read CSRs */
    } else {
        sk_dispatch(&q);
    }
    if (!q.status) sk_reply_status(&q, SK_EINTERNAL, "no reply");
    *status = q.status;
    if (reply) {
        *reply = l->reply;
        l->reply = NULL;
    } else {
        json_decref(l->reply);
        l->reply = NULL;
    }
    if (raw && l->raw.len) sk_buf_add(raw, l->raw.data, l->raw.len);
    sk_buf_release(&q.warnings);
    sk_buf_release(&q.body);
    return 0;
}

int sk_apiserver_local_call(sk_apiserver *s, const sk_identity *id, const char *method,
                            const char *path, const json_t *body, const char *content_type,
                            long *status, json_t **reply, sk_buf *raw)
{
    struct sk_local l = {.body = body, .ctype = content_type ? content_type : "application/json"};
    int rc = run(s, id, method, path, &l, status, reply, raw);
    local_release(&l);
    return rc;
}

int sk_apiserver_local_watch(sk_apiserver *s, const sk_identity *id, const char *path,
                             int (*cb)(void *ud, const char *type, json_t *obj), void *ud,
                             int (*tick)(void *tick_ud), void *tick_ud, long *status,
                             json_t **reply)
{
    struct sk_local l = {.ctype = "application/json", .cb = cb, .cb_ud = ud, .tick = tick,
                         .tick_ud = tick_ud};
    int rc = run(s, id, "GET", path, &l, status, reply, NULL);
    local_release(&l);
    return rc;
}
