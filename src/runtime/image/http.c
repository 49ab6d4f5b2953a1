/* A minimal OCI distribution client over libcurl: GET manifests and blobs
 * with the registry auth dance (401 + WWW-Authenticate: Bearer -> token
 * endpoint, anonymous or with basic credentials; or plain Basic).
 * One client per endpoint and pull; not shared between threads. */
#include "runtime/image/image_int.h"

#include <ctype.h>
#include <curl/curl.h>
#include <gnutls/gnutls.h>
#include <string.h>

#define CHALLENGE_MAX 4096
#define TOKEN_MAX (1 << 20)
#define ERROR_BODY_MAX 65536

/* ---- WWW-Authenticate ------------------------------------------------------ */

void sk_challenge_release(struct sk_challenge *c)
{
    free(c->scheme);
    free(c->realm);
    free(c->service);
    free(c->scope);
    memset(c, 0, sizeof *c);
}

/* token68 / quoted-string value at *p; advances *p. */
static char *auth_value(const char **p)
{
    const char *s = *p;
    sk_buf b = SK_BUF_INIT;
    if (*s == '"') {
        for (s++; *s && *s != '"'; s++) {
            if (*s == '\\' && s[1]) s++;
            sk_buf_add(&b, s, 1);
        }
        if (*s == '"') s++;
    } else {
        const char *e = s + strcspn(s, ", \t");
        sk_buf_add(&b, s, (size_t)(e - s));
        s = e;
    }
    *p = s;
    return sk_buf_take(&b);
}

/* `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="..."` */
int sk_challenge_parse(const char *h, struct sk_challenge *c)
{
    memset(c, 0, sizeof *c);
    if (!h || strlen(h) > CHALLENGE_MAX) return -1;
    while (*h == ' ' || *h == '\t') h++;
    size_t sl = strcspn(h, " \t");
    if (!sl) return -1;
    c->scheme = sk_strndup(h, sl);
    for (char *q = c->scheme; *q; q++) *q = (char)tolower((unsigned char)*q);
    const char *p = h + sl;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        if (!*p) break;
        size_t kl = strcspn(p, "= \t,");
        if (!kl || p[kl] != '=') {
            p += kl ? kl : 1;
            continue;
        }
        const char *key = p;
        p += kl + 1;
        char *v = auth_value(&p);
        char **slot = kl == 5 && !strncasecmp(key, "realm", 5)     ? &c->realm
                      : kl == 7 && !strncasecmp(key, "service", 7) ? &c->service
                      : kl == 5 && !strncasecmp(key, "scope", 5)   ? &c->scope
                                                                     : NULL;
        if (slot) {
            free(*slot);
            *slot = v;
        } else {
            free(v);
        }
    }
    return 0;
}

/* ---- requests ------------------------------------------------------------------ */

struct sk_reg_client {
    CURL *curl;
    int last_curl; /* CURLcode of the last transfer */
    struct sk_reg_target t;
    char *authz; /* "Authorization: ..." once known */
    char errbuf[CURL_ERROR_SIZE];
};

struct resp {
    long status;
    char *content_type, *digest, *www_auth;
    sk_buf body;
    size_t body_max;
    sk_blob_writer *blob; /* 2xx bodies go here when set */
    bool overflow;
    sk_err werr;
};

static void resp_release(struct resp *r)
{
    free(r->content_type);
    free(r->digest);
    free(r->www_auth);
    sk_buf_release(&r->body);
}

static char *header_value(const char *line, size_t n, const char *name)
{
    size_t nl = strlen(name);
    if (n <= nl || strncasecmp(line, name, nl) || line[nl] != ':') return NULL;
    const char *v = line + nl + 1;
    const char *e = line + n;
    while (v < e && (*v == ' ' || *v == '\t')) v++;
    while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ')) e--;
    return sk_strndup(v, (size_t)(e - v));
}

