/* Joining nodes, the agent's half (kubelet TLS bootstrap): pin the CA,
 * request a node client certificate with the bootstrap token, wait for
 * csrapproving/csrsigning, write DATA/kubeconfig; then, as the node,
 * request a kubelet serving certificate for its name and addresses.
 * Partial: certificates are checked at start only; one close to expiry is
 * replaced by joining again with the token rather than rotated in place
 * by the running node (the approver already accepts self renewals), and
 * the request is polled rather than watched. */
#include "cli/join.h"
#include "client/client.h"
#include "pki/pki.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define RENEW_BEFORE_S (24 * 3600)  /* re-bootstrap a client cert with less left */
#define SERVING_MIN_S (30 * 86400)  /* re-request a serving cert with less left */
#define POLL_MS 250

static const struct sk_resource *csr_res(void)
{
    return sk_resource_find("certificates.k8s.io", "v1", "certificatesigningrequests");
}

/* The kubeconfig in DATA still fits: its certificate names this node,
 * chains to its CA and lives another day. */
static bool kubeconfig_usable(const char *path, const char *node)
{
    sk_err err = SK_ERR_INIT;
    _sk_free_ char *ca = NULL, *cert = NULL, *key = NULL;
    bool ok = false;
    if (access(path, R_OK) != 0) return false;
    sk_client *c = sk_client_from_kubeconfig(path, "skiff-agent", &err);
    if (c && sk_client_credentials(c, &ca, &cert, &key, &err) == 0 && ca && cert && key) {
        sk_identity id;
        _sk_free_ char *want = sk_printf("system:node:%s", node);
        ok = sk_pki_leaf_check(ca, cert, key, NULL, 0, RENEW_BEFORE_S, &err) == 0 &&
             sk_pki_verify_pem(ca, cert, &id, &err) == 0 && !strcmp(id.user, want);
    }
    if (!ok) sk_log(SK_INFO, "agent", "%s: not reusable (%s); joining with the token", path,
                    err.msg[0] ? err.msg : "no client certificate");
    sk_client_free(c);
    sk_err_clear(&err);
    return ok;
}

/* The CA from the server, accepted only if it is the one the token pins. */
static char *pinned_ca(const char *server, const struct sk_join_token *t, sk_err *err)
{
    char *ca = sk_join_fetch_ca(server, err);
    if (!ca) return NULL;
    /* The hash covers the first certificate only: anything more in the
     * bundle would be trusted unchecked. */
    const char *b = strstr(ca, "-----BEGIN");
    if (b && strstr(b + 1, "-----BEGIN")) {
        free(ca);
        sk_err_set(err, SK_EFORBIDDEN, "%s/cacerts holds more than one certificate: not "
                                       "sending the token", server);
        return NULL;
    }
    char got[65];
    if (sk_pki_ca_hash(ca, got, err) < 0) {
        free(ca);
        sk_err_wrap(err, "CA from %s/cacerts", server);
        return NULL;
    }
    if (strcmp(got, t->ca_hash)) {
        free(ca);
        sk_err_set(err, SK_EFORBIDDEN, "the CA served by %s (sha256 %.16s...) is not the one the "
                                       "join token pins (%.16s...): not sending the token",
                   server, got, t->ca_hash);
        return NULL;
    }
    return ca;
}

static json_t *csr_object(const char *pem, const char *signer, const char *const *usages)
{
    _sk_free_ char *b64 = sk_pki_base64_encode(pem, strlen(pem));
    json_t *us = json_array();
    for (; *usages; usages++) json_array_append_new(us, json_string(*usages));
    return json_pack("{s:s,s:s,s:{s:s},s:{s:s,s:s,s:o}}", "apiVersion", "certificates.k8s.io/v1",
                     "kind", "CertificateSigningRequest", "metadata", "generateName", "node-csr-",
                     "spec", "request", b64, "signerName", signer, "usages", us);
}

static char *condition_text(const json_t *csr, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(sk_json_path(csr, "status.conditions"), i, c) {
        const char *t = sk_json_str(c, "type");
        if (t && !strcmp(t, type))
            return sk_printf("%s%s%s", sk_json_str(c, "reason") ?: "",
                             sk_json_str(c, "message") ? ": " : "", sk_json_str(c, "message") ?: "");
    }
    return NULL;
}

/* Polls the CSR until it carries a certificate (returned, PEM) or is
 * Denied/Failed, or timeout_s passes. */
