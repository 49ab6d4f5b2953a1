/* Joining nodes, the server's half and the pieces both halves share: the
 * join token (its Secret and DATA/join-token), its parsing, and fetching
 * the CA bundle from a server not yet trusted. */
#include "cli/join.h"
#include "client/client.h"
#include "pki/pki.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#define CA_MAX (64 << 10)

static bool lower_alnum(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9'))) return false;
    return true;
}

int sk_join_token_parse(const char *text, struct sk_join_token *t, sk_err *err)
{
    memset(t, 0, sizeof *t);
    if (!text) return sk_err_set(err, SK_EINVALID, "empty join token");
    while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r') text++;
    size_t n = strcspn(text, " \t\r\n");
    const char *rest = text + n;
    while (*rest == ' ' || *rest == '\t' || *rest == '\n' || *rest == '\r') rest++;
    /* K10 + 64 hex + "::" + 6 + "." + 16 */
    if (*rest || n != 3 + 64 + 2 + 23 || strncmp(text, "K10", 3) || strncmp(text + 67, "::", 2))
        return sk_err_set(err, SK_EINVALID, "malformed join token: want K10<sha256 of the CA>::"
                                            "<id>.<secret> as written by skiff server");
    for (size_t i = 0; i < 64; i++) {
        char c = text[3 + i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return sk_err_set(err, SK_EINVALID, "malformed join token: CA hash is not hex");
        t->ca_hash[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    const char *tok = text + 69;
    if (tok[6] != '.' || !lower_alnum(tok, 6) || !lower_alnum(tok + 7, 16))
        return sk_err_set(err, SK_EINVALID, "malformed join token: want <6 chars>.<16 chars> "
                                            "after ::");
    memcpy(t->id, tok, 6);
    memcpy(t->secret, tok + 7, 16);
    return 0;
}

/* ---- fetching the CA without trusting the server ------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    sk_buf *b = ud;
    if (b->len + size * n > CA_MAX) return 0; /* aborts the transfer */
    sk_buf_add(b, p, size * n);
    return size * n;
}

char *sk_join_fetch_ca(const char *server_url, sk_err *err)
{
    _sk_free_ char *url = sk_printf("%s/cacerts", server_url);
    CURL *e = curl_easy_init();
    if (!e) {
        sk_err_set(err, SK_EINTERNAL, "curl init failed");
        return NULL;
    }
    sk_buf b = SK_BUF_INIT;
    char ebuf[CURL_ERROR_SIZE] = "";
    long code = 0;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
    /* Nothing is trusted yet: the body is checked against the token's hash,
     * and nothing secret is sent on this connection. */
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    CURLcode rc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(e);
    if (rc != CURLE_OK || code != 200) {
        if (rc != CURLE_OK)
            sk_err_set(err, SK_EUNAVAILABLE, "cannot fetch the cluster CA from %s: %s", url,
                       ebuf[0] ? ebuf : curl_easy_strerror(rc));
        else
            sk_err_set(err, SK_EUNAVAILABLE, "cannot fetch the cluster CA from %s: HTTP %ld", url,
                       code);
        sk_buf_release(&b);
        return NULL;
    }
    if (!b.len) {
        sk_err_set(err, SK_EUNAVAILABLE, "%s returned no CA certificate", url);
        return NULL;
    }
    return sk_buf_take(&b);
}

/* ---- the server's token ----------------------------------------------------- */

static void rand_alnum(char *out, size_t n)
{
    static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    size_t i = 0;
    while (i < n) {
        unsigned char buf[32];
        if (getrandom(buf, sizeof buf, 0) != (ssize_t)sizeof buf) continue;
        /* 252 = 7 * 36: rejecting the rest keeps every character equally likely */
        for (size_t k = 0; k < sizeof buf && i < n; k++)
            if (buf[k] < 252) out[i++] = al[buf[k] % 36];
    }
    out[n] = 0;
}

static json_t *token_secret(const struct sk_join_token *t)
{
    const char *kv[][2] = {
        {"token-id", t->id},
        {"token-secret", t->secret},
        {"usage-bootstrap-authentication", "true"},
        {"usage-bootstrap-signing", "true"},
        {"auth-extra-groups", SK_JOIN_EXTRA_GROUP},
        {"description", "Join token of skiff server (DATA/join-token)."},
    };
    json_t *data = json_object();
    for (size_t i = 0; i < SK_ARRAY_LEN(kv); i++) {
        char *b = sk_pki_base64_encode(kv[i][1], strlen(kv[i][1]));
        json_object_set_new(data, kv[i][0], json_string(b));
        free(b);
    }
    _sk_free_ char *name = sk_printf("bootstrap-token-%s", t->id);
    return json_pack("{s:s,s:s,s:{s:s,s:s},s:s,s:o}", "apiVersion", "v1", "kind", "Secret",
                     "metadata", "name", name, "namespace", "kube-system", "type",
                     "bootstrap.kubernetes.io/token", "data", data);
}

/* Creates the Secret, or brings an existing one back to this token. */
static int ensure_secret(sk_client *c, const struct sk_join_token *t, sk_err *err)
{
    const struct sk_resource *r = sk_resource_find("", "v1", "secrets");
    _sk_json_ json_t *want = token_secret(t);
    _sk_free_ char *name = sk_printf("bootstrap-token-%s", t->id);
    sk_err gerr = SK_ERR_INIT;
    _sk_json_ json_t *cur = sk_client_get(c, r, "kube-system", name, &gerr);
    if (!cur) {
        bool missing = gerr.code == SK_ENOTFOUND;
        if (!missing) {
            *err = gerr;
            return sk_err_wrap(err, "read secret %s", name);
        }
        sk_err_clear(&gerr);
        json_t *res = sk_client_create(c, r, "kube-system", want, err);
        if (!res) return sk_err_wrap(err, "create secret %s", name);
        json_decref(res);
        return 0;
    }
    const char *type = sk_json_str(cur, "type");
    if (type && !strcmp(type, "bootstrap.kubernetes.io/token") &&
        json_equal(json_object_get(cur, "data"), json_object_get(want, "data")))
        return 0;
    /* The type of a Secret is immutable: replace rather than update. */
    if (sk_client_delete(c, r, "kube-system", name, NULL, 0, NULL, err) < 0 &&
        err->code != SK_ENOTFOUND)
        return sk_err_wrap(err, "replace secret %s", name);
    sk_err_clear(err);
    json_t *res = sk_client_create(c, r, "kube-system", want, err);
    if (!res) return sk_err_wrap(err, "create secret %s", name);
    json_decref(res);
    return 0;
}

static bool is_loopback(const char *a)
{
    return !strncmp(a, "127.", 4) || !strcmp(a, "::1") || !strcmp(a, "localhost");
}

/* An address of this host other machines may reach, for the hint. */
static void host_address(char *out, size_t n)
{
    struct ifaddrs *ifs = NULL;
    snprintf(out, n, "ADDR");
    if (getifaddrs(&ifs) < 0) return;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
        uint32_t v = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
        if ((v >> 24) == 127 || (v >> 16) == 0xa9fe) continue;
        if (i->ifa_name && !strcmp(i->ifa_name, "cni0")) continue;
        if (inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, out, (socklen_t)n))
            break;
    }
    freeifaddrs(ifs);
}

