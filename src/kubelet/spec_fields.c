/* Values a container's configuration is computed from: quantities, $(VAR)
 * expansion and the downward API (fieldRef, resourceFieldRef), shared by
 * the container spec and the downwardAPI volume files. Formats follow
 * upstream v1.32: fieldpath.ExtractFieldPathAsString / FormatMap,
 * resource.ExtractContainerResourceValue (ceil of value / divisor). */
#include "kubelet/spec_int.h"
#include "api/patch.h"

#include <ctype.h>
#include <string.h>
#include <sys/statvfs.h>

/* ---- quantities -------------------------------------------------------------- */

/* Binary and decimal SI suffixes; "E" alone is exa, "E3"/"e3" an exponent. */
static int quantity_suffix(const char *s, int *e10, int *e2)
{
    static const struct { const char *s; int e10, e2; } tab[] = {
        {"", 0, 0},   {"n", -9, 0}, {"u", -6, 0}, {"m", -3, 0}, {"k", 3, 0},
        {"M", 6, 0},  {"G", 9, 0},  {"T", 12, 0}, {"P", 15, 0}, {"E", 18, 0},
        {"Ki", 0, 10}, {"Mi", 0, 20}, {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50}, {"Ei", 0, 60},
    };
    *e10 = *e2 = 0;
    for (size_t i = 0; i < SK_ARRAY_LEN(tab); i++)
        if (!strcmp(s, tab[i].s)) {
            *e10 = tab[i].e10;
            *e2 = tab[i].e2;
            return 0;
        }
    if (s[0] != 'e' && s[0] != 'E') return -1;
    const char *p = s + 1;
    bool neg = *p == '-';
    if (*p == '-' || *p == '+') p++;
    if (!*p) return -1;
    long v = 0;
    for (; *p; p++) {
        if (!isdigit((unsigned char)*p)) return -1;
        if (v < 100000) v = v * 10 + (*p - '0'); /* anything this big saturates anyway */
    }
    *e10 = (int)(neg ? -v : v);
    return 0;
}

int sk_kl_quantity(const char *s, int scale10, int64_t *out)
{
    if (!s || !*s || strlen(s) > 256) return -1;
    const char *p = s;
    bool neg = *p == '-';
    if (*p == '-' || *p == '+') p++;
    __int128 m = 0;
    int e10 = 0, sig = 0;
    bool dot = false, any = false, inexact = false;
    for (; *p == '.' || isdigit((unsigned char)*p); p++) {
        if (*p == '.') {
            if (dot) return -1;
            dot = true;
            continue;
        }
        any = true;
        int d = *p - '0';
        if (sig < 36) { /* 10^36 < 2^127: m never overflows */
            m = m * 10 + d;
            if (m) sig++;
            if (dot) e10--;
        } else {
            if (d) inexact = true;
            if (!dot) e10++;
        }
    }
    if (!any) return -1;
    int se10, se2;
    if (quantity_suffix(p, &se10, &se2) < 0) return -1;
    long e = (long)e10 + se10 + scale10;
    const __int128 lim = INT64_MAX;
    __int128 v = m;
    for (int i = 0; i < se2 && v && v <= lim; i++) v *= 2;
    if (e >= 0) {
        for (long i = 0; i < e && v && v <= lim; i++) v *= 10;
    } else {
        bool rem = inexact;
        for (long i = 0; i < -e && v; i++) {
            if (v % 10) rem = true;
            v /= 10;
        }
        if (rem && !neg) v += 1; /* ceil; for negatives truncation is the ceiling */
    }
    if (v > lim) v = lim;
    *out = (int64_t)(neg ? -v : v);
    return 0;
}

int sk_kl_quantity_json(const json_t *q, int scale10, int64_t *out)
{
    if (json_is_string(q)) return sk_kl_quantity(json_string_value(q), scale10, out);
    if (json_is_integer(q)) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(q));
        return sk_kl_quantity(buf, scale10, out);
    }
    if (json_is_real(q)) {
        char buf[64];
        snprintf(buf, sizeof buf, "%.17g", json_real_value(q));
        return sk_kl_quantity(buf, scale10, out);
    }
    return -1;
}

/* ---- expansion ----------------------------------------------------------------- */

