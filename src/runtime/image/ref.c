/* Image references, normalised the way docker/distribution's
 * ParseDockerRef does it (containerd and the kubelet agree with it):
 * "busybox" -> "docker.io/library/busybox:latest", a first component is a
 * registry host only when it has a '.' or ':', is "localhost", or has
 * upper-case letters, and a digest wins over a tag. */
#include "runtime/image/image_int.h"

#include <ctype.h>
#include <string.h>

#define REF_MAX 1024
#define NAME_MAX_LEN 255 /* NameTotalLengthMax */
#define TAG_MAX 128

static bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool sk_image_digest_valid(const char *d)
{
    if (!d || strncmp(d, "sha256:", 7)) return false;
    const char *h = d + 7;
    size_t i = 0;
    for (; h[i]; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f'))) return false;
    return i == 64;
}

static bool tag_valid(const char *t, size_t n)
{
    if (n == 0 || n > TAG_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        bool word = isalnum(c) || c == '_';
        if (!word && (i == 0 || (c != '.' && c != '-'))) return false;
    }
    return true;
}

/* path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.] | __ | -+ */
static bool component_valid(const char *s, size_t n)
{
    size_t i = 0;
    if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1])) return false;
    while (i < n) {
        if (is_lower_alnum(s[i])) { i++; continue; }
        size_t j = i;
        while (j < n && !is_lower_alnum(s[j])) j++;
        size_t len = j - i;
        bool ok = (len == 1 && (s[i] == '_' || s[i] == '.' || s[i] == '-')) ||
                  (len == 2 && s[i] == '_' && s[i + 1] == '_');
        if (!ok) {
            ok = true;
            for (size_t k = i; k < j; k++) ok = ok && s[k] == '-';
        }
        if (!ok) return false;
        i = j;
    }
    return true;
}

static bool path_valid(const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '/') continue;
        if (!component_valid(s + start, i - start)) return false;
        start = i + 1;
    }
    return true;
}

static bool host_label_valid(const char *s, size_t n)
{
    if (n == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1])) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-') return false;
    return true;
}

/* host [':' port] where host is dns labels, an IPv4 address or [IPv6]. */
static bool domain_valid(const char *s, size_t n)
{
    size_t hl = n;
    if (n && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close || close == s + 1) return false;
        for (const char *p = s + 1; p < close; p++)
            if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.') return false;
        hl = (size_t)(close - s) + 1;
        if (hl < n && s[hl] != ':') return false;
    } else {
        const char *colon = memchr(s, ':', n);
        if (colon) hl = (size_t)(colon - s);
        size_t start = 0;
        for (size_t i = 0; i <= hl; i++) {
            if (i < hl && s[i] != '.') continue;
            if (!host_label_valid(s + start, i - start)) return false;
            start = i + 1;
        }
    }
    if (hl < n) {
        size_t plen = n - hl - 1;
        if (plen == 0 || plen > 5) return false;
        for (size_t i = hl + 1; i < n; i++)
            if (!isdigit((unsigned char)s[i])) return false;
    }
    return true;
}

static bool is_hex64(const char *s, size_t n)
{
    if (n != 64) return false;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i])) return false;
    return true;
}

static int split_name(const char *name, size_t n, sk_image_ref *out, sk_err *err)
{
    const char *slash = memchr(name, '/', n);
    bool has_domain = false;
    if (slash) {
        size_t fl = (size_t)(slash - name);
        bool upper = false;
        for (size_t i = 0; i < fl; i++) upper = upper || isupper((unsigned char)name[i]);
        has_domain = memchr(name, '.', fl) || memchr(name, ':', fl) ||
                     (fl == 9 && !memcmp(name, "localhost", 9)) || upper;
    }
    const char *rest = name;
    size_t rl = n;
    if (has_domain) {
        size_t dl = (size_t)(slash - name);
        if (!domain_valid(name, dl))
            return sk_err_set(err, SK_EINVALID, "invalid reference format: bad registry host");
        out->domain = sk_strndup(name, dl);
        rest = slash + 1;
        rl = n - dl - 1;
        if (!strcmp(out->domain, "index.docker.io")) {
            free(out->domain);
            out->domain = NULL;
        }
    }
    if (!out->domain) out->domain = sk_strdup(SK_IMAGE_DEFAULT_DOMAIN);
    for (size_t i = 0; i < rl; i++)
        if (isupper((unsigned char)rest[i]))
            return sk_err_set(err, SK_EINVALID,
                              "invalid reference format: repository name must be lowercase");
    if (!path_valid(rest, rl)) return sk_err_set(err, SK_EINVALID, "invalid reference format");
    if (!strcmp(out->domain, SK_IMAGE_DEFAULT_DOMAIN) && !memchr(rest, '/', rl))
        out->path = sk_printf("library/%.*s", (int)rl, rest);
    else
        out->path = sk_strndup(rest, rl);
    if (strlen(out->domain) + 1 + strlen(out->path) > NAME_MAX_LEN)
        return sk_err_set(err, SK_EINVALID, "invalid reference format: repository name must not be more than %d characters", NAME_MAX_LEN);
    return 0;
}

