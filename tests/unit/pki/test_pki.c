#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include "pki/pki_int.h"
#include "unit/test.h"

static const char *const sans[] = {"localhost", "127.0.0.1", "::1", "skiff.local"};

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    return remove(p);
}

static void rm_rf(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *slurp(const char *dir, const char *file)
{
    _sk_free_ char *p = sk_printf("%s/pki/%s", dir, file);
    return sk_read_file(p, NULL, NULL);
}

static int file_mode(const char *dir, const char *file)
{
    _sk_free_ char *p = sk_printf("%s/pki/%s", dir, file);
    struct stat st;
    return stat(p, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

static gnutls_x509_crt_t parse_crt(const char *pem)
{
    gnutls_x509_crt_t c = NULL;
    gnutls_datum_t d = {(unsigned char *)pem, (unsigned)strlen(pem)};
    if (gnutls_x509_crt_init(&c) < 0) return NULL;
    if (gnutls_x509_crt_import(c, &d, GNUTLS_X509_FMT_PEM) < 0) {
        gnutls_x509_crt_deinit(c);
        return NULL;
    }
    return c;
}

/* ---- TLS handshake over a socketpair ------------------------------------ */

typedef struct peer {
    int fd;
    const sk_pem_pair *cred; /* NULL: no certificate (client side) */
    const char *ca;
    int hs;                  /* handshake result */
    int rc;                  /* server: sk_pki_peer_identity result */
    sk_identity id;
    sk_err err;
} peer;

static gnutls_session_t session_new(peer *p, unsigned mode, gnutls_certificate_credentials_t *c)
{
    gnutls_session_t s;
    gnutls_certificate_allocate_credentials(c);
    if (p->cred)
        gnutls_certificate_set_x509_key_mem2(
            *c, &(gnutls_datum_t){(unsigned char *)p->cred->cert, strlen(p->cred->cert)},
            &(gnutls_datum_t){(unsigned char *)p->cred->key, strlen(p->cred->key)},
            GNUTLS_X509_FMT_PEM, NULL, 0);
    gnutls_certificate_set_x509_trust_mem(
        *c, &(gnutls_datum_t){(unsigned char *)p->ca, strlen(p->ca)}, GNUTLS_X509_FMT_PEM);
    gnutls_init(&s, mode);
    gnutls_set_default_priority(s);
    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, *c);
    gnutls_transport_set_int(s, p->fd);
    return s;
}

static int handshake(gnutls_session_t s)
{
    int r;
    do r = gnutls_handshake(s);
    while (r < 0 && !gnutls_error_is_fatal(r));
    return r;
}

static void *server_main(void *arg)
{
    peer *p = arg;
    gnutls_certificate_credentials_t c;
    gnutls_session_t s = session_new(p, GNUTLS_SERVER, &c);
    /* Like libmicrohttpd with a trust list: ask, do not require. */
    gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUEST);
    p->rc = -2;
    p->hs = handshake(s);
    if (p->hs == 0) {
        p->rc = sk_pki_peer_identity(s, p->ca, &p->id, &p->err);
        gnutls_record_send(s, "x", 1);
        gnutls_bye(s, GNUTLS_SHUT_WR);
    }
    gnutls_deinit(s);
    gnutls_certificate_free_credentials(c);
    close(p->fd);
    return NULL;
}

static void *client_main(void *arg)
{
    peer *p = arg;
    gnutls_certificate_credentials_t c;
    gnutls_session_t s = session_new(p, GNUTLS_CLIENT, &c);
    char b;
    gnutls_server_name_set(s, GNUTLS_NAME_DNS, "localhost", 9);
    gnutls_session_set_verify_cert(s, "localhost", 0);
    p->hs = handshake(s);
    if (p->hs == 0) gnutls_record_recv(s, &b, 1);
    gnutls_deinit(s);
    gnutls_certificate_free_credentials(c);
    close(p->fd);
    return NULL;
}

/* Runs one handshake; returns the server's sk_pki_peer_identity result. */
static int tls_identity(const sk_pem_pair *server, const sk_pem_pair *client, const char *ca,
                        sk_identity *id, enum sk_code *code)
{
    int sv[2];
    struct timeval tv = {5, 0};
    peer sp = {.cred = server, .ca = ca}, cp = {.cred = client, .ca = ca};
    pthread_t st, ct;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) return -3;
    for (int i = 0; i < 2; i++) setsockopt(sv[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sp.fd = sv[0];
    cp.fd = sv[1];
    pthread_create(&st, NULL, server_main, &sp);
    pthread_create(&ct, NULL, client_main, &cp);
    pthread_join(st, NULL);
    pthread_join(ct, NULL);
    if (sp.hs < 0 || cp.hs < 0) {
        fprintf(stderr, "handshake: server %s, client %s\n", gnutls_strerror(sp.hs),
                gnutls_strerror(cp.hs));
        return -4;
    }
    *id = sp.id;
    *code = sp.err.code;
    sk_err_clear(&sp.err);
    return sp.rc;
}

/* ---- tests --------------------------------------------------------------- */

static void test_ensure_layout(const char *dir)
{
    sk_err err = SK_ERR_INIT;
    int64_t t0 = sk_now_ms();
    int rc = sk_pki_ensure(dir, sans, SK_ARRAY_LEN(sans), &err);
    int64_t dt = sk_now_ms() - t0;
    CHECK_INT(rc, 0);
    if (rc) fprintf(stderr, "ensure: %s\n", err.msg);
    fprintf(stderr, "first sk_pki_ensure: %lld ms\n", (long long)dt);
    CHECK(dt < 1000);
    const char *keys[] = {"ca.key", "server.key", "admin.key"};
    const char *crts[] = {"ca.crt", "server.crt", "admin.crt"};
    for (int i = 0; i < 3; i++) {
        CHECK_INT(file_mode(dir, keys[i]), 0600);
        CHECK(file_mode(dir, crts[i]) >= 0);
    }
}

static void test_ensure_idempotent(const char *dir)
{
    const char *files[] = {"ca.crt", "ca.key", "server.crt", "server.key", "admin.crt",
                           "admin.key"};
    char *before[6];
    sk_err err = SK_ERR_INIT;
    for (int i = 0; i < 6; i++) before[i] = slurp(dir, files[i]);
    CHECK_INT(sk_pki_ensure(dir, sans, 2, &err), 0); /* a subset is covered */
    CHECK_INT(sk_pki_ensure(dir, sans, SK_ARRAY_LEN(sans), &err), 0);
    for (int i = 0; i < 6; i++) {
        _sk_free_ char *after = slurp(dir, files[i]);
        CHECK(before[i] && after && !strcmp(before[i], after));
        free(before[i]);
    }
}

static void test_server_sans(const char *dir)
{
    const char *more[] = {"localhost", "127.0.0.1", "::1", "skiff.local", "10.0.0.7",
                          "Node-1.Example"};
    sk_err err = SK_ERR_INIT;
    _sk_free_ char *ca0 = slurp(dir, "ca.crt");
    _sk_free_ char *admin0 = slurp(dir, "admin.crt");
    _sk_free_ char *srv0 = slurp(dir, "server.crt");
    CHECK_INT(sk_pki_ensure(dir, more, SK_ARRAY_LEN(more), &err), 0);
    _sk_free_ char *ca1 = slurp(dir, "ca.crt");
    _sk_free_ char *admin1 = slurp(dir, "admin.crt");
    _sk_free_ char *srv1 = slurp(dir, "server.crt");
    CHECK(!strcmp(ca0, ca1));
    CHECK(!strcmp(admin0, admin1));
    CHECK(strcmp(srv0, srv1) != 0);

    gnutls_x509_crt_t c = parse_crt(srv1);
    if (!c) {
        CHECK(c != NULL);
        return;
    }
    for (size_t i = 0; i < SK_ARRAY_LEN(more); i++) CHECK(sk_cert_has_san(c, more[i]));
    CHECK(sk_cert_has_san(c, "node-1.example")); /* DNS compares case-insensitively */
    CHECK(sk_cert_has_san(c, "0:0:0:0:0:0:0:1")); /* IPs compare as bytes */
    CHECK(!sk_cert_has_san(c, "10.0.0.8"));
    CHECK(!sk_cert_has_san(c, "other.example"));
    CHECK(!sk_cert_has_san(c, "127.0.0.1.nip.io"));
    unsigned critical = 0;
    char oid[128];
    size_t n = sizeof oid;
    CHECK(gnutls_x509_crt_get_key_purpose_oid(c, 0, oid, &n, &critical) == 0);
    CHECK_STR(oid, GNUTLS_KP_TLS_WWW_SERVER);
    unsigned ca_flag = 1;
    CHECK(gnutls_x509_crt_get_basic_constraints(c, &critical, &ca_flag, NULL) >= 0);
    CHECK_INT(ca_flag, 0);
    gnutls_x509_crt_deinit(c);
}

static void test_verify(const char *dir, const char *other)
{
    sk_err err = SK_ERR_INIT;
    sk_identity id;
    _sk_free_ char *ca = slurp(dir, "ca.crt");
    _sk_free_ char *admin = slurp(dir, "admin.crt");
    _sk_free_ char *server = slurp(dir, "server.crt");
    CHECK_INT(sk_pki_verify_pem(ca, admin, &id, &err), 0);
    CHECK_STR(id.user, "kubernetes-admin");
    CHECK_INT(id.ngroups, 1);
    CHECK_STR(id.groups[0], "system:masters");

    /* Server-only EKU must not authenticate a client. */
    CHECK_INT(sk_pki_verify_pem(ca, server, &id, &err), -1);
    CHECK_INT(err.code, SK_EUNAUTHORIZED);

    /* A certificate from another cluster's CA. */
    CHECK_INT(sk_pki_ensure(other, sans, 1, &err), 0);
    _sk_free_ char *foreign = slurp(other, "admin.crt");
    CHECK_INT(sk_pki_verify_pem(ca, foreign, &id, &err), -1);
    CHECK_INT(err.code, SK_EUNAUTHORIZED);

    CHECK_INT(sk_pki_verify_pem(ca, "", &id, &err), -1);
    CHECK_INT(err.code, SK_EUNAUTHORIZED);
    CHECK_INT(sk_pki_verify_pem(ca, "-----BEGIN CERTIFICATE-----\nAAAA\n", &id, &err), -1);
    CHECK_INT(err.code, SK_EUNAUTHORIZED);
    CHECK_INT(sk_pki_verify_pem("garbage", admin, &id, &err), -1);
    CHECK_INT(err.code, SK_EINTERNAL);
}

static void test_expired(const char *dir)
{
    sk_err err = SK_ERR_INIT;
    sk_ca ca = {NULL, NULL};
    sk_identity id;
    sk_pem_pair p = {NULL, NULL};
    _sk_free_ char *ca_pem = slurp(dir, "ca.crt");
    int64_t now = time(NULL);
    sk_cert_spec spec = {.kind = SK_CERT_CLIENT, .cn = "late", .not_before = now - 7200,
                         .not_after = now - 3600};
    if (sk_ca_load(&ca, dir, &err) < 0) {
        CHECK(!"ca load");
        return;
    }
    CHECK_INT(sk_cert_issue(&spec, &ca, &p, &err), 0);
    CHECK_INT(sk_pki_verify_pem(ca_pem, p.cert, &id, &err), -1);
    CHECK_INT(err.code, SK_EUNAUTHORIZED);
    CHECK(strstr(err.msg, "expired") != NULL);
    sk_pem_pair_release(&p);

    spec.not_before = now + 3600; /* not yet valid */
    spec.not_after = now + 7200;
    CHECK_INT(sk_cert_issue(&spec, &ca, &p, &err), 0);
    CHECK_INT(sk_pki_verify_pem(ca_pem, p.cert, &id, &err), -1);
    sk_pem_pair_release(&p);
    sk_ca_release(&ca);
}

static void test_issue_client(const char *dir)
{
    sk_err err = SK_ERR_INIT;
    sk_identity id;
    sk_pem_pair p = {NULL, NULL};
    const char *orgs[] = {"dev", "system:authenticated", NULL};
    const char *nine[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", NULL};
    _sk_free_ char *ca = slurp(dir, "ca.crt");
    CHECK_INT(sk_pki_issue_client(dir, "alice", orgs, &p, &err), 0);
    CHECK(p.cert && strstr(p.cert, "BEGIN CERTIFICATE"));
    CHECK(p.key && strstr(p.key, "PRIVATE KEY"));
    CHECK_INT(sk_pki_verify_pem(ca, p.cert, &id, &err), 0);
    CHECK_STR(id.user, "alice");
    CHECK_INT(id.ngroups, 2);
    CHECK_STR(id.groups[0], "dev");
    CHECK_STR(id.groups[1], "system:authenticated");
    sk_pem_pair_release(&p);

    CHECK_INT(sk_pki_issue_client(dir, "bob", NULL, &p, &err), 0);
    CHECK_INT(sk_pki_verify_pem(ca, p.cert, &id, &err), 0);
    CHECK_STR(id.user, "bob");
    CHECK_INT(id.ngroups, 0);
    sk_pem_pair_release(&p);

    CHECK_INT(sk_pki_issue_client(dir, "", NULL, &p, &err), -1);
    CHECK_INT(err.code, SK_EINVALID);
    CHECK_INT(sk_pki_issue_client(dir, "x", nine, &p, &err), -1);
    CHECK_INT(err.code, SK_EINVALID);
    CHECK_INT(sk_pki_issue_client("/nonexistent-skiff", "x", NULL, &p, &err), -1);
    CHECK(p.cert == NULL && p.key == NULL);
}

static void test_bad_input(const char *dir)
{
    sk_err err = SK_ERR_INIT;
    const char *bad[] = {"localhost", "bad name"};
    const char *nul[] = {NULL};
    CHECK_INT(sk_pki_ensure(dir, bad, 2, &err), -1);
    CHECK_INT(err.code, SK_EINVALID);
    CHECK_INT(sk_pki_ensure(dir, nul, 1, &err), -1);
    CHECK_INT(err.code, SK_EINVALID);
}

static void test_repair(const char *dir)
{
    sk_err err = SK_ERR_INIT;
    _sk_free_ char *key = sk_printf("%s/pki/server.key", dir);
    _sk_free_ char *cakey = sk_printf("%s/pki/ca.key", dir);
    _sk_free_ char *cacrt = sk_printf("%s/pki/ca.crt", dir);
    _sk_free_ char *srv0 = slurp(dir, "server.crt");
    unlink(key);
    CHECK_INT(sk_pki_ensure(dir, sans, SK_ARRAY_LEN(sans), &err), 0);
    _sk_free_ char *srv1 = slurp(dir, "server.crt");
    CHECK(srv1 && strcmp(srv0, srv1));

    /* Lost CA key: new CA, and every leaf follows it. */
    _sk_free_ char *ca0 = slurp(dir, "ca.crt");
    unlink(cakey);
    CHECK_INT(sk_pki_ensure(dir, sans, SK_ARRAY_LEN(sans), &err), 0);
    _sk_free_ char *ca1 = slurp(dir, "ca.crt");
    _sk_free_ char *admin = slurp(dir, "admin.crt");
    sk_identity id;
    CHECK(ca1 && strcmp(ca0, ca1));
    CHECK_INT(sk_pki_verify_pem(ca1, admin, &id, &err), 0);

    /* A corrupt CA is reported, not silently replaced. */
    CHECK_INT(sk_write_file(cacrt, "junk", 4, 0644, &err), 0);
    CHECK_INT(sk_pki_ensure(dir, sans, SK_ARRAY_LEN(sans), &err), -1);
    CHECK(strstr(err.msg, "regenerate") != NULL);
    _sk_free_ char *ca2 = slurp(dir, "ca.crt");
    CHECK_STR(ca2, "junk");
    CHECK_INT(sk_write_file(cacrt, ca1, strlen(ca1), 0644, &err), 0);
}

static void test_kubeconfig(const char *dir)
{
    sk_err err = SK_ERR_INIT;
    _sk_free_ char *ca = slurp(dir, "ca.crt");
    sk_pem_pair admin = {slurp(dir, "admin.crt"), slurp(dir, "admin.key")};
    _sk_free_ char *path = sk_printf("%s/kubeconfig", dir);
    CHECK_INT(sk_kubeconfig_write(path, "https://127.0.0.1:6443", ca, &admin, &err), 0);
    _sk_free_ char *y = sk_read_file(path, NULL, &err);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(y && strstr(y, "apiVersion: v1\nkind: Config\n"));
    CHECK(y && strstr(y, "    server: \"https://127.0.0.1:6443\"\n"));
    CHECK(y && strstr(y, "- name: skiff\n  context:\n    cluster: skiff\n    user: skiff-admin\n"));
    CHECK(y && strstr(y, "current-context: skiff\n"));

    /* The embedded CA decodes back to the PEM, on a single line. */
    const char *tag = "certificate-authority-data: ";
    const char *b = y ? strstr(y, tag) : NULL;
    if (b) {
        b += strlen(tag);
        size_t n = strcspn(b, "\n");
        gnutls_datum_t in = {(unsigned char *)b, (unsigned)n}, out = {NULL, 0};
        CHECK(gnutls_base64_decode2(&in, &out) == 0);
        CHECK(out.size == strlen(ca) && !memcmp(out.data, ca, out.size));
        gnutls_free(out.data);
    } else {
        CHECK(b != NULL);
    }
    CHECK_INT(sk_kubeconfig_write(path, "https://x\"\n", ca, &admin, &err), 0);
    free(y);
    y = sk_read_file(path, NULL, &err);
    CHECK(y && strstr(y, "server: \"https://x\\\"\\n\"\n"));
    CHECK_INT(sk_kubeconfig_write(path, "", ca, &admin, &err), -1);
    CHECK_INT(err.code, SK_EINVALID);
    sk_pem_pair_release(&admin);
}

static void test_token(void)
{
    _sk_free_ char *a = sk_pki_random_token(16);
    _sk_free_ char *b = sk_pki_random_token(16);
    _sk_free_ char *z = sk_pki_random_token(0);
    CHECK(a && strlen(a) == 32 && strspn(a, "0123456789abcdef") == 32);
    CHECK(a && b && strcmp(a, b));
    CHECK_STR(z, "");
    CHECK(sk_pki_random_token(1 << 20) == NULL);
}

static void test_tls(const char *dir, const char *other)
{
    sk_identity id;
    enum sk_code code = SK_OK;
    _sk_free_ char *ca = slurp(dir, "ca.crt");
    sk_pem_pair server = {slurp(dir, "server.crt"), slurp(dir, "server.key")};
    sk_pem_pair admin = {slurp(dir, "admin.crt"), slurp(dir, "admin.key")};
    sk_pem_pair foreign = {slurp(other, "admin.crt"), slurp(other, "admin.key")};

    CHECK_INT(tls_identity(&server, &admin, ca, &id, &code), 0);
    CHECK_STR(id.user, "kubernetes-admin");
    CHECK_INT(id.ngroups, 1);
    CHECK_STR(id.groups[0], "system:masters");

    CHECK_INT(tls_identity(&server, NULL, ca, &id, &code), -1);
    CHECK_INT(code, SK_EUNAUTHORIZED);

    /* GnuTLS only sends a client certificate the server's CA list names, so
     * a foreign one may not even be offered; either way: unauthorized. */
    CHECK_INT(tls_identity(&server, &foreign, ca, &id, &code), -1);
    CHECK_INT(code, SK_EUNAUTHORIZED);

    sk_pem_pair_release(&server);
    sk_pem_pair_release(&admin);
    sk_pem_pair_release(&foreign);
}

int main(void)
{
    char a[] = "/tmp/skiff-pki-XXXXXX", b[] = "/tmp/skiff-pki-XXXXXX";
    signal(SIGPIPE, SIG_IGN);
    REQUIRE(mkdtemp(a) && mkdtemp(b));
    test_ensure_layout(a);
    test_ensure_idempotent(a);
    test_server_sans(a);
    test_verify(a, b);
    test_expired(a);
    test_issue_client(a);
    test_bad_input(a);
    test_kubeconfig(a);
    test_token();
    test_tls(a, b);
    test_repair(a);
    if (!getenv("SKIFF_KEEP")) {
        rm_rf(a);
        rm_rf(b);
    } else {
        fprintf(stderr, "kept %s %s\n", a, b);
    }
    return test_done();
}