char *sk_kl_expand(const char *in, sk_kl_var_fn fn, void *ud, size_t max)
{
    sk_buf b = SK_BUF_INIT;
    size_t n = strlen(in), cp = 0;
    for (size_t c = 0; c + 1 < n; c++) {
        if (in[c] != '$') continue;
        sk_buf_add(&b, in + cp, c - cp);
        const char *r = in + c + 1;
        const char *close = *r == '(' ? memchr(r + 1, ')', n - c - 2) : NULL;
        if (*r == '$') {
            sk_buf_add(&b, "$", 1); /* $$ escapes */
            c += 1;
        } else if (close) {
            _sk_free_ char *name = sk_strndup(r + 1, (size_t)(close - r - 1));
            const char *v = fn(ud, name);
            if (v) sk_buf_adds(&b, v);
            else sk_buf_add(&b, r - 1, (size_t)(close - r + 2)); /* unknown: kept as written */
            c += (size_t)(close - r) + 1;
        } else {
            sk_buf_add(&b, r - 1, 2); /* "$(" without ")" or "$x": literal */
            c += 1;
        }
        cp = c + 1;
        if (b.len > max) {
            sk_buf_release(&b);
            return NULL;
        }
    }
    sk_buf_add(&b, in + cp, n - cp);
    if (b.len > max) {
        sk_buf_release(&b);
        return NULL;
    }
    char *s = sk_buf_take(&b);
    return s ? s : sk_strdup("");
}

/* ---- fieldRef --------------------------------------------------------------------- */

/* Go's %q for the values of FormatMap: printable UTF-8 kept, the rest escaped. */
static void go_quote(sk_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    sk_buf_add(b, "\"", 1);
    while (*p) {
        unsigned c = *p;
        if (c < 0x80) {
            static const char esc[] = "\a\b\f\n\r\t\v";
            const char *e = c ? strchr(esc, (int)c) : NULL;
            if (c == '"' || c == '\\') sk_buf_addf(b, "\\%c", c);
            else if (e) sk_buf_addf(b, "\\%c", "abfnrtv"[e - esc]);
            else if (c < 0x20 || c == 0x7f) sk_buf_addf(b, "\\x%02x", c);
            else sk_buf_add(b, p, 1);
            p++;
            continue;
        }
        int len = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
        uint32_t cp = len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
        for (int i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80) { len = 0; break; }
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if (len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) len = 0;
        if (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) len = 0;
        if (!len) {
            sk_buf_addf(b, "\\x%02x", c);
            p++;
        } else if (cp < 0xa1 || cp == 0xad || cp == 0x2028 || cp == 0x2029 || cp == 0xfeff) {
            sk_buf_addf(b, "\\u%04x", cp); /* not unicode.IsPrint */
            p += len;
        } else {
            sk_buf_add(b, p, (size_t)len);
            p += len;
        }
    }
    sk_buf_add(b, "\"", 1);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* FormatMap: `k="v"` lines in key order, no trailing newline. */
static char *format_map(const json_t *m)
{
    size_t n = json_is_object(m) ? json_object_size(m) : 0, i = 0;
    _sk_free_ const char **keys = sk_calloc(n + 1, sizeof *keys);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)m, k, v) keys[i++] = k;
    qsort(keys, i, sizeof *keys, cmp_str);
    sk_buf b = SK_BUF_INIT;
    for (size_t j = 0; j < i; j++) {
        if (j) sk_buf_add(&b, "\n", 1);
        sk_buf_adds(&b, keys[j]);
        sk_buf_add(&b, "=", 1);
        const char *s = sk_json_str(m, keys[j]);
        go_quote(&b, s ? s : "");
    }
    char *s = sk_buf_take(&b);
    return s ? s : sk_strdup("");
}

/* "metadata.labels['key']" -> path and subscript (SplitMaybeSubscriptedPath). */
static bool split_subscript(const char *fp, char **path, char **sub)
{
    size_t n = strlen(fp);
    if (n < 2 || strcmp(fp + n - 2, "']")) return false;
    const char *open = strstr(fp, "['");
    if (!open || open == fp || open + 2 > fp + n - 2) return false;
    *path = sk_strndup(fp, (size_t)(open - fp));
    *sub = sk_strndup(open + 2, (size_t)(fp + n - 2 - (open + 2)));
    return true;
}

