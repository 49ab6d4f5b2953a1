/* Field selectors, following k8s.io/apimachinery/pkg/fields (v0.32):
 * comma-separated terms "field=value", "field==value", "field!=value";
 * values escape '\', ',' and '=' with a backslash. Terms are kept sorted,
 * as upstream sorts them before use. */
#include "api/patch.h"

#include <stdio.h>
#include <string.h>

#define FS_MAX_LEN (64 * 1024)
#define FS_MAX_TERMS 256

struct term {
    char *field;
    char *value;
    bool neq;
};

struct sk_fieldsel {
    struct term *terms;
    size_t n;
};

void sk_fieldsel_free(sk_fieldsel *fs)
{
    if (!fs) return;
    for (size_t i = 0; i < fs->n; i++) {
        free(fs->terms[i].field);
        free(fs->terms[i].value);
    }
    free(fs->terms);
    free(fs);
}

/* Splits on commas not preceded by a backslash escape; parts are copies. */
static char **split_terms(const char *s, size_t *n)
{
    size_t cap = 4, start = 0;
    char **v = sk_malloc(cap * sizeof *v);
    bool slash = false;
    *n = 0;
    for (size_t i = 0;; i++) {
        if (s[i] && slash) {
            slash = false;
        } else if (s[i] == '\\') {
            slash = true;
        } else if (s[i] == ',' || !s[i]) {
            if (*n == cap) v = sk_realloc(v, (cap *= 2) * sizeof *v);
            v[(*n)++] = sk_strndup(s + start, i - start);
            start = i + 1;
        }
        if (!s[i]) break;
    }
    return v;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Unescapes a value; upstream prints the offending rune as a number. */
static char *unescape(const char *s, sk_err *err)
{
    size_t n = strlen(s), o = 0;
    char *out = sk_malloc(n + 1);
    bool slash = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (slash) {
            if (c != '\\' && c != ',' && c != '=') {
                sk_err_set(err, SK_EBADREQUEST,
                           "invalid field selector: invalid escape sequence: \\%c", c);
                free(out);
                return NULL;
            }
            out[o++] = c;
            slash = false;
        } else if (c == '\\') {
            slash = true;
        } else if (c == ',' || c == '=') {
            sk_err_set(err, SK_EBADREQUEST,
                       "invalid field selector: unescaped character in value: %d", c);
            free(out);
            return NULL;
        } else {
            out[o++] = c;
        }
    }
    if (slash) {
        sk_err_set(err, SK_EBADREQUEST, "invalid field selector: invalid escape sequence: \\");
        free(out);
        return NULL;
    }
    out[o] = 0;
    return out;
}

/* The first operator found scanning left to right ("!=" before "==" before "="). */
static int split_term(const char *t, struct term *out, sk_err *err)
{
    for (size_t i = 0; t[i]; i++) {
        size_t oplen = 0;
        bool neq = false;
        if (!strncmp(t + i, "!=", 2)) oplen = 2, neq = true;
        else if (!strncmp(t + i, "==", 2)) oplen = 2;
        else if (t[i] == '=') oplen = 1;
        if (!oplen) continue;
        char *v = unescape(t + i + oplen, err);
        if (!v) return -1;
        *out = (struct term){sk_strndup(t, i), v, neq};
        return 0;
    }
    return 1;
}

static bool allowed_field(const char *f, const char *const *allowed)
{
    if (!allowed) return true;
    for (; *allowed; allowed++)
        if (!strcmp(*allowed, f)) return true;
    return false;
}

static int parse_terms(sk_fieldsel *fs, const char *s, char **parts, size_t nparts,
                       const char *const *allowed, sk_err *err)
{
    for (size_t i = 0; i < nparts; i++) {
        if (!*parts[i]) continue;
        struct term t;
        int rc = split_term(parts[i], &t, err);
        if (rc < 0) return -1;
        if (rc > 0)
            return sk_err_set(err, SK_EBADREQUEST, "invalid selector: '%s'; can't understand '%s'",
                              s, parts[i]);
        fs->terms[fs->n++] = t;
    }
    /* Unsupported fields are found after the whole selector parsed, as
     * upstream checks them when transforming the parsed selector. */
    for (size_t i = 0; i < fs->n; i++)
        if (!allowed_field(fs->terms[i].field, allowed))
            return sk_err_set(err, SK_EBADREQUEST, "field label not supported: %s",
                              fs->terms[i].field);
    return 0;
}

sk_fieldsel *sk_fieldsel_parse(const char *s, const char *const *allowed, sk_err *err)
{
    if (!s) s = "";
    if (strlen(s) > FS_MAX_LEN) {
        sk_err_set(err, SK_EBADREQUEST, "field selector too long (max %d bytes)", FS_MAX_LEN);
        return NULL;
    }
    sk_fieldsel *fs = sk_calloc(1, sizeof *fs);
    if (!*s) return fs;
    size_t n;
    char **parts = split_terms(s, &n);
    int rc = 0;
    if (n > FS_MAX_TERMS) {
        rc = sk_err_set(err, SK_EBADREQUEST, "field selector has too many terms (max %d)",
                        FS_MAX_TERMS);
    } else {
        qsort(parts, n, sizeof *parts, cmp_str);
        fs->terms = sk_calloc(n, sizeof *fs->terms);
        rc = parse_terms(fs, s, parts, n, allowed, err);
    }
    for (size_t i = 0; i < n; i++) free(parts[i]);
    free(parts);
    if (rc < 0) {
        sk_fieldsel_free(fs);
        return NULL;
    }
    return fs;
}

/* Looks a dotted path up; the string form of scalars, "" when missing or
 * not a scalar. buf holds number renderings. */
static const char *field_value(const json_t *obj, const char *path, char *buf, size_t n)
{
    const json_t *cur = obj;
    const char *p = path;
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (!json_is_object(cur)) return "";
        cur = json_object_getn(cur, p, len);
        p = dot ? dot + 1 : p + len;
    }
    if (!cur) return "";
    switch (json_typeof(cur)) {
    case JSON_STRING: return json_string_value(cur);
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_INTEGER:
        snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(cur));
        return buf;
    case JSON_REAL:
        /* Shortest form that reads back, like Go's strconv 'g' with -1. */
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, n, "%.*g", prec, json_real_value(cur));
            if (strtod(buf, NULL) == json_real_value(cur)) break;
        }
        return buf;
    default: return "";
    }
}

bool sk_fieldsel_match(const sk_fieldsel *fs, const json_t *obj)
{
    char buf[64];
    for (size_t i = 0; fs && i < fs->n; i++) {
        const struct term *t = &fs->terms[i];
        bool eq = !strcmp(field_value(obj, t->field, buf, sizeof buf), t->value);
        if (eq == t->neq) return false;
    }
    return true;
}

const char *sk_fieldsel_pinned(const sk_fieldsel *fs, const char *field)
{
    for (size_t i = 0; fs && field && i < fs->n; i++)
        if (!fs->terms[i].neq && !strcmp(fs->terms[i].field, field)) return fs->terms[i].value;
    return NULL;
}
