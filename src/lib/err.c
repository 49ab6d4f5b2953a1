/* sk_err: a caller-owned error value with a Kubernetes reason code. */
#include "lib.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct { const char *reason; int http; } codes[] = {
    [SK_OK] = {"", 200},
    [SK_EINTERNAL] = {"InternalError", 500},
    [SK_ENOTFOUND] = {"NotFound", 404},
    [SK_EEXIST] = {"AlreadyExists", 409},
    [SK_ECONFLICT] = {"Conflict", 409},
    [SK_EINVALID] = {"Invalid", 422},
    [SK_EBADREQUEST] = {"BadRequest", 400},
    [SK_EUNAUTHORIZED] = {"Unauthorized", 401},
    [SK_EFORBIDDEN] = {"Forbidden", 403},
    [SK_ENOTALLOWED] = {"MethodNotAllowed", 405},
    [SK_ENOTACCEPTABLE] = {"NotAcceptable", 406},
    [SK_EGONE] = {"Expired", 410},
    [SK_ETOOLARGE] = {"RequestEntityTooLarge", 413},
    [SK_EMEDIATYPE] = {"UnsupportedMediaType", 415},
    [SK_ETIMEOUT] = {"Timeout", 504},
    [SK_EUNAVAILABLE] = {"ServiceUnavailable", 503},
};

const char *sk_code_reason(enum sk_code code)
{
    if ((unsigned)code >= SK_ARRAY_LEN(codes)) return "InternalError";
    return codes[code].reason;
}

int sk_code_http(enum sk_code code)
{
    if ((unsigned)code >= SK_ARRAY_LEN(codes)) return 500;
    return codes[code].http;
}

int sk_err_set(sk_err *err, enum sk_code code, const char *fmt, ...)
{
    if (!err) return -1;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int sk_err_sys(sk_err *err, const char *fmt, ...)
{
    int e = errno;
    if (!err) return -1;
    err->code = SK_EINTERNAL;
    err->sys_errno = e;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof err->msg)
        snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(e));
    return -1;
}

int sk_err_wrap(sk_err *err, const char *fmt, ...)
{
    if (!err) return -1;
    char prefix[256], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    if (err->code == SK_OK) err->code = SK_EINTERNAL;
    return -1;
}

void sk_err_cause(sk_err *err, const char *reason, const char *field, const char *fmt, ...)
{
    if (!err) return;
    char m[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    if (!err->causes) err->causes = json_array();
    json_array_append_new(err->causes, json_pack("{s:s,s:s,s:s}", "reason", reason,
                                                 "message", m, "field", field ? field : ""));
}

void sk_err_clear(sk_err *err)
{
    if (!err) return;
    json_decref(err->causes);
    memset(err, 0, sizeof *err);
}
