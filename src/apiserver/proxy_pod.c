/* pods/log (a streamed GET to the node agent's /containerLogs) and
 * pods/exec, pods/attach, pods/portforward (upgraded connections tunnelled
 * to the agent's /exec, /attach, /portForward), with upstream's option
 * validation and container defaulting (pkg/registry/core/pod/strategy.go). */
#include "apiserver/proxy_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* strconv.ParseBool */
static int parse_bool(const char *v, bool *out)
{
    static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < SK_ARRAY_LEN(t); i++) {
        if (!strcmp(v, t[i]) || !strcmp(v, f[i])) {
            *out = !strcmp(v, t[i]);
            return 0;
        }
    }
    return -1;
}

static int parse_i64(const char *v, int64_t *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (!v[0] || *end || errno) return -1;
    *out = n;
    return 0;
}

/* Appends the names of all containers (init, app, ephemeral) as "a b c". */
static bool has_container(const json_t *pod, const char *name, sk_buf *names)
{
    static const char *const lists[] = {"spec.initContainers", "spec.containers",
                                        "spec.ephemeralContainers"};
    bool found = false;
    for (size_t k = 0; k < SK_ARRAY_LEN(lists); k++) {
        size_t i;
        json_t *c;
        json_array_foreach(sk_json_path(pod, lists[k]), i, c) {
            const char *n = sk_json_str(c, "name");
            if (!n) continue;
            if (name && !strcmp(n, name)) found = true;
            if (names) {
                if (names->len) sk_buf_adds(names, " ");
                sk_buf_adds(names, n);
            }
        }
    }
    return found;
}

/* upstream validateContainer: defaults to the only app container. Writes
 * the container into out; -1 when replied. */
static int pick_container(struct sk_req *q, const json_t *pod, const char *pod_name,
                          const char *want, char *out, size_t n)
{
    if (want && want[0]) {
        if (!has_container(pod, want, NULL)) {
            sk_reply_status(q, SK_EBADREQUEST, "container %s is not valid for pod %s", want,
                            pod_name);
            return -1;
        }
        snprintf(out, n, "%s", want);
        return 0;
    }
    json_t *cs = sk_json_path(pod, "spec.containers");
    if (json_array_size(cs) == 1 && sk_json_str(json_array_get(cs, 0), "name")) {
        snprintf(out, n, "%s", sk_json_str(json_array_get(cs, 0), "name"));
        return 0;
    }
    if (json_array_size(cs) == 0) {
        sk_reply_status(q, SK_EBADREQUEST, "a container name must be specified for pod %s",
                        pod_name);
        return -1;
    }
    sk_buf names = SK_BUF_INIT;
    has_container(pod, NULL, &names);
    sk_reply_status(q, SK_EBADREQUEST,
                    "a container name must be specified for pod %s, choose one of: [%s]",
                    pod_name, names.len ? names.data : "");
    sk_buf_release(&names);
    return -1;
}

static json_t *read_pod(struct sk_req *q, struct sk_route *rt)
{
    sk_err err = SK_ERR_INIT;
    json_t *pod = sk_rest_read(q->srv, rt->res, rt->ns, rt->name, NULL, &err);
    if (!pod) sk_proxy_reply_err(q, &err, "pods", rt->name);
    sk_err_clear(&err);
    return pod;
}

/* Node agent address for the pod; -1 when replied. */
static int agent_of(struct sk_req *q, const json_t *pod, const char *node,
                    struct sk_node_conn *nc)
{
    sk_err err = SK_ERR_INIT;
    if (sk_proxy_node_conn(q->srv, node, nc, &err) < 0) {
        sk_proxy_reply_err(q, &err, "nodes", node);
        sk_err_clear(&err);
        return -1;
    }
    if (!q->srv->proxy->cert_path[0]) {
        sk_proxy_status(q, 503, "ServiceUnavailable",
                        "the API server has no client certificate for node agents");
        return -1;
    }
    return 0;
}

/* ---- pods/log ------------------------------------------------------------------ */

struct log_opts {
    bool follow, previous, timestamps;
    bool has_since, has_since_time, has_tail, has_limit;
    int64_t since, since_time, tail, limit;
};