static int parse_parts(const char *s, sk_image_ref *out, sk_err *err)
{
    size_t len = strlen(s);
    if (len == 0) return sk_err_set(err, SK_EINVALID, "invalid reference format: empty image name");
    if (len > REF_MAX) return sk_err_set(err, SK_EINVALID, "invalid reference format: too long");
    const char *at = strchr(s, '@');
    size_t nl = at ? (size_t)(at - s) : len;
    if (at) {
        if (!sk_image_digest_valid(at + 1)) {
            if (!strncmp(at + 1, "sha256:", 7) || !strchr(at + 1, ':'))
                return sk_err_set(err, SK_EINVALID, "invalid reference format: bad digest");
            return sk_err_set(err, SK_EINVALID, "unsupported digest algorithm in \"%s\"", s);
        }
        out->digest = sk_strdup(at + 1);
    }
    /* a tag's ':' comes after the last '/', a port's before it */
    const char *slash = memrchr(s, '/', nl);
    const char *colon = memrchr(s, ':', nl);
    if (colon && (!slash || colon > slash)) {
        size_t tl = nl - (size_t)(colon - s) - 1;
        if (!tag_valid(colon + 1, tl))
            return sk_err_set(err, SK_EINVALID, "invalid reference format: bad tag");
        out->tag = sk_strndup(colon + 1, tl);
        nl = (size_t)(colon - s);
    }
    if (is_hex64(s, nl))
        return sk_err_set(err, SK_EINVALID,
                          "invalid repository name (%.*s), cannot specify 64-byte hexadecimal strings",
                          (int)nl, s);
    if (nl == 0) return sk_err_set(err, SK_EINVALID, "invalid reference format: empty name");
    return split_name(s, nl, out, err);
}

int sk_image_ref_parse(const char *s, sk_image_ref *out, sk_err *err)
{
    memset(out, 0, sizeof *out);
    if (!s) return sk_err_set(err, SK_EINVALID, "invalid reference format: empty image name");
    if (parse_parts(s, out, err) < 0) {
        sk_image_ref_release(out);
        return -1;
    }
    if (!out->tag && !out->digest) out->tag = sk_strdup("latest");
    return 0;
}

void sk_image_ref_release(sk_image_ref *r)
{
    if (!r) return;
    free(r->domain);
    free(r->path);
    free(r->tag);
    free(r->digest);
    memset(r, 0, sizeof *r);
}

char *sk_image_ref_string(const sk_image_ref *r)
{
    if (r->digest) return sk_printf("%s/%s@%s", r->domain, r->path, r->digest);
    return sk_printf("%s/%s:%s", r->domain, r->path, r->tag ? r->tag : "latest");
}

char *sk_image_normalize(const char *s, sk_err *err)
{
    sk_image_ref r;
    if (sk_image_ref_parse(s, &r, err) < 0) return NULL;
    char *out = sk_image_ref_string(&r);
    sk_image_ref_release(&r);
    return out;
}

bool sk_image_ref_is_latest(const char *s)
{
    sk_image_ref r;
    sk_err err = SK_ERR_INIT;
    if (sk_image_ref_parse(s, &r, &err) < 0) return false;
    bool latest = !r.digest && r.tag && !strcmp(r.tag, "latest");
    sk_image_ref_release(&r);
    return latest;
}

/* "docker.io/library/busybox:latest" -> "docker.io/library/busybox" */
char *sk_image_ref_repo(const sk_image_ref *r) { return sk_printf("%s/%s", r->domain, r->path); }