static size_t on_header(char *line, size_t size, size_t n, void *ctx)
{
    struct resp *r = ctx;
    size_t len = size * n;
    if (len >= 5 && !strncmp(line, "HTTP/", 5)) {
        /* a new response (after a redirect or 100): forget the last one */
        free(SK_TAKE(r->content_type));
        free(SK_TAKE(r->digest));
        free(SK_TAKE(r->www_auth));
        const char *sp = memchr(line, ' ', len);
        r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        return len;
    }
    char *v;
    if ((v = header_value(line, len, "content-type"))) free(r->content_type), r->content_type = v;
    else if ((v = header_value(line, len, "docker-content-digest"))) free(r->digest), r->digest = v;
    else if ((v = header_value(line, len, "www-authenticate"))) {
        /* prefer a Bearer challenge when several are offered */
        if (!r->www_auth || !strncasecmp(v, "bearer", 6)) free(r->www_auth), r->www_auth = v;
        else free(v);
    }
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    struct resp *r = ctx;
    size_t len = size * n;
    if (r->status >= 300 && r->status < 400) return len;
    if (r->blob && r->status >= 200 && r->status < 300)
        return sk_blob_write(r->blob, data, len, &r->werr) < 0 ? 0 : len;
    if (r->body.len + len > r->body_max) {
        r->overflow = true;
        return 0;
    }
    sk_buf_add(&r->body, data, len);
    return len;
}

static void tls_opts(CURL *c, const struct sk_reg_config *cfg)
{
    if (!cfg) return;
    if (cfg->insecure_skip_verify) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (cfg->ca_file) curl_easy_setopt(c, CURLOPT_CAINFO, cfg->ca_file);
    if (cfg->cert_file) curl_easy_setopt(c, CURLOPT_SSLCERT, cfg->cert_file);
    if (cfg->key_file) curl_easy_setopt(c, CURLOPT_SSLKEY, cfg->key_file);
}

static CURL *new_easy(const struct sk_reg_target *t, char *errbuf)
{
    CURL *c = curl_easy_init();
    if (!c) return NULL;
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)(t->connect_timeout_s > 0 ? t->connect_timeout_s : 10));
    /* no overall timeout (layers can be large): give up on stalls instead */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "skiff/1.32 (containerd-compatible)");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    tls_opts(c, t->cfg);
    return c;
}

sk_reg_client *sk_reg_client_new(const struct sk_reg_target *t, sk_err *err)
{
    sk_reg_client *c = sk_calloc(1, sizeof *c);
    c->t = *t;
    c->curl = new_easy(t, c->errbuf);
    if (!c->curl) {
        free(c);
        sk_err_set(err, SK_EINTERNAL, "curl init failed");
        return NULL;
    }
    return c;
}

void sk_reg_client_free(sk_reg_client *c)
{
    if (!c) return;
    curl_easy_cleanup(c->curl);
    free(c->authz);
    free(c);
}

bool sk_reg_transport_failed(const sk_reg_client *c)
{
    return c->last_curl != CURLE_OK && c->last_curl != CURLE_WRITE_ERROR;
}

static char *basic_header(const char *user, const char *pass)
{
    _sk_free_ char *up = sk_printf("%s:%s", user, pass ? pass : "");
    gnutls_datum_t in = {(unsigned char *)up, (unsigned)strlen(up)}, out = {0};
    if (gnutls_base64_encode2(&in, &out) < 0) return NULL;
    char *h = sk_printf("Authorization: Basic %.*s", (int)out.size, (char *)out.data);
    gnutls_free(out.data);
    return h;
}

static int transport_error(CURLcode rc, const char *errbuf, sk_err *err)
{
    return sk_err_set(err, rc == CURLE_OPERATION_TIMEDOUT ? SK_ETIMEOUT : SK_EUNAVAILABLE, "%s",
                      *errbuf ? errbuf : curl_easy_strerror(rc));
}

