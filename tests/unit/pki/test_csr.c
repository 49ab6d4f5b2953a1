/* CSR creation, parsing and signing; the CA hash; the leaf check. */
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pki/pki_int.h"
#include "unit/test.h"

#define REQUIRE_VOID(c) do { if (!(c)) { fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #c); test_failures++; return; } } while (0)

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    return remove(p);
}

static char *slurp(const char *dir, const char *file)
{
    _sk_free_ char *p = sk_printf("%s/pki/%s", dir, file);
    return sk_read_file(p, NULL, NULL);
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

static void test_create_parse(void)
{
    const char *orgs[] = {"system:nodes", NULL};
    const char *sans[] = {"node-1", "10.0.0.5", "::1"};
    sk_pem_pair p = {0};
    sk_err err = SK_ERR_INIT;
    CHECK_INT(sk_pki_csr_new("system:node:node-1", orgs, sans, 3, &p, &err), 0);
    CHECK(p.cert && strstr(p.cert, "-----BEGIN CERTIFICATE REQUEST-----") == p.cert);
    CHECK(p.key && strstr(p.key, "PRIVATE KEY"));
    sk_csr_info info;
    CHECK_INT(sk_pki_csr_parse(p.cert, strlen(p.cert), &info, &err), 0);
    CHECK_STR(info.cn, "system:node:node-1");
    CHECK_INT(info.norgs, 1);
    CHECK_STR(info.orgs[0], "system:nodes");
    CHECK_INT(info.ndns, 1);
    CHECK_STR(info.dns[0], "node-1");
    CHECK_INT(info.nips, 2);
    CHECK_STR(info.ips[0], "10.0.0.5");
    CHECK_STR(info.ips[1], "::1");
    CHECK(!info.rsa);

    /* Leading text before the block is allowed, as Go's pem.Decode. */
    _sk_free_ char *prefixed = sk_printf("a comment\n%s", p.cert);
    CHECK_INT(sk_pki_csr_parse(prefixed, strlen(prefixed), &info, &err), 0);

    /* A flipped byte in the body breaks the DER or the signature. */
    _sk_free_ char *bad = sk_strdup(p.cert);
    char *mid = bad + strlen(bad) / 2;
    *mid = *mid == 'A' ? 'B' : 'A';
    CHECK_INT(sk_pki_csr_parse(bad, strlen(bad), &info, &err), -1);
    CHECK_INT(err.code, SK_EINVALID);
    sk_err_clear(&err);
    sk_pem_pair_release(&p);

    CHECK_INT(sk_pki_csr_new("", NULL, NULL, 0, &p, &err), -1); /* empty CN */
    sk_err_clear(&err);
    const char *badsan[] = {"bad name!"};
    CHECK_INT(sk_pki_csr_new("x", NULL, badsan, 1, &p, &err), -1);
    sk_err_clear(&err);
}

static void test_parse_rejects(void)
{
    sk_csr_info info;
    sk_err err = SK_ERR_INIT;
    const char *cases[] = {
        "",
        "not pem",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "-----BEGIN NEW CERTIFICATE REQUEST-----\nAAAA\n-----END NEW CERTIFICATE REQUEST-----\n",
        "-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n",
        "-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\n",
        "-----BEGIN CERTIFICATE REQUEST-----\n",
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) {
        CHECK_INT(sk_pki_csr_parse(cases[i], strlen(cases[i]), &info, &err), -1);
        CHECK_INT(err.code, SK_EINVALID);
        sk_err_clear(&err);
    }
    CHECK_INT(sk_pki_csr_parse(NULL, 0, &info, &err), -1);
    sk_err_clear(&err);
    /* An embedded NUL must not let a different text be checked. */
    const char nul[] = "-----BEGIN CERTIFICATE REQUEST-----\0junk";
    CHECK_INT(sk_pki_csr_parse(nul, sizeof nul - 1, &info, &err), -1);
    sk_err_clear(&err);
    char *big = sk_calloc(1, SK_PKI_MAX_PEM + 2);
    memset(big, 'A', SK_PKI_MAX_PEM + 1);
    CHECK_INT(sk_pki_csr_parse(big, SK_PKI_MAX_PEM + 1, &info, &err), -1);
    sk_err_clear(&err);
    free(big);
}

static void test_sign(const char *dir)
{
    sk_err err = SK_ERR_INIT;
    _sk_free_ char *ca = slurp(dir, "ca.crt");
    _sk_free_ char *cakey = slurp(dir, "ca.key");
    REQUIRE_VOID(ca && cakey);
    const char *orgs[] = {"system:nodes", NULL};
    sk_pem_pair p = {0};
    REQUIRE_VOID(sk_pki_csr_new("system:node:n1", orgs, NULL, 0, &p, &err) == 0);

    const char *u[] = {"digital signature", "client auth"};
    struct sk_csr_sign_opts o = {ca, cakey, u, 2, 365 * 86400};
    char *cert = NULL;
    CHECK_INT(sk_pki_csr_sign(&o, p.cert, strlen(p.cert), &cert, &err), 0);
    REQUIRE_VOID(cert);
    sk_identity id;
    CHECK_INT(sk_pki_verify_pem(ca, cert, &id, &err), 0);
    CHECK_STR(id.user, "system:node:n1");
    CHECK_INT(id.ngroups, 1);
    CHECK_STR(id.groups[0], "system:nodes");
    CHECK_INT(sk_pki_leaf_check(ca, cert, p.key, NULL, 0, 86400, &err), 0);
    CHECK_INT(sk_pki_leaf_check(ca, cert, p.key, NULL, 0, 400 * 86400, &err), -1);
    sk_err_clear(&err);
    gnutls_x509_crt_t c = parse_crt(cert);
    REQUIRE_VOID(c);
    int64_t nb = (int64_t)gnutls_x509_crt_get_activation_time(c);
    int64_t na = (int64_t)gnutls_x509_crt_get_expiration_time(c);
    int64_t now = (int64_t)time(NULL);
    CHECK(nb <= now - 290 && nb >= now - 310);
    CHECK(na >= now + 365 * 86400 - 10 && na <= now + 365 * 86400 + 10);
    unsigned ca_flag = 1;
    CHECK(gnutls_x509_crt_get_basic_constraints(c, NULL, &ca_flag, NULL) >= 0 && ca_flag == 0);
    unsigned ku = 0;
    CHECK(gnutls_x509_crt_get_key_usage(c, &ku, NULL) >= 0 && ku == GNUTLS_KEY_DIGITAL_SIGNATURE);
    gnutls_x509_crt_deinit(c);
    free(cert);

    /* Another key does not match the certificate. */
    sk_pem_pair other = {0};
    REQUIRE_VOID(sk_pki_csr_new("x", NULL, NULL, 0, &other, &err) == 0);
    REQUIRE_VOID(sk_pki_csr_sign(&o, p.cert, strlen(p.cert), &cert, &err) == 0);
    CHECK_INT(sk_pki_leaf_check(ca, cert, other.key, NULL, 0, 0, &err), -1);
    sk_err_clear(&err);
    /* ... nor does a certificate verify against another CA. */
    char tmpl[] = "/tmp/sk-csr2-XXXXXX";
    const char *dir2 = mkdtemp(tmpl);
    const char *ls[] = {"localhost"};
    REQUIRE_VOID(dir2 && sk_pki_ensure(dir2, ls, 1, &err) == 0);
    _sk_free_ char *ca2 = slurp(dir2, "ca.crt");
    CHECK_INT(sk_pki_leaf_check(ca2, cert, p.key, NULL, 0, 0, &err), -1);
    sk_err_clear(&err);
    nftw(dir2, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(cert);
    sk_pem_pair_release(&other);

    /* Unknown usages are refused; the duration is capped at the CA's. */
    const char *bad[] = {"client auth", "teleport"};
    struct sk_csr_sign_opts ob = {ca, cakey, bad, 2, 86400};
    CHECK_INT(sk_pki_csr_sign(&ob, p.cert, strlen(p.cert), &cert, &err), -1);
    CHECK(strstr(err.msg, "teleport") != NULL);
    sk_err_clear(&err);
    CHECK(sk_pki_usage_known("server auth") && !sk_pki_usage_known("teleport"));
    struct sk_csr_sign_opts ol = {ca, cakey, u, 2, 100LL * 365 * 86400};
    CHECK_INT(sk_pki_csr_sign(&ol, p.cert, strlen(p.cert), &cert, &err), 0);
    gnutls_x509_crt_t cac = parse_crt(ca), lc = parse_crt(cert);
    CHECK(cac && lc && gnutls_x509_crt_get_expiration_time(lc) <=
                           gnutls_x509_crt_get_expiration_time(cac));
    if (cac) gnutls_x509_crt_deinit(cac);
    if (lc) gnutls_x509_crt_deinit(lc);
    free(cert);
    sk_pem_pair_release(&p);

    /* Serving: SANs are copied and usable for the leaf check. */
    const char *sans[] = {"n1", "10.1.2.3"};
    REQUIRE_VOID(sk_pki_csr_new("system:node:n1", orgs, sans, 2, &p, &err) == 0);
    const char *su[] = {"digital signature", "key encipherment", "server auth"};
    struct sk_csr_sign_opts os = {ca, cakey, su, 3, 86400 * 30};
    CHECK_INT(sk_pki_csr_sign(&os, p.cert, strlen(p.cert), &cert, &err), 0);
    CHECK_INT(sk_pki_leaf_check(ca, cert, p.key, sans, 2, 3600, &err), 0);
    const char *more[] = {"10.9.9.9"};
    CHECK_INT(sk_pki_leaf_check(ca, cert, p.key, more, 1, 3600, &err), -1);
    sk_err_clear(&err);
    free(cert);
    /* No CA: the signer is off. */
    struct sk_csr_sign_opts none = {NULL, NULL, su, 3, 86400};
    CHECK_INT(sk_pki_csr_sign(&none, p.cert, strlen(p.cert), &cert, &err), -1);
    sk_err_clear(&err);
    sk_pem_pair_release(&p);
}

static void test_hash_b64(const char *dir)
{
    sk_err err = SK_ERR_INIT;
    _sk_free_ char *ca = slurp(dir, "ca.crt");
    char h1[65], h2[65];
    CHECK_INT(sk_pki_ca_hash(ca, h1, &err), 0);
    CHECK_INT(strlen(h1), 64);
    /* Whitespace around the PEM does not change the DER hash. */
    _sk_free_ char *padded = sk_printf("\n\n%s\n", ca);
    CHECK_INT(sk_pki_ca_hash(padded, h2, &err), 0);
    CHECK_STR(h1, h2);
    CHECK_INT(sk_pki_ca_hash("garbage", h2, &err), -1);
    sk_err_clear(&err);

    _sk_free_ char *e = sk_pki_base64_encode("hello", 5);
    CHECK_STR(e, "aGVsbG8=");
    size_t n = 0;
    _sk_free_ char *d = sk_pki_base64_decode("aGVsbG8=", &n, &err);
    CHECK_STR(d, "hello");
    CHECK_INT(n, 5);
    CHECK(sk_pki_base64_decode("a$$$", &n, &err) == NULL);
    sk_err_clear(&err);
    _sk_free_ char *empty = sk_pki_base64_decode("", &n, &err);
    CHECK(empty && n == 0);
}

int main(void)
{
    char tmpl[] = "/tmp/sk-csr-XXXXXX";
    const char *dir = mkdtemp(tmpl);
    REQUIRE(dir);
    sk_err err = SK_ERR_INIT;
    const char *sans[] = {"localhost"};
    REQUIRE(sk_pki_ensure(dir, sans, 1, &err) == 0);
    test_create_parse();
    test_parse_rejects();
    test_sign(dir);
    test_hash_b64(dir);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return test_done();
}