/* Decodes PodLogOptions from the query; -1 when replied. */
static int log_options(struct sk_req *q, const char *pod, struct log_opts *o)
{
    static const char *const bools[] = {"follow", "previous", "timestamps",
                                        "insecureSkipTLSVerifyBackend"};
    bool *dst[] = {&o->follow, &o->previous, &o->timestamps, NULL};
    for (size_t i = 0; i < SK_ARRAY_LEN(bools); i++) {
        const char *v = sk_req_arg(q, bools[i]);
        bool b;
        if (!v) continue;
        if (parse_bool(v, &b) < 0) {
            sk_reply_status(q, SK_EBADREQUEST, "strconv.ParseBool: parsing \"%s\": invalid syntax", v);
            return -1;
        }
        if (dst[i]) *dst[i] = b; /* every agent connection skips verification anyway */
    }
    static const char *const ints[] = {"sinceSeconds", "tailLines", "limitBytes"};
    int64_t *iv[] = {&o->since, &o->tail, &o->limit};
    bool *ih[] = {&o->has_since, &o->has_tail, &o->has_limit};
    for (size_t i = 0; i < SK_ARRAY_LEN(ints); i++) {
        const char *v = sk_req_arg(q, ints[i]);
        if (!v) continue;
        if (parse_i64(v, iv[i]) < 0) {
            sk_reply_status(q, SK_EBADREQUEST, "strconv.ParseInt: parsing \"%s\": invalid syntax", v);
            return -1;
        }
        *ih[i] = true;
    }
    const char *st = sk_req_arg(q, "sinceTime");
    if (st) {
        o->since_time = sk_time_parse(st);
        if (o->since_time < 0) {
            sk_reply_status(q, SK_EBADREQUEST,
                            "parsing time \"%s\" as \"2006-01-02T15:04:05Z07:00\": cannot parse", st);
            return -1;
        }
        o->has_since_time = true;
    }
    /* ValidatePodLogOptions */
    sk_err err = SK_ERR_INIT;
    if (o->has_tail && o->tail < 0)
        sk_err_cause(&err, "FieldValueInvalid", "tailLines",
                     "Invalid value: %lld: must be greater than or equal to 0", (long long)o->tail);
    if (o->has_limit && o->limit < 1)
        sk_err_cause(&err, "FieldValueInvalid", "limitBytes",
                     "Invalid value: %lld: must be greater than 0", (long long)o->limit);
    if (o->has_since && o->has_since_time)
        sk_err_cause(&err, "FieldValueForbidden", "",
                     "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified");
    else if (o->has_since && o->since < 1)
        sk_err_cause(&err, "FieldValueInvalid", "sinceSeconds",
                     "Invalid value: %lld: must be greater than 0", (long long)o->since);
    if (!err.causes) return 0;
    sk_buf m = SK_BUF_INIT;
    size_t i, n = json_array_size(err.causes);
    json_t *c;
    json_array_foreach(err.causes, i, c) {
        const char *f = sk_json_str(c, "field");
        sk_buf_addf(&m, "%s%s: %s", i ? ", " : "", f ? f : "", sk_json_str(c, "message"));
    }
    err.code = SK_EINVALID;
    snprintf(err.msg, sizeof err.msg, "PodLogOptions \"%s\" is invalid: %s%s%s", pod,
             n > 1 ? "[" : "", m.data, n > 1 ? "]" : "");
    sk_buf_release(&m);
    sk_reply_err(q, &err, NULL);
    sk_err_clear(&err);
    return -1;
}

static void log_query(const struct log_opts *o, sk_buf *b)
{
    char sep = '?';
#define ADD(...) do { sk_buf_add(b, &sep, 1); sep = '&'; sk_buf_addf(b, __VA_ARGS__); } while (0)
    if (o->follow) ADD("follow=true");
    if (o->has_limit) ADD("limitBytes=%lld", (long long)o->limit);
    if (o->previous) ADD("previous=true");
    if (o->has_since) ADD("sinceSeconds=%lld", (long long)o->since);
    if (o->has_since_time) {
        char ts[40];
        sk_time_format(o->since_time, ts, sizeof ts);
        ADD("sinceTime=%.4s-%.2s-%.2sT%.2s%%3A%.2s%%3A%.2sZ", ts, ts + 5, ts + 8, ts + 11,
            ts + 14, ts + 17);
    }
    if (o->has_tail) ADD("tailLines=%lld", (long long)o->tail);
    if (o->timestamps) ADD("timestamps=true");
#undef ADD
}

static const char *reason_of(long code)
{
    switch (code) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 409: return "Conflict";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return code >= 500 ? "InternalError" : NULL;
    }
}

/* An agent error: its Status passes through; plain text is wrapped as
 * upstream's GenericHttpResponseChecker does. */
static void log_error(struct sk_req *q, struct sk_fwd *f, const char *pod)
{
    long code = sk_fwd_status(f);
    sk_buf body = SK_BUF_INIT;
    sk_fwd_read(f, &body, 50000);
    json_error_t je;
    _sk_json_ json_t *st = body.len ? json_loadb(body.data, body.len, 0, &je) : NULL;
    const char *kind = sk_json_str(st, "kind");
    if (kind && !strcmp(kind, "Status") && code >= 400 && code <= 599) {
        sk_reply_buf(q, (unsigned)code, "application/json", body.data, body.len);
    } else {
        const char *text = body.len ? body.data : "";
        if (code == 500) sk_proxy_status(q, 500, "InternalError", "Internal error occurred: %s", text);
        else if (code < 400 || code > 599) sk_proxy_status(q, 500, "InternalError",
                                                     "an error on the server (\"%s\") has prevented "
                                                     "the request from succeeding (get pods/log %s)",
                                                     text, pod);
        else sk_proxy_status(q, (int)code, reason_of(code), "%s", text);
    }
    sk_buf_release(&body);
}