static char *wait_issued(sk_client *c, const char *name, int timeout_s, sk_err *err)
{
    int64_t deadline = sk_now_ms() + (int64_t)timeout_s * 1000;
    while (1) {
        _sk_json_ json_t *csr = sk_client_get(c, csr_res(), NULL, name, err);
        if (!csr) return NULL;
        _sk_free_ char *denied = condition_text(csr, "Denied");
        _sk_free_ char *failed = condition_text(csr, "Failed");
        if (denied || failed) {
            sk_err_set(err, SK_EFORBIDDEN, "certificate request %s was %s: %s", name,
                       denied ? "denied" : "not issued", denied ? denied : failed);
            return NULL;
        }
        const char *b64 = sk_json_path_str(csr, "status.certificate");
        if (b64 && *b64) return sk_pki_base64_decode(b64, NULL, err);
        if (sk_now_ms() > deadline) {
            sk_err_set(err, SK_ETIMEOUT, "certificate request %s was not %s within %d s (are the "
                                         "csrapproving and csrsigning controllers running?)",
                       name, sk_json_path(csr, "status.conditions") ? "issued" : "approved",
                       timeout_s);
            return NULL;
        }
        struct timespec ts = {0, POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Creates a CSR for the key in p and waits for its certificate. */
static char *request_cert(sk_client *c, const sk_pem_pair *p, const char *signer,
                          const char *const *usages, int timeout_s, sk_err *err)
{
    _sk_json_ json_t *obj = csr_object(p->cert, signer, usages);
    _sk_json_ json_t *res = sk_client_create(c, csr_res(), NULL, obj, err);
    if (!res) {
        if (err->code == SK_EUNAUTHORIZED)
            sk_err_set(err, SK_EUNAUTHORIZED, "the server rejected the join token (Unauthorized): "
                                              "check --token-file");
        else
            sk_err_wrap(err, "create certificate request");
        return NULL;
    }
    const char *name = sk_json_path_str(res, "metadata.name");
    sk_log(SK_INFO, "agent", "certificate request %s (%s) created", name ? name : "?", signer);
    return name ? wait_issued(c, name, timeout_s, err) : NULL;
}

static int bootstrap_client(const struct sk_join_agent *ja, const char *kcfg, sk_err *err)
{
    _sk_free_ char *text = sk_read_file(ja->token_file, NULL, err);
    if (!text) return sk_err_wrap(err, "--token-file");
    struct sk_join_token t;
    int rc = sk_join_token_parse(text, &t, err);
    explicit_bzero(text, strlen(text));
    if (rc < 0) return sk_err_wrap(err, "%s", ja->token_file);
    _sk_free_ char *ca = pinned_ca(ja->server_url, &t, err);
    if (!ca) return -1;
    char token[24];
    snprintf(token, sizeof token, "%s.%s", t.id, t.secret);
    struct sk_client_config cfg = {.server = ja->server_url, .ca_pem = ca, .token = token,
                                   .user_agent = "skiff-agent-bootstrap"};
    sk_client *c = sk_client_new(&cfg, err);
    explicit_bzero(token, sizeof token);
    explicit_bzero(&t, sizeof t);
    if (!c) return -1;
    _sk_free_ char *cn = sk_printf("system:node:%s", ja->node_name);
    const char *orgs[] = {"system:nodes", NULL};
    static const char *const usages[] = {"digital signature", "client auth", NULL};
    sk_pem_pair p = {0};
    rc = -1;
    if (sk_pki_csr_new(cn, orgs, NULL, 0, &p, err) == 0) {
        char *cert = request_cert(c, &p, "kubernetes.io/kube-apiserver-client-kubelet", usages,
                                  ja->timeout_s, err);
        sk_pem_pair pair = {cert, p.key};
        if (cert && sk_pki_leaf_check(ca, cert, p.key, NULL, 0, 0, err) == 0 &&
            sk_kubeconfig_write(kcfg, ja->server_url, ca, &pair, err) == 0)
            rc = 0;
        free(cert);
    }
    sk_pem_pair_release(&p);
    sk_client_free(c);
    return rc;
}

/* ---- the serving certificate ----------------------------------------------- */

/* The local address the kernel would use to reach the API server (no
 * packet is sent: a UDP connect only routes). */
static bool route_source(const char *server_url, char *out, size_t n)
{
    const char *h = strstr(server_url, "://");
    h = h ? h + 3 : server_url;
    char host[256];
    size_t len = *h == '[' ? strcspn(h + 1, "]") : strcspn(h, ":/");
    if (len == 0 || len >= sizeof host) return false;
    memcpy(host, *h == '[' ? h + 1 : h, len);
    host[len] = 0;
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *ai = NULL;
    if (getaddrinfo(host, "443", &hints, &ai) != 0 || !ai) return false;
    bool ok = false;
    int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
        getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        const void *a = ss.ss_family == AF_INET ? (const void *)&((struct sockaddr_in *)&ss)->sin_addr
                                                : (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
        ok = inet_ntop(ss.ss_family, a, out, (socklen_t)n) != NULL;
    }
    if (fd >= 0) close(fd);
    freeaddrinfo(ai);
    return ok;
}

static int bootstrap_serving(const struct sk_join_agent *ja, const char *kcfg,
                             struct sk_join_result *out, sk_err *err)
{
    sk_client *c = sk_client_from_kubeconfig(kcfg, "skiff-agent", err);
    _sk_free_ char *ca = NULL, *ccert = NULL, *ckey = NULL;
    if (!c || sk_client_credentials(c, &ca, &ccert, &ckey, err) < 0) {
        sk_client_free(c);
        return -1;
    }
    char ip[INET6_ADDRSTRLEN] = "";
    const char *sans[3] = {ja->node_name};
    size_t nsans = 1;
    if (ja->node_ip && *ja->node_ip) sans[nsans++] = ja->node_ip;
    if (route_source(ja->server_url, ip, sizeof ip) && (nsans == 1 || strcmp(ip, sans[1])))
        sans[nsans++] = ip;
    _sk_free_ char *dir = sk_printf("%s/pki", ja->data_dir);
    _sk_free_ char *cpath = sk_printf("%s/serving.crt", dir);
    _sk_free_ char *kpath = sk_printf("%s/serving.key", dir);
    char *cert = sk_read_file(cpath, NULL, NULL), *key = sk_read_file(kpath, NULL, NULL);
    sk_err lerr = SK_ERR_INIT;
    int rc = 0;
    if (!cert || !key || sk_pki_leaf_check(ca, cert, key, sans, nsans, SERVING_MIN_S, &lerr) < 0) {
        free(cert);
        free(key);
        cert = key = NULL;
        _sk_free_ char *cn = sk_printf("system:node:%s", ja->node_name);
        const char *orgs[] = {"system:nodes", NULL};
        static const char *const usages[] = {"digital signature", "server auth", NULL};
        sk_pem_pair p = {0};
        rc = -1;
        if (sk_pki_csr_new(cn, orgs, sans, nsans, &p, err) == 0 &&
            (cert = request_cert(c, &p, "kubernetes.io/kubelet-serving", usages, ja->timeout_s,
                                 err)) &&
            sk_mkdir_p(dir, 0700, err) == 0 &&
            sk_write_file(kpath, p.key, strlen(p.key), 0600, err) == 0 &&
            sk_write_file(cpath, cert, strlen(cert), 0644, err) == 0) {
            key = SK_TAKE(p.key);
            rc = 0;
        }
        sk_pem_pair_release(&p);
        if (rc < 0) sk_err_wrap(err, "serving certificate");
    }
    sk_err_clear(&lerr);
    sk_client_free(c);
    if (rc < 0) {
        free(cert);
        free(key);
        return -1;
    }
    out->serving_cert = cert;
    out->serving_key = key;
    return 0;
}

int sk_join_agent_bootstrap(const struct sk_join_agent *ja, struct sk_join_result *out,
                            sk_err *err)
{
    memset(out, 0, sizeof *out);
    struct sk_join_agent a = *ja;
    if (!a.timeout_s) a.timeout_s = 60;
    if (!a.server_url || strncmp(a.server_url, "https://", 8))
        return sk_err_set(err, SK_EINVALID, "--server must be an https:// URL");
    if (!csr_res()) return sk_err_set(err, SK_EINTERNAL, "certificatesigningrequests not registered");
    if (sk_mkdir_p(a.data_dir, 0700, err) < 0) return -1;
    _sk_free_ char *kcfg = sk_printf("%s/kubeconfig", a.data_dir);
    if (!kubeconfig_usable(kcfg, a.node_name)) {
        if (!a.token_file) return sk_err_set(err, SK_EINVALID, "%s is missing or unusable and no "
                                                              "--token-file was given", kcfg);
        if (bootstrap_client(&a, kcfg, err) < 0) return -1;
        sk_log(SK_INFO, "agent", "joined %s as system:node:%s; credentials in %s", a.server_url,
               a.node_name, kcfg);
    }
    if (a.serving && bootstrap_serving(&a, kcfg, out, err) < 0) return -1;
    out->kubeconfig = SK_TAKE(kcfg);
    return 0;
}

void sk_join_result_release(struct sk_join_result *r)
{
    free(r->kubeconfig);
    if (r->serving_key) explicit_bzero(r->serving_key, strlen(r->serving_key));
    free(r->serving_key);
    free(r->serving_cert);
    memset(r, 0, sizeof *r);
}