/* GET realm?service=&scope= -> {"token": ...} or {"access_token": ...} */
static int fetch_token(sk_reg_client *c, const struct sk_challenge *ch, sk_err *err)
{
    if (!ch->realm || (strncmp(ch->realm, "https://", 8) && strncmp(ch->realm, "http://", 7)))
        return sk_err_set(err, SK_EUNAUTHORIZED, "bearer challenge without a usable realm");
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *tc = new_easy(&c->t, errbuf);
    if (!tc) return sk_err_set(err, SK_EINTERNAL, "curl init failed");
    _sk_free_ char *scope_def = sk_printf("repository:%s:pull", c->t.repo);
    char *svc = curl_easy_escape(tc, ch->service ? ch->service : "", 0);
    char *scope = curl_easy_escape(tc, ch->scope ? ch->scope : scope_def, 0);
    _sk_free_ char *url = sk_printf("%s%sservice=%s&scope=%s", ch->realm,
                                    strchr(ch->realm, '?') ? "&" : "?", svc, scope);
    curl_free(svc);
    curl_free(scope);
    struct curl_slist *hdrs = NULL;
    _sk_free_ char *basic = c->t.username ? basic_header(c->t.username, c->t.password) : NULL;
    if (basic) hdrs = curl_slist_append(hdrs, basic);
    struct resp r = {.body_max = TOKEN_MAX};
    curl_easy_setopt(tc, CURLOPT_URL, url);
    curl_easy_setopt(tc, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(tc, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(tc, CURLOPT_WRITEDATA, &r);
    CURLcode rc = curl_easy_perform(tc);
    int ret = 0;
    if (rc != CURLE_OK) {
        ret = transport_error(rc, errbuf, err);
        sk_err_wrap(err, "token endpoint");
    } else if (r.status != 200) {
        ret = sk_err_set(err, r.status == 401 || r.status == 403 ? SK_EUNAUTHORIZED : SK_EUNAVAILABLE,
                         "token endpoint: HTTP %ld%s", r.status,
                         c->t.username ? " (credentials refused?)" : "");
    } else {
        _sk_json_ json_t *j = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, NULL);
        const char *tok = sk_json_str(j, "token");
        if (!tok || !*tok) tok = sk_json_str(j, "access_token");
        if (!tok || !*tok || strpbrk(tok, "\r\n"))
            ret = sk_err_set(err, SK_EUNAUTHORIZED, "token endpoint returned no token");
        else {
            free(c->authz);
            c->authz = sk_printf("Authorization: Bearer %s", tok);
        }
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(tc);
    resp_release(&r);
    return ret;
}

/* Answers a 401: true when a retry may now succeed. */
static int authenticate(sk_reg_client *c, const struct resp *r, sk_err *err)
{
    struct sk_challenge ch;
    if (!r->www_auth || sk_challenge_parse(r->www_auth, &ch) < 0)
        return sk_err_set(err, SK_EUNAUTHORIZED, "HTTP 401 without a usable challenge");
    int rc;
    if (!strcmp(ch.scheme, "bearer")) {
        rc = fetch_token(c, &ch, err);
    } else if (!strcmp(ch.scheme, "basic") && c->t.username) {
        free(c->authz);
        c->authz = basic_header(c->t.username, c->t.password);
        rc = c->authz ? 0 : sk_err_set(err, SK_EINTERNAL, "encode credentials");
    } else {
        rc = sk_err_set(err, SK_EUNAUTHORIZED, "unauthorized (%s auth%s)", ch.scheme,
                        c->t.username ? "" : ", no credentials configured");
    }
    sk_challenge_release(&ch);
    return rc;
}

static int perform(sk_reg_client *c, const char *url, const char *accept, struct resp *r)
{
    struct curl_slist *hdrs = NULL;
    _sk_free_ char *acc = accept ? sk_printf("Accept: %s", accept) : NULL;
    if (acc) hdrs = curl_slist_append(hdrs, acc);
    if (c->authz) hdrs = curl_slist_append(hdrs, c->authz);
    c->errbuf[0] = 0;
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, r);
    CURLcode rc = curl_easy_perform(c->curl);
    c->last_curl = (int)rc;
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    return (int)rc;
}

static int http_error(const struct resp *r, const char *what, sk_err *err)
{
    _sk_json_ json_t *j = r->body.len ? json_loadb(r->body.data, r->body.len, 0, NULL) : NULL;
    json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
    const char *code = sk_json_str(e0, "code"), *msg = sk_json_str(e0, "message");
    enum sk_code k = r->status == 404   ? SK_ENOTFOUND
                     : r->status == 401 ? SK_EUNAUTHORIZED
                     : r->status == 403 ? SK_EFORBIDDEN
                     : r->status == 429 ? SK_EUNAVAILABLE
                                        : SK_EUNAVAILABLE;
    if (code)
        return sk_err_set(err, k, "%s: HTTP %ld %.40s: %.120s", what, r->status, code,
                          msg ? msg : "");
    return sk_err_set(err, k, "%s: HTTP %ld", what, r->status);
}

/* GET base/<repo>/<kind>/<ref>, authenticating once on 401. */
static int reg_get(sk_reg_client *c, const char *kind, const char *ref, const char *accept,
                   struct resp *r, sk_err *err)
{
    _sk_free_ char *url = sk_printf("%s/%s/%s/%s", c->t.base, c->t.repo, kind, ref);
    _sk_free_ char *what = kind[0] == 'm' ? sk_printf("manifest %s%s%s", c->t.repo,
                                                      strchr(ref, ':') ? "@" : ":", ref)
                                          : sk_printf("blob %s", ref);
    for (int attempt = 0;; attempt++) {
        int rc = perform(c, url, accept, r);
        if (rc == CURLE_WRITE_ERROR && r->werr.code)
            return sk_err_set(err, r->werr.code, "%s: %s", what, r->werr.msg);
        if (rc == CURLE_WRITE_ERROR && r->overflow)
            return sk_err_set(err, SK_ETOOLARGE, "%s: response too large", what);
        if (rc != CURLE_OK) return transport_error((CURLcode)rc, c->errbuf, err);
        if (r->status == 401 && attempt == 0) {
            if (authenticate(c, r, err) < 0) return -1;
            sk_buf_release(&r->body);
            continue;
        }
        if (r->status >= 200 && r->status < 300) return 0;
        return http_error(r, what, err);
    }
}

char *sk_reg_get_manifest(sk_reg_client *c, const char *ref, size_t *len, char **content_type,
                          char **digest, sk_err *err)
{
    static const char accept[] = MT_OCI_INDEX ", " MT_OCI_MANIFEST ", " MT_DOCKER_LIST
                                 ", " MT_DOCKER_MANIFEST;
    struct resp r = {.body_max = SK_IMAGE_MANIFEST_MAX};
    char *out = NULL;
    if (reg_get(c, "manifests", ref, accept, &r, err) == 0) {
        *len = r.body.len;
        *content_type = SK_TAKE(r.content_type);
        *digest = SK_TAKE(r.digest);
        out = sk_buf_take(&r.body);
    }
    resp_release(&r);
    return out;
}

int sk_reg_get_blob(sk_reg_client *c, const sk_image_store *s, const struct sk_image_desc *d,
                    sk_err *err)
{
    sk_blob_writer w;
    if (sk_blob_begin(s, &w, d->size, err) < 0) return -1;
    struct resp r = {.body_max = ERROR_BODY_MAX, .blob = &w};
    int rc = reg_get(c, "blobs", d->digest, NULL, &r, err);
    resp_release(&r);
    if (rc < 0) {
        sk_blob_abort(&w);
        return -1;
    }
    return sk_blob_commit(s, &w, d->digest, NULL, err);
}