static char *subscripted(const json_t *pod, const char *fp, const char *path, const char *sub, sk_err *err)
{
    bool ann = !strcmp(path, "metadata.annotations");
    if (!ann && strcmp(path, "metadata.labels")) {
        sk_err_set(err, SK_EINVALID, "fieldPath \"%s\" does not support subscript", path);
        return NULL;
    }
    _sk_free_ char *key = sk_strdup(sub);
    for (char *c = key; ann && *c; c++) *c = (char)tolower((unsigned char)*c);
    const char *why = sk_check_label_key(key);
    if (why) {
        sk_err_set(err, SK_EINVALID, "invalid key subscript in %s: %s", fp, why);
        return NULL;
    }
    const char *v = sk_json_str(sk_json_path(pod, path), sub);
    return sk_strdup(v ? v : "");
}

static bool field_label_supported(const char *fp)
{
    static const char *const ok[] = {
        "metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace",
        "metadata.uid", "spec.nodeName", "spec.restartPolicy", "spec.serviceAccountName",
        "spec.schedulerName", "status.phase", "status.hostIP", "status.hostIPs",
        "status.podIP", "status.podIPs",
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(ok); i++)
        if (!strcmp(fp, ok[i])) return true;
    return false;
}

char *sk_kl_fieldref(const json_t *pod, const json_t *ref, const struct sk_kl_field_env *env,
                     sk_err *err)
{
    const char *fp = sk_json_str(ref, "fieldPath");
    const char *ver = sk_json_str(ref, "apiVersion");
    if (!fp || !*fp) {
        sk_err_set(err, SK_EINVALID, "fieldRef: fieldPath is required");
        return NULL;
    }
    if (ver && *ver && strcmp(ver, "v1")) {
        sk_err_set(err, SK_EINVALID, "unsupported pod version: %s", ver);
        return NULL;
    }
    _sk_free_ char *path = NULL, *sub = NULL;
    if (split_subscript(fp, &path, &sub)) return subscripted(pod, fp, path, sub, err);
    if (env && !field_label_supported(fp)) {
        sk_err_set(err, SK_EINVALID, "field label not supported: %s", fp);
        return NULL;
    }
    const char *v = NULL;
    if (env && !strcmp(fp, "spec.nodeName")) v = sk_json_path_str(pod, "spec.nodeName");
    else if (env && !strcmp(fp, "spec.serviceAccountName")) v = sk_json_path_str(pod, "spec.serviceAccountName");
    else if (env && !strcmp(fp, "status.hostIP")) v = env->host_ip;
    else if (env && !strcmp(fp, "status.hostIPs")) v = env->host_ips;
    else if (env && !strcmp(fp, "status.podIP")) v = env->pod_ip;
    else if (env && !strcmp(fp, "status.podIPs")) v = env->pod_ips;
    else if (!strcmp(fp, "metadata.annotations")) return format_map(sk_json_path(pod, "metadata.annotations"));
    else if (!strcmp(fp, "metadata.labels")) return format_map(sk_json_path(pod, "metadata.labels"));
    else if (!strcmp(fp, "metadata.name")) v = sk_json_path_str(pod, "metadata.name");
    else if (!strcmp(fp, "metadata.namespace")) v = sk_json_path_str(pod, "metadata.namespace");
    else if (!strcmp(fp, "metadata.uid")) v = sk_json_path_str(pod, "metadata.uid");
    else {
        sk_err_set(err, SK_EINVALID, "unsupported fieldPath: %s", fp);
        return NULL;
    }
    return sk_strdup(v ? v : "");
}

/* ---- resourceFieldRef ----------------------------------------------------------- */

void sk_kl_node_allocatable(struct sk_kl_alloc *out)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN), pages = sysconf(_SC_PHYS_PAGES);
    long psz = sysconf(_SC_PAGESIZE);
    out->cpu_milli = (cpus > 0 ? cpus : 1) * 1000;
    out->memory = pages > 0 && psz > 0 ? (int64_t)pages * psz : 0;
    struct statvfs st;
    out->ephemeral = statvfs("/", &st) == 0 ? (int64_t)st.f_blocks * (int64_t)st.f_frsize : 0;
}

