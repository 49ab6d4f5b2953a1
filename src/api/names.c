/* Name and label validation with the messages of apimachinery v0.32
 * (k8s.io/apimachinery/pkg/util/validation): IsDNS1123Label,
 * IsDNS1123Subdomain, IsQualifiedName and IsValidLabelValue.
 *
 * Upstream returns a list of messages; we return them joined with "; "
 * (as the label selector parser does), NULL when valid. Single messages
 * are static strings; combined ones live in a thread-local buffer that the
 * next call on the same thread overwrites, so callers copy what they keep. */
#include "api/patch.h"

#include <stdio.h>
#include <string.h>

#define DNS1123_LABEL_MAX 63
#define DNS1123_SUBDOMAIN_MAX 253
#define QNAME_MAX 63
#define LABEL_VALUE_MAX 63

#define LABEL_FMT "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
#define QNAME_FMT "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define QNAME_MSG                                                                         \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end " \
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "     \
    "regex used for validation is '" QNAME_FMT "')"

static const char msg_label_regex[] =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    "regex used for validation is '" LABEL_FMT "')";
static const char msg_subdomain_regex[] =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
    "regex used for validation is '" LABEL_FMT "(\\." LABEL_FMT ")*')";
static const char msg_qname_slashes[] =
    "a qualified name " QNAME_MSG
    " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
static const char msg_value_regex[] =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is '(" QNAME_FMT ")?')";

/* Accumulates messages joined with "; " in a thread-local buffer. */
struct msgs {
    char *buf;
    size_t cap, len;
    int n;
    const char *single; /* the only message so far, if static */
};

static __thread char tls_buf[2048];

static void msgs_init(struct msgs *m)
{
    m->buf = tls_buf;
    m->cap = sizeof tls_buf;
    m->len = 0;
    m->n = 0;
    m->single = NULL;
    m->buf[0] = 0;
}

static void msgs_add(struct msgs *m, const char *prefix, const char *msg)
{
    if (m->n == 0 && !prefix) m->single = msg;
    else m->single = NULL;
    int w = snprintf(m->buf + m->len, m->cap - m->len, "%s%s%s", m->n ? "; " : "",
                     prefix ? prefix : "", msg);
    if (w > 0) m->len += (size_t)w < m->cap - m->len ? (size_t)w : m->cap - m->len - 1;
    m->n++;
}

static const char *msgs_result(const struct msgs *m)
{
    if (m->n == 0) return NULL;
    return m->single ? m->single : m->buf;
}

static bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

static bool is_alnum(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? over s[0..n) */
static bool match_label(const char *s, size_t n)
{
    if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1])) return false;
    for (size_t i = 1; i + 1 < n; i++)
        if (!is_lower_alnum(s[i]) && s[i] != '-') return false;
    return true;
}

static bool match_subdomain(const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (!match_label(s + start, i - start)) return false;
            start = i + 1;
        }
    }
    return true;
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] */
static bool match_qname(const char *s, size_t n)
{
    if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1])) return false;
    for (size_t i = 1; i + 1 < n; i++)
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.') return false;
    return true;
}

static const char *max_len_msg(int n)
{
    switch (n) {
    case 63: return "must be no more than 63 characters";
    case 253: return "must be no more than 253 characters";
    default: return "must be no more than the maximum number of characters";
    }
}

const char *sk_check_dns1123_label(const char *s)
{
    if (!s) s = "";
    struct msgs m;
    msgs_init(&m);
    size_t n = strlen(s);
    if (n > DNS1123_LABEL_MAX) msgs_add(&m, NULL, max_len_msg(DNS1123_LABEL_MAX));
    if (!match_label(s, n))
        msgs_add(&m, NULL, match_subdomain(s, n) ? "must not contain dots" : msg_label_regex);
    return msgs_result(&m);
}

static void check_subdomain(struct msgs *m, const char *prefix, const char *s, size_t n)
{
    if (n > DNS1123_SUBDOMAIN_MAX) msgs_add(m, prefix, max_len_msg(DNS1123_SUBDOMAIN_MAX));
    if (!match_subdomain(s, n)) msgs_add(m, prefix, msg_subdomain_regex);
}

const char *sk_check_dns1123_subdomain(const char *s)
{
    if (!s) s = "";
    struct msgs m;
    msgs_init(&m);
    check_subdomain(&m, NULL, s, strlen(s));
    return msgs_result(&m);
}

const char *sk_check_label_key(const char *s)
{
    if (!s) s = "";
    struct msgs m;
    msgs_init(&m);
    const char *slash = strchr(s, '/');
    const char *name = s;
    if (slash) {
        if (strchr(slash + 1, '/')) return msg_qname_slashes;
        size_t plen = (size_t)(slash - s);
        if (plen == 0) msgs_add(&m, "prefix part ", "must be non-empty");
        else check_subdomain(&m, "prefix part ", s, plen);
        name = slash + 1;
    }
    size_t n = strlen(name);
    if (n == 0) msgs_add(&m, "name part ", "must be non-empty");
    else if (n > QNAME_MAX) msgs_add(&m, "name part ", max_len_msg(QNAME_MAX));
    if (!match_qname(name, n)) msgs_add(&m, "name part ", QNAME_MSG);
    return msgs_result(&m);
}

const char *sk_check_label_value(const char *s)
{
    if (!s) s = "";
    struct msgs m;
    msgs_init(&m);
    size_t n = strlen(s);
    if (n > LABEL_VALUE_MAX) msgs_add(&m, NULL, max_len_msg(LABEL_VALUE_MAX));
    if (n > 0 && !match_qname(s, n)) msgs_add(&m, NULL, msg_value_regex);
    return msgs_result(&m);
}