void sk_proxy_pod_log(struct sk_req *q, struct sk_route *rt)
{
    if (strcmp(q->method, "GET")) {
        sk_reply_status(q, SK_ENOTALLOWED,
                        "the server does not allow this method on the requested resource");
        return;
    }
    struct log_opts o;
    memset(&o, 0, sizeof o);
    if (log_options(q, rt->name, &o) < 0) return;
    _sk_json_ json_t *pod = read_pod(q, rt);
    if (!pod) return;
    char ctr[256];
    if (pick_container(q, pod, rt->name, sk_req_arg(q, "container"), ctr, sizeof ctr) < 0) return;
    const char *node = sk_json_path_str(pod, "spec.nodeName");
    if (!node || !node[0]) {
        /* Upstream streams nothing for an unscheduled pod: 204 No Content. */
        sk_reply_buf(q, 204, "text/plain", "", 0);
        return;
    }
    struct sk_node_conn nc;
    if (agent_of(q, pod, node, &nc) < 0) return;
    sk_buf url = SK_BUF_INIT;
    sk_buf_addf(&url, "https://%s/containerLogs/", nc.hostport);
    sk_proxy_escape_path(&url, rt->ns);
    sk_buf_adds(&url, "/");
    sk_proxy_escape_path(&url, rt->name);
    sk_buf_adds(&url, "/");
    sk_proxy_escape_path(&url, ctr);
    log_query(&o, &url);
    struct sk_fwd_req fr = {"GET", url.data, true, NULL, NULL, 0, NULL};
    sk_err err = SK_ERR_INIT;
    struct sk_fwd *f = sk_fwd_open(q, &fr, &err);
    if (!f) {
        sk_proxy_status(q, 500, NULL, "Get \"%s\": %s", url.data, err.msg);
    } else if (sk_fwd_status(f) < 200 || sk_fwd_status(f) > 206) {
        log_error(q, f, rt->name);
        sk_fwd_free(f);
    } else {
        sk_fwd_reply(q, f, "text/plain");
    }
    sk_err_clear(&err);
    sk_buf_release(&url);
}

/* ---- pods/exec, pods/attach, pods/portforward ----------------------------------- */

void sk_proxy_pod_stream(struct sk_req *q, struct sk_route *rt)
{
    if (strcmp(q->method, "GET") && strcmp(q->method, "POST")) {
        sk_reply_status(q, SK_ENOTALLOWED,
                        "the server does not allow this method on the requested resource");
        return;
    }
    bool exec = !strcmp(rt->sub, "exec"), pf = !strcmp(rt->sub, "portforward");
    if (exec && !sk_req_arg(q, "command")) {
        sk_reply_status(q, SK_EBADREQUEST, "you must specify at least 1 command");
        return;
    }
    _sk_json_ json_t *pod = read_pod(q, rt);
    if (!pod) return;
    char ctr[256] = "";
    if (!pf && pick_container(q, pod, rt->name, sk_req_arg(q, "container"), ctr, sizeof ctr) < 0)
        return;
    const char *node = sk_json_path_str(pod, "spec.nodeName");
    if (!node || !node[0]) {
        sk_reply_status(q, SK_EBADREQUEST, "pod %s does not have a host assigned", rt->name);
        return;
    }
    struct sk_node_conn nc;
    if (agent_of(q, pod, node, &nc) < 0) return;
    if (!sk_proxy_is_upgrade(q)) {
        sk_reply_status(q, SK_EBADREQUEST, "Upgrade request required");
        return;
    }
    sk_buf path = SK_BUF_INIT;
    sk_buf_adds(&path, exec ? "/exec/" : pf ? "/portForward/" : "/attach/");
    sk_proxy_escape_path(&path, rt->ns);
    sk_buf_adds(&path, "/");
    sk_proxy_escape_path(&path, rt->name);
    if (!pf) {
        sk_buf_adds(&path, "/");
        sk_proxy_escape_path(&path, ctr);
    }
    /* The client's own query (command=, stdin=, ...) is what the agent reads. */
    sk_proxy_add_query(q, &path);
    struct sk_tunnel_target t = {"https", nc.hostport, path.data, true, true};
    sk_tunnel_reply(q, &t);
    sk_buf_release(&path);
}