const json_t *sk_kl_find_container(const json_t *pod, const char *name)
{
    static const char *const lists[] = {"spec.containers", "spec.initContainers",
                                        "spec.ephemeralContainers"};
    for (size_t l = 0; l < SK_ARRAY_LEN(lists); l++) {
        size_t i;
        json_t *c;
        json_array_foreach(sk_json_path(pod, lists[l]), i, c) {
            const char *n = sk_json_str(c, "name");
            if (n && name && !strcmp(n, name)) return c;
        }
    }
    return NULL;
}

/* limits.X / requests.X of ctr in the unit scale (milli for cpu); an unset
 * request is its limit (API defaulting), an unset limit the allocatable
 * (MergeContainerResourceLimits). */
static int64_t ctr_resource(const json_t *ctr, bool limit, const char *res, int scale10)
{
    json_t *r = json_object_get(ctr, "resources");
    int64_t v = 0;
    if (!limit && sk_kl_quantity_json(json_object_get(json_object_get(r, "requests"), res), scale10, &v) == 0)
        return v;
    if (sk_kl_quantity_json(json_object_get(json_object_get(r, "limits"), res), scale10, &v) == 0 && v > 0)
        return v;
    if (!limit) return 0;
    struct sk_kl_alloc a;
    sk_kl_node_allocatable(&a);
    if (!strcmp(res, "cpu")) return a.cpu_milli;
    return !strcmp(res, "memory") ? a.memory : a.ephemeral;
}

char *sk_kl_resource_fieldref(const json_t *pod, const json_t *ctr, const json_t *ref, sk_err *err)
{
    const char *cname = sk_json_str(ref, "containerName");
    const char *res = sk_json_str(ref, "resource");
    if (cname && *cname) {
        ctr = sk_kl_find_container(pod, cname);
        if (!ctr) {
            sk_err_set(err, SK_EINVALID, "container %s not found", cname);
            return NULL;
        }
    }
    if (!ctr) {
        sk_err_set(err, SK_EINVALID, "resourceFieldRef: containerName is required");
        return NULL;
    }
    if (!res) res = "";
    bool limit = !strncmp(res, "limits.", 7), req = !strncmp(res, "requests.", 9);
    const char *name = limit ? res + 7 : req ? res + 9 : "";
    bool cpu = !strcmp(name, "cpu");
    if (!(limit || req) || (!cpu && strcmp(name, "memory") && strcmp(name, "ephemeral-storage"))) {
        sk_err_set(err, SK_EINVALID, "unsupported container resource : %s", res);
        return NULL;
    }
    int scale = cpu ? 3 : 0;
    int64_t div = 0;
    json_t *dj = json_object_get(ref, "divisor");
    if (dj && sk_kl_quantity_json(dj, scale, &div) < 0) {
        sk_err_set(err, SK_EINVALID, "resourceFieldRef %s: invalid divisor", res);
        return NULL;
    }
    if (div <= 0) div = cpu ? 1000 : 1; /* a zero divisor means "1" */
    int64_t v = ctr_resource(ctr, limit, name, scale);
    int64_t q = v / div + (v % div > 0 ? 1 : 0);
    return sk_printf("%lld", (long long)q);
}

/* ---- misc ---------------------------------------------------------------------------- */

bool sk_kl_env_name_ok(const char *s)
{
    if (!s || !*s) return false;
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e || *s == '=') return false;
    return true;
}

char *sk_kl_path_clean(const char *p)
{
    size_t n = strlen(p);
    char *out = sk_malloc(n + 2);
    size_t o = 0;
    out[o++] = '/';
    for (size_t i = 0; i < n;) {
        while (i < n && p[i] == '/') i++;
        size_t s = i;
        while (i < n && p[i] != '/') i++;
        size_t len = i - s;
        if (len == 0 || (len == 1 && p[s] == '.')) continue;
        if (len == 2 && p[s] == '.' && p[s + 1] == '.') {
            while (o > 1 && out[o - 1] != '/') o--; /* drop the last element */
            if (o > 1) o--;
            continue;
        }
        if (o > 1) out[o++] = '/';
        memcpy(out + o, p + s, len);
        o += len;
    }
    out[o] = 0;
    return out;
}