static void log_hint(const struct sk_join_server *js, const char *path)
{
    char addr[64];
    bool any = !strcmp(js->bind, "0.0.0.0") || !strcmp(js->bind, "::");
    if (js->advertise && *js->advertise && (any || !strcmp(js->advertise, js->bind)))
        snprintf(addr, sizeof addr, "%s", js->advertise);
    else if (any) host_address(addr, sizeof addr);
    else snprintf(addr, sizeof addr, "%s", js->bind);
    char host[80];
    if (strchr(addr, ':')) snprintf(host, sizeof host, "[%s]", addr);
    else snprintf(host, sizeof host, "%s", addr);
    sk_log(SK_INFO, "server", "join other nodes with: skiff agent --server https://%s:%d "
                              "--token-file %s", host, js->port, path);
    if (is_loopback(js->bind))
        sk_log(SK_INFO, "server", "the API server listens on %s only: agents on other machines "
                                  "need skiff server --bind-address <this host's address>",
               js->bind);
}

int sk_join_server_setup(const struct sk_join_server *js, sk_err *err)
{
    _sk_free_ char *path = sk_printf("%s/join-token", js->data_dir);
    struct sk_join_token t;
    char hash[65];
    if (sk_pki_ca_hash(js->ca_pem, hash, err) < 0) return sk_err_wrap(err, "join token");
    _sk_free_ char *old = sk_read_file(path, NULL, NULL);
    sk_err perr = SK_ERR_INIT;
    if (!old || sk_join_token_parse(old, &t, &perr) < 0) {
        if (old) sk_log(SK_WARN, "server", "%s: %s; writing a new token", path, perr.msg);
        rand_alnum(t.id, 6);
        rand_alnum(t.secret, 16);
    }
    sk_err_clear(&perr);
    memcpy(t.ca_hash, hash, sizeof hash);
    struct sk_client_config cfg = {.server = js->api_url, .ca_pem = js->ca_pem,
                                   .cert_pem = js->admin_cert_pem, .key_pem = js->admin_key_pem,
                                   .user_agent = "skiff-server-join"};
    sk_client *c = sk_client_new(&cfg, err);
    if (!c) return sk_err_wrap(err, "join token");
    int rc = ensure_secret(c, &t, err);
    sk_client_free(c);
    if (rc < 0) return -1;
    _sk_free_ char *line = sk_printf("K10%s::%s.%s\n", t.ca_hash, t.id, t.secret);
    if ((!old || strcmp(old, line)) && sk_write_file(path, line, strlen(line), 0600, err) < 0)
        return sk_err_wrap(err, "join token");
    explicit_bzero(line, strlen(line));
    log_hint(js, path);
    return 0;
}
